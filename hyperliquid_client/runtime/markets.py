"""Market metadata lookups: coin ↔ asset id, size decimals, tick/lot rules, exact wire numbers, mids.

Facts (Hyperliquid's https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/asset-ids and
https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/tick-and-lot-size pages):

* Asset ids: main-dex perp = index in ``meta.universe``; spot pair = ``10000 + spotMeta.universe[i].index``;
  builder-deployed (HIP-3) perp = ``100000 + perpDexIndex * 10000 + index in that dex's meta``, where
  ``perpDexIndex`` is the position in the ``perpDexs`` list (position 0 is the main dex).
* Coins: perps by name (``"BTC"``), spot pairs by their universe name (``"PURR/USDC"``, ``"@107"``),
  by ``"@<index>"`` for any pair, or by ``"BASE/QUOTE"`` token names when unambiguous (first pair in
  universe order wins, as in the official SDK); builder perps as ``"dex:COIN"``.
* Prices: an integer is always valid; otherwise at most 5 significant figures and at most
  ``6 - szDecimals`` (perps) / ``8 - szDecimals`` (spot) decimals.  Sizes: at most ``szDecimals``
  decimals (spot pairs use the *base* token's ``szDecimals``).
* Wire strings: exact decimal text, no trailing zeros, never exponent notation.

:class:`MarketMetadata` is an immutable snapshot built from the raw JSON of ``meta``, ``spotMeta``,
``perpDexs``, per-dex ``meta`` and ``allMids``.  :class:`MetadataService` keeps those raw pieces in a
:class:`~hyperliquid_client.runtime.cache.TTLCache` (under the same keys as the info cache policy), provides
the warmers that fill them in the background, and fetches a missing piece on demand - through the
cache's single flight, bounded by ``timeout`` - raising
:class:`~hyperliquid_client.runtime.errors.MetadataUnavailableError` when the API cannot provide it.
"""

from __future__ import annotations

import asyncio
import inspect
import operator
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, NoReturn, TypeGuard

from hyperliquid_client.runtime.cache.policy import DEFAULT_TTL_BY_KIND, info_cache_key
from hyperliquid_client.runtime.cache.ttl import TTLCache
from hyperliquid_client.runtime.cache.warmup import Warmer
from hyperliquid_client.runtime.errors import (
    HyperliquidError,
    InvalidInputError,
    InvalidResponseError,
    MetadataUnavailableError,
)
from hyperliquid_client.runtime.errors import TimeoutError as HLTimeoutError
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.record import Record, record
from hyperliquid_client.runtime.transport._core import validate_timeout
from hyperliquid_client.runtime.validate import amount as _wire_amount
from hyperliquid_client.runtime.validate import (
    coin as _coin_name,
)
from hyperliquid_client.runtime.validate import (
    decimal_to_wire,
    exact,
    fixed,
    integer,
    near_float,
    step,
    string,
    to_decimal,
    uint,
)

__all__ = [
    "BUILDER_DEX_OFFSET",
    "BUILDER_DEX_STRIDE",
    "MAX_SIG_FIGS",
    "PERP_MAX_DECIMALS",
    "SPOT_ASSET_OFFSET",
    "SPOT_MAX_DECIMALS",
    "AssetInfo",
    "BuildContext",
    "MarketMetadata",
    "MetadataService",
    "TokenInfo",
    "asset",
    "decimal_to_wire",
    "is_valid_price",
    "leverage",
    "market_price",
    "parse_all_mids",
    "parse_perp_dexs",
    "parse_perp_meta",
    "parse_spot_meta",
    "price",
    "round_price_value",
    "round_size_value",
    "size",
    "to_decimal",
    "token",
    "token_amount",
]

_log = get_logger("hyperliquid_client.markets")

PERP_MAX_DECIMALS = 6
SPOT_MAX_DECIMALS = 8
MAX_SIG_FIGS = 5
SPOT_ASSET_OFFSET = 10_000
BUILDER_DEX_OFFSET = 100_000
BUILDER_DEX_STRIDE = 10_000

Direction = Literal["nearest", "up", "down"]
_ROUNDING = {"nearest": ROUND_HALF_EVEN, "up": ROUND_CEILING, "down": ROUND_FLOOR}


def _decimals_and_sigfigs(d: Decimal) -> tuple[int, int]:
    return _text_decimals_and_sigfigs(decimal_to_wire(d.copy_abs()))


def _text_decimals_and_sigfigs(text: str) -> tuple[int, int]:
    """Decimal places and significant figures of exact decimal text (``"1670.1"`` → 1, 5)."""
    int_part, _, frac = text.partition(".")
    digits = (int_part + frac).lstrip("0")
    return len(frac), len(digits)


def _float_text(value: Any) -> str | None:
    """The exact decimal text of a positive float its shortest repr writes without an exponent (what
    ``decimal_to_wire(to_decimal(value))`` gives, straight from the repr: the common case of a price or size
    typed as a float), else ``None``."""
    if value.__class__ is not float or not 1e-4 <= value < 1e15:
        return None
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _max_price_decimals(sz_decimals: int, is_spot: bool) -> int:
    return max(0, (SPOT_MAX_DECIMALS if is_spot else PERP_MAX_DECIMALS) - sz_decimals)


def is_valid_price(px: Decimal, *, sz_decimals: int, is_spot: bool) -> bool:
    """True when positive ``px`` is an integer, or has ≤ 5 significant figures and ≤ max decimals."""
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    decimals, sigfigs = _decimals_and_sigfigs(px)
    return decimals <= _max_price_decimals(sz_decimals, is_spot) and sigfigs <= MAX_SIG_FIGS


def _direction(direction: str) -> str:
    mode = _ROUNDING.get(direction)
    if mode is None:
        raise InvalidInputError("direction", "'nearest', 'up' or 'down'", direction)
    return mode


def _price_exp(d: Decimal, sz_decimals: int, is_spot: bool) -> int:
    """Exponent of the price step at ``d``: 5 significant figures, at most the market's decimals, integers."""
    return min(0, max(d.adjusted() - (MAX_SIG_FIGS - 1), -_max_price_decimals(sz_decimals, is_spot)))


def _snap(value: Any, d: Decimal, step_exp: int) -> Decimal:
    """The float-noise rule, for orders and the rounding helpers alike: ``d`` (the exact value of ``value``),
    or the nearest multiple of ``10^step_exp`` when ``value`` is a float within float noise of it
    (``0.7 * 3`` is ``2.1``, ``972.3599999999999`` is ``972.36`` on a 2-decimal grid)."""
    if value.__class__ is not float:
        return d
    near = d.quantize(step(step_exp), rounding=ROUND_HALF_EVEN, context=exact(d))
    return near if near != d and near > 0 and near_float(value, near) else d


def round_price_value(
    px: Any, *, sz_decimals: int, is_spot: bool, direction: Direction = "nearest", field: str = "px"
) -> Decimal:
    """The valid price nearest to ``px`` (``direction``: ``"nearest"`` half-even, ``"up"``, ``"down"``).

    A float within float noise of a valid price is that price (as orders take it), whatever the direction.
    Raises :class:`InvalidInputError` if ``px`` is not a positive number or rounds to zero.
    """
    mode = _direction(direction)
    d = to_decimal(px, field)
    if d <= 0:
        raise InvalidInputError(field, "a positive price", px)
    d = _snap(px, d, _price_exp(d, sz_decimals, is_spot))
    if d == d.to_integral_value():
        return Decimal(decimal_to_wire(d))
    rounded = d.quantize(step(_price_exp(d, sz_decimals, is_spot)), rounding=mode, context=exact(d))
    if rounded <= 0:
        raise InvalidInputError(
            field, "a price that rounds to a positive valid price", px, detail=f"direction {direction}"
        )
    return Decimal(decimal_to_wire(rounded))


def round_size_value(px: Any, *, sz_decimals: int, direction: Direction = "down", field: str = "sz") -> Decimal:
    """``sz`` rounded to ``sz_decimals`` decimals (default ``"down"``: never more than asked).

    A float within float noise of a whole number of lots is that size (as orders take it), whatever the
    direction: ``0.7 * 3`` (``2.0999999999999996``) is ``2.1``, not ``2.09``.
    """
    mode = _direction(direction)
    d = to_decimal(px, field)
    if d <= 0:
        raise InvalidInputError(field, "a positive size", px)
    d = _snap(px, d, -sz_decimals)
    rounded = d.quantize(step(-sz_decimals), rounding=mode, context=exact(d))
    if rounded <= 0:
        raise InvalidInputError(
            field, f"a size of at least one lot (10^-{sz_decimals})", px, detail=f"direction {direction}"
        )
    return Decimal(decimal_to_wire(rounded))


# ---------------------------------------------------------------------------------------------- parsing
def _bad(endpoint: str, path: str, expected: str, got: Any) -> InvalidResponseError:
    return InvalidResponseError(path, expected, got, endpoint=endpoint)


def _int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_perp_meta(raw: Any, *, dex: str = "") -> list[tuple[str, int, int | None]]:
    """``[(coin, szDecimals, maxLeverage or None), ...]`` in universe order from a ``meta`` response.

    For a builder dex the coin names are prefixed ``"dex:"`` when the response does not already
    carry the prefix.  Raises :class:`InvalidResponseError` (with the path of the bad field).
    """
    endpoint = f"info.meta(dex={dex!r})" if dex else "info.meta"
    if not isinstance(raw, Mapping):
        raise _bad(endpoint, "$", "an object with 'universe'", raw)
    universe = raw.get("universe")
    if not isinstance(universe, list):
        raise _bad(endpoint, "$.universe", "an array", universe)
    out: list[tuple[str, int, int | None]] = []
    for i, item in enumerate(universe):
        if not isinstance(item, Mapping):
            raise _bad(endpoint, f"$.universe[{i}]", "an object", item)
        name = item.get("name")
        szd = item.get("szDecimals")
        max_leverage = item.get("maxLeverage")
        if not isinstance(name, str) or not name:
            raise _bad(endpoint, f"$.universe[{i}].name", "a non-empty string", name)
        if not _int(szd) or not 0 <= szd <= 30:
            raise _bad(endpoint, f"$.universe[{i}].szDecimals", "an integer between 0 and 30", szd)
        if max_leverage is not None and (not _int(max_leverage) or max_leverage < 1):
            raise _bad(endpoint, f"$.universe[{i}].maxLeverage", "a positive integer", max_leverage)
        if dex and not name.startswith(dex + ":"):
            name = f"{dex}:{name}"
        out.append((name, szd, max_leverage))
    return out


@record
class _SpotPair(Record):
    name: str
    index: int
    base: int
    quote: int


@record
class TokenInfo(Record):
    """A spot token: ``name``, ``index``, ``token_id`` (``0x`` + 32 hex), ``sz_decimals``, ``wei_decimals``."""

    name: str
    index: int
    sz_decimals: int
    wei_decimals: int | None = None
    token_id: str | None = None

    @property
    def wire(self) -> str:
        """``NAME:0x<token id>`` as transfers name the token."""
        return f"{self.name}:{self.token_id}"


def parse_spot_meta(raw: Any) -> tuple[list[_SpotPair], dict[int, TokenInfo]]:
    """(pairs, tokens) from a ``spotMeta`` response; tokens map token index → :class:`TokenInfo`."""
    endpoint = "info.spotMeta"
    if not isinstance(raw, Mapping):
        raise _bad(endpoint, "$", "an object with 'universe' and 'tokens'", raw)
    tokens_raw = raw.get("tokens")
    universe = raw.get("universe")
    if not isinstance(tokens_raw, list):
        raise _bad(endpoint, "$.tokens", "an array", tokens_raw)
    if not isinstance(universe, list):
        raise _bad(endpoint, "$.universe", "an array", universe)
    tokens: dict[int, TokenInfo] = {}
    for i, tok in enumerate(tokens_raw):
        if not isinstance(tok, Mapping):
            raise _bad(endpoint, f"$.tokens[{i}]", "an object", tok)
        name, szd, index = tok.get("name"), tok.get("szDecimals"), tok.get("index")
        weid, token_id = tok.get("weiDecimals"), tok.get("tokenId")
        if not isinstance(name, str):
            raise _bad(endpoint, f"$.tokens[{i}].name", "a string", name)
        if not _int(szd) or not 0 <= szd <= 30:
            raise _bad(endpoint, f"$.tokens[{i}].szDecimals", "an integer between 0 and 30", szd)
        if not _int(index) or index < 0:
            raise _bad(endpoint, f"$.tokens[{i}].index", "a non-negative integer", index)
        if weid is not None and (not _int(weid) or not 0 <= weid <= 30):
            raise _bad(endpoint, f"$.tokens[{i}].weiDecimals", "an integer between 0 and 30", weid)
        if token_id is not None and not isinstance(token_id, str):
            raise _bad(endpoint, f"$.tokens[{i}].tokenId", "a hex string", token_id)
        tokens[index] = TokenInfo(name, index, szd, weid, token_id.lower() if token_id else None)
    pairs: list[_SpotPair] = []
    for i, pair in enumerate(universe):
        if not isinstance(pair, Mapping):
            raise _bad(endpoint, f"$.universe[{i}]", "an object", pair)
        name, index, toks = pair.get("name"), pair.get("index"), pair.get("tokens")
        if not isinstance(name, str) or not name:
            raise _bad(endpoint, f"$.universe[{i}].name", "a non-empty string", name)
        if not _int(index) or index < 0:
            raise _bad(endpoint, f"$.universe[{i}].index", "a non-negative integer", index)
        if not (isinstance(toks, list) and len(toks) == 2 and all(_int(t) for t in toks)):
            raise _bad(endpoint, f"$.universe[{i}].tokens", "[baseTokenIndex, quoteTokenIndex]", toks)
        for j, t in enumerate(toks):
            if t not in tokens:
                raise _bad(endpoint, f"$.universe[{i}].tokens[{j}]", "the index of a listed token", t)
        pairs.append(_SpotPair(name, index, toks[0], toks[1]))
    return pairs, tokens


def parse_perp_dexs(raw: Any) -> list[str | None]:
    """Dex names by ``perpDexIndex`` from a ``perpDexs`` response (position 0, the main dex, is ``None``)."""
    endpoint = "info.perpDexs"
    if not isinstance(raw, list):
        raise _bad(endpoint, "$", "an array", raw)
    out: list[str | None] = []
    for i, item in enumerate(raw):
        if item is None:
            out.append(None)
            continue
        if not isinstance(item, Mapping):
            raise _bad(endpoint, f"$[{i}]", "an object or null", item)
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise _bad(endpoint, f"$[{i}].name", "a non-empty string", name)
        out.append(name)
    return out


def parse_all_mids(raw: Any) -> dict[str, Decimal]:
    """``{coin: Decimal}`` from an ``allMids`` response (every value must be a decimal string)."""
    if not isinstance(raw, Mapping):
        raise _bad("allMids", "$", "an object of coin → decimal string", raw)
    out: dict[str, Decimal] = {}
    for coin, px in raw.items():
        if not isinstance(px, str):
            raise _bad("allMids", f"$[{coin!r}]", "a decimal string", px)
        try:
            d = Decimal(px)
        except InvalidOperation:
            raise _bad("allMids", f"$[{coin!r}]", "a decimal string", px) from None
        if not d.is_finite():
            raise _bad("allMids", f"$[{coin!r}]", "a finite decimal string", px)
        out[str(coin)] = d
    return out


def _validated(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def validate(raw: Any) -> Any:
        parse(raw)
        return raw

    return validate


validate_meta = _validated(parse_perp_meta)
validate_spot_meta = _validated(parse_spot_meta)
validate_perp_dexs = _validated(parse_perp_dexs)
validate_all_mids = _validated(parse_all_mids)


# ---------------------------------------------------------------------------------------------- snapshot
@record
class AssetInfo(Record):
    """One tradable market: canonical ``coin`` name, ``asset`` id, ``sz_decimals``, kind and dex."""

    coin: str
    asset: int
    sz_decimals: int
    is_spot: bool
    dex: str = ""
    base: str | None = None
    quote: str | None = None
    max_leverage: int | None = None
    _derived: ClassVar[tuple[str, ...]] = ("max_price_decimals",)
    #: Most decimals a non-integer price may have (``6|8 - szDecimals``, at least 0); made once per market (read
    #: on every order), declared ``ClassVar`` so that type checkers take it for no constructor argument
    max_price_decimals: ClassVar[int]

    def _derive(self) -> None:
        object.__setattr__(self, "max_price_decimals", _max_price_decimals(self.sz_decimals, self.is_spot))

    @property
    def lot_size(self) -> Decimal:
        """Smallest size increment, ``10^-szDecimals``."""
        return step(-self.sz_decimals)

    @property
    def kind(self) -> str:
        """``"spot"``, ``"perp"`` or ``"builder perp"``."""
        return "spot" if self.is_spot else ("builder perp" if self.dex else "perp")


def _piece_of(coin: str) -> str:
    """Which metadata piece resolves ``coin``: ``"perp"``, ``"spot"`` or ``"dex:<name>"``."""
    if ":" in coin:
        return "dex:" + coin.split(":", 1)[0]
    if coin.startswith("@") or "/" in coin:
        return "spot"
    return "perp"


_COIN_EXPECTED = "a listed coin (perp name like 'BTC', spot pair 'BASE/QUOTE' or '@index', builder perp 'dex:COIN')"


class MarketMetadata:
    """Immutable snapshot of market metadata with lookups and number formatting.

    ``loaded`` names the pieces it was built from (``"perp"``, ``"spot"``, ``"perpDexs"``,
    ``"dex:<name>"``).  Looking up a coin whose piece was not loaded raises
    :class:`MetadataUnavailableError`; a coin absent from a loaded piece raises
    :class:`InvalidInputError` (``field="coin"``).
    """

    __slots__ = ("_aliases", "_by_asset", "_by_coin", "_mids", "_tokens", "loaded")

    def __init__(
        self,
        assets: Iterable[AssetInfo],
        *,
        aliases: Mapping[str, str] | None = None,
        mids: Mapping[str, Decimal] | None = None,
        loaded: Iterable[str] = (),
        tokens: Iterable[TokenInfo] = (),
    ) -> None:
        self._tokens: dict[str, TokenInfo] = {}
        for tok in tokens:
            self._tokens.setdefault(tok.name, tok)
        self._by_coin: dict[str, AssetInfo] = {}
        self._by_asset: dict[int, AssetInfo] = {}
        for a in assets:
            self._by_coin.setdefault(a.coin, a)
            self._by_asset.setdefault(a.asset, a)
        self._aliases: dict[str, str] = {k: v for k, v in (aliases or {}).items() if k not in self._by_coin}
        self._mids: Mapping[str, Decimal] | None = mids
        self.loaded = frozenset(loaded)

    @classmethod
    def from_raw(
        cls,
        *,
        meta: Any = None,
        spot_meta: Any = None,
        perp_dexs: Any = None,
        dex_metas: Mapping[str, Any] | None = None,
        all_mids: Any = None,
    ) -> MarketMetadata:
        """Build from raw API JSON; every argument is optional.  Raises :class:`InvalidResponseError`."""
        assets: list[AssetInfo] = []
        aliases: dict[str, str] = {}
        loaded: set[str] = set()
        tokens: dict[int, TokenInfo] = {}
        if meta is not None:
            for i, (name, szd, max_lev) in enumerate(parse_perp_meta(meta)):
                assets.append(AssetInfo(name, i, szd, False, max_leverage=max_lev))
            loaded.add("perp")
        if spot_meta is not None:
            pairs, tokens = parse_spot_meta(spot_meta)
            spot_names = {p.name for p in pairs}
            for p in pairs:
                base_token, quote_name = tokens[p.base], tokens[p.quote].name
                base_name = base_token.name
                assets.append(
                    AssetInfo(
                        p.name, SPOT_ASSET_OFFSET + p.index, base_token.sz_decimals, True, "", base_name, quote_name
                    )
                )
                aliases.setdefault(f"@{p.index}", p.name)
                pair_name = f"{base_name}/{quote_name}"
                if pair_name not in spot_names:
                    aliases.setdefault(pair_name, p.name)
            loaded.add("spot")
        if perp_dexs is not None:
            dex_names = parse_perp_dexs(perp_dexs)
            loaded.add("perpDexs")
            for dex_index, dex in enumerate(dex_names):
                if dex is None or dex_index == 0:
                    continue
                raw = (dex_metas or {}).get(dex)
                if raw is None:
                    continue
                base = BUILDER_DEX_OFFSET + dex_index * BUILDER_DEX_STRIDE
                for i, (name, szd, max_lev) in enumerate(parse_perp_meta(raw, dex=dex)):
                    assets.append(AssetInfo(name, base + i, szd, False, dex, max_leverage=max_lev))
                loaded.add("dex:" + dex)
        mids = parse_all_mids(all_mids) if all_mids is not None else None
        return cls(assets, aliases=aliases, mids=mids, loaded=loaded, tokens=tokens.values())

    def with_mids(self, mids: Mapping[str, Decimal] | None) -> MarketMetadata:
        """The same snapshot with other mids (cheap: lookup tables are shared)."""
        clone = MarketMetadata.__new__(MarketMetadata)
        clone._by_coin = self._by_coin
        clone._by_asset = self._by_asset
        clone._aliases = self._aliases
        clone._mids = mids
        clone._tokens = self._tokens
        clone.loaded = self.loaded
        return clone

    # ------------------------------------------------------------------ lookups
    def __contains__(self, coin: object) -> bool:
        return isinstance(coin, str) and (coin in self._by_coin or coin in self._aliases)

    def __len__(self) -> int:
        return len(self._by_coin)

    def __repr__(self) -> str:
        return f"MarketMetadata(markets={len(self._by_coin)}, loaded={sorted(self.loaded)})"

    @property
    def coins(self) -> list[str]:
        """Canonical names of every market in the snapshot."""
        return list(self._by_coin)

    def find(self, coin: str) -> AssetInfo | None:
        """The :class:`AssetInfo` of ``coin`` (any accepted spelling), ``None`` when not listed."""
        info = self._by_coin.get(coin)
        if info is None:
            alias = self._aliases.get(coin)
            if alias is not None:
                info = self._by_coin.get(alias)
        return info

    def by_asset(self, asset: int) -> AssetInfo:
        """The :class:`AssetInfo` of asset id ``asset``."""
        info = self._by_asset.get(asset)
        if info is None:
            raise InvalidInputError("asset", "the asset id of a listed market", asset)
        return info

    def token(self, name: str) -> TokenInfo | None:
        """The spot token named ``name`` (``None`` when not listed)."""
        return self._tokens.get(name)

    def asset_info(self, coin: str) -> AssetInfo:
        """The :class:`AssetInfo` of ``coin`` (any accepted spelling)."""
        if not isinstance(coin, str) or not coin:
            raise InvalidInputError("coin", _COIN_EXPECTED, coin)
        info = self.find(coin)
        if info is None:
            piece = _piece_of(coin)
            if piece not in self.loaded:
                raise MetadataUnavailableError(f"metadata needed to resolve coin {coin!r} ({piece}) is not loaded")
            raise InvalidInputError("coin", _COIN_EXPECTED, coin)
        return info

    def asset_id(self, coin: str) -> int:
        """Asset id of ``coin`` as used in orders (``a``)."""
        return self.asset_info(coin).asset

    def coin_name(self, asset: int) -> str:
        """Canonical coin name of asset id ``asset``."""
        if not _int(asset):
            raise InvalidInputError("asset", "an integer asset id", asset)
        return self.by_asset(asset).coin

    def sz_decimals(self, coin: str) -> int:
        """``szDecimals`` of ``coin`` (for spot: the base token's)."""
        return self.asset_info(coin).sz_decimals

    def is_spot(self, coin: str) -> bool:
        """True for spot pairs."""
        return self.asset_info(coin).is_spot

    def mid(self, coin: str) -> Decimal | None:
        """Latest mid of ``coin`` from the snapshot's ``allMids`` (``None`` if not known)."""
        if self._mids is None:
            return None
        direct = self._mids.get(coin)
        if direct is not None:
            return direct
        try:
            info = self.asset_info(coin)
        except HyperliquidError:
            return None
        found = self._mids.get(info.coin)
        if found is None and info.is_spot:
            found = self._mids.get(f"@{info.asset - SPOT_ASSET_OFFSET}")
        return found

    @property
    def mids(self) -> Mapping[str, Decimal] | None:
        """The raw ``allMids`` map of the snapshot (``None`` when not loaded)."""
        return self._mids

    # ------------------------------------------------------------------ numbers
    def price_to_wire(self, coin: str, px: Any, *, field: str = "px") -> str:
        """Validate ``px`` for ``coin`` and return its exact wire string (see :func:`price_text`)."""
        return price_text(self.asset_info(coin), field, px)

    def size_to_wire(self, coin: str, sz: Any, *, field: str = "sz", allow_zero: bool = False) -> str:
        """Validate ``sz`` for ``coin`` (positive, at most ``szDecimals`` decimals) and return its wire string.

        ``allow_zero=True`` accepts ``0`` (a reduce-only order of size 0 closes the position).
        """
        return size_text(self.asset_info(coin), field, sz, allow_zero=allow_zero)

    def round_price(self, coin: str, px: Any, *, direction: Direction = "nearest") -> Decimal:
        """The valid price for ``coin`` nearest to ``px`` (or the next one ``"up"``/``"down"``)."""
        info = self.asset_info(coin)
        return round_price_value(px, sz_decimals=info.sz_decimals, is_spot=info.is_spot, direction=direction)

    def round_size(self, coin: str, sz: Any, *, direction: Direction = "down") -> Decimal:
        """``sz`` rounded to a whole number of lots of ``coin`` (``"down"`` by default)."""
        info = self.asset_info(coin)
        return round_size_value(sz, sz_decimals=info.sz_decimals, direction=direction)


def price_text(info: AssetInfo, field: str, px: Any) -> str:
    """``px`` as the exact wire string of a valid price of ``info``.

    A float within float noise of a valid price is taken as that price; otherwise a price the
    exchange would reject raises :class:`InvalidInputError` naming ``field``, the allowed precision
    and the nearest valid price.
    """
    text = _float_text(px)
    if text is not None:  # a valid float price is its own repr
        decimals, sigfigs = _text_decimals_and_sigfigs(text)
        if not decimals or (decimals <= info.max_price_decimals and sigfigs <= MAX_SIG_FIGS):
            return text
    d = to_decimal(px, field)
    if d <= 0:
        raise InvalidInputError(field, f"a positive price for {info.coin}", px)
    d = _snap(px, d, _price_exp(d, info.sz_decimals, info.is_spot))
    if is_valid_price(d, sz_decimals=info.sz_decimals, is_spot=info.is_spot):
        return decimal_to_wire(d)
    try:
        near = round_price_value(d, sz_decimals=info.sz_decimals, is_spot=info.is_spot, field=field)
    except InvalidInputError:
        near = None
    raise InvalidInputError(
        field,
        f"a price for {info.coin} ({info.kind}, szDecimals {info.sz_decimals}) that is an integer or has "
        f"at most {MAX_SIG_FIGS} significant figures and at most {info.max_price_decimals} decimal places",
        px,
        detail=f"nearest valid price {decimal_to_wire(near)}; see round_price()" if near else "see round_price()",
    )


def size_text(info: AssetInfo, field: str, sz: Any, *, allow_zero: bool = False) -> str:
    """``sz`` as the exact wire string of a size of ``info`` (whole lots; float noise tolerated)."""
    text = _float_text(sz)
    if text is not None and _text_decimals_and_sigfigs(text)[0] <= info.sz_decimals:
        return text  # a float in whole lots is its own repr
    d = to_decimal(sz, field)
    if d < 0 or (d == 0 and not allow_zero):
        raise InvalidInputError(field, f"a positive size for {info.coin}", sz)
    if d == 0:
        return "0"
    d = _snap(sz, d, -info.sz_decimals)
    if _decimals_and_sigfigs(d)[0] > info.sz_decimals:
        down = d.quantize(info.lot_size, rounding=ROUND_FLOOR, context=exact(d))  # (as round_size(): never more)
        raise InvalidInputError(
            field,
            f"a size for {info.coin} with at most {info.sz_decimals} decimal places "
            f"(lot size {decimal_to_wire(info.lot_size)})",
            sz,
            detail=f"round_size() gives {decimal_to_wire(down)}" if down else "less than one lot",
        )
    return decimal_to_wire(d)


def market_price(market: MarketMetadata, coin: str, is_buy: bool, mid: Decimal, slippage: Any) -> Decimal:
    """``mid * (1 ± slippage)`` rounded to a valid price of ``coin`` (the market-order limit price)."""
    s = to_decimal(slippage, "slippage")
    if not Decimal(0) <= s < Decimal(1):
        raise InvalidInputError("slippage", "a fraction in [0, 1) such as 0.05", slippage)
    ctx = exact(mid)  # (whatever the thread's decimal context)
    px = ctx.multiply(mid, ctx.add(1, s) if is_buy else ctx.subtract(1, s))
    return market.round_price(coin, px)


# ---------------------------------------------------------------------------------------------- requests
class _MetadataMissing(MetadataUnavailableError):
    """Raised by a builder when the snapshot lacks what ``coin`` needs; the exchange loads it
    (``MetadataService.market(coin)``) and builds again."""

    def __init__(self, coin: str, name: str = "coin") -> None:
        super().__init__(f"market metadata needed for {coin!r} is not loaded")
        self.coin = coin
        self.name = name  # (where the caller gave it: a refusal of the load names it)

    def named(self, exc: InvalidInputError) -> InvalidInputError:
        """``exc``, a refusal of :attr:`coin` while loading it, naming where the caller gave it."""
        return _coin_named(exc, self.name)


def _coin_named(exc: InvalidInputError, name: str) -> InvalidInputError:
    """``exc``, a refusal of a coin (``field`` "coin"), naming where the caller gave it (``orders[1].coin``)."""
    return exc.named(name) if exc.field == "coin" and name != "coin" else exc


#: A coin of the spot piece: what to load when a spot *token* is not known yet.
SPOT_PROBE = "@0"


class BuildContext:
    """What high-level request builders resolve against: a metadata snapshot and the client's defaults.

    ``vault`` is the client's default vault / sub-account, ``user`` its account; ``tried`` the coins
    already loaded for this request (an unknown one is then refused instead of loaded again).
    """

    __slots__ = ("markets", "tried", "user", "vault")

    def __init__(
        self,
        markets: MarketMetadata,
        *,
        vault: str | None = None,
        user: str | None = None,
        tried: frozenset[str] = frozenset(),
    ) -> None:
        self.markets = markets
        self.vault = vault
        self.user = user
        self.tried = tried

    def unknown(self, coin: str, name: str = "coin") -> NoReturn:
        """``coin`` (given as ``name``) is not in the snapshot: load it once, then refuse it."""
        if coin not in self.tried:
            raise _MetadataMissing(coin, name)
        try:
            self.markets.asset_info(coin)  # raises the precise error (unknown coin, or piece unavailable)
        except InvalidInputError as exc:
            raise _coin_named(exc, name) from None
        raise InvalidInputError(name, _COIN_EXPECTED, coin)


def asset(ctx: BuildContext | None, name: str, value: Any) -> int:
    """A market → its asset id: coin names through the metadata (wire level: the id itself)."""
    if ctx is None:
        return uint(name, value)
    info = ctx.markets.find(_coin_name(name, value))
    if info is None:
        ctx.unknown(value, name)
    return info.asset


def price(ctx: BuildContext | None, name: str, value: Any, asset: Any) -> str:
    """A price of ``asset`` as its exact wire string (tick rules; wire level: a positive decimal)."""
    if ctx is None:
        return _positive(name, value)
    return price_text(ctx.markets.by_asset(asset), name, value)


def size(ctx: BuildContext | None, name: str, value: Any, asset: Any, reduce_only: Any = None) -> str:
    """A size of ``asset`` in whole lots; 0 only for reduce-only orders (wire level: a decimal >= 0)."""
    if ctx is None:
        d = to_decimal(value, name)
        if d < 0:
            raise InvalidInputError(name, "a non-negative size", value)
        return decimal_to_wire(d)
    return size_text(ctx.markets.by_asset(asset), name, value, allow_zero=reduce_only is True)


def leverage(ctx: BuildContext | None, name: str, value: Any, asset: Any) -> int:
    """A leverage from 1 to the asset's ``maxLeverage``."""
    lev = integer(name, value, minimum=1)
    if ctx is not None:
        info = ctx.markets.by_asset(asset)
        if info.is_spot:
            raise InvalidInputError("coin", "a perp (spot pairs have no leverage)", info.coin)
        if info.max_leverage is not None and lev > info.max_leverage:
            raise InvalidInputError(name, f"at most {info.max_leverage} (maxLeverage of {info.coin})", lev)
    return lev


def token(ctx: BuildContext | None, name: str, value: Any) -> str:
    """A spot token as ``NAME:0x<token id>``; high level: ``NAME`` or ``NAME:0x…`` checked against spotMeta."""
    text = string(name, value)
    if ctx is None:
        if not text:
            raise InvalidInputError(name, "a token such as 'PURR:0xc4bf3f870c0e9465323c0b6ed28096c2'", value)
        return text
    token_name, _, token_id = text.partition(":")
    info = ctx.markets.token(token_name)
    if info is None:
        if "spot" not in ctx.markets.loaded or SPOT_PROBE not in ctx.tried:
            raise _MetadataMissing(SPOT_PROBE)
        raise InvalidInputError(name, "a token listed in spotMeta, e.g. 'PURR' or 'PURR:0x…'", value)
    if info.token_id is None:
        raise MetadataUnavailableError(f"spotMeta lists {token_name!r} without a tokenId")
    if token_id and token_id.lower() != info.token_id:
        raise InvalidInputError(name, f"{info.wire} (the token id spotMeta lists for {token_name})", value)
    return info.wire


def token_amount(ctx: BuildContext | None, name: str, value: Any, token: Any) -> str:
    """An amount of ``token``: positive, at most its ``weiDecimals`` decimals (wire level: text as given)."""
    if ctx is None:
        return _wire_amount(name, value)
    info = ctx.markets.token(str(token).partition(":")[0])
    places = info.wei_decimals if info is not None and info.wei_decimals is not None else 8
    what = f"amount of {info.name}" if info is not None else "amount"
    return decimal_to_wire(fixed(name, value, places, what))


def _positive(name: str, value: Any) -> str:
    d = to_decimal(value, name)
    if d <= 0:
        raise InvalidInputError(name, "a positive number", value)
    return decimal_to_wire(d)


# ---------------------------------------------------------------------------------------------- service
META_BODY: Mapping[str, Any] = {"type": "meta"}
SPOT_META_BODY: Mapping[str, Any] = {"type": "spotMeta"}
PERP_DEXS_BODY: Mapping[str, Any] = {"type": "perpDexs"}
ALL_MIDS_BODY: Mapping[str, Any] = {"type": "allMids"}
#: Cache key of the mids kept by :class:`MetadataService` (separate from the ``allMids`` info entry).
MIDS_KEY: tuple[str, str] = ("markets", "allMids")


def dex_meta_body(dex: str) -> dict[str, Any]:
    """Body of the ``meta`` request of builder dex ``dex``."""
    return {"type": "meta", "dex": dex}


def _is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


_PIECE_LABEL = {
    "perp": "perp metadata (meta)",
    "spot": "spot metadata (spotMeta)",
    "perpDexs": "perp dex list (perpDexs)",
}


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two tuples hold the very same objects (identity: cached answers are never compared)."""
    return len(a) == len(b) and all(map(operator.is_, a, b))


#: the pieces every snapshot is made of (then its builder dexes' metadata, ``"dex:" + name``)
_PIECES = ("perp", "spot", "perpDexs", "mids")


class MetadataService:
    """Market metadata for one client, read through ``cache``, fetched on demand with ``timeout``.

    ``fetch_info(body)`` is the client's raw info call (sync, or a coroutine function for async
    clients) returning the JSON the API sent.  Construction does no I/O.  :meth:`market` /
    :meth:`amarket` return a :class:`MarketMetadata` snapshot containing at least the pieces
    needed for ``coin`` (everything configured when ``coin`` is ``None``): a piece not yet in the
    cache (warm-up not done, or expired) is fetched through the cache's single flight, bounded by
    ``timeout``; when that fails, :class:`MetadataUnavailableError` explains which piece and why.
    ``dexes``: builder dexes to load (``"all"`` from ``perpDexs``, a list of names, or ``()``).
    ``allow_stale=True`` lets an expired piece be used when refreshing it fails.
    """

    def __init__(
        self,
        cache: TTLCache,
        fetch_info: Callable[[Mapping[str, Any]], Any],
        *,
        timeout: float = 5.0,
        dexes: Sequence[str] | Literal["all"] = "all",
        allow_stale: bool = False,
        meta_ttl: float = DEFAULT_TTL_BY_KIND["metadata"],
        mids_ttl: float = 10.0,
        meta_interval: float = 30.0,
        mids_interval: float = 5.0,
        unknown_coin_refresh: float = 30.0,
    ) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.cache = cache
        self.fetch_info = fetch_info
        self.timeout = float(timeout)
        self.dexes: Sequence[str] | Literal["all"] = dexes if dexes == "all" else tuple(dexes)
        self.allow_stale = allow_stale
        self.meta_ttl = meta_ttl
        self.mids_ttl = mids_ttl
        self.meta_interval = meta_interval
        self.mids_interval = mids_interval
        self.unknown_coin_refresh = unknown_coin_refresh
        self.is_async = _is_async_callable(fetch_info)
        self._memo: tuple[tuple[tuple[Any, ...], Any], MarketMetadata] | None = None
        #: (the cache's generation, the snapshot made then only of values its lock-free table held)
        self._generation_memo: tuple[int, MarketMetadata] | None = None
        self._base_memo: tuple[tuple[Any, ...], MarketMetadata] | None = None
        self._dexs_memo: tuple[Any, list[str]] | None = None
        self._keys: dict[str, Hashable] = {}
        self._mids_memo: tuple[Any, dict[str, Decimal]] | None = None
        #: when the load in flight of each piece started (a call joining it waits only for the rest)
        self._started: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"MetadataService(timeout={self.timeout:g}, dexes={self.dexes!r}, async={self.is_async})"

    # ------------------------------------------------------------------ pieces
    def _body_of(self, piece: str) -> tuple[Mapping[str, Any], Callable[[Any], Any], float]:
        if piece == "perp":
            return META_BODY, validate_meta, self.meta_ttl
        if piece == "spot":
            return SPOT_META_BODY, validate_spot_meta, self.meta_ttl
        if piece == "perpDexs":
            return PERP_DEXS_BODY, validate_perp_dexs, self.meta_ttl
        if piece == "mids":
            return ALL_MIDS_BODY, validate_all_mids, self.mids_ttl
        if piece.startswith("dex:"):
            dex = piece[4:]
            return dex_meta_body(dex), _validated(lambda raw: parse_perp_meta(raw, dex=dex)), self.meta_ttl
        raise ValueError(piece)

    def _key(self, piece: str) -> Hashable:
        """Cache key of ``piece``: the info cache key of its request, except for mids.

        Metadata pieces share their entries with the info methods (same request, same key).  The
        mids used here live under their own key (:data:`MIDS_KEY`) with ``mids_ttl``, so that the
        info method ``allMids`` keeps its own, shorter spec TTL.
        """
        key = self._keys.get(piece)
        if key is None:
            key = self._keys[piece] = MIDS_KEY if piece == "mids" else info_cache_key(self._body_of(piece)[0])
        return key

    def _cached(self, piece: str) -> Any:
        key = self._keys.get(piece) or self._key(piece)
        value = self.cache.fresh(key)  # per order: no lock, no copy, nothing counted
        if value is not None:
            return value
        found = self.cache.peek(key)
        if found is None:
            return None
        if found.fresh:
            return found.value
        if self.allow_stale:
            max_stale = self.cache.config.max_stale
            now = found.stored_at + found.age
            if max_stale is None or now - found.expires_at < max_stale:
                return found.value
        return None

    def _wait(self, piece: str, end: float | None) -> float:
        """Seconds a call may wait for ``piece``: what is left of the load in flight (a load gets ``timeout``
        from its start; a call joining it waits only for the rest), never past the call's own ``end``."""
        now = time.monotonic()
        started = self._started.get(piece)
        left = self.timeout
        if started is not None and now - started < self.timeout:
            left = self.timeout - (now - started)
        if end is not None:
            left = min(left, end - now)
        return max(left, 0.001)

    def _end(self, timeout: float | None) -> float | None:
        """The monotonic deadline of a call given ``timeout`` seconds (``None``: the service's own)."""
        if timeout is None:
            return None
        return time.monotonic() + validate_timeout(timeout, self.timeout)

    def _forget(self, piece: str, started: float) -> None:
        if self._started.get(piece) == started:
            self._started.pop(piece, None)

    def _fail(
        self, piece: str, coin: str | None, exc: BaseException, waited: float, end: float | None
    ) -> MetadataUnavailableError:
        label = _PIECE_LABEL.get(piece) or (f"builder dex {piece[4:]!r} metadata (meta dex={piece[4:]})")
        target = f" to resolve {coin!r}" if coin and coin != SPOT_PROBE else ""  # (the probe: no name of the caller's)
        if isinstance(exc, HLTimeoutError) and end is not None and time.monotonic() >= end - 0.001:
            # the caller's own timeout ran out while the load goes on (a waiter leaves it running): nothing says
            # that the API is down
            msg = (
                f"market metadata unavailable: {label}{target} was still loading when the call's timeout ran out "
                f"(after {waited:.3g}s); the load goes on and later calls use it (a longer timeout gives it time; "
                "the API may also be slow)"
            )
        else:  # a timeout speaks of the market, not of the cache or request that did not answer in time
            why = "no answer" if isinstance(exc, HLTimeoutError) else f"{type(exc).__name__}: {exc}"
            msg = (
                f"market metadata unavailable: could not load {label}{target} within {waited:.3g}s "
                f"({why}); the API may be down or unreachable"
            )
        log(_log, 20, "metadata unavailable", piece=piece, coin=coin, error=type(exc).__name__)
        err = MetadataUnavailableError(msg)
        err.__cause__ = exc
        return err

    def _call_sync(self, body: Mapping[str, Any]) -> Any:
        result = self.fetch_info(dict(body))
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError("fetch_info is asynchronous: use amarket()/amids() or a sync fetch_info")
        return result

    async def _call_async(self, body: Mapping[str, Any]) -> Any:
        if self.is_async:
            return await self.fetch_info(dict(body))
        result = await asyncio.to_thread(self.fetch_info, dict(body))
        if inspect.isawaitable(result):
            result = await result
        return result

    def _load_sync(self, piece: str, coin: str | None, *, force: bool = False, end: float | None = None) -> Any:
        body, validate, ttl = self._body_of(piece)
        key = self._key(piece)

        def fetch() -> Any:
            started = self._started[piece] = time.monotonic()
            try:
                return validate(self._call_sync(body))
            finally:
                self._forget(piece, started)

        wait = self._wait(piece, end)
        try:
            if force:
                return self.cache.refresh(key, fetch, ttl=ttl, timeout=wait, supersede_after=self.timeout)
            return self.cache.get_or_fetch(
                key,
                fetch,
                ttl=ttl,
                timeout=wait,
                stale_on_error=self.allow_stale,
                supersede_after=self.timeout,
            )
        except TypeError:
            raise
        except Exception as exc:
            raise self._fail(piece, coin, exc, wait, end) from exc

    async def _load_async(self, piece: str, coin: str | None, *, force: bool = False, end: float | None = None) -> Any:
        body, validate, ttl = self._body_of(piece)
        key = self._key(piece)

        async def fetch() -> Any:
            started = self._started[piece] = time.monotonic()
            try:
                return validate(await self._call_async(body))
            finally:
                self._forget(piece, started)

        wait = self._wait(piece, end)
        try:
            if force:
                return await self.cache.arefresh(key, fetch, ttl=ttl, timeout=wait, supersede_after=self.timeout)
            return await self.cache.aget_or_fetch(
                key,
                fetch,
                ttl=ttl,
                timeout=wait,
                stale_on_error=self.allow_stale,
                supersede_after=self.timeout,
            )
        except Exception as exc:
            raise self._fail(piece, coin, exc, wait, end) from exc

    def _needed(self, coin: str | None) -> list[str]:
        """Pieces to load first: those ``coin`` needs, or every configured one but the builder dex metas."""
        if coin is not None:
            piece = _piece_of(coin)
            return ["perpDexs", piece] if piece.startswith("dex:") else [piece]
        pieces = ["perp", "spot"]
        if self.dexes == "all" or self.dexes:
            pieces.append("perpDexs")
        return pieces

    def _dex_names(self, perp_dexs_raw: Any) -> list[str]:
        names = self._listed_dexes(perp_dexs_raw)
        if self.dexes == "all":
            return names
        return [n for n in names if n in self.dexes]

    def snapshot(self) -> MarketMetadata:
        """A snapshot of whatever the cache holds now (never fetches, never blocks).

        Per order this is one comparison: a snapshot made only of values the cache's lock-free table held is
        reused while the cache's ``generation`` says that table has not changed (see :meth:`TTLCache.held`).
        """
        cache = self.cache
        generation = cache.generation  # (read before the values: a change meanwhile leaves the memo stale-marked)
        memo = self._generation_memo
        if memo is not None and memo[0] == generation:
            return memo[1]
        snap = self._snapshot_now()
        if self._held_only(snap):
            self._generation_memo = (generation, snap)
        return snap

    def _held_only(self, snap: MarketMetadata) -> bool:
        """Whether ``snap`` (just made) was made only of values the cache's lock-free table holds, and of nothing
        for the pieces the cache holds nothing fresh for (storing one changes the cache's generation too)."""
        made, listed = self._memo, self._dexs_memo
        if made is None or made[1] is not snap:
            return False
        pieces, mids = made[0]
        dexs = pieces[2]
        if dexs is None:
            names: Sequence[str] = ()
        elif listed is not None and listed[0] is dexs:
            names = listed[1]
        else:
            return False
        n = (len(pieces) - 3) // 2
        dex_metas = dict(zip(pieces[3 : 3 + n], pieces[3 + n :], strict=True))
        values = (*pieces[:3], mids, *[dex_metas.get(name) for name in names])
        keys, held = self._keys.get, self.cache.held
        return all(
            (k := keys(piece)) is not None and held(k) is value
            for piece, value in zip((*_PIECES, *["dex:" + name for name in names]), values, strict=True)
        )

    def _snapshot_now(self) -> MarketMetadata:
        """The snapshot from the cache's values read now: a few cache reads and identity checks (the snapshot,
        its builder dexes' names and its mids are remembered with the cached values they were made from)."""
        keys, fresh = self._keys.get, self.cache.fresh  # (a piece well within its TTL: one read, else _cached decides)
        meta, spot, dexs, mids = [
            ((k := keys(piece)) is not None and fresh(k)) or self._cached(piece) for piece in _PIECES
        ]
        listed = self._dexs_memo
        names = listed[1] if listed is not None and listed[0] is dexs else self._listed_dexes(dexs)
        memo = self._memo
        if not names and memo is not None:  # no builder dex (the usual case): the same three pieces and mids?
            (seen, seen_mids), snap = memo
            if seen_mids is mids and len(seen) == 3 and seen[0] is meta and seen[1] is spot and seen[2] is dexs:
                return snap
        dex_metas: dict[str, Any] = {}
        for name in names:
            raw = self._cached("dex:" + name)
            if raw is not None:
                dex_metas[name] = raw
        pieces = (meta, spot, dexs, *dex_metas, *dex_metas.values())
        if memo is not None and memo[0][1] is mids and _same(memo[0][0], pieces):
            return memo[1]
        base = self._base_memo
        if base is None or not _same(base[0], pieces):
            try:
                snap = MarketMetadata.from_raw(meta=meta, spot_meta=spot, perp_dexs=dexs, dex_metas=dex_metas)
            except InvalidResponseError as exc:
                raise MetadataUnavailableError(f"market metadata in the cache is malformed: {exc}") from exc
            base = self._base_memo = (pieces, snap)
        snap = base[1].with_mids(self._cached_mids(mids))
        self._memo = ((pieces, mids), snap)
        return snap

    _snapshot = snapshot

    def _listed_dexes(self, dexs: Any) -> list[str]:
        """The builder dexes listed in the cached ``perpDexs`` answer (parsed once per answer)."""
        if dexs is None:
            return []
        memo = self._dexs_memo
        if memo is not None and memo[0] is dexs:
            return memo[1]
        try:
            names = [n for n in parse_perp_dexs(dexs)[1:] if n]
        except InvalidResponseError:
            names = []
        self._dexs_memo = (dexs, names)
        return names

    def _cached_mids(self, raw: Any) -> dict[str, Decimal] | None:
        if raw is None:
            return None
        memo = self._mids_memo
        if memo is not None and memo[0] is raw:
            return memo[1]
        try:
            mids = parse_all_mids(raw)
        except InvalidResponseError:
            return None
        self._mids_memo = (raw, mids)
        return mids

    def _stale_piece(self, coin: str, snap: MarketMetadata) -> str | None:
        """The piece to refresh once when ``coin`` is unknown to a loaded piece older than the threshold."""
        if coin in snap:
            return None
        piece = _piece_of(coin)
        if piece not in snap.loaded:
            return None
        found = self.cache.peek(self._key(piece))
        if found is None or found.age < self.unknown_coin_refresh:
            return None
        return piece

    def _unlisted_dex(self, coin: str | None, perp_dexs_raw: Any) -> str | None:
        """What to do when ``coin``'s builder dex is not in the (validated) ``perpDexs`` answer: ``"refresh"`` the
        list once (older than ``unknown_coin_refresh``: the dex may be new), else ``"refuse"``; ``None`` when it is
        listed or ``coin`` is not a builder dex's."""
        piece = _piece_of(coin) if coin is not None else ""
        if not piece.startswith("dex:") or piece[4:] in self._listed_dexes(perp_dexs_raw):
            return None
        found = self.cache.peek(self._key("perpDexs"))
        return "refresh" if found is not None and found.age >= self.unknown_coin_refresh else "refuse"

    def _refuse_dex(self, coin: str | None, perp_dexs_raw: Any) -> InvalidInputError:
        names = ", ".join(repr(n) for n in self._listed_dexes(perp_dexs_raw)) or "none"
        return InvalidInputError("coin", f"a coin of a builder dex perpDexs lists (it lists {names})", coin)

    # ------------------------------------------------------------------ public
    def known_coin(self, coin: str) -> bool | None:
        """Whether ``coin`` is listed, from what the cache holds now (never fetches, never blocks).

        ``None`` when the metadata that would tell is not loaded yet.
        """
        if self._cached(_piece_of(coin)) is None:
            return None
        return coin in self._snapshot()

    def market(self, coin: str | None = None, *, timeout: float | None = None) -> MarketMetadata:
        """A snapshot holding at least what ``coin`` needs (all configured pieces when ``None``).

        Waits at most the service's ``timeout`` for a load (a call joining a load already in flight waits only
        for what is left of it), and never longer than ``timeout`` seconds in all when given (a call's own
        deadline).  Sync ``fetch_info`` only.
        """
        end = self._end(timeout)
        if coin is not None and (not isinstance(coin, str) or not coin):
            raise InvalidInputError("coin", _COIN_EXPECTED, coin)
        dexs = None
        for piece in self._needed(coin):
            raw = self._load_sync(piece, coin, end=end)
            if piece == "perpDexs":
                dexs = raw
                unlisted = self._unlisted_dex(coin, raw)
                if unlisted == "refresh":
                    dexs = raw = self._load_sync(piece, coin, force=True, end=end)
                    unlisted = self._unlisted_dex(coin, raw)
                if unlisted is not None:
                    raise self._refuse_dex(coin, raw)  # not asked of the API: it has no such dex
        if coin is None and dexs is not None:
            for name in self._dex_names(dexs):
                self._load_sync("dex:" + name, coin, end=end)
        snap = self._snapshot()
        if coin is not None:
            stale = self._stale_piece(coin, snap)
            if stale is not None:
                self._load_sync(stale, coin, force=True, end=end)
                snap = self._snapshot()
        return snap

    async def amarket(self, coin: str | None = None, *, timeout: float | None = None) -> MarketMetadata:
        """Async :meth:`market` (a sync ``fetch_info`` runs in a worker thread)."""
        end = self._end(timeout)
        if coin is not None and (not isinstance(coin, str) or not coin):
            raise InvalidInputError("coin", _COIN_EXPECTED, coin)
        dexs = None
        for piece in self._needed(coin):
            raw = await self._load_async(piece, coin, end=end)
            if piece == "perpDexs":
                dexs = raw
                unlisted = self._unlisted_dex(coin, raw)
                if unlisted == "refresh":
                    dexs = raw = await self._load_async(piece, coin, force=True, end=end)
                    unlisted = self._unlisted_dex(coin, raw)
                if unlisted is not None:
                    raise self._refuse_dex(coin, raw)  # not asked of the API: it has no such dex
        if coin is None and dexs is not None:
            extra = ["dex:" + name for name in self._dex_names(dexs)]
            if extra:
                await asyncio.gather(*(self._load_async(p, coin, end=end) for p in extra))
        snap = self._snapshot()
        if coin is not None:
            stale = self._stale_piece(coin, snap)
            if stale is not None:
                await self._load_async(stale, coin, force=True, end=end)
                snap = self._snapshot()
        return snap

    def mids(self, *, timeout: float | None = None) -> dict[str, Decimal]:
        """Latest main-dex mids (``allMids``), fetched on demand through the cache (``timeout``: as for
        :meth:`market`)."""
        raw = self._load_sync("mids", None, end=self._end(timeout))
        return parse_all_mids(raw)

    async def amids(self, *, timeout: float | None = None) -> dict[str, Decimal]:
        """Async :meth:`mids`."""
        raw = await self._load_async("mids", None, end=self._end(timeout))
        return parse_all_mids(raw)

    def _mids_too_old(self, max_age: float | None) -> bool:
        if max_age is None:
            return False
        found = self.cache.peek(MIDS_KEY)
        return found is not None and found.age > max_age

    def mid(self, coin: str, *, max_age: float | None = None, timeout: float | None = None) -> Decimal | None:
        """Latest mid of ``coin`` (main dex), fetching ``allMids`` on demand; ``None`` if it has none.

        Without ``max_age`` the cached mids may be up to ``mids_ttl`` old; with it, mids older than
        ``max_age`` seconds are refreshed first (e.g. ``max_age=1`` to price a market order).
        ``timeout``: as for :meth:`market`, for both loads.
        """
        end = self._end(timeout)
        self.market(coin, timeout=None if end is None else max(end - time.monotonic(), 0.001))
        self._load_sync("mids", coin, force=self._mids_too_old(max_age), end=end)
        return self._snapshot().mid(coin)

    async def amid(self, coin: str, *, max_age: float | None = None, timeout: float | None = None) -> Decimal | None:
        """Async :meth:`mid`."""
        end = self._end(timeout)
        await self.amarket(coin, timeout=None if end is None else max(end - time.monotonic(), 0.001))
        await self._load_async("mids", coin, force=self._mids_too_old(max_age), end=end)
        return self._snapshot().mid(coin)

    # ------------------------------------------------------------------ warmers
    def warmers(self, *, mids: bool = True, timeout: float | None = None) -> list[Warmer]:
        """Warmers filling exactly the cache entries this service reads.

        ``meta`` and ``spotMeta`` (every ``meta_interval``); ``perpDexs`` plus each configured
        builder dex's ``meta`` (one warmer, failing with the names of the dexes it could not load);
        ``allMids`` every ``mids_interval`` when ``mids``.  Use them with a
        :class:`~hyperliquid_client.runtime.cache.WarmupManager` on the same cache.
        """
        t = timeout if timeout is not None else max(self.timeout, 1.0)
        out: list[Warmer] = []
        for name, piece, interval in (("meta", "perp", self.meta_interval), ("spotMeta", "spot", self.meta_interval)):
            out.append(self._piece_warmer(name, piece, interval, t))
        if self.dexes == "all" or self.dexes:
            out.append(
                Warmer(
                    "perpDexs",
                    self._warm_dexes_async if self.is_async else self._warm_dexes_sync,
                    key=None,
                    interval=self.meta_interval,
                    timeout=t,
                )
            )
        if mids:
            out.append(self._piece_warmer("allMids", "mids", self.mids_interval, t))
        return out

    def _piece_warmer(self, name: str, piece: str, interval: float, timeout: float) -> Warmer:
        body, validate, ttl = self._body_of(piece)
        if self.is_async:

            async def fetch() -> Any:
                return await self.fetch_info(dict(body))

            return Warmer(name, fetch, key=self._key(piece), interval=interval, ttl=ttl, timeout=timeout,
                          validate=validate)  # fmt: skip
        return Warmer(
            name,
            lambda: self._call_sync(body),
            key=self._key(piece),
            interval=interval,
            ttl=ttl,
            timeout=timeout,
            validate=validate,
        )

    def _warm_dexes_sync(self) -> list[str]:
        dexs = self._refresh_sync("perpDexs")
        failed: list[str] = []
        names = self._dex_names(dexs)
        for name in names:
            try:
                self._refresh_sync("dex:" + name)
            except Exception as exc:
                failed.append(f"{name} ({type(exc).__name__}: {exc})")
        if failed:
            raise MetadataUnavailableError(
                f"builder dex metadata failed for {len(failed)}/{len(names)}: " + ", ".join(failed)
            )
        return names

    def _refresh_sync(self, piece: str) -> Any:
        body, validate, ttl = self._body_of(piece)
        return self.cache.refresh(
            self._key(piece),
            lambda: validate(self._call_sync(body)),
            ttl=ttl,
            timeout=self.timeout,
            supersede_after=self.timeout,
        )

    async def _warm_dexes_async(self) -> list[str]:
        body, validate, ttl = self._body_of("perpDexs")

        async def fetch_dexs() -> Any:
            return validate(await self._call_async(body))

        dexs = await self.cache.arefresh(
            self._key("perpDexs"), fetch_dexs, ttl=ttl, timeout=self.timeout, supersede_after=self.timeout
        )
        names = self._dex_names(dexs)

        async def one(name: str) -> None:
            b, v, tt = self._body_of("dex:" + name)

            async def fetch() -> Any:
                return v(await self._call_async(b))

            await self.cache.arefresh(
                self._key("dex:" + name), fetch, ttl=tt, timeout=self.timeout, supersede_after=self.timeout
            )

        results = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
        failed = [
            f"{n} ({type(r).__name__}: {r})"
            for n, r in zip(names, results, strict=True)
            if isinstance(r, BaseException)
        ]
        if failed:
            raise MetadataUnavailableError(
                f"builder dex metadata failed for {len(failed)}/{len(names)}: " + ", ".join(failed)
            )
        return names
