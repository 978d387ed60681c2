"""
Tests for L{mepserver.hostlink}: the component stream to a host server
(XEP-0114), and mepserver built as a component (L{mepserver.server}'s
L{ComponentServer}).

The host is L{FakeHost}: Twisted's listening side of the handshake
(C{ListenComponentAuthenticator}) behind a stand-in client endpoint,
joined to the link by L{twisted.test.iosim} pumps, under a L{task.Clock}:
no sockets, and reconnection delays are clock advances.
"""

from twisted.internet import defer, error, protocol, task
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.test import iosim
from twisted.trial import unittest
from twisted.words.protocols.jabber import component, xmlstream
from twisted.words.protocols.jabber.error import StreamError
from wokkel import generic

from mepserver import hostlink
from mepserver import config as configModule
from mepserver.hostlink import HostLink, NS_COMPONENT, defaultBackoff
from mepserver.router import Router
from mepserver.server import ComponentServer, buildServer
from tests.helpers import CapsClient, parseXml

NS_CLIENT = "jabber:client"
MUC = "conference.localhost"
SECRET = "s3cret"
WHERE = "tcp:127.0.0.1:5347"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = NS_MUC + "#user"
NS_EVENT = "http://jabber.org/protocol/pubsub#event"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"


class RejectingAuthenticator(component.ListenComponentAuthenticator):
    """
    A host that answers the stream header with a stream error, as XEP-0114
    section 3 says it must for a name it does not serve.
    """

    def __init__(self, secret, streamError):
        component.ListenComponentAuthenticator.__init__(self, secret)
        self.streamError = streamError

    def streamStarted(self, rootElement):
        xmlstream.ListenAuthenticator.streamStarted(self, rootElement)
        self.xmlstream.sendStreamError(self.streamError)


class FakeHost:
    """
    A host server's component port, in memory, and the client endpoint the
    link connects through.

    @ivar attempts: how many times the link connected or tried to.
    @ivar refusing: whether connecting fails with C{ConnectionRefusedError}.
    @ivar hanging: whether connecting neither succeeds nor fails.
    @ivar reject: a L{StreamError} to answer the stream header with.
    @ivar closeBeforeHandshake: whether to close the connection when the
        component's stream header arrives, without a word.
    @ivar silent: whether to take the connection and never say anything,
        like a port that is not an XMPP server's.
    @ivar received: the stanzas the host received on authenticated streams.
    @ivar streams: the host's side of each authenticated stream.
    @ivar ended: how many host-side streams ended.
    """

    def __init__(self, clock, secret=SECRET):
        self.clock = clock
        self.secret = secret
        self.attempts = 0
        self.refusing = False
        self.hanging = False
        self.reject = None
        self.closeBeforeHandshake = False
        self.silent = False
        self.pending = []
        self.pumps = []
        self.received = []
        self.streams = []
        self.ended = 0
        self.footers = 0

    def connect(self, factory):
        """
        L{twisted.internet.interfaces.IStreamClientEndpoint.connect}.
        """
        self.attempts += 1
        if self.refusing:
            return defer.fail(error.ConnectionRefusedError())
        if self.hanging:
            d = defer.Deferred()
            self.pending.append(d)
            return d
        if self.reject is not None:
            reject = self.reject
            authenticator = lambda: RejectingAuthenticator(self.secret, reject)
        else:
            authenticator = lambda: component.ListenComponentAuthenticator(self.secret)
        serverFactory = xmlstream.XmlStreamServerFactory(authenticator)
        serverFactory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, self._authenticated)
        serverFactory.addBootstrap(xmlstream.STREAM_END_EVENT, self._ended)
        if self.closeBeforeHandshake:
            serverFactory.addBootstrap(
                xmlstream.STREAM_START_EVENT, lambda xs: xs.transport.loseConnection()
            )
        server = serverFactory.buildProtocol(None)
        if self.silent:
            server = protocol.Protocol()
        client = factory.buildProtocol(None)
        self.pumps.append(
            iosim.connect(
                server,
                iosim.makeFakeServer(server),
                client,
                iosim.makeFakeClient(client),
                greet=False,
                clock=self.clock,
            )
        )
        return defer.succeed(client)

    def _authenticated(self, xs):
        self.streams.append(xs)
        xs.addObserver("/*", lambda stanza: self.received.append(stanza))

    def _ended(self, reason):
        self.ended += 1

    def flush(self):
        """
        Deliver every byte in flight, both ways, until nothing moves.
        """
        moved = True
        while moved:
            moved = False
            for pump in list(self.pumps):
                moved = pump.flush(advanceClock=False) or moved

    @property
    def stream(self):
        """
        The host's side of the latest authenticated stream.
        """
        return self.streams[-1]

    def send(self, xml):
        """
        Send a stanza, an XML literal in C{jabber:component:accept}, to the
        component, and deliver everything.
        """
        self.stream.send(parseXml(xml, NS_COMPONENT))
        self.flush()

    def drop(self):
        """
        Close the latest stream's connection from the host's side.
        """
        self.stream.transport.loseConnection()
        self.flush()

    def take(self):
        """
        @return: the stanzas received since the last call.
        """
        received, self.received = self.received, []
        return received


class LinkTestMixin:
    """
    A link on a router with a stand-in MUC domain, a fake host and a clock;
    the link's log is collected.
    """

    #: Delays by failed attempts in a row, then the last one.
    DELAYS = [1.0, 2.0, 4.0, 8.0]

    def setUp(self):
        self.clock = task.Clock()
        self.host = FakeHost(self.clock)
        self.router = Router()
        # The MUC domain as a pipe on the router: what the router brings
        # comes out of its source, and what is sent into it is routed.
        self.muc = generic.XmlPipe()
        self.router.addRoute(MUC, self.muc.sink)
        self.atMUC = []
        self.muc.source.addObserver("/*", self.atMUC.append)
        self.events = []
        self.patch(hostlink, "log", Logger(namespace="mepserver.hostlink", observer=self.events.append))
        self.link = self.makeLink()

    def makeLink(self, secret=SECRET):
        return HostLink(
            self.router,
            MUC,
            secret,
            self.host,
            WHERE,
            self.clock,
            backoff=lambda n: self.DELAYS[min(n, len(self.DELAYS) - 1)],
        )

    def start(self):
        """
        Start the link and deliver everything; stop it after the test.
        """
        self.link.startService()
        self.host.flush()
        self.addCleanup(self.stop)

    def stop(self):
        if self.link.running:
            d = self.link.stopService()
            self.host.flush()
            self.successResultOf(d)

    def lines(self, level=None):
        """
        @return: the link's log lines (of C{level}), formatted.
        """
        return [
            formatEvent(e) for e in self.events if level is None or e["log_level"] == level
        ]

    def nextDelay(self):
        """
        @return: in how many seconds the one scheduled attempt comes.
        """
        [call] = self.clock.getDelayedCalls()
        return call.getTime() - self.clock.seconds()


class HandshakeTests(LinkTestMixin, unittest.TestCase):
    """
    XEP-0114 section 3: the handshake, and why it failed.
    """

    def test_connected(self):
        """
        The link opens a C{jabber:component:accept} stream to the MUC
        domain, shakes hands with the secret (the host checks the hash),
        becomes the router's default route, fires L{HostLink.whenConnected}
        and logs one line.
        """
        waiting = self.link.whenConnected()
        self.assertNoResult(waiting)
        self.start()
        self.assertIs(self.link, self.successResultOf(waiting))
        self.assertIs(self.link, self.successResultOf(self.link.whenConnected()))
        self.assertEqual(1, len(self.host.streams))
        self.assertEqual(MUC, self.host.stream.thisEntity.full())
        self.assertIsNotNone(self.link.xmlstream)
        self.assertIn(None, self.router.routes)
        self.assertEqual(
            [f"connected to the host server at {WHERE} as component {MUC}"], self.lines()
        )
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_wrongSecret(self):
        """
        A secret the host refuses: one error line, naming the setting and
        the host's condition and text; the link tries again after the
        back-off, which grows with each failure.
        """
        self.link = self.makeLink(secret="wrong")
        self.start()
        self.assertIsNone(self.link.xmlstream)
        self.assertEqual([], self.host.streams)
        [line] = self.lines()
        self.assertEqual(
            f"handshake with the host server at {WHERE} as component {MUC} failed: "
            "the host refused the secret: [component] secret must be the secret the "
            f"host has for {MUC} (not-authorized: Invalid hash); trying again in 1.0 s",
            line,
        )
        self.assertEqual([LogLevel.error], [e["log_level"] for e in self.events])
        self.assertEqual(1.0, self.nextDelay())
        self.clock.advance(0.5)
        self.assertEqual(1, self.host.attempts)
        self.clock.advance(0.5)
        self.host.flush()
        self.assertEqual(2, self.host.attempts)
        self.assertEqual(2.0, self.nextDelay())
        self.assertEqual(2, len(self.lines(LogLevel.error)))

    def test_streamErrors(self):
        """
        Each stream error XEP-0114 section 3 names for a refused stream
        header gets its own explanation, naming what to check.
        """
        expected = {
            "host-unknown": "the host has no component conference.localhost: [muc] domain",
            "conflict": "another component is connected to the host as conference.localhost",
            "invalid-namespace": "[component] connect must be the host's component port",
            "improper-addressing": "did not accept conference.localhost",
            "policy-violation": "failed: policy-violation: no",
        }
        for condition, explanation in expected.items():
            del self.events[:]
            self.host.reject = StreamError(condition, text="no")
            link = self.makeLink()
            link.startService()
            self.host.flush()
            [line] = self.lines()
            self.assertIn(explanation, line)
            self.assertIn(f"({condition}: no)" if condition != "policy-violation" else "", line)
            self.assertIsNone(link.xmlstream)
            d = link.stopService()
            self.successResultOf(d)

    def test_closedBeforeHandshake(self):
        """
        A host that closes the connection without a stream error: the line
        says so.
        """
        self.host.closeBeforeHandshake = True
        self.start()
        [line] = self.lines()
        self.assertIn(
            f"handshake with the host server at {WHERE} as component {MUC} failed: "
            "the host closed the connection before answering",
            line,
        )

    def test_noAnswer(self):
        """
        A host that never answers the stream header: after
        L{hostlink.HANDSHAKE_TIMEOUT} seconds the connection is dropped,
        one line says so and names the setting, and the link tries again.
        """
        self.host.silent = True
        self.start()
        self.clock.advance(hostlink.HANDSHAKE_TIMEOUT - 0.1)
        self.host.flush()
        self.assertEqual([], self.lines())
        self.clock.advance(0.1)
        self.host.flush()
        [line] = self.lines(LogLevel.error)
        self.assertEqual(
            f"handshake with the host server at {WHERE} as component {MUC} failed: "
            "no answer within 30 s ([component] connect must be the host's component "
            "port); trying again in 1.0 s",
            line,
        )
        self.assertEqual(1.0, self.nextDelay())

    def test_refused(self):
        """
        A refused connection: a warning, and attempts after 1, 2, 4, 8, 8
        seconds; once the host takes the link, the count starts again.
        """
        self.host.refusing = True
        self.start()
        delays = []
        for _ in range(5):
            delays.append(self.nextDelay())
            self.clock.advance(delays[-1])
        self.assertEqual([1.0, 2.0, 4.0, 8.0, 8.0], delays)
        self.assertEqual(6, self.host.attempts)
        lines = self.lines(LogLevel.warn)
        self.assertEqual(6, len(lines))
        self.assertIn(f"cannot connect to the host server at {WHERE}: Connection was refused", lines[0])
        self.assertTrue(lines[0].endswith("trying again in 1.0 s"), lines[0])
        self.host.refusing = False
        self.clock.advance(self.nextDelay())
        self.host.flush()
        self.assertIsNotNone(self.link.xmlstream)
        self.assertEqual(0, self.link.failures)
        self.host.drop()
        self.assertEqual(1.0, self.nextDelay())

    def test_defaultBackoff(self):
        """
        By default the first attempt after a loss comes after 1 s, each
        failure in a row makes the next wait half as long again, up to
        60 s, and up to a second of jitter is added.
        """
        self.assertEqual(
            [1.0, 1.5, 2.25, 60.0],
            [defaultBackoff(jitter=lambda: 0.0)(n) for n in (0, 1, 2, 20)],
        )
        delay = defaultBackoff()(0)
        self.assertTrue(1.0 <= delay <= 2.0, delay)


class StanzaTests(LinkTestMixin, unittest.TestCase):
    """
    Stanzas both ways once the link is up.
    """

    def setUp(self):
        LinkTestMixin.setUp(self)
        self.start()

    def test_fromHost(self):
        """
        A stanza from the host reaches the MUC domain through the router,
        moved into C{jabber:client} with its children of the component
        namespace; elements of other namespaces keep theirs.
        """
        self.host.send(
            "<message from='juliet@localhost/balcony' to='coven@conference.localhost' "
            "type='groupchat'><body>Wherefore</body>"
            "<x xmlns='urn:example:x'><body>kept</body></x></message>"
        )
        [message] = self.atMUC
        self.assertEqual((NS_CLIENT, "message"), (message.uri, message.name))
        self.assertEqual(NS_CLIENT, message.body.uri)
        self.assertEqual("Wherefore", str(message.body))
        self.assertEqual("urn:example:x", message.x.uri)
        self.assertEqual("urn:example:x", message.x.body.uri)
        self.assertNotIn(NS_COMPONENT, message.toXml())

    def test_toHost(self):
        """
        A stanza from the MUC domain to an address the router does not
        serve goes to the host, written in the stream's namespace: the host
        reads it in C{jabber:component:accept}, children too.
        """
        message = parseXml(
            "<message from='coven@conference.localhost/romeo' to='juliet@localhost/balcony' "
            "type='groupchat'><body>Hi</body><x xmlns='urn:example:x'/></message>",
            NS_CLIENT,
        )
        self.muc.source.send(message)
        self.host.flush()
        [received] = self.host.take()
        self.assertEqual((NS_COMPONENT, "message"), (received.uri, received.name))
        self.assertEqual(NS_COMPONENT, received.body.uri)
        self.assertEqual("urn:example:x", received.x.uri)
        self.assertEqual("juliet@localhost/balcony", received["to"])
        self.assertEqual("coven@conference.localhost/romeo", received["from"])
        self.assertEqual([], self.atMUC)

    def test_fromStamped(self):
        """
        A stanza without C{from} leaves from the component's domain (XEP-0114
        section 3: every stanza must have one).
        """
        self.muc.source.send(parseXml("<presence to='juliet@localhost'/>", NS_CLIENT))
        self.host.flush()
        [received] = self.host.take()
        self.assertEqual(MUC, received["from"])

    def test_foreignFrom(self):
        """
        A stanza whose C{from} is not of the component's domain is not
        sent (a host such as Prosody closes the stream for it): an error
        line says so, and the link stays up.
        """
        self.muc.source.send(
            parseXml("<message from='localhost' to='juliet@localhost'/>", NS_CLIENT)
        )
        self.host.flush()
        self.assertEqual([], self.host.take())
        self.assertIsNotNone(self.link.xmlstream)
        [line] = self.lines(LogLevel.error)
        self.assertIn("not sending a message from localhost to the host server", line)

    def test_unservedDomain(self):
        """
        A request from the host for a domain the component does not serve
        gets C{service-unavailable}; an error stanza gets no answer; the
        MUC domain sees neither.
        """
        self.host.send(
            "<iq type='get' id='q1' from='juliet@localhost/balcony' to='other.localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        [answer] = self.host.take()
        self.assertEqual("error", answer["type"])
        self.assertEqual("q1", answer["id"])
        self.assertEqual(MUC, answer["from"])
        self.assertEqual("juliet@localhost/balcony", answer["to"])
        self.assertEqual("service-unavailable", answer.error.firstChildElement().name)
        self.host.send(
            "<message type='error' from='juliet@localhost/balcony' to='other.localhost'/>"
        )
        self.assertEqual([], self.host.take())
        self.assertEqual([], self.atMUC)


class LossTests(LinkTestMixin, unittest.TestCase):
    """
    The link breaks, and comes back.
    """

    def setUp(self):
        LinkTestMixin.setUp(self)
        self.start()

    def send(self, to="juliet@localhost/balcony"):
        self.muc.source.send(
            parseXml(f"<message from='coven@conference.localhost' to='{to}'/>", NS_CLIENT)
        )
        self.host.flush()

    def test_reconnect(self):
        """
        When the host closes the link, a warning says so, and the link
        reconnects after the first back-off delay; what the rooms send
        meanwhile is dropped, not queued (one line at the first, a count
        once the link is back), and the router keeps its default route.
        """
        self.host.drop()
        self.assertIsNone(self.link.xmlstream)
        [lost] = self.lines(LogLevel.warn)
        self.assertIn(f"lost the link to the host server at {WHERE}", lost)
        self.assertTrue(lost.endswith("trying again in 1.0 s"), lost)
        self.send("juliet@localhost/balcony")
        self.send("romeo@localhost/orchard")
        warnings = self.lines(LogLevel.warn)
        self.assertEqual(2, len(warnings))
        self.assertIn("dropping stanzas to it until the link is back (first to juliet@localhost/balcony)", warnings[1])
        self.assertIn(None, self.router.routes)

        self.clock.advance(1.0)
        self.host.flush()
        self.assertIsNotNone(self.link.xmlstream)
        self.assertEqual(2, len(self.host.streams))
        self.assertEqual([], self.host.take())
        self.assertIn("dropped 2 stanzas to the host server while the link was down", self.lines()[-2])
        self.send()
        [received] = self.host.take()
        self.assertEqual("juliet@localhost/balcony", received["to"])

    def test_whenConnectedAfterLoss(self):
        """
        While the link is down, L{HostLink.whenConnected} waits for the
        next handshake.
        """
        self.host.drop()
        waiting = self.link.whenConnected()
        self.assertNoResult(waiting)
        self.clock.advance(1.0)
        self.host.flush()
        self.assertIs(self.link, self.successResultOf(waiting))


class StopTests(LinkTestMixin, unittest.TestCase):
    """
    Stopping the link ends it for good, whatever it was doing.
    """

    def test_whileConnected(self):
        """
        The stream is closed with its footer; the Deferred fires once the
        connection is gone; the link leaves the router, and does not try
        again.
        """
        self.start()
        d = self.link.stopService()
        self.assertNoResult(d)
        self.host.flush()
        self.successResultOf(d)
        self.assertEqual(1, self.host.ended)
        self.assertNotIn(None, self.router.routes)
        self.assertIsNone(self.link.xmlstream)
        self.assertEqual([], self.clock.getDelayedCalls())
        self.assertEqual(1, len(self.lines()))

    def test_whileWaiting(self):
        """
        Between attempts, the next attempt is cancelled.
        """
        self.host.refusing = True
        self.start()
        self.assertEqual(1, len(self.clock.getDelayedCalls()))
        self.successResultOf(self.link.stopService())
        self.assertEqual([], self.clock.getDelayedCalls())
        self.clock.advance(60)
        self.assertEqual(1, self.host.attempts)

    def test_whileConnecting(self):
        """
        While connecting, the attempt is cancelled, with no line and no
        next attempt; a L{HostLink.whenConnected} waiting fails with
        L{defer.CancelledError}.
        """
        self.host.hanging = True
        self.start()
        waiting = self.link.whenConnected()
        self.successResultOf(self.link.stopService())
        [attempt] = self.host.pending
        # Cancelled: its CancelledError went to the link, which ignored it.
        self.assertIsNone(self.successResultOf(attempt))
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual([], self.lines())
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_duringHandshake(self):
        """
        Connected, the handshake not done: the connection is closed and
        nothing is tried again.
        """
        self.host.hanging = False
        self.link.startService()
        # Not flushed: the stream header is still in flight.
        d = self.link.stopService()
        self.host.flush()
        self.successResultOf(d)
        self.assertEqual([], self.lines())
        self.assertEqual([], self.clock.getDelayedCalls())


def componentConfig(**settings):
    """
    @return: a component-mode L{configModule.Config} with memory storage.
    """
    settings.setdefault("storage", "memory")
    settings.setdefault("mucCreateUnlocked", True)
    return configModule.load(
        overrides=dict(
            settings,
            componentConnect=WHERE,
            componentSecret=SECRET,
            httpListen="tcp:0:interface=127.0.0.1",
        )
    )


class ComponentServerTests(unittest.TestCase):
    """
    L{buildServer} in component mode: the MUC service with MEP behind the
    link, reached through a fake host.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.host = FakeHost(self.clock)
        self.server = buildServer(componentConfig(dataDir=self.mktemp()), clock=self.clock)
        self.server.link.endpoint = self.host
        self.server.link.backoff = lambda n: 1.0

    def start(self):
        self.server.startService()
        self.host.flush()
        self.successResultOf(self.server.ready)
        self.addCleanup(self.stop)

    def stop(self):
        d = self.server.stopService()
        self.host.flush()
        self.successResultOf(d)

    def join(self, user, nick, features=()):
        """
        The host brings C{user}'s join presence, with caps; C{user}
        answers the room's caps query.

        @return: what the host received for the join.
        """
        caps = CapsClient(features)
        presence = caps.presence(to=f"coven@{MUC}/{nick}")
        presence["from"] = user
        presence.addElement((NS_MUC, "x"))
        self.host.stream.send(presence.toXml(defaultUri=NS_CLIENT))
        self.host.flush()
        received = self.host.take()
        for query in received:
            if caps.isQuery(query):
                answer = caps.answer(query)
                answer["from"] = user
                self.host.stream.send(answer.toXml(defaultUri=NS_CLIENT))
                self.host.flush()
                received += self.host.take()
        return received

    def test_parts(self):
        """
        A component has the MUC domain on its router and the link as the
        default route, no client domain, no accounts, and one listener: the
        HTTP API's.
        """
        self.assertIsInstance(self.server, ComponentServer)
        self.start()
        self.assertEqual({MUC, None}, set(self.server.router.routes))
        self.assertIs(self.server.link.parent, self.server)
        self.assertEqual(
            ["tcp:0:interface=127.0.0.1"], [d for d, _ in self.server.listeners]
        )
        self.assertFalse(hasattr(self.server, "sessions"))
        self.assertIsNone(self.server.users)
        # Rooms' archives (XEP-0313) expire on the archives' timer.
        self.assertIs(self.server.archives, self.server.roomArchives.expiry)
        self.assertIs(self.server.archiveStore, self.server.roomArchives.store)
        self.assertRaises(NotImplementedError, self.server.getCredentials, "romeo")

    def test_connectsOnceReady(self):
        """
        The link connects only once the stores are open and the persistent
        rooms loaded, so that the host's first stanza finds them.
        """
        prepared = defer.Deferred()
        self.patch(self.server.roomStore, "prepare", lambda: prepared)
        self.server.startService()
        self.assertEqual(0, self.host.attempts)
        prepared.callback(None)
        self.host.flush()
        self.assertEqual(1, self.host.attempts)
        self.assertIsNotNone(self.server.link.xmlstream)
        self.addCleanup(self.stop)

    def test_joinThroughHost(self):
        """
        A join from a user at the host: the room asks the occupant's full
        JID for its caps (XEP-0115) through the host, and its self-presence
        and subject go back through the host, in the component namespace.
        """
        self.start()
        received = self.join("juliet@localhost/balcony", "juliet", [NS_EVENT + "x+notify"])
        self.assertTrue(received)
        for stanza in received:
            self.assertEqual(NS_COMPONENT, stanza.uri)
            self.assertEqual("juliet@localhost/balcony", stanza["to"])
        [query] = [s for s in received if s.name == "iq"]
        self.assertEqual(f"coven@{MUC}", query["from"])
        self.assertEqual(NS_DISCO_INFO, query.query.uri)
        [self_] = [s for s in received if s.name == "presence"]
        statuses = [s["code"] for s in self_.x.elements(NS_MUC_USER, "status")]
        self.assertIn("110", statuses)

    def test_roomsSurviveLoss(self):
        """
        A lost link loses no room, occupant or MEP item: once it is back, a
        new occupant with C{+notify} gets the room's last item (R68), and
        the first occupant the newcomer's presence. An event generated
        while the link was down is not queued for the host.
        """
        self.start()
        node = "urn:example:mep:test"
        self.join("juliet@localhost/balcony", "juliet", [node + "+notify"])
        self.host.drop()
        self.successResultOf(
            self.server.mep.generateEvent(
                "coven", node, "<entry xmlns='urn:example:mep:payload'>kept</entry>"
            )
        )
        self.clock.advance(1.0)
        self.host.flush()
        self.assertIsNotNone(self.server.link.xmlstream)
        self.assertEqual([], self.host.take())
        received = self.join("romeo@localhost/orchard", "romeo", [node + "+notify"])
        events = [
            s for s in received if s.name == "message" and s["to"] == "romeo@localhost/orchard"
            and s.event is not None
        ]
        self.assertEqual(1, len(events), [s.toXml() for s in received])
        self.assertIn("kept", events[0].toXml())
        self.assertTrue(
            any(
                s.name == "presence" and s["to"] == "juliet@localhost/balcony"
                and s["from"] == f"coven@{MUC}/romeo"
                for s in received
            )
        )

    def test_broadcastCopyByCopy(self):
        """
        Behind a host, a room's broadcasts leave copy by copy through the
        link: the router has no domain that delivers in bulk (issue 16),
        and the host gets one message per occupant, each with its own
        C{to}, and a presence update likewise.
        """
        self.start()
        self.assertEqual({}, self.server.router.bulk)
        occupants = ["juliet@localhost/balcony", "romeo@localhost/orchard", "nurse@localhost/r"]
        for occupant in occupants:
            self.join(occupant, occupant.split("@")[0])
        self.host.stream.send(
            f"<message from='romeo@localhost/orchard' to='coven@{MUC}' type='groupchat'>"
            "<body>Hi</body></message>"
        )
        self.host.stream.send(
            f"<presence from='nurse@localhost/r' to='coven@{MUC}/nurse'><show>away</show></presence>"
        )
        self.host.flush()
        received = self.host.take()
        self.assertEqual(
            sorted(occupants),
            sorted(s["to"] for s in received if s.name == "message" and str(s.body) == "Hi"),
        )
        self.assertEqual(
            sorted(occupants),
            sorted(s["to"] for s in received if s.name == "presence" and s.show is not None),
        )

    def test_stopTellsOccupants(self):
        """
        Stopping the server tells each occupant, through the host, that the
        service shuts down (XEP-0045 332) before the link closes.
        """
        self.start()
        self.join("juliet@localhost/balcony", "juliet")
        d = self.server.stopService()
        self.host.flush()
        self.successResultOf(d)
        [presence] = self.host.take()
        self.assertEqual("unavailable", presence["type"])
        self.assertIn(
            "332", [s["code"] for s in presence.x.elements(NS_MUC_USER, "status")]
        )
        self.assertEqual(1, self.host.ended)

    def test_reset(self):
        """
        L{ComponentServer.reset} (C{POST /api/reset}) tells the occupants
        the service shut down and forgets every room.
        """
        self.start()
        self.join("juliet@localhost/balcony", "juliet")
        self.successResultOf(self.server.reset())
        self.host.flush()
        [presence] = self.host.take()
        self.assertIn(
            "332", [s["code"] for s in presence.x.elements(NS_MUC_USER, "status")]
        )
        self.assertEqual([], list(self.server.rooms))
