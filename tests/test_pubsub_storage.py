# -*- test-case-name: tests.test_pubsub_storage -*-
"""
Tests for the L{IPubSubStore} of L{mepserver.storage}: one contract run
against the memory store and the SQLite store, plus SQLite durability and
the pubsub tables sharing the file with users and rooms.
"""

import datetime

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from zope.interface.verify import verifyObject

from mepserver.interfaces import (
    Credentials,
    IPubSubStore,
    StoredItem,
    StoredNode,
    UnknownNode,
)
from mepserver.storage.memory import MemoryPubSubStore
from mepserver.storage.sqlite import SQLiteStore

JULIET = JID("juliet@capulet.lit")
ROMEO = JID("romeo@montague.lit")
OCCUPANT = JID("coven@chat.shakespeare.lit/secondwitch")
TUNE = "http://jabber.org/protocol/tune"
UTC = datetime.timezone.utc

CONFIG = {
    "pubsub#access_model": "roster",
    "pubsub#roster_groups_allowed": ("Friends", "Vérone"),
    "pubsub#max_items": "max",
    "pubsub#deliver_payloads": True,
    "pubsub#notify_retract": False,
}
NODE = StoredNode(
    JULIET,
    TUNE,
    CONFIG,
    affiliations={ROMEO: "member"},
    subscriptions={ROMEO: "subscribed", JID("nurse@capulet.lit/chamber"): "subscribed"},
)


def item(identifier, payload="<tune xmlns='http://jabber.org/protocol/tune'/>", seconds=0):
    return StoredItem(
        identifier,
        payload,
        JID("juliet@capulet.lit/balcony"),
        datetime.datetime(2003, 12, 13, 23, 58, 37, 120000, tzinfo=UTC)
        + datetime.timedelta(seconds=seconds),
    )


class PubSubStoreTests:
    """
    The L{IPubSubStore} contract. Subclasses set C{self.store} in C{setUp}
    to an empty store.
    """

    def test_interface(self):
        """
        The store provides L{IPubSubStore}.
        """
        self.assertTrue(verifyObject(IPubSubStore, self.store))

    @defer.inlineCallbacks
    def test_saveNode(self):
        """
        A saved node comes back with config values of the same types,
        affiliations and subscriptions.
        """
        yield self.store.saveNode(NODE)
        nodes = yield self.store.loadNodes(JULIET)
        self.assertEqual([NODE], nodes)
        self.assertEqual(
            {k: type(v) for k, v in CONFIG.items()},
            {k: type(v) for k, v in nodes[0].config.items()},
        )

    @defer.inlineCallbacks
    def test_saveNodeKeepsItems(self):
        """
        Saving a node again replaces its config, affiliations and
        subscriptions, and keeps its items.
        """
        yield self.store.saveNode(NODE)
        yield self.store.saveItem(JULIET, TUNE, item("a"))
        changed = StoredNode(JULIET, TUNE, {"pubsub#max_items": "2"})
        yield self.store.saveNode(changed)
        self.assertEqual([changed], (yield self.store.loadNodes(JULIET)))
        self.assertEqual([item("a")], (yield self.store.loadItems(JULIET, TUNE)))

    @defer.inlineCallbacks
    def test_loadNodesPerService(self):
        """
        Nodes are per service, sorted by NodeID; services are told apart
        by their full JID (occupant JIDs, for MEP).
        """
        yield self.store.saveNode(StoredNode(JULIET, "b", {}))
        yield self.store.saveNode(StoredNode(JULIET, "a", {}))
        yield self.store.saveNode(StoredNode(OCCUPANT, "a", {}))
        yield self.store.saveNode(StoredNode(OCCUPANT.userhostJID(), "c", {}))
        self.assertEqual(["a", "b"], [n.identifier for n in (yield self.store.loadNodes(JULIET))])
        self.assertEqual(["a"], [n.identifier for n in (yield self.store.loadNodes(OCCUPANT))])
        self.assertEqual([], (yield self.store.loadNodes(ROMEO)))

    @defer.inlineCallbacks
    def test_items(self):
        """
        Items come back oldest first with payload, publisher and an aware
        timestamp; storing an existing id replaces it as the newest.
        """
        yield self.store.saveNode(NODE)
        yield self.store.saveItem(JULIET, TUNE, item("a"))
        yield self.store.saveItem(JULIET, TUNE, item("b", None, 1))
        yield self.store.saveItem(JULIET, TUNE, item("a", "<x xmlns='urn:x'>é</x>", 2))
        items = yield self.store.loadItems(JULIET, TUNE)
        self.assertEqual([item("b", None, 1), item("a", "<x xmlns='urn:x'>é</x>", 2)], items)
        self.assertEqual(UTC, items[0].published.tzinfo)

    @defer.inlineCallbacks
    def test_saveItemUnknownNode(self):
        """
        An item for a node that is not stored fails with L{UnknownNode}.
        """
        yield self.assertFailure(self.store.saveItem(JULIET, TUNE, item("a")), UnknownNode)

    @defer.inlineCallbacks
    def test_removeItems(self):
        """
        Removing items by id; unknown ids are no error.
        """
        yield self.store.saveNode(NODE)
        for identifier in "abc":
            yield self.store.saveItem(JULIET, TUNE, item(identifier))
        yield self.store.removeItems(JULIET, TUNE, ["a", "c", "zz"])
        self.assertEqual(["b"], [i.id for i in (yield self.store.loadItems(JULIET, TUNE))])
        yield self.store.removeItems(JULIET, "nope", ["b"])

    @defer.inlineCallbacks
    def test_removeNode(self):
        """
        A removed node takes its items; recreated, it is empty; removing
        an absent node is no error.
        """
        yield self.store.saveNode(NODE)
        yield self.store.saveItem(JULIET, TUNE, item("a"))
        yield self.store.removeNode(JULIET, TUNE)
        self.assertEqual([], (yield self.store.loadNodes(JULIET)))
        yield self.store.saveNode(NODE)
        self.assertEqual([], (yield self.store.loadItems(JULIET, TUNE)))
        yield self.store.removeNode(JULIET, "nope")

    @defer.inlineCallbacks
    def test_removeService(self):
        """
        Removing a service removes all its nodes and items, and only its.
        """
        yield self.store.saveNode(NODE)
        yield self.store.saveItem(JULIET, TUNE, item("a"))
        yield self.store.saveNode(StoredNode(ROMEO, TUNE, {}))
        yield self.store.removeService(JULIET)
        self.assertEqual([], (yield self.store.loadNodes(JULIET)))
        self.assertEqual([], (yield self.store.loadItems(JULIET, TUNE)))
        self.assertEqual(1, len((yield self.store.loadNodes(ROMEO))))

    @defer.inlineCallbacks
    def test_copies(self):
        """
        Changing the mappings of a saved node changes nothing stored.
        """
        affiliations = {ROMEO: "member"}
        yield self.store.saveNode(StoredNode(JULIET, TUNE, {}, affiliations))
        affiliations[JULIET] = "outcast"
        [node] = yield self.store.loadNodes(JULIET)
        self.assertEqual({ROMEO: "member"}, node.affiliations)


class MemoryPubSubStoreTests(PubSubStoreTests, unittest.TestCase):
    """
    The contract for L{MemoryPubSubStore}, plus C{reset}.
    """

    def setUp(self):
        self.store = MemoryPubSubStore()

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets every node and item.
        """
        yield self.store.saveNode(NODE)
        yield self.store.saveItem(JULIET, TUNE, item("a"))
        self.store.reset()
        self.assertEqual([], (yield self.store.loadNodes(JULIET)))
        self.assertEqual([], (yield self.store.loadItems(JULIET, TUNE)))


class SQLitePubSubStoreTests(PubSubStoreTests, unittest.TestCase):
    """
    The contract for L{SQLiteStore}, plus durability.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.path = self.mktemp()
        self.store = yield SQLiteStore.open(self.path)
        self.addCleanup(lambda: self.store.close())

    @defer.inlineCallbacks
    def test_reopen(self):
        """
        Nodes and items survive closing and opening the file again, with
        the users beside them.
        """
        yield self.store.createUser("juliet", Credentials({}))
        yield self.store.saveNode(NODE)
        yield self.store.saveItem(JULIET, TUNE, item("a"))
        yield self.store.saveItem(JULIET, TUNE, item("b", seconds=5))
        yield self.store.close()
        self.store = yield SQLiteStore.open(self.path)
        self.assertEqual([NODE], (yield self.store.loadNodes(JULIET)))
        self.assertEqual(
            [item("a"), item("b", seconds=5)], (yield self.store.loadItems(JULIET, TUNE))
        )
        self.assertEqual(["juliet"], (yield self.store.listUsers()))
