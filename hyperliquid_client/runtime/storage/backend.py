"""The storage backend interface shared by the in-memory and PostgreSQL backends.

A backend stores normalized records (tuples produced by :meth:`Kind.normalize`) with idempotent
upserts and answers simple range reads.  :class:`BackendBase` supplies the public conveniences
(:meth:`~BackendBase.write` of wire rows and the ``read_*`` helpers) on top of two primitives a
backend implements: :meth:`write_records` and :meth:`read`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from hyperliquid_client.runtime.errors import StorageError
from hyperliquid_client.runtime.storage.kinds import InvalidRowError, Kind, get_kind, normalize_user

__all__ = [
    "BackendBase",
    "Rejection",
    "StorageBackend",
    "StorageUnavailableError",
    "StoredRow",
    "TimeBound",
    "WriteResult",
    "to_ms",
]

TimeBound = int | _dt.datetime | None


class StorageUnavailableError(StorageError):
    """The backend cannot be reached right now (connection refused, lost, timed out).

    Transient: the writer keeps the batch and retries with backoff.  The original error is chained.
    """


@attrs.frozen
class Rejection:
    """One refused row: its ``index`` in the submitted sequence and the :class:`InvalidRowError`."""

    index: int
    error: InvalidRowError


@attrs.frozen
class WriteResult:
    """Outcome of one write: ``written`` rows stored (replays of stored rows count: the upsert is a
    no-op that leaves exactly one row) and the ``rejected`` ones, each with its reason."""

    written: int
    rejected: tuple[Rejection, ...] = ()


@attrs.frozen
class StoredRow:
    """One stored row as read back: typed column ``values`` (``Decimal`` for numbers) and ``raw``,
    the original wire object."""

    kind: str
    values: Mapping[str, Any]
    raw: Any

    def __getitem__(self, column: str) -> Any:
        return self.values[column]

    @property
    def user(self) -> str | None:
        """The user the row belongs to (``None`` for public data such as trades and candles)."""
        user = self.values.get("user_address")
        return user if isinstance(user, str) else None


def to_ms(value: TimeBound, name: str = "time") -> int | None:
    """A time bound as epoch milliseconds: ints pass through, aware datetimes are converted."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise StorageError(f"{name} must be epoch milliseconds or a datetime, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise StorageError(f"{name} must be timezone-aware (naive datetimes are ambiguous)")
        return int(value.timestamp() * 1000)
    raise StorageError(f"{name} must be epoch milliseconds or a datetime, got {type(value).__name__}")


@runtime_checkable
class StorageBackend(Protocol):
    """What :class:`~hyperliquid_client.runtime.storage.writer.StorageWriter` needs from a backend."""

    def write_records(self, kind: Kind, records: Sequence[tuple[Any, ...]]) -> WriteResult:
        """Upsert normalized records of one kind; duplicates of stored rows are no-ops.

        Raises :class:`StorageUnavailableError` when the store cannot be reached (retryable);
        rows the store itself refuses are returned in :attr:`WriteResult.rejected`.
        """
        ...

    def read(
        self,
        kind: str,
        *,
        where: Mapping[str, Any] | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        limit: int | None = None,
    ) -> list[StoredRow]:
        """Rows of ``kind`` matching ``where`` (column equality) within ``[start, end]`` (ms, inclusive)."""
        ...

    def close(self) -> None:
        """Release connections.  Idempotent."""
        ...


class BackendBase:
    """Conveniences shared by the backends: writing wire rows and the typed read helpers."""

    def write_records(self, kind: Kind, records: Sequence[tuple[Any, ...]]) -> WriteResult:  # pragma: no cover
        """See :meth:`StorageBackend.write_records`."""
        raise NotImplementedError

    def read(
        self,
        kind: str,
        *,
        where: Mapping[str, Any] | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        limit: int | None = None,
    ) -> list[StoredRow]:  # pragma: no cover
        """See :meth:`StorageBackend.read`."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (nothing by default)."""

    def __enter__(self) -> BackendBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, kind: str, rows: Sequence[Mapping[str, Any]], *, user: str | None = None) -> WriteResult:
        """Synchronously upsert wire ``rows`` of ``kind`` belonging to ``user`` (where the rows lack it).

        Bad rows are rejected individually (see :attr:`WriteResult.rejected`); the others are
        written.  Raises :class:`StorageUnavailableError` when the store cannot be reached.
        """
        k = get_kind(kind)
        records: list[tuple[Any, ...]] = []
        positions: list[int] = []
        rejected: list[Rejection] = []
        for i, row in enumerate(rows):
            try:
                records.append(k.normalize(row, user))
                positions.append(i)
            except InvalidRowError as exc:
                rejected.append(Rejection(i, exc))
        result = self.write_records(k, records) if records else WriteResult(0)
        rejected.extend(Rejection(positions[r.index], r.error) for r in result.rejected)
        rejected.sort(key=lambda r: r.index)
        return WriteResult(result.written, tuple(rejected))

    # --- typed read helpers ----------------------------------------------------------------------

    def read_fills(
        self,
        user: str,
        start: TimeBound = None,
        end: TimeBound = None,
        *,
        coin: str | None = None,
        limit: int | None = None,
    ) -> list[StoredRow]:
        """``user``'s stored fills with ``start <= time <= end`` (ms), oldest first."""
        return self.read("fills", where=_where(user=user, coin=coin), start=start, end=end, limit=limit)

    def read_order_updates(
        self,
        user: str,
        start: TimeBound = None,
        end: TimeBound = None,
        *,
        oid: int | None = None,
        limit: int | None = None,
    ) -> list[StoredRow]:
        """``user``'s stored order status changes by ``statusTimestamp``, oldest first."""
        return self.read("order_updates", where=_where(user=user, oid=oid), start=start, end=end, limit=limit)

    def read_trades(
        self, coin: str, start: TimeBound = None, end: TimeBound = None, *, limit: int | None = None
    ) -> list[StoredRow]:
        """Stored public trades of ``coin``, oldest first."""
        return self.read("trades", where={"coin": coin}, start=start, end=end, limit=limit)

    def read_funding(
        self,
        user: str,
        start: TimeBound = None,
        end: TimeBound = None,
        *,
        coin: str | None = None,
        limit: int | None = None,
    ) -> list[StoredRow]:
        """``user``'s stored funding payments, oldest first."""
        return self.read("funding", where=_where(user=user, coin=coin), start=start, end=end, limit=limit)

    def read_ledger(
        self, user: str, start: TimeBound = None, end: TimeBound = None, *, limit: int | None = None
    ) -> list[StoredRow]:
        """``user``'s stored non-funding ledger updates, oldest first."""
        return self.read("ledger", where=_where(user=user), start=start, end=end, limit=limit)

    def read_candles(
        self, coin: str, interval: str, start: TimeBound = None, end: TimeBound = None, *, limit: int | None = None
    ) -> list[StoredRow]:
        """Stored candles of ``coin`` and ``interval`` by open time ``t``, oldest first."""
        return self.read("candles", where={"coin": coin, "interval": interval}, start=start, end=end, limit=limit)

    def count(self, kind: str) -> int:
        """Number of stored rows of ``kind``."""
        return len(self.read(kind))


def _where(*, user: str | None = None, **others: Any) -> dict[str, Any]:
    where: dict[str, Any] = {}
    if user is not None:
        where["user_address"] = normalize_user(user)
    where.update({k: v for k, v in others.items() if v is not None})
    return where


def check_read_args(kind: Kind, where: Mapping[str, Any] | None, limit: int | None) -> dict[str, Any]:
    """Validate ``where`` column names and ``limit``; returns ``where`` as a dict."""
    where = dict(where or {})
    unknown = [c for c in where if c not in kind.column_names or c == "raw"]
    if unknown:
        raise StorageError(
            f"unknown column(s) {', '.join(unknown)} for {kind.name}; known: {', '.join(kind.column_names)}"
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise StorageError(f"limit must be a non-negative integer, got {limit!r}")
    if "user_address" in where:
        where["user_address"] = normalize_user(where["user_address"], kind.name)
    return where
