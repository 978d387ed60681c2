"""
Thousands of clients addressing random JIDs: does the server's memory stay
flat? (issue 15, item 7: "addressing many distinct JIDs does not grow the
cache beyond its bound").

Runs one server (mepserver.testing, real TCP with STARTTLS) and, in rounds,
connects clients with random resources, a few at a time; each sends
stanzas to random JIDs (unknown accounts, full JIDs of unknown resources,
rooms and occupants that do not exist, other domains: each gets its error),
a directed presence to a random JID, pings as a barrier and disconnects.
Prints, per round, the clients and stanzas so far, the process's current
resident memory, the live Python objects, the entries in Twisted's JID
intern cache and the open file descriptors. Figures only, no verdict.

    python bench/soak_jids.py [clients] [--unbounded]

--unbounded puts a plain dict back in place of the bounded cache, to show
what the figures look like without the bound.
"""

import gc
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from twisted.internet import defer, task  # noqa: E402
from twisted.words.protocols.jabber import jid  # noqa: E402
from twisted.words.xish import domish  # noqa: E402

from mepserver import _compat  # noqa: E402
from mepserver.testing import startServer  # noqa: E402

#: Clients connected at the same time.
CONCURRENT = 20
#: Stanzas each client sends to random JIDs.
STANZAS = 20
#: Clients per printed round.
ROUND = 200


def residentMiB():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def openFiles():
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def randomName():
    return "%016x" % random.getrandbits(64)


def randomStanza(domain, mucDomain):
    """
    A stanza to a JID nobody used before, and that nobody serves.
    """
    kind = random.randrange(5)
    if kind == 0:
        stanza = domish.Element((None, "message"))
        stanza["to"] = f"{randomName()}@{domain}"
        stanza["type"] = "chat"
        stanza.addElement("body", content="hello")
        return stanza
    stanza = domish.Element((None, "iq"))
    stanza["type"] = "get"
    stanza["id"] = randomName()
    stanza.addElement(("http://jabber.org/protocol/disco#info", "query"))
    stanza["to"] = [
        None,
        f"{randomName()}@{domain}/{randomName()}",
        f"{randomName()}@{mucDomain}",
        f"{randomName()}@{mucDomain}/{randomName()}",
        f"{randomName()}.example",
    ][kind]
    return stanza


async def oneClient(running, account):
    client = await running.connectClient(account, resource=randomName())
    presence = domish.Element((None, "presence"))
    presence["to"] = f"{randomName()}@{running.domain}/{randomName()}"
    client.send(presence)
    for _ in range(STANZAS):
        client.send(randomStanza(running.domain, running.server.config.mucDomain))
    await client.ping(timeout=30)
    await client.close()


async def main(reactor, clients, unbounded):
    if unbounded:
        setattr(jid, _compat.JID_CACHE, dict(vars(jid)[_compat.JID_CACHE]))
    running = await startServer(reactor=reactor)
    account = await running.createAccount("soak", "soak")
    print(f"cache: {type(vars(jid)[_compat.JID_CACHE]).__name__}")
    print("clients  stanzas  seconds  RSS MiB  objects  JID cache  open fds")
    done = 0
    started = time.perf_counter()
    while done < clients:
        for _ in range(ROUND // CONCURRENT):
            await defer.gatherResults(
                [
                    defer.ensureDeferred(oneClient(running, account))
                    for _ in range(CONCURRENT)
                ],
                consumeErrors=True,
            )
            done += CONCURRENT
        gc.collect()
        print(
            f"{done:7d}  {done * (STANZAS + 2):7d}  "
            f"{time.perf_counter() - started:7.1f}  {residentMiB():7.1f}  "
            f"{len(gc.get_objects()):7d}  {len(vars(jid)[_compat.JID_CACHE]):9d}  "
            f"{openFiles():8d}"
        )
    await running.stop()


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(arguments[0]) if arguments else 2000
    task.react(
        lambda reactor: defer.ensureDeferred(
            main(reactor, count, "--unbounded" in sys.argv)
        )
    )
