# -*- test-case-name: tests.test_mep -*-
"""
The interests of each room's sessions (XEP-0316 with XEP-0115 and
XEP-0163 section 4.3): one L{InterestTracker} per room, whose caps queries
go out from the bare room JID (MEP OQ-13) through the MUC service's
L{mepserver.iqclient.IQClient}.

Both the MEP resource (which computes notification recipients from the
interests) and the MEP handler (which follows occupants' presence into
them) are made with the same L{RoomInterests}.
"""

from __future__ import annotations

from typing import Dict

from twisted.words.protocols.jabber import jid

from mepserver.caps import CapsCache, DiscoInfoQuery
from mepserver.pubsub.interests import InterestTracker
from mepserver.pubsub.model import Interests


class RoomInterests:
    """
    The L{InterestTracker} of every room that has had sessions.

    @ivar caps: the server-wide L{CapsCache}.
    @ivar iqClient: the L{mepserver.iqclient.IQClient} that sends the caps
        queries and matches their answers.
    """

    def __init__(self, caps: CapsCache, iqClient):
        self.caps = caps
        self.iqClient = iqClient
        self._trackers: Dict[jid.JID, InterestTracker] = {}

    def __len__(self) -> int:
        """
        @return: how many rooms have a tracker.
        """
        return len(self._trackers)

    def tracker(self, room) -> InterestTracker:
        """
        @return: the tracker of the room's sessions, made on first use.
        """
        tracker = self._trackers.get(room.jid)
        if tracker is None:
            # OQ-13: the room asks, from its bare JID.
            tracker = self._trackers[room.jid] = InterestTracker(
                self.caps, DiscoInfoQuery(self.iqClient, room.jid)
            )
        return tracker

    def of(self, room) -> Interests:
        """
        @return: the L{Interests} index of the room's sessions.
        """
        return self.tracker(room).interests

    def discard(self, roomJID: jid.JID) -> None:
        """
        Forget a room's sessions and their interests.
        """
        tracker = self._trackers.pop(roomJID, None)
        if tracker is not None:
            tracker.reset()

    def reset(self) -> None:
        """
        Forget every room's interests (test fixtures).
        """
        for tracker in self._trackers.values():
            tracker.reset()
        self._trackers.clear()
