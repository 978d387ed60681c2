# -*- test-case-name: tests.test_mam_account -*-
"""
Archiving preferences (XEP-0441) of an account's archive: the
C{<prefs xmlns='urn:xmpp:mam:2'/>} element both ways, and the rule that
decides whether a message with a given contact is archived.

  - section 3.1: L{parsePrefs} and L{prefsElement}; C{<always/>} and
    C{<never/>} are assumed empty when missing (sections 3.1.2 and 3.1.3)
    and are always present in an answer;
  - section 3.1.1: the default, C{always}, C{never} or C{roster};
  - section 3.3: L{ruleFor} matches a listed full JID as it is and a
    listed bare JID against the target's bare JID.

A JID in both lists is never archived (privacy wins; the section is
silent, and Prosody keeps the later of the two rules it reads, C{never}).
"""

from __future__ import annotations

from typing import List, Optional

from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish

from mepserver import errors
from mepserver.interfaces import ArchivePrefs
from mepserver.jids import parseJID
from mepserver.mam.query import NS_MAM

#: Section 3.1.1: the values of the C{default} attribute.
DEFAULTS = ("always", "never", "roster")


def _readList(prefs: domish.Element, name: str) -> List[str]:
    found: List[str] = []
    for listElement in prefs.elements(NS_MAM, name):
        for item in listElement.elements():
            if (item.uri, item.name) != (NS_MAM, "jid"):
                raise errors.BadRequest(
                    f"<{name}/> holds <{item.name}/>; it lists <jid/> elements"
                )
            text = str(item).strip()
            try:
                address = parseJID(text).full()
            except jid.InvalidFormat as e:
                raise errors.BadRequest(f"<{name}/> lists {text!r}, not a JID: {e}")
            if address not in found:
                found.append(address)
    return found


def parsePrefs(prefs: domish.Element) -> ArchivePrefs:
    """
    Read the preferences a client sets (section 3.1, example 3).

    @param prefs: the C{<prefs/>} of an IQ set.
    @raise errors.BadRequest: a missing or unknown C{default}, or a list
        entry that is not a C{<jid/>} holding a JID.
    """
    default = prefs.getAttribute("default")
    if default not in DEFAULTS:
        raise errors.BadRequest(
            f"the preferences' default is {default!r}; it must be one of "
            + ", ".join(DEFAULTS)
        )
    always = _readList(prefs, "always")
    never = _readList(prefs, "never")
    return ArchivePrefs(
        default=default,
        always=tuple(a for a in always if a not in never),
        never=tuple(never),
    )


def prefsElement(prefs: ArchivePrefs) -> domish.Element:
    """
    The answer to a get or set (section 3.1, examples 2 and 4): the
    default and both lists, even when empty.
    """
    element = domish.Element((NS_MAM, "prefs"))
    element["default"] = prefs.default
    for name, addresses in (("always", prefs.always), ("never", prefs.never)):
        listElement = element.addElement(name)
        for address in addresses:
            listElement.addElement("jid", content=address)
    return element


def _matches(listed: str, target: jid.JID) -> bool:
    """
    Section 3.3.1: a listed JID with a resource matches the target as it
    is; a bare one matches the target's bare JID.
    """
    if "/" in listed:
        return listed == target.full()
    return listed == target.userhost()


def ruleFor(prefs: ArchivePrefs, target: jid.JID) -> Optional[bool]:
    """
    Whether a message with C{target} is archived, as far as the lists and
    the default can tell.

    @param target: the other party: the C{to} of an outgoing message, the
        C{from} of an incoming one (sections 3.3.2 and 3.3.3).
    @return: C{True} or C{False}; L{None} when the default is C{roster}
        and C{target} is in neither list, so that the answer is whether
        its bare JID is in the account's roster (section 3.3.1).
    """
    if any(_matches(listed, target) for listed in prefs.never):
        return False
    if any(_matches(listed, target) for listed in prefs.always):
        return True
    if prefs.default == "roster":
        return None
    return prefs.default == "always"
