# -*- test-case-name: tests.e2e.test_c2s -*-
"""
End-to-end client-to-server tests over real TCP with real TLS and SASL,
against a server started by L{mepserver.testing.startServer}.

Two kinds of clients: Twisted's own XMPP client stack (STARTTLS with
certificate verification, SASL PLAIN over TLS) through
L{mepserver.testing.RunningServer.connectClient}, and slixmpp, an
independent client library, in a subprocess (STARTTLS, SCRAM, in-band
registration).
"""

import dataclasses
import gc

from twisted.internet import defer, endpoints, protocol, reactor, tcp
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial import unittest
from twisted.words.protocols.jabber.sasl import SASLAuthError
from twisted.words.xish import domish

from zope.interface import declarations

from mepserver.testing import startServer
from tests.e2e.slixchecks import (
    checkBlockingReport,
    checkCarbonsReport,
    checkClientReport,
    checkRemovalReport,
    checkResumptionReport,
)
from tests.e2e.slixrun import createAccounts, registrationSettings, runScenario, serverSettings

NS_STREAMS = "http://etherx.jabber.org/streams"


class RawClient(protocol.Protocol):
    """
    Write bytes, collect what comes back until the server closes.
    """

    def __init__(self):
        self.data = b""
        self.closed = defer.Deferred()
        self._waiting = []

    def dataReceived(self, data):
        self.data += data
        waiting, self._waiting = self._waiting, []
        for marker, d in waiting:
            if marker in self.data:
                d.callback(self.data)
            else:
                self._waiting.append((marker, d))

    def waitFor(self, marker):
        """
        @return: a Deferred firing once C{marker} was received.
        """
        if marker in self.data:
            return defer.succeed(self.data)
        d = defer.Deferred()
        self._waiting.append((marker, d))
        return d

    def connectionLost(self, reason):
        self.closed.callback(self.data)


async def rawExchange(running, data):
    """
    Send raw bytes to the C2S port and return all the server wrote back.
    """
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", running.c2sPort)
    raw = await endpoints.connectProtocol(endpoint, RawClient())
    raw.transport.write(data)
    return await raw.closed


HEADER = (
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' "
    "version='1.0'>"
)


def serverNoDelay(clientTransport):
    """
    @param clientTransport: the client's end of a TCP connection to an
        in-process server (a TLS transport on it will do).
    @return: whether the server's end of that connection, found among the
        reactor's sockets by the client's port, has C{TCP_NODELAY} set.
    """
    port = clientTransport.getHost().port
    [accepted] = {
        s
        for s in reactor.getReaders() + reactor.getWriters()
        if isinstance(s, tcp.Server) and s.getPeer().port == port
    }
    return bool(accepted.getTcpNoDelay())


class TwistedClientTests(unittest.TestCase):
    """
    Twisted's XMPP client over TCP with STARTTLS and SASL.
    """

    timeout = 60

    async def test_loginPingMessage(self):
        """
        Two clients log in over verified TLS; one pings the server (XEP-0199),
        asks its version (XEP-0092) and disco#info (XEP-0030), gets
        service-unavailable for an IQ to nobody, then messages the other.
        """
        running = await startServer(self)
        juliet = await running.createAccount("juliet", "r0m30")
        romeo = await running.createAccount("romeo", "j")
        a = await running.connectClient(juliet, "balcony")
        b = await running.connectClient(romeo, "orchard")
        self.assertEqual("juliet@localhost/balcony", a.jid.full())
        self.assertTrue(a.xmlstream.transport.TLS)

        ping = domish.Element((None, "iq"))
        ping["type"], ping["to"] = "get", "localhost"
        ping.addElement(("urn:xmpp:ping", "ping"))
        result = await a.request(ping)
        self.assertEqual(("result", "localhost"), (result["type"], result["from"]))

        version = domish.Element((None, "iq"))
        version["type"], version["to"] = "get", "localhost"
        version.addElement(("jabber:iq:version", "query"))
        result = await a.request(version)
        [name] = result.query.elements("jabber:iq:version", "name")
        self.assertEqual("mepserver", str(name))

        info = domish.Element((None, "iq"))
        info["type"], info["to"] = "get", "localhost"
        info.addElement(("http://jabber.org/protocol/disco#info", "query"))
        result = await a.request(info)
        identities = [
            (e["category"], e["type"])
            for e in result.query.elements("http://jabber.org/protocol/disco#info", "identity")
        ]
        self.assertIn(("server", "im"), identities)
        features = {
            e["var"]
            for e in result.query.elements("http://jabber.org/protocol/disco#info", "feature")
        }
        for feature in ("urn:xmpp:ping", "jabber:iq:version", "jabber:iq:register"):
            self.assertIn(feature, features)

        iqToNobody = domish.Element((None, "iq"))
        iqToNobody["type"], iqToNobody["to"] = "get", "romeo@localhost/nowhere"
        iqToNobody.addElement(("jabber:iq:version", "query"))
        result = await a.request(iqToNobody)
        self.assertEqual("error", result["type"])
        self.assertEqual("service-unavailable", result.error.firstChildElement().name)

        for c in (a, b):
            c.send(domish.Element((None, "presence")))
            # The server reflects initial presence to the sender (RFC 6121
            # 4.2.2): once it is back, the session is available.
            await c.waitFor("/presence")
        message = domish.Element((None, "message"))
        message["to"], message["type"] = "romeo@localhost", "chat"
        message.addElement("body", content="wherefore art thou")
        a.send(message)
        received = await b.waitFor("/message")
        self.assertEqual("juliet@localhost/balcony", received["from"])
        self.assertEqual("wherefore art thou", str(received.body))

    async def test_noDelay(self):
        """
        The server sends each write of a client connection at once
        (C{TCP_NODELAY}, see L{mepserver.c2s.stream.disableNagle}), from
        the start and so after STARTTLS; the client's own end keeps
        Twisted's default, so the check tells the two apart.
        """
        running = await startServer(self)
        juliet = await running.createAccount("juliet", "r0m30")
        client = await running.connectClient(juliet, "balcony")
        transport = client.xmlstream.transport
        self.assertTrue(transport.TLS)
        self.assertTrue(serverNoDelay(transport))
        self.assertFalse(transport.getTcpNoDelay())

    async def test_startTLSDeclarationsKept(self):
        """
        A STARTTLS makes no new interface declaration for the server's TCP
        transport or Twisted's TLS protocol
        (L{mepserver.c2s.tls.TLS_DECLARATIONS} keeps them), even after the
        connection that used them last closed and the garbage collector
        ran.
        """
        running = await startServer(self)
        juliet = await running.createAccount("juliet", "r0m30")
        first = await running.connectClient(juliet, "first")
        await first.close()
        made = []
        original = declarations.ProvidesClass.__init__

        def init(spec, *args):
            made.append(args)
            original(spec, *args)

        self.patch(declarations.ProvidesClass, "__init__", init)
        gc.collect()
        client = await running.connectClient(juliet, "second")
        self.assertTrue(client.xmlstream.transport.TLS)
        self.assertEqual(
            [], [args for args in made if args[0] in (TLSMemoryBIOFactory.protocol, tcp.Server)]
        )

    async def test_wrongPassword(self):
        """
        A wrong password fails authentication with not-authorized.
        """
        running = await startServer(self)
        juliet = await running.createAccount("juliet", "r0m30")

        failure = await self.assertFailure(
            running.connectClient(dataclasses.replace(juliet, password="wrong"), "x"),
            SASLAuthError,
        )
        self.assertEqual("not-authorized", failure.condition)


class BadInputTests(unittest.TestCase):
    """
    Bad input closes only the offending stream, with the right error.
    """

    timeout = 60

    async def assertStreamError(self, running, data, condition):
        reply = (await rawExchange(running, data)).decode("utf-8", "replace")
        self.assertIn(f"<{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", reply)
        self.assertTrue(reply.endswith("</stream:stream>"), reply)

    async def test_badInputLeavesOthersServed(self):
        """
        Garbage, a DTD, an oversized stanza and a stanza before
        authentication each get their stream error, while a logged-in client
        keeps being served.
        """
        running = await startServer(self, maxStanzaSize=4096)
        account = await running.createAccount("juliet", "r0m30")
        survivor = await running.connectClient(account, "r")

        await self.assertStreamError(running, b"\x16\x03\x01garbage\xff", "not-well-formed")
        await self.assertStreamError(
            running,
            b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>",
            "restricted-xml",
        )
        await self.assertStreamError(
            running,
            (HEADER + "<message><body>" + "x" * 8000).encode(),
            "policy-violation",
        )
        await self.assertStreamError(
            running,
            (HEADER + "<message to='juliet@localhost'><body>hi</body></message>").encode(),
            "not-authorized",
        )

        ping = domish.Element((None, "iq"))
        ping["type"], ping["to"] = "get", "localhost"
        ping.addElement(("urn:xmpp:ping", "ping"))
        result = await survivor.request(ping)
        self.assertEqual("result", result["type"])


class SlixmppTests(unittest.TestCase):
    """
    Interoperability with slixmpp, an independent client library.
    """

    timeout = 120
    storage = "memory"

    async def test_scenario(self):
        """
        slixmpp registers in-band over STARTTLS, authenticates with SCRAM,
        binds, gets its roster, sends its client state (XEP-0352), pings
        the server, pings a second client's
        full JID and gets that client's software version (not the
        server's), messages it and subscribes to its presence.
        """
        running = await startServer(self, storage=self.storage)
        settings = await registrationSettings(running)
        report = await runScenario(self, "slixclient.py", settings)
        checkClientReport(self, report, "SCRAM-SHA-256", "mepserver")
        users = await running.server.users.listUsers()
        self.assertEqual(["alice", "bob"], users)


class SlixmppRemovalTests(unittest.TestCase):
    """
    Cancelling a registration (XEP-0077 section 3.2) with slixmpp, on
    SQLite, where the account's PEP nodes and data are on disk.
    """

    timeout = 120

    async def test_removal(self):
        """
        slixmpp registers alice in-band, befriends bob, publishes a tune,
        stores private XML and blocks carol; alice cancels her
        registration: bob is unsubscribed both ways, and alice, registered
        again, starts with nothing (L{checkRemovalReport}).
        """
        running = await startServer(self, storage="sqlite")
        settings = await registrationSettings(running)
        report = await runScenario(self, "slixremove.py", settings)
        checkRemovalReport(self, report)


class SlixmppSQLiteTests(SlixmppTests):
    """
    The same scenario on the default storage, SQLite, where every roster
    and account operation goes through the database thread.
    """

    storage = "sqlite"


class SlixmppCarbonsTests(unittest.TestCase):
    """
    Message Carbons (XEP-0280) with slixmpp's own plugin, xep_0280.
    """

    timeout = 120

    async def test_carbons(self):
        """
        romeo's garden and home enable carbons; a chat from juliet to garden
        reaches garden and, as a received carbon, home; garden's reply
        reaches juliet and, as a sent carbon, home. The carbons come from
        romeo's bare JID and forward the messages as sent, and nothing else
        arrives: garden gets no copy of its own message.
        """
        running = await startServer(self, storage="memory")
        accounts = await createAccounts(running, ["romeo", "juliet"])
        report = await runScenario(
            self, "slixcarbons.py", serverSettings(running, accounts=accounts)
        )
        checkCarbonsReport(self, report)


class SlixmppBlockingTests(unittest.TestCase):
    """
    The Blocking Command (XEP-0191) with slixmpp's xep_0191 plugin.
    """

    timeout = 120

    async def test_blocking(self):
        """
        alice blocks bob: his message comes back to him as
        service-unavailable and never reaches her (carol's, sent after the
        refusal, does); hers to him comes back as not-acceptable with
        <blocked/>; the list and its pushes say so; after she unblocks him,
        his message arrives.
        """
        running = await startServer(self)
        accounts = await createAccounts(running, ["alice", "bob", "carol"])
        report = await runScenario(
            self, "slixblock.py", serverSettings(running, accounts=accounts)
        )
        checkBlockingReport(self, report)


def untilNoSessions(testCase, sessions):
    """
    @return: a L{defer.Deferred} that fires once C{sessions} (a
        L{mepserver.c2s.sessions.SessionManager}) has no bound session,
        at once if it has none now.
    """
    if not sessions.allSessions():
        return defer.succeed(None)
    empty = defer.Deferred()
    unbind = sessions.unbind

    def unbindThenCheck(session):
        unbind(session)
        if not sessions.allSessions() and not empty.called:
            empty.callback(None)

    testCase.patch(sessions, "unbind", unbindThenCheck)
    return empty


class SlixmppStreamManagementTests(unittest.TestCase):
    """
    XEP-0198 resumption with slixmpp's own stream management plugin.
    """

    timeout = 120

    async def test_resumption(self):
        """
        slixmpp enables stream management with resumption; its TCP
        connection is killed; a message sent to it meanwhile waits on the
        hibernating session; slixmpp reconnects, resumes (no new session,
        the same full JID) and gets the message; its clean disconnect
        then ends the session.
        """
        running = await startServer(self, storage="memory")
        accounts = await createAccounts(running, ["alice", "bob"])
        report = await runScenario(self, "slixsm.py", serverSettings(running, accounts=accounts))
        checkResumptionReport(self, report)
        # slixmpp may report before the server has read the end of its
        # stream: wait for the last session to end, not for a time.
        await untilNoSessions(self, running.server.sessions)
        self.assertEqual([], running.server.sessions.allSessions())
        self.assertEqual({}, running.server.streamManagement.resumable)
