"""Run-time drift: the fake exchange serves answers whose shape no longer matches the spec.

An added field, a removed field, a new enum value, an unknown union variant and a value of the wrong type, over
HTTP (``set_info``) and the WebSocket (``on_subscribe`` / ``publish``): each is reported once per (endpoint, JSON
path, kind) as a ``schema.drift`` event and one log line, with the JSON type of what arrived and never a value that
may be private; ``ClientConfig(drift=...)`` decides what the call does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal, get_args

import pytest

from hyperliquid_client import Client, ClientConfig, ConfigError, InvalidResponseError
from hyperliquid_client.generated import models
from hyperliquid_client.runtime.struct import Unknown
from hyperliquid_client.runtime.ws import DecodeFailed, Message
from hyperliquid_client.testing import FakeExchange

USER = "0x" + "11" * 20
PRIVATE = "0x" + "fe" * 20  # stands for a value that must never reach an event or a log line


def open_order(**changes: Any) -> dict[str, Any]:
    order = {"coin": "BTC", "side": "B", "limitPx": "97000", "sz": "0.001", "oid": 7, "timestamp": 1_700_000_000_000}
    order.update(changes)
    return {k: v for k, v in order.items() if v is not None}


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


def client_for(fx: FakeExchange, drift: Any = "warn") -> Client:
    return Client(http_url=fx.http_url, config=ClientConfig(warm=False, drift=drift))


def drifts_of(client: Client) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    client.events.subscribe(
        "schema.drift", lambda e: seen.append((e["endpoint"], e["path"], e["kind"], e["got"], e["value"]))
    )
    return seen


def drift_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hyperliquid_client.drift"]


# ------------------------------------------------------------------------------------------------ HTTP
def test_an_added_field_is_kept_and_reported_once_without_its_value(
    fx: FakeExchange, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hyperliquid_client.drift")
    fx.set_info("openOrders", [open_order(vault=PRIVATE), open_order(oid=8, vault=PRIVATE)])
    with client_for(fx) as client:
        seen = drifts_of(client)
        first = client.info.open_orders(USER)
        again = client.info.open_orders(USER)
    assert [o.extra for o in first] == [{"vault": PRIVATE}] * 2 and again == first
    assert seen == [("info.openOrders", "$[*].vault", "extra", "string", None)]
    lines = drift_lines(caplog)
    assert len(lines) == 1 and "path=$[*].vault" in lines[0] and "kind=extra" in lines[0]
    assert PRIVATE not in caplog.text


def test_a_removed_field_raises_naming_the_path_and_is_reported(fx: FakeExchange) -> None:
    fx.set_info("openOrders", [open_order(), open_order(oid=None)])
    with client_for(fx) as client:
        seen = drifts_of(client)
        for _ in range(2):
            with pytest.raises(InvalidResponseError) as info:
                client.info.open_orders(USER)
            assert info.value.path == "$[1].oid"
    assert seen == [("info.openOrders", "$[*].oid", "missing", "missing", None)]


def test_a_value_of_the_wrong_type_raises_and_its_type_is_reported_not_the_value(
    fx: FakeExchange, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hyperliquid_client.drift")
    fx.set_info("openOrders", [open_order(limitPx=97123.25)])
    with client_for(fx) as client:
        seen = drifts_of(client)
        with pytest.raises(InvalidResponseError) as info:
            client.info.open_orders(USER)
    assert info.value.path == "$[0].limitPx"
    assert seen == [("info.openOrders", "$[*].limitPx", "type", "number", None)]
    assert "97123.25" not in "".join(drift_lines(caplog))


@pytest.mark.parametrize("mode", ["warn", "strict", "ignore"])
def test_a_new_enum_value_per_drift_setting(fx: FakeExchange, mode: str) -> None:
    fx.set_info("openOrders", [open_order(side="X")])
    with client_for(fx, mode) as client:
        seen = drifts_of(client)
        if mode == "strict":
            with pytest.raises(InvalidResponseError) as info:
                client.info.open_orders(USER)
            assert info.value.path == "$[0].side"
        else:
            assert client.info.open_orders(USER)[0].side == "X"  # kept as received
    expected = [] if mode == "ignore" else [("info.openOrders", "$[*].side", "enum", "string", "X")]
    assert seen == expected


def test_known_enum_values_are_no_drift(fx: FakeExchange) -> None:
    fx.set_info("openOrders", [open_order(side="A"), open_order(side="B")])
    with client_for(fx, "strict") as client:
        seen = drifts_of(client)
        assert [o.side for o in client.info.open_orders(USER)] == ["A", "B"]
    assert seen == []


@pytest.mark.parametrize("mode", ["warn", "strict"])
def test_an_unknown_union_variant(fx: FakeExchange, mode: str) -> None:
    update = {"time": 1, "hash": "0x" + "00" * 32, "delta": {"type": "teleport", "usdc": "5"}}
    fx.set_info("userNonFundingLedgerUpdates", [update])
    with client_for(fx, mode) as client:
        seen = drifts_of(client)
        if mode == "strict":
            with pytest.raises(InvalidResponseError, match=r"\$\[0\]\.delta"):
                client.info.user_non_funding_ledger_updates(USER, 0)
        else:
            delta = client.info.user_non_funding_ledger_updates(USER, 0)[0].delta
            assert delta == Unknown({"type": "teleport", "usdc": "5"})
    assert seen == [("info.userNonFundingLedgerUpdates", "$[*].delta", "variant", "object", "teleport")]


def test_an_unknown_drift_setting_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        Client(http_url="http://127.0.0.1:9", config=ClientConfig(warm=False, drift="loud"))  # type: ignore[arg-type]
    assert info.value.setting == "drift"


# ------------------------------------------------------------------------------------------------ WebSocket
def book(**changes: Any) -> dict[str, Any]:
    levels = [[{"px": "97000", "sz": "1", "n": 1}], [{"px": "97001", "sz": "2", "n": 1}]]
    data = {"coin": "BTC", "time": 1_700_000_000_000, "levels": levels}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def first_then(fx: FakeExchange, kind: str, data: Any) -> Callable[[], None]:
    return fx.on_subscribe(lambda sub: data if sub["type"] == kind else None)


def test_websocket_messages_drift_too(fx: FakeExchange) -> None:
    levels = [[{"px": "97000", "sz": "1", "n": 1, "orders": [PRIVATE]}], [{"px": "97001", "sz": "2", "n": 1}]]
    first_then(fx, "l2Book", book(levels=levels, seq=1))
    with client_for(fx) as client:
        seen = drifts_of(client)
        stream = client.streams.l2_book("BTC")
        item = stream.get(timeout=10)
        assert isinstance(item, Message) and item.data.levels[0][0].extra == {"orders": (PRIVATE,)}
        assert item.data.extra == {"seq": 1}
        fx.publish({"type": "l2Book", "coin": "BTC"}, book(levels=levels, seq=2))  # the same drift again
        assert isinstance(stream.get(timeout=10), Message)
        fx.publish({"type": "l2Book", "coin": "BTC"}, book(time=None))  # a required field is gone
        failed = stream.get(timeout=10)
        assert isinstance(failed, DecodeFailed) and "$.time" in failed.error
        fx.publish({"type": "l2Book", "coin": "BTC"}, book(time="soon"))  # the wrong type
        assert isinstance(stream.get(timeout=10), DecodeFailed)
        fx.publish({"type": "l2Book", "coin": "BTC"}, book())  # the stream goes on
        assert isinstance(stream.get(timeout=10), Message)
        stream.close()
    assert sorted(seen) == sorted(
        [
            ("channel.l2Book", "$.levels[*][*].orders", "extra", "array", None),
            ("channel.l2Book", "$.seq", "extra", "number", None),
            ("channel.l2Book", "$.time", "missing", "missing", None),
            ("channel.l2Book", "$.time", "type", "string", None),
        ]
    )


def test_a_new_enum_value_on_a_stream_is_delivered_and_reported(fx: FakeExchange) -> None:
    trade = {"coin": "ETH", "side": "S", "px": "3500", "sz": "1", "time": 1, "hash": "0x" + "00" * 32, "tid": 5,
             "users": [USER, PRIVATE]}  # fmt: skip
    first_then(fx, "trades", [trade, {**trade, "tid": 6}])
    with client_for(fx) as client:
        seen = drifts_of(client)
        stream = client.streams.trades("ETH")
        item = stream.get(timeout=10)
        stream.close()
    assert isinstance(item, Message) and [t.side for t in item.data] == ["S", "S"]
    assert seen == [("channel.trades", "$[*].side", "enum", "string", "S")]


def test_enums_are_literal_types() -> None:
    assert get_args(models.Side) == ("A", "B")
    assert len(get_args(models.OrderProcessingStatus)) == 32
    assert "Gtc" in get_args(models.Tif) and "Take Profit Market" in get_args(models.OrderType)
    assert "Long > Short" in get_args(models.Direction)
    assert models.Side == Literal["A", "B"]
