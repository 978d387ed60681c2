# -*- test-case-name: tests.test_pubsub_registry -*-
"""
Virtual pubsub services by JID, loaded from an
L{mepserver.interfaces.IPubSubStore} on first use and written through to
it after every change (STYLE.md section 4: only durable state is stored).

PEP keeps one registry of account services; MEP keeps its own, so the two
contexts never share a node (XEP-0316 section 3).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Set

from twisted.internet import defer
from twisted.python import failure
from twisted.words.protocols.jabber import jid

from mepserver.interfaces import StoredItem, StoredNode
from mepserver.pubsub.model import Affiliation, Item, Node, NodeConfig, Service


def storedNode(service: Service, node: Node) -> StoredNode:
    """
    @return: the L{StoredNode} for C{node} of C{service}.
    """
    return StoredNode(
        service=service.jid,
        identifier=node.identifier,
        config=node.config.values(),
        affiliations={entity: a.value for entity, a in node.affiliations.items()},
        subscriptions=dict(node.subscriptions),
    )


def storedItem(item: Item) -> StoredItem:
    """
    @return: the L{StoredItem} for C{item}.
    """
    return StoredItem(item.id, item.payload, item.publisher, item.published)


#: How many services a L{ServiceRegistry} remembers the store holds nothing
#: for.
ABSENT_SIZE = 4096


class ServiceRegistry:
    """
    The services of one context, each loaded once.

    It remembers the last L{ABSENT_SIZE} services the store holds nothing
    for, as far as this process knows: removed from it, or found empty,
    and not written since. Loading one reads nothing, and removing it
    writes nothing: a temporary room is created and emptied again and
    again (issue 16), and its MEP service was read and removed each time.

    @ivar store: the L{mepserver.interfaces.IPubSubStore}, or L{None} to
        keep everything in memory.
    @ivar factory: C{factory(serviceJID)} makes an empty L{Service}; its
        C{persistent} flag decides whether the store sees it.
    """

    def __init__(self, store, factory: Callable[[jid.JID], Service]):
        self.store = store
        self.factory = factory
        self._services: Dict[jid.JID, Service] = {}
        # The JIDs of _services by their bare JID: a room's service and its
        # occupants' go together (forgetUnder).
        self._byBare: Dict[jid.JID, Set[jid.JID]] = {}
        self._loading: Dict[jid.JID, List[defer.Deferred]] = {}
        self._absent: "OrderedDict[jid.JID, None]" = OrderedDict()

    def _hold(self, serviceJID: jid.JID, service: Service) -> None:
        self._services[serviceJID] = service
        self._byBare.setdefault(serviceJID.userhostJID(), set()).add(serviceJID)

    def _drop(self, serviceJID: jid.JID) -> Optional[Service]:
        service = self._services.pop(serviceJID, None)
        if service is not None:
            bare = serviceJID.userhostJID()
            held = self._byBare[bare]
            held.discard(serviceJID)
            if not held:
                del self._byBare[bare]
        return service

    def _markAbsent(self, serviceJID: jid.JID) -> None:
        self._absent[serviceJID] = None
        self._absent.move_to_end(serviceJID)
        while len(self._absent) > ABSENT_SIZE:
            self._absent.popitem(last=False)

    def _written(self, serviceJID: jid.JID) -> None:
        """
        A write for the service is being issued: the store may hold it.
        """
        self._absent.pop(serviceJID, None)

    def __len__(self) -> int:
        return len(self._services)

    def cached(self, serviceJID: jid.JID) -> Optional[Service]:
        """
        @return: the service if it is loaded, else L{None}.
        """
        return self._services.get(serviceJID)

    def get(self, serviceJID: jid.JID) -> defer.Deferred:
        """
        @return: a Deferred firing with the L{Service} at C{serviceJID},
            loaded from the store the first time (concurrent first calls
            share one load).
        """
        service = self._services.get(serviceJID)
        if service is not None:
            return defer.succeed(service)
        d = defer.Deferred()
        waiting = self._loading.get(serviceJID)
        if waiting is None:
            waiting = self._loading[serviceJID] = []
            waiting.append(d)
            defer.ensureDeferred(self._load(serviceJID)).addBoth(self._loaded, serviceJID)
        else:
            waiting.append(d)
        return d

    async def _load(self, serviceJID: jid.JID) -> Service:
        service = self.factory(serviceJID)
        if self.store is not None and service.persistent and serviceJID not in self._absent:
            nodes = await self.store.loadNodes(serviceJID)
            if not nodes:
                # Nothing was written for it meanwhile: writes need the
                # service, which is being loaded.
                self._markAbsent(serviceJID)
            for stored in nodes:
                items = await self.store.loadItems(serviceJID, stored.identifier)
                service.nodes[stored.identifier] = Node(
                    stored.identifier,
                    NodeConfig.fromValues(stored.config),
                    [Item(i.id, i.payload, i.publisher, i.published) for i in items],
                    {e: Affiliation(a) for e, a in stored.affiliations.items()},
                    stored.subscriptions,
                )
        self._hold(serviceJID, service)
        return service

    def _loaded(self, result, serviceJID: jid.JID) -> None:
        for d in self._loading.pop(serviceJID):
            if isinstance(result, failure.Failure):
                d.errback(result)
            else:
                d.callback(result)

    def forget(self, serviceJID: jid.JID) -> None:
        """
        Drop a service from memory only (its store copy stays).
        """
        self._drop(serviceJID)

    def forgetUnder(self, bare: jid.JID) -> None:
        """
        Drop from memory only the services at C{bare} and at its full JIDs
        (a room's and its occupants'), without looking at any other.
        """
        for serviceJID in list(self._byBare.get(bare, ())):
            self._drop(serviceJID)

    def move(self, old: jid.JID, new: jid.JID) -> Optional[Service]:
        """
        Move a service held in memory only (C{persistent} false) to another
        JID, which becomes the C{from} of its notifications (MEP OQ-2: an
        occupant's nick change).

        @return: the moved service, or L{None} if none was loaded at C{old}.
        """
        service = self._drop(old)
        if service is not None:
            service.jid = new
            self._hold(new, service)
        return service

    def reset(self) -> None:
        """
        Forget every service in memory, for test fixtures, and what this
        registry knew of the store (which fixtures fill or empty behind
        its back).
        """
        self._services.clear()
        self._byBare.clear()
        self._absent.clear()

    # Write-through.

    def _writes(self, service: Service) -> bool:
        if self.store is not None and service.persistent:
            self._written(service.jid)
            return True
        return False

    def saveNode(self, service: Service, node: Node) -> defer.Deferred:
        """
        Write a node's configuration, affiliations and subscriptions.
        """
        if not self._writes(service):
            return defer.succeed(None)
        return self.store.saveNode(storedNode(service, node))

    def saveItem(
        self, service: Service, node: Node, item: Item, evicted: Iterable[Item] = ()
    ) -> defer.Deferred:
        """
        Write a published item, and forget the items it pushed out.

        Both writes are issued at once, so that the store sees them in the
        order the model made the changes, whatever comes next.
        """
        if not self._writes(service):
            return defer.succeed(None)
        writes = [self.store.saveItem(service.jid, node.identifier, storedItem(item))]
        evicted = [i.id for i in evicted]
        if evicted:
            writes.append(self.store.removeItems(service.jid, node.identifier, evicted))
        return allWritten(writes)

    def removeItems(self, service: Service, node: Node, items: Iterable[Item]) -> defer.Deferred:
        """
        Forget items.
        """
        identifiers = [i.id for i in items]
        if not self._writes(service) or not identifiers:
            return defer.succeed(None)
        return self.store.removeItems(service.jid, node.identifier, identifiers)

    def removeNode(self, service: Service, node: Node) -> defer.Deferred:
        """
        Forget a node with its items.
        """
        if not self._writes(service):
            return defer.succeed(None)
        return self.store.removeNode(service.jid, node.identifier)

    def remove(self, serviceJID: jid.JID) -> defer.Deferred:
        """
        Forget a whole service, in memory and in the store.
        """
        service = self._drop(serviceJID)
        if self.store is None or (service is not None and not service.persistent):
            return defer.succeed(None)
        if serviceJID in self._absent:
            # Removed, or found empty, and not written since.
            self._absent.move_to_end(serviceJID)
            return defer.succeed(None)
        # Absent from the moment the removal is issued: the store runs
        # calls in order, so a later write is after it (and unmarks it).
        self._markAbsent(serviceJID)

        def failed(failure):
            self._written(serviceJID)
            return failure

        return self.store.removeService(serviceJID).addErrback(failed)


def _nothing(result) -> None:
    return None


def allWritten(writes: List[defer.Deferred]) -> defer.Deferred:
    """
    Wait for writes issued together.

    Every write's outcome is consumed, so that when several fail (a store
    that went away fails them all) the caller handles one failure and no
    other is left unhandled in its Deferred.

    @return: a Deferred that fires when every write is done, or fails with
        the first failure.
    """
    if len(writes) == 1:
        # The usual case (a publish writes its item; issue 16): the
        # write's own Deferred, which fails as the write does.
        return writes[0].addCallback(_nothing)
    d = defer.gatherResults(writes, consumeErrors=True)
    d.addErrback(lambda f: f.value.subFailure if f.check(defer.FirstError) else f)
    d.addCallback(lambda _: None)
    return d
