"""WebSocket subscription rules of the fake exchange (sans-I/O).

:func:`normalize_subscription` validates a client's subscription and fills defaults the way the
real server echoes it in ``subscriptionResponse`` (``l2Book`` gains ``nSigFigs``/``mantissa`` =
``null`` and ``fast`` = ``false``; ``spotState`` gains ``ignorePortfolioMargin`` = ``false``;
addresses are lowercased; optional parameters sent as ``null`` are dropped; unknown keys are
ignored).  Two subscriptions are the same when their normalized forms are equal
(:func:`subscription_key`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "SNAPSHOT_FEEDS",
    "SUBSCRIPTION_TYPES",
    "InvalidSubscription",
    "RefusedSubscription",
    "channel_for",
    "compact_json",
    "normalize_subscription",
    "subscription_key",
    "user_of",
]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_INTERVALS = frozenset({"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "3d", "1w", "1M"})


class InvalidSubscription(ValueError):
    """The subscription cannot be parsed (answered with a parse error on channel ``error``)."""


class RefusedSubscription(InvalidSubscription):
    """The subscription parses but holds a value the real server refuses by closing the socket without a reply
    (``l2Book`` with ``nSigFigs: 6``, ``mantissa`` without ``nSigFigs: 5``)."""


# type -> (required params, defaults filled when absent, optional params kept when present)
_SPECS: dict[str, tuple[tuple[str, ...], dict[str, Any], tuple[str, ...]]] = {
    "allMids": ((), {}, ("dex",)),
    "l2Book": (("coin",), {"nSigFigs": None, "mantissa": None, "fast": False}, ()),
    "bbo": (("coin",), {}, ()),
    "trades": (("coin",), {}, ()),
    "candle": (("coin", "interval"), {}, ()),
    "activeAssetCtx": (("coin",), {}, ()),
    "activeSpotAssetCtx": (("coin",), {}, ()),
    "assetCtxs": ((), {}, ("dex",)),
    "spotAssetCtxs": ((), {}, ()),
    "allDexsAssetCtxs": ((), {}, ()),
    "fastAssetCtxs": ((), {}, ()),
    "outcomeMetaUpdates": ((), {}, ()),
    "notification": (("user",), {}, ()),
    "orderUpdates": (("user",), {}, ()),
    "userEvents": (("user",), {}, ()),
    "userFills": (("user",), {}, ("aggregateByTime",)),
    "userFundings": (("user",), {}, ()),
    "userNonFundingLedgerUpdates": (("user",), {}, ()),
    "userTwapSliceFills": (("user",), {}, ()),
    "userTwapHistory": (("user",), {}, ()),
    "userHistoricalOrders": (("user",), {}, ()),
    "activeAssetData": (("user", "coin"), {}, ()),
    "clearinghouseState": (("user",), {}, ("dex",)),
    "allDexsClearinghouseState": (("user",), {}, ()),
    "openOrders": (("user",), {}, ("dex",)),
    "spotState": (("user",), {"ignorePortfolioMargin": False}, ()),
    "twapStates": (("user",), {}, ("dex",)),
    "webData2": (("user",), {}, ()),
    "webData3": (("user",), {}, ()),
    "explorerBlock": ((), {}, ()),  # explorer WebSocket feeds (raw JSON arrays, no channel/data envelope)
    "explorerTxs": ((), {}, ()),
}

#: Every subscription type the fake accepts.
SUBSCRIPTION_TYPES: frozenset[str] = frozenset(_SPECS)

#: Feeds whose first message is a snapshot with ``isSnapshot: true``: type -> key of the list in data.
SNAPSHOT_FEEDS: Mapping[str, str] = {
    "userFills": "fills",
    "userFundings": "fundings",
    "userNonFundingLedgerUpdates": "nonFundingLedgerUpdates",
    "userTwapSliceFills": "twapSliceFills",
    "userTwapHistory": "history",
    "userHistoricalOrders": "orderHistory",
}

_STR_PARAMS = frozenset({"coin", "interval", "dex", "user"})
_BOOL_PARAMS = frozenset({"fast", "aggregateByTime", "ignorePortfolioMargin"})


def _check(name: str, value: Any) -> Any:
    if name in _STR_PARAMS:
        if not isinstance(value, str):
            raise InvalidSubscription(f"{name} must be a string")
        if name == "user":
            return value.lower() if _ADDRESS.match(value) else value
        if name == "interval" and value not in _INTERVALS:
            raise InvalidSubscription(f"unknown interval {value!r}")
        return value
    if name in _BOOL_PARAMS:
        if not isinstance(value, bool):
            raise InvalidSubscription(f"{name} must be a boolean")
        return value
    if name == "nSigFigs":
        if value is not None and (isinstance(value, bool) or value not in (2, 3, 4, 5)):
            raise RefusedSubscription("nSigFigs must be 2, 3, 4, 5 or null")
        return value
    if name == "mantissa":
        if value is not None and (isinstance(value, bool) or value not in (1, 2, 5)):
            raise RefusedSubscription("mantissa must be 1, 2, 5 or null")
        return value
    return value


def normalize_subscription(subscription: Any) -> dict[str, Any]:
    """The normalized form of ``subscription`` (a new dict); raises :class:`InvalidSubscription`."""
    if not isinstance(subscription, Mapping):
        raise InvalidSubscription("subscription must be an object")
    type_ = subscription.get("type")
    if not isinstance(type_, str) or type_ not in _SPECS:
        raise InvalidSubscription(f"unknown subscription type {type_!r}")
    required, defaults, optional = _SPECS[type_]
    out: dict[str, Any] = {"type": type_}
    for name in required:
        value = subscription.get(name)
        if value is None:
            raise InvalidSubscription(f"missing field {name!r}")
        out[name] = _check(name, value)
    for name, default in defaults.items():
        value = subscription.get(name)
        out[name] = default if value is None else _check(name, value)
    for name in optional:
        value = subscription.get(name)
        if value is not None:
            out[name] = _check(name, value)
    if type_ == "l2Book" and out["mantissa"] is not None and out["nSigFigs"] != 5:
        raise RefusedSubscription("mantissa is only allowed with nSigFigs 5")
    return out


def compact_json(value: Any) -> str:
    """JSON text without spaces, keys in their given order (how the server echoes values)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def subscription_key(normalized: Mapping[str, Any]) -> str:
    """Identity of a normalized subscription (canonical JSON)."""
    return json.dumps(normalized, sort_keys=True, separators=(",", ":"))


def user_of(normalized: Mapping[str, Any]) -> str | None:
    """The user a user-specific subscription tracks, else ``None``."""
    user = normalized.get("user")
    return user if isinstance(user, str) else None


def channel_for(normalized: Mapping[str, Any], *, spot: bool | None = None) -> str:
    """Channel on which data of this subscription arrives.

    ``userEvents`` -> ``user``; ``activeAssetCtx`` on a spot coin -> ``activeSpotAssetCtx`` (a coin
    is spot when ``spot`` says so or, when ``spot`` is None, when it is ``@N`` or ``BASE/QUOTE``).
    """
    type_ = normalized["type"]
    if type_ == "userEvents":
        return "user"
    if type_ == "activeAssetCtx":
        coin = str(normalized.get("coin", ""))
        is_spot = spot if spot is not None else (coin.startswith("@") or "/" in coin)
        return "activeSpotAssetCtx" if is_spot else "activeAssetCtx"
    return str(type_)
