"""``python -m bench``: names pick the benchmarks, options reach each of them, ``--help`` runs nothing."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import bench.__main__ as cli


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    got: list[tuple[str, list[str]]] = []

    def run_module(name: str, run_name: str) -> None:
        assert run_name == "__main__"
        got.append((name, list(sys.argv)))

    monkeypatch.setattr(cli.runpy, "run_module", run_module)
    return got


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], [("bench.goals", ["bench.goals"])]),
        (["--rounds", "3"], [("bench.goals", ["bench.goals", "--rounds", "3"])]),
        (
            ["goals", "signing", "--repeats", "1"],
            [
                ("bench.goals", ["bench.goals", "--repeats", "1"]),
                ("bench.signing", ["bench.signing", "--repeats", "1"]),
            ],
        ),
        (["signing", "--help"], [("bench.signing", ["bench.signing", "--help"])]),
        (["all"], [(f"bench.{n}", [f"bench.{n}"]) for n in cli.ALL]),
    ],
)
def test_names_and_options(runs: list[tuple[str, list[str]]], argv: list[str], expected: Any) -> None:
    saved = list(sys.argv)
    assert cli.main(argv) == 0
    assert runs == expected
    assert sys.argv == saved  # restored after each benchmark


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_runs_nothing(runs: list[tuple[str, list[str]]], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([flag]) == 0
    assert runs == []
    assert "python -m bench [name ...] [--option ...]" in capsys.readouterr().out


def test_unknown_name_runs_nothing(runs: list[tuple[str, list[str]]], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["goals", "nope"]) == 2
    assert runs == []
    assert "unknown benchmark(s): nope" in capsys.readouterr().err


def test_a_failing_benchmark_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_module(name: str, run_name: str) -> None:
        raise SystemExit(1 if name == "bench.cache" else 0)

    monkeypatch.setattr(cli.runpy, "run_module", run_module)
    assert cli.main(["cache", "signing"]) == 1
    assert cli.main(["signing"]) == 0


def test_goal_rounds_take_turns_and_keep_the_best_value_of_each_measure() -> None:
    from bench.goals.__main__ import best_of

    calls: list[str] = []

    def contender(name: str, values: list[dict[str, float] | None]) -> Any:
        def run() -> tuple[dict[str, float] | None, str]:
            calls.append(name)
            got = values[len([c for c in calls if c == name]) - 1]
            return got, "" if got is not None else f"{name} failed"

        return run

    ours = contender("ours", [{"a": 1.0, "b": 5.0}, {"a": 3.0, "b": 2.0}, None])
    sdk = contender("sdk", [None, None, None])
    (o, why_o), (s, why_s) = best_of(3, ours, sdk, better=min)
    assert calls == ["ours", "sdk"] * 3  # each round runs every contender once, in turn
    assert o == {"a": 1.0, "b": 2.0}  # the best of each measure, whichever round gave it
    assert why_o == "ours failed"  # (a failed round is said, not hidden by the ones that worked)
    assert s is None and why_s == "sdk failed"


def test_the_separator_is_dropped(runs: list[tuple[str, list[str]]]) -> None:
    assert cli.main(["signing", "--", "--help"]) == 0
    assert cli.main(["--", "--rounds", "1"]) == 0
    assert runs == [("bench.signing", ["bench.signing", "--help"]), ("bench.goals", ["bench.goals", "--rounds", "1"])]


@pytest.mark.parametrize(
    ("argv", "first"),
    [(["--rounds", "1", "goals"], "goals first"), (["signing", "--repeats", "1", "cache"], "signing cache first")],
)
def test_a_name_after_the_options_is_refused_before_anything_runs(
    runs: list[tuple[str, list[str]]], argv: list[str], first: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert runs == []
    err = capsys.readouterr().err
    assert "benchmark names come before the options: " + first in err and "--option=value" in err
