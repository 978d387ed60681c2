"""
mepserver side by side with Prosody and ejabberd: the load table of issue 16.

Each scenario runs against each server as a fresh process with a generated
configuration on loopback ports, the server pinned to one core (taskset)
and this load generator on the other; the server's CPU time (its whole
process tree, from /proc) and resident memory are read before and after.
The generator is this file's own: raw sockets (Twisted TCP, an expat
parser, no XMPP library), bounded in count and in time.

    python bench/compare.py                       # every scenario, 3 runs each
    python bench/compare.py --scenarios fanout,churn --repeat 1
    python bench/compare.py --servers mepserver --profile /tmp/prof
    python bench/compare.py --mepserver before=/tmp/old-checkout \\
        --mepserver after=.                       # two mepservers side by side

Servers: mepserver from this checkout (or each C{--mepserver LABEL=PATH}),
run by C{twistd} with this Python; Debian's Prosody (C{/usr/bin/prosody})
and ejabberd (C{/usr/sbin/ejabberdctl}, run as the C{ejabberd} user, so
this needs root). A server that is not installed is skipped. It
installs nothing, writes only under a temporary directory, and never runs
in CI. On loopback, the load scenarios log in without TLS (C{--tls}
negotiates STARTTLS on every connection); the login rows always do
STARTTLS.

Scenarios (C{--scenarios}, comma-separated):

  - C{fanout}: MUC fan-out, 1 room x 50 occupants, one of them sending
    groupchat messages at a fixed rate (C{--deliveries}, default 5,000
    deliveries/s: 100 messages/s); deliveries per CPU-second of the server
    and the p99 latency from send to delivery.
  - C{fanout10}: the same, 10 rooms x 10 occupants (one sender per room,
    the same deliveries per second: 500 messages/s in all).
  - C{churn}: 20 clients joining and leaving 5 rooms as fast as the server
    lets them (each waits for the subject before leaving, and for its own
    unavailable presence before joining again); joins per CPU-second.
  - C{pep}: PEP fan-out, one account publishing to its node at a fixed
    rate (5,000 notifications/s: 100 publishes/s), 50 contacts (mutual
    subscriptions) with C{node+notify} caps; notifications per CPU-second
    and p99.
  - C{mep}: MEP fan-out (XEP-0316), one occupant publishing to its occupant
    JID in a room of 50 occupants with C{node+notify} caps; "fails" where
    the server does not do MEP.
  - C{memory}: 1,000 logged-in, available, idle connections (kB per
    connection), which then join 10 rooms of 100 (kB per occupant); resident
    memory of the server's process tree.
  - C{soak} (only when named): the 1x50 fan-out for C{--soak} seconds
    (300), the server's resident memory sampled twenty times: after the
    first tenth (warm-up) and at the end, and the growth between.
  - C{logins}: 1,000 logins in a row (connect, STARTTLS, SASL, bind, close),
    with SCRAM-SHA-1 (the client keeps each account's salted password, as
    real clients do) and with PLAIN; logins per CPU-second of the server
    and per second of wall time (the latter includes the generator's own
    TLS and SCRAM work and every wait of a busy machine).

The table shows the median of C{--repeat} runs for each row and server,
and each mepserver's ratio to ejabberd and to Prosody ("x" ratios are
mepserver / other, so above 1 is better for rates and below 1 is better
for memory and latency). The machine's load average is printed with it:
on a busy machine, compare runs made in one sitting only.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import pwd
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)

# Runs from a checkout: the certificate maker is mepserver's own.
sys.path.insert(0, CHECKOUT)

from twisted.internet import defer, endpoints, protocol, ssl, task  # noqa: E402

DOMAIN = "localhost"
MUC = "conference.localhost"
PASSWORD = "bench-password"
SERVER_CORE = 0
GENERATOR_CORE = 1
NS_CLIENT = "jabber:client"
NS_BENCH = "urn:mepserver:bench"
PEP_NODE = "urn:mepserver:bench:pep"
MEP_NODE = "urn:mepserver:bench:mep"
CAPS_NODE = "https://mepserver.example/bench"
FEATURES = (
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/muc",
    PEP_NODE + "+notify",
    MEP_NODE + "+notify",
)
IDENTITY = ("client", "bot", "", "mepserver bench")
#: Bounds on every wait: a stanza that does not come within this many
#: seconds fails the run instead of hanging it.
TIMEOUT = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: Open files allowed to each server process.
FILES = 16384


def capsVer():
    """
    The XEP-0115 section 5.1 verification string of L{IDENTITY} and
    L{FEATURES}.
    """
    s = "/".join(IDENTITY) + "<" + "".join(f + "<" for f in sorted(FEATURES))
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


CAPS_VER = capsVer()
CAPS = (
    f"<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
    f"node='{CAPS_NODE}' ver='{CAPS_VER}'/>"
)


# ---------------------------------------------------------------------------
# /proc readings


def processTree(root):
    """
    @return: the pids of C{root} and of all its descendants.
    """
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def cpuSeconds(pids):
    """
    @return: user plus system CPU seconds of the live processes C{pids}.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def residentKiB(pids):
    """
    @return: the summed VmRSS of the live processes C{pids}, in KiB.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def generatorCPU():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pickPort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sleep(reactor, seconds):
    return task.deferLater(reactor, seconds, lambda: None)


def packageVersion(package):
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    )
    return result.stdout.strip() or None


# ---------------------------------------------------------------------------
# Servers


def _openFiles():
    """
    In the server's process before exec: room for the memory scenario's
    connections (Erlang sizes its tables by the limit at start).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FILES if hard == resource.RLIM_INFINITY else min(FILES, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))


class Target:
    """
    A server to measure: writes its configuration, starts it pinned to
    L{SERVER_CORE}, reads its process tree, stops it.

    @ivar label: its column in the table.
    """

    label = "?"
    reference = False
    #: The user to run the server as, or None for this process's.
    user = None
    #: Whether rooms archive their messages (XEP-0313), --archive.
    archive = False
    #: The room configuration field that switches archiving.
    archiveField = "muc#roomconfig_enablearchiving"

    def archiveOption(self):
        """
        @return: the room configuration form's field for L{archive}, or
            C{""} for none.
        """
        if self.archiveField is None:
            return ""
        return (
            f"<field var='{self.archiveField}'><value>{int(self.archive)}</value></field>"
        )

    def __init__(self):
        self.process = None
        self.directory = None
        self.port = None
        self._pids = None

    def skipReason(self):
        """
        @return: why this server cannot run here, or L{None}.
        """
        return None

    def version(self):
        return ""

    def prepare(self, directory, certificate, port):
        """
        Write the configuration into C{directory}.

        @return: C{(argv, env, cwd)} of the server process.
        """
        raise NotImplementedError()

    async def start(self, reactor, certificate):
        self.directory = tempfile.mkdtemp(prefix=f"bench-{self.label}-")
        os.chmod(self.directory, 0o755)
        self.port = pickPort()
        argv, env, cwd = self.prepare(self.directory, certificate, self.port)
        self.logFile = open(os.path.join(self.directory, "output.log"), "wb")
        extra = {}
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            extra = dict(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
            env["HOME"] = account.pw_dir
        self.process = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CORE)] + argv,
            env=env,
            cwd=cwd,
            preexec_fn=_openFiles,
            **extra,
            stdin=subprocess.DEVNULL,
            stdout=self.logFile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited at start:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                await sleep(reactor, 0.05)
        else:
            raise RuntimeError(f"{self.label} did not listen within 60 s:\n{self.log()}")
        self._pids = None

    def pids(self):
        if self._pids is None or any(not os.path.exists(f"/proc/{p}") for p in self._pids):
            self._pids = processTree(self.process.pid)
        return self._pids

    def refresh(self):
        self._pids = processTree(self.process.pid)

    def cpu(self):
        return cpuSeconds(self.pids())

    def rss(self):
        self.refresh()
        return residentKiB(self._pids)

    def log(self, last=3000):
        text = ""
        for name in self.logNames():
            try:
                with open(os.path.join(self.directory, name), "rb") as f:
                    text += f.read()[-last:].decode("utf-8", "replace")
            except OSError:
                pass
        return text

    def logNames(self):
        return ["output.log"]

    async def stop(self, reactor):
        if self.process is None:
            return
        pids = processTree(self.process.pid)
        for pid in [self.process.pid] + pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not any(
                os.path.exists(f"/proc/{p}") for p in pids
            ):
                break
            await sleep(reactor, 0.05)
        else:
            for pid in [self.process.pid] + pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.process.wait()
        self.logFile.close()
        self.process = None

    def cleanup(self):
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


MEPSERVER_INI = """\
# Written by bench/compare.py for one run.
[server]
domain = {domain}
data_dir = {data}
verbose = no

[storage]
backend = sqlite

[c2s]
listen = tcp:{port}:interface=127.0.0.1
direct_tls_listen = off
require_encryption = auto

[tls]
certificate = {certificate}
key = {key}

[http]
listen = tcp:{httpPort}:interface=127.0.0.1
"""


class Mepserver(Target):
    """
    mepserver from a checkout, under C{twistd -n}, with this Python.
    """

    def __init__(self, label, checkout, profileDirectory=None):
        Target.__init__(self)
        self.label = label
        self.checkout = os.path.abspath(checkout)
        self.profileDirectory = profileDirectory
        self.profiles = 0

    def skipReason(self):
        if not os.path.isdir(os.path.join(self.checkout, "mepserver")):
            return f"no mepserver checkout at {self.checkout}"
        return None

    def environment(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = self.checkout
        return env

    def version(self):
        result = subprocess.run(
            [sys.executable, "-c", "import mepserver; print(mepserver.__version__, mepserver.__file__)"],
            env=self.environment(),
            capture_output=True,
            text=True,
            cwd="/",
        )
        found = result.stdout.strip()
        expected = os.path.join(self.checkout, "mepserver")
        if expected not in found:
            raise RuntimeError(f"{self.label}: imports {found!r}, not from {expected}")
        commit = subprocess.run(
            ["git", "-C", self.checkout, "log", "-1", "--format=%h"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return found.split()[0] + (f" ({commit})" if commit else "")

    def prepare(self, directory, certificate, port):
        path = os.path.join(directory, "mepserver.ini")
        with open(path, "w") as f:
            f.write(
                MEPSERVER_INI.format(
                    domain=DOMAIN,
                    data=os.path.join(directory, "data"),
                    port=port,
                    httpPort=pickPort(),
                    certificate=certificate[0],
                    key=certificate[1],
                )
            )
        argv = [
            sys.executable,
            "-c",
            "from twisted.scripts.twistd import run; run()",
            "-n",
            "--pidfile=",
            "-l",
            os.path.join(directory, "twistd.log"),
        ]
        if self.profileDirectory:
            self.profiles += 1
            self.profilePath = os.path.join(
                self.profileDirectory, f"{self.label}-{self.scenario}-{self.profiles}.pstats"
            )
            argv += ["--profile", self.profilePath, "--profiler", "cprofile", "--savestats"]
        argv += ["mepserver", "--config", path]
        return argv, self.environment(), directory

    def logNames(self):
        return ["output.log", "twistd.log"]


PROSODY_CONFIG = """\
-- Written by bench/compare.py for one run.
run_as_root = true
prosody_user = {user}
pidfile = {pidfile}
data_path = {data}
log = {{ {{ levels = {{ min = "warn" }}, to = "file", filename = {log} }} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
http_ports = {{}}
https_ports = {{}}
modules_enabled = {{ {modules} }}
modules_disabled = {{ "s2s" }}
allow_registration = true
-- Nagle off, as mepserver and ejabberd have it on client connections.
network_settings = {{ nagle = false }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
certificates = {certificates}
ssl = {{ certificate = {certificate}, key = {key} }}

VirtualHost "{domain}"

Component "{muc}" "muc"
    modules_enabled = {{ {mucModules} }}
"""

#: Prosody's default modules of its example configuration that a client
#: meets, as tests/e2e/prosody.py loads them.
PROSODY_MODULES = (
    "roster", "saslauth", "tls", "disco", "ping", "version", "register",
    "carbons", "blocklist", "offline", "smacks", "csi_simple", "pep",
    "private", "bookmarks",
)


def _lua(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Prosody(Target):
    label = "prosody"
    reference = True

    def skipReason(self):
        if shutil.which("prosody") is None:
            return "prosody is not installed (apt-get install prosody)"
        return None

    def version(self):
        return "Prosody " + (packageVersion("prosody") or "?")

    def prepare(self, directory, certificate, port):
        os.makedirs(os.path.join(directory, "data"))
        path = os.path.join(directory, "prosody.cfg.lua")
        with open(path, "w") as f:
            f.write(
                PROSODY_CONFIG.format(
                    user=_lua(pwd.getpwuid(os.geteuid()).pw_name),
                    pidfile=_lua(os.path.join(directory, "prosody.pid")),
                    data=_lua(os.path.join(directory, "data")),
                    log=_lua(os.path.join(directory, "prosody.log")),
                    port=port,
                    modules=", ".join(_lua(m) for m in PROSODY_MODULES),
                    certificates=_lua(os.path.dirname(certificate[0])),
                    certificate=_lua(certificate[0]),
                    key=_lua(certificate[1]),
                    domain=DOMAIN,
                    muc=MUC,
                    mucModules='"muc_mam"' if self.archive else "",
                )
            )
        return [shutil.which("prosody"), "-F", "--config", path], dict(os.environ), directory

    def logNames(self):
        return ["output.log", "prosody.log"]


EJABBERD_CONFIG = """\
# Written by bench/compare.py for one run.
hosts:
  - {domain}
loglevel: warning
certfiles:
  - "{certificate}"
  - "{key}"
registration_timeout: infinity
listen:
  -
    port: {port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    starttls: true
    access: c2s
auth_method: internal
auth_password_format: scram
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  register:
    allow: all
modules:
  mod_blocking: {{}}
  mod_caps: {{}}
  mod_carboncopy: {{}}
  mod_client_state: {{}}
  mod_disco: {{}}
{mam}  mod_muc:
    host: "{muc}"
    default_room_options:
      mam: {archive}
    access: all
    access_create: all
    access_persistent: all
    access_admin: none
  mod_offline: {{}}
  mod_ping: {{}}
  mod_privacy: {{}}
  mod_private: {{}}
  mod_pubsub:
    access_createnode: local
    plugins:
      - "flat"
      - "pep"
  mod_register:
    access: register
    ip_access: all
  mod_roster: {{}}
  mod_stream_mgmt: {{}}
  mod_version: {{}}
"""

EJABBERD_CTL = """\
ERLANG_NODE=bench{pid}x{port}@localhost
ERL_DIST_PORT={distPort}
INET_DIST_INTERFACE=127.0.0.1
ERL_EPMD_ADDRESS=127.0.0.1
EJABBERD_PID_PATH={directory}/ejabberd.pid
"""


class Ejabberd(Target):
    label = "ejabberd"
    reference = True
    ctl = "/usr/sbin/ejabberdctl"
    # Its own field; an unknown field fails the whole form.
    archiveField = "mam"
    # As its own user, as ejabberdctl would do with su, but keeping the
    # limit on open files (su applies the PAM limits).
    user = "ejabberd"

    def skipReason(self):
        if not os.path.exists(self.ctl):
            return "ejabberd is not installed (apt-get install ejabberd)"
        if os.geteuid() != 0:
            return "ejabberdctl needs root: it runs ejabberd as the ejabberd user"
        try:
            pwd.getpwnam("ejabberd")
        except KeyError:
            return "no ejabberd user"
        return None

    def archiveOption(self):
        return Target.archiveOption(self) if self.archive else ""

    def version(self):
        return "ejabberd " + (packageVersion("ejabberd") or "?") + ", Erlang " + (
            packageVersion("erlang-base") or "?"
        )

    def prepare(self, directory, certificate, port):
        for sub in ("logs", "spool"):
            os.makedirs(os.path.join(directory, sub))
        # ejabberd reads the certificate as its own user.
        for name, source in (("cert.pem", certificate[0]), ("key.pem", certificate[1])):
            shutil.copy(source, os.path.join(directory, name))
        if os.path.exists("/etc/ejabberd/inetrc"):
            shutil.copy("/etc/ejabberd/inetrc", os.path.join(directory, "inetrc"))
        with open(os.path.join(directory, "ejabberd.yml"), "w") as f:
            f.write(
                EJABBERD_CONFIG.format(
                    domain=DOMAIN,
                    muc=MUC,
                    port=port,
                    certificate=os.path.join(directory, "cert.pem"),
                    key=os.path.join(directory, "key.pem"),
                    mam="  mod_mam: {}\n" if self.archive else "",
                    archive="true" if self.archive else "false",
                )
            )
        with open(os.path.join(directory, "ejabberdctl.cfg"), "w") as f:
            f.write(
                EJABBERD_CTL.format(
                    pid=os.getpid(), port=port, distPort=pickPort(), directory=directory
                )
            )
        user = pwd.getpwnam("ejabberd")
        for root, dirs, files in os.walk(directory):
            for name in dirs + files + [""]:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
        d = directory
        argv = [
            self.ctl,
            "--config-dir", d,
            "--config", os.path.join(d, "ejabberd.yml"),
            "--ctl-config", os.path.join(d, "ejabberdctl.cfg"),
            "--logs", os.path.join(d, "logs"),
            "--spool", os.path.join(d, "spool"),
            "foreground",
        ]
        return argv, dict(os.environ), directory

    def logNames(self):
        return ["output.log", "logs/ejabberd.log", "logs/error.log"]


# ---------------------------------------------------------------------------
# The client side: an XMPP stream over raw TCP


class Node:
    """
    A parsed element: local name, attributes, children, text.
    """

    __slots__ = ("name", "attrs", "children", "text")

    def __init__(self, name, attrs):
        self.name = name
        self.attrs = attrs
        self.children = []
        self.text = ""

    def child(self, name):
        for c in self.children:
            if c.name == name:
                return c
        return None

    def path(self, *names):
        node = self
        for name in names:
            node = node.child(name) if node is not None else None
        return node

    def get(self, attribute, default=None):
        return self.attrs.get(attribute, default)

    def __repr__(self):
        return f"<{self.name} {self.attrs} {[c.name for c in self.children]} {self.text[:40]!r}>"


class StreamParser:
    """
    An expat parser for one stream (a new one after STARTTLS and SASL):
    reports the stream header and each complete top-level element.
    """

    def __init__(self, onHeader, onStanza, onEnd):
        self.onHeader = onHeader
        self.onStanza = onStanza
        self.onEnd = onEnd
        self.stack = []
        self.opened = False
        p = self.parser = expat.ParserCreate()
        p.buffer_text = True
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.text

    def feed(self, data):
        self.parser.Parse(data, False)

    def start(self, name, attrs):
        if not self.opened:
            self.opened = True
            self.onHeader(attrs)
            return
        node = Node(name.rpartition(":")[2], attrs)
        if self.stack:
            self.stack[-1].children.append(node)
        self.stack.append(node)

    def end(self, name):
        if not self.stack:
            self.onEnd()
            return
        node = self.stack.pop()
        if not self.stack:
            self.onStanza(node)

    def text(self, data):
        if self.stack:
            self.stack[-1].text += data


class StanzaTimeout(Exception):
    pass


class LoginFailed(Exception):
    pass


class Connection(protocol.Protocol):
    """
    One client stream. Stanzas go first to the waiters (L{expect}), then to
    the built-in answers (caps disco#info, ping, roster pushes, subscription
    requests), then to C{onStanza}.
    """

    def __init__(self, reactor):
        self.reactor = reactor
        self.waiters = []
        self.onStanza = None
        self.parser = None
        self.jid = None
        self.ids = 0
        self.lost = defer.Deferred()
        self.connected = False

    def connectionMade(self):
        self.connected = True
        self.transport.setTcpNoDelay(True)

    def connectionLost(self, reason):
        self.connected = False
        waiters, self.waiters = self.waiters, []
        for _, d, call in waiters:
            if call.active():
                call.cancel()
            d.errback(reason)
        self.lost.callback(None)

    def dataReceived(self, data):
        try:
            self.parser.feed(data)
        except expat.ExpatError as e:
            self.transport.abortConnection()
            raise RuntimeError(f"bad XML from the server: {e}") from None

    def send(self, text):
        self.transport.write(text.encode("utf-8"))

    def nextId(self, prefix="b"):
        self.ids += 1
        return f"{prefix}{self.ids}"

    def restart(self):
        """
        Open a new stream (at start, after STARTTLS, after SASL).

        @return: a Deferred firing with the stream features.
        """
        parser = StreamParser(None, None, None)
        parser.onHeader = lambda attrs: None
        parser.onStanza = lambda node: self.parser is parser and self.stanzaReceived(node)
        parser.onEnd = lambda: self.parser is parser and self.transport.loseConnection()
        self.parser = parser
        features = self.expect(lambda n: n.name == "features", "stream features")
        self.send(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' "
            f"to='{DOMAIN}' version='1.0' xml:lang='en'>"
        )
        return features

    def expect(self, predicate, what, timeout=TIMEOUT):
        """
        @return: a Deferred firing with the next stanza for which
            C{predicate} is true, or failing after C{timeout} seconds.
        """
        d = defer.Deferred()
        entry = None

        def expired():
            self.waiters.remove(entry)
            d.errback(StanzaTimeout(f"{self.jid or 'a client'}: no {what} within {timeout} s"))

        call = self.reactor.callLater(timeout, expired)
        entry = (predicate, d, call)
        self.waiters.append(entry)
        return d

    def request(self, text, id, what, timeout=TIMEOUT):
        """
        Send an IQ whose id is C{id}.

        @return: a Deferred firing with its answer.
        """
        d = self.expect(
            lambda n: n.name == "iq" and n.attrs.get("id") == id
            and n.attrs.get("type") in ("result", "error"),
            what,
            timeout,
        )
        self.send(text)
        return d

    def stanzaReceived(self, node):
        for entry in self.waiters:
            if entry[0](node):
                self.waiters.remove(entry)
                entry[2].cancel()
                if node.name == "iq" and node.attrs.get("type") in ("get", "set"):
                    self.answer(node)
                entry[1].callback(node)
                return
        if node.name == "iq" and node.attrs.get("type") in ("get", "set"):
            self.answer(node)
            return
        if node.name == "presence" and node.attrs.get("type") == "subscribe":
            self.send(f"<presence type='subscribed' to={quoteattr(node.attrs['from'])}/>")
            return
        if self.onStanza is not None:
            self.onStanza(node)

    def answer(self, iq):
        attrs = iq.attrs
        reply = f"to={quoteattr(attrs['from'])} " if "from" in attrs else ""
        reply += f"id={quoteattr(attrs.get('id', ''))}"
        query = iq.children[0] if iq.children else None
        namespace = query.attrs.get("xmlns") if query is not None else None
        if attrs.get("type") == "get" and namespace == "http://jabber.org/protocol/disco#info":
            node = query.attrs.get("node")
            features = "".join(f"<feature var='{f}'/>" for f in FEATURES)
            category, type_, _, name = IDENTITY
            self.send(
                f"<iq type='result' {reply}><query xmlns='http://jabber.org/protocol/disco#info'"
                + (f" node={quoteattr(node)}" if node else "")
                + f"><identity category='{category}' type='{type_}' name='{name}'/>"
                + features
                + "</query></iq>"
            )
        elif namespace in ("urn:xmpp:ping", "jabber:iq:roster") or (
            query is None and attrs.get("type") == "get"
        ):
            self.send(f"<iq type='result' {reply}/>")
        else:
            self.send(
                f"<iq type='error' {reply}><error type='cancel'>"
                "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                "</error></iq>"
            )

    def close(self):
        if self.connected:
            self.send("</stream:stream>")
            self.transport.loseConnection()
        return self.lost


#: SCRAM salted passwords the clients keep: (hash, password, salt,
#: iterations) to the salted password, as clients that store them do.
_SALTED = {}


async def authenticate(conn, features, user, mechanism):
    """
    SASL with C{mechanism}: C{PLAIN} or C{SCRAM-SHA-1}.
    """
    offered = [m.text for m in features.path("mechanisms").children] if features.path(
        "mechanisms"
    ) else []
    if mechanism not in offered:
        raise LoginFailed(f"{mechanism} not offered ({offered})")
    ns = "urn:ietf:params:xml:ns:xmpp-sasl"
    done = lambda n: n.name in ("success", "failure")  # noqa: E731
    if mechanism == "PLAIN":
        token = base64.b64encode(f"\0{user}\0{PASSWORD}".encode()).decode()
        result = conn.expect(done, "SASL outcome")
        conn.send(f"<auth xmlns='{ns}' mechanism='PLAIN'>{token}</auth>")
        outcome = await result
    else:
        nonce = base64.b64encode(os.urandom(18)).decode()
        bare = f"n={user},r={nonce}"
        challenge = conn.expect(lambda n: n.name in ("challenge", "failure"), "SCRAM challenge")
        first = base64.b64encode(("n,," + bare).encode()).decode()
        conn.send(f"<auth xmlns='{ns}' mechanism='SCRAM-SHA-1'>{first}</auth>")
        node = await challenge
        if node.name == "failure":
            raise LoginFailed(f"{user}: SCRAM refused")
        serverFirst = base64.b64decode(node.text).decode()
        fields = dict(part.split("=", 1) for part in serverFirst.split(","))
        salt, iterations = base64.b64decode(fields["s"]), int(fields["i"])
        key = ("sha1", PASSWORD, salt, iterations)
        salted = _SALTED.get(key)
        if salted is None:
            salted = _SALTED[key] = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), salt, iterations)
        clientKey = hmac.new(salted, b"Client Key", "sha1").digest()
        storedKey = hashlib.sha1(clientKey).digest()
        final = f"c=biws,r={fields['r']}"
        message = f"{bare},{serverFirst},{final}".encode()
        signature = hmac.new(storedKey, message, "sha1").digest()
        proof = bytes(a ^ b for a, b in zip(clientKey, signature))
        result = conn.expect(done, "SASL outcome")
        response = base64.b64encode(
            (final + ",p=" + base64.b64encode(proof).decode()).encode()
        ).decode()
        conn.send(f"<response xmlns='{ns}'>{response}</response>")
        outcome = await result
    if outcome.name != "success":
        raise LoginFailed(f"{user}: SASL {mechanism} failed: {outcome}")


_TLS = None


def clientTLS():
    global _TLS
    if _TLS is None:
        _TLS = ssl.CertificateOptions(verify=False)
    return _TLS


async def connect(reactor, port):
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=TIMEOUT)
    return await endpoints.connectProtocol(endpoint, Connection(reactor))


async def login(
    reactor, port, user, resource="bench", tls=False, mechanism="SCRAM-SHA-1", presence=True
):
    """
    Log C{user} in: connect, STARTTLS if C{tls}, SASL, bind; then, with
    C{presence}, get the roster and send initial presence carrying caps.

    @return: the L{Connection}.
    """
    conn = await connect(reactor, port)
    try:
        features = await conn.restart()
        if tls:
            if features.child("starttls") is None:
                raise LoginFailed("STARTTLS not offered")
            proceed = conn.expect(lambda n: n.name in ("proceed", "failure"), "STARTTLS proceed")
            conn.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            if (await proceed).name != "proceed":
                raise LoginFailed("STARTTLS refused")
            conn.transport.startTLS(clientTLS())
            features = await conn.restart()
        await authenticate(conn, features, user, mechanism)
        features = await conn.restart()
        id = conn.nextId("bind")
        answer = await conn.request(
            f"<iq type='set' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            f"<resource>{escape(resource)}</resource></bind></iq>",
            id,
            "bind result",
        )
        if answer.get("type") != "result":
            raise LoginFailed(f"{user}: bind failed: {answer}")
        conn.jid = answer.path("bind", "jid").text
        session = features.child("session")
        if session is not None and session.child("optional") is None:
            id = conn.nextId("session")
            await conn.request(
                f"<iq type='set' id='{id}'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
                id,
                "session result",
            )
        if presence:
            # As clients do: the roster first (which also makes this an
            # interested resource, RFC 6121 section 2.1.6), then presence.
            id = conn.nextId("roster")
            await conn.request(
                f"<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'/></iq>",
                id,
                "roster",
            )
            conn.send(f"<presence>{CAPS}</presence>")
    except BaseException:
        conn.transport.abortConnection()
        raise
    return conn


async def register(reactor, port, user):
    """
    Create C{user} by in-band registration (XEP-0077); an existing account
    is fine.
    """
    conn = await connect(reactor, port)
    try:
        await conn.restart()
        id = conn.nextId("reg")
        answer = await conn.request(
            f"<iq type='set' id='{id}'><query xmlns='jabber:iq:register'>"
            f"<username>{user}</username><password>{PASSWORD}</password></query></iq>",
            id,
            "registration result",
        )
        if answer.get("type") != "result" and answer.path("error", "conflict") is None:
            raise LoginFailed(f"registration of {user} failed: {answer}")
    finally:
        conn.transport.abortConnection()


async def bounded(coroutines, concurrency):
    """
    Run C{coroutines} (a list of zero-argument callables returning
    awaitables), at most C{concurrency} at a time.

    @return: their results, in order.
    """
    results = [None] * len(coroutines)
    position = iter(range(len(coroutines)))

    async def worker():
        for i in position:
            results[i] = await coroutines[i]()

    await defer.gatherResults(
        [defer.ensureDeferred(worker()) for _ in range(min(concurrency, len(coroutines)))],
        consumeErrors=True,
    )
    return results


# ---------------------------------------------------------------------------
# MUC and pubsub stanzas


def roomJID(name):
    return f"{name}@{MUC}"


def isSubjectFrom(room):
    return lambda n: (
        n.name == "message"
        and n.child("subject") is not None
        and n.attrs.get("from", "").startswith(room)
    )


def statusCodes(presence):
    x = presence.child("x")
    codes = set()
    for x in presence.children:
        if x.name == "x":
            codes.update(s.get("code") for s in x.children if s.name == "status")
    return codes


async def join(conn, room, nick, waitSubject=True):
    """
    Enter C{room} as C{nick} with caps; wait for the self-presence and
    (with C{waitSubject}) for the subject, the end of the join (XEP-0045
    section 7.2).

    @return: the self-presence.
    """
    occupant = f"{room}/{nick}"
    selfPresence = conn.expect(
        lambda n: n.name == "presence" and n.attrs.get("from") == occupant,
        f"self-presence from {occupant}",
    )
    subject = conn.expect(isSubjectFrom(room), f"subject of {room}") if waitSubject else None
    conn.send(
        f"<presence to='{occupant}'><x xmlns='http://jabber.org/protocol/muc'/>{CAPS}</presence>"
    )
    presence = await selfPresence
    if presence.get("type") == "error":
        raise RuntimeError(f"join of {occupant} refused: {presence}")
    if subject is not None:
        await subject
    return presence


async def leave(conn, room, nick):
    occupant = f"{room}/{nick}"
    gone = conn.expect(
        lambda n: n.name == "presence"
        and n.attrs.get("from") == occupant
        and n.attrs.get("type") == "unavailable",
        f"unavailable self-presence from {occupant}",
    )
    conn.send(f"<presence to='{occupant}' type='unavailable'/>")
    await gone


#: Persistent rooms; no message archive unless --archive (neither
#: Prosody's nor ejabberd's configuration here loads one then).
ROOM_CONFIG = (
    "<x xmlns='jabber:x:data' type='submit'>"
    "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>"
    "<field var='muc#roomconfig_persistentroom'><value>1</value></field>"
    "{archive}"
    "</x>"
)


async def createRooms(conn, rooms, archive=""):
    """
    Create each room as its owner and make it persistent (XEP-0045 section
    10.1.3, which also unlocks it), then leave it, empty.

    @param archive: the form field that switches archiving, or C{""}.
    """
    for room in rooms:
        presence = await join(conn, room, "owner", waitSubject=False)
        # Persistent first, then the archive option on its own: a room
        # that becomes persistent may switch archiving on with it
        # (mepserver does, unless the owner changes the option later).
        for fields in (ROOM_CONFIG.format(archive=""), ROOM_CONFIG.format(archive=archive)):
            id = conn.nextId("config")
            answer = await conn.request(
                f"<iq type='set' to='{room}' id='{id}'>"
                "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                + fields
                + "</query></iq>",
                id,
                "room configuration result",
            )
            if answer.get("type") != "result":
                raise RuntimeError(
                    f"configuring {room} failed ({statusCodes(presence)}): {answer}"
                )
            if not archive:
                break
        await leave(conn, room, "owner")


def stamp(seq):
    return f"{seq} {time.monotonic_ns()}"


def latencyOf(text):
    return (time.monotonic_ns() - int(text.split()[1])) / 1e6


# ---------------------------------------------------------------------------
# Scenarios


class Run:
    """
    One scenario against one started server.
    """

    def __init__(self, reactor, target, options):
        self.reactor = reactor
        self.target = target
        self.options = options
        self.port = target.port
        self.connections = []

    def user(self, i):
        return f"bench{i:04d}"

    async def registerUsers(self, count):
        await bounded(
            [lambda i=i: register(self.reactor, self.port, self.user(i)) for i in range(count)],
            20,
        )

    async def loginUsers(self, indexes, presence=True, concurrency=20):
        conns = await bounded(
            [
                lambda i=i: login(
                    self.reactor, self.port, self.user(i), tls=self.options.tls, presence=presence
                )
                for i in indexes
            ],
            concurrency,
        )
        self.connections.extend(conns)
        return conns

    async def closeAll(self):
        for conn in self.connections:
            conn.close()
        await defer.gatherResults([c.lost for c in self.connections], consumeErrors=True)
        self.connections = []

    def measureStart(self):
        self.cpu0 = self.target.cpu()
        self.gen0 = generatorCPU()
        self.wall0 = time.monotonic()

    def measureStop(self):
        self.cpu = self.target.cpu() - self.cpu0
        self.gen = generatorCPU() - self.gen0
        self.wall = time.monotonic() - self.wall0
        # A generator that was busy nearly all the time limited the figures.
        self.generatorBound = self.gen > 0.9 * self.wall

    async def drain(self, done, timeout):
        """
        Wait, in short steps and at most C{timeout} seconds, until C{done()}.
        """
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            await sleep(self.reactor, 0.005)
        return done()

    async def paced(self, senders, rate, count):
        """
        Call each of C{senders} (callables taking a sequence number) in
        turn, C{count} calls in all at C{rate} calls per second.
        """
        sent = 0
        start = time.monotonic()
        while sent < count:
            due = min(count, int((time.monotonic() - start) * rate) + 1)
            while sent < due:
                senders[sent % len(senders)](sent)
                sent += 1
            await sleep(self.reactor, 0.002)

    # -- MUC fan-out

    async def fanout(self, rooms, perRoom, duration=None, watch=None):
        """
        @param duration: seconds of load; C{--duration} if L{None}.
        @param watch: called as the load starts; returns what to call when
            it ends.
        """
        total = rooms * perRoom
        await self.registerUsers(total + 1)
        owner, = await self.loginUsers([total], presence=False)
        names = [roomJID(f"fanout{r}") for r in range(rooms)]
        await createRooms(owner, names, self.target.archiveOption())
        conns = await self.loginUsers(range(total))
        latencies = []
        received = [0]

        def onStanza(node):
            if node.name == "message" and node.attrs.get("type") == "groupchat":
                body = node.child("body")
                if body is not None and body.text.startswith("m "):
                    received[0] += 1
                    latencies.append(latencyOf(body.text[2:]))

        for i, conn in enumerate(conns):
            await join(conn, names[i % rooms], f"n{i}")
        for conn in conns:
            conn.onStanza = onStanza
        senders = []
        for r in range(rooms):
            conn = conns[r]

            def send(seq, conn=conn, room=names[r]):
                conn.send(
                    f"<message to='{room}' type='groupchat'><body>m {stamp(seq)}</body></message>"
                )

            senders.append(send)
        # The same deliveries per second whatever the shape.
        rate = self.options.deliveries / perRoom
        count = int(rate * (duration or self.options.duration))
        expected = count * perRoom
        self.measureStart()
        stopWatching = watch() if watch is not None else None
        await self.paced(senders, rate, count)
        complete = await self.drain(lambda: received[0] >= expected, 20)
        self.measureStop()
        if stopWatching is not None:
            stopWatching()
        await self.closeAll()
        if not complete:
            raise RuntimeError(f"{received[0]} of {expected} deliveries arrived")
        return {
            "per_cpu": received[0] / self.cpu,
            "p99": percentile(latencies, 99),
            "p50": percentile(latencies, 50),
        }

    async def scenarioFanout(self):
        result = await self.fanout(1, 50)
        return {"fanout": result["per_cpu"], "fanout_p99": result["p99"]}

    async def scenarioFanout10(self):
        result = await self.fanout(10, 10)
        return {"fanout10": result["per_cpu"], "fanout10_p99": result["p99"]}

    async def scenarioSoak(self):
        """
        The 1x50 fan-out for C{--soak} seconds, the server's resident
        memory sampled twenty times: what it holds after the first tenth
        (warm-up: caches, buffers, the allocator's arenas) and at the end.
        """
        samples = []

        def watch():
            loop = task.LoopingCall(lambda: samples.append(self.target.rss()))
            loop.clock = self.reactor
            loop.start(self.options.soak / 20, now=True)
            return loop.stop

        result = await self.fanout(1, 50, self.options.soak, watch)
        warm, end = samples[len(samples) // 10] / 1024, samples[-1] / 1024
        return {
            "soak": result["per_cpu"],
            "soak_warm_mib": warm,
            "soak_end_mib": end,
            "soak_growth_mib": end - warm,
        }

    # -- join/leave churn

    async def scenarioChurn(self):
        clients, rooms = 20, 5
        await self.registerUsers(clients + 1)
        owner, = await self.loginUsers([clients], presence=False)
        names = [roomJID(f"churn{r}") for r in range(rooms)]
        await createRooms(owner, names, self.target.archiveOption())
        conns = await self.loginUsers(range(clients))
        joins = [0]
        stopAt = [0.0]
        limit = self.options.churnLimit

        async def loop(i, conn):
            k = i
            while time.monotonic() < stopAt[0] and joins[0] < limit:
                room = names[k % rooms]
                await join(conn, room, f"c{i}")
                await leave(conn, room, f"c{i}")
                joins[0] += 1
                k += 1

        self.measureStart()
        stopAt[0] = time.monotonic() + self.options.duration
        await defer.gatherResults(
            [defer.ensureDeferred(loop(i, c)) for i, c in enumerate(conns)], consumeErrors=True
        )
        self.measureStop()
        await self.closeAll()
        return {"churn": joins[0] / self.cpu, "churn_wall": joins[0] / self.wall}

    # -- PEP fan-out

    async def scenarioPep(self):
        contacts = 50
        await self.registerUsers(contacts + 1)
        publisher, = await self.loginUsers([contacts])
        conns = await self.loginUsers(range(contacts))
        pjid = self.user(contacts) + "@" + DOMAIN
        # Mutual subscriptions: each side asks, the other approves
        # (Connection approves every request); done once both rosters say
        # "both" (RFC 6121 section 3.1.5 roster pushes).
        def both(other):
            return lambda n: (
                n.name == "iq"
                and n.get("type") == "set"
                and any(
                    i.get("jid") == other and i.get("subscription") == "both"
                    for i in (n.path("query").children if n.path("query") else ())
                )
            )

        waits = []
        for conn in conns:
            cjid = conn.jid.split("/")[0]
            waits.append(conn.expect(both(pjid), "roster push: both with the publisher"))
            waits.append(publisher.expect(both(cjid), f"roster push: both with {cjid}"))
            conn.send(f"<presence type='subscribe' to='{pjid}'/>")
            publisher.send(f"<presence type='subscribe' to='{cjid}'/>")
        await defer.gatherResults(waits, consumeErrors=True)
        # Presence again, now that the publisher's account receives it.
        for conn in conns:
            conn.send(f"<presence>{CAPS}</presence>")
        publisher.send(f"<presence>{CAPS}</presence>")

        def publish(seq):
            id = publisher.nextId("pub")
            publisher.send(
                f"<iq type='set' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                f"<publish node='{PEP_NODE}'><item id='current'>"
                f"<t xmlns='{NS_BENCH}'>{stamp(seq)}</t></item></publish></pubsub></iq>"
            )

        result = await self.notifications(publish, conns + [publisher], PEP_NODE, contacts)
        await self.closeAll()
        return {"pep": result["per_cpu"], "pep_p99": result["p99"]}

    async def notifications(self, publish, conns, node, expectedFan):
        """
        Warm up until one publish reaches C{expectedFan} recipients (the
        servers learn the caps asynchronously), then publish at the rate.
        """
        received = [0]
        latencies = []
        warm = set()
        errors = []

        def make(conn):
            def onStanza(node_):
                if node_.name == "message":
                    t = node_.path("event", "items", "item", "t")
                    if t is not None:
                        received[0] += 1
                        warm.add(conn)
                        latencies.append(latencyOf(t.text))
                elif node_.name == "iq" and node_.get("type") == "error":
                    errors.append(node_)

            return onStanza

        for conn in conns:
            conn.onStanza = make(conn)
        for attempt in range(20):
            warm.clear()
            publish(-1)
            await self.drain(lambda: len(warm) >= expectedFan or errors, 1.0)
            if len(warm) >= expectedFan or errors:
                break
        if len(warm) < expectedFan:
            raise RuntimeError(
                f"a publish reached {len(warm)} of {expectedFan} recipients; "
                f"errors: {errors[:1]}"
            )
        fan = len(warm)
        await sleep(self.reactor, 0.5)
        received[0] = 0
        del latencies[:]
        rate = self.options.deliveries / fan
        count = int(rate * self.options.duration)
        expected = count * fan
        self.measureStart()
        await self.paced([publish], rate, count)
        complete = await self.drain(lambda: received[0] >= expected, 20)
        self.measureStop()
        if not complete:
            raise RuntimeError(f"{received[0]} of {expected} notifications arrived")
        return {"per_cpu": received[0] / self.cpu, "p99": percentile(latencies, 99)}

    # -- MEP fan-out

    async def scenarioMep(self):
        occupants = 50
        await self.registerUsers(occupants + 1)
        owner, = await self.loginUsers([occupants], presence=False)
        room = roomJID("mep")
        await createRooms(owner, [room], self.target.archiveOption())
        conns = await self.loginUsers(range(occupants))
        for i, conn in enumerate(conns):
            await join(conn, room, f"n{i}")
        publisher = conns[0]

        def publish(seq):
            id = publisher.nextId("pub")
            publisher.send(
                f"<iq type='set' to='{room}/n0' id='{id}'>"
                "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                f"<publish node='{MEP_NODE}'><item id='current'>"
                f"<t xmlns='{NS_BENCH}'>{stamp(seq)}</t></item></publish></pubsub></iq>"
            )

        try:
            result = await self.notifications(publish, conns, MEP_NODE, occupants)
        except RuntimeError as e:
            await self.closeAll()
            return {"mep": Failed(str(e)), "mep_p99": Failed(str(e))}
        await self.closeAll()
        return {"mep": result["per_cpu"], "mep_p99": result["p99"]}

    # -- memory

    async def scenarioMemory(self):
        count, rooms = self.options.connections, 10
        await self.registerUsers(count + 1)
        owner, = await self.loginUsers([count], presence=False)
        names = [roomJID(f"memory{r}") for r in range(rooms)]
        await createRooms(owner, names, self.target.archiveOption())
        await sleep(self.reactor, 2)
        before = self.target.rss()
        conns = await self.loginUsers(range(count))
        # Every client has its presence answered or probed by now.
        await defer.gatherResults(
            [defer.ensureDeferred(ping(c)) for c in conns], consumeErrors=True
        )
        await sleep(self.reactor, 2)
        connected = self.target.rss()
        await bounded(
            [
                lambda i=i, c=c: join(c, names[i % rooms], f"n{i}")
                for i, c in enumerate(conns)
            ],
            rooms,
        )
        await defer.gatherResults(
            [defer.ensureDeferred(ping(c)) for c in conns], consumeErrors=True
        )
        await sleep(self.reactor, 2)
        joined = self.target.rss()
        await self.closeAll()
        return {
            "kb_conn": (connected - before) * 1.024 / count,
            "kb_occupant": (joined - connected) * 1.024 / count,
        }

    # -- logins

    async def scenarioLogins(self):
        accounts = 50
        await self.registerUsers(accounts)
        results = {}
        for mechanism, key in (("SCRAM-SHA-1", "logins_scram"), ("PLAIN", "logins_plain")):
            # One login per account first: the client's SCRAM cache, as a
            # client that logged in before.
            for i in range(accounts):
                conn = await login(self.reactor, self.port, self.user(i), tls=True,
                                   mechanism=mechanism, presence=False)
                await conn.close()
            closing = []
            n = self.options.logins
            self.measureStart()
            for k in range(n):
                conn = await login(
                    self.reactor, self.port, self.user(k % accounts), resource=f"r{k}",
                    tls=True, mechanism=mechanism, presence=False,
                )
                closing.append(conn.close())
            await defer.gatherResults(closing, consumeErrors=True)
            self.measureStop()
            results[key] = n / self.wall
            results[key + "_cpu"] = n / self.cpu
        return results


async def ping(conn):
    id = conn.nextId("ping")
    await conn.request(
        f"<iq type='get' to='{DOMAIN}' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>",
        id,
        "ping answer",
        timeout=120,
    )


class Failed:
    """
    A row a server could not do.
    """

    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return "fails"


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


SCENARIOS = {
    "fanout": "scenarioFanout",
    "fanout10": "scenarioFanout10",
    "churn": "scenarioChurn",
    "pep": "scenarioPep",
    "mep": "scenarioMep",
    "memory": "scenarioMemory",
    "logins": "scenarioLogins",
    "soak": "scenarioSoak",
}

#: Scenarios run only when named in C{--scenarios}: they take long.
OPT_IN = ("soak",)

#: (key, label, format, higher is better)
ROWS = (
    ("fanout", "MUC fan-out 1x50: deliveries/CPU-s", "{:,.0f}", True),
    ("fanout_p99", "MUC fan-out 1x50: p99 ms", "{:.1f}", False),
    ("fanout10", "MUC fan-out 10x10: deliveries/CPU-s", "{:,.0f}", True),
    ("fanout10_p99", "MUC fan-out 10x10: p99 ms", "{:.1f}", False),
    ("churn", "join/leave churn 20 over 5: joins/CPU-s", "{:,.0f}", True),
    ("pep", "PEP fan-out 1->50: notifications/CPU-s", "{:,.0f}", True),
    ("pep_p99", "PEP fan-out 1->50: p99 ms", "{:.1f}", False),
    ("mep", "MEP fan-out 1->50: notifications/CPU-s", "{:,.0f}", True),
    ("mep_p99", "MEP fan-out 1->50: p99 ms", "{:.1f}", False),
    ("kb_conn", "idle connections: kB/connection", "{:.1f}", False),
    ("kb_occupant", "occupants in 10 rooms: kB/occupant", "{:.1f}", False),
    ("logins_scram_cpu", "logins/CPU-s (STARTTLS, SCRAM-SHA-1)", "{:,.0f}", True),
    ("logins_plain_cpu", "logins/CPU-s (STARTTLS, PLAIN)", "{:,.0f}", True),
    ("logins_scram", "logins/s in a row (STARTTLS, SCRAM-SHA-1)", "{:,.0f}", True),
    ("logins_plain", "logins/s in a row (STARTTLS, PLAIN)", "{:,.0f}", True),
    ("soak", "long fan-out 1x50: deliveries/CPU-s", "{:,.0f}", True),
    ("soak_warm_mib", "long fan-out 1x50: MiB after warm-up", "{:.1f}", False),
    ("soak_end_mib", "long fan-out 1x50: MiB at the end", "{:.1f}", False),
    ("soak_growth_mib", "long fan-out 1x50: MiB growth", "{:.1f}", False),
)


async def runScenario(reactor, target, scenario, options):
    """
    Start C{target} fresh, run C{scenario}, stop it.

    @return: the scenario's figures, plus C{"_generator"} if the generator
        was the limit.
    """
    target.scenario = scenario
    await target.start(reactor, options.certificate)
    try:
        run = Run(reactor, target, options)
        result = await getattr(run, SCENARIOS[scenario])()
        if getattr(run, "generatorBound", False):
            result["_generator_bound"] = True
        return result
    except BaseException:
        print(f"  {target.label} log:\n{target.log()}", file=sys.stderr)
        raise
    finally:
        await target.stop(reactor)
        target.cleanup()


def median(values):
    numbers = [v for v in values if isinstance(v, (int, float))]
    if not numbers:
        return values[0] if values else None
    return statistics.median(numbers)


def formatValue(value, fmt):
    if value is None:
        return "-"
    if isinstance(value, Failed):
        return "fails"
    return fmt.format(value)


def printTable(results, targets, options):
    mepservers = [t.label for t in targets if not t.reference]
    references = [t.label for t in targets if t.reference]
    columns = [t.label for t in targets]
    header = ["scenario"] + columns
    for m in mepservers:
        for r in references:
            header.append(f"{m}/{r}" if len(mepservers) > 1 else f"x {r}")
    lines = [header]
    for key, label, fmt, _ in ROWS:
        values = {c: results.get(c, {}).get(key) for c in columns}
        if all(v is None for v in values.values()):
            continue
        row = [label] + [formatValue(values[c], fmt) for c in columns]
        for m in mepservers:
            for r in references:
                a, b = values.get(m), values.get(r)
                if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
                    row.append(f"{a / b:.2f}")
                else:
                    row.append("-")
        lines.append(row)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def loadAverage():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


async def main(reactor, options):
    os.sched_setaffinity(0, {GENERATOR_CORE})
    from mepserver.c2s.tls import loadOrCreateCertificate

    certificateDirectory = tempfile.mkdtemp(prefix="bench-certificate-")
    certificate = loadOrCreateCertificate(certificateDirectory, [DOMAIN, MUC])
    options.certificate = (certificate.certificatePath, certificate.keyPath)
    targets = []
    for spec in options.mepserver or [f"mepserver={CHECKOUT}"]:
        label, _, path = spec.partition("=")
        targets.append(Mepserver(label, path or CHECKOUT, options.profile))
    targets += [Prosody(), Ejabberd()]
    for target in targets:
        target.archive = options.archive
    wanted = options.servers.split(",") if options.servers else None
    chosen = []
    for target in targets:
        if wanted and target.label not in wanted and not (
            "mepserver" in wanted and not target.reference
        ):
            continue
        reason = target.skipReason()
        if reason:
            print(f"skipping {target.label}: {reason}")
            continue
        print(f"{target.label}: {target.version()}")
        chosen.append(target)
    if options.profile:
        os.makedirs(options.profile, exist_ok=True)
    scenarios = (
        options.scenarios.split(",")
        if options.scenarios
        else [name for name in SCENARIOS if name not in OPT_IN]
    )
    print(f"load average at start: {loadAverage()}; {os.cpu_count()} CPUs; server on CPU "
          f"{SERVER_CORE}, generator on CPU {GENERATOR_CORE}")
    raw = {t.label: {} for t in chosen}
    for scenario in scenarios:
        for repetition in range(options.repeat):
            # Interleave servers within each repetition, so that a change in
            # the machine's load affects all of them alike.
            for target in chosen:
                started = time.monotonic()
                try:
                    result = await runScenario(reactor, target, scenario, options)
                except Exception as e:
                    print(f"  {scenario} #{repetition + 1} {target.label}: FAILED {e!r}")
                    continue
                bound = result.pop("_generator_bound", False)
                shown = ", ".join(
                    f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v!r}"
                    for k, v in result.items()
                )
                print(
                    f"  {scenario} #{repetition + 1} {target.label}: {shown} "
                    f"({time.monotonic() - started:.0f} s, load {loadAverage()})"
                    + (" [generator-bound]" if bound else "")
                )
                for key, value in result.items():
                    raw[target.label].setdefault(key, []).append(value)
    summary = {label: {k: median(v) for k, v in rows.items()} for label, rows in raw.items()}
    print()
    print(f"medians of {options.repeat}; load average at end: {loadAverage()}")
    printTable(summary, chosen, options)
    if options.json:
        with open(options.json, "w") as f:
            json.dump(
                {label: {k: [v if isinstance(v, (int, float)) else repr(v) for v in vs]
                         for k, vs in rows.items()} for label, rows in raw.items()},
                f,
                indent=1,
            )
    shutil.rmtree(certificateDirectory, ignore_errors=True)


def parseOptions(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", help="comma-separated: mepserver,prosody,ejabberd")
    parser.add_argument("--scenarios", help="comma-separated: " + ",".join(SCENARIOS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (median)")
    parser.add_argument("--duration", type=float, default=5.0,
                        help="seconds of load per fan-out or churn run")
    parser.add_argument("--deliveries", type=float, default=5000.0,
                        help="deliveries (or notifications) per second in fan-out runs: "
                        "messages or publishes at this rate divided by the fan-out")
    parser.add_argument("--soak", type=float, default=300.0,
                        help="seconds of load in the soak scenario (run only when named)")
    parser.add_argument("--connections", type=int, default=1000,
                        help="idle connections in the memory scenario")
    parser.add_argument("--logins", type=int, default=1000, help="logins in a row")
    parser.add_argument("--churn-limit", dest="churnLimit", type=int, default=100000,
                        help="most joins in one churn run")
    parser.add_argument("--archive", action="store_true",
                        help="rooms archive their messages (XEP-0313): Prosody loads "
                        "muc_mam, ejabberd mod_mam")
    parser.add_argument("--tls", action="store_true",
                        help="STARTTLS on the load scenarios' connections too")
    parser.add_argument("--mepserver", action="append", metavar="LABEL=PATH",
                        help="a mepserver checkout to run (repeatable); default: this one")
    parser.add_argument("--profile", metavar="DIR",
                        help="run mepserver under cProfile, one .pstats per run in DIR")
    parser.add_argument("--json", metavar="FILE", help="write every run's figures")
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parseOptions(sys.argv[1:])
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, options)))
