# -*- test-case-name: tests.e2e.test_prosody -*-
"""
A real Prosody, the reference server, started for one test: the same
scenarios that judge mepserver run against it (L{tests.e2e.test_prosody}).

L{startProsody} writes a configuration into a temporary directory (one
virtual host, C{localhost}, and a MUC component, C{conference.localhost};
client connections on 127.0.0.1 only, STARTTLS required; the data, the
pid file and the log in that directory), gives Prosody a certificate made
by mepserver's own L{loadOrCreateCertificate}, so that the scenarios'
C{cafile} is the one they trust for mepserver, and runs C{prosody -F} as a
child process of the reactor. A L{RunningProsody} has the attributes of a
L{mepserver.testing.RunningServer} that L{tests.e2e.slixrun.serverSettings}
reads, and C{createAccount} and C{connectClient} like it.
"""

import os
import shutil
import socket

from twisted.internet import defer, endpoints, error, protocol, ssl, task, utils
from twisted.trial import unittest
from twisted.words.protocols.jabber import client, jid, xmlstream

from mepserver.c2s.tls import loadOrCreateCertificate
from mepserver.testing.client import Account, ConnectedClient

#: How often, and how long apart (seconds), L{startProsody} tries to
#: connect before giving up: a bound on a loop, not a timing assertion.
CONNECT_ATTEMPTS = 500
CONNECT_INTERVAL = 0.02

#: The modules to load besides those Prosody always loads (c2s, presence,
#: message, iq); offline is one of its defaults, listed all the same.
MODULES = (
    "roster",
    "saslauth",
    "tls",
    "disco",
    "ping",
    "version",
    "register",
    "carbons",
    "blocklist",
    "offline",
    "smacks",
    "csi_simple",
    "pep",
)

CONFIG = """\
-- Written by tests/e2e/prosody.py for one test.
run_as_root = true
prosody_user = {user}
pidfile = {pidfile}
data_path = {data}
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = {log} }} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
modules_enabled = {{ {modules} }}
modules_disabled = {{ "s2s" }}
allow_registration = true
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
certificates = {certificates}
ssl = {{ certificate = {certificate}, key = {key} }}

VirtualHost "localhost"

Component "conference.localhost" "muc"
"""


def _lua(text):
    """
    A Lua string literal for C{text}.
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pickPort():
    """
    A TCP port on 127.0.0.1 that was free a moment ago: bound with port 0,
    then released for Prosody, whose configuration needs a number.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _ProsodyProcess(protocol.ProcessProtocol):
    """
    Collect what Prosody writes and fire L{ended} when it exits.
    """

    def __init__(self):
        self.output = b""
        self.ended = defer.Deferred()
        self.exited = False

    def outReceived(self, data):
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason):
        self.exited = True
        self.ended.callback(reason.value)


class RunningProsody:
    """
    A started Prosody and what a client needs to reach it.

    @ivar domain: its virtual host, C{localhost}.
    @ivar mucDomain: its MUC component, C{conference.localhost}.
    @ivar c2sPort: its client port on 127.0.0.1 (STARTTLS, required).
    @ivar certificatePath: the PEM certificate a client should trust.
    @ivar directory: the temporary directory of its configuration, data
        and log.
    """

    domain = "localhost"
    mucDomain = "conference.localhost"

    def __init__(self, reactor, directory, configPath, c2sPort, certificatePath):
        self.reactor = reactor
        self.directory = directory
        self.configPath = configPath
        self.c2sPort = c2sPort
        self.certificatePath = certificatePath
        self.logPath = os.path.join(directory, "prosody.log")
        self._process = None
        self._clients = []
        self._tlsOptions = None

    def log(self, last=4000):
        """
        @return: the end of Prosody's log, for failure messages.
        """
        try:
            with open(self.logPath, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        output = self._process.output if self._process else b""
        return (output + data)[-last:].decode("utf-8", "replace")

    async def createAccount(self, username, password):
        """
        Register C{username@localhost} with C{prosodyctl register}.

        @return: its L{Account}.
        """
        out, err, code = await utils.getProcessOutputAndValue(
            shutil.which("prosodyctl"),
            ["--config", self.configPath, "register", username, self.domain, password],
            env=os.environ,
            reactor=self.reactor,
        )
        if code != 0:
            raise RuntimeError(
                f"prosodyctl register {username} failed ({code}): {out!r} {err!r}"
            )
        return Account(jid.JID(f"{username}@{self.domain}"), password)

    def _clientTLSOptions(self):
        if self._tlsOptions is None:
            with open(self.certificatePath, "rb") as f:
                trustRoot = ssl.Certificate.loadPEM(f.read())
            self._tlsOptions = ssl.optionsForClientTLS(self.domain, trustRoot=trustRoot)
        return self._tlsOptions

    async def connectClient(self, account, resource=None):
        """
        Log Twisted's XMPP client in, as
        L{mepserver.testing.RunningServer.connectClient} does: STARTTLS
        verifying the certificate, SASL, resource binding.

        @return: a L{ConnectedClient}, closed by L{stop}.
        """
        address = jid.JID(tuple=(account.jid.user, account.jid.host, resource))
        factory = client.XMPPClientFactory(
            address, account.password, configurationForTLS=self._clientTLSOptions()
        )
        done = defer.Deferred()

        def authenticated(xs):
            if not done.called:
                done.callback(xs)

        def failed(reason):
            if not done.called:
                done.errback(reason)

        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, authenticated)
        factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, failed)
        factory.addBootstrap(xmlstream.STREAM_END_EVENT, failed)
        endpoint = endpoints.TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.c2sPort)
        xs = await endpoint.connect(factory)
        try:
            await done
        except BaseException:
            if xs.transport is not None:
                xs.transport.loseConnection()
            raise
        connected = ConnectedClient(xs, self.reactor)
        self._clients.append(connected)
        return connected

    async def _waitForPort(self):
        """
        Connect until Prosody accepts, a bounded number of times, each retry
        a C{callLater} of the reactor; fail at once if Prosody exited.
        """
        endpoint = endpoints.TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.c2sPort)
        for _ in range(CONNECT_ATTEMPTS):
            if self._process.exited:
                break
            try:
                probe = await endpoint.connect(
                    protocol.Factory.forProtocol(protocol.Protocol)
                )
            except error.ConnectError:
                await task.deferLater(self.reactor, CONNECT_INTERVAL, lambda: None)
                continue
            probe.transport.abortConnection()
            return
        raise RuntimeError(
            f"Prosody did not accept connections on port {self.c2sPort}:\n{self.log()}"
        )

    async def stop(self):
        """
        Close the clients, send Prosody SIGTERM and wait for it to exit.
        """
        for c in self._clients:
            await c.close()
        self._clients = []
        process = self._process
        if process is None or process.exited:
            return
        try:
            process.transport.signalProcess("TERM")
        except error.ProcessExitedAlready:
            pass
        await process.ended


def skipUnlessProsody():
    """
    Raise L{unittest.SkipTest} unless Prosody and prosodyctl are installed.
    """
    for program in ("prosody", "prosodyctl"):
        if shutil.which(program) is None:
            raise unittest.SkipTest(
                f"{program} is not installed (apt-get install prosody): the "
                "Prosody reference tier needs a real Prosody"
            )


async def startProsody(testCase, reactor=None):
    """
    Start a Prosody for C{testCase}, stopped in its cleanup.

    @raise unittest.SkipTest: if Prosody is not installed.
    @return: the L{RunningProsody} once it accepts connections.
    """
    skipUnlessProsody()
    if reactor is None:
        from twisted.internet import reactor
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(os.path.join(directory, "data"))
    certificate = loadOrCreateCertificate(
        directory, [RunningProsody.domain, RunningProsody.mucDomain]
    )
    port = pickPort()
    configPath = os.path.join(directory, "prosody.cfg.lua")
    user = "root" if os.geteuid() == 0 else _currentUser()
    with open(configPath, "w") as f:
        f.write(
            CONFIG.format(
                user=_lua(user),
                pidfile=_lua(os.path.join(directory, "prosody.pid")),
                data=_lua(os.path.join(directory, "data")),
                log=_lua(os.path.join(directory, "prosody.log")),
                port=port,
                modules=", ".join(_lua(m) for m in MODULES),
                certificates=_lua(os.path.dirname(certificate.certificatePath)),
                certificate=_lua(certificate.certificatePath),
                key=_lua(certificate.keyPath),
            )
        )
    running = RunningProsody(
        reactor, directory, configPath, port, certificate.certificatePath
    )
    running._process = _ProsodyProcess()
    reactor.spawnProcess(
        running._process,
        shutil.which("prosody"),
        ["prosody", "-F", "--config", configPath],
        env=os.environ,
        path=directory,
    )
    testCase.addCleanup(running.stop)
    await running._waitForPort()
    return running


def _currentUser():
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name
