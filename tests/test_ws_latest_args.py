"""``latest`` / ``fresh_raw`` of no live subscription: ``None`` for a call that names a channel and parameters the
spec knows ("nothing yet"), a typed refusal for one no subscription could ever match (a typo would read as "nothing
yet" for ever)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from hyperliquid_client import Client
from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.ws import WsClient, WsConfig
from hyperliquid_client.testing import FakeExchange

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("l2book", {"coin": "BTC"}, "channel"),  # misspelled
    ("nope", {}, "channel"),
    ("l2Book", {}, "coin"),  # a required parameter left out
    ("l2Book", {"con": "BTC"}, "con"),  # a parameter the channel does not have
    ("allMids", {"coin": "BTC"}, "coin"),
]


def _asks(target: Any) -> list[Callable[..., Any]]:
    return [
        lambda ch, **p: target.latest(ch, **p),
        lambda ch, **p: target.fresh_raw(ch, 60.0, **p),
    ]


@pytest.mark.parametrize(("channel", "params", "field"), BAD)
def test_the_ws_client_refuses_what_no_subscription_could_match(
    channel: str, params: dict[str, Any], field: str
) -> None:
    async def main() -> None:
        client = WsClient("ws://127.0.0.1:9/ws", config=WsConfig(reconnect_base=60.0, reconnect_max=60.0))
        try:
            for ask in [*_asks(client), lambda ch, **p: client.latest_raw(ch, **p)]:
                with pytest.raises(InvalidInputError) as info:
                    ask(channel, **params)
                assert info.value.field == field
            # what the spec knows, not subscribed: nothing yet
            assert client.latest("l2Book", coin="BTC") is None
            assert client.latest("l2Book", coin="BTC", nSigFigs=5) is None
            assert client.fresh_raw("allMids", 1.0) is None
        finally:
            await client.close()

    asyncio.run(main())


def test_the_client_refuses_it_too_before_any_socket_exists() -> None:
    with FakeExchange() as fx, Client("testnet", http_url=fx.http_url) as client:
        for channel, params, field in BAD:
            with pytest.raises(InvalidInputError) as info:
                client.latest(channel, **params)
            assert info.value.field == field
        assert client.latest("l2Book", coin="BTC") is None
        sub = client.streams.l2_book("BTC")
        try:
            book = sub.get(timeout=10)
            assert client.latest("l2Book", coin="BTC") is not None and book is not None
        finally:
            sub.cancel()
