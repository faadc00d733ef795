"""Every setting is checked when its config is made: a :class:`ConfigError` naming the setting as the user wrote it,
before a client (or anything that could send) exists; a wrong section is named by its type, never echoed (it may be
a dsn with its password)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from hyperliquid_client import CacheConfig, Client, ClientConfig, ConfigError
from hyperliquid_client.runtime.config import check_number
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.runtime.storage import StorageConfig
from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig
from hyperliquid_client.runtime.ws import WsConfig

BAD_CLIENT_SETTINGS: list[tuple[str, Any]] = [
    ("transport", 5),
    ("transport", {"default_timeout": 3}),
    ("cache", {}),
    ("ws", 1),
    ("rate", "x"),
    ("storage", "postgres://user:hunter2@db/fills"),
    ("storage", {"dsn": "postgres://user:hunter2@db/fills"}),
    ("warm", "yes"),
    ("warm_mids", 1),
    ("auto_cloid", None),
    ("metadata_timeout", -1),
    ("metadata_timeout", 0),
    ("metadata_timeout", math.nan),
    ("metadata_timeout", math.inf),
    ("metadata_timeout", "5"),
    ("metadata_timeout", True),
    ("metadata_timeout", 10**400),  # (an int no float holds: a setting refused, not an OverflowError)
    ("metadata_dexes", "abc"),
    ("metadata_dexes", ["abc", 1]),
    ("metadata_dexes", [""]),
    ("metadata_dexes", 3),
    ("signing_backend", "fast"),
    ("signing_backend", 1),
    ("verify_signatures", "always"),
    ("warm_idle_after", -1.0),
    ("warm_idle_after", math.nan),
    ("drift", "loud"),
]


@pytest.mark.parametrize(("name", "value"), BAD_CLIENT_SETTINGS, ids=[f"{n}={v!r}" for n, v in BAD_CLIENT_SETTINGS])
def test_a_bad_client_setting_is_refused_when_the_config_is_made_naming_it(name: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        ClientConfig(**{name: value})
    assert info.value.setting == name
    assert str(info.value).startswith(f"invalid setting {name}: expected ")
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)
    if name in ("transport", "cache", "ws", "rate", "storage"):
        assert str(info.value).endswith(f"got {type(value).__name__}")  # (a section by its type, never its value)
    with pytest.raises(ConfigError):  # (dataclasses.replace checks the same)
        dataclasses.replace(ClientConfig(), **{name: value})


def test_what_the_settings_allow_is_accepted() -> None:
    config = ClientConfig(metadata_dexes=["xyz", "abc"], signing_backend="Coincurve", warm_idle_after=0)
    assert config.metadata_dexes == ("xyz", "abc")  # (a list is held as a tuple: the config stays hashable)
    assert hash(config) == hash(
        ClientConfig(metadata_dexes=("xyz", "abc"), signing_backend="Coincurve", warm_idle_after=0)
    )
    for backend in (None, "auto", "native", "eth-account", "eth_account", " NATIVE "):
        assert ClientConfig(signing_backend=backend).signing_backend == backend
    ClientConfig(metadata_dexes=[], warm_idle_after=None, verify_signatures=False, drift="strict", metadata_timeout=1)
    ClientConfig(storage=StorageConfig(backend="memory"), warm=False, warm_mids=False, auto_cloid=True)


BAD_SECTION_SETTINGS: list[tuple[type, str, Any]] = [
    (WsConfig, "ping_interval", math.nan),
    (WsConfig, "dead_after", math.inf),
    (WsConfig, "idle_close_after", -1),
    (WsConfig, "stale_after", math.nan),
    (WsConfig, "buffer_size", 2.5),
    (WsConfig, "max_users", True),
    (WsConfig, "max_reconnect_attempts", -1),
    (CacheConfig, "max_entries", 0),
    (CacheConfig, "max_entries", None),
    (CacheConfig, "max_bytes", 1.5),
    (CacheConfig, "default_ttl", math.nan),
    (CacheConfig, "max_stale", -1),
    (StorageConfig, "batch_size", 2.5),
    (StorageConfig, "flush_interval", None),
    (StorageConfig, "flush_interval", math.nan),
    (StorageConfig, "block_timeout", -1),
    (StorageConfig, "retry_max", math.inf),
    (StorageConfig, "statement_timeout", 0),
    (StorageConfig, "migrate", "no"),
    (WsConfig, "stale_resubscribe", "yes"),
    (WsConfig, "buffer_size", 10**400),
    (CacheConfig, "sizeof", "len"),
    (CacheConfig, "name", 3),
]


@pytest.mark.parametrize(
    ("cls", "name", "value"), BAD_SECTION_SETTINGS, ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in BAD_SECTION_SETTINGS]
)
def test_a_bad_section_setting_is_refused_naming_it(cls: type, name: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        cls(**{name: value})
    assert info.value.setting == name and str(info.value).startswith(f"invalid setting {name}: expected ")


def test_the_one_number_rule() -> None:
    for value in (1, 0.5, 10**30):
        check_number("n", value)
    check_number("n", 0, zero=True)
    check_number("n", None, none=True)
    check_number("n", 3, integer=True)
    refused = [(0, {}), (-1, {"zero": True}), (None, {}), (math.nan, {}), (-math.inf, {}), (True, {}), ("1", {}),
               (1.0, {"integer": True}), (False, {"integer": True, "zero": True})]  # fmt: skip
    for value, how in refused:
        with pytest.raises(ConfigError, match=r"^invalid setting n: expected "):
            check_number("n", value, **how)


@pytest.mark.parametrize(
    "redis_url", ["redis://:hunter2@127.0.0.1:6379/0", "redis://hl:hunter2@redis/1", "rediss://default:hunter2@r:6380"]
)
def test_no_config_repr_shows_a_password(redis_url: str) -> None:
    """A Redis URL's password is hidden like a dsn's, in its section's repr and in the client config's."""
    rate = RateLimitConfig(redis_url=redis_url)
    storage = StorageConfig(dsn="host=db user=hl password=hunter2 dbname=hl")
    config = ClientConfig(rate=rate, storage=storage)
    for shown in (repr(rate), repr(storage), repr(config), str(config)):
        assert "hunter2" not in shown
    assert "password=***" in repr(storage) and repr(storage) in repr(config) and repr(rate) in repr(config)
    assert f"redis_url={redis_url.replace('hunter2', '***')!r}" in repr(rate)
    assert rate.redis_url == redis_url  # (only shown hidden)


KEY = bytes(range(101, 133))
SECRETS = (KEY.hex(), repr(KEY)[2:-1], "hunter2")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Client(KEY),  # (the key given positionally: ``network`` is the first parameter)
        lambda: Client("0x" + KEY.hex()),
        lambda: Client(env={"HYPERLIQUID_NETWORK": KEY.hex()}),
        lambda: Client(http_url="ftp://bot:hunter2@proxy.internal"),
        lambda: ClientConfig(drift="0x" + KEY.hex()),
        lambda: ClientConfig(verify_signatures=[KEY]),
        lambda: ClientConfig(signing_backend=KEY),
        lambda: WsConfig(overflow=[KEY]),
        lambda: StorageConfig("postgresql://bot:hunter2@db.internal/hl"),  # (a dsn given as ``backend``)
        lambda: RateLimitConfig(policy=KEY),
        lambda: RetryPolicy(retry_statuses=[KEY]),
    ],
)
def test_a_refused_setting_never_shows_a_key_or_a_password(make: Any) -> None:
    """Every settings check shows the refused value through the one rule (``errors.shown``): a key by its length or
    cut, a URL's password hidden (they were printed whole by the enumerations', URLs' and names' checks)."""
    with pytest.raises(ConfigError) as info:
        make()
    text = f"{info.value} {info.value!r}"
    assert not [s for s in SECRETS if s in text], text


def test_the_client_checks_its_events_and_env_and_hides_a_url_password() -> None:
    with pytest.raises(ConfigError, match="events"):
        Client(events=object())  # type: ignore[arg-type]
    for env in (["x"], {"HYPERLIQUID_NETWORK"}):
        with pytest.raises(ConfigError, match="env"):
            Client(env=env)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="retry_statuses"):
        RetryPolicy(retry_statuses=5)  # type: ignore[arg-type]
    with Client(http_url="https://bot:hunter2@proxy.internal", config=ClientConfig(warm=False)) as client:
        assert "hunter2" not in repr(client) and "bot:***@proxy.internal" in repr(client)


def test_a_password_holding_an_at_sign_is_hidden_whole() -> None:
    """A URL parser takes the password up to the last ``@`` before the host: so is it hidden (its tail showed)."""
    rate = RateLimitConfig(redis_url="redis://:p@ssw0rdTail@127.0.0.1:6379/0")
    storage = StorageConfig(dsn="postgresql://bot:p@ssw0rdTail@db/hl")
    for shown in (repr(rate), repr(storage)):
        assert "ssw0rdTail" not in shown and ":***@" in shown, shown


@pytest.mark.parametrize(
    "make",
    [
        lambda: TransportConfig(default_timeout=10**400),
        lambda: RetryPolicy(max_delay=10**400),
        lambda: RateLimitConfig(window=10**400),
        lambda: RateLimitConfig(budget=10**400),  # (accepted, it failed on the first request)
        lambda: Client(env={"HYPERLIQUID_NETWORK": 1}),
        lambda: Client(env={"HYPERLIQUID_HTTP_URL": b"http://127.0.0.1:9"}),
    ],
)
def test_numbers_past_a_float_and_environment_values_that_are_not_text_are_refused_settings(make: Any) -> None:
    """A ConfigError naming the setting when the object is made (they were an OverflowError, an AttributeError,
    or accepted and failing later; found by a tester)."""
    with pytest.raises(ConfigError):
        make()
