# -*- test-case-name: tests.e2e.test_components -*-
"""
External components (XEP-0114) end to end, over real TCP: Twisted's own
component client through L{mepserver.testing.RunningServer.connectComponent},
and slixmpp's C{ComponentXMPP}, an independent implementation, in a
subprocess, each beside a logged-in client.
"""

from twisted.trial import unittest
from twisted.words.protocols.jabber import error
from twisted.words.xish import domish

from mepserver.testing import MEPServerMixin
from tests.e2e.slixrun import runScenario, serverSettings

SECRET = "bot-secret"
NS_VERSION = "jabber:iq:version"


class ComponentTests(MEPServerMixin, unittest.TestCase):
    """
    Components beside a client, on one server shared by the tests (reset,
    and its ports closed, between them).
    """

    timeout = 60
    mepserverShared = True
    mepserverSettings = {
        "components": {"bot.localhost": SECRET, "gate.localhost": "gate-secret"}
    }

    async def test_exchange(self):
        """
        A client's message and IQ reach the component; the component's
        message and IQ reach the client; each answer goes back.
        """
        running = self.mepserver
        self.assertEqual(
            {"bot.localhost": SECRET, "gate.localhost": "gate-secret"},
            running.components,
        )
        alice = await running.connectClient(await running.createAccount("alice"), "home")
        bot = await running.connectComponent("bot.localhost")
        self.assertEqual("bot.localhost", bot.jid.full())

        message = domish.Element((None, "message"))
        message["to"], message["type"] = "echo@bot.localhost", "chat"
        message.addElement("body", content="Hi, bot")
        alice.send(message)
        got = await bot.waitFor("/message/body")
        self.assertEqual("alice@localhost/home", got["from"])
        self.assertEqual("Hi, bot", str(got.body))

        reply = domish.Element((None, "message"))
        reply["from"], reply["to"] = "echo@bot.localhost", "alice@localhost/home"
        reply["type"] = "chat"
        reply.addElement("body", content="Hi, alice")
        bot.send(reply)
        echoed = await alice.waitFor("/message[@from='echo@bot.localhost']/body")
        self.assertEqual("Hi, alice", str(echoed.body))

        # The client asks the component; the component answers.
        query = domish.Element((None, "iq"))
        query["type"], query["to"] = "get", "bot.localhost"
        query.addElement((NS_VERSION, "query"))
        answer = alice.request(query)
        asked = await bot.waitFor(f"/iq[@type='get']/query[@xmlns='{NS_VERSION}']")
        result = domish.Element((None, "iq"))
        result["type"], result["id"] = "result", asked["id"]
        result["from"], result["to"] = "bot.localhost", asked["from"]
        result.addElement((NS_VERSION, "query")).addElement("name", content="bot")
        bot.send(result)
        self.assertEqual("result", (await answer)["type"])

        # The component asks the client; the client answers.
        query = domish.Element((None, "iq"))
        query["type"], query["from"] = "get", "bot.localhost"
        query["to"] = "alice@localhost/home"
        query.addElement((NS_VERSION, "query"))
        answer = bot.request(query)
        asked = await alice.waitFor("/iq[@from='bot.localhost']/query")
        result = domish.Element((None, "iq"))
        result["type"], result["id"], result["to"] = "result", asked["id"], "bot.localhost"
        alice.send(result)
        answered = await answer
        self.assertEqual(
            ("result", "alice@localhost/home"), (answered["type"], answered["from"])
        )
        # The component's own barrier: a ping to the server.
        await bot.assertNoStanzaReceived("/message[@type='error']")

    async def test_refusals(self):
        """
        A wrong secret gets C{not-authorized}, an unknown name
        C{host-unknown}, a second connection C{conflict} (the first stays);
        a foreign C{from} closes the stream with C{invalid-from}, after
        which the component's domain answers C{remote-server-timeout}.
        """
        running = self.mepserver
        refused = await self.assertFailure(
            running.connectComponent("bot.localhost", "guess"), error.StreamError
        )
        self.assertEqual("not-authorized", refused.condition)
        refused = await self.assertFailure(
            running.connectComponent("stranger.localhost", "x"), error.StreamError
        )
        self.assertEqual("host-unknown", refused.condition)

        bot = await running.connectComponent("bot.localhost")
        refused = await self.assertFailure(
            running.connectComponent("bot.localhost"), error.StreamError
        )
        self.assertEqual("conflict", refused.condition)
        await bot.ping()

        foreign = domish.Element((None, "message"))
        foreign["from"], foreign["to"] = "alice@localhost", "bob@localhost"
        bot.send(foreign)
        streamError = await bot.waitFor("/error")
        self.assertEqual("invalid-from", error.exceptionFromStreamError(streamError).condition)

        alice = await running.connectClient(await running.createAccount("alice"))
        query = domish.Element((None, "iq"))
        query["type"], query["to"] = "get", "bot.localhost"
        query.addElement((NS_VERSION, "query"))
        # The stream closed before the client's IQ was routed: the domain
        # is unrouted once the server saw the connection end.
        await bot.close()
        answer = await alice.request(query)
        self.assertEqual("error", answer["type"])
        self.assertEqual(
            "remote-server-timeout", error.exceptionFromStanza(answer).condition
        )

    async def test_resetCloses(self):
        """
        Resetting the server closes the components' streams as it does the
        clients'; after it, the component connects again.
        """
        running = self.mepserver
        gate = await running.connectComponent("gate.localhost")
        await running.reset()
        self.assertFalse(gate.connected)
        again = await running.connectComponent("gate.localhost")
        await again.ping()

    async def test_slixmppComponent(self):
        """
        slixmpp's C{ComponentXMPP} shakes hands and echoes alice's message
        from the JID she wrote to; it answers her version query; its ping
        to her full JID is answered by her client; the server's
        disco#items lists both components.
        """
        running = self.mepserver
        alice = await running.createAccount("alice")
        settings = serverSettings(
            running,
            componentPort=running.componentPort,
            component=["bot.localhost", SECRET],
            alice=[alice.jid.userhost(), alice.password],
        )
        report = await runScenario(self, "slixcomponent.py", settings)
        [got] = report["componentGot"]
        self.assertTrue(got["from"].startswith("alice@localhost/"), got)
        self.assertEqual(("echo@bot.localhost", "Hello, component"), (got["to"], got["body"]))
        self.assertEqual("echo@bot.localhost", report["echoFrom"])
        self.assertEqual("echo: Hello, component", report["echoBody"])
        self.assertEqual("echo-bot", report["version"])
        self.assertEqual(
            {"type": "result", "from": report["aliceJid"], "to": "pinger@bot.localhost"},
            report["pong"],
        )
        self.assertIn("bot.localhost", report["items"])
        self.assertIn("gate.localhost", report["items"])
