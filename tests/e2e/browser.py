# -*- test-case-name: tests.e2e.test_converse -*-
"""
A real browser for the end-to-end tier: Debian's headless Chromium, driven
by selenium, running the real Converse.js that C{tests/browser/package.json}
pins (installed there by C{npm ci}) against the server under test.

L{sharedBrowser} starts one Chromium for the whole test run, lazily, and
quits it at exit: starting a browser costs more than a test that uses it.
Every selenium call runs in the one worker thread of its L{Browser}, never
in the reactor's, because the server under test runs in the test's
reactor and must go on answering the browser while selenium waits.

L{serveConverse} serves a page that starts Converse.js with the given
settings, and Converse.js's C{dist} files, from C{twisted.web} on an
ephemeral port of 127.0.0.1, for one test: each test's page has an origin
(and so browser storage) of its own, and nothing of it stays in the
reactor after the test, as trial's dirty-reactor check requires.

L{skipUnlessBrowser} skips, saying what to install, when Chromium,
chromedriver, selenium or the pinned Converse.js is missing;
L{skipUnlessChromium}, for a test without Converse.js (the inspector's,
L{tests.e2e.test_inspector_browser}), when one of the others is.
"""

import atexit
import concurrent.futures
import html
import importlib
import json
import os
import shutil
import tempfile
import warnings

from twisted.internet import defer, endpoints
from twisted.python import failure
from twisted.trial import unittest
from twisted.web import server

from mepserver.testing.server import OpenConnections
from mepserver.web import Folder

with warnings.catch_warnings():
    # Twisted 26's static module makes its error pages with classes it
    # deprecated itself, and warns as it is imported.
    warnings.simplefilter("ignore", DeprecationWarning)
    from twisted.web import static

#: Where C{npm ci} installs the pinned Converse.js.
PACKAGE_DIRECTORY = os.path.join(os.path.dirname(os.path.dirname(__file__)), "browser")
CONVERSE_DIRECTORY = os.path.join(PACKAGE_DIRECTORY, "node_modules", "converse.js")
CONVERSE_DIST = os.path.join(CONVERSE_DIRECTORY, "dist")

#: Debian's Chromium and its driver (packages C{chromium}, C{chromium-driver}).
CHROMIUM = "chromium"
CHROMEDRIVER = "chromedriver"

#: Chromium's command-line flags: headless, as root (no sandbox), and
#: nothing that reaches out to the network on its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: How long, in seconds, a wait for the page may take before it fails: it
#: polls, and only turns a hang into a failure.
WAIT = 10.0

#: How often, in seconds, a wait looks at the page again.
POLL = 0.02


def pinnedVersion() -> str:
    """
    @return: the Converse.js version C{tests/browser/package.json} pins.
    """
    with open(os.path.join(PACKAGE_DIRECTORY, "package.json"), encoding="utf-8") as f:
        return json.load(f)["dependencies"]["converse.js"]


def installedVersion():
    """
    @return: the version of the Converse.js in C{tests/browser/node_modules},
        or L{None} if there is none.
    """
    try:
        with open(os.path.join(CONVERSE_DIRECTORY, "package.json"), encoding="utf-8") as f:
            return json.load(f)["version"]
    except FileNotFoundError:
        return None


def skipUnlessBrowser():
    """
    Raise L{unittest.SkipTest}, saying what to install, unless selenium,
    Chromium, chromedriver and the pinned Converse.js are all there.
    """
    skipUnlessChromium()
    pinned, installed = pinnedVersion(), installedVersion()
    if installed is None:
        raise unittest.SkipTest(
            f"Converse.js {pinned} is not installed: run 'npm ci' in tests/browser"
        )
    if installed != pinned:
        raise unittest.SkipTest(
            f"tests/browser/node_modules has Converse.js {installed}, but "
            f"package.json pins {pinned}: run 'npm ci' in tests/browser"
        )


def skipUnlessChromium():
    """
    Raise L{unittest.SkipTest}, saying what to install, unless selenium,
    Chromium and chromedriver are all there.
    """
    try:
        importlib.import_module("selenium")
    except ImportError:
        raise unittest.SkipTest(
            "selenium is not installed (pip install '.[test]'): the browser "
            "tier drives Chromium with it"
        )
    for program, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if shutil.which(program) is None:
            raise unittest.SkipTest(
                f"{program} is not installed (apt-get install {package}): the "
                "browser tier runs in a headless Chromium"
            )


class Browser:
    """
    One headless Chromium under selenium, driven from one worker thread:
    each method runs there and returns a Deferred of its result, so that
    the reactor runs on while the browser works or a wait polls.

    Chromium starts at once, in the worker, and whatever is asked of the
    browser runs after that; if it could not start, every call fails with
    the reason.

    @ivar driver: the selenium C{WebDriver}, once started; only the worker
        thread uses it.
    """

    def __init__(self, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self._worker = concurrent.futures.ThreadPoolExecutor(1, "browser")
        self._profile = tempfile.mkdtemp(prefix="mepserver-chromium-")
        self.driver = None
        self._startError = None
        self._worker.submit(self._start)

    def _run(self, f, *args):
        d = defer.Deferred()

        def deliver(future):
            try:
                result = future.result()
            except BaseException as e:
                d.errback(failure.Failure(e, type(e), e.__traceback__))
            else:
                d.callback(result)

        future = self._worker.submit(self._call, f, *args)
        future.add_done_callback(lambda f: self._reactor.callFromThread(deliver, f))
        return d

    def _call(self, f, *args):
        if self.driver is None:
            raise RuntimeError(f"Chromium did not start: {self._startError!r}")
        return f(*args)

    def _start(self):
        try:
            self.driver = self._startDriver()
        except BaseException as e:
            self._startError = e

    def _startDriver(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        # The page's console, for the message of a failed wait.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Tests wait for what they look for; nothing waits for images.
        options.page_load_strategy = "none"
        return webdriver.Chrome(options=options, service=Service(shutil.which(CHROMEDRIVER)))

    def open(self, url: str) -> defer.Deferred:
        """
        Load C{url} in the browser's one tab.
        """
        return self._run(lambda: self.driver.get(url))

    def leave(self, origin: str) -> defer.Deferred:
        """
        Leave the page for C{about:blank}, which closes its connections,
        and clear what the page stored at C{origin} (a page's storage
        outlives it).
        """

        def leave():
            from selenium.webdriver.support.ui import WebDriverWait

            self.driver.get("about:blank")
            # Loading pages is not waited for (page_load_strategy).
            WebDriverWait(self.driver, WAIT, POLL).until(
                lambda driver: driver.execute_script("return location.href") == "about:blank"
            )
            self.driver.execute_cdp_cmd(
                "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
            )
            # The console of the next page starts empty.
            self.driver.get_log("browser")

        return self._run(leave)

    def evaluate(self, script: str, *args) -> defer.Deferred:
        """
        Run JavaScript in the page (the body of a function of
        C{arguments}), firing with what it returns.
        """
        return self._run(lambda: self.driver.execute_script(script, *args))

    def waitUntil(self, script: str, *args, description: str, timeout: float = WAIT) -> defer.Deferred:
        """
        Run JavaScript in the page (as L{evaluate}) until it returns
        something true, and fire with that.

        @param description: what is waited for, for the failure.
        @return: a Deferred failing with an C{AssertionError} that shows the
            page's text and console after C{timeout} seconds.
        """

        def wait():
            from selenium.common.exceptions import TimeoutException
            from selenium.webdriver.support.ui import WebDriverWait

            try:
                return WebDriverWait(self.driver, timeout, POLL).until(
                    lambda driver: driver.execute_script(script, *args)
                )
            except TimeoutException:
                raise AssertionError(
                    f"the page did not show {description} within {timeout}s\n"
                    + self._describe()
                ) from None

        return self._run(wait)

    def observe(self, script: str, *args, timeout: float = WAIT) -> defer.Deferred:
        """
        Run asynchronous JavaScript in the page (the body of a function of
        C{arguments}, whose last one is the callback), firing with what it
        calls back with: for a wait the page answers itself, with a
        C{MutationObserver}, instead of being polled. A script that a page
        load cut short (pages are not waited for) runs again in the new
        page.

        @return: a Deferred failing with an C{AssertionError} that shows the
            page's text and console after C{timeout} seconds.
        """

        def observe():
            from selenium.common.exceptions import JavascriptException, TimeoutException

            self.driver.set_script_timeout(timeout)
            while True:
                try:
                    return self.driver.execute_async_script(script, *args)
                except JavascriptException as e:
                    if "unloaded" not in str(e):
                        raise
                except TimeoutException:
                    raise AssertionError(
                        f"the page's script did not answer within {timeout}s\n"
                        + self._describe()
                    ) from None

        return self._run(observe)

    def waitForTexts(self, selector: str, texts, timeout: float = WAIT) -> defer.Deferred:
        """
        Wait until each of C{texts} is the whole text (trimmed) of an
        element matching the CSS C{selector}.

        @return: a Deferred firing with the texts of all the elements
            matching C{selector} then, in document order.
        """
        return self.waitUntil(
            "const found = Array.from(document.querySelectorAll(arguments[0]),"
            " e => e.textContent.trim());"
            "return arguments[1].every(t => found.includes(t)) && found;",
            selector,
            list(texts),
            description=f"{list(texts)!r} in {selector!r}",
            timeout=timeout,
        )

    def _describe(self) -> str:
        text = self.driver.execute_script("return document.body ? document.body.innerText : ''")
        console = "\n".join(
            f"  {entry['level']} {entry['message']}" for entry in self.driver.get_log("browser")
        )
        return f"page text:\n{text}\nconsole:\n{console}"

    def quit(self):
        """
        Quit Chromium and chromedriver, and remove the profile directory;
        call it once nothing else runs in the worker.
        """
        self._worker.shutdown()
        if self.driver is not None:
            self.driver.quit()
        shutil.rmtree(self._profile, ignore_errors=True)


_shared = None


def sharedBrowser(converse: bool = True) -> Browser:
    """
    The run's one L{Browser}: started by the first call, quit at exit.

    @param converse: whether the test needs the pinned Converse.js too.
    @raise unittest.SkipTest: as L{skipUnlessBrowser}, or without
        C{converse} as L{skipUnlessChromium}.
    """
    global _shared
    if converse:
        skipUnlessBrowser()
    else:
        skipUnlessChromium()
    if _shared is None:
        _shared = Browser()
        atexit.register(_shared.quit)
    return _shared


def conversePage(settings: dict) -> bytes:
    """
    @param settings: Converse.js's settings (C{converse.initialize}).
    @return: an HTML page that loads Converse.js from C{dist/} and starts
        it with C{settings}.
    """
    # JSON is JavaScript; "<" escaped, so that nothing in it ends the script.
    literal = json.dumps(settings).replace("<", "\\u003c")
    version = html.escape(installedVersion() or "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>Converse.js {version} under test</title>"
        # No favicon request.
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/dist/converse.min.css">'
        # An ES module since Converse.js 11: it uses import.meta.
        '<script type="module" src="/dist/converse.min.js"></script>'
        "</head><body>"
        # Modules run in order: converse is defined by then.
        f'<script type="module">converse.initialize({literal});</script>'
        "</body></html>"
    ).encode("utf-8")


class _QuietSite(server.Site):
    """
    A site that logs no requests: Converse.js's are of no interest in the
    test log.
    """

    def log(self, request):
        pass


@defer.inlineCallbacks
def serveConverse(testCase, settings: dict, reactor=None):
    """
    Serve, for the duration of C{testCase}, the page of L{conversePage} at
    C{/} and Converse.js's C{dist} files under C{/dist/}, on an ephemeral
    port of 127.0.0.1.

    @return: a Deferred firing with the page's URL.
    """
    if reactor is None:
        from twisted.internet import reactor
    root = Folder()
    root.putChild(b"", static.Data(conversePage(settings), "text/html; charset=utf-8"))
    root.putChild(b"dist", static.File(CONVERSE_DIST))
    # A browser keeps idle HTTP connections open after the page is gone.
    factory = OpenConnections(_QuietSite(root))
    endpoint = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    port = yield endpoint.listen(factory)

    def stop():
        d = defer.maybeDeferred(port.stopListening)
        d.addCallback(lambda _: factory.abortAll())
        return d

    testCase.addCleanup(stop)
    return f"http://127.0.0.1:{port.getHost().port}/"


@defer.inlineCallbacks
def openConverse(testCase, browser: Browser, settings: dict):
    """
    Serve Converse.js with C{settings} (L{serveConverse}) and open it in
    C{browser}; at the end of the test the browser leaves the page and
    forgets what it stored, before the page's server stops.

    @return: a Deferred firing with the page's URL once it is loading.
    """
    url = yield serveConverse(testCase, settings)
    testCase.addCleanup(browser.leave, url.rstrip("/"))
    yield browser.open(url)
    return url
