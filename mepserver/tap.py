# -*- test-case-name: tests.test_tap -*-
"""
The twistd plugin's options and service: C{twistd -n mepserver}.

L{Options} takes C{-c/--config} plus a few overrides and validates them all
through L{mepserver.config.load}, so a wrong setting ends twistd at option
parsing with one line naming it. L{makeService} builds the server and one
L{strports<twisted.application.strports>} service per listener: in
component mode (C{[component] connect}) the HTTP API's alone, the link to
the host being one of the server's own child services.
"""

import gc
from typing import Any, Dict

from twisted.application import service, strports
from twisted.python import usage

from mepserver import config

__all__ = ["Options", "makeService", "buildServer"]


class Options(usage.Options):
    """
    Command-line options of C{twistd mepserver}.

    After parsing, C{self.config} is the validated L{config.Config}.
    """

    longdesc = (
        "Runs mepserver, in one of two modes. Standalone (the default): an "
        "XMPP server of its own, with client listeners (TCP, direct TLS, "
        "WebSocket), accounts, the MUC service with MEP (XEP-0316), upload "
        "and the HTTP API. As a component: with --component-connect and "
        "--component-secret ([component] connect and secret), it attaches "
        "to a host server (Prosody, ejabberd) as its MUC component "
        "(XEP-0114) and runs only the MUC service with MEP on --muc-domain, "
        "the HTTP API and the room store; the host, --domain, has the users. "
        "Without --config the embedded defaults apply (see "
        "etc/mepserver.ini); the options override the file."
    )

    optParameters = [
        ("config", "c", None, "INI configuration file (see etc/mepserver.ini)"),
        (
            "domain",
            None,
            None,
            "client domain, or the host server's as a component, "
            "[server] domain (default: localhost)",
        ),
        (
            "muc-domain",
            None,
            None,
            "MUC service domain, [muc] domain (default: conference. + domain)",
        ),
        (
            "c2s",
            None,
            None,
            "client listener endpoint, [c2s] listen "
            "(default: tcp:5222:interface=127.0.0.1)",
        ),
        (
            "direct-tls",
            None,
            None,
            "direct TLS (XEP-0368) client listener endpoint or off, "
            "[c2s] direct_tls_listen (default: tcp:5223:interface=127.0.0.1)",
        ),
        (
            "http",
            None,
            None,
            "WebSocket and HTTP API endpoint (the HTTP API alone as a "
            "component), [http] listen (default: tcp:5280:interface=127.0.0.1)",
        ),
        (
            "storage",
            None,
            None,
            "sqlite or memory, [storage] backend (default: sqlite)",
        ),
        (
            "data-dir",
            None,
            None,
            "directory for the database and the generated certificate, "
            "[server] data_dir (default: mepserver-data)",
        ),
        (
            "component-connect",
            None,
            None,
            "run as the MUC component of the host server at this client "
            "endpoint, e.g. tcp:127.0.0.1:5347, [component] connect "
            "(default: off, standalone)",
        ),
        (
            "component-secret",
            None,
            None,
            "the component's shared secret, [component] secret; prefer the "
            "config file, which other users cannot read in the process list",
        ),
    ]

    optFlags = [
        ("verbose", "v", "log traffic, [server] verbose"),
    ]

    # Option name -> config.Config field.
    overrideFields = {
        "domain": "domain",
        "muc-domain": "mucDomain",
        "c2s": "c2sListen",
        "direct-tls": "directTLSListen",
        "http": "httpListen",
        "storage": "storage",
        "data-dir": "dataDir",
        "component-connect": "componentConnect",
        "component-secret": "componentSecret",
    }

    def overrides(self) -> Dict[str, Any]:
        """
        The settings given on the command line.

        @return: L{config.Config} field names to values, for
            L{config.load}; options not given are left out.
        """
        result: Dict[str, Any] = {
            name: self[option]
            for option, name in self.overrideFields.items()
            if self[option] is not None
        }
        if self["verbose"]:
            result["verbose"] = True
        return result

    def postOptions(self) -> None:
        """
        Load and validate the configuration into C{self.config}.

        @raise SystemExit: a setting is wrong or the file cannot be read;
            the message is L{config.ConfigError}'s one line, prefixed with
            "mepserver: ". Not a L{usage.UsageError}: twistd prints its
            whole usage text before one of those, burying the one line that
            matters; a L{SystemExit} with a message prints just that line
            to standard error and exits with status 1.
        """
        try:
            self.config = config.load(self["config"], self.overrides())
        except config.ConfigError as e:
            raise SystemExit(f"mepserver: {e}")


def buildServer(cfg: config.Config) -> service.MultiService:
    """
    Call L{mepserver.server.buildServer}.

    The import waits until the service is made, so that parsing options
    (C{twistd mepserver --help}, a config error) does not load the whole
    protocol stack; tests replace this function.

    @return: the server: a L{service.MultiService} with a C{listeners}
        list of C{(endpointDescription, factory)} pairs.
    """
    from mepserver import server

    return server.buildServer(cfg)


class MepserverService(service.MultiService):
    """
    The top service of C{twistd mepserver}: once every service started,
    what the process holds (modules, classes, the configuration, the
    server's handlers) is moved out of the garbage collector's way with
    L{gc.freeze}. It lives as long as the process, and the full
    collections that the churn of connections triggers from time to time
    no longer walk through it (some 30 ms each, about one every thousand
    logins).

    A second collection follows the freeze: CPython starts a full
    collection only once the objects promoted to the oldest generation
    since the last one reach a quarter of what that last one kept, and the
    collection before the freeze kept everything (some 72,000 objects),
    frozen since. Without it, cyclic garbage that reached the oldest
    generation (parsed stanzas are cycles: each child names its parent)
    waited for some 18,000 promoted objects, minutes of a busy room: the
    resident memory of the long fan-out (1x50, 100 messages a second,
    C{bench/compare.py --scenarios soak}) grew 1.5 MiB in 300 s. After
    it, what that collection kept, almost nothing, sets the pace, as in a
    process that never froze.
    """

    def startService(self):
        service.MultiService.startService(self)
        gc.collect()
        gc.freeze()
        gc.collect()


def makeService(options: Options) -> service.MultiService:
    """
    Build the C{mepserver} service: the server, and a listening service
    for each of its listeners.

    @param options: parsed L{Options}.
    @return: a L{service.MultiService} named C{"mepserver"}.
    """
    top = MepserverService()
    top.setName("mepserver")
    server = buildServer(options.config)
    server.setServiceParent(top)
    for description, factory in server.listeners:
        strports.service(description, factory).setServiceParent(top)
    return top
