"""What the fake exchange received: every HTTP request and every WebSocket client message."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs

from hyperliquid_client.testing.faults import lookup

__all__ = ["RecordedRequest", "RequestLog"]


@attrs.frozen
class RecordedRequest:
    """One request as received.

    ``path`` is the URL path (``"/info"``, ``"/stats/Mainnet/leaderboard"``, ``"/ws"``);
    ``method`` the HTTP method, or ``"WS"`` for a WebSocket client message (``path`` ``"/ws"``,
    the upgrade itself is recorded as ``GET /ws``).  ``body`` is the parsed JSON or ``None`` when
    it did not parse; ``raw`` the bytes as received; ``connection`` the WebSocket connection id;
    ``peer`` the client's ``host:port`` (tells keep-alive connections apart).
    """

    path: str
    method: str
    body: Any
    raw: bytes
    headers: Mapping[str, str]
    time: float
    connection: int | None = None
    peer: str | None = None


class RequestLog:
    """Thread-safe bounded log of :class:`RecordedRequest` (oldest dropped beyond ``maxlen``)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._items: deque[RecordedRequest] = deque(maxlen=maxlen)

    def append(self, item: RecordedRequest) -> None:
        """Record ``item``."""
        with self._lock:
            self._items.append(item)

    def all(self) -> list[RecordedRequest]:
        """Every recorded request, oldest first (a copy)."""
        with self._lock:
            return list(self._items)

    def filter(self, path: str, fields: Mapping[str, Any]) -> list[RecordedRequest]:
        """Requests on ``path`` whose JSON body has every ``fields`` item (dotted keys descend)."""
        out = []
        for item in self.all():
            if item.path != path and not (path == "/stats" and item.path.startswith("/stats/")):
                continue
            if fields:
                if not isinstance(item.body, Mapping):
                    continue
                if not all(lookup(item.body, k) == v for k, v in fields.items()):
                    continue
            out.append(item)
        return out

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
