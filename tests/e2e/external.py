# -*- test-case-name: tests.e2e.test_prosody,tests.e2e.test_durability,tests.e2e.test_ejabberd -*-
"""
An XMPP server running as a child process of the reactor, for the
end-to-end tests that need one outside the test's process: Prosody, the
reference (L{tests.e2e.prosody}), and mepserver itself under C{twistd}
(L{tests.e2e.test_durability}); ejabberd, the other reference
(L{tests.e2e.ejabberd}), runs outside the reactor, under a guard, but is
reached the same way.

An L{ExternalServer} has the attributes of a
L{mepserver.testing.RunningServer} that L{tests.e2e.slixrun.serverSettings}
reads, waits for its client port, logs Twisted's XMPP client in
(L{ExternalServer.connectClient}) and stops the process.
"""

import os
import socket

from twisted.internet import defer, endpoints, error, protocol, ssl, task
from twisted.words.protocols.jabber import client, jid, xmlstream

from mepserver.testing.client import ConnectedClient

#: How often, and how long apart (seconds), a server's port is tried
#: before giving up: a bound on a loop, not a timing assertion.
CONNECT_ATTEMPTS = 500
CONNECT_INTERVAL = 0.02


def pickPort():
    """
    A TCP port on 127.0.0.1 that was free a moment ago: bound with port 0,
    then released for a server whose configuration needs a number.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess(protocol.ProcessProtocol):
    """
    Collect what the server writes and fire L{ended} when it exits.
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


class ExternalServer:
    """
    A server process and what a client needs to reach it.

    @ivar domain: its client domain, C{localhost}.
    @ivar mucDomain: its MUC domain, C{conference.localhost}.
    @ivar c2sPort: its client port on 127.0.0.1 (STARTTLS).
    @ivar certificatePath: the PEM certificate a client should trust.
    @ivar directory: the temporary directory of its configuration, data
        and log.
    @ivar logPath: its log file.
    """

    domain = "localhost"
    mucDomain = "conference.localhost"

    def __init__(self, reactor, directory, c2sPort, certificatePath, logPath):
        self.reactor = reactor
        self.directory = directory
        self.c2sPort = c2sPort
        self.certificatePath = certificatePath
        self.logPath = logPath
        self._process = None
        self._clients = []
        self._tlsOptions = None

    def spawn(self, executable, args, path=None):
        """
        Start the server process, in L{directory} unless C{path} says
        otherwise.

        @return: a Deferred firing once it accepts connections.
        """
        self.hold(executable, args, path)
        return defer.ensureDeferred(self._waitForPort())

    def hold(self, executable, args, path=None):
        """
        Start the server process as L{spawn} does, without waiting for its
        port: for a program that first waits for a line on its standard
        input, which L{release} writes. It can load its code while another
        server still runs.
        """
        self._process = ServerProcess()
        self.reactor.spawnProcess(
            self._process,
            executable,
            args,
            env=os.environ,
            path=path or self.directory,
        )

    def release(self):
        """
        Let a process started by L{hold} go on.

        @return: a Deferred firing once it accepts connections.
        """
        self._process.transport.write(b"go\n")
        self._process.transport.closeStdin()
        return defer.ensureDeferred(self._waitForPort())

    def log(self, last=4000):
        """
        @return: the end of the server's output and log, for failure
            messages.
        """
        try:
            with open(self.logPath, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        output = self._process.output if self._process else b""
        return (output + data)[-last:].decode("utf-8", "replace")

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
        Connect until the server accepts, a bounded number of times, each
        retry a C{callLater} of the reactor; fail at once if it exited.
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
            f"the server did not accept connections on port {self.c2sPort}:\n{self.log()}"
        )

    async def stop(self):
        """
        Close the clients, send the server SIGTERM and wait for it to exit.
        """
        for c in self._clients:
            await c.close()
        self._clients = []
        await self._signal("TERM")

    async def kill(self):
        """
        Crash the server: SIGKILL, so that none of its shutdown work runs,
        then forget the clients, whose connections went with it.
        """
        await self._signal("KILL")
        for c in self._clients:
            await c.close()
        self._clients = []

    async def _signal(self, signal):
        process = self._process
        if process is None or process.exited:
            return
        try:
            process.transport.signalProcess(signal)
        except error.ProcessExitedAlready:
            pass
        await process.ended
