# -*- test-case-name: tests.test_muc_roles -*-
"""
Tests for L{mepserver.muc.roles}: the tables of XEP-0045 section 5.
"""

from twisted.trial import unittest

from mepserver.muc.roles import (
    AFFILIATION_PRIVILEGES,
    ROLE_PRIVILEGES,
    Affiliation,
    Privilege,
    Role,
)
from tests.mucfixtures import makeRoom


class PrivilegeTests(unittest.SynchronousTestCase):
    """
    The tables of XEP-0045 sections 5.1.1, 5.1.2 and 5.2.1.
    """

    def test_hierarchy(self):
        """
        Each role and affiliation has the privileges of those below it.
        """
        roles = list(Role)
        for lower, higher in zip(roles, roles[1:]):
            self.assertLess(lower.rank, higher.rank)
            self.assertTrue(ROLE_PRIVILEGES[lower] <= ROLE_PRIVILEGES[higher])
        for lower, higher in zip(list(Affiliation)[2:], list(Affiliation)[3:]):
            self.assertTrue(AFFILIATION_PRIVILEGES[lower] <= AFFILIATION_PRIVILEGES[higher])

    def test_roleTable(self):
        """
        Section 5.1.1: visitors cannot speak to all, participants can;
        only moderators kick.
        """
        room = makeRoom()
        self.assertFalse(room.may(Role.VISITOR, Privilege.SEND_MESSAGES_TO_ALL))
        self.assertTrue(room.may(Role.PARTICIPANT, Privilege.SEND_MESSAGES_TO_ALL))
        self.assertFalse(room.may(Role.PARTICIPANT, Privilege.KICK))
        self.assertTrue(room.may(Role.MODERATOR, Privilege.KICK))
        self.assertFalse(room.may(Role.NONE, Privilege.RECEIVE_MESSAGES))

    def test_affiliationTable(self):
        """
        Section 5.2.1: only owners configure; admins ban; only the
        unaffiliated register; outcasts enter nothing.
        """
        self.assertIn(Privilege.CHANGE_CONFIGURATION, AFFILIATION_PRIVILEGES[Affiliation.OWNER])
        self.assertNotIn(Privilege.CHANGE_CONFIGURATION, AFFILIATION_PRIVILEGES[Affiliation.ADMIN])
        self.assertIn(Privilege.BAN, AFFILIATION_PRIVILEGES[Affiliation.ADMIN])
        self.assertNotIn(Privilege.BAN, AFFILIATION_PRIVILEGES[Affiliation.MEMBER])
        self.assertIn(Privilege.REGISTER, AFFILIATION_PRIVILEGES[Affiliation.NONE])
        self.assertNotIn(Privilege.REGISTER, AFFILIATION_PRIVILEGES[Affiliation.MEMBER])
        self.assertEqual(frozenset(), AFFILIATION_PRIVILEGES[Affiliation.OUTCAST])

    def test_defaultRoles(self):
        """
        Section 5.1.2: admins and owners moderate; the unaffiliated are
        visitors in moderated rooms, participants elsewhere.
        """
        open_, moderated = makeRoom(), makeRoom(moderated=True)
        self.assertEqual(Role.PARTICIPANT, open_.defaultRole(Affiliation.NONE))
        self.assertEqual(Role.VISITOR, moderated.defaultRole(Affiliation.NONE))
        self.assertEqual(Role.PARTICIPANT, moderated.defaultRole(Affiliation.MEMBER))
        self.assertEqual(Role.MODERATOR, moderated.defaultRole(Affiliation.ADMIN))
        self.assertEqual(Role.MODERATOR, open_.defaultRole(Affiliation.OWNER))

    def test_subjectPrivilege(self):
        """
        Section 8.1: only moderators by default; participants with
        changesubject; visitors never.
        """
        room = makeRoom()
        self.assertFalse(room.may(Role.PARTICIPANT, Privilege.MODIFY_SUBJECT))
        self.assertTrue(room.may(Role.MODERATOR, Privilege.MODIFY_SUBJECT))
        room.config.changeSubject = True
        self.assertTrue(room.may(Role.PARTICIPANT, Privilege.MODIFY_SUBJECT))
        self.assertFalse(room.may(Role.VISITOR, Privilege.MODIFY_SUBJECT))
