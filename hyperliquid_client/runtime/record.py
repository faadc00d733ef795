"""Small immutable records without generated code: what ``attrs.frozen`` gives a plain value class, from one shared
implementation.

``@record`` on a :class:`Record` subclass declaring its fields as annotations (defaults as values) makes it a slotted
class built from keyword or positional arguments, immutable (assigning raises
:class:`dataclasses.FrozenInstanceError`), compared, hashed, shown and pickled by field, copied with changes by
:meth:`Record.replace`; type checkers see the fields and the constructor (``dataclass_transform``).  attrs generates
and compiles the methods of each class and keeps their source for debuggers (~15 KiB a class): the classes a client
builds at import and only reads use this instead.  The classes that check or convert their fields, or have
factories (settings, stream markers, the values of a request), are frozen dataclasses made by :func:`frozen`: a
client's process never imports attrs (~0.9 MiB of resident size).
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, Self, TypeVar, dataclass_transform, get_origin

__all__ = ["Record", "frozen", "record"]

_R = TypeVar("_R", bound="Record")
_T = TypeVar("_T")


class Record:
    """Built from keyword or positional arguments (with the class's defaults), immutable, compared, hashed and shown
    by field (but those in ``_hidden``); see the module documentation."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _hidden: ClassVar[frozenset[str]] = frozenset()
    #: attributes made from the fields by :meth:`_derive` (slots, neither arguments, compared nor shown)
    _derived: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        name = type(self).__name__
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} arguments, {len(args)} given")
        values = dict(zip(fields, args, strict=False))
        for key, value in kwargs.items():
            if key not in fields or key in values:
                raise TypeError(f"{name}() got an unexpected or repeated argument {key!r}")
            values[key] = value
        for field in fields:
            if field in values:
                object.__setattr__(self, field, values[field])
            elif field in self._defaults:
                object.__setattr__(self, field, self._defaults[field])
            else:
                raise TypeError(f"{name}() missing the argument {field!r}")
        if self._derived:
            self._derive()

    def _derive(self) -> None:
        """Set the ``_derived`` attributes (with ``object.__setattr__``) from the fields."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError()

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields if f not in self._hidden)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields if f not in self._hidden)
        return f"{type(self).__name__}({shown})"

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for field, value in zip(self._fields, state, strict=True):
            object.__setattr__(self, field, value)
        if self._derived:
            self._derive()

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``."""
        return type(self)(**{**{f: getattr(self, f) for f in self._fields}, **changes})


def _is_class_var(kind: Any) -> bool:
    """Whether an annotation (a string under postponed evaluation, else an object) is a ``ClassVar``."""
    if isinstance(kind, str):
        return kind.split("[", 1)[0].strip().rsplit(".", 1)[-1] == "ClassVar"
    return kind is ClassVar or get_origin(kind) is ClassVar


@dataclass_transform(frozen_default=True)
def record(cls: type[_R]) -> type[_R]:
    """``cls`` (a :class:`Record` declaring its fields as annotations, defaults as values) as a slotted record.

    A record extending another has the base's fields first, then its own (as attrs orders them); positional
    patterns (``case Info(coin, asset)``) match the fields in that order, and records can be weakly referenced.
    """
    base = cls.__mro__[1]
    inherited: tuple[str, ...] = getattr(base, "_fields", ())
    own = tuple(f for f, kind in inspect.get_annotations(cls).items() if not _is_class_var(kind) and f not in inherited)
    fields = inherited + own
    defaults = {**getattr(base, "_defaults", {}), **{f: cls.__dict__[f] for f in own if f in cls.__dict__}}
    namespace = {k: v for k, v in cls.__dict__.items() if k not in defaults and k not in ("__dict__", "__weakref__")}
    slots = own + tuple(d for d in cls.__dict__.get("_derived", ()) if not hasattr(base, d))
    if not any("__weakref__" in getattr(c, "__slots__", ()) for c in cls.__mro__[1:]):
        slots += ("__weakref__",)
    namespace.update(
        __slots__=slots, __qualname__=cls.__qualname__, __match_args__=fields, _fields=fields, _defaults=defaults
    )
    return type(cls.__name__, cls.__bases__, namespace)


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: type[_T]) -> type[_T]:
    """``cls`` as a frozen, slotted, weakly referenceable dataclass: what ``attrs.frozen`` made of the settings, stream
    markers and values a client builds at start, without importing attrs (~0.9 MiB of a streaming client's resident
    size).  Built from keyword or positional arguments (``__post_init__`` checks them), immutable (assigning raises
    :class:`dataclasses.FrozenInstanceError`), compared, hashed, shown and pickled by field, copied with changes by
    :func:`dataclasses.replace`; a pickle attrs wrote (a mapping of the fields) loads too.
    """
    own_init = "__init__" in cls.__dict__
    made = dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)(cls)
    made.__setstate__ = _setstate  # type: ignore[attr-defined]
    if not own_init:
        made.__init__ = _init(made)  # type: ignore[method-assign]
    return made


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"  # (how ``inspect.signature`` shows a field made by its factory, as for a dataclass)


_FACTORY = _Factory()


def _init(cls: type) -> Any:
    """The ``__init__`` dataclasses writes for ``cls`` (same parameters, defaults, factories, ``__post_init__``), but
    setting the fields through one bound ``object.__setattr__`` as attrs did: each field costs a local call instead
    of a global and an attribute look-up (a third of the time of a request's 9-field ``Prepared``)."""
    params, body = [], ["    _set = _object_setattr.__get__(self)"]
    namespace: dict[str, Any] = {"_object_setattr": object.__setattr__, "_MISSING": _FACTORY}
    for field in dataclasses.fields(cls):
        name = field.name
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = field.default
            params.append(f"{name}=_default_{name}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = field.default_factory
            params.append(f"{name}=_MISSING")
            body.append(f"    if {name} is _MISSING:\n        {name} = _factory_{name}()")
        else:
            params.append(name)
        body.append(f"    _set({name!r}, {name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), namespace)  # (our own text)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {**vars(cls)["__init__"].__annotations__}
    return init


def _setstate(self: Any, state: Any) -> None:
    fields = dataclasses.fields(self)
    if isinstance(state, dict):  # pickled when the class was an attrs class
        state = [state[f.name] for f in fields]
    for field, value in zip(fields, state, strict=True):
        object.__setattr__(self, field.name, value)
