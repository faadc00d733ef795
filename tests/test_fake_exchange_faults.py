"""Fault injection of the fake exchange, as a client observes it (HTTP via httpx, WS via websockets)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.testing import FakeExchange, Fault

SIGNED = {
    "action": {"type": "order", "orders": []},
    "nonce": 1,
    "signature": {"r": "0x1", "s": "0x2", "v": 27},
}


@pytest.fixture
def fx():
    with FakeExchange() as fake:
        yield fake


def post(fx: FakeExchange, path: str, body: object, timeout: float = 5.0) -> httpx.Response:
    return httpx.post(fx.http_url + path, json=body, timeout=timeout)


async def recv(ws: websockets.ClientConnection, timeout: float = 3.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def nothing_within(ws: websockets.ClientConnection, timeout: float) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), timeout)


# ---------------------------------------------------------------- HTTP faults
def test_latency_delays_only_matching_requests(fx: FakeExchange) -> None:
    handle = fx.add_fault("/info", Fault.latency(0.4), match={"type": "meta"})
    start = time.monotonic()
    r = post(fx, "/info", {"type": "meta"})
    assert time.monotonic() - start >= 0.4
    assert r.status_code == 200 and r.json()["universe"]
    assert post(fx, "/info", {"type": "allMids"}).status_code == 200
    assert handle.hits == 1 and handle.active  # allMids did not match; no count: still attached


@pytest.mark.parametrize("route", ["/info", "/ws"])
def test_stopping_ends_the_requests_a_latency_fault_holds(route: str, caplog: pytest.LogCaptureFixture) -> None:
    """A request held by a latency fault ends when the fake stops (aborted, as a hang's is): it used to outlive the
    server, ``stop()`` waited out aiohttp's shutdown grace and asyncio reported "Task was destroyed but it is
    pending!" when the loop closed."""
    caplog.set_level("WARNING", logger="asyncio")
    fake = FakeExchange().start()
    fake.add_fault(route, Fault.latency(300))
    outcome: list[BaseException] = []

    def request() -> None:
        try:
            if route == "/info":
                post(fake, "/info", {"type": "meta"}, timeout=300)
            else:
                asyncio.run(websockets.connect(fake.ws_url, open_timeout=300).__aenter__())
        except BaseException as exc:
            outcome.append(exc)

    waiting = threading.Thread(target=request, daemon=True)
    waiting.start()
    deadline = time.monotonic() + 10
    while not any(r.path == route for r in fake.requests):
        assert time.monotonic() < deadline, "the request never reached the fake exchange"
        time.sleep(0.01)
    fake.stop()
    waiting.join(timeout=30)
    assert not waiting.is_alive()  # (else it was held the fault's 300 s)
    assert outcome and isinstance(outcome[0], Exception)  # the connection ended without an answer
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]


def test_hang_makes_the_client_time_out_then_recovers(fx: FakeExchange) -> None:
    handle = fx.add_fault("/info", Fault.hang(), count=1)
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        post(fx, "/info", {"type": "allMids"}, timeout=0.3)
    assert time.monotonic() - start < 0.3 + 2.0
    assert handle.hits == 1 and handle.remaining == 0
    assert post(fx, "/info", {"type": "allMids"}).status_code == 200
    assert len(fx.requests_for("/info", type="allMids")) == 2  # the hung request was read and recorded


def test_stop_releases_hung_requests_promptly() -> None:
    fx = FakeExchange().start()
    fx.add_fault("/info", Fault.hang())
    client = httpx.Client(timeout=30)

    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.post(fx.http_url + "/info", json={"type": "meta"})
        except BaseException as exc:
            outcome.append(exc)

    t = threading.Thread(target=call)
    t.start()
    deadline = time.monotonic() + 5
    while not fx.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    fx.stop()
    assert time.monotonic() - start < 5
    t.join(5)
    assert not t.is_alive()
    assert outcome and isinstance(outcome[0], httpx.TransportError)
    client.close()


def test_close_mid_body_gives_an_incomplete_read(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.close_mid_body(), count=1)
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
        post(fx, "/info", {"type": "meta"})
    assert post(fx, "/info", {"type": "meta"}).status_code == 200


def test_close_mid_body_sends_headers_and_part_of_the_body(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.close_mid_body(), count=1)
    received = bytearray()
    with httpx.Client() as client, client.stream("POST", fx.http_url + "/info", json={"type": "meta"}) as r:
        assert r.status_code == 200
        expected = int(r.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in r.iter_raw():
                received.extend(chunk)
    assert 0 < len(received) < expected
    assert post(fx, "/info", {"type": "meta"}).content.startswith(bytes(received))


def test_rate_limited_is_429_null_with_retry_after(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.rate_limited(retry_after=2), count=1)
    fx.add_fault("/info", Fault.rate_limited(), count=1)
    r = post(fx, "/info", {"type": "allMids"})
    assert r.status_code == 429 and r.text == "null" and r.headers["retry-after"] == "2"
    assert r.headers["content-type"].startswith("application/json")
    r = post(fx, "/info", {"type": "allMids"})
    assert r.status_code == 429 and "retry-after" not in r.headers
    assert post(fx, "/info", {"type": "allMids"}).status_code == 200


def test_status_fault_with_body_and_headers(fx: FakeExchange) -> None:
    fx.add_fault("/exchange", Fault.status(500), count=1)
    fx.add_fault(
        "/exchange", Fault.status(502, b"<html>bad gateway</html>", {"X-Cache": "Error"}, content_type="text/html")
    )
    r = post(fx, "/exchange", SIGNED)
    assert r.status_code == 500 and r.content == b""
    r = post(fx, "/exchange", SIGNED)
    assert r.status_code == 502 and r.text == "<html>bad gateway</html>" and r.headers["x-cache"] == "Error"
    fx.clear_faults()
    assert post(fx, "/exchange", SIGNED).status_code == 200


def test_malformed_json(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.malformed_json(), count=1)
    fx.add_fault("/info", Fault.malformed_json(b"{'single': quotes}"), count=1)
    for expected in (None, b"{'single': quotes}"):
        r = post(fx, "/info", {"type": "meta"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert expected is None or r.content == expected
        with pytest.raises(json.JSONDecodeError):
            r.json()


def test_truncated_json_is_a_prefix_of_the_real_body(fx: FakeExchange) -> None:
    fx.set_info("perpCategories", [["BTC", "majors"], ["ETH", "majors"], ["kPEPE", "memes"]])
    full = post(fx, "/info", {"type": "perpCategories"}).content
    fx.add_fault("/info", Fault.truncated_json(), count=1)
    r = post(fx, "/info", {"type": "perpCategories"})
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content)  # framing intact, JSON cut
    assert 0 < len(r.content) < len(full) and full.startswith(r.content)
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_truncated_json_never_leaves_a_valid_number(fx: FakeExchange) -> None:
    fx.set_info("maxBuilderFee", 123456)
    fx.add_fault("/info", Fault.truncated_json(), count=1)
    r = post(fx, "/info", {"type": "maxBuilderFee"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_count_match_order_and_removal(fx: FakeExchange) -> None:
    h500 = fx.add_fault("/info", Fault.status(500), count=2, match={"type": "l2Book", "coin": "ETH"})
    assert post(fx, "/info", {"type": "l2Book", "coin": "BTC"}).status_code == 200
    assert post(fx, "/info", {"type": "l2Book", "coin": "ETH"}).status_code == 500
    assert post(fx, "/info", {"type": "l2Book", "coin": "ETH"}).status_code == 500
    assert post(fx, "/info", {"type": "l2Book", "coin": "ETH"}).status_code == 200
    assert h500.hits == 2 and not h500.active

    forever = fx.add_fault("/exchange", Fault.status(503), match={"action.type": "order"})
    other = dict(SIGNED, action={"type": "cancel", "cancels": []})
    for _ in range(3):
        assert post(fx, "/exchange", SIGNED).status_code == 503
    assert post(fx, "/exchange", other).status_code == 200
    fx.remove_fault(forever)
    assert post(fx, "/exchange", SIGNED).status_code == 200
    assert forever.hits == 3

    # first matching non-latency rule wins; latency adds up with it
    fx.add_fault("/info", Fault.latency(0.2), count=1)
    fx.add_fault("/info", Fault.status(500), count=1)
    fx.add_fault("/info", Fault.status(501), count=1)
    start = time.monotonic()
    assert post(fx, "/info", {"type": "meta"}).status_code == 500
    assert time.monotonic() - start >= 0.2
    assert post(fx, "/info", {"type": "meta"}).status_code == 501
    assert post(fx, "/info", {"type": "meta"}).status_code == 200


def test_faults_are_per_route(fx: FakeExchange) -> None:
    fx.add_fault("/explorer", Fault.status(500))
    fx.add_fault("/stats", Fault.rate_limited(1))
    assert post(fx, "/info", {"type": "meta"}).status_code == 200
    assert post(fx, "/explorer", {"type": "userDetails", "user": "0x" + "1" * 40}).status_code == 500
    assert httpx.get(fx.http_url + "/stats/Mainnet/leaderboard").status_code == 429
    fx.clear_faults()
    fx.add_fault("/stats", Fault.status(500), match={"name": "vaults"})
    assert httpx.get(fx.http_url + "/stats/Mainnet/leaderboard").status_code == 200
    assert httpx.get(fx.http_url + "/stats/Mainnet/vaults").status_code == 500


def test_bad_fault_arguments_raise(fx: FakeExchange) -> None:
    with pytest.raises(InvalidInputError):
        fx.add_fault("/nope", Fault.hang())
    with pytest.raises(InvalidInputError):
        fx.add_fault("/info", Fault.ws_drop())
    with pytest.raises(InvalidInputError):
        fx.add_fault("/ws", Fault.truncated_json())
    with pytest.raises(InvalidInputError):
        fx.add_fault("/info", Fault.hang(), count=0)
    with pytest.raises(InvalidInputError):
        Fault.latency(-1)
    with pytest.raises(InvalidInputError):
        Fault.status(99)
    with pytest.raises(InvalidInputError):
        Fault.ws_drop(code=5)


# ---------------------------------------------------------------- WebSocket faults
async def test_ws_upgrade_can_be_refused_or_dropped() -> None:
    async with FakeExchange() as fx:
        fx.add_fault("/ws", Fault.status(503), count=1)
        with pytest.raises(InvalidStatus) as info:
            await websockets.connect(fx.ws_url)
        assert info.value.response.status_code == 503
        fx.add_fault("/ws", Fault.ws_drop(), count=1)
        async with websockets.connect(fx.ws_url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await recv(ws)
            assert closed.value.rcvd is None  # no close frame: 1006
        async with websockets.connect(fx.ws_url) as ws:  # count exhausted: normal again
            await ws.send(json.dumps({"method": "ping"}))
            assert await recv(ws) == {"channel": "pong"}


async def test_ws_handshake_hang_and_latency() -> None:
    async with FakeExchange() as fx:
        fx.add_fault("/ws", Fault.hang(), count=1)
        with pytest.raises(TimeoutError):
            await websockets.connect(fx.ws_url, open_timeout=0.3)
        fx.add_fault("/ws", Fault.latency(0.3), count=1)
        start = time.monotonic()
        async with websockets.connect(fx.ws_url, open_timeout=5) as ws:
            assert time.monotonic() - start >= 0.3
            await ws.send(json.dumps({"method": "ping"}))
            assert await recv(ws) == {"channel": "pong"}  # the latency rule was used up by the handshake
        assert len(fx.requests_for("/ws")) == 3  # two upgrades and the ping


async def test_ws_drop_on_a_matching_message_with_a_close_code() -> None:
    async with FakeExchange(market_snapshots=False) as fx:
        fx.add_fault("/ws", Fault.ws_drop(code=4000), match={"subscription.type": "l2Book"})
        async with websockets.connect(fx.ws_url) as ws:
            await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "allMids"}}))
            assert (await recv(ws))["channel"] == "subscriptionResponse"
            await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}}))
            with pytest.raises(ConnectionClosed) as closed:
                await recv(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        assert fx.ws_subscriptions == []


async def test_drop_ws_connections_abrupt_and_coded() -> None:
    async with FakeExchange() as fx:
        a = await websockets.connect(fx.ws_url)
        b = await websockets.connect(fx.ws_url)
        for _ in range(100):
            if fx.ws_connection_count == 2:
                break
            await asyncio.sleep(0.01)
        assert fx.drop_ws_connections() == 2
        for ws in (a, b):
            with pytest.raises(ConnectionClosed) as closed:
                await recv(ws)
            assert closed.value.rcvd is None
        c = await websockets.connect(fx.ws_url)
        await c.send(json.dumps({"method": "ping"}))
        await recv(c)
        assert fx.drop_ws_connections(code=1012) == 1
        with pytest.raises(ConnectionClosed) as closed:
            await recv(c)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012


async def test_ws_ignore_pings_keeps_data_flowing() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "trades", "coin": "SOL"}}))
        await recv(ws)
        handle = fx.add_fault("/ws", Fault.ws_ignore_pings())
        await ws.send(json.dumps({"method": "ping"}))
        await nothing_within(ws, 0.4)
        assert fx.publish({"type": "trades", "coin": "SOL"}, [{"coin": "SOL"}]) == 1
        assert (await recv(ws))["channel"] == "trades"
        # protocol-level pings are ignored too
        waiter = await ws.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), 0.4)
        fx.remove_fault(handle)
        await ws.send(json.dumps({"method": "ping"}))
        assert await recv(ws) == {"channel": "pong"}
        assert handle.hits >= 2


async def test_ws_silence_sends_nothing_but_keeps_the_socket_open() -> None:
    async with FakeExchange(market_snapshots=False) as fx, websockets.connect(fx.ws_url) as ws:
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "allMids"}}))
        await recv(ws)
        handle = fx.add_fault("/ws", Fault.ws_silence())
        assert fx.publish({"type": "allMids"}, {"mids": {}}) == 1
        await ws.send(json.dumps({"method": "ping"}))
        waiter = await ws.ping()
        await nothing_within(ws, 0.5)
        assert not waiter.done()
        assert fx.ws_connection_count == 1 and ws.state.name == "OPEN"
        # the server still reads: a subscription made while silent is registered
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "bbo", "coin": "BTC"}}))
        await asyncio.sleep(0.1)
        assert len(fx.ws_subscriptions) == 2
        fx.remove_fault(handle)
        fx.publish({"type": "allMids"}, {"mids": {"BTC": "1.0"}})
        assert await recv(ws) == {"channel": "allMids", "data": {"mids": {"BTC": "1.0"}}}


async def test_ws_silence_of_one_channel_and_one_connection() -> None:
    async with FakeExchange(market_snapshots=False) as fx:
        a = await websockets.connect(fx.ws_url)
        b = await websockets.connect(fx.ws_url)
        for ws in (a, b):
            for sub in ({"type": "allMids"}, {"type": "l2Book", "coin": "ETH"}):
                await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
                await recv(ws)
        conn_a = fx.ws_subscriptions[0][0]
        fx.add_fault("/ws", Fault.ws_silence(), match={"channel": "l2Book", "connection": conn_a})
        fx.publish({"type": "l2Book", "coin": "ETH"}, {"coin": "ETH"})
        fx.publish({"type": "allMids"}, {"mids": {}})
        assert (await recv(a))["channel"] == "allMids"  # the l2Book frame was withheld
        assert (await recv(b))["channel"] == "l2Book"
        assert (await recv(b))["channel"] == "allMids"
        await a.close()
        await b.close()


async def test_ws_post_hang_latency_and_status() -> None:
    async with FakeExchange() as fx:
        async with websockets.connect(fx.ws_url) as ws:
            fx.add_fault("/ws", Fault.hang(), count=1, match={"method": "post"})
            fx.add_fault("/ws", Fault.latency(0.4), count=1, match={"method": "post", "id": 2})
            fx.add_fault("/ws", Fault.rate_limited(), count=1, match={"method": "post", "id": 3})
            info = {"type": "info", "payload": {"type": "allMids"}}
            await ws.send(json.dumps({"method": "post", "id": 1, "request": info}))  # swallowed
            await ws.send(json.dumps({"method": "post", "id": 2, "request": info}))  # delayed
            await ws.send(json.dumps({"method": "post", "id": 3, "request": info}))  # 429
            await ws.send(json.dumps({"method": "ping"}))
            first = await recv(ws)
            assert first["data"]["id"] == 3
            assert first["data"]["response"]["type"] == "error"
            assert first["data"]["response"]["payload"].startswith("429")
            assert await recv(ws) == {"channel": "pong"}
            delayed = await recv(ws)
            assert delayed["data"]["id"] == 2 and delayed["data"]["response"]["type"] == "info"
            await nothing_within(ws, 0.3)  # id 1 never answered
        assert len(fx.requests_for("/ws", method="post")) == 3
