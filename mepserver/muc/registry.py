# -*- test-case-name: tests.test_muc_registry -*-
"""
The MUC service's registry of rooms (L{Rooms}) and their persistence:
persistent rooms (XEP-0045 section 4.2) are loaded from an
L{mepserver.interfaces.IRoomStore} at start and written through after
every durable change (L{toStored}, L{fromStored}); a temporary room is
forgotten when its last occupant leaves (section 7.14); at shutdown every
room is emptied (section 11.2, status 332).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from zope.interface.verify import verifyObject

from mepserver import errors
from mepserver.interfaces import IRoomEvents, IRoomObserver, StoredRoom
from mepserver.muc.nicks import bare
from mepserver.muc.roles import Affiliation
from mepserver.muc.room import Occupant, Room
from mepserver.muc.roomconfig import RoomConfig

log = Logger()


def toStored(room: Room) -> StoredRoom:
    """
    @return: the room's durable state.
    """
    return StoredRoom(
        jid=room.jid,
        config=room.config.toStored(),
        affiliations={
            user: affiliation.value
            for user, affiliation in room.affiliations.items()
            if affiliation is not Affiliation.NONE
        },
        nicks=dict(room.nicks),
        subject=room.subject,
        subjectBy=room.subjectBy,
        reasons=dict(room.reasons),
    )


def fromStored(stored: StoredRoom, clock, ids, features=None) -> Room:
    """
    @return: a room with the durable state L{toStored} gave.
    """
    room = Room(
        stored.jid, clock, ids, RoomConfig.fromStored(stored.config), features
    )
    room.affiliations = {
        bare(user): Affiliation(value) for user, value in stored.affiliations.items()
    }
    room.nicks = {bare(user): nick for user, nick in stored.nicks.items()}
    room.reasons = {bare(user): reason for user, reason in stored.reasons.items()}
    room.subject = stored.subject
    room.subjectBy = stored.subjectBy
    return room


class Rooms:
    """
    The MUC service's rooms, by bare room JID.

    Rooms live in memory; persistent ones are also written through to the
    room store after every durable change (L{save}) and read back at start
    (L{load}). A non-persistent room is forgotten when its last occupant
    leaves (L{vacate}).

    @ivar domain: the MUC service's domain.
    @ivar createUnlocked: whether new rooms start unlocked.
    @ivar maxRoomsPerAccount: the most rooms one bare JID may own and still
        create another (C{[muc] max_rooms_per_account}).
    @ivar store: the L{mepserver.interfaces.IRoomStore}, or L{None}.
    """

    def __init__(self, config, ids, clock, store=None, features=None):
        """
        @param config: the L{mepserver.config.Config} (C{mucDomain},
            C{mucCreateUnlocked}, C{mucMaxRoomsPerAccount}).
        @param ids: the L{mepserver.ids.IdSource}.
        @param clock: an object with C{seconds()}.
        """
        self.domain = config.mucDomain
        self.createUnlocked = config.mucCreateUnlocked
        self.maxRoomsPerAccount = config.mucMaxRoomsPerAccount
        self.ids = ids
        self.clock = clock
        self.store = store
        self.features = features
        self._rooms: Dict[jid.JID, Room] = {}
        self._stored: set = set()
        #: The L{IRoomEvents} given to every room (L{Room.events}).
        self.events: Any = None
        self._observers: List[IRoomObserver] = []

    def addObserver(self, observer) -> None:
        """
        Tell C{observer}, an L{IRoomObserver}, of rooms created and
        discarded from now on.
        """
        verifyObject(IRoomObserver, observer)
        self._observers.append(observer)

    def serveEventsWith(self, events) -> None:
        """
        Hand every room's events (L{Room.generateEvent}) to C{events}, an
        L{IRoomEvents}: the MEP service, which registers itself when it is
        made for these rooms.
        """
        verifyObject(IRoomEvents, events)
        self.events = events
        for room in self._rooms.values():
            room.events = events

    def _tell(self, what: str, call: Callable[[IRoomObserver], None]) -> None:
        for observer in self._observers:
            try:
                call(observer)
            except Exception:
                log.failure("Room observer failed on {what}", what=what)

    def __len__(self) -> int:
        return len(self._rooms)

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._rooms.values()))

    def __contains__(self, roomJID: jid.JID) -> bool:
        return bare(roomJID) in self._rooms

    def get(self, roomJID: jid.JID) -> Optional[Room]:
        """
        @param roomJID: a room or occupant JID.
        @return: the room, or L{None}.
        """
        return self._rooms.get(bare(roomJID))

    def create(self, roomJID: jid.JID, owner: jid.JID) -> Room:
        """
        Create a room with C{owner} as its owner (section 10.1.1), locked
        until configured unless the service creates rooms unlocked.

        @raise errors.BadRequest: the room JID is not on this service.
        @raise errors.TooManyRooms: C{owner} owns L{maxRoomsPerAccount}
            rooms already (a quota of this server, DESIGN.md section 3).
        """
        roomJID = bare(roomJID)
        if roomJID.host != self.domain or roomJID.user is None:
            raise errors.BadRequest(f"{roomJID.full()} is not a room of {self.domain}")
        if roomJID in self._rooms:
            raise ValueError(f"{roomJID.full()} exists")
        owned = self.ownedBy(owner)
        if owned >= self.maxRoomsPerAccount:
            raise errors.TooManyRooms(
                f"{bare(owner).full()} owns {owned} rooms, the most one account may "
                f"own and create another here ([muc] max_rooms_per_account = "
                f"{self.maxRoomsPerAccount}); destroy one first"
            )
        room = Room(roomJID, self.clock, self.ids, features=self.features)
        room.events = self.events
        room.affiliations[bare(owner)] = Affiliation.OWNER
        room.locked = not self.createUnlocked
        room.created = True
        self._rooms[roomJID] = room
        self._tell("roomCreated", lambda o: o.roomCreated(room))
        return room

    def ownedBy(self, user: jid.JID) -> int:
        """
        @return: how many rooms C{user}'s bare JID owns. Ownership, unlike
            creation, is stored, so the count holds across restarts.
        """
        user = bare(user)
        return sum(
            1
            for room in self._rooms.values()
            if room.affiliations.get(user) is Affiliation.OWNER
        )

    def reset(self) -> None:
        """
        Forget every room at once, without touching the store (which a test
        fixture resets itself). For test fixtures, hence synchronous.
        """
        self._rooms.clear()
        self._stored.clear()
        self._tell("roomsReset", lambda o: o.roomsReset())

    def add(self, room: Room) -> None:
        """
        Register an existing room (loaded, or built by a test).
        """
        room.events = self.events
        self._rooms[room.jid] = room

    def listed(self) -> List[Room]:
        """
        @return: the rooms disco#items lists (public and unlocked), sorted
            by JID.
        """
        return sorted(
            (room for room in self._rooms.values() if room.listed),
            key=lambda room: room.jid.full(),
        )

    def vacate(self, room: Room):
        """
        A room may have become empty: forget it unless it is persistent
        (section 7.14).

        @return: whether the room was forgotten.
        """
        if room.empty and not room.config.persistent:
            self.discard(room)
            return True
        return False

    def discard(self, room: Room):
        """
        Forget a room (destroyed, or empty and temporary), also in the store.

        @return: a Deferred from the store, or L{None}.
        """
        if self._rooms.get(room.jid) is room:
            del self._rooms[room.jid]
            self._tell("roomDiscarded", lambda o: o.roomDiscarded(room))
        if room.jid in self._stored:
            self._stored.discard(room.jid)
            return self._call("removeRoom", room.jid)
        return None

    def save(self, room: Room):
        """
        Write a room's durable state through: a persistent room is stored, a
        room that stopped being persistent is removed from the store.

        @return: a Deferred from the store, or L{None} when nothing was
            written.
        """
        if room.config.persistent:
            self._stored.add(room.jid)
            return self._call("saveRoom", toStored(room))
        if room.jid in self._stored:
            self._stored.discard(room.jid)
            return self._call("removeRoom", room.jid)
        return None

    def _call(self, method: str, argument):
        if self.store is None:
            return None
        d = getattr(self.store, method)(argument)
        d.addErrback(
            lambda failure: log.failure(
                "Room store {method} failed", failure, method=method
            )
        )
        return d

    def shutdown(self) -> List[Tuple[Room, List[Occupant]]]:
        """
        The service shuts down (XEP-0045 section 11.2): every room is
        emptied, and temporary rooms forgotten; the store keeps the
        persistent ones.

        @return: each room that had occupants, with the occupants removed
            (each with its sessions), to tell with 332.
        """
        emptied = []
        for room in list(self._rooms.values()):
            occupants = room.destroy()
            if occupants:
                emptied.append((room, occupants))
            if not room.config.persistent:
                del self._rooms[room.jid]
                self._tell("roomDiscarded", lambda o: o.roomDiscarded(room))
        return emptied

    async def load(self) -> None:
        """
        Read the persistent rooms from the store.
        """
        if self.store is None:
            return
        for stored in await self.store.loadRooms():
            room = fromStored(stored, self.clock, self.ids, self.features)
            room.events = self.events
            self._rooms[room.jid] = room
            self._stored.add(room.jid)
