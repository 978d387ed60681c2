# -*- test-case-name: tests.test_muc_room -*-
"""
The room's natural-language name (XEP-0045 section 10.1.3,
C{muc#roomconfig_roomname}), shown in disco (sections 6.3 and 6.4).
"""

from mepserver.muc.features.base import PREFIX, TextOption


class Name(TextOption):
    """
    C{muc#roomconfig_roomname}.
    """

    name = "name"
    var = PREFIX + "roomname"
    label = "Natural-Language Room Name"
    attribute = "name"


feature = Name()
