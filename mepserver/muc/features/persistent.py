# -*- test-case-name: tests.test_muc_room -*-
"""
Persistent and temporary rooms (XEP-0045 section 4.2,
C{muc#roomconfig_persistentroom}): a temporary room is destroyed when its
last occupant leaves (section 7.14); a persistent one is stored and
survives restarts (L{mepserver.muc.registry.Rooms}).
"""

from mepserver.muc.features.base import PREFIX, BooleanOption


class Persistent(BooleanOption):
    """
    C{muc#roomconfig_persistentroom}: C{muc_persistent} or C{muc_temporary}.
    """

    name = "persistent"
    var = PREFIX + "persistentroom"
    label = "Make Room Persistent?"
    attribute = "persistent"
    onFeature = "muc_persistent"
    offFeature = "muc_temporary"


feature = Persistent()
