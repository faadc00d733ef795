"""HTTP transports (sync and async) against real local servers on 127.0.0.1, port 0.

The raw socket server below scripts the faults the transport must survive (hang, drip, close mid
body, status codes, Retry-After) and records every request it received, so attempts are counted
from what the server saw, not from our own bookkeeping.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport, RetryPolicy, TransportConfig

MARGIN = 0.5  # allowed lateness of a timeout, seconds
FAST = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.05, jitter=True)


# --------------------------------------------------------------------------------------------
# A scripted raw HTTP/1.1 server
# --------------------------------------------------------------------------------------------


@attrs.frozen
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float
    connection: int


def _json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    reason = {200: "OK", 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error"}
    lines = [f"HTTP/1.1 {status} {reason.get(status, 'Status')}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


Action = Callable[[socket.socket, "RawServer"], bool]  # returns False to close the connection


def respond(status: int = 200, body: bytes = b"{}", headers: dict[str, str] | None = None) -> Action:
    def act(conn: socket.socket, server: RawServer) -> bool:
        conn.sendall(_json_response(status, body, headers))
        return True

    return act


def latency(seconds: float, body: bytes = b'"late"', status: int = 200) -> Action:
    def act(conn: socket.socket, server: RawServer) -> bool:
        if server.stopping.wait(seconds):
            return False
        conn.sendall(_json_response(status, body))
        return True

    return act


def hang() -> Action:
    def act(conn: socket.socket, server: RawServer) -> bool:
        server.stopping.wait()
        return False

    return act


def drip(interval: float, size: int = 200) -> Action:
    """Headers at once, then one body byte every ``interval`` seconds."""

    def act(conn: socket.socket, server: RawServer) -> bool:
        body = b'"' + b"x" * (size - 2) + b'"'
        conn.sendall(_json_response(200, b"", None).replace(b"Content-Length: 0", f"Content-Length: {size}".encode()))
        for i in range(size):
            if server.stopping.wait(interval):
                return False
            try:
                conn.sendall(body[i : i + 1])
            except OSError:
                return False
        return True

    return act


def close_mid_body() -> Action:
    def act(conn: socket.socket, server: RawServer) -> bool:
        full = _json_response(200, b'{"levels":[[1,2,3],[4,5,6]],"padding":"' + b"p" * 100 + b'"}')
        conn.sendall(full[: len(full) - 60])
        return False

    return act


class RawServer:
    """Threaded HTTP/1.1 server on 127.0.0.1:0 running one scripted action per request."""

    def __init__(self, default: Action | None = None) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)  # so the accept loop notices stop() promptly
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.script: collections.deque[Action] = collections.deque()
        self.default = default or respond(200, b'{"ok":true}')
        self.requests: list[Seen] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    def then(self, *actions: Action) -> RawServer:
        self.script.extend(actions)
        return self

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self.connections += 1
                cid = self.connections
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn, cid), daemon=True)
            t.start()
            self._threads.append(t)

    def _read_request(self, conn: socket.socket, buf: bytearray) -> Seen | None:
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        length = int(headers.get("content-length", "0"))
        body = bytearray(rest)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
        buf[:] = body[length:]
        return Seen(method, path, headers, bytes(body[:length]), time.monotonic(), 0)

    def _serve(self, conn: socket.socket, cid: int) -> None:
        buf = bytearray()
        try:
            while not self.stopping.is_set():
                seen = self._read_request(conn, buf)
                if seen is None:
                    return
                with self._lock:
                    self.requests.append(attrs.evolve(seen, connection=cid))
                    action = self.script.popleft() if self.script else self.default
                if not action(conn, self):
                    return
        except OSError:
            return
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=2)


@pytest.fixture
def server() -> Iterator[RawServer]:
    s = RawServer()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connection refused
    return f"http://127.0.0.1:{port}/info"


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        bus.subscribe("request.*", self.events.append)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


# --------------------------------------------------------------------------------------------
# Running one call in either mode
# --------------------------------------------------------------------------------------------


MODES = ["sync", "async"]


def call(
    mode: str,
    url: str,
    *,
    config: TransportConfig | None = None,
    events: EventBus | None = None,
    method: str = "POST",
    **kwargs: Any,
) -> Any:
    kwargs.setdefault("context", "info")
    kwargs.setdefault("endpoint", "info.test")
    if method == "POST":
        kwargs.setdefault("body", {"type": "test"})
    if mode == "sync":
        with HttpTransport(config, events=events) as t:
            return t.request_json(method, url, **kwargs)

    async def go() -> Any:
        async with AsyncHttpTransport(config, events=events) as t:
            return await t.request_json(method, url, **kwargs)

    return asyncio.run(go())


def timed(fn: Callable[[], Any]) -> tuple[float, BaseException | None, Any]:
    start = time.monotonic()
    try:
        value = fn()
    except errors.HyperliquidError as exc:
        return time.monotonic() - start, exc, None
    return time.monotonic() - start, None, value


# --------------------------------------------------------------------------------------------
# Happy path, encoding, headers, pooling
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("payload", "expected"), [(b"null", None), (b'[1,"2"]', [1, "2"]), (b'"s"', "s")])
def test_returns_any_json_value(mode: str, server: RawServer, payload: bytes, expected: Any) -> None:
    server.then(respond(200, payload))
    assert call(mode, server.url + "/info") == expected


@pytest.mark.parametrize("mode", MODES)
def test_request_is_compact_json_with_headers(mode: str, server: RawServer) -> None:
    server.then(respond(200, b'{"a":1}'))
    body = {"type": "l2Book", "coin": "BTC", "px": Decimal("1.50")}
    assert call(mode, server.url + "/info", body=body) == {"a": 1}
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", "/info")
    assert seen.body == b'{"type":"l2Book","coin":"BTC","px":"1.50"}'
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == "hyperliquid-python/0.1"


@pytest.mark.parametrize("mode", MODES)
def test_get_for_stats_sends_no_body(mode: str, server: RawServer) -> None:
    server.then(respond(200, b'{"leaderboardRows":[]}'))
    got = call(mode, server.url + "/stats/Mainnet/leaderboard", method="GET", context="stats", endpoint="leaderboard")
    assert got == {"leaderboardRows": []}
    (seen,) = server.requests
    assert (seen.method, seen.path, seen.body) == ("GET", "/stats/Mainnet/leaderboard", b"")


def test_sync_pool_reuses_one_keepalive_connection(server: RawServer) -> None:
    with HttpTransport() as t:
        for _ in range(5):
            t.request_json("POST", server.url + "/info", body={"type": "x"}, context="info", endpoint="x")
    assert len(server.requests) == 5
    assert {r.connection for r in server.requests} == {1}
    assert server.connections == 1


async def test_async_pool_reuses_one_keepalive_connection(server: RawServer) -> None:
    async with AsyncHttpTransport() as t:
        for _ in range(5):
            await t.request_json("POST", server.url + "/info", body={"type": "x"}, context="info", endpoint="x")
    assert {r.connection for r in server.requests} == {1}
    assert server.connections == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"body": {"x": {1}}}, "body"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"method": "PUT"}, "method"),
        ({"weight": -1}, "weight"),
        ({"endpoint": ""}, "endpoint"),
    ],
)
def test_bad_input_rejected_before_sending(mode: str, server: RawServer, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        call(mode, server.url + "/info", **kwargs)
    assert info.value.field == field
    assert server.requests == []


def test_bad_url_rejected(server: RawServer) -> None:
    with pytest.raises(errors.InvalidInputError) as info, HttpTransport() as t:
        t.request_json("POST", "ftp://127.0.0.1/info", body={}, context="info", endpoint="x")
    assert info.value.field == "url"


def test_closed_transport_raises_transport_error(server: RawServer) -> None:
    t = HttpTransport()
    t.close()
    with pytest.raises(errors.TransportError) as info:
        t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="info.meta")
    assert info.value.request_sent is False and "info.meta" in str(info.value)
    assert server.requests == []


# --------------------------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_hung_server_times_out_within_margin(mode: str, server: RawServer) -> None:
    server.then(hang())
    bus = EventBus()
    rec = Recorder(bus)
    # default retry policy for "info": a timeout is NOT retried, so the budget is one timeout
    cfg = TransportConfig(default_timeout=0.4)
    elapsed, exc, _ = timed(lambda: call(mode, server.url + "/info", config=cfg, events=bus, endpoint="info.l2Book"))
    assert isinstance(exc, errors.TimeoutError)
    assert 0.4 <= elapsed < 0.4 + MARGIN
    assert exc.timeout == 0.4
    assert exc.request_sent is True
    assert "info.l2Book" in str(exc)
    assert exc.__cause__ is not None
    assert len(server.requests) == 1
    (end,) = rec.named("request.end")
    assert end["ok"] is False and end["error"] == "TimeoutError" and end["status"] is None


@pytest.mark.parametrize("mode", MODES)
def test_slow_drip_times_out_at_total_deadline(mode: str, server: RawServer) -> None:
    # every single read completes quickly (one byte per 0.05 s), the whole body would take 10 s
    server.then(drip(0.05, size=200))
    elapsed, exc, _ = timed(lambda: call(mode, server.url + "/info", timeout=0.6))
    assert isinstance(exc, errors.TimeoutError), exc
    assert 0.6 <= elapsed < 0.6 + MARGIN
    assert exc.request_sent is True


@pytest.mark.parametrize("mode", MODES)
def test_slow_server_within_timeout_succeeds(mode: str, server: RawServer) -> None:
    server.then(latency(0.3, b'"done"'))
    assert call(mode, server.url + "/info", timeout=2.0) == "done"


@pytest.mark.parametrize("mode", MODES)
def test_per_call_timeout_beats_per_endpoint_beats_default(mode: str, server: RawServer) -> None:
    from hyperliquid_client.runtime.transport import resolve_timeout

    cfg = TransportConfig(default_timeout=0.2)
    endpoint_timeout = 1.5  # what an endpoint's spec would say
    url = server.url + "/info"
    # default only: 0.2 s < 0.4 s latency -> timeout
    server.then(latency(0.4))
    elapsed, exc, _ = timed(lambda: call(mode, url, config=cfg, timeout=resolve_timeout(None, None)))
    assert isinstance(exc, errors.TimeoutError) and exc.timeout == 0.2 and elapsed < 0.2 + MARGIN
    # the endpoint's timeout beats the default
    server.then(latency(0.4))
    assert call(mode, url, config=cfg, timeout=resolve_timeout(None, endpoint_timeout)) == "late"
    # the call's timeout beats the endpoint's
    server.then(latency(0.6))
    elapsed, exc, _ = timed(lambda: call(mode, url, config=cfg, timeout=resolve_timeout(0.3, endpoint_timeout)))
    assert isinstance(exc, errors.TimeoutError) and exc.timeout == 0.3 and 0.3 <= elapsed < 0.3 + MARGIN


@pytest.mark.parametrize("mode", MODES)
def test_close_mid_body_is_transport_error_after_sending(mode: str, server: RawServer) -> None:
    server.then(close_mid_body())
    with pytest.raises(errors.TransportError) as info:
        call(mode, server.url + "/info", retry=RetryPolicy.NO_RETRY, endpoint="info.l2Book")
    err = info.value
    assert type(err) is errors.TransportError
    assert err.request_sent is True
    assert isinstance(err.__cause__, httpx.RemoteProtocolError)
    assert "info.l2Book" in str(err)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_close_mid_body_retried_for_info(mode: str, server: RawServer) -> None:
    server.then(close_mid_body(), respond(200, b'{"levels":[]}'))
    bus = EventBus()
    rec = Recorder(bus)
    assert call(mode, server.url + "/info", retry=FAST, events=bus) == {"levels": []}
    assert len(server.requests) == 2
    (retry,) = rec.named("request.retry")
    assert retry["reason"] == "RemoteProtocolError" and retry["attempt"] == 2


@pytest.mark.parametrize("mode", MODES)
def test_invalid_json_is_invalid_response_and_not_retried(mode: str, server: RawServer) -> None:
    server.then(respond(200, b'{"a": [1, 2'))
    with pytest.raises(errors.InvalidResponseError) as info:
        call(mode, server.url + "/info", retry=FAST, endpoint="info.meta")
    assert (info.value.path, info.value.expected, info.value.endpoint) == ("$", "JSON", "info.meta")
    assert info.value.__cause__ is not None
    assert len(server.requests) == 1


# --------------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_429_without_retry_after_then_success(mode: str, server: RawServer) -> None:
    server.then(respond(429, b"null"), respond(200, b'"ok"'))
    bus = EventBus()
    rec = Recorder(bus)
    assert call(mode, server.url + "/info", retry=FAST, events=bus) == "ok"
    assert len(server.requests) == 2
    (retry,) = rec.named("request.retry")
    assert retry["reason"] == "status 429"
    assert 0 <= retry["delay"] <= FAST.base_delay  # full jitter in [0, base_delay] for the first retry
    assert [e["status"] for e in rec.named("request.end")] == [429, 200]


@pytest.mark.parametrize("mode", MODES)
def test_429_with_retry_after_is_honoured(mode: str, server: RawServer) -> None:
    server.then(respond(429, b"null", {"Retry-After": "0.6"}), respond(200, b'"ok"'))
    bus = EventBus()
    rec = Recorder(bus)
    assert call(mode, server.url + "/info", retry=FAST, events=bus) == "ok"
    first, second = server.requests
    assert second.time - first.time >= 0.6  # FAST alone would wait at most 0.05 s
    (retry,) = rec.named("request.retry")
    assert retry["delay"] == 0.6


@pytest.mark.parametrize("mode", MODES)
def test_429_without_retries_raises_rate_limited(mode: str, server: RawServer) -> None:
    server.then(respond(429, b"null", {"Retry-After": "7"}))
    with pytest.raises(errors.RateLimitedError) as info:
        call(mode, server.url + "/info", retry=RetryPolicy.NO_RETRY, endpoint="info.meta")
    err = info.value
    assert (err.status, err.retry_after, err.body_excerpt) == (429, 7.0, "null")
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_500_then_success(mode: str, server: RawServer) -> None:
    server.then(respond(500, b"<html>oops</html>"), respond(502, b""), respond(200, b"[]"))
    assert call(mode, server.url + "/info", retry=FAST) == []
    assert len(server.requests) == 3
    assert len({r.body for r in server.requests}) == 1  # the very same request each time


@pytest.mark.parametrize("mode", MODES)
def test_persistent_500_bounded_by_max_attempts(mode: str, server: RawServer) -> None:
    server.default = respond(500, b"internal error")
    bus = EventBus()
    rec = Recorder(bus)
    with pytest.raises(errors.HTTPStatusError) as info:
        call(mode, server.url + "/info", retry=FAST, events=bus)
    assert info.value.status == 500 and info.value.body_excerpt == "internal error"
    assert len(server.requests) == FAST.max_attempts
    assert [e["attempt"] for e in rec.named("request.start")] == [1, 2, 3, 4]
    assert [e["attempt"] for e in rec.named("request.retry")] == [2, 3, 4]
    assert any("4 attempts" in n for n in getattr(info.value, "__notes__", []))


@pytest.mark.parametrize("mode", MODES)
def test_retries_bounded_by_max_elapsed(mode: str, server: RawServer) -> None:
    server.default = respond(503, b"")
    policy = RetryPolicy(max_attempts=1000, base_delay=0.1, max_delay=0.1, max_elapsed=0.5, jitter=False)
    elapsed, exc, _ = timed(lambda: call(mode, server.url + "/info", retry=policy))
    assert isinstance(exc, errors.HTTPStatusError) and exc.status == 503
    assert elapsed <= 0.5 + MARGIN
    assert 3 <= len(server.requests) <= 6  # ~0.1 s per retry within 0.5 s


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_beyond_max_elapsed_gives_up_at_once(mode: str, server: RawServer) -> None:
    server.default = respond(429, b"null", {"Retry-After": "30"})
    policy = RetryPolicy(max_attempts=5, max_elapsed=2.0)
    elapsed, exc, _ = timed(lambda: call(mode, server.url + "/info", retry=policy))
    assert isinstance(exc, errors.RateLimitedError) and exc.retry_after == 30.0
    assert elapsed < 1.0
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_422_is_not_retried(mode: str, server: RawServer) -> None:
    server.default = respond(422, b"Failed to deserialize the JSON body into the target type")
    with pytest.raises(errors.HTTPStatusError) as info:
        call(mode, server.url + "/info", retry=FAST)
    assert info.value.status == 422 and "Failed to deserialize" in str(info.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused_retried_then_raised(mode: str, closed_port_url: str) -> None:
    bus = EventBus()
    rec = Recorder(bus)
    with pytest.raises(errors.TransportError) as info:
        call(mode, closed_port_url, retry=FAST, events=bus, endpoint="info.allMids")
    err = info.value
    assert type(err) is errors.TransportError
    assert err.request_sent is False
    assert isinstance(err.__cause__, httpx.ConnectError)
    assert "info.allMids" in str(err)
    starts = rec.named("request.start")
    assert [e["attempt"] for e in starts] == [1, 2, 3, 4]
    assert [e["reason"] for e in rec.named("request.retry")] == ["ConnectError"] * 3
    assert all(e["ok"] is False and e["error"] == "TransportError" for e in rec.named("request.end"))


@pytest.mark.parametrize("mode", MODES)
def test_exchange_context_never_retries(mode: str, server: RawServer, closed_port_url: str) -> None:
    server.default = respond(500, b"")
    with pytest.raises(errors.HTTPStatusError):
        call(mode, server.url + "/exchange", context="exchange", endpoint="exchange.order")
    with pytest.raises(errors.HTTPStatusError):
        call(mode, server.url + "/exchange", context="exchange", endpoint="x", retry=RetryPolicy.NO_RETRY)
    with pytest.raises(errors.HTTPStatusError):
        call(mode, server.url + "/info", context="info", endpoint="x", retry=RetryPolicy.NO_RETRY)
    assert len(server.requests) == 3
    bus = EventBus()
    rec = Recorder(bus)
    with pytest.raises(errors.TransportError):
        call(mode, closed_port_url, context="exchange", endpoint="exchange.order", events=bus)
    assert len(rec.named("request.start")) == 1 and rec.named("request.retry") == []


# --------------------------------------------------------------------------------------------
# Events, secrets, TLS, the event loop
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_events_carry_context_and_no_body(mode: str, server: RawServer) -> None:
    secret = "0xdeadbeefSECRETSIGNATURE"
    server.then(respond(500, b"busy"), respond(200, b'{"status":"ok"}'))
    bus = EventBus()
    rec = Recorder(bus)
    got = call(
        mode,
        server.url + "/info",
        body={"type": "x", "signature": secret},
        events=bus,
        endpoint="info.x",
        weight=20,
        retry=FAST,
    )
    assert got == {"status": "ok"}
    assert [e.name for e in rec.events] == [
        "request.start",
        "request.end",
        "request.retry",
        "request.start",
        "request.end",
    ]
    for e in rec.events:
        assert (e["context"], e["endpoint"], e["weight"]) == ("info", "info.x", 20)
        assert secret not in repr(e.fields)
    start = rec.events[0]
    assert start["url"] == server.url + "/info" and start["attempt"] == 1
    end_fail, end_ok = rec.named("request.end")
    assert (end_fail["status"], end_fail["ok"], end_fail["error"], end_fail["attempt"]) == (
        500,
        False,
        "HTTPStatusError",
        1,
    )
    assert (end_ok["status"], end_ok["ok"], end_ok["error"], end_ok["attempt"]) == (200, True, None, 2)
    assert end_ok["duration"] >= 0


@pytest.mark.parametrize("mode", MODES)
def test_error_messages_and_logs_never_contain_the_body(
    mode: str, server: RawServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "SECRET-SIGNED-ACTION-r-s-v"
    server.default = respond(500, b"nope")
    caplog.set_level(logging.DEBUG, logger="hyperliquid_client")
    with pytest.raises(errors.HTTPStatusError) as info:
        call(mode, server.url + "/exchange", context="exchange", endpoint="exchange.order", body={"sig": secret})
    assert secret not in str(info.value) and secret not in repr(info.value.__dict__)
    assert secret.encode() in server.requests[0].body  # it was really sent
    records = [r for r in caplog.records if r.name.startswith("hyperliquid_client.transport")]
    assert records, "debug logs expected"
    assert all(secret not in r.getMessage() for r in records)


def test_tls_off_logs_one_warning(server: RawServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hyperliquid_client")
    with HttpTransport(TransportConfig(verify_tls=True)) as t:
        t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="x")
    assert [r for r in caplog.records if r.name == "hyperliquid_client.transport"] == []
    with HttpTransport(TransportConfig(verify_tls=False)) as t:
        for _ in range(3):
            t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="x")
    warnings = [r for r in caplog.records if r.name == "hyperliquid_client.transport" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "verification" in warnings[0].getMessage()


async def test_async_tls_off_logs_one_warning(server: RawServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hyperliquid_client")
    async with AsyncHttpTransport(TransportConfig(verify_tls=False)) as t:
        for _ in range(2):
            await t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="x")
    warnings = [r for r in caplog.records if r.name == "hyperliquid_client.transport" and r.levelno == logging.WARNING]
    assert len(warnings) == 1


async def test_async_backoff_does_not_block_the_loop(server: RawServer) -> None:
    server.then(respond(429, b"null", {"Retry-After": "0.5"}), hang(), respond(200, b'"ok"'))
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    async with AsyncHttpTransport() as t:
        # 429 (wait 0.5 s), then a hung attempt that times out at the call's 1 s deadline (not retried)
        started = time.monotonic()
        with pytest.raises(errors.TimeoutError):
            await t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="x", timeout=1.0)
        assert time.monotonic() - started < 1.3
    stop.set()
    await task
    # ~0.9 s of waiting: a blocked loop would have ticked ~0 times
    assert ticks >= 30
    assert len(server.requests) == 2


async def test_async_concurrent_requests_share_the_client(server: RawServer) -> None:
    server.default = latency(0.2, b'"x"')
    async with AsyncHttpTransport() as t:
        start = time.monotonic()
        got = await asyncio.gather(
            *(
                t.request_json("POST", server.url + "/info", body={"i": i}, context="info", endpoint="x")
                for i in range(5)
            )
        )
        elapsed = time.monotonic() - start
    assert got == ["x"] * 5
    assert elapsed < 0.2 * 5  # served concurrently, not one after another
    assert len(server.requests) == 5


async def test_async_cancellation_propagates(server: RawServer) -> None:
    server.then(hang())
    async with AsyncHttpTransport() as t:
        task = asyncio.create_task(
            t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="x", timeout=5)
        )
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def drip_headers(interval: float) -> Action:
    """The status line at once, then the headers one byte every ``interval`` seconds."""

    def act(conn: socket.socket, server: RawServer) -> bool:
        head = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"y" * 300 + b"\r\nContent-Length: 2\r\n\r\n{}"
        conn.sendall(head[:17])
        for i in range(17, len(head)):
            if server.stopping.wait(interval):
                return False
            try:
                conn.sendall(head[i : i + 1])
            except OSError:
                return False
        return True

    return act


@pytest.mark.parametrize("mode", MODES)
def test_slow_drip_of_headers_times_out_at_total_deadline(mode: str, server: RawServer) -> None:
    server.then(drip_headers(0.05))
    elapsed, exc, _ = timed(lambda: call(mode, server.url + "/info", timeout=0.6))
    assert isinstance(exc, errors.TimeoutError), exc
    assert 0.6 <= elapsed < 0.6 + MARGIN
    assert exc.request_sent is True


def test_the_timeout_bounds_the_whole_call_including_retries(server: RawServer) -> None:
    # Retry-After longer than what is left of the caller's timeout: give up at once with the 429
    server.then(respond(429, b"null", {"Retry-After": "3"}), respond(200, b'"ok"'))
    with HttpTransport() as t:
        started = time.monotonic()
        with pytest.raises(errors.RateLimitedError) as info:
            t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="x", timeout=1.0)
        assert time.monotonic() - started < 0.5
        assert info.value.retry_after == 3
    assert len(server.requests) == 1


def test_slow_failures_stop_retrying_at_the_deadline(server: RawServer) -> None:
    server.default = latency(0.3, b"oops", status=503)
    policy = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.02)
    with HttpTransport(TransportConfig(retry=policy)) as t:
        started = time.monotonic()
        with pytest.raises((errors.HTTPStatusError, errors.TimeoutError)):
            t.request_json("POST", server.url + "/info", body={}, context="info", endpoint="x", timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 1.3
    assert 2 <= len(server.requests) <= 4


def test_a_reserved_turn_is_one_per_thread_nested_or_not_and_ends_with_its_block() -> None:
    transport = HttpTransport(TransportConfig(max_connections=1))
    got: list[str] = []

    def other() -> None:  # another thread: no turn while this one holds the only one
        try:
            with transport.reserve(0.05, "other"):
                got.append("turn")
        except errors.TimeoutError as exc:
            got.append(f"timeout sent={exc.request_sent}")

    try:
        with transport.reserve(1.0, "outer"), transport.reserve(1.0, "inner"):  # nested: the same turn
            t = threading.Thread(target=other)
            t.start()
            t.join()
        assert got == ["timeout sent=False"]
        with pytest.raises(RuntimeError), transport.reserve(1.0, "failing"):
            raise RuntimeError("the block failed")
        t = threading.Thread(target=other)  # both blocks gave the turn back
        t.start()
        t.join()
        assert got == ["timeout sent=False", "turn"]
        waiter = threading.Thread(target=lambda: transport.reserve(5.0, "waiter").__enter__())
        with transport.reserve(1.0, "held"):
            waiter.start()
            deadline = time.monotonic() + 5.0
            while transport._turns._waiting == 0 and time.monotonic() < deadline:  # until it waits for the turn
                time.sleep(0.001)
            assert transport._turns._waiting == 1  # ... which the end of this block must wake it for
        waiter.join(5.0)
        assert not waiter.is_alive()
    finally:
        transport.close()
    with pytest.raises(errors.TransportError, match="closed"), transport.reserve(1.0, "late"):
        pass


def test_a_reservation_states_the_callers_timeout_unless_an_outer_one_did_sync_and_async() -> None:
    from hyperliquid_client.runtime.transport._core import STATED_TIMEOUT

    transport = HttpTransport(TransportConfig(max_connections=1))
    try:
        with transport.reserve(1.0, "outer", stated=7.0):
            assert STATED_TIMEOUT.get() == 7.0
            with transport.reserve(1.0, "inner", stated=3.0):  # the outer statement stands
                assert STATED_TIMEOUT.get() == 7.0
            assert STATED_TIMEOUT.get() == 7.0
        assert STATED_TIMEOUT.get() is None
        with transport.reserve(1.0, "plain"):
            assert STATED_TIMEOUT.get() is None
        with pytest.raises(RuntimeError), transport.reserve(1.0, "failing", stated=2.0):
            raise RuntimeError("the block failed")
        assert STATED_TIMEOUT.get() is None
    finally:
        transport.close()

    async def run() -> None:
        atransport = AsyncHttpTransport(TransportConfig(max_connections=1))
        try:
            async with atransport.reserve(1.0, "outer", stated=7.0):
                assert STATED_TIMEOUT.get() == 7.0
                async with atransport.reserve(1.0, "inner", stated=3.0):
                    assert STATED_TIMEOUT.get() == 7.0
                assert STATED_TIMEOUT.get() == 7.0
            assert STATED_TIMEOUT.get() is None
            with pytest.raises(RuntimeError):
                async with atransport.reserve(1.0, "failing", stated=2.0):
                    assert STATED_TIMEOUT.get() == 2.0
                    raise RuntimeError("the block failed")
            assert STATED_TIMEOUT.get() is None
        finally:
            await atransport.aclose()

    asyncio.run(run())
