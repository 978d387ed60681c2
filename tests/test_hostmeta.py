# -*- test-case-name: tests.test_hostmeta -*-
"""
Tests for L{mepserver.c2s.hostmeta}: the XEP-0156 host-meta resources,
requested in memory with treq's L{StubTreq} (no sockets), and the URL they
name; tests/e2e/test_hostmeta.py follows the URL to a real WebSocket.
"""

import json
import xml.etree.ElementTree as ET

from treq.testing import StubTreq
from twisted.internet import address
from twisted.trial import unittest
from twisted.web import resource

from mepserver.c2s.hostmeta import REL_WEBSOCKET, webSocketURL, wellKnownResource

NS_XRD = "http://docs.oasis-open.org/ns/xri/xrd-1.0"


class FakeRequest:
    """
    The parts of a L{twisted.web.server.Request} that L{webSocketURL} reads.
    """

    def __init__(self, host=None, secure=False, listener=None):
        self.headers = {} if host is None else {"host": host}
        self.secure = secure
        self.listener = listener or address.IPv4Address("TCP", "127.0.0.1", 5280)

    def getHeader(self, name):
        return self.headers.get(name.lower())

    def isSecure(self):
        return self.secure

    def getHost(self):
        return self.listener


class WebSocketURLTests(unittest.SynchronousTestCase):
    """
    L{webSocketURL}: the endpoint as the request reached the server.
    """

    def test_hostHeader(self):
        """
        The host and port come from the C{Host} header, as the client wrote
        them (lowercased), whatever address the listener has.
        """
        for host in ("localhost:5280", "127.0.0.1:5280", "[::1]:5280", "Chat.Example.org"):
            self.assertEqual(
                f"ws://{host.lower()}/xmpp-websocket",
                webSocketURL(FakeRequest(host), "/xmpp-websocket"),
            )

    def test_scheme(self):
        """
        A request over TLS gets C{wss}, a plain one C{ws}.
        """
        self.assertEqual(
            "wss://example.org/ws", webSocketURL(FakeRequest("example.org", True), "/ws")
        )
        self.assertEqual(
            "ws://example.org/ws", webSocketURL(FakeRequest("example.org", False), "/ws")
        )

    def test_listenerAddress(self):
        """
        Without a C{Host} header (HTTP/1.0), or with one that is not a host
        and an optional port, the listener's address is used.
        """
        for host in (None, "", "a b", "evil/path", "x:y", "host:5280/", "<x>"):
            self.assertEqual(
                "ws://127.0.0.1:5280/xmpp-websocket",
                webSocketURL(FakeRequest(host), "/xmpp-websocket"),
                host,
            )
        listener = address.IPv6Address("TCP", "::1", 5281)
        self.assertEqual(
            "wss://[::1]:5281/xmpp-websocket",
            webSocketURL(FakeRequest(None, True, listener), "/xmpp-websocket"),
        )


class HostMetaResourceTests(unittest.TestCase):
    """
    C{/.well-known/host-meta} and C{host-meta.json} (XEP-0156 section 3).
    """

    def setUp(self):
        root = resource.Resource()
        root.putChild(b".well-known", wellKnownResource("/xmpp-websocket"))
        self.treq = StubTreq(root)

    async def get(self, url, method="GET"):
        """
        @return: the response and its body.
        """
        response = await self.treq.request(method, url)
        return response, await response.content()

    async def test_xrd(self):
        """
        C{host-meta} is an XRD document (C{application/xrd+xml}) with one
        link, the WebSocket endpoint under C{urn:xmpp:alt-connections:
        websocket}, readable from any origin (section 4).
        """
        response, body = await self.get("http://localhost:5280/.well-known/host-meta")
        self.assertEqual(200, response.code)
        self.assertEqual(
            [b"application/xrd+xml"], response.headers.getRawHeaders(b"content-type")
        )
        self.assertEqual([b"*"], response.headers.getRawHeaders(b"access-control-allow-origin"))
        self.assertTrue(body.startswith(b"<?xml version='1.0' encoding='utf-8'?>"))
        root = ET.fromstring(body)
        self.assertEqual(f"{{{NS_XRD}}}XRD", root.tag)
        links = [(link.get("rel"), link.get("href")) for link in root]
        self.assertEqual(
            [("urn:xmpp:alt-connections:websocket", "ws://localhost:5280/xmpp-websocket")],
            links,
        )
        self.assertEqual([f"{{{NS_XRD}}}Link"], [link.tag for link in root])

    async def test_jrd(self):
        """
        C{host-meta.json} is the same in JRD (C{application/json}), also
        readable from any origin; over TLS the URL is C{wss}.
        """
        response, body = await self.get("https://example.org/.well-known/host-meta.json")
        self.assertEqual(200, response.code)
        self.assertEqual(
            [b"application/json"], response.headers.getRawHeaders(b"content-type")
        )
        self.assertEqual([b"*"], response.headers.getRawHeaders(b"access-control-allow-origin"))
        self.assertEqual(
            {"links": [{"rel": REL_WEBSOCKET, "href": "wss://example.org/xmpp-websocket"}]},
            json.loads(body),
        )

    async def test_noBOSH(self):
        """
        There is no BOSH endpoint, so no C{xbosh} link.
        """
        for path in ("host-meta", "host-meta.json"):
            _, body = await self.get(f"http://localhost/.well-known/{path}")
            self.assertNotIn(b"xbosh", body)

    async def test_head(self):
        """
        C{HEAD} gets the headers without the body.
        """
        response, body = await self.get(
            "http://localhost/.well-known/host-meta", method="HEAD"
        )
        self.assertEqual(200, response.code)
        self.assertEqual([b"*"], response.headers.getRawHeaders(b"access-control-allow-origin"))
        self.assertEqual(b"", body)

    async def test_otherMethods(self):
        """
        Other methods get 405, with the methods that are allowed.
        """
        response, _ = await self.get(
            "http://localhost/.well-known/host-meta", method="POST"
        )
        self.assertEqual(405, response.code)
        self.assertEqual([b"GET, HEAD"], response.headers.getRawHeaders(b"allow"))

    async def test_corsOnlyOnHostMeta(self):
        """
        C{Access-Control-Allow-Origin} is limited to the host-meta files
        (section 4): other paths under C{/.well-known/} do not carry it.
        """
        response, _ = await self.get("http://localhost/.well-known/other")
        self.assertEqual(404, response.code)
        self.assertIsNone(response.headers.getRawHeaders(b"access-control-allow-origin"))
