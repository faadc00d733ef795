"""Address allowances (sans-I/O): what each account may still send, from what the exchange said.

The exchange allows each address ``10 000 + 1 per USDC traded`` requests (plus bought ones); a batch
of ``n`` orders or cancels counts ``n``; cancels may go on up to ``min(cap + 100 000, 2 * cap)``;
once exhausted one request per 10 s is let through.  :class:`Allowances` tracks ``used`` / ``cap``
per address from ``userRateLimit`` answers, from the actions sent and from the exchange's
"Too many cumulative requests sent (used > cap)" refusals; the same rules run in Redis (:mod:`.store`).
"""

from __future__ import annotations

import re

from hyperliquid_client.runtime.record import frozen

__all__ = [
    "CANCEL_ACTIONS",
    "EXHAUSTED_EVERY",
    "ORDER_ACTIONS",
    "AddressState",
    "Allowances",
    "Decision",
    "parse_refusal",
    "requests_of",
]

#: Actions refused locally when the allowance is used up (they place or change orders).
ORDER_ACTIONS = frozenset({"order", "modify", "batchModify", "twapOrder"})
#: Actions that cancel: they use the larger cancel allowance and are never refused locally.
CANCEL_ACTIONS = frozenset({"cancel", "cancelByCloid", "scheduleCancel", "twapCancel"})
#: Once exhausted the exchange lets one request through every this many seconds.
EXHAUSTED_EVERY = 10.0
_BATCH_KEYS = {"order": "orders", "cancel": "cancels", "cancelByCloid": "cancels", "batchModify": "modifies"}
_REFUSAL = re.compile(r"Too many cumulative requests sent \((\d+) > (\d+)\)")


def requests_of(action_type: str, action: object) -> int:
    """How many address requests an action counts (a batch of ``n`` counts ``n``)."""
    key = _BATCH_KEYS.get(action_type)
    if key is not None and isinstance(action, dict):
        items = action.get(key)
        if isinstance(items, list):
            return max(1, len(items))
    return 1


def parse_refusal(message: str) -> tuple[int, int] | None:
    """``(used, cap)`` from the exchange's "Too many cumulative requests sent (used > cap)" text."""
    m = _REFUSAL.search(message)
    return (int(m.group(1)), int(m.group(2))) if m else None


def cancel_cap(cap: int) -> int:
    """The allowance of cancels for an order allowance ``cap``."""
    return min(cap + 100_000, 2 * cap)


@frozen
class AddressState:
    """What is known of one address's allowance (``cap`` ``None`` until the exchange said it)."""

    address: str
    used: int = 0
    cap: int | None = None

    @property
    def fraction(self) -> float | None:
        """``used / cap`` (``None`` while the cap is unknown)."""
        return None if not self.cap else self.used / self.cap

    @property
    def exhausted(self) -> bool:
        """True when orders are refused (the cap is known and reached)."""
        return self.cap is not None and self.used >= self.cap


@frozen
class Decision:
    """Whether an action may go: ``retry_after`` seconds when refused; the state after counting it."""

    allowed: bool
    state: AddressState
    retry_after: float = 0.0


class Allowances:
    """Per-address allowance state (not thread-safe: callers hold a lock)."""

    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._cap: dict[str, int] = {}
        self._over_at: dict[str, float] = {}

    def state(self, address: str) -> AddressState:
        """The current state of ``address``."""
        return AddressState(address, self._used.get(address, 0), self._cap.get(address))

    def observe(self, address: str, used: int, cap: int, *, refused_at: float | None = None) -> AddressState:
        """The exchange said ``used`` of ``cap`` (``userRateLimit``, or a refusal at ``refused_at``:
        the exchange lets the next request through only ``EXHAUSTED_EVERY`` seconds later)."""
        self._used[address] = used
        self._cap[address] = cap
        if refused_at is not None:
            self._over_at[address] = refused_at
        return self.state(address)

    def add_quietly(self, address: str, n: int, below: float) -> bool:
        """Count ``n`` requests for ``address`` if that decides and crosses nothing: the cap is unknown, or
        the count stays under ``below`` of it (the lowest reported fraction).  False: nothing counted."""
        used = self._used.get(address, 0)
        cap = self._cap.get(address)
        if cap is not None and used + n >= below * cap:
            return False
        self._used[address] = used + n
        return True

    def charge(self, address: str, action_type: str, n: int, now: float) -> Decision:
        """Count ``n`` requests of ``action_type`` for ``address`` at ``now`` if they may go."""
        used = self._used.get(address, 0)
        cap = self._cap.get(address)
        if cap is not None and action_type in ORDER_ACTIONS and used + n > cap:
            since = now - self._over_at.get(address, float("-inf"))
            if since < EXHAUSTED_EVERY:
                return Decision(False, self.state(address), EXHAUSTED_EVERY - since)
            self._over_at[address] = now
        self._used[address] = used + n
        return Decision(True, self.state(address))
