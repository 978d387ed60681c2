# -*- test-case-name: tests.test_memory -*-
"""
The in-memory tier: the whole server of L{mepserver.server.buildServer}
and Twisted's own XMPP clients, joined by L{twisted.test.iosim} pumps
instead of sockets, under one L{task.Clock}.

A flow test sends a stanza, calls L{MemoryServer.flush}, and reads what
each client received: nothing waits, and "nothing else arrived" is simply
an empty list once every byte in flight has been delivered. Use it for
protocol flows that need no real TCP or TLS (STARTTLS is left out: the
server is configured not to require it); the end-to-end tier in
C{tests/e2e} keeps real sockets, TLS and independent clients.
"""

from twisted.internet import task
from twisted.test import iosim
from twisted.words.protocols.jabber import client, component, jid, xmlstream

from mepserver import config as configModule
from mepserver.components import ComponentXmlStreamFactory
from mepserver.server import buildServer
from tests.helpers import credentials, matchExactly, parseXml

NS_CLIENT = "jabber:client"
NS_COMPONENT = "jabber:component:accept"


class MemoryClient:
    """
    One authenticated, bound client stream, with what it received.

    @ivar jid: the full JID the server bound.
    @ivar xmlstream: the client's L{xmlstream.XmlStream}.
    @ivar received: the stanzas received since the last L{take}.
    """

    def __init__(self, server, xs, pump):
        self.server = server
        self.xmlstream = xs
        self.pump = pump
        self.jid = xs.authenticator.jid
        self.received = []
        xs.addObserver("/*", lambda stanza: self.received.append(stanza))

    def send(self, stanza):
        """
        Send a stanza (an element or an XML literal in C{jabber:client})
        and deliver everything it causes.
        """
        if isinstance(stanza, str):
            stanza = parseXml(stanza, NS_CLIENT)
        self.xmlstream.send(stanza)
        self.server.flush()

    def take(self):
        """
        @return: what the client received since the last call.
        """
        received, self.received = self.received, []
        return received

    def expect(self, testCase, *expected):
        """
        Assert that the client received exactly stanzas matching the
        literals, in any order, and forget them.

        @return: the matching stanzas, in the order of C{expected}.
        """
        return matchExactly(testCase, self.jid.full(), self.take(), expected)


class MemoryComponent(MemoryClient):
    """
    One external component (XEP-0114) after its handshake, with what it
    received; its literals are in C{jabber:component:accept}.

    @ivar jid: the component's domain.
    """

    def __init__(self, server, xs, pump, name):
        self.server = server
        self.xmlstream = xs
        self.pump = pump
        self.jid = jid.JID(name)
        self.received = []
        xs.addObserver("/*", lambda stanza: self.received.append(stanza))

    def send(self, stanza):
        """
        Send a stanza (an element or an XML literal in the component's
        namespace) and deliver everything it causes.
        """
        if isinstance(stanza, str):
            stanza = parseXml(stanza, NS_COMPONENT)
        self.xmlstream.send(stanza)
        self.server.flush()

    def expect(self, testCase, *expected):
        """
        Assert that the component received exactly stanzas matching the
        literals, in any order, and forget them.
        """
        return matchExactly(
            testCase, self.jid.full(), self.take(), expected, NS_COMPONENT
        )


class MemoryServer:
    """
    A server built as C{twistd} builds it (memory storage), started, with
    clients connected through iosim pumps.

    @ivar server: the L{mepserver.server.Server}.
    @ivar clock: the L{task.Clock} of the server and of every pump.
    """

    def __init__(self, testCase, **settings):
        self.testCase = testCase
        self.clock = task.Clock()
        settings.setdefault("storage", "memory")
        settings.setdefault("dataDir", testCase.mktemp())
        # Loopback: PLAIN without TLS is allowed (DESIGN.md section 3).
        settings.setdefault("c2sListen", "tcp:0:interface=127.0.0.1")
        config = configModule.Config(**settings)
        self.server = buildServer(config, clock=self.clock)
        self.server.startService()
        self.testCase.successResultOf(self.server.ready)
        # The first listener is C2S (Server.listeners); others may share
        # its description.
        self.factory = self.server.listeners[0][1]
        self.pumps = []
        testCase.addCleanup(self.stop)

    def createAccount(self, username, password="secret"):
        """
        Create an account.
        """
        self.testCase.successResultOf(
            self.server.users.createUser(username, credentials(password))
        )

    def connect(self, username, resource, password="secret"):
        """
        Connect and log in a Twisted client (SASL PLAIN, resource binding).

        @return: the L{MemoryClient}, once its stream is initialized.
        """
        address = jid.JID(tuple=(username, self.server.config.domain, resource))
        clientFactory = client.XMPPClientFactory(address, password)
        initialized = []
        clientFactory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, initialized.append)
        failed = []
        clientFactory.addBootstrap(xmlstream.INIT_FAILED_EVENT, failed.append)
        clientFactory.addBootstrap(
            xmlstream.STREAM_CONNECTED_EVENT, _withoutStartTLS
        )
        clientProtocol = clientFactory.buildProtocol(None)
        serverProtocol = self.factory.buildProtocol(None)
        pump = iosim.connect(
            serverProtocol,
            iosim.makeFakeServer(serverProtocol),
            clientProtocol,
            iosim.makeFakeClient(clientProtocol),
            clock=self.clock,
        )
        self.pumps.append(pump)
        self.flush()
        if failed:
            failed[0].raiseException()
        self.testCase.assertTrue(initialized, f"{address.full()} did not log in")
        return MemoryClient(self, clientProtocol, pump)

    def connectComponent(self, name, secret):
        """
        Connect Twisted's external component client (XEP-0114) to the
        server's component listener, which the settings must configure
        (C{componentsListen}, C{components}).

        @return: the L{MemoryComponent}, once the handshake succeeded.
        """
        [factory] = [
            f for _, f in self.server.listeners if isinstance(f, ComponentXmlStreamFactory)
        ]
        componentFactory = component.componentFactory(name, secret)
        initialized = []
        componentFactory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, initialized.append)
        componentProtocol = componentFactory.buildProtocol(None)
        serverProtocol = factory.buildProtocol(None)
        pump = iosim.connect(
            serverProtocol,
            iosim.makeFakeServer(serverProtocol),
            componentProtocol,
            iosim.makeFakeClient(componentProtocol),
            clock=self.clock,
        )
        self.pumps.append(pump)
        self.flush()
        self.testCase.assertTrue(initialized, f"the component {name} was refused")
        return MemoryComponent(self, componentProtocol, pump, name)

    def flush(self):
        """
        Deliver every byte in flight, both ways, on every connection, until
        nothing moves.
        """
        moved = True
        while moved:
            moved = False
            for pump in list(self.pumps):
                moved = pump.flush(advanceClock=False) or moved

    def stop(self):
        """
        Stop the server and let every connection close.
        """
        d = self.server.stopService()
        self.flush()
        self.testCase.successResultOf(d)


def _withoutStartTLS(xs):
    """
    Leave out STARTTLS: the in-memory tier tests stanza flows, and iosim
    only imitates TLS.
    """
    xs.initializers = [
        init
        for init in xs.initializers
        if not isinstance(init, xmlstream.TLSInitiatingInitializer)
    ]
