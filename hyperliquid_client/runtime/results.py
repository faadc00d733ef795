"""Typed results of exchange actions.

:func:`classify` turns an ``/exchange`` answer into an :class:`ExchangeResult`:

- ``{"status": "err", "response": "..."}`` raises
  :class:`~hyperliquid_client.runtime.errors.ApiRejectedError` with the server's message (the whole
  action was refused);
- bulk answers (order, batchModify, cancel, cancelByCloid) become one status per input, in
  order: :class:`Resting`, :class:`Filled`, :class:`OrderError`, :class:`Waiting` or
  :class:`Success`.  Some failed orders in a batch are *not* an overall error: inspect
  ``result.errors``;
- single-status answers (twapOrder, twapCancel) give one status (:class:`TwapRunning`, ...);
- everything else (``{"type": "default"}``, ``createSubAccount`` data, ...) keeps ``data``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from hyperliquid_client.runtime.errors import ApiRejectedError, InvalidResponseError

__all__ = [
    "ExchangeResult",
    "Filled",
    "OrderError",
    "Resting",
    "Status",
    "Success",
    "TwapRunning",
    "Waiting",
    "classify",
]


@attrs.frozen
class Resting:
    """The order rests on the book."""

    oid: int
    cloid: str | None = None


@attrs.frozen
class Filled:
    """The order filled (fully, or the part shown) immediately."""

    oid: int
    total_sz: Decimal
    avg_px: Decimal
    cloid: str | None = None


@attrs.frozen
class OrderError:
    """This element of the batch failed; ``message`` is the exchange's text."""

    message: str


@attrs.frozen
class Waiting:
    """``waitingForFill`` or ``waitingForTrigger`` (the bare strings of the API)."""

    status: str


@attrs.frozen
class Success:
    """A cancel (or similar) that succeeded."""


@attrs.frozen
class TwapRunning:
    """A TWAP order was accepted and runs with ``twap_id``."""

    twap_id: int


Status = Resting | Filled | OrderError | Waiting | Success | TwapRunning


@attrs.frozen
class ExchangeResult:
    """An accepted exchange action.

    ``statuses`` has one entry per element of a bulk action (empty for other actions); ``data`` is
    the ``response.data`` payload when there is one (e.g. the new sub-account address); ``raw``
    the decoded answer; ``nonce`` the nonce the action was signed with.
    """

    action: str
    response_type: str
    statuses: tuple[Status, ...] = ()
    data: Any = None
    raw: Any = None
    nonce: int | None = None

    @property
    def errors(self) -> tuple[OrderError, ...]:
        """The failed elements of a bulk action."""
        return tuple(s for s in self.statuses if isinstance(s, OrderError))

    @property
    def ok(self) -> bool:
        """True when no element failed."""
        return not self.errors


def _bad(path: str, expected: str, got: Any, endpoint: str) -> InvalidResponseError:
    return InvalidResponseError(path, expected, got, endpoint=endpoint)


def _status(item: Any, path: str, endpoint: str) -> Status:
    if item == "success":
        return Success()
    if isinstance(item, str):
        return Waiting(item)
    if not isinstance(item, dict) or len(item) < 1:
        raise _bad(path, "a status string or object", item, endpoint)
    try:
        if "error" in item:
            return OrderError(str(item["error"]))
        if "resting" in item:
            r = item["resting"]
            return Resting(int(r["oid"]), r.get("cloid"))
        if "filled" in item:
            f = item["filled"]
            return Filled(int(f["oid"]), Decimal(str(f["totalSz"])), Decimal(str(f["avgPx"])), f.get("cloid"))
        if "running" in item:
            return TwapRunning(int(item["running"]["twapId"]))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise _bad(path, "a well-formed status", item, endpoint) from exc
    raise _bad(path, "one of resting, filled, error, running", item, endpoint)


def classify(raw: Any, *, endpoint: str, action: str, nonce: int | None = None) -> ExchangeResult:
    """Classify the decoded answer ``raw`` of action ``action`` (see the module docs)."""
    if not isinstance(raw, dict) or "status" not in raw:
        raise _bad("$", "an object with 'status'", raw, endpoint)
    if raw["status"] == "err":
        raise ApiRejectedError(str(raw.get("response")), endpoint=endpoint, response=raw)
    if raw["status"] != "ok":
        raise _bad("$.status", "'ok' or 'err'", raw["status"], endpoint)
    response = raw.get("response")
    if not isinstance(response, dict) or not isinstance(response.get("type"), str):
        raise _bad("$.response", "an object with 'type'", response, endpoint)
    rtype = response["type"]
    data = response.get("data")
    statuses: tuple[Status, ...] = ()
    if isinstance(data, dict) and "statuses" in data:
        items = data["statuses"]
        if not isinstance(items, list):
            raise _bad("$.response.data.statuses", "a list", items, endpoint)
        statuses = tuple(_status(s, f"$.response.data.statuses[{i}]", endpoint) for i, s in enumerate(items))
    elif isinstance(data, dict) and "status" in data:
        statuses = (_status(data["status"], "$.response.data.status", endpoint),)
    return ExchangeResult(action=action, response_type=rtype, statuses=statuses, data=data, raw=raw, nonce=nonce)
