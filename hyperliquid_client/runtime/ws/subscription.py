"""Subscribers' buffers and the user-facing :class:`Subscription` handle.

Fan-out costs one append per message, whatever the number of subscribers: the subscribers of one upstream that
share a decoder read the same :class:`_Feed` (the decoded items, in order), each at its own position, so a
message is decoded once and its one immutable item is handed to all of them.  A subscriber's buffer is the part
of the feed it has not read yet, bounded by its ``buffer_size``; past the bound its overflow policy applies at
once (``drop_oldest`` moves its position on, ``error`` fails it, ``drop_newest`` keeps its own copy of what it
holds and drops what comes until it reads, ``block`` holds the producer), found in O(log n) per message by a heap
of the positions at which each subscriber overflows.  :meth:`_Sink.drain` hands a subscriber its whole backlog in
one slice.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
from bisect import bisect_left
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, Generic, NoReturn, SupportsIndex, TypeVar

from hyperliquid_client.runtime.transport._core import validate_timeout
from hyperliquid_client.runtime.ws.channels import ChannelInfo, SubscriptionKey
from hyperliquid_client.runtime.ws.messages import (
    DecodeFailed,
    Dropped,
    Gap,
    Message,
    StreamClosedError,
    StreamItem,
    WsItem,
    new_message,
)

if TYPE_CHECKING:
    from hyperliquid_client.runtime.ws.client import WsClient, _CallbackRun, _Upstream

__all__ = ["Batch", "Subscription"]

T = TypeVar("T")

#: Control markers may exceed the buffer by this much before the overflow policy applies to them too.
_MARKER_SLACK = 64

_Mark = tuple[int, frozenset[Hashable]] | None


class _Skipped:
    """What a message held as text becomes when its reading finds every item delivered before (a time-ordered
    stream de-duplicates as its messages are read: see ``_Upstream.dedup_ordered``): a place in the feed that no
    reader is handed and no count takes as delivered."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED = _Skipped()


class Batch(list[T]):
    """What :meth:`Subscription.drain` returns when several subscribers of a stream take the same messages at once:
    one list shared by all of them (one copy of the backlog, not one per subscriber), hence read-only — changing it
    in place (``append``, ``sort``, item assignment, ...) raises :class:`TypeError`; ``list(batch)``, a slice,
    ``sorted(batch)``, ``copy.copy`` or pickling give a plain list of one's own, and ``acc += batch`` /
    ``batch += more`` bind a new plain list.  Reading, iterating, comparing and ``+`` work as on any list."""

    __slots__ = ()

    def _shared(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            "a drained batch is shared by every subscriber that took the same messages: it cannot be changed "
            "in place (list(batch) is a copy of one's own)"
        )

    append = extend = insert = pop = remove = clear = sort = reverse = _shared
    __setitem__ = __delitem__ = _shared

    def __iadd__(self, other: Iterable[T]) -> list[T]:  # type: ignore[override,misc]
        return [*self, *other]  # (a new list: the shared one stays as it is)

    def __imul__(self, n: SupportsIndex) -> list[T]:  # type: ignore[override]
        return list(self) * n

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return copy.deepcopy(list(self), memo)

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[Any]]]:
        return list, (list(self),)


class _Feed:
    """The items of one upstream for one decoder, read by its subscribers at their own positions.

    Item ``seq`` (counted from the first ever appended) is ``items[seq - base]``; items every follower has read
    are trimmed; a message waits as its bare data when that is a dict or a list (see :meth:`wrap`).  ``marks``
    keeps each user-data message's ``(newest item time, identities at that time)``, where recovery after an
    overflow starts; ``markers`` the (ascending) positions of control markers.
    """

    __slots__ = (
        "base",
        "batch",
        "channel",
        "check_at",
        "cut",
        "dedups",
        "detached",
        "heap",
        "items",
        "markers",
        "marks",
        "max_size",
        "reads",
        "reported",
        "resolve",
        "sinks",
        "skips",
        "to_report",
        "waiting",
        "wrapped",
    )

    def __init__(self, marks: bool, channel: str = "") -> None:
        self.items: list[Any] = []
        self.channel = channel  # the channel of the messages held as their bare data (see :meth:`wrap`)
        self.wrapped = 0  # every item before this position is a ``Message`` or a marker
        self.marks: list[_Mark] | None = [] if marks else None
        self.markers: list[int] = []
        self.base = 0
        self.sinks: list[_Sink] = []  # following the feed
        self.detached: list[_Sink] = []  # full drop_newest subscribers, reading their own copy
        self.heap: list[tuple[int, int, _Sink]] = []  # (position at which the subscriber overflows, id, subscriber)
        self.waiting: list[_Sink] = []
        self.max_size = 0
        self.check_at = 0  # past this position something may be due: an overflow or trimming
        self.reads = 0  # reads since the last trim: once every follower may have read, what all read is freed
        # items -> what their first reader gets: a message waiting as its frame's text (a ``str``) parsed (its
        # ``Message`` or a ``DecodeFailed``), bare data wrapped; set by its upstream when its messages may wait as
        # text (``_Upstream.deliver_text``)
        self.resolve: Callable[[list[Any]], list[Any]] | None = None
        # called with the items about to be freed when messages held as text are among them, unread (every follower
        # skipped them: overflow); set with ``resolve``
        self.cut: Callable[[list[Any]], None] | None = None
        # called once what ``resolve`` read is in place (it reports the failures the read found); set with ``resolve``
        self.reported: Callable[[], None] | None = None
        # how many items are ``SKIPPED`` (what ``resolve`` found duplicate, counted by it): readers leave them out
        # while there are any
        self.skips = 0
        self.to_report = False  # a read of waiting texts ran: what it found is reported at the operation's end
        # (first position, end, the Batch) of the last backlog handed out: the next subscriber taking the same
        # messages gets the same object; dropped once every follower read past it
        self.batch: tuple[int, int, Batch] | None = None
        # its reader de-duplicates (a time-ordered stream held as text): what a subscriber passes is read first (an
        # overflow reads what waits before it applies a policy; leaving reads what the subscriber keeps), so the
        # next messages are de-duplicated against every one before them and no text leaves the feed unread
        self.dedups = False

    def _recheck(self) -> None:
        trim_at = self.base + 2 * self.max_size + 2 * _MARKER_SLACK
        self.check_at = min(self.heap[0][0], trim_at) if self.heap else trim_at

    @property
    def end(self) -> int:
        return self.base + len(self.items)

    def held(self, lo: int, hi: int | None = None) -> list[Any]:
        """The items at positions ``lo`` to ``hi`` (the end), ``SKIPPED`` ones left out."""
        items = self.items[lo - self.base : None if hi is None else hi - self.base]
        return [x for x in items if x is not SKIPPED] if self.skips else items

    def skipped_in(self, lo: int, hi: int) -> int:
        """How many items at positions ``lo`` to ``hi`` are ``SKIPPED`` (by identity: ``list.count`` would call every
        message's ``__eq__``)."""
        return sum(1 for x in self.items[lo - self.base : hi - self.base] if x is SKIPPED)

    def follow(self, sink: _Sink) -> None:
        sink.feed = self
        sink.cursor = end = self.base + len(self.items)
        self.sinks.append(sink)
        self.max_size = max(self.max_size, sink.size)
        sink.hkey = end + sink.size
        heapq.heappush(self.heap, (sink.hkey, sink.id, sink))
        self._recheck()

    def leave(self, sink: _Sink) -> None:
        """Stop ``sink`` following (it keeps its unread items as its own)."""
        if sink in self.sinks:
            self.sinks.remove(sink)
            self.wrap(self.end)
            sink.mine().extend(self.held(sink.cursor))
            self.max_size = max((s.size for s in self.sinks), default=0)
            self._recheck()
        if sink in self.detached:
            self.detached.remove(sink)
        if sink in self.waiting:
            self.waiting.remove(sink)
        sink.cursor = -1
        self.report()

    def messages_in(self, lo: int, hi: int) -> int:
        """How many of the items at positions ``lo`` to ``hi`` (excluded) are messages (not markers, not
        ``SKIPPED``)."""
        markers = self.markers
        n = hi - lo
        if markers and markers[-1] >= lo:
            n -= bisect_left(markers, hi) - bisect_left(markers, lo)
        if self.skips:
            n -= self.skipped_in(lo, hi)
        return n

    # -- producer side (event loop thread) ----------------------------------------------------------------------
    def append(self, item: Any, mark: _Mark = None, marker: bool = False) -> list[_Sink] | None:
        """Add ``item`` for every follower; returns the ``block`` subscribers now over their bound."""
        items = self.items
        items.append(item)
        if self.marks is not None:
            self.marks.append(mark)
        end = self.base + len(items)
        blocked = None
        if self.detached:  # (before the overflow check: a subscriber it detaches has already counted this one)
            if type(item) is str:  # (texts are read in the order they came: see ``wrap``)
                self.wrap(end)
                item = items[-1]
            else:
                item = items[-1] = self.wrap_one(item)
            if item is not SKIPPED:
                for sink in self.detached:
                    sink.add_own(item, marker)
        if marker:
            self.markers.append(end - 1)  # a marker may go past a bound: the next message applies the policy
        elif end > self.check_at:
            if self.heap and self.heap[0][0] < end:
                blocked = self._overflow(end)
            if len(items) > 2 * self.max_size + 2 * _MARKER_SLACK:
                self._trim()
            self._recheck()
        if self.waiting:
            waiting, self.waiting = self.waiting, []
            for sink in waiting:
                sink.wake()
        if self.to_report:
            self.report()
        return blocked

    def _overflow(self, end: int) -> list[_Sink] | None:
        heap = self.heap
        blocked: list[_Sink] | None = None
        if self.dedups:  # (what is all duplicates takes no room: find out before any policy)
            if self.wrapped < end:
                self.wrap(end)
            self.report()  # (before any policy, as on arrival; a handler may read the feed: it may have moved on)
            at = end - 1 - self.base
            if at < 0 or self.items[at] is SKIPPED:  # (the message that came adds nothing, or all have read it)
                return None
        while heap and heap[0][0] < end:
            key, sid, sink = heapq.heappop(heap)
            if sink.feed is not self or sink.cursor < 0 or sink.hkey != key:
                continue  # gone, or an older entry of a subscriber that followed again
            limit = sink.cursor + sink.size
            if self.skips:
                limit += self.skipped_in(sink.cursor, end)
            if limit >= end:  # read meanwhile (or some of what it holds was all duplicates)
                sink.hkey = limit
                heapq.heappush(heap, (limit, sid, sink))
                continue
            policy = sink.policy
            if policy == "drop_oldest":
                sink.skip_to(self.keep_from(end, sink.size))
            elif policy == "block":
                if blocked is None:
                    blocked = []
                blocked.append(sink)
            else:  # the item that does not fit is not the subscriber's: it keeps what it holds
                self.sinks.remove(sink)
                self.wrap(end)
                sink.mine().extend(self.held(sink.cursor, end - 1))
                sink.last_mark = self.newest_mark(sink.cursor, end - 1)
                sink.cursor = -1
                if policy == "drop_newest":
                    self.detached.append(sink)
                    sink.count_drop(1)
                else:
                    sink.on_drop(sink, -1)
                continue
            sink.hkey = end
            heapq.heappush(heap, (end, sid, sink))
        return blocked

    def keep_from(self, end: int, size: int) -> int:
        """The position from which the items before ``end`` hold ``size`` of them that are not ``SKIPPED``."""
        if not self.skips:
            return end - size
        at = end
        while size > 0 and at > self.base:
            at -= 1
            if self.items[at - self.base] is not SKIPPED:
                size -= 1
        return at

    def wrap_one(self, item: Any) -> Any:
        """``item`` as a reader receives it: a message's bare data (a dict or a list) in its ``Message``."""
        kind = type(item)
        return new_message(item, self.channel, False) if kind is dict or kind is list else item

    def wrap(self, hi: int) -> None:
        """Wrap the messages held as their bare data up to position ``hi`` in their ``Message`` (in place: every
        reader gets the same object).  A message waits in the feed as the data alone — one object less per message
        for the garbage collector to walk while a backlog waits — and is wrapped once, by its first reader.  Messages
        held as text are read here only, every one before ``hi`` with it (in the order they came: the newest read is
        the stream's latest value, see :attr:`resolve`)."""
        base = self.base
        lo = self.wrapped - base
        n = hi - base
        if lo < n:
            if lo < 0:
                lo = 0
            items = self.items
            channel = self.channel
            resolve = self.resolve
            if resolve is None:
                items[lo:n] = [
                    new_message(x, channel, False) if type(x) is dict or type(x) is list else x for x in items[lo:n]
                ]
                self.wrapped = hi
            else:
                self.to_report = True  # (what the read finds is reported by the operation reading: see ``report``)
                items[lo:n] = resolve(items[lo:n])
                self.wrapped = hi

    def report_soon(self) -> None:
        """Report what a read's own bookkeeping read (texts it freed unread) once the read has returned: on the loop's
        next turn (at once without a running loop), or first thing in the next read or arrival, whichever is first.
        Never before the read returns: a handler reading this stream would take messages before the ones the read
        hands out."""
        if self.to_report:
            try:
                asyncio.get_running_loop().call_soon(self.report)
            except RuntimeError:
                self.report()

    def report(self) -> None:
        """Report what reads of waiting texts found (``reported``).  Called at the end of every operation that may
        read them (a read, an arrival, a subscriber leaving, ``latest*``), once the feed and its subscribers are in a
        consistent state again: a handler of the report (an event listener, a log handler) may read the stream."""
        if self.to_report:
            self.to_report = False
            if self.reported is not None:
                self.reported()

    def newest_mark(self, lo: int, hi: int) -> _Mark:
        """The newest item time among the messages at positions ``lo`` to ``hi`` and every identity at that time."""
        if self.marks is None:
            return None
        newest: int | None = None
        ids: frozenset[Hashable] = frozenset()
        for mark in self.marks[lo - self.base : hi - self.base]:
            if mark is None:
                continue
            if newest is None or mark[0] > newest:
                newest, ids = mark
            elif mark[0] == newest:
                ids = ids | mark[1]
        return None if newest is None else (newest, ids)

    def read(self) -> None:
        """A follower read: after as many reads as there are followers, free what every one of them has read
        (a stream's messages live as long as their slowest reader needs them, not up to the bound)."""
        self.reads += 1
        if self.reads >= len(self.sinks):
            self.reads = 0
            self._trim()

    def _trim(self) -> None:
        low = min((s.cursor for s in self.sinks), default=self.base + len(self.items))
        cut = low - self.base
        if (cut < 64 and cut < len(self.items)) or cut <= 0:  # (freeing a few at the front would move the rest)
            return
        freed = None
        if self.cut is not None:  # (the newest message freed, markers aside, is unread when it waits as text)
            k = cut - 1
            while k > 0 and self.base + k in self.markers:
                k -= 1
            if type(self.items[k]) is str:
                freed = self.items[:cut]
        if self.skips:
            self.skips -= self.skipped_in(self.base, low)
        del self.items[:cut]
        if self.marks is not None:
            del self.marks[:cut]
        self.base = low
        if self.batch is not None and self.batch[0] < low:  # (what it holds is freed: so is it)
            self.batch = None
        markers = self.markers
        if markers:
            del markers[: bisect_left(markers, low)]
        self._recheck()
        if freed is not None and self.cut is not None:  # (once the feed moved on: what ``cut`` reports may read it)
            self.cut(freed)


class _Sink:
    """The buffer of one subscriber: its position in the shared :class:`_Feed`, plus items of its own (markers
    sent to it alone, what it held when it stopped following).  Owned by the registry; never references the
    :class:`Subscription`."""

    __slots__ = (
        "_space",
        "_waiter",
        "bound_cb",
        "bound_task",
        "callback_task",
        "closed",
        "cursor",
        "decode",
        "delivered",
        "dropped",
        "error",
        "feed",
        "handle",
        "hkey",
        "id",
        "last_mark",
        "on_drop",
        "own",
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
        self.feed: _Feed | None = None
        self.cursor = -1  # position of the next item to read in ``feed``; -1 when not following it
        self.hkey = 0  # key of its live entry in the feed's heap
        # read before the feed; an empty tuple until it holds something (most subscribers never do: one tracked
        # object less for the collector per subscriber)
        self.own: deque[Any] | tuple[()] = ()
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
        self.callback_task: _CallbackRun | None = None  # its callback, when it has one
        #: newest item time and the identities at that time among what it held when it overflowed (user data)
        self.last_mark: _Mark = None
        #: the user's handle releases the subscriber when it is garbage-collected (``False`` once cancelled)
        self.handle = False

    @property
    def last_time(self) -> int | None:
        return None if self.last_mark is None else self.last_mark[0]

    @property
    def last_ids(self) -> frozenset[Hashable]:
        return frozenset() if self.last_mark is None else self.last_mark[1]

    def mine(self) -> deque[Any]:
        """Its own items, as a deque (made on first use)."""
        own = self.own
        if type(own) is not deque:
            own = self.own = deque()
        return own

    def buffered(self) -> int:
        """Items waiting to be read (not those read as ``SKIPPED``; a text that will be is counted until read)."""
        feed = self.feed
        unread = feed.end - self.cursor if feed is not None and self.cursor >= 0 else 0
        if unread and feed is not None and feed.skips:
            unread -= feed.skipped_in(self.cursor, feed.end)
        return len(self.own) + unread

    # -- producer side (event loop thread, synchronous) -------------------------------------------------------
    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def push_marker(self, item: Any) -> None:
        """Queue a control marker for this subscriber alone (it bypasses the bound up to a small slack)."""
        if self.closed:
            return
        own = self.mine()
        if len(own) >= self.size + _MARKER_SLACK:
            if self.policy == "error":
                self.on_drop(self, -1)
                return
            own.popleft()
            self.count_drop(1)
        own.append(item)
        self.wake()

    def add_own(self, item: Any, marker: bool) -> None:
        """An item for a full ``drop_newest`` subscriber: kept while it has room, else dropped and counted."""
        if marker or len(self.own) < self.size:
            self.mine().append(item)
            self.wake()
        else:
            self.count_drop(1)

    def skip_to(self, position: int) -> None:
        """``drop_oldest``: move on to ``position``, counting the messages passed and keeping the markers."""
        feed = self.feed
        assert feed is not None
        lo = self.cursor
        markers = feed.markers
        if markers and markers[-1] >= lo:
            for seq in markers[bisect_left(markers, lo) : bisect_left(markers, position)]:
                self.mine().append(feed.items[seq - feed.base])
        self.cursor = position
        self.count_drop(feed.messages_in(lo, position))

    def count_drop(self, n: int) -> None:
        for _ in range(n):
            self.dropped += 1
            self.pending_dropped += 1
            count = self.pending_dropped
            if count & (count - 1) == 0:  # 1, 2, 4, 8, ...: bounded event/log volume, never silent
                self.on_drop(self, count)

    async def wait_space(self) -> None:
        """Wait until the subscriber is back within its bound (``block`` policy) or it closed."""
        while not self.closed and self.feed is not None and self.cursor >= 0 and self.buffered() > self.size:
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
        if self.feed is not None:
            self.feed.leave(self)
        for fut in (self._waiter, self._space):
            if fut is not None and not fut.done():
                fut.set_result(None)

    # -- consumer side ------------------------------------------------------------------------------------------
    def _read(self, cursor: int) -> None:
        """Bookkeeping after reading up to ``cursor``: space for a blocked producer, rejoining the feed."""
        space = self._space
        if space is not None and not space.done():
            space.set_result(None)
        if cursor < 0 and not self.own and not self.closed and self.feed is not None:
            feed = self.feed
            if self in feed.detached:  # a full drop_newest subscriber that read everything it held
                feed.detached.remove(self)
                feed.follow(self)

    def get_nowait(self) -> WsItem:
        """The next item without waiting: ``asyncio.QueueEmpty`` when none, end/error like :meth:`get`."""
        if self.pending_dropped:
            n = self.pending_dropped
            self.pending_dropped = 0
            return Dropped(n, self.dropped, self.policy)
        item: Any = SKIPPED
        if self.own:
            item = self.mine().popleft()
        while item is SKIPPED:
            feed = self.feed
            if feed is not None and feed.to_report:  # (what a read found, before anything is handed out: see drain)
                feed.report()
                return self.get_nowait()
            cursor = self.cursor
            if feed is None or cursor < 0 or cursor >= feed.base + len(feed.items):
                if self.closed:
                    if self.error is not None:
                        raise self.error
                    raise StopAsyncIteration
                raise asyncio.QueueEmpty
            at = cursor - feed.base
            item = feed.items[at]
            kind = type(item)
            if kind is dict or kind is list:  # (feed.wrap for one item)
                item = feed.items[at] = new_message(item, feed.channel, False)
            elif kind is str:  # (held as text: read with every text before it, then reported, above)
                feed.wrap(cursor + 1)
                item = SKIPPED
                continue
            self.cursor = cursor + 1
            feed.read()
        if type(item) is Message or type(item) is DecodeFailed:  # (a message that came, decoded or not: as drain())
            self.delivered += 1
        self._read(self.cursor)
        feed = self.feed
        if feed is not None and feed.to_report:
            feed.report_soon()
        return item

    def drain(self) -> list[Any]:
        """Every buffered item, in one step (possibly none); raises the failure if it failed and nothing is left."""
        feed = self.feed
        cursor = self.cursor
        if feed is not None:
            if 0 <= cursor < feed.base + len(feed.items) and feed.wrapped < feed.base + len(feed.items):
                feed.wrap(feed.base + len(feed.items))  # (before moving on: a read that raises loses nothing)
            if feed.to_report:  # (what this read or an earlier one found, before anything is handed out: a handler
                feed.report()  # reading this stream takes the messages in order, and this hands out what is left)
                return self.drain()
        if cursor >= 0 and not self.pending_dropped and not self.own:  # following the feed, nothing of its own
            assert feed is not None
            items = feed.items
            base = feed.base
            end = base + len(items)
            if cursor >= end:
                return []
            self.cursor = end
            markers = feed.markers
            if markers or feed.skips:
                self.delivered += feed.messages_in(cursor, end)
            else:
                self.delivered += end - cursor
            if self._space is not None:
                self._read(end)
            chunk: list[Any]
            if len(feed.sinks) > 1:  # (others may take the same: one shared copy, see ``Batch``)
                last = feed.batch
                if last is not None and last[0] == cursor and last[1] == end:
                    chunk = last[2]  # (another subscriber took these just now: the same object)
                else:
                    chunk = Batch(feed.held(cursor))
                    feed.batch = (cursor, end, chunk)
            else:  # (a lone subscriber: a list of its own)
                chunk = feed.held(cursor)
            feed.reads += 1  # (feed.read(), inline: this runs once per subscriber per batch)
            if feed.reads >= len(feed.sinks):
                feed.reads = 0
                feed._trim()
            if feed.to_report:
                feed.report_soon()
            return chunk
        out: list[Any] = []
        if self.pending_dropped:
            out.append(Dropped(self.pending_dropped, self.dropped, self.policy))
            self.pending_dropped = 0
        if self.own:
            out.extend(self.own)
            self.own = ()
        self.delivered += sum(1 for item in out if type(item) is Message or type(item) is DecodeFailed)
        if feed is not None and cursor >= 0:
            end = feed.end
            out.extend(feed.held(cursor))
            self.delivered += feed.messages_in(cursor, end)
            self.cursor = end
        self._read(self.cursor)
        if feed is not None:
            feed.report_soon()
        if not out and self.closed and self.error is not None:
            raise self.error
        return out

    async def get(self) -> WsItem:
        while True:
            try:
                return self.get_nowait()
            except asyncio.QueueEmpty:
                pass
            fut = asyncio.get_running_loop().create_future()
            self._waiter = fut
            feed = self.feed
            if feed is not None and self.cursor >= 0:
                feed.waiting.append(self)
            try:
                await fut
            finally:
                self._waiter = None


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

    __slots__ = ("__weakref__", "_client", "_sink", "channel", "key", "params")

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
        sink.handle = True

    def __del__(self) -> None:
        # garbage-collected (any thread, any moment): release the subscriber (a finalizer, not a weak reference
        # with a callback: one object less per subscription for the collector to walk)
        sink: _Sink | None = getattr(self, "_sink", None)  # (None when its construction failed)
        if sink is not None and sink.handle:
            sink.upstream.client._release_threadsafe(sink)

    def __repr__(self) -> str:
        state = "closed" if self._sink.closed else "open"
        return f"<Subscription {self.key} {state} delivered={self.delivered} dropped={self.dropped}>"

    # -- counters ----------------------------------------------------------------------------------------------
    @property
    def delivered(self) -> int:
        """Messages handed to the consumer so far: data :class:`Message` items, and the :class:`DecodeFailed` of a
        message that came but did not decode or check (markers and recovered duplicates are not counted)."""
        return self._sink.delivered

    @property
    def dropped(self) -> int:
        """Messages discarded by the overflow policy so far."""
        return self._sink.dropped

    @property
    def buffered(self) -> int:
        """Items waiting in the buffer."""
        return self._sink.buffered()

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
        """The next item; :class:`~.messages.StreamClosedError` once the stream ended (cancelled or its client closed)
        and nothing is left, its failure (e.g. :class:`~.messages.SubscriptionFailedError`) if it failed.

        After ``timeout`` seconds raises :class:`~hyperliquid_client.runtime.errors.TimeoutError` (also a builtin
        ``TimeoutError``) whose message says why nothing came: ``not connected: ...`` with the last connection
        error, waiting for the server's acknowledgement, or live but silent.
        """
        if timeout is not None:
            validate_timeout(timeout, 0.0)  # as every call's timeout: a finite number of seconds > 0
        try:
            if timeout is None:
                return await self._sink.get()
            async with asyncio.timeout(timeout):
                return await self._sink.get()
        except StopAsyncIteration:
            raise self._ended() from None
        except TimeoutError:
            if timeout is None:
                raise
            raise self._client._timeout_error(self._sink, timeout, "no item") from None

    def _ended(self, client_closed: bool = False) -> StreamClosedError:
        """What :meth:`get` raises at the end: why the stream ended."""
        why = "its client was closed" if client_closed or self._client.closed else "it was cancelled"
        return StreamClosedError(f"the stream {self.key} ended ({why}): nothing is left to read")

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
        failed and nothing is left.  With other subscribers on the stream, the list may be a :class:`Batch`, shared
        with those that take the same messages at once: read-only (``list(...)`` copies it)."""
        return self._sink.drain()

    async def data(self, timeout: float | None = None) -> AsyncIterator[T]:
        """Iterate the decoded payloads only, skipping control markers; ``timeout`` bounds the wait for each item
        (:class:`TimeoutError` like :meth:`get`)."""
        while True:
            try:
                item = await self.get(timeout)
            except StreamClosedError:
                return
            if isinstance(item, Message):
                yield item.data

    # -- lifetime ----------------------------------------------------------------------------------------------
    def detach(self) -> None:
        """Stop tying this subscription to the task that iterates it."""
        self._client._unbind_task(self._sink, forever=True)

    def cancel(self) -> None:
        """Cancel (idempotent).  The upstream subscription is removed when its last subscriber goes."""
        self._sink.handle = False  # (its collection will not release it again)
        self._client._release(self._sink)

    async def close(self) -> None:
        """Cancel the subscription (the awaitable spelling of :meth:`cancel`, for ``AsyncStream``)."""
        self.cancel()

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()
