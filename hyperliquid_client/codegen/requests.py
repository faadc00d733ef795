"""Request types of exchange actions: their type expressions, model and validation.

The exchange half of the spec format (``docs/spec-format.md``, "Exchange files", "Request types",
"Semantic types"): an action is a record of fields in wire (msgpack) order; fields have request type
expressions built from the semantic types of :data:`hyperliquid_client.runtime.validate.REQUEST_TYPES`,
named request types (records, oneofs, enums) and the constructors ``list``, ``tuple``, ``pairs``,
``sorted`` and ``T | null``.  :func:`build_request_types` and :func:`build_action` check what they read
and record problems with the file and key path; :mod:`hyperliquid_client.codegen.reqgen` turns the
model into code.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from hyperliquid_client.codegen.typeexpr import Tokens
from hyperliquid_client.runtime.validate import REQUEST_TYPES

__all__ = [
    "FILLS",
    "RField",
    "RMethod",
    "RType",
    "RequestAction",
    "ReqTypeError",
    "parse_request_type",
]

#: Keys the sender fills when signing a user-signed action.
FILLS = ("signatureChainId", "hyperliquidChain")
_CONSTRUCTORS = {"list": 1, "tuple": None, "pairs": 2, "sorted": 1}
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([\[\](),|]))")
_IDENT = re.compile(r"[a-z_][a-z0-9_]*")
#: Parameters every generated exchange method has (a field may not be called like one).
_OPTIONS = frozenset({"self", "wallet", "vault_address", "expires_after", "timeout"})


class ReqTypeError(ValueError):
    """A malformed request type expression."""


@attrs.frozen
class RT:
    """A request type expression.

    ``kind``: ``sem`` (a semantic type, ``refs`` its arguments), ``named`` (a request type), ``unit``,
    ``list``, ``tuple``, ``pairs``, ``sorted`` or ``nullable`` (``args`` the element types).
    """

    kind: str
    name: str = ""
    args: tuple[RT, ...] = ()
    refs: tuple[str, ...] = ()

    def canonical(self) -> str:
        """The normalised spelling (``list[OrderRequest]``, ``price(a)``, ``address | null``)."""
        if self.kind in ("sem", "named", "unit"):
            return f"{self.name}({', '.join(self.refs)})" if self.refs else self.name
        if self.kind == "nullable":
            return f"{self.args[0].canonical()} | null"
        return f"{self.kind}[{', '.join(a.canonical() for a in self.args)}]"

    def walk(self) -> Iterator[RT]:
        """This expression and every one inside it."""
        yield self
        for a in self.args:
            yield from a.walk()


def parse_request_type(text: str) -> RT:
    """Parse a request type expression; raises :class:`ReqTypeError` with a readable reason."""
    toks = Tokens(text, ReqTypeError, _TOKEN)
    peek, take = toks.peek, toks.take

    def expr() -> RT:
        t = term()
        if peek() == "|":
            take("|")
            if take() != "null":
                raise ReqTypeError(f"only 'T | null' unions are allowed in type {text!r}")
            return RT("nullable", args=(t,))
        return t

    def term() -> RT:
        name = toks.name()
        if name in _CONSTRUCTORS:
            return RT(name, args=toks.arguments(name, expr, _CONSTRUCTORS[name]))
        if peek() == "(":
            return RT("sem", name=name, refs=tuple(toks.listed(take, "(", ")")))
        if name == "unit":
            return RT("unit", name=name)
        return RT("sem" if name in REQUEST_TYPES or name == "nonce" else "named", name=name)

    return toks.end(expr())


@attrs.frozen
class RField:
    """A field of a record (or a variant of a oneof, ``wire`` being its tag, or an action key)."""

    wire: str
    name: str
    doc: str
    type: RT | None = None
    optional: bool = False
    default: Any = None
    has_default: bool = False
    const: Any = None
    has_const: bool = False
    fill: str | None = None
    flatten: bool = False
    merge: bool = False
    computed: bool = False
    encode: str | None = None
    nonempty: bool = False

    @property
    def wire_name(self) -> str:
        """The parameter's name at the wire level: the wire key in snake_case (its ``name`` when that is
        one of the generated methods' own options, e.g. ``vaultAddress`` → ``vault``)."""
        snake = _snake(self.wire)
        return self.name if snake in _OPTIONS else snake

    @property
    def is_param(self) -> bool:
        """A value the caller gives (not a constant, a key filled when signing, or the nonce)."""
        return not (self.has_const or self.fill or self.is_nonce)

    @property
    def is_nonce(self) -> bool:
        """The action's copy of the envelope nonce (set when signing)."""
        return self.type is not None and self.type.kind == "sem" and self.type.name == "nonce"

    @property
    def required(self) -> bool:
        """Whether a caller must give it (no default, not omitted when None, not nullable)."""
        nullable = self.type is not None and self.type.kind == "nullable"
        return not (self.optional or self.has_default or nullable)

    @property
    def high_required(self) -> bool:
        """Whether a high-level caller must give it (semantic types like ``user`` default to the client's)."""
        defaulted = self.type is not None and self.type.kind == "sem" and self.type.name in REQUEST_TYPES
        return self.required and not (defaulted and REQUEST_TYPES[self.type.name].high.endswith("| None"))  # type: ignore[union-attr]


@attrs.frozen
class RType:
    """A named request type: ``record`` (``fields``), ``oneof`` (``fields`` are variants) or ``enum``."""

    name: str
    doc: str
    file: str
    kind: str
    fields: tuple[RField, ...] = ()
    python: tuple[str, ...] = ()
    values: tuple[str, ...] = ()


@attrs.frozen
class RMethod:
    """A high-level method of ``client.exchange`` built from one action."""

    name: str
    summary: str
    doc: str
    single: str | None = None
    flatten: tuple[str, ...] = ()
    params: tuple[str, ...] | None = None
    defaults: Mapping[str, Any] = attrs.Factory(dict)
    private: bool = False
    runtime: bool = False
    example: Mapping[str, Any] | None = None


@attrs.frozen
class RequestAction:
    """The payload of an exchange action and how it is signed."""

    signing: str
    vault: bool
    vault_default: bool
    fields: tuple[RField, ...]
    inputs: tuple[RField, ...]
    methods: tuple[RMethod, ...]
    primary_type: str | None
    eip712_fields: tuple[tuple[str, str], ...]
    batch_param: str | None
    nonce_key: str | None

    @property
    def params(self) -> tuple[RField, ...]:
        """The wire-level parameters: every field a caller gives, in wire order."""
        return tuple(f for f in self.fields if f.is_param)


# --------------------------------------------------------------------------------------------- checks
Bad = Callable[[str, str], None]


def _ident_ok(name: str) -> bool:
    return bool(_IDENT.fullmatch(name)) and not keyword.iskeyword(name)


def _snake(name: str) -> str:
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.replace("-", "_").lower()


_FIELD_KEYS = (
    "type",
    "name",
    "doc",
    "optional",
    "default",
    "const",
    "fill",
    "flatten",
    "merge",
    "computed",
    "encode",
    "nonempty",
)


def parse_field(bad: Bad, path: str, wire: str, raw: Any, *, where: str) -> RField | None:
    """One field spec (a mapping, or just its type as a string); ``where``: ``action``, ``record``,
    ``variant`` or ``input``."""
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        bad(path, f"expected a mapping or a type expression, got {type(raw).__name__}")
        return None
    ok = True
    for key in raw:
        if key not in _FIELD_KEYS:
            bad(f"{path}.{key}", f"unknown key (expected one of: {', '.join(_FIELD_KEYS)})")
            ok = False
    kinds = [k for k in ("type", "const", "fill") if k in raw]
    if len(kinds) != 1:
        bad(path, "expected exactly one of 'type', 'const' or 'fill'")
        return None
    rt = None
    if "type" in raw:
        try:
            rt = parse_request_type(raw["type"])
        except ReqTypeError as exc:
            bad(f"{path}.type", f"expected a request type expression: {exc}")
            return None
    if "fill" in raw and (where != "action" or raw["fill"] not in FILLS):
        bad(f"{path}.fill", f"expected one of {', '.join(FILLS)} (action keys only)")
        ok = False
    for key in ("optional", "flatten", "merge", "computed", "nonempty"):
        if key in raw and not isinstance(raw[key], bool):
            bad(f"{path}.{key}", f"expected a boolean, got {raw[key]!r}")
            ok = False
    if "encode" in raw and raw["encode"] != "json":
        bad(f"{path}.encode", f"expected 'json', got {raw['encode']!r}")
        ok = False
    if "doc" in raw and not isinstance(raw["doc"], str):
        bad(f"{path}.doc", "expected a string")
        ok = False
    name = raw.get("name") or _snake(wire)
    if not isinstance(name, str) or not _ident_ok(name):
        bad(f"{path}.name", f"expected a snake_case Python identifier, got {name!r} (give an explicit 'name')")
        ok = False
    if raw.get("optional") and "default" in raw:
        bad(path, "'optional' (omitted when None) and 'default' exclude each other")
        ok = False
    if raw.get("merge") and where != "action":
        bad(f"{path}.merge", "only an action field can be merged into the action")
        ok = False
    if not ok:
        return None
    return RField(
        wire=wire,
        name=name,
        doc=str(raw.get("doc", "")).strip(),
        type=rt,
        optional=bool(raw.get("optional", False)),
        default=raw.get("default"),
        has_default="default" in raw,
        const=raw.get("const"),
        has_const="const" in raw,
        fill=raw.get("fill"),
        flatten=bool(raw.get("flatten", False)),
        merge=bool(raw.get("merge", False)),
        computed=bool(raw.get("computed", False)),
        encode=raw.get("encode"),
        nonempty=bool(raw.get("nonempty", False)),
    )


def parse_request_types(bad: Bad, raw: Any, prefix: str, file: str) -> list[RType]:
    """The ``requests:`` mapping of a file."""
    if not isinstance(raw, dict):
        bad(prefix, "expected a mapping of request type names")
        return []
    out: list[RType] = []
    for tname, t in raw.items():
        path = f"{prefix}.{tname}"
        if not isinstance(tname, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", tname):
            bad(path, f"expected a CamelCase type name, got {tname!r}")
            continue
        if not isinstance(t, dict):
            bad(path, "expected a mapping")
            continue
        allowed = ("doc", "fields", "oneof", "enum", "python")
        unknown = [k for k in t if k not in allowed]
        for k in unknown:
            bad(f"{path}.{k}", f"unknown key (expected one of: {', '.join(allowed)})")
        kinds = [k for k in ("fields", "oneof", "enum") if k in t]
        if len(kinds) != 1:
            bad(path, "expected exactly one of 'fields', 'oneof' or 'enum'")
            continue
        if not isinstance(t.get("doc"), str) or not t["doc"].strip():
            bad(f"{path}.doc", "missing required key (a non-empty string)")
        kind = kinds[0]
        if kind == "enum":
            values = t["enum"]
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                bad(f"{path}.enum", "expected a non-empty list of strings")
                continue
            out.append(RType(tname, str(t.get("doc", "")).strip(), file, "enum", values=tuple(values)))
            continue
        body = t[kind]
        if not isinstance(body, dict) or not body:
            bad(f"{path}.{kind}", "expected a non-empty mapping")
            continue
        fields = []
        for wire, f in body.items():
            parsed = parse_field(
                bad, f"{path}.{kind}.{wire}", str(wire), f, where="record" if kind == "fields" else "variant"
            )
            if parsed is not None:
                fields.append(parsed)
        python = t.get("python")
        if python is not None and (not isinstance(python, list) or not all(isinstance(p, str) for p in python)):
            bad(f"{path}.python", "expected a list of field names")
            python = None
        out.append(
            RType(
                tname,
                str(t.get("doc", "")).strip(),
                file,
                "record" if kind == "fields" else "oneof",
                fields=tuple(fields),
                python=tuple(python or ()),
            )
        )
    return out


# --------------------------------------------------------------------------------------------- the model
class Requests:
    """Every request type of a spec, with the derived views the checks and the generator need."""

    def __init__(self, types: Mapping[str, RType]) -> None:
        self.types = dict(types)
        self._needs: dict[str, tuple[str, ...]] = {}

    def named(self, rt: RT) -> RType | None:
        """The request type an expression names (``None`` for other kinds)."""
        return self.types.get(rt.name) if rt.kind == "named" else None

    def needs(self, name: str, _seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """Names the converter of type ``name`` needs from outside (semantic arguments naming fields of
        an enclosing record), in a stable order."""
        if name in self._needs:
            return self._needs[name]
        t = self.types[name]
        if name in _seen:
            return ()
        own = {f.wire for f in t.fields} if t.kind == "record" else set()
        found: dict[str, None] = {}
        for f in t.fields:
            for ref in self.refs(f.type, _seen | {name}):
                if ref not in own:
                    found.setdefault(ref, None)
        result = tuple(found)
        self._needs[name] = result
        return result

    def refs(self, rt: RT | None, seen: frozenset[str] = frozenset()) -> list[str]:
        """Every outside name an expression's conversion reads."""
        out: list[str] = []
        if rt is None:
            return out
        for node in rt.walk():
            if node.kind == "sem":
                out.extend(node.refs)
            elif node.kind == "named" and node.name in self.types:
                out.extend(self.needs(node.name, seen))
        return out

    def attrs(self, t: RType) -> list[tuple[RField, RType | None]]:
        """The Python attributes of record ``t``: ``(field, enclosing flattened oneof or None)``, with
        flattened oneof fields expanded (one attribute per variant; the last, fallback variant may
        itself be flattened into its record's attributes); in constructor order."""
        out: list[tuple[RField, RType | None]] = []
        for f in t.fields:
            inner = self.named(f.type) if f.type is not None else None
            if f.flatten and inner is not None and inner.kind == "oneof":
                for v in inner.fields:
                    vt = self.named(v.type) if v.type is not None else None
                    if v.flatten and vt is not None and vt.kind == "record":
                        out.extend((a, inner) for a, _ in self.attrs(vt))
                    else:
                        out.append((v, inner))
            else:
                out.append((f, None))
        if t.python:
            by_name = {a.name: (a, o) for a, o in out}
            return [by_name[n] for n in t.python if n in by_name]
        return out


def check_requests(bad_for: Callable[[str], Bad], req: Requests) -> None:
    """Cross-checks of the request types (references, arguments, flattening, constructor order)."""
    for t in req.types.values():
        bad = bad_for(t.file)
        base = f"requests.{t.name}"
        if t.kind == "enum":
            continue
        section = "fields" if t.kind == "record" else "oneof"
        own = {f.wire for f in t.fields}
        for f in t.fields:
            path = f"{base}.{section}.{f.wire}"
            if f.type is None:
                bad(path, "request type fields need a 'type' (constants and fills belong to actions)")
                continue
            check_type(bad, req, f"{path}.type", f.type, bound=own if t.kind == "record" else set(), free=True)
            inner = req.named(f.type)
            if t.kind == "oneof":
                if f.type.kind == "unit" and f.flatten:
                    bad(f"{path}.flatten", "a unit variant has nothing to flatten")
                continue
            if f.type.kind == "unit":
                bad(f"{path}.type", "'unit' is only a oneof variant")
            if f.flatten:
                if inner is None or inner.kind != "oneof":
                    bad(f"{path}.flatten", "inside a record only a oneof field can be flattened")
                else:
                    _check_flat_oneof(bad, req, path, inner)
        if t.kind == "record":
            names = [a.name for a, _ in req.attrs(RType(t.name, t.doc, t.file, t.kind, t.fields))]
            if len(set(names)) != len(names):
                bad(base, f"duplicate Python attribute names {sorted(n for n in names if names.count(n) > 1)}")
            if t.python and sorted(t.python) != sorted(names):
                bad(f"{base}.python", f"expected exactly the attributes {names}")
            attrs_ = req.attrs(t)
            seen_default = False
            for a, _ in attrs_:
                if not a.required:
                    seen_default = True
                elif seen_default:
                    bad(f"{base}.python", f"required attribute {a.name!r} comes after one with a default")
                    break


def _check_flat_oneof(bad: Bad, req: Requests, path: str, inner: RType) -> None:
    *first, last = inner.fields
    for v in first:
        if v.flatten or not v.optional or v.type is None or v.type.kind == "unit":
            bad(path, f"flattened oneof {inner.name}: every variant but the last must be optional and not flattened")
            return
    if last.flatten:
        vt = req.named(last.type) if last.type is not None else None
        if vt is None or vt.kind != "record":
            bad(path, f"flattened oneof {inner.name}: only a record variant can be flattened")


def check_type(bad: Bad, req: Requests, path: str, rt: RT, *, bound: set[str], free: bool) -> None:
    """Names, argument counts and references of one expression.  ``bound``: the names arguments may
    refer to here; ``free``: whether other names may come from an enclosing record."""
    for node in rt.walk():
        if node.kind == "named" and node.name not in req.types:
            close = difflib.get_close_matches(node.name, sorted(req.types), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            bad(path, f"reference to unknown request type {node.name!r}{hint}")
        elif node.kind == "sem":
            spec = REQUEST_TYPES.get(node.name)
            if spec is None:
                if node.name == "nonce" and not node.refs:
                    continue
                bad(path, f"unknown semantic type {node.name!r} (expected one of: {', '.join(sorted(REQUEST_TYPES))})")
                continue
            low, high = spec.args
            if not low <= len(node.refs) <= high:
                bad(path, f"{node.name} takes {low}..{high} argument(s), got {len(node.refs)}")
            if not free:
                for ref in node.refs:
                    if ref not in bound:
                        bad(path, f"argument {ref!r} names no field or input here")
    if rt.kind == "named" and rt.name in req.types and not free:
        for ref in req.needs(rt.name):
            if ref not in bound:
                bad(path, f"{rt.name} needs {ref!r}, which names no field or input here")


# --------------------------------------------------------------------------------------------- actions
_METHOD_KEYS = ("summary", "docs", "single", "flatten", "params", "defaults", "private", "runtime", "example")


def parse_action(bad: Bad, data: Mapping[str, Any], wire: str, default_name: str) -> RequestAction | None:
    """The ``action``, ``inputs``, ``methods``, ``vault``, ``eip712`` and ``batch`` keys of an exchange file
    (already checked for their basic types by the file schema)."""
    signing = data["signing"]
    fields: list[RField] = []
    raw = data["action"]
    if not isinstance(raw, dict):
        bad("action", "expected a mapping of wire keys (in msgpack order) to fields")
        return None
    if "type" in raw:
        bad("action.type", "the 'type' key is implicit (the file's wire name) and always first")
    for key, f in raw.items():
        parsed = parse_field(bad, f"action.{key}", str(key), f, where="action")
        if parsed is not None:
            fields.append(parsed)
    inputs: list[RField] = []
    for key, f in (data.get("inputs") or {}).items():
        parsed = parse_field(bad, f"inputs.{key}", str(key), f, where="input")
        if parsed is not None:
            if parsed.name != parsed.wire:
                bad(f"inputs.{key}.name", "an input is named by its key")
            inputs.append(parsed)
    vault_raw = data.get("vault", False)
    if vault_raw not in (True, False, "explicit"):
        bad("vault", f"expected true, false or explicit, got {vault_raw!r}")
    vault = vault_raw in (True, "explicit")
    if vault and signing == "user_signed":
        bad("vault", "user-signed actions are never hashed with a vault address")
    eip = data.get("eip712")
    if signing == "user_signed" and eip is None:
        bad("eip712", "missing required key for a user_signed action")
    if signing != "user_signed" and eip is not None:
        bad("eip712", "only user_signed actions have an EIP-712 type list")
    nonce_keys = [f.wire for f in fields if f.is_nonce]
    fill_keys = [f.wire for f in fields if f.fill]
    if signing == "user_signed":
        if [f.wire for f in fields[:2]] != list(FILLS) or fill_keys != list(FILLS):
            bad("action", "a user-signed action continues with signatureChainId and hyperliquidChain (fill: ...)")
        if len(nonce_keys) != 1:
            bad("action", "a user-signed action has exactly one field of type nonce (its time/nonce key)")
        eip_names = [n for n, _ in (eip or {}).get("fields", [])] if isinstance(eip, dict) else []
        for f in fields:
            if f.is_param and eip_names and f.wire not in eip_names:
                bad(f"action.{f.wire}", "a user-signed field must be in the EIP-712 type list (it is signed)")
    elif fill_keys:
        bad("action", "only user-signed actions have signatureChainId / hyperliquidChain filled in")
    if len(nonce_keys) > 1:
        bad("action", "at most one field of type nonce")
    names: dict[str, str] = {}
    for f in [*fields, *inputs]:
        if f.is_param:
            if f.name in names:
                bad(f"action.{f.wire}.name", f"duplicate parameter name {f.name!r} (also {names[f.name]})")
            if f.name in _OPTIONS and f.wire not in [i.wire for i in inputs]:
                bad(f"action.{f.wire}.name", f"{f.name!r} is the name of an option of every generated method")
            names[f.name] = f.wire
    batch = data.get("batch")
    if batch is not None and batch not in names:
        bad("batch", f"unknown parameter {batch!r}")
    methods: list[RMethod] = []
    raw_methods = data.get("methods")
    if raw_methods is None:
        raw_methods = {default_name: {"summary": data["summary"]}}
    if not isinstance(raw_methods, dict) or not raw_methods:
        bad("methods", "expected a non-empty mapping of method names")
        raw_methods = {}
    for mname, m in raw_methods.items():
        path = f"methods.{mname}"
        if not isinstance(mname, str) or not _ident_ok(mname):
            bad(path, f"expected a snake_case method name, got {mname!r}")
            continue
        if not isinstance(m, dict):
            bad(path, "expected a mapping")
            continue
        for k in m:
            if k not in _METHOD_KEYS:
                bad(f"{path}.{k}", f"unknown key (expected one of: {', '.join(_METHOD_KEYS)})")
        if not isinstance(m.get("summary"), str) or not m["summary"].strip():
            bad(f"{path}.summary", "missing required key (a non-empty string)")
        params = m.get("params")
        if params is not None and (not isinstance(params, list) or not all(isinstance(p, str) for p in params)):
            bad(f"{path}.params", "expected a list of parameter names")
            params = None
        example = m.get("example")
        if example is not None and (
            not isinstance(example, dict)
            or set(example) != {"params", "action"}
            or not isinstance(example["params"], dict)
        ):
            bad(f"{path}.example", "expected {params: {...}, action: {...}}")
            example = None
        methods.append(
            RMethod(
                name=mname,
                summary=str(m.get("summary", "")).strip(),
                doc=str(m.get("docs", "")).strip(),
                single=m.get("single"),
                flatten=tuple(m.get("flatten") or ()),
                defaults=dict(m.get("defaults") or {}),
                params=tuple(params) if params is not None else None,
                private=bool(m.get("private", False)),
                runtime=bool(m.get("runtime", False)),
                example=example,
            )
        )
    return RequestAction(
        signing=signing,
        vault=vault,
        vault_default=vault_raw is True,
        fields=tuple(fields),
        inputs=tuple(inputs),
        methods=tuple(methods),
        primary_type=eip["primary_type"] if isinstance(eip, dict) else None,
        eip712_fields=tuple((a, b) for a, b in eip["fields"]) if isinstance(eip, dict) else (),
        batch_param=batch,
        nonce_key=nonce_keys[0] if nonce_keys else None,
    )


def check_action(bad: Bad, req: Requests, action: RequestAction) -> None:
    """Types, arguments, flattening and methods of one action (after every request type is known)."""
    bound = {f.wire for f in action.fields} | {f.wire for f in action.inputs}
    for where, group in (("action", action.fields), ("inputs", action.inputs)):
        for f in group:
            path = f"{where}.{f.wire}"
            if f.type is None:
                continue
            check_type(bad, req, f"{path}.type", f.type, bound=bound, free=False)
            if f.type.kind == "unit":
                bad(f"{path}.type", "'unit' is only a oneof variant")
            inner = req.named(f.type)
            if f.flatten and (inner is None or inner.kind != "record"):
                bad(f"{path}.flatten", "an action field can be flattened when its type is a record")
            if f.merge and (inner is None or inner.kind != "oneof"):
                bad(f"{path}.merge", "only a oneof field can be merged into the action")
            if f.computed and (f.type.kind != "sem" or not f.type.refs):
                bad(f"{path}.computed", "a computed field has a semantic type with arguments (its inputs)")
            if f.encode and inner is None and not (f.type.kind == "nullable" and req.named(f.type.args[0])):
                bad(f"{path}.encode", "only a record is sent as its JSON text")
    params = method_params_all(req, action)
    for m in action.methods:
        path = f"methods.{m.name}"
        if m.single is not None:
            target = next((f for f in action.fields if f.name == m.single), None)
            if (
                target is None
                or target.type is None
                or target.type.kind != "list"
                or req.named(target.type.args[0]) is None
            ):
                bad(f"{path}.single", f"expected the name of a list-of-records field, got {m.single!r}")
                continue
        names = [p.name for p in method_params(req, action, m)]
        if len(set(names)) != len(names):
            bad(path, f"duplicate parameter names {sorted({n for n in names if names.count(n) > 1})}")
        for p in [*(m.params or ()), *m.defaults]:
            if p not in names:
                bad(f"{path}.params", f"unknown parameter {p!r} (expected one of: {', '.join(names)})")
        if m.example is not None:
            for k in m.example["params"]:
                if k not in names:
                    bad(f"{path}.example.params.{k}", f"unknown parameter (expected one of: {', '.join(names)})")
        elif not m.runtime and not m.private and (m.single or not all_same(req, params)):
            bad(
                f"{path}.example",
                "missing: the high-level parameters differ from the wire-level ones (coin "
                "names, USDC amounts, flattened records, ...), so the generated test needs a high-level example",
            )


@attrs.frozen
class MParam:
    """A parameter of a high-level method: its field and how its value reaches the action."""

    name: str
    field: RField
    source: str  # "field" (an action field), "input", "single" / "flat" (an attribute of a record)
    record: RType | None = None
    parent: str | None = None  # the single element's attribute this one was flattened out of


def method_params(req: Requests, action: RequestAction, m: RMethod) -> list[MParam]:
    """The parameters of method ``m``, in wire order (before ``params`` reorders the positional ones)."""
    out: list[MParam] = []
    for f in action.fields:
        if not f.is_param or f.computed:
            continue
        inner = req.named(f.type) if f.type is not None else None
        if m.single == f.name and f.type is not None and f.type.kind == "list":
            elem = req.named(f.type.args[0])
            if elem is not None:
                for a, _ in req.attrs(elem):
                    inner2 = req.named(a.type) if a.type is not None and a.name in m.flatten else None
                    if inner2 is not None and inner2.kind == "record":
                        out.extend(MParam(b.name, b, "single", inner2, a.name) for b, _ in req.attrs(inner2))
                    else:
                        out.append(MParam(a.name, a, "single", elem))
                continue
        if f.flatten and inner is not None and inner.kind == "record":
            out.extend(MParam(a.name, a, "flat", inner) for a, _ in req.attrs(inner))
            continue
        out.append(MParam(f.name, f, "field"))
    out.extend(MParam(f.name, f, "input") for f in action.inputs)
    return out


def method_params_all(req: Requests, action: RequestAction) -> list[RField]:
    """Every field whose value a caller gives at the wire level (to decide whether examples are needed)."""
    return [f for f in action.fields if f.is_param]


def all_same(req: Requests, fields: list[RField]) -> bool:
    """True when every value of these fields means the same on the wire and at the high level."""
    seen: set[str] = set()

    def same(rt: RT | None) -> bool:
        if rt is None:
            return True
        for node in rt.walk():
            if node.kind == "sem" and node.name != "nonce" and not REQUEST_TYPES[node.name].same:
                return False
            if node.kind == "named" and node.name not in seen and node.name in req.types:
                seen.add(node.name)
                if not all(same(f.type) for f in req.types[node.name].fields):
                    return False
        return True

    return all(same(f.type) and not f.flatten and not f.computed for f in fields)
