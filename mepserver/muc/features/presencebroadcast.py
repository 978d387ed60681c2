# -*- test-case-name: tests.test_muc_features -*-
"""
Whose presence the room broadcasts (XEP-0045 section 10.2,
C{muc#roomconfig_presencebroadcast}): occupants whose role is not listed
are seen by no one but themselves
(L{mepserver.muc.room.Room.showsPresenceOf}).
"""

from mepserver.muc.features.base import PREFIX, RolesOption


class PresenceBroadcast(RolesOption):
    """
    C{muc#roomconfig_presencebroadcast}, a list-multi of roles.
    """

    name = "presencebroadcast"
    var = PREFIX + "presencebroadcast"
    label = "Roles for which Presence is Broadcasted"
    attribute = "presenceBroadcast"

    def showsPresence(self, room, config, role):
        return role in config.presenceBroadcast


feature = PresenceBroadcast()
