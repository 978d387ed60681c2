# -*- test-case-name: tests.test_deliveries -*-
"""
The delivery explainer: for each MEP item a room or occupant service
publishes, which of the room's sessions were sent a notification, and
the precise reason why each other one was not.

A session gets the notifications of a node when the room verified its
entity capabilities (XEP-0115 section 5.4) and they carry the feature
C{NODE+notify} (XEP-0163 section 4.3, XEP-0060 section 9.2), and the
node's access model lets it in (XEP-0316 section 4.3: presence, which
means being in the room); or when it subscribed explicitly (XEP-0060
section 6.1, MEP OQ-12). From the client's side every failure looks the
same (nothing arrives), so the reason is recorded when the item is
published, from the very state that decided, rather than guessed later.

Codes (L{CODES}; README.rst "Why didn't my client get the event?"):

  - C{delivered}: sent to the session;
  - C{last-item}: the session joined after the publication and got the
    item as the node's last item, with a delay stamp (XEP-0163 section
    4.3.4);
  - C{ghost}: sent, but no client is connected as that session's JID any
    more, so the server dropped it (XEP-0045 section 18.1.2);
  - C{not-occupant}: not in the room when the item was published;
  - C{left-before-publish}: had left the room before the publication;
  - C{no-caps}: its presence to the room carried no usable caps;
  - C{caps-pending}: the room's disco#info query about its caps was not
    answered yet;
  - C{caps-query-failed}: that query failed (an error, a timeout);
  - C{caps-hash-mismatch}: the answer hashes to another ver than the one
    announced (both are given);
  - C{caps-malformed}: the answer is ill-formed (XEP-0115 section 5.4
    step 3);
  - C{no-notify}: the verified caps lack C{NODE+notify};
  - C{access-denied}: the node's access model keeps it out;
  - C{notifications-off}: the node sends no notifications at all.

There is no C{visitor} code: under MEP's presence access model a visitor
is an occupant like any other and gets events (XEP-0316 section 4.3).

Memory: L{DeliveryLog} keeps the last L{DeliveryLog.size} publications of
each existing room (a republished item id replaces its earlier record),
each with one entry per session in the room at the time, and the last
L{MAX_DEPARTURES} departures of each room; a room's records go with the
room. No XML here (STYLE.md section 3).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import itertools
from typing import Callable, Dict, List, Optional, Tuple

from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver import caps as capsModule
from mepserver import errors
from mepserver.interfaces import IOccupantObserver, IRoomObserver

log = Logger()

#: The codes of L{Delivery}, each with what it means.
CODES = {
    "delivered": "the notification was sent to the session",
    "last-item": "joined after the publication and got the item as the node's last item",
    "ghost": "sent to a session the room still lists, but no client is connected as it",
    "not-occupant": "not in the room when the item was published",
    "left-before-publish": "had left the room before the item was published",
    "no-caps": "joined without entity capabilities (XEP-0115)",
    "caps-pending": "the room's query about its caps was not answered yet",
    "caps-query-failed": "the room's query about its caps failed",
    "caps-hash-mismatch": "its caps answer hashes to another ver than announced",
    "caps-malformed": "its caps answer is ill-formed",
    "no-notify": "its verified caps lack NODE+notify",
    "access-denied": "the node's access model keeps it out",
    "notifications-off": "the node sends no notifications",
}

#: How many departures of each room are kept, to tell C{left-before-publish}
#: from C{not-occupant}.
MAX_DEPARTURES = 256


@dataclasses.dataclass(frozen=True)
class Delivery:
    """
    What became of one publication for one session.

    @ivar nick: the session's nick in the room at the time (at the
        publication, or now for a session that joined later), or L{None}.
    @ivar session: the session's full JID.
    @ivar delivered: whether the session was sent the item.
    @ivar code: one of L{CODES}.
    @ivar reason: one sentence saying why.
    """

    nick: Optional[str]
    session: jid.JID
    delivered: bool
    code: str
    reason: str

    def asJSON(self) -> Dict[str, object]:
        """
        @return: the entry of C{GET /api/rooms/{room}/nodes/{node}/items/{id}/deliveries}.
        """
        return {
            "nick": self.nick,
            "jid": self.session.full(),
            "delivered": self.delivered,
            "code": self.code,
            "reason": self.reason,
        }

    def describe(self) -> str:
        """
        @return: the delivery in one line of plain text.
        """
        outcome = "delivered" if self.delivered else "not delivered"
        return f"{self.session.full()}: {outcome} [{self.code}]: {self.reason}"


class Publication:
    """
    One item publication in a room, and the decision for each session that
    was in the room.

    @ivar room: the bare room JID.
    @ivar service: the JID of the service that published: the room's, or
        an occupant's.
    @ivar node: the NodeID.
    @ivar item: the ItemID.
    @ivar published: when, in UTC.
    @ivar publisher: the full JID that published (the room's JID for a
        room event).
    @ivar sequence: its place among the log's events.
    @ivar occupants: C{(session, nick)} of each session in the room at the
        publication, in the room's order.
    @ivar refused: sessions that were in the room and got nothing (or a
        ghost's dropped copy), to C{(code, reason)}.
    @ivar explicit: recipients that got it through an explicit
        subscription, not their caps.
    @ivar lastItems: sessions that got it later as the node's last item.
    """

    def __init__(self, room, service, node, item, published, publisher, sequence):
        self.room: jid.JID = room
        self.service: jid.JID = service
        self.node: str = node
        self.item: str = item
        self.published: datetime.datetime = published
        self.publisher: Optional[jid.JID] = publisher
        self.sequence: int = sequence
        self.occupants: Tuple[Tuple[jid.JID, str], ...] = ()
        self.refused: Dict[jid.JID, Tuple[str, str]] = {}
        self.explicit: frozenset = frozenset()
        self.lastItems: Dict[jid.JID, str] = {}

    def __repr__(self) -> str:
        return f"<Publication {self.item!r} of {self.node!r} at {self.service.full()}>"

    @property
    def key(self) -> Tuple[jid.JID, str, str]:
        return (self.service, self.node, self.item)


def capsState(tracker, cache, session: jid.JID, node: Optional[str] = None) -> Tuple[str, str]:
    """
    Why a session's caps give it (or not) the interest in C{node}, from the
    room's L{mepserver.pubsub.interests.InterestTracker} and the server's
    L{mepserver.caps.CapsCache}.

    @param node: a NodeID; without one, the state of the caps alone.
    @return: C{(code, reason)}: a code of L{CODES}, or C{"verified"} (or
        C{"unverified"}, for a hash the server cannot check) when the caps
        are known and, if C{node} is given, carry C{NODE+notify}.
    """
    announced = tracker.announced(session)
    if announced is None:
        return (
            "no-caps",
            "its presence to the room carried no entity capabilities (a XEP-0115 "
            "<c/> with hash, node and ver), so the room knows of no NODE+notify "
            "feature of it",
        )
    discoNode = announced.discoNode
    outcome = cache.outcome(session, announced)
    status = outcome.status if outcome is not None else capsModule.PENDING
    if status == capsModule.PENDING:
        return (
            "caps-pending",
            f"the room's disco#info query about its caps (node '{discoNode}') "
            "was not answered yet, and until then the room assumes no "
            "+notify feature (XEP-0115 section 8.3)",
        )
    if status == capsModule.QUERY_FAILED:
        return (
            "caps-query-failed",
            f"the room's disco#info query about its caps (node '{discoNode}') "
            f"failed: {outcome.error}",
        )
    if status == capsModule.HASH_MISMATCH:
        return (
            "caps-hash-mismatch",
            f"its caps announce ver '{announced.ver}' ({announced.hash}), but its "
            f"disco#info answer for node '{discoNode}' hashes to "
            f"'{outcome.computed}', so the room trusts none of its features "
            "(XEP-0115 section 5.4)",
        )
    if status == capsModule.MALFORMED:
        return (
            "caps-malformed",
            f"its disco#info answer for node '{discoNode}' is ill-formed "
            f"(XEP-0115 section 5.4 step 3): {outcome.error}",
        )
    features = cache.features(session, announced) or frozenset()
    notify = sorted(capsModule.notifyInterests(features))
    if node is not None and node not in notify:
        wanted = (
            "they ask for the notifications of " + ", ".join(f"'{n}'" for n in notify)
            if notify
            else "they ask for no notifications at all"
        )
        return (
            "no-notify",
            f"its caps (ver '{announced.ver}') do not include the feature "
            f"'{node}+notify': {wanted}",
        )
    if node is not None and not tracker.interests.interested(session, node):
        # Resolved, but not yet applied to the index (or applied to caps
        # announced meanwhile).
        return (
            "caps-pending",
            f"its caps carry '{node}+notify', but the room had not taken them "
            "into account yet",
        )
    if status == capsModule.UNVERIFIED:
        return (
            "unverified",
            f"its caps use the hash '{announced.hash}', which the server cannot "
            "check: their features are taken from its answer as they are",
        )
    return ("verified", f"its caps (ver '{announced.ver}') are verified")


@implementer(IOccupantObserver, IRoomObserver)
class DeliveryLog:
    """
    The recent MEP publications of each room, with their decisions
    (L{Publication}), and the departures that tell a session that had left
    from one that was never there.

    The MEP resource (L{mepserver.mep.resource.MEPResource.published})
    records each publication; it follows the MUC handler's occupants and
    the room registry as an observer.

    @ivar size: the most publications kept per room; 0 keeps none.
    @ivar isConnected: C{isConnected(session)} tells whether a client is
        connected as a session's full JID, or L{None} when the server
        cannot know (then nobody is a ghost).
    @ivar observers: callables told of each recorded L{Publication}.
    """

    def __init__(self, size: int = 50, isConnected: Optional[Callable[[jid.JID], bool]] = None):
        self.size = size
        self.isConnected = isConnected
        self.observers: List[Callable[[Publication], None]] = []
        self._sequence = itertools.count(1)
        self._rooms: Dict[jid.JID, "collections.OrderedDict[tuple, Publication]"] = {}
        self._departures: Dict[jid.JID, "collections.OrderedDict[jid.JID, int]"] = {}

    def __len__(self) -> int:
        """
        @return: how many publications are kept, in all rooms.
        """
        return sum(len(publications) for publications in self._rooms.values())

    # Recording.

    def record(self, room, service, context, result, tracker, cache) -> Optional[Publication]:
        """
        Record a publication, deciding for each session in the room what
        becomes of it, before its notifications go out.

        @param room: the L{mepserver.muc.room.Room}.
        @param service: the L{mepserver.pubsub.model.Service} that published.
        @param context: its L{mepserver.mep.model.MEPContext}.
        @param result: the L{mepserver.pubsub.model.Publication}.
        @param tracker: the room's L{mepserver.pubsub.interests.InterestTracker}.
        @param cache: the server's L{mepserver.caps.CapsCache}.
        @return: the L{Publication}, or L{None} if none is kept.
        """
        if self.size <= 0:
            return None
        node, item = result.node, result.item
        publication = Publication(
            room.jid,
            service.jid,
            node.identifier,
            item.id,
            item.published,
            item.publisher,
            next(self._sequence),
        )
        recipients = set(result.recipients)
        interests = tracker.interests
        occupants = []
        explicit = []
        refused = publication.refused
        isConnected = self.isConnected
        for occupant in room.occupants.values():
            for session in occupant.sessions:
                occupants.append((session, occupant.nick))
                if session in recipients:
                    if isConnected is not None and not isConnected(session):
                        refused[session] = (
                            "ghost",
                            "the room still lists this session as an occupant, but "
                            f"no client is connected as {session.full()}: the "
                            "notification was sent and dropped (XEP-0045 section "
                            "18.1.2)",
                        )
                    elif not interests.interested(session, node.identifier):
                        explicit.append(session)
                else:
                    refused[session] = self._decide(
                        service, context, node, session, tracker, cache
                    )
        publication.occupants = tuple(occupants)
        publication.explicit = frozenset(explicit)
        publications = self._rooms.setdefault(room.jid, collections.OrderedDict())
        publications.pop(publication.key, None)
        publications[publication.key] = publication
        while len(publications) > self.size:
            publications.popitem(last=False)
        for observer in list(self.observers):
            try:
                observer(publication)
            except Exception:
                log.failure("Delivery log observer failed")
        return publication

    @staticmethod
    def _decide(service, context, node, session, tracker, cache) -> Tuple[str, str]:
        """
        Why an occupant's session is not among the recipients: in the
        order the engine decides (L{mepserver.pubsub.model.Service.recipients}).
        """
        if not node.config.deliverNotifications:
            return (
                "notifications-off",
                f"the node '{node.identifier}' sends no notifications "
                "(pubsub#deliver_notifications is off)",
            )
        try:
            service.checkAccess(context, node, session)
        except errors.Refusal as e:
            return (
                "access-denied",
                f"the node's access model ({node.config.accessModel.value}) keeps "
                f"it out: {e.text or e.condition}",
            )
        return capsState(tracker, cache, session, node.identifier)

    def lastItemSent(self, room, serviceJID: jid.JID, node: str, item: str, session: jid.JID) -> None:
        """
        A session got an item as the last item of its node (XEP-0163
        section 4.3.4): on joining, or once its caps were verified.
        """
        publication = self._rooms.get(room.jid, {}).get((serviceJID, node, item))
        if publication is None:
            return
        occupant = room.occupantOf(session)
        if session in publication.refused or all(s != session for s, _ in publication.occupants):
            publication.lastItems[session] = occupant.nick if occupant is not None else None

    # Reading.

    def find(self, roomJID: jid.JID, serviceJID: jid.JID, node: str, item: str) -> Optional[Publication]:
        """
        @return: the kept publication of C{item} on C{node} at C{serviceJID}
            in the room, or L{None}.
        """
        return self._rooms.get(roomJID.userhostJID(), {}).get((serviceJID, node, item))

    def publications(self, roomJID: Optional[jid.JID] = None) -> List[Publication]:
        """
        @return: the kept publications of a room (of every room if
            L{None}), oldest first.
        """
        if roomJID is not None:
            return list(self._rooms.get(roomJID.userhostJID(), {}).values())
        found = [p for publications in self._rooms.values() for p in publications.values()]
        return sorted(found, key=lambda p: p.sequence)

    def deliveries(self, publication: Publication, room=None) -> List[Delivery]:
        """
        What became of a publication for each session that was in the room
        then, and, if C{room} is given, for each session in it now that
        was not.

        @param room: the L{mepserver.muc.room.Room}, or L{None}.
        """
        result = [self._recorded(publication, session, nick) for session, nick in publication.occupants]
        if room is not None:
            seen = {session for session, _ in publication.occupants}
            for occupant in room.occupants.values():
                for session in occupant.sessions:
                    if session not in seen:
                        result.append(self._absent(publication, session, occupant.nick))
        return result

    def explain(self, publication: Publication, entity: jid.JID, room=None) -> List[Delivery]:
        """
        What became of a publication for C{entity}: a full JID, or a bare
        JID for each of that account's sessions (one entry for the account
        if none was or is in the room).

        @param room: the L{mepserver.muc.room.Room} as it is now, or
            L{None}.
        """
        if entity.resource is not None:
            def matches(session):
                return session == entity
        else:
            def matches(session):
                return session.userhostJID() == entity

        found = [d for d in self.deliveries(publication, room) if matches(d.session)]
        if found:
            return found
        departures = self._departures.get(publication.room, {})
        left = [s for s in departures if matches(s) and departures[s] < publication.sequence]
        return [self._absent(publication, left[-1] if left else entity, None)]

    def _recorded(self, publication: Publication, session: jid.JID, nick: str) -> Delivery:
        refused = publication.refused.get(session)
        if refused is None:
            if session in publication.explicit:
                why = "it subscribed to the node explicitly (XEP-0060 section 6.1)"
            else:
                why = f"its verified caps ask for '{publication.node}+notify'"
            return Delivery(nick, session, True, "delivered", f"the notification was sent to it: {why}")
        code, reason = refused
        if session in publication.lastItems:
            return Delivery(
                nick,
                session,
                True,
                "last-item",
                f"at the publication {reason}; later it got the item as the "
                "node's last item, with a delay stamp (XEP-0163 section 4.3.4)",
            )
        return Delivery(nick, session, False, code, reason)

    def _absent(self, publication: Publication, session: jid.JID, nick: Optional[str]) -> Delivery:
        """
        A session that was not in the room at the publication.
        """
        if session in publication.lastItems:
            return Delivery(
                nick or publication.lastItems[session],
                session,
                True,
                "last-item",
                "it joined after the publication and got the item as the node's "
                "last item, with a delay stamp (XEP-0163 section 4.3.4)",
            )
        departed = self._departures.get(publication.room, {}).get(session)
        if departed is not None and departed < publication.sequence:
            return Delivery(
                nick,
                session,
                False,
                "left-before-publish",
                f"it had left {publication.room.full()} before the item was published",
            )
        return Delivery(
            nick,
            session,
            False,
            "not-occupant",
            f"it was not in {publication.room.full()} when the item was published"
            + (" (it joined later)" if nick is not None else ""),
        )

    # Following occupants (IOccupantObserver).

    def sessionEntered(self, room, occupant, session, presence) -> None:
        pass

    def presenceChanged(self, room, occupant, session, presence) -> None:
        pass

    def nickChanged(self, room, occupant, oldNick, session, presence) -> None:
        pass

    def sessionDeparted(self, room, departure) -> None:
        """
        Note when the session left, to tell C{left-before-publish}.
        """
        departures = self._departures.setdefault(room.jid, collections.OrderedDict())
        departures.pop(departure.session, None)
        departures[departure.session] = next(self._sequence)
        while len(departures) > MAX_DEPARTURES:
            departures.popitem(last=False)

    # Following rooms (IRoomObserver).

    def roomCreated(self, room) -> None:
        self._forget(room.jid)

    def roomDiscarded(self, room) -> None:
        self._forget(room.jid)

    def roomsReset(self) -> None:
        self._rooms.clear()
        self._departures.clear()

    def _forget(self, roomJID: jid.JID) -> None:
        self._rooms.pop(roomJID, None)
        self._departures.pop(roomJID, None)

