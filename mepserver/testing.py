# -*- test-case-name: tests.e2e.test_c2s -*-
"""
Run mepserver inside a test suite: in-process, on ephemeral ports.

    from mepserver.testing import startServer

    class MyTests(unittest.TestCase):
        async def test_login(self):
            running = await startServer(self)
            alice = await running.createAccount("alice", "secret")
            # connect a client to 127.0.0.1:running.c2sPort, trusting
            # running.certificatePath for the domain running.domain

L{startServer} listens on 127.0.0.1 only, uses memory storage and a
certificate generated into a temporary directory, and stops everything
(ports, sessions, stores) when the test ends, so trial's dirty-reactor
check stays meaningful.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import tempfile

from twisted.internet import defer, endpoints
from twisted.words.protocols.jabber import jid

from mepserver import config as configModule
from mepserver.c2s.mechanisms import makeCredentials
from mepserver.server import Server, buildServer


@dataclasses.dataclass
class Account:
    """
    An account created for a test.

    @ivar jid: the account's bare JID.
    """

    jid: jid.JID
    password: str

    @property
    def username(self):
        return self.jid.user


class RunningServer:
    """
    A started in-process server and what a client needs to reach it.

    @ivar server: the L{Server}.
    @ivar domain: the client domain.
    @ivar mucDomain: the MUC service's domain.
    @ivar c2sPort: the client-to-server TCP port on 127.0.0.1 (STARTTLS).
    @ivar httpPort: the HTTP port: WebSocket at C{/xmpp-websocket}.
    @ivar certificatePath: the PEM certificate a client should trust.
    """

    def __init__(self, server: Server, ports, temporaryDataDir=False):
        self.server = server
        self._temporaryDataDir = temporaryDataDir
        self._ports = ports
        self.domain = server.config.domain
        self.mucDomain = server.config.mucDomain
        self.c2sPort = ports[0].getHost().port
        self.httpPort = ports[1].getHost().port
        self.certificatePath = server.certificatePath

    @property
    def webSocketURL(self):
        """
        @return: the C{ws://} URL of the RFC 7395 endpoint.
        """
        return f"ws://127.0.0.1:{self.httpPort}/xmpp-websocket"

    async def createAccount(self, username=None, password=None) -> Account:
        """
        Create an account, with a generated username or password if none.
        """
        username = username or "user-" + secrets.token_hex(4)
        password = password or secrets.token_urlsafe(12)
        await self.server.users.createUser(username, makeCredentials(password))
        return Account(jid.JID(tuple=(username, self.domain, None)), password)

    async def stop(self):
        """
        Close every client stream and port, then stop the server.
        """
        await defer.gatherResults(
            [defer.maybeDeferred(p.stopListening) for p in self._ports]
        )
        await self.server.stopService()
        if self._temporaryDataDir:
            shutil.rmtree(self.server.config.dataDir, ignore_errors=True)


async def startServer(testCase=None, reactor=None, **settings) -> RunningServer:
    """
    Build and start a server on ephemeral loopback ports.

    @param testCase: a trial C{TestCase}; if given, the server stops in
        its cleanup.
    @param settings: L{mepserver.config.Config} fields to change, e.g.
        C{domain="example.org"} or C{anonymous=True}.
    """
    if reactor is None:
        from twisted.internet import reactor
    settings.setdefault("storage", "memory")
    settings.setdefault("c2sListen", "tcp:0:interface=127.0.0.1")
    settings.setdefault("httpListen", "tcp:0:interface=127.0.0.1")
    temporary = "dataDir" not in settings
    if temporary:
        settings["dataDir"] = tempfile.mkdtemp(prefix="mepserver-test-")
    config = configModule.load(overrides=settings)
    server = buildServer(config)
    server.startService()
    ports = []
    try:
        for description, factory in server.listeners:
            endpoint = endpoints.serverFromString(reactor, description)
            ports.append(await endpoint.listen(factory))
        await server.ready
    except BaseException:
        for port in ports:
            await port.stopListening()
        await server.stopService()
        raise
    running = RunningServer(server, ports, temporary)
    if testCase is not None:
        testCase.addCleanup(lambda: defer.ensureDeferred(running.stop()))
    return running
