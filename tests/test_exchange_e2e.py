"""End to end against the fake exchange's engine: it recovers signers, applies nonce rules and matches.

Place, fill, partial fill, cancel, modify, mixed batch, triggers, transfers, agent signing, vault
address, expired ``expiresAfter``, duplicate nonce and an indeterminate order resolved by cloid.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from test_exchange_support import KEY_A, KEY_B, KEY_C, Rig, exchange_posts, make_async_rig, make_rig

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.config import custom_network
from hyperliquid_client.runtime.errors import ApiRejectedError, IndeterminateError, InvalidInputError
from hyperliquid_client.runtime.exchange import ActionSender, OrderRequest, TriggerSpec
from hyperliquid_client.runtime.results import Filled, OrderError, Resting, Success, TwapRunning, Waiting
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.runtime.transport import HttpTransport
from hyperliquid_client.testing import FakeExchange, Fault

MASTER = Wallet.from_key(KEY_A)
AGENT = Wallet.from_key(KEY_B)
OTHER = Wallet.from_key(KEY_C)
CLOID_1 = "0x" + "0" * 31 + "1"
CLOID_2 = "0x" + "0" * 31 + "2"


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.market.set_book("BTC", [("97000", "0.5"), ("96990", "1")], [("97001", "0.05"), ("97010", "1")])
        fake.fund(MASTER.address, 100_000)
        yield fake


@pytest.fixture
def rig(fx: FakeExchange) -> Iterator[Rig]:
    r = make_rig(fx, MASTER)
    yield r
    r.close()


def open_oids(rig: Rig, user: str) -> list[int]:
    return [o.oid for o in rig.info.open_orders(user)]


def test_place_rest_and_cancel(rig: Rig) -> None:
    result = rig.exchange.order("BTC", True, "0.01", "96000", cloid=CLOID_1)
    (status,) = result.statuses
    assert isinstance(status, Resting) and result.ok
    assert open_oids(rig, MASTER.address) == [status.oid]
    assert rig.exchange.cancel("BTC", status.oid).statuses == (Success(),)
    assert open_oids(rig, MASTER.address) == []
    again = rig.exchange.cancel("BTC", status.oid)
    assert isinstance(again.statuses[0], OrderError) and "never placed" in again.statuses[0].message


def test_fill_and_partial_fill(rig: Rig) -> None:
    filled = rig.exchange.order("BTC", True, "0.02", "97001", tif="Ioc").statuses[0]
    assert isinstance(filled, Filled) and filled.total_sz == Decimal("0.02") and filled.avg_px == Decimal("97001")
    # 0.03 left at 97001; an IOC for 0.1 limited to 97001 fills only that
    partial = rig.exchange.order("BTC", True, "0.1", "97001", tif="Ioc").statuses[0]
    assert isinstance(partial, Filled) and partial.total_sz == Decimal("0.03")
    assert rig.fx.engine.position(MASTER.address, "BTC") == Decimal("0.05")


def test_market_order_fills_through_the_book(rig: Rig) -> None:
    status = rig.exchange.market_order("BTC", True, "0.06", slippage=0.01).statuses[0]
    assert isinstance(status, Filled) and status.total_sz == Decimal("0.06")
    assert Decimal("97001") < status.avg_px <= Decimal("97010")


def test_market_close_closes_the_position(rig: Rig) -> None:
    with pytest.raises(InvalidInputError, match="open position"):
        rig.exchange.market_close("BTC")
    assert isinstance(rig.exchange.market_order("BTC", True, "0.03", slippage=0.01).statuses[0], Filled)
    rig.fx.market.set_book("BTC", [("97000", "1")], [("97001", "1")])
    partial = rig.exchange.market_close("BTC", "0.01", slippage=0.01).statuses[0]
    assert isinstance(partial, Filled) and partial.total_sz == Decimal("0.01")
    assert rig.fx.engine.position(MASTER.address, "BTC") == Decimal("0.02")
    order = exchange_posts(rig.fx)[-1]["action"]["orders"][0]
    assert (order["b"], order["r"], order["t"]) == (False, True, {"limit": {"tif": "Ioc"}})
    rest = rig.exchange.market_close("BTC").statuses[0]
    assert isinstance(rest, Filled) and rest.total_sz == Decimal("0.02")
    assert rig.fx.engine.position(MASTER.address, "BTC") == 0


def test_modify_and_mixed_batch(rig: Rig) -> None:
    result = rig.exchange.bulk_orders(
        [
            OrderRequest("BTC", True, "0.01", "96000", cloid=CLOID_1),
            OrderRequest("BTC", True, "0.0001", "96000"),  # $9.60: below the $10 minimum
            OrderRequest("ETH", False, "0.01", "99999", tif="Alo"),
        ]
    )
    resting, error, eth = result.statuses
    assert isinstance(resting, Resting) and isinstance(eth, Resting)
    assert isinstance(error, OrderError) and "minimum value" in error.message
    assert not result.ok and len(result.errors) == 1  # a partly failed batch is not an exception
    modified = rig.exchange.modify(CLOID_1, "BTC", True, "0.02", "95000").statuses[0]
    assert isinstance(modified, Resting)
    orders = {o.oid: o for o in rig.info.open_orders(MASTER.address)}
    assert modified.oid in orders and orders[modified.oid].limit_px == Decimal("95000")
    assert resting.oid not in orders or resting.oid == modified.oid
    missing = rig.exchange.modify(123456789, "BTC", True, "0.01", "95000").statuses[0]
    assert isinstance(missing, OrderError) and "never placed" in missing.message


def test_trigger_orders_wait(rig: Rig) -> None:
    rig.exchange.order("BTC", True, "0.02", "97001", tif="Ioc")
    result = rig.exchange.bulk_orders(
        [
            OrderRequest("BTC", False, "0.02", "90000", reduce_only=True, trigger=TriggerSpec("91000", "sl")),
            OrderRequest("BTC", False, "0.02", "99000", reduce_only=True,
                         trigger=TriggerSpec("99000", "tp", is_market=False)),
        ],
        grouping="positionTpsl",
    )  # fmt: skip
    assert result.statuses == (Waiting("waitingForTrigger"), Waiting("waitingForTrigger"))
    triggers = [o for o in rig.info.frontend_open_orders(MASTER.address) if o.is_trigger]
    assert {o.trigger_px for o in triggers} == {Decimal("91000"), Decimal("99000")}


def test_twap_and_leverage(rig: Rig) -> None:
    assert rig.exchange.update_leverage("BTC", 10).response_type == "default"
    twap = rig.exchange.twap_order("ETH", True, "1", 10).statuses[0]
    assert isinstance(twap, TwapRunning)
    assert rig.exchange.twap_cancel("ETH", twap.twap_id).statuses == (Success(),)


def test_transfers_between_users(rig: Rig) -> None:
    rig.fx.fund(OTHER.address, 1)
    rig.exchange.usd_send(OTHER.address, "25")
    other = rig.info.clearinghouse_state(OTHER.address)
    assert other.withdrawable == Decimal("26") and other.margin_summary.account_value == Decimal("26")
    assert rig.exchange.usd_class_transfer("10", to_perp=False).response_type == "default"
    with pytest.raises(ApiRejectedError, match="Insufficient balance"):
        rig.exchange.usd_send(OTHER.address, "100000000")


def test_agent_signs_orders_for_its_master(fx: FakeExchange, rig: Rig) -> None:
    agent_rig = make_rig(fx, AGENT, account=MASTER.address)
    try:
        with pytest.raises(ApiRejectedError) as info:  # not approved yet
            agent_rig.exchange.order("BTC", True, "0.01", "96000")
        assert "does not exist" in info.value.server_message and "approve_agent" in str(info.value)
        rig.exchange.approve_agent(AGENT.checksum_address, name="bot")
        status = agent_rig.exchange.order("BTC", True, "0.01", "96000").statuses[0]
        assert isinstance(status, Resting) and open_oids(rig, MASTER.address) == [status.oid]
        with pytest.raises(Exception, match="agent"):  # transfers need the master's own signature
            agent_rig.exchange.usd_send(OTHER.address, "1")
    finally:
        agent_rig.close()


def test_generated_agent_wallet_trades(fx: FakeExchange, rig: Rig) -> None:
    approval = rig.exchange.approve_agent()
    assert approval.agent is not None and approval.result.response_type == "default"
    agent_rig = make_rig(fx, approval.agent, account=MASTER.address)
    try:
        assert isinstance(agent_rig.exchange.order("BTC", True, "0.01", "96000").statuses[0], Resting)
    finally:
        agent_rig.close()


def test_vault_address_acts_for_a_sub_account(fx: FakeExchange, rig: Rig) -> None:
    sub = rig.exchange.create_sub_account("alpha").data
    assert isinstance(sub, str) and sub.startswith("0x")
    rig.exchange.sub_account_transfer(sub, True, 1000)
    status = rig.exchange.order("BTC", True, "0.01", "96000", vault_address=sub).statuses[0]
    assert isinstance(status, Resting)
    assert open_oids(rig, sub) == [status.oid] and open_oids(rig, MASTER.address) == []
    assert exchange_posts(fx)[-1]["vaultAddress"] == sub
    with pytest.raises(ApiRejectedError, match="not the master"):
        rig.exchange.order("BTC", True, "0.01", "96000", vault_address=OTHER.address)


def test_expired_expires_after_is_rejected(rig: Rig) -> None:
    past = int(time.time() * 1000) - 10_000
    with pytest.raises(ApiRejectedError, match="expired"):
        rig.exchange.order("BTC", True, "0.01", "96000", expires_after=past)
    future = int(time.time() * 1000) + 60_000
    assert isinstance(rig.exchange.order("BTC", True, "0.01", "96000", expires_after=future).statuses[0], Resting)


def test_duplicate_nonce_is_rejected(rig: Rig) -> None:
    nonce = rig.sender.next_nonce()
    rig.sender.send(ENDPOINTS["exchange.noop"], {"type": "noop"}, nonce=nonce)
    with pytest.raises(ApiRejectedError, match="duplicate nonce"):
        rig.sender.send(ENDPOINTS["exchange.noop"], {"type": "noop"}, nonce=nonce)


def test_signature_for_the_wrong_chain_is_refused_by_the_server(fx: FakeExchange) -> None:
    # The fake is a testnet; signing for mainnet cannot be detected locally (the signature is valid
    # for what was signed) and the server recovers an unrelated address.
    with HttpTransport() as transport:
        sender = ActionSender(transport, custom_network(fx.http_url, is_mainnet=True), wallet=MASTER)
        with pytest.raises(ApiRejectedError, match="does not exist"):
            sender.send(ENDPOINTS["exchange.noop"], {"type": "noop"})


def test_indeterminate_order_resolved_by_cloid_and_resend_is_safe(fx: FakeExchange, rig: Rig) -> None:
    fx.add_fault("/exchange", Fault.latency(1.0), count=1)
    with pytest.raises(IndeterminateError) as info:
        rig.exchange.bulk_orders([OrderRequest("BTC", True, "0.01", "96000", cloid=CLOID_1)], timeout=0.3)
    err = info.value
    assert err.cloids == (CLOID_1,)
    deadline = time.monotonic() + 5
    while True:
        statuses = rig.exchange.resolve_indeterminate(err)
        if statuses[CLOID_1].status == "order" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert statuses[CLOID_1].status == "order"  # it did execute
    with pytest.raises(IndeterminateError, match="duplicate nonce"):
        rig.exchange.resend(err)  # the same body again: refused, never executed twice
    assert len(open_oids(rig, MASTER.address)) == 1


def test_bad_input_sends_nothing(fx: FakeExchange, rig: Rig) -> None:
    before = len(exchange_posts(fx))
    bad: list[Any] = [
        lambda: rig.exchange.order("NOPE", True, "1", "1"),
        lambda: rig.exchange.order("BTC", True, 0, "97000"),
        lambda: rig.exchange.order("BTC", True, -1, "97000"),
        lambda: rig.exchange.order("BTC", True, float("nan"), "97000"),
        lambda: rig.exchange.order("BTC", True, "0.123456", "97000"),
        lambda: rig.exchange.order("BTC", True, "0.01", "97000.12"),
        lambda: rig.exchange.order("BTC", True, "0.01", "97000", cloid="not-a-cloid"),
        lambda: rig.exchange.usd_send("0x1234", "1"),
        lambda: rig.exchange.vault_transfer("0xZZ" + "0" * 38, True, 1),
    ]
    for call in bad:
        with pytest.raises(InvalidInputError):
            call()
    assert len(exchange_posts(fx)) == before


async def test_async_end_to_end() -> None:
    async with FakeExchange() as fx:
        fx.fund(MASTER.address, 100_000)
        r = make_async_rig(fx, MASTER)
        try:
            status = (await r.exchange.order("ETH", True, "0.01", "2000", cloid=CLOID_2)).statuses[0]
            assert isinstance(status, Resting)
            orders = await r.info.open_orders(MASTER.address)
            assert [o.oid for o in orders] == [status.oid]
            assert (await r.exchange.cancel_by_cloid("ETH", CLOID_2)).statuses == (Success(),)
        finally:
            await r.aclose()
