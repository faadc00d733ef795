"""Cache and warm-up figures, measured in one run:

    .venv/bin/python -m bench.cache [--no-peers] [--no-install] [--json]

1. Client start-up (``Client(...)`` entered / ``async with AsyncClient(...)``, warmers started) with the
   API refusing connections, hanging (accepts, never answers) and reachable (the fake exchange serving the real
   fixtures), next to the official SDK's ``Info(base_url, skip_ws=True)`` construction against the same
   servers (it fetches metadata in its constructor; run in its throwaway venv at /tmp/hl-bench-peers/py, capped
   at ``--cap`` seconds).
2. Cache read throughput: ``TTLCache.get`` / ``get_or_fetch`` hits next to a plain ``dict.get``.
3. Memory under a flood of inserts far beyond the bound (tracemalloc), next to an unbounded dict.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import socket
import statistics
import subprocess
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from bench.peers import PEERS, SDK_PYTHON, ensure_sdk
from hyperliquid_client.runtime.cache import CacheConfig, TTLCache, WarmupManager
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.markets import MetadataService

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURES = Path(
    os.environ.get("HL_FIXTURES_DIR") or Path(__file__).resolve().parents[2] / "tests" / "data" / "fixtures"
)


# ------------------------------------------------------------------------------------------- servers
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HangingServer:
    """Accepts connections and reads requests, never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def sync_fetch(base_url: str, timeout: float = 5.0) -> Any:
    client = httpx.Client(timeout=timeout)

    def fetch_info(body: Any) -> Any:
        resp = client.post(base_url + "/info", json=dict(body))
        resp.raise_for_status()
        return resp.json()

    return fetch_info


def async_fetch(base_url: str, timeout: float = 5.0) -> Any:
    client = httpx.AsyncClient(timeout=timeout)

    async def fetch_info(body: Any) -> Any:
        resp = await client.post(base_url + "/info", json=dict(body))
        resp.raise_for_status()
        return resp.json()

    return fetch_info


# ------------------------------------------------------------------------------------------- 1. start-up
def ours_startup(base_url: str, runs: int) -> dict[str, float]:
    """The public clients: ``Client(...)`` + entering it, and ``AsyncClient(...)`` + ``async with``."""
    from hyperliquid_client.client import AsyncClient, Client

    sync_times, async_times = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        client = Client(http_url=base_url)
        client.__enter__()
        sync_times.append(time.perf_counter() - t0)
        client.close()

    async def one() -> float:
        t0 = time.perf_counter()
        async with AsyncClient(http_url=base_url):
            elapsed = time.perf_counter() - t0
        return elapsed

    for _ in range(runs):
        async_times.append(asyncio.run(one()))
    return {
        "sync_median_ms": statistics.median(sync_times) * 1e3,
        "sync_max_ms": max(sync_times) * 1e3,
        "async_median_ms": statistics.median(async_times) * 1e3,
        "async_max_ms": max(async_times) * 1e3,
    }


def ours_first_market(base_url: str) -> float:
    """Seconds until ``market("BTC")`` answers right after start-up (warm-up racing the on-demand read)."""
    fetch = sync_fetch(base_url)
    t0 = time.perf_counter()
    cache = TTLCache()
    service = MetadataService(cache, fetch, timeout=5)
    manager = WarmupManager(cache, service.warmers())
    manager.start()
    service.market("BTC").asset_id("BTC")
    elapsed = time.perf_counter() - t0
    manager.stop(timeout=0.01)
    return elapsed


def sdk_startup(base_url: str, cap: float, runs: int) -> dict[str, Any]:
    python = str(SDK_PYTHON)
    times, errors = [], set()
    for _ in range(runs):
        try:
            proc = subprocess.run(
                [python, str(HERE / "peer_sdk.py"), base_url], capture_output=True, text=True, timeout=cap, cwd=PEERS
            )
        except subprocess.TimeoutExpired:
            return {"result": f"> {cap:g} s (still blocked in Info(...); killed)"}
        try:
            out = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"result": f"failed: {proc.stderr.strip()[-300:]}"}
        times.append(out["seconds"])
        if out["error"]:
            errors.add(out["error"])
    res = f"{statistics.median(times) * 1e3:.1f} ms"
    if errors:
        res += f" then raises {', '.join(sorted(errors))}"
    return {"result": res, "median_ms": statistics.median(times) * 1e3}


# ------------------------------------------------------------------------------------------- 2. throughput
def throughput(seconds: float = 1.0) -> dict[str, float]:
    keys = [("info", f'{{"type":"meta","n":{i}}}') for i in range(1000)]
    plain = {k: i for i, k in enumerate(keys)}
    cache = TTLCache(CacheConfig(max_entries=10_000, default_ttl=3600))
    for k, v in plain.items():
        cache.set(k, v)
    bus = EventBus()
    bus.subscribe("request.*", lambda e: None)  # listeners elsewhere: the cache's guard must stay cheap
    cache_ev = TTLCache(CacheConfig(max_entries=10_000, default_ttl=3600), events=bus)
    for k, v in plain.items():
        cache_ev.set(k, v)
    seen = EventBus()
    counter = [0]
    seen.subscribe("cache.hit", lambda e: counter.__setitem__(0, counter[0] + 1))
    cache_hits = TTLCache(CacheConfig(max_entries=10_000, default_ttl=3600), events=seen)
    for k, v in plain.items():
        cache_hits.set(k, v)

    def rate(fn: Any) -> float:
        n, best = 0, 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            n = 0
            while time.perf_counter() - t0 < seconds / 3:
                for k in keys:
                    fn(k)
                n += len(keys)
            best = max(best, n / (time.perf_counter() - t0))
        return best

    def fetch() -> int:
        return 0

    return {
        "dict.get": rate(plain.get),
        "TTLCache.get": rate(cache.get),
        "TTLCache.get (bus, no cache listener)": rate(cache_ev.get),
        "TTLCache.get (cache.hit listener)": rate(cache_hits.get),
        "TTLCache.get_or_fetch (hit)": rate(lambda k: cache.get_or_fetch(k, fetch)),
    }


# ------------------------------------------------------------------------------------------- 3. memory
def memory(inserts: int, bound: int) -> dict[str, float]:
    payload = "x" * 100

    def flood(store: Any, n: int, offset: int = 0) -> None:
        for i in range(offset, offset + n):
            store(("info", i), payload + str(i))

    gc.collect()
    tracemalloc.start()
    cache = TTLCache(CacheConfig(max_entries=bound, default_ttl=60))
    flood(cache.set, bound)
    gc.collect()
    at_bound, _ = tracemalloc.get_traced_memory()
    flood(cache.set, inserts, bound)
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    entries = len(cache)
    del cache
    gc.collect()
    tracemalloc.start()
    d: dict[Any, Any] = {}
    flood(d.__setitem__, bound + inserts)
    gc.collect()
    dict_mem, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "bound": bound,
        "inserts": bound + inserts,
        "entries_after": entries,
        "at_bound_mb": at_bound / 2**20,
        "after_flood_mb": after / 2**20,
        "peak_mb": peak / 2**20,
        "unbounded_dict_mb": dict_mem / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-peers", action="store_true", help="skip the official SDK")
    ap.add_argument("--no-install", action="store_true", help="do not create the SDK's throwaway venv")
    ap.add_argument("--runs", type=int, default=20, help="start-up repetitions (ours)")
    ap.add_argument("--cap", type=float, default=10.0, help="seconds before the SDK's Info(...) is killed")
    ap.add_argument("--inserts", type=int, default=1_000_000)
    ap.add_argument("--bound", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.getLogger("hyperliquid_client").setLevel(logging.ERROR)  # expected warm-up failures are not news here

    from hyperliquid_client.testing import FakeExchange

    results: dict[str, Any] = {"startup": {}}
    peer_why = "" if not args.no_peers else "skipped (--no-peers)"
    if not peer_why:
        peer_why = ensure_sdk(not args.no_install)
    hanging = HangingServer()
    with FakeExchange() as fx:
        fx.load_fixtures(FIXTURES)
        scenarios = {
            "refused": f"http://127.0.0.1:{closed_port()}",
            "hanging": hanging.url,
            "reachable (fake exchange, real fixtures)": fx.http_url,
        }
        for name, url in scenarios.items():
            row: dict[str, Any] = {"ours": ours_startup(url, args.runs)}
            if name.startswith("reachable"):
                row["ours_first_market_ms"] = ours_first_market(url) * 1e3
            row["sdk"] = sdk_startup(url, args.cap, 3) if not peer_why else {"result": peer_why}
            results["startup"][name] = row
    hanging.close()
    results["throughput_ops_per_s"] = throughput()
    results["memory"] = memory(args.inserts, args.bound)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("\n== start-up (client construction + entering it), API state ->  ours | official SDK Info(...)")
    for name, row in results["startup"].items():
        o = row["ours"]
        print(
            f"{name:42s} ours sync {o['sync_median_ms']:.2f} ms (max {o['sync_max_ms']:.2f}), "
            f"async {o['async_median_ms']:.2f} ms (max {o['async_max_ms']:.2f}) | SDK {row['sdk']['result']}"
        )
        if "ours_first_market_ms" in row:
            print(f"{'':42s} ours: first market('BTC') answered {row['ours_first_market_ms']:.1f} ms after start")
    print("\n== cache reads (1000 keys, all hits), ops/s")
    base = results["throughput_ops_per_s"]["dict.get"]
    for name, r in results["throughput_ops_per_s"].items():
        print(f"{name:42s} {r / 1e6:7.2f} M/s  ({r / base:5.1%} of dict.get)")
    m = results["memory"]
    print(f"\n== memory: {m['inserts']:,} inserts into a {m['bound']:,}-entry cache (100-byte values)")
    print(
        f"entries after: {m['entries_after']:,}; traced memory at the bound {m['at_bound_mb']:.2f} MB, "
        f"after the flood {m['after_flood_mb']:.2f} MB (peak {m['peak_mb']:.2f} MB); "
        f"an unbounded dict: {m['unbounded_dict_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
