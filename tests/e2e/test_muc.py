# -*- test-case-name: tests.e2e.test_muc -*-
"""
End-to-end Multi-User Chat (XEP-0045) over real TCP, TLS and SASL, with
several Twisted clients (L{mepserver.testing.RunningServer.connectClient})
against a server started by L{mepserver.testing.startServer}: a
conversation, moderation (kick, ban, affiliation loss, destruction) and
the service shutting down.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.testing import startServer
from tests.helpers import parseXml

NS_MUC = "http://jabber.org/protocol/muc"
NS_USER = NS_MUC + "#user"


def statuses(stanza):
    return {
        int(s["code"])
        for x in stanza.elements(NS_USER, "x")
        for s in x.elements(NS_USER, "status")
    }


def item(stanza):
    for x in stanza.elements(NS_USER, "x"):
        for element in x.elements(NS_USER, "item"):
            return element
    return None


class MUCTests(unittest.TestCase):
    """
    A room's life: creation, entering, conversation, nick change, history
    for a late joiner, leaving and disconnecting.
    """

    timeout = 60

    async def test_conversation(self):
        """
        Alice creates an instant room; Bob enters and gets, in the order of
        XEP-0045 section 7.1, Alice's presence, his self-presence, the
        history with a delay and the subject; messages carry the room's
        stanza-id; Bob's nick change is a 303 pair; Carol, joining late,
        gets the history; Bob leaves with 110; Carol's disconnection is
        announced.
        """
        running = await startServer(self)
        room = f"coven@{running.mucDomain}"
        clients = {}
        for name in ("alice", "bob", "carol"):
            account = await running.createAccount(name, name + "-secret")
            clients[name] = await running.connectClient(account, "home")
        alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]

        def fromRoom(connected, kind=None):
            return [
                e for e in connected.received
                if e.getAttribute("from", "").startswith(room)
                and (kind is None or e.name == kind)
            ]

        def subject(e):
            return e.name == "message" and e.subject is not None and e.body is None

        # Section 10.1: create, then accept the default configuration.
        alice.send(f"<presence to='{room}/alice'><x xmlns='{NS_MUC}'/></presence>")
        await alice.waitFor(subject)
        [created] = fromRoom(alice, "presence")
        self.assertEqual({110, 201}, statuses(created))
        self.assertEqual(("owner", "moderator"), (item(created)["affiliation"], item(created)["role"]))
        result = await alice.request(
            parseXml(f"<iq type='set' to='{room}'><query xmlns='{NS_MUC}#owner'>"
                     "<x xmlns='jabber:x:data' type='submit'/></query></iq>", "jabber:client"))
        self.assertEqual("result", result["type"])

        alice.send(f"<message to='{room}' type='groupchat' id='a1'><body>first</body></message>")
        reflected = await alice.waitFor(lambda e: e.name == "message" and e.getAttribute("id") == "a1")
        [stanzaId] = reflected.elements("urn:xmpp:sid:0", "stanza-id")
        self.assertEqual((room, f"{room}/alice"), (stanzaId["by"], reflected["from"]))

        # Section 7.2: Bob enters.
        bob.send(f"<presence to='{room}/bob'><x xmlns='{NS_MUC}'/></presence>")
        await bob.waitFor(subject)
        sequence = fromRoom(bob)
        self.assertEqual(
            [("presence", f"{room}/alice"), ("presence", f"{room}/bob"),
             ("message", f"{room}/alice"), ("message", room)],
            [(e.name, e["from"]) for e in sequence],
        )
        self.assertEqual({110}, statuses(sequence[1]))
        self.assertEqual("first", str(sequence[2].body))
        [delay] = sequence[2].elements("urn:xmpp:delay", "delay")
        self.assertEqual(room, delay["from"])
        joined = await alice.waitFor(lambda e: e.name == "presence" and e["from"] == f"{room}/bob")
        self.assertEqual(f"bob@{running.domain}/home", item(joined)["jid"])

        # Section 7.4: reflected to both, with one stanza-id.
        bob.send(f"<message to='{room}' type='groupchat' id='b1'><body>second</body></message>")
        copies = [
            await c.waitFor(lambda e: e.name == "message" and e.getAttribute("id") == "b1")
            for c in (alice, bob)
        ]
        ids = {next(c.elements("urn:xmpp:sid:0", "stanza-id"))["id"] for c in copies}
        self.assertEqual(1, len(ids))
        self.assertEqual({f"{room}/bob"}, {c["from"] for c in copies})

        # Section 7.6: Bob becomes robert.
        bob.send(f"<presence to='{room}/robert'/>")
        for connected, own in ((alice, set()), (bob, {110})):
            await connected.waitFor(lambda e: e.name == "presence" and e["from"] == f"{room}/robert")
            change = [e for e in fromRoom(connected, "presence")
                      if e["from"] in (f"{room}/bob", f"{room}/robert")][-2:]
            self.assertEqual("unavailable", change[0].getAttribute("type"))
            self.assertEqual({303} | own, statuses(change[0]))
            self.assertEqual("robert", item(change[0])["nick"])
            self.assertIsNone(change[1].getAttribute("type"))
            self.assertEqual(own, statuses(change[1]))

        # Section 7.2.13: Carol, late, gets the history.
        carol.send(f"<presence to='{room}/carol'><x xmlns='{NS_MUC}'/></presence>")
        await carol.waitFor(subject)
        history = [e for e in fromRoom(carol, "message") if e.body is not None]
        self.assertEqual(["first", "second"], [str(e.body) for e in history])
        # History keeps the nick a message was sent under.
        self.assertEqual([f"{room}/alice", f"{room}/bob"], [e["from"] for e in history])
        for message in history:
            self.assertEqual(1, len(list(message.elements("urn:xmpp:delay", "delay"))))

        # Section 7.14: Bob leaves.
        bob.send(f"<presence to='{room}/robert' type='unavailable'/>")
        left = await bob.waitFor(
            lambda e: e.name == "presence" and e.getAttribute("type") == "unavailable"
            and e["from"] == f"{room}/robert")
        self.assertEqual({110}, statuses(left))
        seen = await alice.waitFor(
            lambda e: e.name == "presence" and e.getAttribute("type") == "unavailable"
            and e["from"] == f"{room}/robert")
        self.assertEqual(("none", set()), (item(seen)["role"], statuses(seen)))

        # RFC 6121 section 4.6.3: Carol disconnects without leaving.
        await carol.close()
        gone = await alice.waitFor(
            lambda e: e.name == "presence" and e.getAttribute("type") == "unavailable"
            and e["from"] == f"{room}/carol")
        self.assertEqual("none", item(gone)["role"])
        roomState = running.server.rooms.get(JID(room))
        self.assertEqual(["alice"], list(roomState.occupants))



class HostileInputTests(unittest.TestCase):
    """
    Hostile addresses over TCP (RFC 7622 section 3): refused with
    jid-malformed, and the service serves on. Who refuses depends on where
    the address is first checked (the client's session or the room); the
    room's own answer, from the occupant JID tried and by the room, is
    checked in L{tests.test_muc_handler.AddressTests}.
    """

    timeout = 60

    async def test_overlongNick(self):
        """
        A join with a 2,000-character nick gets jid-malformed with a text
        saying why; so does one to a room name of 1024 bytes; no room is
        made; then the same client and another join normally.
        """
        running = await startServer(self)
        room = f"coven@{running.mucDomain}"
        clients = []
        for name in ("alice", "bob"):
            account = await running.createAccount(name, name + "-secret")
            clients.append(await running.connectClient(account, "home"))
        alice, bob = clients
        for tried in (f"{room}/{'n' * 2000}", f"{'r' * 1024}@{running.mucDomain}/alice"):
            alice.send(f"<presence to='{tried}' id='hostile'><x xmlns='{NS_MUC}'/></presence>")
            refused = await alice.waitFor(lambda e: e.name == "presence" and e.getAttribute("id") == "hostile")
            self.assertEqual("error", refused["type"])
            self.assertEqual("jid-malformed", refused.error.firstChildElement().name)
            self.assertIn("1023", str(refused.error.text))
            alice.clear()
        self.assertEqual(0, len(running.server.rooms))
        for client, nick in ((alice, "alice"), (bob, "bob")):
            client.send(f"<presence to='{room}/{nick}'><x xmlns='{NS_MUC}'/></presence>")
            joined = await client.waitFor(
                lambda e: e.name == "presence" and e.getAttribute("from") == f"{room}/{nick}"
                and 110 in statuses(e))
            self.assertIsNone(joined.getAttribute("type"))
            if client is alice:
                result = await alice.request(parseXml(
                    f"<iq type='set' to='{room}'><query xmlns='{NS_MUC}#owner'>"
                    "<x xmlns='jabber:x:data' type='submit'/></query></iq>", "jabber:client"))
                self.assertEqual("result", result["type"])


NS_ADMIN = NS_MUC + "#admin"
NS_OWNER = NS_MUC + "#owner"


class ModerationTests(unittest.TestCase):
    """
    Sections 8-11 over TCP: an owner kicks, bans, takes a membership away
    in a members-only room and destroys the room; then the service shuts
    down on its occupants.
    """

    timeout = 60

    async def setUpRoom(self, names):
        """
        Start a server, connect C{names}, and have the first create the
        instant room "coven" and the others enter it.
        """
        self.running = running = await startServer(self)
        self.room = f"coven@{running.mucDomain}"
        clients = []
        for name in names:
            account = await running.createAccount(name, name + "-secret")
            clients.append(await running.connectClient(account, "home"))
        owner = clients[0]
        await self.enter(owner, names[0])
        result = await owner.request(parseXml(
            f"<iq type='set' to='{self.room}'><query xmlns='{NS_OWNER}'>"
            "<x xmlns='jabber:x:data' type='submit'/></query></iq>", "jabber:client"))
        self.assertEqual("result", result["type"])
        for client, name in zip(clients[1:], names[1:]):
            await self.enter(client, name)
        return clients

    async def enter(self, client, nick):
        """
        Enter the room and wait for the subject that ends the entry.
        """
        client.send(f"<presence to='{self.room}/{nick}'><x xmlns='{NS_MUC}'/></presence>")
        return await client.waitFor(
            lambda e: e.name == "message" and e.subject is not None
            and e.getAttribute("from") == self.room)

    def removal(self, client, nick, code):
        """
        Wait for the unavailable presence of C{nick} with status C{code}.
        """
        return client.waitFor(
            lambda e: e.name == "presence" and e.getAttribute("type") == "unavailable"
            and e.getAttribute("from") == f"{self.room}/{nick}" and code in statuses(e))

    def admin(self, client, items, kind="set", query=NS_ADMIN):
        return client.request(parseXml(
            f"<iq type='{kind}' to='{self.room}'><query xmlns='{query}'>{items}</query></iq>",
            "jabber:client"))

    def assertSeenBefore(self, client, result, nick, code):
        """
        The requester, an occupant, received the room's presence of
        C{nick} with status C{code} before the result of its request: the
        room sends a change's effects first, as Prosody does.
        """
        received = list(client.received)
        position = next(i for i, e in enumerate(received) if e is result)
        seen = [
            i for i, e in enumerate(received[:position])
            if e.name == "presence" and e.getAttribute("from") == f"{self.room}/{nick}"
            and (code is None or code in statuses(e))
        ]
        self.assertTrue(seen, f"no presence of {nick} before the result")

    async def test_moderation(self):
        """
        A kick (307, section 8.2), a ban (301, 9.1) that keeps the user
        out, the loss of membership in a members-only room (321, 9.4), and
        the destruction with reason and alternate venue (10.9).
        """
        alice, bob, carol, dave = await self.setUpRoom(["alice", "bob", "carol", "dave"])
        domain = self.running.domain

        # Section 8.2: Alice kicks Carol.
        result = await self.admin(alice, "<item nick='carol' role='none'><reason>Avaunt!</reason></item>")
        self.assertEqual("result", result["type"])
        self.assertSeenBefore(alice, result, "carol", 307)
        kicked = await self.removal(carol, "carol", 307)
        self.assertEqual({110, 307}, statuses(kicked))
        self.assertEqual("Avaunt!", str(item(kicked).reason))
        self.assertEqual("alice", item(kicked).actor["nick"])
        seen = await self.removal(bob, "carol", 307)
        self.assertEqual("none", item(seen)["role"])

        # Section 9.1: Alice bans Bob, who may not come back.
        result = await self.admin(
            alice, f"<item affiliation='outcast' jid='bob@{domain}'><reason>Treason</reason></item>")
        self.assertEqual("result", result["type"])
        self.assertSeenBefore(alice, result, "bob", 301)
        banned = await self.removal(bob, "bob", 301)
        self.assertEqual(("outcast", "Treason"), (item(banned)["affiliation"], str(item(banned).reason)))
        await self.removal(dave, "bob", 301)
        bob.send(f"<presence to='{self.room}/bob' id='again'><x xmlns='{NS_MUC}'/></presence>")
        refused = await bob.waitFor(lambda e: e.name == "presence" and e.getAttribute("id") == "again")
        self.assertEqual("error", refused["type"])
        self.assertIsNotNone(refused.error.forbidden)

        # Section 9.4: in a members-only room, Dave loses his membership.
        result = await self.admin(alice, f"<item affiliation='member' jid='dave@{domain}'/>")
        self.assertEqual("result", result["type"])
        self.assertSeenBefore(alice, result, "dave", None)
        result = await self.admin(
            alice, "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='muc#roomconfig_membersonly'><value>1</value></field></x>", query=NS_OWNER)
        self.assertEqual("result", result["type"])
        result = await self.admin(alice, f"<item affiliation='none' jid='dave@{domain}'/>")
        self.assertEqual("result", result["type"])
        lost = await self.removal(dave, "dave", 321)
        self.assertEqual({110, 321}, statuses(lost))
        await self.removal(alice, "dave", 321)

        # Section 10.9: Carol, made a member, comes back; Alice destroys the
        # room, pointing to another.
        await self.admin(alice, f"<item affiliation='member' jid='carol@{domain}'/>")
        carol.clear()
        await self.enter(carol, "carol")
        venue = f"heath@{self.running.mucDomain}"
        result = await self.admin(
            alice, f"<destroy jid='{venue}'><reason>Macbeth doth come.</reason></destroy>", query=NS_OWNER)
        self.assertEqual("result", result["type"])
        for client, nick in ((alice, "alice"), (carol, "carol")):
            gone = await client.waitFor(
                lambda e: e.name == "presence" and e.getAttribute("type") == "unavailable"
                and e.getAttribute("from") == f"{self.room}/{nick}"
                and next(e.x.elements(NS_USER, "destroy"), None) is not None)
            destroy = next(gone.x.elements(NS_USER, "destroy"))
            self.assertEqual((venue, "Macbeth doth come."), (destroy["jid"], str(destroy.reason)))
        self.assertIsNone(self.running.server.rooms.get(JID(self.room)))

    async def test_shutdown(self):
        """
        Section 11.2: when the server stops, each occupant is told with 110
        and 332 before its stream closes.
        """
        alice, bob = await self.setUpRoom(["alice", "bob"])
        await self.running.server.stopService()
        for client, nick in ((alice, "alice"), (bob, "bob")):
            presence = await self.removal(client, nick, 332)
            self.assertEqual({110, 332}, statuses(presence))
