"""Optional persistence of fills, order updates, trades, funding, ledger updates and candles.

Storage is off unless configured.  Two backends share one interface: :class:`MemoryStorage` (the
default when storage is enabled without a database) and :class:`PostgresStorage` (psycopg 3, the
``postgres`` extra).  :class:`StorageWriter` batches rows in a background thread with a bounded
buffer, retries while the database is down and applies the configured overflow policy — never
dropping a row without an event, a log record and a counter.  See ``docs/storage.md``.

Quick start::

    from hyperliquid_client.runtime.storage import StorageConfig, open_storage

    with open_storage(StorageConfig(dsn="postgresql://localhost/hl", migrate=True)) as writer:
        writer.submit("fills", fill_dict, user="0x...")
    # later
    rows = PostgresStorage(dsn).read_fills("0x...", start=t0, end=t1)
"""

from __future__ import annotations

from hyperliquid_client.runtime.errors import StorageError, StorageOverflowError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.storage.backend import (
    BackendBase,
    Rejection,
    StorageBackend,
    StorageUnavailableError,
    StoredRow,
    WriteResult,
)
from hyperliquid_client.runtime.storage.config import StorageConfig
from hyperliquid_client.runtime.storage.kinds import KINDS, Column, InvalidRowError, Kind, KindName, get_kind
from hyperliquid_client.runtime.storage.memory import MemoryStorage
from hyperliquid_client.runtime.storage.migrations import (
    LATEST_VERSION,
    apply_migrations,
    list_migrations,
    migrations_sql,
)
from hyperliquid_client.runtime.storage.postgres import PostgresStorage
from hyperliquid_client.runtime.storage.sources import HTTP_SOURCES, WS_SOURCES, rows_from_http, rows_from_ws
from hyperliquid_client.runtime.storage.writer import StorageWriter, WriterStats

__all__ = [
    "HTTP_SOURCES",
    "KINDS",
    "LATEST_VERSION",
    "WS_SOURCES",
    "BackendBase",
    "Column",
    "InvalidRowError",
    "Kind",
    "KindName",
    "MemoryStorage",
    "PostgresStorage",
    "Rejection",
    "StorageBackend",
    "StorageConfig",
    "StorageError",
    "StorageOverflowError",
    "StorageUnavailableError",
    "StorageWriter",
    "StoredRow",
    "WriteResult",
    "WriterStats",
    "apply_migrations",
    "create_backend",
    "get_kind",
    "list_migrations",
    "migrations_sql",
    "open_storage",
    "rows_from_http",
    "rows_from_ws",
]


def create_backend(config: StorageConfig) -> BackendBase:
    """The backend ``config`` describes (nothing is connected until first use)."""
    if config.resolved_backend == "postgres":
        assert config.dsn is not None
        return PostgresStorage(
            config.dsn,
            migrate=config.migrate,
            connect_timeout=config.connect_timeout,
            statement_timeout=config.statement_timeout,
        )
    return MemoryStorage()


def open_storage(config: StorageConfig | None = None, *, events: EventBus | None = None) -> StorageWriter:
    """A :class:`StorageWriter` over the backend ``config`` describes (in memory by default).

    The writer owns the backend: closing the writer closes it.
    """
    config = config if config is not None else StorageConfig()
    return StorageWriter(create_backend(config), config, events=events, owns_backend=True)
