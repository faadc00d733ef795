"""The straight-line reader of the common exchange answers (``results._fast``) agrees with the strict path.

Every answer, random near-misses of the common shapes included, is classified twice — with the fast reader and
with it turned off — and the two must give the same result (every field, ``response`` included), the same error
(type and message) and the same drift events.  The random answers are built so that both the fast reader's shapes
and everything just outside them occur (checked below), so a fast reader that accepted one answer too many, or
read one status differently, fails here.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime import results
from hyperliquid_client.runtime.drift import DriftMonitor
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.registry import EndpointSpec
from tests.datasets import FIXTURES_DIR

_ENDPOINTS = [
    ENDPOINTS[name]
    for name in ("exchange.order", "exchange.batchModify", "exchange.cancel", "exchange.cancelByCloid",
                 "exchange.updateLeverage", "exchange.twapOrder", "exchange.createSubAccount")
]  # fmt: skip


def _outcome(raw: Any, endpoint: EndpointSpec, sent: Any, *, fast: bool) -> tuple[Any, list[Any]]:
    """What classify gives (the result's fields or the error), and the drift events, with or without the fast
    reader."""
    bus = EventBus()
    heard: list[Any] = []
    bus.subscribe("schema.drift", lambda event: heard.append(sorted(event.fields.items(), key=str)))
    monitor = DriftMonitor(bus, mode="warn")
    saved = results._fast
    if not fast:
        results._fast = lambda *a: None
    try:
        got = results.classify(copy.deepcopy(raw), endpoint, nonce=7, sent=sent, drift=monitor)
    except Exception as exc:
        return ("error", type(exc), str(exc)), heard
    finally:
        results._fast = saved
    fields = (got.action, got.response_type, got.statuses, got.data, got.raw, got.nonce, got.response)
    return ("ok", fields, repr(got)), heard


def _status(rng: random.Random) -> Any:
    oid: Any = rng.choice([0, 1, 77738308, 2**63, -1, True, 1.0, 1.5, "1", None])
    cloid: Any = rng.choice(["0x" + "ab" * 16, "0x" + "CD" * 16, 5, None, "missing"])
    resting: dict[str, Any] = {"oid": oid}
    if cloid != "missing":
        resting["cloid"] = cloid
    if rng.random() < 0.3:
        resting = {"oid": rng.randrange(0, 10**9)} if rng.random() < 0.5 else {"oid": 5, "cloid": "0x" + "ab" * 16}
    if rng.random() < 0.1:
        resting["extra"] = 1
    if rng.random() < 0.1:
        del resting["oid"]
    filled = {"oid": 3, "totalSz": rng.choice(["0.1", "x"]), "avgPx": "1670.1"}
    return rng.choice([
        {"resting": resting}, {"resting": resting}, {"resting": resting},
        {"error": rng.choice(["Order has invalid price.", 5, None, ""])}, {"error": "Insufficient margin"},
        "success", "success", "waitingForFill", "garbage", {"filled": filled}, {"resting": resting, "error": "x"},
        {"other": 1}, {}, 5, None, {"error": "e", "extra": True},
    ])  # fmt: skip


_KINDS = {"OrderResponse": "order", "CancelResponse": "cancel", "DefaultResponse": "default"}


def _answer(rng: random.Random, endpoint: EndpointSpec) -> Any:
    statuses = [_status(rng) for _ in range(rng.choice([0, 1, 1, 1, 2, 3]))]
    data: Any = {"statuses": statuses}
    if rng.random() < 0.05:
        data["extra"] = 1
    if rng.random() < 0.03:
        data = rng.choice([None, [], {"status": "success"}, {"status": {"running": {"twapId": 3}}}])
    kind = rng.choice(["order", "cancel", "cancelByCloid", "default", "twapOrder", "nope", 5])
    if rng.random() < 0.6:  # mostly the answer of the endpoint's own type
        kind = _KINDS.get(endpoint.response, kind)
    body: Any = {"type": kind, "data": data} if kind != "default" or rng.random() < 0.2 else {"type": kind}
    if rng.random() < 0.05:
        body["more"] = 1
    if rng.random() < 0.03:
        body = rng.choice([None, "text", [], {"data": data}])
    raw: Any = {"status": "ok", "response": body}
    roll = rng.random()
    if roll < 0.03:
        raw["status"] = rng.choice(["err", "maybe", None])
    elif roll < 0.06:
        raw["extra"] = 1
    elif roll < 0.08:
        raw = rng.choice([None, [], "ok", {"status": "ok"}, {"status": "err", "response": "refused"}])
    return raw


def _sent(endpoint: EndpointSpec, raw: Any, rng: random.Random) -> Any:
    """The action sent: as many elements as the answer has statuses (sometimes one more), their cloids the ones
    answered (sometimes another)."""
    try:
        n = len(raw["response"]["data"]["statuses"])
    except (TypeError, KeyError):
        n = 1
    if rng.random() < 0.1:
        n += 1
    key = {"order": "orders", "batchModify": "modifies", "cancel": "cancels", "cancelByCloid": "cancels"}
    if endpoint.wire not in key:
        return {"type": endpoint.wire}
    items = []
    for i in range(n):
        cloid: Any = None
        try:
            cloid = raw["response"]["data"]["statuses"][i]["resting"]["cloid"]
        except (TypeError, KeyError, IndexError):
            pass
        if rng.random() < 0.2:
            cloid = "0x" + "ee" * 16
        element = {"a": 4, "c": cloid} if cloid is not None and rng.random() < 0.8 else {"a": 4}
        items.append({"oid": 1, "order": element} if endpoint.wire == "batchModify" else element)
    return {"type": endpoint.wire, key[endpoint.wire]: items}


def _recorded() -> Iterator[tuple[EndpointSpec, Any]]:
    for path in sorted(FIXTURES_DIR.glob("exchange_*__*.json")):
        wire = path.name.removeprefix("exchange_").split("__")[0]
        endpoint = ENDPOINTS.get(f"exchange.{wire}")
        if endpoint is not None:
            yield endpoint, json.loads(path.read_text(encoding="utf-8"))["response"]


def test_the_fast_reader_agrees_with_the_strict_path_on_random_answers() -> None:
    rng = random.Random(1515)
    taken = refused = 0
    for _ in range(6000):
        endpoint = rng.choice(_ENDPOINTS)
        raw = _answer(rng, endpoint)
        sent = _sent(endpoint, raw, rng) if rng.random() < 0.9 else None
        fast, fast_heard = _outcome(raw, endpoint, sent, fast=True)
        strict, strict_heard = _outcome(raw, endpoint, sent, fast=False)
        assert fast == strict, (endpoint.wire, raw, sent)
        assert fast_heard == strict_heard, (endpoint.wire, raw, sent)
        if results._fast(copy.deepcopy(raw), endpoint, 7, None) is not None:
            taken += 1
        elif strict[0] == "ok":
            refused += 1
    # both sides of the fast reader's edge occur: answers it reads, and answers the strict path reads it leaves
    assert taken > 200 and refused > 80, (taken, refused)


def test_the_fast_reader_agrees_on_recorded_answers_and_reads_the_common_ones() -> None:
    seen = 0
    for endpoint, raw in _recorded():
        fast, fast_heard = _outcome(raw, endpoint, None, fast=True)
        assert (fast, fast_heard) == _outcome(raw, endpoint, None, fast=False)
        seen += 1
    assert seen
    common = [
        (ENDPOINTS["exchange.order"], {"status": "ok", "response": {"type": "order", "data": {"statuses": [
            {"resting": {"oid": 77738308}}, {"resting": {"oid": 1, "cloid": "0x" + "ab" * 16}},
            {"error": "Order must have minimum value of $10."}]}}}),
        (ENDPOINTS["exchange.cancel"], {"status": "ok", "response": {"type": "cancel", "data": {"statuses": [
            "success", {"error": "Order was never placed, already canceled, or filled."}]}}}),
        (ENDPOINTS["exchange.updateLeverage"], {"status": "ok", "response": {"type": "default"}}),
    ]  # fmt: skip
    for endpoint, raw in common:
        assert results._fast(raw, endpoint, 7, None) is not None  # read in one straight pass
        assert _outcome(raw, endpoint, None, fast=True) == _outcome(raw, endpoint, None, fast=False)


@pytest.mark.parametrize(
    "raw",
    [
        {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": -1}}]}}},
        {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 1, "x": 2}}]}}},
        {"status": "ok", "response": {"type": "order", "data": {"statuses": ["success"]}}},
        {"status": "ok", "response": {"type": "default", "extra": 1}},
    ],
)
def test_the_fast_reader_leaves_what_is_not_a_common_shape_to_the_strict_path(raw: Any) -> None:
    endpoint = ENDPOINTS["exchange.order" if raw["response"]["type"] == "order" else "exchange.updateLeverage"]
    assert results._fast(raw, endpoint, 7, None) is None


def test_a_fast_result_structures_its_response_once_and_equals_the_strict_one() -> None:
    raw = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 9}}]}}}
    endpoint = ENDPOINTS["exchange.order"]
    fast = results._fast(raw, endpoint, 7, None)
    assert fast is not None
    first = fast.response
    assert first is fast.response  # structured once
    assert first.data.statuses[0].resting.oid == 9
    saved = results._fast
    results._fast = lambda *a: None
    try:
        strict = results.classify(raw, endpoint, nonce=7)
    finally:
        results._fast = saved
    assert fast == strict and repr(fast) == repr(strict) and strict.response == first


def test_the_sender_reads_an_answer_as_read_answer_does() -> None:
    """The sender hands the common answers to the fast reader and the rest to read_answer: the same result or
    error as read_answer on the strict path alone (an unreadable answer is indeterminate either way), first attempt
    and resend."""
    from hyperliquid_client.runtime.config import custom_network
    from hyperliquid_client.runtime.exchange import ActionSender
    from hyperliquid_client.runtime.exchange._core import read_answer
    from hyperliquid_client.runtime.signing import Wallet
    from hyperliquid_client.runtime.transport import HttpTransport

    rng = random.Random(16)
    with HttpTransport() as transport:
        sender = ActionSender(
            transport, custom_network("https://api.fast.example"), wallet=Wallet.from_key("0x" + "11" * 32)
        )
        taken = 0
        for _ in range(1500):
            endpoint = rng.choice([_ENDPOINTS[i] for i in (0, 2, 3, 4)])  # orders, cancels and a default answer
            raw = _answer(rng, endpoint)
            action = _sent(endpoint, raw, rng)
            signed = sender.sign(endpoint, action)
            resend = rng.random() < 0.2
            outcomes: list[tuple[str, Any, str]] = []
            for fast in (True, False):
                saved = results._fast
                try:
                    if fast:
                        got = sender._on_answer(signed, copy.deepcopy(raw), 0.0, resend=resend)
                    else:  # the strict path alone
                        results._fast = lambda *a: None
                        got = read_answer(signed, copy.deepcopy(raw), sender.signer, resend=resend, drift=sender.drift)
                except Exception as exc:
                    outcomes.append(("error", type(exc), str(exc)))
                else:
                    outcomes.append(("ok", got, repr(got)))
                finally:
                    results._fast = saved
            assert outcomes[0] == outcomes[1], (endpoint.wire, raw, action)
            taken += results._fast(raw, endpoint, signed.nonce, signed.body["action"]) is not None
        assert taken > 100
