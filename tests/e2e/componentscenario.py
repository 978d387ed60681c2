# -*- test-case-name: tests.e2e.test_component -*-
"""
mepserver attached to a real host server as its MUC component (XEP-0114),
and the MUC + MEP scenario that judges it, with clients logged in to the
host: L{tests.e2e.test_component} runs it against Prosody, and
C{bench/component_ejabberd.py} against ejabberd.

L{startComponent} builds and starts mepserver in this process, as
C{twistd} would with C{[component] connect} set, and waits for the
handshake; L{runMEPScenario} runs the same MEP checks as
L{tests.e2e.test_mep} does on a standalone mepserver, through the host.

Barriers: a client's ping to its own server proves nothing about another
process, so the scenario pings the MUC service (XEP-0199, answered by
mepserver): the host relays the component stream in order both ways, so
once the answer is back, everything mepserver sent the client before it
is there too.
"""

import shutil
import tempfile
from urllib.parse import quote

from twisted.internet import endpoints
from twisted.words.xish import domish

from mepserver import config as configModule
from mepserver.server import buildServer
from tests.e2e import mepclient
from tests.e2e.mepclient import NS_ACTIVITY, NS_CONFERENCE_INFO, WAIT, conferenceInfo, isEvent

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_DELAY = "urn:xmpp:delay"

#: Seconds between the link's attempts in the tests: short, so that a
#: reconnection takes no noticeable time; a bound on a retry loop, not a
#: wait for synchronisation.
RETRY_DELAY = 0.02


class RunningComponent:
    """
    mepserver started as a host's MUC component in this process.

    @ivar server: its L{mepserver.server.ComponentServer}.
    @ivar httpPort: the port of its HTTP API on 127.0.0.1.
    """

    def __init__(self, server, port, dataDir):
        self.server = server
        self.port = port
        self.httpPort = port.getHost().port
        self._dataDir = dataDir

    def apiURL(self, path):
        """
        @return: the URL of C{path} under the HTTP API.
        """
        return f"http://127.0.0.1:{self.httpPort}/api/{path}"

    async def stop(self):
        """
        Stop listening, close the link and stop the server.
        """
        from twisted.internet import defer

        await defer.maybeDeferred(self.port.stopListening)
        await self.server.stopService()
        shutil.rmtree(self._dataDir, ignore_errors=True)


async def startComponent(host, secret=None, connected=True, **settings):
    """
    Build and start mepserver as the MUC component of C{host}, memory
    storage, the HTTP API on an ephemeral port of 127.0.0.1.

    @param host: an L{tests.e2e.external.ExternalServer} with a
        C{componentPort} and C{componentSecret}.
    @param secret: the secret to connect with; the host's if L{None}.
    @param connected: whether to wait for the handshake.
    @param settings: more L{mepserver.config.Config} fields.
    @return: the L{RunningComponent}.
    """
    from twisted.internet import reactor

    dataDir = tempfile.mkdtemp(prefix="mepserver-component-")
    settings.setdefault("storage", "memory")
    settings.setdefault("httpListen", "tcp:0:interface=127.0.0.1")
    settings.setdefault("mucCreateUnlocked", True)
    config = configModule.load(
        overrides=dict(
            settings,
            domain=host.domain,
            mucDomain=host.mucDomain,
            dataDir=dataDir,
            componentConnect=f"tcp:127.0.0.1:{host.componentPort}",
            componentSecret=secret if secret is not None else host.componentSecret,
        )
    )
    server = buildServer(config)
    server.link.backoff = lambda attempt: RETRY_DELAY
    server.startService()
    [(description, factory)] = server.listeners
    port = await endpoints.serverFromString(reactor, description).listen(factory)
    running = RunningComponent(server, port, dataDir)
    try:
        await server.ready
        if connected:
            await server.link.whenConnected()
    except BaseException:
        await running.stop()
        raise
    return running


async def roundTrip(client, mucDomain):
    """
    Ping the MUC service through the host: the barrier.

    @return: the answer, a C{result}.
    """
    ping = domish.Element((None, "iq"))
    ping["type"], ping["to"] = "get", mucDomain
    ping.addElement(("urn:xmpp:ping", "ping"))
    answer = await client.request(ping, WAIT)
    if answer.getAttribute("type") != "result":
        raise AssertionError(f"the MUC service did not answer a ping: {answer.toXml()}")
    return answer


async def assertNothingFromService(check, client, mucDomain, match):
    """
    Check that nothing matching C{match} reached C{client} before the
    answer to a ping of the MUC service sent now.
    """
    answer = await roundTrip(client, mucDomain)
    for stanza in client.received:
        if stanza is answer:
            break
        check.assertFalse(match(stanza), f"unexpected: {stanza.toXml()}")


async def join(client, room, nick, features, mucDomain):
    """
    L{mepclient.join} through the host: its round trips ping the MUC
    service.
    """
    return await mepclient.join(
        client, room, nick, features, lambda client: roundTrip(client, mucDomain)
    )


async def postEvent(component, room, node, payload):
    """
    C{POST /api/rooms/{room}/nodes/{node}/items} (DESIGN.md section 7).

    @return: the response's status and body.
    """
    import treq
    from twisted.internet import reactor
    from twisted.web.client import HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=False)
    response = await treq.post(
        component.apiURL(f"rooms/{room}/nodes/{quote(node, safe='')}/items"),
        data=payload.encode("utf-8"),
        headers={"Content-Type": ["application/xml"]},
        pool=pool,
    )
    return response.code, (await response.content()).decode("utf-8", "replace")


async def dropLink(component):
    """
    Break the component's connection to the host, as a network fault
    would, and wait until the link is back.
    """
    from twisted.internet import defer
    from twisted.words.protocols.jabber import xmlstream

    link = component.server.link
    old = link.xmlstream
    ended = defer.Deferred()
    old.addObserver(xmlstream.STREAM_END_EVENT, lambda reason: ended.callback(None))
    old.transport.abortConnection()
    await ended
    check = link.whenConnected()
    await check
    assert link.xmlstream is not old


async def runMEPScenario(check, host, component):
    """
    The MEP checks of L{tests.e2e.test_mep}, with clients logged in to
    C{host} and mepserver as its MUC component:

      - the room's caps query reaches alice's full JID at the host (OQ-13),
        and a groupchat message from alice reaches bob with its body;
        and bob's publish to his occupant JID reaches alice (+notify) from
        C{…/b}, not carol (R14, R16, R34);
      - a room event posted to the HTTP API reaches alice from the room
        JID, with the item id the API answered (DESIGN.md sections 6, 7);
      - carol, a backend JID, publishes as the room (OQ-8);
      - carol's connection closes: the host sends the room her unavailable
        presence, and alice sees her leave;
      - the link breaks and comes back: alice is still an occupant, and
        dave, joining after, gets the room's last item with a delay stamp
        (R68), and a new event reaches both.

    @param check: a trial C{TestCase}, for its assertions.
    @param host: the L{tests.e2e.external.ExternalServer}, with
        C{createAccount(username, password)}.
    @param component: the L{RunningComponent}; carol@ the host's domain
        must be among its backend JIDs.
    """
    mucDomain = host.mucDomain
    room = f"coven@{mucDomain}"
    clients = {}
    for name in ("alice", "bob", "carol", "dave"):
        account = await host.createAccount(name, f"{name}-secret")
        clients[name] = await host.connectClient(account, "r1")
    alice, bob, carol, dave = (clients[n] for n in ("alice", "bob", "carol", "dave"))

    queried = await join(
        alice, room, "a", [NS_ACTIVITY + "+notify", NS_CONFERENCE_INFO + "+notify"], mucDomain
    )
    # The room's own query (OQ-13). ejabberd's mod_caps also asks the caps
    # of the occupant JID whose presence (with alice's caps) it delivers to
    # alice; the room forwards that query to her (XEP-0045 section 17.4),
    # so it reaches her from coven@…/a.
    check.assertIn(room, queried)
    await join(bob, room, "b", [NS_ACTIVITY], mucDomain)
    await join(carol, room, "c", ["urn:example:nothing"], mucDomain)

    # Groupchat through the host: the body reaches bob as alice wrote it,
    # in jabber:client (the component stream's namespace is another).
    message = domish.Element((None, "message"))
    message["type"], message["to"] = "groupchat", room
    message.addElement("body", content="Double, double toil and trouble")
    alice.send(message)
    said = await bob.waitFor(
        lambda s: s.name == "message" and s.getAttribute("from") == f"{room}/a"
        and s.getAttribute("type") == "groupchat",
        WAIT,
    )
    [body] = list(said.elements("jabber:client", "body"))
    check.assertEqual("Double, double toil and trouble", str(body))

    publish = domish.Element((None, "iq"))
    publish["type"], publish["to"] = "set", f"{room}/b"
    item = publish.addElement((NS_PUBSUB, "pubsub")).addElement("publish")
    item["node"] = NS_ACTIVITY
    activity = item.addElement("item").addElement((NS_ACTIVITY, "activity"))
    activity.addElement("other")
    activity.addElement("text", content="I'll give thee a wind.")
    result = await bob.request(publish, WAIT)
    check.assertEqual("result", result["type"], result.toXml())
    event = await alice.waitFor(isEvent(NS_ACTIVITY, f"{room}/b"), WAIT)
    check.assertEqual("headline", event["type"])
    await assertNothingFromService(check, carol, mucDomain, isEvent(NS_ACTIVITY))

    code, body = await postEvent(component, "coven", NS_CONFERENCE_INFO, conferenceInfo("The meeting starts"))
    check.assertTrue(200 <= code < 300, (code, body))
    event = await alice.waitFor(isEvent(NS_CONFERENCE_INFO, room), WAIT)
    check.assertIn(event.event.items.item["id"], body)
    check.assertEqual("The meeting starts", str(event.event.items.item.firstChildElement().activity.text))

    backend = domish.Element((None, "iq"))
    backend["type"], backend["to"] = "set", room
    item = backend.addElement((NS_PUBSUB, "pubsub")).addElement("publish")
    item["node"] = NS_CONFERENCE_INFO
    item.addElement("item")["id"] = "from-backend"
    item.item.addRawXml(conferenceInfo("Set by the backend"))
    result = await carol.request(backend, WAIT)
    check.assertEqual("result", result["type"], result.toXml())
    event = await alice.waitFor(
        lambda s: isEvent(NS_CONFERENCE_INFO, room)(s)
        and s.event.items.item.getAttribute("id") == "from-backend",
        WAIT,
    )

    # A clean end of her stream, which the host answers by closing the
    # connection (ejabberd leaves a TLS connection closed without it open).
    carol.xmlstream.sendFooter()
    await carol.close()
    left = await alice.waitFor(
        lambda s: s.name == "presence"
        and s.getAttribute("from") == f"{room}/c"
        and s.getAttribute("type") == "unavailable",
        WAIT,
    )
    check.assertIsNotNone(left.x)

    await dropLink(component)

    await join(dave, room, "d", [NS_CONFERENCE_INFO + "+notify"], mucDomain)
    last = await dave.waitFor(isEvent(NS_CONFERENCE_INFO, room), WAIT)
    check.assertEqual("from-backend", last.event.items.item["id"])
    check.assertIsNotNone(next(last.elements(NS_DELAY, "delay"), None), last.toXml())
    await alice.waitFor(
        lambda s: s.name == "presence" and s.getAttribute("from") == f"{room}/d", WAIT
    )
    code, body = await postEvent(component, "coven", NS_CONFERENCE_INFO, conferenceInfo("After the break"))
    check.assertTrue(200 <= code < 300, (code, body))
    for client in (alice, dave):
        await client.waitFor(
            lambda s: isEvent(NS_CONFERENCE_INFO, room)(s)
            and s.event.items.item["id"] in body,
            WAIT,
        )
