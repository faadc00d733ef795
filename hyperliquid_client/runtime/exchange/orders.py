"""Order requests and the pure functions that turn them into wire actions (no I/O).

Prices and sizes may be ``int``, ``float``, ``Decimal`` or ``str``; they become exact wire
strings through :class:`~hyperliquid_client.runtime.markets.MarketMetadata` (tick and lot rules).  A
value the exchange would reject for precision raises
:class:`~hyperliquid_client.runtime.errors.InvalidInputError` naming the field and the allowed
precision (use ``round_price`` / ``round_size``).  Nothing here sends anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from hyperliquid_client.runtime import validate as _v
from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.markets import MarketMetadata, decimal_to_wire, to_decimal
from hyperliquid_client.runtime.signing import normalize_address, normalize_cloid
from hyperliquid_client.runtime.signing.wire import LIMIT_TIFS

__all__ = [
    "GROUPINGS",
    "CancelRequest",
    "ModifyRequest",
    "OrderRequest",
    "TriggerSpec",
    "builder_wire",
    "cancel_action_parts",
    "fee_rate",
    "grouping_wire",
    "market_price",
    "modify_wire",
    "multi_sig_signers",
    "order_wire",
    "transfer_amount",
    "usd_micro",
]

#: Order groupings: independent orders, entry + TP/SL children, TP/SL on the whole position.
GROUPINGS = ("na", "normalTpsl", "positionTpsl")
_MAX_BUILDER_FEE = 1000  # tenths of a basis point (1%)
_FEE_RATE = re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?%")


@attrs.frozen
class TriggerSpec:
    """A trigger (stop / take-profit) order: fires at ``trigger_px``.

    ``tpsl`` is ``"tp"`` or ``"sl"``; ``is_market`` executes as market when triggered, otherwise
    as a limit order at the order's ``limit_px``.
    """

    trigger_px: Any
    tpsl: str
    is_market: bool = True


@attrs.frozen
class OrderRequest:
    """One order: ``coin``, side, size, limit price and options (see :meth:`Exchange.order`)."""

    coin: str
    is_buy: bool
    sz: Any
    limit_px: Any
    tif: str = "Gtc"
    reduce_only: bool = False
    cloid: str | int | bytes | None = None
    trigger: TriggerSpec | Mapping[str, Any] | None = None


@attrs.frozen
class ModifyRequest:
    """Replace the order ``oid`` (order id or cloid) with ``order``."""

    oid: int | str
    order: OrderRequest


@attrs.frozen
class CancelRequest:
    """Cancel the order ``oid`` (an order id, or a cloid string) of ``coin``."""

    coin: str
    oid: int | str


def _trigger(spec: TriggerSpec | Mapping[str, Any], field: str) -> tuple[Any, str, bool]:
    if isinstance(spec, TriggerSpec):
        return spec.trigger_px, spec.tpsl, spec.is_market
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"trigger_px", "tpsl", "is_market", "triggerPx", "isMarket"}
        if unknown:
            raise InvalidInputError(field, "a TriggerSpec or {trigger_px, tpsl, is_market}", dict(spec))
        px = spec.get("trigger_px", spec.get("triggerPx"))
        is_market = spec.get("is_market", spec.get("isMarket", True))
        return px, spec.get("tpsl"), is_market  # type: ignore[return-value]
    raise InvalidInputError(field, "a TriggerSpec or a mapping {trigger_px, tpsl, is_market}", spec)


def order_wire(market: MarketMetadata, order: OrderRequest, field: str = "order") -> dict[str, Any]:
    """The order wire ``{a, b, p, s, r, t[, c]}`` of ``order`` (keys in hash order).

    Raises :class:`InvalidInputError` for an unknown coin, a bad side/size/price/tif/cloid, or a
    price or size with more precision than the market allows.
    """
    if not isinstance(order, OrderRequest):
        raise InvalidInputError(field, "an OrderRequest", type(order).__name__)
    coin = _v.coin(f"{field}.coin", order.coin)
    info = market.asset_info(coin)
    is_buy = _v.boolean(f"{field}.is_buy", order.is_buy)
    reduce_only = _v.boolean(f"{field}.reduce_only", order.reduce_only)
    px = market.price_to_wire(coin, order.limit_px, field=f"{field}.limit_px")
    sz = market.size_to_wire(coin, order.sz, field=f"{field}.sz")
    t: dict[str, Any]
    if order.trigger is not None:
        trigger_px, tpsl, is_market = _trigger(order.trigger, f"{field}.trigger")
        if tpsl not in ("tp", "sl"):
            raise InvalidInputError(f"{field}.trigger.tpsl", "'tp' or 'sl'", tpsl)
        _v.boolean(f"{field}.trigger.is_market", is_market)
        tpx = market.price_to_wire(coin, trigger_px, field=f"{field}.trigger.trigger_px")
        t = {"trigger": {"isMarket": is_market, "triggerPx": tpx, "tpsl": tpsl}}
    else:
        if order.tif not in LIMIT_TIFS:
            raise InvalidInputError(f"{field}.tif", "one of " + ", ".join(repr(t) for t in LIMIT_TIFS), order.tif)
        t = {"limit": {"tif": order.tif}}
    wire: dict[str, Any] = {"a": info.asset, "b": is_buy, "p": px, "s": sz, "r": reduce_only, "t": t}
    if order.cloid is not None:
        wire["c"] = normalize_cloid(order.cloid, f"{field}.cloid")
    return wire


def modify_wire(market: MarketMetadata, modify: ModifyRequest, field: str = "modify") -> dict[str, Any]:
    """``{oid, order}`` of one modify (``oid`` an order id or a cloid)."""
    if not isinstance(modify, ModifyRequest):
        raise InvalidInputError(field, "a ModifyRequest", type(modify).__name__)
    oid: int | str
    if isinstance(modify.oid, str):
        oid = normalize_cloid(modify.oid, f"{field}.oid")
    else:
        oid = _v.integer(f"{field}.oid", modify.oid, minimum=0)
    return {"oid": oid, "order": order_wire(market, modify.order, f"{field}.order")}


def grouping_wire(grouping: Any) -> Any:
    """``"na"``, ``"normalTpsl"``, ``"positionTpsl"`` or ``{"p": n}`` (priority grouping)."""
    if isinstance(grouping, str) and grouping in GROUPINGS:
        return grouping
    if isinstance(grouping, Mapping) and set(grouping) == {"p"}:
        return {"p": _v.integer("grouping.p", grouping["p"], minimum=0)}
    raise InvalidInputError("grouping", "'na', 'normalTpsl', 'positionTpsl' or {'p': n}", grouping)


def builder_wire(builder: Any) -> dict[str, Any] | None:
    """``{"b": address (lowercase), "f": fee in tenths of a basis point}``; ``None`` stays ``None``.

    Accepts a mapping ``{"b"|"builder": address, "f"|"fee": int}``.  No builder fee is ever added
    unless one is given.
    """
    if builder is None:
        return None
    if not isinstance(builder, Mapping):
        raise InvalidInputError("builder", "a mapping {'b': address, 'f': fee in tenths of a basis point}", builder)
    address = builder.get("b", builder.get("builder"))
    fee = builder.get("f", builder.get("fee"))
    b = normalize_address(address, "builder.b")
    f = _v.integer("builder.f", fee, minimum=0)
    if f > _MAX_BUILDER_FEE:
        raise InvalidInputError("builder.f", f"a fee of at most {_MAX_BUILDER_FEE} tenths of a basis point", f)
    return {"b": b, "f": f}


def cancel_action_parts(
    market_for: Mapping[str, MarketMetadata], cancels: Sequence[CancelRequest | tuple[str, int | str]]
) -> tuple[str, list[dict[str, Any]]]:
    """``("cancel", [{a, o}...])`` or ``("cancelByCloid", [{asset, cloid}...])``.

    All entries must use the same kind of id (order ids or cloids): one action cannot mix them.
    """
    if not isinstance(cancels, list | tuple) or not cancels:
        raise InvalidInputError("cancels", "a non-empty list of (coin, oid or cloid)", cancels)
    parsed: list[tuple[str, int | str]] = []
    for i, c in enumerate(cancels):
        if isinstance(c, CancelRequest):
            parsed.append((c.coin, c.oid))
        elif isinstance(c, tuple | list) and len(c) == 2:
            parsed.append((c[0], c[1]))
        else:
            raise InvalidInputError(f"cancels[{i}]", "a CancelRequest or a (coin, oid or cloid) pair", c)
    by_cloid = all(isinstance(oid, str) for _, oid in parsed)
    if not by_cloid and any(isinstance(oid, str) for _, oid in parsed):
        raise InvalidInputError("cancels", "all order ids or all cloids (one action cannot mix them)", cancels)
    out: list[dict[str, Any]] = []
    for i, (coin, oid) in enumerate(parsed):
        coin = _v.coin(f"cancels[{i}].coin", coin)
        asset = market_for[coin].asset_id(coin)
        if by_cloid:
            out.append({"asset": asset, "cloid": normalize_cloid(oid, f"cancels[{i}].cloid")})
        else:
            out.append({"a": asset, "o": _v.integer(f"cancels[{i}].oid", oid, minimum=0)})
    return ("cancelByCloid" if by_cloid else "cancel"), out


def market_price(market: MarketMetadata, coin: str, is_buy: bool, mid: Decimal, slippage: Any) -> Decimal:
    """``mid * (1 ± slippage)`` rounded to a valid price of ``coin`` (the market-order limit price)."""
    s = to_decimal(slippage, "slippage")
    if not Decimal(0) <= s < Decimal(1):
        raise InvalidInputError("slippage", "a fraction in [0, 1) such as 0.05", slippage)
    px = mid * (1 + s) if is_buy else mid * (1 - s)
    return market.round_price(coin, px)


def transfer_amount(field: str, value: Any) -> str:
    """A transfer amount signed as text: positive, plain decimal (no exponent), exact."""
    d = to_decimal(value, field)
    if d <= 0:
        raise InvalidInputError(field, "a positive amount", value)
    return decimal_to_wire(d)


def usd_micro(field: str, value: Any, *, signed: bool = False) -> int:
    """A USDC amount as integer micro-USDC (``1.5`` → ``1500000``); at most 6 decimals."""
    d = to_decimal(value, field)
    if not signed and d <= 0:
        raise InvalidInputError(field, "a positive USDC amount", value)
    if signed and d == 0:
        raise InvalidInputError(field, "a non-zero USDC amount", value)
    micro = d * 1_000_000
    if micro != micro.to_integral_value():
        raise InvalidInputError(field, "a USDC amount with at most 6 decimal places", value)
    return int(micro)


def multi_sig_signers(authorized_users: Iterable[str] | None, threshold: int | None) -> str:
    """The ``signers`` string of ``convertToMultiSigUser``: Python-``json.dumps`` JSON of
    ``{"authorizedUsers": sorted lowercase addresses, "threshold": n}``, or ``"null"`` to convert back."""
    if authorized_users is None:
        if threshold is not None:
            raise InvalidInputError("threshold", "None when converting back to a normal user", threshold)
        return "null"
    users = sorted({normalize_address(u, f"authorized_users[{i}]") for i, u in enumerate(authorized_users)})
    if not users:
        raise InvalidInputError("authorized_users", "at least one address", authorized_users)
    n = _v.integer("threshold", threshold, minimum=1)
    if n > len(users):
        raise InvalidInputError("threshold", f"at most the number of authorized users ({len(users)})", n)
    return json.dumps({"authorizedUsers": users, "threshold": n})


def fee_rate(value: Any) -> str:
    """A builder fee rate as a percent string (``"0.001%"``)."""
    if not isinstance(value, str) or not _FEE_RATE.fullmatch(value):
        raise InvalidInputError("max_fee_rate", "a percentage string such as '0.001%'", value)
    return value
