# -*- test-case-name: tests.e2e.test_offline -*-
"""
Offline messages (XEP-0160) end to end: a message to an account that is
not online reaches it when slixmpp, an independent client library in a
subprocess, logs in over real TCP with TLS and SASL.
"""

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixchecks import checkOfflineReport
from tests.e2e.slixrun import offlineSettings, runScenario


class SlixmppOfflineTests(unittest.TestCase):
    """
    alice sends bob a message while bob is offline; bob logs in with
    slixmpp and gets it with a delay stamp.
    """

    timeout = 120

    async def test_offlineMessage(self):
        """
        The server's disco#info lists msgoffline; alice's chat message to
        offline bob is neither delivered nor bounced; at bob's initial
        presence slixmpp receives it from alice's full JID, as sent, with
        C{<delay from='localhost'/>} stamped by the server's clock when it
        was stored (deterministic mode: 2020-01-01T00:00:00Z).
        """
        running = await startServer(self, deterministic=True)
        settings = await offlineSettings(running)
        report = await runScenario(self, "slixoffline.py", settings)
        checkOfflineReport(self, report, stamp="2020-01-01T00:00:00Z")
