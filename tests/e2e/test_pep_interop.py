# -*- test-case-name: tests.e2e.test_pep_interop -*-
"""
Personal Eventing (XEP-0163) interoperability with slixmpp, over real TCP,
TLS and SASL, against a server started by L{mepserver.testing.startServer}.

The scenario runs in a subprocess (C{slixpep.py}, slixmpp's own XEP-0118,
XEP-0084 and XEP-0402 plugins): juliet publishes a tune, an avatar and a
bookmark; her contact romeo, whose caps carry the +notify features,
receives the tune and the avatar metadata; the nurse, a contact whose caps
carry none, receives nothing. The checks below read the report.
"""

import json

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.interfaces import RosterItem
from mepserver.testing import startServer
from tests.e2e.slixrun import runScript, serverSettings

NS_TUNE = "http://jabber.org/protocol/tune"
NS_AVATAR_METADATA = "urn:xmpp:avatar:metadata"
NS_BOOKMARKS = "urn:xmpp:bookmarks:1"


class SlixmppPEPTests(unittest.TestCase):
    """
    XEP-0163 with slixmpp: tune, avatar and bookmarks.
    """

    timeout = 120

    async def test_scenario(self):
        """
        juliet publishes a tune, an avatar and a bookmark; see the checks.
        """
        running = await startServer(self)
        accounts = {}
        for name in ("juliet", "romeo", "nurse"):
            account = await running.createAccount(name, f"{name}-secret")
            accounts[name] = [account.jid.userhost(), account.password]
        for name in accounts:
            for other in accounts:
                if other != name:
                    await running.server.users.setRosterItem(
                        name, RosterItem(JID(accounts[other][0]), subscription="both")
                    )
        settings = serverSettings(
            running,
            accounts=accounts,
        )
        self.juliet = accounts["juliet"][0]
        out, err, code = await runScript(self, "slixpep.py", settings)
        lines = out.decode().strip().splitlines()
        self.assertTrue(lines, f"no report; stderr={err.decode()[-3000:]}")
        report = json.loads(lines[-1])
        self.assertTrue(
            report.get("done"),
            f"the scenario stopped at step {report.get('step')!r}: {report.get('error')}"
            f"\nstderr: {err.decode()[-3000:]}",
        )
        self.assertEqual(0, code)
        events = report["events"]
        self.checkContact(events["romeo"], report["avatarId"])
        self.checkOwner(events["chamber"], events["balcony"])
        self.checkUninterested(events["nurse"])
        self.checkRetrieval(report)
        self.checkLastItems(events["hall"])

    def live(self, events, node):
        return [e for e in events if e["node"] == node and not e["delay"]]

    def checkContact(self, events, avatarId):
        """
        XEP-0163 sections 4 and 4.3.1: romeo, a contact with tune+notify and
        avatar metadata+notify, gets one headline from juliet's bare JID
        for each, with the payload; bookmarks, on a whitelist node
        (XEP-0402's options), do not reach him.
        """
        [tune] = self.live(events, NS_TUNE)
        self.assertEqual(self.juliet, tune["from"])
        self.assertEqual("headline", tune["type"])
        self.assertEqual("tune", tune["payload"].split("}")[-1])
        [metadata] = self.live(events, NS_AVATAR_METADATA)
        self.assertEqual(avatarId, metadata["item"])
        self.assertEqual([], [e for e in events if e["node"] == NS_BOOKMARKS])
        ids = [e["id"] for e in events]
        self.assertEqual(len(ids), len(set(ids)))

    def checkOwner(self, chamber, balcony):
        """
        XEP-0163 section 4 rule 3: the owner's resources get every event,
        the whitelist bookmark too.
        """
        for events in (chamber, balcony):
            for node in (NS_TUNE, NS_AVATAR_METADATA, NS_BOOKMARKS):
                self.assertEqual(1, len(self.live(events, node)), (node, events))
        [bookmark] = self.live(chamber, NS_BOOKMARKS)
        self.assertEqual("coven@chat.shakespeare.lit", bookmark["item"])

    def checkUninterested(self, events):
        """
        XEP-0163 section 4.3 (filtered notifications): the nurse's caps
        carry no +notify: nothing.
        """
        self.assertEqual([], events)

    def checkRetrieval(self, report):
        """
        XEP-0084 section 4.4 (retrieve the data by id) and XEP-0060 section
        6.5.9.8 (whitelist: not-allowed for a contact).
        """
        self.assertTrue(report["avatarDataMatches"])
        self.assertEqual("not-allowed", report["bookmarksForRomeo"])

    def checkLastItems(self, events):
        """
        XEP-0163 section 4.3.4: romeo's new session gets the last tune and
        avatar metadata, with delay stamps; no bookmark.
        """
        nodes = sorted(e["node"] for e in events if e["delay"])
        self.assertEqual(sorted([NS_TUNE, NS_AVATAR_METADATA]), nodes)
        self.assertEqual([], self.live(events, NS_TUNE))
