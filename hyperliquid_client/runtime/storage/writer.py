"""The batching writer: producers submit wire rows, a background thread writes them in batches.

* **Batching** — a batch is written when ``batch_size`` rows are waiting, or ``flush_interval``
  seconds after the oldest waiting row arrived, or on :meth:`StorageWriter.flush` /
  :meth:`StorageWriter.close`.  Each kind in a batch is one backend write (one transaction).
* **Bounded buffer** — at most ``max_buffer`` rows are held (waiting + being written).
* **Database slow or down** — the batch being written is kept and retried with exponential
  backoff (``storage.retry`` event, warning log) until it succeeds; meanwhile producers keep
  filling the buffer up to the bound.
* **At the bound** — ``overflow="block"`` makes :meth:`~StorageWriter.submit` wait for room
  (bounded by ``block_timeout``: then :class:`~hyperliquid_client.runtime.errors.StorageOverflowError`;
  :meth:`~StorageWriter.asubmit` suspends only its task); ``overflow="drop"`` refuses the new row at
  once.  A stream (:class:`StreamFeed`) never waits: its rows wait in its own bounded backlog.
  Either way a row that will not be stored is counted (:attr:`~StorageWriter.dropped`), announced
  (``storage.drop`` event) and logged (a warning right away, then at most one summary record per
  second while drops continue).
* **Bad rows** — validated in the writer thread; a bad row is rejected on its own
  (:attr:`~StorageWriter.rejected`, ``storage.reject`` event, warning log, and
  :meth:`~StorageWriter.recent_rejections`) and the rest of its batch is written.
* **Close** — :meth:`~StorageWriter.close` flushes everything.  With a ``timeout``, rows still
  unwritten when it expires (database down or hanging) are dropped *and reported* as such, and a
  write in progress is interrupted (:meth:`PostgresStorage.interrupt`), so ``close`` is bounded.

Invariant, at any moment: ``submitted == written + rejected + dropped + pending``.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
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

__all__ = ["StorageWriter", "StreamFeed", "WriterStats"]

_log = get_logger("hyperliquid_client.storage")
_DROP_LOG_INTERVAL = 1.0
#: How long :meth:`StorageWriter.close` waits for an interrupted write to give up before it stops waiting.
_ABORT_GRACE = 1.0
_QUEUED = "queued"
#: Drop reasons that can come in floods: logged as a summary at most once a second.
_SUMMARISED = frozenset({"buffer_full", "backlog_full"})
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
        self._unlogged_drops: collections.Counter[str] = collections.Counter()
        self._last_drop_log = 0.0
        self._close_dropped: collections.Counter[str] = collections.Counter()
        self._inflight_kinds: collections.Counter[str] = collections.Counter()
        self._feeds: dict[int, StreamFeed] = {}  # feeds with a backlog, in the order they started one
        self._backlog = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._abandoned = False
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
        """Rows buffered, being written, or waiting in a stream feed's backlog."""
        with self._lock:
            return len(self._buffer) + self._inflight + self._backlog

    def stats(self) -> WriterStats:
        """A consistent snapshot of every counter."""
        with self._lock:
            return WriterStats(
                submitted=self._submitted,
                written=self._written,
                rejected=self._rejected,
                dropped=self._dropped,
                retries=self._retries,
                pending=len(self._buffer) + self._inflight + self._backlog,
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
        get_kind(kind)  # unknown kinds are a programming error: raise at once
        item: _Item = (kind, row, user)
        deadline = self._block_deadline()
        with self._lock:
            outcome, remaining = self._attempt(item, first=True, deadline=deadline)
            while outcome is None:
                self._room.wait(remaining)
                outcome, remaining = self._attempt(item, first=False, deadline=deadline)
        return self._report(kind, outcome)

    def submit_many(self, kind: str, rows: Iterable[Mapping[str, Any]], *, user: str | None = None) -> int:
        """:meth:`submit` each row; returns how many were queued."""
        return sum(1 for row in rows if self.submit(kind, row, user=user))

    async def asubmit(self, kind: str, row: Mapping[str, Any], *, user: str | None = None) -> bool:
        """Like :meth:`submit`, but waiting for room (``"block"`` policy) suspends the calling task only:
        the event loop keeps running, and no thread is held while waiting."""
        get_kind(kind)
        item: _Item = (kind, row, user)
        deadline = self._block_deadline()
        loop = asyncio.get_running_loop()
        first = True
        while True:
            with self._lock:
                outcome, remaining = self._attempt(item, first=first, deadline=deadline)
                if outcome is None:
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.append(waiter)
            if outcome is not None:
                return self._report(kind, outcome)
            first = False
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                pass  # the next round refuses the row (block_timeout)
            finally:
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)

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

    async def asubmit_http(self, request_type: str, response: Any, *, user: str | None = None) -> int:
        """:meth:`submit_http` for coroutines: waiting for room suspends the caller, never the loop."""
        queued = 0
        for kind, row, owner in rows_from_http(request_type, response, user=user):
            if await self.asubmit(kind, row, user=owner):
                queued += 1
        return queued

    def submit_ws(self, channel: str, data: Any, *, user: str | None = None) -> int:
        """Queue the storable rows of one WebSocket message's ``data`` on ``channel``.

        ``user`` is the subscription's ``user`` (needed by channels whose data lack it, e.g.
        ``orderUpdates``).  Returns the number of rows queued.  This waits for room like
        :meth:`submit`; a socket's reader uses a :meth:`feed` instead, which never waits.
        """
        return sum(
            1 for kind, row, owner in rows_from_ws(channel, data, user=user) if self.submit(kind, row, user=owner)
        )

    def feed(self, name: str) -> StreamFeed:
        """A producer that never waits, for one stream (a ``store=True`` subscription): see :class:`StreamFeed`."""
        return StreamFeed(self, name)

    def _block_deadline(self) -> float | None:
        timeout = self._config.block_timeout
        return None if timeout is None else time.monotonic() + timeout

    def _full(self) -> bool:
        return len(self._buffer) + self._inflight >= self._config.max_buffer

    def _attempt(self, item: _Item, *, first: bool, deadline: float | None) -> tuple[str | None, float | None]:
        """With the lock held: ``(outcome, None)`` (see :meth:`_place`), or ``(None, seconds)`` one may wait
        for room (``None``: no limit); past ``deadline`` the row is refused (``block_timeout``)."""
        outcome = self._place(item, first=first)
        if outcome is not None:
            return outcome, None
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return self._refuse(item[0], "block_timeout"), None
        return None, remaining

    def _place(self, item: _Item, *, first: bool) -> str | None:
        """With the lock held: queue ``item`` (``"queued"``), refuse it (the drop reason) or ``None``: wait."""
        if self._closing:
            if first:
                raise StorageError("storage writer is closed")
            return self._refuse(item[0], "closed")
        if not self._full():
            self._submitted += 1
            self._accept(item)
            return _QUEUED
        if self._config.overflow == "drop":
            return self._refuse(item[0], "buffer_full")
        return None

    def _accept(self, item: _Item) -> None:
        self._buffer.append(item)
        self._accepted += 1
        n = len(self._buffer)
        if n == 1:
            self._oldest = time.monotonic()
            self._work.notify()
        elif n >= self._config.batch_size:
            self._work.notify()

    def _refuse(self, kind: str, reason: str) -> str:
        """With the lock held: count one offered row that will not be stored."""
        self._submitted += 1
        self._dropped += 1
        if reason in _SUMMARISED:
            self._unlogged_drops[reason] += 1
        return reason

    def _report(self, kind: str, outcome: str) -> bool:
        if outcome == _QUEUED:
            return True
        self._announce_drop(kind, 1, outcome)
        if outcome in _SUMMARISED:
            return False
        if outcome == "closed":
            raise StorageError("storage writer closed while waiting for buffer room; row not stored")
        raise StorageOverflowError(
            f"storage buffer full ({self._config.max_buffer} rows) for {self._config.block_timeout}s; "
            f"{kind} row not stored"
        )

    def _feed_offer(self, feed: StreamFeed, item: _Item) -> bool:
        """One row from a stream: queued now, or kept in the feed's backlog, or dropped — never waits."""
        get_kind(item[0])
        with self._lock:
            if self._closing:
                outcome = self._refuse(item[0], "closed")
            elif not feed._rows and not self._full():
                self._submitted += 1
                self._accept(item)
                outcome = _QUEUED
            elif self._config.overflow == "drop":
                outcome = self._refuse(item[0], "buffer_full")
            elif len(feed._rows) >= self._config.max_buffer:
                outcome = self._refuse(item[0], "backlog_full")
            else:
                self._submitted += 1
                feed._rows.append(item)
                feed._entered += 1
                self._backlog += 1
                self._feeds[id(feed)] = feed
                outcome = _QUEUED
        if outcome == _QUEUED:
            return True
        self._announce_drop(item[0], 1, outcome)
        return False

    def _freed(self) -> None:
        """With the lock held: room (or progress) appeared — move backlogged stream rows in, wake waiters."""
        while self._feeds and not self._full():
            for key, feed in list(self._feeds.items()):
                if self._full():
                    break
                self._accept(feed._rows.popleft())
                feed._left += 1
                self._backlog -= 1
                if not feed._rows:
                    del self._feeds[key]
        self._room.notify_all()
        self._done.notify_all()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits any more
                waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    # --- flush / close ---------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row queued before this call is written, rejected or dropped.

        Returns ``False`` if ``timeout`` seconds passed first (the rows stay queued).
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        with self._lock:
            # rows still in stream backlogs enter the buffer (in order) before they can be written
            marks = [(feed, feed._entered) for feed in self._feeds.values()]
            if marks and not self._done.wait_for(
                lambda: all(f._left >= m for f, m in marks) or not self._thread.is_alive(), timeout=left()
            ):
                return False
            target = self._accepted
            self._flush_target = max(self._flush_target, target)
            self._work.notify()
            return self._done.wait_for(
                lambda: self._completed >= target or not self._thread.is_alive(), timeout=left()
            ) and (self._completed >= target)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting rows, write everything buffered, stop the thread (idempotent).

        Without ``timeout`` waits as long as it takes (retrying while the database is down).
        With one, rows still unwritten after ``timeout`` seconds are dropped and reported
        (``storage.drop`` events with ``reason="close_timeout"``, one warning log with the
        count, :attr:`dropped`); a write still in progress then is interrupted, so ``close``
        returns within about ``timeout + 1`` seconds even while the database hangs.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing = True
            self._work.notify_all()
            self._freed()  # wake producers waiting for room: they are refused ("closed")
        atexit.unregister(self._atexit)
        self._thread.join(timeout)
        if self._thread.is_alive():
            with self._lock:
                self._abort = True
                self._work.notify_all()
            interrupt = getattr(self._backend, "interrupt", None)
            if callable(interrupt):
                interrupt()  # a write stuck on a hung database fails now
            self._thread.join(_ABORT_GRACE)
            if self._thread.is_alive():
                self._abandon()
        self._log_drops(force=True)
        with self._lock:
            not_written, self._close_dropped = self._close_dropped, collections.Counter()
        if not_written:
            log(
                _log,
                logging.WARNING,
                "storage closed before every row was written",
                rows=sum(not_written.values()),
                reason="close_timeout",
                kinds=dict(not_written),
                timeout=timeout,
            )
        if self._owns_backend:
            self._backend.close()

    def _abandon(self) -> None:
        """The writer thread is stuck in a backend call that ignores :meth:`interrupt`: stop waiting for it
        and account for every row it still holds as dropped (whatever it does later is ignored)."""
        with self._lock:
            self._abandoned = True
            counts = collections.Counter(self._inflight_kinds)
            counts.update(kind for kind, _row, _user in self._buffer)
            for feed in self._feeds.values():
                counts.update(kind for kind, _row, _user in feed._rows)
                feed._left += len(feed._rows)
                feed._rows.clear()
            self._buffer.clear()
            self._feeds.clear()
            self._backlog = 0
            n = sum(counts.values())
            self._dropped += n
            self._completed = self._accepted
            self._inflight = 0
            self._inflight_kinds.clear()
            self._close_dropped.update(counts)
            self._freed()
        log(_log, logging.ERROR, "storage writer thread did not stop; its rows are reported dropped", rows=n)
        for kind, k in counts.items():
            self._events.emit("storage.drop", kind=kind, rows=k, reason="close_timeout")

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
                    if not n and not self._backlog and self._closing:
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
                    if self._abandoned:
                        return
                    leftovers = list(self._buffer)
                    self._buffer.clear()
                    for feed in self._feeds.values():
                        leftovers.extend(feed._rows)
                        feed._left += len(feed._rows)
                        feed._rows.clear()
                    self._feeds.clear()
                    self._accepted += self._backlog  # backlogged rows count as taken, then dropped
                    self._backlog = 0
                    self._inflight += len(leftovers)
                    self._inflight_kinds.update(kind for kind, _row, _user in leftovers)
                elif ready:
                    take = min(len(self._buffer), cfg.batch_size)
                    batch = [self._buffer.popleft() for _ in range(take)]
                    self._inflight += take
                    self._inflight_kinds.update(kind for kind, _row, _user in batch)
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
                if self._abort:  # interrupted by close(timeout): not worth a retry
                    self._drop_records(kind.name, len(records), "close_timeout")
                    return False
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
                if self._abandoned:
                    return False
                self._written += result.written
                self._finish(kind.name, len(records))
            if result.written:
                self._events.emit("storage.write", kind=kind.name, rows=result.written)
            if attempt:
                log(_log, logging.INFO, "storage write succeeded after retries", kind=kind.name, attempts=attempt + 1)
            return True

    def _finish(self, kind: str, n: int) -> None:
        """With the lock held: ``n`` in-flight rows of ``kind`` are done (written, rejected or dropped)."""
        self._completed += n
        self._inflight -= n
        self._inflight_kinds[kind] -= n
        self._freed()

    def _reject(self, error: InvalidRowError, *, complete: bool = True) -> None:
        with self._lock:
            if self._abandoned:
                return
            self._rejected += 1
            self._rejections.append(error)
            if complete:  # otherwise part of a batch its writer completes
                self._finish(error.kind, 1)
        self._events.emit("storage.reject", kind=error.kind, reason=str(error))
        log(_log, logging.WARNING, "storage row rejected", kind=error.kind, field=error.field, reason=error.reason)

    def _drop_items(self, items: list[_Item], reason: str) -> None:
        counts: dict[str, int] = {}
        for kind, _row, _user in items:
            counts[kind] = counts.get(kind, 0) + 1
        for kind, n in counts.items():
            self._drop_records(kind, n, reason)

    def _drop_records(self, kind: str, n: int, reason: str) -> None:
        """Rows already accepted that will not be stored (close timeout): counted, announced, and
        summarised in one warning when :meth:`close` returns."""
        with self._lock:
            if self._abandoned:
                return
            self._dropped += n
            self._close_dropped[kind] += n
            self._finish(kind, n)
        self._events.emit("storage.drop", kind=kind, rows=n, reason=reason)

    def _announce_drop(self, kind: str, n: int, reason: str) -> None:
        self._events.emit("storage.drop", kind=kind, rows=n, reason=reason)
        if reason in _SUMMARISED:
            self._log_drops()
        else:
            log(_log, logging.WARNING, "storage row not stored", kind=kind, rows=n, reason=reason)

    def _log_drops(self, *, force: bool = False) -> None:
        """One warning per second at most summarising refused rows, per reason (and a final one on close)."""
        now = time.monotonic()
        with self._lock:
            if not self._unlogged_drops or (not force and now - self._last_drop_log < _DROP_LOG_INTERVAL):
                return
            counts, self._unlogged_drops = self._unlogged_drops, collections.Counter()
            self._last_drop_log = now
            total = self._dropped
        for reason, n in counts.items():
            log(
                _log,
                logging.WARNING,
                "storage buffer full: rows dropped",
                rows=n,
                total_dropped=total,
                reason=reason,
                policy=self._config.overflow,
                max_buffer=self._config.max_buffer,
            )


class StreamFeed:
    """Hands one stream's rows to a :class:`StorageWriter` without ever waiting (``writer.feed(name)``).

    A WebSocket reader must never wait for the database: one stalled subscription would stall every
    other subscription on the socket.  Rows are queued like :meth:`StorageWriter.submit` while the
    buffer has room.  When it is full:

    * ``overflow="block"``: rows wait in this feed's own backlog, in arrival order, and enter the buffer
      as room appears (before any row that arrives later on this feed).  The backlog holds at most
      ``max_buffer`` rows; beyond that a new row is dropped (``storage.drop``, ``reason="backlog_full"``).
    * ``overflow="drop"``: the row is dropped at once (``reason="buffer_full"``), as for any producer.

    After the writer is closed rows are dropped (``reason="closed"``), never raised at the reader.
    Backlogged rows are pending rows: :meth:`StorageWriter.flush` waits for them, the counters include them.
    """

    def __init__(self, writer: StorageWriter, name: str) -> None:
        self.name = name
        self._writer = writer
        self._rows: collections.deque[_Item] = collections.deque()
        self._entered = 0
        self._left = 0

    def __repr__(self) -> str:
        return f"StreamFeed({self.name!r}, backlog={self.backlog})"

    @property
    def backlog(self) -> int:
        """Rows waiting in this feed for room in the writer's buffer."""
        return len(self._rows)

    def submit(self, kind: str, row: Mapping[str, Any], *, user: str | None = None) -> bool:
        """Queue one wire ``row``; ``False`` when it was dropped (see the class docs).  Never waits."""
        return self._writer._feed_offer(self, (kind, row, user))

    def submit_ws(self, channel: str, data: Any, *, user: str | None = None) -> int:
        """Queue the storable rows of one message's ``data`` on ``channel``; returns how many were kept."""
        return sum(
            1 for kind, row, owner in rows_from_ws(channel, data, user=user) if self.submit(kind, row, user=owner)
        )


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
