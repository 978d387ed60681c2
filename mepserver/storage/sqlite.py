# -*- test-case-name: tests.test_storage -*-
"""
L{SQLiteStore}: the L{IUserStore}, the L{IRoomStore}, the L{IPubSubStore}
and the L{IArchiveStore} in one SQLite file. It keeps accounts (RFC 5802
SCRAM keys), rosters with their versions (RFC 6121 sections 2 and 2.6),
pending inbound subscriptions (RFC 6121 section 3.1.3), offline messages
(XEP-0160), block lists (XEP-0191), private XML (XEP-0049), persistent
rooms (XEP-0045 section 10.2), pubsub nodes and items (XEP-0060) and
message archives (XEP-0313).

Users and rooms share the file and its one connection: SQLite serializes
writers anyway, and one connection runs every call in the order made.
SQLite runs in the one thread of an adbapi pool (L{SerialConnectionPool}),
so the reactor never blocks on the disk. Each public method is one
C{runInteraction(self._doX, ...)}: C{_doX(cursor, ...)} runs in a
transaction, which adbapi commits when it returns and rolls back when it
raises. The tables are in C{schema.sql}.
"""

from __future__ import annotations

import datetime
import functools
import importlib.resources
import json
import queue
import sqlite3
import threading
from collections import OrderedDict
from types import MappingProxyType
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from twisted.enterprise import adbapi
from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver.interfaces import (
    ArchivedMessage,
    ArchivePage,
    ArchivePrefs,
    ArchiveQuery,
    Credentials,
    DuplicateArchiveID,
    IArchiveStore,
    IOfflineStore,
    IPubSubStore,
    IRoomStore,
    IUserStore,
    OfflineMessage,
    RosterItem,
    ScramKeys,
    StoredItem,
    StoredNode,
    StoredRoom,
    UnknownArchiveID,
    UnknownNode,
    UnknownUser,
    UserExists,
)


#: The values of SQLite's C{PRAGMA synchronous} a store may be opened with.
SYNCHRONOUS = ("normal", "full")


def _openConnection(synchronous: str, connection: sqlite3.Connection) -> None:
    """
    Prepare each new connection of the pool.

    SQLite leaves foreign keys off unless asked; they make removing a user
    or a room cascade to its rows. The WAL journal persists in the file.
    With it, C{synchronous=NORMAL} syncs the disk only at checkpoints: a
    commit is still atomic and survives the process crashing, but the
    last ones may be lost in a power cut, as with ejabberd's Mnesia and
    Prosody's files, which sync nothing per write either. C{FULL} syncs
    the WAL at every commit, which costs a syscall of disk time and some
    90 microseconds of CPU per write (issue 16: a PEP publish's ~15%).

    @param synchronous: one of L{SYNCHRONOUS}.
    """
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous.upper()}")


def _hasUser(cursor: adbapi.Transaction, username: str) -> bool:
    """
    @return: whether there is an account C{username}.
    """
    cursor.execute("SELECT 1 FROM users WHERE username = ?", (username,))
    return cursor.fetchone() is not None


def _checkUser(cursor: adbapi.Transaction, username: str) -> None:
    """
    @raise UnknownUser: if there is no account C{username}.
    """
    if not _hasUser(cursor, username):
        raise UnknownUser(username)


def _insertKeys(
    cursor: adbapi.Transaction, username: str, credentials: Credentials
) -> None:
    """
    Store the SCRAM keys of C{credentials}, one row per mechanism.
    """
    cursor.executemany(
        "INSERT INTO scram_keys"
        " (username, mechanism, salt, stored_key, server_key, iterations)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (username, mechanism, keys.salt, keys.storedKey, keys.serverKey,
             keys.iterations)
            for mechanism, keys in credentials.keys.items()
        ],
    )


def _rosterItem(
    row: Tuple[str, Optional[str], str, int, str, int]
) -> RosterItem:
    """
    Convert a row of C{roster_items} to a L{RosterItem}.
    """
    contact, name, subscription, ask, groups, approved = row
    return RosterItem(
        contact=jid.internJID(contact),
        name=name,
        subscription=subscription,
        ask=bool(ask),
        groups=tuple(json.loads(groups)),
        approved=bool(approved),
    )


_ROSTER_COLUMNS = "contact, name, subscription, ask, groups, approved"


#: Columns added to a table after its first release, as (table, column,
#: definition). C{schema.sql} creates them in new files; L{SQLiteStore}
#: adds those missing from older files, since SQLite has no C{ADD COLUMN
#: IF NOT EXISTS}. Each definition matches the column in C{schema.sql}.
_ADDED_COLUMNS = (
    # RFC 6121 section 3.4: subscription pre-approvals.
    ("roster_items", "approved", "INTEGER NOT NULL DEFAULT 0"),
)


def _addMissingColumns(cursor: adbapi.Transaction) -> None:
    """
    Add the columns of L{_ADDED_COLUMNS} a file made by an older schema
    lacks; idempotent.
    """
    for table, column, definition in _ADDED_COLUMNS:
        cursor.execute(f"PRAGMA table_info({table})")
        if column not in [row[1] for row in cursor.fetchall()]:
            cursor.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} {definition}"
            )


def _bumpRosterVersion(cursor: adbapi.Transaction, username: str) -> int:
    """
    Increment the roster version of C{username} (RFC 6121 section 2.6).

    @return: the new version.
    """
    cursor.execute(
        "INSERT INTO roster_versions (username, version) VALUES (?, 1)"
        " ON CONFLICT (username) DO UPDATE SET version = version + 1",
        (username,),
    )
    return _rosterVersion(cursor, username)


def _rosterVersion(cursor: adbapi.Transaction, username: str) -> int:
    """
    @return: the roster version of C{username}; 0 without a row.
    """
    cursor.execute(
        "SELECT version FROM roster_versions WHERE username = ?", (username,)
    )
    row = cursor.fetchone()
    return 0 if row is None else row[0]


_RoomRow = Tuple[str, str, str, str]
_AffiliationRow = Tuple[str, str, str, Optional[str]]
_NickRow = Tuple[str, str, str]


def _roomRows(
    room: StoredRoom,
) -> Tuple[_RoomRow, List[_AffiliationRow], List[_NickRow]]:
    """
    Convert C{room} to the rows of C{rooms}, C{room_affiliations} and
    C{room_nicks}.

    This runs in the caller's thread, so that what is saved is the room as
    it was at the call, even if its mappings change before the pool's
    thread gets to it.

    @raise TypeError: if a config value cannot be written as JSON.
    """
    roomJID = room.jid.userhost()
    reasons = {
        user.userhost(): reason for user, reason in room.reasons.items()
    }
    affiliations = []
    for user, affiliation in room.affiliations.items():
        bare = user.userhost()
        affiliations.append((roomJID, bare, affiliation, reasons.get(bare)))
    nicks = [
        (roomJID, user.userhost(), nick) for user, nick in room.nicks.items()
    ]
    config = json.dumps(dict(room.config))
    return (roomJID, config, room.subject, room.subjectBy), affiliations, nicks


def _loadConfig(text: str) -> Dict[str, object]:
    """
    Read a room config from JSON; arrays come back as tuples, which is what
    L{StoredRoom.config} holds.
    """
    return {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in json.loads(text).items()
    }


class SerialConnectionPool(adbapi.ConnectionPool):
    """
    An adbapi pool of one connection in one thread of its own, which runs
    interactions one at a time in the order they were asked for, as a
    pool with C{cp_max=1} does, with less in the way (issue 16): each
    interaction goes to the thread through one queue, and its outcome comes
    back through the reactor's C{callFromThread}, without the thread pool's
    workers, team and context (about a tenth of the CPU time of a PEP
    publish went there). Interactions asked for before the pool starts
    (before the reactor runs) wait in the queue; L{finalClose} lets those
    asked for before it run, then ends the thread and closes the
    connection.
    """

    def __init__(self, *args, **kwargs):
        # Before adbapi's constructor, which starts the pool at once if
        # the reactor runs.
        self._jobs: "queue.SimpleQueue" = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        adbapi.ConnectionPool.__init__(self, *args, **kwargs)

    def start(self) -> None:
        if not self.running:
            self._thread = threading.Thread(target=self._work, name="SQLiteStore")
            self._thread.start()
            self.shutdownID = self._reactor.addSystemEventTrigger(
                "during", "shutdown", self.finalClose
            )
            self.running = True

    def _work(self) -> None:
        """
        The thread: run each interaction and hand its outcome to the
        reactor's thread, until told to stop (L{None}).
        """
        get = self._jobs.get
        callFromThread = self._reactor.callFromThread
        while True:
            job = get()
            if job is None:
                return
            d, interaction, args, kwargs = job
            try:
                result = self._runInteraction(interaction, *args, **kwargs)
            except BaseException:
                callFromThread(d.errback, Failure())
            else:
                callFromThread(d.callback, result)

    def runInteraction(self, interaction, *args, **kwargs) -> defer.Deferred:
        """
        As L{adbapi.ConnectionPool.runInteraction}: C{interaction(cursor,
        *args, **kwargs)} in the pool's thread, in a transaction committed
        when it returns and rolled back when it raises.

        @return: a Deferred firing with its result or failure.
        """
        d = defer.Deferred()
        self._jobs.put((d, interaction, args, kwargs))
        return d

    def finalClose(self) -> None:
        self.shutdownID = None
        thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join()
        self.running = False
        for conn in self.connections.values():
            self._close(conn)
        self.connections.clear()


#: How many accounts' rosters the store keeps in memory (L{ReadCache}).
ROSTER_CACHE_SIZE = 1000

#: How many accounts' credentials it keeps: enough for the accounts that
#: log in again and again (reconnects), small beside the rosters.
CREDENTIALS_CACHE_SIZE = 256


class ReadCache:
    """
    What an L{SQLiteStore} read last, by account, in memory, so that the
    reads that come with every login (credentials), directed presence to a
    room (RFC 6121 section 4.6) and PEP (XEP-0163) do not each wait for
    the database thread. The C{maxSize} most recently used entries are
    kept.

    The store's one connection runs calls in the order made, and the
    cache keeps that order: a write forgets the account's entry when it
    is made, so that a read made after it goes to the database, behind the
    write; and a read fills the entry only if no write (of any account)
    was made while it ran (a read finishes before any write made after it,
    so what it read may be older than that write).

    @ivar maxSize: the most entries kept.
    """

    def __init__(self, maxSize: int = ROSTER_CACHE_SIZE) -> None:
        self.maxSize = maxSize
        self._entries: "OrderedDict[str, object]" = OrderedDict()
        # Writes made so far, of any account.
        self._writes = 0

    def get(self, key: str, default=None):
        """
        @return: the entry of C{key}, or C{default} if not kept.
        """
        entries = self._entries
        if key not in entries:
            return default
        entries.move_to_end(key)
        return entries[key]

    def reading(self) -> int:
        """
        A read starts.

        @return: the token to give L{read}.
        """
        return self._writes

    def read(self, key: str, token: int, value) -> None:
        """
        A read that started with C{token} got C{value}: keep it, unless a
        write was made since.
        """
        if self._writes != token:
            return
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxSize:
            self._entries.popitem(last=False)

    def writing(self, key: str) -> None:
        """
        A write of C{key}'s entry (or of the account) is made.
        """
        self._entries.pop(key, None)
        self._writes += 1


class RosterCache(ReadCache):
    """
    The rosters an L{SQLiteStore} read last (a L{ReadCache}), each kept by
    contact, in contact order. An entry is replaced or forgotten, never
    changed: L{SQLiteStore.getRosterByContact} hands it out.
    """

    def read(self, username: str, token: int, items: List[RosterItem]) -> None:
        ReadCache.read(
            self, username, token, {item.contact.userhost(): item for item in items}
        )


#: No entry in a L{ReadCache}.
_MISSING = object()


@implementer(
    IUserStore, IRoomStore, IPubSubStore, IOfflineStore, IArchiveStore
)
class SQLiteStore:
    """
    Accounts, rosters and persistent rooms in an SQLite database file.

    One store serves as both the user store and the room store, so that
    the file has one connection; L{prepare} and L{close} it once.

    Get a ready store from L{open}, which applies the schema; the
    constructor alone leaves the schema unchecked.

    @ivar _pool: the L{SerialConnectionPool} of one connection.
    """

    def __init__(self, path: str, synchronous: str = "normal") -> None:
        """
        @param path: the database file; it is created if missing.
        @param synchronous: when SQLite waits for the disk, one of
            L{SYNCHRONOUS} (C{[storage] synchronous}; see L{_openConnection}).
        """
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
        self._rosters = RosterCache()
        self._credentials = ReadCache(CREDENTIALS_CACHE_SIZE)
        self._pool = SerialConnectionPool(
            "sqlite3",
            path,
            cp_min=1,
            cp_max=1,
            check_same_thread=False,
            cp_openfun=functools.partial(_openConnection, synchronous),
        )

    @classmethod
    def open(cls, path: str, synchronous: str = "normal") -> defer.Deferred[SQLiteStore]:
        """
        Open the store at C{path}, creating the file and any missing tables.

        Applying the schema is idempotent, so this is safe at every start.

        @param path: the database file.
        @param synchronous: as for the constructor.
        @return: a Deferred firing with the ready store; if the schema cannot
            be applied, it fails and the pool is closed.
        """
        store = cls(path, synchronous)
        d = store.prepare()
        d.addCallback(lambda _: store)
        return d

    def prepare(self) -> defer.Deferred[None]:
        """
        Apply the schema; idempotent, so safe at every start.

        Calls made before it fires wait behind it: the pool has a single
        connection, which runs interactions in order.

        @return: a Deferred that fires when the tables exist; if the schema
            cannot be applied, it fails and the pool is closed.
        """
        schema = (
            importlib.resources.files(__package__)
            .joinpath("schema.sql")
            .read_text(encoding="utf-8")
        )

        def failed(failure: Failure) -> Failure:
            self._pool.close()
            return failure

        d = self._pool.runInteraction(self._doApplySchema, schema)
        d.addErrback(failed)
        return d

    def _doApplySchema(self, cursor: adbapi.Transaction, schema: str) -> None:
        cursor.executescript(schema)
        _addMissingColumns(cursor)

    def getCredentials(
        self, username: str
    ) -> defer.Deferred[Optional[Credentials]]:
        # Every login asks (SASL): kept in memory once read (ReadCache).
        credentials = self._credentials.get(username, _MISSING)
        if credentials is not _MISSING:
            return defer.succeed(credentials)
        token = self._credentials.reading()

        def read(credentials: Optional[Credentials]) -> Optional[Credentials]:
            self._credentials.read(username, token, credentials)
            return credentials

        return self._pool.runInteraction(self._doGetCredentials, username).addCallback(read)

    def _doGetCredentials(
        self, cursor: adbapi.Transaction, username: str
    ) -> Optional[Credentials]:
        if not _hasUser(cursor, username):
            return None
        cursor.execute(
            "SELECT mechanism, salt, stored_key, server_key, iterations"
            " FROM scram_keys WHERE username = ?",
            (username,),
        )
        return Credentials(
            {mech: ScramKeys(*keys) for mech, *keys in cursor.fetchall()}
        )

    def createUser(
        self, username: str, credentials: Credentials
    ) -> defer.Deferred[None]:
        self._credentials.writing(username)
        return self._pool.runInteraction(
            self._doCreateUser, username, credentials
        )

    def _doCreateUser(
        self,
        cursor: adbapi.Transaction,
        username: str,
        credentials: Credentials,
    ) -> None:
        try:
            cursor.execute(
                "INSERT INTO users (username) VALUES (?)", (username,)
            )
        except sqlite3.IntegrityError:
            raise UserExists(username) from None
        _insertKeys(cursor, username, credentials)

    def setCredentials(
        self, username: str, credentials: Credentials
    ) -> defer.Deferred[None]:
        self._credentials.writing(username)
        return self._pool.runInteraction(
            self._doSetCredentials, username, credentials
        )

    def _doSetCredentials(
        self,
        cursor: adbapi.Transaction,
        username: str,
        credentials: Credentials,
    ) -> None:
        _checkUser(cursor, username)
        cursor.execute(
            "DELETE FROM scram_keys WHERE username = ?", (username,)
        )
        _insertKeys(cursor, username, credentials)

    def removeUser(self, username: str) -> defer.Deferred[None]:
        self._rosters.writing(username)
        self._credentials.writing(username)
        return self._pool.runInteraction(self._doRemoveUser, username)

    def _doRemoveUser(self, cursor: adbapi.Transaction, username: str) -> None:
        # The keys, roster and pending subscriptions go by ON DELETE CASCADE.
        cursor.execute("DELETE FROM users WHERE username = ?", (username,))
        if cursor.rowcount == 0:
            raise UnknownUser(username)
        # The roster changed: a new account of that name starts after it.
        _bumpRosterVersion(cursor, username)

    def listUsers(self) -> defer.Deferred[List[str]]:
        return self._pool.runInteraction(self._doListUsers)

    def _doListUsers(self, cursor: adbapi.Transaction) -> List[str]:
        cursor.execute("SELECT username FROM users ORDER BY username")
        return [username for (username,) in cursor.fetchall()]

    def getRoster(self, username: str) -> defer.Deferred[List[RosterItem]]:
        roster = self._rosters.get(username)
        if roster is not None:
            return defer.succeed(list(roster.values()))
        return self._readRoster(username)

    def getRosterByContact(self, username: str) -> defer.Deferred[Mapping[str, RosterItem]]:
        """
        The cached roster itself, behind a read-only view: the cache
        replaces an account's entry, never changes it (L{RosterCache}).
        """
        roster = self._rosters.get(username)
        if roster is not None:
            return defer.succeed(MappingProxyType(roster))
        return self._readRoster(username).addCallback(
            lambda items: MappingProxyType({item.contact.userhost(): item for item in items})
        )

    def _readRoster(self, username: str) -> defer.Deferred[List[RosterItem]]:
        """
        Read a roster from the database, and keep it (L{RosterCache}).
        """
        token = self._rosters.reading()

        def read(items: List[RosterItem]) -> List[RosterItem]:
            self._rosters.read(username, token, items)
            return items

        return self._pool.runInteraction(self._doGetRoster, username).addCallback(read)

    def _doGetRoster(
        self, cursor: adbapi.Transaction, username: str
    ) -> List[RosterItem]:
        # SQLite compares TEXT bytewise in UTF-8, which is code point order,
        # the same as sorting Python strings in the memory store.
        cursor.execute(
            f"SELECT {_ROSTER_COLUMNS} FROM roster_items"
            " WHERE username = ? ORDER BY contact",
            (username,),
        )
        return [_rosterItem(row) for row in cursor.fetchall()]

    def getRosterItem(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[Optional[RosterItem]]:
        # The whole roster, once: the next lookup is in memory.
        key = contact.userhost()
        roster = self._rosters.get(username)
        if roster is not None:
            return defer.succeed(roster.get(key))
        return self._readRoster(username).addCallback(
            lambda items: next((i for i in items if i.contact.userhost() == key), None)
        )

    def setRosterItem(
        self, username: str, item: RosterItem
    ) -> defer.Deferred[int]:
        """
        Add or replace the roster item for C{item.contact}.

        @return: a Deferred firing with the roster's new version, failing
            with L{UnknownUser} if there is no account C{username}.
        """
        self._rosters.writing(username)
        return self._pool.runInteraction(self._doSetRosterItem, username, item)

    def _doSetRosterItem(
        self, cursor: adbapi.Transaction, username: str, item: RosterItem
    ) -> int:
        _checkUser(cursor, username)
        cursor.execute(
            "INSERT OR REPLACE INTO roster_items"
            f" (username, {_ROSTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                username,
                item.contact.userhost(),
                item.name,
                item.subscription,
                item.ask,
                json.dumps(list(item.groups)),
                item.approved,
            ),
        )
        return _bumpRosterVersion(cursor, username)

    def removeRosterItem(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[int]:
        self._rosters.writing(username)
        return self._pool.runInteraction(
            self._doRemoveRosterItem, username, contact.userhost()
        )

    def _doRemoveRosterItem(
        self, cursor: adbapi.Transaction, username: str, contact: str
    ) -> int:
        cursor.execute(
            "DELETE FROM roster_items WHERE username = ? AND contact = ?",
            (username, contact),
        )
        if cursor.rowcount == 0:
            return _rosterVersion(cursor, username)
        return _bumpRosterVersion(cursor, username)

    # Roster versioning (RFC 6121 section 2.6).

    def getRosterVersion(self, username: str) -> defer.Deferred[int]:
        return self._pool.runInteraction(self._doGetRosterVersion, username)

    def _doGetRosterVersion(
        self, cursor: adbapi.Transaction, username: str
    ) -> int:
        return _rosterVersion(cursor, username)

    def getPendingSubscriptions(
        self, username: str
    ) -> defer.Deferred[List[jid.JID]]:
        return self._pool.runInteraction(
            self._doGetPendingSubscriptions, username
        )

    def _doGetPendingSubscriptions(
        self, cursor: adbapi.Transaction, username: str
    ) -> List[jid.JID]:
        cursor.execute(
            "SELECT contact FROM pending_subscriptions"
            " WHERE username = ? ORDER BY contact",
            (username,),
        )
        return [jid.internJID(contact) for (contact,) in cursor.fetchall()]

    def addPendingSubscription(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[None]:
        """
        Store an inbound subscription request from C{contact}; idempotent.

        @return: a Deferred, failing with L{UnknownUser} if there is no
            account C{username}.
        """
        return self._pool.runInteraction(
            self._doAddPendingSubscription, username, contact.userhost()
        )

    def _doAddPendingSubscription(
        self, cursor: adbapi.Transaction, username: str, contact: str
    ) -> None:
        _checkUser(cursor, username)
        cursor.execute(
            "INSERT OR IGNORE INTO pending_subscriptions (username, contact)"
            " VALUES (?, ?)",
            (username, contact),
        )

    def removePendingSubscription(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[None]:
        return self._pool.runInteraction(
            self._doRemovePendingSubscription, username, contact.userhost()
        )

    def _doRemovePendingSubscription(
        self, cursor: adbapi.Transaction, username: str, contact: str
    ) -> None:
        cursor.execute(
            "DELETE FROM pending_subscriptions"
            " WHERE username = ? AND contact = ?",
            (username, contact),
        )

    # Block lists (XEP-0191), in a block of their own.

    def getBlockList(
        self, username: str
    ) -> defer.Deferred[Optional[List[jid.JID]]]:
        return self._pool.runInteraction(self._doGetBlockList, username)

    def _doGetBlockList(
        self, cursor: adbapi.Transaction, username: str
    ) -> Optional[List[jid.JID]]:
        if not _hasUser(cursor, username):
            return None
        cursor.execute(
            "SELECT entity FROM blocked_jids WHERE username = ? ORDER BY entity",
            (username,),
        )
        return [jid.internJID(entity) for (entity,) in cursor.fetchall()]

    def blockJIDs(
        self, username: str, entities: Iterable[jid.JID]
    ) -> defer.Deferred[None]:
        """
        Add JIDs to the user's block list; idempotent.

        @return: a Deferred, failing with L{UnknownUser} if there is no
            account C{username}.
        """
        return self._pool.runInteraction(
            self._doBlockJIDs, username, [entity.full() for entity in entities]
        )

    def _doBlockJIDs(
        self, cursor: adbapi.Transaction, username: str, entities: List[str]
    ) -> None:
        _checkUser(cursor, username)
        cursor.executemany(
            "INSERT OR IGNORE INTO blocked_jids (username, entity) VALUES (?, ?)",
            [(username, entity) for entity in entities],
        )

    def unblockJIDs(
        self, username: str, entities: Iterable[jid.JID]
    ) -> defer.Deferred[None]:
        return self._pool.runInteraction(
            self._doUnblockJIDs, username, [entity.full() for entity in entities]
        )

    def _doUnblockJIDs(
        self, cursor: adbapi.Transaction, username: str, entities: List[str]
    ) -> None:
        cursor.executemany(
            "DELETE FROM blocked_jids WHERE username = ? AND entity = ?",
            [(username, entity) for entity in entities],
        )

    def unblockAll(self, username: str) -> defer.Deferred[None]:
        return self._pool.runInteraction(self._doUnblockAll, username)

    def _doUnblockAll(self, cursor: adbapi.Transaction, username: str) -> None:
        cursor.execute("DELETE FROM blocked_jids WHERE username = ?", (username,))

    # Private XML storage (XEP-0049), in a block of its own.

    def getPrivate(
        self, username: str, namespace: str, name: str
    ) -> defer.Deferred[Optional[str]]:
        return self._pool.runInteraction(self._doGetPrivate, username, namespace, name)

    def _doGetPrivate(
        self, cursor: adbapi.Transaction, username: str, namespace: str, name: str
    ) -> Optional[str]:
        cursor.execute(
            "SELECT xml FROM private_xml WHERE username = ? AND namespace = ? AND name = ?",
            (username, namespace, name),
        )
        row = cursor.fetchone()
        return row[0] if row is not None else None

    def setPrivate(
        self, username: str, namespace: str, name: str, xml: Optional[str]
    ) -> defer.Deferred[None]:
        """
        Store or (with C{xml} L{None}) remove private XML.

        @return: a Deferred, failing with L{UnknownUser} if there is no
            account C{username}.
        """
        return self._pool.runInteraction(self._doSetPrivate, username, namespace, name, xml)

    def _doSetPrivate(
        self,
        cursor: adbapi.Transaction,
        username: str,
        namespace: str,
        name: str,
        xml: Optional[str],
    ) -> None:
        _checkUser(cursor, username)
        if xml is None:
            cursor.execute(
                "DELETE FROM private_xml WHERE username = ? AND namespace = ? AND name = ?",
                (username, namespace, name),
            )
        else:
            cursor.execute(
                "INSERT OR REPLACE INTO private_xml (username, namespace, name, xml) "
                "VALUES (?, ?, ?, ?)",
                (username, namespace, name, xml),
            )

    # vCards (XEP-0054), in a block of their own.

    def getVCard(self, username: str) -> defer.Deferred[Optional[str]]:
        return self._pool.runInteraction(self._doGetVCard, username)

    def _doGetVCard(
        self, cursor: adbapi.Transaction, username: str
    ) -> Optional[str]:
        cursor.execute("SELECT vcard FROM vcards WHERE username = ?", (username,))
        row = cursor.fetchone()
        return None if row is None else row[0]

    def setVCard(self, username: str, vcard: str) -> defer.Deferred[None]:
        return self._pool.runInteraction(self._doSetVCard, username, vcard)

    def _doSetVCard(
        self, cursor: adbapi.Transaction, username: str, vcard: str
    ) -> None:
        _checkUser(cursor, username)
        cursor.execute(
            "INSERT OR REPLACE INTO vcards (username, vcard) VALUES (?, ?)",
            (username, vcard),
        )

    def loadRooms(self) -> defer.Deferred[List[StoredRoom]]:
        """
        @return: a Deferred firing with every stored L{StoredRoom}, sorted by
            room JID. Config values written as tuples or lists come back as
            tuples (JSON arrays).
        """
        return self._pool.runInteraction(self._doLoadRooms)

    def _doLoadRooms(self, cursor: adbapi.Transaction) -> List[StoredRoom]:
        affiliations: Dict[str, Dict[jid.JID, str]] = {}
        reasons: Dict[str, Dict[jid.JID, str]] = {}
        cursor.execute(
            "SELECT room, user, affiliation, reason FROM room_affiliations"
        )
        for room, user, affiliation, reason in cursor.fetchall():
            userJID = jid.internJID(user)
            affiliations.setdefault(room, {})[userJID] = affiliation
            if reason is not None:
                reasons.setdefault(room, {})[userJID] = reason
        nicks: Dict[str, Dict[jid.JID, str]] = {}
        cursor.execute("SELECT room, user, nick FROM room_nicks")
        for room, user, nick in cursor.fetchall():
            nicks.setdefault(room, {})[jid.internJID(user)] = nick
        cursor.execute(
            "SELECT jid, config, subject, subject_by FROM rooms ORDER BY jid"
        )
        return [
            StoredRoom(
                jid=jid.internJID(room),
                config=_loadConfig(config),
                affiliations=affiliations.get(room, {}),
                nicks=nicks.get(room, {}),
                subject=subject,
                subjectBy=subjectBy,
                reasons=reasons.get(room, {}),
            )
            for room, config, subject, subjectBy in cursor.fetchall()
        ]

    def saveRoom(self, room: StoredRoom) -> defer.Deferred[None]:
        """
        Insert or replace a room's stored state, in one transaction.

        A reason for a JID without an affiliation is not stored: reasons
        are stored with affiliations.

        @return: a Deferred, failing with L{TypeError} if a config value
            cannot be written as JSON.
        """
        try:
            rows = _roomRows(room)
        except TypeError:
            return defer.fail()
        return self._pool.runInteraction(self._doSaveRoom, *rows)

    def _doSaveRoom(
        self,
        cursor: adbapi.Transaction,
        room: _RoomRow,
        affiliations: List[_AffiliationRow],
        nicks: List[_NickRow],
    ) -> None:
        # The old affiliations and nicks go by ON DELETE CASCADE.
        cursor.execute("DELETE FROM rooms WHERE jid = ?", (room[0],))
        cursor.execute(
            "INSERT INTO rooms (jid, config, subject, subject_by)"
            " VALUES (?, ?, ?, ?)",
            room,
        )
        cursor.executemany(
            "INSERT INTO room_affiliations (room, user, affiliation, reason)"
            " VALUES (?, ?, ?, ?)",
            affiliations,
        )
        cursor.executemany(
            "INSERT INTO room_nicks (room, user, nick) VALUES (?, ?, ?)",
            nicks,
        )

    def removeRoom(self, roomJID: jid.JID) -> defer.Deferred[None]:
        return self._pool.runInteraction(
            self._doRemoveRoom, roomJID.userhost()
        )

    def _doRemoveRoom(self, cursor: adbapi.Transaction, roomJID: str) -> None:
        # The affiliations and nicks go by ON DELETE CASCADE.
        cursor.execute("DELETE FROM rooms WHERE jid = ?", (roomJID,))

    # Pubsub nodes and items (IPubSubStore).

    def loadNodes(self, service: jid.JID) -> defer.Deferred[List[StoredNode]]:
        return self._pool.runInteraction(self._doLoadNodes, service.full())

    def _doLoadNodes(
        self, cursor: adbapi.Transaction, service: str
    ) -> List[StoredNode]:
        affiliations: Dict[str, Dict[jid.JID, str]] = {}
        cursor.execute(
            "SELECT node, entity, affiliation FROM pubsub_affiliations"
            " WHERE service = ?",
            (service,),
        )
        for node, entity, affiliation in cursor.fetchall():
            affiliations.setdefault(node, {})[jid.internJID(entity)] = affiliation
        subscriptions: Dict[str, Dict[jid.JID, str]] = {}
        cursor.execute(
            "SELECT node, subscriber, state FROM pubsub_subscriptions"
            " WHERE service = ?",
            (service,),
        )
        for node, subscriber, state in cursor.fetchall():
            subscriptions.setdefault(node, {})[jid.internJID(subscriber)] = state
        cursor.execute(
            "SELECT node, config FROM pubsub_nodes WHERE service = ?"
            " ORDER BY node",
            (service,),
        )
        serviceJID = jid.internJID(service)
        return [
            StoredNode(
                service=serviceJID,
                identifier=node,
                config=_loadConfig(config),
                affiliations=affiliations.get(node, {}),
                subscriptions=subscriptions.get(node, {}),
            )
            for node, config in cursor.fetchall()
        ]

    def loadItems(
        self, service: jid.JID, nodeIdentifier: str
    ) -> defer.Deferred[List[StoredItem]]:
        return self._pool.runInteraction(
            self._doLoadItems, service.full(), nodeIdentifier
        )

    def _doLoadItems(
        self, cursor: adbapi.Transaction, service: str, node: str
    ) -> List[StoredItem]:
        cursor.execute(
            "SELECT id, payload, publisher, published FROM pubsub_items"
            " WHERE service = ? AND node = ? ORDER BY seq",
            (service, node),
        )
        return [
            StoredItem(
                id=identifier,
                payload=payload,
                publisher=jid.internJID(publisher),
                published=datetime.datetime.fromisoformat(published),
            )
            for identifier, payload, publisher, published in cursor.fetchall()
        ]

    def saveNode(self, node: StoredNode) -> defer.Deferred[None]:
        """
        Insert or replace a node's configuration, affiliations and
        subscriptions; its items stay.

        @return: a Deferred, failing with L{TypeError} if a config value
            cannot be written as JSON.
        """
        service = node.service.full()
        try:
            config = json.dumps(dict(node.config))
        except TypeError:
            return defer.fail()
        affiliations = [
            (service, node.identifier, entity.userhost(), affiliation)
            for entity, affiliation in node.affiliations.items()
        ]
        subscriptions = [
            (service, node.identifier, subscriber.full(), state)
            for subscriber, state in node.subscriptions.items()
        ]
        return self._pool.runInteraction(
            self._doSaveNode,
            (service, node.identifier, config),
            affiliations,
            subscriptions,
        )

    def _doSaveNode(
        self,
        cursor: adbapi.Transaction,
        row: Tuple[str, str, str],
        affiliations: List[Tuple[str, str, str, str]],
        subscriptions: List[Tuple[str, str, str, str]],
    ) -> None:
        # An upsert, not INSERT OR REPLACE: replacing the row would delete
        # it first, and the items with it (ON DELETE CASCADE).
        cursor.execute(
            "INSERT INTO pubsub_nodes (service, node, config) VALUES (?, ?, ?)"
            " ON CONFLICT (service, node) DO UPDATE SET config = excluded.config",
            row,
        )
        key = row[:2]
        cursor.execute(
            "DELETE FROM pubsub_affiliations WHERE service = ? AND node = ?", key
        )
        cursor.executemany(
            "INSERT INTO pubsub_affiliations (service, node, entity, affiliation)"
            " VALUES (?, ?, ?, ?)",
            affiliations,
        )
        cursor.execute(
            "DELETE FROM pubsub_subscriptions WHERE service = ? AND node = ?", key
        )
        cursor.executemany(
            "INSERT INTO pubsub_subscriptions (service, node, subscriber, state)"
            " VALUES (?, ?, ?, ?)",
            subscriptions,
        )

    def removeNode(
        self, service: jid.JID, nodeIdentifier: str
    ) -> defer.Deferred[None]:
        return self._pool.runInteraction(
            self._doRemoveNode, service.full(), nodeIdentifier
        )

    def _doRemoveNode(
        self, cursor: adbapi.Transaction, service: str, node: str
    ) -> None:
        # Items, affiliations and subscriptions go by ON DELETE CASCADE.
        cursor.execute(
            "DELETE FROM pubsub_nodes WHERE service = ? AND node = ?",
            (service, node),
        )

    def saveItem(
        self, service: jid.JID, nodeIdentifier: str, item: StoredItem
    ) -> defer.Deferred[None]:
        """
        Store an item as the node's newest, replacing one with its id.

        @return: a Deferred, failing with L{UnknownNode} if the node is not
            stored.
        """
        row = (
            service.full(),
            nodeIdentifier,
            item.id,
            item.payload,
            item.publisher.full(),
            item.published.isoformat(),
        )
        return self._pool.runInteraction(self._doSaveItem, row)

    def _doSaveItem(
        self,
        cursor: adbapi.Transaction,
        row: Tuple[str, str, str, Optional[str], str, str],
    ) -> None:
        service, node, identifier = row[:3]
        cursor.execute(
            "SELECT 1 FROM pubsub_nodes WHERE service = ? AND node = ?",
            (service, node),
        )
        if cursor.fetchone() is None:
            raise UnknownNode(service, node)
        # Deleted and inserted again, so that a replaced item gets a new
        # seq and becomes the newest (XEP-0060 section 7.1.2).
        cursor.execute(
            "DELETE FROM pubsub_items WHERE service = ? AND node = ? AND id = ?",
            (service, node, identifier),
        )
        cursor.execute(
            "INSERT INTO pubsub_items"
            " (service, node, id, payload, publisher, published)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )

    def removeItems(
        self,
        service: jid.JID,
        nodeIdentifier: str,
        itemIdentifiers: Iterable[str],
    ) -> defer.Deferred[None]:
        rows = [
            (service.full(), nodeIdentifier, identifier)
            for identifier in itemIdentifiers
        ]
        return self._pool.runInteraction(self._doRemoveItems, rows)

    def _doRemoveItems(
        self, cursor: adbapi.Transaction, rows: List[Tuple[str, str, str]]
    ) -> None:
        cursor.executemany(
            "DELETE FROM pubsub_items WHERE service = ? AND node = ? AND id = ?",
            rows,
        )

    def removeService(self, service: jid.JID) -> defer.Deferred[None]:
        return self._pool.runInteraction(self._doRemoveService, service.full())

    def _doRemoveService(self, cursor: adbapi.Transaction, service: str) -> None:
        cursor.execute("DELETE FROM pubsub_nodes WHERE service = ?", (service,))

    # Offline messages (IOfflineStore, XEP-0160).

    def storeOfflineMessage(
        self, username: str, stanza: str, limit: int
    ) -> defer.Deferred[bool]:
        return self._pool.runInteraction(
            self._doStoreOfflineMessage, username, stanza, limit
        )

    def _doStoreOfflineMessage(
        self, cursor: adbapi.Transaction, username: str, stanza: str, limit: int
    ) -> bool:
        _checkUser(cursor, username)
        cursor.execute(
            "SELECT COUNT(*) FROM offline_messages WHERE username = ?",
            (username,),
        )
        (count,) = cursor.fetchone()
        if count >= limit:
            return False
        cursor.execute(
            "INSERT INTO offline_messages (username, stanza) VALUES (?, ?)",
            (username, stanza),
        )
        return True

    def getOfflineMessages(
        self, username: str
    ) -> defer.Deferred[List[OfflineMessage]]:
        return self._pool.runInteraction(self._doGetOfflineMessages, username)

    def _doGetOfflineMessages(
        self, cursor: adbapi.Transaction, username: str
    ) -> List[OfflineMessage]:
        cursor.execute(
            "SELECT seq, stanza FROM offline_messages"
            " WHERE username = ? ORDER BY seq",
            (username,),
        )
        return [OfflineMessage(key, stanza) for key, stanza in cursor.fetchall()]

    def removeOfflineMessages(
        self, username: str, keys: Iterable[int]
    ) -> defer.Deferred[None]:
        return self._pool.runInteraction(
            self._doRemoveOfflineMessages, username, list(keys)
        )

    def _doRemoveOfflineMessages(
        self, cursor: adbapi.Transaction, username: str, keys: List[int]
    ) -> None:
        cursor.executemany(
            "DELETE FROM offline_messages WHERE username = ? AND seq = ?",
            [(username, key) for key in keys],
        )

    # Message archives (IArchiveStore, XEP-0313).

    def archiveMessage(
        self, archive: str, message: ArchivedMessage, limit: Optional[int]
    ) -> defer.Deferred[None]:
        return self._pool.runInteraction(
            self._doArchiveMessage, archive, message, limit
        )

    def _doArchiveMessage(
        self,
        cursor: adbapi.Transaction,
        archive: str,
        message: ArchivedMessage,
        limit: Optional[int],
    ) -> None:
        try:
            cursor.execute(
                "INSERT INTO archive_messages"
                " (archive, id, stamp, with_full, with_bare, stanza)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    archive,
                    message.id,
                    message.timestamp,
                    message.with_,
                    message.with_.split("/", 1)[0],
                    message.stanza,
                ),
            )
        except sqlite3.IntegrityError:
            raise DuplicateArchiveID(message.id)
        if limit is not None:
            # Only the oldest go (XEP-0313 section 2.2).
            cursor.execute(
                "DELETE FROM archive_messages WHERE archive = ? AND seq <="
                " (SELECT seq FROM archive_messages WHERE archive = ?"
                "  ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (archive, archive, limit),
            )

    def queryArchive(
        self, archive: str, query: ArchiveQuery
    ) -> defer.Deferred[ArchivePage]:
        return self._pool.runInteraction(self._doQueryArchive, archive, query)

    def _doQueryArchive(
        self, cursor: adbapi.Transaction, archive: str, query: ArchiveQuery
    ) -> ArchivePage:
        def seqOf(uid: str) -> int:
            cursor.execute(
                "SELECT seq FROM archive_messages WHERE archive = ? AND id = ?",
                (archive, uid),
            )
            row = cursor.fetchone()
            if row is None:
                raise UnknownArchiveID(uid)
            return row[0]

        # The result set (XEP-0313 section 4.1).
        where = ["archive = ?"]
        args: List[object] = [archive]
        if query.with_ is not None:
            column = "with_full" if "/" in query.with_ else "with_bare"
            where.append(f"{column} = ?")
            args.append(query.with_)
        if query.start is not None:
            where.append("stamp >= ?")
            args.append(query.start)
        if query.end is not None:
            where.append("stamp <= ?")
            args.append(query.end)
        if query.afterId is not None:
            where.append("seq > ?")
            args.append(seqOf(query.afterId))
        if query.beforeId is not None:
            where.append("seq < ?")
            args.append(seqOf(query.beforeId))
        if query.ids is not None:
            for uid in query.ids:
                seqOf(uid)
            where.append(f"id IN ({', '.join('?' * len(query.ids))})")
            args.extend(query.ids)
        results = " AND ".join(where)
        cursor.execute(
            f"SELECT COUNT(*) FROM archive_messages WHERE {results}", args
        )
        (count,) = cursor.fetchone()

        # The page within it (XEP-0059 section 2).
        page = list(where)
        pageArgs = list(args)
        if query.after is not None:
            page.append("seq > ?")
            pageArgs.append(seqOf(query.after))
        if query.before:
            page.append("seq < ?")
            pageArgs.append(seqOf(query.before))
        backwards = query.before is not None
        cursor.execute(
            "SELECT seq, id, stamp, with_full, stanza FROM archive_messages"
            f" WHERE {' AND '.join(page)}"
            f" ORDER BY seq {'DESC' if backwards else 'ASC'} LIMIT ?",
            pageArgs + [query.max + 1],
        )
        rows = cursor.fetchall()
        complete = len(rows) <= query.max
        rows = rows[: query.max]
        if backwards:
            rows.reverse()
        index = None
        if rows:
            cursor.execute(
                f"SELECT COUNT(*) FROM archive_messages"
                f" WHERE {results} AND seq < ?",
                args + [rows[0][0]],
            )
            (index,) = cursor.fetchone()
        return ArchivePage(
            messages=tuple(
                ArchivedMessage(uid, stamp, withFull, stanza)
                for _, uid, stamp, withFull, stanza in rows
            ),
            complete=complete,
            count=count,
            index=index,
        )

    def getArchivedMessage(
        self, archive: str, id: str
    ) -> defer.Deferred[Optional[ArchivedMessage]]:
        return self._pool.runInteraction(
            self._doGetArchivedMessage, archive, id
        )

    def _doGetArchivedMessage(
        self, cursor: adbapi.Transaction, archive: str, id: str
    ) -> Optional[ArchivedMessage]:
        cursor.execute(
            "SELECT stamp, with_full, stanza FROM archive_messages"
            " WHERE archive = ? AND id = ?",
            (archive, id),
        )
        row = cursor.fetchone()
        return None if row is None else ArchivedMessage(id, *row)

    def replaceArchivedMessage(
        self, archive: str, id: str, stanza: str
    ) -> defer.Deferred[bool]:
        return self._pool.runInteraction(
            self._doReplaceArchivedMessage, archive, id, stanza
        )

    def _doReplaceArchivedMessage(
        self, cursor: adbapi.Transaction, archive: str, id: str, stanza: str
    ) -> bool:
        cursor.execute(
            "UPDATE archive_messages SET stanza = ? WHERE archive = ? AND id = ?",
            (stanza, archive, id),
        )
        return cursor.rowcount > 0

    def removeArchive(self, archive: str) -> defer.Deferred[None]:
        return self._pool.runInteraction(self._doRemoveArchive, archive)

    def _doRemoveArchive(self, cursor: adbapi.Transaction, archive: str) -> None:
        cursor.execute(
            "DELETE FROM archive_messages WHERE archive = ?", (archive,)
        )
        cursor.execute("DELETE FROM archive_prefs WHERE archive = ?", (archive,))

    def expireArchives(self, before: float) -> defer.Deferred[int]:
        return self._pool.runInteraction(self._doExpireArchives, before)

    def _doExpireArchives(
        self, cursor: adbapi.Transaction, before: float
    ) -> int:
        # Each archive loses the run of messages older than `before` at its
        # start, and no more (XEP-0313 section 2.2: never a gap).
        cursor.execute(
            "DELETE FROM archive_messages AS old WHERE stamp < ? AND seq <"
            " COALESCE((SELECT MIN(seq) FROM archive_messages AS kept"
            "  WHERE kept.archive = old.archive AND kept.stamp >= ?),"
            "  9223372036854775807)",
            (before, before),
        )
        return cursor.rowcount

    def getArchivePrefs(
        self, archive: str
    ) -> defer.Deferred[Optional[ArchivePrefs]]:
        return self._pool.runInteraction(self._doGetArchivePrefs, archive)

    def _doGetArchivePrefs(
        self, cursor: adbapi.Transaction, archive: str
    ) -> Optional[ArchivePrefs]:
        cursor.execute(
            "SELECT default_behaviour, always, never FROM archive_prefs"
            " WHERE archive = ?",
            (archive,),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        default, always, never = row
        return ArchivePrefs(
            default, tuple(json.loads(always)), tuple(json.loads(never))
        )

    def setArchivePrefs(
        self, archive: str, prefs: ArchivePrefs
    ) -> defer.Deferred[None]:
        return self._pool.runInteraction(
            self._doSetArchivePrefs, archive, prefs
        )

    def _doSetArchivePrefs(
        self, cursor: adbapi.Transaction, archive: str, prefs: ArchivePrefs
    ) -> None:
        cursor.execute(
            "INSERT OR REPLACE INTO archive_prefs"
            " (archive, default_behaviour, always, never) VALUES (?, ?, ?, ?)",
            (
                archive,
                prefs.default,
                json.dumps(list(prefs.always)),
                json.dumps(list(prefs.never)),
            ),
        )

    def close(self) -> defer.Deferred[None]:
        """
        Close the pool; the store is unusable afterwards.

        @return: a Deferred that has already fired: adbapi closes the
            connection and joins its thread synchronously.
        """
        self._pool.close()
        return defer.succeed(None)
