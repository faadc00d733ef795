"""In-process timing of our backends and of the raw libsecp256k1 call.

``python -m bench.signing.ours --what native|eth-account|floor [--no-pysha3]`` prints one JSON
line; ``--no-pysha3`` hides ``safe-pysha3`` so Keccak falls back to pycryptodome.
"""

from __future__ import annotations

import argparse
import json
import sys


def run(what: str, seconds: float, repeats: int) -> dict[str, object]:
    from bench.signing.common import ACTION, KEY, NONCE0, measure

    if what == "floor":
        import coincurve

        key = coincurve.PrivateKey(bytes.fromhex(KEY[2:]))
        digest = bytes.fromhex("e0aabfac88a47d3e7028b6ba6a94b30c8afcfffac26cbce788cf362b1312eafa")
        ops = measure(lambda i: key.sign_recoverable(digest, hasher=None), seconds, repeats)
        return {
            "ops_per_s": ops,
            "signature": None,
            "detail": f"coincurve {coincurve.__version__ if hasattr(coincurve, '__version__') else ''}".strip(),
        }

    if what in ("order", "order-e2e"):
        return _order(what, seconds, repeats)

    from hyperliquid_client.runtime.signing import Wallet, select_backend, sign_l1_action
    from hyperliquid_client.runtime.signing._keccak import KECCAK_IMPLEMENTATION

    backend = select_backend(what)
    wallet = Wallet.from_key(KEY)
    sig = sign_l1_action(wallet, ACTION, NONCE0, is_mainnet=True, backend=backend)
    ops = measure(
        lambda i: sign_l1_action(wallet, ACTION, NONCE0 + i, is_mainnet=True, backend=backend), seconds, repeats
    )
    return {"ops_per_s": ops, "signature": sig.to_wire(), "detail": f"keccak={KECCAK_IMPLEMENTATION}"}


def _order(what: str, seconds: float, repeats: int) -> dict[str, object]:
    """``client.exchange.order`` of one BTC order: build (metadata, tick/lot rules), sign, verify and
    classify with the transport stubbed (``order``), or end to end against the local fake exchange
    running in this process (``order-e2e``: HTTP, the fake's signature recovery and matching)."""
    from bench.signing.common import KEY, measure
    from hyperliquid_client import Client, ClientConfig, RateLimitConfig
    from hyperliquid_client.runtime.signing import Wallet
    from hyperliquid_client.testing import FakeExchange

    wallet = Wallet.from_key(KEY)
    no_limits = ClientConfig(rate=RateLimitConfig(enabled=False))  # the budget would pace the loop, not the CPU
    with FakeExchange(weight_limit=None) as fx:
        fx.fund(wallet.address, 10_000_000)
        fx.state.user(wallet.address).rate_limit["nRequestsSurplus"] = 10**9  # no address allowance either
        with Client("testnet", http_url=fx.http_url, wallet=wallet, config=no_limits) as client:
            client.exchange.order("BTC", True, "0.001", 90000)  # metadata loaded, connection open
            if what == "order":
                answer = {
                    "status": "ok",
                    "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 1}}]}},
                }
                client.exchange.sender.transport.request_json = lambda *a, **k: answer  # type: ignore[method-assign]
            ops = measure(lambda i: client.exchange.order("BTC", True, "0.001", 90000 - i % 50), seconds, repeats)
    return {"ops_per_s": ops, "signature": None, "detail": "transport stubbed" if what == "order" else "vs the fake"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--what", required=True, choices=["native", "eth-account", "floor", "order", "order-e2e"])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pysha3", action="store_true")
    args = parser.parse_args()
    if args.no_pysha3:
        sys.modules["sha3"] = None  # type: ignore[assignment]
    print(json.dumps(run(args.what, args.seconds, args.repeats)))


if __name__ == "__main__":
    main()
