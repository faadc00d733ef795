"""The WebSocket limits of one IP, kept by the client before the server would close the socket.

The exchange allows per IP 1000 subscriptions, 10 distinct users in user subscriptions, 2000
messages sent per minute, 100 posts in flight and 30 new connections per minute.  The WebSocket
client asks :class:`WsLimits` before each of these (``docs/rate-limits.md``):

* a subscription over the limit, or a new user over the user limit, raises
  :class:`~hyperliquid_client.runtime.errors.SubscriptionLimitError` at once;
* every message (subscribe, unsubscribe, post, ping) is counted in a sliding minute; a post waits for
  room within its deadline (else :class:`~hyperliquid_client.runtime.errors.RateLimitedError`), other
  frames wait;
* posts wait for an in-flight slot within their deadline (else ``RateLimitedError``);
* a connection (new or reconnecting) waits until the minute's connection count allows it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager

from hyperliquid_client.runtime.errors import RateLimitedError, SubscriptionLimitError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.ratelimit.config import RateLimitConfig

__all__ = ["WsLimits"]

_log = get_logger("hyperliquid_client.ratelimit")
_MINUTE = 60.0


class _Window:
    """Timestamps of events in the last ``span`` seconds, at most ``limit`` of them."""

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0: now)."""
        times = self.times
        while times and times[0] <= now - self.span:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[len(times) - self.limit] + self.span - now

    def add(self, now: float) -> None:
        self.times.append(now)


class WsLimits:
    """Counters of one WebSocket client (one IP's connections to one host); loop-bound, not thread-safe."""

    def __init__(
        self,
        config: RateLimitConfig | None = None,
        *,
        events: EventBus | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if config is not None else RateLimitConfig()
        self.events = events if events is not None else EventBus()
        self._clock = clock
        self._messages = _Window(self.config.ws_messages_per_minute, _MINUTE)
        self._connects = _Window(self.config.ws_connections_per_minute, _MINUTE)
        self._posts = 0
        self._post_freed: asyncio.Event | None = None

    def _emit(self, limit: str, value: int, detail: str) -> None:
        if self.events.wants("rate.ws"):
            self.events.emit("rate.ws", limit=limit, value=value, detail=detail)

    # ------------------------------------------------------------------ subscriptions
    def check_subscription(self, count: int, users: Collection[str], user: str | None) -> None:
        """Refuse one more subscription (``count`` exist) or a new ``user`` (``users`` subscribed)."""
        cfg = self.config
        if count >= cfg.ws_subscriptions:
            self._emit("subscriptions", count, "refused")
            raise SubscriptionLimitError(
                f"at most {cfg.ws_subscriptions} subscriptions per IP (the server's limit): {count} are live; "
                "unsubscribe some first (rate.ws_subscriptions)"
            )
        if user is not None and user not in users and len(users) >= cfg.ws_users:
            self._emit("users", len(users), "refused")
            raise SubscriptionLimitError(
                f"at most {cfg.ws_users} distinct users in user subscriptions per IP (the server's limit): "
                f"{len(users)} are subscribed, {user} would be one more (rate.ws_users)"
            )

    # ------------------------------------------------------------------ messages
    def message_wait(self) -> float:
        """Seconds until one more message may be sent in this minute."""
        return self._messages.wait(self._clock())

    def sent(self) -> None:
        """Count a message sent now (pings included)."""
        self._messages.add(self._clock())

    async def message(self) -> None:
        """Wait until a message may be sent, then count it."""
        wait = self.message_wait()
        if wait > 0:
            self._emit("messages_per_minute", self.config.ws_messages_per_minute, f"waiting {wait:.2f}s")
            log(_log, 20, "websocket message limit reached: waiting", wait=round(wait, 3))
            while wait > 0:
                await asyncio.sleep(wait)
                wait = self.message_wait()
        self.sent()

    def check_post(self, remaining: float) -> None:
        """Refuse a post whose message could not leave within ``remaining`` seconds."""
        wait = self.message_wait()
        if wait > remaining:
            self._emit("messages_per_minute", self.config.ws_messages_per_minute, "post refused")
            raise RateLimitedError(
                message=(
                    f"websocket post refused: {self.config.ws_messages_per_minute} messages per minute already "
                    f"sent (the server's limit); room again in {wait:.2f}s, after this post's deadline"
                ),
                retry_after=wait,
                endpoint="ws post",
                local=True,
            )

    # ------------------------------------------------------------------ posts in flight
    @asynccontextmanager
    async def post_slot(self, deadline: float) -> AsyncIterator[None]:
        """Hold one of the in-flight post slots (waiting until ``deadline``, a loop time)."""
        loop = asyncio.get_running_loop()
        limit = self.config.ws_inflight_posts
        while self._posts >= limit:
            left = deadline - loop.time()
            if left <= 0:
                self._emit("inflight_posts", self._posts, "post refused")
                raise RateLimitedError(
                    message=(
                        f"websocket post refused: {limit} posts already in flight (the server's limit) and none "
                        "finished before this post's deadline"
                    ),
                    endpoint="ws post",
                    local=True,
                )
            if self._post_freed is None:
                self._post_freed = asyncio.Event()
            self._post_freed.clear()
            try:
                await asyncio.wait_for(self._post_freed.wait(), left)
            except TimeoutError:
                continue
        self._posts += 1
        try:
            yield
        finally:
            self._posts -= 1
            if self._post_freed is not None:
                self._post_freed.set()

    @property
    def posts_in_flight(self) -> int:
        """Posts holding a slot now."""
        return self._posts

    # ------------------------------------------------------------------ connections
    def connect_wait(self) -> float:
        """Seconds until one more connection may be opened in this minute."""
        return self._connects.wait(self._clock())

    def connecting(self) -> None:
        """Count a connection attempt made now."""
        self._connects.add(self._clock())

    async def before_connect(self) -> None:
        """Wait until a connection may be opened (the reconnect backoff waits for it too), then count it."""
        wait = self.connect_wait()
        if wait > 0:
            self._emit("connections_per_minute", self.config.ws_connections_per_minute, f"waiting {wait:.2f}s")
            log(_log, 30, "websocket connection limit reached: waiting before connecting", wait=round(wait, 3))
            while wait > 0:
                await asyncio.sleep(wait)
                wait = self.connect_wait()
        self.connecting()
