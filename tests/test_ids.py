# -*- test-case-name: tests.test_ids -*-
"""
Tests for L{mepserver.ids}.
"""

import secrets

from twisted.trial import unittest

from mepserver import ids
from mepserver.ids import POOL_SIZE, IdSource, SeededIdSource


class CountingSource(IdSource):
    """
    An L{IdSource} that counts how often it computes a stable id (each
    computation reads the secret once).
    """

    computed = 0

    def _key(self):
        self.computed += 1
        return IdSource._key(self)


class IdSourceTests(unittest.SynchronousTestCase):
    def test_unique(self):
        """
        Random ids do not repeat and carry the prefix.
        """
        source = IdSource()
        ids = {source.newId("m-") for _ in range(1000)}
        self.assertEqual(1000, len(ids))
        self.assertTrue(all(i.startswith("m-") for i in ids))

    def test_poolRefilled(self):
        """
        Ids are 16 hex digits of the operating system's random bytes, taken
        from a pool that is drawn again once used up: no id repeats across
        pools.
        """
        draws = []
        real = secrets.token_bytes

        def tokenBytes(n):
            draws.append(n)
            return real(n)

        self.patch(secrets, "token_bytes", tokenBytes)
        source = IdSource()
        count = 2 * POOL_SIZE // 8 + 1
        ids = [source.newId() for _ in range(count)]
        self.assertEqual([POOL_SIZE] * 3, draws)
        self.assertEqual(count, len(set(ids)))
        self.assertTrue(all(len(i) == 16 and int(i, 16) >= 0 for i in ids))

    def test_stable(self):
        """
        Stable ids depend on the parts and the source only.
        """
        source = IdSource()
        self.assertEqual(source.stableId("a", "b"), source.stableId("a", "b"))
        self.assertNotEqual(source.stableId("a", "b"), source.stableId("ab"))
        self.assertNotEqual(source.stableId("a"), IdSource().stableId("a"))

    def test_seeded(self):
        """
        The same seed gives the same sequences, another seed others.
        """
        one, two = SeededIdSource(7), SeededIdSource(7)
        self.assertEqual(
            [one.newId() for _ in range(5)], [two.newId() for _ in range(5)]
        )
        self.assertEqual(one.stableId("x"), two.stableId("x"))
        self.assertNotEqual(SeededIdSource(8).newId(), SeededIdSource(7).newId())

    def test_reset(self):
        """
        A reset seeded source starts its sequence again.
        """
        source = SeededIdSource(3)
        first = [source.newId() for _ in range(3)]
        stable = source.stableId("x")
        source.reset()
        self.assertEqual(first, [source.newId() for _ in range(3)])
        self.assertEqual(stable, source.stableId("x"))

    def test_stableRemembered(self):
        """
        A stable id asked for again is remembered, not computed again;
        the last L{ids.STABLE_CACHE_SIZE} are kept, and one that fell out
        is computed again, the same.
        """
        self.patch(ids, "STABLE_CACHE_SIZE", 2)
        source = CountingSource()
        first = source.stableId("room", "hag")
        self.assertEqual(first, source.stableId("room", "hag"))
        self.assertEqual(1, source.computed)
        source.stableId("room", "crone")
        source.stableId("room", "wicca")
        self.assertEqual(3, source.computed)
        self.assertEqual(first, source.stableId("room", "hag"))
        self.assertEqual(4, source.computed)

    def test_resetForgetsStable(self):
        """
        A seeded source reset with another seed has another secret: the
        stable ids it remembered are not its own any more.
        """
        source = SeededIdSource(7)
        self.assertEqual(SeededIdSource(7).stableId("x"), source.stableId("x"))
        source.seed = 8
        source.reset()
        self.assertEqual(SeededIdSource(8).stableId("x"), source.stableId("x"))
        self.assertNotEqual(SeededIdSource(7).stableId("x"), source.stableId("x"))
