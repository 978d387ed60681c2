# -*- test-case-name: tests.test_testing -*-
"""
mepserver's pytest plugin: a C{mepserver} fixture for pytest-twisted suites.

pytest loads this module in every run where mepserver is installed (the
C{pytest11} entry point in C{setup.cfg}), so it does nothing costly and
registers nothing unless it can work. pytest alone cannot wait for a
Deferred, so:

  - with U{pytest-twisted<https://pypi.org/project/pytest-twisted/>}
    installed, this plugin provides a C{mepserver} fixture: a started
    L{mepserver.testing.RunningServer}, stopped after the test. Use it from
    C{pytest_twisted.ensureDeferred} or C{inlineCallbacks} tests:

        @pytest_twisted.ensureDeferred
        async def test_login(mepserver):
            alice = await mepserver.createAccount()
            client = await mepserver.connectClient(alice)

  - without it, this plugin registers nothing. Write trial-style test cases
    instead, which pytest runs as they are and which may return Deferreds
    or be coroutines: subclass C{twisted.trial.unittest.TestCase} with
    L{mepserver.testing.MEPServerMixin}, or call
    L{mepserver.testing.startServer} in a test.

Installing pytest-twisted changes nothing for a run of trial test cases
alone. But the two ways do not mix in one run: pytest-twisted runs every
plain test function, even a synchronous one, on a reactor it starts in a
greenlet of its own on the first, which runs until the end, and every
trial test case after it, which runs the reactor itself, fails with a
dirty reactor. Run the trial test cases in a pytest run of their own,
with C{-p no:twisted}.
"""

import importlib.util

if importlib.util.find_spec("pytest_twisted") is not None:
    import pytest_twisted

    @pytest_twisted.async_yield_fixture
    async def mepserver():
        """
        A started L{mepserver.testing.RunningServer} with the default
        settings (memory storage, ephemeral loopback ports), stopped after
        the test.
        """
        # Imported here: pytest loads this plugin in every run, and most
        # runs never use the fixture.
        from mepserver.testing import startServer

        running = await startServer()
        try:
            yield running
        finally:
            await running.stop()
