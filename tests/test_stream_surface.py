"""The stream types users hold: complete for type checkers, and the same behaviour sync and async."""

from __future__ import annotations

import ast
import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_overloads, get_type_hints

import pytest

import hyperliquid_client
from hyperliquid_client import AsyncClient, AsyncStream, Client, ClientConfig, Message, StreamItem, SyncStream
from hyperliquid_client.generated import _async_streams as async_generated
from hyperliquid_client.generated import models
from hyperliquid_client.generated import streams as generated
from hyperliquid_client.runtime.ws import Subscription, SyncSubscription
from hyperliquid_client.testing import FakeExchange

CONFIG = ClientConfig(warm=False)
TRADE = {
    "coin": "SOL",
    "side": "B",
    "px": "180.5",
    "sz": "2",
    "time": 1700000000000,
    "hash": "0x" + "00" * 32,
    "tid": 7,
    "users": ["0x" + "aa" * 20, "0x" + "bb" * 20],
}


def _members(protocol: type) -> set[str]:
    """The members a protocol declares itself or through its protocol bases (not ``object``'s or ``Protocol``'s)."""
    dunders = {"__iter__", "__aiter__", "__enter__", "__exit__", "__aenter__", "__aexit__"}
    own = {n for cls in protocol.__mro__ if cls.__module__ == protocol.__module__ for n in vars(cls)}
    return {n for n in own if not n.startswith("_") or n in dunders}


def test_the_concrete_streams_have_every_documented_member() -> None:
    for protocol, concrete in ((SyncStream, SyncSubscription), (AsyncStream, Subscription)):
        missing = {n for n in _members(protocol) if not hasattr(concrete, n)}
        assert not missing, f"{concrete.__name__} lacks {missing}"
    sync_names = {n.replace("__iter__", "iter").replace("__enter__", "enter") for n in _members(SyncStream)}
    async_names = {n.replace("__aiter__", "iter").replace("__aenter__", "enter") for n in _members(AsyncStream)}
    assert {n for n in sync_names if not n.startswith("__")} == {n for n in async_names if not n.startswith("__")}
    assert inspect.iscoroutinefunction(Subscription.close) and not inspect.iscoroutinefunction(SyncSubscription.close)
    assert hyperliquid_client.StreamItem is StreamItem


class _TypeChecking(ast.NodeTransformer):
    """``if TYPE_CHECKING:`` blocks taken as a type checker takes them (true)."""

    def visit_If(self, node: ast.If) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.test = ast.Constant(True)
        return node


def test_generated_methods_return_the_typed_streams() -> None:
    # the variants exist for type checkers only (no function objects at run time: memory)
    assert get_overloads(generated.Streams.trades) == [] and get_overloads(generated.AsyncStreams.trades) == []
    seen: dict[str, Any] = {}
    for module in (generated, async_generated):
        assert module.__file__ is not None
        tree = _TypeChecking().visit(ast.parse(Path(module.__file__).read_text(encoding="utf-8")))
        names: dict[str, Any] = {"__name__": f"{module.__name__}_as_type_checkers_see_it"}
        exec(compile(ast.fix_missing_locations(tree), module.__file__, "exec"), names)
        seen.update((name, names[name]) for name in ("Streams", "AsyncStreams") if name in module.__dict__)
    # the models are imported for type checkers only (at run time on first use): resolve their names from `models`
    names = {"Trade": models.Trade}
    for method, stream in ((seen["Streams"].trades, SyncStream), (seen["AsyncStreams"].trades, AsyncStream)):
        typed, raw = (get_type_hints(o, localns=names) for o in get_overloads(method))  # what type checkers see
        assert typed["return"] == stream[tuple[models.Trade, ...]] and typed["raw"] == Literal[False]
        assert raw["return"] == stream[Any] and raw["raw"] == Literal[True]  # raw=True: the data as sent


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as server:
        yield server


def _wait_subscribed(fx: FakeExchange, coin: str) -> None:
    deadline = time.monotonic() + 10
    while not any(s.get("type") == "trades" and s.get("coin") == coin for _, s in fx.ws_subscriptions):
        assert time.monotonic() < deadline, "the subscription never reached the fake exchange"
        time.sleep(0.01)


def _timeouts() -> tuple[type[BaseException], ...]:
    return (TimeoutError, hyperliquid_client.TimeoutError)


def test_sync_stream_surface(fx: FakeExchange) -> None:
    with Client(http_url=fx.http_url, config=CONFIG) as client:
        with client.streams.trades("SOL") as trades:
            _wait_subscribed(fx, "SOL")
            while trades.get_nowait() is not None:  # whatever the subscription sent first
                pass
            assert trades.get_nowait() is None and trades.drain() == []
            fx.publish({"type": "trades", "coin": "SOL"}, [TRADE])
            item: StreamItem[Any] = trades.get(timeout=5)
            assert isinstance(item, Message) and item.data[0].tid == 7
            with pytest.raises(_timeouts()):
                next(trades.data(timeout=0.2))
            fx.publish({"type": "trades", "coin": "SOL"}, [dict(TRADE, tid=8)])
            assert next(trades.data(timeout=5))[0].tid == 8
            assert trades.delivered == 2 and trades.dropped == 0 and trades.error is None and not trades.closed
        assert trades.closed  # leaving the block cancelled it
        assert trades.get_nowait() is None


async def test_async_stream_surface(fx: FakeExchange) -> None:
    async with AsyncClient(http_url=fx.http_url, config=CONFIG) as client:
        async with await client.streams.trades("SOL") as trades:
            import asyncio

            await asyncio.to_thread(_wait_subscribed, fx, "SOL")
            while trades.get_nowait() is not None:
                pass
            assert trades.get_nowait() is None and trades.drain() == []
            fx.publish({"type": "trades", "coin": "SOL"}, [TRADE])
            item = await trades.get(timeout=5)
            assert isinstance(item, Message) and item.data[0].tid == 7
            with pytest.raises(_timeouts()):
                await anext(trades.data(timeout=0.2))
            fx.publish({"type": "trades", "coin": "SOL"}, [dict(TRADE, tid=8)])
            assert (await anext(trades.data(timeout=5)))[0].tid == 8
            assert trades.delivered == 2 and trades.dropped == 0 and trades.error is None and not trades.closed
        assert trades.closed
        assert trades.get_nowait() is None


def _end(client: Any, stream: Any, how: str) -> None:
    stream.cancel() if how == "cancel" else client.close()


@pytest.mark.parametrize("how", ["cancel", "client_close"])
def test_a_sync_stream_ends_one_way_whatever_ended_it(fx: FakeExchange, how: str) -> None:
    """What was buffered is still read; then ``get`` raises StreamClosedError saying why (never a bare
    StopIteration, which a generator would turn into RuntimeError), ``get_nowait`` returns None, ``drain`` [],
    and iteration and ``data()`` just end."""
    client = Client(http_url=fx.http_url, config=CONFIG)
    try:
        trades = client.streams.trades("SOL")
        _wait_subscribed(fx, "SOL")
        trades.drain()
        fx.publish({"type": "trades", "coin": "SOL"}, [TRADE])
        deadline = time.monotonic() + 10
        while not trades.buffered:
            assert time.monotonic() < deadline, "the trade never arrived"
            time.sleep(0.01)
        _end(client, trades, how)

        def helper() -> Iterator[StreamItem[Any]]:  # a user's generator over get()
            while True:
                yield trades.get(timeout=1)

        first = next(helper())
        assert isinstance(first, Message) and first.data[0].tid == 7  # buffered before the end: still delivered
        with pytest.raises(hyperliquid_client.StreamClosedError, match="cancelled" if how == "cancel" else "closed"):
            list(helper())
        assert trades.get_nowait() is None and trades.drain() == [] and list(trades) == []
        assert list(trades.data(timeout=1)) == [] and trades.closed
    finally:
        client.close()


@pytest.mark.parametrize("how", ["cancel", "client_close"])
async def test_an_async_stream_ends_the_same_way(fx: FakeExchange, how: str) -> None:
    import asyncio

    client = AsyncClient(http_url=fx.http_url, config=CONFIG)
    try:
        trades = await client.streams.trades("SOL")
        await asyncio.to_thread(_wait_subscribed, fx, "SOL")
        trades.drain()
        fx.publish({"type": "trades", "coin": "SOL"}, [TRADE])
        async with asyncio.timeout(10):
            while not trades.buffered:
                await asyncio.sleep(0.01)
        await (client.aclose() if how == "client_close" else asyncio.sleep(0))
        if how == "cancel":
            trades.cancel()
        first = await trades.get(timeout=1)
        assert isinstance(first, Message) and first.data[0].tid == 7
        with pytest.raises(hyperliquid_client.StreamClosedError, match="cancelled" if how == "cancel" else "closed"):
            await trades.get(timeout=1)
        assert trades.get_nowait() is None and trades.drain() == [] and [i async for i in trades] == []
        assert [d async for d in trades.data(timeout=1)] == [] and trades.closed
    finally:
        await client.aclose()
