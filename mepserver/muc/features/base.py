# -*- test-case-name: tests.test_muc_room -*-
"""
What the room options (XEP-0045 section 10.1.3) have in common: a base
class with do-nothing defaults, and parsers for submitted form values.
"""

from __future__ import annotations

from typing import FrozenSet, List, Mapping, Optional, Sequence

from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver import errors
from mepserver.interfaces import IRoomFeature
from mepserver.muc.records import Status
from mepserver.muc.roles import Affiliation, Privilege, Role
from mepserver.muc.roomconfig import ConfigField, RoomConfig

#: Form field name prefix of the registered room options (16.5.3).
PREFIX = "muc#roomconfig_"

CHANGED = frozenset({Status.CONFIGURATION_CHANGED})
UNCHANGED: FrozenSet[Status] = frozenset()


@implementer(IRoomFeature)
class RoomFeature:
    """
    A room option that adds nothing and changes no rule: subclasses
    override the L{IRoomFeature} hooks they need. The defaults have no
    opinion (L{None}), refuse nothing, reveal no real JIDs and hide no
    presence.
    """

    name = "feature"

    def discoFeatures(self, room) -> List[str]:
        return []

    def configFields(self, room) -> List[ConfigField]:
        return []

    def applyConfig(self, room, config, values) -> FrozenSet[Status]:
        return UNCHANGED

    def checkJoin(self, room, attempt) -> None:
        return None

    def defaultRole(self, room, affiliation):
        return None

    def affiliationList(self, room, values):
        return None

    def grants(self, room, role: Role, privilege: Privilege) -> Optional[bool]:
        return None

    def revealsRealJIDs(self, room, role: Role) -> bool:
        return False

    def showsPresence(self, room, config: RoomConfig, role: Role) -> bool:
        return True

    def checkInvite(self, room, inviter) -> None:
        return None

    def invited(self, room, invitee: jid.JID) -> bool:
        return False

    def invitationPassword(self, room) -> Optional[str]:
        return None

    def checkRegistration(self, room, affiliation: Affiliation) -> None:
        return None

    def checkArchiveReader(self, room, affiliation: Affiliation, present: bool) -> None:
        return None

    def invitesOnAffiliation(self, room, previous: Affiliation, affiliation: Affiliation) -> bool:
        return False

    def affiliationRemoval(self, room, affiliation: Affiliation) -> Optional[Status]:
        return None

    def configRemoval(self, room, affiliation: Affiliation) -> Optional[Status]:
        return None

    def demotedAffiliation(self, room, config: RoomConfig) -> Optional[Affiliation]:
        return None


class BooleanOption(RoomFeature):
    """
    An option that is one boolean field and one attribute of
    L{mepserver.muc.roomconfig.RoomConfig}, with a disco feature for each value.

    @cvar var: the field's C{var}.
    @cvar label: its label.
    @cvar attribute: the L{RoomConfig} attribute.
    @cvar onFeature: the disco feature when on, or L{None}.
    @cvar offFeature: the disco feature when off, or L{None}.
    """

    var = ""
    label = ""
    attribute = ""
    onFeature: Optional[str] = None
    offFeature: Optional[str] = None

    def discoFeatures(self, room) -> List[str]:
        feature = self.onFeature if getattr(room.config, self.attribute) else self.offFeature
        return [feature] if feature else []

    def configFields(self, room) -> List[ConfigField]:
        return [booleanField(self.var, self.label, getattr(room.config, self.attribute))]

    def applyConfig(self, room, config, values) -> FrozenSet[Status]:
        value = parseBoolean(values, self.var)
        if value is None or value == getattr(config, self.attribute):
            return UNCHANGED
        setattr(config, self.attribute, value)
        return CHANGED


class TextOption(RoomFeature):
    """
    An option that is one text field and one string attribute of the
    configuration.
    """

    var = ""
    label = ""
    attribute = ""

    def configFields(self, room) -> List[ConfigField]:
        return [ConfigField(self.var, "text-single", self.label, (getattr(room.config, self.attribute),))]

    def applyConfig(self, room, config, values) -> FrozenSet[Status]:
        value = parseText(values, self.var)
        if value is None or value == getattr(config, self.attribute):
            return UNCHANGED
        setattr(config, self.attribute, value)
        return CHANGED


class RolesOption(RoomFeature):
    """
    An option that is a list-multi of roles and a frozenset attribute of
    the configuration.

    @cvar roles: the roles offered, in the form's order.
    """

    var = ""
    label = ""
    attribute = ""
    roles = (Role.MODERATOR, Role.PARTICIPANT, Role.VISITOR)

    def configFields(self, room) -> List[ConfigField]:
        current = getattr(room.config, self.attribute)
        return [
            ConfigField(
                self.var, "list-multi", self.label,
                tuple(r.value for r in self.roles if r in current),
                tuple((r.value, r.value.capitalize()) for r in self.roles),
            )
        ]

    def applyConfig(self, room, config, values) -> FrozenSet[Status]:
        if self.var not in values:
            return UNCHANGED
        roles = set()
        for value in values[self.var]:
            try:
                role = Role(value.strip())
            except ValueError:
                role = None
            if role not in self.roles:
                raise errors.BadRequest(f"{self.var}: {value!r} is not a role")
            roles.add(role)
        if frozenset(roles) == getattr(config, self.attribute):
            return UNCHANGED
        setattr(config, self.attribute, frozenset(roles))
        return CHANGED


class AffiliationListOption(RoomFeature):
    """
    A jid-multi field holding the complete list of one affiliation
    (XEP-0045 section 10.2: C{muc#roomconfig_roomadmins} and
    C{_roomowners}). The room applies the list once every option accepted
    the form (L{mepserver.muc.room.Room.configure}).

    @cvar affiliation: the L{Affiliation} listed.
    @cvar instructions: the text of the fixed field before it.
    """

    var = ""
    label = ""
    instructions = ""
    affiliation = Affiliation.NONE

    def configFields(self, room) -> List[ConfigField]:
        users = sorted(
            user.full()
            for user, held in room.affiliations.items()
            if held is self.affiliation
        )
        return [
            ConfigField("", "fixed", values=(self.instructions,)),
            ConfigField(self.var, "jid-multi", self.label, tuple(users)),
        ]

    def affiliationList(self, room, values):
        if self.var not in values:
            return None
        users = []
        for value in values[self.var]:
            for line in value.splitlines():
                if not line.strip():
                    continue
                try:
                    users.append(jid.internJID(line.strip()))
                except jid.InvalidFormat:
                    raise errors.BadRequest(f"{self.var}: {line.strip()!r} is not a JID")
        return self.affiliation, frozenset(users)


def booleanField(var: str, label: str, value: bool) -> ConfigField:
    """
    @return: a boolean form field.
    """
    return ConfigField(var, "boolean", label, ("1" if value else "0",))


def parseBoolean(values: Mapping[str, Sequence[str]], var: str) -> Optional[bool]:
    """
    Read a boolean field (XEP-0004 section 3.3: C{1}/C{true}, C{0}/C{false}).

    @return: the value, or L{None} if the field is absent.
    @raise errors.BadRequest: anything else.
    """
    if var not in values:
        return None
    given = list(values[var])
    if not given:
        return False
    text = given[0].strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise errors.BadRequest(f"{var}: {given[0]!r} is not a boolean")


def parseText(values: Mapping[str, Sequence[str]], var: str) -> Optional[str]:
    """
    Read a single-valued text field; several values are joined by lines.

    @return: the value, or L{None} if the field is absent.
    """
    if var not in values:
        return None
    return "\n".join(values[var])


def parseChoice(
    values: Mapping[str, Sequence[str]], var: str, choices: Sequence[str]
) -> Optional[str]:
    """
    Read a list-single field.

    @return: the value, or L{None} if the field is absent.
    @raise errors.BadRequest: a value not among C{choices}.
    """
    text = parseText(values, var)
    if text is None:
        return None
    text = text.strip()
    if text not in choices:
        raise errors.BadRequest(f"{var}: {text!r} is not one of {', '.join(choices)}")
    return text
