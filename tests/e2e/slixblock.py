"""
A slixmpp Blocking Command (XEP-0191) scenario run in a subprocess against
a running mepserver.

The independent client of the blocking test: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "accounts": {"alice": ["alice@localhost", "..."], "bob": [...],
                "carol": [...]}}

and prints one JSON object with what happened, then exits 0 if every step
completed (1 otherwise). alice finds urn:xmpp:blocking on the server,
gets her (empty) block list and blocks bob, which her client sees pushed;
bob's chat message to her comes back to him as service-unavailable; carol's
message after it reaches alice, who never got bob's (carol's arrival is
the barrier: bob's message was refused before carol sent hers). alice's
own message to bob comes back as not-acceptable with <blocked/>. Then
alice unblocks bob, and his next message reaches her.
"""

import asyncio

import slixmpp

import slixbase

TIMEOUT = slixbase.TIMEOUT


def makeClient(address, password, settings):
    return slixbase.makeClient(address, password, settings, ("xep_0030", "xep_0191"))


async def scenario(settings, report):
    clients = {}
    inbox = {"alice": [], "bob": [], "carol": []}
    arrived = {name: asyncio.Queue() for name in inbox}
    pushes = []

    for name in ("alice", "bob", "carol"):
        address, password = settings["accounts"][name]
        client = clients[name] = makeClient(address, password, settings)

        def message(msg, name=name):
            entry = {
                "from": str(msg["from"]),
                "type": msg["type"],
                "body": msg["body"],
                "condition": msg["error"]["condition"] if msg["type"] == "error" else None,
                "blocked": msg.xml.find(
                    "{jabber:client}error/{urn:xmpp:blocking:errors}blocked"
                ) is not None,
            }
            inbox[name].append(entry)
            arrived[name].put_nowait(entry)

        # slixmpp's "message" event fires only for a message with a body,
        # "message_error" for every error: an error carries the original
        # body or not (RFC 6120 8.3.1 allows both; mepserver includes it,
        # Prosody does not), so errors are taken from the second alone.
        client.add_event_handler(
            "message", lambda msg, message=message: msg["type"] != "error" and message(msg)
        )
        client.add_event_handler("message_error", message)
    for event in ("blocked", "unblocked"):
        clients["alice"].add_event_handler(event, lambda iq, event=event: pushes.append(event))

    await slixbase.logIn(clients, settings)
    alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]
    bobJID, aliceJID = settings["accounts"]["bob"][0], settings["accounts"]["alice"][0]

    async def next(name):
        return await asyncio.wait_for(arrived[name].get(), TIMEOUT)

    info = await alice["xep_0030"].get_info(jid=settings["domain"], timeout=TIMEOUT)
    report["feature"] = "urn:xmpp:blocking" in info["disco_info"]["features"]
    report["before"] = sorted(str(j) for j in await alice["xep_0191"].get_blocked_jids(timeout=TIMEOUT))
    await alice["xep_0191"].block(slixmpp.JID(bobJID), timeout=TIMEOUT)
    report["after"] = sorted(str(j) for j in await alice["xep_0191"].get_blocked_jids(timeout=TIMEOUT))

    bob.send_message(mto=aliceJID, mbody="blocked words", mtype="chat")
    report["bobBounce"] = await next("bob")
    carol.send_message(mto=aliceJID, mbody="barrier", mtype="chat")
    report["aliceGot"] = (await next("alice"))["body"]
    report["aliceInboxWhileBlocked"] = [m["body"] for m in inbox["alice"]]

    alice.send_message(mto=bobJID, mbody="can you hear me now?", mtype="chat")
    report["aliceBounce"] = await next("alice")

    await alice["xep_0191"].unblock(slixmpp.JID(bobJID), timeout=TIMEOUT)
    bob.send_message(mto=aliceJID, mbody="unblocked words", mtype="chat")
    report["aliceGotAfterUnblock"] = (await next("alice"))["body"]
    report["pushes"] = pushes
    for client in clients.values():
        client.disconnect()
    report["done"] = True




if __name__ == "__main__":
    slixbase.main(scenario)
