# -*- test-case-name: tests.test_mep -*-
"""
The MUC service's MEP protocol handler (XEP-0316): wokkel's pubsub service
for the room and occupant JIDs (through L{mepserver.mep.resource.MEPResource}),
the follower of the rooms' occupants that turns their caps into interests
and sends last items, and the entry point of room events
(L{MEPHandler.generateEvent}, DESIGN.md section 6).

Caps (XEP-0115) come from the C{<c/>} of each session's join presence and
later presence to its occupant JID (R35), are resolved through the
server-wide L{mepserver.caps.CapsCache} with a disco#info query from the
bare room JID to the session's real full JID (OQ-13), and their
C{NODE+notify} features become the session's interests in that room (one
L{mepserver.mep.interests.RoomInterests}, keyed by session: R43). Once a session's
interests are known, after the join sequence (OQ-15), it gets the last item
of every node it wants at the room and at every occupant, with a delay
stamp (R68); a caps change sends only what became interesting (OQ-14).
"""

from __future__ import annotations

from typing import Iterable, Optional, Union

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel.pubsub import NS_PUBSUB
from zope.interface import implementer

from mepserver import errors
from mepserver.caps import parseCaps
from mepserver.interfaces import IOccupantObserver, IRoomEvents, IRoomObserver
from mepserver.jids import occupantJID
from mepserver.mep.interests import RoomInterests
from mepserver.pubsub.service import PubSubHandler
from mepserver.stanza import TooDeep, elementText, parseElements

log = Logger()


def payloadXml(payload: Union[str, bytes, domish.Element]) -> str:
    """
    A room event's payload as the XML text the engine stores.

    @param payload: one element, or its XML text.
    @raise errors.InvalidPayload: the text is not exactly one element.
    """
    if domish.IElement.providedBy(payload):
        return elementText(payload)
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    try:
        # Bounded: the server serialises the payload in every notification.
        elements = parseElements(payload.encode("utf-8"))
    except TooDeep as e:
        raise errors.InvalidPayload(f"the payload nests too deeply: {e}") from None
    except Exception:
        raise errors.InvalidPayload("the payload is not well-formed XML") from None
    if len(elements) != 1:
        raise errors.InvalidPayload("the payload must be exactly one XML element")
    return elementText(elements[0])


@implementer(IRoomObserver, IOccupantObserver, IRoomEvents)
class MEPHandler(PubSubHandler):
    """
    MEP on the MUC component.

    Observes pubsub IQs to room and occupant JIDs that L{MUCHandler} left
    for it (OQ-5). Errors returned: those of
    L{mepserver.pubsub.resource.ServiceResource} and of
    the context (OQ-9: C{not-authorized} + C{presence-subscription-required}
    for a non-occupant's subscribe or items, C{forbidden} for publishing
    and owner use cases), C{item-not-found} for an unknown room or nick.

    Follows the MUC handler (C{sessionEntered}, C{presenceChanged},
    C{nickChanged}, C{sessionDeparted}) and the room registry
    (C{roomCreated}, C{roomDiscarded}, C{roomsReset}).

    @ivar interests: the L{RoomInterests} of the rooms' sessions, shared
        with the resource.
    """

    def __init__(self, resource, ids):
        """
        Make the handler for C{resource}'s rooms and register with them:
        it follows their lifecycle and takes their events.
        """
        PubSubHandler.__init__(self, resource, ids)
        self.interests: RoomInterests = resource.interests
        resource.rooms.addObserver(self)
        resource.rooms.serveEventsWith(self)

    @property
    def rooms(self):
        return self.resource.rooms

    @property
    def registry(self):
        return self.resource.registry

    def handleRequest(self, iq):
        """
        Answer items requests to a root collection node (no C{node}) with
        C{feature-not-implemented} + C{unsupported} (XEP-0060 section
        6.5.9.5, MEP R64): wokkel's parser would answer C{nodeid-required}.
        """
        if not iq.handled and iq.getAttribute("type") == "get":
            for element in iq.elements(NS_PUBSUB, "pubsub"):
                for items in element.elements(NS_PUBSUB, "items"):
                    if not items.getAttribute("node"):
                        iq.handled = True
                        self.send(errors.stanzaError(
                            errors.Unsupported("retrieve-items", "the root collection node has no items")
                        ).toResponse(iq))
                        return
        PubSubHandler.handleRequest(self, iq)

    # Room events (XEP-0316 section 2, DESIGN.md section 6).

    def findRoom(self, room):
        """
        @param room: a L{mepserver.muc.room.Room}, a room JID, or a room's
            localpart on this service.
        @raise errors.RoomNotFound: there is no such room.
        """
        if isinstance(room, str):
            text = room if "@" in room else f"{room}@{self.rooms.domain}"
            try:
                room = jid.internJID(text)
            except jid.InvalidFormat:
                raise errors.RoomNotFound(f"{text!r} is no room JID") from None
        if isinstance(room, jid.JID):
            found = self.rooms.get(room)
            if found is None or room.host != self.rooms.domain:
                raise errors.RoomNotFound(f"there is no room {room.userhost()}")
            return found
        return room

    def generateEvent(self, room, nodeIdentifier: str, payload, itemIdentifier: Optional[str] = None):
        """
        Publish a room event as the room (OQ-8): auto-create the node (R28),
        store the item, notify the interested sessions from the bare room
        JID (R9, R10).

        @param room: see L{findRoom}.
        @param payload: one element, or its XML text.
        @return: a Deferred firing with the item id, or failing with
            L{errors.RoomNotFound}, L{errors.InvalidPayload} or another
            L{errors.Refusal}.
        """
        return defer.ensureDeferred(self._generateEvent(room, nodeIdentifier, payload, itemIdentifier))

    async def _generateEvent(self, room, nodeIdentifier, payload, itemIdentifier):
        room = self.findRoom(room)
        text = payloadXml(payload)
        service = await self.registry.get(room.jid)
        context = self.resource.context(room, None)
        result = service.publish(context, room.jid, nodeIdentifier, text, itemIdentifier or None)
        await self.resource.published(service, result)
        return result.item.id

    # Last items (R68, OQ-2, OQ-14, OQ-15, OQ-16).

    async def sendLastItems(self, room, session: jid.JID, namespaces: Iterable[str], services=None) -> None:
        """
        Send a session the last item of every node it wants at the room's
        service and at each occupant's, from that service's JID, with a
        delay stamp.

        @param services: only these service JIDs; all of the room's if
            L{None}.
        """
        namespaces = frozenset(namespaces)
        if not namespaces:
            return
        if services is None:
            services = [room.jid] + [occupant.jid for occupant in list(room.occupants.values())]
        for serviceJID in services:
            service = self.registry.cached(serviceJID)
            if service is None and serviceJID.resource is None:
                service = await self.registry.get(serviceJID)
            if service is None or not service.nodes:
                continue
            if room.occupantOf(session) is None:
                return
            context = self.resource.context(room, serviceJID.resource)
            for node, item in service.lastItems(context, session, namespaces):
                self.notifyItems(service.jid, node, [item], [session], delay=item.published)
                if self.resource.deliveries is not None:
                    self.resource.deliveries.lastItemSent(
                        room, service.jid, node.identifier, item.id, session
                    )

    def _interestsAdded(self, namespaces, room, session, services=None):
        if not namespaces or room.occupantOf(session) is None:
            return None
        if services is None:
            services = [room.jid] + [occupant.jid for occupant in list(room.occupants.values())]
        if not self._mayHaveLastItems(services):
            return None
        return defer.ensureDeferred(self.sendLastItems(room, session, namespaces, services))

    def _mayHaveLastItems(self, services) -> bool:
        """
        Whether L{sendLastItems} could find a last item at these services:
        unless each is loaded without nodes, or is an occupant's that was
        never made (the usual room, where nobody published: then a join
        costs no coroutine, issue 16).
        """
        for serviceJID in services:
            service = self.registry.cached(serviceJID)
            if service is None:
                if serviceJID.resource is None:
                    # The room's own service, loaded from the store first.
                    return True
            elif service.nodes:
                return True
        return False

    def _announce(self, room, session, presence, initial) -> None:
        added = self.interests.tracker(room).announceNow(session, parseCaps(presence), initial)
        if isinstance(added, defer.Deferred):
            added.addCallback(self._interestsAdded, room, session)
            d = added
        else:
            # Known caps: no Deferred unless last items go out.
            try:
                d = self._interestsAdded(added, room, session)
            except Exception:
                d = defer.fail()
            if d is None:
                return
        d.addErrback(lambda f: log.failure("MEP after presence of {jid}", f, jid=session.full()))

    # Following the MUC handler.

    def sessionEntered(self, room, occupant, session: jid.JID, presence) -> None:
        """
        A session joined, or re-joined (OQ-16), and got the whole join
        sequence: its caps start from nothing (R29, R35).
        """
        self._announce(room, session, presence, True)

    def presenceChanged(self, room, occupant, session: jid.JID, presence) -> None:
        """
        An occupant's session sent new presence (R35, OQ-14, R69).
        """
        self._announce(room, session, presence, False)

    def nickChanged(self, room, occupant, oldNick: str, session: jid.JID, presence) -> None:
        """
        OQ-2: the occupant's service moves to its new occupant JID, and
        every interested session gets the moved nodes' last items from
        there; then the presence may carry new caps.
        """
        old = occupantJID(room.jid, oldNick)
        service = self.registry.move(old, occupant.jid)
        if service is not None and service.nodes:
            tracker = self.interests.tracker(room)
            for other in room.sessions():
                wanted = tracker.interests.get(other)
                if wanted:
                    d = defer.ensureDeferred(
                        self.sendLastItems(room, other, wanted, [occupant.jid])
                    )
                    d.addErrback(lambda f: log.failure("MEP after a nick change", f))
        self._announce(room, session, presence, False)

    def sessionDeparted(self, room, departure) -> None:
        """
        R30, OQ-1: a session left (or was removed); its interests and
        explicit subscriptions go, and with the occupant's last session its
        whole service.
        """
        session = departure.session
        self.interests.tracker(room).forget(session)
        occupant = departure.occupant
        gone = [session]
        if departure.lastSession:
            self.registry.forget(occupant.jid)
            if all(o.realJID != occupant.realJID for o in room.occupants.values()):
                gone.append(occupant.realJID)
        for serviceJID in [room.jid] + [o.jid for o in list(room.occupants.values())]:
            service = self.registry.cached(serviceJID)
            if service is None:
                continue
            for node in service.nodes.values():
                # A list, not a generator: any() would stop at the first
                # subscription removed and leave the others.
                if any([node.subscriptions.pop(entity, None) for entity in gone]):
                    self.registry.saveNode(service, node).addErrback(
                        lambda f: log.failure("MEP subscription removal", f)
                    )

    # Following the rooms.

    def roomCreated(self, room) -> None:
        """
        A new room: whatever a store still holds for its JID (a temporary
        room of an earlier run) is not its own.
        """
        self._discard(room.jid)

    def roomDiscarded(self, room) -> None:
        """
        A room was destroyed, or emptied and temporary: everything MEP
        held for it goes (OQ-17).
        """
        self._discard(room.jid)
        for occupant in list(room.occupants.values()):
            self.registry.forget(occupant.jid)

    def _discard(self, roomJID: jid.JID) -> None:
        self.interests.discard(roomJID)
        self.registry.forgetUnder(roomJID)
        self.registry.remove(roomJID).addErrback(
            lambda f: log.failure("MEP removal of {room}", f, room=roomJID.full())
        )

    def roomsReset(self) -> None:
        self.reset()

    def reset(self) -> None:
        """
        Forget every service and interest held in memory, for test fixtures
        (L{mepserver.testing.RunningServer.reset}).
        """
        self.registry.reset()
        self.interests.reset()
