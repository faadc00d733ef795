"""Validation of request parameters, called by generated methods before anything is sent.

Each function takes the parameter's public name (for the error message) and the value, and
returns the value in its wire form or raises :class:`~hyperliquid_client.runtime.errors.InvalidInputError`.
The parameter types are those of the spec format (``docs/spec-format.md``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Any

from hyperliquid_client.runtime.errors import InvalidInputError

__all__ = [
    "PARAM_TYPES",
    "address",
    "address_text",
    "amount",
    "boolean",
    "check_choices",
    "cloid",
    "coin",
    "decimal",
    "decimal_to_wire",
    "hash32",
    "integer",
    "list_of",
    "oid_or_cloid",
    "passthrough",
    "string",
    "timestamp",
    "to_decimal",
    "variant",
]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_CLOID = re.compile(r"0x[0-9a-f]{32}")


def string(name: str, value: Any) -> str:
    """Any string."""
    if not isinstance(value, str):
        raise InvalidInputError(name, "a string", value)
    return value


def coin(name: str, value: Any) -> str:
    """A coin or market name: non-empty, no surrounding whitespace (``BTC``, ``PURR/USDC``, ``@1``, ``xyz:SP500``)."""
    if not isinstance(value, str) or not value or value.strip() != value:
        raise InvalidInputError(name, "a non-empty coin name such as 'BTC', 'PURR/USDC' or '@107'", value)
    return value


_U64 = 2**64 - 1


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (bool rejected), optionally bounded."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(name, "an integer", value)
    if minimum is not None and value < minimum:
        raise InvalidInputError(name, f"an integer >= {minimum}", value)
    if maximum is not None and value > maximum:
        raise InvalidInputError(name, f"an integer <= {maximum}", value)
    return value


def timestamp(name: str, value: Any) -> int:
    """A time in milliseconds since the epoch (a non-negative 64-bit integer)."""
    return integer(name, value, minimum=0, maximum=2**63 - 1)


def boolean(name: str, value: Any) -> bool:
    """A boolean."""
    if not isinstance(value, bool):
        raise InvalidInputError(name, "a boolean", value)
    return value


def address(name: str, value: Any) -> str:
    """An EVM address ``0x`` + 40 hex digits; returned lowercase (the API's canonical form)."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InvalidInputError(name, "an address: '0x' followed by 40 hex digits", value)
    return value.lower()


def address_text(name: str, value: Any) -> str:
    """An EVM address whose exact text is signed (EIP-712 ``string`` fields): validated, case kept."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InvalidInputError(name, "an address: '0x' followed by 40 hex digits", value)
    return value


def amount(name: str, value: Any) -> str:
    """A non-negative amount sent as a string: strings pass verbatim (their text is signed), numbers
    become plain decimal strings."""
    text = decimal(name, value)
    if text.startswith("-"):
        raise InvalidInputError(name, "a non-negative amount", value)
    return value.strip() if isinstance(value, str) else text


def hash32(name: str, value: Any) -> str:
    """A 32-byte hash ``0x`` + 64 hex digits; returned lowercase."""
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise InvalidInputError(name, "a hash: '0x' followed by 64 hex digits", value)
    return value.lower()


def cloid(name: str, value: Any) -> str:
    """A client order id: ``0x`` + 32 lowercase hex digits."""
    if not isinstance(value, str) or not _CLOID.fullmatch(value):
        raise InvalidInputError(name, "a client order id: '0x' followed by 32 lowercase hex digits", value)
    return value


def oid_or_cloid(name: str, value: Any) -> int | str:
    """An order id (non-negative integer) or a client order id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return integer(name, value, minimum=0, maximum=_U64)
    if isinstance(value, str):
        return cloid(name, value)
    raise InvalidInputError(name, "an order id (int) or a client order id ('0x' + 32 hex digits)", value)


_NUMBER_EXPECTED = "a finite number (int, float, Decimal or decimal string)"


def to_decimal(value: Any, field: str) -> Decimal:
    """``value`` (int, float, Decimal or decimal string) as an exact, finite :class:`Decimal`.

    Floats are taken by their shortest repr (``0.1`` → ``Decimal("0.1")``).  Booleans, NaN,
    infinities and malformed strings raise :class:`InvalidInputError` naming ``field``.
    """
    if isinstance(value, bool):
        raise InvalidInputError(field, _NUMBER_EXPECTED, value)
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else Decimal("NaN")
    elif isinstance(value, str):
        text = value.strip()
        if not text or "_" in text:
            raise InvalidInputError(field, _NUMBER_EXPECTED, value)
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise InvalidInputError(field, _NUMBER_EXPECTED, value) from None
    else:
        raise InvalidInputError(field, _NUMBER_EXPECTED, value)
    if not d.is_finite():
        raise InvalidInputError(field, _NUMBER_EXPECTED, value)
    if d.adjusted() >= _MAX_DIGITS:
        raise InvalidInputError(field, f"a number below 1e{_MAX_DIGITS}", value)
    return d


#: No price, size or amount of the exchange comes near this many integer digits; beyond it the
#: value is a mistake (and the exchange's fixed-point arithmetic could not hold it).
_MAX_DIGITS = 18


def decimal_to_wire(d: Decimal) -> str:
    """Exact decimal text of ``d``: no exponent, no trailing zeros (``Decimal("1.50")`` → ``"1.5"``)."""
    if not d.is_finite():
        raise ValueError(f"not a finite number: {d!r}")
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def decimal(name: str, value: Any) -> str:
    """A finite number (int, float, Decimal or decimal string) as a plain decimal string."""
    return decimal_to_wire(to_decimal(value, name))


def check_choices(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise InvalidInputError(name, f"one of {shown}", value)
    return value


#: Parameter types of the spec format and their validators.
PARAM_TYPES = {
    "str": "string",
    "coin": "coin",
    "int": "integer",
    "time": "timestamp",
    "bool": "boolean",
    "address": "address",
    "address_text": "address_text",
    "amount": "amount",
    "hash": "hash32",
    "cloid": "cloid",
    "oid_or_cloid": "oid_or_cloid",
    "decimal": "decimal",
    "any": "passthrough",
}


def passthrough(name: str, value: Any) -> Any:
    """Any JSON-serialisable value, sent as given."""
    return value


def variant(name: str, value: Any) -> dict[str, Any]:
    """A one-key mapping ``{variant name: payload}`` merged into an action (deploy and validator actions)."""
    if not isinstance(value, dict) or len(value) != 1 or not all(isinstance(k, str) and k for k in value):
        raise InvalidInputError(name, "a mapping with exactly one variant key, e.g. {'registerSpot': {...}}", value)
    return dict(value)


def list_of(name: str, value: Any, item: Any) -> list[Any]:
    """A list (or tuple) whose items are validated by ``item(name[i], x)``."""
    if not isinstance(value, list | tuple):
        raise InvalidInputError(name, "a list", value)
    return [item(f"{name}[{i}]", x) for i, x in enumerate(value)]
