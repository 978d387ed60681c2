# -*- test-case-name: tests.test_bookmarks -*-
"""
Protocol tests for L{mepserver.c2s.bookmarks}: legacy bookmarks (XEP-0048
in private XML, XEP-0049) kept in step with PEP Native Bookmarks
(XEP-0402 section 5), on the client domain
L{mepserver.server.buildServer} builds (L{tests.test_pep.PEPHarness}).
"""

from twisted.trial import unittest

from mepserver.c2s.bookmarks import Bookmark
from tests.test_pep import NS_PUBSUB, PEPHarness, publish, pubsubRequest
from tests.test_private import NS_DISCO_INFO, privateIQ

NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
NS_LEGACY = "storage:bookmarks"
NS_OWNER = NS_PUBSUB + "#owner"
PLAY = "theplay@conference.shakespeare.lit"
ORCHARD = "orchard@conference.shakespeare.lit"

#: XEP-0402 section 3.3's publish-options.
OPTIONS = [
    ("pubsub#persist_items", "true"),
    ("pubsub#max_items", "max"),
    ("pubsub#send_last_published_item", "never"),
    ("pubsub#access_model", "whitelist"),
]


def legacy(*conferences):
    """
    A XEP-0048 C{<storage/>} with the given C{<conference/>} literals.
    """
    return f"<storage xmlns='{NS_LEGACY}'>{''.join(conferences)}</storage>"


PLAY_LEGACY = (
    f"<conference jid='{PLAY}' name='The Play&apos;s the Thing' autojoin='true'>"
    "<nick>JC</nick><password>cauldronburn</password></conference>"
)
ORCHARD_LEGACY = f"<conference jid='{ORCHARD}' name='The Orchard'><nick>JC</nick></conference>"


class BookmarksTestCase(unittest.TestCase):
    """
    juliet at balcony and chamber, both with urn:xmpp:bookmarks:1+notify,
    and romeo, her contact (both), also interested.
    """

    def setUp(self):
        from tests.test_pep import ROMEO

        self.harness = PEPHarness(self)
        self.harness.befriend("juliet", ROMEO)
        self.balcony = self.harness.connect("juliet", "balcony")
        self.chamber = self.harness.connect("juliet", "chamber")
        self.romeo = self.harness.connect("romeo", "orchard")
        clients = (self.balcony, self.chamber, self.romeo)
        for client in clients:
            client.announce([NS_BOOKMARKS + "+notify"])
        for client in clients:
            client.take()

    def setLegacy(self, *conferences, client=None):
        answer = (client or self.balcony).request(privateIQ("set", legacy(*conferences)))
        self.assertEqual("result", answer["type"], answer.toXml())

    def getLegacy(self, client=None):
        """
        @return: the legacy conferences by jid, as elements.
        """
        answer = (client or self.chamber).request(
            privateIQ("get", f"<storage xmlns='{NS_LEGACY}'/>", iqId="get")
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        storage = answer.query.storage
        self.assertEqual(NS_LEGACY, storage.uri)
        return {c["jid"]: c for c in storage.elements(NS_LEGACY, "conference")}

    def items(self, client=None):
        """
        @return: the XEP-0402 items by id, as C{<conference/>} elements.
        """
        answer = (client or self.chamber).request(
            pubsubRequest("get", f"<items node='{NS_BOOKMARKS}'/>")
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        return {i["id"]: i.firstChildElement() for i in answer.pubsub.items.elements()}

    def node(self):
        return self.harness.service("juliet").nodes[NS_BOOKMARKS]


class LegacySetTests(BookmarksTestCase):
    """
    XEP-0402 section 5.2: a legacy set updates the PEP items.
    """

    def test_setPublishes(self):
        """
        Each legacy conference becomes an item with the room JID as its id
        and a XEP-0402 conference as its payload, on a node with XEP-0402's
        options.
        """
        self.setLegacy(PLAY_LEGACY, ORCHARD_LEGACY)
        items = self.items()
        self.assertEqual([PLAY, ORCHARD], list(items))
        play = items[PLAY]
        self.assertEqual((NS_BOOKMARKS, "conference"), (play.uri, play.name))
        self.assertEqual("The Play's the Thing", play["name"])
        self.assertEqual("true", play["autojoin"])
        self.assertEqual("JC", str(play.nick))
        self.assertEqual("cauldronburn", str(play.password))
        self.assertFalse(items[ORCHARD].hasAttribute("autojoin"))
        values = self.node().config.values()
        self.assertEqual(
            {var: value for var, value in OPTIONS},
            {var: str(values[var]).lower() for var, _ in OPTIONS},
        )

    def test_notifiesOwnSessionsOnly(self):
        """
        The account's interested sessions are notified of each new item,
        the setter's included (before its result, as for a PEP publish);
        the whitelist node tells contacts nothing.
        """
        self.balcony.send(privateIQ("set", legacy(PLAY_LEGACY), iqId="set1"))
        received = self.balcony.take()
        self.assertEqual(["message", "iq"], [s.name for s in received])
        self.assertEqual("result", received[1]["type"])
        self.balcony.stream.output.append(received[0])
        for client in (self.balcony, self.chamber):
            [event] = client.events()
            self.assertEqual("juliet@capulet.lit", event["from"])
            self.assertEqual(NS_BOOKMARKS, event.event.items["node"])
            self.assertEqual([PLAY], [i["id"] for i in event.event.items.elements()])
        self.romeo.expectNothing()

    def test_unchangedNotRepublished(self):
        """
        Setting the same list again (autojoin '1' for 'true' included)
        publishes nothing and notifies nobody.
        """
        self.setLegacy(PLAY_LEGACY, ORCHARD_LEGACY)
        self.chamber.take()
        published = self.node().items[PLAY].published
        self.setLegacy(PLAY_LEGACY.replace("autojoin='true'", "autojoin='1'"), ORCHARD_LEGACY)
        self.assertEqual([], self.chamber.events())
        self.assertEqual(published, self.node().items[PLAY].published)

    def test_changedAndRemoved(self):
        """
        A changed bookmark is published again, one left out is retracted;
        other sessions get one notification of each.
        """
        self.setLegacy(PLAY_LEGACY, ORCHARD_LEGACY)
        self.chamber.take()
        self.setLegacy(ORCHARD_LEGACY.replace("JC", "Juliet"))
        events = self.chamber.events()
        published = [e for e in events if e.event.items.item is not None]
        retracted = [e for e in events if e.event.items.retract is not None]
        self.assertEqual([ORCHARD], [e.event.items.item["id"] for e in published])
        self.assertEqual([PLAY], [e.event.items.retract["id"] for e in retracted])
        self.assertEqual([ORCHARD], list(self.items()))
        self.assertEqual("Juliet", str(self.items()[ORCHARD].nick))

    def test_emptyRetractsAll(self):
        """
        An empty legacy list retracts every bookmark.
        """
        self.setLegacy(PLAY_LEGACY, ORCHARD_LEGACY)
        self.setLegacy()
        self.assertEqual({}, self.items())
        self.assertEqual({}, self.getLegacy())

    def test_invalidJID(self):
        """
        A conference without a valid jid refuses the whole set with
        bad-request, changing nothing.
        """
        self.setLegacy(PLAY_LEGACY)
        for bad in ("<conference name='x'/>", "<conference jid='@@'/>"):
            answer = self.balcony.request(privateIQ("set", legacy(ORCHARD_LEGACY, bad)))
            self.assertEqual("error", answer["type"])
            self.assertEqual("bad-request", answer.error.firstChildElement().name)
        self.assertEqual([PLAY], list(self.items()))

    def test_urlsDropped(self):
        """
        XEP-0048 URL bookmarks have no XEP-0402 form: ignored.
        """
        self.setLegacy(PLAY_LEGACY, "<url name='Play' url='http://example.com/'/>")
        self.assertEqual([PLAY], list(self.items()))
        answer = self.chamber.request(privateIQ("get", f"<storage xmlns='{NS_LEGACY}'/>"))
        self.assertIsNone(answer.query.storage.url)

    def test_reconfiguresNode(self):
        """
        A node a client made with other options (presence access, one
        item) gets XEP-0402's before the legacy list is published.
        """
        answer = self.balcony.request(
            publish(node=NS_BOOKMARKS, payload=f"<conference xmlns='{NS_BOOKMARKS}'/>", itemId=ORCHARD)
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        self.assertEqual("presence", self.node().config.values()["pubsub#access_model"])
        self.setLegacy(PLAY_LEGACY, ORCHARD_LEGACY)
        values = self.node().config.values()
        self.assertEqual("whitelist", values["pubsub#access_model"])
        self.assertEqual("max", values["pubsub#max_items"])
        self.assertEqual({ORCHARD, PLAY}, set(self.items()))

    def test_extensions(self):
        """
        A legacy conference's children in other namespaces are the
        XEP-0402 extensions; a later legacy set without any keeps them.
        """
        state = "<state xmlns='http://myclient.example/bookmark/state' minimized='true'/>"
        self.setLegacy(ORCHARD_LEGACY.replace("</conference>", state + "</conference>"))
        extensions = self.items()[ORCHARD].extensions
        self.assertEqual(["state"], [e.name for e in extensions.elements()])
        self.setLegacy(ORCHARD_LEGACY.replace("The Orchard", "The Orchard!"))
        item = self.items()[ORCHARD]
        self.assertEqual("The Orchard!", item["name"])
        self.assertEqual(["state"], [e.name for e in item.extensions.elements()])
        conference = self.getLegacy()[ORCHARD]
        self.assertEqual(
            ["http://myclient.example/bookmark/state"],
            [c.uri for c in conference.elements() if c.name == "state"],
        )


class NativeToLegacyTests(BookmarksTestCase):
    """
    XEP-0402 section 5.1: what XEP-0402 clients publish and retract is
    what a legacy get returns.
    """

    def test_publishThenLegacyGet(self):
        """
        Example 4's publish (with publish-options) shows in a legacy get,
        the item id as jid.
        """
        payload = (
            f"<conference xmlns='{NS_BOOKMARKS}' name='The Play&apos;s the Thing' "
            "autojoin='true'><nick>JC</nick></conference>"
        )
        answer = self.balcony.request(
            publish(node=NS_BOOKMARKS, payload=payload, itemId=PLAY, options=OPTIONS)
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        conferences = self.getLegacy()
        self.assertEqual([PLAY], list(conferences))
        play = conferences[PLAY]
        self.assertEqual("The Play's the Thing", play["name"])
        self.assertEqual("true", play["autojoin"])
        self.assertEqual("JC", str(play.nick))
        self.assertEqual(NS_LEGACY, play.nick.uri)

    def test_retractThenLegacyGet(self):
        """
        A retracted bookmark is gone from the legacy list.
        """
        self.setLegacy(PLAY_LEGACY, ORCHARD_LEGACY)
        answer = self.balcony.request(
            pubsubRequest(
                "set", f"<retract node='{NS_BOOKMARKS}' notify='true'><item id='{PLAY}'/></retract>"
            )
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        self.assertEqual([ORCHARD], list(self.getLegacy()))

    def test_emptyLegacyGet(self):
        """
        With no node, a legacy get returns an empty storage element.
        """
        self.assertEqual({}, self.getLegacy())

    def test_otherPayloadsSkipped(self):
        """
        An item whose payload is no XEP-0402 conference is left out.
        """
        answer = self.balcony.request(
            publish(node=NS_BOOKMARKS, payload="<x xmlns='urn:other'/>", itemId=PLAY)
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        self.assertEqual({}, self.getLegacy())


class DiscoveryTests(BookmarksTestCase):
    """
    XEP-0402 section 5: the account announces #compat.
    """

    def test_compatOnAccount(self):
        """
        The account's bare JID lists urn:xmpp:bookmarks:1#compat (not
        #compat-pep, which is not implemented); the domain does not.
        """

        def features(to):
            answer = self.balcony.request(
                f"<iq type='get' id='d' to='{to}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
            )
            return {f["var"] for f in answer.query.elements(NS_DISCO_INFO, "feature")}

        account = features("juliet@capulet.lit")
        self.assertIn(NS_BOOKMARKS + "#compat", account)
        self.assertNotIn(NS_BOOKMARKS + "#compat-pep", account)
        self.assertNotIn(NS_BOOKMARKS + "#compat", features("capulet.lit"))


class BookmarkTests(unittest.SynchronousTestCase):
    """
    L{Bookmark}, the mapping between both forms.
    """

    def test_roundTrip(self):
        """
        A bookmark rendered as a XEP-0402 payload reads back the same.
        """
        bookmark = Bookmark(
            room=PLAY,
            name="n",
            autojoin="1",
            nick="JC",
            password="p",
            extensions=("<state xmlns='urn:x'/>",),
        )
        self.assertEqual(bookmark, Bookmark.fromItem(PLAY, bookmark.toPayload()))
        self.assertEqual(bookmark, Bookmark.fromLegacy(bookmark.toLegacy()))

    def test_sameAs(self):
        """
        autojoin '1' and 'true' are the same; absent and 'false' too.
        """
        self.assertTrue(Bookmark(PLAY, autojoin="1").sameAs(Bookmark(PLAY, autojoin="true")))
        self.assertTrue(Bookmark(PLAY).sameAs(Bookmark(PLAY, autojoin="false")))
        self.assertFalse(Bookmark(PLAY).sameAs(Bookmark(PLAY, autojoin="true")))
        self.assertFalse(Bookmark(PLAY, nick="a").sameAs(Bookmark(PLAY, nick="b")))
