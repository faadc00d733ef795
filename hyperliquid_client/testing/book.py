"""Price-time priority order books of the fake exchange (sans-I/O, no accounts, no publishing).

One :class:`Book` per coin holds resting orders: user orders (``user`` set) and anonymous
"house" liquidity imported from the seeded :class:`~hyperliquid_client.testing.market.MarketData`
levels (``user`` is ``None``; one order per level, carrying the level's ``n``).  :meth:`Book.match`
sweeps the opposite side for a taker and returns the individual matches; the caller (the
exchange engine) does the accounting.  Also here: the tick/lot rules
(https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/tick-and-lot-size).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from hyperliquid_client.testing.market import fmt_decimal

__all__ = [
    "Book",
    "BookOrder",
    "Match",
    "price_is_valid",
    "size_is_valid",
]

_MAX_DECIMALS_PERP = 6
_MAX_DECIMALS_SPOT = 8
_MAX_SIG_FIGS = 5


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def price_is_valid(px: Decimal, sz_decimals: int, *, spot: bool) -> bool:
    """Tick rule: integers always; otherwise ≤ 5 significant figures and ≤ 6|8 − szDecimals decimals."""
    if not px.is_finite() or px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    max_decimals = max((_MAX_DECIMALS_SPOT if spot else _MAX_DECIMALS_PERP) - sz_decimals, 0)
    return _decimals(px) <= max_decimals and len(px.normalize().as_tuple().digits) <= _MAX_SIG_FIGS


def size_is_valid(sz: Decimal, sz_decimals: int) -> bool:
    """A positive size with at most ``szDecimals`` decimals (the lot size)."""
    return sz.is_finite() and sz > 0 and _decimals(sz) <= sz_decimals


@attrs.define(eq=False)
class BookOrder:
    """A resting order.  ``record`` is the FrontendOpenOrder dict the user sees (``None`` for house)."""

    oid: int
    user: str | None
    is_buy: bool
    px: Decimal
    sz: Decimal
    seq: int
    n: int = 1
    record: dict[str, Any] | None = None
    cloid: str | None = None
    reduce_only: bool = False
    on_fill: Callable[[BookOrder, Decimal], None] | None = None


@attrs.frozen
class Match:
    """One execution between a taker and resting ``maker`` of ``sz`` at the maker's price."""

    maker: BookOrder
    px: Decimal
    sz: Decimal


def _bid_key(order: BookOrder) -> tuple[Decimal, int]:
    return (-order.px, order.seq)


def _ask_key(order: BookOrder) -> tuple[Decimal, int]:
    return (order.px, order.seq)


class Book:
    """Bids (best = highest px first) and asks (best = lowest px first); ties by arrival."""

    def __init__(self, coin: str) -> None:
        self.coin = coin
        self.bids: list[BookOrder] = []
        self.asks: list[BookOrder] = []
        self._seq = 0

    def next_seq(self) -> int:
        """A monotonically increasing arrival number (time priority)."""
        self._seq += 1
        return self._seq

    def side(self, is_buy: bool) -> list[BookOrder]:
        """The resting side an order of this direction would rest on."""
        return self.bids if is_buy else self.asks

    def add(self, order: BookOrder) -> None:
        """Rest ``order`` at its price, behind earlier orders at the same price."""
        side = self.side(order.is_buy)
        key = _bid_key if order.is_buy else _ask_key
        bisect.insort(side, order, key=key)

    def remove(self, order: BookOrder) -> bool:
        """Take ``order`` off the book; False when it is not there."""
        side = self.side(order.is_buy)
        for i, candidate in enumerate(side):
            if candidate is order:
                del side[i]
                return True
        return False

    def find(self, oid: int) -> BookOrder | None:
        """The resting user order with this oid."""
        for order in (*self.bids, *self.asks):
            if order.oid == oid and order.user is not None:
                return order
        return None

    def best(self, is_buy: bool) -> BookOrder | None:
        """Best resting bid (``is_buy``) or ask."""
        side = self.side(is_buy)
        return side[0] if side else None

    def would_cross(self, is_buy: bool, px: Decimal) -> bool:
        """True when a limit order at ``px`` would match immediately."""
        best = self.best(not is_buy)
        if best is None:
            return False
        return px >= best.px if is_buy else px <= best.px

    def match(
        self,
        is_buy: bool,
        px: Decimal,
        sz: Decimal,
        *,
        skip: Callable[[BookOrder], bool] | None = None,
    ) -> list[Match]:
        """Fill up to ``sz`` against the opposite side at prices no worse than ``px``.

        Makers are consumed in price-time order; a fully filled maker leaves the book.  ``skip``
        (e.g. self-trade prevention) may remove a maker instead of trading with it: when it
        returns True the maker is taken off the book and matching goes on.
        """
        opposite = self.side(not is_buy)
        remaining = sz
        out: list[Match] = []
        while remaining > 0 and opposite:
            maker = opposite[0]
            if (is_buy and maker.px > px) or (not is_buy and maker.px < px):
                break
            if skip is not None and skip(maker):
                opposite.pop(0)
                continue
            traded = min(remaining, maker.sz)
            out.append(Match(maker, maker.px, traded))
            remaining -= traded
            maker.sz -= traded
            if maker.sz <= 0:
                opposite.pop(0)
        return out

    def replace_house(self, bids: Iterable[Sequence[Any]], asks: Iterable[Sequence[Any]]) -> None:
        """Replace the anonymous liquidity with ``(px, sz, n)`` levels; user orders stay."""
        self.bids = [o for o in self.bids if o.user is not None]
        self.asks = [o for o in self.asks if o.user is not None]
        for is_buy, levels in ((True, bids), (False, asks)):
            for px, sz, n in levels:
                self.add(BookOrder(0, None, is_buy, Decimal(str(px)), Decimal(str(sz)), self.next_seq(), int(n)))

    def levels(self, depth: int | None = None) -> list[list[dict[str, Any]]]:
        """``[bids, asks]`` aggregated per price as wire levels ``{px, sz, n}``."""
        out: list[list[dict[str, Any]]] = []
        for side in (self.bids, self.asks):
            levels: list[dict[str, Any]] = []
            last_px: Decimal | None = None
            total = Decimal(0)
            count = 0
            for order in side:
                if order.sz <= 0:
                    continue
                if last_px is not None and order.px != last_px:
                    levels.append({"px": fmt_decimal(last_px), "sz": fmt_decimal(total), "n": count})
                    total, count = Decimal(0), 0
                last_px = order.px
                total += order.sz
                count += order.n
            if last_px is not None:
                levels.append({"px": fmt_decimal(last_px), "sz": fmt_decimal(total), "n": count})
            out.append(levels[:depth] if depth is not None else levels)
        return out

    def mid(self) -> Decimal | None:
        """Midpoint of the best bid and ask (``None`` when a side is empty)."""
        bid, ask = self.best(True), self.best(False)
        if bid is None or ask is None:
            return None
        return (bid.px + ask.px) / 2
