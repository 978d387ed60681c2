# -*- test-case-name: tests.test_pubsub_interests -*-
"""
Tests for L{mepserver.pubsub.interests}: caps announced in presence become
notification interests (XEP-0115, XEP-0060 section 9.2).
"""

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.caps import Caps, CapsCache
from mepserver.pubsub import interests
from mepserver.pubsub.interests import InterestTracker
from tests.helpers import CapsClient, parseXml

ROMEO = JID("romeo@montague.lit/orchard")
TUNE = "http://jabber.org/protocol/tune"
MOOD = "http://jabber.org/protocol/mood"


class TrackerTests(unittest.TestCase):
    """
    L{InterestTracker} over a real L{CapsCache}, with queries the test
    answers.
    """

    def setUp(self):
        self.queries = []
        self.tracker = InterestTracker(CapsCache(), self.query)

    def query(self, entity, node):
        d = defer.Deferred()
        self.queries.append((entity, node, d))
        return d

    def caps(self, *features):
        client = CapsClient(features)
        return client, Caps("sha-1", client.node, client.ver)

    def answer(self, client):
        entity, node, d = self.queries.pop(0)
        iq = parseXml(
            f"<iq type='get' id='q' from='{entity.full()}'>"
            f"<query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/></iq>",
            "jabber:client",
        )
        d.callback(client.answer(iq).query)

    def test_initial(self):
        """
        Initial presence: every +notify namespace is new, once resolved.
        """
        client, caps = self.caps(TUNE + "+notify", MOOD + "+notify", TUNE)
        d = self.tracker.announce(ROMEO, caps, True)
        self.assertNoResult(d)
        self.answer(client)
        self.assertEqual(frozenset({TUNE, MOOD}), self.successResultOf(d))
        self.assertTrue(self.tracker.interests.interested(ROMEO, TUNE))
        self.assertEqual(caps, self.tracker.announced(ROMEO))

    def test_shared(self):
        """
        Entities that announce the same caps share one L{Caps} and one set
        of interests, however many of them there are; past
        L{MOST_SHARED} kinds, an entity keeps its own (and is tracked the
        same).
        """
        client, caps = self.caps(TUNE + "+notify")
        juliet = JID("juliet@capulet.lit/balcony")
        self.tracker.announce(ROMEO, caps, True)
        self.answer(client)
        self.tracker.announce(juliet, Caps(caps.hash, caps.node, caps.ver), True)
        self.assertEqual([], self.queries)
        self.assertIs(self.tracker.announced(ROMEO), self.tracker.announced(juliet))
        byEntity = self.tracker.interests._byEntity
        self.assertIs(byEntity[ROMEO], byEntity[juliet])
        self.patch(interests, "MOST_SHARED", len(self.tracker._shared))
        client2, caps2 = self.caps(MOOD + "+notify")
        self.tracker.announce(ROMEO, caps2, False)
        self.answer(client2)
        self.tracker.announce(juliet, Caps(caps2.hash, caps2.node, caps2.ver), False)
        self.assertIsNot(self.tracker.announced(ROMEO), self.tracker.announced(juliet))
        self.assertEqual(frozenset({MOOD}), byEntity[juliet])
        self.assertTrue(self.tracker.interests.interested(juliet, MOOD))

    def test_sameCapsAgain(self):
        """
        Later presence with the same caps: nothing new, no query.
        """
        client, caps = self.caps(TUNE + "+notify")
        d = self.tracker.announce(ROMEO, caps, True)
        self.answer(client)
        self.successResultOf(d)
        self.assertEqual(frozenset(), self.successResultOf(self.tracker.announce(ROMEO, caps, False)))
        self.assertEqual([], self.queries)

    def test_changedCaps(self):
        """
        Other caps mid-session: only the added interests are new; lost
        ones go.
        """
        client, caps = self.caps(TUNE + "+notify")
        d = self.tracker.announce(ROMEO, caps, True)
        self.answer(client)
        client2, caps2 = self.caps(MOOD + "+notify")
        d = self.tracker.announce(ROMEO, caps2, False)
        self.answer(client2)
        self.assertEqual(frozenset({MOOD}), self.successResultOf(d))
        self.assertFalse(self.tracker.interests.interested(ROMEO, TUNE))

    def test_knownAtOnce(self):
        """
        Caps the server resolved already are answered at once, without a
        query or a Deferred (L{InterestTracker.announceNow}); unknown caps
        give a Deferred, as from L{InterestTracker.announce}.
        """
        client, caps = self.caps(TUNE + "+notify")
        pending = self.tracker.announceNow(ROMEO, caps, True)
        self.assertIsInstance(pending, defer.Deferred)
        self.answer(client)
        self.assertEqual(frozenset({TUNE}), self.successResultOf(pending))
        juliet = JID("juliet@capulet.lit/balcony")
        self.assertEqual(frozenset({TUNE}), self.tracker.announceNow(juliet, caps, True))
        self.assertEqual([], self.queries)
        self.assertTrue(self.tracker.interests.interested(juliet, TUNE))
        # The same caps again, and initial presence again.
        self.assertEqual(frozenset(), self.tracker.announceNow(juliet, caps, False))
        self.assertEqual(frozenset({TUNE}), self.tracker.announceNow(juliet, caps, True))
        self.assertEqual(frozenset(), self.tracker.announceNow(juliet, None, False))
        self.assertFalse(self.tracker.interests.interested(juliet, TUNE))

    def test_stale(self):
        """
        A result for caps the entity no longer announces, or after it left,
        is dropped.
        """
        client, caps = self.caps(TUNE + "+notify")
        d = self.tracker.announce(ROMEO, caps, True)
        self.tracker.forget(ROMEO)
        self.answer(client)
        self.assertEqual(frozenset(), self.successResultOf(d))
        self.assertEqual(frozenset(), self.tracker.interests.get(ROMEO))

    def test_noCaps(self):
        """
        Presence without caps: no interests (XEP-0115 section 8.3).
        """
        self.assertEqual(frozenset(), self.successResultOf(self.tracker.announce(ROMEO, None, True)))
        self.assertEqual(0, len(self.tracker.interests))

    def test_reset(self):
        client, caps = self.caps(TUNE + "+notify")
        self.tracker.announce(ROMEO, caps, True)
        self.answer(client)
        self.tracker.reset()
        self.assertIsNone(self.tracker.announced(ROMEO))
        self.assertEqual(0, len(self.tracker.interests))
