"""The response side of the spec: enums, unions (by tag and by key), ``deflated[T]``, and the spec fixes.

Through the public client against the fake exchange where the shape comes from the API (``userEvents``,
``orderStatus``, ``userRole``, ``fastAssetCtxs``, ``l2Book`` ``fast``, the spot ``activeAssetCtx`` subscription,
``outcomeDeployerLimits``), and through the spec loader for the validation of the new type forms.
"""

from __future__ import annotations

import base64
import shutil
import time
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_codegen import problems

from hyperliquid_client import Client, ClientConfig, InvalidResponseError
from hyperliquid_client.codegen.loader import load_spec
from hyperliquid_client.generated import models, streams
from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime import struct
from hyperliquid_client.runtime.struct import Unknown, parse_with
from hyperliquid_client.runtime.ws import DecodeFailed, Message
from hyperliquid_client.testing import FakeExchange

USER = "0x" + "11" * 20
FILL = {
    "coin": "BTC", "px": "97000", "sz": "0.1", "side": "B", "time": 1, "startPosition": "0", "dir": "Open Long",
    "closedPnl": "0", "hash": "0x" + "00" * 32, "oid": 1, "crossed": True, "fee": "0.1", "tid": 2, "feeToken": "USDC",
}  # fmt: skip


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange(market_snapshots=False) as fake:  # the tests publish every message they read
        yield fake


@pytest.fixture
def client(fx: FakeExchange) -> Iterator[Client]:
    fx.clear_requests()
    with Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as c:
        yield c


def publish(fx: FakeExchange, subscription: dict[str, Any], data: Any) -> None:
    """Publish once the fake has the subscription (it is acknowledged a moment after subscribing)."""
    deadline = time.monotonic() + 10
    while not fx.publish(subscription, data):
        assert time.monotonic() < deadline, f"nobody subscribed to {subscription} within 10 s"
        time.sleep(0.01)


def deflate(text: str) -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(text.encode()) + packer.flush()).decode()


# ------------------------------------------------------------------------------------------------ unions
def test_user_events_are_a_union_by_key(fx: FakeExchange, client: Client) -> None:
    stream = client.streams.user_events(USER)
    sub = {"type": "userEvents", "user": USER}
    funding = {"coin": "ETH", "usdc": "-0.5", "szi": "2", "fundingRate": "0.0001", "nSamples": 24, "time": 5}
    liquidation = {"lid": 9, "liquidator": USER, "liquidated_user": USER, "liquidated_ntl_pos": "10",
                   "liquidated_account_value": "1"}  # fmt: skip
    messages: list[dict[str, Any]] = [
        {"fills": [FILL]}, {"funding": funding}, {"liquidation": liquidation}, {"nonUserCancel": []},
        {"airdrop": {"amount": "1"}},
    ]  # fmt: skip
    for data in messages:
        publish(fx, sub, data)
    events = [stream.get(timeout=10) for _ in range(5)]
    stream.close()
    kinds = [type(e.data) for e in events if isinstance(e, Message)]
    assert kinds == [
        models.UserEventFills,
        models.UserEventFunding,
        models.UserEventLiquidation,
        models.UserEventNonUserCancel,
        Unknown,
    ]
    assert events[0].data.fills[0].side == "B" and events[0].data.fills[0].dir == "Open Long"
    assert events[1].data.funding.usdc == Decimal("-0.5")
    assert events[2].data.liquidation.lid == 9
    assert not hasattr(events[0].data, "funding")  # no longer one object with every field optional


def test_a_user_event_with_two_kinds_at_once_is_refused() -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse_with(streams._m_user_events, {"fills": [], "nonUserCancel": []})
    assert info.value.path == "$" and "exactly one of" in info.value.expected


def test_order_status_is_a_union(fx: FakeExchange, client: Client) -> None:
    fx.state.add_open_order(USER, {"coin": "BTC", "side": "B", "limitPx": "97000", "sz": "0.001", "oid": 4242})
    found = client.info.order_status(USER, 4242)
    missing = client.info.order_status(USER, 999)
    assert isinstance(found, models.OrderFound) and found.order.order.oid == 4242
    assert found.order.status == "open"
    assert isinstance(missing, models.OrderNotFound) and missing.status == "unknownOid"
    assert not hasattr(missing, "order")


@pytest.mark.parametrize(
    ("answer", "cls", "master"),
    [
        ({"role": "agent", "data": {"user": USER}}, "UserRoleAgent", USER),
        ({"role": "subAccount", "data": {"master": USER}}, "UserRoleSubAccount", USER),
        ({"role": "vault"}, "UserRolePlain", None),
        ({"role": "missing"}, "UserRolePlain", None),
    ],
    ids=["agent", "subAccount", "vault", "missing"],
)
def test_user_role_is_a_union(fx: FakeExchange, client: Client, answer: Any, cls: str, master: str | None) -> None:
    fx.set_info("userRole", answer)
    role = client.info.user_role(USER)
    assert type(role).__name__ == cls and role.role == answer["role"]  # type: ignore[union-attr]
    if master is not None:
        data = role.data  # type: ignore[union-attr]
        assert (getattr(data, "user", None) or getattr(data, "master", None)) == master


def test_an_agent_role_without_its_master_is_refused(fx: FakeExchange, client: Client) -> None:
    fx.set_info("userRole", {"role": "agent"})
    with pytest.raises(InvalidResponseError) as info:
        client.info.user_role(USER)
    assert info.value.path == "$.data"


# ------------------------------------------------------------------------------------------------ streams
def test_fast_asset_ctxs_are_decoded(fx: FakeExchange, client: Client) -> None:
    documented = "q1ZyCnFWsqpWyk0syg6oULJSsjQ3NTDQM1Wq1VFyDfFAkTI2MzXQMwJLVVRWWfmFuTiiyBuamOoZKdXWAgA="
    delta = deflate('{"ETH":{"midPx":"3650.5"},"@1":{"markPx":"35.1","midPx":null}}')
    stream = client.streams.fast_asset_ctxs()
    sub = {"type": "fastAssetCtxs"}
    for data in (documented, delta, "not base64!", deflate("[1, 2]")):
        publish(fx, sub, data)
    items = [stream.get(timeout=10) for _ in range(4)]
    stream.close()
    snapshot, change = items[0].data, items[1].data
    assert snapshot == {
        "BTC": models.FastAssetCtx(mark_px=Decimal("97500.5")),
        "ETH": models.FastAssetCtx(mark_px=Decimal("3650.25")),
        "xyz:NVDA": models.FastAssetCtx(mark_px=Decimal("145.2")),
    }
    assert change["ETH"].mid_px == Decimal("3650.5") and change["ETH"].mark_px is None
    assert change["@1"].mark_px == Decimal("35.1")
    assert [type(i) for i in items[2:]] == [DecodeFailed, DecodeFailed]


def test_a_deflated_message_is_bounded() -> None:
    bomb = deflate(" " * (struct.MAX_INFLATED + 1))
    with pytest.raises(InvalidResponseError, match="at most"):
        parse_with(streams._m_fast_asset_ctxs, bomb)


def test_l2_book_fast_field(fx: FakeExchange, client: Client) -> None:
    remove = fx.on_subscribe(
        lambda sub: {"coin": "BTC", "time": 1, "levels": [[], []], "fast": True} if sub.get("fast") else None
    )
    try:
        stream = client.streams.l2_book("BTC", fast=True)
        book = stream.get(timeout=10)
        stream.close()
    finally:
        remove()
    assert isinstance(book, Message) and book.data.fast is True and book.data.extra == {}


def test_spot_asset_ctx_subscribes_as_active_asset_ctx(fx: FakeExchange, client: Client) -> None:
    stream = client.streams.active_spot_asset_ctx("@1")
    publish(fx, {"type": "activeAssetCtx", "coin": "@1"}, fx.market.asset_ctx("@1"))
    item = stream.get(timeout=10)
    subs = [s for _, s in fx.ws_subscriptions]
    stream.close()
    assert {"type": "activeAssetCtx", "coin": "@1"} in subs
    assert not any(s["type"] == "activeSpotAssetCtx" for s in subs)
    assert isinstance(item, Message) and isinstance(item.data, models.ActiveSpotAssetCtxMessage)
    assert item.data.coin == "@1" and item.channel == "activeSpotAssetCtx"
    assert item.data.ctx.circulating_supply == Decimal("999990000.0")


def test_outcome_deployer_limits_sends_the_venue(fx: FakeExchange, client: Client) -> None:
    fx.set_info("outcomeDeployerLimits", {"maxActiveOutcomes": 10})
    assert client.info.outcome_deployer_limits("at") == {"maxActiveOutcomes": 10}
    assert fx.requests_for("/info", type="outcomeDeployerLimits")[-1].body == {
        "type": "outcomeDeployerLimits",
        "venue": "at",
    }


# ------------------------------------------------------------------------------------------------ spec format
ENDPOINT = """\
wire: thing
summary: A thing.
weight: 2
response: {response}
sample:
  response: {sample}
"""


def spec_with(tmp_path: Path, types: str, response: str = "Thing", sample: str = "{a: x}") -> Path:
    root = tmp_path / "spec"
    (root / "types").mkdir(parents=True)
    (root / "info").mkdir()
    (root / "types" / "t.yaml").write_text("types:\n" + types)
    (root / "info" / "thing.yaml").write_text(ENDPOINT.format(response=response, sample=sample))
    return root


def test_enums_and_unions_by_key_load(tmp_path: Path) -> None:
    types = """\
  Thing:
    doc: A thing.
    union:
      by_key: {a: ThingA}
      strings: Word
  ThingA:
    doc: The a thing.
    fields:
      a: Word
  Word:
    doc: A word.
    enum: [x, y]
"""
    spec = load_spec(spec_with(tmp_path, types))
    by_name = {t.name: t for t in spec.types}
    assert by_name["Word"].enum == ("x", "y") and by_name["Thing"].by_key == (("a", "ThingA"),)
    assert by_name["Thing"].strings == "Word" and by_name["Thing"].is_union


@pytest.mark.parametrize(
    ("types", "message"),
    [
        ("  Thing:\n    doc: T.\n    enum: [x, x]\n", "types.Thing.enum[1]: duplicate enum value 'x'"),
        ("  Thing:\n    doc: T.\n    enum: []\n", "types.Thing.enum: expected at least one value"),
        ("  Thing:\n    doc: T.\n    enum: [x]\n    fields: {a: str}\n",
         "expected exactly one of 'fields', 'union' or 'enum'"),
        ("  Thing:\n    doc: T.\n    union: {by_key: {a: B}}\n  B:\n    doc: B.\n    fields: {b: str}\n",
         "types.Thing.union.by_key.a: 'B' must have the key 'a' as a required field"),
        ("  Thing:\n    doc: T.\n    union: {by_key: {a: B}, strings: B}\n  B:\n    doc: B.\n    fields: {a: str}\n",
         "types.Thing.union.strings: expected an enum type, 'B' is not one"),
        ("  Thing:\n    doc: T.\n    union: {tag: t, by_key: {a: B}}\n  B:\n    doc: B.\n    fields: {a: str}\n",
         "expected 'tag' with 'variants', or 'by_key' (with optional 'strings')"),
        ("  Thing:\n    doc: T.\n    union: {tag: t, variants: {a: W}}\n  W:\n    doc: W.\n    enum: [a]\n",
         "types.Thing.union.variants.a: a union variant must be a model with fields, 'W' is not"),
    ],
    ids=["duplicate-value", "no-values", "two-forms", "key-not-a-field", "strings-not-enum", "tag-and-key",
         "variant-not-model"],
)  # fmt: skip
def test_bad_enums_and_unions_are_reported(tmp_path: Path, types: str, message: str) -> None:
    assert any(message in p for p in problems(spec_with(tmp_path, types))), problems(spec_with(tmp_path, types))


def test_every_exchange_action_declares_its_answer(tmp_path: Path) -> None:
    exchange = [e for e in ENDPOINTS.values() if e.context == "exchange"]
    assert len(exchange) == 61 and all(e.parse is not None and e.response != "any" for e in exchange)
    assert {e.wire: e.response for e in exchange if e.response != "DefaultResponse"} == {
        "order": "OrderResponse",
        "batchModify": "OrderResponse",
        "cancel": "CancelResponse",
        "cancelByCloid": "CancelResponse",
        "twapOrder": "TwapOrderResponse",
        "twapCancel": "TwapCancelResponse",
        "createSubAccount": "CreatedResponse",
        "createVault": "CreatedResponse",
        "multiSig": "ExchangeResponse",
    }
    copy = tmp_path / "spec"
    shutil.copytree(Path(__file__).resolve().parents[1] / "spec", copy)
    order = copy / "exchange" / "order.yaml"
    order.write_text(order.read_text().replace("response: OrderResponse\n", ""))
    assert any("exchange/order.yaml: response: missing required key" in p for p in problems(copy))


@pytest.mark.parametrize(
    ("response", "sample", "message"),
    [
        ("Word", "z", "sample.response: expected one of the Word values x, y, got str 'z'"),
        ("Thing", "{a: x, b: y}", "sample.response: expected exactly one of the Thing keys a, b, got a, b"),
        ("Thing", "{c: 1}", "sample.response: expected exactly one of the Thing keys a, b, got none"),
        ("Thing", "{a: z}", "sample.response.a: expected one of the Word values x, y, got str 'z'"),
        ("Thing", "q", "sample.response: expected one of the Word values x, y, got str 'q'"),
        ("deflated[Word]", "not-base64", "sample.response: expected a base64 string of raw DEFLATE JSON"),
        ("uint", "-1", "sample.response: expected an integer 0 .. 2**64-1, got int -1"),
    ],
    ids=["enum", "two-keys", "no-key", "variant-field", "string-member", "deflated", "uint"],
)
def test_samples_are_checked_against_the_new_type_forms(
    tmp_path: Path, response: str, sample: str, message: str
) -> None:
    types = """\
  Thing:
    doc: A thing.
    union:
      by_key: {a: ThingA, b: ThingB}
      strings: Word
  ThingA:
    doc: The a thing.
    fields:
      a: Word
  ThingB:
    doc: The b thing.
    fields:
      b: Word
  Word:
    doc: A word.
    enum: [x, y]
"""
    found = problems(spec_with(tmp_path, types, response, sample))
    assert any(message in p for p in found), found
