# -*- test-case-name: tests.test_storage -*-
"""
Tests for L{mepserver.storage}: one L{IUserStore} contract, one
L{IRoomStore} contract and one L{IOfflineStore} contract, each run against
every store, plus what only one store has (SQLite durability, users and
rooms in one file, C{reset}).
"""

import os
import sqlite3
import threading

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from zope.interface.verify import verifyObject

from mepserver.interfaces import (
    Credentials,
    IOfflineStore,
    IRoomStore,
    IUserStore,
    RosterItem,
    ScramKeys,
    StoredRoom,
    UnknownUser,
    UserExists,
)
from mepserver.storage.memory import MemoryRoomStore, MemoryUserStore
from mepserver.storage.sqlite import RosterCache, SerialConnectionPool, SQLiteStore

# Salts and keys hold NUL and bytes above 0x7f, which must survive storage.
SHA1_KEYS = ScramKeys(
    salt=b"\x00salt\xff", storedKey=b"\x01" * 20, serverKey=b"\xfe" * 20,
    iterations=4096,
)
SHA256_KEYS = ScramKeys(
    salt=b"\x80\x00\x7f", storedKey=bytes(range(32)),
    serverKey=bytes(range(255, 223, -1)), iterations=10000,
)
CREDENTIALS = Credentials(
    {"SCRAM-SHA-1": SHA1_KEYS, "SCRAM-SHA-256": SHA256_KEYS}
)

JULIET = JID("juliet@example.com")
MERCUTIO = JID("mercutio@example.org")
NURSE = JID("nurse@example.com")

FULL_ITEM = RosterItem(
    contact=JULIET,
    name="Juliet Capulet",
    subscription="both",
    ask=True,
    groups=("Friends", "Vérone"),
)


class SQLiteFile:
    """
    A fresh L{SQLiteStore} on a temporary file for each test, as
    C{self.store}; L{reopen} closes it and opens the same file again.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.path = self.mktemp()
        self.store = yield SQLiteStore.open(self.path)
        # Through self, so that a test that reopens the store closes the
        # store it ends with.
        self.addCleanup(lambda: self.store.close())

    @defer.inlineCallbacks
    def reopen(self):
        """
        Close the store and open its file again, which applies the schema
        a second time.
        """
        yield self.store.close()
        self.store = yield SQLiteStore.open(self.path)


class UserStoreTests:
    """
    The L{IUserStore} contract. Subclasses set C{self.store} in C{setUp}
    to an empty store.
    """

    def test_interface(self):
        """
        The store provides L{IUserStore}.
        """
        self.assertTrue(verifyObject(IUserStore, self.store))

    @defer.inlineCallbacks
    def test_createUser(self):
        """
        C{createUser} stores the credentials, with every byte of the keys
        intact, and C{getCredentials} returns them.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(CREDENTIALS, credentials)
        self.assertEqual(b"\x00salt\xff", credentials.keys["SCRAM-SHA-1"].salt)

    @defer.inlineCallbacks
    def test_createUserWithoutKeys(self):
        """
        An account may have no keys yet; it still exists.
        """
        yield self.store.createUser("romeo", Credentials({}))
        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(Credentials({}), credentials)

    @defer.inlineCallbacks
    def test_createUserCopiesCredentials(self):
        """
        Changing the mapping given to C{createUser} afterwards does not
        change what is stored.
        """
        keys = {"SCRAM-SHA-1": SHA1_KEYS}
        yield self.store.createUser("romeo", Credentials(keys))
        keys["SCRAM-SHA-256"] = SHA256_KEYS
        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(Credentials({"SCRAM-SHA-1": SHA1_KEYS}), credentials)

    @defer.inlineCallbacks
    def test_createUserExists(self):
        """
        Creating an existing account fails with L{UserExists} and keeps the
        existing credentials.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.assertFailure(
            self.store.createUser("romeo", Credentials({})), UserExists
        )
        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(CREDENTIALS, credentials)

    @defer.inlineCallbacks
    def test_getCredentialsUnknown(self):
        """
        C{getCredentials} fires with L{None} for an unknown user.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        credentials = yield self.store.getCredentials("tybalt")
        self.assertIdentical(None, credentials)

    @defer.inlineCallbacks
    def test_setCredentials(self):
        """
        C{setCredentials} replaces all keys: mechanisms left out are gone.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setCredentials(
            "romeo", Credentials({"SCRAM-SHA-256": SHA1_KEYS})
        )
        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(
            Credentials({"SCRAM-SHA-256": SHA1_KEYS}), credentials
        )

    @defer.inlineCallbacks
    def test_setCredentialsUnknown(self):
        """
        C{setCredentials} for an unknown user fails with L{UnknownUser} and
        creates no account.
        """
        yield self.assertFailure(
            self.store.setCredentials("romeo", CREDENTIALS), UnknownUser
        )
        users = yield self.store.listUsers()
        self.assertEqual([], users)

    @defer.inlineCallbacks
    def test_removeUser(self):
        """
        C{removeUser} removes the account and leaves others alone.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.removeUser("romeo")
        credentials = yield self.store.getCredentials("romeo")
        self.assertIdentical(None, credentials)
        users = yield self.store.listUsers()
        self.assertEqual(["juliet"], users)

    def test_removeUserUnknown(self):
        """
        C{removeUser} of an unknown user fails with L{UnknownUser}.
        """
        return self.assertFailure(self.store.removeUser("romeo"), UnknownUser)

    @defer.inlineCallbacks
    def test_removeUserRemovesRoster(self):
        """
        C{removeUser} removes the roster and pending subscriptions too, so a
        new account of the same name starts empty; other users keep theirs.
        """
        for username in ("romeo", "juliet"):
            yield self.store.createUser(username, CREDENTIALS)
            yield self.store.setRosterItem(username, RosterItem(NURSE))
            yield self.store.addPendingSubscription(username, MERCUTIO)
        yield self.store.removeUser("romeo")
        yield self.store.createUser("romeo", CREDENTIALS)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([], roster)
        pending = yield self.store.getPendingSubscriptions("romeo")
        self.assertEqual([], pending)
        roster = yield self.store.getRoster("juliet")
        self.assertEqual([RosterItem(NURSE)], roster)
        pending = yield self.store.getPendingSubscriptions("juliet")
        self.assertEqual([MERCUTIO], pending)

    @defer.inlineCallbacks
    def test_listUsers(self):
        """
        C{listUsers} fires with the usernames sorted, whatever the order of
        creation.
        """
        users = yield self.store.listUsers()
        self.assertEqual([], users)
        for username in ("romeo", "benvolio", "juliet"):
            yield self.store.createUser(username, CREDENTIALS)
        users = yield self.store.listUsers()
        self.assertEqual(["benvolio", "juliet", "romeo"], users)

    @defer.inlineCallbacks
    def test_setRosterItem(self):
        """
        A roster item keeps its name, subscription, ask flag and groups.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        item = yield self.store.getRosterItem("romeo", JULIET)
        self.assertEqual(FULL_ITEM, item)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([FULL_ITEM], roster)

    @defer.inlineCallbacks
    def test_getRosterByContact(self):
        """
        L{IUserStore.getRosterByContact} maps each contact's bare JID
        string to its item, in contact order, read-only; a mapping got
        before a write keeps what it had, and the next one has the write.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        self.assertEqual({}, dict((yield self.store.getRosterByContact("romeo"))))
        yield self.store.setRosterItem("romeo", RosterItem(NURSE))
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        roster = yield self.store.getRosterByContact("romeo")
        self.assertEqual(
            [("juliet@example.com", FULL_ITEM), (NURSE.userhost(), RosterItem(NURSE))],
            list(roster.items()),
        )
        self.assertEqual(list(roster.values()), (yield self.store.getRoster("romeo")))
        with self.assertRaises(TypeError):
            roster["juliet@example.com"] = None
        yield self.store.removeRosterItem("romeo", JULIET)
        self.assertIn("juliet@example.com", roster)
        self.assertEqual(
            [NURSE.userhost()], list((yield self.store.getRosterByContact("romeo")))
        )

    @defer.inlineCallbacks
    def test_setRosterItemDefaults(self):
        """
        A roster item without name or groups comes back the same, with
        L{None} and an empty tuple.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", RosterItem(JULIET))
        item = yield self.store.getRosterItem("romeo", JULIET)
        self.assertEqual(RosterItem(JULIET, None, "none", False, ()), item)

    @defer.inlineCallbacks
    def test_setRosterItemReplaces(self):
        """
        Setting the item of a contact again replaces the whole item.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        replacement = RosterItem(JULIET, subscription="to", groups=("Lovers",))
        yield self.store.setRosterItem("romeo", replacement)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([replacement], roster)

    @defer.inlineCallbacks
    def test_setRosterItemBareContact(self):
        """
        Roster items are keyed by the contact's bare JID.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem(
            "romeo", RosterItem(JID("juliet@example.com/balcony"))
        )
        item = yield self.store.getRosterItem(
            "romeo", JID("juliet@example.com/chamber")
        )
        self.assertEqual(RosterItem(JULIET), item)

    def test_setRosterItemUnknownUser(self):
        """
        C{setRosterItem} for an unknown user fails with L{UnknownUser}.
        """
        return self.assertFailure(
            self.store.setRosterItem("romeo", FULL_ITEM), UnknownUser
        )

    @defer.inlineCallbacks
    def test_getRosterSorted(self):
        """
        C{getRoster} fires with the items sorted by contact.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        for contact in (NURSE, MERCUTIO, JULIET):
            yield self.store.setRosterItem("romeo", RosterItem(contact))
        roster = yield self.store.getRoster("romeo")
        self.assertEqual(
            [JULIET, MERCUTIO, NURSE], [item.contact for item in roster]
        )

    @defer.inlineCallbacks
    def test_getRosterPerUser(self):
        """
        Each user has a roster of their own.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        roster = yield self.store.getRoster("juliet")
        self.assertEqual([], roster)
        item = yield self.store.getRosterItem("juliet", JULIET)
        self.assertIdentical(None, item)

    @defer.inlineCallbacks
    def test_getRosterUnknownUser(self):
        """
        An unknown user's roster is empty and has no items.
        """
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([], roster)
        item = yield self.store.getRosterItem("romeo", JULIET)
        self.assertIdentical(None, item)

    @defer.inlineCallbacks
    def test_removeRosterItem(self):
        """
        C{removeRosterItem} removes the contact's item only.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        yield self.store.setRosterItem("romeo", RosterItem(NURSE))
        yield self.store.removeRosterItem("romeo", JULIET)
        item = yield self.store.getRosterItem("romeo", JULIET)
        self.assertIdentical(None, item)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([RosterItem(NURSE)], roster)

    @defer.inlineCallbacks
    def test_removeRosterItemAbsent(self):
        """
        Removing an absent item, even of an unknown user, succeeds and
        changes nothing.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", RosterItem(NURSE))
        yield self.store.removeRosterItem("romeo", JULIET)
        yield self.store.removeRosterItem("tybalt", JULIET)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([RosterItem(NURSE)], roster)

    @defer.inlineCallbacks
    def test_addPendingSubscription(self):
        """
        Pending subscriptions are stored as bare JIDs, per user, and
        C{getPendingSubscriptions} fires with them sorted.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.createUser("juliet", CREDENTIALS)
        for contact in (NURSE, JID("mercutio@example.org/sword"), JULIET):
            yield self.store.addPendingSubscription("romeo", contact)
        pending = yield self.store.getPendingSubscriptions("romeo")
        self.assertEqual([JULIET, MERCUTIO, NURSE], pending)
        pending = yield self.store.getPendingSubscriptions("juliet")
        self.assertEqual([], pending)

    @defer.inlineCallbacks
    def test_addPendingSubscriptionIdempotent(self):
        """
        Adding the same request twice stores it once.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.addPendingSubscription("romeo", JULIET)
        yield self.store.addPendingSubscription("romeo", JULIET)
        pending = yield self.store.getPendingSubscriptions("romeo")
        self.assertEqual([JULIET], pending)

    def test_addPendingSubscriptionUnknownUser(self):
        """
        C{addPendingSubscription} for an unknown user fails with
        L{UnknownUser}.
        """
        return self.assertFailure(
            self.store.addPendingSubscription("romeo", JULIET), UnknownUser
        )

    @defer.inlineCallbacks
    def test_removePendingSubscription(self):
        """
        C{removePendingSubscription} forgets that request only; removing an
        absent one succeeds.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.addPendingSubscription("romeo", JULIET)
        yield self.store.addPendingSubscription("romeo", NURSE)
        yield self.store.removePendingSubscription("romeo", JULIET)
        yield self.store.removePendingSubscription("romeo", MERCUTIO)
        yield self.store.removePendingSubscription("tybalt", JULIET)
        pending = yield self.store.getPendingSubscriptions("romeo")
        self.assertEqual([NURSE], pending)

    # Subscription pre-approval (RFC 6121 section 3.4).

    @defer.inlineCallbacks
    def test_setRosterItemApproved(self):
        """
        A roster item keeps its pre-approval flag.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        approved = RosterItem(JULIET, subscription="to", approved=True)
        yield self.store.setRosterItem("romeo", approved)
        yield self.store.setRosterItem("romeo", RosterItem(NURSE))
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([approved, RosterItem(NURSE)], roster)
        self.assertFalse(roster[1].approved)

    # Roster versions (RFC 6121 section 2.6).

    @defer.inlineCallbacks
    def test_rosterVersionStartsAtZero(self):
        """
        A new account's roster, and an unknown user's, are at version 0.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        version = yield self.store.getRosterVersion("romeo")
        self.assertEqual(0, version)
        version = yield self.store.getRosterVersion("tybalt")
        self.assertEqual(0, version)

    @defer.inlineCallbacks
    def test_setRosterItemIncrementsVersion(self):
        """
        Every C{setRosterItem} increments the user's roster version, even
        with an unchanged item, and fires with the new version; other
        users' versions stay.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.createUser("juliet", CREDENTIALS)
        versions = []
        for item in (FULL_ITEM, RosterItem(NURSE), RosterItem(NURSE)):
            version = yield self.store.setRosterItem("romeo", item)
            versions.append(version)
        self.assertEqual([1, 2, 3], versions)
        version = yield self.store.getRosterVersion("romeo")
        self.assertEqual(3, version)
        version = yield self.store.getRosterVersion("juliet")
        self.assertEqual(0, version)

    @defer.inlineCallbacks
    def test_removeRosterItemIncrementsVersion(self):
        """
        Removing an item increments the version; removing an absent one
        leaves it, and both fire with the version after the call.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        removed = yield self.store.removeRosterItem("romeo", JULIET)
        absent = yield self.store.removeRosterItem("romeo", JULIET)
        self.assertEqual((2, 2), (removed, absent))
        version = yield self.store.getRosterVersion("romeo")
        self.assertEqual(2, version)

    @defer.inlineCallbacks
    def test_rosterVersionOutlivesUser(self):
        """
        Removing an account increments its roster version, and an account
        created again with the same name goes on from there, so that a
        version cached by a client of the old account never matches.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        yield self.store.removeUser("romeo")
        yield self.store.createUser("romeo", CREDENTIALS)
        version = yield self.store.getRosterVersion("romeo")
        self.assertEqual(2, version)
        version = yield self.store.setRosterItem("romeo", FULL_ITEM)
        self.assertEqual(3, version)


class MemoryUserStoreTests(UserStoreTests, unittest.TestCase):
    """
    The contract for L{MemoryUserStore}, plus L{MemoryUserStore.reset}.
    """

    def setUp(self):
        self.store = MemoryUserStore()
        self.addCleanup(self.store.close)

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets every account, roster and pending subscription.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        yield self.store.addPendingSubscription("romeo", NURSE)
        self.store.reset()
        users = yield self.store.listUsers()
        self.assertEqual([], users)
        yield self.store.createUser("romeo", CREDENTIALS)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([], roster)
        pending = yield self.store.getPendingSubscriptions("romeo")
        self.assertEqual([], pending)

    @defer.inlineCallbacks
    def test_resetKeepsRosterVersions(self):
        """
        After C{reset}, an account created again has a roster version past
        the one it had: a client's cached roster must not look current.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        self.store.reset()
        yield self.store.createUser("romeo", CREDENTIALS)
        version = yield self.store.getRosterVersion("romeo")
        self.assertEqual(2, version)


class SQLiteUserStoreTests(SQLiteFile, UserStoreTests, unittest.TestCase):
    """
    The user store contract for L{SQLiteStore} on a temporary file, plus
    durability across a restart and the roster cache (L{RosterCache}).
    """

    @defer.inlineCallbacks
    def test_rosterFromMemory(self):
        """
        Once a roster was read, reading it or one of its items again fires
        at once, without the database thread; a write goes to the database
        and the next read sees it.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        self.assertEqual([FULL_ITEM], (yield self.store.getRoster("romeo")))
        self.assertEqual([FULL_ITEM], self.successResultOf(self.store.getRoster("romeo")))
        self.assertEqual(FULL_ITEM, self.successResultOf(self.store.getRosterItem("romeo", JULIET)))
        self.assertIsNone(self.successResultOf(self.store.getRosterItem("romeo", NURSE)))
        written = self.store.setRosterItem("romeo", RosterItem(NURSE))
        reading = self.store.getRoster("romeo")
        self.assertNoResult(reading)
        yield written
        self.assertEqual([FULL_ITEM, RosterItem(NURSE)], (yield reading))
        yield self.store.removeRosterItem("romeo", JULIET)
        self.assertIsNone((yield self.store.getRosterItem("romeo", JULIET)))

    @defer.inlineCallbacks
    def test_rosterByContactShared(self):
        """
        Once a roster was read, L{SQLiteStore.getRosterByContact} fires at
        once with a view of the kept roster, no copy of it (each PEP
        publication asks, issue 16); after a write it reads again.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        self.assertEqual(
            {"juliet@example.com": FULL_ITEM},
            dict((yield self.store.getRosterByContact("romeo"))),
        )
        first = self.successResultOf(self.store.getRosterByContact("romeo"))
        second = self.successResultOf(self.store.getRosterByContact("romeo"))
        # Views of the kept mapping itself: what changes it shows in both.
        kept = self.store._rosters.get("romeo")
        kept["marker"] = FULL_ITEM
        self.assertIn("marker", first)
        self.assertIn("marker", second)
        del kept["marker"]
        written = self.store.setRosterItem("romeo", RosterItem(NURSE))
        reading = self.store.getRosterByContact("romeo")
        self.assertNoResult(reading)
        yield written
        self.assertEqual([FULL_ITEM, RosterItem(NURSE)], list((yield reading).values()))

    @defer.inlineCallbacks
    def test_credentialsFromMemory(self):
        """
        Once an account's credentials were read (every login asks), they
        come at once; a change, a removal and a new account of the name
        are seen by the next read, and an unknown account's absence is
        not kept past its creation.
        """
        other = Credentials({})
        self.assertIsNone((yield self.store.getCredentials("romeo")))
        yield self.store.createUser("romeo", CREDENTIALS)
        self.assertEqual(CREDENTIALS, (yield self.store.getCredentials("romeo")))
        self.assertEqual(CREDENTIALS, self.successResultOf(self.store.getCredentials("romeo")))
        yield self.store.setCredentials("romeo", other)
        self.assertEqual(other, (yield self.store.getCredentials("romeo")))
        yield self.store.removeUser("romeo")
        self.assertIsNone((yield self.store.getCredentials("romeo")))
        self.assertIsNone(self.successResultOf(self.store.getCredentials("romeo")))
        yield self.store.createUser("romeo", CREDENTIALS)
        self.assertEqual(CREDENTIALS, (yield self.store.getCredentials("romeo")))

    @defer.inlineCallbacks
    def test_credentialsReadBeforeWriteNotKept(self):
        """
        A read made before a change finishes first, with the old
        credentials, which are not kept.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        before = self.store.getCredentials("romeo")
        changed = self.store.setCredentials("romeo", Credentials({}))
        self.assertEqual(CREDENTIALS, (yield before))
        yield changed
        self.assertEqual(Credentials({}), (yield self.store.getCredentials("romeo")))

    @defer.inlineCallbacks
    def test_rosterReadBeforeWriteNotKept(self):
        """
        A read made before a write finishes first, with the old roster:
        that roster is not kept, so the read after the write has the new.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        before = self.store.getRosterItem("romeo", JULIET)
        written = self.store.setRosterItem("romeo", FULL_ITEM)
        self.assertIsNone((yield before))
        yield written
        self.assertEqual(FULL_ITEM, (yield self.store.getRosterItem("romeo", JULIET)))

    @defer.inlineCallbacks
    def test_removedUserRosterForgotten(self):
        """
        Removing an account forgets its roster: an account made again
        under the name starts empty.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        yield self.store.getRoster("romeo")
        yield self.store.removeUser("romeo")
        yield self.store.createUser("romeo", CREDENTIALS)
        self.assertEqual([], (yield self.store.getRoster("romeo")))


    @defer.inlineCallbacks
    def test_reopen(self):
        """
        Everything stored survives closing the store and opening the same
        file again, which applies the schema a second time.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.createUser("juliet", Credentials({}))
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        yield self.store.setRosterItem("romeo", RosterItem(NURSE))
        yield self.store.addPendingSubscription("romeo", MERCUTIO)
        yield self.reopen()

        users = yield self.store.listUsers()
        self.assertEqual(["juliet", "romeo"], users)
        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(CREDENTIALS, credentials)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([FULL_ITEM, RosterItem(NURSE)], roster)
        pending = yield self.store.getPendingSubscriptions("romeo")
        self.assertEqual([MERCUTIO], pending)

    @defer.inlineCallbacks
    def test_reopenKeepsVersionAndApproval(self):
        """
        The roster version and pre-approvals survive a restart.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        approved = RosterItem(JULIET, approved=True)
        yield self.store.setRosterItem("romeo", approved)
        yield self.reopen()
        version = yield self.store.getRosterVersion("romeo")
        self.assertEqual(1, version)
        item = yield self.store.getRosterItem("romeo", JULIET)
        self.assertEqual(approved, item)

    @defer.inlineCallbacks
    def test_upgrade(self):
        """
        Opening a file made by the schema before roster versioning and
        pre-approvals adds the C{approved} column and the versions table,
        keeps the stored items, and does so idempotently: the upgraded
        tables are those of a new file.
        """
        yield self.store.close()
        old = self.mktemp()
        connection = sqlite3.connect(old)
        connection.executescript(PREVIOUS_SCHEMA)
        connection.execute("INSERT INTO users VALUES ('romeo')")
        connection.execute(
            "INSERT INTO roster_items (username, contact, subscription, ask)"
            " VALUES ('romeo', 'juliet@example.com', 'to', 1)"
        )
        connection.commit()
        connection.close()
        for _ in range(2):
            self.store = yield SQLiteStore.open(old)
            item = yield self.store.getRosterItem("romeo", JULIET)
            self.assertEqual(RosterItem(JULIET, subscription="to", ask=True), item)
            yield self.store.close()
        self.store = yield SQLiteStore.open(old)
        yield self.store.setRosterItem("romeo", RosterItem(NURSE, approved=True))
        item = yield self.store.getRosterItem("romeo", NURSE)
        self.assertTrue(item.approved)
        version = yield self.store.getRosterVersion("romeo")
        self.assertEqual(1, version)
        self.assertEqual(_tables(self.path), _tables(old))

    def test_walJournal(self):
        """
        The store switches the file to the WAL journal, which persists.
        """
        connection = sqlite3.connect(self.path)
        self.addCleanup(connection.close)
        journal = connection.execute("PRAGMA journal_mode").fetchone()
        self.assertEqual(("wal",), journal)

    @defer.inlineCallbacks
    def test_synchronous(self):
        """
        The store's connection runs with C{synchronous=NORMAL} unless opened
        with C{"full"}, which makes it C{FULL} (SQLite's 1 and 2).
        """

        def synchronous(cursor):
            cursor.execute("PRAGMA synchronous")
            return cursor.fetchone()[0]

        value = yield self.store._pool.runInteraction(synchronous)
        self.assertEqual(1, value)
        yield self.store.close()
        self.store = yield SQLiteStore.open(self.path, "full")
        value = yield self.store._pool.runInteraction(synchronous)
        self.assertEqual(2, value)

    def test_synchronousUnknown(self):
        """
        Any other value is refused before a connection is opened.
        """
        error = self.assertRaises(ValueError, SQLiteStore, self.path, "off")
        self.assertIn("'off'", str(error))

    def test_openFailure(self):
        """
        C{open} fails if the database file cannot be opened.
        """
        path = os.path.join(self.mktemp(), "missing", "users.sqlite")
        return self.assertFailure(
            SQLiteStore.open(path), sqlite3.OperationalError
        )


#: The tables of accounts and rosters as the schema made them before roster
#: versioning and subscription pre-approval (RFC 6121 sections 2.6, 3.4).
PREVIOUS_SCHEMA = """
CREATE TABLE users (username TEXT PRIMARY KEY);
CREATE TABLE roster_items (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    name TEXT,
    subscription TEXT NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'to', 'from', 'both')),
    ask INTEGER NOT NULL DEFAULT 0,
    groups TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (username, contact)
);
"""


def _tables(path):
    """
    @return: the columns of every table in the SQLite file at C{path}, as
        C{PRAGMA table_info} lists them, by table name.
    """
    connection = sqlite3.connect(path)
    try:
        names = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        ]
        return {
            name: connection.execute(f"PRAGMA table_info({name})").fetchall()
            for name in sorted(names)
        }
    finally:
        connection.close()


# Block lists (XEP-0191): part of the IUserStore contract, kept in a block
# of their own.

IAGO = JID("iago@shakespeare.lit")
ORCHARD = JID("romeo@montague.net/orchard")
MONTAGUE = JID("montague.net")
MONTAGUE_GATE = JID("montague.net/gate")


class BlockListStoreTests:
    """
    The block list part of the L{IUserStore} contract. Subclasses set
    C{self.store} in C{setUp} to an empty store.
    """

    @defer.inlineCallbacks
    def test_emptyBlockList(self):
        """
        An account starts with an empty block list; an unknown user has
        none (L{None}).
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        blocked = yield self.store.getBlockList("juliet")
        self.assertEqual([], blocked)
        blocked = yield self.store.getBlockList("tybalt")
        self.assertIdentical(None, blocked)

    @defer.inlineCallbacks
    def test_blockJIDs(self):
        """
        C{blockJIDs} keeps full, bare, domain and domain/resource JIDs
        exactly as given, sorted by their text, each once however often
        blocked.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.blockJIDs("juliet", [ORCHARD, IAGO, MONTAGUE])
        yield self.store.blockJIDs("juliet", [IAGO, MONTAGUE_GATE])
        blocked = yield self.store.getBlockList("juliet")
        self.assertEqual([IAGO, MONTAGUE, MONTAGUE_GATE, ORCHARD], blocked)
        self.assertEqual(
            ["iago@shakespeare.lit", "montague.net", "montague.net/gate",
             "romeo@montague.net/orchard"],
            [entity.full() for entity in blocked],
        )

    def test_blockJIDsUnknownUser(self):
        """
        C{blockJIDs} for an unknown user fails with L{UnknownUser}.
        """
        return self.assertFailure(
            self.store.blockJIDs("tybalt", [IAGO]), UnknownUser
        )

    @defer.inlineCallbacks
    def test_unblockJIDs(self):
        """
        C{unblockJIDs} removes exactly the JIDs given (a bare JID does not
        remove a full one); absent ones and unknown users are no error;
        other users keep theirs.
        """
        for username in ("juliet", "nurse"):
            yield self.store.createUser(username, CREDENTIALS)
            yield self.store.blockJIDs(username, [ORCHARD, IAGO, MONTAGUE])
        yield self.store.unblockJIDs(
            "juliet", [IAGO, JID("romeo@montague.net"), MERCUTIO]
        )
        yield self.store.unblockJIDs("tybalt", [IAGO])
        blocked = yield self.store.getBlockList("juliet")
        self.assertEqual([MONTAGUE, ORCHARD], blocked)
        blocked = yield self.store.getBlockList("nurse")
        self.assertEqual([IAGO, MONTAGUE, ORCHARD], blocked)

    @defer.inlineCallbacks
    def test_unblockAll(self):
        """
        C{unblockAll} empties one user's block list.
        """
        for username in ("juliet", "nurse"):
            yield self.store.createUser(username, CREDENTIALS)
            yield self.store.blockJIDs(username, [ORCHARD, IAGO])
        yield self.store.unblockAll("juliet")
        yield self.store.unblockAll("tybalt")
        blocked = yield self.store.getBlockList("juliet")
        self.assertEqual([], blocked)
        blocked = yield self.store.getBlockList("nurse")
        self.assertEqual([IAGO, ORCHARD], blocked)

    @defer.inlineCallbacks
    def test_removeUserRemovesBlockList(self):
        """
        C{removeUser} removes the block list: a new account of the same
        name starts with an empty one.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.blockJIDs("juliet", [IAGO])
        yield self.store.removeUser("juliet")
        blocked = yield self.store.getBlockList("juliet")
        self.assertIdentical(None, blocked)
        yield self.store.createUser("juliet", CREDENTIALS)
        blocked = yield self.store.getBlockList("juliet")
        self.assertEqual([], blocked)


class MemoryBlockListStoreTests(BlockListStoreTests, unittest.TestCase):
    """
    The block list contract for L{MemoryUserStore}, plus C{reset}.
    """

    def setUp(self):
        self.store = MemoryUserStore()

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets block lists with the accounts.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.blockJIDs("juliet", [IAGO])
        self.store.reset()
        yield self.store.createUser("juliet", CREDENTIALS)
        blocked = yield self.store.getBlockList("juliet")
        self.assertEqual([], blocked)


class SQLiteBlockListStoreTests(SQLiteFile, BlockListStoreTests, unittest.TestCase):
    """
    The block list contract for L{SQLiteStore}, plus durability.
    """


    @defer.inlineCallbacks
    def test_reopen(self):
        """
        A block list survives closing the store and opening the file again
        (XEP-0191 section 3.3: the block applies across sessions).
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.blockJIDs("juliet", [ORCHARD, MONTAGUE])
        yield self.reopen()
        blocked = yield self.store.getBlockList("juliet")
        self.assertEqual([MONTAGUE, ORCHARD], blocked)

# Private XML storage (XEP-0049): part of the IUserStore contract, kept in
# a block of its own.

NS_PREFS = "exodus:prefs"
PREFS = "<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus>"
OTHER_PREFS = "<exodus xmlns='exodus:prefs'><defaultnick>Macbeth</defaultnick></exodus>"


class PrivateStoreTests:
    """
    The private XML part of the L{IUserStore} contract. Subclasses set
    C{self.store} in C{setUp} to an empty store.
    """

    @defer.inlineCallbacks
    def test_getNothing(self):
        """
        Nothing is stored at first; an unknown user has nothing either.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        stored = yield self.store.getPrivate("juliet", NS_PREFS, "exodus")
        self.assertIdentical(None, stored)
        stored = yield self.store.getPrivate("tybalt", NS_PREFS, "exodus")
        self.assertIdentical(None, stored)

    @defer.inlineCallbacks
    def test_setGetReplace(self):
        """
        The text stored under a qualified name comes back as it was given,
        and a second set replaces it.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", PREFS)
        stored = yield self.store.getPrivate("juliet", NS_PREFS, "exodus")
        self.assertEqual(PREFS, stored)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", OTHER_PREFS)
        stored = yield self.store.getPrivate("juliet", NS_PREFS, "exodus")
        self.assertEqual(OTHER_PREFS, stored)

    @defer.inlineCallbacks
    def test_keyedByQualifiedNameAndUser(self):
        """
        The namespace and the element name both identify the data, per
        user.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.createUser("nurse", CREDENTIALS)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", PREFS)
        for username, namespace, name in [
            ("juliet", NS_PREFS, "other"),
            ("juliet", "other:prefs", "exodus"),
            ("nurse", NS_PREFS, "exodus"),
        ]:
            stored = yield self.store.getPrivate(username, namespace, name)
            self.assertIdentical(None, stored, (username, namespace, name))

    @defer.inlineCallbacks
    def test_remove(self):
        """
        Setting L{None} removes the data; removing nothing is no error.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", PREFS)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", None)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", None)
        stored = yield self.store.getPrivate("juliet", NS_PREFS, "exodus")
        self.assertIdentical(None, stored)

    def test_setUnknownUser(self):
        """
        Storing for an unknown user fails with L{UnknownUser}.
        """
        return self.assertFailure(
            self.store.setPrivate("tybalt", NS_PREFS, "exodus", PREFS), UnknownUser
        )

    @defer.inlineCallbacks
    def test_removeUserRemovesPrivate(self):
        """
        C{removeUser} removes the private XML: a new account of the same
        name starts with none.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", PREFS)
        yield self.store.removeUser("juliet")
        yield self.store.createUser("juliet", CREDENTIALS)
        stored = yield self.store.getPrivate("juliet", NS_PREFS, "exodus")
        self.assertIdentical(None, stored)


class MemoryPrivateStoreTests(PrivateStoreTests, unittest.TestCase):
    """
    The private XML contract for L{MemoryUserStore}, plus C{reset}.
    """

    def setUp(self):
        self.store = MemoryUserStore()

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets private XML with the accounts.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", PREFS)
        self.store.reset()
        yield self.store.createUser("juliet", CREDENTIALS)
        stored = yield self.store.getPrivate("juliet", NS_PREFS, "exodus")
        self.assertIdentical(None, stored)


class SQLitePrivateStoreTests(SQLiteFile, PrivateStoreTests, unittest.TestCase):
    """
    The private XML contract for L{SQLiteStore}, plus durability.
    """

    @defer.inlineCallbacks
    def test_reopen(self):
        """
        Private XML survives closing the store and opening the file again
        (XEP-0049 section 2.1: stored on the server).
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setPrivate("juliet", NS_PREFS, "exodus", PREFS)
        yield self.reopen()
        stored = yield self.store.getPrivate("juliet", NS_PREFS, "exodus")
        self.assertEqual(PREFS, stored)


# vCards (XEP-0054): part of the IUserStore contract, kept in a block of
# their own.

#: A vCard as XEP-0054 section 3.2 sets it, with text beyond ASCII.
VCARD = (
    "<vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN>"
    "<NICKNAME>Jule</NICKNAME><DESC>V\u00e9rone &amp; Mantoue</DESC>"
    "<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO>"
    "</vCard>"
)


class VCardStoreTests:
    """
    The vCard part of the L{IUserStore} contract. Subclasses set
    C{self.store} in C{setUp} to an empty store.
    """

    @defer.inlineCallbacks
    def test_noVCard(self):
        """
        An account starts without a vCard, and an unknown user has none:
        both L{None}.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        self.assertIdentical(None, (yield self.store.getVCard("juliet")))
        self.assertIdentical(None, (yield self.store.getVCard("tybalt")))

    @defer.inlineCallbacks
    def test_setVCard(self):
        """
        C{setVCard} keeps the text exactly; a second set replaces the
        first; other users keep theirs.
        """
        for username in ("juliet", "nurse"):
            yield self.store.createUser(username, CREDENTIALS)
        yield self.store.setVCard("juliet", "<vCard xmlns='vcard-temp'/>")
        yield self.store.setVCard("nurse", "<vCard xmlns='vcard-temp'><FN>Angelica</FN></vCard>")
        yield self.store.setVCard("juliet", VCARD)
        self.assertEqual(VCARD, (yield self.store.getVCard("juliet")))
        self.assertEqual(
            "<vCard xmlns='vcard-temp'><FN>Angelica</FN></vCard>",
            (yield self.store.getVCard("nurse")),
        )

    def test_setVCardUnknownUser(self):
        """
        C{setVCard} for an unknown user fails with L{UnknownUser}.
        """
        return self.assertFailure(self.store.setVCard("tybalt", VCARD), UnknownUser)

    @defer.inlineCallbacks
    def test_removeUserRemovesVCard(self):
        """
        C{removeUser} removes the vCard: a new account of the same name
        starts without one.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setVCard("juliet", VCARD)
        yield self.store.removeUser("juliet")
        yield self.store.createUser("juliet", CREDENTIALS)
        self.assertIdentical(None, (yield self.store.getVCard("juliet")))


class MemoryVCardStoreTests(VCardStoreTests, unittest.TestCase):
    """
    The vCard contract for L{MemoryUserStore}, plus C{reset}.
    """

    def setUp(self):
        self.store = MemoryUserStore()

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets vCards with the accounts.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setVCard("juliet", VCARD)
        self.store.reset()
        yield self.store.createUser("juliet", CREDENTIALS)
        self.assertIdentical(None, (yield self.store.getVCard("juliet")))


class SQLiteVCardStoreTests(SQLiteFile, VCardStoreTests, unittest.TestCase):
    """
    The vCard contract for L{SQLiteStore}, plus durability and upgrade.
    """

    @defer.inlineCallbacks
    def test_reopen(self):
        """
        A vCard survives closing the store and opening the file again.
        """
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.setVCard("juliet", VCARD)
        yield self.reopen()
        self.assertEqual(VCARD, (yield self.store.getVCard("juliet")))

    @defer.inlineCallbacks
    def test_upgrade(self):
        """
        A file made before vCards were stored gets their table when opened,
        and keeps its accounts.
        """
        yield self.store.close()
        old = self.mktemp()
        connection = sqlite3.connect(old)
        connection.executescript(PREVIOUS_SCHEMA)
        connection.execute("INSERT INTO users VALUES ('romeo')")
        connection.commit()
        connection.close()
        self.store = yield SQLiteStore.open(old)
        self.assertIdentical(None, (yield self.store.getVCard("romeo")))
        yield self.store.setVCard("romeo", VCARD)
        self.assertEqual(VCARD, (yield self.store.getVCard("romeo")))


CAPULETS = JID("capulets@conference.example.com")
MONTAGUES = JID("montagues@conference.example.com")
VERONA = JID("verona@conference.example.com")
ROMEO = JID("romeo@example.net")

# One value of every type a config holds; bool and int apart, since
# True == 1 would hide one stored as the other.
FULL_CONFIG = {
    "roomname": "Salle des Capulet",
    "roomdesc": "",
    "membersonly": True,
    "moderatedroom": False,
    "maxusers": 30,
    "historylength": 0,
    "roomsecret": None,
    "presencebroadcast": ("moderator", "participant"),
    "getmemberlist": (),
}

FULL_ROOM = StoredRoom(
    jid=CAPULETS,
    config=FULL_CONFIG,
    affiliations={
        JULIET: "owner",
        NURSE: "admin",
        ROMEO: "member",
        MERCUTIO: "outcast",
    },
    nicks={JULIET: "Juliet", NURSE: "Angelica"},
    subject="Le bal masqué",
    subjectBy="Juliet",
    reasons={MERCUTIO: "A plague on both your houses", ROMEO: "Invited"},
)


def _types(config):
    """
    @return: the type of each value of C{config}.
    """
    return {name: type(value) for name, value in config.items()}


class RoomStoreTests:
    """
    The L{IRoomStore} contract. Subclasses set C{self.store} in C{setUp}
    to an empty store.
    """

    def test_interface(self):
        """
        The store provides L{IRoomStore}.
        """
        self.assertTrue(verifyObject(IRoomStore, self.store))

    @defer.inlineCallbacks
    def test_saveRoom(self):
        """
        A saved room comes back with its config, affiliations with their
        reasons, registered nicks and subject; config values keep their
        types, and tuples come back as tuples.
        """
        yield self.store.saveRoom(FULL_ROOM)
        rooms = yield self.store.loadRooms()
        self.assertEqual([FULL_ROOM], rooms)
        self.assertEqual(_types(FULL_CONFIG), _types(rooms[0].config))

    @defer.inlineCallbacks
    def test_saveRoomDefaults(self):
        """
        A room with an empty config and no affiliations, nicks, subject or
        reasons comes back the same.
        """
        room = StoredRoom(VERONA, {}, {})
        yield self.store.saveRoom(room)
        rooms = yield self.store.loadRooms()
        self.assertEqual([StoredRoom(VERONA, {}, {}, {}, "", "", {})], rooms)

    @defer.inlineCallbacks
    def test_saveRoomList(self):
        """
        A config value given as a list comes back as a tuple.
        """
        room = StoredRoom(VERONA, {"getmemberlist": ["moderator"]}, {})
        yield self.store.saveRoom(room)
        [loaded] = yield self.store.loadRooms()
        self.assertEqual(("moderator",), loaded.config["getmemberlist"])
        self.assertIsInstance(loaded.config["getmemberlist"], tuple)

    @defer.inlineCallbacks
    def test_saveRoomReplaces(self):
        """
        Saving a room again replaces all of its state: affiliations, nicks,
        reasons and config options left out are gone.
        """
        yield self.store.saveRoom(FULL_ROOM)
        replacement = StoredRoom(
            jid=CAPULETS,
            config={"roomname": "Tomb"},
            affiliations={ROMEO: "owner", MERCUTIO: "outcast"},
            nicks={ROMEO: "Romeo"},
        )
        yield self.store.saveRoom(replacement)
        rooms = yield self.store.loadRooms()
        self.assertEqual([replacement], rooms)

    @defer.inlineCallbacks
    def test_saveRoomCopies(self):
        """
        Changing the mappings given to C{saveRoom}, even before its Deferred
        fires, or those of a loaded room does not change what is stored.
        """
        config = dict(FULL_CONFIG)
        affiliations = dict(FULL_ROOM.affiliations)
        nicks = dict(FULL_ROOM.nicks)
        reasons = dict(FULL_ROOM.reasons)
        saved = self.store.saveRoom(
            StoredRoom(
                CAPULETS, config, affiliations, nicks, FULL_ROOM.subject,
                FULL_ROOM.subjectBy, reasons,
            )
        )
        for mapping in (config, affiliations, nicks, reasons):
            mapping.clear()
        yield saved
        [loaded] = yield self.store.loadRooms()
        for mapping in (
            loaded.config, loaded.affiliations, loaded.nicks, loaded.reasons
        ):
            mapping.clear()
        rooms = yield self.store.loadRooms()
        self.assertEqual([FULL_ROOM], rooms)

    @defer.inlineCallbacks
    def test_saveRoomBareJIDs(self):
        """
        Rooms, affiliations and nicks are keyed by bare JIDs.
        """
        yield self.store.saveRoom(
            StoredRoom(
                JID("verona@conference.example.com/prince"),
                {},
                {JID("romeo@example.net/ball"): "member"},
                {JID("romeo@example.net/ball"): "Romeo"},
                reasons={JID("romeo@example.net/ball"): "Invited"},
            )
        )
        rooms = yield self.store.loadRooms()
        self.assertEqual(
            [
                StoredRoom(
                    VERONA, {}, {ROMEO: "member"}, {ROMEO: "Romeo"},
                    reasons={ROMEO: "Invited"},
                )
            ],
            rooms,
        )
        yield self.store.removeRoom(JID("verona@conference.example.com/x"))
        rooms = yield self.store.loadRooms()
        self.assertEqual([], rooms)

    @defer.inlineCallbacks
    def test_reasonWithoutAffiliation(self):
        """
        Reasons are stored with affiliations: a reason for a JID without
        one is not stored.
        """
        yield self.store.saveRoom(
            StoredRoom(
                VERONA, {}, {ROMEO: "outcast"},
                reasons={ROMEO: "Banished", JULIET: "Nothing"},
            )
        )
        [room] = yield self.store.loadRooms()
        self.assertEqual({ROMEO: "Banished"}, room.reasons)

    @defer.inlineCallbacks
    def test_loadRoomsSorted(self):
        """
        C{loadRooms} fires with the rooms sorted by JID, whatever the order
        of saving, each with its own state; with none, it fires with C{[]}.
        """
        rooms = yield self.store.loadRooms()
        self.assertEqual([], rooms)
        verona = StoredRoom(VERONA, {"roomname": "Verona"}, {ROMEO: "outcast"})
        capulets = StoredRoom(CAPULETS, {}, {JULIET: "owner"}, {ROMEO: "R"})
        montagues = StoredRoom(
            MONTAGUES, {}, {ROMEO: "owner"}, reasons={ROMEO: "Heir"}
        )
        for room in (verona, capulets, montagues):
            yield self.store.saveRoom(room)
        rooms = yield self.store.loadRooms()
        self.assertEqual([capulets, montagues, verona], rooms)

    @defer.inlineCallbacks
    def test_removeRoom(self):
        """
        C{removeRoom} forgets that room and leaves others alone.
        """
        other = StoredRoom(MONTAGUES, {}, {ROMEO: "owner"})
        yield self.store.saveRoom(FULL_ROOM)
        yield self.store.saveRoom(other)
        yield self.store.removeRoom(CAPULETS)
        rooms = yield self.store.loadRooms()
        self.assertEqual([other], rooms)

    @defer.inlineCallbacks
    def test_removeRoomRemovesState(self):
        """
        C{removeRoom} removes the affiliations, reasons and nicks too, so a
        room saved again under the same JID starts without them.
        """
        yield self.store.saveRoom(FULL_ROOM)
        yield self.store.removeRoom(CAPULETS)
        yield self.store.saveRoom(StoredRoom(CAPULETS, {}, {}))
        rooms = yield self.store.loadRooms()
        self.assertEqual([StoredRoom(CAPULETS, {}, {})], rooms)

    @defer.inlineCallbacks
    def test_removeRoomAbsent(self):
        """
        Removing an absent room, or the same room twice, succeeds and
        changes nothing.
        """
        yield self.store.saveRoom(FULL_ROOM)
        yield self.store.removeRoom(VERONA)
        yield self.store.removeRoom(MONTAGUES)
        yield self.store.removeRoom(MONTAGUES)
        rooms = yield self.store.loadRooms()
        self.assertEqual([FULL_ROOM], rooms)


class MemoryRoomStoreTests(RoomStoreTests, unittest.TestCase):
    """
    The contract for L{MemoryRoomStore}, plus L{MemoryRoomStore.reset}.
    """

    def setUp(self):
        self.store = MemoryRoomStore()
        self.addCleanup(self.store.close)

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets every room.
        """
        yield self.store.saveRoom(FULL_ROOM)
        yield self.store.saveRoom(StoredRoom(VERONA, {}, {}))
        self.store.reset()
        rooms = yield self.store.loadRooms()
        self.assertEqual([], rooms)


class SQLiteRoomStoreTests(SQLiteFile, RoomStoreTests, unittest.TestCase):
    """
    The room store contract for L{SQLiteStore} on a temporary file, plus
    durability, atomic saves and users and rooms sharing the file.
    """


    @defer.inlineCallbacks
    def test_reopen(self):
        """
        Rooms survive closing the store and opening the same file again;
        a removed room stays removed.
        """
        other = StoredRoom(MONTAGUES, {}, {ROMEO: "owner"}, {ROMEO: "Romeo"})
        yield self.store.saveRoom(FULL_ROOM)
        yield self.store.saveRoom(other)
        yield self.store.saveRoom(StoredRoom(VERONA, {}, {}))
        yield self.store.removeRoom(VERONA)
        yield self.reopen()

        rooms = yield self.store.loadRooms()
        self.assertEqual([FULL_ROOM, other], rooms)
        self.assertEqual(_types(FULL_CONFIG), _types(rooms[0].config))

    @defer.inlineCallbacks
    def test_usersAndRooms(self):
        """
        One store keeps users and rooms in one file: both survive a
        reopen, and removing one kind leaves the other.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.setRosterItem("romeo", FULL_ITEM)
        yield self.store.saveRoom(FULL_ROOM)
        yield self.reopen()

        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(CREDENTIALS, credentials)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([FULL_ITEM], roster)
        rooms = yield self.store.loadRooms()
        self.assertEqual([FULL_ROOM], rooms)

        yield self.store.removeUser("romeo")
        rooms = yield self.store.loadRooms()
        self.assertEqual([FULL_ROOM], rooms)
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.removeRoom(CAPULETS)
        users = yield self.store.listUsers()
        self.assertEqual(["juliet"], users)

    @defer.inlineCallbacks
    def test_saveRoomAtomic(self):
        """
        A save that fails halfway (here on an affiliation the schema
        rejects) leaves the room as it was before.
        """
        yield self.store.saveRoom(FULL_ROOM)
        broken = StoredRoom(CAPULETS, {}, {ROMEO: "owner", JULIET: "none"})
        yield self.assertFailure(
            self.store.saveRoom(broken), sqlite3.IntegrityError
        )
        rooms = yield self.store.loadRooms()
        self.assertEqual([FULL_ROOM], rooms)

    @defer.inlineCallbacks
    def test_saveRoomNotJSON(self):
        """
        A config value that JSON cannot hold fails the save with
        L{TypeError} and stores nothing.
        """
        room = StoredRoom(VERONA, {"roomname": {"not", "json"}}, {})
        yield self.assertFailure(self.store.saveRoom(room), TypeError)
        rooms = yield self.store.loadRooms()
        self.assertEqual([], rooms)


# Offline messages (XEP-0160).

HELLO = "<message xmlns='jabber:client' to='romeo@example.net'><body>Hello</body></message>"
AGAIN = "<message xmlns='jabber:client' to='romeo@example.net'><body>Vérone</body></message>"
THIRD = "<message xmlns='jabber:client' to='romeo@example.net'><body>3</body></message>"


class OfflineStoreTests:
    """
    The L{IOfflineStore} contract. Subclasses set C{self.store} in
    C{setUp} to an empty store, which is also an L{IUserStore}.
    """

    def test_interface(self):
        """
        The store provides L{IOfflineStore}.
        """
        self.assertTrue(verifyObject(IOfflineStore, self.store))

    @defer.inlineCallbacks
    def test_storeInOrder(self):
        """
        Messages come back in the order stored, as stored, keys growing.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        for stanza in (HELLO, AGAIN, THIRD):
            stored = yield self.store.storeOfflineMessage("romeo", stanza, 10)
            self.assertTrue(stored)
        messages = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([HELLO, AGAIN, THIRD], [m.stanza for m in messages])
        keys = [m.key for m in messages]
        self.assertEqual(sorted(keys), keys)
        self.assertEqual(3, len(set(keys)))

    @defer.inlineCallbacks
    def test_perUser(self):
        """
        Each account has its own messages; an unknown one has none.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.createUser("juliet", CREDENTIALS)
        yield self.store.storeOfflineMessage("romeo", HELLO, 10)
        yield self.store.storeOfflineMessage("juliet", AGAIN, 10)
        romeos = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([HELLO], [m.stanza for m in romeos])
        nobodys = yield self.store.getOfflineMessages("tybalt")
        self.assertEqual([], nobodys)

    @defer.inlineCallbacks
    def test_limit(self):
        """
        An account holding C{limit} messages takes no more: C{False}, and
        nothing changes. Room again once some are removed.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        self.assertTrue((yield self.store.storeOfflineMessage("romeo", HELLO, 2)))
        self.assertTrue((yield self.store.storeOfflineMessage("romeo", AGAIN, 2)))
        self.assertFalse((yield self.store.storeOfflineMessage("romeo", THIRD, 2)))
        messages = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([HELLO, AGAIN], [m.stanza for m in messages])
        yield self.store.removeOfflineMessages("romeo", [messages[0].key])
        self.assertTrue((yield self.store.storeOfflineMessage("romeo", THIRD, 2)))
        messages = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([AGAIN, THIRD], [m.stanza for m in messages])

    def test_storeUnknownUser(self):
        """
        Storing for an unknown account fails with L{UnknownUser}.
        """
        return self.assertFailure(
            self.store.storeOfflineMessage("tybalt", HELLO, 10), UnknownUser
        )

    @defer.inlineCallbacks
    def test_remove(self):
        """
        C{removeOfflineMessages} removes exactly the given keys of the
        given account; absent keys and another account's keys are ignored.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.createUser("juliet", CREDENTIALS)
        for stanza in (HELLO, AGAIN, THIRD):
            yield self.store.storeOfflineMessage("romeo", stanza, 10)
        yield self.store.storeOfflineMessage("juliet", HELLO, 10)
        [first, second, third] = yield self.store.getOfflineMessages("romeo")
        [juliets] = yield self.store.getOfflineMessages("juliet")
        removed = self.store.removeOfflineMessages(
            "romeo", [first.key, third.key, juliets.key, third.key + 1000]
        )
        # The interface promises a Deferred, as for every store method.
        self.assertIsInstance(removed, defer.Deferred)
        yield removed
        remaining = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([second], remaining)
        remaining = yield self.store.getOfflineMessages("juliet")
        self.assertEqual([juliets], remaining)
        yield self.store.removeOfflineMessages("tybalt", [1])

    @defer.inlineCallbacks
    def test_removeUserRemovesMessages(self):
        """
        Removing an account removes its offline messages: a new account of
        the same name starts with none.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.storeOfflineMessage("romeo", HELLO, 10)
        yield self.store.removeUser("romeo")
        yield self.store.createUser("romeo", CREDENTIALS)
        messages = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([], messages)


class MemoryOfflineStoreTests(OfflineStoreTests, unittest.TestCase):
    """
    The offline message contract for L{MemoryUserStore}, plus C{reset}.
    """

    def setUp(self):
        self.store = MemoryUserStore()

    @defer.inlineCallbacks
    def test_reset(self):
        """
        C{reset} forgets every offline message.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.storeOfflineMessage("romeo", HELLO, 10)
        self.store.reset()
        yield self.store.createUser("romeo", CREDENTIALS)
        messages = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([], messages)


class SQLiteOfflineStoreTests(SQLiteFile, OfflineStoreTests, unittest.TestCase):
    """
    The offline message contract for L{SQLiteStore}, plus durability.
    """


    @defer.inlineCallbacks
    def test_reopen(self):
        """
        Offline messages survive closing and reopening the file, in order,
        and the limit still counts them.
        """
        yield self.store.createUser("romeo", CREDENTIALS)
        yield self.store.storeOfflineMessage("romeo", HELLO, 2)
        yield self.store.storeOfflineMessage("romeo", AGAIN, 2)
        yield self.reopen()
        messages = yield self.store.getOfflineMessages("romeo")
        self.assertEqual([HELLO, AGAIN], [m.stanza for m in messages])
        self.assertFalse((yield self.store.storeOfflineMessage("romeo", THIRD, 2)))


class RosterCacheTests(unittest.SynchronousTestCase):
    """
    L{RosterCache}: the rosters an L{SQLiteStore} keeps in memory.
    """

    def test_keepsRead(self):
        """
        A read with no write since it started is kept, by contact.
        """
        cache = RosterCache()
        self.assertIsNone(cache.get("romeo"))
        cache.read("romeo", cache.reading(), [FULL_ITEM])
        self.assertEqual({"juliet@example.com": FULL_ITEM}, cache.get("romeo"))

    def test_writeBetween(self):
        """
        A write made while a read runs (of any account) makes that read
        not kept, and forgets the account's roster.
        """
        cache = RosterCache()
        cache.read("romeo", cache.reading(), [FULL_ITEM])
        token = cache.reading()
        cache.writing("juliet")
        cache.read("mercutio", token, [])
        self.assertIsNone(cache.get("mercutio"))
        self.assertEqual({"juliet@example.com": FULL_ITEM}, cache.get("romeo"))
        cache.writing("romeo")
        self.assertIsNone(cache.get("romeo"))

    def test_bounded(self):
        """
        Only the C{maxSize} most recently used rosters stay.
        """
        cache = RosterCache(maxSize=2)
        for name in ("romeo", "juliet"):
            cache.read(name, cache.reading(), [])
        cache.get("romeo")
        cache.read("nurse", cache.reading(), [])
        self.assertIsNone(cache.get("juliet"))
        self.assertEqual({}, cache.get("romeo"))
        self.assertEqual({}, cache.get("nurse"))


class SerialConnectionPoolTests(unittest.TestCase):
    """
    L{SerialConnectionPool}: adbapi's interactions, in one thread of its
    own, in order, without adbapi's thread pool (issue 16).
    """

    def setUp(self):
        self.pool = SerialConnectionPool(
            "sqlite3", self.mktemp(), cp_min=1, cp_max=1, check_same_thread=False
        )
        self.pool.start()
        self.addCleanup(self.pool.close)
        return self.pool.runInteraction(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))

    def insert(self, cursor, n):
        cursor.execute("INSERT INTO t (n) VALUES (?)", (n,))
        return threading.current_thread()

    def select(self, cursor):
        cursor.execute("SELECT n FROM t ORDER BY rowid")
        return [n for (n,) in cursor.fetchall()]

    @defer.inlineCallbacks
    def test_ownThreadInOrder(self):
        """
        Interactions asked for together run in the order asked, in one
        thread that is neither the reactor's nor one of adbapi's thread
        pool, which is never started.
        """
        threads = yield defer.gatherResults(
            [self.pool.runInteraction(self.insert, n) for n in range(20)]
        )
        self.assertEqual(list(range(20)), (yield self.pool.runInteraction(self.select)))
        self.assertEqual(1, len(set(threads)))
        self.assertIsNot(threading.current_thread(), threads[0])
        self.assertFalse(self.pool.threadpool.started)

    @defer.inlineCallbacks
    def test_failureRollsBack(self):
        """
        An interaction that raises fails its Deferred with that exception,
        and what it wrote is rolled back; the next one runs.
        """

        def fail(cursor):
            self.insert(cursor, 1)
            raise ValueError("no")

        yield self.assertFailure(self.pool.runInteraction(fail), ValueError)
        yield self.pool.runInteraction(self.insert, 2)
        self.assertEqual([2], (yield self.pool.runInteraction(self.select)))

    @defer.inlineCallbacks
    def test_closeRunsWhatWasAsked(self):
        """
        Closing runs the interactions asked for before it, then ends the
        thread; the file holds what they wrote.
        """
        path = self.mktemp()
        pool = SerialConnectionPool("sqlite3", path, cp_min=1, cp_max=1, check_same_thread=False)
        pool.start()
        yield pool.runInteraction(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
        written = [pool.runInteraction(self.insert, n) for n in range(5)]
        thread = pool._thread
        pool.close()
        self.assertFalse(thread.is_alive())
        yield defer.gatherResults(written)
        pool = SerialConnectionPool("sqlite3", path, cp_min=1, cp_max=1, check_same_thread=False)
        pool.start()
        self.addCleanup(pool.close)
        self.assertEqual(list(range(5)), (yield pool.runInteraction(self.select)))

    @defer.inlineCallbacks
    def test_storeUsesIt(self):
        """
        L{SQLiteStore} runs its calls through a L{SerialConnectionPool}.
        """
        store = yield SQLiteStore.open(self.mktemp())
        self.addCleanup(store.close)
        yield store.createUser("romeo", CREDENTIALS)
        self.assertIsInstance(store._pool, SerialConnectionPool)
        self.assertFalse(store._pool.threadpool.started)
        self.assertEqual(["romeo"], (yield store.listUsers()))
