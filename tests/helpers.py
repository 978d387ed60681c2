# -*- test-case-name: tests.test_roster -*-
"""
Helpers shared by mepserver's protocol tests (STYLE.md section 7).

L{StubStream} stands in for a client's XML stream, L{parseXml} turns XML
literals shaped like the specifications' examples into elements, and
L{assertStanza} compares a stanza with such a literal.
"""

import functools

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish, utility

from mepserver.c2s.mechanisms import makeCredentials


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


@functools.lru_cache(maxsize=None)
def credentials(password):
    """
    L{makeCredentials} for C{password}, derived once per run: the SCRAM
    keys take a few milliseconds, and many tests create the same accounts.
    """
    return makeCredentials(password)


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


class CapsClient:
    """
    A test client's entity capabilities (XEP-0115): the C{<c/>} element
    for its presence, with a verification string computed by
    L{mepserver.caps.computeVer} from its identity and features, and the
    answer to the disco#info query a server sends about it (section 6.2).

    To receive PEP or MEP notifications of a node, put C{NODE+notify}
    among the features (XEP-0163 section 4.3).

    @ivar features: the feature vars.
    @ivar identities: C{(category, type, lang, name)} tuples.
    @ivar node: the caps node.
    @ivar ver: the verification string.
    """

    def __init__(
        self,
        features,
        identities=(("client", "pc", "", "mepserver tests"),),
        node="https://mepserver.example/tests",
    ):
        from mepserver.caps import computeVer

        self.features = list(features)
        self.identities = list(identities)
        self.node = node
        self.ver = computeVer(self.identities, self.features)

    def caps(self):
        """
        @return: the C{<c xmlns='http://jabber.org/protocol/caps'/>}
            element for presence.
        """
        c = domish.Element(("http://jabber.org/protocol/caps", "c"))
        c["hash"] = "sha-1"
        c["node"] = self.node
        c["ver"] = self.ver
        return c

    def presence(self, **attributes):
        """
        @return: an available C{<presence/>} carrying the caps.
        """
        presence = domish.Element(("jabber:client", "presence"))
        for name, value in attributes.items():
            presence[name] = value
        presence.addChild(self.caps())
        return presence

    def isQuery(self, stanza):
        """
        @return: whether C{stanza} is a disco#info request.
        """
        return (
            domish.IElement.providedBy(stanza)
            and stanza.name == "iq"
            and stanza.getAttribute("type") == "get"
            and any(
                True
                for _ in stanza.elements("http://jabber.org/protocol/disco#info", "query")
            )
        )

    def answer(self, iq):
        """
        @return: the result answering the disco#info request C{iq}: the
            identities and features, for the node the request names.
        """
        response = domish.Element(("jabber:client", "iq"))
        response["type"] = "result"
        response["id"] = iq.getAttribute("id", "")
        if iq.getAttribute("from"):
            response["to"] = iq["from"]
        query = response.addElement(("http://jabber.org/protocol/disco#info", "query"))
        request = next(iq.elements("http://jabber.org/protocol/disco#info", "query"))
        if request.getAttribute("node"):
            query["node"] = request["node"]
        for category, kind, lang, name in self.identities:
            identity = query.addElement("identity")
            identity["category"] = category
            identity["type"] = kind
            if lang:
                identity[("http://www.w3.org/XML/1998/namespace", "lang")] = lang
            if name:
                identity["name"] = name
        for feature in self.features:
            query.addElement("feature")["var"] = feature
        return response

    def answerOn(self, xs):
        """
        Answer every disco#info request arriving on the client stream
        C{xs} (a L{twisted.words.protocols.jabber.xmlstream.XmlStream}).
        """

        def onQuery(iq):
            if self.isQuery(iq):
                xs.send(self.answer(iq))

        # Before the observers of mepserver.testing's clients, so that
        # the answer goes out before a test reacting to the query sends
        # anything.
        xs.addObserver("/iq[@type='get']", onQuery, 1)


def matchExactly(testCase, who, received, expected, namespace="jabber:client"):
    """
    Assert that C{received} holds exactly stanzas matching the literals of
    C{expected} (L{stanzaMismatch}), in any order.

    @param who: how to name the receiver in a failure message.
    @param namespace: the receiver's stream namespace, that of the
        literals.
    @return: the matching stanzas, in the order of C{expected}.
    """
    remaining = list(received)
    matched = []
    for literal in expected:
        for stanza in remaining:
            if stanzaMismatch(stanza, literal, namespace) is None:
                remaining.remove(stanza)
                matched.append(stanza)
                break
        else:
            testCase.fail(
                f"{who} did not receive {literal}; it got:\n"
                + "\n".join(s.toXml() for s in remaining)
            )
    if remaining:
        testCase.fail(
            f"{who} also received:\n" + "\n".join(s.toXml() for s in remaining)
        )
    return matched
