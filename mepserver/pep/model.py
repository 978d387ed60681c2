# -*- test-case-name: tests.test_pep -*-
"""
PEP (XEP-0163) as the pubsub engine sees it, in plain Python: the
L{PEPContext} gives the engine PEP's answers. The account is the owner and
only publisher (section 3.2); the presence access model means a roster
subscription C{from} or C{both} (XEP-0060 section 4.5); the implicit
subscribers are the owner's available resources and its contacts'
(section 3.3) whose caps carry C{NODE+notify} (section 3.4, filtered
notifications), one notification per interested resource (section 4.3.2).

No XML here (STYLE.md section 3): the protocol side is
L{mepserver.pep.resource} and L{mepserver.pep.handler}.
"""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional

from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver.interfaces import SHARES_PRESENCE, IPubSubContext, RosterItem
from mepserver.pubsub.model import Interests, NodeConfig, Service

#: XEP-0163 section 5: presence access, notifications with payloads, the
#: last item on subscription and presence; one item per node (max_items
#: 1) unless configured otherwise.
PEP_DEFAULTS = NodeConfig()

#: An account without bound sessions (L{PEPContext._interested}).
_NO_SESSIONS: Mapping[str, object] = {}

@implementer(IPubSubContext)
class PEPContext:
    """
    An account's PEP service as the engine sees it, for one request.

    @ivar owner: the account's bare JID.
    @ivar roster: the owner's roster items by contact, a bare JID string
        (C{userhost()}): the whole roster when notifications are to be
        computed, or just the requester's item for an access check.
    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar interests: the sessions' L{Interests}.
    """

    def __init__(
        self,
        owner: jid.JID,
        roster: Mapping[str, RosterItem],
        sessions,
        interests: Interests,
    ):
        self.owner = owner
        self.roster = roster
        self.sessions = sessions
        self.interests = interests

    #: The owner's resources, and contacts' whose roster item shares the
    #: owner's presence (L{candidates}).
    candidatesSharePresence = True

    def isOwner(self, entity: jid.JID) -> bool:
        # The parts, not userhostJID(): asked of every notification's
        # recipient (issue 16).
        return entity.user == self.owner.user and entity.host == self.owner.host

    def owners(self) -> List[jid.JID]:
        return [self.owner]

    def mayPublish(self, entity: jid.JID) -> bool:
        # Section 3.2: one publisher per node, the account owner.
        return self.isOwner(entity)

    def admit(self, entity: jid.JID) -> None:
        pass

    def sharesPresence(self, entity: jid.JID) -> bool:
        item = self.roster.get(entity.userhost())
        return item is not None and item.sharesPresence

    def rosterGroups(self, entity: jid.JID) -> Iterable[str]:
        item = self.roster.get(entity.userhost())
        return item.groups if item is not None else ()

    def _isLocal(self, address: jid.JID) -> bool:
        return address.user is not None and address.host == self.sessions.domain

    def _interested(self, usernames: Iterable[str], nodeIdentifier: str) -> List[jid.JID]:
        """
        @return: the available sessions of the accounts, in order, whose
            caps ask for the node. Asked of every publication, over the
            owner's whole roster: read from the mappings themselves,
            without a list or a method call per account (issue 16).
        """
        bound = self.sessions.bound
        wants = self.interests.byEntity.get
        return [
            session.jid
            for username in usernames
            for session in bound.get(username, _NO_SESSIONS).values()
            if session.available and nodeIdentifier in wants(session.jid, ())
        ]

    def candidates(self, nodeIdentifier: str) -> List[jid.JID]:
        """
        The owner's available resources, then those of each contact with a
        subscription C{from} or C{both}, whose caps ask for the node
        (sections 4.1 and 4.3.2), each once: the owner's resources are not
        counted again for the owner's own roster item. Contacts of other
        domains have no presence here (no server-to-server links), so none
        of theirs.
        """
        domain = self.sessions.domain
        owner = self.owner.user
        accounts = [owner]
        accounts.extend(
            item.contact.user
            for item in self.roster.values()
            if item.contact.host == domain
            and item.subscription in SHARES_PRESENCE
            and item.contact.user is not None
            and item.contact.user != owner
        )
        return self._interested(accounts, nodeIdentifier)

    def explicitTargets(self, subscriber: jid.JID, nodeIdentifier: str) -> List[jid.JID]:
        """
        Section 4.3.2: a full JID gets one notification; a bare JID gets
        one per available resource whose caps ask for the node, or, with
        no such resource, one to the bare JID.
        """
        if subscriber.resource is None and self._isLocal(subscriber):
            interested = self._interested((subscriber.user,), nodeIdentifier)
            if interested:
                return interested
        return [subscriber]


def makeService(ids, clock, maxNodes: Optional[int] = None, maxBytes: Optional[int] = None):
    """
    @param maxNodes: each service's L{Service.maxNodes}.
    @param maxBytes: each service's L{Service.maxBytes}.
    @return: a factory of empty PEP services with XEP-0163's defaults, for
        a L{mepserver.pubsub.registry.ServiceRegistry}.
    """

    def factory(owner: jid.JID) -> Service:
        return Service(
            owner, ids, clock, defaults=PEP_DEFAULTS, maxNodes=maxNodes, maxBytes=maxBytes
        )

    return factory
