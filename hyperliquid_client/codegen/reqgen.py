"""Code for exchange requests: classes, converters, action builders and method views.

The generator's model of the request side (the templates only lay it out):

* every request **record** becomes a frozen attrs class, ``_ha_<Name>`` (high level: reads the
  attributes, resolves semantic types through the build context) and ``_w_<Name>`` (wire level:
  checks a mapping with wire keys and rebuilds it in spec order);
* every **oneof** becomes ``_hp_<Name>`` / ``_wp_<Name>`` returning ``(tag, payload)``;
* every **enum** becomes a ``Literal`` alias;
* every action becomes ``_hb_<name>`` / ``_wb_<name>`` building the whole action, keys in spec order.

Generated code is straight-line (no interpretation at run time): a spec diff shows up as a readable
diff of the code that builds the wire map.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from hyperliquid_client.codegen.requests import (
    RT,
    MParam,
    RequestAction,
    Requests,
    RField,
    RMethod,
    RType,
    method_params,
)
from hyperliquid_client.runtime.validate import HANDED_OVER, REQUEST_TYPES

__all__ = ["ReqGen"]


#: A value read without a call (a name or an attribute): what a check may read twice (once to pass it as it is)
_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').rstrip()


def _local(wire: str) -> str:
    return "f_" + re.sub(r"\W", "_", wire)


@attrs.frozen
class Body:
    """Where a converter body reads values: ``level`` ``h``/``w``, ``value(field)`` and ``path(field)``
    expressions, names already bound (``scope``), leading literal items (``head``)."""

    level: str
    value: Any
    path: Any
    record: bool = False
    scope: dict[str, str] = attrs.Factory(dict)
    head: list[str] = attrs.Factory(list)


@attrs.frozen
class ParamView:
    """A parameter of a generated method."""

    name: str
    annotation: str
    default: str | None
    doc: str


class ReqGen:
    """Renders the request side of a spec to Python source."""

    def __init__(self, req: Requests) -> None:
        self.req = req

    # ---------------------------------------------------------------- annotations
    def ann(self, rt: RT, level: str) -> str:
        """The Python annotation of a value of ``rt`` at ``level`` (``h`` high, ``w`` wire)."""
        if rt.kind == "sem":
            if rt.name == "nonce":
                return "int"
            spec = REQUEST_TYPES[rt.name]
            return spec.high if level == "h" else spec.wire
        if rt.kind == "named":
            t = self.req.types[rt.name]
            if t.kind == "enum":
                return rt.name
            if level == "w":
                return "Mapping[str, Any]" if t.kind == "record" else rt.name + "Wire"
            return rt.name if t.kind == "oneof" else f"{rt.name} | Mapping[str, Any]"
        if rt.kind == "nullable":
            inner = self.ann(rt.args[0], level)
            return inner if inner.endswith("| None") else f"{inner} | None"
        if rt.kind in ("list", "sorted"):
            return f"Sequence[{self.ann(rt.args[0], level)}]"
        if rt.kind == "tuple":
            parts = {self.ann(a, level) for a in rt.args}
            return f"Sequence[{parts.pop() if len(parts) == 1 else 'Any'}]"
        if rt.kind == "pairs":
            k, v = (self.ann(a, level) for a in rt.args)
            return f"Mapping[{k}, {v}] | Sequence[Sequence[Any]]"
        return "Any"

    def field_ann(self, f: RField, level: str) -> str:
        """Annotation of a field's parameter or attribute (``| None`` when it may be left out)."""
        assert f.type is not None
        ann = self.ann(f.type, level)
        if (f.optional or (f.has_default and f.default is None)) and not ann.endswith("| None"):
            ann += " | None"
        return ann

    @staticmethod
    def default(f: RField, level: str = "w") -> str | None:
        """The Python default of a field's parameter (``None`` when it is required)."""
        if f.optional or (f.type is not None and f.type.kind == "nullable" and not f.has_default):
            return "None"
        if f.has_default:
            return repr(f.default)
        if level == "h" and not f.high_required:
            return "None"
        return None

    def json_by_construction(self, fields: tuple[RField, ...]) -> bool:
        """Whether what the generated code builds of ``fields`` holds only values its validators made (plain
        strings, integers, booleans, ``None``, lists and string-keyed maps of them): no semantic type of
        ``HANDED_OVER`` in them or in any record or variant they hold."""
        seen: set[str] = set()
        todo = [f.type for f in fields]
        while todo:
            rt = todo.pop()
            for t in rt.walk() if rt is not None else ():
                if t.kind == "sem" and t.name in HANDED_OVER:
                    return False
                if t.kind == "named" and t.name not in seen:
                    seen.add(t.name)
                    todo.extend(f.type for f in self.req.types[t.name].fields)
        return True

    # ---------------------------------------------------------------- conversions
    def conv(self, rt: RT, level: str, value: str, path: str, scope: dict[str, str]) -> str:
        """A Python expression converting ``value`` (an expression) of type ``rt`` at ``level``."""
        ctx = "ctx" if level == "h" else "None"
        if rt.kind == "sem":
            spec = REQUEST_TYPES[rt.name]
            fn = ("_v." if spec.fn.startswith("v.") else "_m.") + spec.fn[2:]
            if spec.fn == "v.boolean" and _SIMPLE.fullmatch(value):  # a bool is itself (its path made only to refuse)
                return f"({value} if {value}.__class__ is bool else {fn}({path}, {value}))"
            if not spec.ctx:
                return f"{fn}({path}, {value})"
            args = [scope.get(r, "None") if level == "h" else "None" for r in rt.refs]
            return f"{fn}({', '.join([ctx, path, value, *args])})"
        if rt.kind == "named":
            t = self.req.types[rt.name]
            if t.kind == "enum":
                check = f"_v.choice({path}, {value}, _E_{t.name})"
                if _SIMPLE.fullmatch(value):  # one of the values is itself (its path made only to refuse)
                    return f"({value} if {value}.__class__ is str and {value} in _E_{t.name} else {check})"
                return check
            needs = [scope.get(n, "None") if level == "h" else "None" for n in self.req.needs(t.name)]
            extra = "".join(f", {n}" for n in needs) if level == "h" else ""
            if t.kind == "record":
                if level == "h":
                    return f"_h_{t.name}(ctx, {path}, {value}{extra})"
                return f"_w_{t.name}({path}, {value})"
            pair = f"_hp_{t.name}(ctx, {path}, {value}{extra})" if level == "h" else f"_wp_{t.name}({path}, {value})"
            tagged = f"_v.tagged(_U_{t.name}, *{pair})"
            if any(v.type is not None and v.type.kind == "unit" for v in t.fields):  # a unit given: itself
                return f"({value} if {value}.__class__ is str and {value} in _U_{t.name} else {tagged})"
            return tagged
        if rt.kind == "nullable":
            return f"(None if {value} is None else {self.conv(rt.args[0], level, value, path, scope)})"
        item = lambda a: f"lambda n, x: {self.conv(a, level, 'x', 'n', scope)}"  # noqa: E731
        if rt.kind == "list":
            return f"_v.items({path}, {value}, {item(rt.args[0])})"
        if rt.kind == "sorted":
            return f"_v.sorted_unique({path}, {value}, {item(rt.args[0])})"
        if rt.kind == "pairs":
            return f"_v.pairs({path}, {value}, {item(rt.args[0])}, {item(rt.args[1])})"
        if rt.kind == "tuple":
            return f"_v.fixed_tuple({path}, {value}, ({', '.join(item(a) for a in rt.args)},))"
        raise ValueError(rt)

    def field_conv(self, f: RField, level: str, value: str, path: str, scope: dict[str, str]) -> str:
        """The conversion of one field's value (``nonempty`` and ``encode: json`` applied)."""
        assert f.type is not None
        if f.nonempty and f.type.kind == "list":
            item = self.conv(f.type.args[0], level, "x", "n", scope)
            expr = f"_v.items({path}, {value}, lambda n, x: {item}, nonempty=True)"
        else:
            expr = self.conv(f.type, level, value, path, scope)
        if f.encode == "json" and level == "h":
            return f"_v.json_text({expr})"
        return expr

    # ---------------------------------------------------------------- bodies
    def _order(self, fields: tuple[RField, ...], bound: set[str]) -> list[RField]:
        """Fields whose values other fields' arguments read, in dependency order."""
        by_wire = {f.wire: f for f in fields}
        done: list[RField] = []

        def visit(w: str, stack: tuple[str, ...] = ()) -> None:
            f = by_wire.get(w)
            if f is None or f in done or w in stack:
                return
            for ref in self.req.refs(f.type):
                visit(ref, (*stack, w))
            done.append(f)

        for f in fields:
            for ref in self.req.refs(f.type):
                if ref in by_wire and ref in bound:
                    visit(ref)
        return done

    def body(self, fields: tuple[RField, ...], b: Body) -> list[str]:
        """Statements building ``out`` (keys in wire order); ``b`` says where values come from."""
        lines: list[str] = []
        scope = dict(b.scope)
        for f in self._order(fields, {x.wire for x in fields}):
            if f.wire not in scope:
                lines.append(f"{_local(f.wire)} = {self.field_conv(f, b.level, b.value(f), b.path(f), scope)}")
                scope[f.wire] = _local(f.wire)
        literal: list[str] = list(b.head)
        statements: list[str] = []
        for f in fields:
            kind, code = self._field_code(f, b, scope)
            if kind == "item" and not statements:
                literal.append(f"{f.wire!r}: {code}")
            elif kind == "item":
                statements.append(f"out[{f.wire!r}] = {code}")
            else:
                statements.extend(code.splitlines())
        lines.append("out: dict[str, Any] = {" + ", ".join(literal) + "}")
        return lines + statements

    def _field_code(self, f: RField, b: Body, scope: dict[str, str]) -> tuple[str, str]:
        """``("item", expression)`` or ``("stmt", statements)`` for one key."""
        if f.has_const:
            return "item", repr(f.const)
        if f.fill or f.is_nonce:
            return "item", "None"
        assert f.type is not None
        if f.merge:
            t = self.req.types[f.type.name]
            pair = (
                f"_hp_{t.name}(ctx, {b.path(f)}, {b.value(f)})"
                if b.level == "h"
                else f"_wp_{t.name}({b.path(f)}, {b.value(f)})"
            )
            return "stmt", f"tag, payload = {pair}\nout[tag] = payload"
        if f.flatten and b.record and b.level == "h":
            return "item", self._flat_oneof(f, scope)
        if f.wire in scope and scope[f.wire] == _local(f.wire):
            expr = scope[f.wire]
        elif f.optional:
            expr = self.field_conv(f, b.level, "x", b.path(f), scope)
        else:
            expr = self.field_conv(f, b.level, b.value(f), b.path(f), scope)
        if f.type.kind == "sem" and f.type.name == "flag":
            if f.optional:
                expr = self.field_conv(f, b.level, b.value(f), b.path(f), scope)
                return "stmt", f"if {b.value(f)} is not None and {expr}:\n    out[{f.wire!r}] = True"
            return "stmt", f"if {expr}:\n    out[{f.wire!r}] = True"
        if f.optional:
            if expr == scope.get(f.wire):
                return "stmt", f"if {expr} is not None:\n    out[{f.wire!r}] = {expr}"
            return "stmt", f"x = {b.value(f)}\nif x is not None:\n    out[{f.wire!r}] = {expr}"
        return "item", expr

    def _flat_oneof(self, f: RField, scope: dict[str, str]) -> str:
        """A flattened oneof field of a record: the first variant given wins, the last is the fallback."""
        assert f.type is not None
        inner = self.req.types[f.type.name]
        *first, last = inner.fields
        expr = self._variant(last, scope)
        for var in reversed(first):
            expr = f"({self._variant(var, scope)} if v.{var.name} is not None else {expr})"
        return expr

    def _variant(self, var: RField, scope: dict[str, str]) -> str:
        assert var.type is not None
        if var.type.kind == "unit":
            return repr(var.wire)
        vt = self.req.named(var.type)
        if var.flatten and vt is not None:
            needs = "".join(f", {scope.get(n, 'None')}" for n in self.req.needs(vt.name))
            return f"{{{var.wire!r}: _ha_{vt.name}(ctx, p, v{needs})}}"
        conv = self.field_conv(var, "h", f"v.{var.name}", f'q + "{var.name}"', scope)
        return f"{{{var.wire!r}: {conv}}}"

    # ---------------------------------------------------------------- records and oneofs
    def class_source(self, t: RType) -> str:
        """The frozen attrs class of record ``t`` (its Python attributes, flattened oneofs expanded)."""
        lines = ["@attrs.frozen", f"class {t.name}:", f'    """{_doc(t.doc)}"""', ""]
        for a, _ in self.req.attrs(t):
            ann = self.field_ann(a, "h")
            default = self.default(a)
            lines.append(f"    {a.name}: {ann}" + (f" = {default}" if default is not None else ""))
            if a.doc:
                lines.append(f'    """{_doc(a.doc)}"""')
        return "\n".join(lines)

    def record_source(self, t: RType) -> str:
        """The high-level and wire-level converters of record ``t``."""
        lines: list[str] = []
        aliases = {f.wire: f.name for f in t.fields if not f.flatten and f.wire != f.name}
        needs = self.req.needs(t.name)
        sig = "".join(f", n_{n}: Any" for n in needs)
        call = "".join(f", n_{n}" for n in needs)
        high = self._high_body(t, ())
        wire = Body("w", record=True, value=self._wire_value, path=lambda f: f'q + "{f.wire}"')
        lines += [
            f"_WN_{t.name}: dict[str, str] = {aliases!r}",
            f"_WK_{t.name} = {tuple(f.wire for f in t.fields)!r}",
            "",
            "",
            f"def _h_{t.name}(ctx: BuildContext, p: str, v: Any{sig}) -> dict[str, Any]:",
            f"    return _ha_{t.name}(ctx, p, _v.record(p, v, {t.name}, _WN_{t.name}){call})",
            "",
            "",
            f"def _ha_{t.name}(ctx: BuildContext, p: str, v: Any{sig}) -> dict[str, Any]:",
            '    q = p + "." if p else ""',
            *("    " + x for line in self.body(t.fields, high) for x in line.splitlines()),
            "    return out",
            "",
            "",
            f"def _w_{t.name}(p: str, v: Any) -> dict[str, Any]:",
            f"    m = _v.wire_record(p, v, _WK_{t.name})",
            '    q = p + "." if p else ""',
            *("    " + x for line in self.body(t.fields, wire) for x in line.splitlines()),
            "    return out",
        ]
        return "\n".join(lines)

    def _high_body(self, t: RType, flat: tuple[str, ...]) -> Body:
        """Where ``_ha_<Name>`` of record ``t`` reads its values; the fields named in ``flat`` are named in errors
        at the record's own path (their attributes are the caller's parameters)."""
        return Body(
            "h",
            record=True,
            value=lambda f: f"v.{f.name}",
            path=lambda f: "p" if f.name in flat else f'q + "{f.name}"',
            scope={n: f"n_{n}" for n in self.req.needs(t.name)},
        )

    def flat_source(self, action: RequestAction) -> str | None:
        """``_hf_<Name>``: ``_ha_<Name>`` of the element that ``action``'s one-element method builds, for a method
        that takes fields of the element's record fields as its own parameters (``flatten:``), so that errors name
        them as the method's parameters (``sz``, not ``order.sz``).  ``None``: no such method."""
        m = next((m for m in action.methods if m.single), None)
        t = self.single_record(action)
        if m is None or t is None or not m.flatten:
            return None
        assert not self.req.needs(t.name), t.name  # (a record that needs values of its action's other fields)
        body = self.body(t.fields, self._high_body(t, tuple(m.flatten)))
        return "\n".join(
            [
                f"def _hf_{t.name}(ctx: BuildContext, p: str, v: Any) -> dict[str, Any]:",
                f'    """``_ha_{t.name}`` naming the fields of {", ".join(m.flatten)} as parameters."""',
                '    q = p + "." if p else ""',
                *("    " + x for line in body for x in line.splitlines()),
                "    return out",
            ]
        )

    @staticmethod
    def _wire_value(f: RField) -> str:
        if f.required:
            return f'_v.wire_key(p, m, "{f.wire}")'
        if f.has_default and f.default is not None:
            return f'm.get("{f.wire}", {f.default!r})'
        return f'm.get("{f.wire}")'

    def oneof_source(self, t: RType) -> str:
        """Tags, classes and the two converters (``(tag, payload)``) of oneof ``t``."""
        tags = tuple(v.wire for v in t.fields)
        units = tuple(v.wire for v in t.fields if v.type is not None and v.type.kind == "unit")
        classes = [
            (v.type.name, v.wire)
            for v in t.fields
            if v.type is not None and (self.req.named(v.type) or t).kind == "record" and v.type.kind == "named"
        ]
        needs = self.req.needs(t.name)
        sig = "".join(f", n_{n}: Any" for n in needs)
        scope = {n: f"n_{n}" for n in needs}
        x = "x" if len(units) < len(tags) else "_"
        lines = [
            f"_T_{t.name} = {tags!r}",
            f"_U_{t.name}: frozenset[str] = frozenset({units!r})",
            f"_C_{t.name}: dict[type, str] = {{{', '.join(f'{c}: {w!r}' for c, w in classes)}}}",
            "",
            "",
            f"def _hp_{t.name}(ctx: BuildContext, p: str, v: Any{sig}) -> tuple[str, Any]:",
            f"    tag, {x} = _v.one_of(p, v, _T_{t.name}, _U_{t.name}, _C_{t.name})",
        ]
        for var in t.fields:
            assert var.type is not None
            if var.type.kind == "unit":
                continue
            conv = self.conv(var.type, "h", "x", f'p + ".{var.wire}"', scope)
            lines += [f"    if tag == {var.wire!r}:", f"        return tag, {conv}"]
        lines += ["    return tag, None", "", "", f"def _wp_{t.name}(p: str, v: Any) -> tuple[str, Any]:"]
        lines += [f"    tag, {x} = _v.one_of(p, v, _T_{t.name}, _U_{t.name}, {{}})"]
        for var in t.fields:
            assert var.type is not None
            if var.type.kind == "unit":
                continue
            conv = self.conv(var.type, "w", "x", f'p + ".{var.wire}"', {})
            lines += [f"    if tag == {var.wire!r}:", f"        return tag, {conv}"]
        lines += ["    return tag, None"]
        return "\n".join(lines)

    def oneof_alias(self, t: RType) -> str:
        """``Name = VariantClass | ... | Literal[units] | Mapping[str, Any]`` and ``NameWire``."""
        parts: list[str] = []
        units = [v.wire for v in t.fields if v.type is not None and v.type.kind == "unit"]
        for v in t.fields:
            vt = self.req.named(v.type) if v.type is not None else None
            if vt is not None and vt.kind == "record":
                parts.append(vt.name)
        if units:
            parts.append(f"Literal[{', '.join(repr(u) for u in units)}]")
        wire = [f"Literal[{', '.join(repr(u) for u in units)}]"] if units else []
        return (
            f"{t.name} = {' | '.join([*parts, 'Mapping[str, Any]'])}\n"
            f'"""{_doc(t.doc)}"""\n'
            f"{t.name}Wire = {' | '.join([*wire, 'Mapping[str, Any]'])}"
        )

    # ---------------------------------------------------------------- actions
    def action_source(self, wire: str, name: str, action: RequestAction) -> str:
        """``_hb_<name>`` and ``_wb_<name>``: the whole action from its parameters, keys in spec order."""
        params = [f for f in action.fields if f.is_param]
        head = [f'"type": {wire!r}']
        high = Body(
            "h",
            value=lambda f: "None" if f.computed else f.name,
            path=lambda f: '""' if f.flatten else repr(f.name),
            scope={f.wire: f.name for f in action.inputs},
            head=head,
        )
        wire_fields = tuple(attrs.evolve(f, computed=False) for f in action.fields)
        low = Body("w", value=lambda f: f.wire_name, path=lambda f: repr(f.wire_name), head=head)
        high_params = [f for f in params if not f.computed]
        hsig = ", ".join(["ctx: BuildContext", *[f"{f.name}: Any" for f in [*high_params, *action.inputs]]])
        built = self.body(action.fields, high)
        lines = [
            f"def _hb_{name}({hsig}) -> dict[str, Any]:",
            *("    " + x for line in built for x in line.splitlines()),
            "    return out",
            "",
            "",
            f"def _wb_{name}({', '.join(f'{f.wire_name}: Any' for f in params)}) -> dict[str, Any]:",
            *("    " + x for line in self.body(wire_fields, low) for x in line.splitlines()),
            "    return out",
        ]
        single = self.single_parts(action)
        if single is not None:  # the methods sending one element of the batch: without the list's walk
            batch, one = single
            code = "\n".join(built)
            assert code.count(batch) == 1, (name, batch)
            lines += [
                "",
                "",
                f"def _hs_{name}({hsig}) -> dict[str, Any]:",
                *("    " + x for x in code.replace(batch, f"[{one}]").splitlines()),
                "    return out",
            ]
        return "\n".join(lines)

    def single_record(self, action: RequestAction) -> RType | None:
        """The record whose one element the methods of ``action`` sending one element build (``None``: none do)."""
        single = next((m.single for m in action.methods if m.single), None)
        f = next((f for f in action.fields if f.name == single), None)
        if f is None or f.type is None or self.single_parts(action) is None:
            return None
        return self.req.named(f.type.args[0])

    def args_class_source(self, t: RType) -> str:
        """``_A_<Name>``: the attributes of record ``t`` as a method sending one element hands them to ``_hs_``
        (which reads them as it reads the record's): plain slots, built on every call without the frozen class's
        per-field ``setattr``; never returned to a caller."""
        names = [a.name for a, _ in self.req.attrs(t)]
        return "\n".join(
            [
                f"class _A_{t.name}:",
                f'    """The attributes of a :class:`{t.name}` as one-element methods pass them to their builder."""',
                "",
                f"    __slots__ = {tuple(names)!r}",
                "",
                f"    def __init__(self, {', '.join(f'{n}: Any' for n in names)}) -> None:",
                *(f"        self.{n} = {n}" for n in names),
            ]
        )

    def single_parts(self, action: RequestAction) -> tuple[str, str] | None:
        """For ``_hs_<name>``, ``_hb_<name>`` of the methods that send one element of a batch (``single:``), given
        that element as the request class it is (the generated method builds it): the batch's conversion in
        ``_hb_`` and what replaces it, a list of that element read as ``_v.items`` reads it at index 0 (same
        values; errors name the method's parameters, ``sz``, where the batch's name ``orders[0].sz``).  ``None``: no
        such method, or an element that is not a record."""
        single = next((m.single for m in action.methods if m.single), None)
        f = next((f for f in action.fields if f.name == single), None)
        if f is None or f.type is None or f.type.kind != "list" or not f.nonempty or f.encode:
            return None
        elem = self.req.named(f.type.args[0])
        one = self.conv(f.type.args[0], "h", f.name, repr(""), {})  # (errors name the method's parameters)
        if elem is None or elem.kind != "record" or not one.startswith(f"_h_{elem.name}("):
            return None
        m = next(m for m in action.methods if m.single)
        return self.field_conv(f, "h", f.name, repr(f.name), {}), ("_hf_" if m.flatten else "_ha_") + one[3:]

    def shape(self, rt: RT | None) -> Any:
        """The key-order shape of a value (for the fake exchange's check): see ``runtime.registry``."""
        if rt is None or rt.kind in ("sem", "unit"):
            return None
        if rt.kind == "nullable":
            return self.shape(rt.args[0])
        if rt.kind in ("list", "sorted"):
            inner = self.shape(rt.args[0])
            return None if inner is None else ("list", inner)
        if rt.kind in ("pairs", "tuple"):
            return None
        t = self.req.types[rt.name]
        if t.kind == "enum":
            return None
        if t.kind == "oneof":
            return ("one", tuple((v.wire, self.shape(v.type)) for v in t.fields))
        return self.record_shape(t.fields)

    def record_shape(self, fields: tuple[RField, ...]) -> Any:
        """The shape of a record with these fields."""
        items = []
        for f in fields:
            items.append(("*", self.shape(f.type)) if f.merge else (f.wire, None if f.encode else self.shape(f.type)))
        return ("rec", tuple(items))

    # ---------------------------------------------------------------- methods
    def method_view(self, endpoint: Any, action: RequestAction, m: RMethod) -> dict[str, Any]:
        """What the template needs to write one high-level method (sync and async)."""
        mparams = method_params(self.req, action, m)
        by_name = {p.name: p for p in mparams}
        positional = list(m.params) if m.params is not None else [p.name for p in mparams if p.field.high_required]
        views: list[ParamView] = []

        def default(p: MParam) -> str | None:
            return repr(m.defaults[p.name]) if p.name in m.defaults else self.default(p.field, "h")

        for pname in positional:
            p = by_name[pname]
            views.append(ParamView(p.name, self.field_ann(p.field, "h"), default(p), _doc(p.field.doc)))
        keyword = []
        for p in mparams:
            if p.name not in positional:
                keyword.append(ParamView(p.name, self.field_ann(p.field, "h"), default(p) or "None", _doc(p.field.doc)))
        args = []
        records: dict[str, list[MParam]] = {}
        for p in mparams:
            if p.record is not None:
                records.setdefault(p.record.name + p.source, []).append(p)
        single = m.single is not None and self.single_parts(action) is not None
        for f in [*action.fields, *action.inputs]:
            if not f.is_param or (f.computed and f not in action.inputs):
                continue
            if m.single == f.name and f.type is not None and f.type.kind == "list":
                elem = self.req.named(f.type.args[0])
                assert elem is not None
                parts = []  # (positional, in the class's order: the record is built on every call)
                for a, _ in self.req.attrs(elem):
                    inner = self.req.named(a.type) if a.type is not None and a.name in m.flatten else None
                    if inner is not None:
                        parts.append(f"{inner.name}({', '.join(b.name for b, _ in self.req.attrs(inner))})")
                    else:
                        parts.append(a.name)
                args.append(f"[{'_A_' if single else ''}{elem.name}({', '.join(parts)})]")
            elif f.flatten and f.type is not None:
                rec = self.req.types[f.type.name]
                kw = ", ".join(f"{a.name}={a.name}" for a, _ in self.req.attrs(rec))
                args.append(f"{rec.name}({kw})")
            else:
                args.append(f.name)
        options = ["wallet"]
        if action.vault:
            options.append("vault_address")
        if action.signing in ("l1", "multi_sig"):
            options.append("expires_after")
        if single:  # (the element built here, not a list of it)
            args = [a[1:-1] if a.startswith("[") else a for a in args]
        send = ", ".join(
            [
                f"_EP_{endpoint.name.upper()}",
                f"_hs_{endpoint.name}" if single else f"_hb_{endpoint.name}",
                "(" + ", ".join(args) + ("," if len(args) == 1 else "") + ")",
                "wallet",
                "vault_address" if "vault_address" in options else "None",
                "expires_after" if "expires_after" in options else "None",
                "timeout",
            ]
        )
        return {
            "name": ("_" if m.private else "") + m.name,
            "public": m.name,
            "summary": _doc(m.summary),
            "doc": _doc(m.doc),
            "positional": views,
            "keyword": keyword,
            "options": options,
            "send": send,
            "wire": endpoint.wire,
            "signing": action.signing,
            "weight": endpoint.weight,
            "example": m.example,
            "example_literal": repr(self._example(endpoint, action, m)),
            "runtime": m.runtime,
        }

    @staticmethod
    def _example(endpoint: Any, action: RequestAction, m: RMethod) -> Any:
        """The method's example, or the wire sample when it means the same at the high level."""
        if m.example is not None:
            return m.example
        if m.private or m.single:
            return None
        samples = {p.name: p for p in endpoint.params}
        params = {f.name: samples[f.wire_name].sample for f in action.params if samples[f.wire_name].has_sample}
        return {"params": params, "action": endpoint.sample_response}
