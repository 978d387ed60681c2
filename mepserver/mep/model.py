# -*- test-case-name: tests.test_mep -*-
"""
MEP (XEP-0316) as the pubsub engine sees it, in plain Python: which room or
occupant a service belongs to, who owns it and may publish there, who has
access (presence = current occupancy, section 4.3), and who is implicitly
subscribed and interested (sections 4.4 and 5).

No XML here (STYLE.md section 3): the protocol side is
L{mepserver.mep.resource} and L{mepserver.mep.handler}.
"""

from __future__ import annotations

from typing import Collection, FrozenSet, List, Optional

from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver import errors
from mepserver.interfaces import IPubSubContext
from mepserver.jids import occupantJID
from mepserver.muc.roles import Affiliation, Role
from mepserver.muc.room import Room
from mepserver.pubsub.model import AccessModel, Interests, NodeConfig, Service

#: XEP-0316 section 5 and MEP OQ-18: presence access, notifications with
#: payloads, the last item on subscription and presence, one item a node.
MEP_DEFAULTS = NodeConfig()

#: OQ-21: the only access model a MEP node may have.
ACCESS_MODELS: FrozenSet[AccessModel] = frozenset({AccessModel.PRESENCE})

#: The pubsub features a MEP service advertises (MEP-REQUIREMENTS Appendix
#: B), each backed by a use case; no other access model, no instant nodes,
#: no affiliation management (OQ-11).
FEATURES = (
    "access-presence",
    "auto-create",
    "auto-subscribe",
    "config-node",
    "create-and-configure",
    "create-nodes",
    "delete-items",
    "delete-nodes",
    "filtered-notifications",
    "item-ids",
    "last-published",
    "persistent-items",
    "publish",
    "publish-options",
    "purge-nodes",
    "retract-items",
    "retrieve-affiliations",
    "retrieve-default",
    "retrieve-items",
    "retrieve-subscriptions",
    "subscribe",
)


def makeService(ids, clock, maxNodes: Optional[int] = None, maxBytes: Optional[int] = None):
    """
    @param maxNodes: each service's L{Service.maxNodes}.
    @param maxBytes: each service's L{Service.maxBytes}.
    @return: a factory of empty MEP services for a
        L{mepserver.pubsub.registry.ServiceRegistry}: a room's own service
        (a bare room JID) is written to the store, so that a persistent
        room keeps its events (OQ-17); an occupant's (an occupant JID)
        lives in memory only (OQ-1).
    """

    def factory(serviceJID: jid.JID) -> Service:
        return Service(
            serviceJID,
            ids,
            clock,
            defaults=MEP_DEFAULTS,
            accessModels=ACCESS_MODELS,
            assignable=frozenset(),
            persistent=serviceJID.resource is None,
            maxNodes=maxNodes,
            maxBytes=maxBytes,
        )

    return factory


@implementer(IPubSubContext)
class MEPContext:
    """
    One MEP service in its room, as the engine sees it.

    @ivar room: the L{Room}.
    @ivar nick: the occupant whose service it is, or L{None} for the room's
        own service.
    @ivar interests: the L{Interests} of the room's sessions (their
        C{NODE+notify} caps features): the index notifications are sent
        from (DESIGN.md section 9).
    @ivar backends: bare JIDs that publish as the room (OQ-8).
    """

    def __init__(
        self,
        room: Room,
        nick: Optional[str],
        interests: Interests,
        backends: Collection[jid.JID] = (),
    ):
        self.room = room
        self.nick = nick
        self.interests = interests
        self.backends = backends

    #: L{candidates} come from the interest index, which does not vouch
    #: for being in the room (L{sharesPresence}): each is checked.
    candidatesSharePresence = False

    @property
    def serviceJID(self) -> jid.JID:
        if self.nick is None:
            return self.room.jid
        return occupantJID(self.room.jid, self.nick)

    def _inRoom(self, entity: jid.JID):
        """
        @return: the occupant C{entity} is (a full JID: that session; a
            bare JID: any session of that user), or L{None}.
        """
        if entity.resource is not None:
            return self.room.occupantOf(entity)
        for occupant in self.room.occupants.values():
            if occupant.realJID == entity:
                return occupant
        return None

    def isOwner(self, entity: jid.JID) -> bool:
        """
        An occupant owns its occupant service, with every session that
        shares its nick (R24); the room owns its own service, and so do the
        backend JIDs acting for it (OQ-8).
        """
        if self.nick is None:
            return entity == self.room.jid or entity.userhostJID() in self.backends
        occupant = self.room.occupant(self.nick)
        return occupant is not None and self._inRoom(entity) is occupant

    def owners(self) -> List[jid.JID]:
        # OQ-6 (c): the service's JID stands for its owner; no real JID.
        return [self.serviceJID]

    def mayPublish(self, entity: jid.JID) -> bool:
        """
        R20, R21, OQ-10: an occupant with voice at its own service; at the
        room's, the room, backends, and owners or moderators if the room's
        C{mep#room_publishers} says so.
        """
        if self.nick is not None:
            if not self.isOwner(entity):
                return False
            return self.room.occupant(self.nick).role is not Role.VISITOR
        if self.isOwner(entity):
            return True
        publishers = self.room.config.roomPublishers
        occupant = self._inRoom(entity) if entity.resource is not None else None
        if occupant is None or publishers == "none":
            return False
        if publishers == "moderators":
            return occupant.role is Role.MODERATOR
        return occupant.affiliation is Affiliation.OWNER

    def admit(self, entity: jid.JID) -> None:
        """
        OQ-9: non-occupants learn nothing, not even which nodes exist.
        """
        if self.isOwner(entity) or self.sharesPresence(entity):
            return
        raise errors.PresenceSubscriptionRequired(
            f"only occupants of {self.room.jid.full()} may do this"
        )

    def sharesPresence(self, entity: jid.JID) -> bool:
        # XEP-0316 section 4.3: "presence" means being in the room.
        return self._inRoom(entity) is not None

    def rosterGroups(self, entity: jid.JID):
        return ()

    def candidates(self, nodeIdentifier: str) -> Collection[jid.JID]:
        """
        The room's sessions whose caps ask for the node (R29, R34): from
        the index, not by scanning the occupants.
        """
        return self.interests.entities(nodeIdentifier)

    def explicitTargets(self, subscriber: jid.JID, nodeIdentifier: str) -> List[jid.JID]:
        """
        OQ-12: an explicit subscriber is notified whatever its caps, while
        it is in the room: a full JID if that session is, a bare JID at
        every session of that user in the room.
        """
        if subscriber.resource is not None:
            return [subscriber] if self.room.occupantOf(subscriber) is not None else []
        return [
            session
            for occupant in self.room.occupants.values()
            if occupant.realJID == subscriber
            for session in occupant.sessions
        ]
