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
from hyperliquid_client.runtime.struct import SHARED_MAX, parse_with

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


# ------------------------------------------------------------------------------------------------ fast paths
# A list of a shared type decodes in one generated loop (``_l_L2Level``), a new shared value is filled through a
# builder of the same layout, a fixed-length array converts its positions in place, and a model with optional
# fields looks for unknown keys only when the object is longer than the fields it read.  Each is compared with
# the general decoder on random and near-miss inputs: the same values (of the same class), or the same refusal
# naming the same path.

_PX = ["65000.5", "65000.0", "1", "0.00001", "1e3", "-5", " 7", "1_000", "NaN", "inf", "x", "", 5, 5.5, None, True]
_N = [1, 3, 0, -1, True, False, 1.0, 2.5, "1", None, 2**70]


_WIRE = [[str, str, int], [int, str, str]]  # (px, sz, n in the two orders of the keys made below)


def _random_level(rnd: Any) -> Any:
    roll = rnd.random()
    if roll < 0.03:
        return rnd.choice([None, "level", 1, ["65000.5", "1", 1], {"px": "1", "sz": "1"}.items()])
    fields: dict[str, Any] = {"px": rnd.choice(_PX[:4]), "sz": rnd.choice(_PX[:4]), "n": rnd.choice(_N[:3])}
    if roll < 0.45:  # a near miss: one field of another value or class, missing, unhashable, or one more field
        key = rnd.choice(["px", "sz", "n"])
        how = rnd.random()
        if how < 0.6:
            fields[key] = rnd.choice(_N if key == "n" else _PX)
        elif how < 0.75:
            del fields[key]
        elif how < 0.85:
            fields[key] = [fields[key]]
        else:
            fields[rnd.choice(["new", "px2"])] = rnd.choice([1, "x", None])
    if rnd.random() < 0.1:
        fields = dict(reversed(list(fields.items())))  # the wire's order of the keys is no part of the value
    if rnd.random() < 0.02:
        from collections import OrderedDict

        return OrderedDict(fields)  # not a JSON object as parsed: refused by both
    return fields


def _general(fn: Any, v: Any) -> tuple[str, Any]:
    """What ``fn`` gives for ``v``: ('ok', value) or ('bad', (path, expected))."""
    from hyperliquid_client.runtime.struct import Bad

    try:
        return "ok", fn(v)
    except Bad as exc:
        return "bad", (exc.render_path(), exc.expected)


def test_a_list_of_levels_decodes_in_one_loop_as_the_general_decoder_does() -> None:
    import random

    from hyperliquid_client.generated._models import l2_level
    from hyperliquid_client.runtime.struct import to_list

    rnd = random.Random(15)
    checked = {"ok": 0, "bad": 0}
    for case in range(3000):
        if case % 500 == 0 or len(l2_level._SH_L2Level) > SHARED_MAX - 16:
            l2_level._SH_L2Level.clear()  # a run starting empty, then warm (and not emptied while checked)
        v: Any = [_random_level(rnd) for _ in range(rnd.choice([0, 1, 3, 8]))]
        if rnd.random() < 0.02:
            v = rnd.choice([None, {"px": "1"}, "[]", tuple(v)])
        fast = _general(l2_level._l_L2Level, v)
        slow = _general(lambda x: to_list(x, l2_level._d_L2Level), v)  # item by item, nothing shared
        assert fast[0] == slow[0], (v, fast, slow)
        if fast[0] == "ok":
            assert fast[1] == slow[1], v
            assert all(type(m) is models.L2Level for m in fast[1])
            assert [dict(m.extra) for m in fast[1]] == [dict(m.extra) for m in slow[1]]
            assert [(type(m.px), type(m.sz), type(m.n)) for m in fast[1]] == [
                (type(m.px), type(m.sz), type(m.n)) for m in slow[1]
            ]
            again = l2_level._l_L2Level(v)
            exact = [type(d) is dict and list(map(type, d.values())) in _WIRE for d in v]
            assert [a is b for a, b in zip(again, fast[1], strict=True)] == exact  # shared, and only those
        else:
            assert fast[1] == slow[1], v  # the same path, the same expectation
        checked[fast[0]] += 1
    assert min(checked.values()) > 300  # both outcomes were exercised


def test_the_one_loop_and_the_single_value_decoder_share_their_values() -> None:
    from hyperliquid_client.generated._models import l2_level

    l2_level._SH_L2Level.clear()
    one = l2_level._s_L2Level({"px": "3.25", "sz": "4", "n": 2})
    (listed,) = l2_level._l_L2Level([{"sz": "4", "px": "3.25", "n": 2}])
    assert listed is one
    (other,) = l2_level._l_L2Level([{"px": "3.5", "sz": "4", "n": 2}])
    assert l2_level._s_L2Level({"px": "3.5", "sz": "4", "n": 2}) is other


def test_a_level_made_by_the_builder_is_an_ordinary_level() -> None:
    """What the builder makes behaves in every way as a level built through its constructor (T5's tuple-based
    level did not: iteration, tuple equality, ordering, ``asdict``, old pickles)."""
    import copy
    import dataclasses
    import pickle
    from dataclasses import FrozenInstanceError

    from hyperliquid_client.generated._models import l2_level
    from hyperliquid_client.runtime.model import Model
    from hyperliquid_client.runtime.struct import to_wire

    l2_level._SH_L2Level.clear()
    (built,) = l2_level._l_L2Level([{"px": "1.5", "sz": "2", "n": 3}])
    plain = models.L2Level(px=Decimal("1.5"), sz=Decimal("2"), n=3)
    assert built is not plain and type(built) is models.L2Level and isinstance(built, Model)
    assert not isinstance(built, tuple) and not hasattr(built, "__dict__")
    assert built == plain and hash(built) == hash(plain) and repr(built) == repr(plain) == repr(copy.copy(built))
    assert (built.px, built.sz, built.n, built.extra) == (plain.px, plain.sz, plain.n, plain.extra)
    assert built != (Decimal("1.5"), Decimal("2"), 3) and built != [Decimal("1.5"), Decimal("2"), 3]
    with pytest.raises(TypeError):
        iter(built)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        _ = built < plain  # type: ignore[operator]
    for change in (lambda: setattr(built, "px", Decimal(1)), lambda: delattr(built, "n")):
        with pytest.raises(FrozenInstanceError):
            change()
    with pytest.raises(FrozenInstanceError):
        built.other = 1
    for copied in (copy.copy(built), copy.deepcopy(built), pickle.loads(pickle.dumps(built))):
        assert type(copied) is models.L2Level and copied == plain
    assert pickle.loads(pickle.dumps(plain)) == built  # pickles of the previous version load as before

    @dataclasses.dataclass
    class Holder:
        level: models.L2Level

    assert dataclasses.asdict(Holder(built)) == {"level": plain}
    assert to_wire(built) == to_wire(plain) == {"px": "1.5", "sz": "2", "n": 3}
    assert sorted(vars(type(built))) == sorted(vars(models.L2Level))  # nothing of the builder left on it


def test_a_message_made_for_delivery_is_an_ordinary_message() -> None:
    """``new_message`` (the delivery path's builder) gives what ``Message(...)`` gives, in every way a reader sees."""
    import copy
    import pickle
    from dataclasses import FrozenInstanceError

    from hyperliquid_client.runtime.ws.messages import Message, new_message

    data = {"coin": "BTC", "levels": [[], []]}
    for recovered in (False, True):
        made = new_message(data, "l2Book", recovered)
        plain = Message(data, "l2Book", recovered)
        assert type(made) is Message and made is not plain
        assert (made.data, made.channel, made.recovered) == (data, "l2Book", recovered) and made.data is data
        assert made == plain and repr(made) == repr(plain) and made != Message(data, "bbo", recovered)
        for change in (lambda m=made: setattr(m, "data", 1), lambda m=made: delattr(m, "channel")):
            with pytest.raises(FrozenInstanceError):
                change()
        for copied in (copy.copy(made), copy.deepcopy(made), pickle.loads(pickle.dumps(made))):
            assert type(copied) is Message and copied == plain
    assert sorted(vars(Message)) == sorted(vars(type(new_message(1, "x", False))))


def test_the_builder_fills_any_model_layout() -> None:
    from dataclasses import FrozenInstanceError

    from hyperliquid_client.runtime.model import Model, builder
    from hyperliquid_client.runtime.struct import EMPTY

    class Point(Model):
        __slots__ = ("extra", "x", "y")

    make = builder(Point)
    b = make()
    b.x, b.y, b.extra = 1, "two", EMPTY
    b.__class__ = Point
    assert type(b) is Point and repr(b) == "Point(x=1, y='two')"
    with pytest.raises(FrozenInstanceError):
        b.x = 2

    class Other(Model):
        __slots__ = ("extra", "x", "z")  # as many slots, another name: another layout

    with pytest.raises(TypeError):
        make().__class__ = Other  # (Python refuses a class whose slots differ)


def test_a_fixed_length_array_converts_its_positions_as_to_tuple_does() -> None:
    import random

    from hyperliquid_client.generated._models import l2_book, l2_level
    from hyperliquid_client.runtime.struct import to_tuple

    fast_fn = l2_book._c_tuple_list_L2Level_list_L2Level
    rnd = random.Random(16)
    seen = set()
    for _ in range(1500):
        side = [[_random_level(rnd) for _ in range(rnd.choice([0, 2]))] for _ in range(rnd.choice([1, 2, 2, 2, 3]))]
        v: Any = rnd.choice([side, side, side, None, {"0": side}, tuple(side)])
        fast = _general(fast_fn, v)
        slow = _general(lambda x: to_tuple(x, (l2_level._l_L2Level, l2_level._l_L2Level)), v)
        assert fast == slow, v
        assert fast[0] == "bad" or type(fast[1]) is tuple
        seen.add(fast[0] if fast[0] == "ok" else fast[1][0][:4])
    assert {"ok", "$[0]", "$[1]", "$"} <= seen  # refusals named at each position and at the array


@pytest.mark.parametrize("spread", ["absent", None, "1.5"])
@pytest.mark.parametrize("fast", ["absent", None, True])
@pytest.mark.parametrize("unknown", [{}, {"new": 1}, {"new": 1, "more": None}])
def test_unknown_keys_of_a_model_with_optional_fields_are_kept_whatever_the_optional_ones(
    spread: Any, fast: Any, unknown: dict[str, Any]
) -> None:
    data: dict[str, Any] = {"coin": "BTC", "time": 1, "levels": [[], []], **unknown}
    if spread != "absent":
        data["spread"] = spread
    if fast != "absent":
        data["fast"] = fast
    got = parse_with(_m_l2_book, data)
    assert dict(got.extra) == unknown
    assert got.spread == (Decimal(spread) if spread not in ("absent", None) else None)
    assert got.fast is (fast if fast is True else None)


@pytest.mark.parametrize("per_list", [1, 20, 997, SHARED_MAX, SHARED_MAX + 1])
def test_the_one_loop_keeps_the_shared_values_bounded(per_list: int) -> None:
    """The loop makes room for a whole list before it starts (no check an item); a list longer than the bound goes
    item by item.  Either way the cache never holds more than ``SHARED_MAX`` values and decodes exactly."""
    from hyperliquid_client.generated._models import l2_level

    levels = [{"px": f"{7 + i}.25", "sz": f"0.{i:07d}", "n": 1 + i % 4} for i in range(3 * SHARED_MAX + 5)]
    for start in range(0, len(levels), per_list):
        chunk = levels[start : start + per_list]
        got = l2_level._l_L2Level(chunk)
        assert len(l2_level._SH_L2Level) <= SHARED_MAX
        assert [(m.px, m.sz, m.n) for m in got] == [(Decimal(d["px"]), Decimal(d["sz"]), d["n"]) for d in chunk]
    last = levels[-1]
    assert l2_level._l_L2Level([dict(last)])[0] is l2_level._s_L2Level(dict(last))  # the newest are still shared
