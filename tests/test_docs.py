"""Every code example in ``docs/`` and the README runs as a reader would run it, and type-checks.

Each Markdown file's ```` ```python ```` blocks are joined in order into one script (later blocks
may use names from earlier ones) and run in a fresh interpreter in an empty folder, with no
``HYPERLIQUID_*`` variable set: an example that needs a server starts the fake exchange itself,
on the page.  The exceptions are ``HYPERLIQUID_STORAGE_DSN`` and ``HYPERLIQUID_REDIS_URL``, which pages read
as optional ("PostgreSQL / Redis when set, else in memory"): they point at throwaway servers so those paths run too.
The same scripts pass mypy with the project's configuration (what a reader's type checker says
about the documented API).  ```` ```sh ```` blocks are not run (they are commands for the reader).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pgcluster import pg_cluster, pg_dsn  # noqa: F401 - fixtures for examples that need PostgreSQL
from redisserver import redis_server, redis_url  # noqa: F401 - fixtures for examples that need Redis

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(path: Path) -> list[str]:
    return [m.group(1) for m in _BLOCK.finditer(path.read_text(encoding="utf-8"))]


WITH_CODE = [p for p in DOCS if blocks(p)]


def test_docs_exist() -> None:
    names = {p.stem for p in DOCS}
    for required in (
        "getting-started",
        "spec-format",
        "signing",
        "websocket",
        "caching",
        "storage",
        "testing",
        "events",
        "configuration",
        "exchange",
        "rate-limits",
    ):
        assert required in names, f"docs/{required}.md is missing"


@pytest.mark.parametrize("doc", WITH_CODE, ids=[p.name for p in WITH_CODE])
def test_doc_examples_run(doc: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    script = "\n\n".join(blocks(doc))
    target = tmp_path / f"{doc.stem}.py"
    target.write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERLIQUID_")}
    env["PYTHONPATH"] = str(ROOT)
    if "HYPERLIQUID_STORAGE_DSN" in script:
        env["HYPERLIQUID_STORAGE_DSN"] = request.getfixturevalue("pg_dsn")
    if "HYPERLIQUID_REDIS_URL" in script:
        env["HYPERLIQUID_REDIS_URL"] = request.getfixturevalue("redis_url")
    proc = subprocess.run(
        [sys.executable, str(target)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, f"{doc.name} examples failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def test_doc_examples_type_check(tmp_path: Path) -> None:
    """The examples pass mypy with the project's settings: the documented API is typed the way it is used."""
    for doc in WITH_CODE:
        (tmp_path / f"{doc.stem.replace('-', '_')}_example.py").write_text("\n\n".join(blocks(doc)), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),  # shared with `make typecheck`: the package is already checked there
            "--no-error-summary",
            *sorted(str(p) for p in tmp_path.glob("*.py")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"mypy on the docs' examples:\n{proc.stdout[-5000:]}{proc.stderr[-2000:]}"
