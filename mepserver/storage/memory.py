# -*- test-case-name: tests.test_storage -*-
"""
In-memory stores: L{MemoryUserStore} for accounts (RFC 5802 SCRAM keys),
rosters with their versions (RFC 6121 sections 2 and 2.6), pending inbound
subscriptions (RFC 6121 section 3.1.3), offline messages (XEP-0160) and
block lists (XEP-0191) and private XML (XEP-0049); L{MemoryRoomStore} for
persistent rooms (XEP-0045 section 10.2); L{MemoryPubSubStore} for pubsub
nodes and items (XEP-0060); L{MemoryArchiveStore} for message archives
(XEP-0313).

Nothing survives the process. They are the fastest test fixtures and pass
the same contract tests as L{mepserver.storage.sqlite.SQLiteStore}.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import OrderedDict
from types import MappingProxyType
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from twisted.internet import defer
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
    StoredItem,
    StoredNode,
    StoredRoom,
    UnknownArchiveID,
    UnknownNode,
    UnknownUser,
    UserExists,
)


@implementer(IUserStore, IOfflineStore)
class MemoryUserStore:
    """
    Accounts and rosters kept in dictionaries.

    Every method returns an already fired Deferred. Values are copied in, so
    that callers can no more change stored state behind the store's back
    than they could with SQLite.
    """

    def __init__(self) -> None:
        self._credentials: Dict[str, Credentials] = {}
        self._rosters: Dict[str, Dict[str, RosterItem]] = {}
        self._pending: Dict[str, Dict[str, jid.JID]] = {}
        self._offline: Dict[str, List[OfflineMessage]] = {}
        self._offlineKeys = itertools.count(1)
        self._rosterVersions: Dict[str, int] = {}
        self._blocked: Dict[str, Dict[str, jid.JID]] = {}
        self._private: Dict[str, Dict[Tuple[str, str], str]] = {}
        self._vcards: Dict[str, str] = {}

    def reset(self) -> None:
        """
        Forget every account, roster, pending subscription and offline
        message at once.

        For test fixtures, hence synchronous.
        """
        self._credentials.clear()
        self._rosters.clear()
        self._pending.clear()
        self._offline.clear()
        # Roster versions go on from where they were (RFC 6121 section
        # 2.6): a client's cached version must not match a new roster.
        for username in self._rosterVersions:
            self._bumpRosterVersion(username)
        self._blocked.clear()
        self._private.clear()
        self._vcards.clear()

    def getCredentials(
        self, username: str
    ) -> defer.Deferred[Optional[Credentials]]:
        return defer.succeed(self._credentials.get(username))

    def createUser(
        self, username: str, credentials: Credentials
    ) -> defer.Deferred[None]:
        if username in self._credentials:
            return defer.fail(UserExists(username))
        self._credentials[username] = Credentials(dict(credentials.keys))
        self._rosters[username] = {}
        self._pending[username] = {}
        return defer.succeed(None)

    def setCredentials(
        self, username: str, credentials: Credentials
    ) -> defer.Deferred[None]:
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        self._credentials[username] = Credentials(dict(credentials.keys))
        return defer.succeed(None)

    def removeUser(self, username: str) -> defer.Deferred[None]:
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        del self._credentials[username]
        del self._rosters[username]
        del self._pending[username]
        self._offline.pop(username, None)
        # The roster changed: a new account of that name starts after it.
        self._bumpRosterVersion(username)
        self._blocked.pop(username, None)
        self._private.pop(username, None)
        self._vcards.pop(username, None)
        return defer.succeed(None)

    def listUsers(self) -> defer.Deferred[List[str]]:
        return defer.succeed(sorted(self._credentials))

    def getRoster(self, username: str) -> defer.Deferred[List[RosterItem]]:
        roster = self._rosters.get(username, {})
        return defer.succeed([roster[key] for key in sorted(roster)])

    def getRosterByContact(self, username: str) -> defer.Deferred[Mapping[str, RosterItem]]:
        roster = self._rosters.get(username, {})
        return defer.succeed(MappingProxyType({key: roster[key] for key in sorted(roster)}))

    def getRosterItem(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[Optional[RosterItem]]:
        return defer.succeed(
            self._rosters.get(username, {}).get(contact.userhost())
        )

    def setRosterItem(
        self, username: str, item: RosterItem
    ) -> defer.Deferred[int]:
        """
        Add or replace the roster item for C{item.contact}.

        @return: a Deferred firing with the roster's new version, failing
            with L{UnknownUser} if there is no account C{username}.
        """
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        key = item.contact.userhost()
        self._rosters[username][key] = dataclasses.replace(
            item, contact=jid.internJID(key), groups=tuple(item.groups)
        )
        return defer.succeed(self._bumpRosterVersion(username))

    def removeRosterItem(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[int]:
        removed = self._rosters.get(username, {}).pop(contact.userhost(), None)
        if removed is not None:
            return defer.succeed(self._bumpRosterVersion(username))
        return self.getRosterVersion(username)

    # Roster versioning (RFC 6121 section 2.6).

    def _bumpRosterVersion(self, username: str) -> int:
        version = self._rosterVersions.get(username, 0) + 1
        self._rosterVersions[username] = version
        return version

    def getRosterVersion(self, username: str) -> defer.Deferred[int]:
        return defer.succeed(self._rosterVersions.get(username, 0))

    def getPendingSubscriptions(
        self, username: str
    ) -> defer.Deferred[List[jid.JID]]:
        pending = self._pending.get(username, {})
        return defer.succeed([pending[key] for key in sorted(pending)])

    def addPendingSubscription(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[None]:
        """
        Store an inbound subscription request from C{contact}; idempotent.

        @return: a Deferred, failing with L{UnknownUser} if there is no
            account C{username}.
        """
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        key = contact.userhost()
        self._pending[username][key] = jid.internJID(key)
        return defer.succeed(None)

    def removePendingSubscription(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[None]:
        self._pending.get(username, {}).pop(contact.userhost(), None)
        return defer.succeed(None)

    # Offline messages (XEP-0160).

    def storeOfflineMessage(
        self, username: str, stanza: str, limit: int
    ) -> defer.Deferred[bool]:
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        messages = self._offline.setdefault(username, [])
        if len(messages) >= limit:
            return defer.succeed(False)
        messages.append(OfflineMessage(next(self._offlineKeys), stanza))
        return defer.succeed(True)

    def getOfflineMessages(
        self, username: str
    ) -> defer.Deferred[List[OfflineMessage]]:
        return defer.succeed(list(self._offline.get(username, [])))

    def removeOfflineMessages(
        self, username: str, keys: Iterable[int]
    ) -> defer.Deferred[None]:
        gone = set(keys)
        messages = self._offline.get(username)
        if messages is not None:
            messages[:] = [m for m in messages if m.key not in gone]
            if not messages:
                del self._offline[username]
        return defer.succeed(None)

    # Block lists (XEP-0191).

    def getBlockList(
        self, username: str
    ) -> defer.Deferred[Optional[List[jid.JID]]]:
        if username not in self._credentials:
            return defer.succeed(None)
        blocked = self._blocked.get(username, {})
        return defer.succeed([blocked[key] for key in sorted(blocked)])

    def blockJIDs(
        self, username: str, entities: Iterable[jid.JID]
    ) -> defer.Deferred[None]:
        """
        Add JIDs to the user's block list; idempotent.

        @return: a Deferred, failing with L{UnknownUser} if there is no
            account C{username}.
        """
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        blocked = self._blocked.setdefault(username, {})
        for entity in entities:
            blocked[entity.full()] = jid.internJID(entity.full())
        return defer.succeed(None)

    def unblockJIDs(
        self, username: str, entities: Iterable[jid.JID]
    ) -> defer.Deferred[None]:
        blocked = self._blocked.get(username, {})
        for entity in entities:
            blocked.pop(entity.full(), None)
        return defer.succeed(None)

    def unblockAll(self, username: str) -> defer.Deferred[None]:
        self._blocked.pop(username, None)
        return defer.succeed(None)

    # Private XML storage (XEP-0049).

    def getPrivate(
        self, username: str, namespace: str, name: str
    ) -> defer.Deferred[Optional[str]]:
        return defer.succeed(self._private.get(username, {}).get((namespace, name)))

    def setPrivate(
        self, username: str, namespace: str, name: str, xml: Optional[str]
    ) -> defer.Deferred[None]:
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        stored = self._private.setdefault(username, {})
        if xml is None:
            stored.pop((namespace, name), None)
        else:
            stored[(namespace, name)] = xml
        return defer.succeed(None)

    # vCards (XEP-0054).

    def getVCard(self, username: str) -> defer.Deferred[Optional[str]]:
        return defer.succeed(self._vcards.get(username))

    def setVCard(self, username: str, vcard: str) -> defer.Deferred[None]:
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        self._vcards[username] = vcard
        return defer.succeed(None)

    def prepare(self) -> defer.Deferred[None]:
        return defer.succeed(None)

    def close(self) -> defer.Deferred[None]:
        return defer.succeed(None)


def _bare(entity: jid.JID) -> jid.JID:
    """
    @return: the bare JID of C{entity}.
    """
    return jid.internJID(entity.userhost())


def _copyConfig(config: Mapping[str, object]) -> Dict[str, object]:
    """
    @return: a copy of a room config, with lists made tuples, as SQLite
        gives them back.
    """
    return {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in config.items()
    }


def _copyRoom(room: StoredRoom) -> StoredRoom:
    """
    Copy C{room} into fresh mappings, keyed by bare JIDs.

    The copy is what SQLite gives back: config lists become tuples, and a
    reason for a JID without an affiliation is dropped, since reasons are
    stored with affiliations.
    """
    affiliations = {
        _bare(user): affiliation
        for user, affiliation in room.affiliations.items()
    }
    reasons = {_bare(user): reason for user, reason in room.reasons.items()}
    return StoredRoom(
        jid=_bare(room.jid),
        config=_copyConfig(room.config),
        affiliations=affiliations,
        nicks={_bare(user): nick for user, nick in room.nicks.items()},
        subject=room.subject,
        subjectBy=room.subjectBy,
        reasons={
            user: reason
            for user, reason in reasons.items()
            if user in affiliations
        },
    )


@implementer(IRoomStore)
class MemoryRoomStore:
    """
    Persistent rooms kept in a dictionary.

    Every method returns an already fired Deferred. Rooms are copied in and
    out, so that neither the caller of L{saveRoom} nor that of L{loadRooms}
    can change stored state by changing a room's mappings afterwards.
    """

    def __init__(self) -> None:
        self._rooms: Dict[str, StoredRoom] = {}

    def reset(self) -> None:
        """
        Forget every room at once.

        For test fixtures, hence synchronous.
        """
        self._rooms.clear()

    def loadRooms(self) -> defer.Deferred[List[StoredRoom]]:
        return defer.succeed(
            [_copyRoom(self._rooms[key]) for key in sorted(self._rooms)]
        )

    def saveRoom(self, room: StoredRoom) -> defer.Deferred[None]:
        stored = _copyRoom(room)
        self._rooms[stored.jid.userhost()] = stored
        return defer.succeed(None)

    def removeRoom(self, roomJID: jid.JID) -> defer.Deferred[None]:
        self._rooms.pop(roomJID.userhost(), None)
        return defer.succeed(None)

    def prepare(self) -> defer.Deferred[None]:
        return defer.succeed(None)

    def close(self) -> defer.Deferred[None]:
        return defer.succeed(None)


def _copyNode(node: StoredNode) -> StoredNode:
    """
    Copy C{node} into fresh mappings, as SQLite gives it back: config lists
    become tuples, affiliations are keyed by bare JIDs.
    """
    return StoredNode(
        service=node.service,
        identifier=node.identifier,
        config=_copyConfig(node.config),
        affiliations={
            _bare(entity): affiliation
            for entity, affiliation in node.affiliations.items()
        },
        subscriptions=dict(node.subscriptions),
    )


@implementer(IPubSubStore)
class MemoryPubSubStore:
    """
    Pubsub nodes and items kept in dictionaries.

    Every method returns an already fired Deferred. Nodes are copied in
    and out; items are immutable.
    """

    def __init__(self) -> None:
        self._nodes: Dict[Tuple[str, str], StoredNode] = {}
        self._items: Dict[Tuple[str, str], "OrderedDict[str, StoredItem]"] = {}

    def reset(self) -> None:
        """
        Forget every node and item at once.

        For test fixtures, hence synchronous.
        """
        self._nodes.clear()
        self._items.clear()

    def loadNodes(self, service: jid.JID) -> defer.Deferred[List[StoredNode]]:
        key = service.full()
        return defer.succeed(
            [
                _copyNode(self._nodes[k])
                for k in sorted(self._nodes)
                if k[0] == key
            ]
        )

    def loadItems(
        self, service: jid.JID, nodeIdentifier: str
    ) -> defer.Deferred[List[StoredItem]]:
        items = self._items.get((service.full(), nodeIdentifier), {})
        return defer.succeed(list(items.values()))

    def saveNode(self, node: StoredNode) -> defer.Deferred[None]:
        key = (node.service.full(), node.identifier)
        self._nodes[key] = _copyNode(node)
        self._items.setdefault(key, OrderedDict())
        return defer.succeed(None)

    def removeNode(
        self, service: jid.JID, nodeIdentifier: str
    ) -> defer.Deferred[None]:
        key = (service.full(), nodeIdentifier)
        self._nodes.pop(key, None)
        self._items.pop(key, None)
        return defer.succeed(None)

    def saveItem(
        self, service: jid.JID, nodeIdentifier: str, item: StoredItem
    ) -> defer.Deferred[None]:
        """
        Store an item as the node's newest, replacing one with its id.

        @return: a Deferred, failing with L{UnknownNode} if the node is not
            stored.
        """
        items = self._items.get((service.full(), nodeIdentifier))
        if items is None:
            return defer.fail(UnknownNode(service.full(), nodeIdentifier))
        items.pop(item.id, None)
        items[item.id] = item
        return defer.succeed(None)

    def removeItems(
        self,
        service: jid.JID,
        nodeIdentifier: str,
        itemIdentifiers: Iterable[str],
    ) -> defer.Deferred[None]:
        items = self._items.get((service.full(), nodeIdentifier), {})
        for itemIdentifier in itemIdentifiers:
            items.pop(itemIdentifier, None)
        return defer.succeed(None)

    def removeService(self, service: jid.JID) -> defer.Deferred[None]:
        key = service.full()
        for k in [k for k in self._nodes if k[0] == key]:
            del self._nodes[k]
            self._items.pop(k, None)
        return defer.succeed(None)

    def prepare(self) -> defer.Deferred[None]:
        return defer.succeed(None)

    def close(self) -> defer.Deferred[None]:
        return defer.succeed(None)


def _matchesWith(stored: str, wanted: str) -> bool:
    """
    XEP-0313 section 4.1.1: a bare JID matches each of its full JIDs, a
    full JID only itself.
    """
    if "/" in wanted:
        return stored == wanted
    return stored.split("/", 1)[0] == wanted


def selectPage(
    messages: List[ArchivedMessage], query: ArchiveQuery
) -> ArchivePage:
    """
    Apply C{query} to an archive's messages, in archive order.

    @raise UnknownArchiveID: the query names a UID not in C{messages}.
    """
    positions = {message.id: n for n, message in enumerate(messages)}
    named = [query.after, query.afterId, query.beforeId, *(query.ids or ())]
    if query.before:
        named.append(query.before)
    for uid in named:
        if uid is not None and uid not in positions:
            raise UnknownArchiveID(uid)

    def inResultSet(n: int, message: ArchivedMessage) -> bool:
        return (
            (query.with_ is None or _matchesWith(message.with_, query.with_))
            and (query.start is None or message.timestamp >= query.start)
            and (query.end is None or message.timestamp <= query.end)
            and (query.afterId is None or n > positions[query.afterId])
            and (query.beforeId is None or n < positions[query.beforeId])
            and (query.ids is None or message.id in query.ids)
        )

    results = [
        (n, message)
        for n, message in enumerate(messages)
        if inResultSet(n, message)
    ]
    candidates = results
    if query.after is not None:
        candidates = [r for r in candidates if r[0] > positions[query.after]]
    if query.before:
        candidates = [r for r in candidates if r[0] < positions[query.before]]
    if query.before is not None:
        page = candidates[max(len(candidates) - query.max, 0):]
    else:
        page = candidates[: query.max]
    index = None
    if page:
        index = [n for n, _ in results].index(page[0][0])
    return ArchivePage(
        messages=tuple(message for _, message in page),
        complete=len(candidates) <= query.max,
        count=len(results),
        index=index,
    )


@implementer(IArchiveStore)
class MemoryArchiveStore:
    """
    Message archives kept in lists, one per archive address.

    Every method returns an already fired Deferred; messages are
    immutable.
    """

    def __init__(self) -> None:
        self._archives: Dict[str, List[ArchivedMessage]] = {}
        # Each archive's messages by UID, kept in step with its list: a
        # UID is checked against it on every message archived (issue 16).
        self._byId: Dict[str, Dict[str, ArchivedMessage]] = {}
        self._prefs: Dict[str, ArchivePrefs] = {}

    def reset(self) -> None:
        """
        Forget every archive at once.

        For test fixtures, hence synchronous.
        """
        self._archives.clear()
        self._byId.clear()
        self._prefs.clear()

    def archiveMessage(
        self, archive: str, message: ArchivedMessage, limit: Optional[int]
    ) -> defer.Deferred[None]:
        messages = self._archives.setdefault(archive, [])
        byId = self._byId.setdefault(archive, {})
        if message.id in byId:
            return defer.fail(DuplicateArchiveID(message.id))
        messages.append(message)
        byId[message.id] = message
        if limit is not None and len(messages) > limit:
            self._dropOldest(archive, len(messages) - limit)
        return defer.succeed(None)

    def _dropOldest(self, archive: str, count: int) -> None:
        """
        Drop the C{count} oldest messages of C{archive}; their UIDs may be
        archived again.
        """
        messages, byId = self._archives[archive], self._byId[archive]
        for stored in messages[:count]:
            del byId[stored.id]
        del messages[:count]

    def queryArchive(
        self, archive: str, query: ArchiveQuery
    ) -> defer.Deferred[ArchivePage]:
        try:
            page = selectPage(self._archives.get(archive, []), query)
        except UnknownArchiveID:
            return defer.fail()
        return defer.succeed(page)

    def getArchivedMessage(
        self, archive: str, id: str
    ) -> defer.Deferred[Optional[ArchivedMessage]]:
        return defer.succeed(self._byId.get(archive, {}).get(id))

    def replaceArchivedMessage(
        self, archive: str, id: str, stanza: str
    ) -> defer.Deferred[bool]:
        messages = self._archives.get(archive, [])
        for n, message in enumerate(messages):
            if message.id == id:
                messages[n] = self._byId[archive][id] = dataclasses.replace(
                    message, stanza=stanza
                )
                return defer.succeed(True)
        return defer.succeed(False)

    def removeArchive(self, archive: str) -> defer.Deferred[None]:
        self._archives.pop(archive, None)
        self._byId.pop(archive, None)
        self._prefs.pop(archive, None)
        return defer.succeed(None)

    def expireArchives(self, before: float) -> defer.Deferred[int]:
        dropped = 0
        for archive, messages in list(self._archives.items()):
            n = 0
            while n < len(messages) and messages[n].timestamp < before:
                n += 1
            self._dropOldest(archive, n)
            dropped += n
        return defer.succeed(dropped)

    def getArchivePrefs(
        self, archive: str
    ) -> defer.Deferred[Optional[ArchivePrefs]]:
        return defer.succeed(self._prefs.get(archive))

    def setArchivePrefs(
        self, archive: str, prefs: ArchivePrefs
    ) -> defer.Deferred[None]:
        self._prefs[archive] = prefs
        return defer.succeed(None)

    def prepare(self) -> defer.Deferred[None]:
        return defer.succeed(None)

    def close(self) -> defer.Deferred[None]:
        return defer.succeed(None)
