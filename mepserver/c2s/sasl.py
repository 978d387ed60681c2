# -*- test-case-name: tests.test_stream -*-
"""
The receiving entity's SASL step (RFC 6120 section 6).

The mechanisms themselves are in L{mepserver.c2s.mechanisms}; this module
speaks the <auth/>, <challenge/>, <response/>, <abort/>, <success/> and
<failure/> elements around them.
"""

from __future__ import annotations

import base64
import binascii
import functools

from twisted.logger import Logger
from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.sasl import NS_XMPP_SASL
from twisted.words.xish import domish

from mepserver.c2s.mechanisms import Challenge, SASLFailure, Success
from mepserver.stanza import freeze

log = Logger()

#: RFC 6120 section 6.4.5: "a configurable but reasonable number of
#: retries (at least 2 and no more than 5)".
MAX_ATTEMPTS = 5


def decode(element):
    """
    Decode the base64 content of <auth/> or <response/> (RFC 6120 6.4.2).

    @return: the bytes, C{b""} for "=", or L{None} for no content at all.
    @raise SASLFailure: C{incorrect-encoding} for bad base64.
    """
    text = "".join(str(c) for c in element.children if isinstance(c, str)).strip()
    if not text:
        return None
    if text == "=":
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SASLFailure("incorrect-encoding", "the data is not valid base64")


def encode(data):
    """
    Encode challenge or success data; empty data is "=" (RFC 6120 6.4.2).
    """
    if not data:
        return "="
    return base64.b64encode(data).decode("ascii")


@functools.lru_cache(maxsize=16)
def mechanismsFeature(names):
    """
    The <mechanisms/> stream feature offering C{names} (RFC 6120 section
    6.4.1), made once for every stream that offers them.

    @param names: the mechanism names, in the order offered.
    @return: a L{mepserver.stanza.FrozenElement}.
    """
    element = domish.Element((NS_XMPP_SASL, "mechanisms"))
    for name in names:
        element.addElement("mechanism", content=name)
    return freeze(element)


class SASLStep:
    """
    Offer the mechanisms and run one exchange at a time.

    On a transport that cannot start TLS itself (WebSocket, RFC 7395
    section 3.9, where TLS belongs to the HTTP layer), encryption is
    required the way Prosody requires it (C{c2s_require_encryption}): an
    unencrypted stream is offered no mechanism, and an attempt to
    authenticate gets the C{encryption-required} failure (RFC 6120 section
    6.5.4), so that no password crosses the network in the clear. On TCP
    the mandatory STARTTLS step (L{mepserver.c2s.tls.TLSStep}) does this
    before the stream gets here.

    @ivar mechanisms: ordered mapping of mechanism name to a factory of
        L{mepserver.interfaces.IServerMechanism} providers.
    @ivar encryptionRequired: whether to authenticate only over an
        encrypted stream.
    @ivar chosen: the name of the mechanism of the last exchange the
        client started, or L{None} (the inspector shows it once C{done}).
    """

    mandatory = True
    chosen = None

    def __init__(self, authenticator, mechanisms, encryptionRequired=False):
        self.authenticator = authenticator
        self.mechanisms = mechanisms
        self.encryptionRequired = encryptionRequired
        self.current = None
        self.failures = 0
        self.done = False

    def insecure(self):
        """
        @return: whether encryption is required and the stream is not
            encrypted, so that nothing may be authenticated on it.
        """
        return self.encryptionRequired and not self.authenticator.xmlstream.isSecure()

    def feature(self):
        if self.done or self.insecure():
            return None
        return mechanismsFeature(tuple(self.mechanisms))

    def onElement(self, element):
        if element.uri != NS_XMPP_SASL or self.done:
            return False
        if self.insecure():
            failure = domish.Element((NS_XMPP_SASL, "failure"))
            failure.addElement("encryption-required")
            failure.addElement(
                "text",
                content="this server requires encryption before authentication: "
                "connect over TLS (wss:// for WebSocket)",
            )
            self.authenticator.xmlstream.send(failure)
            return True
        try:
            if element.name == "auth":
                self.onAuth(element)
            elif element.name == "response":
                self.onResponse(element)
            elif element.name == "abort":
                self.current = None
                self.fail(SASLFailure("aborted", "authentication aborted"))
            else:
                raise SASLFailure(
                    "malformed-request", f"unexpected <{element.name}/> element"
                )
        except SASLFailure as failure:
            self.current = None
            self.fail(failure)
        return True

    def onAuth(self, element):
        name = element.getAttribute("mechanism")
        if name not in self.mechanisms:
            raise SASLFailure(
                "invalid-mechanism",
                f"mechanism {name!r} is not offered; use one of "
                + ", ".join(self.mechanisms),
            )
        self.current = mechanism = self.mechanisms[name]()
        self.chosen = name
        self.run(mechanism, decode(element))

    def onResponse(self, element):
        if self.current is None:
            raise SASLFailure(
                "malformed-request", "<response/> without an exchange in progress"
            )
        data = decode(element)
        self.run(self.current, b"" if data is None else data)

    def run(self, mechanism, data):
        d = mechanism.step(data)
        d.addCallbacks(self.stepped, self.stepFailed, callbackArgs=(mechanism,))
        d.addErrback(lambda f: log.failure("SASL step", f))

    def stepped(self, result, mechanism):
        xs = self.authenticator.xmlstream
        if xs.closing or mechanism is not self.current:
            return
        if isinstance(result, Challenge):
            # Written as text: base64 needs no escaping, and the element
            # declares its namespace, as a WebSocket message must.
            xs.send(f"<challenge xmlns='{NS_XMPP_SASL}'>{encode(result.data)}</challenge>")
            return
        assert isinstance(result, Success)
        self.current = None
        self.done = True
        if result.additionalData:
            success = f"<success xmlns='{NS_XMPP_SASL}'>{encode(result.additionalData)}</success>"
        else:
            success = f"<success xmlns='{NS_XMPP_SASL}'/>"
        self.authenticator.authenticated(result.username)
        xs.send(success)
        # RFC 6120 6.4.6: the stream restarts after <success/>.
        self.authenticator.restartStream()

    def stepFailed(self, failure):
        failure.trap(SASLFailure)
        if self.authenticator.xmlstream.closing:
            return
        self.current = None
        self.fail(failure.value)

    def fail(self, failure):
        xs = self.authenticator.xmlstream
        element = domish.Element((NS_XMPP_SASL, "failure"))
        element.addElement(failure.condition)
        if failure.text:
            element.addElement("text", content=failure.text)
        xs.send(element)
        self.failures += 1
        if self.failures >= MAX_ATTEMPTS:
            xs.sendStreamError(
                error.StreamError(
                    "policy-violation",
                    text=f"too many failed authentication attempts ({MAX_ATTEMPTS})",
                )
            )
