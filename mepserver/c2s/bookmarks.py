# -*- test-case-name: tests.test_bookmarks -*-
"""
Legacy bookmarks (XEP-0048, C{storage:bookmarks} in private XML storage,
XEP-0049) kept in step with PEP Native Bookmarks (XEP-0402), as XEP-0402
section 5 allows: the server announces C{urn:xmpp:bookmarks:1#compat} on
the account.

The PEP node C{urn:xmpp:bookmarks:1} is the one copy. A private XML get
of C{storage:bookmarks} is computed from its items, each one legacy
C{<conference/>} with the item id as its C{jid} (section 5.1), so the two
are never out of step. A private XML set of C{storage:bookmarks} updates
the node (section 5.2): it publishes the bookmarks that are new or
changed, sends nothing for those that are unchanged, and retracts those
that are gone, each with its notifications as a client's publish or
retract would; it creates or reconfigures the node with XEP-0402's
options (section 3.3: persistent, C{max} items, never sending the last
item, whitelist access).

Mapping choices (the XEPs leave them open):
  - C{<url/>} bookmarks of XEP-0048 have no XEP-0402 form (section 1
    drops them): a set ignores them, and a get returns none.
  - Extension elements: a legacy C{<conference/>}'s children in other
    namespaces are the XEP-0402 C{<extensions/>} children, both ways. A
    legacy set of a bookmark without any keeps the extensions the item
    had, since legacy clients drop what they do not understand (section
    1).
  - A conference without a valid C{jid} makes the whole set fail with
    C{bad-request}, changing nothing.
  - C{autojoin} keeps the value given (C{true}, C{1}, ...); C{1} and
    C{true} count as the same when telling whether a bookmark changed.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Dict, Optional, Tuple

from twisted.internet import defer
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from zope.interface import implementer

from mepserver import errors
from mepserver.interfaces import IPrivateData
from mepserver.jids import parseJID
from mepserver.pubsub.model import NodeConfig
from mepserver.stanza import parseStanza

NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
NS_LEGACY = "storage:bookmarks"
FEATURE_COMPAT = NS_BOOKMARKS + "#compat"

#: XEP-0402 section 3.3: the node's options, as publish-options.
BOOKMARK_OPTIONS = {
    "pubsub#persist_items": "true",
    "pubsub#max_items": "max",
    "pubsub#send_last_published_item": "never",
    "pubsub#access_model": "whitelist",
}


def _text(parent: domish.Element, uri: str, name: str) -> Optional[str]:
    for child in parent.elements(uri, name):
        return str(child)
    return None


@dataclasses.dataclass(frozen=True)
class Bookmark:
    """
    One bookmarked room, in neither form.

    @ivar room: the room JID's text: the item id, the legacy C{jid}.
    @ivar autojoin: the C{autojoin} attribute as given, or L{None}.
    @ivar extensions: the extension elements as XML text.
    """

    room: str
    name: Optional[str] = None
    autojoin: Optional[str] = None
    nick: Optional[str] = None
    password: Optional[str] = None
    extensions: Tuple[str, ...] = ()

    def sameAs(self, other: "Bookmark") -> bool:
        """
        @return: whether both say the same (C{autojoin} as a boolean).
        """
        return dataclasses.replace(self, autojoin=_autojoin(self.autojoin)) == (
            dataclasses.replace(other, autojoin=_autojoin(other.autojoin))
        )

    @classmethod
    def fromLegacy(cls, conference: domish.Element) -> "Bookmark":
        """
        Read a XEP-0048 C{<conference/>}.

        @raise errors.BadRequest: it has no valid C{jid}.
        """
        room = conference.getAttribute("jid")
        try:
            room = parseJID(room).full() if room else None
        except jid.InvalidFormat:
            room = None
        if room is None:
            raise errors.BadRequest("every conference bookmark needs a valid 'jid'")
        return cls(
            room=room,
            name=conference.getAttribute("name"),
            autojoin=conference.getAttribute("autojoin"),
            nick=_text(conference, NS_LEGACY, "nick"),
            password=_text(conference, NS_LEGACY, "password"),
            extensions=tuple(
                child.toXml() for child in conference.elements() if child.uri != NS_LEGACY
            ),
        )

    @classmethod
    def fromItem(cls, itemIdentifier: str, payload: Optional[str]) -> Optional["Bookmark"]:
        """
        Read a XEP-0402 item.

        @return: the bookmark, or L{None} if the payload is no
            C{<conference/>}.
        """
        if payload is None:
            return None
        conference = parseStanza(payload)
        if (conference.uri, conference.name) != (NS_BOOKMARKS, "conference"):
            return None
        extensions = ()
        for element in conference.elements(NS_BOOKMARKS, "extensions"):
            extensions = tuple(child.toXml() for child in element.elements())
        return cls(
            room=itemIdentifier,
            name=conference.getAttribute("name"),
            autojoin=conference.getAttribute("autojoin"),
            nick=_text(conference, NS_BOOKMARKS, "nick"),
            password=_text(conference, NS_BOOKMARKS, "password"),
            extensions=extensions,
        )

    def _render(self, uri: str) -> domish.Element:
        conference = domish.Element((uri, "conference"))
        if uri == NS_LEGACY:
            conference["jid"] = self.room
        if self.name is not None:
            conference["name"] = self.name
        if self.autojoin is not None:
            conference["autojoin"] = self.autojoin
        if self.nick is not None:
            conference.addElement("nick", content=self.nick)
        if self.password is not None:
            conference.addElement("password", content=self.password)
        if self.extensions:
            parent = conference if uri == NS_LEGACY else conference.addElement("extensions")
            for extension in self.extensions:
                parent.addChild(parseStanza(extension))
        return conference

    def toLegacy(self) -> domish.Element:
        """
        @return: the XEP-0048 C{<conference/>}.
        """
        return self._render(NS_LEGACY)

    def toPayload(self) -> str:
        """
        @return: the XEP-0402 C{<conference/>} as XML text.
        """
        return self._render(NS_BOOKMARKS).toXml()


def _autojoin(value: Optional[str]) -> bool:
    return value in ("true", "1")


def _needsOptions(config: NodeConfig) -> bool:
    """
    @return: whether a node's configuration differs from XEP-0402's.
    """
    return any(
        config.get(var) != NodeConfig.parse(var, value) for var, value in BOOKMARK_OPTIONS.items()
    )


@implementer(IPrivateData)
class LegacyBookmarks:
    """
    C{storage:bookmarks} in private XML, computed from and written to the
    account's C{urn:xmpp:bookmarks:1} PEP node.

    @ivar pep: the client domain's L{mepserver.pep.resource.PEPResource}.
    """

    namespace = NS_LEGACY
    name = "storage"
    accountFeatures = (FEATURE_COMPAT,)

    def __init__(self, pep) -> None:
        self.pep = pep

    def getPrivate(self, owner: jid.JID) -> defer.Deferred:
        return defer.ensureDeferred(self._get(owner))

    async def _get(self, owner: jid.JID) -> domish.Element:
        service, _ = await self.pep.ownService(owner)
        storage = domish.Element((NS_LEGACY, "storage"))
        node = service.nodes.get(NS_BOOKMARKS)
        for item in node.items.values() if node is not None else ():
            bookmark = Bookmark.fromItem(item.id, item.payload)
            if bookmark is not None:
                storage.addChild(bookmark.toLegacy())
        return storage

    def setPrivate(self, sender: jid.JID, element: domish.Element) -> defer.Deferred:
        return defer.ensureDeferred(self._set(sender, element))

    async def _set(self, sender: jid.JID, storage: domish.Element) -> None:
        wanted: Dict[str, Bookmark] = OrderedDict()
        for conference in storage.elements(NS_LEGACY, "conference"):
            bookmark = Bookmark.fromLegacy(conference)
            wanted.pop(bookmark.room, None)
            wanted[bookmark.room] = bookmark
        owner = sender.userhostJID()
        service, context = await self.pep.ownService(owner)
        # From here to the writes, the model changes in one go, so that no
        # other request sees half of this set.
        node = service.nodes.get(NS_BOOKMARKS)
        reconfiguration = None
        current: Dict[str, Optional[Bookmark]] = {}
        if node is not None:
            if _needsOptions(node.config):
                reconfiguration = service.reconfigure(
                    context, owner, NS_BOOKMARKS, BOOKMARK_OPTIONS
                )
            current = {i.id: Bookmark.fromItem(i.id, i.payload) for i in node.items.values()}
        publications = []
        for room, bookmark in wanted.items():
            old = current.get(room)
            if old is not None and not bookmark.extensions and old.extensions:
                bookmark = dataclasses.replace(bookmark, extensions=old.extensions)
            if old is not None and bookmark.sameAs(old):
                # XEP-0402 section 5.2: no notification for unchanged items.
                continue
            publications.append(
                service.publish(
                    context, sender, NS_BOOKMARKS, bookmark.toPayload(), room, BOOKMARK_OPTIONS
                )
            )
        gone = [room for room in current if room not in wanted]
        retraction = None
        if gone:
            retraction = service.retract(context, sender, NS_BOOKMARKS, gone)
        if reconfiguration is not None:
            await self.pep.reconfigured(service, reconfiguration)
        for publication in publications:
            await self.pep.published(service, publication)
        if retraction is not None:
            await self.pep.retracted(service, retraction)
