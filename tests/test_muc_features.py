# -*- test-case-name: tests.test_muc_features -*-
"""
Tests for the rules the room options own (L{mepserver.muc.features}),
through their L{mepserver.interfaces.IRoomFeature} hooks, and for how a
room combines the hooks' answers: plain Python, no XML, no reactor.
"""

from twisted.internet import task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver import errors
from mepserver.ids import SeededIdSource
from mepserver.muc.features import (
    invites,
    memberlist,
    membersonly,
    password,
    presencebroadcast,
    privatemessages,
    subject,
    whois,
)
from mepserver.muc.features.base import RoomFeature
from mepserver.muc.records import Status
from mepserver.muc.roles import Affiliation, Privilege, Role
from mepserver.muc.room import Room, consulted
from mepserver.muc.roomconfig import RoomConfig
from tests.mucfixtures import CRONE, HAG, HECATE, ROOM, coven, makeRoom

HECATE_BARE = HECATE.userhostJID()
DOMAIN = JID("shakespeare.lit")


class BaseFeatureTests(unittest.SynchronousTestCase):
    """
    L{RoomFeature}: an option that changes no rule.
    """

    def test_noOpinion(self):
        """
        The defaults grant nothing and refuse nothing, reveal no real JIDs,
        hide no presence, invite no one and remove no one.
        """
        room, feature = makeRoom(), RoomFeature()
        occupant = coven().occupant("thirdwitch")
        self.assertIsNone(feature.grants(room, Role.MODERATOR, Privilege.KICK))
        self.assertFalse(feature.revealsRealJIDs(room, Role.MODERATOR))
        self.assertTrue(feature.showsPresence(room, room.config, Role.VISITOR))
        self.assertIsNone(feature.checkInvite(room, occupant))
        self.assertFalse(feature.invited(room, HECATE_BARE))
        self.assertIsNone(feature.invitationPassword(room))
        self.assertIsNone(feature.checkRegistration(room, Affiliation.NONE))
        self.assertFalse(
            feature.invitesOnAffiliation(room, Affiliation.NONE, Affiliation.MEMBER)
        )
        self.assertIsNone(feature.affiliationRemoval(room, Affiliation.NONE))
        self.assertIsNone(feature.configRemoval(room, Affiliation.NONE))
        self.assertIsNone(feature.demotedAffiliation(room, room.config))

    def test_roomWithoutFeatures(self):
        """
        A room without options follows the tables alone: the privileges of
        section 5.1.1, no real JIDs shown (fully anonymous), every presence
        broadcast, no invitation password.
        """
        room = Room(ROOM, task.Clock(), SeededIdSource(), RoomConfig(), features=())
        self.assertTrue(room.may(Role.PARTICIPANT, Privilege.MODIFY_SUBJECT))
        self.assertTrue(room.may(Role.VISITOR, Privilege.SEND_PRIVATE_MESSAGES))
        self.assertFalse(room.revealsRealJIDsTo(Role.MODERATOR))
        self.assertFalse(room.nonAnonymous)
        self.assertTrue(room.showsPresenceOf(Role.VISITOR))
        self.assertIsNone(room.invitationPassword())


    def test_firstOpinionDecides(self):
        """
        Features are asked in order, and the first answer that is not
        L{None} decides: a later feature's opinion is not asked for.
        """
        asked = []

        class Opinion(RoomFeature):
            def __init__(self, answer):
                self.answer = answer

            def grants(self, room, role, privilege):
                asked.append(self.answer)
                return self.answer

        room = Room(
            ROOM, task.Clock(), SeededIdSource(), RoomConfig(),
            features=(Opinion(None), Opinion(False), Opinion(True)),
        )
        self.assertFalse(room.may(Role.MODERATOR, Privilege.KICK))
        self.assertEqual([None, False], asked)


    def test_consulted(self):
        """
        The room asks a hook only of the features that may say something:
        not those inheriting L{RoomFeature}'s do-nothing method; a feature
        that is no L{RoomFeature}, or sets the hook on itself, is asked.
        """
        asked = []

        class Revealing(RoomFeature):
            def revealsRealJIDs(self, room, role):
                asked.append(self)
                return role is Role.VISITOR

        class Silent(RoomFeature):
            pass

        class Foreign:
            def revealsRealJIDs(self, room, role):
                asked.append(self)
                return False

        revealing, silent, foreign, own = Revealing(), Silent(), Foreign(), Silent()
        own.revealsRealJIDs = lambda room, role: asked.append(own) or role is Role.MODERATOR
        features = (silent, foreign, revealing, own)
        self.assertEqual((foreign, revealing, own), consulted(features, "revealsRealJIDs"))
        self.assertEqual((foreign,), consulted((silent, foreign), "revealsRealJIDs"))
        self.assertEqual((foreign,), consulted(features, "showsPresence"))
        room = Room(ROOM, task.Clock(), SeededIdSource(), RoomConfig(), features=features)
        self.assertTrue(room.revealsRealJIDsTo(Role.VISITOR))
        self.assertEqual([foreign, revealing], asked)
        self.assertTrue(room.revealsRealJIDsTo(Role.MODERATOR))
        self.assertFalse(room.revealsRealJIDsTo(Role.PARTICIPANT))


class MembersOnlyTests(unittest.SynchronousTestCase):
    """
    L{membersonly}: every rule of a members-only room.
    """

    feature = membersonly.feature

    def test_checkInvite(self):
        """
        Section 9.5: in a members-only room only admins and owners invite,
        unless C{allowinvites}; in an open room anyone does.
        """
        room = coven()
        room.config.membersOnly = True
        hag, crone = room.occupant("thirdwitch"), room.occupant("firstwitch")
        self.assertRaises(errors.Forbidden, self.feature.checkInvite, room, hag)
        self.feature.checkInvite(room, crone)
        room.config.allowInvites = True
        self.feature.checkInvite(room, hag)
        openRoom = coven()
        self.feature.checkInvite(openRoom, openRoom.occupant("thirdwitch"))

    def test_invited(self):
        """
        Sections 7.8.2 and 9.5: an unaffiliated invitee of a members-only
        room becomes a member; nothing changes for others, for a domain,
        or in an open room.
        """
        room = makeRoom(membersOnly=True)
        self.assertTrue(self.feature.invited(room, HECATE_BARE))
        self.assertEqual(Affiliation.MEMBER, room.affiliationOf(HECATE))
        self.assertFalse(self.feature.invited(room, HECATE_BARE))
        self.assertFalse(self.feature.invited(room, CRONE.userhostJID()))
        self.assertEqual(Affiliation.OWNER, room.affiliationOf(CRONE))
        self.assertFalse(self.feature.invited(room, DOMAIN))
        self.assertNotIn(DOMAIN, room.affiliations)
        openRoom = makeRoom()
        self.assertFalse(self.feature.invited(openRoom, HECATE_BARE))
        self.assertEqual(Affiliation.NONE, openRoom.affiliationOf(HECATE))

    def test_checkRegistration(self):
        """
        Section 7.10: the unaffiliated may not register with a members-only
        room; members may, and anyone with an open room.
        """
        room = makeRoom(membersOnly=True)
        self.assertRaises(
            errors.NotAllowed, self.feature.checkRegistration, room, Affiliation.NONE
        )
        self.feature.checkRegistration(room, Affiliation.MEMBER)
        self.feature.checkRegistration(makeRoom(), Affiliation.NONE)

    def test_invitesOnAffiliation(self):
        """
        Section 9.5: a new member of a members-only room is invited; not
        one who was a member or more already, nor a new admin, nor in an
        open room.
        """
        room = makeRoom(membersOnly=True)
        invites = self.feature.invitesOnAffiliation
        self.assertTrue(invites(room, Affiliation.NONE, Affiliation.MEMBER))
        self.assertTrue(invites(room, Affiliation.OUTCAST, Affiliation.MEMBER))
        self.assertFalse(invites(room, Affiliation.ADMIN, Affiliation.MEMBER))
        self.assertFalse(invites(room, Affiliation.NONE, Affiliation.ADMIN))
        self.assertFalse(invites(makeRoom(), Affiliation.NONE, Affiliation.MEMBER))

    def test_removals(self):
        """
        An occupant who is no longer a member leaves with 321 (section
        9.4); non-members leave a room made members-only with 322 (10.2).
        Members stay, and everyone stays in an open room.
        """
        room = makeRoom(membersOnly=True)
        self.assertEqual(
            Status.AFFILIATION_LOST, self.feature.affiliationRemoval(room, Affiliation.NONE)
        )
        self.assertEqual(
            Status.MEMBERS_ONLY, self.feature.configRemoval(room, Affiliation.NONE)
        )
        self.assertIsNone(self.feature.affiliationRemoval(room, Affiliation.MEMBER))
        self.assertIsNone(self.feature.configRemoval(room, Affiliation.MEMBER))
        self.assertIsNone(self.feature.affiliationRemoval(makeRoom(), Affiliation.NONE))
        self.assertIsNone(self.feature.configRemoval(makeRoom(), Affiliation.NONE))

    def test_demotedAffiliation(self):
        """
        Sections 10.2 and 10.7: whoever a submitted admin or owner list
        leaves out stays a member under a members-only configuration.
        """
        room = makeRoom()
        self.assertEqual(
            Affiliation.MEMBER,
            self.feature.demotedAffiliation(room, RoomConfig(membersOnly=True)),
        )
        self.assertIsNone(self.feature.demotedAffiliation(room, RoomConfig()))


class AllowInvitesTests(unittest.SynchronousTestCase):
    """
    L{invites}: C{allowinvites} is a flag the members-only option reads.
    """

    def test_noRuleOfItsOwn(self):
        """
        The option refuses no invitation by itself, even when off.
        """
        room = coven(allowInvites=False)
        invites.feature.checkInvite(room, room.occupant("thirdwitch"))


class PasswordTests(unittest.SynchronousTestCase):
    """
    L{password}: invitations to a protected room carry its password.
    """

    def test_invitationPassword(self):
        """
        Sections 7.8.2 and 9.5: the password of a protected room; none
        otherwise, even if a secret was kept.
        """
        room = makeRoom(passwordProtected=True, password="cauldronburn")
        self.assertEqual("cauldronburn", password.feature.invitationPassword(room))
        self.assertIsNone(
            password.feature.invitationPassword(makeRoom(password="cauldronburn"))
        )

    def test_roomInvitations(self):
        """
        The room's invitations carry what the option gives.
        """
        room = coven()
        room.config.passwordProtected, room.config.password = True, "cauldronburn"
        change = room.invite(CRONE, [(HECATE, None)])
        self.assertEqual("cauldronburn", change.invitations[0].password)


class WhoisTests(unittest.SynchronousTestCase):
    """
    L{whois}: who sees real JIDs.
    """

    def test_semiAnonymous(self):
        """
        Section 7.2.4: moderators only, and no one outside the room.
        """
        room = makeRoom(whois="moderators")
        self.assertTrue(whois.feature.revealsRealJIDs(room, Role.MODERATOR))
        for role in (Role.PARTICIPANT, Role.VISITOR, Role.NONE):
            self.assertFalse(whois.feature.revealsRealJIDs(room, role))
        self.assertFalse(room.nonAnonymous)
        self.assertEqual(frozenset({Status.SELF}), room.entryStatuses())

    def test_nonAnonymous(self):
        """
        Section 7.2.3: everyone, even someone not in the room; entering
        says so with 100.
        """
        room = makeRoom(whois="anyone")
        for role in Role:
            self.assertTrue(whois.feature.revealsRealJIDs(room, role))
        self.assertTrue(room.nonAnonymous)
        self.assertEqual(
            frozenset({Status.SELF, Status.NON_ANONYMOUS}), room.entryStatuses()
        )

    def test_canSeeRealJIDs(self):
        """
        The room asks by the viewer's role.
        """
        room = coven()
        self.assertTrue(room.canSeeRealJIDs(room.occupant("firstwitch")))
        self.assertFalse(room.canSeeRealJIDs(room.occupant("thirdwitch")))


class PrivilegeOptionTests(unittest.SynchronousTestCase):
    """
    The options that narrow section 5.1.1's starred cells through
    C{grants}: L{privatemessages}, L{subject} and L{memberlist}.
    """

    def test_allowPM(self):
        """
        Section 7.5: C{allowpm} decides who sends private messages; with
        C{anyone} the table does.
        """
        grants = privatemessages.feature.grants
        pm = Privilege.SEND_PRIVATE_MESSAGES
        expected = {
            "anyone": {Role.VISITOR: None, Role.PARTICIPANT: None, Role.MODERATOR: None},
            "participants": {Role.VISITOR: False, Role.PARTICIPANT: True, Role.MODERATOR: True},
            "moderators": {Role.VISITOR: False, Role.PARTICIPANT: False, Role.MODERATOR: True},
            "none": {Role.VISITOR: False, Role.PARTICIPANT: False, Role.MODERATOR: False},
        }
        for allowed, answers in expected.items():
            room = makeRoom(allowPM=allowed)
            for role, answer in answers.items():
                self.assertEqual(answer, grants(room, role, pm), (allowed, role))
        self.assertIsNone(grants(makeRoom(allowPM="none"), Role.MODERATOR, Privilege.KICK))

    def test_privateMessageRefused(self):
        """
        The room refuses a private message the option forbids.
        """
        room = coven(allowPM="moderators")
        self.assertRaises(errors.Forbidden, room.privateMessage, HAG, "firstwitch")
        room.privateMessage(CRONE, "thirdwitch")

    def test_changeSubject(self):
        """
        Section 8.1: moderators always; participants with
        C{changesubject}; visitors never.
        """
        grants, modify = subject.feature.grants, Privilege.MODIFY_SUBJECT
        room = makeRoom()
        self.assertTrue(grants(room, Role.MODERATOR, modify))
        self.assertFalse(grants(room, Role.PARTICIPANT, modify))
        room.config.changeSubject = True
        self.assertTrue(grants(room, Role.PARTICIPANT, modify))
        self.assertFalse(grants(room, Role.VISITOR, modify))
        self.assertIsNone(grants(room, Role.PARTICIPANT, Privilege.INVITE))

    def test_getMemberList(self):
        """
        Sections 7.9 and 9.5: the roles in C{getmemberlist} retrieve the
        member list.
        """
        grants, retrieve = memberlist.feature.grants, Privilege.RETRIEVE_MEMBER_LIST
        room = makeRoom(getMemberList=frozenset({Role.MODERATOR}))
        self.assertTrue(grants(room, Role.MODERATOR, retrieve))
        self.assertFalse(grants(room, Role.PARTICIPANT, retrieve))
        self.assertIsNone(grants(room, Role.PARTICIPANT, Privilege.KICK))


class PresenceBroadcastTests(unittest.SynchronousTestCase):
    """
    L{presencebroadcast}: whose presence the room broadcasts.
    """

    def test_showsPresence(self):
        """
        Section 10.2: the roles listed in the configuration asked about.
        """
        room = makeRoom(presenceBroadcast=frozenset({Role.MODERATOR}))
        shows = presencebroadcast.feature.showsPresence
        self.assertTrue(shows(room, room.config, Role.MODERATOR))
        self.assertFalse(shows(room, room.config, Role.PARTICIPANT))
        everyone = RoomConfig()
        self.assertTrue(shows(room, everyone, Role.PARTICIPANT))
        self.assertFalse(room.showsPresenceOf(Role.PARTICIPANT))
        self.assertTrue(room.showsPresenceOf(Role.PARTICIPANT, everyone))
