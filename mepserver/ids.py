# -*- test-case-name: tests.test_ids -*-
"""
Where identifiers come from: random by default, seeded for tests.

Stanza ids, XEP-0359 stanza-ids, XEP-0421 occupant-ids and pubsub item ids
all come from one L{IdSource}, so that L{mepserver.testing}'s deterministic
mode makes a client's snapshot tests stable.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections import OrderedDict

#: How many stable ids an L{IdSource} remembers (L{IdSource.stableId}).
STABLE_CACHE_SIZE = 4096


#: How many random bytes L{IdSource} asks the operating system for at a
#: time: enough for 512 ids.
POOL_SIZE = 4096


class IdSource:
    """
    Unpredictable identifiers (the default): 64 random bits each, from the
    operating system's generator.

    The bits are drawn a pool at a time, not with a system call per id: a
    groupchat message takes two ids and a notification one per
    recipient (issue 16). Ids are made in the reactor thread only.
    """

    _pool = b""
    _used = 0

    def newId(self, prefix: str = "") -> str:
        """
        @return: a fresh identifier, unique for the life of the process.
        """
        used = self._used
        if used + 8 > len(self._pool):
            self._pool, used = secrets.token_bytes(POOL_SIZE), 0
        self._used = used + 8
        return prefix + self._pool[used:used + 8].hex()

    def stableId(self, *parts: str) -> str:
        """
        A stable, opaque identifier derived from C{parts}: the same parts
        give the same id for the life of this source, and the parts cannot
        be recovered from it (XEP-0421 section 3.1: occupant ids).

        The id is a pure function of the parts and the source's secret,
        and the HMAC costs more than the rest of a room join, which asks
        for the occupant's id every time: the last L{STABLE_CACHE_SIZE} ids
        are remembered (issue 16).
        """
        remembered = getattr(self, "_stable", None)
        if remembered is None:
            remembered = self._stable = OrderedDict()
        stable = remembered.get(parts)
        if stable is not None:
            remembered.move_to_end(parts)
            return stable
        key = self._key()
        message = "\0".join(parts).encode("utf-8")
        stable = hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
        remembered[parts] = stable
        while len(remembered) > STABLE_CACHE_SIZE:
            remembered.popitem(last=False)
        return stable

    def _key(self) -> bytes:
        key = getattr(self, "_secret", None)
        if key is None:
            key = self._secret = secrets.token_bytes(32)
        return key

    def _forgetStable(self) -> None:
        """
        Forget the remembered stable ids (the secret changed).
        """
        self._stable = None


class SeededIdSource(IdSource):
    """
    Reproducible identifiers: the same seed gives the same sequence.

    @ivar seed: the seed.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """
        Start the sequence again from the seed, as if newly made.
        """
        self._random = random.Random(self.seed)
        self._secret = self._random.getrandbits(256).to_bytes(32, "big")
        self._forgetStable()

    def newId(self, prefix: str = "") -> str:
        return prefix + "%016x" % self._random.getrandbits(64)
