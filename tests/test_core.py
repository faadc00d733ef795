"""Errors, configuration, events and logging helpers."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import Any

import pytest

from hyperliquid_client.runtime import errors, validate
from hyperliquid_client.runtime.config import MAINNET, TESTNET, custom_network, resolve_network
from hyperliquid_client.runtime.events import CATALOGUE, Event, EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.registry import Registry
from hyperliquid_client.runtime.struct import Bad, parse_with, to_decimal, to_int, to_list


def test_hierarchy_roots_everything_in_hyperliquid_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.HyperliquidError), name
    assert issubclass(errors.TimeoutError, errors.TransportError)
    assert issubclass(errors.RateLimitedError, errors.HTTPStatusError)
    assert issubclass(errors.InvalidInputError, ValueError)


def test_error_details_are_attributes() -> None:
    e = errors.RateLimitedError(retry_after=2.5, body="null", endpoint="info.l2Book")
    assert (e.status, e.retry_after, e.endpoint) == (429, 2.5, "info.l2Book")
    assert "retry after 2.5s" in str(e)
    ind = errors.IndeterminateError("lost", nonce=17, cloids=["0x" + "1" * 32], action_type="order")
    assert ind.nonce == 17 and ind.cloids == ("0x" + "1" * 32,)
    inv = errors.InvalidResponseError("$.levels[0][1].px", "decimal string", ["x"], endpoint="info.l2Book")
    assert inv.path == "$.levels[0][1].px"
    assert "info.l2Book" in str(inv) and "$.levels[0][1].px" in str(inv)
    inp = errors.InvalidInputError("orders[2].sz", "a positive size", -1)
    assert inp.field == "orders[2].sz" and "orders[2].sz" in str(inp)


def test_long_bodies_are_cut_in_messages() -> None:
    e = errors.HTTPStatusError(500, body="x" * 10_000, endpoint="info.meta")
    assert len(str(e)) < 300


def test_chained_cause_is_kept() -> None:
    try:
        try:
            raise OSError("refused")
        except OSError as exc:
            raise errors.TransportError("cannot connect", endpoint="info.meta") from exc
    except errors.TransportError as err:
        assert isinstance(err.__cause__, OSError)
        assert err.request_sent is False


def test_named_networks() -> None:
    assert resolve_network("mainnet", env={}) is MAINNET
    assert resolve_network("TESTNET", env={}) is TESTNET
    assert resolve_network(env={}) is MAINNET
    assert MAINNET.info_url == "https://api.hyperliquid.xyz/info"
    assert TESTNET.chain_name == "Testnet" and MAINNET.chain_name == "Mainnet"


def test_environment_overrides_default_and_arguments_override_environment() -> None:
    env = {"HYPERLIQUID_NETWORK": "testnet"}
    assert resolve_network(env=env) is TESTNET
    assert resolve_network("mainnet", env=env) is MAINNET
    env = {"HYPERLIQUID_HTTP_URL": "http://127.0.0.1:8080"}
    net = resolve_network(env=env)
    assert net.http_url == "http://127.0.0.1:8080"
    assert net.ws_url == "ws://127.0.0.1:8080/ws"
    assert net.exchange_url == "http://127.0.0.1:8080/exchange"
    assert net.is_mainnet is False  # a custom URL alone signs as testnet
    assert resolve_network("mainnet", http_url="http://127.0.0.1:8080", env={}).is_mainnet is True
    net = resolve_network("testnet", http_url="https://example.test", ws_url="wss://ws.example.test/ws", env={})
    assert (net.http_url, net.ws_url, net.is_mainnet) == ("https://example.test", "wss://ws.example.test/ws", False)


@pytest.mark.parametrize("suffix", ["", "/"])
def test_the_official_urls_name_their_network_and_its_chain(suffix: str) -> None:
    assert resolve_network(http_url="https://api.hyperliquid.xyz" + suffix, env={}) is MAINNET
    assert resolve_network(env={"HYPERLIQUID_HTTP_URL": "https://api.hyperliquid.xyz" + suffix}) is MAINNET
    assert resolve_network(http_url="https://api.hyperliquid-testnet.xyz" + suffix, env={}) is TESTNET
    assert resolve_network(ws_url="wss://api.hyperliquid-testnet.xyz/ws" + suffix, env={}) is TESTNET
    assert resolve_network("mainnet", ws_url="wss://api.hyperliquid.xyz/ws", env={}) is MAINNET
    proxied = resolve_network(http_url="http://127.0.0.1:1", ws_url="wss://api.hyperliquid.xyz/ws", env={})
    assert (proxied.name, proxied.is_mainnet, proxied.ws_url) == ("custom", True, "wss://api.hyperliquid.xyz/ws")
    with pytest.raises(errors.ConfigError, match="mainnet's URL, but the network named signs for Testnet") as info:
        resolve_network("testnet", http_url="https://api.hyperliquid.xyz" + suffix, env={})
    assert info.value.setting == "http_url"


def test_the_clients_repr_shows_the_chain_it_signs_for() -> None:
    from hyperliquid_client import Client

    with Client("mainnet", http_url="http://127.0.0.1:1") as proxy, Client(http_url="http://127.0.0.1:1") as local:
        assert "network='custom', chain='Mainnet'" in repr(proxy)
        assert "network='custom', chain='Testnet'" in repr(local)


@pytest.mark.parametrize(
    ("kwargs", "env", "setting"),
    [
        ({"network": "moonnet"}, {}, "network"),
        ({}, {"HYPERLIQUID_NETWORK": "moonnet"}, "HYPERLIQUID_NETWORK"),
        ({}, {"HYPERLIQUID_HTTP_URL": "ftp://x"}, "HYPERLIQUID_HTTP_URL"),
        ({}, {"HYPERLIQUID_WS_URL": "http://x"}, "HYPERLIQUID_WS_URL"),
        ({"http_url": "not a url"}, {}, "http_url"),
    ],
)
def test_invalid_settings_name_the_setting(kwargs: dict[str, str], env: dict[str, str], setting: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        resolve_network(env=env, **kwargs)  # type: ignore[arg-type]
    assert info.value.setting == setting
    assert setting in str(info.value)


def test_explicit_http_url_does_not_mix_with_the_environments_ws_url() -> None:
    env = {"HYPERLIQUID_HTTP_URL": "http://127.0.0.1:1", "HYPERLIQUID_WS_URL": "ws://127.0.0.1:2/ws"}
    assert resolve_network(env=env).ws_url == "ws://127.0.0.1:2/ws"
    assert resolve_network(http_url="http://127.0.0.1:3", env=env).ws_url == "ws://127.0.0.1:3/ws"


def test_custom_network_signs_as_testnet_by_default() -> None:
    net = custom_network("https://fake.local:9000/")
    assert net.http_url == "https://fake.local:9000"
    assert net.ws_url == "wss://fake.local:9000/ws"
    assert net.is_mainnet is False
    assert net.stats_url == "https://fake.local:9000/stats/Testnet"


def test_events_exact_prefix_and_wildcard() -> None:
    bus = EventBus()
    seen: list[tuple[str, str]] = []
    unsub_a = bus.subscribe("cache.hit", lambda e: seen.append(("exact", e.name)))
    bus.subscribe("cache.*", lambda e: seen.append(("prefix", e.name)))
    bus.subscribe("*", lambda e: seen.append(("all", e.name)))
    bus.emit("cache.hit", key="k")
    bus.emit("request.start", endpoint="x")
    assert seen == [("exact", "cache.hit"), ("prefix", "cache.hit"), ("all", "cache.hit"), ("all", "request.start")]
    unsub_a()
    seen.clear()
    bus.emit("cache.hit", key="k")
    assert ("exact", "cache.hit") not in seen and ("prefix", "cache.hit") in seen


def test_events_carry_fields_and_wants_is_accurate() -> None:
    bus = EventBus()
    assert not bus.wants("request.end")
    got: list[Event] = []
    bus.subscribe("request.end", got.append)
    assert bus.wants("request.end") and not bus.wants("request.start")
    bus.emit("request.end", endpoint="info.meta", status=200)
    assert got[0]["endpoint"] == "info.meta" and got[0].get("status") == 200 and got[0].get("nope") is None


def test_failing_handler_is_logged_and_isolated(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    after: list[str] = []

    def broken(e: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe("cache.hit", broken)
    bus.subscribe("cache.hit", lambda e: after.append(e.name))
    with caplog.at_level(logging.ERROR, logger="hyperliquid_client.events"):
        bus.emit("cache.hit")
    assert after == ["cache.hit"]
    assert any("failed for cache.hit" in r.getMessage() for r in caplog.records)


def test_event_bus_is_thread_safe() -> None:
    bus = EventBus()
    count = 0
    lock = threading.Lock()

    def handler(e: Event) -> None:
        nonlocal count
        with lock:
            count += 1

    def worker() -> None:
        for _ in range(200):
            unsub = bus.subscribe("cache.*", handler)
            bus.emit("cache.hit")
            unsub()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count >= 8 * 200  # each emit sees at least its own handler
    assert not bus.wants("cache.hit")


@pytest.mark.parametrize(
    ("pattern", "closest"),
    [("requests.*", "request.*"), ("nonsense.*", "groups: cache.*"), ("**", "groups: "), ("cache.hitt", "cache.hit")],
)
def test_a_pattern_matching_no_event_is_refused_naming_the_closest(pattern: str, closest: str) -> None:
    bus = EventBus()
    with pytest.raises(errors.InvalidInputError) as info:
        bus.subscribe(pattern, lambda e: None)
    assert info.value.field == "pattern" and closest in str(info.value) and repr(pattern) in str(info.value)
    assert not bus.wants("cache.hit")
    for good in ("*", "ws.*", "rate.wait", "request.*"):
        bus.subscribe(good, lambda e: None)()


def test_catalogue_lists_fields() -> None:
    assert "request.start" in CATALOGUE and "attempt" in CATALOGUE["request.start"]
    assert all(isinstance(v, tuple) for v in CATALOGUE.values())


def test_structured_logging(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("transport")
    assert logger.name == "hyperliquid_client.transport"
    assert get_logger("hyperliquid_client.ws").name == "hyperliquid_client.ws"
    with caplog.at_level(logging.INFO, logger="hyperliquid_client"):
        log(logger, logging.INFO, "request done", endpoint="info.meta", status=200)
    rec = caplog.records[-1]
    assert rec.getMessage() == "request done endpoint=info.meta status=200"
    assert rec.hl == {"endpoint": "info.meta", "status": 200}  # type: ignore[attr-defined]


def test_validators() -> None:
    assert (
        validate.address("user", "0xABCDEF0123456789ABCDEF0123456789ABCDEF01")
        == "0x" + "abcdef0123456789" * 2 + "abcdef01"
    )
    # mixed case must be the EIP-55 checksum (tests/test_exchange_guards.py)
    for bad in (
        "0x123",
        "abcdef0123456789abcdef0123456789abcdef01",
        5,
        None,
        "0xABCDEF0123456789abcdef0123456789ABCDEF01",
    ):
        with pytest.raises(errors.InvalidInputError) as info:
            validate.address("user", bad)
        assert info.value.field == "user"
    assert validate.decimal("px", 1.5) == "1.5"
    assert validate.decimal("px", Decimal("100.000")) == "100"
    assert validate.decimal("px", "0.00001") == "0.00001"
    for bad in (float("nan"), float("inf"), "abc", True, None):
        with pytest.raises(errors.InvalidInputError):
            validate.decimal("px", bad)
    assert validate.oid_or_cloid("oid", 5) == 5
    for too_big in (2**64, 10**40):
        with pytest.raises(errors.InvalidInputError):
            validate.oid_or_cloid("oid", too_big)
    with pytest.raises(errors.InvalidInputError):
        validate.timestamp("start_time", 2**64)
    with pytest.raises(errors.InvalidInputError):
        validate.oid_or_cloid("oid", "0xABC")
    with pytest.raises(errors.InvalidInputError):
        validate.check_choices("n", 7, (2, 3))
    with pytest.raises(errors.InvalidInputError):
        validate.integer("n", True)
    assert validate.list_of("users", ["0x" + "A" * 40], validate.address) == ["0x" + "a" * 40]
    with pytest.raises(errors.InvalidInputError) as info:
        validate.list_of("users", ["0x" + "a" * 40, "bad"], validate.address)
    assert info.value.field == "users[1]"


def test_struct_helpers_and_paths() -> None:
    assert to_decimal("30135.0") == Decimal("30135.0") and str(to_decimal("30135.0")) == "30135.0"
    assert to_int(716095722814130) == 716095722814130
    for bad in ("NaN", "1e", 1.5, None, True):
        with pytest.raises(Bad):
            to_decimal(bad)
    with pytest.raises(errors.InvalidResponseError) as info:
        parse_with(lambda v: to_list(v, to_decimal), ["1", "2", "x"], endpoint="info.t")
    assert info.value.path == "$[2]"


def test_registry_lookup() -> None:
    from hyperliquid_client.generated.registry import REGISTRY

    assert isinstance(REGISTRY, Registry)
    book = REGISTRY.get("l2Book", "info")
    assert book is REGISTRY.get("l2_book", "info") and book.weight == 2
    assert REGISTRY.find("l2_book", "channel") is not None
    assert REGISTRY.find("nope") is None
    with pytest.raises(KeyError, match="nope"):
        REGISTRY.get("nope")
    assert all(e.context == "info" for e in REGISTRY.by_context("info"))
    assert len(REGISTRY) == len(REGISTRY.endpoints) + len(REGISTRY.channels)


def test_registry_records_are_immutable_values() -> None:
    """The registry's records (plain slotted classes, no generated methods): built with defaults, immutable,
    equal and hashed by value except the answer parser, copied with changes, pickled."""
    import pickle
    from dataclasses import FrozenInstanceError

    from hyperliquid_client.generated.registry import CHANNELS, ENDPOINTS
    from hyperliquid_client.runtime.registry import ParamSpec

    order = ENDPOINTS["exchange.order"]
    assert order.parse is not None and "parse" not in repr(order) and repr(order).startswith("EndpointSpec(context=")
    same = order.replace(parse=None)
    assert same == order and hash(same) == hash(order) and same.parse is None
    assert order.replace(weight=7).weight == 7 and order.weight == 1 and order.replace(weight=7) != order
    with pytest.raises(FrozenInstanceError):
        order.weight = 2  # type: ignore[misc]
    param = ParamSpec("coin", "coin", "str", True, None, "Coin.")
    assert param == ParamSpec(name="coin", wire="coin", type="str", required=True, default=None, doc="Coin.")
    with pytest.raises(TypeError, match="doc"):
        ParamSpec(name="coin", wire="coin", type="str", required=True, default=None)  # type: ignore[call-arg]
    book = CHANNELS["l2Book"]
    assert book.context == "channel" and book.frame_field is None and pickle.loads(pickle.dumps(book)) == book


#: pickles written while these classes were attrs classes (by the tree before they became dataclasses)
_ATTRS_PICKLES = {
    "RetryPolicy": b"\x80\x04\x95\xbb\x00\x00\x00\x00\x00\x00\x00\x8c+hyperliquid_client.runtime.transport.policy\x94"
    b"\x8c\x0bRetryPolicy\x94\x93\x94)\x81\x94}\x94(\x8c\x0cmax_attempts\x94K\x02\x8c\nbase_delay\x94G?\xc9\x99\x99\x99"
    b"\x99\x99\x9a\x8c\tmax_delay\x94G@\x14\x00\x00\x00\x00\x00\x00\x8c\x0bmax_elapsed\x94G@>\x00\x00\x00\x00\x00\x00"
    b"\x8c\x06jitter\x94\x88\x8c\x0eretry_statuses\x94(M\xad\x01\x91\x94ub.",
    "Gap": b"\x80\x04\x95e\x00\x00\x00\x00\x00\x00\x00\x8c&hyperliquid_client.runtime.ws.messages\x94\x8c\x03Gap\x94"
    b"\x93\x94)\x81\x94}\x94(\x8c\x08since_ms\x94K\x01\x8c\x08until_ms\x94N\x8c\x05error\x94\x8c\x07timeout\x94ub.",
}


def test_settings_and_markers_are_frozen_dataclasses_keeping_what_attrs_gave_them() -> None:
    """The settings, stream markers and values a client builds at start are frozen dataclasses (``record.frozen``),
    not attrs classes (importing attrs was ~0.9 MiB of a streaming client's resident size): built positionally or by
    keyword, checked (also by ``dataclasses.replace``), immutable, equal, hashed and shown by field, matched
    positionally, weakly referenced, pickled — and the pickles attrs wrote load."""
    import dataclasses
    import pickle
    import weakref
    from dataclasses import FrozenInstanceError

    from hyperliquid_client import ClientConfig
    from hyperliquid_client.runtime.cache import CacheConfig
    from hyperliquid_client.runtime.transport import RetryPolicy
    from hyperliquid_client.runtime.ws import WsConfig
    from hyperliquid_client.runtime.ws.messages import Gap

    cfg = WsConfig(buffer_size=5)
    assert cfg == WsConfig(buffer_size=5) and hash(cfg) == hash(WsConfig(buffer_size=5)) and cfg != WsConfig()
    assert repr(cfg).startswith("WsConfig(ping_interval=5.0, dead_after=4.0, ") and "buffer_size=5," in repr(cfg)
    with pytest.raises(FrozenInstanceError):
        cfg.buffer_size = 6  # type: ignore[misc]
    with pytest.raises(AttributeError):  # (what attrs' FrozenInstanceError was too)
        del cfg.buffer_size  # type: ignore[misc]
    assert dataclasses.replace(cfg, buffer_size=7).buffer_size == 7
    with pytest.raises(errors.ConfigError, match="buffer_size"):
        dataclasses.replace(cfg, buffer_size=0)
    with pytest.raises(errors.ConfigError, match="verify_signatures"):
        ClientConfig(verify_signatures="always")  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigError, match="max_entries"):
        CacheConfig(max_entries=0)
    with pytest.raises(ValueError, match="default_ttl"):
        dataclasses.replace(CacheConfig(), default_ttl=-1.0)
    assert ClientConfig().ws == WsConfig() and ClientConfig().ws is not ClientConfig().ws  # a factory per config
    assert RetryPolicy(retry_statuses=[429, 429, 503]).retry_statuses == frozenset({429, 503})  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigError, match="retry_statuses"):
        RetryPolicy(retry_statuses=429)  # type: ignore[arg-type]

    gap = Gap(1, None, "timeout")
    assert gap == Gap(since_ms=1, until_ms=None, error="timeout") and repr(gap) == (
        "Gap(since_ms=1, until_ms=None, error='timeout')"
    )
    match gap:
        case Gap(since, until, why):
            assert (since, until, why) == (1, None, "timeout")
        case _:
            raise AssertionError("no positional match")
    assert weakref.ref(gap)() is gap and weakref.ref(cfg)() is cfg
    for value in (cfg, gap, ClientConfig(), RetryPolicy(max_attempts=2)):
        assert pickle.loads(pickle.dumps(value)) == value
    old = pickle.loads(_ATTRS_PICKLES["Gap"])
    assert old == gap and hash(old) == hash(gap)
    policy = pickle.loads(_ATTRS_PICKLES["RetryPolicy"])
    assert policy == RetryPolicy(max_attempts=2, retry_statuses=frozenset({429}))
    assert (policy.base_delay, policy.max_delay, policy.max_elapsed, policy.jitter) == (0.2, 5.0, 30.0, True)


def test_frozen_builds_instances_exactly_as_the_dataclass_init_would() -> None:
    """``record.frozen`` replaces the dataclass ``__init__`` by one setting fields through a single bound setter (as
    attrs did: the order path builds such values per request): same parameters, defaults, a fresh object from each
    factory, ``__post_init__`` last, the same errors — compared with the init dataclasses writes."""
    import dataclasses
    import inspect

    from hyperliquid_client.runtime.record import frozen

    def body() -> dict[str, object]:
        def __post_init__(self: object) -> None:
            seen.append(self)
            if self.a == -1:
                raise ValueError("a must not be -1")

        return {
            "__annotations__": {"a": "int", "b": "str", "c": "list[int]", "d": "float | None"},
            "b": "x",
            "c": dataclasses.field(default_factory=list),
            "d": None,
            "__post_init__": __post_init__,
        }

    seen: list[object] = []
    fast = frozen(type("Sample", (), body()))
    slow = dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)(type("Sample", (), body()))
    assert fast.__init__ is not slow.__init__ and "_set" in fast.__init__.__code__.co_varnames  # (the fast one)
    assert str(inspect.signature(fast)) == str(inspect.signature(slow))
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((1,), {}),
        ((1, "y", [2], 0.5), {}),
        ((), {"a": 2, "d": 1.0}),
        ((3,), {"c": [4]}),
        ((), {}),
        ((1, "y", [], None, 5), {}),
        ((1,), {"e": 1}),
        ((1,), {"a": 1}),
        ((-1,), {}),
    ]
    for args, kwargs in calls:
        outcomes = []
        for cls in (fast, slow):
            seen.clear()
            try:
                made = cls(*args, **kwargs)
            except (TypeError, ValueError) as exc:
                outcomes.append((type(exc), str(exc).replace(cls.__qualname__, "Sample"), len(seen)))
            else:
                values = tuple(getattr(made, f.name) for f in dataclasses.fields(made))
                outcomes.append((values, seen == [made]))
        assert outcomes[0] == outcomes[1], (args, kwargs, outcomes)
    assert fast(1).c is not fast(1).c  # a new list each time

    @frozen
    class Own:
        x: int

        def __init__(self, text: str) -> None:
            object.__setattr__(self, "x", int(text))

    assert Own("7").x == 7  # a class's own __init__ is kept


def test_records_match_positionally_are_weakly_referenced_and_extend_each_other() -> None:
    """What attrs' frozen slotted classes gave the public records stays: positional patterns in field order, weak
    references; a record extending another has both's fields; a ``ClassVar`` however spelled is not a field."""
    import typing
    import weakref

    from hyperliquid_client.runtime.markets import AssetInfo
    from hyperliquid_client.runtime.record import Record, record

    fields = AssetInfo._fields
    assert AssetInfo.__match_args__ == fields
    values: dict[str, typing.Any] = {f: i for i, f in enumerate(fields)}  # (any values: a record checks none)
    info = AssetInfo(**values)
    match info:
        case AssetInfo(first, second):
            assert (first, second) == (0, 1)
        case _:
            raise AssertionError("no positional match")
    ref = weakref.ref(info)
    assert ref() is info

    @record
    class Base(Record):
        x: int
        y: int = 2

    @record
    class Child(Base):
        z: int = 3
        label: typing.ClassVar[str] = "child"

    child = Child(1, z=5)
    assert Child._fields == ("x", "y", "z") and (child.x, child.y, child.z) == (1, 2, 5) and Child.label == "child"
    assert child == Child(x=1, y=2, z=5) and child.replace(y=9).y == 9 and weakref.ref(child)() is child
    match child:
        case Child(a, b, c):
            assert (a, b, c) == (1, 2, 5)


def test_an_event_carries_every_field_of_its_catalogue_row() -> None:
    """A handler may read any documented field: one that does not apply to this occurrence is None (an expired
    entry's ``cache.evict`` had no ``size``, a ``cache.fetch`` that worked no ``error``); fields beyond the row
    stay."""
    from hyperliquid_client.runtime.cache import CacheConfig, TTLCache

    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("*", seen.append)
    for name in CATALOGUE:
        bus.emit(name)
    bus.emit("cache.hit", cache="c", key="k", extra=1)
    assert [e.name for e in seen[: len(CATALOGUE)]] == list(CATALOGUE)
    for event in seen[: len(CATALOGUE)]:
        assert dict(event.fields) == dict.fromkeys(CATALOGUE[event.name]), event.name
    assert dict(seen[-1].fields) == {"cache": "c", "key": "k", "stale": None, "extra": 1}

    seen.clear()
    now = [0.0]
    cache = TTLCache(CacheConfig(default_ttl=1.0), events=bus, clock=lambda: now[0])
    assert cache.get_or_fetch("k", lambda: 1) == 1
    now[0] = 5.0
    assert cache.get_or_fetch("k", lambda: 2) == 2
    for event in seen:
        assert set(CATALOGUE[event.name]) <= set(event.fields), (event.name, event.fields)
    assert any(e.name == "cache.fetch" and e["ok"] and e["error"] is None for e in seen)


def test_key_bytes_given_where_a_value_is_expected_are_never_echoed() -> None:
    """A private key passed as raw bytes by mistake (for an address, a cloid, a setting, inside a list) is shown
    by its length only: messages never contain keys (a hex key was already cut; the bytes were shown whole)."""
    import os

    from hyperliquid_client import Client, Wallet
    from hyperliquid_client.runtime.config import check_number
    from hyperliquid_client.testing import FakeExchange

    key = os.urandom(32)
    leaks = (key.hex(), repr(key)[2:-1], repr(bytearray(key))[12:-2])
    refusals: list[errors.HyperliquidError] = []

    def refused(call: Any) -> None:
        with pytest.raises(errors.HyperliquidError) as info:
            call()
        refusals.append(info.value)

    agent = Wallet.generate()
    refused(lambda: Client(http_url="http://127.0.0.1:9", wallet=agent, account_address=key))
    refused(lambda: Client(http_url="http://127.0.0.1:9", wallet=agent, vault_address=bytearray(key)))
    refused(lambda: check_number("budget", memoryview(key)))
    refused(lambda: validate.address("user", [key, {"k": key}]))
    with FakeExchange() as fx, Client(http_url=fx.http_url, wallet=agent) as client:
        refused(lambda: client.exchange.usd_send(key, 1))  # type: ignore[arg-type]
        refused(lambda: client.info.open_orders(key))  # type: ignore[arg-type]
        refused(lambda: client.exchange.order("BTC", True, 1, 1, cloid=key))
    for exc in refusals:
        text = f"{exc} {exc!r} {getattr(exc, 'got', '')!r}"
        assert not [leak for leak in leaks if leak in text], text
        assert "32" in text or "b'…'" in text, text  # (said by its length)
    assert "got bytes of length 16" not in str(errors.InvalidInputError("cloid", "x", bytes(16)))  # (a cloid: whole)
