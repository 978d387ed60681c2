# -*- test-case-name: tests.e2e.test_prosody -*-
"""
A real Prosody, the reference server, started for one test: the same
scenarios that judge mepserver run against it (L{tests.e2e.test_prosody}).

L{startProsody} writes a configuration into a temporary directory (one
virtual host, C{localhost}, and a MUC component, C{conference.localhost}:
Prosody's own, with room archives and, if installed, moderation,
L{mucModules}, or mepserver attached as an external component (XEP-0114)
for L{tests.e2e.test_component};
client connections on 127.0.0.1 only, STARTTLS required; the data, the
pid file and the log in that directory), gives Prosody a certificate made
by mepserver's own L{loadOrCreateCertificate}, so that the scenarios'
C{cafile} is the one they trust for mepserver, and runs C{prosody -F} as a
child process of the reactor: a L{RunningProsody}, an
L{tests.e2e.external.ExternalServer} with C{createAccount} too.
"""

import os
import shutil

from twisted.internet import utils
from twisted.trial import unittest
from twisted.words.protocols.jabber import jid

from mepserver.c2s.tls import loadOrCreateCertificate
from mepserver.testing.client import Account
from tests.e2e.external import ExternalServer, pickPort

#: The modules to load besides those Prosody always loads (c2s, presence,
#: message, iq); offline is one of its defaults, listed all the same.
MODULES = (
    "roster",
    "saslauth",
    "tls",
    "disco",
    "ping",
    "version",
    "register",
    "carbons",
    "blocklist",
    "offline",
    "smacks",
    "csi_simple",
    "pep",
    "private",
    "bookmarks",
    "mam",
)

#: Where Debian's prosody-modules package puts the community modules.
COMMUNITY_MODULES = "/usr/lib/prosody/modules"


def hasCommunityModule(name):
    """
    Whether a module of the community collection (Debian's
    C{prosody-modules}, not part of Prosody 0.12 itself) is installed:
    C{muc_moderation} (XEP-0425 version 0.2), say.
    """
    return os.path.exists(os.path.join(COMMUNITY_MODULES, f"mod_{name}", f"mod_{name}.lua"))


def mucModules():
    """
    The MUC component's modules: Prosody's own C{muc_mam} (XEP-0313 for
    rooms), and C{muc_moderation} when the community collection has it.
    """
    modules = ["muc_mam"]
    if hasCommunityModule("muc_moderation"):
        modules.append("muc_moderation")
    return modules

CONFIG = """\
-- Written by tests/e2e/prosody.py for one test.
run_as_root = true
prosody_user = {user}
pidfile = {pidfile}
data_path = {data}
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = {log} }} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
modules_enabled = {{ {modules} }}
modules_disabled = {{ "s2s" }}
allow_registration = true
c2s_require_encryption = true
-- Each write sent at once (TCP_NODELAY), as mepserver's client connections:
-- with Nagle's algorithm, the scenarios' round trips wait for delayed ACKs.
network_settings = {{ nagle = false }}
authentication = "internal_hashed"
storage = "internal"
certificates = {certificates}
ssl = {{ certificate = {certificate}, key = {key} }}
{globals}
VirtualHost "localhost"

{muc}"""

#: Prosody's own MUC service, for the reference tier.
MUC_COMPONENT = """\
Component "conference.localhost" "muc"
    modules_enabled = {{ {mucModules} }}
"""

#: An external component (XEP-0114) instead: mepserver, attached to the
#: component port on 127.0.0.1 (global settings, before the first host).
COMPONENT_PORT = """\
component_interfaces = {{ "127.0.0.1" }}
component_ports = {{ {port} }}
"""
EXTERNAL_COMPONENT = """\
Component "conference.localhost"
    component_secret = {secret}
"""


def _lua(text):
    """
    A Lua string literal for C{text}.
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class RunningProsody(ExternalServer):
    """
    A started Prosody: an L{ExternalServer} whose accounts are made with
    C{prosodyctl}.

    @ivar configPath: its configuration file.
    @ivar componentPort: the port on 127.0.0.1 where it takes its MUC
        component (XEP-0114), or L{None} if it runs its own MUC service.
    @ivar componentSecret: that component's secret.
    """

    componentPort = None
    componentSecret = None

    def __init__(self, reactor, directory, configPath, c2sPort, certificatePath):
        ExternalServer.__init__(
            self,
            reactor,
            directory,
            c2sPort,
            certificatePath,
            os.path.join(directory, "prosody.log"),
        )
        self.configPath = configPath

    async def createAccount(self, username, password):
        """
        Register C{username@localhost} with C{prosodyctl register}.

        @return: its L{Account}.
        """
        out, err, code = await utils.getProcessOutputAndValue(
            shutil.which("prosodyctl"),
            ["--config", self.configPath, "register", username, self.domain, password],
            env=os.environ,
            reactor=self.reactor,
        )
        if code != 0:
            raise RuntimeError(
                f"prosodyctl register {username} failed ({code}): {out!r} {err!r}"
            )
        return Account(jid.JID(f"{username}@{self.domain}"), password)


def skipUnlessProsody():
    """
    Raise L{unittest.SkipTest} unless Prosody and prosodyctl are installed.
    """
    for program in ("prosody", "prosodyctl"):
        if shutil.which(program) is None:
            raise unittest.SkipTest(
                f"{program} is not installed (apt-get install prosody): the "
                "Prosody reference tier needs a real Prosody"
            )


async def startProsody(testCase, reactor=None, componentSecret=None):
    """
    Start a Prosody for C{testCase}, stopped in its cleanup.

    @param componentSecret: L{None} for Prosody's own MUC service on
        C{conference.localhost}; otherwise C{conference.localhost} is an
        external component (XEP-0114) with this secret, taken on an
        ephemeral port of 127.0.0.1 (L{RunningProsody.componentPort}).

    @raise unittest.SkipTest: if Prosody is not installed.
    @return: the L{RunningProsody} once it accepts connections.
    """
    skipUnlessProsody()
    if reactor is None:
        from twisted.internet import reactor
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(os.path.join(directory, "data"))
    certificate = loadOrCreateCertificate(
        directory, [RunningProsody.domain, RunningProsody.mucDomain]
    )
    port = pickPort()
    if componentSecret is None:
        muc = MUC_COMPONENT.format(mucModules=", ".join(_lua(m) for m in mucModules()))
        globals_ = ""
        componentPort = None
    else:
        componentPort = pickPort()
        muc = EXTERNAL_COMPONENT.format(secret=_lua(componentSecret))
        globals_ = COMPONENT_PORT.format(port=componentPort)
    configPath = os.path.join(directory, "prosody.cfg.lua")
    user = "root" if os.geteuid() == 0 else _currentUser()
    with open(configPath, "w") as f:
        f.write(
            CONFIG.format(
                user=_lua(user),
                pidfile=_lua(os.path.join(directory, "prosody.pid")),
                data=_lua(os.path.join(directory, "data")),
                log=_lua(os.path.join(directory, "prosody.log")),
                port=port,
                modules=", ".join(_lua(m) for m in MODULES),
                certificates=_lua(os.path.dirname(certificate.certificatePath)),
                certificate=_lua(certificate.certificatePath),
                key=_lua(certificate.keyPath),
                muc=muc,
                globals=globals_,
            )
        )
    running = RunningProsody(
        reactor, directory, configPath, port, certificate.certificatePath
    )
    running.componentPort = componentPort
    running.componentSecret = componentSecret
    testCase.addCleanup(running.stop)
    await running.spawn(shutil.which("prosody"), ["prosody", "-F", "--config", configPath])
    return running


def _currentUser():
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name
