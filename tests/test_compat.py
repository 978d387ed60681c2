# -*- test-case-name: tests.test_compat -*-
"""
Tests for L{mepserver._compat}, the wokkel 18.0.0 import shim and the
bound on Twisted's JID intern cache.
"""

import importlib
import subprocess
import sys

from twisted.python import compat
from twisted.trial import unittest
from twisted.words.protocols.jabber import jid

from mepserver import _compat
from mepserver.jids import BoundedJIDCache

WOKKEL_MODULES = ("pubsub", "muc", "disco", "data_form", "ping")

CANARY = """
import importlib, sys
for name in %r:
    try:
        importlib.import_module("wokkel." + name)
    except Exception as e:
        print("fails", name, type(e).__name__)
        sys.exit(0)
print("imports")
""" % (WOKKEL_MODULES,)


class CompatTests(unittest.SynchronousTestCase):
    """
    The shim lets wokkel import, changes nothing twice, and says when it
    can go.
    """

    def test_wokkelImports(self):
        """
        After C{import mepserver}, wokkel's pubsub, muc, disco, data_form and
        ping import.
        """
        for name in WOKKEL_MODULES:
            module = importlib.import_module("wokkel." + name)
            self.assertEqual("wokkel." + name, module.__name__)

    def test_appliedState(self):
        """
        The two names wokkel needs exist after the shim ran.
        """
        self.assertTrue(compat._PY3)
        self.assertIn("twisted.python.constants", sys.modules)
        from twisted.python.constants import ValueConstant, Values

        self.assertTrue(issubclass(Values, object))
        self.assertEqual(1, ValueConstant(1).value)

    def test_secondApplicationChangesNothing(self):
        """
        Applying the shim again changes and overwrites nothing.
        """
        constants = sys.modules["twisted.python.constants"]
        self.assertEqual([], _compat.apply())
        self.assertIs(constants, sys.modules["twisted.python.constants"])
        self.assertTrue(compat._PY3)

    def test_jidCacheBounded(self):
        """
        Twisted's JID intern cache is a L{BoundedJIDCache}: C{internJID}
        still interns, and a string it parsed is kept only while it is among
        the most recently used (issue 15). This fails if Twisted renames
        its cache, which would leave it unbounded.
        """
        cache = vars(jid)[_compat.JID_CACHE]
        self.assertIsInstance(cache, BoundedJIDCache)
        self.patch(cache, "maxSize", 3)
        first = jid.internJID("romeo@montague.lit/compat")
        self.assertIs(first, jid.internJID("romeo@montague.lit/compat"))
        for i in range(5):
            jid.internJID(f"user{i}@montague.lit/compat")
        self.assertEqual(3, len(cache))
        self.assertNotIn("romeo@montague.lit/compat", cache)
        again = jid.internJID("romeo@montague.lit/compat")
        self.assertIsNot(first, again)
        self.assertEqual(first, again)

    def test_jidCacheReplacedOnce(self):
        """
        A plain dict in its place is replaced, keeping its entries; the
        bounded cache, once there, is kept.
        """
        address = jid.JID("juliet@capulet.lit")
        self.patch(jid, _compat.JID_CACHE, {"juliet@capulet.lit": address})
        self.assertEqual(
            ["twisted.words.protocols.jabber.jid.__internJIDs"], _compat.apply()
        )
        cache = vars(jid)[_compat.JID_CACHE]
        self.assertIsInstance(cache, BoundedJIDCache)
        self.assertIs(address, jid.internJID("juliet@capulet.lit"))
        self.assertEqual([], _compat.apply())
        self.assertIs(cache, vars(jid)[_compat.JID_CACHE])

    def test_existingNamesKept(self):
        """
        Existing names are never overwritten: a _PY3 already there stays.
        """
        self.patch(compat, "_PY3", "sentinel")
        self.assertEqual([], _compat.apply())
        self.assertEqual("sentinel", compat._PY3)

    def test_canary(self):
        """
        Without mepserver, wokkel fails to import on this Twisted: the shim
        is still needed. This skips once a wokkel release imports alone.
        """
        output = subprocess.run(
            [sys.executable, "-c", CANARY], capture_output=True, text=True, check=True
        ).stdout
        if output.startswith("imports"):
            raise unittest.SkipTest("shim no longer needed: wokkel imports alone")
        self.assertTrue(output.startswith("fails"), output)
