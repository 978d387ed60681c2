# -*- test-case-name: tests.e2e.test_durability -*-
"""
Durability: what the server acknowledged is on disk. mepserver runs under
C{twistd} in a child process with its default storage, SQLite; a client
stores account data, each set acknowledged with its IQ result, and sends
messages another client receives, then the process is killed with SIGKILL
(no shutdown work runs), started again on the same data directory, and new
sessions read everything back, the messages from both message archives
(XEP-0313); and a room's archive keeps the groupchat messages its
occupants received just before a kill. The second twistd loads its code
while the first one runs, and starts (reads its configuration, opens the
data directory) only after the kill.
"""

import os
import sys

from twisted.internet import reactor
from twisted.trial import unittest
from twisted.words.protocols.jabber.jid import JID

from mepserver.testing.client import Account
from tests.e2e.external import ExternalServer, pickPort
from tests.helpers import parseXml

#: The project's root: twistd finds the plugin in its twisted/plugins.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Run twistd once a line arrives on standard input: the code it needs
#: (twistd, its plugins, mepserver) is loaded before, everything that
#: touches the data directory after (L{KillTests.prepare}).
RUN_TWISTD = (
    "import sys;"
    " from twisted.application.service import IServiceMaker;"
    " from twisted.plugin import getPlugins;"
    " from twisted.scripts.twistd import run;"
    " import mepserver.server, mepserver.tap;"
    " list(getPlugins(IServiceMaker));"
    " sys.stdin.readline();"
    " run()"
)

CONFIG = """\
[server]
domain = localhost
data_dir = {data}

[storage]
backend = sqlite

[c2s]
listen = tcp:{c2s}:interface=127.0.0.1
direct_tls_listen = off

[http]
listen = tcp:{http}:interface=127.0.0.1

[users]
alice = alice-secret
bob = b0b-secret
"""

VCARD = "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN></vCard>"
PRIVATE = "<notes xmlns='urn:example:notes'><note>the rabbit hole</note></notes>"
ALICE = Account(JID("alice@localhost"), "alice-secret")
BOB = Account(JID("bob@localhost"), "b0b-secret")
NS_MAM = "urn:xmpp:mam:2"
NS_SID = "urn:xmpp:sid:0"
LINES = ["Curiouser", "and curiouser!", "cried Alice"]


def iq(kind, payload, to=None):
    """
    An IQ request with C{payload} (an XML literal).
    """
    target = f" to='{to}'" if to else ""
    return parseXml(f"<iq type='{kind}'{target}>{payload}</iq>", "jabber:client")


class KillTests(unittest.TestCase):
    """
    SIGKILL right after acknowledged sets loses none of them.
    """

    timeout = 60

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.data = os.path.join(self.directory, "data")

    def prepare(self, name):
        """
        Start C{twistd -n mepserver} with a configuration of its own, named
        C{name}, for the data directory and new ports; it loads its code
        and waits for L{ExternalServer.release}, so that a restart can
        load while the server before it still runs.

        @return: the L{ExternalServer}.
        """
        configPath = os.path.join(self.directory, name + ".ini")
        c2s = pickPort()
        with open(configPath, "w") as f:
            f.write(CONFIG.format(data=self.data, c2s=c2s, http=pickPort()))
        log = os.path.join(self.directory, "twistd.log")
        server = ExternalServer(
            reactor,
            self.directory,
            c2s,
            os.path.join(self.data, "tls", "cert.pem"),
            log,
        )
        self.addCleanup(server.stop)
        server.hold(
            sys.executable,
            [
                sys.executable,
                "-c",
                RUN_TWISTD,
                "-n",
                "--pidfile",
                os.path.join(self.directory, "twistd.pid"),
                "--logfile",
                log,
                "mepserver",
                "-c",
                configPath,
            ],
            path=ROOT,
        )
        return server

    async def assertResult(self, client, request):
        answer = await client.request(request)
        self.assertEqual("result", answer["type"], answer.toXml())
        return answer

    async def archive(self, client, to=None):
        """
        Query a message archive, one page: the client's own, or that of
        the room C{to}.

        @return: the result messages' UIDs and bodies, in order.
        """
        results = []
        client.xmlstream.addObserver(f"/message/result[@xmlns='{NS_MAM}']", results.append)
        await self.assertResult(client, iq("set", f"<query xmlns='{NS_MAM}'/>", to))
        forwarded = [
            next(r.result.forwarded.elements("jabber:client", "message")) for r in results
        ]
        return [(r.result["id"], str(m.body)) for r, m in zip(results, forwarded)]

    async def received(self, client, lines):
        """
        Wait for a message with each of C{lines} as its body.

        @return: the UIDs of their XEP-0359 stanza-ids and the lines.
        """
        received = []
        for line in lines:
            message = await client.waitFor(
                lambda m, line=line: m.name == "message" and str(m.body) == line
            )
            [stanzaId] = list(message.elements(NS_SID, "stanza-id"))
            received.append((stanzaId["id"], line))
        return received

    async def test_acknowledgedSetsSurviveKill(self):
        """
        A roster item, a vCard (XEP-0054) and private XML (XEP-0049), each
        acknowledged, are all there after SIGKILL and a restart; so are
        the messages alice sent bob and he received just before the kill,
        in his archive under the stanza-ids he got, and in hers; and the
        groupchat messages of a persistent room that alice received back
        just before the kill, in the room's archive (XEP-0313 section
        7.1.2) under the stanza-ids they carried (the room broadcasts a
        message once its entry is written).
        """
        room = "tea@conference.localhost"
        roomLines = [f"tea: {line}" for line in LINES]
        server = self.prepare("first")
        restarted = self.prepare("restarted")
        await server.release()
        client = await server.connectClient(ALICE, "desk")
        phone = await server.connectClient(BOB, "phone")
        await self.assertResult(
            client,
            iq(
                "set",
                "<query xmlns='jabber:iq:roster'>"
                "<item jid='rabbit@localhost' name='White Rabbit'/></query>",
            ),
        )
        await self.assertResult(client, iq("set", VCARD))
        await self.assertResult(
            client, iq("set", f"<query xmlns='jabber:iq:private'>{PRIVATE}</query>")
        )
        client.send(
            parseXml(
                f"<presence to='{room}/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
                "jabber:client",
            )
        )
        await client.waitFor(lambda e: e.name == "presence" and e.getAttribute("from") == f"{room}/Alice")
        await self.assertResult(
            client,
            iq(
                "set",
                "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                "<x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'>"
                "<value>1</value></field></x></query>",
                room,
            ),
        )
        for line in LINES:
            client.send(
                parseXml(
                    f"<message to='bob@localhost/phone' type='chat'><body>{line}</body></message>",
                    "jabber:client",
                )
            )
        for line in roomLines:
            client.send(
                parseXml(
                    f"<message to='{room}' type='groupchat'><body>{line}</body></message>",
                    "jabber:client",
                )
            )
        received = await self.received(phone, LINES)
        reflected = await self.received(client, roomLines)
        await server.kill()

        await restarted.release()
        client = await restarted.connectClient(ALICE, "desk")
        roster = await self.assertResult(
            client, iq("get", "<query xmlns='jabber:iq:roster'/>")
        )
        self.assertEqual(
            [("rabbit@localhost", "White Rabbit")],
            [(item["jid"], item["name"]) for item in roster.query.elements()],
        )
        vcard = await self.assertResult(client, iq("get", "<vCard xmlns='vcard-temp'/>"))
        self.assertEqual("Alice Liddell", str(vcard.vCard.FN))
        private = await self.assertResult(
            client,
            iq("get", "<query xmlns='jabber:iq:private'><notes xmlns='urn:example:notes'/></query>"),
        )
        [notes] = private.query.elements()
        self.assertEqual("the rabbit hole", str(notes.note))
        phone = await restarted.connectClient(BOB, "phone")
        self.assertEqual(received, await self.archive(phone))
        self.assertEqual(LINES, [body for _, body in await self.archive(client)])
        self.assertEqual(reflected, await self.archive(client, room))
