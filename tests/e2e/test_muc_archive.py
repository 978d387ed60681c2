# -*- test-case-name: tests.e2e.test_muc_archive -*-
"""
Rooms' message archives (XEP-0313 section 7.1.2) and message moderation
(XEP-0425) end to end, over real TCP, with slixmpp, an independent client
library in a subprocess (slixmucmam.py, which the Prosody reference tier
runs too), on the SQLite store, read back with the test fixture.
"""

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixchecks import ROOM_LINES, checkRoomArchiveReport
from tests.e2e.slixrun import createAccounts, runScenario, serverSettings

NS_RETRACT = "urn:xmpp:message-retract:1"


class SlixmppRoomArchiveTests(unittest.TestCase):
    """
    slixmucmam.py against mepserver.
    """

    timeout = 120

    async def test_scenario(self):
        """
        A late joiner loads the room's history from its archive with
        slixmpp's xep_0313, under the stanza-ids the live messages carried;
        the moderator's retraction with xep_0425 reaches the occupants, and
        L{RunningServer.roomArchive} shows the tombstone in the message's
        place, with bob's real JID kept, and the moderation message after
        it.
        """
        running = await startServer(self, storage="sqlite")
        accounts = await createAccounts(running, ["alice", "bob", "carol"])
        report = await runScenario(
            self,
            "slixmucmam.py",
            serverSettings(running, mucDomain=running.mucDomain, accounts=accounts, moderation="1"),
        )
        checkRoomArchiveReport(self, report)
        self.assertIn(report["archivingField"], (["0"], ["false"]))
        archived = await running.roomArchive("chronicle")
        self.assertEqual(
            [m["stanzaIds"][0] for m in report["live"]], [a.id for a in archived[:3]]
        )
        self.assertEqual(
            ROOM_LINES[:2], [str(a.message.body) for a in archived[:2]]
        )
        stone = archived[2].message
        self.assertIsNone(stone.body)
        [retracted] = list(stone.elements(NS_RETRACT, "retracted"))
        self.assertEqual("Spam", str(retracted.reason))
        self.assertEqual("bob@localhost/desk", archived[2].with_.full())
        self.assertIsNone(archived[3].with_)
