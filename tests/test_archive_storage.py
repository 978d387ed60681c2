# -*- test-case-name: tests.test_archive_storage -*-
"""
The L{IArchiveStore} contract (XEP-0313 archives), run against the memory
store and the SQLite store, plus SQLite durability.
"""

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from mepserver.interfaces import (
    ArchivedMessage,
    ArchivePrefs,
    ArchiveQuery,
    DuplicateArchiveID,
    IArchiveStore,
    UnknownArchiveID,
)
from mepserver.storage.memory import MemoryArchiveStore
from tests.test_storage import SQLiteFile

ROMEO = "romeo@example.com"
ROOM = "garden@conference.example.com"


def message(n, with_="juliet@example.com/balcony", timestamp=None):
    """
    The C{n}th message of a test archive: UID C{"m<n>"}, stamped C{n}
    seconds after a fixed time unless given.
    """
    return ArchivedMessage(
        id=f"m{n}",
        timestamp=1000.0 + n if timestamp is None else timestamp,
        with_=with_,
        stanza=f"<message><body>{n}</body></message>",
    )


class ArchiveStoreTests:
    """
    The L{IArchiveStore} contract. Subclasses set C{self.store} in
    C{setUp} to an empty store.
    """

    @defer.inlineCallbacks
    def fill(self, count, archive=ROMEO, **kwargs):
        """
        Archive messages 1 to C{count} in C{archive}.
        """
        for n in range(1, count + 1):
            yield self.store.archiveMessage(archive, message(n, **kwargs), None)

    @defer.inlineCallbacks
    def ids(self, query, archive=ROMEO):
        """
        @return: the UIDs of the page C{query} gives, in order.
        """
        page = yield self.store.queryArchive(archive, query)
        return [m.id for m in page.messages]

    def test_interface(self):
        """
        The store provides L{IArchiveStore}.
        """
        self.assertTrue(verifyObject(IArchiveStore, self.store))

    @defer.inlineCallbacks
    def test_roundTrip(self):
        """
        A message comes back as archived, with its UID, timestamp, C{with_}
        and stanza; an unknown archive is empty and complete.
        """
        stored = message(1)
        yield self.store.archiveMessage(ROMEO, stored, None)
        page = yield self.store.queryArchive(ROMEO, ArchiveQuery())
        self.assertEqual((stored,), page.messages)
        self.assertEqual((True, 1, 0), (page.complete, page.count, page.index))
        empty = yield self.store.queryArchive(ROOM, ArchiveQuery())
        self.assertEqual(((), True, 0, None), (
            empty.messages, empty.complete, empty.count, empty.index))

    @defer.inlineCallbacks
    def test_orderIsArchiveOrder(self):
        """
        Messages come in the order archived, not by timestamp (XEP-0313
        section 2.1).
        """
        yield self.store.archiveMessage(ROMEO, message(1, timestamp=50.0), None)
        yield self.store.archiveMessage(ROMEO, message(2, timestamp=10.0), None)
        self.assertEqual(["m1", "m2"], (yield self.ids(ArchiveQuery())))

    @defer.inlineCallbacks
    def test_archivesApart(self):
        """
        Each archive has its own messages, and the same UID may be in two.
        """
        yield self.store.archiveMessage(ROMEO, message(1), None)
        yield self.store.archiveMessage(ROOM, message(1, with_=""), None)
        yield self.store.archiveMessage(ROOM, message(2, with_=""), None)
        self.assertEqual(["m1"], (yield self.ids(ArchiveQuery())))
        self.assertEqual(["m1", "m2"], (yield self.ids(ArchiveQuery(), ROOM)))

    @defer.inlineCallbacks
    def test_duplicateID(self):
        """
        A UID the archive holds already is refused, and nothing changes.
        """
        yield self.store.archiveMessage(ROMEO, message(1), None)
        yield self.assertFailure(
            self.store.archiveMessage(ROMEO, message(1, timestamp=5.0), None),
            DuplicateArchiveID,
        )
        page = yield self.store.queryArchive(ROMEO, ArchiveQuery())
        self.assertEqual((message(1),), page.messages)

    @defer.inlineCallbacks
    def test_droppedIDsMayReturn(self):
        """
        The UID of a message the archive no longer holds (dropped past the
        limit, expired, or with its whole archive) may be archived again;
        the UIDs it still holds may not.
        """
        for n in range(1, 5):
            yield self.store.archiveMessage(ROMEO, message(n), 3)
        yield self.store.archiveMessage(ROMEO, message(1, timestamp=1010.0), None)
        yield self.assertFailure(
            self.store.archiveMessage(ROMEO, message(2, timestamp=1011.0), None),
            DuplicateArchiveID,
        )
        self.assertEqual(["m2", "m3", "m4", "m1"], (yield self.ids(ArchiveQuery())))
        dropped = yield self.store.expireArchives(1004.5)
        self.assertEqual(3, dropped)
        yield self.store.archiveMessage(ROMEO, message(2, timestamp=1012.0), None)
        yield self.assertFailure(
            self.store.archiveMessage(ROMEO, message(1, timestamp=1013.0), None),
            DuplicateArchiveID,
        )
        self.assertEqual(["m1", "m2"], (yield self.ids(ArchiveQuery())))
        yield self.store.removeArchive(ROMEO)
        yield self.store.archiveMessage(ROMEO, message(1), None)
        self.assertEqual(["m1"], (yield self.ids(ArchiveQuery())))

    @defer.inlineCallbacks
    def test_limitDropsOldest(self):
        """
        Past C{limit}, the oldest messages go (section 2.2).
        """
        for n in range(1, 5):
            yield self.store.archiveMessage(ROMEO, message(n), 3)
        self.assertEqual(["m2", "m3", "m4"], (yield self.ids(ArchiveQuery())))

    @defer.inlineCallbacks
    def test_withBareMatchesEveryResource(self):
        """
        A bare JID in C{with} matches each of its full JIDs; a full JID only
        itself (section 4.1.1).
        """
        yield self.store.archiveMessage(
            ROMEO, message(1, with_="juliet@example.com/balcony"), None)
        yield self.store.archiveMessage(
            ROMEO, message(2, with_="nurse@example.com/kitchen"), None)
        yield self.store.archiveMessage(
            ROMEO, message(3, with_="juliet@example.com/chamber"), None)
        yield self.store.archiveMessage(
            ROMEO, message(4, with_="juliet@example.com"), None)
        bare = yield self.ids(ArchiveQuery(with_="juliet@example.com"))
        self.assertEqual(["m1", "m3", "m4"], bare)
        full = yield self.ids(ArchiveQuery(with_="juliet@example.com/chamber"))
        self.assertEqual(["m3"], full)
        other = yield self.ids(ArchiveQuery(with_="juliet@example.org"))
        self.assertEqual([], other)

    @defer.inlineCallbacks
    def test_startAndEndInclusive(self):
        """
        C{start} and C{end} include messages stamped exactly then (section
        4.1.2).
        """
        yield self.fill(5)
        ids = yield self.ids(ArchiveQuery(start=1002.0, end=1004.0))
        self.assertEqual(["m2", "m3", "m4"], ids)

    @defer.inlineCallbacks
    def test_afterIdBeforeIdIds(self):
        """
        C{afterId} and C{beforeId} exclude the named messages; C{ids}
        selects exactly those UIDs (section 4.1.3).
        """
        yield self.fill(6)
        between = yield self.ids(ArchiveQuery(afterId="m2", beforeId="m5"))
        self.assertEqual(["m3", "m4"], between)
        chosen = yield self.ids(ArchiveQuery(ids=("m5", "m1")))
        self.assertEqual(["m1", "m5"], chosen)

    @defer.inlineCallbacks
    def test_unknownIDs(self):
        """
        Every way of naming a UID the archive lacks fails with
        L{UnknownArchiveID}.
        """
        yield self.fill(2)
        for query in (
            ArchiveQuery(after="nope"),
            ArchiveQuery(before="nope"),
            ArchiveQuery(afterId="nope"),
            ArchiveQuery(beforeId="nope"),
            ArchiveQuery(ids=("m1", "nope")),
        ):
            yield self.assertFailure(
                self.store.queryArchive(ROMEO, query), UnknownArchiveID
            )

    @defer.inlineCallbacks
    def test_pagingForwards(self):
        """
        C{max} then C{after} the last UID walks the result set in order;
        only the last page is complete; count and index describe the
        whole result set (XEP-0059 section 2.1).
        """
        yield self.fill(5)
        first = yield self.store.queryArchive(ROMEO, ArchiveQuery(max=2))
        self.assertEqual(["m1", "m2"], [m.id for m in first.messages])
        self.assertEqual((False, 5, 0), (first.complete, first.count, first.index))
        second = yield self.store.queryArchive(
            ROMEO, ArchiveQuery(max=2, after="m2"))
        self.assertEqual(["m3", "m4"], [m.id for m in second.messages])
        self.assertEqual((False, 5, 2), (second.complete, second.count, second.index))
        last = yield self.store.queryArchive(ROMEO, ArchiveQuery(max=2, after="m4"))
        self.assertEqual(["m5"], [m.id for m in last.messages])
        self.assertEqual((True, 5, 4), (last.complete, last.count, last.index))

    @defer.inlineCallbacks
    def test_exactPageIsComplete(self):
        """
        A page that ends exactly at the end of the result set is complete.
        """
        yield self.fill(4)
        page = yield self.store.queryArchive(ROMEO, ArchiveQuery(max=2, after="m2"))
        self.assertEqual((["m3", "m4"], True), (
            [m.id for m in page.messages], page.complete))

    @defer.inlineCallbacks
    def test_pagingBackwards(self):
        """
        An empty C{before} gives the last page, in chronological order;
        C{before} a UID the page before it; complete once the first message
        of the result set is reached (XEP-0059 section 2.5).
        """
        yield self.fill(5)
        last = yield self.store.queryArchive(ROMEO, ArchiveQuery(max=2, before=""))
        self.assertEqual(["m4", "m5"], [m.id for m in last.messages])
        self.assertEqual((False, 3), (last.complete, last.index))
        middle = yield self.store.queryArchive(
            ROMEO, ArchiveQuery(max=2, before="m4"))
        self.assertEqual(["m2", "m3"], [m.id for m in middle.messages])
        self.assertEqual((False, 1), (middle.complete, middle.index))
        first = yield self.store.queryArchive(
            ROMEO, ArchiveQuery(max=2, before="m2"))
        self.assertEqual(["m1"], [m.id for m in first.messages])
        self.assertEqual((True, 0), (first.complete, first.index))

    @defer.inlineCallbacks
    def test_pagingWithinFilter(self):
        """
        Paging and the index count only messages of the result set: a
        C{with} filter skips the others, and C{after} may name a message
        outside the result set.
        """
        for n in range(1, 7):
            other = "nurse@example.com" if n % 2 else "juliet@example.com"
            yield self.store.archiveMessage(ROMEO, message(n, with_=other), None)
        query = ArchiveQuery(with_="juliet@example.com", max=2, after="m3")
        page = yield self.store.queryArchive(ROMEO, query)
        self.assertEqual(["m4", "m6"], [m.id for m in page.messages])
        self.assertEqual((True, 3, 1), (page.complete, page.count, page.index))

    @defer.inlineCallbacks
    def test_maxZero(self):
        """
        C{max} 0 asks for the count alone (XEP-0059 section 2.7).
        """
        yield self.fill(3)
        page = yield self.store.queryArchive(ROMEO, ArchiveQuery(max=0))
        self.assertEqual(((), 3, False), (page.messages, page.count, page.complete))

    @defer.inlineCallbacks
    def test_getArchivedMessage(self):
        """
        One message by UID, or C{None}.
        """
        yield self.fill(2)
        found = yield self.store.getArchivedMessage(ROMEO, "m2")
        self.assertEqual(message(2), found)
        self.assertIsNone((yield self.store.getArchivedMessage(ROMEO, "m9")))
        self.assertIsNone((yield self.store.getArchivedMessage(ROOM, "m2")))

    @defer.inlineCallbacks
    def test_replaceKeepsEverythingElse(self):
        """
        Replacing a stanza (a tombstone) keeps UID, timestamp, C{with_} and
        the place in the archive; an unknown UID gives C{False}.
        """
        yield self.fill(3)
        replaced = yield self.store.replaceArchivedMessage(
            ROMEO, "m2", "<message><retracted/></message>")
        self.assertTrue(replaced)
        page = yield self.store.queryArchive(ROMEO, ArchiveQuery())
        self.assertEqual(
            [message(1), ArchivedMessage(
                "m2", 1002.0, "juliet@example.com/balcony",
                "<message><retracted/></message>"), message(3)],
            list(page.messages),
        )
        found = yield self.store.getArchivedMessage(ROMEO, "m2")
        self.assertEqual("<message><retracted/></message>", found.stanza)
        self.assertFalse(
            (yield self.store.replaceArchivedMessage(ROMEO, "m9", "<x/>")))

    @defer.inlineCallbacks
    def test_removeArchive(self):
        """
        Removing an archive forgets its messages and preferences, and no
        other archive's.
        """
        yield self.fill(2)
        yield self.fill(1, archive=ROOM)
        yield self.store.setArchivePrefs(ROMEO, ArchivePrefs("never"))
        yield self.store.removeArchive(ROMEO)
        self.assertEqual([], (yield self.ids(ArchiveQuery())))
        self.assertIsNone((yield self.store.getArchivePrefs(ROMEO)))
        self.assertEqual(["m1"], (yield self.ids(ArchiveQuery(), ROOM)))

    @defer.inlineCallbacks
    def test_expireDropsOnlyTheOldestRun(self):
        """
        Expiry drops, in each archive, the messages older than the limit at
        its start; one that follows a newer message stays (no gap).
        """
        yield self.store.archiveMessage(ROMEO, message(1, timestamp=10.0), None)
        yield self.store.archiveMessage(ROMEO, message(2, timestamp=20.0), None)
        yield self.store.archiveMessage(ROMEO, message(3, timestamp=40.0), None)
        yield self.store.archiveMessage(ROMEO, message(4, timestamp=15.0), None)
        yield self.store.archiveMessage(ROOM, message(1, timestamp=5.0), None)
        yield self.store.archiveMessage(ROOM, message(2, timestamp=50.0), None)
        dropped = yield self.store.expireArchives(30.0)
        self.assertEqual(3, dropped)
        self.assertEqual(["m3", "m4"], (yield self.ids(ArchiveQuery())))
        self.assertEqual(["m2"], (yield self.ids(ArchiveQuery(), ROOM)))

    @defer.inlineCallbacks
    def test_prefs(self):
        """
        Preferences are C{None} until set, then as last set.
        """
        self.assertIsNone((yield self.store.getArchivePrefs(ROMEO)))
        prefs = ArchivePrefs(
            "roster", always=("juliet@example.com",), never=("tybalt@example.com",)
        )
        yield self.store.setArchivePrefs(ROMEO, prefs)
        self.assertEqual(prefs, (yield self.store.getArchivePrefs(ROMEO)))
        yield self.store.setArchivePrefs(ROMEO, ArchivePrefs("never"))
        self.assertEqual(
            ArchivePrefs("never"), (yield self.store.getArchivePrefs(ROMEO)))


class MemoryArchiveStoreTests(ArchiveStoreTests, unittest.TestCase):
    """
    The archive contract for L{MemoryArchiveStore}, plus C{reset}.
    """

    def setUp(self):
        self.store = MemoryArchiveStore()

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets every archive and preference, and so the UIDs
        archived before.
        """
        yield self.fill(2)
        yield self.store.setArchivePrefs(ROMEO, ArchivePrefs("never"))
        self.store.reset()
        self.assertEqual([], (yield self.ids(ArchiveQuery())))
        self.assertIsNone((yield self.store.getArchivePrefs(ROMEO)))
        yield self.store.archiveMessage(ROMEO, message(1), None)
        self.assertEqual(["m1"], (yield self.ids(ArchiveQuery())))


class SQLiteArchiveStoreTests(SQLiteFile, ArchiveStoreTests, unittest.TestCase):
    """
    The archive contract for L{SQLiteStore}, plus durability.
    """

    @defer.inlineCallbacks
    def test_reopen(self):
        """
        Messages, tombstones and preferences survive closing and reopening
        the file, and a UID stays taken.
        """
        yield self.fill(2)
        yield self.store.replaceArchivedMessage(ROMEO, "m1", "<gone/>")
        yield self.store.setArchivePrefs(ROMEO, ArchivePrefs("roster"))
        yield self.reopen()
        page = yield self.store.queryArchive(ROMEO, ArchiveQuery())
        self.assertEqual(["<gone/>", message(2).stanza],
                         [m.stanza for m in page.messages])
        self.assertEqual(
            ArchivePrefs("roster"), (yield self.store.getArchivePrefs(ROMEO)))
        yield self.assertFailure(
            self.store.archiveMessage(ROMEO, message(2), None),
            DuplicateArchiveID,
        )
