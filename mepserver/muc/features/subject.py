# -*- test-case-name: tests.test_muc_room -*-
"""
Who may change the subject (XEP-0045 section 8.1,
C{muc#roomconfig_changesubject}): moderators always, participants when on.
L{mepserver.muc.room.Room.may} applies it.
"""

from mepserver.muc.features.base import PREFIX, BooleanOption


class ChangeSubject(BooleanOption):
    """
    C{muc#roomconfig_changesubject}.
    """

    name = "changesubject"
    var = PREFIX + "changesubject"
    label = "Allow Occupants to Change Subject?"
    attribute = "changeSubject"


feature = ChangeSubject()
