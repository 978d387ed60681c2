# -*- test-case-name: tests.test_muc_handler -*-
"""
Protocol tests for L{mepserver.muc.handler} and L{mepserver.muc.stanzas}:
stanzas shaped like XEP-0045's examples go through a router to the MUC
component, and what reaches users is recorded.
"""

from twisted.internet import task
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from wokkel import component, generic

from mepserver import config as configModule
from mepserver import errors
from mepserver.ids import SeededIdSource
from mepserver.muc import stanzas
from mepserver.muc.handler import MUCDiscoHandler, MUCHandler
from mepserver.muc.model import Affiliation, Role, Rooms
from mepserver.router import Router
from mepserver.server import ServerInfoHandler
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

    @ivar received: copies of the stanzas delivered to users, in order.
    @ivar raw: the delivered elements themselves.
    """

    def __init__(self, testCase, **settings):
        settings.setdefault("mucDomain", SERVICE)
        settings.setdefault("domain", "shakespeare.lit")
        self.config = configModule.Config(**settings)
        self.clock = task.Clock()
        self.clock.advance(1000000000)
        self.store = MemoryRoomStore()
        self.rooms = Rooms(self.config, SeededIdSource(), self.clock, self.store)
        self.router = Router()
        self.component = component.InternalComponent(self.router, SERVICE)
        self.handler = MUCHandler(self.rooms)
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
        [entry] = self.successResultOf(d)
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
        received = self.muc.take(CRONE)
        assertStanza(self, received[0], f"<iq from='{ROOM}' id='create2' type='result'/>")
        self.assertEqual({104}, statuses(received[1]))
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
        received = self.muc.take(CRONE)
        self.assertEqual("result", received[0]["type"])
        assertStanza(self, received[1], f"""
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
            f"<iq from='{ROOM}' id='begone' to='{CRONE}' type='result'/>",
            f"""<presence from='{ROOM}/firstwitch' to='{CRONE}' type='unavailable'>
                  <x xmlns='http://jabber.org/protocol/muc#user'>
                    <item affiliation='none' role='none'/>
                    <destroy jid='heath@chat.shakespeare.lit'><reason>Macbeth doth come.</reason></destroy>
                  </x>
                </presence>""",
            f"""<presence from='{ROOM}/secondwitch' to='{WICCA}' type='unavailable'>
                  <x xmlns='http://jabber.org/protocol/muc#user'><destroy/></x>
                </presence>""",
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
        occupant-id. One element is built for all recipients (DESIGN.md
        section 9).
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
        self.assertEqual(1, len({id(element) for element in raw}))
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
        received = self.muc.take()
        self.assertEqual("result", received[0]["type"])
        self.assertEqual([CRONE, WICCA, HAG], [m["to"] for m in received[1:]])
        assertStanza(self, received[1], f"""
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
