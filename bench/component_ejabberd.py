"""
mepserver as the MUC component (XEP-0114) of a real ejabberd: the manual
run behind the README's "Running as a component" (issue 14), the same MUC
+ MEP scenario that C{tests/e2e/test_component.py} runs through Prosody
(L{tests.e2e.componentscenario.runMEPScenario}), with clients logged in to
ejabberd.

    python bench/component_ejabberd.py

It needs Debian's ejabberd (C{apt-get install ejabberd}; the package's
service need not run, and with a C{policy-rc.d} that forbids starting
services it does not) and root, because C{ejabberdctl} runs ejabberd as
its own C{ejabberd} user. It writes a configuration into a temporary
directory: one host, C{localhost}, with client connections (STARTTLS
required) and the component port (C{ejabberd_service} for
C{conference.localhost}) on ephemeral ports of 127.0.0.1 only, Erlang
distribution on 127.0.0.1 without epmd; it starts C{ejabberdctl
foreground}, registers the accounts with C{ejabberdctl register}, attaches
mepserver and runs the scenario, attaches a second mepserver with a wrong
secret to show the line it logs, then stops ejabberd and removes the
directory. It prints the versions and the results; CI does not run it.
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

# Runs from a checkout.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from twisted.internet import defer, task, utils  # noqa: E402
from twisted.logger import formatEvent, globalLogPublisher  # noqa: E402
from twisted.trial import unittest  # noqa: E402
from twisted.words.protocols.jabber import jid  # noqa: E402

import mepserver  # noqa: E402
from mepserver.c2s.tls import loadOrCreateCertificate  # noqa: E402
from mepserver.testing.client import Account  # noqa: E402
from tests.e2e.componentscenario import runMEPScenario, startComponent  # noqa: E402
from tests.e2e.external import ExternalServer, pickPort  # noqa: E402

EJABBERDCTL = "/usr/sbin/ejabberdctl"

CONFIG = """\
# Written by bench/component_ejabberd.py for one run.
hosts:
  - localhost
loglevel: info
certfiles:
  - "{certificate}"
  - "{key}"
listen:
  -
    port: {c2sPort}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
    starttls_required: true
  -
    port: {componentPort}
    ip: "127.0.0.1"
    module: ejabberd_service
    access: all
    hosts:
      "conference.localhost":
        password: "{secret}"
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
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_caps: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
  mod_version: {{}}
"""

CTL_CONFIG = """\
ERLANG_NODE={node}
ERL_DIST_PORT={distPort}
INET_DIST_INTERFACE=127.0.0.1
ERL_EPMD_ADDRESS=127.0.0.1
EJABBERD_PID_PATH={directory}/ejabberd.pid
"""


class RunningEjabberd(ExternalServer):
    """
    A started ejabberd: an L{ExternalServer} whose accounts are made with
    C{ejabberdctl register}.
    """

    def __init__(self, reactor, directory, c2sPort, certificatePath, componentPort, secret):
        ExternalServer.__init__(
            self,
            reactor,
            directory,
            c2sPort,
            certificatePath,
            os.path.join(directory, "logs", "ejabberd.log"),
        )
        self.componentPort = componentPort
        self.componentSecret = secret

    def ctl(self, *args):
        """
        Run C{ejabberdctl} on this ejabberd's configuration.

        @return: a Deferred firing with C{(out, err, code)}.
        """
        return utils.getProcessOutputAndValue(
            EJABBERDCTL,
            self.ctlArguments() + list(args),
            env=os.environ,
            path=self.directory,
            reactor=self.reactor,
        )

    def ctlArguments(self):
        d = self.directory
        return [
            "--config-dir", d,
            "--config", os.path.join(d, "ejabberd.yml"),
            "--ctl-config", os.path.join(d, "ejabberdctl.cfg"),
            "--logs", os.path.join(d, "logs"),
            "--spool", os.path.join(d, "spool"),
        ]

    async def stop(self):
        """
        End the clients' streams (ejabberd leaves a TLS connection closed
        without it open), then C{ejabberdctl stop}: a signal to the
        C{ejabberdctl foreground} shell would not reach the Erlang VM it
        runs through C{su}.
        """
        for client in self._clients:
            if client.connected:
                client.xmlstream.sendFooter()
            await client.close()
        self._clients = []
        if self._process is not None and not self._process.exited:
            await self.ctl("stop")
            await self._process.ended

    async def createAccount(self, username, password):
        """
        Register C{username@localhost}.

        @return: its L{Account}.
        """
        out, err, code = await self.ctl("register", username, self.domain, password)
        if code != 0:
            raise RuntimeError(f"ejabberdctl register {username} failed ({code}): {out!r} {err!r}")
        return Account(jid.JID(f"{username}@{self.domain}"), password)


async def startEjabberd(reactor, secret):
    """
    Write the configuration and start C{ejabberdctl foreground}.

    @return: the L{RunningEjabberd} once it takes client connections.
    """
    directory = tempfile.mkdtemp(prefix="mepserver-ejabberd-")
    os.chmod(directory, 0o755)
    for sub in ("logs", "spool"):
        os.makedirs(os.path.join(directory, sub))
    certificate = loadOrCreateCertificate(directory, ["localhost", "conference.localhost"])
    c2sPort, componentPort, distPort = pickPort(), pickPort(), pickPort()
    with open(os.path.join(directory, "ejabberd.yml"), "w") as f:
        f.write(
            CONFIG.format(
                certificate=certificate.certificatePath,
                key=certificate.keyPath,
                c2sPort=c2sPort,
                componentPort=componentPort,
                secret=secret,
            )
        )
    with open(os.path.join(directory, "ejabberdctl.cfg"), "w") as f:
        f.write(
            CTL_CONFIG.format(
                node=f"mepserver{os.getpid()}@localhost", distPort=distPort, directory=directory
            )
        )
    user = pwd.getpwnam("ejabberd")
    for root, dirs, files in os.walk(directory):
        for name in dirs + files + [""]:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
    running = RunningEjabberd(
        reactor, directory, c2sPort, certificate.certificatePath, componentPort, secret
    )
    await running.spawn(EJABBERDCTL, [EJABBERDCTL] + running.ctlArguments() + ["foreground"])
    return running


def versions():
    """
    @return: the Debian versions of ejabberd and Erlang, and mepserver's.
    """
    found = {"mepserver": mepserver.__version__}
    for package in ("ejabberd", "erlang-base"):
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
        )
        found[package] = result.stdout.strip() or "not installed"
    return found


async def wrongSecretLine(host):
    """
    Attach a second mepserver with a wrong secret.

    @return: the line its link logs for the refused handshake.
    """
    failed = defer.Deferred()

    def observe(event):
        if event.get("log_namespace") == "mepserver.hostlink" and "handshake" in event.get(
            "log_format", ""
        ):
            if not failed.called:
                failed.callback(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    impostor = await startComponent(host, secret="wrong", connected=False)
    try:
        return await failed
    finally:
        globalLogPublisher.removeObserver(observe)
        await impostor.stop()


async def run(reactor):
    """
    Start ejabberd, attach mepserver, run the scenario, stop everything.
    """
    print("versions:", versions())
    if os.geteuid() != 0 or shutil.which("ejabberdctl") is None:
        raise SystemExit(
            "needs root and Debian's ejabberd (apt-get install ejabberd): "
            "ejabberdctl runs ejabberd as the ejabberd user"
        )
    started = time.perf_counter()
    ejabberd = await startEjabberd(reactor, "s3cret-component")
    component = None
    try:
        print(f"ejabberd up in {time.perf_counter() - started:.1f} s "
              f"(c2s 127.0.0.1:{ejabberd.c2sPort}, component 127.0.0.1:{ejabberd.componentPort})")
        component = await startComponent(
            ejabberd, backendJids=(f"carol@{ejabberd.domain}",)
        )
        print("mepserver attached as conference.localhost")
        started = time.perf_counter()
        await runMEPScenario(unittest.SynchronousTestCase(), ejabberd, component)
        print(f"MUC + MEP scenario through ejabberd: passed in {time.perf_counter() - started:.1f} s")
        print("a wrong secret:", await wrongSecretLine(ejabberd))
    except BaseException:
        print("ejabberd's log:\n" + ejabberd.log(), file=sys.stderr)
        raise
    finally:
        if component is not None:
            await component.stop()
        await ejabberd.stop()
        shutil.rmtree(ejabberd.directory, ignore_errors=True)


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(run(reactor)))
