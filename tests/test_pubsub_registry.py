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
from mepserver.pubsub import registry as registryModule
from mepserver.pubsub.registry import ServiceRegistry, allWritten
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


class CountingStore(MemoryPubSubStore):
    """
    A memory store that counts reads and removals of whole services, and
    fails removals while C{broken}.
    """

    def __init__(self):
        MemoryPubSubStore.__init__(self)
        self.calls = []
        self.broken = False

    def loadNodes(self, service):
        self.calls.append(("load", service))
        return MemoryPubSubStore.loadNodes(self, service)

    def removeService(self, service):
        self.calls.append(("remove", service))
        if self.broken:
            return defer.fail(RuntimeError("disk"))
        return MemoryPubSubStore.removeService(self, service)


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

    def test_forgetUnder(self):
        """
        C{forgetUnder} drops from memory the services at a bare JID and at
        its full JIDs, including one moved there, and no other; the store
        keeps its copies.
        """
        room = OCCUPANT.userhostJID()
        other = JID("heath@chat.shakespeare.lit")
        self.successResultOf(self.store.saveNode(StoredNode(room, N1, {})))
        for serviceJID in [room, OCCUPANT, JID("coven@chat.shakespeare.lit/third"),
                           other, JID("heath@chat.shakespeare.lit/macbeth")]:
            self.successResultOf(self.registry.get(serviceJID))
        moved = JID("coven@chat.shakespeare.lit/renamed")
        self.registry.move(JID("coven@chat.shakespeare.lit/third"), moved)
        self.registry.forgetUnder(room)
        for gone in [room, OCCUPANT, moved]:
            self.assertIsNone(self.registry.cached(gone))
        self.assertIsNotNone(self.registry.cached(other))
        self.assertIsNotNone(self.registry.cached(JID("heath@chat.shakespeare.lit/macbeth")))
        self.assertEqual(2, len(self.registry))
        self.assertEqual(1, len(self.successResultOf(self.store.loadNodes(room))))
        # Forgotten, then loaded again: held once more, and forgotten again.
        self.successResultOf(self.registry.get(OCCUPANT))
        self.registry.forgetUnder(room)
        self.assertIsNone(self.registry.cached(OCCUPANT))

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

    def test_absentNotAskedAgain(self):
        """
        A service removed, or found empty, and not written since, is
        neither read nor removed from the store again (issue 16: a
        temporary room is made and emptied again and again); a write, or
        a removal that failed, makes the store asked again.
        """
        store = CountingStore()
        registry = ServiceRegistry(store, self.factory)
        self.successResultOf(registry.remove(OWNER))
        self.successResultOf(registry.remove(OWNER))
        service = self.successResultOf(registry.get(OWNER))
        self.assertEqual([("remove", OWNER)], store.calls)
        # Written: asked again, and the write is there to load.
        node = service.create(self.context, BALCONY, N1)
        self.successResultOf(registry.saveNode(service, node))
        registry.forget(OWNER)
        self.assertIn(N1, self.successResultOf(registry.get(OWNER)).nodes)
        self.successResultOf(registry.remove(OWNER))
        self.assertEqual(
            [("remove", OWNER), ("load", OWNER), ("remove", OWNER)], store.calls
        )
        # Found empty by a load: not removed from the store.
        del store.calls[:]
        other = JID("nurse@capulet.lit")
        self.successResultOf(registry.get(other))
        self.successResultOf(registry.remove(other))
        self.assertEqual([("load", other)], store.calls)
        # A failed removal is tried again.
        del store.calls[:]
        store.broken = True
        self.successResultOf(registry.saveNode(service, node))
        self.failureResultOf(registry.remove(OWNER), RuntimeError)
        store.broken = False
        self.successResultOf(registry.remove(OWNER))
        self.assertEqual([("remove", OWNER)] * 2, store.calls)

    def test_absentForgottenOnReset(self):
        """
        C{reset} forgets what the registry knew of the store (a fixture
        fills it behind its back), and at most L{registryModule.ABSENT_SIZE}
        services are remembered.
        """
        self.patch(registryModule, "ABSENT_SIZE", 1)
        store = CountingStore()
        registry = ServiceRegistry(store, self.factory)
        other = JID("nurse@capulet.lit")
        self.successResultOf(registry.remove(OWNER))
        self.successResultOf(registry.remove(other))
        self.successResultOf(registry.remove(OWNER))
        self.assertEqual([("remove", OWNER), ("remove", other), ("remove", OWNER)], store.calls)
        registry.reset()
        self.successResultOf(store.saveNode(StoredNode(OWNER, N1, {})))
        self.assertIn(N1, self.successResultOf(registry.get(OWNER)).nodes)


class AllWrittenTests(unittest.TestCase):
    """
    L{allWritten}: writes issued together, waited for together.
    """

    def test_oneWrite(self):
        """
        One write is waited for through its own Deferred (issue 16), which
        fires with L{None}, or fails as the write does.
        """
        write = defer.succeed("row")
        self.assertIs(write, allWritten([write]))
        self.assertIsNone(self.successResultOf(write))
        failed = allWritten([defer.fail(ValueError("disk"))])
        self.failureResultOf(failed, ValueError)

    def test_severalWrites(self):
        """
        Several writes: L{None} once all are done; the first failure once,
        the others consumed.
        """
        first, second = defer.Deferred(), defer.Deferred()
        d = allWritten([first, second])
        first.callback("a")
        self.assertNoResult(d)
        second.callback("b")
        self.assertIsNone(self.successResultOf(d))
        d = allWritten([defer.fail(ValueError("one")), defer.fail(KeyError("two"))])
        self.assertEqual("one", str(self.failureResultOf(d, ValueError).value))
        self.assertEqual([], self.flushLoggedErrors())
