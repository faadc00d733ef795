"""A bounded TTL cache with read-through single flight, safe from threads and asyncio tasks.

Semantics (the contract the rest of the library relies on):

* **Freshness.**  Every entry has its own TTL (``set(key, value, ttl)``; ``ttl=None`` uses
  :attr:`CacheConfig.default_ttl`).  An entry whose TTL has passed is *expired* and is never
  returned as fresh: :meth:`TTLCache.get` reports a miss.  Expired entries are retained only
  when :attr:`CacheConfig.max_stale` asks for it (default ``0``: not at all), for at most that many
  seconds, so that a caller may ask for them *explicitly* with ``get(key, allow_stale=True)`` or
  ``get_or_fetch(..., stale_on_error=True)`` while the API is down.  Entries past their
  retention are freed by the next write or miss (in expiry order, without scanning the cache),
  not kept until the key is read again.
* **Bound and eviction policy.**  The cache holds at most ``max_entries`` entries and, when
  ``max_bytes`` is set, at most ``max_bytes`` bytes of (estimated) value size.  When an
  insertion would exceed a bound, the cache first drops *expired* entries (earliest expiry
  first), then the *least recently used live* entries (approximated by a second chance: the
  oldest entry is dropped unless it was read since it was last looked at, in which case it
  moves to the back), until the new entry fits.  A value
  larger than ``max_bytes`` on its own is not stored.  Each removal emits ``cache.evict``
  (``reason`` = ``"expired"``, ``"lru"`` or ``"too_large"``) and a DEBUG log record.
* **Counters and events.**  :attr:`TTLCache.stats` returns a snapshot of hit, stale-hit, miss,
  eviction, expiry, fetch and fetch-error counters.  Events ``cache.hit``, ``cache.miss``,
  ``cache.evict``, ``cache.expire`` (first time an expired entry is noticed) and
  ``cache.fetch`` are emitted on the :class:`~hyperliquid_client.runtime.events.EventBus` given to
  the cache, always *outside* the cache's lock (handlers may use the cache).
* **Single flight.**  :meth:`TTLCache.get_or_fetch` (threads) and :meth:`TTLCache.aget_or_fetch`
  (asyncio) share one table of in-flight fetches: on a miss exactly one caller - the first -
  runs ``fetch``; every concurrent caller for the same key, whether a thread, a task on the
  same loop or a task on another loop, waits for that one result.  A failure is delivered to
  every waiter and is not cached; the next call after the failure starts a new fetch.
* **Timeouts.**  ``timeout`` bounds how long *a caller* waits.  It raises
  :class:`~hyperliquid_client.runtime.errors.TimeoutError`; the fetch itself keeps running and, when it
  succeeds, still fills the cache for later callers.  With a ``timeout``, the sync leader runs
  ``fetch`` on a helper daemon thread so that it can stop waiting; without one it runs
  ``fetch`` inline in the calling thread.  The async leader always runs the fetch as its own
  task on its loop, so cancelling any caller (the leader included) never cancels the fetch
  other callers are waiting for.
* **Hits without a lock.**  A fresh hit takes no lock and reads no clock: it is one lookup in a
  table of entries known to be fresh, which the process's expiry thread
  (:mod:`~hyperliquid_client.runtime.cache.expiry`) empties of each entry ``FAST_MARGIN`` seconds
  *before* it expires; in that last stretch, and for entries shorter-lived than the margin, hits
  take the locked path, which compares the entry's expiry with the clock.  So the fast path never
  returns an entry past its TTL unless the expiry thread is kept from running for longer than
  the margin.  The table is used with the default clock and while nobody listens to
  ``cache.hit`` (an event needs the slow path); a ``clock`` given for tests always takes the
  locked path.
* **Thread and loop safety.**  Every other access is guarded by one :class:`threading.Lock`,
  held only for dictionary work (never while calling ``fetch`` or event handlers).  Async waiters on
  another loop are woken with ``loop.call_soon_threadsafe``.  One thing is refused rather
  than dead-locking: a *sync* ``get_or_fetch`` called from inside a running event loop while
  the in-flight fetch for that key is an async fetch owned by that very loop raises
  :class:`RuntimeError` (use ``aget_or_fetch`` there).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import inspect
import itertools
import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import Any, TypeVar, cast

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.cache.expiry import EXPIRER
from hyperliquid_client.runtime.config import check_number
from hyperliquid_client.runtime.errors import ConfigError, HyperliquidError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.record import Record, frozen, record

__all__ = [
    "CacheConfig",
    "CacheEntryInfo",
    "CacheStats",
    "FetchCancelledError",
    "TTLCache",
    "approx_sizeof",
]

T = TypeVar("T")

_log = get_logger("hyperliquid_client.cache")
_MISSING: Any = object()
_DEBUG = 10

#: Seconds before its expiry an entry leaves the lock-free table (the expiry thread's allowed lateness).
FAST_MARGIN = 1.0


class FetchCancelledError(HyperliquidError):
    """The single-flight fetch other callers were waiting for was cancelled (its loop shut down)."""


def approx_sizeof(obj: Any) -> int:
    """Approximate deep size in bytes of a JSON-like value (dict, list, tuple, str, numbers...).

    Containers are walked iteratively (no recursion limit); objects of other types count their
    shallow :func:`sys.getsizeof` only.  Shared sub-objects are counted once.
    """
    seen: set[int] = set()
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        ident = id(item)
        if ident in seen:
            continue
        seen.add(ident)
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return total


@frozen
class CacheConfig:
    """Bounds and defaults of a :class:`TTLCache`.

    ``max_entries``: most entries held (live and retained-expired together).
    ``max_bytes``: optional bound on the summed estimated size of values (``sizeof``).
    ``default_ttl``: seconds an entry stays fresh when ``set``/``get_or_fetch`` get ``ttl=None``.
    ``max_stale``: seconds an expired entry is retained for explicit stale reads (``0``, the
    default: freed at expiry; ``None``: until evicted).
    ``sizeof``: size estimator used when ``max_bytes`` is set (default :func:`approx_sizeof`).
    ``name``: the ``cache`` field of every event this cache emits.
    """

    max_entries: int = 10_000
    max_bytes: int | None = None
    default_ttl: float = 60.0
    max_stale: float | None = 0.0
    sizeof: Callable[[Any], int] | None = None
    name: str = "default"

    def __post_init__(self) -> None:
        check_number("max_entries", self.max_entries, integer=True)
        check_number("max_bytes", self.max_bytes, integer=True, none=True)
        check_number("default_ttl", self.default_ttl)
        check_number("max_stale", self.max_stale, zero=True, none=True)
        if self.sizeof is not None and not callable(self.sizeof):
            raise ConfigError("sizeof", f"expected None or a function of a value, got {type(self.sizeof).__name__}")
        if not isinstance(self.name, str):
            raise ConfigError("name", f"expected a string, got {type(self.name).__name__}")


@record
class CacheStats(Record):
    """A snapshot of a cache's counters (monotonic since creation or :meth:`TTLCache.reset_stats`)."""

    hits: int = 0
    stale_hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0
    fetches: int = 0
    fetch_errors: int = 0
    joined: int = 0
    entries: int = 0
    bytes: int = 0

    @property
    def hit_ratio(self) -> float:
        """``hits / (hits + misses)`` (0.0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


@record
class CacheEntryInfo(Record):
    """What :meth:`TTLCache.peek` reports about an entry, without touching counters or LRU order."""

    value: Any
    stored_at: float
    expires_at: float
    fresh: bool
    age: float


class _Entry:
    __slots__ = ("expired_noted", "expires_at", "hits", "seen", "size", "stored_at", "value")

    def __init__(self, value: Any, stored_at: float, expires_at: float, size: int) -> None:
        self.value = value
        self.stored_at = stored_at
        self.expires_at = expires_at
        self.size = size
        self.expired_noted = False
        self.hits = 0  # fresh hits, counted without the lock on the fast path
        self.seen = 0  # ``hits`` when eviction last gave the entry a second chance


class _Flight:
    """One in-flight fetch and everyone waiting for it."""

    __slots__ = ("async_waiters", "done", "error", "event", "invalidated", "key", "loop", "started", "value")

    def __init__(self, key: Hashable, loop: asyncio.AbstractEventLoop | None) -> None:
        self.key = key
        self.started = time.monotonic()
        self.loop = loop
        self.event = threading.Event()
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.invalidated = False
        self.async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_Pending = list[tuple[str, dict[str, Any]]]


class TTLCache:
    """A bounded, TTL-based, thread- and asyncio-safe cache with single-flight read-through.

    See the module documentation for the exact guarantees.  ``clock`` (monotonic seconds) can
    be replaced in tests.
    """

    def __init__(
        self,
        config: CacheConfig | None = None,
        *,
        events: EventBus | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or CacheConfig()
        self._clock = clock
        self._name = self.config.name
        self._lock = threading.Lock()
        self._data: OrderedDict[Hashable, _Entry] = OrderedDict()
        # the lock-free table: entries fresh for at least FAST_MARGIN more seconds (see the module doc)
        self._fast: dict[Hashable, _Entry] = {}
        #: changes after every change of the lock-free table and every value stored (see :meth:`held`)
        self.generation = 0
        self._fast_wake: float | None = None
        self._fast_ok = False
        self._hits_gone = 0  # hits of entries no longer held
        self._events: EventBus | None = None
        self.events = events
        self._heap: list[tuple[float, int, Hashable, _Entry]] = []
        self._seq = itertools.count()
        self._bytes = 0
        self._inflight: dict[Hashable, _Flight] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sizeof = self.config.sizeof or approx_sizeof
        self._stale_hits = self._misses = 0
        self._evictions = self._expirations = 0
        self._fetches = self._fetch_errors = self._joined = 0

    @property
    def events(self) -> EventBus | None:
        """The bus this cache emits on (``None``: no events)."""
        return self._events

    @events.setter
    def events(self, bus: EventBus | None) -> None:
        self._events = bus
        if bus is not None:
            bus.watch(self._listeners_changed)
        self._listeners_changed()

    def _listeners_changed(self) -> None:
        """Hits skip the lock only while nobody listens to ``cache.hit`` (and with the real clock)."""
        bus = self._events
        ok = self._clock is time.monotonic and (bus is None or not bus.wants("cache.hit"))
        with self._lock:
            self._fast_ok = ok
            if not ok:
                self._fast.clear()
                self.generation += 1

    # ------------------------------------------------------------------ introspection
    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Hashable]:
        """Iterate over a snapshot of the keys held (see :meth:`keys`)."""
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        """True when ``key`` holds a *fresh* entry (no counters touched)."""
        entry = self._data.get(key)
        return entry is not None and entry.expires_at > self._clock()

    def __repr__(self) -> str:
        return f"TTLCache(name={self._name!r}, entries={len(self._data)}, max_entries={self.config.max_entries})"

    @property
    def stats(self) -> CacheStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            return CacheStats(
                hits=self._hits_gone + sum(e.hits for e in self._data.values()),
                stale_hits=self._stale_hits,
                misses=self._misses,
                evictions=self._evictions,
                expirations=self._expirations,
                fetches=self._fetches,
                fetch_errors=self._fetch_errors,
                joined=self._joined,
                entries=len(self._data),
                bytes=self._bytes,
            )

    @property
    def inflight(self) -> int:
        """Number of fetches currently in flight."""
        return len(self._inflight)

    def reset_stats(self) -> None:
        """Reset every counter to zero (entries are kept)."""
        with self._lock:
            self._hits_gone = -sum(e.hits for e in self._data.values())
            self._stale_hits = self._misses = 0
            self._evictions = self._expirations = 0
            self._fetches = self._fetch_errors = self._joined = 0

    def peek(self, key: Hashable) -> CacheEntryInfo | None:
        """The entry under ``key`` (fresh or retained-expired) without counting or reordering."""
        now = self._clock()
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            return CacheEntryInfo(
                value=entry.value,
                stored_at=entry.stored_at,
                expires_at=entry.expires_at,
                fresh=entry.expires_at > now,
                age=now - entry.stored_at,
            )

    def fresh(self, key: Hashable) -> Any:
        """The fresh value under ``key`` or ``None``, without counting a hit or a miss (like :meth:`peek`); no
        lock while the entry is well within its TTL."""
        entry = self._fast.get(key)
        if entry is not None:
            return entry.value
        now = self._clock()
        with self._lock:
            entry = self._data.get(key)
            return entry.value if entry is not None and entry.expires_at > now else None

    def held(self, key: Hashable) -> Any:
        """The value under ``key`` in the lock-free table (fresh for a while yet) or ``None``.

        While :attr:`generation` has not changed, that table has not and nothing was stored: a value read from it
        then is still the one it holds (and still fresh), and a key that had no fresh value then has none now, so
        a result made only of such reads can be reused without reading again.
        """
        entry = self._fast.get(key)
        return None if entry is None else entry.value

    def keys(self) -> list[Hashable]:
        """Keys currently held (fresh and retained-expired), in eviction order (the next to go first)."""
        with self._lock:
            return list(self._data)

    # ------------------------------------------------------------------ events
    def _emit(self, pending: _Pending) -> None:
        bus = self.events
        if bus is None:
            return
        for name, fields in pending:
            bus.emit(name, cache=self._name, **fields)

    def _note(self, pending: _Pending | None, name: str, **fields: Any) -> None:
        if pending is not None:
            pending.append((name, fields))

    def _pending(self, *names: str) -> _Pending | None:
        """A list to collect events in, or None when nobody listens to any of ``names``."""
        bus = self.events
        if bus is None:
            return None
        for name in names:
            if bus.wants(name):
                return []
        return None

    # ------------------------------------------------------------------ plain access
    def get(self, key: Hashable, default: Any = None, allow_stale: bool = False) -> Any:
        """The fresh value under ``key``, else ``default``.

        With ``allow_stale=True`` an expired-but-retained value is returned too (counted as a
        stale hit); use it only as an explicit fallback when fresh data cannot be fetched.
        (``allow_stale`` is not keyword-only on purpose: a keyword-only default costs a dictionary
        lookup on every call, a quarter of a hit's time.)
        """
        try:  # the hot path: one subscript, no lock, no clock (see the module doc); a miss costs the slow path anyway
            entry = self._fast[key]
        except KeyError:
            return self._get_slow(key, default, allow_stale)
        entry.hits += 1
        return entry.value

    def _fast_hit(self, key: Hashable) -> Any:
        """The fresh value (counted and announced as a hit) or ``_MISSING`` (nothing counted)."""
        try:
            fast = self._fast[key]
        except KeyError:
            pass
        else:
            fast.hits += 1
            return fast.value
        now = self._clock()
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry.expires_at <= now:
                return _MISSING
            self._hit(key, entry, now)
            value = entry.value
        bus = self._events
        if bus is not None and bus.wants("cache.hit"):
            bus.emit("cache.hit", cache=self._name, key=key)
        return value

    def _get_slow(self, key: Hashable, default: Any, allow_stale: bool) -> Any:
        now = self._clock()
        pending = self._pending("cache.hit", "cache.miss", "cache.expire", "cache.evict")
        with self._lock:
            self._sweep(now, pending)
            entry = self._data.get(key)
            if entry is not None and entry.expires_at > now:
                self._hit(key, entry, now)
                value = entry.value
                self._note(pending, "cache.hit", key=key)
            elif entry is not None:
                entry = self._on_expired(key, entry, now, pending)
                if allow_stale and entry is not None:
                    self._stale_hits += 1
                    value = entry.value
                    self._note(pending, "cache.hit", key=key, stale=True)
                else:
                    self._misses += 1
                    value = default
                    self._note(pending, "cache.miss", key=key)
            else:
                self._misses += 1
                value = default
                self._note(pending, "cache.miss", key=key)
        if pending:
            self._emit(pending)
        return value

    def set(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (``None``: the default TTL).

        ``ttl <= 0`` stores nothing (and drops an existing entry); ``math.inf`` never expires.
        """
        ttl = self._ttl(ttl)
        pending = self._pending("cache.evict", "cache.expire")
        with self._lock:
            self._store(key, value, ttl, pending)
        if pending:
            self._emit(pending)

    def invalidate(self, key: Hashable) -> bool:
        """Drop ``key``; a fetch in flight for it will not store its result.  True if an entry was dropped."""
        with self._lock:
            flight = self._inflight.get(key)
            if flight is not None:
                flight.invalidated = True
            entry = self._data.get(key)
            if entry is not None:
                self._remove(key, entry)
        if entry is not None:
            log(_log, _DEBUG, "cache entry invalidated", cache=self._name, key=key)
            if self.events is not None:
                self.events.emit("cache.evict", cache=self._name, key=key, reason="invalidate")
        return entry is not None

    def clear(self) -> None:
        """Drop every entry; fetches in flight will not store their results.  Counters are kept."""
        with self._lock:
            count = len(self._data)
            self._hits_gone += sum(e.hits for e in self._data.values())
            self._data.clear()
            self._heap.clear()
            self._fast.clear()
            self.generation += 1
            self._bytes = 0
            for flight in self._inflight.values():
                flight.invalidated = True
        if count:
            log(_log, _DEBUG, "cache cleared", cache=self._name, entries=count)
            if self.events is not None:
                self.events.emit("cache.evict", cache=self._name, key=None, reason="clear", count=count)

    def purge_expired(self) -> int:
        """Drop every expired entry now (normally done lazily).  Returns how many were dropped."""
        now = self._clock()
        pending = self._pending("cache.evict", "cache.expire")
        dropped = 0
        with self._lock:
            for key, entry in list(self._data.items()):
                if entry.expires_at <= now:
                    self._on_expired(key, entry, now, pending)
                    self._drop(key, entry, "expired", pending)
                    dropped += 1
        if pending:
            self._emit(pending)
        return dropped

    # ------------------------------------------------------------------ internals (lock held)
    def _ttl(self, ttl: float | None) -> float:
        if ttl is None:
            return float(self.config.default_ttl)
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or math.isnan(ttl):
            raise ValueError(f"ttl must be a number of seconds, got {ttl!r}")
        return float(ttl)

    def _on_expired(self, key: Hashable, entry: _Entry, now: float, pending: _Pending | None) -> _Entry | None:
        """Account for an expired entry; drop it when past its stale retention.  Returns it if retained."""
        if not entry.expired_noted:
            entry.expired_noted = True
            self._expirations += 1
            self._note(pending, "cache.expire", key=key)
        max_stale = self.config.max_stale
        if max_stale is not None and now - entry.expires_at >= max_stale:
            self._remove(key, entry)
            return None
        return entry

    def _remove(self, key: Hashable, entry: _Entry) -> None:
        """Forget ``entry`` (if still held under ``key``), in both tables."""
        if self._data.get(key) is entry:
            del self._data[key]
            self._bytes -= entry.size
            self._hits_gone += entry.hits
        if self._fast.get(key) is entry:
            del self._fast[key]
            self.generation += 1

    def _hit(self, key: Hashable, entry: _Entry, now: float) -> None:
        """Count a fresh hit taken under the lock; offer the entry to the lock-free table."""
        entry.hits += 1
        if self._fast_ok and key not in self._fast:
            self._promote(key, entry, now)

    def _promote(self, key: Hashable, entry: _Entry, now: float) -> None:
        """Serve ``entry`` without the lock until about ``FAST_MARGIN`` before it expires (lock held)."""
        if entry.expires_at - FAST_MARGIN <= now:
            return
        self._fast[key] = entry
        self.generation += 1
        leave_at = entry.expires_at - FAST_MARGIN
        if entry.expires_at != math.inf and (self._fast_wake is None or leave_at < self._fast_wake):
            self._fast_wake = leave_at
            EXPIRER.schedule(self._leave_fast, leave_at)

    def _leave_fast(self) -> None:
        """Called by the expiry thread: take the entries expiring within ``FAST_MARGIN`` out of the lock-free
        table, and ask to be called again for the next ones (at most every quarter margin)."""
        with self._lock:
            now = time.monotonic()
            limit = now + FAST_MARGIN
            heap, fast = self._heap, self._fast
            following = math.inf
            stack = [0] if heap else []
            while stack:  # every heap item expiring by ``limit``: a subtree whose root is later holds none
                i = stack.pop()
                expires_at, _, key, entry = heap[i]
                if expires_at > limit:
                    following = min(following, expires_at)
                    continue
                if fast.get(key) is entry:
                    del fast[key]
                    self.generation += 1
                stack.extend(c for c in (2 * i + 1, 2 * i + 2) if c < len(heap))
            wake = None if following == math.inf else max(following - FAST_MARGIN, now + FAST_MARGIN / 4)
            self._fast_wake = wake
        if wake is not None:
            EXPIRER.schedule(self._leave_fast, wake)

    def _drop(self, key: Hashable, entry: _Entry, reason: str, pending: _Pending | None) -> None:
        self._remove(key, entry)
        self._evictions += 1
        self._note(pending, "cache.evict", key=key, reason=reason)
        if _log.isEnabledFor(_DEBUG):
            log(_log, _DEBUG, "cache entry evicted", cache=self._name, key=key, reason=reason)

    def _sweep(self, now: float, pending: _Pending | None) -> None:
        """Free entries past their stale retention, earliest expiry first (cheap when there are none)."""
        max_stale = self.config.max_stale
        if max_stale is not None:
            self._drop_expired(now - max_stale, pending, lambda: True)

    def _drop_expired(self, until: float, pending: _Pending | None, more: Callable[[], bool]) -> None:
        """Drop entries that expired by ``until``, earliest first, while ``more()``."""
        heap = self._heap
        data = self._data
        while heap and heap[0][0] <= until and more():
            _, _, key, entry = heapq.heappop(heap)
            if data.get(key) is not entry:
                continue  # overwritten or already gone
            if not entry.expired_noted:
                entry.expired_noted = True
                self._expirations += 1
                self._note(pending, "cache.expire", key=key)
            self._drop(key, entry, "expired", pending)

    def _store(self, key: Hashable, value: Any, ttl: float, pending: _Pending | None) -> None:
        self._sweep(self._clock(), pending)
        old = self._data.get(key)
        if old is not None:
            self._remove(key, old)
        if ttl <= 0:
            return
        max_bytes = self.config.max_bytes
        size = self._sizeof(value) if max_bytes is not None else 0
        if max_bytes is not None and size > max_bytes:
            self._evictions += 1
            self._note(pending, "cache.evict", key=key, reason="too_large", size=size)
            log(_log, 30, "value larger than the cache's byte bound not stored", cache=self._name, key=key, size=size)
            return
        now = self._clock()
        expires_at = now + ttl
        entry = _Entry(value, now, expires_at, size)
        self._make_room(1, size, now, pending)
        self._data[key] = entry
        self._bytes += size
        self.generation += 1  # (a value now held where there may have been none: see held)
        if self._fast_ok:
            self._promote(key, entry, now)
        if expires_at != math.inf:
            heapq.heappush(self._heap, (expires_at, next(self._seq), key, entry))
            if len(self._heap) > 2 * len(self._data) + 64:
                self._compact_heap()

    def _compact_heap(self) -> None:
        data = self._data
        self._heap = [item for item in self._heap if data.get(item[2]) is item[3]]
        heapq.heapify(self._heap)

    def _over(self, extra_entries: int, extra_bytes: int) -> bool:
        if len(self._data) + extra_entries > self.config.max_entries:
            return True
        max_bytes = self.config.max_bytes
        return max_bytes is not None and self._bytes + extra_bytes > max_bytes

    def _make_room(self, extra_entries: int, extra_bytes: int, now: float, pending: _Pending | None) -> None:
        if not self._over(extra_entries, extra_bytes):
            return
        # 1. expired entries, earliest expiry first
        self._drop_expired(now, pending, lambda: self._over(extra_entries, extra_bytes))
        data = self._data
        # 2. least recently used live entries: the oldest goes unless read since last looked at (second chance)
        chances = len(data)
        while data and self._over(extra_entries, extra_bytes):
            key, entry = next(iter(data.items()))
            hits = entry.hits
            if hits != entry.seen and chances > 0:
                entry.seen = hits
                data.move_to_end(key)
                chances -= 1
                continue
            self._drop(key, entry, "lru", pending)

    # ------------------------------------------------------------------ single flight: shared
    def _begin(
        self,
        key: Hashable,
        *,
        force: bool,
        loop: asyncio.AbstractEventLoop | None,
        pending: _Pending | None,
        supersede_after: float | None = None,
    ) -> tuple[bool, Any, _Flight | None, bool]:
        """Under the lock: (hit, value, flight, leader)."""
        now = self._clock()
        self._sweep(now, pending)
        if not force:
            entry = self._data.get(key)
            if entry is not None:
                if entry.expires_at > now:
                    self._hit(key, entry, now)
                    self._note(pending, "cache.hit", key=key)
                    return True, entry.value, None, False
                self._on_expired(key, entry, now, pending)
            self._misses += 1
            self._note(pending, "cache.miss", key=key)
        flight = self._inflight.get(key)
        if flight is not None and supersede_after is not None and time.monotonic() - flight.started >= supersede_after:
            flight.invalidated = True  # its late result must not overwrite what the new fetch brings
            flight = None
        if flight is not None:
            self._joined += 1
            return False, None, flight, False
        flight = _Flight(key, loop)
        self._inflight[key] = flight
        self._fetches += 1
        return False, None, flight, True

    def _complete(self, flight: _Flight, value: Any, error: BaseException | None, ttl: float, started: float) -> None:
        """Record the outcome of ``flight``, store a success, wake every waiter."""
        pending = self._pending("cache.fetch", "cache.evict", "cache.expire")
        key = flight.key
        with self._lock:
            if error is None:
                if not flight.invalidated:
                    self._store(key, value, ttl, pending)
            else:
                self._fetch_errors += 1
            if self._inflight.get(key) is flight:
                del self._inflight[key]
            flight.value = value
            flight.error = error
            flight.done = True
            waiters = flight.async_waiters
            flight.async_waiters = []
        flight.event.set()
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_wake, fut)
            except RuntimeError:  # that loop is closed; nobody is left to wake there
                pass
        duration = time.monotonic() - started
        if error is not None:
            log(_log, _DEBUG, "cache fetch failed", cache=self._name, key=key, error=type(error).__name__)
        if pending is not None:
            fields: dict[str, Any] = {"key": key, "ok": error is None, "duration": duration}
            if error is not None:
                fields["error"] = f"{type(error).__name__}: {error}"
            pending.append(("cache.fetch", fields))
            self._emit(pending)

    def _stale_fallback(self, key: Hashable) -> Any:
        """The retained-expired value under ``key`` or ``_MISSING`` (counts a stale hit)."""
        pending = self._pending("cache.hit")
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return _MISSING
            max_stale = self.config.max_stale
            if max_stale is not None and self._clock() - entry.expires_at >= max_stale:
                return _MISSING
            self._stale_hits += 1
            self._note(pending, "cache.hit", key=key, stale=True)
            value = entry.value
        if pending:
            self._emit(pending)
        return value

    def _timeout_error(self, key: Hashable, timeout: float) -> errors.TimeoutError:
        return errors.TimeoutError(
            f"no value for cache key {key!r} within {timeout:g}s (fetch still running)",
            timeout=timeout,
            endpoint=str(key),
        )

    # ------------------------------------------------------------------ single flight: threads
    def get_or_fetch(
        self,
        key: Hashable,
        fetch: Callable[[], T],
        *,
        ttl: float | None = None,
        timeout: float | None = None,
        stale_on_error: bool = False,
        supersede_after: float | None = None,
    ) -> T:
        """The fresh value under ``key``; on a miss, fetch it once for all concurrent callers.

        ``fetch`` is a plain callable returning the value; it runs at most once per miss however
        many threads or tasks ask at the same time.  Its exception reaches every waiter and
        nothing is cached.  ``timeout`` bounds this caller's wait
        (:class:`~hyperliquid_client.runtime.errors.TimeoutError`).  ``stale_on_error=True`` returns a
        retained expired value instead of raising when the fetch fails or times out.
        ``supersede_after``: see :meth:`refresh`.
        """
        return self._sync_flight(
            key,
            fetch,
            ttl=ttl,
            timeout=timeout,
            stale_on_error=stale_on_error,
            force=False,
            supersede_after=supersede_after,
        )

    def refresh(
        self,
        key: Hashable,
        fetch: Callable[[], T],
        *,
        ttl: float | None = None,
        timeout: float | None = None,
        supersede_after: float | None = None,
    ) -> T:
        """Fetch ``key`` now even if fresh (joining a fetch already in flight) and store the result.

        ``supersede_after``: a fetch in flight for longer than this many seconds is not joined but
        replaced by a new one (its late result is then delivered to its own waiters only, never
        stored) - so a request hanging until the transport's timeout does not delay recovery.
        """
        return self._sync_flight(
            key, fetch, ttl=ttl, timeout=timeout, stale_on_error=False, force=True, supersede_after=supersede_after
        )

    def _sync_flight(
        self,
        key: Hashable,
        fetch: Callable[[], T],
        *,
        ttl: float | None,
        timeout: float | None,
        stale_on_error: bool,
        force: bool,
        supersede_after: float | None = None,
    ) -> T:
        if not force:
            found = self._fast_hit(key)
            if found is not _MISSING:
                return cast(T, found)
        ttl_s = self._ttl(ttl)
        pending = self._pending("cache.hit", "cache.miss", "cache.expire")
        with self._lock:
            hit, value, flight, leader = self._begin(
                key, force=force, loop=None, pending=pending, supersede_after=supersede_after
            )
        if pending:
            self._emit(pending)
        if hit:
            return cast(T, value)
        assert flight is not None
        if not leader and flight.loop is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is flight.loop:
                raise RuntimeError(
                    f"sync get_or_fetch({key!r}) called on the event loop that runs the async fetch of that key; "
                    "use aget_or_fetch"
                )
        if leader:
            if timeout is None:
                self._run_sync(flight, fetch, ttl_s)
            else:
                # the fetch runs in the caller's context (e.g. marked as background work by a warmer)
                threading.Thread(
                    target=contextvars.copy_context().run,
                    args=(self._run_sync, flight, fetch, ttl_s),
                    name=f"hl-cache-fetch-{key!r}",
                    daemon=True,
                ).start()
        if not flight.event.wait(timeout):
            if stale_on_error:
                stale = self._stale_fallback(key)
                if stale is not _MISSING:
                    return cast(T, stale)
            raise self._timeout_error(key, cast(float, timeout))
        if flight.error is not None and stale_on_error:
            stale = self._stale_fallback(key)
            if stale is not _MISSING:
                return cast(T, stale)
        return cast(T, flight.result())

    def _run_sync(self, flight: _Flight, fetch: Callable[[], Any], ttl: float) -> None:
        started = time.monotonic()
        try:
            value = fetch()
            if inspect.isawaitable(value):
                value = asyncio.run(_await(value))
        except BaseException as exc:  # delivered to every waiter, never cached
            self._complete(flight, None, exc, ttl, started)
            if not isinstance(exc, Exception):
                raise
            return
        self._complete(flight, value, None, ttl, started)

    # ------------------------------------------------------------------ single flight: asyncio
    async def aget_or_fetch(
        self,
        key: Hashable,
        fetch: Callable[[], Awaitable[T]],
        *,
        ttl: float | None = None,
        timeout: float | None = None,
        stale_on_error: bool = False,
        supersede_after: float | None = None,
    ) -> T:
        """Async :meth:`get_or_fetch`: ``fetch`` returns an awaitable; waiting never blocks the loop.

        Concurrent callers - tasks on this loop, tasks on other loops, threads in
        :meth:`get_or_fetch` - share one fetch.  Cancelling a caller cancels only its wait.
        """
        return await self._async_flight(
            key,
            fetch,
            ttl=ttl,
            timeout=timeout,
            stale_on_error=stale_on_error,
            force=False,
            supersede_after=supersede_after,
        )

    async def arefresh(
        self,
        key: Hashable,
        fetch: Callable[[], Awaitable[T]],
        *,
        ttl: float | None = None,
        timeout: float | None = None,
        supersede_after: float | None = None,
    ) -> T:
        """Async :meth:`refresh`."""
        return await self._async_flight(
            key, fetch, ttl=ttl, timeout=timeout, stale_on_error=False, force=True, supersede_after=supersede_after
        )

    async def _async_flight(
        self,
        key: Hashable,
        fetch: Callable[[], Awaitable[T]],
        *,
        ttl: float | None,
        timeout: float | None,
        stale_on_error: bool,
        force: bool,
        supersede_after: float | None = None,
    ) -> T:
        ttl_s = self._ttl(ttl)
        loop = asyncio.get_running_loop()
        pending = self._pending("cache.hit", "cache.miss", "cache.expire")
        with self._lock:
            hit, value, flight, leader = self._begin(
                key, force=force, loop=loop, pending=pending, supersede_after=supersede_after
            )
            if not hit:
                assert flight is not None
                fut: asyncio.Future[None] = loop.create_future()
                flight.async_waiters.append((loop, fut))
        if pending:
            self._emit(pending)
        if hit:
            return cast(T, value)
        assert flight is not None
        if leader:
            task = loop.create_task(self._run_async(flight, fetch, ttl_s))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            if timeout is None:
                await fut
            else:
                await asyncio.wait_for(fut, timeout)
        except TimeoutError:  # asyncio's (the builtin)
            if stale_on_error:
                stale = self._stale_fallback(key)
                if stale is not _MISSING:
                    return cast(T, stale)
            raise self._timeout_error(key, cast(float, timeout)) from None
        if flight.error is not None and stale_on_error:
            stale = self._stale_fallback(key)
            if stale is not _MISSING:
                return cast(T, stale)
        return cast(T, flight.result())

    async def _run_async(self, flight: _Flight, fetch: Callable[[], Awaitable[Any]], ttl: float) -> None:
        started = time.monotonic()
        try:
            value = fetch()
            if inspect.isawaitable(value):
                value = await value
        except asyncio.CancelledError:
            err = FetchCancelledError(f"fetch of cache key {flight.key!r} was cancelled")
            self._complete(flight, None, err, ttl, started)
            raise
        except Exception as exc:
            self._complete(flight, None, exc, ttl, started)
            return
        self._complete(flight, value, None, ttl, started)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable
