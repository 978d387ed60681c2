# -*- test-case-name: tests.test_stream -*-
"""
Tests for L{mepserver.c2s.stream} and the receiving steps: stream headers
and errors (RFC 6120 section 4), SASL (section 6), resource binding
(section 7), in-band registration (XEP-0077) and the session path, fed
through a C{StringTransport}.
"""

import base64
import gc

import scramp
from twisted.internet import defer, task
from twisted.internet.testing import StringTransport
from twisted.trial import unittest
from twisted.words.protocols.jabber import xmlstream
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from wokkel import component, generic
from zope.interface import Invalid, implementer

from mepserver.c2s.bind import BindStep, SessionFeatureStep
from mepserver.c2s.csi import CSIFeatureStep
from mepserver.c2s.mechanisms import mechanismFactories
from mepserver.c2s.register import RegisterStep, RegistrationHandler, generateUsername
from mepserver.c2s.sasl import MAX_ATTEMPTS, SASLStep
from mepserver.c2s.sessions import DeliveryHandler, SessionManager
from mepserver.c2s import stream
from mepserver.c2s.stream import C2SAuthenticator, C2SXmlStream, StreamRegistry, WriteGatherer
from mepserver.config import Config
from mepserver.interfaces import IAccountObserver
from mepserver.router import Router
from mepserver.stanza import FrozenElement
from mepserver.storage.memory import MemoryUserStore
from tests.helpers import credentials

NS_STREAMS = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
HEADER = (
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' "
    "to='example.com' version='1.0'>"
)


class OutputParser:
    """
    Parse what the server wrote, across stream restarts.
    """

    def __init__(self, transport):
        self.transport = transport
        self.offset = 0
        self.headers = []
        self.elements = []
        self.closed = False
        self._newStream()

    def _newStream(self):
        self.stream = domish.elementStream()
        self.stream.DocumentStartEvent = self.headers.append
        self.stream.ElementEvent = lambda e: self.elements.append(e)
        self.stream.DocumentEndEvent = self._end

    def _end(self):
        self.closed = True

    def read(self):
        data = self.transport.value()[self.offset :]
        self.offset += len(data)
        # A new header starts a new document for the parser.
        marker = b"<stream:stream"
        while data:
            index = data.find(marker, 1)
            chunk, data = (data, b"") if index < 0 else (data[:index], data[index:])
            if chunk.startswith(marker) and self.headers:
                self._newStream()
            self.stream.parse(chunk)
        new, self.elements = self.elements, []
        return new


class Harness:
    """
    A client domain with sessions, and a stream to drive as a client.
    """

    def __init__(self, testCase, encryptionRequired=False, registration=True):
        self.config = Config(domain="example.com", registration=registration)
        self.users = MemoryUserStore()
        self.router = Router()
        self.sessions = SessionManager("example.com", self.users, self.router)
        domain = component.InternalComponent(self.router, "example.com")
        DeliveryHandler(self.sessions).setHandlerParent(domain)
        self.registration = RegistrationHandler(self.config, self.users, self.sessions)
        self.registration.setHandlerParent(domain)
        generic.FallbackHandler().setHandlerParent(domain)
        domain.startService()
        testCase.addCleanup(domain.stopService)
        self.encryptionRequired = encryptionRequired
        self.registrationOffered = registration
        self.tlsContext = object()

    def addUser(self, username, password):
        return self.users.createUser(username, credentials(password))

    def connect(self):
        steps = [
            lambda a: SASLStep(
                a,
                mechanismFactories(
                    self.users.getCredentials,
                    "example.com",
                    allowPlain=True,
                    allowAnonymous=True,
                    generateUsername=generateUsername,
                ),
            ),
            lambda a: BindStep(a, self.sessions),
            SessionFeatureStep,
            CSIFeatureStep,
        ]
        if self.registrationOffered:
            steps.insert(0, lambda a: RegisterStep(a, self.registration))
        if self.encryptionRequired:
            from mepserver.c2s.tls import TLSStep

            steps.insert(0, lambda a: TLSStep(a, self.tlsContext, required=True))
        authenticator = C2SAuthenticator("example.com", steps)
        xs = C2SXmlStream(authenticator)
        transport = StringTransport()
        xs.makeConnection(transport)
        return Client(xs, transport)


class Client:
    """
    The client side of one stream, speaking raw XML.
    """

    def __init__(self, xs, transport):
        self.xs = xs
        self.transport = transport
        self.output = OutputParser(transport)

    def send(self, data):
        self.xs.dataReceived(data.encode("utf-8") if isinstance(data, str) else data)
        return self.output.read()

    def start(self):
        return self.send(HEADER)

    def plain(self, username, password):
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        return self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")

    def bind(self, resource=None):
        inner = f"<resource>{resource}</resource>" if resource else ""
        return self.send(
            f"<iq type='set' id='b1'><bind xmlns='{NS_BIND}'>{inner}</bind></iq>"
        )

    @defer.inlineCallbacks
    def login(self, username, password, resource="r"):
        self.start()
        [success] = self.plain(username, password)
        yield None
        assert success.name == "success", success.toXml()
        self.start()
        [result] = self.bind(resource)
        return result


def streamError(element):
    """
    @return: the condition of a stream error element, or L{None}.
    """
    if (element.uri, element.name) != (NS_STREAMS, "error"):
        return None
    for child in element.elements(NS_STREAM_ERRORS):
        if child.name != "text":
            return child.name


def stanzaError(element):
    for err in element.elements():
        if err.name != "error":
            continue
        for child in err.elements(NS_STANZAS):
            if child.name != "text":
                return child.name


class StreamHeaderTests(unittest.TestCase):
    """
    RFC 6120 section 4: the stream header and stream errors.
    """

    def setUp(self):
        self.client = Harness(self).connect()

    def test_header(self):
        """
        The response header has from, id, version 1.0 and xml:lang
        (section 4.7), then the features: SASL mechanisms and registration.
        """
        [features] = self.client.start()
        [header] = self.client.output.headers
        self.assertEqual("example.com", header["from"])
        self.assertEqual("1.0", header["version"])
        self.assertTrue(header.getAttribute("id"))
        self.assertEqual("en", header[("http://www.w3.org/XML/1998/namespace", "lang")])
        self.assertEqual((NS_STREAMS, "features"), (features.uri, features.name))
        mechanisms = [str(m) for m in features.mechanisms.elements()]
        self.assertEqual(["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "ANONYMOUS"], mechanisms)
        self.assertEqual(
            ["mechanisms", "register"], sorted(c.name for c in features.elements())
        )

    def test_headerAsDomishWritesIt(self):
        """
        The header written from the template, for a stream with the usual
        namespaces, is the one domish writes (the general path, taken for
        a client that chose other prefixes), values escaped alike.
        """
        xs = self.client.xs
        self.client.start()
        xs.sid = "a'b<c&d"
        for prefixes in [{NS_STREAMS: "stream"}, {NS_STREAMS: "stream", "urn:x": "x"}]:
            xs.prefixes = prefixes
            before = len(self.client.transport.value())
            xs.sendHeader()
            written = self.client.transport.value()[before:].decode("utf-8")
            root = domish.Element((NS_STREAMS, "stream"), "jabber:client")
            root["from"] = "example.com"
            root["id"] = xs.sid
            root["version"] = "1.0"
            root[("http://www.w3.org/XML/1998/namespace", "lang")] = "en"
            self.assertEqual(root.toXml(prefixes=prefixes, closeElement=0), written)

    def test_featuresTextKept(self):
        """
        Features made of the steps' shared elements are serialized once per
        combination and the text is written for every stream after; it is
        what serializing the element gives, and the shared elements are not
        touched (not even their C{parent}).
        """
        self.patch(stream, "FEATURES_TEXT", {})
        [first] = self.client.start()
        [kept] = stream.FEATURES_TEXT.values()
        [offered] = stream.FEATURES_TEXT
        self.assertEqual(
            ["mechanisms", "register"], sorted(e.name for e in offered)
        )
        self.assertTrue(all(e.parent is None for e in offered))
        other = Harness(self).connect()
        writes = []
        write = other.transport.write
        self.patch(other.transport, "write", lambda data: (writes.append(data), write(data)))
        [second] = other.start()
        # Header and features in one write (one TLS record).
        [written] = writes
        self.assertTrue(written.startswith(b"<stream:stream "), written)
        self.assertTrue(written.endswith(kept.encode("utf-8")), written)
        self.assertEqual(first.toXml(), second.toXml())
        self.assertEqual(1, len(stream.FEATURES_TEXT))
        xs = other.xs
        self.assertEqual(
            kept,
            xs.authenticator.features().toXml(
                prefixes=xs.prefixes, defaultUri=xs.namespace, prefixesInScope=["stream"]
            ),
        )

    def test_featuresOtherPrefix(self):
        """
        A client that binds the streams namespace to another prefix gets its
        features in that prefix, serialized for its stream, not the kept
        text (whose C{stream:} prefix it never declared).
        """
        self.patch(stream, "FEATURES_TEXT", {})
        [features] = self.client.send(
            "<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' "
            "to='example.com' version='1.0'>"
        )
        self.assertEqual((NS_STREAMS, "features"), (features.uri, features.name))
        self.assertIn(b"<s:features>", self.client.transport.value())
        self.assertEqual({}, stream.FEATURES_TEXT)

    def test_featuresOfNewElements(self):
        """
        A step whose feature element is made anew each time (not frozen) is
        offered as well, serialized every time, and nothing is kept for
        it.
        """
        self.patch(stream, "FEATURES_TEXT", {})

        class FreshStep:
            mandatory = False

            def __init__(self, authenticator):
                pass

            def feature(self):
                return domish.Element(("urn:example:fresh", "fresh"))

            def onElement(self, element):
                return False

        authenticator = C2SAuthenticator("example.com", [FreshStep])
        xs = C2SXmlStream(authenticator)
        transport = StringTransport()
        xs.makeConnection(transport)
        client = Client(xs, transport)
        [features] = client.start()
        self.assertEqual(["fresh"], [e.name for e in features.elements()])
        self.assertEqual({}, stream.FEATURES_TEXT)

    def test_sharedFeatureUnchangeable(self):
        """
        A shared feature element refuses changes: one stream cannot alter
        what every stream is sent.
        """
        self.client.start()
        for element in self.client.xs.authenticator.offered():
            self.assertIsInstance(element, FrozenElement)
            self.assertRaises(TypeError, element.addElement, "x")
            self.assertRaises(TypeError, element.__setitem__, "a", "b")
            self.assertRaises(TypeError, element.addContent, "text")
            self.assertRaises(AttributeError, lambda: element.children.append("x"))

    def assertStreamError(self, condition, *data):
        output = []
        for chunk in data:
            output += self.client.send(chunk)
        self.assertEqual(condition, streamError(output[-1]), output[-1].toXml())
        self.assertTrue(self.client.transport.disconnecting)
        self.assertTrue(self.client.output.closed)

    def test_hostUnknown(self):
        """
        A header to another domain gets host-unknown (section 4.9.3.6).
        """
        self.assertStreamError("host-unknown", HEADER.replace("example.com", "other.org"))

    def test_malformedTo(self):
        """
        A C{to} that is no JID at all (or empty) is not a domain this
        server serves: host-unknown (section 4.9.3.6), not an exception out
        of the parser.
        """
        for to in ("a@b@c", "", "example.com/x"):
            self.client = Harness(self).connect()
            self.assertStreamError(
                "host-unknown",
                "<stream:stream xmlns='jabber:client' "
                f"xmlns:stream='http://etherx.jabber.org/streams' to='{to}' version='1.0'>",
            )

    def test_invalidNamespace(self):
        """
        A content namespace other than jabber:client gets invalid-namespace.
        """
        self.assertStreamError(
            "invalid-namespace", HEADER.replace("jabber:client", "jabber:server")
        )

    def test_wrongRootElement(self):
        """
        A root element other than <stream:stream/> gets invalid-namespace.
        """
        self.assertStreamError(
            "invalid-namespace", "<stream xmlns='jabber:client' version='1.0'>"
        )

    def test_unsupportedVersion(self):
        """
        A header without version='1.0' gets unsupported-version (4.9.3.25).
        """
        self.assertStreamError(
            "unsupported-version", HEADER.replace(" version='1.0'", "")
        )

    def test_garbage(self):
        """
        Bytes that are not XML get not-well-formed (section 4.9.3.13).
        """
        self.assertStreamError("not-well-formed", b"\x00\xffGET / HTTP/1.1\r\n\r\n")

    def test_badNesting(self):
        """
        Mismatched tags after a good header get not-well-formed.
        """
        self.assertStreamError("not-well-formed", HEADER, "<iq><query></iq>")

    def test_dtd(self):
        """
        A document type declaration gets restricted-xml (section 11.1).
        """
        self.assertStreamError(
            "restricted-xml",
            "<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY x 'y'>]>" + HEADER,
        )

    def test_comment(self):
        """
        A comment gets restricted-xml.
        """
        self.assertStreamError("restricted-xml", HEADER, "<!-- hello -->")

    def test_processingInstruction(self):
        """
        A processing instruction gets restricted-xml.
        """
        self.assertStreamError("restricted-xml", HEADER, "<?php echo 1; ?>")

    def test_xmlDeclarationAllowed(self):
        """
        The XML declaration itself is allowed.
        """
        [features] = self.client.send("<?xml version='1.0'?>" + HEADER)
        self.assertEqual("features", features.name)

    def test_oversizedStanza(self):
        """
        A stanza over the size limit gets policy-violation (13.12).
        """
        self.client.xs.maxStanzaSize = 2048
        self.assertStreamError(
            "policy-violation", HEADER, "<message><body>" + "x" * 4096
        )

    def test_stanzaBeforeAuthentication(self):
        """
        A stanza before SASL gets not-authorized (section 6.4.7? 7.1).
        """
        self.assertStreamError(
            "not-authorized", HEADER, "<message to='bob@example.com'><body>hi</body></message>"
        )

    def test_nothingAfterError(self):
        """
        Once a stream error is sent, nothing more is processed or written.
        """
        self.client.send(HEADER)
        self.client.send("<!-- x -->")
        before = self.client.transport.value()
        self.client.send("<iq type='get' id='1'><query xmlns='jabber:iq:register'/></iq>")
        self.assertEqual(before, self.client.transport.value())

    @defer.inlineCallbacks
    def test_restartWhileBound(self):
        """
        A new stream header in a bound session is not a restart (RFC 6120
        4.3.3 allows one only after STARTTLS or SASL success): it gets a
        stream error and the stream closes, instead of swallowing every
        stanza after it.
        """
        harness = Harness(self)
        yield harness.addUser("juliet", "r0m30")
        client = harness.connect()
        yield client.login("juliet", "r0m30")
        [error] = client.send(HEADER)
        self.assertEqual("unsupported-stanza-type", streamError(error))
        self.assertIn("4.3.3", str(error.text))
        self.assertTrue(client.output.closed)
        self.assertTrue(client.transport.disconnecting)
        self.assertEqual([], client.send("<presence/>"))

    def test_restartBeforeAuthentication(self):
        """
        The same before authentication: the header inside the stream is
        refused at once.
        """
        self.client.start()
        [error] = self.client.send(HEADER)
        self.assertEqual("unsupported-stanza-type", streamError(error))

    def test_peerStreamError(self):
        """
        A stream error from the client (RFC 6120 section 4.9) is dispatched
        once as C{STREAM_ERROR_EVENT}, carrying its condition, and the
        connection closes; nothing is answered to it.
        """
        errors = []
        self.client.xs.addObserver(xmlstream.STREAM_ERROR_EVENT, errors.append)
        self.client.start()
        output = self.client.send(
            f"<stream:error><not-well-formed xmlns='{NS_STREAM_ERRORS}'/></stream:error>"
            f"<stream:error><conflict xmlns='{NS_STREAM_ERRORS}'/></stream:error>"
        )
        self.assertEqual([], output)
        [failure] = errors
        self.assertEqual("not-well-formed", failure.value.condition)
        self.assertTrue(self.client.transport.disconnecting)

    def test_closeStream(self):
        """
        The client's </stream:stream> is answered by ours (section 4.4).
        """
        self.client.send(HEADER)
        self.client.send("</stream:stream>")
        self.assertTrue(self.client.output.closed)
        self.assertTrue(self.client.transport.disconnecting)


class SASLTests(unittest.TestCase):
    """
    RFC 6120 section 6 on the stream.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.client = self.harness.connect()
        self.client.start()
        return self.harness.addUser("juliet", "r0m30")

    def failure(self, output):
        [failure] = output
        self.assertEqual((NS_SASL, "failure"), (failure.uri, failure.name))
        return [c.name for c in failure.elements() if c.name != "text"][0]

    def test_plain(self):
        """
        PLAIN with the right password succeeds and the restarted stream
        offers bind, client state indication and the optional legacy
        session.
        """
        [success] = self.client.plain("juliet", "r0m30")
        self.assertEqual((NS_SASL, "success"), (success.uri, success.name))
        [features] = self.client.start()
        self.assertEqual(
            ["bind", "csi", "session"], sorted(c.name for c in features.elements())
        )

    def test_wrongPassword(self):
        """
        A wrong password gets the not-authorized failure (6.5.10).
        """
        self.assertEqual("not-authorized", self.failure(self.client.plain("juliet", "x")))

    def test_invalidMechanism(self):
        """
        An unknown mechanism gets invalid-mechanism (6.5.6).
        """
        output = self.client.send(f"<auth xmlns='{NS_SASL}' mechanism='X-FOO'/>")
        self.assertEqual("invalid-mechanism", self.failure(output))

    def test_incorrectEncoding(self):
        """
        Bad base64 gets incorrect-encoding (6.5.4).
        """
        output = self.client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>!!!</auth>")
        self.assertEqual("incorrect-encoding", self.failure(output))

    def test_abort(self):
        """
        <abort/> gets the aborted failure (6.4.4).
        """
        self.client.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-1'/>")
        self.assertEqual("aborted", self.failure(self.client.send(f"<abort xmlns='{NS_SASL}'/>")))

    def test_tooManyFailures(self):
        """
        After MAX_ATTEMPTS failures the stream is closed (6.4.5).
        """
        for i in range(MAX_ATTEMPTS - 1):
            self.failure(self.client.plain("juliet", "x"))
        output = self.client.plain("juliet", "x")
        self.assertEqual("policy-violation", streamError(output[-1]))

    def test_scram(self):
        """
        A full SCRAM-SHA-256 exchange, verified by scramp's client.
        """
        client = scramp.ScramClient(["SCRAM-SHA-256"], "juliet", "r0m30")
        first = base64.b64encode(client.get_client_first().encode()).decode()
        [challenge] = self.client.send(
            f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-256'>{first}</auth>"
        )
        self.assertEqual("challenge", challenge.name)
        client.set_server_first(base64.b64decode(str(challenge)).decode())
        final = base64.b64encode(client.get_client_final().encode()).decode()
        [success] = self.client.send(f"<response xmlns='{NS_SASL}'>{final}</response>")
        self.assertEqual("success", success.name)
        client.set_server_final(base64.b64decode(str(success)).decode())

    def test_anonymous(self):
        """
        ANONYMOUS binds a generated account name.
        """
        [success] = self.client.send(f"<auth xmlns='{NS_SASL}' mechanism='ANONYMOUS'>=</auth>")
        self.assertEqual("success", success.name)
        self.client.start()
        [result] = self.client.bind()
        self.assertTrue(str(result.bind.jid).startswith("anon-"))


class BindTests(unittest.TestCase):
    """
    RFC 6120 section 7 and the session path.
    """

    def setUp(self):
        self.harness = Harness(self)
        return self.harness.addUser("juliet", "r0m30")

    @defer.inlineCallbacks
    def test_bindRequested(self):
        """
        The requested resource is bound (7.6.1).
        """
        client = self.harness.connect()
        result = yield client.login("juliet", "r0m30", "balcony")
        self.assertEqual("result", result["type"])
        self.assertEqual("juliet@example.com/balcony", str(result.bind.jid))
        self.assertIsNotNone(self.harness.sessions.session(
            __import__("twisted.words.protocols.jabber.jid", fromlist=["JID"]).JID(
                "juliet@example.com/balcony")))

    @defer.inlineCallbacks
    def test_peerStreamErrorWhenBound(self):
        """
        A bound client's stream error (RFC 6120 section 4.9) ends its
        stream as one before authentication does: dispatched once as
        C{STREAM_ERROR_EVENT}, the connection closed, nothing answered (no
        stream error about a stream error).
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30", "balcony")
        errors = []
        client.xs.addObserver(xmlstream.STREAM_ERROR_EVENT, errors.append)
        output = client.send(
            f"<stream:error><conflict xmlns='{NS_STREAM_ERRORS}'/></stream:error>"
        )
        self.assertEqual([], output)
        [failure] = errors
        self.assertEqual("conflict", failure.value.condition)
        self.assertTrue(client.transport.disconnecting)

    @defer.inlineCallbacks
    def test_stepsDroppedOnceBound(self):
        """
        Once a resource is bound, negotiation is over: the authenticator
        drops its steps (a connection keeps only what it needs while it
        lasts) and hands every element to the session.
        """
        client = self.harness.connect()
        self.assertNotEqual([], client.xs.authenticator.steps)
        yield client.login("juliet", "r0m30", "balcony")
        self.assertEqual([], client.xs.authenticator.steps)
        self.assertIsNotNone(client.xs.authenticator.session)

    @defer.inlineCallbacks
    def test_parserReleasedWhenBound(self):
        """
        A bound stream lets go of its Expat parser between stanzas (an idle
        connection keeps none) and builds one for the next; a stream that is
        still negotiating keeps its parser.
        """
        client = self.harness.connect()
        client.start()
        self.assertIsNotNone(client.xs.stream.parser)
        [success] = client.plain("juliet", "r0m30")
        yield None
        self.assertEqual("success", success.name)
        client.start()
        self.assertIsNotNone(client.xs.stream.parser)
        client.bind("balcony")
        self.assertIsNone(client.xs.stream.parser)
        [answer] = client.send(
            "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>"
        )
        self.assertEqual("r1", answer["id"])
        self.assertIsNone(client.xs.stream.parser)
        # Half a stanza: the parser holds it until the rest comes.
        self.assertEqual([], client.send("<iq type='get' id='r2'><query xmlns='jabber:"))
        self.assertIsNotNone(client.xs.stream.parser)
        [answer] = client.send("iq:roster'/></iq>")
        self.assertEqual("r2", answer["id"])
        self.assertIsNone(client.xs.stream.parser)

    @defer.inlineCallbacks
    def test_limitsAfterRelease(self):
        """
        A parser built again after a release refuses what the first one
        refused: restricted XML (RFC 6120 section 11.1), elements nested
        too deeply and stanzas over the size limit.
        """
        for data, condition in [
            ("<!-- x -->", "restricted-xml"),
            ("<?pi x?>", "restricted-xml"),
            ("<message>" + "<a>" * 70, "policy-violation"),
            ("<message><body>" + "x" * 4096, "policy-violation"),
        ]:
            client = self.harness.connect()
            client.xs.maxStanzaSize = 2048
            yield client.login("juliet", "r0m30", "balcony")
            self.assertIsNone(client.xs.stream.parser)
            [error] = client.send(data)
            self.assertEqual(condition, streamError(error), data)
            self.assertTrue(client.transport.disconnecting)

    @defer.inlineCallbacks
    def test_bindGenerated(self):
        """
        Without a requested resource, the server generates one (7.6.2.1).
        """
        client = self.harness.connect()
        result = yield client.login("juliet", "r0m30", None)
        self.assertTrue(str(result.bind.jid).startswith("juliet@example.com/mep-"))

    @defer.inlineCallbacks
    def test_conflictReplacesOld(self):
        """
        Binding a resource in use closes the old stream with conflict.
        """
        first = self.harness.connect()
        yield first.login("juliet", "r0m30", "balcony")
        second = self.harness.connect()
        result = yield second.login("juliet", "r0m30", "balcony")
        self.assertEqual("result", result["type"])
        self.assertEqual("conflict", streamError(first.output.read()[-1]))
        self.assertEqual(1, len(self.harness.sessions.sessionsOf("juliet")))

    @defer.inlineCallbacks
    def test_badResource(self):
        """
        An invalid resource gets bad-request (7.7.2.1).
        """
        client = self.harness.connect()
        client.start()
        client.plain("juliet", "r0m30")
        client.start()
        [result] = client.bind("\ue000")
        self.assertEqual("bad-request", stanzaError(result))
        yield None

    @defer.inlineCallbacks
    def test_legacySession(self):
        """
        The legacy session IQ gets an empty result (RFC 6121 Appendix E).
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        [result] = client.send(
            "<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"
        )
        self.assertEqual(("result", "s1"), (result["type"], result["id"]))

    @defer.inlineCallbacks
    def test_unsupportedStanzaType(self):
        """
        A non-stanza element after binding gets unsupported-stanza-type.
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        [error, ] = client.send("<foo xmlns='urn:example'/>")
        self.assertEqual("unsupported-stanza-type", streamError(error))

    @defer.inlineCallbacks
    def test_csiFeature(self):
        """
        XEP-0352 section 3: after authentication the features offer CSI
        beside binding.
        """
        client = self.harness.connect()
        client.start()
        client.plain("juliet", "r0m30")
        [features] = client.start()
        self.assertEqual(
            1, len(list(features.elements("urn:xmpp:csi:0", "csi"))), features.toXml()
        )
        yield None

    @defer.inlineCallbacks
    def test_clientState(self):
        """
        XEP-0352 section 4: <inactive/> and <active/> are recorded on the
        session and answered with nothing; stanzas keep flowing.
        """
        client = self.harness.connect()
        result = yield client.login("juliet", "r0m30", "balcony")
        session = self.harness.sessions.session(JID(str(result.bind.jid)))
        self.assertEqual([], client.send("<inactive xmlns='urn:xmpp:csi:0'/>"))
        self.assertFalse(session.active)
        self.assertEqual([], client.send("<active xmlns='urn:xmpp:csi:0'/>"))
        self.assertTrue(session.active)
        [answer] = client.send(
            "<iq type='get' id='v' to='juliet@example.com/nowhere'>"
            "<query xmlns='jabber:iq:version'/></iq>"
        )
        self.assertEqual("v", answer["id"])

    @defer.inlineCallbacks
    def test_unknownClientStateElement(self):
        """
        Another element in the CSI namespace is no stanza either.
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        [error] = client.send("<asleep xmlns='urn:xmpp:csi:0'/>")
        self.assertEqual("unsupported-stanza-type", streamError(error))

    @defer.inlineCallbacks
    def test_badIQ(self):
        """
        An IQ get with no child gets bad-request (RFC 6120 8.2.3).
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        [result] = client.send("<iq type='get' id='q1' to='example.com'/>")
        self.assertEqual("bad-request", stanzaError(result))

    @defer.inlineCallbacks
    def test_malformedTo(self):
        """
        An invalid 'to' gets jid-malformed.
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        [result] = client.send("<message to='a@b@c'><body>x</body></message>")
        self.assertEqual("jid-malformed", stanzaError(result))

    @defer.inlineCallbacks
    def test_malformedAddresses(self):
        """
        RFC 7622 section 3: a part over 1023 bytes (counted in UTF-8), an
        empty localpart or resourcepart gets jid-malformed, with a text
        saying which part; the stream carries on.
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        for to in (
            "a" * 1024 + "@example.com",
            "\u00e9" * 512 + "@example.com",
            "juliet@" + "d" * 1024,
            "juliet@example.com/" + "r" * 1024,
            "@example.com",
            "juliet@example.com/",
        ):
            [result] = client.send(
                f"<iq type='get' id='m' to='{to}'><ping xmlns='urn:xmpp:ping'/></iq>"
            )
            self.assertEqual("jid-malformed", stanzaError(result), to[:40])
            self.assertEqual("example.com", result["from"])
            self.assertIn("RFC 7622", str(result.error.text))
        [result] = client.send(
            "<iq type='get' id='ok' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>"
        )
        self.assertEqual("service-unavailable", stanzaError(result))

    @defer.inlineCallbacks
    def test_longestAddressParts(self):
        """
        Parts of exactly 1023 bytes are valid: a message to such an
        account is answered as for any unknown account.
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        localpart = "\u00e9" * 511 + "a"
        [result] = client.send(
            f"<message to='{localpart}@example.com/{'r' * 1023}'><body>x</body></message>"
        )
        self.assertEqual("service-unavailable", stanzaError(result))

    @defer.inlineCallbacks
    def test_fromIsStamped(self):
        """
        A client never chooses its own from (RFC 6120 8.1.2.1).
        """
        yield self.harness.addUser("romeo", "j")
        juliet = self.harness.connect()
        yield juliet.login("juliet", "r0m30", "balcony")
        romeo = self.harness.connect()
        yield romeo.login("romeo", "j", "orchard")
        romeo.send(
            "<message to='juliet@example.com/balcony' from='mallory@example.com' "
            "type='chat'><body>hi</body></message>"
        )
        [message] = juliet.output.read()
        self.assertEqual("romeo@example.com/orchard", message["from"])

    @defer.inlineCallbacks
    def test_iqToNobody(self):
        """
        An IQ to an unbound full JID gets service-unavailable.
        """
        client = self.harness.connect()
        yield client.login("juliet", "r0m30")
        [result] = client.send(
            "<iq type='get' id='v1' to='juliet@example.com/nowhere'>"
            "<query xmlns='jabber:iq:version'/></iq>"
        )
        self.assertEqual("service-unavailable", stanzaError(result))
        self.assertEqual("juliet@example.com/nowhere", result["from"])


class RegistrationTests(unittest.TestCase):
    """
    XEP-0077 before and after authentication.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.client = self.harness.connect()
        self.client.start()

    def register(self, username, password):
        return self.client.send(
            "<iq type='set' id='reg2'><query xmlns='jabber:iq:register'>"
            f"<username>{username}</username><password>{password}</password>"
            "</query></iq>"
        )

    def test_fields(self):
        """
        An IQ get returns instructions, username and password (3.1).
        """
        [result] = self.client.send(
            "<iq type='get' id='reg1'><query xmlns='jabber:iq:register'/></iq>"
        )
        self.assertEqual("result", result["type"])
        self.assertEqual(
            ["instructions", "password", "username"],
            sorted(c.name for c in result.query.elements()),
        )

    @defer.inlineCallbacks
    def test_register(self):
        """
        An IQ set creates the account, which can then log in.
        """
        [result] = self.register("bill", "Calliope")
        self.assertEqual("result", result["type"])
        users = yield self.harness.users.listUsers()
        self.assertEqual(["bill"], users)
        [success] = self.client.plain("bill", "Calliope")
        self.assertEqual("success", success.name)

    def test_conflict(self):
        """
        A taken username gets conflict (3.1).
        """
        self.register("bill", "Calliope")
        [result] = self.register("Bill", "other")
        self.assertEqual("conflict", stanzaError(result))

    def test_malformed(self):
        """
        An invalid username gets not-acceptable, a missing password too.
        """
        [result] = self.register("bad user@x", "pw")
        self.assertEqual("not-acceptable", stanzaError(result))
        [result] = self.register("bill", "")
        self.assertEqual("not-acceptable", stanzaError(result))

    def test_errorDoesNotEchoPassword(self):
        """
        The error reply does not echo the request (3.3).
        """
        self.register("bill", "Calliope")
        [result] = self.register("bill", "s3cret")
        self.assertNotIn("s3cret", result.toXml())

    def test_disabled(self):
        """
        With registration off, the feature is not offered.
        """
        client = Harness(self, registration=False).connect()
        [features] = client.start()
        self.assertNotIn("register", [c.name for c in features.elements()])

    @defer.inlineCallbacks
    def test_changePassword(self):
        """
        An authenticated user changes its password (3.3).
        """
        self.register("bill", "Calliope")
        client = self.harness.connect()
        yield client.login("bill", "Calliope")
        [result] = client.send(
            "<iq type='set' id='c1'><query xmlns='jabber:iq:register'>"
            "<username>bill</username><password>newpass</password></query></iq>"
        )
        self.assertEqual("result", result["type"])
        other = self.harness.connect()
        other.start()
        [success] = other.plain("bill", "newpass")
        self.assertEqual("success", success.name)

    @defer.inlineCallbacks
    def test_cancel(self):
        """
        <remove/> answers, closes the sessions and removes the account (3.2).
        """
        self.register("bill", "Calliope")
        client = self.harness.connect()
        yield client.login("bill", "Calliope")
        output = client.send(
            "<iq type='set' id='u1'><query xmlns='jabber:iq:register'><remove/></query></iq>"
        )
        self.assertEqual("result", output[0]["type"])
        self.assertEqual("not-authorized", streamError(output[1]))
        users = yield self.harness.users.listUsers()
        self.assertEqual([], users)

    @defer.inlineCallbacks
    def test_cancelTellsObservers(self):
        """
        The removal tells each L{IAccountObserver} in order, before the
        store forgets the account; one that fails is logged, and the
        account is removed all the same.
        """
        told = []
        users = self.harness.users

        @implementer(IAccountObserver)
        class Observer:
            def __init__(self, name, fails=False):
                self.name, self.fails = name, fails

            def accountRemoved(self, username):
                # Whether the account is still stored when it is told.
                d = users.getCredentials(username)
                d.addCallback(lambda found: told.append((self.name, username, bool(found))))
                if self.fails:
                    raise RuntimeError("observer bug")
                return d

        self.harness.registration.observers[:] = [
            Observer("first"), Observer("failing", fails=True), Observer("last")
        ]
        self.assertRaises(
            Invalid, RegistrationHandler, self.harness.config, None, None, [object()]
        )
        self.register("bill", "Calliope")
        client = self.harness.connect()
        yield client.login("bill", "Calliope")
        output = client.send(
            "<iq type='set' id='u1'><query xmlns='jabber:iq:register'><remove/></query></iq>"
        )
        self.assertEqual(["result", "not-authorized"], [output[0]["type"], streamError(output[1])])
        self.assertEqual(
            [("first", "bill", True), ("failing", "bill", True), ("last", "bill", True)], told
        )
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))
        self.assertEqual([], (yield self.harness.users.listUsers()))

    @defer.inlineCallbacks
    def test_cancelStoreFailure(self):
        """
        When the store fails to remove the account, the failure is logged;
        the request, answered first (section 3.2), gets no second answer.
        """
        self.register("bill", "Calliope")
        client = self.harness.connect()
        yield client.login("bill", "Calliope")
        self.harness.users.removeUser = lambda *args: defer.fail(OSError("disk"))
        output = client.send(
            "<iq type='set' id='u1'><query xmlns='jabber:iq:register'><remove/></query></iq>"
        )
        self.assertEqual(["result"], [e.getAttribute("type") for e in output if e.name == "iq"])
        self.assertEqual(1, len(self.flushLoggedErrors(OSError)))

    def test_storeFailureBeforeAuthentication(self):
        """
        When the store fails to create the account, the IQ set is still
        answered, with internal-server-error (RFC 6120 section 8.2.3), and
        the error is logged.
        """
        self.harness.users.createUser = lambda *args: defer.fail(OSError("disk"))
        [result] = self.register("bill", "Calliope")
        self.assertEqual("internal-server-error", stanzaError(result))
        self.assertNotIn("Calliope", result.toXml())
        self.assertEqual(1, len(self.flushLoggedErrors(OSError)))

    @defer.inlineCallbacks
    def test_storeFailureAfterAuthentication(self):
        """
        When the store fails to change a password, the client gets
        internal-server-error rather than no answer.
        """
        self.register("bill", "Calliope")
        client = self.harness.connect()
        yield client.login("bill", "Calliope")
        self.harness.users.setCredentials = lambda *args: defer.fail(OSError("disk"))
        [result] = client.send(
            "<iq type='set' id='c1'><query xmlns='jabber:iq:register'>"
            "<username>bill</username><password>newpass</password></query></iq>"
        )
        self.assertEqual("internal-server-error", stanzaError(result))
        self.assertNotIn("newpass", result.toXml())
        self.assertEqual(1, len(self.flushLoggedErrors(OSError)))


class TLSTransport(StringTransport):
    """
    A transport that records STARTTLS.
    """

    tlsContext = None

    def startTLS(self, contextFactory):
        self.tlsContext = contextFactory


class TLSStepTests(unittest.TestCase):
    """
    RFC 6120 section 5: STARTTLS, required.
    """

    def setUp(self):
        self.harness = harness = Harness(self, encryptionRequired=True)
        self.client = harness.connect()
        self.client.transport = TLSTransport()
        self.client.xs.makeConnection(self.client.transport)
        self.client.output = OutputParser(self.client.transport)

    def test_onlyStartTLS(self):
        """
        When TLS is required, only <starttls><required/></starttls> is
        offered (5.3.1).
        """
        [features] = self.client.start()
        [starttls] = list(features.elements())
        self.assertEqual("starttls", starttls.name)
        self.assertEqual(["required"], [c.name for c in starttls.elements()])

    def test_authBeforeTLS(self):
        """
        <auth/> before STARTTLS gets the encryption-required failure.
        """
        self.client.start()
        [failure] = self.client.plain("juliet", "x")
        self.assertEqual("failure", failure.name)
        self.assertEqual("encryption-required", next(failure.elements()).name)

    def test_starttls(self):
        """
        <starttls/> gets <proceed/>, TLS starts, and after the restart the
        SASL mechanisms are offered and STARTTLS no longer is.
        """
        self.client.start()
        [proceed] = self.client.send(
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        )
        self.assertEqual("proceed", proceed.name)
        self.assertIs(self.harness.tlsContext, self.client.transport.tlsContext)
        self.assertTrue(self.client.xs.secure)
        [features] = self.client.start()
        self.assertEqual(
            ["mechanisms", "register"], sorted(c.name for c in features.elements())
        )


class IdleTimeoutTests(unittest.TestCase):
    """
    The idle timer: unbound streams time out, bound ones get keepalives.
    """

    def setUp(self):
        from twisted.internet import task

        self.clock = task.Clock()
        self.harness = Harness(self)
        self.client = self.harness.connect()
        self.client.xs.authenticator.clock = self.clock
        self.client.xs.authenticator.idleTimeout = 60
        self.client.xs.connectionMade()
        return self.harness.addUser("juliet", "r0m30")

    def test_unboundTimesOut(self):
        """
        A stream that stays unauthenticated is closed with
        connection-timeout; input restarts the timer.
        """
        self.client.start()
        self.clock.advance(59)
        self.client.send(" ")
        self.clock.advance(59)
        self.assertFalse(self.client.transport.disconnecting)
        self.clock.advance(1)
        [error] = self.client.output.read()
        self.assertEqual("connection-timeout", streamError(error))
        self.assertEqual([], self.clock.getDelayedCalls())

    @defer.inlineCallbacks
    def test_boundGetsKeepalive(self):
        """
        A bound stream gets a whitespace keepalive instead, again and again.
        """
        yield self.client.login("juliet", "r0m30")
        before = len(self.client.transport.value())
        self.clock.advance(60)
        self.assertEqual(b" ", self.client.transport.value()[before:])
        self.clock.advance(60)
        self.assertEqual(b"  ", self.client.transport.value()[before:])
        self.assertFalse(self.client.transport.disconnecting)

    def test_timerStopsWithConnection(self):
        """
        The timer is cancelled when the connection is lost.
        """
        from twisted.python import failure
        from twisted.internet import error as ierror

        self.client.start()
        self.client.xs.connectionLost(failure.Failure(ierror.ConnectionDone()))
        self.assertEqual([], self.clock.getDelayedCalls())


class WritesTransport(StringTransport):
    """
    A transport that keeps each write apart and, as TLS does once it shuts
    down, drops what is written after C{loseConnection}.
    """

    def __init__(self):
        StringTransport.__init__(self)
        self.writes = []
        self.events = []

    def write(self, data):
        if not self.disconnecting:
            self.writes.append(data)
            self.events.append("write")
            StringTransport.write(self, data)

    def startTLS(self, contextFactory):
        self.events.append("startTLS")


class GatheredWritesTests(unittest.TestCase):
    """
    What a bound stream sends while it handles what its client sent goes
    out in one write (issue 16: a room's entry is four or more stanzas in
    answer to one presence), in order, before any stream error.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.client = self.connect(self.harness)
        return self.harness.addUser("juliet", "r0m30")

    def connect(self, harness):
        client = harness.connect()
        client.transport = WritesTransport()
        client.xs.makeConnection(client.transport)
        client.output = OutputParser(client.transport)
        return client

    @defer.inlineCallbacks
    def test_oneWrite(self):
        """
        Two IQs in one piece of input get their answers, in order, in one
        write.
        """
        yield self.client.login("juliet", "r0m30")
        del self.client.transport.writes[:]
        answers = self.client.send(
            "<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>"
            "<iq type='get' id='p2' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>"
        )
        self.assertEqual(["p1", "p2"], [answer["id"] for answer in answers])
        self.assertEqual(1, len(self.client.transport.writes))
        self.assertIsNone(self.client.xs._gathered)

    @defer.inlineCallbacks
    def test_bytesInOrder(self):
        """
        A broadcast's copy sent as bytes (L{C2SXmlStream.sendBytes}) while
        the stream gathers joins what it gathered, after what was sent
        before it and before what is sent after.
        """
        yield self.client.login("juliet", "r0m30")
        del self.client.transport.writes[:]
        xs = self.client.xs
        xs._gathered = []
        xs.send("<message id='m1'/>")
        xs.sendBytes(b"<message id='m2'/>")
        xs.send("<message id='m3'/>")
        self.assertEqual([], self.client.transport.writes)
        xs.flush()
        self.assertEqual(
            [b"<message id='m1'/><message id='m2'/><message id='m3'/>"],
            self.client.transport.writes,
        )

    def test_notGatheredBeforeBinding(self):
        """
        Before a resource is bound nothing waits: STARTTLS needs its
        C{<proceed/>} written before TLS starts on the transport (RFC 6120
        section 5.4.2.3).
        """
        client = self.connect(Harness(self, encryptionRequired=True))
        client.start()
        del client.transport.events[:]
        [proceed] = client.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.assertEqual("proceed", proceed.name)
        self.assertEqual(["write", "startTLS"], client.transport.events)

    @defer.inlineCallbacks
    def test_streamEnd(self):
        """
        The client ends its stream right after a stanza: the answer is
        written, then the stream's end, before the connection closes.
        """
        yield self.client.login("juliet", "r0m30")
        [answer] = self.client.send(
            "<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>"
            "</stream:stream>"
        )
        self.assertEqual("p1", answer["id"])
        self.assertTrue(self.client.output.closed)
        self.assertTrue(self.client.transport.disconnecting)

    @defer.inlineCallbacks
    def test_streamError(self):
        """
        A stream error while answers wait: the answers are written first,
        then the error and the stream's end, and the connection closes.
        """
        yield self.client.login("juliet", "r0m30")
        del self.client.transport.writes[:]
        output = self.client.send(
            "<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>"
            "<nonsense xmlns='urn:example:nonsense'/>"
            "<iq type='get' id='p2' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>"
        )
        self.assertEqual(
            ["p1", "unsupported-stanza-type"],
            [element.getAttribute("id") or streamError(element) for element in output],
        )
        self.assertTrue(self.client.output.closed)
        self.assertTrue(self.client.transport.disconnecting)
        self.assertTrue(self.client.transport.value().endswith(b"</stream:stream>"))
        self.assertIsNone(self.client.xs._gathered)


class WriteGathererTests(unittest.TestCase):
    """
    L{WriteGatherer}: with one, bound streams write what they send during
    a pass of the reactor once, when it ends (here, when the clock
    advances); unbound and closing streams write at once.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.clock = task.Clock()
        self.registry = StreamRegistry(gatherer=WriteGatherer(self.clock))
        d = self.harness.addUser("juliet", "r0m30")
        d.addCallback(lambda _: self.harness.addUser("romeo", "m0nt4gu3"))
        return d

    @defer.inlineCallbacks
    def connect(self, username, password, resource):
        client = self.harness.connect()
        client.transport = WritesTransport()
        client.xs.makeConnection(client.transport)
        client.output = OutputParser(client.transport)
        self.registry.add(client.xs)
        # Negotiation is written at once: nothing advances the clock.
        result = yield client.login(username, password, resource)
        self.assertEqual("result", result["type"])
        return client

    def message(self, body):
        return (
            "<message to='romeo@example.com/orchard' type='chat'>"
            f"<body>{body}</body></message>"
        )

    @defer.inlineCallbacks
    def test_gatheredUntilPassEnds(self):
        """
        Two messages from two pieces of input reach the recipient's
        connection in one write, in order, once the pass ends.
        """
        juliet = yield self.connect("juliet", "r0m30", "balcony")
        romeo = yield self.connect("romeo", "m0nt4gu3", "orchard")
        del romeo.transport.writes[:]
        juliet.send(self.message("one"))
        juliet.send(self.message("two"))
        self.assertEqual([], romeo.transport.writes)
        self.clock.advance(0)
        self.assertEqual(1, len(romeo.transport.writes))
        self.assertEqual(["one", "two"], [str(m.body) for m in romeo.output.read()])
        self.assertIsNone(romeo.xs._gathered)
        self.assertEqual([], self.clock.getDelayedCalls())

    @defer.inlineCallbacks
    def test_bytesGathered(self):
        """
        Broadcast copies sent as bytes (L{C2SXmlStream.sendBytes}) are
        gathered too, from the first of the pass on, without the stream's
        C{send} (its tests for an element, issue 16), and written in one
        write when the pass ends.
        """
        romeo = yield self.connect("romeo", "m0nt4gu3", "orchard")
        del romeo.transport.writes[:]
        self.patch(C2SXmlStream, "send", lambda xs, obj: self.fail(f"send({obj!r})"))
        romeo.xs.sendBytes(b"<message id='b1'/>")
        romeo.xs.sendBytes(b"<message id='b2'/>")
        self.assertEqual([], romeo.transport.writes)
        self.clock.advance(0)
        self.assertEqual([b"<message id='b1'/><message id='b2'/>"], romeo.transport.writes)

    @defer.inlineCallbacks
    def test_streamError(self):
        """
        A stream that closes with a stream error writes what it gathered,
        then the error and the end of the stream, before the connection
        closes (TLS drops what is written after).
        """
        juliet = yield self.connect("juliet", "r0m30", "balcony")
        romeo = yield self.connect("romeo", "m0nt4gu3", "orchard")
        juliet.send(self.message("one"))
        [message, streamErrorElement] = romeo.send("<nonsense xmlns='urn:example:nonsense'/>")
        self.assertEqual("one", str(message.body))
        self.assertEqual("unsupported-stanza-type", streamError(streamErrorElement))
        self.assertTrue(romeo.output.closed)
        self.assertTrue(romeo.transport.disconnecting)
        self.clock.advance(0)
        self.assertEqual([], romeo.output.read())

    @defer.inlineCallbacks
    def test_closeAll(self):
        """
        Closing every stream (the server stops) writes what waits first.
        """
        juliet = yield self.connect("juliet", "r0m30", "balcony")
        romeo = yield self.connect("romeo", "m0nt4gu3", "orchard")
        juliet.send(self.message("one"))
        self.registry.closeAll()
        [message, streamErrorElement] = romeo.output.read()
        self.assertEqual("one", str(message.body))
        self.assertEqual("system-shutdown", streamError(streamErrorElement))
        self.assertEqual([], self.clock.getDelayedCalls())


class PlainSerializationTests(unittest.TestCase):
    """
    A client stream writes a plain element with the plain serializer
    (L{mepserver.stanza.serializePlain}), the same text as Twisted's, and
    leaves an element that needs a prefix to Twisted's.
    """

    def setUp(self):
        self.xs = C2SXmlStream(C2SAuthenticator("example.com", []))
        self.transport = StringTransport()
        self.xs.makeConnection(self.transport)
        self.xs.dataReceived(HEADER.encode())
        self.transport.clear()
        self.serialized = []
        original = domish.Element.toXml
        self.patch(domish.Element, "toXml", lambda element, *args, **kwargs: (
            self.serialized.append(element.name), original(element, *args, **kwargs))[1])

    def twisted(self, element):
        """
        @return: Twisted's text of C{element} on the stream.
        """
        return domish.Element.toXml(
            element,
            prefixes=self.xs.prefixes,
            defaultUri=self.xs.namespace,
            prefixesInScope=list(self.xs.prefixes.values()),
        ).encode("utf-8")

    def test_plain(self):
        """
        A presence with children in other namespaces needs no prefix.
        """
        presence = domish.Element(("jabber:client", "presence"))
        presence["from"] = "r@c.example.com/n\u00e9"
        presence.addElement(("urn:example:x", "x")).addContent("a < b & 'c'")
        presence.addElement("status", content="\u00e9t\u00e9")
        self.xs.send(presence)
        self.assertEqual([], self.serialized)
        self.assertEqual(self.twisted(presence), self.transport.value())

    def test_prefixed(self):
        """
        An attribute in the XML namespace needs Twisted's serializer.
        """
        message = domish.Element(("jabber:client", "message"))
        message[("http://www.w3.org/XML/1998/namespace", "lang")] = "en"
        message.addElement("body", content="hi")
        self.xs.send(message)
        self.assertEqual(["message"], self.serialized)
        self.serialized = []
        self.assertEqual(self.twisted(message), self.transport.value())


class VerboseTrafficTests(unittest.TestCase):
    """
    C{[server] verbose}: every client stream's traffic is logged, with the
    peer, SASL data left out.
    """

    def login(self, verbose):
        from tests.memory import MemoryServer
        from tests.test_hostile import captureLog

        lines = captureLog(self)
        memory = MemoryServer(self, verbose=verbose)
        memory.createAccount("romeo", "s3cret-pass")
        client = memory.connect("romeo", "orchard", password="s3cret-pass")
        client.send("<iq type='get' id='v1'><ping xmlns='urn:xmpp:ping'/></iq>")
        client.take()
        self.memory, self.client = memory, client
        return lines

    def test_logged(self):
        """
        The IQ the client sent and the server's answer are logged under the
        bound JID; the SASL exchange only by element name, never the
        credentials.
        """
        lines = self.login(verbose=True)
        received = [l for l in lines if l.startswith("RECV romeo@localhost/orchard:")]
        self.assertTrue(any("urn:xmpp:ping" in l and "v1" in l for l in received), lines)
        sent = [l for l in lines if l.startswith("SEND romeo@localhost/orchard:")]
        self.assertTrue(any("result" in l and "v1" in l for l in sent), lines)
        self.assertTrue(any("(SASL data not logged)" in l for l in lines), lines)
        secret = base64.b64encode(b"\0romeo\0s3cret-pass").decode()
        self.assertFalse([l for l in lines if secret in l or "s3cret" in l])

    def test_broadcastCopyLogged(self):
        """
        A room's broadcast, whose copies are written as bytes spliced
        once for every recipient (L{C2SXmlStream.sendBytes}), is logged
        like any other stanza the stream sends.
        """
        lines = self.login(verbose=True)
        del lines[:]
        memory = self.memory
        client = self.client
        client.send("<presence/>")
        client.send(
            "<presence to='verbose@conference.localhost/romeo'>"
            "<x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )
        before = memory.server.delivery.bulkDelivered
        client.send(
            "<message type='groupchat' to='verbose@conference.localhost'>"
            "<body>logged copy</body></message>"
        )
        [reflected] = [
            stanza for stanza in client.take()
            if stanza.name == "message" and str(stanza.body) == "logged copy"
        ]
        self.assertEqual(1, memory.server.delivery.bulkDelivered - before)
        sent = [l for l in lines if l.startswith("SEND romeo@localhost/orchard:")]
        self.assertTrue(any("logged copy" in l and "groupchat" in l for l in sent), lines)

    def test_quietByDefault(self):
        """
        Without C{verbose}, no traffic is logged.
        """
        lines = self.login(verbose=False)
        self.assertEqual([], [l for l in lines if l.startswith(("RECV ", "SEND "))])


#: An available presence with entity capabilities (XEP-0115), as a client
#: sends after logging in.
CAPS_PRESENCE = (
    "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
    "node='https://example.com/client' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>"
)

#: The most objects the garbage collector tracks that a logged-in,
#: available, idle connection holds on its own (40 now; 85 before the
#: parser, steps, observers and holds were let go, issue 16).
MOST_OBJECTS_PER_CONNECTION = 45


def ownedObjects(root, shared):
    """
    The objects the garbage collector tracks that are reachable from
    C{root} without passing through C{shared} (ids of objects that existed
    before) or classes.
    """
    seen = set(shared)
    seen.add(id(root))
    todo, found = [root], []
    while todo:
        for referent in gc.get_referents(todo.pop()):
            if id(referent) in seen or not gc.is_tracked(referent):
                continue
            if isinstance(referent, type):
                continue
            seen.add(id(referent))
            found.append(referent)
            todo.append(referent)
    return found


class ConnectionFootprintTests(unittest.TestCase):
    """
    What an idle, logged-in connection keeps (issue 16, item 5): counted in
    objects, on the whole server of the in-memory tier.
    """

    def connectIdle(self, memory, username):
        client = memory.connect(username, "laptop")
        client.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
        client.send(CAPS_PRESENCE)
        client.take()
        [xs] = [
            xs
            for xs in memory.server.streams._streams
            if xs.authenticator.session is not None
            and xs.authenticator.session.jid.user == username
        ]
        return xs

    def test_objectsPerConnection(self):
        """
        A connection that logged in, fetched its roster, sent available
        presence with caps and went quiet holds no Expat parser, no
        negotiation step or SASL mechanism, no Deferred, no closure, no
        presence hold and no instance dictionary of its stream, and at
        most L{MOST_OBJECTS_PER_CONNECTION} objects of its own (what a
        first connection made, caches and the like, is shared).
        """
        from tests.memory import MemoryServer

        memory = MemoryServer(self)
        memory.createAccount("alice")
        memory.createAccount("bob")
        self.connectIdle(memory, "alice")
        gc.collect()
        shared = {id(o) for o in gc.get_objects()}
        xs = self.connectIdle(memory, "bob")
        gc.collect()
        found = ownedObjects(xs, shared | {id(xs.transport)})
        kinds = {f"{type(o).__module__}.{type(o).__qualname__}" for o in found}
        for kind in [
            "pyexpat.xmlparser",
            "mepserver.c2s.sasl.SASLStep",
            "mepserver.c2s.bind.BindStep",
            "mepserver.c2s.tls.TLSStep",
            "mepserver.c2s.mechanisms.PlainMechanism",
            "twisted.internet.defer.Deferred",
            "builtins.cell",
            "mepserver.c2s.csi.HeldPresence",
        ]:
            self.assertNotIn(kind, kinds)
        self.assertFalse(
            [o for o in gc.get_referents(xs) if type(o) is dict and "authenticator" in o],
            "the stream's attributes are in a dictionary of its own",
        )
        self.assertLessEqual(len(found), MOST_OBJECTS_PER_CONNECTION, sorted(kinds))

    def test_sessionHoldsOnlyWhenInactive(self):
        """
        A session makes its presence hold (XEP-0352) when the client goes
        inactive and drops it once the client is active and what was held
        went out; sessions share one empty set of directed-presence
        targets, and have no instance dictionary.
        """
        from tests.memory import MemoryServer

        memory = MemoryServer(self)
        memory.createAccount("alice")
        memory.createAccount("bob")
        xs = self.connectIdle(memory, "alice")
        memory.connect("bob", "phone")
        session = xs.authenticator.session
        [other] = memory.server.sessions.sessionsOf("bob")
        self.assertIsNone(session.held)
        self.assertIs(session.directed, other.directed)
        self.assertFalse(hasattr(session, "__dict__"))
        session.setActive(False)
        session.send(domish.Element((None, "presence")))
        self.assertEqual(1, len(session.held))
        session.setActive(True)
        self.assertIsNone(session.held)
