"""A loaded spec as plain JSON, generically: what ``hyperliquid spec diff`` compares.

The encoding looks only at the model's attrs classes — it lists none of the spec's keys — so it
encodes the model of any revision.  This module needs nothing but the standard library and attrs:
``spec diff`` runs it in a subprocess with another revision's package first on the path, so that a
revision's spec is read by that revision's own loader (a spec format that changed between the two
revisions does not stop the comparison)::

    python spectree.py <package root> <spec folder>      # JSON on stdout, exit 2 for an invalid spec

Each node is a one-key object: ``{"r": {attribute: node}}`` for a model object, ``{"k": [[identity,
node], ...]}`` for a collection whose items have an identity (their ``wire``, ``key`` or ``name``,
or the first element of a pair, or its key in a mapping of model objects), ``{"v": [...]}`` for a collection of plain
values, ``{"x": value}`` for a value (a type expression as its canonical text).  An object that is
not an attrs class is a record of its public attributes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["CONTEXTS", "encode", "encode_spec"]

#: Endpoint contexts, grouped in this order at the top of the tree.
CONTEXTS = ("exchange", "info", "explorer", "stats")
#: Attributes that are not part of the spec's meaning: where it was read from, flags that only say
#: whether a sample key was present, values derived from other attributes.
SKIP = frozenset({"file", "context", "has_sample", "has_sample_response", "has_sample_message", "nonce_key", "fills"})
#: Attributes that identify an item of a collection, in order of preference.
IDENTITY = ("wire", "key", "name")


def _is_type_expr(value: Any) -> bool:
    return attrs.has(type(value)) and callable(getattr(value, "canonical", None))


def _is_model(value: Any) -> bool:
    return attrs.has(type(value)) and not _is_type_expr(value)


def _identity(obj: Any) -> str:
    for name in IDENTITY:
        if hasattr(obj, name):
            return str(getattr(obj, name))
    raise TypeError(f"no identity attribute on {type(obj).__name__}")


def encode(value: Any) -> dict[str, Any]:
    """The node of one model value (see the module docs)."""
    if _is_type_expr(value):
        return {"x": value.canonical()}
    if _is_model(value):
        return {"r": {f.name: encode(getattr(value, f.name)) for f in attrs.fields(type(value)) if f.name not in SKIP}}
    if isinstance(value, tuple):
        if value and all(_is_model(x) for x in value):
            return {"k": [[_identity(x), encode(x)] for x in value]}
        if value and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in value):
            return {"k": [[k, encode(v)] for k, v in value]}
        return {"v": list(value)}
    if isinstance(value, Mapping) and value and all(_is_model(v) for v in value.values()):
        return {"k": [[str(k), encode(v)] for k, v in value.items()]}  # e.g. named types by name
    if hasattr(value, "__dict__") and not isinstance(value, type):  # a plain object: its public attributes
        return {"r": {k: encode(v) for k, v in vars(value).items() if not k.startswith("_")}}
    return {"x": value}


def encode_spec(spec: Any) -> dict[str, Any]:
    """The whole spec: endpoints grouped by context, then each other collection of the model under its
    singular name (``channels`` → ``channel``, ``types`` → ``type``, ``requests`` → ``request``)."""
    top: dict[str, Any] = {ctx: {"k": []} for ctx in CONTEXTS}
    for e in spec.endpoints:
        top.setdefault(e.context, {"k": []})["k"].append([e.wire, encode(e)])
    for f in attrs.fields(type(spec)):
        if f.name != "endpoints":
            value = getattr(spec, f.name)
            if not isinstance(value, tuple | Mapping) and hasattr(value, "__dict__"):
                public = [v for k, v in vars(value).items() if not k.startswith("_")]
                value = public[0] if len(public) == 1 else value  # a holder of one collection is that collection
            name = f.name.removesuffix("s")
            top[name] = {"k": [[_identity(x), encode(x)] for x in value]} if isinstance(value, tuple) else encode(value)
    return {"r": top}


def _main(argv: list[str]) -> int:
    sys.path.insert(0, argv[0])
    from hyperliquid_client.codegen.loader import SpecError, load_spec

    try:
        spec = load_spec(argv[1])
    except SpecError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    json.dump(encode_spec(spec), sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
