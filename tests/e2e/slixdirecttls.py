"""
slixmpp logs in over direct TLS (XEP-0368), in a subprocess against a
running mepserver.

It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5223, "cafile": "...", "domain": "localhost",
   "jid": "alice@localhost", "password": "..."}

and prints one JSON object with what happened, then exits 0 if every step
completed (1 otherwise). The client may only use direct TLS (no STARTTLS,
no plaintext), verifies the certificate in C{cafile} for the domain (SNI
set to it), offers ALPN C{xmpp-client} as XEP-0368 section 3 asks, then
authenticates, binds, gets its roster and pings the server.
"""

import asyncio
import ssl

import slixbase

TIMEOUT = slixbase.TIMEOUT


async def scenario(settings, report):
    context = ssl.create_default_context(cafile=settings["cafile"])
    context.set_alpn_protocols(["xmpp-client"])
    client = slixbase.newClient(settings["jid"], settings["password"], context)
    client.enable_direct_tls = True
    client.enable_starttls = False
    client.enable_plaintext = False
    client.register_plugin("xep_0199")
    ready = asyncio.get_running_loop().create_future()

    def authenticated(_):
        report["mechanism"] = client.plugin["feature_mechanisms"].mech.name

    async def started(_):
        sslObject = client.transport.get_extra_info("ssl_object")
        report["tls"] = sslObject is not None
        if sslObject is not None:
            report["tlsVersion"] = sslObject.version()
            report["alpn"] = sslObject.selected_alpn_protocol()
            report["serverHostname"] = sslObject.server_hostname
        report["jid"] = str(client.boundjid)
        report["features"] = sorted(client.features)
        roster = await client.get_roster()
        report["rosterType"] = roster["type"]
        rtt = await client["xep_0199"].ping(jid=settings["domain"], timeout=TIMEOUT)
        report["pinged"] = rtt is not None
        ready.set_result(True)

    def failed(reason):
        if not ready.done():
            ready.set_exception(RuntimeError(f"connection failed: {reason}"))

    client.add_event_handler("auth_success", authenticated)
    client.add_event_handler("session_start", started)
    client.add_event_handler("connection_failed", failed)
    client.add_event_handler("failed_auth", failed)
    client.connect(settings["host"], settings["port"])
    await asyncio.wait_for(ready, TIMEOUT)
    client.disconnect()
    report["done"] = True




if __name__ == "__main__":
    slixbase.main(scenario)
