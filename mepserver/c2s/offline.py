# -*- test-case-name: tests.test_offline -*-
"""
Offline messages (XEP-0160), with XEP-0203 delay stamps and the XEP-0334
storage hints.

A message for an account with no available resource of non-negative
priority (RFC 6121 section 8.5.2.2.1; XEP-0160 section 2) comes here from
L{mepserver.c2s.sessions.DeliveryHandler}. Which ones are kept follows
XEP-0160 section 3: chat and normal messages are, except those that carry
nothing but XEP-0085 chat states; headline, groupchat and error messages
are not. XEP-0334's C{<store/>} keeps a message that would not be kept
(section 4, except errors, whose hints section 5 ignores), C{<no-store/>}
keeps none. A kept message gets C{<delay from='DOMAIN' stamp='...'/>}
(XEP-0160 section 2, XEP-0203 section 3) and waits in the store.

When a session of the account sends available presence with a
non-negative priority, and its previous presence was none or negative,
the stored messages go to that session, in order, and leave the store
(XEP-0160 section 2, step 5). The server's disco#info lists C{msgoffline}
(section 5) while storage is on.

Storing and delivering run under the account's lock
(L{mepserver.c2s.sessions.AccountLocks}): a message being stored when a
session becomes available is in the store before the delivery reads it,
and a delivery removes exactly the messages it sent, so none is lost or
delivered twice.
"""

from __future__ import annotations

import weakref
from typing import Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from twisted.words.protocols.jabber.xmlstream import XMPPHandler
from twisted.words.xish import domish
from wokkel import disco
from wokkel.delay import NS_DELAY
from wokkel.iwokkel import IDisco
from zope.interface import implementer

from mepserver.datetimes import formatDateTime
from mepserver.interfaces import IPresenceObserver, UnknownUser
from mepserver.stanza import copyStanza, parseStanza

log = Logger()

#: XEP-0160 section 5: the feature a server that stores offline messages
#: lists in its disco#info.
FEATURE_OFFLINE = "msgoffline"
NS_HINTS = "urn:xmpp:hints"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
#: What may accompany chat states in a message that carries nothing else
#: (XEP-0160 section 3): a thread, hints, XEP-0359 ids.
_BESIDE_CHATSTATES = {
    ("jabber:client", "thread"),
    ("urn:xmpp:sid:0", "origin-id"),
    ("urn:xmpp:sid:0", "stanza-id"),
}


def storageHint(message: domish.Element) -> Optional[str]:
    """
    @return: C{"no-store"} or C{"store"} if the message carries that
        XEP-0334 hint (C{no-store} wins if both), else L{None}.
    """
    names = {e.name for e in message.elements(NS_HINTS)}
    for name in ("no-store", "store"):
        if name in names:
            return name
    return None


def onlyChatStates(message: domish.Element) -> bool:
    """
    @return: whether the message carries XEP-0085 chat states and nothing
        else of substance (XEP-0160 section 3: not to be stored).
    """
    states = False
    for element in message.elements():
        if element.uri == NS_CHATSTATES:
            states = True
        elif element.uri != NS_HINTS and (element.uri, element.name) not in _BESIDE_CHATSTATES:
            return False
    return states


def _delayedBy(message: domish.Element, domain: str) -> bool:
    """
    @return: whether the message has a delay stamp from C{domain} already
        (one a resumable session gave it, XEP-0198, when it came back
        unacknowledged): its time is the first delivery's.
    """
    return any(
        delay.getAttribute("from") == domain
        for delay in message.elements(NS_DELAY, "delay")
    )


@implementer(IPresenceObserver, IDisco)
class OfflineMessages(XMPPHandler):
    """
    Offline messages of the client domain's accounts: a handler on the
    client domain (for its disco#info feature) and a presence observer of
    L{mepserver.c2s.roster.PresenceHandler} (to deliver).

    It observes no stanzas itself; L{keep} is called by the delivery
    handler, which returns its refusals as C{service-unavailable} errors.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    @ivar store: the L{mepserver.interfaces.IOfflineStore}, which is also
        the L{mepserver.interfaces.IUserStore}.
    @ivar limit: the most messages one account holds; C{0} keeps none.
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} of the
        delay stamps.
    """

    def __init__(self, sessions, store, limit: int, clock):
        XMPPHandler.__init__(self)
        self.sessions = sessions
        self.store = store
        self.limit = limit
        self.clock = clock
        # The sessions whose presence is available with a non-negative
        # priority and that got the stored messages; weak, so that a
        # session that ends is forgotten even if no presence says so.
        self._receiving = weakref.WeakSet()

    # Storing (XEP-0160 sections 2 and 3).

    @defer.inlineCallbacks
    def keep(self, to: jid.JID, message: domish.Element, kind: str):
        """
        Store a message for an account with no available resource, or say
        why not. Call it under the account's lock.

        @param to: the address of the message (the bare JID, or a full JID
            that RFC 6121 section 8.5.3.2.1 treats as the bare JID).
        @param kind: the message type, C{"normal"} if it has none.
        @return: a Deferred firing with L{None} once stored, or silently
            dropped (errors, headlines, chat states alone); or with the text
            of the C{service-unavailable} error the sender should get.
        """
        bare = to.userhost()
        if kind == "error":
            # XEP-0334 section 5: hints in errors are ignored.
            return None
        hint = storageHint(message)
        if hint != "store" and (kind == "headline" or onlyChatStates(message)):
            return None
        refusal = None
        if hint == "no-store":
            refusal = f"{bare} is not online, and the message asks not to be stored (XEP-0334)"
        elif self.limit == 0:
            refusal = f"{bare} is not online (offline storage is off)"
        if refusal is not None:
            credentials = yield self.store.getCredentials(to.user)
            if credentials is None:
                return f"there is no account {bare}"
            return refusal
        stored = copyStanza(message)
        if not _delayedBy(stored, self.sessions.domain):
            delay = stored.addElement((NS_DELAY, "delay"))
            delay["from"] = self.sessions.domain
            delay["stamp"] = formatDateTime(self.clock.seconds())
        try:
            kept = yield self.store.storeOfflineMessage(to.user, stored.toXml(), self.limit)
        except UnknownUser:
            return f"there is no account {bare}"
        if not kept:
            return (
                f"{bare} is not online, and its offline storage is full "
                f"({self.limit} messages)"
            )
        return None

    # Delivering (XEP-0160 section 2, step 5), as an IPresenceObserver.

    def sessionAvailable(self, session, presence, initial):
        """
        A session's available presence: if it is the session's first with a
        non-negative priority since it had none or a negative one, deliver
        the stored messages to it.
        """
        if session.priority < 0:
            self._receiving.discard(session)
            return
        if session in self._receiving:
            return
        self._receiving.add(session)
        d = self.sessions.locks.run(session.jid.user, self._deliver, session)
        d.addErrback(
            lambda f: log.failure("Delivering offline messages to {jid}", f, jid=session.jid)
        )

    def sessionUnavailable(self, session):
        self._receiving.discard(session)

    def rosterItemChanged(self, username, before, after):
        pass

    def _ready(self, session) -> bool:
        """
        @return: whether C{session} is still bound, available and of
            non-negative priority.
        """
        return (
            self.sessions.session(session.jid) is session
            and session.available
            and session.priority >= 0
        )

    @defer.inlineCallbacks
    def _deliver(self, session):
        """
        Send the account's stored messages to C{session}, oldest first,
        then remove them; if the session went away meanwhile, they stay.
        """
        if not self._ready(session):
            return
        username = session.jid.user
        messages = yield self.store.getOfflineMessages(username)
        if not messages or not self._ready(session):
            return
        for message in messages:
            session.send(parseStanza(message.stanza))
        yield self.store.removeOfflineMessages(username, [m.key for m in messages])

    # Service discovery (XEP-0160 section 5).

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if target.user is not None or nodeIdentifier or self.limit == 0:
            return defer.succeed([])
        return defer.succeed([disco.DiscoFeature(FEATURE_OFFLINE)])

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])
