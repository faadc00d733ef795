"""Rate-limit figures, measured in one run against the fake exchange (which counts weight per window):

    .venv/bin/python -m bench.ratelimit [--idle-seconds 120] [--calls 100] [--json]

1. Idle weight per minute: a client created and left alone (warmers on), with the warmers as they were
   (refresh on their interval forever, no budget kept) and as they are now (stop once the client is idle);
   the weight the fake counted in each minute.
2. Weight of 100 orders sent concurrently by 100 tasks of one signer: batching off, and ``batch_window=0.002``.
3. Time to fail for ``--calls`` consecutive calls while the API is down (refusing connections / hanging,
   each call with a 1 s timeout): without the circuit breaker and with it (defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
from typing import Any

from hyperliquid_client import AsyncClient, Client, ClientConfig
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.testing import FakeExchange, Fault


def idle(seconds: float) -> dict[str, Any]:
    """Weight per minute the fake counted for an idle client, the old way and the new way."""
    out: dict[str, Any] = {}

    def run(name: str, config: ClientConfig) -> None:
        with FakeExchange(weight_window=60.0) as fx, Client("testnet", http_url=fx.http_url, config=config):
            time.sleep(seconds)
            windows = sorted(fx.weights.windows().items())
            out[name] = {"total": sum(w for _, w in windows), "per_window": [w for _, w in windows]}

    before = ClientConfig(rate=RateLimitConfig(enabled=False), warm_idle_after=None)
    threads = [
        threading.Thread(target=run, args=("before (poll forever)", before)),
        threading.Thread(target=run, args=("after (defaults)", ClientConfig())),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


async def _orders(batch_window: float | None) -> dict[str, Any]:
    wallet = Wallet.generate()
    async with FakeExchange(weight_window=3600.0) as fx:
        fx.fund(wallet.address, 10_000_000)
        config = ClientConfig(warm=False, rate=RateLimitConfig(batch_window=batch_window))
        async with AsyncClient("testnet", http_url=fx.http_url, wallet=wallet, config=config) as client:
            await client.markets.amarket("BTC")
            before = sum(fx.weights.windows().values())
            results = await asyncio.gather(
                *(client.exchange.order("BTC", is_buy=True, sz="0.01", limit_px=str(50000 + i)) for i in range(100))
            )
        weight = sum(fx.weights.windows().values()) - before
        return {
            "weight": weight,
            "requests": len(fx.requests_for("/exchange")),
            "ok": sum(1 for r in results if r.ok),
        }


def orders() -> dict[str, Any]:
    """IP weight of 100 concurrent orders, without and with batching."""
    return {"batching off": asyncio.run(_orders(None)), "batch_window=0.002": asyncio.run(_orders(0.002))}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fail_calls(url: str, calls: int, breaker: int) -> dict[str, Any]:
    config = ClientConfig(warm=False, rate=RateLimitConfig(breaker_failures=breaker))
    errors: dict[str, int] = {}
    with Client("testnet", http_url=url, config=config) as client:
        start = time.monotonic()
        for _ in range(calls):
            try:
                client.info.clearinghouse_state("0x" + "55" * 20, timeout=1.0)
            except Exception as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        return {"seconds": round(time.monotonic() - start, 2), "errors": errors}


def down(calls: int) -> dict[str, Any]:
    """Time for ``calls`` consecutive calls to fail while the API refuses connections or hangs."""
    out: dict[str, Any] = {}
    refused = f"http://127.0.0.1:{_closed_port()}"
    out["refused, no breaker"] = _fail_calls(refused, calls, 0)
    out["refused, breaker"] = _fail_calls(refused, calls, 5)
    with FakeExchange(weight_limit=None) as fx:
        fx.add_fault("/info", Fault.hang())
        out["hanging, no breaker"] = _fail_calls(fx.http_url, calls, 0)
        out["hanging, breaker"] = _fail_calls(fx.http_url, calls, 5)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.ratelimit")
    parser.add_argument("--idle-seconds", type=float, default=120.0)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = {"orders": orders(), "down": down(args.calls), "idle": idle(args.idle_seconds)}
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return 0
    sys.stdout.write("100 concurrent orders of one signer (IP weight the fake counted):\n")
    for name, r in report["orders"].items():
        sys.stdout.write(f"  {name:22} weight {r['weight']:4}  requests {r['requests']:4}  filled/resting {r['ok']}\n")
    sys.stdout.write(f"{args.calls} consecutive calls while the API is down (1 s timeout each):\n")
    for name, r in report["down"].items():
        sys.stdout.write(f"  {name:22} {r['seconds']:8.2f} s   {r['errors']}\n")
    sys.stdout.write(f"idle client, warmers on, {args.idle_seconds:g} s (weight per 60 s window of the fake):\n")
    for name, r in report["idle"].items():
        sys.stdout.write(f"  {name:22} total {r['total']:5}  per window {r['per_window']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
