# -*- test-case-name: tests.test_iqclient -*-
"""
IQ requests the server itself sends (RFC 6120 section 8.2.3), and the
matching of their answers: the disco#info queries of caps resolution
(XEP-0115 section 6.2) that PEP and MEP send to clients.

The shape is wokkel's C{StreamManager.request} and C{_onIQResponse}
(C{wokkel.subprotocols}): send an IQ, get a Deferred that fires with the
answer or fails with its stanza error, or with a timeout on an injected
clock. Unlike wokkel's, the request names its C{from} (a component sends
as any address of its domain), and only an answer from the address asked
counts (RFC 6120 section 8.2.3: the response comes from the entity the
request was sent to).
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

from twisted.internet import defer
from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish
from wokkel import subprotocols

from mepserver.namespaces import NS_CLIENT

#: How long the answer to an IQ the server sends may take (seconds).
IQ_TIMEOUT = 30.0


class IQClient(subprotocols.XMPPHandler):
    """
    Sends IQ requests on its parent's stream and matches their answers.

    Observes C{result} and C{error} IQs whose id is that of a pending
    request and whose C{from} is the address the request went to; it marks
    them handled. Any other answer is left for other handlers.

    @ivar ids: the L{mepserver.ids.IdSource} of the requests' ids.
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} of the
        timeouts.
    @cvar idPrefix: the prefix of the requests' ids.
    """

    idPrefix = "pubsub-"

    def __init__(self, ids, clock):
        subprotocols.XMPPHandler.__init__(self)
        self.ids = ids
        self.clock = clock
        self._pending: Dict[str, Tuple[jid.JID, defer.Deferred, Any]] = {}

    def connectionMade(self):
        self.xmlstream.addObserver("/iq[@type='result' or @type='error']", self._onResponse)

    def connectionLost(self, reason):
        subprotocols.XMPPHandler.connectionLost(self, reason)
        pending, self._pending = self._pending, {}
        for _, d, call in pending.values():
            call.cancel()
            d.errback(error.StanzaError("remote-server-timeout", text="the server stopped"))

    def request(
        self, sender: jid.JID, recipient: jid.JID, payload: domish.Element, kind: str = "get"
    ) -> defer.Deferred:
        """
        Send an IQ request and wait for its answer.

        This is not wokkel's C{XMPPHandler.request}, which takes a
        C{wokkel.generic.Request}: the server names the C{from} of each
        request, and gets a stanza error rather than a wokkel one.

        @param sender: the request's C{from}.
        @param recipient: the request's C{to}, which must answer.
        @param payload: the request's child element.
        @param kind: C{get} or C{set}.
        @return: a Deferred firing with the result's first child element
            (or L{None}), or failing with the L{error.StanzaError} of an
            error answer, or C{remote-server-timeout} after L{IQ_TIMEOUT}
            seconds or when the stream is lost.
        """
        iq = domish.Element((NS_CLIENT, "iq"))
        iq["type"] = kind
        iq["id"] = identifier = self.ids.newId(self.idPrefix)
        iq["from"] = sender.full()
        iq["to"] = recipient.full()
        iq.addChild(payload)
        d = defer.Deferred()

        def timedOut():
            self._pending.pop(identifier, None)
            d.errback(error.StanzaError("remote-server-timeout", text="no answer"))

        call = self.clock.callLater(IQ_TIMEOUT, timedOut)
        self._pending[identifier] = (recipient, d, call)
        if self.xmlstream is not None:
            # Without a stream (stopped), the request times out.
            self.send(iq)
        return d

    def _onResponse(self, iq):
        identifier = iq.getAttribute("id")
        pending = self._pending.get(identifier)
        if pending is None:
            return
        recipient, d, call = pending
        try:
            sender = jid.internJID(iq.getAttribute("from", ""))
        except jid.InvalidFormat:
            return
        if sender != recipient:
            return
        del self._pending[identifier]
        iq.handled = True
        call.cancel()
        if iq.getAttribute("type") == "result":
            d.callback(next(iq.elements(), None))
        else:
            d.errback(error.exceptionFromStanza(iq))
