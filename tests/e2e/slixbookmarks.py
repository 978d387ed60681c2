"""
A slixmpp client in a subprocess that uses bookmarks in both forms, for
tests/e2e/test_bookmarks.py: legacy bookmarks (XEP-0048) in private XML
storage (XEP-0049) and PEP Native Bookmarks (XEP-0402).

It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "jid": "alice@localhost", "password": "..."}

and, logged in over STARTTLS: asks its own bare JID's disco#info; stores
two legacy bookmarks with the xep_0048 plugin; if the account announces
XEP-0402's C{#compat}, reads the native items with xep_0060, publishes a
third as a native bookmark with XEP-0402's publish-options and retracts
one; reads the legacy bookmarks again; and
tries to store a vcard-temp element in private XML. It prints one JSON
object with what it saw, then exits 0 if every step completed (1
otherwise).
"""

import slixbase
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0048.stanza import Bookmarks
from slixmpp.plugins.xep_0402.stanza import Conference
from slixmpp.xmlstream import ET

TIMEOUT = slixbase.TIMEOUT
NODE = "urn:xmpp:bookmarks:1"


async def native(client, own, report):
    """
    Read the native items, publish a third bookmark with XEP-0402's
    publish-options and retract one.
    """
    result = await client["xep_0060"].get_items(own, NODE, timeout=TIMEOUT)
    report["native"] = [
        {
            "id": item["id"],
            "name": item["conference"]["name"],
            "nick": item["conference"]["nick"],
            "autojoin": item["conference"]["autojoin"],
        }
        for item in result["pubsub"]["items"]
    ]

    conference = Conference()
    conference["name"] = "The Balcony"
    conference["nick"] = "Romeo"
    conference["autojoin"] = True
    await client["xep_0060"].publish(
        own, NODE, id="balcony@conference.localhost", payload=conference,
        options=slixbase.bookmarkOptions(), timeout=TIMEOUT,
    )
    await client["xep_0060"].retract(own, NODE, "orchard@conference.localhost", notify=True, timeout=TIMEOUT)


async def scenario(settings, report):
    client = slixbase.makeClient(
        settings["jid"],
        settings["password"],
        settings,
        ("xep_0030", "xep_0049", "xep_0048", "xep_0060", "xep_0402"),
    )
    own = settings["jid"]
    await slixbase.logIn({"alice": client}, settings, available=False)

    info = await client["xep_0030"].get_info(jid=own, timeout=TIMEOUT)
    report["features"] = sorted(info["disco_info"]["features"])

    bookmarks = Bookmarks()
    bookmarks.add_conference("play@conference.localhost", "JC", name="The Play", autojoin=True)
    bookmarks.add_conference("orchard@conference.localhost", "Juliet", name="The Orchard")
    await client["xep_0048"].set_bookmarks(bookmarks, method="xep_0049", timeout=TIMEOUT)

    if f"{NODE}#compat" in report["features"]:
        await native(client, own, report)
    else:
        # Without the feature, the two forms are separate lists (XEP-0402
        # section 5.3): only the legacy one is read back.
        report["native"] = None

    result = await client["xep_0048"].get_bookmarks(method="xep_0049", timeout=TIMEOUT)
    report["legacy"] = [
        {"jid": str(c["jid"]), "name": c["name"], "nick": c["nick"], "autojoin": c["autojoin"]}
        for c in result["private"]["bookmarks"]["conferences"]
    ]

    iq = client.make_iq_set()
    query = ET.SubElement(iq.xml, "{jabber:iq:private}query")
    ET.SubElement(query, "{vcard-temp}vCard")
    try:
        await iq.send(timeout=TIMEOUT)
        report["vcard"] = "stored"
    except IqError as e:
        report["vcard"] = e.iq["error"]["condition"]

    client.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(scenario)
