"""
The judgements of the slixmpp scenarios' reports, shared by the tests
against mepserver and those against the reference servers, Prosody
(L{tests.e2e.test_prosody}) and ejabberd (L{tests.e2e.test_ejabberd}), so
that all pass the same checks.

Where the servers may legitimately differ (a software name, a SASL
mechanism, opaque roster versions, the clock, an optional feature), the
difference is a parameter and the rest is checked alike; so is a reference
server's deviation from a rule, allowed for there and not copied.
"""

import json
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


def checkBlockingReport(testCase, report, blockedCondition=True):
    """
    slixblock.py: the Blocking Command (XEP-0191): the feature, the list
    and its pushes, service-unavailable for the blocked contact's message,
    not-acceptable with <blocked/> for the user's own, and delivery again
    after unblocking.

    @param blockedCondition: whether the not-acceptable error carries the
        C{<blocked xmlns='urn:xmpp:blocking:errors'/>} that XEP-0191
        section 3.3 requires (ejabberd 23.01 leaves it out); if not, it
        must at least be not-acceptable.
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
        ("error", "bob@localhost", "not-acceptable", blockedCondition),
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


def checkRosterReport(
    testCase, report, versions=None, approvedInPush=True, serverApproves=True, preApproval=True
):
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
    @param preApproval: whether the server offers pre-approvals (section
        3.4 makes them optional; ejabberd 23.01 does not offer them); if
        not, see L{checkRosterWithoutPreApproval}.
    """
    if not preApproval:
        checkRosterWithoutPreApproval(testCase, report)
        return
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


def checkRosterWithoutPreApproval(testCase, report):
    """
    slixroster.py on a server that does not offer pre-approvals (RFC 6121
    section 3.4, optional): the client sends none (it MUST NOT), so the
    push that adds carol gives the version it caches; the second login
    gets an empty result; bob's request, while alice is offline, is not
    approved for her (the scenario ran with C{approvalBarrier}) and
    changes nothing of her roster, so the third login, with the same
    version, gets an empty result too (section 2.6.3).
    """
    features = ["rosterver"]
    first = report["first"]
    testCase.assertIsInstance(first["ver"], str)
    testCase.assertEqual(
        {"sentVer": "", "query": True, "ver": first["ver"], "items": 0, "features": features},
        first,
    )
    cached = report["addPushVer"]
    testCase.assertNotIn(cached, (None, first["ver"]))
    testCase.assertIsNone(report["preApprovalPush"])
    testCase.assertEqual(cached, report["cached"])
    unchanged = {"sentVer": cached, "query": False, "ver": None, "items": 0, "features": features}
    testCase.assertEqual(unchanged, report["second"])
    testCase.assertIsNone(report["bobApprovedBy"])
    testCase.assertEqual(unchanged, report["third"])
    testCase.assertEqual(cached, report["thirdVer"])


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


def checkBookmarksReport(testCase, report, vcard="not-acceptable", legacyInOrder=True, compat=True):
    """
    Judge slixbookmarks.py's report: the account announces XEP-0402's
    compatibility, legacy bookmarks (XEP-0048 in XEP-0049 private XML) and
    native ones (XEP-0402) are the same list both ways.

    @param vcard: the error a private-XML set in C{vcard-temp} gets.
    @param legacyInOrder: whether the legacy list keeps the native node's
        order (mepserver does; XEP-0048 defines no order, and Prosody's
        differs).
    @param compat: whether the account announces XEP-0402's C{#compat}
        (section 5.3: a server that unifies the two forms SHOULD; ejabberd
        23.01 does not unify them, and announces XEP-0411's conversion to
        C{storage:bookmarks} instead); if not, the scenario leaves the
        native form alone, and the legacy list reads back as stored.
    """
    testCase.assertEqual(compat, "urn:xmpp:bookmarks:1#compat" in report["features"])
    if not compat:
        testCase.assertIsNone(report["native"])
        stored = [
            {"jid": "play@conference.localhost", "name": "The Play", "nick": "JC", "autojoin": True},
            {"jid": "orchard@conference.localhost", "name": "The Orchard", "nick": "Juliet", "autojoin": False},
        ]
        testCase.assertEqual(stored, report["legacy"])
        testCase.assertEqual(vcard, report["vcard"])
        return
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


def checkRemovalReport(testCase, report, ownNodes=(), answerFromFullJID=False):
    """
    slixremove.py: alice cancels her registration (XEP-0077 section 3.2);
    bob, her contact, is told with C{unsubscribe} and C{unsubscribed} and
    keeps an item at C{none}; alice, registered again with the same name,
    finds an empty roster, no tune node, no private XML and an empty block
    list.

    @param ownNodes: PEP nodes a server makes for every account by itself
        (Prosody 0.12's mod_bookmarks keeps C{storage:bookmarks}), which
        may be there before and after.
    @param answerFromFullJID: whether the result comes from alice's full
        JID (ejabberd 23.01) instead of no 'from' or her bare JID, which
        RFC 6120 section 8.1.2.1 requires of a stanza the server sends on
        behalf of the account.
    """
    testCase.assertEqual("both", report["bobBefore"])
    testCase.assertEqual(
        sorted({"http://jabber.org/protocol/tune", *ownNodes}), report["nodesBefore"]
    )
    testCase.assertEqual("result", report["cancelled"])
    if answerFromFullJID:
        testCase.assertTrue(report["cancelledFrom"].startswith("alice@localhost/"), report)
    else:
        testCase.assertIn(report["cancelledFrom"], ("", "alice@localhost"))
    testCase.assertEqual(
        {"unsubscribe": "alice@localhost", "unsubscribed": "alice@localhost"},
        report["bobTold"],
    )
    testCase.assertEqual("none", report["bobAfter"])
    testCase.assertEqual([], report["rosterAfter"])
    testCase.assertEqual(sorted(ownNodes), report["nodesAfter"])
    testCase.assertEqual("", report["privateAfter"])
    testCase.assertEqual([], report["blockedAfter"])

def checkMAMReport(testCase, report, extended=True, unknownAfter="item-not-found"):
    """
    slixmam.py: bob's archive (XEP-0313) holds alice's five chats once, in
    order, under the UIDs of the stanza-ids he received live (section
    2.3); his bare JID lists the features; his preferences are the
    default, always (XEP-0441); the metadata names the first and last
    (section 5); paging forwards with RSM C{<after/>} and backwards from
    the last page with C{<before/>} gives pages of two in chronological
    order, each fin's first and last its UIDs and the count five,
    C{complete='true'} on the last page in the direction of paging only
    (section 4.3.2: the others have none, or C{'false'}); an unknown UID
    is item-not-found; alice's own archive holds what she sent bob.

    @param extended: whether the archive advertises
        C{urn:xmpp:mam:2#extended} and so answers the metadata query
        (section 5; ejabberd 23.01 does neither); if not, the scenario
        asks for no metadata.
    @param unknownAfter: the answer to a page after a UID the archive
        does not hold: the item-not-found section 4.3.2 requires, or
        C{"result"} (ejabberd 23.01 ignores the UID and gives the first
        page).
    """
    bodies = [f"line {n}" for n in range(1, 6)]
    testCase.assertEqual(bodies, [m["body"] for m in report["live"]])
    ids = []
    for message in report["live"]:
        testCase.assertEqual(1, len(message["stanzaIds"]), message)
        ids.extend(message["stanzaIds"])
    testCase.assertEqual(5, len(set(ids)))
    for feature in ("urn:xmpp:mam:2", "urn:xmpp:sid:0"):
        testCase.assertIn(feature, report["features"])
    testCase.assertEqual(extended, "urn:xmpp:mam:2#extended" in report["features"])
    testCase.assertEqual(["always", [], []], report["prefs"])
    if extended:
        testCase.assertEqual({"start": ids[0], "end": ids[-1]}, report["metadata"])
    else:
        testCase.assertIsNone(report["metadata"])

    def checkPages(pages, expected):
        testCase.assertEqual(
            [[bodies[n] for n in page] for page in expected], [p["bodies"] for p in pages]
        )
        for page, positions in zip(pages, expected):
            pageIds = [ids[n] for n in positions]
            testCase.assertEqual(pageIds, page["ids"])
            testCase.assertEqual((pageIds[0], pageIds[-1]), (page["first"], page["last"]))
            testCase.assertEqual("5", page["count"])
        # Section 4.3.2 (paging): 'true' on the last page; on the others,
        # no attribute or 'false' (ejabberd writes it).
        testCase.assertEqual("true", pages[-1]["complete"])
        for page in pages[:-1]:
            testCase.assertIn(page["complete"], (None, "false"), page)

    checkPages(report["forward"], [[0, 1], [2, 3], [4]])
    checkPages(report["backward"], [[3, 4], [1, 2], [0]])
    testCase.assertEqual(unknownAfter, report["unknownAfter"])
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
        0.2, C{<apply-to/>}), or L{None} for a server without moderation
        (Prosody without the community module, ejabberd 23.01), whose room
        announces none.
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
        testCase.assertEqual(
            [], [f for f in report["features"] if f.startswith("urn:xmpp:message-moderate")]
        )
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


#: The room of slixmuc.py.
LOBBY = "lobby@conference.localhost"
NS_MUC_ROOMCONFIG = "http://jabber.org/protocol/muc#roomconfig"


def checkMUCReport(testCase, report, roomItemName="Lobby"):
    """
    slixmuc.py against XEP-0045 (version 1.35.5,
    C{/work/shared/specs/xep-0045.xml}): creation and configuration,
    entering, groupchat, a late joiner's history, a nick change, exit and
    room discovery, each checked by one of the functions below, which
    cite the sections they hold the service to. All run, and one failure
    lists every deviation.

    The room's own presence (C{room-presence}: from its bare JID, an
    entity's and no occupant's; ejabberd 23.01 sends one with the room's
    XEP-0115 caps before the in-room presences) is outside section 7.1's
    order of events, which is about in-room presence, and is left out of
    the event lists.

    @param roomItemName: the room's name in the service's disco#items:
        the configured name (XEP-0045 section 6.3's example), or ejabberd
        23.01's, which adds the number of occupants (C{"Lobby (2)"}; an
        item's name is for people, XEP-0030 section 4.2).
    """
    problems = []
    if not report.get("done"):
        problems.append(
            f"the scenario stopped at step {report.get('step')!r}: "
            f"{report.get('error')}\ntraces: " + json.dumps(report.get("traces"), indent=1)
        )
    for check, arguments in (
        (_checkCreation, {}),
        (_checkEntering, {}),
        (_checkGroupchat, {}),
        (_checkLateEntering, {}),
        (_checkNickChange, {}),
        (_checkExit, {}),
        (_checkDiscovery, {"roomItemName": roomItemName}),
    ):
        try:
            check(testCase, report, **arguments)
        except (testCase.failureException, KeyError, TypeError, IndexError) as e:
            summary = check.__doc__.strip().splitlines()[0]
            problems.append(f"{check.__name__} ({summary}): {type(e).__name__}: {e}")
    if problems:
        testCase.fail("\n\n".join(problems))


def _occupantEvents(events):
    """
    @return: C{events} without the room's own presences.
    """
    return [e for e in events if e != "room-presence"]


def _assertPresence(testCase, presence, sender, kind, codes=(), absent=(), **item):
    """
    One room presence: its sender, type, the status codes it must and must
    not carry, and attributes of its C{<item/>}.
    """
    testCase.assertEqual(f"{LOBBY}/{sender}", presence["from"], presence)
    testCase.assertEqual(kind, presence["type"], presence)
    for code in codes:
        testCase.assertIn(code, presence["codes"], presence)
    for code in absent:
        testCase.assertNotIn(code, presence["codes"], presence)
    for attribute, value in item.items():
        testCase.assertEqual(value, presence["item"].get(attribute), presence)


def _checkCreation(testCase, report):
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
    testCase.assertEqual([], _occupantEvents(creation["eventsBeforeSelfPresence"]))
    _assertPresence(
        testCase,
        creation["selfPresence"],
        "Alice",
        "available",
        codes=(110, 201),
        affiliation="owner",
        role="moderator",
    )
    form = report["configForm"]
    testCase.assertEqual("form", form["type"])
    testCase.assertEqual([NS_MUC_ROOMCONFIG], form["formType"])
    testCase.assertIn("muc#roomconfig_roomname", form["fields"])
    testCase.assertIn("muc#roomconfig_persistentroom", form["fields"])
    testCase.assertEqual("result", report["configSubmitted"])


def _checkEntering(testCase, report):
    """
    XEP-0045 section 7.1 (order of events) and 7.2.2 (presence
    broadcast): bob, entering the unlocked room, gets Alice's presence,
    then his self-presence (110, without 201: he created nothing), then
    the subject (7.2.15; there is no history yet). Alice gets Bob's
    presence, as a participant with no affiliation, without 110.
    """
    join = report["bobJoin"]
    testCase.assertEqual(
        ["presence:Alice", "self-presence", "subject"], _occupantEvents(join["events"])
    )
    _assertPresence(testCase, join["selfPresence"], "Bob", "available", (110,), (201,))
    _assertPresence(
        testCase, join["aliceSaw"], "Bob", "available", (), (110, 201),
        role="participant", affiliation="none",
    )
    testCase.assertEqual(["Alice", "Bob"], join["slixmppOccupants"])


def _checkGroupchat(testCase, report):
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
            testCase.assertEqual(f"{LOBBY}/{nick}", copy["from"], copy)
            testCase.assertEqual("groupchat", copy["type"], copy)
            testCase.assertEqual(body, copy["body"], copy)
            testCase.assertEqual(received["sentId"], copy["id"], copy)
            byRoom = [s for s in copy["stanzaIds"] if s.get("by") == LOBBY]
            testCase.assertEqual(1, len(byRoom), f"{name}'s copy: {copy}")
            testCase.assertTrue(byRoom[0].get("id"), copy)
            ids.add(byRoom[0]["id"])
        testCase.assertEqual(1, len(ids), f"stanza-ids of {body!r}: {ids}")
    testCase.assertIn("urn:xmpp:sid:0", report["roomInfo"]["features"])


def _checkLateEntering(testCase, report):
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
    events = _occupantEvents(join["events"])
    testCase.assertEqual(["presence:Alice", "presence:Bob"], sorted(events[:2]), events)
    testCase.assertEqual(
        [
            "self-presence",
            "history:Alice:Hello from Alice",
            "history:Bob:Hello from Bob",
            "subject",
        ],
        events[2:],
    )
    _assertPresence(testCase, join["selfPresence"], "Carol", "available", (110,), (201,))
    for occupant in join["occupants"]:
        testCase.assertNotIn(110, occupant["codes"], occupant)
        testCase.assertIn(occupant["item"].get("role"), ("moderator", "participant"))
    for message, nick in zip(join["history"], ("Alice", "Bob")):
        testCase.assertEqual(f"{LOBBY}/{nick}", message["from"], message)
        testCase.assertEqual("groupchat", message["type"], message)
        testCase.assertIsNotNone(message["delay"], message)
        testCase.assertEqual(LOBBY, message["delay"].get("from"), message)
        testCase.assertTrue(message["delay"].get("stamp"), message)
    subject = join["subject"]
    testCase.assertIsNone(subject["body"], subject)
    testCase.assertIsNotNone(subject["subject"], subject)
    testCase.assertEqual(LOBBY, subject["from"].split("/")[0], subject)
    testCase.assertEqual(["Alice", "Bob", "Carol"], join["slixmppOccupants"])
    testCase.assertEqual(["Hello from Alice", "Hello from Bob"], join["slixmppHistory"])


def _checkNickChange(testCase, report):
    """
    XEP-0045 section 7.6: every occupant gets an unavailable presence from
    the old occupant JID with status code 303 and the new nick in its
    item, then an available presence from the new occupant JID; the
    occupant who changed gets both with 110 too.
    """
    change = report["nickChange"]
    testCase.assertEqual("Robert", change["slixmppNick"])
    for name in ("alice", "carol", "bob"):
        own = (110,) if name == "bob" else ()
        notOwn = () if name == "bob" else (110,)
        presences = change[name]
        testCase.assertEqual(2, len(presences), f"{name}: {presences}")
        gone, back = presences
        _assertPresence(
            testCase, gone, "Bob", "unavailable", (303,) + own, notOwn, nick="Robert"
        )
        _assertPresence(testCase, back, "Robert", "available", own, (303,) + notOwn)


def _checkExit(testCase, report):
    """
    XEP-0045 section 7.14: the leaving occupant gets an unavailable
    self-presence (110) from its occupant JID, the others an
    unavailable presence without 110; the item's role is C{none}.
    """
    leave = report["leave"]
    _assertPresence(testCase, leave["bob"], "Robert", "unavailable", (110,), role="none")
    for name in ("alice", "carol"):
        _assertPresence(testCase, leave[name], "Robert", "unavailable", (), (110,), role="none")


def _checkDiscovery(testCase, report, roomItemName):
    """
    XEP-0045 section 6.3: the service's disco#items lists the (public)
    room with its name, "Lobby" as configured; section 6.4: the room's
    disco#info has a C{conference}/C{text} identity named "Lobby" and
    the C{muc_persistent} feature the configuration asked for (10.1.3).
    """
    items = report["discoItems"]
    testCase.assertIn(
        (LOBBY, roomItemName), [(i["jid"], i["name"]) for i in items], items
    )
    info = report["roomInfo"]
    testCase.assertIn(
        ("conference", "text", "Lobby"),
        [(i[0], i[1], i[3]) for i in info["identities"]],
        info,
    )
    testCase.assertIn("http://jabber.org/protocol/muc", info["features"])
    testCase.assertIn("muc_persistent", info["features"])


NS_TUNE = "http://jabber.org/protocol/tune"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_AVATAR_METADATA = "urn:xmpp:avatar:metadata"
NS_BOOKMARKS = "urn:xmpp:bookmarks:1"


def checkPEPReport(
    testCase,
    report,
    bookmarkPublished="result",
    eventIds=True,
    ownerCopies=1,
    lastItemsDelayed=True,
    lastItemCopies=1,
):
    """
    slixpep.py: juliet publishes a tune, an avatar and a bookmark; her
    contact romeo, whose caps carry +notify for the first two, gets them;
    her own resources get all three; the nurse, a contact without
    +notify, gets nothing; a later session of romeo gets the last items.

    @param bookmarkPublished: the answer to the bookmark's publish with
        XEP-0402's publish-options (section 3.3): C{"result"}, or the
        error of a server that refuses them (ejabberd 23.01 knows no
        C{pubsub#max_items} in publish-options and answers
        C{resource-constraint}; XEP-0402 requires the option), in which
        case no bookmark event may come and the answer to romeo's query
        for bookmarks is not judged.
    @param eventIds: whether notifications carry distinct ids; if not,
        none may (RFC 6120 section 8.1.3 makes a message's id optional;
        ejabberd 23.01 sends none).
    @param ownerCopies: how many copies of each notification asked for
        (+notify) each of the owner's resources gets: one, as XEP-0163
        sections 4 (rule 3) and 4.3.2 say; or two (ejabberd 23.01 sends
        the owner's resources one each and one to the owner's bare JID,
        which also brings the avatar data, never asked for).
    @param lastItemsDelayed: whether the last items sent to a new
        session carry a delay stamp (XEP-0060 section 6.1.7's SHOULD;
        ejabberd 23.01's carry none).
    @param lastItemCopies: how many copies of each last item the new
        session gets: one (XEP-0163 section 4.3.3), or two (ejabberd
        23.01 sends them on its presence and again on its caps).
    """
    events = report["events"]
    published = bookmarkPublished == "result"
    testCase.assertEqual(bookmarkPublished, report["bookmarkPublished"])
    for name, received in events.items():
        ids = [e["id"] for e in received]
        if eventIds:
            testCase.assertNotIn("", ids, name)
            testCase.assertEqual(len(ids), len(set(ids)), name)
        else:
            testCase.assertEqual([""] * len(ids), ids, name)
    _checkContact(testCase, events["romeo"], report["avatarId"])
    _checkOwner(testCase, events["chamber"], events["balcony"], published, ownerCopies)
    _checkUninterested(testCase, events["nurse"])
    _checkRetrieval(testCase, report, published)
    _checkLastItems(testCase, events["hall"], lastItemsDelayed, lastItemCopies)


def _live(events, node):
    return [e for e in events if e["node"] == node and not e["delay"]]


def _checkContact(testCase, events, avatarId):
    """
    XEP-0163 sections 4 and 4.3.1: romeo, a contact with tune+notify and
    avatar metadata+notify, gets one headline from juliet's bare JID
    for each, with the payload; bookmarks, on a whitelist node
    (XEP-0402's options), do not reach him.
    """
    [tune] = _live(events, NS_TUNE)
    testCase.assertEqual("juliet@localhost", tune["from"])
    testCase.assertEqual("headline", tune["type"])
    testCase.assertEqual("tune", tune["payload"].split("}")[-1])
    [metadata] = _live(events, NS_AVATAR_METADATA)
    testCase.assertEqual(avatarId, metadata["item"])
    testCase.assertEqual([], [e for e in events if e["node"] == NS_BOOKMARKS])
    testCase.assertEqual(2, len(events), events)


def _checkOwner(testCase, chamber, balcony, bookmarkPublished, copies):
    """
    XEP-0163 section 4 rule 3: the owner's resources get every event,
    the whitelist bookmark too (if it was published), from the owner's
    bare JID.
    """
    for events in (chamber, balcony):
        for node in (NS_TUNE, NS_AVATAR_METADATA):
            testCase.assertEqual(copies, len(_live(events, node)), (node, events))
        testCase.assertEqual(
            copies if bookmarkPublished else 0, len(_live(events, NS_BOOKMARKS)), events
        )
        testCase.assertEqual({"juliet@localhost"}, {e["from"] for e in events})
        if copies > 1:
            # The copy to the bare JID, whatever the caps.
            testCase.assertEqual(1, len(_live(events, NS_AVATAR_DATA)), events)
    if bookmarkPublished:
        testCase.assertEqual(
            ["coven@chat.shakespeare.lit"] * copies,
            [e["item"] for e in _live(chamber, NS_BOOKMARKS)],
        )


def _checkUninterested(testCase, events):
    """
    XEP-0163 section 4.3 (filtered notifications): the nurse's caps
    carry no +notify: nothing.
    """
    testCase.assertEqual([], events)


def _checkRetrieval(testCase, report, bookmarkPublished):
    """
    XEP-0084 section 4.4 (retrieve the data by id) and XEP-0060 section
    6.5.9.8 (whitelist: not-allowed for a contact).
    """
    testCase.assertTrue(report["avatarDataMatches"])
    if bookmarkPublished:
        testCase.assertEqual("not-allowed", report["bookmarksForRomeo"])


def _checkLastItems(testCase, events, delayed, copies):
    """
    XEP-0163 section 4.3.3: romeo's new session gets the last tune and
    avatar metadata (with delay stamps, XEP-0060 section 6.1.7); no
    bookmark, and nothing else.
    """
    testCase.assertEqual(
        sorted([NS_TUNE, NS_AVATAR_METADATA] * copies), sorted(e["node"] for e in events)
    )
    testCase.assertEqual([delayed] * len(events), [e["delay"] for e in events])


def checkVCardReport(testCase, report, room, vcardToPEP=False):
    """
    slixvcard.py: the server lists vcard-temp (XEP-0054 section 4) and
    alice's account the PEP-to-vCard conversion (XEP-0398 section 2);
    alice's own vCard starts empty; the hash of the avatar she sets with
    XEP-0153 reaches bob in her presence (section 3.2), and her vCard gives
    him the image; through the room, alice's occupant JID answers with the
    same vCard (XEP-0045 section 17.4); the avatar she then publishes with
    XEP-0084 becomes her vCard PHOTO (XEP-0398 section 3), its hash in her
    presence. Every presence of alice bob saw carried an update element.

    @param room: the room's bare JID.
    @param vcardToPEP: whether the server also converts the vCard avatar
        to XEP-0084 nodes (the optional direction of XEP-0398 section 3:
        ejabberd 23.01's mod_avatar does, with its own default access
        model), so that the open publish-options of the second avatar meet
        precondition-not-met (XEP-0060 section 7.1.5) and the client
        configures both nodes open first; mepserver does not convert that
        way, and the nodes are made by the publish.
    """
    hashes = report["hashes"]
    testCase.assertIn("vcard-temp", report["serverFeatures"])
    testCase.assertIn("urn:xmpp:pep-vcard-conversion:0", report["accountFeatures"])
    testCase.assertTrue(report["ownEmpty"])
    testCase.assertTrue(report["firstFrom"].startswith("alice@localhost/"))
    testCase.assertEqual(hashes["first"], report["firstPhoto"])
    testCase.assertEqual(f"{room}/Alice", report["occupantFrom"])
    testCase.assertEqual(hashes["first"], report["occupantPhoto"])
    testCase.assertEqual(
        ["urn:xmpp:avatar:data", "urn:xmpp:avatar:metadata"] if vcardToPEP else [],
        report["reconfigured"],
    )
    testCase.assertTrue(report["secondFrom"].startswith("alice@localhost/"))
    testCase.assertEqual(hashes["second"], report["secondPhoto"])
    testCase.assertEqual("image/png", report["secondType"])
    testCase.assertNotIn(None, report["seen"])


#: What slixupload.py uploads in the tests: name, content and type.
UPLOAD_NAME = "très cool.txt"
UPLOAD_CONTENT = "Wherefore art thou? ✉"
UPLOAD_TYPE = "text/plain; charset=utf-8"


async def checkUpload(
    testCase,
    report,
    service,
    maxFileSize,
    urlPrefix,
    fileName="tr%C3%A8s%20cool.txt",
    servedType=UPLOAD_TYPE,
    cors="*",
):
    """
    slixupload.py, which uploaded L{UPLOAD_CONTENT} as L{UPLOAD_NAME} of
    type L{UPLOAD_TYPE}: slixmpp found C{service} and its max-file-size
    (XEP-0363 section 3) and got a slot whose GET URL is under
    C{urlPrefix}; the PUT succeeded (the plugin checks its status); a GET
    of the URL (with treq) serves the same bytes (section 5).

    The URL's shape, the served type and CORS are the service's to choose
    (sections 4 and 5, and section 9's SHOULD of CORS headers, whose
    values it leaves out of scope); mepserver's choices are the defaults.

    @param fileName: how the URL ends: the file name, percent-encoded
        (ejabberd 23.01 puts C{_} for the space).
    @param servedType: the Content-Type of the GET: the declared one
        (mepserver), or ejabberd's, from the file's extension alone.
    @param cors: the GET's C{Access-Control-Allow-Origin}, or L{None}
        for none (ejabberd sends CORS headers only when configured to).
    """
    import treq
    from twisted.internet import reactor
    from twisted.web.client import HTTPConnectionPool

    testCase.assertEqual(service, report["service"])
    testCase.assertEqual(str(maxFileSize), report["maxFileSize"])
    url = report["url"]
    testCase.assertTrue(url.startswith(urlPrefix), url)
    testCase.assertTrue(url.endswith("/" + fileName), url)

    pool = HTTPConnectionPool(reactor, persistent=False)
    testCase.addCleanup(pool.closeCachedConnections)
    response = await treq.get(url, pool=pool)
    testCase.assertEqual(200, response.code)
    testCase.assertEqual(UPLOAD_CONTENT.encode("utf-8"), await response.content())
    testCase.assertEqual(
        [servedType.encode("ascii")], response.headers.getRawHeaders(b"content-type")
    )
    testCase.assertEqual(
        None if cors is None else [cors.encode("ascii")],
        response.headers.getRawHeaders(b"access-control-allow-origin"),
    )
