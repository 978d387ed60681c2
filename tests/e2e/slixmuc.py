"""
A slixmpp multi-user chat scenario run in a subprocess against a running
server (mepserver, or ejabberd in the reference tier), with slixmpp's own
XEP-0045 plugin.

Like L{slixclient}, this is an independent client: nothing here comes from
mepserver. It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...",
   "domain": "localhost", "mucDomain": "conference.localhost",
   "accounts": {"alice": ["alice@localhost", "secret"], "bob": [...],
                "carol": [...]}}

and prints one JSON object recording what each client saw, then exits 0 if
every step completed (1 otherwise). It judges nothing:
L{tests.e2e.slixchecks.checkMUCReport} checks the report against XEP-0045.
The steps:

  1. alice enters lobby@<mucDomain> as "Alice", which creates the room;
  2. she fetches the owner configuration form, sets the room name to
     "Lobby" and makes the room persistent, and submits it;
  3. bob enters as "Bob";
  4. alice and bob each send one groupchat message;
  5. carol enters as "Carol" with the default history;
  6. bob changes his nick to "Robert";
  7. bob leaves;
  8. alice asks the service for its rooms (disco#items) and the room for
     its information (disco#info).

Each client logs every stanza it receives, in arrival order, through an
incoming filter, which slixmpp runs before any handler: event orders are
read from that log rather than from the plugin's events. Every wait has a
timeout, so a missing stanza ends the scenario with an error in the report
and the log tails of the three clients, never with a hang.

slixmpp notes (1.17):
  - join_muc_wait() returns only once the room subject has arrived. The
    creator's join is therefore started as a task, and the scenario goes
    on as soon as the self-presence is in the log: XEP-0045 section 10.1
    does not say whether a locked room sends its subject.
  - Form fields of type 'hidden' (FORM_TYPE) read as lists of values.
  - set_room_config() sends the form it is given with type 'submit';
    slixmpp's Form then drops labels, options and field types. The form
    sent back is the server's own, with the two values changed.
"""

import asyncio
import json
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp import JID

import slixbase

STEP, TOTAL = slixbase.STEP, slixbase.TOTAL

NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_DELAY = "urn:xmpp:delay"
NS_SID = "urn:xmpp:sid:0"
NS_CLIENT = "jabber:client"
NS_DATA = "jabber:x:data"


class Trace:
    """
    Every stanza one client received, in arrival order, and the waits on
    them.
    """

    def __init__(self, client):
        self.stanzas = []
        self._waiting = []
        client.add_filter("in", self._add)

    def _add(self, stanza):
        self.stanzas.append(stanza)
        index = len(self.stanzas) - 1
        keep = []
        for since, match, future in self._waiting:
            if future.done():
                continue
            if index >= since and match(stanza):
                future.set_result(index)
            else:
                keep.append((since, match, future))
        self._waiting = keep
        return stanza

    def mark(self):
        """
        @return: the position of the next stanza, to wait or read from.
        """
        return len(self.stanzas)

    async def wait(self, match, since, what):
        """
        @return: the index of the first stanza from C{since} on that matches.
        @raise asyncio.TimeoutError: after L{STEP} seconds, naming C{what}.
        """
        for index in range(since, len(self.stanzas)):
            if match(self.stanzas[index]):
                return index
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((since, match, future))
        try:
            return await asyncio.wait_for(future, STEP)
        except asyncio.TimeoutError:
            raise asyncio.TimeoutError(f"no {what} within {STEP} s") from None

    def tail(self, count=40):
        return [str(s) for s in self.stanzas[-count:]]


def fromRoom(room):
    """
    @return: a predicate: the stanza comes from the room or an occupant.
    """
    return lambda s: s["from"].bare == room


def mucUser(stanza):
    return stanza.xml.find(f"{{{NS_MUC_USER}}}x")


def statusCodes(stanza):
    x = mucUser(stanza)
    if x is None:
        return []
    return sorted(
        int(s.get("code")) for s in x.findall(f"{{{NS_MUC_USER}}}status")
    )


def item(stanza):
    x = mucUser(stanza)
    found = None if x is None else x.find(f"{{{NS_MUC_USER}}}item")
    return {} if found is None else dict(found.attrib)


def presenceReport(stanza):
    """
    The facts of a room presence: sender, type, status codes, item.
    """
    return {
        "from": str(stanza["from"]),
        "type": stanza.xml.get("type", "available"),
        "codes": statusCodes(stanza),
        "item": item(stanza),
    }


def messageReport(stanza):
    """
    The facts of a room message: sender, type, id, body, subject, delay and
    XEP-0359 stanza-ids.
    """
    xml = stanza.xml
    body = xml.find(f"{{{NS_CLIENT}}}body")
    subject = xml.find(f"{{{NS_CLIENT}}}subject")
    delay = xml.find(f"{{{NS_DELAY}}}delay")
    return {
        "from": str(stanza["from"]),
        "type": xml.get("type"),
        "id": xml.get("id"),
        "body": None if body is None else (body.text or ""),
        "subject": None if subject is None else (subject.text or ""),
        "delay": None if delay is None else dict(delay.attrib),
        "stanzaIds": [dict(e.attrib) for e in xml.findall(f"{{{NS_SID}}}stanza-id")],
    }


def event(stanza):
    """
    Name a room stanza for an order-of-events list:
    C{presence:<nick>} (C{...:unavailable}), C{self-presence}
    (C{self-presence:unavailable}), C{room-presence} (from the room's bare
    JID, an entity's presence and no occupant's: ejabberd's carries the
    room's XEP-0115 caps), C{history:<nick>:<body>} (a body with a delay),
    C{message:<nick>:<body>}, C{subject}, C{status:<codes>} (a room status
    message), C{iq:<type>}, or C{other:<xml>}.
    """
    nick = stanza["from"].resource
    xml = stanza.xml
    if xml.tag == f"{{{NS_CLIENT}}}presence" and not nick:
        return "room-presence"
    if xml.tag == f"{{{NS_CLIENT}}}presence":
        name = "self-presence" if 110 in statusCodes(stanza) else f"presence:{nick}"
        if xml.get("type") == "unavailable":
            name += ":unavailable"
        elif xml.get("type"):
            name += ":" + xml.get("type")
        return name
    if xml.tag == f"{{{NS_CLIENT}}}iq":
        return f"iq:{xml.get('type')}"
    if xml.tag == f"{{{NS_CLIENT}}}message":
        facts = messageReport(stanza)
        if facts["body"] is not None:
            kind = "history" if facts["delay"] is not None else "message"
            return f"{kind}:{nick}:{facts['body']}"
        if facts["subject"] is not None:
            return "subject"
        if statusCodes(stanza):
            return "status:" + ",".join(map(str, statusCodes(stanza)))
    return "other:" + ET.tostring(xml, encoding="unicode")[:200]


def roomEvents(trace, room, since, until=None):
    stanzas = trace.stanzas[since:until]
    return [event(s) for s in stanzas if s["from"].bare == room]


def makeClient(address, password, settings):
    return slixbase.makeClient(address, password, settings, ("xep_0030", "xep_0045", "xep_0203"))


async def scenario(settings, report, clients, traces, pending):
    room = f"lobby@{settings['mucDomain']}"
    roomJID = JID(room)
    for name in ("alice", "bob", "carol"):
        address, password = settings["accounts"][name]
        clients[name] = makeClient(address, password, settings)
        traces[name] = Trace(clients[name])
    alice = clients["alice"]
    ta, tb, tc = traces["alice"], traces["bob"], traces["carol"]
    muc = {name: client.plugin["xep_0045"] for name, client in clients.items()}

    def isSelfPresence(nick, kind=None):
        def match(s):
            return (
                s.xml.tag == f"{{{NS_CLIENT}}}presence"
                and str(s["from"]) == f"{room}/{nick}"
                and 110 in statusCodes(s)
                and (kind is None or s.xml.get("type", "available") == kind)
            )

        return match

    def isPresence(nick, kind="available"):
        """
        A presence of type C{kind} from the occupant C{nick}, or from anyone
        if C{nick} is L{None}.
        """
        return lambda s: (
            s.xml.tag == f"{{{NS_CLIENT}}}presence"
            and (nick is None or str(s["from"]) == f"{room}/{nick}")
            and s.xml.get("type", "available") == kind
        )

    def isGroupchat(nick, body):
        return lambda s: (
            s.xml.tag == f"{{{NS_CLIENT}}}message"
            and str(s["from"]) == f"{room}/{nick}"
            and s.xml.get("type") == "groupchat"
            and messageReport(s)["body"] == body
        )

    report["step"] = "login"
    await slixbase.logIn(clients, settings, timeout=STEP)
    report["jids"] = {name: str(client.boundjid) for name, client in clients.items()}

    # 1. Creation (XEP-0045 section 10.1.1).
    report["step"] = "alice creates the room"
    since = ta.mark()
    aliceJoin = asyncio.ensure_future(
        muc["alice"].join_muc_wait(roomJID, "Alice", timeout=TOTAL)
    )
    pending.append(aliceJoin)
    # A refusal ends the wait at once (join_muc_wait would raise too).
    index = await ta.wait(
        lambda s: isSelfPresence("Alice")(s) or isPresence(None, "error")(s),
        since,
        "self-presence for Alice",
    )
    if ta.stanzas[index].xml.get("type") == "error":
        raise RuntimeError(f"the room refused alice: {ta.stanzas[index]}")
    report["creation"] = {
        "selfPresence": presenceReport(ta.stanzas[index]),
        "eventsBeforeSelfPresence": roomEvents(ta, room, since, index),
    }

    # 2. Configuration (section 10.1.3): get the form, change two fields,
    # submit it.
    report["step"] = "alice configures the room"
    form = await asyncio.wait_for(
        muc["alice"].get_room_config(roomJID, timeout=STEP), STEP
    )
    fields = form.get_fields()
    report["configForm"] = {
        "type": form["type"],
        "fields": sorted(var for var in fields if var),
        # slixmpp reads every hidden field as multi-valued (a list), so the
        # values are read from the XML.
        "formType": [
            v.text for v in fields["FORM_TYPE"].xml.findall(f"{{{NS_DATA}}}value")
        ]
        if "FORM_TYPE" in fields
        else None,
    }
    form.set_values(
        {"muc#roomconfig_roomname": "Lobby", "muc#roomconfig_persistentroom": True}
    )
    try:
        await asyncio.wait_for(
            muc["alice"].set_room_config(roomJID, form, timeout=STEP), STEP
        )
        report["configSubmitted"] = "result"
    except slixmpp.exceptions.IqError as e:
        report["configSubmitted"] = f"error: {e.condition}"
        raise
    report["creation"]["eventsUntilConfigured"] = roomEvents(ta, room, since)

    # 3. bob enters (sections 7.1, 7.2.2).
    report["step"] = "bob enters"
    sinceB, sinceA = tb.mark(), ta.mark()
    selfPresence, subject, occupants, history = await asyncio.wait_for(
        muc["bob"].join_muc_wait(roomJID, "Bob", timeout=STEP), STEP
    )
    report["bobJoin"] = {
        "events": roomEvents(tb, room, sinceB),
        "selfPresence": presenceReport(selfPresence),
        "slixmppOccupants": sorted(p["from"].resource for p in occupants),
    }
    index = await ta.wait(isPresence("Bob"), sinceA, "presence of Bob at alice")
    report["bobJoin"]["aliceSaw"] = presenceReport(ta.stanzas[index])

    # 4. Groupchat (section 7.4): each message reaches both, sender included.
    report["step"] = "alice and bob talk"
    report["messages"] = {}
    for sender, nick, body in (
        ("alice", "Alice", "Hello from Alice"),
        ("bob", "Bob", "Hello from Bob"),
    ):
        marks = {name: traces[name].mark() for name in ("alice", "bob")}
        message = clients[sender].make_message(mto=roomJID, mbody=body, mtype="groupchat")
        message["id"] = f"{sender}-message-1"
        message.send()
        received = {"sentId": message["id"]}
        for name in ("alice", "bob"):
            index = await traces[name].wait(
                isGroupchat(nick, body), marks[name], f"{body!r} at {name}"
            )
            received[name] = messageReport(traces[name].stanzas[index])
        report["messages"][sender] = received

    # 5. carol enters late, with the default history (sections 7.1, 7.2.13).
    report["step"] = "carol enters"
    sinceC = tc.mark()
    selfPresence, subject, occupants, history = await asyncio.wait_for(
        muc["carol"].join_muc_wait(roomJID, "Carol", timeout=STEP), STEP
    )
    carolStanzas = [s for s in tc.stanzas[sinceC:] if s["from"].bare == room]
    report["carolJoin"] = {
        "events": [event(s) for s in carolStanzas],
        "selfPresence": presenceReport(selfPresence),
        "occupants": [
            presenceReport(s)
            for s in carolStanzas
            if s.xml.tag == f"{{{NS_CLIENT}}}presence"
            and s["from"].resource
            and 110 not in statusCodes(s)
        ],
        "history": [
            messageReport(s)
            for s in carolStanzas
            if s.xml.tag == f"{{{NS_CLIENT}}}message" and messageReport(s)["body"] is not None
        ],
        "subject": messageReport(subject),
        "slixmppOccupants": sorted(p["from"].resource for p in occupants),
        "slixmppHistory": [m["body"] for m in history],
    }

    # The creator's join completes once a subject has come.
    report["creation"]["subjectReceived"] = aliceJoin.done()

    # 6. bob becomes Robert (section 7.6).
    report["step"] = "bob changes nick"
    marks = {name: traces[name].mark() for name in clients}
    newNick = await asyncio.wait_for(
        muc["bob"].set_self_nick(roomJID, "Robert", timeout=STEP), STEP
    )
    report["nickChange"] = {"slixmppNick": newNick}
    for name in clients:
        match = isSelfPresence("Robert", "available") if name == "bob" else isPresence("Robert")
        index = await traces[name].wait(match, marks[name], f"presence of Robert at {name}")
        report["nickChange"][name] = [
            presenceReport(s)
            for s in traces[name].stanzas[marks[name] : index + 1]
            if str(s["from"]) in (f"{room}/Bob", f"{room}/Robert")
        ]

    # 7. bob leaves (section 7.14).
    report["step"] = "bob leaves"
    marks = {name: traces[name].mark() for name in clients}
    muc["bob"].leave_muc(roomJID, muc["bob"].our_nicks[None][roomJID])
    report["leave"] = {}
    for name in clients:
        match = (
            isSelfPresence("Robert", "unavailable")
            if name == "bob"
            else isPresence("Robert", "unavailable")
        )
        index = await traces[name].wait(match, marks[name], f"Robert leaving at {name}")
        report["leave"][name] = presenceReport(traces[name].stanzas[index])

    # 8. Discovery (sections 6.3, 6.4).
    report["step"] = "alice discovers rooms"
    items = await asyncio.wait_for(
        alice.plugin["xep_0030"].get_items(jid=settings["mucDomain"], timeout=STEP), STEP
    )
    report["discoItems"] = sorted(
        ({"jid": str(j), "node": n, "name": name} for j, n, name in items["disco_items"]["items"]),
        key=lambda i: i["jid"],
    )
    info = await asyncio.wait_for(alice.plugin["xep_0030"].get_info(jid=room, timeout=STEP), STEP)
    report["roomInfo"] = {
        "identities": [list(i) for i in info["disco_info"]["identities"]],
        "features": sorted(info["disco_info"]["features"]),
    }

    report["step"] = "done"
    report["done"] = True


async def run(settings, report):
    clients, traces, pending = {}, {}, []
    try:
        await asyncio.wait_for(scenario(settings, report, clients, traces, pending), TOTAL)
    except BaseException as e:  # report whatever went wrong, as data
        report["error"] = f"{type(e).__name__}: {e}"
        report["traces"] = {name: trace.tail() for name, trace in traces.items()}
    finally:
        for task in pending:
            task.cancel()
        closing = [c.disconnect(wait=1) for c in clients.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*closing), STEP)
        except BaseException:
            pass


def main():
    settings = json.loads(sys.argv[1])
    report = {"done": False}
    try:
        asyncio.run(run(settings, report))
    except BaseException as e:
        report.setdefault("error", f"{type(e).__name__}: {e}")
    print(json.dumps(report))
    sys.exit(0 if report["done"] else 1)


if __name__ == "__main__":
    main()
