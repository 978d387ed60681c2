# -*- test-case-name: tests.test_websocket -*-
"""
XMPP over WebSocket (RFC 7395) onto the same stream, authenticator and
session code as TCP.

Only the framing differs from RFC 6120 streams, so L{WebSocketXmlStream} is
a L{C2SXmlStream} that reads and writes RFC 7395 frames:

  - section 3.1: the HTTP upgrade must negotiate the subprotocol C{xmpp}
    (L{XMPPWebSocketResource});
  - section 3.2: WebSocket messages are text;
  - sections 3.3.2 and 3.3.3: each message is one complete XML element,
    namespace-complete on its own; C{<open/>} and C{<close/>} in the
    C{urn:ietf:params:xml:ns:xmpp-framing} namespace stand for the stream
    header and footer;
  - section 3.4: the first message is C{<open/>}, answered by C{<open/>}
    and the stream features;
  - section 3.5: a stream error is one message, after the server's
    C{<open/>}, followed by C{<close/>} and the end of the connection;
  - section 3.6: C{<close/>} is answered by C{<close/>}, then the WebSocket
    connection is closed;
  - section 3.7: after SASL the client restarts with a new C{<open/>};
  - section 3.8: whitespace keepalives become WebSocket pings;
  - section 3.9: TLS belongs to the HTTP layer (C{wss:}), so the
    authenticator offers no STARTTLS here.

The stream's input limits hold as on TCP: a message counts against the
stanza size limit while its frames arrive (L{XMPPWireProtocol}), its
element against the depth limit, its bytes against the connection's rate.

The authenticator and the session see what they see on TCP:
C{xs.send(element)}, C{xs.sendStreamError}, C{xs.closing},
C{xs.transport.loseConnection()} and the stream events.
"""

from __future__ import annotations

import h11
from twisted.web.server import NOT_DONE_YET
from twisted.web.websocket import WebSocketResource
from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wsproto import ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    Request as WebSocketRequest,
    TextMessage,
)
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

# Twisted's private WebSocket machinery, as of Twisted 26.10
# (twisted/web/_websocket_impl.py): XMPPWebSocketResource.render_GET and
# XMPPWireProtocol need it until twisted.web.websocket can negotiate a
# subprotocol and limit message sizes.
from twisted.web._websocket_impl import (
    _handleEvent,
    _WebSocketWireProtocol,
    serverBootstrap,
)

from mepserver.c2s.stream import NS_STREAMS, NS_XML, C2SXmlStream
from mepserver.stanza import DEFAULT_MAX_DEPTH

NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"

#: XML's whitespace characters (XML 1.0 production 3).
XML_WHITESPACE = " \t\r\n"

#: The WebSocket subprotocol name registered by RFC 7395 section 3.1.
SUBPROTOCOL = "xmpp"


class WebSocketXmlStream(C2SXmlStream):
    """
    A client stream whose frames are RFC 7395 WebSocket text messages.

    Feed it whole messages with L{messageReceived}; its C{transport} is a
    L{WebSocketStreamTransport}. Each message is parsed as a document of
    its own, by a fresh parser with the restrictions of L{C2SXmlStream}.
    """

    # Its own attributes in slots, as C2SXmlStream's (see there).
    __slots__ = ("_opened", "_frame", "_fragments", "_messageSize")
    #: The root of each message is the stanza itself.
    stanzaLevel = 0
    #: Each element is serialized on its own, with its namespaces declared
    #: (RFC 7395 section 3.3.3), not as a child of a stream header.
    spliceable = False
    #: Each element is a message of its own, with its namespaces declared.
    childrenOfHeader = False

    def __init__(self, authenticator):
        self._opened = False
        self._frame = None
        self._fragments = None
        self._messageSize = 0
        C2SXmlStream.__init__(self, authenticator)

    def _initializeStream(self):
        """
        Set up a restricted parser that delivers one whole message element.

        Twisted's stream parser hands out the root element as a stream
        header and its children as stanzas, and drops text directly inside
        the root. Here the root I{is} the frame (text content included, as
        in SASL's C{<auth/>}), so it becomes the parser's current element
        (C{currElem} of Twisted's C{ExpatElementStream}) as soon as it
        starts, and the parser hands it out complete at its end.
        """
        C2SXmlStream._initializeStream(self)
        self.stream.DocumentStartEvent = self._onFrameStart
        self.stream.ElementEvent = self._onFrame

    def _onFrameStart(self, root):
        self.stream.currElem = root

    def _onFrame(self, element):
        self._frame = element

    def messageReceived(self, message):
        """
        Handle one whole WebSocket text message: one complete element.

        @param message: the text of the message.
        @type message: L{str}
        """
        self.fragmentReceived(message, True)

    def fragmentReceived(self, fragment, last):
        """
        Handle a piece of a WebSocket text message, as it arrives.

        The size limit acts here, before the rest of the message arrives:
        once the pieces of one message pass C{maxStanzaSize} bytes, the
        stream is closed with C{policy-violation} (RFC 6120 section
        4.9.3.17) and nothing more of the message is kept. The pieces are
        kept in a list and joined once, so a message costs time in
        proportion to its size.

        @param fragment: the text of the piece.
        @type fragment: L{str}
        @param last: whether it ends the message.
        """
        if self.closing:
            return
        data = fragment.encode("utf-8")
        self._messageSize += len(data)
        if self._messageSize > self.maxStanzaSize:
            self._fragments = None
            self._messageSize = 0
            self.sendStreamError(
                error.StreamError(
                    "policy-violation",
                    text=f"message larger than {self.maxStanzaSize} bytes",
                )
            )
            return
        if self._fragments is None:
            self._fragments = []
        self._fragments.append(data)
        if last:
            data = b"".join(self._fragments)
            self._fragments = None
            self._messageSize = 0
            self._wholeMessageReceived(data)

    def _wholeMessageReceived(self, data):
        """
        Parse one message and act on its element.

        Stream errors (RFC 6120 section 4.9.3) for bad input: XML that is
        not well-formed or is not exactly one element is C{not-well-formed},
        a forbidden construct is C{restricted-xml}, an element nested deeper
        than C{maxDepth} is C{policy-violation}.

        @param data: the message, in UTF-8.
        @type data: L{bytes}
        """
        self._touch()
        if not data.strip(XML_WHITESPACE.encode("ascii")):
            # A whitespace keepalive (RFC 6120 4.6.1); RFC 7395 3.8 prefers
            # WebSocket pings, but a space holds no element to complain of.
            return
        self._initializeStream()
        self._frame = None
        # Reuse the TCP stream's parsing and its parse-error stream errors.
        self._parse(data)
        frame, self._frame = self._frame, None
        if self.closing:
            return
        if frame is None:
            self.sendStreamError(
                error.StreamError(
                    "not-well-formed",
                    text="a WebSocket message must hold one complete XML "
                    "element (RFC 7395 3.3.3)",
                )
            )
            return
        self.frameReceived(frame)

    def frameReceived(self, element):
        """
        Act on the element of one message: stream header, footer or stanza.

        Framing mistakes are stream errors: C{<open/>} or C{<close/>} in
        another namespace, a first element other than C{<open/>} and an
        element without a namespace are C{invalid-namespace}; a second
        C{<open/>} without a restart is C{bad-format}.
        """
        if element.name in ("open", "close") and element.uri != NS_FRAMING:
            self._invalidNamespace(
                f"<{element.name}/> must be in the namespace '{NS_FRAMING}' "
                "(RFC 7395 3.3.2)"
            )
        elif element.name == "close":
            # RFC 7395 3.6: answer <close/> with <close/>, then disconnect.
            self.onDocumentEnd()
        elif not self._opened:
            if element.name != "open":
                self._invalidNamespace(
                    f"the first message must be <open xmlns='{NS_FRAMING}'/> "
                    f"(RFC 7395 3.4), not <{element.name}/>"
                )
                return
            self._opened = True
            self.onDocumentStart(self._streamHeader(element))
        elif element.name == "open":
            self.sendStreamError(
                error.StreamError(
                    "bad-format",
                    text="the stream is already open; a new <open/> is only "
                    "expected after a stream restart (RFC 7395 3.7)",
                )
            )
        elif not element.uri:
            self._invalidNamespace(
                f"<{element.name}/> declares no namespace; each message must "
                f"declare its own, e.g. xmlns='{self.namespace}' "
                "(RFC 7395 3.3.3)"
            )
        else:
            self.onElement(element)

    def _invalidNamespace(self, text):
        self.sendStreamError(error.StreamError("invalid-namespace", text=text))

    def _streamHeader(self, openElement):
        """
        Build the <stream:stream/> header that C{<open/>} stands for.

        RFC 7395 section 3.3.1: C{<open/>} has the attributes of the RFC
        6120 stream header. It declares no content namespace, since every
        element declares its own; the header carries this stream's, so the
        authenticator checks the same header it checks on TCP.
        """
        return domish.Element(
            (NS_STREAMS, "stream"),
            self.namespace,
            dict(openElement.attributes),
            {"stream": NS_STREAMS},
        )

    def reset(self):
        """
        Expect a new C{<open/>} (RFC 7395 section 3.7).

        Each message gets a fresh parser anyway, so unlike TCP there is no
        parser state to throw away.
        """
        self._headerSent = False
        self._opened = False

    def send(self, obj):
        """
        Send one element, or one serialized element, as a text message.

        Elements are serialized on their own with their namespaces declared
        (RFC 7395 section 3.3.3): a stanza built without a namespace, as a
        child of the stream on TCP, gets C{xmlns='jabber:client'}, and
        C{<stream:features/>} or C{<stream:error/>} declare the C{stream}
        prefix. A string must already be one complete element; a whitespace
        keepalive becomes a WebSocket ping (RFC 7395 section 3.8).

        @param obj: what to send.
        @type obj: L{domish.IElement} provider, L{str} or UTF-8 L{bytes}
        """
        if domish.IElement.providedBy(obj):
            obj = self._serialize(obj)
        elif isinstance(obj, bytes):
            obj = obj.decode("utf-8")
        if not obj.strip(XML_WHITESPACE):
            self.transport.ping()
            return
        if self.rawDataOutFn:
            self.rawDataOutFn(obj)
        self.transport.sendTextMessage(obj)

    def _serialize(self, element):
        if element.uri is None and element.defaultUri is None:
            # A shallow copy in the content namespace, so that the caller's
            # element (maybe shared between recipients) is left as it was.
            stanza = domish.Element(
                (self.namespace, element.name),
                self.namespace,
                element.attributes,
                element.localPrefixes,
            )
            stanza.children = element.children
            element = stanza
        return element.toXml(prefixes={NS_STREAMS: "stream"})

    def sendHeader(self, following=None):
        """
        Send C{<open/>}, the response stream header (RFC 7395 section 3.4).

        @param following: text to send after it, as a message of its own.
        """
        header = domish.Element((NS_FRAMING, "open"))
        if self.thisEntity:
            header["from"] = self.thisEntity.full()
        if self.sid:
            header["id"] = self.sid
        header["version"] = "1.0"
        header[(NS_XML, "lang")] = "en"
        self.send(header)
        self._headerSent = True
        if following:
            self.send(following)

    def sendFooter(self):
        """
        Send C{<close/>}, the stream footer (RFC 7395 section 3.6).
        """
        self.send(domish.Element((NS_FRAMING, "close")))


class WebSocketStreamTransport:
    """
    The transport of a L{WebSocketXmlStream}: a WebSocket connection, plus
    what the stream code calls on a TCP transport.

    @ivar webSocket: the L{twisted.web.websocket.WebSocketTransport}.
    @ivar connected: C{False} once L{loseConnection} was called or the
        connection is gone. From then on messages are dropped, as a TCP
        transport drops writes after C{loseConnection()}.
    """

    connected = True

    def __init__(self, webSocket, peer=None, host=None):
        """
        @param peer: the client's address, for L{getPeer}.
        @param host: the server's address, for L{getHost}.
        """
        self.webSocket = webSocket
        self._peer = peer
        self._host = host

    def sendTextMessage(self, text):
        """
        Send one text message.
        """
        if self.connected:
            self.webSocket.sendTextMessage(text)

    def ping(self):
        """
        Send a WebSocket ping.
        """
        if self.connected:
            self.webSocket.ping()

    def loseConnection(self):
        """
        Close the WebSocket connection, once.
        """
        if self.connected:
            self.connected = False
            self.webSocket.loseConnection()

    def getPeer(self):
        """
        @return: the client's L{twisted.internet.interfaces.IAddress}.
        """
        return self._peer

    def getHost(self):
        """
        @return: the server's L{twisted.internet.interfaces.IAddress}.
        """
        return self._host


class XMPPWebSocketProtocol:
    """
    One RFC 7395 connection: a L{twisted.web.websocket.WebSocketProtocol}
    that runs a L{WebSocketXmlStream}.

    @ivar xmlstream: the L{WebSocketXmlStream}.
    @ivar transport: the L{twisted.web.websocket.WebSocketTransport}, once
        negotiation started.
    """

    transport = None
    _streamTransport = None

    def __init__(self, xmlstream, peer=None, host=None):
        """
        @param peer: the client's address, for C{xs.transport.getPeer()}.
        @param host: the server's address, for C{xs.transport.getHost()}.
        """
        self.xmlstream = xmlstream
        self._peer = peer
        self._host = host

    def negotiationStarted(self, transport):
        """
        Keep the transport; nothing may be sent before the 101 response.
        """
        self.transport = transport

    def negotiationFinished(self):
        """
        Connect the stream: it now waits for C{<open/>}.
        """
        self._streamTransport = WebSocketStreamTransport(
            self.transport, self._peer, self._host
        )
        self.xmlstream.makeConnection(self._streamTransport)

    def textMessageReceived(self, message):
        """
        Hand one whole text message to the stream.
        """
        self.xmlstream.messageReceived(message)

    def textFragmentReceived(self, fragment, last):
        """
        Hand a piece of a text message to the stream, as it arrives (see
        L{XMPPWireProtocol}).

        @param last: whether the piece ends the message.
        """
        self.xmlstream.fragmentReceived(fragment, last)

    def bytesMessageReceived(self, data):
        """
        Refuse a binary message (RFC 7395 section 3.2: text only).
        """
        self.xmlstream.sendStreamError(
            error.StreamError(
                "bad-format",
                text="XMPP over WebSocket uses text messages only (RFC 7395 3.2)",
            )
        )

    def pongReceived(self, payload):
        """
        Pongs carry nothing for XMPP.
        """

    def connectionLost(self, reason):
        """
        End the stream: this dispatches C{STREAM_END_EVENT}, which ends the
        session as on TCP.
        """
        if self._streamTransport is not None:
            self._streamTransport.connected = False
            self.xmlstream.connectionLost(reason)


class XMPPWireProtocol(_WebSocketWireProtocol):
    """
    Twisted's WebSocket wire protocol, changed where XMPP needs bounds.

    Twisted's protocol assembles each message in full, by string
    concatenation, before handing it on: a client could make the server
    buffer any amount of text, in time growing with its square, before the
    stanza size limit saw it (an unauthenticated 160 MiB message took over
    two minutes of CPU). This one hands each piece of a text message to
    the stream as wsproto decodes it (L{XMPPWebSocketProtocol.
    textFragmentReceived}), so the stream's size limit acts while the
    message arrives; a binary message is refused at its first piece. The
    bytes also count against the stream's L{InputThrottle}, which pauses
    the TCP connection under the WebSocket while it is over its rate. Once
    the connection is being closed, nothing more is read.
    """

    _stopped = False

    def dataReceived(self, data):
        if self._stopped:
            return
        throttle = self._wsp.xmlstream.throttle
        if throttle is not None:
            throttle.received(len(data), self.transport)
        self._wsconn.receive_data(data)
        for event in self._wsconn.events():
            if isinstance(event, TextMessage):
                self._wsp.textFragmentReceived(event.data, event.message_finished)
            elif isinstance(event, BytesMessage):
                self._wsp.bytesMessageReceived(event.data)
            else:
                _handleEvent(event, self)
            if self._stopped:
                break

    def loseConnection(self, code=1000, reason=""):
        if not self._stopped:
            self._stopped = True
            _WebSocketWireProtocol.loseConnection(self, code, reason)


def _badRequest(request, text):
    request.setResponseCode(400)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return text.encode("utf-8")


class XMPPWebSocketResource(WebSocketResource):
    """
    The XMPP WebSocket endpoint (RFC 7395), for a C{twisted.web} site.

    It is its own L{twisted.web.websocket.WebSocketServerFactory}: each
    connection gets a L{WebSocketXmlStream} with a fresh authenticator.

    @ivar authenticatorFactory: returns a new
        L{mepserver.c2s.stream.C2SAuthenticator}, without a STARTTLS step.
    @ivar maxStanzaSize: the largest message, in bytes, that a stream
        accepts.
    @ivar streams: the L{mepserver.c2s.stream.StreamRegistry} each new
        stream joins, as with L{mepserver.c2s.stream.C2SXmlStreamFactory},
        or L{None}.
    @ivar maxDepth: the most levels of elements below a stanza.
    @ivar throttleFactory: returns a new
        L{mepserver.c2s.stream.InputThrottle} for each connection, or is
        L{None} for no byte rate.
    """

    def __init__(
        self,
        authenticatorFactory,
        maxStanzaSize,
        streams=None,
        maxDepth=DEFAULT_MAX_DEPTH,
        throttleFactory=None,
    ):
        WebSocketResource.__init__(self, self)
        self.authenticatorFactory = authenticatorFactory
        self.maxStanzaSize = maxStanzaSize
        self.streams = streams
        self.maxDepth = maxDepth
        self.throttleFactory = throttleFactory

    def buildProtocol(self, request):
        """
        @param request: the upgrade L{twisted.web.server.Request}.
        @return: an L{XMPPWebSocketProtocol} for the new connection.
        """
        xs = WebSocketXmlStream(self.authenticatorFactory())
        xs.maxStanzaSize = self.maxStanzaSize
        xs.maxDepth = self.maxDepth
        if self.throttleFactory is not None:
            xs.throttle = self.throttleFactory()
        xs.secure = request.isSecure()
        if self.streams is not None:
            self.streams.add(xs)
        return XMPPWebSocketProtocol(xs, request.getClientAddress(), request.getHost())

    def render_GET(self, request):
        """
        Accept the upgrade with the subprotocol C{xmpp}, or answer 400.

        RFC 7395 section 3.1: the client must offer C{xmpp} and the server's
        reply must name it for an XMPP connection to exist. A server may
        only select a subprotocol the client offered (RFC 6455 section
        4.2.2), so a handshake without C{xmpp} is refused.
        """
        handshake = H11Handshake(ConnectionType.SERVER)
        headers = [
            (name, value)
            for name, values in request.requestHeaders.getAllRawHeaders()
            for value in values
        ]
        try:
            handshake.initiate_upgrade_connection(headers, request.path)
        except (RemoteProtocolError, h11.ProtocolError) as e:
            # h11 raises the latter for a request without Host (HTTP/1.0).
            return _badRequest(request, f"Not a WebSocket handshake: {e}\n")
        offered = [
            name
            for event in handshake.events()
            if isinstance(event, WebSocketRequest)
            for name in event.subprotocols
        ]
        if SUBPROTOCOL not in offered:
            return _badRequest(
                request,
                "This is an XMPP over WebSocket endpoint (RFC 7395): the "
                "handshake must offer the subprotocol 'xmpp' "
                "(Sec-WebSocket-Protocol: xmpp).\n",
            )
        # The rest mirrors WebSocketResource.render_GET in Twisted 26.10
        # (twisted/web/_websocket_impl.py), which accepts with a bare
        # AcceptConnection() and so cannot select a subprotocol, and runs
        # XMPPWireProtocol instead of Twisted's. It uses Twisted's private
        # serverBootstrap and HTTPChannel._protocolUpgradeForWebsockets;
        # delete this override once WebSocketResource can negotiate
        # subprotocols and limit message sizes.
        webSocketProtocol = self.buildProtocol(request)
        response = handshake.send(AcceptConnection(subprotocol=SUBPROTOCOL))
        wireProtocol = XMPPWireProtocol(
            handshake.connection, serverBootstrap, webSocketProtocol
        )
        request.channel._protocolUpgradeForWebsockets(wireProtocol)
        request.channel.transport.write(response)
        webSocketProtocol.negotiationFinished()
        return NOT_DONE_YET
