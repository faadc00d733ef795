"""Compare two versions of the spec: a changelog where every change is classified.

::

    hyperliquid spec diff main                    # the working tree's spec against main, Markdown
    hyperliquid spec diff v1 v2 --format json     # two git revisions (or two folders), JSON
    hyperliquid spec diff main --fail-on breaking # exit 1 when a breaking or signing-breaking change is found

How it works: both sides are loaded and validated with :func:`~hyperliquid_client.codegen.loader.load_spec`,
each loaded model is turned into a tree (records, keyed collections, value sets, leaves) by looking at
the model's attrs classes — nothing here lists the spec's keys one by one — and the two trees are
compared.  Each raw change (added, removed, changed, reordered, at a path such as
``info/l2Book/params/nSigFigs/required``) is then classified by the first matching rule of
:data:`RULES`.  A construct the model gains later (a new attribute, a new kind of collection) is
diffed without any change here; a test checks that every path of the model meets a rule, so a
new attribute cannot slip through unclassified (the last rule treats the unknown as breaking).

Severities (most severe first):

* ``signing-breaking``: the bytes signed for an exchange action change (action keys, their order,
  constants, omit rules, EIP-712 types and field order, signing kind, vault participation, how a
  parameter is encoded, anything about a type that takes part in a signed payload);
* ``breaking``: a caller's code or its expectations of the data break (a removed endpoint,
  parameter or field, a parameter that becomes required, a type narrowed or changed, an enum value
  removed, a response field that may now be missing);
* ``non-breaking``: additions (endpoint, optional parameter, response field, enum value);
* ``info``: docs, samples, weights, timeouts, cache and retry policies, and wire facts the library
  absorbs (channel routing, storage kinds).

A rename is never guessed: it is reported as a removal plus an addition, with a hint when the
removed and the added item have the same shape.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import attrs

from hyperliquid_client.codegen import spectree
from hyperliquid_client.codegen.loader import SpecError, load_spec
from hyperliquid_client.codegen.model import Spec
from hyperliquid_client.codegen.spectree import CONTEXTS, encode_spec
from hyperliquid_client.codegen.typeexpr import TypeExpr, TypeExprError, parse_type

__all__ = [
    "RULES",
    "SEVERITIES",
    "Change",
    "Rule",
    "add_arguments",
    "diff_specs",
    "diff_trees",
    "load_side",
    "render_json",
    "render_markdown",
    "render_summary",
    "run",
    "summary",
]

SIGNING, BREAKING, NON_BREAKING, INFO = "signing-breaking", "breaking", "non-breaking", "info"
#: Every severity, most severe first.
SEVERITIES = (SIGNING, BREAKING, NON_BREAKING, INFO)
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_CONTEXT_ORDER = (*CONTEXTS, "channel", "type")


# ------------------------------------------------------------------------------------------------ the tree
class _Record(dict[str, Any]):
    """A model object: attribute name → node."""


class _Keyed(dict[str, Any]):
    """A collection whose items have an identity (parameters by wire name, fields, action keys...)."""


class _Values(tuple[Any, ...]):
    """A collection of plain values (choices, dedup keys...): compared as a set, plus its order."""


def _decode(node: dict[str, Any]) -> Any:
    """The tree of a node of :mod:`~hyperliquid_client.codegen.spectree`'s JSON."""
    ((tag, value),) = node.items()
    if tag == "r":
        return _Record((k, _decode(v)) for k, v in value.items())
    if tag == "k":
        return _Keyed((k, _decode(v)) for k, v in value)
    if tag == "v":
        return _Values(value)
    return value


def spec_tree(spec: Spec) -> _Record:
    """The whole spec as a tree: ``{context: {wire: endpoint}, "channel": ..., "type": ...}``."""
    tree: _Record = _decode(encode_spec(spec))
    return tree


# ------------------------------------------------------------------------------------------------ changes
@attrs.frozen
class Change:
    """One classified change.

    ``path`` starts with the context (``info``, ``exchange``, ``explorer``, ``stats``, ``channel``
    or ``type``) and the endpoint's, channel's or type's name; the rest leads to what changed
    (``params/nSigFigs/required``).  ``kind`` is ``added``, ``removed``, ``changed`` or
    ``reordered``; ``old``/``new`` are JSON values (for a reordering, the orders of the items both
    sides share).
    """

    severity: str
    kind: str
    path: tuple[str, ...]
    message: str
    old: Any = None
    new: Any = None
    hint: str | None = None

    @property
    def subject(self) -> str:
        """``context.name`` of the endpoint, channel or type the change belongs to."""
        return ".".join(self.path[:2])

    def sort_key(self) -> tuple[Any, ...]:
        """Severity, then subject, then path: the stable order of every output."""
        top = _CONTEXT_ORDER.index(self.path[0]) if self.path[0] in _CONTEXT_ORDER else len(_CONTEXT_ORDER)
        return (_RANK[self.severity], top, self.path, self.kind, _text(self.new))

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``hint`` only when there is one)."""
        out: dict[str, Any] = {
            "severity": self.severity,
            "kind": self.kind,
            "subject": self.subject,
            "path": "/".join(self.path[2:]),
            "message": self.message,
            "old": self.old,
            "new": self.new,
        }
        if self.hint:
            out["hint"] = self.hint
        return out


@attrs.frozen
class _Raw:
    """A change before classification."""

    kind: str
    path: tuple[str, ...]
    old: Any = None
    new: Any = None
    item: bool = False  # an item of a collection was added or removed (``old``/``new`` is the item's tree)
    format: bool = False  # an attribute only one side's model has: the spec format changed


def _same(a: Any, b: Any) -> bool:
    """Equality that tells ``true`` from ``1`` and keeps the order of mappings (it matters when signed)."""
    return type(a) is type(b) and _text(a) == _text(b)


def _text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _diff(a: Any, b: Any, path: tuple[str, ...], out: list[_Raw]) -> None:
    if isinstance(a, _Values) and not a and isinstance(b, _Keyed):
        a = _Keyed()
    if isinstance(b, _Values) and not b and isinstance(a, _Keyed):
        b = _Keyed()
    if isinstance(a, _Record) and isinstance(b, _Record):
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in b:
                out.append(_Raw("removed", (*path, key), old=a[key], format=True))
            elif key not in a:
                out.append(_Raw("added", (*path, key), new=b[key], format=True))
            else:
                _diff(a[key], b[key], (*path, key), out)
        return
    if isinstance(a, _Keyed) and isinstance(b, _Keyed):
        for key in a:
            if key not in b:
                out.append(_Raw("removed", (*path, key), old=a[key], item=True))
        for key in b:
            if key not in a:
                out.append(_Raw("added", (*path, key), new=b[key], item=True))
        for key in a:
            if key in b:
                _diff(a[key], b[key], (*path, key), out)
        _order(list(a), list(b), path, out)
        return
    if isinstance(a, _Values) and isinstance(b, _Values):
        old_texts, new_texts = [_text(x) for x in a], [_text(x) for x in b]
        for x, t in zip(a, old_texts, strict=True):
            if t not in new_texts:
                out.append(_Raw("removed", path, old=x))
        for x, t in zip(b, new_texts, strict=True):
            if t not in old_texts:
                out.append(_Raw("added", path, new=x))
        _order(old_texts, new_texts, path, out, values=(list(a), list(b)))
        return
    if not _same(_plain(a), _plain(b)):
        out.append(_Raw("changed", path, old=_plain(a), new=_plain(b)))


def _order(
    old: list[str],
    new: list[str],
    path: tuple[str, ...],
    out: list[_Raw],
    values: tuple[list[Any], list[Any]] | None = None,
) -> None:
    shared_old = [k for k in old if k in new]
    shared_new = [k for k in new if k in old]
    if shared_old != shared_new:
        if values is not None:
            by_text = dict(zip(old, values[0], strict=True))
            out.append(_Raw("reordered", path, [by_text[k] for k in shared_old], [by_text[k] for k in shared_new]))
        else:
            out.append(_Raw("reordered", path, shared_old, shared_new))


def _plain(node: Any) -> Any:
    """A tree as plain JSON values."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, tuple | list):
        return [_plain(v) for v in node]
    return node


# ------------------------------------------------------------------------------------------------ rules
class _Context:
    """What rules may look at: both specs' trees and the roles of named types."""

    def __init__(self, old: _Record, new: _Record) -> None:
        self.old, self.new = old, new
        self.roles = _merge_roles(_roles(old), _roles(new))

    def lookup(self, tree: _Record, path: Sequence[str]) -> Any:
        """The node at ``path`` in ``tree`` (``None`` when there is none)."""
        node: Any = tree
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


def _merge_roles(a: dict[str, set[str]], b: dict[str, set[str]]) -> dict[str, set[str]]:
    out = {k: set(v) for k, v in a.items()}
    for k, v in b.items():
        out.setdefault(k, set()).update(v)
    return out


#: Roles of a named type: ``output`` (in responses and messages), ``input`` (in request parameters)
#: and ``signed`` (in an exchange action's payload).
def _roles(tree: _Record) -> dict[str, set[str]]:
    types: _Keyed = tree["type"]
    direct: dict[str, set[str]] = {}

    def refs(value: Any) -> list[str]:
        if not isinstance(value, str):
            return []
        try:
            return [r for r in parse_type(value).named_refs() if r in types]
        except TypeExprError:
            return []

    def walk(node: Any, role: str, attr: str) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, role, key if isinstance(node, _Record) else attr)
        elif isinstance(node, tuple):
            for child in node:
                walk(child, role, attr)
        elif attr in ("type", "response", "message"):
            for name in refs(node):
                direct.setdefault(name, set()).add(role)

    for ctx in (*_CONTEXT_ORDER[:-1], *(k for k in tree if k not in _CONTEXT_ORDER)):
        for item in tree[ctx].values():
            for attr, child in item.items():
                if attr in ("response", "message"):
                    role = "output"
                elif ctx == "exchange":
                    role = "signed"
                else:
                    role = "input"
                if attr in ("response", "message", "params", "action", "request", "payload"):
                    walk(child, role, attr)
    roles: dict[str, set[str]] = {}
    for name, rs in direct.items():
        stack = [name]
        seen: set[str] = set()
        while stack:
            t = stack.pop()
            if t in seen or t not in types:
                continue
            seen.add(t)
            roles.setdefault(t, set()).update(rs)
            td = types[t]
            for f in (td.get("fields") or {}).values():
                stack.extend(refs(f.get("type")))
            for v in (td.get("variants") or {}).values():
                stack.extend(refs(v))
    return roles


Classify = Callable[[_Raw, _Context], str]


@attrs.frozen
class Rule:
    """``pattern`` (``/``-separated segments; ``*`` one segment, ``**`` any number, ``a|b`` either)
    and the change ``kinds`` it applies to (all when empty) → a severity, or a function of the change."""

    pattern: str
    severity: str | Classify
    kinds: tuple[str, ...] = ()
    why: str = ""

    def matches(self, raw: _Raw) -> bool:
        if self.kinds and raw.kind not in self.kinds:
            return False
        return _match(tuple(self.pattern.split("/")), raw.path)

    def classify(self, raw: _Raw, ctx: _Context) -> str:
        return self.severity if isinstance(self.severity, str) else self.severity(raw, ctx)


def _match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    if not path:
        return False
    return any(fnmatch.fnmatchcase(path[0], alt) for alt in head.split("|")) and _match(rest, path[1:])


def _type_relation(old: Any, new: Any) -> str:
    """``widened`` (every old value is still valid), ``narrowed`` (the reverse), or ``changed``."""
    try:
        a, b = parse_type(str(old)), parse_type(str(new))
    except TypeExprError:
        if new == "any":
            return "widened"
        return "narrowed" if old == "any" else "changed"
    if _wider(a, b):
        return "widened"
    if _wider(b, a):
        return "narrowed"
    return "changed"


_WIDER_PRIMS = {("int", "decimal"), ("int", "float"), ("coin", "str"), ("address", "str"), ("hash", "str")}


def _wider(a: TypeExpr, b: TypeExpr) -> bool:
    """Whether every value of type ``a`` is a value of type ``b``."""
    if a == b or (b.kind == "prim" and b.name == "any"):
        return True
    if b.kind == "nullable":
        return _wider(a.args[0] if a.kind == "nullable" else a, b.args[0])
    if a.kind == "nullable":
        return False
    if a.kind in ("prim", "named") and b.kind in ("prim", "named"):
        return (a.name, b.name) in _WIDER_PRIMS
    if a.kind == b.kind and len(a.args) == len(b.args):
        return all(_wider(x, y) for x, y in zip(a.args, b.args, strict=True))
    return False


def _output_type(raw: _Raw, ctx: _Context) -> str:
    """A response type: only narrowing (``T | null`` → ``T``) is harmless."""
    return NON_BREAKING if _type_relation(raw.old, raw.new) == "narrowed" else BREAKING


def _input_type(raw: _Raw, ctx: _Context) -> str:
    """A parameter type: widening is harmless, anything else breaks callers."""
    return NON_BREAKING if _type_relation(raw.old, raw.new) == "widened" else BREAKING


def _values(raw: _Raw, ctx: _Context) -> str:
    """Allowed values: adding one is harmless, removing one (or restricting a free value) breaks."""
    if raw.kind == "added" or (raw.kind == "changed" and raw.new is None):
        return NON_BREAKING
    if raw.kind == "reordered":
        return INFO
    return BREAKING


def _param_added(raw: _Raw, ctx: _Context) -> str:
    """A new parameter breaks callers unless it may be left out."""
    optional = raw.new.get("optional") or raw.new.get("has_default") or not raw.new.get("required", True)
    return NON_BREAKING if optional else BREAKING


def _params_reordered(raw: _Raw, ctx: _Context) -> str:
    """Only the order of required (positional) parameters matters to callers."""
    endpoint = raw.path[:2]
    old = ctx.lookup(ctx.old, (*endpoint, "params")) or {}
    new = ctx.lookup(ctx.new, (*endpoint, "params")) or {}
    positional_old = [k for k in raw.old if old[k].get("required")]
    positional_new = [k for k in raw.new if new[k].get("required")]
    return BREAKING if positional_old != positional_new else INFO


def _request_member(raw: _Raw, ctx: _Context) -> str:
    """A field of a request record changes the signed keys; a variant of a ``oneof`` is one more (or one
    less) choice, like an enum value."""
    kind = ctx.lookup(ctx.new if raw.kind == "added" else ctx.old, (*raw.path[:2], "kind"))
    if kind == "oneof":
        return NON_BREAKING if raw.kind == "added" else BREAKING
    return SIGNING


def _required(raw: _Raw, ctx: _Context) -> str:
    return BREAKING if raw.new else NON_BREAKING


def _by_role(per_role: Callable[[str, _Raw, _Context], str]) -> Classify:
    """A change of a named type: the most severe outcome over the roles the type plays."""

    def classify(raw: _Raw, ctx: _Context) -> str:
        roles = ctx.roles.get(raw.path[1]) or {"output"}
        return min((per_role(role, raw, ctx) for role in roles), key=_RANK.__getitem__)

    return classify


def _field_set(role: str, raw: _Raw, ctx: _Context) -> str:
    if role == "signed":
        return SIGNING
    if raw.kind == "reordered":
        return INFO
    if raw.kind == "removed":
        return BREAKING
    optional = bool(raw.new.get("optional"))
    if role == "input":
        return NON_BREAKING if optional else BREAKING
    return NON_BREAKING


def _field_optional(role: str, raw: _Raw, ctx: _Context) -> str:
    if role == "signed":
        return SIGNING
    now_optional = bool(raw.new)
    if role == "input":
        return NON_BREAKING if now_optional else BREAKING
    return BREAKING if now_optional else NON_BREAKING


def _field_type(role: str, raw: _Raw, ctx: _Context) -> str:
    if role == "signed":
        return SIGNING
    return (_input_type if role == "input" else _output_type)(raw, ctx)


def _variant_set(role: str, raw: _Raw, ctx: _Context) -> str:
    if role == "signed":
        return SIGNING
    return {"added": NON_BREAKING, "reordered": INFO}.get(raw.kind, BREAKING)


def _field_values(role: str, raw: _Raw, ctx: _Context) -> str:
    return SIGNING if role == "signed" else _values(raw, ctx)


def _signed_or(severity: str) -> Callable[[str, _Raw, _Context], str]:
    return lambda role, raw, ctx: SIGNING if role == "signed" else severity


_ENDPOINTS = "info|explorer|stats|exchange|channel"
_REQUESTS = "info|explorer|stats|channel"

#: The classification rules, first match wins (see the module docs and ``docs/maintaining.md``).
RULES: tuple[Rule, ...] = (
    # texts and samples never change behaviour
    Rule("**/summary|doc|docs", INFO, why="documentation"),
    Rule("**/sample|sample_response|sample_message", INFO, why="sample (used by the generated tests)"),
    # whole endpoints, channels and types
    Rule("*/*", NON_BREAKING, ("added",)),
    Rule("*/*", BREAKING, ("removed",)),
    # Python names are what callers type
    Rule("**/name", BREAKING, why="callers use the Python name"),
    Rule("**/wire|key", BREAKING),
    # policies
    Rule(f"{_ENDPOINTS}/*/weight|weight_per_item|timeout|retry|cache_ttl|storage|max_response_bytes|max_items", INFO),
    Rule(f"{_ENDPOINTS}/*/echo", NON_BREAKING, why="answers naming something else than was asked are refused"),
    Rule(f"{_ENDPOINTS}/*/echo/*", NON_BREAKING, why="answers naming something else than was asked are refused"),
    Rule(
        "channel/*/channels|route|market_data|recovery|stale_after|items_key|dedup|time_key|explorer|frame_field|user_param|subscribe_type",
        INFO,
    ),
    Rule("channel/*/route/*", INFO),
    Rule("channel/*/snapshot|initial", BREAKING, why="changes the messages subscribers receive"),
    Rule(f"{_ENDPOINTS}/*/nest", INFO, why="the library builds the request body"),
    # the high-level methods of an exchange action (Python API; their defaults reach the signed action)
    Rule("exchange/*/action/methods/*", NON_BREAKING, ("added",)),
    Rule("exchange/*/action/methods", INFO, ("reordered",)),
    Rule("exchange/*/action/methods/*/example", INFO, why="example (used by the generated tests)"),
    Rule("exchange/*/action/methods/*/defaults|defaults/**", SIGNING, why="changes what is signed when omitted"),
    Rule("exchange/*/action/methods/**", BREAKING, why="changes the method callers use"),
    Rule("exchange/*/action/fields|inputs/*/flatten|nonempty", BREAKING, why="changes the method callers use"),
    Rule("exchange/*/action/inputs/*", _param_added, ("added",)),
    Rule("exchange/*/action/inputs/*", BREAKING, ("removed",)),
    Rule("exchange/*/action/inputs", INFO, ("reordered",)),
    # signed bytes
    Rule("exchange/*/action/batch_param", INFO, why="only sets the weight"),
    Rule("*/*/action/**", SIGNING, why="changes the signed action"),
    # request types (spec/types/requests.yaml): all on the wire of signed actions
    Rule("request/*", NON_BREAKING, ("added",)),
    Rule("request/*/python", BREAKING, why="changes the constructor callers use"),
    Rule("request/*/fields/*/flatten|nonempty", BREAKING, why="changes the method callers use"),
    Rule("request/*/values", _values),
    Rule("request/*/fields/*", _request_member, ("added", "removed")),
    Rule("request/**", SIGNING, why="changes the signed action"),
    # parameters
    Rule(f"{_ENDPOINTS}/*/params/*", BREAKING, ("removed",)),
    Rule(f"{_ENDPOINTS}/*/params/*", _param_added, ("added",)),
    Rule(f"{_ENDPOINTS}/*/params", _params_reordered, ("reordered",)),
    Rule(f"{_ENDPOINTS}/*/params/*/required", _required),
    Rule(f"{_ENDPOINTS}/*/params/*/only_with|not_after", _required),  # a new rule between parameters refuses more
    Rule(f"{_ENDPOINTS}/*/params/*/choices|enum", _values),
    Rule("exchange/*/params/**", SIGNING, why="changes how the value is encoded in the signed action"),
    Rule(f"{_REQUESTS}/*/params/*/type", _input_type),
    Rule(f"{_REQUESTS}/*/params/*/default", BREAKING, why="changes what is sent when the argument is omitted"),
    # responses
    Rule(f"{_ENDPOINTS}/*/response|message", _output_type),
    # named types, by the roles they play
    Rule("type/*/fields/*", _by_role(_field_set), ("added", "removed")),
    Rule("type/*/fields", _by_role(_field_set), ("reordered",)),
    Rule("type/*/fields/*/optional", _by_role(_field_optional)),
    Rule("type/*/fields/*/type", _by_role(_field_type)),
    Rule("type/*/fields/*/choices|enum", _by_role(_field_values)),
    Rule("type/*/enum", _by_role(_field_values)),
    Rule("type/*/variants|by_key/*", _by_role(_variant_set), ("added", "removed")),
    Rule("type/*/variants|by_key", _by_role(_variant_set), ("reordered",)),
    Rule("type/*/variants|by_key/*", _by_role(_signed_or(BREAKING)), ("changed",)),
    Rule("type/*/tag|fields|strings", _by_role(_signed_or(BREAKING)), ("changed",)),
    Rule("type/*/shared", INFO, why="equal values decoded once (the values are the same)"),
    # anything no rule above knows
    Rule("**", BREAKING, why="no rule classifies this change"),
)


def _rule_for(raw: _Raw) -> Rule:
    return next(r for r in RULES if r.matches(raw))


# ------------------------------------------------------------------------------------------------ messages
_NOUNS = {
    "info": "info",
    "exchange": "exchange action",
    "explorer": "explorer request",
    "stats": "stats request",
    "channel": "channel",
    "type": "type",
    "request": "request type",
}
_ITEMS = {
    "params": "parameter",
    "fields": "field",
    "keys": "action key",
    "methods": "method",
    "inputs": "input",
    "variants": "variant",
    "by_key": "variant",
    "enum": "enum value",
    "eip712_fields": "EIP-712 field",
    "route": "route parameter",
    "choices": "choice",
    "dedup": "dedup field",
    "channels": "data channel",
}
_LABELS = {
    "cache_ttl": "cache TTL (s)",
    "timeout": "timeout (s)",
    "const": "constant",
    "has_const": "has a constant",
    "omit_if_none": "omit rule (omit_if_none)",
    "signing": "signing kind",
    "vault": "vault participation",
    "primary_type": "EIP-712 primary type",
    "eip712_fields": "EIP-712 fields",
    "keys": "action keys",
    "params": "parameters",
    "fields": "fields",
    "name": "Python name",
    "items_key": "items key",
    "time_key": "time key",
    "batch_param": "batch parameter",
    "weight_per_item": "weight per item",
    "max_response_bytes": "largest answer accepted (bytes)",
    "user_param": "user parameter",
    "subscribe_type": "subscription type",
    "stale_after": "stale after (s)",
    "max_items": "most items per answer",
    "echo": "answer fields repeating the request",
    "sample": "sample value",
    "sample_response": "sample answer",
    "sample_message": "sample message",
}


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else _text(value)
    return f"`{text}`" if len(text) <= 60 else "(long value)"


def _where(path: tuple[str, ...]) -> tuple[str, str]:
    """``(prefix, last attribute)``: ``parameter `nSigFigs`, required`` for ``params/nSigFigs/required``."""
    parts = [f"{_NOUNS.get(path[0], path[0])} `{path[1]}`"]
    rest = list(path[2:])
    last = ""
    i = 0
    while i < len(rest):
        attr = rest[i]
        if attr in _ITEMS and i + 1 < len(rest):
            parts.append(f"{_ITEMS[attr]} `{rest[i + 1]}`")
            i += 2
            continue
        if i == len(rest) - 1:
            last = attr
        i += 1  # a record on the way (``action``) adds nothing the next parts do not say
    return ", ".join(parts), last


def _message(raw: _Raw, hint: str | None) -> str:
    where, last = _where(raw.path)
    label = "sample action" if (raw.path[0], last) == ("exchange", "sample_response") else _LABELS.get(last, last)
    if raw.item or (raw.kind in ("added", "removed") and not last):
        text = f"{where} {raw.kind}"
        if raw.kind == "added" and raw.path[-2:-1] == ("params",):
            text += " (required)" if raw.new.get("required", True) else " (optional)"
    elif raw.kind in ("added", "removed"):
        noun = _ITEMS.get(last, label)
        value = raw.new if raw.kind == "added" else raw.old
        text = f"{where}: {noun} {_short(value)} {raw.kind}"
    elif raw.kind == "reordered":
        text = f"{where}: {label} reordered: {', '.join(map(str, raw.old))} → {', '.join(map(str, raw.new))}"
    else:
        text = f"{where}: {label} {_short(raw.old)} → {_short(raw.new)}"
    return text


def _shape(node: Any) -> str:
    """A node without its names and texts: equal shapes suggest (never prove) a rename."""

    def strip(n: Any) -> Any:
        if isinstance(n, _Record):
            return {k: strip(v) for k, v in n.items() if k not in _NAMES}
        if isinstance(n, dict):
            return {k: strip(v) for k, v in n.items()}
        if isinstance(n, tuple | list):
            return [strip(v) for v in n]
        return n

    return _text(strip(node))


_NAMES = frozenset({"wire", "name", "key", "summary", "doc", "docs", "sample", "sample_response", "sample_message"})


def _rename_hints(raws: list[_Raw]) -> dict[int, str]:
    """For removed/added item pairs of one collection with the same shape: a hint on both."""
    hints: dict[int, str] = {}
    groups: dict[tuple[str, ...], tuple[list[int], list[int]]] = {}
    for i, r in enumerate(raws):
        if r.item:
            removed, added = groups.setdefault(r.path[:-1], ([], []))
            (removed if r.kind == "removed" else added).append(i)
    for removed, added in groups.values():
        for i in removed:
            same = [j for j in added if _shape(raws[j].new) == _shape(raws[i].old)]
            if len(same) == 1:
                j = same[0]
                old_name, new_name = raws[i].path[-1], raws[j].path[-1]
                hints[i] = f"same shape as the added `{new_name}`: if this is a rename, callers still see a removal"
                hints[j] = f"same shape as the removed `{old_name}`: if this is a rename, callers still see a removal"
    return hints


def diff_specs(old: Spec, new: Spec) -> list[Change]:
    """Every change from ``old`` to ``new``, classified, in the stable order of :meth:`Change.sort_key`."""
    return diff_trees(spec_tree(old), spec_tree(new))


def diff_trees(a: _Record, b: _Record) -> list[Change]:
    """:func:`diff_specs` of two specs' trees (:func:`spec_tree`, or a revision's :func:`load_side`)."""
    raws: list[_Raw] = []
    _diff(a, b, (), raws)
    ctx = _Context(a, b)
    hints = _rename_hints(raws)
    changes = []
    for i, raw in enumerate(raws):
        rule = _rule_for(raw)
        severity = rule.classify(raw, ctx)
        if raw.format and severity != SIGNING:
            severity = INFO  # the format, not the API, changed (signed bytes are judged all the same)
        old_value = None if raw.item else raw.old
        new_value = None if raw.item else raw.new
        message = ("spec format: " if raw.format else "") + _message(raw, hints.get(i))
        if rule.why and severity != INFO:
            message += f" — {rule.why}"
        changes.append(Change(severity, raw.kind, raw.path, message, old_value, new_value, hints.get(i)))
    return sorted(changes, key=Change.sort_key)


def summary(changes: Sequence[Change]) -> dict[str, int]:
    """How many changes of each severity, and ``total``."""
    counts = {s: 0 for s in SEVERITIES}
    for c in changes:
        counts[c.severity] += 1
    counts["total"] = len(changes)
    return counts


# ------------------------------------------------------------------------------------------------ output
_TITLES = {SIGNING: "Signing-breaking", BREAKING: "Breaking", NON_BREAKING: "Non-breaking", INFO: "Info"}


def render_markdown(changes: Sequence[Change], base: str, revision: str) -> str:
    """A changelog for a pull-request comment."""
    counts = summary(changes)
    head = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
    lines = [f"## Spec changes: `{base}` → `{revision}`", ""]
    if not changes:
        return "\n".join([*lines, "No changes.", ""])
    lines += [f"{counts['total']} changes: {head}.", ""]
    for severity in SEVERITIES:
        group = [c for c in changes if c.severity == severity]
        if not group:
            continue
        lines += [f"### {_TITLES[severity]} ({len(group)})", ""]
        for c in group:
            lines.append(f"- {c.message}")
            if c.hint:
                lines.append(f"  - hint: {c.hint}")
        lines.append("")
    return "\n".join(lines)


def render_json(changes: Sequence[Change], base: str, revision: str) -> str:
    """``{base, revision, summary, changes: [...]}``, indented, keys in a fixed order."""
    doc = {
        "base": base,
        "revision": revision,
        "summary": summary(changes),
        "changes": [c.to_json() for c in changes],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_summary(changes: Sequence[Change], base: str, revision: str) -> str:
    """One line of counts."""
    counts = summary(changes)
    return f"{base} → {revision}: " + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES) + "\n"


_RENDERERS = {"markdown": render_markdown, "json": render_json, "summary": render_summary}
_FAIL_ON = {"signing": (SIGNING,), "breaking": (SIGNING, BREAKING), "any": SEVERITIES}


# ------------------------------------------------------------------------------------------------ loading
class DiffUsageError(Exception):
    """A side of the diff is neither a folder nor a git revision (exit status 2)."""


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def _tree_of(folder: Path) -> _Record:
    return spec_tree(load_spec(folder))


def _tree_by_its_own_loader(package_root: Path, folder: Path, ref: str) -> _Record:
    """The tree of ``folder`` read by the loader of the package at ``package_root`` (another revision's)."""
    proc = subprocess.run(
        [sys.executable, "-c", Path(spectree.__file__).read_text(encoding="utf-8"), str(package_root), str(folder)],
        capture_output=True,
        text=True,
        check=False,
        cwd=package_root,
    )
    if proc.returncode == 2:  # that revision's loader found its spec invalid
        raise DiffUsageError(f"the spec of {ref!r} is invalid by its own rules:\n{proc.stderr.strip()}")
    if proc.returncode != 0:
        raise DiffUsageError(f"cannot read the spec of {ref!r} with its own loader:\n{proc.stderr.strip()[-2000:]}")
    tree: _Record = _decode(json.loads(proc.stdout))
    return tree


@contextmanager
def load_side(ref: str | None, spec_dir: str | Path = "spec") -> Iterator[tuple[str, _Record]]:
    """``(label, tree)`` of one side of the diff.

    ``ref`` is ``None`` (the working tree's ``spec_dir``), a folder (a spec folder, or a checkout
    holding one at ``spec_dir``'s place), or a git revision of the repository around ``spec_dir``.  A
    revision's spec is read by that revision's own loader (when it has one), so a change of the spec
    format between the two sides shows as changes instead of stopping the comparison; the working tree
    and folders are read by this one.
    """
    spec_path = Path(spec_dir)
    if ref is None:
        yield "working tree", _tree_of(spec_path)
        return
    folder = Path(ref)
    if folder.is_dir():
        inner = folder / spec_path.name
        yield ref, _tree_of(inner if inner.is_dir() and not (folder / "info").is_dir() else folder)
        return
    where = spec_path.resolve() if spec_path.exists() else Path.cwd()
    top = _git(["rev-parse", "--show-toplevel"], where if where.is_dir() else where.parent)
    if top.returncode != 0:
        raise DiffUsageError(f"{ref!r} is not a folder, and {where} is not inside a git repository")
    root = Path(top.stdout.decode().strip())
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).returncode != 0:
        raise DiffUsageError(f"{ref!r} is neither a folder nor a git revision of {root}")
    rel = spec_path.resolve().relative_to(root).as_posix()
    package = "hyperliquid_client"
    has_loader = _git(["cat-file", "-e", f"{ref}:{package}/codegen/loader.py"], root).returncode == 0
    archive = _git(["archive", "--format=tar", ref, "--", rel, *([package] if has_loader else [])], root)
    if archive.returncode != 0:
        raise DiffUsageError(f"revision {ref!r} has no {rel}/: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="hl-specdiff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        folder = Path(tmp) / rel
        yield ref, _tree_by_its_own_loader(Path(tmp), folder, ref) if has_loader else _tree_of(folder)


# ------------------------------------------------------------------------------------------------ command
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``hyperliquid spec diff``."""
    parser.add_argument("base", help="git revision or folder to compare from (e.g. main)")
    parser.add_argument("revision", nargs="?", help="git revision or folder to compare to (default: the working tree)")
    parser.add_argument("--spec", default="spec", help="the spec folder in the working tree (default: spec)")
    parser.add_argument("--format", choices=sorted(_RENDERERS), default="markdown", help="output (default markdown)")
    parser.add_argument(
        "--fail-on",
        choices=sorted(_FAIL_ON),
        help="exit with status 1 when a change of this severity (or worse) is found; `any`: any change",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``spec diff``; returns the exit status (1 when ``--fail-on`` matched, 2 on bad input)."""
    try:
        with load_side(args.base, args.spec) as old, load_side(args.revision, args.spec) as new:
            changes = diff_trees(old[1], new[1])
    except (DiffUsageError, SpecError) as exc:
        sys.stderr.write(f"hyperliquid spec diff: {exc}\n")
        return 2
    fmt = "json" if getattr(args, "json", False) else args.format
    out.write(_RENDERERS[fmt](changes, old[0], new[0]))
    if args.fail_on and any(c.severity in _FAIL_ON[args.fail_on] for c in changes):
        return 1
    return 0
