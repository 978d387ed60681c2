# -*- test-case-name: tests.test_fanout -*-
"""
Tests for broadcasts delivered in bulk (issue 16): a room's groupchat
messages and presence, and PEP notifications, reach the client domain in
one call (L{mepserver.router.Router.deliverMany}), where
L{mepserver.c2s.sessions.DeliveryHandler.deliverMany} writes each plain
copy itself and sends every other copy the general way.

Each test counts the copies the bulk path wrote
(C{DeliveryHandler.bulkDelivered}) and checks that each recipient got what
the general path gives it. The whole server runs in memory
(L{tests.memory}): after C{flush}, what a client has not received will
not come.
"""

import base64
import xml.etree.ElementTree as ET

from twisted.internet import defer
from twisted.internet.testing import StringTransport
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.c2s.bind import BindStep
from mepserver.c2s.mechanisms import mechanismFactories
from mepserver.c2s.sasl import SASLStep
from mepserver.c2s.sessions import DeliveryHandler, Session, SessionManager
from mepserver.c2s.stream import C2SAuthenticator, C2SXmlStream
from mepserver.router import Domain, Router
from mepserver.stanza import Broadcast, SplicedText
from mepserver.storage.memory import MemoryUserStore
from tests.helpers import credentials, parseXml
from tests.memory import MemoryServer
from tests.test_pep import NS_TUNE, ROMEO, PEPTestCase, publish
from tests.test_stream import Client as StreamClient
from tests.test_websocket import OPEN, Connection

NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_BLOCKING = "urn:xmpp:blocking"
NS_CSI = "urn:xmpp:csi:0"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
ROOM = "verona@conference.localhost"
NAMES = ("juliet", "romeo", "nurse")


class RoomBroadcastTests(unittest.TestCase):
    """
    A room of three occupants, each with one session: what its broadcasts
    bring each of them.
    """

    def setUp(self):
        self.server = MemoryServer(self, mucCreateUnlocked=True)
        self.clients = {}
        for name in NAMES:
            self.server.createAccount(name)
            self.clients[name] = client = self.server.connect(name, "r")
            client.send(f"<presence to='{ROOM}/{name}'><x xmlns='{NS_MUC}'/></presence>")
        self.take()
        self.delivery = self.server.server.delivery
        self.sessions = self.server.server.sessions

    def take(self):
        """
        @return: what each client received since the last call, by name.
        """
        return {name: client.take() for name, client in self.clients.items()}

    def holdLock(self, name):
        """
        Hold the lock of C{name}'s account (an operation in progress),
        which then sends its session a headline "first".

        @return: the L{defer.Deferred} that ends the operation when fired.
        """
        session = self.sessions.session(JID(f"{name}@localhost/r"))
        done = defer.Deferred()
        marker = parseXml("<message type='headline' from='localhost'><body>first</body></message>")
        marker["to"] = session.jid.full()
        done.addCallback(lambda _: session.send(marker))
        self.sessions.locks.run(name, lambda: done)
        return done

    def say(self, name, body="Hi"):
        """
        C{name} sends a groupchat message to the room.

        @return: the copies the bulk path wrote, and what each client
            received.
        """
        before = self.delivery.bulkDelivered
        self.clients[name].send(
            f"<message type='groupchat' to='{ROOM}'><body>{body}</body></message>"
        )
        return self.delivery.bulkDelivered - before, self.take()

    def bodies(self, received):
        return {name: [str(m.body) for m in stanzas] for name, stanzas in received.items()}

    def test_groupchat(self):
        """
        XEP-0045 section 7.4: every occupant's copy of a groupchat message
        is written by the bulk path, with its own C{to}, the sender's too.
        """
        bulk, received = self.say("romeo")
        self.assertEqual(3, bulk)
        for name, [message] in received.items():
            self.assertEqual(
                (f"{ROOM}/romeo", f"{name}@localhost/r", "groupchat", "Hi"),
                (message["from"], message["to"], message["type"], str(message.body)),
            )

    def test_escapedResource(self):
        """
        A session whose resource has characters escaped in an attribute
        value (kept quoted by the session, L{Session.quotedJID}) gets its
        bulk copy addressed to exactly its full JID.
        """
        resource = "o'x&y<\""
        self.server.createAccount("tybalt")
        tybalt = self.clients["tybalt"] = self.server.connect("tybalt", resource)
        tybalt.send(f"<presence to='{ROOM}/tybalt'><x xmlns='{NS_MUC}'/></presence>")
        self.take()
        bulk, received = self.say("romeo")
        self.assertEqual(4, bulk)
        [message] = received["tybalt"]
        self.assertEqual((f"tybalt@localhost/{resource}", "Hi"), (message["to"], str(message.body)))

    def test_presence(self):
        """
        Section 7.7: an occupant's presence change reaches everyone through
        the bulk path; its own sessions get it with status 110.
        """
        before = self.delivery.bulkDelivered
        self.clients["nurse"].send(f"<presence to='{ROOM}/nurse'><show>away</show></presence>")
        self.assertEqual(3, self.delivery.bulkDelivered - before)
        for name, [presence] in self.take().items():
            self.assertEqual((f"{ROOM}/nurse", "away"), (presence["from"], str(presence.show)))
            [x] = presence.elements(NS_MUC_USER, "x")
            codes = [s["code"] for s in x.elements(NS_MUC_USER, "status")]
            self.assertEqual(["110"] if name == "nurse" else [], codes)

    def test_blockedSender(self):
        """
        XEP-0191 section 3.3: a recipient that blocks the sending occupant
        gets nothing; its copy went the general way, the others' not.
        """
        self.clients["juliet"].send(
            f"<iq type='set' id='b1'><block xmlns='{NS_BLOCKING}'>"
            f"<item jid='{ROOM}/romeo'/></block></iq>"
        )
        self.clients["juliet"].take()
        bulk, received = self.say("romeo")
        self.assertEqual(2, bulk)
        self.assertEqual({"juliet": [], "romeo": ["Hi"], "nurse": ["Hi"]}, self.bodies(received))

    def test_markNamedChildren(self):
        """
        A groupchat message carrying children named as the marks handlers
        set on stanzas (C{handled}, C{blockingChecked}) reaches every
        occupant that does not block its sender, and no more: a child is
        not a mark (L{mepserver._compat}).
        """
        self.clients["juliet"].send(
            f"<iq type='set' id='b1'><block xmlns='{NS_BLOCKING}'>"
            f"<item jid='{ROOM}/romeo'/></block></iq>"
        )
        self.clients["juliet"].take()
        self.clients["romeo"].send(
            f"<message type='groupchat' to='{ROOM}'><body>Hi</body>"
            "<handled xmlns='urn:example'/><blockingChecked xmlns='urn:example'/></message>"
        )
        self.assertEqual(
            {"juliet": [], "romeo": ["Hi"], "nurse": ["Hi"]}, self.bodies(self.take())
        )

    def test_blockListNotLoaded(self):
        """
        A recipient whose block list is not loaded gets its copy once the
        general way has loaded it; the list is then kept.
        """
        lists = self.server.server.blocking.lists
        lists.forget("juliet")
        bulk, received = self.say("romeo")
        self.assertEqual(2, bulk)
        self.assertEqual(["Hi"], self.bodies(received)["juliet"])
        self.assertIsNotNone(lists.get("juliet"))
        self.assertEqual(3, self.say("romeo")[0])

    def test_inactiveClient(self):
        """
        XEP-0352: a client that said it is inactive has presence held back
        until it is active again; its copies go the general way.
        """
        self.clients["juliet"].send(f"<inactive xmlns='{NS_CSI}'/>")
        before = self.delivery.bulkDelivered
        self.clients["nurse"].send(f"<presence to='{ROOM}/nurse'><show>away</show></presence>")
        self.assertEqual(2, self.delivery.bulkDelivered - before)
        self.assertEqual([], self.take()["juliet"])
        self.clients["juliet"].send(f"<active xmlns='{NS_CSI}'/>")
        [presence] = self.clients["juliet"].take()
        self.assertEqual((f"{ROOM}/nurse", "away"), (presence["from"], str(presence.show)))

    def test_busyAccount(self):
        """
        While an operation of the account is in progress (its lock is
        held), its copy waits behind it, in order; the others' do not.
        """
        done = self.holdLock("juliet")
        bulk, received = self.say("romeo")
        self.assertEqual(2, bulk)
        self.assertEqual([], received["juliet"])
        done.callback(None)
        self.server.flush()
        self.assertEqual(["first", "Hi"], [str(m.body) for m in self.clients["juliet"].take()])

    def test_ghost(self):
        """
        XEP-0045 section 18.1.2: an occupant's session that is no longer
        bound (a ghost) makes the client domain bounce its copy of a
        groupchat message, the general way; the room removes the ghost and
        tells the others.
        """
        self.server.createAccount("tybalt")
        tybalt = self.server.connect("tybalt", "gone")
        tybalt.send(f"<presence to='{ROOM}/tybalt'><x xmlns='{NS_MUC}'/></presence>")
        self.take()
        # The session goes without the room hearing of it.
        del self.sessions._sessions["tybalt"]
        bulk, received = self.say("romeo")
        # The three messages, then the ghost's departure to the three.
        self.assertEqual(6, bulk)
        for name, stanzas in received.items():
            self.assertEqual(["message", "presence"], [s.name for s in stanzas])
            left = stanzas[1]
            self.assertEqual((f"{ROOM}/tybalt", "unavailable"), (left["from"], left["type"]))
            self.assertIn("333", left.toXml())
        self.assertIsNone(self.server.server.rooms.get(JID(ROOM)).occupant("tybalt"))

    def test_observed(self):
        """
        While an observer watches the sessions (the inspector's tap, a test
        recorder), every copy goes the general way, and the observer sees
        each one.
        """
        seen = []

        def observer(session, stanza, fromClient):
            if not fromClient:
                seen.append((session.jid.user, stanza["to"], str(stanza.body)))

        self.sessions.observers.append(observer)
        bulk, received = self.say("romeo")
        self.assertEqual(0, bulk)
        self.assertEqual({name: ["Hi"] for name in NAMES}, self.bodies(received))
        self.assertEqual(
            sorted((name, f"{name}@localhost/r", "Hi") for name in NAMES), sorted(seen)
        )

    def test_spoofedStanzaId(self):
        """
        XEP-0359 section 4: the recipient whose archive a stanza-id claims
        to be by gets its copy without it, the general way; the others get
        the broadcast as it is from the bulk path.
        """
        self.assertEqual(2, self.sendWithStanzaId("juliet@localhost", "forged"))
        for name, [message] in self.take().items():
            forged = [
                s["by"] for s in message.elements("urn:xmpp:sid:0", "stanza-id")
                if s.getAttribute("id") == "forged"
            ]
            self.assertEqual([] if name == "juliet" else ["juliet@localhost"], forged)

    def sendWithStanzaId(self, by, stanzaId):
        """
        romeo sends the room a message carrying a stanza-id by C{by}.

        @return: how many of its copies went the bulk way.
        """
        before = self.delivery.bulkDelivered
        self.clients["romeo"].send(
            f"<message type='groupchat' to='{ROOM}'><body>Hi</body>"
            f"<stanza-id xmlns='urn:xmpp:sid:0' by='{by}' id='{stanzaId}'/>"
            "</message>"
        )
        return self.delivery.bulkDelivered - before

    def test_roomStanzaIdNotAsked(self):
        """
        The stanza-id a room puts on its broadcast (XEP-0359, by the room),
        or one by another domain's account, claims no account's archive
        here: no recipient's archive is even asked about, and every copy
        goes the bulk way with it.
        """
        archives = self.delivery.archives
        asked = []
        archiveOf = archives.archiveOf
        self.patch(archives, "archiveOf", lambda username: (
            asked.append(username), archiveOf(username))[1])
        self.assertEqual(3, self.sendWithStanzaId("juliet@elsewhere.example", "other"))
        self.assertEqual([], asked)
        for name, [message] in self.take().items():
            self.assertEqual(
                sorted([ROOM, "juliet@elsewhere.example"]),
                sorted(s["by"] for s in message.elements("urn:xmpp:sid:0", "stanza-id")),
            )

    def test_otherKinds(self):
        """
        A broadcast of a kind that carbons copy (XEP-0280 section 6.1: a
        chat message, here a chat state no archive keeps) goes the general
        way: the recipient's other resource with carbons enabled gets its
        copy.
        """
        juliet2 = self.server.connect("juliet", "r2")
        juliet2.send(
            "<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>"
        )
        juliet2.take()
        message = parseXml(
            f"<message type='chat' from='{ROOM}/romeo'>"
            "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
            "jabber:client",
        )
        recipients = [JID(f"{name}@localhost/r") for name in NAMES]
        before = self.delivery.bulkDelivered
        self.server.server.router.deliverMany(Broadcast(message), recipients)
        self.server.flush()
        self.assertEqual(0, self.delivery.bulkDelivered - before)
        for name, [received] in self.take().items():
            self.assertEqual((f"{name}@localhost/r", "chat"), (received["to"], received["type"]))
        [carbon] = juliet2.take()
        self.assertEqual(["received"], [e.name for e in carbon.elements("urn:xmpp:carbons:2")])


    def test_entryOneWrite(self):
        """
        XEP-0045 section 7.2: a newcomer gets the occupants' presences, its
        own with 110 and the subject, in that order, in one write to its
        connection, in answer to its one presence (issue 16).
        """
        self.server.createAccount("mercutio")
        mercutio = self.server.connect("mercutio", "r")
        writes = []
        transport = mercutio.pump.serverIO
        original = transport.write
        self.patch(transport, "write", lambda data: (writes.append(data), original(data)))
        mercutio.send(f"<presence to='{ROOM}/mercutio'><x xmlns='{NS_MUC}'/></presence>")
        received = mercutio.take()
        self.assertEqual(
            [f"{ROOM}/{name}" for name in NAMES + ("mercutio",)] + [ROOM],
            [stanza["from"] for stanza in received],
        )
        self.assertEqual("subject", received[-1].firstChildElement().name)
        self.assertEqual(1, len(writes))


    def test_oneRecipientNotSpliced(self):
        """
        Section 7.14: an occupant leaves. Juliet, the owner, sees its real
        JID, Romeo does not, and its own copy has 110: three elements, each
        for one recipient, written as they are through the bulk path, with
        no text made to be spliced (L{Broadcast.encodeFor}).
        """
        spliced = []
        original = Broadcast.encodeFor
        self.patch(Broadcast, "encodeFor", lambda broadcast, *args: (
            spliced.append(broadcast["from"]), original(broadcast, *args))[1])
        before = self.delivery.bulkDelivered
        self.clients["nurse"].send(f"<presence to='{ROOM}/nurse' type='unavailable'/>")
        self.assertEqual(3, self.delivery.bulkDelivered - before)
        self.assertEqual([], spliced)
        for name, [presence] in self.take().items():
            self.assertEqual((f"{ROOM}/nurse", "unavailable"), (presence["from"], presence["type"]))
            [x] = presence.elements(NS_MUC_USER, "x")
            codes = [s["code"] for s in x.elements(NS_MUC_USER, "status")]
            self.assertEqual(["110"] if name == "nurse" else [], codes)
            [item] = x.elements(NS_MUC_USER, "item")
            self.assertEqual(name != "romeo", item.hasAttribute("jid"), name)

    def enter(self, name="mercutio", block=None):
        """
        A new account enters the room, after blocking C{block} if given.

        @return: the stanzas the bulk path wrote, and what it received.
        """
        self.server.createAccount(name)
        client = self.server.connect(name, "r")
        if block is not None:
            client.send(
                f"<iq type='set' id='b1'><block xmlns='{NS_BLOCKING}'>"
                f"<item jid='{block}'/></block></iq>"
            )
            client.take()
        self.take()
        before = self.delivery.bulkDelivered
        client.send(f"<presence to='{ROOM}/{name}'><x xmlns='{NS_MUC}'/></presence>")
        return self.delivery.bulkDelivered - before, client.take()

    def test_entryInBulk(self):
        """
        XEP-0045 section 7.2: a newcomer's entry (the occupants' presences,
        its own with 110, the subject) reaches it in one call to the
        client domain, which writes each stanza itself (L{sendEach},
        L{DeliveryHandler.deliverEach}), in order; the others get the
        newcomer's presence in bulk too.
        """
        bulk, received = self.enter()
        self.assertEqual(5 + 3, bulk)
        self.assertEqual(
            [f"{ROOM}/{name}" for name in NAMES + ("mercutio",)] + [ROOM],
            [stanza["from"] for stanza in received],
        )
        [x] = received[3].elements(NS_MUC_USER, "x")
        self.assertIn("110", [s["code"] for s in x.elements(NS_MUC_USER, "status")])
        self.assertEqual("subject", received[-1].firstChildElement().name)

    def test_entryOneAtATime(self):
        """
        Each stanza of the entry is delivered before the next is built: a
        room of a hundred does not hold a hundred presences at once (built
        all at once, they left the allocator's memory fragmented).
        """
        from mepserver.muc import stanzas

        events = []
        build = stanzas.occupantPresence
        self.patch(stanzas, "occupantPresence", lambda *args, **kwargs: (
            events.append("build"), build(*args, **kwargs))[1])
        send = Session.send
        self.patch(Session, "send", lambda session, stanza: (
            events.append("send"), send(session, stanza))[1])
        bulk, received = self.enter()
        self.assertEqual(5 + 3, bulk)
        # The newcomer's presence to the others (one element per group),
        # then the entry: each presence sent once built, then the subject.
        entry = events[-9:]
        self.assertEqual(["build", "send"] * 4 + ["send"], entry)

    def test_entryBlocked(self):
        """
        XEP-0191 section 3.3: a newcomer that blocks an occupant does not
        get its presence: that stanza goes the general way, the rest of
        the entry in bulk, in order.
        """
        bulk, received = self.enter(block=f"{ROOM}/romeo")
        self.assertEqual(4 + 3, bulk)
        self.assertEqual(
            [f"{ROOM}/juliet", f"{ROOM}/nurse", f"{ROOM}/mercutio", ROOM],
            [stanza["from"] for stanza in received],
        )

    def test_entryBusyAccount(self):
        """
        While an operation of the newcomer's account holds its lock, its
        presence and then its entry wait behind it, in order.
        """
        self.server.createAccount("mercutio")
        client = self.server.connect("mercutio", "r")
        done = self.holdLock("mercutio")
        before = self.delivery.bulkDelivered
        client.send(f"<presence to='{ROOM}/mercutio'><x xmlns='{NS_MUC}'/></presence>")
        self.assertEqual([], client.take())
        done.callback(None)
        self.server.flush()
        # The presence itself waited for the lock, and the entry, sent
        # while it is held, went the general way: only the others' copies
        # of the newcomer's presence were written in bulk.
        self.assertEqual(3, self.delivery.bulkDelivered - before)
        self.assertEqual(
            ["localhost"] + [f"{ROOM}/{name}" for name in NAMES + ("mercutio",)] + [ROOM],
            [stanza["from"] for stanza in client.take()],
        )

    def test_entryInactive(self):
        """
        XEP-0352: a newcomer that said it is inactive gets its entry the
        general way (its session holds presence back); its self-presence
        (110), which is not held, sends what was held first, so the entry
        arrives whole and in order.
        """
        self.server.createAccount("mercutio")
        client = self.server.connect("mercutio", "r")
        client.send(f"<inactive xmlns='{NS_CSI}'/>")
        before = self.delivery.bulkDelivered
        client.send(f"<presence to='{ROOM}/mercutio'><x xmlns='{NS_MUC}'/></presence>")
        # Only the others' copies of the newcomer's presence.
        self.assertEqual(3, self.delivery.bulkDelivered - before)
        self.assertEqual(
            [f"{ROOM}/{name}" for name in NAMES + ("mercutio",)] + [ROOM],
            [stanza["from"] for stanza in client.take()],
        )


class StreamKindsTests(unittest.TestCase):
    """
    A client domain of its own (a L{Domain} with L{DeliveryHandler}) with
    a TCP client and an RFC 7395 WebSocket client: the bulk path writes
    the TCP stream bytes spliced for it (a child of its stream header),
    and gives the WebSocket stream, which serializes each element on its
    own, an element.
    """

    def setUp(self):
        self.router = Router()
        self.users = MemoryUserStore()
        self.sessions = SessionManager("example.com", self.users, self.router)
        domain = Domain(self.router, "example.com")
        self.delivery = DeliveryHandler(self.sessions)
        self.delivery.setHandlerParent(domain)
        domain.startService()
        self.addCleanup(domain.stopService)
        for name in ("juliet", "romeo"):
            self.successResultOf(self.users.createUser(name, credentials("secret")))

    def authenticator(self):
        mechanisms = mechanismFactories(
            self.users.getCredentials, "example.com", allowPlain=True, allowAnonymous=False
        )
        return C2SAuthenticator(
            "example.com",
            [lambda a: SASLStep(a, mechanisms), lambda a: BindStep(a, self.sessions)],
        )

    def test_bothKinds(self):
        """
        Each client gets its copy, with its own C{to}, as text of its
        stream's kind; both come from the bulk path, the TCP one's spliced.
        """
        xs = C2SXmlStream(self.authenticator())
        transport = StringTransport()
        xs.makeConnection(transport)
        tcp = StreamClient(xs, transport)
        self.successResultOf(tcp.login("juliet", "secret", "tcp"))
        ws = Connection(self.authenticator())
        ws.send(OPEN)
        token = base64.b64encode(b"\0romeo\0secret").decode("ascii")
        ws.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        ws.send(OPEN)
        ws.send(
            "<iq xmlns='jabber:client' type='set' id='b1'><bind "
            "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>ws</resource></bind></iq>"
        )
        message = parseXml(
            f"<message type='groupchat' from='{ROOM}/nurse'><body>a &amp; b</body></message>",
            "jabber:client",
        )
        ways = []
        send, fill = Session.send, SplicedText.fill
        self.patch(Session, "send", lambda session, *args: (
            ways.append((session.jid.user, "send")), send(session, *args))[1])
        self.patch(SplicedText, "fill", lambda spliced, to, *args: (
            ways.append((args[-1], "fill")), fill(spliced, to, *args))[1])
        self.router.deliverMany(
            Broadcast(message), [JID("juliet@example.com/tcp"), JID("romeo@example.com/ws")]
        )
        self.assertEqual(2, self.delivery.bulkDelivered)
        self.assertEqual([(b"juliet@example.com/tcp", "fill"), ("romeo", "send")], ways)
        written = transport.value()
        self.assertTrue(
            written.endswith(
                b"<message type='groupchat' from='verona@conference.localhost/nurse' "
                b"to='juliet@example.com/tcp'><body>a &amp; b</body></message>"
            ),
            written[-200:],
        )
        [frame] = ws.read()
        [received] = [ET.fromstring(frame)]
        self.assertEqual(
            ("{jabber:client}message", "romeo@example.com/ws", "a & b"),
            (received.tag, received.get("to"), received.find("{jabber:client}body").text),
        )


    def tcpClient(self, name="juliet", resource="tcp"):
        """
        @return: a logged-in TCP client's stream and its transport.
        """
        xs = C2SXmlStream(self.authenticator())
        transport = StringTransport()
        xs.makeConnection(transport)
        self.successResultOf(StreamClient(xs, transport).login(name, "secret", resource))
        transport.clear()
        return xs, transport

    def groupchat(self):
        return Broadcast(
            parseXml(
                f"<message type='groupchat' from='{ROOM}/nurse'><body>Hi</body></message>",
                "jabber:client",
            )
        )

    def test_bytesToTransport(self):
        """
        A spliced copy goes to the TCP stream's transport as it is, without
        the stream's C{send} (issue 16: its tests for an element and for
        text cost as much as the splicing).
        """
        xs, transport = self.tcpClient()
        sent = []
        self.patch(C2SXmlStream, "send", lambda stream, obj: sent.append(obj))
        self.router.deliverMany(self.groupchat(), [JID("juliet@example.com/tcp")])
        self.assertEqual(1, self.delivery.bulkDelivered)
        self.assertEqual([], sent)
        self.assertEqual(
            b"<message type='groupchat' from='verona@conference.localhost/nurse' "
            b"to='juliet@example.com/tcp'><body>Hi</body></message>",
            transport.value(),
        )

    def test_bytesThroughTrafficLog(self):
        """
        With C{rawDataOutFn} set (traffic logging, C{[server] traffic}),
        the stream shows the copy to the function before writing it
        (L{C2SXmlStream.sendBytes}).
        """
        xs, transport = self.tcpClient()
        shown = []
        xs.rawDataOutFn = shown.append
        self.router.deliverMany(self.groupchat(), [JID("juliet@example.com/tcp")])
        self.assertEqual(1, self.delivery.bulkDelivered)
        self.assertEqual([transport.value()], shown)
        self.assertIn(b"to='juliet@example.com/tcp'", transport.value())


class PEPBroadcastTests(PEPTestCase):
    """
    PEP notifications (XEP-0163 section 4) through the bulk path, to
    sessions whose streams are not C2S streams (the harness's stand-ins):
    each gets its own copy as an element.
    """

    def setUp(self):
        PEPTestCase.setUp(self)
        self.delivery = self.harness.server.delivery

    def publish(self):
        """
        Juliet publishes a tune.

        @return: the copies the bulk path wrote, and the events each
            client received, by resource and account.
        """
        before = self.delivery.bulkDelivered
        self.balcony.send(publish())
        bulk = self.delivery.bulkDelivered - before
        return bulk, {
            (c.jid.user, c.jid.resource): c.events() for c in self.clients()
        }

    def test_notifications(self):
        """
        Each interested resource's notification, with its own C{to} and
        C{id}, comes from the bulk path.
        """
        bulk, events = self.publish()
        self.assertEqual(3, bulk)
        got = {key: e for key, e in events.items() if e}
        self.assertEqual(
            {("juliet", "balcony"), ("juliet", "chamber"), ("romeo", "orchard")}, set(got)
        )
        for (user, resource), [event] in got.items():
            self.assertEqual(f"{user}@capulet.lit/{resource}", event["to"])
            self.assertEqual(NS_TUNE, event.event.items["node"])
        self.assertEqual(3, len({event["id"] for [event] in got.values()}))

    def test_ownerBlocksContact(self):
        """
        XEP-0191 section 3.3: what the server sends on behalf of an account
        to a JID it blocks is dropped: the contact's copy went the general
        way.
        """
        self.balcony.request(
            f"<iq type='set' id='b1'><block xmlns='{NS_BLOCKING}'>"
            f"<item jid='{ROMEO.full()}'/></block></iq>"
        )
        self.forget()
        bulk, events = self.publish()
        self.assertEqual(2, bulk)
        self.assertEqual([], events["romeo", "orchard"])
        self.assertEqual(1, len(events["juliet", "chamber"]))

    def test_contactBlocksOwner(self):
        """
        A contact that blocks the account gets none of its notifications.
        """
        self.romeo.request(
            f"<iq type='set' id='b1'><block xmlns='{NS_BLOCKING}'>"
            "<item jid='juliet@capulet.lit'/></block></iq>"
        )
        self.forget()
        bulk, events = self.publish()
        self.assertEqual(2, bulk)
        self.assertEqual([], events["romeo", "orchard"])

    def test_ownResourcesNeverBlocked(self):
        """
        XEP-0191 section 4 (note): an account's own resources are never
        blocked, even by an item matching them: they get its
        notifications from the bulk path; a contact at the blocked domain
        gets none.
        """
        self.balcony.request(
            f"<iq type='set' id='b1'><block xmlns='{NS_BLOCKING}'>"
            "<item jid='capulet.lit'/></block></iq>"
        )
        self.forget()
        bulk, events = self.publish()
        self.assertEqual(2, bulk)
        self.assertEqual(1, len(events["juliet", "balcony"]))
        self.assertEqual(1, len(events["juliet", "chamber"]))
        self.assertEqual([], events["romeo", "orchard"])
