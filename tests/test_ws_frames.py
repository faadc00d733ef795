"""WebSocket runtime: frame-level misbehaviour (a minimal loopback server sends exactly the bad frames)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from test_ws_client import FAST, Recorder, next_message
from test_ws_support import L2BOOK, USER_A, USER_B, USER_FILLS, MiniServer, wait_for

from hyperliquid_client.runtime.errors import ApiRejectedError, HyperliquidError, SubscriptionLimitError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.ws import SubscriptionFailedError, WsClient
from hyperliquid_client.testing import FakeExchange


@pytest.fixture
async def server() -> AsyncIterator[MiniServer]:
    srv = MiniServer()
    await srv.start()
    yield srv
    await srv.stop()


async def test_malformed_frames_are_ignored_and_reported(server: MiniServer) -> None:
    bus = EventBus()
    rec = Recorder(bus)
    async with WsClient(server.url, config=FAST, events=bus) as client:
        sub = await client.subscribe(L2BOOK, {"coin": "BTC"})
        await wait_for(lambda: len(server.subscriptions()) == 1)
        for frame in (
            "Websocket connection established.",  # legacy greeting: silently ignored
            "not json at all {",
            b"\xff\xfe binary garbage",
            "[1, 2, 3]",
            '{"channel": "l2Book"}',
            '{"channel": "l2Book", "data": {"coin": 5}}',
            '{"channel": "post", "data": {"id": 99999, "response": {}}}',
            '{"channel": "somethingNew", "data": {}}',
            '{"channel": "error", "data": "Already unsubscribed: {\\"type\\":\\"bbo\\",\\"coin\\":\\"X\\"}"}',
        ):
            await server.send_raw(frame)
        await server.publish({"type": "l2Book", "coin": "BTC"}, {"coin": "BTC", "time": 5, "levels": [[], []]})
        assert (await next_message(sub)).data["time"] == 5
        assert server.connects == 1  # the connection survived
        errors = [e["message"] for e in rec.named("ws.error")]
        assert sum("malformed frame" in m for m in errors) == 2
        assert sum("not a JSON object" in m for m in errors) == 1
        assert not any("established" in m for m in errors)


async def test_server_error_strings(server: MiniServer) -> None:
    user_c = "0x" + "ee" * 20
    async with WsClient(server.url, config=FAST) as client:
        sub = await client.subscribe(USER_FILLS, {"user": USER_A})
        await wait_for(lambda: len(server.subscriptions()) == 1)
        await wait_for(lambda: client._registry[sub.key].live)
        server.refuse = lambda s: (
            "Cannot track more than 15 total users."
            if s.get("user") == USER_B
            else f"Invalid subscription {json.dumps(s)}"
            if s.get("user") == user_c
            else None
        )
        capped = await client.subscribe(USER_FILLS, {"user": USER_B})
        with pytest.raises(SubscriptionLimitError):
            await capped.get(2)
        invalid = await client.subscribe(USER_FILLS, {"user": user_c})
        with pytest.raises(SubscriptionFailedError) as info:
            await invalid.get(2)
        assert "Invalid subscription" in str(info.value)
        assert not sub.closed and client.upstream_subscription_count() == 1
        await server.publish({"type": "userFills", "user": USER_A}, {"user": USER_A, "fills": []})
        assert (await next_message(sub)).data["user"] == USER_A


async def test_post_rejected_by_parse_error_fails_fast() -> None:
    async with FakeExchange() as fx, WsClient(fx.ws_url, config=FAST) as client:
        with pytest.raises(ApiRejectedError) as info:
            await client.post("info", {"type": "definitelyNotAnInfoType"}, timeout=5)
        assert "Error parsing JSON" in str(info.value)
        with pytest.raises(HyperliquidError):
            await client.post("nope", {})  # type: ignore[arg-type]
