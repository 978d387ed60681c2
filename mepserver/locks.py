# -*- test-case-name: tests.test_locks -*-
"""
One lock per key (a room, say), keeping the stanzas of that key in order
while some of them wait for a store.
"""

from typing import Callable, Dict, Hashable, Mapping

from twisted.internet import defer


class KeyedLocks:
    """
    A L{defer.DeferredLock} per key, made when first needed and forgotten
    once free.

    The pattern: while a key's lock is free, work for it runs at once;
    work that must wait for a store runs under the lock, which stays held
    until the Deferred it returns fires, and meanwhile later work for the
    key queues behind it (L{busy}, L{run}).
    """

    def __init__(self) -> None:
        self._locks: Dict[Hashable, defer.DeferredLock] = {}

    @property
    def held(self) -> Mapping[Hashable, defer.DeferredLock]:
        """
        The locks held or waited for, by key, read-only: C{key in held} is
        L{busy}, for loops that ask of many keys (issue 16).
        """
        return self._locks

    def busy(self, key: Hashable) -> bool:
        """
        @return: whether work for C{key} is in progress or waiting.
        """
        return key in self._locks

    def run(self, key: Hashable, f: Callable, *args, **kwargs) -> defer.Deferred:
        """
        Call C{f} once the earlier work for C{key} is done (at once if
        there is none), and hold the lock until its result fires.

        @return: a Deferred with C{f}'s result.
        """
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = defer.DeferredLock()
        d = lock.run(f, *args, **kwargs)

        def release(result):
            if not lock.locked and not lock.waiting and self._locks.get(key) is lock:
                del self._locks[key]
            return result

        return d.addBoth(release)

    @defer.inlineCallbacks
    def drain(self):
        """
        Wait until no key has work in progress (at shutdown).
        """
        while self._locks:
            # self.run, not the locks' own run: its release forgets a lock
            # nobody waits for, so the loop ends.
            yield defer.gatherResults([self.run(key, lambda: None) for key in list(self._locks)])
