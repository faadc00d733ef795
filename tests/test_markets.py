"""Market metadata: asset ids, size decimals, tick/lot rules, exact wire strings, rounding, mids.

Rules checked on every recorded metadata payload of the fixture set (``HL_FIXTURES_DIR`` may replace it);
particular values (BTC is asset 0, ``@107`` is 10107, a mid of 23202.5) on the owned recordings.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cache_support import fixture

from hyperliquid_client.runtime.errors import InvalidInputError, InvalidResponseError, MetadataUnavailableError
from hyperliquid_client.runtime.markets import (
    MarketMetadata,
    decimal_to_wire,
    is_valid_price,
    parse_perp_meta,
    round_price_value,
    round_size_value,
    to_decimal,
)
from tests.datasets import fixtures

META = fixture("meta__1")
SPOT_META = fixture("spotMeta__2")  # an excerpt: pairs 0, 1, 2 and @107 (at position 3)
SPOT_META_SMALL = fixture("spotMeta__1")
MIDS = fixture("allMids__1")
PERP_DEXS = [
    None,
    {"name": "xyz", "fullName": "XYZ", "deployer": "0x" + "1" * 40},
    {"name": "flx", "fullName": "Felix", "deployer": "0x" + "2" * 40},
]
XYZ_META = {"universe": [{"name": "xyz:SP500", "szDecimals": 3}, {"name": "xyz:GOLD", "szDecimals": 2}]}
FLX_META = {"universe": [{"name": "TSLA", "szDecimals": 1}]}  # unprefixed names get the dex prefix


@pytest.fixture(scope="module")
def market() -> MarketMetadata:
    return MarketMetadata.from_raw(
        meta=META,
        spot_meta=SPOT_META,
        perp_dexs=PERP_DEXS,
        dex_metas={"xyz": XYZ_META, "flx": FLX_META},
        all_mids=MIDS,
    )


# ---------------------------------------------------------------------------------------- asset ids
def _recorded_metas() -> list[dict[str, Any]]:
    """Every perp meta of the fixture set (``meta`` and the first half of ``metaAndAssetCtxs``)."""
    out = [f["response"] for f in fixtures("meta")]
    out += [f["response"][0] for f in fixtures("metaAndAssetCtxs")]
    return out


def _recorded_spot_metas() -> list[dict[str, Any]]:
    """Every spot meta of the fixture set (``spotMeta`` and the first half of ``spotMetaAndAssetCtxs``)."""
    out = [f["response"] for f in fixtures("spotMeta")]
    out += [f["response"][0] for f in fixtures("spotMetaAndAssetCtxs")]
    return out


def _check_perp_ids(market: MarketMetadata, meta: dict[str, Any]) -> None:
    for i, item in enumerate(meta["universe"]):
        assert market.asset_id(item["name"]) == i
        assert market.sz_decimals(item["name"]) == item["szDecimals"]
        assert market.coin_name(i) == item["name"]
        assert not market.is_spot(item["name"])


def _check_spot_ids(market: MarketMetadata, spot_meta: dict[str, Any]) -> int:
    """Checks every pair; returns how many pairs sit at a position other than their index."""
    tokens = {t["index"]: t for t in spot_meta["tokens"]}
    mismatched = 0
    for pos, pair in enumerate(spot_meta["universe"]):
        asset = 10000 + pair["index"]
        mismatched += pos != pair["index"]
        assert market.asset_id(pair["name"]) == asset
        assert market.asset_id(f"@{pair['index']}") == asset
        assert market.coin_name(asset) == pair["name"]
        assert market.is_spot(pair["name"])
        assert market.sz_decimals(pair["name"]) == tokens[pair["tokens"][0]]["szDecimals"]  # base token
    return mismatched


def test_perp_ids_are_universe_positions(market: MarketMetadata) -> None:
    _check_perp_ids(market, META)
    for meta in _recorded_metas():
        _check_perp_ids(MarketMetadata.from_raw(meta=meta), meta)


def test_spot_ids_use_the_pair_index_not_the_position(market: MarketMetadata) -> None:
    assert _check_spot_ids(market, SPOT_META) > 0  # the owned excerpt exercises index != position
    for spot_meta in _recorded_spot_metas():
        _check_spot_ids(MarketMetadata.from_raw(spot_meta=spot_meta), spot_meta)
    assert market.asset_id("PURR/USDC") == 10000
    assert market.asset_id("@0") == 10000  # '@index' works for the canonical pair too
    assert market.coin_name(10000) == "PURR/USDC"


def test_recorded_mids_are_exact_decimals() -> None:
    for f in fixtures("allMids"):
        market = MarketMetadata.from_raw(all_mids=f["response"])
        for coin, text in f["response"].items():
            assert market.mid(coin) == Decimal(text) and str(market.mid(coin)) == text


def test_spot_pairs_by_token_names(market: MarketMetadata) -> None:
    # HYPE/USDC is "@107" on mainnet; its base token is HYPE (szDecimals 2)
    assert market.asset_id("HYPE/USDC") == 10107
    assert market.asset_info("HYPE/USDC").coin == "@107"
    assert market.sz_decimals("HYPE/USDC") == 2
    assert market.asset_info("@107").base == "HYPE"


def test_small_spot_meta_uses_base_token_decimals() -> None:
    m = MarketMetadata.from_raw(spot_meta=SPOT_META_SMALL)
    assert m.asset_id("PURR/USDC") == 10000
    assert m.sz_decimals("PURR/USDC") == 0  # PURR, not USDC (8)
    assert m.size_to_wire("PURR/USDC", 12) == "12"
    with pytest.raises(InvalidInputError):
        m.size_to_wire("PURR/USDC", "1.5")


def test_builder_dex_ids(market: MarketMetadata) -> None:
    assert market.asset_id("xyz:SP500") == 110000
    assert market.asset_id("xyz:GOLD") == 110001
    assert market.asset_id("flx:TSLA") == 120000
    assert market.coin_name(120000) == "flx:TSLA"
    info = market.asset_info("xyz:GOLD")
    assert (info.dex, info.sz_decimals, info.is_spot, info.max_price_decimals) == ("xyz", 2, False, 4)


def test_unknown_coin_vs_unloaded_metadata(market: MarketMetadata) -> None:
    with pytest.raises(InvalidInputError) as info:
        market.asset_id("NOPE")
    assert info.value.field == "coin"
    with pytest.raises(MetadataUnavailableError, match="dex:abc"):
        market.asset_id("abc:FOO")  # that dex was never loaded
    only_perps = MarketMetadata.from_raw(meta=META)
    with pytest.raises(MetadataUnavailableError):
        only_perps.asset_id("PURR/USDC")
    with pytest.raises(InvalidInputError) as info2:
        market.coin_name(99_999)
    assert info2.value.field == "asset"
    for bad in ("", None, 3):
        with pytest.raises(InvalidInputError):
            market.asset_id(bad)  # type: ignore[arg-type]


def test_mids(market: MarketMetadata) -> None:
    assert market.mid("BTC") == Decimal("23202.5")
    assert market.mid("ETH") == Decimal("1607.7")
    assert market.mid("SOL") is None  # listed, but no mid in this (2023) payload
    assert MarketMetadata.from_raw(meta=META).mid("BTC") is None
    spot = MarketMetadata.from_raw(spot_meta=SPOT_META, all_mids={"PURR/USDC": "0.2", "@107": "30.5"})
    assert spot.mid("PURR/USDC") == Decimal("0.2")
    assert spot.mid("HYPE/USDC") == Decimal("30.5")


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("nope", "$"),
        ({"universe": {}}, "$.universe"),
        ({"universe": [{"name": "BTC"}]}, "$.universe[0].szDecimals"),
        ({"universe": [{"name": "BTC", "szDecimals": True}]}, "$.universe[0].szDecimals"),
        ({"universe": [{"name": "", "szDecimals": 1}]}, "$.universe[0].name"),
    ],
)
def test_malformed_meta_is_rejected_with_the_path(raw: Any, path: str) -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse_perp_meta(raw)
    assert info.value.path == path


def test_malformed_spot_meta_and_mids() -> None:
    with pytest.raises(InvalidResponseError, match=r"tokens\[0\]"):
        MarketMetadata.from_raw(spot_meta={"universe": [{"name": "X/Y", "index": 0, "tokens": [5, 0]}], "tokens": []})
    with pytest.raises(InvalidResponseError):
        MarketMetadata.from_raw(all_mids={"BTC": 1.5})
    with pytest.raises(InvalidResponseError):
        MarketMetadata.from_raw(perp_dexs={"not": "a list"})


# ---------------------------------------------------------------------------------------- numbers: rules
def perp(szd: int) -> MarketMetadata:
    return MarketMetadata.from_raw(meta={"universe": [{"name": "X", "szDecimals": szd}]})


def spot(base_szd: int) -> MarketMetadata:
    return MarketMetadata.from_raw(
        spot_meta={
            "universe": [{"name": "B/Q", "index": 0, "tokens": [1, 0]}],
            "tokens": [{"name": "Q", "szDecimals": 8, "index": 0}, {"name": "B", "szDecimals": base_szd, "index": 1}],
        }
    )


@pytest.mark.parametrize(
    ("m", "px", "ok"),
    [
        # examples of https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/tick-and-lot-size
        (perp(0), "1234.5", True),
        (perp(0), "1234.56", False),
        (perp(0), "0.001234", True),
        (perp(0), "0.0012345", False),
        (perp(1), "0.01234", True),
        (perp(1), "0.012345", False),
        (spot(0), "0.0001234", True),
        (spot(1), "0.0001234", True),
        (spot(3), "0.0001234", False),
        (perp(5), "123456", True),  # integers always ok
        (perp(5), "1234567890123", True),
        (perp(5), "23202.5", False),  # BTC: 6 significant figures
        (perp(5), "2320.5", True),
        (perp(5), "2320.55", False),  # BTC allows 1 decimal
        (spot(8), "0.5", False),  # 8 - 8 = 0 decimals
        (spot(8), "7", True),
    ],
)
def test_price_rules(m: MarketMetadata, px: str, ok: bool) -> None:
    coin = m.coins[0]
    if ok:
        assert m.price_to_wire(coin, px) == decimal_to_wire(Decimal(px))
    else:
        with pytest.raises(InvalidInputError) as info:
            m.price_to_wire(coin, px, field="orders[0].p")
        assert info.value.field == "orders[0].p"
        assert "significant figures" in str(info.value)
        assert f"at most {m.asset_info(coin).max_price_decimals} decimal places" in str(info.value)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (1900.5, "1900.5"),
        ("1900.50", "1900.5"),
        (Decimal("1900.500"), "1900.5"),
        (1, "1"),
        (1.0, "1"),
        ("1.000", "1"),
        (Decimal("1E+3"), "1000"),
        ("1e3", "1000"),
        (0.001, "0.001"),
        (1e-05, "0.00001"),
        (Decimal("0.000010"), "0.00001"),
        ("  42.10 ", "42.1"),
        (10, "10"),
    ],
)
def test_wire_strings_have_no_trailing_zeros_or_exponents(value: Any, wire: str) -> None:
    m = perp(0)
    assert m.price_to_wire("X", value) == wire
    assert "e" not in wire.lower()


@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        "NaN",
        "inf",
        "-1",
        -1,
        0,
        "0",
        0.0,
        True,
        None,
        "abc",
        "",
        "1_000",
        [1],
    ],
)
def test_bad_numbers_are_refused_naming_the_field(bad: Any) -> None:
    m = perp(2)
    with pytest.raises(InvalidInputError) as info:
        m.price_to_wire("X", bad, field="limit_px")
    assert info.value.field == "limit_px"
    with pytest.raises(InvalidInputError) as info2:
        m.size_to_wire("X", bad, field="orders[3].s")
    assert info2.value.field == "orders[3].s"


def test_size_rules() -> None:
    m = perp(3)
    assert m.size_to_wire("X", "1.230") == "1.23"
    assert m.size_to_wire("X", 0.001) == "0.001"
    assert m.size_to_wire("X", 12) == "12"
    with pytest.raises(InvalidInputError) as info:
        m.size_to_wire("X", "0.0001")
    assert "at most 3 decimal places" in str(info.value) and "0.001" in str(info.value)
    assert m.size_to_wire("X", 0, allow_zero=True) == "0"
    with pytest.raises(InvalidInputError):
        m.size_to_wire("X", -1, allow_zero=True)


def test_float_noise_is_taken_as_the_value_it_stands_for_and_off_grid_floats_are_refused() -> None:
    m = perp(0)
    assert m.price_to_wire("X", 0.1 + 0.2) == "0.3"  # 0.30000000000000004: one ulp off 0.3
    assert perp(2).size_to_wire("X", 972.36 - 1e-13) == "972.36"  # 972.3599999999999
    assert perp(2).size_to_wire("X", 0.1 + 0.2) == "0.3"
    with pytest.raises(InvalidInputError) as info:
        m.price_to_wire("X", 0.123456)  # 6 significant figures: really off the grid
    assert "nearest valid price 0.12346" in str(info.value)
    with pytest.raises(InvalidInputError, match="at most 2 decimal places"):
        perp(2).size_to_wire("X", 972.365)
    with pytest.raises(InvalidInputError):
        perp(2).size_to_wire("X", "972.3599999999999")  # text is taken exactly, never as float noise


def test_rounding_helpers_take_float_noise_as_orders_do() -> None:
    sol = perp(2)
    assert sol.round_size("X", 0.7 * 3) == Decimal("2.1")  # 2.0999999999999996: orders send 2.1
    assert sol.round_size("X", 972.36 - 1e-13) == Decimal("972.36")  # 972.3599999999999
    assert sol.round_size("X", 972.36 - 1e-13, direction="up") == Decimal("972.36")
    assert sol.round_size("X", 2.105) == Decimal("2.1")  # really between two lots: down
    eth = perp(4)  # 2 price decimals
    assert eth.round_price("X", 3650.1 - 5e-13, direction="up") == Decimal("3650.1")  # 3650.0999999999995
    assert eth.round_price("X", 3650.1 + 5e-13, direction="down") == Decimal("3650.1")  # 3650.1000000000004
    assert eth.round_price("X", 3650.15, direction="down") == Decimal("3650.1")


@given(
    st.floats(min_value=1e-4, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(0, 8),
    st.booleans(),
    st.sampled_from(["nearest", "up", "down"]),
)
def test_a_value_orders_accept_is_what_the_rounding_helpers_return(
    x: float, sz_decimals: int, is_spot: bool, direction: Any
) -> None:
    """One float-noise rule: a float the order validator takes is returned unchanged by the rounding helpers."""
    from hyperliquid_client.runtime.markets import AssetInfo, price_text, size_text

    info = AssetInfo(coin="X", asset=1, sz_decimals=sz_decimals, is_spot=is_spot)
    for rule, rounding in (
        (price_text, lambda v: round_price_value(v, sz_decimals=sz_decimals, is_spot=is_spot, direction=direction)),
        (size_text, lambda v: round_size_value(v, sz_decimals=sz_decimals, direction=direction)),
    ):
        try:
            wire = rule(info, "f", x)
        except InvalidInputError:
            continue
        assert rounding(x) == Decimal(wire)


# ---------------------------------------------------------------------------------------- numbers: rounding
def test_rounding_examples() -> None:
    m = perp(5)  # like BTC
    assert m.round_price("X", "23202.57") == Decimal("23203")
    assert m.round_price("X", "23202.5") == Decimal("23202")  # half-even
    assert m.round_price("X", "2320.55", direction="up") == Decimal("2320.6")
    assert m.round_price("X", "2320.55", direction="down") == Decimal("2320.5")
    assert m.round_price("X", "9999.95", direction="up") == Decimal("10000")
    assert m.round_price("X", "123456.7") == Decimal("123457")
    assert perp(0).round_price("X", "0.00123456") == Decimal("0.001235")
    assert m.round_size("X", "0.123456789") == Decimal("0.12345")
    assert m.round_size("X", "0.123456789", direction="up") == Decimal("0.12346")
    with pytest.raises(InvalidInputError):
        m.round_size("X", "0.000001")  # below one lot
    with pytest.raises(InvalidInputError):
        perp(4).round_price("X", "0.001", direction="down")  # 2 decimals allowed: rounds to 0
    with pytest.raises(InvalidInputError) as info:
        m.round_price("X", "1", direction="sideways")  # type: ignore[arg-type]
    assert info.value.field == "direction"


def _oracle(px: Decimal, szd: int, is_spot: bool) -> tuple[Decimal | None, Decimal | None]:
    """Largest valid price <= px and smallest >= px, by brute force over decimal places."""
    max_dec = max(0, (8 if is_spot else 6) - szd)
    downs, ups = [], []
    for k in range(max_dec + 1):
        q = Decimal(1).scaleb(-k)
        for cand, bucket in ((px.quantize(q, ROUND_FLOOR), downs), (px.quantize(q, ROUND_CEILING), ups)):
            if is_valid_price(cand, sz_decimals=szd, is_spot=is_spot):
                bucket.append(cand)
    return (max(downs) if downs else None), (min(ups) if ups else None)


prices = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("10000000"), places=9, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(prices, st.integers(0, 8), st.booleans())
def test_rounding_matches_brute_force(px: Decimal, szd: int, is_spot: bool) -> None:
    if not is_spot and szd > 6:
        szd = 6
    down, up = _oracle(px, szd, is_spot)
    for direction, expected in (("down", down), ("up", up)):
        if expected is None or expected == 0:
            with pytest.raises(InvalidInputError):
                round_price_value(px, sz_decimals=szd, is_spot=is_spot, direction=direction)  # type: ignore[arg-type]
        else:
            got = round_price_value(px, sz_decimals=szd, is_spot=is_spot, direction=direction)  # type: ignore[arg-type]
            assert got == expected
    if down and up:
        nearest = round_price_value(px, sz_decimals=szd, is_spot=is_spot)
        assert abs(nearest - px) == min(abs(down - px), abs(up - px))
        assert is_valid_price(nearest, sz_decimals=szd, is_spot=is_spot)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False),
        st.integers(1, 10**12),
        prices,
    ),
    st.integers(0, 6),
)
def test_rounded_price_always_serialises(px: Any, szd: int) -> None:
    m = perp(szd)
    try:
        r = m.round_price("X", px)
    except InvalidInputError:
        return  # rounds to zero
    wire = m.price_to_wire("X", r)
    assert "e" not in wire.lower() and not (wire.endswith("0") and "." in wire)
    assert Decimal(wire) == r
    assert math.isclose(float(r), float(px), rel_tol=1e-4, abs_tol=10 ** -(6 - szd))


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=12, min_value=-(10**15), max_value=10**15))
def test_to_decimal_and_wire_round_trip(d: Decimal) -> None:
    wire = decimal_to_wire(d)
    assert Decimal(wire) == d
    assert "e" not in wire.lower()
    assert to_decimal(wire, "x") == d
    assert round_size_value(abs(d) + 1, sz_decimals=12) == abs(d) + 1


@given(
    st.floats(min_value=1e-6, max_value=1e16, allow_nan=False, allow_infinity=False),
    st.integers(0, 8),
    st.booleans(),
)
def test_a_float_price_or_size_reads_as_its_exact_decimal(x: float, sz_decimals: int, is_spot: bool) -> None:
    """The float fast path (its repr) answers what the Decimal path answers for the same value."""
    from hyperliquid_client.runtime.markets import AssetInfo, price_text, size_text

    info = AssetInfo(coin="X", asset=1, sz_decimals=sz_decimals, is_spot=is_spot)
    for rule in (price_text, size_text):
        try:
            expected: str | type[Exception] = rule(info, "f", Decimal(repr(x)))
        except InvalidInputError:
            expected = InvalidInputError
        try:
            got: str | type[Exception] = rule(info, "f", x)
        except InvalidInputError:
            got = InvalidInputError
        if got != expected:  # only float noise may differ: a float a few ulp off a valid value is taken as it
            assert expected is InvalidInputError and isinstance(got, str)
            assert abs(float(got) - x) <= 4 * math.ulp(x)
