# -*- test-case-name: tests.test_components -*-
"""
Tests for L{mepserver.components}: external components (XEP-0114
section 3), their handshake and refusals fed through a
C{StringTransport}, their routing with a stub client domain, and flows
through the whole server in memory (L{tests.memory}).
"""

import hashlib

from twisted.internet import task
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.python import failure
from twisted.trial import unittest
from twisted.words.protocols.jabber import xmlstream

from mepserver.components import (
    NS_COMPONENT_ACCEPT,
    ComponentAuthenticator,
    Components,
    ComponentXmlStream,
    ComponentXmlStreamFactory,
)
from mepserver.config import load
from mepserver.ids import SeededIdSource
from mepserver.router import Router
from mepserver.server import buildServer
from tests.helpers import StubStream, assertStanza, parseXml
from tests.memory import MemoryServer
from tests.test_stream import OutputParser, stanzaError, streamError

NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
SECRET = "s3cret"


def header(to="bot.localhost", namespace=NS_COMPONENT_ACCEPT):
    """
    A component's stream header (XEP-0114 section 3, example 1).
    """
    address = "" if to is None else f" to='{to}'"
    return (
        f"<stream:stream xmlns='{namespace}' "
        f"xmlns:stream='http://etherx.jabber.org/streams'{address}>"
    )


def digest(sid, secret=SECRET):
    """
    The handshake of XEP-0114 section 3: lowercase hex SHA-1 of the stream
    id followed by the secret.
    """
    return hashlib.sha1((sid + secret).encode("utf-8")).hexdigest()


class ComponentConnection:
    """
    The component side of one stream, speaking raw XML to the server's
    L{ComponentXmlStream}.
    """

    def __init__(self, xs, transport):
        self.xs = xs
        self.transport = transport
        self.output = OutputParser(transport)

    def send(self, data):
        """
        Feed the server XML text; return the elements it wrote back.
        """
        self.xs.dataReceived(data.encode("utf-8"))
        return self.output.read()

    def start(self, to="bot.localhost"):
        """
        Send the stream header; return the server's header.
        """
        self.send(header(to))
        return self.output.headers[-1]

    def handshake(self, secret=SECRET, to="bot.localhost"):
        """
        Open the stream and shake hands; return what the server answered.
        """
        sid = self.start(to).getAttribute("id")
        return self.send(f"<handshake>{digest(sid, secret)}</handshake>")

    def assertRefused(self, testCase, output, condition):
        """
        The last element written is a stream error with C{condition}, and
        the stream is closed.
        """
        testCase.assertTrue(output, "the server wrote nothing")
        testCase.assertEqual(condition, streamError(output[-1]), output[-1].toXml())
        testCase.assertTrue(self.transport.disconnecting)
        testCase.assertTrue(self.output.closed)


class Harness:
    """
    A router with a stub client domain (C{localhost}) and configured
    components, and connections to drive as components.
    """

    def __init__(self, testCase, conflict="refuse_new", idleTimeout=0):
        self.testCase = testCase
        self.router = Router()
        self.local = StubStream()
        self.router.addRoute("localhost", self.local)
        self.components = Components(
            self.router,
            {"bot.localhost": SECRET, "other.localhost": "other-secret"},
            "localhost",
            conflict,
        )
        self.clock = task.Clock()
        self.idleTimeout = idleTimeout
        self.ids = SeededIdSource(0)

    def connect(self):
        authenticator = ComponentAuthenticator(
            self.components, self.clock, self.idleTimeout, self.ids
        )
        xs = ComponentXmlStream(authenticator)
        transport = StringTransport()
        xs.makeConnection(transport)
        return ComponentConnection(xs, transport)

    def connected(self, name="bot.localhost", secret=SECRET):
        connection = self.connect()
        [answer] = connection.handshake(secret, name)
        self.testCase.assertEqual("handshake", answer.name)
        return connection

    def disconnect(self, connection):
        connection.xs.connectionLost(failure.Failure(Exception("gone")))


class LogCapture:
    """
    The text of every log event while a test runs.
    """

    def __init__(self, testCase):
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        testCase.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def texts(self):
        from twisted.logger import formatEvent

        return [formatEvent(e) for e in self.events]


class HandshakeTests(unittest.TestCase):
    """
    XEP-0114 section 3: the stream header, the handshake and each refusal.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.bot = self.harness.components.get("bot.localhost")

    def test_header(self):
        """
        The server answers a header naming a configured component with one
        of its own (example 2): the component's name in C{from}, a stream
        id, the component namespace, and no version.
        """
        connection = self.harness.connect()
        answer = connection.start()
        self.assertEqual("bot.localhost", answer.getAttribute("from"))
        self.assertTrue(answer.getAttribute("id"))
        self.assertEqual(NS_COMPONENT_ACCEPT, answer.defaultUri)
        self.assertIsNone(answer.getAttribute("version"))
        self.assertFalse(connection.transport.disconnecting)

    def test_handshake(self):
        """
        The lowercase hex SHA-1 of the stream id and the secret gets an
        empty C{<handshake/>} (example 4), and the domain's route now leads
        to this stream.
        """
        connection = self.harness.connect()
        authenticated = []
        connection.xs.addObserver(xmlstream.STREAM_AUTHD_EVENT, authenticated.append)
        [answer] = connection.handshake()
        self.assertEqual((NS_COMPONENT_ACCEPT, "handshake"), (answer.uri, answer.name))
        self.assertEqual([], list(answer.children))
        self.assertIs(connection.xs, self.bot.xmlstream)
        self.assertEqual([connection.xs], authenticated)

    def test_handshakeUppercase(self):
        """
        An uppercase digest is accepted too, as Prosody accepts it.
        """
        connection = self.harness.connect()
        sid = connection.start().getAttribute("id")
        [answer] = connection.send(f"<handshake>{digest(sid).upper()}</handshake>")
        self.assertEqual("handshake", answer.name)

    def test_nameCaseInsensitive(self):
        """
        The name in C{to} is a domain, compared once prepared (lowercase).
        """
        connection = self.harness.connect()
        answer = connection.start("Bot.LOCALHOST")
        self.assertEqual("bot.localhost", answer["from"])
        [handshake] = connection.send(f"<handshake>{digest(answer['id'])}</handshake>")
        self.assertEqual("handshake", handshake.name)
        self.assertIs(connection.xs, self.bot.xmlstream)

    def test_wrongSecret(self):
        """
        A digest of another secret gets C{not-authorized} and a log line
        naming the component; the domain stays unrouted.
        """
        log = LogCapture(self)
        connection = self.harness.connect()
        output = connection.handshake(secret="guess")
        connection.assertRefused(self, output, "not-authorized")
        self.assertIsNone(self.bot.xmlstream)
        self.assertTrue(
            any(
                "bot.localhost" in text and "not-authorized" in text
                for text in log.texts()
            ),
            log.texts(),
        )

    def test_unknownName(self):
        """
        A name that is not configured gets C{host-unknown}, in a header
        that claims no name, with a log line.
        """
        log = LogCapture(self)
        connection = self.harness.connect()
        output = connection.send(header("stranger.localhost"))
        self.assertIsNone(connection.output.headers[-1].getAttribute("from"))
        connection.assertRefused(self, output, "host-unknown")
        self.assertTrue(
            any("host-unknown" in t and "stranger.localhost" in t for t in log.texts()),
            log.texts(),
        )

    def assertHeaderRefused(self, data, condition):
        """
        The stream header C{data} gets a header of the server's, then the
        stream error C{condition}, and the stream closes.
        """
        self.connection = connection = self.harness.connect()
        output = connection.send(data)
        self.assertTrue(connection.output.headers, "no header before the error")
        connection.assertRefused(self, output, condition)

    def test_nameNotADomain(self):
        """
        A JID with a localpart or resource is no component name, and
        neither is an invalid JID: C{host-unknown}.
        """
        self.assertHeaderRefused(header("x@bot.localhost"), "host-unknown")
        self.assertHeaderRefused(header("bot.localhost/r"), "host-unknown")
        self.assertHeaderRefused(header("a b"), "host-unknown")

    def test_serverDomain(self):
        """
        The server's own domain is not a component: C{host-unknown}.
        """
        self.assertHeaderRefused(header("localhost"), "host-unknown")

    def test_noTo(self):
        """
        A header without C{to} gets C{improper-addressing}, as from Prosody.
        """
        self.assertHeaderRefused(header(None), "improper-addressing")

    def test_wrongNamespace(self):
        """
        A content namespace other than C{jabber:component:accept} gets
        C{invalid-namespace} (XEP-0114 section 3).
        """
        self.assertHeaderRefused(header(namespace="jabber:client"), "invalid-namespace")
        self.assertEqual(
            NS_COMPONENT_ACCEPT, self.connection.output.headers[-1].defaultUri
        )
        self.assertHeaderRefused(
            header(namespace="jabber:component:connect"), "invalid-namespace"
        )

    def test_stanzaBeforeHandshake(self):
        """
        A stanza before the handshake gets C{not-authorized} and is not
        routed.
        """
        connection = self.harness.connect()
        connection.start()
        output = connection.send(
            "<message from='bot.localhost' to='alice@localhost'><body>x</body></message>"
        )
        connection.assertRefused(self, output, "not-authorized")
        self.assertEqual([], self.harness.local.output)
        self.assertIsNone(self.bot.xmlstream)

    def test_handshakeWithChild(self):
        """
        A handshake holding an element gets C{not-authorized}, as from
        Prosody.
        """
        connection = self.harness.connect()
        sid = connection.start().getAttribute("id")
        output = connection.send(f"<handshake><x/>{digest(sid)}</handshake>")
        connection.assertRefused(self, output, "not-authorized")

    def test_handshakeInOtherNamespace(self):
        """
        A C{<handshake/>} in another namespace is not the handshake.
        """
        connection = self.harness.connect()
        sid = connection.start().getAttribute("id")
        output = connection.send(
            f"<handshake xmlns='urn:other'>{digest(sid)}</handshake>"
        )
        connection.assertRefused(self, output, "not-authorized")

    def test_idleBeforeHandshake(self):
        """
        A component that stays silent before its handshake gets
        C{connection-timeout}; after the handshake, silence gets a
        whitespace keepalive instead.
        """
        harness = Harness(self, idleTimeout=60)
        silent = harness.connect()
        silent.start()
        harness.clock.advance(60)
        silent.assertRefused(self, silent.output.read(), "connection-timeout")

        quiet = harness.connected()
        quiet.transport.clear()
        harness.clock.advance(60)
        self.assertEqual(b" ", quiet.transport.value())
        self.assertFalse(quiet.transport.disconnecting)
        self.disconnectAll(harness, quiet)

    def disconnectAll(self, harness, *connections):
        for connection in connections:
            harness.disconnect(connection)
        self.assertEqual([], harness.clock.getDelayedCalls())

    def test_conflictRefusesNew(self):
        """
        By default a second connection for a connected component gets
        C{conflict} after its handshake; the first keeps the route.
        """
        log = LogCapture(self)
        first = self.harness.connected()
        second = self.harness.connect()
        output = second.handshake()
        second.assertRefused(self, output, "conflict")
        self.assertFalse(first.transport.disconnecting)
        self.assertIs(first.xs, self.bot.xmlstream)
        self.assertTrue(any("conflict" in t for t in log.texts()), log.texts())
        # The refused stream's end leaves the first one routed.
        self.harness.disconnect(second)
        self.assertIs(first.xs, self.bot.xmlstream)

    def test_conflictReplacesOld(self):
        """
        With C{replace_old}, the first connection gets C{conflict} and the
        second takes the route; the first one's end leaves it there.
        """
        harness = Harness(self, conflict="replace_old")
        bot = harness.components.get("bot.localhost")
        first = harness.connected()
        first.output.read()
        second = harness.connected()
        first.assertRefused(self, first.output.read(), "conflict")
        self.assertIs(second.xs, bot.xmlstream)
        harness.disconnect(first)
        self.assertIs(second.xs, bot.xmlstream)

    def test_replaceNeedsTheSecret(self):
        """
        With C{replace_old}, a connection with a wrong secret replaces
        nothing: it gets C{not-authorized}.
        """
        harness = Harness(self, conflict="replace_old")
        first = harness.connected()
        intruder = harness.connect()
        intruder.assertRefused(self, intruder.handshake(secret="guess"), "not-authorized")
        self.assertFalse(first.transport.disconnecting)
        self.assertIs(first.xs, harness.components.get("bot.localhost").xmlstream)

    def test_twoComponents(self):
        """
        Two components, each with its own secret, connect side by side; a
        secret of one is not the other's.
        """
        bot = self.harness.connected("bot.localhost", SECRET)
        other = self.harness.connected("other.localhost", "other-secret")
        self.assertIs(bot.xs, self.bot.xmlstream)
        self.assertIs(other.xs, self.harness.components.get("other.localhost").xmlstream)
        wrong = self.harness.connect()
        wrong.assertRefused(
            self, wrong.handshake(SECRET, "other.localhost"), "not-authorized"
        )

    def test_disconnectUnroutes(self):
        """
        When the component's connection ends, its domain has no stream.
        """
        connection = self.harness.connected()
        self.harness.disconnect(connection)
        self.assertIsNone(self.bot.xmlstream)


class RoutingTests(unittest.TestCase):
    """
    Stanzas to and from a connected component, and to one that is not
    connected.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.local = self.harness.local
        self.connection = self.harness.connected()
        self.connection.output.read()

    def route(self, text):
        """
        Route a stanza from the client domain, as a session would.
        """
        self.harness.router.route(parseXml(text, "jabber:client"))

    def test_toComponent(self):
        """
        Stanzas to the component's domain and to any JID at it go down its
        stream, in its namespace: no C{jabber:client} declaration.
        """
        for to in ("bot.localhost", "echo@bot.localhost", "bot.localhost/r",
                   "echo@bot.localhost/r"):
            self.route(
                f"<message from='alice@localhost/home' to='{to}'>"
                "<body>Hi</body><x xmlns='urn:example'/></message>"
            )
            [message] = self.connection.output.read()
            assertStanza(
                self,
                message,
                f"<message from='alice@localhost/home' to='{to}'><body>Hi</body>"
                "<x xmlns='urn:example'/></message>",
                NS_COMPONENT_ACCEPT,
            )
        self.assertNotIn(b"jabber:client", self.connection.transport.value())

    def test_fromComponent(self):
        """
        A stanza from any JID at the component's domain is routed by its
        C{to}, moved to C{jabber:client} with its children; payloads keep
        their namespaces.
        """
        self.connection.send(
            "<message from='Echo@bot.localhost/r' to='alice@localhost'>"
            "<body>Hello</body><x xmlns='urn:example'><y/></x></message>"
        )
        [message] = self.local.output
        assertStanza(
            self,
            message,
            "<message from='echo@bot.localhost/r' to='alice@localhost'>"
            "<body>Hello</body><x xmlns='urn:example'><y/></x></message>",
        )
        self.assertEqual("jabber:client", message.uri)
        self.assertEqual("jabber:client", message.body.uri)
        self.assertEqual("urn:example", message.x.uri)

    def test_fromComponentClientNamespace(self):
        """
        A stanza in C{jabber:client} is accepted too (as Prosody does).
        """
        self.connection.send(
            "<iq xmlns='jabber:client' type='get' id='i1' from='bot.localhost' "
            "to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
        )
        [iq] = self.local.output
        self.assertEqual(("jabber:client", "iq"), (iq.uri, iq.name))

    def assertInvalidFrom(self, stanza):
        output = self.connection.send(stanza)
        self.connection.assertRefused(self, output, "invalid-from")
        self.assertEqual([], self.local.output)

    def test_foreignFrom(self):
        """
        A C{from} at another domain is C{invalid-from} (XEP-0114 section 3,
        RFC 6120 section 4.9.3.9), and nothing is routed.
        """
        self.assertInvalidFrom(
            "<message from='alice@localhost' to='bob@localhost'><body>x</body></message>"
        )

    def test_otherComponentFrom(self):
        """
        Another component's domain is not this one's: C{invalid-from}.
        """
        self.assertInvalidFrom(
            "<message from='other.localhost' to='alice@localhost'/>"
        )

    def test_subdomainFrom(self):
        """
        A subdomain of the component's domain is another domain.
        """
        self.assertInvalidFrom(
            "<message from='x.bot.localhost' to='alice@localhost'/>"
        )

    def test_missingFrom(self):
        """
        A stanza without C{from} is C{invalid-from}.
        """
        self.assertInvalidFrom("<message to='alice@localhost'><body>x</body></message>")

    def test_malformedFrom(self):
        """
        A C{from} that is not a JID is C{invalid-from}.
        """
        self.assertInvalidFrom("<message from='@bot.localhost' to='alice@localhost'/>")

    def test_missingTo(self):
        """
        A stanza without C{to} gets C{bad-request} from the server, as from
        Prosody, and the stream stays open.
        """
        [reply] = self.connection.send(
            "<iq type='get' id='i1' from='bot.localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
        )
        assertStanza(
            self,
            reply,
            "<iq type='error' id='i1' from='localhost' to='bot.localhost'>"
            f"<error type='modify'><bad-request xmlns='{NS_STANZAS}'/></error></iq>",
            NS_COMPONENT_ACCEPT,
        )
        self.assertFalse(self.connection.transport.disconnecting)
        self.assertEqual([], self.local.output)

    def test_missingToOnError(self):
        """
        An error without C{to} is not answered (RFC 6120 section 8.3.1); it
        is logged, and the stream stays open.
        """
        log = LogCapture(self)
        output = self.connection.send(
            "<message type='error' from='bot.localhost'><error type='cancel'>"
            f"<item-not-found xmlns='{NS_STANZAS}'/></error></message>"
        )
        self.assertEqual([], output)
        self.assertEqual([], self.local.output)
        self.assertFalse(self.connection.transport.disconnecting)
        self.assertTrue(any("needs a 'to'" in t for t in log.texts()), log.texts())

    def test_malformedTo(self):
        """
        A C{to} that is not a JID gets C{jid-malformed}.
        """
        [reply] = self.connection.send(
            "<message id='m1' from='echo@bot.localhost' to='a@b@localhost'>"
            "<body>x</body></message>"
        )
        self.assertEqual("jid-malformed", stanzaError(reply))
        self.assertEqual("echo@bot.localhost", reply["to"])
        self.assertEqual([], self.local.output)

    def test_notAStanza(self):
        """
        A top-level element that is no stanza gets
        C{unsupported-stanza-type}; so does a second handshake.
        """
        output = self.connection.send("<foo from='bot.localhost' to='localhost'/>")
        self.connection.assertRefused(self, output, "unsupported-stanza-type")
        self.harness.disconnect(self.connection)
        second = self.harness.connected()
        second.output.read()
        second.assertRefused(
            self, second.send("<handshake>00</handshake>"), "unsupported-stanza-type"
        )

    def test_stanzaInOtherNamespace(self):
        """
        A C{<message/>} in a namespace other than the stream's or
        C{jabber:client} is no stanza: C{unsupported-stanza-type}.
        """
        output = self.connection.send(
            "<message xmlns='jabber:server' from='bot.localhost' to='alice@localhost'/>"
        )
        self.connection.assertRefused(self, output, "unsupported-stanza-type")
        self.assertEqual([], self.local.output)

    def test_notConnected(self):
        """
        While the component is not connected, IQ requests, messages and
        presence to its domain or JIDs at it get C{remote-server-timeout}
        (type C{wait}) from its domain, as Prosody's mod_component answers.
        """
        self.harness.disconnect(self.connection)
        for stanza in (
            "<iq type='get' id='i1' from='alice@localhost/home' to='bot.localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
            "<message id='m1' from='alice@localhost/home' to='echo@bot.localhost'>"
            "<body>x</body></message>",
            "<presence id='p1' from='alice@localhost/home' to='echo@bot.localhost/r'/>",
        ):
            self.route(stanza)
            [reply] = self.local.output
            del self.local.output[:]
            self.assertEqual("error", reply["type"])
            self.assertEqual("bot.localhost", reply["from"])
            self.assertEqual("alice@localhost/home", reply["to"])
            self.assertEqual("remote-server-timeout", stanzaError(reply))
            self.assertEqual("wait", reply.error["type"])

    def test_notConnectedErrorsAndResults(self):
        """
        Errors and IQ results to a component that is not connected get no
        answer (RFC 6120 section 8.3.1).
        """
        self.harness.disconnect(self.connection)
        self.route("<iq type='result' id='i1' from='alice@localhost/h' to='bot.localhost'/>")
        self.route(
            "<message type='error' id='m1' from='alice@localhost/h' to='bot.localhost'/>"
        )
        self.assertEqual([], self.local.output)

    def test_unconfiguredDomain(self):
        """
        A domain that is no component and not served stays
        C{remote-server-not-found}.
        """
        self.route(
            "<message id='m1' from='alice@localhost/h' to='x@nowhere.localhost'/>"
        )
        [reply] = self.local.output
        self.assertEqual("remote-server-not-found", stanzaError(reply))

    def test_componentToComponent(self):
        """
        A component's stanza to another component's domain reaches it.
        """
        other = self.harness.connected("other.localhost", "other-secret")
        other.output.read()
        self.connection.send(
            "<message from='a@bot.localhost' to='b@other.localhost'><body>x</body></message>"
        )
        [message] = other.output.read()
        self.assertEqual("a@bot.localhost", message["from"])
        self.assertEqual("x", str(message.body))


class ComponentsTests(unittest.SynchronousTestCase):
    """
    L{Components}: the configured routes.
    """

    def test_routes(self):
        """
        Every configured domain is on the router from the start.
        """
        router = Router()
        components = Components(router, {"a.example": "1", "b.example": "2"}, "example")
        self.assertEqual(["a.example", "b.example"], [c.name for c in components])
        self.assertEqual(2, len(components))
        self.assertIs(components.get("a.example"), router.routes["a.example"])
        self.assertIsNone(components.get("c.example"))

    def test_conflictPolicy(self):
        """
        Only C{refuse_new} and C{replace_old} are policies.
        """
        self.assertRaises(ValueError, Components, Router(), {}, "example", "kick")


class ServerTests(unittest.TestCase):
    """
    The components in the whole server: wiring, and flows in memory.
    """

    def test_listener(self):
        """
        With C{[components] listen}, the server has a component listener
        after the others; without, none.
        """
        cfg = load(
            overrides=dict(
                storage="memory",
                dataDir=self.mktemp(),
                componentsListen="tcp:5347:interface=127.0.0.1",
                components={"bot.localhost": "s"},
            )
        )
        server = buildServer(cfg)
        description, factory = server.listeners[-1]
        self.assertEqual("tcp:5347:interface=127.0.0.1", description)
        self.assertIsInstance(factory, ComponentXmlStreamFactory)
        self.assertIs(server.streams, factory.streams)
        self.assertEqual(["bot.localhost"], [c.name for c in server.components])
        plain = buildServer(load(overrides=dict(storage="memory", dataDir=self.mktemp())))
        self.assertFalse(
            any(isinstance(f, ComponentXmlStreamFactory) for _, f in plain.listeners)
        )

    def test_listenerBeyondLoopback(self):
        """
        A component listener on all interfaces is logged as a warning: the
        protocol has no encryption.
        """
        log = LogCapture(self)
        buildServer(
            load(
                overrides=dict(
                    storage="memory", dataDir=self.mktemp(), componentsListen="tcp:5347"
                )
            )
        )
        self.assertTrue(any("unencrypted" in t for t in log.texts()), log.texts())

    def memoryServer(self, **settings):
        settings.setdefault("componentsListen", "tcp:0:interface=127.0.0.1")
        settings.setdefault("components", {"bot.localhost": SECRET})
        server = MemoryServer(self, **settings)
        server.createAccount("alice")
        return server

    def test_messageAndIQ(self):
        """
        A client's message and IQ reach the component with the client's full
        JID; the component's answers reach the client.
        """
        server = self.memoryServer()
        bot = server.connectComponent("bot.localhost", SECRET)
        alice = server.connect("alice", "home")
        alice.send("<message to='echo@bot.localhost' id='m1'><body>Hi</body></message>")
        bot.expect(
            self,
            "<message from='alice@localhost/home' to='echo@bot.localhost' id='m1'>"
            "<body>Hi</body></message>",
        )
        bot.send(
            "<message from='echo@bot.localhost' to='alice@localhost/home' id='m2'>"
            "<body>Hi yourself</body></message>"
        )
        alice.expect(
            self,
            "<message from='echo@bot.localhost' id='m2'><body>Hi yourself</body></message>",
        )
        alice.send(
            "<iq type='get' id='v1' to='bot.localhost'>"
            "<query xmlns='jabber:iq:version'/></iq>"
        )
        bot.expect(
            self,
            "<iq type='get' id='v1' from='alice@localhost/home' to='bot.localhost'>"
            "<query xmlns='jabber:iq:version'/></iq>",
        )
        bot.send(
            "<iq type='result' id='v1' from='bot.localhost' to='alice@localhost/home'>"
            "<query xmlns='jabber:iq:version'><name>bot</name></query></iq>"
        )
        alice.expect(
            self,
            "<iq type='result' id='v1' from='bot.localhost'>"
            "<query xmlns='jabber:iq:version'><name>bot</name></query></iq>",
        )

    def test_componentAsksServer(self):
        """
        The component's IQ to the server's domain is answered by the server
        (a ping, XEP-0199), to the component.
        """
        server = self.memoryServer()
        bot = server.connectComponent("bot.localhost", SECRET)
        bot.send(
            "<iq type='get' id='p1' from='bot.localhost' to='localhost'>"
            "<ping xmlns='urn:xmpp:ping'/></iq>"
        )
        bot.expect(self, "<iq type='result' id='p1' from='localhost' to='bot.localhost'/>")

    def test_componentInRoom(self):
        """
        A JID at the component joins a room of the MUC service and gets its
        self-presence.
        """
        server = self.memoryServer(mucCreateUnlocked=True)
        bot = server.connectComponent("bot.localhost", SECRET)
        bot.send(
            "<presence from='echo@bot.localhost/r' to='lobby@conference.localhost/Echo'>"
            "<x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )
        presences = [s for s in bot.take() if s.name == "presence"]
        self.assertTrue(presences, "no presence from the room")
        self.assertEqual("lobby@conference.localhost/Echo", presences[0]["from"])
        self.assertEqual("echo@bot.localhost/r", presences[0]["to"])

    def test_discoItems(self):
        """
        The server's disco#items lists every configured component, whether
        connected or not (as Prosody lists its component hosts).
        """
        server = self.memoryServer(
            components={"bot.localhost": SECRET, "away.localhost": "x"}
        )
        alice = server.connect("alice", "home")
        alice.send(f"<iq type='get' id='d1' to='localhost'><query xmlns='{NS_DISCO_ITEMS}'/></iq>")
        [result] = alice.take()
        items = [item["jid"] for item in result.query.elements(NS_DISCO_ITEMS, "item")]
        self.assertEqual(
            ["conference.localhost", "upload.localhost", "away.localhost", "bot.localhost"],
            items,
        )

    def test_disconnected(self):
        """
        Once the component is gone, a client's IQ to it gets
        C{remote-server-timeout}.
        """
        server = self.memoryServer()
        bot = server.connectComponent("bot.localhost", SECRET)
        alice = server.connect("alice", "home")
        bot.pump.client.transport.loseConnection()
        server.flush()
        alice.send(
            "<iq type='get' id='v1' to='bot.localhost'><query xmlns='jabber:iq:version'/></iq>"
        )
        [reply] = alice.take()
        self.assertEqual("remote-server-timeout", stanzaError(reply))

    def test_stopCloses(self):
        """
        Stopping the server closes the component's stream with
        C{system-shutdown}, as it does clients' (RFC 6120 section 4.9.3.22).
        """
        server = self.memoryServer()
        bot = server.connectComponent("bot.localhost", SECRET)
        errors = []
        bot.xmlstream.addObserver(xmlstream.STREAM_ERROR_EVENT, errors.append)
        server.stop()
        self.assertEqual(["system-shutdown"], [e.value.condition for e in errors])

