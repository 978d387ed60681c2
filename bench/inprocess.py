"""
What the in-process benchmarks (C{churn_inprocess.py},
C{fanout_inprocess.py}, C{pep_inprocess.py}) share: each checkout measured
in a process of its own, which prints the minimum and the median of its
slices; the checkout's mepserver imported first; a server on a test clock
(L{ClockServer}) and its clients as raw bytes (L{Connection}).
"""

import base64
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def runCheckouts(script, argv, option, count, measure, report):
    """
    Parse C{argv} (C{[--child CHECKOUT] [CHECKOUT ...] [option N]}) and run.

    @param script: the benchmark's file, run again for each checkout.
    @param option: the option that sets the count (C{"--cycles"}, say).
    @param count: its default.
    @param measure: C{measure(checkout, count)} in the child: the sorted
        CPU seconds of each slice, per unit.
    @param report: C{report(checkout, best, median)} in the parent, with
        microseconds per unit.
    """
    argv = list(argv)
    if option in argv:
        index = argv.index(option)
        count = int(argv[index + 1])
        del argv[index:index + 2]
    if argv[:1] == ["--child"]:
        slices = measure(argv[1], count)
        print(f"{1e6 * slices[0]:.1f} {1e6 * slices[len(slices) // 2]:.1f}")
        return
    for checkout in argv or [os.path.dirname(HERE)]:
        checkout = os.path.abspath(checkout)
        output = subprocess.run(
            [sys.executable, script, "--child", checkout, option, str(count)],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        report(checkout, float(output[0]), float(output[1]))


#: The stream header the in-process clients open with.
STREAM = (
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "to='localhost' version='1.0'>"
)


def importCheckout(checkout):
    """
    Import C{checkout}'s mepserver, in the child: before anything else of
    it, and checked to come from there.

    @return: the C{compare} module (bench/compare.py), for its scenarios'
        constants.
    """
    sys.path.insert(0, checkout)
    import mepserver

    if not mepserver.__file__.startswith(os.path.abspath(checkout)):
        raise RuntimeError(f"imported {mepserver.__file__}, not from {checkout}")
    # After mepserver: compare.py puts its own checkout first on the path.
    sys.path.insert(0, HERE)
    import compare

    return compare


def knowCaps(server, compare):
    """
    Make the caps every benchmark client announces known to C{server}, as
    after the first disco#info answer.
    """
    from mepserver.caps import parseCaps
    from mepserver.stanza import parseStanza

    caps = parseCaps(parseStanza(f"<presence xmlns='jabber:client'>{compare.CAPS}</presence>"))
    server.caps._remember(caps, frozenset(compare.FEATURES))


class ClockServer:
    """
    A server of C{checkout}'s mepserver built on a test clock, with memory
    storage, started, the caps of compare.py's clients known; its clients
    are raw bytes fed to its C2S protocols, what it writes kept until
    read.

    @ivar server: the L{mepserver.server.buildServer} server.
    @ivar clock: its L{task.Clock}.
    @ivar compare: bench/compare.py.
    """

    def __init__(self, checkout):
        self.compare = importCheckout(checkout)
        from twisted.internet import task

        from mepserver import config as configModule
        from mepserver.c2s.mechanisms import makeCredentials
        from mepserver.server import buildServer

        self.clock = task.Clock()
        config = configModule.Config(
            storage="memory", dataDir="/nonexistent", c2sListen="tcp:0:interface=127.0.0.1"
        )
        self.server = buildServer(config, clock=self.clock)
        self.server.startService()
        self.factory = self.server.listeners[0][1]
        self.credentials = makeCredentials("bench-password")
        knowCaps(self.server, self.compare)

    def connect(self, username, presence="<presence/>"):
        """
        Make an account and log in to it (PLAIN), bound and available with
        C{presence}.

        @return: the L{Connection}.
        """
        self.server.users.createUser(username, self.credentials)
        connection = Connection(self.factory)
        connection.feed(STREAM)
        plain = base64.b64encode(f"\0{username}\0bench-password".encode()).decode()
        connection.feed(
            f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>"
        )
        self.clock.advance(0)
        connection.feed(STREAM)
        connection.feed("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
        connection.feed(presence)
        self.clock.advance(0)
        if b"<jid>" not in connection.written():
            raise RuntimeError(f"{username} did not log in")
        return connection


class Connection:
    """
    One client of a server built in this process: its C2S protocol on a
    fake transport.
    """

    def __init__(self, factory):
        from twisted.test import iosim

        self.protocol = factory.buildProtocol(None)
        self.transport = iosim.FakeTransport(self.protocol, isServer=True)
        self.protocol.makeConnection(self.transport)

    def feed(self, text):
        self.protocol.dataReceived(text.encode())

    def peek(self):
        """
        @return: what the server wrote since the last L{written}, kept.
        """
        return b"".join(self.transport.stream)

    def written(self):
        """
        @return: what the server wrote since the last call.
        """
        data = self.peek()
        self.transport.stream = []
        return data
