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
from slixmpp.plugins.xep_0004 import Form

#: Seconds one step of a scenario may wait.
TIMEOUT = 30

#: Seconds any single wait of a longer scenario (several clients, many
#: steps) may take, and the whole of it (its trial test allows 120).
STEP = 15
TOTAL = 90

NS_CLIENT = "jabber:client"
NS_MAM = "urn:xmpp:mam:2"
NS_FORWARD = "urn:xmpp:forward:0"


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


async def logIn(clients, settings, prepare=None, available=True, timeout=TIMEOUT):
    """
    Connect clients to the server of C{settings} and wait until each
    one's session started, it got its roster (slixmpp's own request) and
    sent its initial presence. Register the clients' event handlers first:
    slixmpp runs them from the first stanza on.

    @param clients: the clients by name.
    @param prepare: an async function of a client's name and the client,
        run once it has its roster and before its presence (to enable
        carbons or ask a disco question, say), or L{None}.
    @param available: if false, wait for the sessions alone: no roster,
        no presence.
    @param timeout: seconds all of it may take.
    @return: each client's roster result by name (L{None} for each if not
        C{available}).
    """
    loop = asyncio.get_running_loop()
    ready = {name: loop.create_future() for name in clients}

    def starter(name, client):
        async def start(_):
            try:
                roster = None
                if available:
                    roster = await client.get_roster(timeout=timeout)
                    if prepare is not None:
                        await prepare(name, client)
                    client.send_presence()
                ready[name].set_result(roster)
            except Exception as e:
                # Said at once, rather than as the wait's timeout.
                if not ready[name].done():
                    ready[name].set_exception(e)

        return start

    for name, client in clients.items():
        client.add_event_handler("session_start", starter(name, client))
        client.connect(settings["host"], settings["port"])
    await asyncio.wait_for(asyncio.gather(*ready.values()), timeout)
    return {name: future.result() for name, future in ready.items()}


def registerFirst(client):
    """
    Make C{client} (with the plugin xep_0077) register its account in-band
    (XEP-0077 section 3.1), with its JID's localpart and its password,
    before it authenticates.

    @return: a future that is done once the server accepted the
        registration.
    """
    registered = asyncio.get_running_loop().create_future()
    client.plugin["xep_0077"].force_registration = True

    async def register(form):
        iq = client.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = client.boundjid.user
        iq["register"]["password"] = client.password
        await iq.send()
        if not registered.done():
            registered.set_result(True)

    client.add_event_handler("register", register)
    return registered


def archivePage(iq):
    """
    Read the answer to a message archive query (XEP-0313 section 4.2):
    the results slixmpp's xep_0313 collected, and the C{<fin/>}.

    @return: for each result, in the order received, the message that
        carried it (a slixmpp stanza), its UID and the forwarded message
        (an element); and the fin's C{complete} (L{None} without one).
    """
    results = []
    for result in iq["mam"]["results"]:
        element = result.xml.find(f"{{{NS_MAM}}}result")
        message = element.find(f"{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}message")
        results.append((result, element.get("id"), message))
    fin = iq.xml.find(f"{{{NS_MAM}}}fin")
    return results, None if fin is None else fin.get("complete")


def bookmarkOptions():
    """
    @return: the publish-options of a PEP Native Bookmark (XEP-0402
        section 3: persistent, every item kept, no last item sent, the
        owner's alone), as a submitted form.
    """
    form = Form()
    form["type"] = "submit"
    form.add_field(
        var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options"
    )
    form.add_field(var="pubsub#persist_items", value="true")
    form.add_field(var="pubsub#max_items", value="max")
    form.add_field(var="pubsub#send_last_published_item", value="never")
    form.add_field(var="pubsub#access_model", value="whitelist")
    return form


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
