"""Caching: a bounded TTL cache with single flight, info cache policies and background warmers.

See ``docs/caching.md`` for the guarantees and the eviction policy.
"""

from hyperliquid_client.runtime.cache.policy import DEFAULT_TTL_BY_KIND, info_cache_key
from hyperliquid_client.runtime.cache.ttl import (
    CacheConfig,
    CacheEntryInfo,
    CacheStats,
    FetchCancelledError,
    TTLCache,
    approx_sizeof,
)
from hyperliquid_client.runtime.cache.warmup import Backoff, Warmer, WarmerStatus, WarmStatus, WarmupManager

__all__ = [
    "DEFAULT_TTL_BY_KIND",
    "Backoff",
    "CacheConfig",
    "CacheEntryInfo",
    "CacheStats",
    "FetchCancelledError",
    "TTLCache",
    "WarmStatus",
    "Warmer",
    "WarmerStatus",
    "WarmupManager",
    "approx_sizeof",
    "info_cache_key",
]
