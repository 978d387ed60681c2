# -*- test-case-name: tests.test_pep -*-
"""
The client domain's PEP protocol handler (XEP-0163): wokkel's pubsub
service for the accounts' bare JIDs (through
L{mepserver.pep.resource.PEPResource}), and the follower of sessions'
presence and rosters.

L{PEPHandler} follows presence (L{mepserver.interfaces.IPresenceObserver}):
the caps of each session's broadcast presence, resolved through the
server-wide L{mepserver.caps.CapsCache} with a disco#info query from the
server's domain to the session (XEP-0115 section 6.2), become its
interests; a newly available or newly interested session gets the last
published item of each node it wants from its own account and its
contacts (section 4.3.4, with a delay stamp), and so does a contact that
gains access through a roster change. Access is recalculated on every
roster change, and explicit subscriptions that lost it are cancelled
(section 7.1).
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver.caps import parseCaps
from mepserver.interfaces import IAccountObserver, IPresenceObserver
from mepserver.pep.model import PEPContext
from mepserver.pep.resource import PEPResource
from mepserver.pubsub.service import PubSubHandler

log = Logger()


@implementer(IPresenceObserver, IAccountObserver)
class PEPHandler(PubSubHandler):
    """
    The client domain's PEP protocol handler: wokkel's pubsub service for
    the accounts' bare JIDs (through L{PEPResource}), and the observer of
    sessions' presence and rosters that keeps interests and sends last
    items.

    Observes pubsub IQs to accounts' bare JIDs. Errors returned:
    those of L{mepserver.pubsub.resource.ServiceResource}, and
    C{service-unavailable} for the domain or an unknown account.

    @ivar tracker: the L{mepserver.pubsub.interests.InterestTracker} of the
        sessions' caps, which asks sessions about their caps through a
        L{mepserver.caps.DiscoInfoQuery}; C{resource.interests} is its
        index.
    """

    def __init__(self, resource: PEPResource, tracker, ids):
        PubSubHandler.__init__(self, resource, ids)
        self.tracker = tracker

    @property
    def sessions(self):
        return self.resource.sessions

    @property
    def users(self):
        return self.resource.users

    @property
    def registry(self):
        return self.resource.registry

    def reset(self) -> None:
        """
        Forget every service and interest held in memory, for test fixtures
        (L{mepserver.testing.RunningServer.reset}).
        """
        self.registry.reset()
        self.tracker.reset()

    # IAccountObserver

    async def _accountRemoved(self, username: str) -> None:
        owner = jid.JID(tuple=(username, self.sessions.domain, None))
        service = await self.registry.get(owner)
        if service.nodes:
            context = await self.resource.context(owner, owner)
            for identifier in sorted(service.nodes):
                deletion = service.delete(context, owner, identifier)
                self.notifyDelete(owner, identifier, deletion.recipients)
        await self.registry.remove(owner)

    def accountRemoved(self, username):
        """
        An account is removed: its PEP service goes, in memory and in the
        store, as Prosody deletes it on C{user-deleted}. Each node is
        deleted as its owner would delete it, so that subscribers and
        interested contacts are told (XEP-0060 section 8.4.2) and drop
        what they cached (an avatar, say).
        """
        return defer.ensureDeferred(self._accountRemoved(username))

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
        key = contact.userhost()
        old = PEPContext(owner, {key: before} if before else {}, self.sessions, interests)
        new = PEPContext(owner, {key: after} if after else {}, self.sessions, interests)
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
