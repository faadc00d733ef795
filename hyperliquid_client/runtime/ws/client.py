"""The asynchronous WebSocket client: connection pool, subscription registry, routing, recovery and posts.

Shape of the runtime (one event loop):

* :class:`WsClient` owns a registry ``SubscriptionKey -> _Upstream``.  An upstream is one server-side subscription,
  shared by every subscriber (``_Sink``) with the same key (reference counting).  The last subscriber leaving —
  :meth:`Subscription.cancel`, garbage collection of its handle, or death of the task iterating it — removes it.
* Each ``_Connection`` keeps the *desired* set of upstreams placed on it and reconciles the server towards it: a
  sender task sends subscribe / unsubscribe frames for keys whose desired and sent state differ, paced by a token
  bucket.  Nothing waits for the socket: ``subscribe`` only records, the sender catches up when connected (and after
  every reconnect, when everything is re-sent).
* The reader decodes each frame once, routes data by ``(channel, route values)`` to one upstream, which decodes
  once per distinct decoder and appends the same :class:`Message` to every subscriber's bounded buffer (a slow
  subscriber never slows the others).  A market-data frame in the server's shape whose stream needs nothing of its
  data on arrival is routed by its beginning and waits as its text; its first reader parses, checks and decodes it
  (:meth:`_Upstream.deliver_text`).
* A pinger sends ``{"method":"ping"}`` every ``ping_interval``; when nothing arrives within ``dead_after`` of a ping
  the socket is aborted and replaced (half-open sockets).  Reconnects back off exponentially with jitter.
* User channels with a ``dedup_key`` are de-duplicated.  When such a stream's connection is lost a *gap* opens: its
  start is fixed at that moment (the newest item delivered), its end is the first item received after the stream
  resumed.  Each gap gets its own recovery, in order: the ``recover`` callable fetches over HTTP, window after
  window (:mod:`.recovery`), until the gap is covered; unseen items are delivered as recovered messages, and what
  cannot be fetched is reported as a :class:`~.messages.Gap` item, a ``ws.gap`` event and a log record.
* A subscription that makes the server drop the socket (the real server does that for an unknown coin) is found and
  failed alone: subscriptions the server never acknowledged when a socket was dropped become suspects, and on the
  next socket they are sent apart from the others — the likeliest first, then halves — until one drop happens with a
  single suspect outstanding.  The reconnect backoff grows while drops keep coming, and new connections stay within
  the server's limit per minute (:class:`~hyperliquid_client.runtime.ratelimit.WsLimits`).
* Sync callbacks run on threads started on demand (as many as callbacks run at once), async ones as tasks: a slow
  or blocked callback only fills its own buffer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import itertools
import json
import operator
import queue
import random
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Mapping
from typing import Any, Literal, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hyperliquid_client.runtime.errors import (
    ApiRejectedError,
    IndeterminateError,
    InvalidInputError,
    RateLimitedError,
    SubscriptionLimitError,
    WebSocketError,
)
from hyperliquid_client.runtime.errors import TimeoutError as RequestTimeoutError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.jsonfast import fast_loads
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.ratelimit.ws import WsLimits
from hyperliquid_client.runtime.ws.channels import (
    ChannelInfo,
    SubscriptionKey,
    echo_matches,
    key_from_echo,
    make_key,
    make_router,
    plain_route,
    routing_key,
    validate_params,
)
from hyperliquid_client.runtime.ws.config import OVERFLOW_POLICIES, WsConfig
from hyperliquid_client.runtime.ws.messages import (
    BufferOverflowError,
    DecodeFailed,
    Gap,
    Interrupted,
    InvalidSubscriptionError,
    Message,
    Resumed,
    Stale,
    StreamClosedError,
    SubscriptionFailedError,
    new_message,
)
from hyperliquid_client.runtime.ws.recovery import Window, next_windows
from hyperliquid_client.runtime.ws.subscription import SKIPPED, Subscription, _Feed, _Sink

__all__ = ["RecoverFn", "WsClient"]

T = TypeVar("T")

#: ``recover(channel, params, start_ms, end_ms) -> items``: one answer of the channel's recovery request for the
#: window ``start_ms`` .. ``end_ms`` (ms, inclusive; ``None``: now), as the server sent it (its order kept, nothing
#: filtered), each item in the channel's own item shape.  The runtime pages, filters and de-duplicates.
RecoverFn = Callable[[ChannelInfo, dict[str, Any], int, int | None], Awaitable[list[Any]]]

#: Allowance (ms) for the difference between this machine's clock and the exchange's where a gap's start has to come
#: from the local clock (no item delivered yet).
_CLOCK_SLACK_MS = 5_000
#: Most answers one recovery fetches (50 pages of 2000 fills is past the 10 000 the server keeps reachable).
_MAX_PAGES = 50
#: Items handed to a sync callback's thread at once.
_CALLBACK_BATCH = 256
#: a callback failing again the same way is logged (with its traceback) the first time, then once per this many
_CALLBACK_LOG_EVERY = 100

_log = get_logger("hyperliquid_client.ws")
_PING = '{"method":"ping"}'
_GREETING = "Websocket connection established"


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Dead(Exception):
    """Nothing arrived within the deadline after a ping."""


class _TokenBucket:
    """Paces frames sent to the server (shared by all connections of a client)."""

    def __init__(self, rate: float, burst: int, limits: WsLimits) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.limits = limits

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                await self.limits.message()  # the server's messages-per-minute limit
                return
            await asyncio.sleep((1.0 - self.tokens) / self.rate)


class _Gap:
    """One interruption of a recoverable stream: from ``start_ms`` (fixed when the connection was lost: the newest item
    delivered by then) to the first item received after the stream resumed (``end_ms``; ``None`` until known)."""

    __slots__ = ("end_ms", "resumed", "start_ms")

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self.end_ms: int | None = None
        self.resumed = False


class _RecoveryFailed(Exception):
    """A recovery request kept failing: items from ``since_ms`` to ``until_ms`` were not fetched."""

    def __init__(self, since_ms: int, until_ms: int | None, error: str, cause: BaseException | None) -> None:
        super().__init__(error)
        self.since_ms = since_ms
        self.until_ms = until_ms
        self.error = error
        self.cause = cause


#: (frame text, its data or ``None`` when it is not a frame of the stream, its item) of a message held as text
_Read = tuple[str, Any, Any]


class _Upstream:
    """One server-side subscription and its subscribers."""

    __slots__ = (
        "active",
        "at_newest",
        "at_newest_ids",
        "bare_items",
        "channel",
        "client",
        "conn",
        "default_policy",
        "duplicates",
        "ever_live",
        "feeds",
        "fenced",
        "gaps",
        "had_snapshot",
        "identity",
        "interrupted_at",
        "key",
        "key_text",
        "last_data",
        "last_item_time",
        "latest",
        "latest_cache",
        "latest_raw",
        "latest_text",
        "live",
        "live_waiters",
        "mark",
        "market",
        "newest",
        "ordered",
        "params",
        "ready",
        "recoverable",
        "recovery",
        "resuming",
        "route",
        "seen",
        "seen_before",
        "sent_at",
        "sinks",
        "snapshot",
        "stale",
        "stale_after",
        "started_ms",
        "text_feed",
        "textual",
        "time_key",
        "unreported",
        "user",
        "verdicts",
    )

    def __init__(
        self, client: WsClient, key: SubscriptionKey, channel: ChannelInfo, params: dict[str, Any], policy: str
    ) -> None:
        self.client = client
        self.key = key
        self.key_text = str(key)
        self.channel = channel
        self.params = params
        self.route = routing_key(channel, params)
        self.user: str | None = (
            str(key.param(channel.user_param)) if channel.user_param and key.param(channel.user_param) else None
        )
        self.conn: _Connection | None = None
        self.sinks: dict[int, _Sink] = {}
        # one feed per distinct decoder, read by its subscribers; replaced (never mutated) so delivery may iterate
        self.feeds: tuple[tuple[Callable[[Any], Any] | None, _Feed], ...] = ()
        self.active = True
        self.ready = True  # False while a gate (e.g. coin validation) runs: nothing is sent before it passes
        self.live = False
        self.ever_live = False
        self.interrupted_at: float | None = None
        self.last_data = time.monotonic()
        self.stale = False
        self.stale_after = client._stale_threshold(channel)
        self.started_ms: int | None = None
        self.latest_raw: Any = None
        self.latest: Any = None
        # the newest message while it waits as text, unread (see ``deliver_text``): ``latest_raw`` and ``latest`` are
        # then what the messages before the waiting texts gave, and ``latest_values`` reads back from the newest;
        # ``latest_cache``: (``latest_text``, latest_raw, latest) as that read found them
        self.latest_text: str | None = None
        self.latest_cache: tuple[str | None, Any, Any] = (None, None, None)
        # texts ``latest_values`` read before any subscriber did, by identity: their first subscriber takes the same
        # item (a failure is reported once); dropped when a subscriber reads them or they leave the feed unread
        self.verdicts: dict[int, _Read] = {}
        # failures a feed's batch read found, reported once the feed holds what it read (``report_read``): a handler
        # of the report that reads the stream again finds them read (``None``: not in a batch read, report at once)
        self.unreported: list[Exception | int] | None = None
        # identities of the items delivered: the newest ``dedup_window`` at least (two generations of sets); user data
        self.seen: set[Hashable] | None = set() if channel.dedup_key is not None and not channel.market_data else None
        # market data arrives in time order (block times, monotonic per feed): an item older than the newest delivered
        # was delivered already (or predates the subscription), so only the items at the newest time are remembered
        self.ordered = channel.dedup_key is not None and channel.market_data
        self.time_key = channel.time_key
        self.market = channel.market_data
        self.snapshot = channel.snapshot
        self.bare_items = channel.items_key is None
        self.newest: Any = -1
        self.at_newest: list[Any] = []
        self.at_newest_ids: set[Hashable] | None = None
        # a time-ordered stream resumed after an interruption, until its first message after it (:meth:`resumed_with`)
        self.resuming = False
        # made while the server still held the subscription of one that left (``_Connection.add``): not routed, and
        # no acknowledgement counts, until the server confirms that subscription's unsubscribe
        self.fenced = False
        self.seen_before: set[Hashable] = set()
        # the identity of an item holding each identity field as a plain key (one C call: this runs for every trade)
        fields: tuple[str, ...] | None = getattr(channel.dedup_key, "fields", None)
        self.identity: Callable[[Any], Hashable] | None = (
            operator.itemgetter(*fields) if fields is not None and len(fields) > 1 else None
        )
        self.last_item_time: int | None = None
        # (newest time, identities at that time) of the items the last message delivered (user data)
        self.mark: tuple[int, frozenset[Hashable]] | None = None
        self.duplicates = 0
        self.recoverable = (
            client._recover is not None
            and self.seen is not None
            and not channel.market_data
            and channel.recovery is not None
        )
        self.gaps: list[_Gap] = []
        #: a snapshot was delivered: the next ones (resubscriptions) hold what was missed, marked ``recovered``
        self.had_snapshot = False
        self.recovery: asyncio.Task[None] | None = None
        self.live_waiters: list[asyncio.Future[None]] = []
        self.sent_at = 0.0
        self.default_policy = policy
        # nothing at arrival needs the parsed data: a frame routed by its text may wait as that text (``deliver_text``);
        # a time-ordered stream's items (a bare list) are then de-duplicated as they are read, in the order they came
        self.textual = (
            self.seen is None
            and (not self.ordered or self.bare_items)
            and not channel.snapshot
            and plain_route(channel.route_fields) is not None
        )
        self.text_feed: _Feed | None = None

    def _new_feed(self, decode: Callable[[Any], Any] | None) -> _Feed:
        channel = self.channel.channels[0]
        feed = _Feed(self.seen is not None and not self.channel.market_data, channel)
        if self.textual:
            feed.reported = self.report_read
            feed.resolve = self._resolver(feed, decode, channel)
            # (a de-duplicating feed reads every text a subscriber passes, see ``_Feed.dedups``: none leaves unread)
            feed.dedups = self.ordered
            feed.cut = None if self.ordered else (lambda items: self.cut_texts(items, feed))
        return feed

    def _resolver(
        self, feed: _Feed, decode: Callable[[Any], Any] | None, channel: str
    ) -> Callable[[list[Any]], list[Any]]:
        """The feed's reader of the items it holds (see :attr:`_Feed.resolve`), items in the order they arrived and
        never read before: a message held as text parsed, checked and decoded (the common case inline, anything else
        through :meth:`read_text`), a bare dict or list in its ``Message``, anything else as it is.  The newest
        message of the batch that reads becomes the stream's latest value (the batch is the oldest unread).

        A time-ordered stream's text is de-duplicated as it is read (:meth:`dedup_ordered`; read in the order they
        came, as :meth:`deliver` does at arrival); one whose items were all delivered before becomes ``SKIPPED``
        (counted in the feed).  Its ``latest*`` reads every waiting text in order, so its texts never have verdicts."""
        path = self.channel.route_fields[0][1]
        route = self.route
        slow = self.read_text
        ordered = self.ordered
        dedup = self.dedup_ordered
        key = self.time_key

        def resolve(items: list[Any]) -> list[Any]:
            verdicts = self.verdicts
            if self.unreported is None:
                self.unreported = []  # (reported by ``report_read`` once the feed holds ``out``)
            out = []
            last: Any = None  # the newest text read
            raw: Any = None  # the newest data that parsed and checked (and was not all duplicates)
            good: Any = None  # the newest item that decoded
            for text in items:
                kind = type(text)
                if kind is str:
                    last = text
                    if ordered:
                        try:
                            msg = fast_loads(text)
                            data = msg["data"]
                            if type(data) is not list or msg["channel"] != channel or data[0][path] != route:
                                raise ValueError(path)
                        except Exception:  # not what its beginning said, or refused: read again, failure reported
                            data, item, error = self.parse_text(text, None, channel)
                            if error is not None:
                                self.unreported.append(error)
                                out.append(item)
                                continue
                        try:  # (``dedup_ordered``'s common case, inline: every item newer, in order)
                            t1 = data[-1][key]
                            new = (
                                data[0][key] > self.newest
                                and type(t1) is int
                                and data[0][key] <= t1
                                and (len(data) < 3 or [x[key] for x in data] == sorted([x[key] for x in data]))
                            )
                        except Exception:
                            new = False
                        if new:
                            self.newest = t1
                            self.at_newest = data
                            self.at_newest_ids = None
                        else:
                            data = dedup(data, self.unreported)
                            if data is None:
                                out.append(SKIPPED)
                                feed.skips += 1
                                continue
                        raw = data
                        try:
                            item = good = new_message(data if decode is None else decode(data), channel, False)
                        except Exception as exc:
                            self.unreported.append(exc)
                            item = DecodeFailed(data, f"{type(exc).__name__}: {exc}")
                        out.append(item)
                        continue
                    if not verdicts:
                        try:
                            msg = fast_loads(text)
                            data = msg["data"]
                            if type(data) is not dict or msg["channel"] != channel or data[path] != route:
                                raise ValueError(path)
                            item = new_message(data if decode is None else decode(data), channel, False)
                            out.append(item)
                            raw = data
                            good = item
                            continue
                        except Exception:  # not what its beginning said, or refused: read again, failure reported
                            pass
                    _text, data, item = slow(text, decode, channel, False)
                    out.append(item)
                    if data is not None:
                        raw = data
                        if type(item) is Message:
                            good = item
                elif kind is dict or kind is list:
                    out.append(new_message(text, channel, False))
                else:
                    out.append(text)
            if last is not None and self.latest_text is not None:
                self.took(last, raw, good)
            return out

        return resolve

    def took(self, last: Any, raw: Any, good: Any) -> None:
        """A feed's readers read texts up to ``last``: the newest that parsed and checked gave ``raw``, the newest
        that decoded ``good`` (its ``Message``, or ``None``)."""
        if self.market and raw is not None:
            self.latest_raw = raw
            if good is not None:
                self.latest = good.data
        if last is self.latest_text:  # (nothing waits as text any more)
            self.latest_text = None
        self.latest_cache = (None, None, None)

    def settle(self, feed: _Feed | None) -> None:
        """Read every message of ``feed`` still waiting as text (before a message comes that did not wait as text:
        what waits as text is always the newest of a feed)."""
        if feed is not None:
            feed.wrap(feed.end)
        self.latest_text = None
        self.latest_cache = (None, None, None)
        self.verdicts.clear()
        if feed is not None:
            feed.report()

    def cut_texts(self, items: list[Any], feed: _Feed) -> None:
        """``items`` leave the feed unread (every subscriber skipped them, overflow): the newest of them that reads
        (read back from the newest) stays the latest value behind the texts that wait; the others go unparsed.  What
        the read finds is reported by the feed (``report``), not here: this runs inside an arrival or a read."""
        owned = self.unreported is None
        if owned:
            self.unreported = []
        raw, value, at = self._read_back(items, False)
        if owned:
            if self.unreported:
                feed.to_report = True
            else:  # (nothing to report: later reads report at once again, see ``read_text``)
                self.unreported = None
        verdicts = self.verdicts
        if verdicts and at > 0:  # (what ``latest_values`` read of the older ones is kept for nobody any more)
            for x in items[:at]:
                entry = verdicts.get(id(x)) if type(x) is str else None
                if entry is not None and entry[0] is x:
                    del verdicts[id(x)]
        if raw is not None and self.market:
            self.latest_raw = raw
            if at >= 0:
                self.latest = value
        self.latest_cache = (None, None, None)

    def _read_back(self, items: list[Any], keep: bool) -> tuple[Any, Any, int]:
        """Read the messages of ``items`` held as text back from the newest (``keep``: see :meth:`read_text`) to the
        newest that parses, checks and decodes: ``(raw, value, at)``, the newest data that parsed and checked
        (``None``: none did), that message's value and its position (``-1``: none decoded).  A message read before
        (or never held as text) ends it: what is older gave the latest values already."""
        feeds = self.feeds
        decode = feeds[0][0] if feeds else None
        channel = self.channel.channels[0]
        raw: Any = None
        for at in range(len(items) - 1, -1, -1):
            x = items[at]
            kind = type(x)
            if kind is str:
                _text, data, item = self.read_text(x, decode, channel, keep)
                if data is not None:
                    if raw is None:
                        raw = data
                    if type(item) is Message:
                        return raw, item.data, at
            elif kind is Message or kind is DecodeFailed or kind is dict or kind is list:
                break
        return raw, None, -1

    def refresh_text_feed(self) -> None:
        """``text_feed``: the feed a frame routed by its text goes to, when there is one (see ``deliver_text``)."""
        route = self.route
        before = self.text_feed
        self.text_feed = (
            self.feeds[0][1]
            if self.textual
            and len(self.feeds) == 1
            and not getattr(self.feeds[0][0], "at_arrival", False)  # (a decoder that must see each message arrive)
            and type(route) is str
            and len(route) != 42  # (an address is routed by the router function: normalized)
            and "\\" not in route  # (a frame's text holds a backslash where its value has an escape)
            else None
        )
        if before is not None and before is not self.text_feed and self.latest_text is not None:
            self.settle(before)

    def add(self, sink: _Sink) -> None:
        self.sinks[sink.id] = sink
        feed = next((f for decode, f in self.feeds if decode is sink.decode), None)
        if feed is None:
            feed = self._new_feed(sink.decode)
            self.feeds = (*self.feeds, (sink.decode, feed))
            self.refresh_text_feed()
        feed.follow(sink)

    def remove(self, sink: _Sink) -> None:
        if self.sinks.pop(sink.id, None) is None:
            return
        feed = sink.feed
        if feed is not None:
            feed.leave(sink)
            if not any(s.feed is feed for s in self.sinks.values()):
                self.feeds = tuple(entry for entry in self.feeds if entry[1] is not feed)
                self.refresh_text_feed()

    def broadcast(self, marker: Any) -> None:
        for _decode, feed in self.feeds:
            feed.append(marker, None, marker=True)

    def wake_waiters(self) -> None:
        waiters, self.live_waiters = self.live_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    # -- de-duplication (user channels) -------------------------------------------------------------------------
    def _fresh(self, items: list[Any]) -> list[Any]:
        seen = self.seen
        assert seen is not None
        before = self.seen_before
        dedup = self.channel.dedup_key
        assert dedup is not None
        identity = self.identity or dedup
        known: list[tuple[Any, Hashable]] | None = None if self.channel.market_data else []
        fresh = []
        for item in items:
            try:
                ident = identity(item)
                if ident in seen or ident in before:
                    continue
            except Exception:  # a field missing or unhashable (compared by its text), or no identity at all
                try:
                    ident = dedup(item)
                    if ident in seen or ident in before:
                        continue
                except Exception:  # an item without its identity fields: deliver, cannot dedupe
                    fresh.append(item)
                    continue
            seen.add(ident)
            fresh.append(item)
            if known is not None:
                known.append((item, ident))
        if len(seen) >= self.client.config.dedup_window:
            self.seen_before, self.seen = seen, set()
        if known is not None:  # where recovery after a gap or an overflow starts (user data)
            self._note_times(known)
        return fresh

    def _fresh_ordered(self, items: list[Any]) -> list[Any]:
        """The items of a time-ordered stream not delivered yet (``items`` itself when all of them are new), item by
        item (:meth:`deliver` takes the common case first: every item newer than the newest delivered, in order)."""
        key = self.time_key
        dedup = self.channel.dedup_key
        assert dedup is not None
        newest, at, ids = self.newest, self.at_newest, self.at_newest_ids
        fresh = []
        for item in items:
            try:
                t = item[key]
                if type(t) is not int:
                    raise TypeError(key)
            except Exception:  # no time: neither ordered nor de-duplicated, delivered
                fresh.append(item)
                continue
            if t < newest:
                continue
            if t == newest:
                try:
                    if ids is None:
                        at = [x for x in at if type(x) is dict and x.get(key) == newest]
                        ids = {dedup(x) for x in at}
                    ident = dedup(item)
                    if ident in ids:
                        continue
                    ids.add(ident)
                except Exception:  # unhashable identity: delivered, cannot dedupe
                    fresh.append(item)
                    continue
                at.append(item)
            else:
                newest, at, ids = t, [item], None
            fresh.append(item)
        self.newest, self.at_newest, self.at_newest_ids = newest, at, ids
        return items if len(fresh) == len(items) else fresh

    def _note_times(self, known: list[tuple[Any, Hashable]]) -> None:
        """The newest item time delivered and the identities at that time (``mark``, ``last_item_time``)."""
        item_time = self.channel.item_time
        newest: int | None = None
        at_newest: list[Hashable] = []
        for item, ident in known:
            t = item_time(item)
            if t is not None:
                if newest is None or t > newest:
                    newest, at_newest = t, [ident]
                elif t == newest:
                    at_newest.append(ident)
        if newest is not None and (self.last_item_time is None or newest > self.last_item_time):
            self.last_item_time = newest
        self.mark = (newest, frozenset(at_newest)) if newest is not None else None

    def _note_live(self, data: Any, items: list[Any]) -> None:
        """The first live item after a resumption ends the open gaps (a snapshot's old items do not)."""
        if self.channel.snapshot and isinstance(data, Mapping) and data.get("isSnapshot"):
            return
        times = [t for t in map(self.channel.item_time, items) if t is not None]
        if times:
            first = min(times)
            for gap in self.gaps:
                if gap.resumed and gap.end_ms is None:
                    gap.end_ms = first

    # -- delivery (hot path) -----------------------------------------------------------------------------------
    def deliver(self, data: Any, channel: str, recovered: bool = False, checked: bool = False) -> list[_Sink] | None:
        """Queue ``data`` for every subscriber; returns the subscribers over their bound with the ``block`` policy.

        ``checked``: the items were already de-duplicated (recovery)."""
        conn = self.conn
        if conn is None or recovered:
            self.last_data = time.monotonic()
        else:
            self.last_data = conn.last_recv
            if not self.live and conn.connected_now:
                self.client._mark_live(self)  # data before (or without) an ack
        if self.stale:
            self.stale = False
        if self.latest_text is not None:  # (messages wait as text: they are older, read them first)
            self.settle(self.text_feed)
        if self.resuming and not recovered:
            self.resumed_with(data)
        if self.snapshot and type(data) is dict and data.get("isSnapshot"):
            recovered = recovered or self.had_snapshot  # a resubscription's snapshot: what is new in it was missed
            self.had_snapshot = True
        mark = None
        market = self.market
        if self.seen is not None:
            if checked:
                mark = self.mark
            else:
                items = data if type(data) is list and self.channel.items_key is None else self.channel.items_of(data)
                if items:
                    if self.gaps:
                        self._note_live(data, items)
                    fresh = self._fresh(items)
                    if not fresh:
                        self.duplicates += 1
                        log(_log, 10, "duplicate message skipped", key=self.key_text, items=len(items))
                        return None
                    if len(fresh) != len(items):
                        self.duplicates += 1
                        data = self.channel.with_items(data, fresh)
                    if not market:
                        mark = self.mark
        elif self.ordered and not checked:
            data = self.dedup_ordered(data)
            if data is None:
                return None
        if market:
            self.latest_raw = data
        blocked: list[_Sink] | None = None
        first = True
        for decode, feed in self.feeds:
            # a message's data waits in the feed as it is when it is a dict or a list (its first reader wraps it in
            # its ``Message``: see ``_Feed.wrap``); anything else, a recovered one or one of another channel
            # is wrapped here
            if decode is None:
                item: Any = data
            else:
                try:
                    item = decode(data)
                except Exception as exc:
                    self.client._decode_failed(self, exc)
                    item = DecodeFailed(data, f"{type(exc).__name__}: {exc}")
            if type(item) is not DecodeFailed:
                if first and market:
                    self.latest = item
                kind = type(item)
                if (kind is not dict and kind is not list) or recovered or channel != feed.channel:
                    item = new_message(item, channel, recovered)
            first = False
            full = feed.append(item, mark)
            if full:
                blocked = full if blocked is None else blocked + full
        return blocked

    def dedup_ordered(self, data: Any, notes: list[Exception | int] | None = None) -> Any:
        """``data`` of a time-ordered stream without the items delivered before (``data`` itself when all are new;
        ``None`` when none is), in the order messages come (at arrival, or as they are read when they waited as text).
        ``notes``: where a batch read puts what it logs (its item count), logged once the read is in place."""
        items = data if type(data) is list and self.bare_items else self.channel.items_of(data)
        if not items:
            return data
        key = self.time_key
        try:  # the common case: every item newer than the newest delivered, in order (one read each end)
            t0 = items[0][key]
            t1 = items[-1][key]
            new = (
                t0 > self.newest
                and type(t1) is int
                and t0 <= t1
                and (len(items) < 3 or [item[key] for item in items] == sorted([item[key] for item in items]))
            )
        except Exception:  # an item without a usable time: looked at one by one
            new = False
        if new:
            self.newest = t1
            self.at_newest = items  # (those of them at ``newest``, when needed)
            self.at_newest_ids = None
            return data
        fresh = self._fresh_ordered(items)
        if fresh is items:
            return data
        self.duplicates += 1
        if not fresh:
            if notes is None:
                log(_log, 10, "duplicate message skipped", key=self.key_text, items=len(items))
            else:
                notes.append(len(items))
            return None
        return self.channel.with_items(data, fresh)

    def deliver_text(self, text: str, feed: _Feed, conn: _Connection) -> list[_Sink] | None:
        """Queue a frame that routed by its text (:meth:`WsClient._on_frame`) as that text: its first reader parses
        it (the feed's ``resolve``).  Only for a stream whose arrival needs nothing of the data (``textual``) and that
        has one feed (``text_feed``): a waiting ``str`` costs the garbage collector nothing, a parsed book several
        objects."""
        self.last_data = conn.last_recv
        if not self.live and conn.connected_now:
            self.client._mark_live(self)  # data before (or without) an ack
        if self.stale:
            self.stale = False
        if self.resuming:  # (the first message after a reconnect: read here, rare; those before it first)
            if self.latest_text is not None:
                self.settle(feed)
            try:
                data = fast_loads(text).get("data")
            except Exception:  # (reported when it is read)
                data = None
            self.resumed_with(data)
        self.latest_text = text
        return feed.append(text)

    def hand_state(self, sink: _Sink) -> None:
        """``sink`` joins this live stream of a state channel: the newest message (the whole state the server sent the
        subscribers before it, which it would send a new subscription first) is its first item, decoded for it.
        Nothing when none came yet: the first is on its way to every subscriber."""
        raw = self.latest_values()[0]
        if raw is None:
            return
        try:
            item: Any = new_message(raw if sink.decode is None else sink.decode(raw), self.channel.channels[0], False)
        except Exception as exc:
            feed = sink.feed
            if feed is None or len(feed.sinks) <= 1:  # (a decoder new to the stream: its failure is news)
                self.client._decode_failed(self, exc)
            item = DecodeFailed(raw, f"{type(exc).__name__}: {exc}")
        if self.latest is None and type(item) is Message and self.feeds and self.feeds[0][1] is sink.feed:
            self.latest = item.data  # (``latest()``: decoded like the first subscriber's, as delivery keeps it)
        sink.add_own(item, True)

    def resumed_with(self, data: Any) -> None:
        """The first message of a time-ordered stream after it resumed (the server's backfill, for ``trades``): items
        that do not reach back to the newest one delivered before the interruption leave the time between them
        uncovered, reported as a :class:`Gap` (before them), a ``ws.gap`` event and a log record."""
        self.resuming = False
        after = self.newest  # (of every message that came before: none waits as text)
        key = self.time_key
        try:
            items = data if type(data) is list and self.bare_items else self.channel.items_of(data)
            oldest = min(item[key] for item in items) if items else None
            if items and oldest == after:  # (reaching back means holding one delivered before, not just its time)
                ident = self.identity or self.channel.dedup_key
                assert ident is not None
                known = {ident(x) for x in self.at_newest if type(x) is dict and x.get(key) == after}
                if not any(ident(x) in known for x in items if x[key] == after):
                    after -= 1  # (the items of that time delivered before may have been followed by others)
        except Exception:  # (an item without a usable time: the reader reports it)
            return
        if type(after) is int and after >= 0 and type(oldest) is int and oldest > after:
            self.client._report_gap(
                self,
                after,
                oldest,
                "the first message after the reconnect does not reach back to the last item before it",
            )

    def parse_text(
        self, text: str, decode: Callable[[Any], Any] | None, channel: str
    ) -> tuple[Any, Any, Exception | None]:
        """``(data, item, error)`` of a message held as its frame's text: its data (``None`` when the frame is not
        one of this stream's), its item (the :class:`Message`, or a :class:`DecodeFailed` for ``error``, which is not
        reported yet)."""
        try:
            try:
                msg = fast_loads(text)
            except ValueError:  # what the fast parser refuses, as the standard library reads it
                msg = json.loads(text)
        except (ValueError, RecursionError) as exc:  # (nested deeper than the standard library reads)
            return None, DecodeFailed(text, f"malformed frame: {exc}"), exc
        data = msg.get("data") if type(msg) is dict else None
        path = self.channel.route_fields[0][1]
        node = data[0] if self.ordered and type(data) is list and data else None if self.ordered else data
        if type(node) is not dict or msg.get("channel") != channel or node.get(path) != self.route:
            error = ValueError(
                f"the frame is not the {channel} message of {path} {self.route!r} its beginning said: {text[:80]}"
            )
            return None, DecodeFailed(msg, str(error)), error
        if decode is None:
            return data, new_message(data, channel, False), None
        try:
            return data, new_message(decode(data), channel, False), None
        except Exception as exc:
            return data, DecodeFailed(data, f"{type(exc).__name__}: {exc}"), exc

    def read_text(self, text: str, decode: Callable[[Any], Any] | None, channel: str, keep: bool) -> _Read:
        """``(text, data, item)`` of a message held as text (see :meth:`parse_text`), read once whoever reads it
        first (a failure reported then): ``keep`` (``latest_values``) keeps it for the subscriber that reads it next,
        who takes it (the same item)."""
        verdicts = self.verdicts
        entry = verdicts.get(id(text)) if verdicts else None
        if entry is not None and entry[0] is text:
            if not keep:
                del verdicts[id(text)]
            return entry
        data, item, error = self.parse_text(text, decode, channel)
        entry = (text, data, item)
        if error is not None and self.unreported is not None:
            self.unreported.append(error)  # (a batch read: reported once the feed holds what it read)
        elif error is not None:
            verdicts[id(text)] = entry  # (a handler of the report reading the stream again finds it read)
            try:
                self.client._decode_failed(self, error)
            finally:
                if not keep and verdicts.get(id(text)) is entry:
                    del verdicts[id(text)]
            return entry
        if keep:
            verdicts[id(text)] = entry
        return entry

    def report_read(self) -> None:
        """Report the failures a feed's batch read found (and log the messages it skipped as duplicates, by their
        item count), now that the feed holds what it read."""
        errors, self.unreported = self.unreported, None
        for error in errors or ():
            if isinstance(error, Exception):
                self.client._decode_failed(self, error)
            else:
                log(_log, 10, "duplicate message skipped", key=self.key_text, items=error)

    def held_values(self) -> tuple[Any, Any] | None:
        """``(latest_raw, latest)`` when nothing has to be read for them (a plain read, from any thread: the cache
        is one tuple, replaced whole), else ``None`` (:meth:`latest_values` reads the waiting texts)."""
        text = self.latest_text
        if text is None or not self.market:
            return self.latest_raw, self.latest
        cache = self.latest_cache
        return (cache[1], cache[2]) if cache[0] is text else None

    def latest_values(self) -> tuple[Any, Any]:
        """``(latest_raw, latest)``, on the event loop's thread: while messages wait as text, the newest that parses
        and checks (``latest_raw``) and the newest that also decodes (``latest``), read back from the newest (what
        they give is kept for their subscribers; see :meth:`read_text`)."""
        held = self.held_values()
        if held is not None:
            return held
        text = self.latest_text
        feed = self.text_feed
        if self.ordered:  # (read in the order they came: what they are de-duplicated against is what came before)
            self.settle(feed)
            return self.latest_raw, self.latest
        owned = self.unreported is None  # (what the read finds is reported once the values are in place)
        if owned:
            self.unreported = []
        raw, value, at = self._read_back(feed.items, True) if feed is not None else (None, None, -1)
        if at < 0:
            value = self.latest
            if raw is None:
                raw = self.latest_raw
        self.latest_cache = (text, raw, value)
        if owned:
            self.report_read()
        return raw, value


class _PendingPost:
    __slots__ = ("future", "id", "kind", "sent")

    def __init__(self, pid: int, kind: str, future: asyncio.Future[Any]) -> None:
        self.id = pid
        self.kind = kind
        self.future = future
        self.sent = False


def _whole_state(up: _Upstream) -> bool:
    """Whether every message of ``up`` is its whole state on one data channel (market data ``initial: state``): a
    subscriber starting from its newest message misses nothing a new subscription would have sent it."""
    return up.market and up.channel.state and len(up.channel.channels) == 1


class _Connection:
    """One WebSocket connection: lifecycle, reader, pinger, sender (reconciliation) and pending posts."""

    def __init__(self, client: WsClient, cid: int) -> None:
        self.client = client
        self.id = cid
        self.cfg = client.config
        self.desired: dict[SubscriptionKey, _Upstream] = {}
        # data channel -> (route fields, router, routing key -> upstream, the data key of a plain route)
        self.routes: dict[
            str,
            tuple[tuple[tuple[str, str], ...], Callable[[Any], Any], dict[Any, _Upstream], str | None],
        ] = {}
        self.users: Counter[str] = Counter()
        self.sent: dict[SubscriptionKey, float] = {}  # in the order sent on the current socket
        self.dirty: dict[SubscriptionKey, None] = {}
        self.retired: dict[SubscriptionKey, _Upstream] = {}  # (removed while the server still holds them)
        self.unsubs: Counter[SubscriptionKey] = Counter()  # unsubscribes sent, not yet acknowledged
        self.dirty_event = asyncio.Event()
        self.acked = asyncio.Event()  # set at every acknowledgement (probes wait on it)
        self.connected = asyncio.Event()
        self.connected_now = False
        self.ws: ClientConnection | None = None
        self.pending: dict[int, _PendingPost] = {}
        self.closing = False
        self.gave_up = False
        self.last_recv = self.opened_at = time.monotonic()
        self.last_error: str | None = None  # why the last socket ended or the last attempt failed
        self.retry_at: float | None = None
        self.idle_handle: asyncio.TimerHandle | None = None
        # never-acknowledged subscriptions suspected of making the server drop the socket, likeliest first; while
        # there are any, such subscriptions are sent apart (``probe``) and the others never acknowledged are held
        self.suspects: list[SubscriptionKey] = []
        # (beginning of a frame routed by its text, its length, its channel, routing key -> upstream) of the channels
        # whose messages may wait as text: see ``WsClient._on_frame``
        self.text_heads: tuple[tuple[str, int, str, dict[Any, _Upstream]], ...] = ()
        self.probe: list[SubscriptionKey] = []
        self.probe_single = False
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"hyperliquid-ws-{cid}")

    # -- placement ---------------------------------------------------------------------------------------------
    def can_host(self, up: _Upstream) -> bool:
        if self.closing or self.gave_up:
            return False
        if len(self.desired) >= self.cfg.max_subscriptions_per_connection:
            return False
        if up.user is not None and up.user not in self.users and len(self.users) >= self.cfg.max_users_per_connection:
            return False
        for ch in up.channel.channels:
            entry = self.routes.get(ch)
            if entry is not None and (entry[0] != up.channel.route_fields or up.route in entry[2]):
                held = entry[2].get(up.route)  # (one that left, routed until its unsubscribe goes: the same key)
                if held is None or self.retired.get(held.key) is not held or held.key != up.key:
                    return False
        for other in self.desired.values():  # (one waiting for its route: ``unfence``)
            if other.fenced and other.route == up.route and other.key != up.key and other.channel is up.channel:
                return False
        return True

    def add(self, up: _Upstream) -> None:
        up.conn = self
        self.desired[up.key] = up
        old = self.retired.pop(up.key, None)
        if self._replaced(up):
            if old is not None and old.live and up.ready and _whole_state(up):
                # the server still holds the live subscription of one that left (its unsubscribe not sent yet), whose
                # newest message stayed current (still routed to it): this one takes it over, live at once, starting
                # from that message, as a subscriber joining a live stream does
                self.sent[up.key] = up.sent_at = time.monotonic()
                up.latest_raw = old.latest_raw
            else:  # any other is subscribed again (``_sender``); until the server confirms the unsubscribe, what
                up.fenced = True  # comes for the key is the old subscription's (``unfence``)
                if old is not None:
                    self._unroute(old)
        if not up.fenced:
            self.route(up)
        if up.user is not None:
            self.users[up.user] += 1
        if self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None
        if up.key in self.sent and not up.fenced:
            self.client._mark_live(up)
        self.mark(up.key)

    def route(self, up: _Upstream) -> None:
        """Route ``up``'s data channels to it."""
        for ch in up.channel.channels:
            entry = self.routes.get(ch)
            if entry is None:
                fields = up.channel.route_fields
                entry = self.routes[ch] = (fields, make_router(fields), {}, plain_route(fields))
                if entry[3] is not None and up.textual:
                    node = {entry[3]: ""}
                    head = json.dumps({"channel": ch, "data": [node] if up.ordered else node}, separators=(",", ":"))
                    head = head[: head.index('""') + 1]
                    self.text_heads = (*self.text_heads, (head, len(head), ch, entry[2]))
            entry[2][up.route] = up

    def unfence(self, up: _Upstream) -> None:
        """The server confirmed the unsubscribe of the subscription ``up`` replaces (or the socket is new): what
        comes for its key from now on is its own."""
        if up.fenced:
            up.fenced = False
            if self.desired.get(up.key) is up:
                self.route(up)

    def remove(self, up: _Upstream) -> None:
        if self.desired.get(up.key) is not up:
            return
        del self.desired[up.key]
        if up.key in self.sent and _whole_state(up) and not up.fenced:  # (its newest message kept current until
            self.retired[up.key] = up  # its unsubscribe goes)
        else:
            self._unroute(up)
        if up.user is not None:
            self.users[up.user] -= 1
            if self.users[up.user] <= 0:
                del self.users[up.user]
        self.mark(up.key)
        self.acked.set()  # a probe waiting for it stops waiting
        if not self.desired:
            self.client._connection_idle(self)

    def _unroute(self, up: _Upstream) -> None:
        for ch in up.channel.channels:
            entry = self.routes.get(ch)
            if entry is not None and entry[2].get(up.route) is up:
                del entry[2][up.route]
                if not entry[2]:
                    del self.routes[ch]
                    self.text_heads = tuple(h for h in self.text_heads if h[2] != ch)

    def _forget_retired(self) -> None:
        """The socket that held the retired subscriptions is gone: they stop being routed, and the ones that replace
        them are subscribed afresh on the next socket."""
        retired, self.retired = self.retired, {}
        for up in retired.values():
            self._unroute(up)
        self.unsubs.clear()
        for up in tuple(self.desired.values()):
            self.unfence(up)

    def mark(self, key: SubscriptionKey) -> None:
        self.dirty[key] = None
        self.dirty_event.set()

    def match_echo(self, echo: SubscriptionKey) -> _Upstream | None:
        up = self.desired.get(echo)
        if up is not None:
            return up
        best: _Upstream | None = None
        for key, cand in self.desired.items():
            if (
                key.type == echo.type
                and echo_matches(key, echo)
                and (best is None or len(key.params) > len(best.key.params))
            ):
                best = cand
        return best

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def _backoff(self, failures: int) -> float:
        delay = min(self.cfg.reconnect_max, self.cfg.reconnect_base * (2 ** max(0, failures - 1)))
        return random.uniform(delay / 2, delay)

    async def _pause(self, failures: int, attempt: int) -> None:
        delay = self._backoff(failures)
        self.retry_at = time.monotonic() + delay
        self.client._emit(
            "ws.reconnect_scheduled", url=self.client.url, connection=self.id, delay=delay, attempt=attempt
        )
        await asyncio.sleep(delay)
        self.retry_at = None

    async def _run(self) -> None:
        client = self.client
        url = client.url
        failures = 0
        attempt = 0
        try:
            while not self.closing:
                attempt += 1
                await client.limits.before_connect()  # new connections per minute (reconnects too)
                try:
                    ws = await connect(
                        url,
                        open_timeout=self.cfg.open_timeout,
                        ping_interval=None,
                        close_timeout=1.0,
                        max_size=self.cfg.max_message_size,
                        compression=None,
                    )
                except Exception as exc:  # OSError, TimeoutError, InvalidHandshake, InvalidURI, ...
                    failures += 1
                    reason = f"connect failed: {type(exc).__name__}: {exc}"
                    self.last_error = reason
                    log(_log, 30, "websocket connect failed", connection=self.id, attempt=attempt, error=str(exc))
                    client._emit("ws.disconnect", url=url, connection=self.id, reason=reason, code=None)
                    self._tell_not_connected(reason)
                    if isinstance(exc, websockets.InvalidURI) or (
                        self.cfg.max_reconnect_attempts is not None and failures > self.cfg.max_reconnect_attempts
                    ):
                        self._give_up(reason)
                        return
                    await self._pause(failures, attempt)
                    continue
                got_message, suspicious = await self._serve(ws, attempt)
                if self.closing:
                    return
                # the backoff resets only after a socket that worked; drops that look caused by a subscription grow it
                failures = 1 if got_message and not suspicious else max(failures, 1) + 1
                if self.cfg.max_reconnect_attempts is not None and failures > self.cfg.max_reconnect_attempts:
                    self._give_up("connection keeps failing")
                    return
                await self._pause(failures, attempt)
        finally:
            self.connected.clear()
            self.connected_now = False
            self._fail_posts("connection closed")

    def _tell_not_connected(self, reason: str) -> None:
        """Subscriptions waiting for a socket that cannot open get one ``Interrupted`` (``Resumed`` follows)."""
        now = time.monotonic()
        for up in tuple(self.desired.values()):
            if not up.live and up.interrupted_at is None:
                up.interrupted_at = now
                up.broadcast(Interrupted(f"not connected: {reason}"))
                self.client._emit("ws.interrupted", key=up.key_text)

    async def _serve(self, ws: ClientConnection, attempt: int) -> tuple[bool, bool]:
        """Run one socket until it ends; returns whether anything was received on it and whether its end looks
        caused by a subscription."""
        client = self.client
        self.ws = ws
        self.sent.clear()
        self._forget_retired()
        self.last_recv = self.opened_at = time.monotonic()
        start_recv = self.last_recv
        self.last_error = None
        for key in self.desired:
            self.dirty[key] = None
        self.dirty_event.set()
        self.connected_now = True
        self.connected.set()
        log(_log, 20, "websocket connected", connection=self.id, attempt=attempt)
        client._emit("ws.connect", url=client.url, connection=self.id, attempt=attempt)
        tasks = [
            asyncio.create_task(self._reader(ws)),
            asyncio.create_task(self._pinger(ws)),
            asyncio.create_task(self._sender(ws)),
        ]
        reason = "closed"
        code: int | None = None
        ours = False  # the client ended the socket (half-open, oversized frame, its own failure)
        suspicious = False
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                exc = t.exception()
                if isinstance(exc, _Dead):
                    reason = str(exc)
                    code = None
                    ours = True
                    break
                if isinstance(exc, ConnectionClosed):
                    rcvd, sent = exc.rcvd, exc.sent
                    ours = sent is not None and (rcvd is None or exc.rcvd_then_sent is False)
                    if rcvd is not None and not ours:
                        code = rcvd.code
                        reason = f"closed by peer (code {code}{': ' + rcvd.reason if rcvd.reason else ''})"
                    elif sent is not None:
                        code = sent.code
                        reason = f"closed by client (code {code}{': ' + sent.reason if sent.reason else ''})"
                    else:
                        code = 1006
                        reason = "connection lost (code 1006)"
                elif exc is not None:
                    ours = True
                    reason = f"{type(exc).__name__}: {exc}"
                    log(_log, 40, "websocket task failed", connection=self.id, error=reason)
                else:
                    code = ws.close_code if ws.close_code is not None else 1006
                    reason = f"closed (code {code})"
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.connected.clear()
            self.connected_now = False
            self.ws = None
            if self.closing:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
            if ws.transport is not None:
                ws.transport.abort()
            suspicious = self._on_disconnect(reason, code, ours)
        return self.last_recv > start_recv, suspicious

    def _on_disconnect(self, reason: str, code: int | None, ours: bool) -> bool:
        client = self.client
        log(_log, 30 if not self.closing else 20, "websocket disconnected", connection=self.id, reason=reason)
        client._emit("ws.disconnect", url=client.url, connection=self.id, reason=reason, code=code)
        self.last_error = f"disconnected: {reason}"
        unanswered = [
            k
            for k, at in self.sent.items()
            if (u := self.desired.get(k)) is not None and not u.live and not u.ever_live and at == u.sent_at
        ]
        self.sent.clear()
        self._forget_retired()
        self._fail_posts(f"connection lost: {reason}")
        if self.closing:
            return False
        suspicious = False if ours else self._suspect(unanswered)
        self.probe = []
        now = time.monotonic()
        for up in tuple(self.desired.values()):
            if up.live:
                up.live = False
                client._open_gap(up)
                if up.interrupted_at is None:
                    up.interrupted_at = now
                    up.broadcast(Interrupted(reason))
                    client._emit("ws.interrupted", key=up.key_text)
        return suspicious

    def _suspect(self, unanswered: list[SubscriptionKey]) -> bool:
        """The server dropped the socket while ``unanswered`` (never-acknowledged subscriptions, in sending order)
        were outstanding: narrow the suspects, fail the culprit once it is alone; True while the cause remains."""
        if self.probe:
            hit = [k for k in self.probe if k in unanswered]
            if not hit:
                return False  # the probe was acknowledged: this drop has another cause
            if len(self.probe) == 1:
                key = hit[0]
                self.suspects = [k for k in self.suspects if k != key]
                up = self.desired.get(key)
                if up is not None:
                    log(_log, 40, "the server drops the socket for this subscription", key=up.key_text)
                    self.client._fail_upstream(
                        up,
                        SubscriptionFailedError(
                            "the server closed the connection each time this subscription was sent, the second time "
                            f"alone (an unknown coin or a value it refuses?): {up.key_text}",
                            key=up.key_text,
                        ),
                    )
                return False  # the cause is gone: reconnect at once
            unanswered = hit
        if not unanswered:
            return False
        # the server handles a socket's frames in order: the first unanswered one is the likeliest culprit
        self.suspects = unanswered + [k for k in self.suspects if k not in unanswered]
        self.probe_single = True
        log(_log, 30, "socket dropped with unacknowledged subscriptions: probing", suspects=len(self.suspects))
        return True

    def _give_up(self, reason: str) -> None:
        self.gave_up = True
        log(_log, 40, "websocket connection gave up", connection=self.id, reason=reason)
        self._fail_posts(reason)
        error = SubscriptionFailedError(f"websocket connection gave up: {reason}")
        for up in tuple(self.desired.values()):
            self.client._fail_upstream(up, error)
        self.client._forget_connection(self)

    def _fail_posts(self, reason: str) -> None:
        for pending in tuple(self.pending.values()):
            if not pending.future.done():
                pending.future.set_exception(WebSocketError(reason, request_sent=pending.sent))
        self.pending.clear()

    async def close(self) -> None:
        self.closing = True
        if self.idle_handle is not None:
            self.idle_handle.cancel()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    # -- the three socket tasks -------------------------------------------------------------------------------
    async def _reader(self, ws: ClientConnection) -> None:
        on_frame = self.client._on_frame
        async for raw in ws:
            self.last_recv = time.monotonic()
            blocked = on_frame(self, raw)
            if blocked:
                for sink in blocked:
                    await sink.wait_space()

    async def _pinger(self, ws: ClientConnection) -> None:
        """Ping after ``ping_interval`` without anything received; dead when nothing answers within ``dead_after``."""
        interval = self.cfg.ping_interval
        deadline = self.cfg.dead_after
        while True:
            quiet = time.monotonic() - self.last_recv
            if quiet < interval:
                await asyncio.sleep(interval - quiet)
                continue
            sent_at = time.monotonic()
            await ws.send(_PING)
            self.client.limits.sent()
            await asyncio.sleep(deadline)
            if self.last_recv < sent_at:
                raise _Dead(f"no data within {deadline:g}s of a ping (half-open connection)")

    async def _send_subscribe(self, ws: ClientConnection, up: _Upstream) -> None:
        self.sent[up.key] = up.sent_at = time.monotonic()
        await ws.send(json.dumps({"method": "subscribe", "subscription": up.key.subscription}))
        self.client._emit("ws.subscribe", connection=self.id, key=up.key_text)

    def _held(self, up: _Upstream) -> bool:
        """While suspects are probed, subscriptions never acknowledged wait (they join the suspects)."""
        if not self.suspects or up.ever_live:
            return False
        if up.key not in self.suspects:
            self.suspects.append(up.key)
        return True

    def _replaced(self, up: _Upstream) -> bool:
        """Whether the server holds ``up``'s key for a subscription sent before ``up`` (of one that left)."""
        at = self.sent.get(up.key)
        return at is not None and at != up.sent_at

    async def _unsubscribe(self, ws: ClientConnection, key: SubscriptionKey) -> None:
        self.unsubs[key] += 1  # (its acknowledgement awaited: ``unsubscribed``)
        await ws.send(json.dumps({"method": "unsubscribe", "subscription": key.subscription}))

    def unsubscribed(self, echo: SubscriptionKey) -> None:
        """The server confirmed an unsubscribe (or had none): once every unsubscribe of the key sent so far is, what
        comes for the key belongs to the subscription made after them (a fenced one is routed: ``unfence``)."""
        key = echo if echo in self.unsubs else next((k for k in self.unsubs if echo_matches(k, echo)), None)
        if key is None:
            return
        self.unsubs[key] -= 1
        if self.unsubs[key] <= 0:
            del self.unsubs[key]
            up = self.desired.get(key)
            if up is not None and up.fenced and not self._replaced(up):  # (its replaced one's unsubscribe was sent)
                self.unfence(up)

    async def _sender(self, ws: ClientConnection) -> None:
        bucket = self.client._bucket
        while True:
            await self.dirty_event.wait()
            self.dirty_event.clear()
            while self.dirty:
                key = next(iter(self.dirty))
                del self.dirty[key]
                up = self.desired.get(key)
                wanted = up is not None and up.ready
                # (still subscribed for one that left and that this one could not take over, ``add``: the server
                # acknowledges and sends its first message only to a subscription made again)
                replaced = up is not None and wanted and self._replaced(up)
                if not replaced and (wanted == (key in self.sent) or (up is not None and wanted and self._held(up))):
                    continue
                await bucket.acquire()
                up = self.desired.get(key)
                if up is not None and up.ready and self._replaced(up):
                    del self.sent[key]
                    await self._unsubscribe(ws, key)
                    self.client._emit("ws.unsubscribe", connection=self.id, key=str(key))
                    self.mark(key)  # (subscribed next)
                elif up is not None and up.ready and key not in self.sent:
                    if not self._held(up):
                        await self._send_subscribe(ws, up)
                elif up is None and key in self.sent:
                    del self.sent[key]
                    old = self.retired.pop(key, None)
                    if old is not None:
                        self._unroute(old)
                    await self._unsubscribe(ws, key)
                    self.client._emit("ws.unsubscribe", connection=self.id, key=str(key))
            if self.suspects and not self.dirty:
                await self._probe(ws)

    async def _alive(self, ws: ClientConnection) -> bool:
        """Whether the socket answered since it opened (pinging it if needed): a socket dropped before that says
        nothing about the subscriptions sent on it."""
        if self.last_recv <= self.opened_at:
            await ws.send(_PING)
            self.client.limits.sent()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.cfg.dead_after
            while self.last_recv <= self.opened_at and loop.time() < deadline:
                await asyncio.sleep(0.01)
        return self.last_recv > self.opened_at

    async def _probe(self, ws: ClientConnection) -> None:
        """Send the next suspects apart from the others and wait for their acknowledgements (or ``dead_after``)."""
        self.suspects = [
            k for k in self.suspects if (u := self.desired.get(k)) is not None and u.ready and not u.ever_live
        ]
        if self.suspects and not await self._alive(ws):
            return  # the pinger replaces a socket that stays silent
        if self.suspects:
            size = 1 if self.probe_single else (len(self.suspects) + 1) // 2
            batch = self.suspects[:size]
            self.probe = batch
            for key in batch:
                await self.client._bucket.acquire()
                up = self.desired.get(key)
                if up is not None and key not in self.sent:
                    await self._send_subscribe(ws, up)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.cfg.dead_after
            while any((u := self.desired.get(k)) is not None and not u.live for k in batch):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    log(_log, 30, "no acknowledgement for probed subscriptions", connection=self.id, keys=len(batch))
                    break
                self.acked.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.acked.wait(), remaining)
            self.probe = []
            self.probe_single = False
            self.suspects = [k for k in self.suspects if k not in batch]
        if not self.suspects:  # cleared: what was held back goes now
            for key in self.desired:
                if key not in self.sent:
                    self.dirty[key] = None
        self.dirty_event.set()

    async def resubscribe(self, key: SubscriptionKey) -> None:
        """Unsubscribe and subscribe ``key`` again (stale streams)."""
        ws = self.ws
        if ws is None or key not in self.sent:
            return
        await self.client._bucket.acquire()
        if self.ws is not ws or key not in self.sent:
            return
        del self.sent[key]
        with contextlib.suppress(ConnectionClosed):
            await self._unsubscribe(ws, key)
        self.mark(key)


class _CallbackRun:
    """A subscription's callback: no task of its own, the client's one dispatcher feeds it (see
    :meth:`WsClient._dispatch_callbacks`).  It stands as its subscriber's waiter (``done`` / ``set_result``, what a
    subscriber's wake-up calls), so an item for it only puts it in the dispatcher's queue.  At most one batch of a
    subscription runs at a time (its items stay in order); a sync callback's batch runs on a callback thread, an
    async one's in a task of its own, so a slow or blocked callback holds back its own subscription only.  Once
    stopped (cancelled, client closed), a running batch ends after the item being handed over."""

    __slots__ = ("busy", "callback", "client", "failure", "is_async", "queued", "repeats", "sink", "stopped")

    def __init__(self, client: WsClient, sink: _Sink, callback: Callable[[Any], Any]) -> None:
        call = getattr(callback, "__call__", None)  # noqa: B004 - an object with an async __call__ is async too
        self.client = client
        self.sink = sink
        self.callback = callback
        self.is_async = inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(call)
        self.busy = False  # a batch is running
        self.queued = False  # in the dispatcher's queue
        self.stopped = False  # released (cancelled, or the stream ended and everything was delivered)
        self.failure: tuple[type[BaseException], str] | None = None  # what the callback last raised
        self.repeats = 0  # times it raised that again since

    def handing(self, items: list[Any]) -> Iterator[Any]:
        """``items`` as they are handed to the callback, each data message counted delivered as it is; stops once
        the subscription is stopped (``cancel()``): what is not handed over is not delivered."""
        sink = self.sink
        for item in items:
            if self.stopped:
                return
            if type(item) is Message:
                sink.delivered += 1
            yield item

    def done(self) -> bool:
        return self.queued

    def set_result(self, _value: None) -> None:
        self.sink._waiter = None
        self.queued = True
        self.client._callback_ready(self)


#: (callback subscription, items, the loop, what is called on the loop with the errors its callback raised)
_CallbackJob = tuple[_CallbackRun, list[Any], asyncio.AbstractEventLoop, Callable[[list[BaseException]], None]]


class _CallbackThreads:
    """The threads running sync callbacks: started on demand, shared by the subscriptions, daemons.

    A batch goes to an idle thread or, when none is idle, to a new one, so a callback that is slow or blocked holds
    one thread while the others run on the rest (a subscription hands over its next batch only once the previous one
    is done: its items stay in order).  A process with many callback subscriptions thus holds as many threads as
    callbacks run at the same time, not one per subscription.  A thread idle for ``linger`` seconds ends; after
    :meth:`close`, every idle thread ends at once and a busy one after its batch.
    """

    def __init__(self, linger: float = 2.0) -> None:
        self._jobs: queue.SimpleQueue[_CallbackJob | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a job that no job handed over yet is meant for
        self._closed = False
        self._linger = linger
        self._ids = itertools.count(1)

    def submit(self, job: _CallbackJob) -> None:
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        self._jobs.put(job)
        if start:
            name = f"hyperliquid-ws-callback-{next(self._ids)}"
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._linger)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # more threads wait than jobs are on their way: this one may end
                        self._idle -= 1
                        return
                continue  # a job handed over is on its way to one of the waiting threads
            if job is None:
                return
            _run_callback_batch(*job)
            with self._lock:
                if self._closed:
                    return
                self._idle += 1


def _run_callback_batch(
    run: _CallbackRun,
    items: list[Any],
    loop: asyncio.AbstractEventLoop,
    done: Callable[[list[BaseException]], None],
) -> None:
    """Run a sync callback on a batch of items, in order; hand back (on the loop) what it raised.  A
    ``BaseException`` that is not an ``Exception`` (``SystemExit``, ``KeyboardInterrupt``) ends the batch."""
    errors: list[BaseException] = []
    callback = run.callback
    for item in run.handing(items):
        try:
            result = callback(item)
            if inspect.iscoroutine(result):  # a plain function that returned a coroutine: run it on the loop
                asyncio.run_coroutine_threadsafe(result, loop).result()
        except Exception as exc:
            errors.append(exc)
        except BaseException as exc:  # on a callback thread nobody else would see it: reported, the batch ends
            errors.append(exc)
            break
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(done, errors)


class WsClient:
    """Asynchronous WebSocket client (see the module docstring and ``docs/websocket.md``).

    ``url``: the WebSocket URL (``Network.ws_url``).  ``events``: bus for ``ws.*`` events.  ``recover``: the
    :data:`RecoverFn` fetching one answer of a user channel's recovery request over HTTP (used after each gap of
    a subscription whose channel has a ``dedup_key`` and a ``recovery``, and by :meth:`Subscription.recover`).

    Create it inside a running event loop; nothing connects until the first subscription or post.
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
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise InvalidInputError("url", "a ws:// or wss:// URL", url)
        if config is not None and not isinstance(config, WsConfig):
            raise InvalidInputError("config", "a WsConfig", type(config).__name__)
        if recover is not None and not callable(recover):
            raise InvalidInputError("recover", "an async callable", recover)
        self.url = url
        self.config = config or WsConfig()
        self.events = events if events is not None else EventBus()
        self._message_events = False  # whether anyone listens to ws.message (asked once per change, not per frame)
        self.events.watch(self._listeners_changed)
        self._listeners_changed()
        self._recover = recover
        self._registry: dict[SubscriptionKey, _Upstream] = {}
        self._conns: list[_Connection] = []
        self._conn_ids = itertools.count(1)
        self._sink_ids = itertools.count(1)
        self._on_drop_cb = self._on_drop  # one bound method shared by every subscriber
        self._post_ids = itertools.count(1)
        #: the server's per-IP limits, kept before it would close the socket
        self.limits = limits if limits is not None else WsLimits(events=self.events)
        self._bucket = _TokenBucket(self.config.resubscribe_rate, self.config.send_burst, self.limits)
        self._callback_subs: dict[int, Subscription[Any]] = {}
        self._ready_runs: list[_CallbackRun] = []  # callback subscriptions with something to deliver
        self._dispatching = False
        self._callback_threads = _CallbackThreads()
        self._sinks = 0
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stale_task: asyncio.Task[None] | None = None
        self._stale_tick = 5.0
        self._background: set[asyncio.Task[Any]] = set()
        self._close_future: asyncio.Future[None] | None = None

    # -- introspection -----------------------------------------------------------------------------------------
    def upstream_subscription_count(self) -> int:
        """Distinct subscriptions the client wants on the server (one per key, however many subscribers)."""
        return len(self._registry)

    def registry_size(self) -> int:
        """Live subscribers across all subscriptions."""
        return self._sinks

    def connection_count(self) -> int:
        """Open (or opening) connections."""
        return len(self._conns)

    def server_subscription_count(self) -> int:
        """Subscribe frames currently in effect on live sockets (sent and not unsubscribed)."""
        return sum(len(c.sent) for c in self._conns)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def _listeners_changed(self) -> None:
        self._message_events = self.events.wants("ws.message")

    def _emit(self, name: str, /, **fields: Any) -> None:
        events = self.events
        if events.wants(name):
            events.emit(name, **fields)

    # -- subscribe ---------------------------------------------------------------------------------------------
    async def subscribe(
        self,
        channel: ChannelInfo,
        params: Mapping[str, Any],
        *,
        decode: Callable[[Any], T] | None = None,
        callback: Callable[[Any], Any] | None = None,
        buffer_size: int | None = None,
        overflow: str | None = None,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> Subscription[T]:
        """Subscribe to ``channel`` with ``params``; returns at once (the frame is sent when the socket is up).

        ``decode`` turns the raw channel data into ``T`` (once per message, shared by subscribers with the same
        decoder).  ``callback`` receives every item instead of iteration: an async callback runs as a task on the
        loop, a sync one on a shared daemon thread (never the loop's), items in order — either way a slow callback
        only fills its own buffer; after :meth:`Subscription.cancel` nothing more is handed over than the item being
        processed, and a failed subscription hands over its failure as the last item.  ``buffer_size`` /
        ``overflow`` override the configured policy.  ``gate``: awaited before the subscribe frame of a new upstream
        subscription is sent (e.g. validating a coin against metadata still loading); when it raises, the
        subscription fails with :class:`SubscriptionFailedError` and nothing is sent.  Raises
        :class:`InvalidInputError` for bad parameters and :class:`SubscriptionLimitError` when no connection may host
        the subscription — both before anything is sent.
        """
        self._check_open()
        clean = validate_params(channel, params)
        if decode is not None and not callable(decode):
            raise InvalidInputError("decode", "a callable", decode)
        if callback is not None and not callable(callback):
            raise InvalidInputError("callback", "a callable", callback)
        if gate is not None and not callable(gate):
            raise InvalidInputError("gate", "an async callable", gate)
        cfg = self.config
        default_size = cfg.buffer_size if channel.market_data else cfg.user_buffer_size
        size = buffer_size if buffer_size is not None else default_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidInputError("buffer_size", "a positive integer", buffer_size)
        policy = overflow if overflow is not None else (cfg.overflow if channel.market_data else cfg.user_overflow)
        if policy not in OVERFLOW_POLICIES:
            raise InvalidInputError("overflow", " | ".join(OVERFLOW_POLICIES), overflow)
        self._loop = asyncio.get_running_loop()
        key = make_key(channel.type, clean)
        up = self._registry.get(key)
        if up is None:
            up = _Upstream(self, key, channel, clean, policy)
            users = {u.user for u in self._registry.values() if u.user is not None}
            self.limits.check_subscription(len(self._registry), users, up.user)
            if (
                up.user is not None
                and cfg.max_users is not None
                and up.user not in users
                and len(users) >= cfg.max_users
            ):
                raise SubscriptionLimitError(f"at most {cfg.max_users} distinct users may be subscribed")
            conn = self._place(up)
            self._registry[key] = up
            if gate is not None and (key not in conn.sent or not _whole_state(up)):
                # (a stream the server still holds, taken over at once (``_Connection.add``), passed its gate)
                up.ready = False
                self._spawn(self._run_gate(up, gate))
            conn.add(up)
            if up.stale_after is not None:
                self._stale_tick = min(self._stale_tick, max(up.stale_after / 4, 0.05))
                if self._stale_task is None:
                    self._stale_task = self._loop.create_task(self._stale_loop())
        sink = _Sink(next(self._sink_ids), up, size, policy, decode, self._on_drop_cb)
        up.add(sink)
        self._sinks += 1
        if up.interrupted_at is not None:
            sink.push_marker(Interrupted("stream currently interrupted"))
        elif up.live and _whole_state(up):
            up.hand_state(sink)  # (a stream already live: its newest message, which a new one would get first)
        sub: Subscription[T] = Subscription(self, sink, channel, up.key, dict(clean))
        if callback is not None:
            self._callback_subs[sink.id] = sub
            run = sink.callback_task = _CallbackRun(self, sink, callback)
            self._pump(run)
        return sub

    async def _run_gate(self, up: _Upstream, gate: Callable[[], Awaitable[None]]) -> None:
        try:
            await gate()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if up.active:
                error: SubscriptionFailedError
                if isinstance(exc, InvalidInputError):  # the same type as when subscribing refuses it at once
                    error = InvalidSubscriptionError(exc, key=up.key_text)
                else:
                    error = SubscriptionFailedError(f"subscription refused before sending: {exc}", key=up.key_text)
                error.__cause__ = exc
                self._fail_upstream(up, error)
            return
        if up.active:
            up.ready = True
            if up.conn is not None:
                up.conn.mark(up.key)

    def _stale_threshold(self, channel: ChannelInfo) -> float | None:
        after = self.config.stale_after
        if not channel.market_data or after is None:
            return None
        return channel.stale_after if after == "auto" else float(after)

    def _place(self, up: _Upstream) -> _Connection:
        for conn in self._conns:
            if conn.can_host(up):
                return conn
        if len(self._conns) >= self.config.max_connections:
            raise SubscriptionLimitError(
                f"no connection can host {up.key_text}: {len(self._conns)} connections open "
                f"(max_connections={self.config.max_connections}, max_subscriptions_per_connection="
                f"{self.config.max_subscriptions_per_connection}, max_users_per_connection="
                f"{self.config.max_users_per_connection})"
            )
        return self._new_connection()

    def _new_connection(self) -> _Connection:
        conn = _Connection(self, next(self._conn_ids))
        self._conns.append(conn)
        return conn

    def _check_open(self) -> None:
        if self._closed:
            raise WebSocketError("the WebSocket client is closed")

    # -- release -----------------------------------------------------------------------------------------------
    def _release(self, sink: _Sink, error: BaseException | None = None) -> None:
        if sink.released:
            return
        sink.released = True
        sink.close(error)
        self._sinks -= 1
        self._unbind_task(sink)
        self._callback_subs.pop(sink.id, None)
        run = sink.callback_task
        if run is not None and error is None:  # (with an error, what is buffered is delivered first)
            run.stopped = True
        up = sink.upstream
        up.remove(sink)
        up.wake_waiters()
        if not up.sinks:
            self._drop_upstream(up)

    def _release_threadsafe(self, sink: _Sink) -> None:
        """Release from a garbage-collector finalizer (any thread, any moment): defer to the loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or sink.released:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._release, sink)

    def _drop_upstream(self, up: _Upstream) -> None:
        up.active = False
        up.wake_waiters()
        if self._registry.get(up.key) is up:
            del self._registry[up.key]
        if up.recovery is not None:
            up.recovery.cancel()
        if up.conn is not None:
            up.conn.remove(up)

    def _bind_task(self, sink: _Sink, task: asyncio.Task[Any]) -> None:
        def on_done(t: asyncio.Task[Any], sink: _Sink = sink) -> None:
            if t.cancelled() or t.exception() is not None:
                self._release(sink)

        sink.bound_task = task
        sink.bound_cb = on_done
        task.add_done_callback(on_done)

    def _unbind_task(self, sink: _Sink, forever: bool = False) -> None:
        task, cb = sink.bound_task, sink.bound_cb
        if task is not None and cb is not None:
            task.remove_done_callback(cb)
        sink.bound_task = None
        sink.bound_cb = (lambda t: None) if forever else None

    def _fail_upstream(self, up: _Upstream, error: BaseException) -> None:
        log(_log, 40, "subscription failed", key=up.key_text, error=str(error))
        self._emit("ws.subscription_failed", key=up.key_text, error=str(error))
        if isinstance(error, SubscriptionFailedError) and error.key is None:
            error.key = up.key_text
        for sink in tuple(up.sinks.values()):
            self._release(sink, error)
        self._drop_upstream(up)

    def _connection_idle(self, conn: _Connection) -> None:
        if self._closed or conn.closing or not self._conns or conn is self._conns[0]:
            return
        loop = asyncio.get_running_loop()
        if conn.idle_handle is not None:
            conn.idle_handle.cancel()
        conn.idle_handle = loop.call_later(self.config.idle_close_after, self._close_if_idle, conn)

    def _close_if_idle(self, conn: _Connection) -> None:
        conn.idle_handle = None
        if conn.desired or conn.pending or conn.closing or not self._conns or conn is self._conns[0]:
            return
        self._forget_connection(conn)
        self._spawn(conn.close())

    def _forget_connection(self, conn: _Connection) -> None:
        if conn in self._conns:
            self._conns.remove(conn)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- callbacks, drops, decode errors -----------------------------------------------------------------------
    def _callback_ready(self, run: _CallbackRun) -> None:
        """``run`` has something to deliver (or its stream ended): queue it for the dispatcher."""
        self._ready_runs.append(run)
        if not self._dispatching:
            self._dispatching = True
            asyncio.get_running_loop().call_soon(self._dispatch_callbacks)

    def _dispatch_callbacks(self) -> None:
        """The one dispatcher of every callback subscription: hands each queued one its next batch."""
        self._dispatching = False
        ready, self._ready_runs = self._ready_runs, []
        for run in ready:
            run.queued = False
            self._pump(run)

    def _pump(self, run: _CallbackRun) -> None:
        """Start ``run``'s next batch (what is buffered, up to ``_CALLBACK_BATCH`` items), else wait for an item."""
        if run.busy or run.stopped:
            return
        sink = run.sink
        batch: list[Any] = []
        ended = False
        while len(batch) < _CALLBACK_BATCH:
            try:
                batch.append(sink.get_nowait())
            except asyncio.QueueEmpty:
                break
            except StopAsyncIteration:
                ended = True
                break
            except WebSocketError as failure:  # (logged and emitted already) the callback's last item, as the
                batch.append(failure)  # iterator raises it: e.g. a ``BufferOverflowError`` to ``recover()`` from
                ended = True
                break
        # counted delivered when handed to the callback (``_CallbackRun.handing``), not when taken from the buffer
        sink.delivered -= sum(1 for item in batch if type(item) is Message)
        if not batch:
            if ended:
                run.stopped = True
                return
            sink._waiter = run  # type: ignore[assignment]  # (a waiter: done / set_result)
            feed = sink.feed
            if feed is not None and sink.cursor >= 0:
                feed.waiting.append(sink)
            return
        run.busy = True
        loop = asyncio.get_running_loop()

        def done(errors: list[BaseException]) -> None:
            run.busy = False
            for failure in errors:
                self._callback_failed(run, failure)
            fatal = next((failure for failure in errors if not isinstance(failure, Exception)), None)
            if fatal is not None:  # SystemExit, KeyboardInterrupt, ...: the subscription fails (``sub.error``)
                run.stopped = True
                error = SubscriptionFailedError(f"its callback raised {fatal!r}", key=sink.upstream.key_text)
                error.__cause__ = fatal
                self._release(sink, error)
            elif ended:
                run.stopped = True
            elif not run.stopped:
                self._pump(run)

        if run.is_async:
            self._spawn(self._run_async_batch(run, batch, done))
        else:
            # a sync callback runs on one of the callback threads (daemons: one stuck forever never holds the
            # process), never on the loop, so that blocking in it never stalls the socket or another stream
            self._callback_threads.submit((run, batch, loop, done))

    @staticmethod
    async def _run_async_batch(
        run: _CallbackRun, batch: list[Any], done: Callable[[list[BaseException]], None]
    ) -> None:
        errors: list[BaseException] = []
        try:
            for item in run.handing(batch):
                try:
                    await run.callback(item)
                except Exception as exc:
                    errors.append(exc)
        except asyncio.CancelledError:  # the client closes
            raise
        except BaseException as exc:  # SystemExit, KeyboardInterrupt, ...: reported, then on to the loop's owner
            errors.append(exc)
            done(errors)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return
        done(errors)

    def _callback_failed(self, run: _CallbackRun, exc: BaseException) -> None:
        """Log (a failure repeated the same way: its traceback once, then a count) and emit what a callback raised."""
        key = run.sink.upstream.key_text
        failure = (type(exc), str(exc))
        if failure != run.failure:
            run.failure, run.repeats = failure, 0
            log(_log, 40, "subscription callback raised", exc_info=exc, key=key, error=repr(exc))
        else:
            run.repeats += 1
            if run.repeats % _CALLBACK_LOG_EVERY == 0:
                log(
                    _log, 40, "subscription callback raised the same again", key=key, times=run.repeats, error=repr(exc)
                )
        self._emit("ws.callback_error", key=key, error=repr(exc))

    def _on_drop(self, sink: _Sink, count: int) -> None:
        key = sink.upstream.key_text
        if count < 0:  # "error" policy overflow
            up = sink.upstream
            since = sink.last_time
            if since is None and up.started_ms is not None:
                since = up.started_ms - _CLOCK_SLACK_MS
            hint = " (sub.recover() fetches what did not fit)" if up.recoverable else ""
            error = BufferOverflowError(
                f"subscriber fell {sink.size} messages behind (overflow policy 'error'); the {sink.buffered()} "
                f"buffered are delivered first; items from time {since} on may be missing{hint}",
                key=key,
                since_ms=since,
                skip=sink.last_ids,
            )
            log(_log, 40, "subscriber buffer overflow", key=key, size=sink.size, since_ms=since)
            self._emit("ws.drop", key=key, dropped=1, policy="error")
            self._release(sink, error)
            return
        log(_log, 30, "slow subscriber: messages dropped", key=key, dropped=count, policy=sink.policy)
        self._emit("ws.drop", key=key, dropped=count, policy=sink.policy)

    def _decode_failed(self, up: _Upstream, exc: Exception) -> None:
        log(_log, 40, "decoding a message failed", key=up.key_text, error=repr(exc))
        self._emit("ws.error", connection=up.conn.id if up.conn else None, message=f"decode failed: {exc!r}")

    # -- frames ------------------------------------------------------------------------------------------------
    def _on_frame(self, conn: _Connection, raw: str | bytes) -> list[_Sink] | None:
        heads = conn.text_heads
        if heads and type(raw) is str:
            # ``{"channel":"l2Book","data":{"coin":"BTC"...``: routed by its text to a stream that needs nothing of the
            # data at arrival (``_Upstream.text_feed``), the frame waits as its text and its first reader parses it
            # (the feed's ``resolve`` checks it parsed to what its beginning said); anything else is parsed here
            for head, start, name, table in heads:
                if raw.startswith(head):
                    stop = raw.find('"', start)
                    up = table.get(raw[start:stop])
                    # (a routing value with no backslash and not an address: see ``_Upstream.refresh_text_feed``)
                    if up is not None and stop > 0:
                        feed = up.text_feed
                        if feed is not None and feed.channel == name:
                            if self._message_events:
                                self.events.emit("ws.message", connection=conn.id, channel=name, size=len(raw))
                            return up.deliver_text(raw, feed, conn)
                    break
        try:
            msg = fast_loads(raw)
        except ValueError:  # what the fast parser refuses, as the standard library reads it
            msg = self._malformed(conn, raw)
            if msg is None:
                return None
        if type(msg) is not dict:
            return self._on_bare(conn, msg, len(raw))
        channel: Any = msg.get("channel")
        if self._message_events:
            self.events.emit("ws.message", connection=conn.id, channel=channel, size=len(raw))
        entry = conn.routes.get(channel) if type(channel) is str else None
        if entry is not None:
            data = msg.get("data")
            table = entry[2]
            path = entry[3]
            if path is not None:  # one plain field (the coin): read inline
                node = data[0] if type(data) is list and data else data  # a list is routed by its first item
                value = node.get(path) if type(node) is dict else None
                up = table.get(value if type(value) is not str or len(value) != 42 else entry[1](data))
            else:
                up = table.get(entry[1](data))
            if up is None:
                if len(table) == 1 and isinstance(data, list) and not data:
                    up = next(iter(table.values()))
                else:
                    log(_log, 10, "data for no subscription", connection=conn.id, channel=channel)
                    return None
            return up.deliver(data, channel)
        if channel == "pong":
            return None
        if channel == "subscriptionResponse":
            self._on_ack(conn, msg.get("data"))
        elif channel == "post":
            self._on_post_reply(conn, msg.get("data"))
        elif channel == "error":
            self._on_error(conn, msg.get("data"))
        else:
            log(_log, 10, "data for no subscription", connection=conn.id, channel=channel)
        return None

    def _on_bare(self, conn: _Connection, data: Any, size: int) -> list[_Sink] | None:
        """A frame without the envelope: the data of a channel with a ``frame_field`` (the explorer's feeds send bare
        arrays), told apart by the first item holding that field; an empty array goes to the only such channel."""
        if type(data) is list:
            first = data[0] if data else None
            bare = [
                (ch, up)
                for ch, (_fields, _router, table, _path) in conn.routes.items()
                for up in table.values()
                if up.channel.frame_field is not None
            ]
            found = [
                (ch, up)
                for ch, up in bare
                if (first is None and len(bare) == 1) or (type(first) is dict and up.channel.frame_field in first)
            ]
            if self._message_events:
                self.events.emit("ws.message", connection=conn.id, channel=found[0][0] if found else None, size=size)
            if len(found) == 1:
                return found[0][1].deliver(data, found[0][0])
            if first is None and bare:  # nothing lost: no items, and two feeds it could be for
                log(_log, 10, "empty bare frame for two feeds skipped", connection=conn.id)
                return None
        log(_log, 30, "frame without envelope ignored", connection=conn.id)
        self._emit("ws.error", connection=conn.id, message="frame is not a JSON object of a subscribed channel")
        return None

    def _malformed(self, conn: _Connection, raw: str | bytes) -> Any:
        """The frame the fast parser refused, as the standard library reads it; ``None`` (reported) if not JSON."""
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # (nested deeper than the standard library reads)
            text = raw[:80] if isinstance(raw, str) else repr(raw[:80])
            if not (isinstance(raw, str) and raw.startswith(_GREETING)):
                log(_log, 30, "malformed frame ignored", connection=conn.id, frame=text)
                self._emit("ws.error", connection=conn.id, message=f"malformed frame: {text}")
            return None

    def _on_ack(self, conn: _Connection, data: Any) -> None:
        method = data.get("method") if isinstance(data, dict) else None
        if method != "subscribe" and method != "unsubscribe":
            return
        sub = data.get("subscription")
        echo = key_from_echo(sub) if isinstance(sub, dict) else None
        if echo is None:
            return
        if method == "unsubscribe":
            conn.unsubscribed(echo)
            return
        up = conn.match_echo(echo)
        if up is not None and up.key in conn.sent and not up.fenced:
            self._mark_live(up)

    def _mark_live(self, up: _Upstream) -> None:
        if up.live or not up.active:
            return
        up.live = True
        up.last_data = time.monotonic()
        up.stale = False
        if up.started_ms is None:
            up.started_ms = _now_ms()
        if up.interrupted_at is not None:
            downtime = time.monotonic() - up.interrupted_at
            up.interrupted_at = None
            up.broadcast(Resumed(downtime))
            up.resuming = up.ordered  # (checked by its first message)
            self._emit("ws.resumed", key=up.key_text)
        if up.gaps and not up.gaps[-1].resumed:
            up.gaps[-1].resumed = True
            if up.recovery is None or up.recovery.done():
                up.recovery = asyncio.get_running_loop().create_task(self._recovery_worker(up))
        up.ever_live = True
        if up.conn is not None:
            up.conn.acked.set()
        up.wake_waiters()

    def _on_error(self, conn: _Connection, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self._emit("ws.error", connection=conn.id, message=text[:500])
        if text.startswith("Already subscribed"):
            echo = self._echo_in(text)
            up = conn.match_echo(echo) if echo is not None else None
            if up is not None:
                self._mark_live(up)
            return
        if text.startswith("Already unsubscribed"):
            log(_log, 10, "server: already unsubscribed", connection=conn.id)
            echo = self._echo_in(text)
            if echo is not None:
                conn.unsubscribed(echo)
            return
        if text.startswith("Invalid subscription"):
            echo = self._echo_in(text)
            up = conn.match_echo(echo) if echo is not None else None
            if up is not None:
                self._fail_upstream(up, SubscriptionFailedError(f"server rejected the subscription: {text[:300]}"))
                conn.sent.pop(up.key, None)
                return
        elif text.startswith("Error parsing JSON into valid websocket request:"):
            frame = text.split(":", 1)[1].strip()
            try:
                req = json.loads(frame)
            except ValueError:
                req = None
            if isinstance(req, dict) and req.get("method") == "post" and isinstance(req.get("id"), int):
                pending = conn.pending.get(req["id"])
                if pending is not None and not pending.future.done():
                    pending.future.set_exception(ApiRejectedError(text[:300], endpoint="ws post"))
                    return
            if isinstance(req, dict) and isinstance(req.get("subscription"), dict):
                echo = key_from_echo(req["subscription"])
                up = conn.desired.get(echo) if echo is not None else None
                if up is not None:
                    self._fail_upstream(up, SubscriptionFailedError(f"server rejected the subscription: {text[:300]}"))
                    conn.sent.pop(up.key, None)
                    return
        elif text.startswith("Cannot track more than"):
            # the newest user subscription sent and not yet live is the one refused
            cands = [u for u in conn.desired.values() if u.user is not None and not u.live and u.key in conn.sent]
            if cands:
                up = max(cands, key=lambda u: u.sent_at)
                conn.sent.pop(up.key, None)
                self._fail_upstream(up, SubscriptionLimitError(f"server refused a user subscription: {text}"))
                return
        elif text.startswith("too many pending post requests"):
            tail = text.rsplit("=", 1)[-1].strip()
            if tail.isdigit():
                pending = conn.pending.get(int(tail))
                if pending is not None and not pending.future.done():
                    pending.future.set_exception(RateLimitedError(body=text, endpoint="ws post"))
                    return
        log(_log, 30, "server error message", connection=conn.id, message=text[:300])

    @staticmethod
    def _echo_in(text: str) -> SubscriptionKey | None:
        start = text.find("{")
        if start < 0:
            return None
        try:
            obj = json.loads(text[start:])
        except ValueError:
            return None
        return key_from_echo(obj) if isinstance(obj, dict) else None

    # -- gap recovery ------------------------------------------------------------------------------------------
    def _open_gap(self, up: _Upstream) -> None:
        """The connection carrying ``up`` was lost: a gap opens now (unless the stream is still down from before)."""
        if not up.recoverable or not up.ever_live or (up.gaps and not up.gaps[-1].resumed):
            return
        if up.last_item_time is not None:
            start = up.last_item_time
        else:
            start = (up.started_ms if up.started_ms is not None else _now_ms()) - _CLOCK_SLACK_MS
        up.gaps.append(_Gap(start))

    async def _recovery_worker(self, up: _Upstream) -> None:
        """Recover the stream's resumed gaps one after the other (a gap opened meanwhile waits its turn)."""
        while up.active and up.gaps and up.gaps[0].resumed:
            gap = up.gaps[0]
            await self._recover_gap(up, gap)
            if up.gaps and up.gaps[0] is gap:
                up.gaps.pop(0)

    async def _recover_gap(self, up: _Upstream, gap: _Gap) -> None:
        count = 0
        try:
            async for items, uncovered in self._pages(up.channel, up.params, gap.start_ms, lambda: gap.end_ms):
                if not up.active:
                    return
                count += await self._deliver_recovered(up, items, gap.start_ms)
                for since, until in uncovered:
                    self._report_gap(up, since, until, f"{up.channel.recovery} cannot reach these items")
        except _RecoveryFailed as exc:
            if up.active:
                self._emit("ws.recovery_failed", key=up.key_text, error=exc.error)
                self._report_gap(up, exc.since_ms, exc.until_ms, f"recovery failed: {exc.error}")
            return
        log(_log, 20, "gap recovered", key=up.key_text, count=count, since=gap.start_ms, until=gap.end_ms)
        self._emit("ws.recovered", key=up.key_text, count=count)

    async def _deliver_recovered(self, up: _Upstream, items: list[Any], since: int) -> int:
        channel = up.channel
        kept = [it for it in items if (t := channel.item_time(it)) is None or t >= since]
        kept.sort(key=lambda it: channel.item_time(it) or 0)
        fresh = up._fresh(kept)
        if not fresh:
            return 0
        blocked = up.deliver(channel.wrap_recovered(up.params, fresh), channel.channels[0], True, checked=True)
        for sink in blocked or ():
            await sink.wait_space()
        return len(fresh)

    def _report_gap(self, up: _Upstream, since: int | None, until: int | None, error: str) -> None:
        log(_log, 40, "items may be missing", key=up.key_text, since_ms=since, until_ms=until, error=error)
        self._emit("ws.gap", key=up.key_text, since_ms=since, until_ms=until, error=error)
        up.broadcast(Gap(since, until, error))

    async def _pages(
        self, channel: ChannelInfo, params: dict[str, Any], start: int, end_of: Callable[[], int | None]
    ) -> AsyncIterator[tuple[list[Any], list[tuple[int, int | None]]]]:
        """Answers of the recovery request from ``start`` to ``end_of()`` (read at each request; ``None``: now),
        window after window, each with the ranges that cannot be covered."""
        pending: deque[Window] = deque([Window(start)])
        pages = 0
        while pending:
            window = pending.popleft()
            end = window.end_ms if window.end_ms is not None else end_of()
            if end is not None and window.start_ms > end:
                continue
            if pages >= _MAX_PAGES:
                yield [], [(window.start_ms, end), *((w.start_ms, w.end_ms) for w in pending)]
                return
            items = await self._fetch_page(channel, params, window.start_ms, end)
            pages += 1
            times = [channel.item_time(it) for it in items]
            more, uncovered = next_windows(
                times, Window(window.start_ms, end), channel.recover_limit, channel.recover_windowed
            )
            pending.extendleft(reversed(more))
            yield items, uncovered

    async def _fetch_page(self, channel: ChannelInfo, params: dict[str, Any], start: int, end: int | None) -> list[Any]:
        assert self._recover is not None
        error, cause = "", None
        attempts = self.config.recover_attempts
        for attempt in range(attempts):
            try:
                items = await self._recover(channel, dict(params), start, end)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error, cause = f"{type(exc).__name__}: {exc}", exc
                log(_log, 30, "recovery request failed", channel=channel.type, attempt=attempt + 1, error=error)
                if attempt + 1 < attempts:
                    await asyncio.sleep(min(self.config.reconnect_max, self.config.reconnect_base * 2**attempt))
                continue
            if isinstance(items, list):
                return items
            error = f"recover returned {type(items).__name__}, expected a list"
            break
        raise _RecoveryFailed(start, end, error, cause)

    async def _recover_for(self, sink: _Sink, since_ms: int | None, until_ms: int | None) -> list[Any]:
        """:meth:`Subscription.recover`."""
        self._check_open()
        up = sink.upstream
        channel = up.channel
        skip: frozenset[Hashable] = frozenset()
        if since_ms is None:
            error = sink.error
            if not isinstance(error, BufferOverflowError):
                raise InvalidInputError("since_ms", "a time in ms (it may be omitted after a BufferOverflowError)")
            since_ms, skip = error.since_ms if error.since_ms is not None else 0, error.skip
        for name, value in (("since_ms", since_ms), ("until_ms", until_ms)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidInputError(name, "a time in ms (an integer >= 0)", value)
        dedup = channel.dedup_key
        if self._recover is None or channel.recovery is None or dedup is None:
            raise InvalidInputError("subscription", "a stream whose channel has an HTTP recovery request", channel.type)
        seen: set[Hashable] = set(skip)
        out: list[Any] = []
        try:
            async for items, uncovered in self._pages(channel, up.params, since_ms, lambda: until_ms):
                batch = []
                for item in sorted(items, key=lambda it: channel.item_time(it) or 0):
                    t = channel.item_time(item)
                    if t is not None and (t < since_ms or (until_ms is not None and t > until_ms)):
                        continue
                    try:
                        ident = dedup(item)
                    except Exception:
                        batch.append(item)
                        continue
                    if ident not in seen:
                        seen.add(ident)
                        batch.append(item)
                if batch:
                    data = channel.wrap_recovered(up.params, batch)
                    out.append(Message(sink.decode(data) if sink.decode else data, channel.channels[0], True))
                out.extend(Gap(a, b, f"{channel.recovery} cannot reach these items") for a, b in uncovered)
        except _RecoveryFailed as exc:
            if exc.cause is not None:
                raise exc.cause from None
            raise WebSocketError(f"recovering {up.key_text} failed: {exc.error}") from None
        return out

    # -- waiting, timeouts -------------------------------------------------------------------------------------
    def _describe(self, up: _Upstream) -> str:
        """Where a subscription stands, for messages: why nothing arrives."""
        if self._closed:
            return "client closed"
        if not up.active:
            return "subscription ended"
        metadata = "waiting for market metadata to validate the subscription before sending it"
        conn = up.conn
        if conn is None:
            return "not connected"
        if not conn.connected_now:
            retry = ""
            if conn.retry_at is not None:
                retry = f"; next attempt in {max(0.0, conn.retry_at - time.monotonic()):.1f} s"
            return f"not connected: {conn.last_error or 'connecting'}{retry}" + ("" if up.ready else f"; {metadata}")
        if not up.ready:
            return f"connected; {metadata}"
        if not up.live:
            if up.key in conn.sent:
                return "connected; waiting for the server to acknowledge the subscription"
            if conn.suspects:
                return "connected; held back while a subscription the server drops the socket for is identified"
            return "connected; subscription not sent yet (paced)"
        return f"connected and subscribed; no data for {time.monotonic() - up.last_data:.1f} s"

    def _timeout_error(self, sink: _Sink, timeout: float, what: str) -> RequestTimeoutError:
        up = sink.upstream
        return RequestTimeoutError(
            f"{self._describe(up)} ({what} on {up.key_text} within {timeout:g} s)",
            timeout=timeout,
            endpoint=f"ws {up.channel.type}",
            request_sent=False,
        )

    async def _wait_live(self, sink: _Sink, timeout: float | None) -> None:
        """:meth:`Subscription.wait_live`."""
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0):
            raise InvalidInputError("timeout", "a number of seconds >= 0 or None", timeout)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if sink.closed:
                if sink.error is not None:
                    raise sink.error
                raise StreamClosedError(f"the stream {sink.upstream.key_text} ended before the server acknowledged it")
            up = sink.upstream
            if up.live:
                return
            fut: asyncio.Future[None] = loop.create_future()
            up.live_waiters.append(fut)
            try:
                if deadline is None:
                    await fut
                else:
                    await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
            except TimeoutError:
                assert timeout is not None
                raise self._timeout_error(sink, timeout, "not acknowledged") from None
            finally:
                if fut in up.live_waiters:
                    up.live_waiters.remove(fut)

    async def _wait_connected(self, conn: _Connection, timeout: float) -> None:
        """Wait for ``conn`` to be connected; builtin ``TimeoutError`` after ``timeout``, ``WebSocketError`` when the
        client closes meanwhile."""
        if not conn.connected.is_set():
            loop = asyncio.get_running_loop()
            if self._close_future is None:
                self._close_future = loop.create_future()
            waiter: asyncio.Future[Any] = loop.create_task(conn.connected.wait())
            try:
                done, _ = await asyncio.wait(
                    (waiter, self._close_future), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                waiter.cancel()
            if self._closed:
                raise WebSocketError("the WebSocket client was closed", request_sent=False)
            if not done:
                raise TimeoutError

    # -- staleness ---------------------------------------------------------------------------------------------
    async def _stale_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._stale_tick)
            now = time.monotonic()
            for up in tuple(self._registry.values()):
                after = up.stale_after
                if after is None or not up.live or up.stale:
                    continue
                silence = now - up.last_data
                if silence < after:
                    continue
                up.stale = True
                resub = self.config.stale_resubscribe and up.conn is not None
                log(_log, 30, "stream stale", key=up.key_text, silence=round(silence, 3), resubscribe=resub)
                self._emit("ws.stale", key=up.key_text, silence=silence)
                up.broadcast(Stale(silence, resub))
                if resub and up.conn is not None:
                    up.live = False
                    self._spawn(up.conn.resubscribe(up.key))

    # -- latest values -----------------------------------------------------------------------------------------
    def _latest_values(self, up: _Upstream) -> tuple[Any, Any]:
        """``up.latest_values()`` from any thread: a plain read unless messages wait as text, which are read on the
        client's loop (this thread waits for it) or here when the loop does not run."""
        held = up.held_values()
        if held is not None:
            return held
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop or not loop.is_running():
            return up.latest_values()
        fut: concurrent.futures.Future[tuple[Any, Any]] = concurrent.futures.Future()

        def run() -> None:
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(up.latest_values())
                except BaseException as exc:  # (handed to the thread waiting)
                    fut.set_exception(exc)

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:  # closed meanwhile
            return up.latest_values()
        while True:
            try:
                return fut.result(0.1)
            except concurrent.futures.TimeoutError:
                if not loop.is_running() and fut.cancel():  # it stopped before running it
                    return up.latest_values()

    def latest(self, channel_type: str, /, **params: Any) -> Any:
        """Newest value of a live market-data subscription (decoded like its first subscriber's), or ``None``: the
        newest message that parsed and decoded (safe from any thread; see :meth:`_latest_values`).

        ``client.latest("l2Book", coin="BTC")``, ``client.latest("bbo", coin="ETH")``, ``client.latest("allMids")``.
        """
        up = self._registry.get(make_key(channel_type, params))
        return _none_for(channel_type, params) if up is None else self._latest_values(up)[1]

    def latest_raw(self, channel_type: str, /, **params: Any) -> Any:
        """Like :meth:`latest`, but the undecoded JSON data."""
        up = self._registry.get(make_key(channel_type, params))
        return _none_for(channel_type, params) if up is None else self._latest_values(up)[0]

    def fresh_raw(self, channel_type: str, max_age: float, /, **params: Any) -> Any:
        """Like :meth:`latest_raw`, but only while the subscription is live and its last data is at most
        ``max_age`` seconds old (else ``None``)."""
        up = self._registry.get(make_key(channel_type, params))
        if up is None:
            return _none_for(channel_type, params)
        if not up.live or time.monotonic() - up.last_data > max_age:
            return None
        return self._latest_values(up)[0]

    def mid(self, coin: str, *, dex: str | None = None) -> str | None:
        """Newest mid price of ``coin`` from a live ``allMids`` subscription (exact decimal string), or ``None``."""
        raw = self.latest_raw("allMids", dex=dex)
        if isinstance(raw, Mapping):
            mids = raw.get("mids")
            if isinstance(mids, Mapping):
                value = mids.get(coin)
                return value if isinstance(value, str) else None
        return None

    # -- posts -------------------------------------------------------------------------------------------------
    def _post_connection(self) -> _Connection:
        usable = [c for c in self._conns if not c.closing and not c.gave_up]
        connected = [c for c in usable if c.connected_now]
        if connected:
            return min(connected, key=lambda c: len(c.pending))
        if usable:
            return usable[0]
        if len(self._conns) >= self.config.max_connections:
            raise SubscriptionLimitError("no connection available for a post (max_connections reached)")
        return self._new_connection()

    async def post(
        self, kind: Literal["info", "action"], payload: Mapping[str, Any], *, timeout: float | None = None
    ) -> Any:
        """Send an info request or a signed action over the socket and return its answer.

        Info: returns the response data (what ``POST /info`` would return).  Action: returns the exchange's JSON
        (``{"status": "ok" | "err", "response": ...}``) for the caller to classify.  Raises
        :class:`~.TimeoutError` after ``timeout`` (``request_sent`` tells whether it left),
        :class:`~hyperliquid_client.runtime.errors.WebSocketError` when the connection is lost (info), and
        :class:`~hyperliquid_client.runtime.errors.IndeterminateError` when an action was written and its outcome is
        unknown (lost connection or timeout).  A request still waiting for a connection is never sent after its
        deadline.
        """
        self._check_open()
        if kind not in ("info", "action"):
            raise InvalidInputError("kind", "'info' or 'action'", kind)
        if not isinstance(payload, Mapping):
            raise InvalidInputError("payload", "a mapping", type(payload).__name__)
        if timeout is None:
            timeout = self.config.post_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidInputError("timeout", "a positive number of seconds", timeout)
        try:
            body = json.dumps(dict(payload))
        except (TypeError, ValueError) as exc:
            raise InvalidInputError("payload", "JSON-serializable data", detail=str(exc)) from exc
        loop = asyncio.get_running_loop()
        self._loop = loop
        deadline = loop.time() + timeout
        pid = next(self._post_ids)
        pending = _PendingPost(pid, kind, loop.create_future())
        frame = f'{{"method":"post","id":{pid},"request":{{"type":"{kind}","payload":{body}}}}}'
        conn: _Connection | None = None
        slot = self.limits.post_slot(deadline)  # the server's in-flight posts limit
        await slot.__aenter__()
        try:
            while True:
                conn = self._post_connection()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                self.limits.check_post(remaining)
                await self._wait_connected(conn, remaining)
                await asyncio.wait_for(self._bucket.acquire(), max(deadline - loop.time(), 0.0))
                if loop.time() >= deadline:
                    raise TimeoutError
                ws = conn.ws
                if ws is None or not conn.connected_now:
                    continue  # dropped while we waited: wait for the next socket, still within the deadline
                conn.pending[pid] = pending
                pending.sent = True
                await ws.send(frame)
                break
            self._emit("ws.post", connection=conn.id, id=pid, kind=kind, ok=None)
            response = await asyncio.wait_for(pending.future, max(deadline - loop.time(), 0.0))
        except TimeoutError:
            if conn is not None:
                conn.pending.pop(pid, None)
            self._emit("ws.post", connection=conn.id if conn else None, id=pid, kind=kind, ok=False)
            if pending.sent and kind == "action":
                raise self._indeterminate(payload, f"no answer to the action within {timeout:g}s") from None
            raise RequestTimeoutError(
                f"websocket post {kind} got no answer within {timeout:g}s"
                if pending.sent
                else f"websocket post {kind} not sent within {timeout:g}s (no connection)",
                timeout=timeout,
                endpoint="ws post",
                request_sent=pending.sent,
            ) from None
        except (ConnectionClosed, WebSocketError) as exc:
            if conn is not None:
                conn.pending.pop(pid, None)
            self._emit("ws.post", connection=conn.id if conn else None, id=pid, kind=kind, ok=False)
            if pending.sent and kind == "action":
                raise self._indeterminate(payload, f"connection lost after the action was sent: {exc}") from exc
            if isinstance(exc, WebSocketError):
                raise
            raise WebSocketError(f"connection lost: {exc}", request_sent=pending.sent) from exc
        finally:
            await slot.__aexit__(None, None, None)
            if conn is not None:
                conn.pending.pop(pid, None)
        return self._post_result(kind, payload, response, conn.id, pid)

    def _post_result(self, kind: str, payload: Mapping[str, Any], response: Any, cid: int, pid: int) -> Any:
        if not isinstance(response, dict):
            self._emit("ws.post", connection=cid, id=pid, kind=kind, ok=False)
            raise WebSocketError(f"malformed post reply: {str(response)[:200]}", request_sent=True)
        rtype = response.get("type")
        body = response.get("payload")
        if rtype == "error":
            text = body if isinstance(body, str) else json.dumps(body)
            self._emit("ws.post", connection=cid, id=pid, kind=kind, ok=False)
            if "429" in text or "rate limit" in text.lower():
                raise RateLimitedError(body=text, endpoint="ws post")
            if kind == "action":
                raise self._indeterminate(payload, f"server error for the action: {text[:200]}")
            raise WebSocketError(f"server error for the info request: {text[:200]}", request_sent=True)
        self._emit("ws.post", connection=cid, id=pid, kind=kind, ok=True)
        if kind == "info":
            return body.get("data") if isinstance(body, dict) else body
        return body

    @staticmethod
    def _indeterminate(payload: Mapping[str, Any], message: str) -> IndeterminateError:
        nonce = payload.get("nonce")
        action = payload.get("action")
        cloids: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in ("c", "cloid") and isinstance(v, str):
                        cloids.append(v)
                    else:
                        walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(action)
        return IndeterminateError(
            message,
            nonce=nonce if isinstance(nonce, int) else None,
            cloids=cloids,
            action_type=action.get("type") if isinstance(action, dict) else None,
        )

    def _on_post_reply(self, conn: _Connection, data: Any) -> None:
        if not isinstance(data, dict):
            return
        pid = data.get("id")
        pending = conn.pending.get(pid) if isinstance(pid, int) else None
        if pending is None:
            for other in self._conns:  # an id is unique per client
                pending = other.pending.get(pid) if isinstance(pid, int) else None
                if pending is not None:
                    break
        if pending is None:
            log(_log, 20, "post reply for no pending request", connection=conn.id, id=pid)
            return
        if not pending.future.done():
            pending.future.set_result(data.get("response"))

    # -- close -------------------------------------------------------------------------------------------------
    async def close(self) -> None:
        """Close every connection, fail pending posts and end every subscription (iteration stops)."""
        if self._closed:
            return
        self._closed = True
        if self._close_future is not None and not self._close_future.done():
            self._close_future.set_result(None)  # wakes posts waiting for a connection
        if self._stale_task is not None:
            self._stale_task.cancel()
        for up in tuple(self._registry.values()):
            if up.recovery is not None:
                up.recovery.cancel()
            for sink in tuple(up.sinks.values()):
                self._release(sink)
        conns, self._conns = self._conns, []
        for conn in conns:
            conn._fail_posts("client closed")
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        for task in tuple(self._background):
            task.cancel()
        self._callback_subs.clear()
        self._callback_threads.close()

    async def __aenter__(self) -> WsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _none_for(channel_type: str, params: Mapping[str, Any]) -> None:
    """``None`` for a newest value asked of no live subscription — after refusing (:class:`InvalidInputError`) a
    channel the spec does not know, a parameter it does not have or a required one left out, which no subscription
    could ever match (a typo would otherwise read as "nothing yet" for ever)."""
    from hyperliquid_client.generated.registry import CHANNELS  # (only on a miss)

    spec = CHANNELS.get(channel_type)
    if spec is None:
        raise InvalidInputError("channel", f"a channel type of the spec ({', '.join(sorted(CHANNELS))})", channel_type)
    known = {p.wire for p in spec.params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidInputError(
            unknown[0], f"a parameter of {channel_type} ({', '.join(sorted(known)) or 'none'})", params[unknown[0]]
        )
    missing = [p.wire for p in spec.params if p.required and params.get(p.wire) is None]
    if missing:
        raise InvalidInputError(missing[0], f"a value: {channel_type} needs {', '.join(missing)}", None)
    return None
