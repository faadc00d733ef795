"""The command line and the demo, run as a user would run them."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperliquid_client.cli import main
from hyperliquid_client.generated.registry import REGISTRY
from hyperliquid_client.testing import FakeExchange

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as server:
        yield server


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_info_table_and_json(fx: FakeExchange) -> None:
    code, text = run("--url", fx.http_url, "info", "l2Book", "coin=BTC")
    assert code == 0
    assert "levels" in text and "97000" in text
    code, text = run("--url", fx.http_url, "info", "all_mids", "--json")
    assert code == 0
    assert json.loads(text)["BTC"] == "97000.5"
    fx.set_info("candleSnapshot", [])
    code, text = run("--url", fx.http_url, "info", "candleSnapshot", "coin=BTC", "interval=1h", "startTime=0", "--json")
    assert code == 0 and isinstance(json.loads(text), list)
    body = fx.requests_for("/info", type="candleSnapshot")[-1].body
    assert body == {"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "1h", "startTime": 0}}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("info", "noSuchType"), "unknown info/explorer/stats type"),
        (("info", "l2Book"), "missing required parameter(s): coin"),
        (("info", "l2Book", "coin"), "expected key=value"),
        (("info", "l2Book", "coin=BTC", "depth=3"), "unknown parameter 'depth'"),
        (("stream", "noSuchChannel"), "unknown channel type"),
        (("storage", "migrate"), "needs --dsn"),
    ],
)
def test_wrong_arguments_print_usage_and_exit_2(
    argv: tuple[str, ...], message: str, fx: FakeExchange, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("--url", fx.http_url, *argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "usage: hyperliquid" in err and message in err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("frobnicate")[0] == 2
    assert run()[0] == 2
    assert run("stream", "trades", "coin=BTC", "--count", "x")[0] == 2
    assert "usage:" in capsys.readouterr().err


def test_invalid_value_is_a_clear_error(fx: FakeExchange, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("--url", fx.http_url, "info", "clearinghouseState", "user=nobody")
    assert code == 1
    assert "InvalidInputError" in capsys.readouterr().err


def test_stream_prints_messages(fx: FakeExchange) -> None:
    import threading
    import time

    def publish() -> None:
        deadline = time.monotonic() + 10
        while not any(s.get("type") == "trades" for _, s in fx.ws_subscriptions):
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        for i in range(3):
            trade = {
                "coin": "BTC",
                "side": "B",
                "px": f"9700{i}",
                "sz": "0.1",
                "time": 1700000000000 + i,
                "hash": "0x" + "00" * 32,
                "tid": 100 + i,
                "users": ["0x" + "aa" * 20, "0x" + "bb" * 20],
            }
            fx.publish({"type": "trades", "coin": "BTC"}, [trade])

    t = threading.Thread(target=publish)
    t.start()
    code, text = run("--url", fx.http_url, "stream", "trades", "coin=BTC", "--count", "3", "--json", "--timeout", "10")
    t.join()
    assert code == 0
    lines = [json.loads(x) for x in text.splitlines()]
    assert [line[0]["tid"] for line in lines] == [100, 101, 102]


def test_endpoints_lists_the_registry() -> None:
    code, text = run("endpoints", "--json")
    assert code == 0
    rows = json.loads(text)
    assert len(rows) == len(REGISTRY)
    assert {"context": "info", "wire": "l2Book"}.items() <= next(r for r in rows if r["wire"] == "l2Book").items()
    code, text = run("endpoints", "--context", "exchange")
    assert code == 0 and "updateLeverage" in text and "l2Book" not in text


def test_codegen_check_and_generate(tmp_path: Path) -> None:
    code, _ = run(
        "codegen", "--check", "--spec", str(ROOT / "spec"), "--out", str(ROOT / "hyperliquid_client" / "generated")
    )
    assert code == 0
    out = tmp_path / "gen"
    assert run("codegen", "--spec", str(ROOT / "spec"), "--out", str(out))[0] == 0
    assert (out / "info.py").exists()
    assert run("codegen", "--spec", str(tmp_path / "missing"), "--out", str(out))[0] == 2


def test_storage_sql_prints_the_migrations() -> None:
    code, text = run("storage", "sql")
    assert code == 0 and "CREATE TABLE" in text.upper()


def test_demo_runs_on_the_fake_exchange() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERLIQUID_")}
    proc = subprocess.run(
        [sys.executable, "-m", "hyperliquid_client", "demo", "--seconds", "1.5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for heading in (
        "== Mids",
        "== Top of the BTC and ETH books",
        "== Live trades and book updates",
        "== A signed limit order that rests",
        "== A second wallet's order fills it; the fill arrives on userFills",
        "== A cancel",
        "== Final account state",
    ):
        assert heading in out, heading
    assert re.search(r"BTC\s+97000\.5", out)  # the mids table
    assert re.search(r"-> resting, oid \d+", out)
    assert re.search(r"userFills: ETH Open Long 0\.05 @ \d+", out)
    assert "cancelled it -> Success" in out
    assert re.search(r"ETH\s+0\.05\s+\d", out)  # the final position
    closing = out.strip().splitlines()[-1]
    assert re.match(r"OK in [\d.]+ s — signing backend: (native|eth-account); steps: Mids \d+ ms", closing)
    assert "0x" + "0" * 60 not in out


def test_demo_on_a_real_network_needs_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("--network", "testnet", "demo")
    assert code == 2 and "--key" in text


def test_options_between_parameters_and_empty_answers(fx: FakeExchange) -> None:
    code, text = run("--url", fx.http_url, "info", "l2Book", "coin=BTC", "--json", "nSigFigs=5")
    assert code == 0 and json.loads(text)["coin"] == "BTC"
    assert fx.requests_for("/info", type="l2Book")[-1].body == {"type": "l2Book", "coin": "BTC", "nSigFigs": 5}
    code, text = run("--url", fx.http_url, "info", "openOrders", "user=0x" + "ab" * 20)
    assert code == 0 and text.strip() == "(empty)"


def test_stream_without_messages_ends_with_a_clear_error(fx: FakeExchange, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("--url", fx.http_url, "stream", "trades", "coin=ETH", "--count", "1", "--timeout", "0.5")
    err = capsys.readouterr().err
    assert code == 1
    assert "TimeoutError: no message on trades within 0.5 s" in err and "Traceback" not in err


def test_storage_migrate_reads_the_dsn_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HYPERLIQUID_STORAGE_DSN", "host=127.0.0.1 port=1 dbname=nope connect_timeout=1")
    code, _ = run("storage", "migrate")
    err = capsys.readouterr().err
    assert code == 1  # it tried the environment's database (unreachable), not a usage error
    assert "needs --dsn" not in err and "Error" in err
