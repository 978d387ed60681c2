# -*- test-case-name: tests.test_blocking -*-
"""
Tests for L{mepserver.c2s.blocking}: the Blocking Command (XEP-0191).

L{BlockListTests} checks the matching of section 5 on the model; the
others are protocol flows on the client domain exactly as
L{mepserver.server.buildServer} builds it (L{tests.test_pep.PEPHarness}),
with bound sessions on stub streams, a memory store and a recorded MUC
domain. Every store call of the memory store fires at once, so when a
client's stanza has been sent, everything it causes has happened: what a
client has not received by then, it never receives.
"""

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.c2s.blocking import BlockingHandler, BlockList, BlockLists
from mepserver.interfaces import Credentials
from mepserver.storage.memory import MemoryUserStore
from tests import test_pep
from tests.test_pep import DOMAIN, MUC_DOMAIN, NURSE, ROMEO, PEPHarness

NS_BLOCKING = "urn:xmpp:blocking"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
ROOM = f"capulets@{MUC_DOMAIN}"


def blockIQ(*jids, iqId="block1", command="block"):
    items = "".join(f"<item jid='{j}'/>" for j in jids)
    return f"<iq type='set' id='{iqId}'><{command} xmlns='{NS_BLOCKING}'>{items}</{command}></iq>"


def unblockIQ(*jids, iqId="unblock1"):
    return blockIQ(*jids, iqId=iqId, command="unblock")


def errorOf(stanza):
    """
    @return: the defined condition, type and text of an error stanza.
    """
    element = stanza.error
    conditions = [c.name for c in element.elements() if c.uri == NS_STANZAS and c.name != "text"]
    text = next((str(c) for c in element.elements(NS_STANZAS, "text")), None)
    return conditions[0], element["type"], text


class BlockListTests(unittest.SynchronousTestCase):
    """
    L{BlockList.matches}: section 5, in XEP-0016's order.
    """

    ENTITIES = [
        JID("romeo@montague.net/orchard"),
        JID("romeo@montague.net/garden"),
        JID("romeo@montague.net"),
        JID("benvolio@montague.net/orchard"),
        JID("montague.net/orchard"),
        JID("montague.net"),
        JID("romeo@capulet.lit/orchard"),
    ]

    def matching(self, item):
        blockList = BlockList([JID(item)])
        return [e.full() for e in self.ENTITIES if blockList.matches(e)]

    def test_fullJID(self):
        """
        user@domain/resource: only that resource matches.
        """
        self.assertEqual(["romeo@montague.net/orchard"], self.matching("romeo@montague.net/orchard"))

    def test_bareJID(self):
        """
        user@domain: the bare JID and any resource of it.
        """
        self.assertEqual(
            ["romeo@montague.net/orchard", "romeo@montague.net/garden", "romeo@montague.net"],
            self.matching("romeo@montague.net"),
        )

    def test_domainResource(self):
        """
        domain/resource: that resource, of the domain or of any user at it.
        """
        self.assertEqual(
            [
                "romeo@montague.net/orchard",
                "benvolio@montague.net/orchard",
                "montague.net/orchard",
            ],
            self.matching("montague.net/orchard"),
        )

    def test_domain(self):
        """
        domain: the domain itself and everything at it, not other domains.
        """
        self.assertEqual(
            [e.full() for e in self.ENTITIES[:-1]], self.matching("montague.net")
        )

    def test_emptyAndEdits(self):
        """
        An empty list matches nothing; C{add} and C{remove} change the items,
        which C{items} gives sorted.
        """
        blockList = BlockList()
        self.assertFalse(blockList.matches(ROMEO))
        blockList.add([ROMEO, NURSE])
        self.assertEqual([NURSE, ROMEO], blockList.items())
        blockList.remove([NURSE])
        self.assertEqual([ROMEO], blockList.items())
        self.assertIn(ROMEO, blockList)


class SlowStore(MemoryUserStore):
    """
    A memory store whose block lists arrive only when the test says so, as
    from SQLite's thread.
    """

    def __init__(self):
        MemoryUserStore.__init__(self)
        self.waiting = []

    def getBlockList(self, username):
        d = defer.Deferred()
        self.waiting.append((d, MemoryUserStore.getBlockList(self, username)))
        return d

    def release(self):
        waiting, self.waiting = self.waiting, []
        for d, result in waiting:
            result.chainDeferred(d)


class BlockingTestCase(unittest.TestCase):
    """
    juliet (at balcony and chamber) with romeo and the nurse as contacts
    (subscription both), benvolio with none; everyone available.
    """

    def setUp(self):
        self.harness = harness = PEPHarness(self)
        harness.befriend("juliet", ROMEO)
        harness.befriend("juliet", NURSE)
        self.balcony = harness.connect("juliet", "balcony")
        self.chamber = harness.connect("juliet", "chamber")
        self.romeo = harness.connect("romeo", "orchard")
        self.nurse = harness.connect("nurse", "chamber")
        self.benvolio = harness.connect("benvolio", "home")
        for client in self.clients():
            client.send("<presence/>")
        self.forget()

    def clients(self):
        return [self.balcony, self.chamber, self.romeo, self.nurse, self.benvolio]

    def forget(self):
        for client in self.clients():
            client.take()
        self.harness.muc.clear()

    def block(self, *jids, client=None):
        answer = (client or self.balcony).request(blockIQ(*jids))
        self.assertEqual("result", answer["type"], answer.toXml())

    def blockList(self, client=None):
        answer = (client or self.balcony).request(
            f"<iq type='get' id='bl1'><blocklist xmlns='{NS_BLOCKING}'/></iq>"
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        return [item["jid"] for item in answer.blocklist.elements(NS_BLOCKING, "item")]


class DiscoTests(BlockingTestCase):
    """
    Section 2.
    """

    def test_serverFeature(self):
        """
        The server's disco#info lists urn:xmpp:blocking; the account's own
        bare JID does not (the server, not the account, offers it).
        """
        for to, expected in ((DOMAIN, True), (f"juliet@{DOMAIN}", False)):
            answer = self.balcony.request(
                f"<iq type='get' id='d1' to='{to}'>"
                "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
            )
            features = [f["var"] for f in answer.query.elements("http://jabber.org/protocol/disco#info", "feature")]
            self.assertEqual(expected, NS_BLOCKING in features, answer.toXml())


class BlockListCommandTests(BlockingTestCase):
    """
    Sections 3.2 to 3.5: the list, its changes and pushes.
    """

    def test_emptyList(self):
        """
        Section 3.2: no blocked JIDs, an empty <blocklist/>.
        """
        self.assertEqual([], self.blockList())

    def test_blockAndGet(self):
        """
        Section 3.3: a block is answered with a result; the list then has
        each item (several per command, prepared, sorted).
        """
        self.block("romeo@capulet.lit", "Iago@Shakespeare.lit", "montague.net/gate")
        self.assertEqual(
            ["iago@shakespeare.lit", "montague.net/gate", "romeo@capulet.lit"],
            self.blockList(client=self.chamber),
        )

    def test_pushes(self):
        """
        Section 3.3 and 3.4: a block and an unblock are pushed to every
        resource that asked for the list (the requester too, after its
        result), and to no other.
        """
        self.blockList(client=self.balcony)
        self.blockList(client=self.chamber)
        third = self.harness.connect("juliet", "garden")
        self.balcony.send(blockIQ("romeo@capulet.lit"))
        result, push = self.balcony.take()
        self.assertEqual(("result", "block1"), (result["type"], result["id"]))
        for received in ([push], self.chamber.take()):
            [iq] = received
            self.assertEqual(("set", f"juliet@{DOMAIN}"), (iq["type"], iq["from"]))
            self.assertEqual(["romeo@capulet.lit"], [i["jid"] for i in iq.block.elements(NS_BLOCKING, "item")])
        self.assertEqual([], third.take())
        self.chamber.request(unblockIQ("romeo@capulet.lit"))
        [iq] = self.balcony.take()
        self.assertEqual(["romeo@capulet.lit"], [i["jid"] for i in iq.unblock.elements(NS_BLOCKING, "item")])
        self.assertEqual([], third.take())

    def test_unblock(self):
        """
        Section 3.4: unblocking removes exactly those items.
        """
        self.block("romeo@capulet.lit", "montague.net")
        answer = self.balcony.request(unblockIQ("montague.net", "tybalt@capulet.lit"))
        self.assertEqual("result", answer["type"])
        self.assertEqual(["romeo@capulet.lit"], self.blockList())

    def test_unblockAll(self):
        """
        Section 3.5: an empty <unblock/> empties the list, and the push is
        an empty <unblock/>.
        """
        self.blockList(client=self.chamber)
        self.block("romeo@capulet.lit", "montague.net")
        self.chamber.take()
        answer = self.balcony.request(unblockIQ(iqId="unblock2"))
        self.assertEqual("result", answer["type"])
        [push] = self.chamber.take()
        self.assertEqual([], list(push.unblock.elements()))
        self.assertEqual([], self.blockList())

    def test_durable(self):
        """
        Section 3.3: the block is stored, and applies across sessions.
        """
        self.block("romeo@capulet.lit")
        stored = self.successResultOf(self.harness.users.getBlockList("juliet"))
        self.assertEqual([ROMEO], stored)

    def test_blockWithoutItem(self):
        """
        Section 3.3: a <block/> without <item/> gets bad-request.
        """
        answer = self.balcony.request(blockIQ())
        self.assertEqual(
            ("bad-request", "modify", "a <block/> needs at least one <item/>"),
            errorOf(answer),
        )

    def test_malformedItem(self):
        """
        An item that is not a JID gets jid-malformed, and nothing of the
        command is applied.
        """
        for bad in ("@capulet.lit", "romeo@capulet.lit/", ""):
            answer = self.balcony.request(blockIQ("nurse@capulet.lit", bad))
            condition, kind, text = errorOf(answer)
            self.assertEqual(("jid-malformed", "modify"), (condition, kind))
            self.assertTrue(text)
        answer = self.balcony.request(unblockIQ("a@b@c"))
        self.assertEqual("jid-malformed", errorOf(answer)[0])
        self.assertEqual([], self.blockList())

    def test_othersList(self):
        """
        Only the account itself may read or change its list: romeo asking
        at juliet's bare JID gets service-unavailable.
        """
        for xml in (
            f"<iq type='get' id='x1' to='juliet@{DOMAIN}'><blocklist xmlns='{NS_BLOCKING}'/></iq>",
            f"<iq type='set' id='x1' to='juliet@{DOMAIN}'><block xmlns='{NS_BLOCKING}'>"
            "<item jid='nurse@capulet.lit'/></block></iq>",
        ):
            answer = self.romeo.request(xml)
            self.assertEqual("service-unavailable", errorOf(answer)[0])
        self.assertEqual([], self.blockList())


class InboundTests(BlockingTestCase):
    """
    Section 3.3: what a blocked entity sends the account.
    """

    def setUp(self):
        BlockingTestCase.setUp(self)
        self.block("romeo@capulet.lit")
        self.forget()

    def assertJulietGotNothing(self):
        """
        The barrier: a message from the nurse arrives, and nothing before
        it.
        """
        self.nurse.send(f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='n1'><body>Madam!</body></message>")
        [message] = self.balcony.take()
        self.assertEqual(f"nurse@{DOMAIN}/chamber", message["from"])
        self.assertEqual([], self.chamber.take())

    def test_message(self):
        """
        A chat or normal message gets service-unavailable (the account
        appears unavailable); a headline or groupchat is dropped silently.
        """
        for kind, refused in (("chat", True), ("normal", True), ("headline", False), ("groupchat", False)):
            self.romeo.send(
                f"<message to='juliet@{DOMAIN}' type='{kind}' id='m1'><body>Juliet?</body></message>"
            )
            received = self.romeo.take()
            if refused:
                [bounced] = received
                self.assertEqual(("error", f"juliet@{DOMAIN}"), (bounced["type"], bounced["from"]))
                self.assertEqual(
                    ("service-unavailable", "cancel", "the recipient is not available"),
                    errorOf(bounced),
                )
            else:
                self.assertEqual([], received)
        self.romeo.send(f"<message to='juliet@{DOMAIN}/balcony' id='m2'><body>At the window?</body></message>")
        self.assertEqual("service-unavailable", errorOf(self.romeo.take()[0])[0])
        self.assertJulietGotNothing()

    def test_markAsChild(self):
        """
        A child element named as a mark the server leaves on stanzas
        (C{blockingChecked}) does not pass the block list.
        """
        self.romeo.send(
            f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='m3'><body>Juliet?</body>"
            "<blockingChecked xmlns='urn:example'/></message>"
        )
        self.assertEqual("service-unavailable", errorOf(self.romeo.take()[0])[0])
        self.assertJulietGotNothing()

    def test_iq(self):
        """
        An IQ get or set gets service-unavailable; a result or error is
        dropped.
        """
        for to in (f"juliet@{DOMAIN}/balcony", f"juliet@{DOMAIN}"):
            answer = self.romeo.request(
                f"<iq type='get' id='v1' to='{to}'><query xmlns='jabber:iq:version'/></iq>"
            )
            self.assertEqual("service-unavailable", errorOf(answer)[0])
        self.romeo.send(f"<iq type='result' id='r1' to='juliet@{DOMAIN}/balcony'/>")
        self.assertEqual([], self.romeo.take())
        self.assertJulietGotNothing()

    def test_presence(self):
        """
        Presence of every kind (directed, subscription requests, probes)
        is dropped without an answer; a subscription request is not kept
        for later either.
        """
        self.romeo.send("<presence><show>dnd</show></presence>")
        self.assertEqual([f"romeo@{DOMAIN}"], [p["to"] for p in self.romeo.take()])
        self.romeo.send(f"<presence to='juliet@{DOMAIN}'><show>away</show></presence>")
        self.romeo.send(f"<presence to='juliet@{DOMAIN}' type='probe'/>")
        self.assertEqual([], self.romeo.take())
        self.assertJulietGotNothing()
        # A stranger's request is dropped and not kept pending.
        self.harness.befriend("juliet", ROMEO, subscription="none")
        self.romeo.send(f"<presence to='juliet@{DOMAIN}' type='subscribe'/>")
        pending = self.successResultOf(self.harness.users.getPendingSubscriptions("juliet"))
        self.assertEqual([], pending)
        self.assertJulietGotNothing()

    def test_otherResourceMatching(self):
        """
        A full JID item blocks that resource only.
        """
        self.balcony.request(unblockIQ())
        self.block(f"romeo@{DOMAIN}/garden")
        garden = self.harness.connect("romeo", "garden")
        garden.send(f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='g1'><body>1</body></message>")
        self.assertEqual("service-unavailable", errorOf(garden.take()[0])[0])
        self.romeo.send(f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='o1'><body>2</body></message>")
        [message] = self.balcony.take()
        self.assertEqual(f"romeo@{DOMAIN}/orchard", message["from"])

    def test_unblockRestores(self):
        """
        Section 3.4: after unblocking, stanzas from the JID are delivered.
        """
        self.balcony.request(unblockIQ("romeo@capulet.lit"))
        self.forget()
        self.romeo.send(f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='m3'><body>Again</body></message>")
        [message] = self.balcony.take()
        self.assertEqual("Again", str(message.body))

    def test_ownResources(self):
        """
        Section 4 note: an account never blocks its own resources, even if
        it blocks its own JID.
        """
        self.block(f"juliet@{DOMAIN}")
        self.chamber.send(f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='s1'><body>Me</body></message>")
        [message] = self.balcony.take()
        self.assertEqual(f"juliet@{DOMAIN}/chamber", message["from"])


class MUCTests(BlockingTestCase):
    """
    Blocking room and occupant JIDs: the same matching, for stanzas from
    the MUC domain.
    """

    def test_occupant(self):
        """
        An occupant JID item drops that occupant's groupchat, presence and
        private messages, silently (an error would make the room remove
        juliet as a ghost); other occupants still reach her. A private
        message to it is refused.
        """
        self.block(f"{ROOM}/Tybalt")
        self.forget()
        muc = self.harness.muc
        for xml in (
            f"<message from='{ROOM}/Tybalt' to='juliet@{DOMAIN}/balcony' type='groupchat'><body>Villain</body></message>",
            f"<message from='{ROOM}/Tybalt' to='juliet@{DOMAIN}/balcony' type='chat'><body>Boy</body></message>",
            f"<presence from='{ROOM}/Tybalt' to='juliet@{DOMAIN}/balcony'/>",
            f"<message from='{ROOM}/Mercutio' to='juliet@{DOMAIN}/balcony' type='groupchat'><body>Peace</body></message>",
        ):
            muc.send(xml)
        [message] = self.balcony.take()
        self.assertEqual(f"{ROOM}/Mercutio", message["from"])
        self.assertEqual([], muc.received)
        self.balcony.send(f"<message to='{ROOM}/Tybalt' type='chat' id='pm1'><body>Go</body></message>")
        [answer] = self.balcony.take()
        self.assertEqual("not-acceptable", errorOf(answer)[0])
        self.assertEqual([], muc.received)

    def test_markAsChild(self):
        """
        A groupchat message carrying a child named as the server's mark
        of a stanza checked already (C{blockingChecked}, as a room passes
        its sender's children on) is checked all the same; a message from
        an occupant nobody blocks is delivered with the lists at hand,
        without asking to load them.
        """
        self.block(f"{ROOM}/Tybalt")
        self.forget()
        [handler] = [f for f in self.harness.sessions.filters if isinstance(f, BlockingHandler)]
        self.patch(handler.lists, "load", lambda usernames: self.fail("loaded again"))
        muc = self.harness.muc
        muc.send(f"<message from='{ROOM}/Tybalt' to='juliet@{DOMAIN}/balcony' type='groupchat'>"
                 "<body>Villain</body><blockingChecked xmlns='urn:example'/></message>")
        muc.send(f"<message from='{ROOM}/Mercutio' to='juliet@{DOMAIN}/balcony' type='groupchat'>"
                 "<body>Peace</body></message>")
        [message] = self.balcony.take()
        self.assertEqual(f"{ROOM}/Mercutio", message["from"])

    def test_room(self):
        """
        A room JID item drops everything from the room and its occupants,
        and refuses what juliet sends it (joining included).
        """
        self.block(ROOM)
        self.forget()
        muc = self.harness.muc
        muc.send(f"<message from='{ROOM}/Mercutio' to='juliet@{DOMAIN}/balcony' type='groupchat'><body>Peace</body></message>")
        muc.send(f"<message from='{ROOM}' to='juliet@{DOMAIN}/balcony' type='groupchat'><subject>Feud</subject></message>")
        self.assertEqual([], self.balcony.take())
        self.balcony.send(f"<presence to='{ROOM}/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
        [refused] = self.balcony.take()
        self.assertEqual(("error", f"{ROOM}/Juliet"), (refused["type"], refused["from"]))
        self.assertEqual([], muc.received)


class EmptyListOutboundTests(BlockingTestCase):
    """
    What an account with an empty (loaded) list sends is not checked one
    JID at a time: nothing can be refused (issue 16).
    """

    def test_notChecked(self):
        """
        juliet's empty list lets her message through without the check of
        its C{to}; once it has an item, her stanzas are checked again.
        """
        checked = []
        check = BlockingHandler._checkOutbound
        self.patch(BlockingHandler, "_checkOutbound", lambda handler, session, stanza, proceed: (
            checked.append(stanza.name), check(handler, session, stanza, proceed))[1])
        self.assertEqual([], self.blockList())
        self.balcony.send(f"<message to='romeo@{DOMAIN}' type='chat'><body>Hi</body></message>")
        [message] = self.romeo.take()
        self.assertEqual("Hi", str(message.body))
        self.assertEqual([], checked)
        self.block("benvolio@capulet.lit")
        del checked[:]
        self.balcony.send(f"<message to='romeo@{DOMAIN}' type='chat'><body>Again</body></message>")
        [message] = self.romeo.take()
        self.assertEqual("Again", str(message.body))
        self.assertEqual(["message"], checked)


class OutboundTests(BlockingTestCase):
    """
    Section 3.3: what the account sends a JID it blocks.
    """

    def setUp(self):
        BlockingTestCase.setUp(self)
        self.block("romeo@capulet.lit")
        self.forget()

    def test_refused(self):
        """
        A message, IQ request or directed presence is not routed: it comes
        back from the blocked JID with not-acceptable and <blocked/>.
        """
        for xml in (
            f"<message to='romeo@{DOMAIN}' type='chat' id='o1'><body>Can you hear me now?</body></message>",
            f"<iq type='get' id='o2' to='romeo@{DOMAIN}/orchard'><ping xmlns='urn:xmpp:ping'/></iq>",
            f"<presence to='romeo@{DOMAIN}/orchard' id='o3'/>",
            f"<presence to='romeo@{DOMAIN}' type='subscribe' id='o4'/>",
        ):
            self.balcony.send(xml)
            [refused] = self.balcony.take()
            self.assertEqual(("error", f"romeo@{DOMAIN}" if "orchard" not in xml else f"romeo@{DOMAIN}/orchard"),
                             (refused["type"], refused["from"]))
            condition, kind, text = errorOf(refused)
            self.assertEqual(("not-acceptable", "cancel"), (condition, kind))
            self.assertIn("you block romeo@capulet.lit", text)
            self.assertEqual(
                ["blocked"],
                [c.name for c in refused.error.elements("urn:xmpp:blocking:errors", "blocked")],
            )
        self.assertEqual([], self.romeo.take())

    def test_resultsDropped(self):
        """
        Errors and IQ results to a blocked JID are dropped, not refused.
        """
        self.balcony.send(f"<iq type='result' id='r1' to='romeo@{DOMAIN}/orchard'/>")
        self.balcony.send(
            f"<message type='error' id='e1' to='romeo@{DOMAIN}/orchard'><error type='cancel'>"
            f"<service-unavailable xmlns='{NS_STANZAS}'/></error></message>"
        )
        self.assertEqual([], self.balcony.take())
        self.assertEqual([], self.romeo.take())


    def test_loadedCheckedAtOnce(self):
        """
        With the account's list loaded, what it sends is checked against
        it at once (issue 16: every room join passes here): refused to a
        JID it blocks, routed otherwise, without asking to load the list.
        """
        [handler] = [f for f in self.harness.sessions.filters if isinstance(f, BlockingHandler)]
        self.patch(handler.lists, "load", lambda usernames: self.fail("loaded again"))
        self.balcony.send(f"<presence to='romeo@{DOMAIN}/orchard' id='o3'/>")
        [refused] = self.balcony.take()
        self.assertEqual("not-acceptable", errorOf(refused)[0])
        self.balcony.send(f"<presence to='capulets@{MUC_DOMAIN}/Juliet'/>")
        [join] = self.harness.muc.received
        self.assertEqual(f"capulets@{MUC_DOMAIN}/Juliet", join["to"])


class PresenceEffectTests(BlockingTestCase):
    """
    Section 3.3 and 3.4: the presence a block and an unblock send.
    """

    def test_blockSendsUnavailable(self):
        """
        Blocking a contact who sees juliet's presence sends it unavailable
        presence from each of her available resources; a contact not
        blocked gets nothing, nor does a blocked stranger.
        """
        self.block("romeo@capulet.lit", "benvolio@capulet.lit")
        received = self.romeo.take()
        self.assertEqual(
            [(f"juliet@{DOMAIN}/balcony", "unavailable"), (f"juliet@{DOMAIN}/chamber", "unavailable")],
            sorted((p["from"], p["type"]) for p in received),
        )
        self.assertEqual([], self.nurse.take())
        self.assertEqual([], self.benvolio.take())

    def test_directedPresence(self):
        """
        A JID that had juliet's directed presence gets unavailable presence
        from that resource when blocked.
        """
        self.balcony.send(f"<presence to='benvolio@{DOMAIN}/home'/>")
        self.benvolio.take()
        self.block("benvolio@capulet.lit")
        [presence] = self.benvolio.take()
        self.assertEqual((f"juliet@{DOMAIN}/balcony", "unavailable"), (presence["from"], presence["type"]))

    def test_broadcastsSkipBlocked(self):
        """
        While blocked, the contact gets none of juliet's presence changes;
        the others do.
        """
        self.block("romeo@capulet.lit")
        self.forget()
        self.balcony.send("<presence><show>away</show></presence>")
        self.assertEqual([], self.romeo.take())
        [presence] = self.nurse.take()
        self.assertEqual("away", str(presence.show))

    def test_initialPresence(self):
        """
        Neither side of a block learns the other's presence when a
        session becomes available.
        """
        self.block("romeo@capulet.lit")
        self.forget()
        garden = self.harness.connect("romeo", "garden")
        garden.send("<presence/>")
        froms = {p["from"] for p in garden.take() if p.name == "presence"}
        self.assertEqual({f"romeo@{DOMAIN}/garden", f"romeo@{DOMAIN}/orchard"}, froms)
        self.assertEqual([], self.balcony.take())
        tomb = self.harness.connect("juliet", "tomb")
        tomb.send("<presence/>")
        froms = {p["from"] for p in tomb.take() if p.name == "presence"}
        self.assertNotIn(f"romeo@{DOMAIN}/orchard", froms)
        self.assertIn(f"nurse@{DOMAIN}/chamber", froms)

    def test_unblockSendsPresence(self):
        """
        Unblocking sends the contact juliet's current presence from each
        available resource; unblocking all does too.
        """
        self.balcony.send("<presence><show>away</show></presence>")
        for unblock in (unblockIQ("romeo@capulet.lit"), unblockIQ(iqId="unblock2")):
            self.block("romeo@capulet.lit")
            self.forget()
            self.balcony.request(unblock)
            received = self.romeo.take()
            self.assertEqual(
                [f"juliet@{DOMAIN}/balcony", f"juliet@{DOMAIN}/chamber"],
                sorted(p["from"] for p in received),
            )
            self.assertTrue(all(p.getAttribute("type") is None for p in received))

    def test_pendingRequestForgotten(self):
        """
        A pending request from a JID juliet blocks is forgotten: it could
        neither be delivered nor answered.
        """
        self.harness.users.addPendingSubscription("juliet", JID(f"benvolio@{DOMAIN}"))
        self.block("benvolio@capulet.lit")
        pending = self.successResultOf(self.harness.users.getPendingSubscriptions("juliet"))
        self.assertEqual([], pending)

    def test_rosterRemovalStillUnsubscribes(self):
        """
        Removing a blocked contact from the roster still cancels the
        subscriptions on the contact's side, so that both rosters agree.
        """
        self.block("romeo@capulet.lit")
        self.balcony.request(
            f"<iq type='set' id='rm1'><query xmlns='jabber:iq:roster'>"
            f"<item jid='romeo@{DOMAIN}' subscription='remove'/></query></iq>"
        )
        item = self.successResultOf(self.harness.users.getRosterItem("romeo", JID(f"juliet@{DOMAIN}")))
        self.assertEqual("none", item.subscription)


class LoadingTests(unittest.TestCase):
    """
    Block lists come from the store on first need; stanzas that wait for
    one keep their order.
    """

    def test_storedListApplies(self):
        """
        A list already in the store (an earlier run) applies to the first
        stanza, for an account without sessions too.
        """
        harness = PEPHarness(self)
        harness.users.blockJIDs("juliet", [ROMEO])
        romeo = harness.connect("romeo", "orchard")
        answer = romeo.request(
            f"<iq type='get' id='v1' to='juliet@{DOMAIN}'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        self.assertEqual("service-unavailable", errorOf(answer)[0])

    def test_waitersInOrder(self):
        """
        Callers waiting for one list are called back in the order they
        asked, with one store read; afterwards the list is at hand.
        """
        store = SlowStore()
        lists = BlockLists(store)
        store.createUser("juliet", Credentials({}))
        store.blockJIDs("juliet", [ROMEO])
        order = []
        for name in ("first", "second"):
            lists.load(["juliet"]).addCallback(lambda _, name=name: order.append(name))
        self.assertEqual(([], 1), (order, len(store.waiting)))
        store.release()
        self.assertEqual(["first", "second"], order)
        self.assertTrue(lists.blocks("juliet", JID(f"romeo@{DOMAIN}/orchard")))
        self.assertTrue(lists.load(["juliet"]).called)

    def test_unknownAccountNotKept(self):
        """
        An address without an account has no list, and none is kept.
        """
        lists = BlockLists(MemoryUserStore())
        self.assertTrue(lists.load(["tybalt"]).called)
        self.assertIsNone(lists.get("tybalt"))

    def test_heldStanzas(self):
        """
        Through the server, with block lists read slowly (as from SQLite's
        thread): stanzas are held, then a blocked sender's message is
        refused and a friend's two are delivered, in order.
        """
        self.patch(test_pep, "MemoryUserStore", SlowStore)
        harness = PEPHarness(self)
        store = harness.users
        store.blockJIDs("juliet", [ROMEO])
        balcony = harness.connect("juliet", "balcony")
        romeo = harness.connect("romeo", "orchard")
        nurse = harness.connect("nurse", "chamber")
        romeo.send(f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='r1'><body>1</body></message>")
        for identifier in ("n1", "n2"):
            nurse.send(
                f"<message to='juliet@{DOMAIN}/balcony' type='chat' id='{identifier}'><body>2</body></message>"
            )
        self.assertEqual([], balcony.take())
        while store.waiting:
            store.release()
        self.assertEqual(["n1", "n2"], [m["id"] for m in balcony.take()])
        [refused] = romeo.take()
        self.assertEqual("service-unavailable", errorOf(refused)[0])
