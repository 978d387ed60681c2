"""
A hundred fixture tests in a row: does the fixture slow down or leak?

Runs N cycles of what a client project's test does (start a server, create
two accounts, connect both, exchange a message, stop) in one process and
prints, per block of ten cycles, the median cycle time, the process's
resident memory, the number of live objects and of open file descriptors.
Figures only, no verdict (issue 6: "a hundred such tests in a row do not
slow down or leak").

    python bench/fixture_soak.py [cycles]
"""

import gc
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from twisted.internet import defer, task  # noqa: E402
from twisted.words.xish import domish  # noqa: E402

from mepserver.testing import startServer  # noqa: E402


def openFiles():
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


async def cycle(reactor):
    running = await startServer(reactor=reactor)
    alice = await running.createAccount("alice", "a")
    bob = await running.createAccount("bob", "b")
    a = await running.connectClient(alice)
    b = await running.connectClient(bob)
    for client in (a, b):
        client.send(domish.Element((None, "presence")))
        await client.waitFor(lambda e: e.name == "presence")
    message = domish.Element((None, "message"))
    message["to"], message["type"] = "bob@localhost", "chat"
    message.addElement("body", content="hi")
    a.send(message)
    await b.waitFor(lambda e: e.name == "message")
    await a.close()
    await b.close()
    await running.stop()


async def main(reactor, cycles):
    durations = []
    print("cycles  median ms  max RSS MiB  objects  open fds")
    for i in range(cycles):
        started = time.perf_counter()
        await cycle(reactor)
        durations.append(time.perf_counter() - started)
        if (i + 1) % 10 == 0:
            gc.collect()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            block = durations[-10:]
            print(
                f"{i + 1:6d}  {statistics.median(block) * 1000:9.1f}  "
                f"{rss:11.1f}  {len(gc.get_objects()):7d}  {openFiles():8d}"
            )


if __name__ == "__main__":
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, cycles)))
