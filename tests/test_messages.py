"""What errors say through the client (issue 16): one name per endpoint, a metadata timeout that
speaks of the market."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hyperliquid_client import Client, ClientConfig
from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig
from hyperliquid_client.testing import FakeExchange, Fault

KEY = "0x" + "11" * 32
CONFIG = ClientConfig(warm=False, transport=TransportConfig(retry=RetryPolicy.NO_RETRY))


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


def test_one_name_per_endpoint_in_errors_and_events(fx: FakeExchange) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("request.end", seen.append)
    with Client(http_url=fx.http_url, config=CONFIG, events=bus) as client:
        fx.add_fault("/info", Fault.status(500), count=1, match={"type": "l2Book"})
        with pytest.raises(errors.HTTPStatusError) as status:
            client.info.l2_book("BTC")
        fx.set_info("l2Book", {"coin": "BTC", "levels": "garbage", "time": 1})
        with pytest.raises(errors.InvalidResponseError) as garbled:
            client.info.l2_book("BTC")
        fx.add_fault("/info", Fault.hang(), count=1, match={"type": "l2Book"})
        with pytest.raises(errors.TimeoutError) as late:
            client.info.l2_book("BTC", timeout=0.3)
    for err in (status.value, garbled.value, late.value):
        assert "info.l2Book" in str(err)
        assert err.endpoint == "info.l2Book"  # type: ignore[attr-defined]
    assert {e["endpoint"] for e in seen} == {"info.l2Book"}


def test_a_metadata_timeout_speaks_of_the_market(fx: FakeExchange) -> None:
    fx.add_fault("/info", Fault.hang(), match={"type": "meta"})
    config = ClientConfig(warm=False, metadata_timeout=0.3)
    with (
        Client(http_url=fx.http_url, wallet=KEY, config=config) as client,
        pytest.raises(errors.MetadataUnavailableError) as info,
    ):
        client.exchange.order("BTC", True, "0.01", "50000")
    message = str(info.value)
    assert "perp metadata (meta) to resolve 'BTC' within 0.3s (no answer)" in message
    assert "cache" not in message and fx.http_url not in message


@pytest.mark.parametrize("rate", [True, False])
def test_timeouts_name_the_value_the_user_gave(fx: FakeExchange, rate: bool, caplog: pytest.LogCaptureFixture) -> None:
    from hyperliquid_client import RateLimitConfig

    config = ClientConfig(warm=False, rate=RateLimitConfig(enabled=rate))
    with Client(http_url=fx.http_url, wallet=KEY, config=config) as client:
        client.exchange.round_price("BTC", 50000)  # metadata loaded
        for bad in (0, -1, float("nan")):
            for call in (
                lambda bad=bad: client.info.meta(timeout=bad),
                lambda bad=bad: client.exchange.order("BTC", True, "0.01", "50000", timeout=bad),
                lambda bad=bad: client.streams.trades("BTC").get(timeout=bad),
            ):
                with pytest.raises(errors.InvalidInputError) as refused:
                    call()
                assert refused.value.field == "timeout" and str(refused.value).endswith(f"got {bad}")
        assert fx.requests_for("/exchange") == []
        fx.add_fault("/exchange", Fault.hang())
        with pytest.raises(errors.IndeterminateError, match=r"no complete response within 0\.3s \("):
            client.exchange.order("BTC", True, "0.01", "50000", timeout=0.3)
    assert "outcome unknown" in caplog.text and "exchange action answered" not in caplog.text


def test_key_and_setting_messages_say_each_thing_once() -> None:
    from hyperliquid_client import Wallet

    with pytest.raises(errors.InvalidInputError) as key:
        Wallet.from_key("0x" + "1" * 63)
    assert str(key.value) == (
        "invalid private key: expected 32 bytes: 64 hex digits (0x optional) or raw bytes (got 63 characters)"
    )
    with pytest.raises(errors.ConfigError) as setting:
        Client(account_address="0x12", config=CONFIG)
    assert str(setting.value).startswith("invalid setting account_address: expected an address")
    assert str(setting.value).count("invalid") == 1 and setting.value.setting == "account_address"


def test_spec_rules_between_parameters_are_checked_before_sending(fx: FakeExchange) -> None:
    with Client(http_url=fx.http_url, config=CONFIG) as client:
        with pytest.raises(errors.InvalidInputError, match=r"invalid mantissa: expected None unless n_sig_figs=5"):
            client.info.l2_book("BTC", mantissa=2)
        with pytest.raises(errors.InvalidInputError, match=r"n_sig_figs is 4"):
            client.info.l2_book("BTC", n_sig_figs=4, mantissa=2)
        with pytest.raises(errors.InvalidInputError, match=r"invalid start_time: expected at most end_time \(1000\)"):
            client.info.candle_snapshot("BTC", "1h", 2000, end_time=1000)
        with pytest.raises(errors.InvalidInputError, match="mantissa"):
            client.streams.l2_book("BTC", mantissa=5)
        assert fx.requests_for("/info", type="l2Book") == fx.requests_for("/info", type="candleSnapshot") == []
        client.info.l2_book("BTC", n_sig_figs=5, mantissa=2)
        client.info.candle_snapshot("BTC", "1h", 1000, end_time=1000)
    assert fx.requests_for("/info", type="l2Book")[-1].body["mantissa"] == 2
