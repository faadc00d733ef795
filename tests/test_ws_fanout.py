"""Fan-out through shared feeds: one decoded item per message and decoder, handed to every subscriber; each
subscriber's bound and overflow policy still hold on its own.

Frames go straight to the client's frame handler (no socket): what is tested is delivery.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from test_ws_support import ALL_MIDS, L2BOOK, USER_A, USER_FILLS

from hyperliquid_client.runtime.events import Event
from hyperliquid_client.runtime.ws import ChannelInfo, WsClient, WsConfig
from hyperliquid_client.runtime.ws.messages import BufferOverflowError, Dropped, Interrupted, Message

BOOK = {"coin": "BTC"}


def book(i: int) -> str:
    return json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "time": i, "levels": [[], []]}})


@pytest.fixture
async def client() -> AsyncIterator[WsClient]:
    # nothing listens on port 9 and the backoff is long: the connection object routes, never connects
    ws = WsClient("ws://127.0.0.1:9/ws", config=WsConfig(reconnect_base=60.0, reconnect_max=60.0))
    yield ws
    await ws.close()


def times(items: Any) -> list[int]:
    return [m.data["time"] for m in items if isinstance(m, Message)]


def feed(client: WsClient, sub: Any, frames: list[str]) -> None:
    for frame in frames:
        client._on_frame(sub._sink.upstream.conn, frame)


async def test_every_subscriber_gets_the_same_item_decoded_once(client: WsClient) -> None:
    calls: list[Any] = []

    def decode(data: Any) -> tuple[str, int]:
        calls.append(data)
        return ("decoded", data["time"])

    raw = [await client.subscribe(L2BOOK, BOOK) for _ in range(3)]
    typed = [await client.subscribe(L2BOOK, BOOK, decode=decode) for _ in range(3)]
    feed(client, raw[0], [book(i) for i in range(5)])
    assert len(calls) == 5  # once per message, not per subscriber
    raw_items = [s.drain() for s in raw]
    typed_items = [s.drain() for s in typed]
    for items in (*raw_items, *typed_items):
        assert len(items) == 5 and all(type(m) is Message for m in items)
    for i in range(5):
        assert raw_items[0][i] is raw_items[1][i] is raw_items[2][i]  # one immutable item, shared
        assert typed_items[0][i] is typed_items[1][i] is typed_items[2][i]
        assert raw_items[0][i].data == {"coin": "BTC", "time": i, "levels": [[], []]}
        assert typed_items[0][i].data == ("decoded", i)
    assert all(s.delivered == 5 and s.buffered == 0 for s in (*raw, *typed))


async def test_a_backlog_comes_in_one_step_in_order_and_a_late_subscriber_sees_only_what_follows(
    client: WsClient,
) -> None:
    early = await client.subscribe(L2BOOK, BOOK)
    feed(client, early, [book(i) for i in range(10)])
    late = await client.subscribe(L2BOOK, BOOK)
    feed(client, early, [book(i) for i in range(10, 13)])
    assert [m.data["time"] for m in early.drain()] == list(range(13))
    assert early.drain() == [] and early.get_nowait() is None
    assert [m.data["time"] for m in late.drain()] == [10, 11, 12]


async def test_a_slow_subscriber_drops_its_oldest_while_a_fast_one_loses_nothing(client: WsClient) -> None:
    drops: list[Event] = []
    client.events.subscribe("ws.drop", drops.append)
    fast = await client.subscribe(L2BOOK, BOOK, buffer_size=5)
    slow = await client.subscribe(L2BOOK, BOOK, buffer_size=5)
    got: list[Any] = []
    for i in range(50):
        feed(client, fast, [book(i)])
        got.extend(fast.drain())
    assert [m.data["time"] for m in got] == list(range(50))
    items = slow.drain()
    assert items[0] == Dropped(45, 45, "drop_oldest")
    assert [m.data["time"] for m in items[1:]] == list(range(45, 50))
    assert [e["dropped"] for e in drops] == [1, 2, 4, 8, 16, 32]  # never silent, bounded volume
    assert slow.dropped == 45 and slow.delivered == 5 and fast.dropped == 0


async def test_markers_survive_the_oldest_being_dropped(client: WsClient) -> None:
    slow = await client.subscribe(L2BOOK, BOOK, buffer_size=3)
    up = slow._sink.upstream
    feed(client, slow, [book(0), book(1)])
    up.broadcast(Interrupted("lost"))
    feed(client, slow, [book(i) for i in range(2, 10)])
    items = slow.drain()
    assert Interrupted("lost") in items
    assert sum(m.count for m in items if isinstance(m, Dropped)) == 7
    assert [m.data["time"] for m in items if isinstance(m, Message)] == [7, 8, 9]


async def test_drop_newest_keeps_what_it_holds_then_takes_messages_again(client: WsClient) -> None:
    sub = await client.subscribe(L2BOOK, BOOK, buffer_size=3, overflow="drop_newest")
    other = await client.subscribe(L2BOOK, BOOK, buffer_size=100)
    feed(client, sub, [book(i) for i in range(8)])
    items = sub.drain()
    assert items[0] == Dropped(5, 5, "drop_newest")
    assert [m.data["time"] for m in items[1:]] == [0, 1, 2]
    feed(client, sub, [book(8), book(9)])
    assert [m.data["time"] for m in sub.drain()] == [8, 9]
    assert [m.data["time"] for m in other.drain()] == list(range(10))


async def test_block_holds_the_producer_until_the_slow_subscriber_reads_and_loses_nothing(
    client: WsClient,
) -> None:
    slow = await client.subscribe(L2BOOK, BOOK, buffer_size=2, overflow="block")
    fast = await client.subscribe(L2BOOK, BOOK, buffer_size=100)
    conn = slow._sink.upstream.conn
    assert client._on_frame(conn, book(0)) is None
    assert client._on_frame(conn, book(1)) is None
    blocked = client._on_frame(conn, book(2))
    assert blocked == [slow._sink]  # the reader waits for it before reading the next frame
    waiting = asyncio.ensure_future(slow._sink.wait_space())
    await asyncio.sleep(0)
    assert not waiting.done()
    first = slow.get_nowait()
    while not isinstance(first, Message):  # (a marker about the connection may come first)
        first = slow.get_nowait()
    assert first.data["time"] == 0
    await asyncio.wait_for(waiting, 1)
    assert times(slow.drain()) == [1, 2]
    assert times(fast.drain()) == [0, 1, 2]
    assert slow.dropped == 0


async def test_user_data_overflow_fails_loudly_keeps_what_fitted_and_says_where_to_recover(
    client: WsClient,
) -> None:
    fills = await client.subscribe(USER_FILLS, {"user": USER_A}, buffer_size=3)
    other = await client.subscribe(USER_FILLS, {"user": USER_A}, buffer_size=100)
    frames = [
        json.dumps(
            {"channel": "userFills", "data": {"user": USER_A, "fills": [{"hash": f"h{i}", "tid": i, "time": i}]}}
        )
        for i in range(1, 6)
    ]
    feed(client, fills, frames)
    assert fills.closed and isinstance(fills.error, BufferOverflowError)
    assert fills.error.since_ms == 3  # the newest item it still holds: what follows may be missing
    kept = fills.drain()
    assert [m.data["fills"][0]["tid"] for m in kept] == [1, 2, 3]
    with pytest.raises(BufferOverflowError):
        fills.drain()
    assert [m.data["fills"][0]["tid"] for m in other.drain()] == [1, 2, 3, 4, 5]


async def test_memory_stays_bounded_and_a_cancelled_subscriber_leaves_the_others_alone(client: WsClient) -> None:
    subs = [await client.subscribe(ALL_MIDS, {}, buffer_size=50) for _ in range(3)]
    for i in range(5000):
        feed(client, subs[0], [json.dumps({"channel": "allMids", "data": {"mids": {"BTC": str(i)}}})])
        if i % 40 == 0:
            subs[0].drain()
    shared = subs[0]._sink.feed
    assert shared is not None and len(shared.items) <= 2 * 50 + 128  # the slowest read 50 at most
    subs[1].cancel()
    feed(client, subs[0], [json.dumps({"channel": "allMids", "data": {"mids": {"BTC": "x"}}})])
    assert subs[0].drain()[-1].data == {"mids": {"BTC": "x"}}  # type: ignore[union-attr]
    assert subs[2].drain()[-1].data == {"mids": {"BTC": "x"}}  # type: ignore[union-attr]
    subs[0].cancel()
    subs[2].cancel()
    assert client.upstream_subscription_count() == 0


async def test_a_message_every_subscriber_has_read_is_freed(client: WsClient) -> None:
    subs = [await client.subscribe(L2BOOK, BOOK, buffer_size=1000) for _ in range(3)]
    feed(client, subs[0], [book(i) for i in range(200)])
    shared = subs[0]._sink.feed
    assert shared is not None and len(shared.items) == 200
    subs[0].drain()
    subs[1].drain()
    assert len(shared.items) == 200  # the third has not read them yet
    assert len(subs[2].drain()) == 200
    assert shared.items == []  # nobody needs them any more: not kept up to the bound


async def test_a_subscriber_adds_at_most_three_objects_for_the_collector(client: WsClient) -> None:
    # the collector walks every tracked object on each full collection: with thousands of subscribers what each
    # one adds is what a full collection costs more (its handle, its state, its entry in the heap of overflow
    # positions)
    first = [await client.subscribe(L2BOOK, BOOK) for _ in range(10)]
    gc.collect()
    before = len(gc.get_objects())
    more = [await client.subscribe(L2BOOK, BOOK) for _ in range(200)]
    gc.collect()
    assert (len(gc.get_objects()) - before) / len(more) <= 3
    assert all(type(s._sink.own) is tuple for s in (*first, *more))  # nothing of its own: no buffer made


async def test_a_subscriber_makes_its_own_buffer_when_it_needs_one_and_gives_it_up_when_read(
    client: WsClient,
) -> None:
    sub = await client.subscribe(L2BOOK, BOOK, buffer_size=2, overflow="drop_newest")
    feed(client, sub, [book(i) for i in range(5)])  # full: it keeps its own copy of what it held
    assert len(sub._sink.own) == 2
    items = sub.drain()
    assert times(items) == [0, 1] and isinstance(items[0], Dropped) and items[0].count == 3
    assert sub._sink.own == ()
    feed(client, sub, [book(i) for i in range(5, 7)])
    assert times(sub.drain()) == [5, 6]


def level_book(i: int) -> str:
    side = [{"px": "1.0", "sz": "2.0", "n": 1}]
    return json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "time": i, "levels": [side, side]}})


async def test_a_waiting_raw_message_is_its_data_alone_for_the_collector(client: WsClient) -> None:
    # with many coins a backlog of tens of thousands of messages waits between reads: every tracked object one of
    # them holds is walked by each full collection, so a waiting message is its data as received (the book's dict,
    # its levels and two sides: 4) and gets its ``Message`` when it is first read
    subs = [await client.subscribe(L2BOOK, BOOK, buffer_size=1000) for _ in range(3)]
    feed(client, subs[0], [level_book(i) for i in range(10)])
    gc.collect()
    before = len(gc.get_objects())
    feed(client, subs[0], [level_book(i) for i in range(10, 310)])
    gc.collect()
    assert (len(gc.get_objects()) - before) / 300 <= 4
    one_by_one = [subs[2].get_nowait() for _ in range(5)]
    first, second = subs[0].drain(), subs[1].drain()
    assert [type(m) for m in first] == [Message] * 310 and times(first) == list(range(310))
    assert all(a is b for a, b in zip(first, second, strict=True))  # wrapped once, shared
    assert all(a is b for a, b in zip(one_by_one, first[:5], strict=True))
    assert first[0] == Message(json.loads(level_book(0))["data"], "l2Book", False)


async def test_a_message_of_another_channel_of_the_stream_keeps_its_channel(client: WsClient) -> None:
    ctx = ChannelInfo("activeAssetCtx", ("activeAssetCtx", "activeSpotAssetCtx"), (("coin", "coin"),))
    sub = await client.subscribe(ctx, {"coin": "@1"})
    frames = [
        json.dumps({"channel": channel, "data": {"coin": "@1", "ctx": {"i": i}}})
        for i, channel in enumerate(["activeAssetCtx", "activeSpotAssetCtx", "activeAssetCtx"])
    ]
    feed(client, sub, frames)
    assert [(m.channel, m.data["ctx"]["i"]) for m in sub.drain()] == [
        ("activeAssetCtx", 0),
        ("activeSpotAssetCtx", 1),
        ("activeAssetCtx", 2),
    ]


async def test_a_frame_the_fast_parser_refuses_is_read_by_the_standard_library(client: WsClient) -> None:
    sub = await client.subscribe(ALL_MIDS, {})
    feed(client, sub, ['{"channel": "allMids", "data": {"mids": {"BTC": "1"}, "x": NaN, "big": 1e400}}'])
    (message,) = sub.drain()
    assert type(message) is Message and message.data["mids"] == {"BTC": "1"}
    assert message.data["big"] == float("inf") and message.data["x"] != message.data["x"]


@pytest.mark.parametrize("feeds", [1, 2], ids=["one feed", "raw and typed feeds"])
async def test_delivered_counts_what_came_whether_taken_by_get_or_drain(client: WsClient, feeds: int) -> None:
    """A message whose decoding fails is handed out as a ``DecodeFailed``: ``delivered`` counts it, whether the
    subscriber takes it with ``get()`` or ``drain()`` (it used to count with ``drain()`` only); markers do not count."""

    def decode(data: Any) -> int:
        if data["time"] % 3 == 0:
            raise ValueError("bad")
        return int(data["time"])

    by_get, by_drain = [await client.subscribe(L2BOOK, BOOK, decode=decode) for _ in range(2)]
    others = [await client.subscribe(L2BOOK, BOOK)] if feeds == 2 else []
    feed(client, by_get, [book(i) for i in range(7)])
    got = []
    while (item := by_get.get_nowait()) is not None:
        got.append(item)
    drained = by_drain.drain()
    for items in (got, drained):
        assert [type(x).__name__ for x in items] == ["DecodeFailed", "Message", "Message"] * 2 + ["DecodeFailed"]
    assert by_get.delivered == by_drain.delivered == 7
    by_get._sink.push_marker(Interrupted("x"))
    assert by_get.get_nowait() == Interrupted("x") and by_get.delivered == 7
    assert all(s.delivered == 0 for s in others)
