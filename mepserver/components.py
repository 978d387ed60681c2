# -*- test-case-name: tests.test_components -*-
"""
External components that connect to this server (XEP-0114,
C{jabber:component:accept}).

A component is a domain the server routes to a TCP connection instead of
to handlers of its own. Each domain of C{[components]} is an
L{ExternalComponent} on the L{mepserver.router.Router} from the start, one
more kind of domain route beside the client domain, the MUC service and the
upload service; L{Components} holds them. A component connects to the
C{[components] listen} endpoint, where L{ComponentAuthenticator} runs
XEP-0114 section 3:

  1. the component's stream header names the component in C{to}; the
     server answers with a header carrying C{from} and a fresh stream
     C{id}, or a stream error: C{invalid-namespace} for a namespace other
     than C{jabber:component:accept}, C{improper-addressing} without C{to}
     (as Prosody), C{host-unknown} for a name that is not configured;
  2. the component sends C{<handshake/>} with the lowercase hex SHA-1 of
     the stream id followed by the secret; the server answers an empty
     C{<handshake/>}, or C{not-authorized} for a wrong digest and for
     anything else sent before it. A second connection for a connected
     name gets C{conflict}, or with C{[components] conflict = replace_old}
     the first one does;
  3. then stanzas flow. Those from the component must carry a C{from} at
     the component's domain (XEP-0114 section 3: "The domain identifier
     portion of the JID contained in the 'from' attribute MUST match the
     hostname of the component"); a missing or foreign C{from} is the
     C{invalid-from} stream error (RFC 6120 section 4.9.3.9). The router
     takes each stanza to its C{to}: a local account, the MUC service,
     another component. Stanzas to the component's domain, or to any JID
     at it, go down its connection.

Inside the server every stanza is in C{jabber:client}, the namespace the
handlers look for; a component's stream is in C{jabber:component:accept}.
L{ExternalComponent.received} moves incoming stanzas to C{jabber:client},
and L{ComponentXmlStream.send} writes outgoing ones as children of the
component stream's default namespace, as Prosody does when it drops the
C{jabber:client} namespace of what it sends a component.

Component streams share the client streams' limits (RFC 6120 section 11):
restricted XML, C{[c2s] max_stanza_size} and C{[c2s] idle_timeout} (before
the handshake, C{connection-timeout}; after it, whitespace keepalives).
They have no TLS (XEP-0114 has none): keep the listener on loopback.
"""

from __future__ import annotations

import hmac
from typing import Dict, Iterator, Mapping, Optional

from twisted.logger import Logger
from twisted.words.protocols.jabber import component, error, jid, xmlstream
from twisted.words.xish import domish, utility
from twisted.words.xish import xmlstream as xishstream

from mepserver.c2s.stream import C2SXmlStream, C2SXmlStreamFactory, NS_STREAMS
from mepserver.jids import parseJID
from mepserver.namespaces import NS_CLIENT

NS_COMPONENT_ACCEPT = component.NS_COMPONENT_ACCEPT
STANZA_NAMES = ("message", "presence", "iq")

#: Values of C{[components] conflict}: what a second connection for a
#: connected component does.
REFUSE_NEW = "refuse_new"
REPLACE_OLD = "replace_old"

log = Logger()


def _toClientNamespace(element: domish.Element) -> None:
    """
    Move a stanza from the component's namespace to C{jabber:client}: the
    stanza itself and every descendant in C{jabber:component:accept}
    (C{<body/>}, C{<error/>}, ...); payloads in other namespaces stay.
    """
    if element.uri == NS_COMPONENT_ACCEPT:
        element.uri = NS_CLIENT
    if element.defaultUri == NS_COMPONENT_ACCEPT:
        element.defaultUri = NS_CLIENT
    for child in element.elements():
        _toClientNamespace(child)


class ExternalComponent(utility.EventDispatcher):
    """
    One configured component's route on the router: what the router sends
    it goes down the component's connection, and what the component sends,
    once checked, is dispatched to the router.

    Like the sink of a L{mepserver.router.Domain}'s pipe, it is an event
    dispatcher: the router observes what it dispatches and calls its
    L{send}.

    @ivar name: the component's domain.
    @ivar secret: its shared secret (XEP-0114 section 3).
    @ivar serverDomain: the client domain, the C{from} of the errors the
        server itself answers a component's stanza with.
    @ivar xmlstream: the authenticated stream, or L{None} while the
        component is not connected.
    """

    def __init__(self, name: str, secret: str, serverDomain: str):
        utility.EventDispatcher.__init__(self)
        self.name = name
        self.secret = secret
        self.serverDomain = serverDomain
        self.xmlstream = None

    def __repr__(self):
        state = "connected" if self.xmlstream is not None else "not connected"
        return f"<ExternalComponent {self.name} ({state})>"

    def attach(self, xs) -> None:
        """
        Route the component's domain to C{xs}, whose handshake succeeded.
        """
        self.xmlstream = xs

    def detach(self, xs) -> None:
        """
        C{xs} is gone: unless another stream replaced it, stanzas to the
        domain get errors again (L{send}).
        """
        if self.xmlstream is xs:
            self.xmlstream = None

    def send(self, stanza: domish.Element) -> None:
        """
        Deliver a stanza the router has for this domain.

        While the component is not connected, every stanza but an error or
        an IQ result gets C{remote-server-timeout} (type C{wait}) from the
        component's domain: what Prosody's mod_component answers ("Component
        unavailable"), a temporary condition, since the component may
        connect again. Errors and results cannot be answered (RFC 6120
        section 8.3.1); they are logged and dropped.
        """
        xs = self.xmlstream
        if xs is not None:
            xs.send(stanza)
            return
        if stanza.getAttribute("type") in ("error", "result"):
            log.info(
                "Dropped a <{name} type={type}/> from {sender} to {recipient}: "
                "the component {component} is not connected",
                name=stanza.name,
                type=stanza.getAttribute("type"),
                sender=stanza.getAttribute("from"),
                recipient=stanza.getAttribute("to"),
                component=self.name,
            )
            return
        response = error.StanzaError(
            "remote-server-timeout",
            text=f"the component {self.name} is not connected",
        ).toResponse(stanza)
        response["from"] = self.name
        if response.getAttribute("to"):
            self.dispatch(response)

    def received(self, xs, element: domish.Element) -> None:
        """
        A top-level element arrived from the component after its handshake:
        check it and route it.

        @param xs: the component's stream, where errors go.
        """
        if element.name not in STANZA_NAMES or element.uri not in (
            NS_COMPONENT_ACCEPT,
            NS_CLIENT,
        ):
            xs.sendStreamError(
                error.StreamError(
                    "unsupported-stanza-type",
                    text=f"<{element.name} xmlns='{element.uri}'/> is not a stanza "
                    "this server understands",
                )
            )
            return
        sender = element.getAttribute("from")
        address = None
        if sender is not None:
            try:
                address = parseJID(sender)
            except jid.InvalidFormat:
                pass
        if address is None or address.host != self.name:
            if sender is None:
                text = f"a stanza of the component {self.name} needs a 'from'"
            else:
                text = (
                    f"the 'from' address {sender!r} is not at the component's "
                    f"domain {self.name}"
                )
            # XEP-0114 section 3; RFC 6120 section 4.9.3.9.
            xs.sendStreamError(
                error.StreamError("invalid-from", text=text + " (XEP-0114 section 3)")
            )
            return
        _toClientNamespace(element)
        element["from"] = address.full()
        to = element.getAttribute("to")
        if to is None:
            # XEP-0114 section 3: a component's stanzas carry a 'to'; as
            # Prosody, answer bad-request rather than guess a recipient.
            self._refuse(
                xs,
                element,
                "bad-request",
                "a component's stanza needs a 'to' address (XEP-0114 section 3)",
            )
            return
        try:
            recipient = parseJID(to)
        except jid.InvalidFormat as e:
            self._refuse(
                xs,
                element,
                "jid-malformed",
                f"the 'to' address {to!r} is not a valid JID: {e}",
            )
            return
        element["to"] = recipient.full()
        self.dispatch(element)

    def _refuse(self, xs, stanza, condition, text):
        """
        Answer a stanza of the component's with a stanza error from the
        server, unless it is an error or a result itself (RFC 6120 section
        8.3.1), which is logged instead.
        """
        if stanza.getAttribute("type") in ("error", "result"):
            log.warn(
                "Dropped a <{name} type={type}/> from the component {component}: "
                "{text}",
                name=stanza.name,
                type=stanza.getAttribute("type"),
                component=self.name,
                text=text,
            )
            return
        response = error.StanzaError(condition, text=text).toResponse(stanza)
        response["from"] = self.serverDomain
        xs.send(response)


class Components:
    """
    The configured external components, by domain.

    Each is on the router from the start, connected or not, so that a
    stanza to a component that is away gets its temporary error rather
    than the router's C{remote-server-not-found} for domains it does not
    serve.

    @ivar conflict: L{REFUSE_NEW} or L{REPLACE_OLD}, what a second
        connection for a connected component does.
    """

    def __init__(
        self,
        router,
        secrets: Mapping[str, str],
        serverDomain: str,
        conflict: str = REFUSE_NEW,
    ):
        """
        @param router: the L{mepserver.router.Router} to add the routes to.
        @param secrets: component domains to their secrets.
        @param serverDomain: the client domain.
        """
        if conflict not in (REFUSE_NEW, REPLACE_OLD):
            raise ValueError(f"conflict must be {REFUSE_NEW} or {REPLACE_OLD}")
        self.conflict = conflict
        self._byName: Dict[str, ExternalComponent] = {}
        for name, secret in secrets.items():
            route = ExternalComponent(name, secret, serverDomain)
            router.addRoute(name, route)
            self._byName[name] = route

    def __iter__(self) -> Iterator[ExternalComponent]:
        return iter(sorted(self._byName.values(), key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._byName)

    def get(self, name: str) -> Optional[ExternalComponent]:
        """
        @return: the component of domain C{name}, or L{None}.
        """
        return self._byName.get(name)


class ComponentXmlStream(C2SXmlStream):
    """
    A stream accepted from an external component: a client stream's input
    limits, in the C{jabber:component:accept} namespace.
    """

    namespace = NS_COMPONENT_ACCEPT
    #: A component's connection is one per component and rarely idle: it
    #: keeps its parser rather than build one for each read.
    releaseParser = False

    def sendHeader(self):
        """
        Send the header of XEP-0114 section 3 example 2: C{from} (the
        component's name) and C{id}, and no C{version}, since component
        streams predate XMPP 1.0 streams (the authenticator keeps the
        version at 0.0).
        """
        xmlstream.XmlStream.sendHeader(self)

    def send(self, obj):
        """
        Send data; an element is written as a child of the stream, with
        C{jabber:client} standing for the stream's own default namespace,
        so that the server's stanzas reach the component in
        C{jabber:component:accept}.
        """
        if domish.IElement.providedBy(obj):
            obj = obj.toXml(
                prefixes=self.prefixes,
                defaultUri=NS_CLIENT,
                prefixesInScope=list(self.prefixes.values()),
            )
        xishstream.XmlStream.send(self, obj)

    def sendStreamError(self, streamError):
        """
        Send a stream error and close, once, with a log line that names the
        component and its address (a warning for a refusal).
        """
        if self.closing:
            return
        name = self.thisEntity.full() if self.thisEntity else "(no name)"
        peer = self.transport.getPeer() if self.transport is not None else None
        emit = log.info if streamError.condition == "system-shutdown" else log.warn
        emit(
            "Component stream {name} from {peer}: stream error {condition} ({text})",
            name=name,
            peer=peer,
            condition=streamError.condition,
            text=streamError.text,
        )
        self.closing = True
        xmlstream.XmlStream.sendStreamError(self, streamError)


class ComponentXmlStreamFactory(C2SXmlStreamFactory):
    """
    Accept component connections, each with a fresh
    L{ComponentAuthenticator}, into the server's L{StreamRegistry
    <mepserver.c2s.stream.StreamRegistry>} (closed on stop and reset).
    """

    protocol = ComponentXmlStream


class ComponentAuthenticator(component.ListenComponentAuthenticator):
    """
    The server's side of XEP-0114 section 3 for one connection, on
    Twisted's L{component.ListenComponentAuthenticator}: many components,
    each with its own secret, instead of its one secret; the refusals and
    conflicts of the section; then the stanzas to the component's route.

    @ivar components: the L{Components}.
    @ivar component: the L{ExternalComponent} the stream header named.
    @ivar session: that component once the handshake succeeded, L{None}
        before (L{C2SXmlStream}'s idle timer reads it).
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} of the
        idle timer, or L{None} for none.
    @ivar idleTimeout: seconds without input before the stream is closed
        (before the handshake) or sent a whitespace keepalive; 0: never.
    """

    def __init__(self, components: Components, clock=None, idleTimeout=0, ids=None):
        """
        @param ids: the L{mepserver.ids.IdSource} for stream ids; Twisted's
            random ones if L{None}.
        """
        component.ListenComponentAuthenticator.__init__(self, None)
        self.components = components
        self.clock = clock
        self.idleTimeout = idleTimeout
        self.ids = ids
        self.component: Optional[ExternalComponent] = None
        self.session: Optional[ExternalComponent] = None

    def associateWithStream(self, xs):
        """
        Take every top-level element of C{xs} (L{onElement}) and its end
        (L{onStreamEnd}); Twisted's version sets the stream version to 0.0.
        """
        component.ListenComponentAuthenticator.associateWithStream(self, xs)
        xs.addObserver("/*", self.onElement)
        xs.addObserver(xmlstream.STREAM_END_EVENT, self.onStreamEnd)

    def streamStarted(self, rootElement):
        """
        Check the stream header and answer it (XEP-0114 section 3).

        Twisted's version takes any C{to}; here it must name a configured
        component.
        """
        xs = self.xmlstream
        to = rootElement.getAttribute("to")
        try:
            xmlstream.ListenAuthenticator.streamStarted(self, rootElement)
        except jid.InvalidFormat as e:
            xs.thisEntity = None
            self._refuse("host-unknown", f"{to!r} is not a valid component name ({e})")
            return
        if self.ids is not None:
            xs.sid = self.ids.newId()
        if rootElement.defaultUri != NS_COMPONENT_ACCEPT:
            # The error's header is in this port's namespace, not the peer's.
            xs.namespace = NS_COMPONENT_ACCEPT
            xs.thisEntity = None
            self._refuse(
                "invalid-namespace",
                f"this port serves external components (XEP-0114): the content "
                f"namespace must be '{NS_COMPONENT_ACCEPT}'",
            )
            return
        if to is None:
            # As Prosody; XEP-0114 section 3 has the 'to' name the component.
            self._refuse(
                "improper-addressing",
                "the stream header needs a 'to' naming the component",
            )
            return
        address = xs.thisEntity
        found = None
        if address.user is None and address.resource is None:
            found = self.components.get(address.host)
        if found is None:
            xs.thisEntity = None
            self._refuse(
                "host-unknown", f"{to!r} is not an external component of this server"
            )
            return
        self.component = found
        xs.sendHeader()

    def onElement(self, element):
        """
        Before the handshake, only C{<handshake/>} is allowed (XEP-0114
        section 3; anything else is C{not-authorized}, as in Twisted's
        version); after it, every element goes to the component's route.
        """
        if (element.uri, element.name) == (NS_STREAMS, "error"):
            # The component's own stream error; the stream ends with it.
            return
        if self.session is not None:
            self.session.received(self.xmlstream, element)
            return
        if (element.uri, element.name) != (NS_COMPONENT_ACCEPT, "handshake"):
            self._refuse(
                "not-authorized",
                f"<{element.name}/> is not allowed before the handshake "
                "(XEP-0114 section 3)",
            )
            return
        if any(True for _ in element.elements()):
            # As Prosody: the handshake is character data only.
            self._refuse("not-authorized", "the handshake must hold only the digest")
            return
        self.onHandshake(str(element))

    def onHandshake(self, handshake):
        """
        Check the digest, settle a conflict, answer C{<handshake/>} and
        route the component's domain to this stream.

        The digest is compared without regard to case, as Prosody does
        (the component is to send it in lowercase), and in constant time.
        """
        xs = self.xmlstream
        found = self.component
        expected = xmlstream.hashPassword(xs.sid, found.secret)
        if not hmac.compare_digest(
            handshake.strip().lower().encode("utf-8"), expected.encode("ascii")
        ):
            self._refuse(
                "not-authorized",
                f"the handshake does not match the secret of {found.name}",
            )
            return
        current = found.xmlstream
        if current is not None:
            if self.components.conflict == REFUSE_NEW:
                self._refuse(
                    "conflict",
                    f"the component {found.name} is already connected",
                )
                return
            current.sendStreamError(
                error.StreamError(
                    "conflict", text="replaced by a new connection of the component"
                )
            )
        xs.send("<handshake/>")
        found.attach(xs)
        self.session = found
        log.info(
            "External component {name} connected from {peer}",
            name=found.name,
            peer=xs.transport.getPeer(),
        )
        xs.dispatch(xs, xmlstream.STREAM_AUTHD_EVENT)

    def onStreamEnd(self, reason):
        """
        The connection is gone: unroute the component's domain, unless a
        newer connection replaced this one.
        """
        if self.session is not None:
            session, self.session = self.session, None
            session.detach(self.xmlstream)
            log.info("External component {name} disconnected", name=session.name)

    def _refuse(self, condition, text):
        self.xmlstream.sendStreamError(error.StreamError(condition, text=text))
