# -*- test-case-name: tests.e2e.test_mep_requirements -*-
"""
Black-box tests of the MUC Eventing Protocol (XEP-0316), one per
requirement of C{MEP-REQUIREMENTS.md} (R1 to R75) and per open-question
resolution (OQ-n) that a client can observe, as changed by DESIGN.md
section 6: headline notifications each with its own id, a delay stamp only
on last-item delivery, the publisher's own copy from its occupant JID, the
C{mep#room_publishers} room configuration field, and room events through
C{server.mep.generateEvent} and C{POST /api/rooms/{room}/nodes/{node}/items}.

Every test runs against a real server (L{mepserver.testing.startServer})
over TCP, TLS and SASL, with clients that announce real entity
capabilities (L{tests.helpers.CapsClient}) in their join presence and
answer the room's disco#info query. Names follow the requirements'
fixture: room C{coven}, users a, b, c, d joining as C{a}, C{b}, ... and
n, never an occupant; nodes N1 and N2. The first user to join creates the
room and accepts a configuration (non-anonymous unless a test says
otherwise), so it is the room's owner.

Not tested here, and why:
  - R4, second half ("every advertised feature's use case succeeds"): the
    use cases are tested one by one (R14, R27, R51, R53-R66); this module
    checks only the last-published var and the vars that must not appear.
  - R19, payload-too-big: no payload size limit is documented to test
    against.
  - R30, ghost removal and room destruction as ways out: unavailable
    presence and a kick are tested; OQ-20 (delivery errors removing a
    ghost) needs a client that bounces a notification, which the
    requirement does not describe precisely enough.
  - R52: the "subscriber" affiliation has no wire form of its own; it is
    covered by R29 and R49, and the optional C{retrieve-subscriptions}
    part is tested only if the room advertises that feature.
"""

from urllib.parse import quote

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from mepserver.interfaces import RosterItem
from mepserver.testing import startServer
from tests.helpers import CapsClient, parseXml

NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = NS_MUC + "#user"
NS_MUC_ADMIN = NS_MUC + "#admin"
NS_MUC_OWNER = NS_MUC + "#owner"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_PUBSUB_OWNER = NS_PUBSUB + "#owner"
NS_PUBSUB_EVENT = NS_PUBSUB + "#event"
NS_PUBSUB_ERRORS = NS_PUBSUB + "#errors"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DELAY = "urn:xmpp:delay"
NS_DATA = "jabber:x:data"
NS_CAPS = "http://jabber.org/protocol/caps"

#: The test nodes of the requirements' fixture.
N1 = "urn:example:mep:test"
N2 = "urn:example:mep:other"
#: The payload namespace.
NS_ENTRY = "urn:example:mep:payload"

#: Seconds to wait for something that should arrive (it usually takes
#: milliseconds). Nothing waits for something not to arrive: a ping round
#: trip (L{mepserver.testing.ConnectedClient.ping}, and
#: C{assertNoStanzaReceived} built on it) is the barrier after which a
#: stanza the stimulus caused would be there.
WAIT = 3.0

#: Appendix B.2, the feature vars a MEP room must advertise (R2).
REQUIRED_FEATURES = [
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "http://jabber.org/protocol/muc",
    NS_PUBSUB,
    NS_PUBSUB + "#access-presence",
    NS_PUBSUB + "#auto-create",
    NS_PUBSUB + "#auto-subscribe",
    NS_PUBSUB + "#config-node",
    NS_PUBSUB + "#create-and-configure",
    NS_PUBSUB + "#create-nodes",
    NS_PUBSUB + "#delete-nodes",
    NS_PUBSUB + "#filtered-notifications",
    NS_PUBSUB + "#item-ids",
    NS_PUBSUB + "#last-published",
    NS_PUBSUB + "#persistent-items",
    NS_PUBSUB + "#publish",
    NS_PUBSUB + "#retrieve-items",
    NS_PUBSUB + "#subscribe",
]

#: Appendix B.2, the vars a MEP room must not advertise (R4).
FORBIDDEN_FEATURES = [
    NS_PUBSUB + "#access-open",
    NS_PUBSUB + "#access-roster",
    NS_PUBSUB + "#access-whitelist",
    NS_PUBSUB + "#access-authorize",
    NS_PUBSUB + "#instant-nodes",
    NS_PUBSUB + "#multi-subscribe",
    NS_PUBSUB + "#member-affiliation",
    NS_PUBSUB + "#publisher-affiliation",
    NS_PUBSUB + "#pubsub-on-a-jid",
]


def entry(text):
    """
    @return: a payload literal carrying C{text}.
    """
    return f"<entry xmlns='{NS_ENTRY}'>{text}</entry>"


def iq(kind, to, inner):
    """
    @return: an C{<iq/>} of type C{kind} to C{to} holding C{inner}.
    """
    return parseXml(f"<iq type='{kind}' to='{to}'>{inner}</iq>", "jabber:client")


def pubsub(inner, owner=False):
    """
    @return: C{inner} wrapped in C{<pubsub/>} (owner namespace if C{owner}).
    """
    ns = NS_PUBSUB_OWNER if owner else NS_PUBSUB
    return f"<pubsub xmlns='{ns}'>{inner}</pubsub>"


def nodeConfigForm(fields):
    """
    @return: a C{pubsub#node_config} submit form literal.
    """
    body = "".join(
        f"<field var='{var}'><value>{value}</value></field>" for var, value in fields.items()
    )
    return (
        f"<x xmlns='{NS_DATA}' type='submit'><field var='FORM_TYPE' type='hidden'>"
        f"<value>{NS_PUBSUB}#node_config</value></field>{body}</x>"
    )


def formValues(form):
    """
    @return: the values of a data form, by var.
    """
    values = {}
    for field in form.elements(NS_DATA, "field"):
        values[field.getAttribute("var")] = [str(v) for v in field.elements(NS_DATA, "value")]
    return values


def isTrue(values):
    return values in (["1"], ["true"])


def events(stanza, child="items"):
    """
    @return: the C{<items/>} (or C{child}) elements of a pubsub event message.
    """
    if stanza.name != "message":
        return []
    return [
        x
        for event in stanza.elements(NS_PUBSUB_EVENT, "event")
        for x in event.elements(NS_PUBSUB_EVENT, child)
    ]


def isEvent(node=None, service=None, child="items"):
    """
    @return: a predicate: a pubsub event message about C{node} (any if
        L{None}) from C{service} (any if L{None}).
    """

    def match(stanza):
        if service is not None and stanza.getAttribute("from") != service:
            return False
        return any(node is None or x.getAttribute("node") == node for x in events(stanza, child))

    return match


def eventItems(stanza):
    """
    @return: the C{<item/>} elements of an event message.
    """
    return [i for x in events(stanza) for i in x.elements(NS_PUBSUB_EVENT, "item")]


def payloadText(item):
    """
    @return: the text of an item's C{<entry/>} payload, or L{None}.
    """
    for child in item.elements(NS_ENTRY, "entry"):
        return str(child)
    return None


def delayOf(stanza):
    return next(stanza.elements(NS_DELAY, "delay"), None)


def isSubject(room):
    def match(stanza):
        return (
            stanza.name == "message"
            and stanza.getAttribute("from") == room
            and stanza.subject is not None
            and stanza.body is None
        )

    return match


def isDiscoInfoGet(stanza):
    return (
        stanza.name == "iq"
        and stanza.getAttribute("type") == "get"
        and next(stanza.elements(NS_DISCO_INFO, "query"), None) is not None
    )


def capsElement(node, ver, hashName="sha-1"):
    """
    @return: a C{<c/>} element; no C{hash} attribute if C{hashName} is None.
    """
    c = domish.Element((NS_CAPS, "c"))
    if hashName is not None:
        c["hash"] = hashName
    c["node"] = node
    c["ver"] = ver
    return c


def statuses(stanza):
    return {
        int(s["code"])
        for x in stanza.elements(NS_MUC_USER, "x")
        for s in x.elements(NS_MUC_USER, "status")
    }


def errorConditions(stanza):
    """
    @return: C{(error type, {(namespace, name)})} of an error stanza.
    """
    error = next((e for e in stanza.elements() if e.name == "error"), None)
    if error is None:
        return None, set()
    return error.getAttribute("type"), {(c.uri, c.name) for c in error.elements()}


class MEPRequirementsTests(unittest.TestCase):
    """
    XEP-0316 requirements R1-R75 and the OQ resolutions, black-box.
    """

    timeout = 30

    # -- fixture ---------------------------------------------------------

    async def startRoom(self, serverSettings=None, **roomConfig):
        """
        Start a server (with C{serverSettings}, L{mepserver.config.Config}
        fields). The first join creates C{coven} and submits a
        configuration: C{muc#roomconfig_whois=anyone} unless given, plus
        C{roomConfig} (full vars, or short names prefixed with
        C{muc#roomconfig_}).
        """
        self.running = await startServer(self, **(serverSettings or {}))
        self.room = f"coven@{self.running.mucDomain}"
        self.domain = self.running.domain
        config = {"whois": "anyone"}
        config.update(roomConfig)
        self.roomConfig = {
            (k if "#" in k else "muc#roomconfig_" + k): v for k, v in config.items()
        }
        self.accounts = {}

    def occupant(self, nick):
        return f"{self.room}/{nick}"

    def realJID(self, name, resource="r1"):
        return f"{name}@{self.domain}/{resource}"

    async def connect(self, name, resource="r1"):
        """
        Log user C{name} in (creating the account on first use).
        """
        account = self.accounts.get(name)
        if account is None:
            account = self.accounts[name] = await self.running.createAccount(name, name + "-pw")
        return await self.running.connectClient(account, resource)

    async def join(
        self,
        name,
        nick=None,
        features=None,
        resource="r1",
        c=None,
        answer=True,
        client=None,
    ):
        """
        Connect user C{name} (unless C{client} is given) and join the room
        as C{nick} (default: C{name}).

        @param features: if not L{None}, the client announces caps for
            these features (L{CapsClient}) and, if C{answer}, answers disco
            queries; C{+notify} features are given in full.
        @param c: a C{<c/>} element to send instead.
        @return: the client, with C{caps}, C{nick} and C{occupant} set.
        """
        if client is None:
            client = await self.connect(name, resource)
        nick = nick or name
        caps = None
        if features is not None:
            caps = CapsClient(["http://jabber.org/protocol/disco#info"] + list(features))
            if answer:
                self.answerCaps(client, caps)
            c = caps.caps()
        client.caps = caps
        client.nick = nick
        client.occupant = self.occupant(nick)
        presence = parseXml(
            f"<presence to='{self.occupant(nick)}'><x xmlns='{NS_MUC}'/></presence>",
            "jabber:client",
        )
        if c is not None:
            presence.addChild(c)
        before = len(client.received)
        client.send(presence)
        await client.waitFor(
            lambda e: e in client.received[before:] and isSubject(self.room)(e), WAIT
        )
        created = any(
            e.name == "presence" and e.getAttribute("from") == self.occupant(nick)
            and 201 in statuses(e)
            for e in client.received[before:]
        )
        if created:
            await self.configureRoom(client, self.roomConfig)
        # The room asks for caps it has not verified yet (a ver seen
        # before is answered from the cache, R38) while it handles the
        # join, right after the subject: once a ping comes back, the query
        # is here if there is one. The client answered it on arrival, so
        # a second ping comes back once the room has the answer, the
        # interests and any last items sent. A server that never asks fails
        # the tests that depend on it later.
        await client.ping(WAIT)
        if caps is not None and answer and any(
            isDiscoInfoGet(e) for e in client.received[before:]
        ):
            await client.ping(WAIT)
        return client

    def answerCaps(self, client, caps):
        """
        Have C{client} answer disco#info queries with C{caps}, and keep
        answering for the caps it announced before: a query naming an
        earlier C{node#ver} gets that caps' answer, any other the latest.
        (L{CapsClient.answerOn} answers every query, so two of them on one
        stream would both answer.)
        """
        known = getattr(client, "answering", None)
        if known is None:
            known = client.answering = []

            def onQuery(request):
                if not caps.isQuery(request):
                    return
                node = next(request.elements(NS_DISCO_INFO, "query")).getAttribute("node")
                chosen = known[-1]
                for candidate in known:
                    if node == f"{candidate.node}#{candidate.ver}":
                        chosen = candidate
                client.xmlstream.send(chosen.answer(request))

            client.xmlstream.addObserver("/iq[@type='get']", onQuery, 1)
        known.append(caps)

    async def configureRoom(self, owner, config):
        fields = "".join(
            f"<field var='{var}'><value>{value}</value></field>" for var, value in config.items()
        )
        result = await owner.request(
            iq(
                "set",
                self.room,
                f"<query xmlns='{NS_MUC_OWNER}'><x xmlns='{NS_DATA}' type='submit'>"
                f"<field var='FORM_TYPE' type='hidden'><value>{NS_MUC}#roomconfig</value></field>"
                f"{fields}</x></query>",
            ),
            WAIT,
        )
        self.assertEqual("result", result["type"], result.toXml())

    async def leave(self, client):
        client.send(f"<presence to='{client.occupant}' type='unavailable'/>")
        await client.waitFor(
            lambda e: e.name == "presence" and e.getAttribute("type") == "unavailable"
            and e.getAttribute("from") == client.occupant,
            WAIT,
        )

    def request(self, client, element):
        return client.request(element, WAIT)

    def publish(self, client, service, node, text="P", itemId=None, options=None):
        item = f"<item id='{itemId}'>" if itemId else "<item>"
        inner = f"<publish node='{node}'>{item}{entry(text)}</item></publish>"
        if options:
            inner += f"<publish-options>{nodeConfigForm(options)}</publish-options>"
        return self.request(client, iq("set", service, pubsub(inner)))

    async def publishOK(self, client, node, text="P", itemId=None):
        """
        Publish at the client's own occupant JID and insist on success.

        @return: the item id in the result, if any.
        """
        result = await self.publish(client, client.occupant, node, text, itemId)
        self.assertEqual("result", result["type"], result.toXml())
        for item in result.elements(NS_PUBSUB, "pubsub"):
            for p in item.elements(NS_PUBSUB, "publish"):
                for i in p.elements(NS_PUBSUB, "item"):
                    return i.getAttribute("id")
        return itemId

    def items(self, client, service, node=None, extra=""):
        attrs = f" node='{node}'" if node is not None else ""
        return self.request(
            client, iq("get", service, pubsub(f"<items{attrs}{extra}/>"))
        )

    def itemsOf(self, result):
        return [
            i
            for p in result.elements(NS_PUBSUB, "pubsub")
            for x in p.elements(NS_PUBSUB, "items")
            for i in x.elements(NS_PUBSUB, "item")
        ]

    def discoInfo(self, client, to, node=None):
        attrs = f" node='{node}'" if node else ""
        return self.request(client, iq("get", to, f"<query xmlns='{NS_DISCO_INFO}'{attrs}/>"))

    def discoItems(self, client, to, node=None):
        attrs = f" node='{node}'" if node else ""
        return self.request(client, iq("get", to, f"<query xmlns='{NS_DISCO_ITEMS}'{attrs}/>"))

    async def roomFeatures(self, client):
        result = await self.discoInfo(client, self.room)
        self.assertEqual("result", result["type"], result.toXml())
        query = next(result.elements(NS_DISCO_INFO, "query"))
        return (
            {(i.getAttribute("category"), i.getAttribute("type")) for i in query.elements(NS_DISCO_INFO, "identity")},
            {f.getAttribute("var") for f in query.elements(NS_DISCO_INFO, "feature")},
        )

    async def nodeConfig(self, owner, service, node):
        result = await self.request(
            owner, iq("get", service, pubsub(f"<configure node='{node}'/>", owner=True))
        )
        self.assertEqual("result", result["type"], result.toXml())
        form = next(
            x
            for p in result.elements(NS_PUBSUB_OWNER, "pubsub")
            for c in p.elements(NS_PUBSUB_OWNER, "configure")
            for x in c.elements(NS_DATA, "x")
        )
        return formValues(form)

    async def generateEvent(self, node, text="P", itemId=None):
        """
        A backend event (OQ-8 (1), DESIGN.md section 6): the in-process
        Python API C{server.mep.generateEvent}.

        @return: whatever the API returns (the item id, per DESIGN.md).
        """
        payload = parseXml(entry(text))
        mep = getattr(self.running.server, "mep", None)
        kwargs = {} if itemId is None else {"itemIdentifier": itemId}
        if mep is not None and callable(getattr(mep, "generateEvent", None)):
            return await defer.maybeDeferred(
                mep.generateEvent, JID(self.room), node, payload, **kwargs
            )
        room = self.running.server.rooms.get(JID(self.room))
        if room is not None and callable(getattr(room, "generateEvent", None)):
            return await defer.maybeDeferred(room.generateEvent, node, payload, **kwargs)
        self.fail("no room-event entry point: server.mep.generateEvent is missing")

    def assertError(self, stanza, kind, condition, specific=None, specificNS=NS_PUBSUB_ERRORS):
        """
        Assert an error stanza of type C{kind} with the stanza error
        C{condition} and, if given, the application condition C{specific}.
        """
        self.assertEqual("error", stanza.getAttribute("type"), stanza.toXml())
        errorType, conditions = errorConditions(stanza)
        if kind is not None:
            self.assertEqual(kind, errorType, stanza.toXml())
        self.assertIn((NS_STANZAS, condition), conditions, stanza.toXml())
        if specific is not None:
            self.assertIn((specificNS, specific), conditions, stanza.toXml())

    async def exactlyOne(self, client, match):
        """
        Wait for one stanza matching C{match} and check that no second
        arrived before a ping's answer. Clear the client before the action
        that triggers it.

        @return: the stanza.
        """
        stanza = await client.waitFor(match, WAIT)
        await client.ping(WAIT)
        self.assertEqual(1, len([e for e in client.received if match(e)]))
        return stanza

    # -- 2.1 Discovery on the room JID ------------------------------------

    async def test_R1_roomIdentity(self):
        """
        R1: Room identity (XEP-0316 section 6; XEP-0045 section 6.4): the
        room's disco#info has conference/text and pubsub/mep, not pubsub/pep.
        """
        await self.startRoom()
        await self.join("a")
        n = await self.connect("n")
        identities, _ = await self.roomFeatures(n)
        self.assertIn(("conference", "text"), identities)
        self.assertIn(("pubsub", "mep"), identities)
        self.assertNotIn(("pubsub", "pep"), identities)

    async def test_R2_roomPubsubFeatures(self):
        """
        R2: Room pubsub features (XEP-0316 section 6; XEP-0060 section
        5.1): every var of Appendix B's required list is advertised.
        """
        await self.startRoom()
        a = await self.join("a")
        _, features = await self.roomFeatures(a)
        missing = [f for f in REQUIRED_FEATURES if f not in features]
        self.assertEqual([], missing)

    async def test_R3_mucFeaturesStillPresent(self):
        """
        R3: MUC features still present (XEP-0045 section 6.4): muc and
        muc_open (the configured room is open).
        """
        await self.startRoom()
        a = await self.join("a")
        _, features = await self.roomFeatures(a)
        self.assertIn("http://jabber.org/protocol/muc", features)
        self.assertIn("muc_open", features)
        self.assertNotIn("muc_membersonly", features)

    async def test_R4_advertisedFeaturesAreTrue(self):
        """
        R4: Advertised features are true (XEP-0060 sections 6.1.7, 7.1.1,
        7.1.4, 8.1.3): last-published is advertised, and none of the vars
        Appendix B forbids.
        """
        await self.startRoom()
        a = await self.join("a")
        _, features = await self.roomFeatures(a)
        self.assertIn(NS_PUBSUB + "#last-published", features)
        self.assertEqual([], [f for f in FORBIDDEN_FEATURES if f in features])

    # -- 2.2 The virtual pubsub services ---------------------------------

    async def test_R5_roomIsPubsubService(self):
        """
        R5: Room JID = pubsub service (XEP-0316 sections 4.1, 5; XEP-0045
        section 17.4 rule 1): an items request to the room JID gets a
        pubsub answer, not service-unavailable.
        """
        await self.startRoom()
        a = await self.join("a")
        result = await self.items(a, self.room, N1)
        if result["type"] == "error":
            _, conditions = errorConditions(result)
            self.assertNotIn((NS_STANZAS, "service-unavailable"), conditions, result.toXml())
            self.assertNotIn((NS_STANZAS, "feature-not-implemented"), conditions, result.toXml())
        else:
            self.assertEqual("result", result["type"])
            self.assertIsNotNone(next(result.elements(NS_PUBSUB, "pubsub"), None), result.toXml())

    async def test_R6_occupantIsOwnService(self):
        """
        R6: Occupant JID = its own pubsub service (XEP-0316 sections 3,
        4.1): N1 at .../a and at .../b are separate nodes.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(a, N1, "X")
        await self.publishOK(b, N1, "Y")
        atA = await self.items(b, a.occupant, N1)
        atB = await self.items(a, b.occupant, N1)
        self.assertEqual(["X"], [payloadText(i) for i in self.itemsOf(atA)], atA.toXml())
        self.assertEqual(["Y"], [payloadText(i) for i in self.itemsOf(atB)], atB.toXml())

    async def test_R7_occupantIQsAnsweredNotForwarded(self):
        """
        R7: Pubsub IQs to occupant JIDs are answered, never forwarded
        (XEP-0316 section 3, overriding XEP-0045 section 17.4 rule 3).
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1)
        b.clear()
        result = await self.items(a, b.occupant, N1)
        self.assertEqual(b.occupant, result.getAttribute("from"), result.toXml())
        self.assertEqual("result", result["type"], result.toXml())
        await b.assertNoStanzaReceived(lambda e: e.name == "iq")

    async def test_R8_unknownOccupantJID(self):
        """
        R8: Unknown occupant JID (XEP-0045 section 7.5 by analogy): an
        items request to .../nosuchnick gets cancel/item-not-found.
        """
        await self.startRoom()
        a = await self.join("a")
        result = await self.items(a, self.occupant("nosuchnick"), N1)
        self.assertError(result, "cancel", "item-not-found")

    # -- 2.3 Room-generated notifications -------------------------------

    async def test_R9_roomGeneratesEvents(self):
        """
        R9: The room generates events itself (XEP-0316 section 2): a
        backend event on N1 with payload P reaches A, who advertises
        N1+notify.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        await self.generateEvent(N1, "conference state")
        event = await a.waitFor(isEvent(N1), WAIT)
        self.assertEqual(["conference state"], [payloadText(i) for i in eventItems(event)])

    async def test_R10_roomNotificationFormat(self):
        """
        R10: Room notification format (XEP-0316 section 2 example; XEP-0060
        section 7.1.2.1; XEP-0163 section 4.3.1 rule 1): a headline from
        the bare room JID to the occupant's full JID, event/items/@node,
        an item id and the payload.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        await self.generateEvent(N1, "P10")
        event = await a.waitFor(isEvent(N1), WAIT)
        self.assertEqual(self.room, event.getAttribute("from"))
        self.assertEqual(self.realJID("a"), event.getAttribute("to"))
        self.assertEqual("headline", event.getAttribute("type"))
        self.assertTrue(event.getAttribute("id"))
        [item] = eventItems(event)
        self.assertTrue(item.getAttribute("id"))
        self.assertEqual("P10", payloadText(item))

    async def test_R11_itemIds(self):
        """
        R11: Item IDs (XEP-0060 sections 7.1.1, 12.9): backend events
        without an id get non-empty, distinct item ids.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        ids = []
        for text in ("one", "two"):
            a.clear()
            await self.generateEvent(N1, text)
            event = await a.waitFor(isEvent(N1), WAIT)
            [item] = eventItems(event)
            ids.append(item.getAttribute("id"))
        self.assertTrue(all(ids), ids)
        self.assertNotEqual(ids[0], ids[1])

    async def test_R12_notificationMessageIds(self):
        """
        R12: Notification message ids (XEP-0060 sections 7.1.2, 12.4;
        DESIGN.md section 6): every notification has an id, all distinct,
        even for the same item sent to two recipients.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        await self.generateEvent(N1, "one")
        await self.generateEvent(N1, "two")
        await self.publishOK(b, N1, "three")
        ids = []
        for client in (a, b):
            for text in ("one", "two", "three"):
                event = await client.waitFor(
                    lambda e: isEvent(N1)(e) and [payloadText(i) for i in eventItems(e)] == [text],
                    WAIT,
                )
                ids.append(event.getAttribute("id"))
        self.assertTrue(all(ids), ids)
        self.assertEqual(len(ids), len(set(ids)), ids)

    async def test_R13_roomItemsPersist(self):
        """
        R13: Room items persist and can be retrieved (XEP-0316 section 5):
        after a backend event, items N1 at the room JID returns it.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        await self.generateEvent(N1, "kept", itemId="i13")
        result = await self.items(a, self.room, N1)
        self.assertEqual("result", result["type"], result.toXml())
        self.assertEqual(
            [("i13", "kept")], [(i.getAttribute("id"), payloadText(i)) for i in self.itemsOf(result)]
        )

    # -- 2.4 Occupant publishing -----------------------------------------

    async def test_R14_publishToOwnOccupantJID(self):
        """
        R14: Publish to your own occupant JID (XEP-0316 section 3; XEP-0060
        section 7.1): a result from .../b.
        """
        await self.startRoom()
        await self.join("a")
        b = await self.join("b")
        result = await self.publish(b, b.occupant, N1)
        self.assertEqual("result", result["type"], result.toXml())
        self.assertEqual(b.occupant, result.getAttribute("from"))

    async def test_R15_publishResultHasItemId(self):
        """
        R15: The publish result returns the generated ItemID (XEP-0060
        section 7.1.2).
        """
        await self.startRoom()
        b = await self.join("b")
        result = await self.publish(b, b.occupant, N1)
        self.assertEqual("result", result["type"], result.toXml())
        items = [
            i
            for p in result.elements(NS_PUBSUB, "pubsub")
            for x in p.elements(NS_PUBSUB, "publish")
            if x.getAttribute("node") == N1
            for i in x.elements(NS_PUBSUB, "item")
        ]
        self.assertEqual(1, len(items), result.toXml())
        self.assertTrue(items[0].getAttribute("id"))

    async def test_R16_interestedOccupantsNotified(self):
        """
        R16: Interested occupants are notified, from the occupant JID
        (XEP-0316 section 3; XEP-0163 section 4.3.1 rule 1): A and B (both
        N1+notify) get exactly one headline from .../b; C does not.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        c = await self.join("c", features=[N2 + "+notify"])
        for client in (a, b, c):
            client.clear()
        itemId = await self.publishOK(b, N1, "P16")
        for client in (a, b):
            event = await self.exactlyOne(client, isEvent(N1))
            self.assertEqual(b.occupant, event.getAttribute("from"))
            self.assertEqual("headline", event.getAttribute("type"))
            [item] = eventItems(event)
            self.assertEqual((itemId, "P16"), (item.getAttribute("id"), payloadText(item)))
        await c.assertNoStanzaReceived(isEvent())

    async def test_R17_publisherOwnCopyOnlyIfInterested(self):
        """
        R17: The publisher gets its own event only if interested (XEP-0316
        section 3; OQ-3, OQ-4): B with N2+notify but not N1+notify gets
        nothing for its N1 publish, and one notification from .../b for
        its N2 publish.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N2 + "+notify"])
        b.clear()
        await self.publishOK(b, N1)
        await a.waitFor(isEvent(N1), WAIT)
        await b.assertNoStanzaReceived(isEvent(N1))
        self.assertEqual([], [e for e in b.received if isEvent(N1)(e)])
        await self.publishOK(b, N2)
        event = await self.exactlyOne(b, isEvent(N2))
        self.assertEqual(b.occupant, event.getAttribute("from"))

    async def test_R18_republishOverwrites(self):
        """
        R18: Re-publishing an ItemID overwrites and notifies again
        (XEP-0060 sections 7.1.2, 7.1.3, 12.9).
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        a.clear()
        await self.publishOK(b, N1, "P1", itemId="x")
        await self.publishOK(b, N1, "P2", itemId="x")
        for text in ("P1", "P2"):
            await a.waitFor(
                lambda e: isEvent(N1)(e) and [payloadText(i) for i in eventItems(e)] == [text], WAIT
            )
        self.assertEqual(2, len([e for e in a.received if isEvent(N1)(e)]))
        result = await self.items(a, b.occupant, N1)
        self.assertEqual(
            [("x", "P2")], [(i.getAttribute("id"), payloadText(i)) for i in self.itemsOf(result)]
        )

    async def test_R19_publishSyntaxErrors(self):
        """
        R19: Publish syntax errors (XEP-0060 sections 7.1.1, 7.1.3.6): no
        node gives modify/bad-request; two payloads give bad-request +
        invalid-payload.
        """
        await self.startRoom()
        b = await self.join("b")
        result = await self.request(
            b, iq("set", b.occupant, pubsub(f"<publish><item>{entry('P')}</item></publish>"))
        )
        self.assertError(result, "modify", "bad-request")
        result = await self.request(
            b,
            iq("set", b.occupant,
               pubsub(f"<publish node='{N1}'><item>{entry('P')}{entry('Q')}</item></publish>")),
        )
        self.assertError(result, "modify", "bad-request", "invalid-payload")

    # -- 2.5 Who may publish where ---------------------------------------

    async def test_R20_onlyOccupantPublishesToOwnJID(self):
        """
        R20: Only the occupant publishes to its own occupant JID (XEP-0316
        section 4.2; XEP-0060 section 7.1.3.1): A publishing at .../b gets
        auth/forbidden, nobody is notified, B's items are unchanged.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        await self.publishOK(b, N1, "mine", itemId="b1")
        await a.waitFor(isEvent(N1), WAIT)
        await b.waitFor(isEvent(N1), WAIT)
        a.clear()
        b.clear()
        result = await self.publish(a, b.occupant, N1, "intruder", itemId="b1")
        self.assertError(result, "auth", "forbidden")
        for client in (a, b):
            await client.assertNoStanzaReceived(isEvent())
        items = await self.items(a, b.occupant, N1)
        self.assertEqual(["mine"], [payloadText(i) for i in self.itemsOf(items)])

    async def test_R21_nobodyPublishesToRoomJID(self):
        """
        R21: Nobody publishes to the room JID over XMPP, except the backend
        (XEP-0316 sections 2, 4.2; DESIGN.md section 6
        C{mep#room_publishers} defaults to none): A, the room owner, gets
        auth/forbidden.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        a.clear()
        result = await self.publish(a, self.room, N1)
        self.assertError(result, "auth", "forbidden")
        await a.assertNoStanzaReceived(isEvent())

    async def test_R21_backendPublishesAsRoom(self):
        """
        R21: Nobody publishes to the room JID over XMPP, except the backend
        (XEP-0316 sections 2, 4.2; OQ-8 (2)): a configured backend JID's
        publish to the room JID succeeds, and A gets it from the room JID
        with no publisher attribute.
        """
        await self.startRoom(serverSettings={"backendJids": ("bot@localhost",)})
        a = await self.join("a", features=[N1 + "+notify"])
        bot = await self.connect("bot")
        result = await self.publish(bot, self.room, N1, "from backend")
        self.assertEqual("result", result["type"], result.toXml())
        event = await a.waitFor(isEvent(N1, self.room), WAIT)
        [item] = eventItems(event)
        self.assertEqual("from backend", payloadText(item))
        self.assertIsNone(item.getAttribute("publisher"), event.toXml())

    async def test_R22_nonOccupantsPublishNowhere(self):
        """
        R22: Non-occupants publish nowhere (XEP-0060 section 7.1.3.1): N
        publishing at the room JID and at .../a gets forbidden.
        """
        await self.startRoom()
        a = await self.join("a")
        n = await self.connect("n")
        for service in (self.room, a.occupant):
            result = await self.publish(n, service, N1)
            self.assertError(result, "auth", "forbidden")

    async def test_R23_ownerOnlyOperations(self):
        """
        R23: Owner-only operations stay with the owner (XEP-0060 sections
        15.2, 8.4.3.1): A deleting or configuring N1 at .../b gets
        auth/forbidden.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1)
        for inner in (f"<delete node='{N1}'/>", f"<configure node='{N1}'/>"):
            kind = "set" if "delete" in inner else "get"
            result = await self.request(a, iq(kind, b.occupant, pubsub(inner, owner=True)))
            self.assertError(result, "auth", "forbidden")

    async def test_R24_multiSessionNick(self):
        """
        R24: Multi-session nick (XEP-0045 section 7.2.8; XEP-0060 section
        4.1): a/r1 and a/r2 both join as a; r2 publishes to .../a.
        """
        await self.startRoom()
        await self.join("a")
        r2 = await self.join("a", resource="r2")
        result = await self.publish(r2, self.occupant("a"), N1)
        self.assertEqual("result", result["type"], result.toXml())

    # -- 2.6 PEP and MEP are separate ------------------------------------

    async def test_R25_pepPublishNeverTriggersMEP(self):
        """
        R25: A PEP publish never triggers MEP (XEP-0316 section 3 note):
        A publishes N1 with no C{to}; no occupant gets anything from .../a,
        and items N1 at .../a gives item-not-found.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        fromA = lambda e: e.name == "message" and e.getAttribute("from") == a.occupant and bool(events(e))
        a.clear()
        b.clear()
        inner = pubsub(f"<publish node='{N1}'><item>{entry('pep')}</item></publish>")
        result = await self.request(a, parseXml(f"<iq type='set'>{inner}</iq>", "jabber:client"))
        self.assertEqual("result", result["type"], result.toXml())
        for client in (a, b):
            await client.assertNoStanzaReceived(fromA)
        result = await self.items(b, a.occupant, N1)
        self.assertError(result, "cancel", "item-not-found")

    async def test_R26_mepPublishNeverWritesPEP(self):
        """
        R26: A MEP publish never writes into PEP (XEP-0316 section 3):
        after A publishes N1 at .../a, items N1 at a's bare JID does not
        hold the item, and no PEP event reaches A or D, A's roster contact
        with N1+notify.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        # D, a roster contact of A (mutual subscription), online with
        # N1+notify in its broadcast presence (PEP interest).
        d = await self.connect("d")
        users = self.running.server.users
        await users.setRosterItem("a", RosterItem(JID(f"d@{self.domain}"), subscription="both"))
        await users.setRosterItem("d", RosterItem(JID(f"a@{self.domain}"), subscription="both"))
        dCaps = CapsClient([N1 + "+notify"])
        dCaps.answerOn(d.xmlstream)
        d.send(dCaps.presence())
        await d.ping(WAIT)
        await d.ping(WAIT)
        a.send("<presence/>")
        await a.ping(WAIT)
        itemId = await self.publishOK(a, N1, "mep only", itemId="r26")
        await a.waitFor(isEvent(N1, a.occupant), WAIT)
        await d.assertNoStanzaReceived(isEvent(N1, f"a@{self.domain}"))
        self.assertEqual([], [e.toXml() for e in a.received + d.received if isEvent(N1, f"a@{self.domain}")(e)])
        result = await self.items(a, f"a@{self.domain}", N1)
        # Nothing there: no such PEP node, or a result without the item;
        # not another error, which would hide whatever is there.
        if result["type"] == "error":
            self.assertError(result, "cancel", "item-not-found")
        self.assertNotIn(itemId, [i.getAttribute("id") for i in self.itemsOf(result)], result.toXml())

    # -- 2.7 Auto-create -------------------------------------------------

    async def test_R27_autoCreateAtOwnJID(self):
        """
        R27: Publishing to a missing node at your own occupant JID creates
        it (XEP-0316 section 5; XEP-0060 section 7.1.4): then disco#items
        on .../b lists N2, with the MEP default configuration.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N2)
        result = await self.discoItems(a, b.occupant)
        self.assertEqual("result", result["type"], result.toXml())
        nodes = [i.getAttribute("node") for i in result.query.elements(NS_DISCO_ITEMS, "item")]
        self.assertIn(N2, nodes)
        values = await self.nodeConfig(b, b.occupant, N2)
        self.assertEqual(["presence"], values.get("pubsub#access_model"))
        self.assertTrue(isTrue(values.get("pubsub#deliver_notifications")), values)
        self.assertTrue(isTrue(values.get("pubsub#deliver_payloads")), values)
        self.assertEqual(["on_sub_and_presence"], values.get("pubsub#send_last_published_item"))

    async def test_R28_roomNodesAutoCreated(self):
        """
        R28: Room nodes are auto-created by backend events (XEP-0316
        section 5): a never-used node then shows up in disco#items on the
        room JID.
        """
        await self.startRoom()
        a = await self.join("a")
        await self.generateEvent(N2, "new")
        result = await self.discoItems(a, self.room)
        self.assertEqual("result", result["type"], result.toXml())
        nodes = [i.getAttribute("node") for i in result.query.elements(NS_DISCO_ITEMS, "item")]
        self.assertIn(N2, nodes)

    # -- 2.8 Auto-subscribe through directed presence --------------------

    async def test_R29_joiningSubscribes(self):
        """
        R29: Joining creates the implicit subscription (XEP-0316 sections
        4.4, 5; XEP-0060 section 9.1.3): A never subscribes; B auto-creates
        N1 later and publishes; A receives it.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        await self.publishOK(b, N1, "later")
        event = await a.waitFor(isEvent(N1, b.occupant), WAIT)
        self.assertEqual(["later"], [payloadText(i) for i in eventItems(event)])

    async def test_R30_leavingEndsSubscription(self):
        """
        R30: Leaving ends it (XEP-0060 section 9.1.3; XEP-0163 section
        7.1): after C leaves, and after D is kicked, B's publishes reach
        neither (A, still in, gets them).
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        c = await self.join("c", features=[N1 + "+notify"])
        d = await self.join("d", features=[N1 + "+notify"])
        await self.leave(c)
        a.clear()
        c.clear()
        await self.publishOK(b, N1, "after leave")
        await a.waitFor(isEvent(N1), WAIT)
        await c.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in c.received if events(e)])

        result = await self.request(
            a, iq("set", self.room, f"<query xmlns='{NS_MUC_ADMIN}'><item nick='d' role='none'/></query>")
        )
        self.assertEqual("result", result["type"], result.toXml())
        await d.waitFor(
            lambda e: e.name == "presence" and e.getAttribute("from") == d.occupant and 307 in statuses(e),
            WAIT,
        )
        a.clear()
        d.clear()
        await self.publishOK(b, N1, "after kick")
        await a.waitFor(isEvent(N1), WAIT)
        await d.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in d.received if events(e)])

    async def test_R31_visitorsCount(self):
        """
        R31: Every role counts (XEP-0045 section 5.1.1): in a moderated
        room, visitor C with N1+notify receives a publish.
        """
        await self.startRoom(moderatedroom="1")
        a = await self.join("a")
        c = await self.join("c", features=[N1 + "+notify"])
        self_presence = [
            e for e in c.received
            if e.name == "presence" and e.getAttribute("from") == c.occupant and 110 in statuses(e)
        ][-1]
        roles = [i.getAttribute("role") for x in self_presence.elements(NS_MUC_USER, "x")
                 for i in x.elements(NS_MUC_USER, "item")]
        self.assertEqual(["visitor"], roles)
        await self.publishOK(a, N1, "to visitors")
        await c.waitFor(isEvent(N1, a.occupant), WAIT)

    async def test_R32_joiningNeverProducesPubsubErrors(self):
        """
        R32: Joining never produces pubsub errors (XEP-0060 section 9.1.2):
        joins without caps, with bogus caps and with a failing disco query
        all complete, with no error stanza.
        """
        await self.startRoom()
        await self.join("a")
        b = await self.join("b")
        c = await self.join("c", c=capsElement("urn:example:client", "bogus=="))
        d = await self.connect("d")
        d.xmlstream.addObserver(
            "/iq[@type='get']",
            lambda request: d.send(
                f"<iq type='error' id='{request['id']}' to='{request['from']}'>"
                f"<error type='cancel'><service-unavailable xmlns='{NS_STANZAS}'/></error></iq>"
            ) if isDiscoInfoGet(request) else None,
            1,
        )
        caps = CapsClient([N1 + "+notify"])
        await self.join("d", client=d, c=caps.caps())
        # The room has D's error answer, and B and C have whatever the
        # joins sent them.
        for client in (b, c, d):
            await client.ping(WAIT)
        for client in (b, c, d):
            errors = [e for e in client.received if e.getAttribute("type") == "error"]
            self.assertEqual([], [e.toXml() for e in errors])

    async def test_R33_notificationsToInRoomFullJID(self):
        """
        R33: Notifications go to the in-room full JID (XEP-0163 section
        4.3.1 rule 4; XEP-0060 section 12.3): another online resource of
        A, not in the room, gets nothing.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        other = await self.connect("a", "r2")
        caps = CapsClient([N1 + "+notify"])
        caps.answerOn(other.xmlstream)
        other.send(caps.presence())
        # The server's caps query is here once a ping returns, and its
        # answer (sent on arrival) handled once a second one does.
        await other.ping(WAIT)
        await other.ping(WAIT)
        b = await self.join("b")
        other.clear()
        await self.publishOK(b, N1)
        event = await a.waitFor(isEvent(N1), WAIT)
        self.assertEqual(self.realJID("a"), event.getAttribute("to"))
        await other.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in other.received if events(e)])

    # -- 2.9 Filtered notifications and entity capabilities --------------

    async def test_R34_filterOnNotify(self):
        """
        R34: Filter on NodeID+notify (XEP-0316 section 5; XEP-0060 section
        9.2): N1 reaches only A (N1+notify), N2 only C (N2+notify).
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        c = await self.join("c", features=[N2 + "+notify"])
        a.clear()
        c.clear()
        await self.publishOK(b, N1)
        await a.waitFor(isEvent(N1), WAIT)
        await self.publishOK(b, N2)
        await c.waitFor(isEvent(N2), WAIT)
        await a.assertNoStanzaReceived(isEvent(N2))
        self.assertEqual([], [e for e in a.received if isEvent(N2)(e)])
        self.assertEqual([], [e for e in c.received if isEvent(N1)(e)])

    async def test_R35_capsFromPresenceUpdate(self):
        """
        R35: Caps come from the C{<c/>} in presence to the occupant JID
        (XEP-0316 sections 2, 4.4; XEP-0060 section 9.2): A joins without
        N1+notify, then sends presence with caps V2 that include it; B's
        next publish reaches A.
        """
        await self.startRoom()
        a = await self.join("a", features=[N2 + "+notify"])
        b = await self.join("b")
        caps = CapsClient(["http://jabber.org/protocol/disco#info", N1 + "+notify"])
        self.answerCaps(a, caps)
        a.clear()
        presence = caps.presence(to=a.occupant)
        a.send(presence)
        # V2 is new to the room, which has to ask; A answers on arrival,
        # and the room has the answer once a ping sent after it returns.
        await a.waitFor(isDiscoInfoGet, WAIT)
        await a.ping(WAIT)
        await self.publishOK(b, N1, "after update")
        await a.waitFor(
            lambda e: isEvent(N1)(e) and [payloadText(i) for i in eventItems(e)] == ["after update"],
            WAIT,
        )

    async def test_R36_discoQueryToRealFullJID(self):
        """
        R36: An unknown ver triggers a disco#info to the real full JID
        (XEP-0316 section 2; XEP-0115 sections 5.4, 6.2; OQ-13): from the
        room JID, to a@.../r1, with node='caps-node#ver'.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        query = await a.waitFor(isDiscoInfoGet, WAIT)
        self.assertEqual(self.room, query.getAttribute("from"))
        self.assertEqual(self.realJID("a"), query.getAttribute("to"))
        self.assertEqual(
            f"{a.caps.node}#{a.caps.ver}",
            next(query.elements(NS_DISCO_INFO, "query")).getAttribute("node"),
        )

    async def test_R37_hashIsChecked(self):
        """
        R37: The hash is checked (XEP-0115 section 5.4 step 3; XEP-0060
        section 9.2): B's ver does not match its answer (which has
        N1+notify), and C's answer lists a feature twice; neither gets N1
        notifications.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.connect("b")
        lying = CapsClient(["http://jabber.org/protocol/disco#info", N1 + "+notify"])
        lying.ver = CapsClient(["http://jabber.org/protocol/disco#info"]).ver
        lying.answerOn(b.xmlstream)
        await self.join("b", client=b, c=lying.caps())
        c = await self.connect("c")
        duplicated = CapsClient(
            ["http://jabber.org/protocol/disco#info", N1 + "+notify", N1 + "+notify"]
        )
        duplicated.answerOn(c.xmlstream)
        await self.join("c", client=c, c=duplicated.caps())
        for client in (b, c):
            # Neither ver was verified before: the room asks, the client
            # answers on arrival, and a ping returns once the room has the
            # answer.
            await client.waitFor(isDiscoInfoGet, WAIT)
            await client.ping(WAIT)
        a.clear()
        b.clear()
        c.clear()
        await self.publishOK(a, N1)
        await a.waitFor(isEvent(N1), WAIT)
        for client in (b, c):
            await client.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in b.received + c.received if events(e)])

    async def test_R38_verifiedVersCached(self):
        """
        R38: Verified vers are cached (XEP-0115 sections 5.4, 8.2): C joins
        with A's verified caps, gets no disco query, and still gets N1
        notifications.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        await a.waitFor(isDiscoInfoGet, WAIT)
        c = await self.join("c", features=[N1 + "+notify"])
        self.assertEqual(a.caps.ver, c.caps.ver)
        self.assertEqual([], [e.toXml() for e in c.received if isDiscoInfoGet(e)])
        await self.publishOK(a, N1, "cached")
        await c.waitFor(isEvent(N1), WAIT)

    async def test_R39_unknownHashPerJID(self):
        """
        R39: SHA-1 is mandatory; other hashes are handled per JID (XEP-0115
        sections 9.1, 5.4 step 2): C with hash='x-unknown' is asked, answers
        with N1+notify and gets notifications; D with the same ver gets its
        own query.
        """
        await self.startRoom()
        a = await self.join("a")
        caps = CapsClient(["http://jabber.org/protocol/disco#info", N1 + "+notify"])
        clients = []
        for name in ("c", "d"):
            client = await self.connect(name)
            caps.answerOn(client.xmlstream)
            await self.join(name, client=client, c=capsElement(caps.node, caps.ver, "x-unknown"))
            query = await client.waitFor(isDiscoInfoGet, WAIT)
            self.assertEqual(self.realJID(name), query.getAttribute("to"))
            await client.ping(WAIT)
            clients.append(client)
        await self.publishOK(a, N1, "any hash")
        for client in clients:
            await client.waitFor(isEvent(N1), WAIT)

    async def test_R40_legacyCapsIgnored(self):
        """
        R40: Caps without C{hash} (legacy) are ignored (XEP-0115 sections
        5.4 step 1, 13): no disco query and no notifications.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        c = await self.connect("c")
        caps = CapsClient(["http://jabber.org/protocol/disco#info", N1 + "+notify"])
        caps.answerOn(c.xmlstream)
        await self.join("c", client=c, c=capsElement("urn:example:client", "1.0", None))
        await c.ping(WAIT)
        await self.publishOK(a, N1)
        await a.waitFor(isEvent(N1), WAIT)
        await c.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e.toXml() for e in c.received if isDiscoInfoGet(e) or events(e)])

    async def test_R41_noNotificationsUntilCapsResolve(self):
        """
        R41: No caps means no notifications, until caps resolve (XEP-0115
        section 8.3; XEP-0060 section 12.2 trigger 3): B's publish during
        A's delayed disco answer does not reach A; once A answers, A gets
        B's last N1 item with a delay stamp.
        """
        await self.startRoom()
        b = await self.join("b")
        a = await self.connect("a")
        caps = CapsClient(["http://jabber.org/protocol/disco#info", N1 + "+notify"])
        await self.join("a", client=a, c=caps.caps())
        query = await a.waitFor(isDiscoInfoGet, WAIT)
        await self.publishOK(b, N1, "during delay")
        await a.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in a.received if events(e)])
        a.send(caps.answer(query))
        event = await a.waitFor(isEvent(N1, b.occupant), WAIT)
        self.assertEqual(["during delay"], [payloadText(i) for i in eventItems(event)])
        self.assertIsNotNone(delayOf(event), event.toXml())

    async def test_R42_failedDiscoNoInterest(self):
        """
        R42: A failed disco query means no interest, and the occupant
        stays (XEP-0115 section 8.3): A answers service-unavailable, stays
        joined and gets no notifications.
        """
        await self.startRoom()
        b = await self.join("b", features=[N1 + "+notify"])
        a = await self.connect("a")
        # Caps of A's own, so that the room has to ask A.
        caps = CapsClient(["http://jabber.org/protocol/disco#info", N1 + "+notify", "urn:example:r42"])
        await self.join("a", client=a, c=caps.caps())
        query = await a.waitFor(isDiscoInfoGet, WAIT)
        a.send(
            f"<iq type='error' id='{query['id']}' to='{query['from']}'>"
            f"<error type='cancel'><service-unavailable xmlns='{NS_STANZAS}'/></error></iq>"
        )
        await a.ping(WAIT)
        a.clear()
        await self.publishOK(b, N1)
        await b.waitFor(isEvent(N1), WAIT)
        await a.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in a.received if events(e)])
        # Still joined: a groupchat message is reflected.
        a.send(f"<message to='{self.room}' type='groupchat' id='still'><body>here</body></message>")
        reflected = await a.waitFor(lambda e: e.name == "message" and e.getAttribute("id") == "still", WAIT)
        self.assertEqual(a.occupant, reflected.getAttribute("from"))

    async def test_R43_interestPerSession(self):
        """
        R43: Interest is per session (XEP-0163 section 4.3.2 rule 3): r1
        (N1+notify) and r2 (no N1+notify) share nick a; only r1 is notified.
        """
        await self.startRoom()
        r1 = await self.join("a", features=[N1 + "+notify"])
        r2 = await self.join("a", resource="r2", features=[N2 + "+notify"])
        b = await self.join("b")
        r1.clear()
        r2.clear()
        await self.publishOK(b, N1)
        event = await r1.waitFor(isEvent(N1), WAIT)
        self.assertEqual(self.realJID("a", "r1"), event.getAttribute("to"))
        await r2.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in r2.received if events(e)])

    # -- 2.10 Access model "presence" and non-occupants ------------------

    async def test_R44_presenceAccessModelDefault(self):
        """
        R44: "presence" is the default, and is supported (XEP-0316 section
        5; XEP-0060 section 4.5): a fresh node's configuration form shows
        pubsub#access_model = presence.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        values = await self.nodeConfig(b, b.occupant, N1)
        self.assertEqual(["presence"], values.get("pubsub#access_model"), values)

    async def test_R45_nonOccupantsCannotSubscribe(self):
        """
        R45: Non-occupants cannot subscribe (XEP-0060 section 6.1.3.2):
        auth/not-authorized + presence-subscription-required at the room
        JID and at .../b.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        n = await self.connect("n")
        for service in (self.room, b.occupant):
            result = await self.request(
                n, iq("set", service, pubsub(f"<subscribe node='{N1}' jid='{n.jid.full()}'/>"))
            )
            self.assertError(result, "auth", "not-authorized", "presence-subscription-required")

    async def test_R46_nonOccupantsCannotRetrieve(self):
        """
        R46: Non-occupants cannot retrieve items (XEP-0060 sections 6.5.1,
        6.5.9.6): auth/not-authorized + presence-subscription-required.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        n = await self.connect("n")
        for service in (self.room, b.occupant):
            result = await self.items(n, service, N1)
            self.assertError(result, "auth", "not-authorized", "presence-subscription-required")

    async def test_R47_nonOccupantsSeeNoNodes(self):
        """
        R47: Non-occupants see no nodes (XEP-0163 section 6.2): N's
        disco#items to the room JID has no item with a node attribute.
        """
        await self.startRoom()
        a = await self.join("a")
        await self.generateEvent(N1)
        seen = await self.discoItems(a, self.room)
        self.assertIn(N1, [i.getAttribute("node") for i in seen.query.elements(NS_DISCO_ITEMS, "item")])
        n = await self.connect("n")
        result = await self.discoItems(n, self.room)
        self.assertEqual("result", result["type"], result.toXml())
        self.assertEqual(
            [], [i.toXml() for i in result.query.elements(NS_DISCO_ITEMS, "item") if i.getAttribute("node")]
        )

    async def test_R48_nonOccupantDiscoToOccupantJID(self):
        """
        R48: Non-occupant disco to an occupant JID gets bad-request
        (XEP-0045 section 6.6): disco#info and disco#items to .../b.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        n = await self.connect("n")
        for result in (await self.discoInfo(n, b.occupant), await self.discoItems(n, b.occupant)):
            self.assertError(result, "modify", "bad-request")

    async def test_R49_occupantsMayRead(self):
        """
        R49: Occupants may read (XEP-0060 sections 6.5.1, 12.12): A
        retrieves items at the room JID and at .../b.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.generateEvent(N1, "room")
        await self.publishOK(b, N1, "bee")
        for service, text in ((self.room, "room"), (b.occupant, "bee")):
            result = await self.items(a, service, N1)
            self.assertEqual("result", result["type"], result.toXml())
            self.assertEqual([text], [payloadText(i) for i in self.itemsOf(result)])

    async def test_R50_onlyPresenceAccepted(self):
        """
        R50: Only "presence" is accepted (XEP-0060 section 8.1.2; OQ-21):
        creating N2 with access_model=open gets modify/not-acceptable +
        unsupported-access-model.
        """
        await self.startRoom()
        b = await self.join("b")
        form = nodeConfigForm({"pubsub#access_model": "open"})
        result = await self.request(
            b, iq("set", b.occupant, pubsub(f"<create node='{N2}'/><configure>{form}</configure>"))
        )
        self.assertError(result, "modify", "not-acceptable", "unsupported-access-model")

    # -- 2.11 Affiliations -----------------------------------------------

    async def test_R51_ownerAffiliation(self):
        """
        R51: Owner (XEP-0316 section 5; XEP-0060 section 4.1): B configures
        and deletes N1 at .../b; with retrieve-affiliations, B is owner.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        await self.nodeConfig(b, b.occupant, N1)
        _, features = await self.roomFeatures(b)
        if NS_PUBSUB + "#retrieve-affiliations" in features:
            result = await self.request(b, iq("get", b.occupant, pubsub("<affiliations/>")))
            self.assertEqual("result", result["type"], result.toXml())
            affiliations = {
                a.getAttribute("node"): a.getAttribute("affiliation")
                for p in result.elements(NS_PUBSUB, "pubsub")
                for x in p.elements(NS_PUBSUB, "affiliations")
                for a in x.elements(NS_PUBSUB, "affiliation")
            }
            self.assertEqual("owner", affiliations.get(N1), result.toXml())
        result = await self.request(b, iq("set", b.occupant, pubsub(f"<delete node='{N1}'/>", owner=True)))
        self.assertEqual("result", result["type"], result.toXml())

    async def test_R52_subscriberSubscriptions(self):
        """
        R52: "Subscriber" (XEP-0316 section 5; OQ-11): if
        retrieve-subscriptions is offered, A's subscriptions at .../b show
        A's full JID subscribed to N1 while A is in the room.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1)
        _, features = await self.roomFeatures(a)
        if NS_PUBSUB + "#retrieve-subscriptions" not in features:
            raise unittest.SkipTest("retrieve-subscriptions is not advertised (optional)")
        result = await self.request(a, iq("get", b.occupant, pubsub("<subscriptions/>")))
        self.assertEqual("result", result["type"], result.toXml())
        subscriptions = [
            (s.getAttribute("node"), s.getAttribute("jid"), s.getAttribute("subscription"))
            for p in result.elements(NS_PUBSUB, "pubsub")
            for x in p.elements(NS_PUBSUB, "subscriptions")
            for s in x.elements(NS_PUBSUB, "subscription")
        ]
        self.assertIn((N1, self.realJID("a"), "subscribed"), subscriptions, result.toXml())

    # -- 2.12 Use cases --------------------------------------------------

    async def test_R53_nodeDiscoveryRoomJID(self):
        """
        R53: Node discovery: room JID (XEP-0316 section 5; XEP-0060 section
        5.2): C{<item jid='coven@...' node='N1'/>} after a backend event.
        """
        await self.startRoom()
        a = await self.join("a")
        await self.generateEvent(N1)
        result = await self.discoItems(a, self.room)
        self.assertEqual("result", result["type"], result.toXml())
        self.assertIn(
            (self.room, N1),
            [(i.getAttribute("jid"), i.getAttribute("node")) for i in result.query.elements(NS_DISCO_ITEMS, "item")],
        )

    async def test_R54_nodeDiscoveryOccupantJID(self):
        """
        R54: Node discovery: occupant JID (XEP-0316 sections 4.1, 5): A's
        disco#items to .../b lists exactly B's MEP node, nothing of B's
        client.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1)
        result = await self.discoItems(a, b.occupant)
        self.assertEqual("result", result["type"], result.toXml())
        self.assertEqual(b.occupant, result.getAttribute("from"))
        self.assertEqual(
            [(b.occupant, N1)],
            [(i.getAttribute("jid"), i.getAttribute("node")) for i in result.query.elements(NS_DISCO_ITEMS, "item")],
        )

    async def test_R55_nodeInfo(self):
        """
        R55: Node info (XEP-0060 sections 5.3, 5.4; XEP-0030): disco#info
        node=N1 at .../b gives pubsub/leaf; node='nope' gives
        item-not-found.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1)
        result = await self.discoInfo(a, b.occupant, N1)
        self.assertEqual("result", result["type"], result.toXml())
        identities = [
            (i.getAttribute("category"), i.getAttribute("type"))
            for i in result.query.elements(NS_DISCO_INFO, "identity")
        ]
        self.assertIn(("pubsub", "leaf"), identities)
        result = await self.discoInfo(a, b.occupant, "nope")
        self.assertError(result, None, "item-not-found")

    async def test_R56_nodeCreation(self):
        """
        R56: Node creation (XEP-0316 section 5; XEP-0060 section 8.1): at
        one's own occupant JID it works; again gives conflict; no node gives
        not-acceptable + nodeid-required; at another occupant or the room,
        forbidden.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        create = lambda to, attrs: self.request(b, iq("set", to, pubsub(f"<create{attrs}/>")))
        result = await create(b.occupant, f" node='{N2}'")
        self.assertEqual("result", result["type"], result.toXml())
        result = await create(b.occupant, f" node='{N2}'")
        self.assertError(result, "cancel", "conflict")
        result = await create(b.occupant, "")
        self.assertError(result, "modify", "not-acceptable", "nodeid-required")
        for service in (a.occupant, self.room):
            result = await create(service, f" node='{N1}'")
            self.assertError(result, "auth", "forbidden")

    async def test_R57_createAndConfigure(self):
        """
        R57: Create-and-configure, and configure (XEP-0060 sections 8.1.3,
        8.2): max_items=5 at creation shows in the configuration form, with
        the R27 defaults.
        """
        await self.startRoom()
        b = await self.join("b")
        form = nodeConfigForm({"pubsub#max_items": "5"})
        result = await self.request(
            b, iq("set", b.occupant, pubsub(f"<create node='{N2}'/><configure>{form}</configure>"))
        )
        self.assertEqual("result", result["type"], result.toXml())
        values = await self.nodeConfig(b, b.occupant, N2)
        self.assertEqual(["5"], values.get("pubsub#max_items"), values)
        self.assertEqual(["presence"], values.get("pubsub#access_model"))
        self.assertTrue(isTrue(values.get("pubsub#deliver_notifications")), values)
        self.assertTrue(isTrue(values.get("pubsub#deliver_payloads")), values)
        self.assertEqual(["on_sub_and_presence"], values.get("pubsub#send_last_published_item"))

    async def test_R58_nodeDeletion(self):
        """
        R58: Node deletion (XEP-0316 section 5; XEP-0060 sections 8.4,
        8.4.3): B deletes N2; A (N2+notify) gets a headline from .../b with
        C{<delete node='N2'/>}; items N2 then gives item-not-found.
        """
        await self.startRoom()
        a = await self.join("a", features=[N2 + "+notify"])
        b = await self.join("b")
        await self.publishOK(b, N2)
        await a.waitFor(isEvent(N2), WAIT)
        result = await self.request(b, iq("set", b.occupant, pubsub(f"<delete node='{N2}'/>", owner=True)))
        self.assertEqual("result", result["type"], result.toXml())
        event = await a.waitFor(isEvent(N2, b.occupant, child="delete"), WAIT)
        self.assertEqual("headline", event.getAttribute("type"))
        result = await self.items(a, b.occupant, N2)
        self.assertError(result, "cancel", "item-not-found")

    async def test_R59_rootDeletionRefused(self):
        """
        R59: Deleting the root is refused (XEP-0248 section 7.4.3.1;
        XEP-0060 section 8.4.3): cancel/not-allowed.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        result = await self.request(b, iq("set", b.occupant, pubsub("<delete/>", owner=True)))
        self.assertError(result, "cancel", "not-allowed")

    async def test_R60_explicitSubscribe(self):
        """
        R60: Explicit subscribe (XEP-0316 section 5; XEP-0060 section 6.1):
        A subscribes to N1 at .../b and is subscribed; with
        jid='c@...' it gets bad-request + invalid-jid.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1)
        result = await self.request(
            a, iq("set", b.occupant, pubsub(f"<subscribe node='{N1}' jid='{self.realJID('a')}'/>"))
        )
        self.assertEqual("result", result["type"], result.toXml())
        [subscription] = [
            s for p in result.elements(NS_PUBSUB, "pubsub") for s in p.elements(NS_PUBSUB, "subscription")
        ]
        self.assertEqual("subscribed", subscription.getAttribute("subscription"))
        result = await self.request(
            a, iq("set", b.occupant, pubsub(f"<subscribe node='{N1}' jid='c@{self.domain}'/>"))
        )
        self.assertError(result, "modify", "bad-request", "invalid-jid")

    async def test_R61_explicitSubscribersNotified(self):
        """
        R61: Explicit subscribers are notified, with or without +notify
        (XEP-0060 section 4.2; OQ-12): A, with no caps, subscribes; B's
        publish reaches A; after A leaves, nothing does.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1, "first")
        result = await self.request(
            a, iq("set", b.occupant, pubsub(f"<subscribe node='{N1}' jid='{self.realJID('a')}'/>"))
        )
        self.assertEqual("result", result["type"], result.toXml())
        await self.publishOK(b, N1, "second")
        await a.waitFor(
            lambda e: isEvent(N1, b.occupant)(e) and [payloadText(i) for i in eventItems(e)] == ["second"],
            WAIT,
        )
        await self.leave(a)
        a.clear()
        await self.publishOK(b, N1, "third")
        await a.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in a.received if events(e)])

    async def test_R62_unsubscribe(self):
        """
        R62: Unsubscribe (XEP-0316 section 5; XEP-0060 section 6.2): a
        result, then cancel/unexpected-request + not-subscribed.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1)
        me = self.realJID("a")
        result = await self.request(a, iq("set", b.occupant, pubsub(f"<subscribe node='{N1}' jid='{me}'/>")))
        self.assertEqual("result", result["type"], result.toXml())
        result = await self.request(a, iq("set", b.occupant, pubsub(f"<unsubscribe node='{N1}' jid='{me}'/>")))
        self.assertEqual("result", result["type"], result.toXml())
        result = await self.request(a, iq("set", b.occupant, pubsub(f"<unsubscribe node='{N1}' jid='{me}'/>")))
        self.assertError(result, "cancel", "unexpected-request", "not-subscribed")

    async def test_R63_itemRetrieval(self):
        """
        R63: Item retrieval (XEP-0316 section 5; XEP-0060 section 6.5): all
        items, max_items, by ids, unknown id (empty), unknown node
        (item-not-found), at .../b and at the room JID.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        form = nodeConfigForm({"pubsub#max_items": "5"})
        result = await self.request(
            b, iq("set", b.occupant, pubsub(f"<create node='{N1}'/><configure>{form}</configure>"))
        )
        self.assertEqual("result", result["type"], result.toXml())
        for n in ("1", "2", "3"):
            await self.publishOK(b, N1, "p" + n, itemId="i" + n)
        ids = lambda r: sorted(i.getAttribute("id") for i in self.itemsOf(r))
        self.assertEqual(["i1", "i2", "i3"], ids(await self.items(a, b.occupant, N1)))
        self.assertEqual(["i2", "i3"], ids(await self.items(a, b.occupant, N1, " max_items='2'")))
        byIds = await self.request(
            a, iq("get", b.occupant, pubsub(f"<items node='{N1}'><item id='i1'/><item id='i3'/></items>"))
        )
        self.assertEqual(["i1", "i3"], ids(byIds))
        unknown = await self.request(
            a, iq("get", b.occupant, pubsub(f"<items node='{N1}'><item id='nope'/></items>"))
        )
        self.assertEqual("result", unknown["type"], unknown.toXml())
        self.assertEqual([], ids(unknown))
        self.assertError(await self.items(a, b.occupant, "urn:example:nope"), "cancel", "item-not-found")
        await self.generateEvent(N1, "room", itemId="r1")
        self.assertEqual(["r1"], ids(await self.items(a, self.room, N1)))
        self.assertError(await self.items(a, self.room, "urn:example:nope"), "cancel", "item-not-found")

    async def test_R64_noItemsFromRoot(self):
        """
        R64: No items from the root (XEP-0060 section 6.5.9.5):
        cancel/feature-not-implemented + unsupported feature=retrieve-items.
        """
        await self.startRoom()
        a = await self.join("a")
        result = await self.items(a, self.room)
        self.assertError(result, "cancel", "feature-not-implemented", "unsupported")
        unsupported = [
            c for c in result.error.elements(NS_PUBSUB_ERRORS, "unsupported")
        ]
        self.assertEqual(["retrieve-items"], [u.getAttribute("feature") for u in unsupported])

    async def test_R65_rootCollectionNodes(self):
        """
        R65: The room JID and each occupant JID are root collection nodes
        (XEP-0316 section 5; XEP-0248 section 8.1): disco#items without a
        node lists the leaves; configuring the root is refused.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        result = await self.discoItems(b, b.occupant)
        self.assertIn(N1, [i.getAttribute("node") for i in result.query.elements(NS_DISCO_ITEMS, "item")])
        result = await self.request(b, iq("get", b.occupant, pubsub("<configure/>", owner=True)))
        self.assertEqual("error", result["type"], result.toXml())
        result = await self.request(b, iq("set", b.occupant, pubsub("<delete/>", owner=True)))
        self.assertEqual("error", result["type"], result.toXml())

    async def test_R66_subscribeToRoot(self):
        """
        R66: Subscribing to the root returns the implicit subscription
        (XEP-0060 sections 9.1, 6.1.6): subscribed.
        """
        await self.startRoom()
        a = await self.join("a")
        result = await self.request(
            a, iq("set", self.room, pubsub(f"<subscribe jid='{self.realJID('a')}'/>"))
        )
        self.assertEqual("result", result["type"], result.toXml())
        [subscription] = [
            s for p in result.elements(NS_PUBSUB, "pubsub") for s in p.elements(NS_PUBSUB, "subscription")
        ]
        self.assertEqual("subscribed", subscription.getAttribute("subscription"))

    # -- 2.14 Defaults ---------------------------------------------------

    async def test_R67_payloadsDelivered(self):
        """
        R67: Payloads are delivered (XEP-0316 section 5; XEP-0060 section
        4.3): the notification carries the payload, and the form shows
        deliver_notifications and deliver_payloads true.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        await self.publishOK(b, N1, "payload")
        event = await a.waitFor(isEvent(N1), WAIT)
        self.assertEqual(["payload"], [payloadText(i) for i in eventItems(event)])
        values = await self.nodeConfig(b, b.occupant, N1)
        self.assertTrue(isTrue(values.get("pubsub#deliver_notifications")), values)
        self.assertTrue(isTrue(values.get("pubsub#deliver_payloads")), values)

    async def test_R68_lastItemOnJoin(self):
        """
        R68: C{send_last_published_item} = on_sub_and_presence (XEP-0316
        section 5; XEP-0163 sections 4.3.3, 4.3.4; XEP-0060 section 6.1.7;
        OQ-15): A joins with N1+notify after B's publish and a room event,
        and gets each last item once with a delay stamp, from .../b and from
        the room JID; C without N1+notify gets nothing.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1, "occupant P")
        await self.generateEvent(N1, "room P")
        a = await self.join("a", features=[N1 + "+notify"])
        for service, text in ((b.occupant, "occupant P"), (self.room, "room P")):
            event = await a.waitFor(isEvent(N1, service), WAIT)
            self.assertEqual(self.realJID("a"), event.getAttribute("to"))
            self.assertEqual("headline", event.getAttribute("type"))
            self.assertEqual([text], [payloadText(i) for i in eventItems(event)])
            self.assertIsNotNone(delayOf(event), event.toXml())
            self.assertTrue(delayOf(event).getAttribute("stamp"))
        await a.ping(WAIT)
        self.assertEqual(2, len([e for e in a.received if events(e)]))
        c = await self.join("c", features=[N2 + "+notify"])
        await c.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in c.received if events(e)])

    async def test_R69_lastItemOncePerPresence(self):
        """
        R69: The last item is sent once per initial presence (XEP-0163
        section 4.3.3 rule 2 footnote): a status change with the same caps
        repeats nothing.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        a = await self.join("a", features=[N1 + "+notify"])
        await a.waitFor(isEvent(N1), WAIT)
        a.clear()
        presence = a.caps.presence(to=a.occupant)
        presence.addElement("show", content="away")
        a.send(presence)
        await a.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e for e in a.received if events(e)])

    async def test_R70_lastItemOnExplicitSubscription(self):
        """
        R70: The last item is sent on explicit subscription (XEP-0060
        sections 6.1.7, 12.10): A without caps subscribes to N1 at .../b
        and gets the last item with a delay stamp.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b")
        await self.publishOK(b, N1, "last")
        result = await self.request(
            a, iq("set", b.occupant, pubsub(f"<subscribe node='{N1}' jid='{self.realJID('a')}'/>"))
        )
        self.assertEqual("result", result["type"], result.toXml())
        event = await a.waitFor(isEvent(N1, b.occupant), WAIT)
        self.assertEqual(["last"], [payloadText(i) for i in eventItems(event)])
        self.assertIsNotNone(delayOf(event), event.toXml())

    async def test_R71_liveNotificationsNoDelay(self):
        """
        R71: Live notifications carry no delay stamp (XEP-0203; XEP-0316
        sections 2, 3; DESIGN.md section 6).
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        await self.publishOK(b, N1)
        event = await a.waitFor(isEvent(N1, b.occupant), WAIT)
        self.assertIsNone(delayOf(event), event.toXml())
        await self.generateEvent(N1)
        event = await a.waitFor(isEvent(N1, self.room), WAIT)
        self.assertIsNone(delayOf(event), event.toXml())

    # -- 2.15 Notification format and privacy ----------------------------

    async def test_R72_fromIsServiceAddress(self):
        """
        R72: C{from} is the service address (XEP-0316 sections 2, 3;
        XEP-0163 section 4.3.1 rule 1; OQ-4): room events from the bare
        room JID, occupant events from the occupant JID, the publisher's
        own copy included.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        await self.generateEvent(N1, "room")
        await self.publishOK(b, N1, "bee")
        for client in (a, b):
            for service, text in ((self.room, "room"), (b.occupant, "bee")):
                event = await client.waitFor(
                    lambda e: isEvent(N1)(e) and [payloadText(i) for i in eventItems(e)] == [text], WAIT
                )
                self.assertEqual(service, event.getAttribute("from"))

    async def test_R73_headline(self):
        """
        R73: C{type='headline'} (XEP-0316 examples; XEP-0060 section 12.7):
        for occupant and room events, live and last-item.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        await self.publishOK(b, N1)
        await self.generateEvent(N1)
        await a.waitFor(isEvent(N1, self.room), WAIT)
        await a.waitFor(isEvent(N1, b.occupant), WAIT)
        c = await self.join("c", features=[N1 + "+notify"])
        await c.waitFor(isEvent(N1, self.room), WAIT)
        await c.waitFor(isEvent(N1, b.occupant), WAIT)
        received = [e for client in (a, b, c) for e in client.received if events(e)]
        self.assertEqual([], [e.toXml() for e in received if e.getAttribute("type") != "headline"])

    async def test_R74_noRealJIDLeakSemiAnonymous(self):
        """
        R74: No real-JID leak in semi-anonymous rooms (XEP-0045 sections
        7.2.4, 17.4 rule 3; OQ-6): participant A finds b's real JID in
        none of the event, the items result and the node's disco#info.
        """
        await self.startRoom(whois="moderators")
        await self.join("o")
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        await self.publishOK(b, N1)
        await a.waitFor(isEvent(N1, b.occupant), WAIT)
        # Answers, not errors that would have nothing to leak.
        for result in (
            await self.items(a, b.occupant, N1),
            await self.discoInfo(a, b.occupant, N1),
            await self.discoItems(a, b.occupant),
        ):
            self.assertEqual("result", result["type"], result.toXml())
        real = f"b@{self.domain}"
        self.assertEqual([], [e.toXml() for e in a.received if real in e.toXml()])

    async def test_R75_mepAfterJoinSequence(self):
        """
        R75: MEP traffic does not disturb the MUC join order (XEP-0045
        section 7.1; OQ-15): every event reaches A after the subject.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1)
        await self.generateEvent(N1)
        a = await self.join("a", features=[N1 + "+notify"])
        await a.waitFor(isEvent(N1, b.occupant), WAIT)
        await a.waitFor(isEvent(N1, self.room), WAIT)
        subjectAt = next(i for i, e in enumerate(a.received) if isSubject(self.room)(e))
        eventsAt = [i for i, e in enumerate(a.received) if events(e)]
        self.assertTrue(eventsAt)
        self.assertTrue(all(i > subjectAt for i in eventsAt), (subjectAt, eventsAt))

    # -- Open questions --------------------------------------------------

    async def test_OQ1_leaveDiscardsService(self):
        """
        OQ-1: when the last session of an occupant JID leaves, its service
        is discarded: items at .../b give item-not-found, also after b
        comes back, and no delete notification is sent.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        await self.publishOK(b, N1)
        await a.waitFor(isEvent(N1), WAIT)
        a.clear()
        await self.leave(b)
        result = await self.items(a, self.occupant("b"), N1)
        self.assertError(result, "cancel", "item-not-found")
        self.assertEqual([], [e for e in a.received if events(e)])
        await self.join("b", client=b)
        result = await self.items(a, self.occupant("b"), N1)
        self.assertError(result, "cancel", "item-not-found")

    async def test_OQ2_nickChangeMovesService(self):
        """
        OQ-2: a nick change moves the occupant's service to the new JID,
        and interested occupants get its last items from the new JID with
        a delay stamp.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b")
        await self.publishOK(b, N1, "moved")
        await a.waitFor(isEvent(N1), WAIT)
        a.clear()
        b.send(f"<presence to='{self.occupant('bee')}'/>")
        event = await a.waitFor(isEvent(N1, self.occupant("bee")), WAIT)
        self.assertEqual(["moved"], [payloadText(i) for i in eventItems(event)])
        self.assertIsNotNone(delayOf(event), event.toXml())
        result = await self.items(a, self.occupant("bee"), N1)
        self.assertEqual(["moved"], [payloadText(i) for i in self.itemsOf(result)])
        result = await self.items(a, self.occupant("b"), N1)
        self.assertError(result, "cancel", "item-not-found")

    async def test_OQ5_capsQueryToOccupantForwarded(self):
        """
        OQ-5: disco#info to an occupant JID with a caps node is forwarded
        to the occupant's client (XEP-0045 section 17.4 rule 3), while
        node discovery is answered by the room.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b", features=[N1 + "+notify"])
        result = await self.discoInfo(a, b.occupant, f"{b.caps.node}#{b.caps.ver}")
        self.assertEqual("result", result["type"], result.toXml())
        features = [f.getAttribute("var") for f in result.query.elements(NS_DISCO_INFO, "feature")]
        self.assertIn(N1 + "+notify", features)

    async def test_OQ10_visitorsMayNotPublish(self):
        """
        OQ-10: in a moderated room a visitor's publish to its own occupant
        JID gets forbidden.
        """
        await self.startRoom(moderatedroom="1")
        await self.join("a")
        c = await self.join("c")
        result = await self.publish(c, c.occupant, N1)
        self.assertError(result, "auth", "forbidden")

    async def test_OQ14_lostInterestStopsNotifications(self):
        """
        OQ-14: caps that drop N1+notify stop N1 notifications at once.
        """
        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        b = await self.join("b", features=[N1 + "+notify"])
        caps = CapsClient(["http://jabber.org/protocol/disco#info", N2 + "+notify"])
        self.answerCaps(a, caps)
        a.send(caps.presence(to=a.occupant))
        # The new ver is unknown to the room, which has to ask; A answers
        # on arrival, and the room has the answer once a ping sent after it
        # returns.
        await a.waitFor(
            lambda e: isDiscoInfoGet(e) and next(e.elements(NS_DISCO_INFO, "query")).getAttribute("node", "").endswith(caps.ver),
            WAIT,
        )
        await a.ping(WAIT)
        a.clear()
        await self.publishOK(b, N1)
        await b.waitFor(isEvent(N1), WAIT)
        await a.assertNoStanzaReceived(isEvent(N1))
        self.assertEqual([], [e for e in a.received if events(e)])

    async def test_OQ16_fullSyncRejoinResends(self):
        """
        OQ-16: a join presence from a client already joined re-sends the
        matching last items.
        """
        await self.startRoom()
        b = await self.join("b")
        await self.publishOK(b, N1, "again")
        a = await self.join("a", features=[N1 + "+notify"])
        await a.waitFor(isEvent(N1), WAIT)
        a.clear()
        presence = a.caps.presence(to=a.occupant)
        presence.addElement((NS_MUC, "x"))
        a.send(presence)
        event = await a.waitFor(isEvent(N1, b.occupant), WAIT)
        self.assertIsNotNone(delayOf(event))

    async def test_OQ17_persistentRoomKeepsItems(self):
        """
        OQ-17: a persistent room keeps its room-service items while empty.
        """
        await self.startRoom(persistentroom="1")
        a = await self.join("a")
        await self.generateEvent(N1, "durable", itemId="keep")
        await self.leave(a)
        a = await self.join("a", client=a, features=[N1 + "+notify"])
        event = await a.waitFor(isEvent(N1, self.room), WAIT)
        self.assertEqual(["durable"], [payloadText(i) for i in eventItems(event)])
        result = await self.items(a, self.room, N1)
        self.assertEqual(
            [("keep", "durable")], [(i.getAttribute("id"), payloadText(i)) for i in self.itemsOf(result)]
        )

    async def test_OQ19_eventsNotInHistory(self):
        """
        OQ-19: MEP events are not in the room's discussion history: a late
        joiner without interest gets none as history.
        """
        await self.startRoom()
        a = await self.join("a")
        await self.publishOK(a, N1)
        await self.generateEvent(N1)
        c = await self.join("c")
        await c.assertNoStanzaReceived(isEvent())
        self.assertEqual([], [e.toXml() for e in c.received if events(e)])

    # -- DESIGN.md section 6 ---------------------------------------------

    async def test_DESIGN_roomPublishersField(self):
        """
        DESIGN.md section 6: the room configuration form has
        C{mep#room_publishers} (none, owners, moderators; default none);
        set to owners, the owner's publish to the room JID succeeds and
        reaches interested occupants from the room JID.
        """
        await self.startRoom()
        a = await self.join("a")
        b = await self.join("b", features=[N1 + "+notify"])
        result = await self.request(a, iq("get", self.room, f"<query xmlns='{NS_MUC_OWNER}'/>"))
        self.assertEqual("result", result["type"], result.toXml())
        form = next(result.query.elements(NS_DATA, "x"))
        fields = {f.getAttribute("var"): f for f in form.elements(NS_DATA, "field")}
        self.assertIn("mep#room_publishers", fields)
        field = fields["mep#room_publishers"]
        self.assertEqual(["none"], [str(v) for v in field.elements(NS_DATA, "value")])
        options = {str(v) for o in field.elements(NS_DATA, "option") for v in o.elements(NS_DATA, "value")}
        self.assertEqual({"none", "owners", "moderators"}, options)
        await self.configureRoom(a, {"mep#room_publishers": "owners"})
        result = await self.publish(a, self.room, N1, "pinned")
        self.assertEqual("result", result["type"], result.toXml())
        event = await b.waitFor(isEvent(N1, self.room), WAIT)
        self.assertEqual(["pinned"], [payloadText(i) for i in eventItems(event)])
        result = await self.publish(b, self.room, N1, "not mine")
        self.assertError(result, "auth", "forbidden")

    async def test_DESIGN_httpRoomEvent(self):
        """
        DESIGN.md sections 6 and 7: C{POST /api/rooms/coven/nodes/N1/items}
        with an XML payload publishes as the room, answers with the item
        id, and reaches A from the room JID.
        """
        import treq
        from twisted.internet import reactor
        from twisted.web.client import HTTPConnectionPool

        await self.startRoom()
        a = await self.join("a", features=[N1 + "+notify"])
        pool = HTTPConnectionPool(reactor, persistent=False)
        url = f"http://127.0.0.1:{self.running.httpPort}/api/rooms/coven/nodes/{quote(N1, safe='')}/items"
        response = await treq.post(
            url, data=entry("over http").encode("utf-8"),
            headers={"Content-Type": ["application/xml"]}, pool=pool,
        )
        body = (await response.content()).decode("utf-8", "replace")
        self.assertTrue(200 <= response.code < 300, (response.code, body))
        event = await a.waitFor(isEvent(N1, self.room), WAIT)
        [item] = eventItems(event)
        self.assertEqual("over http", payloadText(item))
        self.assertIn(item.getAttribute("id"), body)
