"""
A slixmpp Message Carbons (XEP-0280) scenario run in a subprocess against a
running mepserver, with slixmpp's own plugin, xep_0280.

Like L{slixclient}, this is an independent client: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "accounts": {"romeo": ["romeo@localhost", "secret"],
                "juliet": ["juliet@localhost", "secret"]}}

Three sessions log in: romeo/garden and romeo/home, which both enable
carbons with the plugin, and juliet/balcony. Then:

  1. juliet sends a chat to romeo/garden: garden receives it, home gets a
     received carbon (the plugin's carbon_received event);
  2. garden sends a chat to juliet: juliet receives it, home gets a sent
     carbon (carbon_sent).

It prints one JSON object with what each session received (the carbons'
outer 'from' and the forwarded message's addressing and body), then exits
0 if every step completed (1 otherwise). It judges nothing: the trial test
(test_c2s.py) checks the report.
"""

import asyncio

import slixbase

STEP, TOTAL = slixbase.STEP, slixbase.TOTAL


def makeClient(address, password, settings):
    return slixbase.makeClient(
        address, password, settings, ("xep_0030", "xep_0199", "xep_0280")
    )


def describe(message):
    """
    @return: the addressing and body of a message, as data.
    """
    return {
        "from": str(message["from"]),
        "to": str(message["to"]),
        "type": message["type"],
        "body": message["body"],
    }


async def scenario(settings, report):
    romeo, romeoPassword = settings["accounts"]["romeo"]
    juliet, julietPassword = settings["accounts"]["juliet"]
    garden = makeClient(romeo + "/garden", romeoPassword, settings)
    home = makeClient(romeo + "/home", romeoPassword, settings)
    balcony = makeClient(juliet + "/balcony", julietPassword, settings)
    clients = {"garden": garden, "home": home, "balcony": balcony}
    inbox = {name: asyncio.Queue() for name in clients}
    report["enabled"] = {}

    async def enable(name, client):
        if name != "balcony":
            result = await client.plugin["xep_0280"].enable(timeout=STEP)
            report["enabled"][name] = result["type"]

    def recorder(name, kind):
        def record(message):
            inbox[name].put_nowait((kind, message))

        return record

    for name, client in clients.items():
        client.add_event_handler("carbon_received", recorder(name, "received"))
        client.add_event_handler("carbon_sent", recorder(name, "sent"))
        client.add_event_handler(
            "message",
            lambda m, name=name: m["body"] and inbox[name].put_nowait(("message", m)),
        )
    await slixbase.logIn(clients, settings, prepare=enable, timeout=STEP * 2)

    async def nextStanza(name):
        kind, message = await asyncio.wait_for(inbox[name].get(), STEP)
        entry = {"kind": kind, "outer": describe(message)}
        if kind == "received":
            entry["forwarded"] = describe(message["carbon_received"])
        elif kind == "sent":
            entry["forwarded"] = describe(message["carbon_sent"])
        return entry

    balcony.send_message(mto=garden.boundjid.full, mbody="What man art thou?", mtype="chat")
    report["gardenGot"] = await nextStanza("garden")
    report["homeGotReceived"] = await nextStanza("home")

    garden.send_message(mto=balcony.boundjid.full, mbody="Neither, fair saint.", mtype="chat")
    report["balconyGot"] = await nextStanza("balcony")
    report["homeGotSent"] = await nextStanza("home")

    # A ping round trip on each stream is the barrier after which nothing
    # more may have arrived (the server handles a stream's stanzas in order).
    for name in clients:
        await clients[name].plugin["xep_0199"].ping(jid=settings["domain"], timeout=STEP)
    report["extra"] = {
        name: [describe(m) | {"kind": k} for k, m in _drain(inbox[name])]
        for name in clients
    }
    for client in clients.values():
        client.disconnect()
    report["done"] = True


def _drain(queue):
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items




if __name__ == "__main__":
    slixbase.main(scenario, TOTAL)
