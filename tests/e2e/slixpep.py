"""
A slixmpp Personal Eventing (XEP-0163) scenario run in a subprocess against
a running server (mepserver, or ejabberd in the reference tier), with
slixmpp's own PEP plugins: XEP-0118 (user tune), XEP-0084 (user avatar)
and XEP-0402 (PEP native bookmarks).

Like L{slixclient}, this is an independent client: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "accounts": {"juliet": ["juliet@localhost", "secret"], "romeo": [...],
                "nurse": [...]}}

juliet, romeo and the nurse are mutual contacts (subscription 'both',
set up by the test). Four sessions log in: juliet/balcony (the publisher),
juliet/chamber, romeo/orchard, each registering slixmpp's tune, avatar
and bookmarks plugins, so that their caps carry the +notify features of
the tune and avatar metadata nodes and (added by hand) of
urn:xmpp:bookmarks:1; and nurse/chamber, whose caps carry none. Then:

  1. balcony publishes a tune (publish_tune);
  2. balcony publishes an avatar: the data, then the metadata;
  3. balcony publishes a bookmark with XEP-0402's publish-options
     (persist, max_items=max, send_last_published_item=never,
     access_model=whitelist), or records the error if the server
     refuses them;
  4. romeo fetches the avatar data by id, and asks for the bookmarks;
  5. a second romeo session (romeo/hall) logs in with the same caps after
     the publications, to receive the last items.

It prints one JSON object with the pubsub events every session received
(node, item id, sender, delay stamp present) and the answers, then exits
0 if every step completed (1 otherwise). It judges nothing:
L{tests.e2e.slixchecks.checkPEPReport} checks the report.
"""

import asyncio
import hashlib

from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0402.stanza import Conference

import slixbase

STEP, TOTAL = slixbase.STEP, slixbase.TOTAL

NS_TUNE = "http://jabber.org/protocol/tune"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_AVATAR_METADATA = "urn:xmpp:avatar:metadata"
NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
NS_DELAY = "urn:xmpp:delay"

#: A 1x1 PNG.
AVATAR = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

PLUGINS = ("xep_0030", "xep_0004", "xep_0060", "xep_0115", "xep_0163", "xep_0199")
PEP_PLUGINS = ("xep_0118", "xep_0084", "xep_0402")


class Session:
    """
    One slixmpp client and the pubsub events it received.
    """

    def __init__(self, name, address, password, settings, interested):
        self.name = name
        self.client = client = slixbase.makeClient(
            address, password, settings, PLUGINS + (PEP_PLUGINS if interested else ())
        )
        self.interested = interested
        self.events = []
        self.ready = asyncio.get_running_loop().create_future()
        self._waiting = []
        client.add_event_handler("session_start", self._start)
        client.add_event_handler("pubsub_publish", self._event)
        client.add_event_handler("pubsub_retract", self._event)

    async def _start(self, _):
        try:
            await self.client.get_roster()
            if self.interested:
                self.client["xep_0163"].add_interest(NS_BOOKMARKS)
            # The caps in the first presence must already carry the
            # interests the plugins registered at bind time.
            await self.client["xep_0115"].update_caps(broadcast=False)
            self.client.send_presence()
            # Two round trips: the server has then processed the presence
            # and the answer to its caps query.
            for _ in range(2):
                await self.client["xep_0199"].ping(jid=self.client.boundjid.domain, timeout=STEP)
            self.ready.set_result(True)
        except BaseException as e:
            if not self.ready.done():
                self.ready.set_exception(e)

    def _event(self, message):
        items = message["pubsub_event"]["items"]
        item = next(iter(items), None)
        self.events.append(
            {
                "from": str(message["from"]),
                "type": message["type"],
                "id": message["id"],
                "node": items["node"],
                "item": item["id"] if item is not None else None,
                "payload": item.xml[0].tag if item is not None and len(item.xml) else None,
                "delay": message.xml.find("{%s}delay" % NS_DELAY) is not None,
            }
        )
        for node, future in list(self._waiting):
            if node == items["node"] and not future.done():
                future.set_result(True)

    async def waitFor(self, node):
        """
        Wait until an event of C{node} is among C{events}.
        """
        if any(event["node"] == node for event in self.events):
            return
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((node, future))
        await asyncio.wait_for(future, STEP)

    async def sync(self):
        """
        A round trip: every event the server sent before is in.
        """
        await self.client["xep_0199"].ping(jid=self.client.boundjid.domain, timeout=STEP)

    def connect(self, settings):
        self.client.connect(settings["host"], settings["port"])


async def run(settings, report):
    accounts = settings["accounts"]
    sessions = {}
    for name, account, resource, interested in (
        ("balcony", "juliet", "balcony", True),
        ("chamber", "juliet", "chamber", True),
        ("romeo", "romeo", "orchard", True),
        ("nurse", "nurse", "chamber", False),
    ):
        address, password = accounts[account]
        sessions[name] = Session(name, f"{address}/{resource}", password, settings, interested)
    report["step"] = "login"
    for session in sessions.values():
        session.connect(settings)
    await asyncio.wait_for(asyncio.gather(*(s.ready for s in sessions.values())), STEP)
    balcony, romeo = sessions["balcony"].client, sessions["romeo"].client

    report["step"] = "tune"
    await balcony["xep_0118"].publish_tune(
        artist="Gerald Finzi", title="Introduction (Allegro vigoroso)", length=255, timeout=STEP
    )
    for name in ("romeo", "chamber", "balcony"):
        await sessions[name].waitFor(NS_TUNE)

    report["step"] = "avatar"
    avatarId = hashlib.sha1(AVATAR).hexdigest()
    await balcony["xep_0084"].publish_avatar(AVATAR, timeout=STEP)
    await balcony["xep_0084"].publish_avatar_metadata(
        {"id": avatarId, "type": "image/png", "bytes": len(AVATAR)}, timeout=STEP
    )
    for name in ("romeo", "chamber"):
        await sessions[name].waitFor(NS_AVATAR_METADATA)
    report["avatarId"] = avatarId

    report["step"] = "bookmarks"
    conference = Conference()
    conference["name"] = "The Coven"
    conference["autojoin"] = True
    conference["nick"] = "Juliet"
    try:
        await balcony["xep_0060"].publish(
            None, NS_BOOKMARKS, id="coven@chat.shakespeare.lit", payload=conference,
            options=slixbase.bookmarkOptions(), timeout=STEP,
        )
        report["bookmarkPublished"] = "result"
    except IqError as e:
        # ejabberd 23.01 refuses XEP-0402's publish-options: as data.
        report["bookmarkPublished"] = e.iq["error"]["condition"]
    else:
        await sessions["chamber"].waitFor(NS_BOOKMARKS)

    report["step"] = "retrieval"
    juliet = sessions["balcony"].client.boundjid.bare
    data = await romeo["xep_0084"].retrieve_avatar(juliet, avatarId, timeout=STEP)
    value = data["pubsub"]["items"]["item"]["avatar_data"]["value"]
    report["avatarDataMatches"] = value == AVATAR
    try:
        await romeo["xep_0060"].get_items(juliet, NS_BOOKMARKS, timeout=STEP)
        report["bookmarksForRomeo"] = "result"
    except IqError as e:
        report["bookmarksForRomeo"] = e.iq["error"]["condition"]

    report["step"] = "sync"
    for session in sessions.values():
        await session.sync()

    report["step"] = "late login"
    address, password = accounts["romeo"]
    hall = Session("hall", f"{address}/hall", password, settings, True)
    hall.connect(settings)
    await asyncio.wait_for(hall.ready, STEP)
    await hall.waitFor(NS_TUNE)
    await hall.waitFor(NS_AVATAR_METADATA)
    await hall.sync()
    sessions["hall"] = hall

    report["events"] = {name: session.events for name, session in sessions.items()}
    for session in sessions.values():
        session.client.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(run, TOTAL)
