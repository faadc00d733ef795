"""``hyperliquid_client`` — a spec-driven, production-grade Python client for the Hyperliquid exchange.

::

    from hyperliquid_client import Client, AsyncClient

Everything a program handles is importable from here: the clients and their configuration, the results of
signed actions (``Resting``, ``Filled``, ``OrderError``…), order requests, every exception, and the stream
types and items (``SyncStream``, ``AsyncStream``, ``Message``, ``Interrupted``…).  Besides the exceptions,
they are imported on first use, so ``import hyperliquid_client`` stays cheap.

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
    EventLoopError,
    HTTPStatusError,
    HyperliquidError,
    IndeterminateError,
    InvalidInputError,
    InvalidResponseError,
    MetadataUnavailableError,
    NativeBackendUnavailableError,
    RateLimitedError,
    SignatureMismatchError,
    SigningError,
    StorageError,
    StorageOverflowError,
    SubscriptionLimitError,
    TimeoutError,  # noqa: A004 - our TimeoutError (a TransportError), exported on purpose
    TransportError,
    WebSocketError,
)
from hyperliquid_client.runtime.events import Event, EventBus

if TYPE_CHECKING:
    from hyperliquid_client.client import AsyncClient, Client, ClientConfig
    from hyperliquid_client.generated.requests import (
        AddressEncoding,
        AgentAbstraction,
        Aqav2Role,
        BorrowLendOperation,
        CSignerVariant,
        CValidatorVariant,
        FinalizeEvmInput,
        Grouping,
        OutcomeDeployerActivation,
        OutcomeOperation,
        PerpDeployVariant,
        SpotDeployVariant,
        Tif,
        UserAbstraction,
        UserOutcomeVariant,
    )
    from hyperliquid_client.runtime.cache import CacheConfig, FetchCancelledError
    from hyperliquid_client.runtime.exchange import (
        AgentApproval,
        BuilderFee,
        CancelByCloidRequest,
        CancelRequest,
        ModifyRequest,
        OrderRequest,
        TriggerSpec,
    )
    from hyperliquid_client.runtime.hub import AsyncStream, SyncStream
    from hyperliquid_client.runtime.ratelimit import RateLimitConfig
    from hyperliquid_client.runtime.results import (
        ExchangeResult,
        Filled,
        OrderError,
        Resting,
        Status,
        Success,
        TwapRunning,
        Waiting,
    )
    from hyperliquid_client.runtime.signing import Signature, Wallet
    from hyperliquid_client.runtime.storage import (
        InvalidRowError,
        StorageConfig,
        StorageUnavailableError,
    )
    from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig
    from hyperliquid_client.runtime.ws import (
        Batch,
        BufferOverflowError,
        DecodeFailed,
        Dropped,
        Gap,
        Interrupted,
        InvalidSubscriptionError,
        Message,
        Resumed,
        Stale,
        StreamClosedError,
        StreamItem,
        SubscriptionFailedError,
        WsConfig,
        WsItem,
    )

__version__ = "0.1.0"

# A library logs, the application decides where it goes: without configuration, nothing is printed.
logging.getLogger("hyperliquid_client").addHandler(logging.NullHandler())

# Names imported on first use (``import hyperliquid_client`` stays cheap), by module.
_LAZY_MODULES = {
    "hyperliquid_client.client": ("AsyncClient", "Client", "ClientConfig"),
    "hyperliquid_client.runtime.cache": ("CacheConfig", "FetchCancelledError"),
    "hyperliquid_client.runtime.exchange": (
        "AgentApproval",
        "BuilderFee",
        "CancelByCloidRequest",
        "CancelRequest",
        "ModifyRequest",
        "OrderRequest",
        "TriggerSpec",
    ),
    # the literal types of the exchange methods' parameters (``tif: Tif``), to annotate what you pass
    "hyperliquid_client.generated.requests": (
        "AddressEncoding",
        "AgentAbstraction",
        "Aqav2Role",
        "BorrowLendOperation",
        "CSignerVariant",
        "CValidatorVariant",
        "FinalizeEvmInput",
        "Grouping",
        "OutcomeDeployerActivation",
        "OutcomeOperation",
        "PerpDeployVariant",
        "SpotDeployVariant",
        "Tif",
        "UserAbstraction",
        "UserOutcomeVariant",
    ),
    "hyperliquid_client.runtime.hub": ("AsyncStream", "SyncStream"),
    "hyperliquid_client.runtime.ratelimit": ("RateLimitConfig",),
    "hyperliquid_client.runtime.results": (
        "ExchangeResult",
        "Filled",
        "OrderError",
        "Resting",
        "Status",
        "Success",
        "TwapRunning",
        "Waiting",
    ),
    "hyperliquid_client.runtime.signing": ("Signature", "Wallet"),
    "hyperliquid_client.runtime.storage": ("InvalidRowError", "StorageConfig", "StorageUnavailableError"),
    "hyperliquid_client.runtime.transport": ("RetryPolicy", "TransportConfig"),
    "hyperliquid_client.runtime.ws": (
        "Batch",
        "BufferOverflowError",
        "DecodeFailed",
        "Dropped",
        "Gap",
        "Interrupted",
        "InvalidSubscriptionError",
        "Message",
        "Resumed",
        "Stale",
        "StreamClosedError",
        "StreamItem",
        "SubscriptionFailedError",
        "WsConfig",
        "WsItem",
    ),
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}

__all__ = [
    "MAINNET",
    "TESTNET",
    "AddressEncoding",
    "AddressLimitError",
    "AgentAbstraction",
    "AgentApproval",
    "ApiRejectedError",
    "Aqav2Role",
    "AsyncClient",
    "AsyncStream",
    "Batch",
    "BorrowLendOperation",
    "BufferOverflowError",
    "BuilderFee",
    "CSignerVariant",
    "CValidatorVariant",
    "CacheConfig",
    "CancelByCloidRequest",
    "CancelRequest",
    "CircuitOpenError",
    "Client",
    "ClientConfig",
    "ConfigError",
    "DecodeFailed",
    "Dropped",
    "Event",
    "EventBus",
    "EventLoopError",
    "ExchangeResult",
    "FetchCancelledError",
    "Filled",
    "FinalizeEvmInput",
    "Gap",
    "Grouping",
    "HTTPStatusError",
    "HyperliquidError",
    "IndeterminateError",
    "Interrupted",
    "InvalidInputError",
    "InvalidResponseError",
    "InvalidRowError",
    "InvalidSubscriptionError",
    "Message",
    "MetadataUnavailableError",
    "ModifyRequest",
    "NativeBackendUnavailableError",
    "Network",
    "OrderError",
    "OrderRequest",
    "OutcomeDeployerActivation",
    "OutcomeOperation",
    "PerpDeployVariant",
    "RateLimitConfig",
    "RateLimitedError",
    "Resting",
    "Resumed",
    "RetryPolicy",
    "Signature",
    "SignatureMismatchError",
    "SigningError",
    "SpotDeployVariant",
    "Stale",
    "Status",
    "StorageConfig",
    "StorageError",
    "StorageOverflowError",
    "StorageUnavailableError",
    "StreamClosedError",
    "StreamItem",
    "SubscriptionFailedError",
    "SubscriptionLimitError",
    "Success",
    "SyncStream",
    "Tif",
    "TimeoutError",
    "TransportConfig",
    "TransportError",
    "TriggerSpec",
    "TwapRunning",
    "UserAbstraction",
    "UserOutcomeVariant",
    "Waiting",
    "Wallet",
    "WebSocketError",
    "WsConfig",
    "WsItem",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import the clients, results and the rest on first use, so ``import hyperliquid_client`` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hyperliquid_client' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
