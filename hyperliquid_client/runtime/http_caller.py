"""The callers behind the generated info, explorer and stats APIs.

For each call: pick the URL and method from the endpoint's context, the timeout (per call, else
per endpoint, else the transport default), the retry policy (the endpoint's ``retry`` flag), and
the cache policy (``cache.ttl`` of the spec: read-through with single flight, keyed by the whole
request body); then structure the answer with the generated ``parse`` function, reporting drift
from the spec to the caller's :class:`~hyperliquid_client.runtime.drift.DriftMonitor`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from hyperliquid_client.runtime.cache import TTLCache
from hyperliquid_client.runtime.config import Network
from hyperliquid_client.runtime.drift import DriftMonitor
from hyperliquid_client.runtime.errors import ApiRejectedError, InvalidResponseError
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport, RetryPolicy

__all__ = ["AsyncHttpCaller", "HttpCaller", "route"]

T = TypeVar("T")
_NO_RETRY = RetryPolicy(max_attempts=1)


def route(network: Network, endpoint: EndpointSpec, body: dict[str, Any]) -> tuple[str, str, Any]:
    """``(method, url, body)`` for ``endpoint`` on ``network``."""
    if endpoint.context == "info":
        return "POST", network.info_url, body
    if endpoint.context == "explorer":
        return "POST", network.explorer_url, body
    if endpoint.context == "stats":
        return "GET", f"{network.stats_url}/{endpoint.wire}", None
    if endpoint.context == "exchange":
        return "POST", network.exchange_url, body
    raise ValueError(f"unknown context {endpoint.context!r}")


def _cache_key(network: Network, endpoint: EndpointSpec, body: dict[str, Any]) -> tuple[str, str, str]:
    return (network.http_url, endpoint.qualified_name, json.dumps(body, sort_keys=True, separators=(",", ":")))


def _check_explorer(endpoint: EndpointSpec, raw: Any) -> Any:
    """Explorer errors arrive as HTTP 200 ``{"type": "error", "message": ...}``."""
    if endpoint.context == "explorer" and isinstance(raw, dict) and raw.get("type") == "error":
        raise ApiRejectedError(str(raw.get("message")), endpoint=endpoint.qualified_name, response=raw)
    return raw


def _checked(endpoint: EndpointSpec, body: dict[str, Any], raw: Any) -> Any:
    """``raw`` once it is an answer to ``body``: not an explorer error, and naming what was asked where the spec
    says it does (``echo``: an ``l2Book`` answer for another coin is refused, not cached as this one's)."""
    raw = _check_explorer(endpoint, raw)
    if raw.__class__ is dict:
        for field, key in endpoint.echo:
            asked = body.get(key)
            if asked is not None and field in raw and raw[field] != asked:
                raise InvalidResponseError(
                    f"$.{field}", f"{asked!r}, what was asked", raw[field], endpoint=endpoint.qualified_name
                )
    return raw


def _store(storage: Any, endpoint: EndpointSpec, body: dict[str, Any], raw: Any) -> None:
    """Hand a storable response (the spec's ``storage`` kind) to the client's storage writer."""
    if storage is not None and endpoint.storage is not None:
        storage.submit_http(endpoint.wire, raw, user=body.get("user"))


async def _astore(storage: Any, endpoint: EndpointSpec, body: dict[str, Any], raw: Any) -> None:
    """:func:`_store` for coroutines: waiting for buffer room suspends this call only, never the loop."""
    if storage is not None and endpoint.storage is not None:
        await storage.asubmit_http(endpoint.wire, raw, user=body.get("user"))


class HttpCaller:
    """Synchronous caller: transport + cache + structuring (see the module docs)."""

    def __init__(
        self,
        transport: HttpTransport,
        network: Network,
        *,
        cache: TTLCache | None = None,
        storage: Any = None,
        drift: DriftMonitor | None = None,
    ) -> None:
        self.transport = transport
        self.network = network
        self.cache = cache
        self.storage = storage
        self.drift = drift if drift is not None else DriftMonitor()

    def raw(self, endpoint: EndpointSpec, body: dict[str, Any], timeout: float | None = None) -> Any:
        """Send ``body`` and return the decoded JSON, without structuring or caching."""
        method, url, payload = route(self.network, endpoint, body)
        raw = self.transport.request_json(
            method,
            url,
            body=payload,
            context=endpoint.context,
            endpoint=endpoint.qualified_name,
            weight=endpoint.weight,
            timeout=timeout if timeout is not None else endpoint.timeout,
            retry=None if endpoint.retry else _NO_RETRY,
            max_response_bytes=endpoint.max_response_bytes,
        )
        return _checked(endpoint, body, raw)

    def call(self, endpoint: EndpointSpec, body: dict[str, Any], parse: Callable[[Any], T], timeout: float | None) -> T:
        """Send, (cache,) and structure; see the module docs."""

        def fetch() -> T:
            raw = self.raw(endpoint, body, timeout)
            result = self.drift.parse(parse, raw, endpoint.qualified_name)
            _store(self.storage, endpoint, body, raw)
            return result

        if self.cache is not None and endpoint.cache_ttl:
            return self.cache.get_or_fetch(
                _cache_key(self.network, endpoint, body), fetch, ttl=endpoint.cache_ttl, timeout=None
            )
        return fetch()


class AsyncHttpCaller:
    """Asynchronous caller: transport + cache + structuring (see the module docs)."""

    def __init__(
        self,
        transport: AsyncHttpTransport,
        network: Network,
        *,
        cache: TTLCache | None = None,
        storage: Any = None,
        drift: DriftMonitor | None = None,
    ) -> None:
        self.transport = transport
        self.network = network
        self.cache = cache
        self.storage = storage
        self.drift = drift if drift is not None else DriftMonitor()

    async def raw(self, endpoint: EndpointSpec, body: dict[str, Any], timeout: float | None = None) -> Any:
        """Send ``body`` and return the decoded JSON, without structuring or caching."""
        method, url, payload = route(self.network, endpoint, body)
        raw = await self.transport.request_json(
            method,
            url,
            body=payload,
            context=endpoint.context,
            endpoint=endpoint.qualified_name,
            weight=endpoint.weight,
            timeout=timeout if timeout is not None else endpoint.timeout,
            retry=None if endpoint.retry else _NO_RETRY,
            max_response_bytes=endpoint.max_response_bytes,
        )
        return _checked(endpoint, body, raw)

    async def call(
        self, endpoint: EndpointSpec, body: dict[str, Any], parse: Callable[[Any], T], timeout: float | None
    ) -> T:
        """Send, (cache,) and structure; see the module docs."""
        self.transport.bound.check()  # (a cached answer too: the client belongs to one loop)

        async def fetch() -> T:
            raw = await self.raw(endpoint, body, timeout)
            result = self.drift.parse(parse, raw, endpoint.qualified_name)
            await _astore(self.storage, endpoint, body, raw)
            return result

        if self.cache is not None and endpoint.cache_ttl:
            return await self.cache.aget_or_fetch(
                _cache_key(self.network, endpoint, body), fetch, ttl=endpoint.cache_ttl, timeout=None
            )
        return await fetch()
