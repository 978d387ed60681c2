# -*- test-case-name: tests.test_testing -*-
"""
Tests for L{mepserver.testing} and L{mepserver.pytest_plugin}: the public
fixture other projects' suites use.

L{ChatTests}, L{PingTests}, L{MoodTests} and L{RoomsAPITests} are the
README's examples, word for word (L{ReadmeTests} checks that they stay
so).
"""

import dataclasses
import inspect
import json
import os
import sys
import textwrap

import treq
from twisted.internet import defer, endpoints, protocol, reactor, task, utils
from twisted.internet.defer import ensureDeferred, gatherResults
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish

from mepserver.c2s.sessions import SessionManager
from mepserver.testing import (
    Account,
    MEPServerMixin,
    StanzaNotReceived,
    StanzaRecorder,
    UnexpectedStanza,
    startServer,
)
from tests.helpers import StubStream, parseXml


class ChatTests(unittest.TestCase):
    async def test_message(self):
        running = await startServer(self)
        alice = await running.createAccount("alice", "secret")
        bob = await running.createAccount("bob", "secret")
        alicesStanzas = running.record(alice)

        alicesClient = await running.connectClient(alice, "laptop")
        bobsClient = await running.connectClient(bob, "phone")
        bobsClient.send(domish.Element((None, "presence")))
        await bobsClient.waitFor("/presence")

        message = domish.Element((None, "message"))
        message["to"], message["type"] = "bob@localhost", "chat"
        message.addElement("body", content="hello")
        alicesClient.send(message)

        received = await bobsClient.waitFor("/message[@type='chat']/body")
        self.assertEqual("alice@localhost/laptop", received["from"])
        await alicesStanzas.waitFor("/message", sent=True)
        await alicesClient.assertNoStanzaReceived("/message[@type='error']")


class PingTests(MEPServerMixin, unittest.TestCase):
    mepserverSettings = {"deterministic": True}

    async def test_ping(self):
        alice = await self.mepserver.createAccount()
        client = await self.mepserver.connectClient(alice)
        ping = domish.Element((None, "iq"))
        ping["type"], ping["to"] = "get", self.mepserver.domain
        ping.addElement(("urn:xmpp:ping", "ping"))
        reply = await client.request(ping)
        self.assertEqual("result", reply["type"])


MOOD = "http://jabber.org/protocol/mood"


class MoodTests(unittest.TestCase):
    async def test_moods(self):
        running = await startServer(self)
        alice = await running.createAccount("alice", "secret")
        bob = await running.createAccount("bob", "secret")
        room = await running.createRoom("lobby", owner=alice)
        alicesStanzas = running.record(alice)

        alicesClient = await running.connectClient(alice, "laptop")
        bobsClient = await running.connectClient(bob, "phone")
        await alicesClient.joinRoom(room, "Alice", notify=[MOOD])
        await bobsClient.joinRoom(room, "Bob")

        # The room itself publishes...
        happy = f"<mood xmlns='{MOOD}'><happy/></mood>"
        await running.generateEvent(room, MOOD, happy, "m1")
        await alicesStanzas.waitFor(
            f"/message[@from='{room}']/event/items[@node='{MOOD}']/item[@id='m1']/mood/happy"
        )

        # ... and so does an occupant, at its occupant JID.
        sad = f"<mood xmlns='{MOOD}'><sad/></mood>"
        await running.publishAsOccupant(f"{room}/Bob", MOOD, sad)
        event = await alicesClient.waitFor(f"/message[@from='{room}/Bob']/event/items/item/mood/sad")
        self.assertEqual("headline", event["type"])
        await bobsClient.assertNoStanzaReceived("/message/event")


class RoomsAPITests(unittest.TestCase):
    async def test_rooms(self):
        running = await startServer(self)
        await running.createRoom("lobby")
        pool = HTTPConnectionPool(reactor)
        # Cleanups run last first: the pool closes before the server stops.
        self.addCleanup(pool.closeCachedConnections)

        response = await treq.get(running.apiURL + "rooms", pool=pool)
        self.assertEqual(200, response.code)
        rooms = json.loads(await response.content())["rooms"]
        self.assertEqual(["lobby@conference.localhost"], [r["jid"] for r in rooms])


class ReadmeTests(unittest.SynchronousTestCase):
    """
    The README's examples are the ones this module runs.
    """

    def test_examples(self):
        """
        L{ChatTests}, L{PingTests}, L{MoodTests} and L{RoomsAPITests}
        appear in README.rst as they are here.
        """
        path = os.path.join(os.path.dirname(__file__), os.pardir, "README.rst")
        if not os.path.exists(path):
            raise unittest.SkipTest("no README.rst beside the tests")
        with open(path, encoding="utf-8") as f:
            readme = f.read()
        for example in (ChatTests, PingTests, MoodTests, RoomsAPITests):
            source = textwrap.indent(inspect.getsource(example), "    ")
            self.assertTrue(
                source in readme, f"README.rst lacks this example:\n{source}"
            )


class RouterStub:
    """
    Where a L{SessionManager} sends what clients send: nowhere.
    """

    def __init__(self):
        self.routed = []

    def route(self, stanza):
        self.routed.append(stanza)


def message(to, body="hi", **attributes):
    """
    A chat message from the server's point of view.
    """
    element = domish.Element(("jabber:client", "message"))
    element["to"], element["type"] = to, "chat"
    for name, value in attributes.items():
        element[name] = value
    element.addElement("body", content=body)
    return element


class StanzaRecorderTests(unittest.SynchronousTestCase):
    """
    L{StanzaRecorder} on a L{SessionManager} with stub streams and a
    L{task.Clock}: recording, waiting, windows and their timers.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.sessions = SessionManager("example.com", users=None, router=RouterStub())
        self.balcony = self.sessions.bind("juliet", "balcony", StubStream())
        self.garden = self.sessions.bind("juliet", "garden", StubStream())
        self.romeo = self.sessions.bind("romeo", "orchard", StubStream())

    def record(self, address):
        recorder = StanzaRecorder(self.sessions, jid.JID(address), self.clock)
        self.addCleanup(recorder.stop)
        return recorder

    def test_bareJID(self):
        """
        A bare JID's recorder sees what every session of the account is sent
        and sends, and nothing of other accounts.
        """
        recorder = self.record("juliet@example.com")
        self.balcony.send(message("juliet@example.com/balcony", "one"))
        self.garden.send(message("juliet@example.com/garden", "two"))
        self.romeo.send(message("romeo@example.com/orchard", "three"))
        self.sessions.outbound(self.garden, message("romeo@example.com", "four"))
        self.sessions.outbound(self.romeo, message("juliet@example.com", "five"))
        self.assertEqual(["one", "two"], [str(s.body) for s in recorder.received])
        self.assertEqual(["four"], [str(s.body) for s in recorder.sent])
        self.assertEqual("juliet@example.com/garden", recorder.sent[0]["from"])

    def test_fullJID(self):
        """
        A full JID's recorder sees one session only.
        """
        recorder = self.record("juliet@example.com/garden")
        self.balcony.send(message("juliet@example.com/balcony", "one"))
        self.garden.send(message("juliet@example.com/garden", "two"))
        self.assertEqual(["two"], [str(s.body) for s in recorder.received])

    def test_snapshot(self):
        """
        A recorded stanza keeps the attributes it was sent with, even if the
        server reuses the element for another recipient.
        """
        recorder = self.record("juliet@example.com/balcony")
        stanza = message("juliet@example.com/balcony")
        self.balcony.send(stanza)
        stanza["to"] = "romeo@example.com/orchard"
        self.assertEqual("juliet@example.com/balcony", recorder.received[0]["to"])

    def test_rawPayload(self):
        """
        A payload the server inserted as raw XML text (a stored PEP or MEP
        item) is recorded parsed, as the client sees it, so that patterns
        reach into it.
        """
        recorder = self.record("juliet@example.com/balcony")
        stanza = domish.Element(("jabber:client", "message"))
        stanza["to"] = "juliet@example.com/balcony"
        item = stanza.addElement(("http://jabber.org/protocol/pubsub#event", "event")).addElement("items").addElement("item")
        item.addRawXml("<mood xmlns='http://jabber.org/protocol/mood'><happy/></mood>")
        self.balcony.send(stanza)
        d = recorder.waitFor("/message/event/items/item/mood/happy")
        recorded = self.successResultOf(d)
        self.assertEqual("jabber:client", recorded.uri)
        self.assertEqual("http://jabber.org/protocol/mood", recorded.event.items.item.mood.uri)

    def test_waitForRecorded(self):
        """
        L{StanzaRecorder.waitFor} fires at once with a stanza already
        recorded, matched by XPath or by a predicate.
        """
        recorder = self.record("juliet@example.com")
        self.balcony.send(message("juliet@example.com/balcony", "one", id="a"))
        stanza = self.successResultOf(recorder.waitFor("/message/body"))
        self.assertEqual("one", str(stanza.body))
        byId = recorder.waitFor(lambda e: e.getAttribute("id") == "a")
        self.assertIs(stanza, self.successResultOf(byId))
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_waitForFuture(self):
        """
        L{StanzaRecorder.waitFor} fires with the first matching stanza that
        arrives, and cancels its timeout.
        """
        recorder = self.record("juliet@example.com")
        d = recorder.waitFor("/message[@type='groupchat']")
        self.balcony.send(message("juliet@example.com/balcony"))
        self.assertNoResult(d)
        groupchat = message("juliet@example.com/balcony", type="groupchat")
        self.balcony.send(groupchat)
        self.assertEqual("groupchat", self.successResultOf(d)["type"])
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_waitForSent(self):
        """
        With C{sent=True}, L{StanzaRecorder.waitFor} waits for what the JID
        sends.
        """
        recorder = self.record("juliet@example.com")
        d = recorder.waitFor("/message", sent=True)
        self.balcony.send(message("juliet@example.com/balcony"))
        self.assertNoResult(d)
        self.sessions.outbound(self.balcony, message("romeo@example.com"))
        self.assertEqual("juliet@example.com/balcony", self.successResultOf(d)["from"])

    def test_waitForTimeout(self):
        """
        After its timeout, L{StanzaRecorder.waitFor} fails with
        L{StanzaNotReceived}, saying what the JID received instead.
        """
        recorder = self.record("juliet@example.com")
        self.balcony.send(message("juliet@example.com/balcony", "not this"))
        d = recorder.waitFor("/presence", timeout=2)
        self.clock.advance(1.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        error = self.failureResultOf(d, StanzaNotReceived).value
        self.assertIsInstance(error, AssertionError)
        self.assertIn("'/presence'", str(error))
        self.assertIn("juliet@example.com", str(error))
        self.assertIn("not this", str(error))
        self.assertEqual(1, len(error.received))
        # A stanza arriving later fires nothing twice.
        self.balcony.send(domish.Element(("jabber:client", "presence")))

    def test_waitForWhileFiring(self):
        """
        A stanza recorded by a callback of another wait still reaches the
        waits not fired yet.
        """
        recorder = self.record("juliet@example.com/balcony")
        first = recorder.waitFor("/message[@id='1']")
        second = recorder.waitFor("/message[@id='2']")
        first.addCallback(
            lambda _: self.balcony.send(message("juliet@example.com/balcony", id="2"))
        )
        self.balcony.send(message("juliet@example.com/balcony", id="1"))
        self.assertEqual("2", self.successResultOf(second)["id"])

    def test_brokenPredicate(self):
        """
        A predicate that raises fails its own wait; the stanza is still
        delivered and other waits still served.
        """
        recorder = self.record("juliet@example.com")
        broken = recorder.waitFor(lambda e: e["no-such-attribute"] == "x")
        other = recorder.waitFor("/message")
        self.balcony.send(message("juliet@example.com/balcony"))
        self.failureResultOf(broken, KeyError)
        self.successResultOf(other)
        self.assertEqual(1, len(self.balcony.xmlstream.output))

    def test_badPattern(self):
        """
        A pattern is an XPath string or a callable.
        """
        recorder = self.record("juliet@example.com")
        self.assertRaises(TypeError, recorder.waitFor, {"type": "chat"})

    def test_assertNoStanzaPasses(self):
        """
        L{StanzaRecorder.assertNoStanza} succeeds once its window passed
        without a matching stanza; earlier stanzas do not count.
        """
        recorder = self.record("juliet@example.com")
        self.balcony.send(message("juliet@example.com/balcony", type="error"))
        d = recorder.assertNoStanza("/message[@type='error']", window=0.5)
        self.balcony.send(message("juliet@example.com/balcony"))
        self.clock.advance(0.4)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertIsNone(self.successResultOf(d))
        self.balcony.send(message("juliet@example.com/balcony", type="error"))

    def test_assertNoStanzaFails(self):
        """
        L{StanzaRecorder.assertNoStanza} fails with L{UnexpectedStanza} as
        soon as a matching stanza arrives, and cancels its timer.
        """
        recorder = self.record("juliet@example.com")
        d = recorder.assertNoStanza("/message[@type='error']", window=0.5)
        self.balcony.send(message("juliet@example.com/balcony", "oops", type="error"))
        error = self.failureResultOf(d, UnexpectedStanza).value
        self.assertIn("oops", str(error))
        self.assertEqual("oops", str(error.stanza.body))
        self.assertEqual([], self.clock.getDelayedCalls())

    def test_clear(self):
        """
        After L{StanzaRecorder.clear}, waits see only new stanzas.
        """
        recorder = self.record("juliet@example.com")
        self.balcony.send(message("juliet@example.com/balcony", "old"))
        recorder.clear()
        d = recorder.waitFor("/message")
        self.assertNoResult(d)
        self.balcony.send(message("juliet@example.com/balcony", "new"))
        self.assertEqual("new", str(self.successResultOf(d).body))

    def test_stop(self):
        """
        A stopped recorder leaves the session manager's observers empty,
        fails its pending waits and lets pending windows pass.
        """
        recorder = StanzaRecorder(
            self.sessions, jid.JID("juliet@example.com"), self.clock
        )
        waiting = recorder.waitFor("/presence")
        window = recorder.assertNoStanza("/presence")
        recorder.stop()
        self.assertEqual([], self.sessions.observers)
        self.failureResultOf(waiting, StanzaNotReceived)
        self.assertIsNone(self.successResultOf(window))
        self.assertEqual([], self.clock.getDelayedCalls())
        self.balcony.send(message("juliet@example.com/balcony"))
        self.assertEqual([], recorder.received)


class KeptAlive(protocol.Protocol):
    """
    An HTTP/1.1 client that asks for one page and keeps its connection
    open afterwards, as a browser does.

    @ivar answered: fires once the answer starts to arrive.
    @ivar lost: fires once the connection is closed.
    """

    def __init__(self):
        self.answered = defer.Deferred()
        self.lost = defer.Deferred()

    def connectionMade(self):
        self.transport.write(
            b"GET /.well-known/host-meta HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )

    def dataReceived(self, data):
        if not self.answered.called:
            self.answered.callback(data)

    def connectionLost(self, reason):
        self.lost.callback(None)


async def keepAlive(running):
    """
    Open an HTTP connection to C{running} that stays open once answered.

    @return: the L{KeptAlive} client, answered.
    """
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", running.httpPort)
    client = await endpoints.connectProtocol(endpoint, KeptAlive())
    answer = await client.answered
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    return client


class RunningServerTests(unittest.TestCase):
    """
    L{startServer}'s L{RunningServer}: accounts, clients, recorders, reset.
    """

    timeout = 60

    async def test_createAccount(self):
        """
        Accounts get the chosen or generated names and passwords; a taken
        name fails.
        """
        running = await startServer(self)
        chosen = await running.createAccount("alice", "secret")
        self.assertEqual(Account(jid.JID("alice@localhost"), "secret"), chosen)
        self.assertEqual("alice", chosen.username)
        await running.createAccount("user2", "x")
        first = await running.createAccount()
        second = await running.createAccount()
        self.assertEqual(["user1", "user3"], [first.username, second.username])
        self.assertNotEqual(first.password, second.password)
        from mepserver.interfaces import UserExists

        await self.assertFailure(running.createAccount("alice"), UserExists)
        users = await running.server.users.listUsers()
        self.assertEqual(["alice", "user1", "user2", "user3"], users)

    async def test_connectClient(self):
        """
        L{RunningServer.connectClient} logs in over verified TLS, binding the
        chosen or a generated resource; the client answers requests, waits
        for stanzas and closes.
        """
        running = await startServer(self)
        alice = await running.createAccount()
        chosen = await running.connectClient(alice, "laptop")
        self.assertEqual(alice.jid.userhost() + "/laptop", chosen.jid.full())
        self.assertTrue(chosen.xmlstream.transport.TLS)
        generated = await running.connectClient(alice)
        self.assertTrue(generated.jid.resource.startswith("mep-"))

        version = domish.Element((None, "iq"))
        version["type"], version["to"] = "get", running.domain
        version.addElement(("jabber:iq:version", "query"))
        reply = await generated.request(version)
        self.assertEqual("result", reply["type"])
        self.assertIs(reply, await generated.waitFor("/iq[@type='result']"))

        await chosen.close()
        self.assertFalse(chosen.connected)
        self.assertIsNone(await chosen.close())
        # The running server forgets a closed client and all it received,
        # so that a soak of thousands of clients runs in flat memory; it
        # still closes the open ones when it stops.
        self.assertEqual([generated], running._clients)

    async def test_ping(self):
        """
        L{ConnectedClient.ping} fires with the server's C{result} to an
        XEP-0199 ping, which arrives after what the server sent before.
        """
        running = await startServer(self)
        client = await running.connectClient(await running.createAccount(), "laptop")
        client.send(f"<message to='{client.jid.full()}' id='before'><body>hi</body></message>")
        answer = await client.ping()
        self.assertEqual("result", answer["type"])
        self.assertEqual(client.jid.host, answer["from"])
        self.assertEqual(
            ["before", answer["id"]], [e.getAttribute("id") for e in client.received]
        )

    async def test_assertNoStanzaReceived(self):
        """
        L{ConnectedClient.assertNoStanzaReceived} succeeds when nothing
        matching came before a ping's answer (the answer itself does not
        count, nor those of earlier pings, nor what came before
        L{ConnectedClient.clear}), and fails with L{UnexpectedStanza} for a
        stanza the server sent before it handled the ping, without waiting
        for any window.
        """
        running = await startServer(self)
        client = await running.connectClient(await running.createAccount(), "laptop")
        client.send(f"<message to='{client.jid.full()}' id='old'><body>old</body></message>")
        await client.waitFor("/message[@id='old']")
        client.clear()
        self.assertIsNone(await client.assertNoStanzaReceived("/message"))
        self.assertIsNone(await client.assertNoStanzaReceived("/iq"))
        client.send(f"<message to='{client.jid.full()}' id='new'><body>new</body></message>")
        error = await self.assertFailure(
            client.assertNoStanzaReceived("/message"), UnexpectedStanza
        )
        self.assertEqual("new", error.stanza["id"])
        self.assertIn("before a ping's answer", str(error))

    async def test_clientClosedWhileWaiting(self):
        """
        When the connection closes, a pending C{waitFor} fails at once with
        L{StanzaNotReceived}, and a pending C{assertNoStanza} succeeds.
        """
        running = await startServer(self)
        client = await running.connectClient(await running.createAccount())
        waiting = client.waitFor("/message", timeout=60)
        window = client.assertNoStanza("/message", window=60)
        await client.close()
        error = await self.assertFailure(waiting, StanzaNotReceived)
        self.assertIn("connection closed", str(error))
        self.assertIsNone(await window)

    async def test_wrongPassword(self):
        """
        A failed login fails L{RunningServer.connectClient}, after closing
        the connection (or trial would find it left open).
        """
        running = await startServer(self)
        alice = await running.createAccount()
        from twisted.words.protocols.jabber.sasl import SASLAuthError

        wrong = dataclasses.replace(alice, password="wrong")
        await self.assertFailure(running.connectClient(wrong), SASLAuthError)

    async def test_record(self):
        """
        A recorder made with L{RunningServer.record} sees what the server
        sends to and receives from an account's clients.
        """
        running = await startServer(self)
        alice = await running.createAccount()
        recorder = running.record(alice)
        client = await running.connectClient(alice, "laptop")
        roster = domish.Element((None, "iq"))
        roster["type"] = "get"
        roster.addElement(("jabber:iq:roster", "query"))
        await client.request(roster)
        sent = await recorder.waitFor("/iq/query[@xmlns='jabber:iq:roster']", sent=True)
        self.assertEqual(alice.jid.userhost() + "/laptop", sent["from"])
        answer = await recorder.waitFor(f"/iq[@type='result'][@id='{sent['id']}']")
        self.assertEqual(alice.jid.userhost() + "/laptop", answer["to"])

    async def test_recordChecksDomain(self):
        """
        L{RunningServer.record} takes an account's JID, as a L{jid.JID}, a
        string or an L{Account}, and refuses other JIDs.
        """
        running = await startServer(self)
        self.assertEqual("a@localhost/r", running.record("a@localhost/r").jid.full())
        self.assertRaises(ValueError, running.record, "a@example.org")
        self.assertRaises(ValueError, running.record, jid.JID("localhost"))

    async def test_reset(self):
        """
        L{RunningServer.reset} closes every client stream, ours and others',
        stops the recorders, forgets accounts and rooms, and the server
        serves again at once.
        """
        running = await startServer(self)
        alice = await running.createAccount()
        recorder = running.record(alice)
        client = await running.connectClient(alice)
        waiting = recorder.waitFor("/message")
        resets = []
        rooms = {"__len__": lambda s: 1, "reset": lambda s: resets.append(1)}
        running.server.rooms = type("Rooms", (), rooms)()

        await running.reset()
        self.assertFalse(client.connected)
        self.assertEqual(0, len(running.server.streams))
        self.assertEqual([], running.server.sessions.allSessions())
        self.assertEqual([], running.server.sessions.observers)
        await self.assertFailure(waiting, StanzaNotReceived)
        self.assertEqual([], await running.server.users.listUsers())
        self.assertEqual([1], resets)

        again = await running.createAccount()
        self.assertEqual("user1", again.username)
        client = await running.connectClient(again)
        self.assertTrue(client.connected)

    async def test_resetSQLite(self):
        """
        Only memory storage can be reset: with SQLite, nothing happens and
        L{RunningServer.reset} says why.
        """
        running = await startServer(self, storage="sqlite")
        alice = await running.createAccount()
        client = await running.connectClient(alice)
        error = await self.assertFailure(running.reset(), RuntimeError)
        self.assertIn("storage='memory'", str(error))
        self.assertTrue(client.connected)

    async def test_stopClosesEverything(self):
        """
        L{RunningServer.stop} closes the clients and recorders it made, the
        ports and the temporary data directory.
        """
        running = await startServer()
        client = await running.connectClient(await running.createAccount())
        recorder = running.record(client.jid)
        await running.stop()
        self.assertFalse(client.connected)
        self.assertEqual([], running.server.sessions.observers)
        self.assertFalse(os.path.exists(running.server.config.dataDir))
        del recorder

    async def test_stopClosesHTTPConnections(self):
        """
        L{RunningServer.stop} closes the HTTP connections a browser keeps
        open after its requests.
        """
        running = await startServer()
        client = await keepAlive(running)
        await running.stop()
        # The timeout turns a connection left open into a failure.
        await client.lost.addTimeout(5, reactor)

    async def test_suspendClosesHTTPConnections(self):
        """
        L{RunningServer.suspend} closes them too, and after L{resume}
        those of the new listener are closed in turn.
        """
        running = await startServer(self)
        client = await keepAlive(running)
        await running.suspend()
        await client.lost.addTimeout(5, reactor)
        await running.resume()
        client = await keepAlive(running)
        await running.suspend()
        await client.lost.addTimeout(5, reactor)


    async def test_suspendResume(self):
        """
        L{RunningServer.suspend} resets the server and closes its ports;
        L{RunningServer.resume} listens again on the same port numbers.
        """
        from twisted.internet import error

        running = await startServer(self)
        ports = (running.c2sPort, running.httpPort, running.directTLSPort)
        self.assertEqual(3, len(set(ports)))
        client = await running.connectClient(await running.createAccount("alice"))
        await running.suspend()
        self.assertFalse(client.connected)
        self.assertEqual([], await running.server.users.listUsers())
        account = await running.createAccount("alice")
        await self.assertFailure(running.connectClient(account), error.ConnectionRefusedError)
        await running.resume()
        await running.resume()
        self.assertEqual(ports, (running.c2sPort, running.httpPort, running.directTLSPort))
        client = await running.connectClient(account)
        self.assertTrue(client.connected)

    async def test_componentPort(self):
        """
        Without C{components}, there is no component port and
        L{RunningServer.connectComponent} refuses; with one component (and
        direct TLS off, so that the ports are told apart by listener, not
        by position), its port is on loopback and C{connectComponent()}
        picks it; with two, it needs a name.
        """
        running = await startServer(self)
        self.assertIsNone(running.componentPort)
        self.assertEqual({}, running.components)
        error = await self.assertFailure(running.connectComponent(), ValueError)
        self.assertIn("componentsListen", str(error))

        running = await startServer(
            self, directTLSListen="off", components={"bot.localhost": "s"}
        )
        self.assertIsNone(running.directTLSPort)
        self.assertNotIn(running.componentPort, (None, running.c2sPort, running.httpPort))
        bot = await running.connectComponent()
        self.assertEqual("bot.localhost", bot.jid.full())
        self.assertEqual("result", (await bot.ping())["type"])

        running = await startServer(self, components={"a.localhost": "1", "b.localhost": "2"})
        self.assertEqual(4, len({running.c2sPort, running.httpPort,
                                 running.directTLSPort, running.componentPort}))
        error = await self.assertFailure(running.connectComponent(), ValueError)
        self.assertIn("a.localhost, b.localhost", str(error))

    async def test_resumeElsewhere(self):
        """
        If a port number was taken while the server was suspended,
        L{RunningServer.resume} listens on a new ephemeral port.
        """
        from twisted.internet import endpoints, protocol, reactor

        running = await startServer(self)
        await running.suspend()
        taken = running.c2sPort
        endpoint = endpoints.serverFromString(reactor, f"tcp:{taken}:interface=127.0.0.1")
        squatter = await endpoint.listen(protocol.Factory.forProtocol(protocol.Protocol))
        self.addCleanup(squatter.stopListening)
        await running.resume()
        self.assertNotEqual(taken, running.c2sPort)
        client = await running.connectClient(await running.createAccount())
        self.assertTrue(client.connected)


class DeterministicTests(unittest.TestCase):
    """
    Deterministic mode: ids from a seeded source, time from a fixed clock.
    """

    timeout = 60

    async def scenario(self, running):
        """
        Log in with a generated resource, ask for the roster, add a contact.

        @return: the stream id, the bound resource and the roster push id.
        """
        alice = await running.createAccount()
        recorder = running.record(alice)
        client = await running.connectClient(alice)
        roster = domish.Element((None, "iq"))
        roster["type"] = "get"
        roster.addElement(("jabber:iq:roster", "query"))
        await client.request(roster)
        add = parseXml(
            "<iq type='set'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@localhost'/></query></iq>",
            "jabber:client",
        )
        await client.request(add)
        push = await recorder.waitFor("/iq[@type='set']/query/item")
        return client.xmlstream.sid, client.jid.resource, push["id"]

    async def test_sameSeedSameIds(self):
        """
        Two servers with the same seed give the same ids to the same
        scenario; another seed gives others; reset starts the sequence again.
        """
        one = await startServer(self, deterministic=True, seed=1)
        two = await startServer(self, deterministic=True, seed=1)
        other = await startServer(self, deterministic=True, seed=2)
        first = await self.scenario(one)
        self.assertEqual(first, await self.scenario(two))
        self.assertNotEqual(first, await self.scenario(other))
        self.assertTrue(first[2].startswith("push-"))
        await one.reset()
        self.assertEqual(first, await self.scenario(one))

    async def test_anonymous(self):
        """
        Anonymous usernames come from the seeded source too.
        """
        addresses = []
        for _ in range(2):
            running = await startServer(self, deterministic=True, anonymous=True)
            client = await running.connectClient(Account(jid.JID("localhost"), ""))
            addresses.append(client.jid)
        self.assertTrue(addresses[0].user.startswith("anon-"))
        self.assertEqual(addresses[0], addresses[1])

    async def test_clock(self):
        """
        The server's clock stands at 2020-01-01T00:00:00Z until the test
        moves it, and reset puts it back; a clock given is used as it is.
        """
        running = await startServer(self, deterministic=True)
        self.assertIsInstance(running.clock, task.Clock)
        self.assertIs(running.clock, running.server.clock)
        self.assertEqual(1577836800, running.clock.seconds())
        running.clock.advance(60)
        await running.reset()
        self.assertEqual(1577836800, running.clock.seconds())

        clock = task.Clock()
        given = await startServer(self, deterministic=True, clock=clock)
        self.assertIs(clock, given.server.clock)
        clock.advance(5)
        await given.reset()
        self.assertEqual(5, clock.seconds())

    async def roomScenario(self, running):
        """
        A MUC + MEP scenario: a history message seen by a late joiner, and
        a room event seen live and as a last item.

        @return: the ids and stamps a client would snapshot.
        """
        node = "urn:example:mood"
        alice = await running.createAccount("alice", "secret")
        bob = await running.createAccount("bob", "secret")
        room = await running.createRoom("lobby", owner=alice)
        aliceClient = await running.connectClient(alice, "laptop")
        await aliceClient.joinRoom(room, "Alice", notify=[node])
        message = domish.Element((None, "message"))
        message["to"], message["type"] = room.full(), "groupchat"
        message.addElement("body", content="hello")
        aliceClient.send(message)
        reflected = await aliceClient.waitFor("/message[@type='groupchat']/body")
        await running.generateEvent(room, node, f"<mood xmlns='{node}'><happy/></mood>")
        event = await aliceClient.waitFor("/message[@type='headline']/event/items/item")
        running.clock.advance(90)
        bobClient = await running.connectClient(bob, "phone")
        await bobClient.joinRoom(room, "Bob", notify=[node])
        history = await bobClient.waitFor("/message[@type='groupchat']/delay")
        last = await bobClient.waitFor("/message[@type='headline']/delay")

        def child(element, name):
            return next(c for c in element.elements() if c.name == name)

        def itemOf(element):
            return child(child(child(element, "event"), "items"), "item")

        return (
            child(reflected, "stanza-id")["id"],
            child(reflected, "occupant-id")["id"],
            event["id"],
            itemOf(event)["id"],
            child(history, "delay")["stamp"],
            itemOf(last)["id"],
            child(last, "delay")["stamp"],
        )

    async def test_roomScenarioSnapshot(self):
        """
        MUC and MEP identifiers and stamps (XEP-0359 stanza-ids, XEP-0421
        occupant-ids, notification and item ids, XEP-0203 delay stamps) are
        the same for the same seed and scenario, and differ for another
        seed (issue 6 item 3).
        """
        one = await self.roomScenario(await startServer(self, deterministic=True, seed=3))
        two = await self.roomScenario(await startServer(self, deterministic=True, seed=3))
        other = await self.roomScenario(await startServer(self, deterministic=True, seed=4))
        self.assertEqual(one, two)
        self.assertNotEqual(one[:4], other[:4])
        self.assertEqual(("2020-01-01T00:00:00Z",) * 2, (one[4], one[6]))

    async def test_notDeterministic(self):
        """
        By default the server runs on the reactor, with random ids.
        """
        from twisted.internet import reactor

        running = await startServer(self)
        self.assertIs(reactor, running.clock)
        one = await self.scenario(running)
        two = await self.scenario(await startServer(self))
        self.assertNotEqual(one[1], two[1])


class MEPServerMixinTests(MEPServerMixin, unittest.TestCase):
    """
    L{MEPServerMixin} with a C{setUp} of the test's own.
    """

    mepserverSettings = {"domain": "example.test"}

    async def setUp(self):
        await super().setUp()
        self.alice = await self.mepserver.createAccount("alice")

    def test_started(self):
        """
        C{setUp} started a server with the settings, before the test's own
        C{setUp} went on.
        """
        self.assertEqual("example.test", self.mepserver.domain)
        self.assertEqual("alice@example.test", self.alice.jid.full())


#: The options of the probes' pytest runs besides C{-q}: no cache, and not
#: Hypothesis's plugin, which imports Hypothesis (half a second) and is no
#: part of what the probes check. Every other installed plugin, mepserver's
#: entry point included, loads as in another project's run.
PROBE_PYTEST_OPTIONS = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]


PLUGIN_PROBE = '''
import importlib.util

import pytest
from twisted.trial import unittest

from mepserver.testing import MEPServerMixin


# First: with pytest-twisted installed, a trial test case works until a
# test function starts the reactor in pytest-twisted's greenlet.
class MixinTests(MEPServerMixin, unittest.TestCase):
    async def test_login(self):
        alice = await self.mepserver.createAccount()
        client = await self.mepserver.connectClient(alice)
        assert client.jid.userhost() == alice.jid.userhost()


def test_registered(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("mepserver")


if importlib.util.find_spec("pytest_twisted") is None:

    def test_noFixture(request):
        with pytest.raises(pytest.FixtureLookupError):
            request.getfixturevalue("mepserver")

else:
    import pytest_twisted

    @pytest_twisted.ensureDeferred
    async def test_fixture(mepserver):
        alice = await mepserver.createAccount()
        client = await mepserver.connectClient(alice)
        assert client.jid.userhost() == alice.jid.userhost()
'''


class PytestPluginTests(unittest.TestCase):
    """
    L{mepserver.pytest_plugin} in a pytest run of its own, as another
    project's suite would load it.
    """

    timeout = 120

    async def test_plugin(self):
        """
        The entry point registers the plugin; the C{mepserver} fixture exists
        exactly when pytest-twisted is installed, and works; a trial-style
        test case with L{MEPServerMixin} passes under pytest, with
        pytest-twisted installed too when it runs first.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "pytest.ini"), "w") as f:
            f.write("[pytest]\n")
        with open(os.path.join(directory, "test_probe.py"), "w") as f:
            f.write(PLUGIN_PROBE)
        out, err, code = await utils.getProcessOutputAndValue(
            sys.executable,
            ["-m", "pytest", "-q"] + PROBE_PYTEST_OPTIONS + ["test_probe.py"],
            env=os.environ,
            path=directory,
        )
        report = (out + err).decode("utf-8", "replace")
        self.assertEqual(0, code, report)
        self.assertIn("3 passed", report)


SHARED_PROBE = '''
import os

import treq
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from mepserver.testing import MEPServerMixin

NODE = "urn:example:mood"
SEEN = []


class SharedTests(MEPServerMixin, unittest.TestCase):
    mepserverSettings = {"deterministic": True}
    mepserverShared = True
    timeout = 15

    async def scenario(self):
        # The same names in every test: reset() forgot the last test's.
        running = self.mepserver
        SEEN.append(running)
        with open(os.environ["MEPSERVER_PROBE_DATADIR"], "w") as f:
            f.write(running.server.config.dataDir)
        alice = await running.createAccount("alice")
        room = await running.createRoom("lobby", owner=alice)
        client = await running.connectClient(alice, "laptop")
        await client.joinRoom(room, "Alice", notify=[NODE])
        await running.generateEvent(room, NODE, f"<mood xmlns='{NODE}'/>", "m1")
        await client.waitFor("/message/event/items/item[@id='m1']")
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        response = await treq.get(running.apiURL + "rooms", pool=pool)
        assert response.code == 200, response.code
        await response.content()
        # Left for reset() to close: a second client, a recorder waiting.
        await running.connectClient(alice)
        running.record(alice).waitFor("/never", timeout=60).addErrback(lambda f: None)
        assert all(seen is running for seen in SEEN), SEEN

    async def test_one(self):
        await self.scenario()

    async def test_two(self):
        await self.scenario()

    async def test_three(self):
        await self.scenario()
'''


class SharedServerTests(unittest.TestCase):
    """
    L{MEPServerMixin} with C{mepserverShared}: one server for a class's
    tests, in a trial run and a pytest run of their own.
    """

    timeout = 120

    async def runProbe(self, name, arguments):
        """
        Run the probe with C{python -m ...}.

        @return: its exit code, its output, and the data directory its
            server used.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "pytest.ini"), "w") as f:
            f.write("[pytest]\n")
        with open(os.path.join(directory, "test_sharedprobe.py"), "w") as f:
            f.write(SHARED_PROBE)
        record = os.path.join(directory, "datadir")
        env = dict(os.environ, MEPSERVER_PROBE_DATADIR=record)
        out, err, code = await utils.getProcessOutputAndValue(
            sys.executable, ["-m", name] + arguments, env=env, path=directory
        )
        with open(record) as f:
            dataDir = f.read()
        return code, (out + err).decode("utf-8", "replace"), dataDir

    async def test_shared(self):
        """
        The tests of a class share one server, reset between them, and
        trial's dirty-reactor check, which runs after each test under pytest
        too, finds nothing left; the server's temporary directory is gone at
        the end.
        """
        trial, pytest = await gatherResults(
            [
                ensureDeferred(self.runProbe("twisted.trial", ["test_sharedprobe"])),
                ensureDeferred(
                    self.runProbe("pytest", ["-q"] + PROBE_PYTEST_OPTIONS + ["test_sharedprobe.py"])
                ),
            ]
        )
        code, report, dataDir = trial
        self.assertEqual(0, code, report)
        self.assertIn("PASSED (successes=3)", report)
        self.assertFalse(os.path.exists(dataDir), dataDir)
        code, report, dataDir = pytest
        self.assertEqual(0, code, report)
        self.assertIn("3 passed", report)
        self.assertFalse(os.path.exists(dataDir), dataDir)


NS_CONFERENCE_INFO = "urn:ietf:params:xml:ns:conference-info"


class RoomTests(unittest.TestCase):
    """
    L{RunningServer.createRoom}, L{RunningServer.generateEvent} and
    L{RunningServer.apiURL}.
    """

    timeout = 30

    async def join(self, running, client, roomJID, nick, password=None):
        """
        Enter a room and wait for the self-presence.
        """
        presence = domish.Element((None, "presence"))
        presence["to"] = f"{roomJID.full()}/{nick}"
        x = presence.addElement(("http://jabber.org/protocol/muc", "x"))
        if password is not None:
            x.addElement("password", content=password)
        client.send(presence)
        return await client.waitFor(
            f"/presence[@from='{roomJID.full()}/{nick}']"
            "/x[@xmlns='http://jabber.org/protocol/muc#user']/status[@code='110']"
        )

    async def test_createRoom(self):
        """
        A room is created unlocked with the configuration given, by form
        field names or attribute names, and the owner given; a persistent
        one is stored. Its first occupant gets no 201.
        """
        running = await startServer(self)
        alice = await running.createAccount("alice")
        roomJID = await running.createRoom(
            "lobby",
            owner=alice,
            name="The Lobby",
            persistentroom=True,
            membersOnly=False,
            moderatedroom=True,
            roomsecret="s3cret",
            whois="anyone",
            maxusers=10,
            presencebroadcast=["moderator", "participant"],
        )
        self.assertEqual(jid.JID("lobby@conference.localhost"), roomJID)
        room = running.server.rooms.get(roomJID)
        self.assertFalse(room.locked)
        config = room.config
        self.assertEqual("The Lobby", config.name)
        self.assertTrue(config.persistent and config.moderated and config.passwordProtected)
        self.assertEqual(("s3cret", "anyone", 10), (config.password, config.whois, config.maxUsers))
        self.assertEqual({"moderator", "participant"}, {r.value for r in config.presenceBroadcast})
        self.assertEqual("owner", room.affiliationOf(alice.jid).value)
        stored = await running.server.roomStore.loadRooms()
        self.assertEqual([roomJID], [s.jid for s in stored])

        client = await running.connectClient(alice)
        selfPresence = await self.join(running, client, roomJID, "Alice", "s3cret")
        [x] = selfPresence.elements("http://jabber.org/protocol/muc#user", "x")
        codes = {s["code"] for s in x.elements(x.uri, "status")}
        self.assertNotIn("201", codes)
        self.assertIn("100", codes)

    async def test_createRoomOptions(self):
        """
        A room may have no owner and be named by its full JID; an unknown
        setting, an existing room and another service's JID fail.
        """
        running = await startServer(self)
        roomJID = await running.createRoom("hall@conference.localhost")
        self.assertEqual({}, running.server.rooms.get(roomJID).affiliations)
        self.assertEqual([], await running.server.roomStore.loadRooms())
        await self.assertFailure(running.createRoom("other", colour="red"), TypeError)
        await self.assertFailure(running.createRoom("hall"), ValueError)
        from mepserver import errors

        await self.assertFailure(running.createRoom("x@example.org"), errors.BadRequest)
        self.assertEqual(1, len(running.server.rooms))

    async def test_generateEvent(self):
        """
        A room event reaches the occupants interested in its node, as a
        headline from the bare room JID; an unknown room fails.
        """
        from mepserver import errors
        from tests.helpers import CapsClient

        running = await startServer(self)
        alice = await running.createAccount("alice")
        roomJID = await running.createRoom("lobby")
        client = await running.connectClient(alice)
        caps = CapsClient([NS_CONFERENCE_INFO + "+notify"])
        caps.answerOn(client.xmlstream)
        presence = caps.presence(to=f"{roomJID.full()}/Alice")
        presence.addElement(("http://jabber.org/protocol/muc", "x"))
        client.send(presence)
        await client.waitFor(f"/presence[@from='{roomJID.full()}/Alice']")
        await client.waitFor(caps.isQuery)
        await client.ping()

        payload = (
            f"<conference-info xmlns='{NS_CONFERENCE_INFO}'>"
            "<activity xmlns='http://jabber.org/protocol/activity'>"
            "<other/><text>Hello</text></activity></conference-info>"
        )
        itemId = await running.generateEvent("lobby", NS_CONFERENCE_INFO, payload, "first")
        self.assertEqual("first", itemId)
        notification = await client.waitFor(
            f"/message[@type='headline'][@from='{roomJID.full()}']"
        )
        self.assertEqual("first", notification.event.items.item["id"])
        await self.assertFailure(
            running.generateEvent("nowhere", NS_CONFERENCE_INFO, payload),
            errors.RoomNotFound,
        )

    async def test_joinRoom(self):
        """
        L{ConnectedClient.joinRoom} fires with the self-presence; with
        C{notify}, once the server knows the interests, even when another
        client announced the same nodes before. A refused entry fails with
        the error presence.
        """
        running = await startServer(self)
        roomJID = await running.createRoom("lobby", password="s3cret")
        clients = []
        for name in ("alice", "bob"):
            account = await running.createAccount(name)
            client = await running.connectClient(account)
            presence = await client.joinRoom(roomJID, name, notify=[NS_CONFERENCE_INFO], password="s3cret")
            self.assertEqual(f"{roomJID.full()}/{name}", presence["from"])
            clients.append(client)
        await running.generateEvent(roomJID, NS_CONFERENCE_INFO, f"<x xmlns='{NS_CONFERENCE_INFO}'/>", "one")
        for client in clients:
            await client.waitFor("/message/event/items/item[@id='one']")
        carol = await running.connectClient(await running.createAccount("carol"))
        failure = await self.assertFailure(carol.joinRoom(roomJID, "carol"), StanzaNotReceived)
        self.assertIn("not-authorized", str(failure))

    async def test_joinRoomRetry(self):
        """
        A join refused (XEP-0045 section 7.2.5, a wrong password) fails with
        its own error presence, which mirrors the join's id; a retry waits
        for the answer to its own presence, a second error or the
        self-presence, not the earlier error.
        """
        running = await startServer(self)
        roomJID = await running.createRoom("lobby", password="s3cret")
        client = await running.connectClient(await running.createAccount("alice"))
        refusals = []
        for attempt in range(2):
            error = await self.assertFailure(
                client.joinRoom(roomJID, "alice", password="wrong"), StanzaNotReceived
            )
            [refusal] = error.received
            self.assertEqual("error", refusal["type"])
            refusals.append(refusal)
        self.assertNotEqual(refusals[0]["id"], refusals[1]["id"])
        presence = await client.joinRoom(roomJID, "alice", password="s3cret")
        self.assertIsNone(presence.getAttribute("type"))
        self.assertNotIn(presence["id"], [r["id"] for r in refusals])
        self.assertEqual(client.received[-1], presence)

    async def test_joinRoomRefusedWithNotify(self):
        """
        After a refused join with C{notify}, the client no longer answers a
        disco#info query about the capabilities it announced.
        """
        running = await startServer(self)
        roomJID = await running.createRoom("lobby", membersOnly=True)
        alice = await running.createAccount("alice")
        recorder = running.record(alice)
        client = await running.connectClient(alice)
        await self.assertFailure(
            client.joinRoom(roomJID, "alice", notify=[NS_CONFERENCE_INFO]), StanzaNotReceived
        )
        join = await recorder.waitFor("/presence/c", sent=True)
        caps = next(join.elements("http://jabber.org/protocol/caps", "c"))
        query = domish.Element((None, "iq"))
        query["type"], query["to"], query["id"] = "get", client.jid.full(), "caps"
        query.addElement(("http://jabber.org/protocol/disco#info", "query"))["node"] = (
            f"{caps['node']}#{caps['ver']}"
        )
        client.send(query)
        # The query comes back before the first ping's answer; an answer to
        # it, sent on receipt, before the second's.
        await client.ping()
        await client.waitFor("/iq[@type='get'][@id='caps']")
        await client.assertNoStanzaReceived("/iq[@type='result'][@id='caps']")

    async def test_joinRoomAgain(self):
        """
        Leaving and joining again at once returns the second join's
        self-presence, neither the first one nor the unavailable
        self-presence of the leave (XEP-0045 section 7.14).
        """
        running = await startServer(self)
        roomJID = await running.createRoom("lobby")
        client = await running.connectClient(await running.createAccount("alice"))
        first = await client.joinRoom(roomJID, "alice")
        leave = domish.Element((None, "presence"))
        leave["to"], leave["type"] = f"{roomJID.full()}/alice", "unavailable"
        client.send(leave)
        second = await client.joinRoom(roomJID, "alice")
        self.assertIsNot(first, second)
        self.assertIsNone(second.getAttribute("type"))
        self.assertNotEqual(first["id"], second["id"])
        left = await client.waitFor("/presence[@type='unavailable']/x/status[@code='110']")
        self.assertLess(client.received.index(left), client.received.index(second))

    async def test_publishAsOccupant(self):
        """
        L{RunningServer.publishAsOccupant} publishes at the occupant JID as
        the occupant: its interested sessions get their own event too. An
        absent nick, an unknown room and a visitor fail.
        """
        from mepserver import errors

        running = await startServer(self)
        alice = await running.createAccount("alice")
        roomJID = await running.createRoom("lobby", owner=alice, moderated=True)
        client = await running.connectClient(alice)
        await client.joinRoom(roomJID, "Alice", notify=[NS_CONFERENCE_INFO])
        payload = domish.Element((NS_CONFERENCE_INFO, "conference-info"))
        itemId = await running.publishAsOccupant(
            jid.JID(f"{roomJID.full()}/Alice"), NS_CONFERENCE_INFO, payload, "mine"
        )
        self.assertEqual("mine", itemId)
        await client.waitFor(f"/message[@from='{roomJID.full()}/Alice']/event/items/item[@id='mine']")
        generated = await running.publishAsOccupant(f"{roomJID.full()}/Alice", NS_CONFERENCE_INFO, payload)
        self.assertTrue(generated)
        await self.assertFailure(
            running.publishAsOccupant(f"{roomJID.full()}/Nobody", NS_CONFERENCE_INFO, payload),
            errors.OccupantNotFound,
        )
        await self.assertFailure(
            running.publishAsOccupant("nowhere@conference.localhost/Alice", NS_CONFERENCE_INFO, payload),
            errors.RoomNotFound,
        )
        # A moderated room makes an unaffiliated newcomer a visitor (OQ-10).
        bob = await running.connectClient(await running.createAccount("bob"))
        await bob.joinRoom(roomJID, "Bob")
        await self.assertFailure(
            running.publishAsOccupant(f"{roomJID.full()}/Bob", NS_CONFERENCE_INFO, payload),
            errors.Forbidden,
        )

    async def test_apiURL(self):
        """
        L{RunningServer.apiURL} is the HTTP API's root on the HTTP port.
        """
        running = await startServer(self)
        self.assertEqual(f"http://127.0.0.1:{running.httpPort}/api/", running.apiURL)

    async def test_hostMetaURL(self):
        """
        L{RunningServer.hostMetaURL} is the XEP-0156 host-meta on the HTTP
        port.
        """
        running = await startServer(self)
        self.assertEqual(
            f"http://127.0.0.1:{running.httpPort}/.well-known/host-meta",
            running.hostMetaURL,
        )


class CloseTests(unittest.SynchronousTestCase):
    """
    L{ConnectedClient.close} on a peer that never closes its side.
    """

    def test_abortsAfterTimeout(self):
        """
        A connection still open L{CLOSE_TIMEOUT} seconds after C{close}
        (a TLS peer that does not answer the close, as ejabberd) is
        aborted, and the close Deferred fires once it ends; nothing is
        left scheduled.
        """
        from twisted.internet import task
        from twisted.internet.testing import StringTransport
        from twisted.words.protocols.jabber import xmlstream as jabberstream

        from mepserver.testing.client import CLOSE_TIMEOUT, ConnectedClient

        class Stubborn(StringTransport):
            aborted = False

            def loseConnection(self):
                pass

            def abortConnection(self):
                self.aborted = True
                xs.connectionLost(None)

        clock = task.Clock()
        xs = jabberstream.XmlStream(jabberstream.Authenticator())
        xs.makeConnection(Stubborn())
        client = ConnectedClient(xs, clock, jid.JID("romeo@localhost/orchard"))
        d = client.close()
        clock.advance(CLOSE_TIMEOUT - 0.1)
        self.assertNoResult(d)
        self.assertFalse(xs.transport.aborted)
        clock.advance(0.1)
        self.assertTrue(xs.transport.aborted)
        self.successResultOf(d)
        self.assertEqual([], clock.getDelayedCalls())

    def test_closedInTimeCancelsAbort(self):
        """
        A connection that closes in time is not aborted, and the abort is
        no longer scheduled.
        """
        from twisted.internet import task
        from twisted.internet.testing import StringTransport
        from twisted.words.protocols.jabber import xmlstream as jabberstream

        from mepserver.testing.client import ConnectedClient

        clock = task.Clock()
        xs = jabberstream.XmlStream(jabberstream.Authenticator())
        xs.makeConnection(StringTransport())
        client = ConnectedClient(xs, clock, jid.JID("romeo@localhost/orchard"))
        d = client.close()
        xs.connectionLost(None)
        self.successResultOf(d)
        self.assertEqual([], clock.getDelayedCalls())
