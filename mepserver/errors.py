# -*- test-case-name: tests.test_errors -*-
"""
Domain exceptions, and the one table that turns them into stanza errors.

The models (L{mepserver.muc.model}, and the MEP model later) raise these
exceptions with a C{text} saying why in plain words (DESIGN.md section 8);
the protocol handlers catch L{Refusal} and render it with L{stanzaError}.
Each exception names a situation, not a condition: the mapping to RFC 6120
conditions, with the error types and legacy codes XEP-0045 shows (section
7.2.17: 401, 403, 404, 405, 406, 407, 409, 503), lives only in
L{CONDITIONS}.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Type

from twisted.words.protocols.jabber import error


class Refusal(Exception):
    """
    A request the server refuses with a stanza error.

    @ivar text: why, in plain words, for the error's C{<text/>}.
    """

    def __init__(self, text: Optional[str] = None):
        Exception.__init__(self, text)
        self.text = text


class BadRequest(Refusal):
    """
    The request is malformed or makes no sense here.
    """


class Forbidden(Refusal):
    """
    The requester lacks the privilege (a role or affiliation) it needs.
    """


class NotAllowed(Refusal):
    """
    Nobody may do this here (XEP-0045 section 10.1.1: room creation).
    """


class NotAcceptable(Refusal):
    """
    The request violates a policy of the room or service (XEP-0045
    section 10.1.3: an unacceptable configuration).
    """


class ItemNotFound(Refusal):
    """
    The addressed thing does not exist.
    """


class RoomNotFound(ItemNotFound):
    """
    There is no such room, or it is locked and the requester is not an
    owner (XEP-0045 sections 7.2.10 and 10.1.2).
    """


class OccupantNotFound(ItemNotFound):
    """
    There is no occupant with this nick (XEP-0045 section 7.5).
    """


class NoNickname(Refusal):
    """
    A join without a nick, or with an invisible one (XEP-0045 sections
    7.2.1 and 17.1).
    """


class NotOccupant(Refusal):
    """
    Only occupants may do this (XEP-0045 sections 7.4, 7.5 and XEP-0410).
    """


class NickConflict(Refusal):
    """
    The nick is in use or registered by someone else (XEP-0045 7.2.8, 7.6).
    """


class PasswordRequired(Refusal):
    """
    A missing or wrong room password (XEP-0045 section 7.2.5).
    """


class MembersOnly(Refusal):
    """
    A non-member tries to enter a members-only room (XEP-0045 7.2.6).
    """


class Banned(Refusal):
    """
    An outcast tries to enter (XEP-0045 section 7.2.7).
    """


class RoomFull(Refusal):
    """
    The room has reached its maximum number of occupants (XEP-0045 7.2.9).
    """


class ServiceUnavailable(Refusal):
    """
    The addressed entity does not offer this.
    """


#: Each exception class to its stanza error condition and error type (RFC
#: 6120 section 8.3); L{stanzaError} looks a class up along its MRO, so a
#: subclass without its own line maps as its base. Twisted adds the legacy
#: code of each condition (conflict 409, forbidden 403, ...).
CONDITIONS: Dict[Type[Refusal], Tuple[str, str]] = {
    Refusal: ("undefined-condition", "cancel"),
    BadRequest: ("bad-request", "modify"),
    Forbidden: ("forbidden", "auth"),
    NotAllowed: ("not-allowed", "cancel"),
    NotAcceptable: ("not-acceptable", "modify"),
    ItemNotFound: ("item-not-found", "cancel"),
    NoNickname: ("jid-malformed", "modify"),
    NotOccupant: ("not-acceptable", "cancel"),
    NickConflict: ("conflict", "cancel"),
    PasswordRequired: ("not-authorized", "auth"),
    MembersOnly: ("registration-required", "auth"),
    Banned: ("forbidden", "auth"),
    # XEP-0045 7.2.9 shows type 'wait': the room may have room later.
    RoomFull: ("service-unavailable", "wait"),
    ServiceUnavailable: ("service-unavailable", "cancel"),
}


def stanzaError(refusal: Refusal) -> error.StanzaError:
    """
    The stanza error for a refusal, with its text.
    """
    for cls in type(refusal).__mro__:
        if cls in CONDITIONS:
            condition, kind = CONDITIONS[cls]
            break
    else:
        raise TypeError(f"{refusal!r} is not a Refusal")
    return error.StanzaError(condition, type=kind, text=refusal.text)
