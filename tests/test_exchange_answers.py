"""Answers to signed actions are read strictly: one that cannot be fully understood is never a success.

The fake exchange serves each garbled ``{"status": "ok"}`` answer (``set_exchange_handler``) to a client going
through the public ``client.exchange`` methods; every such answer must raise ``IndeterminateError`` carrying the
nonce that was posted and the cloids of the action (the action may have executed), and be reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from hyperliquid_client import AsyncClient, Client, ClientConfig, IndeterminateError, InvalidResponseError
from hyperliquid_client.generated.exchange import ExchangeActions
from hyperliquid_client.runtime.caller import RecordingSender
from hyperliquid_client.runtime.exchange import CancelRequest, ModifyRequest, OrderRequest
from hyperliquid_client.runtime.results import Filled, OrderError, Resting, Success, Waiting
from hyperliquid_client.testing import FakeExchange

KEY = "0x" + "4d" * 32
CLOID_1 = "0x" + "00" * 15 + "01"
CLOID_2 = "0x" + "00" * 15 + "02"


def ok(response: Any) -> dict[str, Any]:
    return {"status": "ok", "response": response}


def order_answer(*statuses: Any) -> dict[str, Any]:
    return ok({"type": "order", "data": {"statuses": list(statuses)}})


def cancel_answer(*statuses: Any) -> dict[str, Any]:
    return ok({"type": "cancel", "data": {"statuses": list(statuses)}})


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


@pytest.fixture
def client(fx: FakeExchange) -> Iterator[Client]:
    fx.clear_requests()
    with Client(http_url=fx.http_url, wallet=KEY, config=ClientConfig(warm=False)) as c:
        yield c


def posted_nonce(fx: FakeExchange) -> int:
    posts = fx.requests_for("/exchange")
    assert posts, "nothing was posted"
    nonce: int = posts[-1].body["nonce"]
    return nonce


def one_order(client: Client, cloid: str | None = CLOID_1) -> Any:
    return client.exchange.order("BTC", True, "0.001", "95000", cloid=cloid)


def two_orders(client: Client) -> Any:
    return client.exchange.bulk_orders(
        [
            OrderRequest("BTC", True, "0.001", "95000", cloid=CLOID_1),
            OrderRequest("ETH", False, "0.01", "3500", cloid=CLOID_2),
        ]
    )


def cancel_one(client: Client) -> Any:
    return client.exchange.cancel("BTC", 12345)


def cancel_two(client: Client) -> Any:
    return client.exchange.bulk_cancel([CancelRequest("BTC", 1), CancelRequest("ETH", 2)])


def modify_one(client: Client) -> Any:
    return client.exchange.modify(777, "BTC", True, "0.001", "95000", cloid=CLOID_1)


def modify_two(client: Client) -> Any:
    return client.exchange.bulk_modify(
        [
            ModifyRequest(777, OrderRequest("BTC", True, "0.001", "95000", cloid=CLOID_1)),
            ModifyRequest(778, OrderRequest("ETH", True, "0.01", "3500", cloid=CLOID_2)),
        ]
    )


S = "$.response.data.statuses"
GARBLED = [
    # (id, the answer, the public call, the path the error names, the drift reported (None: the shape is right))
    ("order-no-statuses", ok({"type": "order", "data": {}}), one_order, S, "missing"),
    ("order-no-data", ok({"type": "order"}), one_order, "$.response.data", "missing"),
    ("order-empty-statuses", order_answer(), one_order, S, None),
    ("order-fewer-statuses", order_answer({"resting": {"oid": 1}}), two_orders, S, None),
    ("order-more-statuses", order_answer("waitingForFill", "waitingForFill"), one_order, S, None),
    ("order-float-oid", order_answer({"resting": {"oid": 1000.9}}), one_order, S + "[0].resting.oid", "type"),
    ("order-true-oid", order_answer({"resting": {"oid": True}}), one_order, S + "[0].resting.oid", "type"),
    ("order-negative-oid", order_answer({"resting": {"oid": -5}}), one_order, S + "[0].resting.oid", "type"),
    ("order-nan-size", order_answer({"filled": {"totalSz": "NaN", "avgPx": "95000", "oid": 1}}), one_order,
     S + "[0].filled.totalSz", "type"),
    ("order-negative-price", order_answer({"filled": {"totalSz": "0.001", "avgPx": "-95000", "oid": 1}}), one_order,
     S + "[0].filled.avgPx", "type"),
    ("order-number-size", order_answer({"filled": {"totalSz": 0.001, "avgPx": "95000", "oid": 1}}), one_order,
     S + "[0].filled.totalSz", "type"),
    ("order-unknown-string", order_answer("garbage"), one_order, S + "[0]", "enum"),
    ("order-unknown-object", order_answer({"parked": {"oid": 1}}), one_order, S + "[0]", "variant"),
    ("order-two-outcomes", order_answer({"resting": {"oid": 1}, "error": "x"}), one_order, S + "[0]", "type"),
    ("order-other-cloid", order_answer({"resting": {"oid": 1, "cloid": CLOID_2}}), one_order, S + "[0].cloid", None),
    ("order-wrong-type", ok({"type": "cancel", "data": {"statuses": ["success"]}}), one_order, "$.response.type",
     "enum"),
    ("order-statuses-not-list", ok({"type": "order", "data": {"statuses": {"resting": {"oid": 1}}}}), one_order, S,
     "type"),
    ("cancel-empty", cancel_answer(), cancel_one, S, None),
    ("cancel-fewer", cancel_answer("success"), cancel_two, S, None),
    ("cancel-unknown-string", cancel_answer("garbage"), cancel_one, S + "[0]", "enum"),
    ("cancel-order-status", cancel_answer("waitingForFill"), cancel_one, S + "[0]", "enum"),
    ("cancel-no-statuses", ok({"type": "cancel", "data": {}}), cancel_one, S, "missing"),
    ("modify-empty", order_answer(), modify_one, S, None),
    ("modify-unknown-type", ok({"type": "garbage", "data": {"statuses": [{"resting": {"oid": 1}}]}}), modify_one,
     "$.response.type", "enum"),
    ("modify-no-type", ok({"data": {"statuses": [{"resting": {"oid": 1}}]}}), modify_one, "$.response.type",
     "missing"),
    ("modify-filled-nan", order_answer({"filled": {"totalSz": "0.001", "avgPx": "NaN", "oid": 3}}), modify_one,
     S + "[0].filled.avgPx", "type"),
    ("batch-modify-fewer", order_answer({"resting": {"oid": 1, "cloid": CLOID_1}}), modify_two, S, None),
    ("batch-modify-float-oid", order_answer({"resting": {"oid": 1.5}}, {"resting": {"oid": 2}}), modify_two,
     S + "[0].resting.oid", "type"),
    # what the shape allows but no answer to this order can be (found by a tester: each was reported as success)
    ("order-cloid-none-sent", order_answer({"resting": {"oid": 1, "cloid": CLOID_2}}), lambda c: one_order(c, None),
     S + "[0].cloid", None),
    ("order-oid-beyond-u64", order_answer({"resting": {"oid": 2**70}}), one_order, S + "[0].resting.oid", "type"),
    ("order-fill-beyond-size", order_answer({"filled": {"totalSz": "5", "avgPx": "95000", "oid": 1}}), one_order,
     S + "[0].filled.totalSz", None),
    ("order-fill-of-nothing", order_answer({"filled": {"totalSz": "0", "avgPx": "95000", "oid": 1}}), one_order,
     S + "[0].filled.totalSz", None),
    ("order-fill-at-zero", order_answer({"filled": {"totalSz": "0.001", "avgPx": "0", "oid": 1}}), one_order,
     S + "[0].filled.avgPx", None),
    ("orders-sharing-an-oid", order_answer({"resting": {"oid": 5}}, {"resting": {"oid": 5}}), two_orders, S + "[1]",
     None),
    ("create-sub-account-not-an-address", ok({"type": "createSubAccount", "data": "nope"}),
     lambda c: c.exchange.create_sub_account("mine"), "$.response.data", "type"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "call", "path", "drift"), [g[1:] for g in GARBLED], ids=[g[0] for g in GARBLED])
def test_a_garbled_ok_answer_is_indeterminate(
    fx: FakeExchange, client: Client, answer: Any, call: Any, path: str, drift: str | None
) -> None:
    fx.set_exchange_handler(lambda body: answer)
    drifts: list[Any] = []
    client.events.subscribe("schema.drift", drifts.append)
    try:
        with pytest.raises(IndeterminateError) as info:
            call(client)
    finally:
        fx.set_exchange_handler(None)
    err = info.value
    sent = fx.requests_for("/exchange")[-1].body
    assert err.nonce == sent["nonce"] == posted_nonce(fx)
    assert err.action_type == sent["action"]["type"]
    assert list(err.cloids) == [c for c in (CLOID_1, CLOID_2) if c in str(sent["action"])]
    assert f"at {path}:" in str(err)
    assert [e["kind"] for e in drifts] == ([drift] if drift else [])


WELL_FORMED = [
    ("resting", order_answer({"resting": {"oid": 11, "cloid": CLOID_1}}), one_order, (Resting(11, CLOID_1),)),
    ("filled", order_answer({"filled": {"totalSz": "0.001", "avgPx": "95000.5", "oid": 12}}), one_order,
     (Filled(12, Decimal("0.001"), Decimal("95000.5")),)),
    ("error", order_answer({"error": "Order must have minimum value of $10."}), one_order,
     (OrderError("Order must have minimum value of $10."),)),
    ("waiting", order_answer("waitingForTrigger", {"resting": {"oid": 13}}), two_orders,
     (Waiting("waitingForTrigger"), Resting(13))),
    ("integral-float-oid", order_answer({"resting": {"oid": 14.0}}), one_order, (Resting(14),)),
    ("reduce-only-size-0-closes-more", order_answer({"filled": {"totalSz": "0.5", "avgPx": "95000", "oid": 15}}),
     lambda c: c.exchange.order("BTC", False, 0, "95000", reduce_only=True),
     (Filled(15, Decimal("0.5"), Decimal(95000)),)),
    ("cancel", cancel_answer("success", {"error": "Order was never placed, already canceled, or filled."}), cancel_two,
     (Success(), OrderError("Order was never placed, already canceled, or filled."))),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "call", "statuses"), [w[1:] for w in WELL_FORMED], ids=[w[0] for w in WELL_FORMED])
def test_well_formed_answers_are_read(
    fx: FakeExchange, client: Client, answer: Any, call: Any, statuses: tuple[Any, ...]
) -> None:
    fx.set_exchange_handler(lambda body: answer)
    try:
        result = call(client)
    finally:
        fx.set_exchange_handler(None)
    assert result.statuses == statuses
    assert result.nonce == posted_nonce(fx)
    assert result.response.type == answer["response"]["type"]
    assert len(result.response.data.statuses) == len(statuses)


def test_an_extra_field_in_a_status_is_reported_not_refused(fx: FakeExchange, client: Client) -> None:
    fx.set_exchange_handler(lambda body: order_answer({"resting": {"oid": 21, "queuePosition": 3}}))
    drifts: list[Any] = []
    client.events.subscribe("schema.drift", drifts.append)
    try:
        result = one_order(client, cloid=None)
        one_order(client, cloid=None)
    finally:
        fx.set_exchange_handler(None)
    assert result.statuses == (Resting(21),)
    assert result.response.data.statuses[0].resting.extra == {"queuePosition": 3}
    assert [(e["endpoint"], e["path"], e["kind"], e["got"], e["value"]) for e in drifts] == [
        ("exchange.order", "$.response.data.statuses[*].resting.queuePosition", "extra", "number", None)
    ]


def test_the_fake_engine_answers_are_understood(fx: FakeExchange, client: Client) -> None:
    fx.fund(client.address or "", 100_000)
    placed = client.exchange.bulk_orders(
        [
            OrderRequest("BTC", True, "0.001", "90000", cloid=CLOID_1),
            OrderRequest("BTC", True, "0.001", "90001", cloid=CLOID_2),
        ]
    )
    assert [type(s) for s in placed.statuses] == [Resting, Resting]
    assert [s.cloid for s in placed.statuses] == [CLOID_1, CLOID_2]  # type: ignore[union-attr]
    canceled = client.exchange.bulk_cancel(
        [CancelRequest("BTC", placed.statuses[0].oid), CancelRequest("BTC", 999_999)]  # type: ignore[union-attr]
    )
    assert canceled.statuses[0] == Success() and isinstance(canceled.statuses[1], OrderError)
    assert client.exchange.update_leverage("BTC", 5).response_type == "default"


async def test_async_client_reads_answers_strictly_too(fx: FakeExchange) -> None:
    fx.set_exchange_handler(lambda body: order_answer({"resting": {"oid": 1000.9}}))
    try:
        async with AsyncClient(http_url=fx.http_url, wallet=KEY, config=ClientConfig(warm=False)) as client:
            with pytest.raises(IndeterminateError) as info:
                await client.exchange.order("BTC", True, "0.001", "95000", cloid=CLOID_1)
    finally:
        fx.set_exchange_handler(None)
    assert info.value.nonce == posted_nonce(fx) and info.value.cloids == (CLOID_1,)


@pytest.mark.parametrize(
    ("answer", "ok_statuses"),
    [
        (order_answer({"resting": {"oid": 1}}, {"resting": {"oid": 2}}), (Resting(1), Resting(2))),
        (order_answer({"resting": {"oid": 1}}), None),  # one status for two orders
        (ok({"type": "default"}), None),  # no status at all
        (ok({"type": "cancel", "data": {"statuses": ["success", "success"]}}), None),  # another action's answer
    ],
    ids=["two-statuses", "one-status", "default", "cancel-answer"],
)
def test_a_multi_sig_answer_is_read_as_the_answer_of_the_action_it_wraps(answer: Any, ok_statuses: Any) -> None:
    inner = {"type": "order", "orders": [{"a": 0}, {"a": 1}], "grouping": "na"}
    payload = {"multiSigUser": "0x" + "01" * 20, "outerSigner": "0x" + "02" * 20, "action": inner}
    actions = ExchangeActions(RecordingSender(answer))
    if ok_statuses is None:
        with pytest.raises(InvalidResponseError):
            actions.multi_sig("0x66eee", [], payload)
    else:
        assert actions.multi_sig("0x66eee", [], payload).statuses == ok_statuses
