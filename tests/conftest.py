"""Every test starts with no rate-limit ledger left by another test.

A client's budget and 429 backoff are kept per IP, API host and window for the whole process
(``hyperliquid_client.runtime.ratelimit.limiter._SCOPES``), as a bot that recreates its client must not forget a
429.  Each test's fake exchange listens on a fresh port, but the system may hand out a port an earlier test's fake
used: that test's 429 backoff would then hold back this test's first call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hyperliquid_client.runtime.ratelimit import limiter


@pytest.fixture(autouse=True)
def _fresh_rate_ledgers() -> Iterator[None]:
    with limiter._SCOPES_LOCK:
        limiter._SCOPES.clear()
    yield
