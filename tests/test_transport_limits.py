"""Transport limits and messages against misbehaving local servers (issue 16).

A 100 MB answer is abandoned at the response size limit; an HTML error page is summarised, not
quoted; a redirect names its target; a refused certificate is not retried; a hanging name lookup
ends at the deadline as a TimeoutError; a busy client reuses its pool's connections.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_transport_http import MODES, RawServer, call, respond

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport, RetryPolicy, TransportConfig
from hyperliquid_client.testing import FakeExchange

MB = 1024 * 1024
LIMIT = 16 * MB  # the default TransportConfig.max_response_bytes


@pytest.fixture
def server() -> Iterator[RawServer]:
    s = RawServer()
    yield s
    s.stop()


# --------------------------------------------------------------------------------------------- size limit
class Streamer:
    """Serves a 100 MB JSON string in 64 KB writes and counts the bytes the socket accepted."""

    def __init__(self, total: int = 100 * MB, *, declare_length: bool) -> None:
        self.total = total
        self.declare_length = declare_length
        self.sent = 0
        self.done = threading.Event()

    def __call__(self, conn: socket.socket, server: RawServer) -> bool:
        head = ["HTTP/1.1 200 OK", "Content-Type: application/json"]
        head.append(f"Content-Length: {self.total}" if self.declare_length else "Transfer-Encoding: chunked")
        try:
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            chunk = b"x" * 65536
            while self.sent < self.total and not server.stopping.is_set():
                data = chunk[: self.total - self.sent]
                conn.sendall(data if self.declare_length else b"%x\r\n%s\r\n" % (len(data), data))
                self.sent += len(data)
        except OSError:  # the client gave up: what we managed to send is in self.sent
            pass
        finally:
            self.done.set()
        return False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_a_100_mb_answer_is_abandoned_at_the_limit(mode: str, declare_length: bool) -> None:
    server = RawServer()
    streamer = Streamer(declare_length=declare_length)
    server.then(streamer)
    try:
        with pytest.raises(errors.InvalidResponseError) as info:
            call(mode, server.url + "/info", endpoint="info.l2Book", timeout=60, retry=RetryPolicy.NO_RETRY)
        assert streamer.done.wait(10), "the server is still sending: the client did not hang up"
    finally:
        server.stop()
    message = str(info.value)
    assert "16,777,216 bytes" in message and "info.l2Book" in message
    # early abort: the client stopped at the limit (plus what socket buffers hold), not at 100 MB
    assert streamer.sent < LIMIT + 24 * MB, f"{streamer.sent:,} bytes went out before the client hung up"
    if declare_length:
        assert "Content-Length" in message


@pytest.mark.parametrize("mode", MODES)
def test_the_limit_is_per_call_and_per_endpoint(mode: str, server: RawServer) -> None:
    body = b'"' + b"x" * 2000 + b'"'
    server.then(respond(200, body), respond(200, body))
    with pytest.raises(errors.InvalidResponseError, match="1,000 bytes"):
        call(mode, server.url + "/info", max_response_bytes=1000)
    config = TransportConfig(max_response_bytes=1000)
    assert call(mode, server.url + "/info", config=config, max_response_bytes=4000) == "x" * 2000


def test_stats_files_may_be_larger_than_the_default() -> None:
    from hyperliquid_client.generated.registry import ENDPOINTS

    assert (ENDPOINTS["stats.leaderboard"].max_response_bytes or 0) > LIMIT
    assert ENDPOINTS["info.l2Book"].max_response_bytes is None  # the transport's default


# --------------------------------------------------------------------------------------------- messages
HTML = (
    b"<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    + b"<center><h1>502 Bad Gateway</h1></center>\n" * 200
    + b"<hr><center>cloudflare</center>\n</body>\n</html>\n"
)


@pytest.mark.parametrize("mode", MODES)
def test_an_html_error_page_is_summarised(mode: str, server: RawServer) -> None:
    def html(conn: socket.socket, server: RawServer) -> bool:
        head = f"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(HTML)}"
        conn.sendall(head.encode() + b"\r\n\r\n" + HTML)
        return True

    server.then(html)
    with pytest.raises(errors.HTTPStatusError) as info:
        call(mode, server.url + "/info", endpoint="info.l2Book", retry=RetryPolicy.NO_RETRY)
    message = str(info.value)
    assert message == f"HTTP 502 from info.l2Book: text/html, {len(HTML):,} bytes: 502 Bad Gateway"
    assert "<" not in message


@pytest.mark.parametrize("mode", MODES)
def test_a_redirect_names_its_target(mode: str, server: RawServer) -> None:
    target = "https://api.hyperliquid.xyz/info"
    server.then(respond(301, b"", {"Location": target}))
    with pytest.raises(errors.HTTPStatusError) as info:
        call(mode, server.url + "/info", retry=RetryPolicy.NO_RETRY)
    assert info.value.status == 301 and info.value.location == target
    assert target in str(info.value)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[tuple[str, list[int]]]:
    """An HTTPS server with a self-signed certificate; yields its URL and the handshakes it saw."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.05)
    handshakes: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            handshakes.append(1)
            try:
                conn.settimeout(2)
                context.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://localhost:{sock.getsockname()[1]}/info", handshakes
    stop.set()
    thread.join(2)
    sock.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_certificate_is_not_retried(mode: str, tls_server: tuple[str, list[int]]) -> None:
    url, handshakes = tls_server
    patient = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.01)
    with pytest.raises(errors.TransportError) as info:
        call(mode, url, retry=patient, timeout=10)
    assert "certificate" in str(info.value) and not info.value.request_sent
    assert len(handshakes) == 1  # one attempt: the same certificate would be refused again


# --------------------------------------------------------------------------------------------- DNS deadline
class HangingDns:
    """``dns-hang.test`` does not resolve until released (a resolver that does not answer)."""

    url = "http://dns-hang.test:9/info"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.real = socket.getaddrinfo

    def getaddrinfo(self, host: object, *args: object, **kwargs: object) -> object:
        if host in ("dns-hang.test", b"dns-hang.test"):
            self.release.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return self.real(host, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def hanging_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[HangingDns]:
    dns = HangingDns()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    yield dns
    dns.release.set()


def test_a_hanging_name_lookup_ends_at_the_deadline_sync(hanging_dns: HangingDns) -> None:
    started = time.monotonic()
    with pytest.raises(errors.TimeoutError) as info, HttpTransport() as t:
        t.request_json("POST", hanging_dns.url, body={}, context="info", endpoint="info.meta", timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 1.5, f"the deadline of 1 s held only after {elapsed:.2f} s"
    assert info.value.timeout == 1.0 and not info.value.request_sent


async def test_a_hanging_name_lookup_ends_at_the_deadline_async(hanging_dns: HangingDns) -> None:
    started = time.monotonic()
    try:
        with pytest.raises(errors.TimeoutError) as info:
            async with AsyncHttpTransport() as t:
                await t.request_json(
                    "POST", hanging_dns.url, body={}, context="info", endpoint="info.meta", timeout=1.0
                )
        elapsed = time.monotonic() - started
    finally:
        hanging_dns.release.set()  # the loop's executor thread must not outlive the test
    assert elapsed < 1.0 + 1.5, f"the deadline of 1 s held only after {elapsed:.2f} s"
    assert info.value.timeout == 1.0 and not info.value.request_sent


def test_closing_wakes_a_request_waiting_for_a_name(hanging_dns: HangingDns) -> None:
    transport = HttpTransport()
    failed: list[BaseException] = []

    def request() -> None:
        try:
            transport.request_json("POST", hanging_dns.url, body={}, context="info", endpoint="info.meta", timeout=30)
        except errors.HyperliquidError as exc:
            failed.append(exc)

    thread = threading.Thread(target=request)
    thread.start()
    time.sleep(0.2)
    transport.close()
    thread.join(5)
    assert not thread.is_alive(), "the request still waits for its name lookup after close()"
    assert isinstance(failed[0], errors.TransportError) and not failed[0].request_sent


# --------------------------------------------------------------------------------------------- keep-alive
POOL = TransportConfig().max_connections  # the defaults: what users get


def test_sync_load_reuses_the_pool_connections() -> None:
    with FakeExchange() as fx, HttpTransport() as transport:
        before = fx.tcp_connections_accepted

        def one(_: int) -> object:
            body = {"type": "allMids"}
            return transport.request_json("POST", fx.http_url + "/info", body=body, context="info", endpoint="x")

        with ThreadPoolExecutor(64) as pool:
            for _ in range(3):  # sustained: 3 waves of 200 concurrent requests
                assert len(list(pool.map(one, range(200)))) == 200
        assert fx.tcp_connections_accepted - before <= POOL


async def test_async_load_reuses_the_pool_connections() -> None:
    async with FakeExchange() as fx, AsyncHttpTransport() as transport:
        before = fx.tcp_connections_accepted
        for _ in range(3):
            results = await asyncio.gather(
                *(
                    transport.request_json("POST", fx.http_url + "/info", body={"type": "allMids"}, context="info",
                                           endpoint="x")
                    for _ in range(200)
                )
            )  # fmt: skip
            assert len(results) == 200
        assert fx.tcp_connections_accepted - before <= POOL
