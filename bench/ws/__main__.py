"""WebSocket message pipeline throughput: decode -> route -> deliver, ours vs the official SDK vs ``json.loads``.

    .venv/bin/python -m bench.ws [--messages 20000] [--levels 20] [--repeats 3] [--no-peers] [--no-install]

The same l2Book-sized text frames (``--levels`` per side, like the real default book of 20 levels) go through, in
one run:

* plain ``json.loads`` of every frame (the floor any Python client pays);
* ours: ``WsClient``'s frame handler (parse, route by channel + coin, append one shared ``Message`` to each
  subscriber's bounded buffer) and every subscriber consuming it, in batches with ``sub.drain()`` and one by one with
  ``await sub.get()``;
* the official Python SDK's ``WebsocketManager.on_message`` (parse, identifier, call every callback) in its own
  throwaway venv (/tmp/hl-bench-peers/py, installed on first use), with ``json.loads`` measured there too.

Each for 1 and for 100 subscribers of the same stream.  No socket is involved: this measures the client's own work
per message.  Ratios are reported against ``json.loads`` of the same process and ours against the SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hyperliquid_client.runtime.ws import ChannelInfo, WsClient, WsConfig

HERE = Path(__file__).resolve().parent
PEERS = Path("/tmp/hl-bench-peers")
PY_PEER = PEERS / "py"
L2BOOK = ChannelInfo("l2Book", ("l2Book",), (("coin", "coin"),))


def make_frames(n: int, levels: int) -> list[str]:
    frames = []
    for i in range(n):
        bids = [
            {"px": f"{65000 - j * 0.5 - (i % 7):.1f}", "sz": f"{0.1 + j * 0.013:.5f}", "n": 1 + j % 5}
            for j in range(levels)
        ]
        asks = [
            {"px": f"{65001 + j * 0.5 + (i % 5):.1f}", "sz": f"{0.2 + j * 0.011:.5f}", "n": 1 + j % 3}
            for j in range(levels)
        ]
        data = {"coin": "BTC", "time": 1_764_842_873_555 + i * 500, "levels": [bids, asks]}
        frames.append(json.dumps({"channel": "l2Book", "data": data}, separators=(",", ":")))
    return frames


def bench_json(frames: list[str], repeats: int) -> float:
    loads = json.loads
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for raw in frames:
            loads(raw)
        best = min(best, time.perf_counter() - t0)
    return len(frames) / best


async def _ours_once(frames: list[str], subscribers: int, drain: bool) -> float:
    # an unreachable URL with a long backoff: the connection object exists (routes) but never competes for CPU
    cfg = WsConfig(reconnect_base=60.0, reconnect_max=60.0, buffer_size=len(frames) + 16, open_timeout=1.0)
    client = WsClient("ws://127.0.0.1:9/ws", config=cfg)
    subs = [await client.subscribe(L2BOOK, {"coin": "BTC"}) for _ in range(subscribers)]
    conn = client._conns[0]
    on_frame = client._on_frame
    batch = 256
    t0 = time.perf_counter()
    for start in range(0, len(frames), batch):
        chunk = frames[start : start + batch]
        for raw in chunk:
            on_frame(conn, raw)
        if drain:
            for sub in subs:
                got = sub.drain()
                assert len(got) == len(chunk)
        else:
            for sub in subs:
                get = sub.get
                for _ in range(len(chunk)):
                    await get()
    elapsed = time.perf_counter() - t0
    assert all(s.delivered == len(frames) for s in subs)
    await client.close()
    return len(frames) / elapsed


def bench_ours(frames: list[str], subscribers: int, repeats: int, drain: bool) -> float:
    return max(asyncio.run(_ours_once(frames, subscribers, drain)) for _ in range(repeats))


def _ensure_peer(install: bool) -> str:
    """'' when ready, else why not."""
    python = PY_PEER / "bin" / "python"
    check = [str(python), "-c", "import hyperliquid.websocket_manager"]
    # cwd outside the repository: our own ``hyperliquid`` package must not shadow the SDK's
    if python.exists() and subprocess.run(check, capture_output=True, cwd=PEERS).returncode == 0:
        return ""
    if not install:
        return f"{PY_PEER} is not set up (run without --no-install)"
    print(f"setting up the official Python SDK in {PY_PEER} ...", flush=True)
    PEERS.mkdir(parents=True, exist_ok=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PY_PEER)], check=True, capture_output=True, timeout=300)
        pip = [str(python), "-m", "pip", "install", "-q", "hyperliquid-python-sdk"]
        proc = subprocess.run(pip, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot create the venv: {exc}"
    if proc.returncode != 0:
        return "pip install hyperliquid-python-sdk failed: " + proc.stderr.strip()[-500:]
    ok = subprocess.run(check, capture_output=True, cwd=PEERS).returncode == 0
    return "" if ok else "SDK installed but not importable"


def bench_peer(path: str, subscribers: int, repeats: int) -> tuple[dict[str, Any] | None, str]:
    cmd = [str(PY_PEER / "bin" / "python"), str(HERE / "peer_sdk.py"), path, str(subscribers), str(repeats)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=PEERS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout).strip()[-600:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ws", description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--levels", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true", help="skip the official SDK")
    parser.add_argument("--no-install", action="store_true", help="do not create the SDK venv when missing")
    args = parser.parse_args(argv)

    frames = make_frames(args.messages, args.levels)
    size = sum(len(f) for f in frames) / len(frames)
    print(f"{len(frames)} l2Book frames, {args.levels} levels per side, {size:.0f} bytes each on average")
    json_rate = bench_json(frames, args.repeats)
    print(f"json.loads (ours' process):          {json_rate:>10,.0f} msg/s")

    peer_reason = "skipped (--no-peers)" if args.no_peers else _ensure_peer(not args.no_install)
    results: dict[str, Any] = {"json_loads": json_rate, "frame_bytes": size}
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
        fh.write("\n".join(frames))
        path = fh.name
    try:
        for subscribers in (1, 100):
            ours_get = bench_ours(frames, subscribers, args.repeats, drain=False)
            ours = bench_ours(frames, subscribers, args.repeats, drain=True)
            line = (
                f"ours, {subscribers:>3} subscriber(s), drain():   {ours:>10,.0f} msg/s  "
                f"({ours / json_rate:.2f}x json.loads)\n"
                f"ours, {subscribers:>3} subscriber(s), await get(): {ours_get:>8,.0f} msg/s  "
                f"({ours_get / json_rate:.2f}x json.loads)"
            )
            entry: dict[str, Any] = {
                "ours": ours,
                "ours_vs_json": ours / json_rate,
                "ours_await_get": ours_get,
                "ours_await_get_vs_json": ours_get / json_rate,
            }
            if not peer_reason:
                peer, why = bench_peer(path, subscribers, args.repeats)
                if peer is None:
                    peer_reason = why
                else:
                    sdk = peer["sdk_msgs_per_s"]
                    entry.update(sdk=sdk, sdk_json=peer["json_loads_msgs_per_s"], sdk_version=peer["version"])
                    entry["ours_vs_sdk"] = ours / sdk
                    entry["ours_await_get_vs_sdk"] = ours_get / sdk
                    line += (
                        f"\nofficial SDK {peer['version']}, {subscribers:>3} subscriber(s): {sdk:>10,.0f} msg/s  "
                        f"({sdk / peer['json_loads_msgs_per_s']:.2f}x json.loads in its process)"
                        f"\n  -> ours / SDK = {ours / sdk:.2f} (drain), {ours_get / sdk:.2f} (await get)"
                    )
            results[f"subscribers_{subscribers}"] = entry
            print(line)
    finally:
        Path(path).unlink(missing_ok=True)
    if peer_reason:
        print(f"official SDK: not measured ({peer_reason})")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
