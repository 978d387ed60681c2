# -*- test-case-name: tests.e2e.test_mep_websocket -*-
"""
End-to-end MUC Eventing Protocol (XEP-0316) for a browser client: two
clients that behave as Converse.js 14 does (DESIGN.md section 6) log in
over XMPP over WebSocket (RFC 7395), join a room with entity capabilities
(XEP-0115) advertising C{urn:ietf:params:xml:ns:conference-info+notify},
and receive the room events injected through the HTTP API.

Every message the server sends is parsed on its own with the standard
library's parser (RFC 7395 section 3.3.3).
"""

import xml.etree.ElementTree as ET
from urllib.parse import quote

import treq
from twisted.internet import defer, endpoints, protocol, reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from mepserver.caps import computeVer
from mepserver.testing import startServer
from tests.e2e.mepclient import conferenceInfo
from tests.e2e.test_websocket import XMPPWebSocketSession, qname, tagged
from tests.test_websocket import WebSocketClient

NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
NS_CLIENT = "jabber:client"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_EVENT = "http://jabber.org/protocol/pubsub#event"
NS_DELAY = "urn:xmpp:delay"
NS_ACTIVITY = "http://jabber.org/protocol/activity"
NS_CONFERENCE_INFO = "urn:ietf:params:xml:ns:conference-info"

#: How long any single wait may take, in seconds.
WAIT = 5

#: Converse.js's caps (XEP-0115 section 5.1): its identity and, among its
#: features, the one that asks for room events (DESIGN.md section 6).
CONVERSE_NODE = "https://conversejs.org"
CONVERSE_IDENTITY = ("client", "web", "", "Converse")
CONVERSE_FEATURES = [
    NS_DISCO_INFO,
    NS_CAPS,
    NS_MUC,
    NS_CONFERENCE_INFO + "+notify",
]
CONVERSE_VER = computeVer([CONVERSE_IDENTITY], CONVERSE_FEATURES)


def describe(elements):
    return "\n".join(ET.tostring(e, encoding="unicode") for e in elements[-15:])


class ConverseSession(XMPPWebSocketSession):
    """
    An L{XMPPWebSocketSession} that behaves as Converse.js does: it answers
    every disco#info query with its caps (XEP-0115 section 6.2), and every
    wait has a short timeout.

    @ivar received: every element received, in order.
    @ivar discoQueries: the disco#info queries received, in order.
    """

    def __init__(self, client, domain):
        self.received = []
        self.discoQueries = []
        super().__init__(client, domain)

    def _received(self, text):
        try:
            element = ET.fromstring(text)
        except ET.ParseError as e:
            self.errors.append((text, e))
        else:
            self.received.append(element)
            query = element.find(qname(NS_DISCO_INFO, "query"))
            if tagged(NS_CLIENT, "iq", type="get")(element) and query is not None:
                self.discoQueries.append(element)
                self.answerDisco(element, query)
            self._pending.append(element)
            self._deliver()
        self._pump()

    def answerDisco(self, iq, query):
        node = query.get("node")
        nodeAttribute = f" node='{node}'" if node else ""
        category, type_, _, name = CONVERSE_IDENTITY
        features = "".join(f"<feature var='{var}'/>" for var in CONVERSE_FEATURES)
        self.send(
            f"<iq xmlns='{NS_CLIENT}' type='result' id='{iq.get('id')}' "
            f"to='{iq.get('from')}'>"
            f"<query xmlns='{NS_DISCO_INFO}'{nodeAttribute}>"
            f"<identity category='{category}' type='{type_}' name='{name}'/>"
            f"{features}</query></iq>"
        )

    def waitFor(self, match, timeout=WAIT):
        def cancel(d):
            self._waiting.remove(entry)

        def timedOut(reason):
            reason.trap(defer.TimeoutError)
            raise AssertionError(
                f"nothing matching within {timeout}s; last received:\n"
                + describe(self.received)
            )

        d = defer.Deferred(cancel)
        entry = (match, d)
        self._waiting.append(entry)
        self._deliver()
        if not d.called:
            d.addTimeout(timeout, reactor)
            d.addErrback(timedOut)
        return d


def isRoomEvent(roomJID):
    """
    @return: a match for a conference-info event from the bare room JID.
    """

    def match(element):
        if not tagged(NS_CLIENT, "message", **{"from": roomJID})(element):
            return False
        items = element.find(f"{qname(NS_EVENT, 'event')}/{qname(NS_EVENT, 'items')}")
        return items is not None and items.get("node") == NS_CONFERENCE_INFO

    return match


class ConverseRoomEventTests(unittest.TestCase):
    """
    Room events reach WebSocket clients that join as Converse.js 14 does.
    """

    timeout = 30

    async def connect(self):
        """
        Connect a WebSocket client offering the C{xmpp} subprotocol (RFC
        7395 section 3.1) and open the stream; it is disconnected at cleanup.
        """
        endpoint = endpoints.TCP4ClientEndpoint(
            reactor, "127.0.0.1", self.running.httpPort
        )
        client = await endpoint.connect(
            protocol.Factory.forProtocol(
                lambda: WebSocketClient("/xmpp-websocket", ["xmpp"])
            )
        )
        self.addCleanup(self.disconnect, client)
        handshake = await client.handshake.addTimeout(WAIT, reactor)
        self.assertEqual("xmpp", handshake.subprotocol)
        session = ConverseSession(client, self.running.domain)
        self.addCleanup(lambda: self.assertEqual([], session.errors))
        await session.open()
        return session

    def disconnect(self, client):
        if client.closed.called:
            return None
        client.transport.abortConnection()
        return client.closed

    async def login(self, account, resource):
        """
        SASL PLAIN, the restart (RFC 7395 section 3.7), binding, then
        initial presence.

        The initial presence carries no caps, so that the first query about
        the ver is the room's: with caps here the server's PEP service
        asks first and the room then trusts its global cache (R38).

        @return: the L{ConverseSession} and its bound full JID.
        """
        import base64

        session = await self.connect()
        token = f"\0{account.jid.user}\0{account.password}".encode("utf-8")
        session.send(
            f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>"
            f"{base64.b64encode(token).decode('ascii')}</auth>"
        )
        success = await session.next()
        self.assertEqual(qname(NS_SASL, "success"), success.tag)
        header, features = await session.open()
        self.assertIn(qname(NS_BIND, "bind"), [c.tag for c in features])
        result = await session.iq(
            "set", "bind1",
            f"<bind xmlns='{NS_BIND}'><resource>{resource}</resource></bind>",
        )
        self.assertEqual("result", result.get("type"))
        fullJID = result.find(f"{qname(NS_BIND, 'bind')}/{qname(NS_BIND, 'jid')}").text
        session.send(f"<presence xmlns='{NS_CLIENT}'/>")
        await session.waitFor(
            tagged(NS_CLIENT, "presence", type=None, **{"from": fullJID})
        )
        return session, fullJID

    def caps(self):
        return (
            f"<c xmlns='{NS_CAPS}' hash='sha-1' node='{CONVERSE_NODE}' "
            f"ver='{CONVERSE_VER}'/>"
        )

    async def join(self, session, nick):
        """
        Join the room with caps; wait for the self-presence with status
        110 and then the subject (XEP-0045 section 7.2).

        @return: the subject message.
        """
        occupant = f"{self.roomJID}/{nick}"
        session.send(
            f"<presence xmlns='{NS_CLIENT}' to='{occupant}'>"
            f"<x xmlns='{NS_MUC}'/>{self.caps()}</presence>"
        )

        def isSelfPresence(element):
            if not tagged(NS_CLIENT, "presence", **{"from": occupant})(element):
                return False
            codes = element.findall(
                f"{qname(NS_MUC_USER, 'x')}/{qname(NS_MUC_USER, 'status')}"
            )
            return "110" in [c.get("code") for c in codes]

        selfPresence = await session.waitFor(isSelfPresence)
        self.assertIsNone(selfPresence.get("type"))
        subject = await session.waitFor(
            lambda e: tagged(NS_CLIENT, "message", type="groupchat",
                             **{"from": self.roomJID})(e)
            and e.find(qname(NS_CLIENT, "subject")) is not None
        )
        return subject

    async def roundTrip(self, session, id):
        """
        Query the room's disco#info, as Converse.js does after joining; its
        answer shows the room has handled what the client sent before.
        """
        result = await session.iq(
            "get", id, f"<query xmlns='{NS_DISCO_INFO}'/>", to=self.roomJID
        )
        self.assertEqual("result", result.get("type"), describe([result]))

    async def inject(self, text):
        """
        POST a room event to the HTTP API (DESIGN.md sections 6 and 7).

        @return: the response body.
        """
        url = (
            self.running.apiURL
            + "rooms/lobby/nodes/"
            + quote(NS_CONFERENCE_INFO, safe="")
            + "/items"
        )
        self.assertEqual(
            "urn%3Aietf%3Aparams%3Axml%3Ans%3Aconference-info", url.split("/")[-2]
        )
        response = await treq.post(
            url,
            data=conferenceInfo(text).encode("utf-8"),
            headers={"Content-Type": ["application/xml"]},
            pool=self.pool,
        ).addTimeout(WAIT, reactor)
        body = (await response.content()).decode("utf-8", "replace")
        self.assertTrue(200 <= response.code < 300, (response.code, body))
        return body

    def assertRoomEvent(self, message, text):
        """
        A headline from the bare room JID with its own id and one item
        holding the conference-info payload (DESIGN.md section 6).

        @return: the item id.
        """
        self.assertEqual("headline", message.get("type"))
        self.assertEqual(self.roomJID, message.get("from"))
        self.assertTrue(message.get("id"), describe([message]))
        [item] = message.findall(
            f"{qname(NS_EVENT, 'event')}/{qname(NS_EVENT, 'items')}/"
            f"{qname(NS_EVENT, 'item')}"
        )
        self.assertTrue(item.get("id"))
        [payload] = list(item)
        self.assertEqual(qname(NS_CONFERENCE_INFO, "conference-info"), payload.tag)
        self.assertEqual(
            text,
            payload.find(
                f"{qname(NS_ACTIVITY, 'activity')}/{qname(NS_ACTIVITY, 'text')}"
            ).text,
        )
        return item.get("id")

    async def test_converseRoomEvents(self):
        """
        A Converse.js-like client over WebSocket answers the room's caps
        query and receives two room events injected over HTTP, each a
        headline with its own id; a second one joining later with the same
        (cached, R38) caps is not queried, and gets the last item with a
        delay stamp after the subject.
        """
        self.running = await startServer(self)
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(self.pool.closeCachedConnections)
        self.roomJID = f"lobby@{self.running.mucDomain}"
        alice = await self.running.createAccount("alice")
        bob = await self.running.createAccount("bob")
        await self.running.createRoom("lobby", owner=alice)

        first, firstJID = await self.login(alice, "converse-1")
        await self.join(first, "alice")
        # XEP-0115 section 6.2: the room asks the client about its ver.
        query = await first.waitFor(
            lambda e: tagged(NS_CLIENT, "iq", type="get", **{"from": self.roomJID})(e)
            and e.find(qname(NS_DISCO_INFO, "query")) is not None
        )
        self.assertEqual(firstJID, query.get("to"))
        self.assertEqual(
            f"{CONVERSE_NODE}#{CONVERSE_VER}",
            query.find(qname(NS_DISCO_INFO, "query")).get("node"),
        )
        await self.roundTrip(first, "disco1")

        body = await self.inject("Pinned: welcome")
        event = await first.waitFor(isRoomEvent(self.roomJID))
        itemId = self.assertRoomEvent(event, "Pinned: welcome")
        self.assertIn(itemId, body)
        self.assertIsNone(event.find(qname(NS_DELAY, "delay")))

        body = await self.inject("Pinned: be kind")
        second = await first.waitFor(isRoomEvent(self.roomJID))
        secondItemId = self.assertRoomEvent(second, "Pinned: be kind")
        self.assertIn(secondItemId, body)
        self.assertIsNone(second.find(qname(NS_DELAY, "delay")))
        # Converse.js drops a message that reuses an id.
        self.assertNotEqual(event.get("id"), second.get("id"))

        late, lateJID = await self.login(bob, "converse-2")
        subject = await self.join(late, "bob")
        last = await late.waitFor(isRoomEvent(self.roomJID))
        self.assertRoomEvent(last, "Pinned: be kind")
        self.assertIsNotNone(last.find(qname(NS_DELAY, "delay")), describe([last]))
        self.assertLess(late.received.index(subject), late.received.index(last))
        await self.roundTrip(late, "disco2")
        # R38: the verified ver is cached, so nobody asks again.
        self.assertEqual([], late.discoQueries, describe(late.discoQueries))

        for session in (first, late):
            session.send(f"<close xmlns='{NS_FRAMING}'/>")
            await session.waitFor(tagged(NS_FRAMING, "close"))
            await session.client.closed
