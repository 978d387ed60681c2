# -*- test-case-name: tests.e2e.test_pep_interop -*-
"""
Personal Eventing (XEP-0163) interoperability with slixmpp, over real TCP,
TLS and SASL, against a server started by L{mepserver.testing.startServer}.

The scenario runs in a subprocess (C{slixpep.py}, slixmpp's own XEP-0118,
XEP-0084 and XEP-0402 plugins): juliet publishes a tune, an avatar and a
bookmark; her contact romeo, whose caps carry the +notify features,
receives the tune and the avatar metadata; the nurse, a contact whose caps
carry none, receives nothing. L{tests.e2e.slixchecks.checkPEPReport} reads
the report, as it does for ejabberd's in the reference tier
(L{tests.e2e.test_ejabberd}).
"""

import json

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.interfaces import RosterItem
from mepserver.testing import startServer
from tests.e2e.slixchecks import checkPEPReport
from tests.e2e.slixrun import createAccounts, runScript, serverSettings


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
        accounts = await createAccounts(running, ["juliet", "romeo", "nurse"])
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
        checkPEPReport(self, report)
