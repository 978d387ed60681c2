# -*- test-case-name: tests.test_blocking -*-
"""
The Blocking Command (XEP-0191) for the client domain's accounts.

  - L{BlockList}: one account's blocked JIDs and the matching of XEP-0191
    section 5 (the order of XEP-0016 section 2.1: full JID, bare JID,
    domain/resource, domain), plain Python.
  - L{BlockLists}: the block lists of the accounts the server has seen,
    loaded from the L{mepserver.interfaces.IUserStore} on first need, so
    that routing decides synchronously afterwards.
  - L{BlockingHandler}: discovery (section 2), the block list (section
    3.2), block (3.3), unblock (3.4) and unblock all (3.5) with pushes to
    interested resources; what a blocked entity sends an account (section
    3.3: dropped, or answered with C{service-unavailable}); what an account
    sends a JID it blocks (C{not-acceptable} with C{<blocked/>}); and the
    presence a block or an unblock sends.
"""

from __future__ import annotations

import weakref
from typing import Callable, Dict, Iterable, List, Mapping, Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel import disco
from wokkel.iwokkel import IDisco
from zope.interface import implementer

from mepserver import errors
from mepserver.c2s.base import AccountHandler
from mepserver.c2s.roster import makePresence
from mepserver.c2s.sessions import bounce
from mepserver.interfaces import IAccountObserver, IOutboundFilter
from mepserver.jids import parseJID
from mepserver.namespaces import NS_CLIENT
from mepserver.stanza import copyStanza

log = Logger()

NS_BLOCKING = "urn:xmpp:blocking"
NS_BLOCKING_ERRORS = "urn:xmpp:blocking:errors"
BLOCKLIST_GET = f"/iq[@type='get']/blocklist[@xmlns='{NS_BLOCKING}']"
BLOCK_SET = f"/iq[@type='set']/block[@xmlns='{NS_BLOCKING}']"
UNBLOCK_SET = f"/iq[@type='set']/unblock[@xmlns='{NS_BLOCKING}']"

#: What a blocked entity's refused stanza says: the account appears
#: unavailable (section 3.3), so the text does not mention the block.
UNAVAILABLE_TEXT = "the recipient is not available"


class BlockList:
    """
    The JIDs one account blocks, and which entities they match.

    An item is a full JID, a bare JID, a domain/resource or a domain, kept
    as given (prepared). XEP-0191 section 5, after XEP-0016 section 2.1:
    C{user@domain/resource} matches that resource only, C{user@domain} any
    resource of it, C{domain/resource} that resource of the domain or of
    any user at it, C{domain} the domain and everything at it.
    """

    def __init__(self, entities: Iterable[jid.JID] = ()) -> None:
        self._items: Dict[str, jid.JID] = {}
        self.add(entities)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, entity: jid.JID) -> bool:
        """
        @return: whether C{entity} is itself an item.
        """
        return entity.full() in self._items

    def items(self) -> List[jid.JID]:
        """
        @return: the items, sorted by their text.
        """
        return [self._items[key] for key in sorted(self._items)]

    def add(self, entities: Iterable[jid.JID]) -> None:
        for entity in entities:
            self._items[entity.full()] = entity

    def remove(self, entities: Iterable[jid.JID]) -> None:
        for entity in entities:
            self._items.pop(entity.full(), None)

    def copy(self) -> "BlockList":
        return BlockList(self._items.values())

    def matches(self, entity: jid.JID) -> bool:
        """
        @return: whether an item matches C{entity} (section 5).
        """
        if not self._items:
            return False
        items = self._items
        if entity.full() in items or entity.host in items:
            return True
        if entity.user is not None and entity.userhost() in items:
            return True
        return (
            entity.resource is not None
            and f"{entity.host}/{entity.resource}" in items
        )


class BlockLists:
    """
    The block lists of the client domain's accounts, loaded on first need.

    Routing asks L{blocks} synchronously; L{load} first makes sure the
    lists it needs are here. A list is kept once loaded and changed with
    the store (L{set}); an address with no account has no list and is not
    kept.

    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar locks: the L{mepserver.c2s.sessions.AccountLocks} a list loads
        under, so that the account's store operations stay in order and a
        server that stops waits for the load and for the stanzas it held;
        L{None} to load without.
    """

    def __init__(self, users, locks=None) -> None:
        self.users = users
        self.locks = locks
        self._lists: Dict[str, BlockList] = {}
        self._loading: Dict[str, List[defer.Deferred]] = {}

    def reset(self) -> None:
        """
        Forget every loaded list (the server's reset).
        """
        self._lists.clear()

    def forget(self, username: str) -> None:
        """
        Forget the account's loaded list (the account is removed).
        """
        self._lists.pop(username, None)

    def get(self, username: str) -> Optional[BlockList]:
        """
        @return: the account's loaded list, or L{None} if it is not loaded.
        """
        return self._lists.get(username)

    @property
    def loaded(self) -> Mapping[str, BlockList]:
        """
        The loaded lists by username, read-only: what L{get} answers, for
        loops that ask of many accounts (issue 16).
        """
        return self._lists

    def set(self, username: str, blockList: BlockList) -> None:
        """
        Replace the account's list, once the store has it.
        """
        self._lists[username] = blockList

    def blocks(self, username: str, entity: jid.JID) -> bool:
        """
        @return: whether the account's loaded list matches C{entity};
            C{False} for a list not loaded.
        """
        blockList = self._lists.get(username)
        return blockList is not None and blockList.matches(entity)

    def load(self, usernames: Iterable[str]) -> defer.Deferred:
        """
        Load the lists of accounts not loaded yet.

        Callers waiting for one account are called back in the order they
        asked, so stanzas held meanwhile keep their order.

        @return: a Deferred that fires (at once if every list is loaded)
            when they are; it never fails: a list that cannot be read is
            logged and counts as empty, without being kept.
        """
        waiting = [self._loadOne(username) for username in set(usernames)]
        if not waiting:
            return defer.succeed(None)
        if len(waiting) == 1:
            return waiting[0]
        return defer.gatherResults(waiting).addCallback(lambda _: None)

    def _loadOne(self, username: str) -> defer.Deferred:
        if username in self._lists:
            return defer.succeed(None)
        d: defer.Deferred = defer.Deferred()
        waiters = self._loading.get(username)
        if waiters is not None:
            waiters.append(d)
            return d
        self._loading[username] = [d]

        def loadThenRelease():
            # The held stanzas go on before the lock is released, so that
            # whatever they start (a delivery, a store write) is in progress
            # for anyone who waits for the account's locks (shutdown).
            return self.users.getBlockList(username).addBoth(self._loaded, username)

        if self.locks is None:
            loadThenRelease()
        else:
            self.locks.run(username, loadThenRelease)
        return d

    def _loaded(self, result, username: str) -> None:
        waiters = self._loading.pop(username, [])
        if isinstance(result, list):
            self._lists[username] = BlockList(result)
        elif result is not None:
            log.failure("Loading the block list of {username}", result, username=username)
        for d in waiters:
            d.callback(None)


def parseItems(element: domish.Element) -> List[jid.JID]:
    """
    Read the C{<item jid='...'/>} children of a C{<block/>} or
    C{<unblock/>}.

    @return: the prepared JIDs, in order, each once.
    @raise errors.MalformedJID: an item without a C{jid}, or whose C{jid}
        is not a valid JID.
    """
    entities: Dict[str, jid.JID] = {}
    for item in element.elements(NS_BLOCKING, "item"):
        text = item.getAttribute("jid")
        if not text:
            raise errors.MalformedJID("an <item/> needs a 'jid' attribute")
        try:
            entity = parseJID(text)
        except jid.InvalidFormat as e:
            raise errors.MalformedJID(f"the item {text!r} is not a valid JID: {e}")
        entities.setdefault(entity.full(), entity)
    return list(entities.values())


def renderItems(name: str, entities: Iterable[jid.JID]) -> domish.Element:
    """
    A C{<blocklist/>}, C{<block/>} or C{<unblock/>} with an item per JID.
    """
    element = domish.Element((NS_BLOCKING, name))
    for entity in entities:
        element.addElement("item")["jid"] = entity.full()
    return element


@implementer(IDisco, IOutboundFilter, IAccountObserver)
class BlockingHandler(AccountHandler):
    """
    The Blocking Command (XEP-0191) on the client domain.

    Observes, before delivery, every stanza the router brings for an
    account: one from a JID the account blocks is dropped, except that an
    IQ get or set, and a chat or normal message from another account of
    this server, get C{service-unavailable} (section 3.3); one that the
    server sends on behalf of an account (presence broadcasts, PEP events)
    to a JID the account blocks is dropped. Registered with the
    L{mepserver.c2s.sessions.SessionManager} as its
    L{mepserver.interfaces.IOutboundFilter}, it refuses what a client sends
    to a JID it blocks with C{not-acceptable} and C{<blocked/>}; errors and
    IQ results to it are dropped.

    Observes IQ get with C{<blocklist/>} and IQ set with C{<block/>} or
    C{<unblock/>} addressed to an account's bare JID (a client's request
    without C{to}). Errors returned: C{service-unavailable} for a request
    from anyone but the account itself; C{bad-request} for a C{<block/>}
    without items; C{jid-malformed} for an item whose C{jid} is missing or
    not a JID.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar lists: the L{BlockLists}.
    """

    def __init__(self, sessions, users) -> None:
        """
        Make the handler and register it with C{sessions} as the filter of
        what clients send.
        """
        AccountHandler.__init__(self)
        self.sessions = sessions
        self.users = users
        self.lists = BlockLists(users, sessions.locks)
        # Section 3.3: pushes go to the resources that asked for the list.
        self._interested: "weakref.WeakSet" = weakref.WeakSet()
        sessions.filterOutboundWith(self)

    def connectionInitialized(self):
        # Before DeliveryHandler (10) and every handler that answers for
        # an account.
        self.xmlstream.addObserver("/*", self.onInbound, 20)
        self.xmlstream.addObserver(BLOCKLIST_GET, self.onBlockListRequest)
        self.xmlstream.addObserver(BLOCK_SET, self.onEditRequest)
        self.xmlstream.addObserver(UNBLOCK_SET, self.onEditRequest)

    def reset(self) -> None:
        """
        Forget the loaded block lists (L{mepserver.server.Server.reset}).
        """
        self.lists.reset()

    def accountRemoved(self, username):
        """
        An account is removed (L{IAccountObserver}): forget its loaded
        list, which the store removes with the account, so that a new
        account of that name blocks nobody.
        """
        self.lists.forget(username)

    # Service discovery (section 2).

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        """
        Section 2: the server (not an account's bare JID) lists
        C{urn:xmpp:blocking}, as Prosody and ejabberd do.
        """
        if target.user is not None or nodeIdentifier:
            return defer.succeed([])
        return defer.succeed([disco.DiscoFeature(NS_BLOCKING)])

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])

    # What arrives for an account (section 3.3).

    def onInbound(self, stanza):
        """
        A stanza arrived for the client domain: drop or refuse it if its
        recipient blocks its sender, or if it is sent on behalf of an
        account to a JID that account blocks.
        """
        if stanza.blockingChecked:
            return
        try:
            to = jid.internJID(stanza["to"])
            sender = jid.internJID(stanza["from"])
        except (KeyError, jid.InvalidFormat):
            return
        if to.user is None or (sender.user, sender.host) == (to.user, to.host):
            # The server itself, and an account's own resources (section 4
            # note: never blocked).
            return
        fromAccount = self._onBehalfOfAccount(stanza, sender)
        if fromAccount and self.lists.get(sender.user) is not None:
            # Decided now: the unavailable presence a block sends (section
            # 3.3) must pass, even if its recipient's list loads later.
            if self.lists.blocks(sender.user, to):
                stanza.handled = True
                return
            fromAccount = False
        if not fromAccount and self.lists.get(to.user) is not None:
            # Loaded: checked now, without a Deferred (issue 16).
            self._checkInbound(stanza, to, sender, False)
            return
        needed = [to.user, sender.user] if fromAccount else [to.user]
        d = self.lists.load(needed)
        if d.called:
            self._checkInbound(stanza, to, sender, fromAccount)
            return
        # Hold a copy until the lists are here, then dispatch it again.
        stanza.handled = True
        held = copyStanza(stanza)
        d.addCallback(lambda _: self._release(held, to, sender, fromAccount))

    def _onBehalfOfAccount(self, stanza, sender: jid.JID) -> bool:
        """
        Whether C{stanza} is sent on behalf of an account of the domain in a
        way its own block list applies to: what the server sends for an
        account to a JID it blocks is dropped, except errors (the refusals
        of L{_checkInbound}) and the unsubscriptions of a removed roster
        item, so that both rosters agree.
        """
        kind = stanza.getAttribute("type")
        return (
            sender.user is not None
            and sender.host == self.sessions.domain
            and kind != "error"
            and not (stanza.name == "presence" and kind in ("unsubscribe", "unsubscribed"))
        )

    def passesAtOnce(self, stanza) -> Optional[Callable[[jid.JID], bool]]:
        """
        For a stanza sent to many accounts of the domain (a broadcast:
        L{mepserver.c2s.sessions.DeliveryHandler.deliverMany}), what
        L{onInbound} would decide for each copy, with the sender's part
        worked out once.

        @return: L{None} if the copies need L{onInbound} itself; else a test
            of a recipient (a full or bare JID of an account): C{True} if
            L{onInbound} would let its copy pass at once, with the lists
            loaded and nothing blocked; C{False} if it would hold, drop or
            refuse it.
        """
        if stanza.blockingChecked:
            return None
        try:
            sender = jid.internJID(stanza["from"])
        except (KeyError, jid.InvalidFormat):
            return None
        fromAccount = self._onBehalfOfAccount(stanza, sender)
        # What the account itself blocks, decided first (onInbound); if
        # its list is not loaded, loading it is onInbound's work.
        senderList = None
        if fromAccount:
            senderList = self.lists.get(sender.user)
            if senderList is None:
                return None
        # Asked of every recipient: the sender's list only if it has
        # items, the recipients' from the mapping itself (issue 16).
        senderBlocks = senderList if senderList else None
        loaded = self.lists.loaded

        def passes(to: jid.JID) -> bool:
            if to.user == sender.user and to.host == sender.host:
                # An account's own resources (section 4 note).
                return True
            if senderBlocks is not None and senderBlocks.matches(to):
                return False
            recipientList = loaded.get(to.user)
            return recipientList is not None and not recipientList.matches(sender)

        return passes

    def _release(self, stanza, to, sender, fromAccount):
        if self._checkInbound(stanza, to, sender, fromAccount) or self.xmlstream is None:
            return
        stanza.blockingChecked = True
        self.xmlstream.dispatch(stanza)

    def _checkInbound(self, stanza, to, sender, fromAccount) -> bool:
        """
        @return: whether the stanza was dropped or refused.
        """
        if fromAccount and self.lists.blocks(sender.user, to):
            stanza.handled = True
            return True
        if not self.lists.blocks(to.user, sender):
            return False
        stanza.handled = True
        kind = stanza.getAttribute("type")
        if stanza.name == "iq":
            refuse = kind in ("get", "set")
        elif stanza.name == "message":
            # Messages from room occupants are dropped: an error answering
            # a private message counts as a ghost's and would remove the
            # user from the room (XEP-0045 section 18.1.2).
            refuse = kind in (None, "normal", "chat") and (
                sender.user is not None and sender.host == self.sessions.domain
            )
        else:
            refuse = False
        if refuse:
            self.send(bounce(stanza, "service-unavailable", UNAVAILABLE_TEXT))
        return True

    # What a client sends (section 3.3).

    def outbound(self, session, stanza, proceed):
        """
        Refuse a client's stanza to a JID its account blocks; otherwise
        call C{proceed}, once the account's list is loaded.
        """
        blockList = self.lists.get(session.jid.user)
        if blockList is not None:
            # Loaded: as load() would call back at once, without a Deferred.
            # An empty list refuses nothing (issue 16: every stanza a client
            # sends passes here).
            if blockList:
                self._checkOutbound(session, stanza, proceed)
            else:
                proceed()
            return
        d = self.lists.load([session.jid.user])
        if d.called:
            self._checkOutbound(session, stanza, proceed)
        else:
            d.addCallback(lambda _: self._checkOutbound(session, stanza, proceed))

    def _checkOutbound(self, session, stanza, proceed):
        to = stanza.getAttribute("to")
        if to is None:
            return proceed()
        target = jid.internJID(to)
        if target.userhost() == session.jid.userhost() or not self.lists.blocks(
            session.jid.user, target
        ):
            return proceed()
        kind = stanza.getAttribute("type")
        if kind == "error" or (stanza.name == "iq" and kind == "result"):
            return None
        refusal = errors.Blocked(
            f"you block {target.full()}: unblock it to communicate (XEP-0191)"
        )
        session.send(errors.stanzaError(refusal).toResponse(stanza))
        return None

    # The block list (sections 3.2 to 3.5).

    def _owner(self, iq) -> jid.JID:
        """
        @return: the full JID of the account's session that sent C{iq}.
        @raise errors.ServiceUnavailable: the request is not the account's
            own.
        """
        sender = jid.internJID(iq["from"])
        to = jid.internJID(iq["to"])
        if (
            sender.user is None
            or sender.host != self.sessions.domain
            or sender.userhostJID() != to
        ):
            raise errors.ServiceUnavailable(
                "only the account itself may use its block list"
            )
        return sender

    def _answer(self, iq, d):
        """
        Answer C{iq} from the outcome of C{d}: a refusal becomes its stanza
        error, an element the result's child.
        """
        return errors.answerIQ(iq, d).addCallback(self.reply, iq)

    def onBlockListRequest(self, iq):
        """
        Section 3.2: the block list; the session becomes interested in
        pushes.
        """
        iq.handled = True
        self._answer(iq, defer.maybeDeferred(self._blockList, iq))

    @defer.inlineCallbacks
    def _blockList(self, iq):
        sender = self._owner(iq)
        yield self.lists.load([sender.user])
        session = self.sessions.session(sender)
        if session is not None:
            self._interested.add(session)
        blockList = self.lists.get(sender.user) or BlockList()
        return renderItems("blocklist", blockList.items())

    def onEditRequest(self, iq):
        """
        Sections 3.3 to 3.5: block, unblock or unblock all, under the
        account's lock (they change pending subscriptions too).
        """
        iq.handled = True
        d = defer.maybeDeferred(self._owner, iq)
        d.addCallback(
            lambda sender: self.sessions.locks.run(sender.user, self._edit, iq, sender)
        )
        # Section 3.3: the pushes follow the requester's result.
        pushes = []
        d.addCallback(pushes.append)
        self._answer(iq, d).addCallback(lambda _: [push() for push in pushes])

    @defer.inlineCallbacks
    def _edit(self, iq, sender):
        command = iq.firstChildElement()
        entities = parseItems(command)
        username = sender.user
        yield self.lists.load([username])
        old = self.lists.get(username) or BlockList()
        if command.name == "block":
            if not entities:
                raise errors.BadRequest("a <block/> needs at least one <item/>")
            push = yield self._block(sender, old, entities)
        else:
            push = yield self._unblock(sender, old, entities)
        return push

    @defer.inlineCallbacks
    def _block(self, sender, old, entities):
        username = sender.user
        yield self.users.blockJIDs(username, entities)
        new = old.copy()
        new.add(entities)
        added = BlockList(e for e in entities if e not in old)
        roster = yield self.users.getRoster(username)
        pending = yield self.users.getPendingSubscriptions(username)
        # A blocked contact's request could be neither delivered nor
        # answered: it goes, as in Prosody.
        for contact in pending:
            if added.matches(contact):
                yield self.users.removePendingSubscription(username, contact)
        # Section 3.3: unavailable presence to whoever could see the
        # account's presence: subscribed contacts and directed presence
        # targets. Sent before the list changes, which would drop it.
        subscribed = [
            item.contact
            for item in roster
            if item.sharesPresence and added.matches(item.contact)
        ]
        for session in self.sessions.sessionsOf(username):
            targets = set(subscribed) if session.available else set()
            directed = {t for t in session.directed if added.matches(t)}
            session.directed -= directed
            for target in sorted(targets | directed, key=lambda j: j.full()):
                self.send(makePresence(session.jid, target, "unavailable"))
        self.lists.set(username, new)
        return self._push(sender, "block", entities)

    @defer.inlineCallbacks
    def _unblock(self, sender, old, entities):
        username = sender.user
        if entities:
            yield self.users.unblockJIDs(username, entities)
            removed = BlockList(e for e in entities if e in old)
            new = old.copy()
            new.remove(entities)
        else:
            yield self.users.unblockAll(username)
            removed, new = old, BlockList()
        roster = yield self.users.getRoster(username)
        self.lists.set(username, new)
        # Section 3.4: the account's current presence to contacts who may
        # see it again.
        contacts = [
            item.contact
            for item in roster
            if item.sharesPresence
            and removed.matches(item.contact)
            and not new.matches(item.contact)
        ]
        for session in self.sessions.sessionsOf(username):
            if session.available and session.presence is not None:
                for contact in contacts:
                    self.send(copyStanza(session.presence, to=contact.full()))
        return self._push(sender, "unblock", entities)

    def _push(self, sender, name, entities):
        """
        @return: a callable that pushes the change to every resource that
            asked for the list (section 3.3).
        """

        def push():
            for session in self.sessions.sessionsOf(sender.user):
                if session not in self._interested:
                    continue
                iq = domish.Element((NS_CLIENT, "iq"))
                iq["type"] = "set"
                iq["id"] = self.sessions.ids.newId("push-")
                iq["from"] = session.jid.userhost()
                iq["to"] = session.jid.full()
                iq.addChild(renderItems(name, entities))
                session.send(iq)

        return push
