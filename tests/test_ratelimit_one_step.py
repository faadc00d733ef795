"""The exchange senders' one-step admission (``RateLimiter.admit_action``) decides exactly as the full rules do:
the address allowance (``check_address``) then the weight (``admit``), step by step, near and far from every limit."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest

from hyperliquid_client.runtime.errors import HyperliquidError, TransportError
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.ratelimit import RateLimitConfig, RateLimiter, Request
from hyperliquid_client.runtime.ratelimit.address import requests_of

ADDRESS = "0x" + "ab" * 20
URL = "https://api.example/exchange"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, events: list[Event], **rate: Any) -> RateLimiter:
    bus = EventBus()
    bus.subscribe("*", events.append)
    ip = uuid.uuid4().hex  # a ledger of its own (ledgers are shared per IP, host and window)
    return RateLimiter(RateLimitConfig(policy="fail", ip_key=ip, **rate), api_url=URL, events=bus, clock=clock)


def action_of(rng: random.Random) -> tuple[str, dict[str, Any]]:
    if rng.random() < 0.2:
        return "cancel", {"type": "cancel", "cancels": [{"a": 4, "o": 1}] * rng.randint(1, 3)}
    return "order", {"type": "order", "orders": [{"a": 4}] * rng.choice((1, 1, 2, 45)), "grouping": "na"}


def outcome(call: Any, *args: Any) -> Any:
    try:
        ticket = call(*args)
    except HyperliquidError as exc:
        return None, (type(exc).__name__, str(exc))
    return ticket, (ticket.entry, ticket.member, ticket.probe, ticket.request)


def state(lim: RateLimiter) -> tuple[Any, ...]:
    return lim.used, lim.paused_for, lim.address(ADDRESS), lim.circuit(URL), lim.mode


def fields(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, {k: v for k, v in e.fields.items() if k != "scope"}) for e in events]  # (scope: its own)


def slow(lim: RateLimiter, address: str | None, wire: str, action: dict[str, Any], req: Request) -> Any:
    """The full rules, one after the other."""
    if address is not None:
        lim.check_address(address, wire, requests_of(wire, action))
    return lim.admit(req, 5.0)


@pytest.mark.parametrize("seed", range(6))
def test_one_step_admission_agrees_with_the_allowance_then_the_weight_step_by_step(seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    heard_fast: list[Event] = []
    heard_full: list[Event] = []
    rate = {"budget": 60, "window": 10.0, "breaker_failures": 2, "breaker_cool_down": 1.0}
    fast, full = limiter(clock, heard_fast, **rate), limiter(clock, heard_full, **rate)
    deferred = 0
    admit = fast.admit

    def counting_admit(req: Any, remaining: Any) -> Any:
        nonlocal deferred
        deferred += 1
        return admit(req, remaining)

    fast.admit = counting_admit  # type: ignore[method-assign]
    held: list[tuple[Any, Any]] = []
    steps = 0
    for _ in range(400):
        roll = rng.random()
        if roll < 0.05:  # the exchange names the allowance: used / cap, sometimes near or past it
            cap = rng.choice((50, 200, 10_000))
            used = rng.randint(0, cap + 5)
            for lim in (fast, full):
                lim.observe_refusal(ADDRESS, f"Too many cumulative requests sent ({used} > {cap})")
        elif roll < 0.35 and held:  # answers: ok, 429, a failure the breaker counts, or handed back unused
            a, b = held.pop(rng.randrange(len(held)))
            kind, retry_after = rng.random(), rng.choice((None, 0.5))
            for lim, ticket in ((fast, a), (full, b)):
                if kind < 0.6:
                    lim.settle(ticket, status=200, value={"status": "ok"})
                elif kind < 0.7:
                    lim.settle(ticket, status=429, retry_after=retry_after)
                elif kind < 0.85:
                    lim.settle(ticket, status=None, error=TransportError("connection reset"))
                else:
                    lim.settle(ticket, status=None)
        elif roll < 0.5:
            clock.now += rng.choice((0.1, 0.7, 2.5, 11.0))
        else:
            wire, action = action_of(rng)
            address = None if rng.random() < 0.1 else ADDRESS
            weight = 1 + len(action["cancels" if wire == "cancel" else "orders"]) // 40
            req = Request("exchange", f"exchange.{wire}", weight, URL, 5.0)
            got = outcome(fast.admit_action, address, wire, action, req, 5.0)
            want = outcome(slow, full, address, wire, action, req)
            steps += 1
            assert got[1] == want[1], f"step {steps}"
            if got[0] is not None:
                held.append((got[0], want[0]))
        assert state(fast)[:3] == state(full)[:3]
        assert fields(heard_fast) == fields(heard_full)
    assert steps > 100
    assert 0 < deferred < steps  # both paths were taken: the one step, and the full rules near a limit


def test_the_async_one_step_admission_counts_the_allowance_once_when_the_weight_must_wait() -> None:
    clock = Clock()
    heard: list[Event] = []
    lim = limiter(clock, heard, budget=3, window=10.0)  # orders may use 2 (a cancel reserve)
    order = {"type": "order", "orders": [{"a": 4}], "grouping": "na"}

    def req() -> Request:
        return Request("exchange", "exchange.order", 1, URL, 5.0)

    async def main() -> None:
        await lim.aadmit_action(ADDRESS, "order", order, req(), 5.0)
        await lim.aadmit_action(ADDRESS, "order", order, req(), 5.0)
        with pytest.raises(HyperliquidError):  # the budget is spent (policy fail): refused, counted once
            await lim.aadmit_action(ADDRESS, "order", order, req(), 5.0)

    asyncio.run(main())
    assert lim.address(ADDRESS).used == 3
    assert lim.used == 2
