# -*- test-case-name: tests.test_directtls -*-
"""
Direct TLS for client streams (XEP-0368): TLS from the first byte, then
the very stream the STARTTLS port runs.

XEP-0368 section 3 names what the receiving side has to do:

  - the TLS handshake comes before anything else, so the stream header
    arrives encrypted; L{directTLSFactory} wraps the client stream factory
    of the STARTTLS port in Twisted's TLS protocol;
  - certificates are those of STARTTLS (and so is the validation a client
    does): the same L{mepserver.c2s.tls.ServerCertificate}, the same
    L{mepserver.c2s.tls.serverContextFactory} settings (RFC 7590 section
    3.1: TLS 1.2 or later);
  - "STARTTLS MUST NOT be used over direct TLS connections": the transport
    is an L{twisted.internet.interfaces.ISSLTransport}, so the stream
    reports itself secure from the start and L{mepserver.c2s.tls.TLSStep}
    offers nothing; an unrequested C{<starttls/>} gets its
    C{policy-violation} stream error, as after STARTTLS;
  - ALPN (RFC 7301): the protocol is C{xmpp-client}
    (L{mepserver.c2s.tls.alpnSelection}).

Where the XEP leaves room: a client that offers no ALPN is served (ALPN is
a SHOULD for clients, and slixmpp, for one, sends none), and so is a client
whose ALPN list lacks C{xmpp-client}: the server then selects no protocol
instead of ending the handshake with RFC 7301 section 3.2's
C{no_application_protocol} alert, since this port serves nothing but XMPP
and a development server should not turn away a client for its ALPN list.
The server ignores SNI: its one certificate names both domains.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet import ssl
from twisted.internet.interfaces import IProtocolFactory, IReactorTime
from twisted.protocols.tls import TLSMemoryBIOFactory

from mepserver.c2s.tls import serverContextFactory

#: The ALPN protocol id of client streams (XEP-0368 section 7).
ALPN_CLIENT = b"xmpp-client"


def directTLSFactory(
    wrappedFactory: IProtocolFactory,
    certificate: ssl.PrivateCertificate,
    clock: Optional[IReactorTime] = None,
) -> TLSMemoryBIOFactory:
    """
    Serve C{wrappedFactory}'s client streams over direct TLS.

    @param wrappedFactory: the client stream factory, the STARTTLS port's
        L{mepserver.c2s.stream.C2SXmlStreamFactory}.
    @param certificate: the server certificate with its key, the one
        STARTTLS presents.
    @param clock: what schedules the TLS layer's buffered writes; the
        reactor if L{None}. Not the server's clock, which in deterministic
        mode only moves when a test advances it.
    @return: a factory to listen with: TLS options of their own (so the
        STARTTLS port selects no ALPN protocol) selecting L{ALPN_CLIENT}.
    """
    options = serverContextFactory(certificate, alpn=ALPN_CLIENT)
    return TLSMemoryBIOFactory(options, False, wrappedFactory, clock)
