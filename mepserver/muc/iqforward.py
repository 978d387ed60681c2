# -*- test-case-name: tests.test_muc_iqforward -*-
"""
IQs through occupant JIDs (XEP-0045 section 17.4, DESIGN.md section 5):
a request to an occupant JID goes on to the occupant's real JID under a
new id, and its answer comes back to the requester
(L{forwardIQ}, L{answerIQ}); a session pinging its own occupant JID is
answered by the room (L{isSelfPing}, XEP-0410 section 3.3).

The room keeps the requests awaiting answers in L{PendingIQs}. Each
function takes the room first; L{mepserver.muc.room.Room} offers them as
methods.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING, Optional

from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.muc.records import AnsweredIQ, ForwardedIQ

if TYPE_CHECKING:
    from mepserver.muc.room import Room

#: How many forwarded IQs a room remembers while waiting for answers
#: (section 17.4); the oldest is forgotten first.
MAX_PENDING_IQS = 1000


@dataclasses.dataclass(frozen=True)
class PendingIQ:
    """
    A forwarded IQ request awaiting its answer.

    @ivar requester: the requester's real full JID.
    @ivar originalId: the request's own id.
    @ivar responder: the real full JID it was forwarded to.
    @ivar responderNick: the nick it was addressed to.
    @ivar requesterNick: the requester's nick.
    """

    requester: jid.JID
    originalId: str
    responder: jid.JID
    responderNick: str
    requesterNick: str


class PendingIQs:
    """
    The forwarded IQs of one room awaiting answers, by their new ids,
    oldest first; at most L{MAX_PENDING_IQS}.
    """

    def __init__(self) -> None:
        self._pending: "collections.OrderedDict[str, PendingIQ]" = collections.OrderedDict()

    def add(self, iqId: str, pending: PendingIQ) -> None:
        """
        Remember a forwarded request under its new id, forgetting the
        oldest beyond L{MAX_PENDING_IQS}.
        """
        self._pending[iqId] = pending
        while len(self._pending) > MAX_PENDING_IQS:
            self._pending.popitem(last=False)

    def take(self, iqId: str, responder: jid.JID, requesterNick: str) -> Optional[PendingIQ]:
        """
        Forget and return the request C{iqId} forwarded from
        C{requesterNick} to C{responder}, or L{None} if there is none.
        """
        pending = self._pending.get(iqId)
        if (
            pending is None
            or pending.responder != responder
            or pending.requesterNick != requesterNick
        ):
            return None
        del self._pending[iqId]
        return pending

    def forget(self, nick: str) -> None:
        """
        Forget the requests from or to C{nick}, which left or changed.
        """
        for key, pending in list(self._pending.items()):
            if nick in (pending.responderNick, pending.requesterNick):
                del self._pending[key]

    def clear(self) -> None:
        """
        Forget every request (the room was emptied).
        """
        self._pending.clear()


def isSelfPing(room: "Room", session: jid.JID, nick: str) -> bool:
    """
    Whether an IQ from C{session} to C{nick} is addressed to the
    session's own occupant JID (XEP-0410 section 3.3).

    @raise errors.NotOccupant: the session is not in the room: the
        answer that tells a client to rejoin.
    """
    return room.requireOccupant(session).nick == nick


def forwardIQ(
    room: "Room", session: jid.JID, nick: str, iqId: str, bare: bool = False
) -> ForwardedIQ:
    """
    Forward an IQ request to the real JID behind C{nick}: the session
    whose presence is shown.

    @param bare: forward to the occupant's real bare JID instead, whose
        server answers for the account: a vCard request (XEP-0054 section
        3.3; XEP-0153 downloads avatars from the bare JID), as Prosody's
        MUC does. The answer still comes back from the occupant JID, so a
        semi-anonymous room reveals no real JID.
    @raise errors.NotOccupant: the sender is not in the room.
    @raise errors.OccupantNotFound: no one has C{nick}.
    """
    sender = room.requireOccupant(session)
    recipient = room.addressed(nick)
    if recipient is None:
        raise errors.OccupantNotFound(f"there is no {nick!r} in this room")
    real = recipient.shownJID.userhostJID() if bare else recipient.shownJID
    forwarded = ForwardedIQ(room.ids.newId("muc-"), sender.jid, real)
    room.pendingIQs.add(
        forwarded.id,
        PendingIQ(session, iqId, forwarded.recipient, recipient.nick, sender.nick),
    )
    return forwarded


def answerIQ(room: "Room", session: jid.JID, nick: str, iqId: str) -> Optional[AnsweredIQ]:
    """
    Match an IQ result or error from C{session} to C{nick} with a
    forwarded request.

    @return: where to route it, or L{None} if it answers nothing this
        room forwarded from that occupant to that session.
    """
    pending = room.pendingIQs.take(iqId, session, nick)
    if pending is None:
        return None
    responder = room.occupants.get(pending.responderNick)
    if responder is None:
        return None
    return AnsweredIQ(pending.originalId, responder.jid, pending.requester)
