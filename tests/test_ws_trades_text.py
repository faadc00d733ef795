"""WebSocket runtime: trades frames routed by their text wait as that text and are de-duplicated as they are read.

A ``trades`` frame in the server's shape (``{"channel":"trades","data":[{"coin":"BTC"...``) is routed by its beginning
and queued as its text (``WsClient._on_frame``); the feed's reader (``_Upstream._resolver``) parses it and
drops the trades delivered before, in the order the frames came, as arrival does for a frame parsed there
(``_Upstream.dedup_ordered``).  A frame all of whose trades were delivered before becomes ``SKIPPED``: no reader is
handed it.  These tests hold the text path against the parse-at-arrival path on random trades (duplicates, backfills,
trades at one time, out of order, without a time) and pin what differs: such a frame counts toward a subscriber's
buffer until it is read.
"""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest

from hyperliquid_client.runtime.ws.client import _Upstream
from hyperliquid_client.runtime.ws.messages import DecodeFailed, Dropped, Interrupted, Message
from hyperliquid_client.runtime.ws.subscription import SKIPPED
from tests.test_ws_text_route import _decode_failures, _held, _one, _Side, _specs, _subscribed

_T0 = 1_700_000_000_000


def _trade(coin: str, t: Any, tid: int) -> dict[str, Any]:
    return {
        "coin": coin,
        "side": "B" if tid % 2 else "A",
        "px": f"{100 + tid % 7}.5",
        "sz": "1.25",
        "time": t,
        "hash": f"0x{tid:064x}",
        "tid": tid,
        "users": ["0x" + "ab" * 20, "0x" + "cd" * 20],
    }


def _next(sub: Any) -> Any:
    """The next item that is not the connection's ``Interrupted`` (the client never reaches a server here)."""
    while True:
        item = sub.get_nowait()
        if type(item) is not Interrupted:
            return item


def _text(data: Any, compact: bool = True) -> str:
    return json.dumps({"channel": "trades", "data": data}, separators=(",", ":") if compact else None)


class _Tape:
    """Random trades frames of one coin, as a server might send them around resubscriptions."""

    def __init__(self, rnd: random.Random, coin: str) -> None:
        self.rnd = rnd
        self.coin = coin
        self.sent: list[dict[str, Any]] = []  # every trade sent, in time order
        self.frames: list[list[dict[str, Any]]] = []
        self.t = _T0
        self.tid = 0 if coin == "BTC" else 10**6

    def _new(self, n: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            self.t += self.rnd.choice([0, 0, 1, 2, 5])  # several trades at one time, across frames too
            self.tid += 1
            out.append(_trade(self.coin, self.t, self.tid))
        self.sent += out
        return out

    def next(self) -> list[dict[str, Any]]:
        rnd = self.rnd
        kind = rnd.random()
        if kind < 0.55 or not self.sent:
            data = self._new(rnd.randint(1, 4))
        elif kind < 0.65:  # a frame sent again
            data = list(rnd.choice(self.frames))
        elif kind < 0.75:  # a backfill: the last trades sent (some delivered, some not) and new ones
            old = self.sent[-rnd.randint(1, 6) :]
            data = old + self._new(rnd.randint(0, 3))
            if rnd.random() < 0.3:
                data = data[::-1]  # newest first
        elif kind < 0.82:  # out of order inside the frame
            data = self._new(3)
            data = [data[1], data[0], data[2]]
        elif kind < 0.86:  # a trade without a usable time (delivered: neither ordered nor de-duplicated)
            data = [{**_trade(self.coin, "soon", 0), "tid": rnd.randint(0, 3)}]
        elif kind < 0.9:  # older than the newest, never sent (predate the subscription)
            data = [_trade(self.coin, _T0 - rnd.randint(1, 100), 10**7 + rnd.randint(0, 50))]
        elif kind < 0.93:
            data = []
        else:  # one trade the typed decoder refuses
            data = self._new(1)
            data[0] = {**data[0], "px": None}
        self.frames.append(data)
        return data


_TRADES = (
    # (stream, typed, overflow policy, buffer size)
    ("trades/BTC", False, "drop_oldest", 10**4),
    ("trades/BTC", False, "drop_oldest", 10**4),
    ("trades/ETH", True, "drop_oldest", 10**4),
)
_TIGHT = (
    ("trades/BTC", False, "drop_oldest", 6),
    ("trades/BTC", False, "drop_newest", 5),
    ("trades/BTC", False, "block", 8),
    ("trades/ETH", True, "drop_oldest", 7),
    ("trades/ETH", True, "error", 30),
)


async def _race(seed: int, subscribers: tuple[tuple[str, bool, str, int], ...], frames_n: int = 250) -> None:
    rnd = random.Random(seed)
    specs = await _specs()
    eth = await _eth_spec()
    specs["trades/ETH"] = eth
    sides = [_Side(text=True), _Side(text=False)]
    texts = [0]
    routed = _Upstream.deliver_text

    def counting(up: Any, *args: Any) -> Any:
        texts[0] += 1
        return routed(up, *args)

    _Upstream.deliver_text = counting  # type: ignore[method-assign]
    try:
        for side in sides:
            await side.start(specs, subscribers)
        tapes = [_Tape(rnd, "BTC"), _Tape(rnd, "ETH")]
        frames = []
        for _ in range(rnd.randint(frames_n // 3, frames_n)):
            data = rnd.choice(tapes).next()
            frames.append(_text(data, compact=rnd.random() < 0.85))  # (spaces: parsed at arrival)
        pos = 0
        while pos < len(frames):
            batch = frames[pos : pos + rnd.randint(1, 20)]
            pos += len(batch)
            reads = [
                (rnd.randrange(len(subscribers)), rnd.choice(["drain", "one"]))
                for _ in range(rnd.randint(0, 5 if frames_n < 1000 else 1))
            ]
            peek = rnd.random() < 0.3
            for side in sides:
                for raw in batch:
                    side.frame(raw)
                if peek:
                    _latest(side, specs)
                for k, how in reads:
                    side.read(k, how)
        for side in sides:
            _latest(side, specs)
            for k in range(len(subscribers)):
                side.read(k, "drain")
        text, parsed = (side.seen() for side in sides)
        for part in range(len(text)):  # items, latest values, events, counters, blocked producers
            assert text[part] == parsed[part], part
        assert texts[0] > len(frames) // 2  # (the text path was taken)
        items = [x for g in text[0] for x in g]
        assert not any(x is SKIPPED or x == SKIPPED for x in items)
        # every trade with a time reached each subscriber that lost nothing at most once
        for k, got in enumerate(text[0]):
            if any(type(x) is Dropped or (type(x) is tuple and x[0] == "raised") for x in got):
                continue
            keys = [
                (t["time"], t["tid"])
                for x in got
                if type(x) is tuple and x[0] == "message" and type(x[1]) is list
                for t in x[1]
                if type(t["time"]) is int
            ]
            assert len(keys) == len(set(keys)), k
        ups = [s._sink.upstream for s in sides[0].subs]
        assert sum(up.duplicates for up in ups) == sum(s._sink.upstream.duplicates for s in sides[1].subs)
    finally:
        _Upstream.deliver_text = routed  # type: ignore[method-assign]
        for side in sides:
            await side.client.close()


async def _eth_spec() -> tuple[Any, dict[str, Any], Any]:
    from hyperliquid_client.generated.streams import AsyncStreams
    from hyperliquid_client.runtime.hub import AsyncRecordingHub
    from hyperliquid_client.runtime.streaming import channel_info

    hub = AsyncRecordingHub()
    await AsyncStreams(hub).trades("ETH")
    [call] = hub.calls
    return channel_info(call.spec), call.subscription, call.decode


def _latest(side: _Side, specs: dict[str, Any]) -> None:
    for coin in ("BTC", "ETH"):
        side.latest.append(
            (
                side.client.latest("trades", coin=coin),
                side.client.latest_raw("trades", coin=coin),
                side.client.fresh_raw("trades", 3600.0, coin=coin),
            )
        )


@pytest.mark.parametrize("seed", range(25))
async def test_trades_read_from_their_text_are_what_arrival_delivers_duplicates_and_all(seed: int) -> None:
    await _race(seed, _TRADES)


@pytest.mark.parametrize("seed", range(25))
async def test_trades_read_from_their_text_overflow_alike_duplicates_and_all(seed: int) -> None:
    # every overflow policy, buffers small enough to overflow all the time: the same items, drops, blocked producers
    # and latest values (an overflow reads what waits before a policy applies, and a frame all delivered before
    # takes no room, as one skipped at arrival never entered the buffer)
    await _race(seed, _TIGHT)


@pytest.mark.parametrize("seed", range(6))
async def test_trades_an_overflow_passed_over_are_still_what_later_frames_are_de_duplicated_against(seed: int) -> None:
    # slow readers with small buffers: the overflow passes texts over (read first, ``_Feed.dedups``); a later
    # backfill resending their trades must find them delivered, as arrival's de-duplication does
    cut = (("trades/BTC", False, "drop_oldest", 3), ("trades/ETH", True, "drop_oldest", 3))
    await _race(seed, cut, frames_n=1200)


@pytest.mark.parametrize("seed", range(20))
async def test_skipped_frames_never_reach_a_reader_whatever_the_overflow(seed: int) -> None:
    # resends and backfills of nothing new among frames that overflow every policy, read or passed over: no reader is
    # handed a ``SKIPPED`` (or an empty message), the feed's count of them is exact, no subscriber gets a trade
    # twice, and no text is left behind every subscriber unread
    rnd = random.Random(seed)
    policies = ("drop_oldest", "drop_oldest", ("drop_oldest", "drop_newest", "block")[seed % 3])
    side, side.subs = await _subscribed("trades/BTC", *((policy, rnd.randint(2, 9)) for policy in policies))
    side.got = [[] for _ in side.subs]
    try:
        feed = side.subs[0]._sink.feed
        tape = _Tape(rnd, "BTC")
        for _ in range(600):
            side.frame(_text(tape.next(), compact=seed % 3 == 0 or rnd.random() < 0.9))  # (else: texts read then)
            for _ in range(rnd.random() < (0.04 if seed % 3 else 0.01)):  # (seldom: texts may leave unread)
                side.read(rnd.randrange(len(side.subs)), rnd.choice(["drain", "one"]))
            assert feed.skips == sum(x is SKIPPED for x in feed.items)
        for k in range(len(side.subs)):
            side.read(k, "drain")
        assert feed.skips == sum(x is SKIPPED for x in feed.items)
        assert sum(up.duplicates for up in {s._sink.upstream for s in side.subs}) > 10  # (some were skipped)
        assert not any(type(x) is str for x in feed.items[: min(s._sink.cursor for s in side.subs) - feed.base])
        for got, s in zip(side.got, side.subs, strict=True):
            assert not any(x is SKIPPED for x in got)
            messages = [x for x in got if type(x) is Message]
            # (an empty frame is delivered as it is, as before: never one a reading emptied)
            assert sum(not m.data for m in messages) <= sum(not f for f in tape.frames)
            assert s._sink.delivered == len(messages)
            keys = [(t["time"], t["tid"]) for m in messages for t in m.data if type(t["time"]) is int]
            assert len(keys) == len(set(keys))
    finally:
        await side.client.close()


async def test_a_frame_of_trades_all_delivered_before_is_never_handed_to_a_reader() -> None:
    side, (a, b, c) = await _one(True, ("trades/BTC", False), ("trades/BTC", False), ("trades/BTC", False))
    try:
        up = a._sink.upstream
        first = [_trade("BTC", _T0 + 1, 1), _trade("BTC", _T0 + 2, 2)]
        side.frame(_text(first))
        side.frame(_text(first))  # sent again: waits as its text, like any frame in the server's shape
        side.frame(_text([_trade("BTC", _T0 + 2, 2), _trade("BTC", _T0 + 3, 3)]))  # half of it again
        assert [type(x) for x in _held(a)] == [str, str, str]
        got = [x for x in a.drain() if type(x) is not Interrupted]
        assert [[t["tid"] for t in m.data] for m in got] == [[1, 2], [3]]
        assert a._sink.delivered == 2 and up.duplicates == 2
        assert b.buffered == 2  # (b has not read: the frame read as SKIPPED is not waiting for it)
        feed = a._sink.feed
        assert feed.skips == 1 and feed.items.count(SKIPPED) == 1
        # one at a time: the skipped frame is passed over
        assert [[t["tid"] for t in _next(b).data] for _ in range(2)] == [[1, 2], [3]]
        assert _next(b) is None and b._sink.delivered == 2
        # a reader that stops following keeps what it has not read, without the skipped frame
        c._sink.feed.leave(c._sink)
        assert [[t["tid"] for t in m.data] for m in c.drain() if type(m) is Message] == [[1, 2], [3]]
        # what every reader read is freed in time, the skipped frame with it (the count follows)
        for i in range(200):
            side.frame(_text([_trade("BTC", _T0 + 10 + i, 10 + i)]))
            side.frame(_text([_trade("BTC", _T0 + 10 + i, 10 + i)]))  # (each sent twice)
            a.drain()
            b.drain()
        assert feed.skips == sum(x is SKIPPED for x in feed.items) < 200
        assert a._sink.delivered == b._sink.delivered == 202
    finally:
        await side.client.close()


async def test_a_drop_newest_subscriber_holding_its_own_copy_never_gets_a_skipped_frame() -> None:
    side, (full, other) = await _subscribed("trades/BTC", ("drop_newest", 2), ("drop_oldest", 100))
    try:
        frames = [[_trade("BTC", _T0 + i, i)] for i in range(4)]
        for data in frames:
            side.frame(_text(data))
        assert full._sink.feed.detached == [full._sink]  # full: it reads its own copy, read at arrival
        side.frame(_text(frames[1]))  # all delivered before: skipped, not kept, not counted dropped
        side.frame(_text([_trade("BTC", _T0 + 9, 9)]))
        got = [x for x in full.drain() if type(x) is not Interrupted]
        assert [type(x) for x in got] == [Dropped, Message, Message]
        assert got[0].count == 3  # the two that did not fit and the new one; not the skipped frame
        assert [t["tid"] for m in other.drain() if type(m) is Message for t in m.data] == [0, 1, 2, 3, 9]
    finally:
        await side.client.close()


async def test_latest_of_trades_waiting_as_text_is_what_their_reading_delivers() -> None:
    side, (btc,) = await _one(True, ("trades/BTC", False))
    try:
        side.frame(_text([_trade("BTC", _T0 + 1, 1)]))
        side.frame(_text([_trade("BTC", _T0 + 1, 1), _trade("BTC", _T0 + 2, 2)]))
        side.frame(_text([_trade("BTC", _T0 + 2, 2)]))  # all delivered before: not the latest
        assert side.client.latest_raw("trades", coin="BTC") == [_trade("BTC", _T0 + 2, 2)]
        assert [type(x) for x in _held(btc)] == [Message, Message, type(SKIPPED)]  # (read, in order)
        got = [m for m in btc.drain() if type(m) is Message]
        assert [[t["tid"] for t in m.data] for m in got] == [[1], [2]]
        assert got[-1].data is side.client.latest_raw("trades", coin="BTC")
    finally:
        await side.client.close()


@pytest.mark.parametrize(
    "frame",
    [
        '{"channel":"trades","data":[{"coin":"BTC","time":1,"tid":1,"coin":"ETH"}]}',  # the coin is not BTC's
        '{"channel":"trades","data":[{"coin":"BTC","time":}]}',  # not JSON past the beginning
        '{"channel":"trades","data":[{"coin":"BTC"',
    ],
)
async def test_a_trades_frame_whose_whole_is_not_what_its_beginning_said_is_reported_once(frame: str) -> None:
    side, (btc, other) = await _one(True, ("trades/BTC", True), ("trades/BTC", True))
    try:
        side.frame(frame)
        side.frame(_text([_trade("BTC", _T0 + 5, 5)]))
        mine = [x for x in btc.drain() if type(x) is not Interrupted]
        assert [type(x) for x in mine] == [DecodeFailed, Message]
        theirs = [x for x in other.drain() if type(x) is not Interrupted]
        assert all(a is b for a, b in zip(mine, theirs, strict=True))
        assert _decode_failures(side) == 1
        # what the bad frame held is not what later trades are de-duplicated against
        assert btc._sink.upstream.newest == _T0 + 5
    finally:
        await side.client.close()


async def test_frames_an_overflow_passes_over_behind_a_skipped_frame_keep_the_count_exact() -> None:
    # the feed frees, at once, a frame already read as SKIPPED and frames the overflow passed over: each counted once
    side, (btc, other) = await _subscribed("trades/BTC", ("drop_oldest", 2), ("drop_oldest", 2))
    try:
        feed = btc._sink.feed
        first = [_trade("BTC", _T0 + 1, 1)]
        side.frame(_text(first))
        side.frame(_text(first))  # sent again
        assert _next(btc).data == first
        assert _next(btc) is None  # (the second read as SKIPPED, passed over; ``other`` has read nothing)
        assert [type(x) for x in feed.items] == [Message, type(SKIPPED)] and feed.skips == 1
        for i in range(2, 300):  # nobody reads: the overflow passes frames over, the SKIPPED one with them
            side.frame(_text([_trade("BTC", _T0 + i, i)]))
            assert feed.skips == sum(x is SKIPPED for x in feed.items)
        assert feed.base > 2 and feed.skips == 0
        btc.drain()
        other.drain()
        side.frame(_text([_trade("BTC", _T0 + 150, 150)]))  # passed over long ago: known delivered all the same
        assert [m for m in btc.drain() + other.drain() if type(m) is Message] == []
        assert feed.skips == sum(x is SKIPPED for x in feed.items)
    finally:
        await side.client.close()


async def test_a_log_handler_reading_the_stream_as_a_skip_is_logged_loses_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the "duplicate message skipped" record of a frame read as SKIPPED is logged once the read is in place: a
    # handler that reads the stream then (every time) finds it read
    side, (btc,) = await _one(True, ("trades/BTC", False))
    seen: list[Any] = []

    class Peek(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "duplicate message skipped" in record.getMessage():
                seen.append([t["tid"] for t in side.client.latest_raw("trades", coin="BTC")])

    handler = Peek()
    logger = logging.getLogger("hyperliquid_client")
    caplog.set_level(logging.DEBUG, logger="hyperliquid_client")
    logger.addHandler(handler)
    try:
        for data in ([_trade("BTC", _T0 + 1, 1)], [_trade("BTC", _T0 + 1, 1)], [_trade("BTC", _T0 + 2, 2)]):
            side.frame(_text(data))
        side.frame(_text([_trade("BTC", _T0 + 3, 3)]))
        got = [[t["tid"] for t in m.data] for m in btc.drain() if type(m) is Message]
        assert got == [[1], [2], [3]]
        assert seen == [[3]]  # (the whole batch read, then the skip logged)
        feed = btc._sink.feed
        assert feed.skips == sum(x is SKIPPED for x in feed.items)
    finally:
        logger.removeHandler(handler)
        await side.client.close()


@pytest.mark.parametrize("reader", ["drain", "latest_raw"])
async def test_an_error_listener_reading_while_the_overflow_passes_a_bad_frame_over(reader: str) -> None:
    side, (btc,) = await _subscribed("trades/BTC", ("drop_oldest", 2))
    try:
        got: list[Any] = []

        def on_error(_event: Any) -> None:
            if reader == "drain":
                got.extend(btc.drain())
            else:
                side.client.latest_raw("trades", coin="BTC")

        side.bus.subscribe("ws.error", on_error)
        side.frame(_text([_trade("BTC", _T0 + 1, 1)]))
        side.frame('{"channel":"trades","data":[{"coin":"BTC","time":}]}')
        for i in range(2, 400):
            side.frame(_text([_trade("BTC", _T0 + i, i)]))
        got += btc.drain()
        assert _decode_failures(side) == 1
        feed = btc._sink.feed
        assert feed.end == 400  # (every frame in its place)
        tids = [t["tid"] for m in got if type(m) is Message for t in m.data]
        assert tids[-2:] == [398, 399] and len(tids) == len(set(tids))
        kept = [x for x in got if type(x) in (Message, DecodeFailed)]
        assert btc.delivered == len(kept)
        assert btc.dropped + len(kept) == 400
    finally:
        await side.client.close()


@pytest.mark.parametrize("policy", ["drop_oldest", "drop_newest", "block", "error"])
async def test_a_resent_frame_another_subscriber_read_takes_no_room(policy: str) -> None:
    # a fast reader reads every frame: what it found all delivered before takes no place in a slow one's buffer
    side, (fast, slow) = await _subscribed("trades/BTC", ("drop_oldest", 100), (policy, 2))
    try:
        first = [_trade("BTC", _T0 + 1, 1)]
        for data in (first, first, first, [_trade("BTC", _T0 + 2, 2)]):
            side.frame(_text(data))
            fast.drain()
        assert side.blocked == [0, 0, 0, 0]
        assert slow.buffered == 2
        got = [x for x in slow.drain() if type(x) is not Interrupted]
        assert [[t["tid"] for t in m.data] for m in got] == [[1], [2]]
        assert (slow.delivered, slow.dropped, slow.error) == (2, 0, None)
    finally:
        await side.client.close()


async def test_a_resent_frame_nobody_read_yet_takes_no_room_when_a_buffer_fills() -> None:
    # the overflow reads what waits before any policy applies: an ``error`` subscriber does not fail for a resend
    side, (strict,) = await _subscribed("trades/BTC", ("error", 2))
    try:
        first = [_trade("BTC", _T0 + 1, 1)]
        for data in (first, first, first, first, [_trade("BTC", _T0 + 2, 2)]):
            side.frame(_text(data))
        got = [x for x in strict.drain() if type(x) is not Interrupted]
        assert [[t["tid"] for t in m.data] for m in got] == [[1], [2]] and strict.error is None
        side.frame(_text([_trade("BTC", _T0 + 3, 3)]))
        side.frame(_text([_trade("BTC", _T0 + 4, 4)]))
        side.frame(_text([_trade("BTC", _T0 + 5, 5)]))  # three new ones: over its bound of 2
        assert type(strict.error).__name__ == "BufferOverflowError"
    finally:
        await side.client.close()


@pytest.mark.parametrize("stream", ["trades/BTC", "l2Book/BTC"])
@pytest.mark.parametrize("compact", [True, False])
async def test_a_frame_nested_deeper_than_the_parser_goes_is_a_decode_failure(stream: str, compact: bool) -> None:
    # the standard library raises RecursionError, not ValueError, for such a frame: held as text its reader gets a
    # DecodeFailed (one ws.error) and the next message; parsed on arrival it is dropped and reported there
    side, (sub,) = await _one(True, (stream, False))
    try:
        nest = "[" * 100_000 + "]" * 100_000
        sep = "" if compact else " "
        if stream.startswith("trades"):
            deep = f'{{"channel":{sep}"trades","data":[{{"coin":"BTC","x":{nest}}}]}}'
            good = _text([_trade("BTC", _T0 + 2, 2)])
        else:
            deep = f'{{"channel":{sep}"l2Book","data":{{"coin":"BTC","x":{nest}}}}}'
            good = '{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[],[]]}}'
        side.frame(deep)
        side.frame(good)
        got = [type(x) for x in sub.drain() if type(x) is not Interrupted]
        assert got == ([DecodeFailed, Message] if compact else [Message])
        assert sub.drain() == [] or all(type(x) is Interrupted for x in sub.drain())
        assert side.client.latest_raw(stream.split("/")[0], coin="BTC") is not None
        assert sum(e.name == "ws.error" for e in side.events) == 1
    finally:
        await side.client.close()


def _reading_handler(react: Any) -> logging.Handler:
    """A log handler that calls ``react`` (once at a time) on every "duplicate message skipped" record."""
    busy = [False]

    class Reading(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "duplicate message skipped" in record.getMessage() and not busy[0]:
                busy[0] = True
                try:
                    react()
                finally:
                    busy[0] = False

    return Reading()


@pytest.mark.parametrize("outer", ["drain", "one"])
@pytest.mark.parametrize("inner", ["drain", "one", "other"])
@pytest.mark.parametrize("kind", ["log", "listener"])
async def test_a_handler_reading_the_stream_during_a_read_takes_it_in_order(
    outer: str, inner: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # what a read of waiting texts finds (a skip's debug record, a decoder's refusal) is reported once the read is in
    # place and before the call hands anything out: a handler reading the same subscription, or another one, then
    # (past the feed's first free) takes every trade once and in order, and the call hands out what is left
    caplog.set_level(logging.DEBUG, logger="hyperliquid_client")
    side, (x, y) = await _one(True, ("trades/BTC", True), ("trades/BTC", True))
    got: dict[str, list[Any]] = {"x": [], "y": []}

    def take(name: str, sub: Any, how: str) -> None:
        items = sub.drain() if how == "drain" else [sub.get_nowait()]
        got[name] += [t.tid for m in items if type(m) is Message for t in m.data]

    def react() -> None:
        take("x", x, inner) if inner != "other" else take("y", y, "drain")

    handler = _reading_handler(react)
    logger = logging.getLogger("hyperliquid_client")
    logger.addHandler(handler)
    if kind == "listener":
        side.bus.subscribe("ws.error", lambda _e: react())
    try:
        for i in range(1, 71):  # (enough read for the feed to free what both read)
            side.frame(_text([_trade("BTC", _T0 + i, i)]))
        take("x", x, "drain")
        take("y", y, "drain")
        bad = {**_trade("BTC", _T0 + 70, 70), "px": None} if kind == "listener" else _trade("BTC", _T0 + 70, 70)
        for data in ([bad], [_trade("BTC", _T0 + 71, 71)], [_trade("BTC", _T0 + 72, 72)]):
            side.frame(_text(data) if kind == "log" or data[0]["tid"] != 70 else _text([{**bad, "tid": 700}]))
        for _ in range(6):
            take("x", x, outer)
        take("y", y, "drain")
        for name in ("x", "y"):
            assert got[name][:70] == list(range(1, 71)), name
            assert [t for t in got[name][70:] if t != 700] == [71, 72], (name, got[name][70:])
    finally:
        logger.removeHandler(handler)
        await side.client.close()


async def test_a_handler_reading_while_a_drop_newest_subscriber_holds_its_own_copy() -> None:
    # the read that a full ``drop_newest`` subscriber's copy needs reports after the copy is made: a handler draining
    # another subscriber then cannot pull the feed from under it
    side, (a, b) = await _subscribed("trades/BTC", ("drop_newest", 1), ("drop_oldest", 1000))
    got: list[int] = []

    def react() -> None:
        got.extend(t["tid"] for m in b.drain() if type(m) is Message for t in m.data)

    handler = _reading_handler(react)
    logger = logging.getLogger("hyperliquid_client")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        for data in ([_trade("BTC", _T0 + 1, 1)], [_trade("BTC", _T0 + 2, 2)], [_trade("BTC", _T0 + 2, 2)]):
            side.frame(_text(data))
        side.frame(_text([_trade("BTC", _T0 + 3, 3)]))
        side.frame(_text([_trade("BTC", _T0 + 4, 4)]))
        react()
        assert got == [1, 2, 3, 4]
        mine = [x for x in a.drain() if type(x) is not Interrupted]
        assert [type(x) for x in mine] == [Dropped, Message] and mine[0].count == 3  # (2, 3 and 4; not the resend)
    finally:
        logger.removeHandler(handler)
        await side.client.close()


@pytest.mark.parametrize("on_drop", ["one", "drain"])
@pytest.mark.parametrize("on_error", ["one", "drain"])
async def test_listeners_reading_while_an_arrival_still_has_a_report_due_take_messages_in_order(
    on_drop: str, on_error: str
) -> None:
    # a full ``drop_newest`` subscriber reads the arriving frame at once and counts its drop (``ws.drop``) before
    # the arrival reports what the read found (``ws.error``): a read made then reports that first, and whichever
    # listener reads, the other subscriber's messages come out in order
    side, (_full, r) = await _subscribed("trades/BTC", ("drop_newest", 1), ("drop_oldest", 10), typed=True)
    try:
        seen: list[Any] = []
        busy: set[str] = set()

        def read(tag: str, how: str) -> None:
            if tag not in busy:
                busy.add(tag)
                try:
                    seen.extend(r.drain() if how == "drain" else [r.get_nowait()])
                finally:
                    busy.discard(tag)

        side.bus.subscribe("ws.drop", lambda _e: read("drop", on_drop))
        side.bus.subscribe("ws.error", lambda _e: read("error", on_error))
        for i in range(1, 6):
            side.frame(_text([{**_trade("BTC", _T0 + i, i), **({"px": None} if i == 3 else {})}]))
        seen.extend(r.drain())
        got = [x.data[0].tid if type(x) is Message else "failed" for x in seen if type(x) in (Message, DecodeFailed)]
        assert got == [1, 2, "failed", 4, 5]
    finally:
        await side.client.close()


def test_a_sync_clients_event_listener_reads_its_subscription() -> None:
    # listeners run on the sync client's loop thread: a call that never blocks (drain, get_nowait, cancel) runs there
    # at once
    import asyncio as _asyncio
    import time

    from hyperliquid_client.runtime.events import EventBus
    from hyperliquid_client.runtime.ws import SyncWsClient, WsConfig
    from hyperliquid_client.testing import FakeExchange

    info, params, decode = _asyncio.run(_specs())["trades/BTC"]
    bus = EventBus()
    with FakeExchange(market_snapshots=False) as fx:
        cfg = WsConfig(reconnect_base=0.05, reconnect_max=0.2, open_timeout=2.0)
        with SyncWsClient(fx.ws_url, config=cfg, events=bus) as client:
            sub = client.subscribe(info, params, decode=decode)
            other = client.subscribe(info, {**params, "coin": "ETH"})
            seen: list[Any] = []

            def listener(_event: Any) -> None:
                seen.extend(("listener", x) for x in sub.drain())
                other.cancel()  # (never blocks: runs there too)

            bus.subscribe("ws.error", listener)
            deadline = time.monotonic() + 5
            while not fx.ws_subscriptions and time.monotonic() < deadline:
                time.sleep(0.01)
            for data in ([_trade("BTC", _T0 + 1, 1)], [{**_trade("BTC", _T0 + 2, 2), "px": None}]):
                fx.publish({"type": "trades", "coin": "BTC"}, data)
            fx.publish({"type": "trades", "coin": "BTC"}, [_trade("BTC", _T0 + 3, 3)])
            while len([x for _, x in seen if type(x) is not Interrupted]) < 3 and time.monotonic() < deadline:
                seen.extend(("main", x) for x in sub.drain())
                time.sleep(0.01)
            kinds = [type(x) for _, x in seen if type(x) in (Message, DecodeFailed)]
            assert kinds == [Message, DecodeFailed, Message]
            assert any(who == "listener" for who, _ in seen)  # (the listener read: nothing raised on the loop)
            assert other.closed


async def test_subscribers_taking_the_same_messages_at_once_share_one_read_only_batch() -> None:
    import copy
    import pickle

    from hyperliquid_client import Batch

    side, (a, b, c) = await _one(True, ("trades/BTC", False), ("trades/BTC", False), ("trades/BTC", False))
    try:
        for i in range(1, 4):
            side.frame(_text([_trade("BTC", _T0 + i, i)]))
        first, second = a.drain(), b.drain()
        assert type(first) is Batch and first is second  # (one copy of the backlog, not one per subscriber)
        assert [m.data[0]["tid"] for m in first if type(m) is Message] == [1, 2, 3]
        for change in (
            lambda x: x.append(1),
            lambda x: x.extend([1]),
            lambda x: x.pop(),
            lambda x: x.clear(),
            lambda x: x.sort(),
            lambda x: x.reverse(),
            lambda x: x.insert(0, 1),
            lambda x: x.remove(x[0]),
            lambda x: x.__setitem__(0, 1),
            lambda x: x.__delitem__(0),
        ):
            with pytest.raises(TypeError, match="shared"):
                change(first)
        assert first == list(second) and first + [9] == [*list(first), 9]  # noqa: RUF005 - (+ on a Batch)
        acc = first
        acc += [9]  # (binds a new plain list: the shared one stays as it is)
        acc *= 1
        assert type(acc) is list and acc[-1] == 9 and len(first) == 3 and second is first
        mine = copy.copy(first)
        mine.append(9)  # (a list of one's own)
        assert type(mine) is list and type(copy.deepcopy(first)) is list
        assert type(first[:]) is list and type(sorted(first, key=id)) is list
        assert type(pickle.loads(pickle.dumps(list(first)))) is list and type(pickle.loads(pickle.dumps(first))) is list
        side.frame(_text([_trade("BTC", _T0 + 4, 4)]))
        late = c.drain()  # (c took 1-4 at once: another range, another batch)
        assert late is not first and [m.data[0]["tid"] for m in late if type(m) is Message] == [1, 2, 3, 4]
        assert a.drain() is b.drain()  # (4 alone, for both)
        assert c.drain() == []
        feed = a._sink.feed
        assert feed.batch is None or feed.batch[0] >= feed.base  # (it holds nothing the feed has freed)
        for i in range(5, 200):  # every subscriber reads each: what all read is freed, the batch with it
            side.frame(_text([_trade("BTC", _T0 + i, i)]))
            assert a.drain() is b.drain() is c.drain()
            assert feed.batch is None or feed.batch[0] >= feed.base
    finally:
        await side.client.close()


async def test_a_lone_subscriber_drains_a_list_of_its_own() -> None:
    side, (btc,) = await _one(True, ("trades/BTC", False))
    try:
        side.frame(_text([_trade("BTC", _T0 + 1, 1)]))
        acc = btc.drain()
        side.frame(_text([_trade("BTC", _T0 + 2, 2)]))
        acc += btc.drain()
        acc.sort(key=lambda m: -m.data[0]["tid"] if type(m) is Message else 0)
        assert type(acc) is list and [m.data[0]["tid"] for m in acc if type(m) is Message] == [2, 1]
    finally:
        await side.client.close()
