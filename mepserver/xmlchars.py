# -*- test-case-name: tests.test_xmlchars -*-
"""
Text that goes into XML: the characters XML 1.0 allows, and the length of
the identifiers the server keeps.

A stanza that went through the stream's parser holds only characters XML
allows; text from elsewhere (the HTTP API's URL paths and query strings)
may hold any code point, and a node name with C{U+0000}, C{U+001B} or
C{U+FFFE} in it would later be sent in disco#items and break the stream of
every client that reads it. So text that does not come from a parser is
checked here before the server keeps it.

No domish, wokkel or reactor here: the pubsub model (STYLE.md section 3)
checks its identifiers with these functions too.
"""

from __future__ import annotations

import re
from typing import Optional

#: The largest NodeID or ItemID in bytes of UTF-8: as for each part of a
#: JID (RFC 7622 section 3), since XEP-0060 sets no limit of its own and
#: identifiers are shown, stored and compared like addresses.
MAX_IDENTIFIER_BYTES = 1023

# Anything outside XML 1.0's Char production (section 2.2):
#   #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
# Python strings may hold lone surrogates (U+D800 to U+DFFF), which the
# production leaves out as well.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def invalidCharacter(text: str) -> Optional[str]:
    """
    @return: the first character of C{text} that XML 1.0 does not allow
        (section 2.2, production 2 C{Char}), or L{None} if there is none.
    """
    match = _NOT_XML_CHAR.search(text)
    return match.group() if match else None


def describeCharacter(char: str) -> str:
    """
    @return: a character's code point as Unicode writes it, C{U+001B}.
    """
    return f"U+{ord(char):04X}"


def identifierProblem(text: str, what: str) -> Optional[str]:
    """
    Check an identifier the server will keep and send in XML (a NodeID or
    an ItemID).

    @param what: what it is, for the message: C{"the node name"}.
    @return: why it cannot be used, in plain words, or L{None} if it can:
        a character XML 1.0 does not allow, or more than
        L{MAX_IDENTIFIER_BYTES} bytes of UTF-8.
    """
    char = invalidCharacter(text)
    if char is not None:
        return (
            f"{what} holds the character {describeCharacter(char)}, which XML "
            "does not allow (XML 1.0 section 2.2)"
        )
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_IDENTIFIER_BYTES:
        return (
            f"{what} is {size} bytes long; this server allows at most "
            f"{MAX_IDENTIFIER_BYTES} bytes of UTF-8"
        )
    return None
