"""Rate limits as a budget the client keeps (see ``docs/rate-limits.md``).

:class:`RateLimitConfig` (``ClientConfig.rate``) configures it; :class:`RateLimiter` (``client.rate``)
admits every request against the IP weight budget, runs the one 429 backoff, tracks address
allowances and the circuit breakers, alone or shared through Redis; :class:`WsLimits` keeps the
WebSocket limits.  What the exchange senders do for address allowances and batches is
:mod:`hyperliquid_client.runtime.ratelimit.senders` (sans-I/O).
"""

from hyperliquid_client.runtime.ratelimit.address import AddressState
from hyperliquid_client.runtime.ratelimit.config import Policy, RateLimitConfig
from hyperliquid_client.runtime.ratelimit.limiter import BACKGROUND, RateLimiter, Request, Ticket, background
from hyperliquid_client.runtime.ratelimit.ws import WsLimits

__all__ = [
    "BACKGROUND",
    "AddressState",
    "Policy",
    "RateLimitConfig",
    "RateLimiter",
    "Request",
    "Ticket",
    "WsLimits",
    "background",
]
