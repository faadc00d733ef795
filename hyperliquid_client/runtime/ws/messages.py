"""What a subscriber receives: data :class:`Message` objects and control markers.

Iterating a subscription (or its callback) yields one of:

* :class:`Message` — one data message (``data`` decoded when the subscription has a decoder); ``recovered`` is True
  for items fetched over HTTP after a gap (never delivered twice).
* :class:`Interrupted` — the connection carrying the stream was lost; data may be missing until :class:`Resumed`.
* :class:`Resumed` — the stream is subscribed again (for user channels gap recovery follows as recovered messages).
* :class:`Dropped` — ``count`` messages were discarded by the overflow policy since the last read.
* :class:`Stale` — connected, but no data for ``silence`` seconds.
* :class:`Gap` — recovery after an interruption failed: items between ``since_ms`` and now may be missing.
* :class:`DecodeFailed` — a message could not be decoded; ``raw`` is the undecoded data.

Markers are plain frozen classes; ``isinstance(item, Message)`` separates data from control.
"""

from __future__ import annotations

from typing import Any, Generic, TypeAlias, TypeVar

import attrs

from hyperliquid_client.runtime.errors import WebSocketError

__all__ = [
    "BufferOverflowError",
    "DecodeFailed",
    "Dropped",
    "Gap",
    "Interrupted",
    "Message",
    "Resumed",
    "Stale",
    "StreamItem",
    "SubscriptionFailedError",
    "WsItem",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@attrs.frozen(slots=True)
class Message(Generic[T_co]):
    """One data message of a subscription (immutable, so a ``Message[Trade]`` is a ``Message[object]``)."""

    data: T_co
    channel: str
    recovered: bool = False


@attrs.frozen(slots=True)
class Interrupted:
    """The stream's connection was lost (``reason``); data may be missing until :class:`Resumed`."""

    reason: str


@attrs.frozen(slots=True)
class Resumed:
    """The stream was re-subscribed after ``downtime`` seconds."""

    downtime: float


@attrs.frozen(slots=True)
class Dropped:
    """``count`` messages were dropped by the overflow ``policy`` since the previous read (``total`` so far)."""

    count: int
    total: int
    policy: str


@attrs.frozen(slots=True)
class Stale:
    """Connected but silent for ``silence`` seconds (``resubscribed`` when a resubscription was triggered)."""

    silence: float
    resubscribed: bool


@attrs.frozen(slots=True)
class Gap:
    """Gap recovery failed: items after ``since_ms`` may be missing; ``error`` says why."""

    since_ms: int | None
    error: str


@attrs.frozen(slots=True)
class DecodeFailed:
    """The decoder raised ``error`` for ``raw``; the message is not delivered as data."""

    raw: Any
    error: str


StreamItem: TypeAlias = Message[T] | Interrupted | Resumed | Dropped | Stale | Gap | DecodeFailed
"""What a stream of ``T`` delivers: a data :class:`Message` of ``T`` or a control marker
(``isinstance(item, Message)`` separates them)."""
WsItem: TypeAlias = StreamItem[Any]


class SubscriptionFailedError(WebSocketError):
    """The subscription ended abnormally (rejected by the server, connection gave up, client closed with an error).

    ``key`` is the subscription's identity (text).
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class BufferOverflowError(SubscriptionFailedError):
    """A subscriber with the ``"error"`` overflow policy fell ``buffer_size`` messages behind."""
