# -*- test-case-name: tests.test_inspector -*-
"""
Tests for L{mepserver.inspector}: the stanza ring buffer and its event
streams (with stub sessions and requests), and the page, its API
endpoints and the delivery explainer's JSON over real HTTP on loopback,
against a server from L{mepserver.testing.startServer}; and the explainer
in C{mepserver.testing}'s failure messages.
"""

import json
from urllib.parse import quote

from treq.client import HTTPClient
from twisted.internet import defer, endpoints, protocol, reactor, task
from twisted.trial import unittest
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.words.protocols.jabber import jid

from mepserver.inspector import resource as inspectorResource
from mepserver.inspector.stanzas import MAX_XML, StanzaTap, Viewer, namespacesOf
from mepserver.testing import StanzaNotReceived, startServer
from mepserver.testing.log import StanzaLog
from tests.helpers import CapsClient, parseXml

NS_CONFERENCE_INFO = "urn:ietf:params:xml:ns:conference-info"
EVENT = (
    f"<conference-info xmlns='{NS_CONFERENCE_INFO}'>"
    "<activity xmlns='http://jabber.org/protocol/activity'><other/>"
    "<text>The meeting starts in 5 minutes</text></activity></conference-info>"
)
#: A ver that no disco#info answer of the tests hashes to.
WRONG_VER = "Zm9yZ2VkIHZlcmlmaWNhdGlvbiBzdHJpbmc="


class StubSessions:
    """
    The part of L{mepserver.c2s.sessions.SessionManager} the tap uses.
    """

    def __init__(self):
        self.observers = []


class StubSession:
    def __init__(self, full):
        self.jid = jid.JID(full)


class FakeRequest:
    """
    The part of L{twisted.web.server.Request} a L{Viewer} uses.
    """

    def __init__(self, args=None):
        self.args = args or {}
        self.written = []
        self.headers = {}
        self.code = None
        self.producer = None
        self.finished = False
        self.channel = None
        self._finish = defer.Deferred()

    def setResponseCode(self, code):
        self.code = code

    def setHeader(self, name, value):
        self.headers[name] = value

    def registerProducer(self, producer, streaming):
        self.producer = (producer, streaming)

    def unregisterProducer(self):
        self.producer = None

    def notifyFinish(self):
        return self._finish

    def write(self, data):
        self.written.append(data)

    def finish(self):
        self.finished = True

    def events(self):
        """
        @return: C{(event, data)} of every server-sent event written.
        """
        found = []
        for block in b"".join(self.written).decode("utf-8").split("\n\n"):
            if not block:
                continue
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            found.append((fields["event"], json.loads(fields["data"])))
        return found


def message(sender="lobby@conference.localhost", to="alice@localhost/laptop", payload=EVENT):
    stanza = parseXml(
        f"<message from='{sender}' to='{to}' type='headline' id='m1'>"
        f"<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='{NS_CONFERENCE_INFO}'>"
        f"<item id='i1'>{payload}</item></items></event></message>",
        "jabber:client",
    )
    return stanza


class StanzaTapTests(unittest.SynchronousTestCase):
    """
    L{StanzaTap}: the ring buffer, and when it records.
    """

    def setUp(self):
        self.sessions = StubSessions()
        self.clock = task.Clock()
        self.clock.advance(1577836800)
        self.session = StubSession("alice@localhost/laptop")

    def tap(self, size=500, always=False):
        return StanzaTap(self.sessions, self.clock, size, always, "conference.localhost")

    def test_quietWithoutViewers(self):
        """
        Without a page and without C{always}, the tap is not among the
        sessions' observers: the stanza paths pay nothing for it.
        """
        tap = self.tap()
        self.assertEqual([], self.sessions.observers)
        self.assertFalse(tap.recording)

    def test_always(self):
        """
        With C{always} it records from the start, unless its size is 0.
        """
        tap = self.tap(always=True)
        self.assertTrue(tap.recording)
        self.sessions.observers[0](self.session, message(), False)
        self.assertEqual(1, len(tap.entries))
        self.sessions.observers.clear()
        self.assertFalse(self.tap(size=0, always=True).recording)

    def test_viewers(self):
        """
        The first viewer starts the recording and the last one stops it;
        what was recorded stays.
        """
        tap = self.tap()
        first, second = Viewer(tap, FakeRequest()), Viewer(tap, FakeRequest())
        first.start()
        second.start()
        self.assertEqual(1, len(self.sessions.observers))
        self.sessions.observers[0](self.session, message(), False)
        first.request.notifyFinish().callback(None)
        self.assertTrue(tap.recording)
        second.request.notifyFinish().errback(Exception("connection lost"))
        self.assertEqual([], self.sessions.observers)
        self.assertEqual(1, len(tap.entries))

    def test_entry(self):
        """
        An entry: direction, session, addressing, the rooms it is from or
        to, its payloads' namespaces and its XML.
        """
        tap = self.tap(always=True)
        stanza = message()
        tap._observe(self.session, stanza, False)
        entry = dict(tap.entries[0])
        self.assertEqual(stanza.toXml(), entry.pop("xml"))
        self.assertEqual(
            {
                "seq": 1,
                "time": 1577836800.0,
                "direction": "out",
                "session": "alice@localhost/laptop",
                "name": "message",
                "type": "headline",
                "id": "m1",
                "from": "lobby@conference.localhost",
                "to": "alice@localhost/laptop",
                "rooms": ["lobby@conference.localhost"],
                "namespaces": [
                    "http://jabber.org/protocol/pubsub#event",
                    NS_CONFERENCE_INFO,
                    "http://jabber.org/protocol/activity",
                ],
                "truncated": False,
            },
            entry,
        )
        tap._observe(self.session, parseXml("<presence/>", "jabber:client"), True)
        self.assertEqual(("in", [], []), (tap.entries[1]["direction"], tap.entries[1]["rooms"], tap.entries[1]["namespaces"]))

    def test_namespacesOf(self):
        """
        Both quotes, prefixed declarations, each namespace once, never
        C{jabber:client}.
        """
        self.assertEqual(
            ["a", "b", "c"],
            namespacesOf(
                "<message xmlns='jabber:client'><x xmlns=\"a\"/><y xmlns:p='b'/>"
                "<z xmlns='a'/><q xmlns = 'c'/></message>"
            ),
        )

    def test_ringBuffer(self):
        """
        The buffer keeps the newest C{size} stanzas.
        """
        tap = self.tap(size=3, always=True)
        for _ in range(5):
            tap._observe(self.session, message(), False)
        self.assertEqual([3, 4, 5], [entry["seq"] for entry in tap.entries])
        self.assertEqual([5], [entry["seq"] for entry in tap.since(4)])

    def test_truncated(self):
        """
        A stanza's XML is cut at L{MAX_XML} characters, and marked so.
        """
        tap = self.tap(always=True)
        big = "<p xmlns='urn:example'>" + "x" * MAX_XML + "</p>"
        tap._observe(self.session, message(payload=big), False)
        self.assertEqual(MAX_XML, len(tap.entries[0]["xml"]))
        self.assertTrue(tap.entries[0]["truncated"])

    def test_neverBreaksTheStanzaPath(self):
        """
        A stanza the tap cannot record is logged, not raised into the
        server's stanza path.
        """
        tap = self.tap(always=True)

        class Broken:
            def toXml(self):
                raise ValueError("cannot serialise")

        tap._observe(self.session, Broken(), False)
        self.assertEqual(0, len(tap.entries))
        self.assertEqual(1, len(self.flushLoggedErrors(ValueError)))


class ViewerTests(unittest.SynchronousTestCase):
    """
    L{Viewer}: one page's event stream.
    """

    def setUp(self):
        self.sessions = StubSessions()
        self.tap = StanzaTap(self.sessions, task.Clock(), 10, True, "conference.localhost")
        self.session = StubSession("alice@localhost/laptop")
        for _ in range(3):
            self.tap._observe(self.session, message(), False)
        self.request = FakeRequest()
        self.viewer = Viewer(self.tap, self.request)

    def test_start(self):
        """
        A C{text/event-stream} answer: C{hello}, then the buffered stanzas
        after C{since}, as a push producer of the request.
        """
        self.viewer.start(since=1)
        self.assertEqual(200, self.request.code)
        self.assertEqual(b"text/event-stream; charset=utf-8", self.request.headers[b"content-type"])
        self.assertEqual((self.viewer, True), self.request.producer)
        events = self.request.events()
        self.assertEqual(("hello", {"size": 10, "always": True, "maxXml": MAX_XML}), events[0])
        self.assertEqual([2, 3], [data["seq"] for event, data in events[1:]])
        self.assertIn(b"\nid: 3\n", b"".join(self.request.written))

    def test_live(self):
        """
        New stanzas and publications reach the page as they happen.
        """
        self.viewer.start(since=3)
        self.tap._observe(self.session, message(), False)
        self.assertEqual(["hello", "stanza"], [event for event, _ in self.request.events()])

    def test_slowPage(self):
        """
        While the connection's buffer is full, events are dropped and
        counted, not buffered; the page is told how many once it catches
        up.
        """
        self.viewer.start(since=3)
        self.viewer.pauseProducing()
        for _ in range(4):
            self.tap._observe(self.session, message(), False)
        self.assertEqual(["hello"], [event for event, _ in self.request.events()])
        self.viewer.resumeProducing()
        self.tap._observe(self.session, message(), False)
        self.assertEqual(
            [("hello", None), ("dropped", {"count": 4}), ("stanza", 8)],
            [
                (event, data if event == "dropped" else data.get("seq") if event == "stanza" else None)
                for event, data in self.request.events()
            ],
        )

    def test_close(self):
        """
        Closing (the server stops) finishes the answer and stops pushing.
        """
        self.viewer.start()
        self.tap.closeAll()
        self.assertTrue(self.request.finished)
        self.assertEqual([], self.tap.viewers)
        self.viewer.send(b"event: late\ndata: {}\n\n")
        self.assertNotIn(b"late", b"".join(self.request.written))


class EventReader(protocol.Protocol):
    """
    Reads a C{text/event-stream} body, firing waiters as events come.
    """

    def __init__(self):
        self.buffer = b""
        self.events = []
        self.waiting = []
        self.closed = defer.Deferred()

    def dataReceived(self, data):
        self.buffer += data
        while b"\n\n" in self.buffer:
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.decode("utf-8").split("\n"))
            self.events.append((fields["event"], json.loads(fields["data"])))
        for match, d in list(self.waiting):
            found = [e for e in self.events if match(e)]
            if found:
                self.waiting.remove((match, d))
                d.callback(found[0])

    def waitFor(self, match):
        found = [e for e in self.events if match(e)]
        if found:
            return defer.succeed(found[0])
        d = defer.Deferred()
        self.waiting.append((match, d))
        return d

    def connectionLost(self, reason):
        self.closed.callback(None)


async def joinWithWrongCaps(client, room, nick, node):
    """
    Join announcing a ver its disco#info answer (with C{node+notify}) does
    not hash to.

    @return: the client's L{CapsClient}.
    """
    caps = CapsClient([node + "+notify"])
    answered = defer.Deferred()

    def answer(iq):
        reply = caps.answer(iq)
        reply["from"] = client.jid.full()
        client.send(reply)
        answered.callback(None)

    client.xmlstream.addOnetimeObserver("/iq[@type='get']/query", answer)
    presence = caps.presence(to=f"{room}/{nick}")
    presence.children[0]["ver"] = WRONG_VER
    presence.addElement(("http://jabber.org/protocol/muc", "x"))
    client.send(presence)
    await client.waitFor(f"/presence[@from='{room}/{nick}']/x/status[@code='110']")
    await answered
    await client.ping()
    return caps


class InspectorHTTPTests(unittest.TestCase):
    """
    The page and the inspector's API endpoints over real HTTP.
    """

    timeout = 30

    async def setUp(self):
        self.running = await startServer(self)
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.http = HTTPClient(Agent(reactor, pool=pool))

    def url(self, path):
        return f"http://127.0.0.1:{self.running.httpPort}/{path}"

    async def get(self, path, status, **kwargs):
        response = await self.http.get(self.url(path), **kwargs)
        body = await response.content()
        self.assertEqual(status, response.code, body)
        self.response = response
        return body

    async def getJSON(self, path, status=200, **kwargs):
        return json.loads(await self.get("api/" + path, status, **kwargs))

    async def scenario(self):
        """
        Alice joins with caps asking for conference-info, Bob with a ver
        his answer does not hash to; the room publishes one event.

        @return: C{(room JID, Alice's client, Bob's client, Bob's caps)}.
        """
        running = self.running
        alice = await running.createAccount("alice")
        bob = await running.createAccount("bob")
        room = await running.createRoom("lobby", owner=alice)
        self.alice = await running.connectClient(alice, "laptop")
        self.bob = await running.connectClient(bob, "phone")
        await self.alice.joinRoom(room, "Alice", notify=[NS_CONFERENCE_INFO])
        self.caps = await joinWithWrongCaps(self.bob, room, "Bob", NS_CONFERENCE_INFO)
        await running.generateEvent(room, NS_CONFERENCE_INFO, EVENT, "m1")
        await self.alice.waitFor("/message/event/items/item[@id='m1']")
        return room

    async def test_page(self):
        """
        The page at the root and its files under C{/inspector/}, with a
        strict content security policy; nothing else there, no listing,
        only GET, and only for this server's names.
        """
        page = await self.get("", 200)
        self.assertIn(b"<title>mepserver inspector</title>", page)
        headers = self.response.headers
        self.assertEqual([b"text/html; charset=utf-8"], headers.getRawHeaders(b"content-type"))
        [policy] = headers.getRawHeaders(b"content-security-policy")
        self.assertIn(b"script-src 'self'", policy)
        self.assertNotIn(b"unsafe-inline", policy)
        self.assertEqual([b"nosniff"], headers.getRawHeaders(b"x-content-type-options"))
        script = await self.get("inspector/inspector.js", 200)
        self.assertIn(b"textContent", script)
        self.assertNotIn(b"innerHTML", script)
        self.assertEqual([b"text/javascript; charset=utf-8"], self.response.headers.getRawHeaders(b"content-type"))
        await self.get("inspector/inspector.css", 200)
        await self.get("inspector/", 404)
        await self.get("inspector/index.html", 404)
        await self.get("inspector/%2e%2e/api/rooms", 404)
        response = await self.http.post(self.url(""), data=b"")
        self.assertEqual(405, response.code)
        await response.content()
        await self.get("", 421, headers={"Host": ["evil.example"]})

    async def test_sessions(self):
        """
        C{GET /api/sessions}: each session's transport, TLS, SASL
        mechanism, presence, stream management, carbons and rooms.
        """
        room = await self.scenario()
        body = await self.getJSON("sessions")
        [alice, bob] = body["sessions"]
        self.assertEqual("alice@localhost/laptop", alice["jid"])
        self.assertEqual("tcp", alice["transport"])
        self.assertEqual({"secure": True, "how": "STARTTLS"}, {k: alice["tls"][k] for k in ("secure", "how")})
        self.assertRegex(alice["tls"]["version"], r"^TLSv1\.[23]$")
        self.assertEqual("PLAIN", alice["sasl"])
        self.assertEqual((False, True, False, None), (alice["available"], alice["active"], alice["carbons"], alice["streamManagement"]))
        self.assertEqual([{"room": room.full(), "nick": "Alice"}], alice["rooms"])
        self.assertEqual([{"room": room.full(), "nick": "Bob"}], bob["rooms"])
        self.assertIsNone(alice["caps"])

        # Broadcast presence with caps: their features, once verified.
        caps = CapsClient(["urn:example:x+notify"])
        answered = defer.Deferred()

        def answer(iq):
            reply = caps.answer(iq)
            self.alice.send(reply)
            answered.callback(None)

        self.alice.xmlstream.addOnetimeObserver("/iq[@type='get']/query", answer)
        self.alice.send(caps.presence())
        await answered
        await self.alice.ping()
        [alice, _] = (await self.getJSON("sessions"))["sessions"]
        self.assertTrue(alice["available"])
        self.assertEqual(
            {"hash": "sha-1", "ver": caps.ver, "status": "verified", "notify": ["urn:example:x"]},
            {k: alice["caps"][k] for k in ("hash", "ver", "status", "notify")},
        )

    async def test_deliveries(self):
        """
        The explainer's JSON: one entry per session, in the shape the
        issue gives; Bob's caps hash mismatch names both hashes.
        """
        room = await self.scenario()
        node = quote(NS_CONFERENCE_INFO, safe="")
        body = await self.getJSON(f"rooms/lobby/nodes/{node}/items/m1/deliveries")
        [alice, bob] = body.pop("deliveries")
        self.assertEqual({"room": room.full(), "node": NS_CONFERENCE_INFO, "item": "m1"}, body)
        self.assertEqual(
            {"nick": "Alice", "jid": "alice@localhost/laptop", "delivered": True, "code": "delivered"},
            {k: alice[k] for k in ("nick", "jid", "delivered", "code")},
        )
        self.assertEqual(["code", "delivered", "jid", "nick", "reason"], sorted(bob))
        self.assertEqual(
            ("Bob", "bob@localhost/phone", False, "caps-hash-mismatch"),
            (bob["nick"], bob["jid"], bob["delivered"], bob["code"]),
        )
        self.assertIn(WRONG_VER, bob["reason"])
        self.assertIn(self.caps.ver, bob["reason"])
        await self.bob.assertNoStanzaReceived("/message/event")

        error = await self.getJSON(f"rooms/lobby/nodes/{node}/items/nope/deliveries", 404)
        self.assertEqual("item-not-recorded", error["error"])
        self.assertIn("deliveries_per_room", error["message"])
        error = await self.getJSON(f"rooms/lobby/nodes/{node}/items/m1/deliveries?occupant=Bob", 404)
        self.assertEqual("item-not-recorded", error["error"])
        error = await self.getJSON(f"rooms/lobby/nodes/{node}/items/%00/deliveries", 400)
        self.assertEqual("bad-item-id", error["error"])
        error = await self.getJSON(f"rooms/attic/nodes/{node}/items/m1/deliveries", 404)
        self.assertEqual("room-not-found", error["error"])

        # An occupant's item, by its nick.
        await self.running.publishAsOccupant(f"{room.full()}/Alice", NS_CONFERENCE_INFO, EVENT, "own")
        body = await self.getJSON(f"rooms/lobby/nodes/{node}/items/own/deliveries?occupant=Alice")
        self.assertEqual(["delivered", "caps-hash-mismatch"], [d["code"] for d in body["deliveries"]])

    async def test_room(self):
        """
        C{GET /api/inspector/rooms/{room}}: occupants with occupant ids
        and each session's caps state, the room's nodes with their items,
        and the recent publications with their deliveries.
        """
        room = await self.scenario()
        body = await self.getJSON("inspector/rooms/lobby")
        self.assertEqual(room.full(), body["jid"])
        self.assertIn("whois", body["config"])
        alice, bob = body["occupants"]
        occupantId = self.running.server.rooms.get(room).occupant("Alice").occupantId
        self.assertEqual(("Alice", "moderator", "owner", occupantId), (alice["nick"], alice["role"], alice["affiliation"], alice["occupantId"]))
        [session] = alice["sessions"]
        self.assertEqual(("verified", [NS_CONFERENCE_INFO]), (session["capsState"]["code"], session["interests"]))
        [session] = bob["sessions"]
        self.assertEqual(("caps-hash-mismatch", []), (session["capsState"]["code"], session["interests"]))
        self.assertEqual((WRONG_VER, "hash-mismatch", self.caps.ver), (session["caps"]["ver"], session["caps"]["status"], session["caps"]["computed"]))
        [service] = body["services"]
        self.assertEqual((room.full(), None), (service["jid"], service["occupant"]))
        [node] = service["nodes"]
        self.assertEqual((NS_CONFERENCE_INFO, ["m1"]), (node["node"], [i["id"] for i in node["items"]]))
        self.assertEqual(parseXml(EVENT).toXml(), parseXml(node["items"][0]["payload"]).toXml())
        [publication] = body["publications"]
        self.assertEqual(
            ("m1", ["delivered", "caps-hash-mismatch"]),
            (publication["item"], [d["code"] for d in publication["deliveries"]]),
        )

    async def test_stream(self):
        """
        The event stream: C{hello}, then each stanza of the sessions, and
        each MEP publication; the stanza snapshot has them too. Closing
        the page stops the recording.
        """
        running = self.running
        tap = running.server.stanzas
        alice = await running.createAccount("alice")
        room = await running.createRoom("lobby", owner=alice)
        response = await self.http.get(self.url("api/inspector/stream"))
        self.assertEqual(200, response.code)
        self.assertEqual([b"text/event-stream; charset=utf-8"], response.headers.getRawHeaders(b"content-type"))
        reader = EventReader()
        response.deliverBody(reader)
        await reader.waitFor(lambda e: e[0] == "hello")
        self.assertTrue(tap.recording)
        client = await running.connectClient(alice, "laptop")
        await client.joinRoom(room, "Alice")
        _, joined = await reader.waitFor(lambda e: e[0] == "stanza" and e[1]["name"] == "presence" and e[1]["direction"] == "in")
        self.assertEqual(("alice@localhost/laptop", [room.full()]), (joined["session"], joined["rooms"]))
        await running.generateEvent(room, NS_CONFERENCE_INFO, EVENT, "m1")
        _, published = await reader.waitFor(lambda e: e[0] == "publication")
        self.assertEqual(
            {"room": room.full(), "service": room.full(), "node": NS_CONFERENCE_INFO, "item": "m1"},
            published,
        )
        snapshot = await self.getJSON("inspector/stanzas")
        self.assertEqual((500, False, True), (snapshot["size"], snapshot["always"], snapshot["recording"]))
        self.assertIn(joined, snapshot["stanzas"])

        [viewer] = tap.viewers
        gone = viewer.request.notifyFinish()
        gone.addErrback(lambda _: None)
        reader.transport.stopProducing()
        await gone
        await reader.closed
        self.assertFalse(tap.recording)

    async def test_tooManyViewers(self):
        """
        Past L{mepserver.inspector.stanzas.MAX_VIEWERS} open streams, 503.
        """
        self.patch(inspectorResource, "MAX_VIEWERS", 1)
        response = await self.http.get(self.url("api/inspector/stream"))
        reader = EventReader()
        response.deliverBody(reader)
        await reader.waitFor(lambda e: e[0] == "hello")
        error = await self.getJSON("inspector/stream", 503)
        self.assertEqual("too-many-viewers", error["error"])
        await self.getJSON("inspector/stream?since=x", 503)
        reader.transport.stopProducing()
        await reader.closed


class InspectorTokenTests(unittest.TestCase):
    """
    With C{[http] token}, the inspector's data needs it as the API does;
    the page's files, which hold none, do not.
    """

    timeout = 30

    async def test_token(self):
        running = await startServer(self, apiToken="s3cret")
        http = HTTPClient(Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False)))
        base = f"http://127.0.0.1:{running.httpPort}/"
        node = quote(NS_CONFERENCE_INFO, safe="")
        for path in (
            "api/sessions",
            "api/inspector/stream",
            "api/inspector/stanzas",
            "api/inspector/rooms/lobby",
            f"api/rooms/lobby/nodes/{node}/items/m1/deliveries",
        ):
            response = await http.get(base + path)
            body = json.loads(await response.content())
            self.assertEqual((401, "unauthorized"), (response.code, body["error"]), path)
            response = await http.get(base + path, headers={"Host": ["evil.example"], "Authorization": ["Bearer s3cret"]})
            await response.content()
            self.assertEqual(421, response.code, path)
        response = await http.get(base + "api/sessions", headers={"Authorization": ["Bearer s3cret"]})
        self.assertEqual({"sessions": []}, json.loads(await response.content()))
        for path in ("", "inspector/inspector.js"):
            response = await http.get(base + path)
            await response.content()
            self.assertEqual(200, response.code, path)


class ExplainInTestsTests(unittest.TestCase):
    """
    C{mepserver.testing}: a wait for a MEP event that times out says what
    the explainer says, as the JSON endpoint does.
    """

    timeout = 30

    def test_stanzaLog(self):
        """
        A timed-out wait's message ends with what C{explain} returns; a
        failing C{explain} does not hide the timeout.
        """
        clock = task.Clock()
        log = StanzaLog(clock, "was received by x", explain=lambda: "the explanation")
        d = log.waitFor("/message", 1)
        clock.advance(1)
        failure = self.failureResultOf(d, StanzaNotReceived)
        self.assertTrue(str(failure.value).endswith("nothing arrived\nthe explanation"))

        def broken():
            raise RuntimeError("no")

        log.explain = broken
        d = log.waitFor("/message", 1)
        clock.advance(1)
        self.assertIn("the delivery explainer failed", str(self.failureResultOf(d).value))

    async def test_waitFor(self):
        """
        Bob's wait for the event fails with the hash mismatch in its
        message, word for word the JSON endpoint's reason; so does his
        recorder's. Without publications, nothing is added.
        """
        running = await startServer(self)
        alice = await running.createAccount("alice")
        bob = await running.createAccount("bob")
        room = await running.createRoom("lobby", owner=alice)
        recorder = running.record(bob)
        bobsClient = await running.connectClient(bob, "phone")
        aliceClient = await running.connectClient(alice, "laptop")
        self.assertEqual("", running.explainDeliveries(bob))
        await aliceClient.joinRoom(room, "Alice", notify=[NS_CONFERENCE_INFO])
        await joinWithWrongCaps(bobsClient, room, "Bob", NS_CONFERENCE_INFO)
        await running.generateEvent(room, NS_CONFERENCE_INFO, EVENT, "m1")
        await aliceClient.waitFor("/message/event")

        publication = running.server.deliveries.find(room, room, NS_CONFERENCE_INFO, "m1")
        [expected] = [
            d for d in running.server.deliveries.deliveries(publication) if d.nick == "Bob"
        ]
        self.assertEqual("caps-hash-mismatch", expected.code)
        for waiting in (bobsClient.waitFor("/message/event", timeout=0), recorder.waitFor("/message/event", timeout=0)):
            try:
                await waiting
            except StanzaNotReceived as e:
                message = str(e)
            else:
                self.fail("the event arrived")
            self.assertIn(f"item 'm1' of node '{NS_CONFERENCE_INFO}' at {room.full()}", message)
            self.assertIn(
                f"bob@localhost/phone: not delivered [caps-hash-mismatch]: {expected.reason}", message
            )
        self.assertIn("alice@localhost/laptop: delivered [delivered]", running.explainDeliveries(alice))


class ComponentModeTests(unittest.TestCase):
    """
    As a host server's MUC component (L{mepserver.server.ComponentServer}),
    the page and the delivery explainer are served; the host has the
    sessions, so there is neither a sessions list nor a stanza stream.
    """

    timeout = 30

    def join(self, host, user, nick, features):
        """
        The host brings C{user}'s join presence with caps, and C{user}
        answers the room's caps query.
        """
        caps = CapsClient(features)
        presence = caps.presence(to=f"coven@conference.localhost/{nick}")
        presence["from"] = user
        presence.addElement(("http://jabber.org/protocol/muc", "x"))
        host.stream.send(presence.toXml(defaultUri="jabber:client"))
        host.flush()
        for query in [q for q in host.take() if caps.isQuery(q)]:
            answer = caps.answer(query)
            answer["from"] = user
            host.stream.send(answer.toXml(defaultUri="jabber:client"))
            host.flush()

    async def test_component(self):
        from mepserver.server import buildServer
        from tests.test_hostlink import FakeHost, componentConfig

        clock = task.Clock()
        host = FakeHost(clock)
        server = buildServer(componentConfig(dataDir=self.mktemp()), clock=clock)
        server.link.endpoint = host
        server.startService()
        host.flush()
        self.successResultOf(server.ready)

        def stop():
            d = server.stopService()
            host.flush()
            self.successResultOf(d)

        self.addCleanup(stop)
        self.join(host, "alice@localhost/r", "alice", [NS_CONFERENCE_INFO + "+notify"])
        self.join(host, "bob@localhost/r", "bob", [])
        d = server.mep.generateEvent("coven", NS_CONFERENCE_INFO, EVENT, "m1")
        host.flush()
        self.assertEqual("m1", self.successResultOf(d))

        [(_, site)] = server.listeners
        port = await endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        http = HTTPClient(Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False)))
        base = f"http://127.0.0.1:{port.getHost().port}/"
        response = await http.get(base)
        await response.content()
        self.assertEqual(200, response.code)
        for path, code in (
            ("api/sessions", "sessions-unavailable"),
            ("api/inspector/stream", "inspector-unavailable"),
        ):
            response = await http.get(base + path)
            body = json.loads(await response.content())
            self.assertEqual((503, code), (response.code, body["error"]), path)
        node = quote(NS_CONFERENCE_INFO, safe="")
        response = await http.get(base + f"api/rooms/coven/nodes/{node}/items/m1/deliveries")
        body = json.loads(await response.content())
        self.assertEqual(
            [("alice", "delivered"), ("bob", "no-notify")],
            [(d["nick"], d["code"]) for d in body["deliveries"]],
        )
