# -*- test-case-name: tests.test_muc_features -*-
"""
Who may send private messages (XEP-0045 section 7.5,
C{muc#roomconfig_allowpm}): anyone, participants (those with voice),
moderators, or nobody. It narrows the C{send private messages} privilege
of section 5.1.1 (L{mepserver.muc.room.Room.may}).
"""

from mepserver.muc.features.base import CHANGED, PREFIX, UNCHANGED, RoomFeature, parseChoice
from mepserver.muc.roles import Privilege, Role
from mepserver.muc.roomconfig import ALLOW_PM_VALUES, ConfigField


class AllowPM(RoomFeature):
    """
    C{muc#roomconfig_allowpm}.
    """

    name = "allowpm"
    var = PREFIX + "allowpm"

    def configFields(self, room):
        return [
            ConfigField(
                self.var, "list-single", "Who Can Send Private Messages?",
                (room.config.allowPM,),
                (("anyone", "Anyone"), ("participants", "Anyone with Voice"),
                 ("moderators", "Moderators Only"), ("none", "Nobody")),
            )
        ]

    def applyConfig(self, room, config, values):
        value = parseChoice(values, self.var, ALLOW_PM_VALUES)
        if value is None or value == config.allowPM:
            return UNCHANGED
        config.allowPM = value
        return CHANGED

    def grants(self, room, role, privilege):
        if privilege is not Privilege.SEND_PRIVATE_MESSAGES:
            return None
        allowed = room.config.allowPM
        if allowed == "none":
            return False
        if allowed == "moderators":
            return role is Role.MODERATOR
        if allowed == "participants":
            return role.rank >= Role.PARTICIPANT.rank
        return None


feature = AllowPM()
