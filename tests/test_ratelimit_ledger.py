"""The budget's rules, run against both stores: this process's ledger and the Redis scripts.

Every case below runs twice — on :class:`Ledger` / :class:`Allowances` (one process) and on
:class:`RedisStore` (a real Redis server) — so the Lua scripts and the Python code keep one behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from redisserver import redis_server, redis_url  # noqa: F401 - fixtures

from hyperliquid_client.runtime.ratelimit.address import EXHAUSTED_EVERY, Allowances
from hyperliquid_client.runtime.ratelimit.ledger import Ledger
from hyperliquid_client.runtime.ratelimit.store import RedisStore, StoreDown

WINDOW = 0.4
HOLD = 0.3
BASE, MAXIMUM = 0.2, 1.0


class LocalSide:
    """The one-process store."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.allowances = Allowances()

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


@pytest.fixture(params=["local", "redis"])
def side(request: pytest.FixtureRequest) -> Iterator[LocalSide | RedisSide]:
    if request.param == "local":
        yield LocalSide()
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
    from hyperliquid_client.runtime.ratelimit.limiter import RedisNonceSource
    from hyperliquid_client.runtime.signing.nonces import LocalNonceSource, NonceManager

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
