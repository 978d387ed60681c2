# -*- test-case-name: tests.test_muc_features -*-
"""
Which roles may retrieve the member list (XEP-0045 sections 7.9 and 9.5,
C{muc#roomconfig_getmemberlist}): it grants the C{retrieve member list}
privilege by role (L{mepserver.muc.admin.mayRetrieve}).
"""

from mepserver.muc.features.base import PREFIX, RolesOption
from mepserver.muc.roles import Privilege


class GetMemberList(RolesOption):
    """
    C{muc#roomconfig_getmemberlist}, a list-multi of roles.
    """

    name = "getmemberlist"
    var = PREFIX + "getmemberlist"
    label = "Roles and Affiliations that May Retrieve Member List"
    attribute = "getMemberList"

    def grants(self, room, role, privilege):
        if privilege is not Privilege.RETRIEVE_MEMBER_LIST:
            return None
        return role in room.config.getMemberList


feature = GetMemberList()
