"""The high-level Exchange: coins to asset ids, exact numbers, options, bad input refused before sending.

Metadata comes from the fake exchange's ``/info`` (its seeded market); ``/exchange`` answers are
scripted so that what is pinned here is the action the client builds and posts.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from test_exchange_support import KEY_A, KEY_B, exchange_posts, make_async_rig, make_rig

from hyperliquid_client.runtime import exchange as exchange_package
from hyperliquid_client.runtime.errors import IndeterminateError, InvalidInputError, MetadataUnavailableError
from hyperliquid_client.runtime.exchange import CancelRequest, ModifyRequest, OrderRequest, TriggerSpec
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.testing import FakeExchange, ok_answer

CLOID = "0x" + "ab" * 16
DEST = "0x" + "12" * 20
PURR = "PURR:0xc1fb593aeffbeb02f85e0308e9956a90"  # the fake exchange's spotMeta token id
XYZ_META = {"universe": [{"name": "xyz:SP500", "szDecimals": 3, "maxLeverage": 20}]}


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.set_exchange_handler(ok_answer)
        fake.set_info("perpDexs", [None, {"name": "xyz", "fullName": "XYZ", "deployer": DEST}])
        fake.set_info("meta", XYZ_META, match={"dex": "xyz"})
        yield fake


@pytest.fixture
def rig(fx: FakeExchange) -> Iterator[Any]:
    fx.clear_requests()
    fx.set_exchange_handler(ok_answer)
    r = make_rig(fx, Wallet.from_key(KEY_A))
    yield r
    r.close()


def last_action(fx: FakeExchange) -> dict[str, Any]:
    posts = exchange_posts(fx)
    assert posts, "nothing was posted"
    return posts[-1]["action"]


# ---------------------------------------------------------------------------------------------- orders
@pytest.mark.parametrize(
    ("sz", "px"),
    [(0.001, 97000), (Decimal("0.00100"), Decimal("97000.0")), ("0.001", "97000"), (0.001, 97000.0)],
)
def test_numbers_become_exact_wire_strings(rig: Any, fx: FakeExchange, sz: Any, px: Any) -> None:
    rig.exchange.order("BTC", True, sz, px)
    action = last_action(fx)
    assert action == {
        "type": "order",
        "orders": [{"a": 0, "b": True, "p": "97000", "s": "0.001", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
        "grouping": "na",
    }


@pytest.mark.parametrize(
    ("coin", "asset", "px", "sz"),
    [("ETH", 1, "3000.5", "0.0101"), ("PURR/USDC", 10000, "0.18123", "100"), ("@1", 10001, "35.123", "1.5"),
     ("HYPE/USDC", 10001, "35.1", "2"), ("xyz:SP500", 110000, "5000.1", "0.123")],
)  # fmt: skip
def test_coins_resolve_to_asset_ids(rig: Any, fx: FakeExchange, coin: str, asset: int, px: str, sz: str) -> None:
    rig.exchange.order(coin, False, sz, px, tif="Alo", cloid=CLOID)
    order = last_action(fx)["orders"][0]
    assert (order["a"], order["p"], order["s"], order["t"], order["c"]) == (
        asset,
        px,
        sz,
        {"limit": {"tif": "Alo"}},
        CLOID,
    )


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"coin": "NOPE"}, "coin", "listed coin"),
        ({"sz": 0}, "sz", "positive size"),
        ({"sz": -1}, "sz", "positive size"),
        ({"sz": float("nan")}, "sz", "finite number"),
        ({"sz": "0.000001"}, "sz", "at most 5 decimal places"),
        ({"px": "97000.5"}, "limit_px", "5 significant figures"),
        ({"px": float("inf")}, "limit_px", "finite number"),
        ({"px": 0}, "limit_px", "positive price"),
        ({"cloid": "0x123"}, "cloid", "32 hex digits"),
        ({"cloid": "0x" + "AB" * 15 + "AG"}, "cloid", "got '0x" + "AB" * 15 + "AG'"),  # shown whole
        ({"sz": "\u0663"}, "sz", "ASCII digits only"),  # an Arabic-Indic 3
        ({"px": "\uff19\uff17\uff10\uff10\uff10"}, "limit_px", "ASCII digits only"),  # full-width 97000
        ({"tif": "Day"}, "tif", "'Gtc'"),
        ({"is_buy": "yes"}, "is_buy", "boolean"),
        ({"trigger": TriggerSpec(96000, "stop")}, "trigger.tpsl", "'tp' or 'sl'"),
        ({"trigger": TriggerSpec("96000.55", "sl")}, "trigger.trigger_px", "significant figures"),
        ({"grouping": "all"}, "grouping", "normalTpsl"),
        ({"builder": {"b": "0x12", "f": 1}}, "builder.b", "address"),
        ({"builder": {"b": DEST, "f": 5000}}, "builder.f", "at most 1000"),
    ],
)
def test_bad_orders_are_refused_before_sending(
    rig: Any, fx: FakeExchange, kwargs: dict[str, Any], field: str, fragment: str
) -> None:
    args = {"coin": "BTC", "is_buy": True, "sz": "0.001", "px": "97000"}
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in args}
    args.update(kwargs)
    with pytest.raises(InvalidInputError) as info:
        rig.exchange.order(args["coin"], args["is_buy"], args["sz"], args["px"], **extra)
    assert info.value.field == field and fragment in str(info.value)
    assert exchange_posts(fx) == []


def test_one_element_methods_name_their_parameters_and_batch_methods_the_element_path(
    rig: Any, fx: FakeExchange
) -> None:
    """An error names what the caller wrote: ``sz`` for ``order``/``modify``/``modify_one`` (whose parameters the
    order's fields are), ``oid`` for ``cancel``; ``orders[1].sz`` for ``bulk_orders``, whose caller wrote a list."""
    ex = rig.exchange
    bad_sz, bad_trigger = "0.000001", TriggerSpec("96000.55", "sl")
    for call, field in [
        (lambda: ex.order("BTC", True, bad_sz, "97000"), "sz"),
        (lambda: ex.order("BTC", True, "0.001", "97000", trigger=bad_trigger), "trigger.trigger_px"),
        (lambda: ex.modify(7, "BTC", True, bad_sz, "97000"), "sz"),
        (lambda: ex.modify(-7, "BTC", True, "0.001", "97000"), "oid"),
        (lambda: ex.modify(7, "BTC", True, "0.001", "97000", cloid="0x12"), "cloid"),
        (lambda: ex.modify(7, "BTC", True, "0.001", "97000", trigger=bad_trigger), "trigger.trigger_px"),
        (lambda: ex.modify_one(7, "BTC", True, bad_sz, "97000"), "sz"),
        (lambda: ex.cancel("BTC", "x"), "oid"),
        (lambda: ex.cancel_by_cloid("BTC", "x"), "cloid"),
        (lambda: ex.bulk_orders([OrderRequest("BTC", True, "0.001", "97000"), OrderRequest("BTC", True, bad_sz, "1")]),
         "orders[1].sz"),
        (lambda: ex.bulk_modify([ModifyRequest(7, OrderRequest("BTC", True, bad_sz, "97000"))]),
         "modifies[0].order.sz"),
        (lambda: ex.bulk_cancel([("BTC", 1), ("BTC", -1)]), "cancels[1].oid"),
        # an unlisted coin, or one of a builder dex the exchange does not list (refused as it loads)
        (lambda: ex.order("NOPE", True, "0.001", "1"), "coin"),
        (lambda: ex.bulk_orders([OrderRequest("BTC", True, "0.001", "1"), OrderRequest("NOPE", True, "1", "1")]),
         "orders[1].coin"),
        (lambda: ex.bulk_orders([OrderRequest("xyz:NOPE", True, "1", "1")]), "orders[0].coin"),
        (lambda: ex.bulk_modify([ModifyRequest(7, OrderRequest("NOPE", True, "1", "1"))]), "modifies[0].order.coin"),
        (lambda: ex.bulk_cancel([("BTC", 1), ("NOPE", 2)]), "cancels[1].coin"),
    ]:  # fmt: skip
        with pytest.raises(InvalidInputError) as info:
            call()
        assert (info.value.field, str(info.value).split(":")[0]) == (field, f"invalid {field}")
    assert exchange_posts(fx) == []


def test_an_upper_case_cloid_is_accepted_sent_lowercase_and_matched_in_the_answer(rig: Any, fx: FakeExchange) -> None:
    upper = "0x" + "AB" * 15 + "CD"
    status = rig.exchange.order("BTC", True, "0.001", "90000", cloid=upper).statuses[0]
    assert last_action(fx)["orders"][0]["c"] == upper.lower() and status.cloid == upper.lower()
    assert rig.exchange.cancel_by_cloid("BTC", upper).ok
    assert last_action(fx)["cancels"][0]["cloid"] == upper.lower()


def test_precision_error_names_the_allowed_precision_and_rounding_helpers_fix_it(rig: Any, fx: FakeExchange) -> None:
    with pytest.raises(InvalidInputError) as info:
        rig.exchange.order("ETH", True, "0.01", "3000.55")
    assert "at most 2 decimal places" in str(info.value) and "nearest valid price" in str(info.value)
    px = rig.exchange.round_price("ETH", "3000.55")
    sz = rig.exchange.round_size("ETH", "0.012345")
    assert (px, sz) == (Decimal("3000.6"), Decimal("0.0123"))
    rig.exchange.order("ETH", True, sz, px)
    assert last_action(fx)["orders"][0]["p"] == "3000.6" and last_action(fx)["orders"][0]["s"] == "0.0123"


def test_trigger_orders_and_groupings(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.bulk_orders(
        [
            OrderRequest("BTC", True, "0.01", "97000", cloid=1),
            OrderRequest("BTC", False, "0.01", "90000", reduce_only=True, trigger=TriggerSpec("91000", "sl")),
            OrderRequest("BTC", False, "0.01", "99000", reduce_only=True,
                         trigger={"trigger_px": 99000, "tpsl": "tp", "is_market": False}),
        ],
        grouping="normalTpsl",
    )  # fmt: skip
    action = last_action(fx)
    assert action["grouping"] == "normalTpsl" and "builder" not in action
    entry, sl, tp = action["orders"]
    assert entry["c"] == "0x" + "0" * 31 + "1"
    assert sl["t"] == {"trigger": {"isMarket": True, "triggerPx": "91000", "tpsl": "sl"}} and sl["r"] is True
    assert tp["t"] == {"trigger": {"isMarket": False, "triggerPx": "99000", "tpsl": "tp"}}
    assert list(sl["t"]["trigger"]) == ["isMarket", "triggerPx", "tpsl"]


def test_builder_fee_only_when_asked(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.order("BTC", True, "0.001", "97000")
    assert "builder" not in last_action(fx)
    rig.exchange.order("BTC", True, "0.001", "97000", builder={"b": "0x" + "AB" * 20, "f": 10})
    action = last_action(fx)
    assert list(action) == ["type", "orders", "grouping", "builder"]
    assert action["builder"] == {"b": "0x" + "ab" * 20, "f": 10}


def test_market_open_is_ioc_at_mid_plus_slippage_rounded_to_tick(rig: Any, fx: FakeExchange) -> None:
    # seeded BTC book 97000 / 97001: mid 97000.5; x1.05 = 101850.525 -> 101851 (integer prices are
    # always valid; 6 digits leave no decimals); x0.95 = 92150.475 -> 92150
    rig.exchange.market_open("BTC", True, "0.001")
    buy = last_action(fx)["orders"][0]
    rig.exchange.market_order("BTC", False, "0.001", slippage=Decimal("0.05"), reduce_only=True)
    sell = last_action(fx)["orders"][0]
    assert (buy["p"], buy["t"]) == ("101851", {"limit": {"tif": "Ioc"}})
    assert (sell["p"], sell["r"]) == ("92150", True)
    rig.exchange.market_open("ETH", True, "0.01", px="3000", slippage=0.01)
    assert last_action(fx)["orders"][0]["p"] == "3030"
    rig.exchange.market_open("ETH", True, "0.01", "3000", 0.02)  # the official SDK's argument order
    assert last_action(fx)["orders"][0]["p"] == "3060"
    assert type(rig.exchange).market_order is type(rig.exchange).market_open  # the older name, same method
    with pytest.raises(InvalidInputError, match="slippage"):
        rig.exchange.market_order("BTC", True, "0.001", slippage=1.5)
    with pytest.raises(MetadataUnavailableError, match="px="):
        rig.exchange.market_order("xyz:SP500", True, "0.1")  # builder-dex coins have no main-dex mid


def test_cancels_and_modifies(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.cancel("ETH", 77)
    assert last_action(fx) == {"type": "cancel", "cancels": [{"a": 1, "o": 77}]}
    rig.exchange.cancel_by_cloid("PURR/USDC", CLOID)
    assert last_action(fx) == {"type": "cancelByCloid", "cancels": [{"asset": 10000, "cloid": CLOID}]}
    rig.exchange.bulk_cancel([("BTC", 1), CancelRequest("ETH", 2)])
    assert last_action(fx)["cancels"] == [{"a": 0, "o": 1}, {"a": 1, "o": 2}]
    with pytest.raises(InvalidInputError, match="cannot mix"):
        rig.exchange.bulk_cancel([("BTC", 1), ("BTC", CLOID)])
    rig.exchange.modify(77, "ETH", True, "0.02", "3001", tif="Alo")
    assert last_action(fx) == {
        "type": "batchModify",
        "modifies": [{"oid": 77, "order": {"a": 1, "b": True, "p": "3001", "s": "0.02", "r": False,
                                             "t": {"limit": {"tif": "Alo"}}}}],
    }  # fmt: skip
    rig.exchange.bulk_modify([ModifyRequest(CLOID, OrderRequest("BTC", False, "0.5", "98000"))])
    assert last_action(fx)["modifies"][0]["oid"] == CLOID
    # by cloid, the new order has a cloid only when cloid= gives one: the official SDK's modify_order signs the same
    rig.exchange.modify(CLOID, "BTC", True, "0.5", "98000")
    assert "c" not in last_action(fx)["modifies"][0]["order"]
    rig.exchange.modify(CLOID, "BTC", True, "0.5", "98000", cloid=CLOID)
    assert last_action(fx)["modifies"][0]["order"]["c"] == CLOID
    count = len(exchange_posts(fx))
    with pytest.raises(InvalidInputError):
        rig.exchange.cancel("BTC", CLOID)
    with pytest.raises(InvalidInputError):
        rig.exchange.modify(-1, "BTC", True, "1", "97000")
    assert len(exchange_posts(fx)) == count


def test_leverage_margin_twap_schedule(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.update_leverage("SOL", 5, is_cross=False)
    assert last_action(fx) == {"type": "updateLeverage", "asset": 2, "isCross": False, "leverage": 5}
    rig.exchange.update_isolated_margin("SOL", "-1.5")
    assert last_action(fx) == {"type": "updateIsolatedMargin", "asset": 2, "isBuy": True, "ntli": -1500000}
    rig.exchange.twap_order("ETH", True, "1.25", 30, randomize=True)
    assert last_action(fx) == {
        "type": "twapOrder",
        "twap": {"a": 1, "b": True, "s": "1.25", "r": False, "m": 30, "t": True},
    }
    rig.exchange.twap_cancel("ETH", 9)
    assert last_action(fx) == {"type": "twapCancel", "a": 1, "t": 9}
    rig.exchange.schedule_cancel(1_900_000_000_000)
    assert last_action(fx) == {"type": "scheduleCancel", "time": 1_900_000_000_000}
    rig.exchange.schedule_cancel()
    assert last_action(fx) == {"type": "scheduleCancel"}
    count = len(exchange_posts(fx))
    for bad in (lambda: rig.exchange.twap_order("ETH", True, "1", 4),
                lambda: rig.exchange.update_isolated_margin("SOL", "0.0000001"),
                lambda: rig.exchange.update_leverage("SOL", 0)):  # fmt: skip
        with pytest.raises(InvalidInputError):
            bad()
    assert len(exchange_posts(fx)) == count


# ---------------------------------------------------------------------------------------------- transfers
def test_transfers(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.usd_send(DEST, 12.5)
    assert last_action(fx)["amount"] == "12.5" and last_action(fx)["destination"] == DEST
    rig.exchange.spot_send(DEST, "PURR", Decimal("1E+2"))  # the token id comes from spotMeta
    assert last_action(fx)["amount"] == "100" and last_action(fx)["token"] == PURR
    rig.exchange.withdraw(DEST, "7")
    assert last_action(fx)["type"] == "withdraw3"
    rig.exchange.vault_transfer(DEST, True, "25.5")
    assert last_action(fx) == {"type": "vaultTransfer", "vaultAddress": DEST, "isDeposit": True, "usd": 25500000}
    rig.exchange.sub_account_transfer(DEST, False, 1)
    assert last_action(fx)["usd"] == 1_000_000 and last_action(fx)["isDeposit"] is False
    rig.exchange.sub_account_spot_transfer(DEST, True, PURR, "3.5")
    assert last_action(fx)["amount"] == "3.5"
    rig.exchange.send_asset(DEST, "", "spot", "USDC:0x6d1e7cde53ba9467b783cb7c530ce054", 2)
    assert last_action(fx)["fromSubAccount"] == ""
    count = len(exchange_posts(fx))
    for bad in (lambda: rig.exchange.usd_send("0xnot-an-address", 1),
                lambda: rig.exchange.usd_send(DEST, 0),
                lambda: rig.exchange.usd_send(DEST, float("nan")),
                lambda: rig.exchange.vault_transfer(DEST, True, "0.0000001"),
                lambda: rig.exchange.withdraw(DEST, -5),
                lambda: rig.exchange.spot_send(DEST, "PURR:0xc4bf3f870c0e9465323c0b6ed28096c2", 1)):  # fmt: skip
        with pytest.raises(InvalidInputError):
            bad()
    assert len(exchange_posts(fx)) == count


def test_sub_account_rules_for_class_transfer_and_send_asset(fx: FakeExchange) -> None:
    fx.clear_requests()
    sub = "0x" + "5a" * 20
    r = make_rig(fx, Wallet.from_key(KEY_A), vault=sub)
    try:
        r.exchange.usd_class_transfer("5", to_perp=True)
        body = exchange_posts(fx)[-1]
        assert body["action"]["amount"] == f"5 subaccount:{sub}" and body["vaultAddress"] is None
        r.exchange.send_asset(DEST, "", "spot", "USDC:0x6d1e7cde53ba9467b783cb7c530ce054", "1")
        assert exchange_posts(fx)[-1]["action"]["fromSubAccount"] == sub
        r.exchange.usd_class_transfer(5, to_perp=False, vault_address=None)
        assert exchange_posts(fx)[-1]["action"]["amount"] == f"5 subaccount:{sub}"
        r.exchange.schedule_cancel()
        assert exchange_posts(fx)[-1]["vaultAddress"] == sub  # vault-capable L1 actions carry it
    finally:
        r.close()


def test_account_settings(rig: Any, fx: FakeExchange) -> None:
    me = Wallet.from_key(KEY_A).address
    rig.exchange.approve_agent(DEST, name="bot valid_until 1900000000000")
    assert last_action(fx)["agentName"] == "bot valid_until 1900000000000"
    rig.exchange.approve_builder_fee(DEST, "0.001%")
    assert last_action(fx)["maxFeeRate"] == "0.001%"
    rig.exchange.convert_to_multi_sig_user([KEY_B_ADDR.upper().replace("0X", "0x"), DEST], 2)
    signers = json.loads(last_action(fx)["signers"])
    assert signers == {"authorizedUsers": sorted([KEY_B_ADDR, DEST]), "threshold": 2}
    assert ", " in last_action(fx)["signers"]  # Python json.dumps spacing, as signed by the SDK
    rig.exchange.user_set_abstraction("unifiedAccount")
    assert last_action(fx)["user"] == me
    rig.exchange.staking_deposit(10**8)
    assert last_action(fx)["wei"] == 10**8
    rig.exchange.token_delegate(DEST, 5, is_undelegate=True)
    assert last_action(fx)["isUndelegate"] is True
    rig.exchange.reserve_request_weight(3)
    rig.exchange.evm_user_modify(True)
    rig.exchange.set_referrer("ABC")
    assert [b["action"]["type"] for b in exchange_posts(fx)[-3:]] == [
        "reserveRequestWeight",
        "evmUserModify",
        "setReferrer",
    ]
    count = len(exchange_posts(fx))
    for bad in (lambda: rig.exchange.approve_builder_fee(DEST, "0.1"),
                lambda: rig.exchange.user_set_abstraction("everything"),
                lambda: rig.exchange.convert_to_multi_sig_user([DEST], 2)):  # fmt: skip
        with pytest.raises(InvalidInputError):
            bad()
    assert len(exchange_posts(fx)) == count


KEY_B_ADDR = Wallet.from_key(KEY_B).address


# ---------------------------------------------------------------------------------------------- uncertainty
def test_resolve_indeterminate_by_cloid(fx: FakeExchange) -> None:
    fx.clear_requests()
    wallet = Wallet.from_key(KEY_A)
    placed = "0x" + "0" * 31 + "7"
    lost = "0x" + "0" * 31 + "8"

    async def slow(body: dict[str, Any]) -> Any:
        fx.state.add_open_order(wallet.address, {"coin": "BTC", "side": "B", "limitPx": "97000", "sz": "0.001",
                                                 "cloid": placed}, publish=False)  # fmt: skip
        await asyncio.sleep(2)
        return ok_answer(body)

    fx.set_exchange_handler(slow)
    r = make_rig(fx, wallet)
    try:
        with pytest.raises(IndeterminateError) as info:
            r.exchange.bulk_orders(
                [OrderRequest("BTC", True, "0.001", "97000", cloid=placed),
                 OrderRequest("BTC", True, "0.001", "96000", cloid=lost)],
                timeout=0.3,
            )  # fmt: skip
        statuses = r.exchange.resolve_indeterminate(info.value)
        assert statuses[placed].status == "order" and statuses[lost].status == "unknownOid"
        with pytest.raises(InvalidInputError, match="cloid"):
            r.exchange.resolve_indeterminate(IndeterminateError("x", nonce=1))
    finally:
        fx.set_exchange_handler(ok_answer)
        r.close()


async def test_async_exchange_builds_the_same_actions(fx: FakeExchange) -> None:
    fx.clear_requests()
    r = make_async_rig(fx, Wallet.from_key(KEY_A))
    try:
        await r.exchange.order("ETH", True, 0.0101, 3000.5, cloid=CLOID)
        await r.exchange.market_open("BTC", True, "0.001")
        await r.exchange.bulk_cancel([("BTC", 1)])
        await r.exchange.usd_class_transfer("2", True)
        with pytest.raises(InvalidInputError):
            await r.exchange.order("NOPE", True, 1, 1)
        actions = [b["action"] for b in exchange_posts(fx)]
        assert actions[0]["orders"][0] == {"a": 1, "b": True, "p": "3000.5", "s": "0.0101", "r": False,
                                           "t": {"limit": {"tif": "Gtc"}}, "c": CLOID}  # fmt: skip
        assert actions[1]["orders"][0]["p"] == "101851"
        assert actions[2] == {"type": "cancel", "cancels": [{"a": 0, "o": 1}]}
        assert actions[3]["amount"] == "2" and len(actions) == 4
    finally:
        await r.aclose()


@pytest.mark.parametrize(
    ("sync_name", "async_name"), [("Exchange", "AsyncExchange"), ("ActionSender", "AsyncActionSender")]
)
def test_sync_and_async_shells_are_one_template(sync_name: str, async_name: str) -> None:
    # no hand-written twins: both shells are generated from one template around the shared sans-I/O core, so they
    # offer the same methods with the same parameters, the async ones awaitable
    sync_cls, async_cls = getattr(exchange_package, sync_name), getattr(exchange_package, async_name)
    assert sync_cls.__module__ == async_cls.__module__ == "hyperliquid_client.generated.exchange"

    def own(cls: type) -> dict[str, Any]:
        return {n: f for n, f in vars(cls).items() if inspect.isfunction(f) and n != "__init__"}

    sync_methods, async_methods = own(sync_cls), own(async_cls)
    assert sync_methods.keys() == async_methods.keys()
    assert {"send", "post", "resend"} <= sync_methods.keys() or {"_send", "market_order"} <= sync_methods.keys()
    for name, method in sync_methods.items():
        twin = async_methods[name]
        assert inspect.iscoroutinefunction(twin) and not inspect.iscoroutinefunction(method), name
        params = [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]
        assert params == [(p.name, p.kind, p.default) for p in inspect.signature(twin).parameters.values()], name


def test_a_market_order_blames_a_mid_the_api_gave_not_the_caller_and_impossible_prices_are_refused() -> None:
    """A negative mid or book price is an answer the library cannot understand (``udecimal`` in the spec); a mid
    that gives no valid price makes ``market_open`` say so and ask for ``px=`` (it blamed a ``px`` the caller never
    gave); the caller's own ``px`` is still refused naming it (found by a tester)."""
    from hyperliquid_client import Client, ClientConfig, InvalidResponseError

    wallet = Wallet.generate()
    with FakeExchange() as fake, Client(http_url=fake.http_url, wallet=wallet, config=ClientConfig(warm=False)) as c:
        fake.fund(wallet.address, 100_000)
        book = c.info.raw("l2Book", coin="BTC")
        mids = c.info.raw("allMids")
        fake.set_info("allMids", {**mids, "BTC": "-5"})
        with pytest.raises(InvalidResponseError, match=r"\$\.BTC"):
            c.info.all_mids()
        book["levels"][0][0]["px"] = "-1"
        fake.set_info("l2Book", book)
        with pytest.raises(InvalidResponseError, match="px"):
            c.info.l2_book("BTC")
        fake.set_info("allMids", {**mids, "BTC": "0"})
        with pytest.raises(MetadataUnavailableError, match=r"mid price of 'BTC' the API gave \(0\).*pass px="):
            c.exchange.market_open("BTC", True, "0.01")
        with pytest.raises(InvalidInputError) as info:
            c.exchange.market_open("BTC", True, "0.01", px=0)
        assert info.value.field == "px"
    assert not [r for r in fake.requests if r.path == "/exchange"]  # (nothing was sent)
