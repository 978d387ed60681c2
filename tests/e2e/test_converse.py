# -*- test-case-name: tests.e2e.test_converse -*-
"""
The real Converse.js (the version C{tests/browser/package.json} pins) in a
headless Chromium (L{tests.e2e.browser}) against mepserver: it logs in over
XMPP over WebSocket (RFC 7395), joins a room, and the tests look at what
it renders.

  - A persistent room's history, which the room gives no joining client,
    reaches Converse.js from the room's archive (XEP-0313 section 7.1.2).
  - Room events (XEP-0316) injected through the HTTP API (DESIGN.md
    section 6) are rendered, which proves the room verified Converse.js's
    caps (XEP-0115) with C{conference-info+notify}.
  - A moderator's retraction (XEP-0425) shows the message as removed.

One Chromium serves the whole run and one server the class (reset, and
its ports closed, between tests); each test loads its own page.
"""

import json
import os
from urllib.parse import quote

import treq
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool
from twisted.words.xish import domish

from mepserver.testing import MEPServerMixin
from tests.e2e import browser
from tests.e2e.browser import openConverse, sharedBrowser, skipUnlessBrowser

NS_MUC = "http://jabber.org/protocol/muc"
NS_MAM = "urn:xmpp:mam:2"
NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_STANZA_ID = "urn:xmpp:sid:0"
NS_MODERATE = "urn:xmpp:message-moderate:1"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_ACTIVITY = "http://jabber.org/protocol/activity"
NS_CONFERENCE_INFO = "urn:ietf:params:xml:ns:conference-info"

#: Where Converse.js renders a chat message's text, and a room event's.
MESSAGE_TEXT = "converse-chat-message .chat-msg__text"
EVENT_TEXT = "converse-chat-message .message--mep .chat-info__message"
#: A retracted message, and what it says instead.
RETRACTED = "converse-chat-message .chat-msg--retracted"
RETRACTION_TEXT = RETRACTED + " .retraction > span"
RETRACTION_REASON = RETRACTED + " .chat-msg--retracted__reason"


class ConverseTests(MEPServerMixin, unittest.TestCase):
    """
    Converse.js in Chromium, logged in as alice, in a room where bob (a
    L{mepserver.testing} client) talks and moderates.
    """

    timeout = 60
    mepserverShared = True

    def setUp(self):
        skipUnlessBrowser()
        # Starting now, while the server starts.
        self.browser = sharedBrowser()
        return super().setUp()

    async def openConverse(self, account, room, nick):
        """
        Load Converse.js logged in as C{account} over the server's
        WebSocket, joining C{room} as C{nick}.
        """
        running = self.mepserver
        await openConverse(
            self,
            self.browser,
            {
                "websocket_url": running.webSocketURL,
                # It would fetch https://localhost/.well-known/host-meta.
                "discover_connection_methods": False,
                "auto_login": True,
                "jid": account.jid.userhost(),
                "password": account.password,
                "auto_join_rooms": [{"jid": room.userhost(), "nick": nick}],
                # The room alone, without the control box.
                "view_mode": "embedded",
                "singleton": True,
                "i18n": "en",
                "assets_path": "/dist/",
                "play_sounds": False,
                "loglevel": "info",
                # OMEMO makes its keys at the first login (a hundred
                # prekeys, in WebAssembly): work in the background that no
                # test here looks at, competing with what they do.
                "blacklisted_plugins": ["converse-omemo"],
            },
        )

    async def talk(self, client, room, text):
        """
        Send a groupchat message and wait for the room's echo.

        @return: the echo's XEP-0359 stanza-id, the id the room archived it
            under.
        """
        message = domish.Element((None, "message"))
        message["to"], message["type"] = room.userhost(), "groupchat"
        message.addElement("body", content=text)
        client.send(message)
        echo = await client.waitFor(
            lambda e: e.name == "message"
            and e.getAttribute("type") == "groupchat"
            and e.body is not None
            and str(e.body) == text
        )
        [stanzaId] = [s for s in echo.elements(NS_STANZA_ID, "stanza-id") if s["by"] == room.userhost()]
        return stanzaId["id"]

    async def test_historyFromRoomArchive(self):
        """
        Converse.js joins a persistent room whose join history is off
        (C{muc#maxhistoryfetch} 0), asking for none itself, and renders the
        room's earlier messages all the same, in order: it loaded them
        from the room's archive, whose answer carried them.
        """
        running = self.mepserver
        alice = await running.createAccount("alice")
        bob = await running.createAccount("bob")
        room = await running.createRoom("history", owner=bob, persistent=True, historyLength=0)
        bobsClient = await running.connectClient(bob, "desk")
        await bobsClient.joinRoom(room, "Bob")
        lines = ["First post", "Second thoughts", "Third time lucky"]
        for line in lines:
            await self.talk(bobsClient, room, line)
        stanzas = running.record(alice)

        await self.openConverse(alice, room, "Alice")

        shown = await self.browser.waitForTexts(MESSAGE_TEXT, lines)
        self.assertEqual(lines, shown)
        occupant = f"{room.userhost()}/Alice"
        join = await stanzas.waitFor(
            f"/presence[@to='{occupant}']/x[@xmlns='{NS_MUC}']", sent=True
        )
        [x] = join.elements(NS_MUC, "x")
        self.assertEqual(["0"], [h.getAttribute("maxstanzas") for h in x.elements(NS_MUC, "history")])
        query = await stanzas.waitFor(
            f"/iq[@type='set'][@to='{room.userhost()}']/query[@xmlns='{NS_MAM}']", sent=True
        )
        queryId = next(query.elements(NS_MAM, "query")).getAttribute("queryid")
        archived = [
            str(m.result.forwarded.message.body)
            for m in stanzas.received
            if m.name == "message"
            and m.getAttribute("from") == room.userhost()
            and any(r.getAttribute("queryid") == queryId for r in m.elements(NS_MAM, "result"))
        ]
        self.assertEqual(lines, archived)
        # Nothing reached Converse.js as join history: a delayed groupchat
        # message straight from the room's occupant.
        self.assertEqual(
            [],
            [
                m.toXml()
                for m in stanzas.received
                if m.name == "message" and m.getAttribute("from") == f"{room.userhost()}/Bob"
            ],
        )

    async def inject(self, room, text):
        """
        Inject a room event through the HTTP API (DESIGN.md section 6).

        @return: the item id the API answered.
        """
        pool = HTTPConnectionPool(reactor, persistent=False)
        url = (
            f"{self.mepserver.apiURL}rooms/{room.user}/nodes/"
            f"{quote(NS_CONFERENCE_INFO, safe='')}/items"
        )
        payload = (
            f"<conference-info xmlns='{NS_CONFERENCE_INFO}'>"
            f"<activity xmlns='{NS_ACTIVITY}'><other/><text>{text}</text></activity>"
            "</conference-info>"
        )
        response = await treq.post(
            url,
            data=payload.encode("utf-8"),
            headers={"Content-Type": ["application/xml"]},
            pool=pool,
        )
        body = await response.text()
        self.assertEqual(201, response.code, body)
        return body

    async def test_roomEvents(self):
        """
        A room event injected through the HTTP API before Converse.js
        joins reaches it as the node's last item once the room knows its
        caps, and one injected after reaches it live: Converse.js renders
        both in the room. The room sends events only to sessions whose
        caps it verified with C{conference-info+notify}, which Converse.js
        advertised and confirmed.
        """
        running = self.mepserver
        alice = await running.createAccount("alice")
        room = await running.createRoom("events", owner=alice)
        await self.inject(room, "Pinned: welcome")
        stanzas = running.record(alice)

        await self.openConverse(alice, room, "Alice")

        await self.browser.waitForTexts(EVENT_TEXT, ["Pinned: welcome"])
        await self.inject(room, "Pinned: be kind")
        shown = await self.browser.waitForTexts(EVENT_TEXT, ["Pinned: welcome", "Pinned: be kind"])
        self.assertEqual(["Pinned: welcome", "Pinned: be kind"], shown)
        occupant = f"{room.userhost()}/Alice"
        await stanzas.waitFor(
            f"/presence[@to='{occupant}']/c[@xmlns='{NS_CAPS}']", sent=True
        )
        await stanzas.waitFor(
            f"/iq[@type='result']/query[@xmlns='{NS_DISCO_INFO}']"
            f"/feature[@var='{NS_CONFERENCE_INFO}+notify']",
            sent=True,
        )

    async def test_moderatedMessage(self):
        """
        A moderator retracts a message (XEP-0425 section 3) that
        Converse.js shows: it then shows the message as removed by the
        moderator, with the reason, instead of its text.
        """
        running = self.mepserver
        alice = await running.createAccount("alice")
        bob = await running.createAccount("bob")
        room = await running.createRoom("moderated", owner=bob, persistent=True)
        bobsClient = await running.connectClient(bob, "desk")
        await bobsClient.joinRoom(room, "Bob")
        await self.talk(bobsClient, room, "Hello")
        spam = await self.talk(bobsClient, room, "Cheap watches!")

        await self.openConverse(alice, room, "Alice")
        await self.browser.waitForTexts(MESSAGE_TEXT, ["Hello", "Cheap watches!"])

        iq = domish.Element((None, "iq"))
        iq["type"], iq["to"] = "set", room.userhost()
        moderate = iq.addElement((NS_MODERATE, "moderate"))
        moderate["id"] = spam
        moderate.addElement((NS_RETRACT, "retract"))
        moderate.addElement("reason", content="Spam")
        answer = await bobsClient.request(iq)
        self.assertEqual("result", answer["type"], answer.toXml())

        await self.browser.waitForTexts(RETRACTION_TEXT, ["Bob has removed a message"])
        reasons = await self.browser.waitForTexts(RETRACTION_REASON, ["Spam"])
        self.assertEqual(["Spam"], reasons)
        shown = await self.browser.evaluate(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent.trim());",
            MESSAGE_TEXT,
        )
        self.assertEqual(["Hello"], shown)


class BrowserTierSetupTests(unittest.TestCase):
    """
    What the browser tier installs and how it skips, checked without a
    browser.
    """

    def test_exactPin(self):
        """
        C{tests/browser/package.json} pins one exact Converse.js release,
        its lock file locks that one, and the README names it.
        """
        pinned = browser.pinnedVersion()
        self.assertRegex(pinned, r"^\d+\.\d+\.\d+$")
        with open(os.path.join(browser.PACKAGE_DIRECTORY, "package-lock.json"), encoding="utf-8") as f:
            lock = json.load(f)
        self.assertEqual(pinned, lock["packages"]["node_modules/converse.js"]["version"])
        with open(os.path.join(os.path.dirname(browser.PACKAGE_DIRECTORY), os.pardir, "README.rst"), encoding="utf-8") as f:
            self.assertIn(f"Converse.js {pinned} from npm", f.read())

    def test_skipWithoutChromium(self):
        """
        Without Chromium, or chromedriver, the tier skips and names the
        Debian package to install.
        """
        for name, package in (("CHROMIUM", "chromium"), ("CHROMEDRIVER", "chromium-driver")):
            patched = self.patch(browser, name, "mepserver-no-such-program")
            with self.assertRaises(unittest.SkipTest) as raised:
                browser.skipUnlessBrowser()
            self.assertIn(f"apt-get install {package}", str(raised.exception))
            patched.restore()

    def test_skipWithoutConverse(self):
        """
        Without Converse.js in C{tests/browser/node_modules}, or with
        another version there than the pinned one, the tier skips and says
        to run C{npm ci}.
        """
        self.patch(browser.shutil, "which", lambda program: f"/usr/bin/{program}")
        directory = self.mktemp()
        os.makedirs(directory)
        self.patch(browser, "CONVERSE_DIRECTORY", directory)
        with self.assertRaises(unittest.SkipTest) as raised:
            browser.skipUnlessBrowser()
        self.assertEqual(
            f"Converse.js {browser.pinnedVersion()} is not installed: run 'npm ci' in tests/browser",
            str(raised.exception),
        )
        with open(os.path.join(directory, "package.json"), "w", encoding="utf-8") as f:
            json.dump({"name": "converse.js", "version": "1.0.0"}, f)
        with self.assertRaises(unittest.SkipTest) as raised:
            browser.skipUnlessBrowser()
        self.assertIn("has Converse.js 1.0.0, but package.json pins", str(raised.exception))
