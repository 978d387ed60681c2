# -*- test-case-name: tests.test_stream -*-
"""
The receiving side of client-to-server XML streams (RFC 6120 sections 4-7).

L{C2SXmlStream} is Twisted's XMPP stream with the limits a server needs:
restricted XML (RFC 6120 section 11.1), and what RFC 6120 section 13.12
asks against denial of service: a stanza size and an element depth, a
byte rate per connection (L{InputThrottle}), a deadline for stream
negotiation (section 4.9.3.4), and, in L{StreamRegistry}, a number of
unauthenticated connections per address. L{C2SAuthenticator}
answers the stream header, advertises the stream features and runs the
receiving steps in order: STARTTLS (L{mepserver.c2s.tls}), SASL
(L{mepserver.c2s.sasl}) and resource binding (L{mepserver.c2s.bind}). Once
a resource is bound, it hands every stanza to the session.

The same classes serve RFC 7395 WebSocket connections: only the framing
differs, see L{mepserver.c2s.websocket}.
"""

from __future__ import annotations

import secrets
import sys
from typing import Dict, Optional

from twisted.internet import defer, interfaces
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid, xmlstream
from twisted.words.protocols.jabber.sasl import NS_XMPP_SASL
from twisted.words.xish import domish
from twisted.words.xish import xmlstream as xishstream

from mepserver.namespaces import NS_CLIENT, NS_XML
from mepserver.stanza import (
    DEFAULT_MAX_DEPTH,
    BoundedElementStream,
    FrozenElement,
    TooDeep,
    forLog,
    serializePlain,
)

NS_STREAMS = xmlstream.NS_STREAMS
#: The stream header's name as the parser reports it (namespace, space, name).
STREAM_HEADER = NS_STREAMS + " stream"

log = Logger()


def disableNagle(transport) -> None:
    """
    Send each write of a client connection at once (C{TCP_NODELAY}).

    A server writes a stanza when it is complete, and then waits for the
    client's next request: with Nagle's algorithm, a small write that
    follows one the client has not acknowledged yet waits for that
    acknowledgement, which a client that delays its ACKs sends only after
    a timer (40 ms on Linux, up to 200 ms elsewhere). ejabberd's listeners
    set C{nodelay} too. The option is the socket's, so it holds after
    STARTTLS; a TLS transport (direct TLS) passes it on to the TCP
    connection it wraps. Transports that are not TCP are left alone:
    a WebSocket stream's HTTP connection has the option already, from
    C{twisted.web.http.HTTPChannel}.

    @param transport: the connection's transport.
    """
    if interfaces.ITCPTransport.providedBy(transport):
        transport.setTcpNoDelay(True)


#: The server's stream header on a client stream with the usual namespaces
#: (L{C2SXmlStream.sendHeader}), C{from} and C{id} to fill in.
HEADER_TEMPLATE = (
    f"<stream:stream xmlns:stream='{NS_STREAMS}' xmlns='{NS_CLIENT}'{{}}{{}}"
    " version='1.0' xml:lang='en'>"
)


def _quoted(value: str) -> str:
    """
    @return: C{value} as a quoted attribute value, as domish writes it.
    """
    return "'" + domish.escapeToXml(value, 1) + "'"


class RestrictedXML(Exception):
    """
    The peer sent XML that RFC 6120 section 11.1 forbids on a stream.
    """


class UnexpectedRestart(Exception):
    """
    The peer sent a new stream header inside the open stream.
    """


#: Parsing is deferred while Expat holds more than this many bytes of one
#: unfinished token (see L{C2SXmlStream.dataReceived}).
DEFER_THRESHOLD = 4096

#: Seconds a deferred parse waits at most for more input.
DEFER_DELAY = 0.01

#: The stanza size limit of a stream, unless its factory sets another.
DEFAULT_MAX_STANZA_SIZE = 256 * 1024


def _restricted(what):
    """
    @return: an Expat handler refusing C{what} (RFC 6120 section 11.1);
        made once for every stream's parser.
    """

    def handler(*args):
        raise RestrictedXML(f"{what} are not allowed in XMPP (RFC 6120 11.1)")

    return handler


_REFUSE_COMMENT = _restricted("comments")
_REFUSE_PROCESSING_INSTRUCTION = _restricted("processing instructions")
_REFUSE_DOCTYPE = _restricted("document type declarations")
_REFUSE_ENTITY = _restricted("entity declarations")


def _restrictParser(parser) -> None:
    """
    Make a stream's Expat parser refuse what RFC 6120 section 11.1 forbids,
    and a stream header at the top level of an open stream.

    Expat accepts comments, processing instructions and document type
    declarations (with internal entities); XMPP does not, so each of these
    handlers raises L{RestrictedXML} out of the parse call.
    """
    parser.CommentHandler = _REFUSE_COMMENT
    parser.ProcessingInstructionHandler = _REFUSE_PROCESSING_INSTRUCTION
    parser.StartDoctypeDeclHandler = _REFUSE_DOCTYPE
    parser.EntityDeclHandler = _REFUSE_ENTITY
    parser.SetParamEntityParsing(0)
    parser.StartElementHandler = _refuseRestart(parser.StartElementHandler)


def _refuseRestart(startElement):
    """
    Wrap a parser's start-element handler (the bound method of its
    L{BoundedElementStream}) to refuse a stream header at the top level of
    an open stream.

    A stream restarts only after STARTTLS or SASL success, on a new parser
    (RFC 6120 sections 4.3.3, 5.4.3.3, 6.4.6). Any other <stream:stream>
    start tag would open a first-level element that never ends, swallowing
    every later stanza: the stream would silently stop delivering.
    """
    elementStream = startElement.__self__

    def start(name, attributes):
        if (
            name == STREAM_HEADER
            and elementStream.documentStarted
            and elementStream.currElem is None
        ):
            raise UnexpectedRestart(
                "a new stream header is only allowed right after STARTTLS "
                "or SASL succeeds (RFC 6120 4.3.3); this stream is already open"
            )
        startElement(name, attributes)

    return start


class InputThrottle:
    """
    A per-connection byte rate, enforced by pausing reading, as Prosody's
    C{mod_limits} does: a client over the rate is slowed down, never
    disconnected (RFC 6120 section 13.12; XEP-0205 section 4.7,
    bandwidth limits).

    A token bucket: the connection may send C{burst} seconds' worth of
    bytes at once; past that its reading pauses until the rate has paid
    for what arrived. What already arrived is processed: nothing is held
    back or dropped.

    @ivar bytesPerSecond: the rate.
    @ivar capacity: the bucket's size in bytes (rate times burst).
    @ivar paused: whether reading is paused now.
    """

    def __init__(self, clock, bytesPerSecond: int, burst: float):
        """
        @param clock: the L{interfaces.IReactorTime} to measure with.
        @param bytesPerSecond: the sustained rate.
        @param burst: seconds of the rate the connection may send at once.
        """
        self.clock = clock
        self.bytesPerSecond = bytesPerSecond
        self.capacity = bytesPerSecond * burst
        self._tokens = float(self.capacity)
        self._last = clock.seconds()
        self._producer = None
        self._resumeCall = None

    @property
    def paused(self) -> bool:
        return self._resumeCall is not None

    def _refill(self) -> None:
        now = self.clock.seconds()
        self._tokens = min(
            self.capacity, self._tokens + (now - self._last) * self.bytesPerSecond
        )
        self._last = now

    def received(self, size: int, producer) -> None:
        """
        Account for C{size} bytes that arrived; pause C{producer} (the
        transport, an L{interfaces.IPushProducer} whose C{pauseProducing}
        stops reading) while the connection is over its rate.
        """
        self._refill()
        self._tokens -= size
        if self._tokens < 0 and self._resumeCall is None:
            self._producer = producer
            producer.pauseProducing()
            self._schedule()

    def _schedule(self) -> None:
        # At least a millisecond, so that the clock moves on and refills.
        self._resumeCall = self.clock.callLater(
            max(-self._tokens / self.bytesPerSecond, 0.001), self._resume
        )

    def _resume(self) -> None:
        self._resumeCall = None
        self._refill()
        if self._tokens <= -1:
            # More arrived while pausing (bytes already read, or decrypted
            # by TLS): wait for the rate to pay for those too.
            self._schedule()
            return
        producer, self._producer = self._producer, None
        producer.resumeProducing()

    def stop(self) -> None:
        """
        The connection is gone: cancel the pending resumption.
        """
        if self._resumeCall is not None:
            self._resumeCall.cancel()
            self._resumeCall = None
        self._producer = None


class C2SXmlStream(xmlstream.XmlStream):
    """
    An XMPP stream accepted from a client, with the server's input limits.

    @ivar maxStanzaSize: the largest number of bytes one stanza (or the
        stream header) may take before the stream is closed with a
        C{policy-violation} stream error (RFC 6120 section 13.12 item 4).
    @ivar maxDepth: the most levels of elements below a stanza; a deeper
        element closes the stream with C{policy-violation} as soon as its
        start tag arrives.
    @ivar throttle: the connection's L{InputThrottle}, or L{None} for no
        byte rate.
    @ivar closing: C{True} once a stream error was sent: from then on no
        input is processed.
    @ivar secure: C{True} once TLS is in place on the transport, be it by
        STARTTLS or because the transport itself is encrypted.
    """

    namespace = NS_CLIENT
    initiating = False
    #: The level of stanzas in the parser's documents: children of the
    #: stream header.
    stanzaLevel = 1
    #: Whether a bound stream lets go of its Expat parser between stanzas
    #: (L{BoundedElementStream.release}), to build one again when the next
    #: data arrives.
    releaseParser = True
    #: Whether the stream writes what it sends as children of its header,
    #: in the header's namespace context, so that text kept for
    #: <stream:features/> can stand for the element
    #: (L{C2SAuthenticator.featuresText}).
    childrenOfHeader = True

    # Twisted's stream classes keep their attributes in an instance
    # dictionary, and CPython 3.11 stores such attributes compactly, in an
    # array along the object, only while the names fit the class's shared
    # key table: about 30 names, and each new object leaves less room for
    # names first set later in an object's life. Past that, every stream
    # carries a full dictionary (some 1.5 kB). So this class keeps its own
    # attributes in slots, and __init__ sets the names Twisted sets later
    # (at the stream header, say) at once, while the table has room.
    #: Whether C{send} serializes an element as Twisted's stream does, as
    #: a child of the stream header in C{namespace} with C{prefixes}: then
    #: a broadcast's text made that way once can be written to the stream
    #: as bytes (L{mepserver.stanza.Broadcast.encodeFor}, L{sendBytes}).
    spliceable = True

    __slots__ = (
        "maxStanzaSize",
        "maxDepth",
        "throttle",
        "closing",
        "secure",
        "registry",
        "countedAddress",
        "_idleCall",
        "_deadlineCall",
        "_held",
        "_heldSize",
        "_flushCall",
        "_watchingErrors",
        "_gathered",
    )

    def __init__(self, authenticator):
        self.maxStanzaSize = DEFAULT_MAX_STANZA_SIZE
        self.maxDepth = DEFAULT_MAX_DEPTH
        #: The connection's L{InputThrottle}, or L{None} for no byte rate.
        self.throttle: Optional[InputThrottle] = None
        self.closing = False
        self.secure = False
        #: The L{StreamRegistry} the stream joined, or L{None}.
        self.registry: Optional[StreamRegistry] = None
        #: The address whose count of unauthenticated connections includes
        #: this stream (L{StreamRegistry}), or L{None}.
        self.countedAddress: Optional[str] = None
        self._idleCall = None
        self._deadlineCall = None
        self._held = None
        self._heldSize = 0
        self._flushCall = None
        self._watchingErrors = False
        self._gathered = None
        # Set by Twisted later, by the factory and at the stream header.
        self.factory = None
        self.connected = 0
        self.transport = None
        self.version = self.version
        self.namespace = self.namespace
        self.sid = None
        self.otherEntity = None
        self._headerSent = False
        xmlstream.XmlStream.__init__(self, authenticator)

    def _initializeStream(self):
        """
        Set up a new parser that rejects what RFC 6120 section 11.1 forbids
        (L{_restrictParser}) and nests no deeper than C{maxDepth} below a
        stanza; a parser built again after L{BoundedElementStream.release}
        gets the same restrictions.
        """
        self._dropHeld()
        self.stream = BoundedElementStream(self.maxDepth, self.stanzaLevel)
        self.stream.DocumentStartEvent = self.onDocumentStart
        self.stream.ElementEvent = self.onElement
        self.stream.DocumentEndEvent = self.onDocumentEnd
        # Twisted 24.10+ has its own per-stanza cap; ours is reported
        # differently (policy-violation) so lift the built-in one above it.
        self.stream.maxStanzaSize = sys.maxsize
        self.stream.configureParser = _restrictParser
        _restrictParser(self.stream.parser)

    def connectionMade(self):
        disableNagle(self.transport)
        xmlstream.XmlStream.connectionMade(self)
        if self.registry is not None:
            self.registry.connected(self)
        self._touch()
        self._startDeadline()

    def connectionLost(self, reason):
        """
        Stop the timers, dispatch C{STREAM_END_EVENT} to the observers, and
        then let the L{StreamRegistry} forget the stream. Called directly
        rather than as observers, these keep no observer on each stream.
        """
        self._stopTimers()
        xmlstream.XmlStream.connectionLost(self, reason)
        if self.registry is not None:
            self.registry.ended(self)

    def _startDeadline(self):
        """
        Start the overall deadline of stream negotiation: RFC 6120 section
        4.9.3.4 lets a server close with C{connection-timeout} a stream
        that does not get anywhere. Unlike the idle timer, input does not
        postpone it, so a client trickling a byte now and then cannot hold
        a connection without ever logging in (Prosody's C{c2s_timeout}).
        Binding a resource (or resuming a session) stops it.
        """
        clock = getattr(self.authenticator, "clock", None)
        timeout = getattr(self.authenticator, "negotiationTimeout", 0)
        if clock is None or not timeout or self.closing:
            return
        self._deadlineCall = clock.callLater(timeout, self._negotiationExpired, timeout)
        self.addOnetimeObserver(xmlstream.STREAM_AUTHD_EVENT, self._stopDeadline)

    def _negotiationExpired(self, timeout):
        self._deadlineCall = None
        if self.authenticator.session is None:
            self.sendStreamError(
                error.StreamError(
                    "connection-timeout",
                    text=f"authentication and resource binding did not finish "
                    f"within {timeout} seconds of connecting",
                )
            )

    def _stopDeadline(self, _=None):
        if self._deadlineCall is not None and self._deadlineCall.active():
            self._deadlineCall.cancel()
        self._deadlineCall = None

    def _touch(self):
        """
        Restart the idle timer: input arrived (or the stream just opened).
        """
        clock = getattr(self.authenticator, "clock", None)
        timeout = getattr(self.authenticator, "idleTimeout", 0)
        if clock is None or not timeout or self.closing:
            return
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.reset(timeout)
        else:
            self._idleCall = clock.callLater(timeout, self._idle)

    def _idle(self):
        """
        Nothing arrived for the idle timeout.

        A stream that is not yet bound is closed with C{connection-timeout}
        (RFC 6120 4.9.3.4). A bound one gets a whitespace keepalive (section
        4.6.1), which surfaces a dead TCP connection as a write error, and
        the timer starts again: idle clients are legitimate.
        """
        self._idleCall = None
        if self.authenticator.session is None:
            self.sendStreamError(
                error.StreamError(
                    "connection-timeout",
                    text="no stream negotiation within the idle timeout",
                )
            )
        else:
            self.send(" ")
            self._touch()

    def _stopTimers(self, reason=None):
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None
        self._stopDeadline()
        self._dropHeld()
        if self.throttle is not None:
            self.throttle.stop()

    def dataReceived(self, data):
        """
        Parse incoming data; turn bad input into the right stream error.

        The bytes count against the connection's L{throttle} first. Then,
        while Expat holds an unfinished token (a start tag) of more than
        L{DEFER_THRESHOLD} bytes, data is held back until as much again
        arrived, or L{DEFER_DELAY} passed: Expat scans the whole unfinished
        token again on every parse call, so a start tag trickled in a
        byte at a time would cost time growing with the square of its size
        (expat 2.6 defers such reparsing itself; Debian 12 has 2.5).
        """
        if self.closing or self.stream is None:
            return
        if self.throttle is not None:
            self.throttle.received(len(data), self.transport)
        self._touch()
        if self._held is not None:
            self._held.append(data)
            self._heldSize += len(data)
            if self._heldSize < self.stream.unfinishedSize:
                return
            data = self._takeHeld()
        if (
            self._gathered is None
            and self.authenticator.session is not None
            and self._gatherer() is None
        ):
            # A bound stream's answers to what it sent (a room's entry: the
            # occupants, the self-presence, the history and the subject)
            # go out in one write (issue 16); with a WriteGatherer, send()
            # gathers until the reactor's pass ends instead.
            self._gathered = []
            try:
                self._parse(data)
            finally:
                self.flush()
        else:
            self._parse(data)
        self._deferIfUnfinished()
        if (
            self.releaseParser
            and self._held is None
            and self.stream is not None
            and self.authenticator.session is not None
        ):
            # Bound and between stanzas: an idle connection keeps no
            # parser (see BoundedElementStream.release).
            self.stream.release()

    def _deferIfUnfinished(self):
        clock = getattr(self.authenticator, "clock", None)
        if (
            clock is None
            or self.closing
            or self.stream is None
            or self.stream.unfinishedSize <= DEFER_THRESHOLD
        ):
            return
        self._held = []
        self._heldSize = 0
        self._flushCall = clock.callLater(DEFER_DELAY, self._flushHeld)

    def _takeHeld(self):
        data = b"".join(self._held)
        self._dropHeld()
        return data

    def _dropHeld(self):
        if self._flushCall is not None and self._flushCall.active():
            self._flushCall.cancel()
        self._flushCall = None
        self._held = None
        self._heldSize = 0

    def _flushHeld(self):
        self._flushCall = None
        data = self._takeHeld()
        if data and not self.closing and self.stream is not None:
            self._parse(data)
            self._deferIfUnfinished()

    def _parse(self, data):
        """
        Parse data, turning a parse error into its stream error.

        RFC 6120 section 4.9.3: malformed XML is C{not-well-formed}, forbidden
        XML constructs are C{restricted-xml}, and a stanza over the size or
        depth limit is C{policy-violation}. Each closes this stream only.
        """
        try:
            if self.rawDataInFn:
                self.rawDataInFn(data)
            self.stream.parse(data)
        except RestrictedXML as e:
            self.sendStreamError(error.StreamError("restricted-xml", text=str(e)))
        except UnexpectedRestart as e:
            self.sendStreamError(
                error.StreamError("unsupported-stanza-type", text=str(e))
            )
        except TooDeep as e:
            self.sendStreamError(error.StreamError("policy-violation", text=str(e)))
        except domish.ParserError as e:
            self.sendStreamError(
                error.StreamError("not-well-formed", text=f"XML parse error: {e}")
            )
        else:
            if self.stream is not None and self.stream.stanzaSize > self.maxStanzaSize:
                self.sendStreamError(
                    error.StreamError(
                        "policy-violation",
                        text=f"stanza larger than {self.maxStanzaSize} bytes",
                    )
                )

    def onElement(self, element):
        """
        Dispatch a complete top-level element, unless the stream is closing.
        """
        if not self.closing:
            xmlstream.XmlStream.onElement(self, element)
            if (
                self._watchingErrors
                and element.name == "error"
                and element.uri == NS_STREAMS
            ):
                # What Twisted's one-time observer of each stream header
                # did, without an observer on every stream.
                self._watchingErrors = False
                self.onStreamError(element)

    def onDocumentStart(self, rootElement):
        """
        The stream header arrived: check its namespaces before anything else.

        Twisted's stream accepts any root element; RFC 6120 section 4.9.3.10
        wants C{invalid-namespace} unless it is <stream:stream/> with the
        content namespace C{jabber:client}.
        """
        if (rootElement.uri, rootElement.name) != (NS_STREAMS, "stream"):
            self.sendStreamError(
                error.StreamError(
                    "invalid-namespace",
                    text="the stream header must be <stream xmlns='%s'>" % NS_STREAMS,
                )
            )
            return
        # Twisted's jabber stream, but for its one-time observer of the
        # peer's stream error: onElement watches for it instead.
        xishstream.XmlStream.onDocumentStart(self, rootElement)
        self._watchingErrors = True
        self.authenticator.streamStarted(rootElement)

    def send(self, obj):
        """
        Send an element, text or UTF-8 bytes, serialized as Twisted's
        stream serializes them, through L{sendBytes}.
        """
        if type(obj) is domish.Element:
            # Most stanzas need no prefix: the plain serializer writes what
            # Twisted's would, faster (issue 16). Subclasses (a Broadcast,
            # a FrozenElement) keep their own toXml.
            text = serializePlain(obj, self.prefixes, self.namespace)
            if text is not None:
                obj = text
        if domish.IElement.providedBy(obj):
            obj = obj.toXml(
                prefixes=self.prefixes,
                defaultUri=self.namespace,
                prefixesInScope=list(self.prefixes.values()),
            )
        if isinstance(obj, str):
            obj = obj.encode("utf-8")
        self.sendBytes(obj)

    def _gatherer(self) -> Optional["WriteGatherer"]:
        """
        @return: the L{WriteGatherer} of the stream's registry, or L{None}.
        """
        registry = self.registry
        return None if registry is None else registry.gatherer

    def flush(self) -> None:
        """
        Write what the stream gathered in one write, and stop gathering: a
        write (a system call) per stanza was a fifth of the cost of
        entering a room, where the newcomer gets four or more stanzas in
        answer to its one presence.
        """
        gathered = self._gathered
        if gathered is None:
            return
        self._gathered = None
        if gathered:
            self.transport.write(gathered[0] if len(gathered) == 1 else b"".join(gathered))

    def onDocumentEnd(self):
        """
        The client closed its stream: close ours too (RFC 6120 section 4.4).
        """
        if not self.closing:
            self.closing = True
            self.sendFooter()
        self.flush()
        self.transport.loseConnection()

    def sendHeader(self, following: Optional[str] = None):
        """
        Send the response stream header with C{xml:lang} (RFC 6120 4.7.4).

        With the usual namespaces (C{jabber:client}, and C{stream} for the
        streams namespace) it is written from a template, as domish would
        write it; otherwise domish writes it with the client's prefixes.

        @param following: text to send right after the header (the stream
            features), in the same write when the header comes from the
            template.
        """
        if self.namespace == NS_CLIENT and self.prefixes == STREAM_PREFIXES:
            self.send(
                HEADER_TEMPLATE.format(
                    (" from=" + _quoted(self.thisEntity.full())) if self.thisEntity else "",
                    (" id=" + _quoted(self.sid)) if self.sid else "",
                )
                + (following or "")
            )
            self._headerSent = True
            return
        root = domish.Element((NS_STREAMS, "stream"), self.namespace)
        if self.thisEntity:
            root["from"] = self.thisEntity.full()
        if self.sid:
            root["id"] = self.sid
        root["version"] = "1.0"
        root[(NS_XML, "lang")] = "en"
        self.send(root.toXml(prefixes=self.prefixes, closeElement=0))
        self._headerSent = True
        if following:
            self.send(following)

    def sendBytes(self, data: bytes) -> None:
        """
        Send UTF-8 text (what C{send} makes of what it is given, or a
        broadcast's copy, L{mepserver.stanza.SplicedText.fill}). A bound
        stream gathers it, in order, until L{flush}: at the end of the
        reactor's pass with its registry's L{WriteGatherer}, else at the
        end of the input it is handling (L{dataReceived}). Before it is
        bound (STARTTLS's <proceed/> precedes startTLS) and once it is
        closing (the error and the end of the stream precede
        loseConnection), it is written at once, after what waits.
        """
        gathered = self._gathered
        if self.closing:
            self.flush()
            gathered = None
        elif gathered is None:
            # (_gatherer, inline: asked of each copy of a broadcast.)
            registry = self.registry
            gatherer = None if registry is None else registry.gatherer
            if gatherer is not None and self.authenticator.session is not None:
                gathered = self._gathered = []
                gatherer.gather(self)
        if self.rawDataOutFn:
            self.rawDataOutFn(data)
        if gathered is None:
            self.transport.write(data)
        else:
            gathered.append(data)

    def sendStreamError(self, streamError):
        """
        Send a stream error and close, once (RFC 6120 section 4.9.1.1).
        """
        if self.closing:
            return
        log.info(
            "Stream error {condition} ({text}) to {peer}",
            condition=streamError.condition,
            text=forLog(streamError.text),
            peer=self.otherEntity,
        )
        self.closing = True
        # What was gathered goes first; the error and the footer after it,
        # at once, since the connection closes.
        self.flush()
        xmlstream.XmlStream.sendStreamError(self, streamError)

    def isSecure(self):
        """
        @return: whether the transport is encrypted.
        """
        return self.secure or interfaces.ISSLTransport.providedBy(self.transport)


class WriteGatherer:
    """
    What bound client streams send during one pass of the reactor, written
    once per stream when the pass ends (issue 16).

    In a busy server one pass of the reactor handles input from many
    connections, and each stanza of theirs sends to several others: a
    room's occupants get one presence per occupant that enters or leaves.
    Each write was a system call (C{send()}, which on loopback also does
    the receiver's work); gathered, a connection gets one per pass. The
    text waits for no longer than the rest of the pass: the gatherer's
    C{callLater(0)} runs right after the reactor has handled every
    connection that was ready.

    A stream writes at once what it sends before it is bound, and once it
    is closing, after what it had gathered
    (L{C2SXmlStream.send}); stopping the server writes what waits
    (L{StreamRegistry.closeAll}).
    """

    def __init__(self, reactor):
        """
        @param reactor: an L{IReactorTime}: the real reactor, whose passes
            this follows.
        """
        self.reactor = reactor
        self._waiting: list = []
        self._call = None

    def gather(self, xs: "C2SXmlStream") -> None:
        """
        A stream gathers what it sends: write it when the pass ends.
        """
        self._waiting.append(xs)
        if self._call is None:
            self._call = self.reactor.callLater(0, self.flush)

    def flush(self) -> None:
        """
        Write what each stream gathered, in one write each.
        """
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        waiting, self._waiting = self._waiting, []
        for xs in waiting:
            try:
                xs.flush()
            except Exception:
                log.failure("Writing to {peer}", peer=xs.otherEntity)


class StreamRegistry:
    """
    The open client streams of one server, TCP and WebSocket alike.

    The server closes them all with C{system-shutdown} when it stops (RFC
    6120 section 4.9.3.22), and waits until each connection is gone, so
    that an in-process server in a test leaves a clean reactor.

    It also limits how many connections one IP address may hold open
    without having authenticated and bound a resource (RFC 6120 section
    13.12; XEP-0205 sections 4.1 and 4.3, connections per address and
    unauthenticated connections): past
    C{maxUnauthenticatedPerAddress}, a new connection is closed at once
    with a C{policy-violation} stream error (section 4.9.3.17), which is
    what ejabberd's C{mod_fail2ban} answers an address it refuses. It is
    refused on connecting, not at its stream header, so that a refused
    connection holds nothing while it waits. Connections without an IP
    address (a UNIX socket, an in-memory transport) are not counted.

    With C{traffic} set (C{[server] verbose}), every element a stream
    receives and everything it sends is logged, as L{logTraffic} writes it.

    @ivar maxUnauthenticatedPerAddress: the limit; 0 for none.
    @ivar traffic: whether to log the streams' traffic.
    @ivar gatherer: the L{WriteGatherer} of the streams' writes, or
        L{None}.
    """

    def __init__(
        self,
        maxUnauthenticatedPerAddress: int = 0,
        traffic: bool = False,
        gatherer: Optional[WriteGatherer] = None,
    ):
        # Each stream, and the Deferred that closeAll waits on for it, if
        # any: one is made only while the server stops.
        self._streams: Dict[C2SXmlStream, Optional[defer.Deferred]] = {}
        self.maxUnauthenticatedPerAddress = maxUnauthenticatedPerAddress
        self.traffic = traffic
        # Without one, each stream writes what it sends in answer to one
        # piece of input at once, at its end.
        self.gatherer = gatherer
        self._unauthenticated: Dict[str, int] = {}

    def __len__(self):
        return len(self._streams)

    def add(self, xs):
        """
        Track a L{C2SXmlStream} from its connection until its end: the
        stream calls L{connected} and L{ended}.
        """
        self._streams[xs] = None
        xs.registry = self
        if self.traffic:
            # Every top-level element, before any handler sees it.
            xs.addObserver("/*", lambda element: logTraffic(xs, "RECV", element), 1000)
            xs.rawDataOutFn = lambda data: logTraffic(xs, "SEND", data)

    def unauthenticated(self, address: str) -> int:
        """
        @return: how many connections from C{address} are open and not yet
            bound.
        """
        return self._unauthenticated.get(address, 0)

    def connected(self, xs):
        """
        A stream's connection is made: count it against its address, or
        refuse it if the address has too many unauthenticated ones.
        """
        address = getattr(xs.transport.getPeer(), "host", None)
        if not isinstance(address, str) or not self.maxUnauthenticatedPerAddress:
            return
        if self.unauthenticated(address) >= self.maxUnauthenticatedPerAddress:
            xs.sendStreamError(
                error.StreamError(
                    "policy-violation",
                    text=f"too many connections from {address} that have "
                    "not logged in yet (at most "
                    f"{self.maxUnauthenticatedPerAddress}); try again once "
                    "they have",
                )
            )
            return
        self._unauthenticated[address] = self.unauthenticated(address) + 1
        xs.countedAddress = address
        xs.addOnetimeObserver(xmlstream.STREAM_AUTHD_EVENT, self._release)

    def _release(self, xs):
        """
        The stream is authenticated and bound, or gone: it no longer counts
        against its address.
        """
        address = xs.countedAddress
        if address is not None:
            xs.countedAddress = None
            count = self._unauthenticated.pop(address) - 1
            if count:
                self._unauthenticated[address] = count

    def ended(self, xs):
        """
        A stream's connection is gone, and its C{STREAM_END_EVENT}
        observers have run: forget it.
        """
        self._release(xs)
        waiting = self._streams.pop(xs, None)
        if waiting is not None:
            waiting.callback(None)

    def closeAll(self, condition="system-shutdown", text="the server is stopping"):
        """
        Close every stream with a stream error.

        @return: a Deferred that fires when every connection is closed.
        """
        if self.gatherer is not None:
            self.gatherer.flush()
        waiting = []
        for xs, closed in self._streams.items():
            if closed is None:
                closed = self._streams[xs] = defer.Deferred()
            waiting.append(closed)
        for xs in list(self._streams):
            xs.sendStreamError(error.StreamError(condition, text=text))
            xs.transport.loseConnection()
        return defer.gatherResults(waiting)


def logTraffic(xs, direction: str, data) -> None:
    """
    Log one element a client stream received or one piece of what it sent
    (C{[server] verbose}), with the stream's peer: the bound JID once there
    is one, else the address. SASL elements are logged by name only, since
    they carry credentials (RFC 6120 section 6.4); other content is cut as
    L{forLog} cuts it.

    @param direction: C{"RECV"} or C{"SEND"}.
    @param data: an element, or text or bytes the stream wrote.
    """
    if domish.IElement.providedBy(data) and data.uri == NS_XMPP_SASL:
        text = f"<{data.name} xmlns='{NS_XMPP_SASL}'/> (SASL data not logged)"
    elif isinstance(data, bytes):
        text = forLog(data.decode("utf-8", "replace"))
    else:
        text = forLog(data)
    session = getattr(getattr(xs, "authenticator", None), "session", None)
    if session is not None:
        peer = session.jid.full()
    else:
        address = getattr(getattr(xs, "transport", None), "getPeer", lambda: None)()
        peer = f"{getattr(address, 'host', '?')}:{getattr(address, 'port', '?')}"
    log.info("{direction} {peer}: {text}", direction=direction, peer=peer, text=text)


class C2SXmlStreamFactory(xmlstream.XmlStreamServerFactory):
    """
    Accept client connections with a fresh L{C2SAuthenticator} each.

    @ivar maxStanzaSize: the stanza size limit of each new stream.
    @ivar streams: the L{StreamRegistry} each new stream joins.
    @ivar maxDepth: the element depth limit of each new stream.
    @ivar throttleFactory: returns a new L{InputThrottle} for each
        connection, or is L{None} for no byte rate.
    """

    protocol = C2SXmlStream

    def __init__(
        self,
        authenticatorFactory,
        maxStanzaSize,
        streams,
        maxDepth=DEFAULT_MAX_DEPTH,
        throttleFactory=None,
    ):
        xmlstream.XmlStreamServerFactory.__init__(self, authenticatorFactory)
        self.maxStanzaSize = maxStanzaSize
        self.streams = streams
        self.maxDepth = maxDepth
        self.throttleFactory = throttleFactory

    def buildProtocol(self, addr):
        xs = xmlstream.XmlStreamServerFactory.buildProtocol(self, addr)
        xs.maxStanzaSize = self.maxStanzaSize
        xs.maxDepth = self.maxDepth
        if self.throttleFactory is not None:
            xs.throttle = self.throttleFactory()
        self.streams.add(xs)
        return xs


#: The namespace prefixes of a client stream that declares the streams
#: namespace as C{stream}, as clients do (RFC 6120 section 4.8.5).
STREAM_PREFIXES = {NS_STREAMS: "stream"}

#: The serialized <stream:features/> of each combination of shared
#: feature elements offered so far (L{C2SAuthenticator.featuresText}); a
#: server offers a handful.
FEATURES_TEXT: Dict[tuple, str] = {}
MOST_FEATURES_TEXTS = 64


class C2SAuthenticator(xmlstream.ListenAuthenticator):
    """
    Run the receiving entity's side of stream negotiation for one client.

    The steps are objects with this shape (see L{mepserver.c2s.tls},
    L{mepserver.c2s.sasl}, L{mepserver.c2s.bind} and the pre-authentication
    registration in L{mepserver.c2s.register}):

      - C{feature()}: the element to put in <stream:features/>, or L{None}
        when the step has nothing to offer on this stream now;
      - C{mandatory}: C{True} when nothing after it may be offered while it
        is pending (STARTTLS when encryption is required, SASL);
      - C{onElement(element)}: return C{True} if the element was the step's.

    @ivar domain: the domain this stream serves, as L{str}.
    @ivar steps: the steps, in order.
    @ivar session: the bound session, once there is one; then all stanzas go
        to its C{received} method.
    """

    namespace = NS_CLIENT

    def __init__(
        self,
        domain,
        stepFactories,
        clock=None,
        idleTimeout=0,
        ids=None,
        negotiationTimeout=0,
    ):
        """
        @param stepFactories: callables that take this authenticator and
            return a step, in the order the steps run.
        @param clock: the L{twisted.internet.interfaces.IReactorTime} for the
            idle timer and the negotiation deadline; no timer without one.
        @param idleTimeout: seconds without input before the stream is
            closed (not yet bound) or sent a whitespace keepalive; 0: never.
        @param ids: the L{mepserver.ids.IdSource} for stream ids; Twisted's
            random ones if L{None}.
        @param negotiationTimeout: seconds from connecting within which the
            client must have authenticated and bound a resource, or be
            closed with C{connection-timeout}, however much it sends; 0:
            no deadline.
        """
        xmlstream.ListenAuthenticator.__init__(self)
        self.domain = domain
        self.ids = ids
        self._stepFactories = stepFactories
        self.clock = clock
        self.idleTimeout = idleTimeout
        self.negotiationTimeout = negotiationTimeout
        self.steps = []
        self.session = None
        self.mechanism = None
        self.username = None

    def associateWithStream(self, xs):
        xmlstream.ListenAuthenticator.associateWithStream(self, xs)
        xs.thisEntity = jid.internJID(self.domain)
        self.steps = [factory(self) for factory in self._stepFactories]
        xs.addObserver("/*", self.onElement)
        xs.addObserver(xmlstream.STREAM_END_EVENT, self.onStreamEnd)

    def streamStarted(self, rootElement):
        """
        Check the stream header (RFC 6120 section 4.7) and send ours with the
        features this stage of negotiation offers.
        """
        xs = self.xmlstream
        # The version both sides speak (RFC 6120 section 4.7.5), as
        # Twisted's authenticator finds it; then what its listening one
        # does, but for reading 'to' as a JID (which raised out of the
        # parser for a malformed one) and a stream id thrown away.
        xmlstream.Authenticator.streamStarted(self, rootElement)
        xs.namespace = rootElement.defaultUri
        xs.prefixes = {uri: prefix for prefix, uri in rootElement.localPrefixes.items()}
        xs.thisEntity = jid.internJID(self.domain)
        if self.ids is not None:
            xs.sid = self.ids.newId()
        else:
            xs.sid = secrets.token_hex(8)
        if rootElement.defaultUri != NS_CLIENT:
            xs.sendStreamError(
                error.StreamError(
                    "invalid-namespace",
                    text="the content namespace must be '%s'" % NS_CLIENT,
                )
            )
            return
        if xs.version < (1, 0):
            xs.version = (1, 0)
            xs.sendStreamError(
                error.StreamError(
                    "unsupported-version",
                    text="this server speaks XMPP 1.0 streams only (version='1.0')",
                )
            )
            return
        to = rootElement.getAttribute("to")
        if to is not None and to.lower() != self.domain:
            xs.sendStreamError(
                error.StreamError(
                    "host-unknown",
                    text=f"this server serves '{self.domain}', not '{to}'",
                )
            )
            return
        text = self.featuresText()
        if text is None:
            xs.sendHeader()
            xs.send(self.features())
        else:
            # One write for both: over TLS, one record instead of two.
            xs.sendHeader(following=text)

    def offered(self):
        """
        @return: the stream features the current stage offers (RFC 6120
            section 4.3.2), in order: each step's, up to and including the
            first pending mandatory one.
        """
        offered = []
        for step in self.steps:
            element = step.feature()
            if element is not None:
                offered.append(element)
                if step.mandatory:
                    break
        return tuple(offered)

    def features(self):
        """
        Build <stream:features/> for the current stage (RFC 6120 4.3.2).

        The steps' elements become its children as they are: the shared
        ones (L{mepserver.stanza.FrozenElement}) are not changed, not even
        their C{parent}.
        """
        features = domish.Element((NS_STREAMS, "features"))
        features.children.extend(self.offered())
        return features

    def featuresText(self) -> Optional[str]:
        """
        The text of <stream:features/> for the current stage, when it can
        be kept: features made only of shared elements (every step of
        mepserver's own), on a stream that declared the usual namespaces,
        are serialized once for that combination (L{FEATURES_TEXT}).

        @return: the text, or L{None} for anything else (a step that makes
            its element anew, a client that chose another prefix for the
            streams namespace, a WebSocket stream), which is serialized as
            any element the stream sends (L{features}).
        """
        xs = self.xmlstream
        offered = self.offered()
        if (
            not xs.childrenOfHeader
            or xs.namespace != NS_CLIENT
            or xs.prefixes != STREAM_PREFIXES
            or not all(type(element) is FrozenElement for element in offered)
        ):
            return None
        text = FEATURES_TEXT.get(offered)
        if text is None:
            features = domish.Element((NS_STREAMS, "features"))
            features.children.extend(offered)
            text = features.toXml(
                prefixes=STREAM_PREFIXES,
                defaultUri=NS_CLIENT,
                prefixesInScope=list(STREAM_PREFIXES.values()),
            )
            if len(FEATURES_TEXT) < MOST_FEATURES_TEXTS:
                FEATURES_TEXT[offered] = text
        return text

    def onElement(self, element):
        """
        Give a top-level element to the session, or to the step it is for.

        Before a resource is bound, anything that no step takes is answered
        with a C{not-authorized} stream error (RFC 6120 sections 6.4.7 and
        7.1): a client sends no stanzas before it is authenticated and bound.
        A stream error from the client is no one's but the stream's, which
        closes (L{C2SXmlStream.onElement}, RFC 6120 section 4.9): it is not
        answered, bound or not.
        """
        if (element.uri, element.name) == (NS_STREAMS, "error"):
            return
        if self.session is not None:
            self.session.received(element)
            return
        for step in self.steps:
            if step.onElement(element):
                return
            if step.mandatory and step.feature() is not None:
                # Nothing after a pending mandatory step may run yet.
                break
        self.xmlstream.sendStreamError(
            error.StreamError(
                "not-authorized",
                text=f"<{element.name}/> is not allowed before authentication "
                "and resource binding",
            )
        )

    def restartStream(self):
        """
        Wait for a new stream header after TLS or SASL (RFC 6120 4.3.3).
        """
        self.xmlstream.reset()

    def authenticated(self, username):
        """
        Called by the SASL step on success, before the stream restarts.
        """
        self.username = username

    def sessionStarted(self, session):
        """
        Called by the binding step: from now on stanzas go to C{session}.
        """
        self.session = session
        # The SASL mechanism negotiated, for the inspector, before the steps
        # go.
        self.mechanism = next(
            (
                step.chosen
                for step in self.steps
                if getattr(step, "done", False) and getattr(step, "chosen", None)
            ),
            None,
        )
        # Negotiation is over: no step sees the stream's elements again, and
        # a connection holds no more than it needs for as long as it lasts.
        self.steps = []
        self.xmlstream.dispatch(self.xmlstream, xmlstream.STREAM_AUTHD_EVENT)

    def onStreamEnd(self, reason):
        """
        The connection is gone: end the session, if any.
        """
        if self.session is not None:
            session, self.session = self.session, None
            session.ended()
