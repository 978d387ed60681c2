# -*- test-case-name: tests.e2e.test_inspector_browser -*-
"""
The inspector page (L{mepserver.inspector}) in a real browser: the browser
tier's headless Chromium (L{tests.e2e.browser}: Debian's C{chromium} with
C{chromium-driver}, driven by selenium through the system's browser and
driver, nothing downloaded), shared with the Converse.js tests, but without
Converse.js. Without them the test is skipped and says why; C{.ci/run}
installs them.

The test never waits on time: each wait is a script in the page that
answers as soon as a C{MutationObserver} sees what it waits for
(L{tests.e2e.browser.Browser.observe}). The page talks to the server under
test; when the test ends, the browser leaves it, and the server's side of
the connections the browser keeps open for reuse is closed.
"""

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.browser import sharedBrowser
from tests.test_inspector import NS_CONFERENCE_INFO, WRONG_VER, joinWithWrongCaps

#: A room event whose payload a careless page would turn into markup: an
#: XHTML image with a script in its error handler, and escaped tags.
HOSTILE = (
    f"<conference-info xmlns='{NS_CONFERENCE_INFO}'>"
    "<activity xmlns='http://jabber.org/protocol/activity'><other/>"
    "<text>&lt;script&gt;window.pwned = 1&lt;/script&gt; starts now</text></activity>"
    "<img xmlns='http://www.w3.org/1999/xhtml' src='x' onerror='window.pwned = 2'/>"
    "</conference-info>"
)

#: Calls back with the text of the first element matching a selector whose
#: text contains a string, as soon as there is one.
WAIT_FOR = """
const [selector, text, done] = arguments;
const find = () => {
  for (const element of document.querySelectorAll(selector)) {
    if (element.textContent.includes(text)) return element.textContent;
  }
  return null;
};
const found = find();
if (found !== null) { done(found); return; }
const observer = new MutationObserver(() => {
  const now = find();
  if (now !== null) { observer.disconnect(); done(now); }
});
observer.observe(document.documentElement,
  {childList: true, subtree: true, characterData: true, attributes: true});
"""


class InspectorBrowserTests(unittest.TestCase):
    """
    A MEP scenario shown by the page in Chromium.
    """

    timeout = 60

    async def test_page(self):
        """
        Alice joins with caps asking for conference-info, Bob with a caps
        hash his answer does not match. With the page open, the room
        publishes an event: the page shows both sessions, the room and its
        occupants, the event in the live stanza stream going to Alice, the
        explainer naming Bob's hash mismatch with both hashes, and the
        payload as text, never as markup.
        """
        browser = sharedBrowser(converse=False)
        running = await startServer(self)
        alice = await running.createAccount("alice")
        bob = await running.createAccount("bob")
        room = await running.createRoom("lobby", owner=alice, name="The Lobby")
        aliceClient = await running.connectClient(alice, "converse")
        bobsClient = await running.connectClient(bob, "dev")
        await aliceClient.joinRoom(room, "alice", notify=[NS_CONFERENCE_INFO])
        caps = await joinWithWrongCaps(bobsClient, room, "bob", NS_CONFERENCE_INFO)

        origin = f"http://127.0.0.1:{running.httpPort}"
        # Cleanups run last first: the browser leaves, then the server
        # stops, closing the connections the browser keeps open.
        self.addCleanup(browser.leave, origin)

        def wait(selector, text=""):
            return browser.observe(WAIT_FOR, selector, text)

        await browser.open(origin + "/")
        await wait("#stream-status[data-state='live']", "live")
        await running.generateEvent(room, NS_CONFERENCE_INFO, HOSTILE, "m1")
        await aliceClient.waitFor("/message/event/items/item[@id='m1']")

        sessions = await wait("#sessions-list", "bob@localhost/dev")
        self.assertIn("alice@localhost/converse", sessions)
        self.assertIn("STARTTLS", sessions)
        occupants = await wait(f"[data-room='{room.full()}'] table", "bob@localhost")
        self.assertIn("alice@localhost", occupants)
        stanza = await wait(
            "#stanzas .stanza[data-direction='out'][data-session='alice@localhost/converse']",
            "item id='m1'",
        )
        self.assertIn("http://jabber.org/protocol/pubsub#event", stanza)
        self.assertIn("onerror=", stanza)
        reason = await wait(
            "[data-item='m1'] .delivery[data-jid='bob@localhost/dev']", "caps-hash-mismatch"
        )
        self.assertIn(WRONG_VER, reason)
        self.assertIn(caps.ver, reason)
        delivered = await wait(
            "[data-item='m1'] .delivery[data-jid='alice@localhost/converse']", "delivered"
        )
        self.assertIn("yes", delivered)
        payload = await wait(f"[data-room='{room.full()}'] pre.payload", "starts now")
        self.assertIn("&lt;script&gt;", payload)
        markup = await browser.evaluate(
            "return [window.pwned, document.querySelectorAll('main img, main script').length];"
        )
        self.assertEqual([None, 0], markup)
