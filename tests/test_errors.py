# -*- test-case-name: tests.test_errors -*-
"""
Tests for L{mepserver.errors}: the table from domain exceptions to stanza
errors.
"""

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber import error
from twisted.words.xish import domish

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


class PubSubErrorTests(unittest.SynchronousTestCase):
    """
    L{errors.stanzaError} for the publish-subscribe refusals (XEP-0060
    section 14): the condition, type and pubsub-specific condition.
    """

    def test_conditions(self):
        expected = {
            errors.PreconditionNotMet: ("conflict", "cancel", "precondition-not-met"),
            errors.NodeExists: ("conflict", "cancel", None),
            errors.NodeIdRequired: ("bad-request", "modify", "nodeid-required"),
            errors.InstantNodesUnsupported: ("not-acceptable", "modify", "nodeid-required"),
            errors.InvalidJID: ("bad-request", "modify", "invalid-jid"),
            errors.NotSubscribed: ("unexpected-request", "cancel", "not-subscribed"),
            errors.PresenceSubscriptionRequired: (
                "not-authorized", "auth", "presence-subscription-required",
            ),
            errors.NotInRosterGroup: ("not-authorized", "auth", "not-in-roster-group"),
            errors.ClosedNode: ("not-allowed", "cancel", "closed-node"),
            errors.InvalidConfiguration: ("not-acceptable", "modify", None),
            errors.UnsupportedAccessModel: (
                "not-acceptable", "modify", "unsupported-access-model",
            ),
            errors.ItemRequired: ("bad-request", "modify", "item-required"),
            errors.PayloadRequired: ("bad-request", "modify", "payload-required"),
            errors.InvalidPayload: ("bad-request", "modify", "invalid-payload"),
        }
        for cls, (condition, kind, application) in expected.items():
            stanzaError = errors.stanzaError(cls("why"))
            element = stanzaError.getElement()
            app = stanzaError.appCondition
            self.assertEqual(
                (condition, kind, application, "why"),
                (
                    stanzaError.condition,
                    element["type"],
                    app.name if app is not None else None,
                    stanzaError.text,
                ),
                cls,
            )
            if app is not None:
                self.assertEqual(errors.NS_PUBSUB_ERRORS, app.uri)

    def test_unsupported(self):
        """
        C{unsupported} names the feature (XEP-0060 section 14.2).
        """
        stanzaError = errors.stanzaError(errors.Unsupported("collections", "leaf only"))
        self.assertEqual("feature-not-implemented", stanzaError.condition)
        self.assertEqual("unsupported", stanzaError.appCondition.name)
        self.assertEqual("collections", stanzaError.appCondition["feature"])


class ResetNotSupportedTests(unittest.SynchronousTestCase):
    """
    L{errors.ResetNotSupported}, the refusal of a reset, which no stanza
    carries.
    """

    def test_noRefusal(self):
        """
        It is a L{RuntimeError}, not a L{errors.Refusal}: it has no stanza
        error, and the server raises the same class.
        """
        from mepserver import server

        self.assertTrue(issubclass(errors.ResetNotSupported, RuntimeError))
        self.assertFalse(issubclass(errors.ResetNotSupported, errors.Refusal))
        self.assertIs(errors.ResetNotSupported, server.ResetNotSupported)

    def test_apiWithoutServer(self):
        """
        The HTTP API's module imports without L{mepserver.server}, which
        imports it: the exception they share lives here.
        """
        import subprocess
        import sys

        code = "import sys, mepserver.api.resource; print('mepserver.server' in sys.modules)"
        output = subprocess.check_output([sys.executable, "-c", code])
        self.assertEqual(b"False", output.strip())


class BlockedErrorTests(unittest.SynchronousTestCase):
    """
    L{errors.Blocked} (XEP-0191 section 3.3).
    """

    def test_blocked(self):
        """
        A stanza to a blocked JID is refused with C{not-acceptable}, type
        C{cancel}, and C{<blocked xmlns='urn:xmpp:blocking:errors'/>}.
        """
        stanzaError = errors.stanzaError(errors.Blocked("you block them"))
        element = stanzaError.getElement()
        self.assertEqual(
            ("not-acceptable", "cancel", "you block them"),
            (stanzaError.condition, element["type"], stanzaError.text),
        )
        self.assertEqual(
            ("urn:xmpp:blocking:errors", "blocked"),
            (stanzaError.appCondition.uri, stanzaError.appCondition.name),
        )


class AnswerIQTests(unittest.SynchronousTestCase):
    """
    L{errors.answerIQ}: the answer to an IQ from its processing.
    """

    def setUp(self):
        self.iq = domish.Element((None, "iq"))
        self.iq["type"], self.iq["id"] = "get", "q1"
        self.iq["from"], self.iq["to"] = "juliet@capulet.lit/balcony", "capulet.lit"

    def test_result(self):
        """
        An element becomes the result's child; L{None} an empty result.
        """
        child = domish.Element(("urn:example", "answer"))
        answer = self.successResultOf(errors.answerIQ(self.iq, defer.succeed(child)))
        self.assertEqual(("result", "q1"), (answer["type"], answer["id"]))
        self.assertEqual([child], list(answer.elements()))
        empty = self.successResultOf(errors.answerIQ(self.iq, defer.succeed(None)))
        self.assertEqual([], list(empty.elements()))

    def test_refusal(self):
        """
        A refusal becomes its stanza error, with its text.
        """
        d = defer.fail(errors.Forbidden("not yours"))
        answer = self.successResultOf(errors.answerIQ(self.iq, d))
        self.assertEqual("error", answer["type"])
        self.assertEqual("forbidden", error.exceptionFromStanza(answer).condition)
        self.assertEqual("not yours", error.exceptionFromStanza(answer).text)

    def test_unexpected(self):
        """
        Anything else is logged and answered internal-server-error.
        """
        answer = self.successResultOf(
            errors.answerIQ(self.iq, defer.fail(ZeroDivisionError()))
        )
        self.assertEqual("internal-server-error", error.exceptionFromStanza(answer).condition)
        self.assertEqual(1, len(self.flushLoggedErrors(ZeroDivisionError)))
