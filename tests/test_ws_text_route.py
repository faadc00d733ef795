"""WebSocket runtime: a market-data frame routed by its text waits as that text until its first reader.

``WsClient._on_frame`` reads the channel and the coin from the beginning of a frame
(``{"channel":"l2Book","data":{"coin":"BTC"...``) and, for a stream whose arrival needs nothing of the data, queues the
text itself; its first reader parses, checks and decodes it (``_Upstream.resolve_text``).  These tests hold the text
path against the parse-at-arrival path on random frames (every delivered item, latest values, events and drops), and
pin what differs: a frame whose beginning routed it but whose whole does not agree reaches the reader as a
``DecodeFailed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import Counter
from typing import Any

import pytest

from hyperliquid_client.generated.streams import AsyncStreams
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.hub import AsyncRecordingHub
from hyperliquid_client.runtime.streaming import channel_info
from hyperliquid_client.runtime.ws import WsClient, WsConfig
from hyperliquid_client.runtime.ws.messages import DecodeFailed, Interrupted, Message

_URL = "ws://127.0.0.1:9/ws"  # never reached: frames are handed to the client directly
_CFG = WsConfig(reconnect_base=60.0, reconnect_max=60.0, open_timeout=1.0)
_UNI = "C\u00e9"  # a coin whose name ``ensure_ascii`` escapes (then its text has a backslash: parsed at arrival)


async def _specs() -> dict[str, tuple[Any, dict[str, Any], Any]]:
    """(channel info, subscription, typed decoder) of the generated streams used here, by ``type/coin``."""
    hub = AsyncRecordingHub()
    streams = AsyncStreams(hub)
    for coin in ("BTC", "ETH", "SOL", _UNI):
        await streams.l2_book(coin)
    await streams.bbo("BTC")
    await streams.trades("BTC")
    out = {}
    for call in hub.calls:
        sub = call.subscription
        out[f"{sub['type']}/{sub['coin']}"] = (channel_info(call.spec), sub, call.decode)
    return out


# (stream, typed, overflow policy, buffer size) of each subscriber: one feed per stream and decoder
_SUBSCRIBERS = (
    ("l2Book/BTC", False, "drop_oldest", 6),
    ("l2Book/BTC", False, "drop_newest", 5),
    ("l2Book/ETH", True, "drop_oldest", 7),
    ("l2Book/SOL", False, "drop_oldest", 50),  # SOL: two feeds (raw and typed): parsed at arrival
    ("l2Book/SOL", True, "drop_oldest", 50),
    (f"l2Book/{_UNI}", False, "error", 40),
    ("bbo/BTC", True, "block", 30),
    ("trades/BTC", False, "drop_oldest", 50),  # de-duplicated as read (see test_ws_trades_text.py)
)


class _Side:
    """One client with every subscriber of ``_SUBSCRIBERS``; ``text`` False turns the text path off."""

    def __init__(self, text: bool) -> None:
        self.text = text
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe("ws.*", self.events.append)
        self.client = WsClient(_URL, config=_CFG, events=self.bus)
        self.subs: list[Any] = []
        self.got: list[list[Any]] = []
        self.latest: list[Any] = []
        self.blocked: list[int] = []

    async def start(
        self,
        specs: dict[str, tuple[Any, dict[str, Any], Any]],
        subscribers: tuple[tuple[str, bool, str, int], ...] | None = None,
    ) -> None:
        for name, typed, policy, size in subscribers or _SUBSCRIBERS:
            info, sub, decode = specs[name]
            self.subs.append(
                await self.client.subscribe(
                    info, sub, decode=decode if typed else None, overflow=policy, buffer_size=size
                )
            )
            self.got.append([])
        ups = {s._sink.upstream for s in self.subs}
        conns = {up.conn for up in ups}
        assert len(conns) == 1
        self.conn = conns.pop()
        for up in ups:
            if not self.text:
                up.textual = False
                up.refresh_text_feed()

    def frame(self, raw: str | bytes) -> None:
        blocked = self.client._on_frame(self.conn, raw)
        self.blocked.append(len(blocked or ()))

    def read(self, k: int, how: str) -> None:
        sub = self.subs[k]
        try:
            if how == "drain":
                self.got[k].extend(sub.drain())
            else:
                item = sub.get_nowait()
                if item is not None:
                    self.got[k].append(item)
        except Exception as exc:  # an ``error`` subscriber's overflow
            self.got[k].append(("raised", type(exc).__name__))

    def read_latest(self, specs: dict[str, Any]) -> None:
        for name in dict.fromkeys(n for n, *_ in _SUBSCRIBERS):
            info, sub, _ = specs[name]
            params = {k: v for k, v in sub.items() if k != "type"}
            self.latest.append(
                (
                    self.client.latest(info.type, **params),
                    self.client.latest_raw(info.type, **params),
                    self.client.fresh_raw(info.type, 3600.0, **params),
                )
            )

    def seen(self) -> tuple[Any, ...]:
        def item(x: Any) -> Any:
            return ("message", x.data, x.channel, x.recovered) if type(x) is Message else x

        events = Counter((e.name, json.dumps(dict(e.fields), sort_keys=True, default=repr)) for e in self.events)
        counts = [(s.delivered, s.dropped, s.closed) for s in self.subs]
        return [[item(x) for x in g] for g in self.got], self.latest, events, counts, self.blocked


def _book(coin: Any, i: int) -> dict[str, Any]:
    return {
        "coin": coin,
        "time": 1_700_000_000_000 + i,
        "levels": [[{"px": f"{100 + i % 7}.5", "sz": "1.25", "n": 1 + i % 3}], [{"px": "200.0", "sz": "2", "n": 1}]],
    }


def _frames(rnd: random.Random, n: int) -> list[str | bytes]:
    """Random frames both paths must treat alike: valid frames in the server's shape and in others, escapes,
    addresses, other channels, unrouted and malformed frames, binary frames, data a decoder refuses."""
    out: list[str | bytes] = []
    compact = {"separators": (",", ":")}
    for i in range(n):
        coin = rnd.choice(["BTC", "BTC", "ETH", "SOL", _UNI, "ZZZ"])
        book = _book(coin, i)
        kind = rnd.random()
        if kind < 0.45:  # the server's shape (most frames)
            out.append(json.dumps({"channel": "l2Book", "data": book}, ensure_ascii=rnd.random() < 0.2, **compact))
        elif kind < 0.5:  # spaces after the separators
            out.append(json.dumps({"channel": "l2Book", "data": book}))
        elif kind < 0.55:  # other key orders
            moved = {"time": book["time"], "coin": coin, "levels": book["levels"]}
            out.append(
                json.dumps(
                    rnd.choice([{"data": book, "channel": "l2Book"}, {"channel": "l2Book", "data": moved}]), **compact
                )
            )
        elif kind < 0.6:  # escapes in the coin or the channel's name (same values)
            text = json.dumps({"channel": "l2Book", "data": book}, **compact)
            esc = f"\\u{ord(coin[0]):04x}{coin[1:]}"
            out.append(
                text.replace(f'"coin":"{coin}"', f'"coin":"{esc}"')
                if rnd.random() < 0.5
                else text.replace('"l2Book"', '"l2\\u0042ook"')
            )
        elif kind < 0.63:  # an address where the coin is (routed by the router function: no such subscription)
            out.append(json.dumps({"channel": "l2Book", "data": {**book, "coin": "0x" + "aB" * 20}}, **compact))
        elif kind < 0.68:  # data a typed decoder refuses (a raw subscriber gets it as it is; for ``latest`` of a
            # typed stream held as text, see test_a_message_its_decoder_refuses_reaches_the_reader_as_today)
            coin = "SOL" if coin == "ETH" else coin
            out.append(
                json.dumps({"channel": "l2Book", "data": {"coin": coin, "time": "soon", "levels": 5}}, **compact)
            )
        elif kind < 0.7:  # a number the fast parser refuses (the standard library reads it; no decoder does)
            book["coin"] = "SOL" if coin == "ETH" else coin
            out.append(
                json.dumps({"channel": "l2Book", "data": book}, **compact).replace(
                    f'"time":{book["time"]}', '"time":1e400'
                )
            )
        elif kind < 0.73:  # data as a list (routed by its first item, parsed at arrival)
            out.append(json.dumps({"channel": "l2Book", "data": [book]}, **compact))
        elif kind < 0.8:
            bbo = {"coin": "BTC", "time": 1_700_000_000_000 + i, "bbo": [{"px": "1.5", "sz": "2", "n": 1}, None]}
            out.append(json.dumps({"channel": "bbo", "data": bbo}, **compact))
        elif kind < 0.85:
            trade = {
                "coin": "BTC",
                "side": "B",
                "px": "1.0",
                "sz": "1",
                "time": 1_700_000_000_000 + i,
                "hash": f"0x{i:064x}",
                "tid": i,
                "users": ["0x" + "ab" * 20, "0x" + "cd" * 20],
            }
            out.append(json.dumps({"channel": "trades", "data": [trade]}, **compact))
        elif kind < 0.88:
            out.append(json.dumps({"channel": "l2Book", "data": book}, **compact).encode())  # binary
        elif kind < 0.91:
            out.append(rnd.choice(['{"channel":"pong"}', '{"channel":"allMids","data":{"mids":{}}}', "[1, 2]"]))
        elif kind < 0.94:  # malformed before the coin's value ends: parsed at arrival, dropped and reported
            out.append(rnd.choice(['{"channel":"l2Book","data":{"coin":"BTC', '{"channel":"l2Book","data":{', "{"]))
        else:  # a channel nobody subscribed to, same shape
            out.append(json.dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": {}}}, **compact))
    return out


@pytest.mark.parametrize("seed", range(30))
async def test_frames_routed_by_their_text_read_the_same_as_frames_parsed_at_arrival(seed: int) -> None:
    rnd = random.Random(seed)
    specs = await _specs()
    sides = [_Side(text=True), _Side(text=False)]
    try:
        for side in sides:
            await side.start(specs)
        frames = _frames(rnd, rnd.randint(60, 200))
        pos = 0
        while pos < len(frames):
            batch = frames[pos : pos + rnd.randint(1, 25)]
            pos += len(batch)
            reads = [(rnd.randrange(len(_SUBSCRIBERS)), rnd.choice(["drain", "one"])) for _ in range(rnd.randint(0, 6))]
            peek = rnd.random() < 0.3
            cancel = rnd.randrange(len(_SUBSCRIBERS)) if rnd.random() < 0.03 else None
            for side in sides:
                for raw in batch:
                    side.frame(raw)
                if peek:
                    side.read_latest(specs)
                for k, how in reads:
                    side.read(k, how)
                if cancel is not None:
                    side.subs[cancel].cancel()
        for side in sides:
            side.read_latest(specs)
            for k in range(len(_SUBSCRIBERS)):
                side.read(k, "drain")
        text, parsed = (side.seen() for side in sides)
        for part in range(len(text)):  # items, latest values, events, counters, blocked producers
            assert text[part] == parsed[part], part
        delivered = [x for g in text[0] for x in g if type(x) is tuple and x[0] == "message"]
        assert delivered  # (something got through)
    finally:
        for side in sides:
            await side.client.close()


async def _subscribed(stream: str, *buffers: tuple[str, int], typed: bool = False) -> tuple[_Side, list[Any]]:
    """A client (text path on) with one subscriber of ``stream`` per ``(overflow policy, buffer size)``."""
    info, sub, decode = (await _specs())[stream]
    side = _Side(True)
    subs = [
        await side.client.subscribe(info, sub, decode=decode if typed else None, overflow=policy, buffer_size=size)
        for policy, size in buffers
    ]
    side.conn = subs[0]._sink.upstream.conn
    return side, subs


async def _one(text: bool, *streams: tuple[str, bool]) -> tuple[_Side, list[Any]]:
    """A client (text path on or off) with one subscriber per ``(stream, typed)``."""
    specs = await _specs()
    side = _Side(text)
    for name, typed in streams:
        info, sub, decode = specs[name]
        side.subs.append(await side.client.subscribe(info, sub, decode=decode if typed else None))
    side.conn = side.subs[0]._sink.upstream.conn
    for s in side.subs:
        s._sink.upstream.textual = text
        s._sink.upstream.refresh_text_feed()
    return side, side.subs


def _held(sub: Any) -> list[Any]:
    feed = sub._sink.feed
    return feed.items[sub._sink.cursor - feed.base :]


async def test_a_frame_in_the_servers_shape_waits_as_its_text_and_its_reader_gets_it_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hyperliquid_client.runtime.ws.client import _Upstream

    reads: list[object] = []
    real = _Upstream.latest_values

    def counting(self: Any) -> Any:
        reads.append(self)
        return real(self)

    monkeypatch.setattr(_Upstream, "latest_values", counting)
    side, (btc, eth) = await _one(True, ("l2Book/BTC", False), ("l2Book/ETH", True))
    try:
        book = _book("BTC", 1)
        frame = json.dumps({"channel": "l2Book", "data": book}, separators=(",", ":"))
        side.frame(frame)
        assert _held(btc) == [frame]  # (the text itself: nothing for the collector to walk)
        # read from the text (from another thread: read on the client's loop, which that thread waits for), and
        # kept for the subscriber: the feed still holds the text
        assert await asyncio.to_thread(side.client.latest_raw, "l2Book", coin="BTC") == book
        assert _held(btc)[0] is frame
        assert len(reads) == 1  # read once, on the loop; again from any thread: a plain read of what it gave
        assert await asyncio.to_thread(side.client.latest_raw, "l2Book", coin="BTC") == book
        assert len(reads) == 1
        [msg] = [x for x in btc.drain() if type(x) is not Interrupted]  # (the loop ran: the connection failed)
        assert type(msg) is Message and msg.data == book and msg.channel == "l2Book" and not msg.recovered
        assert msg.data is side.client.latest_raw("l2Book", coin="BTC")  # parsed once, shared
        # typed: decoded once, the same object for the reader and ``latest``, whichever reads first
        side.frame(json.dumps({"channel": "l2Book", "data": _book("ETH", 2)}, separators=(",", ":")))
        [msg] = [x for x in eth.drain() if type(x) is not Interrupted]
        assert msg.data.coin == "ETH" and msg.data is side.client.latest("l2Book", coin="ETH")
        side.frame(json.dumps({"channel": "l2Book", "data": _book("ETH", 3)}, separators=(",", ":")))
        latest = side.client.latest("l2Book", coin="ETH")
        assert latest.time == 1_700_000_000_003
        assert eth.get_nowait().data is latest
        # not in that shape: parsed at arrival
        side.frame(json.dumps({"channel": "l2Book", "data": book}))
        assert [type(x) for x in _held(btc)] == [dict]
    finally:
        await side.client.close()


@pytest.mark.parametrize(
    ("frame", "parsed_at_arrival"),
    [
        # the coin's value read from the text is not the data's (a later duplicate key wins when parsed)
        ('{"channel":"l2Book","data":{"coin":"BTC","time":1,"coin":"ETH"}}', "ETH"),
        # nor the channel's
        ('{"channel":"l2Book","data":{"coin":"BTC","time":1},"channel":"bbo"}', None),
        # not JSON past the beginning
        ('{"channel":"l2Book","data":{"coin":"BTC","time":}}', None),
        ('{"channel":"l2Book","data":{"coin":"BTC"', None),
    ],
)
@pytest.mark.parametrize("newest", [True, False])
@pytest.mark.parametrize("typed", [False, True])
async def test_a_frame_whose_whole_is_not_what_its_beginning_said_reaches_the_reader_as_decode_failed(
    frame: str, parsed_at_arrival: str | None, newest: bool, typed: bool
) -> None:
    # the text path hands the subscriber its beginning routed it to a DecodeFailed (with the ws.error event and a
    # log record, as a decode failure); parsed at arrival the frame goes where its data says, or is dropped and
    # reported when it is not JSON: nothing reaches a subscriber it is not for, nothing is dropped silently.
    # ``newest``: the frame is the stream's newest (``latest`` may read it), else a good one follows it
    good = json.dumps({"channel": "l2Book", "data": _book("BTC", 2)}, separators=(",", ":"))
    for text in (True, False):
        side, (btc, eth) = await _one(text, ("l2Book/BTC", typed), ("l2Book/ETH", False))
        try:
            side.frame(frame)
            if not newest:
                side.frame(good)
            got_btc, got_eth = btc.drain(), eth.drain()
            errors = [e["message"] for e in side.events if e.name == "ws.error"]
            rest = [] if newest else [Message]
            if text:
                assert [type(x) for x in got_btc] == [DecodeFailed, *rest] and got_eth == []
                assert len(errors) == 1 and "decode failed" in errors[0]
                latest = side.client.latest_raw("l2Book", coin="BTC")
                assert latest is None if newest else latest == _book("BTC", 2)  # nothing read from the bad one
            else:
                assert [type(x) for x in got_btc] == rest
                assert [m.data["coin"] for m in got_eth] == ([parsed_at_arrival] if parsed_at_arrival else [])
                assert len(errors) == (0 if parsed_at_arrival or '"bbo"' in frame else 1)
        finally:
            await side.client.close()


async def test_a_message_its_decoder_refuses_reaches_the_reader_as_today() -> None:
    # the same DecodeFailed item and ws.error event as when decoded at arrival (reported when read); ``latest_raw``
    # is the data, ``latest`` the newest value decoded before it (held as text: the newest one read before it)
    bad = {"coin": "ETH", "time": "soon", "levels": 5}
    frames = [
        json.dumps({"channel": "l2Book", "data": _book("ETH", 1)}, separators=(",", ":")),
        json.dumps({"channel": "l2Book", "data": bad}, separators=(",", ":")),
    ]
    seen = []
    for text in (True, False):
        side, (eth,) = await _one(text, ("l2Book/ETH", True))
        try:
            side.frame(frames[0])
            first = eth.drain()
            side.frame(frames[1])
            assert type(_held(eth)[0]) is (str if text else DecodeFailed)
            assert side.client.latest_raw("l2Book", coin="ETH") == bad
            assert side.client.latest("l2Book", coin="ETH") is first[0].data
            items = eth.drain()
            errors = [e.fields for e in side.events if e.name == "ws.error"]
            seen.append((items, errors))
        finally:
            await side.client.close()
    assert seen[0] == seen[1]
    [failed] = seen[0][0]
    assert type(failed) is DecodeFailed and failed.raw == bad


@pytest.mark.parametrize("kind", ["ws_l2Book", "ws_bbo"])
async def test_recorded_frames_read_the_same_either_way(kind: str) -> None:
    from datasets import fixtures

    recorded = [m for f in fixtures(kind) for m in f["response"] if m.get("channel") != "subscriptionResponse"]
    assert recorded
    for message in recorded:
        coin = message["data"]["coin"]
        channel = message["channel"]
        info, sub, _decode = (await _specs())[f"{channel}/BTC"]
        frame = json.dumps(message, separators=(",", ":"), ensure_ascii=False)  # (the server's order of keys)
        got = []
        for text in (True, False):
            side = _Side(text)
            try:
                raw = await side.client.subscribe(info, {**sub, "coin": coin})
                typed = await side.client.subscribe(info, {**sub, "coin": coin}, decode=_decode)
                side.conn = raw._sink.upstream.conn
                for up in {raw._sink.upstream, typed._sink.upstream}:
                    up.textual = text
                    up.refresh_text_feed()
                typed.cancel()  # one feed left: the text path's condition
                side.frame(frame)
                held = _held(raw)
                if text and frame.startswith(f'{{"channel":"{channel}","data":{{"coin":"'):
                    assert held == [frame]
                got.append((raw.drain(), side.client.latest_raw(info.type, coin=coin)))
            finally:
                await side.client.close()
        assert got[0] == got[1] and got[0][0][0].data == message["data"]


async def test_a_frame_of_a_streams_second_channel_is_parsed_at_arrival_and_keeps_its_channel() -> None:
    # activeAssetCtx data arrives on two channels; a feed holds text of its first one only (a message of the other is
    # wrapped on arrival with its own channel name)
    hub = AsyncRecordingHub()
    await AsyncStreams(hub).active_asset_ctx("BTC")
    [call] = hub.calls
    info = channel_info(call.spec)
    assert len(info.channels) == 2
    side = _Side(True)
    try:
        sub = await side.client.subscribe(info, call.subscription)
        side.conn = sub._sink.upstream.conn
        frames = [
            json.dumps({"channel": ch, "data": {"coin": "BTC", "ctx": {"n": i}}}, separators=(",", ":"))
            for i, ch in enumerate(info.channels)
        ]
        for frame in frames:
            side.frame(frame)
        # (the message parsed at arrival comes after the text: the text is read first, what waits as text is
        # always the newest of a feed)
        assert [type(x) for x in _held(sub)] == [Message, Message]
        got = sub.drain()
        assert [(m.channel, m.data["ctx"]["n"]) for m in got] == [(info.channels[0], 0), (info.channels[1], 1)]
    finally:
        await side.client.close()


# -- latest values and failures whoever reads first ------------------------------------------------------------------
def _text(data: Any) -> str:
    return json.dumps({"channel": "l2Book", "data": data}, separators=(",", ":"))


def _bad_frames(i: int) -> list[tuple[str, bool]]:
    """(frame, its data reads) of frames routed to BTC by their beginning that fail: not JSON past the beginning,
    another coin in the whole (a later key wins), data a decoder refuses (reads: raw subscribers get it)."""
    return [
        (f'{{"channel":"l2Book","data":{{"coin":"BTC","time":{i},"levels":}}}}', False),
        (f'{{"channel":"l2Book","data":{{"coin":"BTC","time":{i},"coin":"ETH","levels":[[],[]]}}}}', False),
        (_text({"coin": "BTC", "time": f"soon {i}", "levels": 5}), True),
    ]


def _decode_failures(side: _Side) -> int:
    return sum(1 for e in side.events if e.name == "ws.error" and "decode failed" in e["message"])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("typed", [False, True])
async def test_latest_is_the_newest_message_that_reads_whoever_read_what_first(seed: int, typed: bool) -> None:
    # a model: ``latest_raw`` is the data of the newest frame that parsed and checked, ``latest`` the newest that
    # also decoded, after any mix of good and bad frames, reads by subscribers, ``latest*`` (this thread and
    # another), overflow (drop_oldest over a small bound frees texts nobody read) and frames parsed at arrival
    rnd = random.Random(seed)
    specs = await _specs()
    info, sub, decode = specs["l2Book/BTC"]
    side = _Side(True)
    try:
        subs = [
            await side.client.subscribe(
                info, sub, decode=decode if typed else None, overflow="drop_oldest", buffer_size=size
            )
            for size in (rnd.choice([3, 8, 300]), 300)
        ]
        side.conn = subs[0]._sink.upstream.conn
        assert subs[0]._sink.upstream.text_feed is not None
        subs[0]._sink.upstream.live = True  # (as after the server's ack: ``fresh_raw`` reads it)
        side.subs = subs
        side.got = [[], []]
        want_raw: Any = None
        want: Any = None
        for i in range(rnd.randint(40, 160)):
            roll = rnd.random()
            if roll < 0.5:
                data = _book("BTC", i)
                frame, reads, decodes = (
                    _text(data) if rnd.random() < 0.9 else json.dumps({"channel": "l2Book", "data": data}),
                    True,
                    True,
                )  # (with spaces: parsed at arrival)
            else:
                frame, reads = rnd.choice(_bad_frames(i))
                data = json.loads(frame)["data"] if reads else None
                decodes = reads and not typed
            side.frame(frame)
            if reads:
                want_raw = data
            if decodes:
                want = data if decode is None or not typed else decode(data)
            for _ in range(rnd.choice([0, 0, 1, 2])):
                how = rnd.choice(["drain", "one", "latest", "latest_raw", "fresh_raw", "thread"])
                if how in ("drain", "one"):
                    side.read(rnd.randrange(2), how)
                elif how == "thread":
                    assert await asyncio.to_thread(side.client.latest_raw, "l2Book", coin="BTC") == want_raw
                elif how == "latest":
                    assert side.client.latest("l2Book", coin="BTC") == want
                else:
                    got = side.client.latest_raw("l2Book", coin="BTC")
                    if how == "fresh_raw":
                        got = side.client.fresh_raw("l2Book", 3600.0, coin="BTC")
                    assert got == want_raw
        assert side.client.latest_raw("l2Book", coin="BTC") == want_raw
        assert side.client.latest("l2Book", coin="BTC") == want
    finally:
        await side.client.close()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("typed", [False, True])
async def test_a_bad_frame_held_as_text_is_reported_once_and_every_subscriber_gets_the_same_decode_failed(
    seed: int, typed: bool
) -> None:
    # whoever reads a bad frame first (a drain, one read, ``latest*`` here or from another thread), it is reported
    # once (the ws.error event) and all its subscribers get the very same DecodeFailed
    rnd = random.Random(seed)
    specs = await _specs()
    info, sub, decode = specs["l2Book/BTC"]
    side = _Side(True)
    try:
        subs = [await side.client.subscribe(info, sub, decode=decode if typed else None) for _ in range(3)]
        side.conn = subs[0]._sink.upstream.conn
        got: list[list[Any]] = [[], [], []]
        bad = 0
        for i in range(rnd.randint(20, 80)):
            if rnd.random() < 0.5:
                side.frame(_text(_book("BTC", i)))
            else:
                frame, reads = rnd.choice(_bad_frames(i))
                side.frame(frame)
                bad += not reads or typed
            for _ in range(rnd.choice([0, 1, 2])):
                how = rnd.choice(["drain", "one", "latest", "latest_raw", "thread"])
                k = rnd.randrange(3)
                if how == "drain":
                    got[k] += subs[k].drain()
                elif how == "one":
                    with contextlib.suppress(asyncio.QueueEmpty):
                        got[k].append(subs[k].get_nowait())
                elif how == "thread":
                    await asyncio.to_thread(side.client.latest, "l2Book", coin="BTC")
                else:
                    getattr(side.client, how)("l2Book", coin="BTC")
        for k in range(3):
            got[k] += subs[k].drain()
        got = [[x for x in g if type(x) in (Message, DecodeFailed)] for g in got]
        assert len(got[0]) == len(got[1]) == len(got[2])
        for a, b, c in zip(*got, strict=True):
            assert a is b is c  # (read once: one item for every subscriber)
        assert sum(type(x) is DecodeFailed for x in got[0]) == bad
        assert _decode_failures(side) == bad
    finally:
        await side.client.close()


@pytest.mark.parametrize(
    "first", ["latest", "latest_raw", "fresh_raw", "thread", "drain", "get_nowait", "iteration", "callback"]
)
async def test_a_bad_frame_is_reported_once_whoever_reads_it_first(
    first: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hyperliquid_client")
    specs = await _specs()
    info, sub, decode = specs["l2Book/BTC"]
    side = _Side(True)
    handed: list[Any] = []
    try:
        reader = await side.client.subscribe(info, sub, decode=decode)
        other = await side.client.subscribe(
            info, sub, decode=decode, **({"callback": handed.append} if first == "callback" else {})
        )
        side.conn = reader._sink.upstream.conn
        reader._sink.upstream.live = True  # (as after the server's ack: ``fresh_raw`` reads it)
        good = _book("BTC", 1)
        side.frame(_text(good))
        side.frame('{"channel":"l2Book","data":{"coin":"BTC","time":2,"levels":}}')
        assert [type(x) for x in _held(reader)] == [str, str]
        if first == "callback":
            for _ in range(20):
                await asyncio.sleep(0)
            items = handed
        elif first == "drain":
            items = reader.drain()
        elif first == "get_nowait":
            items = [reader.get_nowait(), reader.get_nowait()]
        elif first == "iteration":
            items = [await reader.__anext__(), await reader.__anext__()]
        elif first == "thread":
            value = await asyncio.to_thread(side.client.latest, "l2Book", coin="BTC")
            assert value == decode(good)
        else:
            args = (3600.0,) if first == "fresh_raw" else ()
            value = getattr(side.client, first)("l2Book", *args, coin="BTC")
            assert value == (decode(good) if first == "latest" else good)
        assert _decode_failures(side) == 1
        records = [r for r in caplog.records if "decoding a message failed" in r.getMessage()]
        assert len(records) == 1
        # everybody else reads it after: not reported again, the same DecodeFailed for both subscribers
        assert side.client.latest("l2Book", coin="BTC") == decode(good)
        assert side.client.latest_raw("l2Book", coin="BTC") == good
        mine = items if first in ("drain", "get_nowait", "iteration") else reader.drain()
        theirs = handed if first == "callback" else other.drain()
        mine = [x for x in mine if type(x) in (Message, DecodeFailed)]
        theirs = [x for x in theirs if type(x) in (Message, DecodeFailed)]
        assert [type(x) for x in mine] == [Message, DecodeFailed]
        assert mine[1] is theirs[1] and mine[0] is theirs[0]
        assert _decode_failures(side) == 1
        assert len([r for r in caplog.records if "decoding a message failed" in r.getMessage()]) == 1
    finally:
        await side.client.close()


async def test_texts_freed_unread_by_overflow_still_give_the_latest_value() -> None:
    side, (btc,) = await _subscribed("l2Book/BTC", ("drop_oldest", 4))
    try:
        for i in range(300):
            side.frame(_text(_book("BTC", i)))
        for i in range(300, 310):  # the newest are bad: the newest good one was freed unread
            side.frame(_bad_frames(i)[0][0])
        assert len(btc._sink.feed.items) < 300  # (freed)
        assert side.client.latest_raw("l2Book", coin="BTC") == _book("BTC", 299)
        assert side.client.latest("l2Book", coin="BTC") == _book("BTC", 299)
    finally:
        await side.client.close()


async def test_a_bad_frame_read_by_latest_then_freed_unread_is_not_reported_again() -> None:
    side, (btc,) = await _subscribed("l2Book/BTC", ("drop_oldest", 4), typed=True)
    decode = btc._sink.decode
    try:
        for i in range(100):
            side.frame(_text(_book("BTC", i)))
        side.frame(_bad_frames(100)[0][0])
        assert side.client.latest("l2Book", coin="BTC") == decode(_book("BTC", 99))  # (reads the bad one: reported)
        assert _decode_failures(side) == 1
        for i in range(101, 301):  # bad ones only: freeing the texts reads back to the newest good one
            side.frame(_bad_frames(i)[i % 3][0])
        btc.drain()
        assert side.client.latest("l2Book", coin="BTC") == decode(_book("BTC", 99))
        # (the newest that parsed and checked: data the typed decoder refuses)
        assert side.client.latest_raw("l2Book", coin="BTC") == {"coin": "BTC", "time": "soon 299", "levels": 5}
        assert _decode_failures(side) == 201  # every bad frame once, the one ``latest`` read included
    finally:
        await side.client.close()


@pytest.mark.parametrize("reader", ["latest", "latest_raw", "drain_other", "log"])
async def test_a_handler_of_the_report_reading_the_stream_again_finds_the_bad_frame_read(
    reader: str, caplog: pytest.LogCaptureFixture
) -> None:
    # a ``ws.error`` listener (or a logging handler) runs while the read that found the bad frame reports it: its
    # own read of the stream must find that frame read (one report, no recursion) and every message the same object
    caplog.set_level(logging.ERROR, logger="hyperliquid_client")
    side, (first, other) = await _one(True, ("l2Book/BTC", True), ("l2Book/BTC", True))
    seen: list[Any] = []

    def again(*_: Any) -> None:
        if reader == "drain_other":
            seen.extend(other.drain())
        else:
            seen.append(getattr(side.client, "latest" if reader == "log" else reader)("l2Book", coin="BTC"))

    class Reading(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "decoding a message failed" in record.getMessage():
                again()

    handler = Reading()
    try:
        if reader == "log":
            logging.getLogger("hyperliquid_client").addHandler(handler)
        else:
            side.bus.subscribe("ws.error", again)
        side.frame(_text(_book("BTC", 1)))
        bad = _book("BTC", 2)
        bad["levels"][0][0]["px"] = "x"  # (parses and checks; the typed decoder refuses it)
        side.frame(_text(bad))  # (the newest: a read of ``latest`` reads back to it first)
        mine = [x for x in first.drain() if type(x) in (Message, DecodeFailed)]
        assert [type(x) for x in mine] == [Message, DecodeFailed]
        assert _decode_failures(side) == 1
        assert len([r for r in caplog.records if "decoding a message failed" in r.getMessage()]) == 1
        if reader == "drain_other":
            theirs = [x for x in seen + other.drain() if type(x) in (Message, DecodeFailed)]
            assert all(a is b for a, b in zip(mine, theirs, strict=True))
        else:
            assert len(seen) == 1 and seen[0] is not None
    finally:
        logging.getLogger("hyperliquid_client").removeHandler(handler)
        await side.client.close()


async def test_a_bad_frame_read_by_latest_after_good_texts_were_freed_unread_is_reported_at_once() -> None:
    # freeing good texts unread (overflow) reads them back and finds nothing to report: the next bad frame ``latest``
    # reads is reported then, not held for a later read
    side, (btc,) = await _subscribed("l2Book/BTC", ("drop_oldest", 4), typed=True)
    try:
        for i in range(300):
            side.frame(_text(_book("BTC", i)))
        assert btc._sink.feed.base > 0  # (freed)
        side.frame(_bad_frames(300)[0][0])
        side.client.latest("l2Book", coin="BTC")
        assert _decode_failures(side) == 1
    finally:
        await side.client.close()
