# -*- test-case-name: tests.test_muc_room -*-
"""
The maximum number of occupants (XEP-0045 section 7.2.9,
C{muc#roomconfig_maxusers}): a full room refuses newcomers with
C{service-unavailable}, except admins and owners.
"""

from mepserver import errors
from mepserver.muc.features.base import CHANGED, PREFIX, UNCHANGED, RoomFeature, parseText
from mepserver.muc.roles import Affiliation
from mepserver.muc.roomconfig import ConfigField

CHOICES = ("10", "20", "30", "50", "100", "none")


class MaxUsers(RoomFeature):
    """
    C{muc#roomconfig_maxusers}: a positive number, or C{none} (or empty)
    for no limit.
    """

    name = "maxusers"
    var = PREFIX + "maxusers"

    def configFields(self, room):
        current = room.config.maxUsers
        return [
            ConfigField(
                self.var, "list-single", "Maximum Number of Occupants",
                ("none" if current is None else str(current),),
                tuple((c, "None" if c == "none" else c) for c in CHOICES),
            )
        ]

    def applyConfig(self, room, config, values):
        text = parseText(values, self.var)
        if text is None:
            return UNCHANGED
        text = text.strip().lower()
        if text in ("", "none", "0"):
            value = None
        elif text.isdigit():
            value = int(text)
        else:
            raise errors.BadRequest(f"{self.var}: {text!r} is not a number or 'none'")
        if value == config.maxUsers:
            return UNCHANGED
        config.maxUsers = value
        return CHANGED

    def checkJoin(self, room, attempt):
        limit = room.config.maxUsers
        if limit is None or not attempt.addsOccupant:
            return
        if attempt.affiliation.rank >= Affiliation.ADMIN.rank:
            # Section 7.2.9: admins and owners still get in.
            return
        if len(room.occupants) >= limit:
            raise errors.RoomFull(f"this room is full ({limit} occupants)")


feature = MaxUsers()
