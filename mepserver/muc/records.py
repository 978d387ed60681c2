# -*- test-case-name: tests.test_muc_room -*-
"""
The status codes of XEP-0045 section 12 (L{Status}) and the plain records
the room model takes and returns: what the handler renders as stanzas.

  - given to the model: L{JoinAttempt} (what a room option sees of someone
    entering, section 7.2), L{HistoryRequest} (7.2.14), L{AdminItem}
    (sections 8-10);
  - kept by the room: L{HistoryEntry} (7.2.13);
  - returned by it: L{Join} (7.2), L{Departure} (7.14), L{NickChange}
    (7.6), L{ConfigChange} (10.2), L{ListEntry} (8.5, 9.2, 9.5, 9.8,
    10.5, 10.8), L{OccupantUpdate}, L{AdminChange} and L{AffiliationNotice}
    (8-10), L{Invitation} (7.8.2, 9.5), L{VoiceRequest} (7.13, 8.6),
    L{ForwardedIQ} and L{AnsweredIQ} (17.4).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Any, Callable, FrozenSet, Optional, Tuple, Union

from twisted.words.protocols.jabber import jid

from mepserver.muc.roles import Affiliation, Role

if TYPE_CHECKING:
    from mepserver.muc.room import Occupant


class Status(enum.IntEnum):
    """
    The status codes of XEP-0045 section 12 (registry section 16.6).
    """

    NON_ANONYMOUS = 100
    AFFILIATION_CHANGED = 101
    SHOWS_UNAVAILABLE = 102
    HIDES_UNAVAILABLE = 103
    CONFIGURATION_CHANGED = 104
    SELF = 110
    LOGGING_ENABLED = 170
    LOGGING_DISABLED = 171
    NOW_NON_ANONYMOUS = 172
    NOW_SEMI_ANONYMOUS = 173
    NOW_FULLY_ANONYMOUS = 174
    ROOM_CREATED = 201
    NICK_ASSIGNED = 210
    BANNED = 301
    NEW_NICK = 303
    KICKED = 307
    AFFILIATION_LOST = 321
    MEMBERS_ONLY = 322
    SHUTDOWN = 332
    ERROR = 333



@dataclasses.dataclass(frozen=True)
class JoinAttempt:
    """
    What a room feature's C{checkJoin} sees of someone entering.

    @ivar realJID: the full JID of the session entering.
    @ivar nick: the requested nick.
    @ivar password: the password given in the join presence, or L{None}.
    @ivar affiliation: the user's affiliation.
    @ivar addsOccupant: C{False} when the session joins a nick its bare JID
        already holds (no new occupant, so no limit applies).
    """

    realJID: jid.JID
    nick: str
    password: Optional[str]
    affiliation: Affiliation
    addsOccupant: bool


@dataclasses.dataclass(frozen=True)
class HistoryRequest:
    """
    The limits of a C{<history/>} element (XEP-0045 section 7.2.14); each
    is L{None} when not given.

    @ivar since: seconds since the epoch.
    """

    maxChars: Optional[int] = None
    maxStanzas: Optional[int] = None
    seconds: Optional[int] = None
    since: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """
    A groupchat message kept for newcomers.

    @ivar payload: the message as reflected (opaque to the model).
    @ivar stamp: when the room received it, in seconds since the epoch.
    @ivar measure: its length in characters, for C{maxchars}, or a callable
        that measures it when a newcomer asks for C{maxchars} (L{size}):
        measuring serializes the message, which most joins never need.
    @ivar stanzaId: the XEP-0359 stanza-id the room gave it, if any.
    """

    payload: Any
    stamp: float
    measure: Union[int, Callable[[], int]]
    stanzaId: Optional[str] = None

    @property
    def size(self) -> int:
        """
        The message's length in characters, measured once.
        """
        if callable(self.measure):
            object.__setattr__(self, "measure", self.measure())
        return self.measure


@dataclasses.dataclass(frozen=True)
class Join:
    """
    The result of L{mepserver.muc.room.Room.join}.

    @ivar occupant: the L{Occupant} joined.
    @ivar session: the full JID of the joining session.
    @ivar newOccupant: C{True} if the nick is new in the room; C{False} if
        the session joined a nick its bare JID already held.
    @ivar statuses: the status codes of the self-presence (section 7.2.2:
        110, plus 100 in a non-anonymous room, 201 for a new room and 210
        if the room changed the nick asked for).
    """

    occupant: Occupant
    session: jid.JID
    newOccupant: bool
    statuses: FrozenSet[Status]


@dataclasses.dataclass(frozen=True)
class Departure:
    """
    A session leaving a room (L{mepserver.muc.room.Room.leave}).

    @ivar occupant: the L{Occupant}; its role is L{Role.NONE} if it left.
    @ivar session: the full JID of the session that left.
    @ivar lastSession: C{True} if the occupant left the room; C{False} if
        other sessions keep its nick.
    @ivar shownChanged: C{True} if other sessions remain and what other
        occupants see of the nick changed (the shown session left).
    @ivar statuses: status codes for everyone (307, 333, ...; not 110).
    @ivar payload: the unavailable presence payload given, or L{None}.
    @ivar previousRole: the occupant's role before it left: whether others
        saw its presence (C{muc#roomconfig_presencebroadcast}).
    """

    occupant: Occupant
    session: jid.JID
    lastSession: bool
    shownChanged: bool
    statuses: FrozenSet[Status]
    payload: Any = None
    previousRole: Role = Role.NONE


@dataclasses.dataclass(frozen=True)
class NickChange:
    """
    The result of L{mepserver.muc.room.Room.changeNick}.

    @ivar occupant: the L{Occupant}, now under its new nick.
    @ivar oldNick: its previous nick.
    @ivar modified: whether the room changed the nick asked for (status
        210 to the occupant, section 7.6).
    """

    occupant: Occupant
    oldNick: str
    modified: bool = False


@dataclasses.dataclass(frozen=True)
class ConfigChange:
    """
    The result of L{mepserver.muc.room.Room.configure}.

    @ivar statuses: the status codes to announce to occupants (104 and
        172/173, section 10.2.1); empty if nothing changed.
    @ivar unlocked: C{True} if this unlocked a new room (section 10.1.2).
    @ivar removed: L{Departure}s of occupants removed because the room
        became members-only (status 322, section 10.2).
    @ivar updates: L{OccupantUpdate}s of occupants whose affiliation the
        form's admin and owner lists changed (section 10.2).
    @ivar shown: occupants whose presence the room now broadcasts and did
        not (C{presencebroadcast}), to announce to the others.
    @ivar hidden: occupants whose presence it broadcast and no longer
        does, to show the others as gone.
    @ivar notices: L{AffiliationNotice}s of absent users whose affiliation
        the form's lists changed.
    """

    statuses: FrozenSet[Status]
    unlocked: bool
    removed: Tuple[Departure, ...] = ()
    updates: Tuple["OccupantUpdate", ...] = ()
    shown: Tuple[Occupant, ...] = ()
    hidden: Tuple[Occupant, ...] = ()
    notices: Tuple["AffiliationNotice", ...] = ()


@dataclasses.dataclass(frozen=True)
class AdminItem:
    """
    One C{<item/>} of a C{muc#admin} query (XEP-0045 sections 8-10), without
    XML: a role change names an occupant by C{nick}; an affiliation change
    names a user by C{jid} (a nick of an occupant is accepted too, as
    Prosody accepts it from clients that ban by nick).

    @ivar affiliation: the affiliation to set or list, or L{None}.
    @ivar role: the role to set or list, or L{None}.
    @ivar jid: the user's JID (its bare JID is used), or L{None}.
    @ivar nick: the occupant's nick for a role change; with C{jid}, the
        user's reserved nick (empty to unset it, section 9.5).
    @ivar reason: the optional C{<reason/>}.
    """

    affiliation: Optional[Affiliation] = None
    role: Optional[Role] = None
    jid: Optional[jid.JID] = None
    nick: Optional[str] = None
    reason: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class ListEntry:
    """
    One item of an affiliation or role list (sections 8.5, 9.2, 9.5, 9.8,
    10.5, 10.8).

    @ivar jid: the bare JID (affiliation lists) or the occupant's shown
        full JID (role lists).
    @ivar nick: the user's reserved nick (affiliation lists) or the
        occupant's nick (role lists); L{None} if there is none.
    @ivar role: the occupant's role in a role list; always L{None} in an
        affiliation list, whose items carry no role (clients read a role
        there as a role change: Converse.js 14 does).
    @ivar reason: the reason stored with the affiliation, or L{None}.
    """

    jid: jid.JID
    affiliation: Affiliation
    role: Optional[Role] = None
    nick: Optional[str] = None
    reason: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class OccupantUpdate:
    """
    An occupant whose role or affiliation an admin action changed, to
    announce to the room (sections 8.2-8.4, 9.1-9.7, 10.2-10.7).

    @ivar occupant: the L{Occupant}, with its new role and affiliation.
    @ivar previousRole: its role before the change.
    @ivar departures: if it was removed (kick 307, ban 301, affiliation
        loss 321, members-only 322), one L{Departure} per session, in
        order; empty if it stays.
    @ivar reason: the reason given, or L{None}.
    @ivar actor: the nick of the occupant who did it, or L{None}.
    """

    occupant: Occupant
    previousRole: Role
    departures: Tuple[Departure, ...] = ()
    reason: Optional[str] = None
    actor: Optional[str] = None

    @property
    def removed(self) -> bool:
        """
        Whether the occupant was removed from the room.
        """
        return bool(self.departures)


@dataclasses.dataclass(frozen=True)
class Invitation:
    """
    An invitation the room sends on (sections 7.8.2 and 9.5).

    @ivar invitee: where to send it.
    @ivar inviter: who invites: an occupant's real full JID (7.8.2) or an
        admin's bare JID (9.5).
    @ivar reason: the reason given, or L{None}.
    @ivar password: the room password, if the room is protected.
    """

    invitee: jid.JID
    inviter: jid.JID
    reason: Optional[str] = None
    password: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class AffiliationNotice:
    """
    The new affiliation of a user who is not in the room, for the
    occupants (L{mepserver.muc.room.Room.noticeRecipients}). Sections 10.3, 10.6 and 10.7
    allow it for owners and admins (example 180, a message from the room);
    like Prosody, the room sends it for every affiliation change of an
    absent user, so that occupants' lists stay current.

    @ivar user: the bare JID (or domain) whose affiliation changed.
    @ivar affiliation: its new affiliation.
    """

    user: jid.JID
    affiliation: Affiliation


@dataclasses.dataclass(frozen=True)
class AdminChange:
    """
    The result of L{mepserver.muc.room.Room.administer} and of other changes of roles and
    affiliations (invitations, voice approvals).

    @ivar updates: the L{OccupantUpdate}s, in the order the changes were
        made.
    @ivar invitations: L{Invitation}s to send out of the room (section
        9.5: new members of a members-only room).
    @ivar durable: whether affiliations or reserved nicks changed, so that
        a persistent room must be saved.
    @ivar notices: L{AffiliationNotice}s of absent users whose affiliation
        changed.
    """

    updates: Tuple[OccupantUpdate, ...] = ()
    invitations: Tuple[Invitation, ...] = ()
    durable: bool = False
    notices: Tuple[AffiliationNotice, ...] = ()


@dataclasses.dataclass(frozen=True)
class VoiceRequest:
    """
    A visitor's request for voice, to pass on to the moderators (sections
    7.13 and 8.6).

    @ivar occupant: the visitor.
    @ivar session: the real full JID that asked.
    @ivar moderators: the moderators' sessions, to send the approval form
        to.
    """

    occupant: Occupant
    session: jid.JID
    moderators: Tuple[jid.JID, ...]


@dataclasses.dataclass(frozen=True)
class ForwardedIQ:
    """
    An IQ to an occupant JID, to send on to the occupant's real JID
    (XEP-0045 section 17.4, DESIGN.md section 5).

    @ivar id: the IQ's new id, under which L{mepserver.muc.room.Room.answerIQ} recognises the
        answer.
    @ivar sender: the sender's occupant JID (the new C{from}).
    @ivar recipient: the recipient's real full JID (the new C{to}).
    """

    id: str
    sender: jid.JID
    recipient: jid.JID


@dataclasses.dataclass(frozen=True)
class AnsweredIQ:
    """
    The answer to a forwarded IQ, to route back (L{mepserver.muc.room.Room.answerIQ}).

    @ivar id: the original request's id.
    @ivar sender: the answering occupant's JID (the new C{from}).
    @ivar recipient: the requester's real full JID (the new C{to}).
    """

    id: str
    sender: jid.JID
    recipient: jid.JID

