"""Caching: a bounded TTL cache with single flight, info cache policies and background warmers.

See ``docs/caching.md`` for the guarantees and the eviction policy.
"""

from hyperliquid.runtime.cache.policy import DEFAULT_TTL_BY_KIND, info_cache_key
from hyperliquid.runtime.cache.ttl import (
    CacheConfig,
    CacheEntryInfo,
    CacheStats,
    FetchCancelledError,
    TTLCache,
    approx_sizeof,
)
from hyperliquid.runtime.cache.warmup import Backoff, Warmer, WarmerStatus, WarmStatus, WarmupManager

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
