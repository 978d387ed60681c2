# -*- test-case-name: tests.test_server -*-
"""
Wire every part of mepserver together, once.

Reading L{buildServer} alone should show every moving part: the stores, the
router, the client domain's component with its handlers, the client
listeners (TCP and WebSocket) and how a stanza flows between them:

  client stream -> L{Session} (stamps C{from}) -> L{Router} -> the domain's
  component -> its handlers -> L{Router} -> L{Session} -> client stream.

As a host server's MUC component (C{[component] connect}, XEP-0114),
L{buildComponentServer} wires only the MUC domain (L{buildMUCService}, the
same as standalone), the HTTP API and the stores, and the router's default
route is the link to the host (L{mepserver.hostlink.HostLink}):

  host -> L{HostLink} -> L{Router} -> the MUC domain's handlers ->
  L{Router} -> L{HostLink} -> host -> the users' sessions.

L{buildServer} opens no sockets: L{mepserver.tap} and
L{mepserver.testing} turn L{Server.listeners} into listening ports.
"""

from __future__ import annotations

import functools
import os
from typing import List, Optional, Tuple

from twisted.application import service
from twisted.internet import defer
from twisted.internet.interfaces import IProtocolFactory
from twisted.logger import Logger
from twisted.web import server as webserver
from twisted.words.protocols.jabber import jid
from wokkel import disco, generic, ping

import mepserver
from mepserver import writethrough
from mepserver.api import APIResource
from mepserver.c2s import tls
from mepserver.c2s.bind import BindStep, SessionFeatureStep
from mepserver.c2s.blocking import BlockingHandler
from mepserver.c2s.bookmarks import LegacyBookmarks
from mepserver.c2s.carbons import CarbonsHandler, MessageCarbons
from mepserver.c2s.csi import CSIFeatureStep
from mepserver.c2s.directtls import directTLSFactory
from mepserver.c2s.disco import ServerDiscoHandler, ServerInfoHandler, ServerVersionHandler
from mepserver.c2s.hostmeta import wellKnownResource
from mepserver.c2s.mechanisms import makeCredentials, mechanismFactories
from mepserver.c2s.offline import OfflineMessages
from mepserver.c2s.private import PrivateHandler
from mepserver.c2s.register import RegisterStep, RegistrationHandler, generateUsername
from mepserver.c2s.roster import (
    PreApprovalStep,
    PresenceHandler,
    RosterHandler,
    RosterVersioningStep,
)
from mepserver.c2s.sasl import SASLStep
from mepserver.c2s.sessions import DeliveryHandler, SessionManager
from mepserver.c2s.sm import StreamManagement, StreamManagementStep
from mepserver.c2s.stream import (
    C2SAuthenticator,
    C2SXmlStreamFactory,
    InputThrottle,
    StreamRegistry,
    WriteGatherer,
)
from mepserver.c2s.vcard import VCardHandler
from mepserver.c2s.websocket import XMPPWebSocketResource
from mepserver.caps import CapsCache, DiscoInfoQuery
from mepserver.components import (
    ComponentAuthenticator,
    Components,
    ComponentXmlStreamFactory,
)
from mepserver.config import Config, loopbackOnly
from mepserver.errors import ResetNotSupported
from mepserver.hostlink import HostLink
from mepserver.ids import IdSource, SeededIdSource
from mepserver.inspector.resource import pageResources
from mepserver.inspector.stanzas import StanzaTap
from mepserver.muc.archive import RoomArchives
from mepserver.muc.handler import MUCDiscoHandler, MUCHandler
from mepserver.muc.registry import Rooms
from mepserver.mep.deliveries import DeliveryLog
from mepserver.mep.handler import MEPHandler
from mepserver.mep.interests import RoomInterests
from mepserver.mep.model import makeService as makeMEPService
from mepserver.mep.resource import MEPResource
from mepserver.iqclient import IQClient
from mepserver.interfaces import (
    IArchiveStore,
    IPubSubStore,
    IRoomStore,
    IUserStore,
    UserExists,
)
from mepserver.mam.account import AccountArchiveHandler, AccountArchives
from mepserver.mam.query import PageLimits
from mepserver.pep.handler import PEPHandler
from mepserver.pep.model import makeService as makePEPService
from mepserver.pep.resource import PEPResource
from mepserver.pubsub.interests import InterestTracker
from mepserver.pubsub.registry import ServiceRegistry
from mepserver.router import Domain, Router
from mepserver.storage.memory import (
    MemoryArchiveStore,
    MemoryPubSubStore,
    MemoryRoomStore,
    MemoryUserStore,
)
from mepserver.storage.sqlite import SQLiteStore
from mepserver.upload.handler import UploadHandler
from mepserver.upload.model import UploadService
from mepserver.upload.resource import UploadResource
from mepserver.upload.store import DiskFileStore, MemoryFileStore
from mepserver.web import Folder

log = Logger()


class Server(service.MultiService):
    """
    One mepserver: its components as child services, its listeners as data.

    @ivar config: the L{Config} it was built from.
    @ivar router: the L{Router}.
    @ivar users: the L{mepserver.interfaces.IUserStore}.
    @ivar roomStore: the L{mepserver.interfaces.IRoomStore}; with SQLite,
        the same object as C{users}.
    @ivar pubsubStore: the L{mepserver.interfaces.IPubSubStore} of PEP and
        persistent MEP nodes; with SQLite, the same object as C{users}.
    @ivar archiveStore: the L{mepserver.interfaces.IArchiveStore} of
        message archives (XEP-0313); with SQLite, the same object as the
        room store.
    @ivar archives: the client domain's L{AccountArchives}: accounts'
        message archives, their preferences and expiry.
    @ivar roomArchives: the MUC service's L{RoomArchives}: rooms' message
        archives (XEP-0313) and moderation tombstones (XEP-0425).
    @ivar caps: the server-wide L{CapsCache} (XEP-0115), for PEP and MEP.
    @ivar pep: the client domain's L{PEPHandler} (XEP-0163).
    @ivar blocking: the client domain's L{BlockingHandler} (XEP-0191).
    @ivar vcards: the client domain's L{VCardHandler} (XEP-0054, XEP-0153).
    @ivar sessions: the client domain's L{SessionManager}.
    @ivar delivery: the client domain's L{DeliveryHandler}: local
        delivery, and broadcasts in bulk.
    @ivar streamManagement: the client domain's L{StreamManagement}
        (XEP-0198), which keeps hibernating sessions.
    @ivar rooms: the MUC service's L{mepserver.muc.registry.Rooms}.
    @ivar muc: the MUC service's L{MUCHandler}.
    @ivar mep: the MUC service's L{MEPHandler} (XEP-0316); its
        C{generateEvent(room, nodeIdentifier, payload, itemIdentifier=None)}
        publishes room events.
    @ivar uploads: the upload service's L{UploadService} (XEP-0363): its
        C{baseURL} begins the slot URLs.
    @ivar components: the external components' routes (XEP-0114), a
        L{mepserver.components.Components}.
    @ivar deliveries: the MUC service's
        L{mepserver.mep.deliveries.DeliveryLog}: who each MEP publication
        reached, and why the others not (the delivery explainer).
    @ivar stanzas: the inspector's L{StanzaTap} on the client sessions.
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} it runs on.
    @ivar ids: the L{IdSource} of the ids it makes up.
    @ivar certificate: the TLS L{twisted.internet.ssl.PrivateCertificate}.
    @ivar certificatePath: the PEM file a client can trust.
    @ivar listeners: C{(endpointDescription, factory)} pairs to listen on:
        C2S (STARTTLS), HTTP, then direct TLS (XEP-0368) unless it is off,
        then external components (XEP-0114) if C{[components] listen} is
        set.
    @ivar ready: a Deferred that fires once the stores are open and the
        configured accounts provisioned, after L{startService}.
    """

    listeners: List[Tuple[str, IProtocolFactory]]

    def __init__(self, config: Config):
        service.MultiService.__init__(self)
        self.setName("mepserver")
        self.config = config
        self.listeners = []
        self.ready: Optional[defer.Deferred] = None

    def startService(self):
        service.MultiService.startService(self)
        self.ready = defer.ensureDeferred(self._prepare())

    async def _prepare(self):
        for store in self._stores():
            await store.prepare()
        await self.rooms.load()
        self.uploads.load()
        if self.config.storage != "memory":
            # Archives kept from an earlier run may hold messages to expire.
            self.archives.arm()
        for username, password in sorted(self.config.users.items()):
            credentials = makeCredentials(password)
            try:
                await self.users.createUser(username, credentials)
            except UserExists:
                await self.users.setCredentials(username, credentials)
        log.info(
            "mepserver {version} serving {domain}; trust {cert} for TLS",
            version=mepserver.__version__,
            domain=self.config.domain,
            cert=os.path.abspath(self.certificatePath),
        )

    @defer.inlineCallbacks
    def stopService(self):
        """
        Tell every room occupant the MUC service shuts down (XEP-0045 332),
        close every client stream with C{system-shutdown}, then stop the
        components and close the stores. Stopping twice does nothing.
        """
        if not self.running:
            return
        # Messages waiting for their room's archive go out first.
        yield self.muc.locks.drain()
        self.muc.shutdown()
        self.stanzas.closeAll()
        yield self.streams.closeAll()
        # Hibernating sessions have no stream to close: end them.
        self.streamManagement.reset()
        # Ended sessions broadcast unavailable presence, which may wait for
        # the store: let that finish before the components stop.
        yield self.sessions.locks.drain()
        self.archives.stop()
        yield service.MultiService.stopService(self)
        for store in self._stores():
            yield store.close()

    def getCredentials(self, username: str) -> defer.Deferred:
        """
        The credentials SASL checks (L{IUserStore.getCredentials}), once
        the server is ready: a client may connect as soon as a port
        listens, while the stores still open and the configured accounts
        are being provisioned, and its login must find its account.
        """
        ready = self.ready
        if ready is None or ready.called:
            return self.users.getCredentials(username)
        d = defer.Deferred()

        def readyNow(result):
            defer.maybeDeferred(self.users.getCredentials, username).chainDeferred(d)
            return result

        ready.addBoth(readyNow)
        return d

    def checkReset(self) -> None:
        """
        Check that L{reset} can work, without changing anything.

        @raise ResetNotSupported: a store keeps its state on disk, so only
            memory storage can be reset.
        """
        for store in self._stores():
            if not callable(getattr(store, "reset", None)):
                raise ResetNotSupported(
                    f"{type(store).__name__} cannot be reset: only memory "
                    "storage can be (start the server with storage='memory', "
                    "[storage] backend = memory)"
                )

    @defer.inlineCallbacks
    def reset(self, text: str = "the server is being reset"):
        """
        Bring the server back to its state just after start, for tests and
        backends that share one server: close every client stream with
        C{system-shutdown} and C{text}, forget every account, roster, room,
        PEP and MEP node, and restart a seeded id sequence. Only memory
        storage can be reset.

        Both L{mepserver.testing.RunningServer.reset} and C{POST
        /api/reset} (L{mepserver.api}) call this.

        @return: a Deferred firing once every stream is closed and the state
            forgotten.
        @raise ResetNotSupported: (in the Deferred, before anything changes)
            as L{checkReset}.
        """
        self.checkReset()
        yield self.streams.closeAll(text=text)
        self.streamManagement.reset()
        for store in self._stores():
            store.reset()
        self.pep.reset()
        self.blocking.reset()
        self.vcards.reset()
        self.caps.reset()
        self.uploads.reset()
        self.archives.reset()
        self.stanzas.reset()
        # Rooms.reset also resets MEP and the delivery log, its observers.
        self.rooms.reset()
        if isinstance(self.ids, SeededIdSource):
            self.ids.reset()

    def _stores(self):
        """
        @return: each store once: one SQLite store is both C{users} and
            C{roomStore}, and its pool must be prepared and closed once.
        """
        stores = [self.users]
        for store in (self.roomStore, self.pubsubStore, self.archiveStore):
            if all(store is not other for other in stores):
                stores.append(store)
        return stores


class ComponentServer(Server):
    """
    mepserver as a host server's MUC component (XEP-0114): the MUC service
    with MEP, the HTTP API and the stores; the host has the users, their
    sessions and everything else.

    Its attributes are those of L{Server} that concern the MUC service
    (C{config}, C{router}, C{roomStore}, C{pubsubStore}, C{archiveStore},
    C{caps}, C{rooms}, C{muc}, C{mep}, C{roomArchives}, C{clock}, C{ids},
    C{listeners} with the HTTP listener alone, C{ready}), and:

    @ivar archives: an L{AccountArchives} for its expiry timer alone, which
        rooms' archives share: a component archives no account.

    @ivar link: the L{HostLink} to the host; it connects once the stores
        are open and the persistent rooms loaded, so that the host's first
        stanza finds them.
    """

    async def _prepare(self):
        for store in self._stores():
            await store.prepare()
        await self.rooms.load()
        if self.config.storage != "memory":
            # Archives kept from an earlier run may hold messages to expire.
            self.archives.arm()
        log.info(
            "mepserver {version} serving {mucDomain} as a component of "
            "{domain} through {where}",
            version=mepserver.__version__,
            mucDomain=self.config.mucDomain,
            domain=self.config.domain,
            where=self.config.componentConnect,
        )
        if self.running:
            # A child added to a running parent starts at once; it stops
            # first (MultiService stops children in reverse order), after
            # the occupants were told of the shutdown through it.
            self.link.setServiceParent(self)

    @defer.inlineCallbacks
    def stopService(self):
        """
        Tell every room occupant, through the host, that the MUC service
        shuts down (XEP-0045 332), close the link, stop the MUC domain and
        close the stores. Stopping twice does nothing.
        """
        if not self.running:
            return
        # Messages waiting for their room's archive go out first.
        yield self.muc.locks.drain()
        self.muc.shutdown()
        self.archives.stop()
        yield service.MultiService.stopService(self)
        for store in self._stores():
            yield store.close()

    def getCredentials(self, username: str) -> defer.Deferred:
        """
        Nobody logs in to a component: the host has the accounts.
        """
        raise NotImplementedError("a component has no accounts")

    @defer.inlineCallbacks
    def reset(self, text: str = "the server is being reset"):
        """
        Bring the MUC service back to its state just after start: every
        occupant is told the service shut down (XEP-0045 332), and every
        room and MEP node is forgotten. Only memory storage can be reset.

        @param text: unused: the host's client streams stay open.
        @raise ResetNotSupported: (in the Deferred, before anything
            changes) as L{checkReset}.
        """
        self.checkReset()
        self.muc.shutdown()
        for store in self._stores():
            store.reset()
        self.caps.reset()
        self.archives.reset()
        # Rooms.reset also resets MEP, one of its observers.
        self.rooms.reset()
        if isinstance(self.ids, SeededIdSource):
            self.ids.reset()
        yield None

    def _stores(self):
        """
        @return: each store once, as L{Server._stores}, without the user
            store: a component keeps no accounts.
        """
        stores = [self.roomStore]
        for store in (self.pubsubStore, self.archiveStore):
            if all(store is not other for other in stores):
                stores.append(store)
        return stores


def buildMUCService(server: Server, config: Config, clock, isConnected=None) -> Domain:
    """
    Add the MUC service with MEP to C{server}, as its C{muc-domain}
    component on its router: the same in both modes. It only talks to the
    router, which reaches the client domain in-process when standalone, and
    the host server (L{HostLink}) as a component.

    Sets C{server.rooms}, C{server.mep}, C{server.deliveries},
    C{server.roomArchives} and C{server.muc}; needs C{server.router}, C{server.ids}, C{server.caps},
    C{server.roomStore}, C{server.pubsubStore}, C{server.archiveStore} and
    C{server.archives} (the archives' expiry timer).

    @param isConnected: C{isConnected(session)} tells whether a client is
        connected as a session's full JID (the delivery explainer's ghosts),
        or L{None} when the server cannot know (as a component).
    @return: the MUC domain's L{Domain}.
    """
    # The MUC domain (XEP-0045): rooms in memory, persistent ones written
    # through to the room store and loaded at start.
    server.rooms = Rooms(config, server.ids, clock, server.roomStore)
    mucDomain = Domain(server.router, config.mucDomain)
    mucDomain.setName("muc-domain")
    mucDomain.setServiceParent(server)
    # MEP (XEP-0316): every room JID and occupant JID is a pubsub service
    # on the engine PEP uses, with its own registry (PEP and MEP never
    # share a node). The handler registers with the rooms (their lifecycle,
    # and room events: Room.generateEvent, server.mep); the MUC handler
    # tells it of occupants' presence, and leaves it the pubsub IQs to
    # occupant JIDs it would otherwise forward (OQ-5). Sessions' caps are
    # asked from the room JID through one IQ client (OQ-13).
    mepIQClient = IQClient(server.ids, clock)
    # The delivery explainer records what decides who gets each MEP
    # publication; it follows occupants and rooms to tell who had left from
    # who was never there.
    server.deliveries = DeliveryLog(server.caps, config.inspectorDeliveries, isConnected)
    server.rooms.addObserver(server.deliveries)
    mepResource = MEPResource(
        ServiceRegistry(
            server.pubsubStore,
            makeMEPService(
                server.ids, clock, config.pubsubMaxNodes, config.pubsubMaxBytes
            ),
        ),
        server.rooms,
        RoomInterests(server.caps, mepIQClient),
        config.backendJids,
        deliveries=server.deliveries,
    )
    server.mep = MEPHandler(mepResource, server.ids)
    # Rooms' message archives (XEP-0313) in the same store as accounts',
    # expired by the same timer; an archive goes with its room.
    server.roomArchives = RoomArchives(
        server.archiveStore,
        clock,
        limit=config.archiveMaxMessages,
        limits=PageLimits(config.archivePageSize, config.archiveMaxPageSize),
        expiry=server.archives,
    )
    server.rooms.addObserver(server.roomArchives)
    server.muc = MUCHandler(
        server.rooms,
        observers=[server.mep, server.deliveries],
        occupantServices=mepResource,
        archives=server.roomArchives,
    )
    server.muc.setHandlerParent(mucDomain)
    mepIQClient.setHandlerParent(mucDomain)
    server.mep.setHandlerParent(mucDomain)
    MUCDiscoHandler().setHandlerParent(mucDomain)
    generic.FallbackHandler().setHandlerParent(mucDomain)
    return mucDomain


def buildStores(config: Config) -> Tuple[IUserStore, IRoomStore]:
    """
    @return: the user store and the room store the config asks for. SQLite
        keeps both in one file on one connection, so it is one store, twice.
    """
    if config.storage == "memory":
        return MemoryUserStore(), MemoryRoomStore()
    os.makedirs(config.dataDir, exist_ok=True)
    store = SQLiteStore(
        os.path.join(config.dataDir, "mepserver.sqlite"), config.storageSynchronous
    )
    return store, store


def _besideRooms(roomStore):
    """
    @return: the pubsub store and the message archive store (XEP-0313)
        beside C{roomStore}: the SQLite store is all three, in one file;
        otherwise they are in memory.
    """
    pubsub = roomStore if IPubSubStore.providedBy(roomStore) else MemoryPubSubStore()
    archives = roomStore if IArchiveStore.providedBy(roomStore) else MemoryArchiveStore()
    return pubsub, archives


def buildServer(config: Config, clock=None, users=None, ids=None) -> Server:
    """
    Build a server from its configuration, without opening any socket.

    @param clock: an L{twisted.internet.interfaces.IReactorTime} for
        timeouts; the global reactor if L{None}.
    @param users: a user store to use instead of the configured one.
    @param ids: the L{IdSource} of every id the server makes up (stream
        ids, bound resources, anonymous usernames, roster pushes); a
        random one if L{None}.
    """
    if config.componentMode:
        return buildComponentServer(config, clock, ids)
    # Under the real reactor, the streams' writes wait for the end of its
    # pass (WriteGatherer); a test's clock has no passes.
    gatherer = None
    if clock is None:
        from twisted.internet import reactor as clock

        gatherer = WriteGatherer(clock)
    writethrough.install()
    server = Server(config)
    server.clock = clock
    server.ids = ids if ids is not None else IdSource()
    userStore, server.roomStore = buildStores(config)
    server.pubsubStore, server.archiveStore = _besideRooms(server.roomStore)
    server.caps = CapsCache()
    server.users = users if users is not None else userStore
    server.router = Router()
    server.streams = StreamRegistry(
        config.maxUnauthenticatedPerAddress, traffic=config.verbose, gatherer=gatherer
    )

    # The client domain: sessions and the server's own answers. Stream
    # management (XEP-0198) keeps broken-off sessions for resumption.
    # Message Carbons (XEP-0280) copy what sessions send and what is
    # delivered to them; the handler enables them per session.
    carbons = MessageCarbons()
    server.streamManagement = StreamManagement(clock, config.resumeTimeout, server.ids)
    server.sessions = sessions = SessionManager(
        config.domain,
        server.users,
        server.router,
        ids=server.ids,
        carbons=carbons,
        streamManagement=server.streamManagement,
    )
    clientDomain = Domain(server.router, config.domain)
    clientDomain.setName("client-domain")
    clientDomain.setServiceParent(server)
    # PEP (XEP-0163): each account's bare JID is a pubsub service on the
    # engine MEP shares; the handler learns sessions' interests from caps,
    # asking sessions from the domain (XEP-0115 section 6.2) through one
    # IQ client, which matches the answers.
    pepIQClient = IQClient(server.ids, clock)
    pepTracker = InterestTracker(
        server.caps, DiscoInfoQuery(pepIQClient, jid.internJID(config.domain))
    )
    # vCards (XEP-0054); the handler also stamps the avatar hash into the
    # available presence clients send (XEP-0153, XEP-0398), as a filter
    # registered with the sessions, and copies PEP avatars into vCards
    # (XEP-0398) as an observer of PEP.
    server.vcards = VCardHandler(sessions, server.users, config.vcardMaxSize)
    pepResource = PEPResource(
        ServiceRegistry(
            server.pubsubStore,
            makePEPService(
                server.ids, clock, config.pubsubMaxNodes, config.pubsubMaxBytes
            ),
        ),
        server.users,
        sessions,
        pepTracker.interests,
        observers=[server.vcards],
    )
    server.pep = PEPHandler(pepResource, pepTracker, server.ids)
    # Offline messages (XEP-0160): kept by the delivery handler for
    # accounts with no available resource, sent on available presence.
    offline = OfflineMessages(sessions, server.users, config.offlineLimit, clock)
    # The Blocking Command (XEP-0191) filters what clients send (it
    # registers with the sessions) and, before delivery, what arrives.
    server.blocking = BlockingHandler(sessions, server.users)
    server.blocking.setHandlerParent(clientDomain)
    # Message Archive Management (XEP-0313, XEP-0441): the handler archives
    # what clients send, as a filter registered after the blocking one (a
    # refused message is not archived), and answers queries; the delivery
    # handler archives what accounts receive.
    server.archives = AccountArchives(
        config.domain,
        server.archiveStore,
        server.users,
        server.ids,
        clock,
        limit=config.archiveMaxMessages,
        retention=config.archiveRetention,
        limits=PageLimits(config.archivePageSize, config.archiveMaxPageSize),
    )
    AccountArchiveHandler(sessions, server.archives).setHandlerParent(clientDomain)
    server.vcards.setHandlerParent(clientDomain)
    # The presence handler takes the presence clients send (it registers
    # with the sessions) and tells offline storage and PEP of sessions and
    # roster changes.
    presence = PresenceHandler(
        sessions,
        server.users,
        observers=[offline, server.pep],
        blocking=server.blocking.lists,
    )
    # It delivers broadcasts (rooms', pubsub's) in bulk, doing the
    # blocking handler's check of each copy too.
    server.delivery = DeliveryHandler(
        sessions,
        carbons=carbons,
        offline=offline,
        archives=server.archives,
        blocking=server.blocking,
    )
    server.delivery.setHandlerParent(clientDomain)
    offline.setHandlerParent(clientDomain)
    presence.setHandlerParent(clientDomain)
    RosterHandler(sessions, server.users, presence).setHandlerParent(clientDomain)
    pepIQClient.setHandlerParent(clientDomain)
    server.pep.setHandlerParent(clientDomain)
    # Account removal (XEP-0077 section 3.2): the contacts are told, the
    # PEP nodes deleted and what is held in memory forgotten, before the
    # store removes the account with the rest of its data, then its archive.
    registration = RegistrationHandler(
        config,
        server.users,
        sessions,
        observers=[presence, server.pep, server.blocking, server.vcards],
        archives=server.archives,
    )
    registration.setHandlerParent(clientDomain)
    # Private XML storage (XEP-0049); its legacy bookmarks (XEP-0048) are
    # computed from and written to the account's PEP Native Bookmarks
    # (XEP-0402 section 5).
    PrivateHandler(
        sessions, server.users, [LegacyBookmarks(pepResource)]
    ).setHandlerParent(clientDomain)
    ServerDiscoHandler(server.users).setHandlerParent(clientDomain)
    ServerInfoHandler(config).setHandlerParent(clientDomain)
    CarbonsHandler(sessions).setHandlerParent(clientDomain)
    ping.PingHandler().setHandlerParent(clientDomain)
    ServerVersionHandler("mepserver", mepserver.__version__).setHandlerParent(
        clientDomain
    )
    generic.FallbackHandler().setHandlerParent(clientDomain)

    # The MUC domain with MEP: see buildMUCService. Its delivery explainer
    # asks the sessions whether an occupant's client is still connected.
    buildMUCService(
        server,
        config,
        clock,
        lambda session: session.host != config.domain
        or sessions.session(session) is not None,
    )

    # HTTP File Upload (XEP-0363): slots from upload.<domain>, files PUT
    # and fetched under /upload/ on the HTTP listener (below), kept in
    # dataDir/upload/ beside the SQLite file, or in memory.
    server.uploads = UploadService(
        config.domain,
        (
            MemoryFileStore()
            if config.storage == "memory"
            else DiskFileStore(os.path.join(config.dataDir, "upload"))
        ),
        clock,
        maxFileSize=config.uploadMaxFileSize,
        quota=config.uploadQuota,
        slotLifetime=config.uploadSlotLifetime,
        baseURL=config.uploadBaseURL,
    )
    uploadDomain = Domain(server.router, config.uploadDomain)
    uploadDomain.setName("upload-domain")
    uploadDomain.setServiceParent(server)
    UploadHandler(server.uploads).setHandlerParent(uploadDomain)
    disco.DiscoHandler().setHandlerParent(uploadDomain)
    ping.PingHandler().setHandlerParent(uploadDomain)
    generic.FallbackHandler().setHandlerParent(uploadDomain)

    # External components (XEP-0114): each configured domain is a route
    # from the start, to the component's connection while it has one.
    server.components = Components(
        server.router, config.components, config.domain, config.componentsConflict
    )

    # TLS: the configured certificate, or a self-signed one kept in dataDir.
    loaded = tls.loadOrCreateCertificate(
        config.dataDir,
        [config.domain, config.mucDomain],
        config.tlsCertificate,
        config.tlsKey,
    )
    server.certificate = loaded.certificate
    server.certificatePath = loaded.certificatePath
    contextFactory = tls.serverContextFactory(loaded.certificate)

    mechanisms = mechanismFactories(
        server.getCredentials,
        config.domain,
        allowPlain=True,
        allowAnonymous=config.anonymous,
        generateUsername=lambda: generateUsername(server.ids),
    )

    def stepFactories(offerTLS):
        """
        The negotiation steps of a client stream, in order, as factories
        made once for every stream of the listener. Over WebSocket, TLS
        belongs to the HTTP layer, so there is no STARTTLS: when encryption
        is required there ([c2s] require_encryption, or a listener beyond
        loopback), registration and SASL refuse a stream that did not come
        over TLS (wss://).
        """
        steps = []
        if offerTLS:
            required = config.encryptionRequired
            steps.append(
                functools.partial(tls.TLSStep, contextFactory=contextFactory, required=required)
            )
        else:
            required = config.webSocketEncryptionRequired
        if config.registration:
            steps.append(
                functools.partial(RegisterStep, handler=registration, encryptionRequired=required)
            )
        steps += [
            functools.partial(SASLStep, mechanisms=mechanisms, encryptionRequired=required),
            functools.partial(BindStep, sessions=sessions),
            SessionFeatureStep,
            CSIFeatureStep,
            RosterVersioningStep,
            PreApprovalStep,
            functools.partial(StreamManagementStep, streamManagement=server.streamManagement),
        ]
        return tuple(steps)

    tcpSteps = stepFactories(offerTLS=True)
    webSocketSteps = stepFactories(offerTLS=False)

    def authenticatorFactory(offerTLS=True):
        """
        A new client stream's authenticator, with the listener's steps.
        """
        return C2SAuthenticator(
            config.domain,
            tcpSteps if offerTLS else webSocketSteps,
            clock=clock,
            idleTimeout=config.idleTimeout,
            ids=server.ids,
            negotiationTimeout=config.negotiationTimeout,
        )

    # Input limits of every client connection, TCP and WebSocket alike
    # (RFC 6120 section 13.12): stanza size and element depth, a byte rate
    # that pauses reading (Prosody's mod_limits), and, above, the deadline
    # of negotiation and the unauthenticated connections per address.
    throttleFactory = None
    if config.rateLimit:
        throttleFactory = lambda: InputThrottle(  # noqa: E731
            clock, config.rateLimit, config.rateBurst
        )
    c2s = C2SXmlStreamFactory(
        authenticatorFactory,
        config.maxStanzaSize,
        server.streams,
        maxDepth=config.maxDepth,
        throttleFactory=throttleFactory,
    )
    server.listeners.append((config.c2sListen, c2s))

    # The inspector's stanza stream taps the sessions only while a page
    # watches (or [inspector] stanza_log_always), and is told of MEP
    # publications.
    server.stanzas = StanzaTap(
        sessions,
        clock,
        config.inspectorLogSize,
        config.inspectorLogAlways,
        config.mucDomain,
    )
    server.deliveries.observers.append(server.stanzas.published)

    root = Folder()
    root.putChild(
        b"xmpp-websocket",
        XMPPWebSocketResource(
            lambda: authenticatorFactory(offerTLS=False),
            config.maxStanzaSize,
            server.streams,
            maxDepth=config.maxDepth,
            throttleFactory=throttleFactory,
        ),
    )
    # XEP-0156: /.well-known/host-meta and host-meta.json name that URL.
    root.putChild(b".well-known", wellKnownResource("/xmpp-websocket"))
    # The backend HTTP API (DESIGN.md section 7) beside it, under /api/,
    # and the inspector page at / with its files under /inspector/.
    api = APIResource(server)
    root.putChild(b"api", api)
    page, assets = pageResources(api)
    root.putChild(b"", page)
    root.putChild(b"inspector", assets)
    root.putChild(b"upload", UploadResource(server.uploads))
    server.listeners.append((config.httpListen, webserver.Site(root)))
    if config.directTLSListen is not None:
        # XEP-0368: the same client streams, with TLS from the first byte.
        server.listeners.append(
            (config.directTLSListen, directTLSFactory(c2s, loaded.certificate))
        )
    if config.componentsListen is not None:
        # Component streams are plaintext (XEP-0114 has no TLS) and their
        # closing joins the client streams'.
        if not loopbackOnly(config.componentsListen):
            log.warn(
                "[components] listen {listen} is not on loopback only: component "
                "handshakes and stanzas cross the network unencrypted",
                listen=config.componentsListen,
            )
        components = ComponentXmlStreamFactory(
            lambda: ComponentAuthenticator(
                server.components, clock, config.idleTimeout, server.ids
            ),
            config.maxStanzaSize,
            server.streams,
        )
        server.listeners.append((config.componentsListen, components))
    return server


def buildComponentServer(config: Config, clock=None, ids=None) -> ComponentServer:
    """
    Build mepserver as a host server's MUC component (XEP-0114), without
    opening any socket: the stores, the router, the MUC domain with MEP
    (L{buildMUCService}, as standalone), the link to the host as the
    router's default route, and the HTTP API as the only listener.

    A stanza from the host: L{HostLink} -> L{Router} -> the MUC domain's
    handlers; one from a room to anyone: L{Router} -> its default route,
    L{HostLink} -> the host, which delivers it to its users' sessions.

    @param clock: as for L{buildServer}; also the clock of the link's
        reconnection delays.
    @param ids: as for L{buildServer}.
    """
    if clock is None:
        from twisted.internet import reactor as clock
    writethrough.install()
    server = ComponentServer(config)
    server.clock = clock
    server.ids = ids if ids is not None else IdSource()
    server.users = None
    _, server.roomStore = buildStores(config)
    server.pubsubStore, server.archiveStore = _besideRooms(server.roomStore)
    # Rooms' archives (XEP-0313) expire on the timer account archives run
    # when standalone.
    server.archives = AccountArchives(
        config.domain,
        server.archiveStore,
        None,
        server.ids,
        clock,
        limit=config.archiveMaxMessages,
        retention=config.archiveRetention,
        limits=PageLimits(config.archivePageSize, config.archiveMaxPageSize),
    )
    server.caps = CapsCache()
    server.router = Router()
    buildMUCService(server, config, clock)

    from twisted.internet import endpoints, reactor

    server.link = HostLink(
        server.router,
        config.mucDomain,
        config.componentSecret,
        endpoints.clientFromString(reactor, config.componentConnect),
        config.componentConnect,
        clock,
    )
    server.link.setName("host-link")

    # The backend HTTP API (DESIGN.md section 7) and the inspector page,
    # without sessions or stanza stream: the host serves WebSocket,
    # host-meta and uploads to its users, and has their sessions.
    root = Folder()
    api = APIResource(server)
    root.putChild(b"api", api)
    page, assets = pageResources(api)
    root.putChild(b"", page)
    root.putChild(b"inspector", assets)
    server.listeners.append((config.httpListen, webserver.Site(root)))
    return server
