"""Nothing lost across gaps: fills and final order statuses missed while a stream was down arrive exactly once, or a
``Gap`` says which time range could not be recovered.  Truth is the fake exchange's own records."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_ws_support import ORDER_UPDATES, USER_EVENTS, BurstyLink

from hyperliquid_client import AsyncClient, Client, ClientConfig
from hyperliquid_client.runtime.ws import (
    BufferOverflowError,
    ChannelInfo,
    Gap,
    Interrupted,
    Message,
    Resumed,
    WsClient,
    WsConfig,
)
from hyperliquid_client.testing import FakeExchange, Fault

USER = "0x" + "ab" * 20
FAST = WsConfig(reconnect_base=0.05, reconnect_max=0.2)
CONFIG = ClientConfig(ws=FAST, warm=False)


def _fill(oid: int) -> dict[str, Any]:
    return {
        "coin": "BTC",
        "px": "1",
        "sz": "1",
        "side": "B",
        "hash": f"0x{oid:064x}",
        "oid": oid,
        "startPosition": "0",
        "dir": "Open Long",
        "closedPnl": "0",
        "crossed": True,
        "fee": "0",
        "feeToken": "USDC",
    }


def trade(fx: FakeExchange, *, publish: bool = True) -> None:
    """One order that rests, fills and is closed: an ``open`` and a final status, one fill."""
    order = fx.state.add_open_order(USER, {"coin": "BTC", "side": "B", "limitPx": "1", "sz": "1"}, publish=publish)
    fx.state.add_fill(USER, _fill(order["oid"]), publish=publish)
    fx.state.close_order(USER, order["oid"], "filled", publish=publish)


def truth(fx: FakeExchange) -> tuple[list[int], list[int]]:
    """Every fill's tid and every final status's oid, as the exchange recorded them."""
    state = fx.state.user(USER)
    return [f["tid"] for f in state.fills], [o["order"]["oid"] for o in state.order_history]


class Seen:
    """What a subscriber received: fill tids / final-status oids (repeats kept), markers."""

    def __init__(self) -> None:
        self.fills: list[int] = []
        self.finals: list[int] = []
        self.markers: list[Any] = []

    def add(self, item: Any) -> None:
        if not isinstance(item, Message):
            self.markers.append(item)
        elif isinstance(item.data, tuple):  # order updates (decoded)
            self.finals.extend(u.order.oid for u in item.data if u.status != "open")
        elif isinstance(item.data, list):  # order updates (raw)
            self.finals.extend(u["order"]["oid"] for u in item.data if u["status"] != "open")
        elif isinstance(item.data, dict):  # user events (raw)
            self.fills.extend(f["tid"] for f in item.data.get("fills") or ())
        else:
            self.fills.extend(f.tid for f in item.data.fills or ())

    def gaps(self) -> list[Gap]:
        return [m for m in self.markers if isinstance(m, Gap)]


async def drain(sub: Any, seen: Seen, done: Callable[[], bool], timeout: float = 20.0) -> None:
    """Read an async stream into ``seen`` until ``done()``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, f"gave up waiting: {len(seen.fills)} fills, {len(seen.finals)} finals"
        try:
            seen.add(await sub.get(0.5))
        except TimeoutError:
            pass


async def until_marker(sub: Any, seen: Seen, kind: type) -> None:
    await drain(sub, seen, lambda: any(isinstance(m, kind) for m in seen.markers), timeout=10)


def exactly_once(got: list[int], want: list[int]) -> None:
    assert len(got) == len(set(got)), "delivered twice"
    missing = set(want) - set(got)
    assert not missing, f"{len(missing)} of {len(want)} never delivered"
    assert set(got) <= set(want)


# ---------------------------------------------------------------------------------------------- one page only
async def test_a_gap_longer_than_one_answer_is_recovered_page_by_page() -> None:
    """2,500 fills while the socket was down: userFillsByTime answers 2,000 at most, so recovery pages on.
    historicalOrders has no time window and holds the 2,000 most recent: the rest is reported as a Gap."""
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        events, orders = await c.streams.user_events(USER), await c.streams.order_updates(USER)
        user_fills = await c.streams.user_fills(USER)  # its resubscription snapshot holds the 2,000 most recent
        for sub in (events, orders, user_fills):
            await sub.wait_live(5)
        trade(fx)  # delivered live: the gap starts after it
        ev, od, uf = Seen(), Seen(), Seen()
        await drain(events, ev, lambda: len(ev.fills) == 1)
        await drain(orders, od, lambda: len(od.finals) == 1)
        await drain(user_fills, uf, lambda: len(uf.fills) == 1)

        down = fx.add_fault("/ws", Fault.status(503), match={"event": "connect"})
        fx.drop_ws_connections()
        await until_marker(events, ev, Interrupted)
        for _ in range(2500):
            trade(fx, publish=False)  # nobody is subscribed: nothing is published
        fx.remove_fault(down)

        fills, finals = truth(fx)
        for sub, seen in ((events, ev), (user_fills, uf)):
            await drain(sub, seen, lambda seen=seen: len(set(seen.fills)) == len(fills))
            exactly_once(seen.fills, fills)
            assert not seen.gaps()

        # order statuses: the 2,000 most recent are recovered, the older ones are announced as a gap
        reachable = finals[-2000:]
        await drain(orders, od, lambda: bool(od.gaps()) and set(reachable) <= set(od.finals))
        assert len(od.finals) == len(set(od.finals))
        (gap,) = od.gaps()
        assert gap.since_ms is not None and gap.until_ms is not None
        history = {o["order"]["oid"]: o["statusTimestamp"] for o in fx.state.user(USER).order_history}
        lost = set(finals) - set(od.finals)
        assert lost == set(finals[1:-2000])  # the first was delivered live; the gap's older ones are unreachable
        assert all(gap.since_ms <= history[oid] <= gap.until_ms for oid in lost)


# --------------------------------------------------------------------------------------------- live data first
async def _trade_through_a_reconnect(fx: FakeExchange, stop: asyncio.Event) -> None:
    while not stop.is_set():
        trade(fx)
        await asyncio.sleep(0.003)


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_live_data_arriving_with_the_ack_does_not_hide_the_gap(sync: bool) -> None:
    """On a bursty link the acknowledgement and new live fills arrive in one read: the gap still starts where the
    connection was lost, and everything traded meanwhile arrives exactly once."""
    async with FakeExchange() as fx, BurstyLink(fx.port, period=0.25) as link:
        stop = asyncio.Event()
        ev, od = Seen(), Seen()
        if sync:
            client = Client("testnet", http_url=fx.http_url, ws_url=link.ws_url, config=CONFIG)
            events, orders = client.streams.user_events(USER), client.streams.order_updates(USER)
            await asyncio.to_thread(events.wait_live, 5)
            await asyncio.to_thread(orders.wait_live, 5)
            reading = True

            def read(sub: Any, seen: Seen) -> None:
                while reading:
                    try:
                        seen.add(sub.get(timeout=0.2))
                    except TimeoutError:
                        pass

            readers = [threading.Thread(target=read, args=(s, n), daemon=True) for s, n in ((events, ev), (orders, od))]
            for t in readers:
                t.start()
        else:
            aclient = AsyncClient("testnet", http_url=fx.http_url, ws_url=link.ws_url, config=CONFIG)
            aevents, aorders = await aclient.streams.user_events(USER), await aclient.streams.order_updates(USER)
            await aevents.wait_live(5)
            await aorders.wait_live(5)

            async def aread(sub: Any, seen: Seen) -> None:
                while True:
                    seen.add(await sub.get())

            tasks = [asyncio.create_task(aread(s, n)) for s, n in ((aevents, ev), (aorders, od))]
        trading = asyncio.create_task(_trade_through_a_reconnect(fx, stop))
        try:
            await asyncio.sleep(0.5)
            down = fx.add_fault("/ws", Fault.status(503), match={"event": "connect"})
            fx.drop_ws_connections()
            await asyncio.sleep(0.6)  # trading goes on while the client cannot connect
            fx.remove_fault(down)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while not any(isinstance(m, Resumed) for m in ev.markers):
                assert loop.time() < deadline
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # ... and after it is back
            stop.set()
            await trading
            fills, finals = truth(fx)
            deadline = loop.time() + 15
            while set(ev.fills) != set(fills) or set(od.finals) != set(finals):
                assert loop.time() < deadline, f"missing {len(set(fills) - set(ev.fills))} fills"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # nothing more (no duplicate) arrives
            exactly_once(ev.fills, fills)
            exactly_once(od.finals, finals)
            assert not ev.gaps() and not od.gaps()
        finally:
            stop.set()
            if sync:
                reading = False
                for t in readers:
                    t.join(2)
                await asyncio.to_thread(client.close)
            else:
                for task in tasks:
                    task.cancel()
                await aclient.aclose()


# -------------------------------------------------------------------------------- a gap while recovery runs
async def test_a_second_gap_while_the_first_is_recovered_is_recovered_too() -> None:
    """The socket drops again (0.25 s later) while the first gap's recovery answers are still on their way: each gap
    gets its own recovery."""
    async with FakeExchange() as fx:
        answers = 0
        late = asyncio.Event()  # answers computed before the second gap opened arrive after it

        async def late_recover(channel: ChannelInfo, params: dict[str, Any], start: int, end: int | None) -> list[Any]:
            nonlocal answers
            async with httpx.AsyncClient(base_url=fx.http_url) as http:
                if channel.type == "userEvents":
                    body: dict[str, Any] = {"type": "userFillsByTime", "user": params["user"], "startTime": start}
                    if end is not None:
                        body["endTime"] = end
                else:
                    body = {"type": "historicalOrders", "user": params["user"]}
                items = list((await http.post("/info", json=body)).json())
            await late.wait()
            answers += 1
            return items

        async with WsClient(fx.ws_url, config=FAST, recover=late_recover) as ws:
            events = await ws.subscribe(USER_EVENTS, {"user": USER})
            orders = await ws.subscribe(ORDER_UPDATES, {"user": USER})
            await events.wait_live(5)
            await orders.wait_live(5)
            trade(fx)
            ev, od = Seen(), Seen()
            await drain(events, ev, lambda: len(ev.fills) == 1)
            for _ in range(2):
                down = fx.add_fault("/ws", Fault.status(503), match={"event": "connect"})
                fx.drop_ws_connections()
                for _ in range(2):
                    trade(fx, publish=False)
                fx.remove_fault(down)
                await events.wait_live(5)
                await orders.wait_live(5)
                await asyncio.sleep(0.25)
            assert answers == 0  # the first recovery was still running when the second gap opened
            late.set()
            fills, finals = truth(fx)
            await drain(events, ev, lambda: set(ev.fills) == set(fills))
            await drain(orders, od, lambda: set(od.finals) == set(finals))
            exactly_once(ev.fills, fills)
            exactly_once(od.finals, finals)


# ------------------------------------------------------------------------------------------------ overflow
def test_overflow_delivers_what_was_buffered_and_recovers_the_rest() -> None:
    """A reader that falls 1,000 messages behind gets every buffered fill, then the error, and ``recover()``
    fetches what did not fit: together every fill exactly once."""
    with FakeExchange() as fx, Client("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as client:
        fills = client.streams.user_fills(USER, buffer_size=1000)
        fills.wait_live(5)
        for i in range(1500):
            fx.state.add_fill(USER, _fill(i))
        deadline = time.monotonic() + 10
        while not fills.closed:  # the reader is behind: the buffer overflows
            assert time.monotonic() < deadline
            time.sleep(0.01)
        delivered: list[int] = []
        messages = 0
        with pytest.raises(BufferOverflowError) as info:
            while True:
                item = fills.get(timeout=5)
                if isinstance(item, Message):
                    messages += 1
                    delivered.extend(f.tid for f in item.data.fills)
        assert messages == 1000  # the snapshot and 999 fills: all that was buffered
        assert info.value.since_ms is not None
        recovered = fills.recover()
        assert all(isinstance(m, Message) and m.recovered for m in recovered)
        again = [f.tid for m in recovered if isinstance(m, Message) for f in m.data.fills]
        exactly_once(delivered + again, [f["tid"] for f in fx.state.user(USER).fills])


# ----------------------------------------------------------------------------------- the resubscription snapshot
async def test_fills_missed_while_down_that_come_in_the_resubscription_snapshot_are_marked_recovered() -> None:
    """After a reconnect the server's new snapshot holds what was missed (here HTTP recovery is refused, so it is
    the only way the fill arrives): it is a snapshot message, but not one to skip (``recovered`` says so); only a
    subscription's first snapshot is history the bot may skip."""
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        fills = await c.streams.user_fills(USER)
        await fills.wait_live(5)
        trade(fx)
        first = await fills.get(10)
        while not isinstance(first, Message):
            first = await fills.get(10)
        assert first.data.is_snapshot and not first.recovered  # the history at subscription time: skippable

        fx.add_fault("/info", Fault.status(500), match={"type": "userFillsByTime"})  # no recovery over HTTP
        down = fx.add_fault("/ws", Fault.status(503), match={"event": "connect"})
        fx.drop_ws_connections()
        seen = Seen()
        await until_marker(fills, seen, Interrupted)
        trade(fx, publish=False)  # while nobody is subscribed
        missed = truth(fx)[0][-1]
        fx.remove_fault(down)

        while True:
            item = await fills.get(10)
            if isinstance(item, Message) and missed in [f.tid for f in item.data.fills]:
                break
        assert item.data.is_snapshot and item.recovered


# ------------------------------------------------------------------------------------ trades past the backfill
def _trades(fx: FakeExchange, n: int, tid: int, t0: int, *, apart: int = 1) -> list[dict[str, Any]]:
    """``n`` BTC trades recorded by the fake exchange's engine (its ``trades`` backfill holds the 30 newest) and
    published to whoever is subscribed, ``apart`` milliseconds apart from ``t0``."""
    new = [
        {"coin": "BTC", "side": "B", "px": "1", "sz": "1", "time": t0 + i * apart, "hash": "0x" + "00" * 32,
         "tid": tid + i, "users": [USER, USER]}
        for i in range(n)
    ]  # fmt: skip
    with fx.engine.lock:
        kept = fx.engine.trades.setdefault("BTC", [])
        kept.extend(new)
        del kept[:-100]
    fx.publish({"type": "trades", "coin": "BTC"}, new)
    return new


@pytest.mark.parametrize("lag", [False, True], ids=["reader keeps up", "reader lags"])
@pytest.mark.parametrize("missed", [0, 5, 29, 30, 80])
@pytest.mark.parametrize("feeds", [1, 2], ids=["text", "parsed"])
async def test_trades_missed_beyond_the_servers_backfill_are_reported_as_a_gap(
    missed: int, feeds: int, lag: bool
) -> None:
    """Trades happen while the socket is down; the resubscription's first message is the server's backfill (its 30
    most recent trades). When it reaches back to the last trade received before (0 to 29 missed), the stream goes
    on with every trade exactly once and no gap. When it does not, the time between may hold trades it left out
    (none with 30 missed, 50 with 80): one ``Gap`` from the last trade received to the backfill's oldest, ahead of
    the backfill, a ``ws.gap`` event and an error log. One subscriber reads frames held as their text; a raw and a
    typed one make two feeds, parsed at arrival. A reader that lags has not read the 40 trades before the drop
    when the backfill comes: what counts is what was received, not what was read."""
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        gaps: list[dict[str, Any]] = []
        c.events.subscribe("ws.gap", lambda e: gaps.append(dict(e.fields)))
        subs = [await c.streams.trades("BTC", raw=True)] + ([await c.streams.trades("BTC")] if feeds == 2 else [])
        for sub in subs:
            await sub.wait_live(5)
        t0 = int(time.time() * 1000)
        got: list[list[Any]] = [[] for _ in subs]

        async def read(until: Callable[[list[Any]], bool]) -> None:
            for sub, items in zip(subs, got, strict=True):
                while not until(items):
                    items.append(await sub.get(5))

        def tids(items: list[Any]) -> list[int]:
            return [t["tid"] if type(t) is dict else t.tid for m in items if isinstance(m, Message) for t in m.data]

        before = _trades(fx, 3, 1, t0)
        await read(lambda items: len(tids(items)) == 3)
        before += _trades(fx, 40, 10, t0 + 3)
        if not lag:
            await read(lambda items: len(tids(items)) == 43)
        deadline = time.monotonic() + 10
        while not all(sub.buffered or not lag for sub in subs):  # (received, not read)
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        down = fx.add_fault("/ws", Fault.status(503), match={"event": "connect"})
        fx.drop_ws_connections()
        if not lag:
            await read(lambda items: isinstance(items[-1], Interrupted))
        during = _trades(fx, missed, 100, t0 + 60)  # nobody is subscribed: published to no one
        fx.remove_fault(down)
        backfill = (before + during)[-30:]
        if lag:  # (nothing read until the backfill came: the trades before, Interrupted, Resumed, a Gap or not, the
            # backfill, which parsed at arrival and holding no new trade is not buffered)
            waiting = 3 + (missed >= 30) + (missed > 0 or feeds == 1)
            deadline = time.monotonic() + 10
            while not all(sub.buffered >= waiting for sub in subs):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
        last = (before + during)[-1]["tid"]
        await read(lambda items: tids(items)[-1:] == [last])
        after = _trades(fx, 2, 1000, t0 + 1000)  # live again
        await read(lambda items: tids(items)[-1:] == [after[-1]["tid"]])
        for items in got:
            assert tids(items) == [t["tid"] for t in before + during[-30:] + after]  # (the backfill's repeats dropped)
            found = [m for m in items if isinstance(m, Gap)]
            if missed < 30:
                assert not found
                continue
            (gap,) = found
            assert (gap.since_ms, gap.until_ms) == (before[-1]["time"], backfill[0]["time"])
            assert all(gap.since_ms < t["time"] < gap.until_ms for t in during[:-30])  # (what was lost, if any)
            at = items.index(gap)  # after the markers of the reconnect, before the backfill
            assert isinstance(items[at - 1], Resumed) and tids(items[at + 1 : at + 2])[0] == backfill[0]["tid"]
        assert [(g["since_ms"], g["until_ms"]) for g in gaps] == (
            [(before[-1]["time"], backfill[0]["time"])] if missed >= 30 else []
        )


@pytest.mark.parametrize("missed", [29, 40])
async def test_trades_of_the_same_millisecond_as_the_last_one_count_as_reaching_back_only_if_it_is_there(
    missed: int,
) -> None:
    """Every trade of the outage has the time of the last trade delivered before it: the backfill reaches back only
    if it holds that trade (29 missed), not because its oldest has the same time (40 missed: 10 lost, a Gap)."""
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        sub = await c.streams.trades("BTC", raw=True)
        await sub.wait_live(5)
        t0 = int(time.time() * 1000)
        before = _trades(fx, 1, 1, t0)
        items: list[Any] = [await sub.get(5)]
        down = fx.add_fault("/ws", Fault.status(503), match={"event": "connect"})
        fx.drop_ws_connections()
        while not isinstance(items[-1], Interrupted):
            items.append(await sub.get(5))
        during = _trades(fx, missed, 100, t0, apart=0)  # (all at t0)
        fx.remove_fault(down)
        while not (isinstance(items[-1], Message) and items[-1].data[-1]["tid"] == during[-1]["tid"]):
            items.append(await sub.get(5))
        got = [t["tid"] for m in items if isinstance(m, Message) for t in m.data]
        assert got == [t["tid"] for t in before + [t for t in (before + during)[-30:] if t not in before]]
        gaps = [m for m in items if isinstance(m, Gap)]
        assert [(g.since_ms, g.until_ms) for g in gaps] == ([(t0 - 1, t0)] if missed >= 30 else [])
