"""Per-user account state of the fake exchange, in wire shape.

:class:`ExchangeState` is the seam between the info side (which reads it) and the action side
(phase 2: signature recovery, nonces and a matching engine will write it).  Today tests seed it
directly (``fx.state.user("0x..").fills.append(...)``) or through the helpers below, which also
publish the matching WebSocket updates (``orderUpdates``, ``userFills``, ``userEvents``).

Users are keyed by lowercase address; an address never seen has the empty state, and reading it
does not create it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import attrs

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.testing.market import DecimalLock, now_ms

__all__ = ["ExchangeState", "Publisher", "UserState", "empty_clearinghouse_state"]

#: ``publish(subscription, data)`` as provided by the server; returns the number of receivers.
Publisher = Callable[[dict[str, Any], Any], int]

_ZERO_SUMMARY = {"accountValue": "0.0", "totalNtlPos": "0.0", "totalRawUsd": "0.0", "totalMarginUsed": "0.0"}

_BASIC_ORDER_KEYS = ("coin", "side", "limitPx", "sz", "oid", "timestamp", "origSz", "cloid", "reduceOnly")


def empty_clearinghouse_state(time_ms: int | None = None) -> dict[str, Any]:
    """The ``clearinghouseState`` of an account with nothing in it."""
    return {
        "marginSummary": dict(_ZERO_SUMMARY),
        "crossMarginSummary": dict(_ZERO_SUMMARY),
        "crossMaintenanceMarginUsed": "0.0",
        "withdrawable": "0.0",
        "assetPositions": [],
        "time": now_ms() if time_ms is None else time_ms,
    }


@attrs.define
class UserState:
    """Everything the fake knows about one user, as the API would return it.

    ``clearinghouse`` / ``spot`` are full ``clearinghouseState`` / ``spotClearinghouseState``
    responses (``None`` = empty account); ``open_orders`` holds FrontendOpenOrder dicts;
    ``order_history`` holds ``{order, status, statusTimestamp}``; ``fills`` holds UserFill dicts in
    the order they happened (oldest first).
    """

    address: str
    clearinghouse: dict[str, Any] | None = None
    spot: dict[str, Any] | None = None
    open_orders: list[dict[str, Any]] = attrs.field(factory=list)
    order_history: list[dict[str, Any]] = attrs.field(factory=list)
    fills: list[dict[str, Any]] = attrs.field(factory=list)
    fundings: list[dict[str, Any]] = attrs.field(factory=list)
    ledger: list[dict[str, Any]] = attrs.field(factory=list)
    twap_slice_fills: list[dict[str, Any]] = attrs.field(factory=list)
    twap_history: list[dict[str, Any]] = attrs.field(factory=list)
    role: dict[str, Any] | None = None
    extra_agents: list[dict[str, Any]] = attrs.field(factory=list)
    sub_accounts: list[dict[str, str]] = attrs.field(factory=list)
    builder_fees: dict[str, int] = attrs.field(factory=dict)
    multi_sig_signers: dict[str, Any] | None = None
    rate_limit: dict[str, Any] = attrs.field(
        factory=lambda: {"cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": 10000, "nRequestsSurplus": 0}
    )

    def clearinghouse_state(self) -> dict[str, Any]:
        """The ``clearinghouseState`` response (``time`` refreshed)."""
        if self.clearinghouse is None:
            return empty_clearinghouse_state()
        out = copy.deepcopy(self.clearinghouse)
        out["time"] = now_ms()
        return out

    def spot_clearinghouse_state(self) -> dict[str, Any]:
        """The ``spotClearinghouseState`` response."""
        return copy.deepcopy(self.spot) if self.spot is not None else {"balances": []}

    def basic_open_orders(self) -> list[dict[str, Any]]:
        """The ``openOrders`` response (basic fields of each open order)."""
        out = []
        for order in self.open_orders:
            basic = {k: order[k] for k in _BASIC_ORDER_KEYS if k in order}
            if basic.get("cloid") is None:
                basic.pop("cloid", None)
            if not basic.get("reduceOnly"):
                basic.pop("reduceOnly", None)
            out.append(basic)
        return out

    def find_order(self, oid: int | str) -> dict[str, Any] | None:
        """``{order, status, statusTimestamp}`` for an oid (int) or cloid (str), newest record first."""
        key = "cloid" if isinstance(oid, str) else "oid"
        wanted = oid.lower() if isinstance(oid, str) else oid
        for order in self.open_orders:
            value = order.get(key)
            if (value.lower() if isinstance(value, str) else value) == wanted:
                return {"order": copy.deepcopy(order), "status": "open", "statusTimestamp": order.get("timestamp", 0)}
        for record in reversed(self.order_history):
            value = record.get("order", {}).get(key)
            if (value.lower() if isinstance(value, str) else value) == wanted:
                return copy.deepcopy(record)
        return None


def _address(user: Any) -> str:
    if not isinstance(user, str) or not user:
        raise InvalidInputError("user", "an address string", user)
    return user.lower()


class ExchangeState:
    """All users' state plus the hook that publishes changes to WebSocket subscribers."""

    def __init__(self, publisher: Publisher | None = None) -> None:
        self.lock = DecimalLock()
        self._users: dict[str, UserState] = {}
        self.publisher: Publisher | None = publisher
        self._next_oid = 1_000_000
        self._next_tid = 1

    def user(self, address: str) -> UserState:
        """The state of ``address`` (created empty on first use)."""
        key = _address(address)
        with self.lock:
            state = self._users.get(key)
            if state is None:
                state = self._users[key] = UserState(key)
            return state

    def peek(self, address: str) -> UserState | None:
        """The state of ``address`` if it exists (never creates it)."""
        with self.lock:
            return self._users.get(address.lower())

    def users(self) -> list[str]:
        """Addresses with state."""
        with self.lock:
            return list(self._users)

    def next_oid(self) -> int:
        """A fresh order id."""
        with self.lock:
            self._next_oid += 1
            return self._next_oid

    def next_tid(self) -> int:
        """A fresh trade id."""
        with self.lock:
            self._next_tid += 1
            return self._next_tid

    def _publish(self, subscription: dict[str, Any], data: Any) -> None:
        if self.publisher is not None:
            self.publisher(subscription, data)

    # ------------------------------------------------------------ helpers
    def add_open_order(self, user: str, order: dict[str, Any], *, publish: bool = True) -> dict[str, Any]:
        """Add a resting order (FrontendOpenOrder fields; ``oid``/``timestamp``/``origSz`` filled in).

        Publishes an ``orderUpdates`` message with status ``open``.  Returns the stored order.
        """
        stored = dict(order)
        stored.setdefault("oid", self.next_oid())
        stored.setdefault("timestamp", now_ms())
        if "sz" in stored:
            stored.setdefault("origSz", stored["sz"])
        stored.setdefault("triggerCondition", "N/A")
        stored.setdefault("isTrigger", False)
        stored.setdefault("triggerPx", "0.0")
        stored.setdefault("children", [])
        stored.setdefault("isPositionTpsl", False)
        stored.setdefault("reduceOnly", False)
        stored.setdefault("orderType", "Limit")
        stored.setdefault("tif", "Gtc")
        stored.setdefault("cloid", None)
        with self.lock:
            state = self.user(user)
            state.open_orders.append(stored)
        if publish:
            self._publish_order_update(user, stored, "open", stored["timestamp"])
        return stored

    def close_order(self, user: str, oid: int, status: str = "canceled", *, publish: bool = True) -> bool:
        """Move open order ``oid`` to history with ``status``; publishes ``orderUpdates``.  False if unknown."""
        ts = now_ms()
        with self.lock:
            state = self.user(user)
            for i, order in enumerate(state.open_orders):
                if order.get("oid") == oid:
                    del state.open_orders[i]
                    state.order_history.append({"order": order, "status": status, "statusTimestamp": ts})
                    break
            else:
                return False
        if publish:
            self._publish_order_update(user, order, status, ts)
        return True

    def add_fill(self, user: str, fill: dict[str, Any], *, publish: bool = True) -> dict[str, Any]:
        """Record a UserFill (``time``/``tid`` filled in) and publish ``userFills`` + ``userEvents``."""
        stored = dict(fill)
        stored.setdefault("time", now_ms())
        stored.setdefault("tid", self.next_tid())
        with self.lock:
            self.user(user).fills.append(stored)
        if publish:
            address = _address(user)
            self._publish({"type": "userFills", "user": address}, {"user": address, "fills": [stored]})
            self._publish({"type": "userEvents", "user": address}, {"fills": [stored]})
        return stored

    def publish_order_update(self, user: str, order: dict[str, Any], status: str, ts: int | None = None) -> None:
        """Publish one ``orderUpdates`` entry (basic order fields) for ``order`` with ``status``."""
        self._publish_order_update(user, order, status, now_ms() if ts is None else ts)

    def _publish_order_update(self, user: str, order: dict[str, Any], status: str, ts: int) -> None:
        basic = {k: order[k] for k in _BASIC_ORDER_KEYS if k in order}
        if basic.get("cloid") is None:
            basic.pop("cloid", None)
        if not basic.get("reduceOnly"):
            basic.pop("reduceOnly", None)
        self._publish(
            {"type": "orderUpdates", "user": _address(user)},
            [{"order": basic, "status": status, "statusTimestamp": ts}],
        )
