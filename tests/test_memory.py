# -*- test-case-name: tests.test_memory -*-
"""
Flows through the whole server in memory (L{tests.memory}): Twisted's
XMPP clients log in with SASL and bind, then exchange stanzas, with no
socket and no waiting.
"""

from twisted.trial import unittest

from tests.memory import MemoryServer

NS_MUC = "http://jabber.org/protocol/muc"


class LoginTests(unittest.TestCase):
    """
    RFC 6120 negotiation and RFC 6121 basics, in memory.
    """

    def setUp(self):
        self.server = MemoryServer(self)
        self.server.createAccount("juliet")
        self.server.createAccount("romeo")

    def test_bound(self):
        """
        The client binds the resource it asked for (RFC 6120 7.6).
        """
        juliet = self.server.connect("juliet", "balcony")
        self.assertEqual("juliet@localhost/balcony", juliet.jid.full())
        self.assertEqual(["juliet"], [s.jid.user for s in self.server.server.sessions.allSessions()])

    def test_pingFullJID(self):
        """
        A ping to another client's full JID is that client's to answer (RFC
        6120 10.5.4): it arrives there, and nothing comes back from the
        server.
        """
        juliet = self.server.connect("juliet", "balcony")
        romeo = self.server.connect("romeo", "orchard")
        romeo.send(
            "<iq type='get' id='p1' to='juliet@localhost/balcony'>"
            "<ping xmlns='urn:xmpp:ping'/></iq>"
        )
        self.assertEqual([], romeo.take())
        juliet.expect(
            self,
            "<iq type='get' id='p1' from='romeo@localhost/orchard'>"
            "<ping xmlns='urn:xmpp:ping'/></iq>",
        )
        juliet.send("<iq type='result' id='p1' to='romeo@localhost/orchard'/>")
        romeo.expect(self, "<iq type='result' id='p1' from='juliet@localhost/balcony'/>")

    def test_chat(self):
        """
        A chat message to a bare JID reaches the available resource (RFC
        6121 8.5.2.1.1).
        """
        juliet = self.server.connect("juliet", "balcony")
        juliet.send("<presence/>")
        juliet.take()
        romeo = self.server.connect("romeo", "orchard")
        romeo.send(
            "<message type='chat' to='juliet@localhost'><body>Juliet?</body></message>"
        )
        juliet.expect(
            self,
            "<message type='chat' from='romeo@localhost/orchard'><body>Juliet?</body></message>",
        )


class RoomTests(unittest.TestCase):
    """
    A room, in memory: join order (XEP-0045 section 7.2) and groupchat.
    """

    def test_joinAndTalk(self):
        """
        The second occupant gets the first's presence, its own with 110,
        the subject; both get the groupchat message.
        """
        server = MemoryServer(self, mucCreateUnlocked=True)
        server.createAccount("juliet")
        server.createAccount("romeo")
        juliet = server.connect("juliet", "balcony")
        romeo = server.connect("romeo", "orchard")
        room = "verona@conference.localhost"
        juliet.send(f"<presence to='{room}/Juliet'><x xmlns='{NS_MUC}'/></presence>")
        juliet.take()
        romeo.send(f"<presence to='{room}/Romeo'><x xmlns='{NS_MUC}'/></presence>")
        received = romeo.take()
        self.assertEqual(
            [f"{room}/Juliet", f"{room}/Romeo", room],
            [s["from"] for s in received],
        )
        self.assertEqual("subject", list(received[2].elements())[0].name)
        juliet.take()
        romeo.send(f"<message type='groupchat' to='{room}'><body>Hi</body></message>")
        for client in (juliet, romeo):
            [message] = client.take()
            self.assertEqual((f"{room}/Romeo", "Hi"), (message["from"], str(message.body)))
