# -*- test-case-name: tests.test_muc_model -*-
"""
Whether members may invite others (XEP-0045 section 7.8.2,
C{muc#roomconfig_allowinvites}); L{mepserver.muc.model.Room.may} applies it.
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
