# -*- test-case-name: tests.test_muc_iqforward -*-
"""
Tests for L{mepserver.muc.iqforward}: IQs through occupant JIDs
(XEP-0045 section 17.4) and self-pings (XEP-0410).
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver import errors
from tests.mucfixtures import CRONE, HAG, WICCA, makeRoom


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
