"""Cache policy of info requests: which responses are cached, for how long, under which key.

The source of truth is each endpoint's spec file (``cache: {ttl: <seconds>}``, exposed by the
generated registry as ``cache_ttl``); endpoints without one are not cached.  The client passes
those TTLs to :class:`InfoCache`.  :data:`INFO_CACHE_POLICIES` is a built-in copy of the spec's
values (kept in sync by a test) used when no table is given, grouped by *kind* of data:

=============  =========  ============================================================
kind           TTL (s)    info types
=============  =========  ============================================================
``metadata``   60         ``meta``, ``spotMeta``, ``perpDexs``, ``allPerpMetas``, ``marginTable``,
                          ``tokenDetails``, ``perpCategories``, annotations, ...
``reference``  10         ``outcomeMeta``, ``validatorSummaries``
``market``     2          ``predictedFundings``, ``perpsAtOpenInterestCap``
``prices``     1          ``allMids``, ``metaAndAssetCtxs``, ``spotMetaAndAssetCtxs``
``book``       0.5        ``l2Book``
``live``       0          everything else about markets - not cached
``user``       0          anything about an account - never cached
=============  =========  ============================================================

A TTL of 0 means "not cached": the request goes straight to the API.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

import attrs

from hyperliquid.runtime.cache.ttl import TTLCache

__all__ = [
    "DEFAULT_TTL_BY_KIND",
    "INFO_CACHE_POLICIES",
    "CachePolicy",
    "InfoCache",
    "info_cache_key",
    "policy_for",
]

#: Default TTL (seconds) of each kind of data.
DEFAULT_TTL_BY_KIND: Mapping[str, float] = {
    "metadata": 60.0,
    "reference": 10.0,
    "market": 2.0,
    "prices": 1.0,
    "book": 0.5,
    "live": 0.0,
    "user": 0.0,
}


@attrs.frozen
class CachePolicy:
    """How one info request type is cached: its ``kind`` and ``ttl`` in seconds (0 = not cached)."""

    kind: str = "live"
    ttl: float = 0.0

    @property
    def cached(self) -> bool:
        """True when responses are stored at all."""
        return self.ttl > 0

    @classmethod
    def of_kind(cls, kind: str) -> CachePolicy:
        """The default policy of ``kind`` (a key of :data:`DEFAULT_TTL_BY_KIND`)."""
        if kind not in DEFAULT_TTL_BY_KIND:
            raise ValueError(f"unknown cache kind {kind!r}; expected one of {sorted(DEFAULT_TTL_BY_KIND)}")
        return cls(kind=kind, ttl=DEFAULT_TTL_BY_KIND[kind])

    @classmethod
    def from_ttl(cls, ttl: float | None) -> CachePolicy:
        """A policy from a spec TTL (``None`` or 0: not cached); its kind is ``"spec"``."""
        if ttl is None:
            return cls("spec", 0.0)
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or math.isnan(ttl) or ttl < 0:
            raise ValueError(f"cache ttl must be a non-negative number of seconds, got {ttl!r}")
        return cls("spec", float(ttl))

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> CachePolicy | None:
        """Parse a spec's ``cache:`` mapping (``{ttl: ...}``, optionally ``kind``); None stays None."""
        if spec is None:
            return None
        if not isinstance(spec, Mapping):
            raise ValueError(f"cache policy must be a mapping, got {type(spec).__name__}")
        unknown = set(spec) - {"kind", "ttl"}
        if unknown:
            raise ValueError(f"unknown cache policy keys {sorted(unknown)}; expected kind, ttl")
        if "kind" in spec:
            base = cls.of_kind(str(spec["kind"]))
            return base if "ttl" not in spec else cls(base.kind, cls.from_ttl(spec["ttl"]).ttl)
        if "ttl" not in spec:
            raise ValueError("a cache policy needs a ttl (or a kind)")
        return cls.from_ttl(spec["ttl"])


def _p(kind: str) -> CachePolicy:
    return CachePolicy.of_kind(kind)


#: Built-in policies of the info types worth caching (every other type: ``live``, not cached).
INFO_CACHE_POLICIES: Mapping[str, CachePolicy] = {
    **{
        t: _p("metadata")
        for t in (
            "meta",
            "spotMeta",
            "perpDexs",
            "allPerpMetas",
            "marginTable",
            "maxMarketOrderNtls",
            "perpAnnotation",
            "perpCategories",
            "perpConciseAnnotations",
            "tokenDetails",
            "outcomeTemplates",
            "gossipRootIps",
            "usdcRouting",
        )
    },
    "outcomeMeta": _p("reference"),
    "validatorSummaries": _p("reference"),
    "predictedFundings": _p("market"),
    "perpsAtOpenInterestCap": _p("market"),
    "allMids": _p("prices"),
    "metaAndAssetCtxs": _p("prices"),
    "spotMetaAndAssetCtxs": _p("prices"),
    "l2Book": _p("book"),
}

_LIVE = CachePolicy()


def policy_for(info_type: str, spec_cache: Mapping[str, Any] | None = None) -> CachePolicy:
    """The policy of ``info_type``: the spec's own ``cache:`` mapping if given, else the built-in table."""
    from_spec = CachePolicy.from_spec(spec_cache)
    if from_spec is not None:
        return from_spec
    return INFO_CACHE_POLICIES.get(info_type, _LIVE)


def info_cache_key(body: Mapping[str, Any]) -> tuple[str, str]:
    """The cache key of an info request body: ``("info", canonical JSON)``.

    Keys are sorted, ``None`` values dropped (the API treats omitted and null alike) and an empty
    ``dex`` dropped (``""`` is the main dex), so equivalent requests share one entry.
    """
    canonical = {k: v for k, v in body.items() if v is not None and not (k == "dex" and v == "")}
    return ("info", json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str))


class InfoCache:
    """Applies cache policies to info requests on top of a :class:`TTLCache`.

    ``policies``: per request type, a :class:`CachePolicy` or a spec TTL in seconds (``None``/0:
    not cached) - typically ``{e.wire: e.cache_ttl for e in registry}``.  With ``replace=True``
    the table replaces the built-in one entirely; otherwise it overrides it per type.  Requests
    whose policy does not cache go straight to ``fetch``.
    """

    def __init__(
        self,
        cache: TTLCache,
        policies: Mapping[str, CachePolicy | float | None] | None = None,
        *,
        replace: bool = False,
    ) -> None:
        self.cache = cache
        self._policies: dict[str, CachePolicy] = {} if replace else dict(INFO_CACHE_POLICIES)
        for type_, policy in (policies or {}).items():
            self._policies[type_] = policy if isinstance(policy, CachePolicy) else CachePolicy.from_ttl(policy)

    def policy(self, info_type: str) -> CachePolicy:
        """The policy in force for ``info_type``."""
        return self._policies.get(info_type, _LIVE)

    def key(self, body: Mapping[str, Any]) -> Hashable:
        """Cache key of ``body``."""
        return info_cache_key(body)

    def call(
        self, body: Mapping[str, Any], fetch: Callable[[Mapping[str, Any]], Any], *, timeout: float | None = None
    ) -> Any:
        """``fetch(body)`` through the cache according to the policy of ``body["type"]``."""
        policy = self.policy(str(body.get("type")))
        if not policy.cached:
            return fetch(body)
        return self.cache.get_or_fetch(info_cache_key(body), lambda: fetch(body), ttl=policy.ttl, timeout=timeout)

    async def acall(
        self,
        body: Mapping[str, Any],
        fetch: Callable[[Mapping[str, Any]], Awaitable[Any]],
        *,
        timeout: float | None = None,
    ) -> Any:
        """Async :meth:`call`."""
        policy = self.policy(str(body.get("type")))
        if not policy.cached:
            return await fetch(body)
        return await self.cache.aget_or_fetch(
            info_cache_key(body), lambda: fetch(body), ttl=policy.ttl, timeout=timeout
        )
