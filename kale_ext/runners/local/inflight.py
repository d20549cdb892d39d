"""Single-flight of cached steps across the runs of one LocalRunner: a step with cache key K executes once at a time.

A tuning experiment starts several runs at once whose first steps (data loading, preprocessing) read no tuned
parameter and so have the same cache key. Without this, each of the parallel runs misses the cache (the first has not
finished) and executes the step again. With it, the first run that needs K claims it and executes the step; the
others wait for it and then take it from the cache (or, if it failed, one of them claims K and executes it itself).

Like the slot pool (slots.py), a driver never blocks here: ``claim`` either gives the key to the driver or registers
its event queue, and ``release`` posts ``{"event": "inflight", "key": K}`` to the queues waiting for K, so a waiting
driver still sees its cancels and step exits. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import queue
import threading


class InFlight:
    """Cache keys being executed now, each by one owner (a run id), and the drivers waiting for each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, str] = {}
        self._waiters: dict[str, list[queue.Queue]] = {}

    def claim(self, key: str, owner: str, waiter: queue.Queue) -> bool:
        """True: ``owner`` executes the step with ``key`` (it had it, or nobody did). False: another run executes it
        now; ``waiter`` gets an "inflight" event when it ends."""
        with self._lock:
            holder = self._owners.setdefault(key, owner)
            if holder == owner:
                return True
            waiting = self._waiters.setdefault(key, [])
            if waiter not in waiting:
                waiting.append(waiter)
            return False

    def release(self, key: str, owner: str) -> None:
        """``owner`` is done with ``key`` (the step's outcome is in the store); its waiters try again."""
        with self._lock:
            if self._owners.get(key) != owner:
                return
            del self._owners[key]
            waiters = self._waiters.pop(key, [])
        for waiter in waiters:
            waiter.put({"event": "inflight", "key": key})

    def release_all(self, owner: str) -> None:
        with self._lock:
            keys = [k for k, o in self._owners.items() if o == owner]
        for key in keys:
            self.release(key, owner)

    def withdraw(self, waiter: queue.Queue) -> None:
        """Forget ``waiter`` (its run stopped waiting: cancelled, or ended)."""
        with self._lock:
            for waiting in self._waiters.values():
                if waiter in waiting:
                    waiting.remove(waiter)

    def owner(self, key: str) -> str | None:
        with self._lock:
            return self._owners.get(key)
