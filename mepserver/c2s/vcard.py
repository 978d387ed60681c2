# -*- test-case-name: tests.test_vcard -*-
"""
vCards of the client domain's accounts (XEP-0054) and the avatar hash in
their presence (XEP-0153, as XEP-0398 section 4 has servers add it).

  - L{VCardHandler}: one's own vCard, get and set (XEP-0054 sections 3.1
    and 3.2), another account's vCard (section 3.3), answered by the server
    for the account; C{vcard-temp} in the server's disco#info (section 4).
  - L{photoHash}: the SHA-1 of a vCard's PHOTO (XEP-0153 section 3.1).
  - L{PhotoHashes}: the hash of each account's current PHOTO, loaded from
    the L{mepserver.interfaces.IUserStore} on first need, so that presence
    is stamped synchronously afterwards.
  - L{stampPresence}: the C{<x xmlns='vcard-temp:x:update'/>} rules of
    XEP-0398 section 4 on one available presence.
  - L{avatarPhoto} and L{withPhoto}: XEP-0398 section 3, a XEP-0084 avatar
    published to PEP becomes the vCard's PHOTO (TYPE and BINVAL), so that
    vCard-only clients see it; C{urn:xmpp:pep-vcard-conversion:0} on the
    account's disco#info (section 2).

Where the specifications leave room (README.rst, "Behaviour notes"):

  - Anyone may read an account's vCard (XEP-0054 section 7: vCards are
    world-readable; Prosody and ejabberd answer anyone), except whom the
    account blocks (XEP-0191, which refuses their IQs before this handler).
  - One's own missing vCard is an empty C{<vCard/>} result (section 3.1
    allows it beside C{item-not-found}; Prosody's mod_vcard_legacy and
    ejabberd answer so, and clients then offer to fill it in). Another
    account's missing vCard, and an unknown account, are
    C{service-unavailable}, the one answer section 3.3 (version 1.3)
    requires, so that vCards do not reveal which accounts exist.
  - A vCard larger than C{[c2s] vcard_max_size} bytes (serialized) is
    refused with C{not-acceptable} and a text saying the limit.
  - The hash follows the vCard: when an account's PHOTO changes, each of
    its available sessions broadcasts its presence again with the new
    hash, as ejabberd's mod_vcard_xupdate does, so that contacts see the
    new avatar without waiting for the client. Directed presence (room
    joins) is not sent again (XEP-0398 section 5: the client may resend).
  - PEP to vCard (XEP-0398 section 3) only when the avatar data node's
    access model is C{open} (section 8's SHOULD: a vCard is world-readable,
    and a semi-anonymous room would otherwise show a contacts-only avatar
    to strangers), from the first C{<info/>} without a C{url} whose data
    item is there and whose SHA-1 is its id; metadata without any
    C{<info/>} (XEP-0084 section 4.5, avatar disabled) removes the PHOTO.
    The rest of the vCard is kept. A vCard that would exceed the size
    limit is left as it was.
  - vCard to PEP, optional in XEP-0398 section 3, is not done: a client
    that sets a vCard PHOTO is seen by vCard readers and in the presence
    hash; PEP-only readers do not see it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Dict, List, Optional, Tuple

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import failure
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel import disco
from wokkel.iwokkel import IDisco
from zope.interface import implementer

from mepserver import errors
from mepserver.c2s.base import AccountHandler
from mepserver.interfaces import IAccountObserver, IOutboundFilter, IPEPObserver
from mepserver.namespaces import NS_VCARD
from mepserver.pubsub.model import AccessModel
from mepserver.stanza import copyStanza, parseStanza

log = Logger()

NS_VCARD_UPDATE = "vcard-temp:x:update"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_AVATAR_METADATA = "urn:xmpp:avatar:metadata"
NS_CONVERSION = "urn:xmpp:pep-vcard-conversion:0"
VCARD_GET = f"/iq[@type='get']/vCard[@xmlns='{NS_VCARD}']"
VCARD_SET = f"/iq[@type='set']/vCard[@xmlns='{NS_VCARD}']"

#: What another account's missing vCard and an unknown account both get
#: (XEP-0054 section 3.3): the same words, so that they cannot be told apart.
NO_VCARD_TEXT = "no vCard is available at this address"


def emptyVCard() -> domish.Element:
    """
    @return: an empty C{<vCard xmlns='vcard-temp'/>}.
    """
    return domish.Element((NS_VCARD, "vCard"))


def photoData(vcard: domish.Element) -> Optional[bytes]:
    """
    The image of a vCard's PHOTO (XEP-0153 section 3.1).

    @return: the decoded BINVAL of its first PHOTO, or L{None} if it has
        no PHOTO with a non-empty BINVAL (an EXTVAL has no image here).
    @raise errors.BadRequest: the BINVAL is not base64 (XEP-0153 section
        5.5; whitespace is ignored, as that section says).
    """
    photo = next(vcard.elements(NS_VCARD, "PHOTO"), None)
    if photo is None:
        return None
    binval = next(photo.elements(NS_VCARD, "BINVAL"), None)
    if binval is None:
        return None
    text = "".join(str(binval).split())
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest("the BINVAL of the vCard's PHOTO is not base64")


def photoHash(vcard: Optional[domish.Element]) -> str:
    """
    The hash XEP-0153 section 3.1 advertises for a vCard.

    @return: the SHA-1 of the PHOTO's image in lower-case hex (section
        3.1: the form in use), or C{""} for none (or an undecodable one).
    """
    if vcard is None:
        return ""
    try:
        data = photoData(vcard)
    except errors.BadRequest:
        return ""
    return "" if data is None else hashlib.sha1(data).hexdigest()


def stampPresence(presence: domish.Element, photo: str) -> None:
    """
    Give available presence the account's avatar hash (XEP-0398 section 4).

    Without an update element, or with one that has no C{<photo/>}, the
    presence gets C{<x xmlns='vcard-temp:x:update'><photo>HASH</photo></x>}
    (an empty C{<photo/>} when the vCard has no PHOTO: XEP-0153 section
    4.1, "no avatar"). A client's empty C{<photo/>} stays (section 4: it
    must not be overwritten). A client's hash that differs from the
    vCard's is replaced, as section 4 allows and Prosody does: the stored
    vCard is what a contact will download.
    """
    update = next(presence.elements(NS_VCARD_UPDATE, "x"), None)
    if update is not None:
        current = next(update.elements(NS_VCARD_UPDATE, "photo"), None)
        if current is not None:
            text = str(current).strip().lower()
            if not text or text == photo:
                return
        presence.children.remove(update)
    update = presence.addElement((NS_VCARD_UPDATE, "x"))
    element = update.addElement("photo")
    if photo:
        element.addContent(photo)


class _NoChange(Exception):
    """
    A publication that leaves the vCard as it is.
    """


def avatarPhoto(service) -> Optional[Tuple[str, str]]:
    """
    The vCard PHOTO that an account's current XEP-0084 avatar makes
    (XEP-0398 section 3).

    @param service: the account's PEP L{mepserver.pubsub.model.Service},
        with a metadata item just published.
    @return: the PHOTO's TYPE and BINVAL, or L{None} to remove the PHOTO
        (metadata without C{<info/>}: XEP-0084 section 4.5).
    @raise _NoChange: nothing to copy: no image this server holds, a data
        node that is not open, or data whose SHA-1 is not the id.
    """
    metadataNode = service.nodes.get(NS_AVATAR_METADATA)
    last = metadataNode.lastItem() if metadataNode is not None else None
    if last is None or last.payload is None:
        raise _NoChange()
    metadata = parseStanza(last.payload)
    infos = list(metadata.elements(NS_AVATAR_METADATA, "info"))
    if not infos:
        return None
    local = [info for info in infos if not info.getAttribute("url")]
    dataNode = service.nodes.get(NS_AVATAR_DATA)
    if not local or dataNode is None or dataNode.config.accessModel != AccessModel.OPEN:
        raise _NoChange()
    info = local[0]
    item = dataNode.items.get(info.getAttribute("id", ""))
    if item is None or item.payload is None:
        raise _NoChange()
    binval = "".join(str(parseStanza(item.payload)).split())
    try:
        image = base64.b64decode(binval, validate=True)
    except (binascii.Error, ValueError):
        raise _NoChange()
    if hashlib.sha1(image).hexdigest() != info["id"].lower():
        raise _NoChange()
    return info.getAttribute("type", "image/png"), binval


def withPhoto(stored: Optional[str], photo: Optional[Tuple[str, str]]) -> domish.Element:
    """
    @return: the vCard C{stored} (an empty one if L{None}) with its PHOTO
        replaced by C{photo} (TYPE, BINVAL), or removed for L{None}.
    """
    vcard = emptyVCard() if stored is None else parseStanza(stored)
    vcard.children = [
        child
        for child in vcard.children
        if not (isinstance(child, domish.Element) and child.name == "PHOTO")
    ]
    if photo is not None:
        element = vcard.addElement("PHOTO")
        element.addElement("TYPE", content=photo[0])
        element.addElement("BINVAL", content=photo[1])
    return vcard


def _isAvailable(stanza: domish.Element) -> bool:
    return stanza.name == "presence" and stanza.getAttribute("type") is None


class PhotoHashes:
    """
    The avatar hash of each account's vCard (C{""} for none), loaded on
    first need and kept up to date by L{VCardHandler}.

    Loads do not take the account's lock (L{mepserver.c2s.sessions.AccountLocks}):
    a presence waiting for its hash behind a roster change or an offline
    store would let the stanzas queued after that change overtake it.
    A vCard set while a load waits is newer, and is kept.

    @ivar users: the L{mepserver.interfaces.IUserStore}.
    """

    def __init__(self, users) -> None:
        self.users = users
        self._hashes: Dict[str, str] = {}
        self._loading: Dict[str, List[defer.Deferred]] = {}

    def reset(self) -> None:
        """
        Forget every hash (the server's reset).
        """
        self._hashes.clear()

    def forget(self, username: str) -> None:
        """
        Forget the account's hash (the account is removed).
        """
        self._hashes.pop(username, None)

    def get(self, username: str) -> Optional[str]:
        """
        @return: the account's hash, or L{None} if it is not loaded.
        """
        return self._hashes.get(username)

    def set(self, username: str, photo: str) -> None:
        """
        Record the account's hash, once the store has its vCard.
        """
        self._hashes[username] = photo

    def loading(self, username: str) -> bool:
        """
        @return: whether the account's hash is being loaded.
        """
        return username in self._loading

    def load(self, username: str) -> defer.Deferred:
        """
        Load the account's hash if it is not loaded yet.

        @return: a Deferred that fires (at once if it is loaded) with the
            hash; callers waiting for one account are called back in the
            order they asked. It never fails: a vCard that cannot be read
            is logged and counts as none, without being kept.
        """
        if username in self._hashes:
            return defer.succeed(self._hashes[username])
        d: defer.Deferred = defer.Deferred()
        waiters = self._loading.get(username)
        if waiters is not None:
            waiters.append(d)
            return d
        self._loading[username] = [d]
        self.users.getVCard(username).addBoth(self._loaded, username)
        return d

    def _loaded(self, result, username: str) -> None:
        waiters = self._loading.pop(username, [])
        if isinstance(result, failure.Failure):
            log.failure("Loading the vCard of {username}", result, username=username)
            photo = self._hashes.get(username, "")
        else:
            photo = "" if result is None else photoHash(parseStanza(result))
            # A vCard set while this load waited is newer.
            photo = self._hashes.setdefault(username, photo)
        for d in waiters:
            d.callback(photo)


@implementer(IDisco, IOutboundFilter, IPEPObserver, IAccountObserver)
class VCardHandler(AccountHandler):
    """
    vcard-temp (XEP-0054) on the client domain, and the avatar hash in the
    presence of its accounts (XEP-0153, XEP-0398 section 4).

    Observes IQ get and set with C{<vCard xmlns='vcard-temp'/>} addressed
    to an account's bare JID (a client's request without C{to} is its
    own). Registered with the L{mepserver.c2s.sessions.SessionManager} as
    an L{mepserver.interfaces.IOutboundFilter}, it stamps the available
    presence clients send, broadcast or directed, with the account's
    avatar hash (L{stampPresence}). As an
    L{mepserver.interfaces.IPEPObserver}, it copies an account's XEP-0084
    avatar into its vCard (XEP-0398 section 3).

    Errors returned: C{service-unavailable} for another account's vCard
    when it has none or does not exist (section 3.3); C{forbidden} for a
    set of another account's vCard (section 3.2); C{not-acceptable} for a
    vCard larger than the limit; C{bad-request} for a PHOTO whose BINVAL
    is not base64.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar maxSize: the largest vCard a client may set, in bytes of XML.
    @ivar hashes: the L{PhotoHashes}.
    """

    def __init__(self, sessions, users, maxSize: int) -> None:
        """
        Make the handler and register it with C{sessions} as a filter of
        what clients send.
        """
        AccountHandler.__init__(self)
        self.sessions = sessions
        self.users = users
        self.maxSize = maxSize
        self.hashes = PhotoHashes(users)
        sessions.filterOutboundWith(self)

    def connectionInitialized(self):
        self.xmlstream.addObserver(VCARD_GET, self.onGet)
        self.xmlstream.addObserver(VCARD_SET, self.onSet)

    def reset(self) -> None:
        """
        Forget the loaded hashes (L{mepserver.server.Server.reset}).
        """
        self.hashes.reset()

    def accountRemoved(self, username):
        """
        An account is removed (L{IAccountObserver}): forget its avatar
        hash, since the store removes its vCard with the account.
        """
        self.hashes.forget(username)

    # Service discovery (XEP-0054 section 4).

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        """
        The server lists C{vcard-temp}, as in section 4's example and as
        Prosody and ejabberd do; an account's bare JID lists
        C{urn:xmpp:pep-vcard-conversion:0} (XEP-0398 section 2).
        """
        if nodeIdentifier or target.resource is not None:
            return defer.succeed([])
        if target.user is not None:
            return defer.succeed([disco.DiscoFeature(NS_CONVERSION)])
        return defer.succeed([disco.DiscoFeature(NS_VCARD)])

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])

    # The vCard (sections 3.1 to 3.3).

    @staticmethod
    def _addresses(iq):
        """
        @return: the sender and the addressed account's bare JID, or
            L{None} if C{iq} is not addressed to an account's bare JID (the
            domain's vCard, and a full JID's, are not the account's).
        """
        try:
            sender = jid.internJID(iq["from"])
            to = jid.internJID(iq["to"])
        except (KeyError, jid.InvalidFormat):
            return None
        if to.user is None or to.resource is not None:
            return None
        return sender, to

    def onGet(self, iq):
        """
        Sections 3.1 and 3.3: the addressed account's vCard.
        """
        addresses = self._addresses(iq)
        if addresses is None or iq.handled:
            # Refused already (a blocked requester, XEP-0191).
            return
        iq.handled = True
        sender, to = addresses
        own = sender.userhostJID() == to
        d = self.users.getVCard(to.user)

        def answer(text):
            if text is not None:
                return parseStanza(text)
            if own:
                return emptyVCard()
            raise errors.ServiceUnavailable(NO_VCARD_TEXT)

        self._answer(iq, d.addCallback(answer))

    def onSet(self, iq):
        """
        Section 3.2: replace one's own vCard, under the account's lock; a
        changed PHOTO sends the account's presence again.
        """
        addresses = self._addresses(iq)
        if addresses is None or iq.handled:
            # Refused already (a blocked requester, XEP-0191).
            return
        iq.handled = True
        sender, to = addresses
        if sender.userhostJID() != to:
            refusal = errors.Forbidden("only the account itself may set its vCard")
            self.send(errors.stanzaError(refusal).toResponse(iq))
            return
        d = defer.maybeDeferred(self._check, iq.firstChildElement())
        d.addCallback(
            lambda args: self.sessions.locks.run(to.user, self._store, to.user, *args)
        )
        changed = []
        d.addCallback(changed.append)
        self._answer(iq, d).addCallback(
            lambda _: self.rebroadcast(to.user) if changed and changed[0] else None
        )

    def _check(self, vcard: domish.Element):
        """
        @return: the vCard's XML text and its PHOTO's hash.
        @raise errors.NotAcceptable: it is larger than L{maxSize}.
        @raise errors.BadRequest: its BINVAL is not base64.
        """
        text = vcard.toXml()
        size = len(text.encode("utf-8"))
        if size > self.maxSize:
            raise errors.NotAcceptable(
                f"the vCard is {size} bytes; this server keeps at most "
                f"{self.maxSize} ([c2s] vcard_max_size)"
            )
        data = photoData(vcard)
        return text, "" if data is None else hashlib.sha1(data).hexdigest()

    @defer.inlineCallbacks
    def _store(self, username: str, text: str, photo: str):
        """
        Store the vCard and record its hash; runs under the account's lock.

        @return: a Deferred firing with whether the hash changed.
        """
        old = self.hashes.get(username)
        if old is None:
            stored = yield self.users.getVCard(username)
            old = "" if stored is None else photoHash(parseStanza(stored))
        yield self.users.setVCard(username, text)
        self.hashes.set(username, photo)
        return old != photo

    def _answer(self, iq, d):
        """
        Answer C{iq} from the outcome of C{d}: a refusal becomes its stanza
        error, an element the result's child.
        """
        return errors.answerIQ(iq, d).addCallback(self.send)

    # The PEP avatar in the vCard (XEP-0398 section 3).

    def itemPublished(self, service, node, item):
        """
        A metadata publication copies the avatar into the vCard, under the
        account's lock; a changed PHOTO sends the account's presence again.
        """
        if node.identifier != NS_AVATAR_METADATA or service.jid.user is None:
            return
        try:
            photo = avatarPhoto(service)
        except _NoChange:
            return
        username = service.jid.user
        d = self.sessions.locks.run(username, self._convert, username, photo)

        def done(changed):
            if changed:
                self.rebroadcast(username)

        d.addCallback(done)
        d.addErrback(
            lambda f: log.failure("Copying the avatar of {user} to its vCard", f, user=username)
        )

    @defer.inlineCallbacks
    def _convert(self, username: str, photo):
        """
        Put C{photo} into the account's vCard; runs under its lock.

        @return: a Deferred firing with whether the hash changed.
        """
        stored = yield self.users.getVCard(username)
        vcard = withPhoto(stored, photo)
        try:
            text, newHash = self._check(vcard)
        except errors.Refusal as refusal:
            log.warn("Not copying the avatar of {user}: {why}", user=username, why=refusal.text)
            return False
        old = "" if stored is None else photoHash(parseStanza(stored))
        yield self.users.setVCard(username, text)
        self.hashes.set(username, newHash)
        return old != newHash

    # The avatar hash in presence (XEP-0153, XEP-0398 section 4).

    def outbound(self, session, stanza, proceed):
        """
        Stamp a client's available presence with its account's avatar hash,
        once loaded; hold the account's other stanzas meanwhile, so that
        they keep their order.
        """
        username = session.jid.user
        if not (_isAvailable(stanza) or self.hashes.loading(username)):
            return proceed()
        photo = self.hashes.get(username)
        if photo is not None:
            # Known: stamped now, as load() would at once, without a
            # Deferred (issue 16: every room join passes here).
            stampPresence(stanza, photo)
            return proceed()
        d = self.hashes.load(username)

        def stamp(photo):
            if _isAvailable(stanza):
                stampPresence(stanza, photo)
            proceed()

        d.addCallback(stamp)

    def rebroadcast(self, username: str) -> None:
        """
        Send the available presence of each of the account's sessions
        again, with the account's current hash (ejabberd's behaviour: the
        contacts learn of the new avatar at once).
        """
        photo = self.hashes.get(username)
        presence = self.sessions.presence
        if photo is None or presence is None:
            return
        for session in self.sessions.sessionsOf(username):
            if not session.available or session.presence is None:
                continue
            update = copyStanza(session.presence)
            _replaceUpdate(update, photo)
            presence.broadcast(session, update)


def _replaceUpdate(presence: domish.Element, photo: str) -> None:
    """
    Give a copy of a session's presence the hash C{photo}, whatever its
    update element said.
    """
    presence.children = [
        child
        for child in presence.children
        if not (
            isinstance(child, domish.Element)
            and (child.uri, child.name) == (NS_VCARD_UPDATE, "x")
        )
    ]
    stampPresence(presence, photo)
