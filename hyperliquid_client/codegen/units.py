"""Where each generated model lives: one module of ``hyperliquid_client.generated._models`` per type.

A program loads the models it uses and what they refer to, not all of them: a type's module imports the
modules of the types its fields and variants refer to.  Types that refer to each other (a cycle) share one
module; the enums share one.  Composite converters (``_c_list_Trade``...) are defined in every module that
uses them; the API modules import a composite from the module of the one type it holds, or from the
``composites`` module when it holds several or none.  ``hyperliquid_client.generated.models`` re-exports
every name (type checkers see them all; at run time each is imported on first use).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hyperliquid_client.codegen.model import TypeDef
from hyperliquid_client.codegen.typeexpr import TypeExpr

__all__ = ["PACKAGE", "Units"]

PACKAGE = "hyperliquid_client.generated._models"
_ENUMS = "enums"
_COMPOSITES = "composites"
_STRUCT = "hyperliquid_client.runtime.struct"
_REF = re.compile(r"\b(_[scl]_\w+)\b")
_WORD = re.compile(r"\b([A-Z]\w*)\b")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _named(t: TypeExpr) -> set[str]:
    if t.kind == "named":
        return {t.name}
    return set().union(*(_named(a) for a in t.args)) if t.args else set()


def _deps(t: TypeDef) -> set[str]:
    if t.is_enum:
        return set()
    if t.is_union:
        pairs = t.variants if t.tag else t.by_key
        return {v for _, v in pairs} | ({t.strings} if t.strings else set())
    return set().union(*(_named(f.type) for f in t.fields)) if t.fields else set()


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative), each sorted, in a deterministic order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                out.append(sorted(group))
    return sorted(out)


class Units:
    """The module of every type and composite converter (see the module documentation)."""

    def __init__(self, types: dict[str, TypeDef], composites: dict[str, TypeExpr], body: Any, name: Any) -> None:
        self.types = types
        self.composites = composites
        self.body = body  # a composite's TypeExpr -> its body expression
        self.name = name  # a TypeExpr -> the name of its converter
        graph = {name: {d for d in _deps(t) if not types[d].is_enum} for name, t in types.items() if not t.is_enum}
        self.home: dict[str, str] = {name: _ENUMS for name, t in types.items() if t.is_enum}
        for group in _components(graph):
            unit = _snake(group[0])
            if unit in (_ENUMS, _COMPOSITES) or unit in self.home.values():
                raise ValueError(f"type {group[0]!r}: module name {unit!r} is taken")
            for name in group:
                self.home[name] = unit
        #: composites each module must define beyond what its own fields use (those the API modules import)
        self.extra: dict[str, set[str]] = {}

    def closure(self, names: Iterable[str]) -> list[str]:
        """The composites ``names`` use, with those they use in turn (sorted)."""
        seen: set[str] = set()
        todo = [n for n in names if n.startswith("_c_")]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(n for n in _REF.findall(self.body(self.composites[name])) if n.startswith("_c_"))
        return sorted(seen)

    def module_of(self, name: str) -> str:
        """The module an API module imports ``name`` (a model, ``_s_X`` or ``_c_...``) from."""
        if name.startswith("to_"):
            return _STRUCT
        if name.startswith("_c_"):
            leaves = _named(self.composites[name])
            if len(leaves) == 1:
                unit = self.home[leaves.pop()]
                self.extra.setdefault(unit, set()).add(name)
            else:
                unit = _COMPOSITES
                self.extra.setdefault(unit, set()).add(name)
            return f"{PACKAGE}.{unit}"
        return f"{PACKAGE}.{self.home[name[3:] if name.startswith(('_s_', '_l_')) else name]}"

    def imports(self, names: Iterable[str]) -> list[tuple[str, list[str]]]:
        """``(module, names)`` import lines for ``names``, by module."""
        by_module: dict[str, set[str]] = {}
        for name in names:
            by_module.setdefault(self.module_of(name), set()).add(name)
        return [(module, sorted(found)) for module, found in sorted(by_module.items())]

    def unit_imports(self, unit: str, code: str, own: set[str]) -> tuple[list[tuple[str, list[str]]], list[str]]:
        """Run-time imports (decoders, and the classes union aliases name) and type-only imports of a module."""
        runtime: dict[str, set[str]] = {}
        for ref in set(_REF.findall(code)):
            if ref.startswith(("_s_", "_l_")) and ref[3:] in self.home and ref[3:] not in own:
                runtime.setdefault(self.home[ref[3:]], set()).add(ref)
        aliases = re.findall(r"^\w+: TypeAlias = (.+)$", code, flags=re.MULTILINE)
        for name in {w for line in aliases for w in _WORD.findall(line)}:
            if name in self.home and name not in own:
                runtime.setdefault(self.home[name], set()).add(name)
        typed = sorted(
            f"from {PACKAGE}.{self.home[w]} import {w}"
            for w in set(_WORD.findall(code))
            if w in self.home and w not in own and w not in runtime.get(self.home[w], set())
        )
        lines = [(f"{PACKAGE}.{u}", sorted(found)) for u, found in sorted(runtime.items()) if u != unit]
        return lines, typed
