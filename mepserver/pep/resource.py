# -*- test-case-name: tests.test_pep -*-
"""
The virtual pubsub services of PEP (XEP-0163 section 3.1) as wokkel sees
them: L{PEPResource} locates, per request, the account's service at its
bare JID (or at the requester's own account when an IQ has no C{to}), with
a L{mepserver.pep.model.PEPContext} for the requester; the domain itself,
and an account that does not exist, get C{service-unavailable} (RFC 6121
section 8.5.1). In disco the account shows as C{pubsub/pep} (section 6.1).

Nodes and items are stored in the server's
L{mepserver.interfaces.IPubSubStore}, keyed by the account's bare JID.
"""

from __future__ import annotations

from typing import Optional

from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from wokkel import disco
from zope.interface.verify import verifyObject

from mepserver import errors
from mepserver.interfaces import IPEPObserver
from mepserver.pep.model import PEPContext
from mepserver.pubsub.model import Interests
from mepserver.pubsub.resource import NoServiceResource, ServiceResource

log = Logger()


class PEPResource(ServiceResource):
    """
    The PEP services of the client domain's accounts: locates the account
    a pubsub request or disco query is addressed to (its bare JID), and
    answers C{service-unavailable} for the domain itself or for an account
    that does not exist (RFC 6121 section 8.5.1).

    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar interests: the sessions' L{Interests}.
    @ivar observers: the L{IPEPObserver}s told of each publication.
    """

    def __init__(self, registry, users, sessions, interests: Interests, observers=()):
        ServiceResource.__init__(self, registry)
        self.users = users
        self.sessions = sessions
        self.interests = interests
        self.noService = NoServiceResource()
        for observer in observers:
            verifyObject(IPEPObserver, observer)
        self.observers = list(observers)

    async def published(self, service, result) -> None:
        """
        Store and notify, then tell the L{observers}.
        """
        await ServiceResource.published(self, service, result)
        for observer in self.observers:
            try:
                observer.itemPublished(service, result.node, result.item)
            except Exception:
                log.failure("Telling {observer} of a publication", observer=observer)

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
            roster = await self.users.getRosterByContact(owner.user)
        else:
            item = await self.users.getRosterItem(owner.user, requestor.userhostJID())
            roster = {item.contact.userhost(): item} if item is not None else {}
        return PEPContext(owner, roster, self.sessions, self.interests)

    async def locate(self, request):
        owner = request.recipient.userhostJID()
        if not await self._exists(owner.user):
            raise errors.ServiceUnavailable(f"there is no account {owner.full()}")
        service = await self.registry.get(owner)
        return service, await self.context(owner, request.sender)

    # The server's own use of an account's service, in a block of its own:
    # features that keep other data in step with a node (XEP-0402 section
    # 5, bookmarks) call the model with this and store and notify through
    # published, retracted and reconfigured, as a request would.

    async def ownService(self, owner: jid.JID):
        """
        @param owner: the account's bare JID.
        @return: the account's L{mepserver.pubsub.model.Service} and a
            context in which the account itself is the requester.
        """
        service = await self.registry.get(owner)
        return service, await self.context(owner, owner)
