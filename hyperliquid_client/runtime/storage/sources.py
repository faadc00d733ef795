"""Where storable rows come from: info responses and WebSocket channel messages.

:func:`rows_from_http` and :func:`rows_from_ws` pick the storable rows out of a decoded payload
and say which kind they are and whose they are.  They accept the wire shapes (the JSON the API
sends); anything they do not recognise yields nothing (a response type or channel that holds no
storable data) — malformed *rows* are passed on and rejected by the writer with a reason.

===================================== ============== ==============================================
source                                kind           rows
===================================== ============== ==============================================
info ``userFills``/``userFillsByTime`` fills          the response list (user = request ``user``)
info ``userTwapSliceFills[ByTime]``   fills          ``[i].fill`` (+ ``[i].twapId``)
info ``historicalOrders``             order_updates  the response list
info ``userFunding``                  funding        the response list
info ``userNonFundingLedgerUpdates``  ledger         the response list
info ``candleSnapshot``               candles        the response list
info ``recentTrades``                 trades         the response list
ws ``trades``                         trades         the data list
ws ``candle``                         candles        the data object (or list)
ws ``orderUpdates``                   order_updates  the data list (user = subscription ``user``)
ws ``userFills``                      fills          ``data.fills`` (user = ``data.user``)
ws ``userEvents`` (channel ``user``)  fills/funding  ``data.fills`` / ``data.funding``
ws ``userFundings``                   funding        ``data.fundings``
ws ``userNonFundingLedgerUpdates``    ledger         ``data.nonFundingLedgerUpdates``
ws ``userHistoricalOrders``           order_updates  ``data.orderHistory``
ws ``userTwapSliceFills``             fills          ``data.twapSliceFills[i].fill`` (+ ``.twapId``)
===================================== ============== ==============================================
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hyperliquid_client.generated.registry import REGISTRY

__all__ = ["HTTP_SOURCES", "WS_SOURCES", "StorableRow", "rows_from_http", "rows_from_ws"]

#: ``(kind, wire row, user or None)``
StorableRow = tuple[str, Any, str | None]

#: info request type → kind of the rows it returns: the endpoints the spec marks ``storage:``.
HTTP_SOURCES: Mapping[str, str] = MappingProxyType(
    {e.wire: e.storage for e in REGISTRY if e.context == "info" and e.storage is not None}
)

#: WebSocket channel → kinds its data can hold.
WS_SOURCES: Mapping[str, tuple[str, ...]] = {
    "trades": ("trades",),
    "candle": ("candles",),
    "orderUpdates": ("order_updates",),
    "userFills": ("fills",),
    "userEvents": ("fills", "funding"),
    "user": ("fills", "funding"),  # the data channel of userEvents
    "userFundings": ("funding",),
    "userNonFundingLedgerUpdates": ("ledger",),
    "userHistoricalOrders": ("order_updates",),
    "userTwapSliceFills": ("fills",),
}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _twap_fill(item: Any) -> Any:
    """The fill of a TWAP slice ``{"fill": {...}, "twapId": n}``, carrying the slice's ``twapId`` (the
    fill's own ``twapId`` is null in these answers)."""
    if not isinstance(item, Mapping) or not isinstance(item.get("fill"), Mapping):
        return item
    fill = item["fill"]
    twap_id = item.get("twapId")
    if twap_id is None or fill.get("twapId") is not None:
        return fill
    return {**fill, "twapId": twap_id}


def rows_from_http(request_type: str, response: Any, *, user: str | None = None) -> list[StorableRow]:
    """Storable rows of an info response of ``request_type`` (``user``: the request's ``user``)."""
    kind = HTTP_SOURCES.get(request_type)
    if kind is None:
        return []
    rows = _as_list(response)
    if request_type.startswith("userTwapSliceFills"):
        rows = [_twap_fill(r) for r in rows]
    return [(kind, r, user) for r in rows]


def rows_from_ws(channel: str, data: Any, *, user: str | None = None) -> list[StorableRow]:
    """Storable rows of one message's ``data`` on ``channel`` (``user``: the subscription's)."""
    if channel not in WS_SOURCES:
        return []
    if channel == "trades":
        return [("trades", r, None) for r in _as_list(data)]
    if channel == "candle":
        return [("candles", r, None) for r in _as_list(data)]
    if channel == "orderUpdates":
        return [("order_updates", r, user) for r in _as_list(data)]
    if not isinstance(data, Mapping):
        return []
    owner = data.get("user") if isinstance(data.get("user"), str) else user
    if channel == "userFills":
        return [("fills", r, owner) for r in _as_list(data.get("fills"))]
    if channel in ("user", "userEvents"):
        out: list[StorableRow] = [("fills", r, owner) for r in _as_list(data.get("fills"))]
        out.extend(("funding", r, owner) for r in _as_list(data.get("funding")))
        return out
    if channel == "userFundings":
        return [("funding", r, owner) for r in _as_list(data.get("fundings"))]
    if channel == "userNonFundingLedgerUpdates":
        return [("ledger", r, owner) for r in _as_list(data.get("nonFundingLedgerUpdates"))]
    if channel == "userHistoricalOrders":
        return [("order_updates", r, owner) for r in _as_list(data.get("orderHistory"))]
    if channel == "userTwapSliceFills":
        return [("fills", _twap_fill(r), owner) for r in _as_list(data.get("twapSliceFills"))]
    return []  # pragma: no cover - every WS_SOURCES channel is handled above
