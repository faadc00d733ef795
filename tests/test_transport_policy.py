"""Pure parts of the transport: retry policy, config validation, Retry-After, body encoding."""

from __future__ import annotations

import email.utils
import random
import time
from decimal import Decimal

import httpx
import pytest

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig, _core, resolve_timeout


class _Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_delay_without_jitter_is_exponential_and_capped() -> None:
    p = RetryPolicy(base_delay=0.1, max_delay=1.0, jitter=False)
    assert [p.delay(n, None) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert p.delay(10_000, None) == 1.0  # no overflow for absurd attempt numbers


def test_delay_full_jitter_spans_zero_to_cap() -> None:
    p = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert p.delay(3, None, _Fixed(0.0)) == 0.0
    assert p.delay(3, None, _Fixed(0.5)) == pytest.approx(1.0)  # cap 2.0 * 0.5
    rng = random.Random(7)
    draws = [p.delay(2, None, rng) for _ in range(500)]
    assert all(0.0 <= d <= 1.0 for d in draws)
    assert min(draws) < 0.1 and max(draws) > 0.9  # really spread over [0, cap]


def test_retry_after_wins_and_is_not_capped_by_max_delay() -> None:
    p = RetryPolicy(base_delay=0.1, max_delay=1.0)
    assert p.delay(1, 7.5, _Fixed(0.99)) == 7.5
    assert p.delay(1, -3.0) == 0.0


def test_no_retry_policy_and_defaults() -> None:
    assert RetryPolicy.NO_RETRY.max_attempts == 1
    assert not RetryPolicy.NO_RETRY.retries_enabled
    d = RetryPolicy()
    assert (d.max_attempts, d.base_delay, d.max_delay, d.max_elapsed, d.jitter) == (4, 0.2, 5.0, 30.0, True)
    assert d.retry_statuses == frozenset({429, 500, 502, 503, 504})
    assert RetryPolicy(retry_statuses=[503]).retry_statuses == frozenset({503})  # type: ignore[arg-type]
    c = TransportConfig()
    assert (c.default_timeout, c.verify_tls, c.max_connections, c.keepalive) == (10.0, True, 20, None)
    assert c.idle_connections == 20 and c.max_response_bytes == 16 * 1024 * 1024
    assert c.user_agent == "hyperliquid-python/0.1"


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"max_attempts": 0}, "retry.max_attempts"),
        ({"max_attempts": True}, "retry.max_attempts"),
        ({"base_delay": -1}, "retry.base_delay"),
        ({"max_elapsed": float("inf")}, "retry.max_elapsed"),
        ({"retry_statuses": frozenset({99})}, "retry.retry_statuses"),
    ],
)
def test_retry_policy_validation(kwargs: dict[str, object], setting: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.setting == setting


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"default_timeout": 0}, "default_timeout"),
        ({"default_timeout": float("nan")}, "default_timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"keepalive": -1}, "keepalive"),
        ({"user_agent": "a\r\nX-Evil: 1"}, "user_agent"),
        ({"retry": 3}, "retry"),
    ],
)
def test_transport_config_validation(kwargs: dict[str, object], setting: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        TransportConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.setting == setting


def test_resolve_timeout_most_specific_wins() -> None:
    assert resolve_timeout(1.5, 3.0) == 1.5
    assert resolve_timeout(None, 3.0) == 3.0
    assert resolve_timeout(None, None) is None


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert _core.parse_retry_after("3") == 3.0
    assert _core.parse_retry_after(" 0.25 ") == 0.25
    assert _core.parse_retry_after("-4") == 0.0
    assert _core.parse_retry_after(None) is None
    assert _core.parse_retry_after("soon") is None
    assert _core.parse_retry_after("nan") is None
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert _core.parse_retry_after(date, now=now) == pytest.approx(42.0)
    past = email.utils.formatdate(now - 42, usegmt=True)
    assert _core.parse_retry_after(past, now=now) == 0.0
    live = _core.parse_retry_after(email.utils.formatdate(time.time() + 30, usegmt=True))
    assert live is not None and 25 < live <= 30


def test_encode_body_compact_with_decimal_as_string() -> None:
    assert _core.encode_body({"type": "l2Book", "px": Decimal("0.000123"), "a": [1, None, True]}) == (
        b'{"type":"l2Book","px":"0.000123","a":[1,null,true]}'
    )
    assert _core.encode_body(None) is None
    assert _core.encode_body("é") == '"é"'.encode()


@pytest.mark.parametrize("bad", [{"x": {1, 2}}, {"x": float("nan")}, {"x": Decimal("NaN")}, object()])
def test_encode_body_rejects_non_json_without_echoing(bad: object) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        _core.encode_body(bad)
    assert info.value.field == "body"
    assert info.value.got is None  # the body (maybe a signed action) is never echoed


def _failure(status: int) -> _core.Failure:
    return _core.Failure(errors.HTTPStatusError(status), status)


def test_retry_reason_classification() -> None:
    policy = RetryPolicy()
    assert _core.retry_reason(_failure(500), policy) == "status 500"
    assert _core.retry_reason(_failure(429), policy) == "status 429"
    assert _core.retry_reason(_failure(422), policy) is None
    assert _core.retry_reason(_failure(501), policy) is None
    refused = errors.TransportError("x", request_sent=False)
    refused.__cause__ = httpx.ConnectError("refused")
    assert _core.retry_reason(_core.Failure(refused), policy) == "ConnectError"
    assert _core.retry_reason(_core.Failure(errors.TimeoutError("t", timeout=1.0)), policy) is None
    assert _core.retry_reason(_core.Failure(errors.InvalidResponseError("$", "JSON")), policy) is None


def test_retry_clock_stops_at_max_attempts_and_max_elapsed() -> None:
    clock = _core.RetryClock(RetryPolicy(max_attempts=3, base_delay=0.0, jitter=False), random.Random(1))
    seen = []
    while True:
        clock.next_attempt()
        decision = clock.next_delay(_failure(503))
        if decision is None:
            break
        seen.append(decision)
    assert clock.attempt == 3 and seen == [(0.0, "status 503"), (0.0, "status 503")]
    clock = _core.RetryClock(RetryPolicy(max_attempts=10, max_elapsed=1.0), random.Random(1))
    clock.next_attempt()
    assert clock.next_delay(_core.Failure(errors.RateLimitedError(retry_after=5.0), 429, 5.0)) is None
    assert clock.next_delay(_core.Failure(errors.RateLimitedError(retry_after=0.5), 429, 0.5)) == (0.5, "status 429")
