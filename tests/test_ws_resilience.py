"""Streams that never stall silently: a bad neighbour, an unknown coin, a half-open socket, a blocking callback,
timeouts that say why, waiting until a subscription is live, closing while a handshake hangs."""

from __future__ import annotations

import asyncio
import builtins
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_client import hanging_port  # noqa: F401 - a fixture: a server that never answers the handshake
from test_ws_support import L2BOOK, TRADES, wait_for

import hyperliquid_client
from hyperliquid_client import AsyncClient, Client, ClientConfig
from hyperliquid_client.generated.registry import CHANNELS
from hyperliquid_client.runtime.errors import InvalidInputError, WebSocketError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.ratelimit import RateLimitConfig, WsLimits
from hyperliquid_client.runtime.streaming import channel_info
from hyperliquid_client.runtime.ws import (
    ChannelInfo,
    Interrupted,
    Message,
    Stale,
    SubscriptionFailedError,
    WsClient,
    WsConfig,
)
from hyperliquid_client.testing import FakeExchange, Fault

FAST = WsConfig(reconnect_base=0.05, reconnect_max=0.2)


def book(coin: str, t: int) -> dict[str, Any]:
    return {"coin": coin, "time": t, "levels": [[], []]}


def subscribes(fx: FakeExchange, coin: str) -> int:
    """Subscribe frames for ``coin`` the fake received."""
    return sum(1 for r in fx.requests_for("/ws", method="subscribe") if r.body["subscription"].get("coin") == coin)


async def next_data(sub: Any, timeout: float = 3.0) -> Any:
    while True:
        item = await sub.get(timeout)
        if isinstance(item, Message):
            return item.data


# ------------------------------------------------------------------------------------------ a bad neighbour
async def test_a_subscription_the_server_drops_the_socket_for_fails_alone() -> None:
    """The real server drops the whole socket for an unknown coin.  The culprit is identified and failed alone, its
    neighbours are restored, and the client does not loop on reconnects."""
    async with FakeExchange(close_on_bad_subscription=True, market_snapshots=False) as fx:  # no first messages
        bus = EventBus()
        connects: list[Any] = []
        delays: list[float] = []
        bus.subscribe("ws.connect", connects.append)
        bus.subscribe("ws.reconnect_scheduled", lambda e: delays.append(e["delay"]))
        async with WsClient(fx.ws_url, config=FAST, events=bus) as ws:
            coins = ("BTC", "ETH", "SOL")
            good = [await ws.subscribe(L2BOOK, {"coin": c}) for c in coins]
            for sub in good:
                await sub.wait_live(5)
            bad = await ws.subscribe(L2BOOK, {"coin": "NOPE"})
            with pytest.raises(SubscriptionFailedError, match="NOPE") as info:
                await bad.wait_live(10)
            assert info.value.key is not None and "NOPE" in info.value.key
            await wait_for(lambda: len(connects) == 3)
            # a drop with the cause unknown grows the backoff (base 0.05: delays in [0.05, 0.1] instead of
            # [0.025, 0.05]); once the culprit is failed the next reconnect is prompt again
            assert delays[0] >= FAST.reconnect_base and delays[1] <= FAST.reconnect_base
            # sent once with the others, once alone: two dropped sockets, then never again
            assert len(fx.refused_subscriptions) == 2
            for sub in good:
                await sub.wait_live(5)
            for i, (coin, sub) in enumerate(zip(coins, good, strict=True)):
                fx.publish({"type": "l2Book", "coin": coin}, book(coin, 100 + i))
                assert (await next_data(sub))["time"] == 100 + i
            await asyncio.sleep(0.5)
            assert len(connects) == 3 and subscribes(fx, "NOPE") == 2


async def test_a_bad_subscription_sent_with_many_others_is_found() -> None:
    """Sent in one burst with ten good ones (some before, some after it): only the bad one fails."""
    async with FakeExchange(close_on_bad_subscription=True) as fx, WsClient(fx.ws_url, config=FAST) as ws:
        coins = [c for c in fx.market.perp_names()[:10]]
        subs = [await ws.subscribe(TRADES, {"coin": c}) for c in coins[:5]]
        bad = await ws.subscribe(TRADES, {"coin": "btc"})  # misspelled: unknown to the server
        subs += [await ws.subscribe(TRADES, {"coin": c}) for c in coins[5:]]
        with pytest.raises(SubscriptionFailedError):
            await bad.wait_live(10)
        for sub in subs:
            await sub.wait_live(5)
        assert {str(s["coin"]) for s in fx.refused_subscriptions} == {"btc"}
        assert sorted(s["coin"] for _, s in fx.ws_subscriptions) == sorted(coins)


async def test_new_connections_stay_within_the_per_minute_budget() -> None:
    """A server that drops every socket at once: reconnects never exceed the connection budget."""
    async with FakeExchange() as fx:
        fx.add_fault("/ws", Fault.ws_drop(), match={"event": "connect"})
        bus = EventBus()
        connects: list[Any] = []
        bus.subscribe("ws.connect", connects.append)
        config = WsConfig(reconnect_base=0.01, reconnect_max=0.02)
        limits = WsLimits(RateLimitConfig(ws_connections_per_minute=3))
        async with WsClient(fx.ws_url, config=config, events=bus, limits=limits) as ws:
            sub = await ws.subscribe(L2BOOK, {"coin": "BTC"})
            await wait_for(lambda: len(connects) >= 3)
            with pytest.raises(TimeoutError, match="not connected"):
                while True:
                    await sub.get(1.0)  # Interrupted markers, then silence
            assert len(connects) == 3


# ---------------------------------------------------------------------------- an unknown coin, metadata loading
async def test_an_unknown_coin_is_refused_once_metadata_arrives_and_never_sent() -> None:
    async with (
        FakeExchange(close_on_bad_subscription=True) as fx,
        AsyncClient(
            "testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=ClientConfig(ws=FAST, warm=False)
        ) as client,
    ):
        assert client.markets.known_coin("BTC") is None  # nothing loaded yet
        btc = await client.streams.l2_book("BTC")
        nope = await client.streams.l2_book("NOPE")  # returns at once, like every subscription
        with pytest.raises(SubscriptionFailedError, match="NOPE") as info:
            await nope.wait_live(10)
        assert isinstance(info.value.__cause__, InvalidInputError) and info.value.__cause__.field == "coin"
        await btc.wait_live(5)
        assert subscribes(fx, "NOPE") == 0 and not fx.refused_subscriptions
        with pytest.raises(InvalidInputError):  # now known: refused before anything is recorded
            await client.streams.l2_book("NOPE")


# ------------------------------------------------------------------------------------------ half-open, stale
def test_default_detection_of_a_silent_socket_is_within_ten_seconds() -> None:
    config = WsConfig()
    assert config.ping_interval + config.dead_after <= 10
    assert config.stale_after == "auto"
    assert channel_info(CHANNELS["l2Book"]).stale_after is not None  # normally busy: flagged by default
    assert channel_info(CHANNELS["trades"]).stale_after is None  # quiet coins trade rarely


async def test_a_silent_socket_is_replaced_within_the_default_deadline() -> None:
    """Default settings, a server that goes silent (half-open): the subscriber hears of it within 10 s."""
    async with FakeExchange() as fx, WsClient(fx.ws_url) as ws:
        sub = await ws.subscribe(L2BOOK, {"coin": "BTC"})
        await sub.wait_live(5)
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 1))
        await next_data(sub)
        fx.add_fault("/ws", Fault.ws_silence(), count=1)
        start = time.monotonic()
        item = await sub.get(15)
        assert isinstance(item, Interrupted) and "half-open" in item.reason
        assert time.monotonic() - start < 10 + 1.5  # a deadline (9 s by default), with room for a loaded machine


async def test_a_busy_socket_sends_no_pings() -> None:
    """Pings go out only after silence: busy connections cost no client messages."""
    config = WsConfig(ping_interval=0.5, dead_after=0.5)
    async with FakeExchange() as fx, WsClient(fx.ws_url, config=config) as ws:
        sub = await ws.subscribe(L2BOOK, {"coin": "BTC"})
        await sub.wait_live(5)
        for i in range(40):  # 2 s of data every 50 ms: a ping every 0.5 s regardless would be 4
            fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", i))
            await asyncio.sleep(0.05)
        assert len(fx.requests_for("/ws", method="ping")) <= 1  # (one, should the loaded machine stall 0.5 s)
        await wait_for(lambda: bool(fx.requests_for("/ws", method="ping")), timeout=3)  # silent now: pinged


async def test_a_normally_busy_channel_is_flagged_stale_by_default() -> None:
    busy = ChannelInfo("l2Book", ("l2Book",), (("coin", "coin"),), stale_after=0.3)
    async with FakeExchange(market_snapshots=False) as fx, WsClient(fx.ws_url) as ws:  # silent from the start
        flagged = await ws.subscribe(busy, {"coin": "BTC"})
        quiet = await ws.subscribe(TRADES, {"coin": "BTC"})
        await flagged.wait_live(5)
        await quiet.wait_live(5)
        item = await flagged.get(3)
        assert isinstance(item, Stale) and item.silence >= 0.3
        assert quiet.buffered == 0  # no threshold: never flagged


# ---------------------------------------------------------------------------------------- blocking callback
@pytest.mark.parametrize("kind", ["sync client", "async client"])
async def test_a_blocking_callback_does_not_stall_other_streams(kind: str) -> None:
    release = threading.Event()
    called = threading.Event()

    def blocking(item: Any) -> None:
        called.set()
        release.wait(10)

    async with FakeExchange() as fx:
        config = ClientConfig(ws=FAST, warm=False)
        try:
            if kind == "sync client":
                client = Client("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=config)
                slow = client.streams.trades("ETH", callback=blocking)
                books = client.streams.l2_book("BTC")
                await asyncio.to_thread(slow.wait_live, 5)
                await asyncio.to_thread(books.wait_live, 5)
            else:
                aclient = AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=config)
                aslow = await aclient.streams.trades("ETH", callback=blocking)
                abooks = await aclient.streams.l2_book("BTC")
                await aslow.wait_live(5)
                await abooks.wait_live(5)
            fx.publish({"type": "trades", "coin": "ETH"}, [{"coin": "ETH", "tid": 1}])
            assert await asyncio.to_thread(called.wait, 5)
            fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 7))
            if kind == "sync client":
                item = await asyncio.to_thread(books.get, 5)
            else:
                item = await abooks.get(5)
            assert isinstance(item, Message) and not release.is_set()  # arrived while the callback still blocks
        finally:
            release.set()
            if kind == "sync client":
                await asyncio.to_thread(client.close)
            else:
                await aclient.aclose()
        # the callback's thread ends with its subscription
        await wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("hyperliquid-ws-callback")])


async def test_sync_callbacks_share_threads_and_a_blocked_one_holds_only_its_own() -> None:
    """Callback subscriptions do not each hold a thread: callbacks that take turns run on the same few threads; a
    callback that blocks holds one while the others still run (and their items still arrive in order)."""
    coins = [f"C{i}" for i in range(10)]
    ran: dict[str, list[tuple[str, int]]] = {c: [] for c in coins}
    release = threading.Event()

    def record(coin: str) -> Any:
        def callback(item: Any) -> None:
            if isinstance(item, Message):
                ran[coin].append((threading.current_thread().name, item.data[0]["tid"]))
                if coin == "C0" and item.data[0]["tid"] == 2:
                    release.wait(10)

        return callback

    async with FakeExchange(market_snapshots=False) as fx, WsClient(fx.ws_url, config=FAST) as ws:
        subs = [await ws.subscribe(TRADES, {"coin": c}, callback=record(c)) for c in coins]
        for sub in subs:
            await sub.wait_live(5)
        try:
            for coin in coins:  # one after the other: each callback is done before the next item arrives
                fx.publish({"type": "trades", "coin": coin}, [{"coin": coin, "tid": 1}])
                await wait_for(lambda coin=coin: len(ran[coin]) == 1)
            names = {name for items in ran.values() for name, _ in items}
            assert all(n.startswith("hyperliquid-ws-callback") for n in names)
            assert len(names) < len(coins)  # shared: not a thread per subscription
            fx.publish({"type": "trades", "coin": "C0"}, [{"coin": "C0", "tid": 2}])  # C0's callback now blocks
            await wait_for(lambda: len(ran["C0"]) == 2)
            for tid in (2, 3):
                for coin in coins[1:]:
                    fx.publish({"type": "trades", "coin": coin}, [{"coin": coin, "tid": tid}])
            await wait_for(lambda: all([t for _, t in ran[c]] == [1, 2, 3] for c in coins[1:]))
            assert not release.is_set()  # all of that while C0's callback was still blocked
        finally:
            release.set()
        fx.publish({"type": "trades", "coin": "C0"}, [{"coin": "C0", "tid": 3}])
        await wait_for(lambda: [t for _, t in ran["C0"]] == [1, 2, 3])
    # closing the client ends its idle callback threads
    await wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("hyperliquid-ws-callback")])


async def test_async_callbacks_hold_no_task_each_and_a_blocked_one_holds_back_only_its_own() -> None:
    """Async callback subscriptions are fed by the client's one dispatcher, not a task each: idle, they add no task;
    an async callback that blocks holds back its own subscription only, and every subscription's items arrive in
    order (the blocked one's too, once it is released)."""
    coins = [f"C{i}" for i in range(10)]
    ran: dict[str, list[int]] = {c: [] for c in coins}
    release = asyncio.Event()

    def record(coin: str) -> Any:
        async def callback(item: Any) -> None:
            if isinstance(item, Message):
                ran[coin].append(item.data[0]["tid"])
                if coin == "C0" and item.data[0]["tid"] == 1:
                    await release.wait()

        return callback

    async with FakeExchange(market_snapshots=False) as fx, WsClient(fx.ws_url, config=FAST) as ws:
        await (await ws.subscribe(TRADES, {"coin": "BTC"})).wait_live(5)  # the connection's own tasks are up
        before = len(asyncio.all_tasks())
        subs = [await ws.subscribe(TRADES, {"coin": c}, callback=record(c)) for c in coins]
        for sub in subs:
            await sub.wait_live(5)
        assert len(asyncio.all_tasks()) - before < len(coins)  # was one task per subscription
        try:
            fx.publish({"type": "trades", "coin": "C0"}, [{"coin": "C0", "tid": 1}])  # C0's callback now blocks
            await wait_for(lambda: ran["C0"] == [1])
            for tid in (1, 2, 3):
                fx.publish({"type": "trades", "coin": "C0"}, [{"coin": "C0", "tid": tid + 1}])
                for coin in coins[1:]:
                    fx.publish({"type": "trades", "coin": coin}, [{"coin": coin, "tid": tid}])
            await wait_for(lambda: all(ran[c] == [1, 2, 3] for c in coins[1:]))
            assert ran["C0"] == [1]  # all of that while C0's callback was still blocked
        finally:
            release.set()
        await wait_for(lambda: ran["C0"] == [1, 2, 3, 4])


# ------------------------------------------------------------------------------ timeouts, waiting until live
@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_stream_timeout_says_the_socket_is_not_connected(closed_port: int) -> None:
    assert issubclass(hyperliquid_client.TimeoutError, builtins.TimeoutError)
    assert issubclass(hyperliquid_client.TimeoutError, hyperliquid_client.HyperliquidError)
    config = ClientConfig(ws=FAST, warm=False)
    with (
        FakeExchange() as fx,  # metadata answers; the WebSocket cannot connect
        Client("testnet", http_url=fx.http_url, ws_url=f"ws://127.0.0.1:{closed_port}/ws", config=config) as c,
    ):
        trades = c.streams.trades("BTC")
        first = trades.get(timeout=5)  # a control item tells the subscriber
        assert isinstance(first, Interrupted) and first.reason.startswith("not connected: connect failed")
        with pytest.raises(hyperliquid_client.TimeoutError, match=r"^not connected: connect failed") as info:
            trades.get(timeout=0.3)
        assert "trades" in str(info.value) and "BTC" in str(info.value)
        with pytest.raises(hyperliquid_client.TimeoutError, match=r"^not connected"):
            trades.wait_live(timeout=0.3)


async def test_stream_timeout_on_a_live_but_silent_stream() -> None:
    async with FakeExchange() as fx, WsClient(fx.ws_url, config=FAST) as ws:
        sub = await ws.subscribe(TRADES, {"coin": "BTC"})
        await sub.wait_live(5)
        with pytest.raises(hyperliquid_client.TimeoutError, match=r"^connected and subscribed; no data for"):
            await sub.get(0.2)


async def test_wait_live_waits_for_the_acknowledgement() -> None:
    async with FakeExchange() as fx, WsClient(fx.ws_url, config=FAST) as ws:
        slow = fx.add_fault("/ws", Fault.latency(0.5), match={"method": "subscribe"})
        sub = await ws.subscribe(TRADES, {"coin": "BTC"})
        await wait_for(lambda: bool(fx.requests_for("/ws", method="subscribe")))  # sent, not yet answered
        with pytest.raises(TimeoutError, match="waiting for the server to acknowledge"):
            await sub.wait_live(0.1)
        await sub.wait_live(5)
        assert [s["coin"] for _, s in fx.ws_subscriptions] == ["BTC"]  # acknowledged means subscribed
        fx.publish({"type": "trades", "coin": "BTC"}, [{"coin": "BTC", "tid": 9}])  # what happens next is seen
        assert (await next_data(sub))[0]["tid"] == 9
        fx.remove_fault(slow)
        sub.cancel()
        with pytest.raises(WebSocketError, match="ended"):
            await sub.wait_live(1)


def test_wait_live_sync() -> None:
    with (
        FakeExchange() as fx,
        Client("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=ClientConfig(ws=FAST)) as c,
    ):
        fills = c.streams.user_fills("0x" + "ab" * 20)
        fills.wait_live(timeout=5)
        assert len(fx.ws_subscriptions) == 1


# ------------------------------------------------------------------------------------- close, hanging handshake
def test_close_returns_at_once_while_a_handshake_hangs(hanging_port: int) -> None:  # noqa: F811
    config = ClientConfig(ws=FAST, warm=False)
    client = Client("testnet", http_url="http://127.0.0.1:9", ws_url=f"ws://127.0.0.1:{hanging_port}/ws", config=config)
    client.streams.l2_book("BTC")
    outcome: list[BaseException] = []

    def post() -> None:
        try:
            client.post("info", {"type": "meta"}, timeout=30)
        except BaseException as exc:
            outcome.append(exc)

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    time.sleep(0.3)
    start = time.monotonic()
    client.close()
    poster.join(2)
    assert time.monotonic() - start < 1.0  # a deadline: close must not wait for the handshake or the post
    assert not poster.is_alive() and isinstance(outcome[0], WebSocketError)


async def test_async_close_returns_at_once_while_a_handshake_hangs(hanging_port: int) -> None:  # noqa: F811
    config = ClientConfig(ws=FAST, warm=False)
    client = AsyncClient(
        "testnet", http_url="http://127.0.0.1:9", ws_url=f"ws://127.0.0.1:{hanging_port}/ws", config=config
    )
    await client.streams.l2_book("BTC")
    post = asyncio.create_task(client.post("info", {"type": "meta"}, timeout=30))
    await asyncio.sleep(0.3)
    start = time.monotonic()
    await client.aclose()
    with pytest.raises(WebSocketError, match="closed"):
        await asyncio.wait_for(post, 1.0)
    assert time.monotonic() - start < 1.0
