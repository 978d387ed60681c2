# -*- test-case-name: tests.test_pep -*-
"""
Protocol tests for L{mepserver.pep}, L{mepserver.pubsub.service} and
L{mepserver.pubsub.resource}: Personal Eventing (XEP-0163) section by
section, and the XEP-0060 use cases it relies on.

Clients bound on the client domain's L{SessionManager} send XML literals
shaped like the XEPs' examples; the client domain is
L{mepserver.server.buildServer}'s own (delivery, presence, roster, PEP,
disco, fallback) over memory stores, a L{task.Clock} and seeded ids. Every
account is local to C{capulet.lit}: the server has no server-to-server
links, so the XEP's montague.lit contacts live here too. Caps are real: a
client announcing caps answers the server's disco#info query with the
identity and features its ver was computed from.
"""

from twisted.internet import defer, task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver import config as configModule
from mepserver.c2s.stream import NS_CLIENT
from mepserver.ids import SeededIdSource
from mepserver.interfaces import Credentials, RosterItem
from mepserver.pep.model import makeService
from mepserver.pubsub.registry import ServiceRegistry
from mepserver.server import buildServer
from mepserver.storage.memory import MemoryUserStore
from tests.helpers import CapsClient, matchExactly, parseXml, stanzaMismatch
from tests.test_roster import Recorder

DOMAIN = "capulet.lit"
MUC_DOMAIN = "conference.capulet.lit"

JULIET = JID("juliet@capulet.lit")
ROMEO = JID("romeo@capulet.lit")
NURSE = JID("nurse@capulet.lit")
BENVOLIO = JID("benvolio@capulet.lit")

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_OWNER = NS_PUBSUB + "#owner"
NS_EVENT = NS_PUBSUB + "#event"
NS_ERRORS = NS_PUBSUB + "#errors"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_TUNE = "http://jabber.org/protocol/tune"
NS_MOOD = "http://jabber.org/protocol/mood"
NS_GEOLOC = "http://jabber.org/protocol/geoloc"

#: XEP-0163 section 1.2, example 1 (the tune), as a payload.
TUNE = (
    "<tune xmlns='http://jabber.org/protocol/tune'>"
    "<artist>Gerald Finzi</artist><length>255</length>"
    "<source>Music for \"Love's Labors Lost\" (Suite for small orchestra)</source>"
    "<title>Introduction (Allegro vigoroso)</title><track>1</track></tune>"
)


def publish(node=NS_TUNE, payload=TUNE, itemId=None, to=None, options=None, iqId="pub1"):
    """
    A publish request (XEP-0163 section 3, XEP-0060 section 7.1.1).

    @param options: publish-options fields as C{(var, value)} pairs.
    """
    item = f"<item id='{itemId}'>" if itemId else "<item>"
    target = f" to='{to}'" if to else ""
    form = ""
    if options is not None:
        fields = "".join(
            f"<field var='{var}'><value>{value}</value></field>" for var, value in options
        )
        form = (
            "<publish-options><x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'>"
            "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            f"{fields}</x></publish-options>"
        )
    return (
        f"<iq type='set' id='{iqId}'{target}><pubsub xmlns='{NS_PUBSUB}'>"
        f"<publish node='{node}'>{item}{payload}</item></publish>{form}</pubsub></iq>"
    )


def pubsubRequest(kind, body, to=None, iqId="req1", namespace=NS_PUBSUB):
    """
    Any pubsub request.
    """
    target = f" to='{to}'" if to else ""
    return f"<iq type='{kind}' id='{iqId}'{target}><pubsub xmlns='{namespace}'>{body}</pubsub></iq>"


def pubsubError(condition, kind, application=None):
    """
    The literal of an IQ error with a pubsub-specific condition.
    """
    extra = f"<{application} xmlns='{NS_ERRORS}'/>" if application else ""
    return (
        f"<iq type='error'><error type='{kind}'>"
        f"<{condition} xmlns='{NS_STANZAS}'/>{extra}</error></iq>"
    )


def configureForm(*fields):
    """
    A submitted node configuration form (XEP-0060 section 8.2.4).
    """
    values = "".join(
        f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in value) + "</field>"
        if isinstance(value, (list, tuple))
        else f"<field var='{var}'><value>{value}</value></field>"
        for var, value in fields
    )
    return (
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
        f"<value>{NS_PUBSUB}#node_config</value></field>{values}</x>"
    )


class Client:
    """
    One bound session, with a transcript of what it receives (each stanza
    serialized and parsed again, as the client would read it).
    """

    def __init__(self, testCase, harness, username, resource):
        self.testCase = testCase
        self.stream = _Stream()
        self.session = harness.sessions.bind(username, resource, self.stream)
        self.jid = self.session.jid

    def send(self, xml):
        """
        The client sends a stanza, given as an XML literal or an element.
        """
        element = parseXml(xml, NS_CLIENT) if isinstance(xml, str) else xml
        self.session.received(element)

    def take(self):
        """
        @return: what the client received since the last call.
        """
        received, self.stream.output[:] = list(self.stream.output), []
        return [parseXml(stanza.toXml(), NS_CLIENT) for stanza in received]

    def expect(self, *expected):
        """
        Assert that the client received exactly stanzas matching the
        literals, in any order, and forget them.

        @return: the matching stanzas, in the order of C{expected}.
        """
        return matchExactly(self.testCase, self.jid.full(), self.take(), expected)

    def expectNothing(self):
        self.expect()

    def events(self):
        """
        @return: the pubsub event messages received since the last call,
            forgetting everything received.
        """
        return [s for s in self.take() if s.name == "message" and s.event is not None]

    def request(self, xml):
        """
        Send an IQ request and return its answer, forgetting everything
        else received meanwhile.
        """
        element = parseXml(xml, NS_CLIENT)
        self.send(element)
        identifier = element["id"]
        answers = [
            s
            for s in self.take()
            if s.name == "iq" and s.getAttribute("id") == identifier
        ]
        self.testCase.assertEqual(1, len(answers), f"answers to {identifier}: {answers}")
        return answers[0]

    def announce(self, features, xml="<presence/>", answer=True):
        """
        Send available presence with caps for C{features}, answer the
        server's disco#info query about them (XEP-0115 section 6.2) if it
        asks, and forget what arrived.

        @return: the query the server sent, or L{None} if it knew the caps.
        """
        caps = CapsClient(features)
        presence = parseXml(xml, NS_CLIENT)
        presence.addChild(caps.caps())
        self.send(presence)
        query = None
        for stanza in self.take():
            if caps.isQuery(stanza):
                query = stanza
        if query is not None and answer:
            self.send(caps.answer(query))
        return query


class _Stream:
    """
    A stand-in for a client's XML stream.
    """

    def __init__(self):
        self.output = []

    def send(self, obj):
        self.output.append(obj)

    def sendStreamError(self, streamError):
        raise AssertionError(streamError)


class PEPHarness:
    """
    The client domain with PEP, L{mepserver.server.buildServer}'s own,
    plus a recorded MUC domain.
    """

    def __init__(
        self, testCase, usernames=("juliet", "romeo", "nurse", "benvolio"), **settings
    ):
        """
        @param settings: L{configModule.Config} fields to change (quotas).
        """
        self.testCase = testCase
        self.clock = task.Clock()
        self.clock.advance(1071359917)  # 2003-12-13T23:58:37Z
        self.ids = SeededIdSource()
        self.users = MemoryUserStore()
        for username in usernames:
            self.users.createUser(username, Credentials({}))
        config = configModule.Config(
            domain=DOMAIN,
            mucDomain=MUC_DOMAIN,
            storage="memory",
            dataDir=testCase.mktemp(),
            **settings,
        )
        self.server = server = buildServer(
            config, clock=self.clock, users=self.users, ids=self.ids
        )
        self.router = server.router
        self.sessions = server.sessions
        self.store = server.pubsubStore
        self.pep = server.pep
        self.registry = server.pep.registry
        # Only the client domain runs: the MUC domain is the recorder below.
        self.component = server.getServiceNamed("client-domain")
        self.component.startService()
        testCase.addCleanup(self.component.stopService)
        self.muc = Recorder(self.router, MUC_DOMAIN)

    def connect(self, username, resource):
        return Client(self.testCase, self, username, resource)

    def befriend(self, username, contact, subscription="both", groups=()):
        """
        Give C{username} a roster item for C{contact}, and C{contact} the
        mirror item (RFC 6121 Appendix A), without the handshake.
        """
        mirror = {"both": "both", "from": "to", "to": "from", "none": "none"}[subscription]
        self.users.setRosterItem(
            username, RosterItem(contact=contact, subscription=subscription, groups=tuple(groups))
        )
        owner = JID(tuple=(username, DOMAIN, None))
        self.users.setRosterItem(contact.user, RosterItem(contact=owner, subscription=mirror))

    def service(self, username):
        return self.testCase.successResultOf(
            self.registry.get(JID(tuple=(username, DOMAIN, None)))
        )


def itemsOf(event):
    """
    @return: the C{<items/>} element of an event message.
    """
    return event.event.items


class PEPTestCase(unittest.TestCase):
    """
    XEP-0163 section 1.2's cast: juliet, with romeo (both, Friends) and the
    nurse (both, Servants) as contacts, and benvolio, who has no
    subscription. juliet is online at balcony and chamber, romeo at
    orchard, the nurse at chamber, benvolio at home; everyone but the
    nurse advertises tune+notify, and the nurse only geoloc+notify.
    """

    def setUp(self):
        self.harness = harness = PEPHarness(self)
        harness.befriend("juliet", ROMEO, groups=("Friends",))
        harness.befriend("juliet", NURSE, groups=("Servants",))
        self.balcony = harness.connect("juliet", "balcony")
        self.chamber = harness.connect("juliet", "chamber")
        self.romeo = harness.connect("romeo", "orchard")
        self.nurse = harness.connect("nurse", "chamber")
        self.benvolio = harness.connect("benvolio", "home")
        interested = [NS_TUNE, NS_TUNE + "+notify", NS_GEOLOC + "+notify"]
        for client in (self.balcony, self.chamber, self.romeo, self.benvolio):
            client.announce(interested)
        self.nurse.announce([NS_GEOLOC + "+notify"])
        self.forget()

    def forget(self):
        for client in self.clients():
            client.take()
        self.harness.muc.clear()

    def clients(self):
        return [self.balcony, self.chamber, self.romeo, self.nurse, self.benvolio]

    def assertError(self, answer, condition, kind, application=None):
        problem = stanzaMismatch(answer, pubsubError(condition, kind, application))
        self.assertIsNone(problem, f"{problem}\n{answer.toXml()}")

    def publishTune(self, client=None, **kwargs):
        """
        Publish a tune and check the result (XEP-0060 section 7.1.2).

        @return: the item id.
        """
        client = client or self.balcony
        result = client.request(publish(**kwargs))
        self.assertEqual("result", result["type"], result.toXml())
        return result.pubsub.publish.item["id"]


class WiringTests(unittest.TestCase):
    """
    The PEP handler and its resource find each other when the handler is
    made.
    """

    def test_resourceNotifiesThroughHandler(self):
        """
        The resource sends notifications through the handler made with it.
        """
        harness = PEPHarness(self)
        self.assertIs(harness.pep, harness.pep.resource.pubsub)


class PublishTests(PEPTestCase):
    """
    XEP-0163 sections 1.2, 3 and 4: publishing, and who is notified.
    """

    def test_publishNotifies(self):
        """
        Section 1.2 (examples 1 to 3) and section 4: juliet publishes a
        tune without 'to'; romeo, a contact with tune+notify, and both of
        juliet's resources get a headline from juliet's bare JID carrying
        the payload, each with its own id; the nurse (no tune+notify) and
        benvolio (no presence subscription) get nothing, nor does the MUC
        service (PEP and MEP are separate contexts, XEP-0316 section 3).
        """
        self.balcony.send(publish())
        received = self.balcony.take()
        [result] = [s for s in received if s.name == "iq"]
        itemId = result.pubsub.publish.item["id"]
        self.balcony.stream.output[:] = [s for s in received if s.name == "message"]
        events = {}
        for client in (self.romeo, self.balcony, self.chamber):
            [event] = client.events()
            self.assertIsNone(
                stanzaMismatch(
                    event,
                    f"<message from='juliet@capulet.lit' to='{client.jid.full()}' type='headline'>"
                    f"<event xmlns='{NS_EVENT}'><items node='{NS_TUNE}'>"
                    f"<item id='{itemId}'>{TUNE}</item></items></event></message>",
                ),
                event.toXml(),
            )
            self.assertIsNone(event.delay)
            events[event["id"]] = event
        self.assertEqual(3, len(events))
        self.nurse.expectNothing()
        self.benvolio.expectNothing()
        self.harness.muc.expect(self)

    def test_publishResult(self):
        """
        XEP-0060 section 7.1.2: the result names the node and the item id
        the service generated; an id the publisher chose is kept.
        """
        result = self.balcony.request(publish())
        self.assertIsNone(
            stanzaMismatch(
                result,
                f"<iq type='result' id='pub1' from='juliet@capulet.lit' to='juliet@capulet.lit/balcony'>"
                f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NS_TUNE}'><item/></publish></pubsub></iq>",
            ),
            result.toXml(),
        )
        self.assertTrue(result.pubsub.publish.item["id"])
        self.assertEqual("bnd6ec9ac", self.publishTune(itemId="bnd6ec9ac"))

    def test_publishToOwnBareJID(self):
        """
        Section 3.1: the root node is the account's bare JID; a publish
        addressed to it works as one without 'to'.
        """
        self.publishTune(to="juliet@capulet.lit")
        self.assertEqual(1, len(self.romeo.events()))

    def test_onePublisher(self):
        """
        Section 3.2: the owner-publisher of every node is the account; a
        contact publishing to juliet's service gets forbidden and nobody is
        notified.
        """
        answer = self.romeo.request(publish(to="juliet@capulet.lit"))
        self.assertError(answer, "forbidden", "auth")
        for client in self.clients():
            client.expectNothing()
        self.assertEqual({}, self.harness.service("juliet").nodes)

    def test_autoCreate(self):
        """
        Section 3: publishing to a node that does not exist creates it, with
        the defaults of section 5.
        """
        self.publishTune()
        node = self.harness.service("juliet").nodes[NS_TUNE]
        values = node.config.values()
        self.assertEqual("presence", values["pubsub#access_model"])
        self.assertTrue(values["pubsub#deliver_notifications"])
        self.assertTrue(values["pubsub#deliver_payloads"])
        self.assertEqual("on_sub_and_presence", values["pubsub#send_last_published_item"])

    def test_oneNotificationPerInterestedResource(self):
        """
        Section 4.3.2 rule 3: romeo's second resource without tune+notify
        gets nothing; his interested one gets one notification, to its
        full JID.
        """
        garden = self.harness.connect("romeo", "garden")
        garden.announce([NS_MOOD + "+notify"])
        self.forget()
        self.publishTune()
        self.assertEqual(1, len(self.romeo.events()))
        garden.expectNothing()

    def test_ownRosterItemNotCountedTwice(self):
        """
        An owner with its own bare JID in its roster, sharing presence (a
        self-subscription), gets one notification per interested resource
        all the same (section 4.3.2).
        """
        self.harness.users.setRosterItem("juliet", RosterItem(JULIET, subscription="both"))
        # (The publisher's own notification goes with its answer.)
        self.publishTune()
        self.assertEqual(1, len(self.chamber.events()))
        self.assertEqual(1, len(self.romeo.events()))

    def test_unavailableGetsNothing(self):
        """
        Section 4.3.2: a contact's resource that went unavailable gets no
        more notifications.
        """
        self.romeo.send("<presence type='unavailable'/>")
        self.forget()
        self.publishTune()
        self.romeo.expectNothing()

    def test_lostInterest(self):
        """
        XEP-0060 section 9.2: new caps without tune+notify stop tune
        notifications at once.
        """
        self.romeo.announce([NS_GEOLOC + "+notify"], "<presence><show>away</show></presence>")
        self.forget()
        self.publishTune()
        self.romeo.expectNothing()

    def test_maxItems(self):
        """
        Section 5 (defaults): a node keeps one item (max_items 1): after
        two publishes the items request returns the second.
        """
        self.publishTune(itemId="first")
        self.publishTune(itemId="second")
        answer = self.romeo.request(
            pubsubRequest("get", f"<items node='{NS_TUNE}'/>", to="juliet@capulet.lit")
        )
        self.assertEqual(["second"], [i["id"] for i in answer.pubsub.items.elements()])

    def test_badItems(self):
        """
        XEP-0060 section 7.1.3: a publish without an item gets bad-request +
        item-required, an item with two payloads bad-request +
        invalid-payload, an item without payload bad-request +
        payload-required.
        """
        answer = self.balcony.request(
            pubsubRequest("set", f"<publish node='{NS_TUNE}'/>")
        )
        self.assertError(answer, "bad-request", "modify", "item-required")
        answer = self.balcony.request(publish(payload=TUNE + TUNE))
        self.assertError(answer, "bad-request", "modify", "invalid-payload")
        answer = self.balcony.request(publish(payload=""))
        self.assertError(answer, "bad-request", "modify", "payload-required")
        answer = self.balcony.request(
            pubsubRequest("set", f"<publish><item>{TUNE}</item></publish>")
        )
        self.assertError(answer, "bad-request", "modify", "nodeid-required")


class PublishOptionsTests(PEPTestCase):
    """
    XEP-0163 section 3 (publish-options SHOULD), XEP-0060 section 7.1.5.
    """

    def test_createWithOptions(self):
        """
        Rule 3: a publish with preconditions to a missing node creates it
        with them (here XEP-0402's bookmark options).
        """
        options = [
            ("pubsub#persist_items", "true"),
            ("pubsub#max_items", "max"),
            ("pubsub#send_last_published_item", "never"),
            ("pubsub#access_model", "whitelist"),
        ]
        self.publishTune(node="urn:xmpp:bookmarks:1", options=options, itemId="a")
        config = self.harness.service("juliet").nodes["urn:xmpp:bookmarks:1"].config
        values = config.values()
        self.assertEqual("whitelist", values["pubsub#access_model"])
        self.assertEqual("max", values["pubsub#max_items"])
        self.assertEqual("never", values["pubsub#send_last_published_item"])
        # Rule 2: the same preconditions are met the next time.
        self.publishTune(node="urn:xmpp:bookmarks:1", options=options, itemId="b")
        answer = self.balcony.request(
            pubsubRequest("get", "<items node='urn:xmpp:bookmarks:1'/>")
        )
        self.assertEqual(["a", "b"], [i["id"] for i in answer.pubsub.items.elements()])

    def test_preconditionNotMet(self):
        """
        Rule 1: a precondition that does not match the existing node gets
        conflict + precondition-not-met, and nothing is published.
        """
        self.publishTune()
        self.forget()
        answer = self.balcony.request(publish(options=[("pubsub#access_model", "open")]))
        self.assertError(answer, "conflict", "cancel", "precondition-not-met")
        for client in self.clients():
            client.expectNothing()

    def test_unknownField(self):
        """
        A service MUST reject the publication upon encountering unknown
        fields.
        """
        self.publishTune()
        answer = self.balcony.request(publish(options=[("pubsub#frobnicate", "1")]))
        self.assertError(answer, "conflict", "cancel", "precondition-not-met")

    def test_badOptionOnCreation(self):
        """
        An access model the service does not know, when auto-creating, gets
        not-acceptable.
        """
        answer = self.balcony.request(publish(options=[("pubsub#access_model", "authorize")]))
        self.assertError(answer, "not-acceptable", "modify")


class LastItemTests(PEPTestCase):
    """
    XEP-0163 sections 4.3.3 and 4.3.4: the last published item on presence
    and on subscription.
    """

    def test_initialPresence(self):
        """
        Section 4.3.3 rule 2 and 4.3.4 (example 6): a contact's resource
        that becomes available with tune+notify gets the last item from
        juliet's bare JID, stamped with XEP-0203 delay; the nurse's new
        resource without tune+notify gets none.
        """
        itemId = self.publishTune()
        self.harness.clock.advance(60)
        self.forget()
        hall = self.harness.connect("romeo", "hall")
        hall.announce([NS_TUNE + "+notify"])
        [event] = hall.events()
        self.assertIsNone(
            stanzaMismatch(
                event,
                f"<message from='juliet@capulet.lit' to='romeo@capulet.lit/hall' type='headline'>"
                f"<event xmlns='{NS_EVENT}'><items node='{NS_TUNE}'><item id='{itemId}'>{TUNE}"
                f"</item></items></event><delay xmlns='urn:xmpp:delay' "
                f"stamp='2003-12-13T23:58:37Z' from='juliet@capulet.lit'/></message>",
            ),
            event.toXml(),
        )
        study = self.harness.connect("nurse", "study")
        study.announce([NS_GEOLOC + "+notify"])
        self.assertEqual([], study.events())

    def test_notAgain(self):
        """
        Section 4.3.3 rule 2, note: later available presence with the same
        caps sends nothing again.
        """
        self.publishTune()
        self.forget()
        self.romeo.announce(
            [NS_TUNE, NS_TUNE + "+notify", NS_GEOLOC + "+notify"],
            "<presence><show>away</show></presence>",
        )
        self.assertEqual([], self.romeo.events())

    def test_newInterest(self):
        """
        Caps that change mid-session (MEP OQ-14, applied to PEP): only the
        nodes that became interesting send their last item.
        """
        self.publishTune()
        self.publishTune(node=NS_MOOD, payload=f"<mood xmlns='{NS_MOOD}'><happy/></mood>")
        self.forget()
        self.romeo.announce(
            [NS_TUNE + "+notify", NS_MOOD + "+notify"], "<presence><show>chat</show></presence>"
        )
        [event] = self.romeo.events()
        self.assertEqual(NS_MOOD, itemsOf(event)["node"])

    def test_ownNewResource(self):
        """
        Section 4.3.4: the account owner's own newly available resource
        gets the last item too.
        """
        self.publishTune()
        self.forget()
        study = self.harness.connect("juliet", "study")
        study.announce([NS_TUNE + "+notify"])
        [event] = study.events()
        self.assertEqual("juliet@capulet.lit", event["from"])
        self.assertIsNotNone(event.delay)

    def test_lateCaps(self):
        """
        XEP-0115 section 8.3: until the caps are known the resource has no
        interests; when the answer comes, the last item follows.
        """
        self.publishTune()
        self.forget()
        hall = self.harness.connect("romeo", "hall")
        features = [NS_TUNE + "+notify", "urn:example:late"]
        query = hall.announce(features, answer=False)
        self.assertIsNotNone(query)
        self.publishTune(itemId="during")
        self.assertEqual([], hall.events())
        self.romeo.take()
        hall.send(CapsClient(features).answer(query))
        [event] = hall.events()
        self.assertEqual("during", itemsOf(event).item["id"])
        self.assertIsNotNone(event.delay)

    def test_capsQueryFails(self):
        """
        XEP-0115 section 8.3 (MEP R42): a failing caps query means no
        interest, and the session carries on.
        """
        self.publishTune()
        self.forget()
        hall = self.harness.connect("romeo", "hall")
        query = hall.announce([NS_TUNE + "+notify", "urn:example:fails"], answer=False)
        hall.send(
            f"<iq type='error' id='{query['id']}' to='capulet.lit'><query "
            "xmlns='http://jabber.org/protocol/disco#info'/><error type='cancel'>"
            f"<service-unavailable xmlns='{NS_STANZAS}'/></error></iq>"
        )
        self.publishTune()
        self.assertEqual([], hall.events())

    def test_capsQuery(self):
        """
        XEP-0115 section 6.2: the server asks the session itself, from the
        server's domain, with the node caps-node#ver.
        """
        hall = self.harness.connect("romeo", "hall")
        caps = CapsClient([NS_TUNE + "+notify", "urn:example:asked"])
        query = hall.announce(caps.features, answer=False)
        self.assertIsNone(
            stanzaMismatch(
                query,
                "<iq type='get' from='capulet.lit' to='romeo@capulet.lit/hall'>"
                "<query xmlns='http://jabber.org/protocol/disco#info' "
                f"node='{caps.node}#{caps.ver}'/></iq>",
            ),
            query.toXml(),
        )

    def test_newSubscriptionSendsLastItem(self):
        """
        Section 4.3.3 (new subscribers), 7.1: when juliet approves
        benvolio's presence subscription, benvolio's interested resource
        gets her last item.
        """
        self.publishTune()
        self.forget()
        self.benvolio.send("<presence type='subscribe' to='juliet@capulet.lit'/>")
        self.balcony.send("<presence type='subscribed' to='benvolio@capulet.lit'/>")
        events = self.benvolio.events()
        self.assertEqual([NS_TUNE], [itemsOf(e)["node"] for e in events])
        self.assertIsNotNone(events[0].delay)

    def test_sendLastNever(self):
        """
        XEP-0060 section 12.2: a node with send_last_published_item never
        sends none on presence.
        """
        self.publishTune(options=[("pubsub#send_last_published_item", "never")])
        self.forget()
        hall = self.harness.connect("romeo", "hall")
        hall.announce([NS_TUNE + "+notify"])
        self.assertEqual([], hall.events())


class SubscriptionTests(PEPTestCase):
    """
    XEP-0163 section 4 rule 1 and section 5: explicit subscriptions
    (XEP-0060 sections 6.1 and 6.2).
    """

    def openNode(self):
        self.publishTune(options=[("pubsub#access_model", "open")])
        self.forget()

    def test_subscribeOpenNode(self):
        """
        Section 4 rule 1: benvolio, with no presence subscription, subscribes
        to an open node with his bare JID; the answer comes first, then the
        last item with a delay (XEP-0060 section 6.1.7); he then gets each
        publication, at his interested resource.
        """
        self.openNode()
        self.benvolio.send(
            pubsubRequest(
                "set",
                f"<subscribe node='{NS_TUNE}' jid='benvolio@capulet.lit'/>",
                to="juliet@capulet.lit",
                iqId="sub1",
            )
        )
        result, last = self.benvolio.take()
        self.assertIsNone(
            stanzaMismatch(
                result,
                f"<iq type='result' id='sub1'><pubsub xmlns='{NS_PUBSUB}'>"
                f"<subscription node='{NS_TUNE}' jid='benvolio@capulet.lit' "
                "subscription='subscribed'/></pubsub></iq>",
            ),
            result.toXml(),
        )
        self.assertEqual("benvolio@capulet.lit", last["to"])
        self.assertIsNotNone(last.delay)
        self.publishTune()
        [event] = self.benvolio.events()
        self.assertEqual("benvolio@capulet.lit/home", event["to"])

    def test_explicitWithoutInterest(self):
        """
        Section 4.3.2 rule 2: a bare-JID subscriber with no interested
        resource gets one notification at its bare JID; rule 1: a full-JID
        subscriber gets one, at that JID.
        """
        self.openNode()
        self.nurse.request(
            pubsubRequest(
                "set", f"<subscribe node='{NS_TUNE}' jid='nurse@capulet.lit/chamber'/>",
                to="juliet@capulet.lit",
            )
        )
        self.nurse.take()
        self.publishTune()
        [event] = self.nurse.events()
        self.assertEqual("nurse@capulet.lit/chamber", event["to"])

    def test_subscribePresenceNode(self):
        """
        XEP-0060 section 6.1.3.2: benvolio has no presence subscription:
        not-authorized + presence-subscription-required; romeo has one and
        may subscribe.
        """
        self.publishTune()
        body = f"<subscribe node='{NS_TUNE}' jid='benvolio@capulet.lit'/>"
        answer = self.benvolio.request(pubsubRequest("set", body, to="juliet@capulet.lit"))
        self.assertError(answer, "not-authorized", "auth", "presence-subscription-required")
        body = f"<subscribe node='{NS_TUNE}' jid='romeo@capulet.lit'/>"
        answer = self.romeo.request(pubsubRequest("set", body, to="juliet@capulet.lit"))
        self.assertEqual("result", answer["type"])

    def test_subscribeErrors(self):
        """
        XEP-0060 sections 6.1.3.1 and 6.1.3.12: another entity's JID gets
        bad-request + invalid-jid; a missing node item-not-found.
        """
        self.openNode()
        body = f"<subscribe node='{NS_TUNE}' jid='romeo@capulet.lit'/>"
        answer = self.benvolio.request(pubsubRequest("set", body, to="juliet@capulet.lit"))
        self.assertError(answer, "bad-request", "modify", "invalid-jid")
        body = "<subscribe node='nope' jid='benvolio@capulet.lit'/>"
        answer = self.benvolio.request(pubsubRequest("set", body, to="juliet@capulet.lit"))
        self.assertError(answer, "item-not-found", "cancel")

    def test_unsubscribe(self):
        """
        XEP-0060 section 6.2: an unsubscribed entity gets nothing more; a
        second unsubscribe gets unexpected-request + not-subscribed.
        """
        self.openNode()
        sub = f"<subscribe node='{NS_TUNE}' jid='benvolio@capulet.lit'/>"
        unsub = f"<unsubscribe node='{NS_TUNE}' jid='benvolio@capulet.lit'/>"
        self.benvolio.request(pubsubRequest("set", sub, to="juliet@capulet.lit"))
        self.benvolio.take()
        answer = self.benvolio.request(pubsubRequest("set", unsub, to="juliet@capulet.lit"))
        self.assertEqual("result", answer["type"])
        self.publishTune()
        self.benvolio.expectNothing()
        answer = self.benvolio.request(pubsubRequest("set", unsub, to="juliet@capulet.lit"))
        self.assertError(answer, "unexpected-request", "cancel", "not-subscribed")

    def test_subscriptionsAndAffiliations(self):
        """
        XEP-0060 sections 5.6 and 5.7: an entity's subscriptions and
        affiliations at the service.
        """
        self.openNode()
        sub = f"<subscribe node='{NS_TUNE}' jid='benvolio@capulet.lit'/>"
        self.benvolio.request(pubsubRequest("set", sub, to="juliet@capulet.lit"))
        answer = self.benvolio.request(
            pubsubRequest("get", "<subscriptions/>", to="juliet@capulet.lit")
        )
        self.assertIsNone(
            stanzaMismatch(
                answer,
                f"<iq type='result'><pubsub xmlns='{NS_PUBSUB}'><subscriptions>"
                f"<subscription node='{NS_TUNE}' jid='benvolio@capulet.lit' "
                "subscription='subscribed'/></subscriptions></pubsub></iq>",
            ),
            answer.toXml(),
        )
        answer = self.balcony.request(pubsubRequest("get", "<affiliations/>"))
        self.assertIsNone(
            stanzaMismatch(
                answer,
                f"<iq type='result'><pubsub xmlns='{NS_PUBSUB}'><affiliations>"
                f"<affiliation node='{NS_TUNE}' affiliation='owner'/></affiliations></pubsub></iq>",
            ),
            answer.toXml(),
        )

    def test_lossOfAccessCancels(self):
        """
        Section 7.1: when romeo's presence subscription ends, his explicit
        subscription to a presence-model node is cancelled.
        """
        self.publishTune()
        sub = f"<subscribe node='{NS_TUNE}' jid='romeo@capulet.lit/orchard'/>"
        self.romeo.request(pubsubRequest("set", sub, to="juliet@capulet.lit"))
        self.balcony.send("<presence type='unsubscribed' to='romeo@capulet.lit'/>")
        self.forget()
        node = self.harness.service("juliet").nodes[NS_TUNE]
        self.assertEqual({}, node.subscriptions)
        self.publishTune()
        self.romeo.expectNothing()


class RetrievalTests(PEPTestCase):
    """
    XEP-0163 section 5 (item retrieval use case), XEP-0060 section 6.5.
    """

    def setUp(self):
        PEPTestCase.setUp(self)
        self.publishTune(node="urn:example:log", itemId="a", options=[("pubsub#max_items", "5")])
        for itemId in ("b", "c"):
            self.publishTune(node="urn:example:log", itemId=itemId)
        self.forget()

    def ids(self, answer):
        self.assertEqual("result", answer["type"], answer.toXml())
        return [i["id"] for i in answer.pubsub.items.elements()]

    def test_all(self):
        """
        Section 6.5.2: all items, oldest first, with payloads.
        """
        answer = self.romeo.request(
            pubsubRequest("get", "<items node='urn:example:log'/>", to="juliet@capulet.lit")
        )
        self.assertEqual(["a", "b", "c"], self.ids(answer))
        self.assertEqual("Gerald Finzi", str(answer.pubsub.items.item.tune.artist))

    def test_maxItems(self):
        """
        Section 6.5.7: the two most recent.
        """
        answer = self.romeo.request(
            pubsubRequest(
                "get", "<items node='urn:example:log' max_items='2'/>", to="juliet@capulet.lit"
            )
        )
        self.assertEqual(["b", "c"], self.ids(answer))

    def test_byId(self):
        """
        Section 6.5.8: particular items; unknown ids are left out.
        """
        answer = self.romeo.request(
            pubsubRequest(
                "get",
                "<items node='urn:example:log'><item id='c'/><item id='zz'/><item id='a'/></items>",
                to="juliet@capulet.lit",
            )
        )
        self.assertEqual(["c", "a"], self.ids(answer))

    def test_errors(self):
        """
        Sections 6.5.9.6 and 6.5.9.11: benvolio gets not-authorized +
        presence-subscription-required; an unknown node item-not-found.
        """
        answer = self.benvolio.request(
            pubsubRequest("get", "<items node='urn:example:log'/>", to="juliet@capulet.lit")
        )
        self.assertError(answer, "not-authorized", "auth", "presence-subscription-required")
        answer = self.romeo.request(
            pubsubRequest("get", "<items node='nope'/>", to="juliet@capulet.lit")
        )
        self.assertError(answer, "item-not-found", "cancel")

    def test_noAccount(self):
        """
        RFC 6121 section 8.5.1: a pubsub request to an account that does not
        exist gets service-unavailable; so does one to the domain, which is
        no pubsub service.
        """
        for to in ("tybalt@capulet.lit", "capulet.lit"):
            answer = self.romeo.request(pubsubRequest("get", "<items node='x'/>", to=to))
            self.assertError(answer, "service-unavailable", "cancel")


class AccessModelTests(PEPTestCase):
    """
    XEP-0163 section 5: the presence, open, roster and whitelist access
    models (XEP-0060 section 4.5).
    """

    def items(self, client):
        return client.request(
            pubsubRequest("get", f"<items node='{NS_TUNE}'/>", to="juliet@capulet.lit")
        )

    def configure(self, *fields):
        answer = self.balcony.request(
            pubsubRequest(
                "set",
                f"<configure node='{NS_TUNE}'>{configureForm(*fields)}</configure>",
                namespace=NS_OWNER,
            )
        )
        self.assertEqual("result", answer["type"], answer.toXml())

    def test_open(self):
        """
        Open: anyone may retrieve.
        """
        self.publishTune(options=[("pubsub#access_model", "open")])
        self.assertEqual("result", self.items(self.benvolio)["type"])

    def test_roster(self):
        """
        Roster: only contacts in the allowed groups; others get
        not-authorized + not-in-roster-group. Notifications follow.
        """
        self.publishTune()
        self.configure(("pubsub#access_model", "roster"), ("pubsub#roster_groups_allowed", ["Friends"]))
        self.assertEqual("result", self.items(self.romeo)["type"])
        self.assertError(self.items(self.nurse), "not-authorized", "auth", "not-in-roster-group")
        self.nurse.announce([NS_TUNE + "+notify"], "<presence><show>away</show></presence>")
        self.forget()
        self.publishTune()
        self.assertEqual(1, len(self.romeo.events()))
        self.nurse.expectNothing()

    def test_whitelist(self):
        """
        Whitelist: only the owner and members; others get not-allowed +
        closed-node. The owner adds a member with the affiliations use
        case (XEP-0060 section 8.9.2) and lists them (8.9.1).
        """
        self.publishTune()
        self.configure(("pubsub#access_model", "whitelist"))
        self.assertError(self.items(self.romeo), "not-allowed", "cancel", "closed-node")
        self.forget()
        self.publishTune()
        self.romeo.expectNothing()
        answer = self.balcony.request(
            pubsubRequest(
                "set",
                f"<affiliations node='{NS_TUNE}'>"
                "<affiliation jid='romeo@capulet.lit' affiliation='member'/></affiliations>",
                namespace=NS_OWNER,
            )
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        self.assertEqual("result", self.items(self.romeo)["type"])
        answer = self.balcony.request(
            pubsubRequest("get", f"<affiliations node='{NS_TUNE}'/>", namespace=NS_OWNER)
        )
        affiliations = {
            a["jid"]: a["affiliation"] for a in answer.pubsub.affiliations.elements()
        }
        self.assertEqual(
            {"juliet@capulet.lit": "owner", "romeo@capulet.lit": "member"}, affiliations
        )

    def test_outcast(self):
        """
        XEP-0060 section 4.1: an outcast may not retrieve (forbidden).
        """
        self.publishTune()
        answer = self.balcony.request(
            pubsubRequest(
                "set",
                f"<affiliations node='{NS_TUNE}'>"
                "<affiliation jid='romeo@capulet.lit' affiliation='outcast'/></affiliations>",
                namespace=NS_OWNER,
            )
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        self.assertError(self.items(self.romeo), "forbidden", "auth")

    def test_publisherAffiliationRefused(self):
        """
        Section 3.2: one publisher per node; making a contact a publisher
        gets not-acceptable.
        """
        self.publishTune()
        answer = self.balcony.request(
            pubsubRequest(
                "set",
                f"<affiliations node='{NS_TUNE}'>"
                "<affiliation jid='romeo@capulet.lit' affiliation='publisher'/></affiliations>",
                namespace=NS_OWNER,
            )
        )
        self.assertError(answer, "not-acceptable", "modify")


class OwnerTests(PEPTestCase):
    """
    XEP-0163 section 5: node creation, configuration, deletion (XEP-0060
    section 8), and retraction (7.2).
    """

    def test_create(self):
        """
        XEP-0060 sections 8.1.2, 8.1.3: create (with a configuration);
        again gives conflict; no node gives not-acceptable +
        nodeid-required (instant nodes are not supported); a contact gets
        forbidden.
        """
        body = (
            "<create node='urn:example:new'/><configure>"
            + configureForm(("pubsub#max_items", "3"))
            + "</configure>"
        )
        answer = self.balcony.request(pubsubRequest("set", body))
        self.assertEqual("result", answer["type"], answer.toXml())
        node = self.harness.service("juliet").nodes["urn:example:new"]
        self.assertEqual(3, node.config.maxItems)
        answer = self.balcony.request(pubsubRequest("set", "<create node='urn:example:new'/>"))
        self.assertError(answer, "conflict", "cancel")
        answer = self.balcony.request(pubsubRequest("set", "<create/>"))
        self.assertError(answer, "not-acceptable", "modify", "nodeid-required")
        answer = self.romeo.request(
            pubsubRequest("set", "<create node='urn:example:x'/>", to="juliet@capulet.lit")
        )
        self.assertError(answer, "forbidden", "auth")

    def test_configureGet(self):
        """
        XEP-0060 section 8.2.2: the form shows the defaults of XEP-0163
        section 5; a contact gets forbidden.
        """
        self.publishTune()
        answer = self.balcony.request(
            pubsubRequest("get", f"<configure node='{NS_TUNE}'/>", namespace=NS_OWNER)
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        values = {}
        for field in answer.pubsub.configure.x.elements("jabber:x:data", "field"):
            values[field["var"]] = [str(v) for v in field.elements("jabber:x:data", "value")]
        self.assertEqual(["presence"], values["pubsub#access_model"])
        self.assertEqual(["true"], values["pubsub#deliver_notifications"])
        self.assertEqual(["true"], values["pubsub#deliver_payloads"])
        self.assertEqual(["on_sub_and_presence"], values["pubsub#send_last_published_item"])
        self.assertEqual(["1"], values["pubsub#max_items"])
        answer = self.romeo.request(
            pubsubRequest(
                "get", f"<configure node='{NS_TUNE}'/>", to="juliet@capulet.lit", namespace=NS_OWNER
            )
        )
        self.assertError(answer, "forbidden", "auth")

    def test_configureInvalid(self):
        """
        XEP-0060 section 8.2.5.2: an invalid value gets not-acceptable.
        """
        self.publishTune()
        answer = self.balcony.request(
            pubsubRequest(
                "set",
                f"<configure node='{NS_TUNE}'>{configureForm(('pubsub#max_items', 'lots'))}</configure>",
                namespace=NS_OWNER,
            )
        )
        self.assertError(answer, "not-acceptable", "modify")

    def test_default(self):
        """
        XEP-0060 section 8.3: the default configuration.
        """
        answer = self.balcony.request(pubsubRequest("get", "<default/>", namespace=NS_OWNER))
        self.assertEqual("result", answer["type"], answer.toXml())

    def test_retractNotifies(self):
        """
        XEP-0060 section 7.2.2.1: with notify, interested contacts get a
        retract notification; the item is gone.
        """
        itemId = self.publishTune()
        self.forget()
        answer = self.balcony.request(
            pubsubRequest(
                "set", f"<retract node='{NS_TUNE}' notify='true'><item id='{itemId}'/></retract>"
            )
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        [event] = self.romeo.events()
        self.assertEqual(itemId, itemsOf(event).retract["id"])
        self.assertEqual({}, dict(self.harness.service("juliet").nodes[NS_TUNE].items))

    def test_retractErrors(self):
        """
        XEP-0060 section 7.2.3: an unknown item gets item-not-found; a
        contact gets forbidden.
        """
        self.publishTune()
        answer = self.balcony.request(
            pubsubRequest("set", f"<retract node='{NS_TUNE}'><item id='nope'/></retract>")
        )
        self.assertError(answer, "item-not-found", "cancel")
        answer = self.romeo.request(
            pubsubRequest(
                "set", f"<retract node='{NS_TUNE}'><item id='x'/></retract>", to="juliet@capulet.lit"
            )
        )
        self.assertError(answer, "forbidden", "auth")

    def test_delete(self):
        """
        XEP-0060 section 8.4: the node and its items go; interested contacts
        get a delete notification; the root cannot be deleted.
        """
        self.publishTune()
        self.forget()
        answer = self.balcony.request(
            pubsubRequest("set", f"<delete node='{NS_TUNE}'/>", namespace=NS_OWNER)
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        [event] = self.romeo.events()
        self.assertEqual(NS_TUNE, event.event.delete["node"])
        self.assertEqual("headline", event["type"])
        answer = self.romeo.request(
            pubsubRequest("get", f"<items node='{NS_TUNE}'/>", to="juliet@capulet.lit")
        )
        self.assertError(answer, "item-not-found", "cancel")
        answer = self.balcony.request(pubsubRequest("set", "<delete/>", namespace=NS_OWNER))
        self.assertError(answer, "not-allowed", "cancel")

    def test_purge(self):
        """
        XEP-0060 section 8.5: every item goes; interested contacts get a
        purge notification.
        """
        self.publishTune()
        self.forget()
        answer = self.balcony.request(
            pubsubRequest("set", f"<purge node='{NS_TUNE}'/>", namespace=NS_OWNER)
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        [event] = self.romeo.events()
        self.assertEqual(NS_TUNE, event.event.purge["node"])


class DiscoveryTests(PEPTestCase):
    """
    XEP-0163 section 6: determining support, and node discovery.
    """

    def test_ownerDiscoInfo(self):
        """
        Section 6.1 (example 8): the account's bare JID has the pubsub/pep
        and account/registered identities and the pubsub features.
        """
        answer = self.balcony.request(
            "<iq type='get' id='disco1' to='juliet@capulet.lit'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        features = "".join(
            f"<feature var='{NS_PUBSUB}#{f}'/>"
            for f in (
                "access-presence",
                "auto-create",
                "auto-subscribe",
                "config-node",
                "create-and-configure",
                "create-nodes",
                "filtered-notifications",
                "persistent-items",
                "publish",
                "retrieve-items",
                "subscribe",
                "publish-options",
                "last-published",
            )
        )
        self.assertIsNone(
            stanzaMismatch(
                answer,
                "<iq type='result' from='juliet@capulet.lit' to='juliet@capulet.lit/balcony'>"
                "<query xmlns='http://jabber.org/protocol/disco#info'>"
                "<identity category='account' type='registered'/>"
                "<identity category='pubsub' type='pep'/>"
                f"{features}</query></iq>",
            ),
            answer.toXml(),
        )

    def test_noSuchAccount(self):
        """
        RFC 6121 section 8.5.1: disco to an account that does not exist gets
        service-unavailable.
        """
        answer = self.romeo.request(
            "<iq type='get' id='d' to='tybalt@capulet.lit'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        self.assertError(answer, "service-unavailable", "cancel")

    def test_serverUnchanged(self):
        """
        The server's own disco#info stays the server's: no PEP identity.
        """
        answer = self.romeo.request(
            "<iq type='get' id='d' to='capulet.lit'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        identities = [
            (i["category"], i["type"])
            for i in answer.query.elements("http://jabber.org/protocol/disco#info", "identity")
        ]
        self.assertEqual([("server", "im")], identities)

    def test_items(self):
        """
        Section 6.2: disco#items lists only the nodes the requester may
        access: romeo (a contact) sees the presence node and the open one;
        benvolio only the open one.
        """
        self.publishTune()
        self.publishTune(node="urn:example:open", options=[("pubsub#access_model", "open")])

        def nodes(client):
            answer = client.request(
                "<iq type='get' id='items' to='juliet@capulet.lit'>"
                "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>"
            )
            return sorted(
                (i["jid"], i["node"])
                for i in answer.query.elements("http://jabber.org/protocol/disco#items", "item")
            )

        self.assertEqual(
            [("juliet@capulet.lit", NS_TUNE), ("juliet@capulet.lit", "urn:example:open")],
            nodes(self.romeo),
        )
        self.assertEqual([("juliet@capulet.lit", "urn:example:open")], nodes(self.benvolio))

    def test_nodeInfo(self):
        """
        XEP-0060 section 5.3: a node's disco#info shows pubsub/leaf; a node
        the requester may not access is item-not-found.
        """
        self.publishTune()
        query = (
            "<iq type='get' id='n' to='juliet@capulet.lit'>"
            f"<query xmlns='http://jabber.org/protocol/disco#info' node='{NS_TUNE}'/></iq>"
        )
        answer = self.romeo.request(query)
        self.assertIsNone(
            stanzaMismatch(
                answer,
                "<iq type='result'><query xmlns='http://jabber.org/protocol/disco#info'>"
                "<identity category='pubsub' type='leaf'/></query></iq>",
            ),
            answer.toXml(),
        )
        self.assertError(self.benvolio.request(query), "item-not-found", "cancel")

    def test_discoToFullJIDDelivered(self):
        """
        A disco#info query to a client's full JID reaches the client and
        gets no answer from the server (the server used to add an empty
        one).
        """
        self.romeo.send(
            "<iq type='get' id='c1' to='juliet@capulet.lit/balcony'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        self.romeo.expectNothing()
        [query] = self.balcony.take()
        self.assertEqual("c1", query["id"])


class StorageTests(unittest.TestCase):
    """
    PEP nodes and items are written through to the pubsub store.
    """

    def test_writtenThrough(self):
        """
        A published item, the node's configuration and an explicit
        subscription are in the store; a new registry on the same store
        (a restart) loads them; a deleted node leaves the store.
        """
        harness = PEPHarness(self)
        harness.befriend("juliet", ROMEO)
        balcony = harness.connect("juliet", "balcony")
        romeo = harness.connect("romeo", "orchard")
        balcony.request(publish(itemId="t1"))
        romeo.request(
            pubsubRequest(
                "set", f"<subscribe node='{NS_TUNE}' jid='romeo@capulet.lit'/>", to="juliet@capulet.lit"
            )
        )
        registry = ServiceRegistry(harness.store, makeService(harness.ids, harness.clock))
        service = self.successResultOf(registry.get(JULIET))
        node = service.nodes[NS_TUNE]
        self.assertEqual(["t1"], list(node.items))
        self.assertEqual(TUNE, node.items["t1"].payload)
        self.assertEqual({ROMEO: "subscribed"}, node.subscriptions)
        balcony.request(pubsubRequest("set", f"<delete node='{NS_TUNE}'/>", namespace=NS_OWNER))
        self.assertEqual([], self.successResultOf(harness.store.loadNodes(JULIET)))


class StoreFailureTests(unittest.TestCase):
    """
    Writes that fail, all of one pubsub operation: the request is answered
    once with C{internal-server-error}, the failure logged once, and no
    write's failure is left unhandled in its Deferred (where it would be
    logged again, as "Unhandled error in Deferred", whenever it is
    collected).
    """

    def holdWrites(self, harness, *methods):
        """
        Make the registry's C{methods} return Deferreds the test fires.

        @return: a mapping of each method name to the Deferreds it gave.
        """
        held = {method: [] for method in methods}
        for method in methods:

            def write(*args, method=method):
                d = defer.Deferred()
                held[method].append(d)
                return d

            self.patch(harness.registry, method, write)
        return held

    def assertFailedOnce(self, client, writes):
        """
        Fail C{writes} one after the other; the request fails with the
        first and is answered once, and every write's failure is consumed.
        """
        for d in writes:
            d.errback(OSError("disk gone"))
        [answer] = [s for s in client.take() if s.name == "iq"]
        self.assertEqual("error", answer["type"], answer.toXml())
        self.assertEqual("internal-server-error", answer.error.firstChildElement().name)
        self.assertEqual(1, len(self.flushLoggedErrors(OSError)))
        for d in writes:
            self.assertIsNone(self.successResultOf(d))

    def test_publishBothWritesFail(self):
        """
        A publish that creates its node writes the node and the item; both
        fail.
        """
        harness = PEPHarness(self)
        held = self.holdWrites(harness, "saveNode", "saveItem")
        balcony = harness.connect("juliet", "balcony")
        balcony.send(publish())
        self.assertFailedOnce(balcony, held["saveNode"] + held["saveItem"])

    def test_configureBothWritesFail(self):
        """
        A configuration that drops items writes the node and removes the
        items; both fail.
        """
        harness = PEPHarness(self)
        balcony = harness.connect("juliet", "balcony")
        balcony.request(publish())
        held = self.holdWrites(harness, "saveNode", "removeItems")
        form = configureForm(("pubsub#persist_items", "0"))
        balcony.send(
            pubsubRequest(
                "set", f"<configure node='{NS_TUNE}'>{form}</configure>", namespace=NS_OWNER
            )
        )
        self.assertFailedOnce(balcony, held["saveNode"] + held["removeItems"])


class PublicationObserverTests(unittest.TestCase):
    """
    L{mepserver.pep.resource.PEPResource} tells its
    L{mepserver.interfaces.IPEPObserver}s of each stored publication.
    """

    def test_observerFailure(self):
        """
        An observer that raises is logged and skipped: the publisher still
        gets its result, and later observers hear of the item.
        """
        from zope.interface import implementer

        from mepserver.interfaces import IPEPObserver

        @implementer(IPEPObserver)
        class Observer:
            def __init__(self, fails):
                self.fails = fails
                self.seen = []

            def itemPublished(self, service, node, item):
                self.seen.append((service.jid.full(), node.identifier, item.id))
                if self.fails:
                    raise RuntimeError("observer bug")

        harness = PEPHarness(self)
        failing, working = Observer(True), Observer(False)
        harness.pep.resource.observers[:] = [failing, working]
        balcony = harness.connect("juliet", "balcony")
        result = balcony.request(publish(itemId="t1"))
        self.assertEqual("result", result["type"], result.toXml())
        self.assertEqual([("juliet@capulet.lit", NS_TUNE, "t1")], working.seen)
        self.assertEqual(working.seen, failing.seen)
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))


class LimitTests(unittest.TestCase):
    """
    Identifiers the server cannot keep, and the quotas of C{[pubsub]}
    (DESIGN.md section 3), answered over XMPP with a stanza error whose
    text says which limit.
    """

    def setUp(self):
        self.harness = PEPHarness(self, pubsubMaxNodes=1, pubsubMaxBytes=1024)
        self.balcony = self.harness.connect("juliet", "balcony")

    def assertError(self, answer, condition, kind, application=None):
        problem = stanzaMismatch(answer, pubsubError(condition, kind, application))
        self.assertIsNone(problem, f"{problem}\n{answer.toXml()}")
        return str(answer.error.text)

    def test_tooLongIdentifiers(self):
        """
        A NodeID or ItemID over 1023 bytes, in a publish or a create, gets
        C{policy-violation}; nothing is created.
        """
        for request in (
            publish(node="n" * 1024),
            publish(itemId="i" * 1024),
            pubsubRequest("set", f"<create node='{'n' * 1024}'/>"),
        ):
            text = self.assertError(self.balcony.request(request), "policy-violation", "modify")
            self.assertIn("at most 1023 bytes", text)
        self.assertEqual({}, self.harness.service("juliet").nodes)

    def test_maxNodes(self):
        """
        A second node, at a service allowed one, gets C{resource-constraint}
        with C{<max-nodes-exceeded/>}, naming C{[pubsub] max_nodes}.
        """
        self.assertEqual("result", self.balcony.request(publish())["type"])
        answer = self.balcony.request(publish(node=NS_MOOD, payload=f"<mood xmlns='{NS_MOOD}'/>"))
        text = self.assertError(answer, "resource-constraint", "wait", "max-nodes-exceeded")
        self.assertIn("[pubsub] max_nodes = 1", text)
        answer = self.balcony.request(pubsubRequest("set", f"<create node='{NS_MOOD}'/>"))
        self.assertError(answer, "resource-constraint", "wait", "max-nodes-exceeded")

    def test_maxBytes(self):
        """
        A payload that takes the service past C{[pubsub] max_bytes} gets
        C{not-acceptable} with C{<payload-too-big/>} (XEP-0060 section
        7.1.3.5); the item is not kept.
        """
        payload = f"<tune xmlns='{NS_TUNE}'><title>{'x' * 1024}</title></tune>"
        answer = self.balcony.request(publish(payload=payload))
        text = self.assertError(answer, "not-acceptable", "modify", "payload-too-big")
        self.assertIn("[pubsub] max_bytes", text)
        self.assertEqual({}, self.harness.service("juliet").nodes)

    def test_configured(self):
        """
        The server gives its PEP and MEP services the configured quotas.
        """
        service = self.harness.service("juliet")
        self.assertEqual((1, 1024), (service.maxNodes, service.maxBytes))
        config = configModule.Config(storage="memory", dataDir=self.mktemp())
        server = buildServer(config, clock=task.Clock())
        for registry in (server.pep.registry, server.mep.registry):
            made = registry.factory(JID("lobby@conference.localhost/Alice"))
            self.assertEqual(
                (config.pubsubMaxNodes, config.pubsubMaxBytes), (made.maxNodes, made.maxBytes)
            )
