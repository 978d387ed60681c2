# -*- test-case-name: tests.test_mep -*-
"""
The virtual pubsub services of MEP (XEP-0316 sections 3 to 6) as wokkel
sees them: L{MEPResource} locates, per request, the room's own service (the
bare room JID) or an occupant's (an occupant JID), with a
L{mepserver.mep.model.MEPContext} for the requester; anything else gets
C{item-not-found} (MEP R8) or, for the service itself,
C{service-unavailable}.
"""

from __future__ import annotations

from typing import Optional

from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from wokkel import disco, pubsub
from wokkel.disco import NS_DISCO_INFO, NS_DISCO_ITEMS
from wokkel.pubsub import NS_PUBSUB
from zope.interface import implementer

from mepserver import errors
from mepserver.interfaces import IOccupantServices
from mepserver.mep.model import FEATURES, MEPContext
from mepserver.pubsub.resource import NoServiceResource, ServiceResource
from mepserver.pubsub.model import Service

log = Logger()


@implementer(IOccupantServices)
class MEPResource(ServiceResource):
    """
    The MEP services of the MUC service's rooms.

    @ivar rooms: the L{mepserver.muc.registry.Rooms}.
    @ivar interests: the L{mepserver.mep.interests.RoomInterests} of the
        rooms' sessions, which the handler keeps current.
    @ivar backends: the bare JIDs that publish as the room (OQ-8).
    @ivar deliveries: the L{mepserver.mep.deliveries.DeliveryLog} that
        records who each publication reaches and why others are left
        out, or L{None}.
    """

    features = list(FEATURES)

    def __init__(self, registry, rooms, interests, backends=(), deliveries=None):
        ServiceResource.__init__(self, registry)
        self.rooms = rooms
        self.interests = interests
        self.backends = frozenset(jid.internJID(b).userhostJID() for b in backends)
        self.noService = NoServiceResource()
        self.deliveries = deliveries

    def locateResource(self, request):
        recipient = request.recipient
        if recipient is None or recipient.user is None or recipient.host != self.rooms.domain:
            return self.noService
        return self

    def discoIdentities(self, requestor, target):
        # XEP-0316 section 6, OQ-7: pubsub/mep (the room adds
        # conference/text itself).
        return [disco.DiscoIdentity("pubsub", "mep")]

    def context(self, room, nick: Optional[str]) -> MEPContext:
        """
        @return: the context of the room's service (C{nick} L{None}) or of
            the occupant C{nick}'s.
        """
        return MEPContext(room, nick, self.interests.of(room), self.backends)

    async def published(self, service, result) -> None:
        """
        Record who the publication reaches, and why the room's other
        sessions are left out (the delivery explainer), with the state
        that decided; then store it and notify as for any service.
        """
        if self.deliveries is not None:
            room = self.rooms.get(service.jid)
            try:
                if room is not None:
                    self.deliveries.record(
                        room,
                        service,
                        self.context(room, service.jid.resource),
                        result,
                        self.interests.tracker(room),
                    )
            except Exception:
                # A diagnostic never stops an event.
                log.failure("Recording the deliveries of {item}", item=result.item.id)
        await ServiceResource.published(self, service, result)

    async def locate(self, request):
        target = request.recipient
        room = self.rooms.get(target)
        if room is None or not (room.existsFor(request.sender) or room.occupantOf(request.sender)):
            raise errors.RoomNotFound(f"there is no room {target.userhost()}")
        nick = target.resource
        if nick is not None and room.occupant(nick) is None:
            context = self.context(room, nick)
            if not context.sharesPresence(request.sender):
                # OQ-9: a non-occupant learns nothing, not even whether
                # the nick is taken: an empty service nobody owns.
                return Service(target, None, None), context
            raise errors.OccupantNotFound(f"there is no occupant {target.full()}")
        service = await self.registry.get(target)
        return service, self.context(room, nick)

    def handlesOccupantIQ(self, room, sender: jid.JID, occupantJID: jid.JID, kind: str, payload) -> bool:
        """
        The dispatch table of OQ-5 for a request to an occupant JID: pubsub
        requests are answered here (R7), never forwarded; so are an
        occupant's disco#items (no node, or a MEP node) and disco#info about
        a MEP node (R54, R55), and disco#info about a node that is no caps
        C{node#ver}. The rest goes to the occupant's client.
        """
        if kind not in ("get", "set") or payload is None:
            return False
        if payload.uri in (NS_PUBSUB, pubsub.NS_PUBSUB_OWNER):
            return True
        if payload.uri not in (NS_DISCO_INFO, NS_DISCO_ITEMS) or payload.name != "query":
            return False
        if room is None or room.occupantOf(sender) is None:
            return False
        node = payload.getAttribute("node")
        if payload.uri == NS_DISCO_ITEMS:
            if not node:
                return True
        elif not node or "#" in node:
            return False
        service = self.registry.cached(occupantJID)
        if service is not None and node in service.nodes:
            return True
        return payload.uri == NS_DISCO_INFO

    # Disco: the room's identity and features join the MUC's (R1, R2).

    async def _discoInfo(self, args):
        requestor, target, nodeIdentifier = args
        if not nodeIdentifier and target.resource is None:
            room = self.rooms.get(target)
            if room is None:
                return []
            info = list(self.discoIdentities(requestor, target))
            info.append(disco.DiscoFeature(NS_DISCO_ITEMS))
            info.append(disco.DiscoFeature(NS_PUBSUB))
            info.extend(disco.DiscoFeature(f"{NS_PUBSUB}#{f}") for f in self.features)
            return info
        if not nodeIdentifier:
            return []
        try:
            return await ServiceResource._discoInfo(self, args)
        except errors.Refusal:
            return []

    # Root collection node (XEP-0248; MEP R66; R64 is in the handler).

    async def _subscriptions(self, request):
        """
        R52, OQ-11: an occupant's explicit subscriptions, and its implicit
        one (its full JID, C{subscribed}) to every node it may access.
        """
        result = await ServiceResource._subscriptions(self, request)
        service, context = await self.locate(request)
        if context.sharesPresence(request.sender):
            listed = {(s.nodeIdentifier, s.subscriber) for s in result}
            for node in service.visibleNodes(context, request.sender):
                if (node.identifier, request.sender) not in listed:
                    result.append(pubsub.Subscription(node.identifier, request.sender, "subscribed"))
        return result

    async def _subscribe(self, request):
        if not request.nodeIdentifier:
            service, context = await self.locate(request)
            if request.subscriber.userhostJID() != request.sender.userhostJID():
                raise errors.InvalidJID("you may subscribe your own JID only")
            context.admit(request.sender)
            # XEP-0060 section 9.1: the implicit subscription is to the root.
            return pubsub.Subscription(None, request.subscriber, "subscribed")
        return await ServiceResource._subscribe(self, request)
