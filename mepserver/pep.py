# -*- test-case-name: tests.test_pep -*-
"""
Personal Eventing (XEP-0163) for the client domain's accounts, on the
shared pubsub engine (L{mepserver.pubsub}).

Every account's bare JID is a virtual pubsub service (section 3.1): an
L{PEPResource} that L{PEPResource.locateResource} picks for IQs to an
account's bare JID (or from its own resources without C{to}), served by
wokkel through L{PEPHandler}. The L{PEPContext} gives the engine PEP's
answers: the account is the owner and only publisher (section 3.2); the
presence access model means a roster subscription C{from} or C{both}
(XEP-0060 section 4.5); the implicit subscribers are the owner's available
resources and its contacts' (section 3.3) whose caps carry C{NODE+notify}
(section 3.4, filtered notifications), one notification per interested
resource (section 4.3.2).

L{PEPHandler} follows presence (L{mepserver.interfaces.IPresenceObserver}):
the caps of each session's broadcast presence, resolved through the
server-wide L{mepserver.caps.CapsCache} with a disco#info query from the
server's domain to the session, become its interests; a newly available
or newly interested session gets the last published item of each node it
wants from its own account and its contacts (section 4.3.4, with a delay
stamp), and so does a contact that gains access through a roster change.
Access is recalculated on every roster change, and explicit subscriptions
that lost it are cancelled (section 7.1).

Nodes and items are stored in the server's
L{mepserver.interfaces.IPubSubStore}, keyed by the account's bare JID.
"""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel import disco
from zope.interface import implementer

from mepserver import errors
from mepserver.caps import parseCaps
from mepserver.iqclient import IQClient
from mepserver.interfaces import IPresenceObserver, IPubSubContext, RosterItem
from mepserver.pubsub.resource import NoServiceResource, ServiceResource
from mepserver.pubsub.service import PubSubHandler
from mepserver.pubsub.model import Interests, NodeConfig, Service

log = Logger()

#: XEP-0163 section 5: presence access, notifications with payloads, the
#: last item on subscription and presence; one item per node (max_items
#: 1) unless configured otherwise.
PEP_DEFAULTS = NodeConfig()

#: Roster subscriptions that let a contact see the account's presence.
_SHARING = ("from", "both")


@implementer(IPubSubContext)
class PEPContext:
    """
    An account's PEP service as the engine sees it, for one request.

    @ivar owner: the account's bare JID.
    @ivar roster: the owner's roster items by contact bare JID: the whole
        roster when notifications are to be computed, or just the
        requester's item for an access check.
    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar interests: the sessions' L{Interests}.
    """

    def __init__(
        self,
        owner: jid.JID,
        roster: Mapping[jid.JID, RosterItem],
        sessions,
        interests: Interests,
    ):
        self.owner = owner
        self.roster = roster
        self.sessions = sessions
        self.interests = interests

    def isOwner(self, entity: jid.JID) -> bool:
        return entity.userhostJID() == self.owner

    def owners(self) -> List[jid.JID]:
        return [self.owner]

    def mayPublish(self, entity: jid.JID) -> bool:
        # Section 3.2: one publisher per node, the account owner.
        return self.isOwner(entity)

    def admit(self, entity: jid.JID) -> None:
        pass

    def sharesPresence(self, entity: jid.JID) -> bool:
        item = self.roster.get(entity.userhostJID())
        return item is not None and item.subscription in _SHARING

    def rosterGroups(self, entity: jid.JID) -> Iterable[str]:
        item = self.roster.get(entity.userhostJID())
        return item.groups if item is not None else ()

    def _isLocal(self, address: jid.JID) -> bool:
        return address.user is not None and address.host == self.sessions.domain

    def _interested(self, username: str, nodeIdentifier: str) -> List[jid.JID]:
        return [
            session.jid
            for session in self.sessions.sessionsOf(username)
            if session.available and self.interests.interested(session.jid, nodeIdentifier)
        ]

    def candidates(self, nodeIdentifier: str) -> List[jid.JID]:
        """
        The owner's available resources, then those of each contact with a
        subscription C{from} or C{both}, whose caps ask for the node
        (sections 4.1 and 4.3.2). Contacts of other domains have no
        presence here (no server-to-server links), so none of theirs.
        """
        result = self._interested(self.owner.user, nodeIdentifier)
        for contact, item in self.roster.items():
            if item.subscription in _SHARING and self._isLocal(contact):
                result.extend(self._interested(contact.user, nodeIdentifier))
        return result

    def explicitTargets(self, subscriber: jid.JID, nodeIdentifier: str) -> List[jid.JID]:
        """
        Section 4.3.2: a full JID gets one notification; a bare JID gets
        one per available resource whose caps ask for the node, or, with
        no such resource, one to the bare JID.
        """
        if subscriber.resource is None and self._isLocal(subscriber):
            interested = self._interested(subscriber.user, nodeIdentifier)
            if interested:
                return interested
        return [subscriber]


class PEPResource(ServiceResource):
    """
    The PEP services of the client domain's accounts: locates the account
    a pubsub request or disco query is addressed to (its bare JID), and
    answers C{service-unavailable} for the domain itself or for an account
    that does not exist (RFC 6121 section 8.5.1).

    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar interests: the sessions' L{Interests}.
    """

    def __init__(self, registry, users, sessions, interests: Interests):
        ServiceResource.__init__(self, registry)
        self.users = users
        self.sessions = sessions
        self.interests = interests
        self.noService = NoServiceResource()

    def locateResource(self, request):
        recipient = request.recipient
        if (
            recipient is None
            or recipient.user is None
            or recipient.resource is not None
            or recipient.host != self.sessions.domain
        ):
            return self.noService
        return self

    def discoIdentities(self, requestor, target):
        # Section 6.1: the server answers for the account, as pubsub/pep.
        return [
            disco.DiscoIdentity("account", "registered"),
            disco.DiscoIdentity("pubsub", "pep"),
        ]

    async def _exists(self, username: str) -> bool:
        if self.sessions.sessionsOf(username):
            return True
        return await self.users.getCredentials(username) is not None

    async def context(self, owner: jid.JID, requestor: Optional[jid.JID]) -> PEPContext:
        """
        The context for a request from C{requestor} to C{owner}'s service:
        with the owner's whole roster when the owner asks (its requests
        may notify contacts), else with the requester's roster item only.
        """
        if requestor is None or requestor.userhostJID() == owner:
            items = await self.users.getRoster(owner.user)
            roster = {item.contact: item for item in items}
        else:
            item = await self.users.getRosterItem(owner.user, requestor.userhostJID())
            roster = {item.contact: item} if item is not None else {}
        return PEPContext(owner, roster, self.sessions, self.interests)

    def locate(self, request):
        return defer.ensureDeferred(self._locate(request))

    async def _locate(self, request):
        owner = request.recipient.userhostJID()
        if not await self._exists(owner.user):
            raise errors.ServiceUnavailable(f"there is no account {owner.full()}")
        service = await self.registry.get(owner)
        return service, await self.context(owner, request.sender)


def makeService(ids, clock):
    """
    @return: a factory of empty PEP services with XEP-0163's defaults, for
        a L{mepserver.pubsub.registry.ServiceRegistry}.
    """

    def factory(owner: jid.JID) -> Service:
        return Service(owner, ids, clock, defaults=PEP_DEFAULTS)

    return factory


@implementer(IPresenceObserver)
class PEPHandler(PubSubHandler):
    """
    The client domain's PEP protocol handler: wokkel's pubsub service for
    the accounts' bare JIDs (through L{PEPResource}), and the observer of
    sessions' presence and rosters that keeps interests and sends last
    items.

    Observes pubsub IQs to accounts' bare JIDs; its L{IQClient} sends the
    caps disco#info queries and matches their answers. Errors returned:
    those of L{ServiceResource}, and C{service-unavailable} for the domain
    or an unknown account.

    @ivar tracker: the L{mepserver.pubsub.interests.InterestTracker} of the
        sessions' caps; C{resource.interests} is its index.
    @ivar iqClient: the L{IQClient} on the client domain's component.
    """

    def __init__(self, resource: PEPResource, tracker, ids, iqClient: IQClient):
        PubSubHandler.__init__(self, resource, ids)
        self.tracker = tracker
        self.iqClient = iqClient

    @property
    def sessions(self):
        return self.resource.sessions

    @property
    def users(self):
        return self.resource.users

    @property
    def registry(self):
        return self.resource.registry

    def queryInfo(self, entity: jid.JID, node: str) -> defer.Deferred:
        """
        Ask a session for its disco#info (XEP-0115 section 6.2), from the
        server's domain.

        @return: a Deferred firing with the result's C{<query/>}.
        """
        query = domish.Element((disco.NS_DISCO_INFO, "query"))
        query["node"] = node
        return self.iqClient.request(jid.internJID(self.sessions.domain), entity, query)

    def reset(self) -> None:
        """
        Forget every service and interest held in memory, for test fixtures
        (L{mepserver.testing.RunningServer.reset}).
        """
        self.registry.reset()
        self.tracker.reset()

    # IPresenceObserver

    def sessionAvailable(self, session, presence, initial):
        d = self.tracker.announce(session.jid, parseCaps(presence), initial)
        d.addCallback(self._interestsAdded, session)
        d.addErrback(lambda f: log.failure("PEP after presence of {jid}", f, jid=session.jid.full()))

    def _interestsAdded(self, namespaces, session):
        if namespaces:
            return defer.ensureDeferred(self.sendLastItems(session, namespaces))

    def sessionUnavailable(self, session):
        self.tracker.forget(session.jid)

    def rosterItemChanged(self, username, before, after):
        d = defer.ensureDeferred(self._rosterItemChanged(username, before, after))
        d.addErrback(lambda f: log.failure("PEP after a roster change of {user}", f, user=username))

    # Last items and access changes.

    async def sendLastItems(self, session, namespaces) -> None:
        """
        Send a session the last item of every node it wants (C{namespaces})
        at its own account and at the accounts whose presence it receives
        (section 4.3.4): from the service's bare JID, with a delay stamp.
        """
        user = session.jid.userhostJID()
        owners = [user]
        for item in await self.users.getRoster(user.user):
            contact = item.contact
            if item.subscription in ("to", "both") and contact.host == self.sessions.domain:
                owners.append(contact)
        for owner in owners:
            service = await self.registry.get(owner)
            if not service.nodes:
                continue
            context = await self.resource.context(owner, user)
            if not session.available:
                return
            for node, item in service.lastItems(context, session.jid, namespaces):
                self.notifyItems(owner, node, [item], [session.jid], delay=item.published)

    async def _rosterItemChanged(self, username, before, after) -> None:
        """
        Section 7.1: recalculate a contact's access. Explicit subscriptions
        it lost are cancelled; for nodes it gained, its interested sessions
        get the last item, as a new (implicit) subscriber does (section
        4.3.4).
        """
        contact = (after or before).contact
        owner = jid.JID(tuple=(username, self.sessions.domain, None))
        service = await self.registry.get(owner)
        if not service.nodes:
            return
        interests = self.resource.interests
        old = PEPContext(owner, {contact: before} if before else {}, self.sessions, interests)
        new = PEPContext(owner, {contact: after} if after else {}, self.sessions, interests)
        gained = [
            node.identifier
            for node in service.nodes.values()
            if service.mayAccess(new, node, contact) and not service.mayAccess(old, node, contact)
        ]
        cancelled = service.cancelLostSubscriptions(new, contact)
        for node in {node.identifier: node for node, _ in cancelled}.values():
            await self.registry.saveNode(service, node)
        if not gained or contact.host != self.sessions.domain or contact.user is None:
            return
        for session in self.sessions.sessionsOf(contact.user):
            if not session.available:
                continue
            wanted = [n for n in gained if interests.interested(session.jid, n)]
            for node, item in service.lastItems(new, session.jid, wanted):
                self.notifyItems(owner, node, [item], [session.jid], delay=item.published)
