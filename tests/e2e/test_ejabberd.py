# -*- test-case-name: tests.e2e.test_ejabberd -*-
"""
The ejabberd reference tier: the slixmpp scenarios that judge mepserver
and Prosody (L{tests.e2e.test_prosody}) run, with the same settings,
against a real ejabberd (L{tests.e2e.ejabberd}) and are judged by the same
checks (L{tests.e2e.slixchecks}).

Where ejabberd differs, each difference is a parameter of the shared
check, explained in the test's docstring with the section that allows it;
where ejabberd breaks a rule of the specification, the parameter allows
for it without mepserver copying it. The README's "Test tiers" lists what
passed and what differs.

ejabberd takes seconds to start, so the tier is opt-in:

    MEPSERVER_EJABBERD=1 python -m pytest tests/e2e/test_ejabberd.py

and all its tests share one ejabberd (Debian's 23.01, run as root), each
with accounts of its own: C{<name>-<tag>@localhost}, where the tag is the
test's. The checks know the accounts by their names (C{alice@localhost}),
so each report is read with the test's account names put back
(L{EjabberdTestCase.canonical}).
"""

import json
import os
import re
import signal
import subprocess
import sys

from twisted.trial import unittest

from tests.e2e import ejabberdguard
from tests.e2e.ejabberd import GUARD, skipUnlessEjabberd, startEjabberd
from tests.e2e.slixchecks import (
    UPLOAD_CONTENT,
    UPLOAD_NAME,
    UPLOAD_TYPE,
    checkBlockingReport,
    checkBookmarksReport,
    checkCarbonsReport,
    checkClientReport,
    checkMAMReport,
    checkMUCReport,
    checkOfflineReport,
    checkPEPReport,
    checkRemovalReport,
    checkResumptionReport,
    checkRoomArchiveReport,
    checkRosterReport,
    checkUpload,
    checkVCardReport,
)
from tests.e2e.slixrun import (
    createAccounts,
    offlineSettings,
    registrationSettings,
    runScenario,
    runScript,
    serverSettings,
)


class EjabberdTestCase(unittest.TestCase):
    """
    A test against the shared ejabberd, with accounts of its own.

    @cvar tag: the suffix of this test's account names.
    @ivar ejabberd: the L{tests.e2e.ejabberd.RunningEjabberd}, once
        L{start} returned.
    """

    timeout = 120
    tag = None

    def setUp(self):
        skipUnlessEjabberd()
        self._names = {}

    async def start(self):
        """
        @return: the shared ejabberd, started if this is the first test.
        """
        self.ejabberd = await startEjabberd(self)
        return self.ejabberd

    def username(self, name):
        """
        @return: this test's user name for C{name}: C{<name>-<tag>}.
        """
        unique = f"{name}-{self.tag}"
        self._names[unique] = name
        return unique

    async def accounts(self, *names):
        """
        Register this test's account for each name, with password
        C{<name>-secret}.

        @return: C{{name: [address, password]}}.
        """
        return await createAccounts(self.ejabberd, names, self.username)

    def canonical(self, report):
        """
        @return: C{report} with this test's accounts called by their names
            (C{alice-roster@localhost/x} becomes C{alice@localhost/x}),
            as the checks know them; the mapping is one to one, so no two
            accounts become one.
        """
        text = json.dumps(report)
        for unique, name in self._names.items():
            text = re.sub(rf"(?<![\w.-]){re.escape(unique)}@", f"{name}@", text)
        return json.loads(text)

    async def scenario(self, script, settings):
        """
        Run C{script} with C{settings} and check that it completed.

        @return: its report, L{canonical}.
        """
        return self.canonical(await runScenario(self, script, settings))


class EjabberdClientTests(EjabberdTestCase):
    """
    slixclient.py, as L{tests.e2e.test_c2s.SlixmppTests}.
    """

    tag = "client"

    async def test_scenario(self):
        """
        slixmpp registers in-band over STARTTLS, logs in with SCRAM, gets
        its roster, sends client states, pings the server and a second
        client's full JID, gets both versions, messages it and subscribes
        to its presence.

        Differences, protocol outcome alike: ejabberd (its SCRAM store
        being SHA-1, the default) offers SCRAM-SHA-1 as its strongest
        mechanism, and names its software ejabberd.
        """
        ejabberd = await self.start()
        settings = await registrationSettings(ejabberd, self.username)
        report = await self.scenario("slixclient.py", settings)
        checkClientReport(self, report, "SCRAM-SHA-1", "ejabberd")


class EjabberdCarbonsTests(EjabberdTestCase):
    """
    slixcarbons.py, as L{tests.e2e.test_c2s.SlixmppCarbonsTests}.
    """

    tag = "carbons"

    async def test_carbons(self):
        """
        Received and sent carbons reach romeo's other resource from his
        bare JID, forwarding the messages as sent; nothing else arrives.
        No difference.
        """
        ejabberd = await self.start()
        accounts = await self.accounts("romeo", "juliet")
        report = await self.scenario("slixcarbons.py", serverSettings(ejabberd, accounts=accounts))
        checkCarbonsReport(self, report)


class EjabberdBlockingTests(EjabberdTestCase):
    """
    slixblock.py, as L{tests.e2e.test_c2s.SlixmppBlockingTests}.
    """

    tag = "blocking"

    async def test_blocking(self):
        """
        The block list, its pushes and both bounces.

        ejabberd's deviation, allowed for and not copied: alice's own
        message to blocked bob comes back not-acceptable, as XEP-0191
        section 3.3 says, but without the C{<blocked
        xmlns='urn:xmpp:blocking:errors'/>} the section requires (ejabberd
        blocks through its privacy lists, XEP-0016, and sends their
        error).
        """
        ejabberd = await self.start()
        accounts = await self.accounts("alice", "bob", "carol")
        report = await self.scenario("slixblock.py", serverSettings(ejabberd, accounts=accounts))
        checkBlockingReport(self, report, blockedCondition=False)


class EjabberdStreamManagementTests(EjabberdTestCase):
    """
    slixsm.py, as L{tests.e2e.test_c2s.SlixmppStreamManagementTests}.
    """

    tag = "sm"

    async def test_resumption(self):
        """
        slixmpp resumes its session after its connection was killed, with
        the same full JID, and gets the message sent meanwhile. No
        difference.
        """
        ejabberd = await self.start()
        accounts = await self.accounts("alice", "bob")
        report = await self.scenario("slixsm.py", serverSettings(ejabberd, accounts=accounts))
        checkResumptionReport(self, report)


class EjabberdRosterTests(EjabberdTestCase):
    """
    slixroster.py, as L{tests.e2e.test_roster.SlixmppRosterTests}.
    """

    tag = "roster"

    async def test_versionedLoginsAndPreApproval(self):
        """
        Roster versioning over three logins.

        Difference: ejabberd 23.01 does not offer pre-approvals (RFC 6121
        section 3.4 makes them optional), so slixmpp sends none (a client
        MUST NOT) and bob's request, while alice is offline, waits for
        her (the scenario runs with C{approvalBarrier}); her roster does
        not change, and the third login, with the version of the push
        that added carol, gets an empty result as the second did.
        ejabberd's versions are hashes of the roster (opaque, section
        2.6.1).
        """
        ejabberd = await self.start()
        settings = serverSettings(
            ejabberd,
            accounts=await self.accounts("alice", "bob"),
            carol=f"{self.username('carol')}@{ejabberd.domain}",
            approvalBarrier=True,
        )
        report = await self.scenario("slixroster.py", settings)
        checkRosterReport(self, report, preApproval=False)


class EjabberdMAMTests(EjabberdTestCase):
    """
    slixmam.py, as L{tests.e2e.test_mam.SlixmppMAMTests}.
    """

    tag = "mam"

    async def test_scenario(self):
        """
        ejabberd's mod_mam (C{default: always}) passes the rest of the
        check: five chats archived once each under the live stanza-ids,
        pages of two forwards and backwards with the same first, last and
        count, the default preferences, and the sender's own archive.

        Differences: ejabberd 23.01 does not advertise
        C{urn:xmpp:mam:2#extended}, so slixmpp asks for no metadata
        (XEP-0313 section 5); it writes C{complete='false'} on the pages
        before the last (section 4.3.2 allows it; the check now does too).
        ejabberd's deviation, allowed for and not copied: a page after a
        UID the archive does not hold is the first page, where section
        4.3.2 requires item-not-found.
        """
        ejabberd = await self.start()
        accounts = await self.accounts("alice", "bob")
        report = await self.scenario("slixmam.py", serverSettings(ejabberd, accounts=accounts))
        checkMAMReport(self, report, extended=False, unknownAfter="result")
        self.assertEqual(
            ["line 1", "line 2"], report["unknownAfterPage"]["bodies"], report
        )


class EjabberdOfflineTests(EjabberdTestCase):
    """
    slixoffline.py, as L{tests.e2e.test_offline.SlixmppOfflineTests}.
    """

    tag = "offline"

    async def test_offlineMessage(self):
        """
        alice's chat message to offline bob (sent with Twisted's client)
        is neither delivered nor bounced, and reaches slixmpp at bob's
        login, as sent, stamped by the server. Difference: ejabberd runs
        on the real clock, so the stamp is only checked to be a UTC
        DateTime.
        """
        ejabberd = await self.start()
        settings = await offlineSettings(ejabberd, self.username)
        report = await self.scenario("slixoffline.py", settings)
        checkOfflineReport(self, report)


class EjabberdBookmarksTests(EjabberdTestCase):
    """
    slixbookmarks.py, as L{tests.e2e.test_bookmarks.SlixmppBookmarksTests}.
    """

    tag = "bookmarks"

    async def test_legacyForm(self):
        """
        Legacy bookmarks in private XML (XEP-0049) read back as stored.

        Differences: ejabberd 23.01 does not unify them with PEP Native
        Bookmarks (XEP-0402 section 5.3 makes it optional) and does not
        announce C{urn:xmpp:bookmarks:1#compat}, so the scenario leaves
        the native form alone (ejabberd announces XEP-0411's conversion
        to the C{storage:bookmarks} node instead); and it stores private
        XML in the reserved namespace vcard-temp, as Prosody does
        (XEP-0049 section 4 makes refusing optional).
        """
        ejabberd = await self.start()
        accounts = await self.accounts("alice")
        settings = serverSettings(
            ejabberd, jid=accounts["alice"][0], password=accounts["alice"][1]
        )
        report = await self.scenario("slixbookmarks.py", settings)
        checkBookmarksReport(self, report, vcard="stored", compat=False)


class EjabberdRemovalTests(EjabberdTestCase):
    """
    slixremove.py, as L{tests.e2e.test_c2s.SlixmppRemovalTests}.
    """

    tag = "removal"

    async def test_removal(self):
        """
        alice cancels her registration: ejabberd unsubscribes her contact
        both ways and deletes her data, and alice registered again starts
        empty.

        ejabberd's deviation, allowed for and not copied: the IQ result
        comes from alice's full JID, where RFC 6120 section 8.1.2.1 wants
        no 'from' or her bare JID, so slixmpp's own request would not
        match it (the scenario takes the answer by its id). ejabberd's
        disco#items of her account lists her available resources beside
        the PEP nodes (items without a node; the scenario reads nodes).
        """
        ejabberd = await self.start()
        settings = await registrationSettings(ejabberd, self.username)
        report = await self.scenario("slixremove.py", settings)
        checkRemovalReport(self, report, answerFromFullJID=True)


class EjabberdRoomArchiveTests(EjabberdTestCase):
    """
    slixmucmam.py, as L{tests.e2e.test_muc_archive.SlixmppRoomArchiveTests},
    against ejabberd's mod_muc with mod_mam (rooms archive by default:
    C{default_room_options: mam: true}).
    """

    tag = "mucmam"

    async def test_scenario(self):
        """
        A late joiner loads the room's history from the room's archive
        under the live stanza-ids; the moderator's results carry the
        senders' real JIDs, as mepserver's do.

        Difference: ejabberd 23.01 has no message moderation (XEP-0425;
        the room announces no C{urn:xmpp:message-moderate}), so the
        moderation steps are left out.
        """
        ejabberd = await self.start()
        settings = serverSettings(
            ejabberd,
            mucDomain=ejabberd.mucDomain,
            accounts=await self.accounts("alice", "bob", "carol"),
            moderation=None,
        )
        report = await self.scenario("slixmucmam.py", settings)
        checkRoomArchiveReport(self, report, moderation=None)


class EjabberdMUCTests(EjabberdTestCase):
    """
    slixmuc.py, as L{tests.e2e.test_muc_interop.SlixmppMUCTests}, against
    ejabberd's mod_muc.
    """

    tag = "muc"

    async def test_scenario(self):
        """
        Creation and configuration, entering, groupchat with stanza-ids, a
        late joiner's history and subject, a nick change, exit and
        discovery, each in XEP-0045's order.

        Differences: ejabberd sends each joining occupant the room's own
        presence (from its bare JID, with the room's XEP-0115 caps) first,
        which is no in-room presence and so outside section 7.1's order
        (the check leaves it out); and its disco#items names the room with
        its number of occupants, C{Lobby (2)} (names are for people,
        XEP-0030 section 4.2).
        """
        ejabberd = await self.start()
        accounts = await self.accounts("alice", "bob", "carol")
        settings = serverSettings(ejabberd, mucDomain=ejabberd.mucDomain, accounts=accounts)
        out, err, code = await runScript(self, "slixmuc.py", settings)
        lines = out.decode().strip().splitlines()
        self.assertTrue(lines, f"no report; stderr={err.decode()[-3000:]}")
        report = self.canonical(json.loads(lines[-1]))
        checkMUCReport(self, report, roomItemName="Lobby (2)")
        self.assertIn("room-presence", report["bobJoin"]["events"])
        self.assertEqual(0, code)


class EjabberdPEPTests(EjabberdTestCase):
    """
    slixpep.py, as L{tests.e2e.test_pep_interop.SlixmppPEPTests}, against
    ejabberd's mod_pubsub (PEP), the three accounts contacts of each other
    through ejabberd's admin API.
    """

    tag = "pep"

    async def test_scenario(self):
        """
        The tune and the avatar reach the contact whose caps ask for them,
        and juliet's own resources; not the contact whose caps do not; a
        later session gets the last items.

        Differences: ejabberd 23.01 refuses XEP-0402's publish-options
        (it knows no C{pubsub#max_items} there) with resource-constraint,
        so no bookmark is published and none notified; its notifications
        carry no id (RFC 6120 section 8.1.3 makes it optional); and the
        last items a new session gets carry no delay stamp (XEP-0060
        section 6.1.7's SHOULD).

        ejabberd's deviations, allowed for and not copied: each of the
        owner's resources gets every notification twice, its own and the
        copy ejabberd sends the owner's bare JID, which also brings the
        avatar data the resources never asked for (XEP-0163 section 4,
        rule 3, and section 4.3.2: one each, filtered); and the new
        session gets each last item twice, on its presence and again on
        its caps (section 4.3.3: one).
        """
        ejabberd = await self.start()
        accounts = await self.accounts("juliet", "romeo", "nurse")
        for name in accounts:
            for other in accounts:
                if other != name:
                    await ejabberd.addRosterItem(self.username(name), accounts[other][0])
        out, err, code = await runScript(
            self, "slixpep.py", serverSettings(ejabberd, accounts=accounts)
        )
        lines = out.decode().strip().splitlines()
        self.assertTrue(lines, f"no report; stderr={err.decode()[-3000:]}")
        report = self.canonical(json.loads(lines[-1]))
        self.assertTrue(report.get("done"), report)
        self.assertEqual(0, code)
        checkPEPReport(
            self,
            report,
            bookmarkPublished="resource-constraint",
            eventIds=False,
            ownerCopies=2,
            lastItemsDelayed=False,
            lastItemCopies=2,
        )


class EjabberdVCardTests(EjabberdTestCase):
    """
    slixvcard.py, as L{tests.e2e.test_vcard.SlixmppVCardTests}, with
    ejabberd's mod_vcard, mod_vcard_xupdate and mod_avatar (XEP-0398).
    """

    tag = "vcard"

    async def test_vcardsAndAvatars(self):
        """
        vCards, the avatar hash in presence, the vCard of an occupant JID,
        and a XEP-0084 avatar that becomes the vCard PHOTO.

        Difference: ejabberd's mod_avatar also turns the vCard avatar into
        XEP-0084 nodes (the optional direction of XEP-0398 section 3),
        with its default access model, so the second avatar's open
        publish-options meet precondition-not-met (XEP-0060 section
        7.1.5) and slixmpp configures both nodes open first.
        """
        ejabberd = await self.start()
        accounts = await self.accounts("alice", "bob")
        await ejabberd.addRosterItem(self.username("alice"), accounts["bob"][0])
        await ejabberd.addRosterItem(self.username("bob"), accounts["alice"][0])
        room = await ejabberd.createRoom("vcards")
        settings = serverSettings(ejabberd, accounts=accounts, room=room.userhost())
        report = await self.scenario("slixvcard.py", settings)
        checkVCardReport(self, report, room.userhost(), vcardToPEP=True)


class EjabberdUploadTests(EjabberdTestCase):
    """
    slixupload.py, as L{tests.e2e.test_upload.SlixmppUploadTests}, against
    ejabberd's mod_http_upload on its HTTP port.
    """

    tag = "upload"

    async def test_upload(self):
        """
        slixmpp finds C{upload.localhost} and its max-file-size, gets a
        slot and PUTs the file; the GET serves the same bytes.

        Differences, all the service's to choose (XEP-0363 sections 4, 5
        and 9): ejabberd puts C{_} for the space in the URL's file name,
        serves the type of the file's extension (C{text/plain}, not the
        declared one), and sends no CORS header unless configured to; and
        its disco#info gives a second form, for the legacy
        C{urn:xmpp:http:upload}, before the one of
        C{urn:xmpp:http:upload:0} (the scenario now chooses by
        FORM_TYPE).
        """
        ejabberd = await self.start()
        accounts = await self.accounts("romeo")
        settings = serverSettings(
            ejabberd,
            jid=accounts["romeo"][0],
            password=accounts["romeo"][1],
            filename=UPLOAD_NAME,
            content=UPLOAD_CONTENT,
            contentType=UPLOAD_TYPE,
        )
        report = await self.scenario("slixupload.py", settings)
        await checkUpload(
            self,
            report,
            ejabberd.uploadDomain,
            ejabberd.uploadMaxSize,
            f"http://127.0.0.1:{ejabberd.httpPort}/upload/",
            fileName="tr%C3%A8s_cool.txt",
            servedType="text/plain",
            cors=None,
        )


#: A stand-in for the Erlang VM under test: named like it (C{beam} in its
#: first argument, C{-s ejabberd} after), in a session of its own as
#: C{su} puts it; it says it runs, and exits 7 on SIGTERM.
FAKE_VM = """
import os, signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
print("ready", os.getpid(), flush=True)
while True:
    signal.pause()
"""

#: A stand-in for C{ejabberdctl foreground}: it runs L{FAKE_VM} and exits
#: with its code.
FAKE_CTL = """
import subprocess, sys
vm = subprocess.Popen(
    ["fake-beam.smp", "-S", "-c", sys.argv[1], "-s", "ejabberd"],
    executable=sys.executable,
    start_new_session=True,
)
sys.exit(vm.wait())
"""


class GuardTests(unittest.SynchronousTestCase):
    """
    C{ejabberdguard.py}, the parent that stops ejabberd, on stand-ins for
    C{ejabberdctl} and the VM (L{FAKE_CTL}, L{FAKE_VM}): it runs whenever
    the suite does, in a few processes of Python.
    """

    def guard(self, command):
        """
        Start the guard on C{command} in a new directory.

        @return: the guard's L{subprocess.Popen} (input and output piped)
            and the directory.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        popen = subprocess.Popen(
            [sys.executable, "-S", GUARD, directory, *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.addCleanup(popen.stdout.close)

        def stopped():
            # A guard that a failed test left running, and what it runs.
            if popen.poll() is None:
                ejabberdguard.killTree(popen.pid)
                popen.wait()

        self.addCleanup(stopped)
        return popen, directory

    def startFake(self):
        """
        Start the guard on the stand-ins and wait until the VM runs.

        @return: the guard, its directory, and the VM's process id.
        """
        popen, directory = self.guard([sys.executable, "-S", "-c", FAKE_CTL, FAKE_VM])
        line = popen.stdout.readline().split()
        self.assertEqual(b"ready", line[0])
        return popen, directory, int(line[1])

    def assertGone(self, pid):
        """
        Process C{pid} has ended (it is gone, or a zombie nobody reaps).
        """
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        self.assertEqual(b"Z", state, f"process {pid} still runs")

    def test_stopsWhenUp(self):
        """
        Once told C{up}, the guard answers the end of its input with
        SIGTERM to the VM, found in its own session below C{ejabberdctl}:
        the VM's orderly exit code comes back as the guard's, and the
        directory is removed.
        """
        popen, directory, vm = self.startFake()
        popen.stdin.write(b"up\n")
        popen.stdin.close()
        self.assertEqual(7, popen.wait(ejabberdguard.STOP_LIMIT))
        self.assertGone(vm)
        self.assertFalse(os.path.exists(directory))

    def test_killsBeforeUp(self):
        """
        Before C{up} (the VM may be creating its database, which a
        shutdown leaves hung), the end of the guard's input kills the
        whole tree with SIGKILL, the VM in its own session too.
        """
        popen, directory, vm = self.startFake()
        popen.stdin.close()
        self.assertEqual(128 + signal.SIGKILL, popen.wait(ejabberdguard.STOP_LIMIT))
        self.assertGone(vm)
        self.assertFalse(os.path.exists(directory))

    def test_endsWithItsChild(self):
        """
        A child that ends by itself (an ejabberd that did not start) ends
        the guard with its code, and the directory, with the log that
        says why, stays for the test process to read.
        """
        popen, directory = self.guard([sys.executable, "-S", "-c", "import sys; sys.exit(3)"])
        self.assertEqual(3, popen.wait(ejabberdguard.STOP_LIMIT))
        self.assertTrue(os.path.isdir(directory))
        popen.stdin.close()
