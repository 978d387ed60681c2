# -*- test-case-name: tests.test_mam_account -*-
"""
Protocol tests for L{mepserver.mam.account} and L{mepserver.mam.prefs}:
accounts' message archives (XEP-0313), their preferences (XEP-0441) and
the XEP-0359 stanza-ids, on the client domain
L{mepserver.server.buildServer} builds (L{tests.test_pep.PEPHarness}:
bound sessions on stub streams, memory stores, a recorded MUC domain).
"""

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.interfaces import ArchivePrefs, ArchiveQuery, RosterItem
from mepserver.mam.account import isArchivable, stripStanzaIds
from mepserver.mam.prefs import parsePrefs, ruleFor
from tests.helpers import parseXml, stanzaMismatch
from tests.test_pep import PEPHarness

NS_MAM = "urn:xmpp:mam:2"
NS_SID = "urn:xmpp:sid:0"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
JULIET = "juliet@capulet.lit"
NO_STORE = "<no-store xmlns='urn:xmpp:hints'/>"
ROMEO = "romeo@capulet.lit"


def chat(to, body="Art thou not Romeo?", kind="chat", extra="", iqId=None):
    """
    A message literal; C{extra} goes inside it.
    """
    body = f"<body>{body}</body>" if body is not None else ""
    typeAttribute = f" type='{kind}'" if kind else ""
    identifier = f" id='{iqId}'" if iqId else ""
    return f"<message to='{to}'{typeAttribute}{identifier}>{body}{extra}</message>"


def mamQuery(body="", kind="set", to=None, iqId="q1", queryId=None):
    target = f" to='{to}'" if to else ""
    qid = f" queryid='{queryId}'" if queryId else ""
    return (
        f"<iq type='{kind}' id='{iqId}'{target}><query xmlns='{NS_MAM}'{qid}>{body}</query></iq>"
    )


def stanzaIdOf(message, by):
    """
    @return: the id of the message's stanza-id by C{by}, or L{None}.
    """
    for element in message.elements(NS_SID, "stanza-id"):
        if element.getAttribute("by") == by:
            return element["id"]
    return None


class ArchiveTestCase(unittest.TestCase):
    """
    juliet at balcony and chamber, romeo at orchard, the nurse offline;
    juliet and romeo are contacts.
    """

    settings = {}

    def setUp(self):
        self.harness = PEPHarness(self, **self.settings)
        self.server = self.harness.server
        self.harness.befriend("juliet", JID(ROMEO))
        self.balcony = self.harness.connect("juliet", "balcony")
        self.chamber = self.harness.connect("juliet", "chamber")
        self.romeo = self.harness.connect("romeo", "orchard")

    def archived(self, username):
        """
        @return: the L{ArchivedMessage}s of an account's archive.
        """
        page = self.successResultOf(
            self.server.archiveStore.queryArchive(
                f"{username}@capulet.lit", ArchiveQuery(max=1000)
            )
        )
        return list(page.messages)

    def bodies(self, username):
        return [str(parseXml(m.stanza).body) for m in self.archived(username)]

    def assertAnswer(self, answer, expected):
        problem = stanzaMismatch(answer, expected)
        self.assertIsNone(problem, f"{problem}\n{answer.toXml()}")

    def assertError(self, answer, condition, kind):
        self.assertAnswer(
            answer,
            f"<iq type='error'><error type='{kind}'><{condition} xmlns='{NS_STANZAS}'/>"
            "</error></iq>",
        )

    def query(self, client, body="", **kwargs):
        """
        Run a query; return the result messages and the answer.
        """
        client.send(mamQuery(body, **kwargs))
        received = client.take()
        return received[:-1], received[-1]


class WhatIsArchivedTests(ArchiveTestCase):
    """
    Section 7.1.1: which messages go into which archive, once.
    """

    def test_chatBothArchives(self):
        """
        romeo's chat to juliet's balcony is in romeo's archive with juliet
        as addressed, and in juliet's with romeo's full JID; juliet gets it
        with the stanza-id of her archive (section 2.3), romeo's archive id
        never reaches her.
        """
        self.romeo.send(chat(f"{JULIET}/balcony", "wherefore", iqId="m1"))
        [delivered] = self.balcony.take()
        [mine] = self.archived("juliet")
        [his] = self.archived("romeo")
        self.assertEqual(mine.id, stanzaIdOf(delivered, JULIET))
        self.assertEqual(1, len(list(delivered.elements(NS_SID, "stanza-id"))))
        self.assertEqual("romeo@capulet.lit/orchard", mine.with_)
        self.assertEqual(f"{JULIET}/balcony", his.with_)
        self.assertNotEqual(mine.id, his.id)
        for entry in (mine, his):
            self.assertAnswer(
                parseXml(entry.stanza),
                f"<message from='romeo@capulet.lit/orchard' to='{JULIET}/balcony' "
                "type='chat' id='m1'><body>wherefore</body></message>",
            )
        self.assertEqual(1071359917, mine.timestamp)
        self.assertEqual([], self.romeo.take())

    def test_normalWithBody(self):
        """
        A message of type normal (none given) with a body is archived.
        """
        self.romeo.send(chat(f"{JULIET}/balcony", "plain", kind=None))
        self.assertEqual(["plain"], self.bodies("juliet"))
        self.assertEqual(["plain"], self.bodies("romeo"))

    def test_notArchived(self):
        """
        Errors, headlines, chat states alone, bodiless normal messages and
        the XEP-0334 no-store and no-permanent-store hints stay out of
        both archives; the message is still delivered.
        """
        states = "<active xmlns='http://jabber.org/protocol/chatstates'/>"
        for literal in (
            chat(f"{JULIET}/balcony", kind="error"),
            chat(f"{JULIET}/balcony", kind="headline"),
            chat(f"{JULIET}/balcony", None, extra=states),
            chat(f"{JULIET}/balcony", None, kind=None, extra="<thread>t</thread>"),
            chat(f"{JULIET}/balcony", extra="<no-store xmlns='urn:xmpp:hints'/>"),
            chat(f"{JULIET}/balcony", extra="<no-permanent-store xmlns='urn:xmpp:hints'/>"),
        ):
            self.romeo.send(literal)
            [delivered] = self.balcony.take()
            self.assertIsNone(stanzaIdOf(delivered, JULIET), literal)
        self.assertEqual([], self.archived("juliet"))
        self.assertEqual([], self.archived("romeo"))

    def test_groupchatNotArchived(self):
        """
        Groupchat messages the room sends an occupant are the room's to
        archive, and private messages from occupants are archived.
        """
        room = "garden@conference.capulet.lit"
        self.harness.muc.send(
            f"<message from='{room}/romeo' to='{JULIET}/balcony' type='groupchat'>"
            "<body>all</body></message>"
        )
        self.harness.muc.send(
            f"<message from='{room}/romeo' to='{JULIET}/balcony' type='chat'>"
            "<body>just you</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>"
        )
        self.assertEqual(2, len(self.balcony.take()))
        [entry] = self.archived("juliet")
        self.assertEqual((f"{room}/romeo", "just you"), (entry.with_, self.bodies("juliet")[0]))

    def test_chatStatesLeftOut(self):
        """
        The stored copy leaves chat states out (as Prosody does).
        """
        self.romeo.send(
            chat(
                f"{JULIET}/balcony",
                "hi",
                extra="<active xmlns='http://jabber.org/protocol/chatstates'/>",
            )
        )
        [entry] = self.archived("juliet")
        self.assertNotIn("chatstates", entry.stanza)
        [delivered] = self.balcony.take()
        self.assertIsNotNone(delivered.active)

    def test_payloadsWithoutBody(self):
        """
        What Prosody's mod_mam archives without a body: a subject,
        receipts, chat markers, invitations, call messages, encryption,
        and anything with XEP-0334's store hint; not a headline even with
        the hint, nor a groupchat message.
        """
        archivable = [
            "<subject>s</subject>",
            "<request xmlns='urn:xmpp:receipts'/>",
            "<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/>",
            "<x xmlns='jabber:x:conference' jid='garden@conference.capulet.lit'/>",
            "<x xmlns='http://jabber.org/protocol/muc#user'><invite from='a@b'/></x>",
            "<propose xmlns='urn:xmpp:jingle-message:0' id='c'/>",
            "<encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl'/>",
            "<store xmlns='urn:xmpp:hints'/>",
        ]
        for extra in archivable:
            message = parseXml(chat(JULIET, None, extra=extra), "jabber:client")
            self.assertTrue(isArchivable(message), extra)
        for literal in (
            chat(JULIET, None, extra="<x xmlns='http://jabber.org/protocol/muc#user'/>"),
            chat(JULIET, kind="headline", extra="<store xmlns='urn:xmpp:hints'/>"),
            chat(JULIET, kind="groupchat"),
            chat(JULIET, None, extra="<body xmlns='urn:example'>not a body</body>"),
        ):
            self.assertFalse(isArchivable(parseXml(literal, "jabber:client")), literal)

    def test_bareJIDOnce(self):
        """
        A message to the bare JID, delivered to both available sessions,
        is archived once; both get the same stanza-id.
        """
        for client in (self.balcony, self.chamber):
            client.send("<presence/>")
        self.romeo.send(chat(JULIET, "to you both"))
        ids = set()
        for client in (self.balcony, self.chamber):
            [message] = [s for s in client.take() if s.name == "message"]
            ids.add(stanzaIdOf(message, JULIET))
        [entry] = self.archived("juliet")
        self.assertEqual({entry.id}, ids)

    def test_toSelfOnce(self):
        """
        A message from one of juliet's resources to another is archived
        once in her archive, with the sending resource as the other party.
        """
        self.balcony.send(chat(f"{JULIET}/chamber", "note to self"))
        [entry] = self.archived("juliet")
        self.assertEqual(f"{JULIET}/balcony", entry.with_)
        [delivered] = self.chamber.take()
        self.assertEqual(entry.id, stanzaIdOf(delivered, JULIET))

    def test_notArchivableNotDecided(self):
        """
        What a session sends that no account archive keeps (a groupchat or
        headline message, a presence) goes on without its own archive's
        decision being asked for; a chat message is decided, and archived.
        """
        asked = []
        archives = self.server.archives
        decideNow = archives.decideNow
        # (Archives decide on delivery too: juliet's on what she sends.)
        self.patch(archives, "decideNow", lambda username, message, other: (
            username == "juliet" and message["from"].startswith("juliet@")
            and asked.append(message.getAttribute("type")),
            decideNow(username, message, other))[1])
        self.balcony.send(f"<message to='{ROMEO}' type='headline'><body>h</body></message>")
        self.balcony.send(f"<message to='{ROMEO}' type='groupchat'><body>g</body></message>")
        self.balcony.send(f"<presence to='{ROMEO}'/>")
        self.assertEqual([], asked)
        self.assertEqual([], self.bodies("juliet"))
        self.balcony.send(chat(ROMEO, "c"))
        self.assertEqual({"chat"}, set(asked))
        self.assertEqual(["c"], self.bodies("juliet"))

    def test_spoofedStanzaIdsRemoved(self):
        """
        XEP-0359 section 4: stanza-ids claiming to be by juliet's archive
        are removed from what she receives, archived or not; others stay.
        """
        spoofed = (
            f"<stanza-id xmlns='{NS_SID}' by='{JULIET}' id='fake'/>"
            f"<stanza-id xmlns='{NS_SID}' by='Juliet@Capulet.lit' id='fake2'/>"
            f"<stanza-id xmlns='{NS_SID}' by='garden@conference.capulet.lit' id='room'/>"
        )
        self.romeo.send(chat(f"{JULIET}/balcony", "a", extra=spoofed))
        self.romeo.send(
            chat(f"{JULIET}/balcony", "b", extra=spoofed + "<no-store xmlns='urn:xmpp:hints'/>")
        )
        archivedDelivery, plainDelivery = self.balcony.take()
        [entry] = self.archived("juliet")
        self.assertEqual(
            [("garden@conference.capulet.lit", "room"), (JULIET, entry.id)],
            sorted((e["by"], e["id"]) for e in archivedDelivery.elements(NS_SID, "stanza-id")),
        )
        self.assertEqual(
            [("garden@conference.capulet.lit", "room")],
            [(e["by"], e["id"]) for e in plainDelivery.elements(NS_SID, "stanza-id")],
        )
        self.assertNotIn("fake", entry.stanza)

    def test_deliveredAgainOnce(self):
        """
        A message the server delivers again (XEP-0198: the session ended
        before acknowledging it) keeps the stanza-id it got and is not
        archived twice; the same UID from another sender is a spoof.
        """
        self.chamber.send("<presence/>")
        self.romeo.send(chat(f"{JULIET}/balcony", "once"))
        [delivered] = self.balcony.take()
        [entry] = self.archived("juliet")
        self.balcony.session.ended()
        self.server.streamManagement.undelivered(
            self.balcony.session, delivered, self.harness.clock.seconds()
        )
        [again] = [s for s in self.chamber.take() if s.name == "message"]
        self.assertEqual(
            [entry.id], [e["id"] for e in again.elements(NS_SID, "stanza-id")]
        )
        self.assertEqual([entry], self.archived("juliet"))
        nurse = self.harness.connect("nurse", "chamber")
        nurse.send(
            chat(
                f"{JULIET}/chamber",
                "replayed",
                extra=f"<stanza-id xmlns='{NS_SID}' by='{JULIET}' id='{entry.id}'/>",
            )
        )
        [replayed] = [s for s in self.chamber.take() if s.name == "message"]
        [_, new] = self.archived("juliet")
        self.assertEqual([new.id], [e["id"] for e in replayed.elements(NS_SID, "stanza-id")])

    def test_stripKeepsOriginal(self):
        """
        Stripping copies: the stanza in flight keeps its children.
        """
        message = parseXml(
            chat(JULIET, extra=f"<stanza-id xmlns='{NS_SID}' by='{JULIET}' id='x'/>"),
            "jabber:client",
        )
        stripped = stripStanzaIds(message, JULIET)
        self.assertEqual(2, len(list(message.elements())))
        self.assertEqual(["body"], [e.name for e in stripped.elements()])
        clean = parseXml(chat(JULIET), "jabber:client")
        self.assertIs(clean, stripStanzaIds(clean, JULIET))


class CarbonsTests(ArchiveTestCase):
    """
    Section 2.3 with Message Carbons (XEP-0280).
    """

    def setUp(self):
        ArchiveTestCase.setUp(self)
        answer = self.chamber.request(
            "<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>"
        )
        self.assertEqual("result", answer["type"])

    def forwardedOf(self, carbon, direction):
        wrapper = next(carbon.elements("urn:xmpp:carbons:2", direction))
        forwarded = next(wrapper.elements("urn:xmpp:forward:0", "forwarded"))
        return next(forwarded.elements("jabber:client", "message"))

    def test_receivedCarbon(self):
        """
        The received carbon forwards the message with its stanza-id.
        """
        self.romeo.send(chat(f"{JULIET}/balcony", "hello"))
        [delivered] = self.balcony.take()
        [carbon] = self.chamber.take()
        [entry] = self.archived("juliet")
        self.assertEqual(entry.id, stanzaIdOf(self.forwardedOf(carbon, "received"), JULIET))
        self.assertEqual(entry.id, stanzaIdOf(delivered, JULIET))

    def test_sentCarbon(self):
        """
        juliet's message to romeo: her sent carbon carries her archive's
        id; romeo gets only his archive's.
        """
        self.balcony.send(chat(f"{ROMEO}/orchard", "goodnight"))
        [carbon] = self.chamber.take()
        [delivered] = self.romeo.take()
        [mine] = self.archived("juliet")
        [his] = self.archived("romeo")
        self.assertEqual(mine.id, stanzaIdOf(self.forwardedOf(carbon, "sent"), JULIET))
        self.assertEqual(
            [(ROMEO, his.id)],
            [(e["by"], e["id"]) for e in delivered.elements(NS_SID, "stanza-id")],
        )
        self.assertEqual([], self.balcony.take())


class RefusedTests(ArchiveTestCase):
    """
    Section 7.1: rejected messages are in no archive of the one who
    rejected them; offline messages are archived.
    """

    def test_offlineArchived(self):
        """
        A message kept offline is archived; delivered later, it carries
        the stanza-id.
        """
        self.romeo.send(chat("nurse@capulet.lit", "for the nurse"))
        [entry] = self.archived("nurse")
        self.assertEqual("romeo@capulet.lit/orchard", entry.with_)
        nurse = self.harness.connect("nurse", "chamber")
        nurse.send("<presence/>")
        [message] = [s for s in nurse.take() if s.name == "message"]
        self.assertEqual(entry.id, stanzaIdOf(message, "nurse@capulet.lit"))
        self.assertNotIn("delay", entry.stanza)

    def test_offlineRefusedNotArchived(self):
        """
        A message offline storage refuses (the no-store hint, no such
        account) is bounced, and in no recipient's archive; the sender
        keeps it in its own (as sent).
        """
        self.romeo.send(
            chat("nurse@capulet.lit", "x", extra="<no-store xmlns='urn:xmpp:hints'/>")
        )
        self.romeo.send(chat("nobody@capulet.lit", "y"))
        errors = [s for s in self.romeo.take() if s.getAttribute("type") == "error"]
        self.assertEqual(2, len(errors))
        self.assertEqual([], self.archived("nurse"))
        self.assertEqual([], self.archived("nobody"))
        self.assertEqual(["y"], self.bodies("romeo"))

    def test_offlineFullNotArchived(self):
        """
        Past the offline limit, the bounced message is not archived.
        """
        [offline] = [
            h for h in self.server.getServiceNamed("client-domain") if hasattr(h, "keep")
        ]
        offline.limit = 1
        self.romeo.send(chat("nurse@capulet.lit", "first"))
        self.romeo.send(chat("nurse@capulet.lit", "second"))
        self.assertEqual(["first"], self.bodies("nurse"))

    def test_blocked(self):
        """
        A message from someone juliet blocks is in neither archive of hers,
        and a message juliet sends to someone she blocks is refused and not
        in her archive (XEP-0191).
        """
        answer = self.balcony.request(
            "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'>"
            f"<item jid='{ROMEO}'/></block></iq>"
        )
        self.assertEqual("result", answer["type"])
        self.romeo.send(chat(f"{JULIET}/balcony", "let me in"))
        self.balcony.send(chat(f"{ROMEO}/orchard", "go away"))
        self.assertEqual([], self.archived("juliet"))
        self.assertEqual(["let me in"], self.bodies("romeo"))


class QueryTests(ArchiveTestCase):
    """
    Sections 4 and 5 at an account's bare JID.
    """

    def setUp(self):
        ArchiveTestCase.setUp(self)
        for n in range(5):
            self.romeo.send(chat(f"{JULIET}/balcony", f"line {n}"))
        self.balcony.take()

    def test_ownArchive(self):
        """
        A query without 'to' reads juliet's archive: results from her bare
        JID to the querying session, in order, with the queryid, the
        forwarded message and a delay; then the fin; the other session
        sees nothing.
        """
        results, answer = self.query(
            self.balcony, f"<set xmlns='{NS_RSM}'><max>2</max></set>", queryId="f27"
        )
        entries = self.archived("juliet")
        self.assertEqual([e.id for e in entries[:2]], [m.result["id"] for m in results])
        for message in results:
            self.assertAnswer(
                message,
                f"<message from='{JULIET}' to='{JULIET}/balcony'>"
                f"<result xmlns='{NS_MAM}' queryid='f27'><forwarded xmlns='urn:xmpp:forward:0'>"
                "<delay xmlns='urn:xmpp:delay' stamp='2003-12-13T23:58:37Z'/>"
                "<message xmlns='jabber:client' from='romeo@capulet.lit/orchard' "
                f"to='{JULIET}/balcony' type='chat'/></forwarded></result></message>",
            )
        self.assertAnswer(
            answer,
            f"<iq type='result' id='q1' from='{JULIET}' to='{JULIET}/balcony'>"
            f"<fin xmlns='{NS_MAM}'><set xmlns='{NS_RSM}'><first index='0'>{entries[0].id}</first>"
            f"<last>{entries[1].id}</last><count>5</count></set></fin></iq>",
        )
        self.assertEqual([], self.chamber.take())

    def test_defaultPage(self):
        """
        Without RSM, a page holds [archive] page_size messages.
        """
        self.server.archives.limits = type(self.server.archives.limits)(3, 4)
        results, answer = self.query(self.balcony, to=JULIET)
        self.assertEqual(3, len(results))
        self.assertIsNone(answer.fin.getAttribute("complete"))
        results, answer = self.query(
            self.balcony, f"<set xmlns='{NS_RSM}'><max>50</max></set>"
        )
        self.assertEqual(4, len(results))

    def test_withFilter(self):
        """
        Section 4.1.1: with romeo's bare JID matches his messages; with
        juliet's own JID only her messages to herself.
        """
        self.balcony.send(chat(f"{JULIET}/chamber", "self"))
        self.chamber.take()
        form = (
            "<x xmlns='jabber:x:data' type='submit'>"
            f"<field var='FORM_TYPE' type='hidden'><value>{NS_MAM}</value></field>"
            "<field var='with'><value>{}</value></field></x>"
        )
        results, _ = self.query(self.balcony, form.format(ROMEO))
        self.assertEqual(5, len(results))
        results, _ = self.query(self.balcony, form.format(JULIET))
        self.assertEqual(["self"], [str(m.result.forwarded.message.body) for m in results])

    def test_othersForbidden(self):
        """
        Section 8.1: romeo may not query, read the metadata or the
        preferences of juliet's archive; nothing is sent to him.
        """
        for request in (
            mamQuery(to=JULIET),
            mamQuery(kind="get", to=JULIET),
            f"<iq type='get' id='q1' to='{JULIET}'><metadata xmlns='{NS_MAM}'/></iq>",
            f"<iq type='get' id='q1' to='{JULIET}'><prefs xmlns='{NS_MAM}'/></iq>",
            f"<iq type='set' id='q1' to='{JULIET}'><prefs xmlns='{NS_MAM}' default='never'/></iq>",
        ):
            self.romeo.send(request)
            [answer] = self.romeo.take()
            self.assertError(answer, "forbidden", "auth")
        self.assertEqual(
            "always", self.successResultOf(self.server.archives.prefsOf("juliet")).default
        )

    def test_domainHasNoArchive(self):
        """
        The server's domain keeps no archive: service-unavailable.
        """
        answer = self.balcony.request(mamQuery(to="capulet.lit"))
        self.assertError(answer, "service-unavailable", "cancel")

    def test_form(self):
        """
        Section 4.1.4: a get is answered with the fields, include-groupchat
        among them.
        """
        answer = self.balcony.request(mamQuery(kind="get"))
        fields = [f["var"] for f in answer.query.x.elements("jabber:x:data", "field")]
        self.assertEqual(
            ["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids",
             "include-groupchat"],
            fields,
        )

    def test_includeGroupchat(self):
        """
        Section 4.1.5: include-groupchat takes a boolean; either value
        gives the same results (no groupchat is archived); anything else
        is a bad request.
        """
        form = (
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='include-groupchat'><value>{}</value></field></x>"
        )
        for value in ("true", "false"):
            results, answer = self.query(self.balcony, form.format(value))
            self.assertEqual((5, "result"), (len(results), answer["type"]))
        results, answer = self.query(self.balcony, form.format("maybe"))
        self.assertEqual([], results)
        self.assertError(answer, "bad-request", "modify")

    def test_refusalsFromQueryModule(self):
        """
        The query module's refusals reach the client: item-not-found for
        an unknown UID, feature-not-implemented for an unknown field.
        """
        results, answer = self.query(
            self.balcony, f"<set xmlns='{NS_RSM}'><after>unknown</after></set>"
        )
        self.assertEqual([], results)
        self.assertError(answer, "item-not-found", "cancel")
        results, answer = self.query(
            self.balcony,
            "<x xmlns='jabber:x:data' type='submit'><field var='fulltext'><value>x</value>"
            "</field></x>",
        )
        self.assertError(answer, "feature-not-implemented", "cancel")

    def test_metadata(self):
        """
        Section 5: the first and last message; a set is a bad request.
        """
        entries = self.archived("juliet")
        answer = self.balcony.request(
            f"<iq type='get' id='md'><metadata xmlns='{NS_MAM}'/></iq>"
        )
        self.assertEqual(
            (entries[0].id, entries[-1].id),
            (answer.metadata.start["id"], answer.metadata.end["id"]),
        )
        answer = self.balcony.request(
            f"<iq type='set' id='md'><metadata xmlns='{NS_MAM}'/></iq>"
        )
        self.assertError(answer, "bad-request", "modify")

    def test_disco(self):
        """
        Section 6: juliet's bare JID lists the archive's features to her;
        not to romeo, though he may discover her.
        """
        features = (
            NS_MAM,
            "urn:xmpp:mam:2#extended",
            NS_SID,
            "urn:xmpp:mam:2#groupchat-field",
        )
        disco = (
            f"<iq type='get' id='d1' to='{JULIET}'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )

        def listed(answer):
            self.assertEqual("result", answer["type"])
            return {f["var"] for f in answer.query.elements() if f.name == "feature"}

        self.assertLessEqual(set(features), listed(self.balcony.request(disco)))
        self.assertFalse(set(features) & listed(self.romeo.request(disco)))
        domain = disco.replace(f"to='{JULIET}'", "to='capulet.lit'")
        self.assertNotIn(NS_MAM, listed(self.balcony.request(domain)))


class PrefsTests(ArchiveTestCase):
    """
    XEP-0441: preferences, and how they apply.
    """

    def setPrefs(self, default, always=(), never=(), client=None):
        body = "".join(
            f"<{name}>" + "".join(f"<jid>{j}</jid>" for j in jids) + f"</{name}>"
            for name, jids in (("always", always), ("never", never))
        )
        return (client or self.balcony).request(
            f"<iq type='set' id='p1'><prefs xmlns='{NS_MAM}' default='{default}'>"
            f"{body}</prefs></iq>"
        )

    def test_defaultPrefs(self):
        """
        Section 3.1: without preferences set, the default is always, with
        empty lists present.
        """
        answer = self.balcony.request(f"<iq type='get' id='p0'><prefs xmlns='{NS_MAM}'/></iq>")
        self.assertAnswer(
            answer,
            f"<iq type='result' id='p0'><prefs xmlns='{NS_MAM}' default='always'>"
            "<always/><never/></prefs></iq>",
        )

    def test_setAndGet(self):
        """
        Section 3.1, examples 3 and 4: a set is answered with the applied
        preferences, which a get returns and the store keeps.
        """
        answer = self.setPrefs(
            "roster", always=["Romeo@Montague.lit"], never=["montague@montague.lit"]
        )
        expected = (
            f"<prefs xmlns='{NS_MAM}' default='roster'><always><jid>romeo@montague.lit</jid>"
            "</always><never><jid>montague@montague.lit</jid></never></prefs>"
        )
        self.assertAnswer(answer, f"<iq type='result' id='p1'>{expected}</iq>")
        answer = self.chamber.request(f"<iq type='get' id='p2'><prefs xmlns='{NS_MAM}'/></iq>")
        self.assertAnswer(answer, f"<iq type='result' id='p2'>{expected}</iq>")
        stored = self.successResultOf(self.server.archiveStore.getArchivePrefs(JULIET))
        self.assertEqual(
            ArchivePrefs("roster", ("romeo@montague.lit",), ("montague@montague.lit",)), stored
        )

    def test_badPrefs(self):
        """
        A missing or unknown default, a list entry that is no JID: bad
        requests, and the preferences stay.
        """
        for body in (
            f"<prefs xmlns='{NS_MAM}'/>",
            f"<prefs xmlns='{NS_MAM}' default='sometimes'/>",
            f"<prefs xmlns='{NS_MAM}' default='never'><never><jid>@x</jid></never></prefs>",
            f"<prefs xmlns='{NS_MAM}' default='never'><never><item>x@y</item></never></prefs>",
        ):
            answer = self.balcony.request(f"<iq type='set' id='p1'>{body}</iq>")
            self.assertError(answer, "bad-request", "modify")
        self.assertEqual(
            "always", self.successResultOf(self.server.archives.prefsOf("juliet")).default
        )

    def test_never(self):
        """
        Sections 3.1.3 and 3.3: a never-listed bare JID's messages, either
        way, stay out of juliet's archive, and out of nobody else's.
        """
        self.setPrefs("always", never=[ROMEO])
        self.romeo.send(chat(f"{JULIET}/balcony", "in"))
        self.balcony.send(chat(f"{ROMEO}/orchard", "out"))
        self.assertEqual([], self.archived("juliet"))
        [delivered] = self.balcony.take()
        self.assertIsNone(stanzaIdOf(delivered, JULIET))
        self.assertEqual(["in", "out"], self.bodies("romeo"))

    def test_defaultNeverWithAlways(self):
        """
        Default never, with a full JID always-listed: only that resource's
        messages are archived (section 3.3.1).
        """
        self.setPrefs("never", always=[f"{ROMEO}/orchard"])
        elsewhere = self.harness.connect("romeo", "elsewhere")
        self.romeo.send(chat(f"{JULIET}/balcony", "from the orchard"))
        elsewhere.send(chat(f"{JULIET}/balcony", "from elsewhere"))
        self.assertEqual(["from the orchard"], self.bodies("juliet"))

    def test_roster(self):
        """
        Default roster: romeo, a contact, is archived; the nurse, who is
        not in juliet's roster, is not; juliet's own messages are.
        """
        self.setPrefs("roster")
        nurse = self.harness.connect("nurse", "chamber")
        self.romeo.send(chat(f"{JULIET}/balcony", "contact"))
        nurse.send(chat(f"{JULIET}/balcony", "stranger"))
        self.balcony.send(chat(f"{JULIET}/chamber", "self"))
        self.balcony.send(chat("nurse@capulet.lit/chamber", "to a stranger"))
        self.assertEqual(["contact", "self"], self.bodies("juliet"))
        self.harness.users.setRosterItem(
            "juliet", RosterItem(contact=JID("nurse@capulet.lit"), subscription="none")
        )
        nurse.send(chat(f"{JULIET}/balcony", "now known"))
        self.assertEqual(["contact", "self", "now known"], self.bodies("juliet"))

    def test_rules(self):
        """
        L{ruleFor}: never wins over always; bare entries match any
        resource, full entries only themselves; roster leaves it open.
        """
        prefs = parsePrefs(
            parseXml(
                f"<prefs xmlns='{NS_MAM}' default='roster'><always><jid>a@x</jid>"
                "<jid>b@x/r</jid><jid>c@x</jid></always><never><jid>c@x</jid></never></prefs>"
            )
        )
        self.assertEqual(("a@x", "b@x/r"), prefs.always)
        self.assertTrue(ruleFor(prefs, JID("a@x/any")))
        self.assertTrue(ruleFor(prefs, JID("b@x/r")))
        self.assertIsNone(ruleFor(prefs, JID("b@x/other")))
        self.assertFalse(ruleFor(prefs, JID("c@x/r")))
        self.assertTrue(ruleFor(ArchivePrefs("always"), JID("d@x")))
        self.assertFalse(ruleFor(ArchivePrefs("never"), JID("d@x")))


class SlowStore:
    """
    An archive store whose preference reads (or, with C{slowWrites}, whose
    writes) wait until released, as the SQLite store's answers come later
    from its thread.
    """

    def __init__(self, store, slowWrites=False):
        self.store = store
        self.slowWrites = slowWrites
        self.waiting = []

    def __getattr__(self, name):
        return getattr(self.store, name)

    def _later(self, name, *args):
        d = defer.Deferred()
        self.waiting.append((d, name, args))
        return d

    def getArchivePrefs(self, archive):
        return self._later("getArchivePrefs", archive)

    def archiveMessage(self, archive, message, limit):
        if not self.slowWrites:
            return self.store.archiveMessage(archive, message, limit)
        return self._later("archiveMessage", archive, message, limit)

    def release(self):
        waiting, self.waiting = self.waiting, []
        for d, name, args in waiting:
            getattr(self.store, name)(*args).chainDeferred(d)


class OrderTests(ArchiveTestCase):
    """
    A message whose archiving waits for the preferences keeps its order
    with the stanzas after it, both ways.
    """

    def setUp(self):
        ArchiveTestCase.setUp(self)
        self.slow = SlowStore(self.server.archiveStore)
        self.server.archives.store = self.slow

    def test_incomingWaits(self):
        """
        juliet's preferences load while romeo's messages arrive: none is
        delivered before they are, and then all, in order.
        """
        self.server.archives._prefs["romeo"] = ArchivePrefs()
        for n in range(3):
            self.romeo.send(chat(f"{JULIET}/balcony", f"#{n}"))
        self.romeo.send(chat(f"{JULIET}/balcony", "chat state", extra=NO_STORE))
        self.assertEqual([], self.balcony.take())
        self.assertEqual(1, len(self.slow.waiting))
        self.slow.release()
        delivered = self.balcony.take()
        self.assertEqual(["#0", "#1", "#2", "chat state"], [str(m.body) for m in delivered])
        self.assertEqual(["#0", "#1", "#2"], self.bodies("juliet"))
        self.assertEqual(
            [e.id for e in self.archived("juliet")],
            [stanzaIdOf(m, JULIET) for m in delivered[:3]],
        )

    def test_deliveredOnceWritten(self):
        """
        An archived message reaches juliet once its entry is written, so a
        kill cannot lose what she received; her later stanzas, archived or
        not, wait behind it; one she does not archive goes at once when
        nothing waits.
        """
        self.server.archives._prefs["romeo"] = ArchivePrefs()
        self.server.archives._prefs["juliet"] = ArchivePrefs()
        self.slow.slowWrites = True
        self.romeo.send(chat(f"{JULIET}/balcony", "plain", extra=NO_STORE))
        self.assertEqual(["plain"], [str(m.body) for m in self.balcony.take()])
        self.romeo.send(chat(f"{JULIET}/balcony", "#1"))
        self.romeo.send(chat(f"{JULIET}/balcony", "#2", extra=NO_STORE))
        self.assertEqual([], self.balcony.take())
        # romeo's entry of #1 and juliet's.
        self.assertEqual(2, len(self.slow.waiting))
        self.slow.release()
        self.assertEqual(["#1", "#2"], [str(m.body) for m in self.balcony.take()])
        self.assertEqual(["#1"], self.bodies("juliet"))

    def test_outgoingWaits(self):
        """
        juliet's first message waits for her preferences; her next
        stanzas (a message, an IQ) wait behind it, and go out in order.
        """
        self.server.archives._prefs["romeo"] = ArchivePrefs()
        self.balcony.send(chat(f"{ROMEO}/orchard", "first"))
        self.balcony.send(chat(f"{ROMEO}/orchard", "second"))
        self.balcony.send(
            f"<iq type='get' id='ping' to='{ROMEO}/orchard'><ping xmlns='urn:xmpp:ping'/></iq>"
        )
        self.assertEqual([], self.romeo.take())
        self.slow.release()
        received = self.romeo.take()
        self.assertEqual(["message", "message", "iq"], [s.name for s in received])
        self.assertEqual(["first", "second"], [str(m.body) for m in received[:2]])
        self.assertEqual(["first", "second"], self.bodies("juliet"))
        # Once known, the preferences decide at once.
        self.balcony.send(chat(f"{ROMEO}/orchard", "third"))
        self.assertEqual(1, len(self.romeo.take()))


class LimitTests(ArchiveTestCase):
    """
    [archive] max_messages and retention (section 2.2: the oldest go).
    """

    settings = {"archiveMaxMessages": 2, "archiveRetention": 7200}

    def test_maxMessages(self):
        """
        Past max_messages, the oldest messages go.
        """
        for n in range(4):
            self.romeo.send(chat(f"{JULIET}/balcony", f"#{n}"))
        self.assertEqual(["#2", "#3"], self.bodies("juliet"))

    def test_retention(self):
        """
        The expiry timer, on the server's clock, drops what is older than
        the retention; it runs only once something was archived, and stops
        with a reset.
        """
        clock = self.harness.clock
        self.assertEqual([], clock.getDelayedCalls())
        self.romeo.send(chat(f"{JULIET}/balcony", "old"))
        # Hourly, for a retention of two hours.
        [timer] = clock.getDelayedCalls()
        self.assertEqual(clock.seconds() + 3600, timer.getTime())
        clock.advance(5000)
        self.romeo.send(chat(f"{JULIET}/balcony", "new"))
        clock.advance(2200)
        # At 7200 s, "old" is exactly as old as the retention: kept.
        self.assertEqual(["old", "new"], self.bodies("juliet"))
        clock.advance(3600)
        self.assertEqual(["new"], self.bodies("juliet"))
        self.assertEqual(["new"], self.bodies("romeo"))
        clock.advance(3600)
        self.assertEqual([], self.bodies("juliet"))
        self.server.archives.reset()
        self.assertEqual([], clock.getDelayedCalls())

    def test_removedAccount(self):
        """
        XEP-0077 section 3.2: a removed account's archive and preferences
        go with it.
        """
        self.romeo.send(chat(f"{JULIET}/balcony", "bye"))
        self.successResultOf(
            self.server.archiveStore.setArchivePrefs(JULIET, ArchivePrefs("never"))
        )
        closed = []
        for client in (self.balcony, self.chamber):
            client.stream.sendStreamError = closed.append
        self.balcony.send(
            "<iq type='set' id='r1'><query xmlns='jabber:iq:register'><remove/></query></iq>"
        )
        self.assertEqual(2, len(closed))
        self.assertEqual([], self.archived("juliet"))
        self.assertIsNone(self.successResultOf(self.server.archiveStore.getArchivePrefs(JULIET)))
        self.assertEqual(["bye"], self.bodies("romeo"))
