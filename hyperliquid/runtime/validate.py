"""Validation of request parameters, called by generated methods before anything is sent.

Each function takes the parameter's public name (for the error message) and the value, and
returns the value in its wire form or raises :class:`~hyperliquid.runtime.errors.InvalidInputError`.
The parameter types are those of the spec format (``docs/spec-format.md``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Any

from hyperliquid.runtime.errors import InvalidInputError

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
    "hash32",
    "integer",
    "list_of",
    "oid_or_cloid",
    "passthrough",
    "string",
    "timestamp",
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


def decimal(name: str, value: Any) -> str:
    """A finite number (int, float, Decimal or decimal string) as a plain decimal string."""
    if isinstance(value, bool):
        raise InvalidInputError(name, "a finite number", value)
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInputError(name, "a finite number", value)
            d = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            d = Decimal(value)
        elif isinstance(value, str):
            d = Decimal(value.strip())
        else:
            raise InvalidInputError(name, "a finite number", value)
    except InvalidOperation:
        raise InvalidInputError(name, "a finite number", value) from None
    if not d.is_finite():
        raise InvalidInputError(name, "a finite number", value)
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "0") else text


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
