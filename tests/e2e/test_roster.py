# -*- test-case-name: tests.e2e.test_roster -*-
"""
End-to-end test of roster versioning and subscription pre-approval (RFC
6121 sections 2.6 and 3.4) with slixmpp, an independent client library,
in a subprocess, over real TCP with STARTTLS, on SQLite storage.
"""

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixrun import runScenario, serverSettings


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
        alice = await running.createAccount("alice", "alice-secret")
        bob = await running.createAccount("bob", "b0b-secret")
        settings = serverSettings(
            running,
            alice=alice.jid.userhost(),
            alicePassword=alice.password,
            bob=bob.jid.userhost(),
            bobPassword=bob.password,
            carol=f"carol@{running.domain}",
        )
        report = await runScenario(self, "slixroster.py", settings)
        features = ["preapproval", "rosterver"]
        self.assertEqual(
            {"sentVer": "", "query": True, "ver": "0", "items": 0, "features": features},
            report["first"],
        )
        self.assertEqual("1", report["addPushVer"])
        self.assertEqual({"ver": "2", "approved": "true"}, report["preApprovalPush"])
        self.assertEqual("2", report["cached"])
        self.assertEqual(
            {"sentVer": "2", "query": False, "ver": None, "items": 0, "features": features},
            report["second"],
        )
        self.assertEqual("alice@localhost", report["bobApprovedBy"])
        self.assertEqual(
            {"sentVer": "2", "query": True, "ver": "3", "items": 2, "features": features},
            report["third"],
        )
        self.assertEqual("3", report["thirdVer"])
        self.assertEqual(
            {
                "bob@localhost": {"subscription": "from", "name": ""},
                "carol@localhost": {"subscription": "none", "name": "Carol"},
            },
            report["thirdItems"],
        )
        item = await running.server.users.getRosterItem("alice", bob.jid.userhostJID())
        self.assertEqual(("from", False), (item.subscription, item.approved))
