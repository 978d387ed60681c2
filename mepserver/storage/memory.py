# -*- test-case-name: tests.test_storage -*-
"""
An in-memory L{IUserStore}: accounts (RFC 5802 SCRAM keys), rosters (RFC
6121 section 2) and pending inbound subscriptions (RFC 6121 section 3.1.3).

Nothing survives the process. It is the fastest test fixture and passes the
same contract tests as L{mepserver.storage.sqlite.SQLiteUserStore}.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

from twisted.internet import defer
from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver.interfaces import (
    Credentials,
    IUserStore,
    RosterItem,
    UnknownUser,
    UserExists,
)


@implementer(IUserStore)
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

    def reset(self) -> None:
        """
        Forget every account, roster and pending subscription at once.

        For test fixtures, hence synchronous.
        """
        self._credentials.clear()
        self._rosters.clear()
        self._pending.clear()

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
        return defer.succeed(None)

    def listUsers(self) -> defer.Deferred[List[str]]:
        return defer.succeed(sorted(self._credentials))

    def getRoster(self, username: str) -> defer.Deferred[List[RosterItem]]:
        roster = self._rosters.get(username, {})
        return defer.succeed([roster[key] for key in sorted(roster)])

    def getRosterItem(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[Optional[RosterItem]]:
        return defer.succeed(
            self._rosters.get(username, {}).get(contact.userhost())
        )

    def setRosterItem(
        self, username: str, item: RosterItem
    ) -> defer.Deferred[None]:
        """
        Add or replace the roster item for C{item.contact}.

        @return: a Deferred, failing with L{UnknownUser} if there is no
            account C{username}.
        """
        if username not in self._credentials:
            return defer.fail(UnknownUser(username))
        key = item.contact.userhost()
        self._rosters[username][key] = dataclasses.replace(
            item, contact=jid.internJID(key), groups=tuple(item.groups)
        )
        return defer.succeed(None)

    def removeRosterItem(
        self, username: str, contact: jid.JID
    ) -> defer.Deferred[None]:
        self._rosters.get(username, {}).pop(contact.userhost(), None)
        return defer.succeed(None)

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

    def prepare(self) -> defer.Deferred[None]:
        return defer.succeed(None)

    def close(self) -> defer.Deferred[None]:
        return defer.succeed(None)
