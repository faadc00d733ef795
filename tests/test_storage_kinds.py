"""Storable kinds: normalization, natural keys, rejection of bad rows, sources, configuration."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from typing import Any

import pytest

from hyperliquid_client.runtime.errors import ConfigError, StorageError
from hyperliquid_client.runtime.events import CATALOGUE
from hyperliquid_client.runtime.storage import (
    HTTP_SOURCES,
    KINDS,
    WS_SOURCES,
    InvalidRowError,
    MemoryStorage,
    PostgresStorage,
    StorageConfig,
    apply_migrations,
    get_kind,
    migrations_sql,
    rows_from_http,
    rows_from_ws,
)
from tests.datasets import fixtures, owned


def fixture(type_: str) -> dict[str, Any]:
    """The first recording of ``type_`` in the fixture set (``HL_FIXTURES_DIR`` may replace the set)."""
    return fixtures(type_)[0]


FILL = {
    "coin": "BTC",
    "px": "65123.50",
    "sz": "0.00120",
    "side": "B",
    "time": 1700000000123,
    "startPosition": "-0.5",
    "dir": "Close Short",
    "closedPnl": "-1.234567",
    "hash": "0x" + "ab" * 32,
    "oid": 123456789012,
    "crossed": True,
    "fee": "-0.000123",
    "tid": 716095722814130,
    "feeToken": "USDC",
    "twapId": None,
}


def col(kind: str, record: tuple[Any, ...], name: str) -> Any:
    return record[KINDS[kind].column_names.index(name)]


def test_kind_names_are_the_documented_ones() -> None:
    assert set(KINDS) == {"fills", "order_updates", "trades", "funding", "ledger", "candles"}
    with pytest.raises(StorageError, match=r"unknown storage kind 'fill'.*fills"):
        get_kind("fill")


def test_fill_normalizes_decimals_exactly_and_keeps_raw() -> None:
    rec = KINDS["fills"].normalize(FILL, "0xB7B6F3CEA3F66BF525F5D8F965F6DBF6D9B017B2")
    assert col("fills", rec, "user_address") == "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
    px = col("fills", rec, "px")
    assert isinstance(px, Decimal) and str(px) == "65123.50"  # trailing zero kept: exact, not float
    assert str(col("fills", rec, "sz")) == "0.00120"
    assert str(col("fills", rec, "fee")) == "-0.000123"
    assert col("fills", rec, "tid") == 716095722814130
    assert col("fills", rec, "crossed") is True
    assert col("fills", rec, "fill_key") == f"{FILL['hash']}:{FILL['tid']}"
    assert json.loads(col("fills", rec, "raw")) == FILL


def test_fill_without_tid_uses_the_legacy_key() -> None:
    old = {k: v for k, v in FILL.items() if k not in ("tid", "feeToken", "twapId")}
    rec = KINDS["fills"].normalize(old, "u")
    key = col("fills", rec, "fill_key")
    assert key.startswith("legacy:" + FILL["hash"])
    # the same numbers written differently give the same key; another partial fill does not
    same = dict(old, px="65123.5000", sz="0.0012")
    assert col("fills", KINDS["fills"].normalize(same, "u"), "fill_key") == key
    other = dict(old, startPosition="-0.4988")
    assert col("fills", KINDS["fills"].normalize(other, "u"), "fill_key") != key


def test_real_fills_have_distinct_keys() -> None:
    for data in fixtures("userFills"):
        user = data["request"]["user"]
        keys = {col("fills", KINDS["fills"].normalize(f, user), "fill_key") for f in data["response"]}
        assert len(keys) == len(data["response"])


@pytest.mark.parametrize(
    ("row", "user", "field", "reason"),
    [
        ({k: v for k, v in FILL.items() if k != "hash"}, "u", "hash", "required field is missing"),
        (dict(FILL, px="12,5"), "u", "px", "not a finite decimal"),
        (dict(FILL, px="NaN"), "u", "px", "not a finite decimal"),
        (dict(FILL, px=65123.5), "u", "px", "floats are not exact"),
        (dict(FILL, sz=True), "u", "sz", "expected a decimal string"),
        (dict(FILL, oid="x1"), "u", "oid", "expected an integer"),
        (dict(FILL, oid=2**64), "u", "oid", "64-bit range"),
        (dict(FILL, coin="BT\x00C"), "u", "coin", "NUL"),
        (dict(FILL, crossed="yes"), "u", "crossed", "true or false"),
        (FILL, None, "user", "user string is required"),
        (FILL, "", "user", "user string is required"),
        (dict(FILL, extra="a\x00b"), "u", None, "NUL"),
        (dict(FILL, extra=float("nan")), "u", None, "JSON"),
        (dict(FILL, px="1e999999"), "u", "px", "storable range"),
    ],
)
def test_bad_fill_rows_are_rejected_with_the_field_named(row: Any, user: Any, field: Any, reason: str) -> None:
    with pytest.raises(InvalidRowError, match=reason) as info:
        KINDS["fills"].normalize(row, user)
    assert info.value.kind == "fills"
    assert info.value.field == field
    assert isinstance(info.value, StorageError)


def test_non_object_rows_are_rejected() -> None:
    for kind in KINDS.values():
        with pytest.raises(InvalidRowError, match="JSON object"):
            kind.normalize(["not", "an", "object"], "u")
    with pytest.raises(InvalidRowError, match="order"):
        KINDS["order_updates"].normalize({"status": "open", "statusTimestamp": 1}, "u")
    with pytest.raises(InvalidRowError, match="buyer, seller"):
        KINDS["trades"].normalize({"coin": "X", "time": 1, "tid": 1, "side": "B", "px": "1", "sz": "1", "users": ["a"]})
    with pytest.raises(InvalidRowError, match="'funding'"):
        KINDS["funding"].normalize({"time": 1, "hash": "0x", "delta": {"type": "deposit", "usdc": "1"}}, "u")


def test_funding_http_and_ws_shapes_have_the_same_key() -> None:
    http = fixture("userFunding")["response"][0]
    ws = dict(http["delta"], time=http["time"])
    del ws["type"]
    kind = KINDS["funding"]
    user = "0x2Ba553d9F990a3B66b03b2dC0D030dfC1c061036"
    a, b = kind.normalize(http, user), kind.normalize(ws, user.lower())
    assert kind.key_of(a) == kind.key_of(b)
    assert col("funding", a, "usdc") == Decimal(http["delta"]["usdc"])
    assert col("funding", a, "hash") == http["hash"] and col("funding", b, "hash") is None


def test_ledger_key_separates_distinct_updates_in_one_transaction() -> None:
    base = {"time": 1, "hash": "0x" + "0" * 64, "delta": {"type": "spotGenesis", "token": "A", "amount": "1.0"}}
    other = {"time": 1, "hash": "0x" + "0" * 64, "delta": {"type": "spotGenesis", "token": "B", "amount": "1.0"}}
    kind = KINDS["ledger"]
    assert kind.key_of(kind.normalize(base, "u")) != kind.key_of(kind.normalize(other, "u"))
    reordered = {"hash": base["hash"], "delta": {"amount": "1.0", "token": "A", "type": "spotGenesis"}, "time": 1}
    assert kind.key_of(kind.normalize(base, "u")) == kind.key_of(kind.normalize(reordered, "u"))


def test_every_real_ledger_update_normalizes() -> None:
    kind = KINDS["ledger"]
    for data in fixtures("userNonFundingLedgerUpdates"):
        records = [kind.normalize(r, data["request"]["user"]) for r in data["response"]]
        assert len({kind.key_of(r) for r in records}) == len(records)
        for row, record in zip(data["response"], records, strict=True):  # decimals stored exactly
            if "usdc" in row["delta"]:
                assert str(col("ledger", record, "usdc")) == row["delta"]["usdc"]
    data = owned("userNonFundingLedgerUpdates__1")
    deposit = next(
        kind.normalize(r, data["request"]["user"]) for r in data["response"] if r["delta"]["type"] == "deposit"
    )
    assert str(col("ledger", deposit, "usdc")) == "2703997.4500000002"  # not 2703997.45 (a float would lose it)


def test_http_sources_pick_the_storable_rows() -> None:
    fills = fixture("userFills")
    rows = rows_from_http("userFills", fills["response"], user=fills["request"]["user"])
    assert len(rows) == len(fills["response"]) and {r[0] for r in rows} == {"fills"}
    assert all(r[2] == fills["request"]["user"] for r in rows)
    twap = fixture("userTwapSliceFills")
    rows = rows_from_http("userTwapSliceFills", twap["response"], user="u")
    assert [r[1] for r in rows] == [{**x["fill"], "twapId": x["twapId"]} for x in twap["response"]]
    assert all(r[1]["twapId"] is not None for r in rows)  # the slice's id, not the fill's null
    assert rows_from_http("l2Book", {"coin": "BTC"}) == []
    assert set(HTTP_SOURCES.values()) <= set(KINDS)


def test_the_spec_marks_every_storable_source() -> None:
    """The client stores what the spec marks (``storage:``): every marked info endpoint's sample answer yields
    rows of its kind, every channel this module reads is marked with one of the kinds it yields, and nothing else
    is."""
    from hyperliquid_client.generated.registry import CHANNELS, REGISTRY
    from hyperliquid_client.generated.samples import ENDPOINTS

    marked_http = {e.wire: e.storage for e in REGISTRY if e.context == "info" and e.storage}
    assert marked_http and set(marked_http) == set(HTTP_SOURCES)
    for wire, kind in marked_http.items():
        rows = rows_from_http(wire, ENDPOINTS[f"info.{wire}"]["response"], user="u")
        assert rows and {r[0] for r in rows} == {kind}, wire
    unmarked = [e.wire for e in REGISTRY if e.context == "info" and not e.storage]
    assert unmarked and all(rows_from_http(w, ENDPOINTS[f"info.{w}"]["response"]) == [] for w in unmarked)
    marked_ws = {c.wire: c.storage for c in CHANNELS.values() if c.storage}
    assert set(marked_ws) == set(WS_SOURCES) - {"user"}  # ``user``: the data channel of userEvents
    assert all(kind in WS_SOURCES[wire] for wire, kind in marked_ws.items())


def test_ws_sources_pick_the_storable_rows() -> None:
    def data_of(name: str) -> tuple[str, Any, dict[str, Any]]:
        fx = fixture(name)
        msg = fx["response"][-1]
        return msg["channel"], msg["data"], fx["request"]["subscription"]

    channel, data, sub = data_of("ws_orderUpdates")
    assert rows_from_ws(channel, data, user=sub["user"]) == [("order_updates", x, sub["user"]) for x in data]
    channel, data, _ = data_of("ws_candle")
    assert rows_from_ws(channel, data) == [("candles", data, None)]
    channel, data, sub = data_of("ws_userEvents")
    assert channel == "user"
    assert rows_from_ws(channel, data, user=sub["user"]) == [("fills", x, sub["user"]) for x in data["fills"]]
    channel, data, sub = data_of("ws_userTwapSliceFills")
    rows = rows_from_ws(channel, data)
    assert rows and all(k == "fills" and u == sub["user"] for k, _, u in rows)
    assert rows_from_ws("user", {"funding": {"time": 1, "coin": "X", "usdc": "1"}}, user="u") == [
        ("funding", {"time": 1, "coin": "X", "usdc": "1"}, "u")
    ]
    assert rows_from_ws("l2Book", {"coin": "BTC"}) == []
    assert {k for kinds in WS_SOURCES.values() for k in kinds} == set(KINDS)


def test_config_defaults_and_validation() -> None:
    assert StorageConfig().resolved_backend == "memory"
    assert StorageConfig(dsn="host=x").resolved_backend == "postgres"
    with pytest.raises(ConfigError, match="dsn"):
        StorageConfig(backend="postgres")
    with pytest.raises(ConfigError, match="overflow"):
        StorageConfig(overflow="spill")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="batch_size"):
        StorageConfig(batch_size=0)
    with pytest.raises(ConfigError, match="max_buffer"):
        StorageConfig(max_buffer=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="retry_max"):
        StorageConfig(retry_base=2.0, retry_max=1.0)
    with pytest.raises(ConfigError, match="flush_interval"):
        StorageConfig(flush_interval=-1)


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://hl:s3cr3t-pw@db.example:5432/hl", "host=db user=hl password=s3cr3t-pw dbname=hl"],
)
def test_dsn_password_never_in_repr(dsn: str) -> None:
    text = repr(StorageConfig(dsn=dsn))
    assert "s3cr3t-pw" not in text
    assert "***" in text


def test_storage_events_are_catalogued() -> None:
    for name in ("storage.write", "storage.flush", "storage.retry", "storage.drop", "storage.reject"):
        assert name in CATALOGUE


def test_schema_sql_creates_every_kind_table() -> None:
    sql = migrations_sql()
    for kind in KINDS.values():
        assert f"CREATE TABLE IF NOT EXISTS {kind.table} (" in sql
    assert "hl_schema_migrations" in sql


def test_memory_read_rejects_unknown_columns() -> None:
    with pytest.raises(StorageError, match="unknown column"):
        MemoryStorage().read("fills", where={"price": 1})
    with pytest.raises(StorageError, match="limit"):
        MemoryStorage().read("fills", limit=-1)


SECRET = "s3cr3t%pw"  # (a literal "%": not valid percent-encoding in a URL, which libpq's parser quotes)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _secret_dsns() -> list[str]:
    port = _free_port()  # (nothing listens: the connection is refused)
    return [
        f"postgresql://hl:{SECRET}@127.0.0.1:{port}/hl",  # refused by the URL parser
        f"postgresql://hl:{SECRET.replace('%', '%25')}@127.0.0.1:{port}/hl",  # parsed; the connection fails
        f"host=127.0.0.1 port={port} user=hl password='{SECRET}' dbname=hl connect_timeout=1",
    ]


def _library_frames_locals(exc: BaseException) -> list[str]:
    """The repr of every local of every frame of ``exc`` and what it chains, but this file's (the caller's own
    frames hold the dsn it wrote)."""
    seen: list[str] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        e = pending.pop()
        if e is None:
            continue
        tb = e.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if frame.f_code.co_filename != __file__:
                seen.extend(f"{frame.f_code.co_name}: {k} = {v!r}" for k, v in frame.f_locals.items())
            tb = tb.tb_next
        pending += [e.__cause__, e.__context__]
    return seen


@pytest.mark.parametrize("call", ["apply_migrations", "PostgresStorage", "PostgresStorage(migrate=True)"])
def test_a_dsn_password_is_in_no_message_and_no_library_frame_of_a_failed_connection(call: str) -> None:
    """What error reporters show of a storage connection that failed (message, repr, every frame's locals, chained
    exceptions too: Sentry records locals by default) never holds the dsn's password: libpq's parser quoted it in
    its message, and psycopg's frames (chained before) and ours held it as text."""
    for dsn in _secret_dsns():
        with pytest.raises(StorageError) as info:
            if call == "apply_migrations":
                apply_migrations(dsn, connect_timeout=1)
            else:
                PostgresStorage(dsn, migrate=call.endswith("True)"), connect_timeout=1).count("fills")
        rendered = [str(info.value), repr(info.value), *_library_frames_locals(info.value)]
        assert rendered[0].startswith(("cannot connect to PostgreSQL: ", "dsn is not a valid")), rendered[0]
        assert not [r for r in rendered if SECRET in r or SECRET.replace("%", "%25") in r], rendered


def test_the_migrate_commands_never_print_the_dsn_password(capsys: pytest.CaptureFixture[str]) -> None:
    from hyperliquid_client import cli
    from hyperliquid_client.runtime.storage import __main__ as storage_main

    for dsn in _secret_dsns():
        assert cli.main(["storage", "migrate", "--dsn", dsn]) != 0
        assert storage_main.main(["migrate", "--dsn", dsn, "--connect-timeout", "1"]) == 1
        out, err = capsys.readouterr()
        assert "cannot connect to PostgreSQL" in err or "not a valid" in err
        assert SECRET not in out + err and SECRET.replace("%", "%25") not in out + err
