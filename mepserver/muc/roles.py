# -*- test-case-name: tests.test_muc_roles -*-
"""
Roles, affiliations and privileges (XEP-0045 section 5): the L{Role} and
L{Affiliation} enums, the privilege tables of sections 5.1.1 (roles) and
5.2.1 (affiliations), and the default roles of section 5.1.2
(L{defaultRoleFor}).

Plain Python; the room options adjust these defaults through
L{mepserver.interfaces.IRoomFeature}.
"""

from __future__ import annotations

import enum
from typing import FrozenSet, Mapping


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
#: options narrow the starred ones (L{mepserver.muc.room.Room.may}): private
#: messages (L{mepserver.muc.features.privatemessages}) and the subject
#: (L{mepserver.muc.features.subject}: by default only moderators, section
#: 8.1); inviting to a members-only room goes by affiliation
#: (C{allowinvites}, section 9.5: L{mepserver.muc.features.membersonly}).
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


#: Every role an occupant can have, for the role-list options.
ALL_ROLES = frozenset({Role.MODERATOR, Role.PARTICIPANT, Role.VISITOR})
