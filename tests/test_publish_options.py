# -*- test-case-name: tests.test_publish_options -*-
"""
Persistent storage of private data via PEP (XEP-0223) on the shared pubsub
engine: publish-options preconditions (XEP-0060 section 7.1.5) as
XEP-0223 section 3 and XEP-0402 use them, on the client domain
L{mepserver.server.buildServer} builds (L{tests.test_pep.PEPTestCase}).
"""

from tests.test_pep import (
    NS_TUNE,
    PEPTestCase,
    pubsubRequest,
    publish,
)

NODE = "storage:bookmarks"

#: XEP-0223 section 3, example 1: the options of private data.
PRIVATE = [("pubsub#persist_items", "true"), ("pubsub#access_model", "whitelist")]

#: XEP-0402 section 3.3.
BOOKMARKS = PRIVATE + [
    ("pubsub#max_items", "max"),
    ("pubsub#send_last_published_item", "never"),
]


class PrivateDataTests(PEPTestCase):
    """
    XEP-0223 sections 3 and 4: a node created with the private-data
    preconditions is the owner's alone.
    """

    def publishPrivate(self, itemId="current", options=PRIVATE, client=None):
        return self.publishTune(client=client, node=NODE, itemId=itemId, options=options)

    def test_ownerOnly(self):
        """
        Section 4: contacts with presence access (romeo, interested) get no
        notification, no items (not-allowed + closed-node), no node in
        disco#items; the owner's other resource gets the notification and
        the items.
        """
        for client in (self.romeo, self.chamber):
            client.announce([NODE + "+notify"], "<presence><show>away</show></presence>")
        self.forget()
        self.publishPrivate()
        self.romeo.expectNothing()
        [event] = self.chamber.events()
        self.assertEqual(NODE, event.event.items["node"])
        get = pubsubRequest("get", f"<items node='{NODE}'/>", to="juliet@capulet.lit")
        self.assertError(self.romeo.request(get), "not-allowed", "cancel", "closed-node")
        self.assertEqual("result", self.chamber.request(get)["type"])
        answer = self.romeo.request(
            "<iq type='get' id='items' to='juliet@capulet.lit'>"
            "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>"
        )
        self.assertEqual([], list(answer.query.elements()))

    def test_sameOptionsMetAgain(self):
        """
        XEP-0060 section 7.1.5 rule 2: the same preconditions, given with
        other spellings of the same values ('1' for 'true'), are met.
        """
        self.publishPrivate(options=BOOKMARKS)
        self.publishPrivate(
            itemId="b",
            options=[("pubsub#persist_items", "1"), ("pubsub#access_model", "whitelist"),
                     ("pubsub#max_items", "max")],
        )

    def test_notMet(self):
        """
        Rule 1: a node made with other options (the presence default)
        refuses the private-data preconditions with conflict +
        precondition-not-met, and keeps its item; so does a max_items
        precondition of a number for a node with max.
        """
        self.publishTune(node=NODE, itemId="current")
        answer = self.balcony.request(publish(node=NODE, itemId="x", options=PRIVATE))
        self.assertError(answer, "conflict", "cancel", "precondition-not-met")
        self.assertEqual(["current"], list(self.harness.service("juliet").nodes[NODE].items))
        self.publishTune(node=NS_TUNE, options=BOOKMARKS)
        answer = self.balcony.request(
            publish(node=NS_TUNE, options=[("pubsub#max_items", "10")])
        )
        self.assertError(answer, "conflict", "cancel", "precondition-not-met")

    def test_maxItemsMax(self):
        """
        max_items = max keeps every item (the PEP default keeps one).
        """
        for itemId in ("a", "b", "c"):
            self.publishPrivate(itemId=itemId, options=BOOKMARKS)
        answer = self.balcony.request(pubsubRequest("get", f"<items node='{NODE}'/>"))
        self.assertEqual(["a", "b", "c"], [i["id"] for i in answer.pubsub.items.elements()])

    def test_neverSendsLastOnPresence(self):
        """
        send_last_published_item = never: the owner's new resource, though
        interested, gets no last item.
        """
        self.publishPrivate(options=BOOKMARKS)
        self.forget()
        hall = self.harness.connect("juliet", "hall")
        hall.announce([NODE + "+notify"])
        self.assertEqual([], hall.events())
        config = self.harness.service("juliet").nodes[NODE].config.values()
        self.assertEqual(
            {"pubsub#access_model": "whitelist", "pubsub#max_items": "max",
             "pubsub#send_last_published_item": "never", "pubsub#persist_items": True},
            {var: config[var] for var, _ in BOOKMARKS},
        )
