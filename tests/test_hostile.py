# -*- test-case-name: tests.test_hostile -*-
"""
Hostile input (issue 15): what a client can send to make the server work,
wait or remember without bound, and the limits that stop it (RFC 6120
section 13.12).

Each case runs against a whole server (L{tests.memory.MemoryServer}, no
sockets, a L{task.Clock}) with a healthy client logged in beside the
hostile one. The hostile connection gets the right stream or stanza error,
and a ping from the healthy client still comes back: the barrier that
shows the server carried on serving. Hostile connections are raw: bytes fed
to the server's own protocol objects on a C{StringTransport} with an IP
address, or, for WebSocket, wsproto frames fed to the server's wire
protocol. One case runs over real TCP.
"""

import base64
import struct
import xml.etree.ElementTree as ET

from treq.testing import StubTreq
from twisted.internet import defer, endpoints, protocol, reactor, task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python import failure
from twisted.trial import unittest
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wsproto import ConnectionType
from wsproto.connection import Connection as WebSocketConnection
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from mepserver import errors
from mepserver.api import APIResource
from mepserver.api.resource import APIError, parsePayload
from mepserver.caps import CapsCache
from mepserver.c2s.stream import DEFER_DELAY, DEFER_THRESHOLD, InputThrottle
from mepserver.c2s.websocket import NS_FRAMING, XMPPWireProtocol
from mepserver.stanza import LOG_TEXT_LIMIT
from mepserver.testing import startServer
from tests.memory import MemoryServer
from tests.test_stream import OutputParser, stanzaError, streamError

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_MUC = "http://jabber.org/protocol/muc"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
HEADER = (
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' "
    "to='localhost' version='1.0'>"
)
HOSTILE = "203.0.113.5"
PING = "<iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"


def nested(depth, inner="x"):
    """
    @return: C{depth} elements, each inside the one before, as XML text.
    """
    return "<a>" * depth + inner + "</a>" * depth


class RawClient:
    """
    A hostile client's connection: bytes fed straight to the server's
    C2S protocol, on a C{StringTransport} with an IP address.
    """

    def __init__(self, testCase, memory, address=HOSTILE):
        self.xs = memory.factory.buildProtocol(None)
        self.transport = StringTransport(
            peerAddress=IPv4Address("TCP", address, 40000)
        )
        self.xs.makeConnection(self.transport)
        self.output = OutputParser(self.transport)
        self.lost = False
        testCase.addCleanup(self.lose)

    def send(self, data):
        """
        @return: the elements the server sent in reply.
        """
        self.xs.dataReceived(data.encode("utf-8") if isinstance(data, str) else data)
        return self.output.read()

    def login(self, username, password="secret", resource="hostile"):
        """
        SASL PLAIN and resource binding (the memory store answers at once).
        """
        self.send(HEADER)
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        [success] = self.send(
            f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>"
        )
        assert success.name == "success", success.toXml()
        self.send(HEADER)
        [bound] = self.send(
            f"<iq type='set' id='bind'><bind xmlns='{NS_BIND}'>"
            f"<resource>{resource}</resource></bind></iq>"
        )
        assert bound["type"] == "result", bound.toXml()

    def lose(self):
        """
        The connection is gone (a C{StringTransport} never says so itself).
        """
        if not self.lost:
            self.lost = True
            self.xs.connectionLost(failure.Failure(ConnectionDone()))


class FakeUpgradeRequest:
    """
    What L{XMPPWebSocketResource.buildProtocol} reads of an upgrade request.
    """

    def __init__(self, address):
        self.address = address

    def isSecure(self):
        return False

    def getClientAddress(self):
        return IPv4Address("TCP", self.address, 40001)

    def getHost(self):
        return IPv4Address("TCP", "127.0.0.1", 5280)


class RawWebSocketClient:
    """
    A hostile WebSocket client: frames fed to the server's
    L{XMPPWireProtocol} (after the HTTP upgrade) on a C{StringTransport}.
    """

    def __init__(self, testCase, memory, address=HOSTILE):
        root = [site for _, site in memory.server.listeners if hasattr(site, "resource")]
        resource = root[0].resource.children[b"xmpp-websocket"]
        self.webSocket = resource.buildProtocol(FakeUpgradeRequest(address))
        self.xs = self.webSocket.xmlstream
        self.wire = XMPPWireProtocol(
            WebSocketConnection(ConnectionType.SERVER),
            lambda connection, transport: None,
            self.webSocket,
        )
        self.transport = StringTransport()
        self.wire.makeConnection(self.transport)
        self.webSocket.negotiationFinished()
        self.client = WebSocketConnection(ConnectionType.CLIENT)
        self.closed = False
        self.lost = False
        testCase.addCleanup(self.lose)

    def sendRaw(self, data):
        self.wire.dataReceived(data)
        return self.read()

    def send(self, text, last=True):
        """
        Send (part of) a text message.

        @return: the server's text messages since the last call, each
            parsed on its own.
        """
        return self.sendRaw(self.client.send(TextMessage(text, message_finished=last)))

    def read(self):
        self.client.receive_data(self.transport.value())
        self.transport.clear()
        messages = []
        for event in self.client.events():
            if isinstance(event, TextMessage):
                messages.append(ET.fromstring(event.data))
            elif isinstance(event, CloseConnection):
                self.closed = True
        return messages

    def lose(self):
        if not self.lost:
            self.lost = True
            self.webSocket.connectionLost(failure.Failure(ConnectionDone()))


def captureLog(testCase):
    """
    @return: a list that gets each log line, formatted, until the test ends.
    """
    lines = []

    def observer(event):
        lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observer)
    testCase.addCleanup(globalLogPublisher.removeObserver, observer)
    return lines


def streamErrorCondition(element):
    """
    @return: the condition of a stream error parsed by ElementTree.
    """
    for child in element:
        if child.tag.startswith("{%s}" % NS_STREAM_ERRORS) and not child.tag.endswith(
            "}text"
        ):
            return child.tag.split("}")[1]


class HostileTestsMixin:
    """
    A server with a healthy client, alice, logged in, and an account, bob,
    for the hostile client.
    """

    settings: dict = {}

    def setUp(self):
        self.memory = MemoryServer(self, **self.settings)
        self.memory.createAccount("alice")
        self.memory.createAccount("bob")
        self.healthy = self.memory.connect("alice", "healthy")

    def assertServed(self):
        """
        The barrier: the healthy client's ping is answered, and it
        received nothing else.
        """
        self.healthy.take()
        self.healthy.send(PING)
        self.healthy.expect(self, "<iq type='result' id='barrier' from='localhost'/>")

    def assertStreamError(self, client, elements, condition, text):
        """
        The last element is a stream error with the condition and a text
        that says C{text}; the stream is closed.
        """
        self.assertEqual(condition, streamError(elements[-1]), elements[-1].toXml())
        self.assertIn(text, str(elements[-1].text))
        self.assertTrue(client.output.closed)
        self.assertTrue(client.transport.disconnecting)


class DepthTests(HostileTestsMixin, unittest.TestCase):
    """
    Elements nested too deeply are refused while they are parsed, on every
    way in, with C{policy-violation} and a text; nothing deep reaches the
    serialiser.
    """

    def test_deepestAllowed(self):
        """
        A stanza whose elements nest exactly C{max_depth} (64) levels below
        it is delivered, and serialised for its recipient.
        """
        bob = RawClient(self, self.memory)
        bob.login("bob")
        self.healthy.take()
        # <message> / <body> is level 1, 63 <a> inside it.
        bob.send(
            "<message to='alice@localhost/healthy' type='chat' id='deep'>"
            f"<body>{nested(63)}</body></message>"
        )
        self.memory.flush()
        [message] = self.healthy.take()
        self.assertEqual("deep", message["id"])
        element, depth = message.body, 1
        while element.firstChildElement() is not None:
            element, depth = element.firstChildElement(), depth + 1
        self.assertEqual(64, depth)
        self.assertFalse(bob.transport.disconnecting)

    def test_oneLevelTooDeep(self):
        """
        One level more closes the stream with policy-violation, saying
        the limit, and the recipient gets nothing.
        """
        bob = RawClient(self, self.memory)
        bob.login("bob")
        output = bob.send(
            "<message to='alice@localhost/healthy' type='chat'>"
            f"<body>{nested(64)}</body></message>"
        )
        self.assertStreamError(
            bob, output, "policy-violation", "more than 64 levels below the stanza"
        )
        self.assertServed()

    def test_deepStanzas(self):
        """
        The issue's cases, about 1000 levels in 7 KB: an IQ (it got no
        answer) and a groupchat message (dropped silently) now close the
        stream with policy-violation as soon as the limit is passed.
        """
        self.healthy.send(
            f"<presence to='room@conference.localhost/alice'><x xmlns='{NS_MUC}'/></presence>"
        )
        for index, stanza in enumerate([
            f"<iq type='set' id='deep' to='localhost'><query xmlns='jabber:iq:private'>"
            f"{nested(1000)}</query></iq>",
            f"<message to='room@conference.localhost' type='groupchat'>{nested(1000)}</message>",
        ]):
            bob = RawClient(self, self.memory)
            bob.login("bob", resource=f"deep{index}")
            output = bob.send(stanza)
            self.assertStreamError(bob, output, "policy-violation", "64 levels")
            self.assertServed()

    def test_beforeAuthentication(self):
        """
        The limit holds from the first byte: a deep element instead of
        SASL is refused alike.
        """
        hostile = RawClient(self, self.memory)
        hostile.send(HEADER)
        output = hostile.send(nested(100))
        self.assertStreamError(hostile, output, "policy-violation", "64 levels")
        self.assertServed()

    def test_webSocket(self):
        """
        Over WebSocket the message's element is the stanza: one level too
        deep below it gets policy-violation too.
        """
        hostile = RawWebSocketClient(self, self.memory)
        hostile.send(f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>")
        [error, close] = hostile.send(
            f"<message xmlns='jabber:client'>{nested(65)}</message>"
        )
        self.assertEqual("policy-violation", streamErrorCondition(error))
        self.assertEqual("{%s}close" % NS_FRAMING, close.tag)
        self.assertTrue(hostile.closed)
        self.assertServed()

    def test_httpPayload(self):
        """
        An HTTP API payload nested too deeply is 400 bad-payload saying
        so (it was 500 once serialising it hit the recursion limit);
        nothing is published.
        """
        self.healthy.send(
            f"<presence to='lobby@conference.localhost/alice'><x xmlns='{NS_MUC}'/></presence>"
        )
        treq = StubTreq(APIResource(self.memory.server))
        # The payload's root is level 0, as a stanza is.
        for body in [nested(66), nested(1000)]:
            response = self.successResultOf(
                treq.post(
                    "http://localhost/rooms/lobby/nodes/urn%3Aexample/items",
                    data=body.replace("<a>", "<a xmlns='urn:example'>", 1).encode(),
                    headers={"Content-Type": ["application/xml"]},
                )
            )
            self.assertEqual(400, response.code)
            answer = self.successResultOf(response.json())
            self.assertEqual("bad-payload", answer["error"])
            self.assertIn("nests too deeply", answer["message"])
        response = self.successResultOf(
            treq.get("http://localhost/rooms/lobby/nodes")
        )
        self.assertEqual([], self.successResultOf(response.json())["nodes"])
        self.assertServed()


class SizeTests(HostileTestsMixin, unittest.TestCase):
    """
    The stanza size limit acts while the bytes arrive, and no buffering on
    the way grows in time with the square of the input.
    """

    settings = {"maxStanzaSize": 4096}

    def frameHeader(self, length):
        """
        A masked text frame's header declaring C{length} bytes of payload,
        with a zero mask, so that the payload goes as it is.
        """
        return b"\x81\xff" + struct.pack("!Q", length) + b"\0\0\0\0"

    def test_tcpStanzaAfterAnotherInOneRead(self):
        """
        A stanza counts from its own start, even when it begins in the
        same read as another ends (Twisted counted from 0 after that read).
        """
        bob = RawClient(self, self.memory)
        bob.login("bob")
        output = bob.send("<presence/><message><body>" + "x" * 5000)
        self.assertStreamError(bob, output, "policy-violation", "4096 bytes")
        self.assertServed()

    def test_keepalivesDoNotAddUp(self):
        """
        Whitespace keepalives between stanzas count towards no stanza: a
        bound client may send them for ever.
        """
        bob = RawClient(self, self.memory)
        bob.login("bob")
        for _ in range(10):
            self.assertEqual([], bob.send(" " * 1000))
        [pong] = bob.send(PING)
        self.assertEqual("result", pong["type"])
        self.assertFalse(bob.transport.disconnecting)

    def test_webSocketMessageRefusedWhileArriving(self):
        """
        A message declaring 160 MiB is refused with policy-violation once
        its first 4 KiB (the limit here) have arrived; what follows is not
        read, and nothing of the message is kept.
        """
        hostile = RawWebSocketClient(self, self.memory)
        hostile.send(f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>")
        self.assertEqual([], hostile.sendRaw(self.frameHeader(160 * 2**20) + b"<message>"))
        self.assertEqual([], hostile.sendRaw(b"x" * 4000))
        [error, close] = hostile.sendRaw(b"x" * 1000)
        self.assertEqual("policy-violation", streamErrorCondition(error))
        self.assertIn("4096 bytes", error.findtext(f"{{{NS_STREAM_ERRORS}}}text"))
        self.assertTrue(hostile.closed)
        self.assertTrue(hostile.transport.disconnecting)
        self.assertIsNone(hostile.xs._fragments)
        self.assertEqual([], hostile.sendRaw(b"x" * 100000))
        self.assertServed()

    def test_webSocketFragmentsCountTogether(self):
        """
        A message sent as many frames counts as one: the limit acts on the
        frame that passes it, before the message ends.
        """
        hostile = RawWebSocketClient(self, self.memory)
        hostile.send(f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>")
        for _ in range(4):
            self.assertEqual([], hostile.send("<a>" + "x" * 1000, last=False))
        [error, close] = hostile.send("x" * 200, last=False)
        self.assertEqual("policy-violation", streamErrorCondition(error))
        self.assertServed()

    def test_webSocketBinaryRefusedAtOnce(self):
        """
        A binary message is refused (RFC 7395 section 3.2) at its first
        frame, without waiting for the rest.
        """
        hostile = RawWebSocketClient(self, self.memory)
        hostile.send(f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>")
        [error, close] = hostile.sendRaw(
            hostile.client.send(BytesMessage(b"\0" * 100, message_finished=False))
        )
        self.assertEqual("bad-format", streamErrorCondition(error))
        self.assertServed()

    def test_tcpStanzaTooLarge(self):
        """
        Over TCP alike: policy-violation once a stanza passes the limit,
        though it never ends.
        """
        hostile = RawClient(self, self.memory)
        hostile.send(HEADER)
        self.assertEqual([], hostile.send("<message><body>" + "x" * 3000))
        output = hostile.send("x" * 2000)
        self.assertStreamError(hostile, output, "policy-violation", "4096 bytes")
        self.assertServed()

class ParsingWorkTests(HostileTestsMixin, unittest.TestCase):
    """
    The work of parsing stays in proportion to the input.
    """

    def test_startTagTrickled(self):
        """
        A start tag sent a few bytes at a time is not parsed again and
        again: past L{DEFER_THRESHOLD} bytes, input waits until as much
        again arrived (Expat scans the unfinished tag on each parse call),
        and the tag's end goes through after L{DEFER_DELAY} at most.
        """
        bob = RawClient(self, self.memory)
        bob.login("bob")
        calls = []
        parse = bob.xs.stream.parse
        bob.xs.stream.parse = lambda data: (calls.append(len(data)), parse(data))
        bob.send("<message to='alice@localhost/healthy' type='chat' id='trickled' x='")
        for _ in range(1000):
            bob.send("y" * 16)
        # Parsed piece by piece up to 4 KiB, then each time the input
        # doubled: 16000 bytes take a few more than 4096 / 16 parse calls,
        # not 1000.
        self.assertLessEqual(len(calls), DEFER_THRESHOLD // 16 + 5)
        self.healthy.take()
        bob.send("'><body>hi</body></message>")
        self.memory.clock.advance(DEFER_DELAY)
        self.memory.flush()
        [message] = self.healthy.take()
        self.assertEqual("trickled", message["id"])
        self.assertEqual(16000, len(message["x"]))
        self.assertFalse(bob.transport.disconnecting)
        self.assertServed()


class NegotiationDeadlineTests(HostileTestsMixin, unittest.TestCase):
    """
    RFC 6120 section 4.9.3.4: a connection that has not logged in and
    bound a resource within C{negotiation_timeout} is closed with
    C{connection-timeout}, however much it trickles.
    """

    settings = {"negotiationTimeout": 30, "idleTimeout": 10}

    def test_trickleDoesNotHoldTheConnection(self):
        """
        A byte every 3 seconds keeps resetting the idle timer (10 s here),
        but not the deadline: at 30 s the stream is closed.
        """
        hostile = RawClient(self, self.memory)
        hostile.send(HEADER)
        for _ in range(9):
            self.memory.clock.advance(3)
            self.assertEqual([], hostile.send(" "))
        self.memory.clock.advance(3)
        [error] = hostile.output.read()
        self.assertEqual("connection-timeout", streamError(error))
        self.assertIn("within 30 seconds", str(error.text))
        self.assertTrue(hostile.transport.disconnecting)
        self.assertServed()

    def test_boundStreamsStay(self):
        """
        A client that logged in in time keeps its connection past the
        deadline (as the healthy one does): binding stopped the timer.
        """
        bob = RawClient(self, self.memory)
        bob.login("bob")
        self.assertNotIn(
            bob.xs._negotiationExpired,
            [call.func for call in self.memory.clock.getDelayedCalls()],
        )
        for _ in range(5):
            self.memory.clock.advance(9)
            bob.send(" ")
        self.assertFalse(bob.transport.disconnecting)
        self.assertServed()

    def test_timersGoWithTheConnection(self):
        """
        The deadline is cancelled with the connection.
        """
        hostile = RawClient(self, self.memory)
        pending = len(self.memory.clock.getDelayedCalls())
        hostile.lose()
        self.assertEqual(pending - 2, len(self.memory.clock.getDelayedCalls()))


class PerAddressTests(HostileTestsMixin, unittest.TestCase):
    """
    At most C{max_unauthenticated_per_address} connections from one IP
    address may be open and not yet logged in; past it a new one is
    refused at once with C{policy-violation}, as ejabberd's mod_fail2ban
    refuses an address.
    """

    settings = {"maxUnauthenticatedPerAddress": 2}

    def test_refusedPastTheLimit(self):
        """
        The third connection from one address is refused on connecting,
        TCP and WebSocket alike; another address is not.
        """
        RawClient(self, self.memory)
        RawWebSocketClient(self, self.memory)
        third = RawClient(self, self.memory)
        output = third.output.read()
        self.assertStreamError(third, output, "policy-violation", HOSTILE)
        webSocket = RawWebSocketClient(self, self.memory)
        [header, error, close] = webSocket.read()
        self.assertEqual("policy-violation", streamErrorCondition(error))
        other = RawClient(self, self.memory, address="198.51.100.9")
        self.assertEqual([], other.output.read())
        self.assertFalse(other.transport.disconnecting)
        self.assertServed()

    def test_loginOrCloseFreesAPlace(self):
        """
        A connection counts until it binds a resource or closes.
        """
        first = RawClient(self, self.memory)
        second = RawClient(self, self.memory)
        first.login("bob")
        third = RawClient(self, self.memory)
        self.assertFalse(third.transport.disconnecting)
        second.lose()
        fourth = RawClient(self, self.memory)
        self.assertFalse(fourth.transport.disconnecting)
        self.assertEqual(2, self.memory.server.streams.unauthenticated(HOSTILE))
        self.assertTrue(RawClient(self, self.memory).transport.disconnecting)
        self.assertServed()


class RateLimitTests(HostileTestsMixin, unittest.TestCase):
    """
    A byte rate per connection, as Prosody's mod_limits: over it, reading
    pauses until the rate has caught up; nothing is refused or dropped.
    """

    settings = {"rateLimit": 1000, "rateBurst": 2}

    def test_pausedThenResumed(self):
        """
        Past its burst, a client's reading pauses for as long as the rate
        needs to pay for the excess; what it sent is still delivered, and
        it is not disconnected. The healthy client is served meanwhile.
        """
        bob = RawClient(self, self.memory)
        bob.login("bob")
        self.healthy.take()
        self.assertEqual("producing", bob.transport.producerState)
        bob.send(
            "<message to='alice@localhost/healthy' type='chat' id='big'>"
            f"<body>{'x' * 3000}</body></message>"
        )
        self.assertEqual("paused", bob.transport.producerState)
        self.memory.flush()
        [message] = self.healthy.take()
        self.assertEqual("big", message["id"])
        self.assertServed()
        self.memory.clock.advance(1)
        self.assertEqual("paused", bob.transport.producerState)
        self.memory.clock.advance(2)
        self.assertEqual("producing", bob.transport.producerState)
        self.assertFalse(bob.transport.disconnecting)
        [pong] = bob.send(PING)
        self.assertEqual("result", pong["type"])

    def test_webSocket(self):
        """
        Over WebSocket, the TCP connection under it pauses.
        """
        hostile = RawWebSocketClient(self, self.memory)
        hostile.send(f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>")
        hostile.send(" " * 2500)
        self.assertEqual("paused", hostile.transport.producerState)
        self.memory.clock.advance(1)
        self.assertEqual("producing", hostile.transport.producerState)
        self.assertFalse(hostile.closed)
        self.assertServed()


class InputThrottleTests(unittest.SynchronousTestCase):
    """
    L{InputThrottle}, the token bucket behind the rate limit.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.throttle = InputThrottle(self.clock, 100, 2)
        self.transport = StringTransport()

    def test_burst(self):
        """
        Up to C{burst} seconds of the rate at once is not paused; time
        refills the bucket.
        """
        self.throttle.received(200, self.transport)
        self.assertEqual("producing", self.transport.producerState)
        self.clock.advance(1)
        self.throttle.received(100, self.transport)
        self.assertEqual("producing", self.transport.producerState)
        self.assertFalse(self.throttle.paused)

    def test_moreWhilePaused(self):
        """
        Bytes that still arrive while paused (read before the pause took
        effect) lengthen the pause.
        """
        self.throttle.received(250, self.transport)
        self.assertEqual("paused", self.transport.producerState)
        self.throttle.received(100, self.transport)
        self.clock.advance(0.5)
        self.assertEqual("paused", self.transport.producerState)
        self.clock.advance(1)
        self.assertEqual("producing", self.transport.producerState)

    def test_stop(self):
        """
        L{InputThrottle.stop} cancels the pending resumption.
        """
        self.throttle.received(1000, self.transport)
        self.throttle.stop()
        self.assertEqual([], self.clock.getDelayedCalls())


class PayloadDepthTests(unittest.SynchronousTestCase):
    """
    L{parsePayload} with a depth limit.
    """

    def test_boundary(self):
        """
        C{maxDepth} levels below the payload's root are accepted, one more
        is 400 C{bad-payload}.
        """
        self.assertEqual("a", parsePayload(nested(4).encode(), maxDepth=3).name)
        error = self.assertRaises(
            APIError, parsePayload, nested(5).encode(), maxDepth=3
        )
        self.assertEqual((400, "bad-payload"), (error.status, error.code))


class JIDCacheTests(HostileTestsMixin, unittest.TestCase):
    """
    Addressing ever new JIDs does not grow the server's memory: Twisted's
    JID intern cache is bounded (L{mepserver.jids.BoundedJIDCache}).
    """

    def test_manyAddresses(self):
        """
        IQs to 600 distinct JIDs (users, resources, rooms and occupants,
        other domains: through the router, the sessions, the MUC service
        and wokkel's handlers) each get their error, and the cache holds no
        more than its bound.
        """
        cache = vars(jid)["__internJIDs"]
        self.patch(cache, "maxSize", 100)
        bob = RawClient(self, self.memory)
        bob.login("bob")
        conditions = []
        for i in range(120):
            for to, condition in [
                (f"nobody{i}@localhost/r{i}", "service-unavailable"),
                (f"alice@localhost/gone{i}", "service-unavailable"),
                (f"room{i}@conference.localhost", "item-not-found"),
                (f"room{i}@conference.localhost/nick{i}", "bad-request"),
                (f"host{i}.example", "remote-server-not-found"),
            ]:
                [answer] = bob.send(
                    f"<iq type='get' id='q{i}' to='{to}'>"
                    "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
                )
                self.assertEqual(to, answer["from"])
                conditions.append((condition, stanzaError(answer)))
        self.assertEqual(600, len(conditions))
        self.assertEqual([], [pair for pair in conditions if pair[0] != pair[1]])
        self.assertLessEqual(len(cache), 100)
        self.assertNotIn("nobody0@localhost/r0", cache)
        self.assertServed()


class LogTests(HostileTestsMixin, unittest.TestCase):
    """
    What a client sends reaches the log truncated: the log cannot grow
    faster than the client sends.
    """

    def test_streamError(self):
        """
        A 100 KB element name before logging in gets not-authorized with
        the name in its text; the log line of the stream error is short.
        """
        lines = captureLog(self)
        hostile = RawClient(self, self.memory)
        hostile.send(HEADER)
        output = hostile.send(f"<{'n' * 100000}/>")
        self.assertStreamError(hostile, output, "not-authorized", "n" * 1000)
        [line] = [line for line in lines if "Stream error" in line]
        self.assertLess(len(line), LOG_TEXT_LIMIT + 200)
        self.assertIn("more characters", line)
        self.assertServed()

    def test_failedIQ(self):
        """
        An IQ whose processing failed is logged truncated.
        """
        lines = captureLog(self)
        iq = domish.Element(("jabber:client", "iq"))
        iq["type"], iq["id"] = "get", "big"
        iq.addElement("query", content="z" * 100000)
        answer = self.successResultOf(
            errors.answerIQ(iq, defer.fail(RuntimeError("boom")))
        )
        self.assertEqual("internal-server-error", stanzaError(answer))
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))
        [line] = [line for line in lines if line.startswith("Processing")]
        self.assertLess(len(line), LOG_TEXT_LIMIT + 200)


class LogCapsTests(unittest.SynchronousTestCase):
    """
    The caps cache logs what a client answered, truncated.
    """

    def test_queryFailed(self):
        """
        The text of a client's error answer to a caps query is cut.
        """
        lines = captureLog(self)
        CapsCache._queryFailed(
            failure.Failure(RuntimeError("w" * 100000)), jid.JID("a@localhost/r")
        )
        [line] = [line for line in lines if "Caps disco#info" in line]
        self.assertLess(len(line), LOG_TEXT_LIMIT + 200)


class RealTCPTests(unittest.TestCase):
    """
    The WebSocket case over real sockets, against the server of
    L{mepserver.testing}: a message declaring 160 MiB is refused once it
    passes the size limit, and a client logged in meanwhile is served.
    """

    timeout = 20

    @defer.inlineCallbacks
    def test_webSocketOversized(self):
        from tests.test_websocket import WebSocketClient

        running = yield defer.ensureDeferred(startServer(self, maxStanzaSize=4096))
        account = yield defer.ensureDeferred(running.createAccount())
        healthy = yield running.connectClient(account)
        endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", running.httpPort)
        client = yield endpoint.connect(
            protocol.Factory.forProtocol(
                lambda: WebSocketClient("/xmpp-websocket", ["xmpp"])
            )
        )
        yield client.handshake
        client.sendMessage(f"<open xmlns='{NS_FRAMING}' to='{running.domain}' version='1.0'/>")
        yield client.nextMessage()
        yield client.nextMessage()
        # Exactly one byte past the limit: the server reads all of it, so
        # it closes with FIN and the client gets the error before the end.
        client.transport.write(
            b"\x81\xff" + struct.pack("!Q", 160 * 2**20) + b"\0\0\0\0"
            + b"<message>" + b"x" * (4097 - len(b"<message>"))
        )
        error = ET.fromstring((yield client.nextMessage()))
        self.assertEqual("policy-violation", streamErrorCondition(error))
        close = ET.fromstring((yield client.nextMessage()))
        self.assertEqual("{%s}close" % NS_FRAMING, close.tag)
        yield client.closed
        result = yield healthy.ping()
        self.assertEqual("result", result["type"])
