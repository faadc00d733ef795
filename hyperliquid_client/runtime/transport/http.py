"""HTTP transports: one pooled httpx client per instance, total deadlines, safe retries, events.

:class:`HttpTransport` (sync) and :class:`AsyncHttpTransport` (async) share every decision with
:mod:`hyperliquid_client.runtime.transport._core`; only the I/O differs.

Timeouts are a **total deadline** per attempt (connect + send + headers + the whole body), not
httpx's per-read timeout, so a server that drips bytes still times out at the deadline:

* async: the attempt runs inside :func:`asyncio.timeout`;
* sync: every socket operation is capped at the time left (see ``_deadline``), httpx's
  per-operation timeouts are refreshed to the time left before each operation, and the deadline is
  checked between body chunks.  (DNS resolution in the sync transport is a blocking
  ``getaddrinfo`` call that no timeout can interrupt.)

Timeouts are not retried: the timeout is the caller's budget for one call.

Retries follow :mod:`hyperliquid_client.runtime.transport.policy`: idempotent contexts (``info``,
``explorer``, ``stats``) use ``config.retry`` unless a policy is passed; any other context
(``exchange``) defaults to :data:`RetryPolicy.NO_RETRY`.  Connection errors, 429 and 5xx are
retried with full-jitter exponential backoff honouring ``Retry-After``; timeouts are not retried.

Events per attempt: ``request.start`` and ``request.end``; ``request.retry`` before each retry
(its ``attempt`` is the number of the attempt about to be made).  Nothing secret is emitted or
logged: request bodies never appear in events, logs or exception messages.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from types import TracebackType
from typing import Any

import httpx

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
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


def _client_kwargs(config: TransportConfig) -> dict[str, Any]:
    return {
        "verify": config.verify_tls,
        "http1": True,
        "http2": False,
        "follow_redirects": False,
        "headers": _core.build_headers(config),
        "limits": httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.keepalive,
            keepalive_expiry=30.0,
        ),
        "timeout": httpx.Timeout(config.default_timeout),
    }


def _attempt_timeout(p: _core.Prepared, clock: _core.RetryClock) -> float:
    """The time an attempt may take: what is left of the call's timeout (at least 1 ms)."""
    left = clock.remaining()
    return p.timeout if left is None else max(0.001, min(p.timeout, left))


def _closed_error(endpoint: str, url: str) -> errors.TransportError:
    return errors.TransportError(f"{endpoint}: the transport is closed", endpoint=endpoint, url=url, request_sent=False)


class HttpTransport:
    """Synchronous JSON-over-HTTP transport (thread-safe; one connection pool per instance).

    Use as a context manager or call :meth:`close`.  ``events`` receives ``request.*`` events;
    when omitted a private :class:`EventBus` is created (reachable as :attr:`events`).
    """

    def __init__(self, config: TransportConfig | None = None, *, events: EventBus | None = None) -> None:
        self.config = config if config is not None else TransportConfig()
        if not isinstance(self.config, TransportConfig):
            raise errors.ConfigError("config", f"must be a TransportConfig, got {type(config).__name__}")
        self.events = events if events is not None else EventBus()
        self._rng = random.Random()
        _warn_if_insecure(self.config)
        self._pool: httpx.Client | None = None  # created on first use: building the TLS context takes ~20 ms
        self._pool_lock = threading.Lock()
        self._closed = False

    @property
    def _client(self) -> httpx.Client:
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                pool = self._pool
                if pool is None:
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
    ) -> Any:
        """Send ``body`` as compact JSON and return the decoded JSON response (any value, even ``None``).

        ``timeout`` (seconds) is the total deadline of the call — every attempt and every wait between
        attempts ends by then — and defaults to ``config.default_timeout``;
        callers pass the most specific value (per call, else per endpoint).  ``retry`` defaults to
        ``config.retry`` for idempotent contexts and to no retry otherwise.

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
        )
        if self._closed:
            raise _closed_error(p.endpoint, p.url)
        emitter = _core.Emitter(self.events, p)
        clock = _core.RetryClock(p.retry, self._rng, p.timeout)
        while True:
            attempt = clock.next_attempt()
            emitter.start(attempt)
            started = time.monotonic()
            outcome = self._attempt(p, _attempt_timeout(p, clock))
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
                time.sleep(delay)
            if self._closed:
                raise outcome.error

    def _attempt(self, p: _core.Prepared, timeout: float) -> _Result | _core.Failure:
        phase = _core.Phase.begin(timeout)
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
                    chunks: list[bytes] = []
                    for chunk in response.iter_bytes():
                        chunks.append(chunk)
                        if phase.refresh() <= 0:
                            return _core.timeout_failure(p, phase, None, connecting=False)
                finally:
                    response.close()
        except (httpx.HTTPError, OSError) as exc:
            return _core.map_exception(p, phase, exc)
        except RuntimeError as exc:  # httpx: "client has been closed" (closed from another thread)
            if self._client.is_closed:
                err = _closed_error(p.endpoint, p.url)
                err.__cause__ = exc
                return _core.Failure(err)
            raise
        status = response.status_code
        value = _core.classify(p, status, response.headers, b"".join(chunks))
        return value if isinstance(value, _core.Failure) else (value, status)

    def close(self) -> None:
        """Close the connection pool; later requests raise :class:`TransportError`."""
        self._closed = True
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()

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

    def __init__(self, config: TransportConfig | None = None, *, events: EventBus | None = None) -> None:
        self.config = config if config is not None else TransportConfig()
        if not isinstance(self.config, TransportConfig):
            raise errors.ConfigError("config", f"must be a TransportConfig, got {type(config).__name__}")
        self.events = events if events is not None else EventBus()
        self._rng = random.Random()
        _warn_if_insecure(self.config)
        # created on first use, in a worker thread: building the TLS context takes ~20 ms of CPU,
        # which must neither delay start-up nor block the event loop
        self._pool: httpx.AsyncClient | None = None
        self._pool_future: asyncio.Future[httpx.AsyncClient] | None = None
        self._closed = False

    async def _open_pool(self) -> httpx.AsyncClient:
        if self._pool is not None:
            return self._pool
        if self._pool_future is None:
            self._pool_future = asyncio.ensure_future(
                asyncio.to_thread(lambda: httpx.AsyncClient(**_client_kwargs(self.config)))
            )
        pool = await asyncio.shield(self._pool_future)
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
    ) -> Any:
        """Async twin of :meth:`HttpTransport.request_json` (same arguments, result and errors)."""
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
        )
        if self._closed:
            raise _closed_error(p.endpoint, p.url)
        emitter = _core.Emitter(self.events, p)
        clock = _core.RetryClock(p.retry, self._rng, p.timeout)
        while True:
            attempt = clock.next_attempt()
            emitter.start(attempt)
            started = time.monotonic()
            outcome = await self._attempt(p, _attempt_timeout(p, clock))
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

    async def _attempt(self, p: _core.Prepared, timeout: float) -> _Result | _core.Failure:
        await self._open_pool()
        phase = _core.Phase.begin(timeout)

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
                    chunks: list[bytes] = []
                    async for chunk in response.aiter_bytes():
                        chunks.append(chunk)
                        if phase.refresh() <= 0:
                            return _core.timeout_failure(p, phase, None, connecting=False)
                finally:
                    await response.aclose()
        except TimeoutError as exc:  # the builtin: raised by asyncio.timeout at the deadline
            return _core.timeout_failure(p, phase, exc, connecting=False)
        except (httpx.HTTPError, OSError) as exc:
            return _core.map_exception(p, phase, exc)
        except RuntimeError as exc:  # httpx: "client has been closed"
            if self._client.is_closed:
                err = _closed_error(p.endpoint, p.url)
                err.__cause__ = exc
                return _core.Failure(err)
            raise
        status = response.status_code
        value = _core.classify(p, status, response.headers, b"".join(chunks))
        return value if isinstance(value, _core.Failure) else (value, status)

    async def aclose(self) -> None:
        """Close the connection pool; later requests raise :class:`TransportError`."""
        self._closed = True
        if self._pool is None and self._pool_future is not None:
            try:
                self._pool = await self._pool_future
            except Exception:  # the pool never opened: nothing to close
                return
        if self._pool is not None:
            await self._pool.aclose()

    async def __aenter__(self) -> AsyncHttpTransport:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncHttpTransport(closed={self._closed}, default_timeout={self.config.default_timeout:g})"
