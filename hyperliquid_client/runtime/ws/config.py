"""Settings of the WebSocket runtime, validated at construction."""

from __future__ import annotations

from typing import Literal

from hyperliquid_client.runtime.config import check_number
from hyperliquid_client.runtime.errors import ConfigError, shown
from hyperliquid_client.runtime.record import frozen

__all__ = ["OVERFLOW_POLICIES", "Overflow", "WsConfig"]

Overflow = Literal["drop_oldest", "drop_newest", "error", "block"]
OVERFLOW_POLICIES: tuple[str, ...] = ("drop_oldest", "drop_newest", "error", "block")


@frozen
class WsConfig:
    """WebSocket settings (all times in seconds).

    Heartbeat: ``{"method":"ping"}`` is sent when nothing arrived for ``ping_interval`` (the server closes a socket
    after 60 s of *its* silence); a connection from which nothing arrives within ``dead_after`` of a ping is treated
    as dead (half-open) and replaced, so a silent socket is detected within ``ping_interval + dead_after`` (9 s by
    default; at most 12 pings a minute per idle connection, far below the server's 2000 client messages a minute).

    Reconnect: exponential backoff from ``reconnect_base`` doubling up to ``reconnect_max`` with jitter (each delay is
    drawn uniformly from [delay/2, delay]); the backoff resets only after a socket that worked (something received,
    no subscription left unanswered when it closed).  ``max_reconnect_attempts`` consecutive failures (``None``:
    unlimited) make the connection give up, failing its subscriptions; new connections also wait for the server's
    per-minute limit (``RateLimitConfig.ws_connections_per_minute``).  ``resubscribe_rate`` / ``send_burst`` pace
    every subscribe, unsubscribe and post frame (token bucket shared by all connections; the server allows 2000
    client messages a minute per IP).

    Limits: ``max_subscriptions_per_connection``, ``max_users_per_connection`` (distinct users in user-specific
    subscriptions), ``max_users`` (distinct users across all connections, ``None``: no client-side check),
    ``max_connections``.  More connections are opened as needed; past ``max_connections`` ``subscribe`` raises
    :class:`~.SubscriptionLimitError`.  Connections left without subscriptions close after
    ``idle_close_after`` (the first one stays for posts).

    Buffers: ``buffer_size`` items per subscriber for market data with ``overflow`` policy; user data uses
    ``user_buffer_size`` with ``user_overflow`` (default ``"error"``: the buffer grows to that hard cap, then the
    subscription fails loudly; user data is never dropped silently).

    Staleness: a live market-data subscription silent for ``stale_after`` seconds gets a ``Stale`` marker and a
    ``ws.stale`` event; ``"auto"`` (default) uses each channel's own threshold (set for the channels that are
    normally busy, e.g. ``l2Book``, ``allMids``; others are never flagged), a number applies to every market-data
    channel, ``None`` turns it off.  With ``stale_resubscribe`` a stale stream is also unsubscribed and subscribed
    again.

    Posts: ``post_timeout`` default deadline.  Frames larger than ``max_message_size`` bytes close the connection
    (code 1009) and it is replaced.  ``dedup_window`` item identities are remembered per user subscription;
    ``recover_attempts`` tries of the gap-recovery callable.
    """

    ping_interval: float = 5.0
    dead_after: float = 4.0
    open_timeout: float = 10.0
    reconnect_base: float = 0.5
    reconnect_max: float = 30.0
    max_reconnect_attempts: int | None = None
    resubscribe_rate: float = 30.0
    send_burst: int = 100
    max_subscriptions_per_connection: int = 1000
    max_users_per_connection: int = 10
    max_users: int | None = None
    max_connections: int = 10
    idle_close_after: float = 30.0
    buffer_size: int = 1000
    overflow: Overflow = "drop_oldest"
    user_buffer_size: int = 100_000
    user_overflow: Overflow = "error"
    stale_after: float | Literal["auto"] | None = "auto"
    stale_resubscribe: bool = False
    post_timeout: float = 10.0
    max_message_size: int = 16 * 1024 * 1024
    dedup_window: int = 10_000
    recover_attempts: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.stale_resubscribe, bool):
            raise ConfigError("stale_resubscribe", f"expected True or False, got {shown(self.stale_resubscribe)}")
        for name in ("ping_interval", "dead_after", "open_timeout", "reconnect_base", "reconnect_max", "post_timeout"):
            check_number(name, getattr(self, name))
        check_number("resubscribe_rate", self.resubscribe_rate)
        check_number("idle_close_after", self.idle_close_after, zero=True)
        if self.stale_after != "auto":
            check_number("stale_after", self.stale_after, none=True)
        for name in (
            "send_burst",
            "max_subscriptions_per_connection",
            "max_users_per_connection",
            "max_connections",
            "buffer_size",
            "user_buffer_size",
            "max_message_size",
            "dedup_window",
            "recover_attempts",
        ):
            check_number(name, getattr(self, name), integer=True)
        for name in ("max_reconnect_attempts", "max_users"):
            check_number(name, getattr(self, name), zero=True, none=True, integer=True)
        if self.reconnect_max < self.reconnect_base:
            raise ConfigError("reconnect_max", "must be >= reconnect_base")
        for name in ("overflow", "user_overflow"):
            if getattr(self, name) not in OVERFLOW_POLICIES:
                raise ConfigError(
                    name, f"expected one of {', '.join(OVERFLOW_POLICIES)}, got {shown(getattr(self, name))}"
                )
