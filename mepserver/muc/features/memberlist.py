# -*- test-case-name: tests.test_muc_model -*-
"""
Which roles may retrieve the member list (XEP-0045 section 7.9,
C{muc#roomconfig_getmemberlist}).
"""

from mepserver import errors
from mepserver.muc.features.base import CHANGED, PREFIX, UNCHANGED, RoomFeature
from mepserver.muc.model import ConfigField, Role

ROLES = (Role.MODERATOR, Role.PARTICIPANT, Role.VISITOR)


class GetMemberList(RoomFeature):
    """
    C{muc#roomconfig_getmemberlist}, a list-multi of roles.
    """

    name = "getmemberlist"
    var = PREFIX + "getmemberlist"

    def configFields(self, room):
        return [
            ConfigField(
                self.var, "list-multi",
                "Roles and Affiliations that May Retrieve Member List",
                tuple(r.value for r in ROLES if r in room.config.getMemberList),
                tuple((r.value, r.value.capitalize()) for r in ROLES),
            )
        ]

    def applyConfig(self, room, config, values):
        if self.var not in values:
            return UNCHANGED
        roles = set()
        for value in values[self.var]:
            try:
                role = Role(value.strip())
            except ValueError:
                role = None
            if role not in ROLES:
                raise errors.BadRequest(f"{self.var}: {value!r} is not a role")
            roles.add(role)
        if frozenset(roles) == config.getMemberList:
            return UNCHANGED
        config.getMemberList = frozenset(roles)
        return CHANGED


feature = GetMemberList()
