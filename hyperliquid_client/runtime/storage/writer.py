"""The batching writer: producers submit wire rows, a background thread writes them in batches.

* **Batching** — a batch is written when ``batch_size`` rows are waiting, or ``flush_interval``
  seconds after the oldest waiting row arrived, or on :meth:`StorageWriter.flush` /
  :meth:`StorageWriter.close`.  Each kind in a batch is one backend write (one transaction).
* **Bounded buffer** — at most ``max_buffer`` rows are held (waiting + being written).
* **Database slow or down** — the batch being written is kept and retried with exponential
  backoff (``storage.retry`` event, warning log) until it succeeds; meanwhile producers keep
  filling the buffer up to the bound.
* **At the bound** — ``overflow="block"`` makes :meth:`~StorageWriter.submit` wait for room
  (bounded by ``block_timeout``: then :class:`~hyperliquid_client.runtime.errors.StorageOverflowError`);
  ``overflow="drop"`` refuses the new row at once.  Either way a row that will not be stored is
  counted (:attr:`~StorageWriter.dropped`), announced (``storage.drop`` event) and logged (a
  warning right away, then at most one summary record per second while drops continue).
* **Bad rows** — validated in the writer thread; a bad row is rejected on its own
  (:attr:`~StorageWriter.rejected`, ``storage.reject`` event, warning log, and
  :meth:`~StorageWriter.recent_rejections`) and the rest of its batch is written.
* **Close** — :meth:`~StorageWriter.close` flushes everything.  With a ``timeout``, rows still
  unwritten when it expires (database still down) are dropped *and reported* as such.

Invariant, at any moment: ``submitted == written + rejected + dropped + pending``.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from hyperliquid_client.runtime.errors import StorageError, StorageOverflowError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.storage.backend import StorageBackend, StorageUnavailableError
from hyperliquid_client.runtime.storage.config import StorageConfig
from hyperliquid_client.runtime.storage.kinds import KINDS, InvalidRowError, Kind, get_kind
from hyperliquid_client.runtime.storage.sources import rows_from_http, rows_from_ws

__all__ = ["StorageWriter", "WriterStats"]

_log = get_logger("hyperliquid_client.storage")
_DROP_LOG_INTERVAL = 1.0
_Item = tuple[str, Any, str | None]


@attrs.frozen
class WriterStats:
    """A snapshot of the writer's counters (see the module docstring for the invariant)."""

    submitted: int
    written: int
    rejected: int
    dropped: int
    retries: int
    pending: int


class StorageWriter:
    """Buffers rows and writes them to ``backend`` in batches from a background thread.

    Thread-safe.  Use as a context manager or call :meth:`close`; an unclosed writer is closed
    at interpreter exit (waiting at most ``10`` s; anything then unwritten is reported dropped).
    ``owns_backend=True`` closes the backend on :meth:`close`.
    """

    def __init__(
        self,
        backend: StorageBackend,
        config: StorageConfig | None = None,
        *,
        events: EventBus | None = None,
        owns_backend: bool = False,
        name: str = "hyperliquid-storage-writer",
    ) -> None:
        self._backend = backend
        self._config = config if config is not None else StorageConfig()
        self._events = events if events is not None else EventBus()
        self._owns_backend = owns_backend
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._buffer: collections.deque[_Item] = collections.deque()
        self._oldest: float | None = None
        self._inflight = 0
        self._accepted = 0
        self._completed = 0
        self._flush_target = 0
        self._closing = False
        self._abort = False
        self._closed = False
        self._submitted = 0
        self._written = 0
        self._rejected = 0
        self._dropped = 0
        self._retries = 0
        self._unlogged_drops = 0
        self._last_drop_log = 0.0
        self._rejections: collections.deque[InvalidRowError] = collections.deque(maxlen=100)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        atexit.register(self._atexit)

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"StorageWriter(backend={type(self._backend).__name__}, pending={s.pending}, written={s.written}, "
            f"dropped={s.dropped}, rejected={s.rejected}, closed={self._closed})"
        )

    def __enter__(self) -> StorageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- counters --------------------------------------------------------------------------------

    @property
    def backend(self) -> StorageBackend:
        """The backend rows are written to (use it for reads)."""
        return self._backend

    @property
    def config(self) -> StorageConfig:
        """The configuration in force."""
        return self._config

    @property
    def submitted(self) -> int:
        """Rows offered to :meth:`submit` (accepted or not)."""
        return self._submitted

    @property
    def written(self) -> int:
        """Rows the backend stored (a replay of a stored row counts: it is one row, upserted)."""
        return self._written

    @property
    def rejected(self) -> int:
        """Rows refused as invalid (bad shape or value)."""
        return self._rejected

    @property
    def dropped(self) -> int:
        """Rows that will never be stored because of the overflow policy or a close timeout."""
        return self._dropped

    @property
    def retries(self) -> int:
        """Backend write attempts that failed and were retried."""
        return self._retries

    @property
    def pending(self) -> int:
        """Rows buffered or being written."""
        with self._lock:
            return len(self._buffer) + self._inflight

    def stats(self) -> WriterStats:
        """A consistent snapshot of every counter."""
        with self._lock:
            return WriterStats(
                submitted=self._submitted,
                written=self._written,
                rejected=self._rejected,
                dropped=self._dropped,
                retries=self._retries,
                pending=len(self._buffer) + self._inflight,
            )

    def recent_rejections(self) -> list[InvalidRowError]:
        """The last (up to 100) rejected rows' errors, oldest first."""
        with self._lock:
            return list(self._rejections)

    # --- producers -------------------------------------------------------------------------------

    def submit(self, kind: str, row: Mapping[str, Any], *, user: str | None = None) -> bool:
        """Queue one wire ``row`` of ``kind`` (``user``: the owner, where the row lacks it).

        Returns ``True`` when queued, ``False`` when dropped by the ``"drop"`` policy.  With the
        ``"block"`` policy waits for room; raises :class:`StorageOverflowError` after
        ``block_timeout``.  Raises :class:`StorageError` for an unknown kind or a closed writer.
        The row is validated later, in the writer thread (see :attr:`rejected`).
        """
        result = self._offer(kind, row, user, wait=True)
        assert result is not None
        return result

    def submit_many(self, kind: str, rows: Iterable[Mapping[str, Any]], *, user: str | None = None) -> int:
        """:meth:`submit` each row; returns how many were queued."""
        return sum(1 for row in rows if self.submit(kind, row, user=user))

    async def asubmit(self, kind: str, row: Mapping[str, Any], *, user: str | None = None) -> bool:
        """Like :meth:`submit`, but waiting for room (``"block"`` policy) never blocks the event loop."""
        result = self._offer(kind, row, user, wait=False)
        if result is not None:
            return result
        return await asyncio.to_thread(self.submit, kind, row, user=user)

    def submit_http(self, request_type: str, response: Any, *, user: str | None = None) -> int:
        """Queue the storable rows of an info response (``request_type`` e.g. ``"userFills"``).

        ``user`` is the request's ``user`` parameter.  Returns the number of rows queued (``0``
        for a response type that holds nothing storable).
        """
        return sum(
            1
            for kind, row, owner in rows_from_http(request_type, response, user=user)
            if self.submit(kind, row, user=owner)
        )

    def submit_ws(self, channel: str, data: Any, *, user: str | None = None) -> int:
        """Queue the storable rows of one WebSocket message's ``data`` on ``channel``.

        ``user`` is the subscription's ``user`` (needed by channels whose data lack it, e.g.
        ``orderUpdates``).  Returns the number of rows queued.
        """
        return sum(
            1 for kind, row, owner in rows_from_ws(channel, data, user=user) if self.submit(kind, row, user=owner)
        )

    def _offer(self, kind: str, row: Any, user: str | None, *, wait: bool) -> bool | None:
        get_kind(kind)  # unknown kinds are a programming error: raise at once
        cfg = self._config
        drop_reason: str | None = None
        with self._lock:
            if self._closing:
                raise StorageError("storage writer is closed")
            if len(self._buffer) + self._inflight >= cfg.max_buffer:
                if cfg.overflow == "block" and not wait:
                    return None
                self._submitted += 1
                if cfg.overflow == "drop":
                    drop_reason = "buffer_full"
                else:
                    deadline = None if cfg.block_timeout is None else time.monotonic() + cfg.block_timeout
                    while len(self._buffer) + self._inflight >= cfg.max_buffer and not self._closing:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            break
                        self._room.wait(remaining)
                    if self._closing:
                        drop_reason = "closed"
                    elif len(self._buffer) + self._inflight >= cfg.max_buffer:
                        drop_reason = "block_timeout"
                if drop_reason is not None:
                    self._dropped += 1
                    if drop_reason == "buffer_full":  # summarised by _log_drops; others logged at once
                        self._unlogged_drops += 1
            else:
                self._submitted += 1
            if drop_reason is None:
                self._buffer.append((kind, row, user))
                self._accepted += 1
                n = len(self._buffer)
                if n == 1:
                    self._oldest = time.monotonic()
                    self._work.notify()
                elif n >= cfg.batch_size:
                    self._work.notify()
                return True
        self._announce_drop(kind, 1, drop_reason)
        if drop_reason == "buffer_full":
            return False
        if drop_reason == "closed":
            raise StorageError("storage writer closed while waiting for buffer room; row not stored")
        raise StorageOverflowError(
            f"storage buffer full ({cfg.max_buffer} rows) for {cfg.block_timeout}s; {kind} row not stored"
        )

    # --- flush / close ---------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row queued before this call is written, rejected or dropped.

        Returns ``False`` if ``timeout`` seconds passed first (the rows stay queued).
        """
        with self._lock:
            target = self._accepted
            self._flush_target = max(self._flush_target, target)
            self._work.notify()
            return self._done.wait_for(
                lambda: self._completed >= target or not self._thread.is_alive(), timeout=timeout
            ) and (self._completed >= target)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting rows, write everything buffered, stop the thread (idempotent).

        Without ``timeout`` waits as long as it takes (retrying while the database is down).
        With one, rows still unwritten after ``timeout`` seconds are dropped and reported
        (``storage.drop`` with ``reason="close_timeout"``, a warning log, :attr:`dropped`).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing = True
            self._work.notify_all()
            self._room.notify_all()
        atexit.unregister(self._atexit)
        self._thread.join(timeout)
        if self._thread.is_alive():
            with self._lock:
                self._abort = True
                self._work.notify_all()
            self._thread.join(60.0)
            if self._thread.is_alive():  # pragma: no cover - a backend call hung beyond its own timeouts
                log(_log, logging.ERROR, "storage writer thread did not stop", pending=self.pending)
        self._log_drops(force=True)
        if self._owns_backend:
            self._backend.close()

    def _atexit(self) -> None:  # pragma: no cover - runs at interpreter exit
        self.close(timeout=10.0)

    # --- the writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        cfg = self._config
        while True:
            self._log_drops()  # rate-limited summary of refused rows, outside the lock
            leftovers: list[_Item] = []
            batch: list[_Item] = []
            with self._lock:
                ready = False
                while not self._abort:
                    n = len(self._buffer)
                    now = time.monotonic()
                    if n and (
                        n >= cfg.batch_size
                        or self._closing
                        or self._flush_target > self._completed + self._inflight
                        or (self._oldest is not None and now - self._oldest >= cfg.flush_interval)
                    ):
                        ready = True
                        break
                    if not n and self._closing:
                        return
                    timeout: float | None = None
                    if n and self._oldest is not None:
                        timeout = max(0.0, self._oldest + cfg.flush_interval - now)
                    if self._unlogged_drops:
                        due = self._last_drop_log + _DROP_LOG_INTERVAL - now
                        if due <= 0:
                            break  # go and log the drops summary
                        timeout = due if timeout is None else min(timeout, due)
                    self._work.wait(timeout)
                if self._abort:
                    leftovers = list(self._buffer)
                    self._buffer.clear()
                    self._inflight += len(leftovers)
                elif ready:
                    take = min(len(self._buffer), cfg.batch_size)
                    batch = [self._buffer.popleft() for _ in range(take)]
                    self._inflight += take
                    self._oldest = time.monotonic() if self._buffer else None
            if self._abort:
                self._drop_items(leftovers, "close_timeout")
                return
            if batch:
                try:
                    self._process(batch)
                except Exception:  # pragma: no cover - defensive: the thread must survive bugs
                    _log.exception("storage writer failed to process a batch")

    def _process(self, batch: list[_Item]) -> None:
        started = time.monotonic()
        groups: dict[str, list[tuple[Any, str | None]]] = {}
        for kind_name, row, user in batch:
            groups.setdefault(kind_name, []).append((row, user))
        dropped_any = False
        for kind_name, items in groups.items():
            kind: Kind = KINDS[kind_name]
            records: list[tuple[Any, ...]] = []
            for row, user in items:
                try:
                    records.append(kind.normalize(row, user))
                except InvalidRowError as exc:
                    self._reject(exc)
                except Exception as exc:  # a row shape nobody anticipated
                    self._reject(InvalidRowError(kind.name, None, f"cannot be read ({exc!r})"))
            if records and not self._write_with_retry(kind, records):
                dropped_any = True
        self._events.emit("storage.flush", rows=len(batch), duration=time.monotonic() - started, ok=not dropped_any)

    def _write_with_retry(self, kind: Kind, records: list[tuple[Any, ...]]) -> bool:
        cfg = self._config
        attempt = 0
        while True:
            if self._abort:
                self._drop_records(kind.name, len(records), "close_timeout")
                return False
            try:
                result = self._backend.write_records(kind, records)
            except Exception as exc:
                attempt += 1
                delay = min(cfg.retry_max, cfg.retry_base * 2 ** min(attempt - 1, 30))
                with self._lock:
                    self._retries += 1
                error = str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, StorageUnavailableError):
                    _log.error("unexpected storage backend error (will retry)", exc_info=exc)
                self._events.emit("storage.retry", rows=len(records), attempt=attempt, delay=delay, error=error)
                log(
                    _log,
                    logging.WARNING,
                    "storage write failed, retrying",
                    kind=kind.name,
                    rows=len(records),
                    attempt=attempt,
                    delay=round(delay, 3),
                    error=error,
                )
                with self._lock:
                    self._work.wait_for(lambda: self._abort, timeout=delay)
                continue
            for rejection in result.rejected:
                self._reject(rejection.error, complete=False)
            with self._lock:
                self._written += result.written
                self._completed += len(records)
                self._inflight -= len(records)
                self._room.notify_all()
                self._done.notify_all()
            if result.written:
                self._events.emit("storage.write", kind=kind.name, rows=result.written)
            if attempt:
                log(_log, logging.INFO, "storage write succeeded after retries", kind=kind.name, attempts=attempt + 1)
            return True

    def _reject(self, error: InvalidRowError, *, complete: bool = True) -> None:
        with self._lock:
            self._rejected += 1
            self._rejections.append(error)
            if complete:
                self._completed += 1
                self._inflight -= 1
                self._room.notify_all()
                self._done.notify_all()
        self._events.emit("storage.reject", kind=error.kind, reason=str(error))
        log(_log, logging.WARNING, "storage row rejected", kind=error.kind, field=error.field, reason=error.reason)

    def _drop_items(self, items: list[_Item], reason: str) -> None:
        counts: dict[str, int] = {}
        for kind, _row, _user in items:
            counts[kind] = counts.get(kind, 0) + 1
        for kind, n in counts.items():
            self._drop_records(kind, n, reason)

    def _drop_records(self, kind: str, n: int, reason: str) -> None:
        """Rows already accepted that will not be stored (close timeout)."""
        with self._lock:
            self._dropped += n
            self._completed += n
            self._inflight -= n
            self._room.notify_all()
            self._done.notify_all()
        self._events.emit("storage.drop", kind=kind, rows=n, reason=reason)
        log(_log, logging.WARNING, "storage rows dropped", kind=kind, rows=n, reason=reason)

    def _announce_drop(self, kind: str, n: int, reason: str) -> None:
        self._events.emit("storage.drop", kind=kind, rows=n, reason=reason)
        if reason == "buffer_full":
            self._log_drops()
        else:
            log(_log, logging.WARNING, "storage row not stored", kind=kind, rows=n, reason=reason)

    def _log_drops(self, *, force: bool = False) -> None:
        """One warning per second at most summarising refused rows (and a final one on close)."""
        now = time.monotonic()
        with self._lock:
            n = self._unlogged_drops
            if not n or (not force and now - self._last_drop_log < _DROP_LOG_INTERVAL):
                return
            self._unlogged_drops = 0
            self._last_drop_log = now
            total = self._dropped
        log(
            _log,
            logging.WARNING,
            "storage buffer full: rows dropped",
            rows=n,
            total_dropped=total,
            reason="buffer_full",
            policy=self._config.overflow,
            max_buffer=self._config.max_buffer,
        )
