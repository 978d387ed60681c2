# -*- test-case-name: tests.e2e.test_slixrun -*-
"""
Tests for L{tests.e2e.slixrun}: the scenario runner and its worker
(L{tests.e2e.slixworker}), with the stand-in scenario
L{tests.e2e.slixfault}.

The tests have workers of their own, started without slixmpp (which the
stand-in does not need): a worker that a test leaves running serves the
next test; the suite's worker, if one runs, is left alone.
"""

import os
import signal

from twisted.internet.defer import ensureDeferred, gatherResults
from twisted.trial import unittest

from tests.e2e import slixrun

SCRIPT = "slixfault.py"


class FakeTestCase:
    """
    What L{slixrun.runScript} uses of a test case, with cleanups run on
    demand: a test that ends while its scenario runs.
    """

    failureException = AssertionError

    def __init__(self):
        self.cleanups = []

    def addCleanup(self, f, *args):
        self.cleanups.append((f, args))

    def runCleanups(self):
        while self.cleanups:
            f, args = self.cleanups.pop()
            f(*args)


class ScenarioRunnerTests(unittest.TestCase):
    """
    L{slixrun.runScenario} and L{slixrun.runScript}.
    """

    timeout = 30
    #: The worker the last test left running.
    worker = None

    def setUp(self):
        self.patch(slixrun._Worker, "_current", ScenarioRunnerTests.worker)
        self.patch(slixrun._Worker, "preload", False)
        # Runs before the patches are undone.
        self.addCleanup(self.keepWorker)

    def keepWorker(self):
        """
        Keep this test's worker for the next test (it stops at exit).
        """
        ScenarioRunnerTests.worker = slixrun._Worker._current

    def run_(self, fault, testCase=None):
        """
        Run the stand-in with C{fault}.

        @return: a Deferred firing with its output, error and code.
        """
        return ensureDeferred(slixrun.runScript(testCase or self, SCRIPT, {"fault": fault}))

    async def report(self, fault):
        """
        @return: the stand-in's report, after checking that it ended well.
        """
        return await slixrun.runScenario(self, SCRIPT, {"fault": fault})

    async def test_report(self):
        """
        L{slixrun.runScenario} returns the report of a scenario that
        completed; what it wrote to its standard error by descriptor is
        in the error output.
        """
        report = await self.report("none")
        self.assertTrue(report["done"])
        out, err, code = await self.run_("output")
        self.assertEqual(0, code)
        self.assertIn(b"written to descriptor 2", err)
        self.assertTrue(slixrun.json.loads(out)["done"])

    async def test_reusedAndIsolated(self):
        """
        Scenarios run one after another in the same worker, each in a
        process of its own: what one leaves in its process (a module's
        attribute, the environment) is not there for the next.
        """
        first = await self.report("mark")
        second = await self.report("mark")
        self.assertEqual(first["worker"], second["worker"])
        self.assertNotEqual(first["pid"], second["pid"])
        self.assertEqual((False, False), (first["marked"], second["marked"]))

    async def test_concurrent(self):
        """
        Two scenarios run at the same time in the same worker: each waits
        on a named pipe until the other opens it.
        """
        fifo = self.mktemp()
        os.mkfifo(fifo)
        reader, writer = await gatherResults(
            [
                ensureDeferred(slixrun.runScenario(self, SCRIPT, {"fault": f, "fifo": fifo}))
                for f in ("fifoRead", "fifoWrite")
            ]
        )
        self.assertEqual(reader["worker"], writer["worker"])

    async def test_exitStatus(self):
        """
        The exit status is the script's; L{slixrun.runScenario} fails a
        scenario that did not complete.
        """
        out, err, code = await self.run_("exit")
        self.assertEqual(3, code)
        with self.assertRaises(self.failureException) as caught:
            await self.report("exit")
        self.assertIn("'done': False", str(caught.exception))

    async def test_crash(self):
        """
        A scenario killed by a signal reports minus its number; the worker
        runs the next one.
        """
        before = await self.report("none")
        out, err, code = await self.run_("crash")
        self.assertEqual(-signal.SIGKILL, code)
        after = await self.report("none")
        self.assertEqual(before["worker"], after["worker"])

    async def test_hang(self):
        """
        A scenario still running after L{slixrun.SCENARIO_LIMIT} is ended
        with SIGALRM, and the error output says so.
        """
        self.patch(slixrun, "SCENARIO_LIMIT", 0.01)
        out, err, code = await self.run_("hang")
        self.assertEqual(-signal.SIGALRM, code)
        self.assertIn(b"slixfault.py still running after 0.01 s, stopped", err)

    async def test_workerDies(self):
        """
        If the worker dies during a scenario, the test fails saying so,
        and the next scenario gets a new worker.
        """
        before = await self.report("none")
        with self.assertRaises(self.failureException) as caught:
            await self.run_("killWorker")
        self.assertIn("slixfault.py ended before it answered", str(caught.exception))
        after = await self.report("none")
        self.assertNotEqual(before["worker"], after["worker"])

    async def test_workerHangs(self):
        """
        A worker that gives no answer within L{slixrun.ANSWER_LIMIT} is
        stopped and the test fails saying so; the next scenario gets a new
        worker.
        """
        before = await self.report("none")
        limit = self.patch(slixrun, "ANSWER_LIMIT", 0.01)
        with self.assertRaises(self.failureException) as caught:
            await self.run_("stopWorker")
        limit.restore()
        self.assertIn("slixfault.py gave no result within 0.01 s", str(caught.exception))
        after = await self.report("none")
        self.assertNotEqual(before["worker"], after["worker"])

    async def test_abandoned(self):
        """
        A test that ends before its scenario (trial's timeout) stops the
        worker in its cleanup, so that the scenario fails at once and the
        next one gets a new worker.
        """
        before = await self.report("none")
        abandoning = FakeTestCase()
        running = self.run_("hang", abandoning)
        abandoning.runCleanups()
        with self.assertRaises(AssertionError) as caught:
            await running
        self.assertIn("slixfault.py was stopped: its test ended first", str(caught.exception))
        after = await self.report("none")
        self.assertNotEqual(before["worker"], after["worker"])

    def test_endsWithItsInput(self):
        """
        The worker exits by itself once its standard input ends, as when
        the test process exits (which also stops it, at exit) or dies.
        """
        worker = slixrun._Worker.get()
        worker.process.stdin.close()
        self.assertEqual(0, worker.process.wait(timeout=self.timeout))
        worker.stop()
