"""
Two slixmpp clients in a subprocess that use vCards and avatars
(XEP-0054, XEP-0153, XEP-0084 with XEP-0398), for
tests/e2e/test_vcard.py and the ejabberd reference tier.

It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "accounts": {"alice": ["alice@localhost", "..."],
                "bob": ["bob@localhost", "..."]},
   "room": "vcards@conference.localhost"}

alice and bob are contacts (subscription both). Both log in over STARTTLS
with SCRAM and send initial presence; alice reads her own (empty) vCard,
then sets a vCard avatar with slixmpp's XEP-0153 plugin; bob waits for
alice's presence carrying its hash and reads her vCard. Both join the
room; bob reads the vCard of alice's occupant JID. Then alice publishes
another avatar with the XEP-0084 plugin (nodes open: with publish-options,
or configured open if they exist with another access model); bob waits for
her presence with the new hash and reads her vCard again. It prints one
JSON object and exits 0 if every step completed (1 otherwise).
"""

import asyncio
import hashlib

import slixbase
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0004 import Form

TIMEOUT = slixbase.TIMEOUT
NS_UPDATE = "vcard-temp:x:update"
NS_PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options"
NS_NODE_CONFIG = "http://jabber.org/protocol/pubsub#node_config"
NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_AVATAR_METADATA = "urn:xmpp:avatar:metadata"

#: Two small images (PNG signature and some bytes).
FIRST = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
SECOND = b"\x89PNG\r\n\x1a\n" + bytes(range(64, 160))


def photoOf(presence):
    """
    @return: the text of the presence's update element's photo, or None.
    """
    x = presence.xml.find(f"{{{NS_UPDATE}}}x")
    if x is None:
        return None
    photo = x.find(f"{{{NS_UPDATE}}}photo")
    return None if photo is None else (photo.text or "")


def openForm(formType):
    """
    @return: a submitted form of C{formType} (publish-options or node
        configuration) that sets the access model C{open}.
    """
    form = Form()
    form["type"] = "submit"
    form.add_field(var="FORM_TYPE", ftype="hidden", value=formType)
    form.add_field(var="pubsub#access_model", value="open")
    return form


async def publishOpen(client, node, publish, report):
    """
    Run C{publish} (a publish with publish-options asking for the open
    access model). A node that exists with another access model answers
    precondition-not-met (XEP-0060 section 7.1.5): ejabberd's mod_avatar
    made the avatar nodes from the vCard avatar, with its default model.
    The owner then configures the node open (section 8.2), as the section
    suggests, publishes again, and the report names the node.
    """
    try:
        await publish()
    except IqError as e:
        if e.iq.xml.find(f".//{{{NS_PUBSUB_ERRORS}}}precondition-not-met") is None:
            raise
        await client["xep_0060"].set_node_config(
            None, node, openForm(NS_NODE_CONFIG), timeout=TIMEOUT
        )
        report["reconfigured"].append(node)
        await publish()


async def scenario(settings, report):
    plugins = ("xep_0030", "xep_0045", "xep_0054", "xep_0153", "xep_0084")
    alice = slixbase.makeClient(*settings["accounts"]["alice"], settings, plugins)
    bob = slixbase.makeClient(*settings["accounts"]["bob"], settings, plugins)
    aliceBare = settings["accounts"]["alice"][0]
    loop = asyncio.get_running_loop()
    # Hashes bob is waiting to see in alice's presence, and what he saw.
    waiting = {}
    report["seen"] = []

    def presence(stanza):
        if stanza["from"].bare != aliceBare or stanza["type"] == "unavailable":
            return
        if stanza["from"].server != settings["domain"]:
            return
        photo = photoOf(stanza)
        report["seen"].append(photo)
        future = waiting.pop(photo, None)
        if future is not None and not future.done():
            future.set_result(str(stanza["from"]))

    bob.add_event_handler("presence", presence)
    await slixbase.logIn({"alice": alice, "bob": bob}, settings)

    info = await alice["xep_0030"].get_info(jid=settings["domain"], timeout=TIMEOUT)
    report["serverFeatures"] = sorted(info["disco_info"]["features"])
    info = await alice["xep_0030"].get_info(jid=aliceBare, timeout=TIMEOUT)
    report["accountFeatures"] = sorted(info["disco_info"]["features"])

    own = await alice["xep_0054"].get_vcard(aliceBare, cached=False, timeout=TIMEOUT)
    report["ownEmpty"] = len(own["vcard_temp"].xml) == 0

    # XEP-0153: a vCard avatar; bob sees its hash in alice's presence.
    firstHash = hashlib.sha1(FIRST).hexdigest()
    seenFirst = waiting[firstHash] = loop.create_future()
    await alice["xep_0153"].set_avatar(avatar=FIRST, mtype="image/png", timeout=TIMEOUT)
    report["firstFrom"] = await asyncio.wait_for(seenFirst, TIMEOUT)
    card = await bob["xep_0054"].get_vcard(aliceBare, cached=False, timeout=TIMEOUT)
    report["firstPhoto"] = hashlib.sha1(card["vcard_temp"]["PHOTO"]["BINVAL"]).hexdigest()

    # XEP-0045 17.4: the vCard of alice's occupant JID, answered from it.
    room = settings["room"]
    await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=TIMEOUT)
    await bob["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=0, timeout=TIMEOUT)
    occupant = f"{room}/Alice"
    card = await bob["xep_0054"].get_vcard(occupant, cached=False, timeout=TIMEOUT)
    report["occupantFrom"] = str(card["from"])
    report["occupantPhoto"] = hashlib.sha1(card["vcard_temp"]["PHOTO"]["BINVAL"]).hexdigest()

    # XEP-0084 with XEP-0398: a PEP avatar becomes the vCard PHOTO.
    secondHash = hashlib.sha1(SECOND).hexdigest()
    seenSecond = waiting[secondHash] = loop.create_future()
    options = openForm(NS_PUBLISH_OPTIONS)
    report["reconfigured"] = []
    await publishOpen(
        alice,
        NS_AVATAR_DATA,
        lambda: alice["xep_0084"].publish_avatar(SECOND, options=options, timeout=TIMEOUT),
        report,
    )
    await publishOpen(
        alice,
        NS_AVATAR_METADATA,
        lambda: alice["xep_0084"].publish_avatar_metadata(
            items=[{"id": secondHash, "type": "image/png", "bytes": len(SECOND)}],
            options=options,
            timeout=TIMEOUT,
        ),
        report,
    )
    report["secondFrom"] = await asyncio.wait_for(seenSecond, TIMEOUT)
    card = await bob["xep_0054"].get_vcard(aliceBare, cached=False, timeout=TIMEOUT)
    vcard = card["vcard_temp"]
    report["secondPhoto"] = hashlib.sha1(vcard["PHOTO"]["BINVAL"]).hexdigest()
    report["secondType"] = vcard["PHOTO"]["TYPE"]
    report["hashes"] = {"first": firstHash, "second": secondHash}

    for client in (alice, bob):
        client.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(scenario)
