"""The base of the generated models: immutable, slotted, compared and hashed by their fields.

Generated models are plain classes (no class decorator runs at import: building 180 attrs classes took most of
the package's import time).  Each declares its ``__slots__``, annotated fields and a keyword-only ``__init__``;
its generated structuring function fills a new instance straight through the slots' setters (:func:`setters`).
What attrs gave the models, this base gives them: immutability (assigning or deleting a field raises
:class:`dataclasses.FrozenInstanceError`), a ``repr`` without ``extra``, equality and hashing by every
field, copying and pickling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError
from typing import TYPE_CHECKING, Any

from hyperliquid_client.runtime.struct import EMPTY, parse_with, to_wire

if TYPE_CHECKING:
    import cattrs

__all__ = ["Model", "make_converter", "setters"]


class Model:
    """Base class of every generated model (see the module documentation)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError()

    def _values(self) -> tuple[Any, ...]:
        names: tuple[str, ...] = self.__slots__
        return tuple(getattr(self, name) for name in names)

    def __repr__(self) -> str:
        names: tuple[str, ...] = self.__slots__
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names if name != "extra")
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Model)
        return self._values() == other._values()

    def __hash__(self) -> int:
        # ``extra`` (a mapping) left out: equal models still hash alike
        names: tuple[str, ...] = self.__slots__
        return hash((self.__class__, *(getattr(self, name) for name in names if name != "extra")))

    def __getstate__(self) -> tuple[Any, ...]:
        names: tuple[str, ...] = self.__slots__
        return tuple(_picklable(name, getattr(self, name)) for name in names)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        names: tuple[str, ...] = self.__slots__
        for set_field, name, value in zip(setters(type(self), *names), names, state, strict=True):
            set_field(self, EMPTY if name == "extra" and value is None else value)


def _picklable(name: str, value: Any) -> Any:
    if name != "extra":
        return value
    return None if value is EMPTY else dict(value)  # a read-only mapping view does not pickle


def setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots ``names`` (how generated code fills a new instance)."""
    return tuple(getattr(cls, name).__set__ for name in names)


def make_converter(structure_fns: Mapping[type, Callable[[Any], Any]]) -> cattrs.Converter:
    """A cattrs converter structuring each class with its function (errors as ``InvalidResponseError``)."""
    import cattrs

    def hook(fn: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
        def structure(data: Any, _type: Any) -> Any:
            return parse_with(fn, data)

        return structure

    converter = cattrs.Converter()
    for cls, fn in structure_fns.items():
        converter.register_structure_hook(cls, hook(fn))
        converter.register_unstructure_hook(cls, to_wire)
    return converter
