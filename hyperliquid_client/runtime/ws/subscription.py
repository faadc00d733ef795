"""Per-subscriber buffers and the user-facing :class:`Subscription` handle."""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hyperliquid_client.runtime.ws.channels import ChannelInfo, SubscriptionKey
from hyperliquid_client.runtime.ws.messages import Dropped, Gap, Message, StreamItem, WsItem

if TYPE_CHECKING:
    from hyperliquid_client.runtime.ws.client import WsClient, _Upstream

__all__ = ["Subscription"]

T = TypeVar("T")

#: Control markers may exceed the buffer by this much before the overflow policy applies to them too.
_MARKER_SLACK = 64


class _Sink:
    """The bounded queue of one subscriber.  Owned by the registry; never references the :class:`Subscription`."""

    __slots__ = (
        "_space",
        "_waiter",
        "bound_cb",
        "bound_task",
        "buf",
        "callback_task",
        "closed",
        "decode",
        "delivered",
        "dropped",
        "error",
        "id",
        "last_ids",
        "last_time",
        "on_drop",
        "pending_dropped",
        "policy",
        "released",
        "size",
        "upstream",
    )

    def __init__(
        self,
        sid: int,
        upstream: _Upstream,
        size: int,
        policy: str,
        decode: Callable[[Any], Any] | None,
        on_drop: Callable[[_Sink, int], None],
    ) -> None:
        self.id = sid
        self.upstream = upstream
        self.buf: deque[Any] = deque()
        self.size = size
        self.policy = policy
        self.decode = decode
        self.on_drop = on_drop
        self._waiter: asyncio.Future[None] | None = None
        self._space: asyncio.Future[None] | None = None
        self.pending_dropped = 0
        self.dropped = 0
        self.delivered = 0
        self.closed = False
        self.released = False
        self.error: BaseException | None = None
        self.bound_task: asyncio.Task[Any] | None = None
        self.bound_cb: Callable[[asyncio.Task[Any]], None] | None = None
        self.callback_task: asyncio.Task[None] | None = None
        # newest item time buffered for this subscriber and the identities of its items at that time (user data)
        self.last_time: int | None = None
        self.last_ids: frozenset[Hashable] = frozenset()

    # -- producer side (event loop thread, synchronous) -------------------------------------------------------
    def push(self, item: Any, mark: tuple[int, frozenset[Hashable]] | None = None) -> bool:
        """Queue ``item``; ``False`` only under the ``block`` policy when full (the caller waits for space).

        ``mark``: ``(newest item time, identities at that time)`` of a user-data message, remembered once buffered
        (where recovery after an overflow starts).
        """
        if self.closed:
            return True
        buf = self.buf
        if len(buf) >= self.size:
            policy = self.policy
            if policy == "drop_oldest":
                buf.popleft()
                self._count_drop()
            elif policy == "drop_newest":
                self._count_drop()
                return True
            elif policy == "error":
                self.on_drop(self, -1)
                return True
            else:
                return False
        buf.append(item)
        if mark is not None:
            if self.last_time is None or mark[0] > self.last_time:
                self.last_time, self.last_ids = mark
            elif mark[0] == self.last_time:
                self.last_ids = self.last_ids | mark[1]
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    def push_marker(self, item: Any) -> None:
        """Queue a control marker: it bypasses the buffer bound up to a small slack."""
        if self.closed:
            return
        if len(self.buf) >= self.size + _MARKER_SLACK:
            if self.policy == "error":
                self.on_drop(self, -1)
                return
            self.buf.popleft()
            self._count_drop()
        self.buf.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _count_drop(self) -> None:
        self.dropped += 1
        self.pending_dropped += 1
        n = self.pending_dropped
        if n & (n - 1) == 0:  # 1, 2, 4, 8, ...: bounded event/log volume, never silent
            self.on_drop(self, n)

    async def wait_space(self) -> None:
        """Wait until the buffer has room (``block`` policy) or the sink closed."""
        while not self.closed and len(self.buf) >= self.size:
            fut = asyncio.get_running_loop().create_future()
            self._space = fut
            try:
                await fut
            finally:
                self._space = None

    def close(self, error: BaseException | None = None) -> None:
        """End the stream: readers drain what is buffered, then stop (or raise ``error``)."""
        if self.closed:
            return
        self.closed = True
        self.error = error
        for fut in (self._waiter, self._space):
            if fut is not None and not fut.done():
                fut.set_result(None)

    # -- consumer side ------------------------------------------------------------------------------------------
    def get_nowait(self) -> WsItem:
        """The next item without waiting: ``asyncio.QueueEmpty`` when none, end/error like :meth:`get`."""
        if self.pending_dropped:
            n = self.pending_dropped
            self.pending_dropped = 0
            return Dropped(n, self.dropped, self.policy)
        if self.buf:
            item = self.buf.popleft()
            if type(item) is Message:
                self.delivered += 1
            space = self._space
            if space is not None and not space.done():
                space.set_result(None)
            return item
        if self.closed:
            if self.error is not None:
                raise self.error
            raise StopAsyncIteration
        raise asyncio.QueueEmpty

    async def get(self) -> WsItem:
        while True:
            if self.pending_dropped:
                n = self.pending_dropped
                self.pending_dropped = 0
                return Dropped(n, self.dropped, self.policy)
            if self.buf:
                item = self.buf.popleft()
                if type(item) is Message:
                    self.delivered += 1
                space = self._space
                if space is not None and not space.done():
                    space.set_result(None)
                return item
            if self.closed:
                if self.error is not None:
                    raise self.error
                raise StopAsyncIteration
            fut = asyncio.get_running_loop().create_future()
            self._waiter = fut
            try:
                await fut
            finally:
                self._waiter = None


def _gc_release(client_ref: weakref.ref[WsClient], sink: _Sink) -> None:
    client = client_ref()
    if client is not None:
        client._release_threadsafe(sink)


class Subscription(Generic[T]):
    """Handle of one subscriber (returned by :meth:`WsClient.subscribe`).

    Consume it as an async iterator — ``async for item in sub`` yields :class:`~.messages.Message` objects and
    control markers (:mod:`~.messages`) — or use :meth:`get` (with a timeout) or :meth:`data`
    (decoded payloads only).  Iteration ends after :meth:`cancel` or client close; it raises
    :class:`~.messages.SubscriptionFailedError` when the subscription failed (after delivering what was buffered).
    :meth:`wait_live` waits for the server's acknowledgement; :meth:`recover` fetches missed items over HTTP.

    Lifetime: the subscription is cancelled when :meth:`cancel` is called, when this handle is garbage-collected, or
    when the task that first iterated it with ``async for`` dies (ends with an exception or is cancelled; use
    :meth:`detach` to opt out).  Subscriptions with a callback are kept alive by the client until cancelled.
    """

    __slots__ = ("__weakref__", "_client", "_finalizer", "_sink", "channel", "key", "params")

    def __init__(
        self,
        client: WsClient,
        sink: _Sink,
        channel: ChannelInfo,
        key: SubscriptionKey,
        params: dict[str, Any],
    ) -> None:
        self._client = client
        self._sink = sink
        #: The subscription's identity (type + normalized params); ``str(key)`` is canonical JSON.
        self.key = key
        self.channel = channel
        self.params = params
        self._finalizer = weakref.finalize(self, _gc_release, weakref.ref(client), sink)

    def __repr__(self) -> str:
        state = "closed" if self._sink.closed else "open"
        return f"<Subscription {self.key} {state} delivered={self.delivered} dropped={self.dropped}>"

    # -- counters ----------------------------------------------------------------------------------------------
    @property
    def delivered(self) -> int:
        """Data messages handed to the consumer so far."""
        return self._sink.delivered

    @property
    def dropped(self) -> int:
        """Messages discarded by the overflow policy so far."""
        return self._sink.dropped

    @property
    def buffered(self) -> int:
        """Items waiting in the buffer."""
        return len(self._sink.buf)

    @property
    def closed(self) -> bool:
        """True once cancelled, failed or the client closed."""
        return self._sink.closed

    @property
    def error(self) -> BaseException | None:
        """Why the subscription failed, if it did."""
        return self._sink.error

    # -- consumption -------------------------------------------------------------------------------------------
    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> StreamItem[T]:
        sink = self._sink
        if sink.bound_cb is None and not sink.released:
            task = asyncio.current_task()
            if task is not None:
                self._client._bind_task(sink, task)
        item: StreamItem[T] = await sink.get()
        return item

    async def get(self, timeout: float | None = None) -> StreamItem[T]:
        """The next item; ``StopAsyncIteration`` at the end.

        After ``timeout`` seconds raises :class:`~hyperliquid_client.runtime.errors.TimeoutError` (also a builtin
        ``TimeoutError``) whose message says why nothing came: ``not connected: ...`` with the last connection
        error, waiting for the server's acknowledgement, or live but silent.
        """
        if timeout is None:
            return await self._sink.get()
        try:
            async with asyncio.timeout(timeout):
                return await self._sink.get()
        except TimeoutError:
            raise self._client._timeout_error(self._sink, timeout, "no item") from None

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until the server has acknowledged the subscription (returns at once while it is live).

        A bot that subscribes and then trades awaits this first, so nothing it causes is missed.  Raises
        :class:`~hyperliquid_client.runtime.errors.TimeoutError` after ``timeout`` seconds (the message says what the
        subscription is waiting for), the failure when the subscription failed, and
        :class:`~hyperliquid_client.runtime.errors.WebSocketError` when it ended.
        """
        await self._client._wait_live(self._sink, timeout)

    async def recover(self, since_ms: int | None = None, until_ms: int | None = None) -> list[Message[T] | Gap]:
        """Fetch over HTTP (the channel's recovery request, paged) the items between ``since_ms`` and ``until_ms``
        (ms, inclusive; ``None``: now), decoded like the stream's own messages and marked ``recovered``.

        Without ``since_ms``, after the subscription failed with :class:`~.messages.BufferOverflowError`: what did
        not fit (from the error's ``since_ms``, without the items already delivered).  Items the request cannot
        reach come back as a :class:`~.messages.Gap` in the list.  User channels with a recovery request only
        (fills, order updates, ...); raises :class:`~hyperliquid_client.runtime.errors.InvalidInputError` otherwise.
        """
        return await self._client._recover_for(self._sink, since_ms, until_ms)

    def get_nowait(self) -> StreamItem[T] | None:
        """The next buffered item, or ``None`` when nothing is waiting (also after the end); never waits.

        Raises the failure (e.g. :class:`~.messages.SubscriptionFailedError`) when the subscription failed.
        """
        try:
            return self._sink.get_nowait()
        except (asyncio.QueueEmpty, StopAsyncIteration):
            return None

    def drain(self) -> list[StreamItem[T]]:
        """Every buffered item at once (possibly none), for batch consumers; raises the failure if the subscription
        failed and nothing is left."""
        out: list[StreamItem[T]] = []
        sink = self._sink
        while True:
            try:
                out.append(sink.get_nowait())
            except (asyncio.QueueEmpty, StopAsyncIteration):
                return out
            except Exception:
                if out:
                    return out
                raise

    async def data(self, timeout: float | None = None) -> AsyncIterator[T]:
        """Iterate the decoded payloads only, skipping control markers; ``timeout`` bounds the wait for each item
        (:class:`TimeoutError` like :meth:`get`)."""
        while True:
            try:
                item = await self.get(timeout)
            except StopAsyncIteration:
                return
            if isinstance(item, Message):
                yield item.data

    # -- lifetime ----------------------------------------------------------------------------------------------
    def detach(self) -> None:
        """Stop tying this subscription to the task that iterates it."""
        self._client._unbind_task(self._sink, forever=True)

    def cancel(self) -> None:
        """Cancel (idempotent).  The upstream subscription is removed when its last subscriber goes."""
        self._finalizer.detach()
        self._client._release(self._sink)

    async def close(self) -> None:
        """Cancel the subscription (the awaitable spelling of :meth:`cancel`, for ``AsyncStream``)."""
        self.cancel()

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()
