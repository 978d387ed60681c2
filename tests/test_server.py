# -*- test-case-name: tests.test_server -*-
"""
Tests for L{mepserver.server}: wiring, start-up, shutdown, durability.
"""

import base64
import os

from twisted.internet import defer, endpoints, reactor, task
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial import unittest
from twisted.words.protocols.jabber import jid

from mepserver import config
from mepserver.c2s.mechanisms import checkPassword, makeCredentials
from mepserver.c2s.register import NS_REGISTER_FEATURE
from mepserver.c2s.stream import WriteGatherer
from mepserver.interfaces import ArchiveQuery
from mepserver.server import buildServer
from mepserver.testing import startServer
from tests.e2e.test_c2s import HEADER, RawClient

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


class BuildServerTests(unittest.TestCase):
    """
    L{buildServer} wires the server and opens nothing.
    """

    def makeConfig(self, **settings):
        settings.setdefault("dataDir", self.mktemp())
        return config.load(overrides=settings)

    def test_listeners(self):
        """
        The listeners are the configured C2S, HTTP and direct TLS endpoints;
        the server is not started and no socket is open.
        """
        cfg = self.makeConfig(storage="memory")
        server = buildServer(cfg)
        self.assertEqual(
            [cfg.c2sListen, cfg.httpListen, cfg.directTLSListen],
            [d for d, _ in server.listeners],
        )
        self.assertFalse(server.running)
        self.assertEqual(0, len(server.streams))

    def test_writeGatherer(self):
        """
        Under the real reactor the client streams' writes wait for the end
        of its pass (L{WriteGatherer}); under a test's clock, which has no
        passes, they do not.
        """
        server = buildServer(self.makeConfig(storage="memory"))
        self.assertIsInstance(server.streams.gatherer, WriteGatherer)
        self.assertIs(reactor, server.streams.gatherer.reactor)
        server = buildServer(self.makeConfig(storage="memory"), clock=task.Clock())
        self.assertIsNone(server.streams.gatherer)

    def test_directTLSListener(self):
        """
        The direct TLS listener (XEP-0368) wraps the C2S listener's factory
        in TLS; with C{directTLSListen="off"} there is none.
        """
        server = buildServer(self.makeConfig(storage="memory"))
        (_, c2s), _, (_, directTLS) = server.listeners
        self.assertIsInstance(directTLS, TLSMemoryBIOFactory)
        self.assertIs(c2s, directTLS.wrappedFactory)

        cfg = self.makeConfig(storage="memory", directTLSListen="off")
        server = buildServer(cfg)
        self.assertEqual(
            [cfg.c2sListen, cfg.httpListen], [d for d, _ in server.listeners]
        )

    def test_certificateReused(self):
        """
        The self-signed certificate is generated once into the data dir and
        reused by the next start.
        """
        cfg = self.makeConfig(storage="memory")
        first = buildServer(cfg)
        self.assertTrue(os.path.exists(first.certificatePath))
        self.assertTrue(first.certificatePath.startswith(cfg.dataDir))
        second = buildServer(cfg)
        self.assertEqual(
            first.certificate.getPublicKey().keyHash(),
            second.certificate.getPublicKey().keyHash(),
        )

    @defer.inlineCallbacks
    def test_provisionedUsers(self):
        """
        [users] accounts are created at start, and their password reset if
        they exist.
        """
        cfg = self.makeConfig(storage="memory", users={"alice": "one"})
        server = buildServer(cfg)
        yield server.users.createUser("alice", makeCredentials("old"))
        server.startService()
        yield server.ready
        credentials = yield server.users.getCredentials("alice")
        self.assertTrue(checkPassword(credentials, "one"))
        yield server.stopService()

    def test_loginWaitsForReady(self):
        """
        The credentials SASL asks for wait until the server is ready (its
        [users] provisioned): a client connecting at once finds its
        account, not an unknown user.
        """
        cfg = self.makeConfig(storage="memory")
        server = buildServer(cfg)
        server.ready = defer.Deferred()
        d = server.getCredentials("alice")
        self.assertNoResult(d)
        server.users.createUser("alice", makeCredentials("one"))
        server.ready.callback(None)
        self.assertTrue(checkPassword(self.successResultOf(d), "one"))
        # Once ready, at once; ready's own result is left alone.
        self.assertIsNone(self.successResultOf(server.ready))
        self.assertIsNone(self.successResultOf(server.getCredentials("bob")))

    @defer.inlineCallbacks
    def test_storageSynchronous(self):
        """
        C{[storage] synchronous} reaches the SQLite store's connection.
        """

        def synchronous(cursor):
            cursor.execute("PRAGMA synchronous")
            return cursor.fetchone()[0]

        for setting, value in [("normal", 1), ("full", 2)]:
            server = buildServer(
                self.makeConfig(storage="sqlite", storageSynchronous=setting)
            )
            server.startService()
            yield server.ready
            found = yield server.users._pool.runInteraction(synchronous)
            yield server.stopService()
            self.assertEqual(value, found)

    @defer.inlineCallbacks
    def test_accountsSurviveRestart(self):
        """
        With SQLite storage, accounts and rosters survive a restart.
        """
        from mepserver.interfaces import RosterItem

        cfg = self.makeConfig(storage="sqlite")
        server = buildServer(cfg)
        server.startService()
        yield server.ready
        yield server.users.createUser("bob", makeCredentials("b"))
        yield server.users.setRosterItem(
            "bob", RosterItem(jid.JID("alice@localhost"), "Alice", "both")
        )
        yield server.stopService()

        server = buildServer(cfg)
        server.startService()
        yield server.ready
        credentials = yield server.users.getCredentials("bob")
        roster = yield server.users.getRoster("bob")
        yield server.stopService()
        self.assertTrue(checkPassword(credentials, "b"))
        self.assertEqual([("alice@localhost", "both")], [(i.contact.full(), i.subscription) for i in roster])


class ArchiveWiringTests(unittest.TestCase):
    """
    Message archives (XEP-0313): the store, the settings and the expiry
    timer follow the storage backend and the server's life.
    """

    def makeConfig(self, **settings):
        settings.setdefault("dataDir", self.mktemp())
        return config.load(overrides=settings)

    def test_stores(self):
        """
        With SQLite the archives are in the one SQLite store; with memory
        storage in a L{MemoryArchiveStore}, which a reset empties. The
        [archive] settings reach the archives.
        """
        from mepserver.storage.memory import MemoryArchiveStore
        from mepserver.storage.sqlite import SQLiteStore

        server = buildServer(self.makeConfig(storage="sqlite"))
        # The pool would start with the reactor, and never stop.
        self.addCleanup(server.archiveStore.close)
        self.assertIsInstance(server.archiveStore, SQLiteStore)
        self.assertIs(server.users, server.archiveStore)
        self.assertEqual(1, server._stores().count(server.archiveStore))
        server = buildServer(
            self.makeConfig(
                storage="memory",
                archiveMaxMessages=7,
                archiveRetention="2h",
                archivePageSize=3,
                archiveMaxPageSize=9,
            )
        )
        self.assertIsInstance(server.archiveStore, MemoryArchiveStore)
        self.assertIn(server.archiveStore, server._stores())
        archives = server.archives
        self.assertIs(server.archiveStore, archives.store)
        self.assertEqual(
            (7, 7200, 3, 9),
            (archives.limit, archives.retention, archives.limits.default, archives.limits.maximum),
        )

    @defer.inlineCallbacks
    def test_expiryTimer(self):
        """
        A SQLite server's expiry timer runs from the start (archives from
        an earlier run may hold old messages) and stops with the server;
        a memory server's only once something is archived, and a reset
        stops it.
        """
        from twisted.internet import task

        from mepserver.interfaces import ArchivedMessage

        clock = task.Clock()
        server = buildServer(self.makeConfig(storage="sqlite"), clock=clock)
        server.startService()
        yield server.ready
        self.assertEqual(1, len(clock.getDelayedCalls()))
        yield server.stopService()
        self.assertEqual([], clock.getDelayedCalls())

        server = buildServer(self.makeConfig(storage="memory"), clock=clock)
        server.startService()
        yield server.ready
        self.assertEqual([], clock.getDelayedCalls())
        entry = ArchivedMessage("m1", 0.0, "bob@localhost", "<message/>")
        yield server.archives.add("alice", entry)
        self.assertEqual(1, len(clock.getDelayedCalls()))
        yield server.reset()
        self.assertEqual([], clock.getDelayedCalls())
        page = yield server.archiveStore.queryArchive("alice@localhost", ArchiveQuery())
        self.assertEqual((), page.messages)
        yield server.stopService()


class ShutdownTests(unittest.TestCase):
    """
    Stopping the server closes client streams with system-shutdown.
    """

    timeout = 30

    async def test_systemShutdown(self):
        running = await startServer()
        endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", running.c2sPort)
        raw = await endpoints.connectProtocol(endpoint, RawClient())
        raw.transport.write(HEADER.encode())
        await raw.waitFor(b"</stream:features>")
        await running.stop()
        data = (await raw.closed).decode()
        self.assertIn("<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", data)


class MUCWiringTests(unittest.TestCase):
    """
    The MUC component: its route, and persistent rooms across restarts.
    """

    def makeConfig(self, **settings):
        settings.setdefault("dataDir", self.mktemp())
        return config.load(overrides=settings)

    @defer.inlineCallbacks
    def test_route(self):
        """
        Once started, the router has a route for the MUC domain.
        """
        server = buildServer(self.makeConfig(storage="memory"))
        server.startService()
        yield server.ready
        self.assertIn("conference.localhost", server.router.routes)
        yield server.stopService()
        self.assertNotIn("conference.localhost", server.router.routes)

    @defer.inlineCallbacks
    def test_roomsSurviveRestart(self):
        """
        With SQLite storage, a persistent room comes back after a restart
        with its configuration and affiliations, unlocked; a temporary one
        does not.
        """
        cfg = self.makeConfig(storage="sqlite")
        owner = jid.JID("alice@localhost/home")
        server = buildServer(cfg)
        server.startService()
        yield server.ready
        room = server.rooms.create(jid.JID("coven@conference.localhost"), owner)
        room.configure(owner, {
            "muc#roomconfig_persistentroom": ["1"],
            "muc#roomconfig_roomname": ["A Dark Cave"],
        })
        yield server.rooms.save(room)
        server.rooms.create(jid.JID("heath@conference.localhost"), owner)
        yield server.stopService()

        server = buildServer(cfg)
        server.startService()
        yield server.ready
        loaded = server.rooms.get(jid.JID("coven@conference.localhost"))
        yield server.stopService()
        self.assertEqual("A Dark Cave", loaded.config.name)
        self.assertEqual("owner", loaded.affiliationOf(owner).value)
        self.assertFalse(loaded.locked)
        self.assertIsNone(server.rooms.get(jid.JID("heath@conference.localhost")))


class WebSocketEncryptionTests(unittest.TestCase):
    """
    WebSocket logins (RFC 7395) follow C{[c2s] require_encryption} as TCP
    logins do: beyond loopback (or when required), a stream that did not
    come over TLS (C{wss:}) is offered neither SASL nor registration, and
    a try gets C{encryption-required} or C{policy-violation}.
    """

    def connect(self, secure=False, **settings):
        """
        A WebSocket connection to the server's own endpoint resource, as a
        client with a C{ws:} (or, if C{secure}, C{wss:}) URL reaches it.

        @return: the connection and the stream features after <open/>.
        """
        from tests.test_websocket import OPEN, Connection

        settings.setdefault("dataDir", self.mktemp())
        cfg = config.load(overrides=dict(storage="memory", domain="example.com", **settings))
        server = buildServer(cfg, clock=task.Clock())
        self.successResultOf(server.users.createUser("juliet", makeCredentials("secret", 4096)))
        site = dict(server.listeners)[cfg.httpListen]
        endpoint = site.resource.children[b"xmpp-websocket"]
        connection = Connection(endpoint.authenticatorFactory(), secure=secure)
        [header, features] = connection.sendParsed(OPEN)
        self.server = server
        return connection, [child.tag for child in features]

    def login(self, connection):
        """
        @return: the answer to a SASL PLAIN login as juliet.
        """
        token = base64.b64encode(b"\0juliet\0secret").decode("ascii")
        [answer] = connection.sendParsed(
            f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>"
        )
        return answer

    def register(self, connection):
        [answer] = connection.sendParsed(
            "<iq xmlns='jabber:client' type='set' id='r1'>"
            "<query xmlns='jabber:iq:register'><username>bill</username>"
            "<password>Calliope</password></query></iq>"
        )
        return answer

    def assertRefused(self, connection, features):
        self.assertEqual([], features)
        failure = self.login(connection)
        self.assertEqual(f"{{{NS_SASL}}}failure", failure.tag)
        self.assertEqual(
            [f"{{{NS_SASL}}}encryption-required", f"{{{NS_SASL}}}text"],
            [child.tag for child in failure],
        )
        self.assertIn("wss://", failure.find(f"{{{NS_SASL}}}text").text)
        answer = self.register(connection)
        self.assertEqual("error", answer.get("type"))
        self.assertIsNotNone(
            answer.find(
                "{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}policy-violation"
            )
        )
        self.assertEqual(["juliet"], self.successResultOf(self.server.users.listUsers()))

    def assertOffered(self, connection, features):
        self.assertEqual(
            [f"{{{NS_REGISTER_FEATURE}}}register", f"{{{NS_SASL}}}mechanisms"], features
        )
        self.assertEqual(f"{{{NS_SASL}}}success", self.login(connection).tag)

    def test_beyondLoopback(self):
        """
        An HTTP listener beyond loopback: a C{ws:} stream may not
        authenticate or register; a C{wss:} stream may.
        """
        settings = {"httpListen": "tcp:0:interface=0.0.0.0", "apiToken": "t"}
        self.assertRefused(*self.connect(**settings))
        self.assertOffered(*self.connect(secure=True, **settings))

    def test_loopback(self):
        """
        On loopback (the default), a C{ws:} stream authenticates, as a TCP
        stream does without STARTTLS (DESIGN.md section 3).
        """
        self.assertOffered(*self.connect())

    def test_setting(self):
        """
        An explicit C{require_encryption} decides, wherever the listener.
        """
        self.assertRefused(*self.connect(requireEncryption="yes"))
        self.assertOffered(
            *self.connect(
                requireEncryption="no", httpListen="tcp:0:interface=0.0.0.0", apiToken="t"
            )
        )
