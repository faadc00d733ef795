"""Where the tests find their recorded data sets.

Both sets live in the repository (copied from public sources; each file keeps its ``source``/``notes`` and each
folder has a README with the provenance).  One environment variable per set points the tests at another folder in
the same format, e.g. a second vector set generated the same way:

* ``HL_FIXTURES_DIR`` — payloads recorded from the real API (default ``tests/data/fixtures``);
* ``HL_VECTORS_DIR`` — signing vectors produced by the official SDK (default ``tests/data/vectors``).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

FIXTURES_DIR = Path(os.environ.get("HL_FIXTURES_DIR") or DATA / "fixtures")
VECTORS_DIR = Path(os.environ.get("HL_VECTORS_DIR") or DATA / "vectors")
