"""Drift: notice when an answer of the API no longer matches the spec.

Every response and WebSocket message is structured by the generated models.  What does not match
the spec is *drift*, of five kinds:

- ``extra``: a field the spec does not declare (kept in the model's ``extra``);
- ``enum``: an enum value the spec does not know (kept as its string);
- ``variant``: a union variant the spec does not know (kept as :class:`~hyperliquid_client.runtime.struct.Unknown`);
- ``missing``: a field the spec marks required is absent;
- ``type``: a value of the wrong type (or out of range, e.g. a negative size).

A :class:`DriftMonitor` (one per client) reports each drift once per (endpoint, JSON path, kind):
one ``schema.drift`` event and one warning on the ``hyperliquid_client.drift`` logger, naming the
path with list indexes as ``[*]`` and map keys as ``.*``, what the spec expected and the JSON type
of what arrived.  The value itself is never reported (it may be private), except the unknown enum
value or variant tag, which is what a maintainer needs to update the spec.

What drift does to the call is the ``drift`` setting (``ClientConfig(drift=...)``):

- ``"warn"`` (default): extra fields, unknown enum values and unknown variants are reported and the
  answer is delivered; a missing or mistyped field raises
  :class:`~hyperliquid_client.runtime.errors.InvalidResponseError` (no model can be built) and is
  reported too;
- ``"strict"``: like ``warn``, but an unknown enum value or variant also raises
  ``InvalidResponseError``; an extra field never does;
- ``"ignore"``: nothing is reported; missing or mistyped fields still raise.

The answers to signed actions are always read strictly (an order status the library does not
know is never reported as success): see :mod:`hyperliquid_client.runtime.results`.

Noting drift costs nothing when there is none: the generated code calls
:func:`~hyperliquid_client.runtime.struct.note_drift` only for an unknown field, value or variant;
the JSON path is worked out afterwards, once per new drift, by structuring the value again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar

from hyperliquid_client.runtime.errors import ConfigError, InvalidResponseError, shown
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.struct import DRIFT, Bad

__all__ = ["DRIFT_MODES", "DriftMode", "DriftMonitor", "json_type"]

T = TypeVar("T")

DriftMode = Literal["warn", "strict", "ignore"]
#: The accepted values of ``ClientConfig(drift=...)``.
DRIFT_MODES: Final = ("warn", "strict", "ignore")
#: Drift kinds that stop structuring (no model can be built): always an ``InvalidResponseError``.
FAILURES: Final = frozenset({"missing", "type"})

_log = get_logger("hyperliquid_client.drift")
_MAX_TRACKED = 4096
_MAX_VALUE = 80


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (``object``, ``array``, ``string``, ``number``, ``boolean``, ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _at(data: Any, parts: list[str | int]) -> Any:
    """The value at ``parts`` (innermost-first, as :class:`Bad` records them) inside ``data``."""
    for part in reversed(parts):
        data = data[part]
    return data


class DriftMonitor:
    """Structures answers and reports their drift from the spec (see the module docs).

    ``events`` receives ``schema.drift``; ``mode`` is ``"warn"``, ``"strict"`` or ``"ignore"``.
    Thread-safe; each (endpoint, path, kind) is reported once for the monitor's lifetime.
    """

    def __init__(self, events: EventBus | None = None, mode: str = "warn") -> None:
        if mode not in DRIFT_MODES:
            raise ConfigError("drift", f"expected one of {', '.join(DRIFT_MODES)}, got {shown(mode)}")
        self.events = events if events is not None else EventBus()
        self.mode = mode
        self._lock = threading.Lock()
        # (endpoint, kind, type, detail) -> the generic path found for it ("" when it was not found)
        self._located: dict[tuple[str, str, str, str], str] = {}
        self._reported: set[tuple[str, str, str]] = set()
        self._decoders: dict[tuple[str, Callable[[Any], Any]], Callable[[Any], Any]] = {}
        self._saturated = False

    # ---------------------------------------------------------------------------------------------- API
    def parse(self, fn: Callable[[Any], T], data: Any, endpoint: str, *, strict: bool = False) -> T:
        """Structure ``data`` with the generated ``fn``; report drift; raise when it cannot be read.

        Raises :class:`InvalidResponseError` (with the path) for a missing or mistyped field and, in
        strict mode (the monitor's or ``strict=True``), for an unknown enum value or variant.
        """
        strict = strict or self.mode == "strict"
        if self.mode == "ignore" and not strict:
            try:
                return fn(data)
            except Bad as exc:
                raise InvalidResponseError(exc.render_path(), exc.expected, exc.got, endpoint=endpoint) from None
        state = DRIFT
        outer = state.sink
        sink: list[tuple[str, str, str]] = []
        state.sink = sink
        try:
            result = fn(data)
        except Bad as exc:
            self._failed(exc, endpoint)
            raise InvalidResponseError(exc.render_path(), exc.expected, exc.got, endpoint=endpoint) from None
        finally:
            state.sink = outer
        if sink:
            self._drifted(fn, data, endpoint, sink, strict)
        return result

    def decoder(self, endpoint: str, fn: Callable[[Any], T]) -> Callable[[Any], T]:
        """``fn`` monitored for ``endpoint`` (the same callable for the same arguments, so subscribers share it)."""
        key = (endpoint, fn)
        found = self._decoders.get(key)
        if found is None:

            def decode(data: Any) -> T:
                return self.parse(fn, data, endpoint)

            with self._lock:
                found = self._decoders.setdefault(key, decode)
        return found

    # ---------------------------------------------------------------------------------------------- drift
    def _failed(self, exc: Bad, endpoint: str) -> None:
        if self.mode == "ignore":
            return
        got = "missing" if exc.kind == "missing" else json_type(exc.got)
        self._report(endpoint, exc.kind, exc.render_path(generic=True), exc.expected, got, None)

    def _drifted(
        self, fn: Callable[[Any], Any], data: Any, endpoint: str, sink: list[tuple[str, str, str]], strict: bool
    ) -> None:
        report = self.mode != "ignore"
        for signature in dict.fromkeys(sink):
            kind, type_name, detail = signature
            key = (endpoint, kind, type_name, detail)
            known = self._located.get(key)
            if known is not None and not strict:
                continue  # reported (or unlocatable) before
            found = self._locate(fn, data, signature)
            if found is None:
                self._remember(key, "")
                continue
            path, generic, value = found
            self._remember(key, generic)
            if kind == "extra":
                expected, got, shown = f"no field {detail!r} in {type_name}", json_type(value), None
            elif kind == "enum":
                expected, got, shown = f"a {type_name} value", json_type(value), detail[:_MAX_VALUE]
            else:
                expected, got, shown = f"a known {type_name} variant", json_type(value), detail[:_MAX_VALUE]
            if report:
                self._report(endpoint, kind, generic, expected, got, shown)
            if strict and kind != "extra":
                raise InvalidResponseError(path, expected, shown, endpoint=endpoint)

    def _locate(
        self, fn: Callable[[Any], Any], data: Any, signature: tuple[str, str, str]
    ) -> tuple[str, str, Any] | None:
        """Structure ``data`` again, stopping at ``signature``: its exact path, generic path and value."""
        state = DRIFT
        outer_sink, outer_target = state.sink, state.target
        state.sink, state.target = None, signature
        try:
            fn(data)
        except Bad as exc:
            if exc.kind != signature[0]:
                return None
            try:
                value = _at(data, exc.path)
                if signature[0] == "extra":
                    value = value[signature[2]]
            except (KeyError, IndexError, TypeError):
                value = None
            path, generic = exc.render_path(), exc.render_path(generic=True)
            if signature[0] == "extra":
                path, generic = f"{path}.{signature[2]}", f"{generic}.{signature[2]}"
            return path, generic, value
        finally:
            state.sink, state.target = outer_sink, outer_target
        return None

    def _remember(self, key: tuple[str, str, str, str], generic: str) -> None:
        with self._lock:
            if len(self._located) < _MAX_TRACKED:
                self._located[key] = generic
                return
            saturated, self._saturated = self._saturated, True
        if not saturated:
            log(_log, logging.WARNING, "too many distinct drifts: new ones are no longer tracked", limit=_MAX_TRACKED)

    def _report(self, endpoint: str, kind: str, path: str, expected: str, got: str, value: str | None) -> None:
        with self._lock:
            key = (endpoint, path, kind)
            if key in self._reported or len(self._reported) >= _MAX_TRACKED:
                return
            self._reported.add(key)
        log(
            _log,
            logging.WARNING,
            "the API answer does not match the spec",
            endpoint=endpoint,
            path=path,
            kind=kind,
            expected=expected,
            got=got,
            value=value,
        )
        if self.events.wants("schema.drift"):
            self.events.emit(
                "schema.drift", endpoint=endpoint, path=path, kind=kind, expected=expected, got=got, value=value
            )
