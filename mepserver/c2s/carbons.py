# -*- test-case-name: tests.test_carbons -*-
"""
Message Carbons (XEP-0280): copies of an account's chats for its other
resources.

  - section 2: the server announces C{urn:xmpp:carbons:2}, and
    C{urn:xmpp:carbons:rules:0} since it applies every rule of section 6.1;
  - sections 4, 5 and 11.1: a session enables and disables carbons for
    itself, as often as it likes (L{CarbonsHandler});
  - section 6.1: which messages are copied (L{isEligible});
  - section 6: a message delivered to some of an account's sessions is
    copied, in C{<received/>}, to its other carbons-enabled sessions
    (L{MessageCarbons.received});
  - section 7: a message a session sends is copied, in C{<sent/>}, to the
    account's other carbons-enabled sessions (L{MessageCarbons.sent});
  - section 8 and XEP-0334 section 4.3: C{<private/>} and C{<no-copy/>}
    keep a message from being copied;
  - XEP-0313 section 2.3: a C{<sent/>} copy of a message the sender's
    archive kept carries its C{<stanza-id/>}, which the account archive
    leaves on the message as C{archiveStanzaId}; a C{<received/>} copy is
    of the delivered message, which carries its own.

Each copy is a C{<message/>} from the account's bare JID, of the original's
type, holding the original in a XEP-0297 C{<forwarded/>}. The wrapper is
built once per message; each recipient gets a shallow copy that differs
only in C{to} (DESIGN.md section 9). An account none of whose other
sessions enabled carbons costs a look at its sessions' flags per message,
and nothing more.
"""

from __future__ import annotations

from typing import List

from twisted.internet import defer
from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish
from wokkel import disco
from wokkel.iwokkel import IDisco
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler
from zope.interface import implementer

from mepserver.namespaces import NS_CLIENT
from mepserver.stanza import copyStanza

NS_CARBONS = "urn:xmpp:carbons:2"
NS_CARBONS_RULES = "urn:xmpp:carbons:rules:0"
NS_FORWARD = "urn:xmpp:forward:0"
NS_HINTS = "urn:xmpp:hints"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_CONFERENCE = "jabber:x:conference"

#: Section 6.1, third rule: payloads typically used in IM, which make a
#: message without a body eligible: receipts (XEP-0184), chat states
#: (XEP-0085) and chat markers (XEP-0333).
IM_PAYLOADS = frozenset(
    ["urn:xmpp:receipts", "http://jabber.org/protocol/chatstates", "urn:xmpp:chat-markers:0"]
)

CARBONS_REQUEST = (
    "/iq[@type='get' or @type='set']/*[@xmlns='%s']" % (NS_CARBONS,)
)


def isEligible(message: domish.Element, outgoing: bool) -> bool:
    """
    Whether a message is copied to an account's other resources (XEP-0280
    section 6.1, and section 8 for the hints).

    A message is not copied when it carries C{<private
    xmlns='urn:xmpp:carbons:2'/>} or C{<no-copy xmlns='urn:xmpp:hints'/>}
    (either is enough), is of type C{groupchat} or C{headline}, or is a
    private message from a MUC occupant: a message received at a full JID
    with C{<x xmlns='http://jabber.org/protocol/muc#user'/>} and no
    invitation, which the room already sends to every joined session.
    Otherwise it is copied when it is of type C{chat}; of type C{normal}
    with a C{<body/>}, an IM payload (L{IM_PAYLOADS}), a direct invitation
    (XEP-0249) or a mediated one (XEP-0045 section 7.8.2); or an error
    received from a bare JID, the bounce of a message sent to a bare JID
    (section 6.1 wants the errors answering eligible messages; the server
    does not remember what was sent, so it copies those Prosody copies).

    @param outgoing: C{True} for a message a session sends (section 7),
        C{False} for one delivered to a session (section 6).
    """
    kind = message.getAttribute("type", "normal")
    if kind in ("groupchat", "headline"):
        return False
    body = imPayload = invitation = mucUser = False
    for child in message.elements():
        uri = child.uri
        if uri == NS_CARBONS and child.name == "private":
            return False
        if uri == NS_HINTS and child.name == "no-copy":
            return False
        if child.name == "body":
            body = True
        elif uri in IM_PAYLOADS:
            imPayload = True
        elif uri == NS_CONFERENCE and child.name == "x":
            invitation = True
        elif uri == NS_MUC_USER and child.name == "x":
            mucUser = True
            if any(True for _ in child.elements(NS_MUC_USER, "invite")):
                invitation = True
    if (
        mucUser
        and not outgoing
        and not invitation
        and jid.internJID(message["to"]).resource is not None
    ):
        # Section 6.1: "A private message from a MUC participant (received
        # from a full JID) to a local user SHOULD NOT be carbon-copied".
        return False
    if kind == "chat":
        return True
    if kind == "error":
        sender = message.getAttribute("from")
        return not outgoing and sender is not None and "/" not in sender
    return kind == "normal" and (body or imPayload or invitation)


class MessageCarbons:
    """
    Make and send the carbon copies of the messages an account's sessions
    send and receive.

    A session's L{mepserver.c2s.sessions.Session.carbons} says whether it
    enabled carbons; a session's copies end with the session.
    """

    def sent(self, session, message: domish.Element) -> None:
        """
        A session sends a message (XEP-0280 section 7): copy it, in
        C{<sent/>}, to the account's other carbons-enabled sessions,
        whether or not C{session} enabled carbons.

        A message to the account itself (its bare JID, or a full JID of
        the account) is not copied here: its recipients get the original,
        and L{received} copies it to the account's other sessions, so each
        session sees it once.

        @param session: the L{mepserver.c2s.sessions.Session} sending.
        @param message: the message, with C{from} and C{to} stamped.
        """
        others = [
            s
            for s in session.manager.sessionsOf(session.jid.user)
            if s.carbons and s is not session
        ]
        if not others:
            return
        to = message["to"]
        if jid.internJID(to).userhost() == session.jid.userhost():
            return
        if isEligible(message, outgoing=True):
            self._copy("sent", session.jid.userhost(), message, others)

    def received(self, message: domish.Element, delivered: List) -> None:
        """
        A message was delivered to some of an account's sessions (XEP-0280
        section 6): copy it, in C{<received/>}, to the account's other
        carbons-enabled sessions.

        Neither the sessions the original went to (RFC 6121 section 8.5)
        nor, for a message between the account's own resources, the session
        that sent it, get a copy.

        @param message: the message as delivered.
        @param delivered: the non-empty list of the
            L{mepserver.c2s.sessions.Session}s of one account that got it.
        """
        first = delivered[0]
        sessions = first.manager.sessionsOf(first.jid.user)
        if len(sessions) == len(delivered):
            return
        sender = message.getAttribute("from")
        others = [
            s
            for s in sessions
            if s.carbons and s not in delivered and s.jid.full() != sender
        ]
        if others and isEligible(message, outgoing=False):
            self._copy("received", first.jid.userhost(), message, others)

    def _copy(self, direction: str, account: str, message, recipients) -> None:
        """
        Send each recipient the wrapper of section 6 or 7, built once.
        """
        wrapper = domish.Element((NS_CLIENT, "message"))
        wrapper["from"] = account
        kind = message.getAttribute("type")
        if kind is not None:
            wrapper["type"] = kind
        forwarded = wrapper.addElement((NS_CARBONS, direction)).addElement(
            (NS_FORWARD, "forwarded")
        )
        # The original's addressing as it is now: a broadcaster (the MUC
        # service) changes 'to' on one element for each recipient.
        copy = copyStanza(message)
        stanzaId = getattr(message, "archiveStanzaId", None)
        if direction == "sent" and stanzaId is not None:
            # XEP-0313 section 2.3: the sender's archive UID, which only
            # the sender's own sessions may see (mepserver.mam.account).
            copy.addChild(stanzaId)
        forwarded.addChild(copy)
        for session in recipients:
            session.send(copyStanza(wrapper, to=session.jid.full()))


@implementer(IDisco)
class CarbonsHandler(XMPPHandler, IQHandlerMixin):
    """
    Enable and disable carbons for a session (XEP-0280 sections 4 and 5),
    and announce them in the server's disco#info (section 2).

    Observes IQs with a child in C{urn:xmpp:carbons:2} addressed to an
    account's bare JID (a client's request without C{to} is stamped so by
    the session). Enabling or disabling again is no error (section 11.1).
    Errors returned:
      - C{not-allowed}: the request is for another account (sections 4.1
        and 5.1), or is an IQ get: carbons are only set;
      - C{bad-request}: a child other than C{<enable/>} or C{<disable/>}.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}.
    """

    iqHandlers = {CARBONS_REQUEST: "_onRequest"}

    def __init__(self, sessions):
        XMPPHandler.__init__(self)
        self.sessions = sessions

    def connectionInitialized(self):
        self.xmlstream.addObserver(CARBONS_REQUEST, self.onRequest)

    def onRequest(self, iq):
        """
        A carbons request arrived; IQs to full JIDs were already delivered.
        """
        if iq.handled or jid.internJID(iq["to"]).user is None:
            return
        self.handleRequest(iq)

    def _onRequest(self, iq):
        sender = jid.internJID(iq["from"])
        if sender.userhost() != jid.internJID(iq["to"]).userhost():
            raise error.StanzaError(
                "not-allowed",
                text="carbons are enabled and disabled by a session for "
                "itself, at its own account",
            )
        request = next(iq.elements(NS_CARBONS))
        if request.name not in ("enable", "disable"):
            raise error.StanzaError(
                "bad-request",
                text=f"<{request.name} xmlns='{NS_CARBONS}'/> is not a request: "
                "send <enable/> or <disable/>",
            )
        if iq["type"] != "set":
            raise error.StanzaError(
                "not-allowed",
                text=f"carbons are enabled and disabled with an IQ set, "
                f"not an IQ {iq['type']}",
            )
        session = self.sessions.session(sender)
        if session is not None:
            session.carbons = request.name == "enable"

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if target.user is not None or nodeIdentifier:
            return defer.succeed([])
        return defer.succeed(
            [disco.DiscoFeature(NS_CARBONS), disco.DiscoFeature(NS_CARBONS_RULES)]
        )

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])
