"""
The judgements of the slixmpp scenarios' reports, shared by the tests
against mepserver and the tests against Prosody (L{tests.e2e.test_prosody}),
so that both servers pass the same checks.

Where the two servers may legitimately differ (a software name, a SASL
mechanism, opaque roster versions, the clock), the difference is a
parameter and the rest is checked alike.
"""

import re

#: An XEP-0082 DateTime in UTC, as a delay stamp (fractions allowed).
UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")


def checkClientReport(testCase, report, mechanism, serverName):
    """
    slixclient.py: in-band registration, SASL, roster, CSI, pings (the
    server, and another client's full JID, answered by that client), the
    other client's version, the server's, a message and a subscription.

    @param mechanism: the SASL mechanism slixmpp should have chosen (the
        strongest the server offers).
    @param serverName: the software name the server reports (XEP-0092).
    """
    testCase.assertTrue(report["registered"])
    testCase.assertEqual(mechanism, report["mechanisms"]["alice@localhost"])
    testCase.assertEqual("result", report["rosterType"])
    testCase.assertTrue(report["csi"])
    testCase.assertTrue(report["pinged"])
    testCase.assertTrue(report["peerPinged"])
    testCase.assertEqual("slixbob", report["peerVersion"]["name"])
    testCase.assertTrue(report["peerVersion"]["from"].startswith("bob@localhost/"))
    testCase.assertEqual({"from": "localhost", "name": serverName}, report["serverVersion"])
    testCase.assertEqual("hello bob", report["message"]["body"])
    testCase.assertTrue(report["message"]["from"].startswith("alice@localhost/"))
    testCase.assertTrue(report["peerPresence"].startswith("bob@localhost/"))
    testCase.assertIn(report["subscription"], ("to", "both"))


def checkCarbonsReport(testCase, report):
    """
    slixcarbons.py: received and sent carbons (XEP-0280) from the bare
    JID, forwarding the messages as sent, and nothing else.
    """
    testCase.assertEqual({"garden": "result", "home": "result"}, report["enabled"])
    chat = {
        "from": "juliet@localhost/balcony",
        "to": "romeo@localhost/garden",
        "type": "chat",
        "body": "What man art thou?",
    }
    testCase.assertEqual("message", report["gardenGot"]["kind"])
    testCase.assertEqual(chat, report["gardenGot"]["outer"])
    received = report["homeGotReceived"]
    testCase.assertEqual("received", received["kind"])
    testCase.assertEqual(
        {"from": "romeo@localhost", "to": "romeo@localhost/home", "type": "chat", "body": ""},
        received["outer"],
    )
    testCase.assertEqual(chat, received["forwarded"])
    reply = {
        "from": "romeo@localhost/garden",
        "to": "juliet@localhost/balcony",
        "type": "chat",
        "body": "Neither, fair saint.",
    }
    testCase.assertEqual(reply, report["balconyGot"]["outer"])
    sent = report["homeGotSent"]
    testCase.assertEqual("sent", sent["kind"])
    testCase.assertEqual("romeo@localhost", sent["outer"]["from"])
    testCase.assertEqual(reply, sent["forwarded"])
    testCase.assertEqual({"garden": [], "home": [], "balcony": []}, report["extra"])


def checkBlockingReport(testCase, report):
    """
    slixblock.py: the Blocking Command (XEP-0191): the feature, the list
    and its pushes, service-unavailable for the blocked contact's message,
    not-acceptable with <blocked/> for the user's own, and delivery again
    after unblocking.
    """
    testCase.assertTrue(report["feature"])
    testCase.assertEqual([], report["before"])
    testCase.assertEqual(["bob@localhost"], report["after"])
    testCase.assertEqual(
        ("error", "alice@localhost", "service-unavailable"),
        tuple(report["bobBounce"][k] for k in ("type", "from", "condition")),
    )
    testCase.assertEqual("barrier", report["aliceGot"])
    testCase.assertEqual(["barrier"], report["aliceInboxWhileBlocked"])
    bounce = report["aliceBounce"]
    testCase.assertEqual(
        ("error", "bob@localhost", "not-acceptable", True),
        (bounce["type"], bounce["from"], bounce["condition"], bounce["blocked"]),
    )
    testCase.assertEqual("unblocked words", report["aliceGotAfterUnblock"])
    testCase.assertEqual(["blocked", "unblocked"], report["pushes"])


def checkResumptionReport(testCase, report):
    """
    slixsm.py: stream management (XEP-0198) resumption: the same session
    and full JID after the connection was killed, and the message sent
    meanwhile delivered.
    """
    testCase.assertEqual("true", str(report["enabled"]["resume"]).lower())
    testCase.assertEqual(report["enabled"]["id"], report["resumed"]["previd"])
    testCase.assertEqual(1, report["sessionStarts"])
    testCase.assertEqual(report["aliceJID"], report["boundAfter"])
    testCase.assertEqual("while you were away", report["message"]["body"])
    testCase.assertTrue(report["message"]["from"].startswith("bob@localhost/"))
    testCase.assertTrue(report["pingedAfter"])


def checkRosterReport(testCase, report, versions=None, approvedInPush=True, serverApproves=True):
    """
    slixroster.py: roster versioning (RFC 6121 2.6) over three logins and
    subscription pre-approval (3.4).

    @param versions: the exact versions of the first result, the two pushes
        and the third result, keyed C{first}, C{addPush}, C{preApproval},
        C{third}; or L{None}: versions are opaque strings (section 2.6.1),
        and only what a client relies on is checked: a push's version
        differs from the one before it, the last one is what slixmpp cached
        and gets an empty result, and the third result's is a new one.
    @param approvedInPush: whether the pre-approval's push shows
        C{approved='true'}; if not, it must at least not say anything else.
    @param serverApproves: whether bob's request, while alice is offline,
        must be approved by the server for her; if not, the report may say
        it was not (C{None}: the scenario then ran with C{approvalBarrier}).
    """
    features = ["preapproval", "rosterver"]
    first = report["first"]
    if versions is None:
        testCase.assertIsInstance(first["ver"], str)
        testCase.assertNotEqual(report["addPushVer"], report["preApprovalPush"]["ver"])
        versions = {
            "first": first["ver"],
            "addPush": report["addPushVer"],
            "preApproval": report["preApprovalPush"]["ver"],
            "third": report["third"]["ver"],
        }
        testCase.assertNotIn(versions["third"], (None, versions["preApproval"]))
    testCase.assertEqual(
        {"sentVer": "", "query": True, "ver": versions["first"], "items": 0, "features": features},
        first,
    )
    testCase.assertEqual(versions["addPush"], report["addPushVer"])
    testCase.assertEqual(versions["preApproval"], report["preApprovalPush"]["ver"])
    testCase.assertEqual(
        "true" if approvedInPush else "", report["preApprovalPush"]["approved"]
    )
    cached = versions["preApproval"]
    testCase.assertEqual(cached, report["cached"])
    testCase.assertEqual(
        {"sentVer": cached, "query": False, "ver": None, "items": 0, "features": features},
        report["second"],
    )
    if serverApproves:
        testCase.assertEqual("alice@localhost", report["bobApprovedBy"])
    else:
        testCase.assertIn(report["bobApprovedBy"], (None, "alice@localhost"))
    testCase.assertEqual(
        {"sentVer": cached, "query": True, "ver": versions["third"], "items": 2, "features": features},
        report["third"],
    )
    testCase.assertEqual(versions["third"], report["thirdVer"])
    testCase.assertEqual(
        {
            "bob@localhost": {"subscription": "from", "name": ""},
            "carol@localhost": {"subscription": "none", "name": "Carol"},
        },
        report["thirdItems"],
    )


def checkOfflineReport(testCase, report, stamp=None):
    """
    slixoffline.py: msgoffline in the server's disco#info, and the message
    stored for offline bob delivered as sent, from alice's full JID, with
    the server's delay stamp (XEP-0203).

    @param stamp: the exact stamp expected, or L{None} for any UTC
        DateTime (a server on the real clock).
    """
    testCase.assertIn("msgoffline", report["features"])
    message = dict(report["message"])
    delay = message.pop("delay")
    testCase.assertEqual(
        {
            "from": "alice@localhost/laptop",
            "to": "bob@localhost",
            "type": "chat",
            "body": "while you were out",
        },
        message,
    )
    testCase.assertEqual(["from", "stamp"], sorted(delay))
    testCase.assertEqual("localhost", delay["from"])
    if stamp is None:
        testCase.assertRegex(delay["stamp"], UTC_STAMP)
    else:
        testCase.assertEqual(stamp, delay["stamp"])


def checkBookmarksReport(testCase, report, vcard="not-acceptable", legacyInOrder=True):
    """
    Judge slixbookmarks.py's report: the account announces XEP-0402's
    compatibility, legacy bookmarks (XEP-0048 in XEP-0049 private XML) and
    native ones (XEP-0402) are the same list both ways.

    @param vcard: the error a private-XML set in C{vcard-temp} gets.
    @param legacyInOrder: whether the legacy list keeps the native node's
        order (mepserver does; XEP-0048 defines no order, and Prosody's
        differs).
    """
    testCase.assertIn("urn:xmpp:bookmarks:1#compat", report["features"])
    testCase.assertEqual(
        [
            {"id": "play@conference.localhost", "name": "The Play", "nick": "JC", "autojoin": True},
            {"id": "orchard@conference.localhost", "name": "The Orchard", "nick": "Juliet", "autojoin": False},
        ],
        report["native"],
    )
    legacy = [
        {"jid": "play@conference.localhost", "name": "The Play", "nick": "JC", "autojoin": True},
        {"jid": "balcony@conference.localhost", "name": "The Balcony", "nick": "Romeo", "autojoin": True},
    ]
    if legacyInOrder:
        testCase.assertEqual(legacy, report["legacy"])
    else:
        byJID = lambda bookmarks: sorted(bookmarks, key=lambda b: b["jid"])
        testCase.assertEqual(byJID(legacy), byJID(report["legacy"]))
    testCase.assertEqual(vcard, report["vcard"])


def checkRemovalReport(testCase, report, ownNodes=()):
    """
    slixremove.py: alice cancels her registration (XEP-0077 section 3.2);
    bob, her contact, is told with C{unsubscribe} and C{unsubscribed} and
    keeps an item at C{none}; alice, registered again with the same name,
    finds an empty roster, no tune node, no private XML and an empty block
    list.

    @param ownNodes: PEP nodes a server makes for every account by itself
        (Prosody 0.12's mod_bookmarks keeps C{storage:bookmarks}), which
        may be there before and after.
    """
    testCase.assertEqual("both", report["bobBefore"])
    testCase.assertEqual(
        sorted({"http://jabber.org/protocol/tune", *ownNodes}), report["nodesBefore"]
    )
    testCase.assertEqual("result", report["cancelled"])
    testCase.assertEqual(
        {"unsubscribe": "alice@localhost", "unsubscribed": "alice@localhost"},
        report["bobTold"],
    )
    testCase.assertEqual("none", report["bobAfter"])
    testCase.assertEqual([], report["rosterAfter"])
    testCase.assertEqual(sorted(ownNodes), report["nodesAfter"])
    testCase.assertEqual("", report["privateAfter"])
    testCase.assertEqual([], report["blockedAfter"])

def checkMAMReport(testCase, report):
    """
    slixmam.py: bob's archive (XEP-0313) holds alice's five chats once, in
    order, under the UIDs of the stanza-ids he received live (section
    2.3); his bare JID lists the features; his preferences are the
    default, always (XEP-0441); the metadata names the first and last
    (section 5); paging forwards with RSM C{<after/>} and backwards from
    the last page with C{<before/>} gives pages of two in chronological
    order, each fin's first and last its UIDs and the count five,
    C{complete='true'} on the last page in the direction of paging only
    (section 4.3); an unknown UID is item-not-found; alice's own archive
    holds what she sent bob.
    """
    bodies = [f"line {n}" for n in range(1, 6)]
    testCase.assertEqual(bodies, [m["body"] for m in report["live"]])
    ids = []
    for message in report["live"]:
        testCase.assertEqual(1, len(message["stanzaIds"]), message)
        ids.extend(message["stanzaIds"])
    testCase.assertEqual(5, len(set(ids)))
    for feature in ("urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:sid:0"):
        testCase.assertIn(feature, report["features"])
    testCase.assertEqual(["always", [], []], report["prefs"])
    testCase.assertEqual({"start": ids[0], "end": ids[-1]}, report["metadata"])

    def checkPages(pages, expected):
        testCase.assertEqual(
            [[bodies[n] for n in page] for page in expected], [p["bodies"] for p in pages]
        )
        for page, positions in zip(pages, expected):
            pageIds = [ids[n] for n in positions]
            testCase.assertEqual(pageIds, page["ids"])
            testCase.assertEqual((pageIds[0], pageIds[-1]), (page["first"], page["last"]))
            testCase.assertEqual("5", page["count"])
        testCase.assertEqual(
            [None] * (len(pages) - 1) + ["true"], [p["complete"] for p in pages]
        )

    checkPages(report["forward"], [[0, 1], [2, 3], [4]])
    checkPages(report["backward"], [[3, 4], [1, 2], [0]])
    testCase.assertEqual("item-not-found", report["unknownAfter"])
    testCase.assertEqual(bodies, report["aliceSent"])


#: The groupchat lines of slixmucmam.py, in order.
ROOM_LINES = [
    "When shall we three meet again",
    "In thunder, lightning, or in rain?",
    "Free potions, DM me",
]


def checkRoomArchiveReport(testCase, report, moderation="1", moderatorSeesRealJIDs=True):
    """
    slixmucmam.py: a persistent room archives (XEP-0313 section 7.1.2) and
    says so in disco#info; each groupchat message came live with one
    stanza-id by the room; a late joiner (no history asked) loads them all
    from the room's archive, in order, under those UIDs, from the room,
    each forwarded from the sender's occupant JID without 'to' and, for a
    participant of a semi-anonymous room, without real JIDs. With
    moderation (XEP-0425): a participant gets forbidden; the moderator's
    retraction reaches the late joiner from the room's bare JID naming the
    message; the archive then holds a tombstone under the same UID, with no
    body, the other messages as they were, and the moderation message.

    @param moderation: C{"1"} (version 0.3, C{<retract/>}), C{"0"} (version
        0.2, C{<apply-to/>}), or L{None} for a server without moderation.
    @param moderatorSeesRealJIDs: whether a moderator's results carry the
        senders' real JIDs (XEP-0313 section 7.1.2 allows it; Prosody 0.12
        gives them only in non-anonymous rooms).
    """
    room = "chronicle@conference.localhost"
    testCase.assertIn("urn:xmpp:mam:2", report["features"])
    testCase.assertEqual(ROOM_LINES, [m["body"] for m in report["live"]])
    ids = []
    for message in report["live"]:
        testCase.assertEqual(1, len(message["stanzaIds"]), message)
        ids.extend(message["stanzaIds"])
    testCase.assertEqual(3, len(set(ids)))

    archive = report["carolArchive"]
    testCase.assertEqual("true", archive["complete"])
    results = archive["results"]
    testCase.assertEqual(ROOM_LINES, [r["body"] for r in results])
    testCase.assertEqual(ids, [r["id"] for r in results])
    for result in results:
        testCase.assertEqual(room, result["resultFrom"])
        testCase.assertEqual(f"{room}/Bob", result["from"])
        testCase.assertFalse(result["hasTo"], result)
        testCase.assertEqual([], result["realJIDs"], result)
    seen = [r["realJIDs"] for r in report["aliceArchive"]["results"]]
    if moderatorSeesRealJIDs:
        testCase.assertEqual([["bob@localhost/desk"]] * 3, seen)
    else:
        testCase.assertEqual([[]] * 3, seen)

    if moderation is None:
        return
    testCase.assertIn(f"urn:xmpp:message-moderate:{moderation}", report["features"])
    testCase.assertEqual("forbidden", report["bobModerates"])
    notice = report["moderationMessage"]
    testCase.assertEqual(room, notice["from"])
    testCase.assertIsNone(notice["body"])
    named = notice["retracts"] if moderation == "1" else notice["appliesTo"]
    testCase.assertEqual(ids[2], named)
    after = report["archiveAfter"]["results"]
    testCase.assertEqual(ids, [r["id"] for r in after[:3]])
    testCase.assertEqual(ROOM_LINES[:2] + [None], [r["body"] for r in after[:3]])
    testCase.assertEqual([[], []], [r["tombstone"] for r in after[:2]])
    testCase.assertEqual(1, len(after[2]["tombstone"]), after[2])
    testCase.assertEqual(f"{room}/Bob", after[2]["from"])
    [moderationEntry] = after[3:]
    testCase.assertEqual(
        ids[2],
        moderationEntry["retracts"] if moderation == "1" else moderationEntry["appliesTo"],
    )
