"""
A slixmpp scenario for roster versioning and subscription pre-approval
(RFC 6121 sections 2.6 and 3.4), run in a subprocess against a running
server: mepserver, or a reference server (Prosody, ejabberd).

Nothing here comes from mepserver: slixmpp decides on its own, from the
stream features, whether to send C{ver} and what to cache. It takes one
JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "accounts": {"alice": ["alice@localhost", "..."],
                "bob": ["bob@localhost", "..."]},
   "carol": "carol@localhost", "approvalBarrier": false}

and prints one JSON object with what happened, then exits 0 if every step
completed (1 otherwise). The steps: alice logs in without a cached roster,
adds carol and pre-approves bob, and logs out with the version of the last
push; she logs in again with that version; bob, while alice is offline,
asks for her presence; alice logs in a third time with the same, now old,
version. With C{approvalBarrier}, the third step does not wait for the
approval but takes a ping's round trip as the barrier after which it is
not coming (see below). On a server that does not offer pre-approvals
(ejabberd 23.01), alice pre-approves nothing (section 3.4: a client MUST
NOT), so her cached version is that of the push that added carol.
"""

import asyncio
import xml.etree.ElementTree as ET

import slixmpp

import slixbase

TIMEOUT = slixbase.TIMEOUT
NS_ROSTER = "{jabber:iq:roster}query"


def makeClient(address, password, settings, version=None):
    """
    A client that records the C{ver} of each roster get it sends, and
    whether each answer had a query and which version, before slixmpp's
    handlers see it (they add an empty query to any result they read).
    """
    client = slixbase.makeClient(address, password, settings)
    if version is not None:
        # What a client with a roster cache stored at its last logout.
        client.client_roster.version = version
    client.rosterGets = {}
    client.rosterResults = []

    def sent(stanza):
        if isinstance(stanza, slixmpp.Iq) and stanza["type"] == "get":
            query = stanza.xml.find(NS_ROSTER)
            if query is not None:
                client.rosterGets[stanza["id"]] = query.get("ver")
        return stanza

    def received(stanza):
        if isinstance(stanza, slixmpp.Iq) and stanza["id"] in client.rosterGets:
            query = stanza.xml.find(NS_ROSTER)
            client.rosterResults.append(
                {
                    "sentVer": client.rosterGets[stanza["id"]],
                    "query": query is not None,
                    "ver": None if query is None else query.get("ver"),
                    "items": 0 if query is None else len(query),
                }
            )
        return stanza

    client.add_filter("out", sent)
    client.add_filter("in", received)
    return client


async def login(client, settings):
    """
    Connect, get the roster with slixmpp's own request (it sends its
    cached version if the server offers versioning) and send initial
    presence.

    @return: the stream features seen and the roster get's exchange.
    """
    await slixbase.logIn({"client": client}, settings)
    [exchange] = client.rosterResults
    exchange["features"] = sorted(
        f for f in ("rosterver", "preapproval") if f in client.features
    )
    return exchange


async def logout(client):
    disconnected = asyncio.get_running_loop().create_future()
    client.add_event_handler(
        "disconnected",
        lambda _: disconnected.done() or disconnected.set_result(True),
    )
    client.disconnect()
    await asyncio.wait_for(disconnected, TIMEOUT)


def item(client, contact):
    entry = client.client_roster[contact]
    return {
        "subscription": entry["subscription"],
        "name": entry["name"],
    }


async def scenario(settings, report):
    (alice, alicePassword), (bob, bobPassword) = (
        settings["accounts"]["alice"],
        settings["accounts"]["bob"],
    )
    carol = settings["carol"]
    loop = asyncio.get_running_loop()

    # 1. No cache: slixmpp sends ver='' and caches the whole roster.
    first = makeClient(alice, alicePassword, settings)
    report["first"] = await login(first, settings)
    pushes = asyncio.Queue()
    first.add_event_handler(
        "roster_update",
        lambda iq: pushes.put_nowait(iq) if iq["type"] == "set" else None,
    )
    await first.client_roster.update(carol, name="Carol", timeout=TIMEOUT)
    pushed = await asyncio.wait_for(pushes.get(), TIMEOUT)
    report["addPushVer"] = pushed["roster"]["ver"]
    if "preapproval" in report["first"]["features"]:
        # Pre-approve bob's request (section 3.4): a push shows approved='true'.
        first.send_presence(pto=bob, ptype="subscribed")
        pushed = await asyncio.wait_for(pushes.get(), TIMEOUT)
        report["preApprovalPush"] = {
            "ver": pushed["roster"]["ver"],
            "approved": pushed["roster"]["items"][slixmpp.JID(bob)]["approved"],
        }
    else:
        # A client MUST NOT pre-approve on a server that does not offer it
        # (section 3.4).
        report["preApprovalPush"] = None
    cached = first.client_roster.version
    report["cached"] = cached
    await logout(first)

    # 2. The cached version is current: an empty result.
    second = makeClient(alice, alicePassword, settings, version=cached)
    report["second"] = await login(second, settings)
    await logout(second)

    # 3. bob asks while alice is offline; her server approves for her.
    approved = loop.create_future()
    peer = makeClient(bob, bobPassword, settings)
    peer.add_event_handler(
        "presence_subscribed",
        lambda p: approved.done() or approved.set_result(str(p["from"])),
    )
    await login(peer, settings)
    peer.send_presence(pto=alice, ptype="subscribe")
    if settings.get("approvalBarrier"):
        # For a server that handles a stream's stanzas in order, each to
        # the end, such as Prosody: once a ping sent after the request is
        # answered, an approval not yet received is not coming (None).
        ping = peer.make_iq_get(ito=settings["domain"])
        ping.xml.append(ET.Element("{urn:xmpp:ping}ping"))
        await ping.send(timeout=TIMEOUT)
        report["bobApprovedBy"] = approved.result() if approved.done() else None
    else:
        report["bobApprovedBy"] = await asyncio.wait_for(approved, TIMEOUT)
    await logout(peer)

    # 4. The same cached version is now old: the whole roster.
    third = makeClient(alice, alicePassword, settings, version=cached)
    report["third"] = await login(third, settings)
    report["thirdVer"] = third.client_roster.version
    report["thirdItems"] = {c: item(third, c) for c in (bob, carol)}
    await logout(third)
    report["done"] = True




if __name__ == "__main__":
    slixbase.main(scenario)
