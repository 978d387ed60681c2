# -*- test-case-name: tests.test_errors -*-
"""
Domain exceptions, and the one table that turns them into stanza errors.

The models (L{mepserver.muc.room}, L{mepserver.pubsub.model}) raise these
exceptions with a C{text} saying why in plain words (DESIGN.md section 8);
the protocol handlers catch L{Refusal} and render it with L{stanzaError}.
Each exception names a situation, not a condition: the mapping to RFC 6120
conditions, with the error types and legacy codes XEP-0045 shows (section
7.2.17: 401, 403, 404, 405, 406, 407, 409, 503), lives only in
L{CONDITIONS}, and the pubsub-specific conditions of XEP-0060 section 14
only in L{PUBSUB_CONDITIONS}. L{ResetNotSupported} is the one exception
here that no stanza carries.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Type

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, xmlstream
from twisted.words.xish import domish

from mepserver.datetimes import formatDateTime
from mepserver.stanza import forLog

log = Logger()


class Refusal(Exception):
    """
    A request the server refuses with a stanza error.

    @ivar text: why, in plain words, for the error's C{<text/>}.
    """

    def __init__(self, text: Optional[str] = None):
        Exception.__init__(self, text)
        self.text = text

    def completeCondition(self, condition: domish.Element) -> None:
        """
        Add this refusal's details (attributes, children) to its
        application-specific condition element, made by L{stanzaError} from
        L{APPLICATION_CONDITIONS}; by default there are none.
        """


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
    A join without a nick, or a nick the Nickname profile refuses or longer
    than a resourcepart may be (XEP-0045 sections 7.2.1 and 17.1, RFC 8266,
    RFC 7622 section 3.4).
    """


class MalformedJID(Refusal):
    """
    An address in a request is not a JID (XEP-0045 sections 7.8.2 and 9).
    """


class NotOccupant(Refusal):
    """
    Only occupants may do this (XEP-0045 sections 7.4, 7.5 and XEP-0410).
    """


class NickConflict(Refusal):
    """
    The nick is in use or registered by someone else (XEP-0045 7.2.8, 7.6).
    """


class Conflict(Refusal):
    """
    The request contradicts the room's state: removing its last owner, or
    an admin banning itself (XEP-0045 sections 9.1 and 10.7).
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


class FeatureNotImplemented(Refusal):
    """
    The request uses a part of a protocol this server does not implement
    (XEP-0313 section 4.1.4: an unknown query form field; XEP-0059 section
    2.4: a page by index).
    """


# Publish-subscribe (XEP-0060) refusals. Each has a stanza error condition
# in CONDITIONS and, where XEP-0060 names one, a pubsub-specific condition
# in PUBSUB_CONDITIONS.


class Unsupported(Refusal):
    """
    The service does not implement a pubsub feature (XEP-0060 section 10).

    @ivar feature: the feature's name, such as C{"collections"}.
    """

    def __init__(self, feature: str, text: Optional[str] = None):
        Refusal.__init__(self, text)
        self.feature = feature


class NodeExists(Refusal):
    """
    A node with this identifier exists already (XEP-0060 section 8.1.1).
    """


class NodeIdRequired(BadRequest):
    """
    A request without the node it must name (XEP-0060 sections 7.2.3.3,
    8.2.3.3).
    """


class InstantNodesUnsupported(NodeIdRequired):
    """
    A create request without a NodeID: instant nodes are not supported
    (XEP-0060 section 8.1.2).
    """


class InvalidJID(BadRequest):
    """
    A subscription request for another entity's JID (XEP-0060 6.1.3.1).
    """


class NotSubscribed(Refusal):
    """
    An unsubscribe request for a JID that is not subscribed (XEP-0060
    section 6.2.3.2).
    """


class PresenceSubscriptionRequired(Refusal):
    """
    The node's access model is presence, and the requester does not share
    the owner's presence (XEP-0060 sections 6.1.3.2 and 6.5.9.6).
    """


class NotInRosterGroup(Refusal):
    """
    The node's access model is roster, and the requester is not in an
    allowed roster group (XEP-0060 sections 6.1.3.3 and 6.5.9.7).
    """


class ClosedNode(Refusal):
    """
    The node's access model is whitelist, and the requester is not on it
    (XEP-0060 sections 6.1.3.4 and 6.5.9.8).
    """


class PreconditionNotMet(Refusal):
    """
    A publish-options precondition does not match the node configuration
    (XEP-0060 section 7.1.5).
    """


class InvalidConfiguration(NotAcceptable):
    """
    A node configuration the service cannot accept: an unknown field or an
    invalid value (XEP-0060 sections 8.1.3 and 8.2.5.2).
    """


class UnsupportedAccessModel(NotAcceptable):
    """
    An access model the service does not offer (XEP-0060 section 8.1.2).
    """


class ItemRequired(BadRequest):
    """
    A publish without an item, or a retract without an item id (XEP-0060
    sections 7.1.3.6 and 7.2.3.4).
    """


class PayloadRequired(BadRequest):
    """
    A publish whose item carries no payload to a node that delivers
    payloads (XEP-0060 section 7.1.3.6).
    """


class InvalidPayload(BadRequest):
    """
    An item with more than one payload element (XEP-0060 section 7.1.3.5).
    """


class Blocked(NotAcceptable):
    """
    The sender blocks the recipient (XEP-0191 section 3.3): its stanza is
    not routed.
    """


class BadFormat(Refusal):
    """
    A private XML request (XEP-0049 section 2.3) without the one element
    it is about: C{bad-format}, as the XEP's example and Prosody answer,
    although RFC 6120 names no such stanza error condition.
    """


class FileTooLarge(NotAcceptable):
    """
    An HTTP File Upload slot request (XEP-0363 section 4) for a file larger
    than the service takes (section 6, Error conditions).

    @ivar maxFileSize: the largest file size in bytes, for the
        C{<max-file-size/>} of the C{<file-too-large/>} condition.
    """

    def __init__(self, maxFileSize: int, text: Optional[str] = None):
        NotAcceptable.__init__(self, text)
        self.maxFileSize = maxFileSize

    def completeCondition(self, condition):
        condition.addElement("max-file-size", content=str(self.maxFileSize))


class QuotaExceeded(NotAcceptable):
    """
    An HTTP File Upload slot request (XEP-0363) that the account's stored
    files leave no room for: only deleting files would make room, and this
    server deletes none, so the error is not temporary.
    """


class QuotaReached(Refusal):
    """
    An HTTP File Upload slot request (XEP-0363 section 6) that fits the
    account's quota only once some of its unused slots expire: a temporary
    error with the time of that expiry.

    @ivar retryAt: when the requester may try again, in seconds since the
        epoch, for the C{stamp} of the C{<retry/>} condition.
    """

    def __init__(self, retryAt: float, text: Optional[str] = None):
        Refusal.__init__(self, text)
        self.retryAt = retryAt

    def completeCondition(self, condition):
        condition["stamp"] = formatDateTime(self.retryAt)


class BadIdentifier(Refusal):
    """
    A NodeID or ItemID the server will not keep: one with a character XML
    does not allow, or longer than
    L{mepserver.xmlchars.MAX_IDENTIFIER_BYTES} (a local policy: XEP-0060
    sets no limit).
    """


class LimitReached(Refusal):
    """
    A request that would take the requester past one of the server's
    quotas (DESIGN.md section 3); the text names the quota and its
    setting. Undoing something (deleting a node or a room) makes room
    again, hence a temporary error.
    """


class TooManyNodes(LimitReached):
    """
    A node creation (XEP-0060 sections 7.1.4 and 8.1) at a pubsub service
    that holds as many nodes as it may (C{[pubsub] max_nodes}).
    """


class TooManyRooms(LimitReached):
    """
    A room creation (XEP-0045 section 10.1.1) by an account that owns as
    many rooms as one account may create (C{[muc] max_rooms_per_account}).
    """


class PayloadTooBig(NotAcceptable):
    """
    A publish whose payload would take the service's stored payloads past
    their limit (C{[pubsub] max_bytes}; XEP-0060 section 7.1.3.5:
    C{not-acceptable} with C{<payload-too-big/>}).
    """


class ResetNotSupported(RuntimeError):
    """
    L{mepserver.server.Server.reset} was asked of a server whose storage
    cannot be reset. No stanza carries it: the HTTP API answers it with a
    409 (L{mepserver.api}), L{mepserver.testing} lets it fail the call.
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
    MalformedJID: ("jid-malformed", "modify"),
    NotOccupant: ("not-acceptable", "cancel"),
    NickConflict: ("conflict", "cancel"),
    Conflict: ("conflict", "cancel"),
    PasswordRequired: ("not-authorized", "auth"),
    MembersOnly: ("registration-required", "auth"),
    Banned: ("forbidden", "auth"),
    # XEP-0045 7.2.9 shows type 'wait': the room may have room later.
    RoomFull: ("service-unavailable", "wait"),
    ServiceUnavailable: ("service-unavailable", "cancel"),
    FeatureNotImplemented: ("feature-not-implemented", "cancel"),
    Unsupported: ("feature-not-implemented", "cancel"),
    NodeExists: ("conflict", "cancel"),
    InstantNodesUnsupported: ("not-acceptable", "modify"),
    NotSubscribed: ("unexpected-request", "cancel"),
    PresenceSubscriptionRequired: ("not-authorized", "auth"),
    NotInRosterGroup: ("not-authorized", "auth"),
    ClosedNode: ("not-allowed", "cancel"),
    PreconditionNotMet: ("conflict", "cancel"),
    Blocked: ("not-acceptable", "cancel"),
    BadFormat: ("bad-format", "modify"),
    QuotaReached: ("resource-constraint", "wait"),
    # RFC 6120 section 8.3.3.12: a local policy, named in the text.
    BadIdentifier: ("policy-violation", "modify"),
    LimitReached: ("resource-constraint", "wait"),
}

#: The pubsub-specific conditions (XEP-0060 section 14.2, namespace
#: C{http://jabber.org/protocol/pubsub#errors}) that go with some
#: exceptions, looked up along the MRO like L{CONDITIONS}.
PUBSUB_CONDITIONS: Dict[Type[Refusal], str] = {
    Unsupported: "unsupported",
    NodeIdRequired: "nodeid-required",
    InvalidJID: "invalid-jid",
    NotSubscribed: "not-subscribed",
    PresenceSubscriptionRequired: "presence-subscription-required",
    NotInRosterGroup: "not-in-roster-group",
    ClosedNode: "closed-node",
    PreconditionNotMet: "precondition-not-met",
    UnsupportedAccessModel: "unsupported-access-model",
    ItemRequired: "item-required",
    PayloadRequired: "payload-required",
    InvalidPayload: "invalid-payload",
    TooManyNodes: "max-nodes-exceeded",
    PayloadTooBig: "payload-too-big",
}

NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors"

#: Application-specific conditions of other specifications: each exception
#: to its condition element's namespace and name (XEP-0191 section 3.3,
#: XEP-0363 section 6); L{Refusal.completeCondition} adds the details.
APPLICATION_CONDITIONS: Dict[Type[Refusal], Tuple[str, str]] = {
    Blocked: ("urn:xmpp:blocking:errors", "blocked"),
    FileTooLarge: ("urn:xmpp:http:upload:0", "file-too-large"),
    QuotaReached: ("urn:xmpp:http:upload:0", "retry"),
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
    appCondition = None
    for cls in type(refusal).__mro__:
        if cls in PUBSUB_CONDITIONS:
            appCondition = domish.Element((NS_PUBSUB_ERRORS, PUBSUB_CONDITIONS[cls]))
            feature = getattr(refusal, "feature", None)
            if feature is not None:
                appCondition["feature"] = feature
            break
        if cls in APPLICATION_CONDITIONS:
            appCondition = domish.Element(APPLICATION_CONDITIONS[cls])
            refusal.completeCondition(appCondition)
            break
    return error.StanzaError(
        condition, type=kind, text=refusal.text, appCondition=appCondition
    )


def answerIQ(iq: domish.Element, d: defer.Deferred) -> defer.Deferred:
    """
    Turn the outcome of an IQ request's processing into its answer: a
    result holding the element C{d} fires with (none for L{None}), the
    stanza error of a L{Refusal}, or C{internal-server-error} for anything
    else, which is logged.

    @param d: the Deferred of the processing.
    @return: C{d}, firing with the answer.
    """

    def result(child):
        response = xmlstream.toResponse(iq, "result")
        if isinstance(child, domish.Element):
            response.addChild(child)
        return response

    def refused(failure):
        failure.trap(Refusal)
        return stanzaError(failure.value).toResponse(iq)

    def failed(failure):
        log.failure("Processing {iq}", failure, iq=forLog(iq))
        return error.StanzaError("internal-server-error").toResponse(iq)

    return d.addCallbacks(result, refused).addErrback(failed)
