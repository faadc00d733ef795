"""The command line and the demo, run as a user would run them."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hyperliquid_client.cli import UsageError, build_parser, main, private_key
from hyperliquid_client.demo import run_demo
from hyperliquid_client.generated.registry import REGISTRY
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.testing import FakeExchange, Fault

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


def test_usage_names_only_what_is_required_and_json_is_refused_where_it_has_no_meaning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for command, required in (("info", "type"), ("stream", "channel")):
        assert run(command)[0] == 2
        err = capsys.readouterr().err
        assert f"the following arguments are required: {required}\n" in err and "params" not in err.splitlines()[-1]
    for argv in (("demo", "--json"), ("codegen", "--json"), ("storage", "sql", "--json")):
        assert run(*argv)[0] == 2
        assert f"hyperliquid {argv[0]}: error: --json: {argv[0]} " in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # outside a clone: the error names the folder it looked for
    assert run("codegen")[0] == 2
    assert f"expected a spec folder at {tmp_path.resolve() / 'spec'}, found none" in capsys.readouterr().err


def test_invalid_value_is_a_usage_error_naming_the_parameter_as_typed(
    fx: FakeExchange, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("--url", fx.http_url, "info", "clearinghouseState", "user=nobody")
    err = capsys.readouterr().err
    assert code == 2
    assert "usage: hyperliquid info" in err and "invalid user: expected" in err and "'nobody'" in err
    for typed in ("nSigFigs", "n_sig_figs"):
        code, _ = run("--url", fx.http_url, "info", "l2Book", "coin=BTC", f"{typed}=7")
        err = capsys.readouterr().err
        assert code == 2
        assert f"hyperliquid info: error: invalid {typed}: expected one of 2, 3, 4, 5, got 7" in err
    assert not fx.requests_for("/info", type="clearinghouseState")  # refused before sending


def _publish_trades_once_subscribed(fx: FakeExchange, coin: str, prices: list[str], first_tid: int) -> threading.Thread:
    """A thread that waits for the CLI's subscription, then publishes one trade per price."""

    def publish() -> None:
        deadline = time.monotonic() + 10
        while not any(s.get("type") == "trades" and s.get("coin") == coin for _, s in fx.ws_subscriptions):
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        for i, px in enumerate(prices):
            trade = {
                "coin": coin,
                "side": "B",
                "px": px,
                "sz": "0.1",
                "time": 1700000000000 + i,
                "hash": "0x" + "00" * 32,
                "tid": first_tid + i,
                "users": ["0x" + "aa" * 20, "0x" + "bb" * 20],
            }
            fx.publish({"type": "trades", "coin": coin}, [trade])

    thread = threading.Thread(target=publish)
    thread.start()
    return thread


def test_stream_prints_messages(fx: FakeExchange) -> None:
    t = _publish_trades_once_subscribed(fx, "BTC", ["97000", "97001", "97002"], 100)
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


def test_demo_on_a_real_network_needs_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HYPERLIQUID_PRIVATE_KEY", raising=False)
    for argv in (("--network", "testnet", "demo"), ("demo", "--network", "testnet")):
        code, _ = run(*argv)
        err = capsys.readouterr().err
        assert code == 2 and "usage: hyperliquid demo" in err
        assert "HYPERLIQUID_PRIVATE_KEY, --key-file or --key" in err


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


# ---------------------------------------------------------------------------------------------- options anywhere
def test_global_options_work_in_any_position(fx: FakeExchange) -> None:
    for argv in (
        ("info", "l2Book", "coin=BTC", "--url", fx.http_url, "--json"),
        ("--json", "info", "l2Book", "--url", fx.http_url, "coin=BTC"),
        ("--url", "http://127.0.0.1:1", "info", "l2Book", "coin=BTC", "--url", fx.http_url, "--json"),  # last wins
        ("--url", fx.http_url, "info", "--json", "l2Book", "coin=BTC"),
    ):
        code, text = run(*argv)
        assert code == 0, argv
        assert json.loads(text)["coin"] == "BTC", argv


def test_make_demo_args_reach_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo ARGS="--network testnet --key-file …"` runs `hyperliquid demo --network testnet --key-file …`."""
    seen: dict[str, object] = {}

    def fake_run_demo(out: object, **kwargs: object) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr("hyperliquid_client.demo.run_demo", fake_run_demo)
    monkeypatch.setenv("HYPERLIQUID_PRIVATE_KEY", "0x" + "11" * 32)
    assert run("demo", "--network", "testnet", "--seconds", "2", "--yes")[0] == 0
    assert seen == {"network": "testnet", "url": None, "key": "0x" + "11" * 32, "seconds": 2.0, "yes": True}


def test_the_key_comes_from_a_file_the_environment_or_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parser = build_parser()
    key_file = tmp_path / "key"
    key_file.write_text("0x" + "22" * 32 + "\n")
    env = {"HYPERLIQUID_PRIVATE_KEY": "0x" + "33" * 32}
    assert private_key(parser.parse_args(["demo", "--key-file", str(key_file)]), env) == "0x" + "22" * 32
    assert private_key(parser.parse_args(["demo"]), env) == "0x" + "33" * 32
    assert private_key(parser.parse_args(["--key", "0x" + "44" * 32, "demo"]), env) == "0x" + "44" * 32
    assert private_key(parser.parse_args(["demo"]), {}) is None
    with pytest.raises(UsageError, match="once"):
        private_key(parser.parse_args(["demo", "--key", "k", "--key-file", str(key_file)]), {})
    with pytest.raises(UsageError, match="cannot read --key-file"):
        private_key(parser.parse_args(["demo", "--key-file", str(tmp_path / "missing")]), {})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        private_key(parser.parse_args(["demo", "--key-file", str(tmp_path / "empty")]), {})
    help_text = parser.format_help() + parser.parse_args(["demo"]).command_parser.format_help()
    assert "process list" in " ".join(help_text.split())  # --key's help says why env/file are better


# ---------------------------------------------------------------------------------------------- output
def test_info_prints_a_book_as_a_table(fx: FakeExchange) -> None:
    code, text = run("info", "l2Book", "coin=BTC", "--url", fx.http_url)
    assert code == 0
    book = json.loads(run("info", "l2Book", "coin=BTC", "--url", fx.http_url, "--json")[1])
    assert "{" not in text and "[" not in text  # no JSON dumped into cells
    header = next(line for line in text.splitlines() if "bid" in line)
    assert header.split() == ["bid", "n", "bid", "sz", "bid", "ask", "ask", "sz", "ask", "n"]
    rows = [line.split() for line in text.splitlines()[text.splitlines().index(header) + 2 :]]
    (bids, asks) = book["levels"]
    for i in range(max(len(bids), len(asks))):
        expected = [bids[i]["n"], bids[i]["sz"], bids[i]["px"], asks[i]["px"], asks[i]["sz"], asks[i]["n"]]
        assert rows[i] == [str(x) for x in expected]  # each level: bid beside ask


def test_info_prints_nested_objects_as_dotted_rows(fx: FakeExchange) -> None:
    user = "0x" + "ef" * 20
    fx.fund(user, 1234)
    code, text = run("--url", fx.http_url, "info", "clearinghouseState", f"user={user}")
    assert code == 0
    assert '{"' not in text
    assert re.search(r"^marginSummary\.accountValue\s+1234(\.0)?$", text, re.M), text


def test_stream_prints_its_header_once(fx: FakeExchange) -> None:
    t = _publish_trades_once_subscribed(fx, "SOL", ["180.5", "181.5", "182.5"], 200)
    code, text = run("--url", fx.http_url, "stream", "trades", "coin=SOL", "--count", "3", "--timeout", "10")
    t.join()
    assert code == 0
    lines = text.splitlines()
    assert sum(1 for line in lines if line.split()[:1] == ["coin"]) == 1
    assert lines[0].split()[:4] == ["coin", "side", "px", "sz"] and set(lines[1]) <= {"-", " "}
    assert [line.split()[2] for line in lines[2:]] == ["180.5", "181.5", "182.5"]


@pytest.mark.parametrize("count", ["0", "-1", "x"])
def test_count_must_be_a_positive_integer(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("stream", "trades", "coin=BTC", "--count", count, "--url", "http://127.0.0.1:1")
    err = capsys.readouterr().err
    assert code == 2
    assert "usage: hyperliquid stream" in err and "--count: expected a positive integer" in err


def test_command_errors_print_the_command_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("info", "l2Book", "coin=BTC", "--frobnicate", "--url", "http://127.0.0.1:1")[0] == 2
    err = capsys.readouterr().err
    assert "usage: hyperliquid info" in err and "unrecognized arguments: --frobnicate" in err
    assert run("info")[0] == 2
    assert "usage: hyperliquid info" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- the demo's cleanup
def _demo_wallet(fx: FakeExchange) -> tuple[Wallet, str]:
    key = "0x" + secrets.token_hex(32)
    wallet = Wallet.from_key(key)
    fx.fund(wallet.address, usdc=100_000)
    return wallet, key


def _open_orders(fx: FakeExchange, wallet: Wallet) -> list[dict[str, object]]:
    return httpx.post(fx.http_url + "/info", json={"type": "openOrders", "user": wallet.address}).json()


def _order_actions(fx: FakeExchange) -> list[object]:
    return [r for r in fx.requests_for("/exchange") if r.body["action"]["type"] == "order"]


def test_demo_on_a_network_cancels_its_orders_when_a_step_fails() -> None:
    with FakeExchange() as fake:
        wallet, key = _demo_wallet(fake)
        fake.add_fault("/exchange", Fault.status(500), count=1, match={"action.type": "cancel"})
        out = io.StringIO()
        code = run_demo(out, url=fake.http_url, key=key, seconds=0.2)
        text = out.getvalue()
        assert code == 1 and "demo failed" in text
        assert len(_order_actions(fake)) == 2  # the resting order and the one whose cancel failed
        assert "cleaning up: cancelling 2 open order(s)" in text
        assert _open_orders(fake, wallet) == []


def test_demo_on_a_network_cancels_its_orders_on_ctrl_c() -> None:
    class InterruptOnce(io.StringIO):
        fired = False

        def write(self, s: str) -> int:
            n = super().write(s)
            if "-> resting" in s and not self.fired:
                self.fired = True
                raise KeyboardInterrupt  # Ctrl-C while the first order rests
            return n

    with FakeExchange() as fake:
        wallet, key = _demo_wallet(fake)
        out = InterruptOnce()
        with pytest.raises(KeyboardInterrupt):
            run_demo(out, url=fake.http_url, key=key, seconds=0.2)
        assert out.fired and len(_order_actions(fake)) == 1
        assert "cleaning up: cancelling 1 open order(s)" in out.getvalue()
        assert _open_orders(fake, wallet) == []


def test_demo_on_a_network_leaves_nothing_open_when_it_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeExchange() as fake:
        wallet, key = _demo_wallet(fake)
        monkeypatch.setenv("HYPERLIQUID_PRIVATE_KEY", key)  # the key from the environment
        code, text = run("demo", "--url", fake.http_url, "--seconds", "0.2")
        assert code == 0, text
        assert "OK in" in text and "cleaning up: cancelling 1 open order(s)" in text  # the first resting order
        assert _open_orders(fake, wallet) == []


def test_demo_asks_before_trading_on_mainnet() -> None:
    with FakeExchange(chain="Mainnet") as fake:
        wallet, key = _demo_wallet(fake)
        asked: list[str] = []

        def no(prompt: str) -> str:
            asked.append(prompt)
            return "no"

        out = io.StringIO()
        code = run_demo(out, network="mainnet", url=fake.http_url, key=key, confirm=no)
        assert code == 1 and asked and "aborted: nothing was sent" in out.getvalue()
        assert "MAINNET" in out.getvalue()
        assert fake.requests_for("/exchange") == [] and fake.requests_for("/info") == []

        def never(prompt: str) -> str:
            raise AssertionError("--yes must not ask")

        out = io.StringIO()
        code = run_demo(out, network="mainnet", url=fake.http_url, key=key, seconds=0.2, yes=True, confirm=never)
        assert code == 0, out.getvalue()
        assert _open_orders(fake, wallet) == []


# ---------------------------------------------------------------------------------------------- the testing extra
_WITHOUT_AIOHTTP = "import sys; sys.modules['aiohttp'] = None\n"  # `import aiohttp` now fails like a missing package
_HINT = "pip install 'hyperliquid-client[testing]'"


def test_demo_without_the_testing_extra_says_what_to_install() -> None:
    code = _WITHOUT_AIOHTTP + "import runpy; runpy.run_module('hyperliquid_client', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", code, "demo"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"hyperliquid demo: the fake exchange (hyperliquid_client.testing) needs the 'testing' extra: {_HINT}"
    ]


def test_importing_the_fake_exchange_without_the_extra_names_it() -> None:
    code = _WITHOUT_AIOHTTP + "import hyperliquid_client.testing"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"ModuleNotFoundError: the fake exchange (hyperliquid_client.testing) needs the 'testing' extra: {_HINT}"
    )
    assert "During handling" not in proc.stderr  # one error, not a chain


def test_running_the_fake_exchange_without_the_extra_prints_one_line(tmp_path: Path) -> None:
    # a real `python -m` (runpy imports the package before __main__); aiohttp fails as an uninstalled package does
    (tmp_path / "aiohttp").mkdir()
    (tmp_path / "aiohttp" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'aiohttp'\", name='aiohttp')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "hyperliquid_client.testing", "--port", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=60)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"python -m hyperliquid_client.testing: the fake exchange (hyperliquid_client.testing) needs the 'testing' "
        f"extra: {_HINT}"
    ]
