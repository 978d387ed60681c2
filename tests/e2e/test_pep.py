# -*- test-case-name: tests.e2e.test_pep -*-
"""
End-to-end Personal Eventing (XEP-0163) over real TCP, TLS and SASL, with
Twisted clients (L{mepserver.testing.RunningServer.connectClient}) that
announce real caps (XEP-0115) and answer the server's disco#info query.
"""

import os

from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.interfaces import RosterItem
from mepserver.testing import startServer
from tests.helpers import CapsClient, parseXml

NS_TUNE = "http://jabber.org/protocol/tune"
NS_EVENT = "http://jabber.org/protocol/pubsub#event"

PUBLISH_TUNE = (
    "<iq type='set' id='pub1'>"
    "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
    "<publish node='http://jabber.org/protocol/tune'><item>"
    "<tune xmlns='http://jabber.org/protocol/tune'>"
    "<artist>Gerald Finzi</artist><title>Introduction (Allegro vigoroso)</title>"
    "</tune></item></publish></pubsub></iq>"
)


def isTuneEvent(stanza):
    """
    @return: whether C{stanza} is a tune notification.
    """
    if stanza.name != "message":
        return False
    for event in stanza.elements(NS_EVENT, "event"):
        for items in event.elements(NS_EVENT, "items"):
            return items.getAttribute("node") == NS_TUNE
    return False


async def befriend(running, *names):
    """
    Give each pair of the accounts a mutual presence subscription.
    """
    users = running.server.users
    for name in names:
        for other in names:
            if other != name:
                contact = JID(f"{other}@{running.domain}")
                await users.setRosterItem(name, RosterItem(contact, subscription="both"))


async def connect(running, account, features, resource="home"):
    """
    Log an account in, answer caps queries with C{features} and send
    initial presence with caps; return once the server knows the caps.
    """
    client = await running.connectClient(account, resource)
    caps = CapsClient(features)
    caps.answerOn(client.xmlstream)
    client.send(caps.presence())
    # The first round trip ends after the server processed the presence,
    # and so after any caps query it sent; the second after the answer.
    await client.ping()
    await client.ping()
    return client


def itemsRequest(service, node):
    """
    @return: an items request (XEP-0060 section 6.5.2).
    """
    return parseXml(
        f"<iq type='get' to='{service}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
        f"<items node='{node}'/></pubsub></iq>",
        "jabber:client",
    )


class PEPTests(unittest.TestCase):
    """
    XEP-0163 between real clients: notifications filtered by caps, item
    retrieval, and items that survive a restart on SQLite.
    """

    timeout = 60

    async def test_filteredNotifications(self):
        """
        Sections 4.1 to 4.3: juliet publishes a tune with no C{to}; romeo,
        a contact whose caps carry tune+notify, and juliet herself each get
        one headline from juliet's bare JID with the payload; the nurse, a
        contact without tune+notify, gets none. Romeo can retrieve the item
        (access model presence).
        """
        running = await startServer(self)
        accounts = {}
        for name in ("juliet", "romeo", "nurse"):
            accounts[name] = await running.createAccount(name, name + "-secret")
        await befriend(running, *accounts)
        interested = [NS_TUNE, NS_TUNE + "+notify"]
        clients = {}
        for name, features in (("juliet", interested), ("romeo", interested), ("nurse", [NS_TUNE])):
            clients[name] = await connect(running, accounts[name], features)
        juliet, romeo, nurse = clients["juliet"], clients["romeo"], clients["nurse"]
        bare = accounts["juliet"].jid.userhost()

        result = await juliet.request(parseXml(PUBLISH_TUNE, "jabber:client"))
        self.assertEqual("result", result["type"], result.toXml())
        itemId = result.pubsub.publish.item["id"]

        for client in (romeo, juliet):
            event = await client.waitFor(isTuneEvent)
            self.assertEqual(bare, event["from"])
            self.assertEqual("headline", event["type"])
            self.assertTrue(event.getAttribute("id"))
            item = event.event.items.item
            self.assertEqual(itemId, item["id"])
            self.assertEqual("Gerald Finzi", str(item.tune.artist))
            self.assertIsNone(event.delay)
        await nurse.assertNoStanzaReceived(isTuneEvent)

        items = await romeo.request(itemsRequest(bare, NS_TUNE))
        self.assertEqual("result", items["type"], items.toXml())
        self.assertEqual(itemId, items.pubsub.items.item["id"])

    async def test_restartKeepsItems(self):
        """
        Items are durable on SQLite: after a restart, the contact retrieves
        the item, and a newly available session with tune+notify gets it
        as the last published item, with a delay stamp (section 4.3.4).
        """
        dataDir = self.mktemp()
        os.makedirs(dataDir)
        running = await startServer(storage="sqlite", dataDir=dataDir)
        try:
            accounts = {}
            for name in ("juliet", "romeo"):
                accounts[name] = await running.createAccount(name, name + "-secret")
            await befriend(running, *accounts)
            juliet = await running.connectClient(accounts["juliet"], "home")
            result = await juliet.request(parseXml(PUBLISH_TUNE, "jabber:client"))
            self.assertEqual("result", result["type"], result.toXml())
            itemId = result.pubsub.publish.item["id"]
        finally:
            await running.stop()

        running = await startServer(self, storage="sqlite", dataDir=dataDir)
        romeo = await running.connectClient(accounts["romeo"], "orchard")
        bare = f"juliet@{running.domain}"
        items = await romeo.request(itemsRequest(bare, NS_TUNE))
        self.assertEqual("result", items["type"], items.toXml())
        self.assertEqual(itemId, items.pubsub.items.item["id"])
        self.assertEqual("Gerald Finzi", str(items.pubsub.items.item.tune.artist))

        caps = CapsClient([NS_TUNE + "+notify"])
        caps.answerOn(romeo.xmlstream)
        romeo.send(caps.presence())
        event = await romeo.waitFor(isTuneEvent)
        self.assertEqual(bare, event["from"])
        self.assertEqual(itemId, event.event.items.item["id"])
        self.assertIsNotNone(event.delay)
        self.assertEqual(bare, event.delay["from"])

    async def test_resetForgetsNodes(self):
        """
        L{mepserver.testing.RunningServer.reset} forgets PEP nodes and
        items with the accounts.
        """
        running = await startServer(self)
        juliet = await running.createAccount("juliet", "juliet-secret")
        client = await running.connectClient(juliet, "home")
        result = await client.request(parseXml(PUBLISH_TUNE, "jabber:client"))
        self.assertEqual("result", result["type"], result.toXml())
        await running.reset()
        juliet = await running.createAccount("juliet", "juliet-secret")
        client = await running.connectClient(juliet, "home")
        answer = await client.request(itemsRequest(juliet.jid.userhost(), NS_TUNE))
        self.assertEqual("error", answer["type"], answer.toXml())
        self.assertEqual("item-not-found", answer.error.firstChildElement().name)
