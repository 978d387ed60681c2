# -*- test-case-name: tests.test_roster,tests.test_stream,tests.test_fanout -*-
"""
Bound client sessions and local delivery (RFC 6120 sections 8 and 10,
RFC 6121 section 8.5).

A L{Session} is one bound resource on one stream. The L{SessionManager}
keeps them by account and resource, stamps and checks what clients send
(RFC 6120 section 8.1.2.1: a client never chooses its own C{from}) and
hands it to the router. L{DeliveryHandler}, a handler on the client
domain's component, delivers what the router brings back to the sessions,
following the rules of RFC 6121 section 8.5.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid, xmlstream
from twisted.words.protocols.jabber.client import NS_XMPP_SESSION
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mepserver.c2s.csi import HeldPresence, clientState
from mepserver.c2s.stream import NS_CLIENT
from mepserver.ids import IdSource
from mepserver.interfaces import IBulkDelivery, IClientPresence, IOutboundFilter
from mepserver.jids import parseJID
from mepserver.locks import KeyedLocks
from mepserver.stanza import copyStanza, quoted

log = Logger()

STANZA_NAMES = ("message", "presence", "iq")
#: The L{Session.directed} of every session that sent no directed presence.
NO_JIDS: frozenset = frozenset()
IQ_TYPES = ("get", "set", "result", "error")
#: Presence types that RFC 6121 section 3 (subscriptions) and 4.3 (probes)
#: handle; the presence handler takes them, not plain delivery.
SUBSCRIPTION_TYPES = ("subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe")


#: Error types of the RFC 6120 conditions that Twisted's table
#: (C{error.STANZA_CONDITIONS}, made from RFC 3920) lacks, from section
#: 8.3.3; without a type such an error would not serialise.
_MISSING_TYPES = {"policy-violation": "modify"}


def bounce(stanza, condition, text=None, type=None):
    """
    Build the error reply to C{stanza}, or L{None} if it is itself an error.

    RFC 6120 section 8.3.1: an entity never answers an error with an error.

    @param type: the error type; by default the condition's usual one
        (RFC 6120 section 8.3.3).
    """
    if stanza.getAttribute("type") == "error":
        return None
    if type is None:
        type = _MISSING_TYPES.get(condition)
    return error.StanzaError(condition, type=type, text=text).toResponse(stanza)


class AccountLocks(KeyedLocks):
    """
    One lock per account (keyed by username), keeping its stanzas in order
    across store calls.

    The SQLite store answers from a thread, so two subscription stanzas for
    one account (a C{subscribed} and a C{subscribe} crossing, say) would
    otherwise both read the old state and the later write would lose the
    earlier change; and a plain stanza delivered at once would overtake a
    subscription stanza still waiting for the store (a contact's presence
    arriving before the roster push that allows it). Roster changes run
    under the lock, and while it is held, deliveries to the account queue
    behind them; otherwise they go out at once.
    """


class Session:
    """
    One bound resource of one account.

    @ivar jid: the full JID bound to this session.
    @ivar xmlstream: the client's stream.
    @ivar available: C{True} between the client's initial available
        presence and its unavailable presence (RFC 6121 section 4.2).
    @ivar priority: the priority of the last available presence.
    @ivar presence: the last available presence broadcast, or L{None}.
    @ivar interested: C{True} once the client asked for its roster
        (RFC 6121 section 2.1.6: roster pushes go to interested resources).
    @ivar directed: JIDs this session sent directed available presence to
        (RFC 6121 section 4.6): they get unavailable presence when it ends.
        A L{frozenset}, replaced on each change (directed presence is rare,
        and every session shares the empty one).
    @ivar carbons: C{True} while the client has Message Carbons enabled
        (XEP-0280; L{mepserver.c2s.carbons}).
    @ivar active: the client's state (XEP-0352): C{False} after it sent
        C{<inactive/>}, until it sends C{<active/>}; meanwhile others'
        presence is held back in C{held}
        (L{mepserver.c2s.csi.HeldPresence}), which is L{None} while the
        client is active.
    @ivar sm: the L{mepserver.c2s.sm.ManagedStream} once the client enabled
        stream management (XEP-0198), else L{None}.
    """

    # One per connection: no instance dictionary, and what a session
    # needs only now and then (a hold, directed presence) made when needed.
    __slots__ = (
        "manager",
        "xmlstream",
        "jid",
        "available",
        "priority",
        "presence",
        "interested",
        "directed",
        "carbons",
        "active",
        "held",
        "sm",
        "quotedJID",
        "_ended",
        "__weakref__",
    )

    def __init__(self, manager, xs, fullJID):
        self.manager = manager
        self.xmlstream = xs
        self.jid = fullJID
        self.available = False
        self.priority = 0
        self.presence = None
        self.interested = False
        self.directed = NO_JIDS
        self.carbons = False
        self.active = True
        self.held = None
        self.sm = None
        #: The full JID as the value of a C{to} attribute in UTF-8 text,
        #: made once: every broadcast's copy for the session carries it
        #: (L{DeliveryHandler.deliverMany}).
        self.quotedJID = quoted(fullJID.full())
        self._ended = False

    def __repr__(self):
        return f"<Session {self.jid.full()}>"

    def send(self, stanza):
        """
        Deliver a stanza to the client, or hold it back while the client is
        inactive (XEP-0352) and it can wait.
        """
        if self._ended:
            return
        if not self.active:
            if self.held is None:
                self.held = HeldPresence()
            if self.held.hold(stanza):
                return
            self._release()
        self._deliver(stanza)

    def setActive(self, active: bool) -> None:
        """
        The client said it is active or inactive (XEP-0352 section 4); once
        active, what was held goes out.
        """
        self.active = active
        if active:
            self._release()

    def _release(self):
        if self.held is None:
            return
        for held in self.held.release():
            self._deliver(held)
        if self.active:
            self.held = None

    def sendEncoded(self, data: bytes, broadcast, stanzaId: Optional[str] = None) -> None:
        """
        Send a broadcast's copy to this session, already serialized for its
        stream (L{DeliveryHandler.deliverMany}), as L{send} sends a stanza
        to an active session while no observer watches.

        @param data: the copy's text for the session's stream.
        @param broadcast: the L{mepserver.stanza.Broadcast} it was made
            from, with the session's JID for C{to} and C{stanzaId} the
            copy's own values: stream management keeps the copy as an
            element (XEP-0198 section 4).
        """
        if self.sm is None:
            self.xmlstream.sendBytes(data)
        else:
            # A plain element with its own list of children: resumption
            # adds a delay stamp to what it sends again (XEP-0198 section 5).
            copy = broadcast.copyTo(self.jid.full(), stanzaId)
            self.sm.send(self, copyStanza(copy), data)

    def _deliver(self, stanza):
        if not self._ended:
            if self.manager.observers:
                for observer in list(self.manager.observers):
                    observer(self, stanza, False)
            if self.sm is None:
                self.xmlstream.send(stanza)
            else:
                # Counted, kept until acknowledged, queued if hibernating.
                self.sm.send(self, stanza)

    def close(self, condition, text):
        """
        End the session with a stream error; a hibernating one (XEP-0198),
        whose stream is gone, just ends.
        """
        if self.sm is not None and self.sm.hibernation is not None:
            self.ended()
            return
        self.xmlstream.sendStreamError(error.StreamError(condition, text=text))

    def received(self, element):
        """
        A top-level element arrived from the client: a client state nonza
        (XEP-0352) is recorded; a stream management nonza (XEP-0198) goes
        to L{SessionManager.streamManagement}; a stanza is counted for
        stream management, checked, stamped and routed; anything else
        closes the stream.
        """
        if element.uri != NS_CLIENT or element.name not in STANZA_NAMES:
            state = clientState(element)
            if state is not None:
                self.setActive(state)
                return
            sm = self.manager.streamManagement
            if sm is not None and sm.received(self, element):
                return
            self.close(
                "unsupported-stanza-type",
                f"<{element.name} xmlns='{element.uri}'/> is not a stanza "
                "this server understands",
            )
            return
        if self.sm is not None:
            self.sm.handled()
        self.manager.outbound(self, element)

    def ended(self):
        """
        The stream is gone (RFC 6121 section 4.6: unavailable on disconnect).

        A resumable session (XEP-0198 section 5) whose stream broke off
        hibernates instead; calling this again ends it.
        """
        if self._ended:
            return
        sm = self.manager.streamManagement
        if sm is not None and sm.hibernate(self):
            return
        self._ended = True
        self.manager.unbind(self)
        if self.sm is not None:
            sm.ended(self)


class SessionManager:
    """
    The client domain's bound sessions, and their outbound stanza path.

    @ivar domain: the client domain.
    @ivar router: where outbound stanzas go.
    @ivar presence: the L{mepserver.interfaces.IClientPresence} that takes
        the presence clients send, once one registered with
        L{handlePresenceWith}; until then presence with a C{to} is routed
        and other presence dropped.
    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar ids: the L{mepserver.ids.IdSource} for the ids the server gives
        sessions (bound resources, roster pushes).
    @ivar streamManagement: the L{mepserver.c2s.sm.StreamManagement}, or
        L{None}.
    @ivar observers: callables C{observer(session, stanza, fromClient)},
        called with every stanza a session sends to its client
        (C{fromClient} false) and, once C{from} is stamped, every stanza
        it receives from it (C{fromClient} true). For test recorders
        (L{mepserver.testing}); while the list is empty, the stanza paths
        only test it.
    @ivar carbons: the L{mepserver.c2s.carbons.MessageCarbons} that copies
        the messages sessions send (XEP-0280 section 7), or L{None}.
    @ivar filters: the L{mepserver.interfaces.IOutboundFilter}s every
        stanza from a client passes first (the Blocking Command).
    """

    def __init__(
        self, domain, users, router=None, ids=None, carbons=None, streamManagement=None
    ):
        """
        @param streamManagement: the L{mepserver.c2s.sm.StreamManagement}
            of the domain; without one, clients cannot enable it.
        """
        self.domain = domain
        self.users = users
        self.router = router
        self.ids = ids if ids is not None else IdSource()
        self.streamManagement = streamManagement
        self.presence = None
        self.locks = AccountLocks()
        self.observers = []
        self.carbons = carbons
        self.filters = []
        self._sessions: Dict[str, Dict[str, Session]] = {}

    def handlePresenceWith(self, handler) -> None:
        """
        Hand the presence clients send, and the end of each session, to
        C{handler}. The presence handler registers itself when it is made:
        each needs the other.

        @param handler: an L{mepserver.interfaces.IClientPresence}.
        """
        verifyObject(IClientPresence, handler)
        self.presence = handler

    def filterOutboundWith(self, outboundFilter) -> None:
        """
        Pass every stanza clients send through C{outboundFilter} first
        (after the checks and stamping of L{outbound}), in the order
        filters registered.

        @param outboundFilter: an L{mepserver.interfaces.IOutboundFilter}.
        """
        verifyObject(IOutboundFilter, outboundFilter)
        self.filters.append(outboundFilter)

    def bind(self, username, resource, xs) -> Session:
        """
        Bind C{resource} for C{username} on stream C{xs}.

        An existing session with the same full JID is closed with a
        C{conflict} stream error (RFC 6120 section 7.7.2.2).
        """
        fullJID = jid.JID(tuple=(username, self.domain, resource))
        resources = self._sessions.setdefault(username, {})
        old = resources.get(resource)
        if old is not None:
            # Closed first, so that a resumable session ends rather than
            # hibernates (XEP-0198).
            old.close("conflict", "replaced by a new connection for this resource")
            old.ended()
        session = Session(self, xs, fullJID)
        self._sessions.setdefault(username, {})[resource] = session
        return session

    def unbind(self, session):
        """
        Forget a session and let the presence handler announce its end.
        """
        username, resource = session.jid.user, session.jid.resource
        resources = self._sessions.get(username, {})
        if resources.get(resource) is session:
            del resources[resource]
            if not resources:
                del self._sessions[username]
        if self.presence is not None:
            self.presence.sessionEnded(session)

    def sessionsOf(self, username) -> List[Session]:
        """
        @return: the bound sessions of an account.
        """
        return list(self._sessions.get(username, {}).values())

    @property
    def bound(self) -> Mapping[str, Mapping[str, Session]]:
        """
        The bound sessions by username and resource, read-only: what
        L{sessionsOf} and L{session} answer, without a copy or a call per
        account, for loops over many accounts (a publication's candidates,
        a broadcast's recipients: issue 16). It changes as sessions bind
        and unbind: a loop over it must not return to the reactor or send.
        """
        return self._sessions

    def session(self, fullJID) -> Optional[Session]:
        """
        @return: the session bound to C{fullJID}, or L{None}.
        """
        if fullJID.host != self.domain:
            return None
        return self._sessions.get(fullJID.user, {}).get(fullJID.resource)

    def availableSessions(self, username) -> List[Session]:
        """
        @return: sessions that may receive messages to the bare JID:
            available, with a non-negative priority (RFC 6121 8.5.2.1.1).
        """
        return [
            s
            for s in self._sessions.get(username, {}).values()
            if s.available and s.priority >= 0
        ]

    def allSessions(self):
        """
        @return: every bound session.
        """
        return [s for r in self._sessions.values() for s in r.values()]

    def outbound(self, session, stanza):
        """
        Check and stamp a client's stanza, then process or route it.

        RFC 6120 section 8.1.2.1: the server stamps C{from} with the full JID.
        Section 10.3: a message or IQ without C{to} is for the account's bare
        JID and handled by the server on its behalf; presence without C{to} is
        a broadcast (RFC 6121 section 4.2).
        """
        stanza["from"] = session.jid.full()
        if self.observers:
            for observer in list(self.observers):
                observer(session, stanza, True)
        to = stanza.getAttribute("to")
        if to is not None:
            try:
                recipient = parseJID(to)
            except jid.InvalidFormat as e:
                self.reply(
                    session,
                    stanza,
                    "jid-malformed",
                    f"the 'to' address {to!r} is not a valid JID: {e}",
                    fromServer=True,
                )
                return
            stanza["to"] = recipient.full()
        if stanza.name == "iq" and not self.checkIQ(session, stanza):
            return
        self._filter(session, stanza, self.filters)

    def _filter(self, session, stanza, filters, index=0):
        """
        Hand the stanza to each filter in turn, from C{filters[index]},
        then process it.
        """
        if index < len(filters):
            filters[index].outbound(
                session, stanza, lambda: self._filter(session, stanza, filters, index + 1)
            )
        else:
            self._process(session, stanza)

    def _process(self, session, stanza):
        """
        Process or route a checked and stamped stanza from a client.
        """
        to = stanza.getAttribute("to")
        if stanza.name == "presence":
            if self.presence is None:
                if to is not None:
                    self.router.route(stanza)
            elif to is None:
                self.presence.broadcast(session, stanza)
            else:
                self.presence.outbound(session, stanza)
            return
        if to is None:
            if stanza.name == "iq" and _isSessionRequest(stanza):
                # RFC 6121 Appendix E: the legacy session IQ is a no-op.
                session.send(xmlstream.toResponse(stanza, "result"))
                return
            stanza["to"] = session.jid.userhost()
        if stanza.name == "message" and self.carbons is not None:
            # Copied before routing: a handler on the way may change it.
            self.carbons.sent(session, stanza)
        self.router.route(stanza)

    def checkIQ(self, session, iq):
        """
        RFC 6120 section 8.2.3: an IQ has an id, a known type, and a get or
        set carries exactly one child element.
        """
        kind = iq.getAttribute("type")
        problem = None
        if kind not in IQ_TYPES:
            problem = f"IQ type {kind!r} is not one of get, set, result, error"
        elif not iq.getAttribute("id"):
            problem = "an IQ needs an 'id' attribute"
        elif kind in ("get", "set") and len(list(iq.elements())) != 1:
            problem = "an IQ of type get or set carries exactly one child element"
        if problem is None:
            return True
        if kind in ("result", "error"):
            return False
        self.reply(session, iq, "bad-request", problem, fromServer=True)
        return False

    def reply(self, session, stanza, condition, text, fromServer=False):
        """
        Send the client an error reply to its own stanza.
        """
        response = bounce(stanza, condition, text)
        if response is None:
            return
        if fromServer:
            response["from"] = self.domain
        session.send(response)


def _isSessionRequest(iq):
    if iq.getAttribute("type") != "set":
        return False
    return any(True for _ in iq.elements(NS_XMPP_SESSION, "session"))


@implementer(IBulkDelivery)
class DeliveryHandler(xmlstream.XMPPHandler):
    """
    Deliver stanzas addressed to local accounts (RFC 6121 section 8.5).

    Observes every stanza the router brings to the client domain, before
    the server's own IQ handlers. It takes stanzas for a full JID, and
    messages and plain presence for a bare JID; IQs to a bare JID or the
    domain and subscription presence are left to the other handlers
    (roster, presence, disco, ...), and unhandled IQ requests to wokkel's
    C{FallbackHandler} (C{service-unavailable}).

    A message for an account with no available resource goes to
    C{offline} (L{mepserver.c2s.offline.OfflineMessages}, XEP-0160) under
    the account's lock; what it refuses, and without C{offline} every chat
    or normal message, is returned with C{service-unavailable}, which RFC
    6121 section 8.5.2.2.1 allows, so nothing is lost silently.

    A message an account receives passes C{archives}
    (L{mepserver.mam.account.AccountArchives}, XEP-0313) on its way: what
    it decides to archive gets its XEP-0359 stanza-id and is delivered to
    sessions once its archive entry is written, or archived once stored
    offline; a refused message is not archived. When the decision needs
    the store (the account's archiving preferences, its roster) or the
    entry is being written, the message waits under the account's lock,
    which keeps its order.

    A broadcast (a room's groupchat message or presence, a pubsub
    notification) reaches many sessions in one call, L{deliverMany}: the
    router's bulk path (issue 16).

    @ivar carbons: the L{mepserver.c2s.carbons.MessageCarbons} told of each
        message delivered to sessions (XEP-0280 section 6), or L{None}.
    @ivar offline: the L{mepserver.c2s.offline.OfflineMessages}, or L{None}.
    @ivar archives: the L{mepserver.mam.account.AccountArchives}, or
        L{None}.
    @ivar blocking: the L{mepserver.c2s.blocking.BlockingHandler} that
        observes stanzas before this handler, or L{None}.
    @ivar bulkDelivered: how many copies L{deliverMany} delivered itself
        (the others went the general way).
    """

    def __init__(self, sessions, carbons=None, offline=None, archives=None, blocking=None):
        xmlstream.XMPPHandler.__init__(self)
        self.sessions = sessions
        self.carbons = carbons
        self.offline = offline
        self.archives = archives
        self.blocking = blocking
        self.bulkDelivered = 0

    def connectionInitialized(self):
        self.xmlstream.addObserver("/*", self.onStanza, 10)

    @property
    def replaces(self):
        """
        L{IBulkDelivery}: the blocking handler's check of what arrives, if
        there is one, then L{onStanza}.
        """
        if self.blocking is None:
            return [self.onStanza]
        return [self.blocking.onInbound, self.onStanza]

    def send(self, stanza):
        if stanza is not None:
            self.xmlstream.send(stanza)

    def onStanza(self, stanza):
        to = jid.internJID(stanza["to"])
        if to.user is None or stanza.handled:
            return
        kind = stanza.getAttribute("type", "normal" if stanza.name == "message" else None)
        if stanza.name == "presence" and kind in SUBSCRIPTION_TYPES:
            return
        if stanza.name == "iq" and to.resource is None:
            return
        archive = False
        if stanza.name == "message" and self.archives is not None:
            archive = self._decideNow(to, stanza)
        if self.sessions.locks.busy(to.user) or archive is None:
            stanza.handled = True
            # Queue a copy with its own attributes: a broadcaster sends one
            # element to each recipient in turn, changing only 'to' (the
            # MUC service, DESIGN.md section 9).
            queued = copyStanza(stanza)
            self.sessions.locks.run(to.user, self._deliverInOrder, queued, to, kind, archive)
            return
        stored = self.deliver(stanza, to, kind, archive)
        if stored is not None:
            # The message waits for its archive entry to be written: the
            # account's later stanzas wait behind it.
            self.sessions.locks.run(to.user, lambda: stored)

    def deliverMany(self, broadcast, recipients, newId, route):
        """
        L{IBulkDelivery}: deliver a copy of a broadcast to each recipient,
        doing for each only what its copy needs.

        What L{onStanza} (and the blocking handler before it) would find
        out from the broadcast alone is found out once: its sender, its
        kind, whether any account archives it (XEP-0313 section 7.1.1: not
        groupchat nor headline), whether carbons copy it (XEP-0280 section
        6.1: neither) and its text, serialized once and spliced per
        recipient (L{mepserver.stanza.Broadcast.encodeFor}). A copy for a
        full JID of a bound session is then written at once when nothing
        about its recipient is unusual; each other copy goes the general
        way (C{route}): the account's lock is busy (its order), no such
        session (the error for groupchat), a block list is not loaded or
        blocks, the client is inactive (XEP-0352), the archive's
        stanza-ids are stripped, or the kind of stanza is not a plain
        broadcast; and every copy while an observer watches the sessions.
        Stream management (XEP-0198) counts and keeps a copy either way.
        """
        sessionFor = self._plainBroadcast(broadcast)
        spliced = prefixes = namespace = None
        delivered = 0
        for recipient in recipients:
            stanzaId = None if newId is None else newId()
            try:
                session = None if sessionFor is None else sessionFor(recipient)
                if session is None:
                    route(broadcast.copyTo(recipient.full(), stanzaId))
                    continue
                xs = session.xmlstream
                if getattr(xs, "spliceable", False):
                    # Streams differ only in the prefixes their clients
                    # declared: the text is made again when they change.
                    if xs.prefixes != prefixes or xs.namespace != namespace:
                        prefixes, namespace = xs.prefixes, xs.namespace
                        spliced = broadcast.encodeFor(prefixes, namespace)
                    # The session's JID is the recipient's (its key), kept
                    # quoted.
                    data = spliced.fill(None, stanzaId, session.quotedJID)
                    if session.sm is None:
                        # What sendEncoded does then, without its call.
                        xs.sendBytes(data)
                    else:
                        session.sendEncoded(data, broadcast, stanzaId)
                else:
                    session.send(broadcast.copyTo(recipient.full(), stanzaId))
                delivered += 1
            except Exception:
                # As Domain.direct: the broadcaster carries on.
                log.failure("Delivering a broadcast to {to}", to=recipient.full())
        self.bulkDelivered += delivered

    def deliverEach(self, elements, recipient, route):
        """
        L{IBulkDelivery}: deliver stanzas to one recipient, in order, each
        written to its session at once when L{deliverMany} would write a
        broadcast of it at once (L{_plainBroadcast}), else routed the
        general way. Per stanza this skips the router's dispatch to the
        first observers, which a room's entry (four or more stanzas for
        each newcomer) paid for each (issue 16).
        """
        delivered = 0
        for element in elements:
            try:
                sessionFor = self._plainBroadcast(element)
                session = None if sessionFor is None else sessionFor(recipient)
                if session is None:
                    route(element)
                    continue
                session.send(element)
                delivered += 1
            except Exception:
                # As Domain.direct: the sender carries on.
                log.failure("Delivering to {to}", to=recipient.full())
        self.bulkDelivered += delivered

    def _plainBroadcast(self, broadcast) -> Optional[Callable[[jid.JID], Optional[Session]]]:
        """
        What L{deliverMany} needs to know of a broadcast, found out once.

        @return: L{None} if every copy goes the general way; else a test of
            each recipient: the session that gets its copy at once, or
            L{None} if its copy goes the general way.
        """
        if self.sessions.observers:
            return None
        kind = broadcast.getAttribute("type")
        # The archive addresses whose copies the archives change.
        claimed = frozenset()
        if broadcast.name == "message":
            if kind not in ("groupchat", "headline"):
                return None
            if self.archives is not None:
                claimed = self.archives.changedFor(broadcast)
                if claimed is None:
                    return None
        elif broadcast.name != "presence" or kind not in (None, "unavailable"):
            return None
        passes = None
        if self.blocking is not None:
            passes = self.blocking.passesAtOnce(broadcast)
            if passes is None:
                return None
        # Asked of every recipient: the mappings themselves, rather than
        # a method call for each question (issue 16).
        held = self.sessions.locks.held
        bound = self.sessions.bound
        domain = self.sessions.domain
        archiveOf = self.archives.archiveOf if claimed else None

        def sessionFor(recipient: jid.JID) -> Optional[Session]:
            user = recipient.user
            if user is None or recipient.resource is None or user in held:
                return None
            if claimed and archiveOf(user) in claimed:
                return None
            if passes is not None and not passes(recipient):
                return None
            resources = bound.get(user) if recipient.host == domain else None
            session = None if resources is None else resources.get(recipient.resource)
            if session is None or session._ended or not session.active:
                return None
            return session

        return sessionFor

    def _decideNow(self, to, message):
        """
        @return: whether the recipient's archive keeps C{message}, or
            L{None} if that needs the store.
        """
        sender = message.getAttribute("from")
        if sender is None:
            return False
        return self.archives.decideNow(to.user, message, jid.internJID(sender))

    @defer.inlineCallbacks
    def _deliverInOrder(self, stanza, to, kind, archive):
        """
        Under the account's lock: decide on archiving if that was left
        open, then deliver.
        """
        if archive is None:
            try:
                archive = yield defer.ensureDeferred(
                    self.archives.decide(to.user, stanza, jid.internJID(stanza["from"]))
                )
            except Exception:
                log.failure("Deciding whether {to} archives a message", to=to)
                archive = False
        yield self.deliver(stanza, to, kind, archive)

    def _sendTo(self, to, stanza, archive, recipients):
        """
        Send a stanza to some sessions of C{to}'s account, and copy a
        message to the others (carbons). A message the account archives
        gets its stanza-id and goes out once its archive entry is written:
        what a client received is in its archive, even if the server is
        killed right after.

        @return: L{None} once sent, or a Deferred firing once sent.
        """
        if stanza.name != "message":
            for session in recipients:
                session.send(stanza)
            return None
        stored = None
        if self.archives is not None:
            stanza, entry = self.archives.prepareIncoming(to.user, stanza, archive)
            if entry is not None:
                stored = self.archives.add(to.user, entry)

        def send(_=None):
            for session in recipients:
                session.send(stanza)
            if self.carbons is not None:
                self.carbons.received(stanza, recipients)

        if stored is None or stored.called:
            send()
            return None
        return stored.addCallback(send)

    def deliver(self, stanza, to, kind, archive=False):
        """
        Deliver a stanza for a local account, in the account's order.

        @param archive: whether a message is archived (see
            L{mepserver.mam.account.AccountArchives.decideNow}).
        @return: L{None}, or a Deferred firing once a message that waits
            for its archive entry is sent.
        """
        if to.resource is not None:
            session = self.sessions.session(to)
            if session is not None:
                stanza.handled = True
                return self._sendTo(to, stanza, archive, [session])
            if stanza.name == "iq":
                stanza.handled = True
                self.send(
                    bounce(stanza, "service-unavailable", "no such resource is connected")
                    if kind in ("get", "set")
                    else None
                )
                return
            if stanza.name == "presence" or kind == "headline":
                # RFC 6121 8.5.3.2.2 and 8.5.3.2.1: silently ignored.
                stanza.handled = True
                return
            if kind == "groupchat":
                stanza.handled = True
                self.send(bounce(stanza, "service-unavailable", "no such resource"))
                return
        stanza.handled = True
        return self.deliverToBareJID(to, stanza, kind, archive)

    def deliverToBareJID(self, to, stanza, kind, archive=False):
        """
        RFC 6121 section 8.5.2: message and presence to a bare JID.

        @return: as L{deliver}.
        """
        if stanza.name == "presence":
            for session in self.sessions.sessionsOf(to.user):
                if session.available:
                    session.send(stanza)
            return
        if kind == "groupchat":
            self.send(
                bounce(stanza, "service-unavailable", "groupchat to a bare account JID")
            )
            return
        recipients = self.sessions.availableSessions(to.user)
        if recipients:
            return self._sendTo(to, stanza, archive, recipients)
        if self.offline is not None:
            d = self.sessions.locks.run(to.user, self._keepOffline, to, stanza, kind, archive)
            d.addErrback(lambda f: log.failure("Storing for {to}", f, to=to))
            return
        if kind in ("headline", "error"):
            return
        d = self.sessions.users.getCredentials(to.user)

        def exists(credentials):
            if credentials is None:
                text = f"there is no account {to.userhost()}"
            else:
                text = f"{to.userhost()} is not online (no offline storage)"
            self.send(bounce(stanza, "service-unavailable", text))

        d.addCallback(exists)
        d.addErrback(lambda f: log.failure("Delivering to {to}", f, to=to))

    @defer.inlineCallbacks
    def _keepOffline(self, to, stanza, kind, archive=False):
        """
        Hand a message to offline storage, and bounce what it refuses;
        archive what it keeps (XEP-0313 section 7.1.1: offline messages
        are archived too, refused ones are not).
        """
        kept, entry = stanza, None
        if self.archives is not None:
            kept, entry = self.archives.prepareIncoming(to.user, stanza, archive)
        refusal = yield self.offline.keep(to, kept, kind)
        if refusal is not None:
            self.send(bounce(stanza, "service-unavailable", refusal))
        elif entry is not None:
            yield self.archives.add(to.user, entry)
