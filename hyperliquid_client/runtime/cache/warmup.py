"""Background warmers: fill the cache after start-up, retry while the API is down, refresh on an interval.

A :class:`Warmer` is a named fetch (sync callable or coroutine function returning the raw JSON),
an optional ``validate`` step (raise to reject garbage; its return value is what gets cached),
the cache ``key`` to store under, a TTL and a refresh ``interval``.  A :class:`WarmupManager`
runs its warmers:

* ``start()`` (sync clients) starts one daemon thread per warmer and returns at once;
  ``await astart()`` (async clients) starts one task per warmer on the running loop and returns
  at once.  Neither waits for the network.
* Each warmer fetches through :meth:`TTLCache.refresh` (single flight: an on-demand read of the
  same key joins the warmer's fetch instead of sending a second request), bounded by the
  warmer's ``timeout``.  After a success it sleeps ``interval``; after a failure it retries with
  exponential backoff and jitter (:class:`Backoff`), honouring ``retry_after`` of a
  :class:`~hyperliquid_client.runtime.errors.RateLimitedError`.
* A failed refresh never removes what an earlier success stored: the old value stays until its
  TTL passes, after which readers get a miss (and then whatever error the on-demand fetch gives).
* :attr:`WarmupManager.status` is a :class:`WarmStatus`: ``"pending"`` (no failure yet, some
  warmer has not finished its first attempt), ``"ok"`` (every warmer's latest attempt
  succeeded), ``"partial"`` (some warmers ok, some failed) or ``"failed"`` (no warmer ok,
  at least one failed), with per-warmer states, failure reasons and last success times.
  Every change of a warmer's state or reason emits ``cache.warm`` with ``name`` = the warmer's
  name; every change of the overall state emits ``cache.warm`` with ``name`` = the manager's
  name (``"warmup"`` by default).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.cache.ttl import TTLCache
from hyperliquid_client.runtime.errors import RateLimitedError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.record import Record, frozen, record

__all__ = ["Backoff", "WarmStatus", "Warmer", "WarmerStatus", "WarmupManager"]

_log = get_logger("hyperliquid_client.cache.warmup")
_REASON_MAX = 300


@frozen
class Backoff:
    """Exponential backoff with jitter: attempt ``n`` (1-based) waits ``min(maximum, initial * multiplier**(n-1))``
    scaled by a random factor in ``[1 - jitter, 1]``."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (self.initial > 0 and self.maximum >= self.initial and self.multiplier >= 1):
            raise ValueError("backoff needs initial > 0, maximum >= initial, multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter must be within [0, 1]")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = first retry)."""
        base = min(self.maximum, self.initial * self.multiplier ** max(0, attempt - 1))
        r = (rng or random).random()
        return base * (1.0 - self.jitter * r)


class Warmer:
    """One piece of data to keep warm.

    ``fetch``: zero-argument callable returning the raw value (sync) or an awaitable (async).
    ``key``: cache key to store under (``None``: the result is not stored, e.g. a warmer whose
    fetch stores several keys itself).  ``validate``: optional callable applied to the raw value
    before it is stored; raising marks the attempt as failed ("garbage") and stores nothing.
    ``interval``: seconds between refreshes after a success.  ``ttl``: TTL of the stored value
    (``None``: the cache default; choose it longer than ``interval`` so one failed refresh does
    not empty the cache).  ``timeout``: bound of one attempt.  ``active``: once the warmer has
    succeeded, a refresh is skipped (and costs nothing) while ``active()`` is false — e.g. while
    nobody uses the client, or while a live subscription provides the data.
    """

    def __init__(
        self,
        name: str,
        fetch: Callable[[], Any],
        *,
        key: Hashable | None = None,
        interval: float = 60.0,
        ttl: float | None = None,
        timeout: float = 10.0,
        validate: Callable[[Any], Any] | None = None,
        active: Callable[[], bool] | None = None,
    ) -> None:
        if not name:
            raise ValueError("a warmer needs a name")
        if not interval > 0 or not timeout > 0:
            raise ValueError("warmer interval and timeout must be positive")
        self.name = name
        self.fetch = fetch
        self.key = key
        self.interval = float(interval)
        self.ttl = ttl
        self.timeout = float(timeout)
        self.validate = validate
        self.active = active

    def __repr__(self) -> str:
        return f"Warmer({self.name!r}, key={self.key!r}, interval={self.interval:g})"

    def _is_async(self) -> bool:
        fn = self.fetch
        return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004

    def call_sync(self) -> Any:
        """Run ``fetch`` (and ``validate``) to completion in this thread."""
        value = self.fetch()
        if inspect.isawaitable(value):
            value = asyncio.run(_await(value))
        return self.validate(value) if self.validate is not None else value

    async def call_async(self) -> Any:
        """Run ``fetch`` (and ``validate``) without blocking the loop (sync fetches go to a thread)."""
        if self._is_async():
            value = await self.fetch()
        else:
            value = await asyncio.to_thread(self.fetch)
            if inspect.isawaitable(value):
                value = await value
        return self.validate(value) if self.validate is not None else value


async def _await(aw: Awaitable[Any]) -> Any:
    return await aw


@record
class WarmerStatus(Record):
    """State of one warmer: ``"pending"``, ``"ok"`` or ``"failed"`` (latest attempt), with details.

    ``reason`` explains the latest failure (``None`` when ok); ``last_success`` and
    ``last_failure`` are wall-clock times (``time.time()``) or ``None``.
    """

    name: str
    state: str = "pending"
    reason: str | None = None
    last_success: float | None = None
    last_failure: float | None = None
    attempts: int = 0
    successes: int = 0
    consecutive_failures: int = 0


@record
class WarmStatus(Record):
    """Overall warm-up state and the state of each warmer."""

    state: str
    warmers: Mapping[str, WarmerStatus]

    @property
    def ready(self) -> bool:
        """True when every warmer's latest attempt succeeded."""
        return self.state == "ok"

    @property
    def settled(self) -> bool:
        """True when every warmer has finished at least one attempt."""
        return all(w.state != "pending" for w in self.warmers.values())

    @property
    def reasons(self) -> dict[str, str]:
        """Failure reason per failed warmer."""
        return {n: w.reason or "" for n, w in self.warmers.items() if w.state == "failed"}

    def describe(self) -> str:
        """One line such as ``partial (meta: ok; spotMeta: failed: TimeoutError: ...)``."""
        parts = []
        for n, w in self.warmers.items():
            parts.append(f"{n}: {w.state}" + (f": {w.reason}" if w.state == "failed" and w.reason else ""))
        return f"{self.state} ({'; '.join(parts)})" if parts else self.state


def overall_state(states: Iterable[str]) -> str:
    """Combine warmer states: any failed -> partial/failed; else any pending -> pending; else ok."""
    states = list(states)
    if any(s == "failed" for s in states):
        return "partial" if any(s == "ok" for s in states) else "failed"
    if any(s == "pending" for s in states):
        return "pending"
    return "ok"


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _REASON_MAX else text[:_REASON_MAX] + "…"


class WarmupManager:
    """Runs :class:`Warmer` s in the background for one cache (one manager per client)."""

    def __init__(
        self,
        cache: TTLCache,
        warmers: Iterable[Warmer],
        *,
        events: EventBus | None = None,
        backoff: Backoff | None = None,
        name: str = "warmup",
        rng: random.Random | None = None,
    ) -> None:
        self.cache = cache
        self.warmers = list(warmers)
        names = [w.name for w in self.warmers]
        if len(set(names)) != len(names):
            raise ValueError(f"warmer names must be unique, got {names}")
        self.events = events if events is not None else cache.events
        self.backoff = backoff or Backoff()
        self.name = name
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._status: dict[str, WarmerStatus] = {w.name: WarmerStatus(w.name) for w in self.warmers}
        self._overall = overall_state(s.state for s in self._status.values())
        self._stop = threading.Event()
        self._wake: dict[str, threading.Event] = {w.name: threading.Event() for w in self.warmers}
        self._threads: list[threading.Thread] = []
        self._launcher: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._async_wake: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False

    # ------------------------------------------------------------------ status
    @property
    def status(self) -> WarmStatus:
        """Current :class:`WarmStatus` (a snapshot)."""
        with self._cond:
            return WarmStatus(self._overall, dict(self._status))

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._running

    def _record(self, warmer: Warmer, error: BaseException | None) -> None:
        now = time.time()
        events: list[tuple[str, str, str | None]] = []
        with self._cond:
            old = self._status[warmer.name]
            if error is None:
                new = old.replace(
                    state="ok",
                    reason=None,
                    last_success=now,
                    attempts=old.attempts + 1,
                    successes=old.successes + 1,
                    consecutive_failures=0,
                )
            else:
                new = old.replace(
                    state="failed",
                    reason=_reason(error),
                    last_failure=now,
                    attempts=old.attempts + 1,
                    consecutive_failures=old.consecutive_failures + 1,
                )
            self._status[warmer.name] = new
            if (new.state, new.reason) != (old.state, old.reason):
                events.append((warmer.name, new.state, new.reason))
            overall = overall_state(s.state for s in self._status.values())
            if overall != self._overall:
                self._overall = overall
                reasons = "; ".join(f"{s.name}: {s.reason}" for s in self._status.values() if s.state == "failed")
                events.append((self.name, overall, reasons or None))
            self._cond.notify_all()
        for name, state, reason in events:
            level = 20 if state == "ok" else 30 if state in ("failed", "partial") else 10
            log(_log, level, "warm-up state changed", name=name, status=state, reason=reason)
            if self.events is not None:
                self.events.emit("cache.warm", name=name, status=state, reason=reason)
        if error is not None and not events:
            log(_log, 10, "warm-up attempt failed again", name=warmer.name, reason=_reason(error))

    def wait_settled(self, timeout: float | None = None) -> WarmStatus:
        """Block until every warmer finished one attempt (or ``timeout``); return the status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while any(s.state == "pending" for s in self._status.values()):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            return WarmStatus(self._overall, dict(self._status))

    def wait_for(self, predicate: Callable[[WarmStatus], bool], timeout: float | None = None) -> WarmStatus:
        """Block until ``predicate(status)`` is true (or ``timeout``); return the status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                status = WarmStatus(self._overall, dict(self._status))
                if predicate(status):
                    return status
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return status
                self._cond.wait(remaining)

    async def await_for(self, predicate: Callable[[WarmStatus], bool], timeout: float | None = None) -> WarmStatus:
        """Async :meth:`wait_for` (polls every 10 ms; never blocks the loop)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status
            if predicate(status) or (deadline is not None and time.monotonic() >= deadline):
                return status
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ one attempt
    def _idle(self, warmer: Warmer) -> bool:
        """True when ``warmer`` has data and its ``active()`` says a refresh is not needed now."""
        if warmer.active is None or self._status[warmer.name].successes == 0:
            return False
        try:
            return not warmer.active()
        except Exception:  # a broken predicate must not stop warming
            return False

    def _delay_after(self, warmer: Warmer, error: BaseException | None) -> float:
        if error is None:
            return warmer.interval
        failures = self._status[warmer.name].consecutive_failures
        delay = self.backoff.delay(failures, self._rng)
        if isinstance(error, RateLimitedError) and error.retry_after:
            delay = max(delay, float(error.retry_after))
        return delay

    def _attempt_sync(self, warmer: Warmer, stop: threading.Event) -> BaseException | None:
        def fetch() -> Any:
            value = warmer.call_sync()
            if stop.is_set():  # stopped meanwhile: store nothing in the cache of a closed client
                raise _Stopped(warmer.name)
            return value

        try:
            if warmer.key is not None:
                self.cache.refresh(
                    warmer.key,
                    fetch,
                    ttl=warmer.ttl,
                    timeout=warmer.timeout,
                    supersede_after=warmer.timeout,
                )
            else:
                _call_with_timeout(fetch, warmer.timeout, warmer.name)
        except Exception as exc:
            return exc
        return None

    async def _attempt_async(self, warmer: Warmer, stop: threading.Event) -> BaseException | None:
        async def fetch() -> Any:
            value = await warmer.call_async()
            if stop.is_set():
                raise _Stopped(warmer.name)
            return value

        try:
            if warmer.key is not None:
                await self.cache.arefresh(
                    warmer.key,
                    fetch,
                    ttl=warmer.ttl,
                    timeout=warmer.timeout,
                    supersede_after=warmer.timeout,
                )
            else:
                try:
                    await asyncio.wait_for(fetch(), warmer.timeout)
                except errors.TimeoutError:  # the call's own (also a builtin TimeoutError): keep its message
                    raise
                except TimeoutError:  # asyncio's (the builtin)
                    raise errors.TimeoutError(
                        f"warmer {warmer.name} got no answer within {warmer.timeout:g}s",
                        timeout=warmer.timeout,
                        endpoint=warmer.name,
                    ) from None
        except Exception as exc:
            return exc
        return None

    # ------------------------------------------------------------------ sync lifecycle
    def start(self) -> None:
        """Start the warmers on daemon threads and return immediately (no network I/O here).

        One launcher thread is started here; it starts one thread per warmer, so the caller pays
        for a single thread start whatever the number of warmers.
        """
        if self._running:
            return
        self._running = True
        stop = self._stop = threading.Event()  # a fresh one per run: threads of an earlier run stay stopped
        threads = [
            threading.Thread(
                target=self._thread_main, args=(w, stop), name=f"hl-warm-{self.name}-{w.name}", daemon=True
            )
            for w in self.warmers
        ]
        self._threads = threads

        def launch() -> None:
            for t in threads:
                if stop.is_set():
                    break
                t.start()

        launcher = threading.Thread(target=launch, name=f"hl-warm-{self.name}-launcher", daemon=True)
        self._launcher = launcher
        launcher.start()

    def _thread_main(self, warmer: Warmer, stop: threading.Event) -> None:
        wake = self._wake[warmer.name]
        while not stop.is_set():
            if self._idle(warmer):
                wake.wait(warmer.interval)
                wake.clear()
                continue
            error = self._attempt_sync(warmer, stop)
            if stop.is_set():
                break
            self._record(warmer, error)
            wake.wait(self._delay_after(warmer, error))
            wake.clear()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the warmers (sync or async ones).  A fetch in progress is abandoned, not awaited.

        Waits at most ``timeout`` seconds *in all* for the threads to end (not per thread): a
        thread blocked in I/O is left to end on its own — it stores nothing and records nothing
        once stopped.  ``timeout=0`` only signals.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        self._stop.set()
        for ev in self._wake.values():
            ev.set()
        if self._tasks and self._loop is not None and not self._loop.is_closed():
            for task in self._tasks:
                self._loop.call_soon_threadsafe(task.cancel)
        launcher = self._launcher
        for t in ([launcher] if launcher is not None else []) + self._threads:
            left = deadline - time.monotonic()
            if left > 0 and t.is_alive() and t is not threading.current_thread():
                t.join(left)
        if launcher is not None and not launcher.is_alive():
            self._launcher = None
        self._threads = [t for t in self._threads if t.is_alive()]  # a later stop() may wait for them
        self._running = False

    def refresh_now(self, name: str | None = None) -> None:
        """Wake warmer ``name`` (or all) to refresh now instead of at its next interval."""
        names = [name] if name is not None else list(self._wake)
        for n in names:
            self._wake[n].set()
            aev = self._async_wake.get(n)
            if aev is not None and self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(aev.set)

    def __enter__(self) -> WarmupManager:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ async lifecycle
    async def astart(self) -> None:
        """Start one task per warmer on the running loop and return immediately."""
        if self._running:
            return
        self._running = True
        stop = self._stop = threading.Event()
        self._loop = asyncio.get_running_loop()
        for warmer in self.warmers:
            self._async_wake[warmer.name] = asyncio.Event()
            self._tasks.append(
                self._loop.create_task(self._task_main(warmer, stop), name=f"hl-warm-{self.name}-{warmer.name}")
            )

    async def _task_main(self, warmer: Warmer, stop: threading.Event) -> None:
        wake = self._async_wake[warmer.name]
        while not stop.is_set():
            if self._idle(warmer):
                try:
                    await asyncio.wait_for(wake.wait(), warmer.interval)
                except TimeoutError:  # asyncio's (the builtin)
                    pass
                wake.clear()
                continue
            error = await self._attempt_async(warmer, stop)
            if stop.is_set():
                break
            self._record(warmer, error)
            try:
                await asyncio.wait_for(wake.wait(), self._delay_after(warmer, error))
            except TimeoutError:  # asyncio's (the builtin)
                pass
            wake.clear()

    async def astop(self, timeout: float | None = None) -> None:
        """Cancel the warmer tasks and wait for them to finish (at most ``timeout`` seconds)."""
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        if self._threads:
            self.stop(timeout=0)
        self._running = False

    async def __aenter__(self) -> WarmupManager:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()


class _Stopped(errors.HyperliquidError):
    """A warmer's fetch ended after its manager was stopped: the value is dropped."""

    def __init__(self, name: str) -> None:
        super().__init__(f"warmer {name} was stopped")


def _call_with_timeout(fn: Callable[[], Any], timeout: float, name: str) -> Any:
    """Run ``fn`` on a daemon thread; raise TimeoutError if it takes longer than ``timeout``."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"hl-warm-call-{name}", daemon=True).start()
    if not done.wait(timeout):
        raise errors.TimeoutError(f"warmer {name} got no answer within {timeout:g}s", timeout=timeout, endpoint=name)
    if "error" in box:
        raise box["error"]
    return box.get("value")
