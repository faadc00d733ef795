"""Market data the fake exchange serves (metadata, mids, books, asset contexts) and its built-in seed.

Everything is held in wire shape (the JSON the real API sends), so responses are built without
translation.  :func:`seed_market` returns a small but realistic market: six perps (BTC, ETH, SOL,
HYPE, kPEPE, DOGE) with margin tables, a spot universe with ``PURR/USDC`` (index 0) and ``@1``
(HYPE/USDC), books of five levels per side that respect tick and lot sizes, mids and asset
contexts derived from the books.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any

from hyperliquid_client.runtime.errors import InvalidInputError

__all__ = ["MarketData", "MidListener", "fmt_decimal", "now_ms", "seed_market"]

_log = logging.getLogger("hyperliquid_client.testing.market")

#: ``listener(coin, mid)`` called after :meth:`MarketData.set_mid` / :meth:`MarketData.set_book`.
MidListener = Callable[[str, str], None]


def now_ms() -> int:
    """Current wall-clock time in milliseconds (the unit of every API timestamp)."""
    return int(time.time() * 1000)


def fmt_decimal(value: Decimal | str | int) -> str:
    """Format a number as the API does: plain decimal notation, whole values with ``.0``."""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return f"{d.to_integral_value():f}.0"
    text = f"{d.normalize():f}"
    return text


def _level(px: Any, sz: Any, n: int = 1) -> dict[str, Any]:
    return {"px": fmt_decimal(px), "sz": fmt_decimal(sz), "n": int(n)}


#: The fake exchange's decimal arithmetic (Python's defaults), whatever its caller's decimal context
DECIMALS = Context(prec=28, Emin=-999999, Emax=999999, traps=[InvalidOperation, DivisionByZero, Overflow])


class DecimalLock:
    """A re-entrant lock whose holder computes in :data:`DECIMALS` (a test suite may run with a decimal context of
    its own: ``prec=6``, trapped rounding): what the fake exchange computes under its locks is the same for every
    caller."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._held = threading.local()

    def __enter__(self) -> DecimalLock:
        self._lock.acquire()
        manager = localcontext(DECIMALS)
        manager.__enter__()
        stack = getattr(self._held, "stack", None)
        if stack is None:
            stack = self._held.stack = []
        stack.append(manager)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._held.stack.pop().__exit__(None, None, None)
        finally:
            self._lock.release()


class MarketData:
    """Mutable, thread-safe market state in wire shape.

    ``meta`` / ``spot_meta`` are the ``meta`` / ``spotMeta`` responses; ``books`` maps a coin to its
    ``[bids, asks]`` level lists; ``mids`` is the ``allMids`` map; ``perp_ctxs`` / ``spot_ctxs`` map a
    coin (perp name or spot pair name) to its asset context.  Mutate through the methods (or hold
    :attr:`lock` while changing the attributes directly).
    """

    def __init__(self) -> None:
        self.lock = DecimalLock()
        self.meta: dict[str, Any] = {"universe": [], "marginTables": [], "collateralToken": 0}
        self.spot_meta: dict[str, Any] = {"universe": [], "tokens": []}
        self.perp_dexs: list[Any] = [None]
        self.mids: dict[str, str] = {}
        self.books: dict[str, list[list[dict[str, Any]]]] = {}
        self.perp_ctxs: dict[str, dict[str, Any]] = {}
        self.spot_ctxs: dict[str, dict[str, Any]] = {}
        self.special_statuses: Any = None
        self._listeners: list[MidListener] = []

    def add_mid_listener(self, listener: MidListener) -> Callable[[], None]:
        """Call ``listener(coin, mid)`` after every ``set_mid`` / ``set_book`` (outside the lock).

        The fake exchange's engine uses this to re-import a replaced book and to fire trigger
        orders.  Returns a function that removes the listener.
        """
        with self.lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self.lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def _notify(self, coin: str) -> None:
        with self.lock:
            listeners = list(self._listeners)
            mid = self.mids.get(coin)
        if mid is None:
            return
        for listener in listeners:
            try:
                listener(coin, mid)
            except Exception:
                _log.exception("mid listener %r failed for %s", listener, coin)

    # ----------------------------------------------------------------- queries
    def perp_names(self) -> list[str]:
        """Names of the perps of the main dex, in asset-id order."""
        with self.lock:
            return [u["name"] for u in self.meta.get("universe", [])]

    def spot_names(self) -> list[str]:
        """Names of the spot pairs (``"PURR/USDC"``, ``"@1"``...), in ``spotMeta`` order."""
        with self.lock:
            return [u["name"] for u in self.spot_meta.get("universe", [])]

    def is_spot(self, coin: str) -> bool:
        """True when ``coin`` names a spot pair (``@N`` or a ``BASE/QUOTE`` name)."""
        return coin.startswith("@") or "/" in coin or coin in self.spot_names()

    def knows(self, coin: str) -> bool:
        """True when ``coin`` is a listed perp or spot pair, or has a book."""
        with self.lock:
            return coin in self.books or coin in self.perp_names() or coin in self.spot_names()

    def l2_book(self, coin: str) -> dict[str, Any] | None:
        """The ``l2Book`` response for ``coin`` (``None`` for an unknown coin)."""
        with self.lock:
            levels = self.books.get(coin)
            if levels is None:
                if coin in self.perp_names() or coin in self.spot_names():
                    return {"coin": coin, "time": now_ms(), "levels": [[], []]}
                return None
            return {"coin": coin, "time": now_ms(), "levels": [list(levels[0]), list(levels[1])]}

    def bbo(self, coin: str) -> dict[str, Any] | None:
        """The ``bbo`` channel payload for ``coin`` (``None`` for an unknown coin)."""
        book = self.l2_book(coin)
        if book is None:
            return None
        bids, asks = book["levels"]
        return {"coin": coin, "time": book["time"], "bbo": [bids[0] if bids else None, asks[0] if asks else None]}

    def meta_and_asset_ctxs(self) -> list[Any]:
        """The ``metaAndAssetCtxs`` response (contexts in universe order)."""
        with self.lock:
            ctxs = [self.perp_ctxs.get(name) or _empty_perp_ctx() for name in self.perp_names()]
            return [self.meta, ctxs]

    def spot_meta_and_asset_ctxs(self) -> list[Any]:
        """The ``spotMetaAndAssetCtxs`` response (contexts in universe order)."""
        with self.lock:
            ctxs = [self.spot_ctxs.get(name) or _empty_spot_ctx(name) for name in self.spot_names()]
            return [self.spot_meta, ctxs]

    def asset_ctx(self, coin: str) -> dict[str, Any] | None:
        """``{"coin", "ctx"}`` as pushed on ``activeAssetCtx`` / ``activeSpotAssetCtx``."""
        with self.lock:
            if coin in self.perp_ctxs:
                return {"coin": coin, "ctx": self.perp_ctxs[coin]}
            if coin in self.spot_ctxs:
                return {"coin": coin, "ctx": self.spot_ctxs[coin]}
            if coin in self.perp_names():
                return {"coin": coin, "ctx": _empty_perp_ctx()}
            if coin in self.spot_names():
                return {"coin": coin, "ctx": _empty_spot_ctx(coin)}
            return None

    # ---------------------------------------------------------------- mutation
    def add_perp(
        self,
        name: str,
        sz_decimals: int,
        max_leverage: int,
        *,
        margin_table_id: int | None = None,
    ) -> int:
        """List a perp on the main dex; returns its asset id (index in ``meta.universe``)."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name", "a non-empty coin name", name)
        with self.lock:
            if name in self.perp_names():
                raise InvalidInputError("name", "a coin not listed yet", name)
            entry: dict[str, Any] = {"name": name, "szDecimals": int(sz_decimals), "maxLeverage": int(max_leverage)}
            entry["marginTableId"] = int(margin_table_id if margin_table_id is not None else max_leverage)
            self.meta.setdefault("universe", []).append(entry)
            return len(self.meta["universe"]) - 1

    def set_book(
        self,
        coin: str,
        bids: Iterable[Sequence[Any]],
        asks: Iterable[Sequence[Any]],
        *,
        update_mid: bool = True,
    ) -> dict[str, Any]:
        """Replace ``coin``'s book with ``(px, sz[, n])`` levels; updates its mid unless told not to (a
        book without bids or without asks has no mid: ``coin`` leaves ``allMids``).

        Returns the new ``l2Book`` payload.
        """
        levels = [[_level(*lv) for lv in bids], [_level(*lv) for lv in asks]]
        with self.lock:
            self.books[coin] = levels
            if update_mid and levels[0] and levels[1]:
                mid = (Decimal(levels[0][0]["px"]) + Decimal(levels[1][0]["px"])) / 2
                self.mids[coin] = fmt_decimal(mid)
            elif update_mid:
                self.mids.pop(coin, None)
        book = self.l2_book(coin)
        assert book is not None
        self._notify(coin)
        return book

    def set_mid(self, coin: str, mid: Decimal | str | int) -> None:
        """Set ``coin``'s entry of ``allMids`` (listeners, e.g. trigger orders, see the new mid)."""
        with self.lock:
            self.mids[coin] = fmt_decimal(mid)
            ctx = self.perp_ctxs.get(coin) or self.spot_ctxs.get(coin)
            if ctx is not None:
                ctx["markPx"] = ctx["midPx"] = self.mids[coin]
        self._notify(coin)


def _empty_perp_ctx() -> dict[str, Any]:
    return {
        "funding": "0.0",
        "openInterest": "0.0",
        "prevDayPx": "0.0",
        "dayNtlVlm": "0.0",
        "premium": None,
        "oraclePx": "0.0",
        "markPx": "0.0",
        "midPx": None,
        "impactPxs": None,
        "dayBaseVlm": "0.0",
    }


def _empty_spot_ctx(coin: str) -> dict[str, Any]:
    return {
        "prevDayPx": "0.0",
        "dayNtlVlm": "0.0",
        "markPx": "0.0",
        "midPx": None,
        "circulatingSupply": "0.0",
        "coin": coin,
        "totalSupply": "0.0",
        "dayBaseVlm": "0.0",
    }


# (name, szDecimals, maxLeverage, marginTableId, best bid, tick, base size, open interest)
_PERPS: tuple[tuple[str, int, int, int, str, str, str, str], ...] = (
    ("BTC", 5, 40, 56, "97000", "1", "0.31415", "31250.12345"),
    ("ETH", 4, 25, 55, "3650.1", "0.1", "4.2718", "612345.6789"),
    ("SOL", 2, 20, 54, "180.12", "0.01", "57.31", "2456789.12"),
    ("HYPE", 2, 10, 10, "35.123", "0.001", "120.55", "15234567.89"),
    ("kPEPE", 0, 10, 10, "0.012345", "0.000001", "250000", "4123456789"),
    ("DOGE", 0, 10, 10, "0.31234", "0.00001", "15000", "612345678"),
)

_MARGIN_TABLES: list[list[Any]] = [
    [10, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": 10}]}],
    [20, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": 20}]}],
    [
        54,
        {
            "description": "tiered 20x",
            "marginTiers": [{"lowerBound": "0.0", "maxLeverage": 20}, {"lowerBound": "70000000.0", "maxLeverage": 10}],
        },
    ],
    [
        55,
        {
            "description": "tiered 25x",
            "marginTiers": [
                {"lowerBound": "0.0", "maxLeverage": 25},
                {"lowerBound": "100000000.0", "maxLeverage": 15},
            ],
        },
    ],
    [
        56,
        {
            "description": "tiered 40x",
            "marginTiers": [
                {"lowerBound": "0.0", "maxLeverage": 40},
                {"lowerBound": "150000000.0", "maxLeverage": 20},
            ],
        },
    ],
]

_SPOT_TOKENS: list[dict[str, Any]] = [
    {
        "name": "USDC",
        "szDecimals": 8,
        "weiDecimals": 8,
        "index": 0,
        "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
        "isCanonical": True,
        "evmContract": None,
        "fullName": None,
        "deployerTradingFeeShare": "0.0",
    },
    {
        "name": "PURR",
        "szDecimals": 0,
        "weiDecimals": 5,
        "index": 1,
        "tokenId": "0xc1fb593aeffbeb02f85e0308e9956a90",
        "isCanonical": True,
        "evmContract": None,
        "fullName": None,
        "deployerTradingFeeShare": "0.0",
    },
    {
        "name": "HYPE",
        "szDecimals": 2,
        "weiDecimals": 8,
        "index": 2,
        "tokenId": "0x0d01dc56dcaaca66ad901c959b4011ec",
        "isCanonical": False,
        "evmContract": None,
        "fullName": "Hyperliquid",
        "deployerTradingFeeShare": "0.0",
    },
]

# (pair name, [base token, quote token], index, isCanonical, best bid, tick, base size, supply)
_SPOT_PAIRS: tuple[tuple[str, list[int], int, bool, str, str, str, str], ...] = (
    ("PURR/USDC", [1, 0], 0, True, "0.18123", "0.00001", "5000", "596761750.0"),
    ("@1", [2, 0], 1, False, "35.122", "0.001", "42.5", "999990000.0"),
)


def _ladder(best_bid: Decimal, tick: Decimal, size: Decimal, depth: int) -> tuple[list[Any], list[Any]]:
    bids = [(best_bid - tick * i, size * (i + 1), 1 + i % 3) for i in range(depth)]
    asks = [(best_bid + tick * (i + 1), size * (i + 2), 1 + (i + 1) % 3) for i in range(depth)]
    return bids, asks


def seed_market(depth: int = 5) -> MarketData:
    """A realistic small market (see the module docstring); ``depth`` levels per book side."""
    market = MarketData()
    market.meta = {"universe": [], "marginTables": [list(t) for t in _MARGIN_TABLES], "collateralToken": 0}
    for name, szd, lev, table, bid, tick, size, oi in _PERPS:
        market.add_perp(name, szd, lev, margin_table_id=table)
        bids, asks = _ladder(Decimal(bid), Decimal(tick), Decimal(size), depth)
        book = market.set_book(name, bids, asks)
        mid = market.mids[name]
        best_bid, best_ask = book["levels"][0][0]["px"], book["levels"][1][0]["px"]
        market.perp_ctxs[name] = {
            "funding": "0.0000125",
            "openInterest": fmt_decimal(oi),
            "prevDayPx": fmt_decimal(Decimal(bid) * Decimal("0.98")),
            "dayNtlVlm": fmt_decimal((Decimal(oi) * Decimal(mid) * Decimal("0.4")).quantize(Decimal("0.01"))),
            "premium": "0.00012",
            "oraclePx": best_bid,
            "markPx": mid,
            "midPx": mid,
            "impactPxs": [best_bid, best_ask],
            "dayBaseVlm": fmt_decimal(Decimal(oi) * Decimal("0.4")),
        }
    market.spot_meta = {"universe": [], "tokens": [dict(t) for t in _SPOT_TOKENS]}
    for name, tokens, index, canonical, bid, tick, size, supply in _SPOT_PAIRS:
        market.spot_meta["universe"].append(
            {"tokens": list(tokens), "name": name, "index": index, "isCanonical": canonical}
        )
        bids, asks = _ladder(Decimal(bid), Decimal(tick), Decimal(size), depth)
        market.set_book(name, bids, asks)
        mid = market.mids[name]
        market.spot_ctxs[name] = {
            "prevDayPx": fmt_decimal(Decimal(bid) * Decimal("1.01")),
            "dayNtlVlm": "1234567.89",
            "markPx": mid,
            "midPx": mid,
            "circulatingSupply": supply,
            "coin": name,
            "totalSupply": supply,
            "dayBaseVlm": "654321.0",
        }
    return market
