# -*- test-case-name: tests.test_offline -*-
"""
Tests for L{mepserver.c2s.offline}: offline messages (XEP-0160) with
XEP-0203 delay stamps and XEP-0334 storage hints, on the client domain as
L{mepserver.server.buildServer} wires it (bound sessions on stub streams,
a L{task.Clock} for the stamps), and across a restart with SQLite.
"""

import os

from twisted.internet import defer, task
from twisted.trial import unittest

from mepserver import config as configModule
from mepserver.c2s.offline import onlyChatStates, storageHint
from mepserver.ids import SeededIdSource
from mepserver.interfaces import Credentials
from mepserver.server import buildServer
from mepserver.stanza import parseStanza
from mepserver.storage.memory import MemoryUserStore
from tests.helpers import parseXml, stanzaMismatch
from tests.test_pep import Client, _Stream

DOMAIN = "capulet.lit"
MUC_DOMAIN = "conference.capulet.lit"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
#: 2003-12-13T23:58:37Z, as in XEP-0203's examples' era.
START = 1071359917
STAMP = "2003-12-13T23:58:37Z"


class GatedStore:
    """
    A memory user store whose offline calls wait until the test opens the
    gate, as SQLite's answers wait for its thread.
    """

    def __init__(self, store):
        self._store = store
        self.gated = set()
        self._waiting = []

    def __getattr__(self, name):
        method = getattr(self._store, name)
        if name not in self.gated:
            return method

        def gated(*args):
            d = defer.Deferred()
            self._waiting.append((d, method, args))
            return d

        return gated

    def release(self):
        """
        Answer every waiting call, in order.
        """
        waiting, self._waiting = self._waiting, []
        for d, method, args in waiting:
            method(*args).chainDeferred(d)


class OfflineHarness:
    """
    The client domain of L{buildServer} with memory storage; the users
    juliet, romeo and nurse.
    """

    def __init__(self, testCase, gated=(), **settings):
        self.testCase = testCase
        self.clock = task.Clock()
        self.clock.advance(START)
        self.memory = MemoryUserStore()
        for username in ("juliet", "romeo", "nurse"):
            self.memory.createUser(username, Credentials({}))
        self.users = GatedStore(self.memory)
        self.users.gated.update(gated)
        config = configModule.Config(
            domain=DOMAIN,
            mucDomain=MUC_DOMAIN,
            storage="memory",
            dataDir=testCase.mktemp(),
            **settings,
        )
        server = buildServer(config, clock=self.clock, users=self.users, ids=SeededIdSource())
        self.sessions = server.sessions
        self.component = server.getServiceNamed("client-domain")
        self.component.startService()
        testCase.addCleanup(self.component.stopService)

    def connect(self, username, resource):
        return Client(self.testCase, self, username, resource)

    def stored(self, username):
        """
        @return: the XML of the account's offline messages.
        """
        messages = self.testCase.successResultOf(self.memory.getOfflineMessages(username))
        return [m.stanza for m in messages]


def chat(to, body, identifier="m1", kind="chat", extra=""):
    """
    A message from a client, as an XML literal.
    """
    typed = f" type='{kind}'" if kind is not None else ""
    return f"<message to='{to}' id='{identifier}'{typed}><body>{body}</body>{extra}</message>"


def refusal(to, identifier, text):
    """
    The C{service-unavailable} error a sender gets back for its message.
    """
    return (
        f"<message type='error' id='{identifier}' from='juliet@capulet.lit' to='{to}'>"
        f"<error type='cancel'><service-unavailable xmlns='{NS_STANZAS}'/>"
        f"<text xmlns='{NS_STANZAS}'>{text}</text></error></message>"
    )


class OfflineTestCase(unittest.TestCase):
    """
    romeo is online at orchard; juliet, the recipient, is not.
    """

    settings = {}
    gated = ()

    def setUp(self):
        self.harness = OfflineHarness(self, gated=self.gated, **self.settings)
        self.romeo = self.harness.connect("romeo", "orchard")
        self.romeo.send("<presence/>")
        self.romeo.take()

    def assertExactly(self, stanza, literal):
        """
        Assert that C{stanza} matches C{literal} with no extra attributes or
        children (L{stanzaMismatch} allows extras).
        """
        problem = stanzaMismatch(stanza, literal)
        self.assertIsNone(problem, f"{problem}\n{stanza.toXml()}")
        expected = parseXml(literal, "jabber:client")
        self.assertEqual(sorted(expected.attributes), sorted(stanza.attributes))
        self.assertEqual(
            [(e.uri, e.name) for e in expected.elements()],
            [(e.uri, e.name) for e in stanza.elements()],
        )

    def messagesOf(self, client):
        """
        @return: the messages C{client} received, in order, forgetting
            everything it received.
        """
        return [s for s in client.take() if s.name == "message"]


class StoreAndDeliverTests(OfflineTestCase):
    """
    XEP-0160 section 2: messages for an account with no available resource
    are stored with a delay stamp, and delivered to the next resource that
    becomes available with a non-negative priority.
    """

    def test_deliveredAtInitialPresence(self):
        """
        Section 2, examples 1 to 3: romeo's message to juliet, offline, is
        neither delivered nor bounced; her initial presence brings it, as
        sent plus the stanza-id of her archive (XEP-0313 section 2.3) and
        XEP-0203's delay from the domain stamped when it was stored, after
        her own presence; then it leaves the store.
        """
        self.romeo.send(chat("juliet@capulet.lit", "O blessed, blessed night!"))
        self.assertEqual([], self.romeo.take())
        self.assertEqual(1, len(self.harness.stored("juliet")))
        self.harness.clock.advance(60)
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence><priority>1</priority></presence>")
        received = balcony.take()
        self.assertEqual(["presence", "message"], [s.name for s in received])
        self.assertExactly(
            received[1],
            "<message from='romeo@capulet.lit/orchard' to='juliet@capulet.lit' "
            "type='chat' id='m1'><body>O blessed, blessed night!</body>"
            "<stanza-id xmlns='urn:xmpp:sid:0' by='juliet@capulet.lit'/>"
            f"<delay xmlns='urn:xmpp:delay' from='capulet.lit' stamp='{STAMP}'/>"
            "</message>",
        )
        self.assertEqual("", str(received[1].delay))
        self.assertEqual([], self.harness.stored("juliet"))
        self.assertEqual([], self.romeo.take())

    def test_inOrder(self):
        """
        Several messages, of type chat and normal (none given), arrive in
        the order sent, each stamped with its own time.
        """
        for n, kind in enumerate(["chat", None, "normal"]):
            self.romeo.send(chat("juliet@capulet.lit", f"#{n}", f"m{n}", kind))
            self.harness.clock.advance(1.5)
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        messages = self.messagesOf(balcony)
        self.assertEqual(["#0", "#1", "#2"], [str(m.body) for m in messages])
        self.assertEqual(
            ["2003-12-13T23:58:37Z", "2003-12-13T23:58:38.500Z", "2003-12-13T23:58:40Z"],
            [m.delay["stamp"] for m in messages],
        )
        self.assertEqual([], self.harness.stored("juliet"))

    def test_onlyOnce(self):
        """
        A later presence of the same session brings nothing again, nor does
        another resource's initial presence: the messages went to the first
        resource only (section 2: to the resource that sent the presence).
        """
        self.romeo.send(chat("juliet@capulet.lit", "hello"))
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        self.assertEqual(1, len(self.messagesOf(balcony)))
        balcony.send("<presence><show>away</show></presence>")
        self.assertEqual([], self.messagesOf(balcony))
        chamber = self.harness.connect("juliet", "chamber")
        chamber.send("<presence/>")
        self.assertEqual([], self.messagesOf(chamber))

    def test_whileOnlineDeliveredLive(self):
        """
        With a resource available, messages are delivered, not stored.
        """
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        balcony.take()
        self.romeo.send(chat("juliet@capulet.lit", "live"))
        [message] = self.messagesOf(balcony)
        self.assertIsNone(message.delay)
        self.assertEqual([], self.harness.stored("juliet"))

    def test_negativePriority(self):
        """
        Section 2, step 2: a resource of negative priority gets no message
        to the bare JID, so it is stored; not at that presence, nor at
        another negative one, but at the session's first presence of
        non-negative priority.
        """
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence><priority>-1</priority></presence>")
        balcony.take()
        self.romeo.send(chat("juliet@capulet.lit", "hello"))
        self.assertEqual([], self.romeo.take())
        self.assertEqual([], self.messagesOf(balcony))
        balcony.send("<presence><priority>-5</priority></presence>")
        self.assertEqual([], self.messagesOf(balcony))
        self.assertEqual(1, len(self.harness.stored("juliet")))
        balcony.send("<presence><priority>0</priority></presence>")
        [message] = self.messagesOf(balcony)
        self.assertEqual("hello", str(message.body))
        self.assertEqual([], self.harness.stored("juliet"))

    def test_negativeAgainThenPositive(self):
        """
        A session that went negative and comes back to a non-negative
        priority gets what was stored meanwhile.
        """
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        balcony.send("<presence><priority>-1</priority></presence>")
        balcony.take()
        self.romeo.send(chat("juliet@capulet.lit", "meanwhile"))
        self.assertEqual([], self.messagesOf(balcony))
        balcony.send("<presence><priority>2</priority></presence>")
        [message] = self.messagesOf(balcony)
        self.assertEqual("meanwhile", str(message.body))

    def test_connectedButUnavailable(self):
        """
        A session bound but not yet available (no initial presence, RFC
        6121 section 4.2) receives no message to the bare JID: it is stored
        and delivered at its initial presence.
        """
        balcony = self.harness.connect("juliet", "balcony")
        self.romeo.send(chat("juliet@capulet.lit", "early"))
        self.assertEqual([], balcony.take())
        self.assertEqual([], self.romeo.take())
        balcony.send("<presence/>")
        [message] = self.messagesOf(balcony)
        self.assertEqual("early", str(message.body))

    def test_unavailableAgain(self):
        """
        After unavailable presence the account is offline again: messages
        are stored, and the session's next available presence brings them.
        """
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        balcony.send("<presence type='unavailable'/>")
        balcony.take()
        self.romeo.send(chat("juliet@capulet.lit", "later"))
        self.assertEqual([], self.messagesOf(balcony))
        balcony.send("<presence/>")
        [message] = self.messagesOf(balcony)
        self.assertEqual("later", str(message.body))

    def test_fullJIDOfflineResource(self):
        """
        RFC 6121 8.5.3.2.1: a chat or normal message to a full JID with no
        session is treated as sent to the bare JID, so it is stored, and
        delivered with its 'to' as sent.
        """
        self.romeo.send(chat("juliet@capulet.lit/gone", "to the balcony"))
        self.assertEqual([], self.romeo.take())
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        [message] = self.messagesOf(balcony)
        self.assertEqual("juliet@capulet.lit/gone", message["to"])
        self.assertEqual(STAMP, message.delay["stamp"])

    def test_fullJIDHeadlineAndGroupchat(self):
        """
        RFC 6121 8.5.3.2.1: a headline to a full JID with no session is
        dropped, a groupchat message bounced; neither is stored.
        """
        self.romeo.send(chat("juliet@capulet.lit/gone", "news", "h", "headline"))
        self.assertEqual([], self.romeo.take())
        self.romeo.send(chat("juliet@capulet.lit/gone", "room", "g", "groupchat"))
        [error] = self.romeo.take()
        self.assertEqual("error", error["type"])
        self.assertEqual("g", error["id"])
        self.assertEqual([], self.harness.stored("juliet"))

    def test_unknownAccount(self):
        """
        A message to an account that does not exist gets
        service-unavailable, as before.
        """
        self.romeo.send(chat("tybalt@capulet.lit", "hello"))
        [error] = self.romeo.take()
        self.assertExactly(
            error,
            "<message type='error' id='m1' from='tybalt@capulet.lit' "
            "to='romeo@capulet.lit/orchard'><body>hello</body>"
            f"<error type='cancel'><service-unavailable xmlns='{NS_STANZAS}'/>"
            f"<text xmlns='{NS_STANZAS}'>there is no account tybalt@capulet.lit</text>"
            "</error></message>",
        )

    def test_sessionGoneBeforeDelivery(self):
        """
        A session that ends before its presence is processed takes
        nothing: the messages stay for the next one.
        """
        self.romeo.send(chat("juliet@capulet.lit", "hello"))
        balcony = self.harness.connect("juliet", "balcony")
        balcony.session.ended()
        balcony.send("<presence/>")
        self.assertEqual([], self.messagesOf(balcony))
        self.assertEqual(1, len(self.harness.stored("juliet")))


class TypesAndHintsTests(OfflineTestCase):
    """
    XEP-0160 section 3 (which types are stored) and XEP-0334 (hints).
    """

    def deliveredTo(self):
        """
        @return: the messages juliet's initial presence brings.
        """
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        return self.messagesOf(balcony)

    def test_headlineDropped(self):
        """
        Section 3: a headline is not stored, and not bounced (RFC 6121
        8.5.2.2.1: silently ignored).
        """
        self.romeo.send(chat("juliet@capulet.lit", "news", kind="headline"))
        self.assertEqual([], self.romeo.take())
        self.assertEqual([], self.deliveredTo())

    def test_errorDropped(self):
        """
        Section 3: an error is not stored, even with a store hint (XEP-0334
        section 5 ignores hints in errors), and gets no error back.
        """
        self.romeo.send(
            chat("juliet@capulet.lit", "x", kind="error", extra="<store xmlns='urn:xmpp:hints'/>")
        )
        self.assertEqual([], self.romeo.take())
        self.assertEqual([], self.deliveredTo())

    def test_groupchatBounced(self):
        """
        Section 3: groupchat to a bare account JID is not stored; it is
        bounced, online or not, even with a store hint.
        """
        self.romeo.send(
            chat("juliet@capulet.lit", "x", kind="groupchat", extra="<store xmlns='urn:xmpp:hints'/>")
        )
        [error] = self.romeo.take()
        self.assertEqual("error", error["type"])
        self.assertEqual([], self.harness.stored("juliet"))

    def test_chatStatesAloneDropped(self):
        """
        Section 3: a chat message with only XEP-0085 content (with a
        thread and an origin-id beside it) is neither stored nor bounced.
        """
        self.romeo.send(
            "<message to='juliet@capulet.lit' type='chat' id='c1'>"
            "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
            "<thread>t1</thread><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>"
        )
        self.assertEqual([], self.romeo.take())
        self.assertEqual([], self.deliveredTo())

    def test_chatStateWithBodyStored(self):
        """
        A chat state beside a body does not stop storage.
        """
        self.romeo.send(
            chat("juliet@capulet.lit", "hi", extra="<active xmlns='http://jabber.org/protocol/chatstates'/>")
        )
        [message] = self.deliveredTo()
        self.assertEqual("hi", str(message.body))

    def test_noStoreHint(self):
        """
        XEP-0334 section 4.2: a message with <no-store/> is not stored; the
        sender gets service-unavailable saying why.
        """
        self.romeo.send(
            "<message to='juliet@capulet.lit' type='chat' id='n1'><body>psst</body>"
            "<no-store xmlns='urn:xmpp:hints'/></message>"
        )
        [error] = self.romeo.take()
        problem = stanzaMismatch(
            error,
            refusal(
                "romeo@capulet.lit/orchard",
                "n1",
                "juliet@capulet.lit is not online, and the message asks not to be "
                "stored (XEP-0334)",
            ),
        )
        self.assertIsNone(problem, error.toXml())
        self.assertEqual([], self.deliveredTo())

    def test_storeHint(self):
        """
        XEP-0334 section 4.4: <store/> keeps what would not be kept: a
        headline, chat states alone (an OMEMO-style message without body).
        """
        self.romeo.send(
            chat("juliet@capulet.lit", "news", "h1", "headline", "<store xmlns='urn:xmpp:hints'/>")
        )
        self.romeo.send(
            "<message to='juliet@capulet.lit' type='chat' id='s1'>"
            "<gone xmlns='http://jabber.org/protocol/chatstates'/>"
            "<store xmlns='urn:xmpp:hints'/></message>"
        )
        self.assertEqual([], self.romeo.take())
        self.assertEqual(["h1", "s1"], [m["id"] for m in self.deliveredTo()])


class LimitTests(OfflineTestCase):
    """
    C{[c2s] offline_limit}: past it, service-unavailable (XEP-0160 section
    2, step 3: "the recipient's offline message queue is full").
    """

    settings = {"offlineLimit": 2}

    def test_full(self):
        """
        The third message gets service-unavailable with a text; the first
        two are kept and delivered.
        """
        for n in range(3):
            self.romeo.send(chat("juliet@capulet.lit", f"#{n}", f"m{n}"))
        [error] = self.romeo.take()
        problem = stanzaMismatch(
            error,
            refusal(
                "romeo@capulet.lit/orchard",
                "m2",
                "juliet@capulet.lit is not online, and its offline storage is full "
                "(2 messages)",
            ),
        )
        self.assertIsNone(problem, error.toXml())
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        self.assertEqual(["#0", "#1"], [str(m.body) for m in self.messagesOf(balcony)])


class StorageOffTests(OfflineTestCase):
    """
    C{[c2s] offline_limit = 0}: no offline storage, as before XEP-0160.
    """

    settings = {"offlineLimit": 0}

    def test_refused(self):
        """
        A chat message to an offline account gets service-unavailable.
        """
        self.romeo.send(chat("juliet@capulet.lit", "hello"))
        [error] = self.romeo.take()
        problem = stanzaMismatch(
            error,
            refusal(
                "romeo@capulet.lit/orchard",
                "m1",
                "juliet@capulet.lit is not online (offline storage is off)",
            ),
        )
        self.assertIsNone(problem, error.toXml())
        self.assertEqual([], self.harness.stored("juliet"))

    def test_noFeature(self):
        """
        The server's disco#info does not list msgoffline.
        """
        self.assertNotIn("msgoffline", discoFeatures(self.romeo))


def discoFeatures(client):
    """
    @return: the features of the server's disco#info, as C{client} gets
        them.
    """
    answer = client.request(
        f"<iq type='get' id='d1' to='{DOMAIN}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
    )
    return [f["var"] for f in answer.query.elements(NS_DISCO_INFO, "feature")]


class DiscoTests(OfflineTestCase):
    """
    XEP-0160 section 4: the server lists msgoffline.
    """

    def test_feature(self):
        """
        The server's disco#info lists msgoffline, once; an account's does
        not.
        """
        self.assertEqual(1, discoFeatures(self.romeo).count("msgoffline"))
        answer = self.romeo.request(
            f"<iq type='get' id='d2' to='romeo@{DOMAIN}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
        )
        features = [f["var"] for f in answer.query.elements(NS_DISCO_INFO, "feature")]
        self.assertNotIn("msgoffline", features)


class ConcurrencyTests(OfflineTestCase):
    """
    Storing and delivering run under the account's lock: with a store
    that answers late (as SQLite does), a message being stored while
    juliet's initial presence is processed is delivered once, in order.
    """

    gated = ("storeOfflineMessage",)

    def test_storedWhilePresence(self):
        """
        m1 is being stored when juliet becomes available; m2 arrives while
        the store still works. The delivery waits for the store, so she
        gets m1 (stamped) then m2 (live), once each, and the store is
        empty; without the lock, the delivery would read an empty store
        and m1 would wait for her next login.
        """
        self.romeo.send(chat("juliet@capulet.lit", "first", "m1"))
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        self.romeo.send(chat("juliet@capulet.lit", "second", "m2"))
        self.assertEqual([], self.messagesOf(balcony))
        self.harness.users.release()
        messages = self.messagesOf(balcony)
        self.assertEqual(["m1", "m2"], [m["id"] for m in messages])
        self.assertIsNotNone(messages[0].delay)
        self.assertIsNone(messages[1].delay)
        self.assertEqual([], self.harness.stored("juliet"))
        self.assertEqual([], self.romeo.take())

    def test_sessionEndsDuringRead(self):
        """
        A session that ends while its delivery reads the store gets
        nothing, and the messages wait for the next one.
        """
        self.harness.users.gated = {"getOfflineMessages"}
        self.romeo.send(chat("juliet@capulet.lit", "first", "m1"))
        balcony = self.harness.connect("juliet", "balcony")
        balcony.send("<presence/>")
        balcony.session.ended()
        self.harness.users.release()
        self.assertEqual([], self.messagesOf(balcony))
        self.assertEqual(1, len(self.harness.stored("juliet")))
        chamber = self.harness.connect("juliet", "chamber")
        chamber.send("<presence/>")
        self.harness.users.release()
        self.assertEqual(["m1"], [m["id"] for m in self.messagesOf(chamber)])


class HelperTests(unittest.SynchronousTestCase):
    """
    The stanza helpers of L{mepserver.c2s.offline}.
    """

    def test_storageHint(self):
        """
        XEP-0334: no-store wins over store; other hints are no storage hint.
        """
        def hint(children):
            return storageHint(parseXml(f"<message>{children}</message>", "jabber:client"))

        self.assertIsNone(hint("<body>x</body><no-copy xmlns='urn:xmpp:hints'/>"))
        self.assertEqual("store", hint("<store xmlns='urn:xmpp:hints'/>"))
        self.assertEqual(
            "no-store",
            hint("<store xmlns='urn:xmpp:hints'/><no-store xmlns='urn:xmpp:hints'/>"),
        )

    def test_onlyChatStates(self):
        """
        XEP-0160 section 3: chat states alone, not with other content.
        """
        def only(children):
            return onlyChatStates(parseXml(f"<message>{children}</message>", "jabber:client"))

        states = "<paused xmlns='http://jabber.org/protocol/chatstates'/>"
        self.assertTrue(only(states))
        self.assertTrue(only(states + "<no-copy xmlns='urn:xmpp:hints'/>"))
        self.assertFalse(only(states + "<body>x</body>"))
        self.assertFalse(only(states + "<encrypted xmlns='eu.siacs.conversations.axolotl'/>"))
        self.assertFalse(only(""))

    def test_parseStanza(self):
        """
        A stored message parses back with its namespaces.
        """
        element = parseStanza(
            "<message xmlns='jabber:client' to='a@b'><body>é</body>"
            "<delay xmlns='urn:xmpp:delay' stamp='s'/></message>"
        )
        self.assertEqual(("jabber:client", "message"), (element.uri, element.name))
        self.assertEqual("é", str(element.body))
        self.assertEqual("urn:xmpp:delay", element.delay.uri)


class RestartTests(unittest.TestCase):
    """
    With SQLite, offline messages survive a restart: the server is built
    twice on one data directory.
    """

    def build(self, dataDir):
        config = configModule.Config(
            domain=DOMAIN, mucDomain=MUC_DOMAIN, storage="sqlite", dataDir=dataDir
        )
        clock = task.Clock()
        clock.advance(START)
        return buildServer(config, clock=clock)

    @defer.inlineCallbacks
    def start(self, server):
        server.startService()
        self.addCleanup(server.stopService)
        yield server.ready

    @defer.inlineCallbacks
    def test_restart(self):
        """
        romeo's message to offline juliet, stored before the server stops,
        reaches her at her initial presence after it starts again.
        """
        dataDir = self.mktemp()
        first = self.build(dataDir)
        yield self.start(first)
        yield first.users.createUser("juliet", Credentials({}))
        yield first.users.createUser("romeo", Credentials({}))
        romeo = first.sessions.bind("romeo", "orchard", _Stream())
        romeo.received(parseXml(chat("juliet@capulet.lit", "wherefore"), "jabber:client"))
        # The account's lock is held until the message is in the file.
        yield first.sessions.locks.drain()
        self.assertEqual([], romeo.xmlstream.output)
        yield first.stopService()
        self.assertTrue(os.path.exists(os.path.join(dataDir, "mepserver.sqlite")))

        second = self.build(dataDir)
        yield self.start(second)
        stream = _Stream()
        juliet = second.sessions.bind("juliet", "balcony", stream)
        presence = parseXml("<presence/>", "jabber:client")
        presence["from"] = juliet.jid.full()
        # What the session hands the presence handler; the delivery then
        # runs under the account's lock.
        yield second.sessions.presence.broadcast(juliet, presence)
        yield second.sessions.locks.drain()
        [message] = [s for s in stream.output if s.name == "message"]
        self.assertEqual("wherefore", str(message.body))
        self.assertEqual(STAMP, message.delay["stamp"])
        self.assertEqual(DOMAIN, message.delay["from"])
        yield second.sessions.locks.drain()
        left = yield second.users.getOfflineMessages("juliet")
        self.assertEqual([], left)

