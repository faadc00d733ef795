"""WebSocket runtime soak: the fake exchange closes every socket every few seconds for a minute."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from test_ws_client import FAST, Recorder, server_subs
from test_ws_support import ALL_MIDS, BBO, CANDLE, L2BOOK, TRADES, USER_A, USER_FILLS, wait_for

from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.ratelimit import RateLimitConfig, WsLimits
from hyperliquid_client.runtime.ws import Interrupted, Message, Resumed, WsClient
from hyperliquid_client.testing import FakeExchange

DURATION = 60.0
EVERY = 3.0
CODES = [None, 1000, 1001, 1006, 1011, 1012, 1013, 4000]


async def test_server_closes_every_few_seconds_for_a_minute() -> None:
    specs: list[tuple[Any, dict[str, Any], dict[str, Any], Any]] = [
        (L2BOOK, {"coin": "BTC"}, {"type": "l2Book", "coin": "BTC"}, lambda n: {"coin": "BTC", "time": n}),
        (
            L2BOOK,
            {"coin": "BTC", "nSigFigs": 5},
            {"type": "l2Book", "coin": "BTC", "nSigFigs": 5},
            lambda n: {"coin": "BTC", "time": -n},
        ),
        (BBO, {"coin": "ETH"}, {"type": "bbo", "coin": "ETH"}, lambda n: {"coin": "ETH", "time": n}),
        (TRADES, {"coin": "SOL"}, {"type": "trades", "coin": "SOL"}, lambda n: [{"coin": "SOL", "tid": n}]),
        (
            CANDLE,
            {"coin": "BTC", "interval": "1m"},
            {"type": "candle", "coin": "BTC", "interval": "1m"},
            lambda n: {"s": "BTC", "i": "1m", "t": n},
        ),
        (ALL_MIDS, {}, {"type": "allMids"}, lambda n: {"mids": {"BTC": str(n)}}),
        (
            USER_FILLS,
            {"user": USER_A},
            {"type": "userFills", "user": USER_A},
            lambda n: {"user": USER_A, "fills": [{"hash": "0x1", "tid": n, "time": n}]},
        ),
    ]
    bus = EventBus()
    rec = Recorder(bus)
    async with FakeExchange() as fx:
        # two sockets dropped every 3 s: 40 reconnects a minute, past the real API's 30 (this server has no limit)
        limits = WsLimits(RateLimitConfig(ws_connections_per_minute=100))
        client = WsClient(fx.ws_url, config=FAST, events=bus, limits=limits)
        async with client:
            subs = [await client.subscribe(ch, params) for ch, params, _, _ in specs]
            await wait_for(lambda: len(fx.ws_subscriptions) == len(specs))
            expected = server_subs(fx)
            assert client.connection_count() == 2  # the two BTC books cannot share a socket
            counts = {i: {"interrupted": 0, "resumed": 0} for i in range(len(subs))}

            async def check_flow(n: int) -> None:
                for _, _, server_sub, make in specs:
                    fx.publish(server_sub, make(n))
                for i, sub in enumerate(subs):
                    while True:
                        try:
                            item = await sub.get(5)
                        except TimeoutError:
                            raise AssertionError(f"no data for {specs[i][2]} at {n}: {counts[i]}") from None
                        if isinstance(item, Interrupted):
                            counts[i]["interrupted"] += 1
                        elif isinstance(item, Resumed):
                            counts[i]["resumed"] += 1
                        elif isinstance(item, Message) and json.dumps(item.data) == json.dumps(specs[i][3](n)):
                            break

            await check_flow(1)
            drops = 0
            start = time.monotonic()
            n = 1
            while time.monotonic() - start < DURATION - EVERY:
                await asyncio.sleep(EVERY - 0.5)
                code = CODES[drops % len(CODES)]
                assert fx.drop_ws_connections(None if code == 1006 else code) == 2
                drops += 1
                for i, sub in enumerate(subs):  # each stream reports the interruption and its resumption
                    while counts[i]["resumed"] < drops:
                        item = await sub.get(5)
                        if isinstance(item, Interrupted):
                            counts[i]["interrupted"] += 1
                        elif isinstance(item, Resumed):
                            counts[i]["resumed"] += 1
                await wait_for(lambda: fx.ws_connection_count == 2 and server_subs(fx) == expected, timeout=5)
                n += 1
                await check_flow(n)

            assert drops >= 18
            for i in range(len(subs)):
                assert counts[i] == {"interrupted": drops, "resumed": drops}, (specs[i][2], counts[i])
            # every subscription re-sent exactly once per reconnect: no duplicate upstream subscriptions
            sent = [
                json.dumps(r.body["subscription"], sort_keys=True) for r in fx.requests_for("/ws", method="subscribe")
            ]
            assert len(sent) == len(specs) * (drops + 1)
            assert not [e for e in rec.named("ws.error") if "Already subscribed" in e["message"]]
            assert len(rec.named("ws.interrupted")) == len(specs) * drops
            assert client.upstream_subscription_count() == len(specs)
