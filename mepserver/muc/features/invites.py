# -*- test-case-name: tests.test_muc_features -*-
"""
Whether members may invite others to a members-only room, where by
default only admins and owners may (XEP-0045 sections 7.8.2 and 9.5,
C{muc#roomconfig_allowinvites}). The members-only option applies it
(L{mepserver.muc.features.membersonly}), as Prosody's
C{members_only.lib.lua} does.
"""

from mepserver.muc.features.base import PREFIX, BooleanOption


class AllowInvites(BooleanOption):
    """
    C{muc#roomconfig_allowinvites}.
    """

    name = "allowinvites"
    var = PREFIX + "allowinvites"
    label = "Allow Members to Invite Others?"
    attribute = "allowInvites"


feature = AllowInvites()
