# -*- test-case-name: tests.test_pubsub_interests -*-
"""
From the caps entities announce (XEP-0115) to their notification
interests (XEP-0060 section 9.2, XEP-0163 section 4.3), for PEP (caps in
a session's broadcast presence) and MEP (caps in presence to a room) alike.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional, Union

from twisted.internet import defer
from twisted.words.protocols.jabber import jid

from mepserver.caps import Caps, CapsCache, notifyInterests
from mepserver.pubsub.model import Interests


#: How many announced caps and interest sets an L{InterestTracker} keeps
#: for entities to share.
MOST_SHARED = 1024


class InterestTracker:
    """
    The caps each entity (a full JID) announced, resolved through the
    server-wide L{CapsCache} into an L{Interests} index.

    Until an entity's caps resolve it has no interests (XEP-0115 section
    8.3). A result that arrives after the entity announced other caps, or
    left, is dropped.

    @ivar interests: the L{Interests} index.
    @ivar caps: the server-wide L{CapsCache}.
    @ivar query: C{query(entity, node)}, the disco#info query
        L{CapsCache.resolve} sends (see there).
    """

    def __init__(self, caps: CapsCache, query):
        self.caps = caps
        self.query = query
        self.interests = Interests()
        self._announced: Dict[jid.JID, Optional[Caps]] = {}
        # Entities that announce the same caps share one Caps and one set
        # of interests (most clients of a deployment run the same
        # software); bounded, since clients choose them.
        self._shared: Dict[object, object] = {}

    def announced(self, entity: jid.JID) -> Optional[Caps]:
        """
        @return: the caps C{entity} announced last, or L{None}.
        """
        return self._announced.get(entity)

    def announcements(self) -> Dict[jid.JID, Optional[Caps]]:
        """
        @return: a snapshot of the caps each entity announced last (for the
            delivery explainer, L{mepserver.mep.deliveries}).
        """
        return dict(self._announced)

    def announce(self, entity: jid.JID, caps: Optional[Caps], initial: bool) -> defer.Deferred:
        """
        An entity sent available presence with C{caps} (or none).

        Initial presence (the first after being unavailable) starts from no
        interests, so that every interest counts as new (XEP-0163 section
        4.3.3 rule 2); a later presence with the same caps changes nothing
        (ibid., note), and with other caps only the interests it adds are
        new (MEP OQ-14).

        @return: a Deferred firing with the L{frozenset} of namespaces that
            became interesting, once known: the nodes whose last items the
            entity should now get. It never fails.
        """
        added = self.announceNow(entity, caps, initial)
        if isinstance(added, defer.Deferred):
            return added
        return defer.succeed(added)

    def announceNow(
        self, entity: jid.JID, caps: Optional[Caps], initial: bool
    ) -> Union[FrozenSet[str], defer.Deferred]:
        """
        L{announce}, answering at once when it can: with no caps, the same
        caps again, or caps whose features the server knows
        (L{CapsCache.resolveNow}), which is every join of a client after
        the first with the same software (issue 16).

        @return: the L{frozenset} of namespaces that became interesting;
            or, while the caps are being resolved, a Deferred firing with
            it, as L{announce}'s.
        """
        if initial:
            self.interests.discard(entity)
        elif entity in self._announced and self._announced[entity] == caps:
            return frozenset()
        if caps is not None:
            caps = self._share(caps)
        self._announced[entity] = caps
        if caps is None:
            self.interests.discard(entity)
            return frozenset()
        features = self.caps.resolveNow(entity, caps)
        if features is not None:
            return self._resolved(features, entity, caps)
        d = self.caps.resolve(entity, caps, self.query)
        d.addCallback(self._resolved, entity, caps)
        return d

    def _resolved(self, features: FrozenSet[str], entity: jid.JID, caps: Caps) -> FrozenSet[str]:
        if entity not in self._announced or self._announced[entity] != caps:
            return frozenset()
        interests = self._shared.get(features)
        if interests is None:
            interests = self._share(features, notifyInterests(features))
        return self.interests.set(entity, interests)

    def _share(self, key, value=None):
        """
        @return: the value kept for C{key} (C{value}, or C{key} itself if
            L{None}), keeping it if there is room.
        """
        if value is None:
            value = key
        shared = self._shared.get(key)
        if shared is not None:
            return shared
        if len(self._shared) < MOST_SHARED:
            self._shared[key] = value
        return value

    def forget(self, entity: jid.JID) -> None:
        """
        The entity became unavailable: no more interests, and nothing kept
        for its JID in the caps cache.
        """
        self._announced.pop(entity, None)
        self.interests.discard(entity)
        self.caps.forget(entity)

    def reset(self) -> None:
        """
        Forget every entity, for test fixtures.
        """
        for entity in list(self._announced):
            self.caps.forget(entity)
        self._announced.clear()
        self.interests.clear()
        self._shared.clear()
