"""A throwaway Redis server for the rate-limit tests.

``RedisServer`` starts Debian's ``redis-server`` on a free port of 127.0.0.1 with its working
directory in a temporary folder (no persistence), and removes everything on :meth:`destroy`.
:meth:`stop` / :meth:`start` stop and start it again on the same port (its data is lost, as with a
restart of a server without persistence), so a test can take Redis away in the middle of a run.

Fixtures (import them into a test module: ``from redisserver import redis_server, redis_url``):

* ``redis_server`` — session-scoped :class:`RedisServer`.
* ``redis_url`` — the server emptied (``FLUSHALL``) for each test; yields its URL.

A missing ``redis-server`` makes the fixture FAIL (never skip), pointing at ``scripts/ensure_redis.sh``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


class RedisServerError(RuntimeError):
    """The throwaway server could not be set up."""


def find_redis_server() -> str:
    """Path of the ``redis-server`` binary."""
    found = os.environ.get("HL_REDIS_SERVER") or shutil.which("redis-server")
    if not found or not os.access(found, os.X_OK):
        raise RedisServerError(
            "redis-server not found on PATH. Install it with: bash scripts/ensure_redis.sh "
            "(or set HL_REDIS_SERVER to its path)."
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One throwaway Redis server; see the module docstring."""

    def __init__(self) -> None:
        self.binary = find_redis_server()
        self.root = Path(tempfile.mkdtemp(prefix="hlredis-"))
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again) on the same port; waits until it answers PING."""
        if self.proc is not None and self.proc.poll() is None:
            return
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.root),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.root / "redis.log"),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (
                    (self.root / "redis.log").read_text(errors="replace")[-2000:]
                    if (self.root / "redis.log").exists()
                    else ""
                )
                raise RedisServerError(f"redis-server exited with {self.proc.returncode}:\n{log}")
            if self.ping():
                return
            time.sleep(0.05)
        raise RedisServerError("redis-server did not answer within 20 s")

    def ping(self) -> bool:
        """True when the server answers ``PING``."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (its data is gone)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        proc.wait(10)

    def flush(self) -> None:
        """Remove every key."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"FLUSHALL\r\n")
            s.recv(16)

    def destroy(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the whole test session."""
    try:
        server = RedisServer()
    except RedisServerError as exc:
        pytest.fail(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The session's Redis, running and empty, for one test."""
    redis_server.start()
    redis_server.flush()
    yield redis_server.url
