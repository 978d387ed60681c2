# -*- test-case-name: tests.test_websocket -*-
"""
Tests for L{mepserver.c2s.websocket}: XMPP over WebSocket (RFC 7395).

Unit tests feed text messages to an L{XMPPWebSocketProtocol} on a fake
WebSocket transport and parse every message the server sends on its own,
with the standard library's parser, which is the namespace-completeness
RFC 7395 section 3.3.3 asks for. End-to-end tests run the handshake
(section 3.1) over a loopback socket, against a stub authenticator and
against the whole server of L{mepserver.testing}, with a minimal wsproto
client, since Twisted's WebSocket client cannot offer a subprotocol.
"""

import base64
import xml.etree.ElementTree as ET

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.internet.address import IPv4Address
from twisted.protocols import policies
from twisted.python import failure
from twisted.trial import unittest
from twisted.web import resource, server
from twisted.web.test.requesthelper import DummyRequest
from twisted.words.protocols.jabber import xmlstream
from twisted.words.xish import domish
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from mepserver.c2s.bind import BindStep
from mepserver.c2s.mechanisms import mechanismFactories
from mepserver.c2s.sasl import SASLStep
from mepserver.c2s.sessions import SessionManager
from mepserver.c2s.stream import C2SAuthenticator, StreamRegistry
from mepserver.c2s.websocket import (
    NS_FRAMING,
    WebSocketStreamTransport,
    WebSocketXmlStream,
    XMPPWebSocketProtocol,
    XMPPWebSocketResource,
)
from mepserver.storage.memory import MemoryUserStore
from mepserver.testing import startServer
from tests.helpers import credentials

NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_THING = "urn:example:thing"

OPEN = f"<open xmlns='{NS_FRAMING}' to='example.com' version='1.0'/>"
CLOSE = f"<close xmlns='{NS_FRAMING}'/>"


def qname(uri, name):
    return f"{{{uri}}}{name}"


class FakeWebSocketTransport:
    """
    A L{twisted.web.websocket.WebSocketTransport} that records what is sent.

    @ivar messages: the text messages sent, in order.
    @ivar closed: whether C{loseConnection} was called.
    """

    def __init__(self):
        self.messages = []
        self.pings = 0
        self.closed = False

    def sendTextMessage(self, text):
        assert not self.closed, "message sent after loseConnection"
        assert isinstance(text, str)
        self.messages.append(text)

    def sendBytesMessage(self, data):
        raise AssertionError("XMPP sends no bytes messages")

    def loseConnection(self, code=1000):
        assert not self.closed, "loseConnection called twice"
        self.closed = True

    def ping(self, payload=b""):
        self.pings += 1

    def attachProducer(self, producer):
        pass

    def detachProducer(self):
        pass


class FakeRequest:
    """
    The parts of an upgrade request that L{XMPPWebSocketResource} reads.
    """

    def __init__(self, secure=False):
        self.secure = secure

    def isSecure(self):
        return self.secure

    def getClientAddress(self):
        return IPv4Address("TCP", "127.0.0.1", 54321)

    def getHost(self):
        return IPv4Address("TCP", "127.0.0.1", 5280)


class ThingStep:
    """
    A receiving step that offers <thing/> and takes <auth/> in its
    namespace, remembering its text, like SASL's <auth/>.
    """

    mandatory = False

    def __init__(self, authenticator):
        self.authenticator = authenticator
        self.received = []

    def feature(self):
        return domish.Element((NS_THING, "thing"))

    def onElement(self, element):
        if (element.uri, element.name) != (NS_THING, "auth"):
            return False
        self.received.append(str(element))
        return True


def thingAuthenticator():
    return C2SAuthenticator("example.com", [ThingStep])


class Connection:
    """
    One server-side connection, driven message by message as a client.
    """

    def __init__(
        self, authenticator, maxStanzaSize=256 * 1024, secure=False, streams=None
    ):
        self.resource = XMPPWebSocketResource(
            lambda: authenticator, maxStanzaSize, streams
        )
        self.protocol = self.resource.buildProtocol(FakeRequest(secure))
        self.xs = self.protocol.xmlstream
        self.events = []
        for event in (
            xmlstream.STREAM_CONNECTED_EVENT,
            xmlstream.STREAM_START_EVENT,
            xmlstream.STREAM_END_EVENT,
        ):
            self.xs.addObserver(event, lambda _, event=event: self.events.append(event))
        self.transport = FakeWebSocketTransport()
        self.protocol.negotiationStarted(self.transport)
        self.protocol.negotiationFinished()
        self.offset = 0

    def send(self, message):
        """
        Send one text message.

        @return: the raw messages the server sent in reply.
        """
        self.protocol.textMessageReceived(message)
        return self.read()

    def read(self):
        new = self.transport.messages[self.offset :]
        self.offset = len(self.transport.messages)
        return new

    def sendParsed(self, message):
        """
        @return: the server's reply messages, each parsed on its own.
        """
        return [ET.fromstring(m) for m in self.send(message)]

    def lose(self):
        self.protocol.connectionLost(failure.Failure(Exception("gone")))


def streamErrorCondition(element):
    """
    @return: the condition of a stream error element, or L{None}.
    """
    if element.tag != qname(NS_STREAMS, "error"):
        return None
    for child in element:
        if child.tag.startswith(f"{{{NS_STREAM_ERRORS}}}") and not child.tag.endswith(
            "}text"
        ):
            return child.tag.split("}")[1]


class FramingTests(unittest.TestCase):
    """
    RFC 7395 sections 3.3 to 3.7: framing onto the C2S stream code.
    """

    def setUp(self):
        self.authenticator = thingAuthenticator()
        self.connection = Connection(self.authenticator)

    def assertStreamError(self, condition, *messages, opened=True):
        """
        The last message gets a stream error: the server's <open/> if it
        had not sent one, the error, <close/>, then the end of the
        connection (RFC 7395 section 3.5).
        """
        replies = []
        for message in messages:
            replies += self.connection.send(message)
        parsed = [ET.fromstring(r) for r in replies]
        if not opened:
            self.assertEqual(qname(NS_FRAMING, "open"), parsed[0].tag)
        self.assertEqual(condition, streamErrorCondition(parsed[-2]), replies[-2])
        self.assertIn(f"xmlns:stream='{NS_STREAMS}'", replies[-2])
        self.assertEqual(qname(NS_FRAMING, "close"), parsed[-1].tag)
        self.assertTrue(self.connection.transport.closed)
        self.assertTrue(self.connection.xs.closing)
        return parsed

    def test_open(self):
        """
        <open/> is answered by <open/> with from, id, version and xml:lang,
        then <stream:features/> declaring the stream prefix, each in a
        message of its own (sections 3.3.3 and 3.4).
        """
        replies = self.connection.send(OPEN)
        self.assertEqual(2, len(replies))
        header, features = [ET.fromstring(r) for r in replies]
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        self.assertEqual("example.com", header.get("from"))
        self.assertEqual(self.connection.xs.sid, header.get("id"))
        self.assertTrue(header.get("id"))
        self.assertEqual("1.0", header.get("version"))
        self.assertEqual("en", header.get(qname(NS_XML, "lang")))
        self.assertEqual(qname(NS_STREAMS, "features"), features.tag)
        self.assertIn(f"xmlns:stream='{NS_STREAMS}'", replies[1])
        self.assertEqual([qname(NS_THING, "thing")], [c.tag for c in features])
        self.assertEqual(
            [xmlstream.STREAM_CONNECTED_EVENT, xmlstream.STREAM_START_EVENT],
            self.connection.events,
        )

    def test_openChecksLikeAStreamHeader(self):
        """
        The authenticator checks <open/> as it checks <stream:stream/>:
        another domain gets host-unknown after the server's <open/>.
        """
        self.assertStreamError(
            "host-unknown", OPEN.replace("example.com", "other.org"), opened=False
        )

    def test_openWithoutVersion(self):
        """
        <open/> without version='1.0' gets unsupported-version.
        """
        self.assertStreamError(
            "unsupported-version", OPEN.replace(" version='1.0'", ""), opened=False
        )

    def test_openWrongNamespace(self):
        """
        <open/> outside the framing namespace gets invalid-namespace
        (section 3.3.2), for example a TCP-style content namespace.
        """
        self.assertStreamError(
            "invalid-namespace",
            OPEN.replace(NS_FRAMING, NS_CLIENT),
            opened=False,
        )

    def test_streamHeaderInstead(self):
        """
        A TCP stream header is not a complete element: not-well-formed.
        """
        self.assertStreamError(
            "not-well-formed",
            f"<stream:stream xmlns='{NS_CLIENT}' xmlns:stream='{NS_STREAMS}' "
            "to='example.com' version='1.0'>",
            opened=False,
        )

    def test_firstMessageNotOpen(self):
        """
        A stanza before <open/> gets invalid-namespace (section 3.4).
        """
        self.assertStreamError(
            "invalid-namespace",
            f"<message xmlns='{NS_CLIENT}' to='a@example.com'/>",
            opened=False,
        )

    def test_closeWrongNamespace(self):
        """
        <close/> outside the framing namespace gets invalid-namespace.
        """
        self.assertStreamError("invalid-namespace", OPEN, "<close xmlns='urn:wrong'/>")

    def test_secondOpen(self):
        """
        A second <open/> without a stream restart gets bad-format.
        """
        self.assertStreamError("bad-format", OPEN, OPEN)

    def test_noNamespace(self):
        """
        An element that declares no namespace gets invalid-namespace: each
        message must be namespace-complete (section 3.3.3).
        """
        self.assertStreamError(
            "invalid-namespace", OPEN, "<message to='a@example.com'/>"
        )

    def test_unclosedElement(self):
        """
        A message with an incomplete element gets not-well-formed.
        """
        self.assertStreamError(
            "not-well-formed", OPEN, f"<message xmlns='{NS_CLIENT}'>"
        )

    def test_twoElements(self):
        """
        A message with two elements gets not-well-formed (section 3.3.3).
        """
        self.assertStreamError(
            "not-well-formed",
            OPEN,
            f"<presence xmlns='{NS_CLIENT}'/><presence xmlns='{NS_CLIENT}'/>",
        )

    def test_notXML(self):
        """
        Text that is not XML gets not-well-formed.
        """
        self.assertStreamError("not-well-formed", OPEN, "hello")

    def test_restrictedXML(self):
        """
        A comment gets restricted-xml, as on TCP (RFC 6120 11.1).
        """
        self.assertStreamError(
            "restricted-xml", OPEN, f"<message xmlns='{NS_CLIENT}'><!-- x --></message>"
        )

    def test_bytesMessage(self):
        """
        A binary message gets bad-format (section 3.2: text only).
        """
        self.connection.send(OPEN)
        self.connection.protocol.bytesMessageReceived(b"<presence/>")
        error, close = [ET.fromstring(m) for m in self.connection.read()]
        self.assertEqual("bad-format", streamErrorCondition(error))
        self.assertEqual(qname(NS_FRAMING, "close"), close.tag)
        self.assertTrue(self.connection.transport.closed)

    def test_oversized(self):
        """
        A message over the stanza size limit gets policy-violation; the
        limit counts UTF-8 bytes, not characters.
        """
        self.connection = Connection(thingAuthenticator(), maxStanzaSize=200)
        self.connection.send(OPEN)
        fits = f"<auth xmlns='{NS_THING}'>{'x' * 150}</auth>"
        self.assertEqual([], self.connection.send(fits))
        # 128 characters, but 218 bytes.
        tooLarge = f"<auth xmlns='{NS_THING}'>{chr(0xE9) * 90}</auth>"
        self.assertLess(len(tooLarge), 200)
        self.assertStreamError("policy-violation", tooLarge)

    def test_elementText(self):
        """
        Text directly inside the message's element reaches the step, as
        SASL's <auth/> needs.
        """
        self.connection.send(OPEN)
        auth = f"<auth xmlns='{NS_THING}'>AGZvbw==</auth>"
        self.assertEqual([], self.connection.send(auth))
        [step] = self.authenticator.steps
        self.assertEqual(["AGZvbw=="], step.received)

    def test_xmlDeclaration(self):
        """
        An XML declaration before the element is allowed.
        """
        replies = self.connection.send("<?xml version='1.0'?>" + OPEN)
        self.assertEqual(2, len(replies))

    def test_close(self):
        """
        <close/> is answered by <close/>, then the WebSocket closes
        (section 3.6); later messages are ignored.
        """
        self.connection.send(OPEN)
        [reply] = self.connection.sendParsed(CLOSE)
        self.assertEqual(qname(NS_FRAMING, "close"), reply.tag)
        self.assertTrue(self.connection.transport.closed)
        self.assertEqual([], self.connection.send(f"<presence xmlns='{NS_CLIENT}'/>"))

    def test_connectionLost(self):
        """
        The end of the connection dispatches STREAM_END_EVENT, once the
        stream is told the connection is gone; nothing is sent after that.
        """
        self.connection.send(OPEN)
        self.connection.lose()
        self.assertEqual(xmlstream.STREAM_END_EVENT, self.connection.events[-1])
        self.connection.xs.send(domish.Element((NS_CLIENT, "message")))
        self.assertEqual([], self.connection.read())

    def test_whitespace(self):
        """
        A whitespace keepalive from the client is ignored; one from the
        server is a WebSocket ping (section 3.8).
        """
        self.connection.send(OPEN)
        self.assertEqual([], self.connection.send(" \n"))
        self.connection.xs.send(" ")
        self.assertEqual([], self.connection.read())
        self.assertEqual(1, self.connection.transport.pings)

    def test_sendStanza(self):
        """
        A stanza built as a child of the stream (no namespace) is sent
        with xmlns='jabber:client', and its children keep theirs; the
        caller's element is left unchanged.
        """
        self.connection.send(OPEN)
        iq = domish.Element((None, "iq"))
        iq["type"] = "result"
        iq.addElement((NS_BIND, "bind")).addElement("jid", content="a@example.com/r")
        self.connection.xs.send(iq)
        [raw] = self.connection.read()
        sent = ET.fromstring(raw)
        self.assertEqual(qname(NS_CLIENT, "iq"), sent.tag)
        self.assertEqual(
            "a@example.com/r", sent.find(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid").text
        )
        self.assertIsNone(iq.uri)
        self.assertIsNone(iq.defaultUri)

    def test_sendNamespacedStanza(self):
        """
        A stanza built in jabber:client declares it too.
        """
        self.connection.send(OPEN)
        message = domish.Element((NS_CLIENT, "message"))
        message.addElement("body", content="hi & bye")
        self.connection.xs.send(message)
        [sent] = [ET.fromstring(m) for m in self.connection.read()]
        self.assertEqual(qname(NS_CLIENT, "message"), sent.tag)
        self.assertEqual("hi & bye", sent.find(qname(NS_CLIENT, "body")).text)

    def test_sendString(self):
        """
        A serialized element is sent as one message, as it is.
        """
        self.connection.send(OPEN)
        self.connection.xs.send(f"<presence xmlns='{NS_CLIENT}'/>")
        self.assertEqual([f"<presence xmlns='{NS_CLIENT}'/>"], self.connection.read())

    def test_transport(self):
        """
        The stream's transport has the client's and server's addresses,
        and its loseConnection closes the WebSocket once.
        """
        transport = self.connection.xs.transport
        self.assertIsInstance(transport, WebSocketStreamTransport)
        self.assertEqual(54321, transport.getPeer().port)
        self.assertEqual(5280, transport.getHost().port)
        transport.loseConnection()
        transport.loseConnection()
        self.assertTrue(self.connection.transport.closed)

    def test_buildProtocol(self):
        """
        Each connection gets its own stream, authenticator and size limit.
        """
        resource = XMPPWebSocketResource(thingAuthenticator, 1000)
        first = resource.buildProtocol(FakeRequest())
        second = resource.buildProtocol(FakeRequest())
        self.assertIsInstance(first, XMPPWebSocketProtocol)
        self.assertIsInstance(first.xmlstream, WebSocketXmlStream)
        self.assertEqual(1000, first.xmlstream.maxStanzaSize)
        self.assertIsNot(first.xmlstream, second.xmlstream)
        self.assertIsNot(
            first.xmlstream.authenticator, second.xmlstream.authenticator
        )

    def test_notWebSocket(self):
        """
        A plain GET, without a WebSocket handshake, gets 400, with or
        without a Host header.
        """
        for headers in ({}, {b"host": b"localhost"}):
            request = DummyRequest([b"xmpp-websocket"])
            request.path = b"/xmpp-websocket"
            for name, value in headers.items():
                request.requestHeaders.setRawHeaders(name, [value])
            resource = XMPPWebSocketResource(thingAuthenticator, 1000)
            body = resource.render_GET(request)
            self.assertEqual(400, request.responseCode)
            self.assertIn(b"Not a WebSocket handshake", body)

    def test_streamRegistry(self):
        """
        Streams join the server's registry, which closes them with a stream
        error when the server stops, and forgets them once they are gone.
        """
        streams = StreamRegistry()
        connection = Connection(thingAuthenticator(), streams=streams)
        self.assertEqual(1, len(streams))
        connection.send(OPEN)
        closed = streams.closeAll()
        error, close = [ET.fromstring(m) for m in connection.read()]
        self.assertEqual("system-shutdown", streamErrorCondition(error))
        self.assertEqual(qname(NS_FRAMING, "close"), close.tag)
        self.assertTrue(connection.transport.closed)
        connection.lose()
        self.successResultOf(closed)
        self.assertEqual(0, len(streams))

    def test_isSecure(self):
        """
        The stream is secure when the HTTP connection is (section 3.9).
        """
        self.assertFalse(self.connection.xs.isSecure())
        secure = Connection(thingAuthenticator(), secure=True)
        self.assertTrue(secure.xs.isSecure())


class NegotiationTests(unittest.TestCase):
    """
    The real SASL and binding steps over WebSocket, with a stream restart
    (RFC 7395 section 3.7).
    """

    def setUp(self):
        self.users = MemoryUserStore()
        self.routed = []
        self.sessions = SessionManager("example.com", self.users)
        self.sessions.router = self
        mechanisms = mechanismFactories(
            self.users.getCredentials,
            "example.com",
            allowPlain=True,
            allowAnonymous=False,
        )
        self.authenticator = C2SAuthenticator(
            "example.com",
            [
                lambda a: SASLStep(a, mechanisms),
                lambda a: BindStep(a, self.sessions),
            ],
        )
        self.connection = Connection(self.authenticator)
        return self.users.createUser("juliet", credentials("secret"))

    def route(self, stanza):
        self.routed.append(stanza)

    def authenticate(self):
        [header, features] = self.connection.sendParsed(OPEN)
        self.assertEqual(
            [qname(NS_SASL, "mechanisms")], [child.tag for child in features]
        )
        token = base64.b64encode(b"\0juliet\0secret").decode("ascii")
        [success] = self.connection.sendParsed(
            f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>"
        )
        self.assertEqual(qname(NS_SASL, "success"), success.tag)

    def test_negotiation(self):
        """
        <open/>, SASL PLAIN, a restart with a new <open/>, binding, then
        stanzas both ways; the end of the connection ends the session.
        """
        self.authenticate()
        [header, features] = self.connection.sendParsed(OPEN)
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        self.assertEqual([qname(NS_BIND, "bind")], [child.tag for child in features])
        [result] = self.connection.sendParsed(
            f"<iq xmlns='{NS_CLIENT}' type='set' id='b1'>"
            f"<bind xmlns='{NS_BIND}'><resource>balcony</resource></bind></iq>"
        )
        self.assertEqual(qname(NS_CLIENT, "iq"), result.tag)
        self.assertEqual("result", result.get("type"))
        jid = result.find(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid").text
        self.assertEqual("juliet@example.com/balcony", jid)

        self.connection.send(
            f"<message xmlns='{NS_CLIENT}' to='romeo@example.com' type='chat'>"
            "<body>hi</body></message>"
        )
        [routed] = self.routed
        self.assertEqual("juliet@example.com/balcony", routed["from"])
        self.assertEqual("hi", str(routed.body))

        [session] = self.sessions.sessionsOf("juliet")
        session.send(routed)
        [echo] = [ET.fromstring(m) for m in self.connection.read()]
        self.assertEqual(qname(NS_CLIENT, "message"), echo.tag)

        self.connection.lose()
        self.assertEqual([], self.sessions.sessionsOf("juliet"))

    def test_restartExpectsOpen(self):
        """
        After SASL success the next message must be a new <open/>.
        """
        self.authenticate()
        [header, error, close] = self.connection.sendParsed(
            f"<iq xmlns='{NS_CLIENT}' type='set' id='b1'><bind xmlns='{NS_BIND}'/></iq>"
        )
        # The restarted stream had no <open/> yet, and an error needs one.
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        self.assertEqual("invalid-namespace", streamErrorCondition(error))
        self.assertEqual(qname(NS_FRAMING, "close"), close.tag)


class WebSocketClient(protocol.Protocol):
    """
    A minimal RFC 6455 client on wsproto that offers given subprotocols.

    @ivar handshake: fires with wsproto's L{AcceptConnection} or
        L{RejectConnection} event.
    @ivar closed: fires when the TCP connection is gone.
    """

    def __init__(self, target, subprotocols):
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.target = target
        self.subprotocols = subprotocols
        self.handshake = defer.Deferred()
        self.closed = defer.Deferred()
        self.rejectBody = b""
        self._text = ""
        self._messages = []
        self._waiting = []

    def connectionMade(self):
        request = Request(
            host="127.0.0.1", target=self.target, subprotocols=self.subprotocols
        )
        self.transport.write(self.ws.send(request))

    def dataReceived(self, data):
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, (AcceptConnection, RejectConnection)):
                self.handshake.callback(event)
            elif isinstance(event, RejectData):
                self.rejectBody += event.data
                if event.body_finished:
                    self.transport.loseConnection()
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    self._messages.append(self._text)
                    self._text = ""
                    self._deliver()
            elif isinstance(event, CloseConnection):
                if self.ws.state != ConnectionState.CLOSED:
                    self.transport.write(self.ws.send(event.response()))
                self.transport.loseConnection()

    def _deliver(self):
        while self._messages and self._waiting:
            self._waiting.pop(0).callback(self._messages.pop(0))

    def sendMessage(self, text):
        self.transport.write(self.ws.send(TextMessage(text)))

    def nextMessage(self):
        """
        @return: a Deferred that fires with the next text message.
        """
        d = defer.Deferred()
        self._waiting.append(d)
        self._deliver()
        return d

    def connectionLost(self, reason):
        self.closed.callback(None)


class ConnectionTracker(policies.WrappingFactory):
    """
    Count the server's connections, so a test can wait for them to close.
    """

    def __init__(self, wrappedFactory):
        policies.WrappingFactory.__init__(self, wrappedFactory)
        self._idle = []

    def unregisterProtocol(self, p):
        policies.WrappingFactory.unregisterProtocol(self, p)
        if not self.protocols:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def allClosed(self):
        """
        @return: a Deferred that fires once no connection is open.
        """
        if not self.protocols:
            return defer.succeed(None)
        d = defer.Deferred()
        self._idle.append(d)
        return d


class EndToEndTests(unittest.TestCase):
    """
    A real loopback socket: the RFC 7395 section 3.1 handshake, then a
    stream opened and closed.
    """

    timeout = 10

    @defer.inlineCallbacks
    def setUp(self):
        root = resource.Resource()
        root.putChild(
            b"xmpp-websocket", XMPPWebSocketResource(thingAuthenticator, 256 * 1024)
        )
        self.site = ConnectionTracker(server.Site(root))
        endpoint = endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1")
        self.port = yield endpoint.listen(self.site)
        self.addCleanup(self.port.stopListening)

    @defer.inlineCallbacks
    def connect(self, subprotocols, port=None):
        endpoint = endpoints.TCP4ClientEndpoint(
            reactor, "127.0.0.1", port or self.port.getHost().port
        )
        client = yield endpoint.connect(
            protocol.Factory.forProtocol(
                lambda: WebSocketClient("/xmpp-websocket", subprotocols)
            )
        )
        handshake = yield client.handshake
        return client, handshake

    @defer.inlineCallbacks
    def test_stream(self):
        """
        The 101 response selects the subprotocol xmpp; <open/> gets <open/>
        and <stream:features/>, and <close/> gets <close/> and the end of
        the connection.
        """
        client, handshake = yield self.connect(["xmpp"])
        self.assertIsInstance(handshake, AcceptConnection)
        self.assertEqual("xmpp", handshake.subprotocol)

        client.sendMessage(OPEN)
        header = ET.fromstring((yield client.nextMessage()))
        features = ET.fromstring((yield client.nextMessage()))
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        self.assertEqual("example.com", header.get("from"))
        self.assertEqual(qname(NS_STREAMS, "features"), features.tag)
        self.assertEqual([qname(NS_THING, "thing")], [c.tag for c in features])

        client.sendMessage(CLOSE)
        close = ET.fromstring((yield client.nextMessage()))
        self.assertEqual(qname(NS_FRAMING, "close"), close.tag)
        yield client.closed
        yield self.site.allClosed()

    @defer.inlineCallbacks
    def test_withoutSubprotocol(self):
        """
        A handshake that does not offer xmpp gets 400 with an explanation.
        """
        client, handshake = yield self.connect([])
        self.assertIsInstance(handshake, RejectConnection)
        self.assertEqual(400, handshake.status_code)
        yield client.closed
        self.assertIn(b"Sec-WebSocket-Protocol: xmpp", client.rejectBody)
        yield self.site.allClosed()

    @defer.inlineCallbacks
    def test_server(self):
        """
        The server's own endpoint: no STARTTLS over WebSocket (section
        3.9), SASL PLAIN, a restart with a new <open/> (section 3.7),
        binding, then <close/>.
        """
        running = yield defer.ensureDeferred(startServer(self))
        account = yield defer.ensureDeferred(running.createAccount())
        client, handshake = yield self.connect(["xmpp"], running.httpPort)
        self.assertEqual("xmpp", handshake.subprotocol)
        domain = running.domain

        client.sendMessage(OPEN.replace("example.com", domain))
        yield client.nextMessage()
        features = ET.fromstring((yield client.nextMessage()))
        offered = [child.tag for child in features]
        self.assertIn(qname(NS_SASL, "mechanisms"), offered)
        self.assertNotIn(qname(NS_TLS, "starttls"), offered)

        token = f"\0{account.username}\0{account.password}".encode("utf-8")
        client.sendMessage(
            f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>"
            f"{base64.b64encode(token).decode('ascii')}</auth>"
        )
        success = ET.fromstring((yield client.nextMessage()))
        self.assertEqual(qname(NS_SASL, "success"), success.tag)

        client.sendMessage(OPEN.replace("example.com", domain))
        header = ET.fromstring((yield client.nextMessage()))
        features = ET.fromstring((yield client.nextMessage()))
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        self.assertIn(qname(NS_BIND, "bind"), [child.tag for child in features])

        client.sendMessage(
            f"<iq xmlns='{NS_CLIENT}' type='set' id='b1'>"
            f"<bind xmlns='{NS_BIND}'><resource>web</resource></bind></iq>"
        )
        result = ET.fromstring((yield client.nextMessage()))
        self.assertEqual("result", result.get("type"))
        self.assertEqual(
            f"{account.username}@{domain}/web",
            result.find(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid").text,
        )

        client.sendMessage(CLOSE)
        close = ET.fromstring((yield client.nextMessage()))
        self.assertEqual(qname(NS_FRAMING, "close"), close.tag)
        yield client.closed
