"""
Tests for L{mepserver.writethrough}: TCP writes go straight to the socket
when nothing is buffered, and through Twisted's buffer otherwise.
"""

import errno
import socket

from twisted.internet import abstract, defer, protocol, reactor, tcp
from twisted.trial import unittest

from mepserver import config, writethrough
from mepserver.server import buildServer


class FakeSocket:
    """
    A socket that takes at most C{accept} bytes per C{send}, or raises
    C{error}.
    """

    def __init__(self, accept=None, error=None):
        self.accept = accept
        self.error = error
        self.sent = []

    def setblocking(self, flag):
        pass

    def fileno(self):
        return -1

    def send(self, data):
        if self.error is not None:
            raise OSError(self.error, "fake")
        data = bytes(data)
        if self.accept is not None:
            data = data[: self.accept]
        self.sent.append(data)
        return len(data)


class FakeReactor:
    """
    Records which descriptors want to write.
    """

    def __init__(self):
        self.writers = set()

    def addWriter(self, writer):
        self.writers.add(writer)

    def removeWriter(self, writer):
        self.writers.discard(writer)

    def addReader(self, reader):
        pass

    def removeReader(self, reader):
        pass


class WriteThroughTests(unittest.SynchronousTestCase):
    """
    L{writethrough.install} on a TCP connection with a fake socket.
    """

    def setUp(self):
        wasInstalled = writethrough.installed()
        writethrough.install()
        if not wasInstalled:
            self.addCleanup(writethrough.uninstall)

    def connection(self, **kwargs):
        skt = FakeSocket(**kwargs)
        reactor = FakeReactor()
        connection = tcp.Connection(skt, protocol.Protocol(), reactor)
        connection.connected = 1
        return connection, skt, reactor

    def test_installIdempotent(self):
        """
        Installing twice keeps the one write-through; uninstalling restores
        Twisted's own method.
        """
        writethrough.install()
        self.assertIs(abstract.FileDescriptor.write, writethrough._writeThrough)
        writethrough.uninstall()
        self.assertFalse(writethrough.installed())
        self.assertIs(abstract.FileDescriptor.write, writethrough._bufferedWrite)
        writethrough.install()
        self.assertTrue(writethrough.installed())

    def test_sentAtOnce(self):
        """
        With nothing buffered, the bytes go out in the write itself:
        nothing is buffered and the reactor is not asked to watch for
        writability.
        """
        connection, skt, reactor = self.connection()
        connection.write(b"<message/>")
        self.assertEqual(skt.sent, [b"<message/>"])
        self.assertEqual(connection._tempDataBuffer, [])
        self.assertEqual(reactor.writers, set())

    def test_restBuffered(self):
        """
        What the kernel does not take is buffered, and the next writes go
        behind it, in order, until the reactor writes them.
        """
        connection, skt, reactor = self.connection(accept=3)
        connection.write(b"abcdef")
        connection.write(b"ghi")
        self.assertEqual(skt.sent, [b"abc"])
        self.assertEqual(reactor.writers, {connection})
        skt.accept = None
        connection.doWrite()
        self.assertEqual(b"".join(skt.sent), b"abcdefghi")

    def test_wouldBlock(self):
        """
        A full socket (EAGAIN) leaves every byte to the buffered write.
        """
        connection, skt, reactor = self.connection(error=errno.EAGAIN)
        connection.write(b"abc")
        self.assertEqual(connection._tempDataBuffer, [b"abc"])
        self.assertEqual(reactor.writers, {connection})

    def test_failedSocket(self):
        """
        A socket error leaves the bytes to the buffered write, whose
        C{doWrite} reports the connection lost as Twisted always does.
        """
        connection, skt, reactor = self.connection(error=errno.ECONNRESET)
        connection.write(b"abc")
        self.assertEqual(connection._tempDataBuffer, [b"abc"])
        self.assertIsInstance(connection.doWrite(), Exception)

    def test_disconnecting(self):
        """
        Once C{loseConnection} was called, writes are buffered, as before.
        """
        connection, skt, reactor = self.connection()
        connection.disconnecting = True
        connection.write(b"abc")
        self.assertEqual(skt.sent, [])
        self.assertEqual(connection._tempDataBuffer, [b"abc"])

    def test_notConnected(self):
        """
        A closed connection drops writes, as Twisted's own write does.
        """
        connection, skt, reactor = self.connection()
        connection.connected = 0
        connection.write(b"abc")
        self.assertEqual(skt.sent, [])
        self.assertEqual(connection._tempDataBuffer, [])

    def test_notBytes(self):
        """
        Text is refused with Twisted's own error, not sent.
        """
        connection, skt, reactor = self.connection()
        self.assertRaises(TypeError, connection.write, "text")
        self.assertEqual(skt.sent, [])

    def test_otherDescriptors(self):
        """
        Descriptors that are not TCP connections (pipes) keep Twisted's
        buffered write.
        """
        descriptor = abstract.FileDescriptor(FakeReactor())
        descriptor.connected = 1
        descriptor.write(b"abc")
        self.assertEqual(descriptor._tempDataBuffer, [b"abc"])

    def test_serverInstalls(self):
        """
        Building a server installs it.
        """
        writethrough.uninstall()
        buildServer(config.load(overrides={"dataDir": self.mktemp(), "storage": "memory"}))
        self.assertTrue(writethrough.installed())


class Collect(protocol.Protocol):
    """
    Reads nothing until told to, then collects C{expected} bytes.
    """

    def __init__(self, expected):
        self.expected = expected
        self.received = []
        self.size = 0
        self.ready = defer.Deferred()
        self.done = defer.Deferred()

    def connectionMade(self):
        self.transport.pauseProducing()
        self.ready.callback(None)

    def dataReceived(self, data):
        self.received.append(data)
        self.size += len(data)
        if self.size >= self.expected and not self.done.called:
            self.done.callback(b"".join(self.received))


class LoopbackTests(unittest.TestCase):
    """
    Over real TCP, to a peer that does not read at first: what the kernel
    cannot take is buffered, later writes go behind it, and the peer gets
    every byte in order.
    """

    def setUp(self):
        wasInstalled = writethrough.installed()
        writethrough.install()
        if not wasInstalled:
            self.addCleanup(writethrough.uninstall)

    @defer.inlineCallbacks
    def test_fullSocket(self):
        # Small socket buffers (no autotuning), so that a megabyte fills
        # them.
        payload = bytes(range(256)) * 4096
        collector = Collect(2 * len(payload) + 3)
        port = reactor.listenTCP(
            0, protocol.ServerFactory.forProtocol(lambda: collector), interface="127.0.0.1"
        )
        self.addCleanup(port.stopListening)
        sender = yield protocol.ClientCreator(reactor, protocol.Protocol).connectTCP(
            "127.0.0.1", port.getHost().port
        )
        self.addCleanup(sender.transport.abortConnection)
        yield collector.ready
        self.addCleanup(collector.transport.abortConnection)
        sender.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        collector.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sender.transport.write(b"<a>")
        self.assertFalse(sender.transport._tempDataBuffer)
        sender.transport.write(payload)
        self.assertTrue(sender.transport._tempDataBuffer)
        sender.transport.write(payload)
        collector.transport.resumeProducing()
        received = yield collector.done
        self.assertEqual(len(received), 2 * len(payload) + 3)
        self.assertTrue(received == b"<a>" + payload + payload)
