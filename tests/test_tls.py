# -*- test-case-name: tests.test_tls -*-
"""
Tests for L{mepserver.c2s.tls}: the generated certificate, its storage in
the data directory and the server TLS options (RFC 6120 section 5).

Handshakes run in memory: Python's C{ssl} through memory BIOs, and
Twisted's TLS over L{twisted.test.iosim}, so no sockets are opened.
"""

import datetime
import ipaddress
import os
import ssl as stdlibssl
import stat

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import ssl
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from mepserver.c2s.tls import (
    CertificateError,
    certificatePaths,
    generateCertificate,
    loadOrCreateCertificate,
    serverContextFactory,
)

DOMAINS = ["localhost", "conference.localhost"]


def _notAfter(certificate):
    return getattr(certificate, "not_valid_after_utc", None) or (
        certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    )


def _notBefore(certificate):
    return getattr(certificate, "not_valid_before_utc", None) or (
        certificate.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    )


def stdlibHandshake(serverOptions, cafile, serverHostname, maximumVersion=None):
    """
    Run a TLS handshake and one message from Python's C{ssl} client to a
    pyOpenSSL server using C{serverOptions}, in memory.

    The client trusts C{cafile} only, checks the hostname and applies
    OpenSSL's strict X.509 checks (Python 3.13's default).

    @return: the negotiated TLS version and the bytes the server received.
    @raise ssl.SSLError: if the client rejects the handshake.
    """
    context = stdlibssl.create_default_context(cafile=cafile)
    context.verify_flags |= stdlibssl.VERIFY_X509_STRICT
    if maximumVersion is not None:
        context.maximum_version = maximumVersion
    incoming, outgoing = stdlibssl.MemoryBIO(), stdlibssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname=serverHostname)
    server = SSL.Connection(serverOptions.getContext(), None)
    server.set_accept_state()

    def pump():
        data = outgoing.read()
        if data:
            server.bio_write(data)
        try:
            server.do_handshake()
        except SSL.WantReadError:
            pass
        try:
            incoming.write(server.bio_read(65536))
        except SSL.WantReadError:
            pass

    for _ in range(10):
        try:
            client.do_handshake()
            break
        except stdlibssl.SSLWantReadError:
            pump()
    else:
        raise AssertionError("the handshake did not finish")
    client.write(b"<stream:stream>")
    pump()
    return client.version(), server.recv(1024)


class Recorder(Protocol):
    """
    Records what it receives and how the connection ended.
    """

    def __init__(self, greeting=b""):
        self.greeting = greeting
        self.received = b""
        self.lostReason = None

    def connectionMade(self):
        if self.greeting:
            self.transport.write(self.greeting)

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lostReason = reason


def twistedHandshake(serverOptions, clientOptions):
    """
    Connect a Twisted TLS client and server in memory and send one message
    each way.

    @return: the client and server L{Recorder}s.
    """
    clock = Clock()
    client, server = Recorder(b"hello from client"), Recorder(b"hello from server")
    serverFactory = TLSMemoryBIOFactory(
        serverOptions, False, Factory.forProtocol(lambda: server), clock
    )
    clientFactory = TLSMemoryBIOFactory(
        clientOptions, True, Factory.forProtocol(lambda: client), clock
    )
    _, _, pump = connectedServerAndClient(
        lambda: serverFactory.buildProtocol(None),
        lambda: clientFactory.buildProtocol(None),
        clock=clock,
    )
    pump.flush()
    return client, server


class GenerateCertificateTests(SynchronousTestCase):
    """
    Tests for L{generateCertificate}.
    """

    def setUp(self):
        self.certificatePEM, self.keyPEM = generateCertificate(DOMAINS)
        self.certificate = x509.load_pem_x509_certificate(self.certificatePEM)

    def test_names(self):
        """
        The common name is the first domain; subjectAltName lists every
        domain, a wildcard under each with two labels or more and the
        loopback addresses.
        """
        self.assertEqual(
            self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME),
            [x509.NameAttribute(NameOID.COMMON_NAME, "localhost")],
        )
        self.assertEqual(self.certificate.issuer, self.certificate.subject)
        san = self.certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        self.assertEqual(
            san.get_values_for_type(x509.DNSName),
            [
                "localhost",
                "conference.localhost",
                "*.conference.localhost",
            ],
        )
        self.assertEqual(
            san.get_values_for_type(x509.IPAddress),
            [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")],
        )

    def test_ipDomain(self):
        """
        A domain that is an IP address is listed as one, without wildcard.
        """
        certificate = x509.load_pem_x509_certificate(
            generateCertificate(["localhost", "192.0.2.1", "localhost"])[0]
        )
        san = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        self.assertEqual(san.get_values_for_type(x509.DNSName), ["localhost"])
        self.assertIn(
            ipaddress.ip_address("192.0.2.1"), san.get_values_for_type(x509.IPAddress)
        )

    def test_noDomains(self):
        """
        A certificate needs a domain.
        """
        self.assertRaises(ValueError, generateCertificate, [])

    def test_authority(self):
        """
        The certificate is its own CA, so a client can trust it directly.
        """
        constraints = self.certificate.extensions.get_extension_for_class(
            x509.BasicConstraints
        )
        self.assertTrue(constraints.critical)
        self.assertTrue(constraints.value.ca)
        usage = self.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        self.assertTrue(usage.key_cert_sign)
        self.assertTrue(usage.digital_signature)
        self.assertEqual(
            list(
                self.certificate.extensions.get_extension_for_class(
                    x509.ExtendedKeyUsage
                ).value
            ),
            [ExtendedKeyUsageOID.SERVER_AUTH],
        )

    def test_keyAndValidity(self):
        """
        The key is EC P-256; the certificate is valid from a day ago for ten
        years; serial numbers are random.
        """
        publicKey = self.certificate.public_key()
        self.assertIsInstance(publicKey, ec.EllipticCurvePublicKey)
        self.assertEqual(publicKey.curve.name, "secp256r1")
        self.assertIn(b"BEGIN PRIVATE KEY", self.keyPEM)
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        self.assertLess(_notBefore(self.certificate), now - day * 0.9)
        self.assertGreater(_notAfter(self.certificate), now + day * 3649)
        other = x509.load_pem_x509_certificate(generateCertificate(DOMAINS)[0])
        self.assertNotEqual(other.serial_number, self.certificate.serial_number)

    def test_stdlibClientTrustsIt(self):
        """
        Python's C{ssl}, with the certificate as its CA file and hostname
        checking on, completes a handshake for "localhost" and the other
        domains, over TLS 1.2 or later.
        """
        cafile = self.mktemp()
        with open(cafile, "wb") as f:
            f.write(self.certificatePEM)
        options = serverContextFactory(
            ssl.PrivateCertificate.loadPEM(self.certificatePEM + self.keyPEM)
        )
        for hostname in (
            "localhost",
            "conference.localhost",
            "pubsub.conference.localhost",
        ):
            version, received = stdlibHandshake(options, cafile, hostname)
            self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
            self.assertEqual(received, b"<stream:stream>")
        version, _ = stdlibHandshake(
            options, cafile, "localhost", stdlibssl.TLSVersion.TLSv1_2
        )
        self.assertEqual(version, "TLSv1.2")

    def test_stdlibClientChecksHostname(self):
        """
        The certificate is refused for a name it doesn't carry.
        """
        cafile = self.mktemp()
        with open(cafile, "wb") as f:
            f.write(self.certificatePEM)
        options = serverContextFactory(
            ssl.PrivateCertificate.loadPEM(self.certificatePEM + self.keyPEM)
        )
        self.assertRaises(
            stdlibssl.SSLCertVerificationError,
            stdlibHandshake,
            options,
            cafile,
            "example.org",
        )

    def test_twistedClientTrustsIt(self):
        """
        A Twisted client using C{optionsForClientTLS} with the certificate
        as trust root completes a handshake, and data flows both ways.
        """
        privateCertificate = ssl.PrivateCertificate.loadPEM(
            self.certificatePEM + self.keyPEM
        )
        clientOptions = ssl.optionsForClientTLS(
            "localhost", trustRoot=ssl.Certificate.loadPEM(self.certificatePEM)
        )
        client, server = twistedHandshake(
            serverContextFactory(privateCertificate), clientOptions
        )
        self.assertEqual(client.received, b"hello from server")
        self.assertEqual(server.received, b"hello from client")
        self.assertIsNone(client.lostReason)

    def test_twistedClientChecksHostname(self):
        """
        A Twisted client expecting another hostname aborts the handshake.
        """
        privateCertificate = ssl.PrivateCertificate.loadPEM(
            self.certificatePEM + self.keyPEM
        )
        clientOptions = ssl.optionsForClientTLS(
            "example.org", trustRoot=ssl.Certificate.loadPEM(self.certificatePEM)
        )
        client, server = twistedHandshake(
            serverContextFactory(privateCertificate), clientOptions
        )
        self.assertEqual(client.received, b"")
        self.assertEqual(server.received, b"")
        self.assertIsNotNone(client.lostReason)
        self.assertTrue(client.lostReason.check(VerificationError))


class LoadOrCreateCertificateTests(SynchronousTestCase):
    """
    Tests for L{loadOrCreateCertificate} and L{certificatePaths}.
    """

    def setUp(self):
        self.dataDir = self.mktemp()
        self.certificatePath, self.keyPath = certificatePaths(self.dataDir)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def write(self, data):
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_paths(self):
        """
        The generated certificate lives in C{<dataDir>/tls/}.
        """
        self.assertEqual(
            certificatePaths("/var/lib/mepserver"),
            ("/var/lib/mepserver/tls/cert.pem", "/var/lib/mepserver/tls/key.pem"),
        )

    def test_firstStart(self):
        """
        On first start the certificate and key are generated and written,
        the directories created and the key readable by the owner only.
        """
        loaded = loadOrCreateCertificate(self.dataDir, DOMAINS)
        self.assertIsInstance(loaded.certificate, ssl.PrivateCertificate)
        self.assertEqual(
            loaded.certificate,
            ssl.Certificate.loadPEM(self.read(self.certificatePath)),
        )
        self.assertEqual(loaded.certificatePath, self.certificatePath)
        self.assertEqual(loaded.keyPath, self.keyPath)
        self.assertTrue(loaded.generated)
        self.assertEqual(stat.S_IMODE(os.stat(self.keyPath).st_mode), 0o600)
        self.assertEqual(
            sorted(os.listdir(os.path.dirname(self.keyPath))), ["cert.pem", "key.pem"]
        )

    def test_reuse(self):
        """
        Later starts reuse the stored certificate.
        """
        loadOrCreateCertificate(self.dataDir, DOMAINS)
        certificatePEM = self.read(self.certificatePath)
        keyPEM = self.read(self.keyPath)
        loaded = loadOrCreateCertificate(self.dataDir, ["localhost"])
        self.assertEqual(self.read(self.certificatePath), certificatePEM)
        self.assertEqual(self.read(self.keyPath), keyPEM)
        self.assertEqual(loaded.certificate, ssl.Certificate.loadPEM(certificatePEM))
        self.assertEqual(loaded.certificatePath, self.certificatePath)
        self.assertFalse(loaded.generated)

    def test_domainsChanged(self):
        """
        A stored certificate that doesn't name every domain is replaced.
        """
        loadOrCreateCertificate(self.dataDir, ["localhost"])
        certificatePEM = self.read(self.certificatePath)
        loaded = loadOrCreateCertificate(self.dataDir, ["localhost", "example.org"])
        self.assertNotEqual(self.read(self.certificatePath), certificatePEM)
        san = x509.load_pem_x509_certificate(
            self.read(self.certificatePath)
        ).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        self.assertIn("example.org", san.value.get_values_for_type(x509.DNSName))
        self.assertEqual(
            loaded.certificate, ssl.Certificate.loadPEM(self.read(self.certificatePath))
        )
        self.assertTrue(loaded.generated)

    def test_missingKey(self):
        """
        A stored certificate without its key is replaced.
        """
        loadOrCreateCertificate(self.dataDir, DOMAINS)
        certificatePEM = self.read(self.certificatePath)
        os.unlink(self.keyPath)
        loadOrCreateCertificate(self.dataDir, DOMAINS)
        self.assertNotEqual(self.read(self.certificatePath), certificatePEM)
        self.assertTrue(os.path.exists(self.keyPath))

    def test_storedCorrupt(self):
        """
        A corrupt stored certificate is reported, not silently replaced.
        """
        loadOrCreateCertificate(self.dataDir, DOMAINS)
        with open(self.certificatePath, "wb") as f:
            f.write(b"garbage")
        error = self.assertRaises(
            CertificateError, loadOrCreateCertificate, self.dataDir, DOMAINS
        )
        self.assertIn(self.certificatePath, str(error))

    def test_configuredFiles(self):
        """
        Configured files are loaded as they are, and nothing is generated.
        """
        certificatePEM, keyPEM = generateCertificate(["example.org"])
        certificatePath, keyPath = self.write(certificatePEM), self.write(keyPEM)
        loaded = loadOrCreateCertificate(
            self.dataDir, DOMAINS, certificatePath, keyPath
        )
        self.assertEqual(loaded.certificate, ssl.Certificate.loadPEM(certificatePEM))
        self.assertEqual(
            (loaded.certificatePath, loaded.keyPath, loaded.generated),
            (certificatePath, keyPath, False),
        )
        self.assertFalse(os.path.exists(self.dataDir))

    def test_configuredCombinedFile(self):
        """
        The certificate and key may share one file.
        """
        certificatePEM, keyPEM = generateCertificate(DOMAINS)
        path = self.write(certificatePEM + keyPEM)
        loaded = loadOrCreateCertificate(self.dataDir, DOMAINS, path, path)
        self.assertEqual(loaded.certificate, ssl.Certificate.loadPEM(certificatePEM))

    def test_configuredMissing(self):
        """
        A missing configured file is named in a one-line error.
        """
        certificatePEM, keyPEM = generateCertificate(DOMAINS)
        keyPath = self.write(keyPEM)
        missing = os.path.abspath(self.mktemp())
        error = self.assertRaises(
            CertificateError,
            loadOrCreateCertificate,
            self.dataDir,
            DOMAINS,
            missing,
            keyPath,
        )
        self.assertIn(missing, str(error))
        self.assertNotIn("\n", str(error))
        certificatePath = self.write(certificatePEM)
        error = self.assertRaises(
            CertificateError,
            loadOrCreateCertificate,
            self.dataDir,
            DOMAINS,
            certificatePath,
            missing,
        )
        self.assertIn(missing, str(error))

    def test_configuredInvalid(self):
        """
        Files without a PEM certificate or key are named in the error.
        """
        certificatePEM, keyPEM = generateCertificate(DOMAINS)
        garbage = self.write(b"-----BEGIN CERTIFICATE-----\nnope\n")
        keyPath, certificatePath = self.write(keyPEM), self.write(certificatePEM)
        for arguments, named in (
            ((garbage, keyPath), garbage),
            ((certificatePath, garbage), garbage),
            ((keyPath, keyPath), keyPath),
            ((certificatePath, certificatePath), certificatePath),
        ):
            error = self.assertRaises(
                CertificateError,
                loadOrCreateCertificate,
                self.dataDir,
                DOMAINS,
                *arguments,
            )
            self.assertIn(named, str(error))
            self.assertNotIn("\n", str(error))

    def test_configuredMismatch(self):
        """
        A key that doesn't belong to the certificate is refused, naming both
        files.
        """
        certificatePath = self.write(generateCertificate(DOMAINS)[0])
        keyPath = self.write(generateCertificate(DOMAINS)[1])
        error = self.assertRaises(
            CertificateError,
            loadOrCreateCertificate,
            self.dataDir,
            DOMAINS,
            certificatePath,
            keyPath,
        )
        self.assertIn(keyPath, str(error))
        self.assertIn(certificatePath, str(error))

    def test_configuredEncryptedKey(self):
        """
        An encrypted key is refused with a clear message.
        """
        certificatePEM, keyPEM = generateCertificate(DOMAINS)
        key = serialization.load_pem_private_key(keyPEM, None)
        encrypted = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        keyPath = self.write(encrypted)
        error = self.assertRaises(
            CertificateError,
            loadOrCreateCertificate,
            self.dataDir,
            DOMAINS,
            self.write(certificatePEM),
            keyPath,
        )
        self.assertIn("encrypted", str(error))
        self.assertIn(keyPath, str(error))

    def test_onePathOnly(self):
        """
        A certificate path without a key path, or the reverse, is an error.
        """
        self.assertRaises(
            ValueError, loadOrCreateCertificate, self.dataDir, DOMAINS, "cert.pem"
        )
        self.assertRaises(
            ValueError,
            loadOrCreateCertificate,
            self.dataDir,
            DOMAINS,
            keyPath="key.pem",
        )

    def test_usableForTLS(self):
        """
        The loaded certificate serves a handshake a client trusting the
        stored file accepts.
        """
        loaded = loadOrCreateCertificate(self.dataDir, DOMAINS)
        options = serverContextFactory(loaded.certificate)
        _, received = stdlibHandshake(options, loaded.certificatePath, "localhost")
        self.assertEqual(received, b"<stream:stream>")


class ServerContextFactoryTests(SynchronousTestCase):
    """
    Tests for L{serverContextFactory}.
    """

    def test_options(self):
        """
        The options are L{ssl.CertificateOptions} allowing no TLS version
        before 1.2.
        """
        certificatePEM, keyPEM = generateCertificate(DOMAINS)
        options = serverContextFactory(
            ssl.PrivateCertificate.loadPEM(certificatePEM + keyPEM)
        )
        self.assertIsInstance(options, ssl.CertificateOptions)
        context = options.getContext()
        self.assertIsInstance(context, SSL.Context)
        for flag in (SSL.OP_NO_SSLv3, SSL.OP_NO_TLSv1, SSL.OP_NO_TLSv1_1):
            self.assertTrue(options._options & flag)
        self.assertFalse(options._options & SSL.OP_NO_TLSv1_2)

    def test_alpn(self):
        """
        A client offering ALPN protocols completes the handshake: without
        C{alpn}, none is selected (Twisted's own selection would fail it
        with an internal error alert); with C{alpn}, that protocol when
        offered, and none otherwise.
        """
        certificatePEM, keyPEM = generateCertificate(DOMAINS)
        privateCertificate = ssl.PrivateCertificate.loadPEM(certificatePEM + keyPEM)
        trustRoot = ssl.Certificate.loadPEM(certificatePEM)
        for alpn, offered, expected in (
            (None, [b"xmpp-client"], None),
            (None, [b"h2", b"http/1.1"], None),
            (b"xmpp-client", [b"h2", b"xmpp-client"], b"xmpp-client"),
            (b"xmpp-client", [b"h2"], None),
        ):
            clientOptions = ssl.optionsForClientTLS(
                "localhost", trustRoot=trustRoot, acceptableProtocols=offered
            )
            client, server = twistedHandshake(
                serverContextFactory(privateCertificate, alpn=alpn), clientOptions
            )
            self.assertEqual(b"hello from server", client.received, (alpn, offered))
            self.assertEqual(b"hello from client", server.received, (alpn, offered))
            self.assertEqual(expected, server.transport.negotiatedProtocol)
