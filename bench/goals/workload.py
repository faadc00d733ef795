"""Workloads and timing shared by every contender's process (standard library only: the SDK's venv imports it too).

Frames are built deterministically, so each process builds the very same ones.  Times are CPU time of the
measuring thread (``time.thread_time``) unless a probe says otherwise: what other processes on the machine do
then costs a contender nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

#: (name, channel, levels per side) of the WebSocket scenarios; ``levels`` only for l2Book.
CHANNELS = (("l2Book5", "l2Book", 5), ("l2Book20", "l2Book", 20), ("trades", "trades", 0), ("allMids", "allMids", 0))
SUBSCRIBERS = (1, 10, 100)
COINS = (1, 100)
#: A subscriber takes its backlog in one step (``drain()``) after every ``BATCH`` messages of its own stream.
BATCH = 256
FRAMES = 16 * BATCH  # per scenario and repeat, with one coin; ``BATCH`` per coin with more (one backlog each)


def coin_names(n: int) -> list[str]:
    base = ["BTC", "ETH", "SOL", "HYPE"]
    return (base + [f"C{i:03d}" for i in range(len(base), n)])[:n]


def _book(coin: str, i: int, levels: int) -> dict[str, object]:
    """A snapshot like a real book's next one: the mid moves a tick every few messages, a fifth of the levels
    change size (to a value not seen before)."""
    mid = 65000 + (i // 4) % 400 * 0.5

    def sz(j: int, base: float) -> str:
        return f"{base + j * 0.013 + ((i + j) % 5 == 0) * i * 1e-5:.5f}"

    bids = [{"px": f"{mid - 0.5 - j * 0.5:.1f}", "sz": sz(j, 0.1), "n": 1 + j % 5} for j in range(levels)]
    asks = [{"px": f"{mid + 0.5 + j * 0.5:.1f}", "sz": sz(j, 0.2), "n": 1 + j % 3} for j in range(levels)]
    return {"coin": coin, "time": 1_764_842_873_555 + i * 500, "levels": [bids, asks]}


def _trades(coin: str, i: int) -> list[dict[str, object]]:
    return [
        {
            "coin": coin,
            "side": "B" if (i + k) % 2 else "A",
            "px": f"{65000 + (i // 4) % 400 * 0.5 + k * 0.5:.1f}",
            "sz": f"{0.001 * (1 + (i * 7 + k) % 997):.5f}",
            "time": 1_764_842_873_555 + i * 100 + k,
            "hash": "0x" + f"{i * 7 + k:064x}",
            "tid": 10**14 + i * 2 + k,
            "users": ["0x" + "ab" * 20, "0x" + "cd" * 20],
        }
        for k in range(2)
    ]


def frame_count(channel: str, coins: int) -> int:
    """Frames per scenario: ``BATCH`` for each subscriber's stream at least, ``FRAMES`` at least."""
    return FRAMES if coins == 1 or channel == "allMids" else BATCH * coins


def frames(channel: str, levels: int, coins: int, n: int | None = None, offset: int = 0) -> list[str]:
    """``n`` text frames of ``channel``: l2Book and trades cycle over ``coins`` coins; allMids carries ``coins``
    mids."""
    names = coin_names(coins)
    if n is None:
        n = frame_count(channel, coins)
    out = []
    for i in range(offset, offset + n):  # distinct offsets give distinct trades (clients may skip duplicates)
        coin = names[i % coins]
        if channel == "l2Book":
            data: object = _book(coin, i, levels)
        elif channel == "trades":
            data = _trades(coin, i)
        else:
            data = {"mids": {c: f"{100 + j + (i % 13) * 0.25:.2f}" for j, c in enumerate(names)}}
        out.append(json.dumps({"channel": channel, "data": data}, separators=(",", ":")))
    return out


def hundred_subscriptions(coins: list[str]) -> list[dict[str, str]]:
    """100 distinct market-data subscriptions over the given (at least 12) coins."""
    subs: list[dict[str, str]] = []
    for kind in ("l2Book", "trades", "bbo", "activeAssetCtx"):
        subs += [{"type": kind, "coin": c} for c in coins]
    for interval in ("1m", "5m", "15m", "1h", "4h", "1d", "1w"):
        subs += [{"type": "candle", "coin": c, "interval": interval} for c in coins]
    return subs[:100]


def scenarios() -> list[tuple[str, str, int, int, int]]:
    """(name, channel, levels, subscribers, coins) of every WebSocket scenario."""
    return [(name, ch, lv, subs, coins) for name, ch, lv in CHANNELS for coins in COINS for subs in SUBSCRIBERS]


def cpu_rate(run: Callable[[], int], repeats: int) -> float:
    """Best of ``repeats``: items per CPU second of this thread, ``run()`` returning how many it did."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.thread_time()
        n = run()
        dt = time.thread_time() - t0
        if dt > 0:
            best = max(best, n / dt)
    return best


def cpu_per_call(step: Callable[[int], object], seconds: float, repeats: int) -> float:
    """Best of ``repeats``: CPU seconds of this thread per ``step(i)``, each repeat about ``seconds`` long."""
    n = 1
    while True:
        t0 = time.thread_time()
        for i in range(n):
            step(i)
        dt = time.thread_time() - t0
        if dt > 0.05:
            break
        n *= 2
    per = max(1, int(n * seconds / dt))
    best = float("inf")
    offset = n
    for _ in range(repeats):
        t0 = time.thread_time()
        for i in range(offset, offset + per):
            step(i)
        best = min(best, (time.thread_time() - t0) / per)
        offset += per
    return best


def rss_kb() -> int:
    """Resident size of this process (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")
