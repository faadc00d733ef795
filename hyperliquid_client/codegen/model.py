"""The validated model of a spec: what the templates render.

Built by :mod:`hyperliquid_client.codegen.loader`; every object here is already checked (names are
identifiers, types resolve, no duplicates), so templates never need to validate anything.
"""

from __future__ import annotations

from typing import Any

import attrs

from hyperliquid_client.codegen.requests import RequestAction, Requests
from hyperliquid_client.codegen.typeexpr import TypeExpr

__all__ = ["Channel", "Endpoint", "Field", "Param", "Spec", "TypeDef"]

#: Parameter types and their Python annotations.
PARAM_PY = {
    "str": "str",
    "coin": "str",
    "int": "int",
    "time": "int",
    "bool": "bool",
    "address": "str",
    "address_text": "str",
    "amount": "Decimal | float | int | str",
    "hash": "str",
    "cloid": "str",
    "oid_or_cloid": "int | str",
    "decimal": "Decimal | float | int | str",
    "any": "Any",
}


@attrs.frozen
class Param:
    """A request parameter."""

    name: str
    wire: str
    type: str
    required: bool
    default: Any
    doc: str
    choices: tuple[Any, ...] | None
    sample: Any
    has_sample: bool
    #: sent only when the named sibling parameter has this value (``only_with: {n_sig_figs: 5}``)
    only_with: tuple[str, Any] | None = None
    #: not greater than the named sibling parameter when both are given (``not_after: end_time``)
    not_after: str | None = None

    @property
    def item_type(self) -> str:
        """For ``list[X]`` params the item type ``X``, else the type itself."""
        return self.type[5:-1] if self.type.startswith("list[") else self.type

    @property
    def is_list(self) -> bool:
        """Whether the parameter is a list of values."""
        return self.type.startswith("list[")

    @property
    def python(self) -> str:
        """Annotation of the parameter in generated signatures."""
        base = PARAM_PY[self.item_type]
        if self.is_list:
            base = f"Sequence[{base}]"
        if not self.required and self.default is None:
            return "Any" if base == "Any" else f"{base} | None"
        return base


@attrs.frozen
class Field:
    """A field of a model type."""

    wire: str
    name: str
    type: TypeExpr
    optional: bool
    doc: str


#: field types a ``shared`` type may have, and the class of their wire value (what a decoded value is keyed by)
SHARED_PRIMITIVES = {
    "str": "str",
    "address": "str",
    "decimal": "str",
    "udecimal": "str",
    "int": "int",
    "uint": "int",
    "bool": "bool",
}


@attrs.frozen
class TypeDef:
    """A named type: a model (``fields``), an enum (``enum`` values) or a union.

    A union is discriminated by the value of a field (``tag`` + ``variants``: tag value -> type) or
    by which key is present (``by_key``: key -> type, optionally ``strings``: an enum of bare
    string members).
    """

    name: str
    doc: str
    file: str
    fields: tuple[Field, ...] = ()
    tag: str | None = None
    variants: tuple[tuple[str, str], ...] = ()
    by_key: tuple[tuple[str, str], ...] = ()
    strings: str | None = None
    enum: tuple[str, ...] = ()
    #: equal values decode to one shared instance (small immutable values repeated across messages: book levels)
    shared: bool = False

    @property
    def is_union(self) -> bool:
        """Whether this is a union (by tag or by key)."""
        return self.tag is not None or bool(self.by_key)

    @property
    def is_enum(self) -> bool:
        """Whether this is an enum of string values."""
        return bool(self.enum)

    @property
    def is_record(self) -> bool:
        """Whether this is a model with fields."""
        return not self.is_union and not self.is_enum


@attrs.frozen
class Endpoint:
    """An info, exchange, explorer or stats endpoint."""

    context: str
    wire: str
    name: str
    file: str
    summary: str
    doc: str
    weight: int
    weight_per_item: int | None
    timeout: float | None
    retry: bool
    cache_ttl: float | None
    params: tuple[Param, ...]
    nest: str | None
    response: TypeExpr
    sample_response: Any
    has_sample_response: bool
    storage: str | None
    action: RequestAction | None = None
    max_response_bytes: int | None = None
    max_items: int | None = None
    #: ``(answer field, request parameter)``: the answer names what was asked for (``l2Book``'s ``coin``)
    echo: tuple[tuple[str, str], ...] = ()

    @property
    def required_params(self) -> tuple[Param, ...]:
        """Parameters without defaults, in order."""
        return tuple(p for p in self.params if p.required)

    @property
    def optional_params(self) -> tuple[Param, ...]:
        """Keyword-only parameters, in order."""
        return tuple(p for p in self.params if not p.required)


@attrs.frozen
class Channel:
    """A WebSocket subscription type."""

    wire: str
    name: str
    file: str
    summary: str
    doc: str
    channels: tuple[str, ...]
    params: tuple[Param, ...]
    message: TypeExpr
    route: tuple[tuple[str, str], ...]
    user_param: str | None
    market_data: bool
    snapshot: bool
    storage: str | None
    recovery: str | None
    explorer: bool
    sample_message: Any
    has_sample_message: bool
    items_key: str | None = None
    dedup: tuple[str, ...] = ()
    time_key: str = "time"
    subscribe_type: str = ""
    initial: str = "state"
    #: explorer feeds: the item field that tells this channel's bare array frames from the other explorer feed's
    frame_field: str | None = None

    @property
    def sub_type(self) -> str:
        """The ``type`` of the subscribe frame (``subscribe_type``, else ``wire``)."""
        return self.subscribe_type or self.wire

    stale_after: float | None = None

    @property
    def required_params(self) -> tuple[Param, ...]:
        """Parameters without defaults, in order."""
        return tuple(p for p in self.params if p.required)

    @property
    def optional_params(self) -> tuple[Param, ...]:
        """Keyword-only parameters, in order."""
        return tuple(p for p in self.params if not p.required)


@attrs.frozen
class Spec:
    """A whole, validated spec."""

    endpoints: tuple[Endpoint, ...]
    channels: tuple[Channel, ...]
    types: tuple[TypeDef, ...]
    requests: Requests = attrs.Factory(lambda: Requests({}))

    def by_context(self, context: str) -> tuple[Endpoint, ...]:
        """Endpoints of one context, sorted by name."""
        return tuple(sorted((e for e in self.endpoints if e.context == context), key=lambda e: e.name))
