"""
Run a slixmpp scenario script of this folder (see L{tests.e2e.slixbase})
in a subprocess, from a trial test.

The scripts run in children of one worker process (L{tests.e2e.slixworker})
that has slixmpp imported already: each child is forked afresh and runs
its script as C{python script.py SETTINGS} would, so a scenario costs its
own work only, not an interpreter start and slixmpp's imports. The worker
starts with the first scenario of a test run and stops when the test
process exits. A scenario that does not finish within L{SCENARIO_LIMIT}
seconds fails its test, and so does a worker that dies; the next scenario
then gets a new worker.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.words.xish import domish

HERE = os.path.dirname(os.path.abspath(__file__))

#: Seconds a scenario may run: above the scripts' own limits (60 s, 90 s
#: for the longest), which report a timeout as data, so this bound only
#: stops a scenario that hangs where it cannot notice.
SCENARIO_LIMIT = 120

#: Seconds the test process waits for the worker's answer before it takes
#: the worker itself for hung: beyond L{SCENARIO_LIMIT}, so that a scenario
#: that hangs is reported as such.
ANSWER_LIMIT = SCENARIO_LIMIT + 30


def serverSettings(running, **settings):
    """
    @return: the settings every scenario needs to reach C{running} (a
        L{mepserver.testing.RunningServer}) over STARTTLS, with C{settings}.
    """
    return dict(
        host="127.0.0.1",
        port=running.c2sPort,
        cafile=running.certificatePath,
        domain=running.domain,
        **settings,
    )


# What the tiers share to set a scenario up. A server here is mepserver's
# RunningServer or a reference server (tests.e2e.prosody, tests.e2e.ejabberd):
# each has createAccount(username, password) and connectClient(account,
# resource).


async def createAccounts(server, names, username=str):
    """
    Create an account on C{server} for each name, all at once, with
    password C{<name>-secret}.

    @param username: makes each account's user name from its name (the
        ejabberd tier's are the test's own); the name itself by default.
    @return: the scenarios' C{accounts} setting: C{{name: [address,
        password]}}.
    """
    created = await defer.gatherResults(
        [
            defer.ensureDeferred(server.createAccount(username(name), f"{name}-secret"))
            for name in names
        ],
        consumeErrors=True,
    )
    return {
        name: [account.jid.userhost(), account.password]
        for name, account in zip(names, created)
    }


async def registrationSettings(server, username=str):
    """
    The settings of the scenarios that register alice in-band
    (C{slixclient.py}, C{slixremove.py}): her user name and password, and
    bob's account, created on C{server}, as her peer.

    @param username: as for L{createAccounts}.
    """
    accounts = await createAccounts(server, ["bob"], username)
    peer, peerPassword = accounts["bob"]
    return serverSettings(
        server,
        newUser=username("alice"),
        newPassword="alice-secret",
        peer=peer,
        peerPassword=peerPassword,
    )


async def offlineSettings(server, username=str):
    """
    Set up C{slixoffline.py}: alice, logged in with Twisted's client as
    C{laptop}, sends bob, who is offline, a chat message, which is neither
    delivered to her nor bounced.

    @param username: as for L{createAccounts}.
    @return: the scenario's settings, to log in as bob.
    """
    alice = await server.createAccount(username("alice"), "alice-secret")
    bob = await server.createAccount(username("bob"), "bob-secret")
    aliceClient = await server.connectClient(alice, "laptop")
    message = domish.Element((None, "message"))
    message["to"], message["type"], message["id"] = bob.jid.userhost(), "chat", "o1"
    message.addElement("body", content="while you were out")
    aliceClient.send(message)
    await aliceClient.assertNoStanzaReceived("/message")
    return serverSettings(server, jid=bob.jid.userhost(), password=bob.password)


async def runScenario(testCase, script, settings):
    """
    Run C{script} with C{settings} and check that it completed.

    @return: its report.
    """
    out, err, code = await runScript(testCase, script, settings)
    lines = out.decode().strip().splitlines()
    report = json.loads(lines[-1]) if lines else {}
    testCase.assertTrue(report.get("done"), f"report={report} stderr={err.decode()[-3000:]}")
    testCase.assertEqual(0, code)
    return report


async def runScript(testCase, script, settings):
    """
    Run C{script} (a file name in this folder) with C{settings} as its one
    argument, as C{python script JSON} would.

    @return: its standard output and error (L{bytes}) and its exit code
        (minus the signal number if a signal ended it).
    @raise testCase.failureException: if the worker died, or gave no
        result within L{ANSWER_LIMIT} seconds.
    """
    request = {
        "script": os.path.join(HERE, script),
        "args": [json.dumps(settings)],
        "limit": SCENARIO_LIMIT,
    }
    worker = _Worker.get()
    # If the test ends before the scenario (its timeout), its cleanup stops
    # the worker with the scenarios it runs, and the next scenario gets a
    # new worker.
    finished = []

    def abandoned():
        if not finished:
            worker.stop("was stopped: its test ended first")

    testCase.addCleanup(abandoned)
    watchdog = reactor.callLater(
        ANSWER_LIMIT, worker.stop, f"gave no result within {ANSWER_LIMIT} s"
    )
    try:
        data = await worker.exchange(request)
        report = json.loads(data)
    except Exception as e:
        worker.stop(f"ended before it answered ({type(e).__name__}: {e})")
        raise testCase.failureException(
            f"the slixmpp worker running {script} {worker.stopReason}; "
            f"its log:\n{worker.log()[-3000:]}"
        )
    finally:
        if watchdog.active():
            watchdog.cancel()
    finished.append(True)
    if report["code"] == -signal.SIGALRM:
        report["err"] += f"\n[slixworker: {script} still running after {SCENARIO_LIMIT} s, stopped]"
    return report["out"].encode(), report["err"].encode(), report["code"]


class _Response(protocol.Protocol):
    """
    Collect what the worker sends on one connection, until it closes it.

    @ivar done: fires with the bytes received once the connection is lost.
    """

    def __init__(self):
        self.data = []
        self.done = defer.Deferred()

    def dataReceived(self, data):
        self.data.append(data)

    def connectionLost(self, reason):
        self.done.callback(b"".join(self.data))


class _Worker:
    """
    The worker process of this test process (L{tests.e2e.slixworker}),
    started on first use and listening on a UNIX socket in a temporary
    directory. It is not in the reactor: a scenario's connection to it is,
    and is closed when the scenario ends, so that trial finds a clean
    reactor after each test.

    @ivar stopReason: why L{stop} was called, once it was.
    """

    _current = None
    #: Whether the worker loads slixmpp before it serves (only the
    #: runner's own tests, whose scenarios need no slixmpp, say no).
    preload = True

    @classmethod
    def get(cls):
        """
        @return: the running worker, started if there is none or the last
            one stopped or died.
        """
        current = cls._current
        if current is None or current.process.poll() is not None:
            if current is not None:
                current.stop()
            current = cls._current = cls()
        return current

    def __init__(self):
        self.stopReason = None
        self.directory = tempfile.mkdtemp(prefix="slixworker-")
        self.path = os.path.join(self.directory, "socket")
        self._log = open(os.path.join(self.directory, "log"), "w+b")
        # Bound and listening before the worker starts: a connection waits
        # in the backlog while the worker imports slixmpp.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(self.path)
            listener.listen(8)
            command = [sys.executable, os.path.join(HERE, "slixworker.py"), str(listener.fileno())]
            if not self.preload:
                command.append("--bare")
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=self._log,
                pass_fds=[listener.fileno()],
                # Its own process group, which stop() ends with the
                # scenario it runs.
                start_new_session=True,
            )
        atexit.register(self.stop)

    async def exchange(self, request):
        """
        Send one request on a new connection.

        @return: what the worker answered before it closed the connection.
        """
        endpoint = endpoints.UNIXClientEndpoint(reactor, self.path)
        response = await endpoints.connectProtocol(endpoint, _Response())
        response.transport.write(json.dumps(request).encode("utf-8") + b"\n")
        return await response.done

    def log(self):
        """
        @return: what the worker itself printed.
        """
        if self._log.closed:
            return self._lastLog
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self, reason="was stopped"):
        """
        End the worker and the scenario it may be running, and remove its
        directory. Only the first call does anything.

        @param reason: why, for a failure message: L{stopReason}.
        """
        if _Worker._current is self:
            _Worker._current = None
        if self.stopReason is not None:
            return
        self.stopReason = reason
        # The whole group: a scenario child may outlive a dead worker.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.process.stdin.close()
        self._lastLog = self.log()
        self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
