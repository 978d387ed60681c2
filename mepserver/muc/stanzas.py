# -*- test-case-name: tests.test_muc_handler -*-
"""
The server-side halves of the MUC stanzas that wokkel's client-side
C{wokkel.muc} lacks: parsing joins (XEP-0045 7.2.1, 7.2.14), forms and
C{muc#admin} items (8-10), rendering occupant presence with C{muc#user}
items, actors, reasons and status codes (7.2.2, 7.6, 7.14, 8.2, 9.1, 12),
reflected messages with XEP-0359 stanza-ids and XEP-0421 occupant-ids,
history with XEP-0203 delays, the subject (7.2.15), status messages
(10.2.1), invitations and declines (7.8.2, 7.8.3, 9.5), registration
(7.10, 7.12), voice approval forms (8.6), admin lists (8.5, 9.2, 9.5, 9.8, 10.5, 10.8), configuration
and room-info forms (10.1.3, 6.4) and error replies.

Elements are built once per broadcast, not per recipient (DESIGN.md section
9): copies share their children, and the handler varies only C{to}.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence

from twisted.words.protocols.jabber import jid, xmlstream
from twisted.words.xish import domish
from wokkel import data_form
from wokkel.delay import NS_DELAY
from wokkel.disco import NS_DISCO_INFO
from wokkel.muc import NS_MUC, NS_MUC_ADMIN, NS_MUC_REQUEST, NS_MUC_USER

from mepserver import errors
from mepserver.datetimes import formatDateTime
from mepserver.muc.records import (
    AdminItem,
    AffiliationNotice,
    HistoryRequest,
    Invitation,
    ListEntry,
    Status,
)
from mepserver.muc.roles import Affiliation, Role
from mepserver.muc.roomconfig import ConfigField
from mepserver.namespaces import NS_CLIENT, NS_REGISTER, NS_XML
from mepserver.stanza import copyStanza, parseStanza, serializePlain

NS_MUC_ROOMCONFIG = NS_MUC + "#roomconfig"
NS_MUC_ROOMINFO = NS_MUC + "#roominfo"
NS_MUC_TRAFFIC = NS_MUC + "#traffic"
NS_MUC_REGISTER = NS_MUC + "#register"
#: The disco node of a user's reserved nick (XEP-0045 section 7.12).
NODE_ROOMUSER = "x-roomuser-item"
NS_SID = "urn:xmpp:sid:0"
NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0"
NS_PING = "urn:xmpp:ping"
NS_DATA = data_form.NS_X_DATA
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
#: How domish keys the C{xml:lang} attribute.
XML_LANG = (NS_XML, "lang")

#: Error conditions that show an occupant's real JID is gone (XEP-0045
#: section 18.1.2, with Prosody's additions: this server's own delivery
#: answers a groupchat message for a vanished resource with
#: service-unavailable).
KICKABLE_CONDITIONS = frozenset(
    {
        "gone",
        "item-not-found",
        "recipient-unavailable",
        "redirect",
        "remote-server-not-found",
        "remote-server-timeout",
        "service-unavailable",
        "jid-malformed",
        "internal-server-error",
    }
)


@dataclasses.dataclass(frozen=True)
class JoinRequest:
    """
    What a join presence's C{<x xmlns='http://jabber.org/protocol/muc'/>}
    asks for (XEP-0045 sections 7.2.1, 7.2.5, 7.2.14).

    @ivar password: the room password given, or L{None}.
    @ivar history: the history limits, or L{None} for the room's default.
    """

    password: Optional[str] = None
    history: Optional[HistoryRequest] = None


class Item(NamedTuple):
    """
    The C{<item/>} of a C{muc#user} element.

    A named tuple rather than a frozen dataclass: a room builds several for
    every join and leave, and a tuple is made in a quarter of the time
    (issue 16).

    @ivar reason: the C{<reason/>} of a role or affiliation change.
    @ivar actor: the nick of the C{<actor/>} who made it (8.2, 9.1).
    """

    affiliation: str
    role: str
    jid: Optional[jid.JID] = None
    nick: Optional[str] = None
    reason: Optional[str] = None
    actor: Optional[str] = None


def child(element: domish.Element, uri: str, name: str) -> Optional[domish.Element]:
    """
    @return: the first child element with this namespace and name, or
        L{None}.
    """
    for candidate in element.elements(uri, name):
        return candidate
    return None


def parseJoin(presence: domish.Element) -> Optional[JoinRequest]:
    """
    Read the MUC join element of a presence stanza.

    @return: a L{JoinRequest}, or L{None} if there is no C{<x/>} qualified
        by the MUC namespace (a groupchat 1.0 presence, section 7.2.18).
    """
    x = child(presence, NS_MUC, "x")
    if x is None:
        return None
    passwordElement = child(x, NS_MUC, "password")
    password = str(passwordElement) if passwordElement is not None else None
    historyElement = child(x, NS_MUC, "history")
    history = None
    if historyElement is not None:
        history = HistoryRequest(
            maxChars=_nonNegative(historyElement.getAttribute("maxchars")),
            maxStanzas=_nonNegative(historyElement.getAttribute("maxstanzas")),
            seconds=_nonNegative(historyElement.getAttribute("seconds")),
            since=parseDateTime(historyElement.getAttribute("since")),
        )
    return JoinRequest(password, history)


def _nonNegative(text: Optional[str]) -> Optional[int]:
    """
    A history limit; an unreadable one is ignored rather than refused, as
    a client asking for less history should still get in.
    """
    if text is None or not text.strip().isdigit():
        return None
    return int(text)


_DATETIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$"
)


def parseDateTime(text: Optional[str]) -> Optional[float]:
    """
    Read an XEP-0082 DateTime (C{CCYY-MM-DDThh:mm:ss[.sss]TZD}).

    @return: seconds since the epoch, or L{None} if C{text} is L{None} or
        not a DateTime.
    """
    if text is None:
        return None
    match = _DATETIME.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        stamp = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            tzinfo=datetime.timezone.utc,
        )
    except ValueError:
        return None
    seconds = stamp.timestamp() + (float(fraction) if fraction else 0.0)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


def _isServiceChild(element: domish.Element) -> bool:
    """
    Children only the service may generate: MUC join and user elements
    (section 17.3, rule 6) and occupant-ids (XEP-0421 section 4).
    """
    if element.uri == NS_OCCUPANT_ID:
        return True
    return element.name == "x" and element.uri in (NS_MUC, NS_MUC_USER)


class PresencePayload:
    """
    The part of a client's presence the room passes on (section 17.3,
    rules 6 and 7), as the room keeps it for every session of every
    occupant: its id and language, and its children (show, status, caps,
    ...) serialized once, as XML in the C{jabber:client} namespace.

    Every presence the room sends for the session splices the text in
    (L{occupantPresence}) instead of serializing the children again, and
    the room keeps a string instead of the client's whole stanza: parsed
    elements cost about a kilobyte each (issue 16).

    @ivar attributes: the C{id} and C{xml:lang} attributes it had, keyed as
        domish keys them.
    @ivar xml: the children, as XML text.
    """

    __slots__ = ("attributes", "xml")

    def __init__(self, attributes: Dict, xml: str):
        self.attributes = attributes
        self.xml = xml

    def __repr__(self) -> str:
        return f"<PresencePayload {self.attributes!r} {self.xml!r}>"

    def __eq__(self, other) -> bool:
        if not isinstance(other, PresencePayload):
            return NotImplemented
        return (self.attributes, self.xml) == (other.attributes, other.xml)

    def element(self) -> domish.Element:
        """
        @return: the payload parsed again, as a C{<presence/>} with these
            attributes and children (for the HTTP API, which reads caps).
        """
        presence = parseStanza(f"<presence xmlns='{NS_CLIENT}'>{self.xml}</presence>")
        presence.attributes.update(self.attributes)
        return presence


#: No prefixes in scope: what a child of a client's presence is
#: serialized with, alone (L{presencePayload}).
_NO_PREFIXES: Dict[str, str] = {}


def presencePayload(presence: domish.Element) -> PresencePayload:
    """
    The part of a client's presence the room passes on (section 17.3,
    rules 6 and 7): its id, language and children (show, status, caps, ...)
    without the MUC elements only the service may generate.
    """
    attributes = {}
    for name in ("id", XML_LANG):
        value = presence.attributes.get(name)
        if value is not None:
            attributes[name] = value
    parts = []
    for c in presence.children:
        if isinstance(c, domish.Element):
            if not _isServiceChild(c):
                # In the stanza's namespace: what the room sends is in
                # jabber:client, and the children go inside it as they are.
                # Most children need no prefix: the plain serializer
                # writes the same text faster (every join, issue 16).
                text = serializePlain(c, _NO_PREFIXES, presence.uri)
                if text is None:
                    text = c.toXml(defaultUri=presence.uri)
                parts.append(text)
        else:
            parts.append(domish.escapeToXml(c))
    return PresencePayload(attributes, "".join(parts))


def userElement(
    item: Optional[Item] = None,
    statuses: Iterable[Status] = (),
) -> domish.Element:
    """
    A C{<x xmlns='http://jabber.org/protocol/muc#user'/>} with an item and
    status codes, in ascending order.
    """
    x = domish.Element((NS_MUC_USER, "x"), NS_MUC_USER)
    if item is not None:
        attributes = {"affiliation": item.affiliation, "role": item.role}
        if item.jid is not None:
            attributes["jid"] = item.jid.full()
        if item.nick is not None:
            attributes["nick"] = item.nick
        element = _child(x, NS_MUC_USER, "item", attributes)
        if item.actor is not None:
            _child(element, NS_MUC_USER, "actor", {"nick": item.actor})
        if item.reason:
            element.addElement("reason", content=item.reason)
    for status in sorted(statuses):
        _child(x, NS_MUC_USER, "status", {"code": str(int(status))})
    return x


def _child(parent: domish.Element, uri: str, name: str, attributes: Dict[str, str]) -> domish.Element:
    """
    Add a child element with its attributes, as C{addElement} and item
    assignments would, in fewer steps: every presence the room sends is
    built of such elements (issue 16).
    """
    element = domish.Element((uri, name), uri, attributes)
    element.parent = parent
    parent.children.append(element)
    return element


def occupantPresence(
    payload: Optional[domish.Element],
    sender: jid.JID,
    item: Item,
    statuses: Iterable[Status] = (),
    occupantId: Optional[str] = None,
    kind: Optional[str] = None,
    extra: Sequence[domish.Element] = (),
) -> domish.Element:
    """
    Presence from an occupant JID, as the room sends it (sections 7.2.2,
    7.6, 7.7, 7.14), without C{to}.

    @param payload: the L{PresencePayload} the room kept of the client's
        presence, or L{None} for none.
    @param kind: the C{type}: L{None} or C{"unavailable"}.
    @param extra: more children of the C{muc#user} element (C{<destroy/>}).
    """
    presence = domish.Element((NS_CLIENT, "presence"), NS_CLIENT)
    if payload is not None:
        presence.attributes.update(payload.attributes)
        if payload.xml:
            presence.children.append(domish.SerializedXML(payload.xml))
    presence.attributes["from"] = sender.full()
    if kind is not None:
        presence.attributes["type"] = kind
    x = userElement(item, statuses)
    for element in extra:
        x.addChild(element)
    x.parent = presence
    presence.children.append(x)
    if occupantId is not None:
        _child(presence, NS_OCCUPANT_ID, "occupant-id", {"id": occupantId})
    return presence


def errorPresence(
    presence: domish.Element, refusal: errors.Refusal, sender: jid.JID, by: jid.JID
) -> domish.Element:
    """
    A presence error answering C{presence} (sections 7.2.5-7.2.10): from
    C{sender}, with the empty MUC element and never the client's password.
    """
    reply = domish.Element((NS_CLIENT, "presence"))
    reply["from"] = sender.full()
    reply["to"] = presence["from"]
    reply["type"] = "error"
    if presence.getAttribute("id"):
        reply["id"] = presence["id"]
    reply.addElement((NS_MUC, "x"))
    reply.addChild(_errorElement(refusal, by))
    return reply


def _errorElement(refusal: errors.Refusal, by: Optional[jid.JID]) -> domish.Element:
    element = errors.stanzaError(refusal).getElement()
    if by is not None:
        element["by"] = by.full()
    return element


def errorReply(
    stanza: domish.Element, refusal: errors.Refusal, by: Optional[jid.JID] = None
) -> Optional[domish.Element]:
    """
    The error reply to a message or IQ, echoing its children (RFC 6120
    section 8.3.1); L{None} for an error, which is never answered.
    """
    if stanza.getAttribute("type") == "error":
        return None
    reply = xmlstream.toResponse(stanza, "error")
    reply.children = list(stanza.children)
    reply.addChild(_errorElement(refusal, by))
    return reply


def errorCondition(stanza: domish.Element) -> Optional[str]:
    """
    @return: the defined condition of an error stanza, or L{None}.
    """
    for element in stanza.elements():
        if element.name == "error":
            for condition in element.elements(NS_STANZAS):
                if condition.name != "text":
                    return condition.name
    return None


def isKickable(stanza: domish.Element) -> bool:
    """
    Whether an error stanza from an occupant's real JID shows it is gone
    (section 18.1.2); a malformed error counts too, as in Prosody.
    """
    condition = errorCondition(stanza)
    return condition is None or condition in KICKABLE_CONDITIONS


def subjectChange(message: domish.Element) -> Optional[str]:
    """
    The new subject of a subject change (section 8.1): a message with a
    C{<subject/>} but no C{<body/>} and no C{<thread/>}.

    @return: the subject (empty to remove it), or L{None} if the message is
        not a subject change.
    """
    subject = None
    for element in message.elements():
        if element.uri != message.uri and element.uri not in (NS_CLIENT, None):
            continue
        if element.name in ("body", "thread"):
            return None
        if element.name == "subject" and subject is None:
            subject = str(element)
    return subject


def hasBody(message: domish.Element) -> bool:
    """
    Whether a message has a C{<body/>}.
    """
    return any(e.name == "body" and e.uri in (NS_CLIENT, None, message.uri)
               for e in message.elements())


def reflectedMessage(
    message: domish.Element,
    sender: jid.JID,
    roomJID: jid.JID,
    messageId: str,
    occupantId: str,
    stanzaId: Optional[str] = None,
) -> domish.Element:
    """
    A client's message as the room passes it on, without C{to}: from the
    sender's occupant JID, with its id (section 7.4: C{messageId}), the
    room's XEP-0359 stanza-id (any claiming to be by the room removed,
    XEP-0359 section 4) and the XEP-0421 occupant-id (any given replaced).
    """
    reflected = domish.Element((NS_CLIENT, "message"))
    for name, value in message.attributes.items():
        if name not in ("from", "to", "id"):
            reflected.attributes[name] = value
    reflected["from"] = sender.full()
    reflected["id"] = messageId
    room = roomJID.full()
    reflected.children = [
        c for c in message.children
        if not (
            isinstance(c, domish.Element)
            and (
                c.uri == NS_OCCUPANT_ID
                or (c.uri == NS_SID and c.name == "stanza-id"
                    and c.getAttribute("by") == room)
            )
        )
    ]
    if stanzaId is not None:
        element = reflected.addElement((NS_SID, "stanza-id"))
        element["id"] = stanzaId
        element["by"] = room
    reflected.addElement((NS_OCCUPANT_ID, "occupant-id"))["id"] = occupantId
    return reflected


def privateMessage(
    message: domish.Element, sender: jid.JID, occupantId: str
) -> domish.Element:
    """
    A private message as the room passes it on (section 7.5), without
    C{to}: from the sender's occupant JID, with the C{muc#user} marker.
    """
    reflected = domish.Element((NS_CLIENT, "message"))
    reflected.attributes.update(message.attributes)
    reflected.attributes.pop("to", None)
    reflected["from"] = sender.full()
    reflected.children = [
        c for c in message.children
        if not (isinstance(c, domish.Element) and c.uri == NS_OCCUPANT_ID)
    ]
    if child(message, NS_MUC_USER, "x") is None:
        reflected.addElement((NS_MUC_USER, "x"))
    reflected.addElement((NS_OCCUPANT_ID, "occupant-id"))["id"] = occupantId
    return reflected


def delayed(element: domish.Element, stamp: float, roomJID: jid.JID) -> domish.Element:
    """
    A copy of C{element} with an XEP-0203 delay from the room (section
    7.2.13).
    """
    copy = copyStanza(element)
    delay = copy.addElement((NS_DELAY, "delay"))
    delay["from"] = roomJID.full()
    delay["stamp"] = formatDateTime(stamp)
    return copy


def subjectMessage(
    roomJID: jid.JID,
    sender: jid.JID,
    subject: str,
    messageId: str,
    stamp: Optional[float] = None,
    occupantId: Optional[str] = None,
    stanzaId: Optional[str] = None,
) -> domish.Element:
    """
    The subject message of section 7.2.15 (or a change, 8.1), without
    C{to}: from the occupant JID that set it or the room, with a delay when
    the subject was ever set; a change has the room's XEP-0359 stanza-id.
    """
    message = domish.Element((NS_CLIENT, "message"))
    message["from"] = sender.full()
    message["type"] = "groupchat"
    message["id"] = messageId
    message.addElement("subject", content=subject)
    if stamp is not None:
        delay = message.addElement((NS_DELAY, "delay"))
        delay["from"] = roomJID.full()
        delay["stamp"] = formatDateTime(stamp)
    if stanzaId is not None:
        element = message.addElement((NS_SID, "stanza-id"))
        element["id"] = stanzaId
        element["by"] = roomJID.full()
    if occupantId is not None:
        message.addElement((NS_OCCUPANT_ID, "occupant-id"))["id"] = occupantId
    return message


def statusMessage(roomJID: jid.JID, statuses: Iterable[Status], messageId: str) -> domish.Element:
    """
    A groupchat message from the room carrying status codes (section
    10.2.1: 104, 172, 173), without C{to}.
    """
    message = domish.Element((NS_CLIENT, "message"))
    message["from"] = roomJID.full()
    message["type"] = "groupchat"
    message["id"] = messageId
    message.addChild(userElement(None, statuses))
    return message


def form(
    fields: Sequence[ConfigField],
    formType: str,
    namespace: str,
    title: Optional[str] = None,
    instructions: Optional[str] = None,
) -> data_form.Form:
    """
    A data form (XEP-0004) of L{ConfigField}s.
    """
    result = data_form.Form(
        formType,
        title=title,
        instructions=[instructions] if instructions else None,
        formNamespace=namespace,
    )
    for field in fields:
        result.addField(
            data_form.Field(
                field.type,
                var=field.var or None,
                values=list(field.values),
                options=[data_form.Option(v, label) for v, label in field.options],
                label=field.label or None,
            )
        )
    return result


@dataclasses.dataclass(frozen=True)
class SubmittedForm:
    """
    A data form sent by a client.

    @ivar type: C{submit} or C{cancel} (or anything else the client wrote).
    @ivar formType: the C{FORM_TYPE} value, or L{None}.
    @ivar values: field C{var}s mapped to lists of value strings.
    """

    type: Optional[str]
    formType: Optional[str]
    values: Dict[str, List[str]]


def parseForm(element: domish.Element) -> SubmittedForm:
    """
    Read a submitted data form, leniently: fields without C{var} are skipped
    and types are ignored (the room checks each value).
    """
    values: Dict[str, List[str]] = {}
    for field in element.elements(NS_DATA, "field"):
        var = field.getAttribute("var")
        if not var:
            continue
        values[var] = [str(v) for v in field.elements(NS_DATA, "value")]
    formType = values.pop("FORM_TYPE", [None])
    return SubmittedForm(
        element.getAttribute("type"), formType[0] if formType else None, values
    )


def iqResult(iq: domish.Element) -> domish.Element:
    """
    An empty IQ result to C{iq}.
    """
    reply = domish.Element((NS_CLIENT, "iq"))
    reply["type"] = "result"
    reply["from"] = iq["to"]
    reply["to"] = iq["from"]
    if iq.getAttribute("id") is not None:
        reply["id"] = iq["id"]
    return reply


def gc1Kick(sender: jid.JID, recipient: jid.JID) -> domish.Element:
    """
    The answer to presence without the MUC element from a non-occupant
    (section 7.2.18): an explicit kick with 110, 307 and 333.
    """
    presence = domish.Element((NS_CLIENT, "presence"))
    presence["from"] = sender.full()
    presence["to"] = recipient.full()
    presence["type"] = "unavailable"
    x = userElement(
        Item("none", "none"), (Status.SELF, Status.KICKED, Status.ERROR)
    )
    next(x.elements(NS_MUC_USER, "item")).addElement(
        "reason", content="You are not in the room."
    )
    presence.addChild(x)
    return presence


def destroyElement(
    alternate: Optional[jid.JID], reason: Optional[str], password: Optional[str] = None
) -> domish.Element:
    """
    The C{<destroy/>} of a destroyed room's unavailable presence (section
    10.9): the alternate venue, the reason and the venue's password.
    """
    element = domish.Element((NS_MUC_USER, "destroy"))
    if alternate is not None:
        element["jid"] = alternate.full()
    if reason:
        element.addElement("reason", content=reason)
    if password:
        element.addElement("password", content=password)
    return element



def reasonOf(element: domish.Element) -> Optional[str]:
    """
    @return: the text of an element's C{<reason/>} child (in its
        namespace), or L{None}.
    """
    reason = child(element, element.uri, "reason")
    return str(reason) if reason is not None else None


def parseAdminItems(query: domish.Element) -> List[AdminItem]:
    """
    Read the items of a C{muc#admin} query (XEP-0045 sections 8-10).

    @raise errors.BadRequest: an unknown role or affiliation.
    @raise errors.MalformedJID: a malformed JID.
    """
    items = []
    for element in query.elements(NS_MUC_ADMIN, "item"):
        affiliation = role = user = None
        value = element.getAttribute("affiliation")
        if value is not None:
            try:
                affiliation = Affiliation(value)
            except ValueError:
                raise errors.BadRequest(f"{value!r} is not an affiliation")
        value = element.getAttribute("role")
        if value is not None:
            try:
                role = Role(value)
            except ValueError:
                raise errors.BadRequest(f"{value!r} is not a role")
        value = element.getAttribute("jid")
        if value is not None:
            try:
                user = jid.internJID(value)
            except jid.InvalidFormat:
                raise errors.MalformedJID(f"{value!r} is not a JID")
        items.append(AdminItem(
            affiliation, role, user, element.getAttribute("nick"), reasonOf(element)
        ))
    return items


def adminList(iq: domish.Element, entries: Sequence[ListEntry]) -> domish.Element:
    """
    The result of a list query (sections 8.5, 9.2, 9.5, 9.8, 10.5, 10.8).
    """
    reply = iqResult(iq)
    query = reply.addElement((NS_MUC_ADMIN, "query"))
    for entry in entries:
        item = query.addElement("item")
        item["affiliation"] = entry.affiliation.value
        item["jid"] = entry.jid.full()
        if entry.nick is not None:
            item["nick"] = entry.nick
        if entry.role is not None:
            item["role"] = entry.role.value
        if entry.reason:
            item.addElement("reason", content=entry.reason)
    return reply


def invitationMessage(
    roomJID: jid.JID, invitation: Invitation, messageId: str
) -> domish.Element:
    """
    The invitation the room sends on (sections 7.8.2 and 9.5): from the
    room, with the inviter, the reason and the room's password.
    """
    message = domish.Element((NS_CLIENT, "message"))
    message["from"] = roomJID.full()
    message["to"] = invitation.invitee.full()
    message["id"] = messageId
    x = message.addElement((NS_MUC_USER, "x"))
    invite = x.addElement("invite")
    invite["from"] = invitation.inviter.full()
    if invitation.reason:
        invite.addElement("reason", content=invitation.reason)
    if invitation.password:
        x.addElement("password", content=invitation.password)
    return message


def affiliationNotice(
    roomJID: jid.JID, notice: AffiliationNotice, messageId: str
) -> domish.Element:
    """
    An absent user's new affiliation, from the room to an occupant
    (sections 10.3, 10.6 and 10.7, example 180): an item with the
    affiliation, the user's JID and role C{none}.
    """
    message = domish.Element((NS_CLIENT, "message"))
    message["from"] = roomJID.full()
    message["id"] = messageId
    item = message.addElement((NS_MUC_USER, "x")).addElement("item")
    item["affiliation"] = notice.affiliation.value
    item["jid"] = notice.user.full()
    item["role"] = Role.NONE.value
    return message


def declineMessage(
    roomJID: jid.JID,
    recipient: jid.JID,
    decliner: jid.JID,
    reason: Optional[str],
    messageId: str,
) -> domish.Element:
    """
    A declined invitation, as the room passes it to the inviter (section
    7.8.3).
    """
    message = domish.Element((NS_CLIENT, "message"))
    message["from"] = roomJID.full()
    message["to"] = recipient.full()
    message["id"] = messageId
    decline = message.addElement((NS_MUC_USER, "x")).addElement("decline")
    decline["from"] = decliner.full()
    if reason:
        decline.addElement("reason", content=reason)
    return message


def voiceApproval(
    roomJID: jid.JID, session: jid.JID, nick: str, messageId: str
) -> domish.Element:
    """
    The voice approval form the room sends each moderator, without C{to}
    (section 8.6).
    """
    message = domish.Element((NS_CLIENT, "message"))
    message["from"] = roomJID.full()
    message["id"] = messageId
    fields = [
        ConfigField("muc#role", "list-single", "Requested role", ("participant",),
                    (("participant", "Participant"),)),
        ConfigField("muc#jid", "jid-single", "User ID", (session.full(),)),
        ConfigField("muc#roomnick", "text-single", "Room Nickname", (nick,)),
        ConfigField("muc#request_allow", "boolean", "Grant voice to this person?", ("false",)),
    ]
    message.addChild(form(
        fields, "form", NS_MUC_REQUEST, title="Voice request",
        instructions=(
            'To approve this request for voice, select the "Grant voice to this '
            'person?" checkbox and click OK. To skip this request, click the '
            "cancel button."
        ),
    ).toElement())
    return message


def shutdownPresence(
    sender: jid.JID, affiliation: str, session: jid.JID, occupantId: str
) -> domish.Element:
    """
    The unavailable presence with 110 and 332 that tells an occupant the
    service shuts down (section 11.2), without C{to}.
    """
    return occupantPresence(
        None, sender, Item(affiliation, "none", session),
        (Status.SELF, Status.SHUTDOWN), occupantId, "unavailable",
    )


def registration(iq: domish.Element, nick: Optional[str]) -> domish.Element:
    """
    The answer to a request for registration requirements (section 7.10,
    examples 69 and 70): C{<registered/>} with the reserved nick, or the
    C{muc#register} form.
    """
    reply = iqResult(iq)
    query = reply.addElement((NS_REGISTER, "query"))
    if nick is not None:
        query.addElement("registered")
        query.addElement("username", content=nick)
        return reply
    query.addElement("instructions", content="Choose a nickname to reserve in this room.")
    registrationForm = data_form.Form(
        "form", title="Room registration", formNamespace=NS_MUC_REGISTER
    )
    registrationForm.addField(data_form.Field(
        "text-single", var="muc#register_roomnick", label="Desired Nickname", required=True,
    ))
    query.addChild(registrationForm.toElement())
    return reply


def reservedNick(iq: domish.Element, nick: Optional[str]) -> domish.Element:
    """
    The answer to a disco#info query on the C{x-roomuser-item} node
    (section 7.12, example 78): an identity named after the reserved nick,
    or an empty query.
    """
    reply = iqResult(iq)
    query = reply.addElement((NS_DISCO_INFO, "query"))
    query["node"] = NODE_ROOMUSER
    if nick is not None:
        identity = query.addElement("identity")
        identity["category"] = "conference"
        identity["type"] = "text"
        identity["name"] = nick
    return reply
