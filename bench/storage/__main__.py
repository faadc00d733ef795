"""Rows per second into PostgreSQL: the batching writer next to one-row-per-insert, same run.

Run from the repository root::

    python -m bench.storage                 # 50 000 rows through the writer, 5 000 one by one
    python -m bench.storage --rows 100000 --single-rows 10000 --json

A throwaway PostgreSQL cluster is started for the run (see ``tests/pgcluster.py``) with
``fsync`` on by default (``--no-fsync`` to turn it off), so per-row commits pay what they pay on
a real server.  Every mode writes the same kind of rows (realistic fills) into a fresh database
and checks the row count afterwards.

Modes:

* ``single``  — one ``INSERT ... ON CONFLICT DO NOTHING`` per row, autocommit (the naive way).
* ``direct``  — :meth:`PostgresStorage.write` with ``--batch-size`` rows per call (no thread).
* ``writer``  — :class:`StorageWriter` ``submit()`` per row from one producer, then ``close()``;
  the clock covers submit of the first row to the last row committed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from hyperliquid_client.runtime.storage import (  # noqa: E402
    KINDS,
    PostgresStorage,
    StorageConfig,
    StorageWriter,
    apply_migrations,
)
from tests.pgcluster import PgCluster, PgClusterError, start_cluster  # noqa: E402

USER = "0x" + "cd" * 20


def make_fill(i: int) -> dict[str, Any]:
    return {
        "coin": "BTC" if i % 3 else "ETH",
        "px": f"{60000 + i % 5000}.{i % 10}",
        "sz": f"0.{i % 997:03d}15",
        "side": "B" if i % 2 else "A",
        "time": 1_760_000_000_000 + i,
        "startPosition": f"{i % 50}.25",
        "dir": "Open Long",
        "closedPnl": "0.0",
        "hash": f"0x{i:064x}",
        "oid": 300_000_000_000 + i,
        "crossed": bool(i % 2),
        "fee": "1.234567",
        "tid": 600_000_000_000_000 + i,
        "feeToken": "USDC",
        "twapId": None,
    }


def count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM hl_fills").fetchone()
    return int(row[0]) if row else 0


def bench_single(dsn: str, rows: list[dict[str, Any]]) -> float:
    kind = KINDS["fills"]
    names = kind.column_names
    placeholders = ", ".join("%s::jsonb" if n == "raw" else "%s" for n in names)
    sql = (
        f"INSERT INTO {kind.table} ({', '.join(names)}) VALUES ({placeholders}) "
        f"ON CONFLICT ({', '.join(kind.key)}) DO NOTHING"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        for row in rows:
            conn.execute(sql.encode(), kind.normalize(row, USER))
        return time.perf_counter() - t0


def bench_direct(dsn: str, rows: list[dict[str, Any]], batch: int) -> float:
    with PostgresStorage(dsn) as be:
        be.count("fills")  # connect outside the clock
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch):
            be.write("fills", rows[i : i + batch], user=USER)
        return time.perf_counter() - t0


def bench_writer(dsn: str, rows: list[dict[str, Any]], batch: int) -> tuple[float, float]:
    be = PostgresStorage(dsn)
    be.count("fills")
    w = StorageWriter(be, StorageConfig(batch_size=batch, flush_interval=0.05, max_buffer=max(10_000, 4 * batch)))
    t0 = time.perf_counter()
    for row in rows:
        w.submit("fills", row, user=USER)
    submitted = time.perf_counter() - t0
    w.close()
    elapsed = time.perf_counter() - t0
    be.close()
    if w.written != len(rows) or w.dropped or w.rejected:
        raise SystemExit(f"writer lost rows: {w.stats()}")
    return elapsed, submitted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows for the batched modes")
    parser.add_argument("--single-rows", type=int, default=5_000, help="rows for one-row-per-insert")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--no-fsync", action="store_true", help="run the server with fsync=off")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)

    try:
        cluster: PgCluster = start_cluster(fsync=not args.no_fsync)
    except PgClusterError as exc:
        print(f"cannot start PostgreSQL: {exc}", file=sys.stderr)
        return 2
    results: dict[str, Any] = {
        "rows": args.rows,
        "single_rows": args.single_rows,
        "batch_size": args.batch_size,
        "fsync": not args.no_fsync,
    }
    try:
        rows = [make_fill(i) for i in range(max(args.rows, args.single_rows))]

        def fresh() -> str:
            dsn = cluster.create_database()
            apply_migrations(dsn)
            return dsn

        dsn = fresh()
        t = bench_single(dsn, rows[: args.single_rows])
        assert count(dsn) == args.single_rows
        results["single_rows_per_s"] = round(args.single_rows / t)

        dsn = fresh()
        t = bench_direct(dsn, rows[: args.rows], args.batch_size)
        assert count(dsn) == args.rows
        results["direct_rows_per_s"] = round(args.rows / t)

        dsn = fresh()
        t, submit_t = bench_writer(dsn, rows[: args.rows], args.batch_size)
        assert count(dsn) == args.rows
        results["writer_rows_per_s"] = round(args.rows / t)
        results["writer_submit_rows_per_s"] = round(args.rows / submit_t)
        results["writer_speedup_vs_single"] = round(results["writer_rows_per_s"] / results["single_rows_per_s"], 1)
    finally:
        cluster.destroy()

    if args.json:
        print(json.dumps(results))
    else:
        print(f"storage benchmark (fills, fsync={'on' if results['fsync'] else 'off'}, batch {args.batch_size})")
        print(f"  one INSERT per row  {results['single_rows_per_s']:>10,} rows/s  ({args.single_rows:,} rows)")
        print(f"  backend.write batch {results['direct_rows_per_s']:>10,} rows/s  ({args.rows:,} rows)")
        print(
            f"  StorageWriter       {results['writer_rows_per_s']:>10,} rows/s  ({args.rows:,} rows, submit→committed)"
        )
        print(f"    submit() alone    {results['writer_submit_rows_per_s']:>10,} rows/s")
        print(f"  writer vs one-per-row: {results['writer_speedup_vs_single']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
