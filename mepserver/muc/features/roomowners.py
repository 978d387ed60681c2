# -*- test-case-name: tests.test_muc_room -*-
"""
The room's owners as a configuration field (XEP-0045 section 10.2,
C{muc#roomconfig_roomowners}): the complete owner list, where the
C{muc#admin} queries of section 10.5 send deltas. It may not be empty.
"""

from mepserver.muc.features.base import PREFIX, AffiliationListOption
from mepserver.muc.roles import Affiliation


class RoomOwners(AffiliationListOption):
    """
    C{muc#roomconfig_roomowners}, a jid-multi.
    """

    name = "roomowners"
    var = PREFIX + "roomowners"
    label = "Room Owners"
    instructions = (
        "You may specify additional owners for this room. "
        "Please provide one Jabber ID per line."
    )
    affiliation = Affiliation.OWNER


feature = RoomOwners()
