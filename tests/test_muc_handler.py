# -*- test-case-name: tests.test_muc_handler -*-
"""
Protocol tests for L{mepserver.muc.handler} and L{mepserver.muc.stanzas}:
stanzas shaped like XEP-0045's examples go through a router to the MUC
component, and what reaches users is recorded.
"""

from twisted.internet import task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from wokkel import component, generic
from zope.interface import Invalid

from mepserver import config as configModule
from mepserver import errors
from mepserver.ids import SeededIdSource
from mepserver.muc import stanzas
from mepserver.muc.archive import RoomArchives
from mepserver.muc.handler import MUCDiscoHandler, MUCHandler
from mepserver.muc.registry import Rooms
from mepserver.muc.roles import Affiliation, Role
from mepserver.router import Router
from mepserver.c2s.disco import ServerInfoHandler
from mepserver.storage.memory import MemoryRoomStore
from tests.helpers import assertStanza, parseXml

SERVICE = "chat.shakespeare.lit"
ROOM = "coven@chat.shakespeare.lit"
CRONE = "crone1@shakespeare.lit/desktop"
WICCA = "wiccarocks@shakespeare.lit/laptop"
HAG = "hag66@shakespeare.lit/pda"
HAG2 = "hag66@shakespeare.lit/laptop"
HECATE = "hecate@shakespeare.lit/broom"

NS_USER = "http://jabber.org/protocol/muc#user"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def statuses(stanza):
    """
    @return: the set of MUC status codes of a stanza.
    """
    return {
        int(s["code"])
        for x in stanza.elements(NS_USER, "x")
        for s in x.elements(NS_USER, "status")
    }


def item(stanza):
    """
    @return: the attributes of the muc#user item of a stanza.
    """
    for x in stanza.elements(NS_USER, "x"):
        for element in x.elements(NS_USER, "item"):
            return dict(element.attributes)
    return None


def condition(stanza):
    """
    @return: the error condition of an error stanza.
    """
    error = stanzas.child(stanza, "jabber:client", "error")
    return next(c.name for c in error.elements(NS_STANZAS) if c.name != "text")


class MUCHarness:
    """
    A router with the MUC component, and a client domain that records what
    reaches users. Stanzas to JIDs in C{gone} bounce as this server's
    delivery bounces them (groupchat to a vanished resource).

    @ivar archives: the rooms' L{RoomArchives}, or L{None}.

    @ivar received: copies of the stanzas delivered to users, in order.
    @ivar raw: the delivered elements themselves.
    """

    def __init__(self, testCase, archiveStore=None, **settings):
        """
        @param archiveStore: an L{mepserver.interfaces.IArchiveStore} for
            rooms' archives (L{RoomArchives}, as C{archives}); none if
            L{None}.
        """
        settings.setdefault("mucDomain", SERVICE)
        settings.setdefault("domain", "shakespeare.lit")
        self.config = configModule.Config(**settings)
        self.clock = task.Clock()
        self.clock.advance(1000000000)
        self.store = MemoryRoomStore()
        self.rooms = Rooms(self.config, SeededIdSource(), self.clock, self.store)
        self.archives = None
        if archiveStore is not None:
            self.archives = RoomArchives(archiveStore, self.clock, limit=1000)
            self.rooms.addObserver(self.archives)
        self.router = Router()
        self.component = component.InternalComponent(self.router, SERVICE)
        self.handler = MUCHandler(self.rooms, archives=self.archives)
        self.handler.setHandlerParent(self.component)
        MUCDiscoHandler().setHandlerParent(self.component)
        generic.FallbackHandler().setHandlerParent(self.component)
        self.component.startService()
        testCase.addCleanup(self.component.stopService)
        pipe = generic.XmlPipe()
        self.router.addRoute("shakespeare.lit", pipe.sink)
        self.client = pipe.source
        self.client.addObserver("/*", self._delivered)
        self.received = []
        self.raw = []
        self.gone = set()

    def _delivered(self, element):
        self.raw.append(element)
        self.received.append(parseXml(element.toXml(), "jabber:client"))
        to = element.getAttribute("to")
        if (
            to in self.gone
            and element.name == "message"
            and element.getAttribute("type") != "error"
        ):
            self.client.send(stanzas.errorReply(element, errors.ServiceUnavailable()))

    def send(self, xml):
        """
        A user sends a stanza (with its 'from' stamped, as sessions do).
        """
        self.router.route(parseXml(xml, "jabber:client"))

    def take(self, recipient=None):
        """
        @return: what was delivered since the last call, forgetting it; or
            only what was delivered to C{recipient}, forgetting only that.
        """
        if recipient is None:
            received, self.received, self.raw = self.received, [], []
            return received
        taken = [s for s in self.received if s.getAttribute("to") == recipient]
        self.received = [s for s in self.received if s.getAttribute("to") != recipient]
        return taken

    def join(self, full, nick, x="<x xmlns='http://jabber.org/protocol/muc'/>", room=ROOM):
        """
        Send a join presence and return what C{full} received.
        """
        self.send(f"<presence from='{full}' to='{room}/{nick}'>{x}</presence>")
        return self.take(full)

    def instant(self, owner=CRONE, room=ROOM):
        """
        Section 10.1.2: the owner accepts the default configuration.
        """
        self.send(
            f"<iq from='{owner}' id='create1' to='{room}' type='set'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'>"
            "<x xmlns='jabber:x:data' type='submit'/></query></iq>"
        )
        return self.take(owner)

    def coven(self):
        """
        The room of XEP-0045's examples: crone1 (owner) created it as an
        instant room; wiccarocks is in it too.
        """
        self.join(CRONE, "firstwitch")
        self.instant()
        self.join(WICCA, "secondwitch")
        self.take()
        return self.rooms.get(JID(ROOM))


class HarnessMixin:
    def setUp(self):
        self.muc = MUCHarness(self)

    def assertStanzas(self, actual, expected):
        self.assertEqual(len(expected), len(actual), [s.toXml() for s in actual])
        for stanza, literal in zip(actual, expected):
            assertStanza(self, stanza, literal)

    def effects(self, received, iqId):
        """
        Check that the last stanza delivered is the result of the IQ
        C{iqId}, and that no other result was: a request's effects all go
        out before its result (L{MUCHandler.announceChange}).

        @return: the stanzas delivered before the result.
        """
        self.assertTrue(received, "nothing was delivered")
        assertStanza(self, received[-1], f"<iq from='{ROOM}' id='{iqId}' type='result'/>")
        self.assertEqual(
            [], [s.toXml() for s in received[:-1] if s.name == "iq"],
            "only one IQ, the result, and last",
        )
        return received[:-1]


class DiscoveryTests(HarnessMixin, unittest.TestCase):
    """
    XEP-0045 section 6.
    """

    def query(self, to, kind="info", node=None, sender=HAG):
        nodeAttribute = f" node='{node}'" if node else ""
        self.muc.send(
            f"<iq from='{sender}' id='d1' to='{to}' type='get'>"
            f"<query xmlns='http://jabber.org/protocol/disco#{kind}'{nodeAttribute}/></iq>"
        )
        [reply] = self.muc.take(sender)
        return reply

    def test_serviceInfo(self):
        """
        Section 6.2, examples 3 and 4: the service's identity and features.
        """
        reply = self.query(SERVICE)
        assertStanza(self, reply, """
            <iq from='chat.shakespeare.lit' id='d1' to='hag66@shakespeare.lit/pda' type='result'>
              <query xmlns='http://jabber.org/protocol/disco#info'>
                <identity category='conference' type='text'/>
                <feature var='http://jabber.org/protocol/muc'/>
                <feature var='http://jabber.org/protocol/muc#stable_id'/>
                <feature var='urn:xmpp:occupant-id:0'/>
              </query>
            </iq>""")

    def test_serverListsService(self):
        """
        Section 6.1, examples 1 and 2: the server's disco#items lists the service.
        """
        d = ServerInfoHandler(self.muc.config).getDiscoItems(
            JID(HAG), JID("shakespeare.lit"))
        entry = self.successResultOf(d)[0]
        self.assertEqual(JID(SERVICE), entry.entity)

    def test_rooms(self):
        """
        Section 6.3, examples 5 and 6: public rooms with their names; hidden and
        locked rooms are not listed.
        """
        self.muc.coven()
        self.muc.send(
            f"<iq from='{CRONE}' id='c2' to='{ROOM}' type='set'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'>"
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='muc#roomconfig_roomname'><value>A Dark Cave</value></field>"
            "</x></query></iq>")
        self.muc.join(CRONE, "h", room="heath@chat.shakespeare.lit")
        self.muc.instant(room="heath@chat.shakespeare.lit")
        self.muc.rooms.get(JID("heath@chat.shakespeare.lit")).config.public = False
        self.muc.join(CRONE, "l", room="locked@chat.shakespeare.lit")
        reply = self.query(SERVICE, "items")
        items = [(i["jid"], i.getAttribute("name")) for i in reply.query.elements()]
        self.assertEqual([(ROOM, "A Dark Cave")], items)

    def test_roomInfo(self):
        """
        Section 6.4, examples 9 and 10: the room's identity, features
        matching its configuration and the muc#roominfo form.
        """
        self.muc.coven()
        reply = self.query(ROOM)
        assertStanza(self, reply, """
            <iq from='coven@chat.shakespeare.lit' type='result'>
              <query xmlns='http://jabber.org/protocol/disco#info'>
                <identity category='conference' name='coven' type='text'/>
                <feature var='http://jabber.org/protocol/muc'/>
                <feature var='http://jabber.org/protocol/muc#stable_id'/>
                <feature var='http://jabber.org/protocol/muc#self-ping-optimization'/>
                <feature var='urn:xmpp:occupant-id:0'/>
                <feature var='urn:xmpp:sid:0'/>
                <feature var='muc_unsecured'/>
                <feature var='muc_public'/>
                <feature var='muc_temporary'/>
                <feature var='muc_open'/>
                <feature var='muc_unmoderated'/>
                <feature var='muc_semianonymous'/>
                <x xmlns='jabber:x:data' type='result'>
                  <field var='FORM_TYPE' type='hidden'>
                    <value>http://jabber.org/protocol/muc#roominfo</value>
                  </field>
                  <field var='muc#roominfo_occupants'><value>2</value></field>
                </x>
              </query>
            </iq>""")
        features = {f["var"] for f in reply.query.elements(None, "feature")}
        self.assertNotIn("muc_hidden", features)

    def test_absentRoom(self):
        """
        Disco to a room that does not exist, or is locked (to a non-owner),
        gets item-not-found.
        """
        self.assertEqual("item-not-found", condition(self.query(ROOM)))
        self.muc.join(CRONE, "firstwitch")
        self.assertEqual("item-not-found", condition(self.query(ROOM)))
        self.assertEqual("result", self.query(ROOM, sender=CRONE)["type"])

    def test_trafficNode(self):
        """
        Section 18.1.1: a room that discards no namespace answers the
        #traffic node with service-unavailable.
        """
        self.muc.coven()
        reply = self.query(ROOM, node="http://jabber.org/protocol/muc#traffic")
        self.assertEqual("service-unavailable", condition(reply))

    def test_occupantNonOccupant(self):
        """
        Section 6.6: a non-occupant's disco to an occupant JID gets
        bad-request.
        """
        self.muc.coven()
        reply = self.query(ROOM + "/secondwitch")
        self.assertEqual("bad-request", condition(reply))

    def test_occupantForwarded(self):
        """
        Section 6.6 and DESIGN.md section 5: an occupant's disco to another
        occupant goes to that occupant's real JID, and the answer back.
        """
        self.muc.coven()
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()
        self.muc.send(
            f"<iq from='{HAG}' id='d1' to='{ROOM}/secondwitch' type='get'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        [forwarded] = self.muc.take(WICCA)
        assertStanza(self, forwarded, f"""
            <iq from='{ROOM}/thirdwitch' to='{WICCA}' type='get'>
              <query xmlns='http://jabber.org/protocol/disco#info'/>
            </iq>""")
        self.assertNotEqual("d1", forwarded["id"])
        self.muc.send(
            f"<iq from='{WICCA}' id='{forwarded['id']}' to='{ROOM}/thirdwitch' type='result'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='x'/></query></iq>")
        [answer] = self.muc.take()
        assertStanza(self, answer, f"""
            <iq from='{ROOM}/secondwitch' id='d1' to='{HAG}' type='result'>
              <query xmlns='http://jabber.org/protocol/disco#info'><feature var='x'/></query>
            </iq>""")


class CreationTests(HarnessMixin, unittest.TestCase):
    """
    XEP-0045 section 10.1.
    """

    def test_created(self):
        """
        Section 10.1.1, example 154: the creator is the owner, told with 110
        and 201; the subject follows, empty.
        """
        received = self.muc.join(CRONE, "firstwitch")
        self.assertStanzas(received, [
            f"""<presence from='{ROOM}/firstwitch' to='{CRONE}'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='owner' role='moderator'/>
                    <status code='110'/><status code='201'/>
                  </x>
                </presence>""",
            f"<message from='{ROOM}' to='{CRONE}' type='groupchat'><subject/></message>",
        ])
        self.assertEqual({110, 201}, statuses(received[0]))
        self.assertEqual("", str(received[1].subject))

    def test_lockedUntilConfigured(self):
        """
        Sections 7.2.10 and 10.1.2 (examples 31 and 155): others get item-not-found until the
        owner asks for an instant room; then they enter.
        """
        self.muc.join(CRONE, "firstwitch")
        [refusal] = self.muc.join(HAG, "thirdwitch")
        assertStanza(self, refusal, f"""
            <presence from='{ROOM}/thirdwitch' to='{HAG}' type='error'>
              <x xmlns='http://jabber.org/protocol/muc'/>
              <error by='{ROOM}' type='cancel' code='404'>
                <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              </error>
            </presence>""")
        assertStanza(self, self.muc.instant()[0], f"<iq from='{ROOM}' id='create1' type='result'/>")
        self.assertEqual(110, max(statuses(self.muc.join(HAG, "thirdwitch")[-2])))

    def test_createUnlocked(self):
        """
        With [muc] create_unlocked, a new room is open at once.
        """
        self.muc = MUCHarness(self, mucCreateUnlocked=True)
        self.muc.join(CRONE, "firstwitch")
        self.assertIn(110, statuses(self.muc.join(HAG, "thirdwitch")[-2]))

    def test_roomQuota(self):
        """
        Past C{[muc] max_rooms_per_account}, a join that would create a
        room gets an error presence with C{resource-constraint} naming the
        setting, and no room; joining an existing room still works, and
        so does another account's creation.
        """
        self.muc = MUCHarness(self, mucCreateUnlocked=True, mucMaxRoomsPerAccount=2)
        for name in ("one", "two"):
            self.muc.join(CRONE, "firstwitch", room=f"{name}@{SERVICE}")
        [refusal] = self.muc.join(CRONE, "firstwitch", room=f"three@{SERVICE}")
        assertStanza(self, refusal, f"""
            <presence from='three@{SERVICE}/firstwitch' to='{CRONE}' type='error'>
              <error type='wait'>
                <resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              </error>
            </presence>""")
        self.assertIn("[muc] max_rooms_per_account = 2", str(refusal.error.text))
        self.assertIsNone(self.muc.rooms.get(JID(f"three@{SERVICE}")))
        self.assertIn(110, statuses(self.muc.join(HAG, "thirdwitch", room=f"one@{SERVICE}")[-2]))
        self.assertIn(201, statuses(self.muc.join(HAG, "thirdwitch", room=f"three@{SERVICE}")[0]))

    def test_creatorLeaves(self):
        """
        Section 10.1.3: a locked room whose owner leaves is gone.
        """
        self.muc.join(CRONE, "firstwitch")
        self.muc.send(f"<presence from='{CRONE}' to='{ROOM}/firstwitch' type='unavailable'/>")
        self.assertIsNone(self.muc.rooms.get(JID(ROOM)))

    def test_configurationForm(self):
        """
        Section 10.1.3, examples 156 and 157 (and 10.2, example 164): the owner gets the form with
        the standard fields; others get forbidden.
        """
        self.muc.join(CRONE, "firstwitch")
        self.muc.send(
            f"<iq from='{CRONE}' id='create1' to='{ROOM}' type='get'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
        [reply] = self.muc.take()
        assertStanza(self, reply, """
            <iq type='result' id='create1'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <x xmlns='jabber:x:data' type='form'>
                  <field type='hidden' var='FORM_TYPE'>
                    <value>http://jabber.org/protocol/muc#roomconfig</value>
                  </field>
                  <field type='text-single' var='muc#roomconfig_roomname'/>
                  <field type='boolean' var='muc#roomconfig_persistentroom'><value>false</value></field>
                  <field type='boolean' var='muc#roomconfig_publicroom'><value>true</value></field>
                  <field type='list-single' var='muc#roomconfig_whois'>
                    <value>moderators</value>
                    <option label='Anyone'><value>anyone</value></option>
                  </field>
                  <field type='text-private' var='muc#roomconfig_roomsecret'/>
                  <field type='text-single' var='muc#maxhistoryfetch'><value>20</value></field>
                </x>
              </query>
            </iq>""")
        vars_ = {f.getAttribute("var") for f in reply.query.x.elements("jabber:x:data", "field")}
        for name in ("roomdesc", "membersonly", "moderatedroom", "passwordprotectedroom",
                     "maxusers", "changesubject", "allowinvites", "allowpm",
                     "getmemberlist"):
            self.assertIn("muc#roomconfig_" + name, vars_)
        self.muc.send(
            f"<iq from='{WICCA}' id='c2' to='{ROOM}' type='get'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
        self.assertEqual("item-not-found", condition(self.muc.take()[0]))
        self.muc.instant()
        self.muc.send(
            f"<iq from='{WICCA}' id='c3' to='{ROOM}' type='get'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
        self.assertEqual("forbidden", condition(self.muc.take()[0]))

    def test_reservedRoom(self):
        """
        Section 10.1.3, examples 159 and 160: the submitted form configures and
        unlocks the room; a password-protected room needs its password.
        """
        self.muc.join(CRONE, "firstwitch")
        self.muc.send(f"""
            <iq from='{CRONE}' id='create2' to='{ROOM}' type='set'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <x xmlns='jabber:x:data' type='submit'>
                  <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
                  <field var='muc#roomconfig_roomname'><value>A Dark Cave</value></field>
                  <field var='muc#roomconfig_publicroom'><value>0</value></field>
                  <field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field>
                  <field var='muc#roomconfig_roomsecret'><value>cauldronburn</value></field>
                  <field var='muc#roomconfig_whois'><value>moderators</value></field>
                </x>
              </query>
            </iq>""")
        received = self.effects(self.muc.take(CRONE), "create2")
        self.assertEqual({104}, statuses(received[0]))
        [refusal] = self.muc.join(HAG, "thirdwitch")
        self.assertEqual("not-authorized", condition(refusal))
        joined = self.muc.join(
            HAG, "thirdwitch",
            "<x xmlns='http://jabber.org/protocol/muc'><password>cauldronburn</password></x>")
        self.assertIn(110, statuses(joined[-2]))

    def test_unacceptable(self):
        """
        Section 10.1.3, example 161: a password-protected room without a
        password is not acceptable; the room stays locked.
        """
        self.muc.join(CRONE, "firstwitch")
        self.muc.send(f"""
            <iq from='{CRONE}' id='create2' to='{ROOM}' type='set'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <x xmlns='jabber:x:data' type='submit'>
                  <field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field>
                </x>
              </query>
            </iq>""")
        [reply] = self.muc.take()
        self.assertEqual(("error", "not-acceptable"), (reply["type"], condition(reply)))
        self.assertTrue(self.muc.rooms.get(JID(ROOM)).locked)

    def test_cancel(self):
        """
        Section 10.1.3, example 162: cancelling the initial configuration
        destroys the room; the owner gets unavailable presence.
        """
        self.muc.join(CRONE, "firstwitch")
        self.muc.send(
            f"<iq from='{CRONE}' id='create2' to='{ROOM}' type='set'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'>"
            "<x xmlns='jabber:x:data' type='cancel'/></query></iq>")
        [received] = self.effects(self.muc.take(CRONE), "create2")
        assertStanza(self, received, f"""
            <presence from='{ROOM}/firstwitch' type='unavailable'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='none'/>
                <destroy/>
              </x>
            </presence>""")
        self.assertIsNone(self.muc.rooms.get(JID(ROOM)))

    def test_destroy(self):
        """
        Section 10.9, examples 201-203: each occupant gets one unavailable
        presence with the reason and venue; a persistent room leaves the
        store.
        """
        room = self.muc.coven()
        room.config.persistent = True
        self.muc.rooms.save(room)
        self.muc.send(f"""
            <iq from='{CRONE}' id='begone' to='{ROOM}' type='set'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <destroy jid='heath@chat.shakespeare.lit'><reason>Macbeth doth come.</reason></destroy>
              </query>
            </iq>""")
        received = self.muc.take()
        self.assertStanzas(received, [
            f"""<presence from='{ROOM}/firstwitch' to='{CRONE}' type='unavailable'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='none' role='none'/>
                    <destroy jid='heath@chat.shakespeare.lit'><reason>Macbeth doth come.</reason></destroy>
                  </x>
                </presence>""",
            f"""<presence from='{ROOM}/secondwitch' to='{WICCA}' type='unavailable'>
                  <x xmlns='http://jabber.org/protocol/muc#user'><destroy/></x>
                </presence>""",
            f"<iq from='{ROOM}' id='begone' to='{CRONE}' type='result'/>",
        ])
        self.assertIsNone(self.muc.rooms.get(JID(ROOM)))
        self.assertEqual([], self.successResultOf(self.muc.store.loadRooms()))

    def test_persistentStored(self):
        """
        A room configured persistent is written to the store and survives
        its last occupant.
        """
        self.muc.coven()
        self.muc.send(f"""
            <iq from='{CRONE}' id='c' to='{ROOM}' type='set'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <x xmlns='jabber:x:data' type='submit'>
                  <field var='muc#roomconfig_persistentroom'><value>1</value></field>
                </x>
              </query>
            </iq>""")
        [stored] = self.successResultOf(self.muc.store.loadRooms())
        self.assertEqual(JID(ROOM), stored.jid)
        self.assertEqual("owner", stored.affiliations[JID("crone1@shakespeare.lit")])
        for full, nick in ((CRONE, "firstwitch"), (WICCA, "secondwitch")):
            self.muc.send(f"<presence from='{full}' to='{ROOM}/{nick}' type='unavailable'/>")
        self.assertTrue(self.muc.rooms.get(JID(ROOM)).empty)


class EnterTests(HarnessMixin, unittest.TestCase):
    """
    XEP-0045 section 7.2.
    """

    def test_order(self):
        """
        Sections 7.1 and 7.2.2 (examples 20-22): the other occupants'
        presence, the self-presence with 110, the history, the subject; the
        others get the newcomer's presence.
        """
        self.muc.coven()
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat' id='m1'>"
                      "<body>Thrice the brinded cat hath mew'd.</body></message>")
        self.muc.take()
        received = self.muc.join(HAG, "thirdwitch")
        self.assertStanzas(received, [
            f"""<presence from='{ROOM}/firstwitch' to='{HAG}'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='owner' role='moderator'/></x>
                  <occupant-id xmlns='urn:xmpp:occupant-id:0'/>
                </presence>""",
            f"""<presence from='{ROOM}/secondwitch' to='{HAG}'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='none' role='participant'/></x>
                </presence>""",
            f"""<presence from='{ROOM}/thirdwitch' to='{HAG}'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='none' jid='{HAG}' role='participant'/>
                    <status code='110'/></x>
                  <occupant-id xmlns='urn:xmpp:occupant-id:0'/>
                </presence>""",
            f"""<message from='{ROOM}/secondwitch' to='{HAG}' type='groupchat' id='m1'>
                  <body>Thrice the brinded cat hath mew'd.</body>
                  <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2001-09-09T01:46:40Z'/>
                  <stanza-id xmlns='urn:xmpp:sid:0' by='{ROOM}'/>
                </message>""",
            f"<message from='{ROOM}' to='{HAG}' type='groupchat'><subject/></message>",
        ])
        # Semi-anonymous: the newcomer (not a moderator) sees no real JIDs.
        self.assertNotIn("jid", item(received[0]))
        self.assertEqual({110}, statuses(received[2]))
        others = self.muc.take()
        self.assertEqual({CRONE, WICCA}, {p["to"] for p in others})
        byRecipient = {p["to"]: item(p) for p in others}
        self.assertEqual(HAG, byRecipient[CRONE]["jid"])
        self.assertNotIn("jid", byRecipient[WICCA])

    def test_nonAnonymous(self):
        """
        Section 7.2.3, examples 23 and 24: everyone sees the full JID; the
        newcomer is warned with 100.
        """
        self.muc.coven().config.whois = "anyone"
        received = self.muc.join(HAG, "thirdwitch")
        self.assertEqual(WICCA, item(received[1])["jid"])
        self.assertEqual({100, 110}, statuses(received[2]))
        self.assertEqual([HAG, HAG], [item(p)["jid"] for p in self.muc.take()])

    def test_presenceKept(self):
        """
        Section 17.3 rules 6 and 7: the newcomer's show and status pass
        through; a client's own muc#user element and occupant-id do not.
        """
        self.muc.coven()
        self.muc.join(HAG, "thirdwitch",
                      "<x xmlns='http://jabber.org/protocol/muc'/><show>away</show>"
                      "<x xmlns='http://jabber.org/protocol/muc#user'><status code='201'/></x>"
                      "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>")
        [toCrone] = self.muc.take(CRONE)
        self.assertEqual("away", str(toCrone.show))
        self.assertEqual(1, len(list(toCrone.elements(NS_USER, "x"))))
        self.assertEqual(set(), statuses(toCrone))
        [occupantId] = toCrone.elements("urn:xmpp:occupant-id:0", "occupant-id")
        self.assertNotEqual("forged", occupantId["id"])
        self.assertIsNone(stanzas.child(toCrone, "http://jabber.org/protocol/muc", "x"))

    def assertRefused(self, received, expected, code, kind):
        [refusal] = received
        assertStanza(self, refusal, f"""
            <presence from='{ROOM}/thirdwitch' to='{HAG}' type='error'>
              <x xmlns='http://jabber.org/protocol/muc'/>
              <error by='{ROOM}' type='{kind}' code='{code}'>
                <{expected} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              </error>
            </presence>""")
        self.assertIsNone(self.muc.rooms.get(JID(ROOM)).occupantOf(JID(HAG)))

    def test_noNick(self):
        """
        Section 7.2.1, example 19: presence to the bare room JID gets
        jid-malformed from the room.
        """
        self.muc.coven()
        self.muc.send(f"<presence from='{HAG}' id='273hs51g' to='{ROOM}'>"
                      "<x xmlns='http://jabber.org/protocol/muc'/></presence>")
        [refusal] = self.muc.take()
        assertStanza(self, refusal, f"""
            <presence from='{ROOM}' id='273hs51g' to='{HAG}' type='error'>
              <error by='{ROOM}' type='modify'>
                <jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              </error>
            </presence>""")

    def test_password(self):
        """
        Section 7.2.5, example 25: not-authorized, without echoing the
        password given.
        """
        room = self.muc.coven()
        room.config.passwordProtected, room.config.password = True, "cauldronburn"
        received = self.muc.join(
            HAG, "thirdwitch",
            "<x xmlns='http://jabber.org/protocol/muc'><password>toad</password></x>")
        self.assertRefused(received, "not-authorized", "401", "auth")
        self.assertNotIn("toad", received[0].toXml())

    def test_membersOnly(self):
        """
        Section 7.2.6, example 27: registration-required.
        """
        self.muc.coven().config.membersOnly = True
        self.assertRefused(self.muc.join(HAG, "thirdwitch"), "registration-required", "407", "auth")

    def test_banned(self):
        """
        Section 7.2.7, example 28: forbidden.
        """
        self.muc.coven().affiliations[JID("hag66@shakespeare.lit")] = Affiliation.OUTCAST
        self.assertRefused(self.muc.join(HAG, "thirdwitch"), "forbidden", "403", "auth")

    def test_conflict(self):
        """
        Section 7.2.8, example 29: conflict.
        """
        self.muc.coven()
        [refusal] = self.muc.join(HAG, "secondwitch")
        assertStanza(self, refusal, f"""
            <presence from='{ROOM}/secondwitch' to='{HAG}' type='error'>
              <x xmlns='http://jabber.org/protocol/muc'/>
              <error by='{ROOM}' type='cancel' code='409'>
                <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              </error>
            </presence>""")

    def test_full(self):
        """
        Section 7.2.9, example 30: service-unavailable of type wait.
        """
        self.muc.coven().config.maxUsers = 2
        self.assertRefused(self.muc.join(HAG, "thirdwitch"), "service-unavailable", "503", "wait")

    def test_groupchat10(self):
        """
        Section 7.2.18, example 43: presence without the MUC element from a
        non-occupant gets an explicit kick with 110, 307 and 333.
        """
        self.muc.coven()
        [kick] = self.muc.join(HAG, "thirdwitch", "")
        assertStanza(self, kick, f"""
            <presence from='{ROOM}/thirdwitch' to='{HAG}' type='unavailable'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='none'><reason>You are not in the room.</reason></item>
                <status code='110'/><status code='307'/><status code='333'/>
              </x>
            </presence>""")
        self.assertEqual([], self.muc.take())

    def test_history(self):
        """
        Sections 7.2.13 and 7.2.14 (examples 33, 36, 38, 39): history carries XEP-0203 delays from the
        room, and <history/> limits it (maxstanzas, maxchars='0').
        """
        self.muc.coven()
        for index in range(3):
            self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'>"
                          f"<body>m{index}</body></message>")
            self.muc.clock.advance(10)
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'>"
                      "<active xmlns='http://jabber.org/protocol/chatstates'/></message>")
        self.muc.take()
        received = self.muc.join(
            HAG, "thirdwitch",
            "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='2'/></x>")
        history = [str(m.body) for m in received if m.name == "message" and m.body]
        self.assertEqual(["m1", "m2"], history)
        stamps = [m.delay["stamp"] for m in received if m.name == "message" and m.body]
        self.assertEqual(["2001-09-09T01:46:50Z", "2001-09-09T01:47:00Z"], stamps)
        received = self.muc.join(
            HECATE, "hecate",
            "<x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x>")
        self.assertEqual(["presence"] * 4 + ["message"], [s.name for s in received])
        received = self.muc.join(
            "x@shakespeare.lit/y", "x",
            "<x xmlns='http://jabber.org/protocol/muc'>"
            "<history since='2001-09-09T01:46:55Z'/></x>")
        self.assertEqual(["m2"], [str(m.body) for m in received if m.name == "message" and m.body])

    def test_subject(self):
        """
        Section 7.2.15, example 40: the subject comes last, from the occupant
        that set it, with a delay.
        """
        self.muc.coven()
        self.muc.send(f"<message from='{CRONE}' to='{ROOM}' type='groupchat'>"
                      "<subject>Fire Burn and Cauldron Bubble!</subject></message>")
        self.muc.take()
        received = self.muc.join(HAG, "thirdwitch")
        assertStanza(self, received[-1], f"""
            <message from='{ROOM}/firstwitch' to='{HAG}' type='groupchat'>
              <subject>Fire Burn and Cauldron Bubble!</subject>
              <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2001-09-09T01:46:40Z'/>
            </message>""")
        self.assertIsNone(received[-1].body)

    def test_severalSessions(self):
        """
        Section 7.2.8: a second session of the same bare JID shares the nick
        and gets the whole entry sequence; the others see no change; room
        messages reach both sessions.
        """
        self.muc.coven()
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()
        received = self.muc.join(HAG2, "thirdwitch")
        self.assertEqual(["presence"] * 3 + ["message"], [s.name for s in received])
        self.assertEqual(
            [f"{ROOM}/firstwitch", f"{ROOM}/secondwitch", f"{ROOM}/thirdwitch"],
            [p["from"] for p in received[:3]],
        )
        self.assertEqual((HAG2, {110}), (item(received[2])["jid"], statuses(received[2])))
        self.assertEqual([], self.muc.take())
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'><body>hi</body></message>")
        self.assertEqual({CRONE, WICCA, HAG, HAG2}, {m["to"] for m in self.muc.take()})

    def test_resync(self):
        """
        Sections 7.2.1 and 17.3 rule 3: a join from a session already in the
        room gets the entry sequence again.
        """
        self.muc.coven()
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()
        received = self.muc.join(HAG, "thirdwitch")
        self.assertEqual(["presence"] * 3 + ["message"], [s.name for s in received])
        self.assertEqual({110}, statuses(received[2]))


def errorText(stanza):
    """
    @return: the <text/> of an error stanza.
    """
    error = stanzas.child(stanza, "jabber:client", "error")
    return str(stanzas.child(error, NS_STANZAS, "text"))


class AddressTests(HarnessMixin, unittest.TestCase):
    """
    JIDs and nicknames: RFC 7622 section 3 (parts of at most 1023 bytes of
    UTF-8) and RFC 8266's Nickname profile, as XEP-0045 sections 7.2 and
    7.6 expect; refused with jid-malformed, from the occupant JID tried and
    by the room, as Prosody answers.
    """

    def assertMalformed(self, received, sender, tried, room=ROOM, reason=None):
        """
        C{sender} got one presence error, jid-malformed from C{tried} by
        C{room}, with a text (containing C{reason} if given).
        """
        [refusal] = received
        self.assertEqual(
            ("error", sender, tried, "jid-malformed", room),
            (refusal["type"], refusal["to"], refusal["from"], condition(refusal),
             stanzas.child(refusal, "jabber:client", "error")["by"]),
        )
        self.assertTrue(errorText(refusal))
        if reason is not None:
            self.assertIn(reason, errorText(refusal))

    def assertJoins(self, full, nick):
        """
        A join of C{nick} from C{full} succeeds: its self-presence comes.
        """
        received = self.muc.join(full, nick)
        self.assertIn(110, statuses(received[-2]), [s.toXml() for s in received])
        return received

    def test_nickLength(self):
        """
        RFC 7622 section 3.4.1: a nick (the occupant JID's resourcepart) of
        1024 bytes is refused, of 1023 bytes accepted; multi-byte UTF-8 is
        counted in bytes. The room keeps serving the others.
        """
        self.muc.coven()
        for nick in ("n" * 1024, "\u00e9" * 512, "n" * 2000):
            self.assertMalformed(self.muc.join(HAG, nick), HAG, f"{ROOM}/{nick}", reason="1023 bytes")
        self.assertIsNone(self.muc.rooms.get(JID(ROOM)).occupantOf(JID(HAG)))
        self.assertJoins(HAG, "\u00e9" * 511 + "n")
        self.assertJoins(HECATE, "n" * 1023)

    def test_nickLengthCreatesNoRoom(self):
        """
        A hostile join to a new room creates no room; a normal join then
        creates it.
        """
        self.assertMalformed(self.muc.join(HAG, "n" * 2000), HAG, f"{ROOM}/{'n' * 2000}")
        self.assertIsNone(self.muc.rooms.get(JID(ROOM)))
        self.assertEqual({110, 201}, statuses(self.muc.join(CRONE, "firstwitch")[0]))

    def test_roomNameLength(self):
        """
        RFC 7622 section 3.3.1: a room localpart of 1024 bytes gets
        jid-malformed for presence, messages and IQs (not item-not-found);
        one of 1023 bytes makes a room.
        """
        long = "r" * 1024 + "@" + SERVICE
        self.assertMalformed(self.muc.join(HAG, "thirdwitch", room=long), HAG,
                             f"{long}/thirdwitch", room=long, reason="localpart")
        self.assertEqual(0, len(self.muc.rooms))
        self.muc.send(f"<message from='{HAG}' to='{long}' type='groupchat'><body>hi</body></message>")
        self.muc.send(f"<iq from='{HAG}' id='i1' to='{long}' type='get'>"
                      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        self.muc.send(f"<iq from='{HAG}' id='i2' to='{long}/someone' type='get'>"
                      "<ping xmlns='urn:xmpp:ping'/></iq>")
        replies = self.muc.take()
        self.assertEqual([("message", "jid-malformed"), ("iq", "jid-malformed"), ("iq", "jid-malformed")],
                         [(r.name, condition(r)) for r in replies])
        self.assertEqual({long}, {stanzas.child(r, "jabber:client", "error")["by"] for r in replies})
        room = "\u00e9" * 511 + "r@" + SERVICE
        self.assertEqual({110, 201}, statuses(self.muc.join(HAG, "thirdwitch", room=room)[0]))

    def test_nickProfile(self):
        """
        RFC 8266 and XEP-0045 section 17.1: a nick the Nickname profile
        refuses (only spaces, empty once mapped, a Hangul filler) gets
        jid-malformed with the reason; the room serves others on.
        """
        self.muc.coven()
        for nick, reason in (("   ", "empty"), ("\u200b", "empty"), ("a\u1160", "U+1160")):
            # As resourceprep leaves it (a zero-width space is mapped to
            # nothing, leaving no resource).
            tried = JID(f"{ROOM}/{nick}").full()
            self.assertMalformed(self.muc.join(HAG, nick), HAG, tried, reason=reason)
        self.assertJoins(HAG, "thirdwitch")

    def test_nickEnforced(self):
        """
        RFC 8266 section 2.3: spaces are trimmed and collapsed; the room
        uses the enforced nick and says so with 210 (section 7.2.2).
        """
        self.muc.coven()
        received = self.assertJoins(HAG, " third  witch ")
        self.assertEqual((f"{ROOM}/third witch", {110, 210}), (received[-2]["from"], statuses(received[-2])))
        self.assertIsNotNone(self.muc.rooms.get(JID(ROOM)).occupant("third witch"))
        self.muc.take()
        # Presence to the nick as first sent is an update, not a nick change.
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/ third  witch '><show>away</show></presence>")
        self.assertEqual([f"{ROOM}/third witch"] * 3, [p["from"] for p in self.muc.take()])

    def test_nickCase(self):
        """
        RFC 8266 section 2.4: nicks compare case-mapped, so another user's
        C{SecondWitch} conflicts with C{secondwitch}; a second session of
        the same user joins its occupant, told with 210.
        """
        self.muc.coven()
        [refusal] = self.muc.join(HAG, "SecondWitch")
        self.assertEqual(("conflict", f"{ROOM}/SecondWitch"), (condition(refusal), refusal["from"]))
        self.assertJoins(HAG, "thirdwitch")
        received = self.assertJoins(HAG2, "ThirdWitch")
        self.assertEqual((f"{ROOM}/thirdwitch", {110, 210}), (received[-2]["from"], statuses(received[-2])))

    def test_nickChange(self):
        """
        Section 7.6: a nick change to a refused nick gets jid-malformed from
        the occupant JID asked for; to one the profile changes, 210 in the
        self-presence; to another case of one's own nick, it changes.
        """
        self.muc.coven()
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()
        for nick in ("n" * 1024, "   "):
            self.muc.send(f"<presence from='{HAG}' to='{ROOM}/{nick}'/>")
            self.assertMalformed(self.muc.take(), HAG, f"{ROOM}/{nick}")
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/ThirdWitch'/>")
        self.assertEqual([f"{ROOM}/ThirdWitch"] * 3,
                         [p["from"] for p in self.muc.take() if p.getAttribute("type") is None])
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/ hag '/>")
        own = [p for p in self.muc.take(HAG) if p.getAttribute("type") is None]
        self.assertEqual([(f"{ROOM}/hag", {110, 210})], [(p["from"], statuses(p)) for p in own])

    def test_privateMessageToImpossibleNick(self):
        """
        Section 7.5: a private message to a nick no occupant could have gets
        jid-malformed; to a possible nick nobody has, item-not-found.
        """
        self.muc.coven()
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()
        for nick, expected in ((" firstwitch", "jid-malformed"), ("a\u1160", "jid-malformed"),
                               ("n" * 1024, "jid-malformed"), ("nobody", "item-not-found")):
            self.muc.send(f"<message from='{HAG}' to='{ROOM}/{nick}' type='chat'><body>hi</body></message>")
            [refusal] = self.muc.take()
            self.assertEqual((expected, ROOM), (condition(refusal),
                                                stanzas.child(refusal, "jabber:client", "error")["by"]))


class OccupancyTests(HarnessMixin, unittest.TestCase):
    """
    XEP-0045 sections 7.4-7.7, 7.14, 8.1, 17, 18.1.2; XEP-0410.
    """

    def setUp(self):
        HarnessMixin.setUp(self)
        self.room = self.muc.coven()
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()

    def test_presenceUpdate(self):
        """
        Section 7.7, examples 54 and 55: a status change goes to everyone.
        """
        self.muc.send(f"<presence from='{HAG}' id='kr7v143h' to='{ROOM}/thirdwitch'>"
                      "<show>xa</show><status>gone where the goblins go</status></presence>")
        received = self.muc.take()
        self.assertEqual({CRONE, WICCA, HAG}, {p["to"] for p in received})
        for presence in received:
            self.assertEqual(("xa", "kr7v143h"), (str(presence.show), presence["id"]))
        self.assertEqual([{110}], [statuses(p) for p in received if p["to"] == HAG])

    def test_leave(self):
        """
        Section 7.14, examples 80-82: self-presence with 110 and role
        none, the same without 110 to the others.
        """
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/thirdwitch' type='unavailable'>"
                      "<status>gone where the goblins go</status></presence>")
        received = self.muc.take()
        [own] = [p for p in received if p["to"] == HAG]
        assertStanza(self, own, f"""
            <presence from='{ROOM}/thirdwitch' to='{HAG}' type='unavailable'>
              <status>gone where the goblins go</status>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='{HAG}' role='none'/>
                <status code='110'/>
              </x>
            </presence>""")
        self.assertEqual({CRONE, WICCA, HAG}, {p["to"] for p in received})
        self.assertEqual([set(), set()], [statuses(p) for p in received if p["to"] != HAG])
        self.assertIsNone(self.room.occupant("thirdwitch"))
        # Section 17.3 rule 5: ignored from non-occupants.
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/thirdwitch' type='unavailable'/>")
        self.assertEqual([], self.muc.take())

    def test_nickChange(self):
        """
        Section 7.6, examples 49 and 50: unavailable from the old nick with the
        new nick and 303, then available from the new nick; 110 to self.
        """
        self.muc.send(f"<presence from='{HAG}' id='ifd1c35' to='{ROOM}/oldhag'/>")
        received = self.muc.take(HAG)
        self.assertStanzas(received, [
            f"""<presence from='{ROOM}/thirdwitch' to='{HAG}' type='unavailable'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='none' jid='{HAG}' nick='oldhag' role='participant'/>
                    <status code='303'/><status code='110'/>
                  </x>
                </presence>""",
            f"""<presence from='{ROOM}/oldhag' to='{HAG}' id='ifd1c35'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='none' jid='{HAG}' role='participant'/>
                    <status code='110'/>
                  </x>
                </presence>""",
        ])
        self.muc.take()
        self.muc.send(f"<message from='{HAG}' to='{ROOM}' type='groupchat'><body>x</body></message>")
        self.assertEqual([f"{ROOM}/oldhag"] * 3, [m["from"] for m in self.muc.take()])
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/oldhag' type='unavailable'/>")
        self.assertEqual(3, len(self.muc.take()))

    def test_nickChangeToOthers(self):
        """
        Section 7.6: the others see the same pair without 110.
        """
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/oldhag'/>")
        received = self.muc.take(WICCA)
        self.assertEqual([{303}, set()], [statuses(p) for p in received])
        self.assertEqual("oldhag", item(received[0])["nick"])

    def test_nickConflict(self):
        """
        Section 7.6, example 52: conflict, from the nick asked for.
        """
        self.muc.send(f"<presence from='{HAG}' id='ifd1c35' to='{ROOM}/secondwitch'/>")
        [refusal] = self.muc.take()
        assertStanza(self, refusal, f"""
            <presence from='{ROOM}/secondwitch' id='ifd1c35' to='{HAG}' type='error'>
              <x xmlns='http://jabber.org/protocol/muc'/>
              <error by='{ROOM}' type='cancel'>
                <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              </error>
            </presence>""")

    def test_groupchat(self):
        """
        Section 7.4, examples 44 and 45; XEP-0359 and XEP-0421: reflected to
        everyone, the sender too, with the client's id, a stanza-id by the
        room (a forged one removed, another entity's kept) and the
        occupant-id. One payload is built for all recipients, serialized
        once (DESIGN.md section 9): each copy shares its children and text.
        """
        self.muc.send(f"""
            <message from='{HAG}' id='hysf1v37' to='{ROOM}' type='groupchat'>
              <body>Harpier cries: 'tis time, 'tis time.</body>
              <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='{ROOM}'/>
              <stanza-id xmlns='urn:xmpp:sid:0' id='other' by='shakespeare.lit'/>
              <origin-id xmlns='urn:xmpp:sid:0' id='o1'/>
            </message>""")
        raw = list(self.muc.raw)
        received = self.muc.take()
        self.assertEqual([CRONE, WICCA, HAG], [m["to"] for m in received])
        self.assertEqual(1, len({id(element.children) for element in raw}))
        self.assertEqual(1, len({id(element._texts) for element in raw}))
        for message in received:
            assertStanza(self, message, f"""
                <message from='{ROOM}/thirdwitch' id='hysf1v37' type='groupchat'>
                  <body>Harpier cries: 'tis time, 'tis time.</body>
                  <stanza-id xmlns='urn:xmpp:sid:0' by='shakespeare.lit' id='other'/>
                  <origin-id xmlns='urn:xmpp:sid:0' id='o1'/>
                  <occupant-id xmlns='urn:xmpp:occupant-id:0'/>
                </message>""")
            ids = [s["id"] for s in message.elements("urn:xmpp:sid:0", "stanza-id")
                   if s["by"] == ROOM]
            self.assertEqual(1, len(ids))
            self.assertNotEqual("forged", ids[0])
        occupantIds = {m.elements("urn:xmpp:occupant-id:0", "occupant-id").__next__()["id"]
                       for m in received}
        self.assertEqual({self.room.occupant("thirdwitch").occupantId}, occupantIds)

    def test_groupchatRefused(self):
        """
        Section 7.4: a non-occupant gets not-acceptable, a visitor in a
        moderated room forbidden; nothing is reflected.
        """
        self.muc.send(f"<message from='{HECATE}' id='a' to='{ROOM}' type='groupchat'><body>x</body></message>")
        [refusal] = self.muc.take()
        self.assertEqual(("not-acceptable", HECATE), (condition(refusal), refusal["to"]))
        self.room.occupant("thirdwitch").role = Role.VISITOR
        self.muc.send(f"<message from='{HAG}' id='b' to='{ROOM}' type='groupchat'><body>x</body></message>")
        [refusal] = self.muc.take()
        self.assertEqual("forbidden", condition(refusal))
        self.assertEqual("x", str(refusal.body))

    def test_privateMessage(self):
        """
        Section 7.5, examples 46 and 47: from the sender's occupant JID, with the
        muc#user marker added.
        """
        self.muc.send(f"<message from='{WICCA}' id='hgn27af1' to='{ROOM}/firstwitch' type='chat'>"
                      "<body>I'll give thee a wind.</body></message>")
        [message] = self.muc.take()
        assertStanza(self, message, f"""
            <message from='{ROOM}/secondwitch' id='hgn27af1' to='{CRONE}' type='chat'>
              <body>I'll give thee a wind.</body>
              <x xmlns='http://jabber.org/protocol/muc#user'/>
            </message>""")

    def test_privateMessageRefused(self):
        """
        Section 7.5, example 48 and the rules after it: groupchat is a bad
        request, an absent nick not found, a non-occupant not acceptable.
        """
        cases = [
            (WICCA, "firstwitch", "groupchat", "bad-request"),
            (WICCA, "nobody", "chat", "item-not-found"),
            (HECATE, "firstwitch", "chat", "not-acceptable"),
        ]
        for sender, nick, kind, expected in cases:
            self.muc.send(f"<message from='{sender}' id='bx71f29k' to='{ROOM}/{nick}' type='{kind}'>"
                          "<body>I'll give thee a wind.</body></message>")
            [refusal] = self.muc.take()
            self.assertEqual((expected, sender), (condition(refusal), refusal["to"]))

    def test_subject(self):
        """
        Section 8.1, examples 84, 85 and 87: a moderator's change goes to everyone;
        a participant gets forbidden.
        """
        self.muc.send(f"<message from='{CRONE}' id='lh2bs617' to='{ROOM}' type='groupchat'>"
                      "<subject>Fire Burn and Cauldron Bubble!</subject></message>")
        received = self.muc.take()
        self.assertEqual([CRONE, WICCA, HAG], [m["to"] for m in received])
        assertStanza(self, received[0], f"""
            <message from='{ROOM}/firstwitch' id='lh2bs617' type='groupchat'>
              <subject>Fire Burn and Cauldron Bubble!</subject>
            </message>""")
        self.muc.send(f"<message from='{HAG}' id='lh2bs618' to='{ROOM}' type='groupchat'>"
                      "<subject>Mine</subject></message>")
        [refusal] = self.muc.take()
        self.assertEqual("forbidden", condition(refusal))
        self.assertEqual("Fire Burn and Cauldron Bubble!", self.room.subject)

    def test_subjectWithBody(self):
        """
        Section 8.1: a message with a subject and a body is a message, not a
        subject change.
        """
        self.muc.send(f"<message from='{HAG}' to='{ROOM}' type='groupchat'>"
                      "<subject>s</subject><body>b</body></message>")
        self.assertEqual(3, len(self.muc.take()))
        self.assertEqual("", self.room.subject)

    def test_selfPing(self):
        """
        XEP-0410 sections 3.2 and 3.3, examples 1 and 2: a result while joined;
        not-acceptable after leaving.
        """
        ping = (f"<iq from='{HAG}' id='s2c1' type='get' to='{ROOM}/thirdwitch'>"
                "<ping xmlns='urn:xmpp:ping'/></iq>")
        self.muc.send(ping)
        [result] = self.muc.take()
        assertStanza(self, result, f"<iq from='{ROOM}/thirdwitch' id='s2c1' to='{HAG}' type='result'/>")
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/thirdwitch' type='unavailable'/>")
        self.muc.take()
        self.muc.send(ping)
        [refusal] = self.muc.take()
        assertStanza(self, refusal, f"""
            <iq from='{ROOM}/thirdwitch' id='s2c1' to='{HAG}' type='error'>
              <error type='cancel' by='{ROOM}'>
                <not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              </error>
            </iq>""")

    def test_iqForwarded(self):
        """
        Section 17.4 and DESIGN.md section 5: an IQ to another occupant goes
        to its real JID under a new id; the answer comes back under the
        original id; answers from anyone else are dropped.
        """
        self.muc.send(f"<iq from='{HAG}' id='v1' to='{ROOM}/secondwitch' type='get'>"
                      "<query xmlns='jabber:iq:version'/></iq>")
        [forwarded] = self.muc.take()
        self.assertEqual((f"{ROOM}/thirdwitch", WICCA), (forwarded["from"], forwarded["to"]))
        answer = (f"<iq from='{{}}' id='{forwarded['id']}' to='{ROOM}/thirdwitch' type='result'>"
                  "<query xmlns='jabber:iq:version'><name>x</name></query></iq>")
        self.muc.send(answer.format(CRONE))
        self.assertEqual([], self.muc.take())
        self.muc.send(answer.format(WICCA))
        [back] = self.muc.take()
        assertStanza(self, back, f"""
            <iq from='{ROOM}/secondwitch' id='v1' to='{HAG}' type='result'>
              <query xmlns='jabber:iq:version'><name>x</name></query>
            </iq>""")

    def test_vcardToBareJID(self):
        """
        Section 17.4 with XEP-0054 section 3.3, as in Prosody: a vCard get
        to an occupant goes to the occupant's real bare JID (its server
        answers for the account) from the requester's occupant JID; the
        answer, a vCard or an error, comes back from the occupant JID under
        the original id, so no real JID reaches the requester. A vCard set
        is forwarded like any other IQ.
        """
        wiccaBare = WICCA.split("/")[0]
        for kind, iqId in (("result", "vc1"), ("error", "vc2")):
            self.muc.send(f"<iq from='{HAG}' id='{iqId}' to='{ROOM}/secondwitch' type='get'>"
                          "<vCard xmlns='vcard-temp'/></iq>")
            [forwarded] = self.muc.take()
            self.assertEqual((f"{ROOM}/thirdwitch", wiccaBare), (forwarded["from"], forwarded["to"]))
            self.assertNotEqual(iqId, forwarded["id"])
            if kind == "result":
                payload = "<vCard xmlns='vcard-temp'><FN>Wicca</FN></vCard>"
            else:
                payload = ("<error type='cancel'><service-unavailable "
                           "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>")
            # The full JID's answer matches nothing: the request went to the bare JID.
            self.muc.send(f"<iq from='{WICCA}' id='{forwarded['id']}' to='{ROOM}/thirdwitch' "
                          f"type='{kind}'>{payload}</iq>")
            self.assertEqual([], self.muc.take())
            self.muc.send(f"<iq from='{wiccaBare}' id='{forwarded['id']}' to='{ROOM}/thirdwitch' "
                          f"type='{kind}'>{payload}</iq>")
            [back] = self.muc.take()
            assertStanza(self, back, f"<iq from='{ROOM}/secondwitch' id='{iqId}' to='{HAG}' "
                                     f"type='{kind}'>{payload}</iq>")
            self.assertNotIn("wiccarocks", back.toXml())
        self.muc.send(f"<iq from='{HAG}' id='vc3' to='{ROOM}/secondwitch' type='set'>"
                      "<vCard xmlns='vcard-temp'/></iq>")
        [forwarded] = self.muc.take()
        self.assertEqual(WICCA, forwarded["to"])

    def test_iqToAbsentNick(self):
        """
        Section 17.4: an IQ to a nick nobody has gets item-not-found.
        """
        self.muc.send(f"<iq from='{HAG}' id='v1' to='{ROOM}/nobody' type='get'>"
                      "<query xmlns='jabber:iq:version'/></iq>")
        self.assertEqual("item-not-found", condition(self.muc.take()[0]))

    def test_ghostPresenceError(self):
        """
        Section 18.1.2: presence of type error from an occupant's real JID
        removes it, announced with 333 (section 11.1, example 205).
        """
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/thirdwitch' type='error'>"
                      "<error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                      "</error></presence>")
        received = self.muc.take()
        self.assertEqual({CRONE: {333}, WICCA: {333}, HAG: {110, 333}},
                         {p["to"]: statuses(p) for p in received})
        self.assertEqual({"unavailable"}, {p["type"] for p in received})
        self.assertIsNone(self.room.occupant("thirdwitch"))

    def test_ghostDeliveryError(self):
        """
        Section 18.1.2: a groupchat message bounced for a vanished resource
        removes that occupant; the others still get the message.
        """
        self.muc.gone.add(HAG)
        self.muc.send(f"<message from='{WICCA}' to='{ROOM}' type='groupchat'><body>x</body></message>")
        received = self.muc.take()
        messages = [m["to"] for m in received if m.name == "message"]
        self.assertEqual([CRONE, WICCA, HAG], messages)
        self.assertIsNone(self.room.occupant("thirdwitch"))
        gone = [p for p in received if p.name == "presence" and p["to"] == WICCA]
        self.assertEqual([{333}], [statuses(p) for p in gone])

    def test_disconnectAfterNickChange(self):
        """
        RFC 6121 section 4.6.3: a disconnecting client's server sends
        unavailable presence to every occupant JID the session used; any of
        them removes the session.
        """
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/oldhag'/>")
        self.muc.take()
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/thirdwitch' type='unavailable'/>")
        self.assertIsNone(self.room.occupant("oldhag"))
        self.assertEqual(3, len(self.muc.take()))
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/oldhag' type='unavailable'/>")
        self.assertEqual([], self.muc.take())

    def test_sessionLeaves(self):
        """
        One of two sessions sharing a nick leaves: only it is told; the
        others see the remaining session's presence if theirs was shown.
        """
        self.muc.join(HAG2, "thirdwitch")
        self.muc.take()
        self.muc.send(f"<presence from='{HAG2}' to='{ROOM}/thirdwitch' type='unavailable'/>")
        received = self.muc.take()
        self.assertEqual([HAG2], [p["to"] for p in received if p.getAttribute("type") == "unavailable"])
        self.assertEqual({110}, statuses(received[0]))
        self.assertEqual({CRONE, WICCA}, {p["to"] for p in received[1:]})
        self.assertNotIn("type", received[1].attributes)

    def test_configChangeAnnounced(self):
        """
        Section 10.2.1, example 171: occupants get 104, and 172 when the room
        becomes non-anonymous.
        """
        self.muc.send(f"""
            <iq from='{CRONE}' id='c' to='{ROOM}' type='set'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <x xmlns='jabber:x:data' type='submit'>
                  <field var='muc#roomconfig_whois'><value>anyone</value></field>
                  <field var='muc#roomconfig_roomdesc'><value>witches</value></field>
                </x>
              </query>
            </iq>""")
        received = self.effects(self.muc.take(), "c")
        self.assertEqual([CRONE, WICCA, HAG], [m["to"] for m in received])
        assertStanza(self, received[0], f"""
            <message from='{ROOM}' type='groupchat'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <status code='104'/><status code='172'/>
              </x>
            </message>""")

    def test_membersOnlyRemoves(self):
        """
        Section 10.2: making the room members-only removes non-members with
        322.
        """
        self.room.affiliations[JID("wiccarocks@shakespeare.lit")] = Affiliation.MEMBER
        self.muc.send(f"""
            <iq from='{CRONE}' id='c' to='{ROOM}' type='set'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <x xmlns='jabber:x:data' type='submit'>
                  <field var='muc#roomconfig_membersonly'><value>1</value></field>
                </x>
              </query>
            </iq>""")
        received = self.muc.take()
        removals = {p["to"]: statuses(p) for p in received if p.name == "presence"}
        self.assertEqual({CRONE: {322}, WICCA: {322}, HAG: {110, 322}}, removals)
        self.assertIsNone(self.room.occupant("thirdwitch"))

    def test_messageToAbsentRoom(self):
        """
        Section 17.2 rule 3: a message to a room that does not exist gets
        item-not-found.
        """
        self.muc.send(f"<message from='{HAG}' id='m' to='nowhere@{SERVICE}' type='groupchat'>"
                      "<body>x</body></message>")
        self.assertEqual("item-not-found", condition(self.muc.take()[0]))

    def test_servicePing(self):
        """
        XEP-0199: the service and its rooms answer pings.
        """
        for to in (SERVICE, ROOM):
            self.muc.send(f"<iq from='{HAG}' id='p' to='{to}' type='get'><ping xmlns='urn:xmpp:ping'/></iq>")
            [result] = self.muc.take()
            self.assertEqual(("result", to), (result["type"], result["from"]))

    def test_unknownIQ(self):
        """
        Other IQs to a room get service-unavailable from the fallback.
        """
        self.muc.send(f"<iq from='{HAG}' id='p' to='{ROOM}' type='get'><query xmlns='jabber:iq:version'/></iq>")
        [reply] = self.muc.take()
        self.assertEqual("service-unavailable", condition(reply))


class StanzasTests(unittest.TestCase):
    """
    Helpers of L{mepserver.muc.stanzas}.
    """

    def test_dateTime(self):
        """
        XEP-0082 DateTimes, with fractions and offsets.
        """
        self.assertEqual(0.0, stanzas.parseDateTime("1970-01-01T00:00:00Z"))
        self.assertEqual(1.5, stanzas.parseDateTime("1970-01-01T00:00:01.5Z"))
        self.assertEqual(-3600.0, stanzas.parseDateTime("1970-01-01T00:00:00+01:00"))
        self.assertIsNone(stanzas.parseDateTime("yesterday"))
        self.assertIsNone(stanzas.parseDateTime("1970-13-01T00:00:00Z"))
        self.assertEqual("2002-10-13T23:58:37Z", stanzas.formatDateTime(1034553517))
        self.assertEqual("1970-01-01T00:00:01.500Z", stanzas.formatDateTime(1.5))

    def test_item(self):
        """
        An item is a value: its parts default to none, and it cannot be
        changed.
        """
        item = stanzas.Item("member", "participant")
        self.assertEqual((None, None, None, None), (item.jid, item.nick, item.reason, item.actor))
        self.assertEqual(stanzas.Item("member", "participant"), item)
        self.assertRaises(AttributeError, setattr, item, "role", "visitor")

    def test_payloadText(self):
        """
        A presence's payload is the text Twisted's serializer gives its
        children, in the stanza's namespace: children without a prefix go
        through the plain serializer (issue 16), prefixed ones, attributes
        with a namespace and text as Twisted writes them.
        """
        for xml in (
            "<presence xmlns='jabber:client'><c xmlns='http://jabber.org/protocol/caps' "
            "hash='sha-1' node='n&amp;' ver='v&apos;'/><x xmlns='vcard-temp:x:update'>"
            "<photo>abc</photo></x></presence>",
            "<presence xmlns='jabber:client'><show>away</show>"
            "<status xml:lang='de'>weg &lt;3</status></presence>",
            "<presence xmlns='jabber:client'><foo:x xmlns:foo='urn:foo'><foo:y/></foo:x>"
            "<z xmlns='urn:z' xmlns:q='urn:q' q:a='1'/></presence>",
            "<presence xmlns='jabber:client'>text<x xmlns='urn:a'><y xmlns='urn:b'><z/></y>"
            "t&amp;t</x></presence>",
        ):
            presence = parseXml(xml)
            expected = "".join(
                c.toXml(defaultUri=presence.uri) if isinstance(c, domish.Element)
                else domish.escapeToXml(c)
                for c in presence.children
            )
            self.assertEqual(expected, stanzas.presencePayload(presence).xml, xml)

    def test_occupantPresenceText(self):
        """
        An occupant's presence serializes to exactly this text (built in
        fewer steps than with C{addElement}, issue 16): the client's
        payload and attributes, the muc#user item with every part escaped,
        sorted status codes, the occupant-id; each child knows its parent.
        """
        from mepserver.muc.records import Status

        payload = stanzas.presencePayload(parseXml(
            "<presence xmlns='jabber:client' id='p1'><show>away</show></presence>"))
        item = stanzas.Item("member", "participant", JID(HAG), "the <hag>", "Avaunt & go", "crone")
        presence = stanzas.occupantPresence(
            payload, JID(f"{ROOM}/thirdwitch"), item, [Status.SELF, Status.NON_ANONYMOUS],
            "oid1", "unavailable",
        )
        presence["to"] = HAG
        self.assertEqual(
            f"<presence xmlns='jabber:client' id='p1' from='{ROOM}/thirdwitch' type='unavailable' "
            f"to='{HAG}'><show>away</show><x xmlns='{NS_USER}'><item affiliation='member' "
            f"role='participant' jid='{HAG}' nick='the &lt;hag&gt;'><actor nick='crone'/>"
            "<reason>Avaunt &amp; go</reason></item><status code='100'/><status code='110'/></x>"
            "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='oid1'/></presence>",
            presence.toXml(),
        )
        x = stanzas.child(presence, NS_USER, "x")
        itemElement = stanzas.child(x, NS_USER, "item")
        self.assertIs(presence, x.parent)
        self.assertIs(x, itemElement.parent)
        self.assertIs(itemElement, stanzas.child(itemElement, NS_USER, "actor").parent)
        self.assertIs(presence, stanzas.child(presence, "urn:xmpp:occupant-id:0", "occupant-id").parent)

    def test_parseJoin(self):
        """
        Section 7.2.14: history limits; an unreadable limit is ignored.
        """
        presence = parseXml(
            "<presence><x xmlns='http://jabber.org/protocol/muc'>"
            "<password>p</password><history maxchars='65000' maxstanzas='x' seconds='180'/>"
            "</x></presence>", "jabber:client")
        request = stanzas.parseJoin(presence)
        self.assertEqual("p", request.password)
        self.assertEqual((65000, None, 180, None), (
            request.history.maxChars, request.history.maxStanzas,
            request.history.seconds, request.history.since))
        self.assertIsNone(stanzas.parseJoin(parseXml("<presence/>", "jabber:client")))

    def test_presencePayload(self):
        """
        Section 17.3 rules 6 and 7: the room keeps a presence's id,
        language and children, without the MUC and occupant-id elements
        only it may generate, as XML text in the client namespace; a
        presence it sends splices the text in, and the payload parses back
        to the same children (the HTTP API reads caps from it).
        """
        presence = parseXml(
            "<presence id='p1' xml:lang='en'><show>away</show>"
            "<x xmlns='http://jabber.org/protocol/muc'/>"
            "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>"
            "<x xmlns='http://jabber.org/protocol/muc#user'/>"
            "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>"
            "<status>brb &amp; back</status></presence>", "jabber:client")
        payload = stanzas.presencePayload(presence)
        self.assertEqual(
            "<show>away</show>"
            "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>"
            "<status>brb &amp; back</status>",
            payload.xml,
        )
        self.assertEqual({"id": "p1", stanzas.XML_LANG: "en"}, payload.attributes)
        item = stanzas.Item("none", "participant")
        sent = stanzas.occupantPresence(payload, JID("room@chat.example/nick"), item)
        reparsed = parseXml(sent.toXml(), "jabber:client")
        self.assertEqual(["show", "c", "status", "x"], [e.name for e in reparsed.elements()])
        self.assertEqual("brb & back", str(reparsed.status))
        self.assertEqual("p1", reparsed["id"])
        element = payload.element()
        self.assertEqual(["show", "c", "status"], [e.name for e in element.elements()])
        self.assertEqual(("http://jabber.org/protocol/caps", "v"), (element.c.uri, element.c["ver"]))
        self.assertEqual(payload, stanzas.presencePayload(element))


NS_ADMIN = "http://jabber.org/protocol/muc#admin"


class AdminHarnessMixin(HarnessMixin):
    """
    The coven of the examples: crone1 (owner, firstwitch), wiccarocks
    (secondwitch) and hag66 (thirdwitch).
    """

    def setUp(self):
        HarnessMixin.setUp(self)
        self.room = self.muc.coven()
        self.muc.join(HAG, "thirdwitch")
        self.muc.take()

    def admin(self, sender, items, kind="set", iqId="a1"):
        """
        Send a muc#admin query and return everything delivered.
        """
        self.muc.send(
            f"<iq from='{sender}' id='{iqId}' to='{ROOM}' type='{kind}'>"
            f"<query xmlns='{NS_ADMIN}'>{items}</query></iq>"
        )
        return self.muc.take()

    def configure(self, fields):
        """
        The owner submits configuration fields ({var: value}).
        """
        values = "".join(
            f"<field var='{var}'><value>{value}</value></field>" for var, value in fields.items()
        )
        self.muc.send(
            f"<iq from='{CRONE}' id='cfg' to='{ROOM}' type='set'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'>"
            f"<x xmlns='jabber:x:data' type='submit'>{values}</x></query></iq>"
        )
        return self.muc.take()

    def assertRefused(self, received, expected, kind="cancel"):
        [reply] = received
        self.assertEqual(("error", expected), (reply["type"], condition(reply)))
        error = stanzas.child(reply, "jabber:client", "error")
        self.assertEqual(kind, error["type"])


class ModeratorTests(AdminHarnessMixin, unittest.TestCase):
    """
    XEP-0045 section 8: kicks, voice, the voice list and voice requests.
    """

    def test_kick(self):
        """
        Section 8.2, examples 89-92: the kicked occupant gets 110 and 307
        with the actor and reason, then the others the unavailable presence
        with 307, and last the moderator the result (as Prosody sends it;
        section 8.2's text has the result before the others' presence).
        """
        received = self.admin(CRONE, """
            <item nick='thirdwitch' role='none'><reason>Avaunt, you cullion!</reason></item>""", iqId="kick1")
        self.assertStanzas(received, [
            f"""<presence from='{ROOM}/thirdwitch' to='{HAG}' type='unavailable'>
                  <x xmlns='{NS_USER}'>
                    <item affiliation='none' role='none'>
                      <actor nick='firstwitch'/>
                      <reason>Avaunt, you cullion!</reason>
                    </item>
                    <status code='110'/>
                    <status code='307'/>
                  </x>
                </presence>""",
            f"""<presence from='{ROOM}/thirdwitch' to='{CRONE}' type='unavailable'>
                  <x xmlns='{NS_USER}'><item affiliation='none' role='none' jid='{HAG}'/><status code='307'/></x>
                </presence>""",
            f"""<presence from='{ROOM}/thirdwitch' to='{WICCA}' type='unavailable'>
                  <x xmlns='{NS_USER}'><item role='none'><reason>Avaunt, you cullion!</reason></item>
                    <status code='307'/></x>
                </presence>""",
            f"<iq from='{ROOM}' id='kick1' to='{CRONE}' type='result'/>",
        ])
        self.assertEqual({307}, statuses(received[2]))
        self.assertNotIn("jid", item(received[2]))
        self.assertIsNone(self.room.occupantOf(JID(HAG)))

    def test_kickHigherAffiliation(self):
        """
        Section 8.2, example 93: a moderator who is a member may not kick an
        admin: not-allowed.
        """
        self.room.affiliations[JID("wiccarocks@shakespeare.lit")] = Affiliation.MEMBER
        self.room.occupant("secondwitch").role = Role.MODERATOR
        self.room.affiliations[JID("hag66@shakespeare.lit")] = Affiliation.ADMIN
        self.assertRefused(self.admin(WICCA, "<item nick='thirdwitch' role='none'/>"), "not-allowed")
        self.assertIsNotNone(self.room.occupantOf(JID(HAG)))

    def test_notModerator(self):
        """
        Section 8: a participant's admin request is forbidden.
        """
        self.assertRefused(self.admin(HAG, "<item nick='secondwitch' role='none'/>"), "forbidden", "auth")
        self.assertRefused(self.admin(HAG, "<item role='participant'/>", "get"), "forbidden", "auth")

    def test_voice(self):
        """
        Sections 8.3 and 8.4, examples 95-97 and 98-101: in a moderated room
        the visitor gets voice, with the reason to all, and loses it; each
        time the occupants hear of it before the moderator gets the result.
        """
        self.configure({"muc#roomconfig_moderatedroom": "1"})
        self.room.occupant("thirdwitch").role = Role.VISITOR
        received = self.admin(CRONE, """
            <item nick='thirdwitch' role='participant'><reason>A worthy witch indeed!</reason></item>""",
                              iqId="voice1")
        self.assertStanzas(received, [
            f"""<presence from='{ROOM}/thirdwitch' to='{CRONE}'>
                  <x xmlns='{NS_USER}'>
                    <item affiliation='none' jid='{HAG}' role='participant'>
                      <reason>A worthy witch indeed!</reason>
                    </item>
                  </x>
                </presence>""",
            f"<presence from='{ROOM}/thirdwitch' to='{WICCA}'/>",
            f"<presence from='{ROOM}/thirdwitch' to='{HAG}'><x xmlns='{NS_USER}'><status code='110'/></x></presence>",
            f"<iq from='{ROOM}' id='voice1' to='{CRONE}' type='result'/>",
        ])
        self.assertNotIn("type", received[0].attributes)
        received = self.effects(self.admin(CRONE, "<item nick='thirdwitch' role='visitor'/>", iqId="voice2"),
                                "voice2")
        self.assertEqual([(CRONE, "visitor"), (WICCA, "visitor"), (HAG, "visitor")],
                         [(p["to"], item(p)["role"]) for p in received])

    def test_voiceOfAdmin(self):
        """
        Section 8.4, example 102: nobody revokes an admin's voice.
        """
        self.admin(CRONE, "<item affiliation='admin' jid='wiccarocks@shakespeare.lit'/>")
        self.assertRefused(self.admin(CRONE, "<item nick='secondwitch' role='visitor'/>"), "not-allowed")

    def test_voiceList(self):
        """
        Section 8.5, examples 103-106: the voice list has nick, role,
        affiliation and jid; a delta of several items applies at once.
        """
        self.configure({"muc#roomconfig_moderatedroom": "1"})
        [result] = self.admin(CRONE, "<item role='participant'/>", "get", "voice3")
        assertStanza(self, result, f"""
            <iq from='{ROOM}' id='voice3' to='{CRONE}' type='result'>
              <query xmlns='{NS_ADMIN}'>
                <item affiliation='none' jid='{WICCA}' nick='secondwitch' role='participant'/>
                <item affiliation='none' jid='{HAG}' nick='thirdwitch' role='participant'/>
              </query>
            </iq>""")
        received = self.admin(CRONE, """
            <item nick='secondwitch' role='visitor'/>
            <item nick='thirdwitch' role='visitor'><reason>Hush.</reason></item>""", iqId="voice4")
        received = self.effects(received, "voice4")
        self.assertEqual([Role.VISITOR, Role.VISITOR],
                         [self.room.occupant(n).role for n in ("secondwitch", "thirdwitch")])
        self.assertEqual(6, len(received))

    def test_voiceRequest(self):
        """
        Sections 7.13 and 8.6, examples 79, 108 and 109: a visitor's request
        reaches the moderators as an approval form; the approval gives
        voice.
        """
        self.configure({"muc#roomconfig_moderatedroom": "1"})
        self.room.occupant("thirdwitch").role = Role.VISITOR
        self.muc.send(f"""
            <message from='{HAG}' id='yd53c486' to='{ROOM}'>
              <x xmlns='jabber:x:data' type='submit'>
                <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>
                <field var='muc#role' type='list-single' label='Requested role'><value>participant</value></field>
              </x>
            </message>""")
        [form] = self.muc.take()
        assertStanza(self, form, f"""
            <message from='{ROOM}' to='{CRONE}'>
              <x xmlns='jabber:x:data' type='form'>
                <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#request</value></field>
                <field var='muc#role' type='list-single'><value>participant</value></field>
                <field var='muc#jid' type='jid-single'><value>{HAG}</value></field>
                <field var='muc#roomnick' type='text-single'><value>thirdwitch</value></field>
                <field var='muc#request_allow' type='boolean'><value>false</value></field>
              </x>
            </message>""")
        approval = f"""
            <message from='{CRONE}' id='approve' to='{ROOM}'>
              <x xmlns='jabber:x:data' type='submit'>
                <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#request</value></field>
                <field var='muc#role'><value>participant</value></field>
                <field var='muc#jid'><value>{HAG}</value></field>
                <field var='muc#roomnick'><value>thirdwitch</value></field>
                <field var='muc#request_allow'><value>{{}}</value></field>
              </x>
            </message>"""
        self.muc.send(approval.format("false"))
        self.assertEqual([], self.muc.take())
        self.muc.send(approval.format("true"))
        received = self.muc.take()
        self.assertEqual(["participant"] * 3, [item(p)["role"] for p in received])
        self.assertEqual(Role.PARTICIPANT, self.room.occupant("thirdwitch").role)
        # With voice, there is nothing to request.
        self.muc.send(f"""
            <message from='{HAG}' to='{ROOM}'><x xmlns='jabber:x:data' type='submit'>
              <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>
            </x></message>""")
        self.assertEqual([], self.muc.take())

    def test_otherMessageTypes(self):
        """
        Section 17.2: a normal message to the room that is no invitation,
        decline or voice request is refused.
        """
        self.muc.send(f"<message from='{HAG}' to='{ROOM}'><body>hi</body></message>")
        self.assertRefused(self.muc.take(), "bad-request", "modify")


class AdminTests(AdminHarnessMixin, unittest.TestCase):
    """
    XEP-0045 section 9: bans, members, moderators and their lists.
    """

    def test_ban(self):
        """
        Section 9.1, examples 111-114 and 7.2.7: the banned occupant gets
        301 with the actor and reason, the others 301, and then the admin
        the result (as Prosody sends them); entering again is forbidden.
        """
        received = self.admin(CRONE, """
            <item affiliation='outcast' jid='hag66@shakespeare.lit'><reason>Treason</reason></item>""",
                              iqId="ban1")
        self.assertStanzas(received, [
            f"""<presence from='{ROOM}/thirdwitch' to='{HAG}' type='unavailable'>
                  <x xmlns='{NS_USER}'>
                    <item affiliation='outcast' role='none'>
                      <actor nick='firstwitch'/><reason>Treason</reason>
                    </item>
                    <status code='110'/><status code='301'/>
                  </x>
                </presence>""",
            f"""<presence from='{ROOM}/thirdwitch' to='{CRONE}' type='unavailable'>
                  <x xmlns='{NS_USER}'>
                    <item affiliation='outcast' jid='{HAG}' role='none'/><status code='301'/>
                  </x>
                </presence>""",
            f"<presence from='{ROOM}/thirdwitch' to='{WICCA}' type='unavailable'/>",
            f"<iq from='{ROOM}' id='ban1' to='{CRONE}' type='result'/>",
        ])
        self.assertEqual({301}, statuses(received[2]))
        [refusal] = self.muc.join(HAG2, "thirdwitch")
        self.assertEqual(("error", "forbidden"), (refusal["type"], condition(refusal)))

    def test_banHigherAffiliation(self):
        """
        Section 9.1, example 115: an admin may not ban an owner; nobody
        bans himself (conflict).
        """
        self.admin(CRONE, "<item affiliation='admin' jid='wiccarocks@shakespeare.lit'/>")
        self.assertRefused(self.admin(WICCA, "<item affiliation='outcast' jid='crone1@shakespeare.lit'/>"),
                           "not-allowed")
        self.assertRefused(self.admin(CRONE, "<item affiliation='outcast' jid='crone1@shakespeare.lit'/>"),
                           "conflict")

    def test_banList(self):
        """
        Section 9.2, examples 116-119: the ban list with reasons; a delta of
        several bans; users who are not present are banned too, and the
        moderators (who see real JIDs in this semi-anonymous room) hear of
        it before the result (as Prosody tells them; example 180's notice).
        """
        received = self.admin(CRONE, """
            <item affiliation='outcast' jid='lordscroop@shakespeare.lit'><reason>Treason</reason></item>
            <item affiliation='outcast' jid='sirthomasgrey@shakespeare.lit'><reason>Treason</reason></item>""",
                              iqId="ban3")
        self.assertStanzas(received, [
            f"""<message from='{ROOM}' to='{CRONE}'><x xmlns='{NS_USER}'>
                  <item affiliation='outcast' jid='lordscroop@shakespeare.lit' role='none'/>
                </x></message>""",
            f"""<message from='{ROOM}' to='{CRONE}'><x xmlns='{NS_USER}'>
                  <item affiliation='outcast' jid='sirthomasgrey@shakespeare.lit' role='none'/>
                </x></message>""",
            f"<iq from='{ROOM}' id='ban3' to='{CRONE}' type='result'/>",
        ])
        [result] = self.admin(CRONE, "<item affiliation='outcast'/>", "get", "ban2")
        assertStanza(self, result, f"""
            <iq id='ban2' type='result'>
              <query xmlns='{NS_ADMIN}'>
                <item affiliation='outcast' jid='lordscroop@shakespeare.lit'><reason>Treason</reason></item>
                <item affiliation='outcast' jid='sirthomasgrey@shakespeare.lit'><reason>Treason</reason></item>
              </query>
            </iq>""")
        self.assertEqual(2, len(list(result.query.elements(NS_ADMIN, "item"))))
        self.assertRefused(self.admin(HAG, "<item affiliation='outcast'/>", "get"), "forbidden", "auth")

    def test_membership(self):
        """
        Sections 9.3 and 9.4, examples 120-127: membership granted and
        revoked, the present user's presence updated each time.
        """
        received = self.admin(CRONE, """
            <item affiliation='member' jid='hag66@shakespeare.lit' nick='thirdwitch'/>""", iqId="member1")
        received = self.effects(received, "member1")
        assertStanza(self, received[0], f"""
            <presence from='{ROOM}/thirdwitch' to='{CRONE}'>
              <x xmlns='{NS_USER}'><item affiliation='member' jid='{HAG}' role='participant'/></x>
            </presence>""")
        self.assertEqual(["member"] * 3, [item(p)["affiliation"] for p in received])
        received = self.admin(CRONE, "<item affiliation='none' jid='hag66@shakespeare.lit'/>", iqId="member2")
        received = self.effects(received, "member2")
        self.assertEqual(["none"] * 3, [item(p)["affiliation"] for p in received])
        self.assertEqual(["participant"] * 3, [item(p)["role"] for p in received])

    def test_membershipOfAbsentUser(self):
        """
        Sections 9.3 and 10.3 (example 180): membership granted to a user who
        is not in the room: the occupants who may see real JIDs get a notice
        from the room, before the admin gets the result; in a non-anonymous
        room every occupant does.
        """
        received = self.admin(CRONE, "<item affiliation='member' jid='hecate@shakespeare.lit'/>",
                              iqId="member5")
        self.assertStanzas(received, [
            f"""<message from='{ROOM}' to='{CRONE}'><x xmlns='{NS_USER}'>
                  <item affiliation='member' jid='hecate@shakespeare.lit' role='none'/>
                </x></message>""",
            f"<iq from='{ROOM}' id='member5' to='{CRONE}' type='result'/>",
        ])
        self.room.config.whois = "anyone"
        received = self.effects(
            self.admin(CRONE, "<item affiliation='none' jid='hecate@shakespeare.lit'/>", iqId="member6"),
            "member6",
        )
        self.assertEqual([(CRONE, "none"), (WICCA, "none"), (HAG, "none")],
                         [(m["to"], item(m)["affiliation"]) for m in received])
        self.assertEqual({"message"}, {m.name for m in received})

    def test_membersOnlyLoss(self):
        """
        Section 9.4, example 128: in a members-only room the former member
        is removed with 321, without a presence update first.
        """
        self.admin(CRONE, "<item affiliation='member' jid='hag66@shakespeare.lit'/>"
                          "<item affiliation='member' jid='wiccarocks@shakespeare.lit'/>")
        self.configure({"muc#roomconfig_membersonly": "1"})
        received = self.admin(CRONE, "<item affiliation='none' jid='hag66@shakespeare.lit'/>", iqId="member2")
        self.assertEqual(
            [(HAG, "unavailable"), (CRONE, "unavailable"), (WICCA, "unavailable"), (CRONE, "result")],
            [(s["to"], s["type"]) for s in received],
        )
        self.assertEqual({110, 321}, statuses(received[0]))
        self.assertEqual(("none", "none"), (item(received[0])["affiliation"], item(received[0])["role"]))
        self.assertEqual({321}, statuses(received[2]))
        [refusal] = self.muc.join(HAG, "thirdwitch")
        self.assertEqual("registration-required", condition(refusal))

    def test_memberList(self):
        """
        Section 9.5, examples 129-134: the member list; a new member of a
        members-only room is invited, with the password.
        """
        self.admin(CRONE, "<item affiliation='member' jid='hag66@shakespeare.lit'/>"
                          "<item affiliation='member' jid='wiccarocks@shakespeare.lit'/>")
        self.configure({"muc#roomconfig_membersonly": "1", "muc#roomconfig_roomsecret": "cauldronburn"})
        [result] = self.admin(CRONE, "<item affiliation='member'/>", "get", "member3")
        assertStanza(self, result, f"""
            <iq id='member3' type='result'>
              <query xmlns='{NS_ADMIN}'>
                <item affiliation='member' jid='hag66@shakespeare.lit'/>
              </query>
            </iq>""")
        self.assertEqual([{"affiliation": "member", "jid": "hag66@shakespeare.lit"},
                          {"affiliation": "member", "jid": "wiccarocks@shakespeare.lit"}],
                         [dict(i.attributes) for i in result.query.elements(NS_ADMIN, "item")])
        received = self.admin(CRONE, "<item affiliation='member' jid='hecate@shakespeare.lit'/>", iqId="member4")
        notice, invitation = self.effects(received, "member4")
        self.assertEqual((CRONE, "member"), (notice["to"], item(notice)["affiliation"]))
        assertStanza(self, invitation, f"""
            <message from='{ROOM}' to='hecate@shakespeare.lit'>
              <x xmlns='{NS_USER}'>
                <invite from='crone1@shakespeare.lit'/>
                <password>cauldronburn</password>
              </x>
            </message>""")

    def test_moderator(self):
        """
        Sections 9.6-9.8, examples 137-150: an owner grants moderator
        status, lists the moderators and revokes it; nobody revokes an
        admin's.
        """
        received = self.effects(self.admin(CRONE, "<item nick='thirdwitch' role='moderator'/>", iqId="mod1"),
                                "mod1")
        self.assertEqual(["moderator"] * 3, [item(p)["role"] for p in received])
        [result] = self.admin(CRONE, "<item role='moderator'/>", "get", "mod3")
        self.assertEqual(["firstwitch", "thirdwitch"],
                         [i["nick"] for i in result.query.elements(NS_ADMIN, "item")])
        self.assertRefused(self.admin(HAG, "<item role='moderator'/>", "get"), "forbidden", "auth")
        self.assertRefused(self.admin(HAG, "<item nick='secondwitch' role='moderator'/>"), "forbidden", "auth")
        received = self.effects(self.admin(CRONE, "<item nick='thirdwitch' role='participant'/>", iqId="mod2"),
                                "mod2")
        self.assertEqual(["participant"] * 3, [item(p)["role"] for p in received])
        self.admin(CRONE, "<item affiliation='admin' jid='wiccarocks@shakespeare.lit'/>")
        self.assertRefused(self.admin(CRONE, "<item nick='secondwitch' role='participant'/>"), "not-allowed")

    def test_badItems(self):
        """
        An unknown affiliation, an item with both a role and an
        affiliation, or no item is a bad request; a bad JID is malformed.
        """
        for items in ("<item affiliation='king' jid='a@b'/>",
                      "<item affiliation='member' role='participant' jid='a@b'/>", ""):
            self.assertRefused(self.admin(CRONE, items), "bad-request", "modify")
        self.assertRefused(self.admin(CRONE, "<item affiliation='member' jid='@'/>"),
                           "jid-malformed", "modify")


class OwnerAffiliationTests(AdminHarnessMixin, unittest.TestCase):
    """
    XEP-0045 sections 10.2-10.8: owners and admins, and the form's lists.
    """

    def test_owner(self):
        """
        Sections 10.3-10.5, examples 172-185: an owner grants owner status
        to an absent user, lists the owners, and may step down once another
        owner remains; non-owners may not touch the list.
        """
        received = self.admin(CRONE, "<item affiliation='owner' jid='hecate@shakespeare.lit'/>", iqId="owner1")
        self.assertStanzas(received, [
            f"""<message from='{ROOM}' to='{CRONE}'><x xmlns='{NS_USER}'>
                  <item affiliation='owner' jid='hecate@shakespeare.lit' role='none'/>
                </x></message>""",
            f"<iq from='{ROOM}' id='owner1' to='{CRONE}' type='result'/>",
        ])
        [result] = self.admin(CRONE, "<item affiliation='owner'/>", "get", "owner3")
        self.assertEqual(
            [{"affiliation": "owner", "jid": "crone1@shakespeare.lit"},
             {"affiliation": "owner", "jid": "hecate@shakespeare.lit"}],
            [dict(i.attributes) for i in result.query.elements(NS_ADMIN, "item")],
        )
        self.assertRefused(self.admin(HAG, "<item affiliation='owner' jid='hag66@shakespeare.lit'/>"),
                           "forbidden", "auth")
        received = self.admin(CRONE, "<item affiliation='admin' jid='crone1@shakespeare.lit'/>", iqId="owner2")
        self.assertEqual(["admin"] * 3, [item(p)["affiliation"] for p in self.effects(received, "owner2")])

    def test_lastOwner(self):
        """
        Sections 10.4 and 10.7: the last owner may not step down: conflict.
        """
        self.assertRefused(self.admin(CRONE, "<item affiliation='none' jid='crone1@shakespeare.lit'/>"),
                           "conflict")
        self.assertEqual(Affiliation.OWNER, self.room.affiliationOf(JID(CRONE)))

    def test_admin(self):
        """
        Sections 10.6-10.8, examples 186-199: a present user made admin
        becomes a moderator; the admin list; revoked, a participant again;
        an admin may not edit the admin list.
        """
        received = self.admin(CRONE, "<item affiliation='admin' jid='wiccarocks@shakespeare.lit'/>",
                              iqId="admin1")
        assertStanza(self, self.effects(received, "admin1")[0], f"""
            <presence from='{ROOM}/secondwitch' to='{CRONE}'>
              <x xmlns='{NS_USER}'><item affiliation='admin' role='moderator'/></x>
            </presence>""")
        [result] = self.admin(CRONE, "<item affiliation='admin'/>", "get", "admin3")
        assertStanza(self, result, f"""
            <iq id='admin3' type='result'><query xmlns='{NS_ADMIN}'>
              <item affiliation='admin' jid='wiccarocks@shakespeare.lit'/>
            </query></iq>""")
        self.assertNotIn("role", result.query.firstChildElement().attributes)
        self.assertRefused(self.admin(WICCA, "<item affiliation='admin' jid='hag66@shakespeare.lit'/>"),
                           "forbidden", "auth")
        received = self.admin(CRONE, "<item affiliation='none' jid='wiccarocks@shakespeare.lit'/>",
                              iqId="admin2")
        self.assertEqual([("none", "participant")] * 3,
                         [(item(p)["affiliation"], item(p)["role"]) for p in self.effects(received, "admin2")])

    def test_listItems(self):
        """
        Sections 9.5, 10.5 and 10.8: an affiliation list's items carry
        affiliation, jid and the reserved nick, never a role, even for an
        occupant who is present (Converse.js 14 reads a role there as a
        role change). Role lists (8.5, 9.8, examples 104 and 147) carry
        affiliation, jid, nick and role.
        """
        self.admin(CRONE, "<item affiliation='member' jid='hag66@shakespeare.lit' nick='thirdwitch'/>"
                          "<item affiliation='admin' jid='wiccarocks@shakespeare.lit'/>")
        lists = {}
        for affiliation in ("owner", "admin", "member"):
            [result] = self.admin(CRONE, f"<item affiliation='{affiliation}'/>", "get")
            lists[affiliation] = [dict(i.attributes) for i in result.query.elements(NS_ADMIN, "item")]
        self.assertEqual({
            "owner": [{"affiliation": "owner", "jid": "crone1@shakespeare.lit"}],
            "admin": [{"affiliation": "admin", "jid": "wiccarocks@shakespeare.lit"}],
            "member": [{"affiliation": "member", "jid": "hag66@shakespeare.lit", "nick": "thirdwitch"}],
        }, lists)
        [voice] = self.admin(CRONE, "<item role='participant'/>", "get")
        [moderators] = self.admin(CRONE, "<item role='moderator'/>", "get")
        self.assertEqual(
            [{"affiliation": "member", "jid": HAG, "nick": "thirdwitch", "role": "participant"}],
            [dict(i.attributes) for i in voice.query.elements(NS_ADMIN, "item")],
        )
        self.assertEqual(
            [{"affiliation": "owner", "jid": CRONE, "nick": "firstwitch", "role": "moderator"},
             {"affiliation": "admin", "jid": WICCA, "nick": "secondwitch", "role": "moderator"}],
            [dict(i.attributes) for i in moderators.query.elements(NS_ADMIN, "item")],
        )

    def test_formLists(self):
        """
        Section 10.2, examples 165 and 168: the configuration form has the
        admin and owner lists; a submitted admin list updates the presence
        of those present.
        """
        self.muc.send(f"<iq from='{CRONE}' id='config1' to='{ROOM}' type='get'>"
                      "<query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
        [form] = self.muc.take()
        assertStanza(self, form, """
            <iq type='result'><query xmlns='http://jabber.org/protocol/muc#owner'>
              <x xmlns='jabber:x:data' type='form'>
                <field type='list-multi' var='muc#roomconfig_presencebroadcast'>
                  <value>moderator</value><value>participant</value><value>visitor</value>
                </field>
                <field type='jid-multi' var='muc#roomconfig_roomadmins'/>
                <field type='jid-multi' var='muc#roomconfig_roomowners'>
                  <value>crone1@shakespeare.lit</value>
                </field>
              </x>
            </query></iq>""")
        received = self.configure({"muc#roomconfig_roomadmins": "wiccarocks@shakespeare.lit"})
        received = self.effects(received, "cfg")
        self.assertEqual([("admin", "moderator")] * 3,
                         [(item(p)["affiliation"], item(p)["role"]) for p in received])
        received = self.configure({"muc#roomconfig_roomowners": ""})
        self.assertRefused(received, "conflict")

    def test_presenceBroadcast(self):
        """
        Section 10.2, muc#roomconfig_presencebroadcast: visitors' presence
        is not broadcast; one who loses voice is seen leaving; a visitor
        entering sees only broadcast roles and itself.
        """
        self.muc.send(f"""
            <iq from='{CRONE}' id='p' to='{ROOM}' type='set'>
              <query xmlns='http://jabber.org/protocol/muc#owner'>
                <x xmlns='jabber:x:data' type='submit'>
                  <field var='muc#roomconfig_presencebroadcast'>
                    <value>moderator</value><value>participant</value>
                  </field>
                </x>
              </query>
            </iq>""")
        self.muc.take()
        received = self.admin(CRONE, "<item nick='thirdwitch' role='visitor'/>")
        self.assertEqual(
            [(HAG, None, "visitor"), (CRONE, "unavailable", "none"),
             (WICCA, "unavailable", "none"), (CRONE, "result", None)],
            [(s["to"], s.getAttribute("type"), item(s) and item(s)["role"]) for s in received],
        )
        received = self.muc.join(HECATE, "hecate")
        self.assertEqual([f"{ROOM}/firstwitch", f"{ROOM}/secondwitch", f"{ROOM}/hecate"],
                         [p["from"] for p in received if p.name == "presence"])
        self.muc.take()
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/thirdwitch' type='unavailable'/>")
        self.assertEqual([HAG], [s["to"] for s in self.muc.take()])

    def test_presenceBroadcastChanged(self):
        """
        Section 10.2, muc#roomconfig_presencebroadcast: occupants whose role
        is no longer broadcast are shown to the others as gone, and come
        back when it is again.
        """
        received = self.configure({"muc#roomconfig_presencebroadcast": "moderator"})
        presences = [(p["from"].split("/")[1], p["to"], p.getAttribute("type"))
                     for p in received if p.name == "presence"]
        self.assertEqual(
            {("secondwitch", CRONE, "unavailable"), ("secondwitch", HAG, "unavailable"),
             ("thirdwitch", CRONE, "unavailable"), ("thirdwitch", WICCA, "unavailable")},
            set(presences),
        )
        self.assertEqual(4, len(presences))
        received = self.configure({"muc#roomconfig_presencebroadcast": "participant"})
        presences = {(p["from"].split("/")[1], p["to"], p.getAttribute("type"))
                     for p in received if p.name == "presence"}
        self.assertEqual(
            {("secondwitch", CRONE, None), ("secondwitch", HAG, None),
             ("thirdwitch", CRONE, None), ("thirdwitch", WICCA, None),
             ("firstwitch", WICCA, "unavailable"), ("firstwitch", HAG, "unavailable")},
            presences,
        )


class InvitationTests(AdminHarnessMixin, unittest.TestCase):
    """
    XEP-0045 section 7.8: mediated invitations and declines.
    """

    def test_invite(self):
        """
        Section 7.8.2, examples 56 and 57: the room sends the invitation
        from itself with the inviter's real JID, the reason and the
        password, under the same id.
        """
        self.configure({"muc#roomconfig_roomsecret": "cauldronburn"})
        self.muc.send(f"""
            <message from='{CRONE}' id='nzd143v8' to='{ROOM}'>
              <x xmlns='{NS_USER}'>
                <invite to='hecate@shakespeare.lit'>
                  <reason>Hey Hecate, this is the place for all good witches!</reason>
                </invite>
              </x>
            </message>""")
        self.assertStanzas(self.muc.take(), [f"""
            <message from='{ROOM}' id='nzd143v8' to='hecate@shakespeare.lit'>
              <x xmlns='{NS_USER}'>
                <invite from='{CRONE}'>
                  <reason>Hey Hecate, this is the place for all good witches!</reason>
                </invite>
                <password>cauldronburn</password>
              </x>
            </message>"""])
        self.assertEqual(Affiliation.NONE, self.room.affiliationOf(JID(HECATE)))

    def test_membersOnly(self):
        """
        Section 9.5, example 135: in a members-only room a mere member's
        invitation is forbidden; an owner's makes the invitee a member.
        """
        self.admin(CRONE, "<item affiliation='member' jid='hag66@shakespeare.lit'/>"
                          "<item affiliation='member' jid='wiccarocks@shakespeare.lit'/>")
        self.configure({"muc#roomconfig_membersonly": "1"})
        invite = (f"<message from='{{}}' id='inv' to='{ROOM}'><x xmlns='{NS_USER}'>"
                  "<invite to='hecate@shakespeare.lit'><reason>Hey</reason></invite></x></message>")
        self.muc.send(invite.format(HAG))
        [refusal] = self.muc.take()
        assertStanza(self, refusal, f"""
            <message from='{ROOM}' id='inv' to='{HAG}' type='error'>
              <x xmlns='{NS_USER}'><invite to='hecate@shakespeare.lit'/></x>
              <error type='auth'><forbidden xmlns='{NS_STANZAS}'/></error>
            </message>""")
        self.muc.send(invite.format(CRONE))
        [invitation] = self.muc.take()
        self.assertEqual("hecate@shakespeare.lit", invitation["to"])
        self.assertEqual(Affiliation.MEMBER, self.room.affiliationOf(JID(HECATE)))

    def test_nonOccupant(self):
        """
        Only occupants invite (section 7.8.2): not-acceptable; an invite
        needs a valid address.
        """
        self.muc.send(f"<message from='{HECATE}' to='{ROOM}'><x xmlns='{NS_USER}'>"
                      "<invite to='macbeth@scotland.lit'/></x></message>")
        self.assertRefused(self.muc.take(), "not-acceptable")
        for invite, expected in (("<invite/>", "bad-request"), ("<invite to='@'/>", "jid-malformed")):
            self.muc.send(f"<message from='{HAG}' to='{ROOM}'><x xmlns='{NS_USER}'>{invite}</x></message>")
            self.assertRefused(self.muc.take(), expected, "modify")

    def test_decline(self):
        """
        Section 7.8.3, examples 58 and 59: the decline goes to the inviter
        from the room, naming the decliner's bare JID.
        """
        self.muc.send(f"""
            <message from='{HECATE}' id='jk2vs61v' to='{ROOM}'>
              <x xmlns='{NS_USER}'>
                <decline to='crone1@shakespeare.lit'><reason>Sorry, I'm too busy right now.</reason></decline>
              </x>
            </message>""")
        self.assertStanzas(self.muc.take(), [f"""
            <message from='{ROOM}' id='jk2vs61v' to='crone1@shakespeare.lit'>
              <x xmlns='{NS_USER}'>
                <decline from='hecate@shakespeare.lit'><reason>Sorry, I'm too busy right now.</reason></decline>
              </x>
            </message>"""])
        self.muc.send(f"<message from='{HECATE}' id='d2' to='{ROOM}'><x xmlns='{NS_USER}'>"
                      f"<decline to='{ROOM}/thirdwitch'/></x></message>")
        self.assertEqual([HAG], [m["to"] for m in self.muc.take()])


class AdminNickTests(AdminHarnessMixin, unittest.TestCase):
    """
    Nicks in admin items (sections 8.2, 9.5) and registration (7.10) go
    through the Nickname profile too (RFC 8266).
    """

    def test_roleItemNick(self):
        """
        A role change naming a nick no occupant could have is jid-malformed;
        a possible nick nobody has, item-not-found.
        """
        self.assertRefused(self.admin(CRONE, "<item nick=' thirdwitch' role='none'/>"), "jid-malformed", "modify")
        self.assertRefused(self.admin(CRONE, f"<item nick='{'n' * 1024}' role='none'/>"),
                           "jid-malformed", "modify")
        self.assertRefused(self.admin(CRONE, "<item nick='nobody' role='none'/>"), "item-not-found")
        self.assertIsNotNone(self.room.occupant("thirdwitch"))

    def test_reservedNick(self):
        """
        Section 9.5: a nick reserved with a membership is enforced; one the
        profile refuses is jid-malformed, and nothing changes; a reserved
        nick conflicts with another case of it.
        """
        self.assertRefused(self.admin(CRONE, "<item affiliation='member' jid='hecate@shakespeare.lit' "
                                             "nick='   '/>"), "jid-malformed", "modify")
        self.assertEqual(Affiliation.NONE, self.room.affiliationOf(JID(HECATE)))
        self.admin(CRONE, "<item affiliation='member' jid='hecate@shakespeare.lit' nick=' Hecate '/>")
        self.assertEqual("Hecate", self.room.registeredNick(JID(HECATE)))
        [refusal] = self.muc.join("macbeth@shakespeare.lit/castle", "HECATE")
        self.assertEqual("conflict", condition(refusal))

    def test_registration(self):
        """
        Section 7.10: a registration with a nick the profile refuses is
        jid-malformed with the reason.
        """
        self.muc.send(f"<iq from='{HECATE}' id='r1' to='{ROOM}' type='set'>"
                      "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"
                      "<field var='muc#register_roomnick'><value>a\u1160</value></field>"
                      "</x></query></iq>")
        received = self.muc.take()
        self.assertRefused(received, "jid-malformed", "modify")
        self.assertIn("U+1160", errorText(received[0]))
        self.assertIsNone(self.room.registeredNick(JID(HECATE)))


class ShutdownTests(AdminHarnessMixin, unittest.TestCase):
    """
    XEP-0045 section 11.2: removal at service shutdown.
    """

    def test_shutdown(self):
        """
        Example 207: each occupant's sessions get unavailable with 110 and
        332; nobody gets the others' departure; the rooms are empty.
        """
        self.muc.join(HAG2, "thirdwitch")
        self.muc.take()
        self.muc.handler.shutdown()
        received = self.muc.take()
        self.assertEqual([(f"{ROOM}/firstwitch", CRONE), (f"{ROOM}/secondwitch", WICCA),
                          (f"{ROOM}/thirdwitch", HAG), (f"{ROOM}/thirdwitch", HAG2)],
                         [(p["from"], p["to"]) for p in received])
        assertStanza(self, received[0], f"""
            <presence from='{ROOM}/firstwitch' to='{CRONE}' type='unavailable'>
              <x xmlns='{NS_USER}'>
                <item affiliation='owner' role='none'/>
                <status code='110'/><status code='332'/>
              </x>
            </presence>""")
        self.assertEqual({110, 332}, statuses(received[3]))
        self.assertIsNone(self.muc.rooms.get(JID(ROOM)))


class NewcomerTests(AdminHarnessMixin, unittest.TestCase):
    """
    What a newcomer gets shows the room as it is now: each change of an
    occupant's presence, affiliation, role, nick or shown session, and of
    the room's subject; the subject message is serialized once for every
    newcomer (L{MUCHandler.subjectMessage}, issue 16).
    """

    def enter(self):
        """
        Hecate enters.

        @return: the elements themselves she got from the room, by kind
            and sender, and the stanzas as she read them, likewise.
        """
        self.muc.take()
        self.muc.send(f"<presence from='{HECATE}' to='{ROOM}/hecate'>"
                      "<x xmlns='http://jabber.org/protocol/muc'/></presence>")
        raw = [e for e in self.muc.raw if e.getAttribute("to") == HECATE]
        received = self.muc.take(HECATE)
        return {(e.name, e["from"]): e for e in raw}, {
            (s.name, s["from"]): s for s in received
        }

    def newcomer(self):
        """
        Hecate enters and leaves again.

        @return: as L{enter}.
        """
        entered = self.enter()
        self.muc.send(f"<presence from='{HECATE}' to='{ROOM}/hecate' type='unavailable'/>")
        self.muc.take()
        return entered

    def thirdwitch(self, byFrom):
        return byFrom[("presence", f"{ROOM}/thirdwitch")]

    def test_presenceChanged(self):
        """
        A presence update (section 7.7) is what the next newcomer gets.
        """
        self.newcomer()
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/thirdwitch'><show>xa</show></presence>")
        _, received = self.newcomer()
        self.assertEqual("xa", str(self.thirdwitch(received).show))

    def test_affiliationChanged(self):
        """
        Membership granted (section 9.3) shows in what the next newcomer
        gets.
        """
        _, before = self.newcomer()
        self.assertEqual("none", item(self.thirdwitch(before))["affiliation"])
        self.admin(CRONE, "<item affiliation='member' jid='hag66@shakespeare.lit'/>")
        _, received = self.newcomer()
        self.assertEqual("member", item(self.thirdwitch(received))["affiliation"])

    def test_affiliationChangedQuietly(self):
        """
        An affiliation changed without a presence broadcast (the owner
        edits the list while the room builds nothing) still shows: the
        affiliation is part of the key, not only of what a broadcast
        replaces.
        """
        self.newcomer()
        self.room.affiliations[JID("hag66@shakespeare.lit")] = Affiliation.ADMIN
        _, received = self.newcomer()
        self.assertEqual("admin", item(self.thirdwitch(received))["affiliation"])

    def test_nickChangedQuietly(self):
        """
        A nick changed with the same presence payload (the model allows it)
        still shows: the occupant JID is part of the key.
        """
        self.newcomer()
        self.room.changeNick(JID(HAG), "oldhag", self.room.occupant("thirdwitch").presence)
        _, received = self.newcomer()
        self.assertEqual({f"{ROOM}/firstwitch", f"{ROOM}/secondwitch", f"{ROOM}/oldhag",
                          f"{ROOM}/hecate", ROOM}, {frm for _, frm in received})

    def test_roleChanged(self):
        """
        Voice revoked (section 8.4) shows in what the next newcomer gets.
        """
        self.newcomer()
        self.admin(CRONE, "<item nick='thirdwitch' role='visitor'/>")
        _, received = self.newcomer()
        self.assertEqual("visitor", item(self.thirdwitch(received))["role"])

    def test_nickChanged(self):
        """
        After a nick change (section 7.6) the next newcomer gets the
        presence from the new occupant JID.
        """
        self.newcomer()
        self.muc.send(f"<presence from='{HAG}' to='{ROOM}/oldhag'/>")
        raw, received = self.newcomer()
        self.assertNotIn(("presence", f"{ROOM}/thirdwitch"), received)
        self.assertEqual("participant", item(received[("presence", f"{ROOM}/oldhag")])["role"])

    def test_realJIDs(self):
        """
        The real JID is shown once the room reveals it (section 7.2.3),
        and it is the JID of the session whose presence others see
        (section 7.2.8: the nick's latest).
        """
        _, before = self.newcomer()
        self.assertNotIn("jid", item(self.thirdwitch(before)))
        self.configure({"muc#roomconfig_whois": "anyone"})
        _, received = self.newcomer()
        self.assertEqual(HAG, item(self.thirdwitch(received))["jid"])
        self.muc.join(HAG2, "thirdwitch")
        _, received = self.newcomer()
        self.assertEqual(HAG2, item(self.thirdwitch(received))["jid"])
        self.muc.send(f"<presence from='{HAG2}' to='{ROOM}/thirdwitch' type='unavailable'/>")
        _, received = self.newcomer()
        self.assertEqual(HAG, item(self.thirdwitch(received))["jid"])

    def test_subject(self):
        """
        Newcomers get one subject element with an id of their own; a new
        subject makes a new one (section 7.2.15).
        """
        first, firstRead = self.newcomer()
        second, secondRead = self.newcomer()
        key = ("message", ROOM)
        self.assertIs(first[key], second[key])
        self.assertNotEqual(firstRead[key]["id"], secondRead[key]["id"])
        self.assertEqual("", str(secondRead[key].subject))
        self.muc.send(f"<message from='{CRONE}' to='{ROOM}' type='groupchat'>"
                      "<subject>Fire Burn and Cauldron Bubble!</subject></message>")
        raw, received = self.newcomer()
        assertStanza(self, received[("message", f"{ROOM}/firstwitch")], f"""
            <message from='{ROOM}/firstwitch' to='{HECATE}' type='groupchat'>
              <subject>Fire Burn and Cauldron Bubble!</subject>
              <delay xmlns='urn:xmpp:delay' from='{ROOM}'/>
              <occupant-id xmlns='urn:xmpp:occupant-id:0'/>
            </message>""")

    def test_subjectsBounded(self):
        """
        At most L{handler.SUBJECTS_SIZE} subject messages are kept; one
        that fell out is made again, the same.
        """
        from mepserver.muc import handler as handlerModule

        self.patch(handlerModule, "SUBJECTS_SIZE", 1)
        first, firstRead = self.newcomer()
        self.muc.join(HECATE, "hecate", room="heath@chat.shakespeare.lit")
        self.muc.send(f"<presence from='{HECATE}' to='heath@chat.shakespeare.lit/hecate' type='unavailable'/>")
        self.assertEqual(1, len(self.muc.handler.subjects))
        second, secondRead = self.newcomer()
        key = ("message", ROOM)
        self.assertIsNot(first[key], second[key])
        self.assertEqual(
            firstRead[key].toXml().replace(firstRead[key]["id"], ""),
            secondRead[key].toXml().replace(secondRead[key]["id"], ""),
        )


class RegistrationTests(AdminHarnessMixin, unittest.TestCase):
    """
    XEP-0045 sections 7.10 and 7.12: registering with a room and the
    reserved nick.
    """

    def register(self, sender, query, kind="set", iqId="reg1"):
        self.muc.send(f"<iq from='{sender}' id='{iqId}' to='{ROOM}' type='{kind}'>"
                      f"<query xmlns='jabber:iq:register'>{query}</query></iq>")
        return self.muc.take()

    def form(self, nick):
        return ("<x xmlns='jabber:x:data' type='submit'>"
                "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>"
                f"<field var='muc#register_roomnick'><value>{nick}</value></field></x>")

    def test_register(self):
        """
        Section 7.10, examples 66, 70, 71, 75, 76 and 69: the form; the
        submission makes the occupant a member, announced to all; asked
        again, the room says it is registered.
        """
        [reply] = self.register(HAG, "", "get", "jw81b36f")
        assertStanza(self, reply, f"""
            <iq from='{ROOM}' id='jw81b36f' to='{HAG}' type='result'>
              <query xmlns='jabber:iq:register'>
                <x xmlns='jabber:x:data' type='form'>
                  <field type='hidden' var='FORM_TYPE'>
                    <value>http://jabber.org/protocol/muc#register</value>
                  </field>
                  <field type='text-single' var='muc#register_roomnick'><required/></field>
                </x>
              </query>
            </iq>""")
        received = self.register(HAG, self.form("thirdwitch"), iqId="nv71va54")
        assertStanza(self, received[-1], f"<iq from='{ROOM}' id='nv71va54' to='{HAG}' type='result'/>")
        self.assertEqual(["member"] * 3, [item(p)["affiliation"] for p in self.effects(received, "nv71va54")])
        [reply] = self.register(HAG2, "", "get")
        assertStanza(self, reply, """
            <iq type='result'><query xmlns='jabber:iq:register'>
              <registered/><username>thirdwitch</username>
            </query></iq>""")

    def test_refused(self):
        """
        Section 7.10, examples 67, 68, 72 and 74: no such room, an outcast,
        a nick reserved by another, a form without a nick.
        """
        self.muc.send(f"<iq from='{HAG}' id='r' to='heath@{SERVICE}' type='get'>"
                      "<query xmlns='jabber:iq:register'/></iq>")
        self.assertRefused(self.muc.take(), "item-not-found")
        self.register(HECATE, self.form("hecate"))
        self.assertRefused(self.register(HAG, self.form("hecate")), "conflict")
        self.assertRefused(self.register(HAG, self.form("")), "bad-request", "modify")
        self.admin(CRONE, "<item affiliation='outcast' jid='macbeth@shakespeare.lit'/>")
        self.muc.send(f"<iq from='macbeth@shakespeare.lit/castle' id='r' to='{ROOM}' type='get'>"
                      "<query xmlns='jabber:iq:register'/></iq>")
        self.assertRefused(self.muc.take(), "not-allowed")

    def test_reservedNick(self):
        """
        Section 7.12, examples 77 and 78: the reserved nick as an identity
        of the x-roomuser-item node; an empty query without one.
        """
        query = (f"<iq from='{HAG}' id='getnick1' to='{ROOM}' type='get'>"
                 "<query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>")
        self.muc.send(query)
        [reply] = self.muc.take()
        self.assertEqual("result", reply["type"])
        self.assertEqual([], list(reply.query.elements()))
        self.register(HAG, self.form("thirdwitch"))
        self.muc.send(query)
        [reply] = self.muc.take()
        assertStanza(self, reply, f"""
            <iq from='{ROOM}' id='getnick1' to='{HAG}' type='result'>
              <query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'>
                <identity category='conference' name='thirdwitch' type='text'/>
              </query>
            </iq>""")


class ConstructionTests(unittest.SynchronousTestCase):
    """
    The MUC handler takes its followers through its constructor, checked
    against the interfaces it calls them by.
    """

    def test_collaboratorsChecked(self):
        """
        Observers must provide L{IOccupantObserver}, the occupant services
        L{IOccupantServices}.
        """
        config = configModule.Config(mucDomain=SERVICE)
        rooms = Rooms(config, SeededIdSource(), task.Clock(), MemoryRoomStore())
        self.assertRaises(Invalid, MUCHandler, rooms, observers=[object()])
        self.assertRaises(Invalid, MUCHandler, rooms, occupantServices=object())
        handler = MUCHandler(rooms)
        self.assertEqual(([], None), (handler.observers, handler.occupantServices))
