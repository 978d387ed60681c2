"""
What the slixmpp scenario scripts in this folder share. Each script is an
independent client run in a subprocess by an end-to-end test: it takes one
JSON argument (the server's address, the certificate to trust, accounts)
and prints one JSON report, which the test judges.

Nothing here comes from mepserver; a script imports this module by name
(its own folder is first on C{sys.path}).
"""

import asyncio
import json
import ssl
import sys

import slixmpp

#: Seconds one step of a scenario may wait.
TIMEOUT = 30


def newClient(address, password, context):
    """
    A bare slixmpp client whose TLS context is C{context}.

    The context goes to the constructor: a client made without one first
    builds a default context, loading the system's CA store (some 20 ms,
    a good part of a short scenario), which would then be replaced. A
    slixmpp whose constructor takes no context gets it set afterwards.
    """
    try:
        client = slixmpp.ClientXMPP(address, password, ssl_context=context)
    except TypeError:
        client = slixmpp.ClientXMPP(address, password)
    client.ssl_context = context
    return client


def makeClient(address, password, settings, plugins=(), configs=None):
    """
    A slixmpp client that requires STARTTLS and trusts the test
    certificate (C{settings["cafile"]}).

    @param plugins: the names of the plugins to register.
    @param configs: plugin configurations by plugin name; each of these
        plugins is registered too.
    """
    client = newClient(address, password, ssl.create_default_context(cafile=settings["cafile"]))
    client.enable_plaintext = False
    client.enable_starttls = True
    for plugin in plugins:
        client.register_plugin(plugin)
    for plugin, config in (configs or {}).items():
        client.register_plugin(plugin, config)
    return client


def main(scenario, total=TIMEOUT * 2):
    """
    Run C{scenario(settings, report)} on the JSON settings in C{sys.argv[1]}
    within C{total} seconds, print the report as JSON and exit 0 if the
    scenario set C{report["done"]} (1 otherwise). Whatever went wrong is in
    the report's C{error}, as data.
    """
    settings = json.loads(sys.argv[1])
    report = {"done": False}
    try:
        asyncio.run(asyncio.wait_for(scenario(settings, report), total))
    except BaseException as e:  # report whatever went wrong, as data
        report.setdefault("error", f"{type(e).__name__}: {e}")
    print(json.dumps(report))
    sys.exit(0 if report["done"] else 1)
