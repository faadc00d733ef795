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
from hyperliquid_client.runtime.struct import U64_MAX, Bad, to_any

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
    #: (read through :attr:`response`: the answer's common shapes are structured on first use, see :func:`_fast`,
    #: which leaves the endpoint whose response type structures ``raw``)
    _response: Any = attrs.field(default=None, alias="response", eq=False)

    @property
    def response(self) -> Any:
        """The answer's ``response`` structured by the spec's type for the action."""
        found = self._response
        if isinstance(found, EndpointSpec):  # (read by _fast: the strict parser structures raw for that endpoint)
            found = _QUIET.parse(_read_response(found.parse or to_any), self.raw, found.qualified_name, strict=True)
            object.__setattr__(self, "_response", found)  # (the same value whoever reads it first)
        return found

    def __repr__(self) -> str:
        return (
            f"ExchangeResult(action={self.action!r}, response_type={self.response_type!r}, "
            f"statuses={self.statuses!r}, data={self.data!r}, raw={self.raw!r}, nonce={self.nonce!r}, "
            f"response={self.response!r})"
        )

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


_new = object.__new__
# (one setter per field, in the class's order: a field added to ExchangeResult fails here, at import)
_set_action, _set_response_type, _set_statuses, _set_data, _set_raw, _set_nonce, _set_response = (
    ExchangeResult.__dict__[field.name].__set__ for field in attrs.fields(ExchangeResult)
)


def _result(
    action: str, response_type: str, statuses: tuple[Status, ...], data: Any, raw: Any, nonce: int | None, response: Any
) -> ExchangeResult:
    """``ExchangeResult(...)`` (positional) through its slots: what attrs' frozen ``__init__`` does, without a
    ``setattr`` call per field (every answer :func:`_fast` reads; tests/test_exchange_sender.py compares the two)."""
    r = _new(ExchangeResult)
    _set_action(r, action)
    _set_response_type(r, response_type)
    _set_statuses(r, statuses)
    _set_data(r, data)
    _set_raw(r, raw)
    _set_nonce(r, nonce)
    _set_response(r, response)
    return r


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


def _check_statuses(
    statuses: tuple[Status, ...], endpoint: EndpointSpec, sent: Mapping[str, Any], name: str, cloids: bool = True
) -> None:
    """One status per element of the batch sent; a returned cloid is the one sent at that position (none returned
    where none was sent; ``cloids`` false: no status has one); a fill is of more than nothing, at a price above 0,
    and not of more than the size sent (unless that was 0: a reduce-only order closing a position)."""
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
    if len(statuses) > 1:  # (an order id is the order's: two elements of a batch never share one)
        seen: set[int] = set()
        for i, status in enumerate(statuses):
            oid = getattr(status, "oid", None)
            if oid is None:
                continue
            if oid in seen:
                raise _bad(f"{path}[{i}]", "an oid no other status of the batch has", oid, name)
            seen.add(oid)
    if not cloids:
        return
    for i, status in enumerate(statuses):
        cloid = getattr(status, "cloid", None)
        item = items[i]
        if (cloid is None and not isinstance(status, Filled)) or not isinstance(item, Mapping):
            continue
        order = item.get("order", item)
        sent = order if isinstance(order, Mapping) else {}
        sent_cloid = sent.get("c")
        if cloid is not None and (sent_cloid is None or cloid.lower() != str(sent_cloid).lower()):
            wanted = (
                f"the cloid sent at position {i} ({sent_cloid})"
                if sent_cloid is not None
                else "no cloid (none was sent)"
            )
            raise _bad(f"{path}[{i}].cloid", wanted, cloid, name)
        if isinstance(status, Filled):
            _check_fill(status, sent.get("s"), f"{path}[{i}].filled", name)


def _check_fill(status: Filled, sent_size: Any, path: str, name: str) -> None:
    if not status.total_sz > 0:
        raise _bad(f"{path}.totalSz", "a size above 0", str(status.total_sz), name)
    if not status.avg_px > 0:
        raise _bad(f"{path}.avgPx", "a price above 0", str(status.avg_px), name)
    try:
        size = Decimal(str(sent_size))
    except (ArithmeticError, ValueError):
        return  # (no size to compare with)
    if size > 0 and status.total_sz > size:
        raise _bad(f"{path}.totalSz", f"at most the size sent ({sent_size})", str(status.total_sz), name)


#: response type of the spec -> the ``type`` values :func:`_fast` reads (the common answers to signed actions)
_FAST_TYPES: dict[str, tuple[str, ...]] = {
    "OrderResponse": ("order",),
    "CancelResponse": ("cancel", "cancelByCloid"),
    "DefaultResponse": ("default",),
}
_SUCCESS = Success()


def _fast(raw: Any, endpoint: EndpointSpec, nonce: int | None, sent: Mapping[str, Any] | None) -> ExchangeResult | None:
    """:func:`classify` of the common answers in one straight read, or ``None`` (then the strict path reads it);
    never raises.

    Taken only where the strict path gives exactly the same result with no drift to report: an ``ok`` answer of
    an order, cancel or default response with no key the spec does not name, order statuses ``resting`` (a
    non-negative integer ``oid``, a string ``cloid`` or none) or ``error`` (a string), cancel statuses
    ``"success"`` or ``error``; ``response`` is structured by the strict parser when first read
    (tests/test_answer_fast.py proves both paths agree, on random and recorded answers).
    """
    if raw.__class__ is not dict or len(raw) != 2 or raw.get("status") != "ok" or endpoint.signing == "multi_sig":
        return None
    body = raw.get("response")
    kinds = _FAST_TYPES.get(endpoint.response)
    if kinds is None or body.__class__ is not dict:
        return None
    kind = body.get("type")
    if kind not in kinds:
        return None
    if kind == "default":
        if len(body) != 1:
            return None
        return _result(endpoint.wire, kind, (), None, raw, nonce, endpoint)
    data = body.get("data")
    if len(body) != 2 or data.__class__ is not dict or len(data) != 1:
        return None
    items = data.get("statuses")
    if items.__class__ is not list:
        return None
    order = kind == "order"
    cloids = False
    statuses: list[Status] = []
    for item in items:
        if item.__class__ is str:
            if order or item != "success":
                return None
            statuses.append(_SUCCESS)
            continue
        if item.__class__ is not dict or len(item) != 1:
            return None
        error = item.get("error")
        if error is not None:
            if error.__class__ is not str:
                return None
            statuses.append(OrderError(error))
            continue
        resting = item.get("resting") if order else None
        if resting.__class__ is not dict:
            return None
        oid = resting.get("oid")
        cloid = resting.get("cloid")
        if oid.__class__ is not int or not 0 <= oid <= U64_MAX or len(resting) != (1 if cloid is None else 2):
            return None
        if cloid is not None:
            if cloid.__class__ is not str:
                return None
            cloids = True
        statuses.append(Resting(oid, cloid))
    found = tuple(statuses)
    if sent is not None:
        try:
            _check_statuses(found, endpoint, sent, endpoint.qualified_name, cloids)
        except InvalidResponseError:
            return None  # (the strict path says what is wrong)
    return _result(endpoint.wire, kind, found, data, raw, nonce, endpoint)


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
    fast = _fast(raw, endpoint, nonce, sent)
    if fast is not None:
        return fast
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
