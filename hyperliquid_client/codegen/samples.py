"""Checks of a spec file's ``sample`` and ``choices`` against its own declarations.

A sample feeds the generated tests (parameters → request body, response → structured model); a
bad one would surface as a traceback of the generator or a confusing generated test.  These checks
use the runtime's own rules — the parameter validators of :mod:`hyperliquid_client.runtime.validate`
and the structuring helpers of :mod:`hyperliquid_client.runtime.struct` — so a sample is accepted
exactly when the generated client would accept it.  Each problem is ``(key path, message)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hyperliquid_client.codegen.model import Param, TypeDef
from hyperliquid_client.codegen.typeexpr import TypeExpr
from hyperliquid_client.runtime import struct
from hyperliquid_client.runtime import validate as v
from hyperliquid_client.runtime.errors import InvalidInputError

__all__ = ["param_problems", "value_problems"]

Problem = tuple[str, str]

_PRIMITIVES: dict[str, Callable[[Any], Any]] = {
    "str": struct.to_str,
    "int": struct.to_int,
    "uint": struct.to_uint,
    "bool": struct.to_bool,
    "float": struct.to_float,
    "decimal": struct.to_decimal,
    "udecimal": struct.to_udecimal,
    "address": struct.to_address,
    "any": struct.to_any,
}
#: At most this many problems are reported per sample (the first ones show what is wrong).
_MAX_PER_SAMPLE = 5


def _desc(value: Any) -> str:
    if isinstance(value, dict | list):
        return type(value).__name__
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _refusal(exc: InvalidInputError) -> str:
    """The validator's message without its ``invalid <name>:`` prefix (the key path names the value)."""
    return str(exc).split(": ", 1)[-1]


def _validate(p: Param, value: Any) -> Any:
    """Run the parameter's runtime validator on ``value`` (raises ``InvalidInputError``)."""
    check = getattr(v, v.PARAM_TYPES[p.item_type])
    if p.is_list:
        return v.list_of(p.name, value, check)
    return check(p.name, value)


def param_problems(index: int, p: Param, raw_choices: Any, has_default: bool) -> list[Problem]:
    """Problems of parameter ``p`` (``params[index]``): its choices, its default and its sample value."""
    out: list[Problem] = []
    choices: list[Any] = []
    if raw_choices is not None:
        for j, choice in enumerate(raw_choices):
            try:
                _validate(p, choice)
            except InvalidInputError as exc:
                out.append((f"params[{index}].choices[{j}]", _refusal(exc)))
            else:
                choices.append(choice)
    values = [("sample.params." + p.name, p.sample, p.has_sample), (f"params[{index}].default", p.default, has_default)]
    for path, value, given in values:
        if not given or (value is None and not p.required):
            continue
        try:
            _validate(p, value)
        except InvalidInputError as exc:
            out.append((path, _refusal(exc)))
            continue
        if raw_choices is not None and value not in choices:
            out.append((path, f"{value!r} is not one of the choices {choices!r}"))
    return out


def value_problems(t: TypeExpr, value: Any, types: Mapping[str, TypeDef], path: str) -> list[Problem]:
    """Where ``value`` (decoded JSON) does not match type ``t`` as the generated structuring reads it."""
    out: list[Problem] = []
    _walk(t, value, types, path, out)
    return out[:_MAX_PER_SAMPLE]


def _walk(t: TypeExpr, value: Any, types: Mapping[str, TypeDef], path: str, out: list[Problem]) -> None:
    if len(out) >= _MAX_PER_SAMPLE:
        return
    if t.kind == "nullable":
        if value is not None:
            _walk(t.args[0], value, types, path, out)
        return
    if t.kind == "prim":
        try:
            _PRIMITIVES[t.name](value)
        except struct.Bad as exc:
            out.append(
                (path, f"expected {'an' if exc.expected[0] in 'aeiou' else 'a'} {exc.expected}, got {_desc(value)}")
            )
        return
    if t.kind == "deflated":
        try:
            inflated = struct.to_deflated(value, struct.to_any)
        except struct.Bad as exc:
            out.append((path, f"expected a {exc.expected}, got {_desc(value)}"))
        else:
            _walk(t.args[0], inflated, types, path, out)
        return
    td = types.get(t.name) if t.kind == "named" else None
    if td is not None and td.is_enum:
        if value not in td.enum:
            out.append((path, f"expected one of the {t.name} values {', '.join(td.enum)}, got {_desc(value)}"))
        return
    if td is not None and td.strings is not None and isinstance(value, str):
        _walk(TypeExpr("named", td.strings), value, types, path, out)
        return
    if t.kind in ("list", "tuple"):
        if not isinstance(value, list):
            out.append((path, f"expected a list ({t.canonical()}), got {_desc(value)}"))
        elif t.kind == "tuple" and len(value) != len(t.args):
            out.append((path, f"expected a list of {len(t.args)} items ({t.canonical()}), got {len(value)}"))
        else:
            for i, item in enumerate(value):
                _walk(t.args[0] if t.kind == "list" else t.args[i], item, types, f"{path}[{i}]", out)
        return
    if not isinstance(value, dict):
        out.append((path, f"expected a mapping ({t.canonical()}), got {_desc(value)}"))
        return
    if t.kind == "map":
        for key, item in value.items():
            _walk(t.args[0], item, types, f"{path}.{key}", out)
        return
    td = types.get(t.name)
    if td is None:
        return  # an unknown type: reported as such by the loader
    if td.by_key:
        keys = [k for k, _ in td.by_key if k in value]
        if len(keys) != 1:
            names = ", ".join(k for k, _ in td.by_key)
            out.append((path, f"expected exactly one of the {t.name} keys {names}, got {', '.join(keys) or 'none'}"))
        else:
            _walk(TypeExpr("named", dict(td.by_key)[keys[0]]), value, types, path, out)
        return
    if td.is_union:
        variants = dict(td.variants)
        tag = value.get(td.tag or "")
        if tag not in variants:
            out.append(
                (f"{path}.{td.tag}", f"expected one of the {t.name} variants {', '.join(variants)}, got {tag!r}")
            )
        else:
            _walk(TypeExpr("named", variants[tag]), value, types, path, out)
        return
    for f in td.fields:
        if f.wire not in value:
            if not f.optional:
                out.append((f"{path}.{f.wire}", f"missing required field of {t.name}"))
        elif not (f.optional and value[f.wire] is None):
            _walk(f.type, value[f.wire], types, f"{path}.{f.wire}", out)
