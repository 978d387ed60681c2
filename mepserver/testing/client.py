# -*- test-case-name: tests.test_testing -*-
"""
Test accounts and L{ConnectedClient}, a real client stream to the server
under test, with the waits and barriers of L{mepserver.testing}.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional, Union

from twisted.internet import defer
from twisted.words.protocols.jabber import jid, xmlstream
from twisted.words.xish import domish
from wokkel.disco import NS_DISCO_INFO
from wokkel.muc import NS_MUC, NS_MUC_USER

from mepserver.caps import NS_CAPS
from mepserver.testing.log import (
    StanzaNotReceived,
    UnexpectedStanza,
    returnsDeferred,
    matcher,
    Pattern,
    show,
    StanzaLog,
)

_CAPS_NODE = "https://mepserver.example/testing"


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


#: Seconds L{ConnectedClient.close} waits for the connection to close
#: before it aborts it.
CLOSE_TIMEOUT = 5


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

    def __init__(self, xs, clock, address: Optional[jid.JID] = None, explain=None):
        """
        @param address: the stream's JID; the one the server bound if
            L{None}.
        @param explain: called with this client's JID when a wait times
            out, it returns text for the failure message (the server's
            L{mepserver.testing.RunningServer.explainDeliveries}), or is
            L{None}.
        """
        self.xmlstream = xs
        self.jid = address if address is not None else xs.authenticator.jid
        self._log = StanzaLog(
            clock,
            f"was received by {self.jid.full()}",
            None if explain is None else (lambda: explain(self.jid)),
        )
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

    def waitFor(self, pattern: Pattern, timeout: float = 5.0) -> defer.Deferred:
        """
        Wait for a received element.

        @param pattern: an XPath string or a predicate (see L{mepserver.testing}).
        @return: a Deferred firing with the first matching element, already
            received or future, or failing with L{StanzaNotReceived}, whose
            message lists what arrived, after C{timeout} seconds or when the
            connection closes.
        """
        return self._log.waitFor(pattern, timeout)

    @returnsDeferred
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
        ping = self._pingRequest()
        self._requests += 1
        ping["id"] = f"mepserver-testing-ping-{self._requests}"
        self._pings.add(ping["id"])
        answer = await self.request(ping, timeout)
        if answer.getAttribute("type") != "result":
            raise UnexpectedStanza(f"the server refused a ping: {show(answer)}", answer)
        return answer

    def _pingRequest(self) -> domish.Element:
        """
        @return: a ping (XEP-0199) to the server, without an id.
        """
        ping = domish.Element((None, "iq"))
        ping["type"], ping["to"] = "get", self.jid.host
        ping.addElement(("urn:xmpp:ping", "ping"))
        return ping

    @returnsDeferred
    async def assertNoStanzaReceived(self, pattern: Pattern, timeout: float = 5.0) -> None:
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
        match = matcher(pattern)
        answer = await self.ping(timeout)
        for stanza in self.received:
            if stanza is answer:
                break
            if stanza.name == "iq" and stanza.getAttribute("id") in self._pings:
                continue
            if match(stanza):
                raise UnexpectedStanza(
                    f"a stanza matching {pattern!r} was received by "
                    f"{self.jid.full()} before a ping's answer: {show(stanza)}",
                    stanza,
                )

    def assertNoStanza(self, pattern: Pattern, window: float = 0.5) -> defer.Deferred:
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

    @returnsDeferred
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
        answered = None
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
                    f"{occupant} refused entry: {show(selfPresence)}", [selfPresence]
                )
            if answered is not None:
                await answered.addTimeout(timeout, self._clock)
                # A round trip: the server has handled the answer once it
                # answers what the client sent after it.
                await self.ping(timeout)
        finally:
            if answered is not None:
                # Refused, or never asked: answer no later query.
                self.xmlstream.removeObserver("/iq[@type='get']/query", answer)
        return selfPresence

    def close(self) -> defer.Deferred:
        """
        Close the connection, as a lost connection would end it (no closing
        stream tag). A peer that does not answer the TLS close (ejabberd
        does not) gets the connection aborted after L{CLOSE_TIMEOUT}
        seconds.

        @return: a Deferred firing once it is closed.
        """
        if not self.connected:
            return defer.succeed(None)
        d = defer.Deferred()
        self._closing.append(d)
        transport = self.xmlstream.transport
        abort = self._clock.callLater(CLOSE_TIMEOUT, transport.abortConnection)
        d.addBoth(lambda result: (abort.active() and abort.cancel(), result)[1])
        transport.loseConnection()
        return d


class ConnectedComponent(ConnectedClient):
    """
    An external component (XEP-0114) connected to a L{RunningServer} with
    Twisted's own component stack (L{twisted.words.protocols.jabber.
    component}): the C{jabber:component:accept} handshake over plain TCP.

    It waits and proves absence as a L{ConnectedClient} does; its pings go
    from its domain to the server's. What it sends goes as given: a
    component's stanzas need a C{from} at its domain (XEP-0114 section 3),
    which C{send} and C{request} do not add, so that a test can also send
    what the server refuses. (L{joinRoom} is for clients: a component
    joins a room with a presence from a JID at its domain, of its own.)

    @ivar jid: the component's domain, as a L{jid.JID}.
    @ivar serverDomain: the server's client domain, where pings go.
    """

    def __init__(self, xs, clock, address: jid.JID, serverDomain: str):
        ConnectedClient.__init__(self, xs, clock, address)
        self.serverDomain = serverDomain

    def __repr__(self):
        return f"<ConnectedComponent {self.jid.full()}>"

    def _pingRequest(self) -> domish.Element:
        ping = ConnectedClient._pingRequest(self)
        ping["from"], ping["to"] = self.jid.full(), self.serverDomain
        return ping
