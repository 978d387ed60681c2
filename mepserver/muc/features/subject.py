# -*- test-case-name: tests.test_muc_features -*-
"""
Who may change the subject (XEP-0045 section 8.1,
C{muc#roomconfig_changesubject}): moderators always, participants when on,
visitors never. It narrows the C{modify subject} privilege of section
5.1.1 (L{mepserver.muc.room.Room.may}).
"""

from mepserver.muc.features.base import PREFIX, BooleanOption
from mepserver.muc.roles import Privilege, Role


class ChangeSubject(BooleanOption):
    """
    C{muc#roomconfig_changesubject}.
    """

    name = "changesubject"
    var = PREFIX + "changesubject"
    label = "Allow Occupants to Change Subject?"
    attribute = "changeSubject"

    def grants(self, room, role, privilege):
        if privilege is not Privilege.MODIFY_SUBJECT:
            return None
        # Section 8.1: by default only moderators; 'changesubject' lets
        # participants too. Visitors never (section 5.1.1).
        if role is Role.MODERATOR:
            return True
        return room.config.changeSubject and role is Role.PARTICIPANT


feature = ChangeSubject()
