"""Paging of gap recovery (pure, no I/O): which time windows to fetch next after one answer, and what cannot be
covered.

A recovery request answers at most ``limit`` items (``userFillsByTime``: 2000).  An answer that full may be
truncated.  When the request takes a time window the rest is fetched window by window until the whole range is
covered, whatever order the server sorts the answer in: oldest first (the documented pagination, "the last returned
time is the next start") continues after the newest item; newest first continues before the oldest.  Windows are
inclusive at both ends, so items at a boundary come twice; the caller removes duplicates by identity.  When no
progress is possible (more than ``limit`` items in one millisecond) or the request takes no window
(``historicalOrders``: the 2000 most recent), the part that cannot be fetched is reported as uncovered.
"""

from __future__ import annotations

from collections.abc import Sequence

from hyperliquid_client.runtime.record import frozen

__all__ = ["Window", "next_windows"]


@frozen
class Window:
    """Items to fetch: times ``start_ms`` to ``end_ms`` inclusive (``end_ms`` ``None``: up to now)."""

    start_ms: int
    end_ms: int | None = None


def next_windows(
    times: Sequence[int | None], window: Window, limit: int | None, windowed: bool
) -> tuple[list[Window], list[tuple[int, int | None]]]:
    """After an answer for ``window`` whose items have ``times`` (in the answer's order): the windows still to fetch
    and the ranges ``(since_ms, until_ms)`` that cannot be covered."""
    if limit is None or len(times) < limit:
        return [], []  # complete answer: the window is covered
    known = [t for t in times if t is not None]
    start, end = window.start_ms, window.end_ms
    if not known:
        return [], [(start, end)]
    oldest, newest = min(known), max(known)
    if not windowed:  # only the most recent items are reachable
        return [], ([] if oldest <= start else [(start, oldest)])
    if known[0] <= known[-1]:  # oldest first: [start, newest] is covered, the newest millisecond maybe in part
        if end is not None and newest > end:
            return [], []
        if newest > start:
            return [Window(newest, end)], []
        rest = [Window(start + 1, end)] if end is None or start + 1 <= end else []
        return rest, [(start, start)]  # more than `limit` items in one millisecond
    # newest first: [oldest, end] is covered, the oldest millisecond maybe in part
    if oldest < start:
        return [], []
    if end is None or oldest < end:
        return [Window(start, oldest)], []
    return ([Window(start, end - 1)] if start <= end - 1 else []), [(end, end)]
