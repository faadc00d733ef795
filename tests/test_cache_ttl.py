"""TTLCache: expiry, stale reads, bounds and eviction, counters and events, single flight."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import threading
import time
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperliquid_client.runtime.cache import CacheConfig, TTLCache
from hyperliquid_client.runtime.cache.ttl import FAST_MARGIN
from hyperliquid_client.runtime.errors import TimeoutError as HLTimeoutError
from hyperliquid_client.runtime.events import Event, EventBus


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def recorder(bus: EventBus, pattern: str = "cache.*") -> list[Event]:
    seen: list[Event] = []
    bus.subscribe(pattern, seen.append)
    return seen


# ---------------------------------------------------------------------------------------- TTL
def test_ttl_per_entry_and_default() -> None:
    clock = Clock()
    cache = TTLCache(CacheConfig(default_ttl=10), clock=clock)
    cache.set("a", 1)  # default ttl 10
    cache.set("b", 2, ttl=1)
    cache.set("c", 3, ttl=float("inf"))
    clock.advance(1.0)
    assert cache.get("b") is None  # exactly at its TTL: expired
    assert cache.get("a") == 1
    clock.advance(9.0)
    assert cache.get("a", "gone") == "gone"
    clock.advance(1e9)
    assert cache.get("c") == 3


def test_ttl_zero_stores_nothing_and_drops_old_value() -> None:
    cache = TTLCache()
    cache.set("k", 1)
    cache.set("k", 2, ttl=0)
    assert cache.get("k") is None
    assert len(cache) == 0
    with pytest.raises(ValueError):
        cache.set("k", 1, ttl=float("nan"))


def test_expired_entry_never_fresh_stale_only_when_asked() -> None:
    clock = Clock()
    bus = EventBus()
    seen = recorder(bus)
    cache = TTLCache(CacheConfig(max_stale=100), events=bus, clock=clock)
    cache.set("k", "v", ttl=5)
    clock.advance(6)
    assert cache.get("k") is None
    assert "k" not in cache
    assert cache.get("k", allow_stale=True) == "v"
    assert cache.get("k") is None  # asking for stale once does not make it fresh
    stats = cache.stats
    assert (stats.stale_hits, stats.misses, stats.expirations, stats.hits) == (1, 2, 1, 0)
    assert [e.name for e in seen].count("cache.expire") == 1
    clock.advance(100)  # past max_stale after expiry: gone even for stale reads
    assert cache.get("k", allow_stale=True) is None
    assert len(cache) == 0


def test_expired_entries_are_freed_promptly_without_reading_their_key() -> None:
    """A big answer does not outlive its TTL in memory (issue 16: kept up to an hour before)."""
    clock = Clock()
    bus = EventBus()
    seen = recorder(bus, "cache.evict")
    cache = TTLCache(events=bus, clock=clock)  # the defaults a client uses
    big = "x" * 10_000_000
    cache.set(("info.l2Book", "padded"), big, ttl=1)
    cache.set("small", 1, ttl=60)
    del big
    clock.advance(2)
    cache.set("other", 2)  # any later write frees what expired, the big value's key never read again
    assert cache.keys() == ["small", "other"]
    assert [(e["key"], e["reason"]) for e in seen] == [(("info.l2Book", "padded"), "expired")]
    with_stale = TTLCache(CacheConfig(max_stale=10), clock=clock)
    with_stale.set("a", 1, ttl=1)
    clock.advance(5)
    assert with_stale.get("b") is None  # a miss sweeps too, but "a" is still within max_stale
    assert with_stale.keys() == ["a"]
    clock.advance(10)
    assert with_stale.get("b") is None
    assert with_stale.keys() == []


def test_real_clock_expiry() -> None:
    cache = TTLCache()
    cache.set("k", 1, ttl=0.05)
    assert cache.get("k") == 1
    time.sleep(0.1)
    assert cache.get("k") is None


def test_peek_does_not_count() -> None:
    clock = Clock()
    cache = TTLCache(clock=clock)
    cache.set("k", 1, ttl=5)
    clock.advance(2)
    info = cache.peek("k")
    assert info is not None and info.fresh and info.age == 2 and info.value == 1
    assert cache.stats.hits == 0 and cache.stats.misses == 0
    assert cache.peek("missing") is None


# ---------------------------------------------------------------------------------------- bounds
def test_lru_eviction_at_entry_bound() -> None:
    bus = EventBus()
    seen = recorder(bus, "cache.evict")
    cache = TTLCache(CacheConfig(max_entries=3), events=bus)
    for k in "abc":
        cache.set(k, k)
    assert cache.get("a") == "a"  # a is now most recently used; b is the LRU
    cache.set("d", "d")
    assert len(cache) == 3
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == ["a", "c", "d"]
    assert [(e["key"], e["reason"]) for e in seen] == [("b", "lru")]
    assert cache.stats.evictions == 1


def test_expired_entries_are_evicted_before_live_ones() -> None:
    clock = Clock()
    bus = EventBus()
    seen = recorder(bus, "cache.evict")
    cache = TTLCache(CacheConfig(max_entries=3), events=bus, clock=clock)
    cache.set("old", 1, ttl=100)
    cache.set("short", 2, ttl=1)
    cache.set("live", 3, ttl=100)
    cache.get("short")  # short is most recently used but will expire
    clock.advance(2)
    cache.set("new", 4)
    assert [(e["key"], e["reason"]) for e in seen] == [("short", "expired")]
    assert cache.get("old") == 1 and cache.get("live") == 3 and cache.get("new") == 4


def test_byte_bound_and_too_large_values() -> None:
    bus = EventBus()
    seen = recorder(bus, "cache.evict")
    cache = TTLCache(CacheConfig(max_entries=1000, max_bytes=100, sizeof=len), events=bus)
    for i in range(10):
        cache.set(i, "x" * 30)
        assert cache.stats.bytes <= 100
    assert len(cache) == 3
    assert sorted(cache.keys()) == [7, 8, 9]
    cache.set("huge", "y" * 101)
    assert cache.get("huge") is None
    assert seen[-1]["reason"] == "too_large"
    assert len(cache) == 3


def test_flood_beyond_bound_keeps_memory_bounded() -> None:
    cache = TTLCache(CacheConfig(max_entries=1000, default_ttl=60))
    for i in range(5000):  # warm up to the bound
        cache.set(i, i)
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        for i in range(5000, 45_000):
            cache.set(i, i)
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(cache) == 1000
    assert cache.stats.evictions == 44_000
    # 40k inserts beyond a 1000-entry bound add (almost) nothing
    assert current - base < 512 * 1024


def test_invalidate_and_clear() -> None:
    bus = EventBus()
    seen = recorder(bus, "cache.evict")
    cache = TTLCache(events=bus)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.invalidate("a") is True
    assert cache.invalidate("a") is False
    assert cache.get("a") is None
    cache.clear()
    assert len(cache) == 0 and cache.stats.bytes == 0
    assert [e["reason"] for e in seen] == ["invalidate", "clear"]


# ---------------------------------------------------------------------------------------- counters, events
def test_counters_and_events() -> None:
    bus = EventBus()
    seen = recorder(bus)
    cache = TTLCache(CacheConfig(name="meta"), events=bus)
    assert cache.get_or_fetch("k", lambda: 41) == 41
    assert cache.get_or_fetch("k", lambda: 42) == 41
    assert cache.get("other") is None
    s = cache.stats
    assert (s.hits, s.misses, s.fetches, s.fetch_errors, s.entries) == (1, 2, 1, 0, 1)
    assert s.hit_ratio == pytest.approx(1 / 3)
    names = [e.name for e in seen]
    assert names == ["cache.miss", "cache.fetch", "cache.hit", "cache.miss"]
    assert all(e["cache"] == "meta" for e in seen)
    fetch_ev = seen[1]
    assert fetch_ev["ok"] is True and fetch_ev["key"] == "k" and fetch_ev["duration"] >= 0
    cache.reset_stats()
    assert cache.stats.hits == 0 and cache.stats.entries == 1


def test_event_handler_may_use_the_cache() -> None:
    bus = EventBus()
    cache = TTLCache(events=bus)
    bus.subscribe("cache.miss", lambda e: cache.set(("seen", e["key"]), True))
    assert cache.get_or_fetch("k", lambda: 1, timeout=2) == 1
    assert cache.get(("seen", "k")) is True


# ---------------------------------------------------------------------------------------- single flight
def test_1000_threads_one_fetch() -> None:
    cache = TTLCache()
    calls = []
    barrier = threading.Barrier(1000)
    results: list[Any] = []
    lock = threading.Lock()

    def fetch() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.2)
        return {"v": 1}

    def reader() -> None:
        barrier.wait()
        v = cache.get_or_fetch("missing", fetch, ttl=60)
        with lock:
            results.append(v)

    threads = [threading.Thread(target=reader) for _ in range(1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1
    assert len(results) == 1000
    assert all(r is results[0] for r in results)
    assert cache.stats.fetches == 1


async def test_1000_tasks_one_fetch() -> None:
    cache = TTLCache()
    calls = []

    async def fetch() -> dict[str, int]:
        calls.append(1)
        await asyncio.sleep(0.1)
        return {"v": 1}

    results = await asyncio.gather(*(cache.aget_or_fetch("missing", fetch, ttl=60) for _ in range(1000)))
    assert len(calls) == 1
    assert all(r is results[0] for r in results)
    assert cache.stats.fetches == 1 and cache.stats.joined == 999


def test_threads_and_tasks_on_several_loops_share_one_fetch() -> None:
    cache = TTLCache()
    calls = []
    release = threading.Event()
    results: list[Any] = []
    lock = threading.Lock()

    def fetch() -> str:
        calls.append(1)
        release.wait(5)
        return "value"

    async def tasks_on_own_loop() -> None:
        vals = await asyncio.gather(*(cache.aget_or_fetch("k", fetch, ttl=60) for _ in range(50)))
        with lock:
            results.extend(vals)

    def thread_reader() -> None:
        v = cache.get_or_fetch("k", fetch, ttl=60)
        with lock:
            results.append(v)

    leader = threading.Thread(target=thread_reader)
    leader.start()
    while cache.inflight == 0:
        time.sleep(0.001)
    others = [threading.Thread(target=thread_reader) for _ in range(20)]
    others += [threading.Thread(target=asyncio.run, args=(tasks_on_own_loop(),)) for _ in range(3)]
    for t in others:
        t.start()
    time.sleep(0.2)
    release.set()
    for t in [leader, *others]:
        t.join(10)
    assert len(calls) == 1
    assert results == ["value"] * (1 + 20 + 150)


def test_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = TTLCache()
    calls = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(200)

    def failing() -> Any:
        calls.append(1)
        time.sleep(0.1)
        raise ConnectionError("api down")

    def reader() -> None:
        barrier.wait()
        try:
            cache.get_or_fetch("k", failing, ttl=60)
        except ConnectionError as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1
    assert len(errors) == 200
    assert cache.get("k") is None
    assert cache.stats.fetch_errors == 1
    assert cache.get_or_fetch("k", lambda: "recovered") == "recovered"  # a new fetch after the failure


async def test_async_failure_reaches_every_task_and_is_not_cached() -> None:
    cache = TTLCache()
    calls = []

    async def failing() -> Any:
        calls.append(1)
        await asyncio.sleep(0.05)
        raise ValueError("garbage")

    results = await asyncio.gather(*(cache.aget_or_fetch("k", failing) for _ in range(100)), return_exceptions=True)
    assert len(calls) == 1
    assert all(isinstance(r, ValueError) for r in results)
    assert "k" not in cache

    async def ok() -> int:
        return 7

    assert await cache.aget_or_fetch("k", ok) == 7


def test_sync_timeout_bounds_the_wait_and_late_result_is_cached() -> None:
    cache = TTLCache()
    done = threading.Event()

    def slow() -> str:
        time.sleep(0.5)
        done.set()
        return "late"

    t0 = time.monotonic()
    with pytest.raises(HLTimeoutError) as info:
        cache.get_or_fetch("k", slow, timeout=0.1)
    assert time.monotonic() - t0 < 0.1 + 0.3
    assert info.value.timeout == 0.1
    assert done.wait(3)
    time.sleep(0.05)
    assert cache.get("k") == "late"


async def test_async_timeout_and_cancelled_caller_do_not_cancel_the_fetch() -> None:
    cache = TTLCache()
    calls = []

    async def slow() -> str:
        calls.append(1)
        await asyncio.sleep(0.3)
        return "v"

    leader = asyncio.create_task(cache.aget_or_fetch("k", slow))
    await asyncio.sleep(0.01)
    follower = asyncio.create_task(cache.aget_or_fetch("k", slow))
    t0 = time.monotonic()
    with pytest.raises(HLTimeoutError):
        await cache.aget_or_fetch("k", slow, timeout=0.05)
    assert time.monotonic() - t0 < 0.05 + 0.2
    leader.cancel()
    assert await follower == "v"
    assert len(calls) == 1
    assert cache.get("k") == "v"


def test_stale_on_error_is_explicit() -> None:
    clock = Clock()
    cache = TTLCache(CacheConfig(max_stale=60), clock=clock)
    cache.set("k", "old", ttl=1)
    clock.advance(2)

    def down() -> Any:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        cache.get_or_fetch("k", down)
    assert cache.get_or_fetch("k", down, stale_on_error=True) == "old"
    assert cache.stats.stale_hits == 1


def test_refresh_fetches_even_when_fresh() -> None:
    cache = TTLCache()
    cache.set("k", 1)
    assert cache.refresh("k", lambda: 2) == 2
    assert cache.get("k") == 2


def test_invalidate_while_in_flight_does_not_store() -> None:
    cache = TTLCache()
    started = threading.Event()
    release = threading.Event()

    def fetch() -> str:
        started.set()
        release.wait(5)
        return "outdated"

    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(cache.get_or_fetch("k", fetch)))
    t.start()
    assert started.wait(5)
    cache.invalidate("k")
    release.set()
    t.join(5)
    assert box == ["outdated"]  # the waiter still gets its answer
    assert cache.get("k") is None  # but it is not stored


async def test_sync_call_on_loop_owning_async_fetch_is_refused() -> None:
    cache = TTLCache()
    gate = asyncio.Event()

    async def fetch() -> int:
        await gate.wait()
        return 1

    task = asyncio.create_task(cache.aget_or_fetch("k", fetch))
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match="aget_or_fetch"):
        cache.get_or_fetch("k", lambda: 2)
    gate.set()
    assert await task == 1


# ---------------------------------------------------------------------------------------- property
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "get", "stale", "advance", "invalidate"]),
            st.integers(0, 12),
            st.floats(0.0, 5.0, allow_nan=False),
        ),
        max_size=120,
    ),
    st.integers(1, 6),
)
def test_model_never_returns_expired_or_wrong_values(ops: list[tuple[str, int, float]], bound: int) -> None:
    clock = Clock()
    cache = TTLCache(CacheConfig(max_entries=bound, max_stale=None), clock=clock)
    model: dict[int, tuple[int, float]] = {}  # key -> (version, expires_at)
    version = 0
    for op, key, x in ops:
        if op == "set":
            version += 1
            ttl = x + 0.01
            cache.set(key, (key, version), ttl=ttl)
            model[key] = (version, clock.now + ttl)
        elif op == "advance":
            clock.advance(x)
        elif op == "invalidate":
            cache.invalidate(key)
            model.pop(key, None)
        else:
            got = cache.get(key, allow_stale=(op == "stale"))
            if got is not None:
                assert key in model and got == (key, model[key][0])
                if op == "get":
                    assert model[key][1] > clock.now
        assert len(cache) <= bound


# ---------------------------------------------------------------------------------------- hits without a lock
class CountingLock:
    """A lock that counts how often it is taken."""

    def __init__(self) -> None:
        self.inner = threading.Lock()
        self.taken = 0

    def __enter__(self) -> bool:
        self.taken += 1
        return self.inner.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)


def test_fresh_hits_take_no_lock_and_are_counted() -> None:
    cache = TTLCache()
    lock = CountingLock()
    cache._lock = lock  # type: ignore[assignment]
    cache.set("k", "v", ttl=60)
    cache.set("forever", 1, ttl=float("inf"))
    taken = lock.taken
    assert [cache.get("k") for _ in range(1000)] == ["v"] * 1000
    assert [cache.get_or_fetch("forever", lambda: 2) for _ in range(10)] == [1] * 10
    assert lock.taken == taken
    assert cache.stats.hits == 1010
    cache.reset_stats()
    assert cache.get("k") == "v" and cache.stats.hits == 1


def test_writes_are_seen_by_the_next_lock_free_hit() -> None:
    cache = TTLCache()
    cache.set("k", 1)
    assert cache.get("k") == 1
    cache.set("k", 2)
    assert cache.get("k") == 2
    assert cache.invalidate("k") and cache.get("k") is None
    cache.set("k", 3)
    cache.set("k", 4, ttl=0)  # drops the value
    assert cache.get("k") is None
    cache.set("a", 1)
    cache.clear()
    assert cache.get("a") is None and cache.stats.entries == 0


def test_a_hit_listener_gets_every_hit_and_the_lock_free_path_returns_without_one() -> None:
    bus = EventBus()
    cache = TTLCache(events=bus)
    lock = CountingLock()
    cache._lock = lock  # type: ignore[assignment]
    cache.set("k", 1)
    hits: list[Event] = []
    stop = bus.subscribe("cache.hit", hits.append)
    for _ in range(3):
        assert cache.get("k") == 1
    assert [e["key"] for e in hits] == ["k"] * 3
    stop()
    assert cache.get("k") == 1  # through the lock once, which lets the entry back into the lock-free table
    taken = lock.taken
    assert [cache.get("k") for _ in range(100)] == [1] * 100
    assert lock.taken == taken and len(hits) == 3
    assert cache.stats.hits == 104


def test_hits_from_two_threads_are_all_counted() -> None:
    cache = TTLCache()
    cache.set("k", 1)
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        for _ in range(50_000):
            cache.get("k")

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.stats.hits == 100_000


def test_lock_free_hits_never_return_an_expired_entry() -> None:
    """Hammer a short-lived entry with the real clock until it is gone: no value is returned after its expiry,
    and the entry was served without the lock before it left the table (the expiry thread took it out)."""
    cache = TTLCache()
    lock = CountingLock()
    cache._lock = lock  # type: ignore[assignment]
    cache.set("k", "v", ttl=FAST_MARGIN + 0.5)
    info = cache.peek("k")
    assert info is not None
    expires_at = info.expires_at
    lock_free = late = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before, started = lock.taken, time.monotonic()
        got = cache.get("k")
        if got is None:
            break
        if lock.taken == before:
            lock_free += 1
        if started >= expires_at:  # already expired when asked, and still returned
            late += 1
    assert got is None and late == 0
    assert lock_free > 0


def test_entries_leave_the_lock_free_table_in_a_forked_child() -> None:
    """The expiry thread does not survive a fork: the child starts its own, so its entries still leave."""
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    cache = TTLCache()
    cache.set("k", "v", ttl=FAST_MARGIN + 0.3)
    assert "k" in cache._fast
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        code = 1
        try:
            end = time.monotonic() + 20
            while time.monotonic() < end and "k" in cache._fast:
                time.sleep(0.01)
            code = 0 if "k" not in cache._fast and cache.get("k") == "v" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_bus_watchers_are_told_of_every_change_and_held_weakly() -> None:
    bus = EventBus()

    class Watcher:
        def __init__(self) -> None:
            self.calls = 0

        def changed(self) -> None:
            self.calls += 1

    w = Watcher()
    bus.watch(w.changed)
    stop = bus.subscribe("cache.hit", lambda e: None)
    stop()
    bus.clear()
    assert w.calls == 3
    del w
    gc.collect()
    bus.subscribe("cache.miss", lambda e: None)  # a collected watcher is skipped


def test_fresh_reads_without_counting_and_without_the_lock() -> None:
    cache = TTLCache()
    lock = CountingLock()
    cache._lock = lock  # type: ignore[assignment]
    cache.set("k", "v", ttl=60)
    taken = lock.taken
    assert [cache.fresh("k") for _ in range(10)] == ["v"] * 10
    assert lock.taken == taken and cache.stats.hits == 0 and cache.stats.misses == 0
    assert cache.fresh("missing") is None
    clock = Clock()
    faked = TTLCache(clock=clock)
    faked.set("k", "v", ttl=5)
    assert faked.fresh("k") == "v"
    clock.advance(5)
    assert faked.fresh("k") is None  # expired: not fresh, and still nothing counted
    assert faked.stats.misses == 0


def test_the_generation_changes_after_every_change_of_the_lock_free_table() -> None:
    """What ``MetadataService.snapshot`` relies on to reuse a snapshot with one comparison: whenever a value is
    stored or the lock-free table changes (an entry promoted, replaced, invalidated, cleared, taken out by the
    expiry thread, or the table emptied because someone listens to ``cache.hit``), ``generation`` differs
    afterwards; ``held`` reads that table."""
    import random

    rng = random.Random(15)
    bus = EventBus()
    cache = TTLCache(CacheConfig(max_entries=6), events=bus)
    keys = [f"k{i}" for i in range(8)]
    stop: Any = None
    changes = 0

    def step() -> None:
        nonlocal stop
        op = rng.randrange(9)
        key = rng.choice(keys)
        if op <= 2:  # a value stored changes it too (held or not: a key with no fresh value now has one)
            ttl = rng.choice([60.0, math.inf, FAST_MARGIN / 2, FAST_MARGIN + 0.02, 0])
            before = cache.generation
            cache.set(key, object(), ttl=ttl)
            assert ttl == 0 or cache.generation != before
        elif op == 3:
            cache.get(key)
        elif op == 4:
            cache.invalidate(key)
        elif op == 5 and rng.random() < 0.2:
            cache.clear()
        elif op == 6:
            cache.purge_expired()
        elif op == 7:  # a cache.hit listener comes or goes (the lock-free table is off while one listens)
            if stop is None:
                stop = bus.subscribe("cache.hit", lambda e: None)
            else:
                stop()
                stop = None
        else:
            time.sleep(0.03)  # the expiry thread takes entries out (FAST_MARGIN + 0.02 ones are due by now)

    for _ in range(400):
        with cache._lock:  # (the expiry thread changes the table and the generation under it)
            table, generation = dict(cache._fast), cache.generation
        step()
        with cache._lock:
            after, now = dict(cache._fast), cache.generation
        if after.keys() != table.keys() or any(after[k] is not table[k] for k in after):
            changes += 1
            assert now != generation
        for key in keys:
            entry = after.get(key)
            assert cache.held(key) is (None if entry is None else entry.value)
    assert changes > 50  # (the sequence did change the table, in every way above)
