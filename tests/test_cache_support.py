"""Helpers for the cache / warm-up / markets tests (no tests here).

``ScriptedInfoServer``: a tiny HTTP/1.1 server on 127.0.0.1:<free port>, run on its own event
loop in a daemon thread, answering ``POST /info`` per request ``type`` according to a mode that
tests can change at any time:

* ``("json", payload)``: 200 with the JSON payload
* ``("status", code, body_bytes)``: that status and body
* ``("garbage", body_bytes)``: 200, ``application/json``, with the given (broken) body
* ``("hang",)``: read the request, never answer (until the server stops)
* ``("close",)``: close the connection without answering
* ``("delay", seconds, mode)``: wait, then answer per ``mode``

Real Hyperliquid payloads come from the recordings the tests own (``tests/data/owned``): these tests check
particular values (asset ids, decimals, mids), so they never read a set an environment variable can replace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from hyperliquid_client.runtime.errors import HTTPStatusError, InvalidResponseError, TransportError
from hyperliquid_client.runtime.errors import TimeoutError as HLTimeoutError
from tests.datasets import owned

Mode = tuple[Any, ...]


def fixture(name: str) -> Any:
    """The ``response`` of the owned recording ``name`` (e.g. ``"meta__1"``)."""
    return owned(name)["response"]


def real_payloads() -> dict[str, Any]:
    """Real meta / spotMeta / allMids payloads keyed by info type (owned recordings: values are checked)."""
    return {
        "meta": fixture("meta__1"),
        "spotMeta": fixture("spotMeta__2"),
        "allMids": fixture("allMids__1"),
        "perpDexs": [None],
    }


def closed_port() -> int:
    """A local port nobody listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScriptedInfoServer:
    """See the module docstring.  Use as a context manager; ``url`` is the base URL."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self.modes: dict[str, Mode | Callable[[dict[str, Any]], Mode]] = {}
        self.default: Mode = ("status", 422, b"Failed to deserialize the JSON body into the target type")
        self.requests: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._thread: threading.Thread | None = None
        self.port = 0

    # -------------------------------------------------------------- control
    def serve(self, payloads: Mapping[str, Any]) -> None:
        """Answer every type in ``payloads`` with 200 and that JSON."""
        for type_, payload in payloads.items():
            self.modes[type_] = ("json", payload)

    def set(self, type_: str, mode: Mode | Callable[[dict[str, Any]], Mode]) -> None:
        self.modes[type_] = mode

    def count(self, type_: str, **fields: Any) -> int:
        with self._lock:
            return sum(
                1 for _, b in self.requests if b.get("type") == type_ and all(b.get(k) == v for k, v in fields.items())
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -------------------------------------------------------------- lifecycle
    def start(self) -> ScriptedInfoServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)

            async def boot() -> None:
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", self._port))
                self._server = await asyncio.start_server(self._handle, sock=sock)
                self.port = int(sock.getsockname()[1])

            self._loop.run_until_complete(boot())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="scripted-info-server", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("server did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

        fut = asyncio.run_coroutine_threadsafe(shutdown(), loop)
        with contextlib.suppress(Exception):
            fut.result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def __enter__(self) -> ScriptedInfoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- protocol
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            raw = await reader.readexactly(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            with self._lock:
                self.requests.append((time.monotonic(), body))
            mode: Any = self.modes.get(str(body.get("type")), self.default)
            if callable(mode):
                mode = mode(body)
            await self._answer(writer, mode)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, mode: Mode) -> None:
        kind = mode[0]
        if kind == "delay":
            await asyncio.sleep(mode[1])
            await self._answer(writer, mode[2])
            return
        if kind == "hang":
            await asyncio.Event().wait()
            return
        if kind == "close":
            return
        if kind == "json":
            status, body = 200, json.dumps(mode[1]).encode()
        elif kind == "garbage":
            status, body = 200, mode[1]
        elif kind == "status":
            status, body = mode[1], mode[2]
        else:
            raise ValueError(kind)
        ctype = b"application/json" if status == 200 else b"text/plain"
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (status, ctype, len(body))
            + body
        )
        await writer.drain()


def _classify(resp: httpx.Response, url: str) -> Any:
    if resp.status_code != 200:
        raise HTTPStatusError(resp.status_code, body=resp.text, endpoint="info", url=url)
    try:
        return resp.json()
    except ValueError as exc:
        raise InvalidResponseError("$", "a JSON document", resp.text[:50], endpoint="info") from exc


def sync_fetcher(base_url: str, timeout: float = 2.0) -> Callable[[Mapping[str, Any]], Any]:
    """A minimal raw info call (what the transport layer will provide): body → decoded JSON."""
    client = httpx.Client(timeout=timeout)
    url = base_url + "/info"

    def fetch_info(body: Mapping[str, Any]) -> Any:
        try:
            resp = client.post(url, json=dict(body))
        except httpx.TimeoutException as exc:
            raise HLTimeoutError(f"no answer from {url}", timeout=timeout, endpoint="info", url=url) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", endpoint="info", url=url) from exc
        return _classify(resp, url)

    fetch_info.client = client  # type: ignore[attr-defined]
    return fetch_info


def async_fetcher(base_url: str, timeout: float = 2.0) -> Callable[[Mapping[str, Any]], Any]:
    """Async version of :func:`sync_fetcher` (its ``httpx.AsyncClient`` belongs to the loop that uses it first)."""
    url = base_url + "/info"
    client = httpx.AsyncClient(timeout=timeout)

    async def fetch_info(body: Mapping[str, Any]) -> Any:
        try:
            resp = await client.post(url, json=dict(body))
        except httpx.TimeoutException as exc:
            raise HLTimeoutError(f"no answer from {url}", timeout=timeout, endpoint="info", url=url) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", endpoint="info", url=url) from exc
        return _classify(resp, url)

    return fetch_info
