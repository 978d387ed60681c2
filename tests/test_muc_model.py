# -*- test-case-name: tests.test_muc_model -*-
"""
Tests for L{mepserver.muc.model} and the room options in
L{mepserver.muc.features}: plain Python, no XML, no reactor.
"""

from twisted.internet import defer, task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from zope.interface.verify import verifyObject

from mepserver import config as configModule
from mepserver import errors
from mepserver.ids import SeededIdSource
from mepserver.interfaces import IRoomFeature
from mepserver.muc import registry
from mepserver.muc.features import FEATURES
from mepserver.muc.nicks import checkJID, enforceNick, nickKey
from mepserver.muc.records import (
    AdminItem,
    AffiliationNotice,
    HistoryRequest,
    Invitation,
    ListEntry,
    Status,
)
from mepserver.muc.registry import Rooms
from mepserver.muc.roles import (
    AFFILIATION_PRIVILEGES,
    ROLE_PRIVILEGES,
    Affiliation,
    Privilege,
    Role,
)
from mepserver.muc.room import Room
from mepserver.muc.roomconfig import RoomConfig
from mepserver.storage.memory import MemoryRoomStore

ROOM = JID("coven@chat.shakespeare.lit")
CRONE = JID("crone1@shakespeare.lit/desktop")
WICCA = JID("wiccarocks@shakespeare.lit/laptop")
HAG = JID("hag66@shakespeare.lit/pda")
HAG2 = JID("hag66@shakespeare.lit/laptop")
HECATE = JID("hecate@shakespeare.lit/broom")
MACBETH = JID("macbeth@scotland.lit/castle")


def makeRoom(**config):
    """
    An unlocked room owned by crone1, with the given configuration.
    """
    room = Room(ROOM, task.Clock(), SeededIdSource(), RoomConfig(**config))
    room.affiliations[CRONE.userhostJID()] = Affiliation.OWNER
    return room


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


class NickTests(unittest.SynchronousTestCase):
    """
    Room nicknames (RFC 8266's Nickname profile, as XEP-0045 sections 7.2
    and 17.1 expect) and JID lengths (RFC 7622 section 3).
    """

    def test_enforced(self):
        """
        RFC 8266 section 2.3: spaces mapped, trimmed and collapsed, NFKC;
        case kept.
        """
        self.assertEqual("Third Witch", enforceNick(" Third\u00a0 Witch "))
        self.assertEqual("IV", enforceNick("\u2163"))
        self.assertEqual("thirdwitch", enforceNick("thirdwitch"))

    def test_refused(self):
        """
        Empty, only spaces, control characters, ignorable or unassigned code
        points and Hangul fillers are refused, with a reason.
        """
        for nick, reason in (
            (None, "empty"), ("", "empty"), ("   ", "only spaces"), ("a\x07", "control characters"),
            ("a\u200b", "U+200B (ZERO WIDTH SPACE)"), ("\u0378", "unassigned"),
            ("a\u1160", "U+1160 (HANGUL JUNGSEONG FILLER)"),
        ):
            error = self.assertRaises(errors.NoNickname, enforceNick, nick)
            self.assertIn(reason, error.text)

    def test_length(self):
        """
        RFC 7622 section 3.4.1: at most 1023 bytes of UTF-8, before and
        after enforcement.
        """
        self.assertEqual("n" * 1023, enforceNick("n" * 1023))
        self.assertEqual("\u00e9" * 511 + "n", enforceNick("\u00e9" * 511 + "n"))
        for nick in ("n" * 1024, "\u00e9" * 512, "\U0001f600" * 256, "n" * 100000):
            error = self.assertRaises(errors.NoNickname, enforceNick, nick)
            self.assertIn("1023 bytes", error.text)

    def test_compared(self):
        """
        RFC 8266 section 2.4: comparison maps case.
        """
        self.assertEqual(nickKey("ThirdWitch"), nickKey("thirdwitch"))
        self.assertNotEqual(nickKey("thirdwitch"), nickKey("third witch"))

    def test_checkJID(self):
        """
        RFC 7622 section 3: each part at most 1023 bytes; Twisted's parser
        does not check.
        """
        checkJID(JID(f"{'r' * 1023}@{'d' * 63}.lit/{'n' * 1023}"))
        for address, part in ((f"{'r' * 1024}@chat.shakespeare.lit", "localpart"),
                              (f"{chr(0xe9) * 512}@chat.shakespeare.lit", "localpart"),
                              (f"coven@chat.shakespeare.lit/{'n' * 1024}", "resourcepart")):
            error = self.assertRaises(errors.MalformedJID, checkJID, JID(address))
            self.assertIn(part, error.text)

    def test_joinEnforces(self):
        """
        Section 7.2.2: the room joins the enforced nick, with 210; a nick
        refused or too long is refused; a nick another user holds in another
        case conflicts (7.2.8); the user's own other session joins it.
        """
        room = coven()
        self.assertRaises(errors.NoNickname, room.join, HECATE, "n" * 1024, None)
        joined = room.join(HECATE, " hecate ", None)
        self.assertEqual(("hecate", True), (joined.occupant.nick, Status.NICK_ASSIGNED in joined.statuses))
        self.assertRaises(errors.NickConflict, room.join, MACBETH, "Hecate", None)
        second = room.join(JID("hecate@shakespeare.lit/cauldron"), "HECATE", None)
        self.assertIs(joined.occupant, second.occupant)
        self.assertIn(Status.NICK_ASSIGNED, second.statuses)
        self.assertNotIn(Status.NICK_ASSIGNED, room.join(MACBETH, "macbeth", None).statuses)

    def test_changeEnforces(self):
        """
        Section 7.6: a nick change is enforced too (210); another case of
        one's own nick is a change; of another's, a conflict.
        """
        room = coven()
        self.assertRaises(errors.NoNickname, room.changeNick, HAG, "   ", None)
        self.assertRaises(errors.NickConflict, room.changeNick, HAG, "SecondWitch", None)
        change = room.changeNick(HAG, "ThirdWitch", None)
        self.assertEqual(("thirdwitch", "ThirdWitch", False),
                         (change.oldNick, change.occupant.nick, change.modified))
        self.assertTrue(room.changeNick(HAG, " hag ", None).modified)
        self.assertIs(room.occupantOf(HAG), room.occupant("hag"))
        room.leave(HAG)
        room.join(HECATE, "HAG", None)

    def test_addressed(self):
        """
        An occupant JID addresses the occupant with exactly its nick; a nick
        no occupant could have is malformed.
        """
        room = coven()
        self.assertIs(room.occupant("thirdwitch"), room.addressed("thirdwitch"))
        self.assertIsNone(room.addressed("ThirdWitch"))
        for nick in (" thirdwitch", "   ", "n" * 1024):
            self.assertRaises(errors.NoNickname, room.addressed, nick)
        self.assertRaises(errors.NoNickname, room.privateMessage, WICCA, " thirdwitch")
        self.assertRaises(errors.OccupantNotFound, room.privateMessage, WICCA, "nobody")


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


class IQTests(unittest.SynchronousTestCase):
    """
    IQs through occupant JIDs (section 17.4) and self-pings (XEP-0410).
    """

    def test_forwardAndAnswer(self):
        """
        A request is forwarded to the shown session under a new id; the
        answer from that session goes back under the original id, once.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        room.join(WICCA, "secondwitch", None)
        forwarded = room.forwardIQ(HAG, "secondwitch", "v1")
        self.assertEqual(
            (JID("coven@chat.shakespeare.lit/thirdwitch"), WICCA),
            (forwarded.sender, forwarded.recipient),
        )
        self.assertNotEqual("v1", forwarded.id)
        self.assertIsNone(room.answerIQ(HAG, "thirdwitch", forwarded.id))
        self.assertIsNone(room.answerIQ(WICCA, "secondwitch", forwarded.id))
        answered = room.answerIQ(WICCA, "thirdwitch", forwarded.id)
        self.assertEqual(
            ("v1", JID("coven@chat.shakespeare.lit/secondwitch"), HAG),
            (answered.id, answered.sender, answered.recipient),
        )
        self.assertIsNone(room.answerIQ(WICCA, "thirdwitch", forwarded.id))

    def test_forwardRefusals(self):
        """
        Non-occupants cannot send IQs through the room; absent nicks are
        not found; a departure forgets pending requests.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        room.join(WICCA, "secondwitch", None)
        self.assertRaises(errors.NotOccupant, room.forwardIQ, CRONE, "thirdwitch", "a")
        self.assertRaises(errors.OccupantNotFound, room.forwardIQ, HAG, "nobody", "a")
        forwarded = room.forwardIQ(HAG, "secondwitch", "v1")
        room.leave(HAG)
        self.assertIsNone(room.answerIQ(WICCA, "thirdwitch", forwarded.id))

    def test_selfPing(self):
        """
        XEP-0410: a ping to one's own occupant JID is a self-ping; a
        non-occupant gets not-acceptable.
        """
        room = makeRoom()
        room.join(HAG, "thirdwitch", None)
        room.join(WICCA, "secondwitch", None)
        self.assertTrue(room.isSelfPing(HAG, "thirdwitch"))
        self.assertFalse(room.isSelfPing(HAG, "secondwitch"))
        self.assertRaises(errors.NotOccupant, room.isSelfPing, CRONE, "thirdwitch")


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
        announced with 104, anonymity changes with 172 and 173.
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
        self.assertEqual({Status.CONFIGURATION_CHANGED, Status.NOW_NON_ANONYMOUS}, change.statuses)
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

    def test_storedRoundTrip(self):
        """
        A room's durable state survives toStored and fromStored.
        """
        room = makeRoom(name="A Dark Cave", persistent=True, getMemberList=frozenset({Role.MODERATOR}),
                        presenceBroadcast=frozenset({Role.MODERATOR, Role.PARTICIPANT}))
        room.affiliations[HAG.userhostJID()] = Affiliation.OUTCAST
        room.reasons[HAG.userhostJID()] = "spells"
        room.nicks[WICCA.userhostJID()] = "secondwitch"
        room.subject, room.subjectBy = "Spells", "firstwitch"
        stored = registry.toStored(room)
        self.assertEqual("roomname", next(iter(stored.config)))
        again = registry.fromStored(stored, task.Clock(), SeededIdSource())
        self.assertEqual(room.config, again.config)
        self.assertEqual(room.affiliations, again.affiliations)
        self.assertEqual((room.nicks, room.reasons), (again.nicks, again.reasons))
        self.assertEqual(("Spells", "firstwitch"), (again.subject, again.subjectBy))


class RoomsTests(unittest.SynchronousTestCase):
    """
    The L{Rooms} registry.
    """

    def makeRooms(self, **settings):
        settings.setdefault("mucDomain", "chat.shakespeare.lit")
        config = configModule.Config(**settings)
        self.store = MemoryRoomStore()
        return Rooms(config, SeededIdSource(), task.Clock(), self.store)

    def stored(self):
        return [r.jid for r in self.successResultOf(self.store.loadRooms())]

    def test_create(self):
        """
        Section 10.1.1: the creator owns the new room, locked unless the
        service creates rooms unlocked.
        """
        rooms = self.makeRooms()
        room = rooms.create(JID("coven@chat.shakespeare.lit/firstwitch"), CRONE)
        self.assertEqual((ROOM, True, True), (room.jid, room.locked, room.created))
        self.assertEqual(Affiliation.OWNER, room.affiliationOf(CRONE))
        self.assertIs(room, rooms.get(JID("coven@chat.shakespeare.lit/x")))
        self.assertFalse(self.makeRooms(mucCreateUnlocked=True).create(ROOM, CRONE).locked)
        self.assertRaises(errors.BadRequest, rooms.create, JID("a@elsewhere"), CRONE)

    def test_listed(self):
        """
        Section 6.3: hidden and locked rooms are not listed.
        """
        rooms = self.makeRooms(mucCreateUnlocked=True)
        rooms.create(JID("b@chat.shakespeare.lit"), CRONE)
        rooms.create(JID("a@chat.shakespeare.lit"), CRONE)
        rooms.create(JID("hidden@chat.shakespeare.lit"), CRONE).config.public = False
        rooms.create(JID("locked@chat.shakespeare.lit"), CRONE).locked = True
        self.assertEqual(["a", "b"], [r.jid.user for r in rooms.listed()])

    def test_temporaryVanishes(self):
        """
        Section 7.14: a temporary room goes with its last occupant.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.join(CRONE, "firstwitch", None)
        self.assertFalse(rooms.vacate(room))
        room.leave(CRONE)
        self.assertTrue(rooms.vacate(room))
        self.assertNotIn(ROOM, rooms)

    def test_persistentWrittenThrough(self):
        """
        A persistent room is stored on save, survives its last occupant and
        loads into a new registry; stopping persistence removes it.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.configure(CRONE, {"muc#roomconfig_persistentroom": ["1"]})
        rooms.save(room)
        self.assertEqual([ROOM], self.stored())
        self.assertFalse(rooms.vacate(room))

        again = Rooms(configModule.Config(mucDomain="chat.shakespeare.lit"),
                      SeededIdSource(), task.Clock(), self.store)
        self.successResultOf(defer.ensureDeferred(again.load()))
        loaded = again.get(ROOM)
        self.assertTrue(loaded.config.persistent)
        self.assertFalse(loaded.locked)
        self.assertEqual(Affiliation.OWNER, loaded.affiliationOf(CRONE))

        loaded.configure(CRONE, {"muc#roomconfig_persistentroom": ["0"]})
        again.save(loaded)
        self.assertEqual([], self.stored())
        self.assertTrue(again.vacate(loaded))

    def test_discard(self):
        """
        A discarded (destroyed) persistent room leaves the store too.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.config.persistent = True
        rooms.save(room)
        rooms.discard(room)
        self.assertEqual([], self.stored())
        self.assertIsNone(rooms.get(ROOM))

    def test_shutdown(self):
        """
        Section 11.2: shutting down empties every room, forgets temporary
        ones and keeps persistent ones, in memory and in the store.
        """
        rooms = self.makeRooms()
        kept = rooms.create(ROOM, CRONE)
        kept.configure(CRONE, {"muc#roomconfig_persistentroom": ["1"]})
        rooms.save(kept)
        kept.join(CRONE, "firstwitch", None)
        kept.join(HAG, "thirdwitch", None)
        temporary = rooms.create(JID("heath@chat.shakespeare.lit"), WICCA)
        temporary.locked = False
        temporary.join(WICCA, "secondwitch", None)
        emptied = rooms.shutdown()
        self.assertEqual(
            [(ROOM, ["firstwitch", "thirdwitch"]), (temporary.jid, ["secondwitch"])],
            [(room.jid, [o.nick for o in occupants]) for room, occupants in emptied],
        )
        self.assertEqual([CRONE], emptied[0][1][0].sessionJIDs)
        self.assertTrue(kept.empty)
        self.assertIsNone(kept.occupantOf(HAG))
        self.assertIs(kept, rooms.get(ROOM))
        self.assertNotIn(temporary.jid, rooms)
        self.assertEqual([ROOM], self.stored())

    def test_affiliationsWrittenThrough(self):
        """
        A ban with its reason and a member's reserved nick, saved, come back
        from the store.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.configure(CRONE, {"muc#roomconfig_persistentroom": ["1"]})
        change = room.administer(CRONE, [
            AdminItem(Affiliation.OUTCAST, jid=HAG, reason="Treason"),
            AdminItem(Affiliation.MEMBER, jid=WICCA, nick="secondwitch"),
        ])
        self.assertTrue(change.durable)
        rooms.save(room)
        again = Rooms(configModule.Config(mucDomain="chat.shakespeare.lit"),
                      SeededIdSource(), task.Clock(), self.store)
        self.successResultOf(defer.ensureDeferred(again.load()))
        loaded = again.get(ROOM)
        self.assertEqual(Affiliation.OUTCAST, loaded.affiliationOf(HAG))
        self.assertEqual({HAG.userhostJID(): "Treason"}, loaded.reasons)
        self.assertEqual({WICCA.userhostJID(): "secondwitch"}, loaded.nicks)


def coven(**config):
    """
    The room of the examples: crone1 (owner, firstwitch), wiccarocks
    (secondwitch) and hag66 (thirdwitch) present.
    """
    room = makeRoom(**config)
    room.join(CRONE, "firstwitch", None)
    room.join(WICCA, "secondwitch", None)
    room.join(HAG, "thirdwitch", None)
    return room


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
