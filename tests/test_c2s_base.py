# -*- test-case-name: tests.test_c2s_base -*-
"""
Tests for L{mepserver.c2s.base}: the handlers of the client domain's
accounts send nothing once their component stopped, and answer an
account's request on its session.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber import jid

from mepserver import config
from mepserver.c2s.base import AccountHandler
from mepserver.c2s.blocking import BlockingHandler
from mepserver.c2s.private import PrivateHandler
from mepserver.c2s.roster import PresenceHandler
from mepserver.c2s.vcard import VCardHandler
from mepserver.mam.account import AccountArchiveHandler
from mepserver.server import buildServer
from tests.helpers import StubStream, parseXml

ACCOUNT_HANDLERS = (
    BlockingHandler,
    PrivateHandler,
    PresenceHandler,
    VCardHandler,
    AccountArchiveHandler,
)


class Recorder:
    """
    Stands in for a component (the handler's parent) or a session: keeps
    what it is asked to send.
    """

    def __init__(self):
        self.sent = []

    def send(self, stanza):
        self.sent.append(stanza)


class Sessions:
    """
    Stands in for L{mepserver.c2s.sessions.SessionManager}: the bound
    sessions by full JID.
    """

    def __init__(self, sessions):
        self.sessions = sessions

    def session(self, address):
        return self.sessions.get(address)


def message():
    return parseXml("<message to='juliet@localhost/balcony' from='localhost'/>", "jabber:client")


class AccountHandlerTests(unittest.SynchronousTestCase):
    """
    L{AccountHandler.send} and L{AccountHandler.reply}.
    """

    def setUp(self):
        self.component = Recorder()
        self.handler = AccountHandler()
        self.handler.parent = self.component
        self.handler.makeConnection(StubStream())

    def test_send(self):
        """
        While the component runs, a stanza goes to the router (through the
        component); L{None}, which C{bounce} gives for an error, is nothing
        to send.
        """
        stanza = message()
        self.handler.send(stanza)
        self.handler.send(None)
        self.assertEqual([stanza], self.component.sent)

    def test_sendStopped(self):
        """
        Once the component stopped, a stanza is dropped without an error.
        """
        self.handler.connectionLost(None)
        self.handler.send(message())
        self.assertEqual([], self.component.sent)

    def test_reply(self):
        """
        The answer to a request goes to the session that sent it directly;
        if that session is gone, to the router; once the component stopped
        as well, nowhere.
        """
        balcony = Recorder()
        self.handler.sessions = Sessions({jid.JID("juliet@localhost/balcony"): balcony})
        iq = parseXml("<iq type='get' id='q1' from='juliet@localhost/balcony' to='juliet@localhost'/>")
        answer = parseXml("<iq type='result' id='q1' to='juliet@localhost/balcony'/>")
        self.handler.reply(answer, iq)
        self.assertEqual(([answer], []), (balcony.sent, self.component.sent))

        self.handler.sessions = Sessions({})
        self.handler.reply(answer, iq)
        self.assertEqual([answer], self.component.sent)

        self.handler.connectionLost(None)
        self.handler.reply(answer, iq)
        self.assertEqual(([answer], [answer]), (balcony.sent, self.component.sent))


class ServerHandlersTests(unittest.TestCase):
    """
    The account handlers L{buildServer} puts on the client domain's
    component are L{AccountHandler}s.
    """

    def test_quietWhenStopped(self):
        """
        Each of them sends what it is given while the component is
        connected, and nothing after it stopped.
        """
        cfg = config.load(overrides={"storage": "memory", "dataDir": self.mktemp()})
        domain = buildServer(cfg).getServiceNamed("client-domain")
        handlers = [h for h in domain if isinstance(h, ACCOUNT_HANDLERS)]
        self.assertEqual(
            sorted(cls.__name__ for cls in ACCOUNT_HANDLERS),
            sorted(type(h).__name__ for h in handlers),
        )
        sent = []
        self.patch(domain, "send", sent.append)
        for handler in handlers:
            handler.makeConnection(StubStream())
            stanza = message()
            handler.send(stanza)
            self.assertEqual([stanza], sent, handler)
            handler.connectionLost(None)
            handler.send(message())
            self.assertEqual([stanza], sent, handler)
            del sent[:]
