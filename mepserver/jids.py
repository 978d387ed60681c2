# -*- test-case-name: tests.test_jids -*-
"""
Addresses as RFC 7622 allows them, checked where they enter the server.

Twisted's L{jid.internJID} applies stringprep but accepts parts of any
length and turns an empty localpart or resourcepart (C{@example.com},
C{user@example.com/}) into a missing one. RFC 7622 section 3 forbids both,
and a server answers such an address with C{jid-malformed} (RFC 6120
section 8.3.3.8) rather than with an answer for some other address.
"""

from collections import OrderedDict

from twisted.words.protocols.jabber import jid

#: RFC 7622 sections 3.2.1, 3.3.1 and 3.4.1: each part is at most 1023
#: bytes once prepared.
MAX_PART_BYTES = 1023

#: How many parsed JIDs L{BoundedJIDCache} keeps.
JID_CACHE_SIZE = 10000

#: Longer JID strings are parsed every time, never kept: with the size,
#: this bounds the cache's memory to a few megabytes.
JID_CACHE_MAX_LENGTH = 256


class BoundedJIDCache(OrderedDict):
    """
    The cache behind Twisted's L{jid.internJID}, bounded.

    Twisted keeps every JID string it ever parsed in a module-level dict, for
    ever; the router, wokkel (each stanza's C{from} and C{to}, pubsub's
    C{jid} attributes), Twisted's stream header (C{to}) and
    L{jid.JID.userhostJID} all intern strings that clients choose, so a
    client could grow the server's memory without bound by addressing ever
    new JIDs. L{mepserver._compat} puts this mapping in its place: the
    C{maxSize} most recently used JIDs stay, strings longer than
    C{maxLength} are not kept at all, and C{internJID} works as before (a
    JID no longer cached is parsed again, equal to the one before).

    @ivar maxSize: the most entries.
    @ivar maxLength: the longest key kept.
    """

    def __init__(self, maxSize: int = JID_CACHE_SIZE, maxLength: int = JID_CACHE_MAX_LENGTH):
        OrderedDict.__init__(self)
        self.maxSize = maxSize
        self.maxLength = maxLength

    def __getitem__(self, key):
        value = OrderedDict.__getitem__(self, key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        if len(key) > self.maxLength:
            return
        OrderedDict.__setitem__(self, key, value)
        while len(self) > self.maxSize:
            self.popitem(last=False)


class MemoizedPrepare:
    """
    A stringprep profile's C{prepare}, remembering its last answers.

    Preparing a string is a pure function of it, and costs tens of
    microseconds (a table lookup per character and per table): a server
    prepares the same localparts, domains, resources and room nicks again
    and again, in every C{jid.JID(tuple=...)} and every JID string not in
    the intern cache (L{BoundedJIDCache}), and in every SASL username.
    L{mepserver._compat} puts one in front of each of Twisted's profiles.
    Like the JID cache it is bounded: the C{maxSize} most recently used
    strings of at most C{maxLength} characters; a string that stringprep
    refuses raises every time and is never kept.

    @ivar prepare: the profile's own C{prepare}.
    """

    def __init__(
        self, prepare, maxSize: int = JID_CACHE_SIZE, maxLength: int = JID_CACHE_MAX_LENGTH
    ):
        self.prepare = prepare
        self.maxSize = maxSize
        self.maxLength = maxLength
        self._prepared: "OrderedDict[str, str]" = OrderedDict()

    def __call__(self, string: str) -> str:
        prepared = self._prepared.get(string)
        if prepared is not None:
            self._prepared.move_to_end(string)
            return prepared
        prepared = self.prepare(string)
        if len(string) <= self.maxLength:
            self._prepared[string] = prepared
            if len(self._prepared) > self.maxSize:
                self._prepared.popitem(last=False)
        return prepared

    def __len__(self) -> int:
        return len(self._prepared)


def parseJID(text: str) -> jid.JID:
    """
    Parse and prepare an address, refusing what RFC 7622 forbids.

    @return: the interned L{jid.JID} (interned in a bounded cache, see
        L{BoundedJIDCache}).
    @raise jid.InvalidFormat: with a message saying what is wrong.
    """
    address = jid.internJID(text)
    # Twisted reads a part that is empty, or that stringprep maps to
    # nothing (a zero-width space, say), as a missing part.
    slash = text.find("/")
    bare = text if slash == -1 else text[:slash]
    if "@" in bare and not address.user:
        raise jid.InvalidFormat("the localpart before '@' is empty (RFC 7622 3.3.1)")
    if slash != -1 and not address.resource:
        raise jid.InvalidFormat("the resourcepart after '/' is empty (RFC 7622 3.4.1)")
    checkPartLengths(address)
    return address


def occupantJID(room: jid.JID, nick: str) -> jid.JID:
    """
    The occupant JID C{room@service/nick} (XEP-0045 section 4.1), interned:
    the same as C{jid.JID(tuple=(room.user, room.host, nick))}, but
    prepared (stringprep) only when the cache does not have it already,
    which it does after the join presence that named it.

    @param room: the bare room JID.
    @param nick: the nick, as the room enforced it.
    """
    return jid.internJID(f"{room.user}@{room.host}/{nick}")


def checkPartLengths(address: jid.JID) -> None:
    """
    @raise jid.InvalidFormat: a part of C{address} is longer than
        L{MAX_PART_BYTES} bytes (RFC 7622 section 3).
    """
    for name, part in (
        ("localpart", address.user),
        ("domainpart", address.host),
        ("resourcepart", address.resource),
    ):
        if part is not None:
            size = len(part.encode("utf-8"))
            if size > MAX_PART_BYTES:
                raise jid.InvalidFormat(
                    f"the {name} is {size} bytes long; RFC 7622 section 3 "
                    f"allows at most {MAX_PART_BYTES}"
                )
