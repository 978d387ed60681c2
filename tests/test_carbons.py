# -*- test-case-name: tests.test_carbons -*-
"""
Tests for L{mepserver.c2s.carbons}: Message Carbons (XEP-0280) section by
section, with XEP-0334's no-copy hint.

The client domain is L{mepserver.server.buildServer}'s own (L{PEPHarness})
with a recorded MUC domain; the XEP's cast lives on capulet.lit, since the
server has no server-to-server links: romeo at garden, home and pda,
juliet at balcony.
"""

from twisted.trial import unittest

from mepserver.c2s import carbons
from mepserver.c2s.carbons import isEligible
from tests.helpers import parseXml, stanzaMismatch
from tests.memory import MemoryServer
from tests.test_pep import MUC_DOMAIN, PEPHarness

NS_CARBONS = "urn:xmpp:carbons:2"
NS_FORWARD = "urn:xmpp:forward:0"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"

#: XEP-0280 example 6, from juliet to romeo's garden.
DIRECTED = (
    "<message to='romeo@capulet.lit/garden' type='chat'>"
    "<body>What man art thou that, thus bescreen'd in night, so stumblest on my counsel?</body>"
    "<thread>0e3141cd80894871a68e6fe6b1ec56fa</thread></message>"
)

#: XEP-0280 example 7: what romeo's home receives.
RECEIVED_CARBON = (
    "<message from='romeo@capulet.lit' to='romeo@capulet.lit/home' type='chat'>"
    f"<received xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
    "<message xmlns='jabber:client' from='juliet@capulet.lit/balcony'"
    " to='romeo@capulet.lit/garden' type='chat'>"
    "<body>What man art thou that, thus bescreen'd in night, so stumblest on my counsel?</body>"
    "<thread>0e3141cd80894871a68e6fe6b1ec56fa</thread>"
    "</message></forwarded></received></message>"
)

#: XEP-0280 example 8, from romeo's home to juliet.
REPLY = (
    "<message to='juliet@capulet.lit/balcony' type='chat'>"
    "<body>Neither, fair saint, if either thee dislike.</body>"
    "<thread>0e3141cd80894871a68e6fe6b1ec56fa</thread></message>"
)

#: XEP-0280 example 9: what romeo's garden receives.
SENT_CARBON = (
    "<message from='romeo@capulet.lit' to='romeo@capulet.lit/garden' type='chat'>"
    f"<sent xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
    "<message xmlns='jabber:client' to='juliet@capulet.lit/balcony'"
    " from='romeo@capulet.lit/home' type='chat'>"
    "<body>Neither, fair saint, if either thee dislike.</body>"
    "<thread>0e3141cd80894871a68e6fe6b1ec56fa</thread>"
    "</message></forwarded></sent></message>"
)


def carbonsRequest(name, kind="set", to=None, iqId="enable1"):
    """
    An enable or disable request (XEP-0280 examples 2 and 5).
    """
    target = f" to='{to}'" if to else ""
    return f"<iq type='{kind}' id='{iqId}'{target}><{name} xmlns='{NS_CARBONS}'/></iq>"


def stanzaError(condition, kind):
    return (
        f"<iq type='error'><error type='{kind}'><{condition} xmlns='{NS_STANZAS}'/>"
        "</error></iq>"
    )


class CarbonsTestCase(unittest.TestCase):
    """
    romeo is online at garden, home and pda, juliet at balcony, all
    available; garden and home enabled carbons, pda did not.
    """

    def setUp(self):
        self.harness = PEPHarness(self)
        self.garden = self.harness.connect("romeo", "garden")
        self.home = self.harness.connect("romeo", "home")
        self.pda = self.harness.connect("romeo", "pda")
        self.juliet = self.harness.connect("juliet", "balcony")
        for client in self.clients():
            client.send("<presence/>")
        for client in (self.garden, self.home):
            self.enable(client)
        self.forget()

    def clients(self):
        return [self.garden, self.home, self.pda, self.juliet]

    def forget(self):
        for client in self.clients():
            client.take()
        self.harness.muc.clear()

    def enable(self, client):
        answer = client.request(carbonsRequest("enable"))
        self.assertEqual("result", answer["type"], answer.toXml())

    def assertError(self, answer, condition, kind):
        problem = stanzaMismatch(answer, stanzaError(condition, kind))
        self.assertIsNone(problem, f"{problem}\n{answer.toXml()}")
        self.assertTrue(str(answer.error.text).strip(), answer.toXml())


class DiscoveryTests(CarbonsTestCase):
    """
    XEP-0280 section 2: the server announces carbons.
    """

    def test_serverFeatures(self):
        """
        The server's disco#info lists C{urn:xmpp:carbons:2} and, since it
        applies every rule of section 6.1, C{urn:xmpp:carbons:rules:0}
        (example 1).
        """
        answer = self.garden.request(
            "<iq type='get' id='info1' to='capulet.lit'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        features = [f["var"] for f in answer.query.elements("http://jabber.org/protocol/disco#info", "feature")]
        self.assertIn("urn:xmpp:carbons:2", features)
        self.assertIn("urn:xmpp:carbons:rules:0", features)

    def test_notOnAccounts(self):
        """
        An account's bare JID does not announce carbons: the server does.
        """
        answer = self.garden.request(
            "<iq type='get' id='info2' to='romeo@capulet.lit'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        )
        features = [f["var"] for f in answer.query.elements("http://jabber.org/protocol/disco#info", "feature")]
        self.assertNotIn("urn:xmpp:carbons:2", features)


class EnableTests(CarbonsTestCase):
    """
    XEP-0280 sections 4, 5 and 11.1: enabling and disabling.
    """

    def test_enable(self):
        """
        Example 3: the result comes from the account's bare JID, and the
        session has carbons enabled.
        """
        answer = self.pda.request(carbonsRequest("enable"))
        problem = stanzaMismatch(
            answer,
            "<iq from='romeo@capulet.lit' id='enable1' to='romeo@capulet.lit/pda'"
            " type='result'/>",
        )
        self.assertIsNone(problem, answer.toXml())
        self.assertEqual([], list(answer.elements()))
        self.assertTrue(self.pda.session.carbons)

    def test_enableAtOwnBareJID(self):
        """
        A request addressed to the account's own bare JID is the same
        request.
        """
        answer = self.pda.request(carbonsRequest("enable", to="romeo@capulet.lit"))
        self.assertEqual("result", answer["type"])
        self.assertTrue(self.pda.session.carbons)

    def test_enableTwice(self):
        """
        Section 11.1: enabling again is no error.
        """
        answer = self.garden.request(carbonsRequest("enable", iqId="again"))
        self.assertEqual("result", answer["type"])
        self.assertTrue(self.garden.session.carbons)

    def test_disable(self):
        """
        Examples 5 and 6: the result comes from the bare JID, carbons are
        off for the session, and disabling again is no error (section
        11.1).
        """
        for iqId in ("disable1", "disable2"):
            answer = self.garden.request(carbonsRequest("disable", iqId=iqId))
            problem = stanzaMismatch(
                answer,
                f"<iq from='romeo@capulet.lit' id='{iqId}' to='romeo@capulet.lit/garden'"
                " type='result'/>",
            )
            self.assertIsNone(problem, answer.toXml())
            self.assertFalse(self.garden.session.carbons)
        self.assertTrue(self.home.session.carbons)

    def test_enableAgainAfterDisable(self):
        """
        Section 11.1: a session may enable and disable many times.
        """
        self.garden.request(carbonsRequest("disable"))
        self.enable(self.garden)
        self.assertTrue(self.garden.session.carbons)

    def test_get(self):
        """
        Carbons are set, not got: an IQ get is refused with C{not-allowed}.
        """
        for name in ("enable", "disable"):
            answer = self.pda.request(carbonsRequest(name, kind="get"))
            self.assertError(answer, "not-allowed", "cancel")
        self.assertFalse(self.pda.session.carbons)

    def test_otherAccount(self):
        """
        Sections 4.1 and 5.1: a request at another account's bare JID is
        refused with C{not-allowed}, and changes nothing.
        """
        for name, client in (("enable", self.pda), ("disable", self.garden)):
            answer = self.juliet.request(carbonsRequest(name, to="romeo@capulet.lit"))
            self.assertError(answer, "not-allowed", "cancel")
            self.assertEqual("romeo@capulet.lit", answer["from"])
        self.assertFalse(self.pda.session.carbons)
        self.assertTrue(self.garden.session.carbons)
        self.assertFalse(self.juliet.session.carbons)

    def test_unknownRequest(self):
        """
        An IQ set with another carbons element is a C{bad-request}.
        """
        answer = self.pda.request(carbonsRequest("private"))
        self.assertError(answer, "bad-request", "modify")

    def test_toFullJID(self):
        """
        A request to a full JID is that client's to answer (RFC 6120
        section 10.5.4): it is delivered, not taken by the server.
        """
        self.pda.send(carbonsRequest("enable", to="romeo@capulet.lit/garden"))
        self.assertEqual([], self.pda.take())
        [delivered] = self.garden.take()
        self.assertEqual("romeo@capulet.lit/pda", delivered["from"])
        self.assertFalse(self.pda.session.carbons)


class ReceivedTests(CarbonsTestCase):
    """
    XEP-0280 section 6: copies of what an account receives.
    """

    def test_directed(self):
        """
        Examples 6 and 7: a chat to garden goes to garden unchanged, and a
        C{<received/>} copy of it to home, carbons-enabled; pda, which did
        not enable carbons, and juliet get nothing.
        """
        self.juliet.send(DIRECTED)
        [original] = self.garden.expect(DIRECTED)
        self.assertIsNone(original.received)
        [carbon] = self.home.expect(RECEIVED_CARBON)
        self.assertEqual({"from", "to", "type"}, set(carbon.attributes))
        self.pda.expectNothing()
        self.juliet.expectNothing()

    def test_notToRecipientWithoutCarbons(self):
        """
        The resource the message is addressed to gets the original only,
        whether or not it enabled carbons.
        """
        self.juliet.send(DIRECTED.replace("romeo@capulet.lit/garden", "romeo@capulet.lit/pda"))
        self.pda.expect("<message to='romeo@capulet.lit/pda' type='chat'/>")
        [carbon] = self.garden.expect(
            "<message from='romeo@capulet.lit' to='romeo@capulet.lit/garden' type='chat'>"
            f"<received xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
            "<message xmlns='jabber:client' to='romeo@capulet.lit/pda'/></forwarded></received></message>"
        )
        self.home.expect(
            f"<message to='romeo@capulet.lit/home'><received xmlns='{NS_CARBONS}'/></message>"
        )

    def test_bareJIDNoDuplicates(self):
        """
        A chat to the bare JID goes to every available resource (RFC 6121
        section 8.5.2.1.1); a resource that received the original gets no
        copy as well.
        """
        self.juliet.send("<message to='romeo@capulet.lit' type='chat'><body>hi</body></message>")
        for client in (self.garden, self.home, self.pda):
            client.expect("<message to='romeo@capulet.lit' type='chat'><body>hi</body></message>")

    def test_bareJIDToOthers(self):
        """
        A carbons-enabled session that did not receive a bare-JID message
        under RFC 6121 (not available, or a negative priority) gets a copy.
        """
        self.home.send("<presence><priority>-1</priority></presence>")
        quiet = self.harness.connect("romeo", "quiet")
        self.enable(quiet)
        self.forget()
        quiet.take()
        self.juliet.send("<message to='romeo@capulet.lit' type='chat'><body>hi</body></message>")
        self.garden.expect("<message to='romeo@capulet.lit'><body>hi</body></message>")
        self.pda.expect("<message to='romeo@capulet.lit'><body>hi</body></message>")
        for client in (self.home, quiet):
            client.expect(
                f"<message from='romeo@capulet.lit' to='{client.jid.full()}' type='chat'>"
                f"<received xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
                "<message xmlns='jabber:client' from='juliet@capulet.lit/balcony' to='romeo@capulet.lit'>"
                "<body>hi</body></message></forwarded></received></message>"
            )

    def test_offlineResource(self):
        """
        A chat to a full JID with no session is delivered as to the bare
        JID (RFC 6121 section 8.5.3.2.1); copies go only to the enabled
        sessions that did not get it.
        """
        self.home.send("<presence type='unavailable'/>")
        self.forget()
        self.juliet.send(DIRECTED.replace("/garden", "/nowhere"))
        self.garden.expect("<message to='romeo@capulet.lit/nowhere'/>")
        self.pda.expect("<message to='romeo@capulet.lit/nowhere'/>")
        self.home.expect(
            f"<message to='romeo@capulet.lit/home'><received xmlns='{NS_CARBONS}'>"
            f"<forwarded xmlns='{NS_FORWARD}'><message xmlns='jabber:client' to='romeo@capulet.lit/nowhere'/>"
            "</forwarded></received></message>"
        )

    def test_notDelivered(self):
        """
        Carbons copy only what is delivered: a chat to an account with no
        available session is kept offline (XEP-0160), and its
        carbons-enabled session that is not available gets no copy.
        """
        for client in (self.garden, self.home, self.pda):
            client.send("<presence type='unavailable'/>")
        self.forget()
        self.juliet.send("<message to='romeo@capulet.lit' type='chat' id='m1'><body>hi</body></message>")
        self.juliet.expectNothing()
        for client in (self.garden, self.home, self.pda):
            client.expectNothing()
        [stored] = self.successResultOf(self.harness.users.getOfflineMessages("romeo"))
        self.assertEqual("m1", parseXml(stored.stanza, "jabber:client")["id"])

    def test_disabled(self):
        """
        After disabling, a session gets no more copies.
        """
        self.home.request(carbonsRequest("disable"))
        self.juliet.send(DIRECTED)
        self.garden.expect(DIRECTED)
        self.home.expectNothing()

    def test_endedSession(self):
        """
        A carbons-enabled session that ended gets nothing, and its
        resource bound anew starts without carbons.
        """
        self.home.session.ended()
        self.forget()
        self.juliet.send(DIRECTED)
        self.garden.expect(DIRECTED)
        self.home.expectNothing()
        again = self.harness.connect("romeo", "home")
        self.assertFalse(again.session.carbons)


class SentTests(CarbonsTestCase):
    """
    XEP-0280 section 7: copies of what an account sends.
    """

    def test_sent(self):
        """
        Examples 8 and 9: home's reply goes to juliet unchanged, a
        C{<sent/>} copy to garden; home, the sender, and pda, not enabled,
        get nothing.
        """
        self.home.send(REPLY)
        self.juliet.expect(REPLY)
        [carbon] = self.garden.expect(SENT_CARBON)
        self.assertEqual({"from", "to", "type"}, set(carbon.attributes))
        self.home.expectNothing()
        self.pda.expectNothing()

    def test_senderWithoutCarbons(self):
        """
        Section 7: copies go out whether or not the sender enabled carbons.
        """
        self.pda.send(REPLY)
        self.juliet.expect(REPLY)
        for client in (self.garden, self.home):
            client.expect(
                f"<message from='romeo@capulet.lit' to='{client.jid.full()}' type='chat'>"
                f"<sent xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
                "<message xmlns='jabber:client' from='romeo@capulet.lit/pda' to='juliet@capulet.lit/balcony'/>"
                "</forwarded></sent></message>"
            )

    def test_toOtherDomain(self):
        """
        A chat to a MUC occupant (here, without the C{muc#user} marker) is
        copied too, and reaches the MUC service unchanged.
        """
        self.home.send(
            f"<message to='room@{MUC_DOMAIN}/nurse' type='chat'><body>hi</body></message>"
        )
        self.harness.muc.expect(self, f"<message from='romeo@capulet.lit/home' to='room@{MUC_DOMAIN}/nurse'/>")
        self.garden.expect(
            f"<message><sent xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
            f"<message xmlns='jabber:client' to='room@{MUC_DOMAIN}/nurse'/></forwarded></sent></message>"
        )


class OwnAccountTests(CarbonsTestCase):
    """
    Messages an account sends itself: every session sees each message
    once, as the original or as one copy.
    """

    def test_toOwnBareJID(self):
        """
        A chat to the account's own bare JID reaches every available
        session, the sender included (RFC 6121 section 8.5.2.1.1), and no
        C{<sent/>} copy duplicates it; an enabled session that did not get
        it gets a C{<received/>} copy.
        """
        quiet = self.harness.connect("romeo", "quiet")
        self.enable(quiet)
        quiet.take()
        self.home.send("<message to='romeo@capulet.lit' type='chat'><body>note</body></message>")
        for client in (self.garden, self.home, self.pda):
            client.expect("<message from='romeo@capulet.lit/home' to='romeo@capulet.lit'/>")
        quiet.expect(
            "<message from='romeo@capulet.lit' to='romeo@capulet.lit/quiet' type='chat'>"
            f"<received xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
            "<message xmlns='jabber:client' from='romeo@capulet.lit/home' to='romeo@capulet.lit'/>"
            "</forwarded></received></message>"
        )

    def test_withoutTo(self):
        """
        A message without C{to} is for the account's bare JID (RFC 6120
        section 10.3) and treated the same.
        """
        self.home.send("<message type='chat'><body>note</body></message>")
        for client in (self.garden, self.home, self.pda):
            client.expect("<message from='romeo@capulet.lit/home' to='romeo@capulet.lit'/>")

    def test_betweenResources(self):
        """
        A chat from home to garden reaches garden; the other enabled
        sessions get one C{<received/>} copy, the sender none.
        """
        quiet = self.harness.connect("romeo", "quiet")
        self.enable(quiet)
        quiet.take()
        self.home.send("<message to='romeo@capulet.lit/garden' type='chat'><body>psst</body></message>")
        self.garden.expect("<message from='romeo@capulet.lit/home' to='romeo@capulet.lit/garden'/>")
        quiet.expect(
            f"<message to='romeo@capulet.lit/quiet'><received xmlns='{NS_CARBONS}'>"
            f"<forwarded xmlns='{NS_FORWARD}'><message xmlns='jabber:client' from='romeo@capulet.lit/home'"
            " to='romeo@capulet.lit/garden'/></forwarded></received></message>"
        )
        self.home.expectNothing()
        self.pda.expectNothing()


class HintTests(CarbonsTestCase):
    """
    XEP-0280 section 8 and XEP-0334 section 4.3: a message marked private
    or no-copy is not copied, and is delivered with its marks.
    """

    def test_privateAndNoCopySent(self):
        """
        Examples 10 and 11: romeo's server delivers the message unchanged
        and makes no copy.
        """
        private = REPLY.replace(
            "</message>",
            f"<private xmlns='{NS_CARBONS}'/><no-copy xmlns='urn:xmpp:hints'/></message>",
        )
        self.home.send(private)
        self.juliet.expect(private)
        self.garden.expectNothing()

    def test_eitherHintAlone(self):
        """
        Either hint alone keeps a message from being copied, sent or
        received.
        """
        for hint in (f"<private xmlns='{NS_CARBONS}'/>", "<no-copy xmlns='urn:xmpp:hints'/>"):
            self.home.send(REPLY.replace("</message>", hint + "</message>"))
            self.juliet.send(DIRECTED.replace("</message>", hint + "</message>"))
            [delivered] = self.juliet.take()
            self.assertEqual(1, len(list(delivered.elements(*_name(hint)))), hint)
            [delivered] = self.garden.take()
            self.assertEqual(1, len(list(delivered.elements(*_name(hint)))), hint)
            self.home.expectNothing()
            self.pda.expectNothing()


def _name(literal):
    element = parseXml(literal)
    return element.uri, element.name


class EligibilityTests(CarbonsTestCase):
    """
    XEP-0280 section 6.1 through the server: what is and is not copied.
    """

    def test_groupchatNotCopied(self):
        """
        A groupchat message to a full JID is delivered, never copied.
        """
        self.harness.muc.send(
            f"<message from='room@{MUC_DOMAIN}/juliet' to='romeo@capulet.lit/garden'"
            " type='groupchat'><body>hi all</body></message>"
        )
        self.garden.expect("<message type='groupchat'/>")
        self.home.expectNothing()

    def test_headlineNotCopied(self):
        """
        A headline is not an IM message: not copied.
        """
        self.juliet.send(
            "<message to='romeo@capulet.lit/garden' type='headline'><body>news</body></message>"
        )
        self.garden.expect("<message type='headline'/>")
        self.home.expectNothing()

    def test_normalWithBody(self):
        """
        A normal message with a body is copied, keeping its (absent) type.
        """
        self.juliet.send("<message to='romeo@capulet.lit/garden'><body>hi</body></message>")
        self.garden.expect("<message><body>hi</body></message>")
        [carbon] = self.home.expect(f"<message><received xmlns='{NS_CARBONS}'/></message>")
        self.assertIsNone(carbon.getAttribute("type"))

    def test_normalWithoutBody(self):
        """
        A normal message without a body or IM payload is not copied.
        """
        self.juliet.send(
            "<message to='romeo@capulet.lit/garden'><x xmlns='urn:example'/></message>"
        )
        self.garden.expect("<message/>")
        self.home.expectNothing()

    def test_mucPrivateMessageReceived(self):
        """
        Section 6.1: a private message from a MUC occupant to a full JID
        (with the C{muc#user} marker the room adds) is not copied: the room
        sends it to every session joined as that occupant, and a session
        that is not joined could not answer it.
        """
        self.harness.muc.send(
            f"<message from='room@{MUC_DOMAIN}/juliet' to='romeo@capulet.lit/garden'"
            f" type='chat'><body>psst</body><x xmlns='{NS_MUC_USER}'/></message>"
        )
        self.garden.expect("<message type='chat'><body>psst</body></message>")
        self.home.expectNothing()

    def test_mucPrivateMessageSent(self):
        """
        Section 6.1: a private message a session sends to an occupant is
        copied, with its C{muc#user} marker.
        """
        self.home.send(
            f"<message to='room@{MUC_DOMAIN}/juliet' type='chat'><body>psst</body>"
            f"<x xmlns='{NS_MUC_USER}'/></message>"
        )
        self.harness.muc.expect(self, f"<message to='room@{MUC_DOMAIN}/juliet'/>")
        self.garden.expect(
            f"<message><sent xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
            f"<message xmlns='jabber:client' to='room@{MUC_DOMAIN}/juliet'><x xmlns='{NS_MUC_USER}'/></message>"
            "</forwarded></sent></message>"
        )

    def test_mediatedInvitation(self):
        """
        Section 6.1: a mediated invitation (XEP-0045 section 7.8.2), sent by
        the room to the bare JID without a body, is copied to the
        carbons-enabled sessions that did not get it.
        """
        self.home.send("<presence type='unavailable'/>")
        self.forget()
        invitation = (
            f"<message from='room@{MUC_DOMAIN}' to='romeo@capulet.lit'>"
            f"<x xmlns='{NS_MUC_USER}'><invite from='juliet@capulet.lit/balcony'>"
            "<reason>Hey!</reason></invite></x></message>"
        )
        forwarded = invitation.replace("<message ", "<message xmlns='jabber:client' ", 1)
        self.harness.muc.send(invitation)
        self.garden.expect(invitation)
        self.pda.expect(invitation)
        self.home.expect(
            f"<message><received xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
            f"{forwarded}</forwarded></received></message>"
        )

    def test_errorFromBareJID(self):
        """
        An error received from a bare JID (the bounce of a message sent to
        a bare JID) is copied, with type error.
        """
        self.harness.muc.send(
            f"<message from='room@{MUC_DOMAIN}' to='romeo@capulet.lit/garden' type='error'>"
            f"<error type='cancel'><not-acceptable xmlns='{NS_STANZAS}'/></error></message>"
        )
        self.garden.expect("<message type='error'/>")
        self.home.expect(
            "<message type='error'><received xmlns='urn:xmpp:carbons:2'/></message>"
        )

    def test_errorFromFullJID(self):
        """
        An error received from a full JID is not copied.
        """
        self.juliet.send(
            "<message to='romeo@capulet.lit/garden' type='error'>"
            f"<error type='cancel'><not-acceptable xmlns='{NS_STANZAS}'/></error></message>"
        )
        self.garden.expect("<message type='error'/>")
        self.home.expectNothing()


class RoomFlowTests(unittest.TestCase):
    """
    Carbons and the real MUC service, in memory (L{tests.memory}): romeo is
    in the room verona from garden only, and both garden and home enabled
    carbons. Each client's flush is the barrier after which nothing more
    can arrive.
    """

    room = "verona@conference.localhost"

    def setUp(self):
        self.server = MemoryServer(self, mucCreateUnlocked=True)
        for username in ("juliet", "romeo"):
            self.server.createAccount(username)
        self.garden = self.server.connect("romeo", "garden")
        self.home = self.server.connect("romeo", "home")
        self.juliet = self.server.connect("juliet", "balcony")
        for client in (self.garden, self.home):
            client.send(carbonsRequest("enable"))
            client.expect(self, "<iq type='result' id='enable1'/>")
        for client, nick in ((self.garden, "Romeo"), (self.juliet, "Juliet")):
            client.send(
                f"<presence to='{self.room}/{nick}'>"
                "<x xmlns='http://jabber.org/protocol/muc'/></presence>"
            )
        for client in (self.garden, self.home, self.juliet):
            client.take()

    def test_privateMessageReceived(self):
        """
        A private message from juliet's occupant JID reaches garden, joined,
        with the room's C{muc#user} marker; home, not joined, gets no copy
        it could not answer (XEP-0280 section 6.1).
        """
        self.juliet.send(
            f"<message to='{self.room}/Romeo' type='chat'><body>psst</body></message>"
        )
        self.garden.expect(
            self,
            f"<message from='{self.room}/Juliet' to='romeo@localhost/garden' type='chat'>"
            f"<body>psst</body><x xmlns='{NS_MUC_USER}'/></message>",
        )
        self.home.expect(self)

    def test_privateMessageSent(self):
        """
        garden's private message to juliet's occupant JID reaches her, and
        home gets a C{<sent/>} copy (XEP-0280 section 6.1).
        """
        self.garden.send(
            f"<message to='{self.room}/Juliet' type='chat'><body>psst</body>"
            f"<x xmlns='{NS_MUC_USER}'/></message>"
        )
        self.juliet.expect(
            self, f"<message from='{self.room}/Romeo' type='chat'><body>psst</body></message>"
        )
        self.home.expect(
            self,
            "<message from='romeo@localhost' to='romeo@localhost/home' type='chat'>"
            f"<sent xmlns='{NS_CARBONS}'><forwarded xmlns='{NS_FORWARD}'>"
            f"<message xmlns='jabber:client' from='romeo@localhost/garden' to='{self.room}/Juliet'>"
            "<body>psst</body></message></forwarded></sent></message>",
        )
        self.garden.expect(self)

    def test_groupchat(self):
        """
        Groupchat messages are never copied: garden gets the room's, home
        nothing.
        """
        self.juliet.send(f"<message to='{self.room}' type='groupchat'><body>hi</body></message>")
        self.garden.expect(self, f"<message from='{self.room}/Juliet' type='groupchat'/>")
        self.home.expect(self)


class CostTests(CarbonsTestCase):
    """
    DESIGN.md section 9: while no other session of the account enabled
    carbons, a message costs no look at its content.
    """

    def test_noEligibilityWithoutEnabledSessions(self):
        """
        With no other enabled session, L{isEligible} is never called, for
        messages sent or received.
        """
        calls = []
        self.patch(carbons, "isEligible", lambda *a, **k: calls.append(a))
        for client in (self.garden, self.home):
            client.request(carbonsRequest("disable"))
        self.juliet.send(DIRECTED)
        self.home.send(REPLY)
        self.garden.send(REPLY)
        self.assertEqual([], calls)
        self.enable(self.home)
        self.home.send(REPLY)
        self.assertEqual([], calls)
        self.garden.send(REPLY)
        self.assertEqual(1, len(calls))


class IsEligibleTests(unittest.SynchronousTestCase):
    """
    L{isEligible}, the rules of XEP-0280 section 6.1 and the hints of
    section 8, one by one.
    """

    def eligible(self, xml, outgoing=False):
        return isEligible(parseXml(xml, "jabber:client"), outgoing)

    def test_chat(self):
        self.assertTrue(self.eligible("<message to='a@b/c' type='chat'/>"))
        self.assertTrue(self.eligible("<message to='a@b' type='chat'/>", outgoing=True))

    def test_normal(self):
        """
        Type normal (or no type) needs a body or an IM payload.
        """
        self.assertTrue(self.eligible("<message to='a@b/c'><body>x</body></message>"))
        self.assertTrue(self.eligible("<message to='a@b/c' type='normal'><body>x</body></message>"))
        self.assertFalse(self.eligible("<message to='a@b/c'><subject>x</subject></message>"))
        self.assertFalse(self.eligible("<message to='a@b/c' type='normal'/>"))

    def test_imPayloads(self):
        """
        Receipts, chat states and chat markers make a normal message
        eligible.
        """
        for payload in (
            "<received xmlns='urn:xmpp:receipts' id='m1'/>",
            "<request xmlns='urn:xmpp:receipts'/>",
            "<active xmlns='http://jabber.org/protocol/chatstates'/>",
            "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>",
        ):
            self.assertTrue(self.eligible(f"<message to='a@b/c'>{payload}</message>"), payload)

    def test_directInvitation(self):
        """
        XEP-0249 invitations are copied.
        """
        self.assertTrue(
            self.eligible("<message to='a@b'><x xmlns='jabber:x:conference' jid='r@m'/></message>")
        )

    def test_groupchatAndHeadline(self):
        for kind in ("groupchat", "headline"):
            self.assertFalse(
                self.eligible(f"<message to='a@b/c' type='{kind}'><body>x</body></message>"), kind
            )
            self.assertFalse(
                self.eligible(f"<message to='r@m' type='{kind}'><body>x</body></message>", True),
                kind,
            )

    def test_hints(self):
        for hint in (f"<private xmlns='{NS_CARBONS}'/>", "<no-copy xmlns='urn:xmpp:hints'/>"):
            for outgoing in (False, True):
                self.assertFalse(
                    self.eligible(f"<message to='a@b/c' type='chat'>{hint}</message>", outgoing)
                )

    def test_otherPrivateOrNoCopy(self):
        """
        Only the hints' own namespaces count.
        """
        self.assertTrue(
            self.eligible("<message to='a@b/c' type='chat'><private xmlns='urn:example'/></message>")
        )

    def test_mucPrivateMessages(self):
        """
        Received at a full JID with C{muc#user} and no invitation: not
        copied; sent, or to a bare JID: copied.
        """
        pm = f"<message to='a@b/c' type='chat'><x xmlns='{NS_MUC_USER}'/></message>"
        self.assertFalse(self.eligible(pm))
        self.assertTrue(self.eligible(pm.replace("a@b/c", "r@m/n"), outgoing=True))
        self.assertTrue(self.eligible(pm.replace("a@b/c", "a@b")))

    def test_errors(self):
        """
        Errors: received from a bare JID only.
        """
        error = "<message from='{}' to='a@b/c' type='error'/>"
        self.assertTrue(self.eligible(error.format("x@y")))
        self.assertTrue(self.eligible(error.format("y")))
        self.assertFalse(self.eligible(error.format("x@y/z")))
        self.assertFalse(self.eligible(error.format("x@y"), outgoing=True))
