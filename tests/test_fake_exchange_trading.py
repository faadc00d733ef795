"""Phase 2 of the fake exchange: signed actions, nonces, agents, the matching engine and its feeds.

Every action is a real signed request (``hyperliquid_client.runtime.signing``) posted over HTTP (or a
WebSocket ``post``); results are checked through ``/info`` and WebSocket subscriptions.  Expected
numbers are derived from the seeded book read back over ``/info``, not from the engine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.signing import Wallet, sign_l1_action, sign_user_signed_action
from hyperliquid_client.testing import FakeExchange

ALICE = Wallet.from_key("0x" + "a1" * 32)
BOB = Wallet.from_key("0x" + "b2" * 32)
AGENT = Wallet.from_key("0x" + "c3" * 32)
STRANGER = Wallet.from_key("0x" + "d4" * 32)
BTC, ETH, PURR = 0, 1, 10000
HASH = re.compile(r"^0x[0-9a-f]{64}$")
_NONCES = itertools.count(int(time.time() * 1000))


def next_nonce() -> int:
    return next(_NONCES)


def wire(
    asset: int, is_buy: bool, px: str, sz: str, tif: str = "Gtc", *, r: bool = False, c: str | None = None
) -> dict:
    order: dict[str, Any] = {"a": asset, "b": is_buy, "p": px, "s": sz, "r": r, "t": {"limit": {"tif": tif}}}
    if c is not None:
        order["c"] = c
    return order


def trigger(asset: int, is_buy: bool, px: str, sz: str, trigger_px: str, tpsl: str, *, market: bool = True) -> dict:
    t = {"trigger": {"isMarket": market, "triggerPx": trigger_px, "tpsl": tpsl}}
    return {"a": asset, "b": is_buy, "p": px, "s": sz, "r": True, "t": t}


class Client:
    """Signs and posts actions for one fake exchange."""

    def __init__(self, fx: FakeExchange, http: httpx.Client, *, mainnet: bool = False) -> None:
        self.fx = fx
        self.http = http
        self.mainnet = mainnet

    def body(
        self,
        wallet: Wallet,
        action: dict,
        *,
        nonce: int | None = None,
        vault: str | None = None,
        expires: int | None = None,
    ) -> dict:
        nonce = next_nonce() if nonce is None else nonce
        sig = sign_l1_action(wallet, action, nonce, vault_address=vault, expires_after=expires, is_mainnet=self.mainnet)
        return {
            "action": action,
            "nonce": nonce,
            "signature": sig.to_wire(),
            "vaultAddress": vault,
            "expiresAfter": expires,
        }

    def post(self, body: dict) -> Any:
        r = self.http.post(self.fx.http_url + "/exchange", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def l1(self, wallet: Wallet, action: dict, **kw: Any) -> Any:
        return self.post(self.body(wallet, action, **kw))

    def user_signed(self, wallet: Wallet, action: dict, *, nonce: int | None = None, chain: str = "Testnet") -> Any:
        spec = ENDPOINTS["exchange." + action["type"]]
        nonce = next_nonce() if nonce is None else nonce
        action = {**action, spec.nonce_key: nonce, "signatureChainId": "0x66eee", "hyperliquidChain": chain}
        sig = sign_user_signed_action(wallet, action, primary_type=spec.primary_type, fields=spec.eip712_fields)
        return self.post({"action": action, "nonce": nonce, "signature": sig.to_wire(), "vaultAddress": None})

    def order(self, wallet: Wallet, *orders: dict, grouping: str = "na", **kw: Any) -> list:
        out = self.l1(wallet, {"type": "order", "orders": list(orders), "grouping": grouping}, **kw)
        assert out["status"] == "ok", out
        return out["response"]["data"]["statuses"]

    def info(self, body: dict) -> Any:
        r = self.http.post(self.fx.http_url + "/info", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def book(self, coin: str = "BTC") -> tuple[list[dict], list[dict]]:
        levels = self.info({"type": "l2Book", "coin": coin})["levels"]
        return levels[0], levels[1]

    def position(self, user: str, coin: str = "BTC") -> Decimal:
        state = self.info({"type": "clearinghouseState", "user": user})
        for p in state["assetPositions"]:
            if p["position"]["coin"] == coin:
                return Decimal(p["position"]["szi"])
        return Decimal(0)


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fx:
        fx.fund(ALICE.address, usdc=100_000)
        fx.fund(BOB.address, usdc=100_000)
        yield fx


@pytest.fixture
def hl(fx: FakeExchange) -> Iterator[Client]:
    with httpx.Client() as http:
        yield Client(fx, http)


# ---------------------------------------------------------------- placing and matching
def test_gtc_below_the_ask_rests_and_shows_everywhere(hl: Client) -> None:
    bids_before, _ = hl.book()
    statuses = hl.order(ALICE, wire(BTC, True, "96000", "0.001", c="0x" + "00" * 15 + "07"))
    oid = statuses[0]["resting"]["oid"]
    assert statuses == [{"resting": {"oid": oid, "cloid": "0x" + "00" * 15 + "07"}}]
    basic = hl.info({"type": "openOrders", "user": ALICE.address})
    assert basic == [
        {
            "coin": "BTC",
            "side": "B",
            "limitPx": "96000.0",
            "sz": "0.001",
            "oid": oid,
            "timestamp": basic[0]["timestamp"],
            "origSz": "0.001",
            "cloid": "0x" + "00" * 15 + "07",
        }
    ]
    front = hl.info({"type": "frontendOpenOrders", "user": ALICE.address})[0]
    assert front["orderType"] == "Limit" and front["tif"] == "Gtc" and front["isTrigger"] is False
    by_oid = hl.info({"type": "orderStatus", "user": ALICE.address, "oid": oid})
    by_cloid = hl.info({"type": "orderStatus", "user": ALICE.address, "oid": "0x" + "00" * 15 + "07"})
    assert by_oid == by_cloid and by_oid["order"]["status"] == "open"
    bids, _ = hl.book()
    assert {"px": "96000.0", "sz": "0.001", "n": 1} in bids
    assert len(bids) == len(bids_before) + 1


def test_crossing_gtc_sweeps_levels_in_price_order(hl: Client) -> None:
    _, asks = hl.book()
    a1, a2 = asks[0], asks[1]
    size = Decimal(a1["sz"]) + Decimal("0.1")
    statuses = hl.order(ALICE, wire(BTC, True, a2["px"].removesuffix(".0"), str(size)))
    filled = statuses[0]["filled"]
    notional = Decimal(a1["px"]) * Decimal(a1["sz"]) + Decimal(a2["px"]) * Decimal("0.1")
    assert Decimal(filled["totalSz"]) == size
    assert abs(Decimal(filled["avgPx"]) - notional / size) < Decimal("0.00000001")
    fills = hl.info({"type": "userFills", "user": ALICE.address})
    assert [f["px"] for f in fills] == [a2["px"], a1["px"]]  # newest first
    assert [Decimal(f["sz"]) for f in fills] == [Decimal("0.1"), Decimal(a1["sz"])]
    assert all(f["crossed"] and f["side"] == "B" and f["oid"] == filled["oid"] for f in fills)
    assert [f["dir"] for f in fills] == ["Open Long", "Open Long"]
    assert [Decimal(f["startPosition"]) for f in fills] == [Decimal(a1["sz"]), Decimal(0)]
    assert len({f["tid"] for f in fills}) == 2 and all(HASH.match(f["hash"]) for f in fills)
    for f in fills:  # taker fee 0.045 %
        assert Decimal(f["fee"]) == (Decimal(f["px"]) * Decimal(f["sz"]) * Decimal("0.00045")).quantize(Decimal("1e-6"))
    _, asks_after = hl.book()
    assert asks_after[0]["px"] == a2["px"]
    assert Decimal(asks_after[0]["sz"]) == Decimal(a2["sz"]) - Decimal("0.1")
    assert hl.position(ALICE.address) == size
    assert hl.info({"type": "orderStatus", "user": ALICE.address, "oid": filled["oid"]})["order"]["status"] == "filled"
    assert hl.info({"type": "openOrders", "user": ALICE.address}) == []


def test_partially_filled_gtc_rests_the_remainder(hl: Client) -> None:
    _, asks = hl.book()
    best = asks[0]
    statuses = hl.order(ALICE, wire(BTC, True, best["px"].removesuffix(".0"), "1"))
    oid = statuses[0]["resting"]["oid"]
    remaining = Decimal(1) - Decimal(best["sz"])
    order = hl.info({"type": "openOrders", "user": ALICE.address})[0]
    assert order["oid"] == oid and Decimal(order["sz"]) == remaining and order["origSz"] == "1.0"
    bids, asks_after = hl.book()
    assert bids[0]["px"] == best["px"] and Decimal(bids[0]["sz"]) == remaining
    assert asks_after[0]["px"] != best["px"]
    assert hl.position(ALICE.address) == Decimal(best["sz"])


def test_two_users_trade_maker_and_taker(hl: Client) -> None:
    hl.fx.market.set_book("BTC", [(96990, 1)], [(97010, 1)])  # a wide book the engine re-imports
    oid = hl.order(ALICE, wire(BTC, False, "97005", "0.01"))[0]["resting"]["oid"]
    _, asks = hl.book()
    assert asks[0] == {"px": "97005.0", "sz": "0.01", "n": 1}
    taken = hl.order(BOB, wire(BTC, True, "97010", "0.004"))[0]["filled"]
    assert taken["totalSz"] == "0.004" and taken["avgPx"] == "97005.0"
    maker = hl.info({"type": "userFills", "user": ALICE.address})[0]
    taker = hl.info({"type": "userFills", "user": BOB.address})[0]
    assert maker["crossed"] is False and taker["crossed"] is True
    assert maker["tid"] == taker["tid"] and maker["oid"] == oid
    assert maker["side"] == "A" and maker["dir"] == "Open Short"
    assert Decimal(maker["fee"]) == (Decimal("97005") * Decimal("0.004") * Decimal("0.00015")).quantize(Decimal("1e-6"))
    assert hl.info({"type": "openOrders", "user": ALICE.address})[0]["sz"] == "0.006"
    hl.order(BOB, wire(BTC, True, "97010", "0.006"))
    assert hl.info({"type": "openOrders", "user": ALICE.address}) == []
    assert hl.info({"type": "orderStatus", "user": ALICE.address, "oid": oid})["order"]["status"] == "filled"
    assert hl.position(ALICE.address) == Decimal("-0.01") and hl.position(BOB.address) == Decimal("0.01")
    # closing half of the short at a lower price realises a profit
    hl.order(BOB, wire(BTC, False, "96995", "0.005"))
    hl.order(ALICE, wire(BTC, True, "96995", "0.005"))
    close = hl.info({"type": "userFills", "user": ALICE.address})[0]
    assert close["dir"] == "Close Short" and Decimal(close["closedPnl"]) == (97005 - 96995) * Decimal("0.005")
    assert hl.position(ALICE.address) == Decimal("-0.005")


def test_mixed_batch_answers_one_status_per_order(hl: Client) -> None:
    bids, asks = hl.book()
    statuses = hl.order(
        ALICE,
        wire(BTC, True, "95000", "0.001"),  # rests
        wire(BTC, True, "95000.5", "0.001"),  # BTC has szDecimals 5: no decimals allowed above 5 sig figs
        wire(BTC, True, "95000", "0.0001"),  # $9.50
        wire(BTC, True, asks[0]["px"].removesuffix(".0"), "0.001", "Alo"),
        wire(BTC, True, "90000", "0.001", "Ioc"),
        wire(BTC, False, "96000", "0.001", r=True),  # no position to reduce
        wire(BTC, True, asks[0]["px"].removesuffix(".0"), "0.001", "Ioc"),
        wire(ETH, True, "3000.05", "0.01"),  # ETH tick: 5 sig figs
        wire(BTC, True, "95000", "0.000001"),  # lot size
    )
    assert "resting" in statuses[0]
    assert statuses[1] == {"error": "Price must be divisible by tick size."}
    assert statuses[2] == {"error": "Order must have minimum value of $10."}
    assert statuses[3] == {
        "error": f"Post only order would have immediately matched, bbo was {bids[0]['px']}@{asks[0]['px']}."
    }
    assert statuses[4] == {"error": "Order could not immediately match against any resting orders."}
    assert statuses[5] == {"error": "Reduce only order would increase position."}
    assert statuses[6]["filled"]["totalSz"] == "0.001"
    assert statuses[7] == {"error": "Price must be divisible by tick size."}
    assert statuses[8] == {"error": "Order has invalid size."}
    history = {h["status"] for h in hl.info({"type": "historicalOrders", "user": ALICE.address})}
    assert {
        "tickRejected",
        "minTradeNtlRejected",
        "badAloPxRejected",
        "iocCancelRejected",
        "reduceOnlyRejected",
    } <= history


def test_ioc_partial_fill_cancels_the_rest(hl: Client) -> None:
    _, asks = hl.book()
    out = hl.order(ALICE, wire(BTC, True, asks[0]["px"].removesuffix(".0"), "5", "Ioc"))[0]
    assert Decimal(out["filled"]["totalSz"]) == Decimal(asks[0]["sz"])
    assert hl.info({"type": "openOrders", "user": ALICE.address}) == []


def test_insufficient_margin(hl: Client) -> None:
    hl.fx.fund(STRANGER.address, usdc=10)
    out = hl.order(STRANGER, wire(BTC, True, "96000", "0.01"))
    assert out == [{"error": "Insufficient margin to place order. asset=0"}]


def test_empty_batch_and_malformed_order() -> None:
    with FakeExchange() as fx, httpx.Client() as http:
        hl = Client(fx, http)
        fx.fund(ALICE.address, usdc=1000)
        assert hl.l1(ALICE, {"type": "order", "orders": [], "grouping": "na"})["status"] == "err"
        bad = hl.body(ALICE, {"type": "order", "orders": [{"a": 0, "b": True}], "grouping": "na"})
        r = http.post(fx.http_url + "/exchange", json=bad)
        assert r.status_code == 422 and "missing field" in r.text


# ---------------------------------------------------------------- cancel and modify
def test_cancel_and_cancel_by_cloid(hl: Client) -> None:
    cloid = "0x" + "ab" * 16
    first = hl.order(ALICE, wire(BTC, True, "95000", "0.001"))[0]["resting"]["oid"]
    hl.order(ALICE, wire(BTC, True, "95001", "0.001", c=cloid))
    out = hl.l1(ALICE, {"type": "cancel", "cancels": [{"a": BTC, "o": first}, {"a": BTC, "o": 1}]})
    assert out == {
        "status": "ok",
        "response": {
            "type": "cancel",
            "data": {"statuses": ["success", {"error": "Order was never placed, already canceled, or filled."}]},
        },
    }
    again = hl.l1(ALICE, {"type": "cancel", "cancels": [{"a": BTC, "o": first}]})
    assert again["response"]["data"]["statuses"] == [{"error": "Order was never placed, already canceled, or filled."}]
    # Bob cannot cancel Alice's order
    by_bob = hl.l1(BOB, {"type": "cancelByCloid", "cancels": [{"asset": BTC, "cloid": cloid}]})
    assert by_bob["response"]["data"]["statuses"][0] == {
        "error": "Order was never placed, already canceled, or filled."
    }
    out = hl.l1(ALICE, {"type": "cancelByCloid", "cancels": [{"asset": BTC, "cloid": cloid}]})
    assert out["response"] == {"type": "cancelByCloid", "data": {"statuses": ["success"]}}
    assert hl.info({"type": "openOrders", "user": ALICE.address}) == []
    assert hl.info({"type": "orderStatus", "user": ALICE.address, "oid": first})["order"]["status"] == "canceled"
    bids, _ = hl.book()
    assert all(b["px"] not in ("95000.0", "95001.0") for b in bids)


def test_modify_and_batch_modify(hl: Client) -> None:
    oid = hl.order(ALICE, wire(BTC, True, "95000", "0.001"))[0]["resting"]["oid"]
    out = hl.l1(ALICE, {"type": "modify", "oid": oid, "order": wire(BTC, True, "95500", "0.002")})
    assert out == {"status": "ok", "response": {"type": "default"}}
    orders = hl.info({"type": "openOrders", "user": ALICE.address})
    assert [(o["limitPx"], o["sz"]) for o in orders] == [("95500.0", "0.002")]
    assert hl.info({"type": "orderStatus", "user": ALICE.address, "oid": oid})["order"]["status"] == "canceled"
    missing = hl.l1(ALICE, {"type": "modify", "oid": oid, "order": wire(BTC, True, "95500", "0.002")})
    assert missing == {"status": "err", "response": "Order was never placed, already canceled, or filled."}
    new_oid = orders[0]["oid"]
    batch = hl.l1(
        ALICE,
        {
            "type": "batchModify",
            "modifies": [
                {"oid": new_oid, "order": wire(BTC, True, "95600", "0.003")},
                {"oid": 12345, "order": wire(BTC, True, "95600", "0.003")},
            ],
        },
    )
    statuses = batch["response"]["data"]["statuses"]
    assert batch["response"]["type"] == "order" and "resting" in statuses[0]
    assert statuses[1] == {"error": "Order was never placed, already canceled, or filled."}
    assert [o["limitPx"] for o in hl.info({"type": "openOrders", "user": ALICE.address})] == ["95600.0"]


# ---------------------------------------------------------------- triggers
def test_stop_market_triggers_when_the_mid_moves(hl: Client) -> None:
    _, asks = hl.book()
    hl.order(ALICE, wire(BTC, True, asks[0]["px"].removesuffix(".0"), "0.01", "Ioc"))
    assert hl.position(ALICE.address) == Decimal("0.01")
    status = hl.order(ALICE, trigger(BTC, False, "90000", "0.01", "96500", "sl"))
    assert status == ["waitingForTrigger"]
    front = hl.info({"type": "frontendOpenOrders", "user": ALICE.address})[0]
    assert front["isTrigger"] is True and front["orderType"] == "Stop Market"
    assert front["triggerCondition"] == "Price below 96500.0" and front["triggerPx"] == "96500.0"
    oid = front["oid"]
    hl.fx.market.set_mid("BTC", 96600)  # not yet
    assert hl.position(ALICE.address) == Decimal("0.01")
    bids, _ = hl.book()
    hl.fx.market.set_mid("BTC", 96400)
    assert hl.position(ALICE.address) == 0
    last = hl.info({"type": "userFills", "user": ALICE.address})[0]
    assert last["oid"] == oid and last["px"] == bids[0]["px"] and last["dir"] == "Close Long"
    statuses = [
        h["status"] for h in hl.info({"type": "historicalOrders", "user": ALICE.address}) if h["order"]["oid"] == oid
    ]
    assert "triggered" in statuses and "filled" in statuses
    assert hl.info({"type": "openOrders", "user": ALICE.address}) == []


def test_take_profit_limit_triggers_on_a_trade_and_tpsl_siblings_cancel(hl: Client) -> None:
    bids, _asks = hl.book()
    hl.order(ALICE, wire(BTC, False, bids[0]["px"].removesuffix(".0"), "0.01", "Ioc"))  # short 0.01
    hl.order(
        ALICE,
        trigger(BTC, True, "96999", "0.01", "96999", "tp", market=False),
        trigger(BTC, True, "99000", "0.01", "98000", "sl"),
        grouping="positionTpsl",
    )
    assert len(hl.info({"type": "openOrders", "user": ALICE.address})) == 2
    # Bob sells through the top bid: the trade at 96999 fires Alice's buy take-profit
    hl.order(BOB, wire(BTC, False, "96999", bids[0]["sz"], "Ioc"))
    hl.order(BOB, wire(BTC, False, "96999", "0.001", "Ioc"))
    open_orders = hl.info({"type": "frontendOpenOrders", "user": ALICE.address})
    assert [o["isTrigger"] for o in open_orders] == [False]  # TP became a resting limit; SL sibling canceled
    history = {
        (h["order"]["orderType"], h["status"]) for h in hl.info({"type": "historicalOrders", "user": ALICE.address})
    }
    assert ("Take Profit Limit", "triggered") in history and ("Stop Market", "siblingFilledCanceled") in history


def test_normal_tpsl_children_wait_for_the_parent_fill(hl: Client) -> None:
    hl.fx.market.set_book("BTC", [(95990, 1)], [(97010, 1)])
    statuses = hl.order(
        ALICE,
        wire(BTC, True, "96000", "0.01"),
        trigger(BTC, False, "99000", "0.01", "99000", "tp", market=False),
        trigger(BTC, False, "90000", "0.01", "95000", "sl"),
        grouping="normalTpsl",
    )
    assert "resting" in statuses[0] and statuses[1:] == ["waitingForFill", "waitingForFill"]
    assert len(hl.info({"type": "openOrders", "user": ALICE.address})) == 1
    hl.order(BOB, wire(BTC, False, "96000", "0.01", "Ioc"))  # fills the parent
    kinds = sorted(o["orderType"] for o in hl.info({"type": "frontendOpenOrders", "user": ALICE.address}))
    assert kinds == ["Stop Market", "Take Profit Limit"]


# ---------------------------------------------------------------- account actions
def test_leverage_twap_schedule_cancel_and_noop() -> None:
    clock = [int(time.time() * 1000)]
    with FakeExchange(clock=lambda: clock[0]) as fx, httpx.Client() as http:
        hl = Client(fx, http)
        fx.fund(ALICE.address, usdc=50_000)
        assert hl.l1(ALICE, {"type": "updateLeverage", "asset": ETH, "isCross": False, "leverage": 7})["status"] == "ok"
        too_high = hl.l1(ALICE, {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 26})
        assert too_high["status"] == "err"
        _, asks = hl.book("ETH")
        hl.order(ALICE, wire(ETH, True, asks[0]["px"].removesuffix(".0"), "1", "Ioc"))
        pos = hl.info({"type": "clearinghouseState", "user": ALICE.address})["assetPositions"][0]["position"]
        assert pos["leverage"]["type"] == "isolated" and pos["leverage"]["value"] == 7
        assert Decimal(pos["marginUsed"]) == (Decimal(pos["positionValue"]) / 7).quantize(Decimal("1e-6"))
        margin = hl.l1(ALICE, {"type": "updateIsolatedMargin", "asset": ETH, "isBuy": True, "ntli": 5_000_000})
        assert margin == {"status": "ok", "response": {"type": "default"}}

        twap = hl.l1(
            ALICE, {"type": "twapOrder", "twap": {"a": BTC, "b": True, "s": "0.1", "r": False, "m": 10, "t": False}}
        )
        twap_id = twap["response"]["data"]["status"]["running"]["twapId"]
        assert twap["response"]["type"] == "twapOrder"
        bad = hl.l1(
            ALICE, {"type": "twapOrder", "twap": {"a": BTC, "b": True, "s": "0.1", "r": False, "m": 1, "t": False}}
        )
        assert bad["response"]["data"]["status"] == {"error": "Invalid TWAP duration: 1 min(s)"}
        cancel = hl.l1(ALICE, {"type": "twapCancel", "a": BTC, "t": twap_id})
        assert cancel["response"] == {"type": "twapCancel", "data": {"status": "success"}}
        again = hl.l1(ALICE, {"type": "twapCancel", "a": BTC, "t": twap_id})
        assert again["response"]["data"]["status"] == {"error": "TWAP was never placed, already canceled, or filled."}

        hl.order(ALICE, wire(BTC, True, "95000", "0.001"), wire(BTC, True, "95001", "0.001"))
        early = hl.l1(ALICE, {"type": "scheduleCancel", "time": clock[0] + 1000})
        assert early["status"] == "err"
        assert hl.l1(ALICE, {"type": "scheduleCancel", "time": clock[0] + 10_000})["status"] == "ok"
        assert fx.engine.run_scheduled() == 0
        clock[0] += 10_001
        assert fx.engine.run_scheduled() == 2
        assert hl.info({"type": "openOrders", "user": ALICE.address}) == []
        assert hl.l1(ALICE, {"type": "noop"}) == {"status": "ok", "response": {"type": "default"}}
        assert hl.info({"type": "userRateLimit", "user": ALICE.address})["nRequestsUsed"] >= 12


def test_transfers_move_balances(hl: Client) -> None:
    def value(user: str) -> Decimal:
        return Decimal(hl.info({"type": "clearinghouseState", "user": user})["marginSummary"]["accountValue"])

    out = hl.user_signed(ALICE, {"type": "usdSend", "destination": BOB.address, "amount": "250.5"})
    assert out == {"status": "ok", "response": {"type": "default"}}
    assert value(ALICE.address) == Decimal("99749.5") and value(BOB.address) == Decimal("100250.5")
    too_much = hl.user_signed(ALICE, {"type": "usdSend", "destination": BOB.address, "amount": "1000000"})
    assert too_much["status"] == "err"

    assert hl.user_signed(ALICE, {"type": "usdClassTransfer", "amount": "1000", "toPerp": False})["status"] == "ok"
    spot = hl.info({"type": "spotClearinghouseState", "user": ALICE.address})["balances"]
    assert spot[0]["coin"] == "USDC" and Decimal(spot[0]["total"]) == 1000
    assert value(ALICE.address) == Decimal("98749.5")

    hl.fx.fund(BOB.address, spot={"PURR": 500})
    token = "PURR:0xc1fb593aeffbeb02f85e0308e9956a90"
    assert (
        hl.user_signed(BOB, {"type": "spotSend", "destination": ALICE.address, "token": token, "amount": "120"})[
            "status"
        ]
        == "ok"
    )
    balances = {
        b["coin"]: Decimal(b["total"])
        for b in hl.info({"type": "spotClearinghouseState", "user": ALICE.address})["balances"]
    }
    assert balances == {"USDC": Decimal(1000), "PURR": Decimal(120)}

    assert hl.user_signed(ALICE, {"type": "withdraw3", "destination": ALICE.address, "amount": "100"})["status"] == "ok"
    assert value(ALICE.address) == Decimal("98649.5")
    ledger = [u["delta"]["type"] for u in hl.info({"type": "userNonFundingLedgerUpdates", "user": ALICE.address})]
    assert ledger == ["deposit", "internalTransfer", "accountClassTransfer", "spotTransfer", "withdraw"]


def test_spot_order_trades_balances(hl: Client) -> None:
    hl.fx.fund(ALICE.address, spot={"USDC": 100})
    _, asks = hl.book("PURR/USDC")
    out = hl.order(ALICE, wire(PURR, True, asks[0]["px"], "100", "Ioc"))
    assert out[0]["filled"]["totalSz"] == "100.0"
    balances = {
        b["coin"]: Decimal(b["total"])
        for b in hl.info({"type": "spotClearinghouseState", "user": ALICE.address})["balances"]
    }
    cost = Decimal(asks[0]["px"]) * 100
    assert balances["PURR"] == 100
    assert balances["USDC"] == 100 - cost - (cost * Decimal("0.0007")).quantize(Decimal("1e-6"))
    fill = hl.info({"type": "userFills", "user": ALICE.address})[0]
    assert fill["coin"] == "PURR/USDC" and fill["dir"] == "Buy"
    broke = hl.order(ALICE, wire(PURR, True, asks[0]["px"], "1000", "Ioc"))
    assert broke == [{"error": "Order has insufficient spot balance to trade"}]


def test_sub_account_and_vault_address(hl: Client) -> None:
    created = hl.l1(ALICE, {"type": "createSubAccount", "name": "desk"})
    sub = created["response"]["data"]
    assert created["response"]["type"] == "createSubAccount" and re.fullmatch(r"0x[0-9a-f]{40}", sub)
    assert (
        hl.l1(ALICE, {"type": "subAccountTransfer", "subAccountUser": sub, "isDeposit": True, "usd": 2_000_000_000})[
            "status"
        ]
        == "ok"
    )
    assert Decimal(hl.info({"type": "clearinghouseState", "user": sub})["marginSummary"]["accountValue"]) == 2000
    oid = hl.order(ALICE, wire(BTC, True, "95000", "0.002"), vault=sub)[0]["resting"]["oid"]
    assert [o["oid"] for o in hl.info({"type": "openOrders", "user": sub})] == [oid]
    assert hl.info({"type": "openOrders", "user": ALICE.address}) == []
    assert hl.info({"type": "userRole", "user": sub}) == {"role": "subAccount", "data": {"master": ALICE.address}}
    listed = hl.info({"type": "subAccounts", "user": ALICE.address})
    assert [(s["name"], s["subAccountUser"], s["master"]) for s in listed] == [("desk", sub, ALICE.address)]
    # Bob is not the master: refused
    refused = hl.l1(BOB, {"type": "order", "orders": [wire(BTC, True, "95000", "0.002")], "grouping": "na"}, vault=sub)
    assert refused["status"] == "err" and sub in refused["response"]
    # a vault led by Bob
    n = next_nonce()  # createVault repeats the request nonce
    vault = hl.l1(BOB, {"type": "createVault", "name": "v", "description": "d", "initialUsd": 100_000_000, "nonce": n},
                  nonce=n)  # fmt: skip
    vault_address = vault["response"]["data"]
    assert vault["response"]["type"] == "createVault"
    assert (
        hl.l1(ALICE, {"type": "vaultTransfer", "vaultAddress": vault_address, "isDeposit": True, "usd": 50_000_000})[
            "status"
        ]
        == "ok"
    )
    assert (
        Decimal(hl.info({"type": "clearinghouseState", "user": vault_address})["marginSummary"]["accountValue"]) == 150
    )
    assert hl.info({"type": "userRole", "user": vault_address}) == {"role": "vault"}
    assert hl.order(BOB, wire(BTC, True, "95000", "0.001"), vault=vault_address)[0]["resting"]


# ---------------------------------------------------------------- signers, agents, nonces
def test_agent_signs_for_its_master(hl: Client) -> None:
    out = hl.user_signed(ALICE, {"type": "approveAgent", "agentAddress": AGENT.address, "agentName": "bot"})
    assert out == {"status": "ok", "response": {"type": "default"}}
    assert hl.info({"type": "userRole", "user": AGENT.address}) == {"role": "agent", "data": {"user": ALICE.address}}
    agents = hl.info({"type": "extraAgents", "user": ALICE.address})
    assert [(a["name"], a["address"]) for a in agents] == [("bot", AGENT.address)]
    oid = hl.order(AGENT, wire(BTC, True, "95000", "0.001"))[0]["resting"]["oid"]
    assert [o["oid"] for o in hl.info({"type": "openOrders", "user": ALICE.address})] == [oid]
    assert hl.info({"type": "openOrders", "user": AGENT.address}) == []
    # nonces are per signer: the same nonce works once for the agent and once for the master
    nonce = next_nonce()
    assert hl.l1(AGENT, {"type": "noop"}, nonce=nonce)["status"] == "ok"
    assert hl.l1(ALICE, {"type": "noop"}, nonce=nonce)["status"] == "ok"
    # an agent cannot sign user-signed actions (it has no account of its own)
    refused = hl.user_signed(AGENT, {"type": "usdSend", "destination": BOB.address, "amount": "1"})
    assert refused == {"status": "err", "response": f"User or API Wallet {AGENT.address} does not exist."}
    # replacing the named agent prunes the old one
    other = Wallet.from_key("0x" + "e5" * 32)
    hl.user_signed(ALICE, {"type": "approveAgent", "agentAddress": other.address, "agentName": "bot"})
    gone = hl.l1(AGENT, {"type": "noop"})
    assert gone == {"status": "err", "response": f"User or API Wallet {AGENT.address} does not exist."}


def test_approve_builder_fee_and_builder_order(hl: Client) -> None:
    builder = BOB.address
    unapproved = hl.l1(
        ALICE,
        {
            "type": "order",
            "orders": [wire(BTC, True, "95000", "0.001")],
            "grouping": "na",
            "builder": {"b": builder, "f": 10},
        },
    )
    assert unapproved["status"] == "err"
    assert (
        hl.user_signed(ALICE, {"type": "approveBuilderFee", "maxFeeRate": "0.01%", "builder": builder})["status"]
        == "ok"
    )
    assert hl.info({"type": "maxBuilderFee", "user": ALICE.address, "builder": builder}) == 10
    _, asks = hl.book()
    action = {
        "type": "order",
        "orders": [wire(BTC, True, asks[0]["px"].removesuffix(".0"), "0.001", "Ioc")],
        "grouping": "na",
        "builder": {"b": builder, "f": 10},
    }
    assert hl.l1(ALICE, action)["status"] == "ok"
    fill = hl.info({"type": "userFills", "user": ALICE.address})[0]
    notional = Decimal(fill["px"]) * Decimal(fill["sz"])
    assert Decimal(fill["builderFee"]) == (notional / 10_000).quantize(Decimal("1e-6"))
    assert Decimal(fill["fee"]) == (notional * Decimal("0.00045")).quantize(Decimal("1e-6")) + Decimal(
        fill["builderFee"]
    )


def test_wrong_signature_recovers_an_unknown_address_and_burns_no_nonce(hl: Client) -> None:
    nonce = next_nonce()
    good = hl.body(ALICE, {"type": "noop"}, nonce=nonce)
    forged = dict(good, action={"type": "order", "orders": [wire(BTC, True, "95000", "0.001")], "grouping": "na"})
    out = hl.post(forged)
    assert out["status"] == "err"
    match = re.fullmatch(r"User or API Wallet (0x[0-9a-f]{40}) does not exist\.", out["response"])
    assert match is not None and match.group(1) != ALICE.address
    assert hl.post(good) == {"status": "ok", "response": {"type": "default"}}


def test_actions_hashed_in_another_key_order_than_the_spec_are_refused(hl: Client) -> None:
    """msgpack hashes keys in the order sent; the exchange hashes its own order, so a reordered action
    can never verify: the fake refuses it, naming where the order differs, and burns no nonce."""
    nonce = next_nonce()
    order = wire(BTC, True, "95000", "0.001")
    reordered = {"type": "order", "grouping": "na", "orders": [order]}
    out = hl.l1(ALICE, reordered, nonce=nonce)
    assert out["status"] == "err"
    assert "keys ['type', 'grouping', 'orders'], expected ['type', 'orders', 'grouping']" in out["response"]
    inner = {"b": True, **{k: v for k, v in order.items() if k != "b"}}
    out = hl.l1(ALICE, {"type": "order", "orders": [inner], "grouping": "na"}, nonce=nonce)
    assert "action.orders[0]: keys" in out["response"]
    assert hl.l1(ALICE, {"type": "noop"}, nonce=nonce) == {"status": "ok", "response": {"type": "default"}}


def test_unknown_and_unfunded_signers(hl: Client) -> None:
    assert hl.l1(STRANGER, {"type": "noop"}) == {
        "status": "err",
        "response": f"User or API Wallet {STRANGER.address} does not exist.",
    }
    hl.fx.fund(STRANGER.address)
    assert hl.l1(STRANGER, {"type": "noop"}) == {
        "status": "err",
        "response": f"Must deposit before performing actions. User: {STRANGER.address}",
    }


def test_duplicate_and_time_window_nonces(hl: Client) -> None:
    nonce = next_nonce()
    assert hl.l1(ALICE, {"type": "noop"}, nonce=nonce)["status"] == "ok"
    assert hl.l1(ALICE, {"type": "noop"}, nonce=nonce) == {
        "status": "err",
        "response": f"Invalid nonce: duplicate nonce {nonce}",
    }
    now = int(time.time() * 1000)
    stale = hl.l1(ALICE, {"type": "noop"}, nonce=now - 3 * 86_400_000)
    future = hl.l1(ALICE, {"type": "noop"}, nonce=now + 2 * 86_400_000)
    assert stale["status"] == future["status"] == "err" and "Invalid nonce" in stale["response"]
    # user-signed: the action's time must equal the body nonce
    spec = ENDPOINTS["exchange.usdSend"]
    action = {"type": "usdSend", "destination": BOB.address, "amount": "1", "time": nonce + 1000}
    action.update(signatureChainId="0x66eee", hyperliquidChain="Testnet")
    sig = sign_user_signed_action(ALICE, action, primary_type=spec.primary_type, fields=spec.eip712_fields)
    mismatch = hl.post({"action": action, "nonce": nonce + 1001, "signature": sig.to_wire(), "vaultAddress": None})
    assert mismatch["status"] == "err" and "nonce" in mismatch["response"]


def test_nonce_too_low_once_the_window_is_full() -> None:
    with FakeExchange(nonce_window=3) as fx, httpx.Client() as http:
        hl = Client(fx, http)
        fx.fund(ALICE.address, usdc=100)
        base = next_nonce() + 10
        for n in (base + 5, base + 7, base + 9):
            assert hl.l1(ALICE, {"type": "noop"}, nonce=n)["status"] == "ok"
        assert hl.l1(ALICE, {"type": "noop"}, nonce=base + 1) == {
            "status": "err",
            "response": f"Invalid nonce: nonce too low {base + 1} < {base + 5}",
        }
        assert hl.l1(ALICE, {"type": "noop"}, nonce=base + 6)["status"] == "ok"  # above the smallest: fine
        assert hl.l1(ALICE, {"type": "noop"}, nonce=base + 5)["status"] == "err"  # evicted, now too low


def test_expires_after(hl: Client) -> None:
    now = int(time.time() * 1000)
    expired = hl.l1(ALICE, {"type": "noop"}, expires=now - 1000)
    assert expired["status"] == "err" and expired["response"].startswith("Action expired")
    assert hl.l1(ALICE, {"type": "noop"}, expires=now + 60_000)["status"] == "ok"


def test_mainnet_fake_refuses_testnet_signatures() -> None:
    with FakeExchange(chain="Mainnet") as fx, httpx.Client() as http:
        fx.fund(ALICE.address, usdc=100)
        testnet, mainnet = Client(fx, http), Client(fx, http, mainnet=True)
        assert "does not exist" in testnet.l1(ALICE, {"type": "noop"})["response"]
        assert mainnet.l1(ALICE, {"type": "noop"})["status"] == "ok"
        wrong_chain = mainnet.user_signed(ALICE, {"type": "usdSend", "destination": BOB.address, "amount": "1"})
        assert "does not exist" in wrong_chain["response"]
        right = mainnet.user_signed(
            ALICE, {"type": "usdSend", "destination": BOB.address, "amount": "1"}, chain="Mainnet"
        )
        assert right["status"] == "ok"


def test_user_fills_by_time_range(hl: Client) -> None:
    _, asks = hl.book()
    hl.order(ALICE, wire(BTC, True, asks[0]["px"].removesuffix(".0"), "0.001", "Ioc"))
    fills = hl.info({"type": "userFills", "user": ALICE.address})
    t = fills[0]["time"]
    assert hl.info({"type": "userFillsByTime", "user": ALICE.address, "startTime": t, "endTime": t}) == fills
    assert hl.info({"type": "userFillsByTime", "user": ALICE.address, "startTime": t + 1}) == []


# ---------------------------------------------------------------- WebSocket feeds
async def _recv_until(ws: websockets.ClientConnection, channel: str, timeout: float = 3.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(left, 0.01)))
        if msg["channel"] == channel:
            return msg["data"]


async def test_ws_sees_order_updates_fills_trades_and_books_after_a_fill() -> None:
    async with FakeExchange(snapshots=False) as fx:
        fx.fund(ALICE.address, usdc=100_000)
        fx.fund(BOB.address, usdc=100_000)
        fx.market.set_book("BTC", [(96990, 1)], [(97010, 1)])
        subs = [
            {"type": "orderUpdates", "user": ALICE.address},
            {"type": "userFills", "user": ALICE.address},
            {"type": "userEvents", "user": ALICE.address},
            {"type": "trades", "coin": "BTC"},
            {"type": "l2Book", "coin": "BTC"},
            {"type": "bbo", "coin": "BTC"},
            {"type": "allMids"},
        ]
        async with websockets.connect(fx.ws_url) as ws, httpx.AsyncClient() as http:
            for sub in subs:
                await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
                assert (await _recv_until(ws, "subscriptionResponse"))["subscription"]["type"] == sub["type"]

            async def post(wallet: Wallet, order: dict) -> Any:
                action = {"type": "order", "orders": [order], "grouping": "na"}
                nonce = next_nonce()
                sig = sign_l1_action(wallet, action, nonce, is_mainnet=False)
                body = {"action": action, "nonce": nonce, "signature": sig.to_wire(), "vaultAddress": None}
                return (await http.post(fx.http_url + "/exchange", json=body)).json()

            rest = await post(ALICE, wire(BTC, False, "97005", "0.01"))
            oid = rest["response"]["data"]["statuses"][0]["resting"]["oid"]
            update = await _recv_until(ws, "orderUpdates")
            assert update[0]["status"] == "open" and update[0]["order"]["oid"] == oid
            book = await _recv_until(ws, "l2Book")
            assert book["coin"] == "BTC" and book["levels"][1][0] == {"px": "97005.0", "sz": "0.01", "n": 1}
            bbo = await _recv_until(ws, "bbo")
            assert bbo["bbo"][1] == {"px": "97005.0", "sz": "0.01", "n": 1}

            await post(BOB, wire(BTC, True, "97005", "0.01", "Ioc"))
            filled = await _recv_until(ws, "orderUpdates")
            assert filled[0]["status"] == "filled" and filled[0]["order"]["oid"] == oid
            trades = await _recv_until(ws, "trades")
            assert trades[0]["px"] == "97005.0" and trades[0]["side"] == "B"
            assert trades[0]["users"] == [BOB.address, ALICE.address] and HASH.match(trades[0]["hash"])
            book = await _recv_until(ws, "l2Book")
            assert book["levels"][1][0]["px"] == "97010.0"
            mids = await _recv_until(ws, "allMids")
            assert mids["mids"]["BTC"] == "97000.0"
            fills = await _recv_until(ws, "userFills")
            assert fills["user"] == ALICE.address and fills["fills"][0]["oid"] == oid
            assert fills["fills"][0]["tid"] == trades[0]["tid"]
            events = await _recv_until(ws, "user")
            assert events == {"fills": fills["fills"]}


async def test_ws_post_action_is_executed() -> None:
    async with FakeExchange() as fx, websockets.connect(fx.ws_url) as ws:
        fx.fund(ALICE.address, usdc=1000)
        action = {"type": "order", "orders": [wire(BTC, True, "95000", "0.001")], "grouping": "na"}
        nonce = next_nonce()
        sig = sign_l1_action(ALICE, action, nonce, is_mainnet=False)
        payload = {"action": action, "nonce": nonce, "signature": sig.to_wire(), "vaultAddress": None}
        await ws.send(json.dumps({"method": "post", "id": 5, "request": {"type": "action", "payload": payload}}))
        reply = await _recv_until(ws, "post")
        assert reply["id"] == 5 and reply["response"]["type"] == "action"
        status = reply["response"]["payload"]["response"]["data"]["statuses"][0]
        assert "resting" in status
        assert fx.state.user(ALICE.address).open_orders[0]["oid"] == status["resting"]["oid"]


def test_the_fake_exchange_starts_and_trades_whatever_the_callers_decimal_context() -> None:
    """A test suite computing with 6 digits and trapped rounding (``decimal.localcontext``) starts the fake exchange
    and trades on it: its start-up and its requests compute in its own context (the first raised ``Rounded`` while
    seeding the market; a request answered HTTP 500)."""
    from decimal import Inexact, Rounded, localcontext

    from hyperliquid_client import Client, ClientConfig, Resting

    with localcontext() as ctx:
        ctx.prec = 6
        ctx.traps[Inexact] = ctx.traps[Rounded] = True
        with FakeExchange() as fx, Client(http_url=fx.http_url, wallet=ALICE, config=ClientConfig(warm=False)) as c:
            fx.fund(ALICE.address, 100_000)
            status = c.exchange.order("BTC", True, "0.01234", 8000.5, tif="Alo").statuses[0]
            assert isinstance(status, Resting)
            (order,) = fx.state.user(ALICE.address).open_orders
            assert (Decimal(order["limitPx"]), Decimal(order["sz"])) == (Decimal("8000.5"), Decimal("0.01234"))
