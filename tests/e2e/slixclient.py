"""
A slixmpp scenario run in a subprocess against a running mepserver.

This is the independent client of the interoperability tests: nothing here
comes from mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "newUser": "alice", "newPassword": "...",
   "peer": "bob@localhost", "peerPassword": "..."}

and prints one JSON object with what happened, then exits 0 if every step
completed (1 otherwise). The steps (issue 2, "How we will check it"):
alice registers in-band over STARTTLS, authenticates with SCRAM, binds,
gets her roster, sends client states (XEP-0352) and pings the server; bob
logs in; alice pings bob's full
JID and asks it for its software version, which bob's client answers, and
asks the server's at the domain (the fidelity issue); alice sends bob a
message and subscribes to his presence, which bob's client approves.
"""

import asyncio
import ssl

import slixbase

TIMEOUT = slixbase.TIMEOUT


def makeClient(address, password, settings, software="Slixmpp"):
    return slixbase.makeClient(
        address,
        password,
        settings,
        plugins=("xep_0030", "xep_0199", "xep_0077", "xep_0352"),
        configs={"xep_0092": {"name": software, "version": "1.0"}},
    )


async def scenario(settings, report):
    domain = settings["domain"]
    aliceJID = f"{settings['newUser']}@{domain}"
    alice = makeClient(aliceJID, settings["newPassword"], settings)
    bob = makeClient(
        settings["peer"], settings["peerPassword"], settings, software="slixbob"
    )
    registered = slixbase.registerFirst(alice)

    loop = asyncio.get_running_loop()
    gotMessage, gotPresence = loop.create_future(), loop.create_future()

    def authenticated(_):
        report.setdefault("mechanisms", {})
        report["mechanisms"][alice.boundjid.bare] = alice.plugin[
            "feature_mechanisms"
        ].mech.name

    def bobMessage(message):
        if message["body"] and not gotMessage.done():
            gotMessage.set_result(
                {"from": str(message["from"]), "body": message["body"]}
            )

    def alicePresence(presence):
        if presence["from"].bare == settings["peer"] and presence["type"] in (
            "available",
            "chat",
            "away",
            "xa",
            "dnd",
        ):
            if not gotPresence.done():
                gotPresence.set_result(str(presence["from"]))

    alice.add_event_handler("auth_success", authenticated)
    bob.add_event_handler("message", bobMessage)
    alice.add_event_handler("presence", alicePresence)

    rosters = await slixbase.logIn({"alice": alice, "bob": bob}, settings)
    report["registered"] = registered.done()
    report["aliceTLS"] = isinstance(
        alice.socket, ssl.SSLSocket
    ) or alice.transport.get_extra_info("sslcontext") is not None
    report["aliceJID"] = str(alice.boundjid)
    report["rosterType"] = rosters["alice"]["type"]
    # XEP-0352: the feature was offered; the state nonzas leave the
    # stream open (the ping after them proves it).
    report["csi"] = alice["xep_0352"].enabled
    alice["xep_0352"].send_inactive()
    alice["xep_0352"].send_active()
    rtt = await alice["xep_0199"].ping(jid=domain, timeout=TIMEOUT)
    report["pinged"] = rtt is not None
    # Requests to bob's full JID are bob's client's to answer (RFC 6120
    # 10.5.4); the same request to the domain is the server's.
    bobFull = bob.boundjid.full
    report["peerPinged"] = await alice["xep_0199"].ping(jid=bobFull, timeout=TIMEOUT) is not None
    version = await alice["xep_0092"].get_version(bobFull, timeout=TIMEOUT)
    report["peerVersion"] = {
        "from": str(version["from"]),
        "name": version["software_version"]["name"],
    }
    version = await alice["xep_0092"].get_version(domain, timeout=TIMEOUT)
    report["serverVersion"] = {
        "from": str(version["from"]),
        "name": version["software_version"]["name"],
    }
    alice.send_message(mto=settings["peer"], mbody="hello bob", mtype="chat")
    report["message"] = await asyncio.wait_for(gotMessage, TIMEOUT)
    alice.send_presence(pto=settings["peer"], ptype="subscribe")
    report["peerPresence"] = await asyncio.wait_for(gotPresence, TIMEOUT)
    item = alice.client_roster[settings["peer"]]
    report["subscription"] = item["subscription"]
    for client in (alice, bob):
        client.disconnect()
    report["done"] = True




if __name__ == "__main__":
    slixbase.main(scenario)
