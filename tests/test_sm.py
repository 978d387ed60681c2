# -*- test-case-name: tests.test_sm -*-
"""
Tests for L{mepserver.c2s.sm}: XEP-0198 stream management over TCP
(a C{StringTransport}) and WebSocket (RFC 7395 frames), and through the
whole server in memory (L{tests.memory}).
"""

import base64

from twisted.internet import task
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python import failure
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from wokkel import component, generic

from mepserver.c2s.bind import BindStep
from mepserver.c2s.mechanisms import mechanismFactories
from mepserver.c2s.roster import PresenceHandler
from mepserver.c2s.sasl import SASLStep
from mepserver.c2s.sessions import DeliveryHandler, SessionManager
from mepserver.c2s.sm import MAX_COUNT, NS_SM, StreamManagement, StreamManagementStep
from mepserver.c2s.stream import C2SAuthenticator, C2SXmlStream
from mepserver.datetimes import formatDateTime
from mepserver.ids import IdSource
from mepserver.router import Router
from mepserver.storage.memory import MemoryUserStore
from tests.helpers import credentials, parseXml
from tests.test_stream import Client, stanzaError, streamError
from tests.test_websocket import CLOSE, OPEN, Connection, qname

NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DELAY = "urn:xmpp:delay"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_MUC = "http://jabber.org/protocol/muc"
ENABLE = f"<enable xmlns='{NS_SM}' resume='true'/>"
R = f"<r xmlns='{NS_SM}'/>"


def ack(h):
    return f"<a xmlns='{NS_SM}' h='{h}'/>"


def isNonza(element, name):
    return (element.uri, element.name) == (NS_SM, name)


def stanzas(elements):
    """
    @return: the elements that are not stream management nonzas.
    """
    return [e for e in elements if e.uri != NS_SM]


def failedCondition(element):
    """
    @return: the condition of a C{<failed/>} nonza.
    """
    assert isNonza(element, "failed"), element.toXml()
    for child in element.elements(NS_STANZAS):
        if child.name != "text":
            return child.name


class Harness:
    """
    A client domain with delivery, presence and stream management on a
    L{task.Clock}, and client streams to drive with raw XML.
    """

    def __init__(self, testCase, resumeTimeout=300):
        self.clock = task.Clock()
        self.users = MemoryUserStore()
        self.router = Router()
        self.streamManagement = StreamManagement(self.clock, resumeTimeout, IdSource())
        self.sessions = SessionManager(
            "example.com",
            self.users,
            self.router,
            streamManagement=self.streamManagement,
        )
        domain = component.InternalComponent(self.router, "example.com")
        DeliveryHandler(self.sessions).setHandlerParent(domain)
        PresenceHandler(self.sessions, self.users).setHandlerParent(domain)
        generic.FallbackHandler().setHandlerParent(domain)
        domain.startService()
        testCase.addCleanup(domain.stopService)
        self.mechanisms = mechanismFactories(
            self.users.getCredentials, "example.com", allowPlain=True, allowAnonymous=False
        )
        for name in ("juliet", "romeo", "nurse"):
            testCase.successResultOf(
                self.users.createUser(name, credentials("secret"))
            )

    def authenticator(self):
        return C2SAuthenticator(
            "example.com",
            [
                lambda a: SASLStep(a, self.mechanisms),
                lambda a: BindStep(a, self.sessions),
                lambda a: StreamManagementStep(a, self.streamManagement),
            ],
        )

    def connect(self):
        from twisted.internet.testing import StringTransport

        xs = C2SXmlStream(self.authenticator())
        transport = StringTransport()
        xs.makeConnection(transport)
        return Client(xs, transport)

    def login(self, testCase, username, resource, enable=None):
        """
        Connect, authenticate and bind; send C{enable} if given.

        @return: the L{Client}.
        """
        client = self.connect()
        testCase.successResultOf(client.login(username, "secret", resource))
        if enable is not None:
            [enabled] = client.send(enable)
            testCase.assertTrue(isNonza(enabled, "enabled"), enabled.toXml())
            client.enabled = enabled
        return client

    def authenticate(self, username):
        """
        Connect and authenticate, without binding.
        """
        client = self.connect()
        client.start()
        [success] = client.plain(username, "secret")
        assert success.name == "success", success.toXml()
        client.start()
        return client

    def session(self, full):
        return self.sessions.session(JID(full))


def lose(client):
    """
    The client's connection breaks off: no stream end, no stream error.
    """
    client.xs.connectionLost(failure.Failure(ConnectionLost()))


def chat(to, body, sender=None, kind="chat", id=None):
    attributes = f" id='{id}'" if id else ""
    return f"<message to='{to}' type='{kind}'{attributes}><body>{body}</body></message>"


class EnableTests(unittest.TestCase):
    """
    Section 3: the feature, enabling and its errors.
    """

    def setUp(self):
        self.harness = Harness(self)

    def test_feature(self):
        """
        <sm/> is offered after authentication, beside binding, not before.
        """
        client = self.harness.connect()
        [features] = client.start()
        self.assertEqual([], list(features.elements(NS_SM, "sm")))
        client.plain("juliet", "secret")
        [features] = client.start()
        self.assertEqual(1, len(list(features.elements(NS_SM, "sm"))))
        self.assertEqual(1, len(list(features.elements(NS_BIND, "bind"))))

    def test_enableResumable(self):
        """
        <enable resume='true'/> after binding gets <enabled/> with an id,
        resume='true' and max, the hibernation time.
        """
        client = self.harness.login(self, "juliet", "balcony", ENABLE)
        enabled = client.enabled
        self.assertEqual("true", enabled["resume"])
        self.assertEqual("300", enabled["max"])
        self.assertTrue(enabled["id"])
        self.assertIsNotNone(self.harness.session("juliet@example.com/balcony").sm)

    def test_enableClientMax(self):
        """
        The client's preferred maximum applies when it is shorter.
        """
        client = self.harness.login(
            self, "juliet", "balcony", f"<enable xmlns='{NS_SM}' resume='1' max='60'/>"
        )
        self.assertEqual("60", client.enabled["max"])

    def test_enableWithoutResume(self):
        """
        Without resume='true' there is no id and no resumption.
        """
        client = self.harness.login(self, "juliet", "balcony", f"<enable xmlns='{NS_SM}'/>")
        self.assertIsNone(client.enabled.getAttribute("id"))
        self.assertIsNone(client.enabled.getAttribute("resume"))
        lose(client)
        self.assertIsNone(self.harness.session("juliet@example.com/balcony"))

    def test_resumptionOff(self):
        """
        With C{resume_timeout} 0 the server enables without resumption.
        """
        harness = Harness(self, resumeTimeout=0)
        client = harness.login(self, "juliet", "balcony", ENABLE)
        self.assertIsNone(client.enabled.getAttribute("resume"))
        lose(client)
        self.assertIsNone(harness.session("juliet@example.com/balcony"))
        self.assertEqual([], harness.clock.getDelayedCalls())

    def test_enableTwice(self):
        """
        A second <enable/> gets <failed> with unexpected-request; the
        stream stays open.
        """
        client = self.harness.login(self, "juliet", "balcony", ENABLE)
        [answer] = client.send(ENABLE)
        self.assertEqual("unexpected-request", failedCondition(answer))
        self.assertFalse(client.xs.closing)

    def test_enableBeforeBinding(self):
        """
        <enable/> before binding gets <failed> with unexpected-request, and
        the client may still bind (section 3).
        """
        client = self.harness.authenticate("juliet")
        [answer] = client.send(ENABLE)
        self.assertEqual("unexpected-request", failedCondition(answer))
        [result] = client.bind("balcony")
        self.assertEqual("result", result["type"])

    def test_enableBeforeAuthentication(self):
        """
        Before authentication, stream management is not there to use.
        """
        client = self.harness.connect()
        client.start()
        [error] = client.send(ENABLE)
        self.assertEqual("not-authorized", streamError(error))

    def test_acksBeforeEnabling(self):
        """
        <r/> and <a/> before <enable/> are ignored, as Prosody does.
        """
        client = self.harness.login(self, "juliet", "balcony")
        self.assertEqual([], client.send(R))
        self.assertEqual([], client.send(ack(3)))
        self.assertFalse(client.xs.closing)

    def test_resumeWhenBound(self):
        """
        <resume/> on a bound stream gets <failed> with unexpected-request.
        """
        client = self.harness.login(self, "juliet", "balcony", ENABLE)
        [answer] = client.send(
            f"<resume xmlns='{NS_SM}' previd='{client.enabled['id']}' h='0'/>"
        )
        self.assertEqual("unexpected-request", failedCondition(answer))

    def test_unknownNonza(self):
        """
        An element in the namespace the client may not send closes the
        stream like any unknown element.
        """
        client = self.harness.login(self, "juliet", "balcony", ENABLE)
        [error] = client.send(f"<enabled xmlns='{NS_SM}'/>")
        self.assertEqual("unsupported-stanza-type", streamError(error))


class AckTests(unittest.TestCase):
    """
    Section 4: counting stanzas both ways; section 6: h too high.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.juliet = self.harness.login(self, "juliet", "balcony", ENABLE)
        self.romeo = self.harness.login(self, "romeo", "orchard")
        self.session = self.harness.session("juliet@example.com/balcony")

    def test_inboundCount(self):
        """
        <r/> is answered with the number of stanzas handled; nonzas do not
        count, stanzas answered with an error do.
        """
        [a] = self.juliet.send(R)
        self.assertEqual("0", a["h"])
        self.juliet.send(chat("romeo@example.com/orchard", "one"))
        self.juliet.send("<presence/>")
        self.juliet.send("<iq type='get' id='bad' to='example.com'/>")
        self.juliet.send(ack(0))
        [a] = self.juliet.send(R)
        self.assertTrue(isNonza(a, "a"))
        self.assertEqual("3", a["h"])

    def test_outboundQueue(self):
        """
        Stanzas sent to the client stay queued until an <a/> covers them.
        """
        for n in range(3):
            self.romeo.send(chat("juliet@example.com/balcony", f"m{n}"))
        self.assertEqual(3, len(stanzas(self.juliet.output.read())))
        self.assertEqual(3, len(self.session.sm.queue))
        self.assertEqual([], self.juliet.send(ack(2)))
        [(_, left)] = self.session.sm.queue
        self.assertEqual("m2", str(left.body))
        self.juliet.send(ack(3))
        self.assertEqual(0, len(self.session.sm.queue))

    def test_serverRequestsAck(self):
        """
        After five unacknowledged stanzas the server sends <r/>, once,
        until the client acknowledges.
        """
        for n in range(7):
            self.romeo.send(chat("juliet@example.com/balcony", f"m{n}"))
        received = self.juliet.output.read()
        self.assertEqual(
            ["message"] * 5 + ["r"] + ["message"] * 2, [e.name for e in received]
        )
        self.juliet.send(ack(7))
        for n in range(5):
            self.romeo.send(chat("juliet@example.com/balcony", f"n{n}"))
        self.assertEqual("r", self.juliet.output.read()[-1].name)

    def test_handledCountTooHigh(self):
        """
        An h above the number of stanzas sent is an undefined-condition
        stream error with <handled-count-too-high/>; the session then ends
        instead of hibernating.
        """
        self.romeo.send(chat("juliet@example.com/balcony", "one"))
        self.juliet.output.read()
        [error] = self.juliet.send(ack(5))
        self.assertEqual("undefined-condition", streamError(error))
        [tooHigh] = error.elements(NS_SM, "handled-count-too-high")
        self.assertEqual(("5", "1"), (tooHigh["h"], tooHigh["send-count"]))
        self.juliet.xs.connectionLost(failure.Failure(ConnectionDone()))
        self.assertIsNone(self.harness.session("juliet@example.com/balcony"))
        self.assertEqual([], self.harness.clock.getDelayedCalls())

    def test_badH(self):
        """
        An <a/> whose h is not a number is a bad-format stream error.
        """
        [error] = self.juliet.send(f"<a xmlns='{NS_SM}' h='many'/>")
        self.assertEqual("bad-format", streamError(error))

    def test_wrapAround(self):
        """
        Both counters go from 2^32 - 1 back to zero.
        """
        sm = self.session.sm
        sm.inbound = MAX_COUNT - 1
        self.juliet.send(chat("romeo@example.com/orchard", "x"))
        [a] = self.juliet.send(R)
        self.assertEqual("0", a["h"])
        sm.sent = sm.acked = MAX_COUNT - 1
        self.romeo.send(chat("juliet@example.com/balcony", "y"))
        self.romeo.send(chat("juliet@example.com/balcony", "z"))
        self.assertEqual(1, sm.sent)
        self.juliet.send(ack(0))
        self.assertEqual(["z"], [str(s.body) for _, s in sm.queue])
        self.juliet.send(ack(1))
        self.assertEqual(0, len(sm.queue))
        self.assertFalse(self.juliet.xs.closing)

    def test_queueHoldsWhatWasSent(self):
        """
        A broadcaster sends one element to each recipient in turn, changing
        only 'to' (DESIGN.md section 9): each queue keeps what its client
        was sent, sharing the payload rather than copying it.
        """
        other = self.harness.login(self, "juliet", "window", ENABLE)
        window = self.harness.session("juliet@example.com/window")
        stanza = parseXml(
            "<message from='room@conference.example.com/nurse' type='groupchat'>"
            "<body>shared</body></message>",
            "jabber:client",
        )
        for session in (self.session, window):
            stanza["to"] = session.jid.full()
            session.send(stanza)
        [(_, first)] = self.session.sm.queue
        [(_, second)] = window.sm.queue
        self.assertEqual("juliet@example.com/balcony", first["to"])
        self.assertEqual("juliet@example.com/window", second["to"])
        self.assertIs(first.body, second.body)
        self.assertEqual(
            "juliet@example.com/balcony", self.juliet.output.read()[0]["to"]
        )
        self.assertEqual("juliet@example.com/window", other.output.read()[0]["to"])


class ResumptionTests(unittest.TestCase):
    """
    Section 5: hibernation and resumption; the end of unacknowledged
    stanzas (section 4, RFC 6121 section 8.5.3.2).
    """

    def setUp(self):
        self.harness = Harness(self)
        self.juliet = self.harness.login(self, "juliet", "balcony", ENABLE)
        self.smId = self.juliet.enabled["id"]
        self.romeo = self.harness.login(self, "romeo", "orchard")
        self.session = self.harness.session("juliet@example.com/balcony")
        # Juliet is available, and tells Romeo directly (RFC 6121 4.6).
        self.juliet.send("<presence/>")
        self.juliet.send("<presence to='romeo@example.com/orchard'/>")
        self.romeo.output.read()
        # She got her own presence back (RFC 6121 4.2.2), and acks it.
        self.juliet.output.read()
        self.acked = self.session.sm.sent
        self.juliet.send(ack(self.acked))

    def resume(self, username="juliet", previd=None, h=0):
        client = self.harness.authenticate(username)
        answer = client.send(
            f"<resume xmlns='{NS_SM}' previd='{previd or self.smId}' h='{h}'/>"
        )
        return client, answer

    def test_hibernateAndResume(self):
        """
        A broken-off stream leaves the session bound and available; what it
        is sent meanwhile queues; <resume/> on a new stream answers
        <resumed/> with the server's h, applies the client's h, re-sends
        the unacknowledged stanzas in order, with delay stamps, then asks
        for an ack; the session carries on on the new stream.
        """
        self.juliet.send(chat("romeo@example.com/orchard", "before"))
        self.romeo.send(chat("juliet@example.com/balcony", "one"))
        self.romeo.send(chat("juliet@example.com/balcony", "two"))
        self.juliet.output.read()
        lose(self.juliet)
        self.assertIs(self.session, self.harness.session("juliet@example.com/balcony"))
        self.assertTrue(self.session.available)
        self.romeo.send(chat("juliet@example.com/balcony", "three"))
        self.romeo.send(chat("juliet@example.com", "four"))
        self.assertEqual([], stanzas(self.romeo.output.read()))
        self.harness.clock.advance(299)

        client, answer = self.resume(h=self.acked + 1)
        resumed = answer[0]
        self.assertTrue(isNonza(resumed, "resumed"), resumed.toXml())
        self.assertEqual((self.smId, "3"), (resumed["previd"], resumed["h"]))
        self.assertEqual(
            ["two", "three", "four"], [str(m.body) for m in stanzas(answer)]
        )
        self.assertTrue(isNonza(answer[-1], "r"))
        [delay] = answer[1].elements(NS_DELAY, "delay")
        self.assertTrue(delay["stamp"].startswith("1970-01-01T00:00:00"))
        self.assertEqual([], self.harness.clock.getDelayedCalls())

        self.assertIs(self.session, self.harness.session("juliet@example.com/balcony"))
        self.romeo.send(chat("juliet@example.com/balcony", "five"))
        [five] = stanzas(client.output.read())
        self.assertEqual("five", str(five.body))
        client.send(chat("romeo@example.com/orchard", "back"))
        [back] = stanzas(self.romeo.output.read())
        self.assertEqual("juliet@example.com/balcony", back["from"])
        [a] = client.send(R)
        self.assertEqual("4", a["h"])
        # Acks on the new stream count from the old one's numbers.
        client.send(ack(self.acked + 5))
        self.assertEqual(0, len(self.session.sm.queue))

    def test_resumeTwice(self):
        """
        A resumed session can break off and be resumed again.
        """
        lose(self.juliet)
        client, [resumed] = self.resume(h=self.acked)
        lose(client)
        self.romeo.send(chat("juliet@example.com/balcony", "again"))
        client, answer = self.resume(h=self.acked)
        self.assertEqual("resumed", answer[0].name)
        self.assertEqual(["again"], [str(m.body) for m in stanzas(answer)])

    def test_resumeUnknown(self):
        """
        An unknown id gets <failed> with item-not-found and no h; the
        client binds a new resource instead.
        """
        lose(self.juliet)
        client, [answer] = self.resume(previd="sm-nonsense")
        self.assertEqual("item-not-found", failedCondition(answer))
        self.assertIsNone(answer.getAttribute("h"))
        [result] = client.bind("newer")
        self.assertEqual("result", result["type"])

    def test_resumeOtherAccount(self):
        """
        An SM-ID is bound to its account: another one cannot resume it.
        """
        lose(self.juliet)
        client, [answer] = self.resume(username="nurse")
        self.assertEqual("item-not-found", failedCondition(answer))
        self.assertIsNotNone(self.session.sm.hibernation)

    def test_resumeExpired(self):
        """
        After the hibernation time the id is gone: <failed> with
        item-not-found, and h, the stanzas the server handled.
        """
        self.juliet.send(chat("romeo@example.com/orchard", "before"))
        lose(self.juliet)
        self.harness.clock.advance(300)
        client, [answer] = self.resume()
        self.assertEqual("item-not-found", failedCondition(answer))
        self.assertEqual("3", answer["h"])
        client, [answer] = self.resume(username="nurse")
        self.assertIsNone(answer.getAttribute("h"))

    def test_resumeHandledCountTooHigh(self):
        """
        A <resume/> whose h is too high is a stream error on the new stream;
        the session keeps hibernating.
        """
        lose(self.juliet)
        client, [error] = self.resume(h=self.acked + 1)
        self.assertEqual("undefined-condition", streamError(error))
        self.assertIsNotNone(self.session.sm.hibernation)

    def test_resumeMalformed(self):
        """
        A <resume/> without a number for h gets <failed> with bad-request.
        """
        client, [answer] = self.resume(h="x")
        self.assertEqual("bad-request", failedCondition(answer))

    def test_resumeWhileOldStreamOpen(self):
        """
        The old connection is not known dead yet (half-open TCP): it is
        closed with a conflict stream error and the session moves; its
        late end leaves the session alone.
        """
        self.romeo.send(chat("juliet@example.com/balcony", "one"))
        self.juliet.output.read()
        client, answer = self.resume(h=self.acked)
        self.assertEqual(["resumed", "message", "r"], [e.name for e in answer])
        [error] = self.juliet.output.read()
        self.assertEqual("conflict", streamError(error))
        self.juliet.xs.connectionLost(failure.Failure(ConnectionLost()))
        self.assertIs(self.session, self.harness.session("juliet@example.com/balcony"))
        self.assertIsNone(self.session.sm.hibernation)
        self.romeo.send(chat("juliet@example.com/balcony", "two"))
        self.assertEqual(["two"], [str(m.body) for m in stanzas(client.output.read())])

    def test_expiry(self):
        """
        When hibernation expires the session ends: unavailable presence to
        those that had it, unacknowledged chat messages and IQ requests
        bounced to their senders with service-unavailable, presence and
        groupchat dropped, no timer left.
        """
        self.romeo.send(chat("juliet@example.com/balcony", "lost", id="m1"))
        self.romeo.send(
            "<iq type='get' id='v1' to='juliet@example.com/balcony'>"
            "<query xmlns='jabber:iq:version'/></iq>"
        )
        self.romeo.send("<presence to='juliet@example.com/balcony'/>")
        self.romeo.send(chat("juliet@example.com/balcony", "gone", kind="headline"))
        self.juliet.send(ack(self.acked + 1))
        lose(self.juliet)
        self.romeo.send(chat("juliet@example.com/balcony", "queued", id="m2"))
        self.assertEqual([], stanzas(self.romeo.output.read()))
        self.harness.clock.advance(300)
        self.assertIsNone(self.harness.session("juliet@example.com/balcony"))
        received = self.romeo.output.read()
        [unavailable] = [e for e in received if e.name == "presence"]
        self.assertEqual("unavailable", unavailable["type"])
        self.assertEqual("juliet@example.com/balcony", unavailable["from"])
        errors = [e for e in received if e.getAttribute("type") == "error"]
        self.assertEqual(
            [("iq", "v1"), ("message", "m2")], [(e.name, e["id"]) for e in errors]
        )
        for e in errors:
            self.assertEqual("service-unavailable", stanzaError(e))
            self.assertEqual("juliet@example.com/balcony", e["from"])
        self.assertEqual([], self.harness.clock.getDelayedCalls())

    def test_bareJIDMessageWithOtherResource(self):
        """
        An unacknowledged message to the bare JID is not bounced while
        another resource of the account is available: it got a copy.
        """
        window = self.harness.login(self, "juliet", "window")
        window.send("<presence/>")
        self.romeo.send(chat("juliet@example.com", "both"))
        self.assertEqual(["both"], [str(m.body) for m in stanzas(window.output.read())])
        lose(self.juliet)
        self.harness.clock.advance(300)
        self.assertEqual(
            [], [e for e in self.romeo.output.read() if e.getAttribute("type") == "error"]
        )

    def test_ownCopiesNotBounced(self):
        """
        A message from the account's own bare JID (a carbon copy) is not
        bounced back to the account.
        """
        self.session.send(
            parseXml(
                "<message from='juliet@example.com' to='juliet@example.com/balcony' "
                "type='chat'><received xmlns='urn:xmpp:carbons:2'/></message>",
                "jabber:client",
            )
        )
        window = self.harness.login(self, "juliet", "window")
        window.send("<presence/>")
        window.output.read()
        lose(self.juliet)
        self.harness.clock.advance(300)
        self.assertEqual(
            [], [e for e in window.output.read() if e.getAttribute("type") == "error"]
        )

    def test_cleanClose(self):
        """
        A client closing its stream ends the session at once, bouncing
        what it did not acknowledge.
        """
        self.romeo.send(chat("juliet@example.com/balcony", "unread", id="m1"))
        self.juliet.send("</stream:stream>")
        self.juliet.xs.connectionLost(failure.Failure(ConnectionDone()))
        self.assertIsNone(self.harness.session("juliet@example.com/balcony"))
        self.assertEqual([], self.harness.clock.getDelayedCalls())
        [error] = [
            e for e in self.romeo.output.read() if e.getAttribute("type") == "error"
        ]
        self.assertEqual(("m1", "service-unavailable"), (error["id"], stanzaError(error)))
        client, [answer] = self.resume()
        self.assertEqual("item-not-found", failedCondition(answer))

    def test_serverCloseEnds(self):
        """
        A stream the server closes with a stream error does not hibernate.
        """
        self.session.close("policy-violation", "testing")
        self.juliet.xs.connectionLost(failure.Failure(ConnectionDone()))
        self.assertIsNone(self.harness.session("juliet@example.com/balcony"))

    def test_bindReplacesHibernating(self):
        """
        Binding the hibernating session's resource again ends it.
        """
        lose(self.juliet)
        self.harness.login(self, "juliet", "balcony")
        self.assertIsNot(self.session, self.harness.session("juliet@example.com/balcony"))
        self.assertEqual([], self.harness.clock.getDelayedCalls())

    def test_queueLimit(self):
        """
        Past L{mepserver.c2s.sm.MAX_QUEUE} unacknowledged stanzas a
        hibernating session ends, and a connected one is closed with
        resource-constraint.
        """
        from mepserver.c2s import sm

        self.patch(sm, "MAX_QUEUE", 2)
        window = self.harness.login(self, "juliet", "window", ENABLE)
        for n in range(3):
            self.romeo.send(chat("juliet@example.com/window", f"w{n}"))
        self.assertEqual("resource-constraint", streamError(window.output.read()[-1]))
        lose(self.juliet)
        for n in range(3):
            self.romeo.send(chat("juliet@example.com/balcony", f"b{n}"))
        self.assertIsNone(self.harness.session("juliet@example.com/balcony"))
        self.assertEqual([], self.harness.clock.getDelayedCalls())

    def test_reset(self):
        """
        L{StreamManagement.reset} (server shutdown and reset) ends every
        hibernating session and leaves no timer.
        """
        lose(self.juliet)
        self.harness.streamManagement.reset()
        self.assertIsNone(self.harness.session("juliet@example.com/balcony"))
        self.assertEqual([], self.harness.clock.getDelayedCalls())
        client, [answer] = self.resume()
        self.assertIsNone(answer.getAttribute("h"))


class WebSocketTests(unittest.TestCase):
    """
    Stream management over RFC 7395: a dropped WebSocket hibernates, a
    <close/> does not.
    """

    def setUp(self):
        self.harness = Harness(self)
        self.romeo = self.harness.login(self, "romeo", "orchard")

    def connect(self, username="juliet"):
        connection = Connection(self.harness.authenticator())
        connection.sendParsed(OPEN)
        token = base64.b64encode(f"\0{username}\0secret".encode()).decode("ascii")
        [success] = connection.sendParsed(
            f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>"
        )
        self.assertEqual(qname(NS_SASL, "success"), success.tag)
        [header, features] = connection.sendParsed(OPEN)
        self.assertIn(qname(NS_SM, "sm"), [child.tag for child in features])
        return connection

    def login(self):
        connection = self.connect()
        connection.sendParsed(
            "<iq xmlns='jabber:client' type='set' id='b1'>"
            f"<bind xmlns='{NS_BIND}'><resource>phone</resource></bind></iq>"
        )
        [enabled] = connection.sendParsed(ENABLE)
        self.assertEqual(qname(NS_SM, "enabled"), enabled.tag)
        return connection, enabled.get("id")

    def test_resume(self):
        """
        The WebSocket connection drops; a new one resumes and gets what was
        sent meanwhile.
        """
        connection, smId = self.login()
        self.romeo.send(chat("juliet@example.com/phone", "one"))
        self.assertEqual(1, len(connection.read()))
        connection.lose()
        self.romeo.send(chat("juliet@example.com/phone", "two"))
        self.assertIsNotNone(self.harness.session("juliet@example.com/phone"))
        again = self.connect()
        answer = again.sendParsed(f"<resume xmlns='{NS_SM}' previd='{smId}' h='1'/>")
        self.assertEqual(
            [qname(NS_SM, "resumed"), qname("jabber:client", "message"), qname(NS_SM, "r")],
            [e.tag for e in answer],
        )
        self.assertEqual("0", answer[0].get("h"))
        self.assertEqual("two", answer[1].find("{jabber:client}body").text)

    def test_closeEnds(self):
        """
        <close/> is a clean close: the session ends at once.
        """
        connection, smId = self.login()
        connection.sendParsed(CLOSE)
        connection.lose()
        self.assertIsNone(self.harness.session("juliet@example.com/phone"))
        self.assertEqual([], self.harness.clock.getDelayedCalls())


class MemoryTests(unittest.TestCase):
    """
    The whole server in memory (L{tests.memory}): a room occupant survives
    a resumption; server reset and stop end hibernating sessions.
    """

    def setUp(self):
        from tests.memory import MemoryServer

        self.server = MemoryServer(self, mucCreateUnlocked=True)
        self.server.createAccount("juliet")
        self.server.createAccount("romeo")

    def enable(self, client):
        client.send(parseXml(ENABLE))
        [enabled] = client.take()
        self.assertEqual("enabled", enabled.name)
        return enabled["id"]

    def drop(self, client):
        """
        Break the client's connection off, as a dead network does.
        """
        pump = client.pump
        for io in (pump.clientIO, pump.serverIO):
            io.disconnectReason = ConnectionLost()
        pump.clientIO.abortConnection()
        self.server.flush()

    def resume(self, username, smId, h):
        """
        Authenticate a new Twisted client without binding, and resume.

        @return: the client's stream and what it received after
            <resume/>.
        """
        from twisted.test import iosim
        from twisted.words.protocols.jabber import client, jid, xmlstream

        from tests.memory import _withoutStartTLS

        factory = client.XMPPClientFactory(
            jid.JID(f"{username}@localhost/ignored"), "secret"
        )
        ready = []

        def connected(xs):
            _withoutStartTLS(xs)
            xs.initializers = [
                i
                for i in xs.initializers
                if not isinstance(i, (client.BindInitializer, client.SessionInitializer))
            ]

        factory.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, connected)
        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, ready.append)
        clientProtocol = factory.buildProtocol(None)
        serverProtocol = self.server.factory.buildProtocol(None)
        pump = iosim.connect(
            serverProtocol,
            iosim.makeFakeServer(serverProtocol),
            clientProtocol,
            iosim.makeFakeClient(clientProtocol),
            clock=self.server.clock,
        )
        self.server.pumps.append(pump)
        self.server.flush()
        self.assertTrue(ready)
        received = []
        clientProtocol.addObserver("/*", received.append)
        clientProtocol.send(
            parseXml(f"<resume xmlns='{NS_SM}' previd='{smId}' h='{h}'/>")
        )
        self.server.flush()
        return clientProtocol, received

    def test_roomOccupantSurvives(self):
        """
        An occupant whose connection drops stays in the room while it
        hibernates (nobody sees it leave); after resuming it gets the
        groupchat message sent meanwhile, and talks in the room again.
        """
        room = "verona@conference.localhost"
        juliet = self.server.connect("juliet", "balcony")
        romeo = self.server.connect("romeo", "orchard")
        smId = self.enable(juliet)
        juliet.send(f"<presence to='{room}/Juliet'><x xmlns='{NS_MUC}'/></presence>")
        romeo.send(f"<presence to='{room}/Romeo'><x xmlns='{NS_MUC}'/></presence>")
        juliet.send(parseXml(R))
        [a] = [e for e in juliet.take() if e.name == "a"]
        self.assertEqual("1", a["h"])
        romeo.take()
        # Juliet acknowledges all she received.
        handled = self.server.server.sessions.session(juliet.jid).sm.sent
        juliet.send(parseXml(ack(handled)))

        self.drop(juliet)
        romeo.send(f"<message type='groupchat' to='{room}'><body>Art thou there?</body></message>")
        [echo] = romeo.take()
        self.assertEqual("Art thou there?", str(echo.body))

        xs, received = self.resume("juliet", smId, handled)
        self.assertEqual(["resumed", "message", "r"], [e.name for e in received])
        self.assertEqual(f"{room}/Romeo", received[1]["from"])
        self.assertEqual("Art thou there?", str(received[1].body))
        self.assertEqual([], romeo.take())
        xs.send(
            parseXml(
                f"<message type='groupchat' to='{room}'><body>I am</body></message>",
                "jabber:client",
            )
        )
        self.server.flush()
        [message] = romeo.take()
        self.assertEqual((f"{room}/Juliet", "I am"), (message["from"], str(message.body)))

    def test_roomBroadcastInBulk(self):
        """
        A room's groupchat message to a session with stream management,
        written by the client domain's bulk path (issue 16), is counted and
        kept as for any stanza (section 4), while the session has a stream
        and while it hibernates; resumption sends the unacknowledged ones
        again, in order, with delay stamps (section 5).
        """
        room = "verona@conference.localhost"
        delivery = self.server.server.delivery
        juliet = self.server.connect("juliet", "balcony")
        romeo = self.server.connect("romeo", "orchard")
        smId = self.enable(juliet)
        juliet.send(f"<presence to='{room}/Juliet'><x xmlns='{NS_MUC}'/></presence>")
        romeo.send(f"<presence to='{room}/Romeo'><x xmlns='{NS_MUC}'/></presence>")
        juliet.take()
        sm = self.server.server.sessions.session(juliet.jid).sm
        handled = sm.sent
        juliet.send(parseXml(ack(handled)))

        before = delivery.bulkDelivered
        romeo.send(f"<message type='groupchat' to='{room}'><body>one</body></message>")
        [one] = juliet.take()
        self.assertEqual(("one", juliet.jid.full()), (str(one.body), one["to"]))
        self.assertEqual(handled + 1, sm.sent)
        [(_, kept)] = sm.queue
        self.assertEqual(("one", juliet.jid.full()), (str(kept.body), kept["to"]))

        self.drop(juliet)
        romeo.send(f"<message type='groupchat' to='{room}'><body>two</body></message>")
        self.assertEqual(4, delivery.bulkDelivered - before)
        self.assertEqual(handled + 2, sm.sent)
        xs, received = self.resume("juliet", smId, handled)
        messages = [e for e in received if e.name == "message"]
        self.assertEqual(["one", "two"], [str(m.body) for m in messages])
        for message in messages:
            self.assertEqual(1, len(list(message.elements(NS_DELAY, "delay"))))

    def test_expiryKeepsMessagesOffline(self):
        """
        A message the hibernating session never acknowledged is delivered
        again when it expires (RFC 6121 section 8.5.3.2.1): with no other
        resource available it is kept offline (XEP-0160), stamped with the
        time of its first delivery, and reaches the account's next session;
        nothing comes back to the sender.
        """
        juliet = self.server.connect("juliet", "balcony")
        juliet.send("<presence/>")
        juliet.take()
        self.enable(juliet)
        romeo = self.server.connect("romeo", "orchard")
        self.drop(juliet)
        first = self.server.clock.seconds()
        romeo.send(
            "<message type='chat' id='m1' to='juliet@localhost/balcony'>"
            "<body>Wherefore?</body></message>"
        )
        self.server.clock.advance(300)
        self.server.flush()
        self.assertEqual([], self.expiries())
        self.assertEqual([], [s for s in romeo.take() if s.name == "message"])
        again = self.server.connect("juliet", "chamber")
        again.send("<presence/>")
        [message] = [s for s in again.take() if s.name == "message"]
        self.assertEqual(("m1", "Wherefore?"), (message["id"], str(message.body)))
        [delay] = list(message.elements(NS_DELAY, "delay"))
        self.assertEqual(
            ("localhost", formatDateTime(first)), (delay["from"], delay["stamp"])
        )

    def hibernate(self):
        juliet = self.server.connect("juliet", "balcony")
        self.enable(juliet)
        self.drop(juliet)
        self.assertTrue(self.expiries())

    def expiries(self):
        return [
            call
            for call in self.server.clock.getDelayedCalls()
            if getattr(call.func, "__name__", None) == "_expire"
        ]

    def test_reset(self):
        """
        L{mepserver.server.Server.reset} ends hibernating sessions.
        """
        self.hibernate()
        d = self.server.server.reset()
        self.server.flush()
        self.successResultOf(d)
        self.assertEqual([], self.expiries())
        self.assertEqual([], self.server.server.sessions.allSessions())

    def test_stop(self):
        """
        Stopping the server ends hibernating sessions.
        """
        self.hibernate()
        self.server.stop()
        self.assertEqual([], self.expiries())
        self.assertEqual([], self.server.server.sessions.allSessions())
