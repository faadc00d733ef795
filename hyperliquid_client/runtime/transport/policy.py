"""Retry and transport configuration (pure values, no I/O).

:class:`RetryPolicy` decides *how long to wait* before another attempt; the transports in
:mod:`hyperliquid_client.runtime.transport.http` decide *whether* an error is retryable and stop when
``max_attempts`` is reached or the next wait would pass ``max_elapsed``.

Which requests are retried (the transport's rule):

* only when the policy allows more than one attempt — the exchange layer passes
  :data:`RetryPolicy.NO_RETRY` (signed actions are never re-sent: their nonce could execute twice);
* connection errors (refused, reset, closed mid-response), HTTP statuses in ``retry_statuses``
  (429 and 5xx by default), honouring ``Retry-After``;
* **not** timeouts: the timeout is the caller's latency budget for the call, and retrying a request
  that timed out would multiply it (a hung server must fail within ``timeout`` plus a small margin).
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import ClassVar, Protocol

from hyperliquid_client.runtime.config import finite
from hyperliquid_client.runtime.errors import ConfigError, shown
from hyperliquid_client.runtime.record import frozen

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_RETRY_STATUSES",
    "RandomSource",
    "RetryPolicy",
    "TransportConfig",
    "resolve_timeout",
]

#: HTTP statuses retried by default: rate limited and the transient server errors.
DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

#: The largest response body accepted by default (16 MiB, far above any real API answer; the few
#: endpoints known to answer more, such as the stats files, raise it in their spec).
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class RandomSource(Protocol):
    """Anything with ``random() -> float`` in ``[0, 1)`` (e.g. :class:`random.Random`)."""

    def random(self) -> float:
        """A float in ``[0, 1)``."""
        ...


def _is_int(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@frozen
class RetryPolicy:
    """How often and how patiently an idempotent request is retried.

    ``max_attempts`` counts every attempt including the first (1 = never retry).  The wait before
    attempt ``n + 1`` is drawn with *full jitter* from ``[0, min(max_delay, base_delay * 2**(n-1))]``
    (or is exactly that cap when ``jitter`` is false).  A server's ``Retry-After`` replaces the
    computed wait, uncapped by ``max_delay``; ``max_elapsed`` (seconds since the first attempt
    started) bounds the whole sequence: no retry is scheduled whose wait would end after it.
    """

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_elapsed: float = 30.0
    jitter: bool = True
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES

    #: A policy that makes exactly one attempt (what the exchange layer uses for signed actions).
    NO_RETRY: ClassVar[RetryPolicy]

    def __post_init__(self) -> None:
        try:
            codes = frozenset(self.retry_statuses)  # any iterable of codes
        except TypeError:
            raise ConfigError(
                "retry.retry_statuses", f"expected HTTP status codes, got {type(self.retry_statuses).__name__}"
            ) from None
        object.__setattr__(self, "retry_statuses", codes)
        if not _is_int(self.max_attempts, 1):
            raise ConfigError("retry.max_attempts", f"must be an integer >= 1, got {shown(self.max_attempts)}")
        for name in ("base_delay", "max_delay", "max_elapsed"):
            value = getattr(self, name)
            if not finite(value) or value < 0:
                raise ConfigError(f"retry.{name}", f"must be a finite number >= 0, got {shown(value)}")
        if not isinstance(self.jitter, bool):
            raise ConfigError("retry.jitter", f"must be a bool, got {shown(self.jitter)}")
        for status in self.retry_statuses:
            if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
                raise ConfigError("retry.retry_statuses", f"must hold HTTP status codes, got {shown(status)}")

    @property
    def retries_enabled(self) -> bool:
        """True when more than one attempt is allowed."""
        return self.max_attempts > 1

    def delay(self, attempt: int, retry_after: float | None, rng: RandomSource | None = None) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) failed.

        Pure apart from drawing from ``rng`` (default: the :mod:`random` module).  With
        ``retry_after`` (seconds, from the server) that value is returned as is (never negative):
        the server's word wins over the backoff schedule; ``max_elapsed`` is enforced by the caller.
        """
        if retry_after is not None and math.isfinite(retry_after):
            return max(0.0, float(retry_after))
        exponent = max(0, attempt - 1)
        # 2**exponent overflows floats for absurd attempt numbers; the cap makes them irrelevant.
        cap = self.max_delay if exponent >= 64 else min(self.max_delay, self.base_delay * (2.0**exponent))
        if not self.jitter:
            return cap
        draw = (rng if rng is not None else random).random()
        return cap * draw


RetryPolicy.NO_RETRY = RetryPolicy(max_attempts=1)


def resolve_timeout(per_call: float | None, per_endpoint: float | None) -> float | None:
    """The most specific timeout: the call's, else the endpoint's (from its spec), else ``None``.

    ``None`` lets the transport use ``TransportConfig.default_timeout``.
    """
    return per_call if per_call is not None else per_endpoint


@frozen
class TransportConfig:
    """Settings of one HTTP transport (one pooled connection pool per transport instance).

    ``default_timeout`` is the total deadline (seconds) of a request when neither the call nor the
    endpoint's spec gives one.  ``verify_tls=False`` disables certificate verification and logs a
    warning.  ``max_connections`` bounds the requests in flight (more wait for a free connection,
    within their deadline); ``keepalive`` is how many idle connections are kept open for reuse
    (``None``: all of them, so a busy client keeps reusing ``max_connections`` connections instead
    of opening a new one, with a new TLS handshake, per request).  ``max_response_bytes`` is the
    largest response body accepted (an endpoint's spec may allow more): a larger one is abandoned
    as soon as it passes the limit and raises :class:`InvalidResponseError`.
    """

    default_timeout: float = 10.0
    verify_tls: bool = True
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    max_connections: int = 20
    keepalive: int | None = None
    user_agent: str = "hyperliquid-python/0.1"
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    @property
    def idle_connections(self) -> int:
        """Idle connections kept open for reuse (``keepalive``, else ``max_connections``)."""
        return self.max_connections if self.keepalive is None else self.keepalive

    def __post_init__(self) -> None:
        if not finite(self.default_timeout) or self.default_timeout <= 0:
            raise ConfigError("default_timeout", f"must be a finite number > 0, got {shown(self.default_timeout)}")
        if not isinstance(self.verify_tls, bool):
            raise ConfigError("verify_tls", f"must be a bool, got {shown(self.verify_tls)}")
        if not isinstance(self.retry, RetryPolicy):
            raise ConfigError("retry", f"must be a RetryPolicy, got {type(self.retry).__name__}")
        if (
            not isinstance(self.max_connections, int)
            or isinstance(self.max_connections, bool)
            or self.max_connections < 1
        ):
            raise ConfigError("max_connections", f"must be an integer >= 1, got {shown(self.max_connections)}")
        if self.keepalive is not None and not _is_int(self.keepalive, 0):
            raise ConfigError("keepalive", f"must be an integer >= 0 or None, got {shown(self.keepalive)}")
        if not _is_int(self.max_response_bytes, 1):
            raise ConfigError("max_response_bytes", f"must be an integer >= 1, got {shown(self.max_response_bytes)}")
        if not isinstance(self.user_agent, str) or not self.user_agent or any(c in self.user_agent for c in "\r\n\0"):
            raise ConfigError("user_agent", "must be a non-empty single-line string")
