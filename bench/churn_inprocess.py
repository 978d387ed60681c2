"""
The join/leave path's CPU cost in one process, without sockets: the churn
scenario of C{bench/compare.py} (20 accounts joining and leaving 5
persistent rooms with caps the server knows) fed as raw bytes to the C2S
protocols of a server L{mepserver.server.buildServer} built (memory
storage), what the server writes thrown away.

    python bench/churn_inprocess.py [CHECKOUT ...] [--cycles N]

For each checkout (this one by default), in a process of its own, it
prints the CPU microseconds per join and leave: the minimum and the
median of twenty slices of the run. Without a network, a load generator or
the reactor, it is steadier than C{compare.py} on a busy machine, and
shows small changes; it leaves out the sockets' and the event loop's
cost, so C{compare.py} remains the measure (issue 16). Figures only, no
verdict.
"""

import sys
import time

from inprocess import ClockServer, runCheckouts

CLIENTS, ROOMS, SLICES = 20, 5, 20


def measure(checkout, cycles):
    """
    Run the churn in this process with C{checkout}'s mepserver.

    @return: the CPU seconds of each slice, per join and leave.
    """
    built = ClockServer(checkout)
    compare, clock = built.compare, built.clock
    owner = built.connect("owner")
    rooms = [compare.roomJID(f"churn{r}") for r in range(ROOMS)]
    for room in rooms:
        owner.feed(f"<presence to='{room}/owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
        owner.feed(
            f"<iq type='set' to='{room}' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'>"
            + compare.ROOM_CONFIG.format(archive="")
            + "</query></iq>"
        )
        owner.feed(f"<presence to='{room}/owner' type='unavailable'/>")
        clock.advance(0)
    if owner.written().count(b"type='result'") != ROOMS:
        raise RuntimeError("the rooms were not configured")
    connections = [built.connect(f"user{i}") for i in range(CLIENTS)]
    where = {}

    def step(n):
        # Each client in turn leaves its room or enters the next: about
        # half of them are in a room at any time, as in compare.py.
        i = n % CLIENTS
        connection = connections[i]
        if i in where:
            room = rooms[where.pop(i)]
            connection.feed(f"<presence to='{room}/c{i}' type='unavailable'/>")
            return 0
        r = where[i] = (n // CLIENTS + i) % ROOMS
        connection.feed(
            f"<presence to='{rooms[r]}/c{i}'><x xmlns='http://jabber.org/protocol/muc'/>"
            f"{compare.CAPS}</presence>"
        )
        return 1

    def run(steps, start):
        joins = 0
        for n in range(start, start + steps):
            joins += step(n)
            if n % CLIENTS == CLIENTS - 1:
                for c in connections:
                    c.written()
                clock.advance(0)
        return joins

    run(2000, 0)
    # A join goes through: the client gets the room's subject.
    start = 2000
    while not step(start):
        start += 1
    if b"<subject" not in connections[start % CLIENTS].written():
        raise RuntimeError("a join did not complete")
    start += 1
    slices = []
    steps = 2 * cycles // SLICES
    for _ in range(SLICES):
        began = time.process_time()
        joins = run(steps, start)
        slices.append((time.process_time() - began) / joins)
        start += steps
    return sorted(slices)


def main(argv):
    runCheckouts(
        __file__, argv, "--cycles", 3000, measure,
        lambda checkout, best, median: print(
            f"{checkout}: {best:.1f} us per join and leave (min), {median:.1f} (median)"
        ),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
