# -*- test-case-name: tests.test_storage -*-
"""
Tests for L{mepserver.storage}: one L{IUserStore} contract, run against
every store, plus what only one store has (SQLite durability,
L{MemoryUserStore.reset}).
"""

import os
import sqlite3

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from zope.interface.verify import verifyObject

from mepserver.interfaces import (
    Credentials,
    IUserStore,
    RosterItem,
    ScramKeys,
    UnknownUser,
    UserExists,
)
from mepserver.storage.memory import MemoryUserStore
from mepserver.storage.sqlite import SQLiteUserStore

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


class SQLiteUserStoreTests(UserStoreTests, unittest.TestCase):
    """
    The contract for L{SQLiteUserStore} on a temporary file, plus
    durability across a restart.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.path = self.mktemp()
        self.store = yield SQLiteUserStore.open(self.path)
        # Through self, so that a test that reopens the store closes the
        # store it ends with.
        self.addCleanup(lambda: self.store.close())

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
        yield self.store.close()
        self.store = yield SQLiteUserStore.open(self.path)

        users = yield self.store.listUsers()
        self.assertEqual(["juliet", "romeo"], users)
        credentials = yield self.store.getCredentials("romeo")
        self.assertEqual(CREDENTIALS, credentials)
        roster = yield self.store.getRoster("romeo")
        self.assertEqual([FULL_ITEM, RosterItem(NURSE)], roster)
        pending = yield self.store.getPendingSubscriptions("romeo")
        self.assertEqual([MERCUTIO], pending)

    def test_walJournal(self):
        """
        The store switches the file to the WAL journal, which persists.
        """
        connection = sqlite3.connect(self.path)
        self.addCleanup(connection.close)
        journal = connection.execute("PRAGMA journal_mode").fetchone()
        self.assertEqual(("wal",), journal)

    def test_openFailure(self):
        """
        C{open} fails if the database file cannot be opened.
        """
        path = os.path.join(self.mktemp(), "missing", "users.sqlite")
        return self.assertFailure(
            SQLiteUserStore.open(path), sqlite3.OperationalError
        )
