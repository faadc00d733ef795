"""HTTP transports: one pooled httpx client per instance, total deadlines, safe retries, events.

:class:`HttpTransport` (sync) and :class:`AsyncHttpTransport` (async) share every decision with
:mod:`hyperliquid_client.runtime.transport._core`; only the I/O differs.

Timeouts are a **total deadline** per attempt (connect + send + headers + the whole body), not
httpx's per-read timeout, so a server that drips bytes still times out at the deadline:

* async: the attempt runs inside :func:`asyncio.timeout`;
* sync: name resolution and every socket operation end by the deadline (see ``_deadline``),
  httpx's per-operation timeouts are refreshed to the time left before each operation, and the
  deadline is checked between body chunks.

Timeouts are not retried: the timeout is the caller's budget for one call.

**Connections.**  At most ``config.max_connections`` requests of a transport are in flight; the
others wait their turn here (within their deadline), not in httpx's pool, so a request that is let
through gets a connection at once — :meth:`HttpTransport.reserve` hands that turn to a caller that
must prepare the request at the last moment (a signed action takes its nonce then).  Idle
connections are kept (``config.keepalive``, by default all of them), so a busy transport reuses
its ``max_connections`` connections instead of opening one per request.

**Response size.**  A body is read as it arrives and abandoned as soon as it passes the limit
(``max_response_bytes`` of the call, else ``config.max_response_bytes``): a declared
``Content-Length`` over the limit is refused before reading; either way
:class:`InvalidResponseError` names the limit.

**Closing** never waits for the network: requests in flight are woken (their sockets shut down,
their name resolutions abandoned) and fail with :class:`TransportError`; waiting ones fail too.

Retries follow :mod:`hyperliquid_client.runtime.transport.policy`: idempotent contexts (``info``,
``explorer``, ``stats``) use ``config.retry`` unless a policy is passed; any other context
(``exchange``) defaults to :data:`RetryPolicy.NO_RETRY`.  Connection errors, 429 and 5xx are
retried with full-jitter exponential backoff honouring ``Retry-After``; timeouts are not retried.

A ``gate`` (the client's :class:`~hyperliquid_client.runtime.ratelimit.RateLimiter`) admits every
attempt before it is sent — it may wait for budget or refuse — and is told its outcome.

Events per attempt: ``request.start`` and ``request.end``; ``request.retry`` before each retry
(its ``attempt`` is the number of the attempt about to be made).  Nothing secret is emitted or
logged: request bodies never appear in events, logs or exception messages.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
from typing import Any

import httpx

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.loopbound import LoopBound
from hyperliquid_client.runtime.transport import _core, _deadline
from hyperliquid_client.runtime.transport.policy import RetryPolicy, TransportConfig

__all__ = ["AsyncHttpTransport", "HttpTransport"]

_logger = get_logger("hyperliquid_client.transport")

_Result = tuple[Any, int]


def _warn_if_insecure(config: TransportConfig) -> None:
    if not config.verify_tls:
        log(
            _logger,
            logging.WARNING,
            "TLS certificate verification is DISABLED for this transport (verify_tls=False); "
            "connections can be intercepted",
        )


class _LazyCAContext(ssl.SSLContext):
    """What httpx verifies with by default (certificates required, host names checked, certifi's CA bundle or
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), except that the CA bundle is loaded before the first TLS connection
    instead of when the pool is built: a client that only talks plain HTTP (a local node, the fake exchange)
    never spends the ~3 MB the bundle takes in memory."""

    _loaded = False
    _load_lock = threading.Lock()

    def _load_cas(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                if os.environ.get("SSL_CERT_FILE"):
                    self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
                elif os.environ.get("SSL_CERT_DIR"):
                    self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
                else:
                    import certifi

                    self.load_verify_locations(cafile=certifi.where())
                self._loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_cas()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load_cas()
        return super().wrap_bio(*args, **kwargs)


def tls_context(verify: bool) -> ssl.SSLContext | bool:
    """The ``verify`` argument of the transport's httpx pool (see :class:`_LazyCAContext`)."""
    return _LazyCAContext(ssl.PROTOCOL_TLS_CLIENT) if verify else False


def _client_kwargs(config: TransportConfig) -> dict[str, Any]:
    return {
        "verify": tls_context(config.verify_tls),
        "http1": True,
        "http2": False,
        "follow_redirects": False,
        "headers": _core.build_headers(config),
        "limits": httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.idle_connections,
            keepalive_expiry=30.0,
        ),
        "timeout": httpx.Timeout(config.default_timeout),
    }


def _attempt_timeout(p: _core.Prepared, clock: _core.RetryClock) -> float:
    """The time an attempt may take: what is left of the call's timeout (at least 1 ms)."""
    left = clock.remaining()
    return p.timeout if left is None else max(0.001, min(p.timeout, left))


#: what a request on a closed transport says, unless its closer said why (``closed_why``)
CLOSED = "the transport is closed"


def _closed_error(endpoint: str, url: str | None = None, why: str = CLOSED) -> errors.TransportError:
    return errors.TransportError(f"{endpoint}: {why}", endpoint=endpoint, url=url, request_sent=False)


def refuse_closed(transport: HttpTransport | AsyncHttpTransport, what: str) -> None:
    """Raise what a request on ``transport`` would when it is closed (nothing loaded or sent first)."""
    if transport._closed:
        raise _closed_error(what, None, transport.closed_why)


def _no_turn(
    transport: HttpTransport | AsyncHttpTransport, what: str, timeout: float, url: str | None = None
) -> errors.TransportError:
    """Why a request got no connection: the transport closed, or none became free in time."""
    if transport._closed:
        return _closed_error(what, url, transport.closed_why)
    return errors.TimeoutError(
        f"{what}: no connection of the pool became free within {timeout:g}s (nothing was sent)",
        timeout=timeout,
        endpoint=what,
        url=url,
        request_sent=False,
    )


_STATED_TIMEOUT = _core.STATED_TIMEOUT

#: The transport whose connection turn the current thread/task holds (see ``reserve``).
_RESERVED: contextvars.ContextVar[object | None] = contextvars.ContextVar("hyperliquid_http_reserved", default=None)


@contextmanager
def _holding(transport: object, release: Callable[[], None]) -> Iterator[None]:
    """Mark the current thread/task as holding a turn of ``transport``; ``release`` it at the end."""
    token = _RESERVED.set(transport)
    try:
        yield
    finally:
        _RESERVED.reset(token)
        release()


class _Reservation:
    """``with transport.reserve(timeout, what, stated=...):`` — a turn of ``transport`` for this thread, and the
    timeout a timeout inside names (a class, not a generator: it is on every signed action's path)."""

    __slots__ = ("_stated", "_stated_token", "_timeout", "_token", "_transport", "_what")

    def __init__(self, transport: HttpTransport, timeout: float, what: str, stated: float | None) -> None:
        self._transport = transport
        self._timeout = timeout
        self._what = what
        self._stated = stated
        self._token: contextvars.Token[object | None] | None = None
        self._stated_token: contextvars.Token[float | None] | None = None

    def __enter__(self) -> None:
        transport = self._transport
        if _RESERVED.get() is not transport:  # (else this thread holds a turn already)
            if not transport._turns.acquire(self._timeout):
                raise _no_turn(transport, self._what, self._timeout)
            self._token = _RESERVED.set(transport)
        stated = self._stated
        if stated is not None and not _STATED_TIMEOUT.get():  # (_core.state_timeout in place)
            self._stated_token = _STATED_TIMEOUT.set(stated)

    def __exit__(self, *exc: object) -> None:
        stated = self._stated_token
        if stated is not None:
            self._stated_token = None
            _STATED_TIMEOUT.reset(stated)
        token = self._token
        if token is not None:
            self._token = None
            _RESERVED.reset(token)
            self._transport._turns.release()


class _Turns:
    """At most ``n`` holders at once; waiting ends at a timeout or when closed (thread-safe)."""

    def __init__(self, n: int) -> None:
        self._lock = threading.Lock()  # taken directly (a C call); the condition waits on it
        self._cond = threading.Condition(self._lock)
        self._free = n
        self._closed = False
        self._waiting = 0  # threads waiting for a turn (a release wakes one only when there are some)

    def acquire(self, timeout: float) -> bool:
        """True once a turn is ours; False at the timeout or when closed."""
        with self._lock:
            if self._free > 0 and not self._closed:  # a free turn: no waiting to set up
                self._free -= 1
                return True
            self._waiting += 1
            try:
                ok = self._cond.wait_for(lambda: self._free > 0 or self._closed, timeout)
            finally:
                self._waiting -= 1
            if not ok or self._closed:
                return False
            self._free -= 1
            return True

    def release(self) -> None:
        with self._lock:
            self._free += 1
            if self._waiting:
                self._cond.notify()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cond.notify_all()


class HttpTransport:
    """Synchronous JSON-over-HTTP transport (thread-safe; one connection pool per instance).

    Use as a context manager or call :meth:`close`.  ``events`` receives ``request.*`` events;
    when omitted a private :class:`EventBus` is created (reachable as :attr:`events`).
    """

    def __init__(
        self, config: TransportConfig | None = None, *, events: EventBus | None = None, gate: _core.Gate | None = None
    ) -> None:
        self.config = config if config is not None else TransportConfig()
        if not isinstance(self.config, TransportConfig):
            raise errors.ConfigError("config", f"must be a TransportConfig, got {type(config).__name__}")
        self.events = events if events is not None else EventBus()
        self.gate = gate
        self._rng = random.Random()
        _warn_if_insecure(self.config)
        self._pool: httpx.Client | None = None  # created on first use: building the TLS context takes ~20 ms
        self._pool_lock = threading.Lock()
        self._turns = _Turns(self.config.max_connections)
        self._closing = threading.Event()
        self._closed = False
        #: why requests are refused once closed (a client closed by its finalizer says so)
        self.closed_why = CLOSED

    @property
    def _client(self) -> httpx.Client:
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                pool = self._pool
                if pool is None:
                    if self._closed:
                        raise RuntimeError("client has been closed")
                    pool = httpx.Client(**_client_kwargs(self.config))
                    if not _deadline.install(pool):
                        log(
                            _logger, logging.DEBUG, "total-deadline socket wrapper unavailable; checking between chunks"
                        )
                    self._pool = pool
        return pool

    def request_json(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        context: str,
        endpoint: str,
        weight: int = 0,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_response_bytes: int | None = None,
    ) -> Any:
        """Send ``body`` as compact JSON and return the decoded JSON response (any value, even ``None``).

        ``timeout`` (seconds) is the total deadline of the call — every attempt and every wait between
        attempts ends by then — and defaults to ``config.default_timeout``;
        callers pass the most specific value (per call, else per endpoint).  ``retry`` defaults to
        ``config.retry`` for idempotent contexts and to no retry otherwise.  ``max_response_bytes``
        (default ``config.max_response_bytes``) bounds the response body.

        Raises :class:`~hyperliquid_client.runtime.errors.InvalidInputError` before sending on bad
        arguments; :class:`TransportError` (``request_sent`` tells whether the server may have seen
        it), :class:`TimeoutError`, :class:`RateLimitedError`, :class:`HTTPStatusError` or
        :class:`InvalidResponseError` after the last attempt, with the cause chained.
        """
        p = _core.prepare(
            self.config,
            method,
            url,
            body=body,
            context=context,
            endpoint=endpoint,
            weight=weight,
            timeout=timeout,
            retry=retry,
            max_response_bytes=max_response_bytes,
        )
        if self._closed:
            raise _closed_error(p.endpoint, p.url, self.closed_why)
        emitter = _core.Emitter(self.events, p)
        clock = _core.RetryClock(p.retry, self._rng, p.timeout)
        gate = self.gate
        while True:
            attempt = clock.next_attempt()
            ticket = gate.admit(p, clock.remaining()) if gate is not None else None
            emitter.start(attempt)
            started = time.monotonic()
            outcome = self._attempt_in_turn(p, _attempt_timeout(p, clock))
            _core.settle(gate, ticket, outcome)
            if not isinstance(outcome, _core.Failure):
                emitter.end(attempt, started, outcome[1], None)
                return outcome[0]
            emitter.end(attempt, started, outcome.status, outcome)
            decision = clock.next_delay(outcome)
            if decision is None:
                emitter.give_up(outcome, attempt)
                raise outcome.error
            delay, reason = decision
            emitter.retry(attempt + 1, delay, reason)
            if delay > 0:
                self._closing.wait(delay)  # closing the transport ends the wait
            if self._closed:
                raise outcome.error

    def reserve(self, timeout: float, what: str = "request", *, stated: float | None = None) -> _Reservation:
        """Hold one of the pool's connections for the requests made inside the block (``with``); a timeout inside
        names ``stated`` when given (the caller's whole timeout, of which requests get what is left), unless an
        outer caller stated one already.

        Waits at most ``timeout`` seconds for a turn (:class:`TimeoutError`, nothing sent) and
        raises :class:`TransportError` when the transport is closed.  Inside, requests of this
        thread go out at once: whatever is prepared inside the block (a nonce, a signature) is as
        fresh as it can be when it reaches the wire.
        """
        return _Reservation(self, timeout, what, stated)

    def _attempt_in_turn(self, p: _core.Prepared, timeout: float) -> _Result | _core.Failure:
        if _RESERVED.get() is self:
            return self._attempt(p, timeout)
        end = time.monotonic() + timeout
        if not self._turns.acquire(timeout):
            return _core.Failure(_no_turn(self, p.endpoint, timeout, p.url), retryable=False)
        try:
            return self._attempt(p, max(0.001, end - time.monotonic()))  # the wait counts
        finally:
            self._turns.release()

    def _attempt(self, p: _core.Prepared, timeout: float) -> _Result | _core.Failure:
        phase = _core.Phase.begin(timeout)
        limit = _core.BodyLimit(p)
        try:
            request = self._client.build_request(
                p.method,
                p.url,
                content=p.content,
                extensions={"timeout": phase.timeouts, "trace": phase.on_trace},
            )
            with _deadline.request_deadline(phase.deadline):
                response = self._client.send(request, stream=True)
                try:
                    too_large = limit.declared(response.headers)
                    if too_large is not None:
                        return too_large
                    chunks: list[bytes] = []
                    for chunk in response.iter_bytes():
                        chunks.append(chunk)
                        too_large = limit.feed(chunk)
                        if too_large is not None:
                            return too_large
                        if phase.refresh() <= 0:
                            return _core.timeout_failure(p, phase, None, connecting=False)
                finally:
                    response.close()
        except (httpx.HTTPError, OSError) as exc:
            return _core.map_exception(p, phase, exc)
        except RuntimeError as exc:  # httpx: "client has been closed" (closed from another thread)
            if self._closed:
                err = _closed_error(p.endpoint, p.url, self.closed_why)
                err.__cause__ = exc
                return _core.Failure(err)
            raise
        status = response.status_code
        value = _core.classify(p, status, response.headers, b"".join(chunks))
        return value if isinstance(value, _core.Failure) else (value, status)

    def close(self) -> None:
        """Close the connection pool at once; requests in flight or waiting, and later ones, raise
        :class:`TransportError` (nothing here waits for the network)."""
        self._closed = True
        self._closing.set()
        self._turns.close()
        with self._pool_lock:
            pool = self._pool
        if pool is not None:
            _deadline.abort(pool)
            pool.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpTransport(closed={self._closed}, default_timeout={self.config.default_timeout:g})"


class AsyncHttpTransport:
    """Asynchronous JSON-over-HTTP transport (one :class:`httpx.AsyncClient` per instance).

    Same contract as :class:`HttpTransport`; waits use :func:`asyncio.sleep` and never block the
    event loop.  Use ``async with`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        config: TransportConfig | None = None,
        *,
        events: EventBus | None = None,
        gate: _core.Gate | None = None,
        bound: LoopBound | None = None,
    ) -> None:
        self.config = config if config is not None else TransportConfig()
        if not isinstance(self.config, TransportConfig):
            raise errors.ConfigError("config", f"must be a TransportConfig, got {type(config).__name__}")
        self.events = events if events is not None else EventBus()
        self.gate = gate
        #: the event loop the pool belongs to (its owner's, e.g. the AsyncClient's): the first one used
        self.bound = bound if bound is not None else LoopBound("AsyncHttpTransport")
        self._rng = random.Random()
        _warn_if_insecure(self.config)
        # created on first use, in a worker thread: building the TLS context takes ~20 ms of CPU,
        # which must neither delay start-up nor block the event loop
        self._pool: httpx.AsyncClient | None = None
        self._pool_future: asyncio.Future[httpx.AsyncClient] | None = None
        self._turns = asyncio.Semaphore(self.config.max_connections)
        self._closed = False
        #: why requests are refused once closed
        self.closed_why = CLOSED

    async def _open_pool(self) -> httpx.AsyncClient | None:
        if self._pool is not None:
            return self._pool
        if self._pool_future is None:
            self._pool_future = asyncio.ensure_future(
                asyncio.to_thread(lambda: httpx.AsyncClient(**_client_kwargs(self.config)))
            )
        pool = await asyncio.shield(self._pool_future)
        if self._closed:  # closed while the pool was being built: it never serves (and holds no socket)
            return None
        self._pool = pool
        return pool

    @property
    def _client(self) -> httpx.AsyncClient:
        assert self._pool is not None, "the pool is opened by _open_pool() before use"
        return self._pool

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        context: str,
        endpoint: str,
        weight: int = 0,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_response_bytes: int | None = None,
    ) -> Any:
        """Async twin of :meth:`HttpTransport.request_json` (same arguments, result and errors)."""
        self.bound.check()
        p = _core.prepare(
            self.config,
            method,
            url,
            body=body,
            context=context,
            endpoint=endpoint,
            weight=weight,
            timeout=timeout,
            retry=retry,
            max_response_bytes=max_response_bytes,
        )
        if self._closed:
            raise _closed_error(p.endpoint, p.url, self.closed_why)
        emitter = _core.Emitter(self.events, p)
        clock = _core.RetryClock(p.retry, self._rng, p.timeout)
        gate = self.gate
        while True:
            attempt = clock.next_attempt()
            ticket = await gate.aadmit(p, clock.remaining()) if gate is not None else None
            emitter.start(attempt)
            started = time.monotonic()
            outcome = await self._attempt_in_turn(p, _attempt_timeout(p, clock))
            _core.settle(gate, ticket, outcome)
            if not isinstance(outcome, _core.Failure):
                emitter.end(attempt, started, outcome[1], None)
                return outcome[0]
            emitter.end(attempt, started, outcome.status, outcome)
            decision = clock.next_delay(outcome)
            if decision is None:
                emitter.give_up(outcome, attempt)
                raise outcome.error
            delay, reason = decision
            emitter.retry(attempt + 1, delay, reason)
            await asyncio.sleep(delay)
            if self._closed:
                raise outcome.error

    async def _acquire(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._turns.acquire()
        except TimeoutError:  # the builtin, from asyncio.timeout
            return False
        if self._closed:  # woken by a request that failed because the pool closed
            self._turns.release()
            return False
        return True

    @asynccontextmanager
    async def reserve(
        self, timeout: float, what: str = "request", *, stated: float | None = None
    ) -> AsyncIterator[None]:
        """Async :meth:`HttpTransport.reserve` (the turn belongs to the current task)."""
        self.bound.check()
        held = _RESERVED.get() is self
        if not held and (self._closed or not await self._acquire(timeout)):
            raise _no_turn(self, what, timeout)
        token = _core.state_timeout(stated)
        try:
            if held:
                yield
            else:
                with _holding(self, self._turns.release):
                    yield
        finally:
            if token is not None:
                _core.STATED_TIMEOUT.reset(token)

    async def _attempt_in_turn(self, p: _core.Prepared, timeout: float) -> _Result | _core.Failure:
        if _RESERVED.get() is self:
            return await self._attempt(p, timeout)
        end = time.monotonic() + timeout
        if not await self._acquire(timeout):
            return _core.Failure(_no_turn(self, p.endpoint, timeout, p.url), retryable=False)
        try:
            return await self._attempt(p, max(0.001, end - time.monotonic()))  # the wait counts
        finally:
            self._turns.release()

    async def _attempt(self, p: _core.Prepared, timeout: float) -> _Result | _core.Failure:
        if self._closed or await self._open_pool() is None:
            return _core.Failure(_closed_error(p.endpoint, p.url, self.closed_why), retryable=False)
        phase = _core.Phase.begin(timeout)
        limit = _core.BodyLimit(p)

        async def trace(name: str, info: dict[str, Any]) -> None:
            phase.on_trace(name, info)

        try:
            async with asyncio.timeout(timeout):
                request = self._client.build_request(
                    p.method,
                    p.url,
                    content=p.content,
                    extensions={"timeout": phase.timeouts, "trace": trace},
                )
                response = await self._client.send(request, stream=True)
                try:
                    too_large = limit.declared(response.headers)
                    if too_large is not None:
                        return too_large
                    chunks: list[bytes] = []
                    async for chunk in response.aiter_bytes():
                        chunks.append(chunk)
                        too_large = limit.feed(chunk)
                        if too_large is not None:
                            return too_large
                        if phase.refresh() <= 0:
                            return _core.timeout_failure(p, phase, None, connecting=False)
                finally:
                    await response.aclose()
        except TimeoutError as exc:  # the builtin: raised by asyncio.timeout at the deadline
            return _core.timeout_failure(p, phase, exc, connecting=False)
        except (httpx.HTTPError, OSError) as exc:
            return _core.map_exception(p, phase, exc)
        except RuntimeError as exc:  # httpx: "client has been closed"
            if self._closed:
                err = _closed_error(p.endpoint, p.url, self.closed_why)
                err.__cause__ = exc
                return _core.Failure(err)
            raise
        status = response.status_code
        value = _core.classify(p, status, response.headers, b"".join(chunks))
        return value if isinstance(value, _core.Failure) else (value, status)

    async def aclose(self) -> None:
        """Close the connection pool; requests in flight and later ones raise :class:`TransportError`."""
        self._closed = True
        if self._pool is not None:  # a pool still being built is dropped unused (see _open_pool)
            await self._pool.aclose()

    async def __aenter__(self) -> AsyncHttpTransport:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncHttpTransport(closed={self._closed}, default_timeout={self.config.default_timeout:g})"
