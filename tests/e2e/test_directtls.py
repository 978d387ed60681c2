# -*- test-case-name: tests.e2e.test_directtls -*-
"""
End-to-end tests of direct TLS (XEP-0368) on the port
L{mepserver.testing.RunningServer.directTLSPort}: a raw TLS client that
verifies the test certificate and speaks XML by hand, and slixmpp, an
independent client library, in a subprocess.
"""

import base64

from twisted.internet import endpoints, reactor, ssl
from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixrun import runScenario
from tests.e2e.test_c2s import HEADER, RawClient, serverNoDelay

NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"


class RawDirectTLSTests(unittest.TestCase):
    """
    A client that speaks TLS from its first byte, then XMPP by hand.
    """

    timeout = 60

    async def connect(self, running, acceptableProtocols=None):
        """
        Open a TLS connection to the direct TLS port, verifying the server
        certificate for the domain (SNI set to it), optionally offering ALPN
        protocols. It is closed at cleanup.

        @return: the connected L{RawClient}.
        """
        with open(running.certificatePath, "rb") as f:
            trustRoot = ssl.Certificate.loadPEM(f.read())
        options = ssl.optionsForClientTLS(
            running.domain, trustRoot=trustRoot, acceptableProtocols=acceptableProtocols
        )
        endpoint = endpoints.wrapClientTLS(
            options,
            endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", running.directTLSPort),
        )
        raw = await endpoints.connectProtocol(endpoint, RawClient())

        def close():
            if not raw.closed.called:
                raw.transport.abortConnection()
            return raw.closed

        self.addCleanup(close)
        return raw

    async def exchange(self, raw, data, marker):
        """
        Send C{data}, then wait for C{marker}.

        @return: what the server sent since the previous exchange.
        """
        raw.data = b""
        raw.transport.write(data.encode("utf-8"))
        return (await raw.waitFor(marker.encode("utf-8"))).decode("utf-8")

    async def test_login(self):
        """
        After the TLS handshake (certificate verified, ALPN C{xmpp-client}
        selected), the stream header comes first; the features offer SASL,
        PLAIN included since the stream is encrypted, and no STARTTLS
        (XEP-0368 section 3); SASL PLAIN, the restart and binding work and
        the session is served.
        """
        running = await startServer(self)
        account = await running.createAccount("juliet", "r0m30")
        raw = await self.connect(running, [b"xmpp-client"])

        reply = await self.exchange(raw, HEADER, "</stream:features>")
        self.assertEqual(b"xmpp-client", raw.transport.negotiatedProtocol)
        self.assertTrue(reply.startswith("<?xml") or reply.startswith("<stream:stream"), reply)
        self.assertNotIn(NS_TLS, reply)
        self.assertNotIn("starttls", reply)
        self.assertIn("<mechanism>PLAIN</mechanism>", reply)

        token = base64.b64encode(f"\0juliet\0{account.password}".encode()).decode()
        reply = await self.exchange(
            raw,
            f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>",
            "/>",
        )
        self.assertIn("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'", reply)

        reply = await self.exchange(raw, HEADER, "</stream:features>")
        self.assertIn("urn:ietf:params:xml:ns:xmpp-bind", reply)
        self.assertNotIn("starttls", reply)
        reply = await self.exchange(
            raw,
            "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            "<resource>balcony</resource></bind></iq>",
            "</iq>",
        )
        self.assertIn("<jid>juliet@localhost/balcony</jid>", reply)
        reply = await self.exchange(
            raw,
            "<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "/>",
        )
        self.assertIn("type='result'", reply)
        self.assertIn("id='p1'", reply)

        raw.data = b""
        raw.transport.write(b"</stream:stream>")
        closing = (await raw.closed).decode("utf-8")
        self.assertIn("</stream:stream>", closing)

    async def test_noDelay(self):
        """
        A direct TLS connection is sent each write at once
        (C{TCP_NODELAY}), as a STARTTLS one: the option set through the
        TLS layer reaches the TCP connection under it.
        """
        running = await startServer(self)
        raw = await self.connect(running, [b"xmpp-client"])
        await self.exchange(raw, HEADER, "</stream:features>")
        self.assertTrue(serverNoDelay(raw.transport))

    async def test_startTLSRefused(self):
        """
        A C{<starttls/>} on a direct TLS stream is refused with a
        C{policy-violation} stream error saying why: STARTTLS must not be
        used over direct TLS (XEP-0368 section 3).
        """
        running = await startServer(self)
        raw = await self.connect(running)
        await self.exchange(raw, HEADER, "</stream:features>")
        raw.data = b""
        raw.transport.write(f"<starttls xmlns='{NS_TLS}'/>".encode())
        reply = (await raw.closed).decode("utf-8")
        self.assertIn(
            "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", reply
        )
        self.assertIn("TLS is already in place", reply)
        self.assertTrue(reply.endswith("</stream:stream>"), reply)

    async def test_alpn(self):
        """
        ALPN: without an ALPN offer, or with one that lacks C{xmpp-client},
        the handshake still succeeds, with no protocol selected, and the
        stream is served.
        """
        running = await startServer(self)
        for offered in (None, [b"h2", b"http/1.1"]):
            raw = await self.connect(running, offered)
            reply = await self.exchange(raw, HEADER, "</stream:features>")
            self.assertIn("<mechanism>PLAIN</mechanism>", reply)
            self.assertIsNone(raw.transport.negotiatedProtocol, offered)
            raw.transport.write(b"</stream:stream>")
            await raw.closed

    async def test_plaintextRefused(self):
        """
        A client that sends a plaintext stream header to the direct TLS port
        gets no XMPP back: TLS comes first, so the handshake fails and the
        connection closes.
        """
        running = await startServer(self)
        endpoint = endpoints.TCP4ClientEndpoint(
            reactor, "127.0.0.1", running.directTLSPort
        )
        raw = await endpoints.connectProtocol(endpoint, RawClient())
        raw.transport.write(HEADER.encode("utf-8"))
        reply = await raw.closed
        self.assertNotIn(b"stream", reply)

    async def test_off(self):
        """
        With C{directTLSListen="off"}, there is no direct TLS port.
        """
        running = await startServer(self, directTLSListen="off")
        self.assertIsNone(running.directTLSPort)
        self.assertEqual(2, len(running._ports))


class SlixmppDirectTLSTests(unittest.TestCase):
    """
    slixmpp, an independent client library, over direct TLS.
    """

    timeout = 120

    async def test_login(self):
        """
        slixmpp, allowed direct TLS only, verifies the test certificate,
        offers ALPN C{xmpp-client} and gets it, authenticates with SCRAM,
        binds, gets its roster and pings the server; STARTTLS never comes
        into play.
        """
        running = await startServer(self)
        account = await running.createAccount("alice", "alice-secret")
        settings = {
            "host": "127.0.0.1",
            "port": running.directTLSPort,
            "cafile": running.certificatePath,
            "domain": running.domain,
            "jid": account.jid.userhost(),
            "password": account.password,
        }
        report = await runScenario(self, "slixdirecttls.py", settings)
        self.assertTrue(report["tls"])
        self.assertIn(report["tlsVersion"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual("xmpp-client", report["alpn"])
        self.assertEqual("localhost", report["serverHostname"])
        self.assertEqual("SCRAM-SHA-256", report["mechanism"])
        self.assertTrue(report["jid"].startswith("alice@localhost/"))
        self.assertNotIn("starttls", report["features"])
        self.assertEqual("result", report["rosterType"])
        self.assertTrue(report["pinged"])
