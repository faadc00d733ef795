"""Conversion helpers used by the generated structuring functions.

Generated code converts decoded JSON into attrs models with straight-line calls to these
helpers.  A mismatch raises :class:`Bad`, which collects the path of the offending value while
the stack unwinds; :func:`parse_with` turns it into
:class:`~hyperliquid_client.runtime.errors.InvalidResponseError` naming that path.

Choices made here apply everywhere: prices, sizes and other decimal strings become
:class:`decimal.Decimal` (exact); ids and timestamps are ``int``; lists become tuples (models
are immutable); JSON objects used as maps become ``dict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from hyperliquid_client.runtime.errors import InvalidResponseError

__all__ = [
    "EMPTY",
    "Bad",
    "Unknown",
    "parse_with",
    "to_any",
    "to_bool",
    "to_decimal",
    "to_float",
    "to_int",
    "to_list",
    "to_map",
    "to_str",
    "to_tuple",
    "to_wire",
    "register_wire",
]

T = TypeVar("T")

#: Shared, read-only "no unknown fields" mapping.
EMPTY: Mapping[str, Any] = MappingProxyType({})


class Bad(Exception):
    """A value did not match the schema; ``path`` is built innermost-first while unwinding."""

    __slots__ = ("expected", "got", "path")

    def __init__(self, expected: str, got: Any) -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.path: list[str | int] = []

    def render_path(self) -> str:
        """The path as ``$.a[0].b``."""
        out = "$"
        for part in reversed(self.path):
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out


@attrs.frozen(slots=True)
class Unknown:
    """A union variant this version of the library does not know (kept verbatim in ``data``)."""

    data: Any


def to_str(v: Any) -> str:
    """A JSON string."""
    if v.__class__ is str:
        return v
    raise Bad("string", v)


def to_int(v: Any) -> int:
    """A JSON integer (booleans and fractional numbers are rejected)."""
    if v.__class__ is int:
        return v
    if v.__class__ is float and v.is_integer() and abs(v) < 2**53:
        return int(v)
    raise Bad("integer", v)


def to_float(v: Any) -> float:
    """A JSON number kept as float (only for fields the API sends as plain numbers, like ``apr``)."""
    cls = v.__class__
    if cls is float:
        return v
    if cls is int:
        return float(v)
    if cls is str:
        try:
            return float(v)
        except ValueError:
            pass
    raise Bad("number", v)


def to_bool(v: Any) -> bool:
    """A JSON boolean."""
    if v is True or v is False:
        return v
    raise Bad("boolean", v)


def to_decimal(v: Any) -> Decimal:
    """A decimal string (or JSON integer) as an exact :class:`~decimal.Decimal`."""
    cls = v.__class__
    if cls is str:
        try:
            d = Decimal(v)
        except InvalidOperation:
            raise Bad("decimal string", v) from None
        if d.is_finite():
            return d
        raise Bad("finite decimal string", v)
    if cls is int:
        return Decimal(v)
    raise Bad("decimal string", v)


def to_any(v: Any) -> Any:
    """Any JSON value, unchanged."""
    return v


def to_list(v: Any, item: Callable[[Any], T]) -> tuple[T, ...]:
    """A JSON array whose items are converted by ``item``."""
    if v.__class__ is not list:
        raise Bad("array", v)
    i = 0
    try:
        out = []
        for i, x in enumerate(v):  # noqa: B007 - i is read in the handler
            out.append(item(x))
        return tuple(out)
    except Bad as exc:
        exc.path.append(i)
        raise


def to_map(v: Any, item: Callable[[Any], T]) -> dict[str, T]:
    """A JSON object used as a map from string keys to ``item`` values."""
    if v.__class__ is not dict:
        raise Bad("object", v)
    key = ""
    try:
        out = {}
        for key, x in v.items():
            out[key] = item(x)
        return out
    except Bad as exc:
        exc.path.append(key)
        raise


def to_tuple(v: Any, items: tuple[Callable[[Any], Any], ...]) -> tuple[Any, ...]:
    """A JSON array of fixed length whose positions are converted by ``items``."""
    if v.__class__ is not list or len(v) != len(items):
        raise Bad(f"array of {len(items)} items", v)
    i = 0
    try:
        out = []
        for i, (fn, x) in enumerate(zip(items, v, strict=True)):  # noqa: B007 - i is read in the handler
            out.append(fn(x))
        return tuple(out)
    except Bad as exc:
        exc.path.append(i)
        raise


_WIRE_FNS: dict[type, Callable[[Any], Any]] = {}


def register_wire(cls: type, fn: Callable[[Any], Any]) -> None:
    """Register how instances of ``cls`` turn back into wire JSON (used by generated models)."""
    _WIRE_FNS[cls] = fn


def to_wire(value: Any) -> Any:
    """Turn a structured value back into the JSON shape the API sends.

    Models keep their wire key names and unknown fields; decimals become strings; tuples lists.
    """
    cls = value.__class__
    fn = _WIRE_FNS.get(cls)
    if fn is not None:
        return fn(value)
    if cls is Decimal:
        return format(value, "f")
    if cls is tuple or cls is list:
        return [to_wire(x) for x in value]
    if cls is dict:
        return {k: to_wire(x) for k, x in value.items()}
    if cls is Unknown:
        return value.data
    return value


def parse_with(parse: Callable[[Any], T], data: Any, *, endpoint: str | None = None) -> T:
    """Run a generated ``parse`` function, mapping :class:`Bad` to ``InvalidResponseError``."""
    try:
        return parse(data)
    except Bad as exc:
        raise InvalidResponseError(exc.render_path(), exc.expected, exc.got, endpoint=endpoint) from None
