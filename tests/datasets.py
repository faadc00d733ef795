"""Where the tests find their recorded data.

Two data sets live in the repository (copied from public sources; each file keeps its ``source``/``notes`` and each
folder has a note with the provenance).  One environment variable per set points the tests at another folder in
the same format, e.g. a second vector set generated the same way:

* ``HL_FIXTURES_DIR`` — payloads recorded from the real API (default ``tests/data/fixtures``);
* ``HL_VECTORS_DIR`` — signing vectors produced by the official SDK (default ``tests/data/vectors``).

Tests that read these sets assert only what holds for *any* valid set in that format (round trips, exact
decimals, signature equality; counts compared with the set itself, never with a number).  Checks of particular
values read ``tests/data/owned/`` (:data:`OWNED_DIR`), which no variable overrides.
``scripts/check_datasets.py`` runs the data tests on perturbed copies of both sets (and on empty ones, which must
fail) to prove it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"

FIXTURES_DIR = Path(os.environ.get("HL_FIXTURES_DIR") or DATA / "fixtures")
VECTORS_DIR = Path(os.environ.get("HL_VECTORS_DIR") or DATA / "vectors")
#: Recordings owned by the tests for spot checks of values (same format as the fixtures; not overridable).
OWNED_DIR = DATA / "owned"


def fixture_files(type_: str, directory: Path | None = None) -> list[Path]:
    """Every recording of ``type_`` (``userFills``, ``ws_trades``…) in the fixture set; fails loudly when none."""
    folder = FIXTURES_DIR if directory is None else directory
    files = sorted(folder.glob(f"{type_}__*.json"))
    if not files:
        raise AssertionError(f"the fixture set {folder} has no {type_}__<n>.json recording (the tests need one)")
    return files


def fixtures(type_: str) -> list[dict[str, Any]]:
    """The decoded recordings of ``type_`` in the fixture set (see :func:`fixture_files`)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in fixture_files(type_)]


def owned(name: str) -> dict[str, Any]:
    """An owned recording by file stem, e.g. ``owned("meta__1")`` (the whole file: request, response, notes)."""
    data: dict[str, Any] = json.loads((OWNED_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data


# -------------------------------------------------------------------------------------------- perturbed copies
def _subset(
    items: list[Any], rng: random.Random, *, shuffle: bool, keep: tuple[float, float] = (0.3, 0.8)
) -> list[Any]:
    """A random non-empty part of ``items`` (a share drawn from ``keep``; in their order unless ``shuffle``)."""
    chosen = sorted(rng.sample(range(len(items)), max(1, round(len(items) * rng.uniform(*keep)))))
    out = [items[i] for i in chosen]
    if shuffle:
        rng.shuffle(out)
    return out


def _records(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 1 and all(isinstance(x, dict) for x in value)


def perturb_fixtures(src: Path, dst: Path, rng: random.Random) -> None:
    """Write to ``dst`` a valid fixture set that differs from ``src``: a type's extra recordings dropped, lists of
    records (fills, orders, candles, trades…) cut to a random part, WebSocket sessions cut to some of their data
    messages (the acknowledgement stays first).  Positional arrays (``[meta, ctxs]``) are left whole."""
    dst.mkdir(parents=True, exist_ok=True)
    kept_types: set[str] = set()
    for path in sorted(src.glob("*.json")):
        kind = path.stem.rsplit("__", 1)[0]
        if kind in kept_types:
            continue  # one recording per type is a valid set too
        kept_types.add(kind)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["transport"] == "ws":
            ack, *messages = data["response"]
            messages = _subset(messages, rng, shuffle=False) if messages else messages
            for m in messages:
                if _records(m.get("data")):
                    m["data"] = _subset(m["data"], rng, shuffle=False)
            data["response"] = [ack, *messages]
        elif _records(data["response"]):
            data["response"] = _subset(data["response"], rng, shuffle=False)
        (dst / path.name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def perturb_vectors(src: Path, dst: Path, rng: random.Random, keep: tuple[float, float] = (0.3, 0.8)) -> None:
    """Write to ``dst`` a valid vector set that differs from ``src``: each file keeps a random part of its vectors
    (a share drawn from ``keep``), in a random order, with ``count`` (and the manifest) updated to match."""
    dst.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    for path in sorted(src.glob("*.json")):
        if path.name == "manifest.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        data["vectors"] = _subset(data["vectors"], rng, shuffle=True, keep=keep)
        data["count"] = len(data["vectors"])
        text = json.dumps(data, ensure_ascii=False, indent=1)
        (dst / path.name).write_text(text, encoding="utf-8")
        entry = manifest["files"].get(path.name)
        if entry is not None:
            entry["count"] = data["count"]
            entry["sha256"] = hashlib.sha256(text.encode()).hexdigest()
            entry.pop("by_kind", None)
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
