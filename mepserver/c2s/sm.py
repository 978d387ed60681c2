# -*- test-case-name: tests.test_sm -*-
"""
XEP-0198 Stream Management (C{urn:xmpp:sm:3}) for client streams, over
TCP and WebSocket alike.

  - Section 3 (enabling): the C{<sm/>} feature is offered after
    authentication (L{StreamManagementStep}); C{<enable/>} after resource
    binding is answered with C{<enabled/>}, with an C{id}, C{resume='true'}
    and C{max} (the hibernation time, in seconds) when the client asked
    for resumption and the server allows it. C{<enable/>} before binding,
    or a second time, gets C{<failed>} with C{unexpected-request}.
  - Section 4 (acks): the server counts the stanzas it handles from the
    client (message, presence, iq; not nonzas) and answers C{<r/>} with
    C{<a h/>}; it counts the stanzas it sends and keeps those not yet
    acknowledged; a client's C{<a h/>} drops the acknowledged ones. All
    counters wrap at 2^32. The server asks for an ack itself (C{<r/>})
    once L{ACK_WINDOW} stanzas are unacknowledged and no request is
    outstanding, and after re-sending stanzas on resumption.
  - Section 5 (resumption): a resumable session whose connection breaks
    off (no C{</stream:stream>} or C{<close/>} from the client, no stream
    error from the server) I{hibernates}: it stays bound and available,
    in its rooms, and what it is sent is queued. C{<resume previd h/>}
    after authentication by the same account moves it to the new stream:
    C{<resumed previd h/>}, then the unacknowledged stanzas again, in
    order, with a XEP-0203 delay stamp of their first sending on messages
    and presence. An unknown id, another account's, or one that expired,
    gets C{<failed><item-not-found/></failed>} (with C{h} for an id of the
    account that expired recently, as section 5 allows), and the client
    may bind a resource on the same stream. If the old stream is still
    open (a half-open TCP connection), it is closed with a C{conflict}
    stream error (section 5).
  - Section 6 (errors): an C{h} higher than the number of stanzas sent is
    an C{undefined-condition} stream error with
    C{<handled-count-too-high/>}.
  - Section 4's last paragraphs ("unhandled stanzas"): when a session ends
    (hibernation expired, clean close, replaced, server stopping), the
    stanzas it never acknowledged are treated as stanzas for an
    unavailable resource (RFC 6121 section 8.5.3.2): chat and normal
    messages go to L{StreamManagement.undelivered}, which bounces them with
    C{service-unavailable} until offline storage plugs in there; IQ
    requests are answered with C{service-unavailable}; presence, groupchat,
    headline and error stanzas are dropped. A message to the bare JID is
    not bounced while another resource of the account is available: that
    resource got its own copy (RFC 6121 section 8.5.2.1.1).

Nothing is advertised in service discovery: stream management is a stream
feature.
"""

from __future__ import annotations

import collections
from typing import Optional

from twisted.logger import Logger
from twisted.words.protocols.jabber import error
from twisted.words.xish import domish

from mepserver.datetimes import formatDateTime
from mepserver.stanza import copyStanza, freeze

NS_SM = "urn:xmpp:sm:3"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DELAY = "urn:xmpp:delay"

#: Counters are xs:unsignedInt and wrap to zero after 2^32 - 1 (section 4).
MAX_COUNT = 2**32
#: Unacknowledged stanzas after which the server sends C{<r/>}.
ACK_WINDOW = 5
#: Unacknowledged stanzas past which the session is ended (C{resource-
#: constraint}): a client that never acknowledges, or a hibernating
#: session in busy rooms, must not hold the server's memory forever.
MAX_QUEUE = 5000
#: How many expired SM-IDs are remembered for C{<failed h/>} (section 5).
EXPIRED_REMEMBERED = 1000

log = Logger()


def _element(name, **attributes):
    element = domish.Element((NS_SM, name))
    for key, value in attributes.items():
        element[key.replace("_", "-")] = str(value)
    return element


#: The stream management stream feature (XEP-0198 section 2), shared by
#: every stream.
SM_FEATURE = freeze(_element("sm"))


def failed(condition, text=None, h=None):
    """
    @return: a C{<failed/>} nonza with a stanza error condition (section 6).
    """
    element = _element("failed")
    if h is not None:
        element["h"] = str(h)
    element.addElement((NS_STANZAS, condition))
    if text is not None:
        element.addElement((NS_STANZAS, "text"), content=text)
    return element


def parseCount(value) -> Optional[int]:
    """
    @return: an C{h} attribute's value, or L{None} unless it is an
        xs:unsignedInt (0 to 2^32 - 1).
    """
    if value is None or not value.strip().isdigit():
        return None
    number = int(value)
    return number if number < MAX_COUNT else None


def handledCountTooHigh(h, sent):
    """
    @return: the L{error.StreamError} of section 6 for an C{h} above the
        number of stanzas sent.
    """
    return error.StreamError(
        "undefined-condition",
        text=f"h={h} acknowledges more stanzas than the server sent ({sent})",
        appCondition=_element("handled-count-too-high", h=h, send_count=sent),
    )


class StreamManagementStep:
    """
    Offer C{<sm xmlns='urn:xmpp:sm:3'/>} after authentication, and take
    the stream management nonzas that come before resource binding:
    C{<resume/>} (section 5), and C{<enable/>}, which must wait for
    binding (section 3: C{<failed>} with C{unexpected-request}).
    Afterwards the session takes them (L{StreamManagement.received}).
    """

    mandatory = False

    def __init__(self, authenticator, streamManagement):
        self.authenticator = authenticator
        self.streamManagement = streamManagement

    def feature(self):
        if self.authenticator.username is None or self.authenticator.session:
            return None
        return SM_FEATURE

    def onElement(self, element):
        if element.uri != NS_SM or self.authenticator.username is None:
            return False
        if element.name == "resume":
            self.streamManagement.resume(self.authenticator, element)
            return True
        if element.name == "enable":
            self.authenticator.xmlstream.send(
                failed(
                    "unexpected-request",
                    "bind a resource before enabling stream management "
                    "(XEP-0198 section 3)",
                )
            )
            return True
        return False


class ManagedStream:
    """
    The stream management state of one session (section 4).

    @ivar id: the SM-ID, or L{None} if the session is not resumable.
    @ivar timeout: seconds a broken-off session hibernates.
    @ivar inbound: stanzas handled from the client, modulo 2^32 (its C{h}).
    @ivar sent: stanzas sent to the client, modulo 2^32.
    @ivar acked: the client's last C{h}.
    @ivar queue: C{(when, stanza)} for each stanza sent and not yet
        acknowledged, oldest first; C{when} is the clock's time of the
        first sending. Each stanza is a L{copyStanza} of what was sent: a
        broadcaster changes C{to} on one element between recipients, and
        the copy shares the children, so it costs one attribute dict.
    @ivar hibernation: the delayed call that ends a hibernating session,
        or L{None} while it has a stream.
    @ivar requested: whether an C{<r/>} of the server awaits its C{<a/>}.
    """

    def __init__(self, owner, smId=None, timeout=0):
        self.owner = owner
        self.id = smId
        self.timeout = timeout
        self.inbound = 0
        self.sent = 0
        self.acked = 0
        self.queue = collections.deque()
        self.hibernation = None
        self.requested = False

    def handled(self):
        """
        Count one stanza from the client.
        """
        self.inbound = (self.inbound + 1) % MAX_COUNT

    def send(self, session, stanza, data=None):
        """
        Count and keep a stanza for the client, and write it unless the
        session hibernates.

        @param data: L{None}, or the stanza already serialized for the
            session's stream (a broadcast's copy,
            L{mepserver.c2s.sessions.Session.sendEncoded}), written
            instead; C{stanza} is then the sender's own copy, kept as it
            is.
        """
        kept = copyStanza(stanza) if data is None else stanza
        self.queue.append((self.owner.clock.seconds(), kept))
        self.sent = (self.sent + 1) % MAX_COUNT
        if len(self.queue) > MAX_QUEUE:
            session.close(
                "resource-constraint",
                f"more than {MAX_QUEUE} stanzas were not acknowledged",
            )
            return
        if self.hibernation is None:
            if data is None:
                session.xmlstream.send(stanza)
            else:
                session.xmlstream.sendBytes(data)
            if len(self.queue) >= ACK_WINDOW:
                self.request(session)

    def request(self, session):
        """
        Send C{<r/>}, unless one is outstanding.
        """
        if not self.requested:
            self.requested = True
            session.xmlstream.send(_element("r"))

    def acknowledged(self, h) -> bool:
        """
        Drop the stanzas the client's C{h} acknowledges.

        @return: C{False}, changing nothing, if C{h} acknowledges more
            stanzas than were sent.
        """
        count = (h - self.acked) % MAX_COUNT
        if count > len(self.queue):
            return False
        for _ in range(count):
            self.queue.popleft()
        self.acked = h
        return True


class StreamManagement:
    """
    Stream management for the client domain: enabling, acks, resumable
    sessions and their hibernation.

    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} of the
        hibernation timers and delay stamps.
    @ivar resumeTimeout: seconds a resumable session hibernates; 0: no
        resumption (C{[c2s] resume_timeout}).
    @ivar ids: the L{mepserver.ids.IdSource} of SM-IDs. An SM-ID is bound
        to its account: another account cannot resume with it.
    @ivar resumable: SM-ID to session, for every resumable session.
    """

    def __init__(self, clock, resumeTimeout, ids):
        self.clock = clock
        self.resumeTimeout = resumeTimeout
        self.ids = ids
        self.resumable = {}
        self._expired = collections.OrderedDict()

    # Nonzas on a bound session.

    def received(self, session, element) -> bool:
        """
        Handle a stream management nonza on a bound session.

        C{<r/>} and C{<a/>} before C{<enable/>} are ignored, as Prosody
        does; C{<resume/>} after binding gets C{unexpected-request}.

        @return: C{False} if the element is not one the client may send.
        """
        if element.uri != NS_SM:
            return False
        sm = session.sm
        if element.name == "enable":
            self.enable(session, element)
        elif element.name == "r":
            if sm is not None:
                session.xmlstream.send(_element("a", h=sm.inbound))
        elif element.name == "a":
            if sm is not None:
                self.acknowledge(session, element)
        elif element.name == "resume":
            session.xmlstream.send(
                failed(
                    "unexpected-request",
                    "a bound session cannot resume another (XEP-0198 section 5)",
                )
            )
        else:
            return False
        return True

    def enable(self, session, element):
        """
        Section 3: answer C{<enable/>} with C{<enabled/>}, or C{<failed/>}
        if stream management is already on.
        """
        xs = session.xmlstream
        if session.sm is not None:
            xs.send(
                failed(
                    "unexpected-request",
                    "stream management is already enabled on this stream",
                )
            )
            return
        enabled = _element("enabled")
        sm = ManagedStream(self)
        if element.getAttribute("resume") in ("true", "1") and self.resumeTimeout:
            timeout = self.resumeTimeout
            # The client's preferred maximum (section 3), if lower.
            wanted = parseCount(element.getAttribute("max"))
            if wanted:
                timeout = min(timeout, wanted)
            smId = self.ids.newId("sm-")
            while smId in self.resumable:
                smId = self.ids.newId("sm-")
            sm.id, sm.timeout = smId, timeout
            self.resumable[smId] = session
            enabled["id"] = smId
            enabled["resume"] = "true"
            enabled["max"] = str(timeout)
        xs.send(enabled)
        session.sm = sm

    def acknowledge(self, session, element):
        """
        Section 4: apply the client's C{<a h/>}; section 6: an C{h} too
        high is a stream error.
        """
        sm = session.sm
        h = parseCount(element.getAttribute("h"))
        if h is None:
            session.xmlstream.sendStreamError(
                error.StreamError(
                    "bad-format",
                    text="<a/> needs an 'h' between 0 and 4294967295 "
                    "(XEP-0198 section 4)",
                )
            )
        elif sm.acknowledged(h):
            sm.requested = False
        else:
            session.xmlstream.sendStreamError(handledCountTooHigh(h, sm.sent))

    # Hibernation and resumption (section 5).

    def hibernate(self, session) -> bool:
        """
        The session's stream is gone: keep the session if it is resumable
        and the stream broke off rather than being closed.

        @return: whether the session hibernates (rather than ending).
        """
        sm = session.sm
        if (
            sm is None
            or sm.id is None
            or sm.hibernation is not None
            or session.xmlstream.closing
        ):
            return False
        sm.hibernation = self.clock.callLater(sm.timeout, self._expire, session)
        log.info(
            "{jid} hibernates for {timeout} s ({count} stanzas unacknowledged)",
            jid=session.jid.full(),
            timeout=sm.timeout,
            count=len(sm.queue),
        )
        return True

    def _expire(self, session):
        # The hibernation call stays set: ended() must end, not hibernate.
        log.info("{jid}: hibernation expired", jid=session.jid.full())
        session.ended()

    def resume(self, authenticator, element):
        """
        Section 5: move a hibernating (or half-open) session of the
        authenticated account to this stream.
        """
        xs = authenticator.xmlstream
        previd = element.getAttribute("previd")
        h = parseCount(element.getAttribute("h"))
        if not previd or h is None:
            xs.send(
                failed(
                    "bad-request",
                    "<resume/> needs 'previd' and an 'h' between 0 and "
                    "4294967295 (XEP-0198 section 5)",
                )
            )
            return
        session = self.resumable.get(previd)
        if session is None or session.jid.user != authenticator.username:
            expired = self._expired.get(previd)
            handled = None
            if expired is not None and expired[0] == authenticator.username:
                handled = expired[1]
            xs.send(
                failed(
                    "item-not-found",
                    "no session to resume with this id: it expired, ended "
                    "or never existed; bind a resource instead",
                    h=handled,
                )
            )
            return
        sm = session.sm
        if not sm.acknowledged(h):
            xs.sendStreamError(handledCountTooHigh(h, sm.sent))
            return
        sm.requested = False
        if sm.hibernation is not None:
            sm.hibernation.cancel()
            sm.hibernation = None
        else:
            # The old connection is not known to be dead yet (section 5).
            old = session.xmlstream
            old.authenticator.session = None
            old.sendStreamError(
                error.StreamError(
                    "conflict", text="the session was resumed on another stream"
                )
            )
        session.xmlstream = xs
        xs.send(_element("resumed", previd=previd, h=sm.inbound))
        authenticator.sessionStarted(session)
        domain = xs.thisEntity.full() if xs.thisEntity else None
        for when, stanza in sm.queue:
            xs.send(_delayed(stanza, when, domain))
        if sm.queue:
            sm.request(session)
        log.info(
            "{jid} resumed, {count} stanzas re-sent",
            jid=session.jid.full(),
            count=len(sm.queue),
        )

    # The end of a session.

    def ended(self, session):
        """
        A session with stream management ended: forget its SM-ID (keeping
        its C{h} for a later C{<failed h/>}) and deal with the stanzas it
        never acknowledged.
        """
        sm = session.sm
        if sm.hibernation is not None:
            if sm.hibernation.active():
                sm.hibernation.cancel()
            sm.hibernation = None
        if sm.id is not None and self.resumable.get(sm.id) is session:
            del self.resumable[sm.id]
            self._expired[sm.id] = (session.jid.user, sm.inbound)
            while len(self._expired) > EXPIRED_REMEMBERED:
                self._expired.popitem(last=False)
        queue, sm.queue = sm.queue, collections.deque()
        for when, stanza in queue:
            self.unacknowledged(session, stanza, when)

    def unacknowledged(self, session, stanza, when):
        """
        Treat a stanza the ended session never acknowledged as one for an
        unavailable resource (section 4; RFC 6121 section 8.5.3.2).
        """
        kind = stanza.getAttribute("type")
        if stanza.name == "iq":
            if kind in ("get", "set"):
                self._bounce(
                    session,
                    stanza,
                    "the recipient's session ended before it acknowledged this "
                    "request (XEP-0198)",
                )
        elif stanza.name == "message" and kind in (None, "normal", "chat"):
            if stanza.getAttribute("from") == session.jid.userhost():
                # From the account's own bare JID: the server's copy on its
                # behalf (XEP-0280 carbons), not a sender to tell.
                return
            to = stanza.getAttribute("to", "")
            if "/" not in to and session.manager.availableSessions(session.jid.user):
                return
            self.undelivered(session, stanza, when)

    def undelivered(self, session, message, when):
        """
        A chat or normal message that reached a session which ended before
        acknowledging it: deliver it again as one for a resource that is
        gone (RFC 6121 section 8.5.3.2.1), to the account's other available
        resources or else to offline storage (XEP-0160), which bounces what
        it cannot keep. It carries a delay stamp of its first delivery.

        @param when: when the message was first sent to the session, in the
            clock's seconds.
        """
        again = _delayed(copyStanza(message), when, session.jid.host)
        session.manager.router.route(again)

    def _bounce(self, session, stanza, text):
        if not stanza.getAttribute("from"):
            return
        reply = error.StanzaError("service-unavailable", text=text).toResponse(stanza)
        session.manager.router.route(reply)

    def reset(self):
        """
        End every hibernating session and forget expired SM-IDs: at server
        shutdown and reset, so that no timer is left.
        """
        for session in list(self.resumable.values()):
            if session.sm.hibernation is not None:
                session.ended()
        self._expired.clear()


def _delayed(stanza, when, domain):
    """
    Stamp a re-sent message or presence with the time of its first sending
    (XEP-0203), unless it carries a delay already.
    """
    if stanza.name not in ("message", "presence"):
        return stanza
    for _ in stanza.elements(NS_DELAY, "delay"):
        return stanza
    delay = stanza.addElement((NS_DELAY, "delay"))
    delay["stamp"] = formatDateTime(when)
    if domain:
        delay["from"] = domain
    return stanza
