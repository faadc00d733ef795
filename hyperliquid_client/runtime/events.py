"""A small, synchronous event hook API.

Components emit named events (``request.start``, ``cache.hit``, ...); users subscribe
callables to an exact name, a prefix pattern (``"request.*"``) or everything (``"*"``).
Emitting costs one dictionary lookup when nobody listens: hot paths guard the event
construction with :meth:`EventBus.wants`.

Handlers run in the emitting thread / task and must be quick; an exception raised by a
handler is logged (``hyperliquid_client.events``) and never propagates into the library.

Events never carry secrets (private keys, signatures' key material).  The full catalogue
of names and fields lives in ``docs/events.md`` and :data:`CATALOGUE`.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.record import frozen

__all__ = ["CATALOGUE", "Event", "EventBus", "Handler", "check_pattern"]

_log = logging.getLogger("hyperliquid_client.events")

#: Every event name the library emits, with the fields it carries.
CATALOGUE: Mapping[str, tuple[str, ...]] = {
    "request.start": ("context", "endpoint", "weight", "attempt", "url"),
    "request.end": ("context", "endpoint", "weight", "attempt", "status", "duration", "ok", "error"),
    "request.retry": ("context", "endpoint", "weight", "attempt", "delay", "reason"),
    "signing.backend": ("backend", "reason"),
    "exchange.sent": ("action", "nonce", "weight"),
    "exchange.result": ("action", "nonce", "status", "duration"),
    "exchange.resend": ("action", "nonce", "weight"),
    "exchange.refused": ("action", "reason"),
    "ws.connect": ("url", "connection", "attempt"),
    "ws.disconnect": ("url", "connection", "reason", "code"),
    "ws.reconnect_scheduled": ("url", "connection", "delay", "attempt"),
    "ws.message": ("connection", "channel", "size"),
    "ws.subscribe": ("connection", "key"),
    "ws.unsubscribe": ("connection", "key"),
    "ws.interrupted": ("key",),
    "ws.resumed": ("key",),
    "ws.recovered": ("key", "count"),
    "ws.stale": ("key", "silence"),
    "ws.drop": ("key", "dropped", "policy"),
    "ws.error": ("connection", "message"),
    "ws.callback_error": ("key", "error"),
    "ws.post": ("connection", "id", "kind", "ok"),
    "ws.subscription_failed": ("key", "error"),
    "ws.recovery_failed": ("key", "error"),
    "ws.gap": ("key", "since_ms", "until_ms", "error"),
    "cache.hit": ("cache", "key", "stale"),
    "cache.miss": ("cache", "key"),
    "cache.evict": ("cache", "key", "reason", "size", "count"),
    "cache.expire": ("cache", "key"),
    "cache.fetch": ("cache", "key", "ok", "duration", "error"),
    "cache.warm": ("name", "status", "reason"),
    "storage.write": ("kind", "rows"),
    "storage.flush": ("rows", "duration", "ok"),
    "storage.retry": ("rows", "attempt", "delay", "error"),
    "storage.drop": ("kind", "rows", "reason"),
    "storage.reject": ("kind", "reason"),
    "rate.wait": ("context", "endpoint", "weight", "delay", "reason"),
    "rate.limited": ("context", "endpoint", "weight", "retry_after", "reason"),
    "rate.budget": ("scope", "remaining", "limit", "level"),
    "rate.backoff": ("scope", "state", "delay", "strikes"),
    "rate.address": ("address", "used", "cap", "level"),
    "rate.redis": ("state", "error", "share"),
    "rate.circuit": ("host", "state", "failures", "retry_after"),
    "rate.batch": ("action", "size", "weight", "saved"),
    "rate.ws": ("limit", "value", "detail"),
    "schema.drift": ("endpoint", "path", "kind", "expected", "got", "value"),
}


@frozen
class Event:
    """One emitted event: its ``name``, free-form ``fields`` and wall-clock ``time`` (s)."""

    name: str
    fields: Mapping[str, Any]
    time: float

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Return field ``key`` or ``default``."""
        return self.fields.get(key, default)


Handler = Callable[[Event], None]


def check_pattern(pattern: str) -> None:
    """Raise :class:`InvalidInputError` when ``pattern`` matches no event of :data:`CATALOGUE`."""
    if pattern == "*" or pattern in CATALOGUE:
        return
    if pattern.endswith(".*") and "*" not in pattern[:-2]:
        prefix = pattern[:-1]
        if any(name.startswith(prefix) for name in CATALOGUE):
            return
    import difflib  # (only to word this error: a client never loads it otherwise)

    choices = [*CATALOGUE, *sorted({name.split(".")[0] + ".*" for name in CATALOGUE})]
    close = difflib.get_close_matches(pattern, choices, n=3, cutoff=0.6)
    raise InvalidInputError(
        "pattern",
        "an event name of the catalogue (docs/events.md), a prefix such as 'ws.*', or '*'",
        pattern,
        detail=f"closest: {', '.join(close)}" if close else f"groups: {', '.join(sorted(choices[len(CATALOGUE) :]))}",
    )


class EventBus:
    """Registry of event handlers.  Thread-safe; subscription returns an unsubscribe callable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exact: dict[str, tuple[Handler, ...]] = {}
        self._prefix: tuple[tuple[str, Handler], ...] = ()
        self._resolved: dict[str, tuple[Handler, ...]] = {}
        self._watchers: list[weakref.WeakMethod[Callable[[], None]]] = []

    def watch(self, method: Callable[[], None]) -> None:
        """Call the bound ``method`` (held weakly) after every change of the handlers.

        Lets a hot path cache what :meth:`wants` says instead of asking it every time.
        """
        with self._lock:
            self._watchers = [w for w in self._watchers if w() is not None]
            self._watchers.append(weakref.WeakMethod(method))

    def _changed(self) -> None:
        for ref in tuple(self._watchers):
            method = ref()
            if method is not None:
                method()

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for events matching ``pattern``.

        ``pattern`` is an exact name (``"cache.hit"``), a prefix ending in ``.*``
        (``"ws.*"``) or ``"*"`` for everything; a pattern that matches no event of :data:`CATALOGUE`
        (a typo) raises :class:`InvalidInputError` naming the closest ones.  Returns a function that
        unsubscribes.
        """
        if not isinstance(pattern, str) or not pattern:
            raise TypeError("pattern must be a non-empty string")
        if not callable(handler):
            raise TypeError("handler must be callable")
        check_pattern(pattern)
        with self._lock:
            if pattern == "*" or pattern.endswith(".*"):
                prefix = "" if pattern == "*" else pattern[:-1]
                self._prefix = (*self._prefix, (prefix, handler))
            else:
                self._exact[pattern] = (*self._exact.get(pattern, ()), handler)
            self._resolved = {}
        self._changed()

        def unsubscribe() -> None:
            with self._lock:
                if pattern == "*" or pattern.endswith(".*"):
                    prefix = "" if pattern == "*" else pattern[:-1]
                    items = list(self._prefix)
                    if (prefix, handler) in items:
                        items.remove((prefix, handler))
                    self._prefix = tuple(items)
                else:
                    hs = list(self._exact.get(pattern, ()))
                    if handler in hs:
                        hs.remove(handler)
                    if hs:
                        self._exact[pattern] = tuple(hs)
                    else:
                        self._exact.pop(pattern, None)
                self._resolved = {}
            self._changed()

        return unsubscribe

    def _handlers(self, name: str) -> tuple[Handler, ...]:
        resolved = self._resolved
        hs = resolved.get(name)
        if hs is None:
            with self._lock:
                found = list(self._exact.get(name, ()))
                found.extend(h for p, h in self._prefix if name.startswith(p))
                hs = tuple(found)
                self._resolved[name] = hs
        return hs

    def wants(self, name: str) -> bool:
        """True when at least one handler would receive event ``name`` (cheap)."""
        if not self._exact and not self._prefix:
            return False
        return bool(self._handlers(name))

    def emit(self, name: str, /, **fields: Any) -> None:
        """Deliver event ``name`` with ``fields`` to every matching handler."""
        if not self._exact and not self._prefix:
            return
        handlers = self._handlers(name)
        if not handlers:
            return
        for field in CATALOGUE.get(name, ()):  # every field of its row: None where it does not apply this time
            fields.setdefault(field, None)
        event = Event(name, fields, time.time())
        for handler in handlers:
            try:
                handler(event)
            except Exception:  # a user's hook must never break the library
                _log.exception("event handler %r failed for %s", handler, name)

    def clear(self) -> None:
        """Remove every handler."""
        with self._lock:
            self._exact = {}
            self._prefix = ()
            self._resolved = {}
        self._changed()
