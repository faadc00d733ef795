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
import contextlib
import dataclasses
import importlib
import inspect
import os
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

from hyperliquid_client.generated.registry import ENDPOINTS, REGISTRY, SURCHARGES
from hyperliquid_client.generated.streams import Streams
from hyperliquid_client.runtime.cache import CacheConfig, TTLCache, Warmer, WarmStatus, WarmupManager
from hyperliquid_client.runtime.config import Network, check_number, resolve_network
from hyperliquid_client.runtime.drift import DriftMode, DriftMonitor
from hyperliquid_client.runtime.errors import ConfigError, InvalidInputError, RateLimitedError, hide_password, shown
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.http_caller import AsyncHttpCaller, HttpCaller
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.loopbound import LoopBound
from hyperliquid_client.runtime.markets import ALL_MIDS_BODY, MetadataService
from hyperliquid_client.runtime.ratelimit import RateLimitConfig, RateLimiter, Request, background
from hyperliquid_client.runtime.ratelimit.limiter import RedisNonceSource
from hyperliquid_client.runtime.record import frozen
from hyperliquid_client.runtime.registry import EndpointSpec, Registry
from hyperliquid_client.runtime.signing.nonces import DEFAULT_NONCES, NonceManager
from hyperliquid_client.runtime.streaming import AsyncStreamHub, StreamHub
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport, TransportConfig, refuse_closed
from hyperliquid_client.runtime.ws import WsConfig

if TYPE_CHECKING:  # imported when first used: storage (most clients never are), exchange (read-only ones never),
    # the info, explorer and stats APIs (with the models of their answers)
    from hyperliquid_client.generated.explorer import AsyncExplorerAPI, ExplorerAPI
    from hyperliquid_client.generated.info import AsyncInfoAPI, InfoAPI
    from hyperliquid_client.generated.stats import AsyncStatsAPI, StatsAPI
    from hyperliquid_client.runtime.exchange import AsyncExchange, Exchange
    from hyperliquid_client.runtime.exchange._core import VerifyMode
    from hyperliquid_client.runtime.signing import Wallet
    from hyperliquid_client.runtime.storage import StorageConfig, StorageWriter

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


def _check_verify_mode(value: Any) -> None:
    if not isinstance(value, bool) and value != "once":
        raise ConfigError("verify_signatures", f"expected True, False or 'once', got {shown(value)}")


@frozen
class ClientConfig:
    """Everything configurable about a client; every part has a sensible default.

    ``warm``: start background warmers for metadata and mids at creation (never blocking).
    ``metadata_timeout``: how long a call that needs metadata before warm-up waits for it.
    ``metadata_dexes``: builder perp dexes to load (``"all"`` or a list of names).
    ``signing_backend``: ``"auto"``, ``"native"`` or ``"eth-account"``.
    ``verify_signatures``: check fresh signatures before sending: ``"once"`` (the default) recovers the signer
    of the first action of each kind per wallet and checks every body survives JSON unchanged; ``True`` recovers
    every one (three signatures' worth of work each); ``False`` checks nothing.
    ``storage``: persist storable data (fills, order updates, trades, funding, ledger, candles)
    from info responses, and from subscriptions made with ``store=True``; off when ``None``.
    ``rate``: the rate-limit budget, backoff, allowances, batching, circuit breaker and WebSocket
    limits (``docs/rate-limits.md``).  ``warm_idle_after``: after the first warm-up the warmers
    refresh only while the client is in use — until nothing but them has called the API for that
    many seconds — and resume with the next call (``None``: always refresh).
    ``drift``: what an answer that drifted from the spec does (``schema.drift`` events): ``"warn"``
    reports it and delivers what can be read, ``"strict"`` also refuses unknown enum values and
    variants, ``"ignore"`` reports nothing (see :mod:`hyperliquid_client.runtime.drift`).
    ``auto_cloid``: give every new order (``order``, ``bulk_orders``, ``market_open``, ``modify``, ...) that has
    no ``cloid`` a random one, so that :meth:`~hyperliquid_client.runtime.exchange.Exchange.resolve_indeterminate`
    can look any order up after an ``IndeterminateError``.  Off by default: an order then carries exactly what was
    given, signed as the official SDK signs it.
    """

    transport: TransportConfig = dataclasses.field(default_factory=TransportConfig)
    cache: CacheConfig = dataclasses.field(default_factory=CacheConfig)
    ws: WsConfig = dataclasses.field(default_factory=WsConfig)
    warm: bool = True
    warm_mids: bool = True
    metadata_timeout: float = 5.0
    metadata_dexes: tuple[str, ...] | str = "all"
    signing_backend: str | None = None
    verify_signatures: VerifyMode = "once"
    storage: StorageConfig | None = None
    rate: RateLimitConfig = dataclasses.field(default_factory=RateLimitConfig)
    warm_idle_after: float | None = 60.0
    drift: DriftMode = "warn"
    auto_cloid: bool = False

    def __post_init__(self) -> None:
        """Every setting checked here, when the config is made (:class:`ConfigError` naming it)."""
        from hyperliquid_client.runtime.drift import DRIFT_MODES

        for name, kind in (("transport", TransportConfig), ("cache", CacheConfig), ("ws", WsConfig),
                           ("rate", RateLimitConfig)):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise ConfigError(name, f"expected a {kind.__name__}, got {type(value).__name__}")  # (by type: a dsn)
        if self.storage is not None:
            from hyperliquid_client.runtime.storage import StorageConfig

            if not isinstance(self.storage, StorageConfig):
                raise ConfigError("storage", f"expected None or a StorageConfig, got {type(self.storage).__name__}")
        for name in ("warm", "warm_mids", "auto_cloid"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, f"expected True or False, got {shown(getattr(self, name))}")
        check_number("metadata_timeout", self.metadata_timeout)
        check_number("warm_idle_after", self.warm_idle_after, zero=True, none=True)
        dexes = self.metadata_dexes
        if dexes != "all":
            if (
                isinstance(dexes, str)
                or not isinstance(dexes, list | tuple)
                or not all(isinstance(d, str) and d for d in dexes)
            ):
                raise ConfigError("metadata_dexes", f"expected 'all' or a list of dex names, got {shown(dexes)}")
            object.__setattr__(self, "metadata_dexes", tuple(dexes))  # (a list: held as a tuple, hashable)
        if self.signing_backend is not None:  # (the backends module, and msgpack, only for a config naming one)
            from hyperliquid_client.runtime.signing.backends import BACKEND_NAMES, backend_name

            if backend_name(self.signing_backend) is None:
                raise ConfigError(
                    "signing_backend",
                    f"expected None or one of {', '.join(BACKEND_NAMES)}, got {shown(self.signing_backend)}",
                )
        _check_verify_mode(self.verify_signatures)
        if self.drift not in DRIFT_MODES:
            raise ConfigError("drift", f"expected one of {', '.join(DRIFT_MODES)}, got {shown(self.drift)}")


def _to_wallet(value: Wallet | str | None) -> Wallet | None:
    """The ``wallet`` argument as a :class:`Wallet` (error reporters record frames' locals: converted
    first thing in a constructor, the key is held as text by no frame of the library)."""
    if value is None:
        return None
    from hyperliquid_client.runtime.signing.wallet import Wallet  # (a client without a wallet never loads signing)

    if isinstance(value, Wallet):
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


def _api(module: str, name: str, caller: Any, life: _Life | None = None) -> Any:
    """An API object of the generated ``module`` (imported now: a client that never calls it never loads it),
    holding the client's ``life`` (the client's resources stay open while it is in use)."""
    return getattr(importlib.import_module(f"hyperliquid_client.generated.{module}"), name)(caller, life)


class _Life:
    """What a :class:`Client`'s finalizer watches: held by the client and by its ``info``, ``explorer``, ``stats``
    and ``exchange`` objects, never by the client's threads, and holding nothing back — so
    ``Client(...).info.all_mids()`` keeps the client's transport open for the call, and a dropped client (with
    whatever it handed out) is closed by reference counting alone, without waiting for the garbage collector."""

    __slots__ = ("__weakref__",)


def _ws_mids(hub: StreamHub | AsyncStreamHub, markets: MetadataService, body: Mapping[str, Any]) -> Any:
    """The main dex's mids from a live ``allMids`` subscription (no weight spent), else ``None``."""
    if dict(body) != ALL_MIDS_BODY:
        return None
    data = hub.fresh_raw("allMids", markets.mids_ttl)
    mids = data.get("mids") if isinstance(data, Mapping) else None
    return dict(mids) if isinstance(mids, Mapping) else None


class _FetchInfo:
    """The sync client's ``fetch_info`` (metadata, warmers, stream recovery): it reaches the caller and the hub,
    never the client, so neither the threads calling it nor the tracebacks of its failures keep a client alive."""

    __slots__ = ("caller", "hub", "markets")

    def __init__(self, caller: HttpCaller) -> None:
        self.caller = caller
        self.hub: StreamHub | None = None
        self.markets: MetadataService | None = None

    def __call__(self, body: Mapping[str, Any]) -> Any:
        if self.hub is not None and self.markets is not None:
            mids = _ws_mids(self.hub, self.markets, body)
            if mids is not None:
                return mids
        return self.caller.raw(_Base._info_endpoint(body), dict(body))


#: why a client closed by its finalizer refuses what is asked of it afterwards
_COLLECTED = (
    "the client was garbage-collected without close(): nothing held it or its info, explorer, stats or exchange "
    "(keep it, e.g. `with Client(...) as client:`)"
)


def _collect_unclosed(
    name: str,
    warmup: WarmupManager,
    hub: StreamHub,
    transport: HttpTransport,
    storage: StorageWriter | None,
    rate: RateLimiter,
) -> None:
    """Finalizer of a :class:`Client` that was never closed: stop its threads, close its sockets."""
    warnings.warn(f"unclosed {name}: call close() or use `with Client(...)`", ResourceWarning, stacklevel=1)
    hub.closed_why = transport.closed_why = _COLLECTED
    warmup.stop(timeout=0)
    transport.close()
    _close_hub(hub, CLOSE_TIMEOUT)
    warmup.stop(timeout=CLOSE_TIMEOUT)
    rate.close()
    if storage is not None:
        storage.close(timeout=STORAGE_CLOSE_TIMEOUT)


def _weakly_bool(method: Callable[[], bool]) -> Callable[[], bool]:
    """``method`` (bound) called through a weak reference to its object (False once it is gone)."""
    ref = weakref.WeakMethod(method)

    def call() -> bool:
        target = ref()
        return False if target is None else target()

    return call


def _is_429(exc: BaseException) -> bool:
    return isinstance(exc, RateLimitedError) and not exc.local


def _in_background(warmer: Warmer, active: Callable[[], bool]) -> Warmer:
    """``warmer`` whose requests count as background work, refreshing only while ``active()``."""
    fetch = warmer.fetch
    run: Callable[[], Any]
    if inspect.iscoroutinefunction(fetch):

        async def run_async() -> Any:
            with background():
                return await fetch()

        run = run_async
    else:

        def run_sync() -> Any:
            with background():
                return fetch()

        run = run_sync
    return Warmer(
        warmer.name,
        run,
        key=warmer.key,
        interval=warmer.interval,
        ttl=warmer.ttl,
        timeout=warmer.timeout,
        validate=warmer.validate,
        active=active,
    )


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
        if events is not None and not isinstance(events, EventBus):
            raise ConfigError("events", f"expected an EventBus, got {type(events).__name__}")
        self.events = events if events is not None else EventBus()
        self.wallet = _to_wallet(wallet)
        self.drift = DriftMonitor(self.events, self.config.drift)
        try:  # refused here, not when the exchange side is first used
            for name, value in (("account_address", account_address), ("vault_address", vault_address)):
                if value:
                    from hyperliquid_client.runtime.signing.wallet import normalize_address

                    normalize_address(value, name)
        except InvalidInputError as exc:
            raise ConfigError(exc.field, exc.message) from None
        self.account_address = account_address.lower() if account_address else None
        self.vault_address = vault_address.lower() if vault_address else None
        self.cache = TTLCache(self.config.cache, events=self.events)
        #: nonces are per signer and process-wide, so several clients of one wallet never reuse one
        self.nonces: NonceManager = DEFAULT_NONCES
        #: the rate-limit budget, backoff, allowances and circuit breakers (``docs/rate-limits.md``)
        self.rate = RateLimiter(
            self.config.rate,
            api_url=self.network.http_url,
            events=self.events,
            surcharges=SURCHARGES,
        )
        self._nonce_source: RedisNonceSource | None = None
        if self.rate.store is not None and self.config.rate.redis_nonces:
            # the process-wide manager takes its nonces from Redis (what it handed out so far stays the floor)
            self._nonce_source = RedisNonceSource(self.rate.store, self.nonces.source)
            self.nonces.source = self._nonce_source
        self._exchange: Any = None
        self.storage: StorageWriter | None = None
        if self.config.storage is not None:
            from hyperliquid_client.runtime.storage import open_storage

            self.storage = open_storage(self.config.storage, events=self.events)

    def _metadata(self, fetch_info: Callable[[Mapping[str, Any]], Any]) -> MetadataService:
        return MetadataService(
            self.cache,
            fetch_info,
            timeout=self.config.metadata_timeout,
            dexes="all" if self.config.metadata_dexes == "all" else tuple(self.config.metadata_dexes),
        )

    def _hub_options(self, fetch_info: Callable[[dict[str, Any]], Any], markets: MetadataService) -> dict[str, Any]:
        return {
            "markets": markets,
            "explorer_ws_url": self.network.explorer_ws_url,
            "config": self.config.ws,
            "events": self.events,
            "fetch_info": fetch_info,
            "storage": self.storage,
            "rate": self.config.rate,
            "drift": self.drift,
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
            "limiter": self.rate,
            "drift": self.drift,
        }

    def _in_use(self) -> bool:
        idle_after = self.config.warm_idle_after
        return idle_after is None or self.rate.idle_for < idle_after

    def _warmup(self, markets: MetadataService) -> WarmupManager:
        in_use = _weakly_bool(self._in_use)  # the warmer threads must not keep the client alive
        warmers = [_in_background(w, in_use) for w in markets.warmers(mids=self.config.warm_mids)]
        return WarmupManager(self.cache, warmers, events=self.events, name="warmup")

    markets: MetadataService

    def _ws_request(self, kind: str, payload: Mapping[str, Any], timeout: float | None) -> Request:
        if kind == "action":
            action = payload.get("action")
            wire = action.get("type") if isinstance(action, Mapping) else None
            endpoint = ENDPOINTS.get(f"exchange.{wire}")
            from hyperliquid_client.runtime.exchange._core import action_weight

            weight = action_weight(endpoint, action) if endpoint is not None and isinstance(action, Mapping) else 1
            return Request("exchange", f"exchange.{wire}", weight, self.network.ws_url, timeout or 10.0)
        info = ENDPOINTS.get(f"info.{payload.get('type')}")
        weight = info.weight if info is not None else 20
        return Request("info", f"info.{payload.get('type')}", weight, self.network.ws_url, timeout or 10.0)

    @staticmethod
    def _info_endpoint(body: Mapping[str, Any]) -> EndpointSpec:
        endpoint = ENDPOINTS.get(f"info.{body.get('type')}")
        if endpoint is None:
            raise ConfigError("fetch_info", f"unknown info type {body.get('type')!r}")
        return endpoint

    def _close_rate(self) -> None:
        if self._nonce_source is not None and self.nonces.source is self._nonce_source:
            self.nonces.source = self._nonce_source.mirror
        self.rate.close()

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
        return (
            f"{type(self).__name__}(network={network.name!r}, chain={network.chain_name!r}, "
            f"url={hide_password(network.http_url)!r}, wallet={who})"
        )


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
        self.transport = HttpTransport(self.config.transport, events=self.events, gate=self.rate)
        self.caller = HttpCaller(self.transport, self.network, cache=self.cache, storage=self.storage, drift=self.drift)
        # the warmer and socket threads never reach the client (only its caller and hub), so a forgotten client
        # is collected; once what it handed out is dropped too, its finalizer stops them (with a ResourceWarning,
        # like an unclosed file)
        fetch_info = _FetchInfo(self.caller)
        self.markets = fetch_info.markets = self._metadata(fetch_info)
        self._hub = fetch_info.hub = StreamHub(self.network.ws_url, **self._hub_options(fetch_info, self.markets))
        self.streams = Streams(self._hub)
        self.warmup = self._warmup(self.markets)
        if self.config.warm:
            self.warmup.start()
        self._closed = False
        self._life = _Life()
        self._finalizer = weakref.finalize(
            self._life, _collect_unclosed, repr(self), self.warmup, self._hub, self.transport, self.storage, self.rate
        )
        log(_log, 10, "client created", network=self.network.name, url=hide_password(self.network.http_url))

    @cached_property
    def info(self) -> InfoAPI:
        """The info endpoints (``client.info.l2_book("BTC")``), built on first use with the models they answer."""
        return _api("info", "InfoAPI", self.caller, self._life)

    @cached_property
    def explorer(self) -> ExplorerAPI:
        """The explorer endpoints, built on first use."""
        return _api("explorer", "ExplorerAPI", self.caller, self._life)

    @cached_property
    def stats(self) -> StatsAPI:
        """The stats endpoints, built on first use."""
        return _api("stats", "StatsAPI", self.caller, self._life)

    @property
    def exchange(self) -> Exchange:
        """Trading and account actions (``docs/exchange.md``), built on first use: a client that only reads
        never loads the exchange side."""
        exchange = self._exchange
        if exchange is None:
            from hyperliquid_client.runtime.exchange import ActionSender, Exchange

            sender = ActionSender(self.transport, self.network, **self._sender_options())
            exchange = self._exchange = Exchange(
                sender, markets=self.markets, info=self.info, events=self.events, auto_cloid=self.config.auto_cloid
            )
        return exchange

    def latest(self, channel: str, /, **params: Any) -> Any:
        """Newest value of a live subscription, without waiting (``None`` before the first message).

        ``client.latest("l2Book", coin="BTC")``, ``client.latest("bbo", coin="ETH")``,
        ``client.latest("allMids")`` — the subscription must be live (``client.streams.l2_book("BTC")``).
        """
        return self._hub.latest(channel, **params)

    def post(self, kind: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send an info request (``kind="info"``) or a signed action (``"action"``) over the WebSocket.

        Posts share the IP weight budget with HTTP requests (``docs/rate-limits.md``)."""
        ticket = self.rate.admit(self._ws_request(kind, payload, timeout), timeout or self.config.ws.post_timeout)
        try:
            value = self._hub.post(kind, payload, timeout=timeout)
        except Exception as exc:
            self.rate.settle(ticket, status=429 if _is_429(exc) else None, error=exc)
            raise
        self.rate.settle(ticket, status=200, value=value)
        return value

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
        self._close_rate()
        if self.storage is not None:
            self.storage.close(timeout=STORAGE_CLOSE_TIMEOUT)

    def __enter__(self) -> Client:
        if self._closed:  # (a closed client is not entered again: every call in the block would fail)
            refuse_closed(self.transport, "Client")
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
        #: the event loop this client belongs to: the one it is first used in (``docs/getting-started.md``)
        self._bound = LoopBound("AsyncClient")
        self.transport = AsyncHttpTransport(
            self.config.transport, events=self.events, gate=self.rate, bound=self._bound
        )
        self.caller = AsyncHttpCaller(
            self.transport, self.network, cache=self.cache, storage=self.storage, drift=self.drift
        )
        self.markets = self._metadata(self._fetch_info)
        self._hub = AsyncStreamHub(
            self.network.ws_url, **self._hub_options(self._fetch_info, self.markets), bound=self._bound
        )
        from hyperliquid_client.generated._async_streams import AsyncStreams  # (a sync program never loads it)

        self.streams = AsyncStreams(self._hub)
        self.warmup = self._warmup(self.markets)
        self._started = False
        self._closed = False
        self._closing: asyncio.Task[None] | None = None

    @cached_property
    def info(self) -> AsyncInfoAPI:
        """The info endpoints (``await client.info.l2_book("BTC")``), built on first use with the models they answer."""
        return _api("info", "AsyncInfoAPI", self.caller)

    @cached_property
    def explorer(self) -> AsyncExplorerAPI:
        """The explorer endpoints, built on first use."""
        return _api("explorer", "AsyncExplorerAPI", self.caller)

    @cached_property
    def stats(self) -> AsyncStatsAPI:
        """The stats endpoints, built on first use."""
        return _api("stats", "AsyncStatsAPI", self.caller)

    @property
    def exchange(self) -> AsyncExchange:
        """Trading and account actions (``docs/exchange.md``), built on first use: a client that only reads
        never loads the exchange side."""
        exchange = self._exchange
        if exchange is None:
            from hyperliquid_client.runtime.exchange import AsyncActionSender, AsyncExchange

            sender = AsyncActionSender(self.transport, self.network, **self._sender_options())
            exchange = self._exchange = AsyncExchange(
                sender, markets=self.markets, info=self.info, events=self.events, auto_cloid=self.config.auto_cloid
            )
        return exchange

    async def _fetch_info(self, body: Mapping[str, Any]) -> Any:
        mids = _ws_mids(self._hub, self.markets, body)
        if mids is not None:
            return mids
        return await self.caller.raw(self._info_endpoint(body), dict(body))

    def latest(self, channel: str, /, **params: Any) -> Any:
        """Newest value of a live subscription, without waiting (``None`` before the first message)."""
        return self._hub.latest(channel, **params)

    async def post(self, kind: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send an info request (``kind="info"``) or a signed action (``"action"``) over the WebSocket.

        Posts share the IP weight budget with HTTP requests (``docs/rate-limits.md``)."""
        request = self._ws_request(kind, payload, timeout)
        ticket = await self.rate.aadmit(request, timeout or self.config.ws.post_timeout)
        try:
            value = await self._hub.post(kind, payload, timeout=timeout)
        except Exception as exc:
            self.rate.settle(ticket, status=429 if _is_429(exc) else None, error=exc)
            raise
        self.rate.settle(ticket, status=200, value=value)
        return value

    @property
    def warm_status(self) -> WarmStatus:
        """State of the background warm-up (``pending``, ``ok``, ``partial`` or ``failed`` with reasons)."""
        return self.warmup.status

    async def start(self) -> None:
        """Start the background warmers on the running loop (returns at once).  Idempotent."""
        self._bound.check()
        if not self._started and self.config.warm:
            self._started = True
            await self.warmup.astart()

    async def aclose(self) -> None:
        """Stop the warmers, close the WebSocket and the HTTP pool, flush storage.  Idempotent.

        Returns within :data:`CLOSE_TIMEOUT` whatever the network does (storage aside, as for
        :meth:`Client.close`).  Called from another event loop than the client's own (see
        :class:`~hyperliquid_client.runtime.errors.EventLoopError`), it closes the client on its own loop
        when that loop still runs (in another thread), else releases what that stopped loop held without
        running any of it.
        """
        if self._closed:
            return
        bound = self._bound.loop
        if self._bound.foreign() and bound is not None:
            if bound.is_running():
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.aclose(), bound))
                return
            self._closed = True
            self.warmup.stop(timeout=0)
            self._hub.abandon()
            with contextlib.suppress(RuntimeError):  # its connections belong to the stopped loop ("is closed")
                await self.transport.aclose()
            self._close_rate()
            if self.storage is not None:
                await asyncio.to_thread(self.storage.close, STORAGE_CLOSE_TIMEOUT)
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
        self._close_rate()
        if self.storage is not None:
            await asyncio.to_thread(self.storage.close, STORAGE_CLOSE_TIMEOUT)

    async def close(self) -> None:
        """The same as :meth:`aclose` (``await client.close()``, as for a stream)."""
        await self.aclose()

    async def __aenter__(self) -> AsyncClient:
        if self._closed:
            refuse_closed(self.transport, "AsyncClient")
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
