"""Serving the recorded payloads of the fixture set (``tests/data/fixtures``, or ``HL_FIXTURES_DIR``), and the CLI."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from hyperliquid_client.generated.samples import ENDPOINTS
from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.testing import FakeExchange, iter_fixtures
from tests.datasets import FIXTURES_DIR

FIXTURES = FIXTURES_DIR
ALL = list(iter_fixtures(FIXTURES))
INFO = [f for f in ALL if f.kind == "info"]
EXCHANGE = [f for f in ALL if f.kind == "exchange"]
WS = [f for f in ALL if f.kind == "ws"]


def compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def fx():
    # replays every fixture as fast as it can: far past the real API's 1200 weight a minute
    with FakeExchange(weight_limit=None) as fake:
        fake.load_fixtures(FIXTURES)
        yield fake


def test_every_file_is_loaded() -> None:
    with FakeExchange(seed=False) as fake:
        names = fake.load_fixtures(FIXTURES)
    assert names == sorted(p.stem for p in FIXTURES.glob("*.json"))
    assert len(INFO) + len(EXCHANGE) + len(WS) == len(names) > 0


@pytest.mark.parametrize("fixture", INFO, ids=[f.name for f in INFO])
def test_info_fixture_is_served_with_its_status_and_exact_body(fx: FakeExchange, fixture) -> None:
    r = httpx.post(fx.http_url + "/info", json=fixture.request, timeout=10)
    assert r.status_code == fixture.status
    assert r.json() == fixture.response
    assert r.content == compact(fixture.response)  # key order and number text preserved (an error body too)


async def test_info_fixtures_over_ws_post(fx: FakeExchange) -> None:
    async with websockets.connect(fx.ws_url, max_size=None) as ws:
        for i, fixture in enumerate(INFO):
            request = {"type": "info", "payload": fixture.request}
            await ws.send(json.dumps({"method": "post", "id": i, "request": request}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))["data"]
            assert reply["id"] == i
            if fixture.status == 200:
                assert reply["response"] == {
                    "type": "info",
                    "payload": {"type": fixture.request["type"], "data": fixture.response},
                }, fixture.name
            else:
                assert reply["response"]["type"] == "error" and reply["response"]["payload"].startswith("500")


def test_fixtures_sharing_a_type_are_told_apart_by_body_fields(tmp_path: Path) -> None:
    requests = [
        {"type": "fundingHistory", "coin": "ETH", "startTime": 1, "endTime": 2},
        {"type": "fundingHistory", "coin": "ETH", "startTime": 1, "endTime": 3},
    ]
    for n, request in enumerate(requests, 1):
        recording = {"source": "a test", "transport": "http", "request": request, "response": [{"n": n}], "notes": ""}
        (tmp_path / f"fundingHistory__{n}.json").write_text(json.dumps(recording))
    with FakeExchange(seed=False) as fake:
        assert fake.load_fixtures(tmp_path) == ["fundingHistory__1", "fundingHistory__2"]
        for n, request in enumerate(requests, 1):
            assert httpx.post(fake.http_url + "/info", json=request).json() == [{"n": n}]
        # no file matches this body: not served from fixtures but from the spec's sample
        r = httpx.post(fake.http_url + "/info", json={"type": "fundingHistory", "coin": "DOGE", "startTime": 1})
        assert r.status_code == 200 and r.json() == ENDPOINTS["info.fundingHistory"]["response"]


@pytest.mark.parametrize("fixture", EXCHANGE, ids=[f.name for f in EXCHANGE])
def test_exchange_fixture_is_the_canned_answer_for_its_action(fx: FakeExchange, fixture) -> None:
    body = {
        "action": {"type": fixture.request["action"]["type"]},
        "nonce": 1,
        "signature": {"r": "0x1", "s": "0x2", "v": 27},
    }
    r = httpx.post(fx.http_url + "/exchange", json=body)
    assert r.status_code == fixture.status and r.json() == fixture.response


@pytest.mark.parametrize("fixture", WS, ids=[f.name for f in WS])
async def test_ws_fixture_is_replayed_after_the_ack(fx: FakeExchange, fixture) -> None:
    async with websockets.connect(fx.ws_url) as ws:
        await ws.send(json.dumps(fixture.request))
        got = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in fixture.response]
    recorded_ack, *recorded_data = fixture.response
    ack, *data = got
    assert ack["channel"] == "subscriptionResponse" and ack["data"]["method"] == "subscribe"
    # the echo may carry more defaults than the recording, never different values
    recorded_sub = recorded_ack["data"]["subscription"]
    assert {k: ack["data"]["subscription"][k] for k in recorded_sub} == recorded_sub
    assert data == recorded_data


def test_bad_fixture_directories_raise(tmp_path: Path) -> None:
    with FakeExchange(seed=False) as fake:
        with pytest.raises(InvalidInputError):
            fake.load_fixtures(tmp_path / "missing")
        (tmp_path / "bad.json").write_text('{"source": "x"}')
        with pytest.raises(InvalidInputError):
            fake.load_fixtures(tmp_path)


def test_cli_prints_the_urls_and_serves_until_terminated() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyperliquid_client.testing", "--port", "0", "--seed", "--log-level", "WARNING"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        http_url, ws_url = line.split(" ")
        assert http_url.startswith("http://127.0.0.1:") and ws_url == http_url.replace("http", "ws", 1) + "/ws"
        r = httpx.post(http_url + "/info", json={"type": "meta"}, timeout=5)
        assert r.status_code == 200 and r.json()["universe"][0]["name"] == "BTC"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == ""  # nothing after the URL line


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--fund", "0x12=100"], "argument --fund: invalid address: expected 0x followed by 40 hex digits, got '0x12'"),
        (["--fund", "0x" + "12" * 20 + "=lots"], "argument --fund: invalid usdc: expected a decimal amount"),
        (["--port", "99999"], "argument --port: invalid port"),
    ],
)
def test_cli_bad_arguments_are_usage_errors_not_tracebacks(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from hyperliquid_client.testing.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err and "usage:" in err and "Traceback" not in err


def test_cli_port_in_use_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from hyperliquid_client.testing.__main__ import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["--port", str(port), "--log-level", "WARNING"])
    err = capsys.readouterr().err
    assert exited.value.code == 1 and f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
