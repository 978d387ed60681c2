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
same (nothing arrives), so what decided is recorded when the item is
published, rather than guessed later.

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

Cost: publication sits on the broadcast path (DESIGN.md section 9), so
recording takes snapshots that cost no Python work per session beyond
listing the room's sessions and nicks: the recipients (the engine's own
tuple), the interested sessions (a set copy), the caps each session
announced (a dict copy) and the caps queries still unresolved (a small
dict copy). The sentences are made when someone asks. About 0.1 ms for a
room of 1,000 sessions (README.rst, "The inspector").

Memory: L{DeliveryLog} keeps the last L{DeliveryLog.size} publications of
each existing room (a republished item id replaces its earlier record),
each with those snapshots (a few dozen bytes per session in the room at
the time), and the last L{MAX_DEPARTURES} departures of each room; a
room's records go with the room. No XML here (STYLE.md section 3).
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
from mepserver.caps import Caps, CapsCache, CapsOutcome, unresolvedOutcome
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
    One item publication in a room, with what decided who got it.

    @ivar room: the bare room JID.
    @ivar service: the JID of the service that published: the room's, or
        an occupant's.
    @ivar node: the NodeID.
    @ivar item: the ItemID.
    @ivar published: when, in UTC.
    @ivar publisher: the full JID that published (the room's JID for a
        room event).
    @ivar sequence: its place among the log's events.
    @ivar sessions: each session in the room at the publication, in the
        room's order.
    @ivar nicks: their nicks then, in the same order.
    @ivar recipients: the sessions it was sent to.
    @ivar interested: the sessions whose caps asked for the node then.
    @ivar announced: the caps each session of the room had announced then.
    @ivar unresolved: the outcomes of caps queries not resolved then
        (L{mepserver.caps.CapsCache.unresolved}).
    @ivar notifications: whether the node sent notifications.
    @ivar denied: interested sessions the access model kept out, to the
        refusal's text.
    @ivar lastItems: sessions that got it later as the node's last item,
        to their nick then.
    """

    def __init__(self, room, service, node, item, published, publisher, sequence):
        self.room: jid.JID = room
        self.service: jid.JID = service
        self.node: str = node
        self.item: str = item
        self.published: datetime.datetime = published
        self.publisher: Optional[jid.JID] = publisher
        self.sequence: int = sequence
        self.sessions: Tuple[jid.JID, ...] = ()
        self.nicks: Tuple[str, ...] = ()
        self.recipients: Tuple[jid.JID, ...] = ()
        self.interested: frozenset = frozenset()
        self.announced: Dict[jid.JID, Optional[Caps]] = {}
        self.unresolved: Dict[jid.JID, tuple] = {}
        self.notifications = True
        self.denied: Dict[jid.JID, str] = {}
        self.lastItems: Dict[jid.JID, Optional[str]] = {}

    def __repr__(self) -> str:
        return f"<Publication {self.item!r} of {self.node!r} at {self.service.full()}>"

    @property
    def key(self) -> Tuple[jid.JID, str, str]:
        return (self.service, self.node, self.item)


def capsReason(
    announced: Optional[Caps],
    outcome: Optional[CapsOutcome],
    features: Optional[frozenset],
    node: Optional[str] = None,
) -> Tuple[str, str]:
    """
    Why caps give a session (or not) the interest in C{node}.

    @param announced: the caps it announced to the room, or L{None}.
    @param outcome: what became of resolving them, or L{None} once they
        resolved (then C{features} says what they stand for).
    @param features: the features behind them, if known.
    @param node: a NodeID; without one, the state of the caps alone.
    @return: C{(code, reason)}: a code of L{CODES}, or C{"verified"} (or
        C{"unverified"}, for a hash the server cannot check) for caps that
        resolved and, if C{node} is given, carry C{NODE+notify}.
    """
    if announced is None:
        return (
            "no-caps",
            "its presence to the room carried no entity capabilities (a XEP-0115 "
            "<c/> with hash, node and ver), so the room knows of no NODE+notify "
            "feature of it",
        )
    discoNode = announced.discoNode
    status = outcome.status if outcome is not None else None
    if status == capsModule.PENDING or (status is None and features is None and node is None):
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
    if node is not None:
        notify = sorted(capsModule.notifyInterests(features or ()))
        if node in notify:
            return (
                "caps-pending",
                f"its caps carry '{node}+notify', but the room had not taken "
                "them into account yet",
            )
        if features is None:
            wanted = "the server no longer knows which notifications they ask for"
        elif notify:
            wanted = "they ask for the notifications of " + ", ".join(f"'{n}'" for n in notify)
        else:
            wanted = "they ask for no notifications at all"
        return (
            "no-notify",
            f"its caps (ver '{announced.ver}') do not include the feature "
            f"'{node}+notify': {wanted}",
        )
    if status == capsModule.UNVERIFIED or announced.hash not in capsModule.SUPPORTED_HASHES:
        return (
            "unverified",
            f"its caps use the hash '{announced.hash}', which the server cannot "
            "check: their features are taken from its answer as they are",
        )
    return ("verified", f"its caps (ver '{announced.ver}') are verified")


def capsState(tracker, cache, session: jid.JID) -> Tuple[str, str]:
    """
    The state of a session's caps in a room now, as L{capsReason} words
    it, from the room's L{mepserver.pubsub.interests.InterestTracker} and
    the server's L{mepserver.caps.CapsCache}.
    """
    announced = tracker.announced(session)
    if announced is None:
        return capsReason(None, None, None)
    outcome = cache.outcome(session, announced)
    if outcome is not None and outcome.status in (capsModule.VERIFIED, capsModule.UNVERIFIED):
        return capsReason(announced, outcome, cache.features(session, announced))
    return capsReason(announced, outcome, None)


@implementer(IOccupantObserver, IRoomObserver)
class DeliveryLog:
    """
    The recent MEP publications of each room, with what decided who got
    them (L{Publication}), and the departures that tell a session that had
    left from one that was never there.

    The MEP resource (L{mepserver.mep.resource.MEPResource.published})
    records each publication; it follows the MUC handler's occupants and
    the room registry as an observer.

    @ivar size: the most publications kept per room; 0 keeps none.
    @ivar cache: the server's L{mepserver.caps.CapsCache}, which knows the
        features behind verified caps.
    @ivar isConnected: C{isConnected(session)} tells whether a client is
        connected as a session's full JID, or L{None} when the server
        cannot know (then nobody is a ghost).
    @ivar observers: callables told of each recorded L{Publication}.
    """

    def __init__(
        self,
        cache: CapsCache,
        size: int = 50,
        isConnected: Optional[Callable[[jid.JID], bool]] = None,
    ):
        self.cache = cache
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

    def record(self, room, service, context, result, tracker) -> Optional[Publication]:
        """
        Record a publication with the state that decides who gets it,
        before its notifications go out.

        @param room: the L{mepserver.muc.room.Room}.
        @param service: the L{mepserver.pubsub.model.Service} that published.
        @param context: its L{mepserver.mep.model.MEPContext}.
        @param result: the L{mepserver.pubsub.model.Publication}.
        @param tracker: the room's L{mepserver.pubsub.interests.InterestTracker}.
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
        occupants = room.occupants.values()
        publication.sessions = tuple([s for o in occupants for s in o.sessions])
        publication.nicks = tuple([o.nick for o in occupants for _ in o.sessions])
        publication.recipients = result.recipients
        interested = publication.interested = tracker.interests.entities(node.identifier)
        publication.announced = tracker.announcements()
        publication.unresolved = self.cache.unresolved()
        publication.notifications = node.config.deliverNotifications
        # Without explicit subscribers the recipients are the interested
        # sessions with access: fewer means some were kept out.
        if publication.notifications and (
            node.subscriptions or len(interested) > len(result.recipients)
        ):
            for session in interested - set(result.recipients):
                publication.denied[session] = self._denied(service, context, node, session)
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
    def _denied(service, context, node, session) -> str:
        """
        Why the access model keeps an interested session out.
        """
        try:
            service.checkAccess(context, node, session)
        except errors.Refusal as e:
            return e.text or e.condition
        return "it was refused when the item was published"

    def lastItemSent(self, room, serviceJID: jid.JID, node: str, item: str, session: jid.JID) -> None:
        """
        A session got an item as the last item of its node (XEP-0163
        section 4.3.4): on joining, or once its caps were verified.
        """
        publication = self._rooms.get(room.jid, {}).get((serviceJID, node, item))
        if publication is None:
            return
        occupant = room.occupantOf(session)
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

        @param room: the L{mepserver.muc.room.Room} as it is now, or
            L{None}.
        """
        recipients = frozenset(publication.recipients)
        result = [
            self._recorded(publication, recipients, session, nick, room)
            for session, nick in zip(publication.sessions, publication.nicks)
        ]
        if room is not None:
            seen = set(publication.sessions)
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

    def _recorded(self, publication, recipients, session, nick, room) -> Delivery:
        """
        A session that was in the room at the publication.
        """
        if session in recipients:
            if (
                room is not None
                and self.isConnected is not None
                and room.occupantOf(session) is not None
                and not self.isConnected(session)
            ):
                return Delivery(
                    nick,
                    session,
                    False,
                    "ghost",
                    "the room still lists this session as an occupant, but no "
                    f"client is connected as {session.full()}: what the room "
                    "sends it is dropped (XEP-0045 section 18.1.2)",
                )
            if session in publication.interested:
                why = f"its verified caps ask for '{publication.node}+notify'"
            else:
                why = "it subscribed to the node explicitly (XEP-0060 section 6.1)"
            return Delivery(nick, session, True, "delivered", f"the notification was sent to it: {why}")
        code, reason = self._refused(publication, session)
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

    def _refused(self, publication: Publication, session: jid.JID) -> Tuple[str, str]:
        """
        Why a session in the room was not sent the item, in the order the
        engine decides (L{mepserver.pubsub.model.Service.recipients}):
        notifications at all, interest (caps), then access.
        """
        if not publication.notifications:
            return (
                "notifications-off",
                f"the node '{publication.node}' sends no notifications "
                "(pubsub#deliver_notifications is off)",
            )
        if session in publication.interested:
            refusal = publication.denied.get(session, "it was refused")
            return ("access-denied", f"the node's access model keeps it out: {refusal}")
        announced = publication.announced.get(session)
        if announced is None:
            return capsReason(None, None, None, publication.node)
        outcome = unresolvedOutcome(publication.unresolved, session, announced)
        features = None if outcome is not None else self.cache.features(session, announced)
        return capsReason(announced, outcome, features, publication.node)

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
