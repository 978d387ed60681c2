# -*- test-case-name: tests.e2e.test_ejabberd -*-
"""
A real ejabberd, the second reference server: the same scenarios that
judge mepserver and Prosody run against it (L{tests.e2e.test_ejabberd}),
and C{bench/component_ejabberd.py} attaches mepserver to it as a
component.

L{launchEjabberd} writes a configuration into a directory: one virtual
host, C{localhost}, with ejabberd's MUC service on C{conference.localhost}
(rooms archive, XEP-0313), HTTP File Upload on C{upload.localhost}, or,
with a component secret, the component port (XEP-0114) for
C{conference.localhost} instead; client connections (STARTTLS required),
HTTP (uploads and the admin API, L{RunningEjabberd.api}) and Erlang
distribution on ephemeral ports of 127.0.0.1, without epmd. It gives
ejabberd a certificate made by mepserver's own L{loadOrCreateCertificate},
so that the scenarios' C{cafile} is the one they trust for mepserver, and
starts C{ejabberdctl foreground} under a guard (C{ejabberdguard.py}) that
stops ejabberd when its standard input closes: when L{RunningEjabberd.stop}
closes it or the test process dies.

ejabberd takes seconds to start, so the reference tier shares one for a
whole test run (L{startEjabberd}), stopped when the test process exits; it
is opt-in (L{ENABLE}). Debian's ejabberd runs as its own C{ejabberd} user
through C{su}, which needs root.
"""

import atexit
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import treq
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool
from twisted.words.protocols.jabber import jid

from mepserver.c2s.tls import loadOrCreateCertificate
from mepserver.testing.client import Account
from tests.e2e.ejabberdguard import killTree
from tests.e2e.external import ExternalServer, pickPort

EJABBERDCTL = "/usr/sbin/ejabberdctl"

#: The environment variable that turns the reference tier on.
ENABLE = "MEPSERVER_EJABBERD"

#: The guard script, run by the test's Python.
GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ejabberdguard.py")

#: Seconds the guard may take to stop ejabberd (its own bound, 30 s, plus
#: the time to kill): beyond it, the guard is killed too.
GUARD_LIMIT = 40

CONFIG = """\
# Written by tests/e2e/ejabberd.py.
hosts:
  - localhost
loglevel: info
certfiles:
  - "{certificate}"
  - "{key}"
# Any number of in-band registrations from 127.0.0.1 (the default allows
# one per address every ten minutes).
registration_timeout: infinity
listen:
  -
    port: {c2sPort}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
    starttls_required: true
  -
    port: {httpPort}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
      /upload: mod_http_upload
{component}auth_method: internal
auth_password_format: scram
acl:
  local:
    user_regexp: ""
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: local
  c2s:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
  "the tests on 127.0.0.1":
    from:
      - mod_http_api
    who:
      acl: loopback
    what: "*"
modules:
  mod_admin_extra: {{}}
  mod_avatar: {{}}
  mod_blocking: {{}}
  mod_caps: {{}}
  mod_carboncopy: {{}}
  mod_client_state: {{}}
  mod_disco: {{}}
  mod_http_api: {{}}
  mod_http_upload:
    put_url: "http://127.0.0.1:{httpPort}/upload"
    docroot: "{directory}/upload"
    max_size: {uploadMaxSize}
  mod_mam:
    default: always
  mod_offline: {{}}
  mod_ping: {{}}
  mod_privacy: {{}}
  mod_private: {{}}
  mod_pubsub:
    plugins:
      - flat
      - pep
  mod_register:
    access: all
  mod_roster:
    versioning: true
  mod_stream_mgmt: {{}}
  mod_vcard: {{}}
  mod_vcard_xupdate: {{}}
  mod_version:
    show_os: false
{muc}"""

#: ejabberd's own MUC service, for the reference tier.
MUC_MODULES = """\
  mod_muc:
    host: "{mucDomain}"
    access_create: all
    access_persistent: all
    access_mam: all
    default_room_options:
      mam: true
  mod_muc_admin: {{}}
"""

#: The component port for an external MUC component (XEP-0114) instead.
COMPONENT_LISTENER = """\
  -
    port: {componentPort}
    ip: "127.0.0.1"
    module: ejabberd_service
    access: all
    hosts:
      "{mucDomain}":
        password: "{secret}"
"""

#: ejabberdctl's settings: Erlang distribution on one port of 127.0.0.1,
#: without epmd. The interface is given to the VM as an option: with
#: C{INET_DIST_INTERFACE}, C{ejabberdctl} starts a second VM to parse it.
CTL_CONFIG = """\
ERLANG_NODE={node}
ERL_DIST_PORT={distPort}
ERL_OPTIONS="-kernel inet_dist_use_interface {{127,0,0,1}}"
ERL_EPMD_ADDRESS=127.0.0.1
"""


def skipUnlessEjabberd():
    """
    Raise L{unittest.SkipTest} unless the reference tier is asked for
    (C{MEPSERVER_EJABBERD=1}) and can run: ejabberd installed, and root,
    which C{ejabberdctl} needs to run ejabberd as its own user.
    """
    if os.environ.get(ENABLE) != "1":
        raise unittest.SkipTest(
            f"the ejabberd reference tier is opt-in (ejabberd starts in seconds): "
            f"run it with {ENABLE}=1 python -m pytest tests/e2e/test_ejabberd.py"
        )
    if not os.access(EJABBERDCTL, os.X_OK):
        raise unittest.SkipTest(
            "ejabberd is not installed (apt-get install ejabberd): the ejabberd "
            "reference tier needs a real ejabberd"
        )
    if os.geteuid() != 0:
        raise unittest.SkipTest(
            "the ejabberd reference tier needs root: ejabberdctl runs ejabberd "
            "as the ejabberd user"
        )


class _Guarded:
    """
    The guard process (C{ejabberdguard.py}) as L{ExternalServer} sees a
    server process: whether it L{exited}, and its L{output}, none: what
    the guard and ejabberd print goes to a file, L{ExternalServer.logPath}
    (ejabberd in the foreground prints its log, and the errors it meets
    before it opens its log file).

    @ivar popen: the guard's L{subprocess.Popen}.
    """

    output = b""

    def __init__(self, popen):
        self.popen = popen

    @property
    def exited(self):
        return self.popen.poll() is not None


class RunningEjabberd(ExternalServer):
    """
    A started ejabberd: an L{ExternalServer} whose accounts, rosters and
    rooms are made through ejabberd's admin API over HTTP (L{api}).

    @ivar httpPort: its HTTP port on 127.0.0.1: C{/api} and C{/upload}.
    @ivar uploadDomain: its HTTP File Upload service (XEP-0363).
    @ivar uploadMaxSize: the largest file that service takes, in bytes.
    @ivar componentPort: the port on 127.0.0.1 where it takes its MUC
        component (XEP-0114), or L{None} if it runs its own MUC service.
    @ivar componentSecret: that component's secret.
    """

    uploadDomain = "upload.localhost"
    uploadMaxSize = 1048576
    componentPort = None
    componentSecret = None

    def __init__(self, reactor, directory, c2sPort, httpPort, certificatePath):
        ExternalServer.__init__(
            self, reactor, directory, c2sPort, certificatePath, os.path.join(directory, "output")
        )
        self.httpPort = httpPort
        self._pool = None

    @property
    def running(self):
        """
        Whether its guard, and so ejabberd, still runs.
        """
        return self._process is not None and not self._process.exited

    def ctlArguments(self):
        """
        @return: C{ejabberdctl}'s options for this ejabberd's directories.
        """
        d = self.directory
        return [
            "--config-dir", d,
            "--config", os.path.join(d, "ejabberd.yml"),
            "--ctl-config", os.path.join(d, "ejabberdctl.cfg"),
            "--logs", os.path.join(d, "logs"),
            "--spool", os.path.join(d, "spool"),
        ]

    async def launch(self):
        """
        Start the guard, which starts C{ejabberdctl foreground}, outside
        the reactor (trial would kill a process of the reactor after the
        test that started it) and in a session of its own (a ^C to the test
        run reaches the guard only as the end of its standard input).

        @return: a coroutine ending once ejabberd takes client connections,
            which the guard is told.
        """
        with open(self.logPath, "wb") as output:
            popen = subprocess.Popen(
                [
                    sys.executable,
                    GUARD,
                    self.directory,
                    EJABBERDCTL,
                    *self.ctlArguments(),
                    "foreground",
                ],
                stdin=subprocess.PIPE,
                stdout=output,
                stderr=output,
                cwd=self.directory,
                start_new_session=True,
            )
        self._process = _Guarded(popen)
        await self._waitForPort()
        # Up: from now on the guard stops it in order.
        popen.stdin.write(b"up\n")
        popen.stdin.flush()

    async def api(self, command, **arguments):
        """
        Call one command of ejabberd's admin API (C{mod_http_api}), which
        takes requests from 127.0.0.1 without credentials here.

        @return: the decoded JSON result.
        @raise RuntimeError: if ejabberd refused or failed the command.
        """
        if self._pool is None:
            self._pool = HTTPConnectionPool(self.reactor, persistent=False)
        response = await treq.post(
            f"http://127.0.0.1:{self.httpPort}/api/{command}",
            json=arguments,
            pool=self._pool,
            reactor=self.reactor,
        )
        body = await response.content()
        if response.code != 200:
            raise RuntimeError(
                f"ejabberd's API refused {command} {arguments}: "
                f"{response.code} {body.decode('utf-8', 'replace')}"
            )
        return json.loads(body)

    async def createAccount(self, username, password):
        """
        Register C{username@localhost}.

        @return: its L{Account}.
        """
        await self.api("register", user=username, host=self.domain, password=password)
        return Account(jid.JID(f"{username}@{self.domain}"), password)

    async def addRosterItem(self, owner, contact, subscription="both", name=""):
        """
        Put C{contact} (a bare JID string) in C{owner}'s roster (C{owner} a
        user name of this host) with C{subscription}, as an administrator
        would, without presence stanzas.
        """
        user, host = contact.split("@")
        result = await self.api(
            "add_rosteritem",
            localuser=owner,
            localhost=self.domain,
            user=user,
            host=host,
            nick=name,
            group="",
            subs=subscription,
        )
        if result != 0:
            raise RuntimeError(f"add_rosteritem {owner} {contact} failed: {result}")

    async def createRoom(self, name, **options):
        """
        Create the room C{name@conference.localhost}, persistent, with
        C{options} (ejabberd's room option names, string values).

        @return: its JID.
        """
        options.setdefault("persistent", "true")
        result = await self.api(
            "create_room_with_opts",
            name=name,
            service=self.mucDomain,
            host=self.domain,
            options=[{"name": k, "value": v} for k, v in options.items()],
        )
        if result != 0:
            raise RuntimeError(f"create_room_with_opts {name} failed: {result}")
        return jid.JID(f"{name}@{self.mucDomain}")

    async def closeClients(self):
        """
        Close the clients L{connectClient} made: their streams first, since
        ejabberd does not answer a TLS close on a stream left open.
        """
        clients, self._clients = self._clients, []
        for client in clients:
            if client.connected:
                client.xmlstream.sendFooter()
            await client.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.closeCachedConnections()

    async def stop(self):
        """
        Close the clients, then stop ejabberd (L{terminate}).
        """
        await self.closeClients()
        self.terminate()

    async def kill(self):
        """
        Not offered: the guard stops ejabberd in order, always.
        """
        raise NotImplementedError("an ejabberd is stopped, not crashed")

    def terminate(self):
        """
        Close the guard's standard input and wait for it to stop ejabberd,
        remove the directory and exit (blocking: ejabberd stops in about a
        second); past L{GUARD_LIMIT} seconds, kill ejabberd's processes
        and the guard by their ids, and remove the directory. Idempotent.
        """
        process = self._process
        if process is None:
            return
        popen = process.popen
        if popen.stdin is not None and not popen.stdin.closed:
            popen.stdin.close()
        try:
            popen.wait(GUARD_LIMIT)
        except subprocess.TimeoutExpired:
            # The guard is stuck: it and ejabberd's processes are killed
            # by their ids.
            killTree(popen.pid)
            popen.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


async def launchEjabberd(reactor=None, componentSecret=None):
    """
    Write a configuration into a new temporary directory and start
    ejabberd; L{RunningEjabberd.stop} or L{RunningEjabberd.terminate} stop
    it and remove the directory.

    @param componentSecret: L{None} for ejabberd's own MUC service on
        C{conference.localhost}; otherwise C{conference.localhost} is an
        external component (XEP-0114) with this secret, taken on an
        ephemeral port of 127.0.0.1 (L{RunningEjabberd.componentPort}).

    @return: the L{RunningEjabberd} once it takes client connections.
    @raise RuntimeError: if it did not start; its log says why.
    """
    if reactor is None:
        from twisted.internet import reactor
    directory = tempfile.mkdtemp(prefix="mepserver-ejabberd-")
    os.chmod(directory, 0o755)
    for sub in ("logs", "spool", "upload"):
        os.makedirs(os.path.join(directory, sub))
    certificate = loadOrCreateCertificate(
        directory,
        [RunningEjabberd.domain, RunningEjabberd.mucDomain, RunningEjabberd.uploadDomain],
    )
    c2sPort, httpPort, distPort = pickPort(), pickPort(), pickPort()
    if componentSecret is None:
        componentPort = None
        component = ""
        muc = MUC_MODULES.format(mucDomain=RunningEjabberd.mucDomain)
    else:
        componentPort = pickPort()
        component = COMPONENT_LISTENER.format(
            componentPort=componentPort,
            mucDomain=RunningEjabberd.mucDomain,
            secret=componentSecret,
        )
        muc = ""
    with open(os.path.join(directory, "ejabberd.yml"), "w") as f:
        f.write(
            CONFIG.format(
                certificate=certificate.certificatePath,
                key=certificate.keyPath,
                c2sPort=c2sPort,
                httpPort=httpPort,
                directory=directory,
                uploadMaxSize=RunningEjabberd.uploadMaxSize,
                component=component,
                muc=muc,
            )
        )
    with open(os.path.join(directory, "ejabberdctl.cfg"), "w") as f:
        f.write(
            CTL_CONFIG.format(node=f"mepserver{os.getpid()}@localhost", distPort=distPort)
        )
    user = pwd.getpwnam("ejabberd")
    for root, dirs, files in os.walk(directory):
        for name in dirs + files + [""]:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
    running = RunningEjabberd(
        reactor, directory, c2sPort, httpPort, certificate.certificatePath
    )
    running.componentPort = componentPort
    running.componentSecret = componentSecret
    try:
        await running.launch()
    except BaseException:
        running.terminate()
        raise
    return running


#: The ejabberd of this test process, shared by the tests (L{startEjabberd}).
_shared = None


async def startEjabberd(testCase, reactor=None):
    """
    The ejabberd of this test process for C{testCase}: started by the first
    test that asks and stopped when the process exits, since ejabberd
    takes seconds to start; the clients a test connects are closed in its
    cleanup. Tests share its accounts and rooms, so each test uses names
    of its own.

    @raise unittest.SkipTest: unless the tier is asked for and can run
        (L{skipUnlessEjabberd}).
    @return: the L{RunningEjabberd}.
    """
    global _shared
    skipUnlessEjabberd()
    if _shared is None or not _shared.running:
        if _shared is not None:
            # It ended under an earlier test, which failed for it: another
            # one for the tests left.
            _shared.terminate()
        _shared = await launchEjabberd(reactor)
        atexit.register(_shared.terminate)
    testCase.addCleanup(_shared.closeClients)
    return _shared
