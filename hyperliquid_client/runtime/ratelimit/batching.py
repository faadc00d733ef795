"""Coalescing of concurrent orders and cancels into one batched action (sans-I/O part).

Orders (``grouping`` ``"na"``), cancels and cancels by cloid that callers send concurrently for the
same signer, account, vault and ``expiresAfter`` are merged into one action: IP weight
``1 + floor(n / 40)`` instead of ``n``.  Each caller gets its own statuses back (its slice of the
answer); an error of the whole action reaches every caller; an indeterminate outcome reaches each
caller as its own :class:`~hyperliquid_client.runtime.errors.IndeterminateError` with the shared nonce
and its own cloids.  The generated senders run the waiting (:mod:`.senders` holds their sans-I/O steps).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from hyperliquid_client.runtime.errors import IndeterminateError
from hyperliquid_client.runtime.exchange._core import BATCH_WEIGHT_DIVISOR, action_cloids
from hyperliquid_client.runtime.results import ExchangeResult

__all__ = ["BATCHABLE", "batch_key", "merge", "saved_weight", "split"]

#: Batchable actions and the key of their list.
BATCHABLE: Mapping[str, str] = {"order": "orders", "cancel": "cancels", "cancelByCloid": "cancels"}


def batch_key(wire: str, action: Mapping[str, Any], *parts: object) -> tuple[Any, ...] | None:
    """The key under which ``action`` may join a batch (``None``: send it alone).

    ``parts`` are what must be equal for actions to share one signature (signer, account, vault,
    ``expiresAfter``).  Orders with a grouping other than ``"na"`` (TP/SL groups) go alone.
    """
    key = BATCHABLE.get(wire)
    if key is None or not isinstance(action.get(key), list):
        return None
    if wire == "order" and action.get("grouping", "na") != "na":
        return None
    rest = {k: v for k, v in action.items() if k != key}
    return (wire, *parts, json.dumps(rest, sort_keys=True, default=str))


def merge(wire: str, actions: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], list[slice]]:
    """One action holding every element of ``actions`` (wire key order kept) and each one's slice."""
    key = BATCHABLE[wire]
    merged = dict(actions[0])
    items: list[Any] = []
    slices: list[slice] = []
    for action in actions:
        start = len(items)
        items.extend(action[key])
        slices.append(slice(start, len(items)))
    merged[key] = items
    return merged, slices


def saved_weight(sizes: Sequence[int]) -> tuple[int, int]:
    """``(weight of the batch, weight saved)`` for callers with ``sizes`` elements each."""
    alone = sum(1 + n // BATCH_WEIGHT_DIVISOR for n in sizes)
    together = 1 + sum(sizes) // BATCH_WEIGHT_DIVISOR
    return together, alone - together


def _clone(exc: BaseException) -> BaseException:
    """A copy of ``exc`` for one more caller (each raise gets its own traceback)."""
    new = type(exc).__new__(type(exc))
    new.args = exc.args
    new.__dict__.update(exc.__dict__)
    new.__cause__ = exc.__cause__
    return new


def split(
    wire: str, actions: Sequence[Mapping[str, Any]], slices: Sequence[slice], outcome: ExchangeResult | BaseException
) -> list[ExchangeResult | BaseException]:
    """Each caller's share of ``outcome`` (the merged action's result or error)."""
    if isinstance(outcome, ExchangeResult):
        total = sum(s.stop - s.start for s in slices)
        if len(outcome.statuses) == total:
            return [attrs.evolve(outcome, statuses=outcome.statuses[s]) for s in slices]
        outcome = IndeterminateError(
            f"{wire} batch (nonce {outcome.nonce}) answered {len(outcome.statuses)} statuses for {total} elements: "
            "the answer cannot be matched to the callers; look each order up by its cloid",
            nonce=outcome.nonce,
            action_type=wire,
        )
    out: list[ExchangeResult | BaseException] = []
    for action in actions:
        if isinstance(outcome, IndeterminateError):
            mine = action_cloids(action)
            err = IndeterminateError(
                f"{outcome} [sent as one batch of {len(actions)} callers' {wire} actions; yours carried "
                f"cloids {', '.join(mine) or 'none'}]",
                nonce=outcome.nonce,
                cloids=mine,
                action_type=outcome.action_type,
            )
            err.__cause__ = outcome
            out.append(err)
        else:
            out.append(_clone(outcome))
    return out
