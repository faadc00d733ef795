"""Several bot processes behind one IP, with and without Redis, against the fake exchange's weight limit.

The fake counts weight per IP per fixed window and answers 429 past its limit (as the real API does
over 60 s; here 40 per second so each run takes seconds).  The worker processes are
``tests/ratelimit_worker.py``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from redisserver import RedisServer, redis_server, redis_url  # noqa: F401 - fixtures
from test_exchange_nonce_window import overtaken_by

from hyperliquid_client.runtime.ratelimit import RateLimitConfig, RateLimiter, Request
from hyperliquid_client.runtime.ratelimit.store import RedisStore
from hyperliquid_client.runtime.signing import NONCE_WINDOW, Wallet
from hyperliquid_client.testing import FakeExchange, Fault

WORKER = Path(__file__).with_name("ratelimit_worker.py")
BUDGET, WINDOW = 40, 1.0
PROCESSES = 4
SECONDS = 4.0
USER = "0x" + "44" * 20


def spawn(spec: dict[str, Any]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def results(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[dict[str, Any]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        assert p.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def load_spec(fx: FakeExchange, *, share: float, redis: str | None, start_at: float, **extra: Any) -> dict[str, Any]:
    rate_config = {"budget": BUDGET, "window": WINDOW, "share": share, "ip_key": "test-ip", "redis_retry": 0.5}
    if redis is not None:
        rate_config["redis_url"] = redis
    return {
        "mode": "load",
        "http_url": fx.http_url,
        "user": USER,
        "rate": 3 * BUDGET / 2 / PROCESSES,  # weight 2 each: the four together offer 3x the budget
        "seconds": SECONDS,
        "start_at": start_at,
        "rate_config": {**rate_config, **extra},
    }


def check_within_limit(fx: FakeExchange, outcomes: list[dict[str, Any]]) -> None:
    assert fx.weights.rejected == []
    assert sum(o["responses_429"] + o["raised_429"] for o in outcomes) == 0
    assert max(fx.weights.windows().values()) <= BUDGET
    assert sum(o["other"] for o in outcomes) == 0
    served = sum(o["ok"] for o in outcomes) * 2
    assert served >= BUDGET  # the budget was used, the excess refused locally
    assert sum(o["local"] for o in outcomes) > 0


def test_four_processes_sharing_redis_at_three_times_the_allowed_load_get_no_429(redis_url: str) -> None:  # noqa: F811
    with FakeExchange(weight_limit=BUDGET, weight_window=WINDOW) as fx:
        start = time.time() + 4
        procs = [spawn(load_spec(fx, share=0.25, redis=redis_url, start_at=start)) for _ in range(PROCESSES)]
        outcomes = results(procs)
        check_within_limit(fx, outcomes)
        # sharing Redis, together they use the whole budget, not four quarters of it
        assert sum(o["ok"] for o in outcomes) * 2 > BUDGET * SECONDS * 0.6


def test_four_processes_with_a_quarter_each_and_no_redis_get_no_429() -> None:
    with FakeExchange(weight_limit=BUDGET, weight_window=WINDOW) as fx:
        start = time.time() + 4
        procs = [spawn(load_spec(fx, share=0.25, redis=None, start_at=start)) for _ in range(PROCESSES)]
        outcomes = results(procs)
        check_within_limit(fx, outcomes)
        # each keeps to its quarter: 10 weight per window, i.e. at most 5 calls a window per process
        windows = SECONDS / WINDOW + 2
        assert all(o["ok"] <= 5 * windows for o in outcomes)


def test_processes_claiming_more_than_their_share_get_429s_the_fake_accounts_for_exactly() -> None:
    # misconfigured: four processes each told they have half the budget
    with FakeExchange(weight_limit=BUDGET, weight_window=WINDOW) as fx:
        start = time.time() + 4
        procs = [spawn(load_spec(fx, share=0.5, redis=None, start_at=start)) for _ in range(PROCESSES)]
        outcomes = results(procs)
        seen = sum(o["responses_429"] for o in outcomes)
        assert seen > 0
        # every 429 a process saw is one the fake gave because that window was full, and no other
        assert seen == len(fx.weights.rejected)
        assert all(r.used + r.weight > BUDGET for r in fx.weights.rejected)
        assert max(fx.weights.windows().values()) <= BUDGET


def test_redis_stopped_and_restarted_mid_run_never_exceeds_the_budget(redis_server: RedisServer) -> None:  # noqa: F811
    redis_server.start()
    redis_server.flush()
    with FakeExchange(weight_limit=BUDGET, weight_window=WINDOW) as fx:
        start = time.time() + 4
        specs = [load_spec(fx, share=0.25, redis=redis_server.url, start_at=start) for _ in range(PROCESSES)]
        for spec in specs:
            spec["seconds"] = 7.0
        procs = [spawn(spec) for spec in specs]
        while time.time() < start + 2:
            time.sleep(0.05)
        redis_server.stop()
        time.sleep(1.5)
        redis_server.start()
        outcomes = results(procs)
        check_within_limit(fx, outcomes)
        for o in outcomes:
            # one event when Redis went away, one when it came back (and the reset it found)
            assert o["redis"][0] == "down" and o["redis"].count("down") == 1, o["redis"]
            assert "up" in o["redis"] or "reset" in o["redis"], o["redis"]


def test_a_process_killed_mid_flight_loses_no_budget(redis_url: str) -> None:  # noqa: F811
    timeout = 1.0
    with FakeExchange(weight_limit=None) as fx:
        fx.add_fault("/info", Fault.hang(), match={"type": "clearinghouseState"})
        config = {"budget": BUDGET, "window": WINDOW, "ip_key": "test-ip", "redis_url": redis_url}
        proc = spawn(
            {
                "mode": "hold",
                "http_url": fx.http_url,
                "user": USER,
                "count": 18,
                "timeout": timeout,
                "rate_config": config,
            }
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        store = RedisStore(redis_url, prefix="hl", timeout=1.0, retry=1.0)
        limiter = RateLimiter(RateLimitConfig(**config, policy="fail"), api_url=fx.http_url)
        try:
            scope = limiter.scope
            assert store.used(scope)[0] == 36  # what it spent still counts: the server may count it late
            request = Request("info", "clearinghouseState", 2, fx.http_url + "/info", timeout)
            with pytest.raises(Exception, match="budget"):
                limiter.admit(request, timeout)
            deadline = time.monotonic() + 30
            while store.used(scope)[0] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert store.used(scope)[0] == 0  # and nothing is lost: it all comes back after the holds
            fx.clear_faults()
            for _ in range(18):
                limiter.settle(limiter.admit(request, timeout), status=200, value={})
        finally:
            limiter.close()
            store.close()


def run_with_a_slow_process(url: str, folder: Path, *, count: int, shared_window: bool) -> dict[str, Any]:
    """Four processes of one wallet through one Redis; the first stops between taking its 20th nonce and
    sending it, and goes on once the others have sent as many later nonces as they can (``NONCE_WINDOW - 1``
    with the shared window) or 110 (more than the exchange keeps: without it)."""
    key = "0x" + secrets.token_hex(32)
    wallet = Wallet.from_key(key)
    with FakeExchange(weight_limit=None) as fx:
        fx.fund(wallet.address, 1000)
        config = {"budget": 100_000, "redis_url": url, "ip_key": "test-ip"}
        start = time.time() + 4
        spec = {
            "mode": "nonces",
            "http_url": fx.http_url,
            "key": key,
            "count": count,
            "start_at": start,
            "timeout": 120,  # a loaded machine tests the window, not its own latency
            "shared_window": shared_window,
            "rate_config": config,
        }
        slow = {**spec, "pause_at": 20, "pause_dir": str(folder)}
        procs = [spawn(slow)] + [spawn(spec) for _ in range(PROCESSES - 1)]
        deadline = time.monotonic() + 120
        while not (folder / "paused").exists():
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "the slow process never paused"
            time.sleep(0.01)
        held = int((folder / "paused").read_text())

        def overtakers() -> int:
            return sum(1 for r in fx.requests_for("/exchange") if r.body["nonce"] > held)

        # with the window the others can send NONCE_WINDOW - 1 later nonces, then they wait for the slow one
        target = NONCE_WINDOW - 1 if shared_window else 110
        while overtakers() < target:
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs[1:]), overtakers()
            time.sleep(0.01)
        if shared_window:
            time.sleep(1.0)  # any later nonce the window let through would reach the fake meanwhile
        seen_while_paused = overtakers()
        (folder / "go").touch()
        outcomes = results(procs, timeout=300)
        arrived = [r.body["nonce"] for r in fx.requests_for("/exchange")]
    return {"outcomes": outcomes, "held": held, "while_paused": seen_while_paused, "arrived": arrived}


def test_nonces_are_unique_and_in_the_window_across_four_processes_with_a_slow_one(
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    count = 1000
    run = run_with_a_slow_process(redis_url, tmp_path, count=count, shared_window=True)
    outcomes = run["outcomes"]
    assert [o["errors"] for o in outcomes] == [[]] * PROCESSES  # the exchange accepted every one
    nonces = [n for o in outcomes for n in o["nonces"]]
    assert len(nonces) == len(set(nonces)) == PROCESSES * count
    assert all(o["nonces"] == sorted(o["nonces"]) for o in outcomes)  # increasing in each process
    assert run["held"] in outcomes[0]["nonces"]  # the slow process's nonce went through, late
    # the invariant: while it was held, the others sent exactly the window's worth of later nonces, no more
    assert run["while_paused"] == NONCE_WINDOW - 1
    assert overtaken_by(run["arrived"]) < NONCE_WINDOW


def test_without_the_shared_window_the_slow_process_is_refused_nonce_too_low(
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # the same scenario with Redis nonces but each process keeping only its own window (the defect)
    run = run_with_a_slow_process(redis_url, tmp_path, count=200, shared_window=False)
    outcomes = run["outcomes"]
    slow_errors = outcomes[0]["errors"]
    assert len(slow_errors) == 1 and "nonce too low" in slow_errors[0], slow_errors
    assert run["held"] not in outcomes[0]["nonces"]
    assert [o["errors"] for o in outcomes[1:]] == [[]] * (PROCESSES - 1)
    assert overtaken_by(run["arrived"]) >= 100
