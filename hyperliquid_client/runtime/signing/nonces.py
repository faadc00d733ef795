"""Millisecond nonces, strictly increasing per signer.

The exchange keeps, per signer, the 100 highest nonces it has seen and rejects a nonce
that is not above the smallest of them, or far from its clock (outside ``(T - 2 days,
T + 1 day)``).  :class:`NonceManager` hands out ``max(now_ms, last + 1)`` per signer:

* unique and strictly increasing per signer under any concurrency (threads or asyncio
  tasks: :meth:`NonceManager.next` never blocks on I/O and holds a per-signer lock for a
  few instructions only, so signers never wait on one another and signing itself runs
  outside any lock);
* never repeating when the wall clock steps back (it keeps counting up from the last
  value until the clock catches up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import InvalidInputError

__all__ = ["NonceManager"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Slot:
    __slots__ = ("last", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = -1


class NonceManager:
    """Per-signer millisecond nonces.

    ``clock`` returns the current time in milliseconds (injectable for tests).  Signers
    are keyed by address, case-insensitively.
    """

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

    @staticmethod
    def _key(signer: str) -> str:
        if not isinstance(signer, str) or not signer:
            raise InvalidInputError("signer", "an address string", signer)
        return signer.lower()

    def next(self, signer: str) -> int:
        """The next nonce for ``signer``: ``max(now_ms, previous + 1)``."""
        slot = self._slot(self._key(signer))
        now = self._clock()  # read outside the lock: a slow clock never holds a signer up
        with slot.lock:
            nonce = now if now > slot.last else slot.last + 1
            slot.last = nonce
        return nonce

    def observe(self, signer: str, nonce: int) -> None:
        """Record a nonce used elsewhere for ``signer`` so later ones are above it."""
        if type(nonce) is not int or nonce < 0:
            raise InvalidInputError("nonce", "a non-negative integer", nonce)
        slot = self._slot(self._key(signer))
        with slot.lock:
            if nonce > slot.last:
                slot.last = nonce

    def last(self, signer: str) -> int | None:
        """The last nonce handed out (or observed) for ``signer``; ``None`` if none yet."""
        slot = self._slots.get(self._key(signer))
        if slot is None or slot.last < 0:
            return None
        return slot.last
