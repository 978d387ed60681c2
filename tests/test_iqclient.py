# -*- test-case-name: tests.test_iqclient -*-
"""
Tests for L{mepserver.iqclient}: IQ requests the server sends and the
matching of their answers (RFC 6120 section 8.2.3), on a stub stream and a
L{task.Clock}.
"""

from twisted.internet import task
from twisted.python import failure
from twisted.trial import unittest
from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from mepserver.caps import DiscoInfoQuery
from mepserver.ids import SeededIdSource
from mepserver.iqclient import IQ_TIMEOUT, IQClient
from tests.helpers import StubStream, parseXml, stanzaMismatch

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
SERVER = JID("capulet.lit")
JULIET = JID("juliet@capulet.lit/balcony")


class IQClientTests(unittest.SynchronousTestCase):
    """
    L{IQClient.request} and the answers it observes.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.stream = StubStream()
        self.client = IQClient(SeededIdSource(), self.clock)
        # XMPPHandler.send goes through the parent, here the stream itself.
        self.client.parent = self.stream
        self.client.makeConnection(self.stream)

    def query(self):
        """
        Ask Juliet's client for its disco#info (XEP-0115 section 6.2).

        @return: the Deferred of the request, and the IQ that went out.
        """
        query = domish.Element((NS_DISCO_INFO, "query"))
        query["node"] = "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0="
        d = self.client.request(SERVER, JULIET, query)
        self.assertEqual(1, len(self.stream.output))
        return d, self.stream.output[-1]

    def answer(self, xml):
        """
        An answer arrives on the stream.

        @return: the answer's element.
        """
        element = parseXml(xml, "jabber:client")
        self.stream.dispatch(element)
        return element

    def test_request(self):
        """
        The request is an IQ of the given type from the sender to the
        recipient, with a fresh id and the payload.
        """
        _, iq = self.query()
        expected = (
            f"<iq type='get' from='capulet.lit' to='{JULIET.full()}'>"
            f"<query xmlns='{NS_DISCO_INFO}'/></iq>"
        )
        self.assertIsNone(stanzaMismatch(iq, expected))
        self.assertTrue(iq["id"].startswith("pubsub-"))

    def test_result(self):
        """
        A result from the recipient fires the Deferred with its first
        child, and is marked handled; the timeout is cancelled.
        """
        d, iq = self.query()
        answer = self.answer(
            f"<iq type='result' id='{iq['id']}' from='{JULIET.full()}' to='capulet.lit'>"
            f"<query xmlns='{NS_DISCO_INFO}'><feature var='urn:xmpp:ping'/></query></iq>"
        )
        query = self.successResultOf(d)
        self.assertEqual((NS_DISCO_INFO, "query"), (query.uri, query.name))
        self.assertTrue(answer.handled)
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_emptyResult(self):
        """
        A result without a child fires the Deferred with L{None}.
        """
        d, iq = self.query()
        self.answer(f"<iq type='result' id='{iq['id']}' from='{JULIET.full()}'/>")
        self.assertIsNone(self.successResultOf(d))

    def test_error(self):
        """
        An error answer fails the Deferred with its L{error.StanzaError}.
        """
        d, iq = self.query()
        self.answer(
            f"<iq type='error' id='{iq['id']}' from='{JULIET.full()}'>"
            "<error type='cancel'><service-unavailable"
            " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        )
        f = self.failureResultOf(d, error.StanzaError)
        self.assertEqual("service-unavailable", f.value.condition)
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_timeout(self):
        """
        Without an answer for L{IQ_TIMEOUT} seconds, the Deferred fails
        with C{remote-server-timeout}, and a late answer is ignored.
        """
        d, iq = self.query()
        self.clock.advance(IQ_TIMEOUT - 1)
        self.assertNoResult(d)
        self.clock.advance(1)
        f = self.failureResultOf(d, error.StanzaError)
        self.assertEqual("remote-server-timeout", f.value.condition)
        late = self.answer(f"<iq type='result' id='{iq['id']}' from='{JULIET.full()}'/>")
        self.assertFalse(getattr(late, "handled", False))

    def test_wrongSender(self):
        """
        An answer with the request's id from another address is not the
        answer (RFC 6120 section 8.2.3), nor is one with a malformed
        C{from}: both are left for other handlers, and the request still
        waits for the right one.
        """
        d, iq = self.query()
        for sender in ("romeo@montague.lit/orchard", "juliet@capulet.lit", "@capulet.lit"):
            answer = self.answer(f"<iq type='result' id='{iq['id']}' from='{sender}'/>")
            self.assertFalse(getattr(answer, "handled", False), sender)
        self.assertNoResult(d)
        self.answer(f"<iq type='result' id='{iq['id']}' from='{JULIET.full()}'/>")
        self.assertIsNone(self.successResultOf(d))

    def test_unknownId(self):
        """
        An answer to no pending request is left for other handlers.
        """
        d, iq = self.query()
        answer = self.answer(f"<iq type='result' id='other' from='{JULIET.full()}'/>")
        self.assertFalse(getattr(answer, "handled", False))
        self.assertNoResult(d)
        self.clock.advance(IQ_TIMEOUT)
        self.failureResultOf(d, error.StanzaError)

    def test_connectionLost(self):
        """
        Losing the stream fails every pending request with
        C{remote-server-timeout} and cancels its timeout.
        """
        d, _ = self.query()
        self.client.connectionLost(failure.Failure(Exception("gone")))
        f = self.failureResultOf(d, error.StanzaError)
        self.assertEqual(("remote-server-timeout", "the server stopped"), (f.value.condition, f.value.text))
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_noStream(self):
        """
        Without a stream (the server stopped), nothing is sent and the
        request times out.
        """
        self.client.xmlstream = None
        d = self.client.request(SERVER, JULIET, domish.Element((NS_DISCO_INFO, "query")))
        self.assertEqual([], self.stream.output)
        self.clock.advance(IQ_TIMEOUT)
        self.failureResultOf(d, error.StanzaError)


class DiscoInfoQueryTests(unittest.SynchronousTestCase):
    """
    L{DiscoInfoQuery}, the caps query of PEP and MEP, on an L{IQClient}.
    """

    def setUp(self):
        self.stream = StubStream()
        self.client = IQClient(SeededIdSource(), task.Clock())
        self.client.parent = self.stream
        self.client.makeConnection(self.stream)

    def test_query(self):
        """
        XEP-0115 section 6.2: a disco#info get of the caps node, from the
        sender given, and the answer's query as the result.
        """
        room = JID("coven@chat.shakespeare.lit")
        node = "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0="
        d = DiscoInfoQuery(self.client, room)(JULIET, node)
        [iq] = self.stream.output
        problem = stanzaMismatch(
            iq,
            f"<iq type='get' from='{room.full()}' to='{JULIET.full()}'>"
            f"<query xmlns='{NS_DISCO_INFO}' node='{node}'/></iq>",
        )
        self.assertIsNone(problem, problem)
        self.stream.dispatch(parseXml(
            f"<iq type='result' id='{iq['id']}' from='{JULIET.full()}' to='{room.full()}'>"
            f"<query xmlns='{NS_DISCO_INFO}' node='{node}'><feature var='urn:x'/></query></iq>",
            "jabber:client",
        ))
        query = self.successResultOf(d)
        self.assertEqual((NS_DISCO_INFO, "query", node), (query.uri, query.name, query["node"]))
