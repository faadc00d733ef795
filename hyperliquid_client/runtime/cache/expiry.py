"""One timer thread for the process, shared by every cache: it calls each cache back when its next deadline comes.

A :class:`~hyperliquid_client.runtime.cache.TTLCache` serves hits without a lock or a clock from a table of
entries known to be fresh; this thread takes each entry out of that table a margin *before* it expires, so a
hit never needs to read the time (see ``TTLCache``).  The thread starts on the first deadline, exits after
``IDLE_EXIT`` seconds with nothing scheduled, and is started again in a forked child that inherited deadlines.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
import weakref
from collections.abc import Callable

__all__ = ["EXPIRER", "Expirer"]

IDLE_EXIT = 30.0


class Expirer:
    """Calls ``callback()`` at (or just after) ``when`` (``time.monotonic`` seconds); held weakly."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, weakref.WeakMethod[Callable[[], None]]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def schedule(self, callback: Callable[[], None], when: float) -> None:
        """Call the bound method ``callback`` at ``when``, unless its object is gone by then."""
        ref = weakref.WeakMethod(callback)
        with self._cond:
            first = not self._heap or when < self._heap[0][0]
            heapq.heappush(self._heap, (when, next(self._seq), ref))
            if self._thread is None:
                self._start()
            elif first:
                self._cond.notify()

    @property
    def pending(self) -> int:
        """Call-backs scheduled and not yet made."""
        return len(self._heap)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hl-cache-expiry", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            due: list[weakref.WeakMethod[Callable[[], None]]] = []
            with self._cond:
                while not due:
                    if not self._heap:
                        self._cond.wait(IDLE_EXIT)
                        if not self._heap:
                            self._thread = None
                            return
                        continue
                    delay = self._heap[0][0] - time.monotonic()
                    if delay > 0:
                        self._cond.wait(delay)
                        continue
                    now = time.monotonic()
                    while self._heap and self._heap[0][0] <= now:
                        due.append(heapq.heappop(self._heap)[2])
            for ref in due:
                callback = ref()
                if callback is not None:
                    callback()

    def _after_fork(self) -> None:
        # the parent's thread does not exist here and its condition may have been held at the fork
        self._cond = threading.Condition()
        self._thread = None
        if self._heap:
            self._start()


#: The process's expirer.
EXPIRER = Expirer()
