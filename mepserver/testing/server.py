# -*- test-case-name: tests.test_testing -*-
"""
L{RunningServer}, L{startServer} and L{MEPServerMixin}: the server under
test, started in-process on ephemeral ports (see L{mepserver.testing}).
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import secrets
import shutil
import tempfile
from typing import Dict, List, Optional, Union

from twisted.internet import defer, endpoints, error, ssl, task
from twisted.protocols import policies
from twisted.web import server as webserver
from twisted.words.protocols.jabber import client, component, jid, xmlstream
from twisted.words.xish import domish

from mepserver import config as configModule
from mepserver.c2s.mechanisms import makeCredentials
from mepserver.ids import SeededIdSource
from mepserver.interfaces import ArchiveQuery, Credentials, UserExists
from mepserver.server import Server, buildServer
from mepserver.stanza import parseStanza
from mepserver.testing.client import Account, ConnectedClient, ConnectedComponent
from mepserver.testing.log import StanzaRecorder, returnsDeferred

#: Where the clock of deterministic mode starts: 2020-01-01T00:00:00Z.
_DETERMINISTIC_START = 1577836800.0

#: The stored credentials of each password used so far, by password.
_CREDENTIALS: Dict[str, Credentials] = {}


def _credentials(password: str) -> Credentials:
    """
    The credentials to store for C{password}, derived once per process.

    Deriving SCRAM keys takes a few milliseconds, and a suite starts many
    servers with the same accounts: every server reuses the keys of a
    password (salts shared between servers are of no concern to a test).
    """
    credentials = _CREDENTIALS.get(password)
    if credentials is None:
        credentials = _CREDENTIALS[password] = makeCredentials(password)
    return credentials


class OpenConnections(policies.WrappingFactory):
    """
    A factory that knows the connections it accepted and still has open,
    and can abort them all: a browser keeps idle HTTP connections (and a
    page's WebSocket or event stream) open after a test is done with the
    page, and trial's dirty-reactor check flags what stays open.
    """

    def __init__(self, wrappedFactory):
        policies.WrappingFactory.__init__(self, wrappedFactory)
        self._lost: Dict[policies.ProtocolWrapper, defer.Deferred] = {}

    def unregisterProtocol(self, p):
        policies.WrappingFactory.unregisterProtocol(self, p)
        lost = self._lost.pop(p, None)
        if lost is not None:
            lost.callback(None)

    def abortAll(self) -> defer.Deferred:
        """
        Abort every open connection.

        @return: a Deferred firing once every one is closed.
        """
        closing = []
        for p in list(self.protocols):
            closing.append(self._lost.setdefault(p, defer.Deferred()))
            p.transport.abortConnection()
        return defer.gatherResults(closing)


def _listening(factory, connections: List[OpenConnections]):
    """
    The factory to listen with for one of L{Server.listeners}: the HTTP
    site in an L{OpenConnections}, added to C{connections}, so that the
    server can close what a browser keeps open.
    """
    if isinstance(factory, webserver.Site):
        factory = OpenConnections(factory)
        connections.append(factory)
    return factory


@dataclasses.dataclass(frozen=True)
class ArchivedStanza:
    """
    One message of an account's or a room's archive (XEP-0313), as
    L{RunningServer.archive} and L{RunningServer.roomArchive} read it.

    @ivar id: its archive UID: the C{id} of the XEP-0359 C{<stanza-id/>}
        the account's sessions got with it, and of a MAM query's
        C{<result/>}.
    @ivar timestamp: when it was archived, in seconds since the epoch, on
        the server's clock.
    @ivar with_: the other party: the recipient as addressed for a message
        the account sent, the sender's full JID for one it received; in a
        room's archive the sender's real full JID, L{None} for the room's
        own messages.
    @ivar message: the message as archived, a L{domish.Element}.
    """

    id: str
    timestamp: float
    with_: Optional[jid.JID]
    message: domish.Element


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
    @ivar uploadDomain: the HTTP File Upload (XEP-0363) service's domain.
    @ivar c2sPort: the client-to-server TCP port on 127.0.0.1 (STARTTLS).
    @ivar httpPort: the HTTP port: WebSocket at C{/xmpp-websocket}, the
        JSON API at C{/api/} (L{apiURL}), uploads at C{/upload/}
        (L{uploadURL}).
    @ivar directTLSPort: the direct TLS (XEP-0368) client port on
        127.0.0.1, or L{None} if the server was started with
        C{directTLSListen="off"}.
    @ivar componentPort: the port on 127.0.0.1 where external components
        (XEP-0114) connect, or L{None} if the server was started without
        C{componentsListen} (see L{connectComponent}).
    @ivar components: the configured components' domains to their secrets
        (C{startServer(components={"bot.localhost": "secret"})}).
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
        self.uploadDomain = server.config.uploadDomain
        self.components = dict(server.config.components)
        self._readPorts(ports)
        self.certificatePath = server.certificatePath
        self._accounts = 0
        self._recorders: List[StanzaRecorder] = []
        # Clients and components.
        self._clients: List[ConnectedClient] = []
        self._connecting = []
        self._tlsOptions = None
        # The fixture's own clock of deterministic mode, which reset() winds
        # back; a clock given by the test is left alone.
        self._ownClock = None
        # While suspended, the (interface, port number) of each listener.
        self._suspended = None
        # The HTTP listener's connections (startServer and resume set it).
        self._http: List[OpenConnections] = []

    def _readPorts(self, ports):
        """
        Note the port numbers, in the order of L{Server.listeners}.
        """
        from mepserver.components import ComponentXmlStreamFactory

        self.c2sPort = ports[0].getHost().port
        self.httpPort = ports[1].getHost().port
        self.directTLSPort = self.componentPort = None
        for (_, factory), port in zip(self.server.listeners[2:], ports[2:]):
            if isinstance(factory, ComponentXmlStreamFactory):
                self.componentPort = port.getHost().port
            else:
                self.directTLSPort = port.getHost().port
        if self.server.config.uploadPublicURL is None:
            # Slot URLs name the port the HTTP listener got.
            self.server.uploads.baseURL = f"http://127.0.0.1:{self.httpPort}"

    @property
    def webSocketURL(self) -> str:
        """
        The C{ws://} URL of the RFC 7395 endpoint.
        """
        return f"ws://127.0.0.1:{self.httpPort}/xmpp-websocket"

    @property
    def hostMetaURL(self) -> str:
        """
        The C{http://} URL of the XEP-0156 host-meta (XRD) naming the
        WebSocket endpoint; add C{.json} for the JRD.
        """
        return f"http://127.0.0.1:{self.httpPort}/.well-known/host-meta"

    @property
    def uploadURL(self) -> str:
        """
        The C{http://} URL under which HTTP File Upload (XEP-0363) slots
        live, with its trailing slash; the slots come from L{uploadDomain}.
        """
        return f"http://127.0.0.1:{self.httpPort}/upload/"

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

    @returnsDeferred
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

    @returnsDeferred
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

    def explainDeliveries(self, address: Union[Account, jid.JID, str], last: int = 5) -> str:
        """
        What the server's last MEP publications came to for a client: the
        delivery explainer's answer (L{mepserver.mep.deliveries}), the one
        C{GET /api/rooms/{room}/nodes/{node}/items/{id}/deliveries} gives.
        When a wait of a L{ConnectedClient} or L{StanzaRecorder} for a
        stanza times out, its failure message ends with this, so that a
        MEP event that never came says why:

            no stanza matching '/message/event' was received by
            bob@localhost/phone within 5.0 s; nothing arrived
            MEP publications, newest last, and what became of each for
            bob@localhost/phone:
              item 'x' of node 'urn:example' at lobby@conference.localhost:
                bob@localhost/phone: not delivered [caps-hash-mismatch]: ...

        @param address: a full JID (that session), a bare JID or an
            L{Account} (each of its sessions).
        @param last: how many of the newest publications, of all rooms.
        @return: the text, or C{""} if no publication is recorded.
        """
        if isinstance(address, Account):
            address = address.jid
        elif isinstance(address, str):
            address = jid.JID(address)
        log = self.server.deliveries
        publications = log.publications()[-last:]
        if not publications:
            return ""
        lines = [f"MEP publications, newest last, and what became of each for {address.full()}:"]
        for publication in publications:
            room = self.server.rooms.get(publication.room)
            lines.append(
                f"  item {publication.item!r} of node {publication.node!r} at "
                f"{publication.service.full()}:"
            )
            for delivery in log.explain(publication, address, room):
                lines.append("    " + delivery.describe())
        return "\n".join(lines)

    @returnsDeferred
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
        credentials = _credentials(password)
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

    @returnsDeferred
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
        xs = await self._connectStream(factory, self.c2sPort)
        return self._keep(ConnectedClient(xs, self.reactor, explain=self.explainDeliveries))

    @returnsDeferred
    async def connectComponent(
        self, name: Optional[str] = None, secret: Optional[str] = None
    ) -> ConnectedComponent:
        """
        Connect an external component (XEP-0114) to L{componentPort} and
        shake hands: the server must have been started with
        C{componentsListen="tcp:0:interface=127.0.0.1"} and
        C{components={name: secret}}.

        The component is closed by L{reset} and L{stop}, or its own
        C{close()}.

        @param name: the component's domain; may be left out when one
            component is configured.
        @param secret: the secret to shake hands with; the configured one
            (L{components}) if L{None}.
        @return: a Deferred firing with a L{ConnectedComponent}, or failing
            with the L{twisted.words.protocols.jabber.error.StreamError} the
            server refused the component with (C{host-unknown},
            C{not-authorized}, C{conflict}).
        @raise ValueError: (in the Deferred) without a component listener,
            or without C{name} when not exactly one component is
            configured.
        """
        if self.componentPort is None:
            raise ValueError("the server was started without componentsListen")
        if name is None:
            if len(self.components) != 1:
                raise ValueError(
                    f"name one of the {len(self.components)} components: "
                    f"{', '.join(sorted(self.components))}"
                )
            name = next(iter(self.components))
        if secret is None:
            secret = self.components.get(name, "")
        factory = component.componentFactory(name, secret)
        xs = await self._connectStream(factory, self.componentPort)
        return self._keep(
            ConnectedComponent(xs, self.reactor, jid.JID(name), self.domain)
        )

    async def _connectStream(self, factory, port):
        """
        Connect C{factory}'s stream to C{port} on 127.0.0.1 and wait until
        it is authenticated.

        @return: the authenticated stream.
        @raise Exception: how negotiation failed: a stream error the server
            sent, or an initializer's failure; the connection is then closed.
        """
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
        # A refusal of the stream header or of a component's handshake is a
        # stream error, which no initializer reports.
        factory.addBootstrap(xmlstream.STREAM_ERROR_EVENT, initFailed)
        factory.addBootstrap(xmlstream.STREAM_END_EVENT, ended)
        endpoint = endpoints.TCP4ClientEndpoint(self.reactor, "127.0.0.1", port)
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
        return xs

    def _keep(self, connected):
        """
        Keep C{connected} for L{reset} and L{stop} until it closes.
        """
        if connected.connected:
            # Forgotten once closed, so that a long run of clients (a soak
            # test) does not keep every one and all it received.
            self._clients.append(connected)
            # Before the client's own observer, which fires close().
            connected.xmlstream.addOnetimeObserver(
                xmlstream.STREAM_END_EVENT, lambda _: self._forget(connected), 1
            )
        return connected

    def _forget(self, client: ConnectedClient) -> None:
        if client in self._clients:
            self._clients.remove(client)

    @returnsDeferred
    async def archive(self, account: Union[Account, jid.JID, str]) -> List[ArchivedStanza]:
        """
        Read an account's message archive (XEP-0313) straight from the
        store, oldest first: every message it keeps, whatever the page
        limits of MAM queries.

        @param account: an L{Account}, a JID of the account, or a username
            of L{domain}.
        @return: a Deferred firing with the L{ArchivedStanza}s.
        """
        if isinstance(account, Account):
            account = account.jid
        elif isinstance(account, str):
            account = jid.JID(account if "@" in account else f"{account}@{self.domain}")
        return await self._readArchive(account.userhost())

    @returnsDeferred
    async def roomArchive(self, room: Union[jid.JID, str]) -> List[ArchivedStanza]:
        """
        Read a room's message archive (XEP-0313 section 7.1.2) straight
        from the store, oldest first: the groupchat messages, subject
        changes and moderation messages it keeps, each from the sender's
        occupant JID (a moderated message as its XEP-0425 tombstone), with
        the sender's real JID as C{with_} (L{None} for the room's own).

        @param room: the bare room JID, or its localpart on L{mucDomain}.
        @return: a Deferred firing with the L{ArchivedStanza}s.
        """
        return await self._readArchive(self._roomJID(room).full())

    async def _readArchive(self, archive: str) -> List[ArchivedStanza]:
        messages: List[ArchivedStanza] = []
        after = None
        while True:
            page = await self.server.archiveStore.queryArchive(
                archive, ArchiveQuery(after=after, max=500)
            )
            messages.extend(
                ArchivedStanza(
                    m.id,
                    m.timestamp,
                    jid.JID(m.with_) if m.with_ else None,
                    parseStanza(m.stanza),
                )
                for m in page.messages
            )
            if page.complete or not page.messages:
                return messages
            after = page.messages[-1].id

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
        recorder = StanzaRecorder(
            self.server.sessions,
            address,
            self.reactor,
            lambda: self.explainDeliveries(address),
        )
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

    @returnsDeferred
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

    @returnsDeferred
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
        await self._closeHTTP()

    async def _closeHTTP(self):
        """
        Abort the HTTP connections still open, once the listener is closed.
        """
        http, self._http = self._http, []
        await defer.gatherResults([connections.abortAll() for connections in http])

    @returnsDeferred
    async def resume(self):
        """
        Listen again after L{suspend}: on the same port numbers if they are
        still free, on new ephemeral ones otherwise, which L{c2sPort},
        L{httpPort}, L{directTLSPort} and the URLs then give. Nothing
        happens if the server is not suspended.

        @return: a Deferred firing once the server listens.
        """
        suspended, self._suspended = self._suspended, None
        if suspended is None:
            return
        ports = []
        http: List[OpenConnections] = []
        try:
            for (description, factory), (host, number) in zip(self.server.listeners, suspended):
                factory = _listening(factory, http)
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
        self._http = http
        self._readPorts(ports)

    @returnsDeferred
    async def stop(self):
        """
        Close every client stream and port, and the HTTP connections still
        open (a browser's), then stop the server.
        """
        await self._disconnect()
        await defer.gatherResults(
            [defer.maybeDeferred(p.stopListening) for p in self._ports]
        )
        await self._closeHTTP()
        await self.server.stopService()
        if self._temporaryDataDir:
            shutil.rmtree(self.server.config.dataDir, ignore_errors=True)


@returnsDeferred
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
        C{domain="example.org"} or C{anonymous=True}. With C{components}
        (domains to secrets, XEP-0114), the component listener is on an
        ephemeral loopback port too, unless C{componentsListen} says
        otherwise (L{RunningServer.componentPort},
        L{RunningServer.connectComponent}).
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
    settings.setdefault("directTLSListen", "tcp:0:interface=127.0.0.1")
    if settings.get("components"):
        settings.setdefault("componentsListen", "tcp:0:interface=127.0.0.1")
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
    http: List[OpenConnections] = []
    try:
        for description, factory in server.listeners:
            endpoint = endpoints.serverFromString(reactor, description)
            ports.append(await endpoint.listen(_listening(factory, http)))
        await server.ready
    except BaseException:
        for port in ports:
            await port.stopListening()
        await server.stopService()
        if temporary:
            shutil.rmtree(settings["dataDir"], ignore_errors=True)
        raise
    running = RunningServer(server, ports, temporary, reactor)
    running._http = http
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


@returnsDeferred
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
