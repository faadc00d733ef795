"""The local fake Hyperliquid exchange: a real HTTP + WebSocket server on 127.0.0.1 for tests and demos.

Example::

    from hyperliquid_client.testing import FakeExchange, Fault

    with FakeExchange() as fx:
        fx.add_fault("/info", Fault.rate_limited(retry_after=1), count=1)
        ...  # point a client at fx.http_url / fx.ws_url

Requires the ``testing`` extra (aiohttp): ``pip install 'hyperliquid-client[testing]'``.  See ``docs/testing.md``.
"""

import sys

try:
    import aiohttp  # noqa: F401 - the server's one extra dependency
except ModuleNotFoundError as _exc:
    if _exc.name != "aiohttp":
        raise
    _NEEDS = "the fake exchange (hyperliquid_client.testing) needs the 'testing' extra: "
    _NEEDS += "pip install 'hyperliquid-client[testing]'"
    if sys.argv[:1] == ["-m"]:  # `python -m` is locating our __main__ (documented argv[0]): a line, no traceback
        raise SystemExit(f"python -m hyperliquid_client.testing: {_NEEDS}") from None
    raise ModuleNotFoundError(_NEEDS, name="aiohttp") from None

from hyperliquid_client.testing.engine import HOUSE_ADDRESS, ExchangeEngine
from hyperliquid_client.testing.faults import Fault, FaultHandle, FaultKind
from hyperliquid_client.testing.fixtures import Fixture, iter_fixtures
from hyperliquid_client.testing.handlers import DESERIALIZE_ERROR, ExchangeHandler, Reply, ok_answer
from hyperliquid_client.testing.market import MarketData, seed_market
from hyperliquid_client.testing.recording import RecordedRequest
from hyperliquid_client.testing.server import FakeExchange, SubscribeHook
from hyperliquid_client.testing.state import ExchangeState, UserState
from hyperliquid_client.testing.subscriptions import normalize_subscription

__all__ = [
    "DESERIALIZE_ERROR",
    "HOUSE_ADDRESS",
    "ExchangeEngine",
    "ExchangeHandler",
    "ExchangeState",
    "FakeExchange",
    "Fault",
    "FaultHandle",
    "FaultKind",
    "Fixture",
    "MarketData",
    "RecordedRequest",
    "Reply",
    "SubscribeHook",
    "UserState",
    "iter_fixtures",
    "normalize_subscription",
    "ok_answer",
    "seed_market",
]
