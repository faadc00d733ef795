"""Runs inside the throwaway venv of the official SDK (``hyperliquid-python-sdk``).

Usage: python peer_sdk.py FRAMES_FILE SUBSCRIBERS REPEATS — prints one JSON line.
Self-contained on purpose (the peer venv does not have our package).  The same frames go through
``WebsocketManager.on_message`` (json.loads -> identifier -> every callback) without a socket, and through plain
``json.loads`` in this process for reference.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version


def main() -> None:
    path, subscribers, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, encoding="utf-8") as fh:
        frames = [line.rstrip("\n") for line in fh if line.strip()]

    from hyperliquid.websocket_manager import ActiveSubscription, WebsocketManager

    manager = WebsocketManager("http://127.0.0.1:9")  # never started: no socket, no threads running
    received: list[object] = []
    deliver = received.append
    for i in range(subscribers):
        manager.active_subscriptions["l2Book:btc"].append(ActiveSubscription(deliver, i))
    on_message = manager.on_message

    best_sdk = best_json = float("inf")
    for _ in range(repeats):
        received.clear()
        t0 = time.perf_counter()
        for raw in frames:
            on_message(None, raw)
        best_sdk = min(best_sdk, time.perf_counter() - t0)
        assert len(received) == len(frames) * subscribers
        loads = json.loads
        t0 = time.perf_counter()
        for raw in frames:
            loads(raw)
        best_json = min(best_json, time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "sdk_msgs_per_s": len(frames) / best_sdk,
                "json_loads_msgs_per_s": len(frames) / best_json,
                "version": version("hyperliquid-python-sdk"),
            }
        )
    )


if __name__ == "__main__":
    main()
