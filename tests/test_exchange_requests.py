"""Actions built from the spec's request types: shapes the exchange expects, refusals before sending.

Metadata comes from the fake exchange's ``/info``; ``/exchange`` answers are scripted, so what is
pinned here is the action the client builds and posts (and that nothing is posted on bad input).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal, Inexact, Rounded, localcontext
from typing import Any

import attrs
import pytest
from test_exchange_support import KEY_A, exchange_posts, make_rig

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.generated.requests import (
    OutcomeDeployerActivate,
    RegisterAsset,
    RegisterSpot,
    SetOracle,
    SplitOutcome,
    TriggerSpec,
)
from hyperliquid_client.runtime.errors import ApiRejectedError, InvalidInputError
from hyperliquid_client.runtime.exchange import AsyncExchange, Exchange, OrderRequest
from hyperliquid_client.runtime.registry import key_order_problem
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.testing import FakeExchange, ok_answer

DEST = "0x" + "12" * 20
SUB = "0x" + "5a" * 20


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.set_exchange_handler(ok_answer)
        yield fake


@pytest.fixture
def rig(fx: FakeExchange) -> Iterator[Any]:
    fx.clear_requests()
    r = make_rig(fx, Wallet.from_key(KEY_A))
    yield r
    r.close()


def last(fx: FakeExchange) -> dict[str, Any]:
    posts = exchange_posts(fx)
    assert posts, "nothing was posted"
    return posts[-1]


def refused(fx: FakeExchange, call: Any, field: str, fragment: str) -> None:
    before = len(exchange_posts(fx))
    with pytest.raises(InvalidInputError) as info:
        call()
    assert info.value.field == field and fragment in str(info.value), str(info.value)
    assert len(exchange_posts(fx)) == before


def test_every_action_has_a_high_level_method_sync_and_async() -> None:
    actions = [e for e in ENDPOINTS.values() if e.context == "exchange"]
    assert len(actions) == 61
    for endpoint in actions:
        assert endpoint.methods, endpoint.wire
        for name in endpoint.methods:
            assert callable(getattr(Exchange, name)) and callable(getattr(AsyncExchange, name)), name
    for name in (
        "market_open",
        "market_order",
        "market_close",
        "bulk_cancel",
        "approve_agent",
        "resolve_indeterminate",
    ):
        assert callable(getattr(Exchange, name)) and callable(getattr(AsyncExchange, name))


# ------------------------------------------------------------------------------------------- refusals
def test_transfer_amounts_beyond_the_token_decimals_are_refused(rig: Any, fx: FakeExchange) -> None:
    refused(fx, lambda: rig.exchange.usd_send(DEST, Decimal("1e-20")), "amount", "at most 6 decimal places")
    # the smallest float is no float noise of 0: too fine an amount, not "not positive" (the smallest amount named)
    refused(fx, lambda: rig.exchange.usd_send(DEST, 5e-324), "amount", "at most 6 decimal places, got 5e-324 (the sm")
    refused(fx, lambda: rig.exchange.usd_send(DEST, 1e-7), "amount", "(the smallest is 0.000001)")
    refused(fx, lambda: rig.exchange.usd_send(DEST, -1e-7), "amount", "positive USDC amount")
    refused(fx, lambda: rig.exchange.withdraw(DEST, "1.0000001"), "amount", "at most 6 decimal places")
    refused(fx, lambda: rig.exchange.spot_send(DEST, "PURR", "0.000001"), "amount", "at most 5 decimal places")
    rig.exchange.spot_send(DEST, "PURR", "0.00001")  # PURR has weiDecimals 5
    assert last(fx)["action"]["amount"] == "0.00001"
    rig.exchange.usd_send(DEST, 0.1 + 0.2)  # float noise of a 6-decimal amount
    assert last(fx)["action"]["amount"] == "0.3"


def test_leverage_above_the_markets_maximum_is_refused(rig: Any, fx: FakeExchange) -> None:
    refused(fx, lambda: rig.exchange.update_leverage("BTC", 10**9), "leverage", "at most 40 (maxLeverage of BTC)")
    refused(fx, lambda: rig.exchange.update_leverage("ETH", 26), "leverage", "maxLeverage of ETH")
    refused(fx, lambda: rig.exchange.update_leverage("PURR/USDC", 2), "coin", "a perp")
    rig.exchange.update_leverage("BTC", 40)
    assert last(fx)["action"] == {"type": "updateLeverage", "asset": 0, "isCross": True, "leverage": 40}


def test_float_noise_on_prices_and_sizes_is_taken_as_the_value(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.order("SOL", True, 972.36 - 1e-13, 180.1 + 1e-13)  # 972.3599999999999 / 180.10000000000002
    order = last(fx)["action"]["orders"][0]
    assert (order["s"], order["p"]) == ("972.36", "180.1")
    refused(fx, lambda: rig.exchange.order("SOL", True, 972.365, 180.1), "sz", "2 decimal places (lot size 0.01), got")
    # the hint is what round_size() gives (never more than asked), or that the size is under one lot
    refused(fx, lambda: rig.exchange.order("SOL", True, 972.369, 180.1), "sz", "(round_size() gives 972.36)")
    refused(fx, lambda: rig.exchange.order("SOL", True, "999999999999999999.999", 180.1), "sz", "gives 99999999999999")
    refused(fx, lambda: rig.exchange.order("SOL", True, "0.009", 180.1), "sz", "got '0.009' (less than one lot)")
    assert rig.exchange.round_size("SOL", 972.369) == Decimal("972.36")
    refused(fx, lambda: rig.exchange.order("SOL", True, 1, 180.123), "limit_px", "nearest valid price")


def test_a_reduce_only_order_may_have_size_zero(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.order("BTC", False, 0, 90000, reduce_only=True, trigger=TriggerSpec(91000, "sl"))
    assert last(fx)["action"]["orders"][0]["s"] == "0"
    refused(fx, lambda: rig.exchange.order("BTC", False, 0, 90000), "sz", "positive size")


def test_spot_tokens_resolve_from_spot_metadata(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.send_asset(DEST, "", "spot", "USDC", 2)
    assert last(fx)["action"]["token"] == "USDC:0x6d1e7cde53ba9467b783cb7c530ce054"
    refused(fx, lambda: rig.exchange.spot_send(DEST, "NOPE", 1), "token", "listed in spotMeta")


def test_wire_level_mappings_are_rebuilt_in_spec_order_and_unknown_keys_refused(rig: Any, fx: FakeExchange) -> None:
    order = {"t": {"limit": {"tif": "Gtc"}}, "s": "0.001", "r": False, "p": "97000", "b": True, "a": 0}
    rig.exchange.actions.order([order], grouping="na")
    action = last(fx)["action"]
    assert list(action["orders"][0]) == ["a", "b", "p", "s", "r", "t"]
    assert key_order_problem(ENDPOINTS["exchange.order"].action_shape, action) is None
    refused(fx, lambda: rig.exchange.actions.order([{**order, "x": 1}]), "orders[0]", "unknown ['x']")


# ------------------------------------------------------------------------------------------- shapes
def test_agent_send_asset_carries_from_sub_account_and_the_envelope_nonce(fx: FakeExchange) -> None:
    fx.clear_requests()
    r = make_rig(fx, Wallet.from_key(KEY_A), vault=SUB)
    try:
        r.exchange.agent_send_asset(DEST, "spot", "", "USDC", "1.5")
        body = last(fx)
        assert list(body["action"]) == [
            "type", "destination", "sourceDex", "destinationDex", "token", "amount", "fromSubAccount", "nonce",
        ]  # fmt: skip
        assert body["action"]["fromSubAccount"] == SUB and body["action"]["nonce"] == body["nonce"]
        r.exchange.agent_send_asset(DEST, "spot", "", "USDC", "1.5", from_sub_account="")
        assert last(fx)["action"]["fromSubAccount"] == ""
        r.exchange.create_vault("alpha", "a test vault", 100)
        body = last(fx)
        assert body["action"]["initialUsd"] == 100_000_000 and body["action"]["nonce"] == body["nonce"]
    finally:
        r.close()


def test_set_oracle_price_lists_are_sorted_by_coin(rig: Any, fx: FakeExchange) -> None:
    marks = [[["flx:B", "3"], ["flx:A", "4"]]]
    oracle = SetOracle(dex="flx", oracle_pxs={"flx:B": "2", "flx:A": "1.50"}, mark_pxs=marks,
                       external_perp_pxs=[["flx:B", "5"], ["flx:A", "6"]])  # fmt: skip
    rig.exchange.perp_deploy(oracle)
    assert last(fx)["action"] == {
        "type": "perpDeploy",
        "setOracle": {
            "dex": "flx",
            "oraclePxs": [["flx:A", "1.50"], ["flx:B", "2"]],
            "markPxs": [[["flx:A", "4"], ["flx:B", "3"]]],
            "externalPerpPxs": [["flx:A", "6"], ["flx:B", "5"]],
        },
    }
    rig.exchange.actions.perp_deploy({"setOracle": {"dex": "flx", "oraclePxs": [["b", "1"], ["a", "2"]],
                                                    "markPxs": [], "externalPerpPxs": []}})  # fmt: skip
    assert last(fx)["action"]["setOracle"]["oraclePxs"] == [["a", "2"], ["b", "1"]]


def test_deploy_variants_are_typed_records(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.spot_deploy(RegisterSpot(tokens=(3, 0)))
    assert last(fx)["action"] == {"type": "spotDeploy", "registerSpot": {"tokens": [3, 0]}}
    rig.exchange.perp_deploy(RegisterAsset({"coin": "x:A", "sz_decimals": 2, "oracle_px": "1.5", "margin_table_id": 1,
                                            "only_isolated": False}, "x"))  # fmt: skip
    assert list(last(fx)["action"]["registerAsset"]) == ["maxGas", "assetRequest", "dex", "schema"]
    rig.exchange.c_signer_action("unjailSelf")
    assert last(fx)["action"] == {"type": "CSignerAction", "unjailSelf": None}
    refused(fx, lambda: rig.exchange.spot_deploy({"registerSpot": {"tokens": [1]}}), "variant.registerSpot.tokens",
            "a list of 2 values")  # fmt: skip
    refused(fx, lambda: rig.exchange.spot_deploy({"launch": {}}), "variant", "{'registerSpot': ...}")


def test_outcome_actions_have_the_documented_shapes(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.activate_outcome_deployer(OutcomeDeployerActivate("ab"))
    assert last(fx)["action"] == {"type": "activateOutcomeDeployer", "activate": {"venueName": "ab"}}
    rig.exchange.activate_outcome_deployer("deactivate")
    assert last(fx)["action"] == {"type": "activateOutcomeDeployer", "deactivate": None}
    settle = {"outcome": 7, "settleFraction": "1", "nameAndDescription": ["a", "b"], "sideNames": ["Yes", "No"]}
    rig.exchange.outcome_deploy("ab", {"settleOutcome": settle})
    action = last(fx)["action"]
    assert list(action) == ["type", "venue", "operation"]
    assert list(action["operation"]["settleOutcome"]) == [
        "outcome", "settleFraction", "details", "nameAndDescription", "sideNames",
    ]  # fmt: skip
    rig.exchange.user_outcome(SplitOutcome(outcome=3, amount="12.5"))
    assert last(fx)["action"] == {"type": "userOutcome", "splitOutcome": {"outcome": 3, "amount": "12.5"}}


def test_flat_actions(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.authorize_aqav2_role(0, "treasury")
    assert last(fx)["action"] == {"type": "authorizeAqav2Role", "token": 0, "role": "treasury"}
    rig.exchange.hip3_liquidator_transfer("xyz", 1000, True)
    assert last(fx)["action"] == {"type": "hip3LiquidatorTransfer", "dex": "xyz", "ntl": 10**9, "isDeposit": True}
    refused(fx, lambda: rig.exchange.authorize_aqav2_role(0, "admin"), "role", "'technical' or 'treasury'")


def test_optional_keys_are_omitted_unless_given(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.reserve_request_weight(5)
    assert last(fx)["action"] == {"type": "reserveRequestWeight", "weight": 5}
    rig.exchange.reserve_request_weight(5, destination=DEST.upper().replace("0X", "0x"))
    assert last(fx)["action"] == {"type": "reserveRequestWeight", "weight": 5, "destination": DEST}
    rig.exchange.cancel("BTC", 1)
    assert "f" not in last(fx)["action"]
    rig.exchange.cancel_by_cloid("BTC", 1, fast=True)
    assert list(last(fx)["action"]) == ["type", "cancels", "f"] and last(fx)["action"]["f"] is True
    rig.exchange.modify(5, "BTC", True, "0.001", 97000, always_place=True)
    assert list(last(fx)["action"]) == ["type", "modifies", "a"]
    rig.exchange.modify_one(5, "BTC", True, "0.001", 97000)
    assert list(last(fx)["action"]) == ["type", "oid", "order"]
    rig.exchange.twap_order("ETH", True, "1", 10, details={"trigger": {"px": "3000", "above": True}, "stop_px": None})
    assert last(fx)["action"]["details"] == {"t": {"p": "3000", "a": True}, "s": None}


def test_vault_participation(fx: FakeExchange) -> None:
    """The configured vault applies where the official docs list ``vaultAddress`` (and ``borrowLend``,
    from the TypeScript SDK); ``noop`` and the agent abstraction actions take only an explicit one."""
    fx.clear_requests()
    r = make_rig(fx, Wallet.from_key(KEY_A), vault=SUB)
    try:
        r.exchange.borrow_lend("supply", 0, "1")
        r.exchange.noop()
        r.exchange.agent_set_abstraction("u")
        r.exchange.agent_enable_dex_abstraction(vault_address=SUB)
        r.exchange.gossip_priority_bid(0, "1.2.3.4", 10**7)
        assert [b["vaultAddress"] for b in exchange_posts(fx)] == [SUB, None, None, SUB, None]
        with pytest.raises(InvalidInputError, match="vault_address"):
            r.sender.send(ENDPOINTS["exchange.setReferrer"], {"type": "setReferrer", "code": "x"}, vault_address=SUB)
    finally:
        r.close()


def test_convert_to_multi_sig_user_sends_sorted_lowercase_json(rig: Any, fx: FakeExchange) -> None:
    users = ["0x" + "BB" * 20, "0x" + "aa" * 20]
    rig.exchange.convert_to_multi_sig_user(users, 1)
    signers = last(fx)["action"]["signers"]
    assert signers == '{"authorizedUsers": ["0x' + "aa" * 20 + '", "0x' + "bb" * 20 + '"], "threshold": 1}'
    rig.exchange.convert_to_multi_sig_user(None, None)
    assert last(fx)["action"]["signers"] == "null"
    refused(fx, lambda: rig.exchange.convert_to_multi_sig_user(users, 3), "threshold", "at most the number")


def test_requests_take_instances_mappings_or_sequences(rig: Any, fx: FakeExchange) -> None:
    rig.exchange.bulk_orders([OrderRequest("BTC", True, "0.001", 97000),
                              {"coin": "BTC", "is_buy": True, "sz": "0.001", "limit_px": 97000},
                              ("BTC", True, "0.001", 97000)])  # fmt: skip
    first, second, third = last(fx)["action"]["orders"]
    assert first == second == third
    refused(fx, lambda: rig.exchange.bulk_orders([{"coin": "BTC", "side": "buy"}]), "orders[0]", "OrderRequest")
    assert json.dumps(first) == json.dumps({"a": 0, "b": True, "p": "97000", "s": "0.001", "r": False,
                                            "t": {"limit": {"tif": "Gtc"}}})  # fmt: skip


def test_single_element_builders_agree_with_the_batch_builders(rig: Any) -> None:
    """``_hs_<action>`` (what ``order``, ``cancel``, ``cancel_by_cloid`` and ``modify`` build with: their one element,
    not a list of it) gives the action ``_hb_<action>`` gives for a list of that element, or the same error naming
    the method's parameter (``sz``) where the batch names its path (``orders[0].sz``, ``modifies[0].order.sz``)."""
    from hyperliquid_client.generated import requests as r

    rig.exchange.markets.market("BTC")
    ctx = rig.exchange._context(frozenset({"NOPE"}))
    cloid = "0x" + "00" * 15 + "09"
    orders = [
        OrderRequest("BTC", True, "0.01", "97000"),
        OrderRequest("BTC", False, 0.01, 97000.5, tif="Ioc", reduce_only=True, cloid=cloid),
        OrderRequest("BTC", True, "0", "97000", reduce_only=True),
        OrderRequest("BTC", True, "0.01", "90000", trigger=TriggerSpec(91000, "sl", is_market=False)),
        OrderRequest("BTC", True, "0.01", "97000.123"),  # too many decimals
        OrderRequest("BTC", True, "0.000001", "97000"),  # below the lot
        OrderRequest("BTC", "yes", "0.01", "97000"),  # type: ignore[arg-type]
        OrderRequest("BTC", True, "0.01", "97000", tif="Day"),  # type: ignore[arg-type]
        OrderRequest("NOPE", True, "0.01", "97000"),
        OrderRequest("BTC", True, "0.01", "97000", cloid="0x12"),
    ]
    cases: dict[str, tuple[list[Any], list[tuple[Any, ...]]]] = {
        "order": (orders, [("na", None), ({"p": 3}, {"b": DEST, "f": 10}), ("sideways", None)]),
        "cancel": (
            [r.CancelRequest("BTC", 7), r.CancelRequest("BTC", -1), r.CancelRequest("", 7)],
            [(False,), (True,)],
        ),
        "cancel_by_cloid": ([r.CancelByCloidRequest("BTC", cloid), r.CancelByCloidRequest("BTC", "x")], [(False,)]),
        "batch_modify": (
            [r.ModifyRequest(5, o) for o in orders[:5]]
            + [r.ModifyRequest(cloid, orders[0]), r.ModifyRequest(-2, orders[0])],
            [(False,), (True,)],
        ),
    }

    def outcome(build: Any, *args: Any) -> Any:
        try:
            return "ok", build(ctx, *args)
        except Exception as exc:
            return "error", type(exc).__name__, str(exc), getattr(exc, "field", None)

    def as_batch(got: Any, paths: dict[str, str]) -> Any:  # the one-element error as the batch names it
        if got[0] == "ok" or got[3].split(".")[0] not in paths:
            return got
        field = paths[got[3].split(".")[0]] + got[3]
        assert got[2].startswith(f"invalid {got[3]}: ")
        return (*got[:2], f"invalid {field}: " + got[2][len(f"invalid {got[3]}: ") :], field)

    def names(cls: type, prefix: str) -> dict[str, str]:
        return {f.name: prefix for f in attrs.fields(cls)}

    paths = {
        "order": names(OrderRequest, "orders[0]."),
        "cancel": names(r.CancelRequest, "cancels[0]."),
        "cancel_by_cloid": names(r.CancelByCloidRequest, "cancels[0]."),
        "batch_modify": {**names(OrderRequest, "modifies[0].order."), "oid": "modifies[0]."},
    }

    seen = set()
    for name, (elements, extras) in cases.items():
        one, batch = getattr(r, f"_hs_{name}"), getattr(r, f"_hb_{name}")
        for element in elements:
            # what the one-element methods pass: the record's attributes in its plain twin ``_A_<Name>``
            fields = [f.name for f in attrs.fields(type(element))]
            twin = getattr(r, f"_A_{type(element).__name__}")(*[getattr(element, f) for f in fields])
            assert list(type(twin).__slots__) == fields
            for extra in extras:
                got = outcome(one, element, *extra)
                assert as_batch(got, paths[name]) == outcome(batch, [element], *extra), (name, element, extra)
                assert got[0] == "ok" or "[" not in got[3], got  # (a parameter: no index)
                assert got == outcome(one, twin, *extra), (name, element, extra)
                seen.add(got[0])
    assert seen == {"ok", "error"}


def test_a_unit_variant_given_as_its_tag_builds_what_the_variant_reader_builds(rig: Any) -> None:
    """The builders take a tagged union's unit tag (``grouping="na"``) as itself; the variant reader
    (``_hp_Grouping``) gives the same value, and the same error for what is no variant."""
    from hyperliquid_client.generated import requests as r
    from hyperliquid_client.runtime import validate as v

    class Tag(str):
        pass

    rig.exchange.markets.market("BTC")
    ctx = rig.exchange._context(frozenset())
    order = OrderRequest("BTC", True, "0.01", "97000")
    for grouping in ("na", "normalTpsl", "positionTpsl", Tag("na"), {"p": 2}, "sideways", 3):
        try:
            want: Any = v.tagged(r._U_Grouping, *r._hp_Grouping(ctx, "grouping", grouping))
        except InvalidInputError as exc:
            with pytest.raises(InvalidInputError) as info:
                r._hb_order(ctx, [order], grouping, None)
            assert str(info.value) == str(exc)
            continue
        assert r._hb_order(ctx, [order], grouping, None)["grouping"] == want
        assert r._wb_order([{"a": 0, "b": True, "p": "1", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
                           grouping, None)["grouping"] == want  # fmt: skip


def test_a_boolean_or_an_enum_value_given_as_itself_builds_what_its_check_builds(rig: Any) -> None:
    """The builders pass a bool (``is_buy``) and a value of an enum (``tif``) as themselves; anything else goes
    through the check (``_v.boolean``, ``_v.choice``) and is refused naming the same path."""
    from hyperliquid_client.generated import requests as r
    from hyperliquid_client.runtime import validate as v

    class Tag(str):
        pass

    rig.exchange.markets.market("BTC")
    ctx = rig.exchange._context(frozenset())

    def outcome(call: Any) -> Any:
        try:
            return "ok", call()
        except InvalidInputError as exc:
            return "error", str(exc), exc.field

    for is_buy in (True, False, 1, 0, "yes", None):
        built = outcome(lambda b=is_buy: r._hb_order(ctx, [OrderRequest("BTC", b, "0.01", "97000")], "na", None))
        checked = outcome(lambda b=is_buy: v.boolean("orders[0].is_buy", b))
        assert (built[0], built[1]["orders"][0]["b"] if built[0] == "ok" else built[1:]) == (
            checked[0], checked[1] if checked[0] == "ok" else checked[1:]
        )  # fmt: skip
    for tif in ("Gtc", "Ioc", "Alo", "FrontendMarket", Tag("Alo"), "Day", True, 1, None):
        order = OrderRequest("BTC", True, "0.01", "97000", tif=tif)  # type: ignore[arg-type]
        built = outcome(lambda o=order: r._hb_order(ctx, [o], "na", None))
        checked = outcome(lambda t=tif: v.choice("orders[0].tif", t, r._E_Tif))
        got = built[1]["orders"][0]["t"]["limit"]["tif"] if built[0] == "ok" else built[1:]
        assert (built[0], got) == (checked[0], checked[1] if checked[0] == "ok" else checked[1:])


def test_a_build_context_is_made_again_whenever_what_it_holds_changed(rig: Any) -> None:
    """The exchange keeps the last context it built from nothing tried: the same snapshot, vault and user give that
    one; a new snapshot, vault, user or a coin tried give a new context holding them."""
    exchange = rig.exchange
    rig.exchange.markets.market("BTC")
    nothing: frozenset[str] = frozenset()
    first = exchange._context(nothing)
    assert exchange._context(frozenset()) is first
    assert (first.markets, first.vault, first.user) == (
        exchange.markets.snapshot(),
        exchange.sender.vault_address,
        exchange.sender.user_address,
    )
    tried = exchange._context(frozenset({"NOPE"}))
    assert tried is not first and tried.tried == {"NOPE"} and exchange._context(nothing) is first
    saved = exchange.sender.vault_address
    exchange.sender.vault_address = DEST
    try:
        other = exchange._context(nothing)
        assert other is not first and other.vault == DEST and exchange._context(nothing) is other
    finally:
        exchange.sender.vault_address = saved
    back = exchange._context(nothing)
    assert back.vault == saved and back is not other
    exchange.markets.market("@0")  # another piece loaded: another snapshot
    assert exchange._context(nothing).markets is exchange.markets.snapshot() is not back.markets


def test_what_is_refused_and_sent_does_not_depend_on_the_callers_decimal_context(rig: Any, fx: FakeExchange) -> None:
    """A caller whose thread computes with 8 digits and traps rounding (``decimal.localcontext``) gets the same
    refusals, the same wire values and typed errors only: the checks round exactly in their own context (before, a
    36-digit off-lot size passed as valid, ``prec=4`` let ``96000.5`` through, and amounts raised a bare
    ``decimal.InvalidOperation``)."""
    long_size = Decimal("0.000129999999999999999999999999999999")  # 36 decimals: not whole lots of BTC's 0.00001

    def run() -> list[Any]:
        out: list[Any] = []
        refused(fx, lambda: rig.exchange.order("BTC", True, long_size, "97000"), "sz", "(round_size() gives 0.00012)")
        refused(fx, lambda: rig.exchange.order("BTC", True, "0.001", "96000.5"), "limit_px", "5 significant figures")
        refused(
            fx, lambda: rig.exchange.order("BTC", True, "0.001", "90000.9999999999999999999999999999"), "limit_px", ""
        )
        refused(fx, lambda: rig.exchange.usd_send(DEST, "12345.1234567"), "amount", "nearest 12345.123457")
        rig.exchange.usd_send(DEST, "12345.5")
        out.append(last(fx)["action"]["amount"])
        try:  # (the fake may refuse the transfer: what counts is the action built and sent)
            rig.exchange.sub_account_transfer(DEST, True, "12345.654321")
        except ApiRejectedError:
            pass
        out.append(last(fx)["action"]["usd"])
        rig.exchange.market_open("BTC", True, "0.001", slippage="0.0512345678901")
        out.append(last(fx)["action"]["orders"][0]["p"])
        out.append(rig.exchange.round_price("BTC", "96123.456789", direction="up"))
        out.append(rig.exchange.round_size("BTC", "1.234567891234"))
        return out

    plain = run()
    with localcontext() as strict:
        strict.prec = 8
        strict.traps[Inexact] = strict.traps[Rounded] = True
        assert run() == plain
    assert plain[:2] == ["12345.5", 12345654321]
