# -*- test-case-name: tests.test_muc_room -*-
"""
Who may send private messages (XEP-0045 section 7.5,
C{muc#roomconfig_allowpm}): anyone, participants (those with voice),
moderators, or nobody. L{mepserver.muc.room.Room.may} applies it.
"""

from mepserver.muc.features.base import CHANGED, PREFIX, UNCHANGED, RoomFeature, parseChoice
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


feature = AllowPM()
