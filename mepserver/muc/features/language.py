# -*- test-case-name: tests.test_muc_room -*-
"""
The language of the room's discussions (XEP-0045 section 10.1.3,
C{muc#roomconfig_lang}), shown as C{muc#roominfo_lang} (section 6.4).
"""

from mepserver.muc.features.base import PREFIX, TextOption


class Language(TextOption):
    """
    C{muc#roomconfig_lang}.
    """

    name = "language"
    var = PREFIX + "lang"
    label = "Natural Language for Room Discussions"
    attribute = "language"


feature = Language()
