"""Storage configuration.  Storage is off unless a :class:`StorageConfig` is given."""

from __future__ import annotations

from typing import Literal

from hyperliquid_client.runtime.config import check_number, repr_hiding
from hyperliquid_client.runtime.errors import ConfigError, shown
from hyperliquid_client.runtime.record import frozen

__all__ = ["OverflowPolicy", "StorageConfig"]

OverflowPolicy = Literal["block", "drop"]


@frozen
class StorageConfig:
    """How rows are stored.

    * ``backend`` — ``"memory"`` or ``"postgres"``; default: ``"postgres"`` when ``dsn`` is given,
      else ``"memory"``.
    * ``dsn`` — libpq connection string or URL (``postgresql://user:pw@host/db``); its password
      is never shown (reprs, logs, errors).
    * ``batch_size`` — rows per database write; a batch is written as soon as it is full …
    * ``flush_interval`` — … or this many seconds after its first row arrived.
    * ``max_buffer`` — rows held in memory at most (buffered + being written).
    * ``overflow`` — what :meth:`StorageWriter.submit` does when the buffer is full: ``"block"``
      waits for room (at most ``block_timeout`` s, then raises
      :class:`~hyperliquid_client.runtime.errors.StorageOverflowError`; ``None`` waits indefinitely);
      ``"drop"`` refuses the new row at once, counts it, emits ``storage.drop`` and logs a warning.
    * ``retry_base`` / ``retry_max`` — backoff while the database is unreachable: the n-th
      consecutive failure waits ``min(retry_max, retry_base * 2**(n-1))`` seconds.
    * ``connect_timeout`` / ``statement_timeout`` — bound one database attempt (seconds): the
      server cancels a statement after ``statement_timeout``; the client abandons an operation
      still unfinished after ``statement_timeout + connect_timeout`` (a hung server) and retries.
    * ``migrate`` — apply missing schema migrations on first connect.
    """

    backend: Literal["memory", "postgres"] | None = None
    dsn: str | None = None
    batch_size: int = 500
    flush_interval: float = 0.5
    max_buffer: int = 10_000
    overflow: OverflowPolicy = "block"
    block_timeout: float | None = None
    retry_base: float = 0.2
    retry_max: float = 5.0
    connect_timeout: float = 5.0
    statement_timeout: float | None = 30.0
    migrate: bool = False

    def __repr__(self) -> str:  # the dsn's password never shown
        return repr_hiding(self, "dsn")

    def __post_init__(self) -> None:
        if not isinstance(self.migrate, bool):
            raise ConfigError("migrate", f"expected True or False, got {shown(self.migrate)}")
        check_number("batch_size", self.batch_size, integer=True)
        check_number("flush_interval", self.flush_interval)
        check_number("max_buffer", self.max_buffer, integer=True)
        check_number("block_timeout", self.block_timeout, zero=True, none=True)
        for name in ("retry_base", "retry_max", "connect_timeout"):
            check_number(name, getattr(self, name))
        check_number("statement_timeout", self.statement_timeout, none=True)
        if self.backend not in (None, "memory", "postgres"):
            raise ConfigError("backend", f"expected 'memory' or 'postgres', got {shown(self.backend)}")
        if self.overflow not in ("block", "drop"):
            raise ConfigError("overflow", f"expected 'block' or 'drop', got {shown(self.overflow)}")
        if self.dsn is not None and (not isinstance(self.dsn, str) or not self.dsn.strip()):
            raise ConfigError("dsn", "expected a non-empty connection string")
        if self.backend == "postgres" and self.dsn is None:
            raise ConfigError("dsn", "the postgres backend needs a dsn")
        if self.backend == "memory" and self.dsn is not None:
            raise ConfigError("dsn", "the memory backend takes no dsn")
        if self.retry_max < self.retry_base:
            raise ConfigError("retry_max", f"must be >= retry_base ({self.retry_base}), got {self.retry_max}")

    @property
    def resolved_backend(self) -> Literal["memory", "postgres"]:
        """The backend actually used."""
        if self.backend is not None:
            return self.backend
        return "postgres" if self.dsn is not None else "memory"
