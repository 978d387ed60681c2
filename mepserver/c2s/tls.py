# -*- test-case-name: tests.test_tls -*-
"""
TLS for client streams: the server certificate and the context STARTTLS
uses (RFC 6120 section 5; certificate contents after RFC 6125 and RFC 7590).

Without a configured certificate, mepserver makes a self-signed one for
its domains on first start, stores it in the data directory and reuses it
(DESIGN.md section 3). It is its own trust anchor: a test client points
its CA file at L{ServerCertificate.certificatePath} (by default
L{certificatePaths}C{(dataDir)[0]}) and verifies hostnames as usual.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
from typing import List, Optional, Sequence, Tuple

import OpenSSL
from OpenSSL import SSL
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet import ssl, tcp
from twisted.internet.interfaces import ISSLTransport
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.sasl import NS_XMPP_SASL
from twisted.words.protocols.jabber.xmlstream import NS_XMPP_TLS
from twisted.words.xish import domish
from zope.interface import implementedBy
from zope.interface.declarations import Provides

from mepserver.stanza import freeze

_log = Logger()

# pyOpenSSL 24.3 deprecated handing its own X509 and PKey objects to a
# Context in favour of cryptography's, which older releases don't take.
_OPENSSL_TAKES_CRYPTOGRAPHY = tuple(
    int(part) for part in OpenSSL.__version__.split(".")[:2]
) >= (24, 3)

#: On every connection that starts TLS, Twisted declares C{ISSLTransport}
#: on the TCP transport, and its TLS protocol (the protocol of
#: C{TLSMemoryBIOFactory}; C{makeConnection}) declares each interface the
#: transport then provides, one at a time. zope.interface keeps such
#: declarations in a weak cache, where those no connection holds any more
#: go with the next garbage collection: a STARTTLS after one made them
#: again, computing their resolution orders (some 50 microseconds a
#: login). Holding one of each keeps the cache warm; nothing is changed.
TLS_DECLARATIONS = (Provides(tcp.Server, ISSLTransport),) + tuple(
    Provides(TLSMemoryBIOFactory.protocol, interface)
    for interface in (ISSLTransport, *implementedBy(tcp.Server))
)

CERTIFICATE_VALIDITY = datetime.timedelta(days=3650)
"""
How long a generated certificate is valid.
"""


@dataclasses.dataclass(frozen=True)
class ServerCertificate:
    """
    The certificate the server presents, and where it came from.

    @ivar certificate: the certificate with its private key, for
        L{serverContextFactory}.
    @ivar certificatePath: the PEM certificate file; a client that should
        trust a self-signed certificate uses it as its CA file.
    @ivar keyPath: the PEM key file.
    @ivar generated: whether the certificate was generated just now.
    """

    certificate: ssl.PrivateCertificate
    certificatePath: str
    keyPath: str
    generated: bool = False


class CertificateError(Exception):
    """
    A certificate or key file is unreadable, invalid or doesn't match; the
    message is one line naming the file.
    """


def _sanNames(domains: Sequence[str]) -> List[x509.GeneralName]:
    """
    The subjectAltName entries of a generated certificate: each domain and
    a wildcard under it if it has two labels or more (an IP address as
    itself), then the loopback addresses.
    """
    names: List[x509.GeneralName] = []
    addresses = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    for domain in domains:
        try:
            address = ipaddress.ip_address(domain)
        except ValueError:
            names.append(x509.DNSName(domain))
            # A wildcard over a single label ("*.localhost") is refused by
            # service_identity, which then rejects the whole certificate
            # for every name, and OpenSSL never matches it either.
            if "." in domain:
                names.append(x509.DNSName("*." + domain))
        else:
            if address not in addresses:
                addresses.append(address)
    names.extend(x509.IPAddress(address) for address in addresses)
    return names


def generateCertificate(domains: Sequence[str]) -> Tuple[bytes, bytes]:
    """
    Make a self-signed certificate for C{domains}.

    The key is EC P-256, which is quick to make. The subject's common name
    is the first domain; subjectAltName lists every domain, a wildcard
    under each with two labels or more (C{*.conference.localhost}, but not
    C{*.localhost}: RFC 6125 section 7.2) and the IP addresses 127.0.0.1
    and ::1. The certificate is also a CA (basicConstraints CA=TRUE,
    keyCertSign), so a client can trust it directly, even under OpenSSL's
    strict X.509 checks. It is valid from a day ago (clock skew) for ten
    years, with a random serial number.

    @param domains: the DNS names to serve, first the main one.
    @return: C{(certificatePEM, keyPEM)}; the key is unencrypted PKCS#8.
    @raise ValueError: if C{domains} is empty.
    """
    domains = list(dict.fromkeys(domains))
    if not domains:
        raise ValueError("a certificate needs at least one domain")
    key = ec.generate_private_key(ec.SECP256R1())
    commonName = domains[0] if len(domains[0]) <= 64 else "mepserver"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)])
    now = datetime.datetime.now(datetime.timezone.utc)
    publicKey = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(publicKey)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(_sanNames(domains)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(publicKey), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(publicKey),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certificatePEM = certificate.public_bytes(serialization.Encoding.PEM)
    keyPEM = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificatePEM, keyPEM


def certificatePaths(dataDir: str | os.PathLike) -> Tuple[str, str]:
    """
    Where L{loadOrCreateCertificate} keeps the generated certificate.

    @return: C{(certificatePath, keyPath)}: C{<dataDir>/tls/cert.pem} and
        C{<dataDir>/tls/key.pem}. Clients trust the first.
    """
    directory = os.path.join(os.fspath(dataDir), "tls")
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


def _readFile(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CertificateError(
            f"cannot read TLS {what} {path}: {e.strerror or e}"
        ) from None


def _loadPair(
    certificatePath: str, keyPath: str
) -> Tuple[x509.Certificate, bytes, bytes]:
    """
    Read and check a certificate file and its key file.

    @return: the parsed certificate, the certificate PEM and the key PEM.
    @raise CertificateError: if a file is unreadable or invalid, or the key
        is encrypted or doesn't belong to the certificate.
    """
    certificatePEM = _readFile(certificatePath, "certificate")
    keyPEM = _readFile(keyPath, "key")
    try:
        certificate = x509.load_pem_x509_certificate(certificatePEM)
    except ValueError:
        raise CertificateError(
            f"no valid PEM certificate in {certificatePath}"
        ) from None
    try:
        key = serialization.load_pem_private_key(keyPEM, password=None)
    except TypeError:
        raise CertificateError(
            f"TLS key {keyPath} is encrypted; mepserver needs it unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CertificateError(f"no valid PEM private key in {keyPath}") from None
    publicFormat = (
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    keyPublic = key.public_key().public_bytes(*publicFormat)
    if keyPublic != certificate.public_key().public_bytes(*publicFormat):
        raise CertificateError(
            f"TLS key {keyPath} does not belong to certificate {certificatePath}"
        )
    return certificate, certificatePEM, keyPEM


def _covers(certificate: x509.Certificate, domains: Sequence[str]) -> bool:
    """
    Whether a stored certificate names all C{domains} and is still valid
    for a day.
    """
    try:
        san = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except x509.ExtensionNotFound:
        return False
    dnsNames = set(san.value.get_values_for_type(x509.DNSName))
    addresses = {str(a) for a in san.value.get_values_for_type(x509.IPAddress)}
    for domain in domains:
        if domain not in dnsNames and domain not in addresses:
            return False
    notAfter = getattr(certificate, "not_valid_after_utc", None)
    if notAfter is None:  # cryptography before 42
        notAfter = certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    tomorrow = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    return notAfter > tomorrow


def _writeFile(path: str, data: bytes, mode: int) -> None:
    """
    Write C{data} to C{path} atomically, the file created with C{mode}.
    """
    temporary = path + ".new"
    if os.path.exists(temporary):
        os.unlink(temporary)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(temporary, path)


def _privateCertificate(certificatePEM: bytes, keyPEM: bytes) -> ssl.PrivateCertificate:
    return ssl.PrivateCertificate.loadPEM(certificatePEM + b"\n" + keyPEM)


def loadOrCreateCertificate(
    dataDir: str | os.PathLike,
    domains: Sequence[str],
    certificatePath: Optional[str] = None,
    keyPath: Optional[str] = None,
) -> ServerCertificate:
    """
    The server certificate: the configured one, or the generated one.

    With C{certificatePath} and C{keyPath}, those files are loaded (the
    first certificate in the file is used; its names are not checked).
    Otherwise the certificate at L{certificatePaths}C{(dataDir)} is used,
    and generated with L{generateCertificate} if it is missing, doesn't
    name all C{domains} (the configuration changed) or expires within a
    day. The key file is written with mode 0600.

    @param dataDir: the server's data directory; created if missing.
    @param domains: the domains to serve, first the main one.
    @param certificatePath: a configured PEM certificate file, or L{None}.
    @param keyPath: its PEM private key file (may be the same file).
    @return: a L{ServerCertificate}; its C{certificatePath} is the file a
        client should trust.
    @raise CertificateError: if a configured file, or a stored one, is
        unreadable or invalid, or the key doesn't match.
    @raise ValueError: if only one of C{certificatePath} and C{keyPath} is
        given.
    """
    if (certificatePath is None) != (keyPath is None):
        raise ValueError("give both a certificate and a key path, or neither")
    if certificatePath is not None:
        _, certificatePEM, keyPEM = _loadPair(certificatePath, keyPath)
        return ServerCertificate(
            _privateCertificate(certificatePEM, keyPEM), certificatePath, keyPath
        )

    certificatePath, keyPath = certificatePaths(dataDir)
    if os.path.exists(certificatePath) and os.path.exists(keyPath):
        certificate, certificatePEM, keyPEM = _loadPair(certificatePath, keyPath)
        if _covers(certificate, domains):
            return ServerCertificate(
                _privateCertificate(certificatePEM, keyPEM), certificatePath, keyPath
            )

    certificatePEM, keyPEM = generateCertificate(domains)
    os.makedirs(os.path.dirname(certificatePath), mode=0o700, exist_ok=True)
    _writeFile(keyPath, keyPEM, 0o600)
    _writeFile(certificatePath, certificatePEM, 0o644)
    _log.info(
        "Generated a self-signed TLS certificate for {domains} in {path}",
        domains=", ".join(domains),
        path=certificatePath,
    )
    return ServerCertificate(
        _privateCertificate(certificatePEM, keyPEM),
        certificatePath,
        keyPath,
        generated=True,
    )


def alpnSelection(protocol: Optional[bytes] = None):
    """
    An ALPN selection callback (RFC 7301 section 3.2) for a server context.

    @param protocol: the one protocol id this port speaks, or L{None}.
    @return: a callback choosing C{protocol} when the client offers it, and
        otherwise no protocol, the handshake going on without ALPN
        (pyOpenSSL's C{NO_OVERLAPPING_PROTOCOLS}).
    """

    def select(connection, offered):
        if protocol is not None and protocol in offered:
            return protocol
        return SSL.NO_OVERLAPPING_PROTOCOLS

    return select


def serverContextFactory(
    privateCertificate: ssl.PrivateCertificate, alpn: Optional[bytes] = None
) -> ssl.CertificateOptions:
    """
    The TLS server options for client streams: TLS 1.2 or later (RFC 7590
    section 3.1), Twisted's default cipher suites, no client certificates,
    and ALPN as L{alpnSelection} chooses.

    Twisted (26.10) installs an ALPN selection on every server context,
    which, without protocols of its own, fails the handshake with an
    C{internal_error} alert as soon as a client offers any ALPN protocol;
    L{alpnSelection} replaces it on the options' (cached) context.

    @param privateCertificate: the C{certificate} of a L{ServerCertificate}.
    @param alpn: the ALPN protocol id to select when offered: none for
        STARTTLS, C{xmpp-client} for direct TLS (XEP-0368).
    @return: options to pass to C{transport.startTLS}.
    """
    certificate = privateCertificate.original
    privateKey = privateCertificate.privateKey.original
    if _OPENSSL_TAKES_CRYPTOGRAPHY:
        certificate = certificate.to_cryptography()
        privateKey = privateKey.to_cryptography_key()
    options = ssl.CertificateOptions(
        privateKey=privateKey,
        certificate=certificate,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
    )
    options.getContext().set_alpn_select_callback(alpnSelection(alpn))
    return options


def _starttls(required: bool):
    element = domish.Element((NS_XMPP_TLS, "starttls"))
    if required:
        element.addElement("required")
    return freeze(element)


#: The answer to <starttls/> (RFC 6120 section 5.4.2.3), as text.
PROCEED = f"<proceed xmlns='{NS_XMPP_TLS}'/>"

#: The STARTTLS stream features (RFC 6120 section 5.3.1), shared by every
#: stream.
STARTTLS = _starttls(False)
STARTTLS_REQUIRED = _starttls(True)


class TLSStep:
    """
    The receiving side of STARTTLS (RFC 6120 section 5.4).

    Offered until the stream is encrypted. When encryption is required it is
    mandatory: nothing else is offered before it (section 5.3.1), and an
    attempt to authenticate first gets the SASL C{encryption-required}
    failure (section 6.5.4).
    """

    def __init__(self, authenticator, contextFactory, required):
        self.authenticator = authenticator
        self.contextFactory = contextFactory
        self.mandatory = required

    def feature(self):
        xs = self.authenticator.xmlstream
        if xs.isSecure() or self.authenticator.username is not None:
            return None
        return STARTTLS_REQUIRED if self.mandatory else STARTTLS

    def onElement(self, element):
        xs = self.authenticator.xmlstream
        if element.uri == NS_XMPP_TLS:
            if element.name != "starttls" or self.feature() is None:
                xs.sendStreamError(
                    error.StreamError(
                        "policy-violation",
                        text="STARTTLS is not available now (TLS is already "
                        "in place, or authentication is done)",
                    )
                )
                return True
            xs.send(PROCEED)
            xs.transport.startTLS(self.contextFactory)
            xs.secure = True
            # Section 5.4.3.3: both sides restart the stream over TLS.
            self.authenticator.restartStream()
            return True
        if self.mandatory and element.uri == NS_XMPP_SASL and self.feature():
            failure = domish.Element((NS_XMPP_SASL, "failure"))
            failure.addElement("encryption-required")
            failure.addElement(
                "text", content="use STARTTLS before authenticating"
            )
            xs.send(failure)
            return True
        return False
