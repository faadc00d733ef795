"""Our side of the goal benchmarks: ``python -m bench.goals.ours PROBE [ARGS_JSON]`` prints one JSON line.

Probes: ``ws`` (every WebSocket scenario, raw and typed delivery), ``lossless`` (overflow semantics under the fast
path), ``json`` (parsers on the same frames), ``cache``, ``order``, ``import``, ``memory``, ``close``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import threading
import time
from typing import Any

from bench.goals.workload import (
    BATCH,
    coin_names,
    cpu_per_call,
    cpu_rate,
    frame_count,
    frames,
    hundred_subscriptions,
    rss_kb,
    scenarios,
)


# ------------------------------------------------------------------------------------------------ WebSocket
async def _subscribe_all(client: Any, channel: str, subscribers: int, coins: int, typed: bool) -> list[Any]:
    """Subscribe like the generated streams do (their channel spec and decoder), straight on the WsClient."""
    from hyperliquid_client.generated.streams import AsyncStreams
    from hyperliquid_client.runtime.hub import AsyncRecordingHub
    from hyperliquid_client.runtime.streaming import channel_info

    hub = AsyncRecordingHub()
    streams = AsyncStreams(hub)
    if channel == "allMids":
        await streams.all_mids()
    else:
        for coin in coin_names(coins):
            await (streams.l2_book if channel == "l2Book" else streams.trades)(coin)
    subs = []
    for call in hub.calls:
        info = channel_info(call.spec)
        for _ in range(subscribers):
            subs.append(await client.subscribe(info, call.subscription, decode=call.decode if typed else None))
    return subs


async def _ws_once(
    sets: list[list[str]], channel: str, subscribers: int, coins: int, typed: bool, repeats: int
) -> float:
    from hyperliquid_client.runtime.ws import WsClient, WsConfig

    # an unreachable URL with a long backoff: the connection object exists (routes) but never competes for CPU
    cfg = WsConfig(reconnect_base=60.0, reconnect_max=60.0, buffer_size=2 * BATCH, open_timeout=1.0)
    client = WsClient("ws://127.0.0.1:9/ws", config=cfg)
    subs = await _subscribe_all(client, channel, subscribers, coins, typed)
    on_frame = client._on_frame
    delivered = [0]
    sample: list[Any] = []

    # every subscriber takes its backlog after BATCH messages of its own stream (frames cycle over the coins);
    # what it took is dropped, as a consumer that handled it would (nothing piles up for the collector)
    step = BATCH if channel == "allMids" else BATCH * coins
    runs = iter(range(len(sets)))

    def run() -> int:
        raw = sets[next(runs)]  # fresh frames each time: the same trades again would be skipped as duplicates
        conn = subs[0]._sink.upstream.conn  # where the frames of these subscriptions arrive now
        total = 0
        for start in range(0, len(raw), step):
            for frame in raw[start : start + step]:
                on_frame(conn, frame)
            for sub in subs:
                got = sub.drain()
                total += len(got)
                if not sample:
                    sample.extend(got[:3])
                # handled, then let go at once, as the SDK's side clears its callbacks' list after each batch
                # (holding it until the next drain kept two batches alive against the SDK's one)
                del got
        delivered[0] = total
        return len(raw)

    rate = cpu_rate(run, repeats)
    assert delivered[0] == len(sets[0]) * subscribers, (delivered[0], len(sets[0]) * subscribers)
    assert all(type(m).__name__ == "Message" for m in sample)
    await client.close()
    return rate


def probe_ws(args: dict[str, Any]) -> dict[str, Any]:
    repeats = int(args.get("repeats", 3))
    only = args.get("only")
    out: dict[str, Any] = {}
    for name, channel, levels, subscribers, coins in scenarios():
        if only and name not in only:
            continue
        n = frame_count(channel, coins)
        for mode in ("raw", "typed"):
            sets = [frames(channel, levels, coins, offset=r * n) for r in range(repeats)]
            gc.collect()  # what the scenario before left behind is not this one's to walk (as in sdk.py)
            rate = asyncio.run(_ws_once(sets, channel, subscribers, coins, mode == "typed", repeats))
            out[f"{name}/{subscribers}/{coins}/{mode}"] = rate
    return out


async def _lossless() -> dict[str, Any]:
    from hyperliquid_client.generated.streams import AsyncStreams
    from hyperliquid_client.runtime.hub import AsyncRecordingHub
    from hyperliquid_client.runtime.streaming import channel_info
    from hyperliquid_client.runtime.ws import WsClient, WsConfig
    from hyperliquid_client.runtime.ws.messages import BufferOverflowError, Dropped, Message

    hub = AsyncRecordingHub()
    streams = AsyncStreams(hub)
    await streams.l2_book("BTC")
    await streams.user_fills("0x" + "ab" * 20)
    book, fills = hub.calls
    client = WsClient("ws://127.0.0.1:9/ws", config=WsConfig(reconnect_base=60.0, reconnect_max=60.0))
    drops: list[Any] = []
    client.events.subscribe("ws.drop", drops.append)
    slow = await client.subscribe(channel_info(book.spec), book.subscription, buffer_size=10)
    fast = await client.subscribe(channel_info(book.spec), book.subscription, decode=book.decode, buffer_size=10)
    user = await client.subscribe(channel_info(fills.spec), fills.subscription, buffer_size=10)
    conn = slow._sink.upstream.conn
    fast_got: list[Any] = []
    raw = frames("l2Book", 5, 1, 100)
    for frame in raw:
        client._on_frame(conn, frame)
        fast_got.extend(fast.drain())
    slow_got = slow.drain()
    checks = {}
    markers = [m for m in slow_got if isinstance(m, Dropped)]
    checks["market data: slow subscriber keeps the newest, drops the oldest with a marker"] = [
        m.data["time"] for m in slow_got if isinstance(m, Message)
    ] == [json.loads(f)["data"]["time"] for f in raw[-10:]] and sum(m.count for m in markers) == 90
    checks["market data: the dropping is announced (ws.drop)"] = sum(e["dropped"] for e in drops) >= 1
    checks["market data: a fast subscriber of the same stream loses nothing"] = len(fast_got) == 100
    user_frames = [
        json.dumps({"channel": "userFills", "data": {"user": "0x" + "ab" * 20, "fills": [{"tid": i, "time": i}]}})
        for i in range(11)
    ]
    for frame in user_frames:
        client._on_frame(user._sink.upstream.conn, frame)
    try:
        user.drain()
        failed = user.error is not None
    except BufferOverflowError:
        failed = True
    checks["user data: overflow fails the subscription loudly, never drops silently"] = (
        failed and isinstance(user.error, BufferOverflowError) and any(e["policy"] == "error" for e in drops)
    )
    await client.close()
    ok = all(checks.values())
    failed_names = [k for k, v in checks.items() if not v]
    return {"ok": ok, "checks": checks, "summary": "all hold" if ok else "broken: " + "; ".join(failed_names)}


def probe_lossless(args: dict[str, Any]) -> dict[str, Any]:
    """Overflow semantics on the delivery path the benchmark measures."""
    return asyncio.run(_lossless())


def probe_json(args: dict[str, Any]) -> dict[str, Any]:
    """Messages per CPU second of each available JSON parser on the scenario frames (1 coin)."""
    repeats = int(args.get("repeats", 3))
    parsers: dict[str, Any] = {"json": json.loads}
    try:
        import orjson

        parsers["orjson"] = orjson.loads
    except ImportError:
        pass
    out: dict[str, Any] = {}
    for name, channel, levels in (("l2Book5", "l2Book", 5), ("l2Book20", "l2Book", 20), ("trades", "trades", 0)):
        raw = frames(channel, levels, 1)
        for pname, loads in parsers.items():

            def run(loads: Any = loads, raw: list[str] = raw) -> int:
                for f in raw:
                    loads(f)
                return len(raw)

            out[f"{name}/{pname}"] = cpu_rate(run, repeats)
    return out


# ------------------------------------------------------------------------------------------------ cache
def probe_cache(args: dict[str, Any]) -> dict[str, Any]:
    """Hits per second: dict.get, TTLCache.get with 1 thread and per get with 2 threads (wall time)."""
    from hyperliquid_client.runtime.cache import CacheConfig, TTLCache
    from hyperliquid_client.runtime.events import EventBus

    keys = [("info.meta", f"k{i}") for i in range(1000)] * 10
    plain = {k: 1 for k in keys}
    bus = EventBus()
    bus.subscribe("request.*", lambda e: None)  # listeners elsewhere, as in a client: the hit path stays cheap
    cache = TTLCache(CacheConfig(max_entries=10_000, default_ttl=3600), events=bus)
    for k in plain:
        cache.set(k, 1)
    assert all(cache.get(k) == 1 for k in plain)

    def loop(get: Any) -> int:
        for k in keys:
            get(k)
        return len(keys)

    def cpu(get: Any) -> float:
        return cpu_rate(lambda: sum(loop(get) for _ in range(20)), 5)

    one, two = _per_call_threads(lambda: loop(cache.get), 20)  # wall seconds per loop of len(keys) gets
    return {
        "dict.get": cpu(plain.get),
        "TTLCache.get": cpu(cache.get),
        "wall_1_thread": len(keys) / one,
        "wall_2_threads": len(keys) / two,
    }


# ------------------------------------------------------------------------------------------------ order path
OK_ORDER = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 77}}]}}}


def probe_order(args: dict[str, Any]) -> dict[str, Any]:
    """CPU per ``client.exchange.order`` with the HTTP request stubbed (default settings, and with the signer check
    off), one signature, the raw libsecp256k1 floor, float_to_wire and the market lookup an order makes."""
    import coincurve

    from hyperliquid_client import Client, ClientConfig
    from hyperliquid_client.runtime.markets import price_text, size_text
    from hyperliquid_client.runtime.ratelimit import RateLimitConfig
    from hyperliquid_client.runtime.signing import Wallet, sign_l1_action
    from hyperliquid_client.testing import FakeExchange

    seconds, repeats = float(args.get("seconds", 1.0)), int(args.get("repeats", 3))
    order = args["order"]
    coin, px, sz = order["coin"], order["px"], order["sz"]
    wallet = Wallet.from_key(args["key"])
    out: dict[str, Any] = {}
    with FakeExchange() as fx:
        fx.fund(wallet.address, 10_000_000)
        # default settings, but a weight budget thousands of orders a second cannot exhaust (the budget's
        # bookkeeping still runs on every order)
        rate = RateLimitConfig(budget=10**12)
        for name, verify in (("order", None), ("order_verify", True), ("order_no_verify", False)):
            config = ClientConfig(rate=rate) if verify is None else ClientConfig(rate=rate, verify_signatures=verify)
            with Client("testnet", http_url=fx.http_url, wallet=wallet, config=config) as client:
                client.exchange.order(coin, True, sz, px)  # metadata loaded (the lookups below hit the cache)
                client.exchange.sender.transport.request_json = lambda *a, **k: OK_ORDER  # type: ignore[method-assign]
                assert client.exchange.order(coin, True, sz, px).ok
                out[name] = cpu_per_call(lambda i, c=client: c.exchange.order(coin, True, sz, px), seconds, repeats)
                if verify is None:
                    markets = client.markets
                    market = markets.market(coin)
                    out["lookup"] = cpu_per_call(lambda i, m=markets: m.market(coin), seconds, repeats)
                    out["lookup_1_thread"], out["lookup_2_threads"] = _per_call_threads(
                        lambda m=markets: m.market(coin), 20_000
                    )
    action = {
        "type": "order",
        "orders": [{"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
        "grouping": "na",
    }
    out["sign"] = cpu_per_call(
        lambda i: sign_l1_action(wallet, action, 1_700_000_000_000 + i, is_mainnet=False), seconds, repeats
    )
    key = coincurve.PrivateKey(bytes.fromhex(args["key"][2:]))
    digest = bytes(range(32))
    out["floor"] = cpu_per_call(lambda i: key.sign_recoverable(digest, hasher=None), seconds, repeats)
    # what an order does with a float price and size: the market's tick and lot rules to exact wire strings
    info = market.asset_info(coin)
    out["float_to_wire_pair"] = cpu_per_call(
        lambda i: (price_text(info, "limit_px", px), size_text(info, "sz", sz)), seconds, repeats
    )
    assert (price_text(info, "limit_px", px), size_text(info, "sz", sz)) == (str(px), str(sz))
    return out


def _per_call_threads(call: Any, n: int, *, trial: float = 0.2, rounds: int = 5) -> tuple[float, float]:
    """Wall seconds per call with 1 thread doing ``n`` calls and with 2 threads doing ``n`` each: ``n`` grown until a
    1-thread trial lasts ``trial`` seconds, then ``rounds`` rounds of one trial of each, taking turns (what disturbs
    one round disturbs both), best of each kept."""

    def once(threads: int, n: int) -> float:
        barrier = threading.Barrier(threads + 1)

        def work() -> None:
            barrier.wait()
            for _ in range(n):
                call()

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in ts:
            t.join()
        return (time.perf_counter() - t0) / (threads * n)

    while once(1, n) * n < trial:
        n *= 2
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, threads in enumerate((1, 2)):
            best[i] = min(best[i], once(threads, n))
    return best[0], best[1]


# ------------------------------------------------------------------------------------------------ import
def probe_import(args: dict[str, Any]) -> dict[str, Any]:
    """Seconds to import what a user imports first (run in a fresh interpreter by the caller)."""
    t0 = time.perf_counter()
    from hyperliquid_client import AsyncClient, Client  # noqa: F401

    return {"seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------------ memory
def probe_memory(args: dict[str, Any]) -> dict[str, Any]:
    """Resident size of a process holding one client with 100 live subscriptions (against the fake exchange).

    Prints ``subscribed`` once the subscriptions are made, then waits for a line on stdin (the caller sees them
    live on the server) before measuring.
    """
    from hyperliquid_client import Client

    client = Client(http_url=args["http_url"], ws_url=args["ws_url"])
    streams = []
    for sub in hundred_subscriptions(args["coins"]):
        kind = sub["type"]
        if kind == "candle":
            streams.append(client.streams.candle(sub["coin"], sub["interval"], callback=lambda item: None))
        else:
            method = {"l2Book": "l2_book", "trades": "trades", "bbo": "bbo", "activeAssetCtx": "active_asset_ctx"}[kind]
            streams.append(getattr(client.streams, method)(sub["coin"], callback=lambda item: None))
    print("subscribed", flush=True)
    sys.stdin.readline()
    gc.collect()
    return {"rss_kb": rss_kb(), "subscriptions": len(streams)}


# ------------------------------------------------------------------------------------------------ close
def probe_close(args: dict[str, Any]) -> dict[str, Any]:
    """Worst ``close()`` / ``aclose()`` time over a few runs, API refusing and hanging, warmers busy."""
    from hyperliquid_client import AsyncClient, Client

    out: dict[str, Any] = {}
    for name, url in (("refusing", args["refusing"]), ("hanging", args["hanging"])):
        worst_sync = worst_async = 0.0
        for _ in range(int(args.get("runs", 5))):
            client = Client(http_url=url)
            client.__enter__()
            time.sleep(0.05)  # the warmers are in their first request
            t0 = time.perf_counter()
            client.close()
            worst_sync = max(worst_sync, time.perf_counter() - t0)

            async def one(url: str = url) -> float:
                client = AsyncClient(http_url=url)
                await client.__aenter__()
                await asyncio.sleep(0.05)
                t0 = time.perf_counter()
                await client.aclose()
                return time.perf_counter() - t0

            worst_async = max(worst_async, asyncio.run(one()))
        out[name] = {"sync": worst_sync, "async": worst_async}
    return out


PROBES = {
    "ws": probe_ws,
    "json": probe_json,
    "lossless": probe_lossless,
    "cache": probe_cache,
    "order": probe_order,
    "import": probe_import,
    "memory": probe_memory,
    "close": probe_close,
}


def main() -> None:
    logging.getLogger("hyperliquid_client").setLevel(logging.CRITICAL)  # expected failures are not news here
    name = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(PROBES[name](args)))


if __name__ == "__main__":
    main()
