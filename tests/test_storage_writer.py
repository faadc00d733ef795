"""The batching writer: batching, flush/close, bad rows, overflow policies, the database going away."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from hyperliquid_client.runtime.errors import StorageError, StorageOverflowError
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.storage import (
    MemoryStorage,
    PostgresStorage,
    StorageConfig,
    StorageWriter,
    open_storage,
)

try:  # tests/ is not a package: pytest puts it on sys.path
    from pgcluster import PgCluster, pg_cluster, pg_dsn
except ImportError:  # pragma: no cover - if tests/ becomes a package
    from tests.pgcluster import PgCluster, pg_cluster, pg_dsn  # noqa: F401

USER = "0x" + "ab" * 20


def make_fill(i: int, **over: Any) -> dict[str, Any]:
    fill = {
        "coin": "ETH",
        "px": f"{3000 + (i % 1000)}.{i % 97:02d}",
        "sz": f"0.{i % 9973:04d}1",
        "side": "B" if i % 2 else "A",
        "time": 1_760_000_000_000 + i,
        "startPosition": "0.0",
        "dir": "Open Long",
        "closedPnl": "0.0",
        "hash": f"0x{i:064x}",
        "oid": 300_000_000_000 + i,
        "crossed": bool(i % 3),
        "fee": "0.0123",
        "tid": 500_000_000_000_000 + i,
        "feeToken": "USDC",
        "twapId": None,
    }
    fill.update(over)
    return fill


class Recorder:
    """Collects storage events (thread-safe)."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()
        bus.subscribe("storage.*", self._on)

    def _on(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def named(self, name: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.name == name]


def wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def invariant(w: StorageWriter) -> None:
    s = w.stats()
    assert s.submitted == s.written + s.rejected + s.dropped + s.pending, s


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def cluster(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    yield pg_cluster
    if not pg_cluster.running:  # never leave the shared server down
        pg_cluster.start()


def pg_count(dsn: str, sql: str = "SELECT count(*), count(DISTINCT fill_key) FROM hl_fills") -> tuple[Any, ...]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql.encode()).fetchone()
    assert row is not None
    return tuple(row)


# --- batching, flush, close (in memory) -------------------------------------------------------------


def test_batches_by_size(bus: EventBus) -> None:
    rec = Recorder(bus)
    be = MemoryStorage()
    w = StorageWriter(be, StorageConfig(batch_size=10, flush_interval=60.0), events=bus)
    try:
        for i in range(25):
            assert w.submit("fills", make_fill(i), user=USER)
        assert wait_until(lambda: w.written == 20)
        time.sleep(0.1)
        assert w.written == 20 and w.pending == 5  # the partial batch waits for its interval
        assert [e["rows"] for e in rec.named("storage.write")] == [10, 10]
        assert w.flush(5)
        assert w.written == 25 and be.count("fills") == 25
        assert [e["rows"] for e in rec.named("storage.write")] == [10, 10, 5]
        assert all(e["ok"] for e in rec.named("storage.flush"))
        invariant(w)
    finally:
        w.close()


def test_batches_by_time_without_flush() -> None:
    be = MemoryStorage()
    with StorageWriter(be, StorageConfig(batch_size=1000, flush_interval=0.2)) as w:
        started = time.monotonic()
        for i in range(3):
            w.submit("fills", make_fill(i), user=USER)
        assert wait_until(lambda: be.count("fills") == 3, timeout=5.0)
        assert time.monotonic() - started < 0.2 + 2.0  # interval + generous margin


def test_close_flushes_and_then_refuses(bus: EventBus) -> None:
    be = MemoryStorage()
    w = StorageWriter(be, StorageConfig(batch_size=64, flush_interval=30.0), events=bus)
    w.submit_many("fills", (make_fill(i) for i in range(1000)), user=USER)
    w.close()
    assert be.count("fills") == 1000 and w.written == 1000 and w.pending == 0
    with pytest.raises(StorageError, match="closed"):
        w.submit("fills", make_fill(1), user=USER)
    w.close()  # idempotent


def test_unknown_kind_raises_at_submit() -> None:
    with StorageWriter(MemoryStorage()) as w, pytest.raises(StorageError, match="unknown storage kind"):
        w.submit("fill", make_fill(1), user=USER)


def test_open_storage_defaults_to_memory() -> None:
    with open_storage() as w:
        assert isinstance(w.backend, MemoryStorage)
        w.submit("fills", make_fill(1), user=USER)
        assert w.flush(5)
        assert w.backend.read_fills(USER)[0]["tid"] == make_fill(1)["tid"]


# --- bad rows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", ["memory", "postgres"])
def test_bad_row_rejected_without_poisoning_its_batch(
    backend_name: str, request: pytest.FixtureRequest, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    be = MemoryStorage() if backend_name == "memory" else PostgresStorage(request.getfixturevalue("pg_dsn"))
    rec = Recorder(bus)
    rows = [make_fill(i) for i in range(10)]
    rows[4]["px"] = "12.3.4"
    del rows[7]["hash"]
    caplog.set_level(logging.WARNING, logger="hyperliquid_client.storage")
    with StorageWriter(be, StorageConfig(batch_size=100, flush_interval=30.0), events=bus, owns_backend=True) as w:
        for row in rows:
            w.submit("fills", row, user=USER)
        assert w.flush(10)
        assert (w.written, w.rejected) == (8, 2)
        stored = {s["tid"] for s in be.read_fills(USER)}
        assert stored == {r["tid"] for i, r in enumerate(rows) if i not in (4, 7)}
        rejects = rec.named("storage.reject")
        assert len(rejects) == 2 and {e["kind"] for e in rejects} == {"fills"}
        assert "'px'" in rejects[0]["reason"] and "12.3.4" in rejects[0]["reason"]
        assert "'hash'" in rejects[1]["reason"] and "missing" in rejects[1]["reason"]
        assert [e.field for e in w.recent_rejections()] == ["px", "hash"]
        assert [e["rows"] for e in rec.named("storage.write")] == [8]
        logged = [r for r in caplog.records if "rejected" in r.getMessage()]
        assert len(logged) == 2 and all(r.name == "hyperliquid_client.storage" for r in logged)
        invariant(w)


# --- the database going away ------------------------------------------------------------------------


def test_database_stopped_mid_stream_of_50000_rows_loses_and_duplicates_nothing(
    cluster: PgCluster,
    pg_dsn: str,
    bus: EventBus,
) -> None:
    total = 50_000
    rec = Recorder(bus)
    cfg = StorageConfig(
        dsn=pg_dsn, batch_size=1000, flush_interval=0.1, max_buffer=8000, retry_base=0.05, retry_max=0.4
    )
    w = open_storage(cfg, events=bus)
    produced = threading.Event()

    def produce() -> None:
        for i in range(total):
            w.submit("fills", make_fill(i), user=USER)  # "block" policy: waits while the buffer is full
        produced.set()

    producer = threading.Thread(target=produce)
    started = time.monotonic()
    producer.start()
    try:
        assert wait_until(lambda: w.written >= 10_000, timeout=30)
        cluster.stop()  # the database goes away in the middle of the stream
        stopped_at = w.written
        assert wait_until(lambda: len(rec.named("storage.retry")) >= 2, timeout=30)
        assert w.written < total and not produced.is_set()
        time.sleep(0.3)
        cluster.start()
        producer.join(60)
        assert not producer.is_alive()
        w.close()
    finally:
        if producer.is_alive():
            produced.wait(60)
        w.close()
    elapsed = time.monotonic() - started
    assert stopped_at < total
    assert w.retries >= 2 and w.dropped == 0 and w.rejected == 0
    assert w.written == total
    count, distinct = pg_count(pg_dsn)
    assert count == distinct == total
    tids = pg_count(pg_dsn, "SELECT min(tid), max(tid), count(DISTINCT tid) FROM hl_fills")
    assert tids == (500_000_000_000_000, 500_000_000_000_000 + total - 1, total)
    assert elapsed < 60


def test_drop_policy_counts_every_dropped_row(
    cluster: PgCluster,
    pg_dsn: str,
    bus: EventBus,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder(bus)
    caplog.set_level(logging.WARNING, logger="hyperliquid_client.storage")
    cfg = StorageConfig(
        dsn=pg_dsn, batch_size=10, flush_interval=0.05, max_buffer=40, overflow="drop", retry_base=0.05, retry_max=0.2
    )
    w = open_storage(cfg, events=bus)
    try:
        w.submit("fills", make_fill(0), user=USER)
        assert w.flush(10)  # connected and working
        with cluster.stopped():
            results = [w.submit("fills", make_fill(i), user=USER) for i in range(1, 501)]
            assert wait_until(lambda: len(rec.named("storage.retry")) >= 1)
        w.close()
    finally:
        w.close()
    accepted = sum(results)
    assert w.dropped == results.count(False) == 500 - accepted > 0
    assert sum(e["rows"] for e in rec.named("storage.drop")) == w.dropped
    assert {e["reason"] for e in rec.named("storage.drop")} == {"buffer_full"}
    count, _ = pg_count(pg_dsn)
    assert count == 501 - w.dropped == w.written
    logged = sum(r.hl["rows"] for r in caplog.records if r.getMessage().startswith("storage buffer full"))
    assert logged == w.dropped
    invariant(w)


def test_block_policy_times_out_with_overflow_error(
    cluster: PgCluster, pg_dsn: str, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder(bus)
    caplog.set_level(logging.WARNING, logger="hyperliquid_client.storage")
    cfg = StorageConfig(
        dsn=pg_dsn, batch_size=5, flush_interval=0.01, max_buffer=5, block_timeout=0.3, retry_base=0.05, retry_max=0.1
    )
    w = open_storage(cfg, events=bus)
    try:
        with cluster.stopped():
            for i in range(5):
                assert w.submit("fills", make_fill(i), user=USER)
            t0 = time.monotonic()
            with pytest.raises(StorageOverflowError, match="buffer full"):
                w.submit("fills", make_fill(5), user=USER)
            waited = time.monotonic() - t0
            assert 0.25 <= waited < 0.3 + 2.0
        w.close()
    finally:
        w.close()
    assert w.dropped == 1 and [e["reason"] for e in rec.named("storage.drop")] == ["block_timeout"]
    assert [r.hl["reason"] for r in caplog.records if r.getMessage().startswith("storage row not stored")] == [
        "block_timeout"
    ]
    assert pg_count(pg_dsn)[0] == 5 == w.written
    invariant(w)


def test_close_with_timeout_while_down_reports_what_it_drops(cluster: PgCluster, pg_dsn: str, bus: EventBus) -> None:
    rec = Recorder(bus)
    cfg = StorageConfig(dsn=pg_dsn, batch_size=8, flush_interval=0.01, retry_base=0.05, retry_max=0.1)
    w = open_storage(cfg, events=bus)
    with cluster.stopped():
        for i in range(20):
            w.submit("fills", make_fill(i), user=USER)
        assert not w.flush(0.3)  # cannot complete while the database is down
        w.close(timeout=0.3)
        assert w.dropped == 20 and w.written == 0 and w.pending == 0
        drops = rec.named("storage.drop")
        assert sum(e["rows"] for e in drops) == 20 and {e["reason"] for e in drops} == {"close_timeout"}
        assert not rec.named("storage.flush")[-1]["ok"]
    invariant(w)


async def test_asubmit_never_blocks_the_event_loop(cluster: PgCluster, pg_dsn: str) -> None:
    cfg = StorageConfig(dsn=pg_dsn, batch_size=4, flush_interval=0.01, max_buffer=4, retry_base=0.05, retry_max=0.1)
    w = open_storage(cfg)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    try:
        await asyncio.to_thread(cluster.stop)
        for i in range(4):
            assert await w.asubmit("fills", make_fill(i), user=USER)
        blocked = asyncio.create_task(w.asubmit("fills", make_fill(4), user=USER))
        before = ticks
        await asyncio.sleep(0.5)
        assert not blocked.done()  # waiting for room ...
        assert ticks - before >= 10  # ... while the loop keeps running
        await asyncio.to_thread(cluster.start)
        assert await asyncio.wait_for(blocked, 30)
        assert await asyncio.to_thread(w.flush, 30)
    finally:
        stop.set()
        await tick_task
        await asyncio.to_thread(w.close)
    assert w.written == 5 and pg_count(pg_dsn)[0] == 5


def test_stream_feed_never_waits_keeps_order_and_reports_overflow(
    cluster: PgCluster, pg_dsn: str, bus: EventBus
) -> None:
    """A feed (a socket's hand-off) while the database is down: nothing waits; rows beyond the buffer
    wait in the feed's backlog in arrival order (a last-wins candle ends at the last kept update); past
    the backlog's bound rows are dropped and reported; after close they are dropped, not raised."""
    rec = Recorder(bus)
    cfg = StorageConfig(dsn=pg_dsn, batch_size=5, flush_interval=0.01, max_buffer=5, retry_base=0.05, retry_max=0.1)
    w = open_storage(cfg, events=bus)

    def candle(close: int) -> dict[str, Any]:
        return {
            "t": 1_760_000_040_000,
            "T": 1_760_000_099_999,
            "s": "BTC",
            "i": "1m",
            "o": "1",
            "c": str(close),
            "h": "20",
            "l": "1",
            "v": "1.5",
            "n": close,
        }

    feed = w.feed("candle BTC 1m")
    try:
        with cluster.stopped():
            kept = [feed.submit("candles", candle(c)) for c in range(1, 13)]
            assert kept == [True] * 10 + [False] * 2  # 5 in the buffer, 5 in the backlog, 2 over
            assert feed.backlog == 5 and w.pending == 10
            invariant(w)
        assert w.flush(30)
        assert w.written == 10 and w.dropped == 2 and w.pending == 0 and feed.backlog == 0
        (stored,) = w.backend.read_candles("BTC", "1m")
        assert stored.raw["c"] == "10"  # the updates were written in the order they arrived
    finally:
        w.close()
    assert feed.submit("candles", candle(13)) is False  # after close: dropped, never raised at the reader
    drops = rec.named("storage.drop")
    assert [(e["reason"], e["rows"]) for e in drops] == [("backlog_full", 1), ("backlog_full", 1), ("closed", 1)]
    invariant(w)
