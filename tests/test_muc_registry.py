# -*- test-case-name: tests.test_muc_registry -*-
"""
Tests for L{mepserver.muc.registry}: the service's rooms and their
storage.
"""

from twisted.internet import defer, task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from zope.interface import Invalid, implementer

from mepserver import config as configModule
from mepserver import errors
from mepserver.ids import SeededIdSource
from mepserver.interfaces import IRoomEvents, IRoomObserver
from mepserver.muc import registry
from mepserver.muc.records import AdminItem
from mepserver.muc.registry import Rooms
from mepserver.muc.roles import Affiliation, Role
from mepserver.storage.memory import MemoryRoomStore
from tests.mucfixtures import CRONE, HAG, ROOM, WICCA, makeRoom


@implementer(IRoomObserver, IRoomEvents)
class Follower:
    """
    An observer and event service that records what it is told.
    """

    def __init__(self):
        self.told = []

    def roomCreated(self, room):
        self.told.append(("created", room.jid))

    def roomDiscarded(self, room):
        self.told.append(("discarded", room.jid))

    def roomsReset(self):
        self.told.append(("reset",))

    def generateEvent(self, room, nodeIdentifier, payload, itemIdentifier=None):
        self.told.append(("event", room.jid, nodeIdentifier))
        return defer.succeed("item-1")


class RoomsWiringTests(unittest.SynchronousTestCase):
    """
    What follows the registry registers through declared interfaces.
    """

    def setUp(self):
        config = configModule.Config(mucDomain="chat.shakespeare.lit", mucCreateUnlocked=True)
        self.rooms = Rooms(config, SeededIdSource(), task.Clock(), MemoryRoomStore())

    def test_observer(self):
        """
        An L{IRoomObserver} hears of rooms created and reset; anything else
        is refused when it registers.
        """
        follower = Follower()
        self.rooms.addObserver(follower)
        self.rooms.create(ROOM, CRONE)
        self.rooms.reset()
        self.assertEqual([("created", ROOM), ("reset",)], follower.told)
        self.assertRaises(Invalid, self.rooms.addObserver, object())

    def test_events(self):
        """
        The L{IRoomEvents} takes the events of rooms made before and after
        it registered.
        """
        before = self.rooms.create(ROOM, CRONE)
        follower = Follower()
        self.rooms.serveEventsWith(follower)
        after = self.rooms.create(JID("darkcave@chat.shakespeare.lit"), CRONE)
        for room in (before, after):
            self.assertEqual("item-1", self.successResultOf(room.generateEvent("n", "<x/>")))
        self.assertEqual(
            [("event", ROOM, "n"), ("event", after.jid, "n")], follower.told
        )
        self.assertRaises(Invalid, self.rooms.serveEventsWith, object())


class RoomsTests(unittest.SynchronousTestCase):
    """
    The L{Rooms} registry.
    """

    def makeRooms(self, **settings):
        settings.setdefault("mucDomain", "chat.shakespeare.lit")
        config = configModule.Config(**settings)
        self.store = MemoryRoomStore()
        return Rooms(config, SeededIdSource(), task.Clock(), self.store)

    def stored(self):
        return [r.jid for r in self.successResultOf(self.store.loadRooms())]

    def test_create(self):
        """
        Section 10.1.1: the creator owns the new room, locked unless the
        service creates rooms unlocked.
        """
        rooms = self.makeRooms()
        room = rooms.create(JID("coven@chat.shakespeare.lit/firstwitch"), CRONE)
        self.assertEqual((ROOM, True, True), (room.jid, room.locked, room.created))
        self.assertEqual(Affiliation.OWNER, room.affiliationOf(CRONE))
        self.assertIs(room, rooms.get(JID("coven@chat.shakespeare.lit/x")))
        self.assertFalse(self.makeRooms(mucCreateUnlocked=True).create(ROOM, CRONE).locked)
        self.assertRaises(errors.BadRequest, rooms.create, JID("a@elsewhere"), CRONE)

    def test_roomQuota(self):
        """
        An account that owns C{mucMaxRoomsPerAccount} rooms (of its own
        creation or given to it) may create no more until it owns fewer.
        """
        rooms = self.makeRooms(mucMaxRoomsPerAccount=2)
        first = rooms.create(JID("a@chat.shakespeare.lit"), CRONE)
        other = rooms.create(JID("b@chat.shakespeare.lit"), HAG)
        other.affiliations[JID("crone1@shakespeare.lit")] = Affiliation.OWNER
        self.assertEqual(2, rooms.ownedBy(JID("crone1@shakespeare.lit/laptop")))
        refusal = self.assertRaises(
            errors.TooManyRooms, rooms.create, JID("c@chat.shakespeare.lit"), CRONE
        )
        self.assertIn("owns 2 rooms", refusal.text)
        self.assertNotIn(JID("c@chat.shakespeare.lit"), rooms)
        rooms.discard(first)
        rooms.create(JID("c@chat.shakespeare.lit"), CRONE)
        self.assertEqual(("resource-constraint", "wait"), (
            errors.stanzaError(refusal).condition, errors.stanzaError(refusal).type
        ))

    def test_listed(self):
        """
        Section 6.3: hidden and locked rooms are not listed.
        """
        rooms = self.makeRooms(mucCreateUnlocked=True)
        rooms.create(JID("b@chat.shakespeare.lit"), CRONE)
        rooms.create(JID("a@chat.shakespeare.lit"), CRONE)
        rooms.create(JID("hidden@chat.shakespeare.lit"), CRONE).config.public = False
        rooms.create(JID("locked@chat.shakespeare.lit"), CRONE).locked = True
        self.assertEqual(["a", "b"], [r.jid.user for r in rooms.listed()])

    def test_temporaryVanishes(self):
        """
        Section 7.14: a temporary room goes with its last occupant.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.join(CRONE, "firstwitch", None)
        self.assertFalse(rooms.vacate(room))
        room.leave(CRONE)
        self.assertTrue(rooms.vacate(room))
        self.assertNotIn(ROOM, rooms)

    def test_persistentWrittenThrough(self):
        """
        A persistent room is stored on save, survives its last occupant and
        loads into a new registry; stopping persistence removes it.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.configure(CRONE, {"muc#roomconfig_persistentroom": ["1"]})
        rooms.save(room)
        self.assertEqual([ROOM], self.stored())
        self.assertFalse(rooms.vacate(room))

        again = Rooms(configModule.Config(mucDomain="chat.shakespeare.lit"),
                      SeededIdSource(), task.Clock(), self.store)
        self.successResultOf(defer.ensureDeferred(again.load()))
        loaded = again.get(ROOM)
        self.assertTrue(loaded.config.persistent)
        self.assertFalse(loaded.locked)
        self.assertEqual(Affiliation.OWNER, loaded.affiliationOf(CRONE))

        loaded.configure(CRONE, {"muc#roomconfig_persistentroom": ["0"]})
        again.save(loaded)
        self.assertEqual([], self.stored())
        self.assertTrue(again.vacate(loaded))

    def test_discard(self):
        """
        A discarded (destroyed) persistent room leaves the store too.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.config.persistent = True
        rooms.save(room)
        rooms.discard(room)
        self.assertEqual([], self.stored())
        self.assertIsNone(rooms.get(ROOM))

    def test_shutdown(self):
        """
        Section 11.2: shutting down empties every room, forgets temporary
        ones and keeps persistent ones, in memory and in the store.
        """
        rooms = self.makeRooms()
        kept = rooms.create(ROOM, CRONE)
        kept.configure(CRONE, {"muc#roomconfig_persistentroom": ["1"]})
        rooms.save(kept)
        kept.join(CRONE, "firstwitch", None)
        kept.join(HAG, "thirdwitch", None)
        temporary = rooms.create(JID("heath@chat.shakespeare.lit"), WICCA)
        temporary.locked = False
        temporary.join(WICCA, "secondwitch", None)
        emptied = rooms.shutdown()
        self.assertEqual(
            [(ROOM, ["firstwitch", "thirdwitch"]), (temporary.jid, ["secondwitch"])],
            [(room.jid, [o.nick for o in occupants]) for room, occupants in emptied],
        )
        self.assertEqual([CRONE], emptied[0][1][0].sessionJIDs)
        self.assertTrue(kept.empty)
        self.assertIsNone(kept.occupantOf(HAG))
        self.assertIs(kept, rooms.get(ROOM))
        self.assertNotIn(temporary.jid, rooms)
        self.assertEqual([ROOM], self.stored())

    def test_affiliationsWrittenThrough(self):
        """
        A ban with its reason and a member's reserved nick, saved, come back
        from the store.
        """
        rooms = self.makeRooms()
        room = rooms.create(ROOM, CRONE)
        room.configure(CRONE, {"muc#roomconfig_persistentroom": ["1"]})
        change = room.administer(CRONE, [
            AdminItem(Affiliation.OUTCAST, jid=HAG, reason="Treason"),
            AdminItem(Affiliation.MEMBER, jid=WICCA, nick="secondwitch"),
        ])
        self.assertTrue(change.durable)
        rooms.save(room)
        again = Rooms(configModule.Config(mucDomain="chat.shakespeare.lit"),
                      SeededIdSource(), task.Clock(), self.store)
        self.successResultOf(defer.ensureDeferred(again.load()))
        loaded = again.get(ROOM)
        self.assertEqual(Affiliation.OUTCAST, loaded.affiliationOf(HAG))
        self.assertEqual({HAG.userhostJID(): "Treason"}, loaded.reasons)
        self.assertEqual({WICCA.userhostJID(): "secondwitch"}, loaded.nicks)


class StoredRoomTests(unittest.SynchronousTestCase):
    """
    A room's durable state (L{registry.toStored}, L{registry.fromStored}).
    """

    def test_storedRoundTrip(self):
        """
        A room's durable state survives toStored and fromStored.
        """
        room = makeRoom(name="A Dark Cave", persistent=True, getMemberList=frozenset({Role.MODERATOR}),
                        presenceBroadcast=frozenset({Role.MODERATOR, Role.PARTICIPANT}))
        room.affiliations[HAG.userhostJID()] = Affiliation.OUTCAST
        room.reasons[HAG.userhostJID()] = "spells"
        room.nicks[WICCA.userhostJID()] = "secondwitch"
        room.subject, room.subjectBy = "Spells", "firstwitch"
        stored = registry.toStored(room)
        self.assertEqual("roomname", next(iter(stored.config)))
        again = registry.fromStored(stored, task.Clock(), SeededIdSource())
        self.assertEqual(room.config, again.config)
        self.assertEqual(room.affiliations, again.affiliations)
        self.assertEqual((room.nicks, room.reasons), (again.nicks, again.reasons))
        self.assertEqual(("Spells", "firstwitch"), (again.subject, again.subjectBy))
