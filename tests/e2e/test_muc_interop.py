# -*- test-case-name: tests.e2e.test_muc_interop -*-
"""
Multi-user chat interoperability with slixmpp (XEP-0045), over real TCP,
TLS and SASL, against a server started by L{mepserver.testing.startServer}.

The scenario runs in a subprocess (C{slixmuc.py}, slixmpp's own XEP-0045
plugin): three users create, configure, join, talk in, rename themselves in
and leave one room, and the script reports what each client received, in
order, as JSON. L{tests.e2e.slixchecks.checkMUCReport} reads that report,
against XEP-0045 section by section, as it does for ejabberd's MUC service
in the reference tier (L{tests.e2e.test_ejabberd}).
"""

import json

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixchecks import checkMUCReport
from tests.e2e.slixrun import createAccounts, runScript, serverSettings


class SlixmppMUCTests(unittest.TestCase):
    """
    XEP-0045 with slixmpp: room creation and configuration, entering,
    history, groupchat, nick change, exit and room discovery.
    """

    timeout = 120

    async def test_scenario(self):
        """
        alice creates and configures lobby@<mucDomain>; bob enters; alice
        and bob talk; carol enters late and gets the history; bob changes
        nick and leaves; the service lists the room.
        """
        running = await startServer(self)
        accounts = await createAccounts(running, ["alice", "bob", "carol"])
        settings = serverSettings(
            running,
            mucDomain=running.mucDomain,
            accounts=accounts,
        )
        out, err, code = await runScript(self, "slixmuc.py", settings)
        lines = out.decode().strip().splitlines()
        self.assertTrue(lines, f"no report; stderr={err.decode()[-3000:]}")
        checkMUCReport(self, json.loads(lines[-1]))
        self.assertEqual(0, code)
