"""The runner-wide pool of step processes: every active run of one LocalRunner takes a slot per step process.

Several runs at once (a tuning experiment starts many) must not each take every core: a run's own ``max_parallel``
bounds it, and the pool bounds all of them together. A driver never blocks on the pool: ``try_acquire`` either takes a
slot or registers the driver's event queue, and every ``release`` posts ``{"event": "slot"}`` to the registered queues,
so a driver waits for a slot on the same queue it waits on for step exits and cancels (a cancel cannot deadlock behind a
slot). Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import queue
import threading


class Slots:
    """``size`` slots; ``in_use`` is the count taken now and ``peak`` the most taken at once."""

    def __init__(self, size: int) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"the slot pool needs a positive size, got {size!r}.")
        self.size = size
        self.in_use = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._waiters: list[queue.Queue] = []

    def try_acquire(self, waiter: queue.Queue) -> bool:
        """Take a slot if one is free; else remember ``waiter``, which gets a "slot" event at the next release."""
        with self._lock:
            if self.in_use < self.size:
                self.in_use += 1
                self.peak = max(self.peak, self.in_use)
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                return True
            if waiter not in self._waiters:
                self._waiters.append(waiter)
            return False

    def release(self) -> None:
        with self._lock:
            if self.in_use == 0:
                raise RuntimeError("a slot was released that was never acquired")
            self.in_use -= 1
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:  # all of them try again; those that lose the race register anew
            waiter.put({"event": "slot"})

    def withdraw(self, waiter: queue.Queue) -> None:
        """Forget ``waiter`` (its run stops waiting: cancelled, or nothing left to start)."""
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
