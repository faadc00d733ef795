"""Conversion helpers used by the generated structuring functions.

Generated code converts decoded JSON into attrs models with straight-line calls to these
helpers.  A mismatch raises :class:`Bad`, which collects the path of the offending value while
the stack unwinds; :func:`parse_with` turns it into
:class:`~hyperliquid_client.runtime.errors.InvalidResponseError` naming that path.

Choices made here apply everywhere: prices, sizes and other decimal strings become
:class:`decimal.Decimal` (exact); ids and timestamps are ``int``; lists become tuples (models
are immutable); JSON objects used as maps become ``dict``.

Drift from the spec that does not stop structuring — a field the spec does not declare (kept in
``extra``), an enum value or a union variant it does not know — is *noted* with
:func:`note_drift`.  Noting costs nothing unless a
:class:`~hyperliquid_client.runtime.drift.DriftMonitor` is listening on this thread (it reports the
drift as ``schema.drift`` events); the generated code only calls it when something drifted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import zlib
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from operator import call, length_hint
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

from hyperliquid_client.runtime.errors import InvalidResponseError
from hyperliquid_client.runtime.record import Record, record

__all__ = [
    "DECIMALS",
    "UDECIMALS",
    "U64_MAX",
    "EMPTY",
    "MAX_INFLATED",
    "SHARED_MAX",
    "Bad",
    "MapKey",
    "Unknown",
    "extra_fields",
    "new_decimal",
    "note_drift",
    "parse_with",
    "to_any",
    "to_bool",
    "to_decimal",
    "to_deflated",
    "to_float",
    "to_int",
    "to_list",
    "FrozenMap",
    "frozen_json",
    "to_address",
    "to_map",
    "to_str",
    "to_tuple",
    "to_udecimal",
    "to_uint",
    "to_wire",
    "register_wire",
]

T = TypeVar("T")


class FrozenMap(dict[str, Any]):
    """A read-only ``dict`` (what a map in an answer is, as a list is a tuple): every change raises ``TypeError``;
    it compares, serialises (``json``), pickles and copies as the dict it is, and comes back read-only."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"an answer's map is read-only (copy it: dict(value)); {type(self).__name__} cannot change")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type[FrozenMap], tuple[dict[str, Any]]]:
        return FrozenMap, (dict(self),)

    def __copy__(self) -> FrozenMap:
        return self  # (read-only: a copy would be the same)

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenMap:
        import copy

        return FrozenMap(copy.deepcopy(dict(self), memo))


#: Shared, read-only "no unknown fields" mapping.
EMPTY: Mapping[str, Any] = MappingProxyType({})


class MapKey(str):
    """A key of a JSON object used as a map (``map[T]``) in a :class:`Bad` path, as opposed to a field name."""

    __slots__ = ()


class Bad(Exception):
    """A value did not match the schema; ``path`` is built innermost-first while unwinding.

    ``kind`` says how: ``type`` (wrong type or value), ``missing`` (a required field is absent),
    or, while a drift monitor locates a noted drift, that drift's kind.
    """

    __slots__ = ("expected", "got", "kind", "path")

    def __init__(self, expected: str, got: Any, kind: str = "type") -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.kind = kind
        self.path: list[str | int] = []

    def render_path(self, *, generic: bool = False) -> str:
        """The path as ``$.a[0].b``; ``generic`` writes list indexes as ``[*]`` and map keys as ``.*``."""
        out = "$"
        for part in reversed(self.path):
            if isinstance(part, int):
                out += "[*]" if generic else f"[{part}]"
            else:
                out += ".*" if generic and isinstance(part, MapKey) else f".{part}"
        return out


class _DriftState(threading.local):
    """Per thread: the signatures noted by the current monitored parse, or the one being located."""

    sink: list[tuple[str, str, str]] | None = None
    target: tuple[str, str, str] | None = None


DRIFT = _DriftState()


def note_drift(kind: str, type_name: str, detail: str) -> None:
    """Note that the value being structured drifted from the spec (``extra``, ``enum`` or ``variant``).

    ``detail`` is the unknown field name, enum value or variant tag.  A no-op unless a drift monitor
    is parsing on this thread; while it locates this very drift, raises :class:`Bad` so that the
    unwinding records the path.
    """
    state = DRIFT
    signature = (kind, type_name, detail)
    if state.target is not None:
        if state.target == signature:
            raise Bad(f"known {type_name}", None, kind)
        return
    if state.sink is not None:
        state.sink.append(signature)


def extra_fields(d: dict[str, Any], unknown: Any, type_name: str) -> Mapping[str, Any]:
    """The fields of ``d`` that model ``type_name`` does not declare (noted as drift), as received, read-only."""
    if DRIFT.sink is not None or DRIFT.target is not None:
        for key in sorted(unknown):
            note_drift("extra", type_name, key)
    return FrozenMap({x: frozen_json(d[x]) for x in unknown})


def frozen_json(v: Any) -> Any:
    """JSON ``v`` read-only: objects as read-only mappings, arrays as tuples (what an answer keeps as received, in
    ``extra`` or :class:`Unknown`, is shared by every caller of a cached answer); :func:`to_wire` gives it back."""
    cls = v.__class__
    if cls is dict:
        return FrozenMap({k: frozen_json(x) for k, x in v.items()})
    if cls is list:
        return tuple(frozen_json(x) for x in v)
    return v


@record
class Unknown(Record):
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


def to_uint(v: Any) -> int:
    """A JSON integer 0 .. 2**64-1 (ids, times: what no id of the exchange exceeds)."""
    if v.__class__ is int and 0 <= v <= U64_MAX:
        return v
    n = to_int(v)
    if not 0 <= n <= U64_MAX:
        raise Bad("integer 0 .. 2**64-1", v)
    return n


#: The largest id (order ids, times) an answer holds: an unsigned 64-bit integer.
U64_MAX = 2**64 - 1
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def to_address(v: Any) -> str:
    """A JSON string holding an address: ``0x`` and 40 hex digits (as sent)."""
    if v.__class__ is str and _ADDRESS.fullmatch(v):
        return v
    raise Bad("address (0x and 40 hex digits)", v)


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


#: Decimals of the strings read lately, shared (a ``Decimal`` is immutable): the prices and sizes of a stream
#: repeat from one message to the next, and a lookup costs a fraction of parsing.  Emptied when full.
_DECIMALS: dict[str, Decimal] = {}
_DECIMALS_MAX = 2048
#: (what generated decoders look a decimal string up in before calling :func:`to_decimal`)
DECIMALS = _DECIMALS
#: Most values a ``shared`` model type keeps for reuse (emptied when full).
SHARED_MAX = 2048


def to_decimal(v: Any) -> Decimal:
    """A decimal string (or JSON integer) as an exact :class:`~decimal.Decimal`."""
    cls = v.__class__
    if cls is str:
        d = _DECIMALS.get(v)
        return new_decimal(v) if d is None else d
    if cls is int:
        return Decimal(v)
    raise Bad("decimal string", v)


def new_decimal(v: str) -> Decimal:
    """:func:`to_decimal` of a string not found in :data:`DECIMALS` (generated decoders look there first)."""
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise Bad("decimal string", v) from None
    if d.is_finite():
        if len(_DECIMALS) >= _DECIMALS_MAX:
            _DECIMALS.clear()
        _DECIMALS[v] = d
        return d
    raise Bad("finite decimal string", v)


def to_udecimal(v: Any) -> Decimal:
    """A non-negative decimal string (prices, sizes, mids)."""
    if v.__class__ is str:
        d = _UDECIMALS.get(v)  # (the strings found non-negative already: one lookup, as to_decimal's)
        if d is not None:
            return d
    d = to_decimal(v)
    if d < 0:
        raise Bad("non-negative decimal string", v)
    if v.__class__ is str:
        if len(_UDECIMALS) >= _DECIMALS_MAX:
            _UDECIMALS.clear()
        _UDECIMALS[v] = d
    return d


_UDECIMALS: dict[str, Decimal] = {}
#: (what generated decoders look a non-negative decimal string up in before calling :func:`to_udecimal`)
UDECIMALS = _UDECIMALS


#: The largest JSON text a ``deflated[T]`` value may inflate to (protects against a compression bomb).
MAX_INFLATED = 32 * 1024 * 1024


def to_deflated(v: Any, item: Callable[[Any], T]) -> T:
    """A base64 string of raw DEFLATE data (RFC 1951, no zlib header) whose JSON is converted by ``item``."""
    if v.__class__ is not str:
        raise Bad("base64 string of raw DEFLATE data", v)
    try:
        text = zlib.decompressobj(-15).decompress(base64.b64decode(v, validate=True), MAX_INFLATED + 1)
        if len(text) > MAX_INFLATED:
            raise Bad(f"deflated JSON of at most {MAX_INFLATED} bytes", None)
        data = json.loads(text)
    except (binascii.Error, zlib.error, ValueError):
        raise Bad("base64 string of raw DEFLATE JSON", v) from None
    return item(data)


def to_any(v: Any) -> Any:
    """Any JSON value, unchanged."""
    return v


def to_list(v: Any, item: Callable[[Any], T]) -> tuple[T, ...]:
    """A JSON array whose items are converted by ``item``."""
    if v.__class__ is not list:
        raise Bad("array", v)
    it = iter(v)
    try:
        return tuple(map(item, it))
    except Bad as exc:
        exc.path.append(len(v) - length_hint(it) - 1)  # the item taken last failed
        raise


def to_map(v: Any, item: Callable[[Any], T]) -> Mapping[str, T]:
    """A JSON object used as a map from string keys to ``item`` values, read-only (as a list is a tuple: a value
    shared by every caller of a cached answer, or every subscriber of a stream, cannot be changed by one of them)."""
    if v.__class__ is not dict:
        raise Bad("object", v)
    try:
        return FrozenMap({key: item(x) for key, x in v.items()})
    except Bad:
        pass  # (read again below, to name the key)
    for key, x in v.items():
        try:
            item(x)
        except Bad as exc:
            exc.path.append(MapKey(key))
            raise
    raise AssertionError("unreachable: a value refused once is refused again")


def to_tuple(v: Any, items: tuple[Callable[[Any], Any], ...]) -> tuple[Any, ...]:
    """A JSON array of fixed length whose positions are converted by ``items``."""
    if v.__class__ is not list or len(v) != len(items):
        raise Bad(f"array of {len(items)} items", v)
    try:
        return tuple(map(call, items, v))  # (the common case: no step in Python per position)
    except Bad:
        pass  # converted again one by one below, which names the position
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
    if cls is dict or cls is FrozenMap or cls is MappingProxyType:
        return {k: to_wire(x) for k, x in value.items()}
    if cls is Unknown:
        return to_wire(value.data)
    return value


def parse_with(parse: Callable[[Any], T], data: Any, *, endpoint: str | None = None) -> T:
    """Run a generated ``parse`` function, mapping :class:`Bad` to ``InvalidResponseError``."""
    try:
        return parse(data)
    except Bad as exc:
        raise InvalidResponseError(exc.render_path(), exc.expected, exc.got, endpoint=endpoint) from None
