# -*- test-case-name: tests.test_routing,tests.test_fanout -*-
"""
The stanza router and the domains on it (RFC 6120 section 10).

L{Router} joins the domains by the domain of each stanza's C{to}; each
domain is a L{Domain}: sibling handlers observing one in-process stream,
where the first handler that marks a stanza handled ends its journey. A
broadcast (one stanza, a copy per recipient) goes in one call per domain
that delivers in bulk (L{sendMany}, L{Router.deliverMany}).
"""

import itertools
from operator import attrgetter
from typing import Optional

from twisted.application import service
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import utility, xpath
from wokkel import component, generic

from mepserver.interfaces import IBulkDelivery

log = Logger()


def copyFor(broadcast, recipient: jid.JID, newId=None):
    """
    One recipient's copy of a L{mepserver.stanza.Broadcast}, as an element
    of its own.

    @param newId: L{None}, or a callable giving the copy its C{id}.
    """
    return broadcast.copyTo(recipient.full(), None if newId is None else newId())


def sendMany(handler, broadcast, recipients, newId=None) -> None:
    """
    Send a copy of a broadcast to each recipient from a handler: in one
    call where the handler's stream is a L{Domain}'s
    (L{Router.deliverMany}), else one copy after another, each sent as
    the handler sends any stanza.

    @param handler: the sending L{XMPPHandler<wokkel.subprotocols.XMPPHandler>}.
    @param broadcast: a L{mepserver.stanza.Broadcast}.
    @param recipients: a sequence of L{jid.JID}s.
    @param newId: L{None}, or a callable giving each copy its C{id}, called
        once per recipient, in order.
    """
    many = getattr(handler.xmlstream, "sendMany", None)
    if many is not None:
        many(broadcast, recipients, newId)
        return
    for recipient in recipients:
        handler.send(copyFor(broadcast, recipient, newId))


def sendEach(handler, elements, recipient: jid.JID) -> None:
    """
    Send elements to one recipient, in order, from a handler: in one call
    where the handler's stream is a L{Domain}'s (L{Router.deliverEach}),
    else one after another, each sent as the handler sends any stanza.

    Each element gets the recipient as its C{to} as it is sent, and is no
    longer marked handled (a sender may send one element again, as
    L{sendMany} sends a broadcast).

    @param handler: the sending L{XMPPHandler<wokkel.subprotocols.XMPPHandler>}.
    @param elements: an iterable of stanzas, iterated once, each stanza
        sent before the next is taken: a generator keeps one alive at a
        time (a room's entry is a presence per occupant: built all at once
        for a room of a hundred, they left the allocator's memory
        fragmented, about 3 kB per occupant).
    @param recipient: a L{jid.JID}.
    """
    to = recipient.full()

    def addressed():
        for element in elements:
            element["to"] = to
            element.handled = False
            yield element

    each = getattr(handler.xmlstream, "sendEach", None)
    if each is not None:
        each(addressed(), recipient)
        return
    for element in addressed():
        handler.send(element)


class Router(component.Router):
    """
    Route stanzas by the domain of their C{to} address.

    This subclass changes two things in wokkel's router. It does not log
    every stanza: that serializes each one a second time on the server's
    hottest path (DESIGN.md section 9); the streams log traffic when asked.
    And a domain with no route gets C{remote-server-not-found}, not
    C{remote-server-timeout}: this server has no server-to-server links, so
    such a domain can never be reached (RFC 6120 sections 8.3.3.15, 10.4.3).
    """

    def __init__(self):
        component.Router.__init__(self)
        self.direct = {}
        self.bulk = {}
        self.each = {}

    def route(self, stanza):
        """
        Route a stanza to the component serving its C{to} domain: straight
        to the domain's first handlers if it has any (L{Domain.direct}),
        through its stream otherwise.
        """
        destination = jid.internJID(stanza["to"])
        direct = self.direct.get(destination.host)
        if direct is not None and direct(stanza):
            return
        route = self.routes.get(destination.host)
        if route is None:
            route = self.routes.get(None)
        if route is not None:
            route.send(stanza)
        elif stanza.getAttribute("type") != "error" and not (
            stanza.name == "iq" and stanza.getAttribute("type") == "result"
        ):
            response = error.StanzaError(
                "remote-server-not-found",
                text=f"this server does not serve '{destination.host}' and "
                "has no server-to-server connections",
            ).toResponse(stanza)
            response["from"] = destination.host
            if response.getAttribute("to"):
                self.route(response)

    def deliverMany(self, broadcast, recipients, newId=None) -> None:
        """
        Route a copy of a broadcast to each recipient, in order: the
        recipients of a domain that delivers in bulk (L{bulk}: the client
        domain, L{Domain.deliverMany}) in one call per run of them, the
        others one copy at a time, as L{route} routes any stanza.

        @param broadcast: a L{mepserver.stanza.Broadcast}; it is not
            changed.
        @param recipients: a sequence of L{jid.JID}s.
        @param newId: L{None}, or a callable giving each copy its C{id},
            called once per recipient, in order.
        """
        for host, run in itertools.groupby(recipients, attrgetter("host")):
            deliver = self.bulk.get(host)
            if deliver is not None:
                deliver(broadcast, list(run), newId)
                continue
            for recipient in run:
                self.route(copyFor(broadcast, recipient, newId))


    def deliverEach(self, elements, recipient: jid.JID) -> None:
        """
        Route stanzas to one recipient, in order: in one call if its domain
        delivers in bulk (L{each}: the client domain,
        L{Domain.deliverEach}), else each as L{route} routes any stanza.

        @param elements: an iterable of stanzas whose C{to} is
            C{recipient}, iterated once.
        @param recipient: a L{jid.JID}.
        """
        deliver = self.each.get(recipient.host)
        if deliver is not None:
            deliver(elements, recipient)
            return
        for element in elements:
            self.route(element)


#: Observers of every stanza ("/*") with a priority above this take
#: stanzas before the handlers that answer by kind, and are the ones
#: L{Domain.direct} calls.
DIRECT_PRIORITY = 0


def _mayMatch(query, name: str) -> bool:
    """
    Whether an XPath query of an observer may match an element called
    C{name}.
    """
    location = getattr(query, "baseLocation", None)
    if type(location) is not xpath._Location:
        return True
    return location.elementName is None or location.elementName == name


def _childNamespace(query) -> Optional[str]:
    """
    The namespace an element must have a child in for an XPath query of an
    observer to match it, when the query says so plainly: the handlers'
    usual C{/iq[@type='get']/query[@xmlns='...']}.

    @return: that namespace, or L{None} if the query does not say.
    """
    location = getattr(query, "baseLocation", None)
    if type(location) is not xpath._Location:
        return None
    child = location.childLocation
    if type(child) is not xpath._Location:
        return None
    for predicate in child.predicates:
        if (
            type(predicate) is xpath.CompareValue
            and predicate.value == predicate._compareEqual
            and type(predicate.lhs) is xpath.AttribValue
            and predicate.lhs.attribname == "xmlns"
            and type(predicate.rhs) is xpath.LiteralValue
        ):
            return str(predicate.rhs)
    return None


#: In the key of a dispatcher's candidates: the element has no child, or
#: one in a namespace no query asks for.
_NO_NAMESPACE = object()


class HandledStopsDispatcher(utility.EventDispatcher):
    """
    An event dispatcher on which a stanza marked handled reaches no further
    observer, the way a Prosody event handler that returns a value ends the
    event.

    Observers run in priority order, as on any dispatcher. Each is called
    only while the dispatched object is not marked handled, so one stanza
    is answered at most once. wokkel's own handlers (ping, version, disco,
    pubsub) answer every request they observe, handled or not; on a plain
    dispatcher an IQ that L{mepserver.c2s.sessions.DeliveryHandler} had
    delivered to a client's full JID was also answered by the server, which
    RFC 6120 section 10.5.4 forbids: only the client answers for it.
    """

    def __init__(self):
        utility.EventDispatcher.__init__(self)
        self._guards = {}
        # (priority, observer) of the "/*" observers above DIRECT_PRIORITY,
        # highest first.
        self.firstObservers = []
        # By element name, or name and child namespace: the (priority,
        # query, callbacks) that may match such an element, in dispatch
        # order; made when first needed, forgotten whenever the observers
        # change (with the namespaces the queries ask children to have).
        self._candidates = {}
        self._namespaces = None

    def dispatch(self, obj, event=None):
        """
        Dispatch as Twisted's dispatcher does, except that an element
        stops going to observers once it is marked handled: none of them
        would be called (L{_guard}), and matching each one's XPath against
        it is the dispatch's main cost. For the same reason an element is
        matched only against the queries that may match its name and its
        child's namespace (L{_candidatesFor}).
        """
        if event is not None:
            return utility.EventDispatcher.dispatch(self, obj, event)
        found = False
        self._dispatchDepth += 1
        emptyLists = []
        try:
            for priority, query, callbacks in self._candidatesFor(obj):
                if getattr(obj, "handled", False):
                    found = True
                    break
                if query.matches(obj):
                    callbacks.callback(obj)
                    found = True
                    if callbacks.isEmpty():
                        emptyLists.append((priority, query))
            if emptyLists:
                observers = self._xpathObservers
                for priority, query in emptyLists:
                    del observers[priority][query]
                self._forgetCandidates()
        finally:
            self._dispatchDepth -= 1
        if self._dispatchDepth == 0:
            for f in self._updateQueue:
                f()
            self._updateQueue = []
        return found

    def _candidatesFor(self, element):
        """
        @return: the (priority, query, callbacks) of the observers whose
            query may match C{element}, highest priority first. A query of
            the form C{/name...} (Twisted's C{xpath._Location}) matches
            nothing else; any other (C{/*}, C{//...}) may match anything.
            A query that asks for a child in a namespace
            (L{_childNamespace}) matches nothing without one: an IQ, whose
            one child says what it is for (RFC 6120 section 8.2.3), is
            matched only against the queries for its child's namespace
            and those that ask none (issue 16: a client domain has a dozen
            handlers of IQs).
        """
        name = element.name
        key = name
        child = None
        for node in element.children:
            if not isinstance(node, str):
                if child is not None:
                    # Several children: any query may match.
                    child = None
                    break
                child = node
        else:
            key = (name, _NO_NAMESPACE)
            if child is not None:
                namespaces = self._namespaces
                if namespaces is None:
                    namespaces = self._namespaces = frozenset(
                        _childNamespace(query)
                        for queries in self._xpathObservers.values()
                        for query in queries
                    )
                uri = getattr(child, "uri", None)
                if uri in namespaces:
                    key = (name, uri)
        candidates = self._candidates.get(key)
        if candidates is None:
            observers = self._xpathObservers
            if key is name:
                wanted = None
            else:
                wanted = (None, key[1])
            candidates = self._candidates[key] = [
                (priority, query, callbacks)
                for priority in sorted(observers, reverse=True)
                for query, callbacks in observers[priority].items()
                if _mayMatch(query, name)
                and (wanted is None or _childNamespace(query) in wanted)
            ]
        return candidates

    def _forgetCandidates(self) -> None:
        self._candidates = {}
        self._namespaces = None

    def _addObserver(self, onetime, event, observerfn, priority, *args, **kwargs):
        # Also called for changes queued during a dispatch, when applied.
        utility.EventDispatcher._addObserver(
            self, onetime, event, observerfn, priority, *args, **kwargs
        )
        self._forgetCandidates()

    def _guard(self, event, observerfn):
        guard = self._guards.get((event, observerfn))
        if guard is None:

            def guard(obj, *args, **kwargs):
                if not getattr(obj, "handled", False):
                    return observerfn(obj, *args, **kwargs)

            self._guards[event, observerfn] = guard
        return guard

    def addObserver(self, event, observerfn, priority=0, *args, **kwargs):
        utility.EventDispatcher.addObserver(
            self, event, self._guard(event, observerfn), priority, *args, **kwargs
        )
        if event == "/*" and priority > DIRECT_PRIORITY and not args and not kwargs:
            # A new list: Domain.direct may be going through the old one.
            self.firstObservers = sorted(
                self.firstObservers + [(priority, observerfn)], key=lambda entry: -entry[0]
            )

    def addOnetimeObserver(self, event, observerfn, priority=0, *args, **kwargs):
        utility.EventDispatcher.addOnetimeObserver(
            self, event, self._guard(event, observerfn), priority, *args, **kwargs
        )

    def removeObserver(self, event, observerfn):
        if self._dispatchDepth > 0:
            # Twisted's dispatcher would queue the removal of the guard,
            # forgotten by then: queue the observer's own.
            self._updateQueue.append(lambda: self.removeObserver(event, observerfn))
            return
        guard = self._guards.pop((event, observerfn), None)
        if guard is not None:
            utility.EventDispatcher.removeObserver(self, event, guard)
        self._forgetCandidates()
        if event == "/*":
            self.firstObservers = [e for e in self.firstObservers if e[1] != observerfn]


class Domain(component.InternalComponent):
    """
    One domain's handlers, connected to the router in the same process.

    Unlike wokkel's L{component.InternalComponent}, the handlers observe a
    L{HandledStopsDispatcher}: the first handler that takes a stanza is the
    only one that answers it.

    A domain whose handlers observe every stanza first (C{"/*"} above
    L{DIRECT_PRIORITY}: the client domain's block list check and local
    delivery) gets stanzas from the router straight to those handlers
    (L{direct}), in the same order and at the same moment as through the
    stream, without its dispatch (issue 16: a broadcast to a room's
    occupants is mostly such stanzas).

    A domain with a handler that delivers in bulk (L{IBulkDelivery}: the
    client domain's delivery, which also does its block list check) gets
    a broadcast to many of its addresses in one call
    (L{Router.deliverMany}), while that handler stands for all its first
    observers. Its handlers send broadcasts that way with L{sendMany}.
    """

    _bulk = None
    _bulkObservers = None

    def direct(self, stanza) -> bool:
        """
        Give C{stanza} to the domain's first observers, in priority order,
        until one marks it handled, as the dispatcher would.

        @return: whether it was handled; if not, the router dispatches it
            through the domain's stream, where the first observers see it
            again and let it pass again.
        """
        if getattr(stanza, "handled", False):
            # The dispatcher would call no handler either.
            return True
        for _, observer in self.xmlstream.firstObservers:
            try:
                observer(stanza)
            except Exception:
                # As the dispatcher's callback lists do: the sender (a room
                # in the middle of a broadcast) carries on.
                log.failure("Handling a stanza for {domain}", domain=stanza.getAttribute("to"))
            if getattr(stanza, "handled", False):
                return True
        return False

    def deliverMany(self, broadcast, recipients, newId=None) -> None:
        """
        Deliver a broadcast to addresses of this domain
        (L{Router.deliverMany}) through the handler that delivers in bulk
        (L{IBulkDelivery}), while it stands for every first observer;
        otherwise route each copy.
        """
        if self.xmlstream.firstObservers is self._bulkObservers:
            self._bulk.deliverMany(broadcast, recipients, newId, self._router.route)
            return
        for recipient in recipients:
            self._router.route(copyFor(broadcast, recipient, newId))

    def deliverEach(self, elements, recipient: jid.JID) -> None:
        """
        Deliver stanzas to one address of this domain, in order
        (L{Router.deliverEach}), through the handler that delivers in bulk
        (L{IBulkDelivery}), while it stands for every first observer;
        otherwise route each.
        """
        if self.xmlstream.firstObservers is self._bulkObservers:
            self._bulk.deliverEach(elements, recipient, self._router.route)
            return
        for element in elements:
            self._router.route(element)

    def _toRouter(self, stanza):
        """
        Route what a handler sends; a failure is logged, as the pipe's
        dispatch logged it, and the sender carries on.
        """
        try:
            self._router.route(stanza)
        except Exception:
            log.failure("Routing a stanza from {domains}", domains=sorted(self.domains))

    def _manyToRouter(self, broadcast, recipients, newId=None):
        """
        Route what a handler sends to many (L{sendMany}); a failure is
        logged and the sender carries on.
        """
        try:
            self._router.deliverMany(broadcast, recipients, newId)
        except Exception:
            log.failure("Routing a broadcast from {domains}", domains=sorted(self.domains))

    def _eachToRouter(self, elements, recipient):
        """
        Route what a handler sends to one recipient (L{sendEach}); a
        failure is logged and the sender carries on.
        """
        try:
            self._router.deliverEach(elements, recipient)
        except Exception:
            log.failure("Routing stanzas from {domains}", domains=sorted(self.domains))

    def stopService(self):
        for domain in self.domains:
            if self._router.direct.get(domain) == self.direct:
                del self._router.direct[domain]
            if getattr(self._router, "bulk", {}).get(domain) == self.deliverMany:
                del self._router.bulk[domain]
            if getattr(self._router, "each", {}).get(domain) == self.deliverEach:
                del self._router.each[domain]
        return component.InternalComponent.stopService(self)

    def startService(self):
        """
        Create the pipe to the router and connect the handlers to it.
        """
        service.Service.startService(self)
        self._pipe = pipe = generic.XmlPipe()
        source = HandledStopsDispatcher()
        # What the handlers send goes to the router's route() as the
        # pipe's sink would send it there (the router is its only
        # observer), without a dispatch for every stanza.
        source.send = self._toRouter
        if hasattr(self._router, "deliverMany"):
            source.sendMany = self._manyToRouter
        if hasattr(self._router, "deliverEach"):
            source.sendEach = self._eachToRouter
        pipe.source = source
        self.xmlstream = source
        for domain in self.domains:
            self._router.addRoute(domain, pipe.sink)
        for handler in self:
            handler.makeConnection(self.xmlstream)
            handler.connectionInitialized()
        if source.firstObservers and hasattr(self._router, "direct"):
            for domain in self.domains:
                self._router.direct[domain] = self.direct
        self._bulk = self._bulkObservers = None
        for handler in self:
            if IBulkDelivery.providedBy(handler) and [
                observer for _, observer in source.firstObservers
            ] == list(handler.replaces):
                # The list itself: any change to the first observers
                # replaces it (HandledStopsDispatcher.addObserver), and
                # the bulk path is left for the general one.
                self._bulk, self._bulkObservers = handler, source.firstObservers
                for domain in self.domains:
                    self._router.bulk[domain] = self.deliverMany
                    if hasattr(self._router, "each"):
                        self._router.each[domain] = self.deliverEach
