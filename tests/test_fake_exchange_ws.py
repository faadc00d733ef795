"""The fake exchange's WebSocket protocol, limits, publishing and concurrency.

Protocol: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.testing import FakeExchange

USER = "0x" + "ab" * 20
PARSE = "Error parsing JSON into valid websocket request: "


async def recv(ws: websockets.ClientConnection, timeout: float = 3.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def nothing_within(ws: websockets.ClientConnection, timeout: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), timeout)


async def subscribe(ws: websockets.ClientConnection, sub: dict) -> dict:
    await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
    return await recv(ws)


def sub_msg(sub: dict, method: str = "subscribe") -> str:
    return json.dumps({"method": method, "subscription": sub})


# ---------------------------------------------------------------- acks and errors
@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        (
            {"type": "l2Book", "coin": "BTC"},
            {"type": "l2Book", "coin": "BTC", "nSigFigs": None, "mantissa": None, "fast": False},
        ),
        (
            {"type": "l2Book", "coin": "ETH", "nSigFigs": 5, "mantissa": 2},
            {"type": "l2Book", "coin": "ETH", "nSigFigs": 5, "mantissa": 2, "fast": False},
        ),
        ({"type": "allMids"}, {"type": "allMids"}),
        ({"type": "allMids", "dex": None}, {"type": "allMids"}),
        ({"type": "candle", "coin": "SOL", "interval": "1h"}, {"type": "candle", "coin": "SOL", "interval": "1h"}),
        (
            {"type": "spotState", "user": "0x" + "AB" * 20},
            {"type": "spotState", "user": USER, "ignorePortfolioMargin": False},
        ),
        ({"type": "userEvents", "user": USER, "extra": 1}, {"type": "userEvents", "user": USER}),
    ],
)
async def test_subscribe_ack_echoes_the_normalized_subscription(sent: dict, echoed: dict) -> None:
    async with FakeExchange(snapshots=False) as fx, websockets.connect(fx.ws_url) as ws:
        ack = await subscribe(ws, sent)
        assert ack == {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": echoed}}
        assert fx.ws_subscriptions == [(fx.ws_subscriptions[0][0], echoed)]


async def test_already_subscribed_and_unsubscribed() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        await subscribe(ws, {"type": "l2Book", "coin": "BTC"})
        assert (await recv(ws))["channel"] == "l2Book"  # the current book, right after the ack
        again = await subscribe(ws, {"type": "l2Book", "coin": "BTC", "nSigFigs": None, "mantissa": None})
        norm = '{"type":"l2Book","coin":"BTC","nSigFigs":null,"mantissa":null,"fast":false}'
        assert again == {"channel": "error", "data": "Already subscribed: " + norm}
        assert ws.state.name == "OPEN"

        await ws.send(sub_msg({"type": "l2Book", "coin": "BTC"}, "unsubscribe"))
        ack = await recv(ws)
        assert ack["channel"] == "subscriptionResponse"
        assert ack["data"]["method"] == "unsubscribe" and ack["data"]["subscription"]["coin"] == "BTC"
        assert fx.ws_subscriptions == []
        await ws.send(sub_msg({"type": "l2Book", "coin": "BTC"}, "unsubscribe"))
        assert await recv(ws) == {"channel": "error", "data": "Already unsubscribed: " + norm}


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1,2]",
        '{"method":"nope"}',
        '{"method":"subscribe"}',
        '{"method":"subscribe","subscription":{"type":"noSuchFeed"}}',
        '{"method":"subscribe","subscription":{"type":"l2Book"}}',
        '{"method":"subscribe","subscription":{"type":"l2Book","coin":["BTC","ETH"]}}',
        '{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC","nSigFigs":6}}',
        '{"method":"subscribe","subscription":{"type":"candle","coin":"BTC","interval":"7m"}}',
        '{"method":"post","request":{"type":"info","payload":{"type":"allMids"}}}',
        '{"method":"post","id":1,"request":{"type":"info","payload":{"type":"noSuchInfo"}}}',
        '{"method":"post","id":1,"request":{"type":"explorer","payload":{}}}',
        '{"method":"post","id":1,"request":{"type":"action","payload":{"action":{"type":"order"}}}}',
    ],
)
async def test_parse_errors_echo_the_raw_frame(raw: str) -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        await ws.send(raw)
        assert await recv(ws) == {"channel": "error", "data": PARSE + raw}
        await ws.send('{"method":"ping"}')
        assert await recv(ws) == {"channel": "pong"}  # still usable


async def test_ping_pong_has_no_data_field() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        await ws.send('{"method":"ping"}')
        raw = await asyncio.wait_for(ws.recv(), 3)
        assert json.loads(raw) == {"channel": "pong"}


# ---------------------------------------------------------------- post
async def test_post_info_uses_the_same_data_as_http() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        fx.set_info("perpCategories", [["BTC", "majors"]])
        async with httpx.AsyncClient() as client:
            http_mids = (await client.post(fx.http_url + "/info", json={"type": "allMids"})).json()
        request = {"type": "info", "payload": {"type": "allMids"}}
        await ws.send(json.dumps({"method": "post", "id": 7, "request": request}))
        reply = await recv(ws)
        assert reply == {
            "channel": "post",
            "data": {"id": 7, "response": {"type": "info", "payload": {"type": "allMids", "data": http_mids}}},
        }
        request = {"type": "info", "payload": {"type": "perpCategories"}}
        await ws.send(json.dumps({"method": "post", "id": 8, "request": request}))
        assert (await recv(ws))["data"]["response"]["payload"]["data"] == [["BTC", "majors"]]
        request = {"type": "info", "payload": {"type": "l2Book", "coin": "NOPE"}}
        await ws.send(json.dumps({"method": "post", "id": 9, "request": request}))
        assert (await recv(ws))["data"]["response"]["payload"] == {"type": "l2Book", "data": None}
        fx.set_info("userRole", None, status=500)
        request = {"type": "info", "payload": {"type": "userRole", "user": USER}}
        await ws.send(json.dumps({"method": "post", "id": 10, "request": request}))
        error = (await recv(ws))["data"]
        assert error["id"] == 10 and error["response"]["type"] == "error"
        assert error["response"]["payload"].startswith("500")
        assert len(fx.requests_for("/ws", method="post")) == 4


async def test_post_action_goes_to_the_exchange_handler() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        seen: list[dict] = []

        def handler(body: dict) -> dict:
            seen.append(body)
            return {"status": "ok", "response": {"type": "default"}}

        payload = {
            "action": {"type": "updateLeverage", "asset": 0, "isCross": True, "leverage": 5},
            "nonce": 123,
            "signature": {"r": "0x1", "s": "0x2", "v": 28},
        }
        await ws.send(json.dumps({"method": "post", "id": 1, "request": {"type": "action", "payload": payload}}))
        default = (await recv(ws))["data"]
        assert default["id"] == 1 and default["response"]["type"] == "action"
        assert default["response"]["payload"]["status"] == "err"
        fx.set_exchange_handler(handler)
        await ws.send(json.dumps({"method": "post", "id": 2, "request": {"type": "action", "payload": payload}}))
        assert await recv(ws) == {
            "channel": "post",
            "data": {
                "id": 2,
                "response": {"type": "action", "payload": {"status": "ok", "response": {"type": "default"}}},
            },
        }
        assert seen == [payload]


# ---------------------------------------------------------------- channels and publishing
async def test_publish_reaches_exactly_the_subscribers() -> None:
    async with FakeExchange(market_snapshots=False) as fx:
        a = await websockets.connect(fx.ws_url)
        b = await websockets.connect(fx.ws_url)
        await subscribe(a, {"type": "l2Book", "coin": "BTC"})
        await subscribe(b, {"type": "l2Book", "coin": "BTC", "nSigFigs": 5})
        await subscribe(b, {"type": "trades", "coin": "BTC"})
        assert fx.publish({"type": "l2Book", "coin": "BTC"}, {"coin": "BTC", "levels": [[], []]}) == 1
        assert await recv(a) == {"channel": "l2Book", "data": {"coin": "BTC", "levels": [[], []]}}
        assert fx.publish({"type": "l2Book", "coin": "BTC", "nSigFigs": 5}, {"n": 5}) == 1
        assert await recv(b) == {"channel": "l2Book", "data": {"n": 5}}
        assert fx.publish({"type": "l2Book", "coin": "ETH"}, {}) == 0
        assert fx.publish({"type": "trades", "coin": "BTC"}, [1], channel="custom") == 1
        assert await recv(b) == {"channel": "custom", "data": [1]}
        await nothing_within(a)
        assert fx.ws_connection_count == 2
        with pytest.raises(InvalidInputError):
            fx.publish({"type": "bogus"}, {})
        await a.close()
        await b.close()
        for _ in range(100):
            if fx.ws_connection_count == 0:
                break
            await asyncio.sleep(0.01)
        assert fx.ws_connection_count == 0 and fx.ws_subscriptions == []


async def test_user_events_channel_and_spot_asset_ctx_channel() -> None:
    async with FakeExchange(market_snapshots=False) as fx, websockets.connect(fx.ws_url) as ws:
        await subscribe(ws, {"type": "userEvents", "user": USER})
        await subscribe(ws, {"type": "activeAssetCtx", "coin": "@1"})
        await subscribe(ws, {"type": "activeAssetCtx", "coin": "PURR/USDC"})
        await subscribe(ws, {"type": "activeAssetCtx", "coin": "ETH"})
        fx.publish({"type": "userEvents", "user": USER}, {"fills": []})
        assert await recv(ws) == {"channel": "user", "data": {"fills": []}}
        for coin, channel in (
            ("@1", "activeSpotAssetCtx"),
            ("PURR/USDC", "activeSpotAssetCtx"),
            ("ETH", "activeAssetCtx"),
        ):
            fx.publish({"type": "activeAssetCtx", "coin": coin}, {"coin": coin})
            assert await recv(ws) == {"channel": channel, "data": {"coin": coin}}


async def test_user_feed_snapshots_then_live_updates() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        fx.state.add_fill(USER, {"coin": "BTC", "px": "97000.0", "sz": "0.1", "side": "B", "time": 1})
        fx.state.add_fill(USER, {"coin": "BTC", "px": "97001.0", "sz": "0.1", "side": "B", "time": 2})
        await subscribe(ws, {"type": "userFills", "user": USER})
        snap = await recv(ws)
        assert snap["channel"] == "userFills"
        assert snap["data"]["isSnapshot"] is True and snap["data"]["user"] == USER
        assert [f["time"] for f in snap["data"]["fills"]] == [2, 1]
        await subscribe(ws, {"type": "userFundings", "user": "0x" + "99" * 20})
        empty = await recv(ws)
        assert empty["data"] == {"isSnapshot": True, "user": "0x" + "99" * 20, "fundings": []}
        await subscribe(ws, {"type": "userEvents", "user": USER})
        await subscribe(ws, {"type": "orderUpdates", "user": USER})
        await nothing_within(ws, 0.2)  # no snapshot for userEvents / orderUpdates

        fx.state.add_fill(USER, {"coin": "ETH", "px": "3650.1", "sz": "1.0", "side": "A", "time": 3})
        live = await recv(ws)
        assert live["channel"] == "userFills" and "isSnapshot" not in live["data"]
        assert live["data"]["fills"][0]["coin"] == "ETH"
        user = await recv(ws)
        assert user["channel"] == "user" and user["data"]["fills"][0]["coin"] == "ETH"
        order = fx.state.add_open_order(USER, {"coin": "SOL", "side": "B", "limitPx": "100.0", "sz": "2.0"})
        update = await recv(ws)
        assert update["channel"] == "orderUpdates"
        assert update["data"][0]["status"] == "open" and update["data"][0]["order"]["oid"] == order["oid"]


async def test_on_subscribe_hook_sends_to_the_new_subscriber_only() -> None:
    async with FakeExchange() as fx:
        calls: list[dict] = []

        async def hook(sub: dict) -> object:
            calls.append(sub)
            if sub["type"] == "userFills":
                return {"isSnapshot": True, "user": sub["user"], "fills": [{"tid": 1}]}
            return None

        remove = fx.on_subscribe(hook)
        first = await websockets.connect(fx.ws_url)
        await subscribe(first, {"type": "userFills", "user": USER})
        assert (await recv(first))["data"]["fills"] == [{"tid": 1}]
        second = await websockets.connect(fx.ws_url)
        await subscribe(second, {"type": "userFills", "user": USER})
        assert (await recv(second))["data"]["fills"] == [{"tid": 1}]
        await nothing_within(first)
        await subscribe(first, {"type": "bbo", "coin": "BTC"})
        assert (await recv(first))["channel"] == "bbo"  # the hook returned None: the built-in first message
        await nothing_within(first)
        assert [c["type"] for c in calls] == ["userFills", "userFills", "bbo"]
        remove()
        await subscribe(first, {"type": "userFills", "user": "0x" + "11" * 20})
        assert (await recv(first))["data"]["fills"] == []  # built-in snapshot again
        await first.close()
        await second.close()


async def test_market_snapshots_and_greeting() -> None:
    async with FakeExchange(greeting=True) as fx, websockets.connect(fx.ws_url) as ws:
        assert await asyncio.wait_for(ws.recv(), 3) == "Websocket connection established."
        await subscribe(ws, {"type": "l2Book", "coin": "ETH"})
        book = await recv(ws)
        assert book["channel"] == "l2Book" and book["data"]["coin"] == "ETH" and len(book["data"]["levels"][0]) == 5
        await subscribe(ws, {"type": "allMids"})
        mids = await recv(ws)
        assert mids["data"]["mids"]["BTC"] == "97000.5"
        await subscribe(ws, {"type": "bbo", "coin": "BTC"})
        bbo = await recv(ws)
        assert [lv["px"] for lv in bbo["data"]["bbo"]] == ["97000.0", "97001.0"]


# ---------------------------------------------------------------- limits
async def test_subscription_limit_per_connection() -> None:
    async with FakeExchange(max_subscriptions=3) as fx:
        ws = await websockets.connect(fx.ws_url)
        for coin in ("BTC", "ETH", "SOL"):
            assert (await subscribe(ws, {"type": "trades", "coin": coin}))["channel"] == "subscriptionResponse"
        refused = await subscribe(ws, {"type": "trades", "coin": "HYPE"})
        assert refused["channel"] == "error" and "3" in refused["data"]
        other = await websockets.connect(fx.ws_url)  # the limit is per connection
        assert (await subscribe(other, {"type": "trades", "coin": "HYPE"}))["channel"] == "subscriptionResponse"
        await ws.close()
        await other.close()


async def test_user_limit() -> None:
    users = ["0x" + f"{i:02x}" * 20 for i in range(4)]
    async with FakeExchange(max_users=3) as fx:
        ws = await websockets.connect(fx.ws_url)
        for u in users[:3]:
            assert (await subscribe(ws, {"type": "orderUpdates", "user": u}))["channel"] == "subscriptionResponse"
        assert (await subscribe(ws, {"type": "userEvents", "user": users[0]}))["channel"] == "subscriptionResponse"
        refused = await subscribe(ws, {"type": "orderUpdates", "user": users[3]})
        assert refused == {"channel": "error", "data": "Cannot track more than 3 total users."}
        other = await websockets.connect(fx.ws_url)  # same IP: same budget
        assert await subscribe(other, {"type": "notification", "user": users[3]}) == refused
        await ws.send(sub_msg({"type": "orderUpdates", "user": users[2]}, "unsubscribe"))
        await recv(ws)
        assert (await subscribe(other, {"type": "notification", "user": users[3]}))["channel"] == "subscriptionResponse"
        await ws.close()
        await other.close()

    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:  # default: 10
        for i in range(10):
            assert (await subscribe(ws, {"type": "orderUpdates", "user": "0x" + f"{i:02x}" * 20}))[
                "channel"
            ] == "subscriptionResponse"
        refused = await subscribe(ws, {"type": "orderUpdates", "user": "0x" + "ff" * 20})
        assert refused["data"] == "Cannot track more than 10 total users."


async def test_idle_close_after_server_silence_and_pings_keep_alive() -> None:
    async with FakeExchange(idle_timeout=0.6) as fx:
        start = time.monotonic()
        idle = await websockets.connect(fx.ws_url, ping_interval=None)
        busy = await websockets.connect(fx.ws_url, ping_interval=None)

        async def keep_pinging() -> None:
            for _ in range(8):
                await busy.send('{"method":"ping"}')
                await recv(busy)
                await asyncio.sleep(0.2)

        pinger = asyncio.ensure_future(keep_pinging())
        with pytest.raises(ConnectionClosed) as closed:
            await recv(idle, timeout=5)
        elapsed = time.monotonic() - start
        assert closed.value.rcvd is None  # abrupt, like the real server (1006)
        assert 0.6 <= elapsed < 0.6 + 2.0
        await pinger
        assert busy.state.name == "OPEN"
        await busy.close()


# ---------------------------------------------------------------- concurrency
def test_many_clients_subscribing_and_publishing_concurrently() -> None:
    coins = ["BTC", "ETH", "SOL", "HYPE", "DOGE"]
    n_clients, n_messages = 12, 40
    with FakeExchange() as fx:

        async def client(i: int, ready: asyncio.Event, results: dict[int, list]) -> None:
            mine = [coins[i % 5], coins[(i + 1) % 5]]
            async with websockets.connect(fx.ws_url) as ws:
                for coin in mine:
                    await ws.send(sub_msg({"type": "trades", "coin": coin}))
                acks = [await recv(ws) for _ in mine]
                assert all(a["channel"] == "subscriptionResponse" for a in acks)
                ready.set()
                got: list = []
                while len(got) < n_messages * len(mine):
                    got.append((await recv(ws, timeout=10))["data"])
                results[i] = got

        async def run_clients(start_publishing: threading.Event) -> dict[int, list]:
            results: dict[int, list] = {}
            events = [asyncio.Event() for _ in range(n_clients)]
            tasks = [asyncio.ensure_future(client(i, events[i], results)) for i in range(n_clients)]
            await asyncio.gather(*(e.wait() for e in events))
            start_publishing.set()
            await asyncio.gather(*tasks)
            return results

        start = threading.Event()
        sent: dict[str, int] = {}

        def publisher(coin: str) -> None:
            start.wait(10)
            total = 0
            for k in range(n_messages):
                total += fx.publish({"type": "trades", "coin": coin}, {"coin": coin, "seq": k})
            sent[coin] = total

        threads = [threading.Thread(target=publisher, args=(c,)) for c in coins]
        for t in threads:
            t.start()
        results = asyncio.run(run_clients(start))
        for t in threads:
            t.join()
        assert sum(sent.values()) == n_clients * 2 * n_messages
        for i, got in results.items():
            for coin in (coins[i % 5], coins[(i + 1) % 5]):
                assert [m["seq"] for m in got if m["coin"] == coin] == list(range(n_messages))


async def test_concurrent_posts_on_many_connections() -> None:
    async with FakeExchange() as fx:

        async def one(i: int) -> list[int]:
            async with websockets.connect(fx.ws_url) as ws:
                for j in range(20):
                    request = {"type": "info", "payload": {"type": "l2Book", "coin": ["BTC", "ETH"][j % 2]}}
                    await ws.send(json.dumps({"method": "post", "id": j, "request": request}))
                replies = [(await recv(ws))["data"] for _ in range(20)]
                assert all(r["response"]["payload"]["data"]["coin"] == ["BTC", "ETH"][r["id"] % 2] for r in replies)
                return sorted(r["id"] for r in replies)

        results = await asyncio.gather(*(one(i) for i in range(10)))
        assert results == [list(range(20))] * 10
        assert len(fx.requests_for("/ws", method="post")) == 200
        assert len({r.connection for r in fx.requests_for("/ws", method="post")}) == 10


# ---------------------------------------------------------------- like the real server: bounded snapshots, bad subs
async def test_snapshots_hold_the_most_recent_rows_only() -> None:
    async with FakeExchange(snapshot_cap=3) as fx, websockets.connect(fx.ws_url) as ws:
        for t in range(1, 6):
            fx.state.add_fill(USER, {"coin": "BTC", "px": "1", "sz": "1", "side": "B", "time": t})
            fx.state.user(USER).ledger.append({"time": t, "hash": "0x0", "delta": {"type": "deposit", "usdc": "1"}})
        await subscribe(ws, {"type": "userFills", "user": USER})
        assert [f["time"] for f in (await recv(ws))["data"]["fills"]] == [5, 4, 3]  # newest first
        await subscribe(ws, {"type": "userNonFundingLedgerUpdates", "user": USER})
        ledger = (await recv(ws))["data"]["nonFundingLedgerUpdates"]
        assert [u["time"] for u in ledger] == [1, 2, 3, 4, 5]  # the ledger snapshot is the whole history
    with pytest.raises(InvalidInputError):
        FakeExchange(snapshot_cap=0)


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "l2Book", "coin": "NOPE"},
        {"type": "trades", "coin": "btc"},
        {"type": "l2Book", "coin": "BTC", "nSigFigs": 6},
        {"type": "l2Book", "coin": "BTC", "mantissa": 2},
    ],
)
async def test_a_bad_subscription_drops_the_socket_without_a_reply(bad: dict) -> None:
    async with FakeExchange(close_on_bad_subscription=True) as fx, websockets.connect(fx.ws_url) as ws:
        await ws.send(sub_msg({"type": "trades", "coin": "ETH"}))
        await ws.send(sub_msg(bad))
        await ws.send(sub_msg({"type": "trades", "coin": "SOL"}))  # never handled
        assert (await recv(ws))["channel"] == "subscriptionResponse"  # what came before is answered
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws)
        assert info.value.rcvd is None  # no close frame (1006)
        assert len(fx.refused_subscriptions) == 1
        for _ in range(300):
            if not fx.ws_subscriptions:
                break
            await asyncio.sleep(0.01)
        assert not fx.ws_subscriptions


async def test_without_the_mode_a_bad_value_is_a_parse_error_and_an_unknown_coin_is_accepted() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        raw = sub_msg({"type": "l2Book", "coin": "BTC", "nSigFigs": 6})
        await ws.send(raw)
        assert await recv(ws) == {"channel": "error", "data": PARSE + raw}
        assert (await subscribe(ws, {"type": "trades", "coin": "NOPE"}))["channel"] == "subscriptionResponse"
        assert not fx.refused_subscriptions
