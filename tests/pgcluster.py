"""A throwaway PostgreSQL cluster for the storage tests and benchmark.

``PgCluster`` runs ``initdb`` in a temporary directory, starts ``postgres`` on a free port on
127.0.0.1 (unix socket inside the temporary directory), and removes everything on
:meth:`PgCluster.destroy`.  ``initdb`` refuses to run as root, so when the tests run as root
the cluster belongs to a dedicated non-root OS user (``hlpgtest``, created if missing).
:meth:`stop` / :meth:`start` restart the same cluster (same data, same port) so a test can take
the database away in the middle of a stream; :meth:`frozen` stops every server process with
``SIGSTOP`` (a database that hangs: sockets stay open, nothing answers) and resumes them after.

Fixtures (import them into a test module: ``from pgcluster import pg_cluster, pg_dsn``):

* ``pg_cluster`` — session-scoped :class:`PgCluster`.
* ``pg_dsn`` — a fresh, migrated database per test; yields its DSN.

Missing binaries make the fixture FAIL (never skip), pointing at ``scripts/ensure_postgres.sh``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OS_USER = os.environ.get("HL_PG_TEST_USER", "hlpgtest")


class PgClusterError(RuntimeError):
    """The throwaway cluster could not be set up."""


def find_pg_bin() -> Path:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    candidates: list[str] = []
    if os.environ.get("HL_PG_BIN"):
        candidates.append(os.environ["HL_PG_BIN"])
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    for cand in candidates:
        d = Path(cand)
        if all((d / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            return d
    raise PgClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
        "/usr/lib/postgresql/*/bin. Install them with: bash scripts/ensure_postgres.sh "
        "(or set HL_PG_BIN to the directory that holds them)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_os_user(name: str) -> tuple[int, int]:
    import pwd

    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


class PgCluster:
    """One throwaway PostgreSQL server; see the module docstring."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.bin = find_pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="hlpg-"))
        self.data = self.root / "data"
        self.sockdir = self.root / "sock"
        self.logfile = self.root / "postgres.log"
        self.port = _free_port()
        self.fsync = fsync
        self._as_root = os.geteuid() == 0
        self._uid: int | None = None
        self._gid: int | None = None
        self.superuser = "postgres"
        self.running = False
        if self._as_root:
            self._uid, self._gid = _ensure_os_user(OS_USER)
            os.chown(self.root, self._uid, self._gid)
        self.sockdir.mkdir()
        if self._as_root:
            assert self._uid is not None and self._gid is not None
            os.chown(self.sockdir, self._uid, self._gid)
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.superuser,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )

    def _run(self, args: list[str], *, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        env = dict(os.environ)
        if self._as_root:
            kwargs.update(user=self._uid, group=self._gid, extra_groups=[])
            env["HOME"] = str(self.root)
        env.pop("PGDATA", None)
        proc = subprocess.run(
            args, capture_output=True, text=True, env=env, cwd=self.root, timeout=timeout, check=False, **kwargs
        )
        if check and proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise PgClusterError(
                f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}"
            )
        return proc

    def start(self) -> None:
        """Start (or restart) the server on the same port and data directory; waits until ready."""
        opts = (
            f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if self.fsync else 'off'} -c full_page_writes={'on' if self.fsync else 'off'} "
            "-c max_connections=50 -c shared_buffers=64MB"
        )
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", opts, "-w", "start"])
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: disconnect clients, clean shutdown; ``immediate``: crash-like)."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
        self.running = False

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Stop the server for the duration of the block; restart it afterwards whatever happens."""
        self.stop()
        try:
            yield
        finally:
            if not self.running:
                self.start()

    def processes(self) -> list[int]:
        """PIDs of the postmaster and every process it started (backends, background workers)."""
        head = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
        postmaster = int(head)
        pids = [postmaster]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'
                if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(entry.name))
        return pids

    @contextlib.contextmanager
    def frozen(self) -> Iterator[list[int]]:
        """``SIGSTOP`` every server process for the duration of the block (``SIGCONT`` afterwards,
        whatever happens); yields the stopped PIDs."""
        pids = self.processes()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield pids
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq DSN for ``dbname`` over TCP on 127.0.0.1."""
        return f"host=127.0.0.1 port={self.port} user={self.superuser} dbname={dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create a database (random name unless given) and return its DSN."""
        import psycopg

        name = name or "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        """Drop the database a DSN from :meth:`create_database` names (best effort)."""
        import psycopg

        name = dsn.rsplit("dbname=", 1)[1]
        with contextlib.suppress(psycopg.Error), psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def destroy(self) -> None:
        """Stop the server (if running) and remove the temporary directory."""
        try:
            if self.running or (self.data / "postmaster.pid").exists():
                self._run(
                    [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"], check=False
                )
        finally:
            self.running = False
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def start_cluster(*, fsync: bool = False, attempts: int = 3) -> PgCluster:
    """Create and start a cluster (retrying on a port race)."""
    last: Exception | None = None
    for _ in range(attempts):
        cluster = PgCluster(fsync=fsync)
        try:
            cluster.start()
            return cluster
        except PgClusterError as exc:  # e.g. another process took the port meanwhile
            last = exc
            cluster.destroy()
            time.sleep(0.2)
    raise PgClusterError(f"could not start a throwaway PostgreSQL cluster: {last}")


_SHARED: PgCluster | None = None


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """Session-wide throwaway PostgreSQL server (fails, never skips, when PostgreSQL is missing).

    Test modules import this fixture; pytest may then hold one definition per module, so the
    cluster itself is a module-level singleton: one server per session, removed at its end.
    """
    global _SHARED
    if _SHARED is None:
        try:
            _SHARED = start_cluster()
        except PgClusterError as exc:
            pytest.fail(str(exc), pytrace=False)
    cluster = _SHARED
    try:
        yield cluster
    finally:
        if _SHARED is cluster:
            _SHARED = None
        cluster.destroy()


@pytest.fixture
def pg_dsn(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh database with the storage migrations applied; dropped afterwards."""
    from hyperliquid_client.runtime.storage.migrations import apply_migrations

    if not pg_cluster.running:  # a previous test failed while the server was stopped
        pg_cluster.start()
    dsn = pg_cluster.create_database()
    apply_migrations(dsn)
    try:
        yield dsn
    finally:
        if not pg_cluster.running:
            pg_cluster.start()
        pg_cluster.drop_database(dsn)
