# -*- test-case-name: tests.test_pubsub_registry -*-
"""
Tests for L{mepserver.pubsub.registry}: services loaded once from the
pubsub store, and written through to it.
"""

from twisted.internet import defer, task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.ids import SeededIdSource
from mepserver.interfaces import StoredNode
from mepserver.pubsub.model import Affiliation, Service
from mepserver.pubsub.registry import ServiceRegistry
from mepserver.storage.memory import MemoryPubSubStore
from tests.test_pubsub_model import BALCONY, N1, OWNER, ROMEO, FakeContext

OCCUPANT = JID("coven@chat.shakespeare.lit/secondwitch")


class SlowStore(MemoryPubSubStore):
    """
    A memory store whose loads wait until released, and which counts them.
    """

    def __init__(self):
        MemoryPubSubStore.__init__(self)
        self.loads = 0
        self.waiting = []

    def loadNodes(self, service):
        self.loads += 1
        d = defer.Deferred()
        self.waiting.append((d, MemoryPubSubStore.loadNodes(self, service)))
        return d

    def release(self):
        for d, result in self.waiting:
            result.chainDeferred(d)
        self.waiting = []


class RegistryTests(unittest.TestCase):
    def setUp(self):
        self.store = MemoryPubSubStore()
        self.clock = task.Clock()
        self.ids = SeededIdSource()
        self.registry = ServiceRegistry(self.store, self.factory)
        self.context = FakeContext()

    def factory(self, serviceJID):
        return Service(serviceJID, self.ids, self.clock, persistent=serviceJID.resource is None)

    def test_loadedOnce(self):
        """
        Concurrent first uses share one load; later ones use memory.
        """
        store = SlowStore()
        registry = ServiceRegistry(store, self.factory)
        first, second = registry.get(OWNER), registry.get(OWNER)
        self.assertNoResult(first)
        store.release()
        service = self.successResultOf(first)
        self.assertIs(service, self.successResultOf(second))
        self.assertIs(service, self.successResultOf(registry.get(OWNER)))
        self.assertEqual(1, store.loads)
        self.assertIs(service, registry.cached(OWNER))

    def test_writeThrough(self):
        """
        Node, items, evictions, subscriptions and affiliations reach the
        store, and a fresh registry loads them back.
        """
        service = self.successResultOf(self.registry.get(OWNER))
        result = service.publish(self.context, BALCONY, N1, "<x xmlns='urn:x'/>", "a",
                                 {"pubsub#max_items": "1"})
        self.successResultOf(self.registry.saveNode(service, result.node))
        self.successResultOf(self.registry.saveItem(service, result.node, result.item))
        result = service.publish(self.context, BALCONY, N1, "<y xmlns='urn:x'/>", "b")
        self.successResultOf(self.registry.saveItem(service, result.node, result.item, result.evicted))
        service.setAffiliations(self.context, BALCONY, N1, {ROMEO: Affiliation.MEMBER})
        self.successResultOf(self.registry.saveNode(service, result.node))

        loaded = self.successResultOf(ServiceRegistry(self.store, self.factory).get(OWNER))
        node = loaded.nodes[N1]
        self.assertEqual(["b"], list(node.items))
        self.assertEqual("<y xmlns='urn:x'/>", node.items["b"].payload)
        self.assertEqual(1, node.config.maxItems)
        self.assertEqual({ROMEO.userhostJID(): Affiliation.MEMBER}, node.affiliations)

        self.successResultOf(self.registry.removeNode(service, node))
        self.assertEqual([], self.successResultOf(self.store.loadNodes(OWNER)))

    def test_notPersistent(self):
        """
        A service that is not persistent (an occupant's, for MEP) never
        reaches the store.
        """
        service = self.successResultOf(self.registry.get(OCCUPANT))
        node = service.create(FakeContext(), BALCONY, "n")
        self.successResultOf(self.registry.saveNode(service, node))
        self.assertEqual([], self.successResultOf(self.store.loadNodes(OCCUPANT)))

    def test_forgetAndRemove(self):
        """
        C{forget} drops memory only; C{remove} the store copy too.
        """
        self.successResultOf(self.store.saveNode(StoredNode(OWNER, N1, {})))
        service = self.successResultOf(self.registry.get(OWNER))
        self.registry.forget(OWNER)
        self.assertIsNone(self.registry.cached(OWNER))
        self.assertIsNot(service, self.successResultOf(self.registry.get(OWNER)))
        self.successResultOf(self.registry.remove(OWNER))
        self.assertEqual([], self.successResultOf(self.store.loadNodes(OWNER)))
        self.assertEqual(0, len(self.registry))

    def test_loadFailure(self):
        """
        A failed load fails every waiter and is tried again next time.
        """

        class Broken(MemoryPubSubStore):
            def loadNodes(self, service):
                return defer.fail(RuntimeError("disk"))

        registry = ServiceRegistry(Broken(), self.factory)
        self.failureResultOf(registry.get(OWNER), RuntimeError)
        self.failureResultOf(registry.get(OWNER), RuntimeError)
