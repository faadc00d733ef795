"""Millisecond nonces, strictly increasing per signer, and the window that keeps them acceptable.

The exchange keeps, per signer, the 100 highest nonces it has seen and rejects a nonce that is
not above the smallest of them, or far from its clock (outside ``(T - 2 days, T + 1 day)``).  So
uniqueness is not enough: an action that reaches the server after 100 later nonces of its signer
is refused ("nonce too low").  :class:`NonceManager` guarantees both halves:

* **unique, increasing**: a :class:`NonceSource` hands out ``max(now_ms, last + 1)`` per signer
  (:class:`LocalNonceSource`, in this process; another source — shared between processes — can be
  plugged in), never repeating when the wall clock steps back;
* **in order enough**: a nonce taken with :meth:`NonceManager.acquire` (or
  :meth:`~NonceManager.aacquire`) is *in flight* until :meth:`~NonceManager.release` (or until its
  hold ends: its action's deadline plus :data:`FLIGHT_MARGIN`); a new one is handed out only while
  fewer than ``window`` (64) nonces were taken since the oldest one still in flight
  (:class:`Flights`).  However requests overtake each other on the way (connection pools, threads,
  event loops, several clients of one wallet), at most ``window - 1`` later nonces of a signer can
  reach the exchange before any of its actions: always fewer than the 100 it keeps.  A stuck
  request holds the window until it ends (by its deadline), which is the price of never being
  refused.

The window is per signer and per manager; the clients of a process share one manager
(``DEFAULT_NONCES``), so sync and async clients of one wallet keep the invariant together.  A
:class:`SharedNonceSource` (Redis: ``RedisNonceSource``) keeps the same window for every process
using it, atomically with handing out the nonce; the manager then checks its own window first and
the shared one second, and falls back to its own alone while the shared one cannot be reached.
Threads wait on a condition and asyncio tasks on a future (never blocking their loop; a shared
window is asked off the loop and polled with a backoff, a release in this process wakes the
waiters at once); nothing is held while signing.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .. import errors
from ..errors import InvalidInputError

__all__ = [
    "DEFAULT_HOLD",
    "FLIGHT_MARGIN",
    "NONCE_WINDOW",
    "Flights",
    "LocalNonceSource",
    "NonceManager",
    "NonceSource",
    "SharedNonceSource",
    "SharedWindowDown",
]

#: Nonces of one signer that may be taken after the oldest one still in flight (the exchange
#: keeps 100; the margin covers nonces used outside the window, e.g. by another tool).
NONCE_WINDOW = 64
#: Seconds a nonce that is never released stays in flight after its action's deadline (a request
#: can reach the exchange a little after its sender gave up on it).
FLIGHT_MARGIN = 5.0
#: The deadline assumed when :meth:`NonceManager.acquire` is given none (seconds).
DEFAULT_HOLD = 60.0
#: Polling a shared window: the first pause and the longest (seconds).
_FIRST_NAP, _MAX_NAP = 0.001, 0.05


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceSource(Protocol):
    """Where nonces come from: unique and strictly increasing per signer (a lowercase address)."""

    def next(self, signer: str) -> int:
        """A nonce above every nonce handed out or observed for ``signer``."""
        ...

    def observe(self, signer: str, nonce: int) -> None:
        """Record a nonce used elsewhere for ``signer`` so later ones are above it."""
        ...

    def last(self, signer: str) -> int | None:
        """The last nonce handed out or observed for ``signer`` (``None`` if none)."""
        ...


class _Slot:
    __slots__ = ("last", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = -1


class LocalNonceSource:
    """Per-signer ``max(now_ms, last + 1)`` in this process (``clock`` returns milliseconds)."""

    def __init__(self, clock: Callable[[], int] = _now_ms) -> None:
        self._clock = clock
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()

    def _slot(self, signer: str) -> _Slot:
        slot = self._slots.get(signer)
        if slot is None:
            with self._slots_lock:
                slot = self._slots.setdefault(signer, _Slot())
        return slot

    def next(self, signer: str) -> int:
        """The next nonce for ``signer``: ``max(now_ms, previous + 1)``."""
        slot = self._slots.get(signer) or self._slot(signer)
        # read outside the lock: a slow clock never holds a signer up (the default clock without its frame)
        now = time.time_ns() // 1_000_000 if self._clock is _now_ms else self._clock()
        with slot.lock:
            nonce = now if now > slot.last else slot.last + 1
            slot.last = nonce
        return nonce

    def observe(self, signer: str, nonce: int) -> None:
        """Record a nonce used elsewhere for ``signer``."""
        slot = self._slot(signer)
        with slot.lock:
            if nonce > slot.last:
                slot.last = nonce

    def last(self, signer: str) -> int | None:
        """The last nonce handed out or observed for ``signer``."""
        slot = self._slots.get(signer)
        return None if slot is None or slot.last < 0 else slot.last


class Flights:
    """The nonces of one signer in flight, and the window rule (sans-I/O, not thread-safe).

    ``now`` is in seconds of one clock.  :class:`NonceManager` keeps one per signer for its process;
    ``RedisNonceSource`` runs the same rule in Redis for several processes (a Lua twin in
    ``runtime/ratelimit/store.py``, checked against this one by ``tests/test_ratelimit_ledger.py``).
    """

    def __init__(self) -> None:
        self.taken = 0  # nonces taken so far (the rank of the next one)
        self._entries: dict[int, tuple[int, float]] = {}  # nonce -> (rank, end of its hold)

    def __len__(self) -> int:
        return len(self._entries)

    def shut_for(self, now: float, window: int) -> float:
        """``0.0`` when a nonce may be taken (fewer than ``window`` were taken since the oldest one in
        flight); else the seconds until the holds keeping the window shut end (sooner if released)."""
        if not self._entries:
            return 0.0
        for nonce in [n for n, (_, end) in self._entries.items() if end <= now]:
            del self._entries[nonce]  # its hold is over: a process that died, a forgotten release
        cutoff = self.taken - window  # an entry of this rank or older shuts the window
        ends = [end for rank, end in self._entries.values() if rank <= cutoff]
        return max(ends) - now if ends else 0.0

    def take(self, nonce: int, now: float, hold: float) -> None:
        """Put ``nonce`` in flight (after :meth:`shut_for` said 0) until released or ``now + hold``."""
        self._entries[nonce] = (self.taken, now + hold)
        self.taken += 1

    def release(self, nonce: int) -> bool:
        """End the flight of ``nonce``; False when it was not in flight."""
        return self._entries.pop(nonce, None) is not None


class SharedWindowDown(Exception):
    """A :class:`SharedNonceSource` cannot be reached for this call (the reason is in ``str()``)."""


@runtime_checkable
class SharedNonceSource(NonceSource, Protocol):
    """A :class:`NonceSource` that also keeps each signer's window for every process using it."""

    def take(self, signer: str, *, window: int, hold: float) -> tuple[int | None, float]:
        """Atomically for every process sharing it: when the :class:`Flights` rule lets ``signer`` take a
        nonce, the next one, put in flight for ``hold`` seconds — ``(nonce, 0.0)``; else ``(None, seconds
        until the holds keeping the window shut end)``.  Raises :class:`SharedWindowDown` when unreachable."""
        ...

    def release(self, signer: str, nonce: int) -> None:
        """End the flight of ``nonce`` (a network call; never raises)."""
        ...


class _Window:
    """One signer's window in this process."""

    def __init__(self) -> None:
        self.draw = threading.Lock()  # one draw at a time per signer: ranks follow the nonces here
        self.lock = threading.Lock()  # taken directly (a C call) where nobody waits or is woken
        self.cond = threading.Condition(self.lock)
        self.flights = Flights()
        self.shared: dict[int, SharedNonceSource] = {}  # nonce -> the shared window it is in flight in
        self.releases = 0  # counts releases: a waiter that saw the window shut before one retries at once
        self.waiting = 0  # threads waiting on ``cond`` (a release wakes them only when there are some)
        self.async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class NonceManager:
    """Per-signer nonces (see the module docs): :meth:`next` for a nonce used at once by the
    caller, :meth:`acquire`/:meth:`release` (or :meth:`aacquire`) for a nonce sent over a network.

    ``clock`` returns the current time in milliseconds (injectable for tests); ``source`` replaces
    the in-process :class:`LocalNonceSource` (a :class:`SharedNonceSource` also shares the window);
    ``window`` is :data:`NONCE_WINDOW`.  Signers are keyed by address, case-insensitively.
    """

    def __init__(
        self, clock: Callable[[], int] = _now_ms, *, source: NonceSource | None = None, window: int = NONCE_WINDOW
    ) -> None:
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise InvalidInputError("window", "an integer >= 1", window)
        self.source = source if source is not None else LocalNonceSource(clock)
        self.window = window
        self._windows: dict[str, _Window] = {}
        self._windows_lock = threading.Lock()

    @property
    def source(self) -> NonceSource:
        """Where nonces come from (a :class:`SharedNonceSource` also shares the window); may be replaced."""
        return self._source

    @source.setter
    def source(self, source: NonceSource) -> None:
        self._source = source
        # a runtime-checkable protocol check costs microseconds: made once per source, not per nonce
        self._shared: SharedNonceSource | None = source if isinstance(source, SharedNonceSource) else None
        #: the in-process source itself (quick, never calls out): :meth:`acquire` may take from it in one step
        self._local: LocalNonceSource | None = source if source.__class__ is LocalNonceSource else None

    @staticmethod
    def _key(signer: str) -> str:
        if not isinstance(signer, str) or not signer:
            raise InvalidInputError("signer", "an address string", signer)
        return signer.lower()

    def _window(self, key: str) -> _Window:
        w = self._windows.get(key)
        if w is None:
            with self._windows_lock:
                w = self._windows.setdefault(key, _Window())
        return w

    def next(self, signer: str) -> int:
        """The next nonce for ``signer`` (``max(now_ms, previous + 1)``), outside the window."""
        return self.source.next(self._key(signer))

    def observe(self, signer: str, nonce: int) -> None:
        """Record a nonce used elsewhere for ``signer`` so later ones are above it."""
        if type(nonce) is not int or nonce < 0:
            raise InvalidInputError("nonce", "a non-negative integer", nonce)
        self.source.observe(self._key(signer), nonce)

    def last(self, signer: str) -> int | None:
        """The last nonce handed out (or observed) for ``signer``; ``None`` if none yet."""
        return self.source.last(self._key(signer))

    def in_flight(self, signer: str) -> int:
        """How many nonces of ``signer`` this process took and has not yet released."""
        w = self._windows.get(self._key(signer))
        return 0 if w is None else len(w.flights)

    @staticmethod
    def _hold(hold: float | None) -> float:
        if hold is None:
            return DEFAULT_HOLD + FLIGHT_MARGIN
        if isinstance(hold, bool) or not isinstance(hold, int | float) or not hold > 0:
            raise InvalidInputError("hold", "a number of seconds > 0", hold)
        return float(hold) + FLIGHT_MARGIN

    def _attempt(
        self, key: str, w: _Window, hold: float, lock_wait: float, nap: float
    ) -> tuple[int | None, float, int]:
        """One try: ``(nonce, 0, _)``, or ``(None, seconds worth waiting, releases seen)``."""
        draw = w.draw
        if not draw.acquire(False) and not draw.acquire(timeout=max(lock_wait, 0.0)):  # another draw is under way
            return None, _FIRST_NAP, w.releases
        try:
            with w.lock:
                shut = w.flights.shut_for(time.monotonic(), self.window)
                seen = w.releases
            if shut > 0:
                return None, shut, seen
            source, shared = self._source, self._shared
            nonce: int | None = None
            if shared is not None:
                try:
                    nonce, shut = shared.take(key, window=self.window, hold=hold)
                except SharedWindowDown:  # this process's window alone (the source's nonces say why)
                    shared = None
                else:
                    if nonce is None:
                        return None, max(min(shut, nap), _FIRST_NAP), seen
            if nonce is None:
                nonce = source.next(key)
            with w.lock:
                w.flights.take(nonce, time.monotonic(), hold)
                if shared is not None:
                    w.shared[nonce] = shared
            return nonce, 0.0, seen
        finally:
            draw.release()

    def _full(self, signer: str, timeout: float) -> errors.TimeoutError:
        return errors.TimeoutError(
            f"{self.window} nonces of signer {signer} were taken since its oldest action still in flight, "
            f"and it did not end within {timeout:g}s (nothing was sent)",
            timeout=timeout,
            endpoint="nonce window",
            request_sent=False,
        )

    def acquire(self, signer: str, timeout: float, *, hold: float | None = None) -> int:
        """A nonce for ``signer`` that is in flight until :meth:`release`; waits (at most
        ``timeout`` seconds, then :class:`TimeoutError`) while the window is full.

        ``hold``: seconds until its action's deadline (default :data:`DEFAULT_HOLD`); never released,
        the nonce leaves the window :data:`FLIGHT_MARGIN` after it (a process that died)."""
        key = signer.lower() if signer.__class__ is str and signer else self._key(signer)
        w = self._windows.get(key) or self._window(key)
        span = hold + FLIGHT_MARGIN if hold.__class__ is float and hold > 0 else self._hold(hold)
        local = self._local
        if local is not None and w.draw.acquire(False):
            # the usual take in one step: what _attempt does with the draw free, the window open and the in-process
            # source (tests/test_exchange_nonce_window.py proves the two agree)
            try:
                with w.lock:
                    flights = w.flights
                    entries = flights._entries
                    if not entries or flights.shut_for(time.monotonic(), self.window) <= 0:
                        taken = local.next(key)
                        entries[taken] = (flights.taken, time.monotonic() + span)  # (Flights.take in place)
                        flights.taken += 1
                        return taken
            finally:
                w.draw.release()
        end = time.monotonic() + timeout
        nap = _FIRST_NAP
        while True:
            nonce, wait, seen = self._attempt(key, w, span, end - time.monotonic(), nap)
            if nonce is not None:
                return nonce
            left = end - time.monotonic()
            if left <= 0:
                raise self._full(key, timeout)
            with w.lock:
                if w.releases == seen:  # else a release came in meanwhile: try again at once
                    w.waiting += 1
                    try:
                        w.cond.wait(min(wait, left))
                    finally:
                        w.waiting -= 1
            nap = min(2 * nap, _MAX_NAP)

    async def aacquire(self, signer: str, timeout: float, *, hold: float | None = None) -> int:
        """Async :meth:`acquire`: waiting never blocks the event loop (a shared window is asked in a
        worker thread)."""
        key = signer.lower() if signer.__class__ is str and signer else self._key(signer)
        w = self._window(key)
        span = self._hold(hold)
        loop = asyncio.get_running_loop()
        end = time.monotonic() + timeout
        nap = _FIRST_NAP
        while True:
            if self._shared is not None:
                nonce, wait, seen = await self._attempt_off_loop(key, w, span, end - time.monotonic(), nap)
            else:  # in memory: never waits for the draw lock on the loop
                nonce, wait, seen = self._attempt(key, w, span, 0.0, nap)
            if nonce is not None:
                return nonce
            left = end - time.monotonic()
            if left <= 0:
                raise self._full(key, timeout)
            fut: asyncio.Future[None] = loop.create_future()
            with w.lock:
                if w.releases != seen:
                    continue
                w.async_waiters.append((loop, fut))
            try:
                await asyncio.wait_for(fut, min(wait, left))
            except TimeoutError:  # asyncio's (the builtin): look again
                pass
            finally:
                with w.lock:
                    if (loop, fut) in w.async_waiters:
                        w.async_waiters.remove((loop, fut))
            nap = min(2 * nap, _MAX_NAP)

    async def _attempt_off_loop(
        self, key: str, w: _Window, hold: float, lock_wait: float, nap: float
    ) -> tuple[int | None, float, int]:
        attempt = asyncio.ensure_future(asyncio.to_thread(self._attempt, key, w, hold, lock_wait, nap))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:  # the caller gave up: a nonce taken meanwhile is released
            attempt.add_done_callback(functools.partial(self._drop, key))
            raise

    def _drop(self, key: str, attempt: asyncio.Future[tuple[int | None, float, int]]) -> None:
        """Release the nonce an attempt took for a caller that is gone (off the loop)."""
        if not attempt.cancelled() and attempt.exception() is None:
            nonce = attempt.result()[0]
            if nonce is not None:
                asyncio.get_running_loop().run_in_executor(None, self.release, key, nonce)

    def _release_here(self, key: str, nonce: int) -> SharedNonceSource | None:
        """End the flight of ``nonce`` in this process; returns the shared window it is also in."""
        w = self._windows.get(key)
        if w is None:
            return None
        with w.lock:
            shared = w.shared.pop(nonce, None) if w.shared else None
            if w.flights._entries.pop(nonce, None) is None:  # (Flights.release in place: not in flight)
                return shared
            w.releases += 1
            if w.waiting:
                w.cond.notify_all()
            waiters = w.async_waiters
            if not waiters:
                return shared
            w.async_waiters = []
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_wake, fut)
            except RuntimeError:  # that loop is closed; nobody is left to wake there
                pass
        return shared

    def release(self, signer: str, nonce: int) -> None:
        """End the flight of ``nonce`` (answered, failed or never sent); wakes waiters when the
        window moves.  Never raises (a release a shared window misses ends with the nonce's hold)."""
        key = signer.lower() if signer.__class__ is str and signer else self._key(signer)
        shared = self._release_here(key, nonce)
        if shared is not None:
            shared.release(key, nonce)

    async def arelease(self, signer: str, nonce: int) -> None:
        """Async :meth:`release`: a shared window is told from a worker thread (which finishes the
        release even if the caller is cancelled meanwhile)."""
        key = self._key(signer)
        shared = self._release_here(key, nonce)
        if shared is not None:
            await asyncio.to_thread(shared.release, key, nonce)


#: The process-wide nonce manager every sender uses unless given its own, so that sync and async clients of one
#: wallet hand out unique, increasing nonces together.
DEFAULT_NONCES = NonceManager()
