"""The budget a client keeps: admission of every request, the one 429 backoff, address allowances.

:class:`RateLimiter` is the gate the HTTP transports (and WebSocket posts) pass through before each
attempt (:meth:`RateLimiter.admit` / :meth:`RateLimiter.aadmit`) and after it
(:meth:`RateLimiter.settle`).  The decisions are the sans-I/O rules of :mod:`.ledger`,
:mod:`.address` and :mod:`.breaker`, kept in this process or — with ``redis_url`` — in Redis
(:mod:`.store`), falling back to this process's share when Redis cannot be reached.
See ``docs/rate-limits.md``.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

from hyperliquid_client.runtime.errors import (
    AddressLimitError,
    HTTPStatusError,
    RateLimitedError,
    TransportError,
)
from hyperliquid_client.runtime.errors import TimeoutError as RequestTimeoutError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.ratelimit.address import (
    CANCEL_ACTIONS,
    EXHAUSTED_EVERY,
    ORDER_ACTIONS,
    AddressState,
    Allowances,
    cancel_cap,
    parse_refusal,
    requests_of,
)
from hyperliquid_client.runtime.ratelimit.breaker import Breaker
from hyperliquid_client.runtime.ratelimit.config import RateLimitConfig
from hyperliquid_client.runtime.ratelimit.ledger import Admission, Ledger
from hyperliquid_client.runtime.ratelimit.store import RedisStore, StoreDown
from hyperliquid_client.runtime.record import frozen
from hyperliquid_client.runtime.signing.nonces import NonceSource, SharedWindowDown

__all__ = ["BACKGROUND", "RateLimiter", "RedisNonceSource", "Request", "Ticket", "background"]

_log = get_logger("hyperliquid_client.ratelimit")

#: True inside background work (the cache warmers): such requests use at most ``background_share``
#: of the budget and wait out a 429 backoff until a foreground call has probed successfully.
BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("hyperliquid_background", default=False)

#: how much longer than its timeout an unanswered request keeps counting (seconds)
HOLD_MARGIN = 5.0
#: the longest a waiting call sleeps before it looks again (seconds)
_MAX_NAP = 1.0
_BUDGET_LEVELS = (0.5, 0.2, 0.05)
_KINDS = ("cancel", "exchange", "info", "background")


#: a ticket admitted before the transport is reached (by the exchange senders, before they take a
#: connection and a nonce), handed to the transport's admission of the same request
_PREADMITTED: contextvars.ContextVar[list[Ticket] | None] = contextvars.ContextVar(
    "hyperliquid_preadmitted", default=None
)


@contextmanager
def background() -> Iterator[None]:
    """Mark the requests made inside the block as background work (see :data:`BACKGROUND`)."""
    token = BACKGROUND.set(True)
    try:
        yield
    finally:
        BACKGROUND.reset(token)


class RequestLike(Protocol):
    """What the gate needs to know about one attempt (the transport's prepared request fits)."""

    @property
    def context(self) -> str:
        """``info``, ``exchange``, ``explorer`` or ``stats``."""
        ...

    @property
    def endpoint(self) -> str:
        """Wire name of the request (``l2Book``, ``exchange.order``)."""
        ...

    @property
    def weight(self) -> int:
        """Its weight before any per-item surcharge."""
        ...

    @property
    def url(self) -> str:
        """Where it goes."""
        ...

    @property
    def timeout(self) -> float:
        """Its deadline in seconds."""
        ...

    @property
    def content(self) -> bytes | None:
        """The encoded body."""
        ...


@frozen
class Request:
    """A :class:`RequestLike` for requests that do not come from the HTTP transport (WebSocket posts)."""

    context: str
    endpoint: str
    weight: int
    url: str
    timeout: float
    content: bytes | None = None


_HOSTS: dict[str, str] = {}  # url -> host (a handful of URLs per process)


def _host(req: RequestLike) -> str:
    host = _HOSTS.get(req.url)
    if host is None:
        host = _HOSTS[req.url] = urlsplit(req.url).netloc
    return host


def _wire(req: RequestLike) -> str:
    """The wire name of a request's endpoint (``info.l2Book`` → ``l2Book``)."""
    return req.endpoint.rsplit(".", 1)[-1]


@dataclasses.dataclass(slots=True, weakref_slot=True)
class Ticket:
    """A granted admission, handed back to :meth:`RateLimiter.settle`."""

    request: RequestLike
    entry: int | None
    member: str | None
    probe: bool
    scope: str
    #: a background (warmer) request: its failures never open the circuit breaker on their own
    background: bool = False


def _kind(req: RequestLike) -> str:
    if req.context == "exchange":
        kind = _EXCHANGE_KINDS.get(req.endpoint)
        if kind is None:
            kind = _EXCHANGE_KINDS[req.endpoint] = "cancel" if _wire(req) in CANCEL_ACTIONS else "exchange"
        return kind
    return "background" if BACKGROUND.get() else "info"


_EXCHANGE_KINDS: dict[str, str] = {}  # exchange endpoint -> its kind (``cancel`` or ``exchange``)


class _Scope:
    """The ledger of one IP, API host and window in this process (shared by its clients)."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.lock = threading.Lock()


_SCOPES: dict[str, _Scope] = {}
_SCOPES_LOCK = threading.Lock()


def _scope(name: str) -> _Scope:
    with _SCOPES_LOCK:
        found = _SCOPES.get(name)
        if found is None:
            found = _SCOPES[name] = _Scope()
        return found


class RateLimiter:
    """The rate-limit gate of one client (``client.rate``); see the module docs.

    ``api_url``: the API the budget is for (one budget per IP, API host and window).  ``surcharges``: info
    types whose answers cost extra weight, mapped to the number of items that cost 1 more.
    """

    def __init__(
        self,
        config: RateLimitConfig | None = None,
        *,
        api_url: str,
        events: EventBus | None = None,
        surcharges: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if config is not None else RateLimitConfig()
        self.events = events if events is not None else EventBus()
        self.surcharges: Mapping[str, int] = dict(surcharges or {})
        self._clock = clock
        self._rng = random.Random()
        # clients (and, through Redis, processes) share a ledger when IP, API host and window agree: an
        # entry counts until a window after its answer, so a ledger holds one window; each client applies
        # its own budget to the shared total
        self.scope = f"{self.config.ip}|{urlsplit(api_url).netloc or api_url}|{self.config.window:g}s"
        self._local = _scope(self.scope)
        self._allowances = Allowances()
        self._addr_lock = threading.Lock()
        self._level = 0
        self._epoch: str | None = None
        self._unsynced: list[tuple[int, float]] = []
        #: until then (after Redis was unreachable or lost its data) this process keeps to its share:
        #: the others may not have told Redis yet what they spent meanwhile
        self._resync_until = 0.0
        cfg = self.config
        self.breaker = Breaker(
            cfg.breaker_failures, cfg.breaker_cool_down, cfg.breaker_cool_down_max, on_change=self._circuit_changed
        )
        self.store: RedisStore | None = None
        if cfg.enabled and cfg.redis_url is not None:
            self.store = RedisStore(
                cfg.redis_url,
                prefix=cfg.redis_prefix,
                timeout=cfg.redis_timeout,
                retry=cfg.redis_retry,
                on_state=self._redis_changed,
            )
        self._last_active = float("-inf")
        #: the (base, class) limits of each kind without Redis, for the configuration they were computed from
        #: (and the lowest fraction of an address allowance that is reported)
        self._limits: tuple[RateLimitConfig | None, dict[str, tuple[int, int]], float] = (None, {}, 1.0)
        self._queue: queue.SimpleQueue[Callable[[], None] | None] | None = None
        self._worker: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"RateLimiter(scope={self.scope!r}, mode={self.mode!r}, budget={self.config.budget})"

    # ------------------------------------------------------------------ limits
    @property
    def mode(self) -> str:
        """``"off"``, ``"local"`` (this process alone), ``"redis"``, ``"fallback"`` (Redis unreachable) or
        ``"resync"`` (Redis is back; this process keeps to its share for a window while all re-add their spending)."""
        if not self.config.enabled:
            return "off"
        if self.store is None:
            return "local"
        if not self.store.up:
            return "fallback"
        return "resync" if self._clock() < self._resync_until else "redis"

    @property
    def limit(self) -> int:
        """Weight per window this process may use now: the budget, or its share without Redis."""
        cfg = self.config
        if self.store is not None and self.store.up and self._clock() >= self._resync_until:
            return cfg.budget
        return max(1, math.floor(cfg.budget * cfg.share))

    def _class_limit(self, kind: str, base: int) -> int:
        cfg = self.config
        if kind == "cancel":
            return base
        if kind == "exchange":
            return math.floor(base * (1 - cfg.cancel_reserve))
        if kind == "info":
            return math.floor(base * (1 - cfg.exchange_reserve))
        return math.floor(base * min(cfg.background_share, 1 - cfg.exchange_reserve))

    @property
    def used(self) -> int:
        """Weight counting against the budget now (from Redis when shared)."""
        if self.store is not None:
            try:
                return self.store.used(self.scope)[0]
            except StoreDown:
                pass
        with self._local.lock:
            return self._local.ledger.used(self._clock())

    @property
    def remaining(self) -> int:
        """Weight left in the current window (never negative)."""
        return max(0, self.limit - self.used)

    @property
    def paused_for(self) -> float:
        """Seconds left of the 429 backoff (0 when none)."""
        local = max(0.0, self._local.ledger.pause_until - self._clock())
        if self.store is not None:
            try:
                return max(local, self.store.used(self.scope)[1])
            except StoreDown:
                pass
        return local

    @property
    def idle_for(self) -> float:
        """Seconds since the last request that was not background work (infinite before the first)."""
        return self._clock() - self._last_active

    def circuit(self, url_or_host: str) -> str:
        """State of the circuit breaker of a host (``closed``, ``open``, ``half_open``)."""
        return self.breaker.state(urlsplit(url_or_host).netloc or url_or_host)

    # ------------------------------------------------------------------ admission
    def _emit(self, name: str, /, **fields: Any) -> None:
        if self.events.wants(name):
            self.events.emit(name, **fields)

    def _try(self, req: RequestLike, kind: str) -> Ticket | Admission:
        now = self._clock()
        if kind != "background":
            self._last_active = now
        self.breaker.check(_HOSTS.get(req.url) or _host(req), now, req.endpoint)  # (nothing to do when disabled)
        if not self.config.enabled or req.weight <= 0:
            return Ticket(req, None, None, False, self.scope, background=kind == "background")
        cfg = self.config
        hold = req.timeout + HOLD_MARGIN
        local = self._local
        store = self.store
        if store is not None and not store.up and store.usable:
            try:  # is Redis back?  (then this process keeps to its share while everyone re-adds)
                store.used(self.scope)
            except StoreDown:
                pass
        if store is not None and store.up and self._clock() >= self._resync_until:
            with local.lock:
                paused = local.ledger.pause_until - now
            if paused > 0:
                return Admission(None, paused, "backoff")
            limit = self._class_limit(kind, cfg.budget)
            self._check_fits(req, kind, limit)
            try:
                member, wait, reason, probe, total, epoch = store.admit(
                    self.scope, req.weight, limit, window=cfg.window, hold=hold, background=kind == "background"
                )
            except StoreDown:
                pass
            else:
                if self._check_epoch(epoch):
                    return Admission(None, 0.0, "resync")  # Redis lost its data: go on locally for a while
                if member is None:
                    return Admission(None, wait, reason)
                with local.lock:  # mirror: this process's own spending, for a fallback or a lost Redis
                    entry = local.ledger.take(now, req.weight, hold=hold, window=cfg.window)
                self._budget_level(total, cfg.budget)
                return Ticket(req, entry, member, probe, self.scope, background=kind == "background")
        if store is None:  # this process alone: the limits follow from the configuration
            if self._limits[0] is not cfg:
                base = max(1, math.floor(cfg.budget * cfg.share))
                below = min(cfg.address_thresholds, default=1.0)  # the allowance's lowest reported fraction
                self._limits = (cfg, {k: (base, self._class_limit(k, base)) for k in _KINDS}, below)
            base, limit = self._limits[1][kind]
        else:
            base = self.limit
            limit = self._class_limit(kind, base)
        self._check_fits(req, kind, limit)
        with local.lock:
            ledger = local.ledger
            granted = ledger.grant(now, req.weight, limit, window=cfg.window, hold=hold)
            adm = (  # a backoff, a probe or a full budget: the whole rule decides
                None
                if granted is not None
                else ledger.admit(now, req.weight, limit, window=cfg.window, hold=hold, background=kind == "background")
            )
            total = ledger.total
        if adm is not None:
            if not adm.granted:
                return adm
            granted = adm.entry
        if store is not None:  # spent without Redis counting it: tell Redis (now, or once it is back)
            spent = [(req.weight, hold + cfg.window)]
            if store.up:
                self._background(lambda: self._replay(spent))
            else:
                with local.lock:
                    self._unsynced.append((req.weight, now + hold + cfg.window))
        self._budget_level(total, base)
        return Ticket(req, granted, None, adm is not None and adm.probe, self.scope, background=kind == "background")

    def _check_fits(self, req: RequestLike, kind: str, limit: int) -> None:
        if req.weight > limit:
            raise RateLimitedError(
                message=(
                    f"{req.endpoint}: weight {req.weight} can never fit the budget {kind} calls may use "
                    f"({limit} of {self.config.budget} per {self.config.window:g}s); raise rate.budget or rate.share"
                ),
                endpoint=req.endpoint,
                url=req.url,
                local=True,
            )

    def _nap(self, req: RequestLike, kind: str, adm: Admission, left: float | None, waited: bool) -> float:
        """Seconds to sleep before trying again, or raise when the call must not wait that long."""
        wait = adm.wait
        if wait <= 0:
            return 0.0  # try again at once (Redis was reset: this process goes on with its share)
        if left is not None:
            left -= min(max(0.1 * req.timeout, 0.05), 1.0)  # keep time for the request itself
        if self.config.policy == "fail" or (left is not None and wait > left):
            why = "the 429 backoff" if adm.reason == "backoff" else f"the weight budget ({kind})"
            deadline = (
                ""
                if self.config.policy == "fail" or left is None
                else f", more than the {max(left, 0.0):.2f}s this call's timeout of {req.timeout:g}s leaves for "
                "waiting (the rest is kept for the request itself)"
            )
            self._emit(
                "rate.limited",
                context=req.context,
                endpoint=req.endpoint,
                weight=req.weight,
                retry_after=wait,
                reason=adm.reason,
            )
            log(_log, logging.DEBUG, "call refused by the rate limiter", endpoint=req.endpoint, reason=adm.reason)
            raise RateLimitedError(
                message=(
                    f"{req.endpoint}: refused by {why} (policy {self.config.policy!r}); budget returns in "
                    f"{wait:.2f}s{deadline}"
                ),
                retry_after=wait,
                endpoint=req.endpoint,
                url=req.url,
                local=True,
            )
        if not waited:
            self._emit(
                "rate.wait",
                context=req.context,
                endpoint=req.endpoint,
                weight=req.weight,
                delay=wait,
                reason=adm.reason,
            )
        nap = min(wait, _MAX_NAP) * (1 + 0.2 * self._rng.random()) + 0.001
        return nap if left is None else min(nap, max(left, 0.0))

    # ------------------------------------------------------------------ one exchange action, every step
    def admit_action(
        self, address: str | None, wire: str, action: Mapping[str, Any], req: Request, remaining: float | None
    ) -> Ticket:
        """Count ``action`` against ``address``'s allowance (:meth:`check_address`; ``None``: nothing to count),
        then wait until its weight may go (:meth:`admit`) — in one step while nothing is near a limit."""
        ticket, counted = self._at_once(address, wire, action, req)
        if ticket is not None:
            return ticket
        if address is not None and not counted:
            self.check_address(address, wire, requests_of(wire, action))
        return self.admit(req, remaining)

    async def aadmit_action(
        self, address: str | None, wire: str, action: Mapping[str, Any], req: Request, remaining: float | None
    ) -> Ticket:
        """:meth:`admit_action` without blocking the event loop (Redis round trips in a thread)."""
        ticket, counted = self._at_once(address, wire, action, req)
        if ticket is not None:
            return ticket
        if address is not None and not counted:
            n = requests_of(wire, action)
            if self.store is not None:  # a Redis round trip: off the event loop
                await asyncio.to_thread(self.check_address, address, wire, n)
            else:
                self.check_address(address, wire, n)
        return await self.aadmit(req, remaining)

    def _at_once(
        self, address: str | None, wire: str, action: Mapping[str, Any], req: Request
    ) -> tuple[Ticket | None, bool]:
        """The usual case of :meth:`admit_action` in one step: ``(ticket, True)`` when the allowance counted quietly
        and the weight was granted at once; otherwise ``(None, counted)`` and the full rules decide what is left
        (a ticket is granted here only where :meth:`_try` grants the same one: no Redis, no backoff, a closed
        host, the weight fits; the allowance counts only where :meth:`check_address` counts it quietly)."""
        cfg = self.config
        limits = self._limits
        if self.store is not None or limits[0] is not cfg or not cfg.enabled:  # (limits: set by the first _try)
            return None, False
        counted = False
        if address is not None:
            with self._addr_lock:
                counted = self._allowances.add_quietly(address.lower(), requests_of(wire, action), limits[2])
            if not counted:
                return None, False
        kind = _EXCHANGE_KINDS.get(req.endpoint)
        if kind is None or req.weight <= 0 or _PREADMITTED.get():
            return None, counted
        base, limit = limits[1][kind]
        breaker = self.breaker
        if req.weight > limit:
            return None, counted
        hosts = breaker._hosts
        if hosts and breaker.failures > 0:  # (Breaker.state of the host, read in place; enabled: failures > 0)
            h = hosts.get(_HOSTS.get(req.url) or _host(req))
            if h is not None and h.state != "closed":
                return None, counted  # (a breaker that never saw a host has every host closed)
        now = self._clock()
        local = self._local
        with local.lock:
            ledger = local.ledger
            entry = ledger.grant(now, req.weight, limit, window=cfg.window, hold=req.timeout + HOLD_MARGIN)
            total = ledger.total
        if entry is None:
            return None, counted
        self._last_active = now
        if self._level or not 1 - total / base > _BUDGET_LEVELS[0]:  # (base >= 1) else far from it, nothing to say
            self._budget_level(total, base)
        return Ticket(req, entry, None, False, self.scope), counted

    @staticmethod
    def hand_over(ticket: Ticket) -> tuple[contextvars.Token[list[Ticket] | None], list[Ticket]]:
        """Until :meth:`take_back`, the transport's admission of ``ticket``'s request (in this context) uses
        ``ticket``."""
        holder = [ticket]
        return _PREADMITTED.set(holder), holder

    def take_back(self, handed: tuple[contextvars.Token[list[Ticket] | None], list[Ticket]]) -> None:
        """End :meth:`hand_over`; a ticket the transport never took (refused before sending) is released."""
        token, holder = handed
        _PREADMITTED.reset(token)
        if holder:
            self.settle(holder.pop(), status=None, error=None)

    @contextmanager
    def admitted(self, ticket: Ticket) -> Iterator[None]:
        """:meth:`hand_over` for the block."""
        handed = self.hand_over(ticket)
        try:
            yield
        finally:
            self.take_back(handed)

    @staticmethod
    def _preadmitted(req: RequestLike) -> Ticket | None:
        held = _PREADMITTED.get()
        if held and held[0].request.endpoint == req.endpoint:
            return held.pop()
        return None

    def admit(self, req: RequestLike, remaining: float | None) -> Ticket:
        """Wait (blocking) until ``req`` may go, within ``remaining`` seconds; see :meth:`aadmit`."""
        ticket = self._preadmitted(req)
        if ticket is not None:
            return ticket
        kind = _kind(req)
        started = self._clock()
        waited = False
        while True:
            got = self._try(req, kind)
            if isinstance(got, Ticket):
                return got
            left = None if remaining is None else remaining - (self._clock() - started)
            nap = self._nap(req, kind, got, left, waited)
            waited = True
            time.sleep(nap)

    async def aadmit(self, req: RequestLike, remaining: float | None) -> Ticket:
        """Wait until ``req`` may go; raise :class:`RateLimitedError` (``local``) when it cannot within
        ``remaining`` seconds, or at once with policy ``fail``; :class:`CircuitOpenError` when its host
        is cooling down."""
        ticket = self._preadmitted(req)
        if ticket is not None:
            return ticket
        kind = _kind(req)
        started = self._clock()
        waited = False
        while True:
            if self.store is not None and self.store.usable:
                got = await asyncio.to_thread(self._try, req, kind)
            else:
                got = self._try(req, kind)
            if isinstance(got, Ticket):
                return got
            left = None if remaining is None else remaining - (self._clock() - started)
            nap = self._nap(req, kind, got, left, waited)
            waited = True
            await asyncio.sleep(nap)

    # ------------------------------------------------------------------ settlement
    def settle(
        self,
        ticket: Ticket | None,
        *,
        status: int | None,
        value: Any = None,
        error: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Account for the attempt of ``ticket``: its answer ``status`` / ``value`` or its ``error``."""
        cfg = self.config
        if ticket is None or not cfg.enabled:
            return
        req = ticket.request
        now = self._clock()
        if status is not None or error is not None:  # (a ticket handed back unused tells the breaker nothing)
            self._record_breaker(req, status, error, now, counts=not ticket.background)
        extra = 0
        if error is None and req.context == "info":
            extra = self._surcharge(req, value)
            if _wire(req) == "userRateLimit":
                self._observe_rate_limit(req, value)
        outcome = "429" if status == 429 else ("ok" if status is not None else "none")
        pause = None
        ended = False
        local = self._local
        with local.lock:
            ledger = local.ledger
            if ticket.entry is not None:
                ledger.complete(ticket.entry, now, window=cfg.window)
            if extra:
                ledger.charge(extra, now, window=cfg.window)
            if outcome == "429":
                pause = ledger.rate_limited(now, retry_after, base=cfg.backoff_base, maximum=cfg.backoff_max)
                strikes = ledger.strikes
            elif outcome == "ok":
                ended = ledger.succeeded()
            if extra and ticket.member is None and self.store is not None:
                self._unsynced.append((extra, now + cfg.window))
        if pause is not None:
            log(
                _log,
                logging.WARNING,
                "429 from the server: every call sharing the budget pauses",
                endpoint=req.endpoint,
                pause=round(pause, 3),
                strikes=strikes,
            )
            self._emit("rate.backoff", scope=self.scope, state="paused", delay=pause, strikes=strikes)
        elif ended:
            self._emit("rate.backoff", scope=self.scope, state="resumed", delay=0.0, strikes=0)
        if self.store is not None and ticket.member is not None and cfg.enabled:
            if outcome == "ok" and not (ticket.probe or ended):
                outcome = "none"
            member, scope = ticket.member, ticket.scope

            def push() -> None:
                assert self.store is not None
                self.store.settle(
                    scope,
                    member,
                    window=cfg.window,
                    extra=extra,
                    outcome=outcome,
                    retry_after=retry_after,
                    base=cfg.backoff_base,
                    maximum=cfg.backoff_max,
                )

            self._background(push)  # in order, off the caller's thread (a 429 pauses this process at once)

    def _record_breaker(
        self, req: RequestLike, status: int | None, error: BaseException | None, now: float, *, counts: bool
    ) -> None:
        if not self.breaker.enabled:
            return
        if isinstance(error, HTTPStatusError):
            self.breaker.record(_host(req), error.status < 500, now, f"HTTP {error.status}", counts=counts)
        elif isinstance(error, RequestTimeoutError | TransportError):
            self.breaker.record(_host(req), False, now, f"{type(error).__name__}: {error}", counts=counts)
        elif status is not None or error is not None:
            self.breaker.record(_host(req), True, now)

    def _surcharge(self, req: RequestLike, value: Any) -> int:
        per = self.surcharges.get(_wire(req)) if req.context == "info" else None
        if per and isinstance(value, list) and value:
            return math.ceil(len(value) / per)
        return 0

    def _run_store(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except StoreDown:
            pass
        except Exception as exc:  # a bug or a Redis refusal must not fail the call it accounts for
            log(_log, logging.ERROR, "redis update failed", error=repr(exc))

    def _background(self, fn: Callable[[], None]) -> None:
        q = self._queue
        if q is None:
            q = self._queue = queue.SimpleQueue()
            self._worker = threading.Thread(target=self._drain, args=(q,), name="hl-ratelimit-redis", daemon=True)
            self._worker.start()
        q.put(fn)

    def _drain(self, q: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        while True:
            fn = q.get()
            if fn is None:
                if self.store is not None:
                    self.store.close()
                return
            self._run_store(fn)

    # ------------------------------------------------------------------ Redis state
    def _check_epoch(self, epoch: str) -> bool:
        """Note Redis's epoch; True (and a resync) when it changed: Redis lost the shared state."""
        if self._epoch == epoch:
            return False
        first, self._epoch = self._epoch is None, epoch
        if first:
            return False
        self._start_resync()
        with self._local.lock:
            entries = self._local.ledger.entries(self._clock())
            self._unsynced.clear()
        log(_log, logging.WARNING, "redis lost the shared budget (restarted?): re-adding this process's spending")
        self._emit("rate.redis", state="reset", error=None, share=self.config.share)
        self._run_store(lambda: self._replay(entries))
        return True

    def _start_resync(self) -> None:
        cfg = self.config
        self._resync_until = self._clock() + cfg.window + cfg.redis_retry + HOLD_MARGIN

    def _replay(self, entries: list[tuple[int, float]]) -> None:
        assert self.store is not None
        self.store.replay(self.scope, entries)

    def _redis_changed(self, up: bool, error: str | None) -> None:
        share = self.config.share
        if up:
            self._start_resync()
            now = self._clock()
            with self._local.lock:
                pending = [(w, e - now) for w, e in self._unsynced if e > now]
                self._unsynced.clear()
            log(_log, logging.INFO, "redis reachable again: the budget is shared again", replayed=len(pending))
            self._emit("rate.redis", state="up", error=None, share=share)
            if pending:
                self._background(lambda: self._replay(pending))
        else:
            log(
                _log,
                logging.WARNING,
                "redis unreachable: running on this process's share of the budget",
                share=share,
                limit=max(1, math.floor(self.config.budget * share)),
                error=error,
            )
            self._emit("rate.redis", state="down", error=error, share=share)

    def _budget_level(self, total: int, base: int) -> None:
        left = 1 - total / base if base else 0.0
        if left > _BUDGET_LEVELS[0] and not self._level:
            return  # the usual case: far from the limit and nothing reported
        level = sum(1 for mark in _BUDGET_LEVELS if left <= mark)
        if level != self._level and (level > self._level or level == 0):
            self._level = level
            self._emit("rate.budget", scope=self.scope, remaining=max(base - total, 0), limit=base, level=level)
            if level >= 2:
                log(_log, logging.INFO, "weight budget running low", remaining=max(base - total, 0), limit=base)

    def _circuit_changed(self, host: str, state: str, failures: int, retry_after: float) -> None:
        level = logging.WARNING if state == "open" else logging.INFO
        log(_log, level, "circuit breaker", host=host, state=state, failures=failures, cool_down=retry_after)
        self._emit("rate.circuit", host=host, state=state, failures=failures, retry_after=retry_after)

    # ------------------------------------------------------------------ address allowances
    def address(self, address: str) -> AddressState:
        """What is known of ``address``'s request allowance (see :class:`AddressState`)."""
        address = address.lower()
        with self._addr_lock:
            return self._allowances.state(address)

    def check_address(self, address: str, action_type: str, n: int) -> None:
        """Count ``n`` requests of ``action_type`` for ``address``, or refuse an order-like action
        with :class:`AddressLimitError` when the allowance is used up (cancels always go)."""
        if not self.config.enabled:
            return
        address = address.lower()
        if self.store is None:
            with self._addr_lock:  # far from the cap (or the cap unknown): count, nothing to decide or report
                if self._allowances.add_quietly(address, n, min(self.config.address_thresholds, default=1.0)):
                    return
        order = action_type in ORDER_ACTIONS
        now = self._clock()
        state: AddressState | None = None
        if self.store is not None:
            try:
                allowed, used, cap, retry = self.store.address_charge(address, n, order=order, every=EXHAUSTED_EVERY)
            except StoreDown:
                pass
            else:
                with self._addr_lock:
                    before = self._allowances.state(address)
                    state = (
                        self._allowances.observe(address, used, cap)
                        if cap is not None
                        else AddressState(address, used, None)
                    )
                if not allowed:
                    raise self._address_error(state, action_type, retry)
                self._address_level(before, state)
                return
        with self._addr_lock:
            before = self._allowances.state(address)
            decision = self._allowances.charge(address, action_type, n, now)
        if not decision.allowed:
            raise self._address_error(decision.state, action_type, decision.retry_after)
        self._address_level(before, decision.state)

    def _address_error(self, state: AddressState, action_type: str, retry: float) -> AddressLimitError:
        cap = state.cap or 0
        self._emit(
            "rate.limited", context="exchange", endpoint=action_type, weight=0, retry_after=retry, reason="address"
        )
        return AddressLimitError(
            f"{action_type} refused before sending: address {state.address} has used its request allowance "
            f"({state.used} of {cap}; the exchange allows 10000 + 1 per USDC traded). To fix: trade volume "
            f"(taker fills free 1 request per USDC), buy requests (reserve_request_weight), or wait — one request "
            f"per {EXHAUSTED_EVERY:g}s goes through, the next in {retry:.1f}s. Cancels still go "
            f"(up to {cancel_cap(cap)}).",
            address=state.address,
            used=state.used,
            cap=cap,
            retry_after=retry,
        )

    def observe_address(self, address: str, used: int, cap: int, *, refused: bool = False) -> None:
        """Record the exchange's ``used`` / ``cap`` for ``address`` (``userRateLimit``, or a refusal)."""
        address = address.lower()
        with self._addr_lock:
            before = self._allowances.state(address)
            state = self._allowances.observe(address, used, cap, refused_at=self._clock() if refused else None)
        store = self.store
        if store is not None:
            self._run_store(lambda: store.address_observe(address, used, cap, refused=refused))
        self._address_level(before, state)

    def observe_refusal(self, address: str, message: str) -> bool:
        """Learn from an exchange refusal of ``address``'s action; True when it was the allowance."""
        found = parse_refusal(message)
        if found is None:
            return False
        self.observe_address(address, *found, refused=True)
        return True

    def _observe_rate_limit(self, req: RequestLike, value: Any) -> None:
        if not isinstance(value, Mapping):
            return
        try:
            user = json.loads(req.content or b"{}").get("user")
            used = int(value["nRequestsUsed"])
            cap = int(value["nRequestsCap"]) + int(value.get("nRequestsSurplus") or 0)
        except (ValueError, TypeError, KeyError, AttributeError):
            return
        if isinstance(user, str):
            self.observe_address(user, used, cap)

    def _address_level(self, before: AddressState, after: AddressState) -> None:
        marks = (*self.config.address_thresholds, 1.0)
        old, new = before.fraction, after.fraction
        if new is None:
            return
        crossed = [m for m in marks if new >= m and (old is None or old < m)]
        if not crossed and not (old is not None and old >= marks[0] > new):
            return
        level = f"{crossed[-1]:.0%}" if crossed else "ok"
        if crossed and crossed[-1] >= 1.0:
            level = "exhausted"
        lvl = logging.WARNING if crossed else logging.INFO
        log(_log, lvl, "address request allowance", address=after.address, used=after.used, cap=after.cap, level=level)
        self._emit("rate.address", address=after.address, used=after.used, cap=after.cap, level=level)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Stop: what is queued for Redis is sent by the worker thread, which then closes the connection
        (closing never waits for Redis; an update that never arrives is no lost budget — its entry stops
        counting when its hold ends)."""
        q = self._queue
        if q is not None:
            q.put(None)
        elif self.store is not None:
            self.store.close()


class RedisNonceSource:
    """A :class:`~hyperliquid_client.runtime.signing.SharedNonceSource` kept in Redis: per signer
    ``max(redis time ms, last + 1)`` across every process using the same Redis, so processes trading
    with one wallet never collide (increasing, time-based), and one in-flight window per signer for all
    of them, so no action reaches the exchange after ``NONCE_WINDOW`` later nonces of its signer from any
    of them (see :class:`~hyperliquid_client.runtime.signing.nonces.Flights`).  A nonce taken by a process
    that dies leaves the window when its hold ends.

    ``mirror`` (the source it replaces) keeps what this process handed out and observed: it gives the
    floor sent to Redis, and the nonces while Redis is unreachable (``max(local ms, last + 1)``,
    unique within this process only; the window is then this process's own; the limiter reports the
    outage once).
    """

    def __init__(self, store: RedisStore, mirror: NonceSource) -> None:
        self.store = store
        self.mirror = mirror

    def _floor(self, signer: str) -> int:
        last = self.mirror.last(signer)
        return 0 if last is None else last + 1

    def next(self, signer: str) -> int:
        """The next nonce of ``signer`` (a lowercase address)."""
        try:
            nonce = self.store.nonce(signer, self._floor(signer))
        except StoreDown:
            return self.mirror.next(signer)
        self.mirror.observe(signer, nonce)
        return nonce

    def take(self, signer: str, *, window: int, hold: float) -> tuple[int | None, float]:
        """The next nonce of ``signer`` put in flight in its shared window, or ``(None, seconds)`` while
        the window is shut; :class:`~hyperliquid_client.runtime.signing.SharedWindowDown` without Redis."""
        try:
            nonce, shut = self.store.nonce_take(signer, self._floor(signer), window=window, hold=hold)
        except StoreDown as exc:
            raise SharedWindowDown(str(exc)) from None
        if nonce is not None:
            self.mirror.observe(signer, nonce)
        return nonce, shut

    def release(self, signer: str, nonce: int) -> None:
        """End the flight of ``nonce`` in Redis (unreachable: it ends with the nonce's hold)."""
        try:
            self.store.nonce_release(signer, nonce)
        except StoreDown:
            pass

    def observe(self, signer: str, nonce: int) -> None:
        """Record a nonce used elsewhere (later ones from Redis are above it)."""
        self.mirror.observe(signer, nonce)

    def last(self, signer: str) -> int | None:
        """The last nonce this process handed out or observed for ``signer``."""
        return self.mirror.last(signer)
