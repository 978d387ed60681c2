# -*- test-case-name: tests.test_router,tests.test_routing -*-
"""
The stanza router and the domains on it (RFC 6120 section 10).

L{Router} joins the domains by the domain of each stanza's C{to}; each
domain is a L{Domain}: sibling handlers observing one in-process stream,
where the first handler that marks a stanza handled ends its journey.
"""

from twisted.application import service
from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import utility
from wokkel import component, generic


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

    def route(self, stanza):
        """
        Route a stanza to the component serving its C{to} domain.
        """
        destination = jid.internJID(stanza["to"])
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

    def addOnetimeObserver(self, event, observerfn, priority=0, *args, **kwargs):
        utility.EventDispatcher.addOnetimeObserver(
            self, event, self._guard(event, observerfn), priority, *args, **kwargs
        )

    def removeObserver(self, event, observerfn):
        guard = self._guards.pop((event, observerfn), None)
        if guard is not None:
            utility.EventDispatcher.removeObserver(self, event, guard)


class Domain(component.InternalComponent):
    """
    One domain's handlers, connected to the router in the same process.

    Unlike wokkel's L{component.InternalComponent}, the handlers observe a
    L{HandledStopsDispatcher}: the first handler that takes a stanza is the
    only one that answers it.
    """

    def startService(self):
        """
        Create the pipe to the router and connect the handlers to it.
        """
        service.Service.startService(self)
        self._pipe = pipe = generic.XmlPipe()
        source = HandledStopsDispatcher()
        source.send = pipe.source.send
        pipe.source = source
        self.xmlstream = source
        for domain in self.domains:
            self._router.addRoute(domain, pipe.sink)
        for handler in self:
            handler.makeConnection(self.xmlstream)
            handler.connectionInitialized()
