# -*- test-case-name: tests.test_errors -*-
"""
Tests for L{mepserver.errors}: the table from domain exceptions to stanza
errors.
"""

from twisted.trial import unittest

from mepserver import errors


class StanzaErrorTests(unittest.SynchronousTestCase):
    """
    L{errors.stanzaError}.
    """

    def test_enteringRefusals(self):
        """
        XEP-0045 section 7.2: each refusal to enter has its condition, type
        and legacy code.
        """
        expected = {
            errors.PasswordRequired: ("not-authorized", "auth", "401"),
            errors.Banned: ("forbidden", "auth", "403"),
            errors.RoomNotFound: ("item-not-found", "cancel", "404"),
            errors.NotAllowed: ("not-allowed", "cancel", "405"),
            errors.MembersOnly: ("registration-required", "auth", "407"),
            errors.NickConflict: ("conflict", "cancel", "409"),
            errors.RoomFull: ("service-unavailable", "wait", "503"),
            errors.NoNickname: ("jid-malformed", "modify", "400"),
            errors.NotOccupant: ("not-acceptable", "cancel", "406"),
        }
        for cls, (condition, kind, code) in expected.items():
            stanzaError = errors.stanzaError(cls("why"))
            element = stanzaError.getElement()
            self.assertEqual(
                (condition, kind, code, "why"),
                (stanzaError.condition, element["type"], element["code"], stanzaError.text),
                cls,
            )

    def test_subclass(self):
        """
        A subclass without its own line maps as its base.
        """

        class Odd(errors.Forbidden):
            pass

        self.assertEqual("forbidden", errors.stanzaError(Odd()).condition)

    def test_notARefusal(self):
        """
        Anything else is a programming error.
        """
        self.assertRaises(TypeError, errors.stanzaError, ValueError())
