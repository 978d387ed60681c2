# -*- test-case-name: tests.test_muc_room -*-
"""
The room's description (XEP-0045 section 10.1.3, C{muc#roomconfig_roomdesc}),
shown as C{muc#roominfo_description} in disco (section 6.4).
"""

from mepserver.muc.features.base import PREFIX, TextOption


class Description(TextOption):
    """
    C{muc#roomconfig_roomdesc}.
    """

    name = "description"
    var = PREFIX + "roomdesc"
    label = "Short Description of Room"
    attribute = "description"


feature = Description()
