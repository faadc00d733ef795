"""Load and validate a spec folder.

Every file is checked against the schema of the spec format (``docs/spec-format.md``) before
anything is generated.  Problems are collected, not raised one by one: :class:`SpecError`
lists each with the file, the key path inside it and what was expected, e.g.::

    spec/info/l2Book.yaml: params[1].type: expected one of address, any, bool, ... — got 'integer'
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import yaml

from hyperliquid_client.codegen.model import (
    PARAM_PY,
    SHARED_PRIMITIVES,
    Channel,
    Endpoint,
    Field,
    Param,
    Spec,
    TypeDef,
)
from hyperliquid_client.codegen.requests import (
    RequestAction,
    Requests,
    RType,
    check_action,
    check_requests,
    parse_action,
    parse_request_types,
)
from hyperliquid_client.codegen.samples import param_problems, value_problems
from hyperliquid_client.codegen.typeexpr import TypeExpr, TypeExprError, parse_type
from hyperliquid_client.runtime.registry import key_order_problem

__all__ = ["SpecError", "SpecIssue", "load_spec", "snake_case"]

CONTEXT_DIRS = ("info", "exchange", "explorer", "stats", "channels")
_IDENT = re.compile(r"[a-z_][a-z0-9_]*")
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
_RESERVED_FIELDS = {"extra"}
_RESERVED_PARAMS = {
    "self",
    "timeout",
    "callback",
    "buffer_size",
    "overflow",
    "wallet",
    "vault_address",
    "expires_after",
}


@attrs.frozen
class SpecIssue:
    """One problem: ``file``, ``path`` (``params[1].type``) and what was ``expected``."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.message}"


class SpecError(Exception):
    """The spec is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        lines = "\n".join(f"  {i}" for i in issues)
        super().__init__(f"invalid spec ({len(issues)} problem{'s' if len(issues) != 1 else ''}):\n{lines}")


def snake_case(name: str) -> str:
    """``nSigFigs`` → ``n_sig_figs``, ``l2Book`` → ``l2_book``, ``CSignerAction`` → ``c_signer_action``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.replace("-", "_").lower()


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1})", key_node.start_mark
            )
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --------------------------------------------------------------------------------------------
# A tiny schema language: each checker validates one value and records issues.


class _Ctx:
    def __init__(self, file: str, display: str | None = None) -> None:
        self.file = file
        #: the path shown in generated code: relative to the spec folder's parent, so output does not
        #: depend on where the spec was read from
        self.display = display or file
        self.issues: list[SpecIssue] = []

    def bad(self, path: str, message: str) -> None:
        self.issues.append(SpecIssue(self.file, path, message))


Check = Callable[[_Ctx, str, Any], bool]


def _desc(v: Any) -> str:
    return f"{type(v).__name__} {v!r}" if not isinstance(v, dict | list) else type(v).__name__


def _is(kind: type | tuple[type, ...], what: str) -> Check:
    def check(ctx: _Ctx, path: str, v: Any) -> bool:
        if isinstance(v, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            ctx.bad(path, f"expected {what}, got {_desc(v)}")
            return False
        if not isinstance(v, kind):
            ctx.bad(path, f"expected {what}, got {_desc(v)}")
            return False
        return True

    return check


_str = _is(str, "a string")
_int = _is(int, "an integer")
_bool = _is(bool, "a boolean")
_num = _is((int, float), "a number")
_list = _is(list, "a list")
_map = _is(dict, "a mapping")


def _any(ctx: _Ctx, path: str, v: Any) -> bool:
    return True


def _positive(ctx: _Ctx, path: str, v: Any) -> bool:
    if not _num(ctx, path, v):
        return False
    if not v > 0:
        ctx.bad(path, f"expected a number > 0, got {v!r}")
        return False
    return True


def _positive_int(ctx: _Ctx, path: str, v: Any) -> bool:
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return True
    ctx.bad(path, f"expected a positive integer (items per extra weight), got {_desc(v)}")
    return False


def _nonempty_str(ctx: _Ctx, path: str, v: Any) -> bool:
    if not _str(ctx, path, v):
        return False
    if not v.strip():
        ctx.bad(path, "expected a non-empty string")
        return False
    return True


def _ident(ctx: _Ctx, path: str, v: Any) -> bool:
    if not _str(ctx, path, v):
        return False
    if not _IDENT.fullmatch(v) or keyword.iskeyword(v):
        ctx.bad(path, f"expected a snake_case Python identifier, got {v!r}")
        return False
    return True


def _one_of(*choices: str) -> Check:
    def check(ctx: _Ctx, path: str, v: Any) -> bool:
        if v not in choices:
            ctx.bad(path, f"expected one of {', '.join(choices)}, got {v!r}")
            return False
        return True

    return check


def _type_expr(ctx: _Ctx, path: str, v: Any) -> bool:
    if not _str(ctx, path, v):
        return False
    try:
        parse_type(v)
    except TypeExprError as exc:
        ctx.bad(path, f"expected a type expression: {exc}")
        return False
    return True


def _param_type(ctx: _Ctx, path: str, v: Any) -> bool:
    if not _str(ctx, path, v):
        return False
    base = v[5:-1] if v.startswith("list[") and v.endswith("]") else v
    if base not in PARAM_PY:
        ctx.bad(path, f"expected one of {', '.join(sorted(PARAM_PY))} (or list[...] of one), got {v!r}")
        return False
    return True


def _record(fields: dict[str, tuple[bool, Check]]) -> Check:
    """A mapping with known keys: ``{key: (required, check)}``; unknown keys are errors."""

    def check(ctx: _Ctx, path: str, v: Any) -> bool:
        if not _map(ctx, path, v):
            return False
        ok = True
        for key in v:
            if key not in fields:
                ctx.bad(_join(path, str(key)), f"unknown key (expected one of: {', '.join(fields)})")
                ok = False
        for key, (required, sub) in fields.items():
            if key in v:
                ok = sub(ctx, _join(path, key), v[key]) and ok
            elif required:
                ctx.bad(_join(path, key), "missing required key")
                ok = False
        return ok

    return check


def _list_of(item: Check) -> Check:
    def check(ctx: _Ctx, path: str, v: Any) -> bool:
        if not _list(ctx, path, v):
            return False
        ok = True
        for i, x in enumerate(v):
            ok = item(ctx, f"{path}[{i}]", x) and ok
        return ok

    return check


def _map_of(item: Check, key_check: Check | None = None) -> Check:
    def check(ctx: _Ctx, path: str, v: Any) -> bool:
        if not _map(ctx, path, v):
            return False
        ok = True
        for k, x in v.items():
            if key_check is not None:
                ok = key_check(ctx, _join(path, str(k)), k) and ok
            ok = item(ctx, _join(path, str(k)), x) and ok
        return ok

    return check


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(ctx: _Ctx, path: str, v: Any) -> bool:
    if not isinstance(v, str) or not _TYPE_NAME.fullmatch(v):
        ctx.bad(path, f"expected a CamelCase type name, got {v!r}")
        return False
    return True


def _pair_list(ctx: _Ctx, path: str, v: Any) -> bool:
    if not _list(ctx, path, v):
        return False
    ok = True
    for i, x in enumerate(v):
        if not (isinstance(x, list) and len(x) == 2 and all(isinstance(s, str) for s in x)):
            ctx.bad(f"{path}[{i}]", f"expected a [name, value] pair of strings, got {x!r}")
            ok = False
    return ok


_FIELD = _record(
    {
        "type": (True, _type_expr),
        "optional": (False, _bool),
        "doc": (False, _str),
        "name": (False, _ident),
    }
)


def _field(ctx: _Ctx, path: str, v: Any) -> bool:
    if isinstance(v, str):
        return _type_expr(ctx, path, v)
    return _FIELD(ctx, path, v)


def _enum_values(ctx: _Ctx, path: str, v: Any) -> bool:
    if not _list(ctx, path, v):
        return False
    ok = bool(v)
    if not v:
        ctx.bad(path, "expected at least one value")
    seen: set[str] = set()
    for i, x in enumerate(v):
        if not isinstance(x, str) or not x:
            ctx.bad(f"{path}[{i}]", f"expected a non-empty string, got {_desc(x)}")
            ok = False
        elif x in seen:
            ctx.bad(f"{path}[{i}]", f"duplicate enum value {x!r}")
            ok = False
        else:
            seen.add(x)
    return ok


_TYPEDEF = _record(
    {
        "doc": (True, _nonempty_str),
        "fields": (False, _map_of(_field)),
        "shared": (False, _bool),
        "enum": (False, _enum_values),
        "union": (
            False,
            _record(
                {
                    "tag": (False, _nonempty_str),
                    "variants": (False, _map_of(_type_name)),
                    "by_key": (False, _map_of(_type_name)),
                    "strings": (False, _type_name),
                }
            ),
        ),
    }
)
_TYPES = _map_of(_TYPEDEF, _type_name)

_PARAM = _record(
    {
        "wire": (True, _nonempty_str),
        "name": (False, _ident),
        "type": (True, _param_type),
        "required": (False, _bool),
        "default": (False, _any),
        "doc": (True, _nonempty_str),
        "choices": (False, _list),
        "only_with": (False, _any),
        "not_after": (False, _nonempty_str),
    }
)

_COMMON = {
    "wire": (True, _nonempty_str),
    "name": (False, _ident),
    "summary": (True, _nonempty_str),
    "docs": (False, _str),
    "params": (False, _list_of(_PARAM)),
    "types": (False, _TYPES),
    "storage": (False, _ident),
}

_ENDPOINT = _record(
    {
        **_COMMON,
        "weight": (True, _int),
        "weight_per_item": (False, _positive_int),
        "max_items": (False, _int),
        "echo": (False, _map_of(_nonempty_str)),
        "timeout": (False, _num),
        "max_response_mb": (False, _positive),
        "retry": (False, _bool),
        "cache": (False, _record({"ttl": (True, _num)})),
        "nest": (False, _nonempty_str),
        "response": (True, _type_expr),
        "sample": (True, _record({"params": (False, _map), "response": (True, _any)})),
    }
)

_EXCHANGE = _record(
    {
        **{k: v for k, v in _COMMON.items() if k != "params"},
        "weight": (True, _int),
        "timeout": (False, _num),
        "signing": (True, _one_of("l1", "user_signed", "multi_sig")),
        "vault": (False, _any),
        "batch": (False, _nonempty_str),
        "action": (True, _map),
        "inputs": (False, _map),
        "methods": (False, _map),
        "requests": (False, _map),
        "eip712": (
            False,
            _record({"primary_type": (True, _nonempty_str), "fields": (True, _pair_list)}),
        ),
        "response": (True, _type_expr),
        "sample": (True, _record({"params": (False, _map), "action": (True, _map)})),
    }
)

_CHANNEL = _record(
    {
        **_COMMON,
        "channels": (False, _list_of(_nonempty_str)),
        "message": (True, _type_expr),
        "route": (False, _pair_list),
        "user": (False, _bool),
        "market_data": (False, _bool),
        "snapshot": (False, _bool),
        "initial": (False, _one_of("snapshot", "state", "backfill", "none")),
        "recovery": (False, _nonempty_str),
        "stale_after": (False, _num),
        "items": (False, _nonempty_str),
        "dedup": (False, _list_of(_nonempty_str)),
        "time_key": (False, _nonempty_str),
        "explorer": (False, _bool),
        "frame_field": (False, _nonempty_str),
        "subscribe_type": (False, _nonempty_str),
        "sample": (True, _record({"params": (False, _map), "message": (True, _any)})),
    }
)

_TYPES_FILE = _record({"types": (False, _TYPES), "requests": (False, _map)})

_SCHEMAS = {
    "info": _ENDPOINT,
    "explorer": _ENDPOINT,
    "stats": _ENDPOINT,
    "exchange": _EXCHANGE,
    "channels": _CHANNEL,
}


# --------------------------------------------------------------------------------------------


_BROKEN = object()


def _item_fields(message: TypeExpr, by_name: dict[str, TypeDef]) -> set[str] | None:
    """Wire names of the fields of a ``list[Struct]`` message's items (``None``: not such a message)."""
    if message.kind != "list" or message.args[0].kind != "named":
        return None
    td = by_name.get(message.args[0].name)
    return None if td is None or td.is_union or td.is_enum else {f.wire for f in td.fields}


def _check_frame_fields(channels: list[tuple[_Ctx, Channel]], by_name: dict[str, TypeDef]) -> None:
    """Explorer feeds arrive as bare JSON arrays: each names an item field (``frame_field``) that only its own items
    have, so the runtime can tell one feed's frames from the other's by their first item."""
    explorer = [c for _, c in channels if c.explorer]
    for ctx, c in channels:
        bad = ctx.bad
        if not c.explorer:
            if c.frame_field is not None:
                bad("frame_field", "only explorer feeds (explorer: true) send bare frames")
            continue
        fields = _item_fields(c.message, by_name)
        if fields is None:
            bad("message", "an explorer feed's message is a list of structs (its frames are bare JSON arrays)")
        elif c.frame_field is None:
            bad("frame_field", "an explorer feed names the item field that tells its bare frames apart")
        elif c.frame_field not in fields:
            bad("frame_field", f"{c.frame_field!r} is not a field of {c.message.args[0].name}")
        else:
            for other in explorer:
                if other is not c and c.frame_field in (_item_fields(other.message, by_name) or ()):
                    bad("frame_field", f"{c.frame_field!r} is also a field of {other.wire}'s items")


def _read(path: Path, rel: str, issues: list[SpecIssue]) -> Any:
    """The file's YAML document, or ``_BROKEN`` after recording why it could not be read."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        issues.append(SpecIssue(rel, where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}"))
        return _BROKEN
    if data is None:
        issues.append(SpecIssue(rel, "", "expected a mapping, got an empty document"))
        return _BROKEN
    return data


def _build_params(ctx: _Ctx, raw: list[dict[str, Any]], sample: dict[str, Any] | None) -> tuple[Param, ...]:
    out: list[Param] = []
    seen: dict[str, str] = {}
    seen_wire: set[str] = set()
    sample = sample or {}
    for i, p in enumerate(raw):
        name = p.get("name") or snake_case(p["wire"])
        path = f"params[{i}]"
        if not _IDENT.fullmatch(name) or keyword.iskeyword(name):
            ctx.bad(f"{path}.wire", f"derived name {name!r} is not an identifier; give an explicit 'name'")
        if name in _RESERVED_PARAMS:
            ctx.bad(f"{path}.name", f"{name!r} is reserved for the generated method's own options")
        if name in seen:
            ctx.bad(f"{path}.name", f"duplicate parameter name {name!r} (also {seen[name]})")
        if p["wire"] in seen_wire:
            ctx.bad(f"{path}.wire", f"duplicate wire key {p['wire']!r}")
        seen[name] = path
        seen_wire.add(p["wire"])
        required = p.get("required", True)
        if required and "default" in p:
            ctx.bad(f"{path}.default", "a required parameter cannot have a default")
        has_sample = name in sample
        if required and not has_sample:
            ctx.bad(f"sample.params.{name}", "missing sample value for required parameter")
        choices = p.get("choices")
        only_with = p.get("only_with")
        if only_with is not None and not (isinstance(only_with, dict) and len(only_with) == 1):
            ctx.bad(f"{path}.only_with", "expected one '<parameter>: <value>' entry")
            only_with = None
        param = Param(
            name=name,
            wire=p["wire"],
            type=p["type"],
            required=required,
            default=p.get("default"),
            doc=p["doc"].strip(),
            choices=tuple(choices) if choices is not None else None,
            sample=sample.get(name),
            has_sample=has_sample,
            only_with=next(iter(only_with.items())) if only_with else None,
            not_after=p.get("not_after"),
        )
        for where, problem in param_problems(i, param, choices, "default" in p):
            ctx.bad(where, problem)
        out.append(param)
    for key in sample:
        if key not in seen:
            ctx.bad(f"sample.params.{key}", f"unknown parameter (expected one of: {', '.join(seen) or 'none'})")
    for i, param in enumerate(out):  # a rule names a sibling parameter
        for key, other in (("only_with", param.only_with and param.only_with[0]), ("not_after", param.not_after)):
            if other and (other not in seen or other == param.name):
                ctx.bad(f"params[{i}].{key}", f"{other!r} is not another parameter (one of: {', '.join(seen)})")
    return tuple(out)


def _build_types(ctx: _Ctx, raw: dict[str, Any], prefix: str) -> list[TypeDef]:
    out: list[TypeDef] = []
    for tname, t in raw.items():
        path = f"{prefix}.{tname}"
        if ("fields" in t) + ("union" in t) + ("enum" in t) != 1:
            ctx.bad(path, "expected exactly one of 'fields', 'union' or 'enum'")
            continue
        if "enum" in t:
            out.append(TypeDef(name=tname, doc=t["doc"].strip(), file=ctx.display, enum=tuple(t["enum"])))
            continue
        if "union" in t:
            u = t["union"]
            by_tag = "tag" in u and "variants" in u and "by_key" not in u and "strings" not in u
            by_key = "by_key" in u and "tag" not in u and "variants" not in u
            if not (by_tag or by_key):
                ctx.bad(f"{path}.union", "expected 'tag' with 'variants', or 'by_key' (with optional 'strings')")
                continue
            out.append(
                TypeDef(
                    name=tname,
                    doc=t["doc"].strip(),
                    file=ctx.display,
                    tag=u.get("tag"),
                    variants=tuple((str(k), v) for k, v in u.get("variants", {}).items()),
                    by_key=tuple((str(k), v) for k, v in u.get("by_key", {}).items()),
                    strings=u.get("strings"),
                )
            )
            continue
        fields: list[Field] = []
        names: dict[str, str] = {}
        for wire, f in t["fields"].items():
            spec = {"type": f} if isinstance(f, str) else f
            name = spec.get("name") or snake_case(str(wire))
            fpath = f"{path}.fields.{wire}"
            if not _IDENT.fullmatch(name) or keyword.iskeyword(name):
                ctx.bad(fpath, f"derived name {name!r} is not an identifier; give an explicit 'name'")
            if name in _RESERVED_FIELDS:
                ctx.bad(fpath, f"field name {name!r} is reserved (unknown fields are kept in 'extra')")
            if name in names:
                ctx.bad(fpath, f"duplicate field name {name!r} (also from wire key {names[name]!r}); give a 'name'")
            names[name] = str(wire)
            fields.append(
                Field(
                    wire=str(wire),
                    name=name,
                    type=parse_type(spec["type"]),
                    optional=bool(spec.get("optional", False)),
                    doc=(spec.get("doc") or "").strip(),
                )
            )
        shared = bool(t.get("shared", False))
        for f in fields if shared else ():
            if f.optional or f.type.kind != "prim" or f.type.name not in SHARED_PRIMITIVES:
                ctx.bad(
                    f"{path}.shared",
                    f"a shared type's fields are required and of type {', '.join(SHARED_PRIMITIVES)} "
                    f"({f.wire!r} is not)",
                )
        if "shared" in t and ("fields" not in t):
            ctx.bad(f"{path}.shared", "only a type with 'fields' can be shared")
        out.append(TypeDef(name=tname, doc=t["doc"].strip(), file=ctx.display, fields=tuple(fields), shared=shared))
    return out


def _exchange_params(ctx: _Ctx, action: RequestAction, sample: dict[str, Any] | None) -> tuple[Param, ...]:
    """The wire-level parameters of an action (its fields a caller gives), checked against the sample."""
    sample = sample or {}
    out: list[Param] = []
    for f in action.params:
        has_sample = f.wire_name in sample
        if f.required and not has_sample:
            ctx.bad(f"sample.params.{f.wire_name}", "missing sample value for required parameter")
        assert f.type is not None
        out.append(
            Param(
                name=f.wire_name,
                wire=f.wire,
                type=f.type.canonical(),
                required=f.required,
                default=f.default if f.has_default else None,
                doc=f.doc,
                choices=None,
                sample=sample.get(f.wire_name),
                has_sample=has_sample,
            )
        )
    names = {p.name for p in out}
    for key in sample:
        if key not in names:
            ctx.bad(
                f"sample.params.{key}", f"unknown parameter (expected one of: {', '.join(sorted(names)) or 'none'})"
            )
    return tuple(out)


def load_spec(root: str | Path) -> Spec:
    """Load and validate every file under ``root``; raise :class:`SpecError` listing all problems."""
    root = Path(root)
    issues: list[SpecIssue] = []
    if not root.is_dir():
        looked_at = root.resolve()
        hint = (
            ""
            if root.is_absolute()
            else f" (relative to {Path.cwd()}: run in a clone of the repository or give --spec)"
        )
        raise SpecError([SpecIssue(str(root), "", f"expected a spec folder at {looked_at}, found none{hint}")])

    for extra in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if extra.name not in (*CONTEXT_DIRS, "types"):
            issues.append(
                SpecIssue(str(extra), "", f"unknown folder (expected one of: {', '.join((*CONTEXT_DIRS, 'types'))})")
            )

    type_defs: list[TypeDef] = []
    type_origin: dict[str, str] = {}
    endpoints: list[Endpoint] = []
    channels: list[Channel] = []
    channel_ctxs: list[tuple[_Ctx, Channel]] = []
    named: dict[tuple[str, str], str] = {}
    pending_types: list[tuple[_Ctx, str, TypeExpr]] = []
    pending_samples: list[tuple[_Ctx, str, TypeExpr, Any]] = []
    union_checks: list[tuple[_Ctx, str, TypeDef]] = []
    recoveries: list[tuple[_Ctx, str]] = []
    request_types: dict[str, RType] = {}
    ctx_by_file: dict[str, _Ctx] = {}
    actions: list[tuple[_Ctx, Endpoint, dict[str, Any]]] = []

    def add_requests(ctx: _Ctx, raw: Any) -> None:
        for rt in parse_request_types(ctx.bad, raw, "requests", ctx.file):
            if rt.name in request_types:
                ctx.bad(
                    f"requests.{rt.name}", f"duplicate request type name (already in {request_types[rt.name].file})"
                )
                continue
            request_types[rt.name] = rt

    def add_types(ctx: _Ctx, raw: dict[str, Any], prefix: str) -> None:
        for td in _build_types(ctx, raw, prefix):
            if td.name in type_origin:
                ctx.bad(f"{prefix}.{td.name}", f"duplicate type name (already defined in {type_origin[td.name]})")
                continue
            type_origin[td.name] = ctx.file
            type_defs.append(td)
            for f in td.fields:
                pending_types.append((ctx, f"{prefix}.{td.name}.fields.{f.wire}.type", f.type))
            for tag, variant in td.variants:
                pending_types.append((ctx, f"{prefix}.{td.name}.union.variants.{tag}", TypeExpr("named", variant)))
            for key, variant in td.by_key:
                pending_types.append((ctx, f"{prefix}.{td.name}.union.by_key.{key}", TypeExpr("named", variant)))
            if td.strings is not None:
                pending_types.append((ctx, f"{prefix}.{td.name}.union.strings", TypeExpr("named", td.strings)))
            union_checks.append((ctx, f"{prefix}.{td.name}", td))

    contexts: list[_Ctx] = []
    files = sorted((root / "types").glob("*.yaml")) if (root / "types").is_dir() else []
    for path in files:
        rel = str(path)
        ctx = _Ctx(rel, f"{root.name}/{path.relative_to(root).as_posix()}")
        contexts.append(ctx)
        ctx_by_file[rel] = ctx
        data = _read(path, rel, issues)
        if data is _BROKEN or not _TYPES_FILE(ctx, "", data):
            continue
        if "types" not in data and "requests" not in data:
            ctx.bad("", "expected 'types' and/or 'requests'")
        add_types(ctx, data.get("types", {}), "types")
        if "requests" in data:
            add_requests(ctx, data["requests"])

    for folder in CONTEXT_DIRS:
        d = root / folder
        if not d.is_dir():
            continue
        for path in sorted(d.iterdir()):
            rel = str(path)
            if path.suffix != ".yaml":
                issues.append(SpecIssue(rel, "", "unexpected file (spec files end in .yaml)"))
                continue
            ctx = _Ctx(rel, f"{root.name}/{path.relative_to(root).as_posix()}")
            contexts.append(ctx)
            ctx_by_file[rel] = ctx
            data = _read(path, rel, issues)
            if data is _BROKEN:
                continue
            if not _SCHEMAS[folder](ctx, "", data):
                continue
            if path.stem != data["wire"]:
                ctx.bad("wire", f"expected the file name {path.stem!r} to equal the wire name {data['wire']!r}")
            context = "channel" if folder == "channels" else folder
            name = data.get("name") or snake_case(data["wire"])
            if not _IDENT.fullmatch(name) or keyword.iskeyword(name):
                ctx.bad("wire", f"derived name {name!r} is not an identifier; give an explicit 'name'")
            if context == "info" and name == "raw":
                ctx.bad("wire", "'raw' is the info API's escape hatch (info.raw); give this endpoint another 'name'")
            for key in ((context, name), (context, "wire:" + data["wire"])):
                if key in named:
                    ctx.bad("name", f"duplicate {context} name {key[1]!r} (also in {named[key]})")
                named[key] = rel
            if "types" in data:
                add_types(ctx, data["types"], "types")
            sample = data["sample"]
            action = None
            if context == "exchange":
                if "requests" in data:
                    add_requests(ctx, data["requests"])
                action = parse_action(ctx.bad, data, data["wire"], name)
                if action is None:
                    continue
                params = _exchange_params(ctx, action, sample.get("params"))
            else:
                params = _build_params(ctx, data.get("params", []), sample.get("params"))
            if context == "channel":
                message = parse_type(data["message"])
                pending_types.append((ctx, "message", message))
                pending_samples.append((ctx, "sample.message", message, sample["message"]))
                pnames = {p.name for p in params}
                for i, (pname, _dpath) in enumerate(data.get("route", [])):
                    if pname not in pnames:
                        ctx.bad(f"route[{i}]", f"unknown parameter {pname!r}")
                user = data.get("user", False)
                if user and "user" not in pnames:
                    ctx.bad("user", "a user channel needs a 'user' parameter")
                if "recovery" in data:
                    recoveries.append((ctx, data["recovery"]))
                if data.get("stale_after", 1) <= 0:
                    ctx.bad("stale_after", f"expected a number of seconds > 0, got {data['stale_after']!r}")
                snapshot = data.get("snapshot", False)
                initial = data.get("initial", "snapshot" if snapshot else "state")
                if snapshot != (initial == "snapshot"):
                    ctx.bad("initial", "'initial: snapshot' goes with 'snapshot: true' (and only with it)")
                channels.append(
                    Channel(
                        wire=data["wire"],
                        name=name,
                        file=ctx.display,
                        summary=data["summary"].strip(),
                        doc=(data.get("docs") or "").strip(),
                        channels=tuple(data.get("channels") or [data["wire"]]),
                        params=params,
                        message=message,
                        route=tuple((a, b) for a, b in data.get("route", [])),
                        user_param="user" if user else None,
                        market_data=data.get("market_data", not user),
                        snapshot=snapshot,
                        initial=initial,
                        storage=data.get("storage"),
                        recovery=data.get("recovery"),
                        stale_after=float(data["stale_after"]) if "stale_after" in data else None,
                        items_key=data.get("items"),
                        dedup=tuple(data.get("dedup", ())),
                        time_key=data.get("time_key", "time"),
                        explorer=data.get("explorer", False),
                        frame_field=data.get("frame_field"),
                        subscribe_type=data.get("subscribe_type", ""),
                        sample_message=sample["message"],
                        has_sample_message=True,
                    )
                )
                channel_ctxs.append((ctx, channels[-1]))
                continue
            response = parse_type(data.get("response", "any"))
            pending_types.append((ctx, "response", response))
            if "response" in sample:
                pending_samples.append((ctx, "sample.response", response, sample["response"]))
            cache = data.get("cache")
            echo = tuple((str(k), str(v)) for k, v in (data.get("echo") or {}).items())
            wires = {p.wire for p in params}
            for field, wire in echo:
                if wire not in wires:
                    ctx.bad(
                        f"echo.{field}",
                        f"expected the wire name of a parameter ({', '.join(sorted(wires))}), got {wire!r}",
                    )
            endpoints.append(
                Endpoint(
                    context=context,
                    wire=data["wire"],
                    name=name,
                    file=ctx.display,
                    summary=data["summary"].strip(),
                    doc=(data.get("docs") or "").strip(),
                    weight=data["weight"],
                    weight_per_item=data.get("weight_per_item"),
                    max_items=data.get("max_items"),
                    echo=echo,
                    timeout=float(data["timeout"]) if "timeout" in data else None,
                    max_response_bytes=int(data["max_response_mb"] * 1024 * 1024)
                    if "max_response_mb" in data
                    else None,
                    retry=data.get("retry", context != "exchange"),
                    cache_ttl=float(cache["ttl"]) if cache else None,
                    params=params,
                    nest=data.get("nest"),
                    response=response,
                    sample_response=sample.get("response", sample.get("action")),
                    has_sample_response="response" in sample,
                    storage=data.get("storage"),
                    action=action,
                )
            )
            if action is not None:
                actions.append((ctx, endpoints[-1], sample))

    info_wires = {e.wire for e in endpoints if e.context == "info"}
    for ctx, recovery in recoveries:
        if recovery not in info_wires:
            ctx.bad("recovery", f"expected the wire name of an info request, got {recovery!r}")
    known = set(type_origin)
    for ctx, key_path, texpr in pending_types:
        for ref in texpr.named_refs():
            if ref not in known:
                close = [k for k in sorted(known) if k.lower() == ref.lower()]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                ctx.bad(key_path, f"reference to unknown type {ref!r}{hint}")
    by_name = {td.name: td for td in type_defs}
    for ctx, key_path, texpr, value in pending_samples:
        for where, problem in value_problems(texpr, value, by_name, key_path):
            ctx.bad(where, problem)
    for ctx, where, td in union_checks:
        _check_union(ctx, where, td, by_name)
    _check_frame_fields(channel_ctxs, by_name)
    requests = Requests(request_types)

    def bad_for(file: str) -> Any:
        return ctx_by_file[file].bad

    check_requests(bad_for, requests)
    if not any(c.issues for c in contexts):
        from hyperliquid_client.codegen.reqgen import ReqGen

        gen = ReqGen(requests)
        for ctx, endpoint, sample in actions:
            assert endpoint.action is not None
            check_action(ctx.bad, requests, endpoint.action)
            if not ctx.issues:
                shape = ("rec", (("type", None), *gen.record_shape(endpoint.action.fields)[1]))
                misordered = key_order_problem(shape, sample["action"], "sample.action")
                if misordered:
                    ctx.bad("sample.action", f"not in the spec's key order: {misordered}")
    for ctx in contexts:
        issues.extend(ctx.issues)
    if issues:
        raise SpecError(_dedupe(issues))
    return Spec(
        endpoints=tuple(sorted(endpoints, key=lambda e: (e.context, e.name))),
        channels=tuple(sorted(channels, key=lambda c: c.name)),
        types=tuple(sorted(type_defs, key=lambda t: t.name)),
        requests=requests,
    )


def _check_union(ctx: _Ctx, path: str, td: TypeDef, types: dict[str, TypeDef]) -> None:
    """Variants are models (a ``by_key`` variant has its key as a required field); ``strings`` is an enum."""
    for where, tag, variant in [("variants", t, v) for t, v in td.variants] + [("by_key", k, v) for k, v in td.by_key]:
        target = types.get(variant)
        if target is None:
            continue  # reported as an unknown reference
        vpath = f"{path}.union.{where}.{tag}"
        if not target.is_record:
            ctx.bad(vpath, f"a union variant must be a model with fields, {variant!r} is not")
        elif where == "by_key" and not any(f.wire == tag and not f.optional for f in target.fields):
            ctx.bad(vpath, f"{variant!r} must have the key {tag!r} as a required field")
    if td.strings is not None:
        target = types.get(td.strings)
        if target is not None and not target.is_enum:
            ctx.bad(f"{path}.union.strings", f"expected an enum type, {td.strings!r} is not one")


def _dedupe(issues: list[SpecIssue]) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    seen: set[tuple[str, str, str]] = set()
    for i in issues:
        key = (i.file, i.path, i.message)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out
