# -*- test-case-name: tests.test_locks -*-
"""
Tests for L{mepserver.locks}.
"""

from twisted.internet import defer
from twisted.trial import unittest

from mepserver.locks import KeyedLocks


class KeyedLocksTests(unittest.SynchronousTestCase):
    """
    One lock per key, held until the work's Deferred fires.
    """

    def test_inOrder(self):
        """
        Work queued behind a pending Deferred runs once it fires, in
        order; other keys are not held up; a free key is forgotten.
        """
        locks = KeyedLocks()
        done = []
        pending = defer.Deferred()
        locks.run("room", lambda: pending)
        self.assertTrue(locks.busy("room"))
        locks.run("room", done.append, 1)
        locks.run("room", done.append, 2)
        locks.run("other", done.append, "other")
        self.assertEqual(["other"], done)
        self.assertFalse(locks.busy("other"))
        pending.callback(None)
        self.assertEqual(["other", 1, 2], done)
        self.assertFalse(locks.busy("room"))

    def test_held(self):
        """
        L{KeyedLocks.held} holds the keys that are busy, and only those,
        as they change.
        """
        locks = KeyedLocks()
        held = locks.held
        pending = defer.Deferred()
        locks.run("room", lambda: pending)
        locks.run("other", lambda: None)
        self.assertIn("room", held)
        self.assertNotIn("other", held)
        pending.callback(None)
        self.assertNotIn("room", held)

    def test_drain(self):
        """
        L{KeyedLocks.drain} fires once no key has work left.
        """
        locks = KeyedLocks()
        pending = defer.Deferred()
        locks.run("room", lambda: pending)
        drained = locks.drain()
        self.assertNoResult(drained)
        pending.callback(None)
        self.successResultOf(drained)
        self.assertFalse(locks.busy("room"))
