"""Models marked ``shared`` in the spec (book levels): equal wire values decode to one immutable instance, and
sharing never lets through a value the full decoder refuses."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hyperliquid_client.codegen.loader import SpecError, load_spec
from hyperliquid_client.generated import models
from hyperliquid_client.generated.streams import _m_l2_book
from hyperliquid_client.runtime.errors import InvalidResponseError
from hyperliquid_client.runtime.struct import parse_with

ROOT = Path(__file__).resolve().parent.parent


def book(*levels: dict[str, object]) -> dict[str, object]:
    return {"coin": "BTC", "time": 1, "levels": [list(levels), []]}


def test_equal_levels_are_one_instance_with_exact_values() -> None:
    a = parse_with(_m_l2_book, book({"px": "65000.5", "sz": "0.10000", "n": 3}, {"px": "65000.0", "sz": "2", "n": 1}))
    b = parse_with(_m_l2_book, book({"px": "65000.5", "sz": "0.10000", "n": 3}, {"px": "65000.0", "sz": "2", "n": 2}))
    assert a.levels[0][0] is b.levels[0][0]
    assert (a.levels[0][0].px, a.levels[0][0].sz, a.levels[0][0].n) == (Decimal("65000.5"), Decimal("0.10000"), 3)
    assert a.levels[0][1] is not b.levels[0][1] and b.levels[0][1].n == 2


@pytest.mark.parametrize("n", [True, 1.5, "1", None])
def test_a_value_equal_to_a_shared_one_is_still_checked(n: object) -> None:
    """``True == 1`` and ``1.0 == 1``: a level whose ``n`` is not an integer must not be taken for a shared one."""
    parse_with(_m_l2_book, book({"px": "7", "sz": "1", "n": 1}))
    with pytest.raises(InvalidResponseError):
        parse_with(_m_l2_book, book({"px": "7", "sz": "1", "n": n}))


def test_unknown_fields_are_kept_and_not_shared() -> None:
    plain = parse_with(_m_l2_book, book({"px": "8", "sz": "1", "n": 1}))
    odd = parse_with(_m_l2_book, book({"px": "8", "sz": "1", "n": 1, "new": True}))
    assert odd.levels[0][0] is not plain.levels[0][0] and dict(odd.levels[0][0].extra) == {"new": True}
    assert dict(plain.levels[0][0].extra) == {}
    assert models._SH_L2Level  # the cache exists and holds values


def test_the_loader_refuses_sharing_what_cannot_be_keyed(tmp_path: Path) -> None:
    work = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", work)
    market = work / "types/market.yaml"
    text = market.read_text(encoding="utf-8")
    text = text.replace("  L2Book:\n    doc:", "  L2Book:\n    shared: true\n    doc:", 1)  # optional + list fields
    market.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(work)
    assert {i.path for i in info.value.issues} == {"types.L2Book.shared"}
    assert any("'levels'" in i.message for i in info.value.issues)


def test_a_bad_value_is_named_by_its_field() -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse_with(_m_l2_book, book({"px": "9", "sz": "not a number", "n": 1}))
    assert info.value.path == "$.levels[0][0].sz"


def test_a_bad_value_on_the_second_side_is_named_by_its_position() -> None:
    data = {"coin": "BTC", "time": 1, "levels": [[{"px": "9", "sz": "1", "n": 1}], [{"px": "10", "sz": "x", "n": 1}]]}
    with pytest.raises(InvalidResponseError) as info:
        parse_with(_m_l2_book, data)
    assert info.value.path == "$.levels[1][0].sz"


def test_the_caches_of_shared_values_stay_bounded_and_keep_decoding_exactly() -> None:
    from hyperliquid_client.generated._models import l2_level
    from hyperliquid_client.runtime import struct

    levels: list[dict[str, Any]] = [
        {"px": f"{100 + i}.5", "sz": f"0.{i:06d}", "n": 1 + i % 3} for i in range(3 * struct.SHARED_MAX)
    ]
    decoded = [l2_level._s_L2Level(d) for d in levels]
    assert len(l2_level._SH_L2Level) <= struct.SHARED_MAX and len(struct.DECIMALS) <= struct._DECIMALS_MAX
    assert [(m.px, m.sz, m.n) for m in decoded] == [(Decimal(d["px"]), Decimal(d["sz"]), d["n"]) for d in levels]
    again = l2_level._s_L2Level(dict(levels[-1]))
    assert again is decoded[-1]  # a level seen lately is still shared after the caches were emptied


def _level_values() -> list[object]:
    """Wire values a level's field may take: good ones, and every kind the strict decoder refuses."""
    return ["65000.5", "0.25", "-1", "1e3", " 7 ", "NaN", "inf", "x", "", 3, 0, -2, True, False, 1.0, 2.5, None, [1]]


def _random_level(rng: Any) -> object:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(["level", 3, None, [], ["65000.5", "1", 1]])  # not an object at all
    pick = _level_values()
    level: dict[str, object] = {
        "px": rng.choice(["65000.5", "65001", "7"]) if rng.random() < 0.7 else rng.choice(pick),
        "sz": rng.choice(["0.25", "1", "0.10000"]) if rng.random() < 0.7 else rng.choice(pick),
        "n": rng.choice([1, 2, 3]) if rng.random() < 0.7 else rng.choice(pick),
    }
    if roll < 0.15:
        del level[rng.choice(["px", "sz", "n"])]
    elif roll < 0.25:
        level[rng.choice(["new", "extra", "px2"])] = rng.choice([1, "x", None])
    return level


def _strict(decode: Any, data: object) -> tuple[str, object]:
    """What ``decode`` makes of ``data``: the value (its class, fields and unknown fields) or the error's path."""
    try:
        out = parse_with(decode, data)
    except InvalidResponseError as exc:
        return "error", (exc.path, exc.expected)
    items = out if type(out) is tuple else (out,)
    return "value", [(type(m), m.px, m.sz, m.n, dict(m.extra)) for m in items]


def test_the_shared_fast_paths_agree_with_the_strict_decoder() -> None:
    """Random levels and sides (good, drifted, mistyped, missing): the shared look-ups (one level, a whole side
    in one loop) give what the full decoder gives, value for value or error path for error path, whatever the
    caches held before."""
    import random

    from hyperliquid_client.generated._models import l2_level
    from hyperliquid_client.runtime.struct import to_list

    rng = random.Random(15)
    for _ in range(3000):
        side: object = [_random_level(rng) for _ in range(rng.randrange(0, 6))]
        if rng.random() < 0.03:
            side = rng.choice([{"px": "1"}, "side", None])
        want = _strict(lambda v: to_list(v, l2_level._d_L2Level), side)
        assert _strict(l2_level._l_L2Level, side) == want, side
        assert _strict(lambda v: to_list(v, l2_level._s_L2Level), side) == want, side
        if isinstance(side, list) and side:
            assert _strict(l2_level._s_L2Level, side[0]) == _strict(l2_level._d_L2Level, side[0]), side[0]


def test_a_side_shares_the_levels_one_at_a_time_decoding_gives() -> None:
    from hyperliquid_client.generated._models import l2_level

    side = [{"px": "123.5", "sz": "0.5", "n": 2}, {"px": "123.0", "sz": "4", "n": 1}]
    first = l2_level._l_L2Level(side)
    assert first == tuple(l2_level._d_L2Level(d) for d in side)
    assert [a is b for a, b in zip(l2_level._l_L2Level([dict(d) for d in side]), first, strict=True)] == [True, True]
    assert l2_level._s_L2Level(dict(side[1])) is first[1]


def test_a_shared_model_is_a_model_with_its_fields_in_a_tuple() -> None:
    import copy
    import pickle

    from attrs.exceptions import FrozenInstanceError

    from hyperliquid_client.runtime.cache import approx_sizeof
    from hyperliquid_client.runtime.struct import EMPTY

    level = models.L2Level(px=Decimal("1.5"), sz=Decimal("2"), n=3)
    drifted = models.L2Level(px=Decimal("1.5"), sz=Decimal("2"), n=3, extra={"new": True})
    assert (level.px, level.sz, level.n, level.extra) == (Decimal("1.5"), Decimal(2), 3, EMPTY)
    assert level == models.L2Level(px=Decimal("1.50"), sz=Decimal("2"), n=3) and level != drifted
    assert (level != models.L2Level(px=Decimal("1.5"), sz=Decimal("2"), n=3)) is False
    assert hash(level) == hash(drifted) and len({level, drifted}) == 2
    assert level.__eq__((Decimal("1.5"), Decimal("2"), 3, EMPTY)) is NotImplemented
    assert repr(drifted) == "L2Level(px=Decimal('1.5'), sz=Decimal('2'), n=3)"
    assert tuple(level) == (Decimal("1.5"), Decimal("2"), 3, EMPTY)  # code walking containers sees the fields
    assert approx_sizeof(((level, drifted), ())) > approx_sizeof(((), ()))
    with pytest.raises(FrozenInstanceError):
        level.px = Decimal(2)
    for original in (level, drifted):
        for clone in (copy.copy(original), copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
            assert clone == original and type(clone) is models.L2Level
            assert dict(clone.extra) == dict(original.extra)
    assert pickle.loads(pickle.dumps(level)).extra is EMPTY
