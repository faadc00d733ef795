"""Wire helpers against the helper vectors (``HL_VECTORS_DIR`` honoured), plus quirk rejection."""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack
import pytest

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.signing import (
    action_msgpack,
    float_to_int_for_hashing,
    float_to_usd_int,
    float_to_wire,
    normalize_cloid,
    order_request_to_wire,
    order_type_to_wire,
)
from hyperliquid_client.runtime.signing.wire import cloid_from_int
from tests.datasets import VECTORS_DIR

ROOT = Path(__file__).resolve().parents[1]


def _cases(name: str) -> list[Any]:
    try:
        vectors = json.loads((VECTORS_DIR / name).read_text())["vectors"]
    except Exception as exc:
        return [pytest.param(f"cannot read {VECTORS_DIR / name}: {exc!r}", id=f"{name}-unreadable")]
    if not vectors:
        return [pytest.param(f"{VECTORS_DIR / name} has no vectors", id=f"{name}-empty")]
    return [pytest.param(v, id=f"{name[:-5]}-{i}") for i, v in enumerate(vectors)]


def _number(v: dict[str, Any]) -> float | int:
    if v.get("input_is_int"):
        return int(v["input"])
    return float.fromhex(v["input_hex"])  # exact, including nan / inf / -0.0


def _expect(v: dict[str, Any], compute: Any) -> None:
    if "sdk_quirk" in v or "error" in v:
        # SDK errors are errors here too; SDK quirks (-0, NaN/inf, 28-digit rounding,
        # non-hex cloids) are rejected instead of copied.
        with pytest.raises(InvalidInputError):
            compute()
    elif "output" in v:
        assert compute() == v["output"]
    else:
        pytest.fail(f"cannot handle vector {v!r}: neither output nor error")


@pytest.mark.parametrize("v", _cases("float_to_wire.json"))
def test_float_to_wire_vectors(v: Any) -> None:
    if isinstance(v, str):
        pytest.fail(v)
    x = _number(v)
    assert repr(x) == v["input_repr"] or v.get("input_is_int")
    _expect(v, lambda: float_to_wire(x))


@pytest.mark.parametrize("v", _cases("float_to_int.json"))
def test_float_to_int_vectors(v: Any) -> None:
    if isinstance(v, str):
        pytest.fail(v)
    fns = {"float_to_usd_int": float_to_usd_int, "float_to_int_for_hashing": float_to_int_for_hashing}
    if v["fn"] not in fns:
        pytest.fail(f"unknown fn {v['fn']!r}")
    x = _number(v)
    _expect(v, lambda: fns[v["fn"]](x))


@pytest.mark.parametrize("v", _cases("cloid.json"))
def test_cloid_vectors(v: Any) -> None:
    if isinstance(v, str):
        pytest.fail(v)
    if v["op"] == "from_int":
        _expect(v, lambda: cloid_from_int(int(v["input_decimal"])))
    elif v["op"] == "from_str" and "sdk_quirk" in v and re.fullmatch(r"0x[0-9a-fA-F]{32}", v["input"]):
        assert normalize_cloid(v["input"]) == v["input"].lower()  # either case accepted, sent lowercase
    elif v["op"] == "from_str":
        _expect(v, lambda: normalize_cloid(v["input"]))
    else:
        pytest.fail(f"unknown op {v['op']!r}")


@pytest.mark.parametrize("v", _cases("order_type_to_wire.json"))
def test_order_type_to_wire_vectors(v: Any) -> None:
    if isinstance(v, str):
        pytest.fail(v)
    if "output" in v:
        # key order matters (msgpack): compare serialised
        assert json.dumps(order_type_to_wire(v["input"])) == json.dumps(v["output"])
    _expect(v, lambda: order_type_to_wire(v["input"]))


@pytest.mark.parametrize("v", _cases("order_request_to_wire.json"))
def test_order_request_to_wire_vectors(v: Any) -> None:
    if isinstance(v, str):
        pytest.fail(v)
    if "output" in v:
        wire = order_request_to_wire(v["input"], v["asset"])
        assert json.dumps(wire) == json.dumps(v["output"])
        assert action_msgpack(wire) == action_msgpack(v["output"])
    _expect(v, lambda: order_request_to_wire(v["input"], v["asset"]))


def test_float_to_wire_quirks_rejected_with_clear_errors() -> None:
    for bad in (float("nan"), float("inf"), float("-inf"), -0.0, -1e-13, 2.0**100):
        with pytest.raises(InvalidInputError) as info:
            float_to_wire(bad, "orders[0].p")
        assert info.value.field == "orders[0].p"
    with pytest.raises(InvalidInputError, match="at most 8 decimals"):
        float_to_wire(0.123456789)
    with pytest.raises(InvalidInputError):
        float_to_wire(True)  # a bool is not a price


def test_float_to_wire_exact_inputs() -> None:
    assert float_to_wire(Decimal("1670.10")) == "1670.1"
    assert float_to_wire("0.00000001") == "0.00000001"
    assert float_to_wire("100") == "100"
    assert float_to_wire(Decimal("1E+2")) == "100"
    assert float_to_wire("12345678901234.12304688") == "12345678901234.12304688"
    for bad in ("0.000000001", "NaN", "-0", "abc", Decimal("Infinity")):
        with pytest.raises(InvalidInputError):
            float_to_wire(bad)


def test_cloid_forms() -> None:
    assert normalize_cloid(1) == "0x00000000000000000000000000000001"
    assert normalize_cloid(bytes(range(16))) == "0x000102030405060708090a0b0c0d0e0f"
    assert normalize_cloid("0xABABABABABABABABABABABABABABABAB") == "0x" + "ab" * 16
    for bad in ("0xABABABABABABABABABABABABABABABAG", "0x" + "0" * 31, "0X" + "0" * 32, -1, 1 << 128, b"\x00" * 15):
        with pytest.raises(InvalidInputError):
            normalize_cloid(bad)  # type: ignore[arg-type]


def test_order_type_validation() -> None:
    with pytest.raises(InvalidInputError, match="Invalid order type"):
        order_type_to_wire({"market": {}})
    with pytest.raises(InvalidInputError):
        order_type_to_wire({"limit": {"tif": "Day"}})
    with pytest.raises(InvalidInputError):
        order_type_to_wire({"trigger": {"isMarket": 1, "triggerPx": 1.0, "tpsl": "tp"}})
    with pytest.raises(InvalidInputError):
        order_type_to_wire({"trigger": {"isMarket": True, "triggerPx": 1.0, "tpsl": "stop"}})
    order = {"is_buy": True, "sz": 1.0, "limit_px": 2.0, "reduce_only": False, "order_type": {"limit": {"tif": "Gtc"}}}
    with pytest.raises(InvalidInputError, match="asset"):
        order_request_to_wire(order, -1)
    with pytest.raises(InvalidInputError, match="is_buy"):
        order_request_to_wire({**order, "is_buy": "yes"}, 0)
    assert "c" not in order_request_to_wire({**order, "cloid": None}, 0)
    assert order_request_to_wire({**order, "cloid": 5}, 0)["c"] == "0x00000000000000000000000000000005"


def test_msgpack_rejects_what_the_server_cannot_reproduce() -> None:
    with pytest.raises(InvalidInputError) as info:
        action_msgpack({"type": "order", "orders": [{"p": 1.5}]})
    assert info.value.field == "action.orders[0].p"
    with pytest.raises(InvalidInputError):
        action_msgpack({"type": "x", "n": 1 << 64})
    with pytest.raises(InvalidInputError):
        action_msgpack({"type": "x", "d": Decimal("1")})
    # 0xcb inside a string or an integer is not a float: accepted, exact bytes
    assert action_msgpack({"s": "\u02cb"}) == bytes.fromhex("81a173a2cb8b")
    assert action_msgpack({"n": 0xCBCB}) == bytes.fromhex("81a16ecdcbcb")


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"type": "noop", "x": {1.5: "a"}}, "action.x[1.5] (a key)"),  # a float key is a float signed
        ({1.5: "a"}, "action[1.5] (a key)"),
        ({"x": {(1.5,): "a"}}, "action.x[(1.5,)] (a key)[0]"),
    ],
)
def test_msgpack_rejects_a_float_used_as_a_key(action: Any, field: str) -> None:
    with pytest.raises(InvalidInputError, match="no floats") as info:
        action_msgpack(action)
    assert info.value.field == field


def test_msgpack_names_a_float_subclass_as_a_float() -> None:
    class F(float):
        pass

    with pytest.raises(InvalidInputError, match="no floats") as info:
        action_msgpack({"type": "order", "p": F(1.5)})
    assert info.value.field == "action.p"


def test_msgpack_keeps_int_keys_and_odd_strings() -> None:
    # keys that are not floats pack as the official SDK packs them (msgpack.packb), markers or not
    for action in ({"type": "x", 0xCB: "a"}, {"\xca\xcb": 1}, {"x": {True: None}}):
        assert action_msgpack(action) == msgpack.packb(action)


def test_msgpack_takes_a_list_subclass_whatever_its_bytes() -> None:
    class L(list[Any]):
        pass

    # packed (and sent in JSON) as a list: accepted alike whether or not its bytes hold a float marker (0xcb = 203)
    for action in ({"x": L([1])}, {"x": L([203])}, {"x": [L([0xCBCB, "a"])]}):
        assert action_msgpack(action) == msgpack.packb(action)
    with pytest.raises(InvalidInputError, match="no floats") as info:
        action_msgpack({"x": [L([1, 2.0])]})
    assert info.value.field == "action.x[0][1]"


def test_msgpack_refuses_an_action_that_holds_itself_or_nests_too_deeply() -> None:
    # (the recursion limit set here: a library imported by another test may have raised it, and under a high one
    # the walk reaches the float 5,000 levels down and names it, which is right too)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        loop: list[Any] = []
        loop.append(loop)
        deep: Any = {"a": 1.5}
        for _ in range(5000):
            deep = {"a": deep}
        for action in ({"x": loop}, deep):
            with pytest.raises(InvalidInputError, match="nests too deeply, or contains itself"):
                action_msgpack(action)
    finally:
        sys.setrecursionlimit(limit)
