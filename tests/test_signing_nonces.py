"""Nonces: strictly increasing per signer, unique under 10,000 concurrent signings, and never
repeating when the clock steps back."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import defaultdict
from typing import Any

import pytest

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.signing import NonceManager, Wallet, l1_digest, recover_address, sign_l1_action

ACTION = {
    "type": "order",
    "orders": [{"a": 0, "b": True, "p": "100", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
    "grouping": "na",
}
WALLETS = [Wallet.from_key(bytes([i + 1]) * 32) for i in range(3)]


def _check(results: list[tuple[Any, str, int, Any]]) -> None:
    """results: (origin, signer, nonce, signature) in each origin's own order."""
    by_signer: dict[str, list[int]] = defaultdict(list)
    by_origin: dict[tuple[Any, str], list[int]] = defaultdict(list)
    for origin, signer, nonce, _sig in results:
        by_signer[signer].append(nonce)
        by_origin[(origin, signer)].append(nonce)
    for signer, nonces in by_signer.items():
        assert len(set(nonces)) == len(nonces), f"duplicate nonce for {signer}"
    for seq in by_origin.values():
        assert all(a < b for a, b in itertools.pairwise(seq)), "not increasing within one caller"
    # every signature is over its own nonce by the right signer (sampled: recovery is the costly part)
    for _origin, signer, nonce, sig in results[::97]:
        assert recover_address(l1_digest(ACTION, nonce, is_mainnet=False), sig) == signer


def test_10000_concurrent_signings_in_threads() -> None:
    manager = NonceManager()
    results: list[tuple[Any, str, int, Any]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(tid: int) -> None:
        local = []
        barrier.wait()
        for i in range(1250):
            wallet = WALLETS[(tid + i) % len(WALLETS)]
            nonce = manager.next(wallet.address)
            local.append((tid, wallet.address, nonce, sign_l1_action(wallet, ACTION, nonce, is_mainnet=False)))
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 10_000
    _check(results)


async def test_10000_concurrent_signings_in_asyncio_tasks() -> None:
    manager = NonceManager()
    results: list[tuple[Any, str, int, Any]] = []

    async def task(i: int) -> None:
        wallet = WALLETS[i % len(WALLETS)]
        await asyncio.sleep(0)
        nonce = manager.next(wallet.address)
        await asyncio.sleep(0)  # interleave allocation and signing across tasks
        results.append((i, wallet.address, nonce, sign_l1_action(wallet, ACTION, nonce, is_mainnet=False)))

    await asyncio.gather(*(task(i) for i in range(10_000)))
    assert len(results) == 10_000
    _check(results)


def test_clock_stepping_back_never_repeats() -> None:
    ticks = iter([1000, 1000, 999, 500, 1001, 1010, 5, 2000])
    manager = NonceManager(clock=lambda: next(ticks))
    got = [manager.next("0xAbC") for _ in range(8)]
    assert got == [1000, 1001, 1002, 1003, 1004, 1010, 1011, 2000]
    assert manager.last("0xabc") == 2000  # signer key is case-insensitive


def test_signers_are_independent_and_observe() -> None:
    manager = NonceManager(clock=lambda: 100)
    assert [manager.next("0xa"), manager.next("0xb"), manager.next("0xa")] == [100, 100, 101]
    manager.observe("0xb", 500)
    assert manager.next("0xb") == 501
    assert manager.last("0xc") is None
    with pytest.raises(InvalidInputError):
        manager.observe("0xb", -1)


def test_slow_clock_holds_no_lock() -> None:
    """A clock read blocked in one thread does not stop another thread of the same signer."""
    release = threading.Event()
    entered = threading.Event()
    first = threading.Event()

    def clock() -> int:
        if not first.is_set():
            first.set()
            entered.set()
            assert release.wait(10)
        return 1

    manager = NonceManager(clock=clock)
    out: list[int] = []
    blocked = threading.Thread(target=lambda: out.append(manager.next("0xa")))
    blocked.start()
    assert entered.wait(10)
    out.append(manager.next("0xa"))  # would deadlock if the clock were read under the lock
    release.set()
    blocked.join(10)
    assert sorted(out) == [1, 2]


@pytest.mark.parametrize("hold", [0.0, -1.0, float("nan"), True, "5", 0])
def test_a_nonce_hold_that_is_not_a_positive_number_of_seconds_is_refused(hold: Any) -> None:
    manager = NonceManager()
    with pytest.raises(InvalidInputError, match="hold"):
        manager.acquire(WALLETS[0].address, 1.0, hold=hold)
    assert manager.in_flight(WALLETS[0].address) == 0


@pytest.mark.parametrize("hold", [2.5, 3, float("inf"), None])
def test_a_nonce_taken_with_any_valid_hold_is_in_flight_until_released(hold: Any) -> None:
    manager = NonceManager()
    nonce = manager.acquire(WALLETS[1].address, 1.0, hold=hold)
    assert manager.in_flight(WALLETS[1].address) == 1
    manager.release(WALLETS[1].address, nonce)
    assert manager.in_flight(WALLETS[1].address) == 0
