"""The data-set tests hold for any valid set in their format, and fail loudly on a missing one.

Runs ``scripts/check_datasets.py``: the tests that read ``HL_FIXTURES_DIR`` / ``HL_VECTORS_DIR`` against perturbed
copies of both sets (must pass), then each of them against empty folders (must fail, never pass vacuously).
The seed is random and printed, so a failure can be replayed with ``--seed``.  ``--quick`` keeps a small share of
the vectors (the full set runs in the ordinary tests); the script without it, or with ``--all``, checks more.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from tests.datasets import DATA, perturb_fixtures, perturb_vectors

ROOT = Path(__file__).resolve().parents[1]


def _ident(vector: dict[str, object]) -> str:
    return str(vector.get("id") or json.dumps(vector, sort_keys=True))


def test_perturbed_copies_differ_and_stay_valid(tmp_path: Path) -> None:
    rng = random.Random(5)
    perturb_fixtures(DATA / "fixtures", tmp_path / "f", rng)
    perturb_vectors(DATA / "vectors", tmp_path / "v", rng)
    original = {p.name: json.loads(p.read_text()) for p in (DATA / "fixtures").glob("*.json")}
    copies = {p.name: json.loads(p.read_text()) for p in (tmp_path / "f").glob("*.json")}
    assert set(copies) < set(original)  # a type's extra recordings dropped
    assert any(copies[n]["response"] != original[n]["response"] for n in copies)  # some lists cut
    for name, data in copies.items():
        assert set(data) == {"source", "transport", "request", "response", "notes"}, name
    for path in (tmp_path / "v").glob("*.json"):
        if path.name != "manifest.json":
            data = json.loads(path.read_text())
            before = json.loads((DATA / "vectors" / path.name).read_text())
            assert 0 < data["count"] == len(data["vectors"]) < before["count"]
            assert {_ident(v) for v in data["vectors"]} <= {_ident(v) for v in before["vectors"]}


def test_the_data_tests_hold_for_other_sets_and_fail_without_one() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_datasets.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    perturbed_run = proc.stdout.split("\nempty sets:")[0]  # the run on perturbed sets, before the empty-set runs
    assert proc.returncode == 0, f"{summary}\n{perturbed_run[-6000:]}\n{proc.stderr[-2000:]}"
    assert summary.startswith("perturbed sets: exit 0") and "passing on empty sets: none" in summary
