"""WebSocket runtime: subscriptions that survive the network, shared upstream subscriptions, gap recovery,
latest values and requests over the socket.  See ``docs/websocket.md``."""

from hyperliquid_client.runtime.ws.channels import ChannelInfo, SubscriptionKey, make_key, validate_params
from hyperliquid_client.runtime.ws.client import RecoverFn, WsClient
from hyperliquid_client.runtime.ws.config import OVERFLOW_POLICIES, Overflow, WsConfig
from hyperliquid_client.runtime.ws.messages import (
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
    WsItem,
)
from hyperliquid_client.runtime.ws.subscription import Batch, Subscription
from hyperliquid_client.runtime.ws.sync import SyncSubscription, SyncWsClient

__all__ = [
    "OVERFLOW_POLICIES",
    "Batch",
    "BufferOverflowError",
    "ChannelInfo",
    "DecodeFailed",
    "Dropped",
    "Gap",
    "Interrupted",
    "InvalidSubscriptionError",
    "Message",
    "Overflow",
    "RecoverFn",
    "Resumed",
    "Stale",
    "StreamClosedError",
    "StreamItem",
    "Subscription",
    "SubscriptionFailedError",
    "SubscriptionKey",
    "SyncSubscription",
    "SyncWsClient",
    "WsClient",
    "WsConfig",
    "WsItem",
    "make_key",
    "validate_params",
]
