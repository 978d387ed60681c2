# -*- test-case-name: tests.test_private -*-
"""
Protocol tests for L{mepserver.c2s.private}: Private XML Storage
(XEP-0049), section by section, on the client domain
L{mepserver.server.buildServer} builds (L{tests.test_pep.PEPHarness}:
bound sessions on stub streams, memory stores).
"""

from twisted.trial import unittest

from mepserver.c2s.private import isReserved
from tests.helpers import stanzaMismatch
from tests.test_pep import PEPHarness

NS_PRIVATE = "jabber:iq:private"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

#: Section 2.3, example 1.
PREFS = "<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus>"


def privateIQ(kind, body, to=None, iqId="p1"):
    """
    A C{jabber:iq:private} request.
    """
    target = f" to='{to}'" if to else ""
    return f"<iq type='{kind}' id='{iqId}'{target}><query xmlns='{NS_PRIVATE}'>{body}</query></iq>"


class PrivateTestCase(unittest.TestCase):
    """
    hamlet at denmark and elsinore, and macbeth at scotland.
    """

    def setUp(self):
        self.harness = PEPHarness(self, usernames=("hamlet", "macbeth"))
        self.denmark = self.harness.connect("hamlet", "denmark")
        self.elsinore = self.harness.connect("hamlet", "elsinore")
        self.macbeth = self.harness.connect("macbeth", "scotland")

    def assertAnswer(self, answer, expected):
        problem = stanzaMismatch(answer, expected)
        self.assertIsNone(problem, f"{problem}\n{answer.toXml()}")

    def assertError(self, answer, condition, kind):
        self.assertAnswer(
            answer,
            f"<iq type='error'><error type='{kind}'><{condition} xmlns='{NS_STANZAS}'/>"
            "</error></iq>",
        )

    def stored(self, client, body):
        """
        @return: the one element a get of C{body} answers with.
        """
        answer = client.request(privateIQ("get", body, iqId="get"))
        self.assertEqual("result", answer["type"], answer.toXml())
        [element] = list(answer.query.elements())
        return element


class StorageTests(PrivateTestCase):
    """
    Section 2.3: storing and retrieving private data.
    """

    def test_setThenGet(self):
        """
        Examples 1 and 2: a set is answered with an empty result, and a get
        of the element's qualified name returns it, from any of the
        account's sessions.
        """
        answer = self.denmark.request(privateIQ("set", PREFS, iqId="1001"))
        self.assertAnswer(
            answer,
            "<iq type='result' id='1001' from='hamlet@capulet.lit' "
            "to='hamlet@capulet.lit/denmark'/>",
        )
        self.assertEqual([], list(answer.elements()))
        element = self.stored(self.elsinore, "<exodus xmlns='exodus:prefs'/>")
        self.assertEqual(("exodus:prefs", "exodus"), (element.uri, element.name))
        self.assertEqual("Hamlet", str(element.defaultnick))

    def test_toOwnBareJID(self):
        """
        A request to the account's own bare JID is the same as one without
        C{to}.
        """
        answer = self.denmark.request(privateIQ("set", PREFS, to="hamlet@capulet.lit"))
        self.assertEqual("result", answer["type"], answer.toXml())
        element = self.stored(self.denmark, "<exodus xmlns='exodus:prefs'/>")
        self.assertEqual("Hamlet", str(element.defaultnick))

    def test_getUnknown(self):
        """
        A get of something never stored returns the element asked for,
        empty.
        """
        element = self.stored(self.denmark, "<exodus xmlns='exodus:prefs'/>")
        self.assertEqual(("exodus:prefs", "exodus"), (element.uri, element.name))
        self.assertEqual([], element.children)

    def test_qualifiedName(self):
        """
        The namespace and the local name together identify the data.
        """
        self.denmark.request(privateIQ("set", PREFS))
        for body in ("<other xmlns='exodus:prefs'/>", "<exodus xmlns='other:prefs'/>"):
            self.assertEqual([], self.stored(self.denmark, body).children, body)

    def test_replace(self):
        """
        A second set of the same qualified name replaces the first.
        """
        self.denmark.request(privateIQ("set", PREFS))
        self.denmark.request(
            privateIQ("set", "<exodus xmlns='exodus:prefs'><theme>dark</theme></exodus>")
        )
        element = self.stored(self.denmark, "<exodus xmlns='exodus:prefs'/>")
        self.assertEqual(["theme"], [child.name for child in element.elements()])

    def test_setEmptyRemoves(self):
        """
        Setting the empty element removes what was stored (Prosody does the
        same): a get returns the empty element.
        """
        self.denmark.request(privateIQ("set", PREFS))
        self.denmark.request(privateIQ("set", "<exodus xmlns='exodus:prefs'/>"))
        self.assertEqual([], self.stored(self.denmark, "<exodus xmlns='exodus:prefs'/>").children)
        self.assertIsNone(
            self.successResultOf(self.harness.users.getPrivate("hamlet", "exodus:prefs", "exodus"))
        )

    def test_setSeveral(self):
        """
        A set MAY hold several elements: each is stored.
        """
        answer = self.denmark.request(
            privateIQ("set", PREFS + "<notes xmlns='storage:rosternotes'><note jid='a@b'/></notes>")
        )
        self.assertEqual("result", answer["type"], answer.toXml())
        self.assertEqual("Hamlet", str(self.stored(self.denmark, "<exodus xmlns='exodus:prefs'/>").defaultnick))
        notes = self.stored(self.denmark, "<notes xmlns='storage:rosternotes'/>")
        self.assertEqual(["note"], [child.name for child in notes.elements()])

    def test_perAccount(self):
        """
        One account's data is not another's.
        """
        self.denmark.request(privateIQ("set", PREFS))
        self.assertEqual([], self.stored(self.macbeth, "<exodus xmlns='exodus:prefs'/>").children)

    def test_storedInUserStore(self):
        """
        The data goes to the user store, as XML text keyed by the qualified
        name (so that SQLite keeps it across restarts).
        """
        self.denmark.request(privateIQ("set", PREFS))
        stored = self.successResultOf(
            self.harness.users.getPrivate("hamlet", "exodus:prefs", "exodus")
        )
        self.assertIn("<defaultnick>Hamlet</defaultnick>", stored)


class ErrorTests(PrivateTestCase):
    """
    Sections 2.3 and 3: the error conditions.
    """

    def test_anotherAccount(self):
        """
        Example 3: a get or set for another account's storage gets
        forbidden, and stores nothing.
        """
        for kind in ("get", "set"):
            answer = self.macbeth.request(
                privateIQ(kind, PREFS, to="hamlet@capulet.lit", iqId="1003")
            )
            self.assertError(answer, "forbidden", "auth")
        self.assertEqual([], self.stored(self.denmark, "<exodus xmlns='exodus:prefs'/>").children)

    def test_domain(self):
        """
        A request to the domain is no account's own: forbidden.
        """
        answer = self.denmark.request(privateIQ("get", PREFS, to="capulet.lit"))
        self.assertError(answer, "forbidden", "auth")

    def test_noChild(self):
        """
        Example 4: a query without a child element gets bad-format, for a
        get and a set.
        """
        for kind in ("get", "set"):
            answer = self.denmark.request(privateIQ(kind, "", iqId="1004"))
            self.assertError(answer, "bad-format", "modify")

    def test_getSeveral(self):
        """
        A client MUST NOT get more than one element at once: bad-format.
        """
        answer = self.denmark.request(
            privateIQ("get", "<exodus xmlns='exodus:prefs'/><notes xmlns='storage:rosternotes'/>")
        )
        self.assertError(answer, "bad-format", "modify")

    def test_reserved(self):
        """
        Example 5: a reserved namespace (vcard-temp, jabber:*,
        http://jabber.org/*, or none at all) gets not-acceptable, and a set
        stores nothing, not even its other elements.
        """
        for body in (
            "<vCard xmlns='vcard-temp'><FN>Hamlet</FN></vCard>",
            "<message xmlns='jabber:client'/>",
            "<db xmlns='jabber:server'/>",
            "<query xmlns='http://jabber.org/protocol/disco#info'/>",
            "<nothing/>",
        ):
            for kind in ("get", "set"):
                answer = self.denmark.request(privateIQ(kind, PREFS + body if kind == "set" else body))
                self.assertError(answer, "not-acceptable", "modify")
        self.assertEqual([], self.stored(self.denmark, "<exodus xmlns='exodus:prefs'/>").children)

    def test_isReserved(self):
        """
        L{isReserved} follows section 2.3, and leaves the namespaces
        clients use alone.
        """
        for namespace in ("jabber:iq:roster", "http://jabber.org/protocol/muc", "vcard-temp", None, ""):
            self.assertTrue(isReserved(namespace), namespace)
        for namespace in ("storage:bookmarks", "storage:rosternotes", "exodus:prefs", "urn:x"):
            self.assertFalse(isReserved(namespace), namespace)

    def test_resultIgnored(self):
        """
        An IQ result or error with a private query is no request: nothing
        answers it.
        """
        self.denmark.send(
            "<iq type='result' id='x' to='hamlet@capulet.lit'>"
            f"<query xmlns='{NS_PRIVATE}'>{PREFS}</query></iq>"
        )
        self.denmark.expectNothing()


class DiscoveryTests(PrivateTestCase):
    """
    The server announces jabber:iq:private (as Prosody does).
    """

    def features(self, to):
        answer = self.denmark.request(
            f"<iq type='get' id='d' to='{to}'><query xmlns='{NS_DISCO_INFO}'/></iq>"
        )
        return {f["var"] for f in answer.query.elements(NS_DISCO_INFO, "feature")}

    def test_domain(self):
        """
        The domain lists jabber:iq:private.
        """
        self.assertIn(NS_PRIVATE, self.features("capulet.lit"))
