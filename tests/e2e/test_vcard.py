# -*- test-case-name: tests.e2e.test_vcard -*-
"""
vCards and avatars end to end (XEP-0054, XEP-0153, XEP-0084 with
XEP-0398, and vCards through a room, XEP-0045 section 17.4): slixmpp, an
independent client library in a subprocess, logs in two contacts over real
TCP with TLS and SASL and uses its own vcard-temp, vCard-avatar and
user-avatar plugins.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.interfaces import RosterItem
from tests.e2e.slixrun import runScenario, serverSettings
from mepserver.testing import startServer


class SlixmppVCardTests(unittest.TestCase):
    """
    alice and bob, contacts, in one room, on SQLite storage (the vCards
    come from the store's thread, as in a deployment).
    """

    timeout = 120

    async def test_vcardsAndAvatars(self):
        """
        The server lists vcard-temp and alice's account the PEP-to-vCard
        conversion; alice's own vCard starts empty; the hash of the avatar
        she sets with XEP-0153 reaches bob in her presence, and her vCard
        gives him the image; through the room, alice's occupant JID
        answers with the same vCard; the avatar she then publishes with
        XEP-0084 becomes her vCard PHOTO, its hash in her presence.
        """
        running = await startServer(self, storage="sqlite")
        alice = await running.createAccount("alice", "alice-secret")
        bob = await running.createAccount("bob", "b0b-secret")
        users = running.server.users
        await users.setRosterItem("alice", RosterItem(JID("bob@localhost"), subscription="both"))
        await users.setRosterItem("bob", RosterItem(JID("alice@localhost"), subscription="both"))
        room = await running.createRoom("vcards")

        settings = serverSettings(
            running,
            alice=[alice.jid.userhost(), alice.password],
            bob=[bob.jid.userhost(), bob.password],
            room=room.userhost(),
        )
        report = await runScenario(self, "slixvcard.py", settings)
        hashes = report["hashes"]
        self.assertIn("vcard-temp", report["serverFeatures"])
        self.assertIn("urn:xmpp:pep-vcard-conversion:0", report["accountFeatures"])
        self.assertTrue(report["ownEmpty"])
        self.assertTrue(report["firstFrom"].startswith("alice@localhost/"))
        self.assertEqual(hashes["first"], report["firstPhoto"])
        self.assertEqual(f"{room.userhost()}/Alice", report["occupantFrom"])
        self.assertEqual(hashes["first"], report["occupantPhoto"])
        self.assertTrue(report["secondFrom"].startswith("alice@localhost/"))
        self.assertEqual(hashes["second"], report["secondPhoto"])
        self.assertEqual("image/png", report["secondType"])
        # Every presence of alice bob saw carried an update element.
        self.assertNotIn(None, report["seen"])
