# -*- test-case-name: tests.test_stanza -*-
"""
Helpers on stanzas shared by the client domain, MUC and pubsub, and the
bounded XML parser every untrusted input goes through.

L{BoundedElementStream} is Twisted's Expat element stream with two limits
that make the work of parsing, and of everything done later with the
elements, proportional to the input: a maximum element depth (an element
nested deeper than the server can serialise without recursing into
Python's recursion limit is refused while it is parsed: RFC 6120 section
13.12 asks a server to limit what may exhaust its resources), and
text that accumulates in a list instead of by string concatenation. It
also measures each stanza's size from its own start, and how much input
Expat holds unparsed, for the stream's limits (L{mepserver.c2s.stream}),
and it can let go of its Expat parser between stanzas and build another
that carries on inside the root (L{BoundedElementStream.release}), so that
an idle connection holds none.

L{FrozenElement}s (made with L{freeze}) are elements every stream shares,
such as stream features: they refuse changes.
"""

from __future__ import annotations

import pyexpat
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Optional
from xml.sax.saxutils import quoteattr

from twisted.words.xish import domish

#: The default of C{[c2s] max_depth}: the most levels of elements below a
#: stanza (its children are the first level). Real stanzas stay far below:
#: a pubsub event in a MAM result in a carbon is about 10 levels deep.
DEFAULT_MAX_DEPTH = 64

#: The largest C{[c2s] max_depth} the configuration accepts, and the depth
#: that stored elements (written by the server from accepted stanzas) are
#: parsed back with. Serialising an element takes one Python frame per
#: level; this leaves hundreds of Python's default 1000 for the callers
#: and for the wrappers the server adds (carbons, forwarding, pubsub).
MAX_DEPTH_LIMIT = 256

#: How many characters of untrusted text a log line holds (L{forLog}).
LOG_TEXT_LIMIT = 512


#: How many roots' start tags (L{rootStartTag}) are kept for streams to
#: share: clients write few different stream headers.
MOST_PRIMERS = 64

_PRIMERS: Dict[tuple, Optional[bytes]] = {}
_NOT_KNOWN = object()


def rootStartTag(
    name: str, declaredDefault: bool, defaultUri: Optional[str], prefixes: Dict[str, str]
) -> Optional[bytes]:
    """
    The start tag that puts a new Expat parser inside a root as the peer
    wrote it: its qualified name (Expat matches the root's end tag against
    it) and its namespace declarations (to resolve the prefixes of what
    follows).

    @param name: the root's name as Expat reports it, C{"uri local"}.
    @param declaredDefault: whether the root declares a default namespace.
    @param defaultUri: that namespace.
    @param prefixes: the prefixes the root declares, and their namespaces.
    @return: the start tag, or L{None} if the root's prefix cannot be told
        (two of its declarations name its namespace).
    """
    uri, _, local = name.rpartition(" ")
    candidates = [p for p, u in prefixes.items() if u == uri]
    if uri and declaredDefault and defaultUri == uri:
        candidates.append(None)
    if uri and len(candidates) != 1:
        return None
    qname = local if not uri or candidates[0] is None else f"{candidates[0]}:{local}"
    declarations = []
    if declaredDefault:
        declarations.append(f" xmlns={quoteattr(defaultUri or '')}")
    for prefix, value in prefixes.items():
        declarations.append(f" xmlns:{prefix}={quoteattr(value)}")
    return f"<{qname}{''.join(declarations)}>".encode("utf-8")


class TooDeep(domish.ParserError):
    """
    An element is nested deeper than the parser's C{maxDepth} allows.
    """


class BoundedElementStream(domish.ExpatElementStream):
    """
    An Expat element stream that refuses deep nesting and reads text in
    linear time.

    Twisted's stream adds each piece of character data Expat reports to
    the element with C{addContent}, which concatenates strings: Expat
    reports a piece per line, per entity reference and per parse call,
    so 256 KiB of newlines took a second, and the cost grows with the
    square of the text. Here the pieces are kept in a list and joined once,
    when the next tag starts or ends.

    @ivar maxDepth: the most levels of elements below a stanza (its
        children are level 1); a deeper start tag raises L{TooDeep} out of
        L{parse}, before the element is built.
    @ivar stanzaLevel: the level of stanzas in the documents this parser
        reads: 1 when they are children of a root (a stream, or a wrapper
        root), 0 when the document root itself is the stanza (an RFC 7395
        WebSocket message).
    """

    #: Called with each parser L{release} made necessary to build again,
    #: to set what the stream's owner sets on the first one (handlers that
    #: refuse restricted XML, say); L{None} for nothing.
    configureParser: Optional[Callable[[Any], None]] = None

    def __init__(self, maxDepth: int = DEFAULT_MAX_DEPTH, stanzaLevel: int = 1):
        domish.ExpatElementStream.__init__(self)
        self.maxDepth = maxDepth
        self.stanzaLevel = stanzaLevel
        self._level = 0
        self._text: List[str] = []
        self._fed = 0
        self._lastEvent = 0
        self._stanzaStart = 0
        # Where the current parser's byte 0 is in the whole input: a parser
        # built again (see release) starts with the root's start tag.
        self._base = 0
        self._primer: Optional[bytes] = None

    @property
    def unfinishedSize(self) -> int:
        """
        About how many bytes Expat holds without having reported them: those
        fed since the start of the last tag or text it reported, mostly an
        unfinished start tag. Expat scans them again on each L{parse} call.
        """
        return self._fed - self._lastEvent

    def parse(self, buffer):
        """
        Parse some bytes, then set C{stanzaSize} to the bytes since the
        start of the current stanza (or, between stanzas, since the end of
        the last one; before the first, since the document's start).

        Twisted counts the bytes of each call and starts again from 0 when
        a stanza ends, forgetting the rest of that call: a stanza that
        began in the same call as the previous one ended went uncounted for
        that call's worth of bytes.
        """
        if self.parser is None:
            self._rebuild()
        self._fed += len(buffer)
        domish.ExpatElementStream.parse(self, buffer)
        self.stanzaSize = self._fed - self._stanzaStart

    def release(self) -> bool:
        """
        Let go of the Expat parser while it holds nothing: between two
        stanzas, when all input so far is parsed. Expat keeps its buffer and
        a table of every name it has seen (some 10 kB after a login), and a
        connection is mostly idle; the next L{parse} builds a new parser
        and feeds it the root's start tag, with the same namespace
        declarations, so that it carries on inside the root as the old one
        would have. A stream whose root cannot be written again that way
        (no wrapper root, C{stanzaLevel} 0; or a root whose prefix is
        ambiguous) keeps its parser.

        @return: whether the parser was let go.
        """
        parser = self.parser
        if (
            parser is None
            or self._primer is None
            or self.currElem is not None
            or self._level != 0
            # Expat's position after a parse call is the first byte it
            # has not consumed: the start of an unfinished token.
            or self._base + parser.CurrentByteIndex != self._fed
        ):
            return False
        self.parser = None
        return True

    def _rebuild(self) -> None:
        """
        Build a parser after L{release}: fed the root's start tag first, with
        no handlers, then given the stream's handlers and configuration.
        """
        parser = pyexpat.ParserCreate("UTF-8", " ")
        parser.Parse(self._primer)
        parser.StartElementHandler = self._onStartElement
        parser.EndElementHandler = self._onEndElement
        parser.CharacterDataHandler = self._onCdata
        parser.StartNamespaceDeclHandler = self._onStartNamespace
        parser.EndNamespaceDeclHandler = self._onEndNamespace
        self._base = self._fed - len(self._primer)
        self.parser = parser
        if self.configureParser is not None:
            self.configureParser(parser)

    def _recordRoot(self, name: str) -> None:
        """
        Keep the start tag that puts a new parser where this one is once
        the root has started (see L{rootStartTag}); streams whose roots are
        alike share it.
        """
        declaredDefault = len(self.defaultNsStack) > 1
        key = (
            name,
            declaredDefault,
            self.defaultNsStack[-1],
            tuple(self.localPrefixes.items()),
        )
        primer = _PRIMERS.get(key, _NOT_KNOWN)
        if primer is _NOT_KNOWN:
            primer = rootStartTag(
                name, declaredDefault, self.defaultNsStack[-1], self.localPrefixes
            )
            if len(_PRIMERS) < MOST_PRIMERS:
                _PRIMERS[key] = primer
        self._primer = primer

    def _flushText(self) -> None:
        if self._text:
            # Pieces are only kept while there is a current element, and
            # it changes only at a tag, which flushes first.
            self.currElem.addContent("".join(self._text))
            self._text = []

    def _onStartElement(self, name, attrs):
        self._lastEvent = self._base + self.parser.CurrentByteIndex
        self._flushText()
        if not self.documentStarted:
            if self.stanzaLevel == 1:
                self._recordRoot(name)
        else:
            self._level += 1
            if self._level == self.stanzaLevel:
                self._stanzaStart = self._lastEvent
            if self._level - self.stanzaLevel > self.maxDepth:
                raise TooDeep(
                    f"elements nested more than {self.maxDepth} levels below "
                    "the stanza"
                )
        domish.ExpatElementStream._onStartElement(self, name, attrs)

    def _onEndElement(self, name):
        self._lastEvent = self._base + self.parser.CurrentByteIndex
        self._flushText()
        if self._level == self.stanzaLevel:
            # (From the start of its end tag: a few bytes too many.)
            self._stanzaStart = self._lastEvent
        self._level -= 1
        domish.ExpatElementStream._onEndElement(self, name)

    def _onCdata(self, data):
        self._lastEvent = self._base + self.parser.CurrentByteIndex
        if self.currElem is not None:
            self._text.append(data)
        elif self._level < self.stanzaLevel:
            # Whitespace between stanzas (keepalives) is no stanza's.
            self._stanzaStart = self._lastEvent + len(data.encode("utf-8"))


def parseElements(
    data: bytes, maxDepth: int = MAX_DEPTH_LIMIT, namespace: Optional[str] = None
) -> List[domish.Element]:
    """
    Parse XML text holding elements (no root) with a L{BoundedElementStream}.

    @param data: UTF-8 XML: zero or more elements, and text between them,
        which is dropped.
    @param maxDepth: the most levels below each element.
    @param namespace: the default namespace in scope, or L{None}.
    @return: the top-level elements.
    @raise domish.ParserError: the text is not well-formed (L{TooDeep}: it
        nests too deeply).
    """
    elements: List[domish.Element] = []
    stream = BoundedElementStream(maxDepth)
    stream.DocumentStartEvent = lambda root: None
    stream.ElementEvent = elements.append
    stream.DocumentEndEvent = lambda: None
    # Under a wrapper root, as a stream's stanzas are: the parser hands
    # over complete children of the root only.
    root = b"<root>" if namespace is None else b"<root xmlns='%s'>" % namespace.encode()
    stream.parse(root + data + b"</root>")
    return elements


def copyStanza(stanza: domish.Element, **attributes) -> domish.Element:
    """
    A new stanza with the attributes and children of C{stanza}.

    The children are shared, not copied: stanzas in flight are never
    changed, and broadcasts stay cheap (DESIGN.md section 9: one payload,
    only the addressing varies per recipient). Adding a child to the copy
    does not add it to the original.

    @param attributes: attributes to set; L{None} removes one.
    """
    element = domish.Element(
        (stanza.uri, stanza.name),
        stanza.defaultUri,
        localPrefixes=dict(stanza.localPrefixes),
    )
    element.attributes = dict(stanza.attributes)
    element.children = list(stanza.children)
    for name, value in attributes.items():
        if value is None:
            element.attributes.pop(name, None)
        else:
            element[name] = value
    return element


def serializePlain(element: domish.Element, prefixes: dict, defaultUri: str) -> Optional[str]:
    """
    Serialize an element that needs no namespace prefix as Twisted's
    serializer does (C{domish.Element.toXml}), faster: what most stanzas
    are (each element in its own default namespace, declared where it
    changes), and what a broadcast is serialized as once per recipient
    stream context (L{Broadcast}, issue 16).

    @param prefixes: the prefixes in scope, by namespace (a stream's).
    @param defaultUri: the default namespace in scope.
    @return: the text, or L{None} if an element needs a prefix (its
        namespace differs from its default one, or has a prefix in scope)
        or declares prefixes, or an attribute has a namespace: then only
        Twisted's serializer will do.
    """
    out: List[str] = []
    if _writePlain(element, defaultUri, prefixes, out.append):
        return "".join(out)
    return None


def elementText(element: domish.Element) -> str:
    """
    C{element.toXml()}, the same text, from L{serializePlain} where it
    will do: a stored payload, say (issue 16: a PEP publish stores one).
    """
    text = serializePlain(element, {}, "")
    return element.toXml() if text is None else text


def escapeAttribute(value: str) -> str:
    """
    C{domish.escapeToXml(value, 1)}, without its five replacements when
    there is nothing to replace: what most attribute values (addresses,
    ids, codes) are, several times in every stanza written (issue 16).
    """
    if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
        return domish.escapeToXml(value, 1)
    return value


def _escapeText(text: str) -> str:
    """
    C{domish.escapeToXml(text)}, without its replacements when there is
    nothing to replace.
    """
    if "&" in text or "<" in text or ">" in text:
        return domish.escapeToXml(text)
    return text


def _writePlain(element, currentUri, prefixes, write) -> bool:
    if isinstance(element, str):
        # SerializedXML (pre-serialized children) is text too, kept as is.
        write(element if isinstance(element, domish.SerializedXML) else _escapeText(element))
        return True
    uri, default = element.uri, element.defaultUri
    if default is None:
        default = currentUri
    if uri is None:
        uri = default
    if (
        element.localPrefixes
        or uri != default
        or uri in prefixes
        or uri in domish.G_PREFIXES
    ):
        return False
    name = element.name
    write("<" + name)
    if default != currentUri:
        write(" xmlns='%s'" % default)
    for key, value in element.attributes.items():
        if not isinstance(key, str):
            return False
        write(f" {key}='{escapeAttribute(value)}'")
    children = element.children
    if not children:
        write("/>")
        return True
    write(">")
    for child in children:
        if not _writePlain(child, default, prefixes, write):
            return False
    write("</" + name + ">")
    return True


#: Stand-ins for the per-recipient attribute values while a L{Broadcast}
#: is serialized: XML text can hold no NUL, so no stanza contains them.
_STAND_INS = ("\x00to\x00", "\x00id\x00")


class Broadcast(domish.Element):
    """
    A stanza sent to many recipients that differ only in C{to} (and, if
    asked, C{id}): serialized once, each recipient's copy made by splicing
    its own values into that text (DESIGN.md section 9, issue 16).

    The sender sets the varying attributes and sends the same element to
    each recipient in turn, as with any element; a stream's C{send} then
    calls L{toXml}, which writes the text kept for that stream's namespace
    context with the current values put in, escaped. Whatever keeps the
    stanza for later makes a copy (L{copyStanza}, a plain element), as for
    any stanza in flight; nothing changes a stanza in flight, but should
    its other attributes or its number of children change, it is
    serialized again. A sender may instead hand the broadcast and its
    recipients to the router at once (L{mepserver.router.sendMany}): local
    sessions then get bytes spliced from one encoded text
    (L{encodeFor}), the others a copy each (L{copyTo}).

    @ivar varying: the names of the attributes that differ per recipient.
    """

    def __init__(self, stanza: domish.Element, varying=("to",)):
        """
        @param stanza: the stanza to send; its attributes are copied, its
            children shared (it must not change once sent).
        @param varying: C{("to",)} or C{("to", "id")}.
        """
        domish.Element.__init__(
            self,
            (stanza.uri, stanza.name),
            stanza.defaultUri,
            localPrefixes=dict(stanza.localPrefixes),
        )
        self.attributes = dict(stanza.attributes)
        self.children = list(stanza.children)
        self.varying = tuple(varying)
        self._texts: dict = {}
        self._encoded: dict = {}

    def copyFor(self, **attributes) -> "Broadcast":
        """
        A copy with its own attributes (C{to=...}, C{id=...}) sharing this
        one's children and serialized text: for senders whose recipients
        may keep what they get, instead of changing one element in turn.
        """
        copy = Broadcast.__new__(Broadcast)
        domish.Element.__init__(copy, (self.uri, self.name), self.defaultUri, self.localPrefixes)
        copy.attributes = dict(self.attributes)
        copy.attributes.update(attributes)
        copy.children = self.children
        copy.varying = self.varying
        copy._texts = self._texts
        copy._encoded = self._encoded
        return copy

    def copyTo(self, to: str, stanzaId: Optional[str] = None) -> "Broadcast":
        """
        One recipient's copy (L{copyFor}): its C{to}, and its C{id} unless
        L{None}.
        """
        if stanzaId is None:
            return self.copyFor(to=to)
        return self.copyFor(to=to, id=stanzaId)

    def toXml(self, prefixes=None, closeElement=1, defaultUri="", prefixesInScope=None):
        if not closeElement:
            return domish.Element.toXml(self, prefixes, closeElement, defaultUri, prefixesInScope)
        attributes = self.attributes
        key = (
            defaultUri,
            tuple(prefixes.items()) if prefixes else (),
            tuple(prefixesInScope) if prefixesInScope else (),
            len(self.children),
            tuple(
                item if item[0] not in self.varying else item[0]
                for item in attributes.items()
            ),
        )
        parts = self._texts.get(key)
        if parts is None:
            parts = self._texts[key] = self._split(prefixes, defaultUri, prefixesInScope)
        text, order = parts
        values = [escapeAttribute(attributes.get(name, "")) for name in order]
        if not values:
            return text[0]
        out = [text[0]]
        for value, rest in zip(values, text[1:]):
            out.append(value)
            out.append(rest)
        return "".join(out)

    def encodeFor(self, prefixes: dict, defaultUri: str) -> "SplicedText":
        """
        The text of every recipient's copy as a child of an XMPP stream
        header, made once: serialized as Twisted's stream serializes what
        it sends (C{XmlStream.send}, with the stream's C{prefixes} and
        content namespace), encoded, and cut where each copy's own C{to}
        (and C{id}) go, whether or not this element has them now.

        A sender that delivers to many streams at once (the client
        domain's L{mepserver.c2s.sessions.DeliveryHandler.deliverMany})
        then writes bytes, without an element per recipient.

        @param prefixes: the stream's namespace prefixes, by namespace.
        @param defaultUri: the stream's content namespace.
        """
        varying = self.varying
        key = (
            defaultUri,
            tuple(prefixes.items()),
            len(self.children),
            tuple(item for item in self.attributes.items() if item[0] not in varying),
        )
        spliced = self._encoded.get(key)
        if spliced is None:
            pieces, order = self._split(
                prefixes, defaultUri, list(prefixes.values()), everyVarying=True
            )
            spliced = self._encoded[key] = SplicedText(
                [piece.encode("utf-8") for piece in pieces],
                [self.varying.index(name) for name in order],
            )
        return spliced

    def _split(self, prefixes, defaultUri, prefixesInScope, everyVarying=False):
        """
        Serialize with stand-ins for the varying attributes.

        @param everyVarying: whether to put stand-ins for the varying
            attributes this element does not have too (added after its
            others, as L{copyFor} adds them).
        @return: the text cut at the stand-ins, and the attribute names in
            the order they appear.
        """
        attributes = self.attributes
        saved = {}
        for name, standIn in zip(self.varying, _STAND_INS):
            if name in attributes:
                saved[name] = attributes[name]
                attributes[name] = standIn
            elif everyVarying:
                saved[name] = None
                attributes[name] = standIn
        try:
            text = serializePlain(self, prefixes or {}, defaultUri)
            if text is None:
                text = domish.Element.toXml(self, prefixes, 1, defaultUri, prefixesInScope)
        finally:
            for name, value in saved.items():
                if value is None:
                    del attributes[name]
                else:
                    attributes[name] = value
        pieces = [text]
        order = []
        for name, standIn in zip(self.varying, _STAND_INS):
            if name not in saved:
                continue
            for i, piece in enumerate(pieces):
                if standIn in piece:
                    before, after = piece.split(standIn, 1)
                    pieces[i:i + 1] = [before, after]
                    order.insert(i, name)
                    break
        return pieces, order


class SplicedText:
    """
    The UTF-8 text of a L{Broadcast} for one namespace context, cut where
    each recipient's values go (L{Broadcast.encodeFor}).

    @ivar pieces: the text around the values, encoded.
    @ivar order: for each value in the text, in order, its index in
        C{(to, id)}.
    """

    __slots__ = ("pieces", "order")

    def __init__(self, pieces: List[bytes], order: List[int]):
        self.pieces = pieces
        self.order = order

    def fill(
        self, to: Optional[str], stanzaId: Optional[str] = None, quotedTo: Optional[bytes] = None
    ) -> bytes:
        """
        @param to: the copy's C{to}; L{None} when C{quotedTo} gives it.
        @param quotedTo: L{None}, or C{to} already as it goes in the text
            (L{quoted}): a session keeps its own JID so.
        @return: one recipient's copy, its values escaped as attribute
            values.
        """
        pieces = self.pieces
        if quotedTo is None:
            quotedTo = quoted(to)
        if len(pieces) == 2:
            # Only 'to' varies: the usual broadcast.
            return b"".join((pieces[0], quotedTo, pieces[1]))
        # (quoted, inline: a notification's id differs for each copy.)
        quotedId = escapeAttribute(stanzaId).encode("utf-8")
        if self.order[0] == 0:
            first, second = quotedTo, quotedId
        else:
            first, second = quotedId, quotedTo
        return b"".join((pieces[0], first, pieces[1], second, pieces[2]))


def quoted(value: str) -> bytes:
    """
    @return: C{value} as the value of an attribute in UTF-8 text: escaped
        as Twisted's serializer escapes it, encoded.
    """
    return escapeAttribute(value).encode("utf-8")


class FrozenElement(domish.Element):
    """
    An element that cannot be changed once made with L{freeze}: one
    instance serves every stream that sends it (a stream feature, say), and
    the text it serializes to can be kept. Its children are a tuple, its
    attributes a read-only mapping, and the methods that would change it
    raise L{TypeError}; copy it (L{copyStanza}) to make a changed one.
    """

    def _frozen(self, *args, **kwargs):
        raise TypeError(f"<{self.name}/> is shared by every stream: it cannot change")

    addChild = addElement = addContent = addRawXml = addUniqueId = _frozen
    __setitem__ = __delitem__ = _frozen


def freeze(element: domish.Element) -> FrozenElement:
    """
    Make C{element} and its descendants L{FrozenElement}s, in place.

    @return: C{element}.
    """
    for child in element.children:
        if isinstance(child, domish.Element):
            freeze(child)
    element.children = tuple(element.children)
    element.attributes = MappingProxyType(dict(element.attributes))
    element.localPrefixes = MappingProxyType(dict(element.localPrefixes))
    element.__class__ = FrozenElement
    return element


def parseStanza(text: str) -> domish.Element:
    """
    Parse an element the server stored as text (an offline message,
    private XML, a bookmark) back into an element.

    The server stored it from a stanza it accepted, so it nests at most
    L{MAX_DEPTH_LIMIT} levels; deeper text raises L{TooDeep} rather than
    reaching the serialiser later.

    @param text: one element as XML text, as L{domish.Element.toXml} wrote
        it.
    """
    return parseElements(text.encode("utf-8"))[0]


def forLog(value, limit: int = LOG_TEXT_LIMIT) -> str:
    """
    Untrusted content (a stanza, text a client sent) for a log line: at
    most C{limit} characters, with the length of what was left out, so
    that a client cannot make the log grow faster than it sends.

    @param value: an element (serialised here, if it can be) or text.
    """
    if domish.IElement.providedBy(value):
        try:
            value = value.toXml()
        except Exception as e:
            value = f"<{value.name}/> (not serialisable: {type(e).__name__})"
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
