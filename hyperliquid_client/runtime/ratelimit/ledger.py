"""The weight budget's bookkeeping: a sliding-window log with in-flight holds, and the 429 backoff.

Sans-I/O: every method takes ``now`` (seconds of one monotonic clock) and never sleeps.  The same
rules run in Redis as Lua scripts (:mod:`.store`); ``tests/test_ratelimit_ledger.py`` checks both
against one set of cases.

**Why every window of the server stays within the budget.**  Each admitted request is an entry of
the log that counts against the budget until ``window`` seconds after its *answer* (while in flight
it counts until ``admitted + hold + window``, ``hold`` being at least its timeout).  A request is
admitted only if the entries still counting plus its weight fit the limit.  The server counts a
request at some moment between its admission and its answer; take any interval of ``window``
seconds the server may count in and the request of it admitted last: every other request of the
interval was admitted before it and answered after the interval's start, so it was still counting
at that admission — the interval's total is at most the limit, whatever the server's alignment.

**One backoff.**  A 429 pauses admission for ``Retry-After`` (else ``base * 2**(strikes-1)`` up to
``max``).  When the pause ends one call is let through as a probe; until it is answered the others
(and background calls until the strikes are cleared) wait.  A good answer clears the strikes.
"""

from __future__ import annotations

import itertools
from collections import deque

from hyperliquid_client.runtime.record import frozen

__all__ = ["Admission", "Ledger"]

#: how long a probe holds the others back before another call may probe (seconds)
PROBE_HOLD = 2.0


@frozen
class Admission:
    """The answer of :meth:`Ledger.admit`: ``entry`` (granted) or ``wait`` seconds and why."""

    entry: int | None
    wait: float = 0.0
    reason: str = ""
    probe: bool = False

    @property
    def granted(self) -> bool:
        """True when the weight was taken."""
        return self.entry is not None


class Ledger:
    """One IP's budget as seen by this process (not thread-safe: callers hold a lock)."""

    def __init__(self) -> None:
        self._done: deque[tuple[float, int]] = deque()  # (expires, weight), appended in expiry order
        self._late: list[tuple[float, int]] = []  # completed entries whose expiry came out of order
        self._inflight: dict[int, tuple[int, float]] = {}  # id -> (weight, expires if never answered)
        self._soonest = float("inf")  # no in-flight entry expires before this (a lower bound)
        self._ids = itertools.count(1)
        self.total = 0
        self.pause_until = 0.0
        self.strikes = 0
        self.probe_until = 0.0

    # ------------------------------------------------------------------ the log
    def _prune(self, now: float) -> None:
        done = self._done
        while done and done[0][0] <= now:
            self.total -= done.popleft()[1]
        if self._late:
            keep = [(e, w) for e, w in self._late if e > now]
            self.total -= sum(w for e, w in self._late if e <= now)
            self._late = keep
        if now < self._soonest:
            return  # no hold is over yet: the usual case needs no walk through the requests in flight
        soonest = float("inf")
        for entry, (weight, expires) in tuple(self._inflight.items()):
            if expires <= now:  # never answered (a lost process, a forgotten ticket): its hold is over
                del self._inflight[entry]
                self.total -= weight
            elif expires < soonest:
                soonest = expires
        self._soonest = soonest

    def used(self, now: float) -> int:
        """Weight counting against the budget at ``now``."""
        self._prune(now)
        return self.total

    def _add_done(self, expires: float, weight: int) -> None:
        if self._done and expires < self._done[-1][0]:
            self._late.append((expires, weight))
        else:
            self._done.append((expires, weight))
        self.total += weight

    def _wait_for(self, now: float, needed: int, window: float) -> float:
        """Seconds until ``needed`` weight has left the log (in-flight entries leave last)."""
        freed = 0
        for expires, weight in sorted([*self._done, *self._late]):
            freed += weight
            if freed >= needed:
                return max(expires - now, 0.001)
        return window  # held by requests in flight: at least a window after their answers

    def admit(
        self, now: float, weight: int, limit: int, *, window: float, hold: float, background: bool = False
    ) -> Admission:
        """Take ``weight`` if the log plus it stays within ``limit``; otherwise say how long to wait."""
        if now < self.pause_until:
            return Admission(None, self.pause_until - now, "backoff")
        probe = False
        if self.strikes:
            if background:
                return Admission(None, max(self.probe_until - now, 0.25), "backoff")
            if now < self.probe_until:
                return Admission(None, self.probe_until - now, "backoff")
            probe = True
        self._prune(now)
        if self.total + weight > limit:
            return Admission(None, self._wait_for(now, self.total + weight - limit, window), "budget")
        entry = self.take(now, weight, hold=hold, window=window)
        if probe:
            self.probe_until = now + min(hold, PROBE_HOLD)
        return Admission(entry, probe=probe)

    def grant(self, now: float, weight: int, limit: int, *, window: float, hold: float) -> int | None:
        """:meth:`admit`'s usual case, for a call that is not background work: the entry taken when there is no
        backoff and ``weight`` fits; ``None`` when :meth:`admit` must decide (and say how long to wait)."""
        if self.strikes or now < self.pause_until:
            return None
        done = self._done
        if (done and done[0][0] <= now) or self._late or now >= self._soonest:
            self._prune(now)  # (else nothing has left the log: what _prune would find)
        if self.total + weight > limit:
            return None
        return self.take(now, weight, hold=hold, window=window)

    def take(self, now: float, weight: int, *, hold: float, window: float) -> int:
        """Add an in-flight entry of ``weight`` without any check (mirroring a grant made elsewhere)."""
        entry = next(self._ids)
        expires = now + hold + window
        self._inflight[entry] = (weight, expires)
        if expires < self._soonest:
            self._soonest = expires
        self.total += weight
        return entry

    def complete(self, entry: int, now: float, *, window: float) -> None:
        """The request of ``entry`` was answered (or failed) at ``now``: it counts until ``now + window``."""
        found = self._inflight.pop(entry, None)
        if found is None:
            return
        expires = now + window
        done = self._done
        if done and expires < done[-1][0]:
            self._late.append((expires, found[0]))
        else:  # (_add_done less its frame, the weight staying counted)
            done.append((expires, found[0]))

    def charge(self, weight: int, now: float, *, window: float) -> None:
        """Add ``weight`` spent at ``now`` (a per-item surcharge known from the answer)."""
        if weight > 0:
            self._add_done(now + window, weight)

    def record(self, weight: int, expires: float) -> None:
        """Add an entry that counts until ``expires`` (mirroring what another store admitted)."""
        if weight > 0:
            self._add_done(expires, weight)

    def entries(self, now: float) -> list[tuple[int, float]]:
        """``(weight, seconds still counting)`` of every entry (in-flight ones until their hold ends)."""
        self._prune(now)
        out = [(w, e - now) for e, w in (*self._done, *self._late)]
        out.extend((w, e - now) for w, e in self._inflight.values())
        return out

    # ------------------------------------------------------------------ the 429 backoff
    def rate_limited(self, now: float, retry_after: float | None, *, base: float, maximum: float) -> float:
        """A 429 arrived: pause everyone; returns the pause in seconds."""
        self.strikes += 1
        if retry_after is not None:
            pause = max(0.0, retry_after)
        else:
            pause = min(maximum, base * 2 ** min(self.strikes - 1, 30))
        self.pause_until = max(self.pause_until, now + pause)
        self.probe_until = 0.0
        return pause

    def succeeded(self) -> bool:
        """A request was answered without a 429: clear the strikes; True when a backoff ended."""
        if not self.strikes:
            return False
        self.strikes = 0
        self.probe_until = 0.0
        return True
