# -*- test-case-name: tests.e2e.test_component -*-
"""
mepserver as the MUC component (XEP-0114) of a real Prosody: Debian's
Prosody on ephemeral loopback ports (L{tests.e2e.prosody}) takes mepserver
on its component port, clients log in to Prosody, and the MEP checks of
L{tests.e2e.test_mep} run through it (L{tests.e2e.componentscenario}).

Without Prosody these tests are skipped (C{.ci/run} installs it).
"""

from twisted.internet import defer
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from tests.e2e.componentscenario import runMEPScenario, startComponent
from tests.e2e.prosody import skipUnlessProsody, startProsody


def captureLog(testCase, namespace):
    """
    Collect the log events of C{namespace} for the rest of the test.

    @return: the list they are appended to, and a function returning a
        Deferred for the first event, logged or to come, that a predicate
        matches.
    """
    events = []
    waiting = []

    def observe(event):
        if event.get("log_namespace") != namespace:
            return
        events.append(event)
        for match, d in list(waiting):
            if match(event):
                waiting.remove((match, d))
                d.callback(event)

    def wait(match):
        for event in events:
            if match(event):
                return defer.succeed(event)
        d = defer.Deferred()
        waiting.append((match, d))
        return d

    globalLogPublisher.addObserver(observe)
    testCase.addCleanup(globalLogPublisher.removeObserver, observe)
    return events, wait


class ProsodyComponentTests(unittest.TestCase):
    """
    One Prosody, mepserver attached as C{conference.localhost}.
    """

    timeout = 120

    def setUp(self):
        skipUnlessProsody()

    async def test_mepThroughProsody(self):
        """
        The MEP scenario through Prosody: caps queries from the room to
        occupants' full JIDs, occupant and room notifications, the HTTP
        event API, a backend JID, Prosody's unavailable presence for a
        client that disconnects, and rooms, occupants and the last item
        surviving a broken link.

        Then a second mepserver with the wrong secret: Prosody refuses it
        (C{not-authorized}), and the link says so in one line that names
        the setting to check.
        """
        from twisted.logger import formatEvent

        prosody = await startProsody(self, componentSecret="s3cret-component")
        component = await startComponent(
            prosody, backendJids=(f"carol@{prosody.domain}",)
        )
        self.addCleanup(component.stop)
        await runMEPScenario(self, prosody, component)

        events, wait = captureLog(self, "mepserver.hostlink")
        impostor = await startComponent(prosody, secret="wrong", connected=False)
        self.addCleanup(impostor.stop)
        failed = await wait(lambda e: "handshake" in e.get("log_format", ""))
        line = formatEvent(failed)
        self.assertEqual(1, len(line.splitlines()))
        self.assertIn("[component] secret", line)
        self.assertIn("not-authorized", line)
        self.assertIn(f"127.0.0.1:{prosody.componentPort}", line)
