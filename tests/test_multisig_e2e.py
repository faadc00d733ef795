"""Multi-sig end to end: the public client against the fake exchange, which verifies the outer and inner
signatures (``docs/signing.md``, "Multi-sig"), counts distinct authorized signers against the threshold and
executes the inner action as the multi-sig user.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest

from hyperliquid_client import Client
from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.errors import ApiRejectedError
from hyperliquid_client.runtime.exchange import Exchange
from hyperliquid_client.runtime.results import Resting
from hyperliquid_client.runtime.signing import (
    Wallet,
    build_multi_sig_action,
    sign_multi_sig_action,
    sign_multi_sig_inner_user_signed,
)
from hyperliquid_client.testing import FakeExchange, ok_answer

DEST = "0x" + "12" * 20


@attrs.define
class Multi:
    """A multi-sig account ``owner`` (3 authorized users A, B, C, threshold 2) and an outsider D."""

    fx: FakeExchange
    owner: Wallet
    a: Wallet
    b: Wallet
    c: Wallet
    d: Wallet
    clients: list[Client]

    @property
    def user(self) -> str:
        return self.owner.address

    def client(self, wallet: Wallet, **kwargs: Any) -> Client:
        client = Client("testnet", http_url=self.fx.http_url, ws_url=self.fx.ws_url, wallet=wallet, **kwargs)
        self.clients.append(client)
        return client


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


@pytest.fixture
def ms(fx: FakeExchange) -> Iterator[Multi]:
    """The owner (10 000 USDC) converted to a 2-of-3 multi-sig of A, B, C (known, unfunded users)."""
    wallets = [Wallet.generate() for _ in range(5)]
    owner, a, b, c, d = wallets
    fx.fund(owner.address, 10_000)
    for w in (a, b, c, d):
        fx.fund(w.address)  # authorized users must be existing users
    m = Multi(fx, owner, a, b, c, d, [])
    result = m.client(owner).exchange.convert_to_multi_sig_user([a.address, b.address, c.address], 2)
    assert result.response_type == "default"
    yield m
    for client in m.clients:
        client.close()


def btc_order(client: Client, px: str = "90000", sz: str = "0.001") -> dict[str, Any]:
    wire = {
        "a": client.exchange.asset_id("BTC"),
        "b": True,
        "p": px,
        "s": sz,
        "r": False,
        "t": {"limit": {"tif": "Gtc"}},
    }
    return Exchange.build_action("order", [wire], grouping="na")


def rejected(fn: Any) -> str:
    with pytest.raises(ApiRejectedError) as info:
        fn()
    return info.value.server_message


# ------------------------------------------------------------------------------------------ conversion
def test_conversion_registers_the_signers_and_blocks_direct_actions(ms: Multi) -> None:
    owner = ms.client(ms.owner)
    signers = owner.info.user_to_multi_sig_signers(ms.user)
    assert signers is not None
    assert signers.threshold == 2
    assert list(signers.authorized_users) == sorted(w.address.lower() for w in (ms.a, ms.b, ms.c))
    assert owner.info.user_to_multi_sig_signers(ms.a.address) is None
    # once converted, the account's own key no longer acts for it
    message = rejected(lambda: owner.exchange.order("BTC", True, "0.001", 90000))
    assert "is a multi-sig user" in message and ms.user.lower() in message
    assert owner.info.open_orders(ms.user) == ()


def test_conversion_refuses_unknown_authorized_users_and_bad_thresholds(fx: FakeExchange) -> None:
    owner, known = Wallet.generate(), Wallet.generate()
    fx.fund(owner.address, 100)
    fx.fund(known.address)
    stranger = "0x" + "ee" * 20
    with Client("testnet", http_url=fx.http_url, wallet=owner) as client:
        message = rejected(lambda: client.exchange.convert_to_multi_sig_user([known.address, stranger], 1))
        assert message == f"Authorized user {stranger} does not exist."
        # the client refuses threshold > users itself, so send the raw signers text
        too_high = json.dumps({"authorizedUsers": [known.address.lower()], "threshold": 2})
        message = rejected(lambda: client.exchange.actions.convert_to_multi_sig_user(too_high))
        assert message.startswith("Invalid multi-sig threshold 2")
        assert client.info.user_to_multi_sig_signers(owner.address) is None
        # converting back a user that is not a multi-sig user
        assert "is not a multi-sig user" in rejected(lambda: client.exchange.convert_to_multi_sig_user(None, None))


# ------------------------------------------------------------------------------------------ L1 inner action
def test_order_with_two_inner_signatures_rests_for_the_multi_sig_user(ms: Multi) -> None:
    outer = ms.client(ms.a)
    result = outer.exchange.multi_sig(ms.user, btc_order(outer), signers=[ms.a, ms.b])
    assert result.action == "multiSig"
    status = result.statuses[0]
    assert isinstance(status, Resting)
    orders = outer.info.open_orders(ms.user)
    assert [(o.oid, o.coin, o.limit_px, o.sz) for o in orders] == [
        (status.oid, "BTC", Decimal(90000), Decimal("0.001"))
    ]
    assert outer.info.open_orders(ms.a.address) == ()  # not the outer signer's order
    # the nonce went to the outer signer's set, not the multi-sig user's
    assert result.nonce in ms.fx.engine.nonces.used(ms.a.address)
    assert len(ms.fx.engine.nonces.used(ms.user)) == 1  # only its own conversion


@pytest.mark.parametrize("inner", ["order", "usdSend"])
def test_a_client_with_a_default_vault_acts_for_the_multi_sig_user_not_its_own_vault(ms: Multi, inner: str) -> None:
    """The client's default vault is its own account's (docs/exchange.md: it goes only on the actions listed
    there): a multi-sig action never carries it, as a plain ``usd_send`` does not; an explicit one still goes.
    With it attached, the order was refused ("not the master or leader") and the transfer was hashed with it."""
    ms.fx.fund(ms.a.address, 1_000)
    plain = ms.client(ms.a)
    own_vault = plain.exchange.create_sub_account("mine").data  # (A's sub-account: not the multi-sig user's)
    outer = ms.client(ms.a, vault_address=own_vault)
    action = btc_order(outer) if inner == "order" else outer.exchange.build_action("usd_send", DEST, "5")
    result = outer.exchange.multi_sig(ms.user, action, signers=[ms.a, ms.b])
    body = ms.fx.requests_for("/exchange", **{"action.type": "multiSig"})[-1].body
    assert body["vaultAddress"] is None
    if inner == "order":
        assert isinstance(result.statuses[0], Resting) and len(outer.info.open_orders(ms.user)) == 1
    with contextlib.suppress(ApiRejectedError):  # an explicit vault is sent (whatever the exchange says of it)
        outer.exchange.multi_sig(ms.user, action, signers=[ms.a, ms.b], vault_address=own_vault)
    assert ms.fx.requests_for("/exchange", **{"action.type": "multiSig"})[-1].body["vaultAddress"] == own_vault


def test_signatures_collected_offline_and_replay_refused(ms: Multi) -> None:
    outer = ms.client(ms.c)
    inner = btc_order(outer, px="89000")
    nonce = outer.exchange.sender.next_nonce()
    sigs = [
        outer.exchange.sign_multi_sig_inner(w, inner, multi_sig_user=ms.user, outer_signer=ms.c.address, nonce=nonce)
        for w in (ms.b, ms.a)
    ]
    result = outer.exchange.multi_sig(ms.user, inner, signatures=sigs, nonce=nonce)
    assert isinstance(result.statuses[0], Resting)
    body = ms.fx.requests_for("/exchange", **{"action.type": "multiSig"})[-1].body
    again = httpx.post(ms.fx.http_url + "/exchange", json=body).json()
    assert again == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}
    assert len(outer.info.open_orders(ms.user)) == 1


def test_tampered_payload_no_longer_matches_the_outer_signature(ms: Multi) -> None:
    outer = ms.client(ms.a)
    inner = btc_order(outer)
    nonce = outer.exchange.sender.next_nonce()
    ms.fx.set_exchange_handler(ok_answer)  # capture only
    outer.exchange.multi_sig(ms.user, inner, signers=[ms.a, ms.b], nonce=nonce)
    ms.fx.set_exchange_handler(None)
    body = ms.fx.requests_for("/exchange", **{"action.type": "multiSig"})[-1].body
    body["action"]["payload"]["action"]["orders"][0]["s"] = "0.002"
    answer = httpx.post(ms.fx.http_url + "/exchange", json=body).json()
    assert answer["status"] == "err"
    assert answer["response"].startswith("Multi-sig outer signer 0x")
    assert answer["response"].endswith(f"does not match payload outerSigner {ms.a.address.lower()}.")
    assert outer.info.open_orders(ms.user) == ()


# ------------------------------------------------------------------------------------------ user-signed inner
def test_usd_send_with_two_signatures_moves_funds(ms: Multi) -> None:
    outer = ms.client(ms.b)
    before = outer.info.clearinghouse_state(ms.user).withdrawable
    inner = Exchange.build_action("usd_send", DEST, "25")
    result = outer.exchange.multi_sig(ms.user, inner, signers=[ms.b, ms.c])
    assert result.response_type == "default"
    assert outer.info.clearinghouse_state(ms.user).withdrawable == before - 25
    assert outer.info.clearinghouse_state(DEST).withdrawable == 25
    assert outer.info.clearinghouse_state(ms.b.address).withdrawable == 0
    body = {"type": "userNonFundingLedgerUpdates", "user": ms.user, "startTime": 0}
    last = httpx.post(ms.fx.http_url + "/info", json=body).json()[-1]["delta"]
    assert (last["type"], last["usdc"], last["user"], last["destination"]) == (
        "internalTransfer",
        "25.0",
        ms.user.lower(),
        DEST,
    )


def test_inner_user_signed_action_in_the_old_builder_order_is_refused(ms: Multi) -> None:
    """The defect this pins: a user-signed inner action with its fields first and type,
    signatureChainId, hyperliquidChain last hashes other bytes than the exchange's; the fake refuses
    it (the public path, build_action then multi_sig, puts those three first and executes)."""
    outer = ms.client(ms.a)
    nonce = outer.exchange.sender.next_nonce()
    wrong = {"destination": DEST, "amount": "5", "time": nonce, "type": "usdSend",
             "signatureChainId": "0x66eee", "hyperliquidChain": "Testnet"}  # fmt: skip
    spec = ENDPOINTS["exchange.usdSend"]
    assert spec.primary_type is not None
    sigs = [
        sign_multi_sig_inner_user_signed(w, wrong, multi_sig_user=ms.user, outer_signer=ms.a.address,
                                         primary_type=spec.primary_type, fields=spec.eip712_fields)
        for w in (ms.b, ms.c)
    ]  # fmt: skip
    action = build_multi_sig_action(multi_sig_user=ms.user, outer_signer=ms.a.address, inner_action=wrong,
                                    signatures=sigs)  # fmt: skip
    sig = sign_multi_sig_action(ms.a, action, nonce, vault_address=None, expires_after=None, is_mainnet=False)
    body = {"action": action, "nonce": nonce, "signature": sig.to_wire(), "vaultAddress": None, "expiresAfter": None}
    answer = httpx.post(ms.fx.http_url + "/exchange", json=body).json()
    assert answer["status"] == "err" and "action.payload.action: keys" in answer["response"]
    assert outer.info.clearinghouse_state(DEST).withdrawable == 0
    result = outer.exchange.multi_sig(ms.user, Exchange.build_action("usd_send", DEST, "5"), signers=[ms.b, ms.c])
    assert result.response_type == "default"
    assert outer.info.clearinghouse_state(DEST).withdrawable == 5


def test_user_set_abstraction_short_code_verifies(ms: Multi) -> None:
    outer = ms.client(ms.a)
    inner = Exchange.build_action("user_set_abstraction", ms.user, "unifiedAccount")
    result = outer.exchange.multi_sig(ms.user, inner, signers=[ms.a, ms.c])
    body = ms.fx.requests_for("/exchange", **{"action.type": "multiSig"})[-1].body
    assert body["action"]["payload"]["action"]["abstraction"] == "u"  # short code in the payload
    assert result.response_type == "default"


# ------------------------------------------------------------------------------------------ refusals
def test_one_signature_is_below_the_threshold(ms: Multi) -> None:
    outer = ms.client(ms.a)
    message = rejected(lambda: outer.exchange.multi_sig(ms.user, btc_order(outer), signers=[ms.b]))
    assert message == "Multi-sig threshold not met: 1 distinct authorized signature(s), 2 required."
    # the same signer twice still counts once
    nonce = outer.exchange.sender.next_nonce()
    inner = btc_order(outer)
    sig = outer.exchange.sign_multi_sig_inner(
        ms.b, inner, multi_sig_user=ms.user, outer_signer=ms.a.address, nonce=nonce
    )
    message = rejected(lambda: outer.exchange.multi_sig(ms.user, inner, signatures=[sig, sig], nonce=nonce))
    assert message.startswith("Multi-sig threshold not met: 1 ")
    assert outer.info.open_orders(ms.user) == ()
    inner_send = Exchange.build_action("usd_send", DEST, "5")
    assert "threshold not met" in rejected(lambda: outer.exchange.multi_sig(ms.user, inner_send, signers=[ms.c]))
    assert outer.info.clearinghouse_state(DEST).withdrawable == 0


def test_signature_by_a_non_authorized_key_is_refused(ms: Multi) -> None:
    outer = ms.client(ms.a)
    message = rejected(lambda: outer.exchange.multi_sig(ms.user, btc_order(outer), signers=[ms.a, ms.b, ms.d]))
    assert (
        message == f"Multi-sig signature 2 is by {ms.d.address.lower()}, not an authorized user of {ms.user.lower()}."
    )
    inner_send = Exchange.build_action("usd_send", DEST, "5")
    message = rejected(lambda: outer.exchange.multi_sig(ms.user, inner_send, signers=[ms.d, ms.b]))
    assert message.startswith(f"Multi-sig signature 0 is by {ms.d.address.lower()}")
    assert outer.info.open_orders(ms.user) == ()
    assert outer.info.clearinghouse_state(DEST).withdrawable == 0


def test_signature_for_another_nonce_recovers_someone_else(ms: Multi) -> None:
    outer = ms.client(ms.a)
    inner = btc_order(outer)
    nonce = outer.exchange.sender.next_nonce()
    stale = outer.exchange.sign_multi_sig_inner(
        ms.b, inner, multi_sig_user=ms.user, outer_signer=ms.a.address, nonce=nonce - 1
    )
    message = rejected(
        lambda: outer.exchange.multi_sig(ms.user, inner, signatures=[stale], signers=[ms.a], nonce=nonce)
    )
    assert message.startswith("Multi-sig signature 0 is by 0x") and ms.b.address.lower() not in message


def test_outer_signer_not_authorized_is_refused(ms: Multi) -> None:
    outsider = ms.client(ms.d)
    message = rejected(lambda: outsider.exchange.multi_sig(ms.user, btc_order(outsider), signers=[ms.a, ms.b]))
    assert message == (
        f"Outer signer {ms.d.address.lower()} is not an authorized user of multi-sig user {ms.user.lower()} "
        "or an agent of one."
    )
    assert outsider.info.open_orders(ms.user) == ()
    assert ms.fx.engine.nonces.used(ms.d.address) == []  # refused before the nonce was taken


def test_not_a_multi_sig_user_is_refused(ms: Multi) -> None:
    outer = ms.client(ms.a)
    message = rejected(lambda: outer.exchange.multi_sig(ms.d.address, btc_order(outer), signers=[ms.a, ms.b]))
    assert message == f"User {ms.d.address.lower()} is not a multi-sig user."


def test_agent_of_an_authorized_user_may_be_the_outer_signer(ms: Multi) -> None:
    agent = Wallet.generate()
    ms.fx.fund(ms.a.address, 1)  # approving an agent needs a deposit
    ms.client(ms.a).exchange.approve_agent(agent.address, name="desk")
    outer = ms.client(agent, account_address=ms.a.address)
    result = outer.exchange.multi_sig(ms.user, btc_order(outer), signers=[ms.a, ms.c])
    assert isinstance(result.statuses[0], Resting)
    assert result.nonce in ms.fx.engine.nonces.used(agent.address)
    assert result.nonce not in ms.fx.engine.nonces.used(ms.a.address)


# ------------------------------------------------------------------------------------------ converting back
def test_converting_back_with_null(ms: Multi) -> None:
    owner, outer = ms.client(ms.owner), ms.client(ms.a)
    # the owner alone cannot undo the conversion
    assert "is a multi-sig user" in rejected(lambda: owner.exchange.convert_to_multi_sig_user(None, None))
    inner = Exchange.build_action("convert_to_multi_sig_user", "null")
    assert "threshold not met" in rejected(lambda: outer.exchange.multi_sig(ms.user, inner, signers=[ms.a]))
    result = outer.exchange.multi_sig(ms.user, inner, signers=[ms.a, ms.c])
    assert result.response_type == "default"
    assert owner.info.user_to_multi_sig_signers(ms.user) is None
    # a normal account again: its own key trades, multi-sig actions are refused
    assert isinstance(owner.exchange.order("BTC", True, "0.001", 90000).statuses[0], Resting)
    message = rejected(lambda: outer.exchange.multi_sig(ms.user, btc_order(outer), signers=[ms.a, ms.b]))
    assert message == f"User {ms.user.lower()} is not a multi-sig user."


def test_signers_can_be_changed_through_a_multi_sig_action(ms: Multi) -> None:
    outer = ms.client(ms.a)
    signers = json.dumps({"authorizedUsers": sorted([ms.a.address.lower(), ms.d.address.lower()]), "threshold": 1})
    inner = Exchange.build_action("convert_to_multi_sig_user", signers)
    outer.exchange.multi_sig(ms.user, inner, signers=[ms.a, ms.b])
    now = outer.info.user_to_multi_sig_signers(ms.user)
    assert now is not None and now.threshold == 1 and ms.d.address.lower() in now.authorized_users
    # B is no longer authorized; D alone now meets the threshold
    assert "not an authorized user" in rejected(
        lambda: outer.exchange.multi_sig(ms.user, btc_order(outer), signers=[ms.b])
    )
    assert isinstance(outer.exchange.multi_sig(ms.user, btc_order(outer), signers=[ms.d]).statuses[0], Resting)
