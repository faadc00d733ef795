"""Answers from the spec's samples, for what the fake exchange holds no state of its own.

Every info, explorer and stats endpoint and every channel of the spec has a ``sample``
(:mod:`hyperliquid_client.generated.samples`).  The fake answers an info request the market and the engine
do not back with its endpoint's sample answer (after checking the request carries the required keys),
and sends a channel's sample message, with the subscription's values in place, as the first message of a
subscription whose spec says the server sends its current state first.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hyperliquid_client.generated.registry import CHANNELS
from hyperliquid_client.generated.samples import CHANNELS as CHANNEL_SAMPLES
from hyperliquid_client.generated.samples import ENDPOINTS as ENDPOINT_SAMPLES

__all__ = ["missing_key", "sample_message", "sample_response"]


def sample_response(qualified: str) -> Any:
    """A fresh copy of the sample answer of endpoint ``qualified`` (``info.vaultDetails``); KeyError if none."""
    return copy.deepcopy(ENDPOINT_SAMPLES[qualified]["response"])


def missing_key(qualified: str, body: Mapping[str, Any]) -> str | None:
    """The first required key of endpoint ``qualified`` that ``body`` lacks (``req.coin`` when nested), or None."""
    entry = ENDPOINT_SAMPLES[qualified]
    nest = entry["nest"]
    fields = body.get(nest) if nest else body
    if not isinstance(fields, Mapping):
        return str(nest)
    for key in entry["required"]:
        if fields.get(key) is None:
            return f"{nest}.{key}" if nest else str(key)
    return None


def _put(data: Any, path: list[str], value: Any) -> None:
    if isinstance(data, list):
        for item in data:
            _put(item, path, value)
        return
    if not isinstance(data, dict):
        return
    if len(path) == 1:
        data[path[0]] = value
    elif path[0] in data:
        _put(data[path[0]], path[1:], value)


def sample_message(type_: str, subscription: Mapping[str, Any]) -> Any:
    """The sample message data of channel ``type_``, with the values of ``subscription`` in place.

    The spec's ``route`` paths get the subscription's values (so the client routes the message to it),
    and so do top-level keys named like a subscription parameter (``dex``, ``user``).  ``None`` when
    the spec has no such channel.
    """
    entry = CHANNEL_SAMPLES.get(type_)
    spec = CHANNELS.get(type_)
    if entry is None or spec is None:
        return None
    data = copy.deepcopy(entry["message"])
    wires = {p.name: p.wire for p in spec.params}
    for name, path in spec.route:
        value = subscription.get(wires.get(name, name))
        if value is not None:
            _put(data, path.split("."), value)
    if isinstance(data, dict):
        for wire in wires.values():
            if wire in data and subscription.get(wire) is not None:
                data[wire] = subscription[wire]
    return data
