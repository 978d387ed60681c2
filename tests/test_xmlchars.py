# -*- test-case-name: tests.test_xmlchars -*-
"""
Tests for L{mepserver.xmlchars}: XML 1.0's characters and the identifier
limit.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial import unittest
from xml.etree import ElementTree

from mepserver.xmlchars import (
    MAX_IDENTIFIER_BYTES,
    describeCharacter,
    identifierProblem,
    invalidCharacter,
)


class CharacterTests(unittest.SynchronousTestCase):
    """
    L{invalidCharacter} follows XML 1.0 section 2.2, production 2.
    """

    def test_allowed(self):
        """
        Tab, newline, carriage return, the BMP outside the surrogates and
        U+FFFE/U+FFFF, and the astral planes are XML text.
        """
        for text in ["", "\t\n\r", " ~", "\u00e9\ud7ff", "\ue000\ufffd", "\U00010000\U0010ffff"]:
            self.assertIsNone(invalidCharacter(text), repr(text))

    def test_forbidden(self):
        """
        The other C0 controls, lone surrogates, U+FFFE and U+FFFF are not;
        the first one is named.
        """
        for text, char in [
            ("a\x00b\x01", "\x00"),
            ("\x08", "\x08"),
            ("\x0b", "\x0b"),
            ("\x1f", "\x1f"),
            ("ok\ud800", "\ud800"),
            ("\udfff", "\udfff"),
            ("\ufffe", "\ufffe"),
            ("\uffff", "\uffff"),
        ]:
            self.assertEqual(char, invalidCharacter(text), repr(text))

    @given(st.characters(min_codepoint=0, max_codepoint=0x10FFFF))
    def test_agreesWithExpat(self, char):
        """
        A character is XML text exactly when the parser takes it as a
        character reference.
        """
        try:
            ElementTree.fromstring(f"<a>&#{ord(char)};</a>")
        except ElementTree.ParseError:
            parsed = False
        else:
            parsed = True
        self.assertEqual(parsed, invalidCharacter(char) is None)

    def test_describe(self):
        """
        Code points are written as Unicode writes them.
        """
        self.assertEqual(
            ["U+0000", "U+001B", "U+FFFE", "U+1F600"],
            [describeCharacter(c) for c in "\x00\x1b\ufffe\U0001f600"],
        )


class IdentifierTests(unittest.SynchronousTestCase):
    """
    L{identifierProblem}: XML text of at most 1023 bytes of UTF-8.
    """

    def test_fine(self):
        """
        Up to 1023 bytes of XML text, multi-byte characters counted in
        bytes, is fine.
        """
        self.assertEqual(1023, MAX_IDENTIFIER_BYTES)
        for text in ["n", "x" * 1023, "\u00e9" * 511 + "x", "\U0001f600" * 255 + "xyz"]:
            self.assertIsNone(identifierProblem(text, "the node name"))

    def test_tooLong(self):
        """
        One byte more is too long, and the message says how long.
        """
        self.assertEqual(
            "the item id is 1024 bytes long; this server allows at most 1023 "
            "bytes of UTF-8",
            identifierProblem("\u00e9" * 512, "the item id"),
        )

    def test_notXML(self):
        """
        A character XML forbids is named, before the length is looked at.
        """
        self.assertEqual(
            "the node name holds the character U+001B, which XML does not "
            "allow (XML 1.0 section 2.2)",
            identifierProblem("x\x1b" + "y" * 2000, "the node name"),
        )
