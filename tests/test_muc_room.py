# -*- test-case-name: tests.test_muc_room -*-
"""
Tests for L{mepserver.muc.room}: entering, occupancy, messages,
configuration and invitations (XEP-0045 sections 7 and 10), and the room
options in L{mepserver.muc.features}: plain Python, no XML, no reactor.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from zope.interface.verify import verifyObject

from mepserver import errors
from mepserver.interfaces import IRoomFeature
from mepserver.muc.features import FEATURES
from mepserver.muc.records import HistoryRequest, Invitation, Status
from mepserver.muc.roles import Affiliation, Role
from mepserver.muc.roomconfig import RoomConfig
from tests.mucfixtures import CRONE, HAG, HAG2, HECATE, MACBETH, WICCA, coven, makeRoom


class JoinTests(unittest.SynchronousTestCase):
    """
    L{Room.join}: XEP-0045 section 7.2.
    """

    def test_join(self):
        """
        A newcomer becomes an occupant with its role, and a self-presence
        status 110; the room's owner is a moderator.
        """
        room = makeRoom()
        joined = room.join(HAG, "thirdwitch", "payload")
        self.assertTrue(joined.newOccupant)
        self.assertEqual({Status.SELF}, joined.statuses)
        self.assertEqual(Role.PARTICIPANT, joined.occupant.role)
        self.assertEqual(JID("coven@chat.shakespeare.lit/thirdwitch"), joined.occupant.jid)
        self.assertIs(joined.occupant, room.occupantOf(HAG))
        self.assertEqual("payload", joined.occupant.presence)
        self.assertEqual(Role.MODERATOR, room.join(CRONE, "firstwitch", None).occupant.role)
        self.assertEqual(["thirdwitch", "firstwitch"], list(room.occupants))

    def test_nonAnonymousAndCreated(self):
        """
        Sections 7.2.3 and 10.1.1: 100 in a non-anonymous room, 201 for the
        creator of a new room, once.
        """
        room = makeRoom(whois="anyone")
        room.created = True
        self.assertEqual(
            {Status.SELF, Status.NON_ANONYMOUS, Status.ROOM_CREATED},
            room.join(CRONE, "firstwitch", None).statuses,
        )
        self.assertEqual(
            {Status.SELF, Status.NON_ANONYMOUS}, room.join(HAG, "thirdwitch", None).statuses
        )

    def test_noNick(self):
        """
        Section 17.1: empty or invisible nicks are refused (jid-malformed).
        """
        room = makeRoom()
        self.assertRaises(errors.NoNickname, room.join, HAG, "", None)
        self.assertRaises(errors.NoNickname, room.join, HAG, "   ", None)
        self.assertEqual({}, dict(room.occupants))

    def test_nickConflict(self):
        """
        Section 7.2.8: a nick held by another bare JID is a conflict.
        """
        room = makeRoom()
        room.join(WICCA, "thirdwitch", None)
        self.assertRaises(errors.NickConflict, room.join, HAG, "thirdwitch", None)
        self.assertIsNone(room.occupantOf(HAG))

    def test_registeredNickConflict(self):
        """
        Section 7.2.8: a nick registered to someone else is a conflict.
        """
        room = makeRoom()
        room.nicks[WICCA.userhostJID()] = "secondwitch"
        self.assertRaises(errors.NickConflict, room.join, HAG, "secondwitch", None)
        room.join(WICCA, "secondwitch", None)

    def test_severalSessions(self):
        """
        Section 7.2.8: a second session of the same bare JID shares the nick;
        the latest presence is the one shown.
        """
        room = makeRoom()
        first = room.join(HAG, "thirdwitch", "one")
        second = room.join(HAG2, "thirdwitch", "two")
        self.assertFalse(second.newOccupant)
        self.assertIs(first.occupant, second.occupant)
        self.assertEqual([HAG, HAG2], first.occupant.sessionJIDs)
        self.assertEqual(("two", HAG2), (first.occupant.presence, first.occupant.shownJID))
        room.updatePresence(HAG, "one again")
        self.assertEqual(("one again", HAG), (first.occupant.presence, first.occupant.shownJID))
        self.assertEqual([HAG2, HAG], room.sessions())

    def test_locked(self):
        """
        Sections 7.2.10 and 10.1.2: a locked room does not exist for
        non-owners (item-not-found); its owners enter.
        """
        room = makeRoom()
        room.locked = True
        self.assertRaises(errors.RoomNotFound, room.join, HAG, "thirdwitch", None)
        self.assertFalse(room.existsFor(HAG))
        self.assertTrue(room.existsFor(CRONE))
        room.join(CRONE, "firstwitch", None)

    def test_banned(self):
        """
        Section 7.2.7: outcasts get forbidden.
        """
        room = makeRoom()
        room.affiliations[HAG.userhostJID()] = Affiliation.OUTCAST
        self.assertRaises(errors.Banned, room.join, HAG, "thirdwitch", None)

    def test_domainBanned(self):
        """
        Section 9.2: a ban of a domain bans its users, whatever JID names
        them; a user's own affiliation comes first.
        """
        room = makeRoom()
        room.affiliations[JID("shakespeare.lit")] = Affiliation.OUTCAST
        for user in (HAG, HAG.userhostJID(), JID("hag66@shakespeare.lit")):
            self.assertIs(Affiliation.OUTCAST, room.affiliationOf(user))
        self.assertRaises(errors.Banned, room.join, HAG, "thirdwitch", None)
        self.assertIs(Affiliation.OWNER, room.affiliationOf(CRONE))
        self.assertIs(Affiliation.NONE, room.affiliationOf(MACBETH))
        del room.affiliations[JID("shakespeare.lit")]
        self.assertIs(Affiliation.NONE, room.affiliationOf(HAG))

    def test_membersOnly(self):
        """
        Section 7.2.6: non-members get registration-required; members enter.
        """
        room = makeRoom(membersOnly=True)
        self.assertRaises(errors.MembersOnly, room.join, HAG, "thirdwitch", None)
        room.affiliations[HAG.userhostJID()] = Affiliation.MEMBER
        self.assertEqual(Role.PARTICIPANT, room.join(HAG, "thirdwitch", None).occupant.role)

    def test_password(self):
        """
        Section 7.2.5: a missing or wrong password gets not-authorized.
        """
        room = makeRoom(passwordProtected=True, password="cauldronburn")
        self.assertRaises(errors.PasswordRequired, room.join, HAG, "thirdwitch", None)
        self.assertRaises(errors.PasswordRequired, room.join, HAG, "thirdwitch", None, "x")
        room.join(HAG, "thirdwitch", None, "cauldronburn")

    def test_maxUsers(self):
        """
        Section 7.2.9: a full room refuses newcomers (service-unavailable)
        but not a further session of a present nick, nor admins.
        """
        room = makeRoom(maxUsers=1)
        room.join(HAG, "thirdwitch", None)
        self.assertRaises(errors.RoomFull, room.join, WICCA, "secondwitch", None)
        room.join(HAG2, "thirdwitch", None)
        room.join(CRONE, "firstwitch", None)
        self.assertEqual(2, len(room.occupants))

    def test_checkOrder(self):
        """
        The password is checked before the nick: a wrong password does not
        reveal who is in the room.
        """
        room = makeRoom(passwordProtected=True, password="secret")
        room.join(WICCA, "thirdwitch", None, "secret")
        self.assertRaises(errors.PasswordRequired, room.join, HAG, "thirdwitch", None)

    def test_occupantId(self):
        """
        XEP-0421 section 4.1: the occupant id depends on the room and the
        bare JID only.
        """
        room = makeRoom()
        first = room.join(HAG, "thirdwitch", None).occupant.occupantId
        room.leave(HAG)
        again = room.join(HAG2, "other", None).occupant.occupantId
        self.assertEqual(first, again)
        self.assertNotEqual(first, room.join(WICCA, "w", None).occupant.occupantId)


class OccupancyTests(unittest.SynchronousTestCase):
    """
    Leaving, nick changes and presence: XEP-0045 sections 7.6, 7.7, 7.14.
    """

    def test_leave(self):
        """
        The last session leaving removes the occupant with role none.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        departure = room.leave(HAG, "bye", [Status.ERROR])
        self.assertTrue(departure.lastSession)
        self.assertEqual(Role.NONE, departure.occupant.role)
        self.assertEqual(({Status.ERROR}, "bye"), (departure.statuses, departure.payload))
        self.assertTrue(room.empty)
        self.assertIsNone(room.leave(HAG))

    def test_leaveOneSession(self):
        """
        One of several sessions leaving keeps the occupant; if it was the
        shown one, what others see changes.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", "one")
        room.join(HAG2, "thirdwitch", "two")
        departure = room.leave(HAG)
        self.assertEqual((False, False), (departure.lastSession, departure.shownChanged))
        room.join(HAG, "thirdwitch", "one")
        departure = room.leave(HAG)
        self.assertEqual((False, True), (departure.lastSession, departure.shownChanged))
        self.assertEqual(Role.PARTICIPANT, departure.occupant.role)

    def test_changeNick(self):
        """
        Section 7.6: the occupant and all its sessions take the new nick,
        keeping its place.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        room.join(HAG2, "thirdwitch", None)
        room.join(WICCA, "secondwitch", None)
        change = room.changeNick(HAG, "oldhag", "new")
        self.assertEqual("thirdwitch", change.oldNick)
        self.assertEqual(["oldhag", "secondwitch"], list(room.occupants))
        self.assertIs(change.occupant, room.occupantOf(HAG2))
        self.assertEqual(("new", HAG), (change.occupant.presence, change.occupant.shownJID))

    def test_occupantJID(self):
        """
        An occupant's JID is C{room@service/nick} (section 4.1), made once
        per nick: the same object every time, a new one after a nick
        change.
        """
        room = makeRoom()
        occupant = room.join(HAG, "thirdwitch", None).occupant
        address = occupant.jid
        self.assertEqual(JID(tuple=(room.jid.user, room.jid.host, "thirdwitch")), address)
        self.assertIs(address, occupant.jid)
        room.changeNick(HAG, "oldhag", None)
        self.assertEqual(JID(tuple=(room.jid.user, room.jid.host, "oldhag")), occupant.jid)

    def test_changeNickConflict(self):
        """
        Section 7.6: a nick in use (even by the same user under another
        occupant) is a conflict; nothing changes.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        room.join(WICCA, "secondwitch", None)
        room.join(HAG2, "other", None)
        self.assertRaises(errors.NickConflict, room.changeNick, HAG, "secondwitch", None)
        self.assertRaises(errors.NickConflict, room.changeNick, HAG, "other", None)
        self.assertRaises(errors.NoNickname, room.changeNick, HAG, " ", None)
        self.assertRaises(errors.NotOccupant, room.changeNick, CRONE, "x", None)
        self.assertEqual("thirdwitch", room.occupantOf(HAG).nick)


class MessageTests(unittest.SynchronousTestCase):
    """
    Groupchat, history, subject and private messages: sections 7.2.13-7.2.15,
    7.4, 7.5 and 8.1.
    """

    def test_groupchatSender(self):
        """
        Section 7.4: non-occupants get not-acceptable, visitors forbidden.
        """
        room = makeRoom(moderated=True)
        self.assertRaises(errors.NotOccupant, room.groupchatSender, HAG)
        room.join(HAG, "thirdwitch", None)
        self.assertRaises(errors.Forbidden, room.groupchatSender, HAG)
        room.join(CRONE, "firstwitch", None)
        self.assertEqual("firstwitch", room.groupchatSender(CRONE).nick)

    def makeHistory(self):
        room = makeRoom()
        for index in range(5):
            room.addHistory(f"m{index}", 10)
            room.clock.advance(60)
        return room

    def payloads(self, entries):
        return [entry.payload for entry in entries]

    def test_historyDefault(self):
        """
        Without limits, the last historyLength messages, oldest first.
        """
        room = self.makeHistory()
        self.assertEqual(["m0", "m1", "m2", "m3", "m4"], self.payloads(room.historyFor()))
        room.configure(CRONE, {"muc#maxhistoryfetch": ["2"]})
        self.assertEqual(["m3", "m4"], self.payloads(room.historyFor()))
        room.configure(CRONE, {"muc#roomconfig_historylength": ["3"]})
        self.assertEqual(3, room.config.historyLength)
        self.assertEqual(["m3", "m4"], self.payloads(room.historyFor()))

    def test_historyLimits(self):
        """
        Section 7.2.14: maxstanzas, maxchars (complete messages only),
        seconds and since each limit the history, together the smallest.
        """
        room = self.makeHistory()
        self.assertEqual(["m3", "m4"], self.payloads(room.historyFor(HistoryRequest(maxStanzas=2))))
        self.assertEqual(["m2", "m3", "m4"], self.payloads(room.historyFor(HistoryRequest(maxChars=35))))
        self.assertEqual([], room.historyFor(HistoryRequest(maxChars=0)))
        # Messages at 0, 60, ..., 240; now is 300.
        self.assertEqual(["m4"], self.payloads(room.historyFor(HistoryRequest(seconds=60))))
        self.assertEqual(["m3", "m4"], self.payloads(room.historyFor(HistoryRequest(since=180))))
        self.assertEqual(
            ["m4"],
            self.payloads(room.historyFor(HistoryRequest(maxStanzas=3, seconds=100, since=0))),
        )

    def test_historyMeasuredWhenAsked(self):
        """
        A message's size may be given as a callable: it is called only
        when a newcomer asks for maxchars, once (measuring serializes the
        message, which most joins never need).
        """
        room = makeRoom()
        measured = []

        def measure():
            measured.append(1)
            return 10

        room.addHistory("m0", measure)
        self.assertEqual(["m0"], self.payloads(room.historyFor(HistoryRequest(maxStanzas=5))))
        self.assertEqual([], measured)
        self.assertEqual([], room.historyFor(HistoryRequest(maxChars=9)))
        self.assertEqual(["m0"], self.payloads(room.historyFor(HistoryRequest(maxChars=10))))
        self.assertEqual([1], measured)

    def test_historyLength(self):
        """
        A room keeps historyLength messages; zero keeps none.
        """
        room = makeRoom(historyLength=2)
        for index in range(3):
            room.addHistory(index, 1)
        self.assertEqual([1, 2], self.payloads(room.historyFor()))
        room = makeRoom(historyLength=0)
        room.addHistory(0, 1)
        self.assertEqual([], room.historyFor())

    def test_subject(self):
        """
        Section 8.1: a moderator sets the subject; participants may not.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        room.join(CRONE, "firstwitch", None)
        self.assertRaises(errors.Forbidden, room.setSubject, HAG, "Spells")
        self.assertRaises(errors.NotOccupant, room.setSubject, WICCA, "Spells")
        room.clock.advance(7)
        room.setSubject(CRONE, "Spells")
        self.assertEqual(("Spells", "firstwitch", 7), (room.subject, room.subjectBy, room.subjectStamp))

    def test_privateMessage(self):
        """
        Section 7.5: occupants only, to an existing nick, as allowpm says.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        room.join(CRONE, "firstwitch", None)
        self.assertRaises(errors.NotOccupant, room.privateMessage, WICCA, "thirdwitch")
        self.assertRaises(errors.OccupantNotFound, room.privateMessage, HAG, "nobody")
        sender, recipient = room.privateMessage(HAG, "firstwitch")
        self.assertEqual(("thirdwitch", "firstwitch"), (sender.nick, recipient.nick))
        room.config.allowPM = "moderators"
        self.assertRaises(errors.Forbidden, room.privateMessage, HAG, "firstwitch")
        room.privateMessage(CRONE, "thirdwitch")
        room.config.allowPM = "none"
        self.assertRaises(errors.Forbidden, room.privateMessage, CRONE, "thirdwitch")


class ConfigurationTests(unittest.SynchronousTestCase):
    """
    L{Room.configure} and the room options: sections 10.1 and 10.2.
    """

    def test_features(self):
        """
        Every room option provides IRoomFeature.
        """
        for feature in FEATURES:
            self.assertTrue(verifyObject(IRoomFeature, feature))
        self.assertEqual(len(FEATURES), len({f.name for f in FEATURES}))

    def test_discoFeatures(self):
        """
        Section 6.4: the muc_* features follow the configuration.
        """
        room = makeRoom()
        features = set(room.discoFeatures())
        self.assertTrue(
            {"muc_public", "muc_temporary", "muc_open", "muc_unmoderated",
             "muc_semianonymous", "muc_unsecured", "http://jabber.org/protocol/muc",
             "urn:xmpp:occupant-id:0"} <= features
        )
        room = makeRoom(public=False, persistent=True, membersOnly=True, moderated=True,
                        whois="anyone", passwordProtected=True, password="p")
        self.assertTrue(
            {"muc_hidden", "muc_persistent", "muc_membersonly", "muc_moderated",
             "muc_nonanonymous", "muc_passwordprotected"} <= set(room.discoFeatures())
        )

    def test_instantRoom(self):
        """
        Section 10.1.2: an empty submission unlocks, changing nothing else.
        """
        room = makeRoom()
        room.locked = True
        change = room.configure(CRONE, {})
        self.assertEqual((frozenset(), True), (change.statuses, change.unlocked))
        self.assertFalse(room.locked)
        self.assertEqual(RoomConfig(), room.config)

    def test_onlyOwners(self):
        """
        Section 10.2: non-owners get forbidden.
        """
        room = makeRoom()
        room.affiliations[HAG.userhostJID()] = Affiliation.ADMIN
        self.assertRaises(errors.Forbidden, room.configure, HAG, {})
        self.assertRaises(errors.Forbidden, room.cancelConfiguration, HAG)

    def test_configure(self):
        """
        Section 10.1.3's example submission sets every option; changes are
        announced with 104, anonymity changes with 172 and 173, and the
        persistent room's archive (XEP-0313) with 170.
        """
        room = makeRoom()
        values = {
            "muc#roomconfig_roomname": ["A Dark Cave"],
            "muc#roomconfig_roomdesc": ["The place for all good witches!"],
            "muc#roomconfig_changesubject": ["1"],
            "muc#roomconfig_allowinvites": ["0"],
            "muc#roomconfig_allowpm": ["participants"],
            "muc#roomconfig_maxusers": ["10"],
            "muc#roomconfig_publicroom": ["0"],
            "muc#roomconfig_persistentroom": ["true"],
            "muc#roomconfig_moderatedroom": ["1"],
            "muc#roomconfig_membersonly": ["0"],
            "muc#roomconfig_passwordprotectedroom": ["1"],
            "muc#roomconfig_roomsecret": ["cauldronburn"],
            "muc#roomconfig_whois": ["anyone"],
            "muc#roomconfig_getmemberlist": ["moderator"],
            "muc#maxhistoryfetch": ["50"],
        }
        change = room.configure(CRONE, values)
        self.assertEqual(
            {Status.CONFIGURATION_CHANGED, Status.NOW_NON_ANONYMOUS, Status.LOGGING_ENABLED},
            change.statuses,
        )
        self.assertEqual(
            RoomConfig(
                name="A Dark Cave", description="The place for all good witches!",
                changeSubject=True, allowPM="participants", maxUsers=10,
                public=False, persistent=True, moderated=True,
                passwordProtected=True, password="cauldronburn", whois="anyone",
                getMemberList=frozenset({Role.MODERATOR}), historyLength=50,
            ),
            room.config,
        )
        self.assertEqual(frozenset(), room.configure(CRONE, values).statuses)
        change = room.configure(CRONE, {"muc#roomconfig_whois": ["moderators"]})
        self.assertEqual({Status.NOW_SEMI_ANONYMOUS}, change.statuses)

    def test_formRoundTrip(self):
        """
        Submitting the form's own values changes nothing.
        """
        room = makeRoom(name="n", maxUsers=20, passwordProtected=True, password="p")
        values = {f.var: list(f.values) for f in room.configFields() if f.var}
        self.assertEqual(frozenset(), room.configure(CRONE, values).statuses)

    def test_invalid(self):
        """
        Section 10.1.3: a password-protected room without a password is
        not acceptable; malformed values are bad requests; nothing changes.
        """
        room = makeRoom()
        self.assertRaises(errors.NotAcceptable, room.configure, CRONE, {
            "muc#roomconfig_roomname": ["x"],
            "muc#roomconfig_passwordprotectedroom": ["1"],
        })
        for var, value in [
            ("muc#roomconfig_publicroom", "maybe"),
            ("muc#roomconfig_whois", "none"),
            ("muc#roomconfig_maxusers", "many"),
            ("muc#maxhistoryfetch", "-1"),
            ("muc#roomconfig_getmemberlist", "outcast"),
        ]:
            self.assertRaises(errors.BadRequest, room.configure, CRONE, {var: [value]})
        self.assertEqual(RoomConfig(), room.config)

    def test_secretAlone(self):
        """
        A form with only a room secret (as Prosody's) protects the room with
        it; an empty one unprotects it.
        """
        room = makeRoom()
        room.configure(CRONE, {"muc#roomconfig_roomsecret": ["s"]})
        self.assertEqual((True, "s"), (room.config.passwordProtected, room.config.password))
        room.configure(CRONE, {"muc#roomconfig_roomsecret": [""]})
        self.assertEqual((False, ""), (room.config.passwordProtected, room.config.password))

    def test_membersOnlyRemoves(self):
        """
        Section 10.2: making the room members-only removes non-members with
        status 322.
        """
        room = makeRoom()
        room.affiliations[WICCA.userhostJID()] = Affiliation.MEMBER
        room.join(CRONE, "firstwitch", None)
        room.join(WICCA, "secondwitch", None)
        room.join(HAG, "thirdwitch", None)
        room.join(HAG2, "thirdwitch", None)
        change = room.configure(CRONE, {"muc#roomconfig_membersonly": ["1"]})
        self.assertEqual([HAG, HAG2], [d.session for d in change.removed])
        self.assertEqual([False, True], [d.lastSession for d in change.removed])
        self.assertEqual({Status.MEMBERS_ONLY}, change.removed[0].statuses)
        self.assertEqual(["firstwitch", "secondwitch"], list(room.occupants))

    def test_cancel(self):
        """
        Sections 10.1.3 and 10.2: cancelling destroys a locked room only.
        """
        room = makeRoom()
        self.assertFalse(room.cancelConfiguration(CRONE))
        room.locked = True
        self.assertTrue(room.cancelConfiguration(CRONE))

    def test_destroy(self):
        """
        Section 10.9: everyone is removed.
        """
        room = makeRoom()
        room.join(CRONE, "firstwitch", None)
        room.join(HAG, "thirdwitch", None)
        occupants = room.destroy()
        self.assertEqual(["firstwitch", "thirdwitch"], [o.nick for o in occupants])
        self.assertTrue(room.empty)
        self.assertIsNone(room.occupantOf(HAG))


class InvitationTests(unittest.SynchronousTestCase):
    """
    L{Room.invite} and L{Room.declineRecipients}: XEP-0045 sections 7.8.2,
    7.8.3 and 9.5.
    """

    def test_invite(self):
        """
        Section 7.8.2 (examples 56, 57): an occupant invites; the invitation
        carries its real JID, the reason and the password; an open room
        adds no member.
        """
        room = coven()
        room.config.passwordProtected, room.config.password = True, "cauldronburn"
        change = room.invite(HAG, [(HECATE.userhostJID(), "Hey"), (MACBETH, None)])
        self.assertEqual(
            (Invitation(HECATE.userhostJID(), HAG, "Hey", "cauldronburn"),
             Invitation(MACBETH, HAG, None, "cauldronburn")),
            change.invitations,
        )
        self.assertEqual((False, Affiliation.NONE), (change.durable, room.affiliationOf(HECATE)))
        self.assertRaises(errors.NotOccupant, room.invite, HECATE, [(MACBETH, None)])
        self.assertRaises(errors.BadRequest, room.invite, HAG, [])

    def test_membersOnly(self):
        """
        Section 9.5 (example 135): in a members-only room only admins and
        owners invite, unless allowinvites; the invitee becomes a member.
        """
        room = makeRoom(membersOnly=True)
        room.affiliations[HAG.userhostJID()] = Affiliation.MEMBER
        room.join(CRONE, "firstwitch", None)
        room.join(HAG, "thirdwitch", None)
        self.assertRaises(errors.Forbidden, room.invite, HAG, [(HECATE, None)])
        self.assertEqual(Affiliation.NONE, room.affiliationOf(HECATE))
        self.assertTrue(room.invite(CRONE, [(HECATE, None)]).durable)
        self.assertEqual(Affiliation.MEMBER, room.affiliationOf(HECATE))
        room.config.allowInvites = True
        room.invite(HAG, [(MACBETH, None)])
        self.assertEqual(Affiliation.MEMBER, room.affiliationOf(MACBETH))

    def test_declineRecipients(self):
        """
        Section 7.8.3: a decline goes to the inviter as named, or to the
        sessions behind an occupant JID.
        """
        room = coven()
        room.join(HAG2, "thirdwitch", None)
        self.assertEqual([CRONE.userhostJID()], room.declineRecipients(CRONE.userhostJID()))
        self.assertEqual([HAG, HAG2], room.declineRecipients(JID("coven@chat.shakespeare.lit/thirdwitch")))
        self.assertRaises(errors.OccupantNotFound, room.declineRecipients,
                          JID("coven@chat.shakespeare.lit/nobody"))
