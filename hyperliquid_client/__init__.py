"""``hyperliquid_client`` — a spec-driven, production-grade Python client for the Hyperliquid exchange.

::

    from hyperliquid_client import Client, AsyncClient

The client's methods are generated from the endpoint spec (``spec/``) into
``hyperliquid_client.generated``; the hand-written runtime (transport, signing, cache, WebSocket,
storage) lives in ``hyperliquid_client.runtime``; a local fake exchange for tests in
``hyperliquid_client.testing``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hyperliquid_client.runtime.config import MAINNET, TESTNET, Network
from hyperliquid_client.runtime.errors import (
    AddressLimitError,
    ApiRejectedError,
    CircuitOpenError,
    ConfigError,
    HyperliquidError,
    IndeterminateError,
    InvalidInputError,
    InvalidResponseError,
    RateLimitedError,
    TimeoutError,  # noqa: A004 - our TimeoutError (a TransportError), exported on purpose
    TransportError,
)
from hyperliquid_client.runtime.events import Event, EventBus

if TYPE_CHECKING:
    from hyperliquid_client.client import AsyncClient, Client, ClientConfig
    from hyperliquid_client.runtime.ratelimit import RateLimitConfig
    from hyperliquid_client.runtime.signing import Wallet

__version__ = "0.1.0"

# A library logs, the application decides where it goes: without configuration, nothing is printed.
logging.getLogger("hyperliquid_client").addHandler(logging.NullHandler())

__all__ = [
    "MAINNET",
    "TESTNET",
    "AddressLimitError",
    "ApiRejectedError",
    "AsyncClient",
    "CircuitOpenError",
    "Client",
    "ClientConfig",
    "ConfigError",
    "Event",
    "EventBus",
    "HyperliquidError",
    "IndeterminateError",
    "InvalidInputError",
    "InvalidResponseError",
    "Network",
    "RateLimitConfig",
    "RateLimitedError",
    "TimeoutError",
    "TransportError",
    "Wallet",
    "__version__",
]

_LAZY = {
    "Client": "hyperliquid_client.client",
    "AsyncClient": "hyperliquid_client.client",
    "ClientConfig": "hyperliquid_client.client",
    "RateLimitConfig": "hyperliquid_client.runtime.ratelimit",
    "Wallet": "hyperliquid_client.runtime.signing",
}


def __getattr__(name: str) -> Any:
    """Import the clients on first use, so ``import hyperliquid_client`` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hyperliquid_client' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
