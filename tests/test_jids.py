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
    checkPartLengths,
    parseJID,
)


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
