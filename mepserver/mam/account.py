# -*- test-case-name: tests.test_mam_account -*-
"""
The message archive of each account of the client domain (XEP-0313), with
XEP-0441 preferences and XEP-0359 stanza-ids.

Which messages go in (section 7.1.1, and what Prosody's mod_mam stores,
L{isArchivable}): messages of type C{chat} or C{normal} with a C{<body/>}
or C{<subject/>}, XEP-0184 receipts, XEP-0333 chat markers, invitations
(XEP-0249, XEP-0045 section 7.8), XEP-0353 call messages or XEP-0380
encryption, and any with XEP-0334's C{<store/>}; never errors, headlines
or groupchat messages (the room keeps those), nor any with C{<no-store/>}
or C{<no-permanent-store/>}. XEP-0085 chat states are left out of the
stored copy (as Prosody's C{dont_archive_namespaces}).

Each archive holds a message once, however many sessions get it (section
7.1.1: carbons and forking do not multiply it):

  - outgoing, in the sender's archive with the recipient (C{to}) as the
    other party, when a session sends it (L{AccountArchiveHandler.outbound},
    an L{mepserver.interfaces.IOutboundFilter} that runs after the Blocking
    Command's, so what the sender blocks is refused, not archived). A
    message to the account itself is archived once, on receipt. The UID
    goes only into the C{<sent/>} carbon copies of the other sessions
    (section 2.3: never to the recipient);
  - incoming, in the recipient's archive with the sender's full JID as the
    other party, when it is delivered to sessions or stored offline
    (L{AccountArchives.prepareIncoming}, called by
    L{mepserver.c2s.sessions.DeliveryHandler}), never when it is refused
    (blocked, bounced for want of an account or of offline room). The
    delivered message, and its C{<received/>} carbon copies, carry
    C{<stanza-id xmlns='urn:xmpp:sid:0' by='user@domain' id='UID'/>}
    (section 2.3). XEP-0359 section 4: a C{<stanza-id/>} that claims to be
    by the recipient's own archive is removed from every message it
    receives, archived or not.

Order and durability: a message is in the archive before anyone can
learn of it. An incoming message the recipient's archive keeps goes to
its sessions once its entry is written (the memory store writes at once;
meanwhile the account's later stanzas wait under its lock, so none
overtakes it), so what a client received survives a kill of the server.
An outgoing message's entry is issued before the message is routed; the
SQLite store runs its calls one at a time, in the order they were issued,
on one connection (L{mepserver.storage.sqlite}), so by the time a local
recipient gets the message, the sender's entry is written too. When the
preferences (or, for the C{roster} default, the roster) must be read
first, the message waits under the account's lock
(L{mepserver.c2s.sessions.AccountLocks}): the recipient's for incoming
messages, the sender's for outgoing ones (with the sending session's
later stanzas behind it).

Queries (section 4) go to the account's bare JID (or without C{to}) from
the account's own sessions; anyone else gets C{forbidden}, the condition
section 8.1 names for an archive the requester may not read (Prosody
answers C{service-unavailable} to others). Results and the final IQ go to
the querying session only. Disco#info of the bare JID lists
C{urn:xmpp:mam:2}, C{urn:xmpp:mam:2#extended} (section 6), C{urn:xmpp:sid:0}
(XEP-0359 section 6) and C{urn:xmpp:mam:2#groupchat-field}: the
C{include-groupchat} field is understood, and since groupchat messages are
never in an account's archive, either value gives the same results.

Limits: each archive keeps at most C{limit} messages, dropping the oldest
(section 2.2); messages older than the retention are dropped by a timer on
the server's clock (L{AccountArchives.arm}), which runs only while there
may be something to expire.
"""

from __future__ import annotations

import collections
import weakref
from typing import Dict, FrozenSet, List, Optional, Tuple

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python import failure
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel import disco
from wokkel.iwokkel import IDisco
from zope.interface import implementer

from mepserver import errors
from mepserver.c2s.base import AccountHandler
from mepserver.interfaces import (
    ArchivedMessage,
    ArchivePrefs,
    DuplicateArchiveID,
    IOutboundFilter,
)
from mepserver.mam.prefs import parsePrefs, prefsElement, ruleFor
from mepserver.mam.query import (
    MAM_METADATA,
    MAM_QUERY,
    NS_MAM,
    NS_MAM_EXTENDED,
    PageLimits,
    fetchMetadata,
    parseQuery,
    queryForm,
    runQuery,
)
from mepserver.namespaces import NS_CLIENT
from mepserver.stanza import copyStanza

log = Logger()

NS_SID = "urn:xmpp:sid:0"
NS_HINTS = "urn:xmpp:hints"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
#: Section 6: a server that understands the include-groupchat field.
FEATURE_GROUPCHAT_FIELD = "urn:xmpp:mam:2#groupchat-field"
MAM_PREFS = f"/iq/prefs[@xmlns='{NS_MAM}']"
#: Section 4.1.5: the query field beyond section 4.1's that accounts take.
EXTRA_FIELDS = (("include-groupchat", "boolean"),)
BOOLEANS = ("true", "false", "1", "0")

#: Payloads that make a message worth archiving without a body, as
#: Prosody's mod_mam decides: receipts, chat markers, call messages.
_ARCHIVED_NAMESPACES = frozenset(
    [
        "urn:xmpp:receipts",
        "urn:xmpp:chat-markers:0",
        "urn:xmpp:jingle-message:0",
        "urn:xmpp:jingle-message:1",
    ]
)
#: How often, at most, the expiry timer runs.
EXPIRY_INTERVAL = 3600
#: How many UIDs of delivered messages are remembered, to recognise the
#: server's own delivering again (XEP-0198) of one of them.
ISSUED_REMEMBERED = 10000


def isArchivable(message: domish.Element) -> bool:
    """
    Whether a message belongs in a user archive (section 7.1.1, as the
    module says), before preferences.
    """
    if message.getAttribute("type", "normal") not in ("chat", "normal"):
        return False
    hints = {e.name for e in message.elements(NS_HINTS)}
    if "no-store" in hints or "no-permanent-store" in hints:
        return False
    if "store" in hints:
        return True
    for child in message.elements():
        uri = child.uri
        if child.name in ("body", "subject") and uri in (NS_CLIENT, message.uri):
            return True
        if uri in _ARCHIVED_NAMESPACES:
            return True
        if child.name == "encryption" and uri == "urn:xmpp:eme:0":
            return True
        if child.name == "x" and uri == "jabber:x:conference":
            return True
        if child.name == "x" and uri == NS_MUC_USER and any(
            True for _ in child.elements(NS_MUC_USER, "invite")
        ):
            return True
    return False


def _claimsArchive(element: domish.Element, archive: str) -> bool:
    """
    @return: whether C{element} is a C{<stanza-id/>} by C{archive}.
    """
    if (element.uri, element.name) != (NS_SID, "stanza-id"):
        return False
    # Worked out once per element: a broadcast shares its children, and
    # every recipient's archive asks about the same stanza-ids.
    claimant = element.__dict__.get("_claimant", _UNKNOWN)
    if claimant is _UNKNOWN:
        try:
            by = jid.internJID(element.getAttribute("by", ""))
        except jid.InvalidFormat:
            claimant = None
        else:
            claimant = by.userhost() if by.resource is None else None
        element._claimant = claimant
    return claimant == archive


#: Not yet worked out (L{_claimsArchive}).
_UNKNOWN = object()


def _claimants(message: domish.Element) -> FrozenSet[str]:
    """
    @return: the bare JIDs (as text) that the message's C{<stanza-id/>}s
        claim to be by; worked out once per message element (a broadcast
        is one element for all its recipients) and again if its children
        change.
    """
    cached = message.__dict__.get("_claimants")
    if cached is not None and cached[0] == len(message.children):
        return cached[1]
    claimants = set()
    # The children themselves, not elements(): a generator's cost, for
    # every broadcast (issue 16).
    for element in message.children:
        if getattr(element, "name", None) != "stanza-id" or element.uri != NS_SID:
            continue
        _claimsArchive(element, "")
        if element._claimant is not None:
            claimants.add(element._claimant)
    result = frozenset(claimants)
    message._claimants = (len(message.children), result)
    return result


def stripStanzaIds(
    message: domish.Element, archive: str, keep: Optional[str] = None
) -> domish.Element:
    """
    XEP-0359 section 4: remove the C{<stanza-id/>}s that claim to be by
    C{archive} (an account's bare JID) from a message for it.

    @param keep: the id of one such stanza-id to leave, the server's own.
    @return: C{message} itself if it has none, else a copy without them
        (stanzas in flight are not changed).
    """

    def spoofed(element):
        return (
            isinstance(element, domish.Element)
            and _claimsArchive(element, archive)
            and (keep is None or element.getAttribute("id") != keep)
        )

    if not any(spoofed(e) for e in message.elements(NS_SID, "stanza-id")):
        return message
    copy = copyStanza(message)
    copy.children = [c for c in copy.children if not spoofed(c)]
    return copy


def stanzaIdElement(archive: str, uid: str) -> domish.Element:
    """
    The C{<stanza-id/>} of section 2.3: by the archive, with the UID.
    """
    element = domish.Element((NS_SID, "stanza-id"))
    element["by"] = archive
    element["id"] = uid
    return element


def _storedCopy(message: domish.Element) -> str:
    """
    The XML kept in the archive: the message without chat states.
    """
    if not any(True for _ in message.elements(NS_CHATSTATES)):
        return message.toXml()
    copy = copyStanza(message)
    copy.children = [
        c
        for c in copy.children
        if not (isinstance(c, domish.Element) and c.uri == NS_CHATSTATES)
    ]
    return copy.toXml()


class AccountArchives:
    """
    The client domain's account archives: what is archived, under which
    UID, the preferences, limits and expiry. Archives are named by the
    account's bare JID in the L{mepserver.interfaces.IArchiveStore}.

    @ivar domain: the client domain.
    @ivar store: the L{mepserver.interfaces.IArchiveStore}.
    @ivar users: the L{mepserver.interfaces.IUserStore}, for rosters.
    @ivar ids: the L{mepserver.ids.IdSource} of the UIDs.
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} of the
        timestamps and of the expiry timer.
    @ivar limit: the most messages one archive keeps.
    @ivar retention: seconds a message is kept, or L{None} for ever.
    @ivar limits: the L{PageLimits} of queries.
    """

    def __init__(
        self,
        domain: str,
        store,
        users,
        ids,
        clock,
        limit: int,
        retention: Optional[int],
        limits: PageLimits = PageLimits(),
    ):
        self.domain = domain
        self.store = store
        self.users = users
        self.ids = ids
        self.clock = clock
        self.limit = limit
        self.retention = retention
        self.limits = limits
        self._prefs: Dict[str, ArchivePrefs] = {}
        self._loading: Dict[str, List[defer.Deferred]] = {}
        self._expiry: Optional[task.LoopingCall] = None
        # (username, UID) of the last messages delivered with a stanza-id,
        # to the sender's full JID.
        self._issued: "collections.OrderedDict[Tuple[str, str], str]" = (
            collections.OrderedDict()
        )

    def archiveOf(self, username: str) -> str:
        """
        @return: the address of an account's archive: its bare JID.
        """
        return f"{username}@{self.domain}"

    # Preferences (XEP-0441), cached once read.

    def prefsOf(self, username: str) -> defer.Deferred:
        """
        @return: a Deferred firing with the account's L{ArchivePrefs}, the
            default ones (C{always}) if it never set any.
        """
        prefs = self._prefs.get(username)
        if prefs is not None:
            return defer.succeed(prefs)
        d = defer.Deferred()
        waiting = self._loading.get(username)
        if waiting is not None:
            waiting.append(d)
            return d
        waiting = self._loading[username] = [d]

        def loaded(stored):
            if self._loading.get(username) is waiting:
                del self._loading[username]
            if not isinstance(stored, failure.Failure):
                # A set while loading wins over what was read.
                stored = self._prefs.setdefault(username, stored or ArchivePrefs())
            for waiter in waiting:
                waiter.callback(stored)

        self.store.getArchivePrefs(self.archiveOf(username)).addBoth(loaded)
        return d

    async def setPrefs(self, username: str, prefs: ArchivePrefs) -> ArchivePrefs:
        """
        Store an account's new preferences; they apply to the next message.
        """
        self._prefs[username] = prefs
        await self.store.setArchivePrefs(self.archiveOf(username), prefs)
        return prefs

    # Deciding.

    def changedFor(self, message: domish.Element) -> Optional[FrozenSet[str]]:
        """
        For a message delivered to many accounts (a broadcast:
        L{mepserver.c2s.sessions.DeliveryHandler.deliverMany}): whether any
        account could archive it, and whose copies L{prepareIncoming}
        would change.

        @return: L{None} if the message belongs in user archives (section
            7.1.1: chat and normal messages with content), so each account
            decides; else the addresses of the accounts' archives whose
            copy loses a stanza-id claiming to be by them (XEP-0359 section
            4): not a room's, say, which no account's archive is. Every
            other account gets the message as it is, and archives nothing.
        """
        if isArchivable(message):
            return None
        claimants = _claimants(message)
        if not claimants:
            return claimants
        # An account's archive is username@domain (archiveOf): a room's
        # stanza-id on each of its broadcasts is none of theirs, and its
        # recipients need not be asked about (issue 16).
        suffix = "@" + self.domain
        return frozenset(claimant for claimant in claimants if claimant.endswith(suffix))

    def decideNow(self, username: str, message: domish.Element, other: jid.JID) -> Optional[bool]:
        """
        Whether C{message}, exchanged by the account with C{other}, is
        archived, if that can be told without reading the store.

        @return: C{True} or C{False}, or L{None} when the preferences or
            the roster must be read first (L{decide}).
        """
        if not isArchivable(message):
            return False
        prefs = self._prefs.get(username)
        if prefs is None:
            return None
        rule = ruleFor(prefs, other)
        if rule is None and other.userhost() == self.archiveOf(username):
            # The account itself counts as in its roster.
            return True
        return rule

    async def decide(self, username: str, message: domish.Element, other: jid.JID) -> bool:
        """
        Whether C{message}, exchanged with C{other}, is archived, reading
        the preferences and the roster as needed.
        """
        if not isArchivable(message):
            return False
        await self.prefsOf(username)
        rule = self.decideNow(username, message, other)
        if rule is None:
            item = await self.users.getRosterItem(username, other.userhostJID())
            rule = item is not None
        return rule

    # Archiving.

    def record(self, message: domish.Element, other: jid.JID) -> ArchivedMessage:
        """
        A new archive entry for C{message} with C{other}, under a fresh
        UID, stamped now.
        """
        return ArchivedMessage(
            id=self.ids.newId(),
            timestamp=self.clock.seconds(),
            with_=other.full(),
            stanza=_storedCopy(message),
        )

    def add(self, username: str, entry: ArchivedMessage) -> defer.Deferred:
        """
        Issue the store call that adds C{entry} to the account's archive;
        a failure is logged (the message goes on all the same).

        @return: a Deferred firing once stored (the caller need not wait:
            the call is issued).
        """
        d = self.store.archiveMessage(self.archiveOf(username), entry, self.limit)
        self.arm()

        def failed(failure):
            if failure.check(DuplicateArchiveID):
                log.error("Archive UID {id} of {user} reused", id=entry.id, user=username)
            else:
                log.failure("Archiving a message of {user}", failure, user=username)

        return d.addErrback(failed)

    def prepareIncoming(
        self, username: str, message: domish.Element, archive: bool
    ) -> Tuple[domish.Element, Optional[ArchivedMessage]]:
        """
        Make the message to deliver to an account: without the stanza-ids
        that claim to be by its archive (XEP-0359 section 4) and, if it is
        archived, with its own (section 2.3).

        The caller delivers or stores the message, and L{add}s the entry
        once the message is accepted, before anyone receives it.

        A message the server delivers again, with the stanza-id it got
        (stream management, XEP-0198, for a session that ended before
        acknowledging it) is in the archive already: it keeps its
        stanza-id and gets no second entry (section 7.1.1). The server
        knows it by the UID, which it issued to the account alone, and the
        sender.

        @param archive: what L{decideNow} or L{decide} said.
        @return: the message to deliver, and the archive entry or L{None}.
        """
        archiveAddress = self.archiveOf(username)
        sender = message.getAttribute("from")
        if archiveAddress in _claimants(message):
            issued = self._issuedTo(username, message, archiveAddress)
            stanza = stripStanzaIds(message, archiveAddress, keep=issued)
        else:
            # Nothing claims to be by this archive (most messages, and a
            # room's broadcast for all but a spoofing sender's target).
            issued, stanza = None, message
        if issued is not None or not archive or sender is None:
            return stanza, None
        entry = self.record(stanza, jid.internJID(sender))
        if stanza is message:
            stanza = copyStanza(message)
        stanza.addChild(stanzaIdElement(archiveAddress, entry.id))
        self._issued[(username, entry.id)] = sender
        while len(self._issued) > ISSUED_REMEMBERED:
            self._issued.popitem(last=False)
        return stanza, entry

    def _issuedTo(self, username: str, message: domish.Element, archive: str) -> Optional[str]:
        """
        @return: the UID of the stanza-id by C{archive} the server gave
            this message when it first delivered it, or L{None}.
        """
        for element in message.elements(NS_SID, "stanza-id"):
            uid = element.getAttribute("id")
            if (
                _claimsArchive(element, archive)
                and uid is not None
                and self._issued.get((username, uid)) == message.getAttribute("from")
            ):
                return uid
        return None

    def removeArchive(self, username: str) -> defer.Deferred:
        """
        Forget an account's archive and preferences (the account is gone).
        """
        self._prefs.pop(username, None)
        return self.store.removeArchive(self.archiveOf(username))

    # Expiry (section 2.2: the oldest go first).

    def arm(self) -> None:
        """
        Run the expiry timer, if messages expire and it is not running: it
        drops, every hour (or every retention period if shorter), the
        messages older than the retention, in every archive.
        """
        if self.retention is None or self._expiry is not None:
            return
        self._expiry = task.LoopingCall(self.expire)
        self._expiry.clock = self.clock
        d = self._expiry.start(min(EXPIRY_INTERVAL, self.retention), now=False)
        d.addErrback(lambda f: log.failure("Archive expiry", f))

    def expire(self) -> defer.Deferred:
        """
        Drop the messages older than the retention now.

        @return: a Deferred firing with how many were dropped.
        """
        d = self.store.expireArchives(self.clock.seconds() - self.retention)

        def failed(failure):
            log.failure("Expiring archived messages", failure)
            return 0

        return d.addErrback(failed)

    def stop(self) -> None:
        """
        Stop the expiry timer (at shutdown and reset).
        """
        expiry, self._expiry = self._expiry, None
        if expiry is not None and expiry.running:
            expiry.stop()

    def reset(self) -> None:
        """
        Forget the cached preferences and stop the timer
        (L{mepserver.server.Server.reset}; the store is reset apart).
        """
        self.stop()
        self._prefs.clear()
        self._loading.clear()
        self._issued.clear()


@implementer(IDisco, IOutboundFilter)
class AccountArchiveHandler(AccountHandler):
    """
    Queries, metadata and preferences of account archives, and the
    archiving of what sessions send.

    Observes IQ C{get} and C{set} with a C{urn:xmpp:mam:2} C{<query/>},
    C{<metadata/>} or C{<prefs/>} to an account's bare JID; one to the
    domain is left to the fallback (C{service-unavailable}). Errors
    returned: C{forbidden} for a request to another account's archive;
    the refusals of L{mepserver.mam.query.parseQuery} and
    L{mepserver.mam.prefs.parsePrefs} (C{bad-request},
    C{feature-not-implemented}, C{item-not-found}); C{bad-request} for an
    IQ set of metadata; C{internal-server-error} if the store fails.

    As an L{IOutboundFilter} registered with the sessions, it archives
    the messages clients send (the module says which and how).

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar archives: the L{AccountArchives}.
    """

    def __init__(self, sessions, archives: AccountArchives):
        """
        Make the handler and register it with C{sessions} as a filter of
        what clients send.
        """
        AccountHandler.__init__(self)
        self.sessions = sessions
        self.archives = archives
        # How many stanzas of each session wait under its account's lock.
        self._waiting: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        sessions.filterOutboundWith(self)

    def connectionInitialized(self):
        for path in (MAM_QUERY, MAM_METADATA, MAM_PREFS):
            self.xmlstream.addObserver(path, self.onRequest)

    # Service discovery (section 6).

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        """
        An account's bare JID lists the archive's features to the account.
        """
        if (
            target.user is None
            or target.resource is not None
            or nodeIdentifier
            or requestor.userhost() != target.userhost()
        ):
            return defer.succeed([])
        return defer.succeed(
            [
                disco.DiscoFeature(feature)
                for feature in (NS_MAM, NS_MAM_EXTENDED, NS_SID, FEATURE_GROUPCHAT_FIELD)
            ]
        )

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])

    # What sessions send.

    def outbound(self, session, stanza, proceed):
        """
        Archive a message a session sends in its account's archive, then
        let it go on. When the decision needs the store, the message waits
        under the account's lock, and so does every later stanza of the
        session until it went on (RFC 6120 section 10.1: in order); the
        server's shutdown drains that lock.
        """
        if not self._waiting.get(session):
            if stanza.name != "message" or not isArchivable(stanza):
                # What decideNow would say at once (issue 16: a groupchat
                # message, say, which a room archives, not an account).
                return proceed()
            other = _recipient(session, stanza)
            if other is None:
                return proceed()
            decision = self.archives.decideNow(session.jid.user, stanza, other)
            if decision is not None:
                self._archiveOutbound(session, stanza, other, decision)
                return proceed()
        self._waiting[session] = self._waiting.get(session, 0) + 1
        self.sessions.locks.run(
            session.jid.user, self._decideOutbound, session, stanza, proceed
        )

    @defer.inlineCallbacks
    def _decideOutbound(self, session, stanza, proceed):
        """
        Under the account's lock: decide on a waiting stanza, then let it
        go on.
        """
        try:
            other = _recipient(session, stanza)
            if other is not None:
                try:
                    decision = yield defer.ensureDeferred(
                        self.archives.decide(session.jid.user, stanza, other)
                    )
                except Exception:
                    log.failure(
                        "Deciding whether to archive a message of {jid}", jid=session.jid
                    )
                    decision = False
                self._archiveOutbound(session, stanza, other, decision)
        finally:
            self._waiting[session] -= 1
        proceed()

    def _archiveOutbound(self, session, stanza, other, decision):
        if not decision:
            return
        entry = self.archives.record(stanza, other)
        username = session.jid.user
        self.archives.add(username, entry)
        # For the sender's other sessions' <sent/> carbons only (section
        # 2.3); the recipient never sees it.
        stanza.archiveStanzaId = stanzaIdElement(self.archives.archiveOf(username), entry.id)

    # Requests.

    def onRequest(self, iq):
        """
        A query, metadata or preferences request arrived.
        """
        if iq.handled or iq.getAttribute("type") not in ("get", "set"):
            return
        to = jid.internJID(iq["to"])
        if to.user is None or to.resource is not None:
            return
        iq.handled = True
        d = errors.answerIQ(iq, defer.ensureDeferred(self._process(iq)))
        d.addCallback(self.reply, iq)
        d.addErrback(lambda f: log.failure("Answering {iq}", f, iq=iq.toXml()))

    def _owner(self, iq) -> Tuple[jid.JID, str]:
        """
        @return: the sender and the username of the archive.
        @raise errors.Forbidden: the archive is not the sender's (section
            8.1).
        """
        sender = jid.internJID(iq["from"])
        to = jid.internJID(iq["to"])
        if sender.host != self.sessions.domain or sender.userhost() != to.userhost():
            raise errors.Forbidden("only the account itself may use its message archive")
        return sender, to.user

    async def _process(self, iq) -> Optional[domish.Element]:
        sender, username = self._owner(iq)
        request = next(iq.elements())
        kind = iq["type"]
        archive = self.archives.archiveOf(username)
        if request.name == "query":
            if kind == "get":
                return queryForm(EXTRA_FIELDS)
            parsed = parseQuery(request, self.archives.limits, EXTRA_FIELDS)
            for value in parsed.extra.get("include-groupchat", []):
                if value.strip().lower() not in BOOLEANS:
                    raise errors.BadRequest(
                        f"include-groupchat is {value!r}, not a boolean (true or false)"
                    )
            session = self.sessions.session(sender)
            send = session.send if session is not None else self.send
            return await runQuery(
                self.archives.store,
                archive,
                iq,
                send,
                self.archives.limits,
                EXTRA_FIELDS,
            )
        if request.name == "metadata":
            if kind != "get":
                raise errors.BadRequest("archive metadata is read with an IQ get")
            return await fetchMetadata(self.archives.store, archive)
        if kind == "set":
            prefs = await self.archives.setPrefs(username, parsePrefs(request))
        else:
            prefs = await self.archives.prefsOf(username)
        return prefsElement(prefs)


def _recipient(session, stanza) -> Optional[jid.JID]:
    """
    @return: the other party of a message a session sends, or L{None} if
        it is not a message or goes to the account itself (archived once,
        on receipt).
    """
    if stanza.name != "message":
        return None
    to = stanza.getAttribute("to")
    if to is None:
        return None
    other = jid.internJID(to)
    if other.userhost() == session.jid.userhost():
        return None
    return other
