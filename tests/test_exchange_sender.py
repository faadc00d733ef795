"""The action sender against a real local server: framing, verification, rejections, uncertainty, resend.

The fake exchange's ``/exchange`` answers are scripted here (``set_exchange_handler`` and faults),
so these tests pin the sender's behaviour independently of the fake's matching engine.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_exchange_support import KEY_A, KEY_B, collect, exchange_posts, make_async_rig, make_rig

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.config import custom_network
from hyperliquid_client.runtime.errors import (
    ApiRejectedError,
    ConfigError,
    HTTPStatusError,
    IndeterminateError,
    InvalidInputError,
    RateLimitedError,
    SignatureMismatchError,
    TransportError,
)
from hyperliquid_client.runtime.exchange import ActionSender, server_digest
from hyperliquid_client.runtime.results import Filled, OrderError, Resting, Success
from hyperliquid_client.runtime.signing import EthAccountBackend, NonceManager, Signature, Wallet, recover_address
from hyperliquid_client.runtime.transport import HttpTransport
from hyperliquid_client.testing import FakeExchange, Fault, ok_answer

ROOT = Path(__file__).resolve().parents[1]
CLOID_1 = "0x" + "00" * 15 + "01"
CLOID_2 = "0x" + "00" * 15 + "02"


def order_wire(asset: int = 0, px: str = "97000", sz: str = "0.001", cloid: str | None = None) -> dict[str, Any]:
    wire: dict[str, Any] = {"a": asset, "b": True, "p": px, "s": sz, "r": False, "t": {"limit": {"tif": "Gtc"}}}
    if cloid is not None:
        wire["c"] = cloid
    return wire


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.set_exchange_handler(ok_answer)
        yield fake


@pytest.fixture
def wallet() -> Wallet:
    return Wallet.from_key(KEY_A)


# ---------------------------------------------------------------------------------------------- framing
def test_body_is_signed_by_the_wallet_and_framed_like_the_sdk(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet)
    try:
        result = rig.exchange.actions.order([order_wire(cloid=CLOID_1)], grouping="na")
        (body,) = exchange_posts(fx)
        assert list(body) == ["action", "nonce", "signature", "vaultAddress", "expiresAfter"]
        assert body["vaultAddress"] is None and body["expiresAfter"] is None
        assert result.nonce == body["nonce"]
        digest = server_digest(ENDPOINTS["exchange.order"], body, is_mainnet=False)
        assert recover_address(digest, body["signature"]) == wallet.address
        # the custom (test) network signs as testnet: a mainnet digest recovers someone else
        assert recover_address(server_digest(ENDPOINTS["exchange.order"], body, is_mainnet=True),
                               body["signature"]) != wallet.address  # fmt: skip
    finally:
        rig.close()


def test_user_signed_keys_are_filled_in_place_and_appended(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet)
    try:
        # an action without the keys (the official SDK's order): signatureChainId/hyperliquidChain appended
        raw = {"destination": "0x" + "ab" * 20, "amount": "12.5", "time": None, "type": "usdSend"}
        rig.sender.send(ENDPOINTS["exchange.usdSend"], raw)
        rig.exchange.actions.c_deposit(100_000_000)
        send, deposit = (b["action"] for b in exchange_posts(fx))
        assert list(send) == ["destination", "amount", "time", "type", "signatureChainId", "hyperliquidChain"]
        assert send["hyperliquidChain"] == "Testnet" and send["signatureChainId"] == "0x66eee"
        # built from the spec: placeholders filled where they stand
        assert list(deposit) == ["type", "signatureChainId", "hyperliquidChain", "wei", "nonce"]
        bodies = exchange_posts(fx)
        assert send["time"] == bodies[0]["nonce"] and deposit["nonce"] == bodies[1]["nonce"]
        assert bodies[1]["nonce"] > bodies[0]["nonce"]
    finally:
        rig.close()


def test_approve_agent_without_name_signs_empty_name_and_drops_the_key(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet)
    try:
        approval = rig.exchange.approve_agent()
        (body,) = exchange_posts(fx)
        assert "agentName" not in body["action"]
        assert approval.agent is not None and body["action"]["agentAddress"] == approval.agent.checksum_address
        digest = server_digest(ENDPOINTS["exchange.approveAgent"], body, is_mainnet=False)
        assert recover_address(digest, body["signature"]) == wallet.address
        assert "Wallet(address=" in repr(approval) and approval.agent._secret_hex() not in repr(approval)
    finally:
        rig.close()


def test_weight_grows_with_the_batch(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet)
    sent = collect(rig.bus, "exchange.sent")
    starts = collect(rig.bus, "request.start")
    try:
        rig.exchange.actions.order([order_wire()] * 39, grouping="na")
        rig.exchange.actions.order([order_wire()] * 80, grouping="na")
        assert [e["weight"] for e in sent] == [1, 3]
        assert [e["weight"] for e in starts if e["context"] == "exchange"] == [1, 3]
    finally:
        rig.close()


def test_vault_only_where_hashed_and_expires_only_for_l1(fx: FakeExchange, wallet: Wallet) -> None:
    vault = "0x" + "cd" * 20
    rig = make_rig(fx, wallet, vault=vault)
    try:
        rig.exchange.actions.schedule_cancel()  # the configured vault applies
        rig.exchange.actions.create_sub_account("alpha")  # never hashed with a vault
        rig.exchange.actions.noop()  # hashed with a vault only when one is passed (the official docs list none)
        rig.exchange.actions.noop(vault_address=vault)
        schedule, sub, noop, noop_vault = exchange_posts(fx)
        assert schedule["vaultAddress"] == vault and sub["vaultAddress"] is None
        assert noop["vaultAddress"] is None and noop_vault["vaultAddress"] == vault
        with pytest.raises(InvalidInputError, match="vault_address"):
            rig.sender.send(ENDPOINTS["exchange.createSubAccount"], {"type": "createSubAccount", "name": "x"},
                            vault_address=vault)  # fmt: skip
        with pytest.raises(InvalidInputError, match="expires_after"):
            rig.sender.send(
                ENDPOINTS["exchange.usdSend"],
                {"destination": vault, "amount": "1", "time": None, "type": "usdSend"},
                expires_after=int(time.time() * 1000) + 60_000,
            )
        assert len(exchange_posts(fx)) == 4
    finally:
        rig.close()


# ---------------------------------------------------------------------------------------------- answers
def test_statuses_are_classified_and_a_partly_failed_batch_is_not_an_error(fx: FakeExchange, wallet: Wallet) -> None:
    fx.set_exchange_handler(
        lambda body: {
            "status": "ok",
            "response": {
                "type": "order",
                "data": {
                    "statuses": [
                        {"resting": {"oid": 11, "cloid": CLOID_1}},
                        {"filled": {"totalSz": "0.02", "avgPx": "97001.5", "oid": 12}},
                        {"error": "Order must have minimum value of $10."},
                    ]
                },
            },
        }
    )
    rig = make_rig(fx, wallet)
    results = collect(rig.bus, "exchange.result")
    try:
        result = rig.exchange.actions.order(
            [order_wire(cloid=CLOID_1), order_wire(sz="0.02"), order_wire()], grouping="na"
        )
        resting, filled, error = result.statuses
        assert resting == Resting(11, CLOID_1)
        assert isinstance(filled, Filled) and str(filled.total_sz) == "0.02" and str(filled.avg_px) == "97001.5"
        assert error == OrderError("Order must have minimum value of $10.")
        assert not result.ok and result.errors == (error,)
        assert [e["status"] for e in results] == ["partial"]
        # every element refused (one order the exchange refuses): the action's outcome is a rejection, not partial
        fx.set_exchange_handler(
            lambda body: {
                "status": "ok",
                "response": {"type": "order", "data": {"statuses": [{"error": "Insufficient margin to place order."}]}},
            }
        )
        result = rig.exchange.actions.order([order_wire()], grouping="na")
        assert not result.ok and len(result.errors) == 1
        assert [e["status"] for e in results] == ["partial", "rejected"]
    finally:
        rig.close()


def test_top_level_rejection_raises_with_the_server_message(fx: FakeExchange, wallet: Wallet) -> None:
    message = "Insufficient margin to place order."
    fx.set_exchange_handler(lambda body: {"status": "err", "response": message})
    rig = make_rig(fx, wallet)
    try:
        with pytest.raises(ApiRejectedError) as info:
            rig.exchange.actions.noop()
        assert info.value.server_message == message and message in str(info.value)
    finally:
        rig.close()


def test_unknown_signer_answer_gets_a_hint(fx: FakeExchange, wallet: Wallet) -> None:
    agent = Wallet.from_key(KEY_B)
    server = f"L1 error: User or API Wallet {agent.address} does not exist."
    fx.set_exchange_handler(lambda body: {"status": "err", "response": server})
    rig = make_rig(fx, agent, account=wallet.address)
    try:
        with pytest.raises(ApiRejectedError) as info:
            rig.exchange.actions.noop()
        assert info.value.server_message == server
        assert "approve_agent" in str(info.value) and wallet.address in str(info.value)
    finally:
        rig.close()


def test_cancel_statuses(fx: FakeExchange, wallet: Wallet) -> None:
    fx.set_exchange_handler(
        lambda body: {
            "status": "ok",
            "response": {"type": "cancel", "data": {"statuses": ["success", {"error": "Order was never placed."}]}},
        }
    )
    rig = make_rig(fx, wallet)
    try:
        result = rig.exchange.actions.cancel([{"a": 0, "o": 1}, {"a": 0, "o": 2}])
        assert result.statuses == (Success(), OrderError("Order was never placed."))
    finally:
        rig.close()


# ---------------------------------------------------------------------------------------------- verification
class WrongKeyBackend(EthAccountBackend):
    """A broken backend: signs everything with another key."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self._other = Wallet.from_key(key)

    def sign_l1_action(self, wallet: Wallet, *args: Any) -> Signature:
        return super().sign_l1_action(self._other, *args)

    def sign_typed_data(self, wallet: Wallet, *args: Any) -> Signature:
        return super().sign_typed_data(self._other, *args)


def test_mismatching_signature_is_refused_before_sending(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet, backend=WrongKeyBackend(KEY_B))
    refused = collect(rig.bus, "exchange.refused")
    try:
        with pytest.raises(SignatureMismatchError) as info:
            rig.exchange.actions.noop()
        text = str(info.value)
        assert Wallet.from_key(KEY_B).address in text and wallet.address in text
        assert "wrong network" in text and "does not exist" in text
        assert exchange_posts(fx) == [] and [e["action"] for e in refused] == ["noop"]
    finally:
        rig.close()
    # with verification off, the same mistake reaches the server (which is why it is on by default)
    rig = make_rig(fx, wallet, backend=WrongKeyBackend(KEY_B), verify=False)
    try:
        rig.exchange.actions.noop()
        assert len(exchange_posts(fx)) == 1
    finally:
        rig.close()


def test_values_that_do_not_survive_json_are_caught(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet)
    try:
        # an int map key is hashed as an int by msgpack but arrives as a string after JSON: refused, the key named
        with pytest.raises(InvalidInputError, match=re.escape("action.orders[0][0] (a map key that is not a string)")):
            rig.sender.send(ENDPOINTS["exchange.order"], {"type": "order", "orders": [{0: "x"}], "grouping": "na"})
        assert exchange_posts(fx) == []
    finally:
        rig.close()


@pytest.mark.parametrize("verify", [True, False])
def test_user_signed_action_with_an_agent_is_refused(fx: FakeExchange, wallet: Wallet, verify: bool) -> None:
    agent = Wallet.from_key(KEY_B)
    rig = make_rig(fx, agent, account=wallet.address, verify=verify)
    try:  # a wrong input (not a signature that fails to verify), refused even without verification
        with pytest.raises(InvalidInputError, match="must be signed by the account itself") as info:
            rig.exchange.usd_send("0x" + "ab" * 20, 5)
        assert info.value.field == "wallet" and not isinstance(info.value, SignatureMismatchError)
        with pytest.raises(InvalidInputError, match="user-signed"):
            rig.exchange.approve_agent()
        assert exchange_posts(fx) == []
        rig.exchange.usd_send("0x" + "ab" * 20, 5, wallet=wallet)  # the master itself may
        rig.exchange.actions.noop()  # and the agent signs L1 actions
        assert len(exchange_posts(fx)) == 2
    finally:
        rig.close()


def test_wrong_chain_for_a_known_host_is_refused() -> None:
    net = custom_network("https://api.hyperliquid.xyz", is_mainnet=False)
    with HttpTransport() as transport:
        sender = ActionSender(transport, net, wallet=Wallet.from_key(KEY_A))
        with pytest.raises(SignatureMismatchError, match="mainnet"):
            sender.send(ENDPOINTS["exchange.noop"], {"type": "noop"})


def test_no_wallet_is_a_clear_error(fx: FakeExchange) -> None:
    rig = make_rig(fx, None)
    try:
        with pytest.raises(InvalidInputError, match="no wallet configured"):
            rig.exchange.actions.noop()
        assert exchange_posts(fx) == []
    finally:
        rig.close()


# ---------------------------------------------------------------------------------------------- uncertainty
def test_timeout_after_sending_is_indeterminate_with_nonce_and_cloids(fx: FakeExchange, wallet: Wallet) -> None:
    fx.add_fault("/exchange", Fault.hang(), count=1)
    rig = make_rig(fx, wallet)
    results = collect(rig.bus, "exchange.result")
    try:
        started = time.monotonic()
        with pytest.raises(IndeterminateError) as info:
            rig.exchange.actions.order([order_wire(cloid=CLOID_1), order_wire(cloid=CLOID_2)], grouping="na",
                                       timeout=0.5)  # fmt: skip
        assert time.monotonic() - started < 0.5 + 1.5
        err = info.value
        (body,) = exchange_posts(fx)  # sent exactly once: never re-signed or retried
        assert err.nonce == body["nonce"] and err.cloids == (CLOID_1, CLOID_2) and err.action_type == "order"
        assert isinstance(err.__cause__, TransportError)
        assert [e["status"] for e in results] == ["indeterminate"]
    finally:
        rig.close()


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.close_mid_body(), IndeterminateError),
        (Fault.status(502, body=b"bad gateway"), IndeterminateError),
        (Fault.malformed_json(), IndeterminateError),
        (Fault.truncated_json(), IndeterminateError),
        (Fault.status(422, body=b"Failed to deserialize the JSON body into the target type"), HTTPStatusError),
        (Fault.rate_limited(), RateLimitedError),
    ],
)
def test_failures_after_sending_are_indeterminate_definite_ones_are_not(
    fx: FakeExchange, wallet: Wallet, fault: Fault, expected: type[Exception]
) -> None:
    fx.add_fault("/exchange", fault, count=1)
    rig = make_rig(fx, wallet)
    try:
        with pytest.raises(Exception) as info:
            rig.exchange.actions.order([order_wire(cloid=CLOID_1)], grouping="na")
        assert type(info.value) is expected
        if expected is IndeterminateError:
            assert info.value.cloids == (CLOID_1,) and info.value.__cause__ is not None  # type: ignore[attr-defined]
        assert len(exchange_posts(fx)) == 1
    finally:
        rig.close()


def test_connection_refused_is_a_plain_failure(wallet: Wallet) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with HttpTransport() as transport:
        sender = ActionSender(transport, custom_network(f"http://127.0.0.1:{port}"), wallet=wallet)
        with pytest.raises(TransportError) as info:
            sender.send(ENDPOINTS["exchange.noop"], {"type": "noop"})
        assert not isinstance(info.value, IndeterminateError) and info.value.request_sent is False


def test_resend_posts_the_same_signed_body(fx: FakeExchange, wallet: Wallet) -> None:
    fx.add_fault("/exchange", Fault.hang(), count=1)
    rig = make_rig(fx, wallet)
    resends = collect(rig.bus, "exchange.resend")
    try:
        with pytest.raises(IndeterminateError) as info:
            rig.exchange.actions.order([order_wire(cloid=CLOID_1)], grouping="na", timeout=0.3)
        result = rig.exchange.resend(info.value)
        first, second = fx.requests_for("/exchange")
        assert json.loads(first.raw) == json.loads(second.raw) and first.raw == second.raw
        assert result.nonce == info.value.nonce and len(resends) == 1
    finally:
        rig.close()


def test_resend_refused_for_its_nonce_is_still_indeterminate(fx: FakeExchange, wallet: Wallet) -> None:
    seen: set[int] = set()

    def handler(body: dict[str, Any]) -> Any:
        if body["nonce"] in seen:
            return {"status": "err", "response": f"Invalid nonce: duplicate nonce {body['nonce']}"}
        seen.add(body["nonce"])
        return ok_answer(body)

    fx.set_exchange_handler(handler)
    fx.add_fault("/exchange", Fault.close_mid_body(), count=1)  # executed, but the answer was lost
    rig = make_rig(fx, wallet)
    try:
        with pytest.raises(IndeterminateError) as first:
            rig.exchange.actions.order([order_wire(cloid=CLOID_1)], grouping="na")
        with pytest.raises(IndeterminateError) as again:
            rig.exchange.resend(first.value)
        assert again.value.nonce == first.value.nonce and "duplicate nonce" in str(again.value)
        assert isinstance(again.value.__cause__, ApiRejectedError)
        # a normal (not resent) duplicate is a plain rejection
        with pytest.raises(ApiRejectedError, match="duplicate nonce"):
            rig.sender.send(ENDPOINTS["exchange.noop"], {"type": "noop"}, nonce=first.value.nonce)
    finally:
        rig.close()


def test_resend_of_an_unknown_error_is_refused(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet)
    try:
        with pytest.raises(InvalidInputError, match="nonce 5"):
            rig.exchange.resend(IndeterminateError("x", nonce=5))
        assert exchange_posts(fx) == []
    finally:
        rig.close()


def test_nonces_are_unique_and_increasing_per_signer(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet, nonces=NonceManager(clock=lambda: 1_700_000_000_000))
    try:
        for _ in range(5):
            rig.exchange.actions.noop()
        nonces = [b["nonce"] for b in exchange_posts(fx)]
        assert nonces == list(range(1_700_000_000_000, 1_700_000_000_005))
    finally:
        rig.close()


# ---------------------------------------------------------------------------------------------- secrets
def test_no_key_material_in_logs_events_or_errors(
    fx: FakeExchange, wallet: Wallet, caplog: pytest.LogCaptureFixture
) -> None:
    fx.add_fault("/exchange", Fault.hang(), count=1)
    caplog.set_level(logging.DEBUG, logger="hyperliquid_client")
    rig = make_rig(fx, wallet)
    events = collect(rig.bus, "*")
    try:
        with pytest.raises(IndeterminateError) as info:
            rig.exchange.actions.noop(timeout=0.3)
        secret = KEY_A[2:]
        assert secret not in str(info.value) and secret not in repr(rig.sender)
        assert all(secret not in repr(e.fields) for e in events)
        assert secret not in caplog.text and "exchange action outcome unknown" in caplog.text
    finally:
        rig.close()


# ---------------------------------------------------------------------------------------------- async
async def test_async_sender_success_and_indeterminate(wallet: Wallet) -> None:
    async with FakeExchange() as fx:
        fx.set_exchange_handler(ok_answer)
        rig = make_async_rig(fx, wallet)
        try:
            result = await rig.exchange.actions.noop()
            assert result.response_type == "default"
            fx.add_fault("/exchange", Fault.hang(), count=1)
            started = time.monotonic()
            with pytest.raises(IndeterminateError) as info:
                await rig.exchange.actions.order([order_wire(cloid=CLOID_2)], grouping="na", timeout=0.3)
            assert time.monotonic() - started < 0.3 + 1.5 and info.value.cloids == (CLOID_2,)
            resent = await rig.exchange.resend(info.value)
            assert resent.nonce == info.value.nonce
            assert len(fx.requests_for("/exchange")) == 3
        finally:
            await rig.aclose()


def test_by_default_the_first_action_of_each_kind_is_recovered_and_every_body_checked(
    fx: FakeExchange, wallet: Wallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyperliquid_client.runtime.signing import check

    recovered: list[str] = []
    real = check.recover_address

    def counting(digest: bytes, signature: Any, **kw: Any) -> str:
        address = real(digest, signature, **kw)
        recovered.append(address)
        return address

    monkeypatch.setattr(check, "recover_address", counting)
    rig = make_rig(fx, wallet, verify="once")
    try:
        assert rig.sender.verify_signatures == "once"
        for _ in range(3):
            rig.exchange.actions.noop()
        assert recovered == [wallet.address]  # the kind is proven once, not three signatures' worth each time
        rig.sender.send(ENDPOINTS["exchange.order"], {"type": "order", "orders": [order_wire()], "grouping": "na"})
        rig.sender.send(ENDPOINTS["exchange.order"], {"type": "order", "orders": [order_wire()], "grouping": "na"})
        assert recovered == [wallet.address] * 2  # a new kind of action is recovered once too
        # a body JSON would change is still caught on a kind already proven
        with pytest.raises(InvalidInputError, match=re.escape("action.orders[0][0] (a map key that is not a string)")):
            rig.sender.send(ENDPOINTS["exchange.order"], {"type": "order", "orders": [{0: "x"}], "grouping": "na"})
        assert len(exchange_posts(fx)) == 5
    finally:
        rig.close()
    rig = make_rig(fx, wallet, verify=True)
    try:
        recovered.clear()
        rig.exchange.actions.noop()
        rig.exchange.actions.noop()
        assert recovered == [wallet.address] * 2  # True: every signature
    finally:
        rig.close()


def test_once_trusts_what_a_generated_method_built_and_walks_what_is_handed_to_send(
    fx: FakeExchange, wallet: Wallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a generated method's builder puts every value through its validator (JSON by construction: the generated
    # tests check each action's example), so on a proven kind the "once" check skips its JSON walk for it; an
    # action handed to send() directly is walked, and a body JSON would change is refused as before
    from hyperliquid_client.runtime.signing import check

    walked: list[Any] = []
    real = check.not_json

    def counting(value: Any) -> str | None:
        if isinstance(value, dict) and "type" in value:  # (an action; the walk calls itself for what it holds)
            walked.append(value["type"])
        return real(value)

    monkeypatch.setattr(check, "not_json", counting)
    rig = make_rig(fx, wallet, verify="once")
    try:
        for _ in range(3):
            assert rig.exchange.order("BTC", True, "0.001", "97000").ok
        assert rig.exchange.cancel("BTC", 1).ok
        assert walked == []
        body = {"type": "order", "orders": [order_wire()], "grouping": "na"}
        rig.sender.send(ENDPOINTS["exchange.order"], body)
        assert walked == ["order"]
        with pytest.raises(InvalidInputError, match=re.escape("action.orders[0][0] (a map key that is not a string)")):
            rig.sender.send(ENDPOINTS["exchange.order"], {"type": "order", "orders": [{0: "x"}], "grouping": "na"})
        with pytest.raises(
            InvalidInputError, match=re.escape("action.orders[0][0] (a map key that is not a string)")
        ):  # built=False is the default
            rig.sender.send(ENDPOINTS["exchange.order"], {"type": "order", "orders": [{0: "x"}], "grouping": "na"})
        # every action the three orders and the cancel posted is what the exchange recovers the signer from
        posts = exchange_posts(fx)
        assert len(posts) == 5
        for post in posts:
            assert post["action"] == json.loads(json.dumps(post["action"]))
    finally:
        rig.close()


def test_generated_builders_give_json_whatever_accepted_value_types_they_are_handed() -> None:
    # the values a user may hand an order (subclasses, Decimals, floats, ints, bytes cloids) all reach the action
    # as values that survive JSON unchanged (what the exchange hashes is what it decodes): what lets the "once"
    # check trust a built action.  (The walk itself is stricter: it sends a str subclass to the full check.)
    from decimal import Decimal
    from enum import IntEnum

    from hyperliquid_client.generated.exchange import ExchangeMethods
    from hyperliquid_client.generated.registry import ENDPOINTS as EPS
    from hyperliquid_client.runtime.markets import BuildContext, MarketMetadata
    from hyperliquid_client.runtime.signing.check import not_json
    from hyperliquid_client.runtime.signing.hashing import action_msgpack

    class Text(str):
        pass

    class Side(IntEnum):
        BUY = 1

    meta = {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 40}]}
    markets = MarketMetadata.from_raw(meta=meta, spot_meta={"universe": [], "tokens": []})
    built: list[dict[str, Any]] = []

    class Builds(ExchangeMethods):
        def _send(self, endpoint: Any, build: Any, values: Any, *rest: Any) -> Any:
            built.append(build(BuildContext(markets, user="0x" + "00" * 19 + "aa"), *values))
            return None

    m = Builds()
    m.order(Text("BTC"), True, Decimal("0.00100"), 97000, cloid=b"\x01" * 16)
    m.order("BTC", bool(Side.BUY), 0.001, 97000.0, reduce_only=False, cloid=7, tif=Text("Ioc"))
    m.order("BTC", False, "0.001", Decimal("97000"), trigger={"is_market": True, "trigger_px": 96000, "tpsl": "sl"})
    m.modify(Side.BUY, "BTC", True, 0.002, 97001)
    m.cancel(Text("BTC"), Side.BUY)
    m.update_leverage("BTC", Side.BUY + 4)
    m.usd_send("0x" + "12" * 20, Decimal("1.5"))
    assert len(built) == 7
    for action in built:
        wire = json.loads(json.dumps(action, allow_nan=False))
        assert wire == action and action_msgpack(wire) == action_msgpack(action), action
        assert not_json(wire) is None
    assert all(EPS["exchange." + a["type"]] for a in built)


def test_validators_give_exact_text_whatever_the_methods_of_a_str_subclass_return(fx: FakeExchange) -> None:
    # "JSON by construction" holds only if no validator returns what an input's own method gives: a str subclass
    # whose lower()/strip() return a map with an int key must still put the plain text in the action
    from hyperliquid_client import Client

    class Hostile(str):
        def lower(self) -> Any:  # type: ignore[override]
            return {1: "x"}

        def strip(self, chars: Any = None) -> Any:  # type: ignore[override]
            return {1: "x"}

    address = "0x" + "ab" * 20
    cloid = "0x" + "CD" * 16
    from hyperliquid_client.runtime import validate
    from hyperliquid_client.runtime.signing.wire import normalize_cloid

    assert validate.address("a", Hostile(address)).__class__ is str
    assert validate.hash32("h", Hostile("0x" + "AB" * 32)) == "0x" + "ab" * 32
    assert validate.cloid("c", Hostile(cloid)) == normalize_cloid(Hostile(cloid), "c") == cloid.lower()
    assert validate.amount("x", Hostile(" 1.5 ")) == validate.signed_amount("x", Hostile(" -1.5 ")).lstrip("-")
    wallet = Wallet.generate()
    fx.fund(wallet.address, 10_000)
    fx.set_exchange_handler(None)
    with Client(http_url=fx.http_url, wallet=wallet) as client:
        assert client.exchange.approve_builder_fee(address, "0.01%").ok
        assert client.exchange.order("BTC", True, "0.001", "90000").ok  # the kind is proven
        fx.clear_requests()
        result = client.exchange.order(
            "BTC", True, "0.001", "90000", builder={"b": Hostile(address), "f": 10}, cloid=Hostile(cloid)
        )
        assert result.ok  # signed over the plain text, which is what the exchange decodes and recovers
        (post,) = exchange_posts(fx)
        assert (
            post["action"]["builder"] == {"b": address, "f": 10} and post["action"]["orders"][0]["c"] == cloid.lower()
        )


def test_an_action_whose_builder_hands_a_mapping_over_is_walked() -> None:
    # the generator knows which actions hold a caller's mapping as given (multiSig's inner action): those are
    # not trusted as JSON by construction; every other action is, through every record and variant it holds
    from hyperliquid_client.codegen.loader import load_spec
    from hyperliquid_client.codegen.reqgen import ReqGen
    from hyperliquid_client.generated import exchange as generated
    from hyperliquid_client.runtime.validate import HANDED_OVER

    spec = load_spec(ROOT / "spec")
    gen = ReqGen(spec.requests)
    actions = {e.wire: e.action for e in spec.by_context("exchange") if e.action}
    walked = {wire for wire, action in actions.items() if not gen.json_by_construction(action.fields)}
    assert walked == set(generated._HANDED_OVER) == {"multiSig"} and {"exchange_action"} == HANDED_OVER
    assert gen.json_by_construction(actions["order"].fields) and gen.json_by_construction(actions["batchModify"].fields)


def test_once_refuses_a_wrong_key_on_the_first_action(fx: FakeExchange, wallet: Wallet) -> None:
    rig = make_rig(fx, wallet, backend=WrongKeyBackend(KEY_B), verify="once")
    try:
        for _ in range(2):  # never proven: every attempt is checked in full
            with pytest.raises(SignatureMismatchError):
                rig.exchange.actions.noop()
        assert exchange_posts(fx) == []
    finally:
        rig.close()


def test_verify_signatures_accepts_true_false_or_once(fx: FakeExchange, wallet: Wallet) -> None:
    with pytest.raises(ConfigError):
        make_rig(fx, wallet, verify="sometimes")


def test_sent_and_answered_are_logged_without_a_listener_and_emitted_without_logging(
    fx: FakeExchange, wallet: Wallet, caplog: pytest.LogCaptureFixture
) -> None:
    # the fields of exchange.sent / exchange.result are built only when heard: a record at an enabled level is
    # heard even with no listener, a listener even with the level off
    rig = make_rig(fx, wallet)
    try:
        with caplog.at_level(logging.DEBUG, logger="hyperliquid_client.exchange"):
            rig.exchange.actions.order([order_wire()], grouping="na")
        messages = [r.getMessage() for r in caplog.records if r.name == "hyperliquid_client.exchange"]
        assert any(m.startswith("exchange action sent") and "weight=1" in m for m in messages)
        assert any(m.startswith("exchange action answered") and "status=ok" in m for m in messages)
        caplog.clear()
        sent, results = collect(rig.bus, "exchange.sent"), collect(rig.bus, "exchange.result")
        with caplog.at_level(logging.WARNING, logger="hyperliquid_client.exchange"):
            rig.exchange.actions.order([order_wire()], grouping="na")
        assert [e["weight"] for e in sent] == [1] and [e["status"] for e in results] == ["ok"]
        assert not [r for r in caplog.records if r.name == "hyperliquid_client.exchange"]
    finally:
        rig.close()


@pytest.mark.parametrize("kind", ["result", "signed"])
def test_objects_filled_through_their_slots_are_the_ones_their_class_builds(kind: str) -> None:
    """``results._result`` and ``_core._signed`` fill ExchangeResult's / SignedAction's slots without attrs'
    ``__init__``: the same object, every field (``response`` too, which equality ignores), for any values; fails
    when a field is added, removed or reordered."""
    import random

    import attrs

    from hyperliquid_client.runtime import results
    from hyperliquid_client.runtime.exchange import _core

    fill, cls, names = {
        "result": (results._result, results.ExchangeResult, "action response_type statuses data raw nonce _response"),
        "signed": (_core._signed, _core.SignedAction, "endpoint body nonce signer vault_address weight"),
    }[kind]
    assert [f.name for f in attrs.fields(cls)] == names.split()
    rng = random.Random(1517)
    pool: list[Any] = [None, 0, 9, "0xab", (), (Resting(1),), {"a": [1]}, object()]
    if kind == "signed":  # (a result's response left as an endpoint is structured from raw when read)
        pool.append(ENDPOINTS["exchange.order"])
    for _ in range(500):
        values = [rng.choice(pool) for _ in names.split()]
        fast, made = fill(*values), cls(*values)
        assert fast == made and repr(fast) == repr(made)
        assert [getattr(fast, n) for n in names.split()] == [getattr(made, n) for n in names.split()]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            fast.nonce = 1


def test_what_json_would_change_is_named_in_any_mapping(fx: FakeExchange, wallet: Wallet) -> None:
    # a non-string key inside a dict subclass is named as the key it is (the strict walk stops at the subclass)
    from collections import OrderedDict

    class S(str):
        pass

    rig = make_rig(fx, wallet)
    try:
        with pytest.raises(InvalidInputError, match=re.escape("action.x[1] (a map key that is not a string)")):
            rig.sender.send(ENDPOINTS["exchange.noop"], {"type": "noop", "x": OrderedDict({1: 1})})
        with pytest.raises(InvalidInputError, match=re.escape("action.x.y: bytes b'z'")):
            rig.sender.send(ENDPOINTS["exchange.noop"], {"type": "noop", "x": OrderedDict({"y": b"z"})})
        assert exchange_posts(fx) == []
        # what JSON carries unchanged goes: string keys in a dict subclass, str subclasses as keys and values
        assert rig.sender.send(ENDPOINTS["exchange.noop"], {"type": "noop", "x": OrderedDict({S("k"): S("v")})}).ok
        assert len(exchange_posts(fx)) == 1
    finally:
        rig.close()
