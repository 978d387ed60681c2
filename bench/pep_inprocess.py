"""
The PEP fan-out path's CPU cost in one process, without sockets: the pep
scenario of C{bench/compare.py} (one account publishing to a node, fifty
contacts with C{+notify} caps, all with mutual subscriptions) fed as raw
bytes to the C2S protocols of a server L{mepserver.server.buildServer}
built, with SQLite storage in a temporary directory, what the server
writes thrown away.

    python bench/pep_inprocess.py [CHECKOUT ...] [--publishes N]

For each checkout (this one by default), in a process of its own, it
prints the CPU microseconds per publish (every thread of the process:
the store's too), the minimum and the median of twenty slices, and the
notifications per CPU-second they make. The reactor runs, as the store's
thread pool needs it, and each publish is sent once the answer to the one
before arrived, so the run paces itself. Without a network or a load
generator it is steadier than C{compare.py} on a busy machine; it leaves
out the sockets' cost, so C{compare.py} remains the measure (issue 16).
Figures only, no verdict. With C{PEP_PROFILE=FILE} in the environment,
the measured part is profiled (cProfile) into C{FILE}; the child prints
the main thread's share of the CPU time on its standard error.
"""

import os
import sys
import tempfile
import time

from inprocess import STREAM, Connection, importCheckout, knowCaps, runCheckouts

CONTACTS, SLICES = 50, 20


def measure(checkout, publishes):
    """
    Run the publishes in this process with C{checkout}'s mepserver.

    @return: the CPU seconds of each slice, per publish.
    """
    compare = importCheckout(checkout)
    import base64

    from twisted.internet import defer, reactor, task
    from twisted.words.protocols.jabber import jid

    from mepserver import config as configModule
    from mepserver.c2s.mechanisms import makeCredentials
    from mepserver.interfaces import RosterItem
    from mepserver.server import buildServer

    directory = tempfile.mkdtemp(prefix="pep-inprocess-")
    config = configModule.Config(
        storage="sqlite", dataDir=directory, c2sListen="tcp:0:interface=127.0.0.1"
    )
    server = buildServer(config)
    factory = server.listeners[0][1]
    credentials = makeCredentials("bench-password")

    def until(predicate):
        # Polled: only while setting up.
        d = defer.Deferred()

        def check():
            if predicate():
                d.callback(None)
            else:
                reactor.callLater(0.001, check)

        check()
        return d

    class Client(Connection):
        def __init__(self, username):
            Connection.__init__(self, factory)
            self.username = username

        async def login(self):
            self.feed(STREAM)
            plain = base64.b64encode(f"\0{self.username}\0bench-password".encode()).decode()
            self.feed(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>")
            await until(lambda: b"<success" in self.peek())
            self.feed(STREAM)
            self.feed("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
            await until(lambda: b"<jid>" in self.peek())
            self.written()
            self.feed(f"<presence>{compare.CAPS}</presence>")

    async def main():
        server.startService()
        await server.ready
        knowCaps(server, compare)
        names = [f"user{i}" for i in range(CONTACTS)] + ["publisher"]
        for name in names:
            await server.users.createUser(name, credentials)
        publisherJID = jid.JID("publisher@localhost")
        for name in names[:-1]:
            contact = jid.JID(f"{name}@localhost")
            await server.users.setRosterItem("publisher", RosterItem(contact, subscription="both"))
            await server.users.setRosterItem(name, RosterItem(publisherJID, subscription="both"))
        connections = [Client(name) for name in names]
        for connection in connections:
            await connection.login()
        publisher = connections[-1]
        sequence = [0]

        def publish():
            sequence[0] += 1
            n = sequence[0]
            publisher.feed(
                f"<iq type='set' id='pub{n}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                f"<publish node='{compare.PEP_NODE}'><item id='current'>"
                f"<t xmlns='{compare.NS_BENCH}'>{n}</t></item></publish></pubsub></iq>"
            )
            marker = f"id='pub{n}'".encode()
            return until(lambda: marker in publisher.peek()) if poll[0] else answered(marker)

        poll = [True]

        def answered(marker):
            # Fired by the publisher's transport when the answer arrives.
            d = defer.Deferred()
            write = publisher.transport.write

            def watch(data):
                write(data)
                if marker in data:
                    del publisher.transport.write
                    d.callback(None)

            publisher.transport.write = watch
            return d

        # Warm up until every contact gets a notification.
        for _ in range(200):
            for c in connections:
                c.written()
            await publish()
            await task.deferLater(reactor, 0.01, lambda: None)
            if all(b"<event" in c.peek() for c in connections):
                break
        else:
            raise RuntimeError("not every contact got a notification")
        poll[0] = False
        for _ in range(50):
            await publish()
        for c in connections:
            c.written()
        slices = []
        steps = publishes // SLICES
        profile = os.environ.get("PEP_PROFILE")
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        mainThread = 0.0
        for _ in range(SLICES):
            began, beganMain = time.process_time(), time.thread_time()
            for _ in range(steps):
                await publish()
            slices.append((time.process_time() - began) / steps)
            mainThread += time.thread_time() - beganMain
            for c in connections:
                if c.written().count(b"<event") != steps:
                    raise RuntimeError(f"{c.username} missed notifications")
        if profile:
            profiler.disable()
            profiler.dump_stats(profile)
        print(f"main thread: {1e6 * mainThread / (steps * SLICES):.1f} us per publish", file=sys.stderr)
        return sorted(slices)

    result = []
    d = defer.ensureDeferred(main())
    d.addCallback(result.append)
    d.addErrback(lambda f: result.append(f))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    if not isinstance(result[0], list):
        result[0].raiseException()
    return result[0]


def report(checkout, best, median):
    fan = CONTACTS + 1
    print(
        f"{checkout}: {best:.0f} us per publish (min), {median:.0f} (median);"
        f" {1e6 * fan / median:,.0f} notifications per CPU-second (median)"
    )


def main(argv):
    runCheckouts(__file__, argv, "--publishes", 4000, measure, report)


if __name__ == "__main__":
    main(sys.argv[1:])
