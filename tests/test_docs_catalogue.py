"""The events catalogue in docs/events.md lists exactly the events of ``CATALOGUE`` with their fields."""

from __future__ import annotations

import re
from pathlib import Path

from hyperliquid_client.runtime.events import CATALOGUE

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"


def test_events_doc_matches_catalogue() -> None:
    rows = re.findall(r"^\| `([a-z_.]+)` \| ([^|]*) \|", DOC.read_text(encoding="utf-8"), re.M)
    documented = {name: tuple(f.strip() for f in fields.split(",")) for name, fields in rows}
    assert documented == dict(CATALOGUE)
