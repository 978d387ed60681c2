# -*- test-case-name: tests.test_muc_admin -*-
"""
Tests for L{mepserver.muc.admin}: roles, affiliations and their lists,
voice requests and registration (XEP-0045 sections 7.10-7.13, 8, 9,
10.3-10.8).
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver import errors
from mepserver.muc.records import AdminItem, AffiliationNotice, Invitation, ListEntry, Status
from mepserver.muc.roles import Affiliation, Role
from tests.mucfixtures import CRONE, HAG, HAG2, HECATE, MACBETH, WICCA, coven, makeRoom


class RoleTests(unittest.SynchronousTestCase):
    """
    Role changes through L{Room.administer}: XEP-0045 sections 8.2-8.5, 9.6
    and 9.7.
    """

    def test_kick(self):
        """
        Section 8.2: a moderator kicks a participant, who leaves with 307,
        the reason and the actor's nick, every session at once.
        """
        room = coven()
        room.join(HAG2, "thirdwitch", None)
        change = room.administer(CRONE, [AdminItem(role=Role.NONE, nick="thirdwitch", reason="Avaunt")])
        [update] = change.updates
        self.assertEqual(("Avaunt", "firstwitch", Role.PARTICIPANT),
                         (update.reason, update.actor, update.previousRole))
        self.assertEqual([HAG, HAG2], [d.session for d in update.departures])
        self.assertEqual({Status.KICKED}, update.departures[-1].statuses)
        self.assertEqual(["firstwitch", "secondwitch"], list(room.occupants))
        self.assertFalse(change.durable)
        # Kicking is not banning: they may come back.
        room.join(HAG, "thirdwitch", None)

    def test_kickRefused(self):
        """
        Section 8.2 (example 93): only moderators kick, never a higher
        affiliation; admins and owners only by a higher affiliation, and
        moderators only by admins and owners.
        """
        room = coven()
        self.assertRaises(errors.Forbidden, room.administer, WICCA,
                          [AdminItem(role=Role.NONE, nick="thirdwitch")])
        room.affiliations[HECATE.userhostJID()] = Affiliation.ADMIN
        self.assertRaises(errors.Forbidden, room.administer, HECATE,
                          [AdminItem(role=Role.NONE, nick="thirdwitch")])
        room.join(HECATE, "hecate", None)
        self.assertRaises(errors.NotAllowed, room.administer, HECATE,
                          [AdminItem(role=Role.NONE, nick="firstwitch")])
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        room.occupant("secondwitch").role = Role.MODERATOR
        self.assertRaises(errors.NotAllowed, room.administer, HECATE,
                          [AdminItem(role=Role.NONE, nick="secondwitch")])
        room.affiliations[WICCA.userhostJID()] = Affiliation.MEMBER
        room.occupant("thirdwitch").role = Role.MODERATOR
        self.assertRaises(errors.NotAllowed, room.administer, WICCA,
                          [AdminItem(role=Role.NONE, nick="hecate")])
        self.assertRaises(errors.NotAllowed, room.administer, WICCA,
                          [AdminItem(role=Role.NONE, nick="thirdwitch")])
        self.assertRaises(errors.OccupantNotFound, room.administer, CRONE,
                          [AdminItem(role=Role.NONE, nick="macbeth")])
        self.assertEqual(4, len(room.occupants))
        # An owner kicks an admin.
        room.administer(CRONE, [AdminItem(role=Role.NONE, nick="hecate")])
        self.assertIsNone(room.occupant("hecate"))

    def test_voice(self):
        """
        Sections 8.3 and 8.4: in a moderated room a moderator grants voice
        to a visitor and revokes it, with a reason.
        """
        room = coven(moderated=True)
        self.assertEqual(Role.VISITOR, room.occupant("thirdwitch").role)
        [update] = room.administer(CRONE, [AdminItem(
            role=Role.PARTICIPANT, nick="thirdwitch", reason="A worthy witch")]).updates
        self.assertEqual((Role.VISITOR, Role.PARTICIPANT, "A worthy witch", False),
                         (update.previousRole, update.occupant.role, update.reason, update.removed))
        [update] = room.administer(CRONE, [AdminItem(role=Role.VISITOR, nick="thirdwitch")]).updates
        self.assertEqual(Role.VISITOR, update.occupant.role)
        self.assertEqual((), room.administer(CRONE, [AdminItem(role=Role.VISITOR, nick="thirdwitch")]).updates)

    def test_voiceOfAdminsKept(self):
        """
        Sections 8.4 and 9.7 (examples 102 and 145): nobody revokes the
        voice or moderator status of an admin or owner.
        """
        room = coven()
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        room.occupant("secondwitch").role = Role.MODERATOR
        for role in (Role.VISITOR, Role.PARTICIPANT):
            self.assertRaises(errors.NotAllowed, room.administer, CRONE,
                              [AdminItem(role=role, nick="secondwitch")])
            self.assertRaises(errors.NotAllowed, room.administer, WICCA,
                              [AdminItem(role=role, nick="firstwitch")])
        self.assertEqual(Role.MODERATOR, room.occupant("secondwitch").role)

    def test_moderator(self):
        """
        Sections 9.6 and 9.7: admins and owners grant and revoke moderator
        status; a mere moderator may not.
        """
        room = coven()
        [update] = room.administer(CRONE, [AdminItem(role=Role.MODERATOR, nick="thirdwitch")]).updates
        self.assertEqual(Role.MODERATOR, update.occupant.role)
        self.assertRaises(errors.Forbidden, room.administer, HAG,
                          [AdminItem(role=Role.MODERATOR, nick="secondwitch")])
        room.administer(HAG, [AdminItem(role=Role.PARTICIPANT, nick="secondwitch")])
        room.administer(CRONE, [AdminItem(role=Role.PARTICIPANT, nick="thirdwitch")])
        self.assertEqual(Role.PARTICIPANT, room.occupant("thirdwitch").role)

    def test_allOrNothing(self):
        """
        Section 9.2: if one item is refused, no item is applied.
        """
        room = coven(moderated=True)
        self.assertRaises(errors.NotAllowed, room.administer, CRONE, [
            AdminItem(role=Role.PARTICIPANT, nick="thirdwitch"),
            AdminItem(Affiliation.OUTCAST, jid=HECATE),
            AdminItem(role=Role.VISITOR, nick="firstwitch"),
        ])
        self.assertEqual(Role.VISITOR, room.occupant("thirdwitch").role)
        self.assertEqual(Affiliation.NONE, room.affiliationOf(HECATE))

    def test_badItems(self):
        """
        An item changes a role by nick or an affiliation by JID (or nick),
        not both and not neither.
        """
        room = coven()
        for items in ([], [AdminItem()], [AdminItem(Affiliation.MEMBER, Role.PARTICIPANT, HAG, "thirdwitch")],
                      [AdminItem(Affiliation.MEMBER)], [AdminItem(role=Role.VISITOR, jid=HAG)]):
            self.assertRaises(errors.BadRequest, room.administer, CRONE, items)


class AffiliationTests(unittest.SynchronousTestCase):
    """
    Affiliation changes through L{Room.administer}: XEP-0045 sections 9.1
    to 9.5 and 10.3 to 10.8.
    """

    def test_ban(self):
        """
        Section 9.1: an admin bans a present user by bare JID: removed with
        301, its reserved nick forgotten, the reason kept; it cannot come
        back (7.2.7).
        """
        room = coven()
        room.nicks[HAG.userhostJID()] = "thirdwitch"
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        change = room.administer(WICCA, [AdminItem(Affiliation.OUTCAST, jid=JID("hag66@shakespeare.lit"),
                                                   reason="Treason")])
        [update] = change.updates
        self.assertTrue(update.removed)
        self.assertEqual({Status.BANNED}, update.departures[0].statuses)
        self.assertEqual(Affiliation.OUTCAST, update.occupant.affiliation)
        self.assertEqual(("Treason", "secondwitch"), (update.reason, update.actor))
        self.assertTrue(change.durable)
        self.assertEqual({}, room.nicks)
        self.assertEqual({HAG.userhostJID(): "Treason"}, room.reasons)
        self.assertRaises(errors.Banned, room.join, HAG2, "thirdwitch", None)

    def test_absentNotices(self):
        """
        Sections 10.3, 10.6 and 10.7 (example 180): a changed affiliation of
        a user who is not present is a notice, for the occupants who may
        see real JIDs; a present user's change is an update instead, and an
        unchanged affiliation neither.
        """
        room = coven()
        change = room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HECATE),
                                         AdminItem(Affiliation.MEMBER, jid=HAG)])
        self.assertEqual((AffiliationNotice(HECATE.userhostJID(), Affiliation.MEMBER),), change.notices)
        self.assertEqual([HAG.userhostJID()], [u.occupant.realJID for u in change.updates])
        self.assertEqual((), room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HECATE)]).notices)
        self.assertEqual([CRONE], room.noticeRecipients())
        room.config.whois = "anyone"
        self.assertEqual([CRONE, WICCA, HAG], room.noticeRecipients())

    def test_banAbsentAndByFullJID(self):
        """
        Sections 9.1 and 10.3: affiliations go by bare JID, whether or not
        the user is present; a full JID stands for its bare JID.
        """
        room = coven()
        change = room.administer(CRONE, [AdminItem(Affiliation.OUTCAST, jid=HECATE)])
        self.assertEqual((), change.updates)
        self.assertEqual({HECATE.userhostJID(): Affiliation.OUTCAST, CRONE.userhostJID(): Affiliation.OWNER},
                         room.affiliations)
        self.assertRaises(errors.Banned, room.join, HECATE, "hecate", None)

    def test_banByNick(self):
        """
        An affiliation item may name a present occupant by nick instead of
        JID (as Prosody accepts).
        """
        room = coven()
        [update] = room.administer(CRONE, [AdminItem(Affiliation.OUTCAST, nick="thirdwitch")]).updates
        self.assertEqual(HAG.userhostJID(), update.occupant.realJID)
        self.assertRaises(errors.OccupantNotFound, room.administer, CRONE,
                          [AdminItem(Affiliation.OUTCAST, nick="nobody")])

    def test_banDomain(self):
        """
        Section 9.2: a ban of a domain bans its users, but not those with
        an affiliation of their own.
        """
        room = coven()
        room.affiliations[JID("banquo@scotland.lit")] = Affiliation.MEMBER
        room.join(MACBETH, "macbeth", None)
        [update] = room.administer(CRONE, [AdminItem(Affiliation.OUTCAST, jid=JID("scotland.lit"))]).updates
        self.assertEqual("macbeth", update.occupant.nick)
        self.assertRaises(errors.Banned, room.join, JID("duncan@scotland.lit/x"), "duncan", None)
        room.join(JID("banquo@scotland.lit/x"), "banquo", None)

    def test_banRefused(self):
        """
        Section 9.1 (example 115): an admin may not ban an owner or another
        admin (not-allowed), nobody bans himself (conflict), and only admins
        and owners ban (forbidden).
        """
        room = coven()
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        room.affiliations[HECATE.userhostJID()] = Affiliation.ADMIN
        for actor, target, refusal in (
            (WICCA, CRONE, errors.NotAllowed),
            (WICCA, HECATE, errors.NotAllowed),
            (WICCA, WICCA, errors.Conflict),
            (CRONE, CRONE, errors.Conflict),
            (HAG, WICCA, errors.Forbidden),
            (HAG, MACBETH, errors.Forbidden),
        ):
            self.assertRaises(refusal, room.administer, actor, [AdminItem(Affiliation.OUTCAST, jid=target)])
        self.assertNotIn(Affiliation.OUTCAST, room.affiliations.values())

    def test_adminsAndOwnersByOwners(self):
        """
        Sections 10.3-10.8 (examples 184, 199): only owners grant or revoke
        admin and owner status.
        """
        room = coven()
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        for affiliation in (Affiliation.ADMIN, Affiliation.OWNER):
            self.assertRaises(errors.Forbidden, room.administer, WICCA, [AdminItem(affiliation, jid=HAG)])
        self.assertRaises(errors.NotAllowed, room.administer, WICCA, [AdminItem(Affiliation.NONE, jid=CRONE)])
        room.administer(WICCA, [AdminItem(Affiliation.MEMBER, jid=HAG)])
        self.assertEqual(Affiliation.MEMBER, room.affiliationOf(HAG))

    def test_lastOwner(self):
        """
        Sections 10.4 and 10.7: the last owner may not step down (conflict);
        with another owner it may.
        """
        room = coven()
        self.assertRaises(errors.Conflict, room.administer, CRONE, [AdminItem(Affiliation.ADMIN, jid=CRONE)])
        self.assertRaises(errors.Conflict, room.administer, CRONE, [
            AdminItem(Affiliation.OWNER, jid=HECATE), AdminItem(Affiliation.NONE, jid=HECATE),
            AdminItem(Affiliation.MEMBER, jid=CRONE)])
        self.assertEqual(Affiliation.OWNER, room.affiliationOf(CRONE))
        room.administer(CRONE, [AdminItem(Affiliation.OWNER, jid=HECATE)])
        [update] = room.administer(CRONE, [AdminItem(Affiliation.ADMIN, jid=CRONE)]).updates
        self.assertEqual((Affiliation.ADMIN, Role.MODERATOR), (update.occupant.affiliation, update.occupant.role))

    def test_roleFollowsAffiliation(self):
        """
        Sections 5.1.2, 10.6 and 10.7: an admin becomes a moderator; losing
        the affiliation resets the role to the new default; in a moderated
        room a new member gets voice (5.1.3 note).
        """
        room = coven(moderated=True)
        [update] = room.administer(CRONE, [AdminItem(Affiliation.ADMIN, jid=WICCA)]).updates
        self.assertEqual((Role.VISITOR, Role.MODERATOR, Affiliation.ADMIN),
                         (update.previousRole, update.occupant.role, update.occupant.affiliation))
        [update] = room.administer(CRONE, [AdminItem(Affiliation.NONE, jid=WICCA)]).updates
        self.assertEqual(Role.VISITOR, update.occupant.role)
        [update] = room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HAG, reason="Worthy")]).updates
        self.assertEqual((Role.PARTICIPANT, Affiliation.MEMBER, "Worthy"),
                         (update.occupant.role, update.occupant.affiliation, update.reason))
        self.assertEqual((), room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HAG)]).updates)

    def test_membersOnlyLoss(self):
        """
        Section 9.4 (example 128): losing membership of a members-only room
        removes the occupant with 321, and it may not come back.
        """
        room = makeRoom(membersOnly=True)
        room.affiliations[HAG.userhostJID()] = Affiliation.MEMBER
        room.join(CRONE, "firstwitch", None)
        room.join(HAG, "thirdwitch", None)
        [update] = room.administer(CRONE, [AdminItem(Affiliation.NONE, jid=HAG)]).updates
        self.assertEqual({Status.AFFILIATION_LOST}, update.departures[0].statuses)
        self.assertEqual((Affiliation.NONE, Role.PARTICIPANT), (update.occupant.affiliation, update.previousRole))
        self.assertRaises(errors.MembersOnly, room.join, HAG, "thirdwitch", None)

    def test_newMemberInvited(self):
        """
        Section 9.5 (example 134): a user added to the member list of a
        members-only room, and not present, is invited, with the password;
        not in an open room.
        """
        room = makeRoom(membersOnly=True, passwordProtected=True, password="cauldronburn")
        change = room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HECATE),
                                         AdminItem(Affiliation.ADMIN, jid=WICCA)])
        self.assertEqual(
            (Invitation(HECATE.userhostJID(), CRONE.userhostJID(), None, "cauldronburn"),),
            change.invitations,
        )
        self.assertEqual((), makeRoom().administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HECATE)]).invitations)

    def test_reservedNick(self):
        """
        Sections 9.3 and 9.5: a nick given with a membership is reserved
        for the user; an empty one unsets it; another user's is a conflict.
        """
        room = coven()
        room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HECATE, nick="hecate")])
        self.assertEqual({HECATE.userhostJID(): "hecate"}, room.nicks)
        self.assertRaises(errors.NickConflict, room.join, MACBETH, "hecate", None)
        self.assertRaises(errors.NickConflict, room.administer, CRONE,
                          [AdminItem(Affiliation.MEMBER, jid=MACBETH, nick="hecate")])
        room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HECATE, nick="")])
        self.assertEqual({}, room.nicks)


class ListTests(unittest.SynchronousTestCase):
    """
    L{Room.adminList}: XEP-0045 sections 8.5, 9.2, 9.5, 9.8, 10.5 and 10.8.
    """

    def test_banList(self):
        """
        Section 9.2 (example 117): admins get the outcasts with reasons;
        members may not.
        """
        room = coven()
        room.affiliations[WICCA.userhostJID()] = Affiliation.MEMBER
        room.administer(CRONE, [AdminItem(Affiliation.OUTCAST, jid=MACBETH, reason="Treason")])
        self.assertEqual(
            [ListEntry(MACBETH.userhostJID(), Affiliation.OUTCAST, reason="Treason")],
            room.adminList(CRONE, AdminItem(Affiliation.OUTCAST)),
        )
        self.assertRaises(errors.Forbidden, room.adminList, WICCA, AdminItem(Affiliation.OUTCAST))

    def test_memberList(self):
        """
        Section 9.5 (example 130): members with their reserved nick if
        they have one, and no role, present or not: the nick hag66 has in
        the room is not a reserved one.
        """
        room = coven()
        room.administer(CRONE, [AdminItem(Affiliation.MEMBER, jid=HAG),
                                AdminItem(Affiliation.MEMBER, jid=HECATE, nick="hecate")])
        self.assertEqual(
            [ListEntry(JID("hag66@shakespeare.lit"), Affiliation.MEMBER, None, None),
             ListEntry(JID("hecate@shakespeare.lit"), Affiliation.MEMBER, None, "hecate")],
            room.adminList(CRONE, AdminItem(Affiliation.MEMBER)),
        )

    def test_memberListAccess(self):
        """
        Section 5.2.1 (note ***) and 9.5: in a semi-anonymous room only
        moderators, admins and owners see the member list; in a
        non-anonymous room occupants with a role in getmemberlist and absent
        members too.
        """
        room = coven()
        room.affiliations[HECATE.userhostJID()] = Affiliation.MEMBER
        item = AdminItem(Affiliation.MEMBER)
        self.assertRaises(errors.Forbidden, room.adminList, HAG, item)
        self.assertRaises(errors.Forbidden, room.adminList, HECATE, item)
        room.occupant("thirdwitch").role = Role.MODERATOR
        room.adminList(HAG, item)
        room.config.whois = "anyone"
        room.adminList(WICCA, item)
        room.adminList(HECATE, item)
        self.assertRaises(errors.Forbidden, room.adminList, MACBETH, item)
        room.config.getMemberList = frozenset({Role.MODERATOR})
        self.assertRaises(errors.Forbidden, room.adminList, WICCA, item)

    def test_ownerAndAdminLists(self):
        """
        Sections 10.5 and 10.8 (examples 182, 197): owners see the owner
        and admin lists, without the role of those present; others not in
        a semi-anonymous room.
        """
        room = coven()
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        self.assertEqual([ListEntry(JID("crone1@shakespeare.lit"), Affiliation.OWNER)],
                         room.adminList(CRONE, AdminItem(Affiliation.OWNER)))
        room.nicks[CRONE.userhostJID()] = "firstwitch"
        self.assertEqual([ListEntry(JID("crone1@shakespeare.lit"), Affiliation.OWNER, None, "firstwitch")],
                         room.adminList(CRONE, AdminItem(Affiliation.OWNER)))
        self.assertEqual(["wiccarocks@shakespeare.lit"],
                         [e.jid.full() for e in room.adminList(CRONE, AdminItem(Affiliation.ADMIN))])
        self.assertRaises(errors.Forbidden, room.adminList, WICCA, AdminItem(Affiliation.OWNER))
        room.config.whois = "anyone"
        room.adminList(WICCA, AdminItem(Affiliation.OWNER))

    def test_roleLists(self):
        """
        Sections 8.5 and 9.8 (examples 104, 147): moderators get the voice
        list with real JIDs; only admins the moderator list.
        """
        room = coven()
        self.assertEqual(
            [ListEntry(WICCA, Affiliation.NONE, Role.PARTICIPANT, "secondwitch"),
             ListEntry(HAG, Affiliation.NONE, Role.PARTICIPANT, "thirdwitch")],
            room.adminList(CRONE, AdminItem(role=Role.PARTICIPANT)),
        )
        self.assertEqual(["firstwitch"], [e.nick for e in room.adminList(CRONE, AdminItem(role=Role.MODERATOR))])
        self.assertRaises(errors.Forbidden, room.adminList, HAG, AdminItem(role=Role.PARTICIPANT))
        room.occupant("thirdwitch").role = Role.MODERATOR
        room.adminList(HAG, AdminItem(role=Role.VISITOR))
        self.assertRaises(errors.Forbidden, room.adminList, HAG, AdminItem(role=Role.MODERATOR))

    def test_badQueries(self):
        """
        There is no list of the unaffiliated or of role none; a query asks
        for one list.
        """
        room = coven()
        for item in (AdminItem(Affiliation.NONE), AdminItem(role=Role.NONE), AdminItem(),
                     AdminItem(Affiliation.MEMBER, Role.PARTICIPANT)):
            self.assertRaises(errors.BadRequest, room.adminList, CRONE, item)


class VoiceRequestTests(unittest.SynchronousTestCase):
    """
    L{Room.requestVoice} and L{Room.approveVoice}: XEP-0045 sections 7.13
    and 8.6.
    """

    def test_request(self):
        """
        Section 7.13: a visitor's request goes to every moderator session;
        an occupant with voice has nothing to ask.
        """
        room = coven(moderated=True)
        request = room.requestVoice(HAG)
        self.assertEqual(("thirdwitch", HAG, (CRONE,)),
                         (request.occupant.nick, request.session, request.moderators))
        room.occupant("thirdwitch").role = Role.PARTICIPANT
        self.assertIsNone(room.requestVoice(HAG))
        self.assertRaises(errors.NotOccupant, room.requestVoice, HECATE)

    def test_approve(self):
        """
        Section 8.6: a moderator's approval gives voice, the visitor named
        by nick or by real JID; only moderators approve.
        """
        room = coven(moderated=True)
        self.assertRaises(errors.Forbidden, room.approveVoice, WICCA, "thirdwitch", None)
        [update] = room.approveVoice(CRONE, None, HAG).updates
        self.assertEqual((Role.PARTICIPANT, "firstwitch"), (update.occupant.role, update.actor))
        self.assertEqual((), room.approveVoice(CRONE, "thirdwitch", None).updates)
        self.assertEqual((), room.approveVoice(CRONE, "nobody", None).updates)


class AffiliationFormTests(unittest.SynchronousTestCase):
    """
    The admin and owner lists and the presence broadcast of the
    configuration form (XEP-0045 section 10.2, example 165).
    """

    def fields(self, room):
        return {f.var: f for f in room.configFields()}

    def test_fields(self):
        """
        The form lists admins and owners as jid-multi fields, and the roles
        whose presence is broadcast.
        """
        room = makeRoom()
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        fields = self.fields(room)
        self.assertEqual(("jid-multi", ("crone1@shakespeare.lit",)),
                         (fields["muc#roomconfig_roomowners"].type, fields["muc#roomconfig_roomowners"].values))
        self.assertEqual(("wiccarocks@shakespeare.lit",), fields["muc#roomconfig_roomadmins"].values)
        self.assertEqual(("list-multi", ("moderator", "participant", "visitor")),
                         (fields["muc#roomconfig_presencebroadcast"].type,
                          fields["muc#roomconfig_presencebroadcast"].values))

    def test_lists(self):
        """
        Section 10.2: submitted lists are complete; those left out lose the
        affiliation, and present occupants are updated.
        """
        room = coven()
        change = room.configure(CRONE, {
            "muc#roomconfig_roomowners": ["crone1@shakespeare.lit", "hecate@shakespeare.lit/broom"],
            "muc#roomconfig_roomadmins": ["wiccarocks@shakespeare.lit"],
        })
        self.assertEqual(Affiliation.OWNER, room.affiliationOf(HECATE))
        [update] = change.updates
        self.assertEqual(("secondwitch", Role.MODERATOR), (update.occupant.nick, update.occupant.role))
        change = room.configure(CRONE, {"muc#roomconfig_roomadmins": ["crone1@shakespeare.lit"]})
        [update] = change.updates
        self.assertEqual((Affiliation.NONE, Role.PARTICIPANT), (update.occupant.affiliation, update.occupant.role))
        self.assertEqual(Affiliation.OWNER, room.affiliationOf(CRONE))
        room.configure(CRONE, {"muc#roomconfig_roomowners": ["crone1@shakespeare.lit"],
                               "muc#roomconfig_roomadmins": ["hecate@shakespeare.lit"]})
        self.assertEqual(Affiliation.ADMIN, room.affiliationOf(HECATE))

    def test_membersOnlyKeepsThemMembers(self):
        """
        Section 10.7: in a members-only room, an admin left out of the list
        becomes a member and stays.
        """
        room = makeRoom(membersOnly=True)
        room.affiliations[WICCA.userhostJID()] = Affiliation.ADMIN
        room.join(WICCA, "secondwitch", None)
        room.configure(CRONE, {"muc#roomconfig_roomadmins": []})
        self.assertEqual(Affiliation.MEMBER, room.affiliationOf(WICCA))
        self.assertEqual(["secondwitch"], list(room.occupants))

    def test_refused(self):
        """
        Section 10.7: an empty owner list is a conflict; a bad JID a bad
        request; either way nothing changes.
        """
        room = makeRoom()
        self.assertRaises(errors.Conflict, room.configure, CRONE,
                          {"muc#roomconfig_roomowners": [], "muc#roomconfig_roomname": ["x"]})
        self.assertRaises(errors.BadRequest, room.configure, CRONE,
                          {"muc#roomconfig_roomadmins": ["@@"], "muc#roomconfig_roomname": ["x"]})
        self.assertEqual(("", Affiliation.OWNER), (room.config.name, room.affiliationOf(CRONE)))

    def test_presenceBroadcast(self):
        """
        muc#roomconfig_presencebroadcast: the roles whose presence others
        get; a change is announced with 104.
        """
        room = makeRoom()
        change = room.configure(CRONE, {"muc#roomconfig_presencebroadcast": ["moderator", "participant"]})
        self.assertEqual({Status.CONFIGURATION_CHANGED}, change.statuses)
        self.assertFalse(room.showsPresenceOf(Role.VISITOR))
        self.assertTrue(room.showsPresenceOf(Role.PARTICIPANT))
        self.assertRaises(errors.BadRequest, room.configure, CRONE,
                          {"muc#roomconfig_presencebroadcast": ["none"]})


class RegistrationTests(unittest.SynchronousTestCase):
    """
    L{Room.register}: XEP-0045 sections 7.10 and 7.12.
    """

    def test_register(self):
        """
        Section 7.10: an unaffiliated user registers with an open room: a
        member with its nick reserved; a present occupant is updated.
        """
        room = coven()
        self.assertIsNone(room.checkRegistration(HAG))
        [update] = room.register(HAG, "thirdwitch").updates
        self.assertEqual(Affiliation.MEMBER, update.occupant.affiliation)
        self.assertEqual("thirdwitch", room.checkRegistration(HAG2))
        self.assertEqual("thirdwitch", room.registeredNick(HAG))
        self.assertRaises(errors.NickConflict, room.join, HECATE, "thirdwitch", None)
        self.assertTrue(room.register(HECATE, "hecate").durable)
        self.assertEqual((), room.register(HECATE, "hecate").updates)

    def test_conflicts(self):
        """
        Section 7.10 (example 72): a nick in use or reserved by another user
        is a conflict.
        """
        room = coven()
        room.register(HECATE, "hecate")
        self.assertRaises(errors.NickConflict, room.register, HAG, "secondwitch")
        self.assertRaises(errors.NickConflict, room.register, HAG, "hecate")
        self.assertRaises(errors.NoNickname, room.register, HAG, " ")
        self.assertIsNone(room.registeredNick(HAG))

    def test_notAllowed(self):
        """
        Section 7.10 (example 68): outcasts may not register, nor the
        unaffiliated with a members-only room; owners keep their affiliation.
        """
        room = coven()
        room.affiliations[HECATE.userhostJID()] = Affiliation.OUTCAST
        self.assertRaises(errors.NotAllowed, room.register, HECATE, "hecate")
        room.config.membersOnly = True
        self.assertRaises(errors.NotAllowed, room.checkRegistration, MACBETH)
        room.register(CRONE, "crone")
        self.assertEqual((Affiliation.OWNER, "crone"), (room.affiliationOf(CRONE), room.registeredNick(CRONE)))

    def test_remove(self):
        """
        XEP-0077 remove: a member's membership and reserved nick go; an
        owner keeps its affiliation.
        """
        room = coven()
        room.register(HAG, "thirdwitch")
        room.register(CRONE, "crone")
        [update] = room.register(HAG, None).updates
        self.assertEqual(Affiliation.NONE, update.occupant.affiliation)
        room.register(CRONE, None)
        self.assertEqual(({}, Affiliation.OWNER), (room.nicks, room.affiliationOf(CRONE)))
