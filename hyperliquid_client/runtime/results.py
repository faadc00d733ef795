"""Typed results of exchange actions.

:func:`classify` turns an ``/exchange`` answer into an :class:`ExchangeResult`:

- ``{"status": "err", "response": "..."}`` raises
  :class:`~hyperliquid_client.runtime.errors.ApiRejectedError` with the server's message (the whole
  action was refused);
- ``{"status": "ok", "response": ...}``: ``response`` is structured by the action's ``response``
  type of the spec (``OrderResponse``, ``CancelResponse``, ``DefaultResponse``, ...), strictly: an
  enum value or variant the spec does not know (an order status such as ``"garbage"``) is an
  error, not a success.  Bulk answers (order, batchModify, cancel, cancelByCloid) become one status
  per element *sent*, in order — fewer or more statuses than elements, or a status whose cloid is
  not the cloid sent at that position, is an error too: :class:`Resting`, :class:`Filled`,
  :class:`OrderError`, :class:`Waiting` or :class:`Success`.  Some failed orders in a batch are
  *not* an overall error: inspect ``result.errors``;
- single-status answers (twapOrder, twapCancel) give one status (:class:`TwapRunning`, ...).

An answer that cannot be fully understood raises
:class:`~hyperliquid_client.runtime.errors.InvalidResponseError` naming the path; the sender turns it
into :class:`~hyperliquid_client.runtime.errors.IndeterminateError` (the action may have executed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from hyperliquid_client.runtime.drift import DriftMonitor
from hyperliquid_client.runtime.errors import ApiRejectedError, InvalidResponseError
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.struct import Bad, to_any

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

    ``statuses`` has one entry per element of a bulk action (empty for other actions);
    ``response`` the answer's ``response`` structured by the spec (``OrderResponse``,
    ``DefaultResponse``, ...); ``data`` its ``data`` payload as received (e.g. the new sub-account
    address); ``raw`` the decoded answer; ``nonce`` the nonce the action was signed with.
    """

    action: str
    response_type: str
    statuses: tuple[Status, ...] = ()
    data: Any = None
    raw: Any = None
    nonce: int | None = None
    response: Any = None

    @property
    def errors(self) -> tuple[OrderError, ...]:
        """The failed elements of a bulk action."""
        return tuple(s for s in self.statuses if isinstance(s, OrderError))

    @property
    def ok(self) -> bool:
        """True when no element failed."""
        for status in self.statuses:  # noqa: SIM110 (no generator frames: read on every answer)
            if isinstance(status, OrderError):
                return False
        return True


def _bad(path: str, expected: str, got: Any, endpoint: str) -> InvalidResponseError:
    return InvalidResponseError(path, expected, got, endpoint=endpoint)


#: Reads the answers of signed actions when the caller has no monitor: strict, reports nothing.
_QUIET = DriftMonitor(mode="ignore")


def _read_response(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``parse`` applied to the answer's ``response`` (so that paths start at the answer: ``$.response...``);
    one reader per parser, made once."""
    found = _READERS.get(parse)
    if found is None:
        resolve = getattr(parse, "resolve", None)  # (a parser imported on first use: the function it imports)
        found = _READERS[parse] = _reader(parse if resolve is None else resolve())
    return found


def _reader(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def read(raw: Any) -> Any:
        try:
            return parse(raw["response"])
        except Bad as exc:
            exc.path.append("response")
            raise
        except KeyError:
            bad = Bad("the answer's response (missing)", None, "missing")
            bad.path.append("response")
            raise bad from None

    return read


_READERS: dict[Callable[[Any], Any], Callable[[Any], Any]] = {}
#: exchange action -> the wire key of its batch (``orders``, ``cancels``...), read from the spec once
_BATCH_KEYS: dict[str, str] = {}


def _status(item: Any) -> Status:
    """The public status of one structured status (a by-key variant, or a bare string)."""
    if isinstance(item, str):
        return Success() if item == "success" else Waiting(item)
    resting = getattr(item, "resting", None)
    if resting is not None:
        return Resting(resting.oid, resting.cloid)
    filled = getattr(item, "filled", None)
    if filled is not None:
        return Filled(filled.oid, filled.total_sz, filled.avg_px, filled.cloid)
    running = getattr(item, "running", None)
    if running is not None:
        return TwapRunning(running.twap_id)
    return OrderError(item.error)


def _answering(endpoint: EndpointSpec, sent: Mapping[str, Any] | None) -> tuple[EndpointSpec, Mapping[str, Any] | None]:
    """The endpoint whose answer this is, and its action: a multi-sig answers for the action it wraps."""
    if endpoint.signing != "multi_sig" or sent is None:
        return endpoint, sent
    from hyperliquid_client.generated.registry import ENDPOINTS  # the inner action's spec

    payload = sent.get("payload")
    inner = payload.get("action") if isinstance(payload, Mapping) else None
    found = ENDPOINTS.get(f"exchange.{inner.get('type')}") if isinstance(inner, Mapping) else None
    return (found, inner) if found is not None and inner is not None else (endpoint, None)


def _check_statuses(statuses: tuple[Status, ...], endpoint: EndpointSpec, sent: Mapping[str, Any], name: str) -> None:
    """One status per element of the batch sent, and a returned cloid is the one sent at that position."""
    if endpoint.batch_param is None:
        return
    wire = _BATCH_KEYS.get(endpoint.qualified_name)
    if wire is None:
        wire = next((p.wire for p in endpoint.params if p.name == endpoint.batch_param), endpoint.batch_param)
        _BATCH_KEYS[endpoint.qualified_name] = wire
    items = sent.get(wire)
    if items.__class__ is not list and not isinstance(items, list | tuple):
        return
    path = "$.response.data.statuses"
    if len(statuses) != len(items):
        raise _bad(path, f"{len(items)} statuses, one per element of {endpoint.wire} sent", f"{len(statuses)}", name)
    for i, status in enumerate(statuses):
        cloid = getattr(status, "cloid", None)
        item = items[i]
        if cloid is None or not isinstance(item, Mapping):
            continue
        order = item.get("order", item)
        sent_cloid = order.get("c") if isinstance(order, Mapping) else None
        if sent_cloid is not None and cloid.lower() != str(sent_cloid).lower():
            raise _bad(f"{path}[{i}].cloid", f"the cloid sent at position {i} ({sent_cloid})", cloid, name)


def classify(
    raw: Any,
    endpoint: EndpointSpec,
    *,
    nonce: int | None = None,
    sent: Mapping[str, Any] | None = None,
    drift: DriftMonitor | None = None,
) -> ExchangeResult:
    """Classify the decoded answer ``raw`` to an action of ``endpoint`` (see the module docs).

    ``sent`` is the action as sent (to check one status per element); ``drift`` reports drift from
    the spec (``schema.drift``); the answer is read strictly whatever its mode.
    """
    name = endpoint.qualified_name
    if not isinstance(raw, dict) or "status" not in raw:
        raise _bad("$", "an object with 'status'", raw, name)
    if raw["status"] == "err":
        raise ApiRejectedError(str(raw.get("response")), endpoint=name, response=raw)
    if raw["status"] != "ok":
        raise _bad("$.status", "'ok' or 'err'", raw["status"], name)
    answering, action = (endpoint, sent) if endpoint.signing != "multi_sig" else _answering(endpoint, sent)
    monitor = drift if drift is not None else _QUIET
    response = monitor.parse(_read_response(answering.parse or to_any), raw, name, strict=True)
    data = getattr(response, "data", None)
    found = getattr(data, "statuses", None)
    if found is None:
        single = getattr(data, "status", None)
        found = () if single is None else (single,)
    statuses = tuple(map(_status, found))
    if action is not None:
        _check_statuses(statuses, answering, action, name)
    body = raw["response"]
    return ExchangeResult(  # (positional: the fields' order)
        endpoint.wire,
        str(getattr(response, "type", body.get("type") if isinstance(body, dict) else "")),
        statuses,
        body.get("data") if isinstance(body, dict) else None,
        raw,
        nonce,
        response,
    )
