"""The client's stream hubs: generated subscribe methods → the WebSocket runtime.

A hub turns a generated :class:`~hyperliquid_client.runtime.registry.ChannelSpec` into the runtime's
:class:`~hyperliquid_client.runtime.ws.ChannelInfo` (routing, user limits, de-duplication keys, the
recovery request and its page size, the stale threshold), opens the WebSocket client lazily on the
first subscription (creating a client never touches the network), wires gap recovery to the info API
as the channel's spec says (``recovery``), checks a subscription's coin against the market metadata
before its subscribe frame is sent, and decodes messages through the client's
:class:`~hyperliquid_client.runtime.drift.DriftMonitor`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hyperliquid_client.runtime.drift import DriftMonitor
from hyperliquid_client.runtime.errors import (
    InvalidInputError,
    InvalidResponseError,
    MetadataUnavailableError,
    WebSocketError,
)
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.loopbound import LoopBound
from hyperliquid_client.runtime.ratelimit import RateLimitConfig, WsLimits
from hyperliquid_client.runtime.registry import ChannelSpec
from hyperliquid_client.runtime.ws import ChannelInfo, Subscription, SyncSubscription, SyncWsClient, WsClient, WsConfig
from hyperliquid_client.runtime.ws.client import _none_for

if TYPE_CHECKING:
    from hyperliquid_client.runtime.markets import MetadataService

__all__ = ["AsyncStreamHub", "StreamHub", "channel_info", "coin_gate", "recovery_request", "recovered_items"]

_log = get_logger("hyperliquid_client.ws")
_WsT = TypeVar("_WsT", SyncWsClient, WsClient)

_INFOS: dict[str, ChannelInfo] = {}


def _dedup(fields: tuple[str, ...]) -> Callable[[Any], Hashable] | None:
    if not fields:
        return None

    def key(item: Any) -> Hashable:
        if isinstance(item, dict):
            return tuple(_get(item, f) for f in fields)
        return repr(item)

    if all("." not in f for f in fields):
        key.fields = fields  # type: ignore[attr-defined]  # plain keys: a hashable tuple of them is the identity
    return key


def _get(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if not isinstance(value, dict | list) else repr(value)


def _windowed(recovery: str) -> tuple[bool, int | None]:
    """Whether the info request ``recovery`` takes a time window, and the most items one answer holds."""
    from hyperliquid_client.generated.registry import ENDPOINTS

    endpoint = ENDPOINTS.get(f"info.{recovery}")
    if endpoint is None:
        return False, None
    return any(p.wire == "startTime" for p in endpoint.params), endpoint.max_items


def channel_info(spec: ChannelSpec) -> ChannelInfo:
    """The runtime description of ``spec`` (memoised)."""
    info = _INFOS.get(spec.wire)
    if info is None:
        windowed, limit = _windowed(spec.recovery) if spec.recovery else (False, None)
        info = ChannelInfo(
            type=spec.subscription_type,
            channels=spec.channels,
            route_fields=spec.route,
            user_param=spec.user_param,
            market_data=spec.market_data,
            snapshot=spec.snapshot,
            dedup_key=_dedup(spec.dedup),
            items_key=spec.items_key,
            time_key=spec.time_key,
            recovery=spec.recovery,
            recover_limit=limit,
            recover_windowed=windowed,
            stale_after=spec.stale_after,
            frame_field=spec.frame_field,
            state=spec.initial == "state",
        )
        _INFOS[spec.wire] = info
    return info


def recovery_request(
    spec: ChannelSpec, params: dict[str, Any], start_ms: int, end_ms: int | None = None
) -> dict[str, Any] | None:
    """The info request that fetches what ``spec`` may have missed from ``start_ms`` to ``end_ms`` (``None``: now);
    ``None`` when the channel has no recovery request."""
    user = params.get("user")
    if spec.recovery is None or user is None:
        return None
    body: dict[str, Any] = {"type": spec.recovery, "user": user}
    if _windowed(spec.recovery)[0]:
        body["startTime"] = max(start_ms, 0)
        if end_ms is not None:
            body["endTime"] = end_ms
    if spec.recovery == "userFillsByTime" and params.get("aggregateByTime") is not None:
        body["aggregateByTime"] = params["aggregateByTime"]
    return body


def recovered_items(spec: ChannelSpec, raw: Any) -> list[Any]:
    """Reshape the recovery answer into the channel's own item shape, in the answer's order (nothing filtered: the
    runtime needs the whole answer to page on).

    Raises :class:`~hyperliquid_client.runtime.errors.InvalidResponseError` when the answer is not a list.
    """
    if not isinstance(raw, list):
        raise InvalidResponseError("", "a list of items", raw, endpoint=f"info.{spec.recovery}")
    items: list[Any] = list(raw)
    if spec.recovery == "userFunding" and spec.wire == "userFundings":
        # info: {time, hash, delta: {type: funding, coin, usdc, ...}}; stream: {time, coin, usdc, ...}
        flat = []
        for row in items:
            if isinstance(row, dict) and isinstance(row.get("delta"), dict):
                entry = {k: v for k, v in row["delta"].items() if k != "type"}
                entry["time"] = row.get("time")
                flat.append(entry)
        items = flat
    return items


_COIN_EXPECTED = "a listed coin (see client.markets.market().coins())"


def coin_gate(params: dict[str, Any], markets: MetadataService | None) -> Callable[[], Awaitable[None]] | None:
    """Check the subscription's coin against the market metadata before its subscribe frame is sent.

    The real server answers a subscription to an unknown coin by closing the whole socket, taking
    every other subscription on it down.  A coin the cached metadata does not list raises
    :class:`InvalidInputError` here, before anything is sent.  When the metadata is not loaded yet
    the subscription is recorded at once (subscribing never waits on the network) and this returns
    the gate the WebSocket runtime awaits before sending: it loads the metadata (bounded by the
    metadata timeout) and refuses an unknown coin, which fails the subscription alone.  If the
    metadata cannot be loaded the frame is sent unchecked (with a warning); the runtime then still
    isolates a subscription the server refuses.
    """
    coin = params.get("coin")
    if markets is None or not isinstance(coin, str):
        return None
    known = markets.known_coin(coin)
    if known is False:
        raise InvalidInputError("coin", _COIN_EXPECTED, coin)
    if known:
        return None

    async def gate() -> None:
        try:
            # a sync client's metadata is fetched in a thread, never as a task of the socket's loop
            snap = await (markets.amarket(coin) if markets.is_async else asyncio.to_thread(markets.market, coin))
        except MetadataUnavailableError as exc:
            log(_log, 30, "coin not validated: metadata unavailable", coin=coin, error=str(exc))
            return
        if coin not in snap:
            raise InvalidInputError("coin", _COIN_EXPECTED, coin)

    return gate


def storing_decoder(
    spec: ChannelSpec, params: dict[str, Any], decode: Callable[[Any], Any] | None, storage: Any
) -> Callable[[Any], Any]:
    """``decode`` that first hands the raw message to ``storage`` (a StorageWriter), through a feed of
    its own that never waits: the socket's reader is never held up by the database."""
    if spec.storage is None:
        raise InvalidInputError("store", f"a channel with storable data ({spec.wire} has none)", True)
    if storage is None:
        raise InvalidInputError("store", "a client configured with storage (ClientConfig(storage=...))", True)
    return _Storing(spec.wire, params.get("user"), storage.feed(f"{spec.wire} {params}"), decode)


class _Storing:
    """A decoder that hands each raw message to a storage feed first.  ``at_arrival``: it runs as each message
    arrives, never later (a stream does not keep its messages as unread text for it: a row waits in the writer,
    counted and flushed, not in a subscriber's buffer)."""

    __slots__ = ("decode", "feed", "user", "wire")
    at_arrival = True

    def __init__(self, wire: str, user: Any, feed: Any, decode: Callable[[Any], Any] | None) -> None:
        self.wire, self.user, self.feed, self.decode = wire, user, feed, decode

    def __call__(self, raw: Any) -> Any:
        self.feed.submit_ws(self.wire, raw, user=self.user)
        return raw if self.decode is None else self.decode(raw)


def subscribe_options(
    spec: ChannelSpec,
    subscription: dict[str, Any],
    decode: Callable[[Any], Any] | None,
    store: bool,
    storage: Any,
    markets: MetadataService | None,
    drift: DriftMonitor,
) -> dict[str, Any]:
    """What both hubs hand to the WebSocket client's ``subscribe``: channel, params, decoder (watched for drift,
    storing first when ``store``) and the coin gate."""
    params = {k: v for k, v in subscription.items() if k != "type"}
    gate = coin_gate(params, markets)
    if decode is not None:  # (None: the raw data, as sent)
        decode = drift.decoder(spec.qualified_name, decode)
    if store:
        decode = storing_decoder(spec, params, decode, storage)
    return {"channel": channel_info(spec), "params": params, "decode": decode, "gate": gate}


class _Hub(Generic[_WsT]):
    """What both hubs hold: the URLs, the settings a socket is opened with, its clients by URL, how missed items
    are fetched over HTTP, and the reads of live values."""

    def __init__(
        self,
        ws_url: str,
        explorer_ws_url: str | None,
        config: WsConfig | None,
        events: EventBus | None,
        fetch_info: Callable[[dict[str, Any]], Any] | None,
        storage: Any,
        markets: MetadataService | None,
        rate: RateLimitConfig | None,
        drift: DriftMonitor | None,
    ) -> None:
        self.markets = markets
        self.rate = rate
        self.drift = drift if drift is not None else DriftMonitor(events)
        self.storage = storage
        self.ws_url = ws_url
        self.explorer_ws_url = explorer_ws_url or ws_url
        self.config = config
        self.events = events
        self._fetch_info = fetch_info
        self._clients: dict[str, _WsT] = {}
        self._closed = False
        #: why it is closed, as a refused subscription says it
        self.closed_why = "the client is closed"

    async def _fetch(self, body: dict[str, Any]) -> Any:
        """``fetch_info(body)``, awaited without blocking the socket's loop."""
        raise NotImplementedError

    async def _recover(self, info: ChannelInfo, params: dict[str, Any], start: int, end: int | None) -> list[Any]:
        from hyperliquid_client.generated.registry import CHANNELS

        spec = CHANNELS[info.type]
        body = recovery_request(spec, params, start, end)
        if body is None or self._fetch_info is None:
            return []
        return recovered_items(spec, await self._fetch(body))

    def latest(self, channel: str, /, **params: Any) -> Any:
        """Newest value of a live subscription (``"l2Book"``, ``"bbo"``, ``"allMids"`` ...), or ``None``."""
        ws = self._clients.get(self.ws_url)
        return _none_for(channel, params) if ws is None else ws.latest(channel, **params)

    def fresh_raw(self, channel: str, max_age: float, /, **params: Any) -> Any:
        """Raw data of a live subscription at most ``max_age`` seconds old, or ``None``."""
        ws = self._clients.get(self.ws_url)
        return _none_for(channel, params) if ws is None else ws.fresh_raw(channel, max_age, **params)

    @property
    def opened(self) -> bool:
        """Whether a WebSocket client was created."""
        return bool(self._clients)


class StreamHub(_Hub[SyncWsClient]):
    """The synchronous hub behind ``client.streams`` (a :class:`~hyperliquid_client.runtime.hub.SyncHub`)."""

    def __init__(
        self,
        ws_url: str,
        *,
        explorer_ws_url: str | None = None,
        config: WsConfig | None = None,
        events: EventBus | None = None,
        fetch_info: Callable[[dict[str, Any]], Any] | None = None,
        storage: Any = None,
        markets: MetadataService | None = None,
        rate: RateLimitConfig | None = None,
        drift: DriftMonitor | None = None,
    ) -> None:
        super().__init__(ws_url, explorer_ws_url, config, events, fetch_info, storage, markets, rate, drift)
        self._lock = threading.Lock()

    async def _fetch(self, body: dict[str, Any]) -> Any:
        assert self._fetch_info is not None
        return await asyncio.to_thread(self._fetch_info, body)

    def client(self, explorer: bool = False) -> SyncWsClient:
        """The WebSocket client (opened on first use)."""
        url = self.explorer_ws_url if explorer else self.ws_url
        with self._lock:
            if self._closed:
                raise WebSocketError(f"{self.closed_why}: no new subscriptions or socket requests")
            ws = self._clients.get(url)
            if ws is None:
                limits = WsLimits(self.rate, events=self.events)
                ws = SyncWsClient(url, config=self.config, events=self.events, recover=self._recover, limits=limits)
                self._clients[url] = ws
            return ws

    def subscribe(
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any] | None,
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> SyncSubscription[Any]:
        """Record the subscription and return its stream (see :class:`~.SyncSubscription`)."""
        options = subscribe_options(channel, subscription, decode, store, self.storage, self.markets, self.drift)
        return self.client(channel.explorer).subscribe(
            **options, callback=callback, buffer_size=buffer_size, overflow=overflow
        )

    def post(self, kind: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send an info or action request over the socket (``kind`` is ``"info"`` or ``"action"``)."""
        return self.client().post(kind, payload, timeout=timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        """Close every WebSocket client."""
        with self._lock:
            self._closed = True
            clients, self._clients = list(self._clients.values()), {}
        for ws in clients:
            ws.close()


class AsyncStreamHub(_Hub[WsClient]):
    """The asynchronous hub behind ``async_client.streams`` (an :class:`~hyperliquid_client.runtime.hub.AsyncHub`)."""

    def __init__(
        self,
        ws_url: str,
        *,
        explorer_ws_url: str | None = None,
        config: WsConfig | None = None,
        events: EventBus | None = None,
        fetch_info: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
        storage: Any = None,
        markets: MetadataService | None = None,
        rate: RateLimitConfig | None = None,
        drift: DriftMonitor | None = None,
        bound: LoopBound | None = None,
    ) -> None:
        super().__init__(ws_url, explorer_ws_url, config, events, fetch_info, storage, markets, rate, drift)
        #: the event loop its sockets belong to (its client's): the first one used
        self.bound = bound if bound is not None else LoopBound("AsyncStreamHub")

    async def _fetch(self, body: dict[str, Any]) -> Any:
        assert self._fetch_info is not None
        return await self._fetch_info(body)

    def client(self, explorer: bool = False) -> WsClient:
        """The WebSocket client (created on first use; it connects in the background)."""
        url = self.explorer_ws_url if explorer else self.ws_url
        if self._closed:
            raise WebSocketError(f"{self.closed_why}: no new subscriptions or socket requests")
        ws = self._clients.get(url)
        if ws is None:
            limits = WsLimits(self.rate, events=self.events)
            ws = WsClient(url, config=self.config, events=self.events, recover=self._recover, limits=limits)
            self._clients[url] = ws
        return ws

    async def subscribe(
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any] | None,
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> Subscription[Any]:
        """Record the subscription and return its stream (see :class:`~hyperliquid_client.runtime.ws.Subscription`)."""
        self.bound.check()
        options = subscribe_options(channel, subscription, decode, store, self.storage, self.markets, self.drift)
        return await self.client(channel.explorer).subscribe(
            **options, callback=callback, buffer_size=buffer_size, overflow=overflow
        )

    async def post(self, kind: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send an info or action request over the socket (``kind`` is ``"info"`` or ``"action"``)."""
        self.bound.check()
        return await self.client().post(kind, payload, timeout=timeout)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        """Close every WebSocket client (from the loop they belong to; see :meth:`abandon` otherwise)."""
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        for ws in clients:
            await ws.close()

    def abandon(self) -> None:
        """Close without touching the sockets: their event loop has stopped, so nothing of them can run any more
        (the garbage collector releases them)."""
        self._closed = True
        self._clients = {}
