# -*- test-case-name: tests.e2e.test_hostmeta -*-
"""
End-to-end test of XEP-0156 discovery: a client fetches the host-meta of a
server started by L{mepserver.testing.startServer} with treq over real
HTTP, then connects to the WebSocket URL it names (RFC 7395) and logs in.
"""

import base64
import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from treq.client import HTTPClient
from twisted.internet import endpoints, protocol, reactor
from twisted.trial import unittest
from twisted.web.client import Agent, HTTPConnectionPool

from mepserver.testing import startServer
from tests.e2e.test_websocket import (
    NS_BIND,
    NS_FRAMING,
    NS_SASL,
    XMPPWebSocketSession,
    qname,
)
from tests.test_websocket import WebSocketClient

NS_XRD = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
REL_WEBSOCKET = "urn:xmpp:alt-connections:websocket"


class HostMetaDiscoveryTests(unittest.TestCase):
    """
    Discover the WebSocket endpoint, then use it.
    """

    timeout = 30

    async def test_discoverAndConnect(self):
        """
        The XRD and JRD host-meta name the same C{ws://} URL, for the
        address the client used, with C{Access-Control-Allow-Origin: *};
        a WebSocket client that connects to that URL logs in (SASL PLAIN,
        binding) and is served.
        """
        running = await startServer(self)
        account = await running.createAccount("juliet", "r0m30")
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        http = HTTPClient(Agent(reactor, pool=pool))

        response = await http.get(running.hostMetaURL)
        self.assertEqual(200, response.code)
        self.assertEqual(
            [b"application/xrd+xml"], response.headers.getRawHeaders(b"content-type")
        )
        self.assertEqual([b"*"], response.headers.getRawHeaders(b"access-control-allow-origin"))
        xrd = ET.fromstring(await response.content())
        [href] = [
            link.get("href")
            for link in xrd.iter(f"{{{NS_XRD}}}Link")
            if link.get("rel") == REL_WEBSOCKET
        ]
        self.assertEqual(running.webSocketURL, href)

        response = await http.get(running.hostMetaURL + ".json")
        self.assertEqual([b"application/json"], response.headers.getRawHeaders(b"content-type"))
        self.assertEqual([b"*"], response.headers.getRawHeaders(b"access-control-allow-origin"))
        jrd = json.loads(await response.content())
        self.assertEqual([{"rel": REL_WEBSOCKET, "href": href}], jrd["links"])

        url = urlsplit(href)
        self.assertEqual("ws", url.scheme)
        endpoint = endpoints.TCP4ClientEndpoint(reactor, url.hostname, url.port)
        client = await endpoint.connect(
            protocol.Factory.forProtocol(lambda: WebSocketClient(url.path, ["xmpp"]))
        )

        def disconnect():
            if not client.closed.called:
                client.transport.abortConnection()
            return client.closed

        self.addCleanup(disconnect)
        handshake = await client.handshake
        self.assertEqual("xmpp", handshake.subprotocol)
        session = XMPPWebSocketSession(client, running.domain)
        header, features = await session.open()
        self.assertEqual(qname(NS_FRAMING, "open"), header.tag)
        token = base64.b64encode(f"\0juliet\0{account.password}".encode()).decode()
        session.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")
        success = await session.next()
        self.assertEqual(qname(NS_SASL, "success"), success.tag)
        await session.open()
        result = await session.iq(
            "set", "b1", f"<bind xmlns='{NS_BIND}'><resource>web</resource></bind>"
        )
        self.assertEqual("result", result.get("type"))
        self.assertEqual(
            "juliet@localhost/web",
            result.find(f"{qname(NS_BIND, 'bind')}/{qname(NS_BIND, 'jid')}").text,
        )
        session.send(f"<close xmlns='{NS_FRAMING}'/>")
        await client.closed
        self.assertEqual([], session.errors)
