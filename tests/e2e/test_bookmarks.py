# -*- test-case-name: tests.e2e.test_bookmarks -*-
"""
Bookmarks in both forms end to end: slixmpp, an independent client
library in a subprocess, stores legacy bookmarks (XEP-0048) in private
XML (XEP-0049) and reads them as PEP Native Bookmarks (XEP-0402), and the
other way round, over real TCP with TLS and SASL (XEP-0402 section 5).
"""

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixrun import runScenario, serverSettings


class SlixmppBookmarksTests(unittest.TestCase):
    """
    alice's one slixmpp session uses both forms in turn.
    """

    timeout = 120

    async def test_bothForms(self):
        """
        The account announces urn:xmpp:bookmarks:1#compat; two legacy
        bookmarks become two native items (id = room JID, name, nick,
        autojoin); after a native publish with XEP-0402's publish-options
        and a retract, the legacy list holds the unretracted bookmark and the
        new one; vcard-temp in private XML gets not-acceptable.
        """
        running = await startServer(self)
        alice = await running.createAccount("alice", "alice-secret")
        settings = serverSettings(running, jid=alice.jid.userhost(), password=alice.password)
        report = await runScenario(self, "slixbookmarks.py", settings)
        self.assertIn("urn:xmpp:bookmarks:1#compat", report["features"])
        self.assertEqual(
            [
                {"id": "play@conference.localhost", "name": "The Play", "nick": "JC", "autojoin": True},
                {"id": "orchard@conference.localhost", "name": "The Orchard", "nick": "Juliet", "autojoin": False},
            ],
            report["native"],
        )
        self.assertEqual(
            [
                {"jid": "play@conference.localhost", "name": "The Play", "nick": "JC", "autojoin": True},
                {"jid": "balcony@conference.localhost", "name": "The Balcony", "nick": "Romeo", "autojoin": True},
            ],
            report["legacy"],
        )
        self.assertEqual("not-acceptable", report["vcard"])
