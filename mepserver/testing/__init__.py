# -*- test-case-name: tests.test_testing -*-
"""
Run mepserver inside a test suite: in-process, on ephemeral ports.

    from twisted.trial import unittest
    from twisted.words.xish import domish
    from mepserver.testing import startServer

    class ChatTests(unittest.TestCase):
        async def test_message(self):
            running = await startServer(self)
            alice = await running.createAccount("alice", "secret")
            bob = await running.createAccount("bob", "secret")
            bobsStanzas = running.record(bob.jid)
            client = await running.connectClient(alice, "laptop")
            ...
            client.send(message)
            await bobsStanzas.waitFor("/message/body")

L{startServer} builds and starts the whole server on 127.0.0.1 only, with
memory storage and a certificate generated into a temporary directory, and
returns a L{RunningServer}: its domains, ports and certificate, and the
helpers to drive it. Everything (clients, ports, sessions, stores, and the
HTTP connections a browser keeps open) stops when the test ends, so
trial's dirty-reactor check stays meaningful. For
trial, L{MEPServerMixin} does the same from C{setUp}; pytest runs such
trial-style test cases as they are (see also L{mepserver.pytest_plugin}).

Patterns. L{StanzaRecorder} and L{ConnectedClient} wait for stanzas that
match a pattern, which is either:

  - an XPath string, as L{twisted.words.xish.xpath} understands it:
    C{"/message[@type='groupchat']/body"},
    C{"/iq/query[@xmlns='jabber:iq:roster']"}; or
  - a callable that takes a L{domish.Element} and returns whether it
    matches: C{lambda e: e.getAttribute("id") == "x"}.

Timing. Waiting is event-driven: L{StanzaRecorder.waitFor} fires as soon
as a matching stanza is there, and its timeout only turns a hang into a
failure that lists what did arrive. To check that something did I{not}
arrive, L{ConnectedClient.assertNoStanzaReceived} sends a ping and looks
at what came before its answer: the server answers a stream's stanzas in
order, so a stanza it sent before handling the ping is there by then
(L{ConnectedClient.ping} is that barrier alone). C{assertNoStanza} is the
one helper that must let time pass: it succeeds only after its whole
window; keep it for what no round trip can order (a recorder's JID, a
timer).

Archives. L{RunningServer.archive} reads what an account's message
archive (XEP-0313) holds, oldest first, as L{ArchivedStanza}s: the UID a
client sees as the message's XEP-0359 stanza-id, the time, the other
party and the message. The store call of a message is issued before it is
delivered, so once a client received a message, its archive shows it.
L{RunningServer.roomArchive} reads a room's archive the same way:
groupchat messages and subject changes under the stanza-ids their
broadcasts carried, a moderated message (XEP-0425) as its tombstone. A
room broadcasts a message it archives once its entry is written, so
once an occupant received it, the room's archive shows it.

Deterministic mode (C{startServer(self, deterministic=True, seed=0)}):
every id the server makes up comes from a L{SeededIdSource}, so the same
test doing the same things in the same order gets the same ids, run after
run: stream ids, generated resources, anonymous usernames, roster push
ids, and as the MUC and MEP services land (issue 6), XEP-0359 stanza-ids,
XEP-0421 occupant-ids and item ids. The server's clock is then a
L{task.Clock} standing at 2020-01-01T00:00:00Z unless you pass your own
C{clock}: delay stamps come from it, it only moves when the test calls
C{running.clock.advance()}, and the stream idle timeout never fires on its
own. L{RunningServer.reset} restarts both the id sequence and that clock.
What a client makes up itself (its stanza ids, SCRAM nonces) and TLS are
not deterministic.
"""


from mepserver.testing.client import Account, ConnectedClient, ConnectedComponent
from mepserver.testing.log import StanzaNotReceived, StanzaRecorder, UnexpectedStanza
from mepserver.testing.server import (
    ArchivedStanza,
    MEPServerMixin,
    RunningServer,
    startServer,
)

__all__ = [
    "Account",
    "ArchivedStanza",
    "ConnectedClient",
    "ConnectedComponent",
    "MEPServerMixin",
    "RunningServer",
    "StanzaNotReceived",
    "StanzaRecorder",
    "UnexpectedStanza",
    "startServer",
]
