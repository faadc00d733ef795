"""WebSocket runtime: pure parts (identity, validation, routing values, buffers, config) without sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from test_ws_support import CANDLE, L2BOOK, TRADES, USER_A, USER_FILLS

from hyperliquid_client.runtime.errors import ConfigError, InvalidInputError
from hyperliquid_client.runtime.ws import (
    BufferOverflowError,
    ChannelInfo,
    Dropped,
    Interrupted,
    Message,
    WsClient,
    WsConfig,
    make_key,
    validate_params,
)
from hyperliquid_client.runtime.ws.channels import echo_matches, key_from_echo, route_of_params, route_value
from hyperliquid_client.runtime.ws.recovery import Window, next_windows
from hyperliquid_client.runtime.ws.subscription import _Feed, _Sink


def test_identity_is_type_plus_every_param() -> None:
    a = make_key("l2Book", {"coin": "BTC"})
    b = make_key("l2Book", {"coin": "BTC", "nSigFigs": 5})
    c = make_key("l2Book", {"nSigFigs": None, "coin": "BTC", "mantissa": None})
    assert a != b
    assert a == c and hash(a) == hash(c)
    assert make_key("userFills", {"user": USER_A.upper().replace("0X", "0x")}) == make_key(
        "userFills", {"user": USER_A}
    )
    assert make_key("l2Book", {"coin": "kPEPE"}) != make_key("l2Book", {"coin": "KPEPE"})  # coins keep their case
    assert make_key("l2Book", {"coin": "BTC", "fast": True}) != make_key("l2Book", {"coin": "BTC", "fast": 1})
    assert json.loads(str(b)) == {"type": "l2Book", "coin": "BTC", "nSigFigs": 5}
    assert b.subscription == {"type": "l2Book", "coin": "BTC", "nSigFigs": 5}


def test_normalized_echo_matches_only_its_subscription() -> None:
    echo = key_from_echo(
        {"type": "l2Book", "fast": False, "mantissa": None, "nSigFigs": None, "coin": "BTC"}
    )  # key order not guaranteed
    assert echo is not None
    assert echo_matches(make_key("l2Book", {"coin": "BTC"}), echo)
    assert not echo_matches(make_key("l2Book", {"coin": "BTC", "nSigFigs": 5}), echo)
    assert not echo_matches(make_key("l2Book", {"coin": "ETH"}), echo)
    echo5 = key_from_echo({"type": "l2Book", "coin": "BTC", "nSigFigs": 5, "mantissa": None, "fast": False})
    assert echo5 is not None and not echo_matches(make_key("l2Book", {"coin": "BTC"}), echo5)


@pytest.mark.parametrize(
    ("channel", "params", "field"),
    [
        (L2BOOK, {}, "params.coin"),
        (L2BOOK, {"coin": ""}, "params.coin"),
        (L2BOOK, {"coin": ["BTC", "ETH"]}, "params.coin"),
        (L2BOOK, {"coin": "BTC", "type": "trades"}, "params.type"),
        (L2BOOK, {"coin": "BTC", "nSigFigs": float("nan")}, "params.nSigFigs"),
        (CANDLE, {"coin": "BTC"}, "params.interval"),
        (USER_FILLS, {"user": "0x123"}, "params.user"),
        (USER_FILLS, {}, "params.user"),
        (L2BOOK, ["coin", "BTC"], "params"),
    ],
)
def test_validation_names_the_bad_parameter(channel: ChannelInfo, params: object, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_params(channel, params)
    assert info.value.field == field


def test_validation_returns_clean_params() -> None:
    assert validate_params(L2BOOK, {"coin": "BTC", "nSigFigs": None, "type": "l2Book"}) == {"coin": "BTC"}
    with pytest.raises(InvalidInputError):
        validate_params("l2Book", {"coin": "BTC"})  # type: ignore[arg-type]


def test_route_values_from_data() -> None:
    assert route_value({"coin": "BTC", "time": 1}, "coin") == "BTC"
    assert route_value([{"coin": "ETH", "px": "1"}], "coin") == "ETH"  # trades: a list
    assert route_value([], "coin") is None
    assert route_value({"s": "BTC", "i": "1m"}, "i") == "1m"
    assert route_value({"a": {"b": USER_A.upper().replace("0X", "0x")}}, "a.b") == USER_A
    assert route_of_params(CANDLE, {"coin": "BTC", "interval": "1m"}) == ("BTC", "1m")
    assert route_of_params(TRADES, {"coin": "SOL"}) == ("SOL",)


def test_channel_items_and_recovered_shape() -> None:
    data = {"user": USER_A, "fills": [{"tid": 1}], "isSnapshot": True}
    assert USER_FILLS.items_of(data) == [{"tid": 1}]
    assert USER_FILLS.with_items(data, []) == {"user": USER_A, "fills": [], "isSnapshot": True}
    assert USER_FILLS.wrap_recovered({"user": USER_A}, [{"tid": 2}]) == {"user": USER_A, "fills": [{"tid": 2}]}
    assert USER_FILLS.item_time({"time": 5}) == 5 and USER_FILLS.item_time({"time": "5"}) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ping_interval", 0),
        ("dead_after", -1),
        ("buffer_size", 0),
        ("overflow", "drop_everything"),
        ("max_connections", 1.5),
        ("max_reconnect_attempts", -1),
        ("reconnect_max", 0.1),
        ("stale_after", 0),
    ],
)
def test_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        WsConfig(**{field: value})  # type: ignore[arg-type]
    assert info.value.setting == field


class _Up:
    key_text = "k"


class _Stream:
    """One subscriber on a feed of its own (what the client's upstream does for each decoder)."""

    def __init__(self, size: int, policy: str, drops: list[int]) -> None:
        self.feed = _Feed(marks=False)
        self.sink = _Sink(1, _Up(), size, policy, None, lambda s, n: drops.append(n))  # type: ignore[arg-type]
        self.feed.follow(self.sink)

    def push(self, item: Any) -> bool:
        """Deliver ``item``; False when the subscriber is over its bound with the ``block`` policy."""
        return not self.feed.append(item)


def _sink(size: int, policy: str, drops: list[int]) -> tuple[_Stream, _Sink]:
    stream = _Stream(size, policy, drops)
    return stream, stream.sink


async def test_drop_oldest_keeps_newest_and_reports_count() -> None:
    drops: list[int] = []
    stream, sink = _sink(3, "drop_oldest", drops)
    for i in range(10):
        assert stream.push(Message(i, "c"))
    assert sink.dropped == 7
    assert drops == [1, 2, 4]  # event/log at powers of two: bounded but never silent
    first = await sink.get()
    assert first == Dropped(7, 7, "drop_oldest")
    assert [(await sink.get()).data for _ in range(3)] == [7, 8, 9]  # type: ignore[union-attr]
    assert sink.delivered == 3


async def test_drop_newest_keeps_oldest() -> None:
    stream, sink = _sink(2, "drop_newest", [])
    for i in range(5):
        stream.push(Message(i, "c"))
    assert isinstance(await sink.get(), Dropped)
    assert [(await sink.get()).data for _ in range(2)] == [0, 1]  # type: ignore[union-attr]
    stream.push(Message(5, "c"))  # room again: taken
    assert (await sink.get()).data == 5  # type: ignore[union-attr]


async def test_block_policy_signals_full_and_waits_for_space() -> None:
    stream, sink = _sink(1, "block", [])
    assert stream.push(Message(0, "c"))
    assert not stream.push(Message(1, "c"))  # over the bound: the producer waits, nothing is lost
    waiter = asyncio.ensure_future(sink.wait_space())
    await asyncio.sleep(0)
    assert not waiter.done()
    assert (await sink.get()).data == 0  # type: ignore[union-attr]
    await asyncio.wait_for(waiter, 1)
    assert (await sink.get()).data == 1  # type: ignore[union-attr]
    assert sink.dropped == 0


async def test_error_policy_reports_overflow_and_close_raises() -> None:
    calls: list[int] = []
    stream, sink = _sink(1, "error", calls)
    stream.push(Message(0, "c"))
    stream.push(Message(1, "c"))
    assert calls == [-1]  # the client turns this into a BufferOverflowError for the subscriber
    sink.close(BufferOverflowError("behind"))
    assert (await sink.get()).data == 0  # type: ignore[union-attr]  # what was buffered comes first
    with pytest.raises(BufferOverflowError):
        await sink.get()


async def test_get_waits_then_end_of_stream() -> None:
    stream, sink = _sink(4, "drop_oldest", [])
    task = asyncio.ensure_future(sink.get())
    await asyncio.sleep(0)
    stream.push(Message("x", "c"))
    assert (await asyncio.wait_for(task, 1)).data == "x"  # type: ignore[union-attr]
    stream.push(Message("y", "c"))
    sink.close()
    stream.push(Message("z", "c"))  # after the end: not for this subscriber
    assert (await sink.get()).data == "y"  # type: ignore[union-attr]  # drained before the end
    with pytest.raises(StopAsyncIteration):
        await sink.get()


async def test_get_nowait_and_end() -> None:
    stream, sink = _sink(4, "drop_oldest", [])
    with pytest.raises(asyncio.QueueEmpty):
        sink.get_nowait()
    stream.push(Message(1, "c"))
    assert sink.get_nowait().data == 1  # type: ignore[union-attr]
    sink.close(BufferOverflowError("x"))
    with pytest.raises(BufferOverflowError):
        sink.get_nowait()


# --- recovery paging (pure) ---
def test_a_complete_answer_covers_its_window() -> None:
    assert next_windows([5, 6, 7], Window(1, 10), 2000, True) == ([], [])
    assert next_windows([], Window(1), 2000, True) == ([], [])


def test_a_full_oldest_first_answer_continues_after_its_newest_item() -> None:
    assert next_windows([1, 2, 3, 4], Window(1), 4, True) == ([Window(4)], [])
    assert next_windows([1, 2, 3, 4], Window(1, 9), 4, True) == ([Window(4, 9)], [])
    # the newest millisecond may be cut: it is fetched again, alone
    assert next_windows([1, 2, 3, 9], Window(1, 9), 4, True) == ([Window(9, 9)], [])
    assert next_windows([1, 2, 3, 12], Window(1, 9), 4, True) == ([], [])  # past the window


def test_a_full_newest_first_answer_continues_before_its_oldest_item() -> None:
    assert next_windows([9, 8, 7, 6], Window(1, 9), 4, True) == ([Window(1, 6)], [])
    assert next_windows([9, 8, 7, 1], Window(1, 9), 4, True) == ([Window(1, 1)], [])  # the start again, alone
    assert next_windows([9, 8, 7, 0], Window(1, 9), 4, True) == ([], [])  # past the window


def test_more_items_in_one_millisecond_than_an_answer_holds_is_reported() -> None:
    assert next_windows([3, 3, 3], Window(3, 9), 3, True) == ([Window(4, 9)], [(3, 3)])
    assert next_windows([3, 3, 3], Window(3, 3), 3, True) == ([], [(3, 3)])


def test_without_a_time_window_only_the_most_recent_are_reachable() -> None:
    assert next_windows([9, 8, 7], Window(1), 3, False) == ([], [(1, 7)])
    assert next_windows([9, 8, 1], Window(1), 3, False) == ([], [])
    assert next_windows([None, None], Window(1, 5), 2, True) == ([], [(1, 5)])


def _trade(t: int, tid: int, coin: str = "BTC") -> dict[str, Any]:
    return {"coin": coin, "side": "B", "px": "1", "sz": "2", "time": t, "hash": "0x" + "00" * 32, "tid": tid}


async def test_market_trades_are_never_delivered_twice() -> None:
    """The spec's trade identity (time, coin, tid) over a time-ordered feed: a backfill repeating what was delivered,
    a block split over two frames, an item without a time."""
    from hyperliquid_client.generated.registry import CHANNELS
    from hyperliquid_client.runtime.streaming import channel_info

    client = WsClient("ws://127.0.0.1:9/ws", config=WsConfig(reconnect_base=60.0, reconnect_max=60.0))
    sub = await client.subscribe(channel_info(CHANNELS["trades"]), {"coin": "BTC"})
    conn = sub._sink.upstream.conn
    assert conn is not None

    def feed(*trades: dict[str, Any]) -> list[list[tuple[int, int]]]:
        client._on_frame(conn, json.dumps({"channel": "trades", "data": list(trades)}))
        return [[(t["time"], t["tid"]) for t in m.data] for m in sub.drain() if isinstance(m, Message)]

    try:
        assert feed(_trade(1, 10), _trade(1, 11)) == [[(1, 10), (1, 11)]]
        assert feed(_trade(2, 20)) == [[(2, 20)]]
        assert feed(_trade(2, 20), _trade(2, 21)) == [[(2, 21)]]  # the rest of block 2
        assert feed(_trade(1, 10), _trade(1, 11), _trade(2, 20), _trade(2, 21)) == []  # a backfill: all seen
        assert feed(_trade(1, 11), _trade(2, 21), _trade(2, 22), _trade(3, 30), _trade(3, 30)) == [[(2, 22), (3, 30)]]
        assert feed(_trade(3, 31), _trade(4, 40), _trade(4, 41)) == [[(3, 31), (4, 40), (4, 41)]]
        odd = {"coin": "BTC", "tid": 99}  # no time: delivered as it is
        client._on_frame(conn, json.dumps({"channel": "trades", "data": [odd, _trade(4, 41), _trade(5, 50)]}))
        assert [m.data for m in sub.drain()] == [[odd, _trade(5, 50)]]
    finally:
        await client.close()


def _seen(item: Any) -> Any:
    return ("message", item.data, item.channel, item.recovered) if type(item) is Message else item


@pytest.mark.parametrize("seed", range(40))
def test_messages_waiting_as_bare_data_read_the_same_as_messages_wrapped_at_once(seed: int) -> None:
    # the delivery path keeps a message's dict or list bare in the feed until its first reader: every way of
    # reading (one by one, in one step, leaving the feed, each overflow policy) sees what eager wrapping gives
    import random

    rnd = random.Random(seed)
    policies = [rnd.choice(["drop_oldest", "drop_newest", "error", "block"]) for _ in range(3)]
    sizes = [rnd.randint(1, 6) for _ in range(3)]
    runs = []
    for bare in (True, False):
        feed = _Feed(False, "c")
        sinks = [_Sink(k, _Up(), sizes[k], policies[k], None, lambda s, n: None) for k in range(3)]  # type: ignore[arg-type]
        for sink in sinks:
            feed.follow(sink)
        runs.append((bare, feed, sinks, [[] for _ in sinks]))
    for step in range(rnd.randint(20, 80)):
        op, k = rnd.random(), rnd.randrange(3)
        for bare, feed, sinks, got in runs:
            if op < 0.5:
                data: Any = {"i": step} if step % 3 else [step]
                feed.append(data if bare else Message(data, "c"))
            elif op < 0.55:
                feed.append(Interrupted("lost"), marker=True)
            elif op < 0.75:
                got[k].extend(sinks[k].drain())
            elif op < 0.95:
                try:
                    got[k].append(sinks[k].get_nowait())
                except (asyncio.QueueEmpty, StopAsyncIteration):
                    pass
            elif not sinks[k].closed:
                sinks[k].close()
    for _bare, _feed, sinks, got in runs:
        for k, sink in enumerate(sinks):
            got[k].extend(sink.drain())
    (_, _, _, bare_got), (_, _, _, eager_got) = runs
    assert [[_seen(m) for m in g] for g in bare_got] == [[_seen(m) for m in g] for g in eager_got]
    assert all(type(m) is not dict and type(m) is not list for g in bare_got for m in g)
