# -*- test-case-name: tests.test_csi -*-
"""
Tests for L{mepserver.c2s.csi}: what an inactive client's session holds
back (XEP-0352 section 5).
"""

from twisted.trial import unittest

from mepserver.c2s.csi import MAX_HELD, HeldPresence, holdable
from tests.helpers import parseXml
from tests.test_roster import Server

ROMEO = "romeo@example.com"
INACTIVE = "<inactive xmlns='urn:xmpp:csi:0'/>"
ACTIVE = "<active xmlns='urn:xmpp:csi:0'/>"
MUC_USER = "http://jabber.org/protocol/muc#user"


def presence(sender, kind=None, status=None):
    attributes = f" type='{kind}'" if kind else ""
    x = (
        f"<x xmlns='{MUC_USER}'><status code='{status}'/></x>" if status else ""
    )
    return parseXml(
        f"<presence from='{sender}' to='alice@example.com/home'{attributes}>{x}</presence>",
        "jabber:client",
    )


class HoldableTests(unittest.SynchronousTestCase):
    """
    L{holdable}: which stanzas an inactive client can wait for.
    """

    def test_presence(self):
        """
        Available and unavailable presence can wait; subscription presence,
        errors and probes cannot.
        """
        self.assertTrue(holdable(presence(ROMEO)))
        self.assertTrue(holdable(presence(ROMEO, "unavailable")))
        for kind in ("subscribe", "subscribed", "unsubscribe", "unsubscribed", "error", "probe"):
            self.assertFalse(holdable(presence(ROMEO, kind)), kind)

    def test_roomSelfPresence(self):
        """
        A room's presence about the client's own occupant (110) is news the
        client waits for; other occupants' presence can wait.
        """
        self.assertFalse(holdable(presence("room@muc.example.com/Alice", status="110")))
        self.assertTrue(holdable(presence("room@muc.example.com/Bob", status="100")))

    def test_notPresence(self):
        """
        Messages (with pubsub events too) and IQs are never held.
        """
        for xml in (
            "<message from='romeo@example.com'><body>x</body></message>",
            "<message from='room@muc.example.com' type='headline'>"
            "<event xmlns='http://jabber.org/protocol/pubsub#event'/></message>",
            "<iq type='get' id='1' from='romeo@example.com'><ping xmlns='urn:xmpp:ping'/></iq>",
        ):
            self.assertFalse(holdable(parseXml(xml, "jabber:client")), xml)


class HeldPresenceTests(unittest.SynchronousTestCase):
    """
    L{HeldPresence}: the latest from each sender, in order.
    """

    def test_latestPerSender(self):
        """
        A sender's new presence replaces its old one and moves to the end.
        """
        held = HeldPresence()
        for stanza in (presence("a@x"), presence("b@x"), presence("a@x", "unavailable")):
            self.assertTrue(held.hold(stanza))
        released = held.release()
        self.assertEqual(
            [("b@x", None), ("a@x", "unavailable")],
            [(s["from"], s.getAttribute("type")) for s in released],
        )
        self.assertEqual([], held.release())

    def test_copy(self):
        """
        What is held is a copy: a broadcaster that changes the element's
        'to' for its next recipient does not change it.
        """
        held = HeldPresence()
        stanza = presence("a@x")
        held.hold(stanza)
        stanza["to"] = "someone@else"
        [kept] = held.release()
        self.assertEqual("alice@example.com/home", kept["to"])

    def test_full(self):
        """
        Past L{MAX_HELD} senders, a new sender's presence is not held (the
        session then sends everything); a held sender's still replaces.
        """
        held = HeldPresence()
        for n in range(MAX_HELD):
            self.assertTrue(held.hold(presence(f"u{n}@x")))
        self.assertFalse(held.hold(presence("new@x")))
        self.assertTrue(held.hold(presence("u0@x", "unavailable")))
        self.assertEqual(MAX_HELD, len(held))


class SessionTests(unittest.TestCase):
    """
    A session while its client is inactive.
    """

    def setUp(self):
        self.server = Server(self)
        self.server.setItem("alice", self.jid("bob"), subscription="both")
        self.server.setItem("bob", self.jid("alice"), subscription="both")
        self.alice = self.server.connect("alice", "home")
        self.alice.becomeAvailable()
        self.bob = self.server.connect("bob", "orchard")
        self.bob.becomeAvailable()
        del self.alice.stream.output[:]

    def jid(self, user):
        from twisted.words.protocols.jabber.jid import JID

        return JID(f"{user}@example.com")

    def test_heldUntilActive(self):
        """
        Presence from a contact waits while the client is inactive, and
        comes (the latest) once it is active again.
        """
        self.alice.send(INACTIVE)
        self.bob.send("<presence><show>away</show></presence>")
        self.bob.send("<presence><show>dnd</show></presence>")
        self.alice.expectNothing()
        self.alice.send(ACTIVE)
        [shown] = self.alice.expect(
            "<presence from='bob@example.com/orchard' to='alice@example.com'/>"
        )
        self.assertEqual("dnd", str(shown.show))

    def test_messageReleasesFirst(self):
        """
        A message goes out at once, after the presence held before it, so
        the client sees both in the order they were sent.
        """
        self.alice.send(INACTIVE)
        self.bob.send("<presence><show>away</show></presence>")
        self.alice.expectNothing()
        self.bob.send(
            "<message to='alice@example.com/home' type='chat'><body>Hi</body></message>"
        )
        self.assertEqual(
            ["presence", "message"], [s.name for s in self.alice.stream.output]
        )
