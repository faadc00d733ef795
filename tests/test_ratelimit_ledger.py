"""The budget's and the nonce window's rules, run against both stores: this process's and the Redis scripts.

Every case below runs twice — on :class:`Ledger` / :class:`Allowances` / :class:`Flights` (one process)
and on :class:`RedisStore` (a real Redis server) — so the Lua scripts and the Python code keep one behaviour.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redisserver import redis_server, redis_url  # noqa: F401 - fixtures

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.ratelimit.address import EXHAUSTED_EVERY, Allowances
from hyperliquid_client.runtime.ratelimit.ledger import Ledger
from hyperliquid_client.runtime.ratelimit.limiter import RedisNonceSource
from hyperliquid_client.runtime.ratelimit.store import RedisStore, StoreDown
from hyperliquid_client.runtime.signing.nonces import Flights, LocalNonceSource, NonceManager

WINDOW = 0.4
HOLD = 0.3
BASE, MAXIMUM = 0.2, 1.0
SIGNER = "0x" + "ef" * 20


class LocalSide:
    """The one-process store."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.allowances = Allowances()
        self.flights = Flights()
        self.nonces = LocalNonceSource()

    def admit(self, weight: int, limit: int, *, hold: float = HOLD, background: bool = False) -> tuple[Any, float, str]:
        adm = self.ledger.admit(time.monotonic(), weight, limit, window=WINDOW, hold=hold, background=background)
        return adm.entry, adm.wait, adm.reason or "ok"

    def complete(self, entry: Any, extra: int = 0) -> None:
        now = time.monotonic()
        self.ledger.complete(entry, now, window=WINDOW)
        self.ledger.charge(extra, now, window=WINDOW)

    def rate_limited(self, retry_after: float | None) -> None:
        self.ledger.rate_limited(time.monotonic(), retry_after, base=BASE, maximum=MAXIMUM)

    def succeeded(self) -> None:
        self.ledger.succeeded()

    def used(self) -> int:
        return self.ledger.used(time.monotonic())

    def charge(self, address: str, action: str, n: int) -> tuple[bool, int, int | None, float]:
        d = self.allowances.charge(address, action, n, time.monotonic())
        return d.allowed, d.state.used, d.state.cap, d.retry_after

    def observe(self, address: str, used: int, cap: int) -> None:
        self.allowances.observe(address, used, cap)

    def next_nonce(self) -> int:
        return self.nonces.next(SIGNER)

    def take_nonce(self, window: int, hold: float) -> tuple[int | None, float]:
        # as NonceManager does it: the rule says whether, the source gives the nonce
        now = time.monotonic()
        shut = self.flights.shut_for(now, window)
        if shut > 0:
            return None, shut
        nonce = self.nonces.next(SIGNER)
        self.flights.take(nonce, now, hold)
        return nonce, 0.0

    def release_nonce(self, nonce: int) -> None:
        self.flights.release(nonce)


class RedisSide:
    """The shared store."""

    def __init__(self, url: str) -> None:
        self.store = RedisStore(url, prefix="t", timeout=2.0, retry=0.1)
        self.scope = "ip|host"
        # the first contact creates the epoch and refuses ("reset"): start from there
        assert self.store.admit(self.scope, 1, 1, window=WINDOW, hold=HOLD, background=False)[2] == "reset"

    def admit(self, weight: int, limit: int, *, hold: float = HOLD, background: bool = False) -> tuple[Any, float, str]:
        member, wait, reason, _probe, _total, _epoch = self.store.admit(
            self.scope, weight, limit, window=WINDOW, hold=hold, background=background
        )
        return member, wait, reason

    def complete(self, entry: Any, extra: int = 0) -> None:
        self.store.settle(
            self.scope, entry, window=WINDOW, extra=extra, outcome="none", retry_after=None, base=BASE, maximum=MAXIMUM
        )

    def rate_limited(self, retry_after: float | None) -> None:
        self.store.settle(
            self.scope, None, window=WINDOW, extra=0, outcome="429", retry_after=retry_after, base=BASE, maximum=MAXIMUM
        )

    def succeeded(self) -> None:
        self.store.settle(
            self.scope, None, window=WINDOW, extra=0, outcome="ok", retry_after=None, base=BASE, maximum=MAXIMUM
        )

    def used(self) -> int:
        return self.store.used(self.scope)[0]

    def charge(self, address: str, action: str, n: int) -> tuple[bool, int, int | None, float]:
        from hyperliquid_client.runtime.ratelimit.address import ORDER_ACTIONS

        return self.store.address_charge(address, n, order=action in ORDER_ACTIONS, every=EXHAUSTED_EVERY)

    def observe(self, address: str, used: int, cap: int) -> None:
        self.store.address_observe(address, used, cap)

    def next_nonce(self) -> int:
        return self.store.nonce(SIGNER, 0)

    def take_nonce(self, window: int, hold: float) -> tuple[int | None, float]:
        return self.store.nonce_take(SIGNER, 0, window=window, hold=hold)

    def release_nonce(self, nonce: int) -> None:
        self.store.nonce_release(SIGNER, nonce)


class GrantingSide(LocalSide):
    """The one-process store as the limiter asks it: :meth:`Ledger.grant` first (its fast path), :meth:`Ledger.admit`
    only when the grant is refused — every case must come out as with ``admit`` alone."""

    def admit(self, weight: int, limit: int, *, hold: float = HOLD, background: bool = False) -> tuple[Any, float, str]:
        entry = self.ledger.grant(time.monotonic(), weight, limit, window=WINDOW, hold=hold)
        if entry is not None:
            return entry, 0.0, "ok"
        return super().admit(weight, limit, hold=hold, background=background)


@pytest.fixture(params=["local", "local-grant", "redis"])
def side(request: pytest.FixtureRequest) -> Iterator[LocalSide | RedisSide]:
    if request.param == "local":
        yield LocalSide()
    elif request.param == "local-grant":
        yield GrantingSide()
    else:
        url = request.getfixturevalue("redis_url")
        yield RedisSide(url)


def test_admits_up_to_the_limit_and_says_how_long_to_wait(side: LocalSide | RedisSide) -> None:
    a, _, _ = side.admit(4, 10)
    b, _, _ = side.admit(4, 10)
    assert a is not None and b is not None and side.used() == 8
    refused, wait, reason = side.admit(4, 10)
    assert refused is None and reason == "budget"
    assert 0 < wait <= WINDOW + HOLD + 0.05  # in flight: they count until a window after their answers
    side.complete(a)
    side.complete(b)
    refused, wait, reason = side.admit(4, 10)
    assert refused is None and reason == "budget" and 0 < wait <= WINDOW + 0.05  # now a window after the answer
    time.sleep(wait + 0.05)
    again, _, _ = side.admit(4, 10)
    assert again is not None and side.used() == 4


def test_the_grant_fast_path_and_admit_agree_at_the_cap() -> None:
    now = time.monotonic()
    fast, slow = Ledger(), Ledger()
    for ledger in (fast, slow):
        ledger.take(now, 9, hold=HOLD, window=WINDOW)
    assert fast.grant(now, 1, 10, window=WINDOW, hold=HOLD) is not None  # exactly at the cap: fits
    assert slow.admit(now, 1, 10, window=WINDOW, hold=HOLD).granted
    assert fast.grant(now, 1, 10, window=WINDOW, hold=HOLD) is None  # one over: refused, admit says how long
    refused = slow.admit(now, 1, 10, window=WINDOW, hold=HOLD)
    assert not refused.granted and refused.reason == "budget"
    assert fast.total == slow.total == 10
    fast.rate_limited(now, 5.0, base=BASE, maximum=MAXIMUM)  # a backoff: the grant leaves it to admit
    assert fast.grant(now, 0, 10**6, window=WINDOW, hold=HOLD) is None
    assert fast.admit(now, 0, 10**6, window=WINDOW, hold=HOLD).reason == "backoff"


def test_a_lost_request_leaves_the_log_once_its_hold_ends_whatever_came_after() -> None:
    # the in-flight entries are walked only once the soonest hold can be over: a later, longer one must not hide it
    ledger, now = Ledger(), 100.0
    ledger.take(now, 3, hold=1.0, window=WINDOW)  # never answered
    ledger.take(now, 4, hold=50.0, window=WINDOW)  # never answered either, much longer hold
    answered = ledger.take(now, 5, hold=1.0, window=WINDOW)
    ledger.complete(answered, now + 0.1, window=WINDOW)
    assert ledger.used(now + 0.3) == 12
    assert ledger.used(now + 1.0 + WINDOW + 0.01) == 4  # the first hold is over, the answered one left too
    assert ledger.used(now + 50.0 + WINDOW + 0.01) == 0


def test_a_smaller_weight_still_fits(side: LocalSide | RedisSide) -> None:
    assert side.admit(8, 10)[0] is not None
    assert side.admit(4, 10)[0] is None
    assert side.admit(2, 10)[0] is not None
    assert side.used() == 10


def test_an_unanswered_request_counts_until_its_hold_ends(side: LocalSide | RedisSide) -> None:
    # a process killed mid-flight never reports: its weight counts for its hold plus a window, then returns
    lost, _, _ = side.admit(10, 10, hold=0.2)
    assert lost is not None
    time.sleep(WINDOW + 0.05)
    assert side.admit(1, 10)[0] is None  # still counted a window later: the server may count it late
    time.sleep(0.2 + 0.05)
    assert side.used() == 0
    assert side.admit(10, 10)[0] is not None


def test_a_surcharge_is_charged_after_the_answer(side: LocalSide | RedisSide) -> None:
    entry, _, _ = side.admit(20, 100)
    side.complete(entry, extra=5)
    assert side.used() == 25
    time.sleep(WINDOW + 0.05)
    assert side.used() == 0


def test_a_429_pauses_everyone_then_one_probe_goes_first(side: LocalSide | RedisSide) -> None:
    side.rate_limited(0.3)
    refused, wait, reason = side.admit(1, 100)
    assert refused is None and reason == "backoff" and 0 < wait <= 0.3 + 0.01
    time.sleep(wait + 0.05)
    probe, _, _ = side.admit(1, 100)
    assert probe is not None  # the probe
    second = side.admit(1, 100)
    assert second[0] is None and second[2] == "backoff"  # the others wait for the probe's answer
    assert side.admit(1, 100, background=True)[0] is None  # background work waits longest
    side.complete(probe)
    side.succeeded()
    assert side.admit(1, 100)[0] is not None
    assert side.admit(1, 100, background=True)[0] is not None


def test_a_429_without_retry_after_backs_off_exponentially(side: LocalSide | RedisSide) -> None:
    side.rate_limited(None)
    first = side.admit(1, 100)[1]
    time.sleep(first + 0.02)
    probe = side.admit(1, 100)[0]
    assert probe is not None
    side.rate_limited(None)  # the probe got a 429 too
    second = side.admit(1, 100)[1]
    assert BASE * 0.5 < first <= BASE + 0.01
    assert second > first and second <= 2 * BASE + 0.01


def test_address_allowance_refuses_orders_when_exhausted_but_not_cancels(side: LocalSide | RedisSide) -> None:
    addr = "0x" + "ab" * 20
    assert side.charge(addr, "order", 5) == (True, 5, None, 0.0)  # cap unknown: counted, never refused
    side.observe(addr, 8, 10)
    allowed, used, cap, _ = side.charge(addr, "order", 2)
    assert (allowed, used, cap) == (True, 10, 10)
    allowed, used, _, _ = side.charge(addr, "order", 1)
    assert allowed and used == 11  # exhausted: one request per 10 s still goes, as on the exchange
    allowed, used, _, retry = side.charge(addr, "order", 1)
    assert not allowed and used == 11 and 0 < retry <= EXHAUSTED_EVERY
    allowed, used, _, _ = side.charge(addr, "cancel", 3)
    assert allowed and used == 14  # cancels always go
    allowed, _, _, _ = side.charge(addr, "usdSend", 1)
    assert allowed  # not an order: the exchange decides


def granted(got: tuple[int | None, float]) -> int:
    nonce, wait = got
    assert nonce is not None and wait == 0.0
    return nonce


def test_the_nonce_window_opens_when_its_oldest_nonce_is_released(side: LocalSide | RedisSide) -> None:
    first = side.next_nonce()  # outside the window: later ones are above it, and it shuts nothing
    nonces = [granted(side.take_nonce(3, 30.0)) for _ in range(3)]
    assert first < nonces[0] < nonces[1] < nonces[2]
    refused, wait = side.take_nonce(3, 30.0)
    assert refused is None and 20 < wait <= 30  # shut until the oldest is released or its hold ends
    side.release_nonce(nonces[1])
    side.release_nonce(nonces[2])
    assert side.take_nonce(3, 30.0)[0] is None  # answered, but the oldest is still in flight
    side.release_nonce(nonces[0])
    side.release_nonce(nonces[0])  # twice: harmless
    later = granted(side.take_nonce(3, 30.0))
    assert later > nonces[2]
    assert side.next_nonce() > later


def test_a_nonce_never_released_leaves_the_window_when_its_hold_ends(side: LocalSide | RedisSide) -> None:
    # a process that died with a nonce in flight: the others wait for its hold, not forever
    granted(side.take_nonce(2, 0.2))
    kept = granted(side.take_nonce(2, 30.0))
    refused, wait = side.take_nonce(2, 30.0)
    assert refused is None and 0 < wait <= 0.2  # only the oldest shuts the window: its hold is what counts
    time.sleep(wait + 0.05)
    assert granted(side.take_nonce(2, 30.0)) > kept
    refused, wait = side.take_nonce(2, 30.0)
    assert refused is None and 20 < wait <= 30  # now the one of rank 1 shuts it: 2 were taken since


def test_redis_down_is_reported_fast_and_tried_again_later(redis_server: Any) -> None:  # noqa: F811
    redis_server.start()
    states: list[tuple[bool, str | None]] = []
    store = RedisStore(
        redis_server.url, prefix="t", timeout=0.5, retry=0.2, on_state=lambda up, e: states.append((up, e))
    )
    store.used("s")
    redis_server.stop()
    try:
        with pytest.raises(StoreDown):
            store.used("s")
        with pytest.raises(StoreDown, match="retrying later"):
            store.used("s")  # within the retry period: no connection attempt at all
        assert [up for up, _ in states] == [False]
        redis_server.start()
        time.sleep(0.25)
        assert store.used("s") == (0, 0.0)
        assert [up for up, _ in states] == [False, True]
    finally:
        redis_server.start()
        store.close()


def test_redis_nonces_are_shared_and_fall_back_to_the_local_source(redis_server: Any) -> None:  # noqa: F811
    redis_server.start()
    redis_server.flush()
    stores = [RedisStore(redis_server.url, prefix="t", timeout=0.5, retry=0.2) for _ in range(2)]
    try:
        # two managers as two processes of one wallet, each with its own local source
        managers = [NonceManager(source=RedisNonceSource(store, LocalNonceSource())) for store in stores]
        signer = "0x" + "cd" * 20
        managers[0].observe(signer, 2**41)  # a nonce used elsewhere: everything later is above it
        taken = [managers[i % 2].next(signer) for i in range(200)]
        assert len(set(taken)) == 200 and taken == sorted(taken) and taken[0] > 2**41
        redis_server.stop()
        after = managers[1].next(signer)  # Redis gone: this process's own rule, above what it saw
        assert after > max(taken[1::2])
    finally:
        redis_server.start()
        for store in stores:
            store.close()


# ------------------------------------------------------------------ the window shared by two "processes"
@pytest.fixture
def two_processes(redis_url: str) -> Iterator[tuple[NonceManager, NonceManager]]:  # noqa: F811
    """Two managers of one wallet with their own local state, sharing one Redis (as two processes do)."""
    stores = [RedisStore(redis_url, prefix="t", timeout=0.5, retry=0.2) for _ in range(2)]
    try:
        a, b = (NonceManager(source=RedisNonceSource(store, LocalNonceSource()), window=4) for store in stores)
        yield a, b
    finally:
        for store in stores:
            store.close()


def test_a_slow_process_holds_the_window_of_the_others(two_processes: tuple[NonceManager, NonceManager]) -> None:
    a, b = two_processes
    oldest = a.acquire(SIGNER, 1)
    later = [b.acquire(SIGNER, 1) for _ in range(3)]
    for n in later:
        b.release(SIGNER, n)
    assert b.in_flight(SIGNER) == 0  # nothing of b's own holds it: a's oldest nonce does
    with pytest.raises(errors.TimeoutError, match="nothing was sent") as info:
        b.acquire(SIGNER, 0.1)
    assert not info.value.request_sent
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(b.acquire(SIGNER, 10)))
    waiter.start()
    time.sleep(0.1)
    assert not got  # still waiting for the other process
    a.release(SIGNER, oldest)  # b is not told: it finds out by polling Redis
    waiter.join(10)
    assert got and got[0] > max(later)


async def test_a_task_waiting_for_the_shared_window_does_not_block_its_loop(
    two_processes: tuple[NonceManager, NonceManager],
) -> None:
    a, b = two_processes
    oldest = await a.aacquire(SIGNER, 1)
    later = [await b.aacquire(SIGNER, 1) for _ in range(3)]
    for n in later:
        await b.arelease(SIGNER, n)
    waiting = asyncio.create_task(b.aacquire(SIGNER, 10))
    await asyncio.sleep(0.1)  # a waiter blocking the loop would have ended (timed out) before this returns
    assert not waiting.done()
    await a.arelease(SIGNER, oldest)
    assert await asyncio.wait_for(waiting, 10) > max(later)
    for _ in range(3):
        await a.aacquire(SIGNER, 1)  # the other process fills the window behind b's nonce, still in flight
    with pytest.raises(errors.TimeoutError):
        await b.aacquire(SIGNER, 0.05)


def test_without_redis_the_window_is_this_process_own(redis_server: Any) -> None:  # noqa: F811
    redis_server.start()
    redis_server.flush()
    store = RedisStore(redis_server.url, prefix="t", timeout=0.5, retry=0.2)
    manager = NonceManager(source=RedisNonceSource(store, LocalNonceSource()), window=3)
    try:
        first = manager.acquire(SIGNER, 1)  # through Redis
        redis_server.stop()
        taken = [manager.acquire(SIGNER, 1) for _ in range(2)]  # from this process's clock, above what it saw
        assert first < taken[0] < taken[1]
        with pytest.raises(errors.TimeoutError):
            manager.acquire(SIGNER, 0.1)  # this process still keeps its own window: 3 taken since `first`
        manager.release(SIGNER, first)  # Redis does not hear of it: there it ends with its hold
        assert manager.acquire(SIGNER, 1) > taken[1]
    finally:
        redis_server.start()
        store.close()
