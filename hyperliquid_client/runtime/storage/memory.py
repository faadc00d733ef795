"""In-memory storage backend: the default when storage is enabled without a database.

Same semantics as the PostgreSQL backend (natural keys, keep-first or last-wins upserts, exact
``Decimal`` values, the original JSON kept), held in dictionaries for the life of the process.
Thread-safe.  Useful for tests, notebooks and short-lived tools; nothing survives a restart.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from hyperliquid_client.runtime.storage.backend import (
    BackendBase,
    StoredRow,
    TimeBound,
    WriteResult,
    check_read_args,
    to_ms,
)
from hyperliquid_client.runtime.storage.kinds import KINDS, Kind, get_kind

__all__ = ["MemoryStorage"]


class MemoryStorage(BackendBase):
    """Stores every kind in a dictionary keyed by its natural key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {name: {} for name in KINDS}

    def __repr__(self) -> str:
        with self._lock:
            sizes = ", ".join(f"{k}={len(v)}" for k, v in self._tables.items())
        return f"MemoryStorage({sizes})"

    def write_records(self, kind: Kind, records: Sequence[tuple[Any, ...]]) -> WriteResult:
        """Upsert ``records``: keep the first copy of a key, or the last for last-wins kinds (candles)."""
        table = self._tables[kind.name]
        idx = kind.key_indexes
        replace = kind.on_conflict == "update"
        with self._lock:
            for record in records:
                key = tuple(record[i] for i in idx)
                if replace or key not in table:
                    table[key] = record
        return WriteResult(len(records))

    def read(
        self,
        kind: str,
        *,
        where: Mapping[str, Any] | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        limit: int | None = None,
    ) -> list[StoredRow]:
        """Rows of ``kind`` matching ``where`` within ``[start, end]`` on its time column, oldest first."""
        k = get_kind(kind)
        conditions = check_read_args(k, where, limit)
        lo, hi = to_ms(start, "start"), to_ms(end, "end")
        names = k.column_names
        positions = [(names.index(c), v) for c, v in conditions.items()]
        t = names.index(k.time_column)
        with self._lock:
            records = list(self._tables[k.name].values())
        selected = [
            r
            for r in records
            if all(r[i] == v for i, v in positions) and (lo is None or r[t] >= lo) and (hi is None or r[t] <= hi)
        ]
        key_idx = k.key_indexes
        selected.sort(key=lambda r: (r[t], tuple(str(r[i]) for i in key_idx)))
        if limit is not None:
            selected = selected[:limit]
        return [StoredRow(k.name, dict(zip(names[:-1], r[:-1], strict=True)), json.loads(r[-1])) for r in selected]

    def count(self, kind: str) -> int:
        """Number of stored rows of ``kind``."""
        with self._lock:
            return len(self._tables[get_kind(kind).name])

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            for table in self._tables.values():
                table.clear()
