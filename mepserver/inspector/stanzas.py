# -*- test-case-name: tests.test_inspector -*-
"""
The inspector's stanza stream: every stanza bound client sessions send and
receive, in a ring buffer of bounded size, and pushed live to the open
inspector pages (server-sent events, L{mepserver.inspector.resource}).

It taps the sessions' observer list (L{mepserver.c2s.sessions.SessionManager.observers}),
and only while someone may look: while a page is open, or always if
C{[inspector] stanza_log_always} is set. Otherwise it is not among the
observers, and the stanza paths pay nothing for it (they test an empty
list, as they do anyway). While it records, each stanza is serialised
once (the cost, measured in README.rst, is a few microseconds), whatever
the number of pages.

Memory stays flat: the buffer keeps the newest L{StanzaTap.size} stanzas,
each cut at L{MAX_XML} characters of XML; at most L{MAX_VIEWERS} pages
may watch at once; and a page that reads more slowly than stanzas come
is not buffered for: while its connection's send buffer is full (Twisted
pauses the producer), its events are dropped and counted, and it is told
how many once it catches up.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
from typing import Any, Deque, Dict, List, Optional

from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mepserver.namespaces import NS_CLIENT

log = Logger()

#: The most characters of XML kept of one stanza; a longer one is cut, and
#: marked C{truncated}.
MAX_XML = 16384

#: The most inspector pages streaming at once.
MAX_VIEWERS = 8

_NAMESPACE = re.compile(r"""\sxmlns(?::[^\s=]+)?\s*=\s*(["'])(.*?)\1""")


def namespacesOf(xml: str) -> List[str]:
    """
    @return: the namespaces declared in a serialised stanza, in order of
        appearance, without C{jabber:client}: those of its payloads.
    """
    found: Dict[str, None] = {}
    for match in _NAMESPACE.finditer(xml):
        namespace = match.group(2)
        if namespace != NS_CLIENT:
            found[namespace] = None
    return list(found)


class StanzaTap:
    """
    The ring buffer of recent stanzas, and the pages watching it.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager} tapped.
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} that
        stamps each stanza.
    @ivar size: how many stanzas the buffer keeps.
    @ivar always: whether it records while no page watches.
    @ivar mucDomain: the MUC service's domain: a stanza from or to one of
        its JIDs belongs to that room.
    @ivar entries: the buffer, oldest first: one dict per stanza (see
        L{entry}).
    @ivar viewers: the open L{Viewer}s.
    """

    def __init__(self, sessions, clock, size: int = 500, always: bool = False, mucDomain: Optional[str] = None):
        self.sessions = sessions
        self.clock = clock
        self.size = size
        self.always = always
        self.mucDomain = mucDomain
        self.entries: Deque[Dict[str, Any]] = collections.deque(maxlen=size)
        self.viewers: List["Viewer"] = []
        self._sequence = itertools.count(1)
        self._update()

    @property
    def recording(self) -> bool:
        """
        Whether the tap is among the sessions' observers now.
        """
        return self._observe in self.sessions.observers

    def _update(self) -> None:
        wanted = bool(self.viewers) or (self.always and self.size > 0)
        if wanted and not self.recording:
            self.sessions.observers.append(self._observe)
        elif not wanted and self.recording:
            self.sessions.observers.remove(self._observe)

    def addViewer(self, viewer: "Viewer") -> None:
        """
        Push every stanza from now on to C{viewer}; recording starts with
        the first viewer.
        """
        self.viewers.append(viewer)
        self._update()

    def removeViewer(self, viewer: "Viewer") -> None:
        """
        Stop pushing to C{viewer}; recording stops with the last one
        (unless it is always on). What the buffer holds stays.
        """
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        self._update()

    def closeAll(self) -> None:
        """
        End every viewer's stream and close its connection (the server
        stops).
        """
        for viewer in list(self.viewers):
            viewer.close()

    def reset(self) -> None:
        """
        Forget the buffered stanzas (the server's reset); open pages stay.
        """
        self.entries.clear()

    def since(self, sequence: int) -> List[Dict[str, Any]]:
        """
        @return: the buffered entries after C{sequence}, oldest first.
        """
        return [entry for entry in self.entries if entry["seq"] > sequence]

    def _observe(self, session, stanza, fromClient: bool) -> None:
        # On the server's stanza path: nothing here may break it.
        try:
            entry = self.entry(session.jid, stanza, fromClient)
        except Exception:
            log.failure("The inspector could not record a stanza")
            return
        if self.size > 0:
            self.entries.append(entry)
        if self.viewers:
            self.push("stanza", entry, entry["seq"])

    def entry(self, session: jid.JID, stanza, fromClient: bool) -> Dict[str, Any]:
        """
        @return: what the buffer and the pages keep of one stanza:
            C{seq}, C{time} (seconds since the epoch), C{direction} (C{"in"} from the
            client, C{"out"} to it), the C{session}'s full JID, the
            stanza's C{name}, C{type}, C{id}, C{from} and C{to}, the
            C{rooms} (bare JIDs at the MUC service) it is from or to, the
            C{namespaces} of its payloads, its C{xml} and whether that was
            C{truncated}.
        """
        xml = stanza.toXml()
        truncated = len(xml) > MAX_XML
        if truncated:
            xml = xml[:MAX_XML]
        sender = stanza.getAttribute("from")
        recipient = stanza.getAttribute("to")
        rooms = []
        if self.mucDomain is not None:
            for address in (sender, recipient):
                if address:
                    bare, _, _ = address.partition("/")
                    if bare.endswith("@" + self.mucDomain) and bare not in rooms:
                        rooms.append(bare)
        return {
            "seq": next(self._sequence),
            "time": self.clock.seconds(),
            "direction": "in" if fromClient else "out",
            "session": session.full(),
            "name": stanza.name,
            "type": stanza.getAttribute("type"),
            "id": stanza.getAttribute("id"),
            "from": sender,
            "to": recipient,
            "rooms": rooms,
            "namespaces": namespacesOf(xml),
            "xml": xml,
            "truncated": truncated,
        }

    def published(self, publication) -> None:
        """
        Tell the pages of a MEP publication (an observer of the
        L{mepserver.mep.deliveries.DeliveryLog}), so that they show its
        deliveries even when it reached nobody.
        """
        if self.viewers:
            self.push(
                "publication",
                {
                    "room": publication.room.full(),
                    "service": publication.service.full(),
                    "node": publication.node,
                    "item": publication.item,
                },
            )

    def push(self, event: str, data: Dict[str, Any], eventId: Optional[int] = None) -> None:
        """
        Send an event to every viewer, serialised once.
        """
        text = _event(event, json.dumps(data), eventId)
        for viewer in list(self.viewers):
            viewer.send(text)


def _event(event: str, data: str, eventId: Optional[int] = None) -> bytes:
    """
    @return: one server-sent event (HTML Living Standard, section 9.2.6);
        C{data} is JSON, on one line.
    """
    head = f"event: {event}\n"
    if eventId is not None:
        head += f"id: {eventId}\n"
    return (head + f"data: {data}\n\n").encode("utf-8")


@implementer(IPushProducer)
class Viewer:
    """
    One inspector page's event stream: a C{text/event-stream} response
    that stays open.

    Events: C{hello} (the buffer's size and whether it records without
    pages), C{stanza} (a buffer entry, with its C{seq} as event id),
    C{publication} (a MEP publication the delivery explainer recorded),
    C{dropped} (how many events a slow page missed).

    @ivar request: the L{twisted.web.server.Request}.
    @ivar paused: whether the connection's send buffer is full.
    @ivar dropped: events dropped since the page last caught up.
    """

    def __init__(self, tap: StanzaTap, request):
        self.tap = tap
        self.request = request
        self.paused = False
        self.dropped = 0
        self.closed = False

    def start(self, since: int = 0) -> None:
        """
        Send the headers, a C{hello}, the buffered stanzas after C{since}
        and from then on every new one, until the page goes away.
        """
        request = self.request
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.registerProducer(self, True)
        request.notifyFinish().addBoth(self._gone)
        hello = {"size": self.tap.size, "always": self.tap.always, "maxXml": MAX_XML}
        self.send(_event("hello", json.dumps(hello)))
        for entry in self.tap.since(since):
            self.send(_event("stanza", json.dumps(entry), entry["seq"]))
        self.tap.addViewer(self)

    def send(self, text: bytes) -> None:
        """
        Write an event, or count it as dropped while the page is behind.
        """
        if self.closed:
            return
        if self.paused:
            self.dropped += 1
            return
        self.request.write(text)

    def _gone(self, _=None) -> None:
        self.closed = True
        self.tap.removeViewer(self)

    def close(self) -> None:
        """
        End the stream and close the connection.
        """
        if self.closed:
            return
        self._gone()
        transport = self.request.channel.transport if self.request.channel else None
        self.request.unregisterProducer()
        self.request.finish()
        if transport is not None:
            transport.loseConnection()

    # IPushProducer: Twisted pauses while the send buffer is full.

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        if self.dropped and not self.closed:
            dropped, self.dropped = self.dropped, 0
            self.request.write(_event("dropped", json.dumps({"count": dropped})))

    def stopProducing(self) -> None:
        self._gone()
