# -*- test-case-name: tests.test_stanza -*-
"""
Tests for L{mepserver.stanza}.
"""

import operator

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest
from twisted.words.xish import domish

from mepserver import stanza
from mepserver.stanza import (
    LOG_TEXT_LIMIT,
    MAX_DEPTH_LIMIT,
    BoundedElementStream,
    Broadcast,
    FrozenElement,
    TooDeep,
    _escapeText,
    copyStanza,
    elementText,
    escapeAttribute,
    forLog,
    freeze,
    parseElements,
    parseStanza,
    serializePlain,
)


class CopyStanzaTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.original = domish.Element(("jabber:client", "message"))
        self.original["to"], self.original["type"] = "a@example.com", "chat"
        self.body = self.original.addElement("body", content="hi")

    def test_attributes(self):
        """
        Attributes are copied, set and removed on the copy only.
        """
        copy = copyStanza(self.original, to="b@example.com", type=None, id="x")
        self.assertEqual({"to": "b@example.com", "id": "x"}, copy.attributes)
        self.assertEqual(
            {"to": "a@example.com", "type": "chat"}, self.original.attributes
        )
        self.assertEqual(("jabber:client", "message"), (copy.uri, copy.name))

    def test_childrenShared(self):
        """
        Children are the same objects; adding one to the copy leaves the
        original as it was.
        """
        copy = copyStanza(self.original)
        self.assertIs(self.body, copy.children[0])
        copy.addElement("delay")
        self.assertEqual(["body"], [c.name for c in self.original.elements()])


#: How a client stream serializes (Twisted's XmlStream.send).
STREAM = dict(
    prefixes={"http://etherx.jabber.org/streams": "stream"},
    defaultUri="jabber:client",
    prefixesInScope=["stream"],
)


def countSplits(testCase) -> list:
    """
    Count, for the rest of C{testCase}, the times a L{Broadcast} serializes
    itself (L{Broadcast._split}).

    @return: the list each call appends its element to.
    """
    calls = []
    original = Broadcast._split

    def counting(element, *args, **kwargs):
        calls.append(element)
        return original(element, *args, **kwargs)

    testCase.patch(Broadcast, "_split", counting)
    return calls


class BroadcastTests(unittest.SynchronousTestCase):
    """
    L{Broadcast}: serialized once, each recipient's attributes spliced in.
    """

    def setUp(self):
        self.message = domish.Element(("jabber:client", "message"))
        self.message["from"], self.message["type"] = "room@chat.example/witch", "groupchat"
        self.message.addElement("body", content="double <toil> & trouble")
        self.message.addElement(("urn:xmpp:sid:0", "stanza-id"))["by"] = "room@chat.example"
        self.message.addRawXml("<x xmlns='urn:example'/>")

    def assertSameText(self, broadcast, **serialization):
        self.assertEqual(
            copyStanza(broadcast).toXml(**serialization), broadcast.toXml(**serialization)
        )

    def test_sameAsSerialized(self):
        """
        The text is what serializing the element with its current 'to'
        gives, in every namespace context a stream serializes in, for one
        recipient after another, escaping each value.
        """
        broadcast = Broadcast(self.message)
        for to in ("hag@heath.example/cauldron", "o'x&y@heath.example/<r>"):
            broadcast["to"] = to
            for serialization in (STREAM, {}, {"prefixes": {"http://etherx.jabber.org/streams": "stream"}}):
                self.assertSameText(broadcast, **serialization)
        self.assertIn("to='o&apos;x&amp;y@heath.example/&lt;r&gt;'", broadcast.toXml(**STREAM))

    def test_serializedOnce(self):
        """
        The element is serialized once per namespace context; later
        recipients' texts are spliced.
        """
        broadcast = Broadcast(self.message)
        calls = countSplits(self)
        for to in ("a@example.com/1", "b@example.com/2", "c@example.com/3"):
            broadcast["to"] = to
            self.assertIn(f"to='{to}'", broadcast.toXml(**STREAM))
        self.assertEqual(1, len(calls))

    def test_idVaries(self):
        """
        With C{("to", "id")} both vary; copies (L{Broadcast.copyFor})
        share the text and keep their own values.
        """
        broadcast = Broadcast(self.message, ("to", "id"))
        first = broadcast.copyFor(to="a@example.com/1", id="e1")
        second = broadcast.copyFor(to="b@example.com/2", id="e2")
        self.assertSameText(first, **STREAM)
        self.assertSameText(second, **STREAM)
        self.assertIn("id='e1'", first.toXml(**STREAM))
        self.assertIn("id='e2'", second.toXml(**STREAM))
        self.assertEqual({"from", "type"}, set(broadcast.attributes))

    def test_changeSerializedAgain(self):
        """
        Should another attribute or the number of children change, or a
        varying attribute appear, the element is serialized again.
        """
        broadcast = Broadcast(self.message)
        broadcast.toXml(**STREAM)
        broadcast["to"] = "a@example.com/1"
        self.assertSameText(broadcast, **STREAM)
        broadcast["type"] = "chat"
        self.assertSameText(broadcast, **STREAM)
        broadcast.addElement("thread", content="t")
        self.assertSameText(broadcast, **STREAM)
        self.assertIn("<thread>t</thread>", broadcast.toXml(**STREAM))

    def test_originalUntouched(self):
        """
        The broadcast has its own attributes and list of children.
        """
        broadcast = Broadcast(self.message)
        broadcast["to"] = "a@example.com/1"
        broadcast.addElement("thread")
        self.assertNotIn("to", self.message.attributes)
        self.assertEqual(3, len(self.message.children))


class EncodeForTests(unittest.SynchronousTestCase):
    """
    L{Broadcast.encodeFor} and L{SplicedText}: each recipient's copy as
    bytes, as a stream would write the copy itself.
    """

    setUp = BroadcastTests.setUp

    def streamText(self, element, prefixes=STREAM["prefixes"]):
        """
        @return: what Twisted's client stream writes for C{element}.
        """
        return element.toXml(
            prefixes=prefixes, defaultUri="jabber:client", prefixesInScope=list(prefixes.values())
        ).encode("utf-8")

    def test_sameAsCopy(self):
        """
        A filled text is the copy's own text, its values escaped, whether
        the broadcast has a C{to} (left from an earlier send) or not.
        """
        broadcast = Broadcast(self.message)
        for to in ("hag@heath.example/cauldron", "o'x&y@heath.example/<r\">"):
            spliced = broadcast.encodeFor(STREAM["prefixes"], "jabber:client")
            self.assertEqual(self.streamText(broadcast.copyFor(to=to)), spliced.fill(to))
            broadcast["to"] = "stale@example.com/1"
        self.assertIn(
            b"to='o&apos;x&amp;y@heath.example/&lt;r&quot;&gt;'",
            spliced.fill("o'x&y@heath.example/<r\">"),
        )

    def test_toAndId(self):
        """
        With C{("to", "id")} both are spliced, whichever comes first in the
        text.
        """
        for first in ("to", "id"):
            message = copyStanza(self.message)
            message.attributes = {first: "x", **self.message.attributes}
            broadcast = Broadcast(message, ("to", "id"))
            spliced = broadcast.encodeFor(STREAM["prefixes"], "jabber:client")
            copy = broadcast.copyFor(to="a@example.com/1", id="e&1")
            self.assertEqual(self.streamText(copy), spliced.fill("a@example.com/1", "e&1"))

    def test_contexts(self):
        """
        Each stream context (its prefixes) has its own text, made once; an
        equal context shares it.
        """
        broadcast = Broadcast(self.message)
        original = Broadcast._split
        calls = countSplits(self)
        other = {"http://etherx.jabber.org/streams": "stream", "urn:xmpp:sid:0": "sid"}
        for prefixes in (STREAM["prefixes"], dict(STREAM["prefixes"]), other, other):
            spliced = broadcast.encodeFor(prefixes, "jabber:client")
            self.assertIn(b"to='a@example.com/1'", spliced.fill("a@example.com/1"))
        self.assertEqual(2, len(calls))
        self.patch(Broadcast, "_split", original)
        self.assertEqual(
            self.streamText(broadcast.copyFor(to="b@example.com"), other),
            broadcast.encodeFor(other, "jabber:client").fill("b@example.com"),
        )
        self.assertIn(b"<sid:stanza-id", spliced.fill("b@example.com"))

    def test_broadcastUntouched(self):
        """
        Making the text leaves the broadcast's attributes as they were.
        """
        broadcast = Broadcast(self.message, ("to", "id"))
        broadcast["to"] = "a@example.com/1"
        broadcast.encodeFor(STREAM["prefixes"], "jabber:client")
        self.assertEqual(
            {"from": "room@chat.example/witch", "type": "groupchat", "to": "a@example.com/1"},
            broadcast.attributes,
        )


NAMESPACES = [None, "jabber:client", "urn:xmpp:sid:0", "urn:example:a"]


@st.composite
def elements(draw, depth=0):
    """
    Element trees of the kinds stanzas have: a few namespaces, declared as
    default namespaces or not at all, attributes and text with characters
    to escape, pre-serialized children.
    """
    uri = draw(st.sampled_from(NAMESPACES))
    defaultUri = draw(st.sampled_from([None, uri, uri, "urn:example:b"]))
    element = domish.Element((uri, draw(st.sampled_from(["a", "body", "x"]))), defaultUri)
    text = st.text(alphabet="ab<>&'\"", max_size=4)
    for name in draw(st.lists(st.sampled_from(["id", "to", "type"]), unique=True, max_size=3)):
        element[name] = draw(text)
    for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            element.addContent(draw(text))
        elif kind == 1:
            element.addRawXml("<raw xmlns='urn:example:r'/>")
        else:
            element.addChild(draw(elements(depth + 1)))
    return element


#: Any character but a surrogate: the same characters as C{st.text()}'s
#: default, C{st.characters(codec="utf-8")}, which Hypothesis finds by
#: encoding every code point, about a second, unless its C{.hypothesis}
#: folder remembers them (a clean checkout's does not).
ANY_CHARACTER = st.characters(exclude_categories=("Cs",))


class SerializePlainTests(unittest.SynchronousTestCase):
    """
    L{serializePlain}: Twisted's serialization of elements that need no
    prefix, or L{None}.
    """

    @settings(max_examples=50, deadline=None)
    @given(elements(), st.sampled_from(["jabber:client", ""]))
    def test_sameAsTwisted(self, element, defaultUri):
        """
        Whatever it serializes, it serializes as Twisted does in the same
        context; it declines only elements that need a prefix.
        """
        text = serializePlain(element, STREAM["prefixes"], defaultUri)
        if text is not None:
            self.assertEqual(
                element.toXml(
                    prefixes=STREAM["prefixes"],
                    defaultUri=defaultUri,
                    prefixesInScope=STREAM["prefixesInScope"],
                ),
                text,
            )

    @settings(max_examples=50, deadline=None)
    @given(elements())
    def test_elementText(self, element):
        """
        L{elementText} is C{toXml()}'s text, whether L{serializePlain} or
        Twisted makes it.
        """
        self.assertEqual(element.toXml(), elementText(element))

    def test_elementTextPlain(self):
        """
        For a plain payload, L{elementText} is L{serializePlain}'s text,
        without Twisted's serializer.
        """
        payload = parseStanza(
            "<iq xmlns='jabber:client'><tune xmlns='http://jabber.org/protocol/tune'>"
            "<artist>A &amp; B</artist></tune></iq>"
        ).firstChildElement()
        self.patch(domish.Element, "toXml", lambda *args, **kwargs: self.fail("toXml"))
        self.assertEqual(
            "<tune xmlns='http://jabber.org/protocol/tune'><artist>A &amp; B</artist></tune>",
            elementText(payload),
        )

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet=st.sampled_from("ab<>&'\"\u00e9 ")), st.text(ANY_CHARACTER))
    def test_escapes(self, special, anything):
        """
        L{escapeAttribute} escapes as Twisted's C{escapeToXml} does for an
        attribute, with or without characters to replace; text as Twisted
        escapes it.
        """
        for value in (special, anything, "user@localhost/r"):
            self.assertEqual(domish.escapeToXml(value, 1), escapeAttribute(value))
            self.assertEqual(domish.escapeToXml(value), _escapeText(value))

    def test_stanzas(self):
        """
        Stanzas as clients send them and rooms reflect them serialize here.
        """
        message = parseStanza(
            "<message xmlns='jabber:client' type='groupchat' from='r@c/n' id='1'>"
            "<body>a &amp; b</body><stanza-id xmlns='urn:xmpp:sid:0' id='x' by='r@c'/>"
            "<x xmlns='urn:example:a'><y/></x></message>"
        )
        self.assertEqual(message.toXml(**STREAM), serializePlain(message, STREAM["prefixes"], "jabber:client"))

    def test_declined(self):
        """
        An element in the stream namespace, one that declares prefixes, a
        child whose namespace is not its default one, and a namespaced
        attribute need Twisted's serializer.
        """
        streamError = domish.Element(("http://etherx.jabber.org/streams", "error"))
        prefixed = domish.Element(("jabber:client", "message"), localPrefixes={"e": "urn:e"})
        odd = domish.Element(("jabber:client", "message"))
        odd.addChild(domish.Element(("urn:a", "x"), "urn:b"))
        qualified = domish.Element(("jabber:client", "message"))
        qualified[("http://www.w3.org/XML/1998/namespace", "lang")] = "en"
        for element in (streamError, prefixed, odd, qualified):
            self.assertIsNone(serializePlain(element, STREAM["prefixes"], "jabber:client"))


HEADER_WITH_PREFIXES = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x' to='a'>"
)


class BoundedElementStreamTests(unittest.SynchronousTestCase):
    """
    L{BoundedElementStream}: depth refused while parsing, text in linear
    time.
    """

    def parse(self, data, maxDepth=3, stanzaLevel=1):
        elements = []
        stream = BoundedElementStream(maxDepth, stanzaLevel)
        stream.DocumentStartEvent = lambda root: None
        stream.ElementEvent = elements.append
        stream.DocumentEndEvent = lambda: None
        stream.parse(data)
        return elements

    def test_depth(self):
        """
        C{maxDepth} levels below a stanza (the root's children) are
        allowed; one more raises L{TooDeep} naming the limit.
        """
        [stanza] = self.parse(b"<root><s><a><b><c/></b></a></s>")
        self.assertEqual("c", stanza.a.b.c.name)
        e = self.assertRaises(
            TooDeep, self.parse, b"<root><s><a><b><c><d/></c></b></a></s>"
        )
        self.assertIn("more than 3 levels", str(e))
        self.assertIsInstance(e, domish.ParserError)

    def test_stanzaAtRoot(self):
        """
        With C{stanzaLevel} 0 the document root is the stanza (an RFC 7395
        message): levels count from it.
        """
        stream = BoundedElementStream(2, 0)
        stream.DocumentStartEvent = lambda root: None
        stream.ElementEvent = lambda element: None
        stream.parse(b"<s><a><b/></a>")
        self.assertRaises(TooDeep, stream.parse, b"<a><b><c/></b></a>")

    def test_siblingsDoNotAddUp(self):
        """
        Depth is nesting, not the number of elements.
        """
        [stanza] = self.parse(b"<root><s>" + b"<a><b><c/></b></a>" * 50 + b"</s>")
        self.assertEqual(50, len(stanza.children))

    def test_textJoinedOnce(self):
        """
        Expat reports text in pieces (here one per line and entity); they
        are joined and added once per run of text, not one concatenation
        per piece, which took time growing with the square of the text.
        """
        added = []
        original = domish.Element.addContent

        def addContent(element, text):
            added.append(text)
            return original(element, text)

        self.patch(domish.Element, "addContent", addContent)
        [stanza] = self.parse(
            b"<root><s>" + b"a\n&amp;" * 1000 + b"<x/>tail</s>", maxDepth=64
        )
        self.assertEqual(2, len(added), f"text added in {len(added)} pieces")
        self.assertEqual(["a\n&" * 1000, "tail"], added)
        self.assertEqual(["a\n&" * 1000, stanza.x, "tail"], stanza.children)

    def streamed(self, header=HEADER_WITH_PREFIXES):
        """
        A stream parser that has read C{header}, recording its events.
        """
        events = []
        stream = BoundedElementStream(64, 1)
        stream.DocumentStartEvent = lambda root: events.append(("start", root))
        stream.ElementEvent = lambda element: events.append(("element", element))
        stream.DocumentEndEvent = lambda: events.append(("end", None))
        stream.parse(header)
        return stream, events

    def test_releasedBetweenStanzas(self):
        """
        Between two stanzas, with all input parsed, L{release} drops the
        Expat parser; the next parse builds one that carries on inside the
        root: the root's prefixes and default namespace still apply, the
        root's end tag ends the document, and positions count on from the
        whole input.
        """
        stream, events = self.streamed()
        self.assertTrue(stream.release())
        self.assertIsNone(stream.parser)
        self.assertFalse(stream.release())
        stream.parse(b"<message><x:y/><body>hi</body></message>")
        self.assertIsNotNone(stream.parser)
        [(kind, message)] = events[1:]
        self.assertEqual(("jabber:client", "message"), (message.uri, message.name))
        self.assertEqual(("urn:x", "y"), (message.children[0].uri, message.children[0].name))
        self.assertEqual("hi", str(message.body))
        self.assertTrue(stream.release())
        # A stanza arriving in pieces, the parser let go between them
        # only where nothing is pending.
        stream.parse(b"<iq type='get' id='1'><q")
        self.assertEqual(len(b"<iq type='get' id='1'><q"), stream.stanzaSize)
        self.assertFalse(stream.release())
        stream.parse(b"uery xmlns='urn:q'/></iq>  ")
        self.assertTrue(stream.release())
        stream.parse(b"<presence/></stream:stream>")
        self.assertEqual(
            ["start", "element", "element", "element", "end"], [e[0] for e in events]
        )
        self.assertEqual("urn:q", events[2][1].query.uri)
        self.assertEqual(("jabber:client", "presence"), (events[3][1].uri, events[3][1].name))

    def test_sizeAcrossRelease(self):
        """
        The stanza size and the unfinished size count from the whole input,
        not from the start of a new parser.
        """
        stream, events = self.streamed()
        stream.release()
        stream.parse(b"<message>" + b"x" * 100)
        self.assertEqual(109, stream.stanzaSize)
        stream.parse(b"</message><message to='" + b"a" * 50)
        # From the start of the last tag Expat reported, the end tag.
        self.assertEqual(len(b"</message><message to='") + 50, stream.unfinishedSize)

    def test_notReleasedWithPendingInput(self):
        """
        The parser stays while Expat holds input it has not reported: an
        unfinished tag (even one ending in '>', inside an attribute or a
        comment), a stanza in progress, or a trailing carriage return
        (Expat waits to see whether a line feed follows).
        """
        for pending in [
            b"<message to='a>",
            b"<!-- a >",
            b"<message><body>hi</body>",
            b"\r",
        ]:
            stream, events = self.streamed()
            stream.parse(pending)
            self.assertFalse(stream.release(), pending)
            self.assertIsNotNone(stream.parser)

    def test_notReleasedBeforeRoot(self):
        """
        Before the root starts, and after it ends, there is nothing to carry
        on from: the parser stays.
        """
        stream = BoundedElementStream(64, 1)
        stream.parse(b"<?xml version='1.0'?>")
        self.assertFalse(stream.release())
        stream, events = self.streamed(b"<root>")
        stream.DocumentEndEvent = lambda: None
        stream.parse(b"</root>")
        self.assertFalse(stream.release())

    def test_notReleasedWithoutWrapperRoot(self):
        """
        A parser whose documents are stanzas themselves (C{stanzaLevel} 0,
        RFC 7395) is never let go: there is no root to carry on inside.
        """
        stream = BoundedElementStream(64, 0)
        stream.DocumentStartEvent = lambda root: None
        stream.parse(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'>")
        self.assertFalse(stream.release())

    def test_ambiguousRootPrefix(self):
        """
        A root whose namespace two of its own declarations name cannot be
        written again with certainty (the end tag must match the start tag
        as written): that stream keeps its parser. A root in no namespace,
        or in the default one, can.
        """
        stream, events = self.streamed(b"<s:root xmlns:s='urn:s' xmlns:t='urn:s'>")
        self.assertFalse(stream.release())
        for header, end in [
            (b"<root>", b"</root>"),
            (b"<root xmlns='urn:s' xmlns:a='urn:a'>", b"</root>"),
            (b"<t:root xmlns:t='urn:s' xmlns='urn:s2'>", b"</t:root>"),
        ]:
            stream, events = self.streamed(header)
            self.assertTrue(stream.release(), header)
            stream.parse(b"<a/>" + end)
            self.assertEqual(["start", "element", "end"], [e[0] for e in events], header)

    def test_rootDeclarationsEscaped(self):
        """
        Namespace names with characters that need escaping in an attribute
        (quotes, ampersands, whitespace written as character references)
        come back exactly.
        """
        uri = "urn:a'b\"c&d\te\nf"
        stream, events = self.streamed(
            b"<root xmlns:p='urn:a&apos;b&quot;c&amp;d&#9;e&#10;f' xmlns='urn:&lt;x&gt;'>"
        )
        self.assertTrue(stream.release())
        stream.parse(b"<p:a/><b/>")
        [a, b] = [e[1] for e in events[1:]]
        self.assertEqual(uri, a.uri)
        self.assertEqual("urn:<x>", b.uri)

    def test_startTagsShared(self):
        """
        Streams whose roots are written alike share one start tag for their
        new parsers; at most L{MOST_PRIMERS} different ones are kept, and a
        root past that still gets its own.
        """
        first, _ = self.streamed()
        second, _ = self.streamed()
        self.assertIs(first._primer, second._primer)
        self.patch(stanza, "_PRIMERS", {})
        self.patch(stanza, "MOST_PRIMERS", 1)
        a, _ = self.streamed(b"<a xmlns='urn:1'>")
        b, events = self.streamed(b"<b xmlns='urn:2'>")
        self.assertEqual(1, len(stanza._PRIMERS))
        self.assertEqual(b"<b xmlns=\"urn:2\">", b._primer)
        self.assertTrue(b.release())
        b.parse(b"<c/></b>")
        self.assertEqual(["start", "element", "end"], [e[0] for e in events])
        self.assertEqual("urn:2", events[1][1].uri)

    def test_configuredAgain(self):
        """
        A parser built again is given to C{configureParser}, after its
        handlers are in place, so the owner's settings hold for it too.
        """
        configured = []
        stream, events = self.streamed()
        stream.configureParser = configured.append
        stream.release()
        stream.parse(b"<a/>")
        self.assertEqual([stream.parser], configured)
        self.assertEqual(stream._onEndElement, stream.parser.EndElementHandler)

    def test_parseElements(self):
        """
        L{parseElements} reads elements under a wrapper root, with the
        depth limit, in a default namespace.
        """
        [a, b] = parseElements(b"<a/>text<b><c/></b>", namespace="jabber:client")
        self.assertEqual(("jabber:client", "b"), (b.uri, b.name))
        self.assertRaises(TooDeep, parseElements, b"<a><b/></a>", maxDepth=0)

    def test_parseStanzaBounded(self):
        """
        Stored text is parsed back with L{MAX_DEPTH_LIMIT}: deeper text is
        refused, never handed to the serialiser.
        """
        ok = "<a>" * (MAX_DEPTH_LIMIT + 1) + "</a>" * (MAX_DEPTH_LIMIT + 1)
        self.assertEqual("a", parseStanza(ok).name)
        self.assertRaises(TooDeep, parseStanza, "<a>" + ok + "</a>")


class FreezeTests(unittest.SynchronousTestCase):
    """
    L{freeze}: elements every stream shares refuse changes.
    """

    def test_frozen(self):
        """
        The element and its descendants refuse new children, attributes
        and text; they serialize as before, and a copy can be changed.
        """
        element = domish.Element(("urn:x", "mechanisms"))
        element.addElement("mechanism", content="PLAIN")
        before = element.toXml()
        frozen = freeze(element)
        self.assertIs(element, frozen)
        self.assertEqual(before, frozen.toXml())
        for target in (frozen, frozen.mechanism):
            self.assertIsInstance(target, FrozenElement)
            self.assertRaises(TypeError, target.addElement, "x")
            self.assertRaises(TypeError, target.addChild, domish.Element((None, "x")))
            self.assertRaises(TypeError, target.addContent, "x")
            self.assertRaises(TypeError, target.addRawXml, "<x/>")
            self.assertRaises(TypeError, target.__setitem__, "a", "b")
            self.assertRaises(TypeError, operator.setitem, target.attributes, "a", "b")
        self.assertRaises(TypeError, frozen.__delitem__, "xmlns")
        copy = copyStanza(frozen, a="b")
        copy.addElement("x")
        self.assertEqual(before, frozen.toXml())
        self.assertIn("a='b'", copy.toXml())


class ForLogTests(unittest.SynchronousTestCase):
    """
    L{forLog}: untrusted content for a log line, truncated.
    """

    def test_short(self):
        """
        Short text and elements are given whole.
        """
        self.assertEqual("hello", forLog("hello"))
        element = domish.Element((None, "iq"))
        self.assertEqual("<iq/>", forLog(element))

    def test_truncated(self):
        """
        Longer text is cut at the limit, saying how much was left out.
        """
        self.assertEqual("abc... (7 more characters)", forLog("abcdefghij", limit=3))
        self.assertEqual(
            LOG_TEXT_LIMIT + len("... (1000 more characters)"),
            len(forLog("x" * (LOG_TEXT_LIMIT + 1000))),
        )

    def test_unserialisable(self):
        """
        An element that cannot be serialised is named instead.
        """
        element = domish.Element((None, "iq"))
        element.children.append(object())
        self.assertIn("<iq/> (not serialisable", forLog(element))
