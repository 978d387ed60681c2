# -*- test-case-name: tests.test_muc_archive -*-
"""
Rooms' message archives (XEP-0313 section 7.1.2) and message moderation
(XEP-0425 with XEP-0424 retraction): what goes into a room's archive and
how it comes back, the moderation request and message, and tombstones.
The room option is L{mepserver.muc.features.archiving}; the handler
(L{mepserver.muc.handler.MUCHandler}) calls this module.

A room's archive is named by the room's bare JID in the
L{mepserver.interfaces.IArchiveStore}. What goes in (section 7.1.2, and
Prosody's C{muc-message-is-historic}, L{isArchivable}): the groupchat
messages the room accepted and broadcast that have a C{<body/>}, subject
changes, moderation messages (XEP-0424 section 5: the retraction is
archived too) and any with XEP-0334's C{<store/>}; never private
messages, nor any with C{<no-store/>} or C{<no-permanent-store/>}. Each
is archived once, under the XEP-0359 stanza-id its broadcast carries,
with the sender's occupant JID as C{from}, no C{to}, its occupant-id, and
no C{muc#user} C{<x/>} (section 7.1.2: stripped before storing, since
rooms pass clients' on); the sender's real full JID is the entry's
C{with_}. Results give it back from the occupant JID, with the real JID in
a C{muc#user} item only to those who may see real JIDs at the time of the
query (L{mepserver.muc.room.Room.archiveRevealsRealJIDsTo}).

Moderation (XEP-0425 version 0.3, C{urn:xmpp:message-moderate:1}, and the
version 0.2 request, C{urn:xmpp:message-moderate:0} inside a XEP-0422
C{<apply-to/>}, as Prosody's C{mod_muc_moderation} of 2023 takes it): a
moderator names a message by its stanza-id; the archive keeps a
tombstone in its place (section 4: the body and everything else but the
occupant-id give way to C{<retracted/>}, with the UID, timestamp and
C{with_} kept, XEP-0313 section 2.2), newcomers no longer get it as
history (XEP-0424 section 5), and the room broadcasts a moderation
message in both versions' forms, itself archived.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any, Callable, Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from zope.interface import implementer

from mepserver import errors
from mepserver.datetimes import formatDateTime
from mepserver.interfaces import ArchivedMessage, DuplicateArchiveID, IRoomObserver
from mepserver.mam.query import (
    PageLimits,
    fetchMetadata,
    parseQuery,
    queryForm,
    runQuery,
)
from mepserver.muc.stanzas import NS_MUC_USER, NS_OCCUPANT_ID, NS_SID, child
from mepserver.namespaces import NS_CLIENT
from mepserver.stanza import parseStanza

log = Logger()

#: How many removed room archives L{RoomArchives} remembers as empty.
CLEARED_SIZE = 4096

NS_RETRACT = "urn:xmpp:message-retract:1"
NS_MODERATE = "urn:xmpp:message-moderate:1"
#: XEP-0425 version 0.2 and the XEP-0424 and XEP-0422 versions it used.
NS_MODERATE_0 = "urn:xmpp:message-moderate:0"
NS_RETRACT_0 = "urn:xmpp:message-retract:0"
NS_FASTEN = "urn:xmpp:fasten:0"
NS_HINTS = "urn:xmpp:hints"


def isArchivable(message: domish.Element) -> bool:
    """
    Whether a groupchat message the room broadcasts goes into its archive
    (the module says which).
    """
    hints = {e.name for e in message.elements(NS_HINTS)}
    if "no-store" in hints or "no-permanent-store" in hints:
        return False
    if "store" in hints:
        return True
    for element in message.elements():
        if element.name in ("body", "subject") and element.uri in (NS_CLIENT, None, message.uri):
            return True
        if (element.uri, element.name) in ((NS_RETRACT, "retract"), (NS_FASTEN, "apply-to")):
            return True
    return False


def storedCopy(message: domish.Element, roomJID: jid.JID) -> str:
    """
    The XML a room's archive keeps of a message it broadcast: without
    C{to}, C{muc#user} C{<x/>} (XEP-0313 section 7.1.2) or the room's own
    stanza-id (the result's UID gives it, section 4.2).
    """
    room = roomJID.full()
    copy = domish.Element((NS_CLIENT, "message"))
    copy.attributes = {k: v for k, v in message.attributes.items() if k != "to"}
    copy.children = [
        c
        for c in message.children
        if not (
            isinstance(c, domish.Element)
            and (
                (c.uri, c.name) == (NS_MUC_USER, "x")
                or ((c.uri, c.name) == (NS_SID, "stanza-id") and c.getAttribute("by") == room)
            )
        )
    ]
    return copy.toXml()


def forwardedMessage(archived: ArchivedMessage, realJIDs: bool) -> domish.Element:
    """
    The message a query result forwards (XEP-0313 section 7.1.2): as
    stored, from the occupant JID without C{to}, and, if C{realJIDs}, with
    the sender's real JID in a C{muc#user} item.
    """
    message = parseStanza(archived.stanza)
    if realJIDs and archived.with_:
        x = message.addElement((NS_MUC_USER, "x"))
        x.addElement("item")["jid"] = archived.with_
    return message


@dataclasses.dataclass(frozen=True)
class ModerationRequest:
    """
    A moderator's request to retract a message (XEP-0425 section 3).

    @ivar id: the stanza-id of the message.
    @ivar reason: the reason given, or L{None}.
    """

    id: str
    reason: Optional[str]


def isModeration(payload: domish.Element) -> bool:
    """
    Whether an IQ's child is a moderation request (L{parseModeration}):
    a C{<moderate/>} of XEP-0425, or a XEP-0422 C{<apply-to/>} holding a
    version 0.2 one.
    """
    if (payload.uri, payload.name) == (NS_MODERATE, "moderate"):
        return True
    return (payload.uri, payload.name) == (NS_FASTEN, "apply-to") and (
        child(payload, NS_MODERATE_0, "moderate") is not None
    )


def parseModeration(payload: domish.Element) -> ModerationRequest:
    """
    Read a moderation request: a C{<moderate id=...
    xmlns='urn:xmpp:message-moderate:1'>} (XEP-0425 section 3), or the
    version 0.2 C{<apply-to id=... xmlns='urn:xmpp:fasten:0'>} holding a
    C{<moderate xmlns='urn:xmpp:message-moderate:0'/>}.

    @param payload: the IQ's child, for which L{isModeration} holds.
    @return: the request.
    @raise errors.BadRequest: no C{id}.
    @raise errors.FeatureNotImplemented: an action other than retraction.
    """
    if (payload.uri, payload.name) == (NS_MODERATE, "moderate"):
        moderate, retractNS, identifier = payload, NS_RETRACT, payload.getAttribute("id")
    else:
        moderate = child(payload, NS_MODERATE_0, "moderate")
        retractNS, identifier = NS_RETRACT_0, payload.getAttribute("id")
    if not identifier:
        raise errors.BadRequest("name the message to moderate by its stanza-id ('id')")
    if child(moderate, retractNS, "retract") is None:
        raise errors.FeatureNotImplemented(
            f"only retraction is supported: put <retract xmlns='{retractNS}'/> in <moderate/>"
        )
    reason = child(moderate, moderate.uri, "reason")
    return ModerationRequest(identifier, str(reason) if reason is not None else None)


def _moderated(uri: str, by: Optional[jid.JID], occupantId: Optional[str]) -> domish.Element:
    element = domish.Element((uri, "moderated"))
    if by is not None:
        element["by"] = by.full()
    if occupantId is not None:
        element.addElement((NS_OCCUPANT_ID, "occupant-id"))["id"] = occupantId
    return element


def moderationMessage(
    roomJID: jid.JID,
    target: str,
    by: Optional[jid.JID],
    occupantId: str,
    reason: Optional[str],
    messageId: str,
    stanzaId: str,
) -> domish.Element:
    """
    The message a room broadcasts when a message is moderated (XEP-0425
    section 3.1), from the bare room JID, without C{to}: a XEP-0424
    C{<retract/>} holding C{<moderated by=.../>} with the moderator's
    occupant-id and the reason; then, for clients of version 0.2, the
    same as C{<apply-to/>}; and the room's stanza-id.

    @param target: the stanza-id of the moderated message.
    @param by: the moderator's occupant JID, or L{None}.
    """
    message = domish.Element((NS_CLIENT, "message"))
    message["from"] = roomJID.full()
    message["type"] = "groupchat"
    message["id"] = messageId
    retract = message.addElement((NS_RETRACT, "retract"))
    retract["id"] = target
    retract.addChild(_moderated(NS_MODERATE, by, occupantId))
    if reason is not None:
        retract.addElement((NS_RETRACT, "reason"), content=reason)
    applyTo = message.addElement((NS_FASTEN, "apply-to"))
    applyTo["id"] = target
    legacy = applyTo.addChild(_moderated(NS_MODERATE_0, by, None))
    legacy.addElement((NS_RETRACT_0, "retract"))
    if reason is not None:
        legacy.addElement((NS_MODERATE_0, "reason"), content=reason)
    sid = message.addElement((NS_SID, "stanza-id"))
    sid["id"] = stanzaId
    sid["by"] = roomJID.full()
    return message


def tombstone(
    stored: domish.Element,
    retractionId: str,
    stamp: float,
    by: Optional[jid.JID],
    occupantId: str,
    reason: Optional[str],
) -> domish.Element:
    """
    What the archive keeps of a moderated message (XEP-0425 section 4,
    XEP-0424 section 4): its attributes and occupant-id, and a
    C{<retracted/>} whose C{id} is the moderation message's (XEP-0424:
    the retraction's C{id}), with the time and the moderator.

    @param stored: the message as archived.
    @param retractionId: the C{id} of the moderation message.
    """
    message = domish.Element((NS_CLIENT, "message"))
    message.attributes = dict(stored.attributes)
    for element in stored.elements(NS_OCCUPANT_ID, "occupant-id"):
        message.addChild(element)
    retracted = message.addElement((NS_RETRACT, "retracted"))
    retracted["id"] = retractionId
    retracted["stamp"] = formatDateTime(stamp)
    retracted.addChild(_moderated(NS_MODERATE, by, occupantId))
    if reason is not None:
        retracted.addElement((NS_RETRACT, "reason"), content=reason)
    return message


@implementer(IRoomObserver)
class RoomArchives:
    """
    The MUC service's room archives: entries, queries, metadata,
    moderation and removal with the room.

    As an L{IRoomObserver} of the rooms, it removes a room's archive when
    the room is destroyed or, temporary, emptied (XEP-0313 section 7.1.2:
    the archive is the room's). It remembers the last L{CLEARED_SIZE}
    archives it removed and has archived nothing in since: removing one
    again writes nothing (a temporary room that keeps no archive is
    emptied again and again, issue 16).

    @ivar store: the L{mepserver.interfaces.IArchiveStore}.
    @ivar clock: the clock of the timestamps.
    @ivar limit: the most messages one archive keeps (the oldest go).
    @ivar limits: the L{PageLimits} of queries.
    @ivar expiry: something with an C{arm()} that runs the expiry timer
        of every archive (L{mepserver.mam.account.AccountArchives}), or
        L{None}.
    """

    def __init__(
        self,
        store,
        clock,
        limit: Optional[int] = None,
        limits: PageLimits = PageLimits(),
        expiry: Any = None,
    ):
        self.store = store
        self.clock = clock
        self.limit = limit
        self.limits = limits
        self.expiry = expiry
        self._cleared: "OrderedDict[str, None]" = OrderedDict()

    @staticmethod
    def archiveOf(room) -> str:
        """
        @return: the address of a room's archive: its bare JID.
        """
        return room.jid.userhost()

    def add(self, room, message: domish.Element, uid: str, realJID: Optional[jid.JID]) -> defer.Deferred:
        """
        Issue the store call that archives a message the room is about to
        broadcast, under C{uid}, its stanza-id; a failure is logged, and
        the Deferred fires all the same (the message goes on).

        @param realJID: the sender's real full JID, or L{None} for the
            room's own messages.
        @return: a Deferred firing once stored.
        """
        entry = ArchivedMessage(
            id=uid,
            timestamp=self.clock.seconds(),
            with_=realJID.full() if realJID is not None else "",
            stanza=storedCopy(message, room.jid),
        )
        archive = self.archiveOf(room)
        self._cleared.pop(archive, None)
        d = self.store.archiveMessage(archive, entry, self.limit)
        if self.expiry is not None:
            self.expiry.arm()

        def failed(failure):
            if failure.check(DuplicateArchiveID):
                log.error("Archive UID {id} of {room} reused", id=uid, room=room.jid.full())
            else:
                log.failure("Archiving a message of {room}", failure, room=room.jid.full())

        return d.addErrback(failed)

    async def request(
        self, room, sender: jid.JID, iq: domish.Element, send: Callable[[domish.Element], object]
    ) -> Optional[domish.Element]:
        """
        Answer a query or metadata request to the room (XEP-0313 sections
        4, 5 and 7.1.2): the query form to anyone; the rest to those who
        may read the archive of a room that archives.

        @param send: sends one result message.
        @return: the child of the IQ result.
        @raise errors.Refusal: C{service-unavailable} for a room that keeps
            no archive, C{forbidden} for someone who may not read it or
            filter by sender without seeing real JIDs (section 4.1.1),
            C{bad-request} for an IQ set of metadata, and the refusals of
            L{mepserver.mam.query}.
        """
        request = next(iq.elements())
        if request.name == "query" and iq["type"] == "get":
            return queryForm()
        if not room.config.archiving:
            raise errors.ServiceUnavailable("this room keeps no message archive")
        room.checkArchiveReader(sender)
        realJIDs = room.archiveRevealsRealJIDsTo(sender)
        archive = self.archiveOf(room)
        if request.name == "metadata":
            if iq["type"] != "get":
                raise errors.BadRequest("archive metadata is read with an IQ get")
            return await fetchMetadata(self.store, archive)
        if parseQuery(request, self.limits).query.with_ is not None and not realJIDs:
            # Section 4.1.1: only for those who may know who sent what.
            raise errors.Forbidden(
                "you may not see real JIDs in this room, so you may not filter its archive by 'with'"
            )
        return await runQuery(
            self.store,
            archive,
            iq,
            send,
            self.limits,
            render=lambda archived: forwardedMessage(archived, realJIDs),
        )

    async def retract(
        self, room, uid: str, retractionId: str, by: Optional[jid.JID], occupantId: str,
        reason: Optional[str],
    ) -> bool:
        """
        Put a tombstone in place of a moderated message (XEP-0425 section
        4).

        @return: whether the archive held the message.
        """
        archive = self.archiveOf(room)
        archived = await self.store.getArchivedMessage(archive, uid)
        if archived is None:
            return False
        stone = tombstone(
            parseStanza(archived.stanza), retractionId, self.clock.seconds(), by, occupantId, reason
        )
        return await self.store.replaceArchivedMessage(archive, uid, stone.toXml())

    # IRoomObserver

    def roomCreated(self, room) -> None:
        pass

    def roomDiscarded(self, room) -> None:
        archive = self.archiveOf(room)
        if archive in self._cleared:
            # Removed before, and nothing archived since.
            self._cleared.move_to_end(archive)
            return
        # Cleared from the moment the removal is issued: the store runs
        # calls in order, so a later entry comes after it (and unmarks it).
        self._cleared[archive] = None
        while len(self._cleared) > CLEARED_SIZE:
            self._cleared.popitem(last=False)

        def failed(failure):
            self._cleared.pop(archive, None)
            log.failure("Removing the archive of {room}", failure, room=room.jid.full())

        self.store.removeArchive(archive).addErrback(failed)

    def roomsReset(self) -> None:
        # The fixture that resets the rooms resets their store too, and
        # may fill it again behind this object's back.
        self._cleared.clear()
