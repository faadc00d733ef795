"""A private key never shows in an exception, whatever parameter it was passed in (issue 16).

The key of a loaded wallet is redacted in every message; any other long hex value (an address, a
key that is not loaded) is shortened; and a constructor that fails holds the key in no frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hyperliquid_client import AsyncClient, Client, ClientConfig
from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.testing import FakeExchange

HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY = "0x" + HEX


def _texts(exc: BaseException) -> list[str]:
    """Everything of ``exc`` a reporter may show: message, repr, args, attributes, the causes'."""
    out: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        out += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return out


def _assert_clean(exc: BaseException, hex_key: str = HEX) -> None:
    for text in _texts(exc):
        assert hex_key not in text.lower(), text


@pytest.fixture(scope="module")
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


@pytest.fixture
def client(fx: FakeExchange) -> Iterator[Client]:
    with Client(http_url=fx.http_url, wallet=KEY, config=ClientConfig(warm=False)) as c:
        yield c


CASES: dict[str, Callable[[Client, str], Any]] = {
    "info user": lambda c, k: c.info.clearinghouse_state(k),
    "transfer destination": lambda c, k: c.exchange.usd_send(k, "1"),
    "coin": lambda c, k: c.exchange.order(k, True, "0.01", "50000"),
    "cloid": lambda c, k: c.exchange.order("BTC", True, "0.01", "50000", cloid=k),
    "vault_address": lambda c, k: c.exchange.order("BTC", True, "0.01", "50000", vault_address=k),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("form", [KEY, KEY.upper().replace("0X", "0x"), HEX])
def test_a_loaded_key_in_a_wrong_parameter_is_redacted(client: Client, case: str, form: str) -> None:
    with pytest.raises(errors.HyperliquidError) as info:
        CASES[case](client, form)
    _assert_clean(info.value)


@pytest.mark.parametrize("param", ["account_address", "vault_address"])
def test_a_loaded_key_as_a_client_address_is_redacted(param: str) -> None:
    with pytest.raises(errors.HyperliquidError) as info:
        Client(http_url="http://127.0.0.1:9", wallet=KEY, config=ClientConfig(warm=False), **{param: KEY})
    _assert_clean(info.value)
    assert param in str(info.value)


def test_a_key_that_is_not_loaded_is_shortened(client: Client) -> None:
    other = Wallet.generate()._secret_hex()
    with pytest.raises(errors.InvalidInputError) as info:
        client.info.clearinghouse_state("0x" + other)
    _assert_clean(info.value, other)
    assert "0x" + other[:4] + "…(66 chars)" in str(info.value)  # recognisable, not usable
    with pytest.raises(errors.InvalidInputError, match=r"got '0xabab…\(40 chars\)'"):
        client.info.clearinghouse_state("0x" + "ab" * 19)  # a short address: shortened too


@pytest.mark.parametrize("cls", [Client, AsyncClient])
@pytest.mark.parametrize("bad", [{"http_url": "ftp://example.com"}, {"config": 5}])
def test_a_failed_construction_leaves_the_key_in_no_frame(cls: type[Any], bad: dict[str, Any]) -> None:
    with pytest.raises(errors.ConfigError) as info:
        cls(wallet="0x" + HEX, **bad)
    tb = info.tb.tb_next  # the library's frames (this test's own frame holds its arguments)
    assert tb is not None
    while tb is not None:
        for name, value in tb.tb_frame.f_locals.items():
            assert HEX not in repr(value).lower(), f"{tb.tb_frame.f_code.co_name}: {name}"
        tb = tb.tb_next
    _assert_clean(info.value)


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_a_mistyped_key_is_in_no_frame_either(cls: type[Any]) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        cls(wallet="0x" + HEX + "\n", http_url="http://127.0.0.1:9")
    tb = info.tb.tb_next
    while tb is not None:
        for name, value in tb.tb_frame.f_locals.items():
            assert HEX not in repr(value).lower(), f"{tb.tb_frame.f_code.co_name}: {name}"
        tb = tb.tb_next
    _assert_clean(info.value)
