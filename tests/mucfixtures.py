# -*- test-case-name: tests.test_muc_room -*-
"""
The rooms and people of XEP-0045's examples, for the room model's tests
(L{mepserver.muc.room} and its sibling modules): plain Python, no XML.
"""

from twisted.internet import task
from twisted.words.protocols.jabber.jid import JID

from mepserver.ids import SeededIdSource
from mepserver.muc.roles import Affiliation
from mepserver.muc.room import Room
from mepserver.muc.roomconfig import RoomConfig

ROOM = JID("coven@chat.shakespeare.lit")
CRONE = JID("crone1@shakespeare.lit/desktop")
WICCA = JID("wiccarocks@shakespeare.lit/laptop")
HAG = JID("hag66@shakespeare.lit/pda")
HAG2 = JID("hag66@shakespeare.lit/laptop")
HECATE = JID("hecate@shakespeare.lit/broom")
MACBETH = JID("macbeth@scotland.lit/castle")


def makeRoom(**config):
    """
    An unlocked room owned by crone1, with the given configuration.
    """
    room = Room(ROOM, task.Clock(), SeededIdSource(), RoomConfig(**config))
    room.affiliations[CRONE.userhostJID()] = Affiliation.OWNER
    return room


def coven(**config):
    """
    The room of the examples: crone1 (owner, firstwitch), wiccarocks
    (secondwitch) and hag66 (thirdwitch) present.
    """
    room = makeRoom(**config)
    room.join(CRONE, "firstwitch", None)
    room.join(WICCA, "secondwitch", None)
    room.join(HAG, "thirdwitch", None)
    return room
