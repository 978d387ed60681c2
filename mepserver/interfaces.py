# -*- test-case-name: tests.test_storage -*-
"""
Interfaces between mepserver's protocol code and what it depends on.

Stores return L{Deferred<twisted.internet.defer.Deferred>}s from every
method (the memory store fires them at once), so that protocol code never
knows whether a call reaches SQLite through a thread pool or a dict.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Mapping, Optional, Tuple

from twisted.words.protocols.jabber import jid
from zope.interface import Attribute, Interface


@dataclasses.dataclass(frozen=True)
class ScramKeys:
    """
    The salted SCRAM keys of one hash function (RFC 5802 section 3).

    Only these are stored, never a password.
    """

    salt: bytes
    storedKey: bytes
    serverKey: bytes
    iterations: int


@dataclasses.dataclass(frozen=True)
class Credentials:
    """
    An account's stored credentials: SCRAM keys per mechanism name.

    @ivar keys: maps a SCRAM mechanism name (C{"SCRAM-SHA-1"},
        C{"SCRAM-SHA-256"}) to its L{ScramKeys}.
    """

    keys: Mapping[str, ScramKeys]


SUBSCRIPTIONS = ("none", "to", "from", "both")

#: The subscriptions with which the contact may see the user's presence
#: (RFC 6121 section 2.1.2.5): L{RosterItem.sharesPresence}.
SHARES_PRESENCE = frozenset({"from", "both"})


@dataclasses.dataclass(frozen=True)
class RosterItem:
    """
    One item of a user's roster (RFC 6121 section 2.1.2).

    @ivar contact: the contact's bare JID.
    @ivar name: the handle the user gave the contact, or L{None}.
    @ivar subscription: one of L{SUBSCRIPTIONS}.
    @ivar ask: C{True} while an outbound subscription request is pending
        (the "Pending Out" part of RFC 6121 Appendix A's states).
    @ivar groups: the item's group names.
    @ivar approved: C{True} while the user pre-approves a subscription
        request from the contact (RFC 6121 section 3.4); only with a
        subscription of C{none} or C{to} and no pending inbound request.
    """

    contact: jid.JID
    name: Optional[str] = None
    subscription: str = "none"
    ask: bool = False
    groups: Tuple[str, ...] = ()
    approved: bool = False

    @property
    def sharesPresence(self) -> bool:
        """
        Whether the contact may see the user's presence: a subscription of
        C{from} or C{both} (RFC 6121 section 2.1.2.5).
        """
        return self.subscription in SHARES_PRESENCE


class UserExists(Exception):
    """
    An account with this username already exists.
    """


class UnknownUser(Exception):
    """
    There is no account with this username.
    """


class IUserStore(Interface):
    """
    Durable accounts and rosters of the client domain.

    Usernames are the nodeprep'd localparts of bare JIDs, as L{str}.
    Contacts are bare L{jid.JID}s. Reads for an unknown user give C{[]} or
    L{None}; writes of roster items or pending subscriptions for an unknown
    user fail with L{UnknownUser}; removing something absent is no error.
    """

    def getCredentials(username):
        """
        @return: a Deferred firing with the user's L{Credentials}, or L{None}
            if there is no such user.
        """

    def createUser(username, credentials):
        """
        Create an account.

        @return: a Deferred that fires when stored, or fails with
            L{UserExists}.
        """

    def setCredentials(username, credentials):
        """
        Replace a user's credentials (password change).

        @return: a Deferred, failing with L{UnknownUser} if there is none.
        """

    def removeUser(username):
        """
        Remove an account with its roster and pending subscriptions.

        @return: a Deferred, failing with L{UnknownUser} if there is none.
        """

    def listUsers():
        """
        @return: a Deferred firing with a sorted L{list} of usernames.
        """

    def getRoster(username):
        """
        @return: a Deferred firing with a L{list} of L{RosterItem}s, sorted
            by contact.
        """

    def getRosterByContact(username):
        """
        L{getRoster} as a mapping, which the store may share between calls
        and with its cache: asked for on every PEP publication, whose
        recipients come from the whole roster (issue 16).

        @return: a Deferred firing with a read-only mapping of each item's
            contact as a bare JID string (C{userhost()}) to the item, in
            contact order.
        """

    def getRosterItem(username, contact):
        """
        @return: a Deferred firing with the L{RosterItem} for C{contact}, or
            L{None}.
        """

    def setRosterItem(username, item):
        """
        Add or replace the roster item for C{item.contact}, and increment
        the roster's version (L{getRosterVersion}) in the same transaction.

        @return: a Deferred firing with the roster's new version.
        """

    def removeRosterItem(username, contact):
        """
        Remove the roster item for C{contact}; no error if absent. Removing
        an item increments the roster's version in the same transaction.

        @return: a Deferred firing with the roster's version after it.
        """

    # Roster versioning (RFC 6121 section 2.6).

    def getRosterVersion(username):
        """
        The roster's version: a counter that every change of the roster
        through L{setRosterItem} or L{removeRosterItem} increments, stored
        with the roster (RFC 6121 section 2.6.2). L{removeUser} increments
        it too and keeps it, so that an account created again with the
        same name goes on counting from there.

        @return: a Deferred firing with an L{int}: 0 before the first
            change, and for an unknown user.
        """

    def getPendingSubscriptions(username):
        """
        Inbound subscription requests not yet answered (RFC 6121 section
        3.1.3: the server stores them and delivers them again at login).

        @return: a Deferred firing with a sorted L{list} of bare
            L{jid.JID}s.
        """

    def addPendingSubscription(username, contact):
        """
        Store an inbound subscription request from C{contact}; idempotent.

        @return: a Deferred.
        """

    def removePendingSubscription(username, contact):
        """
        Forget an inbound subscription request; no error if absent.

        @return: a Deferred.
        """

    # Block lists (XEP-0191), in a block of their own.

    def getBlockList(username):
        """
        The JIDs the user blocks (XEP-0191 section 3.2): bare, full or
        domain JIDs, as the user gave them.

        @return: a Deferred firing with a L{list} of L{jid.JID}s sorted by
            their text, or L{None} if there is no such user.
        """

    def blockJIDs(username, entities):
        """
        Add JIDs to the user's block list (XEP-0191 section 3.3); those
        already there stay once.

        @param entities: L{jid.JID}s, kept exactly (full, bare or domain).
        @return: a Deferred, failing with L{UnknownUser} if there is none.
        """

    def unblockJIDs(username, entities):
        """
        Remove JIDs from the user's block list (XEP-0191 section 3.4); one
        that is not there is no error.

        @return: a Deferred.
        """

    def unblockAll(username):
        """
        Empty the user's block list (XEP-0191 section 3.5).

        @return: a Deferred.
        """

    # Private XML storage (XEP-0049), in a block of its own.

    def getPrivate(username, namespace, name):
        """
        The private XML the user stored under the qualified name
        (C{namespace}, C{name}) of its root element.

        @return: a Deferred firing with the element as XML text, or L{None}
            if nothing is stored there (or there is no such user).
        """

    def setPrivate(username, namespace, name, xml):
        """
        Store private XML under the qualified name of its root element,
        replacing what was there; L{None} removes it (no error if absent).

        @param xml: the element as XML text, or L{None}.
        @return: a Deferred, failing with L{UnknownUser} if there is none.
        """

    # vCards (XEP-0054), in a block of their own.

    def getVCard(username):
        """
        The user's vCard (XEP-0054 section 3.1).

        @return: a Deferred firing with the C{<vCard xmlns='vcard-temp'/>}
            element as XML text, exactly as last set, or L{None} if the
            user never set one or there is no such user.
        """

    def setVCard(username, vcard):
        """
        Replace the user's vCard (XEP-0054 section 3.2); removing the user
        removes it.

        @param vcard: the C{<vCard/>} element as XML text.
        @return: a Deferred, failing with L{UnknownUser} if there is none.
        """

    def prepare():
        """
        Make the store ready (create missing tables); idempotent.

        @return: a Deferred.
        """

    def close():
        """
        Release resources (database connections).

        @return: a Deferred.
        """


# Offline messages (XEP-0160) ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class OfflineMessage:
    """
    A message stored for an account that had no available resource
    (XEP-0160 section 3).

    @ivar key: the store's key for it; keys grow in the order of storing.
    @ivar stanza: the message as XML text, its delay stamp included.
    """

    key: int
    stanza: str


class IOfflineStore(Interface):
    """
    Durable offline messages of the client domain's accounts (XEP-0160).

    An account's messages come back in the order they were stored, and go
    with the account (L{IUserStore.removeUser}).
    """

    def storeOfflineMessage(username, stanza, limit):
        """
        Append a message to an account's offline messages, unless it holds
        C{limit} of them already; the count and the append are one step.

        @param stanza: the message as XML text.
        @param limit: the most messages the account may hold, at least 1.
        @return: a Deferred firing with C{True} once stored, C{False} if the
            account holds C{limit} messages already; failing with
            L{UnknownUser} if there is no account C{username}.
        """

    def getOfflineMessages(username):
        """
        @return: a Deferred firing with a L{list} of the account's
            L{OfflineMessage}s, oldest first (C{[]} for an unknown user).
        """

    def removeOfflineMessages(username, keys):
        """
        Forget the account's offline messages with these keys; keys that
        are absent are no error.

        @return: a Deferred.
        """


class IServerMechanism(Interface):
    """
    The server side of one SASL mechanism exchange (RFC 6120 section 6).

    A fresh instance serves one authentication attempt.
    """

    name = Attribute("The mechanism name as advertised, e.g. 'SCRAM-SHA-256'.")

    def step(response):
        """
        Process the client's initial response or a later response.

        @param response: the decoded bytes the client sent (C{b""} for an
            empty response, L{None} when the <auth/> element had no initial
            response).
        @return: a Deferred firing with a L{mepserver.c2s.mechanisms.Challenge}
            to send the client, or a L{mepserver.c2s.mechanisms.Success}
            carrying the authenticated username and any additional data;
            failing with L{mepserver.c2s.mechanisms.SASLFailure} carrying
            the RFC 6120 section 6.5 condition.
        """


@dataclasses.dataclass(frozen=True)
class StoredRoom:
    """
    The durable state of one persistent room (XEP-0045 section 10.2).

    Occupants, history and the presence of anybody are not stored.

    @ivar jid: the bare room JID.
    @ivar config: the room configuration, as the C{muc#roomconfig_*}
        field names of the owner form (without the prefix, e.g.
        C{"roomname"}, C{"membersonly"}) mapped to plain values
        (L{str}, L{bool}, L{int}, L{None} or a L{tuple} of L{str}).
    @ivar affiliations: bare user JIDs mapped to C{"owner"}, C{"admin"},
        C{"member"} or C{"outcast"} (C{"none"} is never stored).
    @ivar nicks: registered nicknames: bare user JIDs mapped to nicks
        (XEP-0045 section 7.10).
    @ivar subject: the room subject and who set it (a nick), or empty.
    @ivar reasons: optional reasons given with affiliations (bans).
    """

    jid: jid.JID
    config: Mapping[str, object]
    affiliations: Mapping[jid.JID, str]
    nicks: Mapping[jid.JID, str] = dataclasses.field(default_factory=dict)
    subject: str = ""
    subjectBy: str = ""
    reasons: Mapping[jid.JID, str] = dataclasses.field(default_factory=dict)


class IRoomStore(Interface):
    """
    Durable persistent rooms of the MUC service.

    The MUC service keeps rooms in memory and writes a whole L{StoredRoom}
    through after every change to a persistent room: rooms are small and
    changes rare, so there is no per-field API.
    """

    def loadRooms():
        """
        @return: a Deferred firing with every stored L{StoredRoom}, sorted by
            room JID.
        """

    def saveRoom(room):
        """
        Insert or replace a room's stored state.

        @return: a Deferred.
        """

    def removeRoom(roomJID):
        """
        Forget a room (destroyed, or no longer persistent); no error if
        absent.

        @return: a Deferred.
        """

    def prepare():
        """
        Make the store ready; idempotent.

        @return: a Deferred.
        """

    def close():
        """
        Release resources.

        @return: a Deferred.
        """


@dataclasses.dataclass(frozen=True)
class StoredNode:
    """
    The durable state of one pubsub node (XEP-0060), without its items.

    @ivar service: the JID of the virtual service: an account's bare JID
        (PEP), a room JID (MEP).
    @ivar identifier: the NodeID.
    @ivar config: the C{pubsub#} field vars mapped to plain values
        (L{str}, L{bool} or a L{tuple} of L{str}), as
        L{mepserver.pubsub.model.NodeConfig.values} gives them.
    @ivar affiliations: bare JIDs mapped to affiliations other than the
        owner's and C{"none"} (C{"member"}, C{"outcast"}, ...).
    @ivar subscriptions: subscribed JIDs (bare or full) mapped to their
        state (C{"subscribed"}).
    """

    service: jid.JID
    identifier: str
    config: Mapping[str, object]
    affiliations: Mapping[jid.JID, str] = dataclasses.field(default_factory=dict)
    subscriptions: Mapping[jid.JID, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StoredItem:
    """
    One published item of a pubsub node.

    @ivar id: the ItemID, unique within the node.
    @ivar payload: the payload element as XML text, or L{None}.
    @ivar publisher: the full JID that published it.
    @ivar published: when, as an aware UTC L{datetime.datetime}.
    """

    id: str
    payload: Optional[str]
    publisher: jid.JID
    published: datetime.datetime


class UnknownNode(Exception):
    """
    There is no stored node with this service and NodeID.
    """


class IPubSubStore(Interface):
    """
    Durable pubsub nodes and items, keyed by (service JID, NodeID): PEP
    nodes of accounts and the nodes of persistent MEP rooms.

    Services are compared by their full JID text. Items of a node keep
    their publish order; storing an item with an existing id replaces it
    and makes it the newest.
    """

    def loadNodes(service):
        """
        @return: a Deferred firing with a L{list} of the service's
            L{StoredNode}s, sorted by NodeID.
        """

    def loadItems(service, nodeIdentifier):
        """
        @return: a Deferred firing with a L{list} of the node's
            L{StoredItem}s, oldest first; empty for an unknown node.
        """

    def saveNode(node):
        """
        Insert or replace a node's configuration, affiliations and
        subscriptions (a L{StoredNode}); its items stay.

        @return: a Deferred.
        """

    def removeNode(service, nodeIdentifier):
        """
        Forget a node and its items; no error if absent.

        @return: a Deferred.
        """

    def saveItem(service, nodeIdentifier, item):
        """
        Store a L{StoredItem} as the node's newest, replacing one with its
        id.

        @return: a Deferred, failing with L{UnknownNode} if the node is not
            stored.
        """

    def removeItems(service, nodeIdentifier, itemIdentifiers):
        """
        Forget items by id; ids not stored are no error.

        @return: a Deferred.
        """

    def removeService(service):
        """
        Forget every node of a service with its items (an account removed,
        a room destroyed).

        @return: a Deferred.
        """

    def prepare():
        """
        Make the store ready; idempotent.

        @return: a Deferred.
        """

    def close():
        """
        Release resources.

        @return: a Deferred.
        """


class IPubSubContext(Interface):
    """
    What a virtual pubsub service needs to know about the entities around
    it, for one request or one notification: the part of the pubsub engine
    (L{mepserver.pubsub.model.Service}) that differs between PEP (an
    account's bare JID, its roster and sessions) and MEP (a room or
    occupant JID, its occupants).

    Every method is synchronous: the caller gathers what it needs (a
    roster, say) before building the context. Entities are L{jid.JID}s,
    bare or full as the request gives them.
    """

    def isOwner(entity):
        """
        @return: whether C{entity} owns the service (XEP-0060 owner: may
            configure, delete, purge, manage affiliations, and retrieve
            everything).
        """

    def owners():
        """
        @return: the JIDs to list with affiliation C{owner}.
        """

    def mayPublish(entity):
        """
        @return: whether C{entity} may publish and retract items (PEP: the
            owner only, XEP-0163 section 3.2).
        """

    def admit(entity):
        """
        Refuse an entity before node existence is checked, for contexts
        that must not reveal which nodes exist (MEP OQ-9); PEP admits all.

        @raise mepserver.errors.Refusal: C{entity} may not ask at all.
        """

    def sharesPresence(entity):
        """
        @return: whether C{entity} counts as subscribed to the owner's
            presence for the C{presence} access model (PEP: a roster
            subscription C{from} or C{both}; MEP: being an occupant).
        """

    def rosterGroups(entity):
        """
        @return: the roster groups the owner put C{entity} in, for the
            C{roster} access model; empty if none.
        """

    candidatesSharePresence = Attribute(
        """
        Whether every JID L{candidates} returns is the owner's or one for
        which L{sharesPresence} is true: then the service does not ask
        again for a node whose access only that decides (no affiliations;
        the C{open} or C{presence} access model), once per recipient of
        every notification (issue 16).
        """
    )

    def candidates(nodeIdentifier):
        """
        @return: the full JIDs implicitly subscribed to the service that
            want notifications of the node: available, sharing presence,
            and interested through their caps (XEP-0163 section 4.3, rules
            2 and 3), each once; the service checks their access.
        """

    def explicitTargets(subscriber, nodeIdentifier):
        """
        @return: the JIDs a notification for an explicit subscription of
            C{subscriber} goes to (XEP-0163 section 4.3.2); none if it is
            to get nothing now.
        """


class IClientPresence(Interface):
    """
    What takes the presence that clients send: the client domain's
    presence handler (L{mepserver.c2s.roster.PresenceHandler}), to which
    the L{mepserver.c2s.sessions.SessionManager} hands it (RFC 6121
    section 4).
    """

    def broadcast(session, presence):
        """
        A session sent presence without C{to} (RFC 6121 sections 4.2, 4.4
        and 4.5).
        """

    def outbound(session, presence):
        """
        A session sent presence with a C{to}: directed presence (section
        4.6) or a subscription stanza (section 3).
        """

    def sessionEnded(session):
        """
        A session's stream ended (section 4.6: unavailable on disconnect).
        """


class IOutboundFilter(Interface):
    """
    Something that sees every stanza a client sends, once checked and
    stamped, before the session manager processes or routes it: the
    Blocking Command (L{mepserver.c2s.blocking.BlockingHandler}, XEP-0191
    section 3.3) refuses what goes to a blocked JID.
    """

    def outbound(session, stanza, proceed):
        """
        Let the stanza go on by calling C{proceed()} (now or later), or
        take it (answer it, drop it) by not calling it.

        @param session: the sending L{mepserver.c2s.sessions.Session}.
        """


class IBulkDelivery(Interface):
    """
    A handler of a domain (L{mepserver.router.Domain}) that delivers one
    broadcast to many of the domain's addresses in one call (and several
    stanzas to one address in one call), doing for
    each copy what the domain's first observers (L{Domain.direct}) would
    do to it: the client domain's
    L{mepserver.c2s.sessions.DeliveryHandler} (issue 16).
    """

    replaces = Attribute(
        "The observers of every stanza, in priority order, whose work "
        "deliverMany does; the domain uses deliverMany only while they are "
        "exactly its first observers."
    )

    def deliverMany(broadcast, recipients, newId, route):
        """
        Deliver a copy of C{broadcast} to each recipient, in order.

        @param broadcast: a L{mepserver.stanza.Broadcast}; it is not
            changed.
        @param recipients: L{jid.JID}s of the domain.
        @param newId: L{None}, or a callable giving each copy its C{id}
            (called once per recipient, in order).
        @param route: routes one copy (an element) as any stanza is: a copy
            that needs more than plain delivery goes this way.
        """

    def deliverEach(elements, recipient, route):
        """
        Deliver stanzas to one recipient, in order (a room's entry: the
        occupants' presences, the self-presence, the history, the subject).

        @param elements: an iterable of stanzas whose C{to} is
            C{recipient}, iterated once: each is delivered (or routed)
            before the next is taken.
        @param recipient: a L{jid.JID} of the domain.
        @param route: routes one stanza as any stanza is: one that needs
            more than plain delivery goes this way.
        """


class IPresenceObserver(Interface):
    """
    Something that follows the presence of the client domain's sessions
    and the changes to rosters, as the presence handler
    (L{mepserver.c2s.roster.PresenceHandler}) processes them: PEP learns
    interests from caps and sends last items from here.

    Observers must not raise; they are called after the handler's own
    work.
    """

    def sessionAvailable(session, presence, initial):
        """
        A session sent available presence without C{to} (RFC 6121 section
        4.2 when C{initial}, else 4.4).

        @param session: the L{mepserver.c2s.sessions.Session}.
        @param presence: the presence element.
        """

    def sessionUnavailable(session):
        """
        A session became unavailable, or ended while available.
        """

    def rosterItemChanged(username, before, after):
        """
        An account's roster item changed: its subscription state through
        the subscription handshake, its name or groups by a roster set, or
        it was removed.

        @param before: the L{RosterItem} before, or L{None}.
        @param after: the L{RosterItem} after, or L{None} once removed.
        """


class IAccountObserver(Interface):
    """
    Something that keeps state for the client domain's accounts beyond
    what L{IUserStore.removeUser} removes: the presence handler (the
    account's contacts), PEP (the account's nodes), the block lists and
    the vCard hashes held in memory. The registration handler
    (L{mepserver.c2s.register.RegistrationHandler}) tells each of them,
    in order, when an account is removed (XEP-0077 section 3.2), so that
    an account registered again with the same name starts empty.
    """

    def accountRemoved(username):
        """
        An account is being removed: its sessions were told to close, its
        stored roster and data are still there, and the store removes them
        once every observer is done. Called under the account's lock
        (L{mepserver.c2s.sessions.AccountLocks}).

        @param username: the account's username.
        @return: a Deferred that fires when done, or L{None}.
        """


class IPEPObserver(Interface):
    """
    Something that follows what accounts publish to their PEP services
    (L{mepserver.pep.resource.PEPResource}): vCards follow the avatar
    (XEP-0398 section 3).

    Observers must not raise; they are called once the item is stored.
    """

    def itemPublished(service, node, item):
        """
        An account published C{item} to its C{node}.

        @param service: the account's L{mepserver.pubsub.model.Service}.
        @param node: the L{mepserver.pubsub.model.Node}.
        @param item: the L{mepserver.pubsub.model.Item}.
        """


class IRoomFeature(Interface):
    """
    One room option of the MUC service (XEP-0045 section 10.1.3), such as
    the password or members-only (STYLE.md section 3).

    Features live in C{mepserver/muc/features/}, one module each, and run
    in the order of C{mepserver.muc.features.FEATURES}. Everything is plain
    Python: rooms are L{mepserver.muc.room.Room}s, roles and affiliations
    enums, form fields L{mepserver.muc.roomconfig.ConfigField}s.
    """

    name = Attribute("A short name for the option, e.g. 'password'.")

    def discoFeatures(room):
        """
        @return: the disco#info features the option adds to the room
            (XEP-0045 section 6.4), e.g. C{["muc_passwordprotected"]}.
        """

    def configFields(room):
        """
        @return: the option's fields in the owner's configuration form, with
            the room's current values, as a list of C{ConfigField}s.
        """

    def applyConfig(room, config, values):
        """
        Apply a submitted configuration form to C{config}, a copy of the
        room's configuration that becomes current once every feature
        accepted it.

        @param values: field C{var}s mapped to sequences of strings; a field
            that is absent keeps its value.
        @return: the status codes the change calls for (XEP-0045 section
            10.2.1: 104, or 172/173 for anonymity), empty if nothing
            changed.
        @raise mepserver.errors.Refusal: an invalid value.
        """

    def checkJoin(room, attempt):
        """
        Check that someone may enter (XEP-0045 section 7.2).

        @param attempt: a C{JoinAttempt}.
        @raise mepserver.errors.Refusal: they may not.
        """

    def defaultRole(room, affiliation):
        """
        @return: the role someone with C{affiliation} gets on entering
            (XEP-0045 section 5.1.2), or L{None} to leave it to the next
            feature and finally the table.
        """

    def affiliationList(room, values):
        """
        Read a submitted configuration form's complete list of one
        affiliation (XEP-0045 section 10.2: C{muc#roomconfig_roomadmins},
        C{muc#roomconfig_roomowners}), which the room applies once every
        feature accepted the form.

        @return: C{(affiliation, JIDs)}, or L{None} if the option lists no
            affiliation or its field is absent.
        @raise mepserver.errors.Refusal: an invalid JID.
        """

    def grants(room, role, privilege):
        """
        The option's say on a privilege of XEP-0045 section 5.1.1's role
        table, whose starred cells the configuration narrows (private
        messages 7.5, the subject 8.1).

        @param role: a C{Role}.
        @param privilege: a C{Privilege}.
        @return: whether C{role} has C{privilege} in C{room}, or L{None} to
            leave it to the next feature and finally the table.
        """

    def revealsRealJIDs(room, role):
        """
        Whether occupants with C{role} see other occupants' real JIDs
        (XEP-0045 sections 7.2.3 and 7.2.4); C{Role.NONE} asks for someone
        not in the room. They do if any feature says so.

        @return: a boolean.
        """

    def showsPresence(room, config, role):
        """
        Whether, under C{config} (the room's configuration, current or
        about to be), other occupants receive the presence of occupants
        with C{role} (XEP-0045 section 10.2,
        C{muc#roomconfig_presencebroadcast}); an occupant always receives
        its own. They do unless a feature says no.

        @return: a boolean.
        """

    def checkInvite(room, inviter):
        """
        Check that an occupant may send a mediated invitation (XEP-0045
        sections 7.8.2 and 9.5).

        @param inviter: the inviting C{Occupant}.
        @raise mepserver.errors.Refusal: it may not.
        """

    def invited(room, invitee):
        """
        An occupant invites C{invitee} (XEP-0045 section 7.8.2): the option
        may change the room for it (a members-only room makes the invitee a
        member).

        @param invitee: the invitee's bare JID.
        @return: whether the room's durable state changed.
        """

    def invitationPassword(room):
        """
        @return: the password an invitation carries (XEP-0045 section
            7.8.2), or L{None}; the first feature with one decides.
        """

    def checkRegistration(room, affiliation):
        """
        Check that a user with C{affiliation} may register with the room
        (XEP-0045 section 7.10).

        @raise mepserver.errors.Refusal: they may not.
        """

    def checkArchiveReader(room, affiliation, present):
        """
        Check that a user with C{affiliation} may read the room's message
        archive (XEP-0313 section 7.1.2: whoever has the right to enter
        it; in a members-only room, its members, admins and owners).
        Outcasts never may, whatever the options say.

        @param present: whether the requesting session is in the room.

        @raise mepserver.errors.Refusal: they may not.
        """

    def invitesOnAffiliation(room, previous, affiliation):
        """
        Whether a user who is not in the room and whose affiliation changed
        from C{previous} to C{affiliation} is invited (XEP-0045 section
        9.5: a new member of a members-only room).

        @return: a boolean; the room invites if any feature says so.
        """

    def affiliationRemoval(room, affiliation):
        """
        Whether an occupant whose affiliation became C{affiliation} must
        leave (XEP-0045 section 9.4).

        @return: the C{Status} to remove it with (321), or L{None} to let
            it stay as far as this option goes.
        """

    def configRemoval(room, affiliation):
        """
        Whether an occupant with C{affiliation} must leave the room once a
        new configuration is current (XEP-0045 section 10.2).

        @return: the C{Status} to remove it with (322), or L{None}.
        """

    def demotedAffiliation(room, config):
        """
        The affiliation of someone a submitted admin or owner list leaves
        out (XEP-0045 sections 10.2 and 10.7), under the new C{config}.

        @return: a C{Affiliation}, or L{None} to leave it to the next
            feature and finally C{Affiliation.NONE}.
        """


class IRoomObserver(Interface):
    """
    Something that follows the MUC service's room registry
    (L{mepserver.muc.registry.Rooms}): the MEP service, whose state per
    room follows the rooms'.

    Observers must not raise; a failure is logged.
    """

    def roomCreated(room):
        """
        A new room was made (XEP-0045 section 10.1).
        """

    def roomDiscarded(room):
        """
        A room was destroyed, or emptied while temporary.
        """

    def roomsReset():
        """
        Every room was forgotten at once (test fixtures).
        """


class IOccupantObserver(Interface):
    """
    Something that follows the sessions of room occupants as the MUC
    handler (L{mepserver.muc.handler.MUCHandler}) processes them: the MEP
    service learns occupants' caps and interests from here.

    Observers must not raise; a failure is logged.
    """

    def sessionEntered(room, occupant, session, presence):
        """
        A session entered the room (or re-joined) and got the whole join
        sequence (XEP-0045 section 7.2).
        """

    def presenceChanged(room, occupant, session, presence):
        """
        An occupant's session sent new presence (section 7.7).
        """

    def nickChanged(room, occupant, oldNick, session, presence):
        """
        An occupant changed its nick (section 7.6).
        """

    def sessionDeparted(room, departure):
        """
        A session left or was removed; C{departure} is the
        L{mepserver.muc.records.Departure}.
        """


class IRoomEvents(Interface):
    """
    Where a room's events go (DESIGN.md section 6, MEP OQ-8): the MEP
    service publishes them as the room.
    """

    def generateEvent(room, nodeIdentifier, payload, itemIdentifier=None):
        """
        Publish C{payload} to the room's node C{nodeIdentifier}.

        @return: a Deferred firing with the item id.
        """


class IOccupantServices(Interface):
    """
    What claims IQs to occupant JIDs that the MUC service must not forward
    to the occupant's client (MEP OQ-5: pubsub, and disco of MEP nodes).
    """

    def handlesOccupantIQ(room, sender, occupantJID, kind, payload):
        """
        @return: C{True} if the IQ was taken (and answered).
        """


class IPrivateData(Interface):
    """
    Private XML (XEP-0049) of one qualified name that a feature keeps
    somewhere other than the user store: legacy bookmarks
    (C{storage:bookmarks}), which L{mepserver.c2s.bookmarks} computes from
    the account's PEP Native Bookmarks (XEP-0402 section 5).
    """

    namespace = Attribute("The namespace of the root element, a str.")
    name = Attribute("The local name of the root element, a str.")
    accountFeatures = Attribute(
        "The features it adds to the account's disco#info, strs."
    )

    def getPrivate(owner):
        """
        @param owner: the account's bare JID.
        @return: a Deferred firing with the element to answer with.
        """

    def setPrivate(sender, element):
        """
        Store C{element} for the account of C{sender} (a full JID).

        @return: a Deferred, failing with a L{mepserver.errors.Refusal}.
        """


# Message archives (XEP-0313) ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArchivedMessage:
    """
    One message of an archive (XEP-0313 section 2).

    @ivar id: its archive UID, the XEP-0359 stanza-id it carried live:
        unpredictable, unique within its archive and never reused (section
        7.3: the caller makes it, the store refuses a duplicate).
    @ivar timestamp: when it was sent or received, in seconds since the
        epoch.
    @ivar with_: the JID it is matched against by a query's C{with} field
        (section 4.1.1), as a string: in a user archive the other party's
        full JID (the account's own for a message to itself); in a room
        archive the real JID of the occupant who sent it, or C{""} if
        unknown.
    @ivar stanza: the message as XML text, as stored (a tombstone after a
        retraction, XEP-0425).
    """

    id: str
    timestamp: float
    with_: str
    stanza: str


@dataclasses.dataclass(frozen=True)
class ArchiveQuery:
    """
    Which messages of an archive a query asks for (XEP-0313 section 4) and
    which page of them (XEP-0059).

    Filters (each C{None} when absent; together they select the result
    set): C{with_} (a bare JID matches every resource of it, a full JID
    only itself), C{start} and C{end} (inclusive, seconds since the
    epoch), C{afterId} and C{beforeId} (exclusive, archive UIDs), C{ids}
    (only these UIDs).

    Paging within the result set (XEP-0059 section 2): C{after} (the page
    after this UID), C{before} (the page before this UID, or the last page
    for C{""}), at most C{max} messages.
    """

    with_: Optional[str] = None
    start: Optional[float] = None
    end: Optional[float] = None
    afterId: Optional[str] = None
    beforeId: Optional[str] = None
    ids: Optional[Tuple[str, ...]] = None
    after: Optional[str] = None
    before: Optional[str] = None
    max: int = 50


@dataclasses.dataclass(frozen=True)
class ArchivePage:
    """
    One page of a query's result set.

    @ivar messages: the page's L{ArchivedMessage}s in chronological order.
    @ivar complete: C{True} if the page reaches the end of the result set
        in the direction of paging (XEP-0313 section 4.3.2): the last
        message when paging forwards, the first when paging back with
        C{before}.
    @ivar count: how many messages the whole result set holds (XEP-0059
        section 2.6).
    @ivar index: the position of the page's first message in the result
        set, counted from 0 (XEP-0059 section 2.6), C{None} for an empty
        page.
    """

    messages: Tuple[ArchivedMessage, ...]
    complete: bool
    count: int
    index: Optional[int]


@dataclasses.dataclass(frozen=True)
class ArchivePrefs:
    """
    An archive's preferences (XEP-0441 section 3).

    @ivar default: C{"always"}, C{"never"} or C{"roster"}.
    @ivar always: bare JIDs whose messages are always archived.
    @ivar never: bare JIDs whose messages are never archived.
    """

    default: str = "always"
    always: Tuple[str, ...] = ()
    never: Tuple[str, ...] = ()


class UnknownArchiveID(Exception):
    """
    A query names a UID (in C{after}, C{before}, C{afterId}, C{beforeId}
    or C{ids}) that the archive does not hold (XEP-0313 sections 4.1.3 and
    4.3.2: C{item-not-found}).
    """


class DuplicateArchiveID(Exception):
    """
    The archive holds a message with that UID already.
    """


class IArchiveStore(Interface):
    """
    Message archives (XEP-0313), of accounts and of rooms alike, each named
    by its address: an account's or a room's bare JID, as a string.

    Order within an archive is the order messages were added (section 2.1),
    whatever their timestamps.
    """

    def archiveMessage(archive, message, limit):
        """
        Add C{message} at the end of C{archive}; if the archive then holds
        more than C{limit} messages, drop its oldest (section 2.2 allows
        discarding the oldest; never a gap).

        @param message: an L{ArchivedMessage}.
        @param limit: the most messages the archive keeps, at least 1, or
            C{None} for no limit.
        @return: a Deferred firing once stored, failing with
            L{DuplicateArchiveID} if the archive holds that UID already.
        """

    def queryArchive(archive, query):
        """
        @param query: an L{ArchiveQuery}.
        @return: a Deferred firing with an L{ArchivePage} (an empty one for
            an unknown archive), failing with L{UnknownArchiveID} if the
            query names a UID the archive does not hold.
        """

    def getArchivedMessage(archive, id):
        """
        @return: a Deferred firing with the L{ArchivedMessage} of that UID,
            or C{None}.
        """

    def replaceArchivedMessage(archive, id, stanza):
        """
        Replace the stored stanza of one message, keeping its UID,
        timestamp and C{with_} (section 2.2: a tombstone after a
        retraction).

        @return: a Deferred firing with C{True}, or C{False} if the archive
            does not hold that UID.
        """

    def removeArchive(archive):
        """
        Forget an archive's messages and preferences (its account or room
        is gone).

        @return: a Deferred.
        """

    def expireArchives(before):
        """
        Drop the messages, in every archive, whose timestamp is earlier
        than C{before} (seconds since the epoch): the retention period.
        Only the oldest go (XEP-0313 section 2.2: never a gap), so a
        message that follows a newer one in archive order stays.

        @return: a Deferred firing with the number of messages dropped.
        """

    def getArchivePrefs(archive):
        """
        @return: a Deferred firing with the archive's L{ArchivePrefs}, or
            C{None} if none were ever set.
        """

    def setArchivePrefs(archive, prefs):
        """
        @param prefs: an L{ArchivePrefs}.
        @return: a Deferred.
        """
