"""How generated subscribe methods reach the WebSocket runtime.

A generated method validates its arguments, builds the subscription message and calls
``hub.subscribe(channel, subscription, decode, ...)``.  The client's stream hub records it at
once and returns a stream (an iterator of delivered items); the recording hubs here remember
the calls, for unit tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar

import attrs

from hyperliquid_client.runtime.registry import ChannelSpec
from hyperliquid_client.runtime.ws.channels import SubscriptionKey
from hyperliquid_client.runtime.ws.messages import Gap, Message, StreamItem

__all__ = [
    "AsyncHub",
    "AsyncRecordingHub",
    "AsyncStream",
    "RecordedSubscribe",
    "RecordingHub",
    "SyncHub",
    "SyncStream",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _StreamState(Protocol, Generic[T_co]):
    """What sync and async streams share: counters, state, the non-blocking reads and ``cancel``."""

    @property
    def key(self) -> SubscriptionKey:
        """The subscription's identity (type + normalized parameters)."""
        ...

    @property
    def delivered(self) -> int:
        """Data messages handed to the consumer so far."""
        ...

    @property
    def dropped(self) -> int:
        """Messages discarded by the overflow policy so far."""
        ...

    @property
    def buffered(self) -> int:
        """Items waiting in the buffer."""
        ...

    @property
    def closed(self) -> bool:
        """True once the subscription ended (cancelled, failed, or the client closed)."""
        ...

    @property
    def error(self) -> BaseException | None:
        """Why the subscription failed, if it did."""
        ...

    def get_nowait(self) -> StreamItem[T_co] | None:
        """The next buffered item, or ``None`` when nothing is waiting (also after the end)."""
        ...

    def drain(self) -> Sequence[StreamItem[T_co]]:
        """Every buffered item at once (possibly none; ``[]`` after the end)."""
        ...

    def cancel(self) -> None:
        """Cancel the subscription (idempotent)."""
        ...


class SyncStream(_StreamState[T_co], Protocol[T_co]):
    """A subscription consumed from a thread (what ``client.streams.<channel>(...)`` returns).

    Iterate it (every item: data :class:`~hyperliquid_client.runtime.ws.Message` or a control marker), read
    ``data(timeout=...)`` (decoded payloads only), poll ``get_nowait()`` / ``drain()``, or pass ``callback=`` when
    subscribing.  ``with client.streams.trades("BTC") as trades:`` cancels it on exit; so do ``cancel()`` and
    ``close()``.  :class:`AsyncStream` is the same surface for asyncio.
    """

    def __iter__(self) -> Iterator[StreamItem[T_co]]:
        """Every item until the subscription ends."""
        ...

    def get(self, timeout: float | None = None) -> StreamItem[T_co]:
        """The next item, waiting at most ``timeout`` seconds (``TimeoutError``); ``StreamClosedError`` at the end."""
        ...

    def data(self, timeout: float | None = None) -> Iterator[T_co]:
        """Only the decoded payloads; ``timeout`` bounds the wait for each one (``TimeoutError``)."""
        ...

    def wait_live(self, timeout: float | None = None) -> None:
        """Block until the server has acknowledged the subscription."""
        ...

    def recover(self, since_ms: int | None = None, until_ms: int | None = None) -> Sequence[Message[T_co] | Gap]:
        """Items missed (after a ``BufferOverflowError``, or in a time range), fetched over HTTP."""
        ...

    def close(self) -> None:
        """Cancel the subscription (same as :meth:`cancel`)."""
        ...

    def __enter__(self) -> Self:
        """The stream itself; leaving the block cancels it."""
        ...

    def __exit__(self, *exc: object) -> None:
        """Cancel the subscription."""
        ...


class AsyncStream(_StreamState[T_co], Protocol[T_co]):
    """A subscription consumed from asyncio (what ``await async_client.streams.<channel>(...)`` returns).

    The surface of :class:`SyncStream` with awaitable waits: ``async for item in stream``, ``await
    stream.get(timeout=...)``, ``async for data in stream.data(timeout=...)``, ``stream.get_nowait()`` /
    ``stream.drain()``; ``async with await aclient.streams.trades("BTC") as trades:`` cancels it on exit, so do
    ``cancel()`` and ``await close()``.
    """

    def __aiter__(self) -> AsyncIterator[StreamItem[T_co]]:
        """Every item until the subscription ends."""
        ...

    async def get(self, timeout: float | None = None) -> StreamItem[T_co]:
        """The next item, waiting at most ``timeout`` seconds (``TimeoutError``); ``StreamClosedError`` at the end."""
        ...

    def data(self, timeout: float | None = None) -> AsyncIterator[T_co]:
        """Only the decoded payloads; ``timeout`` bounds the wait for each one (``TimeoutError``)."""
        ...

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until the server has acknowledged the subscription."""
        ...

    async def recover(self, since_ms: int | None = None, until_ms: int | None = None) -> Sequence[Message[T_co] | Gap]:
        """Items missed (after a ``BufferOverflowError``, or in a time range), fetched over HTTP."""
        ...

    async def close(self) -> None:
        """Cancel the subscription (the awaitable spelling of :meth:`cancel`)."""
        ...

    async def __aenter__(self) -> Self:
        """The stream itself; leaving the block cancels it."""
        ...

    async def __aexit__(self, *exc: object) -> None:
        """Cancel the subscription."""
        ...


class SyncHub(Protocol):
    """What :class:`~hyperliquid_client.generated.streams.Streams` calls."""

    def subscribe(
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any] | None,
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> SyncStream[Any]:
        """Record ``subscription`` and return its stream."""
        ...


class AsyncHub(Protocol):
    """What :class:`~hyperliquid_client.generated.streams.AsyncStreams` awaits."""

    async def subscribe(
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any] | None,
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> AsyncStream[Any]:
        """Record ``subscription`` and return its stream."""
        ...


@attrs.frozen
class RecordedSubscribe:
    """One subscribe call seen by a recording hub."""

    spec: ChannelSpec
    subscription: dict[str, Any]
    decode: Callable[[Any], Any] | None
    callback: Callable[[Any], Any] | None
    buffer_size: int | None
    overflow: str | None
    store: bool = False


class RecordingHub:
    """A :class:`SyncHub` that only records subscribe calls (returns ``None`` as the stream)."""

    def __init__(self) -> None:
        self.calls: list[RecordedSubscribe] = []

    def subscribe(
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any] | None,
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> Any:
        """Record the call."""
        self.calls.append(RecordedSubscribe(channel, subscription, decode, callback, buffer_size, overflow, store))
        return None


class AsyncRecordingHub(RecordingHub):
    """The asynchronous twin of :class:`RecordingHub`."""

    async def subscribe(  # type: ignore[override,unused-ignore]
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any] | None,
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> Any:
        """Record the call."""
        return RecordingHub.subscribe(
            self,
            channel,
            subscription,
            decode,
            callback=callback,
            buffer_size=buffer_size,
            overflow=overflow,
            store=store,
        )
