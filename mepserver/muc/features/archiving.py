# -*- test-case-name: tests.test_muc_archive -*-
"""
The room's message archive (XEP-0313 section 7.1.2), an option of the
configuration form under Prosody's name,
C{muc#roomconfig_enablearchiving}; the archive itself is
L{mepserver.muc.archive}.

Until an owner chooses, a room archives if it is persistent (DESIGN.md
section 3), so a room made persistent starts archiving. A form that
submits the value the form showed is no choice: clients submit every
field of the form they were given, and a temporary room's form shows
archiving off, so making it persistent with that form turns archiving
on. Any other value is the owner's choice and stays, whatever happens to
persistence.

A room that archives says so in disco#info with C{urn:xmpp:mam:2} and
C{urn:xmpp:mam:2#extended} (XEP-0313 section 6: before-id, after-id, ids,
flipped pages and metadata). A change is announced with 170 or 171
(XEP-0045 section 10.2.1), beside 104, as Prosody's C{mod_muc_mam} does.
"""

from mepserver.mam.query import NS_MAM, NS_MAM_EXTENDED
from mepserver.muc.features.base import (
    CHANGED,
    PREFIX,
    UNCHANGED,
    RoomFeature,
    booleanField,
    parseBoolean,
)
from mepserver.muc.records import Status


class Archiving(RoomFeature):
    """
    C{muc#roomconfig_enablearchiving}: C{urn:xmpp:mam:2} when on.
    """

    name = "archiving"
    var = PREFIX + "enablearchiving"
    label = "Enable archiving?"

    def discoFeatures(self, room):
        if room.config.archiving:
            return [NS_MAM, NS_MAM_EXTENDED]
        return []

    def configFields(self, room):
        return [booleanField(self.var, self.label, room.config.archiving)]

    def applyConfig(self, room, config, values):
        value = parseBoolean(values, self.var)
        if value is not None and (config.archive is not None or value != room.config.archiving):
            config.archive = value
        # The persistent option comes first: config holds its new value.
        if config.archiving == room.config.archiving:
            return UNCHANGED
        if config.archiving:
            return CHANGED | {Status.LOGGING_ENABLED}
        return CHANGED | {Status.LOGGING_DISABLED}


feature = Archiving()
