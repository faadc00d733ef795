"""Sans-I/O pieces shared by the sync and async transports.

Request preparation and validation, body encoding, response classification, the mapping of
httpx exceptions to :mod:`hyperliquid_client.runtime.errors`, ``Retry-After`` parsing, the retry
decision and event/log emission.  Nothing here touches a socket or sleeps.
"""

from __future__ import annotations

import contextvars
import dataclasses
import decimal
import email.utils
import json
import math
import re
import ssl
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.record import frozen
from hyperliquid_client.runtime.transport.policy import RandomSource, RetryPolicy, TransportConfig

_logger = get_logger("hyperliquid_client.transport")

#: Contexts whose requests are idempotent reads: retried with ``config.retry`` unless told otherwise.
IDEMPOTENT_CONTEXTS: frozenset[str] = frozenset({"info", "explorer", "stats"})

_METHODS = frozenset({"GET", "POST"})
_DEBUG = 10


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError("non-finite Decimal")
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_body(body: Any) -> bytes | None:
    """Compact JSON bytes of ``body`` (``Decimal`` as a string); ``None`` means no body.

    Raises :class:`InvalidInputError` (without echoing the body) when it is not JSON-encodable.
    """
    if body is None:
        return None
    try:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default)
    except (TypeError, ValueError, RecursionError) as exc:
        raise errors.InvalidInputError(
            "body", "a JSON-serializable value (dict/list/str/int/float/bool/None/Decimal)", detail=str(exc)[:120]
        ) from exc
    return text.encode("utf-8")


#: the timeout the caller gave (or the endpoint's / the default), set by a caller that hands the transport
#: only what is left of it (the exchange sender): a timeout's message names it, not the remainder
STATED_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "hyperliquid_stated_timeout", default=None
)


def state_timeout(timeout: float | None) -> contextvars.Token[float | None] | None:
    """From now on (until the token is reset), a timeout names ``timeout`` — unless it is ``None`` or an outer
    caller stated one already (then nothing is set and ``None`` returned)."""
    if timeout is None or STATED_TIMEOUT.get():
        return None
    return STATED_TIMEOUT.set(timeout)


def validate_timeout(timeout: float | None, default: float) -> float:
    """The effective timeout in seconds (``None`` → ``default``), validated."""
    if timeout is None:
        return default
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not math.isfinite(timeout) or timeout <= 0:
        raise errors.InvalidInputError("timeout", "a finite number of seconds > 0", timeout)
    return float(timeout)


@frozen
class Prepared:
    """A validated request, ready to be sent any number of times."""

    method: str
    url: str
    content: bytes | None
    context: str
    endpoint: str
    weight: int
    timeout: float
    retry: RetryPolicy
    #: the most bytes the (decoded) response body may have
    max_bytes: int


def prepare(
    config: TransportConfig,
    method: str,
    url: str,
    *,
    body: Any,
    context: str,
    endpoint: str,
    weight: int,
    timeout: float | None,
    retry: RetryPolicy | None,
    max_response_bytes: int | None = None,
) -> Prepared:
    """Validate the arguments of ``request_json`` and encode the body (nothing is sent)."""
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise errors.InvalidInputError("method", "'GET' or 'POST'", method)
    method = method.upper()
    if not isinstance(url, str):
        raise errors.InvalidInputError("url", "an http(s) URL string", url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidInputError("url", "an absolute http:// or https:// URL", url)
    if not isinstance(context, str) or not context:
        raise errors.InvalidInputError("context", "a non-empty string (info, exchange, explorer, stats)", context)
    if not isinstance(endpoint, str) or not endpoint:
        raise errors.InvalidInputError("endpoint", "a non-empty string", endpoint)
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
        raise errors.InvalidInputError("weight", "an integer >= 0", weight)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise errors.InvalidInputError("retry", "a RetryPolicy or None", type(retry).__name__)
    if max_response_bytes is None:
        max_response_bytes = config.max_response_bytes
    elif not isinstance(max_response_bytes, int) or isinstance(max_response_bytes, bool) or max_response_bytes < 1:
        raise errors.InvalidInputError("max_response_bytes", "an integer >= 1 or None", max_response_bytes)
    effective_timeout = validate_timeout(timeout, config.default_timeout)
    if method == "GET" and body is not None:
        raise errors.InvalidInputError("body", "None for GET requests", type(body).__name__)
    content = encode_body(body)
    if retry is None:
        retry = config.retry if context in IDEMPOTENT_CONTEXTS else RetryPolicy.NO_RETRY
    return Prepared(method, url, content, context, endpoint, weight, effective_timeout, retry, max_response_bytes)


def build_headers(config: TransportConfig) -> dict[str, str]:
    """Default headers of every request of a transport."""
    return {"User-Agent": config.user_agent, "Content-Type": "application/json", "Accept": "application/json"}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; ``None`` if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with a missing zone
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclasses.dataclass(slots=True, weakref_slot=True)
class Phase:
    """Progress and deadline of one attempt, updated from httpx's ``trace`` extension.

    ``timeouts`` is the very dict handed to httpx as the request's ``timeout`` extension: httpcore
    reads it at the start of every operation (connect, each write, each read), so refreshing it
    with the time left makes each operation end at the attempt's deadline, not one timeout later.
    """

    deadline: float
    timeouts: dict[str, float]
    sent: bool = False

    @classmethod
    def begin(cls, timeout: float) -> Phase:
        """A new attempt with ``timeout`` seconds from now."""
        return cls(time.monotonic() + timeout, timeout_dict(timeout))

    def remaining(self) -> float:
        """Seconds left before the deadline (may be negative)."""
        return self.deadline - time.monotonic()

    def refresh(self) -> float:
        """Set every httpx per-operation timeout to the time left; return it."""
        left = self.deadline - time.monotonic()
        r = max(left, 0.001)
        t = self.timeouts
        t["connect"] = t["read"] = t["write"] = t["pool"] = r
        return left

    def on_trace(self, name: str, info: Mapping[str, Any]) -> None:
        """httpx trace hook: track whether the request went out; keep timeouts on the deadline."""
        if not self.sent and "send_request_headers" in name:
            self.sent = True
        if name.endswith(".started"):
            self.refresh()


@frozen
class Failure:
    """One failed attempt: the error to raise and what the retry logic needs to know."""

    error: errors.HyperliquidError
    status: int | None = None
    retry_after: float | None = None
    #: False when another attempt cannot help (a certificate the server will keep presenting)
    retryable: bool = True


_TAG = re.compile(r"<[^>]*>")
_SUMMARY_LINE = 120


def summarize_body(content: bytes, content_type: str | None) -> str:
    """A one-line description of a body for an error message: never the whole of it.

    JSON and plain text: the text itself (shortened).  Anything else (an HTML error page from a
    proxy or a CDN): content type, size and the first line that has text once tags are removed
    (``text/html, 5,412 bytes: 502 Bad Gateway``).
    """
    kind = (content_type or "").split(";")[0].strip().lower()
    text = content[:4096].decode("utf-8", "replace")
    looks_html = "html" in kind or "xml" in kind or text.lstrip()[:1] == "<"
    if not looks_html:
        return text if len(text) <= _SUMMARY_LINE else text[:_SUMMARY_LINE] + "…"
    first = ""
    for line in _TAG.sub("\n", text).splitlines():
        first = " ".join(line.split())
        if first:
            break
    if len(first) > _SUMMARY_LINE:
        first = first[:_SUMMARY_LINE] + "…"
    head = f"{kind or 'no content type'}, {len(content):,} bytes"
    return f"{head}: {first}" if first else head


def classify(prepared: Prepared, status: int, headers: httpx.Headers, content: bytes) -> Any | Failure:
    """Decode a complete response: the JSON value, or a :class:`Failure` for non-2xx / bad JSON."""
    content_type = headers.get("content-type")
    if 200 <= status < 300:
        try:
            return json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            err = errors.InvalidResponseError(
                "$", "JSON", summarize_body(content, content_type), endpoint=prepared.endpoint
            )
            err.__cause__ = exc
            return Failure(err, status)
    retry_after = parse_retry_after(headers.get("retry-after"))
    summary = summarize_body(content, content_type) if content else None
    if status == 429:
        return Failure(
            errors.RateLimitedError(
                retry_after=retry_after, body=summary, endpoint=prepared.endpoint, url=prepared.url
            ),
            status,
            retry_after,
        )
    location = headers.get("location") if 300 <= status < 400 else None
    if location is not None:
        summary = f"redirected to {location[:300]} (redirects are not followed: use that URL)"
    return Failure(
        errors.HTTPStatusError(status, body=summary, endpoint=prepared.endpoint, url=prepared.url, location=location),
        status,
        retry_after,
    )


class BodyLimit:
    """Counts the bytes of a response body and refuses it past ``prepared.max_bytes``."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.received = 0

    def declared(self, headers: httpx.Headers) -> Failure | None:
        """A failure before reading anything when ``Content-Length`` already exceeds the limit."""
        value = headers.get("content-length")
        if value is not None and value.strip().isdigit() and int(value) > self.prepared.max_bytes:
            return self._failure(f"a declared Content-Length of {int(value):,} bytes")
        return None

    def feed(self, chunk: bytes) -> Failure | None:
        """Count ``chunk``; a failure as soon as the body passes the limit (stop reading then)."""
        self.received += len(chunk)
        if self.received > self.prepared.max_bytes:
            return self._failure(f"more than {self.prepared.max_bytes:,} bytes (aborted after {self.received:,})")
        return None

    def _failure(self, got: str) -> Failure:
        p = self.prepared
        err = errors.InvalidResponseError(
            "$",
            f"a body of at most {p.max_bytes:,} bytes (the response size limit of {p.endpoint}; "
            "raise TransportConfig.max_response_bytes if the answer is legitimately larger)",
            got,
            endpoint=p.endpoint,
        )
        return Failure(err, retryable=False)


def timeout_failure(prepared: Prepared, phase: Phase, cause: BaseException | None, *, connecting: bool) -> Failure:
    """The :class:`TimeoutError` of an attempt that hit its deadline."""
    sent = phase.sent and not connecting
    where = "while sending/awaiting the response" if sent else "before the request was sent"
    stated = STATED_TIMEOUT.get()
    err = errors.TimeoutError(
        f"{prepared.endpoint}: no complete response within {stated if stated is not None else prepared.timeout:g}s "
        f"({where})",
        timeout=prepared.timeout,
        endpoint=prepared.endpoint,
        url=prepared.url,
        request_sent=sent,
    )
    if cause is not None:
        err.__cause__ = cause
    return Failure(err)


def map_exception(prepared: Prepared, phase: Phase, exc: Exception) -> Failure:
    """Map an httpx (or OS) exception of one attempt to a library error, cause chained."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return timeout_failure(prepared, phase, exc, connecting=True)
    if isinstance(exc, httpx.TimeoutException):
        return timeout_failure(prepared, phase, exc, connecting=False)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    err: errors.HyperliquidError
    certificate = _certificate_error(exc)  # the server would present the same one again: not retried
    if certificate is not None or isinstance(exc, httpx.ConnectError | httpx.ProxyError | httpx.UnsupportedProtocol):
        why = f"TLS certificate verification failed ({certificate}); not retried" if certificate else detail
        err = errors.TransportError(
            f"{prepared.endpoint}: could not connect ({why})",
            endpoint=prepared.endpoint,
            url=prepared.url,
            request_sent=False,
        )
    elif isinstance(exc, httpx.DecodingError):
        err = errors.InvalidResponseError("$", "a decodable response body", endpoint=prepared.endpoint)
    else:
        sent = phase.sent
        what = "connection lost after the request was sent" if sent else "connection failed before sending"
        err = errors.TransportError(
            f"{prepared.endpoint}: {what} ({detail})",
            endpoint=prepared.endpoint,
            url=prepared.url,
            request_sent=sent,
        )
    err.__cause__ = exc
    return Failure(err, retryable=certificate is None)


def _certificate_error(exc: BaseException) -> str | None:
    """The reason when ``exc`` (or its cause) is a refused TLS certificate, else ``None``."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def retry_reason(failure: Failure, policy: RetryPolicy) -> str | None:
    """Why ``failure`` may be retried under ``policy``, or ``None`` when it must not be."""
    err = failure.error
    if not failure.retryable:
        return None
    if isinstance(err, errors.TimeoutError):
        return None  # the timeout is the caller's budget; see policy module docs
    if isinstance(err, errors.HTTPStatusError):
        return f"status {err.status}" if err.status in policy.retry_statuses else None
    if isinstance(err, errors.TransportError):
        return type(err.__cause__).__name__ if err.__cause__ is not None else "TransportError"
    return None


class RetryClock:
    """Tracks attempts and elapsed time of one logical request; decides the next wait."""

    def __init__(self, policy: RetryPolicy, rng: RandomSource, budget: float | None = None) -> None:
        self.policy = policy
        self.rng = rng
        self.attempt = 0
        self.started = time.monotonic()
        #: the caller's timeout: the whole call (attempts and waits between them) ends by then
        self.budget = budget

    def remaining(self) -> float | None:
        """Seconds left of the call's budget (``None`` without one)."""
        if self.budget is None:
            return None
        return self.budget - (time.monotonic() - self.started)

    def next_attempt(self) -> int:
        """Count a new attempt and return its 1-based number."""
        self.attempt += 1
        return self.attempt

    def next_delay(self, failure: Failure) -> tuple[float, str] | None:
        """``(delay, reason)`` before the next attempt, or ``None`` to give up with ``failure``."""
        policy = self.policy
        if self.attempt >= policy.max_attempts:
            return None
        reason = retry_reason(failure, policy)
        if reason is None:
            return None
        delay = policy.delay(self.attempt, failure.retry_after, self.rng)
        elapsed = time.monotonic() - self.started
        if elapsed + delay > policy.max_elapsed:
            return None
        if self.budget is not None and elapsed + delay >= self.budget:
            return None  # no time left for another attempt within the caller's timeout
        return delay, reason


class Emitter:
    """Events and debug logs of one logical request (guarded so idle hooks cost almost nothing)."""

    def __init__(self, events: EventBus, prepared: Prepared) -> None:
        self.events = events
        self.p = prepared

    def start(self, attempt: int) -> None:
        """``request.start`` for ``attempt``."""
        p = self.p
        if self.events.wants("request.start"):
            self.events.emit(
                "request.start", context=p.context, endpoint=p.endpoint, weight=p.weight, attempt=attempt, url=p.url
            )
        if _logger.isEnabledFor(_DEBUG):
            log(_logger, _DEBUG, "request start", context=p.context, endpoint=p.endpoint, attempt=attempt)

    def end(self, attempt: int, started: float, status: int | None, failure: Failure | None) -> None:
        """``request.end`` for ``attempt`` (``failure`` is ``None`` on success)."""
        p = self.p
        duration = time.monotonic() - started
        error = type(failure.error).__name__ if failure is not None else None
        if self.events.wants("request.end"):
            self.events.emit(
                "request.end",
                context=p.context,
                endpoint=p.endpoint,
                weight=p.weight,
                attempt=attempt,
                status=status,
                duration=duration,
                ok=failure is None,
                error=error,
            )
        if _logger.isEnabledFor(_DEBUG):
            log(
                _logger,
                _DEBUG,
                "request end",
                context=p.context,
                endpoint=p.endpoint,
                attempt=attempt,
                status=status,
                duration=round(duration, 6),
                ok=failure is None,
                error=error,
            )

    def retry(self, next_attempt: int, delay: float, reason: str) -> None:
        """``request.retry``: attempt ``next_attempt`` will start after ``delay`` seconds."""
        p = self.p
        if self.events.wants("request.retry"):
            self.events.emit(
                "request.retry",
                context=p.context,
                endpoint=p.endpoint,
                weight=p.weight,
                attempt=next_attempt,
                delay=delay,
                reason=reason,
            )
        if _logger.isEnabledFor(_DEBUG):
            log(
                _logger,
                _DEBUG,
                "request retry",
                context=p.context,
                endpoint=p.endpoint,
                attempt=next_attempt,
                delay=round(delay, 6),
                reason=reason,
            )

    def give_up(self, failure: Failure, attempts: int) -> None:
        """Annotate and log the error that ends the request."""
        if attempts > 1:
            failure.error.add_note(f"gave up after {attempts} attempts")
        if _logger.isEnabledFor(_DEBUG):
            log(
                _logger,
                _DEBUG,
                "request failed",
                context=self.p.context,
                endpoint=self.p.endpoint,
                attempts=attempts,
                error=type(failure.error).__name__,
            )


class Gate(Protocol):
    """What a transport asks before and tells after each attempt (the client's rate limiter).

    ``admit`` / ``aadmit`` return a ticket once the attempt may go (waiting at most ``remaining``
    seconds) or raise (:class:`~hyperliquid_client.runtime.errors.RateLimitedError`,
    :class:`~hyperliquid_client.runtime.errors.CircuitOpenError`); ``settle`` gets the outcome.
    """

    def admit(self, request: Prepared, remaining: float | None) -> Any:
        """Block until ``request`` may be sent; return a ticket for :meth:`settle`."""
        ...

    async def aadmit(self, request: Prepared, remaining: float | None) -> Any:
        """Async :meth:`admit`."""
        ...

    def settle(
        self,
        ticket: Any,
        *,
        status: int | None,
        value: Any = None,
        error: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        """The outcome of the attempt of ``ticket``."""
        ...


def settle(gate: Gate | None, ticket: Any, outcome: tuple[Any, int] | Failure) -> None:
    """Tell ``gate`` (if any) how the attempt of ``ticket`` ended."""
    if gate is None:
        return
    if isinstance(outcome, Failure):
        gate.settle(ticket, status=outcome.status, error=outcome.error, retry_after=outcome.retry_after)
    else:
        gate.settle(ticket, status=outcome[1], value=outcome[0])


def status_of(failure: Failure | None, status: int | None) -> int | None:
    """The HTTP status to report in ``request.end``."""
    if failure is not None and failure.status is not None:
        return failure.status
    return status


def timeout_dict(remaining: float) -> dict[str, float]:
    """httpx per-operation timeouts all set to the remaining time of the deadline."""
    r = max(remaining, 0.001)
    return {"connect": r, "read": r, "write": r, "pool": r}
