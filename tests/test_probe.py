"""``hyperliquid spec probe`` against the fake exchange: a clean run, injected drift (added field,
removed field, unknown enum value and variant, wrong type — in answers and in channel messages), fixtures it records
that a fake can serve again, ``--user``, pacing under the weight budget, and Ctrl-C."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperliquid_client import probe as probe_module
from hyperliquid_client.cli import main as cli_main
from hyperliquid_client.client import Client, ClientConfig
from hyperliquid_client.generated.registry import CHANNELS, ENDPOINTS
from hyperliquid_client.generated.samples import ENDPOINTS as SAMPLES
from hyperliquid_client.probe import ProbeReport, probe
from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.testing import FakeExchange, iter_fixtures

USER = "0x" + "ab" * 20
#: No weight limit on either side (pacing has its own test)
UNLIMITED = ClientConfig(warm=False, rate=RateLimitConfig(budget=10**6))


def fake(**options: Any) -> FakeExchange:
    return FakeExchange(weight_limit=None, **options)


def sample(wire: str) -> Any:
    return copy.deepcopy(SAMPLES[f"info.{wire}"]["response"])


def inject_drift(fx: FakeExchange) -> None:
    """Answers that no longer match the spec, one kind each."""
    fx.set_info("exchangeStatus", {**sample("exchangeStatus"), "surprise": 1})  # added field
    book = fx.market.l2_book("BTC")
    assert book is not None
    del book["time"]
    fx.set_info("l2Book", lambda body: {**book, "coin": body["coin"]})  # removed (required) field (the coin asked)
    ledger = sample("userNonFundingLedgerUpdates")
    ledger[0]["delta"] = {"type": "brandNewKind", "usdc": "1.0"}
    fx.set_info("userNonFundingLedgerUpdates", ledger)  # a variant the spec does not know
    trades = sample("recentTrades")
    trades[0]["side"] = "X"
    fx.set_info("recentTrades", trades)  # an enum value the spec does not know
    meta = fx.market.meta
    meta = {**meta, "universe": [{**meta["universe"][0], "szDecimals": "5"}, *meta["universe"][1:]]}
    fx.set_info("meta", meta)  # wrong type
    fx.on_subscribe(
        lambda sub: {**fx.market.l2_book(sub["coin"]), "depth": 20} if sub["type"] == "l2Book" else None
    )  # a channel message with a field the spec does not know


def run_probe(fx: FakeExchange, **kw: Any) -> ProbeReport:
    with Client(http_url=fx.http_url, config=UNLIMITED) as client:
        return probe(client, seconds=kw.pop("seconds", 1.0), **kw)


@pytest.fixture(scope="module")
def clean() -> Iterator[tuple[FakeExchange, ProbeReport, Path]]:
    with fake() as fx:
        yield fx, run_probe(fx), Path()


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeExchange, ProbeReport, Path]]:
    folder = tmp_path_factory.mktemp("recorded")
    with fake() as fx:
        inject_drift(fx)
        yield fx, run_probe(fx, record=folder, user=USER), folder


def by_target(report: ProbeReport) -> dict[str, probe_module.Outcome]:
    return {o.target: o for o in report.outcomes}


def test_a_default_fake_matches_the_spec(clean: tuple[FakeExchange, ProbeReport, Path]) -> None:
    fx, report, _ = clean
    outcomes = by_target(report)
    info = [e for e in ENDPOINTS.values() if e.context == "info"]
    assert all(outcomes[e.qualified_name].status == "ok" for e in info)
    assert {o.target for o in report.outcomes} == {e.qualified_name for e in info} | {
        c.qualified_name for c in CHANNELS.values()
    }
    assert report.clean and not report.interrupted
    assert outcomes["channel.l2Book"].status == "ok" and outcomes["channel.l2Book"].messages >= 1
    assert outcomes["channel.userFills"].status == "skipped"  # user channels need --user
    assert outcomes["channel.explorerBlock"].status == "skipped"
    assert "Everything the server answered matches the spec." in report.render()
    # every info endpoint was asked (the streams ask meta and spotMeta for their coins too)
    assert {r.body["type"] for r in fx.requests_for("/info")} == {e.wire for e in info}


def test_injected_drift_is_reported_by_endpoint_and_path(drifted: tuple[FakeExchange, ProbeReport, Path]) -> None:
    _, report, _ = drifted
    outcomes = by_target(report)
    found = {(o.target, d.kind, d.path) for o in report.outcomes for d in o.drift}
    assert ("info.exchangeStatus", "extra", "$.surprise") in found
    assert ("info.l2Book", "missing", "$.time") in found
    assert ("info.meta", "type", "$.universe[*].szDecimals") in found
    assert ("info.userNonFundingLedgerUpdates", "variant", "$[*].delta") in found
    assert ("info.recentTrades", "enum", "$[*].side") in found
    assert any(t == "channel.l2Book" and k == "extra" and p.endswith("depth") for t, k, p in found)
    for target in ("info.exchangeStatus", "info.l2Book", "info.meta", "info.recentTrades", "channel.l2Book"):
        assert outcomes[target].status == "drift"
    assert outcomes["info.allMids"].status == "ok"
    assert not report.clean
    text = report.render()
    assert "Drift from the spec:" in text
    assert "info.exchangeStatus" in text and "$.surprise" in text and "got number" in text
    doc = report.to_json()
    assert doc["summary"]["drift"] == 6 and json.dumps(doc)
    assert "'X'" in text  # an unknown enum value is shown (what a maintainer adds to the spec)


def test_user_replaces_the_samples_user(drifted: tuple[FakeExchange, ProbeReport, Path]) -> None:
    fx, report, _ = drifted
    users = {r.body["user"] for r in fx.requests_for("/info") if "user" in r.body}
    assert users == {USER}
    subs = [
        r.body["subscription"] for r in fx.requests_for("/ws") if isinstance(r.body, dict) and "subscription" in r.body
    ]
    assert {s["user"] for s in subs if "user" in s} == {USER}
    assert by_target(report)["channel.userFills"].status == "ok"  # the snapshot arrived


def test_recorded_answers_become_fixtures_a_fake_serves(drifted: tuple[FakeExchange, ProbeReport, Path]) -> None:
    folder = drifted[2]
    fixtures = {f.name: f for f in iter_fixtures(folder)}
    info = [e for e in ENDPOINTS.values() if e.context == "info"]
    assert {f"{e.wire}__1" for e in info} <= set(fixtures)
    meta = fixtures["meta__1"]
    assert meta.transport == "http" and meta.request == {"type": "meta"}
    assert meta.response["universe"][0]["szDecimals"] == "5"  # verbatim, drift included
    book = fixtures["ws_l2Book__1"]
    assert book.transport == "ws" and book.response[0]["channel"] == "subscriptionResponse"
    assert book.response[1]["data"]["depth"] == 20
    # the recording is a test: a fake serving it answers exactly the same, and the probe sees the same drift
    with fake(seed=False) as replay:
        replay.load_fixtures(folder)
        again = run_probe(replay, only=["meta", "exchangeStatus", "l2Book"], user=USER)
    assert {(o.target, d.kind, d.path) for o in again.outcomes for d in o.drift} >= {
        ("info.meta", "type", "$.universe[*].szDecimals"),
        ("info.exchangeStatus", "extra", "$.surprise"),
        ("channel.l2Book", "extra", "$.depth"),
    }


def test_the_probe_waits_for_the_weight_budget_instead_of_failing() -> None:
    # a server allowing 60 weight per 2 s and a client keeping that budget: eight endpoints of weight 20
    # cannot all go at once; calls that would wait past their timeout wait for the budget and go again
    only = ["extraAgents", "perpDexs", "meta", "spotMeta", "userFees", "portfolio", "referral", "subAccounts"]
    assert sum(ENDPOINTS[f"info.{w}"].weight for w in only) > 120
    said: list[str] = []
    config = ClientConfig(warm=False, rate=RateLimitConfig(budget=60, window=2.0))
    with FakeExchange(weight_limit=60, weight_window=2.0) as fx, Client(http_url=fx.http_url, config=config) as client:
        report = probe(client, seconds=0.2, only=only, timeout=0.5, progress=said.append)
        assert fx.weights.rejected == []  # the server never had to refuse anything
    assert [o.status for o in report.outcomes if o.target.startswith("info.")] == ["ok"] * len(only)
    assert any(line.startswith("waiting ") and "for the weight budget" in line for line in said)


def test_ctrl_c_stops_cleanly_with_a_partial_report() -> None:
    seen: list[str] = []

    def progress(text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with fake() as fx, Client(http_url=fx.http_url, config=UNLIMITED) as client:
        report = probe(client, progress=progress)
        assert report.interrupted
        assert len(report.outcomes) == 3 and all(o.status == "ok" for o in report.outcomes)
        assert "interrupted: partial report" in report.render()
        assert fx.ws_subscriptions == []  # the channel phase never started


def test_ctrl_c_while_listening_closes_every_subscription(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_sleep = probe_module.time.sleep

    def sleep(seconds: float) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_sleep(seconds)

    with fake() as fx, Client(http_url=fx.http_url, config=UNLIMITED) as client:
        monkeypatch.setattr(probe_module.time, "sleep", sleep)
        report = probe(client, only=["l2Book", "trades", "allMids"], seconds=30)
        monkeypatch.setattr(probe_module.time, "sleep", real_sleep)
        assert report.interrupted
        assert {o.target: o.status for o in report.outcomes}["channel.l2Book"] == "ok"
        deadline = probe_module.time.monotonic() + 10
        while fx.ws_subscriptions and probe_module.time.monotonic() < deadline:
            real_sleep(0.02)
        assert fx.ws_subscriptions == []


def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    with fake() as fx, Client(http_url=fx.http_url, config=UNLIMITED) as client:
        with pytest.raises(InvalidInputError) as info:
            probe(client, user="alice")
        assert info.value.field == "user"
        assert fx.requests_for("/info") == []


def test_cli_prints_the_report_and_exits_1_on_drift(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeExchange() as fx:
        out = io.StringIO()
        code = cli_main(
            ["--url", fx.http_url, "spec", "probe", "--only", "allMids", "--only", "bbo", "--seconds", "1"], out=out
        )
        assert code == 0, capsys.readouterr().err
        assert out.getvalue().startswith(f"Spec probe of {fx.http_url}")
        assert (
            "info: 1 probed: 1 ok" in out.getvalue() and "channels: 2 probed: 2 ok" in out.getvalue()
        )  # allMids is a channel too
        assert "[1/1] info.allMids: ok" in capsys.readouterr().err  # progress on stderr
        fx.set_info("allMids", {"BTC": True})
        out = io.StringIO()
        code = cli_main(["spec", "probe", "--url", fx.http_url, "--only", "allMids", "--format", "json"], out=out)
        assert code == 1
        doc = json.loads(out.getvalue())
        assert doc["outcomes"][0]["drift"][0]["kind"] == "type"
        code = cli_main(["--url", fx.http_url, "spec", "probe", "--user", "nobody"], out=io.StringIO())
        assert code == 2 and "user" in capsys.readouterr().err
