"""Both backends against real data: exact round trips, idempotent upserts, reads, schema, migrations."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hyperliquid_client.runtime.storage import (
    KINDS,
    BackendBase,
    MemoryStorage,
    PostgresStorage,
    StorageConfig,
    StorageUnavailableError,
    StorageWriter,
    apply_migrations,
    rows_from_http,
    rows_from_ws,
)
from tests.datasets import fixtures

try:  # tests/ is not a package: pytest puts it on sys.path
    from pgcluster import PgCluster, pg_cluster, pg_dsn
except ImportError:  # pragma: no cover - if tests/ becomes a package
    from tests.pgcluster import PgCluster, pg_cluster, pg_dsn  # noqa: F401

STAND_IN = "0x" + "5" * 40
REPO = Path(__file__).resolve().parent.parent


def fixture(type_: str) -> dict[str, Any]:
    """The first recording of ``type_`` in the fixture set (``HL_FIXTURES_DIR`` may replace the set: the tests
    assert what holds for any recording in the format)."""
    return fixtures(type_)[0]


def storable(name: str) -> list[tuple[str, Any, str | None]]:
    """The storable rows of one real fixture file, through the public source helpers."""
    fx = fixture(name)
    if fx["transport"] == "http":
        # curated samples carry no request body user: attribute their rows to a stand-in user
        return rows_from_http(fx["request"]["type"], fx["response"], user=fx["request"].get("user") or STAND_IN)
    user = fx["request"]["subscription"].get("user")
    return [row for msg in fx["response"] for row in rows_from_ws(msg["channel"], msg["data"], user=user)]


def fills_like(n: int) -> list[dict[str, Any]]:
    """``n`` distinct fills shaped like a real recent one (distinct ``tid``)."""
    template = fixture("userTwapSliceFills")["response"][0]["fill"]
    return [dict(template, tid=template["tid"] + i, time=template["time"] + i) for i in range(n)]


@pytest.fixture(params=["memory", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[BackendBase]:
    if request.param == "memory":
        be: BackendBase = MemoryStorage()
    else:
        be = PostgresStorage(request.getfixturevalue("pg_dsn"))
    try:
        yield be
    finally:
        be.close()


# For each kind: every wire decimal field and where it is stored; the test checks the stored value
# is that exact decimal (same digits, same scale), never a float.
def _get(row: Any, path: str) -> Any:
    for part in path.split("."):
        row = row.get(part) if isinstance(row, dict) else None
    return row


DECIMALS = {
    "fills": {"px": "px", "sz": "sz", "start_position": "startPosition", "closed_pnl": "closedPnl", "fee": "fee"},
    "order_updates": {"limit_px": "order.limitPx", "sz": "order.sz", "orig_sz": "order.origSz"},
    "trades": {"px": "px", "sz": "sz"},
    "funding": {"usdc": "delta.usdc", "szi": "delta.szi", "funding_rate": "delta.fundingRate"},
    "ledger": {"usdc": "delta.usdc", "amount": "delta.amount"},
    "candles": {"open_px": "o", "close_px": "c", "high_px": "h", "low_px": "l", "volume": "v"},
}
INTEGERS = {
    "fills": {"time": "time", "oid": "oid", "tid": "tid"},
    "order_updates": {"oid": "order.oid", "status_timestamp": "statusTimestamp", "order_timestamp": "order.timestamp"},
    "trades": {"time": "time", "tid": "tid"},
    "funding": {"time": "time", "n_samples": "delta.nSamples"},
    "ledger": {"time": "time"},
    "candles": {"open_time": "t", "close_time": "T", "num_trades": "n"},
}
SOURCES = {
    "fills": ["userFills", "userTwapSliceFills", "ws_userEvents", "ws_userTwapSliceFills"],
    "order_updates": ["ws_orderUpdates", "historicalOrders"],
    "trades": ["ws_trades"],
    "funding": ["userFunding"],
    "ledger": ["userNonFundingLedgerUpdates"],
    "candles": ["candleSnapshot", "ws_candle"],
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_round_trips_exactly(backend: BackendBase, kind: str) -> None:
    rows = [r for name in SOURCES[kind] for r in storable(name)]
    assert rows and all(r[0] == kind for r in rows)
    by_user: dict[str | None, list[Any]] = {}
    for _, row, user in rows:
        by_user.setdefault(user, []).append(row)
    for user, group in by_user.items():
        result = backend.write(kind, group, user=user)
        assert result.rejected == ()
        assert result.written == len(group)
    stored = backend.read(kind)
    assert len(stored) == len(rows) == backend.count(kind)
    # every original row comes back exactly (unknown fields included) ...
    expected = sorted(json.dumps(r[1], sort_keys=True) for r in rows)
    assert sorted(json.dumps(s.raw, sort_keys=True) for s in stored) == expected
    # ... and its typed columns hold the exact decimals and integers
    for s in stored:
        for column, path in DECIMALS[kind].items():
            wire = _get(s.raw, path)
            value = s[column]
            if wire is None:
                assert value is None
            else:
                assert isinstance(value, Decimal), (column, value)
                assert str(value) == wire, (column, value, wire)
        for column, path in INTEGERS[kind].items():
            assert s[column] == _get(s.raw, path)
    times = [s[KINDS[kind].time_column] for s in stored]
    assert times == sorted(times)


def test_fills_twice_http_then_ws_replay_give_one_row_each(backend: BackendBase) -> None:
    user = "0xb7b6f3CeA3f66bF525f5d8f965F6DBf6d9B017B2"  # checksummed in the HTTP request ...
    twap = fixture("userTwapSliceFills")["response"]
    fills = [dict(x["fill"], coin=x["fill"]["coin"]) for x in twap]
    legacy = fixture("userFills")["response"][:50]
    http_response = fills + legacy
    writer = StorageWriter(backend, StorageConfig(batch_size=7, flush_interval=0.05))
    try:
        assert writer.submit_http("userFills", http_response, user=user) == len(http_response)
        assert writer.flush(10)
        # ... lower case in the WebSocket data; the snapshot replays everything plus one new fill
        new = dict(fills[0], tid=fills[0]["tid"] + 1, px="4065.1")
        ws_data = {"isSnapshot": True, "user": user.lower(), "fills": [*http_response, new]}
        assert writer.submit_ws("userFills", ws_data) == len(http_response) + 1
        overlap = legacy[:5]
        assert writer.submit_ws("user", {"fills": overlap}, user=user) == len(overlap)  # userEvents overlap
    finally:
        writer.close()
    stored = backend.read_fills(user)
    assert len(stored) == len(http_response) + 1 == backend.count("fills")
    assert len({s["fill_key"] for s in stored}) == len(stored)
    assert writer.written == 2 * len(http_response) + 1 + len(overlap)  # replays are accepted (no-op upserts)
    assert writer.rejected == writer.dropped == 0


def test_candle_updates_replace_the_open_bucket(backend: BackendBase) -> None:
    first = fixture("ws_candle")["response"][-1]["data"]
    later = dict(first, c="35.001", h="36.500", v="3500000.1", n=first["n"] + 10)
    assert backend.write("candles", [first]).written == 1
    other = "4h" if first["i"] == "1h" else "1h"  # another interval of the same coin and open time
    assert backend.write("candles", [later, dict(later, i=other)]).written == 2
    same = backend.read_candles(first["s"], first["i"])
    assert len(same) == 1 and same[0].raw == later
    assert same[0]["close_px"] == Decimal("35.001") and same[0]["num_trades"] == first["n"] + 10
    assert len(backend.read_candles(first["s"], other)) == 1


def test_events_keep_the_first_copy(backend: BackendBase) -> None:
    trade = fixture("ws_trades")["response"][-1]["data"][0]
    backend.write("trades", [trade])
    backend.write("trades", [dict(trade, extra="later copy")])
    (stored,) = backend.read_trades(trade["coin"])
    assert stored.raw == trade
    assert (stored["buyer"], stored["seller"]) == tuple(trade["users"])


def test_read_fills_in_a_time_range(backend: BackendBase) -> None:
    fx = fixture("userFills")
    user = fx["request"]["user"]
    backend.write("fills", fx["response"], user=user)
    copied = fx["response"][:10]
    backend.write("fills", copied, user="0x" + "1" * 40)  # another user's copy
    times = sorted(f["time"] for f in fx["response"])
    lo, hi = times[len(times) // 5], times[len(times) * 3 // 5]
    got = backend.read_fills(user, lo, hi)
    assert len(got) == sum(1 for t in times if lo <= t <= hi)
    assert all(lo <= s["time"] <= hi and s.user == user for s in got)
    assert [s["time"] for s in got] == sorted(s["time"] for s in got)
    coin = fx["response"][0]["coin"]
    by_coin = backend.read_fills(user, coin=coin)
    assert by_coin and len(by_coin) == sum(1 for f in fx["response"] if f["coin"] == coin)
    assert len(backend.read_fills(user, limit=7)) == min(7, len(times))
    recent = times[-min(5, len(times))]
    since = dt.datetime.fromtimestamp(recent / 1000, tz=dt.UTC)
    assert len(backend.read_fills(user, start=since)) == sum(1 for t in times if t >= recent)
    assert len(backend.read_fills("0x" + "1" * 40)) == len(copied)


def test_awkward_text_round_trips(backend: BackendBase) -> None:
    odd = "tab\there, newline\n, backslash \\ and \\N, quote \" ' , ünïcödé ✓, emoji 🚀"
    row = dict(fills_like(1)[0], cloid=odd, coin="@107", note={"nested": [odd, 1, None, True]})
    assert backend.write("fills", [row], user="u").written == 1
    (stored,) = backend.read_fills("u")
    assert stored["cloid"] == odd and stored["coin"] == "@107"
    assert stored.raw == row


def test_bad_rows_rejected_individually_by_direct_write(backend: BackendBase) -> None:
    rows = fills_like(3)
    bad = dict(rows[1], px="not-a-number")
    result = backend.write("fills", [rows[0], bad, rows[2]], user="u")
    assert result.written == 2
    assert [r.index for r in result.rejected] == [1]
    assert result.rejected[0].error.field == "px"
    assert "not-a-number" in str(result.rejected[0].error)
    assert backend.count("fills") == 2


# --- PostgreSQL specifics ---------------------------------------------------------------------------


def _pg_type(t: str) -> str:
    return {"text": "text", "numeric": "numeric", "bigint": "bigint", "boolean": "boolean", "jsonb": "jsonb"}[t]


def test_schema_matches_the_kinds_table(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        for kind in KINDS.values():
            cols = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position",
                (kind.table,),
            ).fetchall()
            expected = [(n, _pg_type(t)) for n, t in zip(kind.column_names, kind.column_types, strict=True)]
            assert [c for c in cols if c[0] != "stored_at"] == expected
            pk = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                (kind.table,),
            ).fetchall()
            assert {r[0] for r in pk} == set(kind.key)


def test_database_level_refusal_does_not_poison_the_batch(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE hl_fills ADD CONSTRAINT px_cap CHECK (px < 4000)")
    rows = fills_like(3)
    rows[0]["px"] = "3999.9"
    rows[1]["px"] = "4064.9"  # valid data, refused by the database's own constraint
    rows[2]["px"] = "12.5"
    with PostgresStorage(pg_dsn) as be:
        result = be.write("fills", rows[:3], user="u")
        assert result.written == 2
        assert [r.index for r in result.rejected] == [1]
        assert "px_cap" in str(result.rejected[0].error)
        assert sorted(s["px"] for s in be.read_fills("u")) == [Decimal("12.5"), Decimal("3999.9")]


def test_unmigrated_database_is_refused_with_the_command_to_run(pg_cluster: PgCluster) -> None:
    dsn = pg_cluster.create_database()
    try:
        be = PostgresStorage(dsn)
        with pytest.raises(StorageUnavailableError, match="storage migrate"):
            be.write("trades", [fixture("ws_trades")["response"][-1]["data"][0]])
        be.close()
        with PostgresStorage(dsn, migrate=True) as be2:
            assert be2.write("trades", [fixture("ws_trades")["response"][-1]["data"][0]]).written == 1
            assert be2.count("trades") == 1
    finally:
        pg_cluster.drop_database(dsn)


def test_migrations_are_idempotent_and_the_cli_applies_and_prints_them(pg_cluster: PgCluster) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    printed = subprocess.run(
        [sys.executable, "-m", "hyperliquid_client.runtime.storage", "sql"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "CREATE TABLE IF NOT EXISTS hl_fills" in printed
    dsn = pg_cluster.create_database()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "hyperliquid_client.runtime.storage", "migrate", "--dsn", dsn],
            capture_output=True,
            text=True,
            env=env,
        )
        assert run.returncode == 0, run.stderr
        assert "applied migrations 1" in run.stdout
        assert apply_migrations(dsn) == []
        with psycopg.connect(dsn) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {k.table for k in KINDS.values()} | {"hl_schema_migrations"} <= tables
        # the printed script is a complete schema on its own
        dsn2 = pg_cluster.create_database()
        try:
            with psycopg.connect(dsn2, autocommit=True) as conn:
                conn.execute(printed.encode())
            assert apply_migrations(dsn2) == []
        finally:
            pg_cluster.drop_database(dsn2)
    finally:
        pg_cluster.drop_database(dsn)
    bad = subprocess.run(
        [sys.executable, "-m", "hyperliquid_client.runtime.storage", "migrate", "--dsn", pg_cluster.dsn("no_such_db")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 1 and "no_such_db" in bad.stderr
