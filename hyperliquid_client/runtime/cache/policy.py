"""Cache keys and default lifetimes of info requests.

The TTL of each info request type comes from its spec file (``cache: {ttl: <seconds>}``, the
generated registry's ``cache_ttl``), applied by the client's HTTP caller; requests without one are
not cached.  This module holds what the market-metadata service needs on top: default lifetimes
per kind of data and the canonical key of an info request body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_TTL_BY_KIND", "info_cache_key"]

#: Default TTL (seconds) of each kind of data (``metadata`` matches the spec's 60 s for ``meta``).
DEFAULT_TTL_BY_KIND: Mapping[str, float] = {
    "metadata": 60.0,
    "reference": 10.0,
    "market": 2.0,
    "prices": 1.0,
    "book": 0.5,
    "live": 0.0,
    "user": 0.0,
}


def info_cache_key(body: Mapping[str, Any]) -> tuple[str, str]:
    """The cache key of an info request body: ``("info", canonical JSON)``.

    Keys are sorted, ``None`` values dropped (the API treats omitted and null alike) and an empty
    ``dex`` dropped (``""`` is the main dex), so equivalent requests share one entry.
    """
    canonical = {k: v for k, v in body.items() if v is not None and not (k == "dex" and v == "")}
    return ("info", json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str))
