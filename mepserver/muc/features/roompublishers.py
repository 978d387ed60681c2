# -*- test-case-name: tests.test_mep -*-
"""
Who may publish to the room's own MEP nodes (XEP-0316 section 2; DESIGN.md
section 6): C{mep#room_publishers}, a room option of this server.

XEP-0316 lets only the room itself generate room events (its backend,
section 2); C{none}, the default, keeps that strict reading. C{owners} or
C{moderators} also let the room's owners, or its moderators, publish and
retract room events over XMPP, for pinned messages and room avatars, which
come from people.
"""

from mepserver.muc.features.base import CHANGED, UNCHANGED, RoomFeature, parseChoice
from mepserver.muc.roomconfig import ROOM_PUBLISHERS_VALUES, ConfigField

#: The form field's var.
VAR = "mep#room_publishers"


class RoomPublishers(RoomFeature):
    """
    C{mep#room_publishers}: C{none}, C{owners} or C{moderators}.
    """

    name = "roompublishers"
    var = VAR

    def configFields(self, room):
        return [
            ConfigField(
                self.var, "list-single", "Who may publish room events (MEP)?",
                (room.config.roomPublishers,),
                (
                    ("none", "Only the room itself"),
                    ("owners", "Room owners"),
                    ("moderators", "Moderators"),
                ),
            )
        ]

    def applyConfig(self, room, config, values):
        value = parseChoice(values, self.var, ROOM_PUBLISHERS_VALUES)
        if value is None or value == config.roomPublishers:
            return UNCHANGED
        config.roomPublishers = value
        return CHANGED


feature = RoomPublishers()
