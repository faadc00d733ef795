"""MetadataService against a real local server: on-demand loading, single flight, dexes, new listings."""

from __future__ import annotations

import asyncio
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from test_cache_support import ScriptedInfoServer, async_fetcher, real_payloads, sync_fetcher

from hyperliquid_client.runtime.cache import CacheConfig, TTLCache, WarmupManager
from hyperliquid_client.runtime.cache.warmup import Backoff
from hyperliquid_client.runtime.errors import InvalidInputError, MetadataUnavailableError
from hyperliquid_client.runtime.markets import MetadataService

PERP_DEXS = [None, {"name": "xyz", "fullName": "XYZ"}, {"name": "flx", "fullName": "Felix"}]
XYZ_META = {"universe": [{"name": "xyz:SP500", "szDecimals": 3}]}
FLX_META = {"universe": [{"name": "flx:TSLA", "szDecimals": 1}, {"name": "flx:NVDA", "szDecimals": 2}]}


def serve_all(srv: ScriptedInfoServer) -> None:
    payloads = real_payloads()
    payloads["perpDexs"] = PERP_DEXS
    srv.serve(payloads)

    def meta(body: dict[str, Any]) -> tuple[Any, ...]:
        dex = body.get("dex") or ""
        table = {"": payloads["meta"], "xyz": XYZ_META, "flx": FLX_META}
        return ("json", table[dex]) if dex in table else ("status", 422, b"unknown dex")

    srv.set("meta", meta)


@pytest.fixture
def srv() -> Any:
    with ScriptedInfoServer() as s:
        serve_all(s)
        yield s


def types_requested(srv: ScriptedInfoServer) -> list[tuple[str, str]]:
    return sorted((b.get("type", ""), b.get("dex") or "") for _, b in srv.requests)


def test_construction_does_no_io_and_loads_only_what_a_coin_needs(srv: ScriptedInfoServer) -> None:
    service = MetadataService(TTLCache(), sync_fetcher(srv.url), timeout=2)
    assert srv.requests == []
    assert service.market("BTC").asset_id("BTC") == 0
    assert types_requested(srv) == [("meta", "")]
    assert service.market("@107").asset_id("@107") == 10107
    assert types_requested(srv) == [("meta", ""), ("spotMeta", "")]
    assert service.market("flx:NVDA").asset_id("flx:NVDA") == 120001
    assert types_requested(srv) == [("meta", ""), ("meta", "flx"), ("perpDexs", ""), ("spotMeta", "")]
    service.market("ETH")
    service.market("xyz:SP500")  # perpDexs now cached; only the xyz meta is new
    assert srv.count("perpDexs") == 1 and srv.count("meta", dex="xyz") == 1 and srv.count("meta") == 3


@pytest.mark.parametrize(
    ("dexes", "expected_dex_metas"),
    [("all", {"xyz", "flx"}), (["flx"], {"flx"}), ((), set())],
)
def test_full_market_honours_dex_selection(srv: ScriptedInfoServer, dexes: Any, expected_dex_metas: set[str]) -> None:
    service = MetadataService(TTLCache(), sync_fetcher(srv.url), timeout=2, dexes=dexes)
    m = service.market()
    got = {b["dex"] for _, b in srv.requests if b.get("type") == "meta" and b.get("dex")}
    assert got == expected_dex_metas
    assert srv.count("perpDexs") == (1 if expected_dex_metas else 0)
    assert ("flx:TSLA" in m) == ("flx" in expected_dex_metas)
    assert m.asset_id("PURR/USDC") == 10000 and m.asset_id("ARB") == 11


def test_1000_threads_cold_cache_one_request(srv: ScriptedInfoServer) -> None:
    payload = real_payloads()["meta"]
    srv.set("meta", ("delay", 0.2, ("json", payload)))
    service = MetadataService(TTLCache(), sync_fetcher(srv.url), timeout=5)
    barrier = threading.Barrier(1000)
    ids: list[int] = []
    lock = threading.Lock()

    def reader() -> None:
        barrier.wait()
        asset = service.market("ETH").asset_id("ETH")
        with lock:
            ids.append(asset)

    threads = [threading.Thread(target=reader) for _ in range(1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert ids == [1] * 1000
    assert srv.count("meta") == 1


async def test_1000_tasks_cold_cache_one_request(srv: ScriptedInfoServer) -> None:
    payload = real_payloads()["spotMeta"]
    srv.set("spotMeta", ("delay", 0.2, ("json", payload)))
    service = MetadataService(TTLCache(), async_fetcher(srv.url, 5), timeout=5)
    markets = await asyncio.gather(*(service.amarket("PURR/USDC") for _ in range(1000)))
    assert {m.asset_id("HYPE/USDC") for m in markets} == {10107}
    assert srv.count("spotMeta") == 1


def test_new_listing_triggers_one_refresh(srv: ScriptedInfoServer) -> None:
    cache = TTLCache()
    eager = MetadataService(cache, sync_fetcher(srv.url), timeout=2, unknown_coin_refresh=0)
    lazy = MetadataService(cache, sync_fetcher(srv.url), timeout=2, unknown_coin_refresh=3600)
    eager.market("BTC")
    meta = real_payloads()["meta"]
    listed = {"universe": [*meta["universe"], {"name": "NEWCOIN", "szDecimals": 0}]}
    srv.set("meta", ("json", listed))
    with pytest.raises(InvalidInputError):
        lazy.market("NEWCOIN").asset_id("NEWCOIN")  # cached meta is young: no refetch
    assert srv.count("meta") == 1
    assert eager.market("NEWCOIN").asset_id("NEWCOIN") == 12
    assert srv.count("meta") == 2
    with pytest.raises(InvalidInputError) as info:
        eager.market("STILLNOPE").asset_id("STILLNOPE")
    assert info.value.field == "coin"


def test_mids_on_demand(srv: ScriptedInfoServer) -> None:
    service = MetadataService(TTLCache(), sync_fetcher(srv.url), timeout=2)
    assert service.mids()["BTC"] == Decimal("23202.5")
    assert service.mid("ETH") == Decimal("1607.7")
    assert service.mid("ARB") is None
    assert srv.count("allMids") == 1  # second read came from the cache
    assert service.market("BTC").mid("ATOM") == Decimal("12.249")
    srv.set("allMids", ("json", {"BTC": "30000", "ETH": "2000.5"}))
    assert service.mid("ETH") == Decimal("1607.7")  # still fresh within mids_ttl
    time.sleep(0.06)
    assert service.mid("ETH", max_age=0.05) == Decimal("2000.5")  # too old for this caller: refreshed
    assert srv.count("allMids") == 2


def test_snapshot_is_reused_until_a_cached_piece_changes(srv: ScriptedInfoServer) -> None:
    # what every order reads: the same snapshot object while the cache holds the same answers (a builder dex
    # included), a new one as soon as any piece (here the mids) is replaced
    cache = TTLCache()
    service = MetadataService(cache, sync_fetcher(srv.url), timeout=2)
    service.market("flx:NVDA")
    service.mids()
    first = service.snapshot()
    assert service.snapshot() is first and first.asset_id("flx:NVDA") == 120001
    assert first.mid("ETH") == Decimal("1607.7")
    srv.set("allMids", ("json", {"BTC": "30000", "ETH": "2000.5"}))
    time.sleep(0.06)
    service.mid("ETH", max_age=0.05)  # refreshed: the cache now holds another mids answer
    second = service.snapshot()
    assert second is not first and second.mid("ETH") == Decimal("2000.5")
    assert second.asset_id("flx:NVDA") == 120001 and service.snapshot() is second


def test_snapshot_without_builder_dexes_is_reused_until_a_cached_piece_changes(srv: ScriptedInfoServer) -> None:
    # the same without a builder dex (the snapshot's shortest way): new mids, then a new perp answer, each make
    # a new snapshot; nothing else does
    cache = TTLCache()
    service = MetadataService(cache, sync_fetcher(srv.url), timeout=2, dexes=())
    service.market("BTC")
    service.mids()
    first = service.snapshot()
    assert service.snapshot() is first and first.mid("ETH") == Decimal("1607.7")
    srv.set("allMids", ("json", {"BTC": "30000", "ETH": "2000.5"}))
    time.sleep(0.06)
    service.mid("ETH", max_age=0.05)
    second = service.snapshot()
    assert second is not first and second.mid("ETH") == Decimal("2000.5") and service.snapshot() is second
    cache.invalidate(service._key("perp"))
    assert "BTC" not in service.snapshot()  # (the perp piece is gone: a snapshot without it)
    service.market("BTC")  # loaded again: another answer object
    third = service.snapshot()
    assert third is not second and "BTC" in third and service.snapshot() is third


def test_builder_dex_failure_is_partial_and_named(srv: ScriptedInfoServer) -> None:
    payloads = real_payloads()

    def meta(body: dict[str, Any]) -> tuple[Any, ...]:
        dex = body.get("dex") or ""
        if dex == "xyz":
            return ("status", 500, b"boom")
        return ("json", {"": payloads["meta"], "flx": FLX_META}[dex])

    srv.set("meta", meta)
    cache = TTLCache(CacheConfig(name="dex"))
    service = MetadataService(cache, sync_fetcher(srv.url, 1), timeout=1, meta_interval=5, mids_interval=5)
    manager = WarmupManager(cache, service.warmers(mids=False), backoff=Backoff(initial=0.5, maximum=1))
    manager.start()
    try:
        status = manager.wait_for(lambda s: s.settled, timeout=5)
        assert status.state == "partial"
        assert set(status.reasons) == {"perpDexs"}
        assert "xyz" in status.reasons["perpDexs"] and "flx" not in status.reasons["perpDexs"]
        assert service.market("flx:TSLA").asset_id("flx:TSLA") == 120000
        with pytest.raises(MetadataUnavailableError, match="builder dex 'xyz'"):
            service.market("xyz:SP500")
    finally:
        manager.stop()


async def test_async_fetch_needs_async_api(srv: ScriptedInfoServer) -> None:
    service = MetadataService(TTLCache(), async_fetcher(srv.url), timeout=2)
    assert service.is_async
    with pytest.raises(TypeError, match="amarket"):
        await asyncio.to_thread(service.market, "BTC")
    assert (await service.amarket("BTC")).asset_id("BTC") == 0
    assert (await service.amids())["ETH"] == Decimal("1607.7")


async def test_sync_fetch_from_async_api_runs_off_loop(srv: ScriptedInfoServer) -> None:
    srv.set("meta", ("delay", 0.2, ("json", real_payloads()["meta"])))
    service = MetadataService(TTLCache(), sync_fetcher(srv.url), timeout=2)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    m = await service.amarket("BTC")
    t.cancel()
    assert m.asset_id("BTC") == 0
    assert ticks >= 5  # the loop kept running while the blocking fetch was in a thread


#: the message when the call's own timeout ran out (not the load's: nothing says that the API is down)
CALL_RAN_OUT = r"still loading when the call's timeout ran out \(after 0\.3s\); the load goes on"


def test_a_calls_timeout_bounds_the_wait_and_later_calls_join_the_load_in_flight(srv: ScriptedInfoServer) -> None:
    srv.set("meta", ("hang",))
    service = MetadataService(TTLCache(), sync_fetcher(srv.url, 30), timeout=2)
    started = time.monotonic()
    with pytest.raises(MetadataUnavailableError, match=CALL_RAN_OUT):
        service.market("BTC", timeout=0.3)
    assert time.monotonic() - started < 1.5  # the call's 0.3 s, not the service's 2 s
    # no deadline of its own: it joins the load in flight and waits only for what is left of its 2 s; the load's own
    # window ran out, which may be the API's fault
    with pytest.raises(MetadataUnavailableError, match=r"could not load perp .* \(no answer\); the API may be down"):
        service.market("BTC")
    assert time.monotonic() - started < 3.5  # one load window (2 s), not a second one
    assert srv.count("meta") == 1
    # after the window a new load starts (the hung one is superseded) and a recovered API answers it
    srv.set("meta", ("json", real_payloads()["meta"]))
    assert service.market("BTC", timeout=5).asset_id("BTC") == 0
    assert srv.count("meta") == 2
    with pytest.raises(InvalidInputError, match="timeout"):
        service.market("BTC", timeout=-1)


async def test_async_calls_timeout_bounds_the_wait_and_later_calls_join_the_load(srv: ScriptedInfoServer) -> None:
    srv.set("meta", ("hang",))
    service = MetadataService(TTLCache(), async_fetcher(srv.url, 30), timeout=2)
    started = time.monotonic()
    with pytest.raises(MetadataUnavailableError, match=CALL_RAN_OUT):
        await service.amarket("BTC", timeout=0.3)
    assert time.monotonic() - started < 1.5
    with pytest.raises(MetadataUnavailableError, match=r"could not load perp .* \(no answer\); the API may be down"):
        await service.amarket("BTC")
    assert time.monotonic() - started < 3.5
    assert srv.count("meta") == 1
    srv.set("meta", ("json", real_payloads()["meta"]))
    assert (await service.amarket("BTC", timeout=5)).asset_id("BTC") == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_coin_of_a_builder_dex_perp_dexs_does_not_list_is_refused_without_asking_for_its_metadata(
    srv: ScriptedInfoServer, mode: str
) -> None:
    """``abc:FOO`` when ``perpDexs`` lists only xyz and flx: the coin is refused as bad input naming the listed dexes
    (not "metadata unavailable, the API may be down"), no ``meta(dex=abc)`` is requested; a list older than
    ``unknown_coin_refresh`` is asked again once first (the dex may be new), and a listed dex still resolves."""

    def market(service: MetadataService, coin: str) -> Any:
        if mode == "sync":
            return service.market(coin)
        return asyncio.run(service.amarket(coin))

    fetch = sync_fetcher(srv.url) if mode == "sync" else async_fetcher(srv.url)
    service = MetadataService(TTLCache(), fetch, timeout=2, unknown_coin_refresh=3600)
    with pytest.raises(InvalidInputError) as info:
        market(service, "abc:FOO")
    assert info.value.field == "coin" and "'xyz', 'flx'" in str(info.value) and "abc:FOO" in str(info.value)
    assert srv.count("meta", dex="abc") == 0 and srv.count("perpDexs") == 1
    with pytest.raises(InvalidInputError):
        market(service, "abc:FOO")
    assert srv.count("perpDexs") == 1  # a fresh list is not asked again
    assert market(service, "xyz:SP500").asset_id("xyz:SP500") == 110000
    service.unknown_coin_refresh = 0.0  # the list is old now: asked again once before refusing
    with pytest.raises(InvalidInputError):
        market(service, "abc:FOO")
    assert srv.count("perpDexs") == 2 and srv.count("meta", dex="abc") == 0


@pytest.mark.parametrize("dexes", ["all", ()])
def test_the_snapshot_reused_by_the_cache_generation_is_the_one_the_cache_values_make(
    srv: ScriptedInfoServer, dexes: Any
) -> None:
    # snapshot() returns its last snapshot while the cache's generation is unchanged (one comparison per order);
    # after any change of the cache (a piece replaced, invalidated, reloaded, the cache cleared, a cache.hit
    # listener turning the lock-free table off) it is exactly what the cache's values make now
    import copy
    import random

    from hyperliquid_client.runtime.events import EventBus

    rng = random.Random(8)
    bus = EventBus()
    cache = TTLCache(events=bus)
    service = MetadataService(cache, sync_fetcher(srv.url), timeout=2, dexes=dexes)
    coins = ["BTC", "ETH", "flx:NVDA", "xyz:SP500"] if dexes == "all" else ["BTC", "ETH"]
    pieces = ["perp", "spot", "perpDexs", "mids"] + (["dex:flx", "dex:xyz"] if dexes == "all" else [])
    stop: Any = None
    reused = 0
    for _ in range(300):
        op = rng.randrange(7)
        key = service._key(rng.choice(pieces))
        if op == 0:
            service.market(rng.choice(coins))
            service.mids()
        elif op == 1 and cache.fresh(key) is not None:  # the same answer again: another object
            cache.set(key, copy.deepcopy(cache.fresh(key)), ttl=60)
        elif op == 2:
            cache.invalidate(key)
        elif op == 3 and rng.random() < 0.2:
            cache.clear()
        elif op == 4:
            if stop is None:
                stop = bus.subscribe("cache.hit", lambda e: None)
            else:
                stop()
                stop = None
        for _ in range(2):
            memo = service._generation_memo
            snap = service.snapshot()
            reused += memo is not None and snap is memo[1] and memo[0] == cache.generation
            assert snap is service._snapshot_now()
    assert reused > 100  # (the one-comparison way was taken, not only the slow one)
