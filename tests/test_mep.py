# -*- test-case-name: tests.test_mep -*-
"""
Protocol tests for L{mepserver.mep}: the MUC Eventing Protocol (XEP-0316),
requirement by requirement (MEP-REQUIREMENTS.md R1-R75; each docstring
names its R number).

The MUC component is L{mepserver.server.buildServer}'s own (MUC, MEP,
disco, fallback) on its router, over memory stores, a L{task.Clock} and
seeded ids; the client domain is a pipe. Users are clients of C{example}; a user
joining with features answers the room's caps disco#info query like a real
client (L{tests.helpers.CapsClient}), unless the test holds the answer.
"""

from twisted.internet import task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from wokkel import generic
from zope.interface.verify import verifyObject

from mepserver import config as configModule
from mepserver import errors
from mepserver.caps import CapsCache
from mepserver.ids import SeededIdSource
from mepserver.interfaces import (
    IOccupantObserver,
    IOccupantServices,
    IRoomEvents,
    IRoomObserver,
)
from mepserver.mep.interests import RoomInterests
from mepserver.muc import stanzas
from mepserver.muc.room import Room
from mepserver.server import buildServer
from tests.helpers import CapsClient, parseXml

SERVICE = "chat.example"
ROOM = "coven@chat.example"
A = "a@example/r1"
A2 = "a@example/r2"
B = "b@example/r1"
C = "c@example/r1"
D = "d@example/r1"
N = "n@example/r1"
BACKEND = "backend@example/bot"
N1 = "urn:example:mep:test"
N2 = "urn:example:mep:other"
P = "<p xmlns='urn:example:payload'>one</p>"
P2 = "<p xmlns='urn:example:payload'>two</p>"

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_OWNER = NS_PUBSUB + "#owner"
NS_EVENT = NS_PUBSUB + "#event"
NS_ERRORS = NS_PUBSUB + "#errors"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_DELAY = "urn:xmpp:delay"
NS_MUC = "http://jabber.org/protocol/muc"


def errorOf(stanza):
    """
    @return: C{(type, condition, pubsub condition or None)} of an error.
    """
    error = stanzas.child(stanza, "jabber:client", "error")
    children = list(error.elements())
    condition = next(c.name for c in children if c.uri == NS_STANZAS and c.name != "text")
    specific = next((c.name for c in children if c.uri == NS_ERRORS), None)
    return error.getAttribute("type"), condition, specific


def events(stanzas_):
    """
    @return: the pubsub event messages among C{stanzas_}.
    """
    return [
        s for s in stanzas_
        if s.name == "message" and any(True for _ in s.elements(NS_EVENT, "event"))
    ]


def eventItems(message):
    """
    @return: C{(node, [(item id, payload XML)])} of an items event.
    """
    event = next(message.elements(NS_EVENT, "event"))
    items = next(event.elements(NS_EVENT, "items"))
    return items["node"], [
        (i.getAttribute("id"), "".join(c.toXml() for c in i.elements()))
        for i in items.elements(NS_EVENT, "item")
    ]


class MEPHarness:
    """
    A router with the MUC component and MEP, and a client domain that
    records what reaches users and answers caps queries.

    @ivar clients: full JIDs to their L{CapsClient}.
    @ivar held: full JIDs whose caps queries are kept in C{pending}.
    """

    def __init__(self, testCase, **settings):
        settings.setdefault("mucDomain", SERVICE)
        settings.setdefault("domain", "example")
        settings.setdefault("mucCreateUnlocked", True)
        settings.setdefault("backendJids", ("backend@example",))
        settings.setdefault("storage", "memory")
        settings.setdefault("dataDir", testCase.mktemp())
        self.config = configModule.Config(**settings)
        self.clock = task.Clock()
        self.clock.advance(1577836800)
        server = buildServer(self.config, clock=self.clock, ids=SeededIdSource())
        self.pubsubStore = server.pubsubStore
        self.rooms = server.rooms
        self.mep = server.mep
        self.router = server.router
        # Only the MUC domain runs: the client domain is the pipe below.
        self.component = server.getServiceNamed("muc-domain")
        self.component.startService()
        testCase.addCleanup(self.component.stopService)
        pipe = generic.XmlPipe()
        self.router.addRoute("example", pipe.sink)
        self.client = pipe.source
        self.client.addObserver("/*", self._delivered)
        self.received = []
        self.clients = {}
        self.held = set()
        self.pending = []
        self.queries = []
        self._answers = []

    def _delivered(self, element):
        stanza = parseXml(element.toXml(), "jabber:client")
        to = stanza.getAttribute("to")
        client = self.clients.get(to)
        if client is not None and client.isQuery(stanza):
            self.queries.append(stanza)
            if to in self.held:
                self.pending.append(stanza)
            else:
                answer = client.answer(stanza)
                answer["from"] = to
                self._answers.append(answer)
            return
        self.received.append(stanza)

    def send(self, xml):
        """
        A user sends a stanza (with its C{from} stamped).
        """
        element = parseXml(xml, "jabber:client") if isinstance(xml, str) else xml
        self.router.route(element)
        while self._answers:
            answer = self._answers.pop(0)
            self.router.route(answer)

    def release(self, full, answer=True):
        """
        Answer (or refuse) the held caps queries of C{full}.
        """
        self.held.discard(full)
        queries = [q for q in self.pending if q["to"] == full]
        self.pending = [q for q in self.pending if q["to"] != full]
        for query in queries:
            if answer:
                reply = self.clients[full].answer(query)
            else:
                reply = stanzas.errorReply(query, errors.ServiceUnavailable())
            reply["from"] = full
            self.send(reply)

    def take(self, recipient=None):
        """
        @return: what was delivered (to C{recipient}) since last taken.
        """
        if recipient is None:
            received, self.received = self.received, []
            return received
        taken = [s for s in self.received if s.getAttribute("to") == recipient]
        self.received = [s for s in self.received if s.getAttribute("to") != recipient]
        return taken

    def join(self, full, nick, features=None, room=ROOM, hold=False, caps=None):
        """
        Join with caps carrying C{features} (none if L{None}); return what
        C{full} received.
        """
        c = ""
        if caps is not None:
            c = caps
        elif features is not None:
            client = self.clients[full] = CapsClient(features)
            c = client.caps().toXml()
        if hold:
            self.held.add(full)
        self.send(
            f"<presence from='{full}' to='{room}/{nick}'><x xmlns='{NS_MUC}'/>{c}</presence>"
        )
        return self.take(full)

    def iq(self, sender, to, kind, body, iqId="q1"):
        """
        Send an IQ; return the answer.
        """
        self.send(f"<iq from='{sender}' to='{to}' type='{kind}' id='{iqId}'>{body}</iq>")
        def isReply(s):
            return s.name == "iq" and s.getAttribute("id") == iqId and s.getAttribute("to") == sender

        replies = [s for s in self.received if isReply(s)]
        self.received = [s for s in self.received if not isReply(s)]
        assert len(replies) == 1, [r.toXml() for r in replies]
        return replies[0]

    def publish(self, sender, to, node=N1, payload=P, itemId=None, options=""):
        item = f"<item id='{itemId}'>" if itemId else "<item>"
        return self.iq(
            sender, to, "set",
            f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{node}'>{item}{payload}</item>"
            f"</publish>{options}</pubsub>",
        )

    def items(self, sender, to, node=N1, extra=""):
        nodeAttribute = f" node='{node}'" if node else ""
        return self.iq(
            sender, to, "get", f"<pubsub xmlns='{NS_PUBSUB}'><items{nodeAttribute}{extra}/></pubsub>"
        )

    def owner(self, sender, to, body, kind="set"):
        return self.iq(sender, to, kind, f"<pubsub xmlns='{NS_OWNER}'>{body}</pubsub>")

    def disco(self, sender, to, kind="info", node=None):
        nodeAttribute = f" node='{node}'" if node else ""
        return self.iq(
            sender, to, "get",
            f"<query xmlns='http://jabber.org/protocol/disco#{kind}'{nodeAttribute}/>",
        )

    def generate(self, node=N1, payload=P, itemId=None, room=ROOM):
        results = []
        self.mep.generateEvent(room, node, payload, itemId).addBoth(results.append)
        return results[0]

    def coven(self, a=(N1 + "+notify",), b=(N1 + "+notify",), c=()):
        """
        A, B and C in the room, with caps asking for C{a}, C{b}, C{c}.
        """
        self.join(A, "a", list(a) if a is not None else None)
        self.join(B, "b", list(b) if b is not None else None)
        self.join(C, "c", list(c) if c is not None else None)
        self.take()


def itemsOf(reply):
    """
    @return: C{[(id, payload XML)]} of an items result.
    """
    pubsub = next(reply.elements(NS_PUBSUB, "pubsub"))
    items = next(pubsub.elements(NS_PUBSUB, "items"))
    return [
        (i.getAttribute("id"), "".join(c.toXml() for c in i.elements()))
        for i in items.elements(NS_PUBSUB, "item")
    ]


class MEPTestCase(unittest.TestCase):
    def setUp(self):
        self.h = MEPHarness(self)

    def assertError(self, reply, kind, condition, specific=None):
        self.assertEqual("error", reply["type"], reply.toXml())
        self.assertEqual((kind, condition, specific), errorOf(reply))

    def assertSamePayload(self, expected, actual):
        self.assertEqual(parseXml(expected).toXml(), parseXml(actual).toXml())


class WiringTests(MEPTestCase):
    """
    The MEP handler and resource provide the interfaces the rooms and the
    MUC handler hold them by, and register with the rooms.
    """

    def test_interfaces(self):
        """
        The handler follows rooms and occupants and takes room events; the
        resource claims IQs to occupant JIDs.
        """
        mep = self.h.mep
        for interface in (IRoomObserver, IOccupantObserver, IRoomEvents):
            self.assertTrue(verifyObject(interface, mep))
        self.assertTrue(verifyObject(IOccupantServices, mep.resource))
        self.assertIs(mep, self.h.rooms.events)
        self.assertIs(mep.interests, mep.resource.interests)


class RoomInterestsTests(unittest.SynchronousTestCase):
    """
    L{RoomInterests}: one tracker per room.
    """

    def test_trackers(self):
        """
        Each room gets its own tracker, made once; discarding or resetting
        forgets them.
        """
        interests = RoomInterests(CapsCache(), iqClient=None)
        first = Room(JID("one@chat.example"), task.Clock(), SeededIdSource())
        second = Room(JID("two@chat.example"), task.Clock(), SeededIdSource())
        tracker = interests.tracker(first)
        self.assertIs(tracker, interests.tracker(first))
        self.assertIsNot(tracker, interests.tracker(second))
        self.assertIs(tracker.interests, interests.of(first))
        self.assertEqual(2, len(interests))
        interests.discard(first.jid)
        self.assertEqual(1, len(interests))
        interests.reset()
        self.assertEqual(0, len(interests))


class DiscoveryTests(MEPTestCase):
    """
    XEP-0316 section 6, sections 4.1 and 5 (node discovery).
    """

    def test_roomIdentity(self):
        """
        R1: the room's disco#info has conference/text and pubsub/mep.
        """
        self.h.coven()
        reply = self.h.disco(N, ROOM)
        query = next(reply.elements(NS_DISCO_INFO, "query"))
        identities = {(i["category"], i["type"]) for i in query.elements(NS_DISCO_INFO, "identity")}
        self.assertIn(("conference", "text"), identities)
        self.assertIn(("pubsub", "mep"), identities)
        self.assertNotIn(("pubsub", "pep"), identities)

    def test_roomFeatures(self):
        """
        R2, R3, R4: Appendix B's required features, the MUC ones, no
        duplicates, and none that claims another default access model.
        """
        self.h.coven()
        reply = self.h.disco(A, ROOM)
        query = next(reply.elements(NS_DISCO_INFO, "query"))
        features = [f["var"] for f in query.elements(NS_DISCO_INFO, "feature")]
        self.assertEqual(len(features), len(set(features)))
        required = [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_PUBSUB] + [
            NS_PUBSUB + "#" + f for f in (
                "access-presence auto-create auto-subscribe config-node "
                "create-and-configure create-nodes delete-nodes "
                "filtered-notifications item-ids last-published persistent-items "
                "publish retrieve-items subscribe"
            ).split()
        ]
        for var in required + ["muc_open"]:
            self.assertIn(var, features)
        for var in ("access-open", "instant-nodes", "member-affiliation", "pubsub-on-a-jid"):
            self.assertNotIn(NS_PUBSUB + "#" + var, features)

    def test_roomNodes(self):
        """
        R53, R28: after a room event, disco#items on the room lists the node.
        """
        self.h.coven()
        self.h.generate()
        reply = self.h.disco(A, ROOM, "items")
        items = [
            (i["jid"], i.getAttribute("node"))
            for i in next(reply.elements(NS_DISCO_ITEMS, "query")).elements()
        ]
        self.assertEqual([(ROOM, N1)], items)

    def test_occupantNodes(self):
        """
        R54, R27: after B publishes N1, disco#items on …/b lists it,
        answered by the room (not forwarded to B's client).
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        self.h.take()
        reply = self.h.disco(A, ROOM + "/b", "items")
        self.assertEqual(ROOM + "/b", reply["from"])
        items = [
            (i["jid"], i.getAttribute("node"))
            for i in next(reply.elements(NS_DISCO_ITEMS, "query")).elements()
        ]
        self.assertEqual([(ROOM + "/b", N1)], items)
        self.assertEqual([], self.h.take(B))

    def test_nodeInfo(self):
        """
        R55: disco#info on a node gives pubsub/leaf; an unknown node
        item-not-found.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        reply = self.h.disco(A, ROOM + "/b", node=N1)
        query = next(reply.elements(NS_DISCO_INFO, "query"))
        identities = {(i["category"], i["type"]) for i in query.elements(NS_DISCO_INFO, "identity")}
        self.assertEqual({("pubsub", "leaf")}, identities)
        self.assertError(self.h.disco(A, ROOM + "/b", node="nope"), "cancel", "item-not-found")

    def test_capsNodeForwarded(self):
        """
        OQ-5: disco#info to an occupant with a caps node#ver goes to the
        occupant's client.
        """
        self.h.coven()
        self.h.send(
            f"<iq from='{A}' to='{ROOM}/b' type='get' id='c1'>"
            f"<query xmlns='{NS_DISCO_INFO}' node='http://client#ver'/></iq>"
        )
        [forwarded] = [q for q in self.h.queries if q["to"] == B and q["from"] == ROOM + "/a"]
        self.assertEqual("http://client#ver", next(forwarded.elements(NS_DISCO_INFO, "query"))["node"])

    def test_nonOccupantNodes(self):
        """
        R47: a non-occupant's disco#items on the room lists no node.
        """
        self.h.coven()
        self.h.generate()
        reply = self.h.disco(N, ROOM, "items")
        nodes = [i for i in next(reply.elements(NS_DISCO_ITEMS, "query")).elements() if i.getAttribute("node")]
        self.assertEqual([], nodes)

    def test_nonOccupantDiscoToOccupant(self):
        """
        R48: a non-occupant's disco to an occupant JID gets bad-request.
        """
        self.h.coven()
        self.assertError(self.h.disco(N, ROOM + "/b"), "modify", "bad-request")
        self.assertError(self.h.disco(N, ROOM + "/b", "items"), "modify", "bad-request")


class RoomEventTests(MEPTestCase):
    """
    XEP-0316 section 2: room-generated events.
    """

    def test_generateEvent(self):
        """
        R9, R10, R73: a room event reaches an interested occupant as a
        headline from the bare room JID, carrying the payload.
        """
        self.h.coven()
        itemId = self.h.generate()
        [message] = events(self.h.take(A))
        self.assertEqual((ROOM, A, "headline"), (message["from"], message["to"], message["type"]))
        node, [(gotId, payload)] = eventItems(message)
        self.assertEqual((N1, itemId), (node, gotId))
        self.assertSamePayload(P, payload)
        self.assertEqual([], events(self.h.take(C)))

    def test_roomAPI(self):
        """
        R9: Room.generateEvent takes a domish element and fires with the id.
        """
        self.h.coven()
        room = self.h.rooms.get(JID(ROOM))
        results = []
        room.generateEvent(N1, parseXml(P), "pinned").addCallback(results.append)
        self.assertEqual(["pinned"], results)
        self.assertEqual(1, len(events(self.h.take(A))))

    def test_unknownRoom(self):
        """
        R9: the service-level entry point fails with RoomNotFound.
        """
        failure = self.h.generate(room="nosuchroom")
        self.assertTrue(failure.check(errors.RoomNotFound))

    def test_itemIds(self):
        """
        R11: generated item ids are non-empty and differ.
        """
        self.h.coven()
        first, second = self.h.generate(), self.h.generate()
        self.assertTrue(first)
        self.assertNotEqual(first, second)

    def test_messageIds(self):
        """
        R12: every notification has an id, none repeated.
        """
        self.h.coven(c=(N1 + "+notify",))
        self.h.generate()
        self.h.generate()
        ids = [m["id"] for m in events(self.h.take())]
        self.assertEqual(6, len(ids))
        self.assertEqual(len(ids), len(set(ids)))

    def test_retrieve(self):
        """
        R13, R49: the room's item can be retrieved by an occupant.
        """
        self.h.coven()
        itemId = self.h.generate()
        [(gotId, payload)] = itemsOf(self.h.items(C, ROOM))
        self.assertEqual(itemId, gotId)
        self.assertSamePayload(P, payload)

    def test_backendPublish(self):
        """
        R21, OQ-8: a backend JID's publish to the room JID is accepted, and
        notifies from the room JID.
        """
        self.h.coven()
        reply = self.h.publish(BACKEND, ROOM)
        self.assertEqual("result", reply["type"])
        [message] = events(self.h.take(A))
        self.assertEqual(ROOM, message["from"])

    def test_roomPublishForbidden(self):
        """
        R21: an occupant, even the room owner, may not publish to the room
        JID by default.
        """
        self.h.coven()
        self.assertError(self.h.publish(A, ROOM), "auth", "forbidden")

    def test_roomPublishersOwners(self):
        """
        DESIGN.md section 6: mep#room_publishers = owners lets owners
        publish to the room JID, not others.
        """
        self.h.coven()
        self.h.rooms.get(JID(ROOM)).config.roomPublishers = "owners"
        self.assertEqual("result", self.h.publish(A, ROOM)["type"])
        self.assertError(self.h.publish(B, ROOM), "auth", "forbidden")

    def test_roomPublishersForm(self):
        """
        DESIGN.md section 6: the field is in the owner's configuration form
        and can be set there.
        """
        self.h.coven()
        reply = self.h.iq(A, ROOM, "get", "<query xmlns='http://jabber.org/protocol/muc#owner'/>")
        self.assertIn("mep#room_publishers", reply.toXml())
        reply = self.h.iq(
            A, ROOM, "set",
            "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>"
            "<field var='mep#room_publishers'><value>moderators</value></field></x></query>",
        )
        self.assertEqual("result", reply["type"])
        self.assertEqual("moderators", self.h.rooms.get(JID(ROOM)).config.roomPublishers)
        self.assertEqual("result", self.h.publish(A, ROOM)["type"])


class OccupantPublishTests(MEPTestCase):
    """
    XEP-0316 section 3: occupant notifications.
    """

    def test_publish(self):
        """
        R14, R15: B publishes to its occupant JID and gets the item id.
        """
        self.h.coven()
        reply = self.h.publish(B, ROOM + "/b")
        self.assertEqual(("result", ROOM + "/b"), (reply["type"], reply["from"]))
        item = next(next(next(reply.elements(NS_PUBSUB, "pubsub")).elements()).elements())
        self.assertTrue(item.getAttribute("id"))

    def test_interestedNotified(self):
        """
        R16, R72, OQ-4: A and B (interested) each get one headline from
        …/b; C gets nothing.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        for who in (A, B):
            [message] = events(self.h.take(who))
            self.assertEqual(ROOM + "/b", message["from"])
        self.assertEqual([], events(self.h.take(C)))

    def test_publisherNotInterested(self):
        """
        R17: without N1+notify, B gets nothing for its own publish.
        """
        self.h.coven(b=())
        self.h.publish(B, ROOM + "/b")
        self.assertEqual([], events(self.h.take(B)))
        self.assertEqual(1, len(events(self.h.take(A))))

    def test_overwrite(self):
        """
        R18: re-publishing an item id notifies again and overwrites.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b", itemId="x")
        self.h.publish(B, ROOM + "/b", payload=P2, itemId="x")
        self.assertEqual(2, len(events(self.h.take(A))))
        [(itemId, payload)] = itemsOf(self.h.items(A, ROOM + "/b"))
        self.assertEqual("x", itemId)
        self.assertSamePayload(P2, payload)

    def test_syntaxErrors(self):
        """
        R19: a publish without node is bad-request; two payloads,
        invalid-payload.
        """
        self.h.coven()
        reply = self.h.iq(B, ROOM + "/b", "set", f"<pubsub xmlns='{NS_PUBSUB}'><publish><item>{P}</item></publish></pubsub>")
        self.assertEqual(("modify", "bad-request"), errorOf(reply)[:2])
        reply = self.h.publish(B, ROOM + "/b", payload=P + P2)
        self.assertError(reply, "modify", "bad-request", "invalid-payload")

    def test_separateServices(self):
        """
        R6: the same NodeID at …/a and …/b names two nodes.
        """
        self.h.coven()
        self.h.publish(A, ROOM + "/a", payload=P)
        self.h.publish(B, ROOM + "/b", payload=P2)
        [(_, pa)] = itemsOf(self.h.items(C, ROOM + "/a"))
        [(_, pb)] = itemsOf(self.h.items(C, ROOM + "/b"))
        self.assertSamePayload(P, pa)
        self.assertSamePayload(P2, pb)

    def test_notForwarded(self):
        """
        R7, R5: pubsub IQs to an occupant JID are answered from it, and the
        occupant's client sees nothing.
        """
        self.h.coven()
        reply = self.h.items(A, ROOM + "/b")
        self.assertEqual(ROOM + "/b", reply["from"])
        self.assertEqual([], self.h.take(B))

    def test_unknownNick(self):
        """
        R8: an occupant's pubsub IQ to an unknown nick: item-not-found.
        """
        self.h.coven()
        self.assertError(self.h.items(A, ROOM + "/nosuchnick"), "cancel", "item-not-found")

    def test_othersForbidden(self):
        """
        R20: A publishing at …/b gets forbidden; nothing changes.
        """
        self.h.coven()
        self.assertError(self.h.publish(A, ROOM + "/b"), "auth", "forbidden")
        self.assertEqual([], events(self.h.take()))

    def test_nonOccupantPublish(self):
        """
        R22: a non-occupant publishes nowhere.
        """
        self.h.coven()
        self.assertError(self.h.publish(N, ROOM), "auth", "forbidden")
        self.assertError(self.h.publish(N, ROOM + "/a"), "auth", "forbidden")

    def test_ownerOnly(self):
        """
        R23, R51: delete and configure at …/b: forbidden for A, fine for B.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        self.assertError(self.h.owner(A, ROOM + "/b", f"<delete node='{N1}'/>"), "auth", "forbidden")
        self.assertError(self.h.owner(A, ROOM + "/b", f"<configure node='{N1}'/>", "get"), "auth", "forbidden")
        self.assertEqual("result", self.h.owner(B, ROOM + "/b", f"<configure node='{N1}'/>", "get")["type"])

    def test_multiSession(self):
        """
        R24: two sessions of one user under one nick both own the service.
        """
        self.h.join(A, "a")
        self.h.join(A2, "a")
        self.assertEqual("result", self.h.publish(A2, ROOM + "/a")["type"])

    def test_visitorForbidden(self):
        """
        OQ-10: a visitor in a moderated room may not publish.
        """
        self.h.join(A, "a")
        self.h.rooms.get(JID(ROOM)).config.moderated = True
        self.h.join(C, "c", [N1 + "+notify"])
        self.assertError(self.h.publish(C, ROOM + "/c"), "auth", "forbidden")

    def test_visitorReceives(self):
        """
        R31: a visitor with N1+notify receives B's publish.
        """
        self.h.join(A, "a")
        self.h.join(B, "b")
        self.h.rooms.get(JID(ROOM)).config.moderated = True
        self.h.join(C, "c", [N1 + "+notify"])
        self.h.take()
        self.h.publish(B, ROOM + "/b")
        self.assertEqual(1, len(events(self.h.take(C))))


class SubscriptionTests(MEPTestCase):
    """
    Auto-subscription, caps filtering, explicit subscriptions.
    """

    def test_implicit(self):
        """
        R29: a node B creates after A joined notifies A.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b", node=N1)
        self.assertEqual(1, len(events(self.h.take(A))))

    def test_leaving(self):
        """
        R30: after A leaves, or is kicked, it gets nothing.
        """
        self.h.coven(c=(N1 + "+notify",))
        self.h.iq(A, ROOM, "set",
                  "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='c' role='none'/></query>")
        self.h.send(f"<presence from='{A}' to='{ROOM}/a' type='unavailable'/>")
        self.h.take()
        self.h.publish(B, ROOM + "/b")
        self.assertEqual([], events(self.h.take(A)))
        self.assertEqual([], events(self.h.take(C)))

    def test_noPubsubErrorsOnJoin(self):
        """
        R32: joins with no caps, bogus caps and failing caps queries
        complete, with no pubsub error.
        """
        received = self.h.join(A, "a")
        received += self.h.join(B, "b", caps="<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='x' ver='bogus'/>")
        received += self.h.join(C, "c", [N1 + "+notify"], hold=True)
        self.h.release(C, answer=False)
        received += self.h.take(C)
        self.assertFalse([s for s in received if s.getAttribute("type") == "error"])
        self.assertEqual(3, len(self.h.rooms.get(JID(ROOM)).occupants))

    def test_toFullJID(self):
        """
        R33: notifications go to the in-room full JID only.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        self.assertEqual([A], [m["to"] for m in events(self.h.take()) if m["to"].startswith("a@")])

    def test_filter(self):
        """
        R34: A (N1+notify) gets N1 only; C (N2+notify) N2 only.
        """
        self.h.coven(c=(N2 + "+notify",))
        self.h.publish(B, ROOM + "/b", node=N1)
        self.h.publish(B, ROOM + "/b", node=N2)
        self.assertEqual([N1], [eventItems(m)[0] for m in events(self.h.take(A))])
        self.assertEqual([N2], [eventItems(m)[0] for m in events(self.h.take(C))])

    def test_capsUpdate(self):
        """
        R35, OQ-14: caps in a later presence to the occupant JID count.
        """
        self.h.coven(a=())
        client = self.h.clients[A] = CapsClient([N1 + "+notify", "urn:x"])
        self.h.send(f"<presence from='{A}' to='{ROOM}/a'>{client.caps().toXml()}</presence>")
        self.h.take()
        self.h.publish(B, ROOM + "/b")
        self.assertEqual(1, len(events(self.h.take(A))))

    def test_capsQuery(self):
        """
        R36, OQ-13: the room queries the joiner's real full JID with
        node#ver, from the bare room JID.
        """
        self.h.join(A, "a", [N1 + "+notify"])
        [query] = self.h.queries
        client = self.h.clients[A]
        self.assertEqual((ROOM, A), (query["from"], query["to"]))
        self.assertEqual(f"{client.node}#{client.ver}", next(query.elements(NS_DISCO_INFO, "query"))["node"])

    def test_hashChecked(self):
        """
        R37: a ver that does not match the disco answer gives no interest.
        """
        self.h.join(A, "a")
        liar = CapsClient([N1 + "+notify"])
        self.h.clients[B] = liar
        self.h.join(B, "b", caps="<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='x' ver='AAAAAAAAAAAAAAAAAAAAAAAAAAA='/>")
        self.h.take()
        self.h.publish(A, ROOM + "/a")
        self.assertEqual([], events(self.h.take(B)))

    def test_cached(self):
        """
        R38: identical caps are queried once.
        """
        self.h.join(A, "a", [N1 + "+notify"])
        self.h.join(C, "c", [N1 + "+notify"])
        self.assertEqual(1, len(self.h.queries))
        self.h.join(B, "b")
        self.h.publish(B, ROOM + "/b")
        self.assertEqual(1, len(events(self.h.take(C))))

    def test_legacyCaps(self):
        """
        R40: caps without hash are ignored: no query, no notifications.
        """
        self.h.join(B, "b")
        self.h.join(A, "a", caps="<c xmlns='http://jabber.org/protocol/caps' node='x' ver='1.0'/>")
        self.h.publish(B, ROOM + "/b")
        self.assertEqual([], self.h.queries)
        self.assertEqual([], events(self.h.take(A)))

    def test_lateCaps(self):
        """
        R41, OQ-16: while A's caps are unresolved nothing arrives; once
        they resolve, the last item, with a delay stamp.
        """
        self.h.join(B, "b")
        self.h.join(A, "a", [N1 + "+notify"], hold=True)
        self.h.publish(B, ROOM + "/b")
        self.assertEqual([], events(self.h.take(A)))
        self.h.release(A)
        [message] = events(self.h.take(A))
        self.assertEqual(ROOM + "/b", message["from"])
        self.assertIsNotNone(stanzas.child(message, NS_DELAY, "delay"))

    def test_failedQuery(self):
        """
        R42: an error answer to the caps query: A stays, no notifications.
        """
        self.h.join(B, "b")
        self.h.join(A, "a", [N1 + "+notify"], hold=True)
        self.h.release(A, answer=False)
        self.h.publish(B, ROOM + "/b")
        self.assertEqual([], events(self.h.take(A)))
        self.assertIsNotNone(self.h.rooms.get(JID(ROOM)).occupant("a"))

    def test_perSession(self):
        """
        R43: r1 with N1+notify gets it, r2 without does not.
        """
        self.h.join(A, "a", [N1 + "+notify"])
        self.h.join(A2, "a", [])
        self.h.join(B, "b")
        self.h.take()
        self.h.publish(B, ROOM + "/b")
        self.assertEqual(1, len(events(self.h.take(A))))
        self.assertEqual([], events(self.h.take(A2)))

    def test_explicit(self):
        """
        R60, R61, OQ-12: A without caps subscribes to N1 at …/b and is
        notified; a foreign jid is invalid-jid.
        """
        self.h.coven(a=())
        self.h.publish(B, ROOM + "/b")
        self.h.take()
        reply = self.h.iq(A, ROOM + "/b", "set", f"<pubsub xmlns='{NS_PUBSUB}'><subscribe node='{N1}' jid='{A}'/></pubsub>")
        self.assertIn("subscribed", reply.toXml())
        self.h.take(A)
        self.h.publish(B, ROOM + "/b", payload=P2)
        self.assertEqual(1, len(events(self.h.take(A))))
        reply = self.h.iq(A, ROOM + "/b", "set", f"<pubsub xmlns='{NS_PUBSUB}'><subscribe node='{N1}' jid='c@example'/></pubsub>")
        self.assertError(reply, "modify", "bad-request", "invalid-jid")

    def test_departureEndsEverySubscription(self):
        """
        R30, OQ-1: when A leaves, its subscriptions go, both with its full
        JID and with its bare JID, not only the first one found.
        """
        self.h.coven(a=())
        self.h.generate()
        body = f"<pubsub xmlns='{NS_PUBSUB}'><subscribe node='{N1}' jid='%s'/></pubsub>"
        for subscriber in (A, "a@example"):
            reply = self.h.iq(A, ROOM, "set", body % subscriber)
            self.assertEqual("result", reply["type"], reply.toXml())
        node = self.h.mep.registry.cached(JID(ROOM)).nodes[N1]
        self.assertEqual({JID(A), JID("a@example")}, set(node.subscriptions))
        self.h.send(f"<presence from='{A}' to='{ROOM}/a' type='unavailable'/>")
        self.assertEqual({}, node.subscriptions)

    def test_explicitLastItem(self):
        """
        R70: an explicit subscription sends the last item with a delay.
        """
        self.h.coven(a=())
        self.h.publish(B, ROOM + "/b")
        self.h.take()
        self.h.iq(A, ROOM + "/b", "set", f"<pubsub xmlns='{NS_PUBSUB}'><subscribe node='{N1}' jid='{A}'/></pubsub>")
        [message] = events(self.h.take(A))
        self.assertIsNotNone(stanzas.child(message, NS_DELAY, "delay"))

    def test_unsubscribe(self):
        """
        R62: unsubscribe, then not-subscribed.
        """
        self.h.coven(a=())
        self.h.publish(B, ROOM + "/b")
        body = f"<pubsub xmlns='{NS_PUBSUB}'><%s node='{N1}' jid='{A}'/></pubsub>"
        self.h.iq(A, ROOM + "/b", "set", body % "subscribe")
        self.assertEqual("result", self.h.iq(A, ROOM + "/b", "set", body % "unsubscribe")["type"])
        self.assertError(self.h.iq(A, ROOM + "/b", "set", body % "unsubscribe"),
                         "cancel", "unexpected-request", "not-subscribed")

    def test_rootSubscription(self):
        """
        R66: subscribing to the root gives the implicit subscription.
        """
        self.h.coven()
        reply = self.h.iq(A, ROOM, "set", f"<pubsub xmlns='{NS_PUBSUB}'><subscribe jid='{A}'/></pubsub>")
        self.assertEqual("result", reply["type"])
        self.assertIn("subscribed", reply.toXml())


class AccessTests(MEPTestCase):
    """
    The presence access model (R44-R50) and the OQ-9 error table.
    """

    def test_defaults(self):
        """
        R44, R27, R67, R68 (config): a fresh node's form shows the defaults.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b", node=N2)
        reply = self.h.owner(B, ROOM + "/b", f"<configure node='{N2}'/>", "get")
        xml = reply.toXml()
        for var, value in (
            ("pubsub#access_model", "presence"),
            ("pubsub#deliver_notifications", "1|true"),
            ("pubsub#deliver_payloads", "1|true"),
            ("pubsub#send_last_published_item", "on_sub_and_presence"),
            ("pubsub#max_items", "1"),
        ):
            self.assertRegex(xml, f"var=['\"]{var}['\"][^>]*><value>({value})</value>")

    def test_nonOccupantSubscribe(self):
        """
        R45: a non-occupant's subscribe: not-authorized +
        presence-subscription-required, at the room and at …/b.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        for to in (ROOM, ROOM + "/b"):
            reply = self.h.iq(N, to, "set", f"<pubsub xmlns='{NS_PUBSUB}'><subscribe node='{N1}' jid='{N}'/></pubsub>")
            self.assertError(reply, "auth", "not-authorized", "presence-subscription-required")

    def test_nonOccupantItems(self):
        """
        R46, OQ-9: a non-occupant's items, for an existing node or not,
        at an existing nick or not: the same refusal.
        """
        self.h.coven()
        self.h.generate()
        for to, node in ((ROOM, N1), (ROOM, "nope"), (ROOM + "/b", N1), (ROOM + "/ghost", N1)):
            self.assertError(self.h.items(N, to, node), "auth", "not-authorized",
                             "presence-subscription-required")

    def test_onlyPresence(self):
        """
        R50: access_model open is refused.
        """
        self.h.coven()
        reply = self.h.iq(
            B, ROOM + "/b", "set",
            f"<pubsub xmlns='{NS_PUBSUB}'><create node='{N2}'/><configure><x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>"
            "<field var='pubsub#access_model'><value>open</value></field></x></configure></pubsub>",
        )
        self.assertError(reply, "modify", "not-acceptable", "unsupported-access-model")

    def test_semiAnonymous(self):
        """
        R74, OQ-6: in a semi-anonymous room, nothing A receives names B's
        real JID.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        received = self.h.take(A)
        received.append(self.h.items(A, ROOM + "/b"))
        received.append(self.h.disco(A, ROOM + "/b", node=N1))
        received.append(self.h.disco(A, ROOM + "/b", "items"))
        for stanza in received:
            self.assertNotIn("b@example", stanza.toXml())


class UseCaseTests(MEPTestCase):
    """
    XEP-0316 section 5's use cases.
    """

    def test_create(self):
        """
        R56: create at your own JID; conflict; nodeid-required; forbidden
        elsewhere.
        """
        self.h.coven()
        create = f"<pubsub xmlns='{NS_PUBSUB}'><create node='{N2}'/></pubsub>"
        self.assertEqual("result", self.h.iq(B, ROOM + "/b", "set", create)["type"])
        self.assertEqual("conflict", errorOf(self.h.iq(B, ROOM + "/b", "set", create))[1])
        reply = self.h.iq(B, ROOM + "/b", "set", f"<pubsub xmlns='{NS_PUBSUB}'><create/></pubsub>")
        self.assertError(reply, "modify", "not-acceptable", "nodeid-required")
        self.assertError(self.h.iq(A, ROOM + "/b", "set", create), "auth", "forbidden")
        self.assertError(self.h.iq(A, ROOM, "set", create), "auth", "forbidden")

    def test_createAndConfigure(self):
        """
        R57: create with max_items 5; configure shows it.
        """
        self.h.coven()
        reply = self.h.iq(
            B, ROOM + "/b", "set",
            f"<pubsub xmlns='{NS_PUBSUB}'><create node='{N2}'/><configure><x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>"
            "<field var='pubsub#max_items'><value>5</value></field></x></configure></pubsub>",
        )
        self.assertEqual("result", reply["type"])
        xml = self.h.owner(B, ROOM + "/b", f"<configure node='{N2}'/>", "get").toXml()
        self.assertRegex(xml, "pubsub#max_items['\"][^>]*>(<[^v][^>]*>)*<value>5</value>")

    def test_delete(self):
        """
        R58: delete notifies A from …/b; items then item-not-found.
        """
        self.h.coven(a=(N2 + "+notify",))
        self.h.publish(B, ROOM + "/b", node=N2)
        self.h.take()
        self.assertEqual("result", self.h.owner(B, ROOM + "/b", f"<delete node='{N2}'/>")["type"])
        [message] = events(self.h.take(A))
        self.assertEqual(ROOM + "/b", message["from"])
        self.assertIn("delete", message.toXml())
        self.assertError(self.h.items(A, ROOM + "/b", N2), "cancel", "item-not-found")

    def test_deleteRoot(self):
        """
        R59: deleting the root is not-allowed.
        """
        self.h.coven()
        self.assertError(self.h.owner(B, ROOM + "/b", "<delete/>"), "cancel", "not-allowed")

    def test_retract(self):
        """
        XEP-0060 section 7.2: B retracts its item; A is told.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b", itemId="x")
        self.h.take()
        reply = self.h.iq(B, ROOM + "/b", "set",
                          f"<pubsub xmlns='{NS_PUBSUB}'><retract node='{N1}'><item id='x'/></retract></pubsub>")
        self.assertEqual("result", reply["type"])
        self.assertIn("retract", events(self.h.take(A))[0].toXml())

    def test_items(self):
        """
        R63: all, max_items, by id; unknown id empty; unknown node
        item-not-found.
        """
        self.h.coven()
        self.h.iq(
            B, ROOM + "/b", "set",
            f"<pubsub xmlns='{NS_PUBSUB}'><create node='{N2}'/><configure><x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>"
            "<field var='pubsub#max_items'><value>5</value></field></x></configure></pubsub>",
        )
        for i in range(3):
            self.h.publish(B, ROOM + "/b", node=N2, itemId=f"i{i}")
        self.assertEqual(["i0", "i1", "i2"], [i for i, _ in itemsOf(self.h.items(A, ROOM + "/b", N2))])
        self.assertEqual(["i1", "i2"], [i for i, _ in itemsOf(self.h.items(A, ROOM + "/b", N2, " max_items='2'"))])
        reply = self.h.iq(A, ROOM + "/b", "get",
                          f"<pubsub xmlns='{NS_PUBSUB}'><items node='{N2}'><item id='i0'/><item id='zz'/></items></pubsub>")
        self.assertEqual(["i0"], [i for i, _ in itemsOf(reply)])
        self.assertError(self.h.items(A, ROOM + "/b", "nope"), "cancel", "item-not-found")

    def test_rootItems(self):
        """
        R64: items without node: feature-not-implemented + unsupported.
        """
        self.h.coven()
        reply = self.h.items(A, ROOM, None)
        self.assertEqual(("cancel", "feature-not-implemented", "unsupported"), errorOf(reply))

    def test_publishOptions(self):
        """
        OQ-21: an unmet publish-options precondition: conflict +
        precondition-not-met.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        options = (
            "<publish-options><x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            "<field var='pubsub#max_items'><value>7</value></field></x></publish-options>"
        )
        reply = self.h.publish(B, ROOM + "/b", options=options)
        self.assertError(reply, "cancel", "conflict", "precondition-not-met")


class LastItemTests(MEPTestCase):
    """
    send_last_published_item = on_sub_and_presence (R68-R71, R75).
    """

    def test_onJoin(self):
        """
        R68, R75: a joiner with N1+notify gets B's and the room's last
        items, with delay, after the subject; C without gets nothing.
        """
        self.h.join(B, "b")
        self.h.publish(B, ROOM + "/b")
        self.h.generate()
        received = self.h.join(A, "a", [N1 + "+notify"])
        subject = [i for i, s in enumerate(received) if s.name == "message" and stanzas.child(s, "jabber:client", "subject") is not None]
        got = [(i, s) for i, s in enumerate(received) if s in events(received)]
        self.assertEqual({ROOM, ROOM + "/b"}, {s["from"] for _, s in got})
        self.assertTrue(all(i > subject[0] for i, _ in got))
        for _, s in got:
            self.assertIsNotNone(stanzas.child(s, NS_DELAY, "delay"))
        self.assertEqual([], events(self.h.join(C, "c", [])))

    def test_knownCaps(self):
        """
        Caps the service resolved already cost a joiner no query; with
        nothing published in the room, no search for last items either
        (issue 16); once something is, the joiner gets it.
        """
        self.h.join(A, "a", [N1 + "+notify"])
        queries = len(self.h.queries)
        searches = []
        original = self.h.mep.sendLastItems
        self.patch(self.h.mep, "sendLastItems",
                   lambda *a, **kw: searches.append(a[1]) or original(*a, **kw))
        self.assertEqual([], events(self.h.join(D, "d", [N1 + "+notify"])))
        self.assertEqual((queries, []), (len(self.h.queries), searches))
        self.h.send(f"<presence from='{D}' to='{ROOM}/d' type='unavailable'/>")
        self.h.generate()
        self.assertEqual(1, len(events(self.h.join(D, "d", [N1 + "+notify"]))))
        self.assertEqual((queries, [JID(D)]), (len(self.h.queries), searches))

    def test_occupantPublishedOnly(self):
        """
        An item at an occupant's service only is found too.
        """
        self.h.join(B, "b")
        self.h.join(A, "a", [N1 + "+notify"])
        self.h.publish(B, ROOM + "/b")
        self.h.take()
        self.assertEqual([ROOM + "/b"], [s["from"] for s in events(self.h.join(D, "d", [N1 + "+notify"]))])

    def test_once(self):
        """
        R69: a status change with the same caps repeats nothing.
        """
        self.h.join(B, "b")
        self.h.publish(B, ROOM + "/b")
        self.h.join(A, "a", [N1 + "+notify"])
        client = self.h.clients[A]
        self.h.send(f"<presence from='{A}' to='{ROOM}/a'><show>away</show>{client.caps().toXml()}</presence>")
        self.assertEqual([], events(self.h.take(A)))

    def test_rejoin(self):
        """
        OQ-16: a full re-join re-sends the last items.
        """
        self.h.join(B, "b")
        self.h.publish(B, ROOM + "/b")
        self.h.join(A, "a", [N1 + "+notify"])
        self.assertEqual(1, len(events(self.h.join(A, "a", [N1 + "+notify"]))))

    def test_liveNoDelay(self):
        """
        R71: live notifications carry no delay.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        [message] = events(self.h.take(A))
        self.assertIsNone(stanzas.child(message, NS_DELAY, "delay"))

    def test_notHistory(self):
        """
        OQ-19: events are not MUC history.
        """
        self.h.coven()
        self.h.generate()
        self.assertEqual(0, len(self.h.rooms.get(JID(ROOM)).history))


class LifecycleTests(MEPTestCase):
    """
    OQ-1, OQ-2, OQ-17.
    """

    def test_leaveDiscards(self):
        """
        OQ-1: when B leaves, its service goes: a newcomer named b has none.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        self.h.send(f"<presence from='{B}' to='{ROOM}/b' type='unavailable'/>")
        self.h.join(D, "b")
        self.assertError(self.h.items(A, ROOM + "/b"), "cancel", "item-not-found")

    def test_nickChange(self):
        """
        OQ-2: B's nodes move to …/bee, and A gets the last item from there.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        self.h.take()
        self.h.send(f"<presence from='{B}' to='{ROOM}/bee'/>")
        [message] = events(self.h.take(A))
        self.assertEqual(ROOM + "/bee", message["from"])
        self.assertEqual(1, len(itemsOf(self.h.items(A, ROOM + "/bee"))))

    def test_persistentRoomKeepsItems(self):
        """
        OQ-17: a persistent room's items survive an empty period; they are
        in the store.
        """
        self.h.join(A, "a")
        self.h.rooms.get(JID(ROOM)).config.persistent = True
        self.h.generate()
        self.h.send(f"<presence from='{A}' to='{ROOM}/a' type='unavailable'/>")
        self.assertIsNotNone(self.h.rooms.get(JID(ROOM)))
        results = []
        self.h.pubsubStore.loadItems(JID(ROOM), N1).addCallback(results.append)
        self.assertEqual(1, len(results[0]))
        self.h.mep.registry.reset()
        self.assertEqual(1, len(events(self.h.join(A, "a", [N1 + "+notify"]))))

    def test_destroyed(self):
        """
        OQ-17: a temporary room that empties takes its events with it.
        """
        self.h.join(A, "a")
        self.h.generate()
        self.h.send(f"<presence from='{A}' to='{ROOM}/a' type='unavailable'/>")
        self.assertIsNone(self.h.rooms.get(JID(ROOM)))
        results = []
        self.h.pubsubStore.loadNodes(JID(ROOM)).addCallback(results.append)
        self.assertEqual([], list(results[0]))
        self.h.join(A, "a")
        self.assertError(self.h.items(A, ROOM), "cancel", "item-not-found")

    def test_destroyedForgetsEveryService(self):
        """
        A room that goes takes from memory every service under its JID,
        even one at a nick nobody holds now (a load that finished after
        its occupant left), and no other room's.
        """
        self.h.join(A, "a")
        other = JID("heath@" + JID(ROOM).host + "/b")
        self.h.join(B, "b", room=other.userhost())
        stray = JID(ROOM + "/gone")
        self.successResultOf(self.h.mep.registry.get(stray))
        self.successResultOf(self.h.mep.registry.get(other))
        self.h.send(f"<presence from='{A}' to='{ROOM}/a' type='unavailable'/>")
        self.assertIsNone(self.h.rooms.get(JID(ROOM)))
        self.assertIsNone(self.h.mep.registry.cached(stray))
        self.assertIsNotNone(self.h.mep.registry.cached(other))

    def test_reset(self):
        """
        Rooms.reset() clears MEP state too.
        """
        self.h.coven()
        self.h.publish(B, ROOM + "/b")
        self.h.rooms.reset()
        self.assertEqual(0, len(self.h.mep.registry))
        self.assertEqual(0, len(self.h.mep.interests))
