# -*- test-case-name: tests.e2e.test_mam -*-
"""
Message Archive Management (XEP-0313) end to end, over real TCP: a
Twisted client on the SQLite store, and slixmpp, an independent client
library in a subprocess (slixmam.py, which the Prosody reference tier runs
too).
"""

from twisted.trial import unittest
from twisted.words.xish import domish

from mepserver.testing import startServer
from tests.e2e.slixchecks import checkMAMReport
from tests.e2e.slixrun import createAccounts, runScenario, serverSettings

NS_MAM = "urn:xmpp:mam:2"
NS_SID = "urn:xmpp:sid:0"


def chat(to, body):
    message = domish.Element((None, "message"))
    message["to"], message["type"] = to, "chat"
    message.addElement("body", content=body)
    return message


class ArchiveTests(unittest.TestCase):
    """
    Archiving on SQLite, read by a MAM query and by the test fixture.
    """

    timeout = 60

    async def test_queryAfterReceipt(self):
        """
        Section 2.3 and the order the server keeps: romeo's message reaches
        juliet with the stanza-id of her archive; a query she sends as soon
        as she has it finds it under that UID, though the SQLite store
        answers from a thread; L{RunningServer.archive} shows it in both
        archives, and romeo's sent copy as he addressed it.
        """
        running = await startServer(self, storage="sqlite")
        romeo = await running.createAccount("romeo", "r-secret")
        juliet = await running.createAccount("juliet", "j-secret")
        orchard = await running.connectClient(romeo, "orchard")
        balcony = await running.connectClient(juliet, "balcony")
        orchard.send(chat("juliet@localhost/balcony", "Lady, by yonder blessed moon I vow"))
        delivered = await balcony.waitFor("/message/body")
        [stanzaId] = list(delivered.elements(NS_SID, "stanza-id"))
        self.assertEqual("juliet@localhost", stanzaId["by"])

        query = domish.Element((None, "iq"))
        query["type"] = "set"
        query.addElement((NS_MAM, "query"))["queryid"] = "q"
        results = []
        balcony.xmlstream.addObserver(
            f"/message/result[@xmlns='{NS_MAM}']", results.append
        )
        answer = await balcony.request(query)
        self.assertEqual("result", answer["type"])
        self.assertEqual("true", answer.fin["complete"])
        self.assertEqual([stanzaId["id"]], [r.result["id"] for r in results])
        forwarded = results[0].result.forwarded
        self.assertEqual(
            "Lady, by yonder blessed moon I vow",
            str(next(forwarded.elements("jabber:client", "message")).body),
        )

        [mine] = await running.archive(juliet)
        self.assertEqual(
            (stanzaId["id"], "romeo@localhost/orchard"), (mine.id, mine.with_.full())
        )
        [his] = await running.archive("romeo")
        self.assertEqual("juliet@localhost/balcony", his.with_.full())
        self.assertEqual("Lady, by yonder blessed moon I vow", str(his.message.body))


class SlixmppMAMTests(unittest.TestCase):
    """
    slixmam.py against mepserver.
    """

    timeout = 120

    async def test_scenario(self):
        """
        alice's chats to bob are archived once each, under the stanza-ids
        bob got; slixmpp's xep_0313 pages through bob's archive forwards
        (RSM after) and backwards (RSM before), reads the metadata, and
        xep_0441 the preferences; alice's archive has what she sent.
        """
        running = await startServer(self)
        accounts = await createAccounts(running, ["alice", "bob"])
        report = await runScenario(
            self, "slixmam.py", serverSettings(running, accounts=accounts)
        )
        checkMAMReport(self, report)
        self.assertEqual(
            [f"line {n}" for n in range(1, 6)],
            [str(m.message.body) for m in await running.archive("bob")],
        )
