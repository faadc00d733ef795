"""The fake exchange's IP weight limit: weight counted per fixed window, 429 past the limit.

Weights are the spec's (the generated registry): info by request type plus, after the answer,
``ceil(items / weight_per_item)`` for the types with a per-item surcharge (the client charges the
same); exchange actions ``1 + floor(batch / 40)``; explorer 40; stats 0.  A request that would pass
the limit of the current window is answered 429 with the body ``null`` (as the real API) and not
counted; a surcharge is counted even when it passes the limit (the answer is already out).

The real server allows 1200 weight per 60 s.  ``FakeExchange(weight_limit=..., weight_window=...)``
is the test knob: a smaller limit over a shorter window (say 60 per second) keeps a test of the
behaviour at the limit short.  ``weight_limit=None`` turns the limit off.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from hyperliquid_client.generated.registry import ENDPOINTS

__all__ = ["RateLimitRecord", "WeightLimiter", "request_weight"]

_BATCH_KEYS = {"order": "orders", "cancel": "cancels", "cancelByCloid": "cancels", "batchModify": "modifies"}


def request_weight(route: str, body: Any) -> int:
    """The weight of a request to ``route`` (``/info``, ``/exchange``, ``/explorer``, ``/stats``)."""
    if route == "/info":
        endpoint = ENDPOINTS.get(f"info.{body.get('type')}") if isinstance(body, Mapping) else None
        return endpoint.weight if endpoint is not None else 20
    if route == "/exchange":
        action = body.get("action") if isinstance(body, Mapping) else None
        if not isinstance(action, Mapping):
            return 1
        key = _BATCH_KEYS.get(str(action.get("type")))
        items = action.get(key) if key else None
        return 1 + (len(items) // 40 if isinstance(items, list) else 0)
    if route == "/explorer":
        return 40
    return 0


def surcharge(route: str, body: Any, answer: Any) -> int:
    """Extra weight of an info answer with a per-item surcharge (``ceil(items / per)``)."""
    if route != "/info" or not isinstance(body, Mapping) or not isinstance(answer, list) or not answer:
        return 0
    endpoint = ENDPOINTS.get(f"info.{body.get('type')}")
    per = endpoint.weight_per_item if endpoint is not None else None
    return math.ceil(len(answer) / per) if per else 0


@attrs.frozen
class RateLimitRecord:
    """One request answered 429: when, from which IP, the window and its weight at that moment."""

    time: float
    ip: str
    window: int
    used: int
    weight: int
    route: str


class WeightLimiter:
    """Weight per IP per fixed window (thread-safe)."""

    def __init__(self, limit: int | None, window: float, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[str, dict[int, int]] = {}
        self.rejected: list[RateLimitRecord] = []

    def _index(self) -> int:
        return math.floor(self._clock() / self.window)

    def charge(self, ip: str, weight: int, route: str) -> bool:
        """Count ``weight`` for ``ip`` now; False (and nothing counted) when it passes the limit."""
        if weight <= 0:
            return True
        with self._lock:
            index = self._index()
            windows = self._used.setdefault(ip, {})
            used = windows.get(index, 0)
            if self.limit is not None and used + weight > self.limit:
                self.rejected.append(RateLimitRecord(self._clock(), ip, index, used, weight, route))
                return False
            windows[index] = used + weight
            return True

    def add(self, ip: str, weight: int) -> None:
        """Count a surcharge (never refused)."""
        if weight > 0:
            with self._lock:
                windows = self._used.setdefault(ip, {})
                index = self._index()
                windows[index] = windows.get(index, 0) + weight

    def windows(self, ip: str | None = None) -> dict[int, int]:
        """Weight counted per window index (``floor(time / window)``), for one IP or summed over all."""
        with self._lock:
            if ip is not None:
                return dict(self._used.get(ip, {}))
            out: dict[int, int] = {}
            for per_ip in self._used.values():
                for index, used in per_ip.items():
                    out[index] = out.get(index, 0) + used
            return out

    def reset(self) -> None:
        """Forget every count and rejection."""
        with self._lock:
            self._used.clear()
            self.rejected.clear()
