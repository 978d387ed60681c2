"""
A slixmpp account removal (XEP-0077 section 3.2) scenario run in a
subprocess against a running server: mepserver (test_c2s.py), Prosody
(test_prosody.py) or ejabberd (test_ejabberd.py), judged by the same check
(slixchecks.py).

The independent client of the removal test: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "newUser": "alice", "newPassword": "...",
   "peer": "bob@localhost", "peerPassword": "..."}

and prints one JSON object with what happened, then exits 0 if every step
completed (1 otherwise). alice registers in-band; she and bob subscribe to
each other (slixmpp approves and subscribes back by itself); she publishes
a tune to her PEP service (XEP-0118), stores private XML (XEP-0049) and
blocks carol (XEP-0191). Then she cancels her registration: bob, online,
receives what her server says of it; and alice registers again with the
same name and password, and looks at her roster, her PEP nodes, her
private XML and her block list.
"""

import asyncio
import xml.etree.ElementTree as ET

import slixbase
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

TIMEOUT = slixbase.TIMEOUT

NS_NOTES = "urn:example:notes"
PLUGINS = ("xep_0030", "xep_0049", "xep_0060", "xep_0077", "xep_0118", "xep_0163", "xep_0191")


def makeClient(address, password, settings):
    return slixbase.makeClient(address, password, settings, PLUGINS)


async def login(client, settings, register=False):
    """
    Connect (registering in-band first if C{register}), get the roster and
    send presence.

    @return: the roster's items as the server sent them.
    """
    if register:
        slixbase.registerFirst(client)
    rosters = await slixbase.logIn({"client": client}, settings)
    return sorted(str(jid) for jid in rosters["client"]["roster"]["items"])


def pepNodes(items):
    """
    @return: the sorted PEP nodes of a disco#items result of an account:
        the items with a node (ejabberd lists the account's available
        resources there too, without one).
    """
    return sorted(node for _, node, _ in items["disco_items"]["items"] if node is not None)


def privateQuery(child=""):
    return ET.fromstring(
        f"<query xmlns='jabber:iq:private'><notes xmlns='{NS_NOTES}'>{child}</notes></query>"
    )


async def fill(alice, bob, settings, report):
    """
    alice and bob subscribe to each other; alice publishes, stores and
    blocks.
    """
    loop = asyncio.get_running_loop()
    aliceBare = alice.boundjid.bare
    aliceSubscribed, bobSubscribed = loop.create_future(), loop.create_future()

    def subscribed(presence, future):
        if not future.done():
            future.set_result(str(presence["from"].bare))

    alice.add_event_handler("presence_subscribed", lambda p: subscribed(p, aliceSubscribed))
    bob.add_event_handler("presence_subscribed", lambda p: subscribed(p, bobSubscribed))
    alice.send_presence(pto=settings["peer"], ptype="subscribe")
    await asyncio.wait_for(asyncio.gather(aliceSubscribed, bobSubscribed), TIMEOUT)
    report["bobBefore"] = bob.client_roster[aliceBare]["subscription"]

    await alice.plugin["xep_0118"].publish_tune(artist="The Beatles", title="Yesterday")
    items = await alice.plugin["xep_0030"].get_items(jid=aliceBare, timeout=TIMEOUT)
    report["nodesBefore"] = pepNodes(items)
    iq = alice.make_iq_set()
    iq.append(privateQuery("secret"))
    await iq.send(timeout=TIMEOUT)
    await alice.plugin["xep_0191"].block([f"carol@{settings['domain']}"], timeout=TIMEOUT)


async def cancel(alice, bob, report):
    """
    alice cancels her registration; bob hears of it.
    """
    loop = asyncio.get_running_loop()
    aliceBare = alice.boundjid.bare
    told = {kind: loop.create_future() for kind in ("unsubscribe", "unsubscribed")}
    gone = loop.create_future()

    def heard(presence, kind):
        if presence["from"].bare == aliceBare and not told[kind].done():
            told[kind].set_result(str(presence["from"]))

    bob.add_event_handler("presence_unsubscribe", lambda p: heard(p, "unsubscribe"))
    bob.add_event_handler("presence_unsubscribed", lambda p: heard(p, "unsubscribed"))
    alice.add_event_handler(
        "disconnected", lambda _: gone.done() or gone.set_result(True)
    )
    iq = alice.Iq()
    iq["type"] = "set"
    iq["register"]["remove"] = True
    # The answer is taken by its id alone, from whichever sender: slixmpp
    # matches answers to requests without 'to' only from the bare JID or
    # the domain (RFC 6120 section 8.1.2.1), and ejabberd answers from
    # the full JID; the report says which.
    answered = loop.create_future()
    alice.register_handler(
        Callback(
            "removal answer",
            MatchXPath("{jabber:client}iq"),
            lambda answer: answer["id"] == iq["id"]
            and not answered.done()
            and answered.set_result(answer),
        )
    )
    alice.send(iq)
    result = await asyncio.wait_for(answered, TIMEOUT)
    report["cancelled"] = result["type"]
    report["cancelledFrom"] = str(result["from"])
    await asyncio.wait_for(gone, TIMEOUT)
    report["bobTold"] = {
        kind: await asyncio.wait_for(future, TIMEOUT) for kind, future in told.items()
    }


async def lookAround(again, report):
    """
    The new alice's roster was read at login; now her PEP nodes, private
    XML and block list.
    """
    aliceBare = again.boundjid.bare
    items = await again.plugin["xep_0030"].get_items(jid=aliceBare, timeout=TIMEOUT)
    report["nodesAfter"] = pepNodes(items)
    iq = again.make_iq_get()
    iq.append(privateQuery())
    result = await iq.send(timeout=TIMEOUT)
    notes = result.xml.find(f"{{jabber:iq:private}}query/{{{NS_NOTES}}}notes")
    report["privateAfter"] = "" if notes is None else (notes.text or "") + "".join(
        ET.tostring(child, encoding="unicode") for child in notes
    )
    blocked = await again.plugin["xep_0191"].get_blocked_jids(timeout=TIMEOUT)
    report["blockedAfter"] = sorted(str(jid) for jid in blocked)


async def scenario(settings, report):
    domain = settings["domain"]
    aliceJID = f"{settings['newUser']}@{domain}"
    alice = makeClient(aliceJID, settings["newPassword"], settings)
    bob = makeClient(settings["peer"], settings["peerPassword"], settings)
    report["step"] = "login"
    report["rosterBefore"] = await login(alice, settings, register=True)
    await login(bob, settings)
    report["step"] = "fill"
    await fill(alice, bob, settings, report)
    report["step"] = "cancel"
    await cancel(alice, bob, report)
    # bob's roster item for alice stays, with the subscription the
    # server's pushes left (RFC 6121 section 3.2.3 and 3.3.3).
    report["bobAfter"] = bob.client_roster[aliceJID]["subscription"]
    report["step"] = "again"
    again = makeClient(aliceJID, settings["newPassword"], settings)
    report["rosterAfter"] = await login(again, settings, register=True)
    await lookAround(again, report)
    for client in (again, bob):
        client.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(scenario)
