# -*- test-case-name: tests.test_testing -*-
"""
Patterns, the stanza log behind every wait, and the server-side
L{StanzaRecorder} (see L{mepserver.testing} for how patterns and waiting
work).
"""

from __future__ import annotations

import functools
from typing import Callable, List, Optional, Union

from twisted.internet import defer
from twisted.python import failure
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish, xpath

from mepserver.stanza import copyStanza

#: How many stanzas a failure message shows, and how much of each.
_SHOWN_STANZAS = 20
_SHOWN_CHARACTERS = 300

#: A stanza pattern: an XPath string or a predicate (see L{mepserver.testing}).
Pattern = Union[str, Callable[[domish.Element], bool]]


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


def returnsDeferred(f):
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


def matcher(pattern: Pattern):
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


def show(stanza) -> str:
    """
    @return: a stanza as failure messages show it, cut to a readable length.
    """
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
    return head + ":\n" + "\n".join("  " + show(s) for s in shown)


class StanzaLog:
    """
    Stanzas in arrival order, and the Deferreds waiting for some of them.

    @ivar stanzas: the stanzas so far.
    @ivar count: how many stanzas were ever added, cleared ones included:
        the position in the log of the next one.
    @ivar explain: a callable returning text to add to a timed-out wait's
        failure message (the delivery explainer's answer, see
        L{mepserver.testing.RunningServer.explainDeliveries}), or L{None}.
    """

    def __init__(self, clock, description, explain: Optional[Callable[[], str]] = None):
        self.stanzas: List[domish.Element] = []
        self.count = 0
        self._clock = clock
        self._description = description
        self.explain = explain
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
        self, pattern: Pattern, timeout: float, since: Optional[int] = None
    ) -> defer.Deferred:
        """
        @param since: a L{count}: only stanzas added from then on match.
        @return: a Deferred firing with the first stanza, recorded or
            future, that matches C{pattern}, or failing with
            L{StanzaNotReceived} after C{timeout} seconds.
        """
        match = matcher(pattern)
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
            explanation = self._explanation()
            return failure.Failure(
                StanzaNotReceived(
                    f"no stanza matching {pattern!r} {self._description} "
                    f"within {timeout} s; {_describe(self.stanzas)}{explanation}",
                    list(self.stanzas),
                )
            )

        return d.addTimeout(timeout, self._clock, onTimeoutCancel=timedOut)

    def _explanation(self) -> str:
        """
        @return: what L{explain} says, on lines of its own, or C{""}.
        """
        if self.explain is None:
            return ""
        try:
            text = self.explain()
        except Exception as e:
            text = f"(the delivery explainer failed: {e!r})"
        return "\n" + text if text else ""

    def assertNone(self, pattern: Pattern, window: float) -> defer.Deferred:
        """
        @return: a Deferred firing with L{None} once C{window} seconds
            passed without a new stanza matching C{pattern}, or failing with
            L{UnexpectedStanza} as soon as one arrives.
        """
        match = matcher(pattern)
        d = defer.Deferred(self._forget)

        def matched(stanza):
            d.errback(
                UnexpectedStanza(
                    f"a stanza matching {pattern!r} {self._description} "
                    f"within {window} s: {show(stanza)}",
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

    def __init__(self, sessions, address: jid.JID, clock, explain=None):
        """
        @param sessions: the L{mepserver.c2s.sessions.SessionManager} to
            observe.
        @param clock: the L{twisted.internet.interfaces.IReactorTime} of
            timeouts and windows.
        @param explain: what a timed-out wait for a received stanza adds
            to its failure message (L{StanzaLog.explain}).
        """
        self.jid = address
        self._sessions = sessions
        who = address.full()
        self._received = StanzaLog(clock, f"was sent to {who}", explain)
        self._sent = StanzaLog(clock, f"came from {who}")
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
        self, pattern: Pattern, timeout: float = 5.0, sent: bool = False
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
        self, pattern: Pattern, window: float = 0.5, sent: bool = False
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
