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
