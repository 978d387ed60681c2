# -*- test-case-name: tests.test_pubsub_model -*-
"""
Tests for L{mepserver.pubsub.model}: the shared pubsub engine in plain
Python, with no XML and no reactor, against a fake context.
"""

import dataclasses
import datetime

from twisted.internet import task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mepserver import errors
from mepserver.ids import SeededIdSource
from mepserver.interfaces import IPubSubContext
from mepserver.pubsub.model import (
    AccessModel,
    Affiliation,
    Interests,
    Node,
    NodeConfig,
    SendLastPublished,
    Service,
)

OWNER = JID("juliet@capulet.lit")
BALCONY = JID("juliet@capulet.lit/balcony")
ROMEO = JID("romeo@montague.lit/orchard")
NURSE = JID("nurse@capulet.lit/chamber")
STRANGER = JID("benvolio@montague.lit/home")
N1 = "urn:example:n1"
N2 = "urn:example:n2"


@implementer(IPubSubContext)
class FakeContext:
    """
    A context where OWNER owns the service, C{sharing} shares presence,
    C{groups} maps bare JIDs to roster groups, and C{interests} says who
    wants which node among the C{present} entities.
    """

    candidatesSharePresence = False

    def __init__(self):
        self.sharing = set()
        self.groups = {}
        self.present = []
        self.interests = Interests()
        self.refused = set()

    def isOwner(self, entity):
        return entity.userhostJID() == OWNER

    def owners(self):
        return [OWNER]

    def mayPublish(self, entity):
        return self.isOwner(entity)

    def admit(self, entity):
        if entity in self.refused:
            raise errors.PresenceSubscriptionRequired("not here")

    def sharesPresence(self, entity):
        return entity.userhostJID() in self.sharing

    def rosterGroups(self, entity):
        return self.groups.get(entity.userhostJID(), ())

    def candidates(self, nodeIdentifier):
        return [e for e in self.present if self.interests.interested(e, nodeIdentifier)]

    def explicitTargets(self, subscriber, nodeIdentifier):
        return [subscriber]


class ModelTestCase(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(1071359917)
        self.service = Service(OWNER, SeededIdSource(), self.clock)
        self.context = FakeContext()

    def publish(self, node=N1, payload="<x xmlns='urn:x'/>", itemId=None, **kwargs):
        return self.service.publish(self.context, BALCONY, node, payload, itemId, **kwargs)


class NodeConfigTests(unittest.SynchronousTestCase):
    """
    L{NodeConfig}: XEP-0163 section 5 defaults, parsing and plain values.
    """

    def test_defaults(self):
        """
        Presence access, notifications with payloads, last item on
        subscription and presence, one item.
        """
        config = NodeConfig()
        self.assertEqual(AccessModel.PRESENCE, config.accessModel)
        self.assertTrue(config.deliverNotifications)
        self.assertTrue(config.deliverPayloads)
        self.assertEqual(SendLastPublished.ON_SUB_AND_PRESENCE, config.sendLastPublishedItem)
        self.assertEqual(1, config.maxItems)

    def test_valuesRoundTrip(self):
        """
        C{values} gives plain values that C{fromValues} reads back.
        """
        config = NodeConfig(
            title="t",
            accessModel=AccessModel.ROSTER,
            rosterGroupsAllowed=("Friends", "Family"),
            maxItems=None,
            notifyRetract=False,
        )
        values = config.values()
        self.assertEqual("max", values["pubsub#max_items"])
        self.assertEqual(("Friends", "Family"), values["pubsub#roster_groups_allowed"])
        self.assertEqual("roster", values["pubsub#access_model"])
        self.assertEqual(config, NodeConfig.fromValues(values))

    def test_fromValuesIgnoresUnknown(self):
        """
        Stored values from another version do not break loading.
        """
        self.assertEqual(
            NodeConfig(), NodeConfig.fromValues({"pubsub#frobnicate": "x", "pubsub#max_items": "-1"})
        )

    def test_parse(self):
        """
        Form values in their usual shapes.
        """
        self.assertIs(True, NodeConfig.parse("pubsub#persist_items", "1"))
        self.assertIs(False, NodeConfig.parse("pubsub#persist_items", ["false"]))
        self.assertIs(True, NodeConfig.parse("pubsub#persist_items", True))
        self.assertEqual(5, NodeConfig.parse("pubsub#max_items", "5"))
        self.assertIsNone(NodeConfig.parse("pubsub#max_items", "max"))
        self.assertEqual(("a",), NodeConfig.parse("pubsub#roster_groups_allowed", "a"))
        self.assertEqual((), NodeConfig.parse("pubsub#roster_groups_allowed", None))

    def test_parseErrors(self):
        """
        Unknown fields and bad values are refused with not-acceptable.
        """
        for var, value in (
            ("pubsub#nope", "1"),
            ("pubsub#persist_items", "yes"),
            ("pubsub#max_items", "0"),
            ("pubsub#max_items", "100000"),
            ("pubsub#access_model", "authorize"),
            ("pubsub#send_last_published_item", "sometimes"),
            ("pubsub#notification_type", "normal"),
            ("pubsub#title", None),
        ):
            self.assertRaises(errors.InvalidConfiguration, NodeConfig.parse, var, value)


class PublishTests(ModelTestCase):
    """
    L{Service.publish} (XEP-0060 sections 7.1, 7.1.4, 7.1.5).
    """

    def test_autoCreate(self):
        """
        The first publish creates the node with the service's defaults;
        the item gets an id, the publisher and the clock's time.
        """
        result = self.publish()
        self.assertTrue(result.created)
        self.assertEqual(NodeConfig(), result.node.config)
        self.assertEqual(BALCONY, result.item.publisher)
        self.assertEqual(
            datetime.datetime(2003, 12, 13, 23, 58, 37, tzinfo=datetime.timezone.utc),
            result.item.published,
        )
        self.assertTrue(result.item.id)
        self.assertFalse(self.publish().created)

    def test_forbidden(self):
        """
        Only the context's publishers publish; nothing is created.
        """
        self.assertRaises(
            errors.Forbidden, self.service.publish, self.context, ROMEO, N1, "<x/>"
        )
        self.assertEqual({}, self.service.nodes)

    def test_maxItems(self):
        """
        Beyond max_items the oldest goes (7.1.2.5); an existing id is
        replaced and becomes the newest.
        """
        self.publish(itemId="a", preconditions={"pubsub#max_items": "2"})
        self.publish(itemId="b")
        self.assertEqual(["b", "a"], list(self.publish(itemId="a").node.items))
        result = self.publish(itemId="c")
        self.assertEqual(["b"], [i.id for i in result.evicted])
        self.assertEqual(["a", "c"], list(result.node.items))

    def test_transient(self):
        """
        persist_items false keeps nothing.
        """
        result = self.publish(preconditions={"pubsub#persist_items": "0"})
        self.assertFalse(result.stored)
        self.assertEqual({}, dict(result.node.items))

    def test_preconditions(self):
        """
        Met preconditions pass (booleans and max in any spelling); unmet or
        unknown ones raise precondition-not-met and publish nothing.
        """
        self.publish(itemId="a", preconditions={"pubsub#max_items": "max", "pubsub#persist_items": "true"})
        self.publish(itemId="b", preconditions={"pubsub#max_items": ["max"], "pubsub#persist_items": "1"})
        for preconditions in (
            {"pubsub#access_model": "open"},
            {"pubsub#max_items": "3"},
            {"pubsub#unknown": "1"},
            {"pubsub#persist_items": "maybe"},
        ):
            self.assertRaises(
                errors.PreconditionNotMet, self.publish, itemId="c", preconditions=preconditions
            )
        self.assertEqual(["a", "b"], list(self.service.nodes[N1].items))

    def test_payloadRequired(self):
        """
        A payload node wants a payload; a notification-only node not.
        """
        self.assertRaises(errors.PayloadRequired, self.publish, payload=None)
        self.assertEqual({}, self.service.nodes)
        result = self.publish(payload=None, preconditions={"pubsub#deliver_payloads": "0"})
        self.assertIsNone(result.item.payload)

    def test_unsupportedAccessModel(self):
        """
        A service may offer fewer access models (MEP: presence only).
        """
        self.service.accessModels = frozenset({AccessModel.PRESENCE})
        self.assertRaises(
            errors.UnsupportedAccessModel,
            self.publish,
            preconditions={"pubsub#access_model": "open"},
        )


class RecipientTests(ModelTestCase):
    """
    Whom notifications go to: the context's interested candidates with
    access, then explicit subscribers with access, each once.
    """

    def setUp(self):
        ModelTestCase.setUp(self)
        self.context.present = [BALCONY, ROMEO, NURSE, STRANGER]
        for entity in self.context.present:
            self.context.interests.set(entity, {N1})
        self.context.sharing = {ROMEO.userhostJID(), NURSE.userhostJID()}

    def test_presenceAccess(self):
        """
        The owner and those sharing presence; not the stranger.
        """
        self.assertEqual((BALCONY, ROMEO, NURSE), self.publish().recipients)

    def test_interest(self):
        """
        Without interest, no notification (XEP-0060 section 9.2).
        """
        self.context.interests.set(NURSE, {"urn:example:other"})
        self.assertEqual((BALCONY, ROMEO), self.publish().recipients)

    def test_explicit(self):
        """
        An explicit subscriber with access gets it, once.
        """
        self.publish(preconditions={"pubsub#access_model": "open"})
        self.service.subscribe(self.context, STRANGER, N1, STRANGER)
        self.service.subscribe(self.context, ROMEO, N1, ROMEO)
        self.assertEqual((BALCONY, ROMEO, NURSE, STRANGER), self.publish().recipients)

    def test_noNotifications(self):
        """
        deliver_notifications false: nobody.
        """
        self.assertEqual(
            (), self.publish(preconditions={"pubsub#deliver_notifications": "0"}).recipients
        )

    def test_roster(self):
        """
        Roster access: sharing presence and in an allowed group.
        """
        self.context.groups = {ROMEO.userhostJID(): ("Friends",)}
        result = self.publish(
            preconditions={
                "pubsub#access_model": "roster",
                "pubsub#roster_groups_allowed": ["Friends"],
            }
        )
        self.assertEqual((BALCONY, ROMEO), result.recipients)

    def test_whitelist(self):
        """
        Whitelist: the owner and members; outcasts never.
        """
        self.publish(preconditions={"pubsub#access_model": "whitelist"})
        self.service.setAffiliations(
            self.context, BALCONY, N1, {NURSE.userhostJID(): Affiliation.MEMBER}
        )
        self.assertEqual((BALCONY, NURSE), self.publish().recipients)
        self.service.setAffiliations(
            self.context, BALCONY, N1, {NURSE.userhostJID(): Affiliation.OUTCAST}
        )
        self.assertEqual((BALCONY,), self.publish().recipients)

    def sharingCandidates(self):
        """
        Make the context one whose candidates all share presence (as
        PEP's), and count what it is asked.

        @return: the entities L{FakeContext.sharesPresence} was asked
            about, as a list that grows.
        """
        self.context.candidatesSharePresence = True
        self.context.present = [BALCONY, ROMEO, NURSE]
        for entity in self.context.present:
            self.context.interests.set(entity, {N1, N2})
        asked = []
        sharesPresence = self.context.sharesPresence
        self.context.sharesPresence = lambda entity: (
            asked.append(entity), sharesPresence(entity))[1]
        return asked

    def test_candidatesSharePresence(self):
        """
        A context whose candidates share presence (C{candidatesSharePresence})
        is not asked again about each, for a node with the presence access
        model and no affiliations (issue 16).
        """
        asked = self.sharingCandidates()
        self.assertEqual((BALCONY, ROMEO, NURSE), self.publish().recipients)
        self.assertEqual([], asked)
        result = self.publish(node=N2, preconditions={"pubsub#access_model": "open"})
        self.assertEqual((BALCONY, ROMEO, NURSE), result.recipients)
        self.assertEqual([], asked)

    def test_candidatesTakenAsTheyCome(self):
        """
        Candidates that share presence, for a node nobody subscribed to
        explicitly, are the recipients as they come, in order: each comes
        once (L{IPubSubContext.candidates}), so none is even hashed.
        """
        self.sharingCandidates()

        class Unhashable:
            __hash__ = None

        came = [Unhashable(), Unhashable()]
        self.context.candidates = lambda nodeIdentifier: came
        self.assertEqual(tuple(came), self.publish().recipients)

    def test_candidatesSharePresenceChecked(self):
        """
        Candidates that share presence are still checked one by one where
        more than presence decides: an outcast gets nothing, nor does one
        outside the roster groups allowed.
        """
        asked = self.sharingCandidates()
        self.publish()
        self.service.setAffiliations(
            self.context, BALCONY, N1, {NURSE.userhostJID(): Affiliation.OUTCAST}
        )
        self.assertEqual((BALCONY, ROMEO), self.publish().recipients)
        self.assertIn(ROMEO, asked)
        self.context.groups = {ROMEO.userhostJID(): ("Friends",)}
        result = self.publish(
            node=N2,
            preconditions={
                "pubsub#access_model": "roster",
                "pubsub#roster_groups_allowed": ["Friends"],
            },
        )
        self.assertEqual((BALCONY, ROMEO), result.recipients)

    def test_lastItems(self):
        """
        On presence: nodes with an item, sending on presence, the entity
        has access to and wants.
        """
        self.publish()
        self.publish(node="urn:example:never", preconditions={"pubsub#send_last_published_item": "never"})
        self.service.create(self.context, BALCONY, "urn:example:empty")
        self.assertEqual([N1], [n.identifier for n, _ in self.service.lastItems(self.context, ROMEO)])
        self.assertEqual([], self.service.lastItems(self.context, STRANGER))
        self.assertEqual([], self.service.lastItems(self.context, ROMEO, {"urn:example:x"}))


class UseCaseTests(ModelTestCase):
    """
    Retract, items, subscribe, owner use cases.
    """

    def test_retract(self):
        """
        XEP-0060 section 7.2: items go; recipients when notify_retract (the
        default) or the request asks; unknown ids raise item-not-found and
        remove nothing.
        """
        self.publish(itemId="a", preconditions={"pubsub#max_items": "3"})
        self.publish(itemId="b")
        self.assertRaises(errors.ItemNotFound, self.service.retract, self.context, BALCONY, N1, ["a", "zz"])
        self.assertRaises(errors.ItemRequired, self.service.retract, self.context, BALCONY, N1, [])
        self.assertRaises(errors.Forbidden, self.service.retract, self.context, ROMEO, N1, ["a"])
        result = self.service.retract(self.context, BALCONY, N1, ["a"])
        self.assertEqual(["a"], [i.id for i in result.items])
        self.assertEqual(["b"], list(self.service.nodes[N1].items))

    def test_items(self):
        """
        XEP-0060 section 6.5: oldest first; newest k; by id; errors.
        """
        self.publish(itemId="a", preconditions={"pubsub#max_items": "5"})
        for itemId in "bc":
            self.publish(itemId=itemId)
        ids = lambda items: [i.id for i in items]
        self.assertEqual(list("abc"), ids(self.service.items(self.context, BALCONY, N1)))
        self.assertEqual(list("bc"), ids(self.service.items(self.context, BALCONY, N1, 2)))
        self.assertEqual(list("ca"), ids(self.service.items(self.context, BALCONY, N1, None, ["c", "x", "a"])))
        self.assertRaises(errors.ItemNotFound, self.service.items, self.context, BALCONY, "nope")
        self.assertRaises(errors.NodeIdRequired, self.service.items, self.context, BALCONY, "")
        self.assertRaises(errors.BadRequest, self.service.items, self.context, BALCONY, N1, 0)
        self.assertRaises(
            errors.PresenceSubscriptionRequired, self.service.items, self.context, STRANGER, N1
        )

    def test_admitBeforeExistence(self):
        """
        A context may refuse before node existence is checked (MEP OQ-9).
        """
        self.context.refused.add(STRANGER)
        self.assertRaises(
            errors.PresenceSubscriptionRequired, self.service.items, self.context, STRANGER, "nope"
        )

    def test_subscribe(self):
        """
        XEP-0060 section 6.1: invalid-jid, access, the last item.
        """
        self.publish(itemId="a", preconditions={"pubsub#access_model": "open"})
        self.assertRaises(errors.InvalidJID, self.service.subscribe, self.context, ROMEO, N1, STRANGER)
        result = self.service.subscribe(self.context, STRANGER, N1, STRANGER.userhostJID())
        self.assertEqual("a", result.lastItem.id)
        self.assertEqual({STRANGER.userhostJID(): "subscribed"}, self.service.nodes[N1].subscriptions)
        self.assertEqual(
            [(N1, STRANGER.userhostJID(), "subscribed")],
            [(n.identifier, s, st) for n, s, st in self.service.subscriptionsOf(STRANGER)],
        )
        self.service.unsubscribe(self.context, STRANGER, N1, STRANGER.userhostJID())
        self.assertRaises(
            errors.NotSubscribed, self.service.unsubscribe, self.context, STRANGER, N1, STRANGER
        )
        self.assertRaises(errors.Forbidden, self.service.unsubscribe, self.context, STRANGER, N1, ROMEO)

    def test_create(self):
        """
        XEP-0060 section 8.1: owner only; named; once.
        """
        node = self.service.create(self.context, BALCONY, "n", {"pubsub#max_items": "3"})
        self.assertEqual(3, node.config.maxItems)
        self.assertRaises(errors.NodeExists, self.service.create, self.context, BALCONY, "n")
        self.assertRaises(errors.InstantNodesUnsupported, self.service.create, self.context, BALCONY, None)
        self.assertRaises(errors.Forbidden, self.service.create, self.context, ROMEO, "m")

    def test_reconfigure(self):
        """
        XEP-0060 section 8.2: a smaller max_items drops the oldest; lost
        access cancels explicit subscriptions.
        """
        self.publish(itemId="a", preconditions={"pubsub#max_items": "3"})
        self.publish(itemId="b")
        self.context.sharing = {ROMEO.userhostJID()}
        self.service.subscribe(self.context, ROMEO, N1, ROMEO)
        result = self.service.reconfigure(
            self.context,
            BALCONY,
            N1,
            {"pubsub#max_items": "1", "pubsub#access_model": "whitelist"},
        )
        self.assertEqual(["a"], [i.id for i in result.evicted])
        self.assertEqual((ROMEO,), result.cancelled)
        self.assertRaises(errors.Forbidden, self.service.configuration, self.context, ROMEO, N1)

    def test_delete(self):
        """
        XEP-0060 section 8.4: owner only; never the root; the audience is
        computed before the node goes.
        """
        self.context.present = [ROMEO]
        self.context.sharing = {ROMEO.userhostJID()}
        self.context.interests.set(ROMEO, {N1})
        self.publish()
        self.assertRaises(errors.Forbidden, self.service.delete, self.context, ROMEO, N1)
        self.assertRaises(errors.NotAllowed, self.service.delete, self.context, BALCONY, "")
        result = self.service.delete(self.context, BALCONY, N1)
        self.assertEqual((ROMEO,), result.recipients)
        self.assertEqual({}, self.service.nodes)

    def test_affiliations(self):
        """
        XEP-0060 section 8.9: the owner first; only assignable ones; never
        the owner's.
        """
        self.publish()
        self.service.setAffiliations(self.context, BALCONY, N1, {ROMEO: Affiliation.MEMBER})
        self.assertEqual(
            {OWNER: Affiliation.OWNER, ROMEO.userhostJID(): Affiliation.MEMBER},
            self.service.nodeAffiliations(self.context, BALCONY, N1),
        )
        self.assertRaises(
            errors.NotAcceptable,
            self.service.setAffiliations,
            self.context,
            BALCONY,
            N1,
            {ROMEO: Affiliation.PUBLISHER},
        )
        self.assertRaises(
            errors.NotAcceptable,
            self.service.setAffiliations,
            self.context,
            BALCONY,
            N1,
            {OWNER: Affiliation.NONE},
        )
        self.service.setAffiliations(self.context, BALCONY, N1, {ROMEO: Affiliation.NONE})
        self.assertEqual({}, self.service.nodes[N1].affiliations)

    def test_cancelLostSubscriptions(self):
        """
        XEP-0163 section 7.1: after a relation changes, subscriptions
        without access go.
        """
        self.publish()
        self.context.sharing = {ROMEO.userhostJID()}
        self.service.subscribe(self.context, ROMEO, N1, ROMEO)
        self.assertEqual([], self.service.cancelLostSubscriptions(self.context, ROMEO))
        self.context.sharing = set()
        removed = self.service.cancelLostSubscriptions(self.context, ROMEO.userhostJID())
        self.assertEqual([(N1, ROMEO)], [(n.identifier, s) for n, s in removed])

    def test_visibleNodes(self):
        """
        XEP-0163 section 6.2: only nodes the requester may access.
        """
        self.publish()
        self.publish(node="open", preconditions={"pubsub#access_model": "open"})
        self.assertEqual(["open"], [n.identifier for n in self.service.visibleNodes(self.context, STRANGER)])
        self.assertEqual(["open", N1], [n.identifier for n in self.service.visibleNodes(self.context, BALCONY)])


class InterestsTests(unittest.SynchronousTestCase):
    """
    L{Interests}: per-entity interests with an index by namespace.
    """

    def test_index(self):
        interests = Interests()
        self.assertEqual(frozenset({"a", "b"}), interests.set(ROMEO, ["a", "b"]))
        self.assertEqual(frozenset({"c"}), interests.set(ROMEO, ["b", "c"]))
        interests.set(NURSE, ["c"])
        self.assertEqual(frozenset({ROMEO, NURSE}), interests.entities("c"))
        self.assertEqual(frozenset(), interests.entities("a"))
        self.assertTrue(interests.interested(ROMEO, "b"))
        interests.discard(ROMEO)
        self.assertEqual(frozenset({NURSE}), interests.entities("c"))
        self.assertEqual(frozenset(), interests.get(ROMEO))
        self.assertEqual(1, len(interests))
        interests.clear()
        self.assertEqual(0, len(interests))


class ContextTests(unittest.SynchronousTestCase):
    """
    The fake context provides the interface the engine relies on.
    """

    def test_interface(self):
        self.assertTrue(verifyObject(IPubSubContext, FakeContext()))


class NodeTests(unittest.SynchronousTestCase):
    def test_lastItem(self):
        self.assertIsNone(Node("n", NodeConfig()).lastItem())


class IdentifierTests(ModelTestCase):
    """
    NodeIDs and ItemIDs the server keeps must be XML text of at most 1023
    bytes (L{mepserver.xmlchars}); others are refused with
    C{policy-violation} before anything changes.
    """

    def test_longestAccepted(self):
        """
        A NodeID and an ItemID of exactly 1023 bytes are kept.
        """
        node = "\u00e9" * 511 + "n"
        self.assertEqual(1023, len(node.encode("utf-8")))
        result = self.publish(node=node, itemId="i" * 1023)
        self.assertEqual("i" * 1023, result.item.id)
        self.service.create(self.context, BALCONY, "c" * 1023)
        self.assertIn("c" * 1023, self.service.nodes)

    def test_tooLong(self):
        """
        One byte more is refused, in a publish (node or item id) and a
        create; no node is created.
        """
        node = "\u00e9" * 512
        for call in (
            lambda: self.publish(node=node),
            lambda: self.publish(itemId="i" * 1024),
            lambda: self.service.create(self.context, BALCONY, "c" * 1024),
        ):
            refusal = self.assertRaises(errors.BadIdentifier, call)
            self.assertIn("1024 bytes long", refusal.text)
            self.assertIn("at most 1023", refusal.text)
        self.assertEqual({}, self.service.nodes)

    def test_notXMLText(self):
        """
        A character XML 1.0 does not allow (section 2.2) is refused, named
        by its code point: control characters, a lone surrogate, U+FFFE.
        """
        for char, name in [
            ("\x00", "U+0000"),
            ("\x1b", "U+001B"),
            ("\ud800", "U+D800"),
            ("\ufffe", "U+FFFE"),
            ("\uffff", "U+FFFF"),
        ]:
            refusal = self.assertRaises(
                errors.BadIdentifier, self.publish, node="urn:a" + char
            )
            self.assertIn(f"the node name holds the character {name}", refusal.text)
            refusal = self.assertRaises(
                errors.BadIdentifier, self.service.create, self.context, BALCONY, char
            )
            self.assertIn(name, refusal.text)
            refusal = self.assertRaises(errors.BadIdentifier, self.publish, itemId=char)
            self.assertIn(f"the item id holds the character {name}", refusal.text)
        self.assertEqual({}, self.service.nodes)
        # Tabs, newlines and characters beyond the BMP are XML text.
        self.publish(node="a\tb\n\U0001f600", itemId="\r\U0010ffff")

    def test_stanzaError(self):
        """
        The refusal is a C{policy-violation} to modify, with its text.
        """
        error = errors.stanzaError(errors.BadIdentifier("too long"))
        self.assertEqual(
            ("policy-violation", "modify", "too long"),
            (error.condition, error.type, error.text),
        )


class QuotaTests(ModelTestCase):
    """
    L{Service.maxNodes} and L{Service.maxBytes} (DESIGN.md section 3).
    """

    def setUp(self):
        ModelTestCase.setUp(self)
        self.service.maxNodes = 2
        self.service.maxBytes = 100

    def test_maxNodes(self):
        """
        Past C{maxNodes}, creating a node, explicitly or by publishing, is
        refused with C{resource-constraint} and C{<max-nodes-exceeded/>},
        naming the setting; existing nodes take items; deleting one makes
        room again.
        """
        self.publish(node="a")
        self.service.create(self.context, BALCONY, "b")
        refusal = self.assertRaises(errors.TooManyNodes, self.publish, node="c")
        self.assertIn("[pubsub] max_nodes = 2", refusal.text)
        self.assertRaises(errors.TooManyNodes, self.service.create, self.context, BALCONY, "c")
        self.assertEqual(["a", "b"], sorted(self.service.nodes))
        self.publish(node="b")
        self.service.delete(self.context, BALCONY, "a")
        self.publish(node="c")
        error = errors.stanzaError(refusal)
        self.assertEqual(("resource-constraint", "wait"), (error.condition, error.type))
        self.assertEqual("max-nodes-exceeded", error.appCondition.name)

    def payload(self, size):
        """
        @return: a payload of C{size} bytes.
        """
        payload = "<p>" + "x" * (size - 7) + "</p>"
        self.assertEqual(size, len(payload))
        return payload

    def test_maxBytes(self):
        """
        Past C{maxBytes} of payloads in all nodes together, a publish is
        refused with C{not-acceptable} and C{<payload-too-big/>} (XEP-0060
        section 7.1.3.5), and nothing changes: not even the node it would
        have created.
        """
        self.publish(node="a", payload=self.payload(60))
        refusal = self.assertRaises(
            errors.PayloadTooBig, self.publish, node="b", payload=self.payload(41)
        )
        self.assertIn("[pubsub] max_bytes", refusal.text)
        self.assertIn("41 bytes", refusal.text)
        self.assertEqual(["a"], list(self.service.nodes))
        self.assertEqual(60, self.service.payloadBytes())
        self.publish(node="b", payload=self.payload(40))
        self.assertEqual(100, self.service.payloadBytes())
        error = errors.stanzaError(refusal)
        self.assertEqual(("not-acceptable", "modify"), (error.condition, error.type))
        self.assertEqual("payload-too-big", error.appCondition.name)

    def test_replacedAndEvicted(self):
        """
        What a publish replaces (the same item id) or pushes out (past
        C{max_items}) is counted as freed: a full service can still update
        its items.
        """
        self.publish(node="a", payload=self.payload(90), itemId="one")
        self.publish(node="a", payload=self.payload(95), itemId="one")
        # max_items is 1: a new id pushes the old item out.
        self.publish(node="a", payload=self.payload(100), itemId="two")
        self.assertEqual(100, self.service.payloadBytes())
        self.assertRaises(errors.PayloadTooBig, self.publish, node="b", payload=self.payload(8))

    def test_removalFrees(self):
        """
        Retracting, purging, shrinking C{max_items} and deleting a node
        free their items' bytes.
        """
        self.service.create(
            self.context, BALCONY, "a", {"pubsub#max_items": "3"}
        )
        for itemId in ("1", "2", "3"):
            self.publish(node="a", payload=self.payload(20), itemId=itemId)
        self.assertEqual(60, self.service.payloadBytes())
        self.service.retract(self.context, BALCONY, "a", ["1"])
        self.assertEqual(40, self.service.payloadBytes())
        self.service.reconfigure(self.context, BALCONY, "a", {"pubsub#max_items": "1"})
        self.assertEqual(20, self.service.payloadBytes())
        self.service.purge(self.context, BALCONY, "a")
        self.assertEqual(0, self.service.payloadBytes())
        self.publish(node="b", payload=self.payload(100))
        self.service.delete(self.context, BALCONY, "b")
        self.assertEqual(0, self.service.payloadBytes())

    def test_transientItems(self):
        """
        Items a node does not keep (C{persist_items} off) take no room.
        """
        self.service.create(
            self.context, BALCONY, "a", {"pubsub#persist_items": "0"}
        )
        self.publish(node="a", payload=self.payload(1000))
        self.assertEqual(0, self.service.payloadBytes())

    def test_loaded(self):
        """
        A node built with items (loaded from a store) counts their bytes.
        """
        item = self.publish(node="a", payload=self.payload(30)).item
        node = Node("b", NodeConfig(), [item, dataclasses.replace(item, id="2", payload=None)])
        self.assertEqual(30, node.size)

    def test_unlimited(self):
        """
        Without limits (the default of a plain L{Service}), nothing is
        refused.
        """
        service = Service(OWNER, SeededIdSource(), self.clock)
        self.assertEqual((None, None), (service.maxNodes, service.maxBytes))
        for n in range(3):
            service.publish(self.context, BALCONY, f"n{n}", self.payload(1000))
        self.assertEqual(3000, service.payloadBytes())
