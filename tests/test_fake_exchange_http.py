"""The fake exchange over HTTP: built-in data, canned data, recording, lifecycle, concurrency."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import httpx
import pytest

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.testing import DESERIALIZE_ERROR, FakeExchange, Reply

USER = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20


@pytest.fixture
def fx():
    with FakeExchange() as fake:
        yield fake


def info(fx: FakeExchange, body: object) -> httpx.Response:
    return httpx.post(fx.http_url + "/info", json=body, timeout=5)


def signed_body(action_type: str = "order", **extra: object) -> dict:
    return {
        "action": {"type": action_type, **extra},
        "nonce": 1_700_000_000_000,
        "signature": {"r": "0x" + "1" * 64, "s": "0x" + "2" * 64, "v": 27},
        "vaultAddress": None,
    }


# ---------------------------------------------------------------- seed data
def _decimals(text: str) -> int:
    exp = Decimal(text).normalize().as_tuple().exponent
    assert isinstance(exp, int)
    return max(0, -exp)


def _sig_figs(text: str) -> int:
    return len(Decimal(text).normalize().as_tuple().digits)


def test_seed_meta_has_the_documented_perps_and_margin_tables(fx: FakeExchange) -> None:
    meta = info(fx, {"type": "meta"}).json()
    by_name = {u["name"]: u for u in meta["universe"]}
    assert by_name["BTC"]["szDecimals"] == 5
    assert by_name["ETH"]["szDecimals"] == 4
    assert by_name["SOL"]["szDecimals"] == 2
    assert len(by_name) >= 5
    table_ids = {t[0] for t in meta["marginTables"]}
    for u in meta["universe"]:
        assert u["marginTableId"] in table_ids
        assert isinstance(u["maxLeverage"], int)


def test_seed_spot_meta_and_asset_ids(fx: FakeExchange) -> None:
    spot = info(fx, {"type": "spotMeta"}).json()
    pairs = {u["name"]: u for u in spot["universe"]}
    tokens = {t["index"]: t for t in spot["tokens"]}
    assert pairs["PURR/USDC"]["index"] == 0
    assert [tokens[i]["name"] for i in pairs["PURR/USDC"]["tokens"]] == ["PURR", "USDC"]
    assert "@1" in pairs and pairs["@1"]["index"] == 1
    assert {t["name"] for t in tokens.values()} >= {"USDC", "PURR"}
    for token in spot["tokens"]:
        assert token["tokenId"].startswith("0x") and len(token["tokenId"]) == 34
    assert info(fx, {"type": "perpDexs"}).json() == [None]


def test_seed_books_respect_tick_and_lot_sizes(fx: FakeExchange) -> None:
    meta = info(fx, {"type": "meta"}).json()
    spot = info(fx, {"type": "spotMeta"}).json()
    mids = info(fx, {"type": "allMids"}).json()
    markets = [(u["name"], u["szDecimals"], 6) for u in meta["universe"]]
    tokens = {t["index"]: t for t in spot["tokens"]}
    markets += [(p["name"], tokens[p["tokens"][0]]["szDecimals"], 8) for p in spot["universe"]]
    for coin, sz_decimals, max_decimals in markets:
        book = info(fx, {"type": "l2Book", "coin": coin}).json()
        bids, asks = book["levels"]
        assert bids and asks, coin
        assert [Decimal(lv["px"]) for lv in bids] == sorted((Decimal(lv["px"]) for lv in bids), reverse=True)
        assert [Decimal(lv["px"]) for lv in asks] == sorted(Decimal(lv["px"]) for lv in asks)
        assert Decimal(bids[0]["px"]) < Decimal(asks[0]["px"])
        for lv in bids + asks:
            px = Decimal(lv["px"])
            assert px == px.to_integral_value() or (
                _sig_figs(lv["px"]) <= 5 and _decimals(lv["px"]) <= max_decimals - sz_decimals
            ), (coin, lv)
            assert _decimals(lv["sz"]) <= sz_decimals, (coin, lv)
            assert isinstance(lv["n"], int) and lv["n"] >= 1
        mid = (Decimal(bids[0]["px"]) + Decimal(asks[0]["px"])) / 2
        assert Decimal(mids[coin]) == mid


def test_asset_contexts_align_with_universes(fx: FakeExchange) -> None:
    meta, ctxs = info(fx, {"type": "metaAndAssetCtxs"}).json()
    assert len(meta["universe"]) == len(ctxs)
    mids = info(fx, {"type": "allMids"}).json()
    for u, ctx in zip(meta["universe"], ctxs, strict=True):
        assert ctx["markPx"] == mids[u["name"]]
        assert isinstance(ctx["funding"], str) and isinstance(ctx["impactPxs"], list)
    spot_meta, spot_ctxs = info(fx, {"type": "spotMetaAndAssetCtxs"}).json()
    assert [c["coin"] for c in spot_ctxs] == [u["name"] for u in spot_meta["universe"]]


def test_l2book_unknown_coin_is_null_and_exchange_status(fx: FakeExchange) -> None:
    r = info(fx, {"type": "l2Book", "coin": "NOPE"})
    assert r.status_code == 200 and r.json() is None
    status = info(fx, {"type": "exchangeStatus"}).json()
    assert isinstance(status["time"], int) and status["specialStatuses"] is None


def test_unseeded_exchange_serves_empty_market() -> None:
    with FakeExchange(seed=False) as fx:
        assert info(fx, {"type": "meta"}).json()["universe"] == []
        assert info(fx, {"type": "allMids"}).json() == {}
        assert info(fx, {"type": "l2Book", "coin": "BTC"}).json() is None
        assert httpx.get(fx.http_url + "/stats/Mainnet/leaderboard").status_code == 404


# ---------------------------------------------------------------- per-user state
def test_unknown_user_gets_empty_state(fx: FakeExchange) -> None:
    ch = info(fx, {"type": "clearinghouseState", "user": USER}).json()
    assert ch["assetPositions"] == [] and ch["marginSummary"]["accountValue"] == "0.0"
    assert isinstance(ch["time"], int)
    assert info(fx, {"type": "spotClearinghouseState", "user": USER}).json() == {"balances": []}
    for type_ in ("openOrders", "frontendOpenOrders", "userFills", "historicalOrders"):
        assert info(fx, {"type": type_, "user": USER}).json() == [], type_
    assert info(fx, {"type": "userFillsByTime", "user": USER, "startTime": 0}).json() == []
    assert info(fx, {"type": "orderStatus", "user": USER, "oid": 5}).json() == {"status": "unknownOid"}
    assert info(fx, {"type": "userRole", "user": USER}).json() == {"role": "missing"}
    assert USER not in fx.state.users()  # reading never creates state


def test_user_state_is_served_per_user(fx: FakeExchange) -> None:
    order = fx.state.add_open_order(
        USER, {"coin": "ETH", "side": "B", "limitPx": "3000.0", "sz": "0.5", "cloid": "0x" + "0" * 31 + "7"}
    )
    fx.state.add_fill(USER, {"coin": "BTC", "px": "97000.0", "sz": "0.1", "side": "B", "time": 1000})
    fx.state.add_fill(USER, {"coin": "BTC", "px": "97001.0", "sz": "0.2", "side": "A", "time": 2000})
    fx.state.user(USER).spot = {"balances": [{"coin": "USDC", "token": 0, "total": "10.0", "hold": "0.0"}]}

    opened = info(fx, {"type": "openOrders", "user": "0x" + USER[2:].upper()}).json()
    assert opened == [
        {
            "coin": "ETH",
            "side": "B",
            "limitPx": "3000.0",
            "sz": "0.5",
            "oid": order["oid"],
            "timestamp": order["timestamp"],
            "origSz": "0.5",
            "cloid": "0x" + "0" * 31 + "7",
        }
    ]
    frontend = info(fx, {"type": "frontendOpenOrders", "user": USER}).json()
    assert frontend[0]["orderType"] == "Limit" and frontend[0]["isTrigger"] is False
    fills = info(fx, {"type": "userFills", "user": USER}).json()
    assert [f["time"] for f in fills] == [2000, 1000]  # newest first
    by_time = info(fx, {"type": "userFillsByTime", "user": USER, "startTime": 1500, "endTime": None}).json()
    assert [f["px"] for f in by_time] == ["97001.0"]
    status = info(fx, {"type": "orderStatus", "user": USER, "oid": order["oid"]}).json()
    assert status["status"] == "order" and status["order"]["status"] == "open"
    by_cloid = info(fx, {"type": "orderStatus", "user": USER, "oid": "0x" + "0" * 31 + "7"}).json()
    assert by_cloid["order"]["order"]["oid"] == order["oid"]
    assert info(fx, {"type": "spotClearinghouseState", "user": USER}).json()["balances"][0]["total"] == "10.0"
    assert info(fx, {"type": "openOrders", "user": OTHER}).json() == []

    assert fx.state.close_order(USER, order["oid"], "canceled")
    assert info(fx, {"type": "openOrders", "user": USER}).json() == []
    status = info(fx, {"type": "orderStatus", "user": USER, "oid": order["oid"]}).json()
    assert status["order"]["status"] == "canceled"
    assert info(fx, {"type": "historicalOrders", "user": USER}).json()[0]["status"] == "canceled"


# ---------------------------------------------------------------- 422 and friends
@pytest.mark.parametrize(
    "body",
    [
        {"type": "noSuchType"},
        {"notype": 1},
        [1, 2],
        "allMids",
        {"type": "l2Book"},
        {"type": "l2Book", "coin": 5},
        {"type": "l2Book", "coin": "BTC", "nSigFigs": 9},
        {"type": "clearinghouseState"},
        {"type": "clearinghouseState", "user": "not-an-address"},
        {"type": "userFillsByTime", "user": USER},
        {"type": "orderStatus", "user": USER, "oid": "abc"},
    ],
)
def test_undeserializable_info_body_is_422_text(fx: FakeExchange, body: object) -> None:
    r = info(fx, body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith(DESERIALIZE_ERROR)


def test_invalid_json_and_wrong_content_type(fx: FakeExchange) -> None:
    r = httpx.post(fx.http_url + "/info", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.text.startswith(DESERIALIZE_ERROR)
    r = httpx.post(fx.http_url + "/info", content=b'{"type":"meta"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    with FakeExchange(require_json_content_type=False) as lenient:
        r = httpx.post(lenient.http_url + "/info", content=b'{"type":"meta"}', headers={"Content-Type": "text/plain"})
        assert r.status_code == 200 and r.json()["universe"]


# ---------------------------------------------------------------- canned data
def test_set_info_value_status_match_and_callable(fx: FakeExchange) -> None:
    fx.set_info("meta", {"universe": []})
    assert info(fx, {"type": "meta"}).json() == {"universe": []}  # overrides the seed

    fx.set_info("vaultDetails", {"name": "generic"})
    fx.set_info("vaultDetails", {"name": "specific"}, match={"vaultAddress": USER})
    assert info(fx, {"type": "vaultDetails", "vaultAddress": OTHER}).json() == {"name": "generic"}
    checksummed = "0x" + USER[2:].upper()
    assert info(fx, {"type": "vaultDetails", "vaultAddress": checksummed}).json() == {"name": "specific"}

    seen: list[dict] = []

    def dynamic(body: dict) -> object:
        seen.append(body)
        return {"echo": body["coin"]}

    fx.set_info("recentTrades", dynamic)
    assert info(fx, {"type": "recentTrades", "coin": "SOL"}).json() == {"echo": "SOL"}
    assert seen == [{"type": "recentTrades", "coin": "SOL"}]

    fx.set_info("userRole", None, status=500)
    r = info(fx, {"type": "userRole", "user": USER})
    assert r.status_code == 500 and r.text == "null"

    fx.set_info("portfolio", lambda body: Reply(status=503, body=b"<html>busy</html>", content_type="text/html"))
    r = info(fx, {"type": "portfolio", "user": USER})
    assert r.status_code == 503 and r.text == "<html>busy</html>"

    def broken(body: dict) -> object:
        raise RuntimeError("boom")

    fx.set_info("delegations", broken)
    r = info(fx, {"type": "delegations", "user": USER})
    assert r.status_code == 500 and "RuntimeError: boom" in r.text


def test_set_info_rejects_bad_arguments(fx: FakeExchange) -> None:
    with pytest.raises(InvalidInputError):
        fx.set_info("", {})
    with pytest.raises(InvalidInputError):
        fx.set_info("meta", {}, status=42)
    with pytest.raises(InvalidInputError):
        fx.set_stats("a/b", {})


def test_explorer_and_stats(fx: FakeExchange) -> None:
    r = httpx.post(fx.http_url + "/explorer", json={"type": "userDetails", "user": USER})
    assert r.json() == {"type": "userDetails", "txs": []}
    r = httpx.post(fx.http_url + "/explorer", json={"type": "txDetails", "hash": "0x" + "0" * 64})
    assert r.json()["type"] == "error"
    fx.set_explorer("blockDetails", {"type": "blockDetails", "blockDetails": {"height": 7}})
    r = httpx.post(fx.http_url + "/explorer", json={"type": "blockDetails", "height": 7})
    assert r.json()["blockDetails"]["height"] == 7
    r = httpx.post(fx.http_url + "/explorer", json={"type": "bogus"})
    assert r.status_code == 422

    assert httpx.get(fx.http_url + "/stats/Mainnet/vaults").json() == []
    fx.set_stats("leaderboard", {"leaderboardRows": [{"ethAddress": USER}]})
    r = httpx.get(fx.http_url + "/stats/Testnet/leaderboard")
    assert r.status_code == 200 and r.json()["leaderboardRows"][0]["ethAddress"] == USER
    assert httpx.get(fx.http_url + "/stats/Devnet/leaderboard").status_code == 404
    assert httpx.get(fx.http_url + "/stats/Mainnet/nothing").status_code == 404
    assert len(fx.requests_for("/stats")) == 4


# ---------------------------------------------------------------- /exchange
def test_exchange_default_canned_and_custom_handler(fx: FakeExchange) -> None:
    url = fx.http_url + "/exchange"
    # Phase 2: the default is the trading engine; an order action without `orders` does not
    # deserialize, and a well-formed one with a made-up signature is refused.
    r = httpx.post(url, json=signed_body())
    assert r.status_code == 422 and "`orders`" in r.text
    r = httpx.post(url, json=signed_body(orders=[], grouping="na"))
    assert r.status_code == 200 and r.json()["status"] == "err"

    fx.set_exchange_response("updateLeverage", {"status": "ok", "response": {"type": "default"}})
    assert httpx.post(url, json=signed_body("updateLeverage")).json()["status"] == "ok"
    assert httpx.post(url, json=signed_body("order", orders=[], grouping="na")).json()["status"] == "err"

    got: list[dict] = []

    async def handler(body: dict) -> object:
        got.append(body)
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 9}}]}}}

    fx.set_exchange_handler(handler)
    r = httpx.post(url, json=signed_body("order", orders=[]))
    assert r.json()["response"]["data"]["statuses"] == [{"resting": {"oid": 9}}]
    assert got[0]["action"] == {"type": "order", "orders": []}
    fx.set_exchange_handler(lambda body: Reply(status=429, payload=None))
    assert httpx.post(url, json=signed_body()).status_code == 429
    fx.set_exchange_handler(None)
    assert httpx.post(url, json=signed_body(orders=[], grouping="na")).json()["status"] == "err"
    assert len(fx.requests_for("/exchange", **{"action.type": "order"})) == 6


@pytest.mark.parametrize(
    "body",
    [
        {"action": {"type": "order"}},
        {"action": {"orders": []}, "nonce": 1, "signature": {"r": "0x1", "s": "0x2", "v": 27}},
        {"action": {"type": "order"}, "nonce": "1", "signature": {"r": "0x1", "s": "0x2", "v": 27}},
        {"action": {"type": "order"}, "nonce": 1, "signature": {"r": "0x1"}},
        {"action": {"type": "order"}, "nonce": 1, "signature": {"r": "0x1", "s": "0x2", "v": 27}, "vaultAddress": 3},
        [],
    ],
)
def test_exchange_bad_envelope_is_422(fx: FakeExchange, body: object) -> None:
    r = httpx.post(fx.http_url + "/exchange", json=body)
    assert r.status_code == 422 and r.text.startswith(DESERIALIZE_ERROR)


# ---------------------------------------------------------------- recording
def test_every_request_is_recorded(fx: FakeExchange) -> None:
    info(fx, {"type": "l2Book", "coin": "BTC"})
    info(fx, {"type": "l2Book", "coin": "ETH"})
    info(fx, {"type": "allMids"})
    httpx.post(fx.http_url + "/info", content=b"{broken", headers={"Content-Type": "application/json"})
    httpx.post(fx.http_url + "/exchange", json=signed_body())
    reqs = fx.requests
    assert [r.path for r in reqs] == ["/info"] * 4 + ["/exchange"]
    assert all(r.method == "POST" for r in reqs)
    assert reqs[0].body == {"type": "l2Book", "coin": "BTC"}
    assert reqs[0].raw == b'{"type":"l2Book","coin":"BTC"}'
    assert reqs[0].headers["Content-Type"] == "application/json"
    assert reqs[3].body is None and reqs[3].raw == b"{broken"
    assert reqs[0].time <= reqs[1].time <= reqs[4].time
    assert [r.body["coin"] for r in fx.requests_for("/info", type="l2Book")] == ["BTC", "ETH"]
    assert len(fx.requests_for("/info", type="l2Book", coin="ETH")) == 1
    assert fx.requests_for("/info", type="meta") == []
    fx.clear_requests()
    assert fx.requests == []


# ---------------------------------------------------------------- lifecycle
def test_explicit_lifecycle_and_port_release() -> None:
    fx = FakeExchange()
    fx.start()
    assert fx.running
    url = fx.http_url
    assert url.startswith("http://127.0.0.1:") and fx.ws_url == url.replace("http", "ws") + "/ws"
    assert info(fx, {"type": "allMids"}).status_code == 200
    fx.stop()
    assert not fx.running
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + "/info", json={"type": "allMids"}, timeout=2)
    fx.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = fx.http_url


async def test_async_lifecycle_runs_on_the_current_loop() -> None:
    async with FakeExchange() as fx:
        async with httpx.AsyncClient() as client:
            r = await client.post(fx.http_url + "/info", json={"type": "meta"})
        assert r.status_code == 200
        assert threading.active_count() >= 1
    assert not fx.running
    fx2 = FakeExchange()
    await fx2.astart()
    await fx2.aclose()
    await fx2.aclose()


def test_two_servers_get_distinct_ports() -> None:
    with FakeExchange() as a, FakeExchange() as b:
        assert a.port != b.port


# ---------------------------------------------------------------- concurrency
async def test_200_concurrent_requests_over_keep_alive_from_several_clients() -> None:
    with FakeExchange() as fx:
        limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
        clients = [httpx.AsyncClient(base_url=fx.http_url, limits=limits, timeout=10) for _ in range(4)]
        coins = ["BTC", "ETH", "SOL", "HYPE", "PURR/USDC"]
        try:
            tasks = [
                clients[i % 4].post("/info", json={"type": "l2Book", "coin": coins[i % len(coins)]}) for i in range(200)
            ]
            responses = await asyncio.gather(*tasks)
        finally:
            for c in clients:
                await c.aclose()
        assert all(r.status_code == 200 for r in responses)
        assert [r.json()["coin"] for r in responses] == [coins[i % len(coins)] for i in range(200)]
        recorded = fx.requests_for("/info", type="l2Book")
        assert len(recorded) == 200
        peers = {r.peer for r in recorded}
        assert len(peers) <= 40  # keep-alive: at most 4 clients x 10 pooled connections


def test_concurrent_threads_mutating_and_reading() -> None:
    with FakeExchange(weight_limit=None) as fx:  # 120 requests of weight 20 at once: past the IP limit
        errors: list[BaseException] = []

        def worker(i: int) -> None:
            try:
                with httpx.Client(base_url=fx.http_url, timeout=10) as client:
                    for j in range(20):
                        fx.set_info("perpCategories", [[f"C{i}", str(j)]], match={"worker": i})
                        r = client.post("/info", json={"type": "perpCategories", "worker": i})
                        assert r.json() == [[f"C{i}", str(j)]]
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(fx.requests_for("/info", type="perpCategories")) == 120


def test_a_client_going_away_mid_request_is_logged_quietly(fx: FakeExchange, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import socket
    import time

    caplog.set_level(logging.DEBUG)
    host, port = fx.http_url.split("//")[1].split(":")
    with socket.create_connection((host, int(port))) as sock:  # promises 1000 bytes, sends 10, goes away
        sock.sendall(
            b"POST /info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"type": "'
        )
    deadline = time.monotonic() + 10
    while "client went away" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "client went away before its request was read" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert info(fx, {"type": "meta"}).status_code == 200  # and it serves on


def test_an_emptied_book_leaves_no_old_mid(fx: FakeExchange) -> None:
    assert "DOGE" in info(fx, {"type": "allMids"}).json()
    fx.market.set_book("DOGE", [], [])
    assert "DOGE" not in info(fx, {"type": "allMids"}).json()
    assert info(fx, {"type": "l2Book", "coin": "DOGE"}).json()["levels"] == [[], []]
    fx.market.set_book("DOGE", [("0.1", "100")], [("0.2", "100")])
    assert info(fx, {"type": "allMids"}).json()["DOGE"] == "0.15"
