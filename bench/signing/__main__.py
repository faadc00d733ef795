"""Signed one-order L1 actions per second on one core: ours vs the official SDKs vs the floor.

    .venv/bin/python -m bench.signing [--seconds 2] [--repeats 3] [--no-peers] [--no-install]

Measured in one run, each contender in its own process pinned to the same CPU:

* ours, native backend (coincurve + direct Keccak), with the Keccak the library picks;
* ours, native backend with Keccak forced to pycryptodome (no ``safe-pysha3``);
* ours, eth-account backend (the baseline);
* the official Python SDK (``hyperliquid-python-sdk`` + ``coincurve``) in a throwaway venv
  at /tmp/hl-bench-peers/py;
* the TypeScript SDK (``@nktkas/hyperliquid`` + ``viem``) in /tmp/hl-bench-peers/ts;
* the floor: one raw ``coincurve.PrivateKey.sign_recoverable`` on a fixed digest.

Every contender also signs the same (key, action, nonce) once; the signatures must agree.
A peer that cannot be installed is reported as such and the rest continues.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.peers import PEERS, SDK_PYTHON, ensure_sdk, run_json
from bench.signing.common import ACTION, KEY, NONCE0

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TS_PEER = PEERS / "ts"


def _ensure_ts_peer(install: bool) -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node/npm not found on PATH"
    if (TS_PEER / "node_modules" / "@nktkas" / "hyperliquid").exists() and (TS_PEER / "node_modules" / "viem").exists():
        return ""
    if not install:
        return f"{TS_PEER} is not set up (run without --no-install)"
    print(f"setting up the TypeScript SDK in {TS_PEER} ...", flush=True)
    TS_PEER.mkdir(parents=True, exist_ok=True)
    try:
        if not (TS_PEER / "package.json").exists():
            subprocess.run([npm, "init", "-y"], cwd=TS_PEER, check=True, capture_output=True, timeout=120)
        cmd = [npm, "install", "--no-audit", "--no-fund", "@nktkas/hyperliquid", "viem"]
        proc = subprocess.run(cmd, cwd=TS_PEER, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"npm failed: {exc}"
    if proc.returncode != 0:
        return "npm install @nktkas/hyperliquid viem failed: " + proc.stderr.strip()[-500:]
    return ""


def _same_signature(a: Any, b: Any) -> bool:
    if not a or not b:
        return False
    return int(a["r"], 16) == int(b["r"], 16) and int(a["s"], 16) == int(b["s"], 16) and int(a["v"]) == int(b["v"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each timed repeat")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats per process (best is kept)")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds over all contenders")
    parser.add_argument("--no-peers", action="store_true", help="skip the official SDKs")
    parser.add_argument("--no-install", action="store_true", help="do not create the peers' throwaway installs")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--orders", action="store_true", help="also one order through client.exchange.order (stubbed / vs the fake)"
    )
    args = parser.parse_args()

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})  # children inherit: everything runs on this one core
    print(
        f"pinned to CPU {cpu}; {args.rounds} rounds x {args.repeats} x {args.seconds:g}s per contender, best kept",
        flush=True,
    )

    action_json = json.dumps(ACTION)
    timing = [str(args.seconds), str(args.repeats)]
    ours = [sys.executable, "-m", "bench.signing.ours", "--seconds", *timing[:1], "--repeats", *timing[1:]]
    # (name, command, cwd) or (name, None, why-not)
    contenders: list[tuple[str, list[str] | None, Any]] = [
        ("ours: native", [*ours, "--what", "native"], ROOT),
        ("ours: native, keccak=pycryptodome", [*ours, "--what", "native", "--no-pysha3"], ROOT),
        ("ours: eth-account", [*ours, "--what", "eth-account"], ROOT),
    ]
    if args.no_peers:
        contenders.append(("official Python SDK", None, "skipped (--no-peers)"))
        contenders.append(("TypeScript SDK", None, "skipped (--no-peers)"))
    else:
        why = ensure_sdk(not args.no_install)
        if why:
            contenders.append(("official Python SDK", None, f"UNAVAILABLE: {why}"))
        else:
            cmd = [str(SDK_PYTHON), str(HERE / "peer_sdk.py"), KEY, str(NONCE0), *timing, action_json]
            contenders.append(("official Python SDK", cmd, PEERS))
        why = _ensure_ts_peer(not args.no_install)
        if why:
            contenders.append(("TypeScript SDK", None, f"UNAVAILABLE: {why}"))
        else:
            script = TS_PEER / "peer_ts.mjs"  # must sit next to node_modules to resolve its imports
            shutil.copyfile(HERE / "peer_ts.mjs", script)
            contenders.append(
                ("TypeScript SDK", ["node", str(script), KEY, str(NONCE0), *timing, action_json], TS_PEER)
            )
    contenders.append(("floor: raw libsecp256k1 sign", [*ours, "--what", "floor"], ROOT))
    if args.orders:
        contenders.append(("ours: client.exchange.order", [*ours, "--what", "order"], ROOT))
        contenders.append(("ours: client.exchange.order e2e", [*ours, "--what", "order-e2e"], ROOT))

    # Round-robin rounds, best per contender: a burst of load from elsewhere on the machine
    # then cannot single out one contender.
    best: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for round_no in range(args.rounds):
        print(f"round {round_no + 1}/{args.rounds} ...", flush=True)
        for name, cmd, cwd in contenders:
            if cmd is None:
                errors[name] = cwd
                continue
            res, why = run_json(cmd, timeout=900, cwd=cwd)
            if res is None:
                errors.setdefault(name, f"FAILED: {why}")
                continue
            if name not in best or res["ops_per_s"] > best[name]["ops_per_s"]:
                best[name] = res
    print()
    rows: list[tuple[str, dict[str, Any] | None, str]] = [
        (name, best.get(name), errors.get(name, "")) for name, _cmd, _cwd in contenders
    ]

    results = {name: res for name, res, _ in rows if res}
    reference = (results.get("ours: native") or {}).get("signature")
    sdk = results.get("official Python SDK", {}).get("ops_per_s")
    floor = results.get("floor: raw libsecp256k1 sign", {}).get("ops_per_s")

    header = f"{'contender':<36} {'ops/s':>10} {'us/op':>8} {'vs SDK':>8} {'floor/x':>8}  signature  detail"
    print(header)
    print("-" * len(header))
    for name, res, why in rows:
        if not res:
            print(f"{name:<36} {'-':>10} {'-':>8} {'-':>8} {'-':>8}  -          {why}")
            continue
        ops = res["ops_per_s"]
        vs_sdk = f"{ops / sdk:.2f}x" if sdk else "-"
        vs_floor = f"{floor / ops:.2f}x" if floor else "-"
        sig = res.get("signature")
        same = "n/a" if sig is None else ("same" if _same_signature(sig, reference) else "DIFFERENT")
        print(
            f"{name:<36} {ops:>10,.0f} {1e6 / ops:>8.1f} {vs_sdk:>8} {vs_floor:>8}  {same:<9}  {res.get('detail', '')}"
        )
    print(
        "\nvs SDK = ops/s divided by the official Python SDK's; floor/x = how many times slower than the raw sign call."
    )
    if any(r and r.get("signature") and not _same_signature(r["signature"], reference) for r in results.values()):
        print("ERROR: contenders disagree on the signature of the same action", file=sys.stderr)
        sys.exit(1)
    if args.json:
        args.json.write_text(json.dumps({name: res or {"error": why} for name, res, why in rows}, indent=2))


if __name__ == "__main__":
    main()
