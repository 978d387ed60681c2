# -*- test-case-name: tests.test_api -*-
"""
Tests for L{mepserver.api}: the JSON HTTP API over real HTTP on loopback,
with treq, against a server from L{mepserver.testing.startServer}.
"""

import datetime
import json
from urllib.parse import quote

from treq.client import HTTPClient
from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.api.resource import APIError, parsePayload
from mepserver.pubsub.model import Item, Node, NodeConfig, Service
from mepserver.pubsub.registry import ServiceRegistry
from mepserver.testing import startServer
from tests.helpers import CapsClient, parseXml

NS_CONFERENCE_INFO = "urn:ietf:params:xml:ns:conference-info"

#: The room event of DESIGN.md section 6, as Converse.js renders it.
CONFERENCE_INFO = (
    "<conference-info xmlns='urn:ietf:params:xml:ns:conference-info'>"
    "<activity xmlns='http://jabber.org/protocol/activity'>"
    "<other/><text>The meeting starts in 5 minutes</text></activity>"
    "</conference-info>"
)

XML = {"Content-Type": ["application/xml"]}


class FakeMEP:
    """
    A stand-in for C{server.mep}, to check what the API asks of MEP and
    how it renders MEP's refusals: a registry of in-memory services and a
    C{generateEvent} that stores the item as the room.

    @ivar calls: the arguments of each C{generateEvent} call.
    @ivar refusal: an exception C{generateEvent} raises instead, if set.
    """

    def __init__(self, rooms, clock):
        self.rooms = rooms
        self.clock = clock
        self.calls = []
        self.refusal = None
        self.registry = ServiceRegistry(
            None, lambda roomJID: Service(roomJID, None, clock, persistent=False)
        )

    @defer.inlineCallbacks
    def generateEvent(self, room, nodeIdentifier, payload, itemIdentifier=None):
        self.calls.append((room, nodeIdentifier, payload, itemIdentifier))
        if self.refusal is not None:
            raise self.refusal
        if self.rooms.get(room) is None:
            raise errors.RoomNotFound("no such room")
        service = yield self.registry.get(room)
        node = service.nodes.get(nodeIdentifier)
        if node is None:
            node = service.nodes[nodeIdentifier] = Node(nodeIdentifier, NodeConfig())
        identifier = itemIdentifier or f"item-{len(self.calls)}"
        node.items[identifier] = Item(
            identifier,
            payload.toXml(),
            room,
            datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
        )
        return identifier


class APITestsMixin:
    """
    Start a server and an HTTP client for each test.
    """

    timeout = 30
    settings: dict = {}

    async def setUp(self):
        self.running = await startServer(self, **self.settings)
        pool = HTTPConnectionPool(reactor)
        # Runs before the server stops (cleanups run last first).
        self.addCleanup(pool.closeCachedConnections)
        self.http = HTTPClient(Agent(reactor, pool=pool))

    def url(self, path):
        return self.running.apiURL + path

    async def request(self, method, path, status, **kwargs):
        """
        Make a request and check its status and JSON content type.

        @return: the decoded JSON body.
        """
        response = await self.http.request(method, self.url(path), **kwargs)
        body = await response.content()
        self.assertEqual(status, response.code, body)
        self.assertEqual(
            [b"application/json; charset=utf-8"],
            response.headers.getRawHeaders(b"content-type"),
        )
        self.response = response
        return json.loads(body)

    async def assertError(self, method, path, status, code, **kwargs):
        """
        @return: the error message, after checking the status and code.
        """
        body = await self.request(method, path, status, **kwargs)
        self.assertEqual(code, body["error"])
        self.assertIsInstance(body["message"], str)
        self.assertTrue(body["message"])
        return body["message"]

    def fakeMEP(self):
        fake = FakeMEP(self.running.server.rooms, self.running.clock)
        if hasattr(self.running.server, "mep"):
            self.patch(self.running.server, "mep", fake)
        else:
            self.running.server.mep = fake
        return fake


class RoomsTests(APITestsMixin, unittest.TestCase):
    """
    C{GET /api/rooms} and C{GET /api/rooms/{room}}.
    """

    async def test_noRooms(self):
        """
        Without rooms, the list is empty; a trailing slash changes nothing.
        """
        self.assertEqual({"rooms": []}, await self.request("GET", "rooms", 200))
        self.assertEqual({"rooms": []}, await self.request("GET", "rooms/", 200))

    async def test_listRooms(self):
        """
        Rooms are listed by JID with name, persistence, lock and occupant
        count, locked rooms included.
        """
        running = self.running
        alice = await running.createAccount("alice")
        await running.createRoom("lobby", owner=alice, name="The Lobby", persistent=True)
        locked = running.server.rooms.create(
            jid.JID("attic@" + running.mucDomain), alice.jid
        )
        locked.locked = True
        client = await running.connectClient(alice, "laptop")
        client.send(parseXml(
            f"<presence to='lobby@{running.mucDomain}/Alice'>"
            "<x xmlns='http://jabber.org/protocol/muc'/></presence>",
            "jabber:client",
        ))
        await client.waitFor(f"/presence[@from='lobby@{running.mucDomain}/Alice']")
        self.assertEqual(
            {
                "rooms": [
                    {
                        "jid": f"attic@{running.mucDomain}",
                        "name": "",
                        "persistent": False,
                        "locked": True,
                        "occupants": 0,
                    },
                    {
                        "jid": f"lobby@{running.mucDomain}",
                        "name": "The Lobby",
                        "persistent": True,
                        "locked": False,
                        "occupants": 1,
                    },
                ]
            },
            await self.request("GET", "rooms", 200),
        )

    async def test_describeRoom(self):
        """
        A room, by localpart or full JID: its configuration and occupants
        with nick, occupant JID, role, affiliation, real JID, and per
        session the caps and interests, once the caps are verified.
        """
        running = self.running
        alice = await running.createAccount("alice")
        roomJID = await running.createRoom(
            "lobby", owner=alice, moderated=True, roomsecret="s3cret", whois="anyone"
        )
        caps = CapsClient([NS_CONFERENCE_INFO + "+notify", "urn:example:other"])
        client = await running.connectClient(alice, "laptop")
        await announceCaps(running, client, caps)
        presence = caps.presence(to=f"{roomJID.full()}/Alice")
        presence.addElement(("http://jabber.org/protocol/muc", "x")).addElement(
            "password", content="s3cret"
        )
        client.send(presence)
        await client.waitFor(f"/presence[@from='{roomJID.full()}/Alice']")

        body = await self.request("GET", "rooms/lobby", 200)
        self.assertEqual(body, await self.request("GET", "rooms/" + quote(roomJID.full()), 200))
        self.assertEqual(roomJID.full(), body["jid"])
        self.assertFalse(body["locked"])
        self.assertTrue(body["config"]["moderatedroom"])
        self.assertTrue(body["config"]["passwordprotectedroom"])
        self.assertEqual("anyone", body["config"]["whois"])
        self.assertEqual(
            [
                {
                    "nick": "Alice",
                    "jid": f"{roomJID.full()}/Alice",
                    "role": "moderator",
                    "affiliation": "owner",
                    "realJID": "alice@localhost",
                    "sessions": [
                        {
                            "jid": "alice@localhost/laptop",
                            "caps": {"hash": "sha-1", "ver": caps.ver, "node": caps.node},
                            "capsVerified": True,
                            "interests": [NS_CONFERENCE_INFO],
                        }
                    ],
                }
            ],
            body["occupants"],
        )

    async def test_unknownRoom(self):
        """
        An unknown room, a room JID of another service and an invalid name
        are 404.
        """
        await self.assertError("GET", "rooms/nowhere", 404, "room-not-found")
        await self.assertError("GET", "rooms/lobby%40example.org", 404, "room-not-found")
        await self.assertError("GET", "rooms/a%20b", 404, "room-not-found")
        await self.assertError("GET", "rooms/nowhere/nodes", 404, "room-not-found")

    async def test_unknownPath(self):
        """
        Paths outside the API's endpoints are 404, also the API's root.
        """
        await self.assertError("GET", "", 404, "not-found")
        await self.assertError("GET", "accounts", 404, "not-found")
        await self.assertError("GET", "rooms/lobby/nodes/x", 404, "not-found")

    async def test_wrongMethod(self):
        """
        A method an endpoint does not take is 405, with C{Allow}.
        """
        await self.assertError("POST", "rooms", 405, "method-not-allowed")
        self.assertEqual([b"GET"], self.response.headers.getRawHeaders(b"allow"))
        await self.assertError("DELETE", "rooms/lobby/nodes/n/items", 405, "method-not-allowed")
        self.assertEqual([b"GET, POST"], self.response.headers.getRawHeaders(b"allow"))
        await self.assertError("GET", "reset", 405, "method-not-allowed")
        self.assertEqual([b"POST"], self.response.headers.getRawHeaders(b"allow"))


async def announceCaps(running, client, caps):
    """
    Send broadcast presence with C{caps}, answer the server's disco#info
    query about them, and wait until the server took the answer in: the
    server then knows the caps' features for any presence that carries
    them (the caps cache is server-wide, XEP-0115 section 6.2).
    """
    caps.answerOn(client.xmlstream)
    client.send(caps.presence())
    await client.waitFor(caps.isQuery)
    # The answer went out before anything sent after it: once a ping sent
    # now is answered, the answer was handled.
    await client.ping()


class NodesTests(APITestsMixin, unittest.TestCase):
    """
    C{GET /api/rooms/{room}/nodes} and C{.../nodes/{node}/items}, and
    C{POST .../items} against a stand-in MEP service.
    """

    async def setUp(self):
        await super().setUp()
        self.roomJID = await self.running.createRoom("lobby")

    async def test_noMEP(self):
        """
        Without a MEP service, the node endpoints answer 503.
        """
        if getattr(self.running.server, "mep", None) is not None:
            self.patch(self.running.server, "mep", None)
        await self.assertError("GET", "rooms/lobby/nodes", 503, "mep-unavailable")
        await self.assertError("GET", "rooms/lobby/nodes/n/items", 503, "mep-unavailable")
        await self.assertError(
            "POST", "rooms/lobby/nodes/n/items", 503, "mep-unavailable",
            data=b"<x xmlns='urn:example'/>", headers=XML,
        )

    async def test_publish(self):
        """
        The body is the payload, the node URL-encoded, C{{room}} the
        localpart: the API calls C{server.mep.generateEvent} with the room
        JID and the parsed element, and answers 201 with the item id.
        """
        fake = self.fakeMEP()
        node = quote(NS_CONFERENCE_INFO, safe="")
        body = await self.request(
            "POST", f"rooms/lobby/nodes/{node}/items", 201,
            data=("<?xml version='1.0' encoding='utf-8'?>\n" + CONFERENCE_INFO + "\n").encode(),
            headers=XML,
        )
        self.assertEqual(
            {"id": "item-1", "node": NS_CONFERENCE_INFO, "room": self.roomJID.full()}, body
        )
        [(room, nodeIdentifier, payload, itemIdentifier)] = fake.calls
        self.assertEqual((self.roomJID, NS_CONFERENCE_INFO, None), (room, nodeIdentifier, itemIdentifier))
        self.assertEqual((NS_CONFERENCE_INFO, "conference-info"), (payload.uri, payload.name))
        self.assertEqual(
            "The meeting starts in 5 minutes", str(payload.activity.text)
        )

    async def test_publishWithId(self):
        """
        C{?id=} chooses the item id; C{{room}} may be the full room JID and
        the content type C{text/xml} with a charset.
        """
        fake = self.fakeMEP()
        body = await self.request(
            "POST", f"rooms/{quote(self.roomJID.full())}/nodes/urn%3Aexample/items?id=pinned", 201,
            data=b"<x xmlns='urn:example'/>",
            headers={"Content-Type": ["text/xml; charset=utf-8"]},
        )
        self.assertEqual("pinned", body["id"])
        self.assertEqual("pinned", fake.calls[0][3])
        await self.assertError(
            "POST", "rooms/lobby/nodes/urn%3Aexample/items?id=", 400, "bad-request",
            data=b"<x xmlns='urn:example'/>", headers=XML,
        )

    async def test_publishBadPayload(self):
        """
        A body that is not one well-formed XML element is 400, one that is
        not sent as XML 415, one over the stanza size limit 413; nothing is
        published.
        """
        fake = self.fakeMEP()
        path = "rooms/lobby/nodes/urn%3Aexample/items"
        for data in [
            b"",
            b"not xml",
            b"<a xmlns='urn:example'>",
            b"<a/><b/>",
            b"<a/>text",
            b"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>",
        ]:
            message = await self.assertError("POST", path, 400, "bad-payload", data=data, headers=XML)
            self.assertIn("payload", message)
        await self.assertError(
            "POST", path, 415, "unsupported-media-type", data=b"<a/>",
            headers={"Content-Type": ["application/json"]},
        )
        await self.assertError("POST", path, 415, "unsupported-media-type", data=b"<a/>")
        limit = self.running.server.config.maxStanzaSize
        await self.assertError(
            "POST", path, 413, "payload-too-large",
            data=b"<a>" + b"x" * limit + b"</a>", headers=XML,
        )
        self.assertEqual([], fake.calls)

    async def test_publishRefused(self):
        """
        An unknown room is 404 before MEP is asked; MEP's refusals map to
        404, 403 and 400.
        """
        fake = self.fakeMEP()
        path = "rooms/lobby/nodes/n/items"
        await self.assertError(
            "POST", "rooms/nowhere/nodes/n/items", 404, "room-not-found",
            data=b"<a/>", headers=XML,
        )
        self.assertEqual([], fake.calls)
        for refusal, status, code in [
            (errors.RoomNotFound("gone"), 404, "room-not-found"),
            (errors.Forbidden("no"), 403, "forbidden"),
            (errors.BadRequest("bad"), 400, "bad-request"),
        ]:
            fake.refusal = refusal
            message = await self.assertError("POST", path, status, code, data=b"<a/>", headers=XML)
            self.assertEqual(refusal.text, message)

    async def test_nodesAndItems(self):
        """
        The nodes, by NodeID with their item counts, and a node's items,
        oldest first, with id, time, publisher and payload.
        """
        fake = self.fakeMEP()
        self.assertEqual(
            {"room": self.roomJID.full(), "nodes": []},
            await self.request("GET", "rooms/lobby/nodes", 200),
        )
        await fake.generateEvent(self.roomJID, "urn:b", parseXml("<b xmlns='urn:b'/>"))
        await fake.generateEvent(self.roomJID, "urn:a", parseXml("<a xmlns='urn:a'>1</a>"), "one")
        await fake.generateEvent(self.roomJID, "urn:a", parseXml("<a xmlns='urn:a'>2</a>"), "two")
        self.assertEqual(
            {
                "room": self.roomJID.full(),
                "nodes": [{"node": "urn:a", "items": 2}, {"node": "urn:b", "items": 1}],
            },
            await self.request("GET", "rooms/lobby/nodes/", 200),
        )
        body = await self.request("GET", "rooms/lobby/nodes/urn%3Aa/items", 200)
        self.assertEqual("urn:a", body["node"])
        self.assertEqual(["one", "two"], [item["id"] for item in body["items"]])
        first = body["items"][0]
        self.assertEqual("2020-01-01T00:00:00Z", first["published"])
        self.assertEqual(self.roomJID.full(), first["publisher"])
        self.assertEqual(
            ("urn:a", "a", "1"),
            (lambda e: (e.uri, e.name, str(e)))(parseXml(first["payload"])),
        )
        await self.assertError("GET", "rooms/lobby/nodes/urn%3Ac/items", 404, "node-not-found")


class InputTests(APITestsMixin, unittest.TestCase):
    """
    Node names and item ids from URLs become XML the server sends, so they
    must be XML 1.0 text of at most 1023 bytes: anything else is 400 with
    a JSON error naming the problem, and nothing is published.
    """

    async def setUp(self):
        await super().setUp()
        await self.running.createRoom("lobby")
        self.fake = self.fakeMEP()

    async def test_badNodeNames(self):
        """
        A node name with C{U+0000}, C{U+001B}, C{U+FFFE} or a lone
        surrogate, or of 1024 bytes, is C{bad-node} for both methods; one
        that is not UTF-8 is C{bad-path}.
        """
        for quoted, problem in [
            ("a%00b", "U+0000"),
            ("%1B", "U+001B"),
            ("%EF%BF%BE", "U+FFFE"),
            ("n" * 1024, "1024 bytes long"),
            ("%C3%A9" * 512, "1024 bytes long"),
        ]:
            path = f"rooms/lobby/nodes/{quoted}/items"
            for method, extra in (("GET", {}), ("POST", {"data": b"<a/>", "headers": XML})):
                message = await self.assertError(method, path, 400, "bad-node", **extra)
                self.assertIn(problem, message)
                self.assertIn("the node name", message)
        for path in ("rooms/lobby/nodes/%FF/items", "rooms/lobby/nodes/%ED%A0%80/items"):
            await self.assertError("POST", path, 400, "bad-path", data=b"<a/>", headers=XML)
        self.assertEqual([], self.fake.calls)

    async def test_longestNodeName(self):
        """
        A node name of 1023 bytes, multi-byte characters included, and
        tabs or characters beyond the BMP are published.
        """
        for node in ("\u00e9" * 511 + "n", "a\tb\U0001f600"):
            body = await self.request(
                "POST", f"rooms/lobby/nodes/{quote(node, safe='')}/items", 201,
                data=b"<a/>", headers=XML,
            )
            self.assertEqual(node, body["node"])
        self.assertEqual(2, len(self.fake.calls))

    async def test_badItemIds(self):
        """
        An item id (C{?id=}) with a character XML forbids, of 1024 bytes,
        or not UTF-8, is C{bad-item-id}; one of 1023 bytes is kept.
        """
        path = "rooms/lobby/nodes/n/items?id="
        for quoted, problem in [
            ("%00", "U+0000"),
            ("x%1By", "U+001B"),
            ("%EF%BF%BF", "U+FFFF"),
            ("i" * 1024, "1024 bytes long"),
            ("%FF", "UTF-8"),
        ]:
            message = await self.assertError(
                "POST", path + quoted, 400, "bad-item-id", data=b"<a/>", headers=XML
            )
            self.assertIn(problem, message)
        self.assertEqual([], self.fake.calls)
        body = await self.request("POST", path + "i" * 1023, 201, data=b"<a/>", headers=XML)
        self.assertEqual("i" * 1023, body["id"])


class QuotaTests(APITestsMixin, unittest.TestCase):
    """
    The quotas of the room's MEP service (C{[pubsub]}) hold for events the
    API publishes: 507 with the model's text.
    """

    settings = {"pubsubMaxNodes": 1, "pubsubMaxBytes": 1024}

    async def test_quotas(self):
        """
        A second node, or a payload past C{max_bytes}, is 507
        C{quota-exceeded} naming the setting; nothing is stored.
        """
        await self.running.createRoom("lobby")
        await self.request("POST", "rooms/lobby/nodes/a/items", 201, data=b"<a/>", headers=XML)
        message = await self.assertError(
            "POST", "rooms/lobby/nodes/b/items", 507, "quota-exceeded",
            data=b"<b/>", headers=XML,
        )
        self.assertIn("[pubsub] max_nodes", message)
        message = await self.assertError(
            "POST", "rooms/lobby/nodes/a/items", 507, "quota-exceeded",
            data=b"<a>" + b"x" * 1024 + b"</a>", headers=XML,
        )
        self.assertIn("[pubsub] max_bytes", message)
        self.assertEqual(
            [{"node": "a", "items": 1}],
            (await self.request("GET", "rooms/lobby/nodes", 200))["nodes"],
        )


class ExposureTests(APITestsMixin, unittest.TestCase):
    """
    DNS rebinding and cross-site requests: a C{Host} that does not name
    this server is 421, a write from another C{Origin} 403; the upload
    resource beside the API keeps answering other origins (XEP-0363).
    """

    settings = {"uploadPublicURL": "https://xmpp.example.org", "domain": "example.test"}

    def host(self):
        return f"127.0.0.1:{self.running.httpPort}"

    async def test_forgedHost(self):
        """
        A name that is not the server's (what a page of a rebinding domain
        sends) is 421, for reads and writes, before anything is done.
        """
        alice = await self.running.createAccount("alice")
        for host in [
            "evil.example",
            f"evil.example:{self.running.httpPort}",
            "localhost.evil.example",
            "example.org",
            "",
            "[::1",
        ]:
            headers = {"Host": [host]}
            message = await self.assertError(
                "GET", "rooms", 421, "misdirected-request", headers=headers
            )
            self.assertIn(repr(host), message)
            await self.assertError("POST", "reset", 421, "misdirected-request", headers=headers)
        self.assertEqual([alice.jid.user], await self.running.server.users.listUsers())

    async def test_ownHosts(self):
        """
        Loopback names and addresses, other addresses (no DNS involved),
        the server's domain (C{example.test} here) and the host of
        C{[upload] public_url} pass, with or without port.
        """
        port = self.running.httpPort
        for host in [
            f"localhost:{port}",
            "LOCALHOST.",
            f"app.localhost:{port}",
            "127.0.0.1",
            f"[::1]:{port}",
            "192.0.2.7:80",
            f"example.test:{port}",
            "xmpp.example.org",
        ]:
            self.assertEqual(
                {"rooms": []},
                await self.request("GET", "rooms", 200, headers={"Host": [host]}),
            )

    async def test_crossOriginWrite(self):
        """
        A POST whose C{Origin} is another site's, or C{null}, is 403 and
        changes nothing; a GET from another origin is answered (a browser
        shows the page nothing without CORS headers); the API's own
        origins may write.
        """
        alice = await self.running.createAccount("alice")
        for origin in [
            "http://evil.example",
            f"http://evil.example:{self.running.httpPort}",
            f"http://127.0.0.1:{self.running.httpPort + 1}",
            "null",
            "https://xmpp.example.org.evil.example",
        ]:
            message = await self.assertError(
                "POST", "reset", 403, "cross-origin", headers={"Origin": [origin]}
            )
            self.assertIn(repr(origin), message)
            await self.assertError(
                "POST", "rooms/lobby/nodes/n/items", 403, "cross-origin",
                data=b"<a/>", headers={"Origin": [origin], **XML},
            )
        self.assertEqual([alice.jid.user], await self.running.server.users.listUsers())
        self.assertEqual(
            {"rooms": []},
            await self.request("GET", "rooms", 200, headers={"Origin": ["http://evil.example"]}),
        )
        self.assertIsNone(self.response.headers.getRawHeaders(b"access-control-allow-origin"))
        for origin in [f"http://{self.host()}", "https://xmpp.example.org"]:
            self.assertEqual(
                {"reset": True},
                await self.request("POST", "reset", 200, headers={"Origin": [origin]}),
            )

    async def test_uploadAnswersOtherOrigins(self):
        """
        The upload resource under C{/upload/} is not the API: a PUT from
        another origin, with any C{Host}, stores the file, with
        C{Access-Control-Allow-Origin: *} (XEP-0363 section 5).
        """
        uploads = self.running.server.uploads
        slot = uploads.requestSlot(
            jid.JID(f"alice@{self.running.domain}/web"), "a.txt", "2", "text/plain"
        )
        response = await self.http.put(
            self.running.uploadURL + f"{slot.token}/a.txt",
            data=b"hi",
            headers={
                "Origin": ["http://evil.example"],
                "Host": ["files.example"],
                "Content-Type": ["text/plain"],
            },
        )
        await response.content()
        self.assertEqual(201, response.code)
        self.assertEqual([b"*"], response.headers.getRawHeaders(b"access-control-allow-origin"))
        self.assertEqual((slot, b"hi"), uploads.download(slot.token, "a.txt"))


class PayloadTests(unittest.SynchronousTestCase):
    """
    L{parsePayload}.
    """

    def test_element(self):
        """
        One element, with whitespace, an XML declaration and comments
        around it, is parsed with its namespaces.
        """
        element = parsePayload(
            b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- c --><a xmlns='urn:a'><b>\xc3\xa9</b></a>\n"
        )
        self.assertEqual(("urn:a", "a"), (element.uri, element.name))
        self.assertEqual("\xe9", str(element.b))
        self.assertEqual("urn:a", element.b.uri)

    def test_refused(self):
        """
        Anything else is an L{APIError} 400.
        """
        for body in [b"", b"  ", b"x", b"<a>", b"<a/><a/>", b"<!DOCTYPE a><a/>", b"<a/>x"]:
            error = self.assertRaises(APIError, parsePayload, body)
            self.assertEqual((400, "bad-payload"), (error.status, error.code))

    def test_notXMLText(self):
        """
        Characters XML 1.0 forbids (section 2.2), raw or as character
        references, in text or attributes, are refused like any other
        malformed payload.
        """
        for body in [
            b"<a>\x00</a>",
            b"<a>&#0;</a>",
            b"<a>\x1b</a>",
            b"<a>&#x1B;</a>",
            "<a>\ufffe</a>".encode(),
            b"<a>&#xFFFE;</a>",
            b"<a>&#xD800;</a>",
            b"<a>\xed\xa0\x80</a>",
            "<a b='\uffff'/>".encode(),
            b"<a>\xff</a>",
        ]:
            error = self.assertRaises(APIError, parsePayload, body)
            self.assertEqual((400, "bad-payload"), (error.status, error.code), body)
        self.assertEqual("\U0001f600\t", str(parsePayload("<a>\U0001f600\t</a>".encode())))


class TokenTests(APITestsMixin, unittest.TestCase):
    """
    With C{[http] token} set, every request needs it as a bearer token.
    """

    settings = {"apiToken": "t0ken"}

    async def test_token(self):
        """
        No token, a wrong one or another scheme is 401 with
        C{WWW-Authenticate}, on known and unknown paths alike; the token
        opens every endpoint.
        """
        for headers in [
            {},
            {"Authorization": ["Bearer wrong"]},
            {"Authorization": ["Basic t0ken"]},
            {"Authorization": ["Bearer"]},
        ]:
            for path in ("rooms", "nowhere"):
                await self.assertError("GET", path, 401, "unauthorized", headers=headers)
                self.assertEqual(
                    [b'Bearer realm="mepserver"'],
                    self.response.headers.getRawHeaders(b"www-authenticate"),
                )
        # The host is checked first: a rebinding page learns nothing more.
        await self.assertError("GET", "rooms", 421, "misdirected-request",
                               headers={"Host": ["evil.example"]})
        good = {"Authorization": ["Bearer t0ken"]}
        self.assertEqual({"rooms": []}, await self.request("GET", "rooms", 200, headers=good))
        self.assertEqual({"reset": True}, await self.request("POST", "reset", 200, headers=good))


class ResetTests(APITestsMixin, unittest.TestCase):
    """
    C{POST /api/reset}: L{mepserver.server.Server.reset}.
    """

    async def test_reset(self):
        """
        The reset closes every client stream and forgets accounts and rooms;
        the server serves again at once.
        """
        running = self.running
        alice = await running.createAccount("alice")
        await running.createRoom("lobby", owner=alice)
        client = await running.connectClient(alice)
        self.assertEqual({"reset": True}, await self.request("POST", "reset", 200))
        error = await client.waitFor(lambda e: e.name == "error")
        self.assertEqual("system-shutdown", error.firstChildElement().name)
        await client.close()
        self.assertEqual(0, len(running.server.streams))
        self.assertEqual([], await running.server.users.listUsers())
        self.assertEqual(0, len(running.server.rooms))
        self.assertEqual({"rooms": []}, await self.request("GET", "rooms", 200))
        again = await running.createAccount("alice")
        await running.connectClient(again)


class ResetSQLiteTests(APITestsMixin, unittest.TestCase):
    """
    C{POST /api/reset} with SQLite storage.
    """

    settings = {"storage": "sqlite"}

    async def test_resetSQLite(self):
        """
        With SQLite, the reset is refused with 409 and nothing changes.
        """
        running = self.running
        alice = await running.createAccount("alice")
        client = await running.connectClient(alice)
        message = await self.assertError("POST", "reset", 409, "reset-not-supported")
        self.assertIn("memory", message)
        self.assertTrue(client.connected)
        self.assertEqual(["alice"], await running.server.users.listUsers())


class MEPEndToEndTests(APITestsMixin, unittest.TestCase):
    """
    C{POST /api/rooms/{room}/nodes/{node}/items} against the real MEP
    service (XEP-0316): an interested occupant gets the room event.
    """

    async def test_roomEvent(self):
        """
        An occupant whose caps carry C{conference-info+notify} joins; the
        API publishes a conference-info event (DESIGN.md section 6); the
        occupant receives it as a headline from the bare room JID, and the
        item is listed.
        """
        running = self.running
        alice = await running.createAccount("alice")
        roomJID = await running.createRoom("lobby", owner=alice)
        caps = CapsClient([NS_CONFERENCE_INFO + "+notify"])
        client = await running.connectClient(alice, "browser")
        await announceCaps(running, client, caps)
        presence = caps.presence(to=f"{roomJID.full()}/Alice")
        presence.addElement(("http://jabber.org/protocol/muc", "x"))
        client.send(presence)
        await client.waitFor(f"/presence[@from='{roomJID.full()}/Alice']")
        # The room may ask about the caps too (answered above): a ping
        # round trip lets that finish.
        await client.ping()
        room = await self.request("GET", "rooms/lobby", 200)
        self.assertEqual([NS_CONFERENCE_INFO], room["occupants"][0]["sessions"][0]["interests"])

        node = quote(NS_CONFERENCE_INFO, safe="")
        body = await self.request(
            "POST", f"rooms/lobby/nodes/{node}/items", 201,
            data=CONFERENCE_INFO.encode(), headers=XML,
        )
        notification = await client.waitFor(
            lambda e: e.name == "message"
            and e.getAttribute("from") == roomJID.full()
            and e.getAttribute("type") == "headline"
        )
        items = notification.event.items
        self.assertEqual(NS_CONFERENCE_INFO, items["node"])
        item = items.item
        self.assertEqual(body["id"], item["id"])
        self.assertEqual(
            (NS_CONFERENCE_INFO, "conference-info"),
            (item.firstChildElement().uri, item.firstChildElement().name),
        )
        listed = await self.request("GET", f"rooms/lobby/nodes/{node}/items", 200)
        self.assertEqual([body["id"]], [i["id"] for i in listed["items"]])
