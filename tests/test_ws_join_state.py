"""A subscriber joining a live stream of a state channel (``l2Book``, ``bbo``, ``allMids``: every message the whole
state) gets the newest message first, as a new server subscription would send it, decoded for it; then what every
subscriber gets. Against the fake exchange."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from hyperliquid_client import AsyncClient, ClientConfig, Message, WsConfig
from hyperliquid_client.testing import FakeExchange

CONFIG = ClientConfig(warm=False)


async def _next_message(sub: Any) -> Message[Any]:
    item = await sub.get(5)
    assert isinstance(item, Message), item
    return item


@pytest.mark.parametrize("early", [("raw",), ("typed",), ("raw", "typed")], ids="-".join)
@pytest.mark.parametrize("late", ["raw", "typed"])
async def test_a_subscriber_joining_a_live_book_gets_the_newest_book_first(early: tuple[str, ...], late: str) -> None:
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        subs = {kind: await c.streams.l2_book("BTC", raw=kind == "raw") for kind in early}
        for sub in subs.values():
            await sub.wait_live(5)
        first = [await _next_message(sub) for sub in subs.values()]  # the book the server sends first
        book = copy.deepcopy(fx.market.l2_book("BTC"))  # (what the server sent first)
        assert first[0].data is not None
        book["time"] += 1
        fx.publish({"type": "l2Book", "coin": "BTC"}, book)
        newest = {kind: (await _next_message(sub)).data for kind, sub in subs.items()}
        joined = await c.streams.l2_book("BTC", raw=late == "raw")
        item = joined.get_nowait()  # at once: no server message between
        assert isinstance(item, Message) and not item.recovered and item.channel == "l2Book"
        if late == "raw":
            assert item.data == book
        else:
            assert item.data.time == book["time"] and item.data == (newest.get("typed") or item.data)
            assert str(item.data.levels[0][0].px) == book["levels"][0][0]["px"]
        assert joined.get_nowait() is None
        book["time"] += 1
        fx.publish({"type": "l2Book", "coin": "BTC"}, book)  # then what everyone gets
        for sub in [*subs.values(), joined]:
            got = await _next_message(sub)
            assert (got.data["time"] if isinstance(got.data, dict) else got.data.time) == book["time"]


async def test_a_late_subscriber_of_other_state_channels_and_none_of_trades() -> None:
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        for name, args, wire, params in (("bbo", ("BTC",), "bbo", {"coin": "BTC"}), ("all_mids", (), "allMids", {})):
            early = await getattr(c.streams, name)(*args, raw=True)
            await early.wait_live(5)
            await _next_message(early)
            joined = await getattr(c.streams, name)(*args, raw=True)
            item = joined.get_nowait()
            assert isinstance(item, Message) and item.data == c._hub.fresh_raw(wire, 60, **params) is not None
        # trades: the first message is a backfill of recent trades, not a state; a joining subscriber starts empty
        trades = await c.streams.trades("BTC", raw=True)
        await trades.wait_live(5)
        await asyncio.sleep(0.1)
        joined = await c.streams.trades("BTC", raw=True)
        assert joined.get_nowait() is None


async def test_a_subscriber_joining_before_the_first_message_gets_it_once() -> None:
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        a = await c.streams.l2_book("ETH", raw=True)
        b = await c.streams.l2_book("ETH", raw=True)  # nothing came yet: both get the first book from the server
        first_a, first_b = await _next_message(a), await _next_message(b)
        assert first_a.data == first_b.data
        await asyncio.sleep(0.1)
        assert a.get_nowait() is None and b.get_nowait() is None


@pytest.mark.parametrize("name", ["l2_book", "trades", "user_fills"])
async def test_a_subscription_made_again_before_its_unsubscribe_went_out_is_live_at_once_and_misses_nothing(
    name: str,
) -> None:
    """The last subscriber cancels and a new one is made in the same turn of the loop: the server still holds the
    subscription (its unsubscribe not sent). A stream whose every message is its whole state (``l2Book``) is taken
    over, live at once, nothing sent, starting from the newest message; any other (``trades``: a backfill,
    ``userFills``: a snapshot) is subscribed again, so it gets what a new subscription gets. Either used to wait for
    an acknowledgement that never came."""
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=CONFIG) as c:
        args = ("0x" + "ab" * 20,) if name == "user_fills" else ("BTC",)
        old = await getattr(c.streams, name)(*args, raw=True)
        await old.wait_live(5)
        first = await old.get(5) if name != "trades" else None  # (the book; the fills snapshot)
        before = len(fx.requests_for("/ws"))
        old.cancel()
        new = await getattr(c.streams, name)(*args, raw=True)
        await new.wait_live(0.01 if name == "l2_book" else 5)
        await asyncio.sleep(0.1)
        sent = [m for r in fx.requests_for("/ws")[before:] if (m := (r.body or {}).get("method")) not in (None, "ping")]
        assert sent == ([] if name == "l2_book" else ["unsubscribe", "subscribe"])
        if name == "l2_book":
            assert isinstance(first, Message) and new.get_nowait() == first
            book = {**fx.market.l2_book("BTC"), "time": 1}
            fx.publish({"type": "l2Book", "coin": "BTC"}, book)
            assert (await _next_message(new)).data == book  # and what the server sends next
        if name == "user_fills":  # the snapshot a new subscription gets
            got = await _next_message(new)
            assert got.data["isSnapshot"] is True
        new.cancel()
        deadline = asyncio.get_running_loop().time() + 5
        while fx.ws_subscriptions:  # the last one leaving unsubscribes
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)


async def test_a_state_stream_taken_over_starts_from_what_came_while_its_unsubscribe_waited() -> None:
    """The unsubscribe of a cancelled ``bbo`` waits for the send budget (one frame, two a second here); a newer bbo
    the server sends meanwhile keeps the stream's newest message current, so the subscription made again before the
    unsubscribe went out starts from it (not from the bbo before)."""
    config = ClientConfig(warm=False, ws=WsConfig(send_burst=1, resubscribe_rate=2.0))
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=config) as c:
        old = await c.streams.bbo("ETH", raw=True)
        await old.wait_live(5)
        await _next_message(old)
        old.cancel()
        newer = {**fx.market.bbo("ETH"), "time": 4_000_000_000_001}
        fx.publish({"type": "bbo", "coin": "ETH"}, newer)
        deadline = asyncio.get_running_loop().time() + 5
        while c._hub.fresh_raw("bbo", 60, coin="ETH") is not None:  # (no subscription: nothing to read)
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # (the newer bbo arrives while the unsubscribe waits)
        assert not any((r.body or {}).get("method") == "unsubscribe" for r in fx.requests_for("/ws"))
        new = await c.streams.bbo("ETH", raw=True)
        await new.wait_live(0.01)
        assert new.get_nowait() == Message(newer, "bbo", False)


@pytest.mark.parametrize("when", ["unacknowledged", "live"])
async def test_a_stream_subscribed_again_takes_nothing_of_the_old_subscription(when: str) -> None:
    """``orderUpdates`` cancelled and made again while its unsubscribe waits for the send budget (one frame, two a
    second): the old subscription's late acknowledgement and its data do not count for the new one, which is live
    only once the server confirmed the unsubscribe and acknowledged its own subscribe (it used to be live at once,
    and an order placed then, while the server had neither subscription, was silently never delivered)."""
    user = "0x" + "ab" * 20
    config = ClientConfig(warm=False, ws=WsConfig(send_burst=1, resubscribe_rate=2.0))
    async with FakeExchange() as fx, AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=config) as c:
        subscribed: list[Any] = []
        c.events.subscribe("ws.subscribe", subscribed.append)
        old = await c.streams.order_updates(user, raw=True)
        if when == "live":
            await old.wait_live(5)
        while not subscribed:
            await asyncio.sleep(0)
        old.cancel()
        new = await c.streams.order_updates(user, raw=True)
        loop = asyncio.get_running_loop()
        await new.wait_live(10)

        def methods() -> list[str]:
            return [m for r in fx.requests_for("/ws") if (m := (r.body or {}).get("method")) not in (None, "ping")]

        assert methods() == ["subscribe", "unsubscribe", "subscribe"]  # (live only after its own subscribe)
        placed = fx.state.add_open_order(user, {"coin": "BTC", "side": "B", "limitPx": "2", "sz": "1"})
        deadline = loop.time() + 5
        got: list[int] = []
        while placed["oid"] not in got:
            assert loop.time() < deadline, got
            item = await new.get(5)
            if isinstance(item, Message):
                got += [u["order"]["oid"] for u in item.data]
        assert new._sink.upstream.fenced == 0
