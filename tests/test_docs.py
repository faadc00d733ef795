"""Every code example in ``docs/`` runs.

Each Markdown file's ```` ```python ```` blocks are joined in order into one script (later blocks
may use names from earlier ones) and run in a fresh interpreter, with a fake exchange started
for it: ``HYPERLIQUID_HTTP_URL`` / ``HYPERLIQUID_WS_URL`` point at it, so ``Client()`` in an
example talks to the fake.  Examples needing PostgreSQL get ``HYPERLIQUID_STORAGE_DSN`` from a
throwaway cluster, those needing Redis ``HYPERLIQUID_REDIS_URL`` from a throwaway server.
```` ```sh ```` blocks are not run (they are commands for the reader).
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

from hyperliquid_client.testing import FakeExchange

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
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
    with FakeExchange() as fx:
        env["HYPERLIQUID_HTTP_URL"] = fx.http_url
        env["HYPERLIQUID_WS_URL"] = fx.ws_url
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
