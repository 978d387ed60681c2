# -*- test-case-name: tests.test_muc_nicks -*-
"""
Tests for L{mepserver.muc.nicks}: room nicknames (RFC 8266) and JID
lengths (RFC 7622).
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver import errors
from mepserver.muc import nicks
from mepserver.muc.nicks import checkJID, enforceNick, nickKey
from mepserver.muc.records import Status
from tests.mucfixtures import HAG, HECATE, MACBETH, WICCA, coven


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
        # 1023 bytes that NFKC makes longer (each ligature is 18 letters).
        for nick in ("n" * 1024, "\u00e9" * 512, "\U0001f600" * 256, "n" * 100000, "\ufdfa" * 341):
            error = self.assertRaises(errors.NoNickname, enforceNick, nick)
            self.assertIn("1023 bytes", error.text)

    def test_remembered(self):
        """
        The profile is enforced once per nick, allowed or refused (the
        outcome is a pure function of the nick); a refusal is raised anew
        each time, with the same text. A nick too long to be one never
        reaches the profile, and is not kept.
        """
        enforced = []
        profile = nicks._NICK_ENFORCEMENT

        class Counting:
            def enforce(self, nick):
                enforced.append(nick)
                return profile.enforce(nick)

        nicks._enforced.cache_clear()
        self.addCleanup(nicks._enforced.cache_clear)
        self.patch(nicks, "_NICK_ENFORCEMENT", Counting())
        self.assertEqual("Third Witch", enforceNick(" Third Witch "))
        self.assertEqual("Third Witch", enforceNick(" Third Witch "))
        first = self.assertRaises(errors.NoNickname, enforceNick, "a\x07")
        second = self.assertRaises(errors.NoNickname, enforceNick, "a\x07")
        self.assertIsNot(first, second)
        self.assertEqual(first.text, second.text)
        self.assertRaises(errors.NoNickname, enforceNick, "n" * 1024)
        self.assertEqual([" Third Witch ", "a\x07"], enforced)
        self.assertEqual(2, nicks._enforced.cache_info().currsize)

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
