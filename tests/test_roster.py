# -*- test-case-name: tests.test_roster -*-
"""
Tests for L{mepserver.c2s.roster}: rosters (RFC 6121 section 2), presence
subscriptions (section 3 and Appendix A) and presence (section 4).

The protocol tests are transcripts: clients bound on a L{SessionManager}
send XML literals shaped like the RFC's examples, and each test checks what
every client (and any other domain) receives. The client domain is wired as
L{mepserver.server} wires it: a router, an C{InternalComponent} with
L{DeliveryHandler}, L{PresenceHandler}, L{RosterHandler} and wokkel's
C{FallbackHandler}, over a L{MemoryUserStore}.
"""

import itertools

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID
from wokkel import component, generic
from zope.interface import Invalid, implementer

from mepserver.c2s.roster import (
    MAX_NAME_LENGTH,
    NS_FEATURE_PREAPPROVAL,
    NS_FEATURE_ROSTERVER,
    PreApprovalStep,
    PresenceHandler,
    RosterHandler,
    RosterVersioningStep,
    SubscriptionState,
)
from mepserver.c2s.sessions import DeliveryHandler, SessionManager
from mepserver.c2s.stream import NS_CLIENT
from mepserver.interfaces import SUBSCRIPTIONS, Credentials, IPresenceObserver, RosterItem
from mepserver.router import Router
from mepserver.storage.memory import MemoryUserStore
from tests.helpers import StubStream, matchExactly, parseXml, stanzaMismatch
from tests.memory import MemoryServer

DOMAIN = "example.com"
MUC_DOMAIN = "conference.example.com"
REMOTE_DOMAIN = "elsewhere.example"

ALICE = JID("alice@example.com")
BOB = JID("bob@example.com")
CAROL = JID("carol@example.com")
DAVE = JID("dave@example.com")
ROMEO = JID("romeo@elsewhere.example")

#: The nine states of RFC 6121 Appendix A.1, as the appendix names them.
STATE_NAMES = (
    "None",
    "None + Pending Out",
    "None + Pending In",
    "None + Pending Out+In",
    "To",
    "To + Pending In",
    "From",
    "From + Pending Out",
    "Both",
)

#: The states with a subscription pre-approval (RFC 6121 section 3.4): the
#: states without a subscription from the contact or a request from it.
PRE_APPROVED_NAMES = (
    "None + Pre-Approved",
    "None + Pending Out + Pre-Approved",
    "To + Pre-Approved",
)

#: RFC 6121 Appendix A.2: the new state after the user sends each kind of
#: subscription stanza; states not listed do not change. Outbound
#: 'subscribed' in None, None + Pending Out and To is a pre-approval
#: (A.2.3, section 3.4), which 'unsubscribed' cancels (A.2.4); a
#: pre-approval stays through the user's own subscribe and unsubscribe.
OUTBOUND = {
    "subscribe": {
        "None": "None + Pending Out",
        "None + Pending In": "None + Pending Out+In",
        "From": "From + Pending Out",
        "None + Pre-Approved": "None + Pending Out + Pre-Approved",
    },
    "unsubscribe": {
        "None + Pending Out": "None",
        "None + Pending Out+In": "None + Pending In",
        "To": "None",
        "To + Pending In": "None + Pending In",
        "From + Pending Out": "From",
        "Both": "From",
        "None + Pending Out + Pre-Approved": "None + Pre-Approved",
        "To + Pre-Approved": "None + Pre-Approved",
    },
    "subscribed": {
        "None": "None + Pre-Approved",
        "None + Pending Out": "None + Pending Out + Pre-Approved",
        "To": "To + Pre-Approved",
        "None + Pending In": "From",
        "None + Pending Out+In": "From + Pending Out",
        "To + Pending In": "Both",
    },
    "unsubscribed": {
        "None + Pending In": "None",
        "None + Pending Out+In": "None + Pending Out",
        "To + Pending In": "To",
        "From": "None",
        "From + Pending Out": "None + Pending Out",
        "Both": "To",
        "None + Pre-Approved": "None",
        "None + Pending Out + Pre-Approved": "None + Pending Out",
        "To + Pre-Approved": "To",
    },
}

#: RFC 6121 Appendix A.3: the new state after each kind of subscription
#: stanza arrives for the user; states not listed do not change. A
#: pre-approved subscribe becomes a subscription from the contact at once
#: (section 3.4); the pre-approval stays through the contact's other
#: stanzas.
INBOUND = {
    "subscribe": {
        "None": "None + Pending In",
        "None + Pending Out": "None + Pending Out+In",
        "To": "To + Pending In",
        "None + Pre-Approved": "From",
        "None + Pending Out + Pre-Approved": "From + Pending Out",
        "To + Pre-Approved": "Both",
    },
    "unsubscribe": {
        "None + Pending In": "None",
        "None + Pending Out+In": "None + Pending Out",
        "To + Pending In": "To",
        "From": "None",
        "From + Pending Out": "None + Pending Out",
        "Both": "To",
    },
    "subscribed": {
        "None + Pending Out": "To",
        "None + Pending Out+In": "To + Pending In",
        "From + Pending Out": "Both",
        "None + Pending Out + Pre-Approved": "To + Pre-Approved",
    },
    "unsubscribed": {
        "None + Pending Out": "None",
        "None + Pending Out+In": "None + Pending In",
        "To": "None",
        "To + Pending In": "None + Pending In",
        "From + Pending Out": "From",
        "Both": "From",
        "None + Pending Out + Pre-Approved": "None + Pre-Approved",
        "To + Pre-Approved": "None + Pre-Approved",
    },
}


def allStates():
    """
    @return: the valid L{SubscriptionState}s by their Appendix A.1 names,
        and those with a pre-approval.
    """
    states = {}
    for flags in itertools.product((False, True), repeat=5):
        hasTo, hasFrom, pendingOut, pendingIn, preApproved = flags
        if (hasTo and pendingOut) or (hasFrom and pendingIn):
            continue
        if preApproved and (hasFrom or pendingIn):
            continue
        state = SubscriptionState(*flags)
        states[str(state)] = state
    return states


class SubscriptionStateTests(unittest.SynchronousTestCase):
    """
    L{SubscriptionState} follows the tables of RFC 6121 Appendix A.
    """

    def test_names(self):
        """
        The nine valid combinations carry the names of Appendix A.1, and
        the three with a pre-approval say so.
        """
        self.assertEqual(
            sorted(allStates()), sorted(STATE_NAMES + PRE_APPROVED_NAMES)
        )

    def test_subscriptionAttribute(self):
        """
        The roster item's subscription attribute follows the state.
        """
        states = allStates()
        self.assertEqual(states["None + Pending Out+In"].subscription, "none")
        self.assertEqual(states["To + Pending In"].subscription, "to")
        self.assertEqual(states["From + Pending Out"].subscription, "from")
        self.assertEqual(states["Both"].subscription, "both")

    def test_of(self):
        """
        A roster item and the pending inbound flag make a state; no item is
        None.
        """
        item = RosterItem(contact=BOB, subscription="from", ask=True)
        self.assertEqual(str(SubscriptionState.of(item, False)), "From + Pending Out")
        self.assertEqual(str(SubscriptionState.of(None, True)), "None + Pending In")
        item = RosterItem(contact=BOB, subscription="to", approved=True)
        self.assertEqual(str(SubscriptionState.of(item, False)), "To + Pre-Approved")

    def assertTable(self, table, transition):
        states = allStates()
        for kind, changes in table.items():
            for name in STATE_NAMES + PRE_APPROVED_NAMES:
                after = str(transition(states[name], kind))
                self.assertEqual(
                    after,
                    changes.get(name, name),
                    f"{kind} in state {name!r}",
                )

    def test_outbound(self):
        """
        Appendix A.2: outbound subscribe, unsubscribe, subscribed and
        unsubscribed.
        """
        self.assertTable(OUTBOUND, SubscriptionState.afterOutbound)

    def test_inbound(self):
        """
        Appendix A.3: inbound subscribe, unsubscribe, subscribed and
        unsubscribed.
        """
        self.assertTable(INBOUND, SubscriptionState.afterInbound)

    def test_sharesPresence(self):
        """
        Section 2.1.2.5: a contact sees the user's presence with a
        subscription of from or both, not to or none.
        """
        shares = {
            subscription: RosterItem(contact=ROMEO, subscription=subscription).sharesPresence
            for subscription in SUBSCRIPTIONS
        }
        self.assertEqual({"none": False, "to": False, "from": True, "both": True}, shares)


class Client:
    """
    One bound client session, with a transcript of what it receives.
    """

    def __init__(self, testCase, server, username, resource):
        self.testCase = testCase
        self.stream = StubStream()
        self.session = server.sessions.bind(username, resource, self.stream)
        self.jid = self.session.jid

    def send(self, xml):
        """
        The client sends a stanza, given as an XML literal.
        """
        self.session.received(parseXml(xml, NS_CLIENT))

    def expect(self, *expected):
        """
        Assert that the client received exactly stanzas matching the
        literals, in any order, and forget them.

        @return: the matching stanzas, in the order of C{expected}.
        """
        received = list(self.stream.output)
        del self.stream.output[:]
        return matchExactly(self.testCase, self.jid.full(), received, expected)

    def expectNothing(self):
        """
        Assert that the client received nothing.
        """
        self.expect()

    def getRoster(self):
        """
        Ask for the roster (which makes the session interested) and return
        the result.
        """
        self.send("<iq type='get' id='roster-get'><query xmlns='jabber:iq:roster'/></iq>")
        [result] = self.expect("<iq type='result' id='roster-get'/>")
        return result

    def becomeAvailable(self, xml="<presence/>"):
        """
        Send initial presence and forget what it brings.
        """
        self.send(xml)
        del self.stream.output[:]


class Recorder:
    """
    Another domain on the router (a MUC service, a remote server), which
    records what it receives and can send stanzas.
    """

    def __init__(self, router, domain):
        self.pipe = generic.XmlPipe()
        self.received = []
        router.addRoute(domain, self.pipe.sink)
        self.pipe.source.addObserver("/*", self.received.append)

    def send(self, xml):
        """
        Send a stanza, given as an XML literal, to the router.

        @return: the stanza sent.
        """
        stanza = parseXml(xml, NS_CLIENT)
        self.pipe.source.send(stanza)
        return stanza

    def clear(self):
        """
        Forget what was received so far.
        """
        del self.received[:]

    def expect(self, testCase, *expected):
        """
        Assert what this domain received, in order, and forget it.
        """
        received = list(self.received)
        self.clear()
        testCase.assertEqual(
            len(received),
            len(expected),
            "received:\n" + "\n".join(s.toXml() for s in received),
        )
        for stanza, literal in zip(received, expected):
            problem = stanzaMismatch(stanza, literal)
            testCase.assertIsNone(problem, f"{problem}\n{stanza.toXml()}")


class Server:
    """
    The client domain wired as L{mepserver.server.buildServer} wires it,
    plus a recorded MUC domain and a recorded remote domain.
    """

    def __init__(self, testCase, usernames=("alice", "bob", "carol", "dave")):
        self.testCase = testCase
        self.users = MemoryUserStore()
        for username in usernames:
            self.users.createUser(username, Credentials({}))
        self.router = Router()
        self.sessions = SessionManager(DOMAIN, self.users, self.router)
        self.component = component.InternalComponent(self.router, DOMAIN)
        DeliveryHandler(self.sessions).setHandlerParent(self.component)
        self.presence = PresenceHandler(self.sessions, self.users)
        self.presence.setHandlerParent(self.component)
        RosterHandler(self.sessions, self.users, self.presence).setHandlerParent(
            self.component
        )
        generic.FallbackHandler().setHandlerParent(self.component)
        self.component.startService()
        testCase.addCleanup(self.component.stopService)
        self.muc = Recorder(self.router, MUC_DOMAIN)
        self.remote = Recorder(self.router, REMOTE_DOMAIN)

    def connect(self, username, resource):
        return Client(self.testCase, self, username, resource)

    def setItem(self, username, contact, subscription="none", ask=False, **kwargs):
        self.users.setRosterItem(
            username,
            RosterItem(contact=contact, subscription=subscription, ask=ask, **kwargs),
        )

    def item(self, username, contact):
        return self.testCase.successResultOf(self.users.getRosterItem(username, contact))

    def pending(self, username):
        return self.testCase.successResultOf(self.users.getPendingSubscriptions(username))

    def state(self, username, contact):
        """
        @return: the Appendix A name of C{username}'s state for C{contact}.
        """
        return str(
            SubscriptionState.of(
                self.item(username, contact), contact in self.pending(username)
            )
        )


def push(to, item):
    """
    A roster push (RFC 6121 section 2.1.6) of C{item} (an XML literal) to
    the full JID C{to}.
    """
    bare = JID(to).userhost()
    return (
        f"<iq type='set' from='{bare}' to='{to}'>"
        f"<query xmlns='jabber:iq:roster'>{item}</query></iq>"
    )


def stanzaError(kind, condition):
    """
    The <error/> child of a stanza error.
    """
    return (
        f"<error type='{kind}'><{condition} "
        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
    )


class RosterTests(unittest.TestCase):
    """
    Roster get, set, remove and push (RFC 6121 section 2).
    """

    def setUp(self):
        self.server = Server(self)
        self.alice = self.server.connect("alice", "home")

    def test_getEmpty(self):
        """
        Section 2.1.3: an empty roster is an empty query, and the session
        becomes interested in pushes.
        """
        self.assertFalse(self.alice.session.interested)
        self.alice.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
        [result] = self.alice.expect(
            "<iq type='result' id='r1' from='alice@example.com' "
            "to='alice@example.com/home'><query xmlns='jabber:iq:roster'/></iq>"
        )
        self.assertEqual(list(result.query.elements()), [])
        self.assertTrue(self.alice.session.interested)

    def test_getItems(self):
        """
        Section 2.1.4: every item, with name, subscription, ask and groups.
        """
        self.server.setItem(
            "alice", BOB, "both", name="Bob", groups=("Friends", "Work")
        )
        self.server.setItem("alice", ROMEO, "none", ask=True)
        result = self.alice.getRoster()
        items = {i["jid"]: i for i in result.query.elements()}
        self.assertEqual(sorted(items), [BOB.full(), ROMEO.full()])
        self.assertIsNone(
            stanzaMismatch(
                items[BOB.full()],
                "<item xmlns='jabber:iq:roster' jid='bob@example.com' name='Bob' "
                "subscription='both'><group>Friends</group><group>Work</group></item>",
            )
        )
        self.assertNotIn("ask", items[BOB.full()].attributes)
        self.assertEqual(items[ROMEO.full()]["subscription"], "none")
        self.assertEqual(items[ROMEO.full()]["ask"], "subscribe")
        self.assertNotIn("name", items[ROMEO.full()].attributes)

    def test_setAddsAndPushes(self):
        """
        Sections 2.3.2 and 2.1.6: a new item is stored with subscription
        none, pushed from the bare JID with a fresh id to every interested
        session (the requester included), and the requester gets a result.
        """
        phone = self.server.connect("alice", "phone")
        idle = self.server.connect("alice", "idle")
        self.alice.getRoster()
        phone.getRoster()
        self.alice.send(
            "<iq type='set' id='set1'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' name='Bob'><group>Friends</group></item>"
            "</query></iq>"
        )
        item = (
            "<item jid='bob@example.com' name='Bob' subscription='none'>"
            "<group>Friends</group></item>"
        )
        [_, push1] = self.alice.expect(
            "<iq type='result' id='set1' to='alice@example.com/home'/>",
            push("alice@example.com/home", item),
        )
        [push2] = phone.expect(push("alice@example.com/phone", item))
        idle.expectNothing()
        self.assertNotIn(push1["id"], ("set1", push2["id"]))
        self.assertEqual(
            self.server.item("alice", BOB),
            RosterItem(contact=BOB, name="Bob", groups=("Friends",)),
        )

    def test_setKeepsSubscription(self):
        """
        Section 2.1.2.5: a roster set changes name and groups only; the
        subscription and ask attributes the client sends are ignored.
        """
        self.server.setItem("alice", BOB, "both", name="Bob", groups=("Old",))
        self.alice.getRoster()
        self.alice.send(
            "<iq type='set' id='set2'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' subscription='none' ask='subscribe'>"
            "<group>New</group></item></query></iq>"
        )
        self.alice.expect(
            "<iq type='result' id='set2'/>",
            push(
                "alice@example.com/home",
                "<item jid='bob@example.com' subscription='both'><group>New</group></item>",
            ),
        )
        self.assertEqual(
            self.server.item("alice", BOB),
            RosterItem(contact=BOB, subscription="both", groups=("New",)),
        )

    def assertSetRefused(self, item, kind, condition, query=None):
        if query is None:
            query = f"<query xmlns='jabber:iq:roster'>{item}</query>"
        self.alice.send(f"<iq type='set' id='bad'>{query}</iq>")
        [reply] = self.alice.expect(
            f"<iq type='error' id='bad'>{stanzaError(kind, condition)}</iq>"
        )
        self.assertTrue(
            str(reply.error.text).strip(), f"no explanation for {item or query}"
        )

    def test_setErrors(self):
        """
        Section 2.3.3: roster sets the server refuses, each with an
        explanation; nothing is stored and nothing pushed.
        """
        self.alice.getRoster()
        refused = [
            ("<item jid='bob@example.com'/><item jid='carol@example.com'/>",
             "modify", "bad-request"),
            ("<item jid='bob@example.com'><group>A</group><group>A</group></item>",
             "modify", "bad-request"),
            ("<item jid='bob@example.com'><group></group></item>",
             "modify", "bad-request"),
            ("<item jid='bob@@example.com'/>", "modify", "bad-request"),
            ("<item name='no jid'/>", "modify", "bad-request"),
            ("<item jid='bob@example.com/laptop'/>", "modify", "bad-request"),
            (f"<item jid='bob@example.com' name='{'x' * (MAX_NAME_LENGTH + 1)}'/>",
             "modify", "not-acceptable"),
            (f"<item jid='bob@example.com'><group>{'x' * (MAX_NAME_LENGTH + 1)}</group></item>",
             "modify", "not-acceptable"),
            ("<item jid='alice@example.com'/>", "cancel", "not-allowed"),
        ]
        for item, kind, condition in refused:
            self.assertSetRefused(item, kind, condition)
        self.assertSetRefused(
            None, "modify", "bad-request", query="<query xmlns='jabber:iq:roster'/>"
        )
        self.assertEqual(self.successResultOf(self.server.users.getRoster("alice")), [])

    def test_removeUnknown(self):
        """
        Section 2.5.3: removing an item that is not there is item-not-found.
        """
        self.alice.send(
            "<iq type='set' id='rm'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' subscription='remove'/></query></iq>"
        )
        self.alice.expect(
            f"<iq type='error' id='rm'>{stanzaError('cancel', 'item-not-found')}</iq>"
        )

    def test_removeWithoutSubscription(self):
        """
        Section 2.5.2: the item goes, a push with subscription='remove'
        announces it, and with no subscription no presence is sent.
        """
        self.server.setItem("alice", BOB, "none", name="Bob")
        bob = self.server.connect("bob", "desk")
        bob.becomeAvailable()
        self.alice.getRoster()
        self.alice.send(
            "<iq type='set' id='rm'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' subscription='remove'/></query></iq>"
        )
        self.alice.expect(
            "<iq type='result' id='rm'/>",
            push(
                "alice@example.com/home",
                "<item jid='bob@example.com' subscription='remove'/>",
            ),
        )
        self.assertIsNone(self.server.item("alice", BOB))
        bob.expectNothing()

    def test_removeCancelsSubscriptions(self):
        """
        Section 2.5.2: removing a contact with a mutual subscription sends
        it 'unsubscribe' and 'unsubscribed'; the contact's roster follows
        (Appendix A.3.2 and A.3.4) and each side sees the other go
        unavailable (sections 3.2.3 and 3.3.3).
        """
        self.server.setItem("alice", BOB, "both")
        self.server.setItem("bob", ALICE, "both")
        bob = self.server.connect("bob", "desk")
        bob.becomeAvailable()
        bob.getRoster()
        self.alice.becomeAvailable()
        bob.expect("<presence from='alice@example.com/home'/>")
        self.alice.getRoster()

        self.alice.send(
            "<iq type='set' id='rm'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' subscription='remove'/></query></iq>"
        )
        self.alice.expect(
            "<iq type='result' id='rm'/>",
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='remove'/>"),
            "<presence type='unavailable' from='bob@example.com/desk' to='alice@example.com'/>",
        )
        bob.expect(
            "<presence type='unsubscribe' from='alice@example.com' to='bob@example.com'/>",
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='to'/>"),
            "<presence type='unsubscribed' from='alice@example.com' to='bob@example.com'/>",
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='none'/>"),
            "<presence type='unavailable' from='alice@example.com/home' to='bob@example.com'/>",
        )
        self.assertIsNone(self.server.item("alice", BOB))
        self.assertEqual(self.server.state("bob", ALICE), "None")

    def test_removeDeclinesPendingRequest(self):
        """
        Section 2.5.2: removing an item while the contact's request is
        pending declines it and cancels the account's own request.
        """
        self.server.setItem("alice", BOB, "none", ask=True)
        self.server.users.addPendingSubscription("alice", BOB)
        self.server.setItem("bob", ALICE, "none", ask=True)
        self.server.users.addPendingSubscription("bob", ALICE)
        self.alice.send(
            "<iq type='set' id='rm'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' subscription='remove'/></query></iq>"
        )
        self.alice.expect("<iq type='result' id='rm'/>")
        self.assertEqual(self.server.pending("alice"), [])
        self.assertIsNone(self.server.item("alice", BOB))
        self.assertEqual(self.server.state("bob", ALICE), "None")

    def test_forbidden(self):
        """
        Section 2.1.5: only the account itself may get or set its roster;
        a request to another account's bare JID is forbidden, and is not
        answered a second time by the fallback handler.
        """
        self.server.setItem("alice", BOB, "both")
        bob = self.server.connect("bob", "desk")
        bob.send(
            "<iq type='get' id='peek' to='alice@example.com'>"
            "<query xmlns='jabber:iq:roster'/></iq>"
        )
        bob.expect(
            "<iq type='error' id='peek' from='alice@example.com' to='bob@example.com/desk'>"
            f"{stanzaError('auth', 'forbidden')}</iq>"
        )
        bob.send(
            "<iq type='set' id='poke' to='alice@example.com'><query xmlns='jabber:iq:roster'>"
            "<item jid='carol@example.com'/></query></iq>"
        )
        bob.expect(f"<iq type='error' id='poke'>{stanzaError('auth', 'forbidden')}</iq>")
        self.server.muc.send(
            "<iq type='get' id='room' from='room@conference.example.com' "
            "to='alice@example.com'><query xmlns='jabber:iq:roster'/></iq>"
        )
        self.server.muc.expect(
            self, f"<iq type='error' id='room'>{stanzaError('auth', 'forbidden')}</iq>"
        )
        self.assertIsNone(self.server.item("alice", CAROL))

    def test_fullJIDDelivered(self):
        """
        A roster request to another account's full JID is that client's
        business (RFC 6121 section 8.5.3.1): it is delivered, not answered
        by the server.
        """
        bob = self.server.connect("bob", "desk")
        bob.send(
            "<iq type='get' id='ask' to='alice@example.com/home'>"
            "<query xmlns='jabber:iq:roster'/></iq>"
        )
        self.alice.expect(
            "<iq type='get' id='ask' from='bob@example.com/desk' "
            "to='alice@example.com/home'><query xmlns='jabber:iq:roster'/></iq>"
        )
        bob.expectNothing()

    def test_resultToPushIgnored(self):
        """
        The client's result for a push (section 2.1.6) is swallowed.
        """
        self.alice.send("<iq type='result' id='push-1' to='alice@example.com'/>")
        self.alice.expectNothing()


class RosterVersioningTests(unittest.TestCase):
    """
    Roster versioning (RFC 6121 section 2.6): the version is a counter of
    the account's roster changes, sent as the C{ver} attribute.
    """

    def setUp(self):
        self.server = Server(self)
        self.alice = self.server.connect("alice", "home")

    def get(self, ver=None):
        """
        alice sends a roster get, with C{ver} if given.

        @return: the result.
        """
        attribute = "" if ver is None else f" ver='{ver}'"
        self.alice.send(
            f"<iq type='get' id='vget'><query xmlns='jabber:iq:roster'{attribute}/></iq>"
        )
        [result] = self.alice.expect("<iq type='result' id='vget'/>")
        return result

    def setItem(self, contact, name="Someone"):
        """
        alice adds or updates an item, and gets the result and a push.

        @return: the push.
        """
        self.alice.send(
            "<iq type='set' id='vset'><query xmlns='jabber:iq:roster'>"
            f"<item jid='{contact.full()}' name='{name}'/></query></iq>"
        )
        [_, pushed] = self.alice.expect(
            "<iq type='result' id='vset'/>",
            push("alice@example.com/home", f"<item jid='{contact.full()}'/>"),
        )
        return pushed

    def test_resultCarriesVersion(self):
        """
        Section 2.6.3: a roster get without C{ver} (a client that does not
        version, or does not want to use its cache) gets the whole roster,
        which carries the version, as Prosody's does; a new account's
        empty roster is version 0.
        """
        self.assertEqual("0", self.get().query["ver"])
        self.server.setItem("alice", BOB, "both")
        result = self.get()
        self.assertEqual("1", result.query["ver"])
        self.assertEqual([BOB.full()], [i["jid"] for i in result.query.elements()])

    def test_pushesCarryVersion(self):
        """
        Sections 2.1.6 and 2.6.3: every push carries the roster's new
        version, unique per change, even when a set changes nothing:
        after a roster set, a second set of the same item, a subscription
        change and a removal.
        """
        self.get()
        first = self.setItem(BOB)
        again = self.setItem(BOB)
        self.alice.send("<presence to='carol@example.com' type='subscribe'/>")
        [subscribed] = self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='carol@example.com' subscription='none' ask='subscribe'/>",
            )
        )
        self.alice.send(
            "<iq type='set' id='vrm'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' subscription='remove'/></query></iq>"
        )
        [_, removed] = self.alice.expect(
            "<iq type='result' id='vrm'/>",
            push(
                "alice@example.com/home",
                "<item jid='bob@example.com' subscription='remove'/>",
            ),
        )
        versions = [p.query["ver"] for p in (first, again, subscribed, removed)]
        self.assertEqual(["1", "2", "3", "4"], versions)
        self.assertEqual("4", self.get().query["ver"])

    def test_currentVersionEmptyResult(self):
        """
        Section 2.6.3: a get with the current version is answered with an
        empty result (no query), and the session is interested: the next
        change comes as a push.
        """
        self.server.setItem("alice", BOB, "both")
        result = self.get("1")
        self.assertEqual([], list(result.elements()))
        self.assertTrue(self.alice.session.interested)
        pushed = self.setItem(CAROL)
        self.assertEqual("2", pushed.query["ver"])

    def test_oldVersionWholeRoster(self):
        """
        Section 2.6.3: a get with an older version, or one this server
        never gave, gets the whole roster with the current version (as
        Prosody and ejabberd answer; no interim pushes).
        """
        self.server.setItem("alice", BOB, "both")
        self.server.setItem("alice", CAROL, "to")
        for old in ("1", "0", "17", "not-a-version"):
            result = self.get(old)
            self.assertEqual("2", result.query["ver"])
            self.assertEqual(
                [BOB.full(), CAROL.full()],
                [i["jid"] for i in result.query.elements()],
            )

    def test_emptyVersionWholeRoster(self):
        """
        Section 2.6.2: a client that versions but has no cache sends
        C{ver=''} and gets the whole roster with the version.
        """
        self.server.setItem("alice", BOB, "both")
        result = self.get("")
        self.assertEqual("1", result.query["ver"])
        self.assertEqual([BOB.full()], [i["jid"] for i in result.query.elements()])


class FakeAuthenticator:
    """
    What a negotiation step reads of L{mepserver.c2s.stream.C2SAuthenticator}.
    """

    username = None
    session = None


class StreamFeatureTests(unittest.TestCase):
    """
    The informative stream features of RFC 6121 sections 2.6.1 and 3.4,
    offered beside <bind/> by the server that L{buildServer} makes.
    """

    def test_afterAuthentication(self):
        """
        The features a client reads after SASL include roster versioning
        and subscription pre-approval.
        """
        server = MemoryServer(self)
        server.createAccount("alice")
        client = server.connect("alice", "home")
        self.assertIn((NS_FEATURE_ROSTERVER, "ver"), client.xmlstream.features)
        self.assertIn((NS_FEATURE_PREAPPROVAL, "sub"), client.xmlstream.features)

    def test_onlyBetweenAuthenticationAndBinding(self):
        """
        The steps offer nothing before authentication, nor once bound, and
        take no element.
        """
        authenticator = FakeAuthenticator()
        for makeStep in (RosterVersioningStep, PreApprovalStep):
            step = makeStep(authenticator)
            self.assertFalse(step.mandatory)
            self.assertIsNone(step.feature())
            authenticator.username = "alice"
            self.assertIsNotNone(step.feature())
            self.assertFalse(step.onElement(step.feature()))
            authenticator.session = object()
            self.assertIsNone(step.feature())
            authenticator.username = authenticator.session = None


class VersionedLoginTests(unittest.TestCase):
    """
    Roster versioning across logins, on the whole server (RFC 6121
    section 2.6.3).
    """

    def getRoster(self, client, ver):
        client.send(
            f"<iq type='get' id='g'><query xmlns='jabber:iq:roster' ver='{ver}'/></iq>"
        )
        [result] = client.expect(self, "<iq type='result' id='g'/>")
        return result

    def test_secondLogin(self):
        """
        A client caches the roster and the version of the last push; at
        its next login that version gets an empty result, and an older
        one the whole roster.
        """
        server = MemoryServer(self)
        server.createAccount("alice")
        first = server.connect("alice", "home")
        result = self.getRoster(first, "")
        self.assertEqual("0", result.query["ver"])
        first.send(
            "<iq type='set' id='s'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@localhost'/></query></iq>"
        )
        [_, pushed] = first.expect(
            self,
            "<iq type='result' id='s'/>",
            "<iq type='set'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@localhost'/></query></iq>",
        )
        cached = pushed.query["ver"]
        first.xmlstream.transport.loseConnection()
        server.flush()

        second = server.connect("alice", "phone")
        self.assertEqual([], list(self.getRoster(second, cached).elements()))
        result = self.getRoster(second, "0")
        self.assertEqual(cached, result.query["ver"])
        self.assertEqual(["bob@localhost"], [i["jid"] for i in result.query.elements()])


class SubscriptionTests(unittest.TestCase):
    """
    The subscription handshake between local accounts (RFC 6121 section 3).
    """

    def setUp(self):
        self.server = Server(self)
        self.alice = self.server.connect("alice", "home")
        self.bob = self.server.connect("bob", "desk")
        for client in (self.alice, self.bob):
            client.getRoster()
            client.becomeAvailable()

    def subscribe(self):
        """
        Section 3.1.1 to 3.1.3: alice asks for bob's presence.
        """
        self.alice.send("<presence id='sub1' to='bob@example.com' type='subscribe'/>")
        self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='bob@example.com' subscription='none' ask='subscribe'/>",
            )
        )
        self.bob.expect(
            "<presence id='sub1' from='alice@example.com' to='bob@example.com' "
            "type='subscribe'/>"
        )
        self.assertEqual(self.server.state("alice", BOB), "None + Pending Out")
        self.assertEqual(self.server.state("bob", ALICE), "None + Pending In")

    def approve(self):
        """
        Sections 3.1.5 and 3.1.6: bob approves; alice gets the approval, a
        push and bob's current presence.
        """
        self.bob.send("<presence id='ok1' to='alice@example.com' type='subscribed'/>")
        self.bob.expect(
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='from'/>")
        )
        [approval, roster, _] = self.alice.expect(
            "<presence id='ok1' from='bob@example.com' to='alice@example.com' "
            "type='subscribed'/>",
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='to'/>"),
            "<presence from='bob@example.com/desk' to='alice@example.com'/>",
        )
        self.assertNotIn("ask", roster.query.item.attributes)
        self.assertEqual(self.server.state("alice", BOB), "To")
        self.assertEqual(self.server.state("bob", ALICE), "From")

    def test_handshake(self):
        """
        After the handshake, bob's presence reaches alice, and alice's does
        not reach bob (the subscription is one way).
        """
        self.subscribe()
        self.approve()
        self.bob.send("<presence><show>away</show></presence>")
        self.alice.expect("<presence from='bob@example.com/desk'><show>away</show></presence>")
        self.bob.expect("<presence from='bob@example.com/desk'><show>away</show></presence>")
        self.alice.send("<presence><show>dnd</show></presence>")
        self.bob.expectNothing()

    def test_mutual(self):
        """
        Section 3.1 both ways ends in 'both' on either side, and presence
        flows both ways.
        """
        self.subscribe()
        self.approve()
        self.bob.send("<presence to='alice@example.com' type='subscribe'/>")
        self.bob.expect(
            push(
                "bob@example.com/desk",
                "<item jid='alice@example.com' subscription='from' ask='subscribe'/>",
            )
        )
        self.alice.expect(
            "<presence from='bob@example.com' to='alice@example.com' type='subscribe'/>"
        )
        self.assertEqual(self.server.state("alice", BOB), "To + Pending In")
        self.alice.send("<presence to='bob@example.com' type='subscribed'/>")
        self.alice.expect(
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='both'/>")
        )
        self.bob.expect(
            "<presence from='alice@example.com' to='bob@example.com' type='subscribed'/>",
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='both'/>"),
            "<presence from='alice@example.com/home' to='bob@example.com'/>",
        )
        self.assertEqual(self.server.state("alice", BOB), "Both")
        self.assertEqual(self.server.state("bob", ALICE), "Both")
        self.alice.send("<presence><status>here</status></presence>")
        self.bob.expect("<presence from='alice@example.com/home'><status>here</status></presence>")

    def test_fullJIDTreatedAsBare(self):
        """
        Section 3.1.2: a request to a full JID is a request to the bare JID.
        """
        self.alice.send("<presence to='bob@example.com/desk' type='subscribe'/>")
        self.bob.expect(
            "<presence from='alice@example.com' to='bob@example.com' type='subscribe'/>"
        )
        self.assertEqual(self.server.state("bob", ALICE), "None + Pending In")

    def test_duplicateRequestNotDeliveredAgain(self):
        """
        Appendix A.3.1: a second request while one is pending changes
        nothing and is not delivered again.
        """
        self.subscribe()
        self.alice.send("<presence to='bob@example.com' type='subscribe'/>")
        self.alice.expectNothing()
        self.bob.expectNothing()

    def test_pendingRedeliveredAtLogin(self):
        """
        Section 3.1.3: a request to an account with no available resource
        is kept and delivered at its next initial presence, until answered.
        """
        self.alice.send("<presence to='carol@example.com' type='subscribe'/>")
        self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='carol@example.com' subscription='none' ask='subscribe'/>",
            )
        )
        self.assertEqual(self.server.pending("carol"), [ALICE])
        carol = self.server.connect("carol", "tablet")
        carol.expectNothing()
        carol.send("<presence/>")
        carol.expect(
            "<presence from='carol@example.com/tablet' to='carol@example.com'/>",
            "<presence from='alice@example.com' to='carol@example.com' type='subscribe'/>",
        )
        carol.send("<presence><show>chat</show></presence>")
        carol.expect("<presence from='carol@example.com/tablet'/>")
        carol.session.ended()
        again = self.server.connect("carol", "tablet")
        again.send("<presence/>")
        again.expect(
            "<presence from='carol@example.com/tablet' to='carol@example.com'/>",
            "<presence from='alice@example.com' to='carol@example.com' type='subscribe'/>",
        )
        again.send("<presence to='alice@example.com' type='subscribed'/>")
        again.expect()
        self.assertEqual(self.server.pending("carol"), [])
        self.assertEqual(self.server.state("carol", ALICE), "From")

    def test_autoReplyWhenAlreadySubscribed(self):
        """
        Section 3.1.3: a request from a user that already has a
        subscription is approved by the contact's server on the contact's
        behalf. It matters when the user's server lost track (here alice's
        item still shows the request pending): the approval completes it
        (section 3.1.6).
        """
        self.server.setItem("alice", BOB, "none", ask=True)
        self.server.setItem("bob", ALICE, "from")
        self.alice.send("<presence to='bob@example.com' type='subscribe'/>")
        self.alice.expect(
            "<presence from='bob@example.com' to='alice@example.com' type='subscribed'/>",
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='to'/>"),
            "<presence from='bob@example.com/desk' to='alice@example.com'/>",
        )
        self.bob.expectNothing()
        self.assertEqual(self.server.state("alice", BOB), "To")
        self.assertEqual(self.server.state("bob", ALICE), "From")

    def test_approvalWithoutRequestIgnored(self):
        """
        Section 3.1.6 and Appendix A.3.3: a 'subscribed' the account did not
        ask for (here the auto-reply to a request from an account already
        subscribed) is neither delivered nor stored.
        """
        self.server.setItem("alice", BOB, "to")
        self.server.setItem("bob", ALICE, "from")
        self.alice.send("<presence to='bob@example.com' type='subscribe'/>")
        self.alice.expectNothing()
        self.bob.expectNothing()
        self.assertEqual(self.server.state("alice", BOB), "To")

    def test_deny(self):
        """
        Sections 3.2.2 and 3.2.3: 'unsubscribed' in answer to a request
        denies it; the requester's item loses its pending request.
        """
        self.subscribe()
        self.bob.send("<presence to='alice@example.com' type='unsubscribed'/>")
        self.bob.expectNothing()
        self.alice.expect(
            "<presence from='bob@example.com' to='alice@example.com' type='unsubscribed'/>",
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='none'/>"),
        )
        self.assertEqual(self.server.state("alice", BOB), "None")
        self.assertEqual(self.server.pending("bob"), [])
        self.assertIsNone(self.server.item("bob", ALICE))

    def test_cancel(self):
        """
        Sections 3.2.2 and 3.2.3: bob cancels alice's subscription; alice
        gets the cancellation, a push and bob's unavailable presence.
        """
        self.subscribe()
        self.approve()
        self.bob.send("<presence to='alice@example.com' type='unsubscribed'/>")
        self.bob.expect(
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='none'/>")
        )
        self.alice.expect(
            "<presence from='bob@example.com' to='alice@example.com' type='unsubscribed'/>",
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='none'/>"),
            "<presence type='unavailable' from='bob@example.com/desk' to='alice@example.com'/>",
        )
        self.bob.send("<presence><show>xa</show></presence>")
        self.alice.expectNothing()

    def test_unsubscribe(self):
        """
        Sections 3.3.2 and 3.3.3: alice unsubscribes from bob's presence;
        bob gets the request and a push, and alice sees bob go unavailable.
        """
        self.subscribe()
        self.approve()
        self.alice.send("<presence to='bob@example.com' type='unsubscribe'/>")
        self.alice.expect(
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='none'/>"),
            "<presence type='unavailable' from='bob@example.com/desk' to='alice@example.com'/>",
        )
        self.bob.expect(
            "<presence from='alice@example.com' to='bob@example.com' type='unsubscribe'/>",
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='none'/>"),
        )
        self.assertEqual(self.server.state("alice", BOB), "None")
        self.assertEqual(self.server.state("bob", ALICE), "None")

    def preApprove(self):
        """
        Sections 3.4.1 and 3.4.2: alice approves bob's request before it
        comes; the item shows the pre-approval, and nothing is routed.
        """
        self.alice.send("<presence id='pre1' to='bob@example.com' type='subscribed'/>")
        self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='bob@example.com' subscription='none' approved='true'/>",
            )
        )
        self.bob.expectNothing()
        self.assertEqual(self.server.state("alice", BOB), "None + Pre-Approved")
        self.assertTrue(self.server.item("alice", BOB).approved)

    def test_preApproval(self):
        """
        Section 3.4.2: a pre-approval creates an item with subscription
        none and C{approved='true'}, shown in roster results; one for a
        remote contact is kept as well, and not routed either.
        """
        self.preApprove()
        self.alice.send("<presence to='romeo@elsewhere.example' type='subscribed'/>")
        self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='romeo@elsewhere.example' subscription='none' approved='true'/>",
            )
        )
        self.assertEqual(self.server.remote.received, [])
        items = {i["jid"]: i for i in self.alice.getRoster().query.elements()}
        self.assertEqual("true", items[BOB.full()]["approved"])
        self.assertEqual("true", items[ROMEO.full()]["approved"])
        self.assertEqual(self.server.state("bob", ALICE), "None")

    def test_preApprovedRequest(self):
        """
        Section 3.4: bob's later request is approved by alice's server on
        her behalf and not delivered to her; alice's item becomes 'from'
        without the pre-approval, and bob gets the approval and alice's
        presence (section 3.1.6).
        """
        self.preApprove()
        self.bob.send("<presence id='sub2' to='alice@example.com' type='subscribe'/>")
        self.alice.expect(
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='from'/>")
        )
        self.bob.expect(
            push(
                "bob@example.com/desk",
                "<item jid='alice@example.com' subscription='none' ask='subscribe'/>",
            ),
            "<presence from='alice@example.com' to='bob@example.com' type='subscribed'/>",
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='to'/>"),
            "<presence from='alice@example.com/home' to='bob@example.com'/>",
        )
        self.assertEqual(self.server.state("alice", BOB), "From")
        self.assertEqual(self.server.state("bob", ALICE), "To")
        self.assertFalse(self.server.item("alice", BOB).approved)
        self.assertEqual(self.server.pending("alice"), [])

    def test_preApprovedWhileOffline(self):
        """
        The pre-approval works while alice has no session, and leaves no
        request to deliver at her next login (section 3.1.3).
        """
        self.preApprove()
        self.alice.session.ended()
        self.bob.send("<presence to='alice@example.com' type='subscribe'/>")
        self.bob.expect(
            push(
                "bob@example.com/desk",
                "<item jid='alice@example.com' subscription='none' ask='subscribe'/>",
            ),
            "<presence from='alice@example.com' to='bob@example.com' type='subscribed'/>",
            push("bob@example.com/desk", "<item jid='alice@example.com' subscription='to'/>"),
        )
        self.assertEqual(self.server.state("alice", BOB), "From")
        again = self.server.connect("alice", "phone")
        again.send("<presence/>")
        again.expect("<presence from='alice@example.com/phone'/>")

    def test_preApprovedWithSubscription(self):
        """
        A pre-approval keeps alice's subscription to bob; his request then
        makes it 'both'.
        """
        self.server.setItem("alice", BOB, "to")
        self.server.setItem("bob", ALICE, "from")
        self.alice.send("<presence to='bob@example.com' type='subscribed'/>")
        self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='bob@example.com' subscription='to' approved='true'/>",
            )
        )
        self.bob.send("<presence to='alice@example.com' type='subscribe'/>")
        self.alice.expect(
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='both'/>")
        )
        self.assertEqual(self.server.state("alice", BOB), "Both")
        self.assertEqual(self.server.state("bob", ALICE), "Both")

    def test_cancelPreApproval(self):
        """
        Appendix A.2.4: 'unsubscribed' cancels a pre-approval; bob's later
        request is delivered to alice as any other.
        """
        self.preApprove()
        self.alice.send("<presence to='bob@example.com' type='unsubscribed'/>")
        [pushed] = self.alice.expect(
            push("alice@example.com/home", "<item jid='bob@example.com' subscription='none'/>")
        )
        self.assertNotIn("approved", pushed.query.item.attributes)
        self.bob.expectNothing()
        self.assertEqual(self.server.state("alice", BOB), "None")
        self.bob.send("<presence to='alice@example.com' type='subscribe'/>")
        self.alice.expect(
            "<presence from='bob@example.com' to='alice@example.com' type='subscribe'/>"
        )
        self.assertEqual(self.server.state("alice", BOB), "None + Pending In")

    def test_approvalWhenSubscribedIgnored(self):
        """
        Appendix A.2.3: 'subscribed' to a contact that has a subscription
        changes nothing and is not routed.
        """
        self.server.setItem("alice", BOB, "from")
        self.alice.send("<presence to='bob@example.com' type='subscribed'/>")
        self.alice.expectNothing()
        self.bob.expectNothing()
        self.assertEqual(self.server.state("alice", BOB), "From")

    def test_rosterSetKeepsPreApproval(self):
        """
        Section 2.1.2.1: clients manage pre-approvals with presence only;
        the C{approved} attribute of a roster set is ignored.
        """
        self.preApprove()
        self.alice.send(
            "<iq type='set' id='ap'><query xmlns='jabber:iq:roster'>"
            "<item jid='bob@example.com' name='Bob' approved='false'/></query></iq>"
        )
        self.alice.expect(
            "<iq type='result' id='ap'/>",
            push(
                "alice@example.com/home",
                "<item jid='bob@example.com' name='Bob' approved='true'/>",
            ),
        )
        self.alice.send(
            "<iq type='set' id='ap2'><query xmlns='jabber:iq:roster'>"
            "<item jid='carol@example.com' approved='true'/></query></iq>"
        )
        [_, pushed] = self.alice.expect(
            "<iq type='result' id='ap2'/>",
            push("alice@example.com/home", "<item jid='carol@example.com'/>"),
        )
        self.assertNotIn("approved", pushed.query.item.attributes)
        self.assertFalse(self.server.item("alice", CAROL).approved)

    def test_unknownAccountIgnored(self):
        """
        Section 8.5.1: a request to an account that does not exist is
        silently dropped; the requester's item stays pending.
        """
        self.alice.send("<presence to='nobody@example.com' type='subscribe'/>")
        self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='nobody@example.com' subscription='none' ask='subscribe'/>",
            )
        )
        self.assertEqual(self.server.pending("nobody"), [])

    def test_remoteContactBounced(self):
        """
        A request to another domain is routed; this server has no
        server-to-server links, so the router answers with an error.
        """
        self.alice.send("<presence to='juliet@capulet.example' type='subscribe'/>")
        self.alice.expect(
            push(
                "alice@example.com/home",
                "<item jid='juliet@capulet.example' subscription='none' ask='subscribe'/>",
            ),
            "<presence type='error' from='capulet.example' to='alice@example.com'>"
            f"{stanzaError('cancel', 'remote-server-not-found')}</presence>",
        )

    def test_subscribeToSelf(self):
        """
        An account is always subscribed to its own presence (section 4.2.2):
        a request to itself is not allowed.
        """
        self.alice.send("<presence to='alice@example.com' type='subscribe'/>")
        self.alice.expect(
            f"<presence type='error'>{stanzaError('cancel', 'not-allowed')}</presence>"
        )
        self.assertIsNone(self.server.item("alice", ALICE))

    def test_subscriptionWithoutTo(self):
        """
        A subscription stanza needs a 'to' address.
        """
        self.alice.send("<presence type='subscribe'/>")
        self.alice.expect(
            f"<presence type='error'>{stanzaError('modify', 'bad-request')}</presence>"
        )


class PresenceTests(unittest.TestCase):
    """
    Presence broadcast, probes, directed and unavailable presence (RFC 6121
    section 4).

    alice has bob ('both'), carol ('from') and dave ('to') in her roster,
    and they have her with the matching states.
    """

    def setUp(self):
        self.server = Server(self)
        self.server.setItem("alice", BOB, "both")
        self.server.setItem("bob", ALICE, "both")
        self.server.setItem("alice", CAROL, "from")
        self.server.setItem("carol", ALICE, "to")
        self.server.setItem("alice", DAVE, "to")
        self.server.setItem("dave", ALICE, "from")
        self.bob = self.server.connect("bob", "desk")
        self.carol = self.server.connect("carol", "tablet")
        self.dave = self.server.connect("dave", "laptop")
        for client in (self.bob, self.carol, self.dave):
            client.becomeAvailable("<presence><status>around</status></presence>")
        self.alice = self.server.connect("alice", "home")

    def connectAvailable(self, resource, xml="<presence/>"):
        """
        Connect another resource of alice's and make it available, and
        forget what that sends anyone.
        """
        client = self.server.connect("alice", resource)
        client.send(xml)
        self.forget()
        del client.stream.output[:]
        return client

    def forget(self):
        """
        Forget what every client and domain received so far.
        """
        for client in (self.alice, self.bob, self.carol, self.dave):
            del client.stream.output[:]
        self.server.muc.clear()
        self.server.remote.clear()

    def test_initialPresence(self):
        """
        Section 4.2.2: initial presence goes to contacts subscribed to the
        account and to all its available resources including the sender;
        the new resource gets the presence of the contacts it is subscribed
        to (the probes' answers, section 4.3.2) and of its other resources.
        """
        phone = self.server.connect("alice", "phone")
        phone.becomeAvailable("<presence><show>away</show></presence>")
        self.bob.expect("<presence from='alice@example.com/phone'/>")
        self.carol.expect("<presence from='alice@example.com/phone'/>")

        self.alice.send("<presence><priority>5</priority></presence>")
        self.bob.expect("<presence from='alice@example.com/home' to='bob@example.com'/>")
        self.carol.expect("<presence from='alice@example.com/home' to='carol@example.com'/>")
        self.dave.expectNothing()
        phone.expect("<presence from='alice@example.com/home' to='alice@example.com'/>")
        self.alice.expect(
            "<presence from='alice@example.com/home' to='alice@example.com'>"
            "<priority>5</priority></presence>",
            "<presence from='bob@example.com/desk' to='alice@example.com/home'>"
            "<status>around</status></presence>",
            "<presence from='dave@example.com/laptop' to='alice@example.com/home'/>",
            "<presence from='alice@example.com/phone' to='alice@example.com/home'>"
            "<show>away</show></presence>",
        )
        session = self.alice.session
        self.assertTrue(session.available)
        self.assertEqual(session.priority, 5)
        self.assertEqual(session.presence.getAttribute("from"), "alice@example.com/home")

    def test_subsequentPresence(self):
        """
        Section 4.4.2: later presence is broadcast the same way, without
        probing again.
        """
        self.alice.send("<presence/>")
        self.forget()
        self.alice.send("<presence><show>away</show></presence>")
        self.alice.expect("<presence from='alice@example.com/home'><show>away</show></presence>")
        self.bob.expect("<presence from='alice@example.com/home'><show>away</show></presence>")
        self.carol.expect("<presence from='alice@example.com/home'><show>away</show></presence>")
        self.dave.expectNothing()
        self.assertEqual(str(self.alice.session.presence.show), "away")

    def test_contactOffline(self):
        """
        A contact without an available resource yields no presence at the
        account's initial presence.
        """
        self.dave.send("<presence type='unavailable'/>")
        self.alice.send("<presence/>")
        self.alice.expect(
            "<presence from='alice@example.com/home'/>",
            "<presence from='bob@example.com/desk'/>",
        )

    def test_probeToRemoteContact(self):
        """
        Section 4.3.1: for a contact on another domain, initial presence
        sends a probe from the account's bare JID.
        """
        self.server.setItem("alice", ROMEO, "to")
        self.alice.send("<presence/>")
        self.server.remote.expect(
            self,
            "<presence type='probe' from='alice@example.com' to='romeo@elsewhere.example'/>",
        )

    def test_inboundProbeNotSubscribed(self):
        """
        Section 4.3.2, step 1: a probe from an entity without a
        subscription, or for an account that does not exist, is answered
        'unsubscribed'.
        """
        self.alice.send("<presence/>")
        self.forget()
        probe = self.server.remote.send(
            "<presence type='probe' from='romeo@elsewhere.example' to='alice@example.com'/>"
        )
        self.assertTrue(probe.handled)
        self.server.remote.send(
            "<presence type='probe' from='romeo@elsewhere.example' to='nobody@example.com'/>"
        )
        self.server.remote.expect(
            self,
            "<presence type='unsubscribed' from='alice@example.com' "
            "to='romeo@elsewhere.example'/>",
            "<presence type='unsubscribed' from='nobody@example.com' "
            "to='romeo@elsewhere.example'/>",
        )
        self.alice.expectNothing()

    def test_inboundProbeUnavailable(self):
        """
        Section 4.3.2, step 2: with no available resource, the answer is
        unavailable presence from the bare JID.
        """
        self.server.setItem("alice", ROMEO, "from")
        self.server.remote.send(
            "<presence type='probe' from='romeo@elsewhere.example' to='alice@example.com'/>"
        )
        self.server.remote.expect(
            self,
            "<presence type='unavailable' from='alice@example.com' "
            "to='romeo@elsewhere.example'/>",
        )

    def test_inboundProbeAvailable(self):
        """
        Section 4.3.2, step 3: the last presence of every available
        resource, from its full JID.
        """
        self.server.setItem("alice", ROMEO, "from")
        self.alice.send("<presence><show>dnd</show></presence>")
        self.connectAvailable("phone")
        self.server.remote.send(
            "<presence type='probe' from='romeo@elsewhere.example' to='alice@example.com'/>"
        )
        self.server.remote.expect(
            self,
            "<presence from='alice@example.com/home' to='romeo@elsewhere.example'>"
            "<show>dnd</show></presence>",
            "<presence from='alice@example.com/phone' to='romeo@elsewhere.example'/>",
        )

    def test_unavailable(self):
        """
        Section 4.5.2: unavailable presence goes to subscribed contacts,
        the account's resources (the sender's included) and directed
        presence targets; the session is no longer available.
        """
        self.alice.send("<presence/>")
        self.alice.send("<presence to='room@conference.example.com/alice'/>")
        phone = self.connectAvailable("phone")

        self.alice.send("<presence type='unavailable'><status>bye</status></presence>")
        unavailable = (
            "<presence type='unavailable' from='alice@example.com/home'>"
            "<status>bye</status></presence>"
        )
        self.bob.expect(unavailable)
        self.carol.expect(unavailable)
        self.dave.expectNothing()
        phone.expect(unavailable)
        self.alice.expect(unavailable)
        self.server.muc.expect(
            self,
            "<presence type='unavailable' from='alice@example.com/home' "
            "to='room@conference.example.com/alice'><status>bye</status></presence>",
        )
        session = self.alice.session
        self.assertFalse(session.available)
        self.assertIsNone(session.presence)
        self.assertEqual(session.directed, set())
        self.alice.send("<presence type='unavailable'/>")
        self.bob.expectNothing()
        self.assertEqual(self.server.muc.received, [])

    def test_disconnect(self):
        """
        Section 4.5.2: a session that ends while available sends
        unavailable presence from its full JID to contacts, the other
        resources and every directed presence target, such as a MUC room.
        """
        self.alice.send("<presence/>")
        self.alice.send("<presence to='room@conference.example.com/alice'/>")
        phone = self.connectAvailable("phone")

        self.alice.session.ended()
        unavailable = "<presence type='unavailable' from='alice@example.com/home'/>"
        self.bob.expect(unavailable)
        self.carol.expect(unavailable)
        phone.expect(unavailable)
        self.dave.expectNothing()
        self.server.muc.expect(
            self,
            "<presence type='unavailable' from='alice@example.com/home' "
            "to='room@conference.example.com/alice'/>",
        )
        self.alice.expectNothing()
        self.assertEqual(self.server.sessions.sessionsOf("alice"), [phone.session])

    def test_disconnectDirectedOnly(self):
        """
        A session that sent only directed presence (joined a room without
        initial presence) still tells the room it left, and nobody else.
        """
        self.alice.send("<presence to='room@conference.example.com/alice'/>")
        self.forget()
        self.alice.session.ended()
        self.server.muc.expect(
            self,
            "<presence type='unavailable' from='alice@example.com/home' "
            "to='room@conference.example.com/alice'/>",
        )
        for client in (self.bob, self.carol, self.dave):
            client.expectNothing()

    def test_disconnectWithoutPresence(self):
        """
        A session that never sent presence leaves silently.
        """
        self.alice.session.ended()
        for client in (self.bob, self.carol, self.dave):
            client.expectNothing()
        self.assertEqual(self.server.muc.received, [])

    def test_directedPresence(self):
        """
        Section 4.6.2: directed presence is routed with the full JID; the
        session remembers targets without a subscription 'from' or 'both',
        and forgets them on directed unavailable presence.
        """
        self.alice.send("<presence/>")
        self.forget()
        self.alice.send("<presence to='dave@example.com/laptop'><show>chat</show></presence>")
        self.dave.expect(
            "<presence from='alice@example.com/home' to='dave@example.com/laptop'>"
            "<show>chat</show></presence>"
        )
        self.alice.send("<presence to='bob@example.com'/>")
        self.bob.expect("<presence from='alice@example.com/home' to='bob@example.com'/>")
        self.assertEqual(self.alice.session.directed, {JID("dave@example.com/laptop")})
        self.alice.send("<presence to='dave@example.com/laptop' type='unavailable'/>")
        self.dave.expect(
            "<presence type='unavailable' from='alice@example.com/home' "
            "to='dave@example.com/laptop'/>"
        )
        self.assertEqual(self.alice.session.directed, set())

    def test_directedTargetGetsUnavailableOnce(self):
        """
        A directed presence target that later becomes a subscriber gets the
        final unavailable presence once.
        """
        self.alice.send("<presence/>")
        self.alice.send("<presence to='dave@example.com'/>")
        self.server.setItem("alice", DAVE, "both")
        self.forget()
        self.alice.send("<presence type='unavailable'/>")
        self.dave.expect("<presence type='unavailable' from='alice@example.com/home'/>")

    def test_clientProbeRouted(self):
        """
        A probe a client sends is routed like the server's own (section
        4.3): here answered for the subscribed contact dave.
        """
        self.alice.send("<presence/>")
        self.forget()
        self.alice.send("<presence to='dave@example.com' type='probe'/>")
        self.alice.expect(
            "<presence from='dave@example.com/laptop' to='alice@example.com/home'>"
            "<status>around</status></presence>"
        )

    def test_priority(self):
        """
        Section 4.7.2.3: a priority out of -128..127 is clamped, and the
        corrected value broadcast.
        """
        self.alice.send("<presence><priority>300</priority></presence>")
        self.assertEqual(self.alice.session.priority, 127)
        self.bob.expect(
            "<presence from='alice@example.com/home'><priority>127</priority></presence>"
        )
        self.alice.send("<presence><priority>-1000</priority></presence>")
        self.assertEqual(self.alice.session.priority, -128)
        self.bob.expect(
            "<presence from='alice@example.com/home'><priority>-128</priority></presence>"
        )

    def test_priorityNotAnInteger(self):
        """
        Section 4.7.2.3: a priority that is not an integer is refused with
        bad-request, and nothing is broadcast.
        """
        self.alice.send("<presence><priority>high</priority></presence>")
        [reply] = self.alice.expect(
            f"<presence type='error'>{stanzaError('modify', 'bad-request')}</presence>"
        )
        self.assertIn("high", str(reply.error.text))
        self.assertFalse(self.alice.session.available)
        self.bob.expectNothing()

    def test_unknownType(self):
        """
        Section 4.7.1: a presence type the RFC does not define is refused.
        """
        self.alice.send("<presence type='busy'/>")
        self.alice.expect(
            f"<presence type='error'>{stanzaError('modify', 'bad-request')}</presence>"
        )
        self.alice.send("<presence type='busy' to='bob@example.com'/>")
        self.alice.expect(
            f"<presence type='error'>{stanzaError('modify', 'bad-request')}</presence>"
        )
        self.bob.expectNothing()


class QueuedDeliveryTests(unittest.TestCase):
    """
    L{DeliveryHandler} while an account's roster operation is in progress.
    """

    def test_queuedCopy(self):
        """
        A stanza queued behind a roster operation keeps the 'to' it was
        routed with, though its sender reuses the element for the next
        recipient (as the MUC service does, DESIGN.md section 9).
        """
        server = Server(self)
        bob = server.connect("bob", "home")
        carol = server.connect("carol", "home")
        busy = defer.Deferred()
        server.sessions.locks.run("bob", lambda: busy)
        message = server.muc.send(
            f"<message from='room@{MUC_DOMAIN}/x' to='bob@{DOMAIN}/home' "
            "type='groupchat'><body>hi</body></message>"
        )
        message["to"] = f"carol@{DOMAIN}/home"
        message.handled = False
        server.muc.pipe.source.send(message)
        carol.expect(f"<message to='carol@{DOMAIN}/home'><body>hi</body></message>")
        busy.callback(None)
        bob.expect(f"<message to='bob@{DOMAIN}/home'><body>hi</body></message>")


class DirectedPresenceLockTests(unittest.TestCase):
    """
    Directed presence and the sender's account lock (RFC 6121 section 4.6).
    """

    def test_routedWithoutLock(self):
        """
        With no operation of the account in progress, directed presence is
        routed without taking the account's lock: what it causes for the
        account (a room answers a join with presences) is delivered at
        once, not queued behind a lock held for nothing.
        """
        server = Server(self)
        alice = server.connect("alice", "home")
        busy = []
        server.muc.pipe.source.addObserver(
            "/presence", lambda _: busy.append(server.sessions.locks.busy("alice"))
        )
        alice.send(f"<presence to='room@{MUC_DOMAIN}/alice'/>")
        self.assertEqual([False], busy)
        self.assertEqual({JID(f"room@{MUC_DOMAIN}/alice")}, alice.session.directed)

    def test_storeAnswersLater(self):
        """
        With a store that answers later (SQLite's thread), directed
        presence is routed at once and its target remembered once the
        store said it shares no presence.
        """
        server = Server(self)
        alice = server.connect("alice", "home")
        answer = defer.Deferred()
        self.patch(server.users, "getRosterItem", lambda username, contact: answer)
        alice.send(f"<presence to='room@{MUC_DOMAIN}/alice'/>")
        self.assertEqual(1, len(server.muc.received))
        self.assertEqual(set(), alice.session.directed)
        answer.callback(None)
        self.assertEqual({JID(f"room@{MUC_DOMAIN}/alice")}, alice.session.directed)

    def test_failureLogged(self):
        """
        Directed presence that cannot be routed, or whose target the store
        cannot look up, is logged as the handler's failure: its Deferred
        fails, the handler does not raise into the client's stream.
        """
        server = Server(self)
        alice = server.connect("alice", "home")

        def broken(stanza):
            raise RuntimeError("no route")

        presence = parseXml(
            f"<presence from='alice@{DOMAIN}/home' to='room@{MUC_DOMAIN}/alice'/>",
            "jabber:client",
        )
        self.patch(server.presence, "send", broken)
        self.successResultOf(server.presence.outbound(alice.session, presence))
        self.assertEqual(1, len(self.flushLoggedErrors(RuntimeError)))
        self.patch(server.users, "getRosterItem", lambda username, contact: 1 / 0)
        self.patch(server.presence, "send", lambda stanza: None)
        self.successResultOf(server.presence.outbound(alice.session, presence))
        self.assertEqual(1, len(self.flushLoggedErrors(ZeroDivisionError)))
        self.assertEqual(set(), alice.session.directed)

    def test_waitsBehindOperation(self):
        """
        While an operation of the account is in progress (a subscription
        change waiting for the store), directed presence waits behind it.
        """
        server = Server(self)
        alice = server.connect("alice", "home")
        busy = defer.Deferred()
        server.sessions.locks.run("alice", lambda: busy)
        alice.send(f"<presence to='room@{MUC_DOMAIN}/alice'/>")
        self.assertEqual([], server.muc.received)
        busy.callback(None)
        server.muc.expect(
            self, f"<presence from='alice@{DOMAIN}/home' to='room@{MUC_DOMAIN}/alice'/>"
        )


class AccountLocksTests(unittest.TestCase):
    """
    L{mepserver.c2s.sessions.AccountLocks}: per-account ordering and drain.
    """

    def test_orderAndDrain(self):
        """
        Operations of one account run one after the other; drain() fires
        once all are done and leaves no lock behind.
        """
        from twisted.internet import defer

        from mepserver.c2s.sessions import AccountLocks

        locks = AccountLocks()
        first, order = defer.Deferred(), []
        locks.run("alice", lambda: first.addCallback(lambda _: order.append(1)))
        locks.run("alice", lambda: order.append(2))
        drained = locks.drain()
        self.assertTrue(locks.busy("alice"))
        self.assertNoResult(drained)
        first.callback(None)
        self.assertEqual([1, 2], order)
        self.successResultOf(drained)
        self.assertFalse(locks.busy("alice"))


class WiringTests(unittest.TestCase):
    """
    The presence handler and the sessions find each other when the handler
    is made; its observers are checked against L{IPresenceObserver}.
    """

    def setUp(self):
        self.users = MemoryUserStore()
        self.sessions = SessionManager(DOMAIN, self.users, Router())

    def test_registersWithSessions(self):
        """
        A new presence handler takes the presence the sessions' clients
        send.
        """
        handler = PresenceHandler(self.sessions, self.users)
        self.assertIs(handler, self.sessions.presence)

    def test_onlyClientPresence(self):
        """
        The sessions refuse a handler that lacks L{IClientPresence}'s
        methods.
        """
        self.assertRaises(Invalid, self.sessions.handlePresenceWith, object())
        self.assertIsNone(self.sessions.presence)

    def test_observersChecked(self):
        """
        Observers must provide L{IPresenceObserver}; they are kept in order.
        """
        self.assertRaises(
            Invalid, PresenceHandler, self.sessions, self.users, observers=[object()]
        )

        @implementer(IPresenceObserver)
        class Observer:
            def sessionAvailable(self, session, presence, initial):
                pass

            def sessionUnavailable(self, session):
                pass

            def rosterItemChanged(self, username, before, after):
                pass

        first, second = Observer(), Observer()
        handler = PresenceHandler(self.sessions, self.users, observers=[first, second])
        self.assertEqual([first, second], handler.observers)
