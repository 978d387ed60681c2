"""
A slixmpp external component (XEP-0114, slixmpp's ComponentXMPP) and a
slixmpp client in a subprocess, for tests/e2e/test_components.py.

It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "componentPort": 5347, "component": ["bot.localhost", "secret"],
   "alice": ["alice@localhost", "..."]}

The component connects to componentPort and shakes hands; it echoes every
chat message it gets, from the JID the message was sent to, and answers
software version queries (XEP-0092). alice logs in over STARTTLS, lists
the server's disco#items, sends a message to echo@<component> and waits
for the echo, asks the component's version; then the component pings
alice's full JID (XEP-0199), which her client answers. It prints one JSON
object and exits 0 if every step completed (1 otherwise).
"""

import asyncio

import slixbase
import slixmpp

TIMEOUT = slixbase.TIMEOUT


async def scenario(settings, report):
    loop = asyncio.get_running_loop()
    name, secret = settings["component"]
    component = slixmpp.ComponentXMPP(
        name, secret, settings["host"], settings["componentPort"]
    )
    component.register_plugin("xep_0030")
    component.register_plugin("xep_0092", {"software_name": "echo-bot", "version": "1"})
    component.register_plugin("xep_0199")
    alice = slixbase.makeClient(
        *settings["alice"], settings, ("xep_0030", "xep_0092", "xep_0199")
    )
    started = {who: loop.create_future() for who in ("component", "alice")}
    report["componentGot"] = []

    def echo(message):
        report["componentGot"].append(
            {"from": str(message["from"]), "to": str(message["to"]), "body": message["body"]}
        )
        reply = component.make_message(
            mto=message["from"],
            mfrom=message["to"],
            mbody="echo: " + message["body"],
            mtype="chat",
        )
        reply.send()

    echoed = loop.create_future()

    def aliceMessage(message):
        if message["type"] == "chat" and not echoed.done():
            echoed.set_result((str(message["from"]), message["body"]))

    async def aliceStart(_):
        alice.send_presence()
        started["alice"].set_result(True)

    component.add_event_handler("session_start", lambda _: started["component"].set_result(True))
    component.add_event_handler("message", echo)
    alice.add_event_handler("session_start", aliceStart)
    alice.add_event_handler("message", aliceMessage)
    component.connect()
    alice.connect(settings["host"], settings["port"])
    await asyncio.wait_for(asyncio.gather(*started.values()), TIMEOUT)

    items = await alice["xep_0030"].get_items(jid=settings["domain"], timeout=TIMEOUT)
    report["items"] = sorted(str(item[0]) for item in items["disco_items"]["items"])

    alice.send_message(mto=f"echo@{name}", mbody="Hello, component", mtype="chat")
    report["echoFrom"], report["echoBody"] = await asyncio.wait_for(echoed, TIMEOUT)

    version = await alice["xep_0092"].get_version(name, timeout=TIMEOUT)
    report["version"] = version["software_version"]["name"]

    pong = await component["xep_0199"].send_ping(
        alice.boundjid, ifrom=f"pinger@{name}", timeout=TIMEOUT
    )
    report["pong"] = {"type": pong["type"], "from": str(pong["from"]), "to": str(pong["to"])}
    report["aliceJid"] = str(alice.boundjid)

    alice.disconnect()
    component.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(scenario)
