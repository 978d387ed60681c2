# -*- test-case-name: tests.test_inspector -*-
"""
What the inspector shows, as JSON-ready dicts read from the server's
models: client sessions (L{describeSessions}), a room in full with its MEP
services and recent publications (L{describeRoomInDetail}), and the
delivery explainer's answer (L{describeDeliveries}).

Everything is read synchronously from memory, except a persistent room's
own MEP service, which may have to be loaded from the store once.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from twisted.internet.interfaces import ISSLTransport
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish

from mepserver.c2s.sasl import SASLStep
from mepserver.c2s.websocket import WebSocketXmlStream
from mepserver.caps import notifyInterests, parseCaps
from mepserver.muc.stanzas import PresencePayload
from mepserver.datetimes import formatDateTime
from mepserver.mep.deliveries import capsState


def _peer(transport) -> Optional[str]:
    try:
        peer = transport.getPeer()
    except Exception:
        return None
    host, port = getattr(peer, "host", None), getattr(peer, "port", None)
    if host is None:
        return None
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tls(xs) -> Dict[str, Any]:
    """
    @return: how the stream is encrypted: C{{"secure": bool, "how":
        "STARTTLS" | "direct TLS" | "wss" | None, "version": ...}}.
    """
    transport = xs.transport
    secure = bool(transport is not None and xs.isSecure())
    how = None
    if secure:
        if isinstance(xs, WebSocketXmlStream):
            how = "wss"
        elif xs.secure:
            how = "STARTTLS"
        elif ISSLTransport.providedBy(transport):
            how = "direct TLS"
    version = None
    if secure and not isinstance(xs, WebSocketXmlStream):
        try:
            version = transport.getHandle().get_protocol_version_name()
        except Exception:
            version = None
    return {"secure": secure, "how": how, "version": version}


def _mechanism(xs) -> Optional[str]:
    """
    @return: the SASL mechanism the stream negotiated: the one recorded at
        binding, or the SASL step's while negotiation goes on.
    """
    mechanism = getattr(xs.authenticator, "mechanism", None)
    if mechanism is not None:
        return mechanism
    for step in getattr(xs.authenticator, "steps", ()):
        if isinstance(step, SASLStep) and step.done:
            return step.chosen
    return None


def _caps(server, entity: jid.JID, presence) -> Optional[Dict[str, Any]]:
    """
    @return: the caps of a presence (XEP-0115) with what the server made of
        them, or L{None}.

    @param presence: a session's presence element, or the
        L{PresencePayload} a room keeps of an occupant's session.
    """
    if isinstance(presence, PresencePayload):
        presence = presence.element()
    caps = parseCaps(presence) if isinstance(presence, domish.Element) else None
    if caps is None:
        return None
    outcome = server.caps.outcome(entity, caps)
    features = server.caps.features(entity, caps)
    return {
        "hash": caps.hash,
        "node": caps.node,
        "ver": caps.ver,
        "status": outcome.status if outcome is not None else None,
        "computed": outcome.computed if outcome is not None else None,
        "error": outcome.error if outcome is not None else None,
        "features": sorted(features) if features is not None else None,
        "notify": sorted(notifyInterests(features)) if features is not None else None,
    }


def describeSession(server, session, rooms: List[Dict[str, str]]) -> Dict[str, Any]:
    """
    @param session: a L{mepserver.c2s.sessions.Session}.
    @param rooms: the rooms it is in, C{{"room": ..., "nick": ...}}.
    @return: its full JID, transport, peer address, TLS, SASL mechanism,
        presence, client state (XEP-0352), stream management (XEP-0198),
        carbons (XEP-0280), the caps of its presence with what they stand
        for, and the rooms it is in.
    """
    xs = session.xmlstream
    sm = session.sm
    return {
        "jid": session.jid.full(),
        "transport": "websocket" if isinstance(xs, WebSocketXmlStream) else "tcp",
        "peer": _peer(xs.transport) if xs.transport is not None else None,
        "tls": _tls(xs),
        "sasl": _mechanism(xs),
        "available": session.available,
        "priority": session.priority,
        "active": session.active,
        "carbons": session.carbons,
        "streamManagement": None
        if sm is None
        else {
            "resumable": sm.id is not None,
            "hibernating": sm.hibernation is not None,
            "inbound": sm.inbound,
            "sent": sm.sent,
            "acked": sm.acked,
            "unacked": len(sm.queue),
        },
        "caps": _caps(server, session.jid, session.presence),
        "rooms": rooms,
    }


def describeSessions(server) -> Dict[str, Any]:
    """
    @return: C{{"sessions": [...]}}, every bound session by full JID.
    """
    sessions = sorted(server.sessions.allSessions(), key=lambda s: s.jid.full())
    rooms: Dict[jid.JID, List[Dict[str, str]]] = {}
    for room in server.rooms:
        for occupant in room.occupants.values():
            for session in occupant.sessions:
                rooms.setdefault(session, []).append(
                    {"room": room.jid.full(), "nick": occupant.nick}
                )
    return {
        "sessions": [
            describeSession(server, session, rooms.get(session.jid, []))
            for session in sessions
        ]
    }


def describeDeliveries(publication, deliveries) -> Dict[str, Any]:
    """
    @param deliveries: L{mepserver.mep.deliveries.Delivery}s.
    @return: the body of C{GET
        /api/rooms/{room}/nodes/{node}/items/{id}/deliveries}.
    """
    return {
        "room": publication.room.full(),
        "node": publication.node,
        "item": publication.item,
        "deliveries": [delivery.asJSON() for delivery in deliveries],
    }


def _items(node) -> List[Dict[str, Any]]:
    return [
        {
            "id": item.id,
            "published": formatDateTime(item.published),
            "publisher": item.publisher.full() if item.publisher is not None else None,
            "payload": item.payload,
        }
        for item in node.items.values()
    ]


def _service(service, nick: Optional[str]) -> Dict[str, Any]:
    return {
        "jid": service.jid.full(),
        "occupant": nick,
        "nodes": [
            {
                "node": identifier,
                "config": node.config.values(),
                "subscriptions": sorted(s.full() for s in node.subscriptions),
                "items": _items(node),
            }
            for identifier, node in sorted(service.nodes.items())
        ],
    }


async def describeRoomInDetail(server, room) -> Dict[str, Any]:
    """
    @param room: a L{mepserver.muc.room.Room}.
    @return: everything the inspector shows of a room: its configuration
        and subject; its occupants (nick, occupant JID, role, affiliation,
        real JID, occupant id) and each one's sessions with their caps,
        what the room made of them and their MEP interests; the room's and
        each occupant's MEP nodes with configuration, subscriptions and
        items; and its recent publications with their deliveries, newest
        first.
    """
    mep = getattr(server, "mep", None)
    tracker = mep.interests.tracker(room) if mep is not None else None
    occupants = []
    for occupant in room.occupants.values():
        sessions = []
        for session, payload in occupant.sessions.items():
            described = {"jid": session.full(), "caps": None, "interests": []}
            if tracker is not None:
                described["caps"] = _caps(server, session, payload)
                code, reason = capsState(tracker, server.caps, session)
                described["capsState"] = {"code": code, "reason": reason}
                described["interests"] = sorted(tracker.interests.get(session))
            sessions.append(described)
        occupants.append(
            {
                "nick": occupant.nick,
                "jid": occupant.jid.full(),
                "role": occupant.role.value,
                "affiliation": occupant.affiliation.value,
                "realJID": occupant.realJID.full(),
                "occupantId": occupant.occupantId,
                "sessions": sessions,
            }
        )
    services = []
    publications = []
    if mep is not None:
        services.append(_service(await mep.registry.get(room.jid), None))
        for occupant in list(room.occupants.values()):
            service = mep.registry.cached(occupant.jid)
            if service is not None:
                services.append(_service(service, occupant.nick))
        log = mep.resource.deliveries
        if log is not None:
            for publication in reversed(log.publications(room.jid)):
                described = describeDeliveries(publication, log.deliveries(publication, room))
                described["service"] = publication.service.full()
                described["published"] = formatDateTime(publication.published)
                described["publisher"] = (
                    publication.publisher.full() if publication.publisher is not None else None
                )
                publications.append(described)
    return {
        "jid": room.jid.full(),
        "name": room.config.name,
        "subject": room.subject,
        "locked": room.locked,
        "persistent": room.config.persistent,
        "config": room.config.toStored(),
        "occupants": occupants,
        "services": services,
        "publications": publications,
    }
