"""Warmers and on-demand metadata against real local servers: down, hanging, garbage, recovering."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from test_cache_support import (
    ScriptedInfoServer,
    async_fetcher,
    closed_port,
    real_payloads,
    sync_fetcher,
)

from hyperliquid_client.runtime.cache import Backoff, CacheConfig, TTLCache, Warmer, WarmStatus, WarmupManager
from hyperliquid_client.runtime.errors import MetadataUnavailableError
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.markets import MetadataService

FAST = Backoff(initial=0.05, maximum=0.2, jitter=0.5)
START_BOUND = 0.1  # the start-up bound (seconds)


def build(
    url: str | Callable[[Mapping[str, Any]], Any],
    *,
    fetch_timeout: float = 0.5,
    service_timeout: float = 0.5,
    asynchronous: bool = False,
    bus: EventBus | None = None,
    max_stale: float = 0.0,
    **service_kw: Any,
) -> tuple[TTLCache, MetadataService, WarmupManager]:
    """Cache + service + manager (not started).  ``url`` may be a ready-made fetch_info."""
    cache = TTLCache(CacheConfig(name="test", max_stale=max_stale), events=bus)
    if callable(url):
        fetch = url
    else:
        fetch = async_fetcher(url, fetch_timeout) if asynchronous else sync_fetcher(url, fetch_timeout)
    service_kw.setdefault("meta_interval", 0.2)
    service_kw.setdefault("mids_interval", 0.2)
    service = MetadataService(cache, fetch, timeout=service_timeout, **service_kw)
    manager = WarmupManager(cache, service.warmers(), events=bus, backoff=FAST)
    return cache, service, manager


def settled_failed(s: WarmStatus) -> bool:
    return s.settled and s.state == "failed"


# ---------------------------------------------------------------------------------------- start-up bound
def test_sync_start_is_instant_when_api_refuses_then_clear_error() -> None:
    fetch = sync_fetcher(f"http://127.0.0.1:{closed_port()}", 0.5)
    t0 = time.perf_counter()
    _cache, service, manager = build(fetch)
    manager.start()
    elapsed = time.perf_counter() - t0
    try:
        assert elapsed < START_BOUND
        assert manager.status.state in ("pending", "failed")
        status = manager.wait_for(settled_failed, timeout=5)
        assert status.state == "failed"
        assert set(status.reasons) == {"meta", "spotMeta", "perpDexs", "allMids"}
        assert all("TransportError" in r for r in status.reasons.values())
        t1 = time.perf_counter()
        with pytest.raises(MetadataUnavailableError, match=r"perp metadata \(meta\).*'BTC'"):
            service.market("BTC")
        assert time.perf_counter() - t1 < 0.5 + 0.5
    finally:
        manager.stop()


def test_sync_start_is_instant_when_api_hangs() -> None:
    with ScriptedInfoServer() as srv:
        srv.default = ("hang",)
        fetch = sync_fetcher(srv.url, 5)
        t0 = time.perf_counter()
        _cache, service, manager = build(fetch, service_timeout=0.3)
        manager.start()
        assert time.perf_counter() - t0 < START_BOUND
        try:
            t1 = time.perf_counter()
            with pytest.raises(MetadataUnavailableError, match=r"within 0.3s") as info:
                service.market("ETH")
            assert time.perf_counter() - t1 < 0.3 + 0.4
            assert "(no answer)" in str(info.value)  # the market, not the cache, speaks
            status = manager.wait_for(settled_failed, timeout=5)
            assert "TimeoutError" in status.reasons["meta"]
        finally:
            manager.stop()


@pytest.mark.parametrize("mode", ["refuse", "hang", "never-started"])
async def test_async_start_is_instant(mode: str) -> None:
    srv = ScriptedInfoServer()
    if mode == "hang":
        srv.start()
        srv.default = ("hang",)
        url = srv.url
    else:
        url = f"http://127.0.0.1:{closed_port()}"
    try:
        fetch = async_fetcher(url, 5)
        t0 = time.perf_counter()
        _cache, service, manager = build(fetch, service_timeout=0.3)
        await manager.astart()
        assert time.perf_counter() - t0 < START_BOUND
        # the loop stays responsive while the warmers fail
        t1 = time.perf_counter()
        await asyncio.sleep(0.01)
        assert time.perf_counter() - t1 < 0.1
        with pytest.raises(MetadataUnavailableError):
            await service.amarket("BTC")
        status = await manager.await_for(settled_failed, timeout=5)
        assert status.state == "failed"
        await manager.astop()
    finally:
        srv.stop()


# ---------------------------------------------------------------------------------------- recovery
def test_refusing_at_start_then_api_comes_back() -> None:
    port = closed_port()
    _cache, service, manager = build(f"http://127.0.0.1:{port}")
    manager.start()
    try:
        manager.wait_for(settled_failed, timeout=5)
        with ScriptedInfoServer(port=port) as srv:
            srv.serve(real_payloads())
            status = manager.wait_for(lambda s: s.ready, timeout=5)
            assert status.state == "ok"
            assert all(w.last_success is not None for w in status.warmers.values())
            before = srv.count("meta")
            market = service.market("BTC")
            assert market.asset_id("ETH") == 1
            assert srv.count("meta") == before  # served from the warmed cache
    finally:
        manager.stop()


def test_garbage_at_start_is_not_cached_then_recovers() -> None:
    bus = EventBus()
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        srv.set("meta", ("json", {"universe": "nope"}))  # wrong shape
        srv.set("spotMeta", ("garbage", b'{"universe": [tru'))  # malformed JSON
        cache, service, manager = build(srv.url, bus=bus)
        manager.start()
        try:
            status = manager.wait_for(lambda s: s.settled and s.state == "partial", timeout=5)
            assert "InvalidResponseError" in status.reasons["meta"]
            assert "$.universe" in status.reasons["meta"]
            assert "InvalidResponseError" in status.reasons["spotMeta"]
            assert status.warmers["allMids"].state == "ok"
            assert len([k for k in cache if "meta" in str(k).lower()]) == 0  # garbage never stored
            with pytest.raises(MetadataUnavailableError, match="InvalidResponseError"):
                service.market("BTC")
            srv.serve(real_payloads())
            assert manager.wait_for(lambda s: s.ready, timeout=5).state == "ok"
            assert service.market("PURR/USDC").asset_id("PURR/USDC") == 10000
        finally:
            manager.stop()


def test_partial_warmup() -> None:
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        srv.set("spotMeta", ("status", 500, b"internal"))
        _cache, service, manager = build(srv.url)
        manager.start()
        try:
            status = manager.wait_for(lambda s: s.settled, timeout=5)
            assert status.state == "partial"
            assert set(status.reasons) == {"spotMeta"}
            assert "HTTP 500" in status.reasons["spotMeta"]
            assert {n: w.state for n, w in status.warmers.items()} == {
                "meta": "ok",
                "spotMeta": "failed",
                "perpDexs": "ok",
                "allMids": "ok",
            }
            m = service.market("BTC")  # perps work
            assert m.asset_id("BTC") == 0 and m.sz_decimals("BTC") == 5
            with pytest.raises(MetadataUnavailableError, match=r"spot metadata \(spotMeta\)"):
                service.market("PURR/USDC")
            assert "partial" in status.describe() and "spotMeta: failed" in status.describe()
        finally:
            manager.stop()


def test_refresh_failure_keeps_old_values_until_ttl_then_clear_error() -> None:
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        cache, service, manager = build(srv.url, meta_ttl=0.8, meta_interval=0.1, max_stale=60)
        stale_service = MetadataService(cache, sync_fetcher(srv.url, 0.5), timeout=0.3, allow_stale=True)
        manager.start()
        try:
            manager.wait_for(lambda s: s.ready, timeout=5)
            srv.set("meta", ("status", 503, b"maintenance"))
            t_fail = time.monotonic()
            status = manager.wait_for(lambda s: s.warmers["meta"].state == "failed", timeout=5)
            assert status.warmers["meta"].last_success is not None
            assert "HTTP 503" in (status.warmers["meta"].reason or "")
            # old values are still served (their TTL has not passed)
            if time.monotonic() - t_fail < 0.4:
                assert service.market("BTC").asset_id("BTC") == 0
            # after the TTL: a clear error, not stale data
            time.sleep(0.9)
            with pytest.raises(MetadataUnavailableError, match="HTTP 503"):
                service.market("BTC")
            # unless stale data is explicitly allowed
            assert stale_service.market("BTC").asset_id("BTC") == 0
            # and when the API comes back, everything is fine again
            srv.serve(real_payloads())
            manager.wait_for(lambda s: s.ready, timeout=5)
            assert service.market("BTC").asset_id("ETH") == 1
        finally:
            manager.stop()


def test_old_values_served_within_ttl_after_failed_refresh() -> None:
    """Deterministic version: the warmer's refresh fails while the stored value is far from its TTL."""
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        _cache, service, manager = build(srv.url, meta_ttl=60, meta_interval=0.1)
        manager.start()
        try:
            manager.wait_for(lambda s: s.ready, timeout=5)
            srv.set("meta", ("close",))
            manager.wait_for(lambda s: s.warmers["meta"].consecutive_failures >= 2, timeout=5)
            before = srv.count("meta")
            assert service.market("BTC").asset_id("ARB") == 11
            assert srv.count("meta") == before
        finally:
            manager.stop()


# ---------------------------------------------------------------------------------------- single flight, events
def test_on_demand_read_joins_the_warmers_fetch() -> None:
    with ScriptedInfoServer() as srv:
        payloads = real_payloads()
        srv.serve(payloads)
        srv.set("meta", ("delay", 0.3, ("json", payloads["meta"])))
        _cache, service, manager = build(srv.url, service_timeout=2, fetch_timeout=2)
        manager.start()
        try:
            time.sleep(0.05)  # the warmer's meta request is in flight
            assert service.market("BTC").asset_id("BTC") == 0
            assert srv.count("meta") == 1
        finally:
            manager.stop()


def test_warm_events_on_every_change() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("cache.warm", seen.append)
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        srv.set("allMids", ("status", 500, b"x"))
        _cache, _service, manager = build(srv.url, bus=bus)
        manager.start()
        try:
            manager.wait_for(lambda s: s.settled and s.state == "partial", timeout=5)
            srv.serve(real_payloads())
            manager.wait_for(lambda s: s.ready, timeout=5)
        finally:
            manager.stop()
    per_warmer = [(e["name"], e["status"]) for e in seen if e["name"] != "warmup"]
    overall = [e["status"] for e in seen if e["name"] == "warmup"]
    assert ("allMids", "failed") in per_warmer and ("allMids", "ok") in per_warmer
    assert per_warmer.index(("allMids", "failed")) < per_warmer.index(("allMids", "ok"))
    assert ("meta", "ok") in per_warmer
    assert overall[-1] == "ok" and "partial" in overall
    failed = next(e for e in seen if e["name"] == "allMids" and e["status"] == "failed")
    assert "HTTP 500" in failed["reason"]
    # repeated identical failures do not repeat the event
    assert per_warmer.count(("allMids", "failed")) == 1


def test_retries_back_off_while_down() -> None:
    with ScriptedInfoServer() as srv:
        srv.default = ("status", 502, b"bad gateway")
        cache = TTLCache()
        fetch = sync_fetcher(srv.url, 1)
        backoff = Backoff(initial=0.05, maximum=0.4, multiplier=2, jitter=0)
        warmer = Warmer("meta", lambda: fetch({"type": "meta"}), key="meta", interval=10, timeout=1)
        manager = WarmupManager(cache, [warmer], backoff=backoff)
        manager.start()
        try:
            manager.wait_for(lambda s: s.warmers["meta"].consecutive_failures >= 5, timeout=5)
        finally:
            manager.stop()
        times = [t for t, b in srv.requests if b.get("type") == "meta"]
        gaps = [b - a for a, b in itertools.pairwise(times)][:4]
        # at least the configured backoff separates attempts: 0.05, 0.1, 0.2, 0.4
        for gap, expected in zip(gaps, [0.05, 0.1, 0.2, 0.4], strict=True):
            assert gap >= expected * 0.95


def test_backoff_delays_and_jitter() -> None:
    b = Backoff(initial=1, maximum=8, multiplier=2, jitter=0.5)
    rng = random.Random(1)
    for attempt, base in [(1, 1), (2, 2), (3, 4), (4, 8), (10, 8)]:
        ds = [b.delay(attempt, rng) for _ in range(200)]
        assert all(base * 0.5 <= d <= base for d in ds)
        assert max(ds) - min(ds) > base * 0.3  # jittered
    with pytest.raises(ValueError):
        Backoff(jitter=2)


def test_stop_stops_requests() -> None:
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        _cache, _service, manager = build(srv.url, meta_interval=0.05, mids_interval=0.05)
        manager.start()
        manager.wait_for(lambda s: s.ready, timeout=5)
        manager.stop()
        assert not manager.running
        time.sleep(0.05)
        n = len(srv.requests)
        time.sleep(0.3)
        assert len(srv.requests) == n
        assert all(not t.name.startswith("hl-warm-warmup") or not t.is_alive() for t in threading.enumerate())


# ---------------------------------------------------------------------------------------- several clients
def test_independent_clients_coexist() -> None:
    main_payloads = real_payloads()
    test_payloads = real_payloads()
    test_payloads["meta"] = {"universe": [{"name": "ETH", "szDecimals": 3}, {"name": "BTC", "szDecimals": 4}]}
    with ScriptedInfoServer() as mainnet, ScriptedInfoServer() as testnet:
        mainnet.serve(main_payloads)
        testnet.serve(test_payloads)
        fetches = [sync_fetcher(mainnet.url), sync_fetcher(testnet.url), sync_fetcher(mainnet.url)]
        t0 = time.perf_counter()
        clients = [build(f) for f in fetches]
        for _, _, manager in clients:
            manager.start()
        assert time.perf_counter() - t0 < START_BOUND
        try:
            for _, _, manager in clients:
                assert manager.wait_for(lambda s: s.ready, timeout=5).state == "ok"
            assert clients[0][1].market("BTC").asset_id("BTC") == 0
            assert clients[1][1].market("BTC").asset_id("BTC") == 1
            assert clients[1][1].market("BTC").sz_decimals("BTC") == 4
            assert clients[2][1].market("BTC").sz_decimals("BTC") == 5
            assert clients[0][0] is not clients[2][0]
        finally:
            for _, _, manager in clients:
                manager.stop()


async def test_async_client_warms_and_reads() -> None:
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        _cache, service, manager = build(srv.url, asynchronous=True)
        async with manager:
            status = await manager.await_for(lambda s: s.ready, timeout=5)
            assert status.state == "ok"
            market = await service.amarket()
            assert market.asset_id("@107") == 10107
            assert market.mid("BTC") is not None
            assert await service.amid("ETH") == market.mid("ETH")
        assert not manager.running


def test_restart_after_stop_runs_one_set_of_warmers() -> None:
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        _cache, _service, manager = build(srv.url, meta_interval=0.05, mids_interval=0.05)
        manager.start()
        manager.stop()  # possibly before the launcher started anything
        manager.start()
        try:
            manager.wait_for(lambda s: s.ready, timeout=5)
            alive = [t.name for t in threading.enumerate() if t.name.startswith("hl-warm-warmup-") and t.is_alive()]
            assert sorted(n for n in alive if not n.endswith("launcher")) == sorted(
                f"hl-warm-warmup-{w}" for w in ("meta", "spotMeta", "perpDexs", "allMids")
            )
        finally:
            manager.stop()
