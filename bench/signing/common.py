"""Shared workload and timing loop (also copied verbatim into no other process: peers re-implement
the same loop in their own language and print the same JSON fields)."""

from __future__ import annotations

import time
from collections.abc import Callable

#: The one-order L1 action every contender signs (the SDK's own unit-test order).
ACTION = {
    "type": "order",
    "orders": [{"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False, "t": {"limit": {"tif": "Ioc"}}}],
    "grouping": "na",
}
KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
NONCE0 = 1677777606040


def measure(step: Callable[[int], object], seconds: float, repeats: int) -> float:
    """Best-of-``repeats`` ops/s of ``step(i)``, each repeat running for about ``seconds``."""
    # calibrate: how many calls take ~0.1 s
    n = 1
    while True:
        t0 = time.perf_counter()
        for i in range(n):
            step(i)
        dt = time.perf_counter() - t0
        if dt > 0.1:
            break
        n *= 2
    per_repeat = max(1, int(n * seconds / dt))
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(per_repeat):
            step(i)
        dt = time.perf_counter() - t0
        best = max(best, per_repeat / dt)
    return best
