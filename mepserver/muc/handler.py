# -*- test-case-name: tests.test_muc_handler -*-
"""
The MUC service's protocol handler (XEP-0045): a thin adapter between the
stanzas the router brings to the MUC domain and the room model
(L{mepserver.muc.room} and its sibling modules).

It implements the occupant use cases of section 7 (entering, presence,
nick changes, leaving, groupchat, private messages, mediated invitations
and declines, registration and reserved nicks, voice requests), the
moderator use cases of section 8 (subject, kicks, voice and its approval,
the voice list), the admin use cases of section 9 (bans, members,
moderators and their lists), the owner use cases of section 10 (instant
and reserved room creation and configuration, owners and admins and their
lists, destruction), discovery
(section 6), removal at service shutdown (11.2), IQs through occupant JIDs
(17.4, DESIGN.md section 5), ghost removal (18.1.2), XEP-0359 stanza-ids,
XEP-0421 occupant-ids and XEP-0410 self-pings; rooms' message archives
(XEP-0313) and message moderation (XEP-0425), with
L{mepserver.muc.archive}.

Order: a message a room archives is broadcast once its archive entry is
written (so what occupants got survives a crash of the server); while it
waits, the room's later stanzas (presence, messages, and the IQs this
handler answers for the room) wait behind it under the room's lock, so
nothing overtakes it. With a store that writes at once (memory), nothing
ever waits.
"""

from __future__ import annotations

import collections
from typing import Callable, Iterable, List, Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid, xmlstream
from twisted.words.xish import domish
from wokkel import disco
from wokkel.disco import NS_DISCO_ITEMS
from wokkel.iwokkel import IDisco
from wokkel.muc import NS_MUC_OWNER
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mepserver import errors, jids
from mepserver.interfaces import IOccupantObserver, IOccupantServices
from mepserver.locks import KeyedLocks
from mepserver.mam.query import NS_MAM
from mepserver.muc import stanzas
from mepserver.muc.archive import (
    isArchivable,
    isModeration,
    moderationMessage,
    parseModeration,
)
from mepserver.muc.features.base import parseBoolean
from mepserver.muc.nicks import checkJID, enforceNick
from mepserver.muc.records import AdminChange, AffiliationNotice, Departure, OccupantUpdate, Status
from mepserver.muc.registry import Rooms
from mepserver.muc.roles import Role
from mepserver.muc.room import Occupant, Room
from mepserver.namespaces import NS_VCARD
from mepserver.router import sendEach, sendMany
from mepserver.stanza import Broadcast, copyStanza
from mepserver.muc.stanzas import (
    NODE_ROOMUSER,
    NS_CLIENT,
    NS_DATA,
    NS_DISCO_INFO,
    NS_MUC_ADMIN,
    NS_MUC_REGISTER,
    NS_MUC_REQUEST,
    NS_MUC_ROOMCONFIG,
    NS_MUC_ROOMINFO,
    NS_MUC_TRAFFIC,
    NS_MUC_USER,
    NS_PING,
    NS_REGISTER,
    Item,
    child,
)

log = Logger()

#: How many rooms' subject messages L{MUCHandler.subjects} keeps
#: serialized (about 1.5 kB each).
SUBJECTS_SIZE = 256

#: The service's disco#info features (XEP-0045 section 6.2). Occupant-ids
#: are on in every room, so the service says so too (XEP-0421 section 4).
SERVICE_FEATURES = (
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/muc#stable_id",
    "urn:xmpp:occupant-id:0",
    NS_DISCO_INFO,
    NS_DISCO_ITEMS,
    NS_PING,
)


def _jid(value: Optional[str]) -> Optional[jid.JID]:
    if value is None:
        return None
    try:
        return jid.internJID(value)
    except jid.InvalidFormat:
        return None


@implementer(IDisco)
class MUCHandler(xmlstream.XMPPHandler):
    """
    Rooms and occupants of the MUC domain.

    Observes every presence, message and IQ the router brings to the
    domain. IQs it observes before the disco and fallback handlers: those
    to occupant JIDs (forwarded, or answered for a self-ping), admin and
    owner queries (C{muc#admin}, C{muc#owner}), pings, and any request to
    a room that does not exist, registration (C{jabber:iq:register}),
    reserved nicks (disco node C{x-roomuser-item}), archive queries and
    metadata (C{urn:xmpp:mam:2}) and moderation (XEP-0425 C{<moderate/>},
    or its version 0.2 C{<apply-to/>}); it answers disco for
    the service and the rooms (L{IDisco}). Normal messages to a room carry
    invitations, declines (C{muc#user}) and voice requests and approvals
    (C{muc#request} forms).

    Errors returned: C{jid-malformed} (join without nick; a nick the
    Nickname profile refuses, RFC 8266, in a join, nick change,
    registration, admin item or occupant JID; a JID part over 1023 bytes,
    RFC 7622 section 3), C{not-authorized}
    (password), C{registration-required} (members-only), C{forbidden}
    (banned; a visitor's groupchat; a forbidden subject change, private
    message or invitation; a non-owner configuring; a role or affiliation
    change or list beyond the requester's role or affiliation),
    C{not-allowed} (a change the target's affiliation protects it from;
    registration by an outcast or a non-member of a members-only room),
    C{item-not-found} (no such or a locked room; no such occupant),
    C{conflict} (nick taken or reserved; an admin banning itself; the last
    owner removed), C{service-unavailable} (room full; a message to the
    service), C{not-acceptable} (a non-occupant's message or IQ to an
    occupant, invitation or voice request; an unacceptable configuration),
    C{bad-request} (a groupchat private message; a non-occupant's disco to
    an occupant; a bad form or admin item; another message type),
    C{jid-malformed} (a malformed JID in an admin item, invitation or
    decline); for archives (XEP-0313) C{service-unavailable} (a room that
    keeps none), C{forbidden} (an outcast; a non-member of a members-only
    room; a C{with} filter from someone who may not see real JIDs) and the
    refusals of L{mepserver.mam.query}; for moderation (XEP-0425)
    C{forbidden} (not a moderator), C{item-not-found} (no such message),
    C{bad-request} (no id) and C{feature-not-implemented} (not a
    retraction).

    @ivar rooms: the L{Rooms} registry.
    @ivar name: the service's name in disco.
    @ivar observers: the L{IOccupantObserver}s told of sessions entering,
        their presence updates, nick changes and departures: the MEP
        handler (L{mepserver.mep.handler.MEPHandler}) follows occupants'
        caps from here.
    @ivar occupantServices: an L{IOccupantServices} that claims IQs to
        occupant JIDs that are not to be forwarded (MEP OQ-5: pubsub, and
        disco of MEP nodes), or L{None}.
    @ivar archives: the L{mepserver.muc.archive.RoomArchives}, or L{None}
        for a service that archives nothing.
    @ivar locks: the rooms' L{KeyedLocks}, by bare room JID (the module
        says what waits).
    @ivar subjects: the subject messages newcomers get
        (L{subjectMessage}), serialized once: the last L{SUBJECTS_SIZE},
        under what each is made of.
    """

    def __init__(
        self,
        rooms: Rooms,
        name: str = "Chatrooms",
        observers: Iterable[IOccupantObserver] = (),
        occupantServices: Optional[IOccupantServices] = None,
        archives=None,
    ):
        xmlstream.XMPPHandler.__init__(self)
        self.rooms = rooms
        self.archives = archives
        self.locks = KeyedLocks()
        self.name = name
        for observer in observers:
            verifyObject(IOccupantObserver, observer)
        self.observers: List[IOccupantObserver] = list(observers)
        if occupantServices is not None:
            verifyObject(IOccupantServices, occupantServices)
        self.occupantServices = occupantServices
        self.subjects: "collections.OrderedDict[tuple, Broadcast]" = collections.OrderedDict()

    def tell(self, what: str, call: Callable[[IOccupantObserver], None]) -> None:
        """
        Call C{call} with every observer; one that fails is logged.
        """
        for observer in self.observers:
            try:
                call(observer)
            except Exception:
                log.failure("MUC observer failed on {what}", what=what)

    def inOrder(self, to: jid.JID, process: Callable, stanza: domish.Element, copy: bool = True) -> None:
        """
        Process a stanza for the room of C{to} now, or, while the room's
        lock is held, once the room's earlier stanzas are done. A
        Deferred that C{process} returns holds the lock until it fires.

        @param copy: whether to queue a copy of the stanza: a broadcaster
            sends one element to every recipient in turn, changing only
            C{to} (DESIGN.md section 9).
        """
        key = to.userhostJID()
        if self.locks.busy(key):
            if copy:
                stanza = copyStanza(stanza)
            self.locks.run(key, process, stanza)
            return
        result = process(stanza)
        if isinstance(result, defer.Deferred) and not result.called:
            self.locks.run(key, lambda: result)

    def connectionInitialized(self):
        self.xmlstream.addObserver("/presence", self.onPresence)
        self.xmlstream.addObserver("/message", self.onMessage)
        # Before DiscoHandler (0) and FallbackHandler (-1).
        self.xmlstream.addObserver("/iq", self.onIQ, 1)

    # Sending.

    def sendTo(self, element: domish.Element, recipient: jid.JID) -> None:
        """
        Send C{element} to one recipient, changing only its C{to}.

        A broadcast sends one element to every recipient in turn (DESIGN.md
        section 9): each send serializes it at once, so changing C{to}
        afterwards is safe. Delivery marks a stanza handled; the mark is
        cleared so that the next recipient's delivery sees a fresh stanza.
        """
        element["to"] = recipient.full()
        element.handled = False
        self.send(element)

    def sendToMany(self, element: domish.Element, recipients: List[jid.JID]) -> None:
        """
        Send a copy of C{element} to each recipient, in order, in one call
        to the router where it takes one: it delivers to the client
        domain's sessions in bulk (L{mepserver.router.sendMany}).

        A plain element (not a L{Broadcast}) for one recipient is sent as
        it is (L{mepserver.router.sendEach}): text made to be spliced pays
        only from two recipients on, and in small rooms a presence often
        has one (the leaving occupant's own, say).
        """
        if not recipients:
            return
        if not isinstance(element, Broadcast):
            if len(recipients) == 1:
                sendEach(self, [element], recipients[0])
                return
            element = Broadcast(element)
        sendMany(self, element, recipients)

    def refuse(self, stanza: domish.Element, refusal: errors.Refusal, by: Optional[jid.JID]) -> None:
        """
        Answer a message or IQ with the error for C{refusal}.
        """
        reply = stanzas.errorReply(stanza, refusal, by)
        if reply is not None:
            self.send(reply)

    def broadcastPresence(
        self,
        room: Room,
        occupant: Occupant,
        payload: Optional[domish.Element],
        kind: Optional[str] = None,
        statuses: Iterable[Status] = (),
        session: Optional[jid.JID] = None,
        sender: Optional[jid.JID] = None,
        nick: Optional[str] = None,
        selfSessions: Optional[Iterable[jid.JID]] = None,
        reason: Optional[str] = None,
        actor: Optional[str] = None,
        visible: Optional[bool] = None,
        role: Optional[str] = None,
        selfStatuses: Iterable[Status] = (),
    ) -> None:
        """
        Send an occupant's presence to the room (sections 7.2.2, 7.6, 7.7,
        7.14, 8.2-9.7).

        Others get the real JID if they may see it (L{Room.canSeeRealJIDs});
        the occupant's own sessions get it with 110. At most three elements
        are built, whatever the number of recipients.

        @param session: the real JID to show; the occupant's shown session
            if L{None}.
        @param sender: the occupant JID it comes from; the current one if
            L{None}.
        @param nick: the item's C{nick} (the new nick, with 303).
        @param selfSessions: the occupant's sessions to tell, with 110; all
            its sessions if L{None}.
        @param reason: the item's C{<reason/>}.
        @param actor: the nick of the item's C{<actor/>}.
        @param visible: whether others get it; by default, whether the
            room broadcasts the presence of the occupant's role
            (C{muc#roomconfig_presencebroadcast}).
        @param role: the item's role; the occupant's if L{None}.
        @param selfStatuses: status codes for the occupant's own sessions
            only (210, sections 7.2.2 and 7.6).
        """
        statuses = frozenset(statuses)
        ownStatuses = statuses | {Status.SELF} | frozenset(selfStatuses)
        sender = sender if sender is not None else occupant.jid
        session = session if session is not None else occupant.shownJID
        affiliation = occupant.affiliation.value
        if role is None:
            role = occupant.role.value
        if visible is None:
            visible = room.showsPresenceOf(occupant.role)

        def build(withJID, own):
            item = Item(affiliation, role, session if withJID else None, nick, reason, actor)
            return stanzas.occupantPresence(
                payload, sender, item, ownStatuses if own else statuses,
                occupant.occupantId, kind,
            )

        # Who sees real JIDs depends on the role: asked once per role.
        sees = {}
        withJID, without = [], []
        for other in list(room.occupants.values()) if visible else ():
            if other is occupant:
                continue
            seesJIDs = sees.get(other.role)
            if seesJIDs is None:
                seesJIDs = sees[other.role] = room.canSeeRealJIDs(other)
            if seesJIDs or other.realJID == occupant.realJID:
                withJID.extend(other.sessionJIDs)
            else:
                without.extend(other.sessionJIDs)
        # Each element to all its recipients in one call; the occupant's
        # own sessions last: on entering, the self-presence ends the room
        # roster the newcomer is sent (section 7.2.2).
        if withJID:
            self.sendToMany(build(True, False), withJID)
        if without:
            self.sendToMany(build(False, False), without)
        if selfSessions is None:
            selfSessions = occupant.sessionJIDs
        selfSessions = list(selfSessions)
        if selfSessions:
            self.sendToMany(build(True, True), selfSessions)

    def broadcast(self, room: Room, element: domish.Element) -> None:
        """
        Send one element to every session of every occupant (section 7.4),
        serialized once (L{Broadcast}).
        """
        self.sendToMany(Broadcast(element), room.sessions())

    # Presence (sections 7.2, 7.6, 7.7, 7.14, 17.3).

    def onPresence(self, presence: domish.Element) -> None:
        """
        Presence to a room or occupant JID: join, presence update, nick
        change or leave; an error from an occupant's real JID removes it.
        """
        to = _jid(presence.getAttribute("to"))
        if to is None or to.user is None:
            return
        self.inOrder(to, self.processPresence, presence)

    def processPresence(self, presence: domish.Element) -> None:
        """
        L{onPresence}, in the room's order.
        """
        sender, to = _jid(presence.getAttribute("from")), _jid(presence.getAttribute("to"))
        if sender is None or to is None or to.user is None:
            return
        kind = presence.getAttribute("type")
        room = self.rooms.get(to)
        if kind == "error":
            if room is not None:
                self.removeGhost(room, sender)
            return
        if kind not in (None, "unavailable"):
            # Section 17.3, rules 1, 2 and 4: probes and subscription
            # stanzas neither join nor leave.
            return
        occupant = room.occupantOf(sender) if room is not None else None
        if kind == "unavailable":
            # Rule 5: ignored from non-occupants. Whatever nick it names,
            # it is this session leaving (a disconnecting client's server
            # sends it to every occupant JID the session ever used).
            if occupant is not None:
                self.leave(room, sender, stanzas.presencePayload(presence))
            return
        try:
            # RFC 7622 section 3: the room's localpart; the nick, the
            # resourcepart, is checked as a nick (enforceNick).
            checkJID(to.userhostJID())
        except errors.Refusal as refusal:
            self.send(stanzas.errorPresence(presence, refusal, to, to.userhostJID()))
            return
        nick = to.resource
        if nick is None:
            if occupant is None:
                self.send(stanzas.errorPresence(
                    presence,
                    errors.NoNickname("to enter a room, send presence to room@service/nick"),
                    to, to,
                ))
                return
            # Presence to the bare room JID from an occupant: an update
            # (some clients do this; Prosody accepts it too).
            nick = occupant.nick
        if occupant is None:
            self.join(room, sender, to, nick, presence)
        elif not self._isNickOf(occupant, nick):
            self.changeNick(room, sender, to, nick, presence)
        elif stanzas.parseJoin(presence) is not None:
            self.resync(room, sender, presence)
        else:
            self.updatePresence(room, sender, presence)

    @staticmethod
    def _isNickOf(occupant: Occupant, nick: str) -> bool:
        """
        Whether C{nick} is the occupant's nick once enforced (RFC 8266
        section 2.3): presence to C{room/Witch } is presence to
        C{room/Witch}, not a nick change.
        """
        if nick == occupant.nick:
            return True
        try:
            return enforceNick(nick) == occupant.nick
        except errors.Refusal:
            return False

    def join(self, room: Optional[Room], sender: jid.JID, to: jid.JID, nick: str, presence) -> None:
        """
        A non-occupant enters, creating the room if needed (sections 7.2,
        10.1.1).
        """
        roomJID = to.userhostJID()
        occupantJID = jids.occupantJID(to, nick)
        request = stanzas.parseJoin(presence)
        if request is None:
            # Section 7.2.18: groupchat 1.0 presence from a non-occupant.
            self.send(stanzas.gc1Kick(occupantJID, sender))
            return
        created = None
        try:
            if room is None:
                # A nick the room would refuse creates no room.
                enforceNick(nick)
                room = created = self.rooms.create(roomJID, sender)
            joined = room.join(sender, nick, stanzas.presencePayload(presence), request.password)
        except errors.Refusal as refusal:
            if created is not None:
                self.rooms.discard(created)
            self.send(stanzas.errorPresence(presence, refusal, occupantJID, roomJID))
            return
        if joined.newOccupant:
            # The others learn of the newcomer; the nick's other sessions
            # (several sessions, one nick) changed nothing they see.
            self.broadcastPresence(room, joined.occupant, joined.occupant.presence, selfSessions=())
        self.sendEntry(room, joined.occupant, sender, joined.statuses, request.history)
        self.tell(
            "sessionEntered", lambda o: o.sessionEntered(room, joined.occupant, sender, presence)
        )

    def resync(self, room: Room, sender: jid.JID, presence) -> None:
        """
        A join from a session already in the room (sections 7.2.1, 17.3
        rule 3): the others get the presence update, the session the whole
        entry sequence again.
        """
        occupant = room.updatePresence(sender, stanzas.presencePayload(presence))
        self.broadcastPresence(room, occupant, occupant.presence, selfSessions=())
        request = stanzas.parseJoin(presence)
        self.sendEntry(room, occupant, sender, room.entryStatuses(), request.history)
        self.tell(
            "sessionEntered", lambda o: o.sessionEntered(room, occupant, sender, presence)
        )

    def sendEntry(self, room: Room, occupant: Occupant, session: jid.JID, statuses, history) -> None:
        """
        What a joining session receives, in the order of section 7.1:
        the other occupants' presence, its self-presence, the history and
        the subject.
        """
        sees = room.canSeeRealJIDs(occupant)

        def entry():
            # Asked once per role, not once per occupant: each answer asks
            # every feature of the room.
            shown = {}
            for other in list(room.occupants.values()):
                if other is occupant:
                    continue
                visible = shown.get(other.role)
                if visible is None:
                    visible = shown[other.role] = room.showsPresenceOf(other.role)
                if not visible:
                    continue
                withJID = sees or other.realJID == occupant.realJID
                item = Item(other.affiliation.value, other.role.value,
                            other.shownJID if withJID else None)
                yield stanzas.occupantPresence(
                    other.presence, other.jid, item, (), other.occupantId
                )
            item = Item(occupant.affiliation.value, occupant.role.value, session)
            yield stanzas.occupantPresence(
                occupant.sessions[session], occupant.jid, item, statuses, occupant.occupantId
            )
            for past in room.historyFor(history):
                yield stanzas.delayed(past.payload, past.stamp, room.jid)
            yield self.subjectMessage(room)

        # In one call to the router, which delivers them to the client
        # domain's session in order without a dispatch each; built one at
        # a time, each sent before the next is built (sendEach).
        sendEach(self, entry(), session)

    def subjectMessage(self, room: Room) -> domish.Element:
        """
        The current subject, as sent after the history (section 7.2.15),
        with a fresh id.

        Each newcomer gets it, the same but for C{to} and the id: it is
        serialized once (L{Broadcast}) and kept in L{subjects} under what
        it is made of (the room, the subject, who set it and when), so a
        new subject makes a new one and nothing is invalidated.

        Occupants' presences, which newcomers get too, are built for each
        newcomer: keeping them (a few hundred short-lived elements in a
        busy server) left the allocator's memory fragmented, about a
        kilobyte per occupant of large rooms for a gain of 1% of a join.
        """
        if room.subjectBy:
            sender = jids.occupantJID(room.jid, room.subjectBy)
        else:
            sender = room.jid
        occupantId = None
        if room.subjectSetter is not None:
            occupantId = room.occupantIdOf(room.subjectSetter)
        key = (room.jid, sender, room.subject, room.subjectStamp, occupantId)
        element = self.subjects.get(key)
        if element is None:
            element = self.subjects[key] = Broadcast(
                stanzas.subjectMessage(
                    room.jid, sender, room.subject, "", room.subjectStamp, occupantId
                ),
                varying=("to", "id"),
            )
            while len(self.subjects) > SUBJECTS_SIZE:
                self.subjects.popitem(last=False)
        else:
            self.subjects.move_to_end(key)
        element["id"] = room.ids.newId()
        return element

    def updatePresence(self, room: Room, sender: jid.JID, presence) -> None:
        """
        An occupant's new availability status (section 7.7), to everyone.
        """
        occupant = room.updatePresence(sender, stanzas.presencePayload(presence))
        self.broadcastPresence(room, occupant, occupant.presence)
        self.tell(
            "presenceChanged", lambda o: o.presenceChanged(room, occupant, sender, presence)
        )

    def changeNick(self, room: Room, sender: jid.JID, to: jid.JID, nick: str, presence) -> None:
        """
        Section 7.6: unavailable from the old nick with the new nick and
        303, then available from the new nick; the occupant's own sessions
        get both with 110, and 210 if the room changed the nick asked for
        (L{enforceNick}). A refusal comes from the occupant JID asked for.
        """
        try:
            change = room.changeNick(sender, nick, stanzas.presencePayload(presence))
        except errors.Refusal as refusal:
            requested = jids.occupantJID(to, nick)
            self.send(stanzas.errorPresence(presence, refusal, requested, room.jid))
            return
        occupant = change.occupant
        self.broadcastPresence(
            room, occupant, None, kind="unavailable", statuses=[Status.NEW_NICK],
            sender=jids.occupantJID(room.jid, change.oldNick),
            nick=occupant.nick,
        )
        self.broadcastPresence(
            room, occupant, occupant.presence,
            selfStatuses=[Status.NICK_ASSIGNED] if change.modified else (),
        )
        self.tell(
            "nickChanged",
            lambda o: o.nickChanged(room, occupant, change.oldNick, sender, presence),
        )

    def leave(self, room: Room, session: jid.JID, payload=None, statuses: Iterable[Status] = ()) -> None:
        """
        A session leaves, or is removed with C{statuses} (section 7.14).
        """
        departure = room.leave(session, payload, statuses)
        if departure is not None:
            self.announceDeparture(room, departure)
        self.rooms.vacate(room)

    def announceDeparture(self, room: Room, departure: Departure) -> None:
        """
        Tell the room a session left: everyone if the occupant left, only
        the session if others keep its nick.
        """
        self.tell("sessionDeparted", lambda o: o.sessionDeparted(room, departure))
        occupant = departure.occupant
        if departure.lastSession:
            self.broadcastPresence(
                room, occupant, departure.payload, kind="unavailable",
                statuses=departure.statuses, session=departure.session,
                selfSessions=[departure.session],
                visible=room.showsPresenceOf(departure.previousRole),
            )
            return
        item = Item(occupant.affiliation.value, "none", departure.session)
        self.sendTo(
            stanzas.occupantPresence(
                departure.payload, occupant.jid, item,
                departure.statuses | {Status.SELF}, occupant.occupantId, "unavailable",
            ),
            departure.session,
        )
        if departure.shownChanged:
            self.broadcastPresence(room, occupant, occupant.presence, selfSessions=())

    def removeGhost(self, room: Room, session: jid.JID) -> None:
        """
        An error from an occupant's real JID shows it is gone (section
        18.1.2): it leaves with 333 (section 11.1).
        """
        if room.occupantOf(session) is not None:
            self.leave(room, session, None, [Status.ERROR])

    # Messages (sections 7.4, 7.5, 8.1, 17.2).

    def onMessage(self, message: domish.Element) -> None:
        """
        A message to the service, a room or an occupant JID.
        """
        to = _jid(message.getAttribute("to"))
        if to is None:
            return
        self.inOrder(to, self.processMessage, message)

    def processMessage(self, message: domish.Element) -> Optional[defer.Deferred]:
        """
        L{onMessage}, in the room's order.

        @return: a Deferred while a message waits for its archive entry.
        """
        sender, to = _jid(message.getAttribute("from")), _jid(message.getAttribute("to"))
        if sender is None or to is None:
            return None
        kind = message.getAttribute("type", "normal")
        if kind != "error":
            try:
                checkJID(to)
            except errors.Refusal as refusal:
                self.refuse(message, refusal, to.userhostJID())
                return
        if to.user is None:
            self.refuse(message, errors.ServiceUnavailable(
                "the chat service takes no messages; send them to a room"), to)
            return
        room = self.rooms.get(to)
        if kind == "error":
            if room is not None and stanzas.isKickable(message):
                self.removeGhost(room, sender)
            return
        if room is None or not (room.existsFor(sender) or room.occupantOf(sender)):
            # Section 17.2, rule 3.
            self.refuse(message, errors.RoomNotFound("there is no such room"), to.userhostJID())
            return
        if to.resource is None:
            return self.roomMessage(room, sender, message, kind)
        self.privateMessage(room, sender, to.resource, message, kind)
        return None

    def roomMessage(self, room: Room, sender: jid.JID, message, kind: str) -> Optional[defer.Deferred]:
        """
        A message to the room itself: groupchat (section 7.4) or a subject
        change (8.1), each with a stanza-id and archived
        (L{archiveThenBroadcast}). Other types are refused (section 17.2,
        rule 1).

        @return: a Deferred while the message waits for its archive entry.
        """
        if kind != "groupchat":
            try:
                if kind != "normal" or not self.normalMessage(room, sender, message):
                    raise errors.BadRequest(
                        "messages to a room must be of type groupchat, or carry an "
                        "invitation, a decline or a voice request")
            except errors.Refusal as refusal:
                self.refuse(message, refusal, room.jid)
            return None
        subject = stanzas.subjectChange(message)
        try:
            if subject is not None:
                occupant = room.setSubject(sender, subject)
            else:
                occupant = room.groupchatSender(sender)
        except errors.Refusal as refusal:
            self.refuse(message, refusal, room.jid)
            return None
        messageId = message.getAttribute("id") or room.ids.newId()
        stanzaId = room.newStanzaId()
        if subject is not None:
            self.rooms.save(room)
            element = stanzas.subjectMessage(
                room.jid, occupant.jid, subject, messageId, None, occupant.occupantId,
                stanzaId,
            )
        else:
            element = stanzas.reflectedMessage(
                message, occupant.jid, room.jid, messageId, occupant.occupantId, stanzaId,
            )
            if stanzas.hasBody(message):
                # Measured only if a newcomer asks for maxchars (7.2.14).
                room.addHistory(element, lambda: len(element.toXml()), stanzaId)
        return self.archiveThenBroadcast(room, element, stanzaId, sender)

    def archiveThenBroadcast(
        self, room: Room, element: domish.Element, stanzaId: str, sender: Optional[jid.JID]
    ) -> Optional[defer.Deferred]:
        """
        Broadcast a groupchat message (section 7.4), once it is in the
        room's archive if the room keeps one and the message belongs there
        (XEP-0313 section 7.1.2, L{mepserver.muc.archive.isArchivable}),
        under its stanza-id.

        @param sender: the sender's real full JID, or L{None} for the
            room's own messages.
        @return: a Deferred firing once it is broadcast, if the store did
            not write at once; else L{None}, it was broadcast.
        """
        if self.archives is None or not room.config.archiving or not isArchivable(element):
            self.broadcast(room, element)
            return None
        written = self.archives.add(room, element, stanzaId, sender)
        if written.called:
            self.broadcast(room, element)
            return None
        return written.addCallback(lambda _: self.broadcast(room, element)).addErrback(
            lambda f: log.failure("Broadcasting in {room}", f, room=room.jid.full())
        )

    def normalMessage(self, room: Room, sender: jid.JID, message) -> bool:
        """
        A normal message to the room: mediated invitations (section 7.8.2),
        a decline (7.8.3), a voice request (7.13) or its approval (8.6).

        @return: whether it was one of these.
        @raise errors.Refusal: it was, and is refused.
        """
        user = child(message, NS_MUC_USER, "x")
        if user is not None:
            invites = list(user.elements(NS_MUC_USER, "invite"))
            if invites:
                self.invite(room, sender, message, invites)
                return True
            decline = child(user, NS_MUC_USER, "decline")
            if decline is not None:
                self.decline(room, sender, message, decline)
                return True
        data = child(message, NS_DATA, "x")
        if data is not None:
            submitted = stanzas.parseForm(data)
            if submitted.formType == NS_MUC_REQUEST:
                self.voiceForm(room, sender, submitted)
                return True
        return False

    def invite(self, room: Room, sender: jid.JID, message, invites) -> None:
        """
        Send each invitee the room's invitation (section 7.8.2), under the
        message's id.
        """
        invitees = []
        for element in invites:
            invitees.append((self._address(element), stanzas.reasonOf(element)))
        change = room.invite(sender, invitees)
        messageId = message.getAttribute("id") or room.ids.newId()
        for invitation in change.invitations:
            self.send(stanzas.invitationMessage(room.jid, invitation, messageId))
        if change.durable:
            self.rooms.save(room)

    def decline(self, room: Room, sender: jid.JID, message, decline) -> None:
        """
        Pass a declined invitation on to the inviter (section 7.8.3), from
        the decliner's bare JID.
        """
        inviter = self._address(decline)
        messageId = message.getAttribute("id") or room.ids.newId()
        for recipient in room.declineRecipients(inviter):
            self.send(stanzas.declineMessage(
                room.jid, recipient, sender.userhostJID(), stanzas.reasonOf(decline), messageId,
            ))

    @staticmethod
    def _address(element: domish.Element) -> jid.JID:
        """
        The C{to} of an C{<invite/>} or C{<decline/>}.

        @raise errors.BadRequest: there is none.
        @raise errors.MalformedJID: it is not a JID.
        """
        to = element.getAttribute("to")
        if not to:
            raise errors.BadRequest(f"<{element.name}/> needs a 'to' address")
        address = _jid(to)
        if address is None:
            raise errors.MalformedJID(f"{to!r} is not a JID")
        return address

    def voiceForm(self, room: Room, sender: jid.JID, submitted) -> None:
        """
        A C{muc#request} form: from a moderator, the approval of a voice
        request (section 8.6); from anyone else a request (7.13), passed on
        to the moderators as an approval form. As in Prosody, requests
        from occupants with voice and approvals that do not allow are
        ignored.
        """
        occupant = room.occupantOf(sender)
        if occupant is not None and occupant.role is Role.MODERATOR:
            if not parseBoolean(submitted.values, "muc#request_allow"):
                return
            nick = (submitted.values.get("muc#roomnick") or [None])[0]
            realJID = _jid((submitted.values.get("muc#jid") or [None])[0])
            self.announceChange(room, room.approveVoice(sender, nick, realJID))
            return
        request = room.requestVoice(sender)
        if request is None:
            return
        form = stanzas.voiceApproval(
            room.jid, request.session, request.occupant.nick, room.ids.newId()
        )
        for moderator in request.moderators:
            self.sendTo(form, moderator)

    def privateMessage(self, room: Room, sender: jid.JID, nick: str, message, kind: str) -> None:
        """
        A private message through an occupant JID (section 7.5).
        """
        try:
            if kind == "groupchat":
                if room.occupantOf(sender) is None:
                    raise errors.NotOccupant("you are not in this room")
                raise errors.BadRequest("a private message must not be of type groupchat")
            origin, recipient = room.privateMessage(sender, nick)
        except errors.Refusal as refusal:
            self.refuse(message, refusal, room.jid)
            return
        element = stanzas.privateMessage(message, origin.jid, origin.occupantId)
        for session in recipient.sessionJIDs:
            self.sendTo(element, session)

    # IQs (sections 6.6, 10, 17.4; XEP-0199, XEP-0410).

    def onIQ(self, iq: domish.Element) -> None:
        """
        IQs the MUC handler takes before disco and the fallback.
        """
        if iq.handled:
            return
        sender, to = _jid(iq.getAttribute("from")), _jid(iq.getAttribute("to"))
        if sender is None or to is None:
            return
        kind = iq.getAttribute("type")
        if kind in ("get", "set"):
            try:
                checkJID(to)
            except errors.Refusal as refusal:
                iq.handled = True
                self.refuse(iq, refusal, to.userhostJID())
                return
        payload = next(iq.elements(), None)
        isPing = kind == "get" and payload is not None and (payload.uri, payload.name) == (NS_PING, "ping")
        if to.user is None:
            if isPing:
                iq.handled = True
                self.send(stanzas.iqResult(iq))
            return
        room = self.rooms.get(to)
        if to.resource is not None:
            services = self.occupantServices
            if services is not None and services.handlesOccupantIQ(room, sender, to, kind, payload):
                # OQ-5: answered by the room's MEP service, not forwarded.
                return
            iq.handled = True
            self.occupantIQ(room, sender, to, iq, kind, payload, isPing)
            return
        if kind not in ("get", "set"):
            return
        if room is None or not room.existsFor(sender):
            iq.handled = True
            self.refuse(iq, errors.RoomNotFound("there is no such room"), to)
            return
        if self.roomRequest(kind, payload) is not None:
            iq.handled = True
            self.inOrder(to, self.processRoomIQ, iq)

    def roomRequest(self, kind: str, payload: Optional[domish.Element]) -> Optional[Callable]:
        """
        @return: the method that answers an IQ request to a room, or
            L{None} if others answer it (disco, MEP, the fallback).
        """
        if payload is None:
            return None
        name = (payload.uri, payload.name)
        if name == (NS_MUC_OWNER, "query"):
            return self.ownerIQ
        if name == (NS_MUC_ADMIN, "query"):
            return self.adminIQ
        if name == (NS_REGISTER, "query"):
            return self.registerIQ
        if kind == "get" and name == (NS_DISCO_INFO, "query") and payload.getAttribute("node") == NODE_ROOMUSER:
            # Section 7.12: answered here, since an empty answer is not
            # item-not-found (what wokkel's disco gives an empty node).
            return self.reservedNickIQ
        if kind == "get" and name == (NS_PING, "ping"):
            return self.pingIQ
        if self.archives is not None and payload.uri == NS_MAM and payload.name in ("query", "metadata"):
            return self.archiveIQ
        if kind == "set" and isModeration(payload):
            return self.moderateIQ
        return None

    def processRoomIQ(self, iq: domish.Element) -> Optional[defer.Deferred]:
        """
        An IQ request to a room that L{roomRequest} gives a method for, in
        the room's order (the room may be gone meanwhile).

        @return: a Deferred while the answer waits for the store.
        """
        sender, to = jid.internJID(iq["from"]), jid.internJID(iq["to"])
        room = self.rooms.get(to)
        if room is None or not room.existsFor(sender):
            self.refuse(iq, errors.RoomNotFound("there is no such room"), to)
            return None
        kind = iq["type"]
        payload = next(iq.elements())
        return self.roomRequest(kind, payload)(room, sender, iq, kind, payload)

    def reservedNickIQ(self, room: Room, sender: jid.JID, iq, kind: str, payload) -> None:
        """
        A user's reserved nick (section 7.12).
        """
        self.send(stanzas.reservedNick(iq, room.registeredNick(sender)))

    def pingIQ(self, room: Room, sender: jid.JID, iq, kind: str, payload) -> None:
        """
        A ping to the room (XEP-0199), answered.
        """
        self.send(stanzas.iqResult(iq))

    def archiveIQ(self, room: Room, sender: jid.JID, iq, kind: str, payload) -> defer.Deferred:
        """
        A query of the room's archive, its form or its metadata (XEP-0313
        sections 4, 5 and 7.1.2): the results, then the answer.
        """
        d = errors.answerIQ(
            iq, defer.ensureDeferred(self.archives.request(room, sender, iq, self.send))
        )
        return d.addCallback(self.send).addErrback(
            lambda f: log.failure("Answering {iq}", f, iq=iq.toXml())
        )

    def moderateIQ(self, room: Room, sender: jid.JID, iq, kind: str, payload) -> defer.Deferred:
        """
        A moderator retracts a message (XEP-0425): the effects, then the
        answer (L{moderate}).
        """
        d = errors.answerIQ(iq, defer.ensureDeferred(self.moderate(room, sender, payload)))
        return d.addCallback(self.send).addErrback(
            lambda f: log.failure("Answering {iq}", f, iq=iq.toXml())
        )

    async def moderate(self, room: Room, sender: jid.JID, payload) -> None:
        """
        Retract the message a moderator names (XEP-0425 section 3): in the
        archive a tombstone takes its place (section 4), newcomers no
        longer get it as history, and the room broadcasts the moderation
        message, archived too (XEP-0424 section 5).

        @raise errors.Forbidden: C{sender} is not a moderator.
        @raise errors.ItemNotFound: neither the archive nor the history
            holds a message with that stanza-id.
        @raise errors.Refusal: as L{mepserver.muc.archive.parseModeration}.
        """
        by = room.moderator(sender)
        request = parseModeration(payload)
        occupantId = room.occupantIdOf(sender)
        messageId, stanzaId = room.ids.newId(), room.newStanzaId()
        found = False
        if self.archives is not None:
            found = await self.archives.retract(
                room, request.id, messageId, by, occupantId, request.reason
            )
        if room.forgetHistory(request.id):
            found = True
        if not found:
            raise errors.ItemNotFound(
                f"this room has no message with the stanza-id {request.id!r}"
            )
        message = moderationMessage(
            room.jid, request.id, by, occupantId, request.reason, messageId, stanzaId
        )
        broadcast = self.archiveThenBroadcast(room, message, stanzaId, None)
        if broadcast is not None:
            await broadcast

    def occupantIQ(self, room, sender, to, iq, kind, payload, isPing) -> None:
        """
        An IQ to an occupant JID: a self-ping is answered (XEP-0410 3.3),
        any other request forwarded to the occupant's real JID with a new
        id, and the answer routed back under the original id (17.4); a
        vCard get goes to the occupant's real bare JID.
        """
        if kind in ("result", "error"):
            if room is None:
                return
            answered = room.answerIQ(sender, to.resource, iq.getAttribute("id", ""))
            if answered is not None:
                self.send(self._copyIQ(iq, answered.id, answered.sender, answered.recipient))
            return
        if kind not in ("get", "set"):
            return
        try:
            if room is None:
                raise errors.NotOccupant("you are not in this room")
            if isPing and room.isSelfPing(sender, to.resource):
                self.send(stanzas.iqResult(iq))
                return
            # A vCard request goes to the occupant's bare JID (XEP-0054
            # section 3.3), answered by its server, as in Prosody.
            vcard = kind == "get" and payload is not None and (payload.uri, payload.name) == (NS_VCARD, "vCard")
            forwarded = room.forwardIQ(sender, to.resource, iq.getAttribute("id", ""), bare=vcard)
        except errors.NotOccupant as refusal:
            if payload is not None and payload.uri in (NS_DISCO_INFO, NS_DISCO_ITEMS):
                # Section 6.6: a non-occupant's disco to an occupant.
                refusal = errors.BadRequest("only occupants may query occupants")
            self.refuse(iq, refusal, to.userhostJID())
            return
        except errors.Refusal as refusal:
            self.refuse(iq, refusal, to.userhostJID())
            return
        self.send(self._copyIQ(iq, forwarded.id, forwarded.sender, forwarded.recipient))

    @staticmethod
    def _copyIQ(iq, iqId: str, sender: jid.JID, recipient: jid.JID) -> domish.Element:
        copy = domish.Element((NS_CLIENT, "iq"))
        copy.attributes = dict(iq.attributes)
        copy.children = list(iq.children)
        copy["id"] = iqId
        copy["from"] = sender.full()
        copy["to"] = recipient.full()
        return copy

    def adminIQ(self, room: Room, sender: jid.JID, iq, kind: str, query) -> None:
        """
        Lists (get) and changes (set) of roles and affiliations (sections
        8.2-8.5, 9, 10.3-10.8).
        """
        try:
            items = stanzas.parseAdminItems(query)
            if kind == "get":
                if not items:
                    raise errors.BadRequest("name the affiliation or role to list")
                self.send(stanzas.adminList(iq, room.adminList(sender, items[0])))
                return
            change = room.administer(sender, items)
        except errors.Refusal as refusal:
            self.refuse(iq, refusal, room.jid)
            return
        self.announceChange(room, change, iq)

    def registerIQ(self, room: Room, sender: jid.JID, iq, kind: str, query) -> None:
        """
        Registration with the room (section 7.10): the requirements (get),
        the submitted form or a C{<remove/>} (set).
        """
        try:
            if kind == "get":
                self.send(stanzas.registration(iq, room.checkRegistration(sender)))
                return
            if child(query, NS_REGISTER, "remove") is not None:
                change = room.register(sender, None)
            else:
                x = child(query, NS_DATA, "x")
                if x is None:
                    raise errors.BadRequest("expected a registration form")
                submitted = stanzas.parseForm(x)
                if submitted.type == "cancel":
                    self.send(stanzas.iqResult(iq))
                    return
                if submitted.formType not in (None, NS_MUC_REGISTER):
                    raise errors.BadRequest(f"the form must be a {NS_MUC_REGISTER} form")
                nick = (submitted.values.get("muc#register_roomnick") or [""])[0]
                if not nick:
                    raise errors.BadRequest("muc#register_roomnick: a nickname is required")
                # The model enforces the nick: jid-malformed if refused.
                change = room.register(sender, nick)
        except errors.Refusal as refusal:
            self.refuse(iq, refusal, room.jid)
            return
        self.announceChange(room, change, iq)

    def announceChange(self, room: Room, change: AdminChange, iq=None) -> None:
        """
        Tell everyone concerned about changed roles and affiliations:
        removed occupants first (sections 8.2, 9.1), then the room, then
        the occupants who may see real JIDs of absent users' new
        affiliations (10.3, 10.6, 10.7), then the invitees (9.5), and last
        the requester (the IQ result); then save the room.

        The result comes last, as Prosody sends it, so that a requester's
        client has every effect of its request when the request completes.
        Section 8.2's text puts the result between the removed occupant's
        presence and the others', but only the requester's own sessions
        can see where it falls.
        """
        for update in change.updates:
            if update.removed:
                self.announceRemoval(room, update, others=False)
        self.announceUpdates(room, change.updates, own=False)
        self.announceNotices(room, change.notices)
        for invitation in change.invitations:
            self.send(stanzas.invitationMessage(room.jid, invitation, room.ids.newId()))
        if iq is not None:
            self.send(stanzas.iqResult(iq))
        if change.durable:
            self.rooms.save(room)
        self.rooms.vacate(room)

    def announceNotices(self, room: Room, notices: Iterable[AffiliationNotice]) -> None:
        """
        Tell the occupants who may see real JIDs of absent users' new
        affiliations (L{AffiliationNotice}), one message each.
        """
        recipients = None
        for notice in notices:
            if recipients is None:
                recipients = room.noticeRecipients()
            message = stanzas.affiliationNotice(room.jid, notice, room.ids.newId())
            for recipient in recipients:
                self.sendTo(message, recipient)

    def announceUpdates(self, room: Room, updates: Iterable[OccupantUpdate], own: bool = True) -> None:
        """
        Broadcast each occupant's new role or affiliation; a removed
        occupant's own sessions are told only if C{own}.
        """
        for update in updates:
            if update.removed:
                self.announceRemoval(room, update, own=own)
            else:
                self.announceUpdate(room, update)

    def announceRemoval(self, room: Room, update: OccupantUpdate, own: bool = True, others: bool = True) -> None:
        """
        An occupant was removed (307, 301, 321): each of its sessions gets
        its unavailable presence with 110, the room one for the occupant,
        with the reason and the actor (sections 8.2, 9.1, 9.4).
        """
        occupant = update.occupant
        if own:
            for departure in update.departures:
                item = Item(occupant.affiliation.value, "none", departure.session,
                            reason=update.reason, actor=update.actor)
                self.sendTo(stanzas.occupantPresence(
                    None, occupant.jid, item, departure.statuses | {Status.SELF},
                    occupant.occupantId, "unavailable",
                ), departure.session)
        if others:
            for departure in update.departures:
                self.tell("sessionDeparted", lambda o: o.sessionDeparted(room, departure))
            last = update.departures[-1]
            self.broadcastPresence(
                room, occupant, None, kind="unavailable", statuses=last.statuses,
                session=last.session, selfSessions=(), reason=update.reason,
                actor=update.actor, visible=room.showsPresenceOf(update.previousRole),
            )

    def announceUpdate(self, room: Room, update: OccupantUpdate) -> None:
        """
        An occupant's role or affiliation changed (sections 8.3, 8.4, 9.3,
        9.6, 9.7, 10.3-10.7): its presence goes out with the new item. If
        the room stops broadcasting its presence, those who saw it get it
        as unavailable.
        """
        occupant = update.occupant
        visible = room.showsPresenceOf(occupant.role)
        self.broadcastPresence(
            room, occupant, occupant.presence, reason=update.reason,
            actor=update.actor, visible=visible,
        )
        if not visible and room.showsPresenceOf(update.previousRole):
            self.broadcastPresence(
                room, occupant, None, kind="unavailable", selfSessions=(),
                visible=True, role=Role.NONE.value,
            )

    def ownerIQ(self, room: Room, sender: jid.JID, iq, kind: str, query) -> None:
        """
        The owner's configuration form (sections 10.1.2, 10.1.3, 10.2) and
        room destruction (10.9).
        """
        try:
            if kind == "get":
                room.checkOwner(sender)
                reply = stanzas.iqResult(iq)
                reply.addElement((NS_MUC_OWNER, "query")).addChild(
                    stanzas.form(
                        room.configFields(), "form", NS_MUC_ROOMCONFIG,
                        title=f"Configuration for {room.jid.full()}",
                        instructions="Complete and submit this form to configure the room.",
                    ).toElement()
                )
                self.send(reply)
                return
            x = child(query, NS_DATA, "x")
            destroy = child(query, NS_MUC_OWNER, "destroy")
            if x is not None:
                self.submitConfiguration(room, sender, iq, stanzas.parseForm(x))
            elif destroy is not None:
                room.checkOwner(sender)
                # As for admin changes: the effects, then the result.
                self.destroyRoom(room, destroy)
                self.send(stanzas.iqResult(iq))
            else:
                raise errors.BadRequest("expected a data form or <destroy/>")
        except errors.Refusal as refusal:
            self.refuse(iq, refusal, room.jid)

    def submitConfiguration(self, room: Room, sender: jid.JID, iq, submitted) -> None:
        """
        A submitted or cancelled configuration form; an empty submitted
        form makes an instant room (section 10.1.2). As with admin changes
        (L{announceChange}), every effect goes out before the result.
        """
        if submitted.type == "cancel":
            if room.cancelConfiguration(sender):
                self.destroyRoom(room, None)
            self.send(stanzas.iqResult(iq))
            return
        if submitted.type != "submit":
            raise errors.BadRequest("the form must be of type submit or cancel")
        if submitted.formType not in (None, NS_MUC_ROOMCONFIG):
            raise errors.BadRequest(f"the form must be a {NS_MUC_ROOMCONFIG} form")
        change = room.configure(sender, submitted.values)
        self.announceUpdates(room, change.updates)
        for departure in change.removed:
            self.announceDeparture(room, departure)
        for occupant in change.shown:
            self.broadcastPresence(room, occupant, occupant.presence, selfSessions=())
        for occupant in change.hidden:
            self.broadcastPresence(
                room, occupant, None, kind="unavailable", selfSessions=(),
                visible=True, role=Role.NONE.value,
            )
        self.announceNotices(room, change.notices)
        if change.statuses:
            self.broadcast(room, stanzas.statusMessage(room.jid, change.statuses, room.ids.newId()))
        self.send(stanzas.iqResult(iq))
        self.rooms.save(room)
        self.rooms.vacate(room)

    def destroyRoom(self, room: Room, destroy: Optional[domish.Element]) -> None:
        """
        Remove everyone, each told once with C{<destroy/>} (section 10.9),
        and forget the room.
        """
        alternate = reason = password = None
        if destroy is not None:
            alternate = _jid(destroy.getAttribute("jid"))
            for element in destroy.elements():
                if element.name == "reason":
                    reason = str(element)
                elif element.name == "password":
                    password = str(element)
        extra = [stanzas.destroyElement(alternate, reason, password)]
        for occupant in room.destroy():
            presence = stanzas.occupantPresence(
                None, occupant.jid, Item("none", "none"), [Status.SELF],
                occupant.occupantId, "unavailable", extra,
            )
            for session in occupant.sessionJIDs:
                self.sendTo(presence, session)
        self.rooms.discard(room)

    def shutdown(self) -> None:
        """
        The service shuts down (section 11.2): every occupant's sessions
        get an unavailable presence with 110 and 332, and the rooms are
        emptied. The server calls this before it closes client streams.
        """
        for room, occupants in self.rooms.shutdown():
            for occupant in occupants:
                for session in occupant.sessionJIDs:
                    self.sendTo(stanzas.shutdownPresence(
                        occupant.jid, occupant.affiliation.value, session, occupant.occupantId,
                    ), session)

    # Discovery (section 6).

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        """
        The service's identity and features (6.2), or a room's, with its
        C{muc#roominfo} form (6.4). Requests to absent or locked rooms were
        answered by L{onIQ}.
        """
        if target.user is None:
            if nodeIdentifier:
                return []
            return [disco.DiscoIdentity("conference", "text", self.name)] + [
                disco.DiscoFeature(feature) for feature in SERVICE_FEATURES
            ]
        room = self.rooms.get(target)
        if room is None or target.resource is not None or not room.existsFor(requestor):
            return []
        if nodeIdentifier == NS_MUC_TRAFFIC:
            # Section 18.1.1: a room that discards no namespace.
            raise error.StanzaError("service-unavailable")
        if nodeIdentifier:
            return []
        info: List[object] = [
            disco.DiscoIdentity("conference", "text", room.config.name or room.jid.user)
        ]
        info += [disco.DiscoFeature(f) for f in [NS_DISCO_INFO] + room.discoFeatures()]
        info.append(stanzas.form(room.infoFields(), "result", NS_MUC_ROOMINFO))
        return info

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        """
        The service lists its public rooms with their names (section 6.3); a
        room lists no occupants (6.5: private by default).
        """
        if target.user is not None or nodeIdentifier:
            return []
        return [
            disco.DiscoItem(room.jid, name=room.config.name or room.jid.user)
            for room in self.rooms.listed()
        ]


class MUCDiscoHandler(disco.DiscoHandler):
    """
    wokkel's disco handler for the MUC domain, leaving alone the disco IQs
    L{MUCHandler} already took.

    wokkel's C{IQHandlerMixin.handleRequest} answers every IQ it observes,
    even one marked handled; but disco to an occupant JID goes to the
    occupant (XEP-0045 section 6.6) and disco to an absent room gets
    C{item-not-found} from L{MUCHandler}.
    """

    def handleRequest(self, iq):
        if iq.handled:
            return
        return disco.DiscoHandler.handleRequest(self, iq)
