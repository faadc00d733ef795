"""Type expressions of the spec format.

Grammar::

    expr  := term ("|" term)*          # only "T | null" unions; other unions are named types
    term  := NAME ("[" expr ("," expr)* "]")?

Primitive names: ``str int uint bool float decimal udecimal any``; constructors ``list[T]``,
``map[T]`` (string keys), ``tuple[A, B, ...]`` (positional JSON arrays), ``deflated[T]`` (a base64
string of raw DEFLATE data whose JSON is ``T``); ``null`` only inside ``T | null``.  Any other name
refers to a type declared in ``spec/types/`` or in a spec file's
``types:`` section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import attrs

__all__ = ["PRIMITIVES", "Tokens", "TypeExpr", "TypeExprError", "parse_type"]

T = TypeVar("T")

PRIMITIVES = {
    "str": "str",
    "int": "int",
    "uint": "int",
    "bool": "bool",
    "float": "float",
    "decimal": "Decimal",
    "udecimal": "Decimal",
    "address": "str",
    "any": "Any",
}
_CONSTRUCTORS = {"list": 1, "map": 1, "tuple": None, "deflated": 1}
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\[)|(\])|(,)|(\|))")


class TypeExprError(ValueError):
    """A malformed type expression."""


@attrs.frozen
class TypeExpr:
    """A parsed type expression.

    ``kind`` is ``prim``, ``named``, ``list``, ``map``, ``tuple``, ``deflated`` or ``nullable``.
    """

    kind: str
    name: str = ""
    args: tuple[TypeExpr, ...] = ()

    def canonical(self) -> str:
        """The normalised spelling (``list[L2Level] | null``)."""
        if self.kind in ("prim", "named"):
            return self.name
        if self.kind == "nullable":
            return f"{self.args[0].canonical()} | null"
        return f"{self.kind}[{', '.join(a.canonical() for a in self.args)}]"

    def named_refs(self) -> list[str]:
        """Every named type this expression refers to."""
        if self.kind == "named":
            return [self.name]
        out: list[str] = []
        for a in self.args:
            out.extend(a.named_refs())
        return out

    def python(self) -> str:
        """The Python annotation for values of this type."""
        if self.kind == "prim":
            return PRIMITIVES[self.name]
        if self.kind == "named":
            return self.name
        if self.kind == "list":
            return f"tuple[{self.args[0].python()}, ...]"
        if self.kind == "map":
            return f"Mapping[str, {self.args[0].python()}]"
        if self.kind == "tuple":
            return f"tuple[{', '.join(a.python() for a in self.args)}]"
        if self.kind == "deflated":
            return self.args[0].python()
        inner = self.args[0].python()
        return inner if inner == "Any" else f"{inner} | None"

    def slug(self) -> str:
        """An identifier-safe name for the converter of this type."""
        if self.kind in ("prim", "named"):
            return self.name
        if self.kind == "nullable":
            return f"opt_{self.args[0].slug()}"
        return f"{self.kind}_{'_'.join(a.slug() for a in self.args)}"


class Tokens:
    """The tokens of a type expression read left to right (shared with the request type parser).

    ``error`` is the exception raised with a readable reason; ``pattern`` the token regex (a name or
    one punctuation character per match).
    """

    def __init__(self, text: str, error: type[ValueError], pattern: re.Pattern[str] = _TOKEN) -> None:
        if not isinstance(text, str) or not text.strip():
            raise error("a type expression must be a non-empty string")
        self.text, self.error, self.toks, self.pos = text, error, [], 0
        at, end = 0, len(text.rstrip())
        while at < end:
            m = pattern.match(text, at)
            if not m or m.end() == at:
                raise error(f"unexpected character {text[at:].strip()[:1]!r} in type {text!r}")
            self.toks.append(next(g for g in m.groups() if g is not None))
            at = m.end()

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise self.error(f"unexpected end of type {self.text!r}")
        if expected is not None and tok != expected:
            raise self.error(f"expected {expected!r} but found {tok!r} in type {self.text!r}")
        self.pos += 1
        return tok

    def name(self) -> str:
        """A type name (the start of a term)."""
        name = self.take()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise self.error(f"expected a type name but found {name!r} in type {self.text!r}")
        return name

    def listed(self, item: Callable[[], T], opening: str = "[", closing: str = "]") -> list[T]:
        """``opening item ("," item)* closing``."""
        self.take(opening)
        out = [item()]
        while self.peek() == ",":
            self.take(",")
            out.append(item())
        self.take(closing)
        return out

    def arguments(self, name: str, item: Callable[[], T], arity: int | None) -> tuple[T, ...]:
        """The ``[...]`` arguments of constructor ``name``, ``arity`` of them (any number: ``None``)."""
        args = self.listed(item)
        if arity is not None and len(args) != arity:
            raise self.error(f"{name}[...] takes {arity} argument(s) in type {self.text!r}")
        return tuple(args)

    def end(self, result: T) -> T:
        """``result``, once every token was read."""
        if self.pos != len(self.toks):
            raise self.error(f"unexpected {self.toks[self.pos]!r} in type {self.text!r}")
        return result


def parse_type(text: str) -> TypeExpr:
    """Parse ``text``; raises :class:`TypeExprError` with a readable reason."""
    toks = Tokens(text, TypeExprError)
    peek, take = toks.peek, toks.take

    def expr() -> TypeExpr:
        terms = [term()]
        while peek() == "|":
            take("|")
            terms.append(term())
        if len(terms) == 1:
            if terms[0].kind == "prim" and terms[0].name == "null":
                raise TypeExprError(f"'null' only makes sense as 'T | null' in type {text!r}")
            return terms[0]
        non_null = [t for t in terms if not (t.kind == "prim" and t.name == "null")]
        if len(terms) != 2 or len(non_null) != 1:
            raise TypeExprError(
                f"only 'T | null' unions are allowed in type {text!r}; declare other unions as named types"
            )
        return TypeExpr("nullable", args=(non_null[0],))

    def term() -> TypeExpr:
        name = toks.name()
        if name in _CONSTRUCTORS:
            return TypeExpr(name, args=toks.arguments(name, expr, _CONSTRUCTORS[name]))
        if peek() == "[":
            raise TypeExprError(f"{name!r} takes no arguments in type {text!r}")
        if name == "null" or name in PRIMITIVES:
            return TypeExpr("prim", name=name)
        return TypeExpr("named", name=name)

    return toks.end(expr())
