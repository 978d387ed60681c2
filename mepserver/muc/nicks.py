# -*- test-case-name: tests.test_muc_nicks -*-
"""
Room nicknames and JIDs (XEP-0045 sections 7.2, 7.6, 7.10 and 17.1; RFC
8266, RFC 7622): enforcing and comparing nicks with PRECIS
(L{enforceNick}, L{nickKey}), checking JIDs (L{checkJID}, L{bare}), and
the room's nick conflicts: nicks held by occupants (L{checkNickFree},
sections 7.2.8 and 7.6) and reserved nicks (L{checkReservedNick}, 7.10).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING, Optional, Tuple

import precis_i18n
from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.jids import MAX_PART_BYTES, checkPartLengths

if TYPE_CHECKING:
    from mepserver.muc.room import Occupant, Room

_NICK_ENFORCEMENT = precis_i18n.get_profile("NicknameCasePreserved")

#: RFC 8266 section 2.4: comparison also maps case (Unicode toLower).
_NICK_COMPARISON = precis_i18n.get_profile("NicknameCaseMapped")

#: Plain words for the PRECIS refusals a client is most likely to meet.
_NICK_REFUSALS = {
    "DISALLOWED/empty": "a room nickname must not be empty or only spaces",
    "DISALLOWED/controls": "a room nickname must not contain control characters",
}



def bare(entity: jid.JID) -> jid.JID:
    """
    @return: the bare JID of C{entity}, interned.
    """
    return jid.internJID(entity.userhost())


def checkJID(address: jid.JID) -> None:
    """
    Check the lengths of a JID's parts (RFC 7622 section 3), with
    L{mepserver.jids.checkPartLengths}.

    @raise errors.MalformedJID: a part is longer.
    """
    try:
        checkPartLengths(address)
    except jid.InvalidFormat as e:
        raise errors.MalformedJID(str(e))


#: How many nicks L{enforceNick} remembers the outcome for.
ENFORCED_CACHE_SIZE = 1024


def enforceNick(nick: Optional[str]) -> str:
    """
    A room nickname as the room uses it: the Nickname profile of PRECIS
    enforced (RFC 8266 section 2.3: spaces mapped and trimmed, NFKC, case
    kept), as XEP-0045 section 7.2 expects; at most 1023 bytes, the limit
    of a resourcepart (RFC 7622 section 3.4.1). Section 17.1's rule (not
    empty, not only spaces) is part of the profile.

    The outcome is a pure function of C{nick}, and enforcing the profile
    costs more than the rest of a join: the outcomes for the last
    L{ENFORCED_CACHE_SIZE} nicks are remembered (L{_enforced}).

    @return: the enforced nick, which may differ from C{nick} (status 210
        tells the occupant, sections 7.2.2 and 7.6).
    @raise errors.NoNickname: C{nick} is missing, too long or not allowed
        by the profile; the text says why.
    """
    if nick is None:
        raise errors.NoNickname(_NICK_REFUSALS["DISALLOWED/empty"])
    # Checked before the profile too, which need not read hostile input;
    # and a string too long to be a nick is never kept.
    if len(nick.encode("utf-8")) > MAX_PART_BYTES:
        raise errors.NoNickname(_TOO_LONG)
    enforced, refusal = _enforced(nick)
    if refusal is not None:
        raise errors.NoNickname(refusal)
    return enforced


_TOO_LONG = (
    f"a room nickname must be at most {MAX_PART_BYTES} bytes of UTF-8 "
    "(RFC 7622 section 3.4)"
)


@functools.lru_cache(maxsize=ENFORCED_CACHE_SIZE)
def _enforced(nick: str) -> Tuple[Optional[str], Optional[str]]:
    """
    Enforce the Nickname profile on a nick of at most L{MAX_PART_BYTES}
    bytes (L{enforceNick}).

    @return: the enforced nick and L{None}, or L{None} and the text of the
        refusal.
    """
    try:
        enforced = _NICK_ENFORCEMENT.enforce(nick)
    except UnicodeError as e:
        reason = getattr(e, "reason", "")
        text = _NICK_REFUSALS.get(reason)
        if text is None:
            characters = nick[e.start:e.end] if isinstance(e, UnicodeEncodeError) else ""
            named = ", ".join(
                f"U+{ord(c):04X} ({unicodedata.name(c, 'unnamed')})" for c in characters
            )
            text = (
                f"a room nickname must not contain {named or 'this'}: the PRECIS "
                f"Nickname profile (RFC 8266) disallows it ({reason or 'no reason given'})"
            )
        return None, text
    if len(enforced.encode("utf-8")) > MAX_PART_BYTES:
        return None, _TOO_LONG
    return enforced, None


@functools.lru_cache(maxsize=4096)
def nickKey(nick: str) -> str:
    """
    The form in which two enforced nicks are compared (RFC 8266 section
    2.4: the profile with case mapped): nicks with equal keys are the same
    nick, so C{Witch} and C{witch} conflict.
    """
    try:
        return _NICK_COMPARISON.enforce(nick)
    except UnicodeError:
        # A nick from before enforcement (a stored reserved nick):
        # compared as it is.
        return nick

def checkNickFree(
    room: "Room",
    user: jid.JID,
    nick: str,
    allowSelf: bool = True,
    changing: Optional["Occupant"] = None,
) -> None:
    """
    Check that C{user} may take C{nick} in C{room}. Nicks compare as RFC
    8266 section 2.4 says (L{nickKey}): C{Witch} is C{witch}'s nick too.

    @param changing: the occupant whose nick this would be; it may take
        another form of its own nick (section 7.6).
    @raise errors.NickConflict: C{nick} is held or registered by another
        bare JID (sections 7.2.8 and 7.6); with C{allowSelf} false, also
        if another occupant of C{user} holds it.
    """
    held = room.holderOf(nick)
    if held is not None and held is not changing and (held.realJID != user or not allowSelf):
        raise errors.NickConflict(f"the nickname {held.nick!r} is in use in this room")
    checkReservedNick(room, user, nick, "registered to")


def checkReservedNick(room: "Room", user: jid.JID, nick: str, verb: str = "reserved by") -> None:
    """
    @raise errors.NickConflict: another user reserved C{nick} or a nick
        that compares equal (7.10, L{nickKey}).
    """
    key = nickKey(nick)
    for other, reserved in room.nicks.items():
        if other != user and nickKey(reserved) == key:
            raise errors.NickConflict(f"the nickname {reserved!r} is {verb} another user")
