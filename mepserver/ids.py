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


class IdSource:
    """
    Unpredictable identifiers (the default).
    """

    def newId(self, prefix: str = "") -> str:
        """
        @return: a fresh identifier, unique for the life of the process.
        """
        return prefix + secrets.token_hex(8)

    def stableId(self, *parts: str) -> str:
        """
        A stable, opaque identifier derived from C{parts}: the same parts
        give the same id for the life of this source, and the parts cannot
        be recovered from it (XEP-0421 section 3.1: occupant ids).
        """
        key = self._key()
        message = "\0".join(parts).encode("utf-8")
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]

    def _key(self) -> bytes:
        key = getattr(self, "_secret", None)
        if key is None:
            key = self._secret = secrets.token_bytes(32)
        return key


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

    def newId(self, prefix: str = "") -> str:
        return prefix + "%016x" % self._random.getrandbits(64)
