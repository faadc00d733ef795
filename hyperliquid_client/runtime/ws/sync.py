"""Blocking facade over :class:`WsClient` for threaded programs.

:class:`SyncWsClient` runs its own event loop in a daemon thread.  ``subscribe`` returns a :class:`SyncSubscription`
that is iterated in a blocking way (``for item in sub``, or ``sub.get(timeout=...)``) or, with ``callback=``, calls
the callback on a callback thread, never the loop's (items in order; a callback that blocks only delays its own
subscription).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Generic, Literal, TypeVar

from hyperliquid_client.runtime.errors import WebSocketError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.ratelimit.ws import WsLimits
from hyperliquid_client.runtime.ws.channels import ChannelInfo, SubscriptionKey
from hyperliquid_client.runtime.ws.client import RecoverFn, WsClient
from hyperliquid_client.runtime.ws.config import WsConfig
from hyperliquid_client.runtime.ws.messages import Gap, Message, StreamClosedError, StreamItem
from hyperliquid_client.runtime.ws.subscription import Subscription

__all__ = ["SyncSubscription", "SyncWsClient"]

T = TypeVar("T")
R = TypeVar("R")


class _LoopStopped(WebSocketError):
    """The client's loop has stopped (the client was closed, or its thread ended at interpreter exit)."""


class SyncSubscription(Generic[T]):
    """Blocking handle of a subscription (see :class:`~hyperliquid_client.runtime.ws.subscription.Subscription`).

    Iteration blocks until the next item and stops when the subscription ends.  Dropping the handle (garbage
    collection) cancels the subscription like :meth:`cancel`.
    """

    def __init__(self, owner: SyncWsClient, sub: Subscription[T]) -> None:
        self._owner = owner
        self._sub = sub

    @property
    def key(self) -> SubscriptionKey:
        """The subscription's identity (type + normalized params); ``str(key)`` is canonical JSON."""
        return self._sub.key

    def get(self, timeout: float | None = None) -> StreamItem[T]:
        """The next item; :class:`~.messages.StreamClosedError` once the stream ended (cancelled or its client closed)
        and nothing is left, its failure (e.g. :class:`~.messages.SubscriptionFailedError`) if it failed.  After
        ``timeout`` seconds raises :class:`~hyperliquid_client.runtime.errors.TimeoutError` (also a builtin
        ``TimeoutError``) saying why nothing came (``not connected: ...``, waiting for the acknowledgement, or
        silent)."""
        try:
            return self._owner._call(self._sub.get(timeout))
        except _LoopStopped:
            if not self._owner._wait_stopped():
                raise
        item = self._sub.get_nowait()  # the loop has stopped: only what is buffered is left
        if item is None:
            raise self._sub._ended(client_closed=True)
        return item

    def wait_live(self, timeout: float | None = None) -> None:
        """Block until the server has acknowledged the subscription (see :meth:`Subscription.wait_live`)."""
        self._owner._call(self._sub.wait_live(timeout))

    def recover(self, since_ms: int | None = None, until_ms: int | None = None) -> list[Message[T] | Gap]:
        """Fetch missed items over HTTP (see :meth:`Subscription.recover`)."""
        return self._owner._call(self._sub.recover(since_ms, until_ms))

    def get_nowait(self) -> StreamItem[T] | None:
        """The next buffered item, or ``None`` when nothing is waiting (also after the end); never blocks.

        Raises the failure (e.g. :class:`~.messages.SubscriptionFailedError`) when the subscription failed.
        """
        return self._owner._read(self._sub.get_nowait)

    def drain(self) -> list[StreamItem[T]]:
        """Every buffered item at once (possibly none: ``[]`` after the end); raises the failure if it failed and
        nothing is left.  With other subscribers on the stream, the list may be a read-only
        :class:`~hyperliquid_client.runtime.ws.subscription.Batch` (see :meth:`Subscription.drain`)."""
        return self._owner._read(self._sub.drain)

    def __iter__(self) -> Iterator[StreamItem[T]]:
        while True:
            try:
                yield self.get()
            except StreamClosedError:
                return

    def data(self, timeout: float | None = None) -> Iterator[T]:
        """Iterate decoded payloads only; ``timeout`` bounds the wait for each item (:class:`TimeoutError`)."""
        while True:
            try:
                item = self.get(timeout)
            except StreamClosedError:
                return
            if isinstance(item, Message):
                yield item.data

    @property
    def delivered(self) -> int:
        """Data messages handed to the consumer so far."""
        return self._sub.delivered

    @property
    def dropped(self) -> int:
        """Messages discarded by the overflow policy so far."""
        return self._sub.dropped

    @property
    def buffered(self) -> int:
        """Items waiting in the buffer."""
        return self._sub.buffered

    @property
    def closed(self) -> bool:
        """True once the subscription ended."""
        return self._sub.closed

    @property
    def error(self) -> BaseException | None:
        """Why the subscription failed, if it did."""
        return self._sub.error

    def cancel(self) -> None:
        """Cancel (idempotent)."""
        if not self._owner._closed:
            self._owner._run_sync(self._sub.cancel)

    def close(self) -> None:
        """Cancel the subscription (same as :meth:`cancel`)."""
        self.cancel()

    def __enter__(self) -> SyncSubscription[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class SyncWsClient:
    """Threaded facade of :class:`WsClient`: same arguments, blocking methods.

    Use as a context manager or call :meth:`close`.  ``recover`` must be an async callable (it runs on the
    client's loop).
    """

    def __init__(
        self,
        url: str,
        *,
        config: WsConfig | None = None,
        events: EventBus | None = None,
        recover: RecoverFn | None = None,
        limits: WsLimits | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hyperliquid-ws-sync", daemon=True)
        self._thread.start()
        self._closed = False
        self._inflight: set[concurrent.futures.Future[Any]] = set()

        async def make() -> WsClient:
            return WsClient(url, config=config, events=events, recover=recover, limits=limits)

        try:
            self._client = self._call(make())
        except BaseException:
            self._stop_loop()
            raise
        self._finalizer = weakref.finalize(self, SyncWsClient._finalize, self._loop, self._client)

    @staticmethod
    def _finalize(loop: asyncio.AbstractEventLoop, client: WsClient) -> None:
        if loop.is_closed():
            return
        try:
            fut = asyncio.run_coroutine_threadsafe(client.close(), loop)
            fut.result(5)
        except Exception:
            pass
        loop.call_soon_threadsafe(loop.stop)

    def _call(self, coro: Awaitable[R], timeout: float | None = None) -> R:
        problem = None
        if threading.current_thread() is self._thread:
            problem = WebSocketError(
                "blocking SyncWsClient call made from its own loop thread (e.g. in an event listener or a log handler"
                " running there: only non-blocking calls may; sync callbacks run on their own threads)"
            )
        elif self._loop.is_closed() or not self._thread.is_alive():
            problem = _LoopStopped("the WebSocket client is closed")
        if problem is not None:
            if inspect.iscoroutine(coro):
                coro.close()
            raise problem
        fut: concurrent.futures.Future[R] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        self._inflight.add(fut)
        fut.add_done_callback(self._inflight.discard)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise
        except concurrent.futures.CancelledError:
            if self._closed:  # close() ended the loop while this call waited
                raise _LoopStopped("the WebSocket client was closed") from None
            raise

    def _run_sync(self, fn: Callable[[], R]) -> R:
        """``fn()`` (which never blocks) on the loop: at once when called there (an event listener or a log handler
        reading the stream, cancelling a subscription)."""
        if threading.current_thread() is self._thread:
            return fn()

        async def run() -> R:
            return fn()

        return self._call(run())

    def _wait_stopped(self) -> bool:
        """After :class:`_LoopStopped`: wait for the loop thread to end (``close()`` stops it right after waking the
        calls waiting on it); True once it has, and nothing else touches the subscriptions any more."""
        self._thread.join(5)
        return not self._thread.is_alive()

    def _read(self, fn: Callable[[], R]) -> R:
        """A non-blocking read of a subscription's buffer: on the loop (see :meth:`_run_sync`), or in this thread once
        the loop stopped."""
        try:
            return self._run_sync(fn)
        except _LoopStopped:
            if not self._wait_stopped():
                raise
        return fn()

    @property
    def client(self) -> WsClient:
        """The underlying async client (use only from its loop)."""
        return self._client

    def subscribe(
        self,
        channel: ChannelInfo,
        params: Mapping[str, Any],
        *,
        decode: Callable[[Any], T] | None = None,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> SyncSubscription[T]:
        """Blocking :meth:`WsClient.subscribe` (returns at once; a sync callback runs on a callback thread, ``gate``
        on the client's loop)."""
        sub: Subscription[T] = self._call(
            self._client.subscribe(
                channel,
                params,
                decode=decode,
                callback=callback,
                buffer_size=buffer_size,
                overflow=overflow,
                gate=gate,
            )
        )
        return SyncSubscription(self, sub)

    def post(self, kind: Literal["info", "action"], payload: Mapping[str, Any], *, timeout: float | None = None) -> Any:
        """Blocking :meth:`WsClient.post`."""
        return self._call(self._client.post(kind, payload, timeout=timeout))

    def latest(self, channel_type: str, /, **params: Any) -> Any:
        """See :meth:`WsClient.latest` (safe from any thread)."""
        return self._client.latest(channel_type, **params)

    def latest_raw(self, channel_type: str, /, **params: Any) -> Any:
        """See :meth:`WsClient.latest_raw` (safe from any thread)."""
        return self._client.latest_raw(channel_type, **params)

    def fresh_raw(self, channel_type: str, max_age: float, /, **params: Any) -> Any:
        """See :meth:`WsClient.fresh_raw` (safe from any thread)."""
        return self._client.fresh_raw(channel_type, max_age, **params)

    def mid(self, coin: str, *, dex: str | None = None) -> str | None:
        """See :meth:`WsClient.mid`."""
        return self._client.mid(coin, dex=dex)

    def upstream_subscription_count(self) -> int:
        """See :meth:`WsClient.upstream_subscription_count`."""
        return self._run_sync(self._client.upstream_subscription_count)

    @property
    def closed(self) -> bool:
        """See :attr:`WsClient.closed`."""
        return self._client.closed

    def server_subscription_count(self) -> int:
        """See :meth:`WsClient.server_subscription_count`."""
        return self._run_sync(self._client.server_subscription_count)

    def registry_size(self) -> int:
        """See :meth:`WsClient.registry_size`."""
        return self._run_sync(self._client.registry_size)

    def connection_count(self) -> int:
        """See :meth:`WsClient.connection_count`."""
        return self._run_sync(self._client.connection_count)

    def _stop_loop(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()

    def close(self) -> None:
        """Close the client and stop its thread (idempotent; quiet when the loop already stopped, e.g. at
        interpreter exit)."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        try:
            self._call(self._client.close(), timeout=10)
        except _LoopStopped:
            pass  # its finalizer or the interpreter's exit already ended the loop: nothing is left to close
        finally:
            for fut in tuple(self._inflight):  # calls other threads still wait on end now
                fut.cancel()
            self._stop_loop()
            for fut in tuple(self._inflight):  # (and those that reached the loop as it stopped)
                fut.cancel()

    def __enter__(self) -> SyncWsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
