"""
Tests for L{mepserver.tap} and the twistd plugin.
"""

import gc
import os
import weakref

from twisted.application import internet, service
from twisted.application.service import IServiceMaker
from twisted.internet import endpoints, protocol
from twisted.plugin import getPlugins
from twisted.trial import unittest

from mepserver import config, tap
from tests.test_config import EXAMPLE, writeFile


class FakeServer(service.MultiService):
    """
    Stands in for L{mepserver.server.Server}: a L{service.MultiService}
    with C{listeners}.

    @ivar config: the configuration it was built from.
    """

    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.listeners = [
            (cfg.c2sListen, protocol.ServerFactory()),
            (cfg.httpListen, protocol.ServerFactory()),
        ]
        if cfg.directTLSListen is not None:
            self.listeners.append((cfg.directTLSListen, protocol.ServerFactory()))


class OptionsTests(unittest.TestCase):
    """
    Every option of L{tap.Options}, and its default.
    """

    def parse(self, *argv):
        """
        Parse C{argv} with a new L{tap.Options}.
        """
        options = tap.Options()
        options.parseOptions(list(argv))
        return options

    def test_defaults(self):
        """
        Without options, no option is set and the config is the defaults.
        """
        options = self.parse()
        for name in (
            "config", "domain", "muc-domain", "c2s", "direct-tls", "http",
            "storage", "data-dir", "component-connect", "component-secret",
        ):
            self.assertIsNone(options[name], name)
        self.assertFalse(options["verbose"])
        self.assertEqual(options.config, config.Config())
        self.assertEqual(options.overrides(), {})

    def test_config(self):
        """
        C{--config} and C{-c} read an INI file.
        """
        path = writeFile(self, "[server]\ndomain = file.org\n")
        for flag in ("--config", "-c"):
            options = self.parse(flag, path)
            self.assertEqual(options["config"], path)
            self.assertEqual(options.config.domain, "file.org")

    def test_exampleFile(self):
        """
        C{etc/mepserver.ini} loads to the defaults.
        """
        self.assertEqual(self.parse("-c", EXAMPLE).config, config.Config())

    def test_domain(self):
        """
        C{--domain} sets the domain, and with it the MUC domain.
        """
        options = self.parse("--domain", "Example.org")
        self.assertEqual(options["domain"], "Example.org")
        self.assertEqual(options.config.domain, "example.org")
        self.assertEqual(options.config.mucDomain, "conference.example.org")

    def test_mucDomain(self):
        """
        C{--muc-domain} sets the MUC domain, also beside C{--domain}.
        """
        options = self.parse("--muc-domain", "Rooms.example.org")
        self.assertEqual(options["muc-domain"], "Rooms.example.org")
        self.assertEqual(options.config.mucDomain, "rooms.example.org")
        options = self.parse("--domain", "example.org", "--muc-domain", "muc.example.org")
        self.assertEqual(options.config.mucDomain, "muc.example.org")

    def test_component(self):
        """
        C{--component-connect} and C{--component-secret} switch component
        mode on (XEP-0114): they set C{[component] connect} and C{secret}.
        """
        options = self.parse(
            "--component-connect", "tcp:127.0.0.1:5347", "--component-secret", "s3cret"
        )
        self.assertEqual(options["component-connect"], "tcp:127.0.0.1:5347")
        self.assertEqual(options["component-secret"], "s3cret")
        self.assertEqual(options.config.componentConnect, "tcp:127.0.0.1:5347")
        self.assertEqual(options.config.componentSecret, "s3cret")
        self.assertTrue(options.config.componentMode)
        self.assertFalse(self.parse().config.componentMode)

    def test_helpShowsBothModes(self):
        """
        The usage text (C{twistd mepserver --help}) describes both modes
        and the component options.
        """
        usage = tap.Options().getUsage()
        for text in (
            "Standalone (the default)",
            "As a component",
            "XEP-0114",
            "--component-connect",
            "--component-secret",
            "--muc-domain",
            "[component] connect",
        ):
            self.assertIn(text, usage)

    def test_c2s(self):
        """
        C{--c2s} sets the client listener.
        """
        options = self.parse("--c2s", "tcp:0")
        self.assertEqual(options["c2s"], "tcp:0")
        self.assertEqual(options.config.c2sListen, "tcp:0")

    def test_directTLS(self):
        """
        C{--direct-tls} sets the direct TLS listener (XEP-0368); C{off}
        switches it off.
        """
        options = self.parse("--direct-tls", "tcp:0")
        self.assertEqual(options["direct-tls"], "tcp:0")
        self.assertEqual(options.config.directTLSListen, "tcp:0")
        self.assertIsNone(self.parse("--direct-tls", "off").config.directTLSListen)

    def test_http(self):
        """
        C{--http} sets the HTTP listener.
        """
        options = self.parse("--http", "tcp:0:interface=127.0.0.1")
        self.assertEqual(options["http"], "tcp:0:interface=127.0.0.1")
        self.assertEqual(options.config.httpListen, "tcp:0:interface=127.0.0.1")

    def test_publicHTTPWithoutToken(self):
        """
        C{--http} beyond loopback without C{[http] token} stops start-up
        with one line naming the setting.
        """
        error = self.assertRaises(SystemExit, self.parse, "--http", "tcp:0")
        self.assertEqual(
            "mepserver: [http] token: required, since [http] listen 'tcp:0' is "
            "not on loopback only (set a token, or listen on 127.0.0.1)",
            str(error),
        )

    def test_storage(self):
        """
        C{--storage} sets the storage backend.
        """
        options = self.parse("--storage", "memory")
        self.assertEqual(options["storage"], "memory")
        self.assertEqual(options.config.storage, "memory")

    def test_dataDir(self):
        """
        C{--data-dir} sets the data directory.
        """
        options = self.parse("--data-dir", "var")
        self.assertEqual(options["data-dir"], "var")
        self.assertEqual(options.config.dataDir, "var")

    def test_verbose(self):
        """
        C{--verbose} and C{-v} turn traffic logging on.
        """
        for flag in ("--verbose", "-v"):
            options = self.parse(flag)
            self.assertTrue(options["verbose"])
            self.assertIs(options.config.verbose, True)

    def test_overridesWinOverFile(self):
        """
        Command-line options override the file; other file values stay.
        """
        path = writeFile(
            self,
            "[server]\ndomain = file.org\nverbose = yes\n"
            "[storage]\nbackend = memory\n",
        )
        options = self.parse("-c", path, "--domain", "cli.org")
        self.assertEqual(options.config.domain, "cli.org")
        self.assertEqual(options.config.storage, "memory")
        self.assertIs(options.config.verbose, True)

    def test_overrides(self):
        """
        L{tap.Options.overrides} maps the given options to config fields.
        """
        options = self.parse(
            "--domain",
            "d.org",
            "--c2s",
            "tcp:1",
            "--direct-tls",
            "tcp:3",
            "--http",
            "tcp:2:interface=127.0.0.1",
            "--storage",
            "memory",
            "--data-dir",
            "x",
            "--muc-domain",
            "m.d.org",
            "--component-connect",
            "tcp:h:1",
            "--component-secret",
            "s",
            "-v",
        )
        self.assertEqual(
            options.overrides(),
            {
                "domain": "d.org",
                "c2sListen": "tcp:1",
                "directTLSListen": "tcp:3",
                "httpListen": "tcp:2:interface=127.0.0.1",
                "storage": "memory",
                "dataDir": "x",
                "mucDomain": "m.d.org",
                "componentConnect": "tcp:h:1",
                "componentSecret": "s",
                "verbose": True,
            },
        )

    def test_missingFile(self):
        """
        An unreadable config file stops start-up with one line.
        """
        error = self.assertRaises(
            SystemExit, self.parse, "-c", "/nonexistent/mepserver.ini"
        )
        self.assertEqual(
            str(error),
            "mepserver: cannot read config file '/nonexistent/mepserver.ini': "
            "No such file or directory",
        )

    def test_badOverride(self):
        """
        A wrong override stops start-up with one line naming the setting.
        """
        error = self.assertRaises(SystemExit, self.parse, "--c2s", "tcp:abc")
        self.assertEqual(
            str(error),
            "mepserver: [c2s] listen: 'tcp:abc' is not a valid endpoint description (invalid port)",
        )
        error = self.assertRaises(SystemExit, self.parse, "--direct-tls", "tcp:x")
        self.assertEqual(
            str(error),
            "mepserver: [c2s] direct_tls_listen: 'tcp:x' is not a valid endpoint "
            "description (invalid port)",
        )
        error = self.assertRaises(SystemExit, self.parse, "--storage", "pg")
        self.assertEqual(
            str(error), "mepserver: [storage] backend: 'pg' is not one of sqlite, memory"
        )

    def test_badComponentSetting(self):
        """
        A wrong or missing component setting stops start-up with one line
        naming it, as any other setting.
        """
        error = self.assertRaises(
            SystemExit, self.parse, "--component-connect", "tcp:127.0.0.1:5347"
        )
        self.assertEqual(
            str(error),
            "mepserver: [component] secret: missing; running as a component "
            "([component] connect is set) needs the host's shared secret",
        )
        error = self.assertRaises(
            SystemExit,
            self.parse,
            "--component-connect",
            "tcp:127.0.0.1",
            "--component-secret",
            "s",
        )
        self.assertEqual(
            str(error),
            "mepserver: [component] connect: 'tcp:127.0.0.1' is not a valid "
            "endpoint description (missing port)",
        )
        path = writeFile(self, "[component]\nconect = tcp:127.0.0.1:5347\n")
        error = self.assertRaises(SystemExit, self.parse, "-c", path)
        self.assertEqual(str(error), "mepserver: unknown setting [component] conect")

    def test_badFile(self):
        """
        A wrong setting in the file stops start-up with one line naming it.
        """
        path = writeFile(self, "[c2s]\nlisen = tcp:0\n")
        error = self.assertRaises(SystemExit, self.parse, "-c", path)
        self.assertEqual(str(error), "mepserver: unknown setting [c2s] lisen")


class MakeServiceTests(unittest.TestCase):
    """
    L{tap.makeService} puts the server and its listeners under one service.
    """

    def setUp(self):
        self.built = []

        def buildServer(cfg):
            server = FakeServer(cfg)
            self.built.append(server)
            return server

        self.patch(tap, "buildServer", buildServer)

    def makeService(self, *argv):
        """
        Parse C{argv} and make the service.
        """
        options = tap.Options()
        options.parseOptions(list(argv))
        return options, tap.makeService(options)

    def test_topService(self):
        """
        The result is a L{service.MultiService} named C{mepserver} whose
        first child is the server, built from the parsed config.
        """
        options, top = self.makeService("--domain", "example.org")
        self.assertIsInstance(top, service.MultiService)
        self.assertEqual(top.name, "mepserver")
        [server] = self.built
        self.assertIs(server.config, options.config)
        self.assertIs(server.parent, top)
        self.assertIs(list(top)[0], server)

    def test_listeners(self):
        """
        Each listener becomes a strports service with its endpoint and
        factory, after the server.
        """
        _, top = self.makeService(
            "--c2s",
            "tcp:0:interface=127.0.0.1",
            "--http",
            "tcp6:0:interface=\\:\\:1",
            "--direct-tls",
            "tcp:0:interface=127.0.0.2",
        )
        [server] = self.built
        children = list(top)
        self.assertEqual(len(children), 1 + len(server.listeners))
        c2s, http, directTLS = children[1:]
        for child, (_, factory) in zip(children[1:], server.listeners):
            self.assertIsInstance(child, internet.StreamServerEndpointService)
            self.assertIs(child.factory, factory)
            self.assertIs(child.parent, top)
        self.assertIsInstance(c2s.endpoint, endpoints.TCP4ServerEndpoint)
        self.assertEqual(c2s.endpoint._port, 0)
        self.assertEqual(c2s.endpoint._interface, "127.0.0.1")
        self.assertIsInstance(http.endpoint, endpoints.TCP6ServerEndpoint)
        self.assertEqual(http.endpoint._interface, "::1")
        self.assertIsInstance(directTLS.endpoint, endpoints.TCP4ServerEndpoint)
        self.assertEqual(directTLS.endpoint._interface, "127.0.0.2")

    def test_defaultListeners(self):
        """
        By default the listeners are the loopback ports 5222, 5280 and 5223
        (direct TLS).
        """
        _, top = self.makeService()
        ports = [
            (child.endpoint._interface, child.endpoint._port) for child in list(top)[1:]
        ]
        self.assertEqual(
            ports, [("127.0.0.1", 5222), ("127.0.0.1", 5280), ("127.0.0.1", 5223)]
        )

    def test_directTLSOff(self):
        """
        With C{--direct-tls off} there is no direct TLS listener.
        """
        _, top = self.makeService("--direct-tls", "off")
        ports = [child.endpoint._port for child in list(top)[1:]]
        self.assertEqual(ports, [5222, 5280])

    def test_noListeners(self):
        """
        A server without listeners is the only child.
        """

        def buildServer(cfg):
            server = FakeServer(cfg)
            server.listeners = []
            return server

        self.patch(tap, "buildServer", buildServer)
        _, top = self.makeService()
        self.assertEqual(len(list(top)), 1)


    def test_startupObjectsFrozen(self):
        """
        Once every service started, the top service collects and then
        freezes what the process holds (L{gc.freeze}), so that later full
        collections skip it; stopping changes nothing of that.
        """

        def buildServer(cfg):
            server = FakeServer(cfg)
            server.listeners = []
            self.built.append(server)
            return server

        self.patch(tap, "buildServer", buildServer)
        _, top = self.makeService()
        [server] = self.built
        calls = []
        self.patch(gc, "collect", lambda: calls.append(("collect", server.running)))
        self.patch(gc, "freeze", lambda: calls.append(("freeze", server.running)))
        top.startService()
        self.addCleanup(top.stopService)
        self.assertEqual([("collect", 1), ("freeze", 1), ("collect", 1)], calls)

    def test_cyclicGarbageCollectedAfterFreeze(self):
        """
        After the freeze, cyclic garbage that reached the oldest generation
        is freed by the collector's own full collections as they come,
        after some tens of thousands of allocations: their pace is not set
        by the quarter of everything frozen (what the collection before
        the freeze kept), which in this process is more than the
        allocations below ever promote.
        """
        if not gc.isenabled():
            raise unittest.SkipTest("the garbage collector is disabled")

        def buildServer(cfg):
            server = FakeServer(cfg)
            server.listeners = []
            return server

        class Cycle:
            def __init__(self):
                self.me = self

        self.patch(tap, "buildServer", buildServer)
        _, top = self.makeService()
        self.addCleanup(gc.unfreeze)
        top.startService()
        self.addCleanup(top.stopService)
        garbage = Cycle()
        freed = weakref.ref(garbage)
        # Into the oldest generation while alive, as a stanza still being
        # handled when a collection of the middle one comes.
        gc.collect(1)
        del garbage
        allocations = 0
        while freed() is not None and allocations < 500000:
            for _ in range(1000):
                Cycle()
            allocations += 1000
        self.assertIsNone(freed(), f"not freed after {allocations} allocations")


class ComponentServiceTests(unittest.TestCase):
    """
    L{tap.makeService} in component mode, with the real server.
    """

    def test_onlyTheHTTPListener(self):
        """
        As a component, the server listens on the HTTP API's endpoint only
        (no client ports), and connects to the host through its link, one
        of its child services.
        """
        from mepserver.hostlink import HostLink

        options = tap.Options()
        options.parseOptions([
            "--component-connect", "tcp:127.0.0.1:5347",
            "--component-secret", "s",
            "--storage", "memory",
            "--http", "tcp:0:interface=127.0.0.1",
            "--data-dir", self.mktemp(),
        ])
        top = tap.makeService(options)
        server, http = list(top)
        self.assertIsInstance(http, internet.StreamServerEndpointService)
        self.assertEqual(http.endpoint._port, 0)
        self.assertEqual([description for description, _ in server.listeners], ["tcp:0:interface=127.0.0.1"])
        self.assertIsInstance(server.link, HostLink)
        self.assertEqual(server.link.domain, "conference.localhost")
        self.assertEqual(server.link.description, "tcp:127.0.0.1:5347")


class PluginTests(unittest.TestCase):
    """
    twistd finds the plugin.
    """

    def test_plugin(self):
        """
        One L{IServiceMaker} plugin is called C{mepserver}, and it uses
        L{tap.Options} and L{tap.makeService}.
        """
        makers = [p for p in getPlugins(IServiceMaker) if p.tapname == "mepserver"]
        self.assertEqual(len(makers), 1)
        [maker] = makers
        self.assertIs(maker.options, tap.Options)
        self.assertIs(maker.makeService, tap.makeService)
        self.assertTrue(maker.description)


class TwistdTests(unittest.TestCase):
    """
    The real twistd, in a subprocess.
    """

    def test_badSettingOneLine(self):
        """
        C{twistd -n mepserver} with a wrong setting prints exactly one line
        naming it, no traceback, and exits with status 1.
        """
        import subprocess
        import sys

        runner = "import sys; from twisted.scripts.twistd import run; run()"
        # From the project's root, whose twisted/plugins holds the plugin:
        # trial runs tests in _trial_temp, where twistd would not find it.
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        result = subprocess.run(
            [sys.executable, "-c", runner, "-n", "mepserver", "--c2s", "tcp:abc"],
            capture_output=True,
            text=True,
            cwd=root,
        )
        self.assertEqual(1, result.returncode)
        self.assertEqual(
            "mepserver: [c2s] listen: 'tcp:abc' is not a valid endpoint "
            "description (invalid port)\n",
            result.stderr,
        )
        self.assertEqual("", result.stdout)
