# -*- test-case-name: tests.test_muc_room -*-
"""
Public and hidden rooms (XEP-0045 sections 4.2 and 6.3,
C{muc#roomconfig_publicroom}): only public rooms are listed in the
service's disco#items.
"""

from mepserver.muc.features.base import PREFIX, BooleanOption


class Public(BooleanOption):
    """
    C{muc#roomconfig_publicroom}: C{muc_public} or C{muc_hidden}.
    """

    name = "public"
    var = PREFIX + "publicroom"
    label = "Make Room Publicly Searchable?"
    attribute = "public"
    onFeature = "muc_public"
    offFeature = "muc_hidden"


feature = Public()
