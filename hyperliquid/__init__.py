"""``hyperliquid`` — a spec-driven, production-grade Python client for the Hyperliquid exchange.

::

    from hyperliquid import Client, AsyncClient

The client's methods are generated from the endpoint spec (``spec/``) into
``hyperliquid.generated``; the hand-written runtime (transport, signing, cache, WebSocket,
storage) lives in ``hyperliquid.runtime``; a local fake exchange for tests in
``hyperliquid.testing``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hyperliquid.runtime.config import MAINNET, TESTNET, Network
from hyperliquid.runtime.errors import (
    ApiRejectedError,
    ConfigError,
    HyperliquidError,
    IndeterminateError,
    InvalidInputError,
    InvalidResponseError,
    RateLimitedError,
    TimeoutError,  # noqa: A004 - our TimeoutError (a TransportError), exported on purpose
    TransportError,
)
from hyperliquid.runtime.events import Event, EventBus

if TYPE_CHECKING:
    from hyperliquid.client import AsyncClient, Client, ClientConfig
    from hyperliquid.runtime.signing import Wallet

__version__ = "0.1.0"

# A library logs, the application decides where it goes: without configuration, nothing is printed.
logging.getLogger("hyperliquid").addHandler(logging.NullHandler())

__all__ = [
    "MAINNET",
    "TESTNET",
    "ApiRejectedError",
    "AsyncClient",
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
    "RateLimitedError",
    "TimeoutError",
    "TransportError",
    "Wallet",
    "__version__",
]

_LAZY = {
    "Client": "hyperliquid.client",
    "AsyncClient": "hyperliquid.client",
    "ClientConfig": "hyperliquid.client",
    "Wallet": "hyperliquid.runtime.signing",
}


def __getattr__(name: str) -> Any:
    """Import the clients on first use, so ``import hyperliquid`` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hyperliquid' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
