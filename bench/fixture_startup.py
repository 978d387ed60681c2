"""
How long L{mepserver.testing}'s fixture takes: start a server, create an
account, connect a client, reset, stop. Prints the median and the slowest
of N runs in milliseconds; figures only, no verdict (issue 6's target: a
start plus an account in under 100 ms).

    python bench/fixture_startup.py [runs]

Rooms are not measured yet: they come with the MUC service.
"""

import os
import statistics
import sys
import time

# Runs from a checkout as well as from an installed mepserver.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from twisted.internet import defer, task  # noqa: E402

from mepserver.testing import startServer  # noqa: E402

STEPS = ("startServer", "createAccount", "connectClient", "reset", "stop")


async def measure(reactor, runs):
    """
    @return: for each step, its durations in seconds, one per run.
    """
    times = {step: [] for step in STEPS}

    def lap(step, started):
        now = time.perf_counter()
        times[step].append(now - started)
        return now

    for _ in range(runs):
        started = time.perf_counter()
        running = await startServer(reactor=reactor)
        started = lap("startServer", started)
        account = await running.createAccount()
        started = lap("createAccount", started)
        await running.connectClient(account)
        started = lap("connectClient", started)
        await running.reset()
        started = lap("reset", started)
        await running.stop()
        lap("stop", started)
    return times


def report(times, runs):
    """
    Print one line per step, and the fixture's total (start and account).
    """
    print(f"mepserver.testing fixture, {runs} runs (ms): median / slowest")
    for step in STEPS:
        values = times[step]
        print(
            f"  {step:<14} {statistics.median(values) * 1000:8.1f} "
            f"{max(values) * 1000:8.1f}"
        )
    fixture = [a + b for a, b in zip(times["startServer"], times["createAccount"])]
    print(
        f"  {'start+account':<14} {statistics.median(fixture) * 1000:8.1f} "
        f"{max(fixture) * 1000:8.1f}"
    )


def main(reactor, runs=20):
    d = defer.ensureDeferred(measure(reactor, int(runs)))
    d.addCallback(report, int(runs))
    return d


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
