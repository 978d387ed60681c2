# -*- test-case-name: tests.test_muc_features -*-
"""
Non-anonymous and semi-anonymous rooms (XEP-0045 sections 4.2, 7.2.3,
7.2.4, C{muc#roomconfig_whois}): who sees occupants' real JIDs, as
Prosody's C{whois.lib.lua} decides it. Everyone in a non-anonymous room
(which says so with 100 on entering, section 7.2.3), moderators in a
semi-anonymous one. Changing it is announced with 172 or 173 (section
10.2.1).
"""

from mepserver.muc.features.base import PREFIX, UNCHANGED, RoomFeature, parseChoice
from mepserver.muc.records import Status
from mepserver.muc.roles import Role
from mepserver.muc.roomconfig import WHOIS_VALUES, ConfigField


class Whois(RoomFeature):
    """
    C{muc_nonanonymous} or C{muc_semianonymous}.
    """

    name = "whois"
    var = PREFIX + "whois"

    def discoFeatures(self, room):
        if room.config.whois == "anyone":
            return ["muc_nonanonymous"]
        return ["muc_semianonymous"]

    def revealsRealJIDs(self, room, role):
        return room.config.whois == "anyone" or role is Role.MODERATOR

    def configFields(self, room):
        return [
            ConfigField(
                self.var, "list-single", "Who May Discover Real JIDs?",
                (room.config.whois,),
                (("moderators", "Moderators Only"), ("anyone", "Anyone")),
            )
        ]

    def applyConfig(self, room, config, values):
        whois = parseChoice(values, self.var, WHOIS_VALUES)
        if whois is None or whois == config.whois:
            return UNCHANGED
        config.whois = whois
        if whois == "anyone":
            return frozenset({Status.NOW_NON_ANONYMOUS})
        return frozenset({Status.NOW_SEMI_ANONYMOUS})


feature = Whois()
