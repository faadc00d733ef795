"""Millisecond nonces, strictly increasing per signer, and the window that keeps them acceptable.

The exchange keeps, per signer, the 100 highest nonces it has seen and rejects a nonce that is
not above the smallest of them, or far from its clock (outside ``(T - 2 days, T + 1 day)``).  So
uniqueness is not enough: an action that reaches the server after 100 later nonces of its signer
is refused ("nonce too low").  :class:`NonceManager` guarantees both halves:

* **unique, increasing**: a :class:`NonceSource` hands out ``max(now_ms, last + 1)`` per signer
  (:class:`LocalNonceSource`, in this process; another source — shared between processes — can be
  plugged in), never repeating when the wall clock steps back;
* **in order enough**: a nonce taken with :meth:`NonceManager.acquire` (or
  :meth:`~NonceManager.aacquire`) is *in flight* until :meth:`~NonceManager.release`; a new one is
  handed out only while fewer than ``window`` (64) nonces were taken since the oldest one still in
  flight.  However requests overtake each other on the way (connection pools, threads, event
  loops, several clients of one wallet), at most ``window - 1`` later nonces of a signer can reach
  the exchange before any of its actions: always fewer than the 100 it keeps.  A stuck request
  holds the window until it ends (by its deadline), which is the price of never being refused.

The window is per signer and per manager; the clients of a process share one manager
(``DEFAULT_NONCES``), so sync and async clients of one wallet keep the invariant together.
Threads wait on a condition and asyncio tasks on a future (never blocking their loop); nothing is
held while signing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Protocol

from .. import errors
from ..errors import InvalidInputError

__all__ = ["NONCE_WINDOW", "LocalNonceSource", "NonceManager", "NonceSource"]

#: Nonces of one signer that may be taken after the oldest one still in flight (the exchange
#: keeps 100; the margin covers nonces used outside the window, e.g. by another tool).
NONCE_WINDOW = 64


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
        slot = self._slot(signer)
        now = self._clock()  # read outside the lock: a slow clock never holds a signer up
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


class _Window:
    """In-flight nonces of one signer, in the order they were taken."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.taken = 0  # how many nonces were taken through the window
        self.in_flight: dict[int, int] = {}  # nonce -> its rank in `taken` (insertion = rank order)
        self.async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def opened(self, size: int) -> bool:
        return not self.in_flight or self.taken - next(iter(self.in_flight.values())) < size


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class NonceManager:
    """Per-signer nonces (see the module docs): :meth:`next` for a nonce used at once by the
    caller, :meth:`acquire`/:meth:`release` (or :meth:`aacquire`) for a nonce sent over a network.

    ``clock`` returns the current time in milliseconds (injectable for tests); ``source`` replaces
    the in-process :class:`LocalNonceSource`; ``window`` is :data:`NONCE_WINDOW`.  Signers are
    keyed by address, case-insensitively.
    """

    def __init__(
        self, clock: Callable[[], int] = _now_ms, *, source: NonceSource | None = None, window: int = NONCE_WINDOW
    ) -> None:
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise InvalidInputError("window", "an integer >= 1", window)
        self.source: NonceSource = source if source is not None else LocalNonceSource(clock)
        self.window = window
        self._windows: dict[str, _Window] = {}
        self._windows_lock = threading.Lock()

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
        """How many nonces of ``signer`` are taken and not yet released."""
        w = self._windows.get(self._key(signer))
        return 0 if w is None else len(w.in_flight)

    def _take(self, key: str, w: _Window) -> int:
        """Under ``w.cond``: hand out a nonce and put it in flight."""
        nonce = self.source.next(key)
        w.in_flight[nonce] = w.taken
        w.taken += 1
        return nonce

    def _full(self, signer: str, timeout: float) -> errors.TimeoutError:
        return errors.TimeoutError(
            f"{self.window} nonces of signer {signer} were taken since its oldest action still in flight, "
            f"and it did not end within {timeout:g}s (nothing was sent)",
            timeout=timeout,
            endpoint="nonce window",
            request_sent=False,
        )

    def acquire(self, signer: str, timeout: float) -> int:
        """A nonce for ``signer`` that is in flight until :meth:`release`; waits (at most
        ``timeout`` seconds, then :class:`TimeoutError`) while the window is full."""
        key = self._key(signer)
        w = self._window(key)
        with w.cond:
            if not w.cond.wait_for(lambda: w.opened(self.window), timeout):
                raise self._full(key, timeout)
            return self._take(key, w)

    async def aacquire(self, signer: str, timeout: float) -> int:
        """Async :meth:`acquire`: waiting never blocks the event loop."""
        key = self._key(signer)
        w = self._window(key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with w.cond:
                if w.opened(self.window):
                    return self._take(key, w)
                fut: asyncio.Future[None] = loop.create_future()
                w.async_waiters.append((loop, fut))
            try:
                await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
            except TimeoutError:  # asyncio's (the builtin)
                with w.cond:
                    if (loop, fut) in w.async_waiters:
                        w.async_waiters.remove((loop, fut))
                raise self._full(key, timeout) from None

    def release(self, signer: str, nonce: int) -> None:
        """End the flight of ``nonce`` (answered, failed or never sent); wakes waiters when the
        window moves."""
        w = self._windows.get(self._key(signer))
        if w is None:
            return
        with w.cond:
            if w.in_flight.pop(nonce, None) is None:
                return
            w.cond.notify_all()
            waiters, w.async_waiters = w.async_waiters, []
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_wake, fut)
            except RuntimeError:  # that loop is closed; nobody is left to wake there
                pass
