# -*- test-case-name: tests.test_muc_room -*-
"""
Moderated rooms (XEP-0045 sections 4.2 and 5.1.2,
C{muc#roomconfig_moderatedroom}): the unaffiliated enter as visitors, who
may not send messages to all occupants (section 7.4).
"""

from mepserver.muc.features.base import PREFIX, BooleanOption
from mepserver.muc.roles import Affiliation, Role


class Moderated(BooleanOption):
    """
    C{muc#roomconfig_moderatedroom}: C{muc_moderated} or C{muc_unmoderated}.
    """

    name = "moderated"
    var = PREFIX + "moderatedroom"
    label = "Make Room Moderated?"
    attribute = "moderated"
    onFeature = "muc_moderated"
    offFeature = "muc_unmoderated"

    def defaultRole(self, room, affiliation):
        if room.config.moderated and affiliation is Affiliation.NONE:
            return Role.VISITOR
        return None


feature = Moderated()
