# -*- test-case-name: tests.test_api -*-
"""
The resource behind C{/api/}: a small JSON router over the server's
models (DESIGN.md section 7).

Endpoints (C{{room}} is a room's localpart on the MUC service or its full
bare JID; C{{node}} a URL-encoded NodeID):

  - C{GET /api/rooms}: every room, with its JID, name, whether it is
    persistent and locked, and its occupant count;
  - C{GET /api/rooms/{room}}: its configuration and occupants, each with
    nick, occupant JID, role, affiliation, real JID, and per session the
    announced caps (XEP-0115) and the notification interests they resolve
    to;
  - C{GET /api/rooms/{room}/nodes}: the room's MEP nodes (XEP-0316) with
    their item counts;
  - C{GET /api/rooms/{room}/nodes/{node}/items}: a node's items, oldest
    first, with id, publication time (XEP-0082), publisher and payload;
  - C{POST /api/rooms/{room}/nodes/{node}/items}: publish a room event
    (DESIGN.md section 6, MEP OQ-8) with the XML payload as the body
    (C{application/xml} or C{text/xml}) and an optional C{?id=} item id;
    answers 201 with C{{"id": ..., "node": ..., "room": ...}};
  - C{POST /api/reset}: L{mepserver.server.Server.reset} (memory storage
    only; 409 otherwise);
  - C{GET /api/sessions}: every bound client session with its transport,
    TLS, SASL mechanism, stream management, carbons and caps
    (L{mepserver.inspector.views.describeSession});
  - C{GET /api/rooms/{room}/nodes/{node}/items/{id}/deliveries}: the
    delivery explainer (L{mepserver.mep.deliveries}): C{{"room": ...,
    "node": ..., "item": ..., "deliveries": [{"nick": ..., "jid": ...,
    "delivered": ..., "code": ..., "reason": ...}]}}, one entry per
    session that was in the room at the publication or is in it now; with
    C{?occupant=nick}, an item of that occupant's node instead of the
    room's; 404 C{item-not-recorded} when the explainer does not keep it;
  - C{GET /api/inspector/...}: what the inspector page reads, see
    L{mepserver.inspector.resource}.

Node names and item ids become XML the server sends (disco#items, event
notifications), so they must be XML 1.0 text of at most 1023 bytes of
UTF-8 (L{mepserver.xmlchars}); a payload must parse as XML, which allows
no other characters.

Before anything else, every request is checked against DNS rebinding and
cross-site requests from browsers: its C{Host} must name this server (a
loopback name or address, another IP address, C{[server] domain}, or the
host of C{[upload] public_url}), else 421; a C{POST} (any method but
C{GET}, C{HEAD} and C{OPTIONS}) with an C{Origin} must come from the API's
own origin (the C{Host} it was sent to, or C{[upload] public_url}), else
403. The API sends no CORS headers, so browsers let no other origin read
its answers. (The host-meta and upload resources beside it answer other
origins on purpose, XEP-0156 and XEP-0363.)

Every error is C{{"error": code, "message": plain words}} with its HTTP
status: 400 (bad payload, node name, item id or URL encoding; a payload
nesting deeper than C{[c2s] max_depth} too), 401 (missing or wrong bearer
token when C{[http] token} is set), 403 (cross-origin write), 404 (unknown
path, room or node), 405 (wrong method, with C{Allow}), 409 (reset on
SQLite), 413 (payload larger than C{[c2s] max_stanza_size}), 415 (not an
XML content type), 421 (a C{Host} that is not this server's), 503 (MEP not
available), 507 (a quota of the room's MEP service, C{[pubsub] max_nodes}
or C{max_bytes}). Nothing here blocks: models are read synchronously in
memory, and stores and MEP answer through Deferreds.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from urllib.parse import urlsplit
from xml.etree import ElementTree
from typing import Any, Dict, FrozenSet, List, Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import failure
from twisted.web import resource, server
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish

from mepserver import errors
from mepserver.caps import parseCaps
from mepserver.datetimes import formatDateTime
from mepserver.muc.stanzas import PresencePayload
from mepserver.stanza import DEFAULT_MAX_DEPTH, TooDeep, parseElements
from mepserver.xmlchars import identifierProblem

log = Logger()

#: The content types a published payload may have: XML (RFC 7303).
XML_CONTENT_TYPES = ("application/xml", "text/xml")

_XML_DECLARATION = re.compile(rb"^\s*<\?xml\s[^>]*\?>")

#: Methods that change nothing, which a browser may send cross-origin
#: (RFC 9110 section 9.2.1).
SAFE_METHODS = (b"GET", b"HEAD", b"OPTIONS")


def checkIdentifier(identifier: str, code: str, what: str) -> None:
    """
    Check a node name or item id from a URL as the pubsub model would
    (L{identifierProblem}), to answer with a JSON error of its own.

    @raise APIError: 400 with C{code}, saying what is wrong.
    """
    problem = identifierProblem(identifier, what)
    if problem is not None:
        raise APIError(400, code, problem)


class Streamed:
    """
    An answer that is no single JSON body (the inspector's event stream):
    once the request passed every check, C{start(request)} writes to it
    and finishes it when it will.
    """

    def __init__(self, start):
        self.start = start


class APIError(Exception):
    """
    A request the API refuses, rendered as JSON.

    @ivar status: the HTTP status code.
    @ivar code: the short error code of the JSON body, such as
        C{"room-not-found"}.
    @ivar message: why, in plain words.
    @ivar headers: extra response headers, such as C{Allow}.
    """

    def __init__(self, status: int, code: str, message: str, headers=None):
        Exception.__init__(self, message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def parsePayload(body: bytes, maxDepth: int = DEFAULT_MAX_DEPTH) -> domish.Element:
    """
    Parse a published payload: exactly one XML element in UTF-8, with an
    optional XML declaration and surrounding whitespace; no DTD (as on a
    stream, RFC 6120 section 11.1), and no element nested more than
    C{maxDepth} levels below the payload's root (as below a stanza on a
    stream: C{[c2s] max_depth}).

    @return: the element.
    @raise APIError: 400 C{bad-payload}, saying what is wrong.
    """
    text = _XML_DECLARATION.sub(b"", body.lstrip(b"\xef\xbb\xbf"), count=1)
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise APIError(400, "bad-payload", "the payload must not have a DTD")
    # The bounded parser first, so that the depth is refused before
    # anything builds a deep tree; then ElementTree checks the document's
    # shape: one element, nothing but whitespace and comments around it.
    try:
        elements = parseElements(text, maxDepth)
    except TooDeep as e:
        raise APIError(400, "bad-payload", f"the payload nests too deeply: {e}")
    except domish.ParserError as e:
        raise APIError(400, "bad-payload", f"the payload is not well-formed XML ({e})")
    try:
        ElementTree.fromstring(text)
    except ElementTree.ParseError as e:
        raise APIError(
            400,
            "bad-payload",
            f"the payload must be exactly one well-formed XML element ({e})",
        )
    return elements[0]


def splitHost(header: str) -> Optional[str]:
    """
    The host of a C{Host} header (RFC 9110 section 7.2): C{uri-host [":"
    port]}, the host lowercased, without brackets around an IPv6 address
    or a final dot.

    @return: the host, or L{None} if the header is not of that form.
    """
    header = header.strip().lower()
    if header.startswith("["):
        host, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not re.fullmatch(r":\d*", rest)):
            return None
    else:
        host, colon, port = header.partition(":")
        if colon and not port.isdigit() and port != "":
            return None
    host = host.rstrip(".")
    return host or None


def _isAddress(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def hostAllowed(host: str, names: FrozenSet[str]) -> bool:
    """
    Whether a request's host (L{splitHost}) names this server, so that it
    cannot be DNS rebinding: a browser sends the name of the site it was
    sent to, and a hostile site's name may resolve to this server's
    address.

    @param names: the server's own names: C{[server] domain} and the host
        of C{[upload] public_url}.
    @return: true for an IP address (no DNS was involved), C{localhost} and
        its subdomains (RFC 6761 section 6.3: never resolved by DNS), and
        C{names}.
    """
    return (
        _isAddress(host)
        or host == "localhost"
        or host.endswith(".localhost")
        or host in names
    )


class APIResource(resource.Resource):
    """
    C{/api/}: answers every path below it (L{mepserver.api.resource}
    lists the endpoints).

    @ivar mepServer: the L{mepserver.server.Server} it reads and drives.
    """

    isLeaf = True

    def __init__(self, server):
        resource.Resource.__init__(self)
        self.mepServer = server

    # Dispatching.

    def render(self, request):
        gone: List[failure.Failure] = []
        request.notifyFinish().addErrback(gone.append)
        d = defer.ensureDeferred(self._answer(request))
        d.addErrback(self._unexpected)
        d.addCallback(self._write, request, gone)
        return server.NOT_DONE_YET

    async def _answer(self, request):
        """
        @return: C{(status, body, headers)}.
        """
        try:
            self._checkHost(request)
            self._checkOrigin(request)
            self._checkToken(request)
            return await self._route(request)
        except APIError as e:
            return e.status, {"error": e.code, "message": e.message}, e.headers

    def _unexpected(self, reason):
        log.failure("HTTP API request failed", reason)
        return 500, {"error": "internal-error", "message": "the server failed; see its log"}, {}

    def _write(self, answer, request, gone) -> None:
        if gone:
            return
        status, body, headers = answer
        if isinstance(body, Streamed):
            body.start(request)
            return
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        for name, value in headers.items():
            request.setHeader(name.encode("ascii"), value.encode("ascii"))
        request.write(json.dumps(body).encode("utf-8"))
        request.finish()

    def _ownNames(self) -> FrozenSet[str]:
        """
        @return: the names of this server besides loopback ones and
            addresses: C{[server] domain}, and the host of C{[upload]
            public_url} when set.
        """
        config = self.mepServer.config
        names = {config.domain.lower()}
        if config.uploadPublicURL is not None:
            host = urlsplit(config.uploadPublicURL).hostname
            if host:
                names.add(host.lower().rstrip("."))
        return frozenset(names)

    def _checkHost(self, request) -> None:
        """
        @raise APIError: 421 if the C{Host} header does not name this
            server (L{hostAllowed}). A request without C{Host} (HTTP/1.0)
            comes from no browser, and passes.
        """
        header = request.getHeader(b"host")
        if header is None:
            return
        text = header.decode("latin-1")
        host = splitHost(text)
        if host is None or not hostAllowed(host, self._ownNames()):
            raise APIError(
                421,
                "misdirected-request",
                f"this API does not answer for the host {text!r}: use a "
                "loopback name or address, an IP address, [server] domain or "
                "the host of [upload] public_url",
            )

    def _checkOrigin(self, request) -> None:
        """
        @raise APIError: 403 for a request that may change something (not
            L{SAFE_METHODS}) with an C{Origin} other than the API's own: a
            page of another site (RFC 6454) that makes the browser send it.
            Requests without C{Origin} come from no browser page, and pass.
        """
        if request.method in SAFE_METHODS:
            return
        header = request.getHeader(b"origin")
        if header is None:
            return
        origin = header.decode("latin-1").strip()
        parsed = urlsplit(origin.lower())
        host = (request.getHeader(b"host") or b"").decode("latin-1").strip().lower()
        own = set()
        if host:
            own.add(host)
        publicURL = self.mepServer.config.uploadPublicURL
        if publicURL is not None:
            own.add(urlsplit(publicURL.lower()).netloc)
        sameOrigin = (
            parsed.scheme in ("http", "https")
            and parsed.netloc in own
            and parsed.path in ("", "/")
        )
        if not sameOrigin:
            raise APIError(
                403,
                "cross-origin",
                f"{request.method.decode('ascii', 'replace')} requests from "
                f"another origin ({origin!r}) are refused: the API takes changes "
                "from its own origin only",
            )

    def _checkToken(self, request) -> None:
        """
        @raise APIError: 401 if C{[http] token} is set and the request's
            C{Authorization: Bearer} header does not carry it.
        """
        token = self.mepServer.config.apiToken
        if not token:
            return
        header = request.getHeader(b"authorization") or b""
        scheme, _, given = header.partition(b" ")
        # Compare in constant time, whatever the header holds.
        valid = hmac.compare_digest(given.strip(), token.encode("utf-8"))
        if scheme.lower() != b"bearer" or not valid:
            raise APIError(
                401,
                "unauthorized",
                "this API needs the header 'Authorization: Bearer <token>' "
                "with the token of the server's [http] token setting",
                {"WWW-Authenticate": 'Bearer realm="mepserver"'},
            )

    async def _route(self, request):
        try:
            segments = [s.decode("utf-8") for s in request.postpath]
        except UnicodeDecodeError:
            raise APIError(
                400, "bad-path", "the path must be UTF-8 once its %-escapes are decoded"
            )
        if segments and segments[-1] == "":
            segments.pop()
        method = request.method.decode("ascii", "replace")
        if segments == ["rooms"]:
            self._allow(method, "GET")
            return 200, self.listRooms(), {}
        if len(segments) == 2 and segments[0] == "rooms":
            self._allow(method, "GET")
            return 200, self.describeRoom(self._room(segments[1])), {}
        if len(segments) == 3 and segments[0] == "rooms" and segments[2] == "nodes":
            self._allow(method, "GET")
            return 200, await self.listNodes(self._room(segments[1])), {}
        if (
            len(segments) == 5
            and segments[0] == "rooms"
            and segments[2] == "nodes"
            and segments[4] == "items"
        ):
            self._allow(method, "GET", "POST")
            room = self._room(segments[1])
            checkIdentifier(segments[3], "bad-node", "the node name")
            if method == "GET":
                return 200, await self.listItems(room, segments[3]), {}
            return 201, await self.publish(request, room, segments[3]), {}
        if segments == ["reset"]:
            self._allow(method, "POST")
            return 200, await self.reset(), {}
        if (
            len(segments) == 7
            and segments[0] == "rooms"
            and segments[2] == "nodes"
            and segments[4] == "items"
            and segments[6] == "deliveries"
        ):
            self._allow(method, "GET")
            room = self._room(segments[1])
            return 200, self.deliveries(request, room, segments[3], segments[5]), {}
        if segments == ["sessions"]:
            from mepserver.inspector.views import describeSessions

            self._allow(method, "GET")
            if getattr(self.mepServer, "sessions", None) is None:
                raise APIError(
                    503,
                    "sessions-unavailable",
                    "this server runs as a component: its host has the users' sessions",
                )
            return 200, describeSessions(self.mepServer), {}
        if segments[:1] == ["inspector"]:
            # Imported here: the inspector's resources use this module's.
            from mepserver.inspector.resource import route

            return await route(self, request, method, segments[1:])
        raise APIError(404, "not-found", f"there is no API endpoint at {request.path.decode('utf-8', 'replace')}")

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise APIError(
                405,
                "method-not-allowed",
                f"{method} is not allowed here; use {' or '.join(allowed)}",
                {"Allow": ", ".join(allowed)},
            )

    def _room(self, name: str):
        """
        @param name: a room's localpart on the MUC service, or its bare JID.
        @return: the L{mepserver.muc.room.Room}.
        @raise APIError: 404 C{room-not-found}.
        """
        domain = self.mepServer.config.mucDomain
        try:
            roomJID = jid.JID(name) if "@" in name else jid.JID(tuple=(name, domain, None))
        except (jid.InvalidFormat, UnicodeError):
            raise APIError(404, "room-not-found", f"{name!r} is not a valid room name or JID")
        roomJID = roomJID.userhostJID()
        room = self.mepServer.rooms.get(roomJID) if roomJID.host == domain else None
        if room is None:
            raise APIError(404, "room-not-found", f"there is no room {roomJID.full()} on {domain}")
        return room

    def _mep(self):
        """
        @return: the server's MEP service.
        @raise APIError: 503 while there is none.
        """
        mep = getattr(self.mepServer, "mep", None)
        if mep is None:
            raise APIError(
                503,
                "mep-unavailable",
                "this server has no MUC Eventing Protocol (XEP-0316) service yet",
            )
        return mep

    # Rooms.

    def listRooms(self) -> Dict[str, Any]:
        """
        @return: C{{"rooms": [...]}}, by room JID.
        """
        rooms = sorted(self.mepServer.rooms, key=lambda room: room.jid.full())
        return {
            "rooms": [
                {
                    "jid": room.jid.full(),
                    "name": room.config.name,
                    "persistent": room.config.persistent,
                    "locked": room.locked,
                    "occupants": len(room.occupants),
                }
                for room in rooms
            ]
        }

    def describeRoom(self, room) -> Dict[str, Any]:
        """
        @return: a room's configuration (the C{muc#roomconfig} field names
            without prefix, L{mepserver.muc.roomconfig.RoomConfig.STORED_KEYS})
            and occupants, in order of arrival.
        """
        config = room.config.toStored()
        return {
            "jid": room.jid.full(),
            "name": room.config.name,
            "persistent": room.config.persistent,
            "locked": room.locked,
            "subject": room.subject,
            "config": config,
            "occupants": [
                {
                    "nick": occupant.nick,
                    "jid": occupant.jid.full(),
                    "role": occupant.role.value,
                    "affiliation": occupant.affiliation.value,
                    "realJID": occupant.realJID.full(),
                    "sessions": [
                        self._session(room, session, payload)
                        for session, payload in occupant.sessions.items()
                    ],
                }
                for occupant in room.occupants.values()
            ],
        }

    def _session(self, room, session: jid.JID, payload) -> Dict[str, Any]:
        """
        @return: one session of an occupant: its real full JID, the caps of
            its presence to the room (or L{None}), whether the server
            verified them, and the namespaces whose notifications it wants
            (XEP-0163 section 4.3) as MEP's interest index has them.
        """
        caps = parseCaps(payload.element()) if isinstance(payload, PresencePayload) else None
        features = self.mepServer.caps.known(caps) if caps is not None else None
        mep = getattr(self.mepServer, "mep", None)
        interests = mep.interests.of(room).get(session) if mep is not None else ()
        return {
            "jid": session.full(),
            "caps": None
            if caps is None
            else {"hash": caps.hash, "ver": caps.ver, "node": caps.node},
            "capsVerified": features is not None,
            "interests": sorted(interests),
        }

    # MEP nodes and items.

    async def _service(self, room):
        """
        @return: the room's MEP L{mepserver.pubsub.model.Service}.
        """
        return await self._mep().registry.get(room.jid)

    async def listNodes(self, room) -> Dict[str, Any]:
        """
        @return: C{{"room": ..., "nodes": [{"node": ..., "items": n}]}},
            by NodeID.
        """
        service = await self._service(room)
        return {
            "room": room.jid.full(),
            "nodes": [
                {"node": identifier, "items": len(node.items)}
                for identifier, node in sorted(service.nodes.items())
            ],
        }

    async def listItems(self, room, nodeIdentifier: str) -> Dict[str, Any]:
        """
        @return: C{{"room": ..., "node": ..., "items": [...]}}, oldest
            first.
        @raise APIError: 404 C{node-not-found}.
        """
        service = await self._service(room)
        node = service.nodes.get(nodeIdentifier)
        if node is None:
            raise APIError(
                404,
                "node-not-found",
                f"{room.jid.full()} has no node {nodeIdentifier!r}",
            )
        return {
            "room": room.jid.full(),
            "node": nodeIdentifier,
            "items": [
                {
                    "id": item.id,
                    "published": formatDateTime(item.published),
                    "publisher": item.publisher.full() if item.publisher is not None else None,
                    "payload": item.payload,
                }
                for item in node.items.values()
            ],
        }

    async def publish(self, request, room, nodeIdentifier: str) -> Dict[str, Any]:
        """
        Publish a room event as the room (DESIGN.md section 6) through
        C{server.mep.generateEvent}.

        @param room: the L{mepserver.muc.room.Room}.
        @return: C{{"id": ..., "node": ..., "room": ...}}.
        @raise APIError: 400, 404, 413, 415, 503 or 507.
        """
        contentType = request.getHeader(b"content-type") or b""
        contentType = contentType.decode("latin-1").split(";")[0].strip().lower()
        if contentType not in XML_CONTENT_TYPES and not contentType.endswith("+xml"):
            raise APIError(
                415,
                "unsupported-media-type",
                "send the payload as XML, with 'Content-Type: application/xml'",
            )
        limit = self.mepServer.config.maxStanzaSize
        request.content.seek(0)
        body = request.content.read(limit + 1)
        if len(body) > limit:
            raise APIError(413, "payload-too-large", f"the payload is larger than {limit} bytes")
        payload = parsePayload(body, self.mepServer.config.maxDepth)
        itemIdentifier = None
        if b"id" in request.args:
            try:
                itemIdentifier = request.args[b"id"][0].decode("utf-8")
            except UnicodeDecodeError:
                raise APIError(400, "bad-item-id", "the item id (?id=) must be UTF-8")
            if not itemIdentifier:
                raise APIError(400, "bad-request", "the item id (?id=) must not be empty")
            checkIdentifier(itemIdentifier, "bad-item-id", "the item id (?id=)")
        mep = self._mep()
        roomJID = room.jid
        try:
            identifier = await mep.generateEvent(roomJID, nodeIdentifier, payload, itemIdentifier)
        except errors.RoomNotFound as e:
            raise APIError(404, "room-not-found", e.text or f"there is no room {roomJID.full()}")
        except errors.ItemNotFound as e:
            raise APIError(404, "not-found", e.text or "not found")
        except (errors.Forbidden, errors.NotAllowed) as e:
            raise APIError(403, "forbidden", e.text or "the room may not publish this")
        except (errors.LimitReached, errors.PayloadTooBig) as e:
            # A quota of the room's MEP service ([pubsub] max_nodes,
            # max_bytes): the event cannot be stored (RFC 4918 section 11.5).
            raise APIError(507, "quota-exceeded", e.text or "a quota of the room is reached")
        except errors.Refusal as e:
            raise APIError(400, "bad-request", e.text or "the event was refused")
        return {"id": identifier, "node": nodeIdentifier, "room": roomJID.full()}

    # The delivery explainer.

    def deliveries(self, request, room, nodeIdentifier: str, itemIdentifier: str) -> Dict[str, Any]:
        """
        What became of an item for each session of the room
        (L{mepserver.mep.deliveries.DeliveryLog}).

        @raise APIError: 400 for a bad node name, item id or occupant;
            404 C{item-not-recorded}; 503 without a delivery log.
        """
        from mepserver.inspector.views import describeDeliveries

        checkIdentifier(nodeIdentifier, "bad-node", "the node name")
        checkIdentifier(itemIdentifier, "bad-item-id", "the item id")
        log = getattr(self.mepServer, "deliveries", None)
        if log is None:
            raise APIError(503, "mep-unavailable", "this server records no MEP deliveries")
        serviceJID = room.jid
        where = room.jid.full()
        if b"occupant" in request.args:
            try:
                nick = request.args[b"occupant"][0].decode("utf-8")
                serviceJID = jid.JID(tuple=(room.jid.user, room.jid.host, nick))
            except (UnicodeDecodeError, jid.InvalidFormat, UnicodeError):
                raise APIError(400, "bad-occupant", "the occupant (?occupant=) must be a valid nick")
            where = serviceJID.full()
        publication = log.find(room.jid, serviceJID, nodeIdentifier, itemIdentifier)
        if publication is None:
            raise APIError(
                404,
                "item-not-recorded",
                f"no publication of item {itemIdentifier!r} on node "
                f"{nodeIdentifier!r} at {where} is recorded: the explainer keeps "
                f"the last {log.size} publications of each room since the server "
                "started ([inspector] deliveries_per_room)",
            )
        return describeDeliveries(publication, log.deliveries(publication, room))

    # Reset.

    async def reset(self) -> Dict[str, Any]:
        """
        L{mepserver.server.Server.reset}.

        @raise APIError: 409 C{reset-not-supported} on SQLite.
        """
        try:
            self.mepServer.checkReset()
        except errors.ResetNotSupported as e:
            raise APIError(409, "reset-not-supported", str(e))
        await self.mepServer.reset(text="the server was reset through its HTTP API")
        return {"reset": True}
