# -*- test-case-name: tests.e2e.test_vcard -*-
"""
vCards and avatars end to end (XEP-0054, XEP-0153, XEP-0084 with
XEP-0398, and vCards through a room, XEP-0045 section 17.4): slixmpp, an
independent client library in a subprocess, logs in two contacts over real
TCP with TLS and SASL and uses its own vcard-temp, vCard-avatar and
user-avatar plugins, judged by L{tests.e2e.slixchecks.checkVCardReport}, as
ejabberd is in the reference tier (L{tests.e2e.test_ejabberd}).
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.interfaces import RosterItem
from tests.e2e.slixchecks import checkVCardReport
from tests.e2e.slixrun import createAccounts, runScenario, serverSettings
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
        accounts = await createAccounts(running, ["alice", "bob"])
        users = running.server.users
        await users.setRosterItem("alice", RosterItem(JID("bob@localhost"), subscription="both"))
        await users.setRosterItem("bob", RosterItem(JID("alice@localhost"), subscription="both"))
        room = await running.createRoom("vcards")

        settings = serverSettings(
            running,
            accounts=accounts,
            room=room.userhost(),
        )
        report = await runScenario(self, "slixvcard.py", settings)
        checkVCardReport(self, report, room.userhost())
