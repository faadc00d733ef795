"""Transports against the local fake exchange: faults injected per route, attempts counted from
what the fake exchange recorded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport, RetryPolicy, TransportConfig
from hyperliquid_client.testing import FakeExchange, Fault

FAST = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.05)
META = {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 50}]}


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as exchange:
        exchange.set_info("meta", META)
        yield exchange


def meta(t: HttpTransport, fx: FakeExchange, **kwargs: Any) -> Any:
    return t.request_json(
        "POST", fx.http_url + "/info", body={"type": "meta"}, context="info", endpoint="info.meta", **kwargs
    )


def test_429_without_retry_after_then_success(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.rate_limited(), count=2)
    with HttpTransport(TransportConfig(retry=FAST)) as t:
        assert meta(t, fx) == META
    assert len(fx.requests_for("/info", type="meta")) == 3


def test_429_with_retry_after_waits(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.rate_limited(retry_after=0.5), count=1)
    bus = EventBus()
    retries: list[Event] = []
    bus.subscribe("request.retry", retries.append)
    with HttpTransport(TransportConfig(retry=FAST), events=bus) as t:
        start = time.monotonic()
        assert meta(t, fx) == META
        elapsed = time.monotonic() - start
    recorded = fx.requests_for("/info", type="meta")
    assert len(recorded) == 2
    assert elapsed >= 0.5
    assert [e["delay"] for e in retries] == [0.5]


def test_rate_limited_error_when_attempts_exhausted(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.rate_limited(retry_after=0.01))
    with HttpTransport() as t, pytest.raises(errors.RateLimitedError) as info:
        meta(t, fx, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    assert info.value.retry_after == pytest.approx(0.01)
    assert len(fx.requests_for("/info", type="meta")) == 3


def test_500_then_success_and_exchange_never_retried(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.status(500), count=1)
    with HttpTransport(TransportConfig(retry=FAST)) as t:
        assert meta(t, fx) == META
        assert len(fx.requests_for("/info", type="meta")) == 2
        fx.add_fault("/exchange", Fault.status(500))
        with pytest.raises(errors.HTTPStatusError) as info:
            t.request_json(
                "POST",
                fx.http_url + "/exchange",
                body={"action": {"type": "noop"}, "nonce": 1, "signature": {"r": "0x1", "s": "0x2", "v": 27}},
                context="exchange",
                endpoint="exchange.noop",
            )
    assert info.value.status == 500
    assert len(fx.requests_for("/exchange")) == 1


def test_hang_and_close_mid_body(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.hang(), count=1)
    with HttpTransport(TransportConfig(retry=FAST)) as t:
        start = time.monotonic()
        with pytest.raises(errors.TimeoutError) as timeout_info:
            meta(t, fx, timeout=0.4)
        assert time.monotonic() - start < 0.4 + 0.5
        assert timeout_info.value.request_sent is True
        fx.add_fault("/info", Fault.close_mid_body(), count=1)
        with pytest.raises(errors.TransportError) as lost:
            meta(t, fx, retry=RetryPolicy.NO_RETRY)
        assert lost.value.request_sent is True and not isinstance(lost.value, errors.TimeoutError)
        fx.add_fault("/info", Fault.close_mid_body(), count=1)
        assert meta(t, fx) == META  # an info read is retried after a lost connection
        fx.add_fault("/info", Fault.malformed_json(), count=1)
        with pytest.raises(errors.InvalidResponseError):
            meta(t, fx)


def test_unknown_info_type_is_http_422_not_retried(fx: FakeExchange) -> None:
    with HttpTransport(TransportConfig(retry=FAST)) as t, pytest.raises(errors.HTTPStatusError) as info:
        t.request_json("POST", fx.http_url + "/info", body={"type": "noSuchType"}, context="info", endpoint="info.x")
    assert info.value.status == 422 and "Failed to deserialize" in str(info.value)
    assert len(fx.requests_for("/info", type="noSuchType")) == 1


async def test_async_against_fake_exchange() -> None:
    async with FakeExchange() as fx:
        fx.set_info("meta", META)
        fx.add_fault("/info", Fault.rate_limited(retry_after=0.3), count=1)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with AsyncHttpTransport(TransportConfig(retry=FAST)) as t:
            got = await t.request_json(
                "POST", fx.http_url + "/info", body={"type": "meta"}, context="info", endpoint="info.meta"
            )
            assert got == META
            fx.add_fault("/info", Fault.hang(), count=1)
            start = time.monotonic()
            with pytest.raises(errors.TimeoutError):
                await t.request_json(
                    "POST",
                    fx.http_url + "/info",
                    body={"type": "meta"},
                    context="info",
                    endpoint="info.meta",
                    timeout=0.3,
                )
            assert time.monotonic() - start < 0.3 + 0.5
        task.cancel()
        assert len(fx.requests_for("/info", type="meta")) == 3
        assert ticks >= 20  # the loop kept running through the Retry-After wait and the hang
