# -*- test-case-name: tests.test_mam_query -*-
"""
The query protocol of Message Archive Management (XEP-0313), for any
archive: it knows nothing of whose archive it is, who may read it or which
messages go in; the account archive (L{mepserver.mam.account}) and the room
archive build on it.

  - section 4 and XEP-0059: L{parseQuery} reads a C{<query
    xmlns='urn:xmpp:mam:2'/>} (data form fields C{with}, C{start}, C{end},
    C{before-id}, C{after-id}, C{ids}; RSM C{max}, C{after}, C{before};
    C{<flip-page/>}; C{queryid}) into a L{MAMRequest} holding an
    L{mepserver.interfaces.ArchiveQuery}, or raises the refusal the
    request earns;
  - section 4.1.4: L{queryForm} is the form a C{get} of the query is
    answered with;
  - section 4.2: L{resultMessage} wraps one archived message in
    C{<result><forwarded><delay/>...};
  - sections 4.3 and XEP-0059 section 2: L{finElement} is the C{<fin/>}
    of the IQ result, with the RSM C{<set/>} of the page;
  - section 5: L{metadataElement} and L{fetchMetadata}, the archive's
    first and last message;
  - L{runQuery} does a whole query against an
    L{mepserver.interfaces.IArchiveStore}: parse, read the page, send the
    result messages, return the C{<fin/>}.

A handler answers with L{mepserver.errors.answerIQ}, which turns the
refusals raised here into stanza errors::

    d = errors.answerIQ(iq, defer.ensureDeferred(
        runQuery(store, archive, iq, send, limits)))
    d.addCallback(send)

Every function here is public API that the account and room archives
share: change signatures only compatibly.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel.data_form import NS_X_DATA
from wokkel.delay import NS_DELAY

from mepserver import errors
from mepserver.datetimes import formatDateTime
from mepserver.interfaces import (
    ArchivedMessage,
    ArchivePage,
    ArchiveQuery,
    UnknownArchiveID,
)
from mepserver.jids import parseJID
from mepserver.muc.stanzas import parseDateTime
from mepserver.namespaces import NS_CLIENT
from mepserver.stanza import parseStanza

NS_MAM = "urn:xmpp:mam:2"
#: Section 6: before-id, after-id, ids, flipped pages and metadata.
NS_MAM_EXTENDED = "urn:xmpp:mam:2#extended"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FORWARD = "urn:xmpp:forward:0"
NS_XDATA_VALIDATE = "http://jabber.org/protocol/xdata-validate"

#: Observer paths for a handler: an IQ with a query, or a metadata request.
MAM_QUERY = f"/iq/query[@xmlns='{NS_MAM}']"
MAM_METADATA = f"/iq/metadata[@xmlns='{NS_MAM}']"

#: Section 4.1: the fields every archive understands, with their types as
#: section 4.1.4 lists them.
STANDARD_FIELDS: Tuple[Tuple[str, str], ...] = (
    ("with", "jid-single"),
    ("start", "text-single"),
    ("end", "text-single"),
    ("before-id", "text-single"),
    ("after-id", "text-single"),
    ("ids", "list-multi"),
)


_DIGITS = re.compile("[0-9]+")


@dataclasses.dataclass(frozen=True)
class PageLimits:
    """
    How many messages one query's page holds (section 4.3.1: a server MAY
    limit it, and says so in the C{<set/>} it returns).

    @ivar default: the page size when the query has no RSM C{<max/>}.
    @ivar maximum: the largest page; a larger C{<max/>} is cut down to it.
    """

    default: int = 20
    maximum: int = 100


@dataclasses.dataclass(frozen=True)
class MAMRequest:
    """
    A parsed archive query.

    @ivar query: the L{ArchiveQuery} for the store; its C{with_} is a
        normalised JID string (bare or full as the client gave it).
    @ivar queryId: the C{queryid} attribute, or L{None} (section 4).
    @ivar flip: C{True} for C{<flip-page/>}: the page's messages are sent
        newest first (section 4.3.4); the page itself is the same.
    @ivar extra: the values of the extra fields the caller accepted
        (C{extraFields} of L{parseQuery}), by field name; absent fields
        are missing.
    """

    query: ArchiveQuery
    queryId: Optional[str] = None
    flip: bool = False
    extra: Dict[str, List[str]] = dataclasses.field(default_factory=dict)


def _child(element: domish.Element, uri: str, name: str) -> Optional[domish.Element]:
    return next(element.elements(uri, name), None)


def _single(values: Dict[str, List[str]], var: str) -> Optional[str]:
    """
    @return: the one value of a single-valued field, or L{None} for a
        field that is absent or has no value (as if absent).
    @raise errors.BadRequest: more than one value.
    """
    found = values.get(var)
    if not found:
        return None
    if len(found) > 1:
        raise errors.BadRequest(f"the field {var!r} takes one value, not {len(found)}")
    return found[0]


def _readForm(query: domish.Element) -> Dict[str, List[str]]:
    """
    @return: the values of the query's data form by field name (empty
        without a form).
    @raise errors.BadRequest: more than one form, a form that is not of
        type C{submit}, or of another C{FORM_TYPE}.
    """
    forms = list(query.elements(NS_X_DATA, "x"))
    if not forms:
        return {}
    if len(forms) > 1:
        raise errors.BadRequest("a query holds at most one data form")
    form = forms[0]
    kind = form.getAttribute("type", "submit")
    if kind != "submit":
        raise errors.BadRequest(
            f"the query form has type {kind!r}; submit a form of type 'submit'"
        )
    values: Dict[str, List[str]] = {}
    for field in form.elements(NS_X_DATA, "field"):
        var = field.getAttribute("var")
        if not var:
            raise errors.BadRequest("a field of the query form has no 'var'")
        values.setdefault(var, []).extend(
            str(value) for value in field.elements(NS_X_DATA, "value")
        )
    formType = values.pop("FORM_TYPE", None)
    if formType and formType != [NS_MAM]:
        raise errors.BadRequest(
            f"the query form's FORM_TYPE is {formType[0]!r}; it must be {NS_MAM!r}"
        )
    return values


def _readDateTime(values: Dict[str, List[str]], var: str) -> Optional[float]:
    text = _single(values, var)
    if text is None:
        return None
    when = parseDateTime(text)
    if when is None:
        raise errors.BadRequest(
            f"the field {var!r} holds {text!r}, not a XEP-0082 DateTime "
            "such as 2010-06-07T00:00:00Z"
        )
    return when


def _readRSM(
    query: domish.Element, limits: PageLimits
) -> Tuple[int, Optional[str], Optional[str]]:
    """
    XEP-0059: the page size, C{after} and C{before} of the query's
    C{<set/>}.

    @raise errors.BadRequest: C{<max/>} is not a non-negative integer.
    @raise errors.FeatureNotImplemented: a page by C{<index/>} (section
        2.4 allows the refusal; archive UIDs page reliably).
    """
    rsm = _child(query, NS_RSM, "set")
    if rsm is None:
        return limits.default, None, None
    size = limits.default
    maxElement = _child(rsm, NS_RSM, "max")
    if maxElement is not None:
        text = str(maxElement).strip()
        if not _DIGITS.fullmatch(text):
            raise errors.BadRequest(
                f"the RSM <max/> holds {text!r}, not a number of messages (0 or more)"
            )
        size = min(int(text), limits.maximum)
    if _child(rsm, NS_RSM, "index") is not None:
        raise errors.FeatureNotImplemented(
            "pages by <index/> are not supported: page with <after/> or <before/>"
        )
    after = _child(rsm, NS_RSM, "after")
    before = _child(rsm, NS_RSM, "before")
    # An empty <after/> means no position, as none would (XEP-0059
    # section 2.2: "before the first item"); an empty <before/> asks for
    # the last page (section 2.5).
    afterId = str(after).strip() or None if after is not None else None
    beforeId = str(before).strip() if before is not None else None
    return size, afterId, beforeId


def parseQuery(
    query: domish.Element,
    limits: PageLimits = PageLimits(),
    extraFields: Sequence[Tuple[str, str]] = (),
) -> MAMRequest:
    """
    Read an archive query (section 4).

    @param query: the C{<query xmlns='urn:xmpp:mam:2'/>} of an IQ set.
    @param limits: the archive's L{PageLimits}.
    @param extraFields: C{(var, type)} of the form fields the caller
        understands beyond L{STANDARD_FIELDS} (C{("include-groupchat",
        "boolean")}, say); their values are in L{MAMRequest.extra}, for
        the caller to check.
    @return: the L{MAMRequest}.
    @raise errors.BadRequest: a malformed form, C{with} JID, C{start} or
        C{end} DateTime or RSM C{<max/>}, with a text saying which.
    @raise errors.FeatureNotImplemented: a form field this archive does
        not know (section 4.1.4), a page by RSM C{<index/>}, or a
        C{node} (pubsub archives, XEP-0442).
    """
    if query.getAttribute("node") is not None:
        raise errors.FeatureNotImplemented(
            "this archive has no pubsub nodes (XEP-0442): query without 'node'"
        )
    values = _readForm(query)
    known = {var for var, _ in STANDARD_FIELDS} | {var for var, _ in extraFields}
    for var in values:
        if var not in known:
            raise errors.FeatureNotImplemented(
                f"the query field {var!r} is not supported; "
                f"the fields are {', '.join(sorted(known))}"
            )
    withText = _single(values, "with")
    with_ = None
    if withText is not None:
        try:
            with_ = parseJID(withText.strip()).full()
        except jid.InvalidFormat as e:
            raise errors.BadRequest(f"the field 'with' holds {withText!r}, not a JID: {e}")
    ids = tuple(v.strip() for v in values.get("ids", ()) if v.strip()) or None
    size, after, before = _readRSM(query, limits)
    archiveQuery = ArchiveQuery(
        with_=with_,
        start=_readDateTime(values, "start"),
        end=_readDateTime(values, "end"),
        afterId=_single(values, "after-id"),
        beforeId=_single(values, "before-id"),
        ids=ids,
        after=after,
        before=before,
        max=size,
    )
    return MAMRequest(
        query=archiveQuery,
        queryId=query.getAttribute("queryid"),
        flip=_child(query, NS_MAM, "flip-page") is not None,
        extra={var: values[var] for var, _ in extraFields if var in values},
    )


def queryForm(extraFields: Sequence[Tuple[str, str]] = ()) -> domish.Element:
    """
    The answer to an IQ get of the query (section 4.1.4): a C{<query/>}
    holding a form of every field the archive understands, none required;
    C{ids} with an open XEP-0122 validation, since its values are not
    listed.

    @param extraFields: as for L{parseQuery}.
    """
    query = domish.Element((NS_MAM, "query"))
    form = query.addElement((NS_X_DATA, "x"))
    form["type"] = "form"
    formType = form.addElement("field")
    formType["var"] = "FORM_TYPE"
    formType["type"] = "hidden"
    formType.addElement("value", content=NS_MAM)
    for var, kind in (*STANDARD_FIELDS, *extraFields):
        field = form.addElement("field")
        field["var"] = var
        field["type"] = kind
        if var == "ids":
            validate = field.addElement((NS_XDATA_VALIDATE, "validate"))
            validate["datatype"] = "xs:string"
            validate.addElement("open")
    return query


def resultMessage(
    archived: ArchivedMessage,
    queryId: Optional[str] = None,
    stanza: Optional[domish.Element] = None,
) -> domish.Element:
    """
    One result of a query (section 4.2): a C{<message/>} holding
    C{<result id=UID queryid=...><forwarded><delay stamp=.../>STANZA
    </forwarded></result>}.

    The caller addresses it (C{to} the querying full JID, C{from} the
    archive's address) and may give it an C{id}.

    @param archived: the L{ArchivedMessage}.
    @param queryId: the query's C{queryid}, or L{None}.
    @param stanza: the message to forward, if not C{archived.stanza} as
        stored (a room rewrites its sender, say).
    """
    message = domish.Element((NS_CLIENT, "message"))
    result = message.addElement((NS_MAM, "result"))
    if queryId is not None:
        result["queryid"] = queryId
    result["id"] = archived.id
    forwarded = result.addElement((NS_FORWARD, "forwarded"))
    delay = forwarded.addElement((NS_DELAY, "delay"))
    delay["stamp"] = formatDateTime(archived.timestamp)
    if stanza is None:
        stanza = parseStanza(archived.stanza)
    forwarded.addChild(stanza)
    return message


def finElement(page: ArchivePage) -> domish.Element:
    """
    The C{<fin/>} of the IQ result that ends a query (sections 4 and
    4.3.2): C{complete='true'} when the page reaches the end of the result
    set in the direction of paging, and the RSM C{<set/>} with the page's
    C{<first index=.../>} and C{<last/>} UIDs (in chronological order,
    whether or not the page was flipped; none for an empty page) and the
    result set's C{<count/>}.
    """
    fin = domish.Element((NS_MAM, "fin"))
    if page.complete:
        fin["complete"] = "true"
    rsm = fin.addElement((NS_RSM, "set"))
    if page.messages:
        first = rsm.addElement("first", content=page.messages[0].id)
        if page.index is not None:
            first["index"] = str(page.index)
        rsm.addElement("last", content=page.messages[-1].id)
    rsm.addElement("count", content=str(page.count))
    return fin


def metadataElement(
    first: Optional[ArchivedMessage], last: Optional[ArchivedMessage]
) -> domish.Element:
    """
    The answer to a metadata request (section 5): C{<metadata/>} with the
    C{<start/>} and C{<end/>} of the archive's first and last message, or
    empty for an empty archive.
    """
    metadata = domish.Element((NS_MAM, "metadata"))
    for name, message in (("start", first), ("end", last)):
        if message is not None:
            element = metadata.addElement(name)
            element["id"] = message.id
            element["timestamp"] = formatDateTime(message.timestamp)
    return metadata


async def fetchMetadata(store, archive: str) -> domish.Element:
    """
    Read an archive's first and last message and answer a metadata
    request (section 5) with them.

    @param store: the L{mepserver.interfaces.IArchiveStore}.
    @param archive: the archive's address.
    @return: the L{metadataElement}.
    """
    head = await store.queryArchive(archive, ArchiveQuery(max=1))
    tail = await store.queryArchive(archive, ArchiveQuery(before="", max=1))
    return metadataElement(
        head.messages[0] if head.messages else None,
        tail.messages[-1] if tail.messages else None,
    )


async def readPage(store, archive: str, query: ArchiveQuery) -> ArchivePage:
    """
    Read one page from the store.

    @raise errors.ItemNotFound: the query names a UID the archive does not
        hold (sections 4.1.3 and 4.3.2).
    """
    try:
        return await store.queryArchive(archive, query)
    except UnknownArchiveID as e:
        raise errors.ItemNotFound(
            f"the archive holds no message with the id {e.args[0]!r}"
            if e.args
            else "the query names an id the archive does not hold"
        )


async def runQuery(
    store,
    archive: str,
    iq: domish.Element,
    send: Callable[[domish.Element], object],
    limits: PageLimits = PageLimits(),
    extraFields: Sequence[Tuple[str, str]] = (),
    render: Optional[Callable[[ArchivedMessage], Optional[domish.Element]]] = None,
) -> domish.Element:
    """
    Answer an archive query IQ set (section 4): send each message of the
    page to the querying entity, in chronological order (newest first for
    C{<flip-page/>}), from the archive's address; then return the
    C{<fin/>} for the IQ result, which the caller sends after them.

    Access control is the caller's, before calling.

    @param store: the L{mepserver.interfaces.IArchiveStore}.
    @param archive: the archive's address (a bare JID); the result
        messages come from it.
    @param iq: the IQ set holding the query; results go to its C{from}.
    @param send: sends one result message.
    @param render: makes the forwarded stanza of a message (L{None}: the
        stored stanza as it is); a message it renders as L{None} is left
        out of the results.
    @return: the L{finElement}.
    @raise errors.Refusal: as L{parseQuery} and L{readPage} raise.
    """
    request = parseQuery(_child(iq, NS_MAM, "query"), limits, extraFields)
    page = await readPage(store, archive, request.query)
    messages = reversed(page.messages) if request.flip else page.messages
    for archived in messages:
        stanza = parseStanza(archived.stanza) if render is None else render(archived)
        if stanza is None:
            continue
        message = resultMessage(archived, request.queryId, stanza)
        message["from"] = archive
        message["to"] = iq["from"]
        send(message)
    return finElement(page)
