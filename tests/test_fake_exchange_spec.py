"""The fake exchange speaks every endpoint and channel the spec knows.

A default fake answers every info method of the client (state-backed types from the market, the
per-user state and the engine; every other type from the spec's sample), and every channel sends the
first message its spec's ``initial`` says the real server sends — snapshots, the current state, the
trades backfill — or, for event feeds, delivers what is published.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hyperliquid_client.client import Client, ClientConfig
from hyperliquid_client.codegen.loader import SpecError, load_spec
from hyperliquid_client.generated import streams as generated_streams
from hyperliquid_client.generated.registry import CHANNELS, ENDPOINTS
from hyperliquid_client.generated.samples import CHANNELS as CHANNEL_SAMPLES
from hyperliquid_client.generated.samples import ENDPOINTS as ENDPOINT_SAMPLES
from hyperliquid_client.probe import sample_kwargs
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.runtime.registry import ChannelSpec, EndpointSpec
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.runtime.struct import parse_with, to_wire
from hyperliquid_client.runtime.ws import Message
from hyperliquid_client.testing import FakeExchange
from hyperliquid_client.testing.handlers import InfoService
from hyperliquid_client.testing.samples import sample_message

ROOT = Path(__file__).resolve().parents[1]
KEY = "0x" + "4c" * 32
INFO = sorted((e for e in ENDPOINTS.values() if e.context == "info"), key=lambda e: e.wire)
CLIENT_CHANNELS = sorted((c for c in CHANNELS.values() if not c.explorer), key=lambda c: c.wire)
EXPLORER_CHANNELS = sorted((c for c in CHANNELS.values() if c.explorer), key=lambda c: c.wire)


def seeded_coin(coin: str) -> str:
    """A coin the seeded market lists, of the same kind (spot or perp) as the sample's."""
    return "PURR/USDC" if coin.startswith("@") or "/" in coin else "BTC"


#: Every info type and channel in a few seconds: no weight limit on either side (not what is tested here).
UNLIMITED = ClientConfig(warm=False, rate=RateLimitConfig(budget=10**6))


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange(weight_limit=None) as fake:
        yield fake


@pytest.fixture(scope="module")
def client(fx: FakeExchange) -> Iterator[Client]:
    wallet = Wallet.from_key(KEY)
    fx.fund(wallet.address, 100_000)
    with Client(http_url=fx.http_url, wallet=KEY, config=UNLIMITED) as c:
        # one trade, so that the `trades` backfill and `recentTrades` have something to say
        result = c.exchange.order("BTC", True, "0.001", "98000", tif="Ioc")
        assert result.ok
        yield c


#: Info types the fake answers from its market, per-user state and engine (the rest: spec samples).
STATE_BACKED = frozenset(InfoService(None, None, None).builtin_types)  # type: ignore[arg-type]


def test_state_backed_types_are_spec_types() -> None:
    assert len(INFO) == 80
    assert {e.wire for e in INFO} >= STATE_BACKED and len(STATE_BACKED) >= 30


@pytest.mark.parametrize("endpoint", INFO, ids=[e.wire for e in INFO])
def test_every_info_method_gets_a_valid_answer(client: Client, fx: FakeExchange, endpoint: EndpointSpec) -> None:
    fx.clear_requests()
    getattr(client.info, endpoint.name)(**sample_kwargs(endpoint))  # returns a structured value: valid per the spec
    (request,) = fx.requests_for("/info", type=endpoint.wire)
    if endpoint.wire not in STATE_BACKED:
        answer = httpx.post(fx.http_url + "/info", json=request.body).json()
        assert answer == ENDPOINT_SAMPLES[endpoint.qualified_name]["response"]


def test_state_backed_answers_come_from_the_engine(client: Client, fx: FakeExchange) -> None:
    me = Wallet.from_key(KEY).address
    (trade, *_) = client.info.recent_trades("BTC")
    assert trade.coin == "BTC" and me in trade.users
    (state,) = client.info.batch_clearinghouse_states([me])
    assert state is not None and state.asset_positions[0].position.szi == Decimal("0.001")
    assert client.info.batch_clearinghouse_states(["0x" + "77" * 20]) == (None,)


def test_sample_answers_still_need_the_required_fields(fx: FakeExchange) -> None:
    for body in ({"type": "vaultDetails"}, {"type": "candleSnapshot", "req": {"coin": "BTC"}}, {"type": "nope"}):
        r = httpx.post(fx.http_url + "/info", json=body)
        assert r.status_code == 422, body
    fx.set_info("vaultDetails", {"name": "mine"})  # a response the user sets wins over the sample
    try:
        r = httpx.post(fx.http_url + "/info", json={"type": "vaultDetails", "vaultAddress": "0x" + "1" * 40})
        assert r.json() == {"name": "mine"}
    finally:
        fx.set_info("vaultDetails", lambda body: ENDPOINT_SAMPLES["info.vaultDetails"]["response"])


def _kwargs(channel: ChannelSpec) -> dict[str, Any]:
    return sample_kwargs(channel, coins=seeded_coin)


@pytest.mark.parametrize("channel", CLIENT_CHANNELS, ids=[c.wire for c in CLIENT_CHANNELS])
def test_every_channel_gets_a_valid_first_message(client: Client, fx: FakeExchange, channel: ChannelSpec) -> None:
    sub = getattr(client.streams, channel.name)(**_kwargs(channel))
    try:
        if channel.initial == "none":  # event feeds: nothing until something happens; publish the sample
            _wait_subscribed(fx, channel)
            norm = next(s for _, s in fx.ws_subscriptions if s["type"] == channel.wire)
            assert fx.publish(norm, sample_message(channel.wire, norm)) == 1
        item = sub.get(timeout=10)
        while not isinstance(item, Message):
            item = sub.get(timeout=10)
        if channel.initial == "snapshot":
            assert to_wire(item.data)["isSnapshot"] is True
        if channel.wire == "trades":
            assert to_wire(item.data)[0]["coin"] == "BTC"  # the backfill holds the fixture's trade
    finally:
        sub.close()


def _wait_subscribed(fx: FakeExchange, channel: ChannelSpec) -> None:
    deadline = time.monotonic() + 10
    while not any(s["type"] == channel.wire for _, s in fx.ws_subscriptions):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_first_messages_follow_the_engine(client: Client, fx: FakeExchange) -> None:
    book = client.streams.l2_book("ETH")
    try:
        item = book.get(timeout=10)
        while not isinstance(item, Message):
            item = book.get(timeout=10)
        assert to_wire(item.data)["levels"] == fx.market.l2_book("ETH")["levels"]  # type: ignore[index]
    finally:
        book.close()


@pytest.mark.parametrize("channel", EXPLORER_CHANNELS, ids=[c.wire for c in EXPLORER_CHANNELS])
async def test_explorer_feeds_are_bare_arrays(channel: ChannelSpec) -> None:
    decode = getattr(generated_streams, f"_m_{channel.name}")
    async with FakeExchange() as fake, websockets.connect(fake.ws_url) as ws:
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": channel.wire}}))
        ack = json.loads(await ws.recv())
        assert ack["channel"] == "subscriptionResponse"
        sample = CHANNEL_SAMPLES[channel.wire]["message"]
        assert fake.publish({"type": channel.wire}, sample) == 1
        frame = json.loads(await ws.recv())
        assert frame == sample and isinstance(frame, list)
        parse_with(decode, frame)


def test_initial_goes_with_snapshot_in_the_spec(tmp_path: Path) -> None:
    root = ROOT / "spec"
    work = tmp_path / "spec"
    shutil.copytree(root, work)
    trades = work / "channels/trades.yaml"
    trades.write_text(trades.read_text(encoding="utf-8").replace("initial: backfill", "initial: snapshot"))
    fills = work / "channels/userFills.yaml"
    fills.write_text(fills.read_text(encoding="utf-8").replace("snapshot: true", "snapshot: true\ninitial: state"))
    with pytest.raises(SpecError) as info:
        load_spec(work)
    problems = {(Path(i.file).name, i.path) for i in info.value.issues}
    assert problems == {("trades.yaml", "initial"), ("userFills.yaml", "initial")}
    assert load_spec(root).channels  # the shipped spec is consistent
    assert {c.wire for c in CHANNELS.values() if c.initial == "snapshot"} == {
        c.wire for c in CHANNELS.values() if c.snapshot
    }
