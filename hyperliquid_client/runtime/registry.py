"""Run-time descriptions of endpoints and channels (instances are generated from the spec).

:class:`Registry` lists every endpoint and channel with its metadata: by context, or looked up
by wire name or snake_case name.  ``hyperliquid_client.generated.registry.REGISTRY`` is the instance
for the shipped spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

__all__ = ["CONTEXTS", "ChannelSpec", "EndpointSpec", "ParamSpec", "Registry"]

#: The HTTP contexts; channels have context ``"channel"``.
CONTEXTS = ("info", "exchange", "explorer", "stats")


@attrs.frozen
class ParamSpec:
    """One parameter of an endpoint or channel."""

    name: str
    wire: str
    type: str
    required: bool
    default: Any
    doc: str


@attrs.frozen
class EndpointSpec:
    """One HTTP endpoint (an info request type, an exchange action, an explorer or stats request)."""

    context: str
    wire: str
    name: str
    summary: str
    weight: int
    timeout: float | None
    retry: bool
    cache_ttl: float | None
    params: tuple[ParamSpec, ...]
    response: str
    doc: str = ""
    signing: str | None = None
    vault: bool = False
    storage: str | None = None
    weight_per_item: int | None = None
    primary_type: str | None = None
    eip712_fields: tuple[tuple[str, str], ...] = ()
    nonce_key: str | None = None
    batch_param: str | None = None
    #: the largest response body accepted from this endpoint (``None``: the transport's default)
    max_response_bytes: int | None = None

    @property
    def qualified_name(self) -> str:
        """``context.wire``, e.g. ``info.l2Book``."""
        return f"{self.context}.{self.wire}"


@attrs.frozen
class ChannelSpec:
    """One WebSocket subscription type."""

    wire: str
    name: str
    summary: str
    channels: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    message: str
    route: tuple[tuple[str, str], ...]
    user_param: str | None
    market_data: bool
    snapshot: bool
    doc: str = ""
    storage: str | None = None
    recovery: str | None = None
    explorer: bool = False
    items_key: str | None = None
    dedup: tuple[str, ...] = ()
    time_key: str = "time"
    context: str = "channel"

    @property
    def qualified_name(self) -> str:
        """``channel.wire``, e.g. ``channel.l2Book``."""
        return f"channel.{self.wire}"


Entry = EndpointSpec | ChannelSpec


class Registry:
    """Every endpoint and channel of a spec, for discovery at run time."""

    def __init__(self, endpoints: Iterable[EndpointSpec], channels: Iterable[ChannelSpec]) -> None:
        self._endpoints = tuple(endpoints)
        self._channels = tuple(channels)
        self._index: dict[tuple[str, str], Entry] = {}
        entries: list[Entry] = [*self._endpoints, *self._channels]
        for e in entries:
            self._index[(e.context, e.wire)] = e
            self._index[(e.context, e.name)] = e

    @property
    def endpoints(self) -> tuple[EndpointSpec, ...]:
        """All HTTP endpoints."""
        return self._endpoints

    @property
    def channels(self) -> tuple[ChannelSpec, ...]:
        """All WebSocket channels."""
        return self._channels

    def __iter__(self) -> Iterator[Entry]:
        yield from self._endpoints
        yield from self._channels

    def __len__(self) -> int:
        return len(self._endpoints) + len(self._channels)

    def by_context(self, context: str) -> tuple[Entry, ...]:
        """Every entry of ``context`` (``info``, ``exchange``, ``explorer``, ``stats`` or ``channel``)."""
        if context == "channel":
            return self._channels
        return tuple(e for e in self._endpoints if e.context == context)

    def find(self, name: str, context: str | None = None) -> Entry | None:
        """Look up by wire name (``l2Book``) or snake_case name (``l2_book``), optionally in one context.

        Without a context, HTTP contexts are searched in the order of :data:`CONTEXTS`, then channels.
        """
        contexts = (context,) if context else (*CONTEXTS, "channel")
        for ctx in contexts:
            hit = self._index.get((ctx, name))
            if hit is not None:
                return hit
        return None

    def get(self, name: str, context: str | None = None) -> Entry:
        """Like :meth:`find` but raises ``KeyError`` naming what was looked for."""
        hit = self.find(name, context)
        if hit is None:
            where = f" in context {context!r}" if context else ""
            raise KeyError(f"no endpoint or channel named {name!r}{where}")
        return hit
