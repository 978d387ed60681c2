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
from mepserver.jids import BoundedJIDCache, MemoizedPrepare

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


class MarkTests(unittest.SynchronousTestCase):
    """
    Handlers' marks on stanzas are attributes, never children.
    """

    def test_childIsNotAMark(self):
        """
        An element with children named C{handled} and C{blockingChecked},
        and a copy of it, are not marked; a mark set is read as set.
        """
        from mepserver.stanza import Broadcast, copyStanza, parseStanza

        element = parseStanza(
            "<message xmlns='jabber:client'><handled/><blockingChecked/>"
            "<archiveStanzaId/></message>"
        )
        for stanza in (element, copyStanza(element), Broadcast(element)):
            for mark, default in _compat.MARKS.items():
                self.assertIs(default, getattr(stanza, mark))
        self.assertEqual({"handled": False, "blockingChecked": False, "archiveStanzaId": None},
                         _compat.MARKS)
        element.handled = True
        self.assertIs(True, element.handled)
        from twisted.words.xish import domish

        self.assertIs(False, vars(domish.Element)["blockingChecked"])


class MemoizedStringprepTests(unittest.SynchronousTestCase):
    """
    Twisted's stringprep profiles remember what they prepared (issue 16),
    answering as before.
    """

    def test_profilesMemoized(self):
        """
        Each profile's C{prepare} is a L{MemoizedPrepare} of the profile's
        own, which answers the same, keeps the string, and refuses what
        stringprep refuses every time without keeping it.
        """
        from twisted.words.protocols.jabber import xmpp_stringprep

        for name, good, bad in (
            ("nodeprep", "RoMeo", "ro meo"),
            ("resourceprep", "Balcony 📱", "a\x07b"),
            ("nameprep", "Montague.LIT", "exa mple.com"),
        ):
            profile = getattr(xmpp_stringprep, name)
            memoized = vars(profile)["prepare"]
            self.assertIsInstance(memoized, MemoizedPrepare)
            own = type(profile).prepare.__get__(profile)
            self.assertEqual(own(good), profile.prepare(good))
            self.assertIn(good, memoized._prepared)
            self.assertEqual(own(good), profile.prepare(good))
            for _ in range(2):
                self.assertRaises(UnicodeError, profile.prepare, bad)
            self.assertNotIn(bad, memoized._prepared)


class UnassignedCodePointTests(unittest.SynchronousTestCase):
    """
    JIDs may hold code points Unicode 3.2 had not assigned (RFC 3454 section
    7, as Prosody and ejabberd prepare them): emoji in resources, room nicks
    and localparts; what stringprep prohibits stays refused.
    """

    def test_emojiAccepted(self):
        """
        Emoji pass in the resource and the localpart, and mapping still
        applies around them.
        """
        from twisted.words.protocols.jabber.jid import JID

        self.assertEqual("romeo@localhost/📱 phone", JID("romeo@localhost/📱 phone").full())
        self.assertEqual(
            "room@conference.localhost/Witch 🧙", JID("room@conference.localhost/Witch 🧙").full()
        )
        self.assertEqual("🦊fox@localhost", JID("🦊FOX@localhost").full())

    def test_prohibitedStillRefused(self):
        """
        Prohibited characters (a space or C{&} in a localpart, a control
        character in a resource) are still refused.
        """
        from twisted.words.protocols.jabber.jid import InvalidFormat, JID

        for text in ("ro meo@localhost", "a&b@localhost", "romeo@localhost/a\x07b"):
            self.assertRaises(InvalidFormat, JID, text)


class EmojiEndToEndTests(unittest.TestCase):
    """
    A client bound to an emoji resource joins a room under an emoji nick
    and talks there (the in-memory server, as twistd builds it).
    """

    def test_emojiResourceAndNick(self):
        """
        The resource is bound as asked, the nick is the occupant JID's
        resource, and the groupchat message comes from it.
        """
        from tests.memory import MemoryServer

        memory = MemoryServer(self)
        memory.createAccount("romeo")
        memory.createAccount("juliet")
        romeo = memory.connect("romeo", "📱")
        self.assertEqual("romeo@localhost/📱", romeo.jid.full())
        juliet = memory.connect("juliet", "balcony")
        room = "garden@conference.localhost"
        for client, nick in ((romeo, "Romeo 🌹"), (juliet, "Juliet")):
            client.send(
                f"<presence to='{room}/{nick}'>"
                "<x xmlns='http://jabber.org/protocol/muc'/></presence>"
            )
            if client is romeo:
                # An instant room (XEP-0045 section 10.1.2), unlocked.
                romeo.send(
                    f"<iq type='set' to='{room}' id='unlock'>"
                    "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                    "<x xmlns='jabber:x:data' type='submit'/></query></iq>"
                )
        self.assertIn(
            f"{room}/Romeo 🌹",
            [p.getAttribute("from") for p in juliet.take() if p.name == "presence"],
        )
        romeo.take()
        romeo.send(f"<message to='{room}' type='groupchat'><body>🌹</body></message>")
        [message] = [m for m in juliet.take() if m.name == "message"]
        self.assertEqual((f"{room}/Romeo 🌹", "🌹"), (message["from"], str(message.body)))
