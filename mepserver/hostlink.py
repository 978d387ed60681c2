# -*- test-case-name: tests.test_hostlink -*-
"""
The link to a host server when mepserver runs as its MUC component: an
external component in the C{jabber:component:accept} namespace (XEP-0114
section 3).

L{HostLink} is the router's default route: every stanza for a domain that
no in-process component serves (the users at the host, their full JIDs,
other services) goes out over the component stream, and the host routes
it; every stanza the host sends in goes to the router, which hands it to
the MUC domain. So the MUC and MEP code is the same in both modes: it only
ever talks to the router.

The handshake is Twisted's (L{component.componentFactory}, a
C{ConnectComponentAuthenticator}); the connection is opened through a
client endpoint (C{[component] connect}), and lost or failed connections
are tried again after an exponential back-off on an injected clock.
wokkel's C{Component} is not used because it connects with the global
reactor's C{connectTCP} (no endpoint, no clock to test with), queues what
is sent while disconnected without bound, and stops for good on a failed
stream initialisation.

Choices the specification leaves open:

  - Stream errors before the handshake completes (section 3: C{conflict},
    C{host-unknown}, C{invalid-namespace}, C{not-authorized}) are logged as
    one line naming the setting to check, and the link tries again with
    back-off: the host's configuration may be fixed without restarting
    mepserver. So is a host that has not completed the handshake within
    L{HANDSHAKE_TIMEOUT} seconds.
  - Nothing is queued while the link is down: the host bounces what its
    users send meanwhile (Prosody: C{remote-server-timeout}, "Component
    unavailable"), and what the rooms send is dropped and counted in the
    log. Rooms, their occupants and their MEP items stay as they are; an
    occupant who left meanwhile is removed as a ghost on the host's first
    error for it (XEP-0045 section 18.1.2).
  - Inside mepserver stanzas are in C{jabber:client}, as on client streams:
    those from the host are moved into it, and those to the host are
    written with C{jabber:client} as the default namespace, so that they
    take the stream's C{jabber:component:accept}.
"""

from __future__ import annotations

import random
from typing import Callable, List, Optional

from twisted.application import service
from twisted.application.internet import backoffPolicy
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import failure
from twisted.words.protocols.jabber import component, error, jid, xmlstream
from twisted.words.xish import domish
from wokkel import generic

from mepserver.namespaces import NS_CLIENT

NS_COMPONENT = component.NS_COMPONENT_ACCEPT

#: What a stream error during the handshake means, and what to check
#: (XEP-0114 section 3); C{{domain}} is the component's domain.
HANDSHAKE_ERRORS = {
    "not-authorized": (
        "the host refused the secret: [component] secret must be the secret "
        "the host has for {domain}"
    ),
    "host-unknown": (
        "the host has no component {domain}: [muc] domain must be the name of "
        "a Component (Prosody) or ejabberd_service host"
    ),
    "conflict": "another component is connected to the host as {domain}",
    "invalid-namespace": (
        "that port does not take components (jabber:component:accept): "
        "[component] connect must be the host's component port"
    ),
    "improper-addressing": "the host did not accept {domain} as the component's name",
}

#: Seconds the host has, once connected, to complete the handshake; past
#: them the connection is dropped and tried again (a port that is not an
#: XMPP server's may never answer the stream header).
HANDSHAKE_TIMEOUT = 30.0

log = Logger()


def defaultBackoff(jitter: Callable[[], float] = random.random) -> Callable[[int], float]:
    """
    The delays between attempts: 1 s after a loss, growing by half with
    each failed attempt in a row, at most 60 s, plus C{jitter()} (up to
    1 s), so that components that lost one host do not all come back at
    the same instant.

    @return: a function of the number of failed attempts in a row.
    """
    return backoffPolicy(initialDelay=1.0, maxDelay=60.0, factor=1.5, jitter=jitter)


def intoClientNamespace(element: domish.Element) -> None:
    """
    Move a stanza from the host into C{jabber:client}, in place: itself
    and each descendant in C{jabber:component:accept} or inheriting it
    (its C{body}, C{subject}, C{error}, ...); elements of other namespaces
    and what they hold are left alone.
    """
    if element.uri == NS_COMPONENT:
        element.uri = NS_CLIENT
    if element.defaultUri == NS_COMPONENT:
        element.defaultUri = NS_CLIENT
        for child in element.elements():
            intoClientNamespace(child)


class HostLink(service.Service):
    """
    The component stream to the host server, kept up while the service
    runs, as the router's default route.

    @ivar domain: the component's domain, the MUC domain (C{[muc] domain}).
    @ivar description: the host's component endpoint description, for the
        log (C{[component] connect}).
    @ivar backoff: the delay in seconds before the next attempt, as a
        function of the number of failed attempts in a row (handshakes
        included); replace it to change the pace.
    @ivar xmlstream: the authenticated stream, or L{None} while there is
        none.
    @ivar failures: the failed attempts since the last handshake that
        succeeded.
    @ivar dropped: stanzas to the host dropped since the link went down.
    """

    def __init__(
        self,
        router,
        domain: str,
        secret: str,
        endpoint,
        description: str,
        clock,
        backoff: Optional[Callable[[int], float]] = None,
    ):
        """
        @param router: the L{mepserver.router.Router} to route for.
        @param endpoint: the L{twisted.internet.interfaces.IStreamClientEndpoint}
            of the host's component port.
        @param clock: the L{twisted.internet.interfaces.IReactorTime} of
            the delays between attempts.
        """
        self.router = router
        self.domain = domain
        self.endpoint = endpoint
        self.description = description
        self.clock = clock
        self.backoff = backoff if backoff is not None else defaultBackoff()
        self.xmlstream: Optional[xmlstream.XmlStream] = None
        self.failures = 0
        self.dropped = 0
        self.factory = component.componentFactory(domain, secret)
        # The endpoint reconnects nothing: this service does, with its
        # back-off. The factory's own start/stop lines are noise.
        self.factory.noisy = False
        self.factory.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, self._connected)
        self.factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, self._authenticated)
        self.factory.addBootstrap(xmlstream.STREAM_END_EVENT, self._ended)
        # The router's side of the link: what the router sends to the
        # default route comes out of the pipe's source, and what is sent
        # into the source is routed.
        self._pipe = generic.XmlPipe()
        self._pipe.source.addObserver("/*", self._toHost)
        self._stream: Optional[xmlstream.XmlStream] = None
        self._streamError: Optional[error.StreamError] = None
        self._attempt: Optional[defer.Deferred] = None
        self._retry = None
        self._handshakeTimeout = None
        self._timedOut = False
        self._waiting: List[defer.Deferred] = []
        self._closed: List[defer.Deferred] = []

    def startService(self):
        """
        Become the router's default route and connect to the host.
        """
        service.Service.startService(self)
        self.router.addRoute(None, self._pipe.sink)
        self._connect()

    def stopService(self):
        """
        Stop trying, close the stream and leave the router.

        @return: a Deferred that fires once the connection is closed.
        """
        service.Service.stopService(self)
        self.router.removeRoute(None, self._pipe.sink)
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._attempt is not None:
            attempt, self._attempt = self._attempt, None
            attempt.cancel()
        for waiting in self._waiting:
            waiting.errback(defer.CancelledError("the link to the host was stopped"))
        self._waiting = []
        stream = self._stream
        if stream is None or stream.transport is None:
            return defer.succeed(None)
        closed = defer.Deferred()
        self._closed.append(closed)
        if self.xmlstream is not None:
            stream.sendFooter()
        stream.transport.loseConnection()
        return closed

    def whenConnected(self) -> defer.Deferred:
        """
        @return: a Deferred that fires once the handshake succeeded: now if
            the link is up, otherwise at the next success.
        """
        if self.xmlstream is not None:
            return defer.succeed(self)
        waiting = defer.Deferred()
        self._waiting.append(waiting)
        return waiting

    # Connecting, and trying again.

    def _connect(self):
        self._retry = None
        self._streamError = None
        self._attempt = attempt = self.endpoint.connect(self.factory)

        def connected(protocol):
            self._attempt = None

        def failed(reason):
            if self._attempt is not attempt:
                # Cancelled by stopService.
                return None
            self._attempt = None
            self._tryAgain(
                "cannot connect to the host server at {where}: {why}",
                why=_describe(reason),
            )

        attempt.addCallbacks(connected, failed)

    def _tryAgain(self, format: str, level: str = "warn", **fields):
        """
        Log why the link is down, in one line saying when the next attempt
        is, and schedule it.
        """
        delay = self.backoff(self.failures)
        self.failures += 1
        getattr(log, level)(
            format + "; trying again in {delay:.1f} s",
            where=self.description,
            domain=self.domain,
            delay=delay,
            **fields,
        )
        if self.running:
            self._retry = self.clock.callLater(delay, self._connect)

    # The stream's life (bootstraps of the factory).

    def _connected(self, stream):
        self._stream = stream
        self._timedOut = False
        stream.addObserver(xmlstream.STREAM_ERROR_EVENT, self._onStreamError)
        self._handshakeTimeout = self.clock.callLater(
            HANDSHAKE_TIMEOUT, self._handshakeTookTooLong, stream
        )

    def _handshakeTookTooLong(self, stream):
        self._handshakeTimeout = None
        self._timedOut = True
        stream.transport.abortConnection()

    def _cancelHandshakeTimeout(self):
        if self._handshakeTimeout is not None:
            if self._handshakeTimeout.active():
                self._handshakeTimeout.cancel()
            self._handshakeTimeout = None

    def _onStreamError(self, reason):
        self._streamError = reason.value

    def _authenticated(self, stream):
        self._cancelHandshakeTimeout()
        self.xmlstream = stream
        self.failures = 0
        stream.addObserver("/*", self._fromHost)
        if self.dropped:
            log.warn(
                "dropped {count} stanzas to the host server while the link was down",
                count=self.dropped,
            )
            self.dropped = 0
        log.info(
            "connected to the host server at {where} as component {domain}",
            where=self.description,
            domain=self.domain,
        )
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(self)

    def _ended(self, reason):
        self._cancelHandshakeTimeout()
        authenticated = self.xmlstream is not None
        self.xmlstream = None
        self._stream = None
        streamError, self._streamError = self._streamError, None
        closed, self._closed = self._closed, []
        for d in closed:
            d.callback(None)
        if not self.running:
            return
        if authenticated:
            why = _describeStreamError(streamError) if streamError else _describe(reason)
            self._tryAgain("lost the link to the host server at {where}: {why}", why=why)
        elif self._timedOut:
            self._tryAgain(
                "handshake with the host server at {where} as component {domain} "
                "failed: no answer within {timeout:.0f} s ([component] connect must "
                "be the host's component port)",
                level="error",
                timeout=HANDSHAKE_TIMEOUT,
            )
        elif streamError is not None:
            explanation = HANDSHAKE_ERRORS.get(streamError.condition)
            why = _describeStreamError(streamError)
            if explanation is not None:
                why = explanation.format(domain=self.domain) + f" ({why})"
            self._tryAgain(
                "handshake with the host server at {where} as component {domain} "
                "failed: {why}",
                level="error",
                why=why,
            )
        else:
            self._tryAgain(
                "handshake with the host server at {where} as component {domain} "
                "failed: the host closed the connection before answering ({why})",
                level="error",
                why=_describe(reason),
            )

    # Stanzas both ways.

    def _fromHost(self, stanza: domish.Element):
        """
        Route a stanza the host sent: into C{jabber:client}, to the router.
        One for a domain mepserver does not serve (the host routes only the
        component's own) gets C{service-unavailable} back.
        """
        if stanza.name not in ("message", "presence", "iq"):
            return
        intoClientNamespace(stanza)
        try:
            to = jid.internJID(stanza.getAttribute("to", ""))
        except (jid.InvalidFormat, UnicodeError):
            to = None
        if to is None or to.host not in self.router.routes:
            if stanza.getAttribute("type") not in ("error", "result"):
                response = error.StanzaError(
                    "service-unavailable",
                    text=f"this component serves {self.domain} only",
                ).toResponse(stanza)
                response["from"] = self.domain
                self._toHost(response)
            return
        self._pipe.source.send(stanza)

    def _toHost(self, stanza: domish.Element):
        """
        Send a stanza the router has for the host, written in the stream's
        namespace; drop it while the link is down. One whose C{from} is
        not of the component's domain is dropped too: a host such as
        Prosody closes the whole stream for it (XEP-0114 section 3: the
        domain of every C{from} must be the component's).
        """
        stream = self.xmlstream
        if stream is None:
            if not self.dropped:
                log.warn(
                    "not connected to the host server: dropping stanzas to it "
                    "until the link is back (first to {to})",
                    to=stanza.getAttribute("to"),
                )
            self.dropped += 1
            return
        sender = stanza.getAttribute("from")
        if sender is None:
            stanza["from"] = self.domain
        elif _host(sender) != self.domain:
            log.error(
                "not sending a {name} from {sender} to the host server: only "
                "addresses of {domain} may send through it",
                name=stanza.name,
                sender=sender,
                domain=self.domain,
            )
            return
        stream.send(stanza.toXml(defaultUri=NS_CLIENT))


def _host(address: str) -> Optional[str]:
    try:
        return jid.internJID(address).host
    except (jid.InvalidFormat, UnicodeError):
        return None


def _describeStreamError(streamError: error.StreamError) -> str:
    """
    A stream error as C{condition: text}.
    """
    if streamError.text:
        return f"{streamError.condition}: {streamError.text}"
    return streamError.condition


def _describe(reason: failure.Failure) -> str:
    """
    A connection failure or loss in a few words.
    """
    value = reason.value
    text = str(value).strip() or type(value).__name__
    return text.rstrip(".")
