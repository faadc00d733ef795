"""The clients users import: :class:`Client` (threads) and :class:`AsyncClient` (asyncio).

Creating a client does no network I/O: the HTTP pool connects on the first request, the
WebSocket on the first subscription, and metadata (asset ids, size decimals, mids) is loaded by
background warmers — or on demand, with a timeout, by the first call that needs it.

::

    from hyperliquid_client import Client

    with Client("testnet") as client:
        book = client.info.l2_book("BTC")
        for item in client.streams.trades("BTC"):
            ...
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import attrs

from hyperliquid_client.generated.explorer import AsyncExplorerAPI, ExplorerAPI
from hyperliquid_client.generated.info import AsyncInfoAPI, InfoAPI
from hyperliquid_client.generated.registry import ENDPOINTS, REGISTRY
from hyperliquid_client.generated.stats import AsyncStatsAPI, StatsAPI
from hyperliquid_client.generated.streams import AsyncStreams, Streams
from hyperliquid_client.runtime.cache import CacheConfig, TTLCache, WarmStatus, WarmupManager
from hyperliquid_client.runtime.config import Network, resolve_network
from hyperliquid_client.runtime.errors import ConfigError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.exchange import (
    DEFAULT_NONCES,
    ActionSender,
    AsyncActionSender,
    AsyncExchange,
    Exchange,
)
from hyperliquid_client.runtime.http_caller import AsyncHttpCaller, HttpCaller
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.markets import MetadataService
from hyperliquid_client.runtime.registry import EndpointSpec, Registry
from hyperliquid_client.runtime.signing import NonceManager, Wallet
from hyperliquid_client.runtime.storage import StorageConfig, StorageWriter, open_storage
from hyperliquid_client.runtime.streaming import AsyncStreamHub, StreamHub
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport, TransportConfig
from hyperliquid_client.runtime.ws import WsConfig

__all__ = ["AsyncClient", "Client", "ClientConfig"]

_log = get_logger("hyperliquid_client.client")

#: How long closing a client waits for storage to write what it buffered (the database may be down):
#: rows still unwritten then are dropped and reported (``storage.drop``, reason ``close_timeout``).
STORAGE_CLOSE_TIMEOUT = 10.0

#: How long closing a client waits, in all, for its background work (warmers, WebSocket) to end.
#: Nothing it waits for depends on the network: requests in flight are woken by closing the
#: transport; what is still running at the deadline ends on its own and touches nothing.
CLOSE_TIMEOUT = 0.1


def _close_hub(hub: StreamHub, timeout: float) -> None:
    """Close the WebSocket side, waiting at most ``timeout`` seconds (the rest goes on in the background)."""
    if not hub.opened:
        hub.close()
        return
    closer = threading.Thread(target=hub.close, name="hl-close-ws", daemon=True)
    closer.start()
    closer.join(timeout)


@attrs.frozen
class ClientConfig:
    """Everything configurable about a client; every part has a sensible default.

    ``warm``: start background warmers for metadata and mids at creation (never blocking).
    ``metadata_timeout``: how long a call that needs metadata before warm-up waits for it.
    ``metadata_dexes``: builder perp dexes to load (``"all"`` or a list of names).
    ``signing_backend``: ``"auto"``, ``"native"`` or ``"eth-account"``.
    ``verify_signatures``: recover the signer of every fresh signature before sending.
    ``storage``: persist storable data (fills, order updates, trades, funding, ledger, candles)
    from info responses, and from subscriptions made with ``store=True``; off when ``None``.
    """

    transport: TransportConfig = attrs.field(factory=TransportConfig)
    cache: CacheConfig = attrs.field(factory=CacheConfig)
    ws: WsConfig = attrs.field(factory=WsConfig)
    warm: bool = True
    warm_mids: bool = True
    metadata_timeout: float = 5.0
    metadata_dexes: tuple[str, ...] | str = "all"
    signing_backend: str | None = None
    verify_signatures: bool = True
    storage: StorageConfig | None = None


def _to_wallet(value: Wallet | str | None) -> Wallet | None:
    """The ``wallet`` argument as a :class:`Wallet` (error reporters record frames' locals: converted
    first thing in a constructor, the key is held as text by no frame of the library)."""
    if value is None or isinstance(value, Wallet):
        return value
    try:
        return Wallet.from_key(value)
    finally:
        del value


def _resolve(
    network: str | Network | None,
    http_url: str | None,
    ws_url: str | None,
    env: Mapping[str, str] | None,
) -> Network:
    return resolve_network(network, http_url=http_url, ws_url=ws_url, env=env)


def _weakly(method: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], Any]:
    """``method`` (bound) called through a weak reference to its object."""
    ref = weakref.WeakMethod(method)

    def call(body: Mapping[str, Any]) -> Any:
        target = ref()
        if target is None:
            raise ConfigError("client", "the client was garbage-collected")
        return target(body)

    return call


def _collect_unclosed(
    name: str, warmup: WarmupManager, hub: StreamHub, transport: HttpTransport, storage: StorageWriter | None
) -> None:
    """Finalizer of a :class:`Client` that was never closed: stop its threads, close its sockets."""
    warnings.warn(f"unclosed {name}: call close() or use `with Client(...)`", ResourceWarning, stacklevel=1)
    warmup.stop(timeout=0)
    transport.close()
    _close_hub(hub, CLOSE_TIMEOUT)
    warmup.stop(timeout=CLOSE_TIMEOUT)
    if storage is not None:
        storage.close(timeout=STORAGE_CLOSE_TIMEOUT)


class _Base:
    registry: Registry = REGISTRY

    def __init__(
        self,
        network: str | Network | None,
        *,
        http_url: str | None,
        ws_url: str | None,
        wallet: Wallet | str | None,
        account_address: str | None,
        vault_address: str | None,
        config: ClientConfig | None,
        events: EventBus | None,
        env: Mapping[str, str] | None,
    ) -> None:
        if config is not None and not isinstance(config, ClientConfig):
            raise ConfigError("config", f"expected a ClientConfig, got {type(config).__name__}")
        self.config = config or ClientConfig()
        self.network = _resolve(network, http_url, ws_url, env if env is not None else os.environ)
        self.events = events if events is not None else EventBus()
        self.wallet = _to_wallet(wallet)
        self.account_address = account_address.lower() if account_address else None
        self.vault_address = vault_address.lower() if vault_address else None
        self.cache = TTLCache(self.config.cache, events=self.events)
        #: nonces are per signer and process-wide, so several clients of one wallet never reuse one
        self.nonces: NonceManager = DEFAULT_NONCES
        self.storage: StorageWriter | None = (
            open_storage(self.config.storage, events=self.events) if self.config.storage is not None else None
        )

    def _metadata(self, fetch_info: Callable[[Mapping[str, Any]], Any]) -> MetadataService:
        return MetadataService(
            self.cache,
            fetch_info,
            timeout=self.config.metadata_timeout,
            dexes="all" if self.config.metadata_dexes == "all" else tuple(self.config.metadata_dexes),
        )

    def _hub_options(self, fetch_info: Callable[[dict[str, Any]], Any], markets: MetadataService) -> dict[str, Any]:
        return {
            "known_coin": markets.known_coin,
            "explorer_ws_url": self.network.explorer_ws_url,
            "config": self.config.ws,
            "events": self.events,
            "fetch_info": fetch_info,
            "storage": self.storage,
        }

    def _sender_options(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "account_address": self.account_address,
            "vault_address": self.vault_address,
            "backend": self.config.signing_backend,
            "nonces": self.nonces,
            "events": self.events,
            "verify_signatures": self.config.verify_signatures,
        }

    def _warmup(self, markets: MetadataService) -> WarmupManager:
        return WarmupManager(self.cache, markets.warmers(mids=self.config.warm_mids), events=self.events, name="warmup")

    @staticmethod
    def _info_endpoint(body: Mapping[str, Any]) -> EndpointSpec:
        endpoint = ENDPOINTS.get(f"info.{body.get('type')}")
        if endpoint is None:
            raise ConfigError("fetch_info", f"unknown info type {body.get('type')!r}")
        return endpoint

    @property
    def address(self) -> str | None:
        """The account this client acts for: the vault, else the account address, else the wallet's."""
        if self.vault_address:
            return self.vault_address
        if self.account_address:
            return self.account_address
        return self.wallet.address if self.wallet is not None else None

    def __repr__(self) -> str:
        network, wallet = getattr(self, "network", None), getattr(self, "wallet", None)
        if network is None:  # construction failed (an error reporter may render it from a frame)
            return f"{type(self).__name__}(<not initialised>)"
        who = wallet.address if wallet is not None else "no wallet"
        return f"{type(self).__name__}(network={network.name!r}, url={network.http_url!r}, wallet={who})"


class Client(_Base):
    """Synchronous client.

    Args:
        network: ``"mainnet"``, ``"testnet"`` or a :class:`~hyperliquid_client.runtime.config.Network`
            (default: ``HYPERLIQUID_NETWORK``, else mainnet).
        http_url: Base URL of a custom server (e.g. the fake exchange); ``ws_url`` likewise.
        wallet: Signing key (hex) or :class:`~hyperliquid_client.runtime.signing.Wallet`: the account itself
            or an approved agent.
        account_address: The master account when ``wallet`` is an agent.
        vault_address: Act for this vault or sub-account by default.
        config: A :class:`ClientConfig`.
        events: Share an :class:`~hyperliquid_client.runtime.events.EventBus` (default: a new one).
    """

    def __init__(
        self,
        network: str | Network | None = None,
        *,
        http_url: str | None = None,
        ws_url: str | None = None,
        wallet: Wallet | str | None = None,
        account_address: str | None = None,
        vault_address: str | None = None,
        config: ClientConfig | None = None,
        events: EventBus | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        try:
            wallet = _to_wallet(wallet)  # first: no library frame may hold the key as text
        except BaseException:
            del wallet  # not even a mistyped one
            raise
        super().__init__(
            network,
            http_url=http_url,
            ws_url=ws_url,
            wallet=wallet,
            account_address=account_address,
            vault_address=vault_address,
            config=config,
            events=events,
            env=env,
        )
        self.transport = HttpTransport(self.config.transport, events=self.events)
        self.caller = HttpCaller(self.transport, self.network, cache=self.cache, storage=self.storage)
        self.info = InfoAPI(self.caller)
        self.explorer = ExplorerAPI(self.caller)
        self.stats = StatsAPI(self.caller)
        # the warmer and socket threads reach the client only weakly, so a forgotten client can be
        # collected; its finalizer then stops them (with a ResourceWarning, like an unclosed file)
        fetch_info = _weakly(self._fetch_info)
        self.markets = self._metadata(fetch_info)
        self._hub = StreamHub(self.network.ws_url, **self._hub_options(fetch_info, self.markets))
        self.streams = Streams(self._hub)
        sender = ActionSender(self.transport, self.network, **self._sender_options())
        self.exchange = Exchange(sender, markets=self.markets, info=self.info, events=self.events)
        self.warmup = self._warmup(self.markets)
        if self.config.warm:
            self.warmup.start()
        self._closed = False
        self._finalizer = weakref.finalize(
            self, _collect_unclosed, repr(self), self.warmup, self._hub, self.transport, self.storage
        )
        log(_log, 10, "client created", network=self.network.name, url=self.network.http_url)

    def _fetch_info(self, body: Mapping[str, Any]) -> Any:
        return self.caller.raw(self._info_endpoint(body), dict(body))

    def latest(self, channel: str, /, **params: Any) -> Any:
        """Newest value of a live subscription, without waiting (``None`` before the first message).

        ``client.latest("l2Book", coin="BTC")``, ``client.latest("bbo", coin="ETH")``,
        ``client.latest("allMids")`` — the subscription must be live (``client.streams.l2_book("BTC")``).
        """
        return self._hub.latest(channel, **params)

    def post(self, kind: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send an info request (``kind="info"``) or a signed action (``"action"``) over the WebSocket."""
        return self._hub.post(kind, payload, timeout=timeout)

    @property
    def warm_status(self) -> WarmStatus:
        """State of the background warm-up (``pending``, ``ok``, ``partial`` or ``failed`` with reasons)."""
        return self.warmup.status

    def close(self) -> None:
        """Stop the warmers, close the WebSocket and the HTTP pool, flush storage.  Idempotent.

        Returns within :data:`CLOSE_TIMEOUT` (0.1 s) whatever the network does: requests in flight
        fail at once, and what still runs at the deadline ends on its own.  Storage gets
        :data:`STORAGE_CLOSE_TIMEOUT` seconds to write what it buffered; rows still unwritten then
        (the database is down) are dropped and reported, so closing never hangs.
        """
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        deadline = time.monotonic() + CLOSE_TIMEOUT
        self.warmup.stop(timeout=0)  # first, so that the failures closing causes are not reported
        self.transport.close()
        _close_hub(self._hub, deadline - time.monotonic())
        self.warmup.stop(timeout=deadline - time.monotonic())
        if self.storage is not None:
            self.storage.close(timeout=STORAGE_CLOSE_TIMEOUT)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_Base):
    """Asynchronous client; same arguments as :class:`Client`.

    Use it as ``async with AsyncClient(...) as client:`` (entering starts the background warmers on
    the running loop without waiting for them), then ``await client.info.l2_book("BTC")``.
    """

    def __init__(
        self,
        network: str | Network | None = None,
        *,
        http_url: str | None = None,
        ws_url: str | None = None,
        wallet: Wallet | str | None = None,
        account_address: str | None = None,
        vault_address: str | None = None,
        config: ClientConfig | None = None,
        events: EventBus | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        try:
            wallet = _to_wallet(wallet)  # first: no library frame may hold the key as text
        except BaseException:
            del wallet  # not even a mistyped one
            raise
        super().__init__(
            network,
            http_url=http_url,
            ws_url=ws_url,
            wallet=wallet,
            account_address=account_address,
            vault_address=vault_address,
            config=config,
            events=events,
            env=env,
        )
        self.transport = AsyncHttpTransport(self.config.transport, events=self.events)
        self.caller = AsyncHttpCaller(self.transport, self.network, cache=self.cache, storage=self.storage)
        self.info = AsyncInfoAPI(self.caller)
        self.explorer = AsyncExplorerAPI(self.caller)
        self.stats = AsyncStatsAPI(self.caller)
        self.markets = self._metadata(self._fetch_info)
        self._hub = AsyncStreamHub(self.network.ws_url, **self._hub_options(self._fetch_info, self.markets))
        self.streams = AsyncStreams(self._hub)
        sender = AsyncActionSender(self.transport, self.network, **self._sender_options())
        self.exchange = AsyncExchange(sender, markets=self.markets, info=self.info, events=self.events)
        self.warmup = self._warmup(self.markets)
        self._started = False
        self._closed = False
        self._closing: asyncio.Task[None] | None = None

    async def _fetch_info(self, body: Mapping[str, Any]) -> Any:
        return await self.caller.raw(self._info_endpoint(body), dict(body))

    def latest(self, channel: str, /, **params: Any) -> Any:
        """Newest value of a live subscription, without waiting (``None`` before the first message)."""
        return self._hub.latest(channel, **params)

    async def post(self, kind: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send an info request (``kind="info"``) or a signed action (``"action"``) over the WebSocket."""
        return await self._hub.post(kind, payload, timeout=timeout)

    @property
    def warm_status(self) -> WarmStatus:
        """State of the background warm-up (``pending``, ``ok``, ``partial`` or ``failed`` with reasons)."""
        return self.warmup.status

    async def start(self) -> None:
        """Start the background warmers on the running loop (returns at once).  Idempotent."""
        if not self._started and self.config.warm:
            self._started = True
            await self.warmup.astart()

    async def aclose(self) -> None:
        """Stop the warmers, close the WebSocket and the HTTP pool, flush storage.  Idempotent.

        Returns within :data:`CLOSE_TIMEOUT` whatever the network does (storage aside, as for
        :meth:`Client.close`).
        """
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_TIMEOUT
        await self.warmup.astop(timeout=CLOSE_TIMEOUT)
        await self.transport.aclose()
        if self._hub.opened:
            self._closing = loop.create_task(self._hub.aclose())
            await asyncio.wait({self._closing}, timeout=max(0.0, deadline - loop.time()))
        else:
            await self._hub.aclose()
        if self.storage is not None:
            await asyncio.to_thread(self.storage.close, STORAGE_CLOSE_TIMEOUT)

    async def __aenter__(self) -> AsyncClient:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
