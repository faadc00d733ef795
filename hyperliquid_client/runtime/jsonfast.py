"""JSON decoding on the WebSocket hot path: ``orjson`` when installed (``pip install 'hyperliquid-client[fast]'``),
else the standard library, with the same results.

Parsing is most of the cost of a market-data message: on the benchmark's frames ``orjson`` decodes 2-2.6 times
as many per second as :func:`json.loads` (``make bench`` prints both).  A frame ``orjson`` refuses (``NaN``,
numbers out of a double's range) is decoded again by the standard library, so what is accepted does not depend
on which is installed.  One difference remains: an integer beyond 64 bits (Hyperliquid sends none) arrives as a
float from ``orjson``; typed delivery refuses it as a non-integer.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["FAST", "fast_loads", "loads"]

try:
    import orjson
except ImportError:  # the standard library alone
    orjson = None  # type: ignore[assignment]

#: Whether ``orjson`` is in use.
FAST = orjson is not None


def _std_loads(data: str | bytes) -> Any:
    return json.loads(data)


def _fast_loads(data: str | bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # what the standard library accepts is accepted; otherwise its error


#: Decode one JSON document (``ValueError`` when it is not one).
loads = _fast_loads if FAST else _std_loads
#: The fast parser alone, for a caller that decodes what it refuses again with :func:`json.loads` itself (one
#: call less per message): ``ValueError`` when it refuses the document.
fast_loads = orjson.loads if FAST else json.loads
