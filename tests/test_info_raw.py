"""``client.info.raw(type, **body)``: any info request over HTTP, the JSON answer unchanged, sync and async."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hyperliquid_client import AsyncClient, Client, ClientConfig, EventBus, InvalidInputError
from hyperliquid_client import TimeoutError as HLTimeoutError
from hyperliquid_client.generated.models import L2Book
from hyperliquid_client.runtime.registry import DEFAULT_INFO_WEIGHT
from hyperliquid_client.testing import FakeExchange, Fault

FUTURE = {"answer": [1, "2.50", {"nested": None}], "time": 1700000000000}
CONFIG = ClientConfig(warm=False)


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as server:
        server.set_info("futureType", lambda body: {**FUTURE, "echo": body})
        yield server


def _events(bus: EventBus) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    bus.subscribe("request.*", lambda e: seen.append((e.name, dict(e.fields))))
    return seen


def test_an_unknown_type_returns_its_json_with_the_default_weight(fx: FakeExchange) -> None:
    bus = EventBus()
    seen = _events(bus)
    with Client(http_url=fx.http_url, config=CONFIG, events=bus) as client:
        answer = client.info.raw("futureType", user="0x" + "ab" * 20, limit=3)
    assert answer == {**FUTURE, "echo": {"type": "futureType", "user": "0x" + "ab" * 20, "limit": 3}}
    (sent,) = fx.requests_for("/info", type="futureType")
    assert sent.body == {"type": "futureType", "user": "0x" + "ab" * 20, "limit": 3}
    start = next(fields for name, fields in seen if name == "request.start")
    assert start["endpoint"] == "info.futureType" and start["weight"] == DEFAULT_INFO_WEIGHT == 20
    assert any(name == "request.end" for name, _ in seen)


def test_a_known_type_keeps_its_weight_and_bypasses_the_typed_cache(fx: FakeExchange) -> None:
    bus = EventBus()
    seen = _events(bus)
    with Client(http_url=fx.http_url, config=CONFIG, events=bus) as client:
        typed = client.info.l2_book("BTC")  # cached by the spec (cache ttl)
        raw = client.info.raw("l2Book", coin="BTC")
    assert isinstance(typed, L2Book)
    assert isinstance(raw, dict) and raw["coin"] == "BTC"
    assert [lv["px"] for lv in raw["levels"][0]] == [format(lv.px, "f") for lv in typed.levels[0]]
    assert len(fx.requests_for("/info", type="l2Book")) == 2  # the raw call was not served from the cache
    weights = [f["weight"] for name, f in seen if name == "request.start" and f["endpoint"] == "info.l2Book"]
    assert weights == [2, 2]


def test_raw_is_retried_and_bounded_like_every_info_call(fx: FakeExchange) -> None:
    bus = EventBus()
    seen = _events(bus)
    with Client(http_url=fx.http_url, config=CONFIG, events=bus) as client:
        fx.add_fault("/info", Fault.status(503), count=1, match={"type": "futureType"})
        assert client.info.raw("futureType")["answer"] == FUTURE["answer"]
        assert [name for name, _ in seen].count("request.retry") == 1
        fx.add_fault("/info", Fault.hang(), count=1, match={"type": "futureType"})
        started = time.monotonic()
        with pytest.raises(HLTimeoutError):
            client.info.raw("futureType", timeout=0.3)
        assert time.monotonic() - started < 5  # the deadline bounds the call (generous bound for a loaded machine)


@pytest.mark.parametrize(
    ("args", "body", "field"),
    [
        (("",), {}, "type"),
        ((5,), {}, "type"),
        (("futureType",), {"type": "other"}, "type"),
        (("futureType",), {"when": object()}, "when"),
        (("futureType",), {"px": float("nan")}, "px"),
    ],
)
def test_bad_input_is_refused_before_sending(
    fx: FakeExchange, args: tuple[Any, ...], body: dict[str, Any], field: str
) -> None:
    with Client(http_url=fx.http_url, config=CONFIG) as client, pytest.raises(InvalidInputError) as info:
        client.info.raw(*args, **body)
    assert info.value.field == field
    assert fx.requests_for("/info") == []


async def test_async_raw_behaves_the_same(fx: FakeExchange) -> None:
    bus = EventBus()
    seen = _events(bus)
    async with AsyncClient(http_url=fx.http_url, config=CONFIG, events=bus) as client:
        answer = await client.info.raw("futureType", coin="ETH")
        with pytest.raises(InvalidInputError):
            await client.info.raw("")
    assert answer["echo"] == {"type": "futureType", "coin": "ETH"}
    assert json.dumps(answer)  # plain JSON
    assert next(f for n, f in seen if n == "request.start")["weight"] == DEFAULT_INFO_WEIGHT
