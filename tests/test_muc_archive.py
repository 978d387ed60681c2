# -*- test-case-name: tests.test_muc_archive -*-
"""
Tests for rooms' message archives (XEP-0313 section 7.1.2) and message
moderation (XEP-0425, XEP-0424): the room option
(L{mepserver.muc.features.archiving}), the rules of the room model, and
stanzas through the MUC handler (L{mepserver.muc.handler},
L{mepserver.muc.archive}) with a memory archive store.
"""

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver import errors
from mepserver.interfaces import ArchiveQuery
from mepserver.muc.records import Status
from mepserver.muc.registry import fromStored, toStored
from mepserver.muc.roles import Affiliation, Role
from mepserver.muc.roomconfig import RoomConfig
from mepserver.storage.memory import MemoryArchiveStore
from tests import mucfixtures
from tests.helpers import assertStanza, parseXml
from tests.memory import MemoryServer
from tests.test_muc_handler import (
    CRONE,
    HAG,
    HECATE,
    ROOM,
    WICCA,
    MUCHarness,
    condition,
)

NS_MAM = "urn:xmpp:mam:2"
NS_SID = "urn:xmpp:sid:0"
NS_USER = "http://jabber.org/protocol/muc#user"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_MODERATE = "urn:xmpp:message-moderate:1"
NS_OCCUPANT = "urn:xmpp:occupant-id:0"
ENABLE = "muc#roomconfig_enablearchiving"
PERSISTENT = "muc#roomconfig_persistentroom"


def bodies(message):
    """
    @return: the C{<body/>}s of a message, whatever their namespace.
    """
    return [e for e in message.elements() if e.name == "body"]


class OptionTests(unittest.SynchronousTestCase):
    """
    The C{muc#roomconfig_enablearchiving} option: on for persistent rooms
    until an owner chooses (DESIGN.md section 3).
    """

    def configure(self, room, **fields):
        return room.configure(mucfixtures.CRONE, {k: [v] for k, v in fields.items()})

    def test_followsPersistence(self):
        """
        A new room does not archive; made persistent, it does, and says so
        with 170 (XEP-0045 section 10.2.1); made temporary again, it stops
        with 171.
        """
        room = mucfixtures.makeRoom()
        self.assertFalse(room.config.archiving)
        change = room.configure(mucfixtures.CRONE, {PERSISTENT: ["1"]})
        self.assertTrue(room.config.archiving)
        self.assertIn(Status.LOGGING_ENABLED, change.statuses)
        change = room.configure(mucfixtures.CRONE, {PERSISTENT: ["0"]})
        self.assertFalse(room.config.archiving)
        self.assertIn(Status.LOGGING_DISABLED, change.statuses)

    def test_shownValueIsNoChoice(self):
        """
        A form that submits the value it showed (off, for a temporary room)
        while making the room persistent leaves the choice open: the
        persistent room archives.
        """
        room = mucfixtures.makeRoom()
        room.configure(mucfixtures.CRONE, {PERSISTENT: ["1"], ENABLE: ["0"]})
        self.assertIsNone(room.config.archive)
        self.assertTrue(room.config.archiving)

    def test_choiceStays(self):
        """
        An owner's choice stays whatever happens to persistence: off in a
        persistent room (171), on in a temporary one.
        """
        room = mucfixtures.makeRoom(persistent=True)
        change = room.configure(mucfixtures.CRONE, {ENABLE: ["0"]})
        self.assertEqual({Status.CONFIGURATION_CHANGED, Status.LOGGING_DISABLED}, change.statuses)
        room.configure(mucfixtures.CRONE, {PERSISTENT: ["0"]})
        room.configure(mucfixtures.CRONE, {PERSISTENT: ["1"], ENABLE: ["0"]})
        self.assertFalse(room.config.archiving)
        temporary = mucfixtures.makeRoom()
        temporary.configure(mucfixtures.CRONE, {ENABLE: ["1"]})
        self.assertTrue(temporary.config.archiving)
        temporary.configure(mucfixtures.CRONE, {ENABLE: ["1"]})
        self.assertTrue(temporary.config.archive)

    def test_formAndDisco(self):
        """
        The form shows the current value; disco lists urn:xmpp:mam:2 and
        its extended feature only while the room archives (XEP-0313
        section 6); a value that is not a boolean is refused.
        """
        room = mucfixtures.makeRoom()
        [field] = [f for f in room.configFields() if f.var == ENABLE]
        self.assertEqual(("boolean", ("0",)), (field.type, field.values))
        self.assertNotIn(NS_MAM, room.discoFeatures())
        room.configure(mucfixtures.CRONE, {ENABLE: ["true"]})
        [field] = [f for f in room.configFields() if f.var == ENABLE]
        self.assertEqual(("1",), field.values)
        self.assertIn(NS_MAM, room.discoFeatures())
        self.assertIn(NS_MAM + "#extended", room.discoFeatures())
        self.assertRaises(
            errors.BadRequest, room.configure, mucfixtures.CRONE, {ENABLE: ["maybe"]}
        )

    def test_stored(self):
        """
        The choice is part of the stored configuration, and so is the
        absence of one.
        """
        room = mucfixtures.makeRoom(persistent=True, archive=False)
        again = fromStored(toStored(room), room.clock, room.ids)
        self.assertIs(False, again.config.archive)
        self.assertIsNone(RoomConfig.fromStored(RoomConfig(persistent=True).toStored()).archive)


class AccessRuleTests(unittest.SynchronousTestCase):
    """
    Who reads a room's archive (XEP-0313 section 7.1.2), who sees real
    JIDs in it, and who moderates (XEP-0425).
    """

    def test_openRoom(self):
        """
        Anyone but an outcast reads an open room's archive, present or not.
        """
        room = mucfixtures.coven()
        room.checkArchiveReader(mucfixtures.HAG)
        room.checkArchiveReader(mucfixtures.MACBETH)
        room.affiliations[mucfixtures.MACBETH.userhostJID()] = Affiliation.OUTCAST
        self.assertRaises(errors.Forbidden, room.checkArchiveReader, mucfixtures.MACBETH)

    def test_membersOnly(self):
        """
        Members-only: members, admins and owners, present or not.
        """
        room = mucfixtures.makeRoom(membersOnly=True)
        self.assertRaises(errors.Forbidden, room.checkArchiveReader, mucfixtures.HECATE)
        room.affiliations[mucfixtures.HECATE.userhostJID()] = Affiliation.MEMBER
        room.checkArchiveReader(mucfixtures.HECATE)
        room.checkArchiveReader(mucfixtures.CRONE)

    def test_passwordProtected(self):
        """
        Password-protected: its occupants (who gave the password) and its
        members; no one else, since a query carries no password.
        """
        room = mucfixtures.makeRoom(passwordProtected=True, password="cauldron")
        room.join(mucfixtures.HAG, "thirdwitch", None, "cauldron")
        room.checkArchiveReader(mucfixtures.HAG)
        self.assertRaises(errors.Forbidden, room.checkArchiveReader, mucfixtures.HECATE)
        room.affiliations[mucfixtures.HECATE.userhostJID()] = Affiliation.MEMBER
        room.checkArchiveReader(mucfixtures.HECATE)

    def test_realJIDs(self):
        """
        Semi-anonymous: moderators see real JIDs, participants and
        absent unaffiliated users do not, an absent owner (a moderator on
        entering) does; non-anonymous: everyone.
        """
        room = mucfixtures.coven()
        self.assertTrue(room.archiveRevealsRealJIDsTo(mucfixtures.CRONE))
        self.assertFalse(room.archiveRevealsRealJIDsTo(mucfixtures.HAG))
        self.assertFalse(room.archiveRevealsRealJIDsTo(mucfixtures.MACBETH))
        room.leave(mucfixtures.CRONE)
        self.assertTrue(room.archiveRevealsRealJIDsTo(mucfixtures.CRONE))
        room.config.whois = "anyone"
        self.assertTrue(room.archiveRevealsRealJIDsTo(mucfixtures.MACBETH))

    def test_moderator(self):
        """
        Moderators moderate as their occupant JID; an absent owner as its
        reserved nick, or as no one in particular; participants and
        outcasts may not.
        """
        room = mucfixtures.coven()
        self.assertEqual(JID(f"{ROOM}/firstwitch"), room.moderator(mucfixtures.CRONE))
        self.assertRaises(errors.Forbidden, room.moderator, mucfixtures.HAG)
        room.occupantOf(mucfixtures.HAG).role = Role.MODERATOR
        self.assertEqual(JID(f"{ROOM}/thirdwitch"), room.moderator(mucfixtures.HAG))
        room.leave(mucfixtures.CRONE)
        self.assertIsNone(room.moderator(mucfixtures.CRONE))
        room.nicks[mucfixtures.CRONE.userhostJID()] = "crone"
        self.assertEqual(JID(f"{ROOM}/crone"), room.moderator(mucfixtures.CRONE))
        room.affiliations[mucfixtures.MACBETH.userhostJID()] = Affiliation.OUTCAST
        self.assertRaises(errors.Forbidden, room.moderator, mucfixtures.MACBETH)


class SlowArchiveStore(MemoryArchiveStore):
    """
    A memory archive store whose writes complete when the test says so,
    as the SQLite store's complete from its thread.
    """

    def __init__(self):
        MemoryArchiveStore.__init__(self)
        self.pending = []

    def archiveMessage(self, archive, message, limit):
        d = defer.Deferred()
        self.pending.append((d, archive, message, limit))
        return d

    def release(self):
        """
        Complete the oldest pending write.
        """
        d, archive, message, limit = self.pending.pop(0)
        MemoryArchiveStore.archiveMessage(self, archive, message, limit)
        d.callback(None)


class ArchiveHarnessMixin:
    """
    The coven, persistent (so archiving): crone1 (owner, firstwitch),
    wiccarocks (secondwitch) and hag66 (thirdwitch).
    """

    def setUp(self):
        self.store = self.makeStore()
        self.muc = MUCHarness(self, archiveStore=self.store)
        self.muc.join(CRONE, "firstwitch")
        self.muc.instant()
        self.configure({PERSISTENT: "1"})
        self.muc.join(WICCA, "secondwitch")
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()
        self.room = self.muc.rooms.get(JID(ROOM))

    def makeStore(self):
        return MemoryArchiveStore()

    def configure(self, fields, sender=CRONE):
        values = "".join(
            f"<field var='{var}'><value>{value}</value></field>" for var, value in fields.items()
        )
        self.muc.send(
            f"<iq from='{sender}' id='cfg' to='{ROOM}' type='set'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'>"
            f"<x xmlns='jabber:x:data' type='submit'>{values}</x></query></iq>"
        )
        return self.muc.take()

    def say(self, sender, body="Thrice the brinded cat hath mew'd.", extra="", messageId="m1"):
        """
        Send a groupchat message; return the copy C{HAG} got, if any.
        """
        bodyElement = f"<body>{body}</body>" if body is not None else ""
        self.muc.send(
            f"<message from='{sender}' to='{ROOM}' type='groupchat' id='{messageId}'>"
            f"{bodyElement}{extra}</message>"
        )
        got = [s for s in self.muc.take(HAG) if s.name == "message"]
        self.muc.take()
        return got[-1] if got else None

    def archived(self, room=ROOM):
        page = self.successResultOf(self.store.queryArchive(room, ArchiveQuery(max=1000)))
        return list(page.messages)

    def stanzaIdOf(self, message):
        [sid] = [e for e in message.elements(NS_SID, "stanza-id") if e["by"] == ROOM]
        return sid["id"]

    def query(self, sender, body="", kind="set", iqId="q1", to=ROOM, name="query"):
        """
        Send a MAM request; return the results and the answer.
        """
        self.muc.send(
            f"<iq from='{sender}' id='{iqId}' to='{to}' type='{kind}'>"
            f"<{name} xmlns='{NS_MAM}' queryid='qid'>{body}</{name}></iq>"
        )
        received = self.muc.take(sender)
        return received[:-1], received[-1]

    def forwarded(self, result):
        return next(result.result.forwarded.elements("jabber:client", "message"))

    def moderate(self, sender, target, reason="Spam", iqId="mod1"):
        reasonElement = f"<reason>{reason}</reason>" if reason else ""
        self.muc.send(
            f"<iq from='{sender}' id='{iqId}' to='{ROOM}' type='set'>"
            f"<moderate id='{target}' xmlns='{NS_MODERATE}'>"
            f"<retract xmlns='{NS_RETRACT}'/>{reasonElement}</moderate></iq>"
        )
        return self.muc.take()


class ArchivingTests(ArchiveHarnessMixin, unittest.TestCase):
    """
    What goes into a room's archive (XEP-0313 section 7.1.2), and how.
    """

    def test_messageArchivedOnce(self):
        """
        A groupchat message is archived once, under the stanza-id its
        broadcast carried, from the occupant JID, without 'to', without
        the muc#user x the client sent (section 8.5), with its
        occupant-id; the real JID is the entry's 'with'.
        """
        live = self.say(WICCA, extra=f"<x xmlns='{NS_USER}'><item jid='forged@evil'/></x>")
        [entry] = self.archived()
        self.assertEqual(self.stanzaIdOf(live), entry.id)
        self.assertEqual(WICCA, entry.with_)
        stored = parseXml(entry.stanza)
        assertStanza(self, stored, f"""
            <message from='{ROOM}/secondwitch' type='groupchat' id='m1'>
              <body>Thrice the brinded cat hath mew'd.</body>
              <occupant-id xmlns='{NS_OCCUPANT}' id='{self.room.occupantIdOf(JID(WICCA))}'/>
            </message>""")
        self.assertFalse(stored.hasAttribute("to"))
        self.assertEqual([], list(stored.elements(NS_USER, "x")))
        self.assertEqual([], list(stored.elements(NS_SID, "stanza-id")))

    def test_whatIsNot(self):
        """
        Messages without a body (chat states), with a no-store hint,
        private messages and refused ones are not archived; a store hint
        archives a message without a body.
        """
        self.say(WICCA, None, "<active xmlns='http://jabber.org/protocol/chatstates'/>")
        self.say(WICCA, "secret", "<no-store xmlns='urn:xmpp:hints'/>")
        self.muc.send(
            f"<message from='{WICCA}' to='{ROOM}/thirdwitch' type='chat'><body>psst</body></message>"
        )
        self.muc.send(
            f"<message from='{HECATE}' to='{ROOM}' type='groupchat'><body>not in</body></message>"
        )
        self.assertEqual([], self.archived())
        self.say(WICCA, None, "<store xmlns='urn:xmpp:hints'/><x xmlns='urn:example'/>")
        self.assertEqual(1, len(self.archived()))

    def test_subjectChange(self):
        """
        A subject change is archived (section 7.1.2), under the stanza-id
        its broadcast now carries.
        """
        self.muc.send(
            f"<message from='{CRONE}' to='{ROOM}' type='groupchat'><subject>Fire Burn</subject></message>"
        )
        [live] = [s for s in self.muc.take(HAG) if s.name == "message"]
        [entry] = self.archived()
        self.assertEqual(self.stanzaIdOf(live), entry.id)
        self.assertEqual("Fire Burn", str(parseXml(entry.stanza).subject))

    def test_notArchivingRoom(self):
        """
        A room whose owner turned archiving off archives nothing; its
        stanza-ids stay.
        """
        self.configure({"muc#roomconfig_enablearchiving": "0"})
        live = self.say(WICCA)
        self.assertIsNotNone(self.stanzaIdOf(live))
        self.assertEqual([], self.archived())

    def test_archiveGoesWithRoom(self):
        """
        Destroying the room removes its archive (section 7.1.2: the
        room's); so does emptying a temporary room that archived.
        """
        self.say(WICCA)
        self.muc.send(
            f"<iq from='{CRONE}' id='d' to='{ROOM}' type='set'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"
        )
        self.assertEqual([], self.archived())
        self.muc.join(HECATE, "hecate", room="heath@chat.shakespeare.lit")
        self.muc.send(
            f"<iq from='{HECATE}' id='c' to='heath@chat.shakespeare.lit' type='set'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
            f"type='submit'><field var='{ENABLE}'><value>1</value></field></x></query></iq>"
        )
        self.muc.send(
            f"<message from='{HECATE}' to='heath@chat.shakespeare.lit' type='groupchat'>"
            "<body>When shall we three meet again</body></message>"
        )
        self.assertEqual(1, len(self.archived("heath@chat.shakespeare.lit")))
        self.muc.send(
            f"<presence from='{HECATE}' to='heath@chat.shakespeare.lit/hecate' type='unavailable'/>"
        )
        self.assertEqual([], self.archived("heath@chat.shakespeare.lit"))


class CountingArchiveStore(MemoryArchiveStore):
    """
    A memory archive store that counts removals of whole archives, and
    fails them while C{broken}.
    """

    def __init__(self):
        MemoryArchiveStore.__init__(self)
        self.removed = []
        self.broken = False

    def removeArchive(self, archive):
        self.removed.append(archive)
        if self.broken:
            return defer.fail(RuntimeError("disk"))
        return MemoryArchiveStore.removeArchive(self, archive)


class TemporaryRoomTests(ArchiveHarnessMixin, unittest.TestCase):
    """
    A temporary room emptied again and again removes its archive from the
    store once, until it archives something again (issue 16).
    """

    HEATH = "heath@chat.shakespeare.lit"

    def makeStore(self):
        return CountingArchiveStore()

    def visit(self, archive=False):
        """
        Hecate makes the temporary room heath, archiving if asked (one
        message), and leaves it, which empties it.
        """
        self.muc.join(HECATE, "hecate", room=self.HEATH)
        if archive:
            self.muc.send(
                f"<iq from='{HECATE}' id='c' to='{self.HEATH}' type='set'>"
                "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
                f"type='submit'><field var='{ENABLE}'><value>1</value></field></x></query></iq>"
            )
            self.muc.send(
                f"<message from='{HECATE}' to='{self.HEATH}' type='groupchat'>"
                "<body>When shall we three meet again</body></message>"
            )
            self.assertEqual(1, len(self.archived(self.HEATH)))
        self.muc.send(f"<presence from='{HECATE}' to='{self.HEATH}/hecate' type='unavailable'/>")
        self.assertIsNone(self.muc.rooms.get(JID(self.HEATH)))
        self.assertEqual([], self.archived(self.HEATH))

    def test_removedOnce(self):
        """
        The first emptying removes the archive (it may be an earlier
        run's); later ones remove nothing, until the room archived.
        """
        self.visit()
        self.visit()
        self.assertEqual([self.HEATH], self.store.removed)
        self.visit(archive=True)
        self.visit()
        self.assertEqual([self.HEATH] * 2, self.store.removed)

    def test_failedRemovalAgain(self):
        """
        A removal that failed is logged, and tried again next time.
        """
        self.store.broken = True
        self.visit()
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))
        self.store.broken = False
        self.visit()
        self.assertEqual([self.HEATH] * 2, self.store.removed)

    def test_reset(self):
        """
        The rooms' reset (test fixtures, which reset the store too)
        forgets what was removed.
        """
        self.visit()
        self.muc.rooms.reset()
        self.visit()
        self.assertEqual([self.HEATH] * 2, self.store.removed)


class OrderTests(ArchiveHarnessMixin, unittest.TestCase):
    """
    A message goes out once its archive entry is written; meanwhile the
    room's later stanzas wait behind it.
    """

    def makeStore(self):
        return SlowArchiveStore()

    def setUp(self):
        ArchiveHarnessMixin.setUp(self)
        # The configuration's statuses are not archived: nothing waits.
        self.assertEqual([], self.store.pending)

    def test_broadcastAfterWrite(self):
        """
        Nothing is broadcast before the entry is written; a presence and a
        message sent meanwhile follow, in order, each after its own write.
        """
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'><body>one</body></message>")
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'><body>two</body></message>")
        self.muc.send(f"<presence from='{WICCA}' to='{ROOM}/secondwitch' type='unavailable'/>")
        self.assertEqual([], self.muc.take(HAG))
        self.store.release()
        self.assertEqual(["one"], [str(s.body) for s in self.muc.take(HAG)])
        self.store.release()
        got = self.muc.take(HAG)
        self.assertEqual(
            [("message", "two"), ("presence", "unavailable")],
            [(s.name, str(s.body) if s.name == "message" else s["type"]) for s in got],
        )
        self.assertEqual(["one", "two"], [str(parseXml(m.stanza).body) for m in self.archived()])

    def test_joinDuringWrite(self):
        """
        A newcomer entering while a message waits gets it once, as
        history, not again live.
        """
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'><body>one</body></message>")
        self.muc.send(
            f"<presence from='{HECATE}' to='{ROOM}/hecate'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )
        self.assertEqual([], self.muc.take(HECATE))
        self.store.release()
        got = [s for s in self.muc.take(HECATE) if s.name == "message" and s.body]
        self.assertEqual(1, len(got))
        self.assertEqual(["urn:xmpp:delay"], [e.uri for e in got[0].elements() if e.name == "delay"])

    def test_otherRoomsGoOn(self):
        """
        Only the room waits.
        """
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'><body>one</body></message>")
        self.muc.join(HECATE, "hecate", room="heath@chat.shakespeare.lit")
        self.assertTrue(self.muc.rooms.get(JID("heath@chat.shakespeare.lit")).occupant("hecate"))
        self.store.release()


class QueryTests(ArchiveHarnessMixin, unittest.TestCase):
    """
    Queries at the room JID (XEP-0313 sections 4, 5 and 7.1.2).
    """

    def setUp(self):
        ArchiveHarnessMixin.setUp(self)
        self.lines = ["one", "two", "three"]
        self.live = [self.say(WICCA, line) for line in self.lines]

    def test_occupantQuery(self):
        """
        Results come from the room, forward the message from the
        occupant JID without 'to' under the UID it carried live, without
        real JIDs for a participant of a semi-anonymous room; the fin says
        the page is complete.
        """
        results, answer = self.query(HAG)
        assertStanza(self, answer, f"""
            <iq type='result' id='q1' from='{ROOM}' to='{HAG}'>
              <fin xmlns='{NS_MAM}' complete='true'/>
            </iq>""")
        self.assertEqual([self.stanzaIdOf(m) for m in self.live], [r.result["id"] for r in results])
        for result in results:
            self.assertEqual((ROOM, HAG, "qid"), (result["from"], result["to"], result.result["queryid"]))
            message = self.forwarded(result)
            self.assertEqual(f"{ROOM}/secondwitch", message["from"])
            self.assertFalse(message.hasAttribute("to"))
            self.assertEqual([], list(message.elements(NS_USER, "x")))
        self.assertEqual(self.lines, [str(self.forwarded(r).body) for r in results])

    def test_realJIDs(self):
        """
        A moderator of a semi-anonymous room gets real JIDs in muc#user
        items, and so does everyone once the room is non-anonymous.
        """
        results, _ = self.query(CRONE)
        for result in results:
            x = next(self.forwarded(result).elements(NS_USER, "x"))
            self.assertEqual(WICCA, x.item["jid"])
        self.configure({"muc#roomconfig_whois": "anyone"})
        results, _ = self.query(HECATE)
        self.assertEqual(WICCA, next(self.forwarded(results[0]).elements(NS_USER, "x")).item["jid"])

    def test_nonOccupantAndOutcast(self):
        """
        Someone not in an open room reads its archive; an outcast gets
        forbidden.
        """
        results, answer = self.query(HECATE)
        self.assertEqual(("result", 3), (answer["type"], len(results)))
        self.room.affiliations[JID(HECATE).userhostJID()] = Affiliation.OUTCAST
        results, answer = self.query(HECATE)
        self.assertEqual(([], "forbidden"), (results, condition(answer)))

    def test_membersOnly(self):
        """
        A members-only room's archive is for its members, present or not.
        """
        self.room.affiliations[JID(WICCA).userhostJID()] = Affiliation.MEMBER
        self.room.affiliations[JID(HAG).userhostJID()] = Affiliation.MEMBER
        self.configure({"muc#roomconfig_membersonly": "1"})
        self.assertEqual("forbidden", condition(self.query(HECATE)[1]))
        self.room.affiliations[JID(HECATE).userhostJID()] = Affiliation.MEMBER
        results, answer = self.query(HECATE)
        self.assertEqual(("result", 3), (answer["type"], len(results)))

    def test_notArchiving(self):
        """
        A room that keeps no archive answers service-unavailable; the
        query form it answers all the same (section 4.1.4).
        """
        self.configure({ENABLE: "0"})
        self.assertEqual("service-unavailable", condition(self.query(HAG)[1]))
        _, form = self.query(HAG, kind="get")
        self.assertEqual("result", form["type"])
        self.assertEqual(NS_MAM, form.query.x.field.value.__str__())

    def test_withFilter(self):
        """
        Filtering by sender (section 4.1.1) is for those who see real
        JIDs: a participant gets forbidden; a moderator gets the messages
        of that sender.
        """
        field = (
            "<x xmlns='jabber:x:data' type='submit'>"
            f"<field var='FORM_TYPE'><value>{NS_MAM}</value></field>"
            "<field var='with'><value>{}</value></field></x>"
        )
        self.assertEqual("forbidden", condition(self.query(HAG, field.format(JID(WICCA).userhost()))[1]))
        self.say(HAG, "four")
        results, _ = self.query(CRONE, field.format(JID(HAG).userhost()))
        self.assertEqual(["four"], [str(self.forwarded(r).body) for r in results])

    def test_pagingAndErrors(self):
        """
        RSM paging and an unknown UID (section 4.3.2: item-not-found) as
        the shared query module gives them.
        """
        results, answer = self.query(HAG, "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set>")
        self.assertEqual(["one", "two"], [str(self.forwarded(r).body) for r in results])
        self.assertFalse(answer.fin.hasAttribute("complete"))
        _, answer = self.query(
            HAG, "<set xmlns='http://jabber.org/protocol/rsm'><after>nonesuch</after></set>"
        )
        self.assertEqual("item-not-found", condition(answer))

    def test_metadata(self):
        """
        Section 5: the first and last message of the room's archive; an IQ
        set of metadata is a bad request.
        """
        _, answer = self.query(HAG, kind="get", name="metadata")
        self.assertEqual(self.stanzaIdOf(self.live[0]), answer.metadata.start["id"])
        self.assertEqual(self.stanzaIdOf(self.live[-1]), answer.metadata.end["id"])
        self.assertEqual("bad-request", condition(self.query(HAG, name="metadata")[1]))


class ModerationTests(ArchiveHarnessMixin, unittest.TestCase):
    """
    XEP-0425: a moderator retracts an occupant's message.
    """

    def setUp(self):
        ArchiveHarnessMixin.setUp(self)
        self.live = self.say(HAG, "DM me for free magic potions!")
        self.target = self.stanzaIdOf(self.live)

    def test_retract(self):
        """
        Section 3.1: every occupant gets the moderation message from the
        room, naming the message, the moderator's occupant JID and
        occupant-id and the reason, in both versions' forms, with its own
        stanza-id; the result comes last. Section 4: the archive keeps a
        tombstone under the same UID, time and real JID; the moderation
        message is archived too (XEP-0424 section 5).
        """
        [before] = self.archived()
        self.muc.clock.advance(60)
        received = self.moderate(CRONE, self.target)
        assertStanza(self, received[-1], f"<iq type='result' id='mod1' to='{CRONE}' from='{ROOM}'/>")
        notices = received[:-1]
        self.assertEqual(
            sorted([CRONE, WICCA, HAG]), sorted(s["to"] for s in notices)
        )
        crone = self.room.occupantIdOf(JID(CRONE))
        notice = notices[0]
        assertStanza(self, notice, f"""
            <message from='{ROOM}' type='groupchat'>
              <retract xmlns='{NS_RETRACT}' id='{self.target}'>
                <moderated xmlns='{NS_MODERATE}' by='{ROOM}/firstwitch'>
                  <occupant-id xmlns='{NS_OCCUPANT}' id='{crone}'/>
                </moderated>
                <reason>Spam</reason>
              </retract>
              <apply-to xmlns='urn:xmpp:fasten:0' id='{self.target}'>
                <moderated xmlns='urn:xmpp:message-moderate:0' by='{ROOM}/firstwitch'>
                  <retract xmlns='urn:xmpp:message-retract:0'/>
                  <reason>Spam</reason>
                </moderated>
              </apply-to>
            </message>""")
        self.assertEqual([], bodies(notice))
        stone, archivedNotice = self.archived()
        self.assertEqual(
            (before.id, before.timestamp, before.with_), (stone.id, stone.timestamp, stone.with_)
        )
        tombstone = parseXml(stone.stanza)
        assertStanza(self, tombstone, f"""
            <message from='{ROOM}/thirdwitch' type='groupchat' id='{self.live["id"]}'>
              <occupant-id xmlns='{NS_OCCUPANT}' id='{self.room.occupantIdOf(JID(HAG))}'/>
              <retracted xmlns='{NS_RETRACT}' id='{notice["id"]}' stamp='2001-09-09T01:47:40Z'>
                <moderated xmlns='{NS_MODERATE}' by='{ROOM}/firstwitch'>
                  <occupant-id xmlns='{NS_OCCUPANT}' id='{crone}'/>
                </moderated>
                <reason>Spam</reason>
              </retracted>
            </message>""")
        self.assertEqual([], bodies(tombstone))
        self.assertEqual(self.stanzaIdOf(notice), archivedNotice.id)
        self.assertEqual("", archivedNotice.with_)

    def test_lateJoinerSeesTombstone(self):
        """
        A newcomer gets the message neither as history nor, but for its
        tombstone, from the archive.
        """
        self.moderate(CRONE, self.target)
        self.muc.send(
            f"<presence from='{HECATE}' to='{ROOM}/hecate'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )
        self.assertEqual(
            [], [s for s in self.muc.take(HECATE) if s.name == "message" and s.body]
        )
        results, _ = self.query(HECATE)
        first = self.forwarded(results[0])
        self.assertEqual([], bodies(first))
        self.assertEqual(1, len(list(first.elements(NS_RETRACT, "retracted"))))
        self.assertEqual(
            self.target, next(self.forwarded(results[1]).elements(NS_RETRACT, "retract"))["id"]
        )

    def test_notModerator(self):
        """
        Section 3.2: a participant gets forbidden; nothing changes and
        nothing is broadcast.
        """
        [reply] = self.moderate(WICCA, self.target)
        self.assertEqual(("error", "forbidden"), (reply["type"], condition(reply)))
        [entry] = self.archived()
        self.assertEqual("DM me for free magic potions!", str(parseXml(entry.stanza).body))

    def test_unknownAndMalformed(self):
        """
        An id the room does not hold is item-not-found; no id is a bad
        request; another action than retraction is not implemented.
        """
        [reply] = self.moderate(CRONE, "nonesuch")
        self.assertEqual("item-not-found", condition(reply))
        self.muc.send(
            f"<iq from='{CRONE}' id='m2' to='{ROOM}' type='set'>"
            f"<moderate xmlns='{NS_MODERATE}'><retract xmlns='{NS_RETRACT}'/></moderate></iq>"
        )
        self.assertEqual("bad-request", condition(self.muc.take(CRONE)[0]))
        self.muc.send(
            f"<iq from='{CRONE}' id='m3' to='{ROOM}' type='set'>"
            f"<moderate xmlns='{NS_MODERATE}' id='{self.target}'/></iq>"
        )
        self.assertEqual("feature-not-implemented", condition(self.muc.take(CRONE)[0]))
        self.assertEqual(1, len(self.archived()))

    def test_legacyRequest(self):
        """
        XEP-0425 version 0.2's request, as Prosody's mod_muc_moderation of
        2023 takes it, retracts too.
        """
        self.muc.send(
            f"<iq from='{CRONE}' id='m0' to='{ROOM}' type='set'>"
            f"<apply-to xmlns='urn:xmpp:fasten:0' id='{self.target}'>"
            "<moderate xmlns='urn:xmpp:message-moderate:0'>"
            "<retract xmlns='urn:xmpp:message-retract:0'/><reason>old</reason>"
            "</moderate></apply-to></iq>"
        )
        self.assertEqual("result", self.muc.take(CRONE)[-1]["type"])
        stone = parseXml(self.archived()[0].stanza)
        self.assertEqual("old", str(next(stone.elements(NS_RETRACT, "retracted")).reason))

    def test_withoutArchive(self):
        """
        A room that keeps no archive moderates what its history holds,
        which newcomers then no longer get.
        """
        self.configure({ENABLE: "0"})
        live = self.say(HAG, "more potions")
        received = self.moderate(CRONE, self.stanzaIdOf(live))
        self.assertEqual("result", received[-1]["type"])
        self.assertEqual(1, len(self.archived()))
        self.assertEqual(
            ["DM me for free magic potions!"], [str(e.payload.body) for e in self.room.history]
        )

    def test_disco(self):
        """
        Section 2: every room lists both versions' features.
        """
        self.muc.send(
            f"<iq from='{HAG}' id='d' to='{ROOM}' type='get'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        [reply] = self.muc.take(HAG)
        features = {f["var"] for f in reply.query.elements() if f.name == "feature"}
        self.assertTrue({NS_MODERATE, "urn:xmpp:message-moderate:0", NS_MAM} <= features)


class ServerTests(unittest.TestCase):
    """
    The room archives as L{mepserver.server.buildServer} wires them, in
    the in-memory tier (L{tests.memory}).
    """

    def setUp(self):
        self.memory = MemoryServer(self)
        self.server = self.memory.server
        self.memory.createAccount("alice")
        self.alice = self.memory.connect("alice", "desk")
        room = "tea@conference.localhost"
        self.alice.send(
            f"<presence to='{room}/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        )
        self.alice.send(
            f"<iq type='set' id='c' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'>"
            f"<x xmlns='jabber:x:data' type='submit'><field var='{PERSISTENT}'><value>1</value>"
            "</field></x></query></iq>"
        )
        self.alice.take()
        self.room = room

    def test_expiryArmed(self):
        """
        Archiving a room's message runs the expiry timer of every archive
        (the [archive] retention), as an account's message does.
        """
        self.assertIsNone(self.server.archives._expiry)
        self.alice.send(
            f"<message to='{self.room}' type='groupchat'><body>hello</body></message>"
        )
        self.assertIsNotNone(self.server.archives._expiry)
        self.assertEqual(self.server.archiveStore, self.server.roomArchives.store)

    def test_shutdownLetsWaitingMessagesOut(self):
        """
        A message waiting for its archive entry when the server stops goes
        out before the occupants are told the service shuts down (332).
        """
        store = self.server.roomArchives.store = SlowArchiveStore()
        self.alice.send(
            f"<message to='{self.room}' type='groupchat'><body>last orders</body></message>"
        )
        self.assertEqual([], self.alice.take())
        stopped = self.server.stopService()
        self.memory.flush()
        self.assertNoResult(stopped)
        store.release()
        self.memory.flush()
        self.successResultOf(stopped)
        received = [s for s in self.alice.take() if s.name in ("message", "presence")]
        self.assertEqual("last orders", str(received[0].body))
        self.assertEqual("unavailable", received[1]["type"])
