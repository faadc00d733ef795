"""Reading recorded API payloads (the ``source/transport/request/response/notes`` file format).

Each ``*.json`` file holds one payload: ``transport`` ``"http"`` (an ``/info`` request and its
body, or an ``/exchange`` response keyed by ``request.action.type``) or ``"ws"`` (a subscribe
message and the list of messages received).  The HTTP status is 200 unless ``notes`` says
``-> HTTP <code>``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from hyperliquid_client.runtime.errors import InvalidInputError

__all__ = ["Fixture", "iter_fixtures"]

_STATUS = re.compile(r"->\s*HTTP\s+(\d{3})")
_KEYS = frozenset({"source", "transport", "request", "response", "notes"})


@attrs.frozen
class Fixture:
    """One recorded payload; ``name`` is the file stem (``"l2Book__1"``)."""

    name: str
    path: Path
    transport: str
    request: Any
    response: Any
    notes: str
    source: str

    @property
    def status(self) -> int:
        """HTTP status of the recording (200 unless the notes say otherwise)."""
        found = _STATUS.search(self.notes or "")
        return int(found.group(1)) if found else 200

    @property
    def kind(self) -> str:
        """``"info"``, ``"exchange"`` or ``"ws"``."""
        if self.transport == "ws":
            return "ws"
        if isinstance(self.request, dict) and isinstance(self.request.get("action"), dict):
            return "exchange"
        return "info"


def iter_fixtures(directory: str | os.PathLike[str]) -> Iterator[Fixture]:
    """Every fixture file in ``directory`` (sorted by name); raises on a malformed file."""
    root = Path(directory)
    if not root.is_dir():
        raise InvalidInputError("directory", "an existing directory of fixture files", str(directory))
    for path in sorted(root.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError("directory", "readable JSON fixture files", path.name, detail=str(exc)) from exc
        if not isinstance(data, dict) or not data.keys() >= _KEYS or data["transport"] not in ("http", "ws"):
            raise InvalidInputError("directory", "files with source/transport/request/response/notes", path.name)
        yield Fixture(
            name=path.stem,
            path=path,
            transport=data["transport"],
            request=data["request"],
            response=data["response"],
            notes=str(data.get("notes") or ""),
            source=str(data.get("source") or ""),
        )
