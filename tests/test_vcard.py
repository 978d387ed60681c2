# -*- test-case-name: tests.test_vcard -*-
"""
Tests for L{mepserver.c2s.vcard}: vcard-temp (XEP-0054), the avatar
hash in presence (XEP-0153, XEP-0398 section 4) and the PEP avatar in the
vCard (XEP-0398 sections 2 and 3).

The flows run on the client domain exactly as
L{mepserver.server.buildServer} builds it (L{tests.test_pep.PEPHarness}),
with bound sessions on stub streams, a memory store and a recorded MUC
domain. Every store call of the memory store fires at once, so when a
client's stanza has been sent, everything it causes has happened: what a
client has not received by then, it never receives.
"""

import base64
import hashlib

from twisted.internet import defer
from twisted.trial import unittest

from mepserver.c2s.vcard import (
    NS_AVATAR_DATA,
    NS_AVATAR_METADATA,
    NS_CONVERSION,
    NS_VCARD,
    NS_VCARD_UPDATE,
    PhotoHashes,
    VCardHandler,
    photoHash,
    stampPresence,
)
from mepserver.interfaces import Credentials
from mepserver.storage.memory import MemoryUserStore
from tests.helpers import parseXml
from tests.test_blocking import errorOf
from tests.test_pep import DOMAIN, MUC_DOMAIN, NURSE, ROMEO, PEPHarness, publish

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

#: A tiny PNG's bytes, and the hash XEP-0153 section 3.1 advertises.
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
IMAGE_HASH = hashlib.sha1(IMAGE).hexdigest()
OTHER_IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(40, 90))
OTHER_HASH = hashlib.sha1(OTHER_IMAGE).hexdigest()


def vcard(name="Juliet Capulet", image=None, wrap=False):
    """
    A C{<vCard/>} as XEP-0054 section 3.2 and XEP-0153 section 3.1 show
    it, with a PHOTO if C{image}; C{wrap} folds the BINVAL in lines of 76
    characters (RFC 2045), as clients send it.
    """
    photo = ""
    if image is not None:
        data = base64.b64encode(image).decode("ascii")
        if wrap:
            data = "\n".join(data[i:i + 76] for i in range(0, len(data), 76))
        photo = f"<PHOTO><TYPE>image/png</TYPE><BINVAL>{data}</BINVAL></PHOTO>"
    return f"<vCard xmlns='{NS_VCARD}'><FN>{name}</FN>{photo}</vCard>"


def vcardSet(card, iqId="v1", to=None):
    target = f" to='{to}'" if to else ""
    return f"<iq type='set' id='{iqId}'{target}>{card}</iq>"


def vcardGet(to=None, iqId="v2"):
    target = f" to='{to}'" if to else ""
    return f"<iq type='get' id='{iqId}'{target}><vCard xmlns='{NS_VCARD}'/></iq>"


def canonical(element):
    """
    @return: an element as nested tuples, attributes sorted, for comparing
        whole stanzas exactly whatever the order of their attributes.
    """
    children = []
    for child in element.children:
        if isinstance(child, str):
            if child:
                children.append(child)
        else:
            children.append(canonical(child))
    return (element.uri, element.name, tuple(sorted(element.attributes.items())), tuple(children))


def updateOf(presence):
    """
    @return: the text of each C{<photo/>} of each update element of a
        presence: C{[[hash]]} for one element with one photo.
    """
    return [
        [str(photo) for photo in x.elements(NS_VCARD_UPDATE, "photo")]
        for x in presence.elements(NS_VCARD_UPDATE, "x")
    ]


class VCardTestCase(unittest.TestCase):
    """
    juliet (at balcony and chamber) with romeo and the nurse as contacts
    (subscription both), benvolio with none; everyone bound, no one
    available yet.
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
        self.handler = next(
            f for f in harness.sessions.filters if isinstance(f, VCardHandler)
        )

    def clients(self):
        return [self.balcony, self.chamber, self.romeo, self.nurse, self.benvolio]

    def forget(self):
        for client in self.clients():
            client.take()
        self.harness.muc.clear()

    def available(self, *clients):
        for client in clients:
            client.send("<presence/>")
        self.forget()

    def assertExactly(self, expected, stanza):
        """
        Assert that C{stanza} is exactly the literal C{expected}: the same
        attributes, children and text.
        """
        self.assertEqual(
            canonical(parseXml(expected, "jabber:client")),
            canonical(parseXml(stanza.toXml(), "jabber:client")),
            stanza.toXml(),
        )

    def setVCard(self, card, client=None):
        answer = (client or self.balcony).request(vcardSet(card))
        self.assertEqual("result", answer["type"], answer.toXml())
        return answer


class GetSetTests(VCardTestCase):
    """
    XEP-0054 sections 3.1 to 3.3.
    """

    def test_ownMissing(self):
        """
        Section 3.1: one's own vCard, never set, is an empty <vCard/>
        result (the answer the section allows beside item-not-found).
        """
        answer = self.balcony.request(vcardGet())
        self.assertExactly(
            "<iq type='result' id='v2' from='juliet@capulet.lit' "
            "to='juliet@capulet.lit/balcony'><vCard xmlns='vcard-temp'/></iq>",
            answer,
        )

    def test_setAndGet(self):
        """
        Section 3.2: a set without 'to' is answered with an empty result;
        a get, without 'to' or to one's own bare JID, from any resource,
        gives the vCard exactly as set.
        """
        card = vcard(image=IMAGE, wrap=True)
        answer = self.setVCard(card)
        self.assertExactly(
            "<iq type='result' id='v1' from='juliet@capulet.lit' "
            "to='juliet@capulet.lit/balcony'/>",
            answer,
        )
        for to in (None, f"juliet@{DOMAIN}"):
            answer = self.chamber.request(vcardGet(to=to))
            self.assertExactly(
                "<iq type='result' id='v2' from='juliet@capulet.lit' "
                f"to='juliet@capulet.lit/chamber'>{card}</iq>",
                answer,
            )

    def test_setReplaces(self):
        """
        Section 3.2: the whole vCard is replaced, not merged; the store
        keeps the XML text.
        """
        self.setVCard(vcard(image=IMAGE))
        self.setVCard(vcard(name="Jule"))
        answer = self.balcony.request(vcardGet())
        self.assertEqual(vcard(name="Jule"), answer.vCard.toXml())
        stored = self.successResultOf(self.harness.users.getVCard("juliet"))
        self.assertEqual(vcard(name="Jule"), stored)

    def test_others(self):
        """
        Section 3.3: another account's vCard is answered by the server
        from the account's bare JID, to anyone, contact or not.
        """
        card = vcard(image=IMAGE)
        self.setVCard(card)
        for client in (self.romeo, self.benvolio):
            answer = client.request(vcardGet(to=f"juliet@{DOMAIN}"))
            self.assertExactly(
                "<iq type='result' id='v2' from='juliet@capulet.lit' "
                f"to='{client.jid.full()}'>{card}</iq>",
                answer,
            )

    def test_othersMissing(self):
        """
        Section 3.3 (version 1.3): no vCard and no account both get
        service-unavailable, with the same text.
        """
        answers = [
            self.romeo.request(vcardGet(to=f"{user}@{DOMAIN}"))
            for user in ("juliet", "tybalt")
        ]
        self.assertEqual(
            [
                ("service-unavailable", "cancel", "no vCard is available at this address"),
            ] * 2,
            [errorOf(answer) for answer in answers],
        )
        self.assertEqual(f"juliet@{DOMAIN}", answers[0]["from"])

    def test_setOthers(self):
        """
        Section 3.2: a set of another account's vCard is forbidden, and
        changes nothing.
        """
        answer = self.romeo.request(vcardSet(vcard(name="Romeo"), to=f"juliet@{DOMAIN}"))
        self.assertEqual("error", answer["type"])
        self.assertEqual(
            ("forbidden", "auth", "only the account itself may set its vCard"),
            errorOf(answer),
        )
        self.assertIdentical(None, self.successResultOf(self.harness.users.getVCard("juliet")))

    def test_tooLarge(self):
        """
        A vCard larger than C{[c2s] vcard_max_size} bytes of XML gets
        not-acceptable, saying the limit; one of exactly the limit is kept.
        """
        card = vcard(name="J" * 1000)
        self.handler.maxSize = len(card) - 1
        answer = self.balcony.request(vcardSet(card))
        self.assertEqual(
            (
                "not-acceptable",
                "modify",
                f"the vCard is {len(card)} bytes; this server keeps at most "
                f"{len(card) - 1} ([c2s] vcard_max_size)",
            ),
            errorOf(answer),
        )
        self.assertIdentical(None, self.successResultOf(self.harness.users.getVCard("juliet")))
        self.handler.maxSize = len(card)
        self.setVCard(card)

    def test_badPhoto(self):
        """
        A PHOTO whose BINVAL is not base64 gets bad-request (XEP-0153
        section 5.5: the data must be base64).
        """
        card = f"<vCard xmlns='{NS_VCARD}'><PHOTO><BINVAL>not*base64</BINVAL></PHOTO></vCard>"
        answer = self.balcony.request(vcardSet(card))
        self.assertEqual(
            ("bad-request", "modify", "the BINVAL of the vCard's PHOTO is not base64"),
            errorOf(answer),
        )

    def test_fullJIDGoesToClient(self):
        """
        A vCard request to a full JID is the client's (RFC 6121 section
        8.5.3.1), not the server's.
        """
        self.available(self.balcony)
        self.romeo.send(vcardGet(to=f"juliet@{DOMAIN}/balcony", iqId="full1"))
        (delivered,) = self.balcony.take()
        self.assertEqual(("iq", "full1"), (delivered.name, delivered["id"]))

    def test_blockedRequester(self):
        """
        A requester the account blocks (XEP-0191 section 3.3) gets
        service-unavailable, as for an account without a vCard.
        """
        self.setVCard(vcard())
        self.balcony.request(
            "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'>"
            f"<item jid='benvolio@{DOMAIN}'/></block></iq>"
        )
        answer = self.benvolio.request(vcardGet(to=f"juliet@{DOMAIN}"))
        self.assertEqual("service-unavailable", errorOf(answer)[0])

    def test_occupantRequester(self):
        """
        The MUC service asks for an occupant's vCard from the requester's
        occupant JID (XEP-0045 section 17.4): answered like anyone.
        """
        self.setVCard(vcard())
        self.harness.muc.send(
            f"<iq type='get' id='muc-1' from='capulets@{MUC_DOMAIN}/Romeo' "
            f"to='juliet@{DOMAIN}'><vCard xmlns='{NS_VCARD}'/></iq>"
        )
        (answer,) = self.harness.muc.received
        self.assertExactly(
            f"<iq type='result' id='muc-1' from='juliet@{DOMAIN}' "
            f"to='capulets@{MUC_DOMAIN}/Romeo'>{vcard()}</iq>",
            answer,
        )

    def test_disco(self):
        """
        Section 4: the server lists vcard-temp.
        """
        answer = self.balcony.request(
            f"<iq type='get' id='d1' to='{DOMAIN}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
        )
        features = [f["var"] for f in answer.query.elements(NS_DISCO_INFO, "feature")]
        self.assertIn("vcard-temp", features)


class PhotoHashTests(unittest.SynchronousTestCase):
    """
    L{photoHash} and L{stampPresence}: XEP-0153 section 3.1 and XEP-0398
    section 4.
    """

    def test_hash(self):
        """
        The SHA-1 of the decoded image, in lower-case hex, whitespace in
        the BINVAL ignored; C{""} without a PHOTO or with an empty BINVAL.
        """
        self.assertEqual(IMAGE_HASH, photoHash(parseXml(vcard(image=IMAGE, wrap=True))))
        self.assertEqual("", photoHash(parseXml(vcard())))
        self.assertEqual(
            "",
            photoHash(parseXml(f"<vCard xmlns='{NS_VCARD}'><PHOTO><BINVAL/></PHOTO></vCard>")),
        )
        self.assertEqual("", photoHash(None))

    def stamped(self, xml, photo):
        presence = parseXml(xml, "jabber:client")
        stampPresence(presence, photo)
        return updateOf(presence)

    def test_stamp(self):
        """
        No update element, or one without a photo: the server's hash, or
        an empty photo for none. An empty photo stays. A different hash is
        replaced; the same one in upper case stays.
        """
        x = f"<x xmlns='{NS_VCARD_UPDATE}'>"
        self.assertEqual([[IMAGE_HASH]], self.stamped("<presence/>", IMAGE_HASH))
        self.assertEqual([[""]], self.stamped("<presence/>", ""))
        self.assertEqual([[IMAGE_HASH]], self.stamped(f"<presence>{x}</x></presence>", IMAGE_HASH))
        self.assertEqual([[""]], self.stamped(f"<presence>{x}<photo/></x></presence>", IMAGE_HASH))
        self.assertEqual(
            [[IMAGE_HASH]],
            self.stamped(f"<presence>{x}<photo>{OTHER_HASH}</photo></x></presence>", IMAGE_HASH),
        )
        self.assertEqual(
            [[IMAGE_HASH.upper()]],
            self.stamped(f"<presence>{x}<photo>{IMAGE_HASH.upper()}</photo></x></presence>", IMAGE_HASH),
        )


class PresenceTests(VCardTestCase):
    """
    XEP-0153 and XEP-0398 section 4: the hash in the presence the server
    sends for the account.
    """

    def test_initialWithoutPhoto(self):
        """
        Initial presence of an account without a vCard photo reaches its
        contacts and its own resources with an empty <photo/>.
        """
        self.available(self.romeo, self.chamber)
        self.balcony.send("<presence><show>away</show></presence>")
        for client in (self.romeo, self.chamber, self.balcony):
            (presence,) = [
                s for s in client.take()
                if s.name == "presence" and s["from"] == self.balcony.jid.full()
            ]
            self.assertEqual([[""]], updateOf(presence), presence.toXml())

    def test_initialWithPhoto(self):
        """
        With a PHOTO in the stored vCard, available presence carries its
        hash, to contacts and in the answer to a later probe.
        """
        self.harness.users.setVCard("juliet", vcard(image=IMAGE))
        self.available(self.romeo)
        self.balcony.send("<presence/>")
        (presence,) = self.romeo.take()
        self.assertEqual([[IMAGE_HASH]], updateOf(presence))
        # The nurse comes online later: the probe's answer has it too.
        self.nurse.send("<presence/>")
        fromJuliet = [s for s in self.nurse.take() if s.getAttribute("from") == self.balcony.jid.full()]
        self.assertEqual([[[IMAGE_HASH]]], [updateOf(s) for s in fromJuliet])

    def test_directed(self):
        """
        XEP-0398 section 4: directed available presence (a room join) is
        stamped too; unavailable presence is not.
        """
        self.harness.users.setVCard("juliet", vcard(image=IMAGE))
        self.balcony.send(
            f"<presence to='capulets@{MUC_DOMAIN}/Juliet'>"
            "<x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )
        self.balcony.send(f"<presence to='capulets@{MUC_DOMAIN}/Juliet' type='unavailable'/>")
        join, leave = self.harness.muc.received
        self.assertEqual([[IMAGE_HASH]], updateOf(join))
        self.assertEqual([], updateOf(leave))

    def test_changeRebroadcasts(self):
        """
        A vCard set that changes the PHOTO sends the available sessions'
        presence again with the new hash, to contacts and own resources,
        after the set's result; one that keeps the PHOTO sends nothing.
        """
        self.available(self.balcony, self.chamber, self.romeo, self.nurse)
        self.balcony.send("<presence><show>dnd</show></presence>")
        self.forget()
        self.balcony.send(vcardSet(vcard(image=IMAGE)))
        result, *presences = self.balcony.take()
        self.assertEqual(("iq", "result"), (result.name, result["type"]))
        for client in (self.romeo, self.nurse, self.chamber):
            received = client.take()
            byResource = {s["from"]: updateOf(s) for s in received}
            self.assertEqual(
                {f"juliet@{DOMAIN}/balcony": [[IMAGE_HASH]], f"juliet@{DOMAIN}/chamber": [[IMAGE_HASH]]},
                byResource,
                client.jid.full(),
            )
        # The balcony's own presence keeps its show.
        balconyAgain = [s for s in presences if s["from"] == self.balcony.jid.full()]
        self.assertEqual(["dnd"], [str(s.show) for s in balconyAgain])
        self.assertEqual([], self.benvolio.take())
        # The same photo under another name: nothing is sent again.
        self.balcony.request(vcardSet(vcard(name="Jule", image=IMAGE), iqId="v3"))
        for client in self.clients():
            self.assertEqual([], client.take())

    def test_orderKept(self):
        """
        While the hash loads from a slow store, the account's later
        stanzas wait behind its presence: they keep their order.
        """
        self.available(self.romeo)
        slow = SlowStore(self.harness.users)
        self.handler.hashes = PhotoHashes(slow)
        self.balcony.send("<presence/>")
        self.balcony.send(f"<message to='romeo@{DOMAIN}/orchard' type='chat' id='m1'><body>Ay me!</body></message>")
        self.assertEqual([], self.romeo.take())
        slow.release()
        received = self.romeo.take()
        self.assertEqual(["presence", "message"], [s.name for s in received], [s.toXml() for s in received])
        presence = received[0]
        self.assertEqual([[""]], updateOf(presence))

    def test_loadedStampsAtOnce(self):
        """
        Once the account's hash is loaded, presence is stamped with it at
        once: the store is not asked again (issue 16: every room join is
        stamped).
        """
        self.harness.users.setVCard("juliet", vcard(image=IMAGE))
        self.available(self.romeo)
        self.balcony.send("<presence/>")
        self.romeo.take()
        self.handler.hashes.load = lambda username: self.fail("loaded again")
        self.balcony.send(
            f"<presence to='capulets@{MUC_DOMAIN}/Juliet'>"
            "<x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )
        [join] = self.harness.muc.received[-1:]
        self.assertEqual([[IMAGE_HASH]], updateOf(join))


class SlowStore:
    """
    A store whose vCards arrive only when the test says so, as from
    SQLite's thread.
    """

    def __init__(self, users: MemoryUserStore):
        self.users = users
        self.waiting = []

    def getVCard(self, username):
        d = defer.Deferred()
        self.waiting.append((d, self.users.getVCard(username)))
        return d

    def release(self):
        waiting, self.waiting = self.waiting, []
        for d, result in waiting:
            result.chainDeferred(d)


class PhotoHashesTests(unittest.TestCase):
    """
    L{PhotoHashes}: loads once, in order, and keeps a newer value.
    """

    def test_loadOnce(self):
        """
        Waiters for one account are called in order with one store read;
        a hash set while the load waited wins.
        """
        users = MemoryUserStore()
        users.createUser("juliet", Credentials({}))
        users.setVCard("juliet", vcard(image=IMAGE))
        slow = SlowStore(users)
        hashes = PhotoHashes(slow)
        results = []
        hashes.load("juliet").addCallback(lambda h: results.append(("first", h)))
        hashes.load("juliet").addCallback(lambda h: results.append(("second", h)))
        self.assertTrue(hashes.loading("juliet"))
        self.assertEqual(1, len(slow.waiting))
        hashes.set("juliet", OTHER_HASH)
        slow.release()
        self.assertEqual([("first", OTHER_HASH), ("second", OTHER_HASH)], results)
        self.assertEqual(OTHER_HASH, self.successResultOf(hashes.load("juliet")))


    def test_failureAndReset(self):
        """
        A vCard that cannot be read is logged and counts as none, without
        being kept; C{reset} forgets the loaded hashes.
        """
        users = MemoryUserStore()
        users.createUser("juliet", Credentials({}))
        users.setVCard("juliet", vcard(image=IMAGE))
        hashes = PhotoHashes(users)
        users.getVCard = lambda username: defer.fail(RuntimeError("disk gone"))
        self.assertEqual("", self.successResultOf(hashes.load("juliet")))
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))
        self.assertIdentical(None, hashes.get("juliet"))
        del users.getVCard
        self.assertEqual(IMAGE_HASH, self.successResultOf(hashes.load("juliet")))
        hashes.reset()
        self.assertIdentical(None, hashes.get("juliet"))

def publishAvatar(client, image, iqId, access="open", itemId=None, mimeType="image/png", url=None):
    """
    Publish an avatar as XEP-0084 sections 4.1 and 4.2 show it: the data,
    then the metadata with one C{<info/>} (plus one with C{url} if given);
    the data node's access model set by publish-options (C{None}: the
    default, presence).
    """
    itemId = itemId or hashlib.sha1(image).hexdigest()
    options = None if access is None else [("pubsub#access_model", access)]
    data = base64.b64encode(image).decode("ascii")
    answer = client.request(publish(
        node=NS_AVATAR_DATA, itemId=itemId, options=options, iqId=iqId + "d",
        payload=f"<data xmlns='{NS_AVATAR_DATA}'>{data}</data>",
    ))
    assert answer["type"] == "result", answer.toXml()
    extra = f"<info id='{itemId}' url='{url}' type='image/png' bytes='1'/>" if url else ""
    answer = client.request(publish(
        node=NS_AVATAR_METADATA, itemId=itemId, options=options, iqId=iqId + "m",
        payload=(
            f"<metadata xmlns='{NS_AVATAR_METADATA}'>{extra}"
            f"<info bytes='{len(image)}' id='{itemId}' type='{mimeType}' width='64' height='64'/>"
            "</metadata>"
        ),
    ))
    assert answer["type"] == "result", answer.toXml()


class ConversionTests(VCardTestCase):
    """
    XEP-0398 sections 2 and 3: a XEP-0084 avatar becomes the vCard PHOTO.
    """

    def storedVCard(self):
        text = self.successResultOf(self.harness.users.getVCard("juliet"))
        return None if text is None else parseXml(text)

    def test_disco(self):
        """
        Section 2: the account's bare JID lists
        urn:xmpp:pep-vcard-conversion:0; the server does not.
        """
        for to, expected in ((f"juliet@{DOMAIN}", True), (DOMAIN, False)):
            answer = self.balcony.request(
                f"<iq type='get' id='d1' to='{to}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
            )
            features = [f["var"] for f in answer.query.elements(NS_DISCO_INFO, "feature")]
            self.assertEqual(expected, NS_CONVERSION in features, answer.toXml())

    def test_avatarToVCard(self):
        """
        Section 3: publishing the metadata of an open avatar sets the
        vCard PHOTO (TYPE from the info, BINVAL the data), keeping the rest
        of the vCard; the available sessions' presence goes out again with
        the avatar's hash (section 4), and a vCard reader gets the image.
        """
        self.setVCard(vcard(name="Juliet Capulet"))
        self.available(self.balcony, self.romeo)
        publishAvatar(self.balcony, IMAGE, "a1", mimeType="image/jpeg")
        card = self.storedVCard()
        self.assertEqual("Juliet Capulet", str(card.FN))
        self.assertEqual("image/jpeg", str(card.PHOTO.TYPE))
        self.assertEqual(IMAGE, base64.b64decode(str(card.PHOTO.BINVAL)))
        again = [s for s in self.romeo.take() if s.name == "presence"]
        self.assertEqual([[[IMAGE_HASH]]], [updateOf(s) for s in again])
        answer = self.romeo.request(vcardGet(to=f"juliet@{DOMAIN}"))
        self.assertEqual(IMAGE_HASH, photoHash(answer.vCard))

    def test_disable(self):
        """
        XEP-0084 section 4.5: metadata without <info/> removes the PHOTO.
        """
        self.setVCard(vcard(image=IMAGE))
        answer = self.balcony.request(publish(
            node=NS_AVATAR_METADATA, itemId="current", iqId="off",
            payload=f"<metadata xmlns='{NS_AVATAR_METADATA}'/>",
        ))
        self.assertEqual("result", answer["type"], answer.toXml())
        card = self.storedVCard()
        self.assertIsNone(card.PHOTO)
        self.assertEqual("Juliet Capulet", str(card.FN))

    def test_notOpen(self):
        """
        Section 8: an avatar whose data node is not open (here the PEP
        default, presence) stays out of the world-readable vCard.
        """
        publishAvatar(self.balcony, IMAGE, "a1", access=None)
        self.assertIsNone(self.storedVCard())

    def test_notConverted(self):
        """
        Left as they are: data whose SHA-1 is not the id, and a vCard that
        would be too large. The info with a url is skipped for the one
        without.
        """
        publishAvatar(self.balcony, IMAGE, "a2", itemId=OTHER_HASH)
        self.assertIsNone(self.storedVCard())
        self.handler.maxSize = 50
        publishAvatar(self.balcony, IMAGE, "a3")
        self.assertIsNone(self.storedVCard())
        self.handler.maxSize = 65536
        publishAvatar(self.balcony, OTHER_IMAGE, "a4", url="https://example.org/a.png")
        self.assertEqual(OTHER_HASH, photoHash(self.storedVCard()))
