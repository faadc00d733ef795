"""Runs inside the throwaway venv of the official SDK: time ``Info(base_url, skip_ws=True)``.

Usage: python peer_sdk.py BASE_URL — prints one JSON line ``{"seconds": ..., "error": ...}``.
The SDK fetches ``spotMeta`` (and ``meta``) inside ``Info.__init__``; with the default ``timeout=None``
a hanging API blocks construction forever (the parent process kills us after its cap).
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    base_url = sys.argv[1]
    from hyperliquid.info import Info

    t0 = time.perf_counter()
    error = None
    try:
        info = Info(base_url, skip_ws=True)
        assert info.coin_to_asset
    except Exception as exc:  # the SDK raises on a refused connection
        error = f"{type(exc).__name__}"
    print(json.dumps({"seconds": time.perf_counter() - t0, "error": error}))


if __name__ == "__main__":
    main()
