"""The explorer's WebSocket feeds: bare JSON arrays (no ``channel``/``data`` envelope), routed by their items' shape."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from hyperliquid_client import AsyncClient, Client, ClientConfig, Message
from hyperliquid_client.codegen.loader import SpecError, load_spec
from hyperliquid_client.generated.registry import CHANNELS
from hyperliquid_client.generated.samples import CHANNELS as SAMPLES
from hyperliquid_client.runtime.events import Event
from hyperliquid_client.testing import FakeExchange

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ClientConfig(warm=False)
BLOCK = SAMPLES["explorerBlock"]["message"][0]
TX = SAMPLES["explorerTxs"]["message"][0]
BLOCKS = {"type": "explorerBlock"}
TXS = {"type": "explorerTxs"}


def blocks(*heights: int) -> list[dict[str, Any]]:
    return [dict(BLOCK, height=h) for h in heights]


def txs(*heights: int) -> list[dict[str, Any]]:
    return [dict(TX, block=h) for h in heights]


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange(market_snapshots=False) as server:
        yield server


def _wait_subscribed(fx: FakeExchange, *types: str) -> None:
    deadline = time.monotonic() + 10
    while not set(types) <= {s.get("type") for _, s in fx.ws_subscriptions}:
        assert time.monotonic() < deadline, "the subscriptions never reached the fake exchange"
        time.sleep(0.01)


def test_the_spec_says_how_explorer_frames_are_told_apart() -> None:
    fields = {c.wire: c.frame_field for c in CHANNELS.values() if c.explorer}
    assert fields == {"explorerBlock": "height", "explorerTxs": "action"}
    assert "height" not in TX and "action" not in BLOCK  # each marker is in one feed's items only
    assert all(c.frame_field is None for c in CHANNELS.values() if not c.explorer)


async def test_the_fake_sends_bare_arrays_for_every_explorer_frame() -> None:
    """Also what an ``on_subscribe`` hook returns: the real server never wraps these feeds."""
    async with FakeExchange(market_snapshots=False) as fake:
        fake.on_subscribe(lambda sub: blocks(7) if sub["type"] == "explorerBlock" else None)
        async with websockets.connect(fake.ws_url) as ws:
            await ws.send(json.dumps({"method": "subscribe", "subscription": BLOCKS}))
            assert json.loads(await ws.recv())["channel"] == "subscriptionResponse"
            assert json.loads(await ws.recv()) == blocks(7)
            assert fake.publish(BLOCKS, blocks(8, 9)) == 1
            assert json.loads(await ws.recv()) == blocks(8, 9)


def test_sync_streams_receive_their_own_explorer_frames(fx: FakeExchange) -> None:
    errors: list[Event] = []
    with Client(http_url=fx.http_url, config=CONFIG) as client:
        client.events.subscribe("ws.error", errors.append)
        with (
            client.streams.explorer_block() as block_stream,
            client.streams.explorer_txs() as tx_stream,
            client.streams.explorer_txs(raw=True) as raw_txs,
        ):
            _wait_subscribed(fx, "explorerBlock", "explorerTxs")
            fx.publish(BLOCKS, blocks(7, 8))
            fx.publish(TXS, txs(7))
            got = next(block_stream.data(timeout=5))
            assert [b.height for b in got] == [7, 8]
            got_txs = next(tx_stream.data(timeout=5))
            assert [(t.block, t.hash, t.user) for t in got_txs] == [(7, TX["hash"], TX["user"])]
            assert next(raw_txs.data(timeout=5)) == txs(7)
            # an empty array could be either feed's: nothing in it is lost by skipping it
            fx.publish(TXS, [])
            fx.publish(TXS, txs(9))
            assert [t.block for t in next(tx_stream.data(timeout=5))] == [9]
            assert block_stream.get_nowait() is None
    assert errors == []


async def test_async_streams_receive_their_own_explorer_frames(fx: FakeExchange) -> None:
    async with AsyncClient(http_url=fx.http_url, config=CONFIG) as client:
        block_stream = await client.streams.explorer_block()
        await asyncio.to_thread(_wait_subscribed, fx, "explorerBlock")
        fx.publish(BLOCKS, [])  # the only bare feed on the socket: an empty array is its own
        item = await block_stream.get(timeout=5)
        assert isinstance(item, Message) and item.data == ()
        tx_stream = await client.streams.explorer_txs()
        await asyncio.to_thread(_wait_subscribed, fx, "explorerTxs")
        fx.publish(TXS, txs(5, 6))
        fx.publish(BLOCKS, blocks(5))
        assert [t.block for t in await anext(tx_stream.data(timeout=5))] == [5, 6]
        assert [b.height for b in await anext(block_stream.data(timeout=5))] == [5]
        assert tx_stream.get_nowait() is None
        await block_stream.close()
        await tx_stream.close()


def test_the_loader_refuses_explorer_feeds_it_cannot_tell_apart(tmp_path: Path) -> None:
    work = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", work)
    block = work / "channels/explorerBlock.yaml"
    block.write_text(block.read_text(encoding="utf-8").replace("frame_field: height", "frame_field: hash"))
    txs_file = work / "channels/explorerTxs.yaml"
    txs_file.write_text(txs_file.read_text(encoding="utf-8").replace("frame_field: action\n", ""))
    bbo = work / "channels/bbo.yaml"
    bbo.write_text(bbo.read_text(encoding="utf-8") + "frame_field: coin\n")
    with pytest.raises(SpecError) as info:
        load_spec(work)
    problems = {(Path(i.file).name, i.path, i.message.split(" ")[0]) for i in info.value.issues}
    assert problems == {
        ("explorerBlock.yaml", "frame_field", "'hash'"),  # also a field of a transaction
        ("explorerTxs.yaml", "frame_field", "an"),  # missing
        ("bbo.yaml", "frame_field", "only"),  # not an explorer feed
    }
