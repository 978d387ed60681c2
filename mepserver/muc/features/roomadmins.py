# -*- test-case-name: tests.test_muc_room -*-
"""
The room's admins as a configuration field (XEP-0045 section 10.2,
C{muc#roomconfig_roomadmins}): the complete admin list, where the
C{muc#admin} queries of section 10.8 send deltas.
"""

from mepserver.muc.features.base import PREFIX, AffiliationListOption
from mepserver.muc.roles import Affiliation


class RoomAdmins(AffiliationListOption):
    """
    C{muc#roomconfig_roomadmins}, a jid-multi.
    """

    name = "roomadmins"
    var = PREFIX + "roomadmins"
    label = "Room Admins"
    instructions = (
        "You may specify additional people who have admin status in the room. "
        "Please provide one Jabber ID per line."
    )
    affiliation = Affiliation.ADMIN


feature = RoomAdmins()
