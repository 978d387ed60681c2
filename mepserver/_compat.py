# -*- test-case-name: tests.test_compat -*-
"""
Compatibility shim that lets wokkel 18.0.0 import on current Twisted.

wokkel 18.0.0 (the newest release on PyPI) imports two names that modern
Twisted no longer has:

  - C{twisted.python.compat._PY3}, removed with Python 2 support
    (used by C{wokkel.data_form});
  - the module C{twisted.python.constants}, which moved out of Twisted into
    the C{constantly} package (used by C{wokkel.muc} and, through it,
    C{wokkel.pubsub}, C{wokkel.disco} and C{wokkel.ping}).

This module puts both back, each only if missing, and changes nothing else
in wokkel's way.

It makes one more change, for a hostile client's sake rather than wokkel's:
it bounds the cache of Twisted's C{jid.internJID} (the module-level dict
C{__internJIDs} of C{twisted.words.protocols.jabber.jid}), which otherwise
keeps every JID string ever parsed, for ever, and grows with every new
address a client names (issue 15). Twisted, wokkel and mepserver call
C{internJID} in too many places on untrusted strings to avoid it, so the
dict is swapped, once, for a L{mepserver.jids.BoundedJIDCache}.

And one for real clients' sake: Twisted prepares JIDs with the RFC 3920
stringprep profiles for stored strings, which refuse code points Unicode
3.2 had not assigned, such as every emoji, so a user whose resource or
room nick holds one (common in MUC) could not even address a stanza.
Prosody and ejabberd prepare JIDs as RFC 3454 section 7 prepares queries,
with unassigned code points allowed; so does mepserver, by turning off the
unassigned check of Twisted's C{nodeprep} and C{resourceprep} profiles
(every prohibited character, mapping and the bidi rule stay).

And one for speed: each of Twisted's three stringprep profiles gets a
bounded memory of the strings it prepared (L{mepserver.jids.MemoizedPrepare}
as the profile's C{prepare}), since preparing is a pure function and the
server prepares the same few localparts, domains, resources and nicks for
every JID it makes from parts or parses anew (issue 16: stringprep was
the largest cost of a MUC join and a large one of a login).

And one for safety: Twisted and wokkel mark a stanza taken by a handler
with an attribute, C{handled}, that they read on every element (mepserver
adds C{blockingChecked}, the block list's mark, and C{archiveStanzaId}, the
stanza-id carbons copy). An element answers an
unknown attribute with its first child of that name, so a client's
C{<handled/>} child made its stanza look taken (dropped, or a request left
unanswered) and a C{<blockingChecked/>} child made it look checked against
block lists; a copy of such a stanza (a room's broadcast) did the same.
C{domish.Element} gets them as class defaults (C{False}, C{None}), so
that only a handler's mark counts.

Apart from L{mepserver.writethrough} (installed by the server, not on
import), this is the only code in mepserver that patches a third-party
module, and
C{mepserver/__init__.py} calls L{apply} first so that every way into the
package applies it before wokkel loads.

Delete the two wokkel changes (and their tests in C{tests/test_compat.py})
once a wokkel release imports cleanly on current Twisted: the canary test in
C{tests/test_compat} starts skipping with "shim no longer needed" when that
happens. Keep the JID cache bound until Twisted bounds its cache itself, and the
memories of the profiles until Twisted's stringprep is fast;
C{tests/test_compat} fails if Twisted renames the dict.
"""

import importlib
import sys

from twisted.python import compat
from twisted.words.protocols.jabber import jid, xmpp_stringprep
from twisted.words.xish import domish

from mepserver.jids import BoundedJIDCache, MemoizedPrepare

#: The name of Twisted's JID intern cache in C{jid}'s globals.
JID_CACHE = "__internJIDs"

#: The marks handlers set on stanzas, with their value on every element
#: that was not marked (C{archiveStanzaId}: the XEP-0359 element an account
#: archive gave a message, for its carbon copies).
MARKS = {"handled": False, "blockingChecked": False, "archiveStanzaId": None}


def apply():
    """
    Apply the changes, each one only if it is needed.

    Calling it again is harmless: nothing that exists is overwritten.

    @return: the names of the changes made by this call.
    @rtype: L{list} of L{str}
    """
    changed = []
    for mark, default in MARKS.items():
        if mark not in vars(domish.Element):
            setattr(domish.Element, mark, default)
            changed.append("twisted.words.xish.domish.Element." + mark)
    for name in ("nodeprep", "resourceprep"):
        profile = getattr(xmpp_stringprep, name)
        if profile.do_check_unassigneds:
            profile.do_check_unassigneds = False
            changed.append(f"twisted.words.protocols.jabber.xmpp_stringprep.{name}")
    for name in ("nodeprep", "resourceprep", "nameprep"):
        profile = getattr(xmpp_stringprep, name)
        if not isinstance(vars(profile).get("prepare"), MemoizedPrepare):
            profile.prepare = MemoizedPrepare(profile.prepare)
            changed.append(f"twisted.words.protocols.jabber.xmpp_stringprep.{name}.prepare")
    cache = vars(jid).get(JID_CACHE)
    if type(cache) is dict:
        bounded = BoundedJIDCache()
        for key, value in cache.items():
            bounded[key] = value
        setattr(jid, JID_CACHE, bounded)
        changed.append("twisted.words.protocols.jabber.jid." + JID_CACHE)
    if not hasattr(compat, "_PY3"):
        compat._PY3 = True
        changed.append("twisted.python.compat._PY3")
    if "twisted.python.constants" not in sys.modules:
        try:
            importlib.import_module("twisted.python.constants")
        except ImportError:
            import constantly

            sys.modules["twisted.python.constants"] = constantly
            changed.append("twisted.python.constants")
    return changed
