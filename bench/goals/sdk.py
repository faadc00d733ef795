"""The official SDK's side of the goal benchmarks, run in its throwaway venv (never with our package).

``/tmp/hl-bench-peers/py/bin/python -m bench.goals.sdk PROBE [ARGS_JSON]`` from the repository root prints one JSON
line.  Probes: ``ws`` (``WebsocketManager.on_message`` with N callbacks per stream, every scenario), ``order``
(``Exchange.order`` with the HTTP post stubbed), ``float_to_wire``, ``import``, ``memory``.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from typing import Any

from bench.goals.workload import (
    BATCH,
    coin_names,
    cpu_per_call,
    cpu_rate,
    frames,
    hundred_subscriptions,
    rss_kb,
    scenarios,
)

OK_ORDER = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 77}}]}}}


def probe_ws(args: dict[str, Any]) -> dict[str, Any]:
    from hyperliquid.websocket_manager import ActiveSubscription, WebsocketManager

    repeats = int(args.get("repeats", 3))
    only = args.get("only")
    out: dict[str, Any] = {}
    cache: dict[tuple[str, int, int], list[str]] = {}
    for name, channel, levels, subscribers, coins in scenarios():
        if only and name not in only:
            continue
        raw = cache.setdefault((channel, levels, coins), frames(channel, levels, coins))
        gc.collect()  # what the scenario before left behind is not this one's to walk (as in ours.py)
        manager = WebsocketManager("http://127.0.0.1:9")  # never started: no socket, no thread running
        received: list[Any] = []
        idents = ["allMids"] if channel == "allMids" else [f"{channel}:{c.lower()}" for c in coin_names(coins)]
        for ident in idents:
            for i in range(subscribers):
                manager.active_subscriptions[ident].append(ActiveSubscription(received.append, i))
        on_message = manager.on_message
        step = BATCH if channel == "allMids" else BATCH * coins  # what the callbacks got is dropped, as ours does
        total = [0]

        def run(
            raw: list[str] = raw,
            received: list[Any] = received,
            on_message: Any = on_message,
            step: int = step,
            total: list[int] = total,
        ) -> int:
            count = 0
            for start in range(0, len(raw), step):
                for frame in raw[start : start + step]:
                    on_message(None, frame)
                count += len(received)
                received.clear()
            total[0] = count
            return len(raw)

        out[f"{name}/{subscribers}/{coins}/raw"] = cpu_rate(run, repeats)
        assert total[0] == len(raw) * subscribers
    return out


def _exchange(args: dict[str, Any]) -> Any:
    from eth_account import Account
    from hyperliquid.exchange import Exchange

    with open(args["meta"]) as fh:
        meta = json.load(fh)
    with open(args["spot_meta"]) as fh:
        spot_meta = json.load(fh)
    meta = meta.get("response", meta)
    spot_meta = spot_meta.get("response", spot_meta)
    exchange = Exchange(Account.from_key(args["key"]), "http://127.0.0.1:9", meta=meta, spot_meta=spot_meta)
    exchange.post = lambda path, payload=None: OK_ORDER  # the HTTP request itself is the stub
    return exchange


def probe_order(args: dict[str, Any]) -> dict[str, Any]:
    from hyperliquid.utils.signing import float_to_wire

    exchange = _exchange(args)
    order = args["order"]
    assert exchange.order(order["coin"], True, order["sz"], order["px"], {"limit": {"tif": "Gtc"}}) == OK_ORDER
    seconds, repeats = float(args.get("seconds", 1.0)), int(args.get("repeats", 3))
    per_order = cpu_per_call(
        lambda i: exchange.order(order["coin"], True, order["sz"], order["px"], {"limit": {"tif": "Gtc"}}),
        seconds,
        repeats,
    )
    px, sz = order["px"], order["sz"]
    per_wire = cpu_per_call(lambda i: (float_to_wire(px), float_to_wire(sz)), seconds, repeats)
    return {"order": per_order, "float_to_wire_pair": per_wire}


def probe_import(args: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from hyperliquid.exchange import Exchange  # noqa: F401
    from hyperliquid.info import Info  # noqa: F401

    return {"seconds": time.perf_counter() - t0}


def probe_memory(args: dict[str, Any]) -> dict[str, Any]:
    from hyperliquid.info import Info

    info = Info(args["http_url"], skip_ws=False)
    n = 0
    for sub in hundred_subscriptions(args["coins"]):
        info.subscribe(sub, lambda msg: None)  # type: ignore[arg-type]
        n += 1
    print("subscribed", flush=True)
    sys.stdin.readline()
    gc.collect()
    rss = rss_kb()
    info.disconnect_websocket()
    return {"rss_kb": rss, "subscriptions": n}


PROBES = {"ws": probe_ws, "order": probe_order, "import": probe_import, "memory": probe_memory}


def main() -> None:
    name = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(PROBES[name](args)))


if __name__ == "__main__":
    main()
