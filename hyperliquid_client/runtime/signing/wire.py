"""Numbers, cloids and orders in their wire form, byte-exact with the official SDK.

Where the SDK has a quirk (``-0``, ``NaN``/``Infinity`` strings, 28-digit rounding of huge
values, non-hex cloids) these functions raise
:class:`~hyperliquid_client.runtime.errors.InvalidInputError` instead of copying it; for every
other input they produce exactly the SDK's output (an upper-case cloid is sent lowercase) and reject
exactly what it rejects.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import InvalidInputError

__all__ = [
    "LIMIT_TIFS",
    "cloid_from_int",
    "float_to_int",
    "float_to_int_for_hashing",
    "float_to_usd_int",
    "float_to_wire",
    "normalize_cloid",
    "order_request_to_wire",
    "order_type_to_wire",
]

#: Time-in-force values of limit orders (``FrontendMarket`` is what the web UI sends).
LIMIT_TIFS = ("Gtc", "Ioc", "Alo", "FrontendMarket")
_MAX_SIGNIFICANT = 28  # the default decimal context precision the SDK's normalize() uses
_LOWER_HEX = frozenset("0123456789abcdef")


def _fixed(d: Decimal) -> str:
    """Fixed-point text of ``d`` without trailing zeros (never exponent notation)."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("", "-"):
        text = "0"
    return text


_UNLIMITED = decimal.Context(prec=1000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _significant_digits(d: Decimal) -> int:
    return len(d.normalize(_UNLIMITED).as_tuple().digits)


def float_to_wire(x: float | int | Decimal | str, field: str = "value") -> str:
    """Price/size/trigger price → wire string (``"1670.1"``, ``"0.0147"``, ``"100"``).

    Floats and ints follow the SDK exactly: format with 8 decimals (correctly rounded,
    ties to even), reject when that moves the value by ``>= 1e-12``, strip trailing zeros.
    ``Decimal`` and ``str`` inputs are taken exactly and must have at most 8 decimals.
    Rejected: bools, non-finite values, negative zero (including tiny negatives that
    format as ``-0``), and values with more than 28 significant digits.
    """
    if isinstance(x, bool):
        raise InvalidInputError(field, "a number", x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise InvalidInputError(field, "a finite number", x)
        rounded = f"{x:.8f}"
        if abs(float(rounded) - x) >= 1e-12:
            raise InvalidInputError(
                field, "a number with at most 8 decimals", x, detail="float_to_wire causes rounding"
            )
        d = Decimal(rounded)
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, Decimal | str):
        try:
            d = Decimal(x.strip()) if isinstance(x, str) else x
        except InvalidOperation:
            raise InvalidInputError(field, "a decimal number", x) from None
        if not d.is_finite():
            raise InvalidInputError(field, "a finite number", x)
        exponent = d.normalize(_UNLIMITED).as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -8:
            raise InvalidInputError(
                field, "a number with at most 8 decimals", x, detail="float_to_wire causes rounding"
            )
    else:
        raise InvalidInputError(field, "a number (float, int, Decimal or decimal string)", type(x).__name__)
    if d.is_zero() and d.is_signed():
        raise InvalidInputError(field, "a number that is not negative zero", x)
    if _significant_digits(d) > _MAX_SIGNIFICANT:
        raise InvalidInputError(field, f"at most {_MAX_SIGNIFICANT} significant digits", x)
    return _fixed(d)


def float_to_int(x: float | int, power: int, field: str = "value") -> int:
    """``round(x * 10**power)``, rejected when that is ``>= 1e-3`` away from an integer (SDK rule)."""
    if isinstance(x, bool) or not isinstance(x, float | int):
        raise InvalidInputError(field, "a number", x)
    if isinstance(x, float) and not math.isfinite(x):
        raise InvalidInputError(field, "a finite number", x)
    with_decimals = x * 10**power
    if abs(round(with_decimals) - with_decimals) >= 1e-3:
        raise InvalidInputError(
            field, f"a number with at most {power} decimals", x, detail="float_to_int causes rounding"
        )
    return round(with_decimals)


def float_to_usd_int(x: float | int, field: str = "value") -> int:
    """USDC amount → integer micro-USDC (×1e6), e.g. ``updateIsolatedMargin.ntli``."""
    return float_to_int(x, 6, field)


def float_to_int_for_hashing(x: float | int, field: str = "value") -> int:
    """``float_to_int(x, 8)`` (the SDK's helper of the same name)."""
    return float_to_int(x, 8, field)


def cloid_from_int(value: int, field: str = "cloid") -> str:
    """Client order id from an integer in ``0..2**128-1`` → ``"0x"`` + 32 lowercase hex digits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 128:
        raise InvalidInputError(field, "an integer in 0..2**128-1 (16 bytes)", value)
    return f"0x{value:032x}"


def normalize_cloid(value: str | int | bytes, field: str = "cloid") -> str:
    """Validate a client order id and return its wire string.

    Accepts ``"0x"`` + 32 hex digits of either case (returned in lowercase: cloids are hashed as
    strings and the server's form is lowercase, so an upper-case cloid signed as given would not
    verify), an int (see :func:`cloid_from_int`) or 16 raw bytes.  Non-hex text is rejected.
    """
    if isinstance(value, str):
        lower = str.lower(value)  # (exact text whatever the class)
        if len(value) != 34 or not str.startswith(value, "0x") or not _LOWER_HEX.issuperset(lower[2:]):
            raise InvalidInputError(field, '"0x" followed by 32 hex digits (16 bytes)', value)
        return lower
    if isinstance(value, bytes | bytearray):
        if len(value) != 16:
            raise InvalidInputError(field, "16 bytes", f"{len(value)} bytes")
        return "0x" + bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return cloid_from_int(value, field)
    raise InvalidInputError(field, "a 0x-hex string, an int or 16 bytes", value)


def order_type_to_wire(order_type: Mapping[str, Any], field: str = "order_type") -> dict[str, Any]:
    """``{"limit": {"tif"}}`` or ``{"trigger": {"isMarket", "triggerPx", "tpsl"}}`` in wire order.

    A ``limit`` key wins over ``trigger``; ``triggerPx`` goes through :func:`float_to_wire`.
    """
    if not isinstance(order_type, Mapping):
        raise InvalidInputError(field, 'a mapping with "limit" or "trigger"', type(order_type).__name__)
    if "limit" in order_type:
        limit = order_type["limit"]
        if not isinstance(limit, Mapping) or set(limit) != {"tif"} or limit["tif"] not in LIMIT_TIFS:
            raise InvalidInputError(f"{field}.limit", '{"tif": ' + " | ".join(LIMIT_TIFS) + "}", limit)
        return {"limit": {"tif": limit["tif"]}}
    if "trigger" in order_type:
        trigger = order_type["trigger"]
        if not isinstance(trigger, Mapping) or set(trigger) != {"isMarket", "triggerPx", "tpsl"}:
            raise InvalidInputError(f"{field}.trigger", "a mapping with isMarket, triggerPx and tpsl", trigger)
        is_market, tpsl = trigger["isMarket"], trigger["tpsl"]
        if type(is_market) is not bool:
            raise InvalidInputError(f"{field}.trigger.isMarket", "a bool", is_market)
        if tpsl not in ("tp", "sl"):
            raise InvalidInputError(f"{field}.trigger.tpsl", '"tp" or "sl"', tpsl)
        px = float_to_wire(trigger["triggerPx"], f"{field}.trigger.triggerPx")
        return {"trigger": {"isMarket": is_market, "triggerPx": px, "tpsl": tpsl}}
    raise InvalidInputError(field, 'a mapping with "limit" or "trigger"', dict(order_type), detail="Invalid order type")


def order_request_to_wire(order: Mapping[str, Any], asset: int, field: str = "order") -> dict[str, Any]:
    """An order request (``is_buy``, ``limit_px``, ``sz``, ``reduce_only``, ``order_type``,
    optional ``cloid``) and its asset id → the order wire ``a, b, p, s, r, t[, c]``."""
    if isinstance(asset, bool) or not isinstance(asset, int) or asset < 0:
        raise InvalidInputError("asset", "a non-negative integer asset id", asset)
    if not isinstance(order, Mapping):
        raise InvalidInputError(field, "a mapping", type(order).__name__)
    for name in ("is_buy", "reduce_only"):
        if type(order.get(name)) is not bool:
            raise InvalidInputError(f"{field}.{name}", "a bool", order.get(name))
    wire: dict[str, Any] = {
        "a": asset,
        "b": order["is_buy"],
        "p": float_to_wire(order.get("limit_px"), f"{field}.limit_px"),  # type: ignore[arg-type]
        "s": float_to_wire(order.get("sz"), f"{field}.sz"),  # type: ignore[arg-type]
        "r": order["reduce_only"],
        "t": order_type_to_wire(order.get("order_type"), f"{field}.order_type"),  # type: ignore[arg-type]
    }
    cloid = order.get("cloid")
    if cloid is not None:
        wire["c"] = normalize_cloid(cloid, f"{field}.cloid")
    return wire
