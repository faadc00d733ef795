"""HTTP transport: pooled httpx clients (sync and async), total deadlines, safe retries, events.

Public API: :class:`HttpTransport`, :class:`AsyncHttpTransport`, :class:`TransportConfig`,
:class:`RetryPolicy` (see :mod:`.policy` for the retry rules and :mod:`.http` for timeouts).
"""

from hyperliquid_client.runtime.transport.http import AsyncHttpTransport, HttpTransport, refuse_closed
from hyperliquid_client.runtime.transport.policy import (
    DEFAULT_RETRY_STATUSES,
    RetryPolicy,
    TransportConfig,
    resolve_timeout,
)

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "AsyncHttpTransport",
    "HttpTransport",
    "RetryPolicy",
    "TransportConfig",
    "refuse_closed",
    "resolve_timeout",
]
