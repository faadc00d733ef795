"""Storage through the client: storable info responses and ``store=True`` subscriptions, no duplicates."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pgcluster import PgCluster, pg_cluster, pg_dsn  # noqa: F401 - fixtures

import hyperliquid_client.client
from hyperliquid_client.client import AsyncClient, Client, ClientConfig
from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.storage import KINDS, StorageConfig
from hyperliquid_client.runtime.ws import Message
from hyperliquid_client.testing import FakeExchange
from tests.datasets import fixtures

ROOT = Path(__file__).resolve().parents[1]
USER = "0x" + "ab" * 20
FILLS = fixtures("userFills")[0]["response"][:20]  # a recording's fills, whatever set HL_FIXTURES_DIR names


def test_http_then_websocket_replay_stores_each_fill_once() -> None:
    config = ClientConfig(warm=False, storage=StorageConfig(flush_interval=0.05))
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=config) as client:
        fx.set_info("userFills", FILLS)
        assert len(client.info.user_fills(USER)) == len(FILLS)
        assert client.storage is not None
        sub = client.streams.user_fills(USER, store=True)
        deadline = time.monotonic() + 5
        while not any(s.get("type") == "userFills" for _, s in fx.ws_subscriptions):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        replayed = FILLS[: max(1, len(FILLS) // 2)]
        fx.publish({"type": "userFills", "user": USER}, {"user": USER, "fills": replayed})
        got = 0
        while got < len(replayed):
            item = sub.get(timeout=5)
            if isinstance(item, Message) and not item.data.is_snapshot:
                got += len(item.data.fills)
        sub.close()
        assert client.storage.flush(timeout=5)
        rows = client.storage.backend.read_fills(USER)
        distinct = {KINDS["fills"].key_of(KINDS["fills"].normalize(f, USER)) for f in FILLS}
        assert len(rows) == len(distinct)  # one row per fill of the HTTP answer; the replayed ones are the same rows
        assert client.storage.stats().written >= len(FILLS)


def test_store_on_a_channel_without_storable_data_is_refused() -> None:
    config = ClientConfig(warm=False, storage=StorageConfig())
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=config) as client:
        with pytest.raises(InvalidInputError) as info:
            client.streams.l2_book("BTC", store=True)
        assert info.value.field == "store"


def test_store_without_storage_configured_is_refused() -> None:
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
        with pytest.raises(InvalidInputError, match="storage"):
            client.streams.trades("BTC", store=True)
        assert fx.ws_subscriptions == []


def test_close_never_hangs_while_the_database_is_down(
    pg_cluster: PgCluster,  # noqa: F811 - the fixture
    pg_dsn: str,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hyperliquid_client.client, "STORAGE_CLOSE_TIMEOUT", 0.5)
    config = ClientConfig(warm=False, storage=StorageConfig(dsn=pg_dsn, retry_base=0.05, retry_max=0.2))
    with FakeExchange() as fx:
        client = Client(http_url=fx.http_url, config=config)
        fx.set_info("userFills", FILLS[:3])
        pg_cluster.stop()
        try:
            client.info.user_fills(USER)
            started = time.monotonic()
            client.close()
            assert time.monotonic() - started < 5
            assert client.storage is not None
            stats = client.storage.stats()
            assert stats.dropped == 3 and stats.written == 0  # reported, not silently lost
        finally:
            pg_cluster.start()


def test_twap_slice_fills_keep_their_twap_id() -> None:
    """Each slice's ``twapId`` sits beside its fill (the fill's own ``twapId`` is null): it is stored."""
    recorded = fixtures("userTwapSliceFills")[0]["response"]
    config = ClientConfig(warm=False, storage=StorageConfig(flush_interval=0.05))
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=config) as client:
        fx.set_info("userTwapSliceFills", recorded)
        slices = client.info.user_twap_slice_fills(USER)
        assert client.storage is not None and client.storage.flush(timeout=5)
        rows = client.storage.backend.read_fills(USER)
        assert len(rows) == len(slices) == len(recorded)
        by_tid = {r["tid"]: r for r in rows}
        for wire in recorded:
            row = by_tid[wire["fill"]["tid"]]
            assert row["twap_id"] == wire["twapId"] is not None
            assert row.raw["twapId"] == wire["twapId"]


def test_user_events_and_twap_slice_fills_subscriptions_store_their_fills() -> None:
    """Channels whose spec marks them storable store through ``store=True`` (userEvents data arrive on
    channel ``user`` and carry no user: the subscription's is used)."""
    twap = fixtures("ws_userTwapSliceFills")[0]["response"][-1]["data"]
    config = ClientConfig(warm=False, storage=StorageConfig(flush_interval=0.05))
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=config) as client:
        assert client.storage is not None
        events = client.streams.user_events(USER, store=True)
        slices = client.streams.user_twap_slice_fills(USER, store=True)
        deadline = time.monotonic() + 5
        while len(fx.ws_subscriptions) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        fx.publish({"type": "userEvents", "user": USER}, {"fills": FILLS[:3]}, channel="user")  # up to 3
        fx.publish({"type": "userTwapSliceFills", "user": USER}, {**twap, "user": USER})
        assert isinstance(events.get(timeout=5), Message)
        assert isinstance(slices.get(timeout=5), Message)
        expected = len(FILLS[:3]) + len(twap["twapSliceFills"])
        deadline = time.monotonic() + 5  # the fake's snapshot of the user's slices may be the message read first
        while True:
            assert client.storage.flush(timeout=5)
            rows = client.storage.backend.read_fills(USER)
            if len(rows) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert len(rows) == expected
        twap_ids = sorted(r["twap_id"] for r in rows if r["twap_id"] is not None)
        assert twap_ids == sorted(s["twapId"] for s in twap["twapSliceFills"])
        events.close()
        slices.close()


def _recorded_frames(channel: str) -> tuple[dict[str, Any], list[Any], int]:
    """A recording's subscription, the data of its ``channel`` frames and how many rows they store."""
    recording = fixtures(f"ws_{channel}")[0]
    frames = [m["data"] for m in recording["response"] if m.get("channel") == channel]
    assert frames, f"the ws_{channel} recording has no {channel} frame"
    rows = len({t["tid"] for f in frames for t in f}) if channel == "trades" else len({f["t"] for f in frames})
    return recording["request"]["subscription"], frames, rows


@pytest.mark.parametrize("channel", ["trades", "candle"])
@pytest.mark.parametrize("hub", ["sync", "async"])
def test_market_data_subscribed_with_store_is_stored_as_it_arrives_read_or_not(channel: str, hub: str) -> None:
    """A collector that subscribes with ``store=True`` and never reads: every message reaches the writer as it
    arrives (counted, flushed), not when (or if) a subscriber reads it — it used to wait, unread, as the frame's text
    in the subscription's buffer, outside the writer's count: ``flush()`` said all was written, a kill lost it."""
    subscription, frames, rows = _recorded_frames(channel)
    params = {k: v for k, v in subscription.items() if k != "type"}
    config = ClientConfig(warm=False, storage=StorageConfig(flush_interval=0.05))
    with FakeExchange() as fx:
        if hub == "sync":
            with Client(http_url=fx.http_url, ws_url=fx.ws_url, config=config) as client:
                sub = getattr(client.streams, channel)(**params, store=True)
                _publish_when_subscribed(fx, subscription, frames)
                _wait_stored(client, channel, params, rows)
                assert sub.delivered == 0  # (unread all along)
        else:

            async def run() -> None:
                async with AsyncClient(http_url=fx.http_url, ws_url=fx.ws_url, config=config) as client:
                    sub = await getattr(client.streams, channel)(**params, store=True)
                    await asyncio.to_thread(_publish_when_subscribed, fx, subscription, frames)
                    await asyncio.to_thread(_wait_stored, client, channel, params, rows)
                    assert sub.delivered == 0

            asyncio.run(run())


def _publish_when_subscribed(fx: FakeExchange, subscription: dict[str, Any], frames: list[Any]) -> None:
    deadline = time.monotonic() + 10
    while not any(s.get("type") == subscription["type"] for _, s in fx.ws_subscriptions):
        assert time.monotonic() < deadline, "the subscription never reached the fake exchange"
        time.sleep(0.01)
    for data in frames:
        fx.publish(subscription, data)


def _wait_stored(client: Any, channel: str, params: dict[str, Any], rows: int) -> None:
    """Until the unread stream's rows are stored; ``flush()`` then has nothing the writer was not given."""
    backend = client.storage.backend
    read = (
        (lambda: backend.read_trades(params["coin"]))
        if channel == "trades"
        else (lambda: backend.read_candles(params["coin"], params["interval"]))
    )
    deadline = time.monotonic() + 10
    while len(read()) < rows:
        assert time.monotonic() < deadline, f"the unread {channel} stream was not stored: {client.storage.stats()}"
        time.sleep(0.02)
    assert client.storage.flush(timeout=5) and len(read()) == rows
