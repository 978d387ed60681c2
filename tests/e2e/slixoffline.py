"""
A slixmpp client in a subprocess that logs in to an account with offline
messages waiting (XEP-0160), for tests/e2e/test_offline.py and the
reference tiers.

It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "jid": "bob@localhost", "password": "..."}

logs in over STARTTLS with SCRAM, asks the server's disco#info, sends
initial presence and waits for the first message with a body. It prints
one JSON object: the server's features and the message's from, to, type,
body and delay (the XEP-0203 element's attributes), then exits 0 if every
step completed (1 otherwise).
"""

import asyncio

import slixbase

TIMEOUT = slixbase.TIMEOUT
NS_DELAY = "urn:xmpp:delay"


async def scenario(settings, report):
    client = slixbase.makeClient(settings["jid"], settings["password"], settings, ("xep_0030",))

    gotMessage = asyncio.get_running_loop().create_future()

    async def features(name, client):
        # Before the presence that brings the stored messages.
        info = await client["xep_0030"].get_info(jid=settings["domain"], timeout=TIMEOUT)
        report["features"] = sorted(info["disco_info"]["features"])

    def message(stanza):
        if stanza["body"] and not gotMessage.done():
            delay = stanza.xml.find(f"{{{NS_DELAY}}}delay")
            gotMessage.set_result(
                {
                    "from": str(stanza["from"]),
                    "to": str(stanza["to"]),
                    "type": stanza["type"],
                    "body": stanza["body"],
                    "delay": None if delay is None else dict(delay.attrib),
                }
            )

    client.add_event_handler("message", message)
    await slixbase.logIn({"bob": client}, settings, prepare=features)
    report["message"] = await asyncio.wait_for(gotMessage, TIMEOUT)
    client.disconnect()
    report["done"] = True




if __name__ == "__main__":
    slixbase.main(scenario)
