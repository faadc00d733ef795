"""Shared wiring for the exchange tests: a real transport, metadata and info API on a fake exchange.

(No tests here; imported by ``tests/test_exchange_*.py``.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from hyperliquid_client.generated.info import AsyncInfoAPI, InfoAPI
from hyperliquid_client.runtime.cache import TTLCache
from hyperliquid_client.runtime.config import Network, custom_network
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.exchange import ActionSender, AsyncActionSender, AsyncExchange, Exchange
from hyperliquid_client.runtime.http_caller import AsyncHttpCaller, HttpCaller
from hyperliquid_client.runtime.markets import MetadataService
from hyperliquid_client.runtime.signing import NonceManager, Wallet
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport, TransportConfig
from hyperliquid_client.testing import FakeExchange

#: Fixed test keys (never funded anywhere).
KEY_A = "0x" + "11" * 32
KEY_B = "0x" + "22" * 32
KEY_C = "0x" + "33" * 32


def collect(bus: EventBus, pattern: str) -> list[Event]:
    events: list[Event] = []
    bus.subscribe(pattern, events.append)
    return events


def exchange_posts(fx: FakeExchange) -> list[Any]:
    return [r.body for r in fx.requests_for("/exchange")]


@attrs.define
class Rig:
    """One client's worth of exchange plumbing pointed at ``fx``."""

    fx: FakeExchange
    network: Network
    transport: HttpTransport
    bus: EventBus
    sender: ActionSender
    markets: MetadataService
    info: InfoAPI
    exchange: Exchange

    def close(self) -> None:
        self.transport.close()


def make_rig(
    fx: FakeExchange,
    wallet: Wallet | None,
    *,
    verify: bool | str = True,
    account: str | None = None,
    vault: str | None = None,
    nonces: NonceManager | None = None,
    timeout: float = 5.0,
    backend: Any = None,
) -> Rig:
    network = custom_network(fx.http_url)
    bus = EventBus()
    transport = HttpTransport(TransportConfig(default_timeout=timeout), events=bus)
    sender = ActionSender(
        transport,
        network,
        wallet=wallet,
        account_address=account,
        vault_address=vault,
        nonces=nonces,
        events=bus,
        verify_signatures=verify,  # type: ignore[arg-type]  # (also a wrong value, to see it refused)
        backend=backend,
    )

    def fetch(body: Mapping[str, Any]) -> Any:
        return transport.request_json(
            "POST", network.info_url, body=dict(body), context="info", endpoint="info." + str(body.get("type"))
        )

    markets = MetadataService(TTLCache(), fetch, timeout=timeout)
    info = InfoAPI(HttpCaller(transport, network))
    exchange = Exchange(sender, markets=markets, info=info, events=bus)
    return Rig(fx, network, transport, bus, sender, markets, info, exchange)


@attrs.define
class AsyncRig:
    """The asynchronous twin of :class:`Rig`."""

    network: Network
    transport: AsyncHttpTransport
    bus: EventBus
    sender: AsyncActionSender
    markets: MetadataService
    info: AsyncInfoAPI
    exchange: AsyncExchange

    async def aclose(self) -> None:
        await self.transport.aclose()


def make_async_rig(fx: FakeExchange, wallet: Wallet | None, *, timeout: float = 5.0, **kw: Any) -> AsyncRig:
    network = custom_network(fx.http_url)
    bus = EventBus()
    transport = AsyncHttpTransport(TransportConfig(default_timeout=timeout), events=bus)
    sender = AsyncActionSender(transport, network, wallet=wallet, events=bus, **kw)

    async def fetch(body: Mapping[str, Any]) -> Any:
        return await transport.request_json(
            "POST", network.info_url, body=dict(body), context="info", endpoint="info." + str(body.get("type"))
        )

    markets = MetadataService(TTLCache(), fetch, timeout=timeout)
    info = AsyncInfoAPI(AsyncHttpCaller(transport, network))
    exchange = AsyncExchange(sender, markets=markets, info=info, events=bus)
    return AsyncRig(network, transport, bus, sender, markets, info, exchange)
