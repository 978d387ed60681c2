# -*- test-case-name: tests.test_private -*-
"""
Private XML Storage (XEP-0049) for the client domain's accounts.

L{PrivateHandler} answers C{jabber:iq:private} gets and sets (section 2.3)
that an account sends to its own bare JID (or without C{to}): one element
per qualified name of its root (namespace and local name), kept in the
L{mepserver.interfaces.IUserStore}. A qualified name a feature keeps
elsewhere (an L{mepserver.interfaces.IPrivateData}: legacy bookmarks,
L{mepserver.c2s.bookmarks}) goes to that feature instead.

Section 2.3 and section 3, the error conditions:
  - C{bad-format} (modify) for a query without a child element, or a get
    of more than one (as Prosody answers);
  - C{not-acceptable} (modify) for a reserved namespace: those beginning
    with C{jabber:} (C{jabber:client}, C{jabber:server}, ...) or
    C{http://jabber.org/}, and C{vcard-temp};
  - C{forbidden} (auth) for a request to another account's bare JID or to
    the domain (the preferred of the two conditions the section allows).
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

from twisted.internet import defer
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel import disco
from wokkel.iwokkel import IDisco
from zope.interface import implementer

from mepserver import errors
from mepserver.c2s.base import AccountHandler
from mepserver.stanza import parseStanza

NS_PRIVATE = "jabber:iq:private"
PRIVATE_IQ = f"/iq/query[@xmlns='{NS_PRIVATE}']"

#: Section 2.3: namespaces reserved in Jabber, refused with not-acceptable.
RESERVED_PREFIXES = ("jabber:", "http://jabber.org/")
RESERVED_NAMESPACES = frozenset({"vcard-temp"})


def isReserved(namespace) -> bool:
    """
    @return: whether C{namespace} is reserved (section 2.3); an element in
        no namespace is refused too.
    """
    if not namespace:
        return True
    return namespace in RESERVED_NAMESPACES or namespace.startswith(RESERVED_PREFIXES)


def isEmpty(element: domish.Element) -> bool:
    """
    @return: whether a stored element says nothing: no attributes and no
        content. Storing one removes what was stored (as Prosody does).
    """
    return not element.attributes and not element.children


@implementer(IDisco)
class PrivateHandler(AccountHandler):
    """
    The client domain's private XML storage.

    Observes C{get} and C{set} IQs with a C{<query
    xmlns='jabber:iq:private'/>} that no other handler took (one to a full
    JID is delivered to that client first). Errors returned: C{bad-format},
    C{not-acceptable} and C{forbidden} as the module says;
    C{internal-server-error} if the store fails; and whatever an
    L{mepserver.interfaces.IPrivateData} refuses.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar providers: the L{mepserver.interfaces.IPrivateData}s by the
        C{(namespace, name)} they keep.
    """

    def __init__(self, sessions, users, providers: Iterable = ()) -> None:
        AccountHandler.__init__(self)
        self.sessions = sessions
        self.users = users
        self.providers: Dict[Tuple[str, str], object] = {
            (p.namespace, p.name): p for p in providers
        }

    def connectionInitialized(self):
        self.xmlstream.addObserver(PRIVATE_IQ, self.onRequest)

    # Service discovery.

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        """
        The domain lists C{jabber:iq:private}, as Prosody does; an
        account's bare JID lists what the providers add (XEP-0402's
        C{urn:xmpp:bookmarks:1#compat}).
        """
        if nodeIdentifier:
            return defer.succeed([])
        if target.user is None:
            return defer.succeed([disco.DiscoFeature(NS_PRIVATE)])
        return defer.succeed(
            [
                disco.DiscoFeature(feature)
                for provider in self.providers.values()
                for feature in provider.accountFeatures
            ]
        )

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])

    # Requests.

    def onRequest(self, iq):
        """
        A private XML get or set arrived for an account (or the domain).
        """
        if iq.handled or iq.getAttribute("type") not in ("get", "set"):
            return
        iq.handled = True
        d = errors.answerIQ(iq, defer.ensureDeferred(self._process(iq)))
        d.addCallback(self.reply, iq)

    def _owner(self, iq) -> jid.JID:
        """
        @return: the full JID of the account's session that sent C{iq}.
        @raise errors.Forbidden: the request is not for the sender's own
            storage (section 2.3).
        """
        sender = jid.internJID(iq["from"])
        to = jid.internJID(iq["to"])
        if (
            sender.user is None
            or sender.host != self.sessions.domain
            or sender.userhostJID() != to
        ):
            raise errors.Forbidden("only the account itself may use its private XML storage")
        return sender

    async def _process(self, iq) -> Optional[domish.Element]:
        sender = self._owner(iq)
        elements = [e for e in iq.query.elements()]
        if not elements:
            raise errors.BadFormat("the query must hold the element to get or store")
        for element in elements:
            if isReserved(element.uri):
                raise errors.NotAcceptable(
                    f"the namespace {element.uri or '(none)'!r} is reserved: "
                    "private XML needs a namespace of its own"
                )
        if iq["type"] == "get":
            if len(elements) > 1:
                raise errors.BadFormat("get one element at a time")
            query = domish.Element((NS_PRIVATE, "query"))
            query.addChild(await self._get(sender, elements[0]))
            return query
        for element in elements:
            await self._set(sender, element)
        return None

    async def _get(self, sender: jid.JID, request: domish.Element) -> domish.Element:
        key = (request.uri, request.name)
        provider = self.providers.get(key)
        if provider is not None:
            return await provider.getPrivate(sender.userhostJID())
        stored = await self.users.getPrivate(sender.user, *key)
        if stored is None:
            # Section 2.3 (example 2): the element asked for, empty.
            return domish.Element(key)
        return parseStanza(stored)

    async def _set(self, sender: jid.JID, element: domish.Element) -> None:
        key = (element.uri, element.name)
        provider = self.providers.get(key)
        if provider is not None:
            await provider.setPrivate(sender, element)
            return
        xml = None if isEmpty(element) else element.toXml()
        await self.users.setPrivate(sender.user, element.uri, element.name, xml)
