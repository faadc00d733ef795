"""WebSocket runtime against the fake exchange: connection faults, registry, posts, recovery, latest values."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_ws_support import (
    ALL_MIDS,
    BBO,
    L2BOOK,
    ORDER_UPDATES,
    TRADES,
    USER_A,
    USER_B,
    USER_EVENTS,
    USER_FILLS,
    wait_for,
)

from hyperliquid_client.runtime.errors import (
    IndeterminateError,
    InvalidInputError,
    SubscriptionLimitError,
    WebSocketError,
)
from hyperliquid_client.runtime.errors import TimeoutError as RequestTimeoutError
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.ws import (
    ChannelInfo,
    Interrupted,
    Message,
    Resumed,
    Stale,
    StreamClosedError,
    Subscription,
    SubscriptionFailedError,
    SyncWsClient,
    WsClient,
    WsConfig,
    WsItem,
)
from hyperliquid_client.testing import FakeExchange, Fault

FAST = WsConfig(
    ping_interval=0.4,
    dead_after=0.4,
    reconnect_base=0.05,
    reconnect_max=0.2,
    resubscribe_rate=5000,
    send_burst=5000,
    idle_close_after=0.2,
    post_timeout=2.0,
)


# These tests publish every message they expect: the fake sends nothing on its own after an ack.
QUIET = {"market_snapshots": False}


@pytest.fixture
async def fx() -> AsyncIterator[FakeExchange]:
    async with FakeExchange(**QUIET) as fake:
        yield fake


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        bus.subscribe("ws.*", self.events.append)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


def make_client(url: str, config: WsConfig = FAST, **kw: Any) -> tuple[WsClient, Recorder]:
    bus = EventBus()
    rec = Recorder(bus)
    return WsClient(url, config=config, events=bus, **kw), rec


def server_subs(fx: FakeExchange) -> list[str]:
    return sorted(json.dumps(s, sort_keys=True) for _, s in fx.ws_subscriptions)


async def next_message(sub: Subscription[Any], timeout: float = 3.0) -> Message[Any]:
    while True:
        item = await sub.get(timeout)
        if isinstance(item, Message):
            return item


async def until(sub: Subscription[Any], kind: type, timeout: float = 3.0) -> WsItem:
    while True:
        item = await sub.get(timeout)
        if isinstance(item, kind):
            return item


def book(coin: str, t: int = 1) -> dict[str, Any]:
    return {"coin": coin, "time": t, "levels": [[{"px": "1", "sz": "2", "n": 1}], []]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- basics ---
async def test_subscribe_never_waits_and_server_back_on_same_port() -> None:
    port = free_port()
    client, rec = make_client(f"ws://127.0.0.1:{port}/ws")
    try:
        # nothing listens yet: subscribe still returns at once
        sub = await asyncio.wait_for(client.subscribe(L2BOOK, {"coin": "BTC"}), 0.5)
        assert client.upstream_subscription_count() == 1
        await asyncio.sleep(0.3)
        assert rec.named("ws.disconnect")  # connect attempts failed meanwhile
        async with FakeExchange(port=port, **QUIET) as fx:
            await wait_for(lambda: len(fx.ws_subscriptions) == 1)
            await wait_for(lambda: fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC")) == 1)
            assert (await next_message(sub)).data["coin"] == "BTC"
        assert isinstance(await sub.get(3), Interrupted)  # server gone
        async with FakeExchange(port=port, **QUIET) as fx2:  # ... and back on the same port
            assert isinstance(await sub.get(5), Resumed)
            assert len(fx2.ws_subscriptions) == 1
            fx2.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 2))
            assert (await next_message(sub)).data["time"] == 2
    finally:
        await client.close()


async def test_params_identity_never_cross_and_validation_before_send(fx: FakeExchange) -> None:
    client, _ = make_client(fx.ws_url)
    async with client:
        with pytest.raises(InvalidInputError):
            await client.subscribe(USER_FILLS, {"user": "not-an-address"})
        plain = await client.subscribe(L2BOOK, {"coin": "BTC"})
        five = await client.subscribe(L2BOOK, {"coin": "BTC", "nSigFigs": 5})
        eth = await client.subscribe(L2BOOK, {"coin": "ETH"})
        assert client.connection_count() == 2  # same route ("BTC") + different identity: separate sockets
        await wait_for(lambda: len(fx.ws_subscriptions) == 3)
        assert not any(s.get("user") == "not-an-address" for _, s in fx.ws_subscriptions)
        fx.publish({"type": "l2Book", "coin": "BTC", "nSigFigs": 5}, book("BTC", 5))
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 1))
        fx.publish({"type": "l2Book", "coin": "ETH"}, book("ETH", 9))
        assert (await next_message(plain)).data["time"] == 1
        assert (await next_message(five)).data["time"] == 5
        assert (await next_message(eth)).data["coin"] == "ETH"
        for sub in (plain, five, eth):
            with pytest.raises(TimeoutError):
                await next_message(sub, 0.2)


async def test_identical_subscriptions_share_one_upstream(fx: FakeExchange) -> None:
    client, _ = make_client(fx.ws_url)
    async with client:
        subs = [await client.subscribe(TRADES, {"coin": "SOL"}) for _ in range(3)]
        assert client.upstream_subscription_count() == 1 and client.registry_size() == 3
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        fx.publish({"type": "trades", "coin": "SOL"}, [{"coin": "SOL", "px": "1", "sz": "1", "tid": 1}])
        for sub in subs:
            assert (await next_message(sub)).data[0]["tid"] == 1
        subs[0].cancel()
        subs[0].cancel()  # idempotent
        subs[1].cancel()
        await asyncio.sleep(0.1)
        assert len(fx.ws_subscriptions) == 1 and client.registry_size() == 1
        subs[2].cancel()
        await wait_for(lambda: not fx.ws_subscriptions)
        assert client.upstream_subscription_count() == 0
        assert [s.closed for s in subs] == [True, True, True]
        with pytest.raises(StreamClosedError):
            await subs[0].get(1)


async def test_gc_and_dead_task_release_subscriptions(fx: FakeExchange) -> None:
    client, _ = make_client(fx.ws_url)
    async with client:
        sub = await client.subscribe(BBO, {"coin": "BTC"})
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        del sub
        gc.collect()
        await wait_for(lambda: not fx.ws_subscriptions)
        assert client.registry_size() == 0

        started = asyncio.Event()

        async def consumer() -> None:
            s = await client.subscribe(BBO, {"coin": "ETH"})
            keep.append(s)  # the handle outlives the task: only the task's death can release it
            started.set()
            async for _ in s:
                raise RuntimeError("consumer crashed")

        keep: list[Subscription[Any]] = []
        task = asyncio.create_task(consumer())
        await started.wait()
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        fx.publish({"type": "bbo", "coin": "ETH"}, {"coin": "ETH", "time": 1, "bbo": [None, None]})
        with pytest.raises(RuntimeError):
            await task
        await wait_for(lambda: not fx.ws_subscriptions)
        assert keep[0].closed and client.registry_size() == 0


# --- connection faults ---
@pytest.mark.parametrize("code", [None, 1000, 1001, 1011, 1012, 4000])
async def test_each_close_code_restores_every_subscription(fx: FakeExchange, code: int | None) -> None:
    client, rec = make_client(fx.ws_url)
    async with client:
        a = await client.subscribe(L2BOOK, {"coin": "BTC"})
        b = await client.subscribe(USER_FILLS, {"user": USER_A})
        await wait_for(lambda: len(fx.ws_subscriptions) == 2)
        await next_message(b)  # the snapshot
        before = server_subs(fx)
        fx.drop_ws_connections(code)
        for sub in (a, b):
            assert isinstance(await until(sub, Interrupted), Interrupted)
            assert isinstance(await until(sub, Resumed), Resumed)
        await wait_for(lambda: server_subs(fx) == before)  # restored, no duplicates
        codes = [e["code"] for e in rec.named("ws.disconnect")]
        assert codes == [1006 if code is None else code]
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 3))
        assert (await next_message(a)).data["time"] == 3


async def test_ignored_pings_detected_within_deadline(fx: FakeExchange) -> None:
    client, rec = make_client(fx.ws_url)
    async with client:
        sub = await client.subscribe(L2BOOK, {"coin": "BTC"})
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        handle = fx.add_fault("/ws", Fault.ws_ignore_pings(), count=1)  # claims the current connection
        t0 = time.monotonic()
        await until(sub, Interrupted, timeout=5)
        elapsed = time.monotonic() - t0
        # dead within one ping interval plus the deadline (plus scheduling margin)
        assert elapsed <= FAST.ping_interval + FAST.dead_after + 1.0
        assert "no data within" in rec.named("ws.disconnect")[0]["reason"]
        await until(sub, Resumed)
        fx.remove_fault(handle)
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 7))
        assert (await next_message(sub)).data["time"] == 7


async def test_silent_half_open_socket_replaced(fx: FakeExchange) -> None:
    client, _ = make_client(fx.ws_url)
    async with client:
        sub = await client.subscribe(L2BOOK, {"coin": "BTC"})
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        fx.add_fault("/ws", Fault.ws_silence(), count=1)
        await until(sub, Interrupted, timeout=3)
        await until(sub, Resumed, timeout=3)
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 8))
        assert (await next_message(sub)).data["time"] == 8


async def test_oversized_message_replaces_connection(fx: FakeExchange) -> None:
    client, rec = make_client(fx.ws_url, WsConfig(**{**_fast_kwargs(), "max_message_size": 4096}))
    async with client:
        sub = await client.subscribe(L2BOOK, {"coin": "BTC"})
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        big = book("BTC")
        big["levels"][0] = [{"px": str(i), "sz": "1", "n": 1} for i in range(500)]
        fx.publish({"type": "l2Book", "coin": "BTC"}, big)
        await until(sub, Interrupted)
        await until(sub, Resumed)
        assert rec.named("ws.disconnect")[0]["code"] == 1009
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 11))
        assert (await next_message(sub)).data["time"] == 11


def _fast_kwargs() -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(FAST)


async def test_server_rejection_fails_only_that_subscription(fx: FakeExchange) -> None:
    client, rec = make_client(fx.ws_url)
    bad_candle = ChannelInfo("candle", ("candle",), (("coin", "s"), ("interval", "i")))
    async with client:
        good = await client.subscribe(L2BOOK, {"coin": "BTC"})
        bad = await client.subscribe(bad_candle, {"coin": "BTC", "interval": "7m"})  # fake: parse error
        with pytest.raises(SubscriptionFailedError):
            async for _ in bad:
                pass
        assert rec.named("ws.subscription_failed")
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 4))
        assert (await next_message(good)).data["time"] == 4
        assert client.upstream_subscription_count() == 1


async def test_limits_open_connections_then_clear_error(fx: FakeExchange) -> None:
    cfg = WsConfig(**{**_fast_kwargs(), "max_subscriptions_per_connection": 2, "max_connections": 2})
    client, _ = make_client(fx.ws_url, cfg)
    async with client:
        subs = [await client.subscribe(BBO, {"coin": c}) for c in ("A", "B", "C", "D")]
        assert client.connection_count() == 2
        with pytest.raises(SubscriptionLimitError):
            await client.subscribe(BBO, {"coin": "E"})
        assert client.upstream_subscription_count() == 4
        await wait_for(lambda: len(fx.ws_subscriptions) == 4 and fx.ws_connection_count == 2)
        subs[3].cancel()
        await client.subscribe(BBO, {"coin": "E"})  # room again
    cfg = WsConfig(**{**_fast_kwargs(), "max_users_per_connection": 1, "max_connections": 1})
    client, _ = make_client(fx.ws_url, cfg)
    async with client:
        await client.subscribe(USER_FILLS, {"user": USER_A})
        await client.subscribe(ORDER_UPDATES, {"user": USER_A})  # same user: fine
        with pytest.raises(SubscriptionLimitError):
            await client.subscribe(USER_FILLS, {"user": USER_B})


# --- slow consumers ---
async def test_slow_subscriber_does_not_slow_others(fx: FakeExchange) -> None:
    client, rec = make_client(fx.ws_url)
    async with client:
        fast = await client.subscribe(TRADES, {"coin": "BTC"})
        slow = await client.subscribe(TRADES, {"coin": "BTC"}, buffer_size=5)
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        for i in range(50):
            fx.publish({"type": "trades", "coin": "BTC"}, [{"coin": "BTC", "tid": i}])
        got = [(await next_message(fast)).data[0]["tid"] for _ in range(50)]
        assert got == list(range(50))
        first = await slow.get(1)
        assert first.count == 45 and slow.dropped == 45  # type: ignore[union-attr]
        assert [(await next_message(slow)).data[0]["tid"] for _ in range(5)] == [45, 46, 47, 48, 49]
        assert sum(e["dropped"] for e in rec.named("ws.drop")) >= 1


async def test_user_data_overflow_fails_loudly(fx: FakeExchange) -> None:
    client, rec = make_client(fx.ws_url)
    async with client:
        sub = await client.subscribe(ORDER_UPDATES, {"user": USER_A}, buffer_size=3)  # default policy: error
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        for i in range(5):
            fx.publish({"type": "orderUpdates", "user": USER_A}, [_order_update(i, "open", i)])
        with pytest.raises(SubscriptionFailedError) as info:
            for _ in range(10):
                await sub.get(2)
        assert "behind" in str(info.value)
        assert rec.named("ws.drop")[0]["policy"] == "error"


def _order_update(oid: int, status: str, ts: int) -> dict[str, Any]:
    return {"order": {"coin": "BTC", "oid": oid, "side": "B"}, "status": status, "statusTimestamp": ts}


# --- latest / staleness ---
async def test_latest_values_without_waiting(fx: FakeExchange) -> None:
    client, _ = make_client(fx.ws_url)
    async with client:
        assert client.latest("l2Book", coin="BTC") is None
        b = await client.subscribe(L2BOOK, {"coin": "BTC"}, decode=lambda d: ("decoded", d["time"]))
        q = await client.subscribe(BBO, {"coin": "ETH"})
        m = await client.subscribe(ALL_MIDS, {})
        await wait_for(lambda: len(fx.ws_subscriptions) == 3)
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 1))
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 2))
        fx.publish({"type": "bbo", "coin": "ETH"}, {"coin": "ETH", "time": 3, "bbo": [None, None]})
        fx.publish({"type": "allMids"}, {"mids": {"BTC": "100.5", "ETH": "3.25"}})
        await wait_for(lambda: client.mid("ETH") == "3.25")
        await wait_for(lambda: client.latest("l2Book", coin="BTC") == ("decoded", 2))
        assert client.latest_raw("l2Book", coin="BTC")["time"] == 2
        assert client.latest("bbo", coin="ETH")["time"] == 3
        assert client.mid("BTC") == "100.5" and client.mid("NOPE") is None
        assert b.buffered == 2 and q.buffered == 1 and m.buffered == 1  # nobody read; values were still readable


async def test_stale_stream_flagged_and_resubscribed(fx: FakeExchange) -> None:
    cfg = WsConfig(**{**_fast_kwargs(), "stale_after": 0.3, "stale_resubscribe": True, "ping_interval": 5.0})
    client, rec = make_client(fx.ws_url, cfg)
    async with client:
        sub = await client.subscribe(L2BOOK, {"coin": "BTC"})
        stale = await until(sub, Stale, timeout=3)
        assert stale.silence >= 0.3 and stale.resubscribed  # type: ignore[union-attr]
        assert rec.named("ws.stale")
        await wait_for(lambda: len(fx.requests_for("/ws", method="subscribe")) >= 2)
        assert len(fx.requests_for("/ws", method="unsubscribe")) >= 1
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 12))
        assert (await next_message(sub)).data["time"] == 12


# --- posts ---
async def test_post_info_success(fx: FakeExchange) -> None:
    fx.set_info("meta", {"universe": [{"name": "BTC", "szDecimals": 5}]})
    client, _ = make_client(fx.ws_url)
    async with client:
        results = await asyncio.gather(*(client.post("info", {"type": "meta"}) for _ in range(5)))
        assert results == [{"universe": [{"name": "BTC", "szDecimals": 5}]}] * 5


async def test_post_timeout(fx: FakeExchange) -> None:
    fx.add_fault("/ws", Fault.hang(), match={"method": "post"})
    client, _ = make_client(fx.ws_url)
    async with client:
        t0 = time.monotonic()
        with pytest.raises(RequestTimeoutError) as info:
            await client.post("info", {"type": "meta"}, timeout=0.3)
        assert info.value.request_sent
        assert time.monotonic() - t0 < 0.3 + 0.5
        action = {"action": {"type": "order", "orders": [{"a": 0, "c": "0x" + "11" * 16}]}, "nonce": 42}
        with pytest.raises(IndeterminateError) as ind:
            await client.post("action", action, timeout=0.3)
        assert ind.value.nonce == 42 and ind.value.cloids == ("0x" + "11" * 16,)


async def test_disconnect_fails_every_pending_post_at_once(fx: FakeExchange) -> None:
    fx.add_fault("/ws", Fault.hang(), match={"method": "post"})
    client, _ = make_client(fx.ws_url)
    async with client:
        action = {"action": {"type": "cancelByCloid", "cancels": [{"asset": 0, "cloid": "0xabc"}]}, "nonce": 7}
        info_task = asyncio.create_task(client.post("info", {"type": "meta"}, timeout=10))
        action_task = asyncio.create_task(client.post("action", action, timeout=10))
        await wait_for(lambda: len(fx.requests_for("/ws", method="post")) == 2)
        t0 = time.monotonic()
        fx.drop_ws_connections()
        with pytest.raises(WebSocketError) as info:
            await info_task
        assert info.value.request_sent
        with pytest.raises(IndeterminateError) as ind:
            await action_task
        assert ind.value.nonce == 7 and ind.value.cloids == ("0xabc",) and ind.value.action_type == "cancelByCloid"
        assert time.monotonic() - t0 < 2.0  # failed at the disconnect, not at the 10 s deadline


async def test_post_never_sent_after_its_deadline() -> None:
    port = free_port()
    client, _ = make_client(f"ws://127.0.0.1:{port}/ws")
    async with client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.post("action", {"action": {"type": "order"}, "nonce": 1}, timeout=0.3)
        assert not info.value.request_sent  # never left: safe to re-sign, not indeterminate
        async with FakeExchange(port=port, **QUIET) as fx:
            await client.post("info", {"type": "meta"}, timeout=3)  # the socket works now
            posts = [r.body for r in fx.requests_for("/ws", method="post")]
            assert len(posts) == 1 and posts[0]["request"]["type"] == "info"


# --- gap recovery ---
def _recover_via(fx: FakeExchange) -> Any:
    async def recover(channel: ChannelInfo, params: dict[str, Any], start: int, end: int | None) -> list[Any]:
        async with httpx.AsyncClient(base_url=fx.http_url) as http:
            if channel.type in ("userFills", "userEvents"):
                body = {"type": "userFillsByTime", "user": params["user"], "startTime": start}
                if end is not None:
                    body["endTime"] = end
                r = await http.post("/info", json=body)
                return list(r.json())
            r = await http.post("/info", json={"type": "historicalOrders", "user": params["user"]})
            return list(r.json())

    return recover


async def test_fills_made_while_down_arrive_exactly_once(fx: FakeExchange) -> None:
    client, rec = make_client(fx.ws_url, recover=_recover_via(fx))
    seen: dict[str, list[tuple[Any, bool]]] = {"userFills": [], "userEvents": [], "orderUpdates": []}
    async with client:
        fills = await client.subscribe(USER_FILLS, {"user": USER_A})
        events = await client.subscribe(USER_EVENTS, {"user": USER_A})
        orders = await client.subscribe(ORDER_UPDATES, {"user": USER_A})
        await wait_for(lambda: len(fx.ws_subscriptions) == 3)

        def fill(i: int) -> dict[str, Any]:
            return {"coin": "BTC", "px": "1", "sz": "1", "side": "B", "hash": f"0x{i:064x}", "oid": i}

        fx.state.add_fill(USER_A, fill(1))
        live_order = fx.state.add_open_order(USER_A, {"coin": "BTC", "side": "B", "limitPx": "1", "sz": "1"})
        await asyncio.sleep(0.2)

        # the socket goes down and cannot come back for a while; fills happen meanwhile
        blocker = fx.add_fault("/ws", Fault.status(503), match={"event": "connect"})
        fx.drop_ws_connections()
        await asyncio.sleep(0.2)
        for i in (2, 3, 4):
            fx.state.add_fill(USER_A, fill(i))
            await asyncio.sleep(0.002)
        fx.state.close_order(USER_A, live_order["oid"], "canceled")
        fx.remove_fault(blocker)

        await wait_for(lambda: len(rec.named("ws.recovered")) == 3, timeout=5)
        fx.state.add_fill(USER_A, fill(5))  # live again
        await asyncio.sleep(0.3)

        for name, sub in (("userFills", fills), ("userEvents", events), ("orderUpdates", orders)):
            while sub.buffered:
                item = await sub.get(1)
                if isinstance(item, Message):
                    for it in USER_FILLS.items_of(item.data) if name != "orderUpdates" else item.data:
                        seen[name].append(
                            (
                                it["tid"] if name != "orderUpdates" else (it["order"]["oid"], it["status"]),
                                item.recovered,
                            )
                        )

    fill_tids = [fx.state.user(USER_A).fills[i]["tid"] for i in range(5)]
    for name in ("userFills", "userEvents"):
        tids = [t for t, _ in seen[name]]
        assert sorted(tids) == sorted(fill_tids), name  # every fill, each exactly once
        recovered = {t for t, r in seen[name] if r}
        if name == "userEvents":  # no snapshot feed: the gap fills can only come from recovery
            assert recovered == set(fill_tids[1:4])
    statuses = [k for k, _ in seen["orderUpdates"]]
    assert statuses == [(live_order["oid"], "open"), (live_order["oid"], "canceled")]
    assert seen["orderUpdates"][1][1] is True  # the cancel happened in the gap: recovered


# --- churn ---
async def test_ten_thousand_subscribers_come_and_go(fx: FakeExchange) -> None:
    client, _ = make_client(fx.ws_url)
    async with client:
        keeper = await client.subscribe(ALL_MIDS, {})
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        base = (client.registry_size(), client.upstream_subscription_count(), client.connection_count())
        base_server = server_subs(fx)

        coins = [f"C{i}" for i in range(40)]
        total = 0
        tasks: list[asyncio.Task[None]] = []

        async def doomed(sub: Subscription[Any]) -> None:
            async for _ in sub:
                raise RuntimeError("boom")

        for round_ in range(20):
            batch: list[Subscription[Any]] = []
            for i in range(500):
                coin = coins[(round_ * 7 + i) % len(coins)]
                channel = (L2BOOK, BBO, TRADES)[i % 3]
                batch.append(await client.subscribe(channel, {"coin": coin}))
                total += 1
            if round_ % 4 == 0:
                await wait_for(lambda: client.server_subscription_count() == client.upstream_subscription_count())
                fx.publish({"type": "bbo", "coin": coins[0]}, {"coin": coins[0], "time": 1, "bbo": [None, None]})
            # a third cancelled, a third garbage-collected, a third die with their task
            for j, sub in enumerate(batch):
                if j % 3 == 0:
                    sub.cancel()
                elif j % 3 == 2:
                    tasks.append(asyncio.create_task(doomed(sub)))
            for sub in batch:
                fx.publish({"type": "trades", "coin": sub.params["coin"]}, [{"coin": sub.params["coin"], "tid": 1}])
            del batch, sub
            gc.collect()
            await asyncio.sleep(0)
        await asyncio.gather(*tasks, return_exceptions=True)
        del tasks
        gc.collect()
        assert total == 10_000
        await wait_for(lambda: (client.registry_size(), client.upstream_subscription_count()) == base[:2], timeout=10)
        await wait_for(lambda: server_subs(fx) == base_server, timeout=10)
        await wait_for(lambda: client.connection_count() == base[2], timeout=5)
        assert not client._callback_subs and client.server_subscription_count() == 1
        assert not keeper.closed


# --- callbacks, sync ---
async def test_callback_subscription(fx: FakeExchange) -> None:
    client, _ = make_client(fx.ws_url)
    got: list[WsItem] = []

    async def on_item(item: WsItem) -> None:
        got.append(item)

    async with client:
        sub = await client.subscribe(TRADES, {"coin": "BTC"}, callback=on_item, decode=lambda d: len(d))
        del sub
        gc.collect()  # callback subscriptions live until cancelled
        await wait_for(lambda: len(fx.ws_subscriptions) == 1)
        fx.publish({"type": "trades", "coin": "BTC"}, [{"coin": "BTC"}, {"coin": "BTC"}])
        await wait_for(lambda: bool(got))
        fx.drop_ws_connections()
        await wait_for(lambda: any(isinstance(i, Resumed) for i in got))
        assert isinstance(got[0], Message) and got[0].data == 2
        assert isinstance(got[1], Interrupted)


def test_sync_facade() -> None:
    with FakeExchange(**QUIET) as fx:
        fx.set_info("meta", {"universe": []})
        got: list[WsItem] = []
        with SyncWsClient(fx.ws_url, config=FAST) as client:
            sub = client.subscribe(L2BOOK, {"coin": "BTC"})
            client.subscribe(BBO, {"coin": "BTC"}, callback=got.append)
            deadline = time.monotonic() + 5
            while len(fx.ws_subscriptions) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            fx.publish({"type": "l2Book", "coin": "BTC"}, book("BTC", 21))
            fx.publish({"type": "bbo", "coin": "BTC"}, {"coin": "BTC", "time": 1, "bbo": [None, None]})
            item = sub.get(timeout=3)
            assert isinstance(item, Message) and item.data["time"] == 21
            with pytest.raises(TimeoutError):
                sub.get(timeout=0.1)
            assert client.post("info", {"type": "meta"}) == {"universe": []}
            assert client.latest("l2Book", coin="BTC")["time"] == 21
            while not got and time.monotonic() < deadline:
                time.sleep(0.01)
            assert isinstance(got[0], Message)
            sub.cancel()
            assert list(sub) == []  # ended
            assert client.upstream_subscription_count() == 1
        with pytest.raises(WebSocketError):
            client.post("info", {"type": "meta"})


def test_the_sync_client_has_the_async_clients_surface() -> None:
    """Every public method and property of ``WsClient`` has its blocking twin on ``SyncWsClient`` (``latest_raw``,
    ``server_subscription_count`` and ``closed`` were missing), with the same parameters."""
    import inspect

    public = {n for n in dir(WsClient) if not n.startswith("_")}
    assert public <= {n for n in dir(SyncWsClient) if not n.startswith("_")}
    for name in public:
        ours, theirs = getattr(WsClient, name), getattr(SyncWsClient, name)
        if callable(ours) and not isinstance(ours, property):
            assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters), name
