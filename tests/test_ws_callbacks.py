"""Callback subscriptions: what ``cancel()`` stops, what ``delivered`` counts, a callback that raises (a
``BaseException`` too, or the same error on every message)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from test_ws_support import TRADES, wait_for

from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.ws import BufferOverflowError, Message, SubscriptionFailedError, WsClient, WsConfig
from hyperliquid_client.testing import FakeExchange

FAST = WsConfig(reconnect_base=0.05, reconnect_max=0.2)


def publish(fx: FakeExchange, tid: int) -> None:
    fx.publish({"type": "trades", "coin": "BTC"}, [{"coin": "BTC", "tid": tid}])


class Gate:
    """Where a sync or an async callback blocks until the test lets it go on."""

    def __init__(self) -> None:
        self.sync = threading.Event()
        self.aio = asyncio.Event()

    def release(self) -> None:
        self.sync.set()
        self.aio.set()


def gated_callback(is_async: bool, got: list[int], gates: dict[int, Gate]) -> Any:
    """A callback that records each trade id and blocks at an id of ``gates`` until its gate is released."""

    def sync(item: Any) -> None:
        if isinstance(item, Message):
            got.append(item.data[0]["tid"])
            if got[-1] in gates:
                gates[got[-1]].sync.wait(10)

    async def aio(item: Any) -> None:
        if isinstance(item, Message):
            got.append(item.data[0]["tid"])
            if got[-1] in gates:
                await gates[got[-1]].aio.wait()

    return aio if is_async else sync


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_cancel_stops_after_the_item_being_handed_over_and_delivered_counts_what_the_callback_got(
    kind: str,
) -> None:
    """Sync and async callbacks alike: ``cancel()`` lets the item being processed finish, then nothing more is handed
    over (not the rest of a batch already taken from the buffer either), and ``delivered`` counts only the items
    the callback received (it counted a whole batch, and a sync batch ran on to its end after ``cancel()``)."""
    gates = {1: Gate(), 2: Gate()}
    got: list[int] = []
    async with FakeExchange(market_snapshots=False) as fx, WsClient(fx.ws_url, config=FAST) as ws:
        sub = await ws.subscribe(TRADES, {"coin": "BTC"}, callback=gated_callback(kind == "async", got, gates))
        await sub.wait_live(5)
        run = sub._sink.callback_task
        assert run is not None
        publish(fx, 1)
        await wait_for(lambda: got == [1])  # blocked at 1: what comes next is buffered, then taken as one batch
        for tid in (2, 3, 4, 5):
            publish(fx, tid)
        await wait_for(lambda: sub.buffered == 4)
        gates[1].release()
        await wait_for(lambda: got == [1, 2])  # blocked at 2, in the middle of the batch [2, 3, 4, 5]
        assert sub.delivered == 2
        sub.cancel()
        gates[2].release()
        await wait_for(lambda: not run.busy)  # the batch is over
        assert got == [1, 2]
        assert sub.delivered == 2


@pytest.mark.parametrize(("kind", "raised"), [("sync", SystemExit), ("sync", KeyboardInterrupt), ("async", None)])
async def test_a_callback_raising_a_base_exception_fails_its_subscription_visibly(
    kind: str, raised: type[BaseException] | None
) -> None:
    """A callback raising ``SystemExit`` / ``KeyboardInterrupt`` (or another ``BaseException``) used to stall its
    subscription silently (its batch never completed).  Now it is logged and emitted, and the subscription fails:
    ``sub.error`` says why, ``sub.closed`` is true, nothing more is handed over."""

    class Halt(BaseException):
        pass

    error = raised or Halt  # an async callback's SystemExit goes on to stop the loop, as asyncio does
    got: list[int] = []

    def sync(item: Any) -> None:
        if isinstance(item, Message):
            got.append(item.data[0]["tid"])
            raise error("stop")

    async def aio(item: Any) -> None:
        sync(item)

    bus = EventBus()
    events: list[Any] = []
    bus.subscribe("ws.callback_error", events.append)
    async with FakeExchange(market_snapshots=False) as fx, WsClient(fx.ws_url, config=FAST, events=bus) as ws:
        sub = await ws.subscribe(TRADES, {"coin": "BTC"}, callback=aio if kind == "async" else sync)
        await sub.wait_live(5)
        publish(fx, 1)
        await wait_for(lambda: sub.closed)
        assert isinstance(sub.error, SubscriptionFailedError)
        assert isinstance(sub.error.__cause__, error)
        assert [e["key"] for e in events] == [str(sub.key)] and error.__name__ in events[0]["error"]
        publish(fx, 2)
        await asyncio.sleep(0)
        assert got == [1]


async def test_a_callback_failing_every_message_logs_one_traceback_then_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A callback raising the same error on every message: one event per failure, naming the subscription, but
    its traceback is logged once, then a line per ``_CALLBACK_LOG_EVERY`` repeats (was a traceback per message)."""
    from hyperliquid_client.runtime.ws.client import _CALLBACK_LOG_EVERY

    def failing(item: Any) -> None:
        if isinstance(item, Message):
            raise ValueError("bad item")

    count = 2 * _CALLBACK_LOG_EVERY + 10
    bus = EventBus()
    events: list[Any] = []
    bus.subscribe("ws.callback_error", events.append)
    caplog.set_level(logging.ERROR, logger="hyperliquid_client")
    async with FakeExchange(market_snapshots=False) as fx, WsClient(fx.ws_url, config=FAST, events=bus) as ws:
        sub = await ws.subscribe(TRADES, {"coin": "BTC"}, callback=failing)
        await sub.wait_live(5)
        for tid in range(count):
            publish(fx, tid)
        await wait_for(lambda: len(events) == count, timeout=20)
        assert {e["key"] for e in events} == {str(sub.key)}
        assert all("bad item" in e["error"] for e in events)
        assert not sub.closed  # an Exception: the subscription carries on
    mine = [r for r in caplog.records if "callback raised" in r.getMessage()]
    assert len([r for r in mine if r.exc_info]) == 1
    assert len(mine) == 1 + 2  # the first (with its traceback), then one at 100 and one at 200 repeats


async def test_an_overflowing_callback_subscription_hands_its_failure_to_the_callback() -> None:
    """A callback that falls ``buffer_size`` behind (policy ``error``): it still receives what was buffered, then
    the ``BufferOverflowError`` itself as its last item — what iteration would raise — so it knows to ``recover()``
    (it used to stop receiving anything, told nothing; trades cannot be recovered, user streams can)."""
    gate = Gate()
    got: list[Any] = []

    def slow(item: Any) -> None:
        got.append(item)
        gate.sync.wait(10)

    async with FakeExchange(market_snapshots=False) as fx, WsClient(fx.ws_url, config=FAST) as ws:
        sub = await ws.subscribe(TRADES, {"coin": "BTC"}, callback=slow, buffer_size=5, overflow="error")
        await sub.wait_live(5)
        publish(fx, 0)
        await wait_for(lambda: len(got) == 1)  # blocked on the first item: the next ones fill the buffer
        for tid in range(1, 10):
            publish(fx, tid)
        await wait_for(lambda: sub.error is not None)
        gate.release()
        await wait_for(lambda: len(got) == 7)
        assert [item.data[0]["tid"] for item in got[:-1]] == list(range(6))  # the first, then the 5 buffered
        assert isinstance(got[-1], BufferOverflowError) and got[-1] is sub.error
        assert sub.delivered == 6
