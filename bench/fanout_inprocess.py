"""
The MUC fan-out path's CPU cost in one process, without sockets: the
fanout10 scenario of C{bench/compare.py} (10 persistent rooms of 10
occupants with caps the server knows, one sender per room, groupchat
messages) fed as raw bytes to the C2S protocols of a server
L{mepserver.server.buildServer} built (memory storage), what the server
writes thrown away.

    python bench/fanout_inprocess.py [CHECKOUT ...] [--messages N] [--rooms R]

C{--rooms 1} gives the fanout scenario's shape instead: one room of 50.
For each checkout (this one by default), in a process of its own, it
prints the CPU microseconds per message (each reaching every occupant of
its room, the sender too), the minimum and the median of twenty slices,
and the deliveries per CPU-second they make. Without a network, a load
generator or the reactor, it is steadier than C{compare.py} on a busy
machine; it leaves out the sockets' and the event loop's cost, so
C{compare.py} remains the measure (issue 16). Figures only, no verdict.
"""

import os
import sys
import time

from inprocess import ClockServer, runCheckouts

SLICES = 20


def shape(argv):
    """
    @return: C{argv} without C{--rooms R}, and the rooms and occupants
        per room it asks for (in the child, from the parent's
        environment).
    """
    argv = list(argv)
    rooms = int(os.environ.get("FANOUT_ROOMS", "10"))
    if "--rooms" in argv:
        index = argv.index("--rooms")
        rooms = int(argv[index + 1])
        del argv[index:index + 2]
        os.environ["FANOUT_ROOMS"] = str(rooms)
    return argv, rooms, 10 if rooms > 1 else 50


def measure(checkout, messages):
    """
    Send the messages in this process with C{checkout}'s mepserver.

    @return: the CPU seconds of each slice, per message.
    """
    built = ClockServer(checkout)
    compare, clock = built.compare, built.clock
    _, rooms, perRoom = shape(sys.argv[1:])
    names = [compare.roomJID(f"fanout{r}") for r in range(rooms)]
    owner = built.connect("owner")
    for room in names:
        owner.feed(f"<presence to='{room}/owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
        # Persistent, then without an archive, as compare.py makes them
        # (becoming persistent turns the archive on).
        for archive in ("", "<field var='muc#roomconfig_enablearchiving'><value>0</value></field>"):
            owner.feed(
                f"<iq type='set' to='{room}' id='c'>"
                "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                + compare.ROOM_CONFIG.format(archive=archive)
                + "</query></iq>"
            )
        owner.feed(f"<presence to='{room}/owner' type='unavailable'/>")
        clock.advance(0)
    if owner.written().count(b"type='result'") != 2 * rooms:
        raise RuntimeError("the rooms were not configured")
    connections = [
        built.connect(f"user{i}", f"<presence>{compare.CAPS}</presence>")
        for i in range(rooms * perRoom)
    ]
    for i, connection in enumerate(connections):
        connection.feed(
            f"<presence to='{names[i % rooms]}/n{i}'><x xmlns='http://jabber.org/protocol/muc'/>"
            f"{compare.CAPS}</presence>"
        )
        clock.advance(0)
    senders = connections[:rooms]

    def run(count, start):
        for n in range(start, start + count):
            r = n % rooms
            senders[r].feed(
                f"<message to='{names[r]}' type='groupchat'><body>m {n}</body></message>"
            )
            if r == rooms - 1:
                clock.advance(0)
        clock.advance(0)

    run(2000, 0)
    for connection in connections:
        connection.written()
    run(rooms, 2000)
    for connection in connections:
        if connection.written().count(b"<body>m ") != 1:
            raise RuntimeError("an occupant missed a message")
    start = 2000 + rooms
    slices = []
    steps = messages // SLICES
    for _ in range(SLICES):
        began = time.process_time()
        run(steps, start)
        slices.append((time.process_time() - began) / steps)
        start += steps
        for connection in connections:
            connection.written()
    return sorted(slices)


def main(argv):
    argv, rooms, perRoom = shape(argv)

    def report(checkout, best, median):
        print(
            f"{checkout}: {best:.1f} us per message (min), {median:.1f} (median);"
            f" {1e6 * perRoom / median:,.0f} deliveries per CPU-second (median)"
        )

    runCheckouts(__file__, argv, "--messages", 20000, measure, report)


if __name__ == "__main__":
    main(sys.argv[1:])
