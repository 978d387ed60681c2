# -*- test-case-name: tests.test_directtls -*-
"""
Tests for L{mepserver.c2s.directtls}: the direct TLS factory (XEP-0368)
and its ALPN selection (section 3, RFC 7301), with handshakes in memory
over L{twisted.test.iosim}; tests/e2e/test_directtls.py runs the real port.
"""

from twisted.internet import ssl
from twisted.internet.protocol import Factory, ServerFactory
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from mepserver.c2s.directtls import ALPN_CLIENT, directTLSFactory
from mepserver.c2s.tls import generateCertificate
from tests.test_tls import DOMAINS, Recorder


def handshake(serverFactory, clientOptions, clock):
    """
    Connect a Twisted TLS client to a protocol of C{serverFactory} in
    memory, and send one message each way.

    @param serverFactory: a factory whose C{wrappedFactory} makes
        L{Recorder}s.
    @param clock: the L{Clock} of C{serverFactory}.
    @return: the client and server L{Recorder}s.
    """
    client = Recorder(b"hello from client")
    clientFactory = TLSMemoryBIOFactory(
        clientOptions, True, Factory.forProtocol(lambda: client), clock
    )
    _, serverProtocol, pump = connectedServerAndClient(
        lambda: serverFactory.buildProtocol(None),
        lambda: clientFactory.buildProtocol(None),
        clock=clock,
    )
    pump.flush()
    return client, serverProtocol.wrappedProtocol


class DirectTLSFactoryTests(SynchronousTestCase):
    """
    L{directTLSFactory}: the STARTTLS certificate and settings, plus ALPN
    C{xmpp-client}, around the client stream factory.
    """

    def setUp(self):
        certificatePEM, keyPEM = generateCertificate(DOMAINS)
        self.certificate = ssl.PrivateCertificate.loadPEM(certificatePEM + keyPEM)
        self.trustRoot = ssl.Certificate.loadPEM(certificatePEM)

    def test_wraps(self):
        """
        The result is a server-side L{TLSMemoryBIOFactory} around the given
        factory.
        """
        wrapped = ServerFactory()
        factory = directTLSFactory(wrapped, self.certificate)
        self.assertIsInstance(factory, TLSMemoryBIOFactory)
        self.assertIs(wrapped, factory.wrappedFactory)

    def test_alpn(self):
        """
        A client that offers C{xmpp-client} gets it, over a certificate it
        verifies for the domain; a client that offers other protocols, or
        none, completes the handshake with none selected.
        """
        self.assertEqual(b"xmpp-client", ALPN_CLIENT)
        clock = Clock()
        factory = directTLSFactory(
            Factory.forProtocol(lambda: Recorder(b"hello from server")),
            self.certificate,
            clock,
        )
        for offered, expected in (
            ([b"xmpp-client"], b"xmpp-client"),
            ([b"h2", b"xmpp-client"], b"xmpp-client"),
            ([b"h2", b"http/1.1"], None),
            ([b"xmpp-server"], None),
            (None, None),
        ):
            clientOptions = ssl.optionsForClientTLS(
                "localhost", trustRoot=self.trustRoot, acceptableProtocols=offered
            )
            client, server = handshake(factory, clientOptions, clock)
            self.assertEqual(b"hello from server", client.received, offered)
            self.assertEqual(b"hello from client", server.received, offered)
            self.assertEqual(expected, client.transport.negotiatedProtocol, offered)
            self.assertEqual(expected, server.transport.negotiatedProtocol, offered)
