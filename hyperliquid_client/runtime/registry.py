"""Run-time descriptions of endpoints and channels (instances are generated from the spec).

:class:`Registry` lists every endpoint and channel with its metadata: by context, or looked up
by wire name or snake_case name.  ``hyperliquid_client.generated.registry.REGISTRY`` is the instance
for the shipped spec.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.record import Record, record

__all__ = [
    "CONTEXTS",
    "DEFAULT_INFO_WEIGHT",
    "ChannelSpec",
    "EndpointSpec",
    "Endpoints",
    "ParamSpec",
    "Registry",
    "key_order",
    "key_order_problem",
    "raw_request",
]

#: The HTTP contexts; channels have context ``"channel"``.
CONTEXTS = ("info", "exchange", "explorer", "stats")

#: Rate-limit weight of an info request type the spec does not describe: Hyperliquid gives weight 20 to every
#: info request it does not list with another weight
#: (https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits-and-user-limits).
DEFAULT_INFO_WEIGHT = 20


@record
class ParamSpec(Record):
    """One parameter of an endpoint or channel."""

    name: str
    wire: str
    type: str
    required: bool
    default: Any
    doc: str


@record
class EndpointSpec(Record):
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
    #: exchange actions: structures the ``response`` of an ok answer by the spec's ``response`` type
    parse: Callable[[Any], Any] | None = None  # (neither compared nor shown: see ``_hidden``)
    #: most items one response holds (a response that full may be truncated: page on), when the spec says
    max_items: int | None = None
    #: The client's configured vault applies by default (``vault`` alone: only an explicit one).
    vault_default: bool = False
    #: Key order of the action (exchange): ``("rec", ((key, shape), ...))`` for a map (key ``"*"``: a
    #: merged tagged union), ``("list", shape)`` for a list, ``("one", ((tag, shape), ...))`` for a
    #: tagged union, ``None`` for a leaf.
    action_shape: Any = None
    #: The high-level methods of ``client.exchange`` that send this action (exchange).
    methods: tuple[str, ...] = ()
    #: ``(answer field, request key)`` pairs: an answer whose field differs from what was asked is not understood
    echo: tuple[tuple[str, str], ...] = ()
    _hidden: ClassVar[frozenset[str]] = frozenset({"parse"})
    _derived: ClassVar[tuple[str, ...]] = ("qualified_name",)
    #: ``context.wire``, e.g. ``info.l2Book`` (made once per endpoint: read several times per request; a slot set
    #: from the fields, declared ``ClassVar`` so that type checkers take it for no constructor argument)
    qualified_name: ClassVar[str]

    def _derive(self) -> None:
        object.__setattr__(self, "qualified_name", f"{self.context}.{self.wire}")


@record
class ChannelSpec(Record):
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
    #: seconds of silence after which the (normally busy) market-data stream is flagged stale by default
    stale_after: float | None = None
    #: what the server sends right after the ack: ``snapshot`` (``isSnapshot: true`` history),
    #: ``state`` (the current state), ``backfill`` (recent items) or ``none`` (only later events)
    initial: str = "state"
    context: str = "channel"
    subscribe_type: str | None = None
    #: explorer feeds (bare JSON arrays, no ``channel``/``data`` envelope): the item field only this feed's items have
    frame_field: str | None = None

    @property
    def subscription_type(self) -> str:
        """The ``type`` of the subscribe frame: ``subscribe_type`` when the spec gives one, else ``wire``."""
        return self.subscribe_type or self.wire

    @property
    def qualified_name(self) -> str:
        """``channel.wire``, e.g. ``channel.l2Book``."""
        return f"channel.{self.wire}"


Entry = EndpointSpec | ChannelSpec


class Endpoints(Mapping[str, EndpointSpec]):
    """Endpoints by qualified name (``context.wire``), in spec order.  ``built`` holds the entries made at import;
    ``elsewhere`` names, per module, the keys of entries made in that module (its ``ENDPOINTS``), imported on the
    first look-up of one of them: a client that sends no action never builds the exchange's ~60 entries."""

    def __init__(self, keys: Iterable[str], built: Mapping[str, EndpointSpec], elsewhere: Mapping[str, Iterable[str]]):
        self._keys = tuple(keys)
        self._built = dict(built)
        self._module_of = {key: module for module, keys in elsewhere.items() for key in keys}

    def __getitem__(self, key: str) -> EndpointSpec:
        try:
            return self._built[key]
        except KeyError:
            module = self._module_of.get(key)
            if module is None:
                raise
        self._built.update(importlib.import_module(module).ENDPOINTS)
        return self._built[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._built or key in self._module_of


class Registry:
    """Every endpoint and channel of a spec, for discovery at run time (indexed on first use)."""

    def __init__(self, endpoints: Iterable[EndpointSpec], channels: Iterable[ChannelSpec]) -> None:
        self._given = (endpoints, channels)

    @functools.cached_property
    def _index(self) -> dict[tuple[str, str], Entry]:
        index: dict[tuple[str, str], Entry] = {}
        for e in self:
            index[(e.context, e.wire)] = e
            index[(e.context, e.name)] = e
        return index

    @functools.cached_property
    def _endpoints(self) -> tuple[EndpointSpec, ...]:
        return tuple(self._given[0])

    @functools.cached_property
    def _channels(self) -> tuple[ChannelSpec, ...]:
        return tuple(self._given[1])

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


def raw_request(
    wire: Any, body: Mapping[str, Any], endpoints: Mapping[str, EndpointSpec]
) -> tuple[EndpointSpec, dict[str, Any]]:
    """The endpoint and request body of ``info.raw(wire, **body)`` (the escape hatch for any info type).

    A type the spec knows keeps its weight, timeout and retry policy (never its cache: a raw answer is not the
    structured one); an unknown type gets :data:`DEFAULT_INFO_WEIGHT`, the transport's timeout and the retry
    policy of info reads.  The body must be JSON; nothing is sent when it is not.
    """
    if not isinstance(wire, str) or not wire:
        raise InvalidInputError("type", "a non-empty info request type, e.g. 'l2Book'", wire)
    if "type" in body:
        raise InvalidInputError("type", "the request type only as the first argument", body["type"])
    request = {"type": wire, **body}
    for key, value in body.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidInputError(key, "a JSON value (str, int, bool, None, list or dict of those)", value) from None
    known = endpoints.get(f"info.{wire}")
    if known is not None:
        return known.replace(cache_ttl=None), request
    endpoint = EndpointSpec(
        context="info",
        wire=wire,
        name=wire,
        summary=f"info request {wire!r} (not in the spec)",
        weight=DEFAULT_INFO_WEIGHT,
        timeout=None,
        retry=True,
        cache_ttl=None,
        params=(),
        response="any",
    )
    return endpoint, request


def _record_keys(shape: Any, value: dict[str, Any]) -> list[tuple[str, Any]]:
    """The keys of ``value`` a record shape knows, in shape order, with their shapes."""
    out: list[tuple[str, Any]] = []
    for key, sub in shape[1]:
        if key == "*":
            out.extend((tag, tsub) for tag, tsub in sub[1] if tag in value)
        elif key in value:
            out.append((key, sub))
    return out


def key_order(shape: Any, value: Any) -> Any:
    """``value`` with every map's keys in the order of ``shape`` (keys the shape does not know last)."""
    if shape is None:
        return value
    if shape[0] == "rec" and isinstance(value, dict):
        known = _record_keys(shape, value)
        names = {k for k, _ in known}
        out = {k: key_order(sub, value[k]) for k, sub in known}
        out.update((k, v) for k, v in value.items() if k not in names)
        return out
    if shape[0] == "list" and isinstance(value, list):
        return [key_order(shape[1], x) for x in value]
    if shape[0] == "one" and isinstance(value, dict) and len(value) == 1:
        tag, payload = next(iter(value.items()))
        return {tag: key_order(dict(shape[1]).get(tag), payload)}
    return value


_POSITIONS: dict[int, tuple[Any, dict[str, tuple[int, Any]]]] = {}


def _positions(shape: Any) -> dict[str, tuple[int, Any]]:
    """A record or union shape's keys → (position, shape), cached per shape object."""
    cached = _POSITIONS.get(id(shape))
    if cached is None or cached[0] is not shape:
        index: dict[str, tuple[int, Any]] = {}
        for key, sub in shape[1]:
            if key == "*":
                index.update((tag, (len(index), tsub)) for tag, tsub in sub[1])
            else:
                index[key] = (len(index), sub)
        cached = _POSITIONS[id(shape)] = (shape, index)
    return cached[1]


def key_order_problem(shape: Any, value: Any, path: str = "action") -> str | None:
    """Where ``value``'s key order differs from ``shape`` (``None`` when it follows it)."""
    if shape is None:
        return None
    kind = shape[0]
    if kind == "rec" and isinstance(value, dict):
        index = _positions(shape)
        last = -1
        for key, item in value.items():
            known = index.get(key)
            if known is None:
                continue
            if known[0] < last:
                got = [k for k in value if k in index]
                return f"{path}: keys {got}, expected {sorted(got, key=lambda k: index[k][0])}"
            last = known[0]
            if known[1] is not None:
                problem = key_order_problem(known[1], item, f"{path}.{key}")
                if problem:
                    return problem
    elif kind == "list" and isinstance(value, list):
        if shape[1] is not None:
            for i, item in enumerate(value):
                problem = key_order_problem(shape[1], item, f"{path}[{i}]")
                if problem:
                    return problem
    elif kind == "one" and isinstance(value, dict) and len(value) == 1:
        for tag, payload in value.items():
            known = _positions(shape).get(tag)
            return None if known is None else key_order_problem(known[1], payload, f"{path}.{tag}")
    return None
