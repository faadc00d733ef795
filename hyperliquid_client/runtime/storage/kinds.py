"""The storable kinds: one table of kind name → SQL table, natural key and column extraction.

Every row arrives in *wire shape* (the JSON object the API sends) plus, where the data lacks it,
the ``user`` the row belongs to.  :meth:`Kind.normalize` turns one wire row into the tuple of
column values that both backends store; it validates everything a database would refuse, so a
bad row is rejected on its own (:class:`InvalidRowError`) instead of failing its batch.

Kinds (names are what the spec's ``storage:`` markers refer to):

============== ================== ===================================================== ===========
kind           table              natural key                                           on conflict
============== ================== ===================================================== ===========
fills          hl_fills           user, fill_key (``hash:tid``; old fills without        keep first
                                  ``tid``: ``hash:oid:time:px:sz:startPosition``)
order_updates  hl_order_updates   user, oid, status, statusTimestamp                    keep first
trades         hl_trades          coin, time, tid                                       keep first
funding        hl_funding         user, coin, time                                      keep first
ledger         hl_ledger          user, time, hash, delta type, digest of the delta      keep first
candles        hl_candles         coin, interval, open time ``t``                       last wins
============== ================== ===================================================== ===========

Candles are re-sent while their bucket is open, so the newest copy replaces the stored one; every
other kind is an immutable event and a replay is a no-op.  Decimal strings become
:class:`~decimal.Decimal` (SQL ``numeric``) exactly; floats are refused because they may already
have been rounded.  The full original row is kept as JSON (``raw``, SQL ``jsonb``) so fields this
table does not know are never lost.  ``0x`` + 40-hex user addresses are lower-cased so that a
checksummed HTTP argument and a lower-case WebSocket field name the same user.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import attrs

from hyperliquid_client.runtime.errors import StorageError

__all__ = [
    "KINDS",
    "Column",
    "InvalidRowError",
    "Kind",
    "KindName",
    "get_kind",
    "normalize_user",
]

KindName = Literal["fills", "order_updates", "trades", "funding", "ledger", "candles"]

ColumnType = Literal["text", "numeric", "bigint", "boolean"]

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
# PostgreSQL ``numeric`` limits: 131072 digits before the decimal point, 16383 after.
_NUMERIC_MAX_INT_DIGITS: Final = 131072
_NUMERIC_MAX_FRAC_DIGITS: Final = 16383
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class InvalidRowError(StorageError):
    """One row cannot be stored: ``kind`` names the kind, ``field`` the wire field, ``reason`` why.

    The rest of the row's batch is still written.
    """

    def __init__(self, kind: str, field: str | None, reason: str) -> None:
        where = f" field {field!r}" if field else ""
        super().__init__(f"rejected {kind} row:{where} {reason}")
        self.kind = kind
        self.field = field
        self.reason = reason


def normalize_user(user: Any, kind: str = "row") -> str:
    """Validate a user address; ``0x`` + 40-hex addresses are lower-cased."""
    if not isinstance(user, str) or not user:
        raise InvalidRowError(kind, "user", f"a non-empty user string is required, got {_show(user)}")
    if "\x00" in user:
        raise InvalidRowError(kind, "user", "contains a NUL character")
    return user.lower() if _ADDRESS.match(user) else user


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _to_text(kind: str, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidRowError(kind, field, f"expected a string, got {_show(value)}")
    if "\x00" in value:
        raise InvalidRowError(kind, field, "contains a NUL character")
    return value


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _to_numeric(kind: str, field: str, value: Any) -> Decimal:
    if type(value) is str and len(value) < 1000 and _PLAIN_DECIMAL.fullmatch(value):
        return Decimal(value)  # fast path: the wire's plain decimal strings are always in range
    if isinstance(value, bool | float):
        raise InvalidRowError(kind, field, f"expected a decimal string, got {_show(value)} (floats are not exact)")
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, str):
        try:  # exponent forms ("1e-7") are accepted; spaces and underscores are not
            dec = Decimal(value) if value.strip() == value and "_" not in value else Decimal("NaN")
        except InvalidOperation:
            dec = Decimal("NaN")
    else:
        raise InvalidRowError(kind, field, f"expected a decimal string, got {_show(value)}")
    if not dec.is_finite():
        raise InvalidRowError(kind, field, f"not a finite decimal number: {_show(value)}")
    exp = dec.as_tuple().exponent
    assert isinstance(exp, int)
    if (dec and dec.adjusted() + 1 > _NUMERIC_MAX_INT_DIGITS) or -exp > _NUMERIC_MAX_FRAC_DIGITS:
        raise InvalidRowError(kind, field, "decimal number out of the storable range")
    return dec


def _to_bigint(kind: str, field: str, value: Any) -> int:
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
        return value
    if isinstance(value, bool):
        raise InvalidRowError(kind, field, f"expected an integer, got {_show(value)}")
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value):
        value = int(value)
    if not isinstance(value, int):
        raise InvalidRowError(kind, field, f"expected an integer, got {_show(value)}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidRowError(kind, field, f"integer out of the 64-bit range: {value}")
    return value


def _to_bool(kind: str, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidRowError(kind, field, f"expected true or false, got {_show(value)}")
    return value


_CONVERTERS: Final[dict[str, Callable[[str, str, Any], Any]]] = {
    "text": _to_text,
    "numeric": _to_numeric,
    "bigint": _to_bigint,
    "boolean": _to_bool,
}


@attrs.frozen
class Column:
    """One stored column: SQL ``name``, the ``wire`` field it comes from, SQL ``type``, whether required."""

    name: str
    wire: str
    type: ColumnType
    required: bool = False


@attrs.frozen
class Kind:
    """A storable kind: its SQL ``table``, data ``columns``, natural ``key`` and conflict rule.

    ``columns`` lists the columns taken from the (flattened) wire row; the stored column order is
    :attr:`column_names`: ``user_address`` (when ``needs_user``), the derived key column (when
    ``derived_key`` is set), the data columns, then ``raw`` (the original row as JSON text).
    """

    name: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str
    needs_user: bool
    on_conflict: Literal["nothing", "update"]
    description: str
    flatten: Callable[[Mapping[str, Any]], Mapping[str, Any]] = attrs.field(default=lambda row: row, repr=False)
    derived_key: tuple[str, Callable[[Mapping[str, Any], tuple[Any, ...]], str]] | None = attrs.field(
        default=None, repr=False
    )

    _plan: tuple[tuple[str, Callable[[str, str, Any], Any], bool], ...] = attrs.field(
        init=False, repr=False, eq=False, hash=False
    )

    @_plan.default
    def _plan_default(self) -> tuple[tuple[str, Callable[[str, str, Any], Any], bool], ...]:
        """Per column: (wire field, converter, required) — computed once."""
        return tuple((c.wire, _CONVERTERS[c.type], c.required) for c in self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every stored column, in storage order (``raw`` last)."""
        names: list[str] = []
        if self.needs_user:
            names.append("user_address")
        if self.derived_key is not None:
            names.append(self.derived_key[0])
        names.extend(c.name for c in self.columns)
        names.append("raw")
        return tuple(names)

    @property
    def column_types(self) -> tuple[str, ...]:
        """SQL type of each entry of :attr:`column_names` (``raw`` is ``jsonb``)."""
        types: list[str] = []
        if self.needs_user:
            types.append("text")
        if self.derived_key is not None:
            types.append("text")
        types.extend(c.type for c in self.columns)
        types.append("jsonb")
        return tuple(types)

    @property
    def key_indexes(self) -> tuple[int, ...]:
        """Positions of the natural-key columns within a normalized record."""
        names = self.column_names
        return tuple(names.index(k) for k in self.key)

    def normalize(self, row: Any, user: Any = None) -> tuple[Any, ...]:
        """Validate one wire ``row`` (and its ``user``) into the tuple of stored column values.

        Raises :class:`InvalidRowError` naming the field when the row cannot be stored.
        """
        if not isinstance(row, Mapping):
            raise InvalidRowError(self.name, None, f"expected a JSON object, got {_show(row)}")
        try:
            flat = self.flatten(row)
        except InvalidRowError:
            raise
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidRowError(self.name, None, f"unexpected row shape ({exc!r})") from exc
        values: list[Any] = []
        if self.needs_user:
            if user is None:
                user = row.get("user")
            values.append(normalize_user(user, self.name))
        data: list[Any] = []
        name = self.name
        for wire, convert, required in self._plan:
            value = flat.get(wire)
            if value is None:
                if required:
                    raise InvalidRowError(name, wire, "required field is missing")
                data.append(None)
            else:
                data.append(convert(name, wire, value))
        if self.derived_key is not None:
            values.append(self.derived_key[1](flat, tuple(data)))
        values.extend(data)
        try:
            raw = _ENCODER.encode(row)
        except (TypeError, ValueError) as exc:
            raise InvalidRowError(self.name, None, f"not representable as JSON ({exc})") from exc
        if "\\u0000" in raw:
            raise InvalidRowError(self.name, None, "contains a NUL character (not storable as jsonb)")
        values.append(raw)
        return tuple(values)

    def key_of(self, record: tuple[Any, ...]) -> tuple[Any, ...]:
        """The natural key of a normalized record."""
        return tuple(record[i] for i in self.key_indexes)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_default)


def _canon(dec: Any) -> str:
    """Canonical text of a Decimal for keys (``1.50`` and ``1.5`` are the same number)."""
    if dec is None:
        return ""
    if isinstance(dec, Decimal):
        text = format(dec.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    return str(dec)


# --- fills ---------------------------------------------------------------------------------------

_FILL_COLUMNS = (
    Column("coin", "coin", "text", True),
    Column("px", "px", "numeric", True),
    Column("sz", "sz", "numeric", True),
    Column("side", "side", "text", True),
    Column("time", "time", "bigint", True),
    Column("start_position", "startPosition", "numeric"),
    Column("dir", "dir", "text"),
    Column("closed_pnl", "closedPnl", "numeric"),
    Column("hash", "hash", "text", True),
    Column("oid", "oid", "bigint", True),
    Column("crossed", "crossed", "boolean"),
    Column("fee", "fee", "numeric"),
    Column("tid", "tid", "bigint"),
    Column("fee_token", "feeToken", "text"),
    Column("builder_fee", "builderFee", "numeric"),
    Column("twap_id", "twapId", "bigint"),
    Column("cloid", "cloid", "text"),
)
_F = {c.wire: i for i, c in enumerate(_FILL_COLUMNS)}


def _fill_key(flat: Mapping[str, Any], data: tuple[Any, ...]) -> str:
    """``hash:tid``; fills recorded before ``tid`` existed: ``hash:oid:time:px:sz:startPosition``."""
    tid = data[_F["tid"]]
    if tid is not None:
        return f"{data[_F['hash']]}:{tid}"
    parts = (
        data[_F["hash"]],
        str(data[_F["oid"]]),
        str(data[_F["time"]]),
        _canon(data[_F["px"]]),
        _canon(data[_F["sz"]]),
        _canon(data[_F["startPosition"]]),
    )
    return "legacy:" + ":".join(parts)


# --- order updates -------------------------------------------------------------------------------


def _flatten_order_update(row: Mapping[str, Any]) -> Mapping[str, Any]:
    order = row.get("order")
    if not isinstance(order, Mapping):
        raise InvalidRowError("order_updates", "order", f"expected an order object, got {_show(order)}")
    flat = dict(order)
    flat["status"] = row.get("status")
    flat["statusTimestamp"] = row.get("statusTimestamp")
    return flat


_ORDER_UPDATE_COLUMNS = (
    Column("oid", "oid", "bigint", True),
    Column("status", "status", "text", True),
    Column("status_timestamp", "statusTimestamp", "bigint", True),
    Column("coin", "coin", "text", True),
    Column("side", "side", "text"),
    Column("limit_px", "limitPx", "numeric"),
    Column("sz", "sz", "numeric"),
    Column("orig_sz", "origSz", "numeric"),
    Column("order_timestamp", "timestamp", "bigint"),
    Column("cloid", "cloid", "text"),
)

# --- trades --------------------------------------------------------------------------------------


def _flatten_trade(row: Mapping[str, Any]) -> Mapping[str, Any]:
    users = row.get("users")
    if users is None:
        return row
    if not isinstance(users, list | tuple) or len(users) != 2:
        raise InvalidRowError("trades", "users", f"expected [buyer, seller], got {_show(users)}")
    flat = dict(row)
    flat["buyer"], flat["seller"] = users
    return flat


_TRADE_COLUMNS = (
    Column("coin", "coin", "text", True),
    Column("time", "time", "bigint", True),
    Column("tid", "tid", "bigint", True),
    Column("side", "side", "text", True),
    Column("px", "px", "numeric", True),
    Column("sz", "sz", "numeric", True),
    Column("hash", "hash", "text"),
    Column("buyer", "buyer", "text"),
    Column("seller", "seller", "text"),
)

# --- funding -------------------------------------------------------------------------------------


def _flatten_funding(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """HTTP ``userFunding`` rows nest the payment in ``delta``; WebSocket rows are flat."""
    delta = row.get("delta")
    if delta is None:
        return row
    if not isinstance(delta, Mapping):
        raise InvalidRowError("funding", "delta", f"expected an object, got {_show(delta)}")
    if delta.get("type", "funding") != "funding":
        raise InvalidRowError("funding", "delta.type", f"expected 'funding', got {_show(delta.get('type'))}")
    flat = dict(delta)
    flat["time"] = row.get("time")
    flat["hash"] = row.get("hash")
    return flat


_FUNDING_COLUMNS = (
    Column("coin", "coin", "text", True),
    Column("time", "time", "bigint", True),
    Column("usdc", "usdc", "numeric", True),
    Column("szi", "szi", "numeric"),
    Column("funding_rate", "fundingRate", "numeric"),
    Column("n_samples", "nSamples", "bigint"),
    Column("hash", "hash", "text"),
)

# --- ledger --------------------------------------------------------------------------------------


def _flatten_ledger(row: Mapping[str, Any]) -> Mapping[str, Any]:
    delta = row.get("delta")
    if not isinstance(delta, Mapping):
        raise InvalidRowError("ledger", "delta", f"expected an object, got {_show(delta)}")
    flat = dict(delta)
    flat["deltaType"] = delta.get("type")
    flat["time"] = row.get("time")
    flat["hash"] = row.get("hash")
    flat["_delta"] = delta
    return flat


def _ledger_key(flat: Mapping[str, Any], data: tuple[Any, ...]) -> str:
    """Digest of the delta's canonical JSON: identical updates collapse, distinct ones never do."""
    try:
        text = json.dumps(flat["_delta"], sort_keys=True, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidRowError("ledger", "delta", f"not representable as JSON ({exc})") from exc
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_LEDGER_COLUMNS = (
    Column("time", "time", "bigint", True),
    Column("hash", "hash", "text", True),
    Column("delta_type", "deltaType", "text", True),
    Column("usdc", "usdc", "numeric"),
    Column("token", "token", "text"),
    Column("amount", "amount", "numeric"),
)

# --- candles -------------------------------------------------------------------------------------

_CANDLE_COLUMNS = (
    Column("coin", "s", "text", True),
    Column("interval", "i", "text", True),
    Column("open_time", "t", "bigint", True),
    Column("close_time", "T", "bigint"),
    Column("open_px", "o", "numeric", True),
    Column("close_px", "c", "numeric", True),
    Column("high_px", "h", "numeric", True),
    Column("low_px", "l", "numeric", True),
    Column("volume", "v", "numeric"),
    Column("num_trades", "n", "bigint"),
)

#: Every storable kind by name.
KINDS: Final[Mapping[str, Kind]] = {
    k.name: k
    for k in (
        Kind(
            name="fills",
            table="hl_fills",
            columns=_FILL_COLUMNS,
            key=("user_address", "fill_key"),
            time_column="time",
            needs_user=True,
            on_conflict="nothing",
            description="a user's fills (userFills, userFillsByTime, userEvents/userFills channels)",
            derived_key=("fill_key", _fill_key),
        ),
        Kind(
            name="order_updates",
            table="hl_order_updates",
            columns=_ORDER_UPDATE_COLUMNS,
            key=("user_address", "oid", "status", "status_timestamp"),
            time_column="status_timestamp",
            needs_user=True,
            on_conflict="nothing",
            description="order status changes (orderUpdates channel, historicalOrders)",
            flatten=_flatten_order_update,
        ),
        Kind(
            name="trades",
            table="hl_trades",
            columns=_TRADE_COLUMNS,
            key=("coin", "time", "tid"),
            time_column="time",
            needs_user=False,
            on_conflict="nothing",
            description="public trades (trades channel, recentTrades)",
            flatten=_flatten_trade,
        ),
        Kind(
            name="funding",
            table="hl_funding",
            columns=_FUNDING_COLUMNS,
            key=("user_address", "coin", "time"),
            time_column="time",
            needs_user=True,
            on_conflict="nothing",
            description="a user's funding payments (userFunding, userFundings/userEvents channels)",
            flatten=_flatten_funding,
        ),
        Kind(
            name="ledger",
            table="hl_ledger",
            columns=_LEDGER_COLUMNS,
            key=("user_address", "time", "hash", "delta_type", "delta_key"),
            time_column="time",
            needs_user=True,
            on_conflict="nothing",
            description="non-funding ledger updates (userNonFundingLedgerUpdates, HTTP and channel)",
            flatten=_flatten_ledger,
            derived_key=("delta_key", _ledger_key),
        ),
        Kind(
            name="candles",
            table="hl_candles",
            columns=_CANDLE_COLUMNS,
            key=("coin", "interval", "open_time"),
            time_column="open_time",
            needs_user=False,
            on_conflict="update",
            description="candles (candleSnapshot, candle channel); the newest copy of a bucket wins",
        ),
    )
}


def get_kind(name: str) -> Kind:
    """The :class:`Kind` called ``name``; unknown names raise :class:`StorageError` listing the valid ones."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise StorageError(f"unknown storage kind {name!r}; expected one of {', '.join(KINDS)}") from None
