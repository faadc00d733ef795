"""A total deadline for every step of a synchronous httpx request, name resolution included.

httpx's timeouts are per operation: a server that sends its *headers* one byte at a time never
trips a read timeout, httpcore reads headers in a loop we cannot hook, and the blocking
``getaddrinfo`` of a connection honours no timeout at all.  The sync transport therefore wraps
httpcore's network backend:

* each ``read``/``write``/``connect``/TLS handshake of the current request is capped at the time
  left before the deadline held in a context variable (set by the transport around each attempt,
  so concurrent threads do not interfere); past it the operation raises httpcore's timeout, which
  httpx maps to its own;
* the host name is resolved on a helper thread that the request waits for only until the
  deadline (a hanging DNS server then ends in a timeout, on time), and the connection is made to
  the resolved addresses in turn, as :func:`socket.create_connection` would;
* :meth:`_DeadlineBackend.abort` (called when the transport closes) shuts down every open socket
  and wakes every pending resolution, so threads blocked in I/O end at once instead of at their
  deadline.

Installing the wrapper touches httpx's connection-pool attribute (``_pool._network_backend``); it
is guarded and, if a future httpx changes the shape, the transport falls back to refreshing the
per-operation timeouts and checking the deadline between body chunks.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

__all__ = ["abort", "install", "request_deadline"]

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("hyperliquid_http_deadline", default=None)


@contextmanager
def request_deadline(deadline: float) -> Iterator[None]:
    """Socket operations inside the block end by ``deadline`` (a :func:`time.monotonic` value)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _left() -> float | None:
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def _cap(timeout: float | None, exc: type[Exception]) -> float | None:
    left = _left()
    if left is None:
        return timeout
    if left <= 0:
        raise exc("request deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: _DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend
        backend._streams.add(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._backend._streams.discard(self)
        self._inner.close()

    def abort(self) -> None:
        """Shut the socket down so a thread blocked reading or writing it returns at once."""
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the raw socket's, even under TLS
            except OSError:
                pass

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _cap(timeout, httpcore.ConnectTimeout))
        self._backend._streams.discard(self)
        return _DeadlineStream(inner, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Lookup:
    """One name resolution running on a helper thread."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.done = threading.Event()
        self.addresses: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            seen: list[str] = []
            for *_, sockaddr in infos:
                if sockaddr[0] not in seen:
                    seen.append(str(sockaddr[0]))
            self.addresses = seen
        except BaseException as exc:  # delivered to the waiting request
            self.error = exc
        finally:
            self.done.set()

    def cancel(self) -> None:
        if not self.done.is_set():
            self.error = httpcore.ConnectError("the transport was closed during name resolution")
            self.done.set()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner
        self._streams: weakref.WeakSet[_DeadlineStream] = weakref.WeakSet()
        self._lookups: weakref.WeakSet[_Lookup] = weakref.WeakSet()
        self._closed = False

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses of ``host``, by the deadline (a helper thread does the blocking lookup)."""
        if _is_ip(host):
            return [host]
        limit = _cap(timeout, httpcore.ConnectTimeout)
        lookup = _Lookup(host, port)
        self._lookups.add(lookup)
        if self._closed:
            lookup.cancel()
        threading.Thread(target=lookup.run, name="hl-http-resolve", daemon=True).start()
        if not lookup.done.wait(limit):
            raise httpcore.ConnectTimeout(f"resolving {host} did not finish within the deadline")
        if isinstance(lookup.error, httpcore.ConnectError):
            raise lookup.error
        if lookup.error is not None:
            raise httpcore.ConnectError(f"cannot resolve {host}: {lookup.error}") from lookup.error
        if not lookup.addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        return lookup.addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if self._closed:
            raise httpcore.ConnectError("the transport is closed")
        failure: Exception | None = None
        for address in self._resolve(host, port, timeout):
            try:
                stream = self._inner.connect_tcp(
                    address, port, _cap(timeout, httpcore.ConnectTimeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            wrapped = _DeadlineStream(stream, self)
            if self._closed:
                wrapped.abort()
            return wrapped
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _cap(timeout, httpcore.ConnectTimeout), socket_options)
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def abort(self) -> None:
        """Fail every pending resolution and shut every open socket down (the transport closes)."""
        self._closed = True
        for lookup in list(self._lookups):
            lookup.cancel()
        for stream in list(self._streams):
            stream.abort()


def _backends(client: httpx.Client) -> Iterator[tuple[Any, Any]]:
    transports: list[object] = [getattr(client, "_transport", None)]
    mounts = getattr(client, "_mounts", None)
    if isinstance(mounts, dict):
        transports.extend(mounts.values())
    for transport in transports:
        pool: Any = getattr(transport, "_pool", None)
        yield pool, getattr(pool, "_network_backend", None)


def install(client: httpx.Client) -> bool:
    """Wrap the network backend of every connection pool of ``client``; False if not possible."""
    done = False
    for pool, backend in _backends(client):
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)
            done = True
    return done


def abort(client: httpx.Client) -> None:
    """Wake every thread of ``client`` blocked in a lookup or on a socket (see the module docs)."""
    for _, backend in _backends(client):
        if isinstance(backend, _DeadlineBackend):
            backend.abort()
