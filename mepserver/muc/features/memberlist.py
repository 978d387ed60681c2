# -*- test-case-name: tests.test_muc_room -*-
"""
Which roles may retrieve the member list (XEP-0045 section 7.9,
C{muc#roomconfig_getmemberlist}); L{mepserver.muc.room.Room.mayRetrieve}
applies it.
"""

from mepserver.muc.features.base import PREFIX, RolesOption


class GetMemberList(RolesOption):
    """
    C{muc#roomconfig_getmemberlist}, a list-multi of roles.
    """

    name = "getmemberlist"
    var = PREFIX + "getmemberlist"
    label = "Roles and Affiliations that May Retrieve Member List"
    attribute = "getMemberList"


feature = GetMemberList()
