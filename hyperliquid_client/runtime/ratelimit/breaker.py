"""A circuit breaker per host (sans-I/O apart from the clock it is given).

``closed`` → after ``failures`` consecutive failures (connection refused or lost, timeouts, 5xx) of
the user's calls (the background warmers' failures do not count) → ``open``: calls fail fast with
:class:`~hyperliquid_client.runtime.errors.CircuitOpenError` for the cool-down → ``half_open``: one probe
call goes through, the others still fail fast → its success
closes the circuit; its failure opens it again with the cool-down doubled (up to ``cool_down_max``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from hyperliquid_client.runtime.errors import CircuitOpenError

__all__ = ["Breaker"]


class _Host:
    __slots__ = ("cool", "failures", "last_error", "open_until", "probe_until", "state")

    def __init__(self, cool: float) -> None:
        self.state = "closed"
        self.failures = 0
        self.open_until = 0.0
        self.probe_until = 0.0
        self.cool = cool
        self.last_error = ""


class Breaker:
    """Circuit breakers of every host one client talks to.

    ``on_change(host, state, failures, retry_after)`` is called outside the lock on every state change.
    """

    def __init__(
        self,
        failures: int,
        cool_down: float,
        cool_down_max: float,
        *,
        on_change: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        self.failures = failures
        self.cool_down = cool_down
        self.cool_down_max = cool_down_max
        self._on_change = on_change
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when configured with ``failures=0``."""
        return self.failures > 0

    def state(self, host: str) -> str:
        """``closed``, ``open`` or ``half_open``."""
        h = self._hosts.get(host)
        return "closed" if h is None else h.state

    def check(self, host: str, now: float, endpoint: str | None = None) -> None:
        """Raise :class:`CircuitOpenError` when ``host`` must not be called now (may start a probe)."""
        if not self.enabled:
            return
        h = self._hosts.get(host)  # (read without the lock: a closed or unknown host needs no decision)
        if h is None or h.state == "closed":
            return
        change = None
        with self._lock:
            h = self._hosts.get(host)
            if h is None or h.state == "closed":
                return
            if h.state == "open" and now >= h.open_until:
                h.state = "half_open"
                h.probe_until = now + h.cool
                change = (h.state, h.failures, 0.0)
            elif h.state == "half_open" and now >= h.probe_until:
                h.probe_until = now + h.cool  # the last probe never reported: let another one go
            else:
                wait = max(h.open_until - now, 0.0) if h.state == "open" else max(h.probe_until - now, 0.0)
                error = CircuitOpenError(
                    f"{host} is failing ({h.failures} consecutive failures, last: {h.last_error}); calls fail fast "
                    f"for {wait:.2f}s more, then one probe call decides",
                    host=host,
                    retry_after=wait,
                    endpoint=endpoint,
                )
                raise error
        if change is not None and self._on_change is not None:
            self._on_change(host, *change)

    def record(self, host: str, ok: bool, now: float, error: str = "", *, counts: bool = True) -> None:
        """The outcome of a call to ``host``: answered (``ok``) or failed as counted above.

        A failure that does not ``count`` (a background warmer's) never opens a closed circuit: the
        user's own calls decide; it still ends a probe it happened to be.
        """
        if self.failures <= 0:  # (not enabled)
            return
        if ok:  # (read without the lock, as check does: an answer from a closed host without failures changes nothing)
            h = self._hosts.get(host)
            if h is None or (h.state == "closed" and h.failures == 0):
                return
        change = None
        with self._lock:
            h = self._hosts.get(host)
            if not ok and not counts and (h is None or h.state == "closed"):
                return
            if ok:
                if h is None or (h.state == "closed" and h.failures == 0):
                    return
                was = h.state
                h.state, h.failures, h.cool = "closed", 0, self.cool_down
                if was != "closed":
                    change = ("closed", 0, 0.0)
            else:
                if h is None:
                    h = self._hosts[host] = _Host(self.cool_down)
                h.failures += 1
                h.last_error = error[:200]
                if h.state == "half_open":
                    h.cool = min(h.cool * 2, self.cool_down_max)
                    h.state, h.open_until = "open", now + h.cool
                    change = ("open", h.failures, h.cool)
                elif h.state == "closed" and h.failures >= self.failures:
                    h.state, h.open_until = "open", now + h.cool
                    change = ("open", h.failures, h.cool)
        if change is not None and self._on_change is not None:
            self._on_change(host, *change)
