"""Two guards before anything is signed or sent: a mixed-case address must be its EIP-55 checksum (one mistyped
character would send funds to an address nobody holds), and a call whose timeout ran out is not posted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from test_exchange_support import KEY_A, exchange_posts

from hyperliquid_client import AsyncClient, Client, ClientConfig
from hyperliquid_client.runtime import validate
from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.errors import TimeoutError as HlTimeoutError
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.runtime.signing import Wallet
from hyperliquid_client.runtime.signing.wallet import checksum_address, normalize_address
from hyperliquid_client.testing import FakeExchange

PLAIN = "0x3940dff13940dff13940dff13940dff13940dff1"
GOOD = checksum_address(PLAIN)  # mixed case, its checksum
TYPO = GOOD[:5] + ("2" if GOOD[5] != "2" else "3") + GOOD[6:]  # one digit changed: the case no longer checks out
_FIRST = next(i for i, c in enumerate(GOOD) if i > 1 and c.isalpha())
SWAPPED = GOOD[:_FIRST] + GOOD[_FIRST].swapcase() + GOOD[_FIRST + 1 :]  # one letter's case changed


def test_the_test_addresses_are_what_they_claim() -> None:
    assert GOOD[2:] not in (GOOD[2:].lower(), GOOD[2:].upper())
    assert checksum_address(TYPO.lower()) != TYPO and checksum_address(SWAPPED.lower()) != SWAPPED


@pytest.mark.parametrize("check", [normalize_address, lambda a, f: validate.address(f, a)])
def test_a_mixed_case_address_must_be_its_checksum(check: Any) -> None:
    for fine in (PLAIN, PLAIN.upper().replace("0X", "0x"), GOOD, TYPO.lower()):
        assert check(fine, "destination") == fine.lower()
    for bad in (TYPO, SWAPPED):
        with pytest.raises(InvalidInputError, match="EIP-55 checksum") as info:
            check(bad, "destination")
        assert info.value.field == "destination"


def test_an_address_signed_as_text_keeps_its_case_and_is_checked_too() -> None:
    assert validate.address_text("destination", GOOD) == GOOD
    with pytest.raises(InvalidInputError, match="EIP-55 checksum"):
        validate.address_text("destination", TYPO)


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.fund(Wallet.from_key(KEY_A).address, 10_000)
        yield fake


def test_a_mistyped_destination_or_vault_is_refused_before_signing(fx: FakeExchange) -> None:
    with Client("testnet", http_url=fx.http_url, wallet=Wallet.from_key(KEY_A)) as client:
        client.exchange.order("BTC", True, "0.001", "97000")  # (metadata loaded)
        before = len(exchange_posts(fx))
        with pytest.raises(InvalidInputError, match="destination") as sent:
            client.exchange.usd_send(TYPO, "10")
        assert "checksum" in str(sent.value)
        with pytest.raises(InvalidInputError, match="destination"):
            client.exchange.withdraw(TYPO, "10")
        with pytest.raises(InvalidInputError, match="vault_address"):
            client.exchange.order("BTC", True, "0.001", "97000", vault_address=TYPO)
        assert len(exchange_posts(fx)) == before  # nothing signed went out
        assert client.exchange.usd_send(GOOD, "10").ok  # the right one goes, as written
        assert exchange_posts(fx)[-1]["action"]["destination"] == GOOD


@pytest.mark.parametrize("rate", [None, RateLimitConfig(enabled=False)], ids=["rate limited", "no limiter"])
def test_a_call_whose_timeout_ran_out_is_not_posted(fx: FakeExchange, rate: RateLimitConfig | None) -> None:
    config = ClientConfig() if rate is None else ClientConfig(rate=rate)
    with Client("testnet", http_url=fx.http_url, wallet=Wallet.from_key(KEY_A), config=config) as client:
        client.exchange.order("BTC", True, "0.001", "97000")  # (metadata loaded: only the send is timed)
        before = len(exchange_posts(fx))
        for timeout in (1e-9, 1e-7):
            with pytest.raises(HlTimeoutError, match="nothing was sent") as info:
                client.exchange.order("BTC", True, "0.001", "97000", timeout=timeout)
            assert info.value.request_sent is False
        assert len(exchange_posts(fx)) == before
        assert client.exchange.order("BTC", True, "0.001", "97000", timeout=5).ok  # time enough: it goes


def test_an_async_call_whose_timeout_ran_out_is_not_posted(fx: FakeExchange) -> None:
    async def main() -> None:
        async with AsyncClient("testnet", http_url=fx.http_url, wallet=Wallet.from_key(KEY_A)) as client:
            await client.exchange.order("BTC", True, "0.001", "97000")
            before = len(exchange_posts(fx))
            with pytest.raises(HlTimeoutError, match="nothing was sent") as info:
                await client.exchange.order("BTC", True, "0.001", "97000", timeout=1e-9)
            assert info.value.request_sent is False
            assert len(exchange_posts(fx)) == before

    asyncio.run(main())
