"""Runs inside the throwaway venv of the official SDK (hyperliquid-python-sdk + coincurve).

Usage: python peer_sdk.py KEY NONCE0 SECONDS REPEATS ACTION_JSON — prints one JSON line.
Self-contained on purpose (the peer venv does not have our package).
"""

import json
import sys
import time
from importlib.metadata import version

from eth_account import Account
from hyperliquid.utils.signing import sign_l1_action


def measure(step, seconds, repeats):
    n = 1
    while True:
        t0 = time.perf_counter()
        for i in range(n):
            step(i)
        dt = time.perf_counter() - t0
        if dt > 0.1:
            break
        n *= 2
    per_repeat = max(1, int(n * seconds / dt))
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(per_repeat):
            step(i)
        dt = time.perf_counter() - t0
        best = max(best, per_repeat / dt)
    return best


def main():
    key, nonce0, seconds, repeats, action_json = sys.argv[1:6]
    nonce0, seconds, repeats = int(nonce0), float(seconds), int(repeats)
    action = json.loads(action_json)
    wallet = Account.from_key(key)
    # SDK 0.24 signature: sign_l1_action(wallet, action, active_pool, nonce, expires_after, is_mainnet)
    sig = sign_l1_action(wallet, action, None, nonce0, None, True)
    ops = measure(lambda i: sign_l1_action(wallet, action, None, nonce0 + i, None, True), seconds, repeats)
    backend = type(wallet._key_obj.backend).__name__
    detail = (
        f"hyperliquid-python-sdk {version('hyperliquid-python-sdk')}, eth-account {version('eth-account')}, "
        f"eth-keys backend {backend}"
    )
    print(json.dumps({"ops_per_s": ops, "signature": sig, "detail": detail}))


main()
