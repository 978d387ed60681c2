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
its own C{ejabberd} user. L{tests.e2e.ejabberd.launchEjabberd}, the
launcher of the ejabberd reference tier, writes a configuration into a
temporary directory: one host, C{localhost}, with client connections
(STARTTLS required), HTTP (the admin API, which registers the accounts)
and the component port (C{ejabberd_service} for C{conference.localhost})
on ephemeral ports of 127.0.0.1 only, Erlang distribution on 127.0.0.1
without epmd; it starts C{ejabberdctl foreground} under its guard. The
bench attaches mepserver and runs the scenario, attaches a second
mepserver with a wrong secret to show the line it logs, then stops
ejabberd, which removes the directory. It prints the versions and the
results; CI does not run it.
"""

import os
import subprocess
import sys
import time

# Runs from a checkout.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from twisted.internet import defer, task  # noqa: E402
from twisted.logger import formatEvent, globalLogPublisher  # noqa: E402
from twisted.trial import unittest  # noqa: E402

import mepserver  # noqa: E402
from tests.e2e.componentscenario import runMEPScenario, startComponent  # noqa: E402
from tests.e2e.ejabberd import EJABBERDCTL, launchEjabberd  # noqa: E402


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
    if os.geteuid() != 0 or not os.access(EJABBERDCTL, os.X_OK):
        raise SystemExit(
            "needs root and Debian's ejabberd (apt-get install ejabberd): "
            "ejabberdctl runs ejabberd as the ejabberd user"
        )
    started = time.perf_counter()
    ejabberd = await launchEjabberd(reactor, componentSecret="s3cret-component")
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


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(run(reactor)))
