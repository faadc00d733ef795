"""Settings of the client's rate-limit machinery (pure values, validated at construction)."""

from __future__ import annotations

import socket
from typing import Literal

from hyperliquid_client.runtime.config import finite, repr_hiding
from hyperliquid_client.runtime.errors import ConfigError, shown
from hyperliquid_client.runtime.record import frozen

__all__ = ["Policy", "RateLimitConfig"]

Policy = Literal["wait", "fail"]


def _number(name: str, value: object, *, low: float = 0.0, high: float | None = None, open_low: bool = False) -> None:
    if not finite(value):
        raise ConfigError(f"rate.{name}", f"expected a finite number, got {shown(value)}")
    if value < low or (open_low and value == low) or (high is not None and value > high):
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        if high is not None:
            bound += f" and <= {high:g}"
        raise ConfigError(f"rate.{name}", f"must be {bound}, got {shown(value)}")


def _integer(name: str, value: object, low: int) -> None:
    if not isinstance(value, int) or not finite(value) or value < low:
        raise ConfigError(f"rate.{name}", f"expected an integer >= {low}, got {shown(value)}")


@frozen
class RateLimitConfig:
    """How the client keeps Hyperliquid's limits (see ``docs/rate-limits.md``).

    IP weight budget: ``budget`` weight per ``window`` seconds (the exchange allows 1200 per minute per IP).
    ``policy`` ``"wait"`` makes a call wait for budget within its own timeout; ``"fail"`` raises
    :class:`~hyperliquid_client.runtime.errors.RateLimitedError` at once, saying when budget returns.
    ``exchange_reserve``: fraction of the budget info/explorer calls may not use (kept for actions);
    ``cancel_reserve``: fraction only cancels may use; ``background_share``: the most of the budget the
    background warmers may use.  ``share``: the fraction of the budget this process may use on its own
    (without Redis, or while Redis is unreachable) — e.g. ``0.25`` for four processes behind one IP.

    One backoff for the client: a 429 pauses every call sharing the budget for the server's
    ``Retry-After``, else ``backoff_base`` doubling per consecutive 429 up to ``backoff_max``; then one
    probe call goes first and the others follow when it succeeds.

    Redis (``redis_url``, extra ``[redis]``): the budget, the 429 backoff and the address allowances are
    shared by every process using the same Redis and ``ip_key`` (default: this host's name; give hosts
    behind one public IP the same key).  ``redis_timeout`` bounds each Redis call; after a failure the
    client runs on its local share and tries Redis again every ``redis_retry`` seconds.
    ``redis_nonces``: hand out nonces per signer from Redis too, with one in-flight window per signer for every
    process (processes sharing a wallet never collide, nor overtake each other's actions by 64 nonces).

    Address allowance: events at ``address_thresholds`` (fractions of the cap).

    ``batch_window``: opt-in coalescing of concurrent orders / cancels of one signer within that many
    seconds into one batched action (``None``: off); ``batch_max`` elements per batch.

    Circuit breaker per host: after ``breaker_failures`` consecutive connection failures, timeouts or
    5xx (0: off), calls fail fast for ``breaker_cool_down`` seconds (doubling on each failed probe up
    to ``breaker_cool_down_max``), then one probe call decides.

    WebSocket limits per IP, enforced before the server would close the socket: ``ws_subscriptions``,
    ``ws_users`` (distinct users in user subscriptions), ``ws_messages_per_minute``,
    ``ws_inflight_posts``, ``ws_connections_per_minute`` (new connections; reconnects wait for it).
    """

    enabled: bool = True
    budget: int = 1200
    window: float = 60.0
    policy: Policy = "wait"
    share: float = 1.0
    exchange_reserve: float = 0.1
    cancel_reserve: float = 0.05
    background_share: float = 0.5
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    redis_url: str | None = None
    redis_prefix: str = "hl"
    ip_key: str | None = None
    redis_timeout: float = 0.5
    redis_retry: float = 5.0
    redis_nonces: bool = True
    address_thresholds: tuple[float, ...] = (0.8, 0.95)
    batch_window: float | None = None
    batch_max: int = 200
    breaker_failures: int = 5
    breaker_cool_down: float = 2.0
    breaker_cool_down_max: float = 30.0
    ws_subscriptions: int = 1000
    ws_users: int = 10
    ws_messages_per_minute: int = 2000
    ws_inflight_posts: int = 100
    ws_connections_per_minute: int = 30

    def __repr__(self) -> str:  # the Redis URL's password never shown
        return repr_hiding(self, "redis_url")

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError("rate.enabled", f"expected a bool, got {shown(self.enabled)}")
        _integer("budget", self.budget, 1)
        _number("window", self.window, open_low=True)
        if self.policy not in ("wait", "fail"):
            raise ConfigError("rate.policy", f"expected 'wait' or 'fail', got {shown(self.policy)}")
        _number("share", self.share, high=1.0, open_low=True)
        for name in ("exchange_reserve", "cancel_reserve"):
            _number(name, getattr(self, name), high=0.9)
        if self.cancel_reserve > self.exchange_reserve:
            raise ConfigError("rate.cancel_reserve", "must be <= exchange_reserve (cancels come first)")
        _number("background_share", self.background_share, high=1.0, open_low=True)
        _number("backoff_base", self.backoff_base)
        _number("backoff_max", self.backoff_max)
        if self.backoff_max < self.backoff_base:
            raise ConfigError("rate.backoff_max", "must be >= backoff_base")
        if self.redis_url is not None and (not isinstance(self.redis_url, str) or "://" not in self.redis_url):
            raise ConfigError("rate.redis_url", "expected a URL such as redis://host:6379/0")
        for name in ("redis_prefix", "ip_key"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value or any(c in value for c in "{}\r\n ")):
                raise ConfigError(f"rate.{name}", f"expected a string without braces or spaces, got {shown(value)}")
        _number("redis_timeout", self.redis_timeout, open_low=True)
        _number("redis_retry", self.redis_retry, open_low=True)
        if not isinstance(self.redis_nonces, bool):
            raise ConfigError("rate.redis_nonces", f"expected a bool, got {shown(self.redis_nonces)}")
        if not isinstance(self.address_thresholds, tuple) or not all(
            isinstance(t, int | float) and not isinstance(t, bool) and 0 < t < 1 for t in self.address_thresholds
        ):
            raise ConfigError("rate.address_thresholds", "expected a tuple of fractions between 0 and 1")
        if self.batch_window is not None:
            _number("batch_window", self.batch_window, high=1.0, open_low=True)
        _integer("batch_max", self.batch_max, 2)
        _integer("breaker_failures", self.breaker_failures, 0)
        _number("breaker_cool_down", self.breaker_cool_down, open_low=True)
        _number("breaker_cool_down_max", self.breaker_cool_down_max, open_low=True)
        if self.breaker_cool_down_max < self.breaker_cool_down:
            raise ConfigError("rate.breaker_cool_down_max", "must be >= breaker_cool_down")
        for name in (
            "ws_subscriptions",
            "ws_users",
            "ws_messages_per_minute",
            "ws_inflight_posts",
            "ws_connections_per_minute",
        ):
            _integer(name, getattr(self, name), 1)

    @property
    def ip(self) -> str:
        """The key of this process's public IP in shared state (``ip_key``, else the host name)."""
        return self.ip_key or socket.gethostname().replace(" ", "_").replace("{", "").replace("}", "") or "local"
