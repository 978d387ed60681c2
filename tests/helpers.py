# -*- test-case-name: tests.test_roster -*-
"""
Helpers shared by mepserver's protocol tests (STYLE.md section 7).

L{StubStream} stands in for a client's XML stream, L{parseXml} turns XML
literals shaped like the specifications' examples into elements, and
L{assertStanza} compares a stanza with such a literal.
"""

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish, utility


class StubStream(utility.EventDispatcher):
    """
    A stand-in for an XML stream: an event dispatcher that records output.

    @ivar output: the elements sent, in order.
    @ivar streamErrors: the L{error.StreamError}s sent, in order.
    """

    def __init__(self):
        utility.EventDispatcher.__init__(self)
        self.output = []
        self.streamErrors = []

    def send(self, obj):
        """
        Record an element (or raw string) sent on the stream.
        """
        self.output.append(obj)

    def sendStreamError(self, streamError):
        """
        Record a stream error.

        @type streamError: L{error.StreamError}
        """
        assert isinstance(streamError, error.StreamError)
        self.streamErrors.append(streamError)


def parseXml(text, namespace=None):
    """
    Parse one XML element from a literal.

    @param text: the element, as L{str}.
    @param namespace: the default namespace in scope, like a stream's
        (C{"jabber:client"} for stanzas from a client); L{None} for none.
    @return: the L{domish.Element}.
    """
    elements = []
    stream = domish.elementStream()
    stream.DocumentStartEvent = lambda root: None
    stream.ElementEvent = elements.append
    stream.DocumentEndEvent = lambda: None
    if namespace is None:
        root = "<root>"
    else:
        root = "<root xmlns='%s'>" % (namespace,)
    stream.parse((root + text + "</root>").encode("utf-8"))
    if len(elements) != 1:
        raise ValueError("expected one element, got %d" % (len(elements),))
    return elements[0]


def stanzaMismatch(actual, expected, namespace="jabber:client"):
    """
    Say why a stanza lacks something an expected literal shows.

    Every attribute, text and child element of C{expected} must be present
    in C{actual}; extra attributes and children, and the order of children,
    are ignored. An element built without a namespace (as
    L{twisted.words.protocols.jabber.xmlstream.toResponse} builds replies)
    is in its parent's namespace, the stream's for a stanza, as it will be
    once serialized.

    @param actual: the L{domish.Element} received.
    @param expected: the expected element, as an XML literal or an element.
    @param namespace: the stream's default namespace: the namespace of a
        literal C{expected}, and of an C{actual} stanza built without one.
    @return: a description of the first difference, or L{None} if
        C{actual} matches.
    """
    if isinstance(expected, str):
        expected = parseXml(expected, namespace)
    if not domish.IElement.providedBy(actual):
        return "expected an element, got %r" % (actual,)
    return _mismatch(actual, expected, actual.name, namespace)


def _mismatch(actual, expected, path, inherited):
    uri = actual.uri if actual.uri is not None else inherited
    if (uri, actual.name) != (expected.uri, expected.name):
        return "%s: expected <%s xmlns=%r>, got <%s xmlns=%r>" % (
            path, expected.name, expected.uri, actual.name, uri)
    for name, value in expected.attributes.items():
        if actual.attributes.get(name) != value:
            return "%s: attribute %r is %r, expected %r" % (
                path, name, actual.attributes.get(name), value)
    expectedText = "".join(c for c in expected.children if isinstance(c, str))
    if expectedText.strip():
        actualText = "".join(c for c in actual.children if isinstance(c, str))
        if actualText != expectedText:
            return "%s: text is %r, expected %r" % (
                path, actualText, expectedText)
    candidates = list(actual.elements())
    for child in expected.elements():
        childPath = "%s/%s" % (path, child.name)
        for candidate in candidates:
            if _mismatch(candidate, child, childPath, uri) is None:
                candidates.remove(candidate)
                break
        else:
            return "%s: no child matches %s" % (path, child.toXml())
    return None


def assertStanza(testCase, actual, expected, namespace="jabber:client"):
    """
    Assert that a stanza has what an expected literal shows.

    Every attribute, text and child element of C{expected} must be present
    in C{actual}; extra attributes and children, and the order of children,
    are ignored.

    @param testCase: the L{twisted.trial.unittest.TestCase} asserting.
    @param actual: the L{domish.Element} received.
    @param expected: the expected element, as an XML literal or an element.
    @param namespace: the default namespace for a literal C{expected}.
    """
    problem = stanzaMismatch(actual, expected, namespace)
    if problem is not None:
        if isinstance(expected, str):
            expected = parseXml(expected, namespace)
        shown = actual.toXml() if domish.IElement.providedBy(actual) else repr(actual)
        testCase.fail("%s\n  expected: %s\n  actual:   %s" % (
            problem, expected.toXml(), shown))
