"""Warm-up and metadata against the shared fake exchange (hyperliquid_client.testing) and its fault injection."""

from __future__ import annotations

import time

import pytest
from test_cache_support import async_fetcher, sync_fetcher

from hyperliquid_client.runtime.cache import Backoff, TTLCache, WarmupManager
from hyperliquid_client.runtime.errors import MetadataUnavailableError
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.markets import MetadataService
from hyperliquid_client.testing import FakeExchange, Fault
from tests.datasets import OWNED_DIR

FAST = Backoff(initial=0.05, maximum=0.2)


def make(fetch: object, bus: EventBus | None = None) -> tuple[MetadataService, WarmupManager]:
    cache = TTLCache(events=bus)
    service = MetadataService(cache, fetch, timeout=0.5, meta_interval=0.2, mids_interval=0.2)  # type: ignore[arg-type]
    return service, WarmupManager(cache, service.warmers(timeout=0.5), backoff=FAST)


def test_hanging_api_then_recovery() -> None:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe("cache.warm", events.append)
    with FakeExchange() as fx:
        handle = fx.add_fault("/info", Fault.hang())
        fetch = sync_fetcher(fx.http_url, 5)
        t0 = time.perf_counter()
        service, manager = make(fetch, bus)
        manager.start()
        assert time.perf_counter() - t0 < 0.1
        try:
            status = manager.wait_for(lambda s: s.settled, timeout=5)
            assert status.state == "failed"
            assert all("TimeoutError" in r for r in status.reasons.values())
            with pytest.raises(MetadataUnavailableError):
                service.market("BTC")
            fx.remove_fault(handle)
            t_back = time.monotonic()
            status = manager.wait_for(lambda s: s.ready, timeout=5)
            # recovery does not wait for the hung requests' 5 s transport timeout
            assert status.ready and time.monotonic() - t_back < 3
            market = service.market()
            assert market.asset_id("BTC") == 0 and market.asset_id("PURR/USDC") == 10000
            assert market.mid("BTC") is not None
            assert market.price_to_wire("BTC", market.round_price("BTC", market.mid("BTC"))) == "97000"
        finally:
            manager.stop()
    overall = [e["status"] for e in events if e["name"] == "warmup"]
    assert overall[0] == "failed" and overall[-1] == "ok"


def test_server_errors_and_garbage_then_success_with_real_payloads() -> None:
    with FakeExchange() as fx:
        fx.load_fixtures(OWNED_DIR)  # owned: the asset id of ARB is checked
        fx.add_fault("/info", Fault.status(500), count=2, match={"type": "meta"})
        fx.add_fault("/info", Fault.malformed_json(), count=2, match={"type": "spotMeta"})
        service, manager = make(sync_fetcher(fx.http_url, 1))
        manager.start()
        try:
            status = manager.wait_for(lambda s: s.ready, timeout=5)
            assert status.warmers["meta"].attempts >= 3
            assert status.warmers["spotMeta"].attempts >= 3
            m = service.market("ARB")
            assert m.asset_id("ARB") == 11
            assert len(fx.requests_for("/info", type="meta")) >= 3
        finally:
            manager.stop()


async def test_async_partial_warmup_on_fake_exchange() -> None:
    async with FakeExchange() as fx:
        fx.add_fault("/info", Fault.status(503), match={"type": "spotMeta"})
        service, manager = make(async_fetcher(fx.http_url, 1))
        t0 = time.perf_counter()
        await manager.astart()
        assert time.perf_counter() - t0 < 0.1
        try:
            status = await manager.await_for(lambda s: s.settled, timeout=5)
            assert status.state == "partial" and set(status.reasons) == {"spotMeta"}
            assert (await service.amarket("ETH")).asset_id("ETH") == 1
            with pytest.raises(MetadataUnavailableError, match="spotMeta"):
                await service.amarket("PURR/USDC")
        finally:
            await manager.astop()


def test_a_cached_map_answer_cannot_be_changed_by_one_caller_for_the_others() -> None:
    """``all_mids()`` (a map answer, cached for a second) is read-only, as a list answer is a tuple: a caller that
    changed the dict it got changed every later caller's answer (found by a tester); a typed stream's map too."""
    import copy
    import json
    import pickle
    from decimal import Decimal

    from hyperliquid_client import Client, ClientConfig
    from hyperliquid_client.runtime.struct import to_decimal, to_map

    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
        mids = client.info.all_mids()
        before = dict(mids)
        assert before and all(isinstance(v, Decimal) for v in before.values())
        with pytest.raises(TypeError):
            mids["BTC"] = Decimal(1)  # type: ignore[index]
        with pytest.raises(TypeError):
            del mids[next(iter(before))]  # type: ignore[attr-defined]
        assert client.info.all_mids() == before and dict(client.info.all_mids()) == before
    decoded = to_map({"BTC": "1.5"}, to_decimal)
    assert decoded == {"BTC": Decimal("1.5")} and isinstance(decoded, dict)
    for change in (
        lambda m: m.__setitem__("ETH", 1),
        lambda m: m.update(ETH=1),
        lambda m: m.pop("BTC"),
        lambda m: m.popitem(),
        lambda m: m.clear(),
        lambda m: m.setdefault("ETH", 1),
        lambda m: m.__ior__({"ETH": 1}),
        lambda m: m.__delitem__("BTC"),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change(decoded)
    # it pickles (multiprocessing, a disk cache), copies and serialises as the dict it is, and stays read-only
    for again in (pickle.loads(pickle.dumps(decoded)), copy.deepcopy(decoded), copy.copy(decoded)):
        assert again == decoded and type(again) is type(decoded)
        with pytest.raises(TypeError):
            again["ETH"] = Decimal(1)
    assert json.loads(json.dumps(to_map({"a": "x"}, str))) == {"a": "x"}


def test_what_an_answer_keeps_as_received_is_read_only_and_goes_back_to_wire() -> None:
    """Fields the spec does not declare (``extra``, kept on drift) and unknown variants (``Unknown``) hold the JSON
    as received, read-only at every depth: a caller editing its cached answer's ``extra`` changed every later
    caller's (found by a tester); ``to_wire`` gives the JSON back."""
    import copy
    import json
    import pickle

    from hyperliquid_client import Client, ClientConfig
    from hyperliquid_client.runtime.struct import Unknown, frozen_json, to_wire

    with FakeExchange() as fx:
        with Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
            meta = client.info.raw("meta")
        meta["newField"] = {"limits": [1, 2], "nested": {"k": [{"x": 1}]}}
        meta["universe"][0]["newAssetField"] = ["x"]
        fx.set_info("meta", meta)
        with Client(http_url=fx.http_url, config=ClientConfig(warm=False, drift="warn")) as client:
            first = client.info.meta()
            extra = first.extra["newField"]
            for change in (
                lambda: first.extra.__setitem__("injected", True),  # type: ignore[attr-defined]
                lambda: extra["limits"].append(999),
                lambda: extra["nested"]["k"][0].__setitem__("x", 2),
                lambda: first.universe[0].extra["newAssetField"].clear(),
            ):
                with pytest.raises((TypeError, AttributeError)):
                    change()
            again = client.info.meta()
            assert to_wire(again.extra["newField"]) == {"limits": [1, 2], "nested": {"k": [{"x": 1}]}}
            wire = to_wire(again)
            assert wire["newField"] == meta["newField"] and wire["universe"][0]["newAssetField"] == ["x"]
            json.dumps(wire)  # (plain JSON again)
            back = pickle.loads(pickle.dumps(again))  # (a model with extra pickles, extra staying read-only)
            assert back == again and back.extra == again.extra
            with pytest.raises(TypeError):
                back.extra["newField"]["nested"]["k"][0]["x"] = 2
    unknown = Unknown(frozen_json({"kind": "new", "items": [{"a": 1}]}))
    assert to_wire(unknown) == {"kind": "new", "items": [{"a": 1}]}
    assert pickle.loads(pickle.dumps(unknown)) == unknown == copy.deepcopy(unknown)
    with pytest.raises(TypeError):
        unknown.data["items"][0]["a"] = 2


def test_an_answer_naming_another_coin_than_asked_is_refused_and_never_cached() -> None:
    """``l2_book("BTC")`` answered with ETH's book (the spec's ``echo: {coin: coin}``): an ``InvalidResponseError``
    naming ``$.coin``, sync and async, and never cached as BTC's: each call asks again (found by a tester)."""
    import asyncio

    from hyperliquid_client import AsyncClient, Client, ClientConfig, InvalidResponseError

    with FakeExchange() as fx:
        config = ClientConfig(warm=False)
        with Client(http_url=fx.http_url, config=config) as client:
            eth = client.info.raw("l2Book", coin="ETH")
            assert eth["coin"] == "ETH"
            asked: list[str] = []
            fx.set_info("l2Book", lambda body: asked.append(body["coin"]) or eth)  # (ETH's book whatever is asked)
            for _ in range(2):
                with pytest.raises(InvalidResponseError) as info:
                    client.info.l2_book("BTC")
                assert info.value.path == "$.coin" and "'BTC', what was asked" in str(info.value)
            assert asked == ["BTC", "BTC"]  # (not cached: asked again)
            book = client.info.l2_book("ETH")  # (what was asked: read)
            assert book is not None and book.coin == "ETH"

            async def asked_async() -> None:
                async with AsyncClient(http_url=fx.http_url, config=config) as aclient:
                    with pytest.raises(InvalidResponseError):
                        await aclient.info.l2_book("BTC")

            asyncio.run(asked_async())
