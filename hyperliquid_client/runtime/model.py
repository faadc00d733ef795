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

__all__ = ["Model", "builder", "make_converter", "setters"]


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
    return None if value is EMPTY else value  # (a FrozenMap: pickles read-only)


def setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots ``names`` (how generated code fills a new instance)."""
    return tuple(getattr(cls, name).__set__ for name in names)


def builder(cls: type[Model]) -> Callable[[], Any]:
    """A class laid out like model ``cls`` (its slots, in order) whose instances take plain attribute stores.

    How the generated decoders of the spec's ``shared`` types make a new value: an instance of the builder is
    filled by one store a field (no setter call each, as :func:`setters` needs) and then becomes a ``cls`` by
    assigning ``cls`` to its ``__class__``, which Python allows between classes of the same layout.  What comes
    out is an ordinary ``cls``, the same as one filled through its setters (type, fields, equality, hashing,
    copying, pickling); the builder's instances never leave the decoder.
    """
    names: tuple[str, ...] = cls.__slots__
    attrs = {"__slots__": names, "__setattr__": object.__setattr__, "__delattr__": object.__delattr__}
    made: Callable[[], Any] = type(cls.__name__, (Model,), {**attrs, "__module__": __name__})
    return made


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
