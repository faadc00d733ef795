"""Prove that the tests reading the data sets hold for any valid set in their format.

Writes perturbed copies of ``tests/data/fixtures`` and ``tests/data/vectors`` (recordings dropped and cut, vectors
removed and reordered; see ``tests/datasets.py``) into a temporary folder and runs the data tests with
``HL_FIXTURES_DIR`` / ``HL_VECTORS_DIR`` pointing at them: they must pass.  Then it runs them against empty
folders: they must fail (a missing set is an error, never a vacuous pass).

    .venv/bin/python scripts/check_datasets.py                # the data tests, a random seed
    .venv/bin/python scripts/check_datasets.py --seed 7 --all # the whole suite, a given seed
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.datasets import DATA, perturb_fixtures, perturb_vectors  # noqa: E402 - after the path is set

#: The test modules that read the overridable sets (this check's own test excluded).
_READS_A_SET = re.compile(r"\b(?:FIXTURES_DIR|VECTORS_DIR)\b|(?<![\w.])(?:fixtures|fixture_files)\(")
DATA_TESTS = sorted(
    str(p.relative_to(ROOT))
    for p in (ROOT / "tests").glob("test_*.py")
    if p.name != "test_datasets.py" and _READS_A_SET.search(p.read_text(encoding="utf-8"))
)


def run_tests(fixtures: Path, vectors: Path, tests: list[str], extra: list[str]) -> int:
    env = dict(os.environ, HL_FIXTURES_DIR=str(fixtures), HL_VECTORS_DIR=str(vectors))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, *tests]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=None, help="perturbation seed (default: random, printed)")
    parser.add_argument("--all", action="store_true", help="run the whole suite, not only the data tests")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="keep only 5-15%% of the vectors and skip the PostgreSQL cases (what the suite runs)",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    tests = ["--ignore=tests/test_datasets.py"] if args.all else DATA_TESTS  # not this check within itself
    with tempfile.TemporaryDirectory(prefix="hl-datasets-") as tmp:
        work = Path(tmp)
        rng = random.Random(seed)
        perturb_fixtures(DATA / "fixtures", work / "fixtures", rng)
        perturb_vectors(DATA / "vectors", work / "vectors", rng, keep=(0.05, 0.15) if args.quick else (0.3, 0.8))
        say(f"perturbed sets (seed {seed}) in {work}: the data tests must pass")
        quick = ["-k", "not postgres"] if args.quick else []  # the memory backend reads the same rows
        perturbed = run_tests(work / "fixtures", work / "vectors", tests, [*quick, *args.pytest_args])
        (work / "empty-fixtures").mkdir()
        (work / "empty-vectors").mkdir()
        vacuous = []
        for module in DATA_TESTS:  # each module on its own: one loud module must not hide a vacuous one
            say(f"empty sets: {module} must fail")
            code = run_tests(work / "empty-fixtures", work / "empty-vectors", [module], ["-x", "--no-header"])
            if code in (0, 5):  # 5: no test collected, i.e. a vacuous pass
                vacuous.append(module)
    ok = perturbed == 0 and not vacuous
    say(
        f"perturbed sets: exit {perturbed} (want 0); passing on empty sets: {vacuous or 'none'} -> "
        f"{'OK' if ok else 'FAILED'} (seed {seed})"
    )
    return 0 if ok else 1


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
