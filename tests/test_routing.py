# -*- test-case-name: tests.test_routing -*-
"""
Who answers an IQ on the client domain: the server for its domain and for
an account's bare JID, the client for its full JID (RFC 6120 section
10.5.4, RFC 6121 sections 8.5.2.1.3 and 8.5.3.1), and service discovery of
those addresses (XEP-0030).

The client domain is L{mepserver.server.buildServer}'s own, driven through
bound sessions on stub streams.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish, utility, xpath
from wokkel import generic
from wokkel.subprotocols import XMPPHandler
from zope.interface import implementer

from mepserver.interfaces import IBulkDelivery
from mepserver.router import Domain, HandledStopsDispatcher, Router, sendEach, sendMany
from mepserver.stanza import Broadcast
from tests.helpers import StubStream, parseXml, stanzaMismatch
from tests.test_pep import DOMAIN, ROMEO, PEPHarness, TUNE, publish

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

#: One request of each namespace the client domain answers for itself.
REQUESTS = {
    "ping": "<iq type='get' id='q'><ping xmlns='urn:xmpp:ping'/></iq>",
    "version": "<iq type='get' id='q'><query xmlns='jabber:iq:version'/></iq>",
    "disco#info": f"<iq type='get' id='q'><query xmlns='{NS_DISCO_INFO}'/></iq>",
    "disco#items": f"<iq type='get' id='q'><query xmlns='{NS_DISCO_ITEMS}'/></iq>",
    "roster": "<iq type='get' id='q'><query xmlns='jabber:iq:roster'/></iq>",
    "register": "<iq type='get' id='q'><query xmlns='jabber:iq:register'/></iq>",
    "pubsub": (
        "<iq type='get' id='q'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
        "<items node='http://jabber.org/protocol/tune'/></pubsub></iq>"
    ),
}


def addressed(xml, to):
    """
    @return: the request literal C{xml} as an element addressed to C{to}.
    """
    element = parseXml(xml, "jabber:client")
    element["to"] = to
    return element


class FullJIDTests(unittest.TestCase):
    """
    An IQ request to a client's full JID reaches that client, whatever its
    namespace, and only the client's answer comes back (RFC 6120 10.5.4,
    RFC 6121 8.5.3.1): the server answers none of them itself.
    """

    def setUp(self):
        self.harness = PEPHarness(self)
        self.harness.befriend("juliet", ROMEO)
        self.juliet = self.harness.connect("juliet", "balcony")
        self.romeo = self.harness.connect("romeo", "orchard")

    def test_deliveredNotAnswered(self):
        """
        Each request arrives at juliet's client as romeo sent it, and romeo
        receives nothing from the server.
        """
        for name, xml in REQUESTS.items():
            request = addressed(xml, "juliet@capulet.lit/balcony")
            self.romeo.send(request)
            self.assertEqual([], self.romeo.take(), name)
            [delivered] = self.juliet.take()
            self.assertEqual("romeo@capulet.lit/orchard", delivered["from"], name)
            self.assertEqual("juliet@capulet.lit/balcony", delivered["to"], name)
            self.assertEqual("get", delivered["type"], name)
            [payload] = delivered.elements()
            [sent] = request.elements()
            self.assertEqual((sent.uri, sent.name), (payload.uri, payload.name), name)

    def test_clientAnswers(self):
        """
        The client's own answer (here, a version it makes up) is what the
        requester gets, from the client's full JID.
        """
        self.romeo.send(addressed(REQUESTS["version"], "juliet@capulet.lit/balcony"))
        [request] = self.juliet.take()
        self.juliet.send(
            "<iq type='result' id='q' to='romeo@capulet.lit/orchard'>"
            "<query xmlns='jabber:iq:version'><name>Balcony IM</name>"
            "<version>1.0</version></query></iq>"
        )
        [answer] = self.romeo.expect(
            "<iq type='result' id='q' from='juliet@capulet.lit/balcony'>"
            "<query xmlns='jabber:iq:version'><name>Balcony IM</name></query></iq>"
        )
        self.assertEqual("1.0", str(answer.query.version))

    def test_ownOtherResource(self):
        """
        A request to one's own other resource is delivered too: a client
        pinging its other session is not answered by the server.
        """
        chamber = self.harness.connect("juliet", "chamber")
        chamber.send(addressed(REQUESTS["ping"], "juliet@capulet.lit/balcony"))
        self.assertEqual([], chamber.take())
        [delivered] = self.juliet.take()
        self.assertEqual("juliet@capulet.lit/chamber", delivered["from"])

    def test_markAsChild(self):
        """
        A child element named as the mark of a stanza handled already
        (C{handled}) neither drops a message nor leaves a request
        unanswered: the mark is the server's, not the stanza's content.
        """
        self.romeo.send(
            "<message to='juliet@capulet.lit/balcony' type='chat' id='m1'>"
            "<body>hi</body><handled xmlns='urn:example'/></message>"
        )
        [delivered] = self.juliet.take()
        self.assertEqual("m1", delivered["id"])
        self.romeo.send(
            "<iq type='get' id='p1' to='capulet.lit'>"
            "<ping xmlns='urn:xmpp:ping'/><handled xmlns='urn:example'/></iq>"
        )
        [answer] = self.romeo.take()
        self.assertEqual("p1", answer["id"])

    def test_unboundResource(self):
        """
        A request to a full JID with no session gets service-unavailable
        from that full JID (RFC 6121 8.5.3.2.1), once, from no handler of
        the server's own namespaces.
        """
        for name, xml in REQUESTS.items():
            self.romeo.send(addressed(xml, "juliet@capulet.lit/gone"))
            [answer] = self.romeo.take()
            problem = stanzaMismatch(
                answer,
                "<iq type='error' id='q' from='juliet@capulet.lit/gone'>"
                f"<error type='cancel'><service-unavailable xmlns='{NS_STANZAS}'/>"
                "</error></iq>",
            )
            self.assertIsNone(problem, f"{name}: {problem}")
            self.assertEqual([], self.juliet.take(), name)


class ServerAnswersTests(unittest.TestCase):
    """
    Requests to the domain or to an account's bare JID are the server's to
    answer (RFC 6120 10.5.3.2 via 10.4, RFC 6121 8.5.2.1.3), and they reach
    no client.
    """

    def setUp(self):
        self.harness = PEPHarness(self)
        self.harness.befriend("juliet", ROMEO)
        self.juliet = self.harness.connect("juliet", "balcony")
        self.romeo = self.harness.connect("romeo", "orchard")

    def ask(self, name, to, client=None):
        client = client or self.romeo
        client.send(addressed(REQUESTS[name], to))
        answers = client.take()
        self.assertEqual(1, len(answers), [a.toXml() for a in answers])
        self.assertEqual([], self.juliet.take() if client is not self.juliet else [])
        return answers[0]

    def assertAnswer(self, answer, literal):
        problem = stanzaMismatch(answer, literal)
        self.assertIsNone(problem, f"{problem}\n{answer.toXml()}")

    def test_pingDomain(self):
        """
        XEP-0199 section 4.2: the server answers a ping to its domain.
        """
        self.assertAnswer(
            self.ask("ping", DOMAIN), f"<iq type='result' id='q' from='{DOMAIN}'/>"
        )

    def test_pingBareJID(self):
        """
        A ping to an account's bare JID is answered by the server on the
        account's behalf (RFC 6121 8.5.2.1.3), as ejabberd does.
        """
        self.assertAnswer(
            self.ask("ping", "juliet@capulet.lit"),
            "<iq type='result' id='q' from='juliet@capulet.lit'/>",
        )

    def test_versionDomain(self):
        """
        XEP-0092: the server's name at its domain.
        """
        answer = self.ask("version", DOMAIN)
        self.assertAnswer(
            answer,
            f"<iq type='result' id='q' from='{DOMAIN}'>"
            "<query xmlns='jabber:iq:version'><name>mepserver</name></query></iq>",
        )

    def test_versionBareJID(self):
        """
        An account does not run the server's software: a version query to
        a bare JID gets service-unavailable, as on Prosody, and never the
        server's name.
        """
        self.assertAnswer(
            self.ask("version", "juliet@capulet.lit"),
            "<iq type='error' id='q' from='juliet@capulet.lit'>"
            f"<error type='cancel'><service-unavailable xmlns='{NS_STANZAS}'/>"
            "</error></iq>",
        )

    def test_discoItems(self):
        """
        XEP-0030 section 4: the domain lists the MUC service; a bare JID
        answers with its PEP nodes (none yet).
        """
        self.assertAnswer(
            self.ask("disco#items", DOMAIN),
            f"<iq type='result' from='{DOMAIN}'><query xmlns='{NS_DISCO_ITEMS}'>"
            "<item jid='conference.capulet.lit'/></query></iq>",
        )
        answer = self.ask("disco#items", "juliet@capulet.lit")
        self.assertEqual("result", answer["type"])
        self.assertEqual([], list(answer.query.elements()))

    def test_roster(self):
        """
        RFC 6121 2.1.3: a roster get to one's own bare JID is answered by
        the server; to someone else's, it is forbidden (2.1.5).
        """
        answer = self.ask("roster", "juliet@capulet.lit", client=self.juliet)
        self.assertAnswer(
            answer,
            "<iq type='result' id='q'><query xmlns='jabber:iq:roster'>"
            "<item jid='romeo@capulet.lit'/></query></iq>",
        )
        answer = self.ask("roster", "juliet@capulet.lit")
        self.assertAnswer(
            answer,
            "<iq type='error' id='q'><error type='auth'>"
            f"<forbidden xmlns='{NS_STANZAS}'/></error></iq>",
        )

    def test_register(self):
        """
        XEP-0077 section 3.2: a registration request to the domain after
        login is the server's, and shows the account as registered.
        """
        answer = self.ask("register", DOMAIN)
        self.assertAnswer(
            answer,
            f"<iq type='result' id='q' from='{DOMAIN}'>"
            "<query xmlns='jabber:iq:register'><registered/>"
            "<username>romeo</username></query></iq>",
        )

    def test_pubsub(self):
        """
        XEP-0163: a pubsub request to a bare JID is PEP's; here juliet's
        published tune comes back to her contact.
        """
        result = self.juliet.request(publish(iqId="pub"))
        self.assertEqual("result", result["type"], result.toXml())
        answer = self.ask("pubsub", "juliet@capulet.lit")
        self.assertEqual("result", answer["type"], answer.toXml())
        [item] = answer.pubsub.items.elements()
        self.assertEqual(parseXml(TUNE).toXml(), list(item.elements())[0].toXml())


class DiscoInfoTests(unittest.TestCase):
    """
    XEP-0030 section 3.1 answers of the server and of a bare JID.
    """

    def setUp(self):
        self.harness = PEPHarness(self)
        self.juliet = self.harness.connect("juliet", "balcony")

    def info(self, to):
        answer = self.juliet.request(
            f"<iq type='get' id='info' to='{to}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        identities = [
            (e["category"], e["type"]) for e in answer.query.elements(NS_DISCO_INFO, "identity")
        ]
        features = [e["var"] for e in answer.query.elements(NS_DISCO_INFO, "feature")]
        return identities, features

    def assertOnce(self, features):
        repeated = sorted({f for f in features if features.count(f) > 1})
        self.assertEqual([], repeated)

    def test_server(self):
        """
        The server is server/im; it lists disco#info and each of its
        features once (a repeated feature would also break any XEP-0115
        hash over the answer).
        """
        identities, features = self.info(DOMAIN)
        self.assertEqual([("server", "im")], identities)
        self.assertOnce(features)
        for feature in (
            NS_DISCO_INFO,
            NS_DISCO_ITEMS,
            "urn:xmpp:ping",
            "jabber:iq:version",
            "jabber:iq:roster",
            "jabber:iq:register",
        ):
            self.assertIn(feature, features)

    def test_ownAccount(self):
        """
        An account queried by its owner is account/registered, and a PEP
        service (XEP-0163 section 1.3), with disco#info once and no
        version (the server answers no version for an account).
        """
        identities, features = self.info("juliet@capulet.lit")
        self.assertIn(("account", "registered"), identities)
        self.assertIn(("pubsub", "pep"), identities)
        self.assertEqual(len(identities), len(set(identities)))
        self.assertOnce(features)
        self.assertIn(NS_DISCO_INFO, features)
        self.assertIn("urn:xmpp:ping", features)
        self.assertNotIn("jabber:iq:version", features)

    def test_contacts(self):
        """
        A contact who sees the account's presence (subscription from or
        both, on the account's roster) gets the same identities; one who
        does not, or a stranger, gets service-unavailable, as from Prosody
        and ejabberd. Node lists stay PEP's (XEP-0163 section 6.2).
        """
        self.harness.befriend("juliet", ROMEO, subscription="from")
        self.harness.befriend("juliet", JID("nurse@capulet.lit"), subscription="to")
        query = (
            "<iq type='get' id='info' to='juliet@capulet.lit'>"
            f"<query xmlns='{NS_DISCO_INFO}'/></iq>"
        )
        answer = self.harness.connect("romeo", "orchard").request(query)
        self.assertEqual("result", answer["type"], answer.toXml())
        self.assertIn(
            ("account", "registered"),
            [(e["category"], e["type"]) for e in answer.query.elements(NS_DISCO_INFO, "identity")],
        )
        for username in ("nurse", "benvolio"):
            client = self.harness.connect(username, "home")
            answer = client.request(query)
            problem = stanzaMismatch(
                answer,
                "<iq type='error' id='info' from='juliet@capulet.lit'>"
                f"<error type='cancel'><service-unavailable xmlns='{NS_STANZAS}'/>"
                "</error></iq>",
            )
            self.assertIsNone(problem, f"{username}: {problem}")
            items = client.request(
                "<iq type='get' id='items' to='juliet@capulet.lit'>"
                f"<query xmlns='{NS_DISCO_ITEMS}'/></iq>"
            )
            self.assertEqual("result", items["type"], username)

    def test_withoutTo(self):
        """
        A query with no 'to' is for the account's bare JID (RFC 6120
        10.3.3): the same answer.
        """
        answer = self.juliet.request(
            f"<iq type='get' id='info'><query xmlns='{NS_DISCO_INFO}'/></iq>"
        )
        self.assertEqual("juliet@capulet.lit", answer["from"])
        self.assertEqual(self.info("juliet@capulet.lit")[1], [
            e["var"] for e in answer.query.elements(NS_DISCO_INFO, "feature")
        ])


class HandledStopsDispatcherTests(unittest.SynchronousTestCase):
    """
    L{HandledStopsDispatcher}: an element marked handled reaches no later
    observer.
    """

    def setUp(self):
        self.dispatcher = HandledStopsDispatcher()
        self.calls = []

    def observer(self, name, handles=False):
        def observe(element):
            self.calls.append(name)
            if handles:
                element.handled = True

        return observe

    def test_stopsAfterHandled(self):
        """
        Observers run by priority; once one marks the element handled, the
        rest are skipped.
        """
        self.dispatcher.addObserver("/iq", self.observer("first"), 10)
        self.dispatcher.addObserver("/iq", self.observer("taker", handles=True), 5)
        self.dispatcher.addObserver("/iq", self.observer("late"), 0)
        self.dispatcher.dispatch(domish.Element((None, "iq")))
        self.assertEqual(["first", "taker"], self.calls)

    def test_unhandledReachesAll(self):
        """
        An element nobody marks reaches every matching observer.
        """
        self.dispatcher.addObserver("/iq", self.observer("a"), 1)
        self.dispatcher.addObserver("/iq", self.observer("b"))
        self.dispatcher.addObserver("/message", self.observer("c"))
        self.dispatcher.dispatch(domish.Element((None, "iq")))
        self.assertEqual(["a", "b"], self.calls)

    def test_removeObserver(self):
        """
        An observer is removed by the function it was added with, as on
        any dispatcher.
        """
        observe = self.observer("a")
        self.dispatcher.addObserver("/iq", observe)
        self.dispatcher.removeObserver("/iq", observe)
        self.dispatcher.dispatch(domish.Element((None, "iq")))
        self.assertEqual([], self.calls)

    def test_removeObserverWhileDispatching(self):
        """
        An observer removed during a dispatch (by itself, say) is removed
        once the dispatch is over, as on any dispatcher; so is a C{"/*"}
        one from the observers a domain calls first.
        """
        for event in ("/iq", "/*"):
            del self.calls[:]

            def removeSelf(element, event=event):
                self.calls.append(event)
                self.dispatcher.removeObserver(event, removeSelf)

            self.dispatcher.addObserver(event, removeSelf, 2000)
            self.dispatcher.dispatch(domish.Element((None, "iq")))
            self.dispatcher.dispatch(domish.Element((None, "iq")))
            self.assertEqual([event], self.calls)
            self.assertEqual([], self.dispatcher.firstObservers)

    def test_onetimeObserver(self):
        """
        A one-time observer runs once.
        """
        self.dispatcher.addOnetimeObserver("/iq", self.observer("once"))
        self.dispatcher.dispatch(domish.Element((None, "iq")))
        self.dispatcher.dispatch(domish.Element((None, "iq")))
        self.assertEqual(["once"], self.calls)

    def test_namedEvents(self):
        """
        Named events (stream events) still reach their observers.
        """
        self.dispatcher.addObserver("//event/test", self.observer("named"))
        self.dispatcher.dispatch(object(), "//event/test")
        self.assertEqual(["named"], self.calls)

    def test_handledNotMatchedFurther(self):
        """
        Once the element is handled, no later observer's query is even
        matched against it (matching is most of a dispatch's cost), and
        the dispatch says an observer took it.
        """
        matched = []

        class Query:
            def matches(self, element):
                matched.append(element)
                return True

        self.dispatcher.addObserver("/iq", self.observer("taker", handles=True), 5)
        self.dispatcher._xpathObservers.setdefault(0, {})[Query()] = utility.CallbackList()
        self.assertTrue(self.dispatcher.dispatch(domish.Element((None, "iq"))))
        self.assertEqual(["taker"], self.calls)
        self.assertEqual([], matched)

    def test_onlyQueriesForItsName(self):
        """
        An element is matched only against the queries that may match its
        name: C{/iq...} queries are not even tried on a message; C{/*} and
        C{//...} queries are.
        """
        matched = []
        for event in ("/iq[@type='get']", "/message", "/*", "//body"):
            self.dispatcher.addObserver(event, self.observer(event))
            query = xpath.internQuery(event)
            self.patch(query, "matches", lambda element, q=query, m=query.matches: (
                matched.append(q.queryStr) or m(element)))
        message = domish.Element((None, "message"))
        message.addElement("body")
        self.dispatcher.dispatch(message)
        self.assertEqual(["/*", "//body", "/message"], sorted(matched))
        self.assertEqual(["/*", "//body", "/message"], sorted(self.calls))

    def matchedQueries(self, events):
        """
        Observe each event, and record the queries matched against what is
        dispatched.
        """
        matched = []
        for event in events:
            self.dispatcher.addObserver(event, self.observer(event))
            query = xpath.internQuery(event)
            self.patch(query, "matches", lambda element, q=query, m=query.matches: (
                matched.append(q.queryStr) or m(element)))
        return matched

    def test_onlyQueriesForItsChild(self):
        """
        An IQ with one child is matched only against the queries that ask
        for a child in its namespace, and those that ask none; one without
        a child, or with a child in a namespace no query asks for, only
        against the latter.
        """
        roster = "/iq[@type='get']/query[@xmlns='jabber:iq:roster']"
        version = "/iq[@type='get']/query[@xmlns='jabber:iq:version']"
        anyChild = "/iq[@type='get']/query"
        matched = self.matchedQueries([roster, version, anyChild, "/iq", "/*"])
        iq = domish.Element((None, "iq"))
        iq["type"] = "get"
        iq.addElement(("jabber:iq:roster", "query"))
        self.dispatcher.dispatch(iq)
        self.assertEqual(sorted([roster, anyChild, "/iq", "/*"]), sorted(matched))
        self.assertEqual(sorted([roster, anyChild, "/iq", "/*"]), sorted(self.calls))
        for child in (None, ("urn:example:unknown", "query")):
            del matched[:], self.calls[:]
            iq = domish.Element((None, "iq"))
            iq["type"] = "get"
            iq.addContent("  ")
            if child is not None:
                iq.addElement(child)
            self.dispatcher.dispatch(iq)
            self.assertEqual(sorted([anyChild, "/iq", "/*"]), sorted(matched))

    def test_severalChildrenAllQueries(self):
        """
        An element with several children is matched against every query
        for its name: a query for the second child's namespace matches.
        """
        roster = "/iq[@type='get']/query[@xmlns='jabber:iq:roster']"
        version = "/iq[@type='get']/query[@xmlns='jabber:iq:version']"
        matched = self.matchedQueries([roster, version])
        iq = domish.Element((None, "iq"))
        iq["type"] = "get"
        iq.addElement(("jabber:iq:roster", "query"))
        iq.addElement(("jabber:iq:version", "query"))
        self.dispatcher.dispatch(iq)
        self.assertEqual(sorted([roster, version]), sorted(matched))
        self.assertEqual(sorted([roster, version]), sorted(self.calls))

    def test_newNamespaceObserved(self):
        """
        An observer for a child namespace that no query asked for when an
        element was last dispatched gets the next such element.
        """
        iq = domish.Element((None, "iq"))
        iq.addElement(("urn:example:late", "query"))
        self.dispatcher.addObserver("/iq/query[@xmlns='urn:example:other']", self.observer("other"))
        self.dispatcher.dispatch(iq)
        self.dispatcher.addObserver("/iq/query[@xmlns='urn:example:late']", self.observer("late"))
        self.dispatcher.dispatch(iq)
        self.assertEqual(["late"], self.calls)

    def test_observersChange(self):
        """
        An observer added or removed after an element of the same name was
        dispatched, or added during a dispatch, applies to the next
        dispatch.
        """
        iq = domish.Element((None, "iq"))
        self.dispatcher.dispatch(iq)
        late = self.observer("late")
        self.dispatcher.addObserver("/iq", late)
        self.dispatcher.dispatch(iq)
        self.assertEqual(["late"], self.calls)
        self.dispatcher.removeObserver("/iq", late)
        self.dispatcher.dispatch(iq)
        self.assertEqual(["late"], self.calls)

        def adding(element):
            self.calls.append("adding")
            self.dispatcher.addObserver("/iq", self.observer("added"), 5)

        self.dispatcher.addOnetimeObserver("/iq", adding, 10)
        self.dispatcher.dispatch(iq)
        self.dispatcher.dispatch(iq)
        self.assertEqual(["late", "adding", "added"], self.calls)

    def test_firstObservers(self):
        """
        Observers of every element with a priority above 0 are the first
        observers, highest first, until removed.
        """
        a, b, c = self.observer("a"), self.observer("b"), self.observer("c")
        self.dispatcher.addObserver("/*", a, 10)
        self.dispatcher.addObserver("/*", b, 20)
        self.dispatcher.addObserver("/*", c)
        self.dispatcher.addObserver("/iq", self.observer("d"), 30)
        self.assertEqual([(20, b), (10, a)], self.dispatcher.firstObservers)
        self.dispatcher.removeObserver("/*", b)
        self.assertEqual([(10, a)], self.dispatcher.firstObservers)


class DirectRouteTests(unittest.TestCase):
    """
    The router hands a stanza for a domain with first observers (the
    client domain: block list check, local delivery) straight to them
    (L{mepserver.router.Domain.direct}, issue 16).
    """

    def setUp(self):
        self.router = Router()
        self.domain = Domain(self.router, "example.com")
        self.calls = []
        self.domain.addHandler(_Recorder(self.calls))
        self.domain.startService()
        self.addCleanup(self.domain.stopService)

    def stanza(self, kind="message"):
        element = domish.Element(("jabber:client", kind))
        element["to"] = "juliet@example.com/balcony"
        return element

    def test_registered(self):
        """
        A started domain with first observers is a direct route; a stopped
        one is not.
        """
        self.assertEqual(self.domain.direct, self.router.direct["example.com"])
        self.domain.stopService()
        self.assertNotIn("example.com", self.router.direct)
        self.domain.startService()

    def test_straightToFirstObservers(self):
        """
        A stanza a first observer takes reaches it, in priority order,
        without the domain's dispatch: no observer by kind sees it.
        """
        self.router.route(self.stanza())
        self.assertEqual(["check", "deliver"], self.calls)

    def test_notTakenGoesThroughDispatch(self):
        """
        A stanza no first observer takes goes through the domain's stream
        as before: the first observers see it again, then the others.
        """
        self.router.route(self.stanza("iq"))
        self.assertEqual(["check", "deliver", "check", "deliver", "iq"], self.calls)

    def test_handledGoesNowhere(self):
        """
        A stanza already marked handled reaches no handler, as through the
        dispatcher.
        """
        element = self.stanza()
        element.handled = True
        self.router.route(element)
        self.assertEqual([], self.calls)

    def test_failureLogged(self):
        """
        A first observer that raises is logged, and the next one still
        gets the stanza; the sender (a room in a broadcast) carries on.
        """
        element = self.stanza()
        element["type"] = "boom"
        self.router.route(element)
        self.assertEqual(["check", "deliver"], self.calls)
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))


class DomainSendTests(unittest.TestCase):
    """
    What a domain's handlers send goes to the router's route().
    """

    def setUp(self):
        self.router = Router()
        self.routed = []
        self.router.route = self.routed.append
        self.domain = Domain(self.router, "example.com")
        self.handler = XMPPHandler()
        self.handler.setHandlerParent(self.domain)
        self.domain.startService()
        self.addCleanup(self.domain.stopService)

    def test_routed(self):
        """
        A stanza a handler sends is routed as it is.
        """
        element = domish.Element(("jabber:client", "message"))
        self.handler.send(element)
        self.assertEqual([element], self.routed)

    def test_failureLogged(self):
        """
        A stanza the router cannot route (no 'to') is logged, and the
        handler carries on, as through the pipe's dispatch.
        """
        del self.router.route
        self.handler.send(domish.Element(("jabber:client", "message")))
        self.assertEqual(1, len(self.flushLoggedErrors(KeyError)))


class BulkRouteTests(unittest.TestCase):
    """
    The router delivers one broadcast to many in one call per domain that
    delivers in bulk (L{mepserver.router.Router.deliverMany}, issue 16),
    and routes every other copy as any stanza.
    """

    def setUp(self):
        self.router = Router()
        self.domain = Domain(self.router, "example.com")
        self.calls = []
        self.bulk = _BulkRecorder(self.calls)
        self.domain.addHandler(self.bulk)
        self.domain.startService()
        self.addCleanup(self.domain.stopService)
        self.elsewhere = []
        pipe = generic.XmlPipe()
        self.router.addRoute("elsewhere.example", pipe.sink)
        pipe.source.addObserver("/*", self.elsewhere.append)
        message = domish.Element(("jabber:client", "message"))
        message["type"] = "headline"
        self.broadcast = Broadcast(message, ("to", "id"))
        self.ids = iter(range(1, 100))

    def newId(self):
        return f"e{next(self.ids)}"

    def test_registered(self):
        """
        A started domain whose L{IBulkDelivery} handler replaces its first
        observers delivers in bulk; a stopped one does not.
        """
        self.assertEqual(self.domain.deliverMany, self.router.bulk["example.com"])
        self.domain.stopService()
        self.assertNotIn("example.com", self.router.bulk)
        self.domain.startService()

    def test_oneCallPerRun(self):
        """
        Each run of recipients at the bulk domain is one call; a copy for
        any other domain is routed with its own C{to}; C{newId} gives each
        copy its id in the recipients' order.
        """
        recipients = [
            JID("a@example.com/1"),
            JID("b@elsewhere.example/2"),
            JID("c@example.com/3"),
            JID("d@example.com"),
        ]
        self.router.deliverMany(self.broadcast, recipients, self.newId)
        self.assertEqual(
            [[("a@example.com/1", "e1")], [("c@example.com/3", "e3"), ("d@example.com", "e4")]],
            self.bulk.delivered,
        )
        [copy] = self.elsewhere
        self.assertEqual(("b@elsewhere.example/2", "e2"), (copy["to"], copy["id"]))
        self.assertNotIn("to", self.broadcast.attributes)
        self.assertEqual([], self.calls)

    def test_firstObserverAdded(self):
        """
        Once the domain has a first observer the bulk handler does not
        stand for, each copy is routed, through every first observer.
        """
        extra = []
        self.domain.xmlstream.addObserver("/*", lambda stanza: extra.append(stanza["to"]), 30)
        self.router.deliverMany(self.broadcast, [JID("a@example.com/1")], self.newId)
        self.assertEqual([], self.bulk.delivered)
        self.assertEqual(["a@example.com/1"], extra)
        self.assertEqual(["check", "deliver"], self.calls)

    def test_notRegisteredWithOtherFirstObservers(self):
        """
        A bulk handler that does not stand for all the first observers of
        its domain is not used.
        """
        router = Router()
        domain = Domain(router, "example.org")
        domain.addHandler(_BulkRecorder([]))
        domain.addHandler(_Recorder([]))
        domain.startService()
        self.addCleanup(domain.stopService)
        self.assertNotIn("example.org", router.bulk)

    def test_handlerSendsInOneCall(self):
        """
        L{sendMany} from a handler of a domain is one call to the router;
        from a handler on another stream, one copy per recipient, each
        sent as the handler sends.
        """
        calls = []
        self.router.deliverMany = lambda *args: calls.append(args)
        handler = XMPPHandler()
        handler.setHandlerParent(self.domain)
        sendMany(handler, self.broadcast, [JID("a@example.com/1")])
        self.assertEqual([(self.broadcast, [JID("a@example.com/1")], None)], calls)

        sent = []
        other = XMPPHandler()
        other.makeConnection(StubStream())
        other.send = sent.append
        sendMany(other, self.broadcast, [JID("a@example.com/1"), JID("b@example.com/2")], self.newId)
        self.assertEqual(
            [("a@example.com/1", "e1"), ("b@example.com/2", "e2")],
            [(copy["to"], copy["id"]) for copy in sent],
        )

    def test_deliverEach(self):
        """
        L{Router.deliverEach} to an address of the bulk domain is one call
        to its handler; to another domain, each stanza is routed.
        """
        first, second = domish.Element((None, "message")), domish.Element((None, "presence"))
        sendEach(self.handler(), [first, second], JID("a@example.com/1"))
        self.assertEqual([[("a@example.com/1", None), ("a@example.com/1", None)]], self.bulk.delivered)
        sendEach(self.handler(), [first, second], JID("b@elsewhere.example/2"))
        self.assertEqual(
            [("message", "b@elsewhere.example/2"), ("presence", "b@elsewhere.example/2")],
            [(e.name, e["to"]) for e in self.elsewhere],
        )
        self.assertEqual([], self.calls)

    def test_deliverEachFirstObserverAdded(self):
        """
        Once the domain has a first observer the bulk handler does not
        stand for, each stanza to it is routed through every first
        observer.
        """
        extra = []
        self.domain.xmlstream.addObserver("/*", lambda stanza: extra.append(stanza["to"]), 30)
        message = domish.Element((None, "message"))
        sendEach(self.handler(), [message], JID("a@example.com/1"))
        self.assertEqual([], self.bulk.delivered)
        self.assertEqual(["a@example.com/1"], extra)
        self.assertEqual(["check", "deliver"], self.calls)

    def test_deliverEachRegistered(self):
        """
        A stopped domain no longer takes stanzas in one call.
        """
        self.assertEqual(self.domain.deliverEach, self.router.each["example.com"])
        self.domain.stopService()
        self.assertNotIn("example.com", self.router.each)
        self.domain.startService()

    def test_sendEachElsewhere(self):
        """
        From a handler on another stream, L{sendEach} sends each stanza as
        the handler sends, with the recipient as C{to}, no longer marked
        handled.
        """
        sent = []
        other = XMPPHandler()
        other.makeConnection(StubStream())
        other.send = sent.append
        message = domish.Element((None, "message"))
        message.handled = True
        sendEach(other, [message], JID("a@example.com/1"))
        self.assertEqual([message], sent)
        self.assertEqual(("a@example.com/1", False), (message["to"], message.handled))

    def handler(self):
        """
        @return: a handler of the bulk domain.
        """
        handler = XMPPHandler()
        handler.setHandlerParent(self.domain)
        return handler

    def test_failureLogged(self):
        """
        A broadcast the router fails on is logged, and the handler carries
        on.
        """
        def fail(*args):
            raise RuntimeError("boom")

        self.router.deliverMany = fail
        handler = XMPPHandler()
        handler.setHandlerParent(self.domain)
        sendMany(handler, self.broadcast, [JID("a@example.com/1")])
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))


class _Recorder(XMPPHandler):
    """
    Two first observers (a check, then a delivery taking messages) and an
    IQ handler, recording their calls.
    """

    def __init__(self, calls):
        XMPPHandler.__init__(self)
        self.calls = calls

    def connectionInitialized(self):
        self.xmlstream.addObserver("/*", self.check, 20)
        self.xmlstream.addObserver("/*", self.deliver, 10)
        self.xmlstream.addObserver("/iq", self.iq)

    def check(self, stanza):
        self.calls.append("check")
        if stanza.getAttribute("type") == "boom":
            raise RuntimeError("boom")

    def deliver(self, stanza):
        self.calls.append("deliver")
        if stanza.name == "message":
            stanza.handled = True

    def iq(self, stanza):
        self.calls.append("iq")


@implementer(IBulkDelivery)
class _BulkRecorder(_Recorder):
    """
    A L{_Recorder} that also delivers broadcasts in bulk, recording each
    call's C{(to, id)}s.
    """

    def __init__(self, calls):
        _Recorder.__init__(self, calls)
        self.delivered = []

    @property
    def replaces(self):
        return [self.check, self.deliver]

    def deliverMany(self, broadcast, recipients, newId, route):
        self.delivered.append([(r.full(), newId()) for r in recipients])

    def deliverEach(self, elements, recipient, route):
        self.delivered.append([(e["to"], e.getAttribute("id")) for e in elements])


class DomainTests(unittest.TestCase):
    """
    L{mepserver.router.Domain} joins its handlers to the router.
    """

    def test_handlersObserveHandledStopsDispatcher(self):
        """
        The domains L{mepserver.server.buildServer} makes give their
        handlers a L{HandledStopsDispatcher}.
        """
        harness = PEPHarness(self)
        self.assertIsInstance(harness.component.xmlstream, HandledStopsDispatcher)
        self.assertIs(harness.component.xmlstream, harness.pep.xmlstream)
        self.assertIn(JID(DOMAIN).host, harness.router.routes)


class BounceTests(unittest.TestCase):
    """
    L{mepserver.c2s.sessions.bounce}: the error reply to a stanza.
    """

    def test_policyViolationHasAType(self):
        """
        RFC 6120 section 8.3.3.12: C{policy-violation}, which Twisted's
        condition table lacks, gets type C{modify} and serialises.
        """
        from mepserver.c2s.sessions import bounce
        from tests.helpers import parseXml

        message = parseXml(
            "<message from='a@localhost/r' to='b@localhost' id='m1'><body>x</body></message>",
            "jabber:client",
        )
        reply = bounce(message, "policy-violation", "too much")
        self.assertEqual(("error", "modify"), (reply["type"], reply.error["type"]))
        self.assertIn("policy-violation", reply.toXml())

    def test_errorIsNotBounced(self):
        """
        RFC 6120 section 8.3.1: an error is never answered with an error.
        """
        from mepserver.c2s.sessions import bounce
        from tests.helpers import parseXml

        failed = parseXml("<message type='error' id='m2'/>", "jabber:client")
        self.assertIsNone(bounce(failed, "service-unavailable"))
