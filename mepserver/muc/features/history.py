# -*- test-case-name: tests.test_muc_room -*-
"""
How many messages of discussion history the room keeps and sends a
newcomer (XEP-0045 sections 7.2.13 and 7.2.14, C{muc#maxhistoryfetch};
Prosody's C{muc#roomconfig_historylength} is accepted as a synonym).
"""

from mepserver import errors
from mepserver.muc.features.base import CHANGED, PREFIX, UNCHANGED, RoomFeature, parseText
from mepserver.muc.roomconfig import ConfigField

#: The most history a room keeps.
MAX_HISTORY = 1000


class HistoryLength(RoomFeature):
    """
    C{muc#maxhistoryfetch}: a number from 0 to L{MAX_HISTORY}.
    """

    name = "history"
    var = "muc#maxhistoryfetch"
    synonym = PREFIX + "historylength"

    def configFields(self, room):
        return [
            ConfigField(
                self.var, "text-single",
                "Maximum Number of History Messages Returned by Room",
                (str(room.config.historyLength),),
            )
        ]

    def applyConfig(self, room, config, values):
        text = parseText(values, self.var)
        if text is None:
            text = parseText(values, self.synonym)
        if text is None:
            return UNCHANGED
        text = text.strip()
        if not text.isdigit() or int(text) > MAX_HISTORY:
            raise errors.BadRequest(
                f"{self.var}: {text!r} is not a number from 0 to {MAX_HISTORY}"
            )
        if int(text) == config.historyLength:
            return UNCHANGED
        config.historyLength = int(text)
        return CHANGED


feature = HistoryLength()
