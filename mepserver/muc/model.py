# -*- test-case-name: tests.test_muc_model -*-
"""
The Multi-User Chat room model (XEP-0045), in plain Python.

No XML, no wokkel, no reactor: the handler (L{mepserver.muc.handler})
parses stanzas, calls these classes and renders what they return. What a
client sent as presence is kept as an opaque I{payload} the model stores
and hands back, never looks into.

  - L{Role}, L{Affiliation} and L{Privilege}, with the privilege tables of
    XEP-0045 sections 5.1.1 (roles) and 5.2.1 (affiliations) and the
    default roles of section 5.1.2;
  - L{Status}: the status codes of section 12 (registry 16.6);
  - L{RoomConfig}: a room's configuration (section 10.1.3's
    C{muc#roomconfig} form), and L{ConfigField}, a form field without XML;
  - L{Occupant}: one nick in a room, with one or more sessions (section
    7.2.8: several sessions of one bare JID share a nick);
  - L{Room}: entering (7.2), presence updates (7.7), nick changes (7.6),
    leaving (7.14), groupchat (7.4) and history (7.2.13-7.2.14), private
    messages (7.5), mediated invitations and declines (7.8), voice
    requests (7.13, 8.6), subject (8.1), roles: kicks, voice and
    moderators (8.2-8.5, 9.6-9.8), affiliations: bans, members, admins
    and owners and their lists (9.1-9.5, 10.3-10.8), configuration
    (10.1-10.2), destruction (10.9), forwarded IQs (17.4) and self-pings
    (XEP-0410);
  - L{Rooms}: the service's registry of rooms, loading persistent rooms
    from an L{IRoomStore} and writing them through, and emptying them all
    when the service shuts down (status 332).

Room options live in L{mepserver.muc.features}, one module each, plugged in
through L{mepserver.interfaces.IRoomFeature}.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import functools
import unicodedata
from typing import (
    Any,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import precis_i18n
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.interfaces import StoredRoom
from mepserver.jids import MAX_PART_BYTES, checkPartLengths

log = Logger()

#: Service discovery features every room has (XEP-0045 6.4, 7.10 and 7.13
#: as Prosody announces them, XEP-0359, XEP-0421 section 2, XEP-0410
#: section 3.3).
ROOM_FEATURES = (
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/muc#stable_id",
    "http://jabber.org/protocol/muc#self-ping-optimization",
    "http://jabber.org/protocol/muc#request",
    "jabber:iq:register",
    "urn:xmpp:occupant-id:0",
    "urn:xmpp:sid:0",
)

#: How many forwarded IQs a room remembers while waiting for answers
#: (section 17.4); the oldest is forgotten first.
MAX_PENDING_IQS = 1000

#: RFC 8266 section 2.3: enforcement of the Nickname profile keeps case.
#: precis-i18n calls it "NicknameCasePreserved"; its "Nickname" is an alias
#: of the case-mapped profile, which would lowercase every nick.
_NICK_ENFORCEMENT = precis_i18n.get_profile("NicknameCasePreserved")

#: RFC 8266 section 2.4: comparison also maps case (Unicode toLower).
_NICK_COMPARISON = precis_i18n.get_profile("NicknameCaseMapped")

#: Plain words for the PRECIS refusals a client is most likely to meet.
_NICK_REFUSALS = {
    "DISALLOWED/empty": "a room nickname must not be empty or only spaces",
    "DISALLOWED/controls": "a room nickname must not contain control characters",
}


class Role(enum.Enum):
    """
    An occupant's role (XEP-0045 section 5.1), lowest first.
    """

    NONE = "none"
    VISITOR = "visitor"
    PARTICIPANT = "participant"
    MODERATOR = "moderator"

    @property
    def rank(self) -> int:
        """
        The role's place in the hierarchy: each role has all the privileges
        of those below it (section 5.1.1).
        """
        return _ROLE_ORDER.index(self)


_ROLE_ORDER = list(Role)


class Affiliation(enum.Enum):
    """
    A user's long-lived affiliation with a room (XEP-0045 section 5.2),
    lowest first.
    """

    OUTCAST = "outcast"
    NONE = "none"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        """
        The affiliation's place in the hierarchy (section 5.2.1).
        """
        return _AFFILIATION_ORDER.index(self)


_AFFILIATION_ORDER = list(Affiliation)


class Privilege(enum.Enum):
    """
    The rows of XEP-0045's privilege tables (sections 5.1.1 and 5.2.1).
    """

    # Roles (section 5.1.1).
    PRESENT_IN_ROOM = "present in room"
    RECEIVE_MESSAGES = "receive messages"
    RECEIVE_OCCUPANT_PRESENCE = "receive occupant presence"
    BROADCAST_PRESENCE = "broadcast presence to all occupants"
    CHANGE_AVAILABILITY = "change availability status"
    CHANGE_NICK = "change room nickname"
    SEND_PRIVATE_MESSAGES = "send private messages"
    INVITE = "invite other users"
    SEND_MESSAGES_TO_ALL = "send messages to all"
    MODIFY_SUBJECT = "modify subject"
    KICK = "kick participants and visitors"
    GRANT_VOICE = "grant voice"
    REVOKE_VOICE = "revoke voice"
    # Affiliations (section 5.2.1).
    ENTER_OPEN_ROOM = "enter open room"
    REGISTER = "register with open room"
    RETRIEVE_MEMBER_LIST = "retrieve member list"
    ENTER_MEMBERS_ONLY_ROOM = "enter members-only room"
    BAN = "ban members and unaffiliated users"
    EDIT_MEMBER_LIST = "edit member list"
    ASSIGN_MODERATOR = "assign and remove moderator role"
    EDIT_ADMIN_LIST = "edit admin list"
    EDIT_OWNER_LIST = "edit owner list"
    CHANGE_CONFIGURATION = "change room configuration"
    DESTROY_ROOM = "destroy room"


_P = Privilege
_VISITOR_PRIVILEGES = frozenset(
    {
        _P.PRESENT_IN_ROOM,
        _P.RECEIVE_MESSAGES,
        _P.RECEIVE_OCCUPANT_PRESENCE,
        _P.BROADCAST_PRESENCE,
        _P.CHANGE_AVAILABILITY,
        _P.CHANGE_NICK,
        _P.SEND_PRIVATE_MESSAGES,
        _P.INVITE,
    }
)
_PARTICIPANT_PRIVILEGES = _VISITOR_PRIVILEGES | {_P.SEND_MESSAGES_TO_ALL, _P.MODIFY_SUBJECT}

#: XEP-0045 section 5.1.1, with its defaults (the starred cells). The room
#: configuration narrows the starred ones: private messages (C{allowpm})
#: and the subject (C{changesubject}: by default only moderators, section
#: 8.1), see L{Room.may}; and inviting to a members-only room, which goes
#: by affiliation (C{allowinvites}, section 9.5), see L{Room.invite}.
ROLE_PRIVILEGES: Mapping[Role, FrozenSet[Privilege]] = {
    Role.NONE: frozenset(),
    Role.VISITOR: _VISITOR_PRIVILEGES,
    Role.PARTICIPANT: _PARTICIPANT_PRIVILEGES,
    Role.MODERATOR: _PARTICIPANT_PRIVILEGES
    | {_P.KICK, _P.GRANT_VOICE, _P.REVOKE_VOICE},
}

_MEMBER_PRIVILEGES = frozenset(
    {_P.ENTER_OPEN_ROOM, _P.RETRIEVE_MEMBER_LIST, _P.ENTER_MEMBERS_ONLY_ROOM}
)
_ADMIN_PRIVILEGES = _MEMBER_PRIVILEGES | {
    _P.BAN,
    _P.EDIT_MEMBER_LIST,
    _P.ASSIGN_MODERATOR,
}

#: XEP-0045 section 5.2.1. Registering is for the unaffiliated only
#: ("N/A" above). Retrieving the member list is further limited by the
#: C{getmemberlist} option.
AFFILIATION_PRIVILEGES: Mapping[Affiliation, FrozenSet[Privilege]] = {
    Affiliation.OUTCAST: frozenset(),
    Affiliation.NONE: frozenset({_P.ENTER_OPEN_ROOM, _P.REGISTER}),
    Affiliation.MEMBER: _MEMBER_PRIVILEGES,
    Affiliation.ADMIN: _ADMIN_PRIVILEGES,
    Affiliation.OWNER: _ADMIN_PRIVILEGES
    | {
        _P.EDIT_ADMIN_LIST,
        _P.EDIT_OWNER_LIST,
        _P.CHANGE_CONFIGURATION,
        _P.DESTROY_ROOM,
    },
}


def defaultRoleFor(affiliation: Affiliation) -> Role:
    """
    The initial role of XEP-0045 section 5.1.2 for an open, unmoderated
    room; the room's features adjust it (moderated rooms make the
    unaffiliated visitors, members-only rooms refuse them).
    """
    if affiliation.rank >= Affiliation.ADMIN.rank:
        return Role.MODERATOR
    if affiliation is Affiliation.OUTCAST:
        return Role.NONE
    return Role.PARTICIPANT


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


WHOIS_VALUES = ("moderators", "anyone")

#: The values of C{mep#room_publishers} (DESIGN.md section 6): who besides
#: the room itself may publish to the room's MEP nodes.
ROOM_PUBLISHERS_VALUES = ("none", "owners", "moderators")
ALLOW_PM_VALUES = ("anyone", "participants", "moderators", "none")
ALL_ROLES = frozenset({Role.MODERATOR, Role.PARTICIPANT, Role.VISITOR})


@dataclasses.dataclass
class RoomConfig:
    """
    A room's configuration: the C{muc#roomconfig} form of XEP-0045 section
    10.1.3 (registry 16.5.3). Defaults follow Prosody's.

    @ivar name: C{roomname}, the natural-language name (empty: none).
    @ivar description: C{roomdesc}.
    @ivar language: C{lang}, the language of the discussion.
    @ivar persistent: C{persistentroom}: survives its last occupant and
        restarts.
    @ivar public: C{publicroom}: listed in the service's disco#items.
    @ivar membersOnly: C{membersonly}.
    @ivar moderated: C{moderatedroom}.
    @ivar passwordProtected: C{passwordprotectedroom}.
    @ivar password: C{roomsecret}.
    @ivar whois: C{whois}: who sees real JIDs, C{"moderators"}
        (semi-anonymous) or C{"anyone"} (non-anonymous).
    @ivar maxUsers: C{maxusers}, or L{None} for no limit.
    @ivar changeSubject: C{changesubject}: participants may set the subject.
    @ivar allowInvites: C{allowinvites}: in a members-only room, not only
        admins and owners may invite (section 9.5).
    @ivar allowPM: C{allowpm}: who may send private messages, one of
        L{ALLOW_PM_VALUES}.
    @ivar getMemberList: C{getmemberlist}: roles that may retrieve the
        member list.
    @ivar presenceBroadcast: C{presencebroadcast}: roles whose presence
        other occupants receive.
    @ivar historyLength: C{muc#maxhistoryfetch}: how many messages the room
        keeps and sends to a newcomer.
    @ivar roomPublishers: C{mep#room_publishers}: who besides the room
        itself may publish room events (MEP), one of
        L{ROOM_PUBLISHERS_VALUES}.
    """

    name: str = ""
    description: str = ""
    language: str = ""
    persistent: bool = False
    public: bool = True
    membersOnly: bool = False
    moderated: bool = False
    passwordProtected: bool = False
    password: str = ""
    whois: str = "moderators"
    maxUsers: Optional[int] = None
    changeSubject: bool = False
    allowInvites: bool = False
    allowPM: str = "anyone"
    getMemberList: FrozenSet[Role] = ALL_ROLES
    presenceBroadcast: FrozenSet[Role] = ALL_ROLES
    historyLength: int = 20
    roomPublishers: str = "none"

    def copy(self) -> "RoomConfig":
        """
        @return: an independent copy, to change and then commit or drop.
        """
        return dataclasses.replace(self)

    #: Attribute names to the keys of L{StoredRoom.config}: the form's field
    #: names without their C{muc#roomconfig_} (or C{muc#}) prefix.
    STORED_KEYS = {
        "name": "roomname",
        "description": "roomdesc",
        "language": "lang",
        "persistent": "persistentroom",
        "public": "publicroom",
        "membersOnly": "membersonly",
        "moderated": "moderatedroom",
        "passwordProtected": "passwordprotectedroom",
        "password": "roomsecret",
        "whois": "whois",
        "maxUsers": "maxusers",
        "changeSubject": "changesubject",
        "allowInvites": "allowinvites",
        "allowPM": "allowpm",
        "getMemberList": "getmemberlist",
        "presenceBroadcast": "presencebroadcast",
        "historyLength": "maxhistoryfetch",
        "roomPublishers": "mep_room_publishers",
    }

    #: The attributes that are sets of roles, stored as sorted tuples.
    ROLE_SETS = ("getMemberList", "presenceBroadcast")

    def toStored(self) -> Dict[str, object]:
        """
        @return: the plain values L{StoredRoom.config} holds.
        """
        stored: Dict[str, object] = {}
        for attribute, key in self.STORED_KEYS.items():
            value = getattr(self, attribute)
            if attribute in self.ROLE_SETS:
                value = tuple(sorted(role.value for role in value))
            stored[key] = value
        return stored

    @classmethod
    def fromStored(cls, stored: Mapping[str, object]) -> "RoomConfig":
        """
        The configuration L{toStored} gave; missing keys take the default and
        unknown keys (from a newer version) are ignored.
        """
        values: Dict[str, Any] = {}
        for attribute, key in cls.STORED_KEYS.items():
            if key in stored:
                value = stored[key]
                if attribute in cls.ROLE_SETS:
                    value = frozenset(Role(v) for v in value)  # type: ignore
                values[attribute] = value
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class ConfigField:
    """
    One field of the room configuration form (XEP-0004), without XML.

    @ivar var: the field's C{var}, e.g. C{"muc#roomconfig_roomname"}.
    @ivar type: the XEP-0004 field type (C{"boolean"}, C{"text-single"},
        C{"text-private"}, C{"list-single"}, C{"list-multi"}, C{"fixed"},
        C{"jid-multi"}).
    @ivar label: the human-readable label.
    @ivar values: the current values, as form strings (C{"1"} and C{"0"}
        for booleans).
    @ivar options: C{(value, label)} pairs of a list field.
    """

    var: str
    type: str
    label: str = ""
    values: Tuple[str, ...] = ()
    options: Tuple[Tuple[str, str], ...] = ()


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
    @ivar size: its length in characters, for C{maxchars}.
    """

    payload: Any
    stamp: float
    size: int


class Occupant:
    """
    One nick in a room, held by one or more sessions of one bare JID.

    @ivar room: the L{Room}.
    @ivar nick: the room nickname.
    @ivar realJID: the user's bare JID.
    @ivar role: the occupant's L{Role}.
    @ivar occupantId: the XEP-0421 occupant id: the same for the same user
        in the same room, whatever the nick.
    @ivar sessions: the sessions' full JIDs mapped to their last presence
        payloads, least recently updated first; the last one is what other
        occupants see (L{presence}, L{shownJID}).
    """

    def __init__(self, room: "Room", nick: str, realJID: jid.JID, role: Role, occupantId: str):
        self.room = room
        self.nick = nick
        self.realJID = realJID
        self.role = role
        self.occupantId = occupantId
        self.sessions: "collections.OrderedDict[jid.JID, Any]" = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"<Occupant {self.nick!r} of {self.room.jid.full()} ({self.realJID.full()})>"

    @property
    def jid(self) -> jid.JID:
        """
        The occupant JID, C{room@service/nick}.
        """
        return jid.JID(tuple=(self.room.jid.user, self.room.jid.host, self.nick))

    @property
    def affiliation(self) -> Affiliation:
        """
        The user's affiliation with the room.
        """
        return self.room.affiliationOf(self.realJID)

    @property
    def presence(self) -> Any:
        """
        The presence payload other occupants see: the most recent one of
        any of its sessions.
        """
        return next(reversed(self.sessions.values()))

    @property
    def shownJID(self) -> jid.JID:
        """
        The full JID of the session whose presence others see; the real JID
        shown to those who may see real JIDs.
        """
        return next(reversed(self.sessions))

    @property
    def sessionJIDs(self) -> List[jid.JID]:
        """
        The full JIDs of its sessions, as a new list.
        """
        return list(self.sessions)


@dataclasses.dataclass(frozen=True)
class Join:
    """
    The result of L{Room.join}.

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
    A session leaving a room (L{Room.leave}).

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
    The result of L{Room.changeNick}.

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
    The result of L{Room.configure}.

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
    occupants (L{Room.noticeRecipients}). Sections 10.3, 10.6 and 10.7
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
    The result of L{Room.administer} and of other changes of roles and
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

    @ivar id: the IQ's new id, under which L{Room.answerIQ} recognises the
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
    The answer to a forwarded IQ, to route back (L{Room.answerIQ}).

    @ivar id: the original request's id.
    @ivar sender: the answering occupant's JID (the new C{from}).
    @ivar recipient: the requester's real full JID (the new C{to}).
    """

    id: str
    sender: jid.JID
    recipient: jid.JID


@dataclasses.dataclass(frozen=True)
class _PendingIQ:
    requester: jid.JID
    originalId: str
    responder: jid.JID
    responderNick: str
    requesterNick: str


def bare(entity: jid.JID) -> jid.JID:
    """
    @return: the bare JID of C{entity}, interned.
    """
    return jid.internJID(entity.userhost())


def checkJID(address: jid.JID) -> None:
    """
    Check the lengths of a JID's parts (RFC 7622 section 3), with
    L{mepserver.jids.checkPartLengths}.

    @raise errors.MalformedJID: a part is longer.
    """
    try:
        checkPartLengths(address)
    except jid.InvalidFormat as e:
        raise errors.MalformedJID(str(e))


def enforceNick(nick: Optional[str]) -> str:
    """
    A room nickname as the room uses it: the Nickname profile of PRECIS
    enforced (RFC 8266 section 2.3: spaces mapped and trimmed, NFKC, case
    kept), as XEP-0045 section 7.2 expects; at most 1023 bytes, the limit
    of a resourcepart (RFC 7622 section 3.4.1). Section 17.1's rule (not
    empty, not only spaces) is part of the profile.

    @return: the enforced nick, which may differ from C{nick} (status 210
        tells the occupant, sections 7.2.2 and 7.6).
    @raise errors.NoNickname: C{nick} is missing, too long or not allowed
        by the profile; the text says why.
    """
    if nick is None:
        raise errors.NoNickname(_NICK_REFUSALS["DISALLOWED/empty"])
    tooLong = errors.NoNickname(
        f"a room nickname must be at most {MAX_PART_BYTES} bytes of UTF-8 "
        "(RFC 7622 section 3.4)"
    )
    # Checked before the profile too, which need not read hostile input.
    if len(nick.encode("utf-8")) > MAX_PART_BYTES:
        raise tooLong
    try:
        enforced = _NICK_ENFORCEMENT.enforce(nick)
    except UnicodeError as e:
        reason = getattr(e, "reason", "")
        text = _NICK_REFUSALS.get(reason)
        if text is None:
            characters = nick[e.start:e.end] if isinstance(e, UnicodeEncodeError) else ""
            named = ", ".join(
                f"U+{ord(c):04X} ({unicodedata.name(c, 'unnamed')})" for c in characters
            )
            text = (
                f"a room nickname must not contain {named or 'this'}: the PRECIS "
                f"Nickname profile (RFC 8266) disallows it ({reason or 'no reason given'})"
            )
        raise errors.NoNickname(text)
    if len(enforced.encode("utf-8")) > MAX_PART_BYTES:
        raise tooLong
    return enforced


@functools.lru_cache(maxsize=4096)
def nickKey(nick: str) -> str:
    """
    The form in which two enforced nicks are compared (RFC 8266 section
    2.4: the profile with case mapped): nicks with equal keys are the same
    nick, so C{Witch} and C{witch} conflict.
    """
    try:
        return _NICK_COMPARISON.enforce(nick)
    except UnicodeError:
        # A nick from before enforcement (a stored reserved nick):
        # compared as it is.
        return nick


class Room:
    """
    One chat room: its configuration, affiliations, occupants, subject and
    history.

    Every method that changes the room checks the requester's rights and
    raises an L{errors.Refusal} before changing anything.

    @ivar jid: the bare room JID.
    @ivar config: the L{RoomConfig}.
    @ivar affiliations: bare user JIDs mapped to their L{Affiliation} (never
        L{Affiliation.NONE}).
    @ivar nicks: reserved nicknames, bare user JIDs mapped to nicks
        (sections 7.10, 7.12 and 9.3).
    @ivar reasons: reasons given with affiliations (bans).
    @ivar subject: the subject, empty if none.
    @ivar subjectBy: the nick that set it, empty if the room did.
    @ivar subjectSetter: the bare JID that set it, if known.
    @ivar subjectStamp: when it was set, or L{None} if never.
    @ivar locked: C{True} while a new room awaits its owner's configuration
        (section 10.1.2).
    @ivar created: C{True} until the creator's join reported 201.
    @ivar occupants: nicks mapped to L{Occupant}s, in order of arrival.
    @ivar history: the L{HistoryEntry}s kept, oldest first.
    @ivar features: the L{mepserver.interfaces.IRoomFeature}s, in order.
    @ivar events: the MEP service (L{mepserver.mep.handler.MEPHandler})
        that L{generateEvent} hands room events to; set by L{Rooms}.
    """

    events: Any = None

    def __init__(
        self,
        roomJID: jid.JID,
        clock,
        ids,
        config: Optional[RoomConfig] = None,
        features: Optional[Sequence[Any]] = None,
    ):
        """
        @param clock: an object with C{seconds()} (a reactor or
            L{twisted.internet.task.Clock}).
        @param ids: an L{mepserver.ids.IdSource}.
        @param features: the room features; L{mepserver.muc.features.FEATURES}
            if L{None}.
        """
        if features is None:
            # Imported here: the feature modules import this one.
            from mepserver.muc.features import FEATURES

            features = FEATURES
        self.jid = bare(roomJID)
        self.clock = clock
        self.ids = ids
        self.config = config if config is not None else RoomConfig()
        self.features = tuple(features)
        self.affiliations: Dict[jid.JID, Affiliation] = {}
        self.nicks: Dict[jid.JID, str] = {}
        self.reasons: Dict[jid.JID, str] = {}
        self.subject = ""
        self.subjectBy = ""
        self.subjectSetter: Optional[jid.JID] = None
        self.subjectStamp: Optional[float] = None
        self.locked = False
        self.created = False
        self.occupants: "collections.OrderedDict[str, Occupant]" = collections.OrderedDict()
        # The occupants by the comparison form of their nick (nickKey).
        self._nickKeys: Dict[str, Occupant] = {}
        self._sessions: Dict[jid.JID, Occupant] = {}
        self.history: "collections.deque[HistoryEntry]" = collections.deque(
            maxlen=self.config.historyLength
        )
        self._pendingIQs: "collections.OrderedDict[str, _PendingIQ]" = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"<Room {self.jid.full()}>"

    # Looking things up.

    def affiliationOf(self, entity: jid.JID) -> Affiliation:
        """
        The affiliation of a user: its bare JID's, else its domain's
        (section 9.2: a ban of a domain bans its users).

        @param entity: a bare or full user JID.
        """
        user = bare(entity)
        affiliation = self.affiliations.get(user)
        if affiliation is None and user.user is not None:
            affiliation = self.affiliations.get(jid.internJID(user.host))
        return affiliation if affiliation is not None else Affiliation.NONE

    def occupant(self, nick: str) -> Optional[Occupant]:
        """
        @return: the occupant with this nick, or L{None}.
        """
        return self.occupants.get(nick)

    def addressed(self, nick: str) -> Optional[Occupant]:
        """
        The occupant an occupant JID's nick addresses: the one with exactly
        this nick (resourceparts are case-sensitive, RFC 7622 section
        3.4), or L{None}.

        @raise errors.NoNickname: no occupant could have this nick: the
            Nickname profile refuses it, or would change it (L{enforceNick}).
        """
        occupant = self.occupants.get(nick)
        if occupant is None and enforceNick(nick) != nick:
            raise errors.NoNickname(
                f"{nick!r} is not a room nickname as this room writes them "
                f"(it would be {enforceNick(nick)!r}; RFC 8266)"
            )
        return occupant

    def occupantOf(self, session: jid.JID) -> Optional[Occupant]:
        """
        @param session: a real full JID.
        @return: the occupant this session is in, or L{None}.
        """
        return self._sessions.get(session)

    def existsFor(self, entity: jid.JID) -> bool:
        """
        Whether the room exists as far as C{entity} can tell: a locked room
        does not, except to its owners (section 10.1.2).
        """
        return not self.locked or self.affiliationOf(entity) is Affiliation.OWNER

    @property
    def listed(self) -> bool:
        """
        Whether the service's disco#items lists the room (section 6.3).
        """
        return self.config.public and not self.locked

    @property
    def empty(self) -> bool:
        """
        Whether the room has no occupants.
        """
        return not self.occupants

    def sessions(self) -> List[jid.JID]:
        """
        @return: every occupant's sessions' full JIDs, as a new list (the
            recipients of a groupchat message, section 7.4).
        """
        return [session for o in self.occupants.values() for session in o.sessions]

    def occupantIdOf(self, user: jid.JID) -> str:
        """
        The XEP-0421 occupant id of a user: stable for the same bare JID in
        this room, opaque to others (section 3.1).
        """
        return self.ids.stableId(self.jid.userhost(), bare(user).userhost())

    def entryStatuses(self) -> FrozenSet[Status]:
        """
        The status codes of a self-presence on entering (section 7.2.2):
        110, and 100 in a non-anonymous room (7.2.3).
        """
        if self.config.whois == "anyone":
            return frozenset({Status.SELF, Status.NON_ANONYMOUS})
        return frozenset({Status.SELF})

    def canSeeRealJIDs(self, viewer: Occupant) -> bool:
        """
        Whether C{viewer} sees other occupants' real JIDs: everyone in a
        non-anonymous room, moderators in a semi-anonymous one (sections
        7.2.3 and 7.2.4).
        """
        return self.config.whois == "anyone" or viewer.role is Role.MODERATOR

    def may(self, role: Role, privilege: Privilege) -> bool:
        """
        Whether an occupant with C{role} has C{privilege} here: the table of
        section 5.1.1 adjusted by the room configuration.
        """
        if privilege is Privilege.MODIFY_SUBJECT:
            # Section 8.1: by default only moderators; 'changesubject' lets
            # participants too. Visitors never (section 5.1.1).
            if role is Role.MODERATOR:
                return True
            return self.config.changeSubject and role is Role.PARTICIPANT
        if privilege is Privilege.SEND_PRIVATE_MESSAGES:
            allowed = self.config.allowPM
            if allowed == "none":
                return False
            if allowed == "moderators":
                return role is Role.MODERATOR
            if allowed == "participants":
                return role.rank >= Role.PARTICIPANT.rank
        return privilege in ROLE_PRIVILEGES[role]

    def showsPresenceOf(self, role: Role) -> bool:
        """
        Whether other occupants receive the presence of occupants with
        C{role} (C{muc#roomconfig_presencebroadcast}, section 10.2); an
        occupant always receives its own.
        """
        return role in self.config.presenceBroadcast

    def defaultRole(self, affiliation: Affiliation) -> Role:
        """
        The role someone with C{affiliation} gets on entering: the first
        feature with an opinion decides, else section 5.1.2.
        """
        for feature in self.features:
            role = feature.defaultRole(self, affiliation)
            if role is not None:
                return role
        return defaultRoleFor(affiliation)

    def discoFeatures(self) -> List[str]:
        """
        @return: the room's disco#info features (section 6.4).
        """
        features = list(ROOM_FEATURES)
        for feature in self.features:
            features.extend(feature.discoFeatures(self))
        return features

    def configFields(self) -> List[ConfigField]:
        """
        @return: the configuration form's fields, in feature order, with the
            current values (section 10.2).
        """
        fields: List[ConfigField] = []
        for feature in self.features:
            fields.extend(feature.configFields(self))
        return fields

    def infoFields(self) -> List[ConfigField]:
        """
        @return: the fields of the C{muc#roominfo} form in disco#info
            (section 6.4, XEP-0128).
        """
        config = self.config
        fields = [
            ConfigField("muc#roominfo_description", "text-single",
                        "Description", (config.description,)),
            ConfigField("muc#roomconfig_roomname", "text-single",
                        "Name", (config.name,)),
            ConfigField("muc#roominfo_subject", "text-single",
                        "Current discussion topic", (self.subject,)),
            ConfigField("muc#roominfo_occupants", "text-single",
                        "Number of occupants", (str(len(self.occupants)),)),
            ConfigField("muc#roomconfig_changesubject", "boolean",
                        "Occupants may change the subject",
                        ("1" if config.changeSubject else "0",)),
            ConfigField("muc#roominfo_subjectmod", "boolean",
                        "The room subject can be modified by participants",
                        ("1" if config.changeSubject else "0",)),
            ConfigField("muc#maxhistoryfetch", "text-single",
                        "Maximum number of history messages returned by room",
                        (str(config.historyLength),)),
            ConfigField("muc#roomconfig_allowinvites", "boolean",
                        "Occupants may invite others",
                        ("1" if config.allowInvites else "0",)),
        ]
        if config.language:
            fields.append(ConfigField("muc#roominfo_lang", "text-single",
                                      "Language of discussion", (config.language,)))
        return fields

    # Entering, presence, nicks, leaving.

    def join(
        self,
        session: jid.JID,
        nick: str,
        payload: Any,
        password: Optional[str] = None,
    ) -> Join:
        """
        A session enters the room (section 7.2).

        Checked in this order: the nick is allowed (L{enforceNick}: 7.2,
        17.1), the room is not locked to non-owners (7.2.10), the user is
        not banned (7.2.7), each feature's C{checkJoin} (members-only
        7.2.6, password 7.2.5, maximum users 7.2.9), and the nick is not
        someone else's (7.2.8).

        The occupant's nick is the enforced one; a session joins the
        occupant of its bare JID whose nick compares equal (L{nickKey}).
        If that differs from C{nick}, the self-presence has 210 (7.2.2).

        @param session: the real full JID; not yet an occupant.
        @param payload: its presence payload.
        @raise errors.Refusal: the session may not enter.
        """
        if session in self._sessions:
            raise ValueError(f"{session.full()} is already in {self.jid.full()}")
        requested = nick
        nick = enforceNick(nick)
        user = bare(session)
        affiliation = self.affiliationOf(user)
        if not self.existsFor(user):
            raise errors.RoomNotFound(
                "this room is locked until its owner configures it"
            )
        if affiliation is Affiliation.OUTCAST:
            raise errors.Banned("you are banned from this room")
        held = self._nickKeys.get(nickKey(nick))
        if held is not None and held.realJID == user:
            nick = held.nick
        attempt = JoinAttempt(
            session, nick, password, affiliation,
            addsOccupant=held is None or held.realJID != user,
        )
        for feature in self.features:
            feature.checkJoin(self, attempt)
        self._checkNick(user, nick)
        statuses = set(self.entryStatuses())
        if self.created:
            statuses.add(Status.ROOM_CREATED)
            self.created = False
        if nick != requested:
            statuses.add(Status.NICK_ASSIGNED)
        if held is None:
            occupant = Occupant(
                self, nick, user, self.defaultRole(affiliation), self.occupantIdOf(user)
            )
            self.occupants[nick] = occupant
            self._nickKeys[nickKey(nick)] = occupant
        else:
            occupant = held
        occupant.sessions[session] = payload
        self._sessions[session] = occupant
        return Join(occupant, session, held is None, frozenset(statuses))

    def _checkNick(
        self, user: jid.JID, nick: str, allowSelf: bool = True, changing: Optional[Occupant] = None
    ) -> None:
        """
        Nicks compare as RFC 8266 section 2.4 says (L{nickKey}): C{Witch}
        is C{witch}'s nick too.

        @param changing: the occupant whose nick this would be; it may take
            another form of its own nick (section 7.6).
        @raise errors.NickConflict: C{nick} is held or registered by another
            bare JID (sections 7.2.8 and 7.6); with C{allowSelf} false, also
            if another occupant of C{user} holds it.
        """
        key = nickKey(nick)
        held = self._nickKeys.get(key)
        if held is not None and held is not changing and (held.realJID != user or not allowSelf):
            raise errors.NickConflict(f"the nickname {held.nick!r} is in use in this room")
        self._checkReservedNick(user, nick, "registered to")

    def updatePresence(self, session: jid.JID, payload: Any) -> Occupant:
        """
        A session's new presence (section 7.7): it becomes what others see.

        @raise errors.NotOccupant: the session is not in the room.
        """
        occupant = self._occupantOrRefuse(session)
        occupant.sessions[session] = payload
        occupant.sessions.move_to_end(session)
        return occupant

    def changeNick(self, session: jid.JID, nick: str, payload: Any) -> NickChange:
        """
        Change the nick of the session's occupant (section 7.6) to the
        enforced C{nick} (L{enforceNick}); it may take another form of its
        own nick (C{Witch} for C{witch}).

        All sessions of the occupant move with it: they share the nick.
        Taking a nick another occupant of the same bare JID holds is a
        conflict too (the service may refuse it, section 7.6).

        @raise errors.Refusal: not an occupant, an invisible nick, or a
            conflict.
        """
        occupant = self._occupantOrRefuse(session)
        requested = nick
        nick = enforceNick(nick)
        if not self.may(occupant.role, Privilege.CHANGE_NICK):
            raise errors.Forbidden("you may not change your nickname in this room")
        self._checkNick(occupant.realJID, nick, allowSelf=False, changing=occupant)
        oldNick = occupant.nick
        # Keep the order of arrival: the occupant keeps its place.
        self.occupants = collections.OrderedDict(
            (nick if key == oldNick else key, value)
            for key, value in self.occupants.items()
        )
        del self._nickKeys[nickKey(oldNick)]
        self._nickKeys[nickKey(nick)] = occupant
        occupant.nick = nick
        occupant.sessions[session] = payload
        occupant.sessions.move_to_end(session)
        self._forgetPendingIQs(oldNick)
        return NickChange(occupant, oldNick, nick != requested)

    def leave(
        self,
        session: jid.JID,
        payload: Any = None,
        statuses: Iterable[Status] = (),
    ) -> Optional[Departure]:
        """
        A session leaves (section 7.14), or is removed (with C{statuses}
        such as 333 for a ghost, section 18.1.2).

        @return: the L{Departure}, or L{None} if the session was not in the
            room (section 17.3: silently ignored).
        """
        occupant = self._sessions.pop(session, None)
        if occupant is None:
            return None
        wasShown = occupant.shownJID == session
        del occupant.sessions[session]
        last = not occupant.sessions
        previousRole = occupant.role
        if last:
            occupant.role = Role.NONE
            del self.occupants[occupant.nick]
            del self._nickKeys[nickKey(occupant.nick)]
            self._forgetPendingIQs(occupant.nick)
        return Departure(
            occupant, session, last, wasShown and not last, frozenset(statuses), payload,
            previousRole,
        )

    def _occupantOrRefuse(self, session: jid.JID) -> Occupant:
        occupant = self._sessions.get(session)
        if occupant is None:
            raise errors.NotOccupant("you are not in this room")
        return occupant

    # Messages.

    def groupchatSender(self, session: jid.JID) -> Occupant:
        """
        Check that a session may send a message to all occupants (section
        7.4): an occupant with voice.

        @raise errors.NotOccupant: not in the room.
        @raise errors.Forbidden: a visitor in a moderated room.
        """
        occupant = self._occupantOrRefuse(session)
        if not self.may(occupant.role, Privilege.SEND_MESSAGES_TO_ALL):
            raise errors.Forbidden("visitors may not speak in this moderated room")
        return occupant

    def newStanzaId(self) -> str:
        """
        @return: a fresh XEP-0359 stanza id, unique within the room.
        """
        return self.ids.newId()

    def addHistory(self, payload: Any, size: int) -> HistoryEntry:
        """
        Keep a groupchat message for newcomers; only the last
        C{historyLength} are kept.

        @param size: the message's length in characters.
        """
        entry = HistoryEntry(payload, self.clock.seconds(), size)
        if self.history.maxlen:
            self.history.append(entry)
        return entry

    def historyFor(self, request: Optional[HistoryRequest] = None) -> List[HistoryEntry]:
        """
        The history to send a newcomer, oldest first (section 7.2.14): the
        most recent messages that meet every limit of C{request} at once,
        and the room's history length; complete messages only.
        """
        if request is None:
            request = HistoryRequest()
        cutoff = None
        if request.seconds is not None:
            cutoff = self.clock.seconds() - request.seconds
        if request.since is not None:
            cutoff = request.since if cutoff is None else max(cutoff, request.since)
        selected: List[HistoryEntry] = []
        chars = 0
        for entry in reversed(self.history):
            if request.maxStanzas is not None and len(selected) >= request.maxStanzas:
                break
            if cutoff is not None and entry.stamp < cutoff:
                break
            if request.maxChars is not None and chars + entry.size > request.maxChars:
                break
            chars += entry.size
            selected.append(entry)
        selected.reverse()
        return selected

    def setSubject(self, session: jid.JID, subject: str) -> Occupant:
        """
        Change the subject (section 8.1); an empty subject removes it.

        @raise errors.NotOccupant: not in the room.
        @raise errors.Forbidden: the occupant may not (moderators may;
            participants if C{changesubject} is on).
        """
        occupant = self._occupantOrRefuse(session)
        if not self.may(occupant.role, Privilege.MODIFY_SUBJECT):
            raise errors.Forbidden("only moderators may change the subject of this room")
        self.subject = subject
        self.subjectBy = occupant.nick
        self.subjectSetter = occupant.realJID
        self.subjectStamp = self.clock.seconds()
        return occupant

    def privateMessage(self, session: jid.JID, nick: str) -> Tuple[Occupant, Occupant]:
        """
        Check a private message to an occupant (section 7.5).

        @return: the sending and the receiving L{Occupant}.
        @raise errors.NotOccupant: the sender is not in the room.
        @raise errors.OccupantNotFound: no one has C{nick}.
        @raise errors.NoNickname: no one could have C{nick} (L{addressed}).
        @raise errors.Forbidden: C{allowpm} forbids it.
        """
        sender = self._occupantOrRefuse(session)
        recipient = self.addressed(nick)
        if recipient is None:
            raise errors.OccupantNotFound(f"there is no {nick!r} in this room")
        if not self.may(sender.role, Privilege.SEND_PRIVATE_MESSAGES):
            raise errors.Forbidden("private messages are not allowed for you in this room")
        return sender, recipient

    # Invitations and voice requests (sections 7.8, 7.13, 8.6).

    def invite(
        self, session: jid.JID, invitees: Sequence[Tuple[jid.JID, Optional[str]]]
    ) -> AdminChange:
        """
        Mediated invitations (section 7.8.2) from an occupant.

        In a members-only room only admins and owners may invite, unless
        C{allowinvites} lets every occupant (9.5); either way each invitee
        without an affiliation becomes a member (7.8.2 and 9.5: an
        invitation sent through an open room never does).

        @param invitees: C{(JID, reason)} pairs; the reason may be L{None}.
        @return: the L{Invitation}s to send, with C{durable} set if the
            member list grew.
        @raise errors.NotOccupant: the sender is not in the room.
        @raise errors.BadRequest: no invitee.
        @raise errors.Forbidden: the sender may not invite.
        """
        occupant = self._occupantOrRefuse(session)
        if not invitees:
            raise errors.BadRequest("an invitation needs an invitee")
        if not self.may(occupant.role, Privilege.INVITE):
            raise errors.Forbidden("you may not invite others to this room")
        if (
            self.config.membersOnly
            and not self.config.allowInvites
            and occupant.affiliation.rank < Affiliation.ADMIN.rank
        ):
            raise errors.Forbidden(
                "only admins and owners may invite others to this members-only room"
            )
        password = self.config.password if self.config.passwordProtected else None
        invitations = []
        added = False
        for invitee, reason in invitees:
            user = bare(invitee)
            if (
                self.config.membersOnly
                and user.user is not None
                and self.affiliationOf(user) is Affiliation.NONE
            ):
                self.affiliations[user] = Affiliation.MEMBER
                added = True
            invitations.append(Invitation(invitee, session, reason, password))
        return AdminChange((), tuple(invitations), added)

    def declineRecipients(self, inviter: jid.JID) -> List[jid.JID]:
        """
        Where a declined invitation goes (section 7.8.3): to the sessions
        of the occupant if C{inviter} is an occupant JID of this room,
        else to C{inviter} as given.

        @raise errors.OccupantNotFound: no one has that occupant JID.
        """
        if inviter.resource is not None and bare(inviter) == self.jid:
            occupant = self.occupants.get(inviter.resource)
            if occupant is None:
                raise errors.OccupantNotFound(f"there is no {inviter.resource!r} in this room")
            return occupant.sessionJIDs
        return [inviter]

    def requestVoice(self, session: jid.JID) -> Optional[VoiceRequest]:
        """
        An occupant asks for voice (section 7.13).

        @return: the request to pass on to the moderators, or L{None} if the
            occupant is not a visitor (it has voice already).
        @raise errors.NotOccupant: not in the room.
        """
        occupant = self._occupantOrRefuse(session)
        if occupant.role is not Role.VISITOR:
            return None
        moderators = tuple(
            moderatorSession
            for other in self.occupants.values()
            if other.role is Role.MODERATOR
            for moderatorSession in other.sessions
        )
        return VoiceRequest(occupant, session, moderators)

    def approveVoice(
        self, moderator: jid.JID, nick: Optional[str], realJID: Optional[jid.JID]
    ) -> AdminChange:
        """
        A moderator approves a voice request (section 8.6): the visitor,
        named by nick or else by real JID, gets voice as in section 8.3.
        Nothing changes if it left or has voice by now.

        @raise errors.Refusal: as L{administer}.
        """
        target = self.occupants.get(nick) if nick else None
        if target is None and realJID is not None:
            target = self.occupantOf(realJID)
        if target is None or target.role is not Role.VISITOR:
            self._checkModerator(self.occupantOf(moderator))
            return AdminChange()
        return self.administer(
            moderator, [AdminItem(role=Role.PARTICIPANT, nick=target.nick)]
        )

    # Registration (sections 7.10 and 7.12).

    def registeredNick(self, user: jid.JID) -> Optional[str]:
        """
        The nick reserved for a user (section 7.12), or L{None}.
        """
        return self.nicks.get(bare(user))

    def checkRegistration(self, user: jid.JID) -> Optional[str]:
        """
        Whether a user may register (section 7.10): an unaffiliated user
        with an open room, and members, admins and owners to reserve a
        nick. Outcasts may not, nor the unaffiliated in a members-only room
        (membership is the admins' to give there).

        @return: the user's reserved nick if registered, or L{None}.
        @raise errors.NotAllowed: the user may not register.
        """
        affiliation = self.affiliationOf(user)
        if affiliation is Affiliation.OUTCAST or (
            self.config.membersOnly and affiliation.rank < Affiliation.MEMBER.rank
        ):
            raise errors.NotAllowed("you may not register with this room")
        return self.registeredNick(user)

    def register(self, session: jid.JID, nick: Optional[str]) -> AdminChange:
        """
        Register with the room (section 7.10): the user becomes a member
        (keeping a higher affiliation) with C{nick} reserved; an occupant's
        presence shows the new affiliation.

        @param nick: the nick to reserve, or L{None} to cancel the
            registration (XEP-0077 C{<remove/>}): the reserved nick goes,
            and a member's membership.
        @raise errors.NotAllowed: the user may not register.
        @raise errors.NoNickname: a nick the Nickname profile refuses
            (L{enforceNick}); the enforced nick is the one reserved.
        @raise errors.NickConflict: another user holds or reserved the nick.
        """
        user = bare(session)
        self.checkRegistration(user)
        affiliation = self.affiliations.get(user, Affiliation.NONE)
        if nick is None:
            new = Affiliation.NONE if affiliation is Affiliation.MEMBER else affiliation
            self._checkOwnersRemain({user: new})
            updates, _, notices = self._applyAffiliations({user: (new, None, "")}, None, None)
            return AdminChange(tuple(updates), (), True, tuple(notices))
        nick = enforceNick(nick)
        held = self._nickKeys.get(nickKey(nick))
        if held is not None and held.realJID != user:
            raise errors.NickConflict(f"the nickname {held.nick!r} is in use in this room")
        self._checkReservedNick(user, nick)
        new = affiliation if affiliation.rank > Affiliation.MEMBER.rank else Affiliation.MEMBER
        updates, _, notices = self._applyAffiliations(
            {user: (new, self.reasons.get(user), nick)}, None, None
        )
        return AdminChange(tuple(updates), (), True, tuple(notices))

    # Roles and affiliations (sections 8.2-8.5, 9, 10.3-10.8).

    def administer(self, actor: jid.JID, items: Sequence[AdminItem]) -> AdminChange:
        """
        Change roles and affiliations: kick (8.2), grant and revoke voice
        (8.3, 8.4) and moderator status (9.6, 9.7), ban (9.1), grant and
        revoke membership (9.3, 9.4), admin (10.6, 10.7) and owner status
        (10.3, 10.4), or send a delta of any list (8.5, 9.2, 9.5, 9.8,
        10.5, 10.8).

        Every item is checked before anything changes: if one is refused,
        none is applied (section 9.2). Affiliations are set by bare JID,
        whether or not the user is present; present occupants take the
        consequences: an outcast is removed with 301, a user who is no
        longer a member of a members-only room with 321, otherwise the
        role follows the new affiliation (section 5.1.2: gained with it, and
        reset to the default on a downgrade, as Prosody does).

        @param actor: the requester's real full JID.
        @return: the L{AdminChange}: occupants to announce, invitations
            (9.5) to send.
        @raise errors.BadRequest: an item sets neither or both of a role
            and an affiliation, or names nobody.
        @raise errors.Forbidden: the actor lacks the role or affiliation
            the change needs (a moderator for roles, an admin for
            affiliations and the moderator role, an owner for admins and
            owners).
        @raise errors.NotAllowed: the target's affiliation protects it
            (8.2, 8.4, 9.1, 9.7).
        @raise errors.Conflict: an admin bans itself (9.1), or no owner
            would remain (10.7).
        @raise errors.NickConflict: a reserved nick belongs to another user.
        @raise errors.OccupantNotFound: no occupant has the nick.
        """
        if not items:
            raise errors.BadRequest("expected at least one item")
        actorAffiliation = self.affiliationOf(actor)
        actorOccupant = self.occupantOf(actor)
        affiliations: Dict[jid.JID, Tuple[Affiliation, Optional[str], Optional[str]]] = {}
        roles: List[Tuple[Occupant, AdminItem]] = []
        for item in items:
            if item.affiliation is not None and item.role is None:
                user = self._itemUser(item)
                self._checkAffiliationChange(actor, actorAffiliation, user, item.affiliation)
                reserved = item.nick if item.jid is not None else None
                if reserved:
                    # Section 9.5: the nick reserved for the user; an empty
                    # one unsets it.
                    reserved = enforceNick(reserved)
                affiliations[user] = (item.affiliation, item.reason, reserved)
            elif item.role is not None and item.affiliation is None:
                if not item.nick:
                    raise errors.BadRequest("a role change names an occupant by its nick")
                target = self.addressed(item.nick)
                self._checkRoleChange(actorOccupant, actorAffiliation, target, item.role)
                roles.append((target, item))  # type: ignore[arg-type]
            else:
                raise errors.BadRequest(
                    "each item must change either a role or an affiliation"
                )
        self._checkOwnersRemain({user: change[0] for user, change in affiliations.items()})
        for user, (affiliation, _, reserved) in affiliations.items():
            if reserved and affiliation.rank >= Affiliation.MEMBER.rank:
                self._checkReservedNick(user, reserved)
        actorNick = actorOccupant.nick if actorOccupant is not None else None
        updates, invitations, notices = self._applyAffiliations(affiliations, bare(actor), actorNick)
        for target, item in roles:
            if self.occupants.get(target.nick) is target:
                update = self._setRole(target, item.role, item.reason, actorNick)  # type: ignore[arg-type]
                if update is not None:
                    updates.append(update)
        return AdminChange(tuple(updates), tuple(invitations), bool(affiliations), tuple(notices))

    def adminList(self, actor: jid.JID, item: AdminItem) -> List[ListEntry]:
        """
        An affiliation list (outcasts 9.2, members 9.5, admins 10.8, owners
        10.5), sorted by JID, or a role list (voice 8.5: participants,
        visitors; moderators 9.8), in order of arrival.

        An affiliation list names users, present or not: each entry has the
        bare JID, the affiliation, the reserved nick (7.10, 9.5) and the
        reason, and no role (as Prosody answers; section 9.5's example 130
        shows a role, which clients such as Converse.js read as a role
        change). A role list names occupants: shown JID, nick, role and
        affiliation (examples 104 and 147).

        @raise errors.BadRequest: the item asks for neither or both, or
            for the unaffiliated or role C{none}.
        @raise errors.Forbidden: the actor may not see that list
            (L{mayRetrieve}; role lists: moderators, and admins for the
            moderator list).
        """
        if item.affiliation is not None and item.role is None:
            affiliation = item.affiliation
            if affiliation is Affiliation.NONE:
                raise errors.BadRequest("there is no list of unaffiliated users")
            if not self.mayRetrieve(actor, affiliation):
                raise errors.Forbidden(f"you may not see the {affiliation.value} list")
            entries = []
            for user, held in sorted(self.affiliations.items(), key=lambda i: i[0].full()):
                if held is not affiliation:
                    continue
                entries.append(ListEntry(
                    user, held, None, self.nicks.get(user), self.reasons.get(user)
                ))
            return entries
        if item.role is not None and item.affiliation is None:
            role = item.role
            if role is Role.NONE:
                raise errors.BadRequest("there is no list of role none")
            actorAffiliation = self.affiliationOf(actor)
            if actorAffiliation.rank < Affiliation.ADMIN.rank:
                if role is Role.MODERATOR:
                    raise errors.Forbidden("only admins and owners may see the moderator list")
                self._checkModerator(self.occupantOf(actor))
            return [
                ListEntry(o.shownJID, o.affiliation, o.role, o.nick)
                for o in self.occupants.values()
                if o.role is role
            ]
        raise errors.BadRequest("ask for one affiliation or one role")

    def mayRetrieve(self, actor: jid.JID, affiliation: Affiliation) -> bool:
        """
        Whether C{actor} may see the list of C{affiliation}: admins see the
        outcasts (9.2) and the members (9.5), owners every list. Others see
        the member list if they may see real JIDs (5.2.1, note ***) and,
        when present, have a role in C{getmemberlist}; members who are not
        present only in non-anonymous rooms (9.5). The admin and owner
        lists are for owners in semi-anonymous rooms (10.5, 10.8); in
        non-anonymous rooms whoever sees the member list sees them too.
        """
        actorAffiliation = self.affiliationOf(actor)
        if affiliation is Affiliation.OUTCAST:
            return actorAffiliation.rank >= Affiliation.ADMIN.rank
        if actorAffiliation is Affiliation.OWNER:
            return True
        if affiliation is Affiliation.MEMBER and actorAffiliation is Affiliation.ADMIN:
            return True
        nonAnonymous = self.config.whois == "anyone"
        if affiliation.rank >= Affiliation.ADMIN.rank and not nonAnonymous:
            return False
        occupant = self.occupantOf(actor)
        if occupant is None:
            return nonAnonymous and actorAffiliation.rank >= Affiliation.MEMBER.rank
        return occupant.role in self.config.getMemberList and self.canSeeRealJIDs(occupant)

    def noticeRecipients(self) -> List[jid.JID]:
        """
        The sessions to tell of an absent user's new affiliation
        (L{AffiliationNotice}): those of occupants who may see real JIDs,
        since the notice names the user by its JID (moderators only in a
        semi-anonymous room, as Prosody does).
        """
        return [
            session
            for occupant in self.occupants.values()
            if self.canSeeRealJIDs(occupant)
            for session in occupant.sessionJIDs
        ]

    def _occupantsOf(self, user: jid.JID) -> List[Occupant]:
        """
        The occupants a user's affiliation applies to: its own, or for a
        domain every occupant of the domain without an affiliation of its
        own.
        """
        if user.user is not None:
            return [o for o in self.occupants.values() if o.realJID == user]
        return [
            o for o in self.occupants.values()
            if o.realJID.host == user.host and o.realJID not in self.affiliations
        ]

    def _itemUser(self, item: AdminItem) -> jid.JID:
        """
        The bare JID an affiliation item names (sections 10.3, 10.6: a full
        JID stands for its bare JID); or the occupant with its nick.
        """
        if item.jid is not None:
            return bare(item.jid)
        if item.nick:
            occupant = self.addressed(item.nick)
            if occupant is None:
                raise errors.OccupantNotFound(f"there is no {item.nick!r} in this room")
            return occupant.realJID
        raise errors.BadRequest("an affiliation change names a user by its JID")

    def _checkModerator(self, occupant: Optional[Occupant]) -> None:
        """
        @raise errors.Forbidden: not a present moderator (section 8).
        """
        if occupant is None or occupant.role is not Role.MODERATOR:
            raise errors.Forbidden("only moderators may do this")

    def _checkRoleChange(
        self,
        actor: Optional[Occupant],
        actorAffiliation: Affiliation,
        target: Optional[Occupant],
        role: Role,
    ) -> None:
        """
        The rules of sections 8.2-8.4, 9.6, 9.7 and the role state chart
        (5.1.3).
        """
        self._checkModerator(actor)
        if target is None:
            raise errors.OccupantNotFound("there is no such occupant in this room")
        if role is target.role:
            return
        targetAffiliation = target.affiliation
        if role is Role.NONE:
            # Section 8.2: no kicking a higher affiliation; and (5.1.3,
            # 5.2.1 note **) admins and owners only by a higher one, and
            # moderators only by admins and owners.
            if targetAffiliation.rank > actorAffiliation.rank or (
                targetAffiliation.rank >= Affiliation.ADMIN.rank
                and targetAffiliation.rank >= actorAffiliation.rank
            ):
                raise errors.NotAllowed(
                    f"you may not kick someone who is {targetAffiliation.value} of this room"
                )
            if target.role is Role.MODERATOR and actorAffiliation.rank < Affiliation.ADMIN.rank:
                raise errors.NotAllowed("only admins and owners may kick moderators")
            return
        if targetAffiliation.rank >= Affiliation.ADMIN.rank and role is not Role.MODERATOR:
            # Sections 8.4 and 9.7: admins and owners keep voice and
            # moderator status.
            raise errors.NotAllowed(
                f"an {targetAffiliation.value} of this room stays a moderator"
            )
        if Role.MODERATOR in (role, target.role) and actorAffiliation.rank < Affiliation.ADMIN.rank:
            raise errors.Forbidden("only admins and owners may grant or revoke moderator status")
        if role is Role.VISITOR and targetAffiliation.rank > actorAffiliation.rank:
            raise errors.NotAllowed("you may not revoke the voice of a higher affiliation")

    def _checkAffiliationChange(
        self,
        actor: jid.JID,
        actorAffiliation: Affiliation,
        user: jid.JID,
        affiliation: Affiliation,
    ) -> None:
        """
        The rules of sections 9.1, 10.3-10.8 and the affiliation state
        chart (5.2.2): admins edit outcasts and members, owners every list.
        """
        if actorAffiliation.rank < Affiliation.ADMIN.rank:
            raise errors.Forbidden("only admins and owners may change affiliations")
        if affiliation is Affiliation.OUTCAST and user == bare(actor):
            raise errors.Conflict("you may not ban yourself")
        if actorAffiliation is Affiliation.OWNER:
            return
        if affiliation.rank >= Affiliation.ADMIN.rank:
            raise errors.Forbidden("only owners may grant admin or owner status")
        current = self.affiliations.get(user, Affiliation.NONE)
        if current.rank >= Affiliation.ADMIN.rank:
            raise errors.NotAllowed(
                f"only owners may change the affiliation of an {current.value}"
            )

    def _checkOwnersRemain(self, changes: Mapping[jid.JID, Affiliation]) -> None:
        """
        @raise errors.Conflict: no owner would remain (sections 10.4, 10.7).
        """
        owners = {u for u, a in self.affiliations.items() if a is Affiliation.OWNER}
        for user, affiliation in changes.items():
            if affiliation is Affiliation.OWNER:
                owners.add(user)
            else:
                owners.discard(user)
        if not owners:
            raise errors.Conflict("a room must keep at least one owner")

    def _checkReservedNick(self, user: jid.JID, nick: str, verb: str = "reserved by") -> None:
        """
        @raise errors.NickConflict: another user reserved C{nick} or a nick
            that compares equal (7.10, L{nickKey}).
        """
        key = nickKey(nick)
        for other, reserved in self.nicks.items():
            if other != user and nickKey(reserved) == key:
                raise errors.NickConflict(f"the nickname {reserved!r} is {verb} another user")

    def _applyAffiliations(
        self,
        changes: Mapping[jid.JID, Tuple[Affiliation, Optional[str], Optional[str]]],
        inviter: Optional[jid.JID],
        actorNick: Optional[str],
    ) -> Tuple[List[OccupantUpdate], List[Invitation], List[AffiliationNotice]]:
        """
        Set checked affiliations: bare JIDs to C{(affiliation, reason,
        reserved nick)}. A ban forgets the reserved nick (9.1), and so does
        losing every affiliation. Returns the present occupants' updates,
        when C{inviter} is given the invitations of section 9.5, and the
        notices of absent users' changed affiliations.
        """
        updates: List[OccupantUpdate] = []
        invitations: List[Invitation] = []
        notices: List[AffiliationNotice] = []
        password = self.config.password if self.config.passwordProtected else None
        for user, (affiliation, reason, reserved) in changes.items():
            previous = self.affiliations.get(user, Affiliation.NONE)
            before = [(o, o.affiliation, o.role) for o in self._occupantsOf(user)]
            if affiliation is Affiliation.NONE:
                self.affiliations.pop(user, None)
                self.reasons.pop(user, None)
                self.nicks.pop(user, None)
            else:
                self.affiliations[user] = affiliation
                if reason:
                    self.reasons[user] = reason
                else:
                    self.reasons.pop(user, None)
                if affiliation is Affiliation.OUTCAST or reserved == "":
                    self.nicks.pop(user, None)
                elif reserved:
                    self.nicks[user] = reserved
            if (
                inviter is not None
                and self.config.membersOnly
                and affiliation is Affiliation.MEMBER
                and previous.rank < Affiliation.MEMBER.rank
                and user.user is not None
                and not before
            ):
                # Section 9.5: a new member of a members-only room is
                # invited.
                invitations.append(Invitation(user, inviter, reason, password))
            if not before and affiliation is not previous:
                notices.append(AffiliationNotice(user, affiliation))
            for occupant, oldAffiliation, oldRole in before:
                update = self._followAffiliation(occupant, oldAffiliation, oldRole, reason, actorNick)
                if update is not None:
                    updates.append(update)
        return updates, invitations, notices

    def _followAffiliation(
        self,
        occupant: Occupant,
        oldAffiliation: Affiliation,
        oldRole: Role,
        reason: Optional[str],
        actorNick: Optional[str],
    ) -> Optional[OccupantUpdate]:
        """
        What a present occupant's new affiliation does to it: removal
        (301, or 321 in a members-only room, 9.4) or a new role.

        @return: the update, or L{None} if nothing others see changed.
        """
        affiliation = occupant.affiliation
        statuses = None
        if affiliation is Affiliation.OUTCAST:
            statuses = [Status.BANNED]
        elif self.config.membersOnly and affiliation.rank < Affiliation.MEMBER.rank:
            statuses = [Status.AFFILIATION_LOST]
        if statuses is not None:
            departures = self.removeOccupant(occupant, statuses)
            return OccupantUpdate(occupant, oldRole, tuple(departures), reason, actorNick)
        default = self.defaultRole(affiliation)
        if default is not occupant.role and (
            affiliation.rank < oldAffiliation.rank or default.rank > occupant.role.rank
        ):
            occupant.role = default
        if (affiliation, occupant.role) == (oldAffiliation, oldRole):
            return None
        return OccupantUpdate(occupant, oldRole, (), reason, actorNick)

    def _setRole(
        self, occupant: Occupant, role: Role, reason: Optional[str], actorNick: Optional[str]
    ) -> Optional[OccupantUpdate]:
        """
        Set a checked role; C{none} removes the occupant with 307 (8.2).
        """
        previous = occupant.role
        if role is previous:
            return None
        if role is Role.NONE:
            departures = self.removeOccupant(occupant, [Status.KICKED])
            return OccupantUpdate(occupant, previous, tuple(departures), reason, actorNick)
        occupant.role = role
        return OccupantUpdate(occupant, previous, (), reason, actorNick)

    # IQs to occupant JIDs (section 17.4, XEP-0410).

    def isSelfPing(self, session: jid.JID, nick: str) -> bool:
        """
        Whether an IQ from C{session} to C{nick} is addressed to the
        session's own occupant JID (XEP-0410 section 3.3).

        @raise errors.NotOccupant: the session is not in the room: the
            answer that tells a client to rejoin.
        """
        return self._occupantOrRefuse(session).nick == nick

    def forwardIQ(self, session: jid.JID, nick: str, iqId: str) -> ForwardedIQ:
        """
        Forward an IQ request to the real JID behind C{nick}: the session
        whose presence is shown.

        @raise errors.NotOccupant: the sender is not in the room.
        @raise errors.OccupantNotFound: no one has C{nick}.
        """
        sender = self._occupantOrRefuse(session)
        recipient = self.addressed(nick)
        if recipient is None:
            raise errors.OccupantNotFound(f"there is no {nick!r} in this room")
        forwarded = ForwardedIQ(self.ids.newId("muc-"), sender.jid, recipient.shownJID)
        self._pendingIQs[forwarded.id] = _PendingIQ(
            session, iqId, forwarded.recipient, recipient.nick, sender.nick
        )
        while len(self._pendingIQs) > MAX_PENDING_IQS:
            self._pendingIQs.popitem(last=False)
        return forwarded

    def answerIQ(self, session: jid.JID, nick: str, iqId: str) -> Optional[AnsweredIQ]:
        """
        Match an IQ result or error from C{session} to C{nick} with a
        forwarded request.

        @return: where to route it, or L{None} if it answers nothing this
            room forwarded from that occupant to that session.
        """
        pending = self._pendingIQs.get(iqId)
        if (
            pending is None
            or pending.responder != session
            or pending.requesterNick != nick
        ):
            return None
        del self._pendingIQs[iqId]
        responder = self.occupants.get(pending.responderNick)
        if responder is None:
            return None
        return AnsweredIQ(pending.originalId, responder.jid, pending.requester)

    def _forgetPendingIQs(self, nick: str) -> None:
        for key, pending in list(self._pendingIQs.items()):
            if nick in (pending.responderNick, pending.requesterNick):
                del self._pendingIQs[key]

    # Owners.

    def configure(self, actor: jid.JID, values: Mapping[str, Sequence[str]]) -> ConfigChange:
        """
        Apply a submitted configuration form (sections 10.1.3 and 10.2);
        empty C{values} accept the current configuration (an instant room,
        section 10.1.2). Either way a locked room is unlocked.

        Fields not in C{values} keep their value. Nothing changes unless
        every feature accepts its fields. The admin and owner lists of the
        form (C{muc#roomconfig_roomadmins}, C{_roomowners}) are complete
        lists, not deltas (10.5 and 10.8, notes): whoever a submitted list
        leaves out loses that affiliation and becomes a member of a
        members-only room, unaffiliated otherwise (as section 10.7
        suggests).

        @param values: field C{var}s mapped to their values, as strings.
        @raise errors.Forbidden: C{actor} is not an owner.
        @raise errors.Conflict: the owner list is empty (10.7).
        @raise errors.Refusal: a field is invalid (C{bad-request}) or the
            whole unacceptable (C{not-acceptable}, e.g. a password-protected
            room without a password).
        """
        self.checkOwner(actor)
        before = self.config
        new = self.config.copy()
        statuses = set()
        lists: Dict[Affiliation, FrozenSet[jid.JID]] = {}
        for feature in self.features:
            statuses.update(feature.applyConfig(self, new, values))
            listed = feature.affiliationList(self, values)
            if listed is not None:
                lists[listed[0]] = frozenset(bare(user) for user in listed[1])
        changes = self._listChanges(lists, new)
        self._checkOwnersRemain(changes)
        self.config = new
        if self.history.maxlen != new.historyLength:
            self.history = collections.deque(self.history, maxlen=new.historyLength)
        unlocked = self.locked
        self.locked = False
        actorOccupant = self.occupantOf(actor)
        updates, _, notices = self._applyAffiliations(
            {user: (affiliation, None, None) for user, affiliation in changes.items()},
            None,
            actorOccupant.nick if actorOccupant is not None else None,
        )
        removed: List[Departure] = []
        if new.membersOnly:
            # Section 10.2: non-members leave a room made members-only (322).
            for occupant in list(self.occupants.values()):
                if occupant.affiliation.rank < Affiliation.MEMBER.rank:
                    removed.extend(self.removeOccupant(occupant, [Status.MEMBERS_ONLY]))
        visibility = [
            (o, o.role in before.presenceBroadcast, o.role in new.presenceBroadcast)
            for o in self.occupants.values()
        ]
        return ConfigChange(
            frozenset(statuses), unlocked, tuple(removed), tuple(updates),
            shown=tuple(o for o, was, now in visibility if now and not was),
            hidden=tuple(o for o, was, now in visibility if was and not now),
            notices=tuple(notices),
        )

    def _listChanges(
        self, lists: Mapping[Affiliation, FrozenSet[jid.JID]], config: RoomConfig
    ) -> Dict[jid.JID, Affiliation]:
        """
        The affiliation changes that complete admin and owner lists ask
        for (L{configure}); an owner named in the admin list stays an owner
        unless the owner list was submitted too.
        """
        fallback = Affiliation.MEMBER if config.membersOnly else Affiliation.NONE
        target: Dict[jid.JID, Affiliation] = {}
        for affiliation in (Affiliation.OWNER, Affiliation.ADMIN):
            if affiliation not in lists:
                continue
            for user, held in self.affiliations.items():
                if held is affiliation and user not in lists[affiliation]:
                    target.setdefault(user, fallback)
            for user in lists[affiliation]:
                if target.get(user) is Affiliation.OWNER:
                    continue
                if Affiliation.OWNER not in lists and self.affiliations.get(user) is Affiliation.OWNER:
                    continue
                target[user] = affiliation
        return {
            user: affiliation
            for user, affiliation in target.items()
            if self.affiliations.get(user, Affiliation.NONE) is not affiliation
        }

    def cancelConfiguration(self, actor: jid.JID) -> bool:
        """
        The owner cancels the configuration form: a locked room is destroyed
        (section 10.1.3), otherwise nothing changes (section 10.2).

        @return: whether the room must be destroyed.
        @raise errors.Forbidden: C{actor} is not an owner.
        """
        self.checkOwner(actor)
        return self.locked

    def checkOwner(self, actor: jid.JID) -> None:
        """
        @raise errors.Forbidden: C{actor} is not an owner (sections 10.2,
            10.9).
        """
        if self.affiliationOf(actor) is not Affiliation.OWNER:
            raise errors.Forbidden("only owners may configure or destroy this room")

    def removeOccupant(self, occupant: Occupant, statuses: Iterable[Status]) -> List[Departure]:
        """
        Remove an occupant with all its sessions (kicks, bans, members-only,
        destruction).

        @return: one L{Departure} per session; only the last has
            C{lastSession}.
        """
        statuses = frozenset(statuses)
        departures = []
        for session in occupant.sessionJIDs:
            departure = self.leave(session, None, statuses)
            if departure is not None:
                departures.append(departure)
        return departures

    def destroy(self) -> List[Occupant]:
        """
        Remove everyone (section 10.9); the caller removes the room from the
        registry.

        @return: the occupants that were in it, each with its sessions.
        """
        occupants = list(self.occupants.values())
        for occupant in occupants:
            for session in occupant.sessionJIDs:
                self._sessions.pop(session, None)
            occupant.role = Role.NONE
        self.occupants.clear()
        self._nickKeys.clear()
        self._pendingIQs.clear()
        return occupants

    # MEP (XEP-0316 section 2).

    def generateEvent(self, nodeIdentifier: str, payload: Any, itemIdentifier: Optional[str] = None):
        """
        Generate a room event (XEP-0316 section 2, MEP OQ-8): publish
        C{payload} to the room's node C{nodeIdentifier} as the room itself,
        creating the node if needed, and notify the interested occupants
        from the bare room JID.

        @param payload: the payload, one XML element (a C{domish.Element}
            or its XML text).
        @param itemIdentifier: the ItemID; a new one if L{None}.
        @return: a Deferred firing with the item's id.
        @raise RuntimeError: the room is not served by a MEP service.
        """
        if self.events is None:
            raise RuntimeError(f"{self.jid.full()} is not served by a MEP service")
        return self.events.generateEvent(self, nodeIdentifier, payload, itemIdentifier)

    # Storage.

    def toStored(self) -> StoredRoom:
        """
        @return: the room's durable state.
        """
        return StoredRoom(
            jid=self.jid,
            config=self.config.toStored(),
            affiliations={
                user: affiliation.value
                for user, affiliation in self.affiliations.items()
                if affiliation is not Affiliation.NONE
            },
            nicks=dict(self.nicks),
            subject=self.subject,
            subjectBy=self.subjectBy,
            reasons=dict(self.reasons),
        )

    @classmethod
    def fromStored(cls, stored: StoredRoom, clock, ids, features=None) -> "Room":
        """
        @return: a room with the durable state L{toStored} gave.
        """
        room = cls(
            stored.jid, clock, ids, RoomConfig.fromStored(stored.config), features
        )
        room.affiliations = {
            bare(user): Affiliation(value) for user, value in stored.affiliations.items()
        }
        room.nicks = {bare(user): nick for user, nick in stored.nicks.items()}
        room.reasons = {bare(user): reason for user, reason in stored.reasons.items()}
        room.subject = stored.subject
        room.subjectBy = stored.subjectBy
        return room


class Rooms:
    """
    The MUC service's rooms, by bare room JID.

    Rooms live in memory; persistent ones are also written through to the
    room store after every durable change (L{save}) and read back at start
    (L{load}). A non-persistent room is forgotten when its last occupant
    leaves (L{vacate}).

    @ivar domain: the MUC service's domain.
    @ivar createUnlocked: whether new rooms start unlocked.
    @ivar store: the L{mepserver.interfaces.IRoomStore}, or L{None}.
    """

    def __init__(self, config, ids, clock, store=None, features=None):
        """
        @param config: the L{mepserver.config.Config} (C{mucDomain},
            C{mucCreateUnlocked}).
        @param ids: the L{mepserver.ids.IdSource}.
        @param clock: an object with C{seconds()}.
        """
        self.domain = config.mucDomain
        self.createUnlocked = config.mucCreateUnlocked
        self.ids = ids
        self.clock = clock
        self.store = store
        self.features = features
        self._rooms: Dict[jid.JID, Room] = {}
        self._stored: set = set()
        #: The MEP service given to every room (L{Room.events}).
        self.events: Any = None
        #: Told C{roomCreated(room)}, C{roomDiscarded(room)} and
        #: C{roomsReset()}: the MEP service's state follows the rooms'.
        self.observers: List[Any] = []

    def _tell(self, method: str, *args) -> None:
        for observer in self.observers:
            try:
                getattr(observer, method)(*args)
            except Exception:
                log.failure("Room observer {method} failed", method=method)

    def __len__(self) -> int:
        return len(self._rooms)

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._rooms.values()))

    def __contains__(self, roomJID: jid.JID) -> bool:
        return bare(roomJID) in self._rooms

    def get(self, roomJID: jid.JID) -> Optional[Room]:
        """
        @param roomJID: a room or occupant JID.
        @return: the room, or L{None}.
        """
        return self._rooms.get(bare(roomJID))

    def create(self, roomJID: jid.JID, owner: jid.JID) -> Room:
        """
        Create a room with C{owner} as its owner (section 10.1.1), locked
        until configured unless the service creates rooms unlocked.

        @raise errors.BadRequest: the room JID is not on this service.
        """
        roomJID = bare(roomJID)
        if roomJID.host != self.domain or roomJID.user is None:
            raise errors.BadRequest(f"{roomJID.full()} is not a room of {self.domain}")
        if roomJID in self._rooms:
            raise ValueError(f"{roomJID.full()} exists")
        room = Room(roomJID, self.clock, self.ids, features=self.features)
        room.events = self.events
        room.affiliations[bare(owner)] = Affiliation.OWNER
        room.locked = not self.createUnlocked
        room.created = True
        self._rooms[roomJID] = room
        self._tell("roomCreated", room)
        return room

    def reset(self) -> None:
        """
        Forget every room at once, without touching the store (which a test
        fixture resets itself). For test fixtures, hence synchronous.
        """
        self._rooms.clear()
        self._stored.clear()
        self._tell("roomsReset")

    def add(self, room: Room) -> None:
        """
        Register an existing room (loaded, or built by a test).
        """
        room.events = self.events
        self._rooms[room.jid] = room

    def listed(self) -> List[Room]:
        """
        @return: the rooms disco#items lists (public and unlocked), sorted
            by JID.
        """
        return sorted(
            (room for room in self._rooms.values() if room.listed),
            key=lambda room: room.jid.full(),
        )

    def vacate(self, room: Room):
        """
        A room may have become empty: forget it unless it is persistent
        (section 7.14).

        @return: whether the room was forgotten.
        """
        if room.empty and not room.config.persistent:
            self.discard(room)
            return True
        return False

    def discard(self, room: Room):
        """
        Forget a room (destroyed, or empty and temporary), also in the store.

        @return: a Deferred from the store, or L{None}.
        """
        if self._rooms.get(room.jid) is room:
            del self._rooms[room.jid]
            self._tell("roomDiscarded", room)
        if room.jid in self._stored:
            self._stored.discard(room.jid)
            return self._call("removeRoom", room.jid)
        return None

    def save(self, room: Room):
        """
        Write a room's durable state through: a persistent room is stored, a
        room that stopped being persistent is removed from the store.

        @return: a Deferred from the store, or L{None} when nothing was
            written.
        """
        if room.config.persistent:
            self._stored.add(room.jid)
            return self._call("saveRoom", room.toStored())
        if room.jid in self._stored:
            self._stored.discard(room.jid)
            return self._call("removeRoom", room.jid)
        return None

    def _call(self, method: str, argument):
        if self.store is None:
            return None
        d = getattr(self.store, method)(argument)
        d.addErrback(
            lambda failure: log.failure(
                "Room store {method} failed", failure, method=method
            )
        )
        return d

    def shutdown(self) -> List[Tuple[Room, List[Occupant]]]:
        """
        The service shuts down (XEP-0045 section 11.2): every room is
        emptied, and temporary rooms forgotten; the store keeps the
        persistent ones.

        @return: each room that had occupants, with the occupants removed
            (each with its sessions), to tell with 332.
        """
        emptied = []
        for room in list(self._rooms.values()):
            occupants = room.destroy()
            if occupants:
                emptied.append((room, occupants))
            if not room.config.persistent:
                del self._rooms[room.jid]
                self._tell("roomDiscarded", room)
        return emptied

    async def load(self) -> None:
        """
        Read the persistent rooms from the store.
        """
        if self.store is None:
            return
        for stored in await self.store.loadRooms():
            room = Room.fromStored(stored, self.clock, self.ids, self.features)
            room.events = self.events
            self._rooms[room.jid] = room
            self._stored.add(room.jid)
