"""
A slixmpp Message Archive Management (XEP-0313) scenario run in a
subprocess, with slixmpp's own plugins xep_0313 (queries, metadata) and
xep_0441 (preferences), for tests/e2e/test_mam.py and the Prosody and
ejabberd reference tiers.

Like L{slixclient}, this is an independent client: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "accounts": {"alice": ["alice@localhost", "secret"],
                "bob": ["bob@localhost", "secret"]}}

alice/laptop and bob/phone log in; alice sends bob's bare JID five chats,
which bob receives live (with the XEP-0359 stanza-id of his archive). Then
bob reads his archive: the features of his bare JID, his preferences, the
archive's metadata (if it advertises C{#extended}), every page of two messages forwards (RSM C{<after/>}
the last UID of the page before), every page backwards from the last page
(an empty RSM C{<before/>}, then C{<before/>} the first UID of the page
after), and a page after a UID the archive does not hold; alice reads her
own archive of messages with bob.

It prints one JSON object of what came back, then exits 0 if every step
completed (1 otherwise). It judges nothing: L{tests.e2e.slixchecks}
checks the report.
"""

import asyncio

import slixbase
from slixbase import NS_CLIENT, NS_MAM
from slixmpp.exceptions import IqError

STEP, TOTAL = slixbase.STEP, slixbase.TOTAL
NS_SID = "urn:xmpp:sid:0"
LINES = 5
PAGE = 2


def makeClient(address, password, settings):
    return slixbase.makeClient(
        address,
        password,
        settings,
        ("xep_0030", "xep_0059", "xep_0199", "xep_0297", "xep_0313", "xep_0441"),
    )


def describePage(iq):
    """
    @return: a query's answer as data: the forwarded messages' bodies and
        result UIDs, in the order received, and the fin's attributes and
        RSM set.
    """
    results, complete = slixbase.archivePage(iq)
    rsm = iq["mam_fin"]["rsm"]
    return {
        "bodies": [message.find(f"{{{NS_CLIENT}}}body").text for _, _, message in results],
        "ids": [uid for _, uid, _ in results],
        "complete": complete,
        "first": rsm["first"] or None,
        "last": rsm["last"] or None,
        "count": rsm["count"] or None,
    }


async def scenario(settings, report):
    aliceJID, alicePassword = settings["accounts"]["alice"]
    bobJID, bobPassword = settings["accounts"]["bob"]
    alice = makeClient(aliceJID + "/laptop", alicePassword, settings)
    bob = makeClient(bobJID + "/phone", bobPassword, settings)
    clients = {"alice": alice, "bob": bob}
    inbox = asyncio.Queue()
    bob.add_event_handler("message", lambda m: m["body"] and inbox.put_nowait(m))
    await slixbase.logIn(clients, settings, timeout=STEP * 2)

    for n in range(1, LINES + 1):
        alice.send_message(mto=bobJID, mbody=f"line {n}", mtype="chat")
    live = []
    for _ in range(LINES):
        message = await asyncio.wait_for(inbox.get(), STEP)
        ids = [
            e.get("id")
            for e in message.xml.findall(f"{{{NS_SID}}}stanza-id")
            if e.get("by") == bobJID
        ]
        live.append({"body": message["body"], "stanzaIds": ids})
    report["live"] = live

    info = await bob["xep_0030"].get_info(jid=bobJID, timeout=STEP)
    report["features"] = sorted(info["disco_info"]["features"])
    default, always, never = await bob["xep_0441"].get_preferences(timeout=STEP)
    report["prefs"] = [default, [str(j) for j in always], [str(j) for j in never]]
    if f"{NS_MAM}#extended" in report["features"]:
        metadata = await bob["xep_0313"].get_archive_metadata(timeout=STEP)
        report["metadata"] = {
            name: metadata.xml.find(f"{{{NS_MAM}}}metadata/{{{NS_MAM}}}{name}").get("id")
            for name in ("start", "end")
        }
    else:
        # Section 5: only an archive that advertises #extended answers
        # metadata queries.
        report["metadata"] = None

    # Forwards, page by page, each after the last UID of the one before.
    forward = []
    rsm = {"max": PAGE}
    for _ in range(LINES + 2):
        page = describePage(await bob["xep_0313"].retrieve(rsm=rsm, timeout=STEP))
        forward.append(page)
        if page["complete"] == "true" or not page["ids"]:
            break
        rsm = {"max": PAGE, "after": page["last"]}
    report["forward"] = forward

    # Backwards: the last page (an empty <before/>, as the plugin's
    # reverse iterator asks it), then each page before the first UID of
    # the one after.
    pages = bob["xep_0313"].retrieve(iterator=True, reverse=True, rsm={"max": PAGE})
    backward = [describePage(await pages.next())]
    for _ in range(LINES + 2):
        if backward[-1]["complete"] == "true" or not backward[-1]["ids"]:
            break
        rsm = {"max": PAGE, "before": backward[-1]["first"]}
        backward.append(describePage(await bob["xep_0313"].retrieve(rsm=rsm, timeout=STEP)))
    report["backward"] = backward

    try:
        page = await bob["xep_0313"].retrieve(rsm={"max": PAGE, "after": "no-such-uid"}, timeout=STEP)
        report["unknownAfter"] = "result"
        report["unknownAfterPage"] = describePage(page)
    except IqError as e:
        report["unknownAfter"] = e.iq["error"]["condition"]

    sent = await alice["xep_0313"].retrieve(with_jid=bobJID, rsm={"max": 10}, timeout=STEP)
    report["aliceSent"] = describePage(sent)["bodies"]

    for client in clients.values():
        client.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(scenario, TOTAL)
