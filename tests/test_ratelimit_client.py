"""Rate limits kept by one client, against the fake exchange (which enforces the IP weight limit)."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from hyperliquid_client import AsyncClient, Client, ClientConfig, RateLimitedError
from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.errors import (
    AddressLimitError,
    CircuitOpenError,
    IndeterminateError,
    SubscriptionLimitError,
)
from hyperliquid_client.runtime.errors import TimeoutError as RequestTimeoutError
from hyperliquid_client.runtime.events import Event
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.runtime.results import Resting
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig
from hyperliquid_client.testing import FakeExchange, Fault


def config(**rate: Any) -> ClientConfig:
    retry = rate.pop("retry", None)
    transport = TransportConfig(retry=retry) if retry is not None else TransportConfig()
    return ClientConfig(warm=False, rate=RateLimitConfig(**rate), transport=transport)


@pytest.fixture
def wallet() -> Wallet:
    return Wallet.generate()


def client_for(fx: FakeExchange, wallet: Wallet, **rate: Any) -> Client:
    fx.fund(wallet.address, 100_000)
    return Client("testnet", http_url=fx.http_url, ws_url=fx.ws_url, wallet=wallet, config=config(**rate))


def events_of(client: Client | AsyncClient, pattern: str = "rate.*") -> list[Event]:
    seen: list[Event] = []
    client.events.subscribe(pattern, seen.append)
    return seen


# ---------------------------------------------------------------------------------------------- the fake
def test_the_fake_counts_weight_per_window_and_answers_429_past_its_limit() -> None:
    with FakeExchange(weight_limit=10, weight_window=3600) as fx:
        user = "0x" + "11" * 20
        with httpx.Client(base_url=fx.http_url) as http:
            codes = [
                http.post("/info", json={"type": "clearinghouseState", "user": user}).status_code for _ in range(6)
            ]
            assert codes == [200] * 5 + [429]
            refused = http.post("/info", json={"type": "clearinghouseState", "user": user})
            assert refused.status_code == 429 and refused.content == b"null"  # as the real API
        assert sum(fx.weights.windows().values()) == 10  # refused requests are not counted
        assert [(r.used, r.weight, r.route) for r in fx.weights.rejected] == [(10, 2, "/info")] * 2


def test_the_fake_charges_per_item_surcharges_after_the_answer() -> None:
    with FakeExchange(weight_window=3600) as fx:
        user = "0x" + "22" * 20
        fx.set_info("userFills", [{"coin": "BTC"}] * 41)
        httpx.post(fx.http_url + "/info", json={"type": "userFills", "user": user})
        assert sum(fx.weights.windows().values()) == 20 + 3  # ceil(41 / 20)


async def test_the_fake_refuses_a_websocket_post_past_its_limit() -> None:
    import json

    import websockets

    async with FakeExchange(weight_limit=2, weight_window=3600) as fx:
        async with websockets.connect(fx.ws_url) as ws:
            replies = []
            for i in range(2):
                payload = {"type": "clearinghouseState", "user": "0x" + "33" * 20}
                await ws.send(json.dumps({"method": "post", "id": i, "request": {"type": "info", "payload": payload}}))
                replies.append(json.loads(await ws.recv())["data"]["response"])
        assert replies[0]["type"] == "info"
        assert replies[1]["type"] == "error" and replies[1]["payload"].startswith("429")


# ---------------------------------------------------------------------------------------------- the budget
def test_three_times_the_allowed_load_through_one_client_gets_no_429(wallet: Wallet) -> None:
    budget, window, seconds = 40, 1.0, 3.0
    with FakeExchange(weight_limit=budget, weight_window=window) as fx:
        client = client_for(fx, wallet, budget=budget, window=window)
        outcomes: list[str] = []
        lock = threading.Lock()

        def call() -> None:
            try:
                client.info.clearinghouse_state(wallet.address, timeout=window)
                result = "ok"
            except RateLimitedError as exc:
                result = "local" if exc.local else "429"
            with lock:
                outcomes.append(result)

        per_second = 3 * budget / 2  # weight 2 each: three times what the budget allows
        with client, ThreadPoolExecutor(max_workers=64) as pool:
            start = time.monotonic()
            for i in range(int(per_second * seconds)):
                delay = start + i / per_second - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(call)
        assert fx.weights.rejected == []
        assert "429" not in outcomes
        assert max(fx.weights.windows().values()) <= budget
        served = outcomes.count("ok")
        assert outcomes.count("local") > 0  # the excess was refused locally, before sending
        assert served * 2 <= budget * (seconds / window + 2)  # never more than the budget allows
        assert served * 2 >= budget  # and the budget was used


def test_policy_fail_refuses_at_once_saying_when_budget_returns(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, budget=10, window=30, policy="fail") as client:
        seen = events_of(client)
        for _ in range(4):
            client.info.clearinghouse_state(wallet.address)  # 8 of the 9 info calls may use
        with pytest.raises(RateLimitedError) as info:
            client.info.clearinghouse_state(wallet.address)
        err = info.value
        assert err.local and not err.request_sent and 0 < (err.retry_after or 0) <= 30
        assert "budget returns in" in str(err) and "policy 'fail'" in str(err)
        assert len(fx.requests_for("/info", type="clearinghouseState")) == 4
        assert [e.name for e in seen].count("rate.limited") == 1
        assert client.rate.remaining == 2 and client.rate.limit == 10


def test_a_call_waits_for_budget_only_within_its_own_timeout(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, budget=10, window=60) as client:
        for _ in range(4):
            client.info.clearinghouse_state(wallet.address)
        with pytest.raises(RateLimitedError, match=r"this call's timeout of 0\.5s leaves") as info:
            client.info.clearinghouse_state(wallet.address, timeout=0.5)
        assert info.value.local and info.value.retry_after is not None and info.value.retry_after > 0.5
        # the message is consistent with itself: the wait it names is more than the time it says is left
        found = re.search(r"returns in ([\d.]+)s, more than the ([\d.]+)s", str(info.value))
        assert found is not None and float(found[1]) > float(found[2]), str(info.value)
        assert len(fx.requests_for("/info", type="clearinghouseState")) == 4


def test_clients_share_a_ledger_only_with_the_same_window_and_each_applies_its_own_budget(wallet: Wallet) -> None:
    with FakeExchange(weight_limit=None) as fx, client_for(fx, wallet, window=60) as first:
        for _ in range(10):
            first.info.clearinghouse_state(wallet.address)
        assert first.rate.used == 20
        with client_for(fx, wallet, budget=10, window=2, policy="fail") as short:
            assert short.rate.used == 0  # the 60 s entries are not kept by a 2 s window
            short.info.clearinghouse_state(wallet.address)
            assert short.rate.used == 2 and first.rate.used == 20
        with client_for(fx, wallet, budget=10, window=60, policy="fail") as small:
            assert small.rate.used == 20  # the same window: one ledger, this client's own budget
            with pytest.raises(RateLimitedError, match="budget returns in"):
                small.info.clearinghouse_state(wallet.address)


def test_a_call_that_can_wait_waits_and_goes(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, budget=10, window=0.5) as client:
        seen = events_of(client)
        for _ in range(5):
            client.info.clearinghouse_state(wallet.address, timeout=5)
        assert [e["reason"] for e in seen if e.name == "rate.wait"] == ["budget"]
        assert fx.weights.rejected == []


def test_market_data_never_starves_orders_and_cancels_go_first(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, budget=60, window=60, policy="fail") as client:
        client.markets.market("BTC")  # metadata: 20
        for _ in range(17):
            client.info.clearinghouse_state(wallet.address)  # info may use 54: 20 + 17 * 2
        with pytest.raises(RateLimitedError):
            client.info.clearinghouse_state(wallet.address)
        placed = client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")  # 55 (orders: 57)
        for _ in range(2):
            client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")
        with pytest.raises(RateLimitedError):
            client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")
        assert isinstance(placed.statuses[0], Resting)
        cancelled = client.exchange.cancel("BTC", placed.statuses[0].oid)  # cancels may use all 60
        assert cancelled.ok


def test_a_weight_that_can_never_fit_is_refused_at_once(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, budget=30, window=60) as client:
        with pytest.raises(RateLimitedError, match="can never fit"):
            client.info.user_role(wallet.address)  # weight 60
        assert fx.requests_for("/info", type="userRole") == []


def test_per_item_surcharges_are_charged_after_the_answer(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet) as client:
        fx.set_info("userFills", [])
        assert client.info.user_fills(wallet.address) == ()
        assert client.rate.used == 20
        fx.set_info("userFills", [{"x": i} for i in range(41)])
        client.caller.raw(client.registry.get("userFills", "info"), {"type": "userFills", "user": wallet.address})
        assert client.rate.used == 20 + 20 + 3  # ceil(41 / 20), like the fake
        assert sum(fx.weights.windows().values()) == client.rate.used


def test_a_429_pauses_every_call_and_retries_are_spread_not_multiplied(wallet: Wallet) -> None:
    callers = 10
    retry = RetryPolicy(max_attempts=50, max_elapsed=30)
    with FakeExchange() as fx, client_for(fx, wallet, backoff_base=0.05, backoff_max=0.2, retry=retry) as client:
        seen = events_of(client)
        fx.add_fault("/info", Fault.rate_limited(), match={"type": "clearinghouseState"})  # a storm, no Retry-After
        results: list[Any] = []

        def call() -> None:
            try:
                results.append(client.info.clearinghouse_state(wallet.address, timeout=20))
            except Exception as exc:
                results.append(exc)

        first = threading.Thread(target=call)
        first.start()
        while not any(e.name == "rate.backoff" for e in seen):
            time.sleep(0.01)
        threads = [threading.Thread(target=call) for _ in range(callers)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # the storm: every request answered 429
        fx.clear_faults()
        for t in [first, *threads]:
            t.join(30)
        rejected = len(fx.requests_for("/info", type="clearinghouseState")) - (callers + 1)
        assert all(not isinstance(r, Exception) for r in results) and len(results) == callers + 1
        # one probe per backoff period, not every caller: without the shared backoff the 11 callers
        # would each retry on their own (11 requests per period, 4 attempts each)
        paused = [e for e in seen if e.name == "rate.backoff" and e["state"] == "paused"]
        assert rejected == len(paused) and 3 <= rejected <= 15
        assert [e["state"] for e in seen if e.name == "rate.backoff"][-1] == "resumed"


def test_retry_after_of_one_call_holds_back_the_next(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, retry=RetryPolicy(max_attempts=1)) as client:
        fx.add_fault("/info", Fault.rate_limited(retry_after=30), count=1, match={"type": "clearinghouseState"})
        with pytest.raises(RateLimitedError) as first:
            client.info.clearinghouse_state(wallet.address)
        assert not first.value.local and first.value.retry_after == 30
        with pytest.raises(RateLimitedError, match="429 backoff") as second:
            client.info.clearinghouse_state(wallet.address, timeout=1)
        assert second.value.local
        assert len(fx.requests_for("/info", type="clearinghouseState")) == 1
        assert client.rate.paused_for > 20


# ---------------------------------------------------------------------------------------------- address allowance
def test_address_allowance_events_and_local_refusal_of_orders_but_not_cancels(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet) as client:
        seen = events_of(client, "rate.address")
        limits = fx.state.user(wallet.address).rate_limit
        limits.update(nRequestsUsed=7, nRequestsCap=10)
        client.info.user_rate_limit(wallet.address)  # the client learns 7 of 10
        assert client.rate.address(wallet.address).cap == 10
        resting = []
        for _ in range(3):
            result = client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")
            resting.append(result.statuses[0])
        assert [e["level"] for e in seen] == ["80%", "exhausted"]  # 8/10, then 10/10 (95 % crossed on the way)
        # exhausted: one request per 10 s still goes (as on the exchange), then orders are refused locally
        client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")
        sent = len(fx.requests_for("/exchange"))
        with pytest.raises(AddressLimitError) as info:
            client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")
        err = info.value
        assert isinstance(err, RateLimitedError) and err.local and err.address == wallet.address
        assert "trade volume" in str(err) and "wait" in str(err) and "Cancels still go" in str(err)
        assert len(fx.requests_for("/exchange")) == sent  # nothing was sent
        assert isinstance(resting[0], Resting)
        assert client.exchange.cancel("BTC", resting[0].oid).ok  # cancels still go


def test_the_exchanges_refusal_teaches_the_allowance(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet) as client:
        fx.state.user(wallet.address).rate_limit.update(nRequestsUsed=10, nRequestsCap=10)
        client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")  # the exchange lets one through
        with pytest.raises(Exception, match="Too many cumulative requests"):
            client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")
        assert client.rate.address(wallet.address).exhausted
        sent = len(fx.requests_for("/exchange"))
        with pytest.raises(AddressLimitError):
            client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="80000")
        assert len(fx.requests_for("/exchange")) == sent


# ---------------------------------------------------------------------------------------------- circuit breaker
def test_the_circuit_breaker_fails_fast_while_the_api_is_down_and_probes_after(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, breaker_failures=3, breaker_cool_down=0.3) as client:
        seen = events_of(client, "rate.circuit")
        fx.add_fault("/info", Fault.hang(), match={"type": "clearinghouseState"})
        errors: list[type[BaseException]] = []
        for _ in range(10):
            try:
                client.info.clearinghouse_state(wallet.address, timeout=0.2)
            except Exception as exc:
                errors.append(type(exc))
        assert errors == [RequestTimeoutError] * 3 + [CircuitOpenError] * 7
        assert len(fx.requests_for("/info", type="clearinghouseState")) == 3  # the other 7 were never sent
        assert client.rate.circuit(fx.http_url) == "open"
        fx.clear_faults()
        time.sleep(0.35)
        client.info.clearinghouse_state(wallet.address)  # the probe
        assert client.rate.circuit(fx.http_url) == "closed"
        assert [e["state"] for e in seen] == ["open", "half_open", "closed"]


def test_the_warmers_failures_do_not_open_the_circuit_before_the_users_first_call() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    cfg = ClientConfig(
        rate=RateLimitConfig(breaker_failures=2), transport=TransportConfig(retry=RetryPolicy(max_attempts=1))
    )
    with Client(http_url=url, config=cfg) as client:
        deadline = time.monotonic() + 30
        while not client.warm_status.settled and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.warm_status.state == "failed"  # every warmer failed, more than breaker_failures times
        assert client.rate.circuit(url) == "closed"
        for _ in range(2):  # the user's own call is tried, and fails with its own error
            with pytest.raises(errors.TransportError) as info:
                client.info.all_mids()
            assert not isinstance(info.value, CircuitOpenError) and info.value.endpoint == "info.allMids"
        with pytest.raises(CircuitOpenError, match="allMids"):  # the user's failures do count
            client.info.all_mids()


def test_the_circuit_opens_on_5xx_and_a_failed_probe_doubles_the_cool_down(wallet: Wallet) -> None:
    with (
        FakeExchange() as fx,
        client_for(fx, wallet, breaker_failures=2, breaker_cool_down=0.2, retry=RetryPolicy(max_attempts=1)) as client,
    ):
        seen = events_of(client, "rate.circuit")
        fx.add_fault("/info", Fault.status(503), match={"type": "clearinghouseState"})
        for _ in range(2):
            with pytest.raises(Exception, match="503"):
                client.info.clearinghouse_state(wallet.address)
        with pytest.raises(CircuitOpenError) as info:
            client.info.clearinghouse_state(wallet.address)
        assert info.value.host == fx.http_url.split("//")[1] and not info.value.request_sent
        time.sleep(0.25)
        with pytest.raises(Exception, match="503"):
            client.info.clearinghouse_state(wallet.address)  # the probe fails
        assert [(e["state"], e["retry_after"]) for e in seen][-1] == ("open", 0.4)


# ---------------------------------------------------------------------------------------------- batching
async def test_concurrent_orders_are_batched_and_each_caller_gets_its_own_status(wallet: Wallet) -> None:
    n = 100
    async with FakeExchange() as fx:
        fx.fund(wallet.address, 1_000_000)
        cfg = config(batch_window=0.02)
        async with AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, wallet=wallet, config=cfg) as client:
            seen = events_of(client, "rate.batch")
            await client.markets.amarket("BTC")
            cloids = [f"0x{i:032x}" for i in range(1, n + 1)]
            results = await asyncio.gather(
                *(
                    client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px=str(60000 + i), cloid=c)
                    for i, c in enumerate(cloids)
                )
            )
        posts = fx.requests_for("/exchange")
        assert [len(r.statuses) for r in results] == [1] * n
        assert [r.statuses[0].cloid for r in results] == cloids  # each caller its own order's status
        assert all(isinstance(r.statuses[0], Resting) for r in results)
        sent_weight = sum(1 + len(p.body["action"]["orders"]) // 40 for p in posts)
        assert len(posts) < n // 10
        assert sum(e["saved"] for e in seen) == n - sent_weight
        assert sum(fx.weights.windows().values()) == 20 + sent_weight  # metadata + the batches


def test_threads_placing_orders_at_once_are_batched(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, batch_window=0.05) as client:
        client.markets.market("BTC")
        barrier = threading.Barrier(8)

        def place(i: int) -> Any:
            barrier.wait()
            return client.exchange.order("BTC", is_buy=False, sz="0.01", limit_px=str(200000 + i))

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(place, range(8)))
        oids = {r.statuses[0].oid for r in results}
        assert len(oids) == 8 and len(fx.requests_for("/exchange")) < 8


async def test_a_batch_lost_after_sending_is_indeterminate_for_each_caller_with_its_cloid(wallet: Wallet) -> None:
    async with FakeExchange() as fx:
        fx.fund(wallet.address, 100_000)
        cfg = config(batch_window=0.02)
        async with AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, wallet=wallet, config=cfg) as client:
            await client.markets.amarket("BTC")
            fx.add_fault("/exchange", Fault.hang())
            cloids = [f"0x{i:032x}" for i in range(1, 6)]
            outcomes = await asyncio.gather(
                *(
                    client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px="60000", cloid=c, timeout=0.3)
                    for c in cloids
                ),
                return_exceptions=True,
            )
        assert all(isinstance(o, IndeterminateError) for o in outcomes)
        errors = [o for o in outcomes if isinstance(o, IndeterminateError)]
        assert [e.cloids for e in errors] == [(c,) for c in cloids]
        assert len({e.nonce for e in errors}) == 1


# ---------------------------------------------------------------------------------------------- warmers
def test_warmers_stop_when_the_client_is_idle_and_mids_come_from_a_live_subscription(wallet: Wallet) -> None:
    with FakeExchange(market_snapshots=True) as fx:
        fx.fund(wallet.address, 1000)
        cfg = ClientConfig(warm=False, warm_idle_after=0.3)
        with Client("testnet", http_url=fx.http_url, ws_url=fx.ws_url, wallet=wallet, config=cfg) as client:
            in_use = [w.active for w in client.warmup.warmers]
            assert in_use and not any(a is None or a() for a in in_use)  # unused: the warm-up only, no refreshes
            client.info.clearinghouse_state(wallet.address)
            assert all(a is not None and a() for a in in_use)  # a call wakes them
            time.sleep(0.35)
            assert not any(a is not None and a() for a in in_use)  # idle again: refreshes are skipped
            mids = client.streams.all_mids()
            mids.get(timeout=10)
            fx.clear_requests()
            assert client.markets.mids()["BTC"] > 0
            assert fx.requests_for("/info", type="allMids") == []  # served by the subscription: no weight
            mids.close()


# ---------------------------------------------------------------------------------------------- WebSocket
def test_websocket_subscription_and_user_limits_are_refused_before_sending(wallet: Wallet) -> None:
    with FakeExchange() as fx, client_for(fx, wallet, ws_subscriptions=3, ws_users=2) as client:
        subs = [client.streams.trades(c) for c in ("BTC", "ETH", "SOL")]
        with pytest.raises(SubscriptionLimitError, match="at most 3 subscriptions"):
            client.streams.trades("DOGE")
        for s in subs:
            s.close()
        users = ["0x" + f"{i:02x}" * 20 for i in range(1, 4)]
        a, b = client.streams.user_fills(users[0]), client.streams.user_fills(users[1])
        with pytest.raises(SubscriptionLimitError, match="at most 2 distinct users"):
            client.streams.user_fills(users[2])
        a.close()
        b.close()


async def test_websocket_posts_share_the_budget_and_respect_the_in_flight_limit(wallet: Wallet) -> None:
    async with FakeExchange() as fx:
        fx.fund(wallet.address, 1000)
        cfg = config(ws_inflight_posts=1)
        async with AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, wallet=wallet, config=cfg) as client:
            await client.post("info", {"type": "clearinghouseState", "user": wallet.address})
            assert client.rate.used == 2
            fx.add_fault("/ws", Fault.hang(), match={"method": "post"})
            hung = asyncio.ensure_future(client.post("info", {"type": "l2Book", "coin": "BTC"}, timeout=5))
            await asyncio.sleep(0.2)
            with pytest.raises(RateLimitedError, match="1 posts already in flight"):
                await client.post("info", {"type": "l2Book", "coin": "ETH"}, timeout=0.3)
            hung.cancel()


async def test_websocket_messages_per_minute_refuse_a_post_that_cannot_leave_in_time(wallet: Wallet) -> None:
    async with FakeExchange() as fx:
        fx.fund(wallet.address, 1000)
        cfg = config(ws_messages_per_minute=2)
        async with AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, wallet=wallet, config=cfg) as client:
            seen = events_of(client, "rate.ws")
            for _ in range(2):
                await client.post("info", {"type": "clearinghouseState", "user": wallet.address})
            with pytest.raises(RateLimitedError, match="2 messages per minute"):
                await client.post("info", {"type": "clearinghouseState", "user": wallet.address}, timeout=1)
            assert seen and seen[-1]["limit"] == "messages_per_minute"


async def test_websocket_reconnects_wait_for_the_connections_per_minute_limit(wallet: Wallet) -> None:
    async with FakeExchange() as fx:
        cfg = config(ws_connections_per_minute=2)
        async with AsyncClient("testnet", http_url=fx.http_url, ws_url=fx.ws_url, config=cfg) as client:
            seen = events_of(client, "rate.ws")
            connects = events_of(client, "ws.connect")
            sub = await client.streams.trades("BTC")
            while len(connects) < 1:
                await asyncio.sleep(0.01)
            fx.drop_ws_connections()
            while len(connects) < 2:
                await asyncio.sleep(0.01)
            fx.drop_ws_connections()
            while not seen:
                await asyncio.sleep(0.01)
            assert seen[0]["limit"] == "connections_per_minute" and "waiting" in seen[0]["detail"]
            assert len(connects) == 2  # the third connection waits for the minute to pass
            await sub.close()


def test_rate_limits_can_be_turned_off(wallet: Wallet) -> None:
    # (a window of ~11 days: the fake counts per fixed window of the clock, and a 60 s one could end mid-test)
    with FakeExchange(weight_limit=4, weight_window=10**6) as fx, client_for(fx, wallet, enabled=False) as client:
        assert client.rate.mode == "off"
        client.info.clearinghouse_state(wallet.address)
        client.info.clearinghouse_state(wallet.address)
        with pytest.raises(RateLimitedError) as info:
            client.info.clearinghouse_state(wallet.address)  # nothing held it back: the server said 429
        assert not info.value.local


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_warmer_skips_refreshes_while_inactive_and_resumes_after(asynchronous: bool) -> None:
    from hyperliquid_client.runtime.cache import CacheConfig, TTLCache, Warmer, WarmupManager

    calls: list[float] = []
    active = threading.Event()
    active.set()

    def fetch() -> int:
        calls.append(time.monotonic())
        return len(calls)

    async def afetch() -> int:
        return fetch()

    warmer = Warmer("w", afetch if asynchronous else fetch, key="k", interval=0.02, active=active.is_set)
    manager = WarmupManager(TTLCache(CacheConfig()), [warmer])

    async def until(count: int) -> None:
        while len(calls) < count:
            await asyncio.sleep(0.01)

    if asynchronous:
        await manager.astart()
    else:
        manager.start()
    try:
        await until(3)
        active.clear()
        await asyncio.sleep(0.05)
        idle_from = len(calls)
        await asyncio.sleep(0.3)  # some fifteen intervals
        assert len(calls) <= idle_from + 1  # at most the refresh already running
        active.set()
        await until(idle_from + 3)
    finally:
        if asynchronous:
            await manager.astop()
        else:
            manager.stop()
