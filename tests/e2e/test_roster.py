# -*- test-case-name: tests.e2e.test_roster -*-
"""
End-to-end test of roster versioning and subscription pre-approval (RFC
6121 sections 2.6 and 3.4) with slixmpp, an independent client library,
in a subprocess, over real TCP with STARTTLS, on SQLite storage.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.testing import startServer
from tests.e2e.slixchecks import checkRosterReport
from tests.e2e.slixrun import createAccounts, runScenario, serverSettings


class SlixmppRosterTests(unittest.TestCase):
    """
    slixmpp caches a versioned roster and pre-approves a subscription.
    """

    timeout = 120

    async def test_versionedLoginsAndPreApproval(self):
        """
        slixmpp sees both stream features; without a cache it sends
        C{ver=''} and gets the whole roster with its version; pushes carry
        versions, and a pre-approval shows C{approved='true'}. Logging in
        again with the version of the last push gets an empty result. A
        second slixmpp client's request, sent while alice is offline, is
        approved by the server for her; her next login with the same, now
        old, version gets the whole roster with the current version.
        """
        running = await startServer(self, storage="sqlite")
        settings = serverSettings(
            running,
            accounts=await createAccounts(running, ["alice", "bob"]),
            carol=f"carol@{running.domain}",
        )
        report = await runScenario(self, "slixroster.py", settings)
        checkRosterReport(
            self, report, versions={"first": "0", "addPush": "1", "preApproval": "2", "third": "3"}
        )
        bob = JID(settings["accounts"]["bob"][0])
        item = await running.server.users.getRosterItem("alice", bob)
        self.assertEqual(("from", False), (item.subscription, item.approved))
