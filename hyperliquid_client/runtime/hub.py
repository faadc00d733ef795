"""How generated subscribe methods reach the WebSocket runtime.

A generated method validates its arguments, builds the subscription message and calls
``hub.subscribe(channel, subscription, decode, ...)``.  The client's stream hub records it at
once and returns a stream (an iterator of delivered items); the recording hubs here remember
the calls, for unit tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

import attrs

from hyperliquid_client.runtime.registry import ChannelSpec

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


class SyncStream(Protocol, Generic[T_co]):
    """A subscription consumed from a thread: iterate it, or pass a callback; ``close()`` ends it."""

    def __iter__(self) -> Iterator[Any]:
        """Delivered items (see ``docs/websocket.md`` for the item type)."""
        ...

    def get(self, timeout: float | None = None) -> Any:
        """The next item, waiting at most ``timeout`` seconds."""
        ...

    def get_nowait(self) -> Any:
        """The next buffered item, or ``None``."""
        ...

    def data(self, timeout: float | None = None) -> Iterator[T_co]:
        """Only the decoded payloads."""
        ...

    def close(self) -> None:
        """Cancel the subscription."""
        ...


class AsyncStream(Protocol, Generic[T_co]):
    """A subscription consumed from asyncio: ``async for``, or a callback; ``await close()`` ends it."""

    def __aiter__(self) -> AsyncIterator[Any]:
        """Delivered items (see ``docs/websocket.md`` for the item type)."""
        ...

    async def get(self, timeout: float | None = None) -> Any:
        """The next item, waiting at most ``timeout`` seconds."""
        ...

    async def close(self) -> None:
        """Cancel the subscription."""
        ...


class SyncHub(Protocol):
    """What :class:`~hyperliquid_client.generated.streams.Streams` calls."""

    def subscribe(
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any],
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> Any:
        """Record ``subscription`` and return its stream."""
        ...


class AsyncHub(Protocol):
    """What :class:`~hyperliquid_client.generated.streams.AsyncStreams` awaits."""

    async def subscribe(
        self,
        channel: ChannelSpec,
        subscription: dict[str, Any],
        decode: Callable[[Any], Any],
        *,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        store: bool = False,
    ) -> Any:
        """Record ``subscription`` and return its stream."""
        ...


@attrs.frozen
class RecordedSubscribe:
    """One subscribe call seen by a recording hub."""

    spec: ChannelSpec
    subscription: dict[str, Any]
    decode: Callable[[Any], Any]
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
        decode: Callable[[Any], Any],
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
        decode: Callable[[Any], Any],
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
