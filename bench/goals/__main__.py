"""Every goal of the hot-path issue measured beside the official SDK in one run, with a pass/fail column.

    .venv/bin/python -m bench.goals [--rounds 2] [--repeats 3] [--no-install] [--json FILE]

Each contender runs in its own process (ours: ``bench.goals.ours``; the SDK: ``bench.goals.sdk`` in its throwaway
venv, see :mod:`bench.peers`); rounds alternate the contenders and the best value of each measure is kept, so a
burst of load elsewhere on the machine cannot single one out.  Only ratios are judged.  Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.goals.workload import COINS, SUBSCRIBERS, scenarios
from bench.peers import PEERS, ROOT, SDK_PYTHON, ensure_sdk, run_json

FIXTURES = ROOT / "tests" / "data" / "fixtures"
KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
ORDER = {"coin": "ETH", "px": 1670.1, "sz": 0.0147}


def ours(probe: str, args: dict[str, Any] | None = None, timeout: float = 1200) -> tuple[Any, str]:
    cmd = [sys.executable, "-m", "bench.goals.ours", probe, json.dumps(args or {})]
    return run_json(cmd, timeout=timeout, cwd=ROOT)


def sdk(probe: str, args: dict[str, Any] | None = None, timeout: float = 1200) -> tuple[Any, str]:
    cmd = [str(SDK_PYTHON), "-m", "bench.goals.sdk", probe, json.dumps(args or {})]
    return run_json(cmd, timeout=timeout, cwd=ROOT)


def best_of(rounds: int, *runs: Any, better: Any = max) -> list[tuple[dict[str, Any] | None, str]]:
    """Run each of ``runs`` once a round, taking turns (what disturbs a round disturbs every contender); per run and
    key keep the ``better`` value.  Returns (merged, first error) of each run."""
    out: list[tuple[dict[str, Any] | None, str]] = [(None, "") for _ in runs]
    for _ in range(rounds):
        for i, run in enumerate(runs):
            merged, why = out[i]
            res, err = run()
            if res is None:
                out[i] = (merged, why or err)
            elif merged is None:
                out[i] = (dict(res), why)
            else:
                for k, v in res.items():
                    merged[k] = better(merged[k], v) if isinstance(v, int | float) and k in merged else v
    return out


# ------------------------------------------------------------------------------------------------ servers
class HangingServer:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def memory_of(cmd: list[str], fx: Any, want: int, timeout: float = 60) -> tuple[Any, str]:
    """Start a contender's memory probe, wait until the fake exchange holds ``want`` of its subscriptions, let it
    measure, return its JSON."""
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if line.strip() != "subscribed":
            return None, f"unexpected: {line!r} {proc.stderr.read()[-500:] if proc.stderr else ''}"
        deadline = time.monotonic() + timeout
        while len(fx.ws_subscriptions) < want:
            if time.monotonic() > deadline:
                return None, f"only {len(fx.ws_subscriptions)} of {want} subscriptions live on the server"
            time.sleep(0.1)
        time.sleep(1.0)  # whatever the first messages bring is in memory too
        out, err = proc.communicate("go\n", timeout=timeout)
        if proc.returncode != 0:
            return None, err[-800:]
        return json.loads(out.strip().splitlines()[-1]), ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        end = time.monotonic() + 10
        while fx.ws_connection_count and time.monotonic() < end:
            time.sleep(0.1)


# ------------------------------------------------------------------------------------------------ table
class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(self, goal: str, ours: str, sdk: str, ratio: str, target: str, ok: bool | None) -> None:
        verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((goal, ours, sdk, ratio, target, verdict))

    def fail(self, goal: str, why: str) -> None:
        self.rows.append((goal, "-", "-", "-", "-", f"NOT MEASURED: {why[:200]}"))

    def render(self) -> str:
        head = ("goal", "ours", "SDK", "ratio", "target", "result")
        lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def _k(rate: float) -> str:
    return f"{rate / 1000:,.1f}k/s"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2, help="rounds per contender (best kept)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats inside a process (best kept)")
    ap.add_argument("--no-install", action="store_true", help="do not create the SDK's throwaway venv")
    ap.add_argument("--json", type=Path, help="also write every measure as JSON to this file")
    args = ap.parse_args()
    if args.rounds < 1 or args.repeats < 1:
        ap.error("--rounds and --repeats take a count of at least 1")

    # Byte-code as a pip install has it (compiled once, then loaded): without it every import would compile
    # the package first (an editable install under PYTHONDONTWRITEBYTECODE), which no user pays.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(PEERS / "pycache")
    # every module, as pip compiles them at install (not only the import path: a probe loading a model module
    # for the first time would otherwise pay, and measure, its compilation)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "hyperliquid_client")], check=False)
    sdk_why = ensure_sdk(not args.no_install)
    ours("import")
    if not sdk_why:
        sdk("import")
    table = Table()
    results: dict[str, Any] = {}

    def sdk_run(probe: str, a: dict[str, Any] | None = None) -> tuple[Any, str]:
        return (None, sdk_why) if sdk_why else sdk(probe, a)

    # -- WebSocket -------------------------------------------------------------------------------------------
    print("WebSocket scenarios ...", flush=True)
    ws_args = {"repeats": args.repeats}
    (ours_ws, why_o), (sdk_ws, why_s) = best_of(
        args.rounds, lambda: ours("ws", ws_args), lambda: sdk_run("ws", ws_args)
    )
    results["ws"] = {"ours": ours_ws, "sdk": sdk_ws}
    detail: list[str] = []
    if ours_ws and sdk_ws:
        raw_ratios, typed_ratios, fan = [], [], []
        detail.append(
            "| scenario (channel / subscribers / coins) | ours raw | ours typed | SDK | raw / SDK | typed / SDK |"
        )
        detail.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, _ch, _lv, subs, coins in scenarios():
            key = f"{name}/{subs}/{coins}"
            o_raw, o_typed, s_raw = ours_ws[f"{key}/raw"], ours_ws[f"{key}/typed"], sdk_ws[f"{key}/raw"]
            raw_ratios.append((o_raw / s_raw, key))
            if subs == 1:
                typed_ratios.append((o_typed / s_raw, key))
            detail.append(
                f"| {key} | {_k(o_raw)} | {_k(o_typed)} | {_k(s_raw)} | {o_raw / s_raw:.2f} | {o_typed / s_raw:.2f} |"
            )
        for name, _ch, _lv in {(s[0], s[1], s[2]) for s in scenarios()}:
            for coins in COINS:
                for mode in ("raw", "typed"):
                    one = ours_ws[f"{name}/1/{coins}/{mode}"]
                    many = ours_ws[f"{name}/{SUBSCRIBERS[-1]}/{coins}/{mode}"]
                    fan.append((one / many, f"{name}/{coins} coins/{mode}"))
        worst = min(raw_ratios)
        table.add(
            "WS raw delivery vs SDK handler, every scenario (worst)",
            worst[1],
            "",
            f"{worst[0]:.2f}×",
            "≥ 1.5×",
            worst[0] >= 1.5,
        )
        worst = min(typed_ratios)
        table.add(
            "WS typed delivery vs SDK raw handler, 1 subscriber (worst)",
            worst[1],
            "",
            f"{worst[0]:.2f}×",
            "≥ 0.5×",
            worst[0] >= 0.5,
        )
        worst = max(fan)
        table.add(
            f"WS fan-out: cost of {SUBSCRIBERS[-1]} subscribers / 1 (worst)",
            worst[1],
            "",
            f"{worst[0]:.2f}×",
            "≤ 1.3×",
            worst[0] <= 1.3,
        )
    else:
        table.fail("WebSocket scenarios", why_o or why_s)

    lossless, why = ours("lossless")
    if lossless is not None:
        table.add(
            "WS nothing lost (bounded buffers, overflow semantics)",
            lossless["summary"],
            "",
            "",
            "all hold",
            lossless["ok"],
        )
        results["lossless"] = lossless
    else:
        table.fail("WS nothing lost", why)
    parsers, why = ours("json", {"repeats": args.repeats})
    results["json_parsers"] = parsers or why

    # -- order path ------------------------------------------------------------------------------------------
    print("order path ...", flush=True)
    order_args = {
        "key": KEY,
        "order": ORDER,
        "meta": str(FIXTURES / "meta__1.json"),
        "spot_meta": str(FIXTURES / "spotMeta__1.json"),
        "repeats": args.repeats,
    }
    (o_order, why_o), (s_order, why_s) = best_of(
        args.rounds, lambda: ours("order", order_args), lambda: sdk_run("order", order_args), better=min
    )
    results["order"] = {"ours": o_order, "sdk": s_order}
    if o_order:
        floor = o_order["floor"]
        sdk_order = s_order["order"] if s_order else None
        table.add(
            "order(): CPU per call, HTTP stubbed, default settings / C signing floor",
            _us(o_order["order"]),
            _us(sdk_order) if sdk_order else "-",
            f"{o_order['order'] / floor:.2f}× floor" + (f" (SDK {sdk_order / floor:.1f}×)" if sdk_order else ""),
            "≤ 2× floor",
            o_order["order"] / floor <= 2.0,
        )
        # (two measures' difference: below zero is noise, shown as measured)
        check = o_order["order"] - o_order["order_no_verify"]
        table.add(
            "signer check (default 'once'): extra CPU per order / one signature",
            _us(check),
            "",
            f"{check / o_order['sign']:.2f}",
            "≤ 0.25",
            check / o_order["sign"] <= 0.25,
        )
        always = o_order["order_verify"] - o_order["order_no_verify"]
        table.add(
            "signer check with verify_signatures=True (every signature), for reference",
            _us(always),
            "",
            f"{always / o_order['sign']:.2f}",
            "",
            None,
        )
        table.add(
            "market metadata lookup per order, 2 threads / 1 (per lookup)",
            _us(o_order["lookup"]),
            "",
            f"{o_order['lookup_2_threads'] / o_order['lookup_1_thread']:.2f}×",
            "≤ 1.1×",
            o_order["lookup_2_threads"] / o_order["lookup_1_thread"] <= 1.1,
        )
        if s_order:
            ratio = o_order["float_to_wire_pair"] / s_order["float_to_wire_pair"]
            table.add(
                "float_to_wire (price + size)",
                _us(o_order["float_to_wire_pair"]),
                _us(s_order["float_to_wire_pair"]),
                f"{ratio:.2f}×",
                "≤ 1×",
                ratio <= 1.0,
            )
    else:
        table.fail("order path", why_o)

    # -- cache -----------------------------------------------------------------------------------------------
    print("cache ...", flush=True)
    [(cache, why)] = best_of(args.rounds, lambda: ours("cache"))
    results["cache"] = cache or why
    if cache:
        ratio = cache["TTLCache.get"] / cache["dict.get"]
        table.add(
            "TTLCache hit / dict.get (throughput)",
            f"{cache['TTLCache.get'] / 1e6:.2f} M/s",
            "",
            f"{ratio:.2f}",
            "≥ 0.25",
            ratio >= 0.25,
        )
        slow = cache["wall_1_thread"] / cache["wall_2_threads"]
        table.add(
            "TTLCache hit: time per get, 2 threads / 1",
            f"{1e9 / cache['wall_2_threads']:.0f} ns / {1e9 / cache['wall_1_thread']:.0f} ns",
            "",
            f"{slow:.2f}×",
            "≤ 1.1×",
            slow <= 1.1,
        )
    else:
        table.fail("cache", why)

    # -- close -----------------------------------------------------------------------------------------------
    print("close ...", flush=True)
    hanging = HangingServer()
    try:
        close, why = ours("close", {"refusing": refused_url(), "hanging": hanging.url, "runs": 5})
    finally:
        hanging.close()
    results["close"] = close or why
    if close:
        for api in ("refusing", "hanging"):
            for mode, label in (("sync", "Client.close()"), ("async", "AsyncClient.aclose()")):
                t = close[api][mode]
                table.add(f"{label}, API {api} (worst of 5)", f"{t * 1e3:.1f} ms", "", "", "≤ 100 ms", t <= 0.1)
    else:
        table.fail("close", why)

    # -- import ----------------------------------------------------------------------------------------------
    print("import ...", flush=True)
    (o_imp, why_o), (s_imp, why_s) = best_of(
        max(5, args.rounds), lambda: ours("import"), lambda: sdk_run("import"), better=min
    )
    results["import"] = {"ours": o_imp, "sdk": s_imp}
    if o_imp and s_imp:
        ratio = o_imp["seconds"] / s_imp["seconds"]
        table.add(
            f"import (best of {max(5, args.rounds)} fresh interpreters)",
            f"{o_imp['seconds'] * 1e3:.0f} ms",
            f"{s_imp['seconds'] * 1e3:.0f} ms",
            f"{ratio:.2f}×",
            "≤ 1×",
            ratio <= 1.0,
        )
    else:
        table.fail("import", why_o or why_s)

    # -- memory ----------------------------------------------------------------------------------------------
    print("memory ...", flush=True)
    from hyperliquid_client.testing import FakeExchange

    with FakeExchange() as fx:
        fx.load_fixtures(FIXTURES)
        meta = json.loads((FIXTURES / "meta__1.json").read_text())["response"]
        coins = [a["name"] for a in meta["universe"] if not a.get("isDelisted")]
        margs = json.dumps({"http_url": fx.http_url, "ws_url": fx.ws_url, "coins": coins})
        o_mem, why_o = memory_of([sys.executable, "-m", "bench.goals.ours", "memory", margs], fx, 100)
        s_mem, why_s = (
            (None, sdk_why)
            if sdk_why
            else memory_of([str(SDK_PYTHON), "-m", "bench.goals.sdk", "memory", margs], fx, 100)
        )
    results["memory"] = {"ours": o_mem or why_o, "sdk": s_mem or why_s}
    if o_mem and s_mem:
        ratio = o_mem["rss_kb"] / s_mem["rss_kb"]
        table.add(
            "resident size, one client with 100 live subscriptions",
            f"{o_mem['rss_kb'] / 1024:.1f} MiB",
            f"{s_mem['rss_kb'] / 1024:.1f} MiB",
            f"{ratio:.2f}×",
            "≤ 1.2×",
            ratio <= 1.2,
        )
    else:
        table.fail("memory", why_o or why_s)

    print()
    if detail:
        print("\n".join(detail))
        print()
    print(table.render())
    if isinstance(parsers, dict):
        print(
            "\nJSON parsers on the same frames (messages per CPU second): "
            + ", ".join(f"{k} {_k(v)}" for k, v in parsers.items())
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r[5] in ("PASS", "n/a") for r in table.rows) else 1


if __name__ == "__main__":
    PEERS.mkdir(parents=True, exist_ok=True)
    sys.exit(main())
