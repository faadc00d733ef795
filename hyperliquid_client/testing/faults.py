"""Fault injection for the fake exchange: what can go wrong, and on which requests.

A :class:`Fault` describes *what* happens (a delay, a hang, a broken body, a dropped socket...).
:class:`FaultRules` decides *when*: every rule belongs to a route (``"/info"``, ``"/exchange"``,
``"/explorer"``, ``"/stats"``, ``"/ws"``), may require some fields of the request to be equal
(``match``), and may be limited to the next ``count`` matching events.

This module is sans-I/O: the server asks :meth:`FaultRules.select` which faults apply to an event
described by a *view* (a dict) and performs them itself.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import attrs

from hyperliquid_client.runtime.errors import InvalidInputError

__all__ = ["ROUTES", "Fault", "FaultHandle", "FaultKind", "FaultRules", "Selection", "lookup"]

#: Routes a fault can be attached to.
ROUTES: tuple[str, ...] = ("/info", "/exchange", "/explorer", "/stats", "/ws")

_MISSING = object()


class FaultKind(StrEnum):
    """The kinds of fault the fake exchange can inject."""

    LATENCY = "latency"
    HANG = "hang"
    CLOSE_MID_BODY = "close_mid_body"
    STATUS = "status"
    MALFORMED_JSON = "malformed_json"
    TRUNCATED_JSON = "truncated_json"
    WS_DROP = "ws_drop"
    WS_IGNORE_PINGS = "ws_ignore_pings"
    WS_SILENCE = "ws_silence"


#: Faults that put a WebSocket connection into a lasting mode (``count`` = connections affected).
MODE_KINDS = frozenset({FaultKind.WS_IGNORE_PINGS, FaultKind.WS_SILENCE})
#: Faults only meaningful on the ``/ws`` route.
WS_ONLY_KINDS = frozenset({FaultKind.WS_DROP, FaultKind.WS_IGNORE_PINGS, FaultKind.WS_SILENCE})


@attrs.frozen
class Fault:
    """One kind of misbehaviour.  Build it with the class methods (``Fault.latency(0.5)``...).

    ``seconds`` (latency), ``code``/``body``/``headers`` (status, ws close code) and
    ``content_type`` are only used by the kinds that need them.
    """

    kind: FaultKind
    seconds: float = 0.0
    code: int | None = None
    body: bytes | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    content_type: str = "application/json"

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Answer normally, ``seconds`` later (WS: handle the matching client message later)."""
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise InvalidInputError("seconds", "a number >= 0", seconds)
        return cls(FaultKind.LATENCY, seconds=float(seconds))

    @classmethod
    def hang(cls) -> Fault:
        """Read the request and never answer until the server stops (WS: swallow the message)."""
        return cls(FaultKind.HANG)

    @classmethod
    def close_mid_body(cls) -> Fault:
        """Send the status line, headers (full ``Content-Length``) and half the body, then close."""
        return cls(FaultKind.CLOSE_MID_BODY)

    @classmethod
    def status(
        cls,
        code: int,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "text/plain",
    ) -> Fault:
        """Answer HTTP ``code`` with ``body`` and extra ``headers`` instead of the real answer.

        On a WebSocket ``post`` it becomes a ``{"type": "error"}`` post response; at the WebSocket
        upgrade the handshake is refused with this status.
        """
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise InvalidInputError("code", "an HTTP status code (100-599)", code)
        raw = body.encode() if isinstance(body, str) else bytes(body)
        return cls(FaultKind.STATUS, code=code, body=raw, headers=dict(headers or {}), content_type=content_type)

    @classmethod
    def rate_limited(cls, retry_after: float | int | str | None = None) -> Fault:
        """HTTP 429 with the JSON body ``null`` (as the real API) and an optional ``Retry-After``."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            if isinstance(retry_after, float) and retry_after.is_integer():
                retry_after = int(retry_after)
            headers["Retry-After"] = str(retry_after)
        return cls(FaultKind.STATUS, code=429, body=b"null", headers=headers, content_type="application/json")

    @classmethod
    def malformed_json(cls, body: bytes | str | None = None) -> Fault:
        """HTTP 200, ``application/json``, with a complete body that is not valid JSON."""
        raw = None if body is None else (body.encode() if isinstance(body, str) else bytes(body))
        return cls(FaultKind.MALFORMED_JSON, body=raw)

    @classmethod
    def truncated_json(cls) -> Fault:
        """HTTP 200 whose (correctly framed) body is the real JSON cut in the middle."""
        return cls(FaultKind.TRUNCATED_JSON)

    @classmethod
    def ws_drop(cls, code: int | None = None) -> Fault:
        """Close matching WebSocket connections: abruptly (no close frame, client sees 1006) or with ``code``."""
        if code is not None and (not isinstance(code, int) or isinstance(code, bool) or not 1000 <= code <= 4999):
            raise InvalidInputError("code", "a WebSocket close code (1000-4999) or None", code)
        return cls(FaultKind.WS_DROP, code=code)

    @classmethod
    def ws_ignore_pings(cls) -> Fault:
        """Stop answering ``{"method":"ping"}`` (and protocol pings) on matching connections."""
        return cls(FaultKind.WS_IGNORE_PINGS)

    @classmethod
    def ws_silence(cls) -> Fault:
        """Send nothing more on matching connections (half-open simulation); the socket stays open."""
        return cls(FaultKind.WS_SILENCE)


@attrs.define(eq=False)
class FaultHandle:
    """A fault attached to a route; pass it to ``remove_fault``.

    ``hits`` counts how many times it took effect; ``remaining`` is how many more events it will
    apply to (``None`` = unlimited; for WebSocket mode faults it counts connections).
    """

    id: int
    route: str
    fault: Fault
    match: Mapping[str, Any] | None
    remaining: int | None
    hits: int = 0
    claimed: set[int] = attrs.field(factory=set)
    active: bool = True


@attrs.frozen
class Selection:
    """The faults applying to one event: the total extra ``delay`` and at most one other ``fault``."""

    delay: float = 0.0
    fault: Fault | None = None
    handle: FaultHandle | None = None


def lookup(view: Mapping[str, Any], key: str) -> Any:
    """Value of ``key`` in ``view``; dotted keys (``"action.type"``) descend into nested dicts."""
    if key in view:
        return view[key]
    current: Any = view
    for part in key.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _matches(match: Mapping[str, Any] | None, view: Mapping[str, Any]) -> bool:
    if not match:
        return True
    return all(lookup(view, k) == v for k, v in match.items())


class FaultRules:
    """Thread-safe, ordered set of fault rules (the order of ``add`` is the order of precedence)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultHandle] = []
        self._ids = itertools.count(1)

    def add(
        self, route: str, fault: Fault, *, count: int | None = None, match: Mapping[str, Any] | None = None
    ) -> FaultHandle:
        """Attach ``fault`` to ``route``; see :meth:`FakeExchange.add_fault`."""
        if route not in ROUTES:
            raise InvalidInputError("route", "one of " + ", ".join(ROUTES), route)
        if not isinstance(fault, Fault):
            raise InvalidInputError("fault", "a Fault (e.g. Fault.latency(1.0))", type(fault).__name__)
        if fault.kind in WS_ONLY_KINDS and route != "/ws":
            raise InvalidInputError("route", f"'/ws' for Fault.{fault.kind.value}()", route)
        if fault.kind in (FaultKind.CLOSE_MID_BODY, FaultKind.MALFORMED_JSON, FaultKind.TRUNCATED_JSON) and (
            route == "/ws"
        ):
            raise InvalidInputError("route", f"an HTTP route for Fault.{fault.kind.value}()", route)
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise InvalidInputError("count", "a positive integer or None", count)
        if match is not None and not isinstance(match, Mapping):
            raise InvalidInputError("match", "a dict of body fields", type(match).__name__)
        handle = FaultHandle(next(self._ids), route, fault, dict(match) if match is not None else None, remaining=count)
        with self._lock:
            self._rules.append(handle)
        return handle

    def remove(self, handle: FaultHandle) -> bool:
        """Detach ``handle``; False if it was no longer attached."""
        with self._lock:
            handle.active = False
            try:
                self._rules.remove(handle)
            except ValueError:
                return False
            return True

    def clear(self) -> None:
        """Detach every rule."""
        with self._lock:
            for rule in self._rules:
                rule.active = False
            self._rules = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)

    def select(
        self,
        route: str,
        view: Mapping[str, Any],
        *,
        kinds: frozenset[FaultKind] | None = None,
    ) -> Selection:
        """Consume and return the faults applying to one event on ``route``.

        Every matching latency rule adds its delay; the first matching rule of another kind (in
        ``kinds`` when given; latency always applies) is the fault.  Mode kinds (ws_silence, ws_ignore_pings) are never
        selected here: use :meth:`mode_applies`.
        """
        if not self._rules:
            return Selection()
        delay = 0.0
        chosen: FaultHandle | None = None
        with self._lock:
            for rule in list(self._rules):
                kind = rule.fault.kind
                if rule.route != route or kind in MODE_KINDS:
                    continue
                if kinds is not None and kind not in kinds and kind is not FaultKind.LATENCY:
                    continue
                if kind is not FaultKind.LATENCY and chosen is not None:
                    continue
                if not _matches(rule.match, view):
                    continue
                self._consume(rule)
                if kind is FaultKind.LATENCY:
                    delay += rule.fault.seconds
                else:
                    chosen = rule
        if chosen is None:
            return Selection(delay=delay)
        return Selection(delay=delay, fault=chosen.fault, handle=chosen)

    def mode_applies(self, kind: FaultKind, connection: int, view: Mapping[str, Any]) -> bool:
        """True when a mode fault of ``kind`` covers ``connection`` for this event (may claim it)."""
        if not self._rules:
            return False
        with self._lock:
            for rule in self._rules:
                if rule.route != "/ws" or rule.fault.kind is not kind:
                    continue
                if not _matches(rule.match, view):
                    continue
                if connection in rule.claimed:
                    rule.hits += 1
                    return True
                if rule.remaining is None or rule.remaining > 0:
                    rule.claimed.add(connection)
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    rule.hits += 1
                    return True
        return False

    def _consume(self, rule: FaultHandle) -> None:
        rule.hits += 1
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                rule.active = False
                self._rules.remove(rule)
