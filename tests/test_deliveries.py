# -*- test-case-name: tests.test_deliveries -*-
"""
Tests for L{mepserver.mep.deliveries}, the delivery explainer, and the
caps outcomes it reads (L{mepserver.caps.CapsCache.outcome}).

The MEP scenarios run on the harness of L{tests.test_mep}: the server's
own MUC component on a router, the client domain a pipe, caps answered
(or held, refused, falsified) like real clients would.
"""

import os

from twisted.internet import defer
from twisted.python import failure
from twisted.trial import unittest
from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID

from mepserver import caps as capsModule
from mepserver.caps import Caps, CapsCache
from mepserver.mep import deliveries
from mepserver.mep.deliveries import CODES
from mepserver.pubsub.model import Affiliation
from tests.helpers import CapsClient, parseXml
from tests.test_mep import (
    A,
    B,
    C,
    D,
    N1,
    N2,
    NS_PUBSUB,
    ROOM,
    MEPHarness,
)

NOTIFY = [N1 + "+notify"]

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.rst")


class ExplainerTestCase(unittest.TestCase):
    def setUp(self):
        self.h = MEPHarness(self)
        self.log = self.h.mep.resource.deliveries
        # The harness has no client domain: nobody counts as a ghost.
        self.log.isConnected = None

    def room(self):
        return self.h.rooms.get(JID(ROOM))

    def publish(self, itemId="i1", node=N1):
        """
        A room event; @return: its recorded publication.
        """
        self.assertEqual(itemId, self.h.generate(node=node, itemId=itemId))
        publication = self.log.find(JID(ROOM), JID(ROOM), node, itemId)
        self.assertIsNotNone(publication)
        return publication

    def explain(self, publication, session):
        [delivery] = self.log.explain(publication, JID(session), self.room())
        return delivery

    def wrongCaps(self, full, nick, features=NOTIFY):
        """
        Join as C{full} announcing a ver that its disco#info answer does
        not hash to.

        @return: the client's L{CapsClient}.
        """
        client = self.h.clients[full] = CapsClient(features)
        c = client.caps()
        c["ver"] = "Zm9yZ2VkIHZlcmlmaWNhdGlvbiBzdHJpbmc="
        self.h.join(full, nick, caps=c.toXml())
        return client


class DecisionTests(ExplainerTestCase):
    """
    The reason recorded for each session, at publication time.
    """

    def test_delivered(self):
        """
        A session whose verified caps carry C{NODE+notify} is sent the
        event, and the explainer says so with its nick and full JID.
        """
        self.h.join(A, "a", NOTIFY)
        publication = self.publish()
        self.assertEqual(
            [
                {
                    "nick": "a",
                    "jid": A,
                    "delivered": True,
                    "code": "delivered",
                    "reason": f"the notification was sent to it: its verified caps ask for '{N1}+notify'",
                }
            ],
            [d.asJSON() for d in self.log.deliveries(publication, self.room())],
        )
        self.assertEqual(1, len(self.h.take(A)))

    def test_noCaps(self):
        """
        A join without caps: C{no-caps}; and nothing was sent.
        """
        self.h.join(A, "a", None)
        delivery = self.explain(self.publish(), A)
        self.assertEqual(("no-caps", False), (delivery.code, delivery.delivered))
        self.assertIn("no entity capabilities", delivery.reason)
        self.assertEqual([], self.h.take(A))

    def test_capsPending(self):
        """
        An unanswered caps query: C{caps-pending}, naming the queried node.
        """
        client = CapsClient(NOTIFY)
        self.h.join(A, "a", NOTIFY, hold=True)
        delivery = self.explain(self.publish(), A)
        self.assertEqual("caps-pending", delivery.code)
        self.assertIn(f"{client.node}#{client.ver}", delivery.reason)

    def test_capsQueryFailed(self):
        """
        A caps query answered with an error: C{caps-query-failed}, with the
        error condition.
        """
        self.h.join(A, "a", NOTIFY, hold=True)
        self.h.release(A, answer=False)
        delivery = self.explain(self.publish(), A)
        self.assertEqual("caps-query-failed", delivery.code)
        self.assertIn("service-unavailable", delivery.reason)

    def test_capsHashMismatch(self):
        """
        An answer that hashes to another ver: C{caps-hash-mismatch}, with
        the announced ver and the one the answer hashes to.
        """
        client = self.wrongCaps(A, "a")
        delivery = self.explain(self.publish(), A)
        self.assertEqual(("caps-hash-mismatch", False), (delivery.code, delivery.delivered))
        self.assertIn("'Zm9yZ2VkIHZlcmlmaWNhdGlvbiBzdHJpbmc='", delivery.reason)
        self.assertIn(f"'{client.ver}'", delivery.reason)
        self.assertEqual([], self.h.take(A))

    def test_capsMalformed(self):
        """
        An ill-formed answer (a feature twice, XEP-0115 section 5.4 step
        3.4): C{caps-malformed}.
        """
        self.h.join(A, "a", NOTIFY + NOTIFY)
        delivery = self.explain(self.publish(), A)
        self.assertEqual("caps-malformed", delivery.code)
        self.assertIn("twice", delivery.reason)

    def test_noNotify(self):
        """
        Verified caps without the node's C{+notify}: C{no-notify}, naming
        the feature missing and the notifications they ask for.
        """
        self.h.join(A, "a", [N2 + "+notify"])
        delivery = self.explain(self.publish(), A)
        self.assertEqual("no-notify", delivery.code)
        self.assertIn(f"'{N1}+notify'", delivery.reason)
        self.assertIn(f"'{N2}'", delivery.reason)

    def test_unverifiedHash(self):
        """
        Caps with a hash the server cannot check are taken as answered
        (XEP-0115 section 5.4 step 2): with C{+notify} the session gets the
        event; without, C{no-notify}.
        """
        for full, nick, features in ((A, "a", NOTIFY), (B, "b", [])):
            client = self.h.clients[full] = CapsClient(features)
            c = client.caps()
            c["hash"] = "x-unknown"
            self.h.join(full, nick, caps=c.toXml())
        publication = self.publish()
        self.assertEqual("delivered", self.explain(publication, A).code)
        self.assertEqual("no-notify", self.explain(publication, B).code)

    def test_explicitSubscription(self):
        """
        A session without caps that subscribed explicitly gets the event,
        and the reason says it was the subscription.
        """
        self.h.join(A, "a", None)
        self.h.generate(itemId="first")
        reply = self.h.iq(
            A, ROOM, "set",
            f"<pubsub xmlns='{NS_PUBSUB}'><subscribe node='{N1}' jid='{A}'/></pubsub>",
        )
        self.assertEqual("result", reply["type"], reply.toXml())
        delivery = self.explain(self.publish("second"), A)
        self.assertEqual(("delivered", True), (delivery.code, delivery.delivered))
        self.assertIn("subscribed to the node explicitly", delivery.reason)

    def test_accessDenied(self):
        """
        A session the node's access rules keep out (an outcast of the
        node): C{access-denied}, with the refusal.
        """
        self.h.join(A, "a", NOTIFY)
        self.h.join(B, "b", NOTIFY)
        self.publish("first")
        service = self.h.mep.registry.cached(JID(ROOM))
        service.nodes[N1].affiliations[JID("b@example")] = Affiliation.OUTCAST
        publication = self.publish("second")
        self.assertEqual("delivered", self.explain(publication, A).code)
        delivery = self.explain(publication, B)
        self.assertEqual("access-denied", delivery.code)
        self.assertIn("banned", delivery.reason)

    def test_notificationsOff(self):
        """
        A node that delivers no notifications: C{notifications-off} for
        everyone, the publisher's own sessions included.
        """
        self.h.join(A, "a", NOTIFY)
        options = (
            "<publish-options><x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            "<field var='pubsub#deliver_notifications'><value>0</value></field></x></publish-options>"
        )
        reply = self.h.publish(A, ROOM + "/a", itemId="x", options=options)
        self.assertEqual("result", reply["type"], reply.toXml())
        publication = self.log.find(JID(ROOM), JID(ROOM + "/a"), N1, "x")
        delivery = self.explain(publication, A)
        self.assertEqual("notifications-off", delivery.code)
        self.assertIn("deliver_notifications", delivery.reason)

    def test_ghost(self):
        """
        A recipient the room lists but no client is connected as: sent and
        dropped, C{ghost}, not delivered.
        """
        self.h.join(A, "a", NOTIFY)
        self.h.join(B, "b", NOTIFY)
        self.log.isConnected = lambda session: session != JID(B)
        publication = self.publish()
        self.assertEqual("delivered", self.explain(publication, A).code)
        delivery = self.explain(publication, B)
        self.assertEqual(("ghost", False), (delivery.code, delivery.delivered))
        self.assertIn(B, delivery.reason)

    def test_reasonKeptAfterChanges(self):
        """
        The reason is the one of publication time: once the caps query is
        answered, the earlier item came as the node's last item
        (C{last-item}, which still says why it was not sent at once), and
        a later one was delivered.
        """
        self.h.join(A, "a", NOTIFY, hold=True)
        before = self.publish("early")
        self.h.release(A)
        after = self.publish("late")
        early = self.explain(before, A)
        self.assertEqual(("last-item", True), (early.code, early.delivered))
        self.assertIn("was not answered yet", early.reason)
        self.assertEqual("delivered", self.explain(after, A).code)

    def test_occupantService(self):
        """
        An occupant's publication is recorded under its occupant JID, with
        the nicks of the time.
        """
        self.h.join(A, "a", NOTIFY)
        self.h.join(B, "b", None)
        reply = self.h.publish(B, ROOM + "/b", itemId="mine")
        self.assertEqual("result", reply["type"], reply.toXml())
        publication = self.log.find(JID(ROOM), JID(ROOM + "/b"), N1, "mine")
        self.assertEqual(
            [("a", A, "delivered"), ("b", B, "no-caps")],
            [(d.nick, d.session.full(), d.code) for d in self.log.deliveries(publication)],
        )
        self.assertIsNone(self.log.find(JID(ROOM), JID(ROOM), N1, "mine"))


class OccupancyTests(ExplainerTestCase):
    """
    Sessions that were not in the room at the publication.
    """

    def leave(self, full, nick):
        self.h.send(f"<presence from='{full}' to='{ROOM}/{nick}' type='unavailable'/>")

    def test_notOccupant(self):
        """
        A session never in the room: C{not-occupant}; one that joined
        later without interest is listed among the deliveries with the
        same code, saying it joined later.
        """
        self.h.join(A, "a", NOTIFY)
        publication = self.publish()
        delivery = self.explain(publication, D)
        self.assertEqual(("not-occupant", None), (delivery.code, delivery.nick))
        self.h.join(D, "d", None)
        [late] = [d for d in self.log.deliveries(publication, self.room()) if d.session == JID(D)]
        self.assertEqual(("not-occupant", "d", False), (late.code, late.nick, late.delivered))
        self.assertIn("joined later", late.reason)

    def test_leftBeforePublish(self):
        """
        A session that left before the publication: C{left-before-publish},
        also once it is back.
        """
        self.h.join(A, "a", NOTIFY)
        self.h.join(C, "c", NOTIFY)
        self.leave(C, "c")
        publication = self.publish()
        self.assertEqual("left-before-publish", self.explain(publication, C).code)
        self.h.join(C, "c", None)
        self.assertEqual("left-before-publish", self.explain(publication, C).code)

    def test_leftAfterPublish(self):
        """
        A session that left after the publication keeps the entry of
        publication time.
        """
        self.h.join(C, "c", NOTIFY)
        publication = self.publish()
        self.leave(C, "c")
        delivery = self.explain(publication, C)
        self.assertEqual(("delivered", "c"), (delivery.code, delivery.nick))

    def test_lastItem(self):
        """
        A session that joined after the publication with interest got the
        item as the node's last item: C{last-item}, delivered.
        """
        self.h.join(A, "a", None)
        publication = self.publish()
        self.h.join(D, "d", NOTIFY)
        delivery = self.explain(publication, D)
        self.assertEqual(("last-item", True, "d"), (delivery.code, delivery.delivered, delivery.nick))

    def test_bareJID(self):
        """
        For a bare JID, each of the account's sessions; for an account
        with none in the room, one entry.
        """
        self.h.join(A, "a", NOTIFY)
        self.h.join("a@example/r2", "a", None)
        publication = self.publish()
        self.assertEqual(
            [(A, "delivered"), ("a@example/r2", "no-caps")],
            [(d.session.full(), d.code) for d in self.log.explain(publication, JID("a@example"), self.room())],
        )
        [nobody] = self.log.explain(publication, JID("z@example"), self.room())
        self.assertEqual(("z@example", "not-occupant"), (nobody.session.full(), nobody.code))


class BoundsTests(ExplainerTestCase):
    """
    The log keeps a bounded number of publications and departures.
    """

    def test_lastPerRoom(self):
        """
        Only the last C{size} publications of a room are kept; republishing
        an item id replaces its record.
        """
        self.log.size = 2
        self.h.join(A, "a", NOTIFY)
        for itemId in ("1", "2", "3", "3"):
            self.h.generate(itemId=itemId)
        self.assertEqual(["2", "3"], [p.item for p in self.log.publications(JID(ROOM))])
        self.assertEqual(2, len(self.log))

    def test_sizeZero(self):
        """
        With size 0 nothing is recorded, and notifications still go out.
        """
        self.log.size = 0
        self.h.join(A, "a", NOTIFY)
        self.h.generate(itemId="1")
        self.assertEqual(0, len(self.log))
        self.assertEqual(1, len(self.h.take(A)))

    def test_departures(self):
        """
        At most L{deliveries.MAX_DEPARTURES} departures a room are kept:
        the oldest is forgotten, and then counts as never there.
        """
        self.patch(deliveries, "MAX_DEPARTURES", 1)
        self.h.join(A, "a", None)
        self.h.join(B, "b", None)
        self.h.join(C, "c", None)
        self.h.send(f"<presence from='{B}' to='{ROOM}/b' type='unavailable'/>")
        self.h.send(f"<presence from='{C}' to='{ROOM}/c' type='unavailable'/>")
        publication = self.publish()
        self.assertEqual("left-before-publish", self.explain(publication, C).code)
        self.assertEqual("not-occupant", self.explain(publication, B).code)

    def test_roomsForgotten(self):
        """
        A discarded room's records go with it, and a reset forgets all.
        """
        self.h.join(A, "a", NOTIFY)
        self.publish()
        self.log.roomDiscarded(self.room())
        self.assertEqual([], self.log.publications())
        self.publish("again")
        self.h.rooms.reset()
        self.assertEqual([], self.log.publications())

    def test_observers(self):
        """
        Observers hear of each recorded publication; one that fails does
        not stop the others, nor the publication.
        """
        heard = []

        def broken(publication):
            raise RuntimeError("observer failure")

        self.log.observers += [broken, heard.append]
        self.h.join(A, "a", None)
        publication = self.publish()
        self.assertEqual([publication], heard)
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))

    def test_codesDocumented(self):
        """
        Every code the explainer gives is documented in L{CODES} and the
        README's section.
        """
        with open(README, encoding="utf-8") as f:
            readme = f.read()
        for code in CODES:
            self.assertIn(f"``{code}``", readme)


class CapsOutcomeTests(unittest.SynchronousTestCase):
    """
    L{CapsCache.outcome}: what became of an entity's caps.
    """

    def setUp(self):
        self.cache = CapsCache()
        self.client = CapsClient(NOTIFY)
        self.caps = Caps("sha-1", self.client.node, self.client.ver)
        self.entity = JID("a@example/r1")

    def answer(self, client=None):
        client = client or self.client

        def query(entity, node):
            iq = parseXml(
                f"<iq type='get' id='q' from='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/></iq>",
                "jabber:client",
            )
            return defer.succeed(next(client.answer(iq).elements()))

        return query

    def test_unknown(self):
        """
        Caps never resolved for the JID have no outcome.
        """
        self.assertIsNone(self.cache.outcome(self.entity, self.caps))

    def test_pendingThenVerified(self):
        """
        Pending while the query is out; verified once answered, for any
        JID with the same (hash, ver).
        """
        d = defer.Deferred()
        self.cache.resolve(self.entity, self.caps, lambda e, n: d)
        self.assertEqual(capsModule.PENDING, self.cache.outcome(self.entity, self.caps).status)
        d.callback(next(self.client.answer(parseXml(
            "<iq type='get' id='q'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
            "jabber:client",
        )).elements()))
        self.assertEqual(capsModule.VERIFIED, self.cache.outcome(self.entity, self.caps).status)
        self.assertEqual(
            capsModule.VERIFIED, self.cache.outcome(JID("b@example/r"), self.caps).status
        )
        self.assertEqual(frozenset(self.client.features), self.cache.features(self.entity, self.caps))

    def test_mismatch(self):
        """
        A mismatching answer: the ver it hashes to.
        """
        caps = Caps("sha-1", self.client.node, "d3Jvbmc=")
        self.cache.resolve(self.entity, caps, self.answer())
        outcome = self.cache.outcome(self.entity, caps)
        self.assertEqual((capsModule.HASH_MISMATCH, self.client.ver), (outcome.status, outcome.computed))

    def test_failed(self):
        """
        A failed query: the condition and text of the error.
        """
        self.cache.resolve(
            self.entity,
            self.caps,
            lambda e, n: defer.fail(error.StanzaError("remote-server-timeout", text="no answer")),
        )
        outcome = self.cache.outcome(self.entity, self.caps)
        self.assertEqual(
            (capsModule.QUERY_FAILED, "remote-server-timeout: no answer"), (outcome.status, outcome.error)
        )
        self.cache.resolve(
            JID("b@example/r"), self.caps, lambda e, n: defer.fail(failure.Failure(RuntimeError("boom")))
        )
        self.assertEqual("boom", self.cache.outcome(JID("b@example/r"), self.caps).error)

    def test_forget(self):
        """
        Forgetting the JID forgets its outcomes; an answer arriving after
        that records nothing.
        """
        d = defer.Deferred()
        caps = Caps("sha-1", self.client.node, "d3Jvbmc=")
        self.cache.resolve(self.entity, caps, lambda e, n: d)
        self.cache.forget(self.entity)
        d.errback(error.StanzaError("service-unavailable"))
        self.assertIsNone(self.cache.outcome(self.entity, caps))

    def test_bounded(self):
        """
        At most L{CapsCache.maxOutcomes} caps per JID are remembered, the
        latest.
        """
        self.cache.maxOutcomes = 2
        announced = [Caps("sha-1", "n", f"v{i}") for i in range(3)]
        for caps in announced:
            self.cache.resolve(self.entity, caps, lambda e, n: defer.Deferred())
        self.assertIsNone(self.cache.outcome(self.entity, announced[0]))
        self.assertEqual(capsModule.PENDING, self.cache.outcome(self.entity, announced[2]).status)
