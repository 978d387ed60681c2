# -*- test-case-name: tests.test_muc_room -*-
"""
A Multi-User Chat room (XEP-0045) and its occupants, in plain Python: the
occupant state machine.

No XML, no wokkel, no reactor: the handler (L{mepserver.muc.handler})
parses stanzas, calls these classes and renders what they return. What a
client sent as presence is kept as an opaque I{payload} the model stores
and hands back, never looks into.

  - L{Occupant}: one nick in a room, with one or more sessions (section
    7.2.8: several sessions of one bare JID share a nick);
  - L{Room}: entering (7.2), presence updates (7.7), nick changes (7.6),
    leaving (7.14), groupchat (7.4) and history (7.2.13-7.2.14), private
    messages (7.5), mediated invitations and declines (7.8), subject
    (8.1), configuration (10.1-10.2) and destruction (10.9); who reads
    the message archive (XEP-0313 section 7.1.2) and who moderates
    (XEP-0425).

The rest of the model, one concern per module:

  - L{mepserver.muc.roles}: roles, affiliations and privileges (5);
  - L{mepserver.muc.records}: status codes (12) and the result records;
  - L{mepserver.muc.roomconfig}: the configuration values (10.1.3);
  - L{mepserver.muc.nicks}: nicknames and JID checks (7.2, 7.6, 17.1);
  - L{mepserver.muc.admin}: roles, affiliations and their lists, voice
    requests and registration (7.10-7.13, 8, 9, 10.3-10.8), which L{Room}
    offers as methods;
  - L{mepserver.muc.iqforward}: IQs through occupant JIDs (17.4) and
    self-pings (XEP-0410), offered as methods too;
  - L{mepserver.muc.registry}: the service's rooms and their storage;
  - L{mepserver.muc.features}: the room options, one module each, plugged
    in through L{mepserver.interfaces.IRoomFeature}.
"""

from __future__ import annotations

import collections
import functools
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.jids import occupantJID
from mepserver.muc import admin, iqforward
from mepserver.muc.features import FEATURES
from mepserver.muc.features.base import RoomFeature
from mepserver.muc.nicks import bare, checkNickFree, enforceNick, nickKey
from mepserver.muc.records import (
    AdminChange,
    ConfigChange,
    Departure,
    HistoryEntry,
    HistoryRequest,
    Invitation,
    Join,
    JoinAttempt,
    NickChange,
    Status,
)
from mepserver.muc.roles import ROLE_PRIVILEGES, Affiliation, Privilege, Role, defaultRoleFor
from mepserver.muc.roomconfig import ConfigField, RoomConfig

T = TypeVar("T")


#: Service discovery features every room has (XEP-0045 6.4, 7.10 and 7.13
#: as Prosody announces them, XEP-0359, XEP-0421 section 2, XEP-0410
#: section 3.3, XEP-0425 section 2 and its version 0.2's namespace).
ROOM_FEATURES = (
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/muc#stable_id",
    "http://jabber.org/protocol/muc#self-ping-optimization",
    "http://jabber.org/protocol/muc#request",
    "jabber:iq:register",
    "urn:xmpp:occupant-id:0",
    "urn:xmpp:sid:0",
    "urn:xmpp:message-moderate:0",
    "urn:xmpp:message-moderate:1",
)

#: How many forwarded IQs a room remembers while waiting for answers

@functools.lru_cache(maxsize=256)
def _domainJID(host: str) -> jid.JID:
    """
    The JID of a domain, as affiliations name a whole domain (section 9.2):
    asked for on every look at a user's affiliation that finds none.
    """
    return jid.internJID(host)


@functools.lru_cache(maxsize=64)
def consulted(features: Tuple[Any, ...], hook: str) -> Tuple[Any, ...]:
    """
    The features, in order, whose C{hook} may say something: all but
    those that inherit L{RoomFeature}'s do-nothing method for it (no
    opinion, no refusal, no real JIDs revealed, no presence hidden), which
    can be left out of asking every time (issue 16: a join asks several
    hooks of some twenty features). A feature that is not a L{RoomFeature},
    or that sets the hook on itself, is always asked.

    It depends only on which classes the features are, so it is kept, for
    the few tuples of features a server has (bounded).
    """
    return tuple(
        feature for feature in features
        if not isinstance(feature, RoomFeature)
        or hook in vars(feature)
        or getattr(type(feature), hook) is not getattr(RoomFeature, hook)
    )


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

    # Rooms hold many occupants: no per-instance dict.
    __slots__ = ("room", "_nick", "_jid", "realJID", "role", "occupantId", "sessions")

    def __init__(self, room: "Room", nick: str, realJID: jid.JID, role: Role, occupantId: str):
        self.room = room
        self.nick = nick
        self.realJID = realJID
        self.role = role
        self.occupantId = occupantId
        # A dict keeps insertion order, and costs less than an OrderedDict.
        self.sessions: Dict[jid.JID, Any] = {}

    def __repr__(self) -> str:
        return f"<Occupant {self.nick!r} of {self.room.jid.full()} ({self.realJID.full()})>"

    @property
    def nick(self) -> str:
        """
        The room nickname.
        """
        return self._nick

    @nick.setter
    def nick(self, nick: str) -> None:
        self._nick = nick
        self._jid = None

    @property
    def jid(self) -> jid.JID:
        """
        The occupant JID, C{room@service/nick}, made once per nick: every
        presence and message from the occupant names it, and preparing a
        JID (stringprep) costs more than the rest of a broadcast.
        """
        if self._jid is None:
            self._jid = occupantJID(self.room.jid, self._nick)
        return self._jid

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
    @ivar pendingIQs: the forwarded IQs awaiting answers
        (L{mepserver.muc.iqforward.PendingIQs}).
    @ivar events: the MEP service (L{mepserver.mep.handler.MEPHandler})
        that L{generateEvent} hands room events to; set by
        L{mepserver.muc.registry.Rooms}.
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
            features = FEATURES
        self.jid = bare(roomJID)
        self.clock = clock
        self.ids = ids
        self.config = config if config is not None else RoomConfig()
        self.features = tuple(features)
        # The features that may have an opinion on privileges (L{may}),
        # asked for every groupchat message: those with their own grants().
        self._granting = tuple(
            f for f in self.features if getattr(type(f), "grants", None) is not RoomFeature.grants
        )
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
        self.pendingIQs = iqforward.PendingIQs()

    def __repr__(self) -> str:
        return f"<Room {self.jid.full()}>"

    # Looking things up.

    def affiliationOf(self, entity: jid.JID) -> Affiliation:
        """
        The affiliation of a user: its bare JID's, else its domain's
        (section 9.2: a ban of a domain bans its users).

        @param entity: a bare or full user JID.
        """
        user = entity if entity.resource is None else bare(entity)
        affiliation = self.affiliations.get(user)
        if affiliation is None and user.user is not None:
            affiliation = self.affiliations.get(_domainJID(user.host))
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

    def holderOf(self, nick: str) -> Optional[Occupant]:
        """
        @return: the occupant whose nick compares equal to C{nick}
            (L{nickKey}, RFC 8266 section 2.4), or L{None}.
        """
        return self._nickKeys.get(nickKey(nick))

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

    @property
    def nonAnonymous(self) -> bool:
        """
        Whether everyone, even someone not in the room, may see real JIDs
        (a non-anonymous room, sections 4.2 and 7.2.3): a feature reveals
        them to L{Role.NONE} (L{mepserver.muc.features.whois}).
        """
        return self.revealsRealJIDsTo(Role.NONE)

    def entryStatuses(self) -> FrozenSet[Status]:
        """
        The status codes of a self-presence on entering (section 7.2.2):
        110, and 100 in a non-anonymous room (7.2.3).
        """
        if self.nonAnonymous:
            return frozenset({Status.SELF, Status.NON_ANONYMOUS})
        return frozenset({Status.SELF})

    def revealsRealJIDsTo(self, role: Role) -> bool:
        """
        Whether occupants with C{role} see other occupants' real JIDs
        (sections 7.2.3 and 7.2.4): if any feature reveals them
        (L{mepserver.muc.features.whois}).
        """
        return any(
            feature.revealsRealJIDs(self, role)
            for feature in consulted(self.features, "revealsRealJIDs")
        )

    def canSeeRealJIDs(self, viewer: Occupant) -> bool:
        """
        Whether C{viewer} sees other occupants' real JIDs (sections 7.2.3
        and 7.2.4, L{revealsRealJIDsTo}).
        """
        return self.revealsRealJIDsTo(viewer.role)

    def may(self, role: Role, privilege: Privilege) -> bool:
        """
        Whether an occupant with C{role} has C{privilege} here: the table of
        section 5.1.1, whose starred cells the room's features narrow (the
        first with an opinion decides: L{mepserver.muc.features.subject},
        L{mepserver.muc.features.privatemessages}).
        """
        for feature in self._granting:
            granted = feature.grants(self, role, privilege)
            if granted is not None:
                return granted
        return privilege in ROLE_PRIVILEGES[role]

    def showsPresenceOf(self, role: Role, config: Optional[RoomConfig] = None) -> bool:
        """
        Whether other occupants receive the presence of occupants with
        C{role} (C{muc#roomconfig_presencebroadcast}, section 10.2): unless
        a feature hides it (L{mepserver.muc.features.presencebroadcast}).
        An occupant always receives its own.

        @param config: the configuration to ask about; the current one if
            L{None}.
        """
        if config is None:
            config = self.config
        return all(
            feature.showsPresence(self, config, role)
            for feature in consulted(self.features, "showsPresence")
        )

    def invitationPassword(self) -> Optional[str]:
        """
        @return: the password invitations carry (sections 7.8.2 and 9.5):
            the first feature's with one (L{mepserver.muc.features.password}),
            or L{None}.
        """
        return self.firstOpinion(lambda feature: feature.invitationPassword(self))

    def defaultRole(self, affiliation: Affiliation) -> Role:
        """
        The role someone with C{affiliation} gets on entering: the first
        feature with an opinion decides, else section 5.1.2.
        """
        for feature in consulted(self.features, "defaultRole"):
            role = feature.defaultRole(self, affiliation)
            if role is not None:
                return role
        return defaultRoleFor(affiliation)

    def firstOpinion(self, ask: Callable[[Any], Optional[T]]) -> Optional[T]:
        """
        Ask the room's features in order; the first answer that is not
        L{None} decides.

        @param ask: called with each feature.
        @return: that answer, or L{None} if no feature has an opinion.
        """
        for feature in self.features:
            answer = ask(feature)
            if answer is not None:
                return answer
        return None

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
        held = self.holderOf(nick)
        if held is not None and held.realJID == user:
            nick = held.nick
        attempt = JoinAttempt(
            session, nick, password, affiliation,
            addsOccupant=held is None or held.realJID != user,
        )
        for feature in consulted(self.features, "checkJoin"):
            feature.checkJoin(self, attempt)
        checkNickFree(self, user, nick)
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

    def updatePresence(self, session: jid.JID, payload: Any) -> Occupant:
        """
        A session's new presence (section 7.7): it becomes what others see.

        @raise errors.NotOccupant: the session is not in the room.
        """
        occupant = self.requireOccupant(session)
        del occupant.sessions[session]
        occupant.sessions[session] = payload
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
        occupant = self.requireOccupant(session)
        requested = nick
        nick = enforceNick(nick)
        if not self.may(occupant.role, Privilege.CHANGE_NICK):
            raise errors.Forbidden("you may not change your nickname in this room")
        checkNickFree(self, occupant.realJID, nick, allowSelf=False, changing=occupant)
        oldNick = occupant.nick
        # Keep the order of arrival: the occupant keeps its place.
        self.occupants = collections.OrderedDict(
            (nick if key == oldNick else key, value)
            for key, value in self.occupants.items()
        )
        del self._nickKeys[nickKey(oldNick)]
        self._nickKeys[nickKey(nick)] = occupant
        occupant.nick = nick
        del occupant.sessions[session]
        occupant.sessions[session] = payload
        self.pendingIQs.forget(oldNick)
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
            self.pendingIQs.forget(occupant.nick)
        return Departure(
            occupant, session, last, wasShown and not last, frozenset(statuses), payload,
            previousRole,
        )

    def requireOccupant(self, session: jid.JID) -> Occupant:
        """
        @return: the occupant this session is in.
        @raise errors.NotOccupant: the session is not in the room.
        """
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
        occupant = self.requireOccupant(session)
        if not self.may(occupant.role, Privilege.SEND_MESSAGES_TO_ALL):
            raise errors.Forbidden("visitors may not speak in this moderated room")
        return occupant

    def newStanzaId(self) -> str:
        """
        @return: a fresh XEP-0359 stanza id, unique within the room.
        """
        return self.ids.newId()

    def addHistory(
        self, payload: Any, size: Union[int, Callable[[], int]], stanzaId: Optional[str] = None
    ) -> HistoryEntry:
        """
        Keep a groupchat message for newcomers; only the last
        C{historyLength} are kept.

        @param size: the message's length in characters, or a callable
            measuring it when first needed (L{HistoryEntry.size}).
        @param stanzaId: its XEP-0359 stanza-id.
        """
        entry = HistoryEntry(payload, self.clock.seconds(), size, stanzaId)
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
            if request.maxChars is not None:
                if chars + entry.size > request.maxChars:
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
        occupant = self.requireOccupant(session)
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
        sender = self.requireOccupant(session)
        recipient = self.addressed(nick)
        if recipient is None:
            raise errors.OccupantNotFound(f"there is no {nick!r} in this room")
        if not self.may(sender.role, Privilege.SEND_PRIVATE_MESSAGES):
            raise errors.Forbidden("private messages are not allowed for you in this room")
        return sender, recipient

    # The message archive (XEP-0313 section 7.1.2) and moderation (XEP-0425).

    def roleOf(self, entity: jid.JID) -> Role:
        """
        The role a user acts with towards the room: its occupant's if the
        session C{entity} is in the room, else the role its affiliation
        would give it on entering (L{defaultRole}; L{Role.NONE} for an
        outcast), as Prosody's C{mod_muc_moderation} decides.

        @param entity: a full JID.
        """
        occupant = self.occupantOf(entity)
        if occupant is not None:
            return occupant.role
        affiliation = self.affiliationOf(entity)
        if affiliation is Affiliation.OUTCAST:
            return Role.NONE
        return self.defaultRole(affiliation)

    def checkArchiveReader(self, entity: jid.JID) -> None:
        """
        Check that C{entity} may read the room's archive (XEP-0313 section
        7.1.2): anyone who may enter it, present or not; never an outcast;
        the features narrow it (members-only rooms: members, admins and
        owners, L{mepserver.muc.features.membersonly}; password-protected
        rooms: their occupants and members,
        L{mepserver.muc.features.password}).

        @raise errors.Forbidden: it may not.
        """
        affiliation = self.affiliationOf(entity)
        if affiliation is Affiliation.OUTCAST:
            raise errors.Forbidden("you are banned from this room and may not read its archive")
        present = self.occupantOf(entity) is not None
        for feature in self.features:
            feature.checkArchiveReader(self, affiliation, present)

    def archiveRevealsRealJIDsTo(self, entity: jid.JID) -> bool:
        """
        Whether archive results for C{entity} carry the senders' real JIDs
        (XEP-0313 section 7.1.2): if its role (L{roleOf}) sees them, as in
        a non-anonymous room, or as a moderator of a semi-anonymous one.
        """
        return self.revealsRealJIDsTo(self.roleOf(entity))

    def moderator(self, entity: jid.JID) -> Optional[jid.JID]:
        """
        Check that C{entity} may moderate messages (XEP-0425 section 3.2):
        a moderator (L{roleOf}).

        @return: the occupant JID it moderates as: its occupant's, else
            that of its reserved nick, else L{None}.
        @raise errors.Forbidden: it is not a moderator.
        """
        if self.roleOf(entity) is not Role.MODERATOR:
            raise errors.Forbidden("only moderators may moderate messages in this room")
        occupant = self.occupantOf(entity)
        nick = occupant.nick if occupant is not None else self.nicks.get(bare(entity))
        if nick is None:
            return None
        return jid.JID(tuple=(self.jid.user, self.jid.host, nick))

    def forgetHistory(self, stanzaId: str) -> bool:
        """
        Drop the message with this XEP-0359 stanza-id from the history
        newcomers get (XEP-0424 section 5: a retracted message is not
        replayed).

        @return: whether it was there.
        """
        kept = [entry for entry in self.history if entry.stanzaId != stanzaId]
        if len(kept) == len(self.history):
            return False
        self.history = collections.deque(kept, maxlen=self.history.maxlen)
        return True

    # Invitations and voice requests (sections 7.8, 7.13, 8.6).

    def invite(
        self, session: jid.JID, invitees: Sequence[Tuple[jid.JID, Optional[str]]]
    ) -> AdminChange:
        """
        Mediated invitations (section 7.8.2) from an occupant.

        Each feature checks the sender first (members-only rooms: only
        admins and owners, unless C{allowinvites} lets every occupant, 9.5)
        and may change the room for each invitee (members-only rooms make
        it a member, 7.8.2 and 9.5: an invitation sent through an open
        room never does).

        @param invitees: C{(JID, reason)} pairs; the reason may be L{None}.
        @return: the L{Invitation}s to send, with C{durable} set if the
            member list grew.
        @raise errors.NotOccupant: the sender is not in the room.
        @raise errors.BadRequest: no invitee.
        @raise errors.Forbidden: the sender may not invite.
        """
        occupant = self.requireOccupant(session)
        if not invitees:
            raise errors.BadRequest("an invitation needs an invitee")
        if not self.may(occupant.role, Privilege.INVITE):
            raise errors.Forbidden("you may not invite others to this room")
        for feature in self.features:
            feature.checkInvite(self, occupant)
        password = self.invitationPassword()
        invitations = []
        added = False
        for invitee, reason in invitees:
            user = bare(invitee)
            for feature in self.features:
                if feature.invited(self, user):
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

    # Voice requests, registration, roles and affiliations (sections 7.10-7.13,
    # 8, 9, 10.3-10.8): see mepserver.muc.admin.

    requestVoice = admin.requestVoice
    approveVoice = admin.approveVoice
    registeredNick = admin.registeredNick
    checkRegistration = admin.checkRegistration
    register = admin.register
    administer = admin.administer
    adminList = admin.adminList
    mayRetrieve = admin.mayRetrieve
    noticeRecipients = admin.noticeRecipients

    # IQs to occupant JIDs (section 17.4, XEP-0410): see
    # mepserver.muc.iqforward.

    isSelfPing = iqforward.isSelfPing
    forwardIQ = iqforward.forwardIQ
    answerIQ = iqforward.answerIQ

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
        changes = admin.listChanges(self, lists, new)
        admin.checkOwnersRemain(self, changes)
        self.config = new
        if self.history.maxlen != new.historyLength:
            self.history = collections.deque(self.history, maxlen=new.historyLength)
        unlocked = self.locked
        self.locked = False
        actorOccupant = self.occupantOf(actor)
        updates, _, notices = admin.applyAffiliations(
            self,
            {user: (affiliation, None, None) for user, affiliation in changes.items()},
            None,
            actorOccupant.nick if actorOccupant is not None else None,
        )
        removed: List[Departure] = []
        for occupant in list(self.occupants.values()):
            # Section 10.2: e.g. non-members leave a room made members-only.
            affiliation = occupant.affiliation
            status = self.firstOpinion(lambda feature: feature.configRemoval(self, affiliation))
            if status is not None:
                removed.extend(self.removeOccupant(occupant, [status]))
        visibility = [
            (o, self.showsPresenceOf(o.role, before), self.showsPresenceOf(o.role, new))
            for o in self.occupants.values()
        ]
        return ConfigChange(
            frozenset(statuses), unlocked, tuple(removed), tuple(updates),
            shown=tuple(o for o, was, now in visibility if now and not was),
            hidden=tuple(o for o, was, now in visibility if was and not now),
            notices=tuple(notices),
        )

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
        self.pendingIQs.clear()
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

