# -*- test-case-name: tests.test_memory -*-
"""
Flows through the whole server in memory (L{tests.memory}): Twisted's
XMPP clients log in with SASL and bind, then exchange stanzas, with no
socket and no waiting.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber import jid

from mepserver.interfaces import RosterItem
from tests.memory import MemoryServer

NS_MUC = "http://jabber.org/protocol/muc"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_TUNE = "http://jabber.org/protocol/tune"

#: alice publishes her tune (XEP-0163 section 1.2).
PUBLISH = (
    f"<iq type='set' id='t1'><pubsub xmlns='{NS_PUBSUB}'><publish node='{NS_TUNE}'>"
    f"<item><tune xmlns='{NS_TUNE}'><title>Yesterday</title></tune></item>"
    "</publish></pubsub></iq>"
)


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


    def test_spoofedStanzaIdStrippedPerRecipient(self):
        """
        XEP-0359 section 4: a groupchat message carrying a stanza-id that
        claims to be by an occupant's account reaches that occupant
        without it, and the others with it: the room's one broadcast
        element is checked against each recipient's archive.
        """
        server = MemoryServer(self, mucCreateUnlocked=True)
        for name in ("juliet", "romeo", "nurse"):
            server.createAccount(name)
        clients = {
            name: server.connect(name, "r") for name in ("juliet", "romeo", "nurse")
        }
        room = "verona@conference.localhost"
        for name, client in clients.items():
            client.send(f"<presence to='{room}/{name}'><x xmlns='{NS_MUC}'/></presence>")
        for client in clients.values():
            client.take()
        clients["romeo"].send(
            f"<message type='groupchat' to='{room}'><body>Hi</body>"
            "<stanza-id xmlns='urn:xmpp:sid:0' by='juliet@localhost' id='forged'/>"
            "</message>"
        )

        def forged(message):
            return [
                e["by"] for e in message.elements("urn:xmpp:sid:0", "stanza-id")
                if e.getAttribute("id") == "forged"
            ]

        received = {name: client.take() for name, client in clients.items()}
        self.assertEqual([[]], [forged(m) for m in received["juliet"]])
        self.assertEqual([["juliet@localhost"]], [forged(m) for m in received["romeo"]])
        self.assertEqual([["juliet@localhost"]], [forged(m) for m in received["nurse"]])


class AccountRemovalTests(unittest.TestCase):
    """
    Cancelling a registration (XEP-0077 section 3.2) removes everything
    the account had, as Prosody does: an account registered again with the
    same name starts empty, and its contacts learn it is gone.
    """

    def setUp(self):
        self.server = server = MemoryServer(self)
        for username in ("alice", "bob"):
            server.createAccount(username)
        users = server.server.users
        for username, contact in (("alice", "bob"), ("bob", "alice")):
            users.setRosterItem(
                username, RosterItem(jid.JID(f"{contact}@localhost"), subscription="both")
            )
        self.alice = server.connect("alice", "home")
        self.bob = server.connect("bob", "phone")
        for client in (self.alice, self.bob):
            client.send("<presence/>")
        self.fill(self.alice)
        for client in (self.alice, self.bob):
            client.take()

    def request(self, client, xml):
        """
        Send an IQ and return its answer, forgetting what else came.
        """
        client.send(xml)
        [answer] = [s for s in client.take() if s.name == "iq"]
        return answer

    def fill(self, alice):
        """
        Give alice a PEP node that bob follows, a vCard, private XML, a
        block list and an offline message.
        """
        answer = self.request(alice, PUBLISH)
        self.assertEqual("result", answer["type"], answer.toXml())
        answer = self.request(
            self.bob,
            f"<iq type='set' id='s1' to='alice@localhost'><pubsub xmlns='{NS_PUBSUB}'>"
            f"<subscribe node='{NS_TUNE}' jid='bob@localhost'/></pubsub></iq>",
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        for xml in (
            "<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Alice</FN>"
            "<PHOTO><TYPE>image/png</TYPE><BINVAL>aGk=</BINVAL></PHOTO></vCard></iq>",
            "<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
            "<notes xmlns='urn:example:notes'>secret</notes></query></iq>",
            "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'>"
            "<item jid='carol@localhost'/></block></iq>",
        ):
            answer = self.request(alice, xml)
            self.assertEqual("result", answer["type"], answer.toXml())
        self.successResultOf(
            self.server.server.users.storeOfflineMessage(
                "alice", "<message xmlns='jabber:client'><body>old</body></message>", 10
            )
        )

    def test_removed(self):
        """
        alice gets the result and her stream closes with C{not-authorized};
        bob, her contact and subscriber, is told: the node deletion
        (XEP-0060 section 8.4.2), alice unavailable, and the subscription
        cancelled both ways, which leaves bob's item for alice at C{none}.
        """
        self.alice.send("<iq type='set' id='u1'><query xmlns='jabber:iq:register'><remove/></query></iq>")
        received = self.alice.take()
        self.assertEqual(("iq", "result"), (received[0].name, received[0]["type"]))
        self.assertEqual([], self.server.server.sessions.sessionsOf("alice"))
        self.assertEqual(["bob"], self.successResultOf(self.server.server.users.listUsers()))

        received = self.bob.take()
        [deleted] = [s for s in received if s.name == "message"]
        self.assertEqual(("alice@localhost", NS_TUNE),
                         (deleted["from"], deleted.event.delete["node"]))
        presence = [(s["from"], s.getAttribute("type")) for s in received if s.name == "presence"]
        self.assertIn(("alice@localhost/home", "unavailable"), presence)
        self.assertIn(("alice@localhost", "unsubscribe"), presence)
        self.assertIn(("alice@localhost", "unsubscribed"), presence)
        item = self.successResultOf(
            self.server.server.users.getRosterItem("bob", jid.JID("alice@localhost"))
        )
        self.assertEqual(("none", False), (item.subscription, item.ask))

    def test_registeredAgainStartsEmpty(self):
        """
        An account created again with the name starts with no roster, PEP
        node, vCard, private XML, block list or offline message.
        """
        self.alice.send("<iq type='set' id='u1'><query xmlns='jabber:iq:register'><remove/></query></iq>")
        self.bob.take()
        self.server.createAccount("alice")
        alice = self.server.connect("alice", "again")
        roster = self.request(alice, "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
        self.assertEqual([], list(roster.query.elements()))
        items = self.request(
            alice,
            "<iq type='get' id='d1' to='alice@localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
        )
        self.assertEqual([], list(items.query.elements()))
        self.assertEqual([], self.successResultOf(
            self.server.server.pubsubStore.loadNodes(jid.JID("alice@localhost"))
        ))
        vcard = self.request(alice, "<iq type='get' id='v1'><vCard xmlns='vcard-temp'/></iq>")
        self.assertEqual([], list(vcard.vCard.elements()))
        private = self.request(
            alice,
            "<iq type='get' id='p1'><query xmlns='jabber:iq:private'>"
            "<notes xmlns='urn:example:notes'/></query></iq>",
        )
        self.assertEqual([], list(private.query.notes.elements()) + private.query.notes.children)
        blocked = self.request(alice, "<iq type='get' id='b1'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
        self.assertEqual([], list(blocked.blocklist.elements()))
        alice.send("<presence/>")
        received = alice.take()
        self.assertEqual([], [s for s in received if s.name == "message"])
        # Her own presence comes back without the old avatar's hash
        # (XEP-0153 section 4.1: an empty photo, no avatar).
        [presence] = [s for s in received if s.name == "presence"]
        self.assertEqual("", str(presence.x.photo))
        # Bob, whose block list named nobody, reaches the new alice.
        self.bob.send("<message type='chat' to='alice@localhost'><body>hi</body></message>")
        [message] = alice.take()
        self.assertEqual("hi", str(message.body))
