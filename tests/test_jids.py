# -*- test-case-name: tests.test_jids -*-
"""
Tests for L{mepserver.jids}: addresses as RFC 7622 allows them.
"""

from hypothesis import given, strategies as st
from twisted.trial import unittest
from twisted.words.protocols.jabber import jid

from mepserver.jids import (
    MAX_PART_BYTES,
    BoundedJIDCache,
    MemoizedPrepare,
    checkPartLengths,
    occupantJID,
    parseJID,
)


class OccupantJIDTests(unittest.SynchronousTestCase):
    """
    L{occupantJID}.
    """

    def test_sameAsPrepared(self):
        """
        The occupant JID equals the one Twisted prepares from the parts,
        whatever the nick holds (a slash, an at sign, non-ASCII letters),
        and is interned: the join presence's C{to} that named it is the
        same object.
        """
        room = jid.JID("coven@chat.shakespeare.lit")
        for nick in ("thirdwitch", "a/b", "x@y", "Hécate", "white space"):
            address = occupantJID(room, nick)
            self.assertEqual(jid.JID(tuple=(room.user, room.host, nick)), address)
            self.assertEqual(nick, address.resource)
        self.assertIs(jid.internJID("coven@chat.shakespeare.lit/Hécate"),
                      occupantJID(room, "Hécate"))


class ParseJIDTests(unittest.SynchronousTestCase):
    """
    L{parseJID}.
    """

    def test_valid(self):
        """
        A valid address is prepared and interned, as Twisted does it.
        """
        address = parseJID("Juliet@Capulet.lit/Balcony")
        self.assertEqual(jid.JID("juliet@capulet.lit/Balcony"), address)
        self.assertIs(jid.internJID("Juliet@Capulet.lit/Balcony"), address)

    def test_emptyLocalpart(self):
        """
        RFC 7622 3.3.1: '@' with nothing before it is not the domain.
        """
        e = self.assertRaises(jid.InvalidFormat, parseJID, "@capulet.lit/r")
        self.assertIn("localpart", str(e))

    def test_emptyResourcepart(self):
        """
        RFC 7622 3.4.1: '/' with nothing after it is not the bare JID.
        """
        e = self.assertRaises(jid.InvalidFormat, parseJID, "juliet@capulet.lit/")
        self.assertIn("resourcepart", str(e))

    def test_partMappedToNothing(self):
        """
        A part that stringprep maps to nothing (here a zero-width space) is
        empty too, not missing.
        """
        self.assertRaises(jid.InvalidFormat, parseJID, "\u200b@capulet.lit")
        e = self.assertRaises(jid.InvalidFormat, parseJID, "juliet@capulet.lit/\u200b")
        self.assertIn("resourcepart", str(e))

    def test_atInResource(self):
        """
        An '@' after the first '/' belongs to the resourcepart.
        """
        address = parseJID("capulet.lit/@home")
        self.assertEqual((None, "capulet.lit", "@home"), (address.user, address.host, address.resource))

    def test_invalidCharacters(self):
        """
        What stringprep forbids stays an error.
        """
        self.assertRaises(jid.InvalidFormat, parseJID, "a b@capulet.lit")
        self.assertRaises(jid.InvalidFormat, parseJID, "\u0007@capulet.lit")

    def test_partLengths(self):
        """
        Each part may have 1023 bytes of UTF-8, not 1024.
        """
        for template in ("{}@capulet.lit", "juliet@{}", "juliet@capulet.lit/{}"):
            parseJID(template.format("a" * MAX_PART_BYTES))
            self.assertRaises(
                jid.InvalidFormat, parseJID, template.format("a" * (MAX_PART_BYTES + 1))
            )

    @given(st.text(alphabet="a\u00e9\u4e2d\U00010400", min_size=1, max_size=700))
    def test_bytesNotCharacters(self, resource):
        """
        Lengths are counted in UTF-8 bytes of the prepared part.
        """
        address = jid.internJID("juliet@capulet.lit/" + resource)
        if len(address.resource.encode("utf-8")) > MAX_PART_BYTES:
            self.assertRaises(jid.InvalidFormat, checkPartLengths, address)
        else:
            checkPartLengths(address)


class BoundedJIDCacheTests(unittest.SynchronousTestCase):
    """
    L{BoundedJIDCache}: the most recently used JIDs, short strings only.
    """

    def test_leastRecentlyUsedGoes(self):
        """
        Past C{maxSize}, the entry used least recently goes; reading an
        entry makes it recent.
        """
        cache = BoundedJIDCache(maxSize=2)
        cache["a@x"] = 1
        cache["b@x"] = 2
        self.assertEqual(1, cache["a@x"])
        cache["c@x"] = 3
        self.assertEqual(["a@x", "c@x"], list(cache))

    def test_longStringsNotKept(self):
        """
        A key longer than C{maxLength} is not kept at all.
        """
        cache = BoundedJIDCache(maxLength=10)
        cache["short@x"] = 1
        cache["much-longer@example.com"] = 2
        self.assertEqual(["short@x"], list(cache))


class MemoizedPrepareTests(unittest.SynchronousTestCase):
    """
    L{MemoizedPrepare}: a stringprep profile's answers, remembered.
    """

    def setUp(self):
        self.calls = []

        def prepare(string):
            self.calls.append(string)
            if "!" in string:
                raise UnicodeError("refused")
            return string.lower()

        self.prepare = MemoizedPrepare(prepare, maxSize=2, maxLength=5)

    def test_remembers(self):
        """
        A string is prepared once; the answer is the same after.
        """
        self.assertEqual("ab", self.prepare("AB"))
        self.assertEqual("ab", self.prepare("AB"))
        self.assertEqual(["AB"], self.calls)

    def test_bounded(self):
        """
        Only the C{maxSize} most recently used strings stay, and none
        longer than C{maxLength}.
        """
        for string in ("A", "B", "A", "C", "LONGER"):
            self.prepare(string)
        self.assertEqual(2, len(self.prepare))
        self.prepare("A")
        self.prepare("B")
        self.prepare("LONGER")
        self.assertEqual(["A", "B", "C", "LONGER", "B", "LONGER"], self.calls)

    def test_refusedNotKept(self):
        """
        A refused string raises every time.
        """
        for _ in range(2):
            self.assertRaises(UnicodeError, self.prepare, "no!")
        self.assertEqual(["no!", "no!"], self.calls)
        self.assertEqual(0, len(self.prepare))
