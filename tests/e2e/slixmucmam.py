"""
A slixmpp scenario of a room's message archive (XEP-0313 section 7.1.2)
and message moderation (XEP-0425), run in a subprocess with slixmpp's own
plugins xep_0045, xep_0313 and xep_0425, for tests/e2e/test_muc_archive.py
and the Prosody and ejabberd reference tiers.

Like L{slixclient}, this is an independent client: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...",
   "domain": "localhost", "mucDomain": "conference.localhost",
   "accounts": {"alice": [...], "bob": [...], "carol": [...]},
   "moderation": "1"}

alice creates chronicle@<mucDomain> and makes it persistent with the
server's own configuration form, changing nothing else; bob enters and
sends three groupchat messages, which alice receives live; carol enters
late, asking for no history, and loads the room's history from its
archive with xep_0313 at the room JID; alice queries it too (a
moderator). Then, unless C{moderation} is null, bob tries to moderate a
message (a participant), and alice retracts bob's third message: with
slixmpp's xep_0425 (C{"1"}, XEP-0425 version 0.3) or, for servers that
know only version 0.2 (C{"0"}), the raw C{<apply-to/>} request; carol
records the moderation message and reads the archive again.

It prints one JSON object of what came back, then exits 0 if every step
completed (1 otherwise). It judges nothing: L{tests.e2e.slixchecks}
checks the report.
"""

import asyncio
import xml.etree.ElementTree as ET

import slixbase
from slixbase import NS_CLIENT
from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

STEP, TOTAL = slixbase.STEP, slixbase.TOTAL
NS_SID = "urn:xmpp:sid:0"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_RETRACT_0 = "urn:xmpp:message-retract:0"
NS_FASTEN = "urn:xmpp:fasten:0"
LINES = ["When shall we three meet again", "In thunder, lightning, or in rain?", "Free potions, DM me"]


def makeClient(address, password, settings):
    return slixbase.makeClient(
        address,
        password,
        settings,
        ("xep_0030", "xep_0045", "xep_0059", "xep_0297", "xep_0313", "xep_0359", "xep_0425"),
    )


def describeMessage(xml):
    """
    @return: the facts of a room message, live or forwarded: from, whether
        it has a 'to', body, the stanza-ids by the room, real JIDs in
        muc#user items, and what it retracts or is a tombstone of.
    """
    body = xml.find(f"{{{NS_CLIENT}}}body")
    retract = xml.find(f"{{{NS_RETRACT}}}retract")
    applyTo = xml.find(f"{{{NS_FASTEN}}}apply-to")
    retracted = [
        e.tag
        for e in xml.iter()
        if e.tag in (f"{{{NS_RETRACT}}}retracted", f"{{{NS_RETRACT_0}}}retracted")
    ]
    return {
        "from": xml.get("from"),
        "hasTo": xml.get("to") is not None,
        "body": None if body is None else body.text,
        "stanzaIds": [e.get("id") for e in xml.findall(f"{{{NS_SID}}}stanza-id")],
        "realJIDs": [e.get("jid") for e in xml.findall(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}item")],
        "retracts": None if retract is None else retract.get("id"),
        "appliesTo": None if applyTo is None else applyTo.get("id"),
        "tombstone": retracted,
    }


async def readArchive(client, room):
    """
    @return: every result of one query of the room's archive: its UID and
        the forwarded message's facts.
    """
    iq = await client.plugin["xep_0313"].retrieve(jid=room, rsm={"max": 20}, timeout=STEP)
    page, complete = slixbase.archivePage(iq)
    results = []
    for result, uid, message in page:
        facts = describeMessage(message)
        facts["id"] = uid
        facts["resultFrom"] = str(result["from"])
        results.append(facts)
    return {"results": results, "complete": complete}


async def scenario(settings, report):
    loop = asyncio.get_running_loop()
    room = JID(f"chronicle@{settings['mucDomain']}")
    clients = {}
    for name in ("alice", "bob", "carol"):
        address, password = settings["accounts"][name]
        clients[name] = makeClient(address + "/desk", password, settings)
    alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]
    await slixbase.logIn(clients, settings, timeout=STEP * 2)

    roomMessages = {name: asyncio.Queue() for name in clients}
    for name, client in clients.items():
        # Every groupchat message, with a body or not: slixmpp's message
        # events are for those with a body only.
        client.register_handler(
            Callback(
                "every message",
                MatchXPath(f"{{{NS_CLIENT}}}message"),
                lambda m, name=name: m["type"] == "groupchat" and roomMessages[name].put_nowait(m),
            )
        )

    # alice creates the room (its self-presence, whatever else a locked
    # room sends), then makes it persistent with the server's own form.
    report["step"] = "create"
    selfPresence = loop.create_future()
    alice.add_event_handler(
        "muc::%s::self-presence" % room.bare,
        lambda p: selfPresence.done() or selfPresence.set_result(p),
    )
    alice.plugin["xep_0045"].join_muc(room, "Alice")
    await asyncio.wait_for(selfPresence, STEP)
    form = await alice.plugin["xep_0045"].get_room_config(room, timeout=STEP)
    report["archivingField"] = [
        v.text
        for v in form.xml.findall("{jabber:x:data}field[@var='muc#roomconfig_enablearchiving']/{jabber:x:data}value")
    ]
    form.set_values({"muc#roomconfig_persistentroom": True})
    await alice.plugin["xep_0045"].set_room_config(room, form, timeout=STEP)
    info = await carol.plugin["xep_0030"].get_info(jid=room, timeout=STEP)
    report["features"] = sorted(info["disco_info"]["features"])

    report["step"] = "talk"
    await bob.plugin["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=0, timeout=STEP)
    live = []
    for line in LINES:
        bob.send_message(mto=room, mbody=line, mtype="groupchat")
        while True:
            message = await asyncio.wait_for(roomMessages["alice"].get(), STEP)
            if message["body"] == line:
                break
        facts = describeMessage(message.xml)
        facts["stanzaIds"] = [
            e.get("id") for e in message.xml.findall(f"{{{NS_SID}}}stanza-id") if e.get("by") == room.bare
        ]
        live.append(facts)
    report["live"] = live

    report["step"] = "late joiner"
    await carol.plugin["xep_0045"].join_muc_wait(room, "Carol", maxstanzas=0, timeout=STEP)
    report["carolArchive"] = await readArchive(carol, room)
    report["aliceArchive"] = await readArchive(alice, room)

    moderation = settings.get("moderation")

    async def moderate(client, target, reason):
        if moderation == "1":
            await client.plugin["xep_0425"].moderate(room, target, reason, timeout=STEP)
            return
        iq = client.make_iq_set(ito=room)
        iq.xml.append(
            ET.fromstring(
                f"<apply-to xmlns='{NS_FASTEN}' id='{target}'>"
                "<moderate xmlns='urn:xmpp:message-moderate:0'>"
                f"<retract xmlns='{NS_RETRACT_0}'/><reason>{reason}</reason>"
                "</moderate></apply-to>"
            )
        )
        await iq.send(timeout=STEP)

    if moderation is not None:
        report["step"] = "moderation"
        try:
            await moderate(bob, live[0]["stanzaIds"][0], "no")
            report["bobModerates"] = "result"
        except IqError as e:
            report["bobModerates"] = e.iq["error"]["condition"]
        report["step"] = "alice moderates"
        await moderate(alice, live[2]["stanzaIds"][0], "Spam")
        report["step"] = "carol gets the moderation message"
        while True:
            message = await asyncio.wait_for(roomMessages["carol"].get(), STEP)
            facts = describeMessage(message.xml)
            if facts["retracts"] or facts["appliesTo"]:
                break
        report["moderationMessage"] = facts
        report["archiveAfter"] = await readArchive(carol, room)

    for client in clients.values():
        client.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(scenario, TOTAL)
