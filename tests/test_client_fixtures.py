"""Every recorded payload in the recorded fixtures, served by the fake exchange and read through the public client.

The fixture directory is ``$HL_FIXTURES_DIR`` when set, else ``tests/data/fixtures``.  HTTP info
payloads go through ``client.info.<method>``; exchange answers through ``client.exchange.actions``;
WebSocket sessions are published by the fake and received through ``client.streams``.  What is asserted
holds for any valid set in the format (the structured result round-trips to the recorded JSON, decimals
exactly); particular values are checked on the owned recordings (``tests/data/owned``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hyperliquid_client.client import Client, ClientConfig
from hyperliquid_client.generated.registry import CHANNELS, REGISTRY
from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.struct import to_wire
from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig
from hyperliquid_client.runtime.ws import Message
from hyperliquid_client.testing import FakeExchange
from hyperliquid_client.testing.fixtures import Fixture, iter_fixtures
from tests.datasets import FIXTURES_DIR, OWNED_DIR

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = FIXTURES_DIR
ALL = list(iter_fixtures(FIXTURES))
INFO = [f for f in ALL if f.kind == "info"]
EXCHANGE = [f for f in ALL if f.kind == "exchange"]
WS = [f for f in ALL if f.kind == "ws"]
KEY = "0x" + "42" * 32

# Spot checks of values in the owned recordings: (path into the wire form of the result, expected value).
SPOT_CHECKS: dict[str, list[tuple[tuple[Any, ...], Any]]] = {
    "l2Book__1": [(("levels", 0, 0, "px"), "21.828"), (("coin",), "@107")],
    "userRateLimit__1": [(("nRequestsUsed",), 231), (("cumVlm",), "357.45105")],
    "allMids__1": [(("BTC",), "23202.5")],
    "candleSnapshot__1": [((0, "o"), "20.184"), ((0, "n"), 278401)],
    "userFills__1": [((0, "px"), "1.3189"), ((0, "oid"), 189324432)],
}


def _normalize(v: Any) -> Any:
    """Wire JSON with null-valued keys dropped and decimal strings compared by value."""
    if isinstance(v, dict):
        return {k: _normalize(x) for k, x in v.items() if x is not None}
    if isinstance(v, list | tuple):
        return [_normalize(x) for x in v]
    if isinstance(v, str):
        try:
            d = Decimal(v)
        except ArithmeticError:
            return v
        return d if d.is_finite() and any(c.isdigit() for c in v) and not v.startswith("0x") else v
    return v


def _dig(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _kwargs(endpoint: EndpointSpec, request: dict[str, Any]) -> dict[str, Any]:
    body = dict(request)
    body.pop("type", None)
    if "req" in body and isinstance(body["req"], dict):
        body = {**body.pop("req"), **body}
    by_wire = {p.wire: p for p in endpoint.params}
    out = {}
    for key, value in body.items():
        if value is None:
            continue
        out[by_wire[key].name] = value
    for p in endpoint.params:  # the curated files reconstructed their requests without every parameter
        if p.required and p.name not in out:
            out[p.name] = {"address": "0x" + "ab" * 20, "coin": "BTC", "str": "x", "hash": "0x" + "00" * 32}.get(
                p.type, 0
            )
    return out


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange(seed=False) as server:
        server.load_fixtures(FIXTURES)
        yield server


@pytest.fixture(scope="module")
def client(fx: FakeExchange) -> Iterator[Client]:
    config = ClientConfig(warm=False, transport=TransportConfig(retry=RetryPolicy(max_attempts=2, base_delay=0.01)))
    with Client(http_url=fx.http_url, wallet=KEY, config=config) as c:
        yield c


def test_there_are_fixtures() -> None:
    """A set with no recording of a kind would make that kind's tests pass vacuously: it fails here instead."""
    assert INFO and EXCHANGE and WS, f"{FIXTURES} lacks info, exchange or WebSocket recordings"


def _through_the_client(fixture: Fixture, client: Client, fx: FakeExchange) -> Any:
    """Request ``fixture`` through the public client; the wire form of the result (None for an error status)."""
    endpoint = REGISTRY.get(fixture.request["type"], "info")
    assert isinstance(endpoint, EndpointSpec)
    kwargs = _kwargs(endpoint, fixture.request)
    method = getattr(client.info, endpoint.name)
    if fixture.status != 200:
        with pytest.raises(errors.HTTPStatusError) as info:
            method(**kwargs)
        assert info.value.status == fixture.status
        return None
    wire = to_wire(method(**kwargs))
    assert _normalize(wire) == _normalize(fixture.response)
    assert fx.requests_for("/info", type=endpoint.wire), "the request reached the fake exchange"
    return wire


@pytest.mark.parametrize("fixture", INFO, ids=[f.name for f in INFO])
def test_info_fixture_through_the_client(fixture: Fixture, client: Client, fx: FakeExchange) -> None:
    _through_the_client(fixture, client, fx)


def test_spot_checks_of_owned_recordings_through_the_client() -> None:
    config = ClientConfig(warm=False)
    with FakeExchange(seed=False) as fake, Client(http_url=fake.http_url, config=config) as owned_client:
        fake.load_fixtures(OWNED_DIR)
        checked = 0
        for fixture in (f for f in iter_fixtures(OWNED_DIR) if f.name in SPOT_CHECKS):
            wire = _through_the_client(fixture, owned_client, fake)
            for path, expected in SPOT_CHECKS.get(fixture.name, []):
                assert _dig(wire, path) == expected, (fixture.name, path)
                checked += 1
        assert checked == sum(len(v) for v in SPOT_CHECKS.values())
        book = owned_client.info.l2_book("@107")
        assert book is not None
        assert book.levels[0][0].px == Decimal("21.828") and isinstance(book.levels[0][0].px, Decimal)
        assert isinstance(book.time, int)
        fills = owned_client.info.user_fills("0x" + "ab" * 20)
        assert fills and all(isinstance(f.px, Decimal) and isinstance(f.time, int) for f in fills)
        assert fills[0].tid is None  # 2023 fills have no tid: optional fields are None


@pytest.mark.parametrize("fixture", EXCHANGE, ids=[f.name for f in EXCHANGE])
def test_exchange_fixture_through_the_client(fixture: Fixture, client: Client) -> None:
    action_type = fixture.request["action"]["type"]
    if action_type == "order":
        result = client.exchange.actions.order(
            [{"a": 0, "b": True, "p": "100", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}], grouping="na"
        )
    elif action_type == "updateLeverage":
        result = client.exchange.actions.update_leverage(0, True, 5)
    else:
        pytest.fail(f"{fixture.name}: this test does not know how to send a {action_type!r} action yet")
    assert result.ok
    assert result.raw == fixture.response
    if action_type == "order":
        assert result.statuses[0].oid == fixture.response["response"]["data"]["statuses"][0]["resting"]["oid"]


def _replace(value: Any, old: Any, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    return new if value == old else value


def _data_messages(fixture: Fixture, user: str | None = None, coin: str | None = None) -> list[dict[str, Any]]:
    out = [m for m in fixture.response if m.get("channel") not in ("subscriptionResponse", "pong", "error")]
    for name, new in (("user", user), ("coin", coin)):
        old = fixture.request["subscription"].get(name)
        if new is not None and old != new:  # keep the recorded value consistent with the subscription
            out = [_replace(m, old, new) for m in out]
    return out


@pytest.mark.parametrize("fixture", WS, ids=[f.name for f in WS])
def test_ws_fixture_through_the_client(fixture: Fixture, client: Client, fx: FakeExchange) -> None:
    sub_msg = dict(fixture.request["subscription"])
    spec = CHANNELS[sub_msg["type"]]
    if spec.user_param and not str(sub_msg.get("user", "")).startswith("0x"):
        sub_msg["user"] = "0x" + "cd" * 20  # the curated sessions use placeholder user names
    listed = client.markets.market()
    if "coin" in sub_msg and sub_msg["coin"] not in listed:  # streams of unlisted coins are refused before sending
        sub_msg["coin"] = listed.coins[0]
    kwargs = {p.name: sub_msg[p.wire] for p in spec.params if p.wire in sub_msg}
    stream = getattr(client.streams, spec.name)(**kwargs)
    try:
        messages = _data_messages(fixture, sub_msg.get("user"), sub_msg.get("coin"))
        expected = [_normalize(m["data"]) for m in messages]
        deadline = time.monotonic() + 5
        while not any(s.get("type") == spec.wire for _, s in fx.ws_subscriptions):
            assert time.monotonic() < deadline, "the subscription never reached the fake exchange"
            time.sleep(0.01)
        for m in messages:
            assert fx.publish(sub_msg, m["data"], channel=m["channel"]) >= 1
        got: list[Any] = []
        while len(got) < len(expected):
            item = stream.get(timeout=5)
            if isinstance(item, Message):
                data = _normalize(to_wire(item.data))
                if data in expected:  # the fake's own snapshot of a user feed is not one of the recorded ones
                    got.append(data)
        assert got == expected
    finally:
        stream.close()
