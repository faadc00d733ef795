"""Storage under faults, on a real PostgreSQL: nothing stalls the client, nothing is lost without a word.

* a full buffer never freezes the event loop (``AsyncClient``) nor the WebSocket reader;
* a database that refuses writes for a while (read-only, privileges revoked) is an outage, not bad rows;
* a schema given in the DSN (``options=-csearch_path=...``) is where rows go;
* a database that hangs (every server process ``SIGSTOP``-ed) is detected client-side, and closing is bounded;
* ``application_name`` is a name, never server options.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from pgcluster import PgCluster, pg_cluster, pg_dsn  # noqa: F401 - fixtures
from test_storage_writer import Recorder, wait_until
from test_storage_writer import make_fill as fill

import hyperliquid_client.client
from hyperliquid_client.client import AsyncClient, Client, ClientConfig
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.storage import PostgresStorage, StorageConfig, apply_migrations, open_storage
from hyperliquid_client.runtime.ws import Message
from hyperliquid_client.testing import FakeExchange

USER = "0x" + "ab" * 20
FAST_RETRY = {"retry_base": 0.05, "retry_max": 0.2, "flush_interval": 0.05}


def trade(coin: str, i: int) -> dict[str, Any]:
    return {
        "coin": coin,
        "side": "B",
        "px": "100.5",
        "sz": "1",
        "time": 1_760_000_000_000 + i,
        "hash": f"0x{i:064x}",
        "tid": 700_000_000_000 + i,
        "users": ["0x" + "11" * 20, "0x" + "22" * 20],
    }


def dbname(dsn: str) -> str:
    return dsn.rsplit("dbname=", 1)[1]


@pytest.fixture
def admin(pg_cluster: PgCluster, pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:  # noqa: F811
    """A superuser connection to the test's database."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


# --- 1. a full buffer never freezes the event loop ---------------------------------------------------


async def test_full_buffer_never_stalls_the_event_loop(pg_cluster: PgCluster, pg_dsn: str) -> None:  # noqa: F811
    """4 ``info.user_fills`` of 500 fills each into a 1,000-row buffer while PostgreSQL is down for 3 s:
    the calls wait for room (the ``block`` policy), the loop keeps running."""
    storage = StorageConfig(dsn=pg_dsn, max_buffer=1000, **FAST_RETRY)
    users = [f"0x{n:040x}" for n in range(1, 5)]
    with FakeExchange() as fx:
        fx.set_info("userFills", [fill(i) for i in range(500)])
        async with AsyncClient(http_url=fx.http_url, config=ClientConfig(warm=False, storage=storage)) as client:
            assert client.storage is not None
            pg_cluster.stop()
            restart = threading.Timer(3.0, pg_cluster.start)
            gaps: list[float] = []

            async def ticker() -> None:
                last = time.monotonic()
                while True:
                    await asyncio.sleep(0.02)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            ticking = asyncio.create_task(ticker())
            restart.start()
            try:
                answers = await asyncio.wait_for(
                    asyncio.gather(*(client.info.user_fills(u) for u in users)), timeout=60
                )
            finally:
                restart.join()
                ticking.cancel()
            assert [len(a) for a in answers] == [500] * 4
            assert gaps and max(gaps) < 1.0, f"event loop stalled {max(gaps):.1f} s"
            assert await asyncio.to_thread(client.storage.flush, 30)
            stats = client.storage.stats()
            assert (stats.written, stats.dropped, stats.rejected) == (2000, 0, 0)


# --- 2. a full buffer never stalls the WebSocket reader ------------------------------------------------


def test_full_buffer_never_stalls_other_subscriptions(pg_cluster: PgCluster, pg_dsn: str) -> None:  # noqa: F811
    """300 BTC trades stored (buffer 100, PostgreSQL down), then one ETH trade on a plain subscription:
    the ETH trade arrives at once; the BTC rows that do not fit are dropped and reported."""
    storage = StorageConfig(dsn=pg_dsn, max_buffer=100, **FAST_RETRY)
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False, storage=storage)) as client:
        assert client.storage is not None
        rec = Recorder(client.events)
        btc = client.streams.trades("BTC", store=True)
        eth = client.streams.trades("ETH")
        assert wait_until(lambda: len([s for _, s in fx.ws_subscriptions if s.get("type") == "trades"]) == 2)
        pg_cluster.stop()
        try:
            for i in range(300):
                fx.publish({"type": "trades", "coin": "BTC"}, [trade("BTC", i)])
            fx.publish({"type": "trades", "coin": "ETH"}, [trade("ETH", 0)])
            sent = time.monotonic()
            item = eth.get(timeout=30)
            delay = time.monotonic() - sent
            assert isinstance(item, Message) and item.data[0].coin == "ETH"
            assert delay < 2.0, f"ETH trade arrived {delay:.1f} s late"
            got = 0
            while got < 300:  # the stored subscription itself is delivered too
                msg = btc.get(timeout=10)
                if isinstance(msg, Message):
                    got += len(msg.data)
        finally:
            pg_cluster.start()
        assert client.storage.flush(timeout=30)
        stats = client.storage.stats()
        assert stats.submitted == 300 and stats.pending == 0 and stats.rejected == 0
        assert stats.written + stats.dropped == 300
        assert stats.written >= 100  # what the buffer held was kept through the outage
        drops = rec.named("storage.drop")
        assert sum(e.fields["rows"] for e in drops) == stats.dropped
        assert {e.fields["reason"] for e in drops} <= {"backlog_full"}
        assert client.storage.backend.count("trades") == stats.written
        btc.close()
        eth.close()


# --- 3. refusals by the database's state are outages, not bad rows ------------------------------------


def test_read_only_database_is_retried_not_rejected(pg_dsn: str, admin: psycopg.Connection[Any]) -> None:  # noqa: F811
    admin.execute(f'ALTER DATABASE "{dbname(pg_dsn)}" SET default_transaction_read_only = on')
    bus = EventBus()
    rec = Recorder(bus)
    try:
        with open_storage(StorageConfig(dsn=pg_dsn, **FAST_RETRY), events=bus) as writer:
            writer.submit_many("fills", [fill(i) for i in range(1000)], user=USER)
            assert wait_until(lambda: len(rec.named("storage.retry")) >= 3)
            admin.execute(f'ALTER DATABASE "{dbname(pg_dsn)}" RESET default_transaction_read_only')
            assert writer.flush(timeout=30)
            stats = writer.stats()
            assert (stats.written, stats.rejected, stats.dropped) == (1000, 0, 0)
            assert "25006" in rec.named("storage.retry")[0].fields["error"]
            assert writer.backend.count("fills") == 1000
    finally:
        admin.execute(f'ALTER DATABASE "{dbname(pg_dsn)}" RESET default_transaction_read_only')


def test_revoked_insert_privilege_is_retried_until_granted_back(
    pg_dsn: str,  # noqa: F811
    admin: psycopg.Connection[Any],
) -> None:
    role = "hlw_" + uuid.uuid4().hex[:10]
    admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        admin.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
        admin.execute(f"REVOKE INSERT ON hl_fills FROM {role}")
        bus = EventBus()
        rec = Recorder(bus)
        dsn = pg_dsn.replace("user=postgres", f"user={role}")
        with open_storage(StorageConfig(dsn=dsn, **FAST_RETRY), events=bus) as writer:
            writer.submit_many("fills", [fill(i) for i in range(1000)], user=USER)
            assert wait_until(lambda: len(rec.named("storage.retry")) >= 3)
            assert writer.stats().rejected == 0
            admin.execute(f"GRANT INSERT ON hl_fills TO {role}")
            assert writer.flush(timeout=30)
            stats = writer.stats()
            assert (stats.written, stats.rejected, stats.dropped) == (1000, 0, 0)
            assert "42501" in rec.named("storage.retry")[0].fields["error"]
    finally:
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE {role}")


def test_a_row_the_database_refuses_is_still_rejected_alone(pg_dsn: str, admin: psycopg.Connection[Any]) -> None:  # noqa: F811
    """The other side of the line: a constraint violation (SQLSTATE class 23) is that row's fault."""
    admin.execute("ALTER TABLE hl_fills ADD CONSTRAINT small_px CHECK (px < 3500)")
    with open_storage(StorageConfig(dsn=pg_dsn, **FAST_RETRY)) as writer:
        writer.submit_many("fills", [fill(i) for i in range(400, 600)], user=USER)  # px 3400.5 .. 3599.5
        assert writer.flush(timeout=30)
        stats = writer.stats()
        assert (stats.written, stats.rejected, stats.retries) == (100, 100, 0)


# --- 4. a schema given in the DSN --------------------------------------------------------------------


@pytest.mark.parametrize("form", ["keywords", "url"])
@pytest.mark.parametrize("migrate", ["command", "config"])
def test_schema_in_the_dsn_is_where_rows_go(pg_cluster: PgCluster, form: str, migrate: str) -> None:  # noqa: F811
    """The documented set-up: ``options=-csearch_path=hl``, migrate, write, read — all in schema ``hl``."""
    base = pg_cluster.create_database()
    try:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA hl")
        if form == "keywords":
            dsn = base + " options=-csearch_path=hl"
        else:
            dsn = (
                f"postgresql://{pg_cluster.superuser}@127.0.0.1:{pg_cluster.port}/{dbname(base)}"
                f"?options={quote('-csearch_path=hl')}"
            )
        if migrate == "command":
            assert apply_migrations(dsn)
        with open_storage(StorageConfig(dsn=dsn, migrate=migrate == "config", **FAST_RETRY)) as writer:
            writer.submit_many("fills", [fill(i) for i in range(10)], user=USER)
            assert writer.flush(timeout=15)
            assert writer.stats().written == 10
            assert len(writer.backend.read_fills(USER)) == 10
        with psycopg.connect(base) as conn:
            assert conn.execute("SELECT count(*) FROM hl.hl_fills").fetchone() == (10,)
            assert conn.execute("SELECT to_regclass('public.hl_fills')").fetchone() == (None,)
    finally:
        pg_cluster.drop_database(base)


# --- 5. a database that hangs ------------------------------------------------------------------------


def test_a_hung_database_is_detected_client_side(pg_cluster: PgCluster, pg_dsn: str) -> None:  # noqa: F811
    """Every server process stopped mid-stream: the write gives up after the client-side deadline and is
    retried; once the server resumes, every row is written."""
    bus = EventBus()
    rec = Recorder(bus)
    cfg = StorageConfig(dsn=pg_dsn, statement_timeout=1.0, connect_timeout=1.0, **FAST_RETRY)
    with open_storage(cfg, events=bus) as writer:
        writer.submit("fills", fill(0), user=USER)
        assert writer.flush(timeout=15)
        with pg_cluster.frozen():
            writer.submit_many("fills", [fill(i) for i in range(1, 11)], user=USER)
            assert wait_until(lambda: rec.named("storage.retry"), timeout=20), "the hung write never gave up"
        assert writer.flush(timeout=30)
        assert writer.stats().written == 11


def test_client_close_is_bounded_while_the_database_hangs(
    pg_cluster: PgCluster,  # noqa: F811
    pg_dsn: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``client.close()`` with the database stopped (SIGSTOP) mid-write: it returns within the storage
    close timeout plus a second, and says how many rows were not written."""
    close_timeout = 1.0
    monkeypatch.setattr(hyperliquid_client.client, "STORAGE_CLOSE_TIMEOUT", close_timeout)
    fills = [fill(i) for i in range(1, 21)]
    with FakeExchange() as fx:
        fx.set_info("userFills", fills)
        storage = StorageConfig(dsn=pg_dsn, flush_interval=0.05)
        client = Client(http_url=fx.http_url, config=ClientConfig(warm=False, storage=storage))
        assert client.storage is not None
        rec = Recorder(client.events)
        client.storage.submit("fills", fill(0), user=USER)
        assert client.storage.flush(timeout=15)  # the connection is open
        caplog.set_level(logging.WARNING, logger="hyperliquid_client.storage")
        closer = threading.Thread(target=client.close, daemon=True)
        with pg_cluster.frozen():
            client.info.user_fills(USER)
            time.sleep(0.3)  # let the writer start writing them (not an assertion: close must be bounded anyway)
            started = time.monotonic()
            closer.start()
            closer.join(20)
            elapsed = time.monotonic() - started
            returned = not closer.is_alive()
        closer.join(60)
        assert returned, "client.close() did not return while the database hung"
        assert elapsed < close_timeout + 2.0, f"close took {elapsed:.1f} s"
        stats = client.storage.stats()
        assert (stats.written, stats.dropped, stats.pending) == (1, 20, 0)
        drops = rec.named("storage.drop")
        assert sum(e.fields["rows"] for e in drops) == 20
        assert {e.fields["reason"] for e in drops} == {"close_timeout"}
        warned = [r for r in caplog.records if r.levelno >= logging.WARNING and getattr(r, "hl", {}).get("rows")]
        assert sum(r.hl["rows"] for r in warned if r.hl.get("reason") == "close_timeout") == 20


def test_close_is_bounded_while_a_reconnect_hangs(pg_cluster: PgCluster, pg_dsn: str) -> None:  # noqa: F811
    """The hung write was abandoned and the writer is now stuck connecting to the stopped server (nothing
    to interrupt there): ``close`` stops waiting for it after a grace second and reports every row."""
    bus = EventBus()
    rec = Recorder(bus)
    cfg = StorageConfig(dsn=pg_dsn, statement_timeout=1.0, connect_timeout=8.0, **FAST_RETRY)
    writer = open_storage(cfg, events=bus)
    try:
        writer.submit("fills", fill(0), user=USER)
        assert writer.flush(timeout=15)
        with pg_cluster.frozen():
            writer.submit_many("fills", [fill(i) for i in range(1, 11)], user=USER)
            # the write is abandoned after 1 + 8 s; the writer then hangs in a connection attempt (8 s)
            assert wait_until(lambda: rec.named("storage.retry"), timeout=30)
            time.sleep(0.5)
            started = time.monotonic()
            writer.close(timeout=0.2)
            elapsed = time.monotonic() - started
            stats = writer.stats()
    finally:
        writer.close()
    assert elapsed < 0.2 + 3.0, f"close took {elapsed:.1f} s"
    assert (stats.written, stats.dropped, stats.pending) == (1, 10, 0)
    drops = rec.named("storage.drop")
    assert sum(e.fields["rows"] for e in drops) == 10 and {e.fields["reason"] for e in drops} == {"close_timeout"}


# --- 6. application_name is a name -------------------------------------------------------------------


def test_application_name_cannot_set_server_options(pg_dsn: str, admin: psycopg.Connection[Any]) -> None:  # noqa: F811
    name = "app -c default_transaction_read_only=on"
    with PostgresStorage(pg_dsn, application_name=name) as store:
        result = store.write("fills", [fill(1)], user=USER)
        assert (result.written, result.rejected) == (1, ())
        names = admin.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname(pg_dsn),),
        ).fetchall()
        assert (name,) in names


def test_application_name_in_the_dsn_wins(pg_dsn: str, admin: psycopg.Connection[Any]) -> None:  # noqa: F811
    with PostgresStorage(pg_dsn + " application_name=mine") as store:
        assert store.write("fills", [fill(1)], user=USER).written == 1
        names = admin.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname(pg_dsn),),
        ).fetchall()
        assert ("mine",) in names
