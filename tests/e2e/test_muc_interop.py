# -*- test-case-name: tests.e2e.test_muc_interop -*-
"""
Multi-user chat interoperability with slixmpp (XEP-0045), over real TCP,
TLS and SASL, against a server started by L{mepserver.testing.startServer}.

The scenario runs in a subprocess (C{slixmuc.py}, slixmpp's own XEP-0045
plugin): three users create, configure, join, talk in, rename themselves in
and leave one room, and the script reports what each client received, in
order, as JSON. The checks below read that report; each cites the section
of XEP-0045 (version 1.35.5, C{/work/shared/specs/xep-0045.xml}) it holds
the server to. All checks run, and one failure lists every deviation.
"""

import json

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixrun import runScript, serverSettings

NS_MUC_ROOMCONFIG = "http://jabber.org/protocol/muc#roomconfig"


class SlixmppMUCTests(unittest.TestCase):
    """
    XEP-0045 with slixmpp: room creation and configuration, entering,
    history, groupchat, nick change, exit and room discovery.
    """

    timeout = 120

    async def test_scenario(self):
        """
        alice creates and configures lobby@<mucDomain>; bob enters; alice
        and bob talk; carol enters late and gets the history; bob changes
        nick and leaves; the service lists the room.
        """
        running = await startServer(self)
        accounts = {}
        for name in ("alice", "bob", "carol"):
            account = await running.createAccount(name, f"{name}-secret")
            accounts[name] = [account.jid.userhost(), account.password]
        settings = serverSettings(
            running,
            mucDomain=running.mucDomain,
            accounts=accounts,
        )
        self.room = f"lobby@{running.mucDomain}"
        out, err, code = await runScript(self, "slixmuc.py", settings)
        lines = out.decode().strip().splitlines()
        self.assertTrue(lines, f"no report; stderr={err.decode()[-3000:]}")
        report = json.loads(lines[-1])

        problems = []
        if not report.get("done"):
            problems.append(
                f"the scenario stopped at step {report.get('step')!r}: "
                f"{report.get('error')}\ntraces: "
                + json.dumps(report.get("traces"), indent=1)
            )
        for check in (
            self.checkCreation,
            self.checkEntering,
            self.checkGroupchat,
            self.checkLateEntering,
            self.checkNickChange,
            self.checkExit,
            self.checkDiscovery,
        ):
            try:
                check(report)
            except (self.failureException, KeyError, TypeError, IndexError) as e:
                summary = check.__doc__.strip().splitlines()[0]
                problems.append(f"{check.__name__} ({summary}): {type(e).__name__}: {e}")
        if problems:
            self.fail("\n\n".join(problems))
        self.assertEqual(0, code)

    def assertPresence(self, presence, sender, kind, codes=(), absent=(), **item):
        """
        One room presence: its sender, type, the status codes it must and
        must not carry, and attributes of its C{<item/>}.
        """
        self.assertEqual(f"{self.room}/{sender}", presence["from"], presence)
        self.assertEqual(kind, presence["type"], presence)
        for code in codes:
            self.assertIn(code, presence["codes"], presence)
        for code in absent:
            self.assertNotIn(code, presence["codes"], presence)
        for attribute, value in item.items():
            self.assertEqual(value, presence["item"].get(attribute), presence)

    def checkCreation(self, report):
        """
        XEP-0045 section 10.1.1, creating a room: the creator's first presence
        from the room is her self-presence, with status codes 110 and 201, as
        owner and moderator. Section 10.1.3, reserved room: the room answers
        the owner's C{muc#owner} get with a C{jabber:x:data} form of type
        C{form} whose FORM_TYPE is C{muc#roomconfig} and which has the
        C{muc#roomconfig_roomname} and C{muc#roomconfig_persistentroom}
        fields, and answers the completed form with an IQ result.
        """
        creation = report["creation"]
        self.assertEqual([], creation["eventsBeforeSelfPresence"])
        self.assertPresence(
            creation["selfPresence"],
            "Alice",
            "available",
            codes=(110, 201),
            affiliation="owner",
            role="moderator",
        )
        form = report["configForm"]
        self.assertEqual("form", form["type"])
        self.assertEqual([NS_MUC_ROOMCONFIG], form["formType"])
        self.assertIn("muc#roomconfig_roomname", form["fields"])
        self.assertIn("muc#roomconfig_persistentroom", form["fields"])
        self.assertEqual("result", report["configSubmitted"])

    def checkEntering(self, report):
        """
        XEP-0045 section 7.1 (order of events) and 7.2.2 (presence
        broadcast): bob, entering the unlocked room, gets Alice's presence,
        then his self-presence (110, without 201: he created nothing), then
        the subject (7.2.15; there is no history yet). Alice gets Bob's
        presence, as a participant with no affiliation, without 110.
        """
        join = report["bobJoin"]
        self.assertEqual(["presence:Alice", "self-presence", "subject"], join["events"])
        self.assertPresence(join["selfPresence"], "Bob", "available", (110,), (201,))
        self.assertPresence(
            join["aliceSaw"], "Bob", "available", (), (110, 201),
            role="participant", affiliation="none",
        )
        self.assertEqual(["Alice", "Bob"], join["slixmppOccupants"])

    def checkGroupchat(self, report):
        """
        XEP-0045 section 7.4: a groupchat message to the room is reflected
        to every occupant, sender included, from the sender's occupant JID,
        with the sender's id (the service advertises C{muc#stable_id}).
        XEP-0359 section 3 (the room advertises C{urn:xmpp:sid:0}): each copy
        carries one C{<stanza-id/>} by the room's bare JID, the same in
        every copy of one message.
        """
        for sender, nick, body in (
            ("alice", "Alice", "Hello from Alice"),
            ("bob", "Bob", "Hello from Bob"),
        ):
            received = report["messages"][sender]
            ids = set()
            for name in ("alice", "bob"):
                copy = received[name]
                self.assertEqual(f"{self.room}/{nick}", copy["from"], copy)
                self.assertEqual("groupchat", copy["type"], copy)
                self.assertEqual(body, copy["body"], copy)
                self.assertEqual(received["sentId"], copy["id"], copy)
                byRoom = [s for s in copy["stanzaIds"] if s.get("by") == self.room]
                self.assertEqual(1, len(byRoom), f"{name}'s copy: {copy}")
                self.assertTrue(byRoom[0].get("id"), copy)
                ids.add(byRoom[0]["id"])
            self.assertEqual(1, len(ids), f"stanza-ids of {body!r}: {ids}")
        self.assertIn("urn:xmpp:sid:0", report["roomInfo"]["features"])

    def checkLateEntering(self, report):
        """
        XEP-0045 sections 7.1 and 7.2.2: carol gets the presence of every
        occupant (in any order) before her self-presence, and only then
        the history (7.2.13 Discussion History; 7.2.14, no C{<history/>}
        element: the default), oldest first, each from its sender's
        occupant JID with a C{urn:xmpp:delay} stamp from the room's bare
        JID, and then the subject (7.2.15): a message with a C{<subject/>}
        and no C{<body/>}. slixmpp's own join sees the same.
        """
        join = report["carolJoin"]
        events = join["events"]
        self.assertEqual(
            ["presence:Alice", "presence:Bob"], sorted(events[:2]), events
        )
        self.assertEqual(
            [
                "self-presence",
                "history:Alice:Hello from Alice",
                "history:Bob:Hello from Bob",
                "subject",
            ],
            events[2:],
        )
        self.assertPresence(join["selfPresence"], "Carol", "available", (110,), (201,))
        for occupant in join["occupants"]:
            self.assertNotIn(110, occupant["codes"], occupant)
            self.assertIn(occupant["item"].get("role"), ("moderator", "participant"))
        for message, nick in zip(join["history"], ("Alice", "Bob")):
            self.assertEqual(f"{self.room}/{nick}", message["from"], message)
            self.assertEqual("groupchat", message["type"], message)
            self.assertIsNotNone(message["delay"], message)
            self.assertEqual(self.room, message["delay"].get("from"), message)
            self.assertTrue(message["delay"].get("stamp"), message)
        subject = join["subject"]
        self.assertIsNone(subject["body"], subject)
        self.assertIsNotNone(subject["subject"], subject)
        self.assertEqual(self.room, subject["from"].split("/")[0], subject)
        self.assertEqual(["Alice", "Bob", "Carol"], join["slixmppOccupants"])
        self.assertEqual(["Hello from Alice", "Hello from Bob"], join["slixmppHistory"])

    def checkNickChange(self, report):
        """
        XEP-0045 section 7.6: every occupant gets an unavailable presence from
        the old occupant JID with status code 303 and the new nick in its
        item, then an available presence from the new occupant JID; the
        occupant who changed gets both with 110 too.
        """
        change = report["nickChange"]
        self.assertEqual("Robert", change["slixmppNick"])
        for name in ("alice", "carol", "bob"):
            own = (110,) if name == "bob" else ()
            notOwn = () if name == "bob" else (110,)
            presences = change[name]
            self.assertEqual(2, len(presences), f"{name}: {presences}")
            gone, back = presences
            self.assertPresence(
                gone, "Bob", "unavailable", (303,) + own, notOwn, nick="Robert"
            )
            self.assertPresence(back, "Robert", "available", own, (303,) + notOwn)

    def checkExit(self, report):
        """
        XEP-0045 section 7.14: the leaving occupant gets an unavailable
        self-presence (110) from its occupant JID, the others an
        unavailable presence without 110; the item's role is C{none}.
        """
        leave = report["leave"]
        self.assertPresence(leave["bob"], "Robert", "unavailable", (110,), role="none")
        for name in ("alice", "carol"):
            self.assertPresence(leave[name], "Robert", "unavailable", (), (110,), role="none")

    def checkDiscovery(self, report):
        """
        XEP-0045 section 6.3: the service's disco#items lists the (public)
        room with its name, "Lobby" as configured; section 6.4: the room's
        disco#info has a C{conference}/C{text} identity named "Lobby" and
        the C{muc_persistent} feature the configuration asked for (10.1.3).
        """
        items = report["discoItems"]
        self.assertIn(
            (self.room, "Lobby"), [(i["jid"], i["name"]) for i in items], items
        )
        info = report["roomInfo"]
        self.assertIn(
            ("conference", "text", "Lobby"),
            [(i[0], i[1], i[3]) for i in info["identities"]],
            info,
        )
        self.assertIn("http://jabber.org/protocol/muc", info["features"])
        self.assertIn("muc_persistent", info["features"])
