# -*- test-case-name: tests.e2e.test_inspector_browser -*-
"""
The inspector page (L{mepserver.inspector}) in a real browser: Debian's
headless Chromium with C{chromium-driver}, driven by selenium through the
system's browser and driver (nothing is downloaded), with the flags of the
browser tier (L{tests.e2e.browser}); unlike that tier's, it needs no
Converse.js. Without them the test is skipped and says why; C{.ci/run}
installs them.

The test starts and quits a Chromium of its own: the page talks to the
server under test, and only a browser that quits closes its idle HTTP
connections to it before the test ends. Selenium blocks, so it runs in a
thread while the reactor serves the page. The test never waits on time:
each wait is a script in the page that answers as soon as a
C{MutationObserver} sees what it waits for.
"""

import shutil
import tempfile

from twisted.internet import defer, threads
from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS
from tests.test_inspector import NS_CONFERENCE_INFO, WRONG_VER, joinWithWrongCaps

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    webdriver = None

#: A room event whose payload a careless page would turn into markup: an
#: XHTML image with a script in its error handler, and escaped tags.
HOSTILE = (
    f"<conference-info xmlns='{NS_CONFERENCE_INFO}'>"
    "<activity xmlns='http://jabber.org/protocol/activity'><other/>"
    "<text>&lt;script&gt;window.pwned = 1&lt;/script&gt; starts now</text></activity>"
    "<img xmlns='http://www.w3.org/1999/xhtml' src='x' onerror='window.pwned = 2'/>"
    "</conference-info>"
)

#: Resolves with the text of the first element matching a selector whose
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


def skipUnlessBrowser():
    """
    @raise unittest.SkipTest: without selenium, Chromium or its driver.
    """
    if webdriver is None:
        raise unittest.SkipTest("selenium is not installed (pip install '.[test]')")
    if shutil.which(CHROMIUM) is None or shutil.which(CHROMEDRIVER) is None:
        raise unittest.SkipTest(
            "no headless browser: install Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver), as .ci/run does"
        )


class Browser:
    """
    One headless Chromium, driven from a thread.
    """

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="mepserver-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        self.driver = webdriver.Chrome(
            options=options, service=Service(shutil.which(CHROMEDRIVER))
        )
        self.driver.set_script_timeout(10)

    def waitFor(self, selector, text=""):
        """
        @return: the text of the first element matching C{selector} whose
            text contains C{text}, once there is one.
        """
        return self.driver.execute_async_script(WAIT_FOR, selector, text)

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


class InspectorBrowserTests(unittest.TestCase):
    """
    A MEP scenario shown by the page in Chromium.
    """

    timeout = 60

    def setUp(self):
        skipUnlessBrowser()

    async def test_page(self):
        """
        Alice joins with caps asking for conference-info, Bob with a caps
        hash his answer does not match. With the page open, the room
        publishes an event: the page shows both sessions, the room and its
        occupants, the event in the live stanza stream going to Alice, the
        explainer naming Bob's hash mismatch with both hashes, and the
        payload as text, never as markup.
        """
        # Chromium starts in its thread while the scenario runs.
        starting = threads.deferToThread(Browser)
        try:
            running = await startServer(self)
            alice = await running.createAccount("alice")
            bob = await running.createAccount("bob")
            room = await running.createRoom("lobby", owner=alice, name="The Lobby")
            aliceClient = await running.connectClient(alice, "converse")
            bobsClient = await running.connectClient(bob, "dev")
            await aliceClient.joinRoom(room, "alice", notify=[NS_CONFERENCE_INFO])
            caps = await joinWithWrongCaps(bobsClient, room, "bob", NS_CONFERENCE_INFO)
        except BaseException:
            starting.addCallback(lambda browser: threads.deferToThread(browser.quit))
            await starting
            raise

        browser = await starting
        tap = running.server.stanzas
        closed = []

        async def close():
            await threads.deferToThread(browser.quit)
            # The page's event stream has closed on the server's side.
            await defer.gatherResults(closed)

        self.addCleanup(close)
        url = f"http://127.0.0.1:{running.httpPort}/"
        await threads.deferToThread(browser.driver.get, url)
        await threads.deferToThread(browser.waitFor, "#stream-status[data-state='live']", "live")
        closed.extend(
            viewer.request.notifyFinish().addErrback(lambda _: None) for viewer in tap.viewers
        )

        await running.generateEvent(room, NS_CONFERENCE_INFO, HOSTILE, "m1")
        await aliceClient.waitFor("/message/event/items/item[@id='m1']")

        wait = browser.waitFor
        sessions = await threads.deferToThread(wait, "#sessions-list", "bob@localhost/dev")
        self.assertIn("alice@localhost/converse", sessions)
        self.assertIn("STARTTLS", sessions)
        occupants = await threads.deferToThread(
            wait, f"[data-room='{room.full()}'] table", "bob@localhost"
        )
        self.assertIn("alice@localhost", occupants)
        stanza = await threads.deferToThread(
            wait,
            "#stanzas .stanza[data-direction='out'][data-session='alice@localhost/converse']",
            "item id='m1'",
        )
        self.assertIn("http://jabber.org/protocol/pubsub#event", stanza)
        self.assertIn("onerror=", stanza)
        reason = await threads.deferToThread(
            wait,
            "[data-item='m1'] .delivery[data-jid='bob@localhost/dev']",
            "caps-hash-mismatch",
        )
        self.assertIn(WRONG_VER, reason)
        self.assertIn(caps.ver, reason)
        delivered = await threads.deferToThread(
            wait, "[data-item='m1'] .delivery[data-jid='alice@localhost/converse']", "delivered"
        )
        self.assertIn("yes", delivered)
        payload = await threads.deferToThread(wait, f"[data-room='{room.full()}'] pre.payload", "starts now")
        self.assertIn("&lt;script&gt;", payload)
        markup = await threads.deferToThread(
            browser.driver.execute_script,
            "return [window.pwned, document.querySelectorAll('main img, main script').length];",
        )
        self.assertEqual([None, 0], markup)
