# -*- test-case-name: tests.test_storage -*-
"""
Interfaces between mepserver's protocol code and what it depends on.

Stores return L{Deferred<twisted.internet.defer.Deferred>}s from every
method (the memory store fires them at once), so that protocol code never
knows whether a call reaches SQLite through a thread pool or a dict.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Tuple

from twisted.words.protocols.jabber import jid
from zope.interface import Attribute, Interface


@dataclasses.dataclass(frozen=True)
class ScramKeys:
    """
    The salted SCRAM keys of one hash function (RFC 5802 section 3).

    Only these are stored, never a password.
    """

    salt: bytes
    storedKey: bytes
    serverKey: bytes
    iterations: int


@dataclasses.dataclass(frozen=True)
class Credentials:
    """
    An account's stored credentials: SCRAM keys per mechanism name.

    @ivar keys: maps a SCRAM mechanism name (C{"SCRAM-SHA-1"},
        C{"SCRAM-SHA-256"}) to its L{ScramKeys}.
    """

    keys: Mapping[str, ScramKeys]


SUBSCRIPTIONS = ("none", "to", "from", "both")


@dataclasses.dataclass(frozen=True)
class RosterItem:
    """
    One item of a user's roster (RFC 6121 section 2.1.2).

    @ivar contact: the contact's bare JID.
    @ivar name: the handle the user gave the contact, or L{None}.
    @ivar subscription: one of L{SUBSCRIPTIONS}.
    @ivar ask: C{True} while an outbound subscription request is pending
        (the "Pending Out" part of RFC 6121 Appendix A's states).
    @ivar groups: the item's group names.
    """

    contact: jid.JID
    name: Optional[str] = None
    subscription: str = "none"
    ask: bool = False
    groups: Tuple[str, ...] = ()


class UserExists(Exception):
    """
    An account with this username already exists.
    """


class UnknownUser(Exception):
    """
    There is no account with this username.
    """


class IUserStore(Interface):
    """
    Durable accounts and rosters of the client domain.

    Usernames are the nodeprep'd localparts of bare JIDs, as L{str}.
    Contacts are bare L{jid.JID}s. Reads for an unknown user give C{[]} or
    L{None}; writes of roster items or pending subscriptions for an unknown
    user fail with L{UnknownUser}; removing something absent is no error.
    """

    def getCredentials(username):
        """
        @return: a Deferred firing with the user's L{Credentials}, or L{None}
            if there is no such user.
        """

    def createUser(username, credentials):
        """
        Create an account.

        @return: a Deferred that fires when stored, or fails with
            L{UserExists}.
        """

    def setCredentials(username, credentials):
        """
        Replace a user's credentials (password change).

        @return: a Deferred, failing with L{UnknownUser} if there is none.
        """

    def removeUser(username):
        """
        Remove an account with its roster and pending subscriptions.

        @return: a Deferred, failing with L{UnknownUser} if there is none.
        """

    def listUsers():
        """
        @return: a Deferred firing with a sorted L{list} of usernames.
        """

    def getRoster(username):
        """
        @return: a Deferred firing with a L{list} of L{RosterItem}s, sorted
            by contact.
        """

    def getRosterItem(username, contact):
        """
        @return: a Deferred firing with the L{RosterItem} for C{contact}, or
            L{None}.
        """

    def setRosterItem(username, item):
        """
        Add or replace the roster item for C{item.contact}.

        @return: a Deferred.
        """

    def removeRosterItem(username, contact):
        """
        Remove the roster item for C{contact}; no error if absent.

        @return: a Deferred.
        """

    def getPendingSubscriptions(username):
        """
        Inbound subscription requests not yet answered (RFC 6121 section
        3.1.3: the server stores them and delivers them again at login).

        @return: a Deferred firing with a sorted L{list} of bare
            L{jid.JID}s.
        """

    def addPendingSubscription(username, contact):
        """
        Store an inbound subscription request from C{contact}; idempotent.

        @return: a Deferred.
        """

    def removePendingSubscription(username, contact):
        """
        Forget an inbound subscription request; no error if absent.

        @return: a Deferred.
        """

    def prepare():
        """
        Make the store ready (create missing tables); idempotent.

        @return: a Deferred.
        """

    def close():
        """
        Release resources (database connections).

        @return: a Deferred.
        """


class IServerMechanism(Interface):
    """
    The server side of one SASL mechanism exchange (RFC 6120 section 6).

    A fresh instance serves one authentication attempt.
    """

    name = Attribute("The mechanism name as advertised, e.g. 'SCRAM-SHA-256'.")

    def step(response):
        """
        Process the client's initial response or a later response.

        @param response: the decoded bytes the client sent (C{b""} for an
            empty response, L{None} when the <auth/> element had no initial
            response).
        @return: a Deferred firing with a L{mepserver.c2s.mechanisms.Challenge}
            to send the client, or a L{mepserver.c2s.mechanisms.Success}
            carrying the authenticated username and any additional data;
            failing with L{mepserver.c2s.mechanisms.SASLFailure} carrying
            the RFC 6120 section 6.5 condition.
        """


@dataclasses.dataclass(frozen=True)
class StoredRoom:
    """
    The durable state of one persistent room (XEP-0045 section 10.2).

    Occupants, history and the presence of anybody are not stored.

    @ivar jid: the bare room JID.
    @ivar config: the room configuration, as the C{muc#roomconfig_*}
        field names of the owner form (without the prefix, e.g.
        C{"roomname"}, C{"membersonly"}) mapped to plain values
        (L{str}, L{bool}, L{int}, L{None} or a L{tuple} of L{str}).
    @ivar affiliations: bare user JIDs mapped to C{"owner"}, C{"admin"},
        C{"member"} or C{"outcast"} (C{"none"} is never stored).
    @ivar nicks: registered nicknames: bare user JIDs mapped to nicks
        (XEP-0045 section 7.10).
    @ivar subject: the room subject and who set it (a nick), or empty.
    @ivar reasons: optional reasons given with affiliations (bans).
    """

    jid: jid.JID
    config: Mapping[str, object]
    affiliations: Mapping[jid.JID, str]
    nicks: Mapping[jid.JID, str] = dataclasses.field(default_factory=dict)
    subject: str = ""
    subjectBy: str = ""
    reasons: Mapping[jid.JID, str] = dataclasses.field(default_factory=dict)


class IRoomStore(Interface):
    """
    Durable persistent rooms of the MUC service.

    The MUC service keeps rooms in memory and writes a whole L{StoredRoom}
    through after every change to a persistent room: rooms are small and
    changes rare, so there is no per-field API.
    """

    def loadRooms():
        """
        @return: a Deferred firing with every stored L{StoredRoom}, sorted by
            room JID.
        """

    def saveRoom(room):
        """
        Insert or replace a room's stored state.

        @return: a Deferred.
        """

    def removeRoom(roomJID):
        """
        Forget a room (destroyed, or no longer persistent); no error if
        absent.

        @return: a Deferred.
        """

    def prepare():
        """
        Make the store ready; idempotent.

        @return: a Deferred.
        """

    def close():
        """
        Release resources.

        @return: a Deferred.
        """


class IRoomFeature(Interface):
    """
    One room option of the MUC service (XEP-0045 section 10.1.3), such as
    the password or members-only (STYLE.md section 3).

    Features live in C{mepserver/muc/features/}, one module each, and run
    in the order of C{mepserver.muc.features.FEATURES}. Everything is plain
    Python: rooms are L{mepserver.muc.model.Room}s, roles and affiliations
    enums, form fields L{mepserver.muc.model.ConfigField}s.
    """

    name = Attribute("A short name for the option, e.g. 'password'.")

    def discoFeatures(room):
        """
        @return: the disco#info features the option adds to the room
            (XEP-0045 section 6.4), e.g. C{["muc_passwordprotected"]}.
        """

    def configFields(room):
        """
        @return: the option's fields in the owner's configuration form, with
            the room's current values, as a list of C{ConfigField}s.
        """

    def applyConfig(room, config, values):
        """
        Apply a submitted configuration form to C{config}, a copy of the
        room's configuration that becomes current once every feature
        accepted it.

        @param values: field C{var}s mapped to sequences of strings; a field
            that is absent keeps its value.
        @return: the status codes the change calls for (XEP-0045 section
            10.2.1: 104, or 172/173 for anonymity), empty if nothing
            changed.
        @raise mepserver.errors.Refusal: an invalid value.
        """

    def checkJoin(room, attempt):
        """
        Check that someone may enter (XEP-0045 section 7.2).

        @param attempt: a C{JoinAttempt}.
        @raise mepserver.errors.Refusal: they may not.
        """

    def defaultRole(room, affiliation):
        """
        @return: the role someone with C{affiliation} gets on entering
            (XEP-0045 section 5.1.2), or L{None} to leave it to the next
            feature and finally the table.
        """
