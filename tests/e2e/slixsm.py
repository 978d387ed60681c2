"""
A slixmpp stream management scenario (XEP-0198) run in a subprocess
against a running mepserver.

The independent client of the resumption test: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "accounts": {"alice": ["alice@localhost", "..."],
                "bob": ["bob@localhost", "..."]}}

and prints one JSON object with what happened, then exits 0 if every step
completed (1 otherwise). alice enables stream management with resumption
(slixmpp's xep_0198 plugin); her TCP connection is killed (slixmpp's
abort); bob sends her a message meanwhile and pings the server, so that it
was handled; alice connects again, slixmpp resumes the session instead of
binding a new one, and the message arrives.
"""

import asyncio

import slixbase

TIMEOUT = slixbase.TIMEOUT


def makeClient(address, password, settings, sm=False):
    plugins = ("xep_0030", "xep_0199") + (("xep_0198",) if sm else ())
    return slixbase.makeClient(address, password, settings, plugins)


async def scenario(settings, report):
    alice = makeClient(*settings["accounts"]["alice"], settings, sm=True)
    bob = makeClient(*settings["accounts"]["bob"], settings)
    loop = asyncio.get_running_loop()
    aliceEnabled, aliceGone = loop.create_future(), loop.create_future()
    aliceResumed, gotMessage = loop.create_future(), loop.create_future()
    bobReady = loop.create_future()
    report["sessionStarts"] = 0

    def aliceStart(_):
        report["sessionStarts"] += 1
        alice.send_presence()

    def enabled(stanza):
        report["enabled"] = {"id": stanza["id"], "resume": stanza["resume"]}
        if not aliceEnabled.done():
            aliceEnabled.set_result(True)

    def resumed(stanza):
        report["resumed"] = {"previd": stanza["previd"], "h": stanza["h"]}
        aliceResumed.set_result(True)

    def disconnected(_):
        if not aliceGone.done():
            aliceGone.set_result(True)

    def aliceMessage(message):
        if message["body"] and not gotMessage.done():
            gotMessage.set_result(
                {"from": str(message["from"]), "body": message["body"]}
            )

    async def bobStart(_):
        await bob.get_roster()
        bobReady.set_result(True)

    alice.add_event_handler("session_start", aliceStart)
    alice.add_event_handler("sm_enabled", enabled)
    alice.add_event_handler("session_resumed", resumed)
    alice.add_event_handler("disconnected", disconnected)
    alice.add_event_handler("message", aliceMessage)
    bob.add_event_handler("session_start", bobStart)

    alice.connect(settings["host"], settings["port"])
    bob.connect(settings["host"], settings["port"])
    await asyncio.wait_for(asyncio.gather(aliceEnabled, bobReady), TIMEOUT)
    # A round trip on alice's stream: her presence was handled.
    await alice["xep_0199"].ping(jid=settings["domain"], timeout=TIMEOUT)
    aliceJID = alice.boundjid.full
    report["aliceJID"] = aliceJID

    # The network goes: no </stream:stream>, the TCP connection is killed.
    alice.abort()
    await asyncio.wait_for(aliceGone, TIMEOUT)
    bob.send_message(mto=aliceJID, mbody="while you were away", mtype="chat")
    await bob["xep_0199"].ping(jid=settings["domain"], timeout=TIMEOUT)

    alice.connect(settings["host"], settings["port"])
    await asyncio.wait_for(aliceResumed, TIMEOUT)
    report["message"] = await asyncio.wait_for(gotMessage, TIMEOUT)
    report["boundAfter"] = alice.boundjid.full
    # The resumed stream carries on both ways.
    rtt = await alice["xep_0199"].ping(jid=settings["domain"], timeout=TIMEOUT)
    report["pingedAfter"] = rtt is not None
    for client in (alice, bob):
        await client.disconnect()
    report["done"] = True




if __name__ == "__main__":
    slixbase.main(scenario)
