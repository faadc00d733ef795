"""What a subscriber receives: data :class:`Message` objects and control markers.

Iterating a subscription (or its callback) yields one of:

* :class:`Message` — one data message (``data`` decoded when the subscription has a decoder); ``recovered`` is True
  for items fetched over HTTP after a gap (never delivered twice).
* :class:`Interrupted` — the connection carrying the stream was lost; data may be missing until :class:`Resumed`.
* :class:`Resumed` — the stream is subscribed again (for user channels gap recovery follows as recovered messages).
* :class:`Dropped` — ``count`` messages were discarded by the overflow policy since the last read.
* :class:`Stale` — connected, but no data for ``silence`` seconds.
* :class:`Gap` — items between ``since_ms`` and ``until_ms`` could not be recovered after an interruption and may be
  missing.
* :class:`DecodeFailed` — a message could not be decoded; ``raw`` is the undecoded data.

Markers are plain frozen classes; ``isinstance(item, Message)`` separates data from control.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeAlias, TypeVar

from hyperliquid_client.runtime.errors import InvalidInputError, WebSocketError
from hyperliquid_client.runtime.model import Model, builder, setters
from hyperliquid_client.runtime.record import frozen

__all__ = [
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
    "WsItem",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Message(Model, Generic[T_co]):
    """One data message of a subscription (immutable, so a ``Message[Trade]`` is a ``Message[object]``).

    Every subscriber of a stream receives the same object (built once per message and decoder).
    """

    __slots__ = ("data", "channel", "recovered")  # noqa: RUF023 - the repr's order

    data: T_co
    channel: str
    recovered: bool

    def __init__(self, data: T_co, channel: str, recovered: bool = False) -> None:
        _set_data(self, data)
        _set_channel(self, channel)
        _set_recovered(self, recovered)


_set_data, _set_channel, _set_recovered = setters(Message, "data", "channel", "recovered")
_fill = builder(Message)


def new_message(data: Any, channel: str, recovered: bool) -> Message[Any]:
    """``Message(data, channel, recovered)`` without the call through ``__init__`` (the delivery hot path): filled
    by three plain stores into a builder instance that then becomes an ordinary ``Message`` (see
    :func:`~hyperliquid_client.runtime.model.builder`; ~160 ns against ~260 through the three setters)."""
    m = _fill()
    m.data = data
    m.channel = channel
    m.recovered = recovered
    m.__class__ = Message
    return m


@frozen
class Interrupted:
    """The stream's connection was lost (``reason``); data may be missing until :class:`Resumed`."""

    reason: str


@frozen
class Resumed:
    """The stream was re-subscribed after ``downtime`` seconds."""

    downtime: float


@frozen
class Dropped:
    """``count`` messages were dropped by the overflow ``policy`` since the previous read (``total`` so far)."""

    count: int
    total: int
    policy: str


@frozen
class Stale:
    """Connected but silent for ``silence`` seconds (``resubscribed`` when a resubscription was triggered)."""

    silence: float
    resubscribed: bool


@frozen
class Gap:
    """Items between ``since_ms`` and ``until_ms`` (ms, inclusive; ``until_ms`` ``None``: up to the first item received
    after the stream resumed) could not be recovered and may be missing; ``error`` says why."""

    since_ms: int | None
    until_ms: int | None
    error: str


@frozen
class DecodeFailed:
    """The decoder raised ``error`` for ``raw``; the message is not delivered as data.

    Also what the reader of a market-data frame held as its text gets when the frame is not what its beginning said
    (it does not parse, or parses to another channel or coin): ``raw`` is the text, or the frame as parsed."""

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


class InvalidSubscriptionError(SubscriptionFailedError, InvalidInputError):
    """A parameter of the subscription was refused before its subscribe frame was sent (e.g. a coin the market
    metadata does not list).

    When the metadata is already loaded, subscribing raises :class:`InvalidInputError` at once; before that the
    subscription is recorded and checked in the background, and then fails with this error (from ``get()``,
    ``wait_live()``, iteration and ``sub.error``): an ``InvalidInputError`` (``field``, ``expected``, ``got``) and a
    :class:`SubscriptionFailedError` (``key``) at once, so ``except InvalidInputError`` catches it either way.
    """

    def __init__(self, cause: InvalidInputError, *, key: str | None = None) -> None:
        InvalidInputError.__init__(self, cause.field, cause.expected, cause.got)
        self.message = f"subscription refused before sending: {self.message}"
        self.args = (self.message,)
        self.key = key
        self.endpoint = self.url = None
        self.request_sent = False


class StreamClosedError(WebSocketError):
    """:meth:`get` was called on a stream that ended normally and holds nothing more: it was cancelled (``cancel()``,
    ``close()``, leaving its ``with`` block) or its client was closed; the message says which.

    The one end-of-stream signal of every stream, sync and async: iteration and ``data()`` just stop, ``get_nowait()``
    returns ``None`` and ``drain()`` returns what was left, then ``[]``.  A subscription that *failed* raises its
    failure instead (:class:`SubscriptionFailedError`).
    """


class BufferOverflowError(SubscriptionFailedError):
    """A subscriber with the ``"error"`` overflow policy fell ``buffer_size`` messages behind.

    Everything buffered before the overflow is still delivered; then this error ends the subscription.  What did
    not fit happened at or after ``since_ms`` (the newest item time delivered to this subscriber, ``None`` when
    nothing with a time was): ``await sub.recover()`` (``sub.recover()`` for a sync stream) fetches it over HTTP,
    without the items at ``since_ms`` that were already delivered (``skip`` holds their identities).
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        since_ms: int | None = None,
        skip: frozenset[Hashable] = frozenset(),
    ) -> None:
        super().__init__(message, key=key)
        self.since_ms = since_ms
        self.skip = skip
