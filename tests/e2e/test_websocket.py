# -*- test-case-name: tests.e2e.test_websocket -*-
"""
End-to-end tests of XMPP over WebSocket (RFC 7395) against a server
started by L{mepserver.testing.startServer}, driven the way a browser
client such as Converse.js drives it: in-band registration (XEP-0077),
SASL PLAIN, binding, roster (RFC 6121 section 2), ping (XEP-0199),
presence, a chat message and a subscription (RFC 6121 section 3.1).

Every message either side sends is parsed on its own with the standard
library's parser, since RFC 7395 section 3.3.3 makes each message a
standalone, namespace-complete XML document.
"""

import base64
import xml.etree.ElementTree as ET

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.test_c2s import serverNoDelay
from tests.test_websocket import WebSocketClient

NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_REGISTER = "jabber:iq:register"
NS_REGISTER_FEATURE = "http://jabber.org/features/iq-register"
NS_ROSTER = "jabber:iq:roster"
NS_PING = "urn:xmpp:ping"


def qname(uri, name):
    return f"{{{uri}}}{name}"


class XMPPWebSocketSession:
    """
    One client's XMPP stream over a L{WebSocketClient}.

    Each received message is parsed on its own as it arrives and queued,
    so a test can wait for a given element whatever else (presence, roster
    pushes) the server interleaves.

    @ivar errors: received messages that were not a standalone XML
        document, with the parser's error.
    """

    def __init__(self, client, domain):
        self.client = client
        self.domain = domain
        self.errors = []
        self._pending = []
        self._waiting = []
        self._pump()

    def _pump(self):
        self.client.nextMessage().addCallback(self._received)

    def _received(self, text):
        try:
            element = ET.fromstring(text)
        except ET.ParseError as e:
            self.errors.append((text, e))
        else:
            self._pending.append(element)
            self._deliver()
        self._pump()

    def _deliver(self):
        for match, d in list(self._waiting):
            for element in self._pending:
                if match(element):
                    self._pending.remove(element)
                    self._waiting.remove((match, d))
                    d.callback(element)
                    break

    def send(self, text):
        """
        Send one message, checking first that it is a standalone document.
        """
        ET.fromstring(text)
        self.client.sendMessage(text)

    def waitFor(self, match):
        """
        @return: a Deferred firing with the oldest received element, already
            queued or future, for which C{match} is true; it is dequeued.
        """
        d = defer.Deferred()
        self._waiting.append((match, d))
        self._deliver()
        return d

    def next(self):
        """
        @return: a Deferred firing with the oldest unclaimed element.
        """
        return self.waitFor(lambda element: True)

    def iq(self, type, id, payload, to=None):
        """
        Send an IQ and wait for the reply with the same id.
        """
        address = f" to='{to}'" if to else ""
        self.send(
            f"<iq xmlns='{NS_CLIENT}' type='{type}' id='{id}'{address}>"
            f"{payload}</iq>"
        )
        return self.waitFor(
            lambda e: e.tag == qname(NS_CLIENT, "iq") and e.get("id") == id
        )

    def open(self):
        """
        Send <open/> (RFC 7395 section 3.4).

        @return: a Deferred firing with the <open/> and <stream:features/>
            the server answers with.
        """
        self.send(f"<open xmlns='{NS_FRAMING}' to='{self.domain}' version='1.0'/>")
        return defer.gatherResults([self.next(), self.next()])


def tagged(uri, name, **attributes):
    """
    @return: a match for an element with this name and these attributes.
    """

    def match(element):
        return element.tag == qname(uri, name) and all(
            element.get(k) == v for k, v in attributes.items()
        )

    return match


class WebSocketClientTests(unittest.TestCase):
    """
    Two browser-style clients over the server's own WebSocket endpoint.
    """

    timeout = 20

    @defer.inlineCallbacks
    def setUp(self):
        self.running = yield defer.ensureDeferred(startServer(self))
        self.domain = self.running.domain

    @defer.inlineCallbacks
    def connect(self):
        """
        Connect a WebSocket client offering the C{xmpp} subprotocol (RFC
        7395 section 3.1); it is disconnected at cleanup.
        """
        endpoint = endpoints.TCP4ClientEndpoint(
            reactor, "127.0.0.1", self.running.httpPort
        )
        client = yield endpoint.connect(
            protocol.Factory.forProtocol(
                lambda: WebSocketClient("/xmpp-websocket", ["xmpp"])
            )
        )
        self.addCleanup(self.disconnect, client)
        handshake = yield client.handshake
        self.assertEqual("xmpp", handshake.subprotocol)
        session = XMPPWebSocketSession(client, self.domain)
        self.addCleanup(lambda: self.assertEqual([], session.errors))
        return session

    def disconnect(self, client):
        if client.closed.called:
            return None
        client.transport.abortConnection()
        return client.closed

    @defer.inlineCallbacks
    def login(self, session, username, password, resource):
        """
        SASL PLAIN, the restart with a new <open/> (section 3.7) and
        binding.

        @return: the bound full JID.
        """
        token = f"\0{username}\0{password}".encode("utf-8")
        session.send(
            f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>"
            f"{base64.b64encode(token).decode('ascii')}</auth>"
        )
        success = yield session.next()
        self.assertEqual(qname(NS_SASL, "success"), success.tag)

        header, features = yield session.open()
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        self.assertIn(qname(NS_BIND, "bind"), [c.tag for c in features])

        result = yield session.iq(
            "set",
            "bind1",
            f"<bind xmlns='{NS_BIND}'><resource>{resource}</resource></bind>",
        )
        self.assertEqual("result", result.get("type"))
        fullJID = result.find(
            f"{qname(NS_BIND, 'bind')}/{qname(NS_BIND, 'jid')}"
        ).text
        self.assertEqual(f"{username}@{self.domain}/{resource}", fullJID)
        return fullJID

    @defer.inlineCallbacks
    def close(self, session):
        """
        <close/> is answered by <close/> and the end of the connection
        (section 3.6).
        """
        session.send(f"<close xmlns='{NS_FRAMING}'/>")
        yield session.waitFor(tagged(NS_FRAMING, "close"))
        yield session.client.closed

    @defer.inlineCallbacks
    def test_noDelay(self):
        """
        Once upgraded to WebSocket, the HTTP connection still sends each
        write at once (C{TCP_NODELAY}, which C{twisted.web}'s HTTPChannel
        sets), as a client's TCP stream does.
        """
        session = yield self.connect()
        yield session.open()
        self.assertTrue(serverNoDelay(session.client.transport))

    @defer.inlineCallbacks
    def test_browserClient(self):
        """
        Register in-band and log in over WebSocket, get the roster, ping
        the server, exchange a message with a second client, subscribe to
        its presence and close both streams.
        """
        self.assertEqual("localhost", self.domain)
        romeo = yield self.connect()
        header, features = yield romeo.open()
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        self.assertEqual(self.domain, header.get("from"))
        self.assertEqual("1.0", header.get("version"))
        self.assertEqual(qname(NS_STREAMS, "features"), features.tag)
        offered = [c.tag for c in features]
        self.assertNotIn(qname(NS_TLS, "starttls"), offered)
        self.assertIn(qname(NS_REGISTER_FEATURE, "register"), offered)
        mechanisms = features.find(qname(NS_SASL, "mechanisms"))
        self.assertIn(
            "PLAIN", [m.text for m in mechanisms.findall(qname(NS_SASL, "mechanism"))]
        )

        # XEP-0077 section 3.1: fields, then registration.
        form = yield romeo.iq("get", "reg1", f"<query xmlns='{NS_REGISTER}'/>")
        self.assertEqual("result", form.get("type"))
        self.assertIsNotNone(form.find(f"{qname(NS_REGISTER, 'query')}"))
        registered = yield romeo.iq(
            "set",
            "reg2",
            f"<query xmlns='{NS_REGISTER}'><username>romeo</username>"
            "<password>wherefore</password></query>",
        )
        self.assertEqual("result", registered.get("type"))

        romeoJID = yield self.login(romeo, "romeo", "wherefore", "browser")

        roster = yield romeo.iq("get", "roster1", f"<query xmlns='{NS_ROSTER}'/>")
        self.assertEqual("result", roster.get("type"))
        self.assertIsNotNone(roster.find(qname(NS_ROSTER, "query")))

        pong = yield romeo.iq(
            "get", "ping1", f"<ping xmlns='{NS_PING}'/>", to=self.domain
        )
        self.assertEqual("result", pong.get("type"))
        self.assertEqual(self.domain, pong.get("from"))

        romeo.send(f"<presence xmlns='{NS_CLIENT}'/>")

        account = yield defer.ensureDeferred(self.running.createAccount("juliet"))
        juliet = yield self.connect()
        yield juliet.open()
        julietJID = yield self.login(juliet, "juliet", account.password, "balcony")
        juliet.send(f"<presence xmlns='{NS_CLIENT}'/>")
        # Her own available presence comes back: she is online.
        yield juliet.waitFor(
            tagged(NS_CLIENT, "presence", type=None, **{"from": julietJID})
        )

        romeo.send(
            f"<message xmlns='{NS_CLIENT}' to='{julietJID}' type='chat' id='m1'>"
            "<body>Art thou not Romeo?</body></message>"
        )
        message = yield juliet.waitFor(tagged(NS_CLIENT, "message"))
        self.assertEqual(romeoJID, message.get("from"))
        self.assertEqual("chat", message.get("type"))
        self.assertEqual(
            "Art thou not Romeo?", message.find(qname(NS_CLIENT, "body")).text
        )

        # RFC 6121 section 3.1.
        romeo.send(
            f"<presence xmlns='{NS_CLIENT}' to='juliet@{self.domain}' "
            "type='subscribe'/>"
        )
        request = yield juliet.waitFor(
            tagged(NS_CLIENT, "presence", type="subscribe")
        )
        self.assertEqual(f"romeo@{self.domain}", request.get("from"))
        juliet.send(
            f"<presence xmlns='{NS_CLIENT}' to='romeo@{self.domain}' "
            "type='subscribed'/>"
        )

        def rosterPushTo(element):
            if not tagged(NS_CLIENT, "iq", type="set")(element):
                return False
            item = element.find(
                f"{qname(NS_ROSTER, 'query')}/{qname(NS_ROSTER, 'item')}"
            )
            return (
                item is not None
                and item.get("jid") == f"juliet@{self.domain}"
                and item.get("subscription") == "to"
            )

        push = yield romeo.waitFor(rosterPushTo)
        romeo.send(f"<iq xmlns='{NS_CLIENT}' type='result' id='{push.get('id')}'/>")
        presence = yield romeo.waitFor(
            tagged(NS_CLIENT, "presence", type=None, **{"from": julietJID})
        )
        self.assertIsNone(presence.get("type"))

        yield self.close(romeo)
        yield self.close(juliet)
