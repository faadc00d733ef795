"""The asynchronous WebSocket client: connection pool, subscription registry, routing, recovery and posts.

Shape of the runtime (one event loop):

* :class:`WsClient` owns a registry ``SubscriptionKey -> _Upstream``.  An upstream is one server-side subscription,
  shared by every subscriber (``_Sink``) with the same key (reference counting).  The last subscriber leaving —
  :meth:`Subscription.cancel`, garbage collection of its handle, or death of the task iterating it — removes it.
* Each ``_Connection`` keeps the *desired* set of upstreams placed on it and reconciles the server towards it: a
  sender task sends subscribe / unsubscribe frames for keys whose desired and sent state differ, paced by a token
  bucket.  Nothing waits for the socket: ``subscribe`` only records, the sender catches up when connected (and after
  every reconnect, when everything is re-sent).
* The reader decodes each frame once, routes data by ``(channel, route values)`` to one upstream, which decodes
  once per distinct decoder and appends the same :class:`Message` to every subscriber's bounded buffer (a slow
  subscriber never slows the others).
* A pinger sends ``{"method":"ping"}`` every ``ping_interval``; when nothing arrives within ``dead_after`` of a ping
  the socket is aborted and replaced (half-open sockets).  Reconnects back off exponentially with jitter.
* User channels with a ``dedup_key`` are de-duplicated, and after a reconnect the ``recover`` callable fetches over
  HTTP what happened during the gap; unseen items are delivered as recovered messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hyperliquid_client.runtime.errors import (
    ApiRejectedError,
    IndeterminateError,
    InvalidInputError,
    RateLimitedError,
    SubscriptionLimitError,
    WebSocketError,
)
from hyperliquid_client.runtime.errors import TimeoutError as RequestTimeoutError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.ratelimit.ws import WsLimits
from hyperliquid_client.runtime.ws.channels import (
    ChannelInfo,
    SubscriptionKey,
    echo_matches,
    key_from_echo,
    make_key,
    make_router,
    route_of_params,
    validate_params,
)
from hyperliquid_client.runtime.ws.config import OVERFLOW_POLICIES, WsConfig
from hyperliquid_client.runtime.ws.messages import (
    BufferOverflowError,
    DecodeFailed,
    Gap,
    Interrupted,
    Message,
    Resumed,
    Stale,
    SubscriptionFailedError,
)
from hyperliquid_client.runtime.ws.subscription import Subscription, _Sink

__all__ = ["RecoverFn", "WsClient"]

T = TypeVar("T")

#: ``recover(channel, params, since_ms) -> items`` fetches a user channel's items since ``since_ms`` over HTTP.
RecoverFn = Callable[[ChannelInfo, dict[str, Any], int | None], Awaitable[list[Any]]]

_log = get_logger("hyperliquid_client.ws")
_PING = '{"method":"ping"}'
_GREETING = "Websocket connection established"


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Dead(Exception):
    """Nothing arrived within the deadline after a ping."""


class _TokenBucket:
    """Paces frames sent to the server (shared by all connections of a client)."""

    def __init__(self, rate: float, burst: int, limits: WsLimits) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.limits = limits

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                await self.limits.message()  # the server's messages-per-minute limit
                return
            await asyncio.sleep((1.0 - self.tokens) / self.rate)


class _Upstream:
    """One server-side subscription and its subscribers."""

    def __init__(
        self, client: WsClient, key: SubscriptionKey, channel: ChannelInfo, params: dict[str, Any], policy: str
    ) -> None:
        self.client = client
        self.key = key
        self.key_text = str(key)
        self.channel = channel
        self.params = params
        self.route = route_of_params(channel, params)
        self.user: str | None = (
            str(key.param(channel.user_param)) if channel.user_param and key.param(channel.user_param) else None
        )
        self.conn: _Connection | None = None
        self.sinks: dict[int, _Sink] = {}
        # one entry per distinct decoder; lists are replaced (never mutated) so delivery may iterate safely
        self.groups: tuple[tuple[Callable[[Any], Any] | None, tuple[_Sink, ...]], ...] = ()
        self.active = True
        self.live = False
        self.ever_live = False
        self.interrupted_at: float | None = None
        self.last_data = time.monotonic()
        self.stale = False
        self.started_ms: int | None = None
        self.latest_raw: Any = None
        self.latest: Any = None
        self.seen: OrderedDict[Any, None] | None = OrderedDict() if channel.dedup_key is not None else None
        self.last_item_time: int | None = None
        self.duplicates = 0
        self.recovery: asyncio.Task[None] | None = None
        self.sent_at = 0.0
        self.default_policy = policy

    def _regroup(self) -> None:
        groups: dict[int, tuple[Callable[[Any], Any] | None, list[_Sink]]] = {}
        for sink in self.sinks.values():
            groups.setdefault(id(sink.decode), (sink.decode, []))[1].append(sink)
        self.groups = tuple((dec, tuple(sinks)) for dec, sinks in groups.values())

    def add(self, sink: _Sink) -> None:
        self.sinks[sink.id] = sink
        self._regroup()

    def remove(self, sink: _Sink) -> None:
        if self.sinks.pop(sink.id, None) is not None:
            self._regroup()

    def broadcast(self, marker: Any) -> None:
        for sink in tuple(self.sinks.values()):
            sink.push_marker(marker)

    # -- de-duplication (user channels) -------------------------------------------------------------------------
    def _fresh(self, items: list[Any]) -> list[Any]:
        seen = self.seen
        assert seen is not None
        dedup = self.channel.dedup_key
        assert dedup is not None
        fresh = []
        for item in items:
            try:
                ident = dedup(item)
            except Exception:  # an item without its identity fields: deliver, cannot dedupe
                fresh.append(item)
                continue
            if ident in seen:
                continue
            seen[ident] = None
            fresh.append(item)
            t = self.channel.item_time(item)
            if t is not None and (self.last_item_time is None or t > self.last_item_time):
                self.last_item_time = t
        limit = self.client.config.dedup_window
        while len(seen) > limit:
            seen.popitem(last=False)
        return fresh

    # -- delivery (hot path) -----------------------------------------------------------------------------------
    def deliver(self, data: Any, channel: str, recovered: bool = False) -> list[tuple[_Sink, Any]] | None:
        """Queue ``data`` for every subscriber; returns ``(sink, item)`` pairs blocked by the ``block`` policy."""
        self.last_data = time.monotonic()
        if self.stale:
            self.stale = False
        if not self.live and not recovered and self.conn is not None and self.conn.connected_now:
            self.client._mark_live(self)  # data before (or without) an ack
        if self.seen is not None:
            items = self.channel.items_of(data)
            if items:
                fresh = self._fresh(items)
                if not fresh:
                    self.duplicates += 1
                    log(_log, 10, "duplicate message skipped", key=self.key_text, items=len(items))
                    return None
                if len(fresh) != len(items):
                    self.duplicates += 1
                    data = self.channel.with_items(data, fresh)
        if self.channel.market_data:
            self.latest_raw = data
        blocked: list[tuple[_Sink, Any]] | None = None
        for decode, sinks in self.groups:
            if decode is None:
                item: Any = Message(data, channel, recovered)
            else:
                try:
                    item = Message(decode(data), channel, recovered)
                except Exception as exc:
                    self.client._decode_failed(self, exc)
                    item = DecodeFailed(data, f"{type(exc).__name__}: {exc}")
            if self.channel.market_data and decode is self.groups[0][0] and isinstance(item, Message):
                self.latest = item.data
            for sink in sinks:
                if not sink.push(item):
                    if blocked is None:
                        blocked = []
                    blocked.append((sink, item))
        return blocked


class _PendingPost:
    __slots__ = ("future", "id", "kind", "sent")

    def __init__(self, pid: int, kind: str, future: asyncio.Future[Any]) -> None:
        self.id = pid
        self.kind = kind
        self.future = future
        self.sent = False


class _Connection:
    """One WebSocket connection: lifecycle, reader, pinger, sender (reconciliation) and pending posts."""

    def __init__(self, client: WsClient, cid: int) -> None:
        self.client = client
        self.id = cid
        self.cfg = client.config
        self.desired: dict[SubscriptionKey, _Upstream] = {}
        # data channel -> (route fields, router, route tuple -> upstream)
        self.routes: dict[
            str,
            tuple[tuple[tuple[str, str], ...], Callable[[Any], tuple[Any, ...]], dict[tuple[Any, ...], _Upstream]],
        ] = {}
        self.users: Counter[str] = Counter()
        self.sent: dict[SubscriptionKey, float] = {}
        self.dirty: dict[SubscriptionKey, None] = {}
        self.dirty_event = asyncio.Event()
        self.connected = asyncio.Event()
        self.connected_now = False
        self.ws: ClientConnection | None = None
        self.pending: dict[int, _PendingPost] = {}
        self.closing = False
        self.gave_up = False
        self.last_recv = time.monotonic()
        self.idle_handle: asyncio.TimerHandle | None = None
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"hyperliquid-ws-{cid}")

    # -- placement ---------------------------------------------------------------------------------------------
    def can_host(self, up: _Upstream) -> bool:
        if self.closing or self.gave_up:
            return False
        if len(self.desired) >= self.cfg.max_subscriptions_per_connection:
            return False
        if up.user is not None and up.user not in self.users and len(self.users) >= self.cfg.max_users_per_connection:
            return False
        for ch in up.channel.channels:
            entry = self.routes.get(ch)
            if entry is not None and (entry[0] != up.channel.route_fields or up.route in entry[2]):
                return False
        return True

    def add(self, up: _Upstream) -> None:
        up.conn = self
        self.desired[up.key] = up
        for ch in up.channel.channels:
            entry = self.routes.get(ch)
            if entry is None:
                entry = self.routes[ch] = (up.channel.route_fields, make_router(up.channel.route_fields), {})
            entry[2][up.route] = up
        if up.user is not None:
            self.users[up.user] += 1
        if self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None
        self.mark(up.key)

    def remove(self, up: _Upstream) -> None:
        if self.desired.get(up.key) is not up:
            return
        del self.desired[up.key]
        for ch in up.channel.channels:
            entry = self.routes.get(ch)
            if entry is not None and entry[2].get(up.route) is up:
                del entry[2][up.route]
                if not entry[2]:
                    del self.routes[ch]
        if up.user is not None:
            self.users[up.user] -= 1
            if self.users[up.user] <= 0:
                del self.users[up.user]
        self.mark(up.key)
        if not self.desired:
            self.client._connection_idle(self)

    def mark(self, key: SubscriptionKey) -> None:
        self.dirty[key] = None
        self.dirty_event.set()

    def match_echo(self, echo: SubscriptionKey) -> _Upstream | None:
        up = self.desired.get(echo)
        if up is not None:
            return up
        best: _Upstream | None = None
        for key, cand in self.desired.items():
            if (
                key.type == echo.type
                and echo_matches(key, echo)
                and (best is None or len(key.params) > len(best.key.params))
            ):
                best = cand
        return best

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def _backoff(self, failures: int) -> float:
        delay = min(self.cfg.reconnect_max, self.cfg.reconnect_base * (2 ** max(0, failures - 1)))
        return random.uniform(delay / 2, delay)

    async def _run(self) -> None:
        client = self.client
        url = client.url
        failures = 0
        attempt = 0
        try:
            while not self.closing:
                attempt += 1
                await client.limits.before_connect()  # new connections per minute (reconnects too)
                try:
                    ws = await connect(
                        url,
                        open_timeout=self.cfg.open_timeout,
                        ping_interval=None,
                        close_timeout=1.0,
                        max_size=self.cfg.max_message_size,
                        compression=None,
                    )
                except Exception as exc:  # OSError, TimeoutError, InvalidHandshake, InvalidURI, ...
                    failures += 1
                    reason = f"connect failed: {type(exc).__name__}: {exc}"
                    log(_log, 30, "websocket connect failed", connection=self.id, attempt=attempt, error=str(exc))
                    client._emit("ws.disconnect", url=url, connection=self.id, reason=reason, code=None)
                    if isinstance(exc, websockets.InvalidURI) or (
                        self.cfg.max_reconnect_attempts is not None and failures > self.cfg.max_reconnect_attempts
                    ):
                        self._give_up(reason)
                        return
                    delay = self._backoff(failures)
                    client._emit("ws.reconnect_scheduled", url=url, connection=self.id, delay=delay, attempt=attempt)
                    await asyncio.sleep(delay)
                    continue
                got_message = await self._serve(ws, attempt)
                if self.closing:
                    return
                failures = 1 if got_message else failures + 1
                if self.cfg.max_reconnect_attempts is not None and failures > self.cfg.max_reconnect_attempts:
                    self._give_up("connection keeps failing")
                    return
                delay = self._backoff(failures)
                client._emit("ws.reconnect_scheduled", url=url, connection=self.id, delay=delay, attempt=attempt)
                await asyncio.sleep(delay)
        finally:
            self.connected.clear()
            self.connected_now = False
            self._fail_posts("connection closed")

    async def _serve(self, ws: ClientConnection, attempt: int) -> bool:
        """Run one socket until it ends; returns whether anything was received on it."""
        client = self.client
        self.ws = ws
        self.sent.clear()
        self.last_recv = time.monotonic()
        start_recv = self.last_recv
        for key in self.desired:
            self.dirty[key] = None
        self.dirty_event.set()
        self.connected_now = True
        self.connected.set()
        log(_log, 20, "websocket connected", connection=self.id, attempt=attempt)
        client._emit("ws.connect", url=client.url, connection=self.id, attempt=attempt)
        tasks = [
            asyncio.create_task(self._reader(ws)),
            asyncio.create_task(self._pinger(ws)),
            asyncio.create_task(self._sender(ws)),
        ]
        reason = "closed"
        code: int | None = None
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                exc = t.exception()
                if isinstance(exc, _Dead):
                    reason = str(exc)
                    code = None
                    break
                if isinstance(exc, ConnectionClosed):
                    rcvd, sent = exc.rcvd, exc.sent
                    if rcvd is not None:
                        code = rcvd.code
                        reason = f"closed by peer (code {code}{': ' + rcvd.reason if rcvd.reason else ''})"
                    elif sent is not None:
                        code = sent.code
                        reason = f"closed by client (code {code}{': ' + sent.reason if sent.reason else ''})"
                    else:
                        code = 1006
                        reason = "connection lost (code 1006)"
                elif exc is not None:
                    reason = f"{type(exc).__name__}: {exc}"
                    log(_log, 40, "websocket task failed", connection=self.id, error=reason)
                else:
                    code = ws.close_code if ws.close_code is not None else 1006
                    reason = f"closed (code {code})"
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.connected.clear()
            self.connected_now = False
            self.ws = None
            if self.closing:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
            if ws.transport is not None:
                ws.transport.abort()
            self._on_disconnect(reason, code)
        return self.last_recv > start_recv

    def _on_disconnect(self, reason: str, code: int | None) -> None:
        client = self.client
        log(_log, 30 if not self.closing else 20, "websocket disconnected", connection=self.id, reason=reason)
        client._emit("ws.disconnect", url=client.url, connection=self.id, reason=reason, code=code)
        self.sent.clear()
        self._fail_posts(f"connection lost: {reason}")
        if self.closing:
            return
        now = time.monotonic()
        for up in tuple(self.desired.values()):
            if up.live:
                up.live = False
                if up.interrupted_at is None:
                    up.interrupted_at = now
                    up.broadcast(Interrupted(reason))
                    client._emit("ws.interrupted", key=up.key_text)

    def _give_up(self, reason: str) -> None:
        self.gave_up = True
        log(_log, 40, "websocket connection gave up", connection=self.id, reason=reason)
        self._fail_posts(reason)
        error = SubscriptionFailedError(f"websocket connection gave up: {reason}")
        for up in tuple(self.desired.values()):
            self.client._fail_upstream(up, error)
        self.client._forget_connection(self)

    def _fail_posts(self, reason: str) -> None:
        for pending in tuple(self.pending.values()):
            if not pending.future.done():
                pending.future.set_exception(WebSocketError(reason, request_sent=pending.sent))
        self.pending.clear()

    async def close(self) -> None:
        self.closing = True
        if self.idle_handle is not None:
            self.idle_handle.cancel()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    # -- the three socket tasks -------------------------------------------------------------------------------
    async def _reader(self, ws: ClientConnection) -> None:
        on_frame = self.client._on_frame
        async for raw in ws:
            self.last_recv = time.monotonic()
            blocked = on_frame(self, raw)
            if blocked:
                for sink, item in blocked:
                    while not sink.closed:
                        await sink.wait_space()
                        if sink.push(item):
                            break

    async def _pinger(self, ws: ClientConnection) -> None:
        interval = self.cfg.ping_interval
        deadline = self.cfg.dead_after
        while True:
            await asyncio.sleep(interval)
            sent_at = time.monotonic()
            await ws.send(_PING)
            self.client.limits.sent()
            await asyncio.sleep(deadline)
            if self.last_recv < sent_at:
                raise _Dead(f"no data within {deadline:g}s of a ping (half-open connection)")

    async def _sender(self, ws: ClientConnection) -> None:
        bucket = self.client._bucket
        emit = self.client._emit
        while True:
            await self.dirty_event.wait()
            self.dirty_event.clear()
            while self.dirty:
                key = next(iter(self.dirty))
                del self.dirty[key]
                if (key in self.desired) == (key in self.sent):
                    continue
                await bucket.acquire()
                up = self.desired.get(key)
                if up is not None and key not in self.sent:
                    self.sent[key] = time.monotonic()
                    up.sent_at = self.sent[key]
                    await ws.send(json.dumps({"method": "subscribe", "subscription": key.subscription}))
                    emit("ws.subscribe", connection=self.id, key=up.key_text)
                elif up is None and key in self.sent:
                    del self.sent[key]
                    await ws.send(json.dumps({"method": "unsubscribe", "subscription": key.subscription}))
                    emit("ws.unsubscribe", connection=self.id, key=str(key))

    async def resubscribe(self, key: SubscriptionKey) -> None:
        """Unsubscribe and subscribe ``key`` again (stale streams)."""
        ws = self.ws
        if ws is None or key not in self.sent:
            return
        await self.client._bucket.acquire()
        if self.ws is not ws or key not in self.sent:
            return
        del self.sent[key]
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"method": "unsubscribe", "subscription": key.subscription}))
        self.mark(key)


class WsClient:
    """Asynchronous WebSocket client (see the module docstring and ``docs/websocket.md``).

    ``url``: the WebSocket URL (``Network.ws_url``).  ``events``: bus for ``ws.*`` events.  ``recover``: called
    after a reconnect for each live user subscription whose channel has a ``dedup_key``, as
    ``await recover(channel, params, since_ms)``, returning the channel's items (e.g. fills) since ``since_ms``.

    Create it inside a running event loop; nothing connects until the first subscription or post.
    """

    def __init__(
        self,
        url: str,
        *,
        config: WsConfig | None = None,
        events: EventBus | None = None,
        recover: RecoverFn | None = None,
        limits: WsLimits | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise InvalidInputError("url", "a ws:// or wss:// URL", url)
        if config is not None and not isinstance(config, WsConfig):
            raise InvalidInputError("config", "a WsConfig", type(config).__name__)
        if recover is not None and not callable(recover):
            raise InvalidInputError("recover", "an async callable", recover)
        self.url = url
        self.config = config or WsConfig()
        self.events = events if events is not None else EventBus()
        self._recover = recover
        self._registry: dict[SubscriptionKey, _Upstream] = {}
        self._conns: list[_Connection] = []
        self._conn_ids = itertools.count(1)
        self._sink_ids = itertools.count(1)
        self._post_ids = itertools.count(1)
        #: the server's per-IP limits, kept before it would close the socket
        self.limits = limits if limits is not None else WsLimits(events=self.events)
        self._bucket = _TokenBucket(self.config.resubscribe_rate, self.config.send_burst, self.limits)
        self._callback_subs: dict[int, Subscription[Any]] = {}
        self._sinks = 0
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stale_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # -- introspection -----------------------------------------------------------------------------------------
    def upstream_subscription_count(self) -> int:
        """Distinct subscriptions the client wants on the server (one per key, however many subscribers)."""
        return len(self._registry)

    def registry_size(self) -> int:
        """Live subscribers across all subscriptions."""
        return self._sinks

    def connection_count(self) -> int:
        """Open (or opening) connections."""
        return len(self._conns)

    def server_subscription_count(self) -> int:
        """Subscribe frames currently in effect on live sockets (sent and not unsubscribed)."""
        return sum(len(c.sent) for c in self._conns)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def _emit(self, name: str, /, **fields: Any) -> None:
        events = self.events
        if events.wants(name):
            events.emit(name, **fields)

    # -- subscribe ---------------------------------------------------------------------------------------------
    async def subscribe(
        self,
        channel: ChannelInfo,
        params: Mapping[str, Any],
        *,
        decode: Callable[[Any], T] | None = None,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
    ) -> Subscription[T]:
        """Subscribe to ``channel`` with ``params``; returns at once (the frame is sent when the socket is up).

        ``decode`` turns the raw channel data into ``T`` (once per message, shared by subscribers with the same
        decoder).  ``callback`` (sync or async) receives every item instead of iteration; it runs in its own task so
        a slow callback only fills its own buffer.  ``buffer_size`` / ``overflow`` override the configured policy.
        Raises :class:`InvalidInputError` for bad parameters and :class:`SubscriptionLimitError` when no
        connection may host the subscription — both before anything is sent.
        """
        self._check_open()
        clean = validate_params(channel, params)
        if decode is not None and not callable(decode):
            raise InvalidInputError("decode", "a callable", decode)
        if callback is not None and not callable(callback):
            raise InvalidInputError("callback", "a callable", callback)
        cfg = self.config
        default_size = cfg.buffer_size if channel.market_data else cfg.user_buffer_size
        size = buffer_size if buffer_size is not None else default_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidInputError("buffer_size", "a positive integer", buffer_size)
        policy = overflow if overflow is not None else (cfg.overflow if channel.market_data else cfg.user_overflow)
        if policy not in OVERFLOW_POLICIES:
            raise InvalidInputError("overflow", " | ".join(OVERFLOW_POLICIES), overflow)
        self._loop = asyncio.get_running_loop()
        key = make_key(channel.type, clean)
        up = self._registry.get(key)
        if up is None:
            up = _Upstream(self, key, channel, clean, policy)
            users = {u.user for u in self._registry.values() if u.user is not None}
            self.limits.check_subscription(len(self._registry), users, up.user)
            if (
                up.user is not None
                and cfg.max_users is not None
                and up.user not in users
                and len(users) >= cfg.max_users
            ):
                raise SubscriptionLimitError(f"at most {cfg.max_users} distinct users may be subscribed")
            conn = self._place(up)
            self._registry[key] = up
            conn.add(up)
        sink = _Sink(next(self._sink_ids), up, size, policy, decode, self._on_drop)
        up.add(sink)
        self._sinks += 1
        if up.ever_live and not up.live:
            sink.push_marker(Interrupted("stream currently interrupted"))
        sub: Subscription[T] = Subscription(self, sink, channel, key, dict(clean))
        if callback is not None:
            self._callback_subs[sink.id] = sub
            sink.callback_task = self._loop.create_task(self._run_callback(sink, callback))
        if cfg.stale_after is not None and self._stale_task is None:
            self._stale_task = self._loop.create_task(self._stale_loop())
        return sub

    def _place(self, up: _Upstream) -> _Connection:
        for conn in self._conns:
            if conn.can_host(up):
                return conn
        if len(self._conns) >= self.config.max_connections:
            raise SubscriptionLimitError(
                f"no connection can host {up.key_text}: {len(self._conns)} connections open "
                f"(max_connections={self.config.max_connections}, max_subscriptions_per_connection="
                f"{self.config.max_subscriptions_per_connection}, max_users_per_connection="
                f"{self.config.max_users_per_connection})"
            )
        return self._new_connection()

    def _new_connection(self) -> _Connection:
        conn = _Connection(self, next(self._conn_ids))
        self._conns.append(conn)
        return conn

    def _check_open(self) -> None:
        if self._closed:
            raise WebSocketError("the WebSocket client is closed")

    # -- release -----------------------------------------------------------------------------------------------
    def _release(self, sink: _Sink, error: BaseException | None = None) -> None:
        if sink.released:
            return
        sink.released = True
        sink.close(error)
        self._sinks -= 1
        self._unbind_task(sink)
        self._callback_subs.pop(sink.id, None)
        task = sink.callback_task
        if task is not None and task is not asyncio.current_task() and error is None:
            task.cancel()
        up = sink.upstream
        up.remove(sink)
        if not up.sinks:
            self._drop_upstream(up)

    def _release_threadsafe(self, sink: _Sink) -> None:
        """Release from a garbage-collector finalizer (any thread, any moment): defer to the loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or sink.released:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._release, sink)

    def _drop_upstream(self, up: _Upstream) -> None:
        up.active = False
        if self._registry.get(up.key) is up:
            del self._registry[up.key]
        if up.recovery is not None:
            up.recovery.cancel()
        if up.conn is not None:
            up.conn.remove(up)

    def _bind_task(self, sink: _Sink, task: asyncio.Task[Any]) -> None:
        def on_done(t: asyncio.Task[Any], sink: _Sink = sink) -> None:
            if t.cancelled() or t.exception() is not None:
                self._release(sink)

        sink.bound_task = task
        sink.bound_cb = on_done
        task.add_done_callback(on_done)

    def _unbind_task(self, sink: _Sink, forever: bool = False) -> None:
        task, cb = sink.bound_task, sink.bound_cb
        if task is not None and cb is not None:
            task.remove_done_callback(cb)
        sink.bound_task = None
        sink.bound_cb = (lambda t: None) if forever else None

    def _fail_upstream(self, up: _Upstream, error: BaseException) -> None:
        log(_log, 40, "subscription failed", key=up.key_text, error=str(error))
        self._emit("ws.subscription_failed", key=up.key_text, error=str(error))
        if isinstance(error, SubscriptionFailedError) and error.key is None:
            error.key = up.key_text
        for sink in tuple(up.sinks.values()):
            self._release(sink, error)
        self._drop_upstream(up)

    def _connection_idle(self, conn: _Connection) -> None:
        if self._closed or conn.closing or not self._conns or conn is self._conns[0]:
            return
        loop = asyncio.get_running_loop()
        if conn.idle_handle is not None:
            conn.idle_handle.cancel()
        conn.idle_handle = loop.call_later(self.config.idle_close_after, self._close_if_idle, conn)

    def _close_if_idle(self, conn: _Connection) -> None:
        conn.idle_handle = None
        if conn.desired or conn.pending or conn.closing or not self._conns or conn is self._conns[0]:
            return
        self._forget_connection(conn)
        self._spawn(conn.close())

    def _forget_connection(self, conn: _Connection) -> None:
        if conn in self._conns:
            self._conns.remove(conn)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- callbacks, drops, decode errors -----------------------------------------------------------------------
    async def _run_callback(self, sink: _Sink, callback: Callable[[Any], Any]) -> None:
        while True:
            try:
                item = await sink.get()
            except StopAsyncIteration:
                return
            except SubscriptionFailedError:
                return  # already logged and emitted as ws.subscription_failed
            try:
                result = callback(item)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log(_log, 40, "subscription callback raised", exc_info=exc, key=sink.upstream.key_text, error=repr(exc))
                self._emit("ws.error", connection=None, message=f"callback raised {exc!r}")

    def _on_drop(self, sink: _Sink, count: int) -> None:
        key = sink.upstream.key_text
        if count < 0:  # "error" policy overflow
            error = BufferOverflowError(
                f"subscriber fell {sink.size} messages behind (overflow policy 'error')", key=key
            )
            log(_log, 40, "subscriber buffer overflow", key=key, size=sink.size)
            self._emit("ws.drop", key=key, dropped=len(sink.buf), policy="error")
            self._release(sink, error)
            return
        log(_log, 30, "slow subscriber: messages dropped", key=key, dropped=count, policy=sink.policy)
        self._emit("ws.drop", key=key, dropped=count, policy=sink.policy)

    def _decode_failed(self, up: _Upstream, exc: Exception) -> None:
        log(_log, 40, "decoding a message failed", key=up.key_text, error=repr(exc))
        self._emit("ws.error", connection=up.conn.id if up.conn else None, message=f"decode failed: {exc!r}")

    # -- frames ------------------------------------------------------------------------------------------------
    def _on_frame(self, conn: _Connection, raw: str | bytes) -> list[tuple[_Sink, Any]] | None:
        try:
            msg = json.loads(raw)
        except ValueError:
            text = raw[:80] if isinstance(raw, str) else repr(raw[:80])
            if not (isinstance(raw, str) and raw.startswith(_GREETING)):
                log(_log, 30, "malformed frame ignored", connection=conn.id, frame=text)
                self._emit("ws.error", connection=conn.id, message=f"malformed frame: {text}")
            return None
        if not isinstance(msg, dict):
            log(_log, 30, "frame without envelope ignored", connection=conn.id)
            self._emit("ws.error", connection=conn.id, message="frame is not a JSON object")
            return None
        channel: Any = msg.get("channel")
        if self.events.wants("ws.message"):
            self.events.emit("ws.message", connection=conn.id, channel=channel, size=len(raw))
        entry = conn.routes.get(channel) if type(channel) is str else None
        if entry is not None:
            assert isinstance(channel, str)
            data = msg.get("data")
            table = entry[2]
            up = table.get(entry[1](data))
            if up is None:
                if len(table) == 1 and isinstance(data, list) and not data:
                    up = next(iter(table.values()))
                else:
                    log(_log, 10, "data for no subscription", connection=conn.id, channel=channel)
                    return None
            return up.deliver(data, channel)
        if channel == "pong":
            return None
        if channel == "subscriptionResponse":
            self._on_ack(conn, msg.get("data"))
        elif channel == "post":
            self._on_post_reply(conn, msg.get("data"))
        elif channel == "error":
            self._on_error(conn, msg.get("data"))
        else:
            log(_log, 10, "data for no subscription", connection=conn.id, channel=channel)
        return None

    def _on_ack(self, conn: _Connection, data: Any) -> None:
        if not isinstance(data, dict) or data.get("method") != "subscribe":
            return
        sub = data.get("subscription")
        echo = key_from_echo(sub) if isinstance(sub, dict) else None
        up = conn.match_echo(echo) if echo is not None else None
        if up is not None and up.key in conn.sent:
            self._mark_live(up)

    def _mark_live(self, up: _Upstream) -> None:
        if up.live or not up.active:
            return
        up.live = True
        up.last_data = time.monotonic()
        up.stale = False
        if up.started_ms is None:
            up.started_ms = _now_ms()
        if up.interrupted_at is not None:
            downtime = time.monotonic() - up.interrupted_at
            up.interrupted_at = None
            up.broadcast(Resumed(downtime))
            self._emit("ws.resumed", key=up.key_text)
            if (
                self._recover is not None
                and up.seen is not None
                and not up.channel.market_data
                and (up.recovery is None or up.recovery.done())
            ):
                loop = asyncio.get_running_loop()
                up.recovery = loop.create_task(self._recover_gap(up))
        up.ever_live = True

    def _on_error(self, conn: _Connection, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self._emit("ws.error", connection=conn.id, message=text[:500])
        if text.startswith("Already subscribed"):
            echo = self._echo_in(text)
            up = conn.match_echo(echo) if echo is not None else None
            if up is not None:
                self._mark_live(up)
            return
        if text.startswith("Already unsubscribed"):
            log(_log, 10, "server: already unsubscribed", connection=conn.id)
            return
        if text.startswith("Invalid subscription"):
            echo = self._echo_in(text)
            up = conn.match_echo(echo) if echo is not None else None
            if up is not None:
                self._fail_upstream(up, SubscriptionFailedError(f"server rejected the subscription: {text[:300]}"))
                conn.sent.pop(up.key, None)
                return
        elif text.startswith("Error parsing JSON into valid websocket request:"):
            frame = text.split(":", 1)[1].strip()
            try:
                req = json.loads(frame)
            except ValueError:
                req = None
            if isinstance(req, dict) and req.get("method") == "post" and isinstance(req.get("id"), int):
                pending = conn.pending.get(req["id"])
                if pending is not None and not pending.future.done():
                    pending.future.set_exception(ApiRejectedError(text[:300], endpoint="ws post"))
                    return
            if isinstance(req, dict) and isinstance(req.get("subscription"), dict):
                echo = key_from_echo(req["subscription"])
                up = conn.desired.get(echo) if echo is not None else None
                if up is not None:
                    self._fail_upstream(up, SubscriptionFailedError(f"server rejected the subscription: {text[:300]}"))
                    conn.sent.pop(up.key, None)
                    return
        elif text.startswith("Cannot track more than"):
            # the newest user subscription sent and not yet live is the one refused
            cands = [u for u in conn.desired.values() if u.user is not None and not u.live and u.key in conn.sent]
            if cands:
                up = max(cands, key=lambda u: u.sent_at)
                conn.sent.pop(up.key, None)
                self._fail_upstream(up, SubscriptionLimitError(f"server refused a user subscription: {text}"))
                return
        elif text.startswith("too many pending post requests"):
            tail = text.rsplit("=", 1)[-1].strip()
            if tail.isdigit():
                pending = conn.pending.get(int(tail))
                if pending is not None and not pending.future.done():
                    pending.future.set_exception(RateLimitedError(body=text, endpoint="ws post"))
                    return
        log(_log, 30, "server error message", connection=conn.id, message=text[:300])

    @staticmethod
    def _echo_in(text: str) -> SubscriptionKey | None:
        start = text.find("{")
        if start < 0:
            return None
        try:
            obj = json.loads(text[start:])
        except ValueError:
            return None
        return key_from_echo(obj) if isinstance(obj, dict) else None

    # -- gap recovery ------------------------------------------------------------------------------------------
    async def _recover_gap(self, up: _Upstream) -> None:
        assert self._recover is not None
        since = up.last_item_time if up.last_item_time is not None else up.started_ms
        error = ""
        for attempt in range(self.config.recover_attempts):
            try:
                items = await self._recover(up.channel, dict(up.params), since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log(_log, 30, "gap recovery attempt failed", key=up.key_text, attempt=attempt + 1, error=error)
                await asyncio.sleep(min(self.config.reconnect_max, self.config.reconnect_base * 2**attempt))
                continue
            if not up.active:
                return
            if not isinstance(items, list):
                error = f"recover returned {type(items).__name__}, expected a list"
                break
            items = sorted(items, key=lambda it: up.channel.item_time(it) or 0)
            fresh = up._fresh(items)
            if fresh:
                data = up.channel.wrap_recovered(up.params, fresh)
                saved_seen, up.seen = up.seen, None  # already de-duplicated
                try:
                    blocked = up.deliver(data, up.channel.channels[0], recovered=True)
                finally:
                    up.seen = saved_seen
                for sink, item in blocked or ():
                    while not sink.closed:
                        await sink.wait_space()
                        if sink.push(item):
                            break
            log(_log, 20, "gap recovered", key=up.key_text, count=len(fresh), since=since)
            self._emit("ws.recovered", key=up.key_text, count=len(fresh))
            return
        if up.active:
            log(_log, 40, "gap recovery failed", key=up.key_text, since=since, error=error)
            self._emit("ws.recovery_failed", key=up.key_text, error=error)
            up.broadcast(Gap(since, error))

    # -- staleness ---------------------------------------------------------------------------------------------
    async def _stale_loop(self) -> None:
        after = self.config.stale_after
        assert after is not None
        tick = min(max(after / 4, 0.05), 5.0)
        while not self._closed:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for up in tuple(self._registry.values()):
                if not up.live or up.stale or not up.channel.market_data:
                    continue
                silence = now - up.last_data
                if silence < after:
                    continue
                up.stale = True
                resub = self.config.stale_resubscribe and up.conn is not None
                log(_log, 30, "stream stale", key=up.key_text, silence=round(silence, 3), resubscribe=resub)
                self._emit("ws.stale", key=up.key_text, silence=silence)
                up.broadcast(Stale(silence, resub))
                if resub and up.conn is not None:
                    up.live = False
                    self._spawn(up.conn.resubscribe(up.key))

    # -- latest values -----------------------------------------------------------------------------------------
    def latest(self, channel_type: str, /, **params: Any) -> Any:
        """Newest value of a live market-data subscription (decoded like its first subscriber's), or ``None``.

        ``client.latest("l2Book", coin="BTC")``, ``client.latest("bbo", coin="ETH")``, ``client.latest("allMids")``.
        """
        up = self._registry.get(make_key(channel_type, params))
        return None if up is None else up.latest

    def latest_raw(self, channel_type: str, /, **params: Any) -> Any:
        """Like :meth:`latest`, but the undecoded JSON data."""
        up = self._registry.get(make_key(channel_type, params))
        return None if up is None else up.latest_raw

    def fresh_raw(self, channel_type: str, max_age: float, /, **params: Any) -> Any:
        """Like :meth:`latest_raw`, but only while the subscription is live and its last data is at most
        ``max_age`` seconds old (else ``None``)."""
        up = self._registry.get(make_key(channel_type, params))
        if up is None or not up.live or time.monotonic() - up.last_data > max_age:
            return None
        return up.latest_raw

    def mid(self, coin: str, *, dex: str | None = None) -> str | None:
        """Newest mid price of ``coin`` from a live ``allMids`` subscription (exact decimal string), or ``None``."""
        raw = self.latest_raw("allMids", dex=dex)
        if isinstance(raw, Mapping):
            mids = raw.get("mids")
            if isinstance(mids, Mapping):
                value = mids.get(coin)
                return value if isinstance(value, str) else None
        return None

    # -- posts -------------------------------------------------------------------------------------------------
    def _post_connection(self) -> _Connection:
        usable = [c for c in self._conns if not c.closing and not c.gave_up]
        connected = [c for c in usable if c.connected_now]
        if connected:
            return min(connected, key=lambda c: len(c.pending))
        if usable:
            return usable[0]
        if len(self._conns) >= self.config.max_connections:
            raise SubscriptionLimitError("no connection available for a post (max_connections reached)")
        return self._new_connection()

    async def post(
        self, kind: Literal["info", "action"], payload: Mapping[str, Any], *, timeout: float | None = None
    ) -> Any:
        """Send an info request or a signed action over the socket and return its answer.

        Info: returns the response data (what ``POST /info`` would return).  Action: returns the exchange's JSON
        (``{"status": "ok" | "err", "response": ...}``) for the caller to classify.  Raises
        :class:`~.TimeoutError` after ``timeout`` (``request_sent`` tells whether it left),
        :class:`~hyperliquid_client.runtime.errors.WebSocketError` when the connection is lost (info), and
        :class:`~hyperliquid_client.runtime.errors.IndeterminateError` when an action was written and its outcome is
        unknown (lost connection or timeout).  A request still waiting for a connection is never sent after its
        deadline.
        """
        self._check_open()
        if kind not in ("info", "action"):
            raise InvalidInputError("kind", "'info' or 'action'", kind)
        if not isinstance(payload, Mapping):
            raise InvalidInputError("payload", "a mapping", type(payload).__name__)
        if timeout is None:
            timeout = self.config.post_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidInputError("timeout", "a positive number of seconds", timeout)
        try:
            body = json.dumps(dict(payload))
        except (TypeError, ValueError) as exc:
            raise InvalidInputError("payload", "JSON-serializable data", detail=str(exc)) from exc
        loop = asyncio.get_running_loop()
        self._loop = loop
        deadline = loop.time() + timeout
        pid = next(self._post_ids)
        pending = _PendingPost(pid, kind, loop.create_future())
        frame = f'{{"method":"post","id":{pid},"request":{{"type":"{kind}","payload":{body}}}}}'
        conn: _Connection | None = None
        slot = self.limits.post_slot(deadline)  # the server's in-flight posts limit
        await slot.__aenter__()
        try:
            while True:
                conn = self._post_connection()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                self.limits.check_post(remaining)
                await asyncio.wait_for(conn.connected.wait(), remaining)
                await asyncio.wait_for(self._bucket.acquire(), max(deadline - loop.time(), 0.0))
                if loop.time() >= deadline:
                    raise TimeoutError
                ws = conn.ws
                if ws is None or not conn.connected_now:
                    continue  # dropped while we waited: wait for the next socket, still within the deadline
                conn.pending[pid] = pending
                pending.sent = True
                await ws.send(frame)
                break
            self._emit("ws.post", connection=conn.id, id=pid, kind=kind, ok=None)
            response = await asyncio.wait_for(pending.future, max(deadline - loop.time(), 0.0))
        except TimeoutError:
            if conn is not None:
                conn.pending.pop(pid, None)
            self._emit("ws.post", connection=conn.id if conn else None, id=pid, kind=kind, ok=False)
            if pending.sent and kind == "action":
                raise self._indeterminate(payload, f"no answer to the action within {timeout:g}s") from None
            raise RequestTimeoutError(
                f"websocket post {kind} got no answer within {timeout:g}s"
                if pending.sent
                else f"websocket post {kind} not sent within {timeout:g}s (no connection)",
                timeout=timeout,
                endpoint="ws post",
                request_sent=pending.sent,
            ) from None
        except (ConnectionClosed, WebSocketError) as exc:
            if conn is not None:
                conn.pending.pop(pid, None)
            self._emit("ws.post", connection=conn.id if conn else None, id=pid, kind=kind, ok=False)
            if pending.sent and kind == "action":
                raise self._indeterminate(payload, f"connection lost after the action was sent: {exc}") from exc
            if isinstance(exc, WebSocketError):
                raise
            raise WebSocketError(f"connection lost: {exc}", request_sent=pending.sent) from exc
        finally:
            await slot.__aexit__(None, None, None)
            if conn is not None:
                conn.pending.pop(pid, None)
        return self._post_result(kind, payload, response, conn.id, pid)

    def _post_result(self, kind: str, payload: Mapping[str, Any], response: Any, cid: int, pid: int) -> Any:
        if not isinstance(response, dict):
            self._emit("ws.post", connection=cid, id=pid, kind=kind, ok=False)
            raise WebSocketError(f"malformed post reply: {str(response)[:200]}", request_sent=True)
        rtype = response.get("type")
        body = response.get("payload")
        if rtype == "error":
            text = body if isinstance(body, str) else json.dumps(body)
            self._emit("ws.post", connection=cid, id=pid, kind=kind, ok=False)
            if "429" in text or "rate limit" in text.lower():
                raise RateLimitedError(body=text, endpoint="ws post")
            if kind == "action":
                raise self._indeterminate(payload, f"server error for the action: {text[:200]}")
            raise WebSocketError(f"server error for the info request: {text[:200]}", request_sent=True)
        self._emit("ws.post", connection=cid, id=pid, kind=kind, ok=True)
        if kind == "info":
            return body.get("data") if isinstance(body, dict) else body
        return body

    @staticmethod
    def _indeterminate(payload: Mapping[str, Any], message: str) -> IndeterminateError:
        nonce = payload.get("nonce")
        action = payload.get("action")
        cloids: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in ("c", "cloid") and isinstance(v, str):
                        cloids.append(v)
                    else:
                        walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(action)
        return IndeterminateError(
            message,
            nonce=nonce if isinstance(nonce, int) else None,
            cloids=cloids,
            action_type=action.get("type") if isinstance(action, dict) else None,
        )

    def _on_post_reply(self, conn: _Connection, data: Any) -> None:
        if not isinstance(data, dict):
            return
        pid = data.get("id")
        pending = conn.pending.get(pid) if isinstance(pid, int) else None
        if pending is None:
            for other in self._conns:  # an id is unique per client
                pending = other.pending.get(pid) if isinstance(pid, int) else None
                if pending is not None:
                    break
        if pending is None:
            log(_log, 20, "post reply for no pending request", connection=conn.id, id=pid)
            return
        if not pending.future.done():
            pending.future.set_result(data.get("response"))

    # -- close -------------------------------------------------------------------------------------------------
    async def close(self) -> None:
        """Close every connection, fail pending posts and end every subscription (iteration stops)."""
        if self._closed:
            return
        self._closed = True
        if self._stale_task is not None:
            self._stale_task.cancel()
        for up in tuple(self._registry.values()):
            if up.recovery is not None:
                up.recovery.cancel()
            for sink in tuple(up.sinks.values()):
                self._release(sink)
        conns, self._conns = self._conns, []
        for conn in conns:
            conn._fail_posts("client closed")
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        for task in tuple(self._background):
            task.cancel()
        self._callback_subs.clear()

    async def __aenter__(self) -> WsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
