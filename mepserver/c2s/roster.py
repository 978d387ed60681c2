# -*- test-case-name: tests.test_roster -*-
"""
Rosters, presence subscriptions and presence of the client domain's accounts
(RFC 6121).

  - L{RosterHandler}: roster get, set and remove, and roster pushes
    (sections 2.1 to 2.5), with roster versioning (section 2.6): every
    result and push carries the roster's version, and a get with the
    current version is answered with an empty result.
  - L{RosterVersioningStep} and L{PreApprovalStep}: the informative stream
    features of sections 2.6.1 and 3.4, offered beside resource binding.
  - L{PresenceHandler}: the subscription handshake (section 3) following the
    state tables of Appendix A (L{SubscriptionState}), presence broadcast
    and probes (sections 4.2 to 4.5), directed presence (section 4.6) and
    unavailable presence when a session ends (section 4.5.2), and
    subscription pre-approval (section 3.4).

Both sides of a subscription may be local accounts: the router brings the
stanzas one account's server sends back to this domain, where they are
processed again as inbound stanzas, exactly as between two servers. Where
the RFC has a server send presence on behalf of the other side's resources
(sections 3.1.6, 3.2.3 and 3.3.3), the inbound processing does it, because
only there is the new subscription state known; for a remote contact the
remote server would do it, and since this server has no server-to-server
links, the router bounces whatever is addressed to other domains.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid
from twisted.words.protocols.jabber.xmlstream import XMPPHandler
from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mepserver.c2s.base import AccountHandler
from mepserver.c2s.bind import PostAuthenticationFeature
from mepserver.c2s.sessions import NO_JIDS
from mepserver.c2s.stream import NS_CLIENT
from mepserver.interfaces import (
    IAccountObserver,
    IClientPresence,
    IPresenceObserver,
    RosterItem,
)
from mepserver.jids import parseJID
from mepserver.stanza import copyStanza, freeze

log = Logger()

NS_ROSTER = "jabber:iq:roster"
NS_FEATURE_ROSTERVER = "urn:xmpp:features:rosterver"
NS_FEATURE_PREAPPROVAL = "urn:xmpp:features:pre-approval"
ROSTER_GET = "/iq[@type='get']/query[@xmlns='%s']" % (NS_ROSTER,)
ROSTER_SET = "/iq[@type='set']/query[@xmlns='%s']" % (NS_ROSTER,)
ROSTER_REQUEST = "/iq[@type='get' or @type='set']/query[@xmlns='%s']" % (NS_ROSTER,)
PRESENCE = "/presence"

#: Presence types a client sends to manage subscriptions (RFC 6121 section 3).
SUBSCRIPTION_REQUESTS = ("subscribe", "subscribed", "unsubscribe", "unsubscribed")
#: Presence types the presence handler processes when they arrive for an
#: account (RFC 6121 sections 3 and 4.3); L{DeliveryHandler} leaves them.
INBOUND_TYPES = SUBSCRIPTION_REQUESTS + ("probe",)

#: RFC 6121 section 2.3.3: a server may limit the length of item names and
#: group names (C{not-acceptable}).
MAX_NAME_LENGTH = 1023

#: RFC 6121 section 4.7.2.3: a priority is an integer from -128 to +127.
MIN_PRIORITY, MAX_PRIORITY = -128, 127
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclasses.dataclass(frozen=True)
class SubscriptionState:
    """
    One of the nine subscription states of RFC 6121 Appendix A.1, as seen
    from one account towards one contact, or one of the three states with
    a pre-approval (section 3.4): C{None}, C{None + Pending Out} and C{To},
    each C{+ Pre-Approved}.

    @ivar hasTo: the account receives the contact's presence.
    @ivar hasFrom: the contact receives the account's presence.
    @ivar pendingOut: the account asked for the contact's presence and is
        waiting for an answer (L{RosterItem.ask}).
    @ivar pendingIn: the contact asked for the account's presence and is
        waiting for an answer (stored with
        L{mepserver.interfaces.IUserStore.addPendingSubscription}).
    @ivar preApproved: the account approved a request from the contact
        before it came (L{RosterItem.approved}); never with C{hasFrom} or
        C{pendingIn}.
    """

    hasTo: bool = False
    hasFrom: bool = False
    pendingOut: bool = False
    pendingIn: bool = False
    preApproved: bool = False

    @classmethod
    def of(cls, item: Optional[RosterItem], pendingIn: bool) -> "SubscriptionState":
        """
        @param item: the account's roster item for the contact, or L{None}.
        @param pendingIn: whether a request from the contact is pending.
        """
        subscription = item.subscription if item is not None else "none"
        return cls(
            hasTo=subscription in ("to", "both"),
            hasFrom=subscription in ("from", "both"),
            pendingOut=item is not None and item.ask,
            pendingIn=pendingIn,
            preApproved=item is not None and item.approved,
        )

    @property
    def subscription(self) -> str:
        """
        The roster item's C{subscription} attribute for this state.
        """
        return {
            (False, False): "none",
            (True, False): "to",
            (False, True): "from",
            (True, True): "both",
        }[self.hasTo, self.hasFrom]

    def __str__(self) -> str:
        """
        The state's name as RFC 6121 Appendix A.1 writes it, such as
        C{"None + Pending Out+In"} or C{"From + Pending Out"}, with
        C{" + Pre-Approved"} after a state with a pre-approval.
        """
        name = self.subscription.capitalize()
        flags = (("Out", self.pendingOut), ("In", self.pendingIn))
        pending = [direction for direction, on in flags if on]
        if pending:
            name += " + Pending " + "+".join(pending)
        if self.preApproved:
            name += " + Pre-Approved"
        return name

    def afterOutbound(self, kind: str) -> "SubscriptionState":
        """
        The account's state after it sends a subscription stanza to the
        contact (RFC 6121 Appendix A.2).

        An outbound C{subscribed} without a pending request is a
        pre-approval (Appendix A.2.3, section 3.4), unless the contact is
        subscribed already; C{unsubscribed} cancels a pre-approval.

        @param kind: C{subscribe}, C{subscribed}, C{unsubscribe} or
            C{unsubscribed}.
        """
        if kind == "subscribe":
            # A.2.1: only a state without a subscription to the contact
            # gains Pending Out.
            return dataclasses.replace(self, pendingOut=not self.hasTo)
        if kind == "unsubscribe":
            # A.2.2: the subscription to the contact and any request go.
            return dataclasses.replace(self, hasTo=False, pendingOut=False)
        if kind == "subscribed":
            # A.2.3: approving a pending request; without one, in None,
            # None + Pending Out and To, a pre-approval (section 3.4.2).
            if self.pendingIn:
                return dataclasses.replace(self, hasFrom=True, pendingIn=False)
            if self.hasFrom:
                return self
            return dataclasses.replace(self, preApproved=True)
        if kind == "unsubscribed":
            # A.2.4: cancelling the contact's subscription, denying its
            # request or cancelling a pre-approval.
            return dataclasses.replace(
                self, hasFrom=False, pendingIn=False, preApproved=False
            )
        raise ValueError(kind)

    def afterInbound(self, kind: str) -> "SubscriptionState":
        """
        The account's state after the contact's subscription stanza arrives
        (RFC 6121 Appendix A.3).

        An inbound C{subscribe} when the contact already has a subscription
        leaves the state unchanged; the caller auto-replies (section 3.1.3).
        One that the account pre-approved becomes a subscription from the
        contact at once (section 3.4); the caller auto-replies too.

        @param kind: C{subscribe}, C{subscribed}, C{unsubscribe} or
            C{unsubscribed}.
        """
        if kind == "subscribe":
            # A.3.1
            if self.preApproved:
                return dataclasses.replace(self, hasFrom=True, preApproved=False)
            return dataclasses.replace(self, pendingIn=not self.hasFrom)
        if kind == "unsubscribe":
            # A.3.2
            return dataclasses.replace(self, hasFrom=False, pendingIn=False)
        if kind == "subscribed":
            # A.3.3: only an answer to the account's own request counts.
            if not self.pendingOut:
                return self
            return dataclasses.replace(self, hasTo=True, pendingOut=False)
        if kind == "unsubscribed":
            # A.3.4
            return dataclasses.replace(self, hasTo=False, pendingOut=False)
        raise ValueError(kind)


def renderItem(item: RosterItem, removed: bool = False) -> domish.Element:
    """
    Render a roster item (RFC 6121 section 2.1.2).

    @param removed: render C{subscription='remove'}, for the roster push
        that announces a removal (section 2.5.2).
    """
    element = domish.Element((NS_ROSTER, "item"))
    element["jid"] = item.contact.full()
    if removed:
        element["subscription"] = "remove"
        return element
    if item.name:
        element["name"] = item.name
    element["subscription"] = item.subscription
    if item.ask:
        element["ask"] = "subscribe"
    if item.approved:
        # Section 2.1.2.1: a pre-approval (section 3.4).
        element["approved"] = "true"
    for group in item.groups:
        element.addElement("group", content=group)
    return element


def rosterPush(sessions, username, item, version, removed=False):
    """
    Push a changed roster item to every interested session of an account
    (RFC 6121 section 2.1.6).

    The push comes from the account's bare JID, carries a fresh id from
    the session manager's id source and the roster's new version (section
    2.6.3).

    @param sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @param username: the account.
    @param item: the changed L{RosterItem}.
    @param version: the roster's version after the change, as the store
        gave it (an L{int}).
    @param removed: whether the item was removed.
    """
    for session in sessions.sessionsOf(username):
        if not session.interested:
            continue
        iq = domish.Element((NS_CLIENT, "iq"))
        iq["type"] = "set"
        iq["id"] = sessions.ids.newId("push-")
        iq["from"] = session.jid.userhost()
        iq["to"] = session.jid.full()
        query = iq.addElement((NS_ROSTER, "query"))
        query["ver"] = str(version)
        query.addChild(renderItem(item, removed))
        session.send(iq)


#: The roster versioning and pre-approval stream features, shared by every
#: stream.
ROSTERVER_FEATURE = freeze(domish.Element((NS_FEATURE_ROSTERVER, "ver")))
PREAPPROVAL_FEATURE = freeze(domish.Element((NS_FEATURE_PREAPPROVAL, "sub")))


class RosterVersioningStep(PostAuthenticationFeature):
    """
    The roster versioning stream feature, C{<ver
    xmlns='urn:xmpp:features:rosterver'/>} (RFC 6121 section 2.6.1):
    informative, never negotiated.
    """

    def element(self):
        return ROSTERVER_FEATURE


class PreApprovalStep(PostAuthenticationFeature):
    """
    The subscription pre-approval stream feature, C{<sub
    xmlns='urn:xmpp:features:pre-approval'/>} (RFC 6121 section 3.4):
    informative, never negotiated.
    """

    def element(self):
        return PREAPPROVAL_FEATURE


def makePresence(sender, recipient, kind=None):
    """
    A new presence stanza.

    @type sender: L{jid.JID}
    @type recipient: L{jid.JID}
    @param kind: the C{type} attribute, or L{None} for available presence.
    """
    presence = domish.Element((NS_CLIENT, "presence"))
    presence["from"] = sender.full()
    presence["to"] = recipient.full()
    if kind is not None:
        presence["type"] = kind
    return presence


def _logFailure(failure, what):
    log.failure("Processing {what}", failure, what=what)


class RosterHandler(XMPPHandler, IQHandlerMixin):
    """
    Answer roster requests for the client domain's accounts (RFC 6121
    section 2).

    Observes IQ get and set with C{<query xmlns='jabber:iq:roster'/>}
    addressed to an account's bare JID (a client's request without C{to} is
    stamped so by the session). Errors returned:
      - C{forbidden}: the request comes from another entity than the
        account itself (section 2.1.5);
      - C{bad-request}: a roster set without exactly one item, or an item
        with a missing or invalid JID, a full JID, a duplicate or empty
        group (section 2.3.3);
      - C{not-acceptable}: a name or group longer than
        L{MAX_NAME_LENGTH} characters (section 2.3.3);
      - C{not-allowed}: an item for the account's own bare JID, which the
        server may refuse (section 2.3.3);
      - C{item-not-found}: removing an item that is not there (section
        2.5.3).

    A roster get marks the session interested in roster pushes. A roster
    set ignores the C{subscription}, C{ask} and C{approved} attributes,
    except C{subscription='remove'} (sections 2.1.2.1 and 2.1.2.5).

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar presence: the L{PresenceHandler}, which cancels subscriptions
        when an item is removed.
    """

    iqHandlers = {ROSTER_GET: "_onGet", ROSTER_SET: "_onLockedSet"}

    def __init__(self, sessions, users, presence):
        XMPPHandler.__init__(self)
        self.sessions = sessions
        self.users = users
        self.presence = presence

    def connectionInitialized(self):
        self.xmlstream.addObserver(ROSTER_REQUEST, self.onRequest)

    def onRequest(self, iq):
        """
        A roster request arrived; IQs to full JIDs were already delivered.
        """
        if iq.handled:
            return
        self.handleRequest(iq)

    def _owner(self, iq):
        """
        @return: the full JID of the account's session that sent C{iq}.
        @raise error.StanzaError: C{forbidden} unless the account asks for
            its own roster (RFC 6121 section 2.1.5: only the account's
            resources may get or set it).
        """
        try:
            sender = jid.internJID(iq.getAttribute("from", ""))
            to = jid.internJID(iq["to"])
        except jid.InvalidFormat:
            sender = to = None
        if (
            sender is None
            or to is None
            or sender.user is None
            or sender.host != self.sessions.domain
            or sender.userhostJID() != to
        ):
            raise error.StanzaError(
                "forbidden", text="only the account itself may use its roster"
            )
        return sender

    def _onGet(self, iq):
        """
        Run L{_onLockedGet} under the account's lock, so that the roster
        and its version are read together, and the session is interested
        before the next change is pushed.
        """
        sender = self._owner(iq)
        return self.presence.locks.run(sender.user, self._onLockedGet, iq, sender)

    @defer.inlineCallbacks
    def _onLockedGet(self, iq, sender):
        """
        RFC 6121 sections 2.1.3 and 2.2: the whole roster, with its version
        (section 2.6.3). A client whose C{ver} is the current version gets
        an empty result instead: nothing changed since it cached the
        roster. Any other C{ver} (an older one, or the empty string of a
        client without a cache) gets the whole roster, which is what
        Prosody and ejabberd send: this server keeps no history of changes
        to send as roster pushes.
        """
        version = yield self.users.getRosterVersion(sender.user)
        current = iq.query.getAttribute("ver") == str(version)
        items = [] if current else (yield self.users.getRoster(sender.user))
        session = self.sessions.session(sender)
        if session is not None:
            session.interested = True
        if current:
            return None
        query = domish.Element((NS_ROSTER, "query"))
        # Also without 'ver' in the request, as Prosody does: a client that
        # does not version ignores the attribute.
        query["ver"] = str(version)
        for item in items:
            query.addChild(renderItem(item))
        return query

    def _onLockedSet(self, iq):
        """
        Run L{_onSet} under the account's lock, as subscription changes are.
        """
        return self.presence.locks.run(
            jid.internJID(iq["from"]).user, self._onSet, iq
        )

    @defer.inlineCallbacks
    def _onSet(self, iq):
        """
        RFC 6121 sections 2.3 to 2.5: add, update or remove one item.
        """
        sender = self._owner(iq)
        username = sender.user
        elements = list(iq.query.elements(NS_ROSTER, "item"))
        if len(elements) != 1:
            raise error.StanzaError(
                "bad-request", text="a roster set carries exactly one <item/>"
            )
        element = elements[0]
        contact = self._parseJID(element)
        if contact == sender.userhostJID():
            raise error.StanzaError(
                "not-allowed",
                text="your own JID cannot be in your roster: you are always "
                "subscribed to your own presence",
            )
        existing = yield self.users.getRosterItem(username, contact)
        if element.getAttribute("subscription") == "remove":
            yield self._remove(sender, contact, existing)
            return None
        name = element.getAttribute("name") or None
        groups = self._parseGroups(element)
        if name is not None and len(name) > MAX_NAME_LENGTH:
            raise error.StanzaError(
                "not-acceptable",
                text=f"item names are limited to {MAX_NAME_LENGTH} characters",
            )
        if existing is None:
            item = RosterItem(contact=contact, name=name, groups=groups)
        else:
            # The subscription, ask and approved attributes a client sends
            # are ignored: only the subscription handshake changes them.
            item = dataclasses.replace(existing, name=name, groups=groups)
        version = yield self.users.setRosterItem(username, item)
        rosterPush(self.sessions, username, item, version)
        self.presence.notifyObservers("rosterItemChanged", username, existing, item)
        return None

    def _parseJID(self, element):
        text = element.getAttribute("jid")
        if not text:
            raise error.StanzaError(
                "bad-request", text="a roster item needs a 'jid' attribute"
            )
        try:
            contact = parseJID(text)
        except jid.InvalidFormat as e:
            raise error.StanzaError(
                "bad-request", text=f"the item's JID {text!r} is not valid: {e}"
            )
        if contact.resource is not None:
            # The store keeps one item per bare JID (subscriptions are
            # between bare JIDs, RFC 6121 section 3); saying so beats
            # silently storing another JID than the client sent.
            raise error.StanzaError(
                "bad-request",
                text=f"roster items are bare JIDs; {text!r} has a resource",
            )
        return contact

    def _parseGroups(self, element):
        groups = []
        for group in element.elements(NS_ROSTER, "group"):
            name = str(group)
            if not name:
                raise error.StanzaError(
                    "bad-request", text="a <group/> needs a non-empty name"
                )
            if len(name) > MAX_NAME_LENGTH:
                raise error.StanzaError(
                    "not-acceptable",
                    text=f"group names are limited to {MAX_NAME_LENGTH} characters",
                )
            if name in groups:
                raise error.StanzaError(
                    "bad-request", text=f"the group {name!r} is listed twice"
                )
            groups.append(name)
        return tuple(groups)

    @defer.inlineCallbacks
    def _remove(self, sender, contact, existing):
        """
        RFC 6121 section 2.5: remove an item, cancelling subscriptions.
        """
        if existing is None:
            raise error.StanzaError(
                "item-not-found",
                text=f"{contact.full()} is not in your roster",
            )
        username = sender.user
        pending = yield self.users.getPendingSubscriptions(username)
        pendingIn = contact in pending
        version = yield self.users.removeRosterItem(username, contact)
        if pendingIn:
            yield self.users.removePendingSubscription(username, contact)
        rosterPush(self.sessions, username, existing, version, removed=True)
        self.presence.notifyObservers("rosterItemChanged", username, existing, None)
        self.presence.itemRemoved(
            sender.userhostJID(), SubscriptionState.of(existing, pendingIn), contact
        )


@implementer(IClientPresence, IAccountObserver)
class PresenceHandler(AccountHandler):
    """
    Presence and presence subscriptions of the client domain's accounts
    (RFC 6121 sections 3 and 4).

    The L{mepserver.c2s.sessions.SessionManager} hands it what clients send:
    presence without C{to} (L{broadcast}), presence with a C{to}
    (L{outbound}), and the end of a session (L{sessionEnded}). On the
    component it observes the presence stanzas of type C{subscribe},
    C{subscribed}, C{unsubscribe}, C{unsubscribed} and C{probe} that the
    router brings for an account (inbound processing); other presence is
    delivered by L{mepserver.c2s.sessions.DeliveryHandler}.

    Errors returned to the client: C{bad-request} for a priority that is not
    an integer, a presence type RFC 6121 does not define, or a subscription
    stanza without C{to}; C{not-allowed} for a subscription stanza to the
    account's own JID.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar observers: L{mepserver.interfaces.IPresenceObserver}s told of
        available and unavailable sessions and changed roster items.
    """

    def __init__(self, sessions, users, observers=(), blocking=None):
        """
        Make the handler and register it with C{sessions} for the presence
        clients send.

        @param observers: L{IPresenceObserver}s, in the order they are told.
        @param blocking: the L{mepserver.c2s.blocking.BlockLists} (XEP-0191)
            for the presence it delivers to sessions itself, or L{None}.
        """
        AccountHandler.__init__(self)
        self.sessions = sessions
        self.users = users
        self.blocking = blocking
        self.locks = sessions.locks
        for observer in observers:
            verifyObject(IPresenceObserver, observer)
        self.observers = list(observers)
        sessions.handlePresenceWith(self)

    def notifyObservers(self, method, *args):
        """
        Call C{method} on each L{mepserver.interfaces.IPresenceObserver} in
        C{observers} (PEP); one that fails is logged and skipped.
        """
        for observer in self.observers:
            try:
                getattr(observer, method)(*args)
            except Exception:
                log.failure("Presence observer {observer!r}", observer=observer)

    def connectionInitialized(self):
        self.xmlstream.addObserver(PRESENCE, self.onPresence)

    def _isLocal(self, address):
        return address.user is not None and address.host == self.sessions.domain

    def _availableSessions(self, username):
        return [
            s
            for s in self.sessions.sessionsOf(username)
            if s.available and s.presence is not None
        ]

    @defer.inlineCallbacks
    def _state(self, username, contact):
        """
        @return: a Deferred firing with the account's roster item for
            C{contact} (or L{None}) and its L{SubscriptionState}.
        """
        item = yield self.users.getRosterItem(username, contact)
        pending = yield self.users.getPendingSubscriptions(username)
        return item, SubscriptionState.of(item, contact in pending)

    @defer.inlineCallbacks
    def _apply(self, username, contact, item, old, new):
        """
        Store a changed subscription state and push a changed item.

        A missing item is created (RFC 6121 sections 3.1.2, 3.1.5 and
        3.4.2); a pending inbound request alone creates none.
        """
        if new.pendingIn != old.pendingIn:
            if new.pendingIn:
                yield self.users.addPendingSubscription(username, contact)
            else:
                yield self.users.removePendingSubscription(username, contact)
        shown = (new.subscription, new.pendingOut, new.preApproved)
        if shown != (old.subscription, old.pendingOut, old.preApproved):
            before = item
            if item is None:
                item = RosterItem(contact=contact)
            item = dataclasses.replace(
                item,
                subscription=new.subscription,
                ask=new.pendingOut,
                approved=new.preApproved,
            )
            version = yield self.users.setRosterItem(username, item)
            rosterPush(self.sessions, username, item, version)
            self.notifyObservers("rosterItemChanged", username, before, item)

    # Presence without 'to' (RFC 6121 sections 4.2, 4.4 and 4.5).

    def broadcast(self, session, presence):
        """
        Process presence a client sent without C{to}.

        Available presence (no C{type}) is recorded on the session and
        broadcast; the first one of a session is initial presence (section
        4.2.2) and also sends probes and pending subscription requests.
        Unavailable presence is broadcast, also to the session's directed
        presence targets (section 4.5.2).

        @return: a Deferred that fires when processed.
        """
        kind = presence.getAttribute("type")
        if kind is None:
            priority = self._priority(session, presence)
            if priority is None:
                return defer.succeed(None)
            d = self._available(session, presence, priority)
        elif kind == "unavailable":
            d = self._unavailable(session, presence)
        elif kind == "error":
            return defer.succeed(None)
        elif kind in INBOUND_TYPES:
            self.sessions.reply(
                session,
                presence,
                "bad-request",
                f"presence of type {kind!r} needs a 'to' address",
            )
            return defer.succeed(None)
        else:
            self.sessions.reply(
                session,
                presence,
                "bad-request",
                f"{kind!r} is not a presence type (RFC 6121 section 4.7.1)",
            )
            return defer.succeed(None)
        d.addErrback(_logFailure, "presence broadcast")
        return d

    def _priority(self, session, presence):
        """
        Read the priority of available presence (RFC 6121 section 4.7.2.3).

        An integer out of range is clamped, and the stanza corrected, so
        that contacts see a valid value; anything else is refused.

        @return: the priority, or L{None} after replying C{bad-request}.
        """
        element = next(presence.elements(NS_CLIENT, "priority"), None)
        if element is None:
            return 0
        text = str(element).strip()
        if not _INTEGER.fullmatch(text):
            self.sessions.reply(
                session,
                presence,
                "bad-request",
                f"the priority {text!r} is not an integer from -128 to 127",
            )
            return None
        value = int(text)
        clamped = max(MIN_PRIORITY, min(MAX_PRIORITY, value))
        if str(clamped) != text:
            element.children = [str(clamped)]
        return clamped

    @defer.inlineCallbacks
    def _available(self, session, presence, priority):
        initial = not session.available
        session.available = True
        session.priority = priority
        session.presence = presence
        user = session.jid.userhostJID()
        items = yield self.users.getRoster(user.user)
        # Sections 4.2.2 and 4.4.2: to every contact subscribed to the
        # account's presence, and to all of the account's available
        # resources, the sending one included.
        for item in items:
            if item.sharesPresence:
                self.send(copyStanza(presence, to=item.contact.full()))
        self._toOwnResources(session, presence)
        if not initial:
            self.notifyObservers("sessionAvailable", session, presence, False)
            return
        # Section 4.2.2: probes to the contacts the account is subscribed
        # to. A local contact's server is this one: it answers at once,
        # to the new session only, as section 4.3.2 would, instead of
        # sending the answer to every resource.
        for item in items:
            if item.subscription not in ("to", "both"):
                continue
            if self._isLocal(item.contact):
                for other in self._availableSessions(item.contact.user):
                    if not self._blocked(session.jid, other.jid):
                        session.send(copyStanza(other.presence, to=session.jid.full()))
            else:
                self.send(makePresence(user, item.contact, "probe"))
        # An account is implicitly subscribed to its own presence (section
        # 4.2.2): the new resource learns of the others.
        for other in self._availableSessions(user.user):
            if other is not session:
                session.send(copyStanza(other.presence, to=session.jid.full()))
        # Section 3.1.3: unanswered subscription requests are delivered
        # again when the account becomes available.
        pending = yield self.users.getPendingSubscriptions(user.user)
        for contact in pending:
            session.send(makePresence(contact, user, "subscribe"))
        self.notifyObservers("sessionAvailable", session, presence, True)

    def _blocked(self, one, other):
        """
        @return: whether either account blocks the other (XEP-0191), for
            presence delivered without the router.
        """
        return self.blocking is not None and (
            self.blocking.blocks(one.user, other) or self.blocking.blocks(other.user, one)
        )

    def _toOwnResources(self, session, presence):
        """
        Deliver presence to the account's available resources, and to the
        sending session.
        """
        user = session.jid.userhost()
        copy = copyStanza(presence, to=user)
        for other in self.sessions.sessionsOf(session.jid.user):
            if other.available or other is session:
                other.send(copy)

    @defer.inlineCallbacks
    def _unavailable(self, session, presence):
        """
        Sections 4.5.2 and 4.6.3: unavailable presence goes to subscribed
        contacts, the account's available resources and every entity that
        got directed presence from this session.
        """
        wasAvailable = session.available
        directed = session.directed
        session.available = False
        session.priority = 0
        session.presence = None
        session.directed = NO_JIDS
        if wasAvailable:
            self.notifyObservers("sessionUnavailable", session)
        if not wasAvailable and not directed:
            return
        items = yield self.users.getRoster(session.jid.user)
        subscribers = set()
        if wasAvailable:
            for item in items:
                if item.sharesPresence:
                    subscribers.add(item.contact)
                    self.send(copyStanza(presence, to=item.contact.full()))
            self._toOwnResources(session, presence)
        for target in sorted(directed, key=lambda j: j.full()):
            if target.userhostJID() not in subscribers:
                self.send(copyStanza(presence, to=target.full()))

    def sessionEnded(self, session):
        """
        A session is gone: if it was available or sent directed presence,
        broadcast unavailable presence from its full JID as if the client
        had sent it (RFC 6121 section 4.5.2).

        @return: a Deferred that fires when processed.
        """
        if not session.available and not session.directed:
            return defer.succeed(None)
        presence = domish.Element((NS_CLIENT, "presence"))
        presence["from"] = session.jid.full()
        presence["type"] = "unavailable"
        # Under the account's lock, like subscription changes and directed
        # presence, so that the server's shutdown can wait for it
        # (AccountLocks.drain).
        d = self.locks.run(session.jid.user, self._unavailable, session, presence)
        d.addErrback(_logFailure, "the end of a session")
        return d

    # Presence with 'to' (RFC 6121 sections 3 and 4.6).

    def outbound(self, session, presence):
        """
        Process presence a client sent with a C{to}.

        Subscription stanzas (section 3) update the account's roster and are
        sent from its bare JID; directed presence (section 4.6) is routed
        and remembered for the session's unavailable presence; probes and
        errors are routed.

        @return: a Deferred that fires when processed.
        """
        kind = presence.getAttribute("type")
        target = jid.internJID(presence["to"])
        if kind in SUBSCRIPTION_REQUESTS:
            d = self.locks.run(
                session.jid.user,
                self._outboundSubscription,
                session,
                presence,
                kind,
                target,
            )
        elif kind in (None, "unavailable"):
            if self.locks.busy(session.jid.user):
                # Behind the sender's lock: a directed presence sent right
                # after a <subscribed/> must not overtake it (slixmpp does
                # this).
                d = self.locks.run(
                    session.jid.user, self._directed, session, presence, kind, target
                )
            else:
                # Nothing to wait for: routed at once, and what it causes
                # for the account (a room's presences) is delivered at once
                # instead of queueing behind a lock held for nothing.
                d = self._directed(session, presence, kind, target)
        elif kind in ("probe", "error"):
            self.send(presence)
            return defer.succeed(None)
        else:
            self.sessions.reply(
                session,
                presence,
                "bad-request",
                f"{kind!r} is not a presence type (RFC 6121 section 4.7.1)",
            )
            return defer.succeed(None)
        d.addErrback(_logFailure, "outbound presence")
        return d

    @defer.inlineCallbacks
    def _outboundSubscription(self, session, presence, kind, target):
        user = session.jid.userhostJID()
        # Sections 3.1.2, 3.1.5, 3.2.2, 3.3.2: subscriptions are between
        # bare JIDs; the server stamps the account's bare JID and treats a
        # full JID as the bare one.
        contact = target.userhostJID()
        if contact == user:
            self.sessions.reply(
                session,
                presence,
                "not-allowed",
                "you are always subscribed to your own presence",
            )
            return
        item, old = yield self._state(user.user, contact)
        new = old.afterOutbound(kind)
        yield self._apply(user.user, contact, item, old, new)
        if kind == "subscribed" and not old.pendingIn:
            # Section 3.4.2 and Appendix A.2.3: without a pending request
            # this is a pre-approval (or nothing, if the contact is
            # subscribed already), which is not routed.
            return
        # Subscribe, unsubscribe and unsubscribed always go out: the
        # contact's server may hold state this one lost (Appendix A.3
        # ignores what changes nothing).
        self.send(copyStanza(presence, to=contact.full(), **{"from": user.full()}))

    def _directed(self, session, presence, kind, target):
        """
        Section 4.6.2: route directed presence and remember who got
        available presence, unless they get the account's broadcasts
        anyway (a contact with a subscription 'from' or 'both').

        @return: a Deferred that fires once it is remembered: at once when
            the store answers at once (a room join is mostly this, issue
            16).
        """
        try:
            self.send(presence)
            bare = target.userhostJID()
            if bare == session.jid.userhostJID():
                return defer.succeed(None)
            d = self.users.getRosterItem(session.jid.user, bare)
        except Exception:
            # As from a generator: the caller logs it.
            return defer.fail()
        return d.addCallback(self._rememberDirected, session, kind, target)

    @staticmethod
    def _rememberDirected(item, session, kind, target):
        if item is not None and item.sharesPresence:
            return
        if kind is None:
            session.directed = session.directed | {target}
        elif target in session.directed:
            session.directed = session.directed - {target}

    def itemRemoved(self, user, state, contact):
        """
        Cancel subscriptions of a removed roster item (RFC 6121 section
        2.5.2).

        Both directions end: C{unsubscribe} if the account had or asked
        for a subscription to the contact, C{unsubscribed} if the contact
        had or asked for one to the account.

        @param user: the account's bare JID.
        @param state: the L{SubscriptionState} before removal.
        @param contact: the removed contact's bare JID.
        """
        if state.hasTo or state.pendingOut:
            self.send(makePresence(user, contact, "unsubscribe"))
        if state.hasFrom or state.pendingIn:
            self.send(makePresence(user, contact, "unsubscribed"))

    # The end of an account (XEP-0077 section 3.2), as an IAccountObserver.

    @defer.inlineCallbacks
    def accountRemoved(self, username):
        """
        An account is removed: its contacts learn it is gone, as Prosody
        tells them (C{user-deleted} fires C{roster-item-removed} for every
        item). Each resource still available becomes unavailable to the
        contacts that receive its presence (its session may not have ended
        yet, and once the roster is gone it could not tell them); every
        roster item is then cancelled as by a roster remove (RFC 6121
        section 2.5.2, L{itemRemoved}), and a request still waiting for an
        answer is declined with C{unsubscribed}. The contacts keep their
        items, which their servers set to C{none}.
        """
        user = jid.JID(tuple=(username, self.sessions.domain, None))
        roster = yield self.users.getRoster(username)
        pending = set((yield self.users.getPendingSubscriptions(username)))
        available = self._availableSessions(username)
        for item in roster:
            if item.sharesPresence:
                for session in available:
                    self.send(makePresence(session.jid, item.contact, "unavailable"))
            pendingIn = item.contact in pending
            pending.discard(item.contact)
            self.itemRemoved(user, SubscriptionState.of(item, pendingIn), item.contact)
        for contact in sorted(pending, key=lambda contact: contact.full()):
            self.itemRemoved(user, SubscriptionState.of(None, True), contact)

    # Inbound subscription stanzas and probes (RFC 6121 sections 3 and 4.3).

    def onPresence(self, presence):
        """
        A presence stanza arrived for the client domain: process the
        subscription stanzas and probes addressed to an account.
        """
        if presence.handled or presence.getAttribute("type") not in INBOUND_TYPES:
            return
        try:
            to = jid.internJID(presence["to"])
            sender = jid.internJID(presence["from"])
        except (KeyError, jid.InvalidFormat):
            return
        if to.user is None:
            return
        presence.handled = True
        kind = presence["type"]
        if kind == "probe":
            d = self._inboundProbe(to.userhostJID(), sender)
        else:
            d = self.locks.run(
                to.user,
                self._inboundSubscription,
                presence,
                kind,
                to.userhostJID(),
                sender,
            )
        d.addErrback(_logFailure, "inbound presence")

    @defer.inlineCallbacks
    def _exists(self, username):
        if self.sessions.sessionsOf(username):
            return True
        credentials = yield self.users.getCredentials(username)
        return credentials is not None

    @defer.inlineCallbacks
    def _inboundSubscription(self, presence, kind, user, sender):
        """
        Sections 3.1.3, 3.1.6, 3.2.3 and 3.3.3 with Appendix A.3.
        """
        contact = sender.userhostJID()
        exists = yield self._exists(user.user)
        if not exists or contact == user:
            # Section 8.5.1: subscription stanzas for an account that does
            # not exist are silently ignored.
            return
        item, old = yield self._state(user.user, contact)
        if kind == "subscribe" and old.hasFrom:
            # Section 3.1.3: the contact is already subscribed; answer on
            # the account's behalf.
            self.send(makePresence(user, contact, "subscribed"))
            return
        new = old.afterInbound(kind)
        if kind == "subscribe" and old.preApproved:
            # Section 3.4: the account approved this request before it
            # came. The server approves it on the account's behalf without
            # delivering it, and pushes the item (now 'from' or 'both').
            yield self._apply(user.user, contact, item, old, new)
            self.send(makePresence(user, contact, "subscribed"))
            return
        if new == old:
            # Appendix A.3: no state change, nothing delivered.
            return
        yield self._apply(user.user, contact, item, old, new)
        # Delivered to the available resources; a subscription request
        # stays pending and is delivered again at the next initial
        # presence (section 3.1.3).
        delivery = copyStanza(presence, to=user.full(), **{"from": contact.full()})
        for session in self.sessions.sessionsOf(user.user):
            if session.available:
                session.send(delivery)
        if kind == "subscribed" and self._isLocal(contact):
            # Section 3.1.6: the account now receives the contact's current
            # presence from each of its available resources.
            for other in self._availableSessions(contact.user):
                self.send(copyStanza(other.presence, to=user.full()))
        elif kind == "unsubscribed" and old.hasTo and self._isLocal(contact):
            # Section 3.2.3: and unavailable presence from each of them.
            for other in self._availableSessions(contact.user):
                self.send(makePresence(other.jid, user, "unavailable"))
        elif kind == "unsubscribe" and old.hasFrom:
            # Section 3.3.3: the contact no longer sees the account's
            # resources, so they become unavailable to it.
            for session in self._availableSessions(user.user):
                self.send(makePresence(session.jid, contact, "unavailable"))

    @defer.inlineCallbacks
    def _inboundProbe(self, user, sender):
        """
        Section 4.3.2: answer a probe for an account's presence.
        """
        contact = sender.userhostJID()
        if contact == user:
            allowed = True
        else:
            exists = yield self._exists(user.user)
            item = yield self.users.getRosterItem(user.user, contact)
            allowed = exists and item is not None and item.sharesPresence
        if not allowed:
            # Section 4.3.2, step 1: no such account, or the prober has no
            # subscription: answer 'unsubscribed' (which ends a
            # subscription the prober believes it has, section 3.2).
            self.send(makePresence(user, contact, "unsubscribed"))
            return
        available = self._availableSessions(user.user)
        if not available:
            # Section 4.3.2, step 2: no available resource.
            self.send(makePresence(user, sender, "unavailable"))
            return
        # Section 4.3.2, step 3: the last presence of every available
        # resource, from its full JID.
        for session in available:
            self.send(copyStanza(session.presence, to=sender.full()))
