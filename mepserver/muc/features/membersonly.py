# -*- test-case-name: tests.test_muc_room -*-
"""
Members-only rooms (XEP-0045 sections 4.2 and 7.2.6,
C{muc#roomconfig_membersonly}): only members, admins and owners enter;
others get C{registration-required}.
"""

from mepserver import errors
from mepserver.muc.features.base import PREFIX, BooleanOption
from mepserver.muc.roles import Affiliation


class MembersOnly(BooleanOption):
    """
    C{muc#roomconfig_membersonly}: C{muc_membersonly} or C{muc_open}.
    """

    name = "membersonly"
    var = PREFIX + "membersonly"
    label = "Make Room Members-Only?"
    attribute = "membersOnly"
    onFeature = "muc_membersonly"
    offFeature = "muc_open"

    def checkJoin(self, room, attempt):
        if room.config.membersOnly and attempt.affiliation.rank < Affiliation.MEMBER.rank:
            raise errors.MembersOnly("this room is members-only and you are not a member")


feature = MembersOnly()
