# -*- test-case-name: tests.test_muc_room -*-
"""
A room's configuration (XEP-0045 section 10.1.3, the C{muc#roomconfig}
form, registry 16.5.3) as plain values: L{RoomConfig}, its stored form,
and L{ConfigField}, a form field without XML. Each option's rules live
in its module of L{mepserver.muc.features}.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple

from mepserver.muc.roles import ALL_ROLES, Role

WHOIS_VALUES = ("moderators", "anyone")

#: The values of C{mep#room_publishers} (DESIGN.md section 6): who besides
#: the room itself may publish to the room's MEP nodes.
ROOM_PUBLISHERS_VALUES = ("none", "owners", "moderators")
ALLOW_PM_VALUES = ("anyone", "participants", "moderators", "none")


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
    @ivar archive: C{enablearchiving}: whether the room keeps a message
        archive (XEP-0313), or L{None} while no owner chose, and the room
        archives if it is persistent (L{archiving}).
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
    archive: Optional[bool] = None

    @property
    def archiving(self) -> bool:
        """
        Whether the room archives its messages (XEP-0313): as an owner
        chose, else if it is persistent (DESIGN.md section 3).
        """
        return self.persistent if self.archive is None else self.archive

    def copy(self) -> "RoomConfig":
        """
        @return: an independent copy, to change and then commit or drop.
        """
        return dataclasses.replace(self)

    #: Attribute names to the keys of
    #: L{mepserver.interfaces.StoredRoom.config}: the form's field names
    #: without their C{muc#roomconfig_} (or C{muc#}) prefix.
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
        "archive": "enablearchiving",
    }

    #: The attributes that are sets of roles, stored as sorted tuples.
    ROLE_SETS = ("getMemberList", "presenceBroadcast")

    def toStored(self) -> Dict[str, object]:
        """
        @return: the plain values L{mepserver.interfaces.StoredRoom.config} holds.
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

