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
helpers to drive it. Everything (clients, ports, sessions, stores) stops
when the test ends, so trial's dirty-reactor check stays meaningful. For
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

from __future__ import annotations

import atexit
import collections
import dataclasses
import functools
import secrets
import shutil
import tempfile
from typing import Callable, Iterable, List, Optional, Union

from twisted.internet import defer, endpoints, error, ssl, task
from twisted.python import failure
from twisted.words.protocols.jabber import client, jid, xmlstream
from twisted.words.xish import domish, xpath
from wokkel.disco import NS_DISCO_INFO
from wokkel.muc import NS_MUC, NS_MUC_USER

from mepserver import config as configModule
from mepserver.caps import NS_CAPS
from mepserver.c2s.mechanisms import makeCredentials
from mepserver.stanza import copyStanza
from mepserver.ids import SeededIdSource
from mepserver.interfaces import UserExists
from mepserver.server import Server, buildServer

_CAPS_NODE = "https://mepserver.example/testing"

#: Where the clock of deterministic mode starts: 2020-01-01T00:00:00Z.
_DETERMINISTIC_START = 1577836800.0

#: How many stanzas a failure message shows, and how much of each.
_SHOWN_STANZAS = 20
_SHOWN_CHARACTERS = 300

_Pattern = Union[str, Callable[[domish.Element], bool]]


class StanzaNotReceived(AssertionError):
    """
    No stanza matching a pattern arrived: the timeout passed, the connection
    closed or the recorder stopped. The message lists what did arrive.

    @ivar received: the stanzas that arrived, none of which matched.
    """

    def __init__(self, message, received):
        AssertionError.__init__(self, message)
        self.received = received


class UnexpectedStanza(AssertionError):
    """
    A stanza that should not have arrived did.

    @ivar stanza: the stanza.
    """

    def __init__(self, message, stanza):
        AssertionError.__init__(self, message)
        self.stanza = stanza


def _deferred(f):
    """
    Make a coroutine function return a Deferred, so that its callers may
    C{await} it or C{yield} it from C{inlineCallbacks} alike.
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return defer.ensureDeferred(f(*args, **kwargs))

    return wrapper


@functools.lru_cache(maxsize=256)
def _xpathQuery(pattern: str) -> xpath.XPathQuery:
    # Not xpath.internQuery, which keeps every query for ever: patterns
    # often carry per-test ids, and a long suite would grow without end.
    return xpath.XPathQuery(pattern)


def _matcher(pattern: _Pattern):
    """
    @return: the predicate a pattern stands for.
    @raise TypeError: for anything but an XPath string or a callable.
    """
    if isinstance(pattern, str):
        return _xpathQuery(pattern).matches
    if callable(pattern):
        return pattern
    raise TypeError(
        f"a stanza pattern is an XPath string or a callable, not {pattern!r}"
    )


def _show(stanza) -> str:
    text = stanza.toXml()
    if len(text) > _SHOWN_CHARACTERS:
        text = text[: _SHOWN_CHARACTERS - 3] + "..."
    return text


def _describe(stanzas) -> str:
    if not stanzas:
        return "nothing arrived"
    shown = stanzas[-_SHOWN_STANZAS:]
    head = f"{len(stanzas)} stanza(s) arrived"
    if len(shown) < len(stanzas):
        head += f", the last {len(shown)} of them"
    return head + ":\n" + "\n".join("  " + _show(s) for s in shown)


class _StanzaLog:
    """
    Stanzas in arrival order, and the Deferreds waiting for some of them.

    @ivar stanzas: the stanzas so far.
    @ivar count: how many stanzas were ever added, cleared ones included:
        the position in the log of the next one.
    """

    def __init__(self, clock, description):
        self.stanzas: List[domish.Element] = []
        self.count = 0
        self._clock = clock
        self._description = description
        # Each waiter: (predicate, Deferred, what to do with a match,
        # whether a match is what it waits for, the pattern).
        self._waiting = []

    def add(self, stanza):
        """
        Record a stanza and fire the waiters it matches.

        A predicate that raises fails its own waiter only: recording sits on
        the server's stanza path, which must not break.
        """
        self.stanzas.append(stanza)
        self.count += 1
        if not self._waiting:
            return
        fire, keep = [], []
        for waiter in self._waiting:
            match, d, onMatch, expected, pattern = waiter
            try:
                matched = match(stanza)
            except BaseException:
                fire.append((d.errback, failure.Failure()))
            else:
                if matched:
                    fire.append((onMatch, stanza))
                else:
                    keep.append(waiter)
        # Update first, fire after: a callback may record more stanzas.
        self._waiting = keep
        for call, argument in fire:
            call(argument)

    def _forget(self, d):
        self._waiting = [w for w in self._waiting if w[1] is not d]

    def waitFor(
        self, pattern: _Pattern, timeout: float, since: Optional[int] = None
    ) -> defer.Deferred:
        """
        @param since: a L{count}: only stanzas added from then on match.
        @return: a Deferred firing with the first stanza, recorded or
            future, that matches C{pattern}, or failing with
            L{StanzaNotReceived} after C{timeout} seconds.
        """
        match = _matcher(pattern)
        recorded = self.stanzas
        if since is not None:
            # The stanzas still here are the last len(stanzas) of count.
            recorded = recorded[max(0, since - (self.count - len(recorded))):]
        try:
            for stanza in recorded:
                if match(stanza):
                    return defer.succeed(stanza)
        except BaseException:
            return defer.fail()
        d = defer.Deferred(self._forget)
        self._waiting.append((match, d, d.callback, True, pattern))

        def timedOut(result, timeout):
            return failure.Failure(
                StanzaNotReceived(
                    f"no stanza matching {pattern!r} {self._description} "
                    f"within {timeout} s; {_describe(self.stanzas)}",
                    list(self.stanzas),
                )
            )

        return d.addTimeout(timeout, self._clock, onTimeoutCancel=timedOut)

    def assertNone(self, pattern: _Pattern, window: float) -> defer.Deferred:
        """
        @return: a Deferred firing with L{None} once C{window} seconds
            passed without a new stanza matching C{pattern}, or failing with
            L{UnexpectedStanza} as soon as one arrives.
        """
        match = _matcher(pattern)
        d = defer.Deferred(self._forget)

        def matched(stanza):
            d.errback(
                UnexpectedStanza(
                    f"a stanza matching {pattern!r} {self._description} "
                    f"within {window} s: {_show(stanza)}",
                    stanza,
                )
            )

        def windowPassed():
            self._forget(d)
            d.callback(None)

        self._waiting.append((match, d, matched, False, pattern))
        call = self._clock.callLater(window, windowPassed)

        def stopTimer(result):
            if call.active():
                call.cancel()
            return result

        return d.addBoth(stopTimer)

    def abandon(self, why):
        """
        Fail every waiter with L{StanzaNotReceived}: nothing more will come.

        A pending L{assertNone} succeeds instead: nothing arrived.
        """
        waiting, self._waiting = self._waiting, []
        for match, d, onMatch, expected, pattern in waiting:
            if expected:
                d.errback(
                    StanzaNotReceived(
                        f"{why}: no stanza matching {pattern!r} "
                        f"{self._description}; {_describe(self.stanzas)}",
                        list(self.stanzas),
                    )
                )
            else:
                d.callback(None)

    def clear(self):
        del self.stanzas[:]


def _hasRawXml(element) -> bool:
    for child in element.children:
        if isinstance(child, domish.SerializedXML):
            return True
        if domish.IElement.providedBy(child) and _hasRawXml(child):
            return True
    return False


def _asClientSees(stanza: domish.Element) -> domish.Element:
    """
    A snapshot of a stanza the server sends, as its client parses it.

    The server inserts stored payloads (PEP and MEP items) as raw XML text;
    such a stanza is serialized and parsed again, so that patterns reach
    into payloads on a recorder as they do on a L{ConnectedClient}. Others
    are copied at the top level only (cheap, and enough: the server never
    changes a stanza's children in flight).
    """
    if not _hasRawXml(stanza):
        return copyStanza(stanza)
    parsed = []
    stream = domish.elementStream()
    stream.DocumentStartEvent = lambda root: None
    stream.ElementEvent = parsed.append
    stream.DocumentEndEvent = lambda: None
    stream.parse(b"<stream xmlns='jabber:client'>" + stanza.toXml().encode("utf-8") + b"</stream>")
    return parsed[0]


@dataclasses.dataclass
class Account:
    """
    An account created for a test.

    @ivar jid: the account's bare JID.
    @ivar password: its password.
    """

    jid: jid.JID
    password: str

    @property
    def username(self) -> str:
        """
        The account's username, the local part of its JID.
        """
        return self.jid.user


class StanzaRecorder:
    """
    Every stanza the server exchanged with one JID since the recorder was
    made, in order, from the point of view of that JID's client(s).

    A bare JID records all the account's sessions, a full JID one session.
    What a recorder sees is what went through the server's sessions: the
    stanzas themselves, not stream negotiation or stream errors. Make it
    before the client connects, then wait on it: it costs the server
    nothing once stopped, and little while it runs.

    @ivar jid: the recorded L{jid.JID}.
    @ivar received: the stanzas the server sent to the JID.
    @ivar sent: the stanzas the JID sent to the server, as its client sent
        them but for C{from}, which the server stamps.
    """

    def __init__(self, sessions, address: jid.JID, clock):
        """
        @param sessions: the L{mepserver.c2s.sessions.SessionManager} to
            observe.
        @param clock: the L{twisted.internet.interfaces.IReactorTime} of
            timeouts and windows.
        """
        self.jid = address
        self._sessions = sessions
        who = address.full()
        self._received = _StanzaLog(clock, f"was sent to {who}")
        self._sent = _StanzaLog(clock, f"came from {who}")
        self.received = self._received.stanzas
        self.sent = self._sent.stanzas
        sessions.observers.append(self._observe)

    def __repr__(self):
        return f"<StanzaRecorder {self.jid.full()}>"

    def _observe(self, session, stanza, fromClient):
        address = session.jid
        if self.jid.resource is None:
            if address.user != self.jid.user or address.host != self.jid.host:
                return
        elif address != self.jid:
            return
        # A snapshot of the top level: a server may reuse one element for
        # several recipients, changing only its 'to'.
        log = self._sent if fromClient else self._received
        log.add(_asClientSees(stanza))

    def waitFor(
        self, pattern: _Pattern, timeout: float = 5.0, sent: bool = False
    ) -> defer.Deferred:
        """
        Wait for a stanza the JID received (or with C{sent}, sent).

        @param pattern: an XPath string or a predicate (see L{mepserver.testing}).
        @param timeout: seconds before giving up.
        @return: a Deferred firing with the first matching stanza, already
            recorded or future, or failing with L{StanzaNotReceived}, whose
            message lists what was recorded.
        """
        log = self._sent if sent else self._received
        return log.waitFor(pattern, timeout)

    def assertNoStanza(
        self, pattern: _Pattern, window: float = 0.5, sent: bool = False
    ) -> defer.Deferred:
        """
        Check that the JID receives (or with C{sent}, sends) no stanza
        matching C{pattern} within C{window} seconds from now; stanzas
        recorded before the call do not count.

        This is the one helper that waits on time rather than on an event:
        it cannot succeed before the window has passed, so keep windows
        short, and check first with L{waitFor} whatever should arrive.

        @return: a Deferred firing with L{None} after the window, or
            failing with L{UnexpectedStanza} as soon as one arrives.
        """
        log = self._sent if sent else self._received
        return log.assertNone(pattern, window)

    def clear(self):
        """
        Forget the stanzas recorded so far: later waits see only new ones.
        """
        self._received.clear()
        self._sent.clear()

    def stop(self):
        """
        Stop recording. Pending waits fail with L{StanzaNotReceived};
        pending C{assertNoStanza} checks succeed.
        """
        if self._observe in self._sessions.observers:
            self._sessions.observers.remove(self._observe)
        self._received.abandon("the recorder stopped")
        self._sent.abandon("the recorder stopped")


class ConnectedClient:
    """
    A client that logged in to a L{RunningServer} with Twisted's own XMPP
    client stack: STARTTLS verifying the server's certificate for its
    domain, SASL, then resource binding.

    @ivar jid: the full L{jid.JID} the server bound.
    @ivar xmlstream: the client's
        L{twisted.words.protocols.jabber.xmlstream.XmlStream}, for what
        this class does not offer.
    @ivar received: every element received since binding, in order: the
        stanzas, and a stream error if one came.
    @ivar connected: C{True} until the connection closes.
    """

    def __init__(self, xs, clock):
        self.xmlstream = xs
        self.jid = xs.authenticator.jid
        self._log = _StanzaLog(clock, f"was received by {self.jid.full()}")
        self.received = self._log.stanzas
        self._clock = clock
        self._requests = 0
        self._pings = set()
        self._capsCount = 0
        self._closing = []
        self.connected = True
        xs.addObserver("/*", self._log.add)
        xs.addObserver(xmlstream.STREAM_END_EVENT, self._ended)

    def __repr__(self):
        return f"<ConnectedClient {self.jid.full()}>"

    def _ended(self, reason):
        self.connected = False
        self._log.abandon("the connection closed")
        closing, self._closing = self._closing, []
        for d in closing:
            d.callback(None)

    def send(self, element):
        """
        Send a stanza (a L{domish.Element}, or XML text) to the server.
        """
        self.xmlstream.send(element)

    def request(self, iq: domish.Element, timeout: float = 5.0) -> defer.Deferred:
        """
        Send an IQ request and wait for its answer.

        @param iq: an C{<iq type='get'/>} or C{'set'}; it is given an C{id}
            if it has none.
        @return: a Deferred firing with the answer, of type C{result} or
            C{error} alike, or failing with L{StanzaNotReceived}.
        """
        if not iq.getAttribute("id"):
            self._requests += 1
            iq["id"] = f"mepserver-testing-{self._requests}"
        identifier = iq["id"]
        d = self.waitFor(
            lambda e: e.name == "iq"
            and e.getAttribute("id") == identifier
            and e.getAttribute("type") in ("result", "error"),
            timeout,
        )
        self.send(iq)
        return d

    def waitFor(self, pattern: _Pattern, timeout: float = 5.0) -> defer.Deferred:
        """
        Wait for a received element.

        @param pattern: an XPath string or a predicate (see L{mepserver.testing}).
        @return: a Deferred firing with the first matching element, already
            received or future, or failing with L{StanzaNotReceived}, whose
            message lists what arrived, after C{timeout} seconds or when the
            connection closes.
        """
        return self._log.waitFor(pattern, timeout)

    @_deferred
    async def ping(self, timeout: float = 5.0) -> domish.Element:
        """
        A round trip to the server (XEP-0199 ping): the barrier that proves
        what has I{not} arrived, without waiting out a time window.

        The server handles a stream's stanzas one at a time, in order, and
        writes to a stream in order: once the answer is here, so is every
        stanza the server sent this client before it handled the ping,
        including whatever it sent while handling a stanza this client (or,
        if the test waited for that stanza's visible result, another
        client) sent before.

        @return: a Deferred firing with the C{result}, or failing with
            L{StanzaNotReceived}, or with L{UnexpectedStanza} for an error.
        """
        ping = domish.Element((None, "iq"))
        ping["type"], ping["to"] = "get", self.jid.host
        ping.addElement(("urn:xmpp:ping", "ping"))
        self._requests += 1
        ping["id"] = f"mepserver-testing-ping-{self._requests}"
        self._pings.add(ping["id"])
        answer = await self.request(ping, timeout)
        if answer.getAttribute("type") != "result":
            raise UnexpectedStanza(f"the server refused a ping: {_show(answer)}", answer)
        return answer

    @_deferred
    async def assertNoStanzaReceived(self, pattern: _Pattern, timeout: float = 5.0) -> None:
        """
        Check that no element matching C{pattern} is among those received
        since the connection (or the last L{clear}), up to a L{ping} sent
        now, the answers to this client's pings aside. Make the stimulus,
        wait for its visible result if it goes through another client, then
        call this. No time window: it takes a round trip.

            client.clear()
            publisher.send(publish)
            await other.waitFor("/message/event")
            await client.assertNoStanzaReceived("/message/event")

        @return: a Deferred firing with L{None}, or failing with
            L{UnexpectedStanza} for the first matching element.
        """
        match = _matcher(pattern)
        answer = await self.ping(timeout)
        for stanza in self.received:
            if stanza is answer:
                break
            if stanza.name == "iq" and stanza.getAttribute("id") in self._pings:
                continue
            if match(stanza):
                raise UnexpectedStanza(
                    f"a stanza matching {pattern!r} was received by "
                    f"{self.jid.full()} before a ping's answer: {_show(stanza)}",
                    stanza,
                )

    def assertNoStanza(self, pattern: _Pattern, window: float = 0.5) -> defer.Deferred:
        """
        Check that no new element matching C{pattern} arrives within
        C{window} seconds; like L{StanzaRecorder.assertNoStanza}, the one
        timed helper. Prefer L{assertNoStanzaReceived}, which proves the
        same with a round trip instead of a window whenever the stanza would
        come from the server's handling of something already sent.

        @return: a Deferred firing with L{None} after the window, or failing
            with L{UnexpectedStanza}.
        """
        return self._log.assertNone(pattern, window)

    def clear(self):
        """
        Forget the elements received so far: later waits see only new ones.
        """
        self._log.clear()

    @_deferred
    async def joinRoom(
        self,
        room: Union[jid.JID, str],
        nick: str,
        notify: Iterable[str] = (),
        password: Optional[str] = None,
        timeout: float = 5.0,
    ) -> domish.Element:
        """
        Enter a room (XEP-0045 section 7.2), optionally interested in MEP
        events: the presence carries entity capabilities (XEP-0115) with a
        C{NODE+notify} feature for each node in C{notify}, and this client
        answers the room's disco#info query about them.

        It fires once the room sent the self-presence and, with C{notify},
        once the server has the client's interests, so that a
        L{RunningServer.generateEvent} right after reaches the client.

        Only what arrives after this join presence answers it: the
        self-presence of an earlier join, or the error that refused one,
        does not, so a retry after a refusal, or a join after leaving, waits
        for its own answer. The presence carries an C{id} of its own, which
        an error presence mirrors (RFC 6120 section 8.3.1); the room's
        unavailable self-presence of a leave sent just before does not
        count either.

        @param room: the bare room JID.
        @param notify: the MEP node names whose events the client wants.
        @param password: the room's password, if it has one.
        @return: a Deferred firing with the self-presence (status 110), or
            failing with L{StanzaNotReceived}, for instance with the error
            presence when the room refused entry.
        """
        from mepserver.caps import computeVer

        room = jid.JID(room) if isinstance(room, str) else room
        occupant = f"{room.userhost()}/{nick}"
        presence = domish.Element((None, "presence"))
        presence["to"] = occupant
        self._requests += 1
        presence["id"] = identifier = f"mepserver-testing-join-{self._requests}"
        x = presence.addElement((NS_MUC, "x"))
        if password is not None:
            x.addElement("password", content=password)
        answered = answer = None
        if notify:
            # A name of its own makes the verification string unknown to the
            # server, which asks for it even if another client joined with
            # the same nodes.
            self._capsCount += 1
            identities = [("client", "bot", "", f"mepserver.testing {self._capsCount} {self.jid.full()}")]
            features = [NS_DISCO_INFO, NS_MUC] + [f"{node}+notify" for node in notify]
            ver = computeVer(identities, features)
            c = presence.addElement((NS_CAPS, "c"))
            c["hash"], c["node"], c["ver"] = "sha-1", _CAPS_NODE, ver
            answered = defer.Deferred()

            def answer(iq):
                query = next(iq.elements(NS_DISCO_INFO, "query"), None)
                if query is None or query.getAttribute("node") != f"{_CAPS_NODE}#{ver}":
                    return
                result = xmlstream.toResponse(iq, "result")
                info = result.addElement((NS_DISCO_INFO, "query"))
                info["node"] = query["node"]
                for category, kind, _, name in identities:
                    identity = info.addElement("identity")
                    identity["category"], identity["type"], identity["name"] = category, kind, name
                for feature in features:
                    info.addElement("feature")["var"] = feature
                self.send(result)
                self.xmlstream.removeObserver("/iq[@type='get']/query", answer)
                answered.callback(None)

            self.xmlstream.addObserver("/iq[@type='get']/query", answer)

        def answers(e):
            if e.name != "presence" or e.getAttribute("from") != occupant:
                return False
            kind = e.getAttribute("type")
            if kind == "error":
                return e.getAttribute("id") == identifier
            return kind is None and any(
                s.getAttribute("code") == "110"
                for x in e.elements(NS_MUC_USER, "x")
                for s in x.elements(NS_MUC_USER, "status")
            )

        since = self._log.count
        self.send(presence)
        try:
            selfPresence = await self._log.waitFor(answers, timeout, since)
            if selfPresence.getAttribute("type") == "error":
                raise StanzaNotReceived(
                    f"{occupant} refused entry: {_show(selfPresence)}", [selfPresence]
                )
            if answered is not None:
                await answered.addTimeout(timeout, self._clock)
                # A round trip: the server has handled the answer once it
                # answers what the client sent after it.
                await self.ping(timeout)
        finally:
            if answer is not None:
                # Refused, or never asked: answer no later query.
                self.xmlstream.removeObserver("/iq[@type='get']/query", answer)
        return selfPresence

    def close(self) -> defer.Deferred:
        """
        Close the connection.

        @return: a Deferred firing once it is closed.
        """
        if not self.connected:
            return defer.succeed(None)
        d = defer.Deferred()
        self._closing.append(d)
        self.xmlstream.transport.loseConnection()
        return d


class RunningServer:
    """
    A started in-process server, what a client needs to reach it, and the
    helpers to drive it.

    @ivar server: the L{Server}.
    @ivar reactor: the reactor its ports listen on, and of the helpers'
        timeouts.
    @ivar clock: the server's clock (see deterministic mode in
        L{mepserver.testing}).
    @ivar domain: the client domain.
    @ivar mucDomain: the MUC service's domain.
    @ivar c2sPort: the client-to-server TCP port on 127.0.0.1 (STARTTLS).
    @ivar httpPort: the HTTP port: WebSocket at C{/xmpp-websocket}, the
        JSON API at C{/api/} (L{apiURL}).
    @ivar certificatePath: the PEM certificate a client should trust.
    """

    def __init__(self, server: Server, ports, temporaryDataDir=False, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.server = server
        self.reactor = reactor
        self.clock = server.clock
        self._temporaryDataDir = temporaryDataDir
        self._ports = ports
        self.domain = server.config.domain
        self.mucDomain = server.config.mucDomain
        self.c2sPort = ports[0].getHost().port
        self.httpPort = ports[1].getHost().port
        self.certificatePath = server.certificatePath
        self._credentials = {}
        self._accounts = 0
        self._recorders: List[StanzaRecorder] = []
        self._clients: List[ConnectedClient] = []
        self._connecting = []
        self._tlsOptions = None
        # The fixture's own clock of deterministic mode, which reset() winds
        # back; a clock given by the test is left alone.
        self._ownClock = None
        # While suspended, the (interface, port number) of each listener.
        self._suspended = None

    @property
    def webSocketURL(self) -> str:
        """
        The C{ws://} URL of the RFC 7395 endpoint.
        """
        return f"ws://127.0.0.1:{self.httpPort}/xmpp-websocket"

    @property
    def apiURL(self) -> str:
        """
        The C{http://} URL of the JSON HTTP API (L{mepserver.api}), with its
        trailing slash: C{running.apiURL + "rooms"} lists the rooms.
        """
        return f"http://127.0.0.1:{self.httpPort}/api/"

    def _roomJID(self, room: Union[jid.JID, str]) -> jid.JID:
        if isinstance(room, jid.JID):
            return room.userhostJID()
        if "@" in room:
            return jid.JID(room).userhostJID()
        return jid.JID(tuple=(room, self.mucDomain, None))

    @_deferred
    async def createRoom(
        self,
        name: Union[jid.JID, str],
        /,
        owner: Union[Account, jid.JID, str, None] = None,
        **config,
    ) -> jid.JID:
        """
        Create a room directly in the MUC service, unlocked and configured,
        as if its owner had created and configured it (no 201 for the first
        to enter).

            roomJID = await running.createRoom(
                "lobby", owner=alice, persistent=True, moderated=True,
                password="secret", whois="anyone", maxusers=10)

        @param name: the room's localpart on L{mucDomain}, or its bare JID.
        @param owner: the user (an L{Account} or a JID) to make the room's
            owner; none if L{None}.
        @param config: the configuration, by the C{muc#roomconfig} field
            names without prefix (C{persistentroom}, C{publicroom},
            C{membersonly}, C{moderatedroom}, C{roomsecret}, C{whois},
            C{maxusers}, ...) or the attribute names of
            L{mepserver.muc.roomconfig.RoomConfig} (C{persistent}, C{public},
            C{membersOnly}, C{moderated}, C{password}, ...; C{name} or
            C{roomname} is the room's natural-language name); role sets
            (C{presencebroadcast}, C{getmemberlist}) as role names. A
            password makes the room password-protected unless
            C{passwordProtected} says otherwise. Other settings keep the
            service's defaults.
        @return: a Deferred firing with the bare room L{jid.JID}, once a
            persistent room is stored.
        @raise TypeError: (in the Deferred) for an unknown setting.
        @raise ValueError: (in the Deferred) if the room exists.
        @raise mepserver.errors.BadRequest: (in the Deferred) if the JID is
            not one of a room of L{mucDomain}.
        """
        from mepserver.muc.nicks import bare
        from mepserver.muc.roles import Role
        from mepserver.muc.roomconfig import RoomConfig

        byName = {field.name: field.name for field in dataclasses.fields(RoomConfig)}
        byName.update({key: attribute for attribute, key in RoomConfig.STORED_KEYS.items()})
        values = {}
        for key, value in config.items():
            if key not in byName:
                raise TypeError(f"{key!r} is not a room setting; use one of {', '.join(sorted(byName))}")
            attribute = byName[key]
            if attribute in RoomConfig.ROLE_SETS:
                value = frozenset(v if isinstance(v, Role) else Role(v) for v in value)
            values[attribute] = value
        if values.get("password") and "passwordProtected" not in values:
            values["passwordProtected"] = True
        roomJID = self._roomJID(name)
        if isinstance(owner, Account):
            owner = owner.jid
        elif isinstance(owner, str):
            owner = jid.JID(owner)
        rooms = self.server.rooms
        # Created as a client's join creates rooms, so that every observer
        # of the registry (MEP) hears of it; then configured and unlocked
        # as the owner's form would, with no 201 for whoever enters first.
        room = rooms.create(roomJID, owner if owner is not None else roomJID)
        if owner is None:
            del room.affiliations[bare(roomJID)]
        room.config = dataclasses.replace(RoomConfig(), **values)
        room.history = collections.deque(room.history, maxlen=room.config.historyLength)
        room.locked = False
        room.created = False
        await defer.maybeDeferred(rooms.save, room)
        return room.jid

    def generateEvent(
        self,
        room: Union[jid.JID, str],
        nodeIdentifier: str,
        payload: Union[domish.Element, str],
        itemIdentifier: Optional[str] = None,
    ) -> defer.Deferred:
        """
        Publish an event as the room itself (XEP-0316, DESIGN.md section
        6): C{server.mep.generateEvent}, which the HTTP API's C{POST
        /api/rooms/{room}/nodes/{node}/items} calls too.

        @param room: the bare room JID, or its localpart on L{mucDomain}.
        @param payload: the item's payload, a L{domish.Element} or XML text.
        @param itemIdentifier: the item id; the server makes one up if
            L{None}.
        @return: a Deferred firing with the item id, or failing with
            L{mepserver.errors.RoomNotFound} for an unknown room.
        """
        return defer.maybeDeferred(
            self.server.mep.generateEvent, room, nodeIdentifier, payload, itemIdentifier
        )

    @_deferred
    async def publishAsOccupant(
        self,
        occupant: Union[jid.JID, str],
        nodeIdentifier: str,
        payload: Union[domish.Element, str],
        itemIdentifier: Optional[str] = None,
    ) -> str:
        """
        Publish an event at an occupant's own MEP service, as that occupant
        (XEP-0316 section 3): what the occupant's client would do with a
        pubsub publish to its occupant JID, for scripting the other side of
        a MEP scenario. The node is created if needed; the room's interested
        sessions are notified from the occupant JID, the publisher's own
        sessions included (OQ-3, OQ-4).

        The occupant must be in the room: join it with a client first (for
        example one of L{connectClient}, sending its presence to the
        occupant JID). Its client gets the notifications, but no IQ.

        @param occupant: the occupant JID, C{room@mucDomain/nick}.
        @param payload: the item's payload, a L{domish.Element} or XML text.
        @param itemIdentifier: the item id; the server makes one up if
            L{None}.
        @return: a Deferred firing with the item id, or failing with
            L{mepserver.errors.RoomNotFound},
            L{mepserver.errors.OccupantNotFound} if nobody holds the nick,
            L{mepserver.errors.Forbidden} if the occupant may not publish
            (a visitor, OQ-10), or L{mepserver.errors.InvalidPayload}.
        """
        from mepserver import errors
        from mepserver.mep.handler import payloadXml

        if isinstance(occupant, str):
            occupant = jid.JID(occupant)
        mep = self.server.mep
        room = mep.findRoom(occupant.userhostJID())
        held = room.occupant(occupant.resource) if occupant.resource else None
        if held is None:
            raise errors.OccupantNotFound(f"there is no occupant {occupant.full()}")
        text = payloadXml(payload)
        # The request comes from the occupant's session seen last, as the
        # IQ of its client would.
        requestor = list(held.sessions)[-1]
        service = await mep.registry.get(held.jid)
        context = mep.resource.context(room, held.nick)
        result = service.publish(context, requestor, nodeIdentifier, text, itemIdentifier or None)
        await mep.resource.published(service, result)
        return result.item.id

    @_deferred
    async def createAccount(
        self, username: Optional[str] = None, password: Optional[str] = None
    ) -> Account:
        """
        Create an account.

        @param username: the username; without one, the first free of
            C{user1}, C{user2}, ...
        @param password: the password; a random one if L{None}.
        @return: a Deferred firing with the L{Account}.
        @raise mepserver.interfaces.UserExists: (in the Deferred) if the
            chosen username is taken.
        """
        password = password or secrets.token_urlsafe(12)
        # Deriving SCRAM keys takes a few milliseconds: reuse them.
        credentials = self._credentials.get(password)
        if credentials is None:
            credentials = self._credentials[password] = makeCredentials(password)
        if username is not None:
            await self.server.users.createUser(username, credentials)
        else:
            while True:
                self._accounts += 1
                username = f"user{self._accounts}"
                try:
                    await self.server.users.createUser(username, credentials)
                except UserExists:
                    continue
                break
        return Account(jid.JID(tuple=(username, self.domain, None)), password)

    def _clientTLSOptions(self):
        if self._tlsOptions is None:
            with open(self.certificatePath, "rb") as f:
                trustRoot = ssl.Certificate.loadPEM(f.read())
            self._tlsOptions = ssl.optionsForClientTLS(self.domain, trustRoot=trustRoot)
        return self._tlsOptions

    @_deferred
    async def connectClient(
        self, account: Account, resource: Optional[str] = None
    ) -> ConnectedClient:
        """
        Log a client in over TCP with STARTTLS, verifying
        L{certificatePath} for L{domain}, then SASL and resource binding.

        The client is closed by L{reset} and L{stop}, or its own
        C{close()}.

        @param account: the L{Account}; one whose JID has no user part, such
            as C{Account(jid.JID(running.domain), "")}, logs in with SASL
            ANONYMOUS (start the server with C{anonymous=True}).
        @param resource: the resource to ask for; without one, the server
            chooses.
        @return: a Deferred firing with a L{ConnectedClient}, or failing as
            negotiation did, for example with
            L{twisted.words.protocols.jabber.sasl.SASLAuthError}.
        """
        address = jid.JID(tuple=(account.jid.user, account.jid.host, resource))
        factory = client.XMPPClientFactory(
            address, account.password, configurationForTLS=self._clientTLSOptions()
        )
        done, closed = defer.Deferred(), defer.Deferred()

        def authenticated(xs):
            if not done.called:
                done.callback(xs)

        def initFailed(reason):
            if not done.called:
                done.errback(reason)

        def ended(reason):
            initFailed(reason)
            closed.callback(None)

        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, authenticated)
        factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, initFailed)
        factory.addBootstrap(xmlstream.STREAM_END_EVENT, ended)
        endpoint = endpoints.TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.c2sPort)
        xs = await endpoint.connect(factory)
        pending = (xs, closed)
        self._connecting.append(pending)
        try:
            await done
        except BaseException:
            if xs.transport is not None:
                xs.transport.loseConnection()
            await closed
            raise
        finally:
            self._connecting.remove(pending)
        connected = ConnectedClient(xs, self.reactor)
        if connected.connected:
            self._clients.append(connected)
        return connected

    def record(self, address: Union[Account, jid.JID, str]) -> StanzaRecorder:
        """
        Record the stanzas the server exchanges with an account of
        L{domain}: a bare JID (or an L{Account}) records all its sessions,
        a full JID one. Recording starts now.

        @return: the L{StanzaRecorder}, which L{reset} and L{stop} stop.
        @raise ValueError: for a JID of another domain.
        """
        if isinstance(address, Account):
            address = address.jid
        elif isinstance(address, str):
            address = jid.JID(address)
        if address.user is None or address.host != self.domain:
            raise ValueError(
                f"only the stanzas of accounts of {self.domain} can be "
                f"recorded, not {address.full()}"
            )
        recorder = StanzaRecorder(self.server.sessions, address, self.reactor)
        self._recorders.append(recorder)
        return recorder

    async def _disconnect(self):
        """
        Stop the recorders and close every client stream, ours and others.
        """
        recorders, self._recorders = self._recorders, []
        for recorder in recorders:
            recorder.stop()
        clients, self._clients = self._clients, []
        closing = [c.close() for c in clients]
        for xs, closed in list(self._connecting):
            if xs.transport is not None:
                xs.transport.loseConnection()
            closing.append(closed)
        await defer.gatherResults(closing)

    @_deferred
    async def reset(self):
        """
        Bring the server back to its state just after start, quickly, for
        tests that share one server: stop the recorders, close every client
        stream (a C{system-shutdown} stream error for clients other than
        L{connectClient}'s), forget every account, roster and room, and in
        deterministic mode restart the id sequence and the clock.

        Only memory storage can be reset.

        @return: a Deferred firing once every connection is closed.
        @raise mepserver.errors.ResetNotSupported: (a L{RuntimeError}, in
            the Deferred, before anything changes) if a store cannot be
            reset.
        """
        self.server.checkReset()
        await self._disconnect()
        await self.server.reset(text="the test fixture resets the server")
        self._accounts = 0
        if self._ownClock is not None:
            self._ownClock.advance(_DETERMINISTIC_START - self._ownClock.seconds())

    @_deferred
    async def suspend(self):
        """
        L{reset} the server, then close its ports: what a server shared by
        several tests does after each (L{MEPServerMixin} with
        C{mepserverShared}). Trial's dirty-reactor check runs after every
        test and flags, then removes from the reactor, every pending delayed
        call and every open connection or listening port, so that nothing of
        the server may stay in the reactor between tests; a suspended server
        holds nothing there. L{resume} opens the ports again.

        @return: a Deferred firing once every connection and port is closed.
        @raise mepserver.server.ResetNotSupported: (in the Deferred, before
            anything changes) as L{reset}.
        """
        await self.reset()
        ports, self._ports = self._ports, []
        self._suspended = [(p.getHost().host, p.getHost().port) for p in ports]
        await defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])

    @_deferred
    async def resume(self):
        """
        Listen again after L{suspend}: on the same port numbers if they are
        still free, on new ephemeral ones otherwise, which L{c2sPort},
        L{httpPort} and the URLs then give. Nothing happens if the server is
        not suspended.

        @return: a Deferred firing once the server listens.
        """
        suspended, self._suspended = self._suspended, None
        if suspended is None:
            return
        ports = []
        try:
            for (description, factory), (host, number) in zip(self.server.listeners, suspended):
                try:
                    endpoint = endpoints.serverFromString(
                        self.reactor, f"tcp:{number}:interface={host}"
                    )
                    ports.append(await endpoint.listen(factory))
                except error.CannotListenError:
                    endpoint = endpoints.serverFromString(self.reactor, description)
                    ports.append(await endpoint.listen(factory))
        except BaseException:
            for port in ports:
                await port.stopListening()
            self._suspended = suspended
            raise
        self._ports = ports
        self.c2sPort = ports[0].getHost().port
        self.httpPort = ports[1].getHost().port

    @_deferred
    async def stop(self):
        """
        Close every client stream and port, then stop the server.
        """
        await self._disconnect()
        await defer.gatherResults(
            [defer.maybeDeferred(p.stopListening) for p in self._ports]
        )
        await self.server.stopService()
        if self._temporaryDataDir:
            shutil.rmtree(self.server.config.dataDir, ignore_errors=True)


@_deferred
async def startServer(
    testCase=None,
    reactor=None,
    deterministic: bool = False,
    seed: int = 0,
    clock=None,
    **settings,
) -> RunningServer:
    """
    Build and start a server on ephemeral loopback ports.

    @param testCase: a trial C{TestCase}; if given, the server stops in
        its cleanup. Otherwise call L{RunningServer.stop}.
    @param reactor: the reactor to listen on; the global one if L{None}.
    @param deterministic: draw the server's ids from a seeded source and
        run it on a fixed clock (see L{mepserver.testing}).
    @param seed: the seed of deterministic mode.
    @param clock: the server's L{twisted.internet.interfaces.IReactorTime}
        (for timeouts, and delay stamps); by default the reactor, or in
        deterministic mode a L{task.Clock} at 2020-01-01T00:00:00Z.
    @param settings: L{mepserver.config.Config} fields to change, e.g.
        C{domain="example.org"} or C{anonymous=True}.
    @return: a Deferred firing with the L{RunningServer}.
    """
    if reactor is None:
        from twisted.internet import reactor
    ownClock = None
    ids = None
    if deterministic:
        ids = SeededIdSource(seed)
        if clock is None:
            clock = ownClock = task.Clock()
            clock.advance(_DETERMINISTIC_START)
    settings.setdefault("storage", "memory")
    settings.setdefault("c2sListen", "tcp:0:interface=127.0.0.1")
    settings.setdefault("httpListen", "tcp:0:interface=127.0.0.1")
    temporary = "dataDir" not in settings
    if temporary:
        settings["dataDir"] = tempfile.mkdtemp(prefix="mepserver-test-")
    try:
        config = configModule.load(overrides=settings)
        server = buildServer(config, clock=clock or reactor, ids=ids)
    except BaseException:
        if temporary:
            shutil.rmtree(settings["dataDir"], ignore_errors=True)
        raise
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
        if temporary:
            shutil.rmtree(settings["dataDir"], ignore_errors=True)
        raise
    running = RunningServer(server, ports, temporary, reactor)
    running._ownClock = ownClock
    if testCase is not None:
        testCase.addCleanup(running.stop)
    return running


class MEPServerMixin:
    """
    Start a server before each test of a trial C{TestCase}, and stop it
    after: mix it in before C{TestCase}.

        class ChatTests(MEPServerMixin, unittest.TestCase):
            mepserverSettings = {"deterministic": True}

            async def test_login(self):
                alice = await self.mepserver.createAccount()
                client = await self.mepserver.connectClient(alice)

    A C{setUp} of your own calls this one first: C{await super().setUp()}.

    With C{mepserverShared = True}, the tests of the class share one server
    instead: the first test's C{setUp} starts it, and after each test it is
    L{reset<RunningServer.reset>} and its ports closed
    (L{RunningServer.suspend}), to be opened again, on the same port
    numbers if they are free, by the next test's C{setUp}
    (L{RunningServer.resume}). So nothing of it stays in the reactor
    between tests, which trial's dirty-reactor check requires. The server
    stops in C{tearDownClass} under pytest (a C{tearDownClass} of your own
    calls this one), and at exit under trial, which runs no class fixtures;
    only memory storage can be shared.

    @cvar mepserverSettings: keyword arguments for L{startServer}:
        C{deterministic}, C{seed} and L{mepserver.config.Config} fields.
    @cvar mepserverShared: whether the class's tests share one server.
    @ivar mepserver: the L{RunningServer}, from C{setUp} on.
    """

    mepserverSettings: dict = {}
    mepserverShared: bool = False

    def setUp(self):
        d = defer.maybeDeferred(super().setUp)
        if self.mepserverShared:
            d.addCallback(lambda _: _sharedServer(self))
        else:
            d.addCallback(lambda _: startServer(self, **self.mepserverSettings))
        d.addCallback(lambda running: setattr(self, "mepserver", running))
        return d

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        running = cls.__dict__.get("_mepserverShared")
        if running is not None:
            del cls._mepserverShared
            # Suspended: nothing left to wait for.
            running.stop()


@_deferred
async def _sharedServer(testCase) -> RunningServer:
    """
    The server of a L{MEPServerMixin} class with C{mepserverShared}: started
    by its first test, resumed by the others, suspended after each.
    """
    cls = type(testCase)
    # The class's own: a subclass shares a server of its own.
    running = cls.__dict__.get("_mepserverShared")
    if running is None:
        running = await startServer(**testCase.mepserverSettings)
        try:
            running.server.checkReset()
        except BaseException:
            await running.stop()
            raise
        cls._mepserverShared = running
        atexit.register(_stopAtExit, running)
    else:
        await running.resume()
    testCase.addCleanup(running.suspend)
    return running


def _stopAtExit(running: RunningServer):
    """
    At exit, stop a suspended shared server, which holds nothing in the
    reactor: remove its temporary data directory.
    """
    running.stop()
