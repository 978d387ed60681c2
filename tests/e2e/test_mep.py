# -*- test-case-name: tests.e2e.test_mep -*-
"""
End-to-end MUC Eventing Protocol (XEP-0316) over real TCP, TLS and SASL:
Twisted clients (L{mepserver.testing.RunningServer.connectClient}) join a
room with real caps (XEP-0115) and answer the room's disco#info query; an
occupant publishes to its occupant JID, and the room generates events.
"""

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.mepclient import NS_ACTIVITY, NS_CONFERENCE_INFO, conferenceInfo, isEvent, join
from tests.helpers import parseXml

NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


class MEPTests(unittest.TestCase):
    """
    XEP-0316 between real clients.
    """

    timeout = 60

    async def test_occupantAndRoomEvents(self):
        """
        R14, R16, R34, R36, R10, R68: with real caps negotiation from the
        room, B's publish to its occupant JID reaches A (activity+notify)
        from …/b and not C; a room event reaches A from the room JID; a
        late joiner with conference-info+notify gets the room's last item
        with a delay stamp after the subject.
        """
        running = await startServer(self, mucCreateUnlocked=True)
        room = f"coven@{running.mucDomain}"
        clients = {}
        for name in ("alice", "bob", "carol", "dave"):
            account = await running.createAccount(name)
            clients[name] = await running.connectClient(account, "r1")
        alice, bob, carol, dave = (clients[n] for n in ("alice", "bob", "carol", "dave"))
        queried = await join(
            alice, room, "a", [NS_ACTIVITY + "+notify", NS_CONFERENCE_INFO + "+notify"]
        )
        self.assertEqual([room], queried)
        await join(bob, room, "b", [NS_ACTIVITY])
        await join(carol, room, "c", ["urn:example:nothing"])

        result = await bob.request(parseXml(
            f"<iq type='set' to='{room}/b'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
            f"<publish node='{NS_ACTIVITY}'><item><activity xmlns='{NS_ACTIVITY}'><other/>"
            "<text>I'll give thee a wind.</text></activity></item></publish></pubsub></iq>",
            "jabber:client",
        ))
        self.assertEqual("result", result["type"], result.toXml())
        event = await alice.waitFor(isEvent(NS_ACTIVITY, f"{room}/b"))
        self.assertEqual("headline", event["type"])
        self.assertIsNone(event.delay)
        await carol.assertNoStanzaReceived(isEvent(NS_ACTIVITY))

        itemId = await running.server.mep.generateEvent(
            "coven", NS_CONFERENCE_INFO, conferenceInfo("The meeting starts")
        )
        event = await alice.waitFor(isEvent(NS_CONFERENCE_INFO, room))
        self.assertEqual(itemId, event.event.items.item["id"])
        self.assertEqual("The meeting starts", str(event.event.items.item.firstChildElement().activity.text))

        await join(dave, room, "d", [NS_CONFERENCE_INFO + "+notify"])
        last = await dave.waitFor(isEvent(NS_CONFERENCE_INFO, room))
        self.assertIsNotNone(last.delay)

    async def test_pepAndMEPSeparate(self):
        """
        R25, R26: a PEP publish triggers no MEP event, and a MEP publish
        puts nothing into PEP.
        """
        running = await startServer(self, mucCreateUnlocked=True)
        room = f"coven@{running.mucDomain}"
        alice = await running.connectClient(await running.createAccount("alice"), "r1")
        bob = await running.connectClient(await running.createAccount("bob"), "r1")
        await join(alice, room, "a", [NS_ACTIVITY + "+notify"])
        await join(bob, room, "b", [])
        publish = (
            "<iq type='set'%s><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
            f"<publish node='{NS_ACTIVITY}'><item><activity xmlns='{NS_ACTIVITY}'><other/></activity>"
            "</item></publish></pubsub></iq>"
        )
        result = await bob.request(parseXml(publish % "", "jabber:client"))
        self.assertEqual("result", result["type"])
        await alice.assertNoStanzaReceived(isEvent(NS_ACTIVITY, f"{room}/b"))
        items = await alice.request(parseXml(
            f"<iq type='get' to='{room}/b'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
            f"<items node='{NS_ACTIVITY}'/></pubsub></iq>", "jabber:client"))
        self.assertEqual("error", items["type"])
        self.assertIsNotNone(items.error.getAttribute("type"))
        self.assertIsNotNone(next(items.error.elements(NS_STANZAS, "item-not-found"), None), items.toXml())

        result = await alice.request(parseXml(publish % f" to='{room}/a'", "jabber:client"))
        self.assertEqual("result", result["type"])
        items = await bob.request(parseXml(
            f"<iq type='get' to='alice@{running.domain}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
            f"<items node='{NS_ACTIVITY}'/></pubsub></iq>", "jabber:client"))
        # Nothing there: no such PEP node, or a result without the item;
        # not another error, which would hide whatever is there.
        if items["type"] == "error":
            self.assertIsNotNone(next(items.error.elements(NS_STANZAS, "item-not-found"), None), items.toXml())
        self.assertNotIn("<activity", items.toXml())
