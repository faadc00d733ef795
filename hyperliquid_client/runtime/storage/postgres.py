"""PostgreSQL storage backend (psycopg 3; install the ``postgres`` extra).

One connection, opened lazily and re-opened after a failure.  A batch of one kind is written in
one transaction: ``COPY`` into a per-session temporary staging table, then a single
``INSERT ... SELECT ... ON CONFLICT ...`` into the real table.

Who is at fault when PostgreSQL refuses a write is told by the error's SQLSTATE class:

* the **row** (classes ``22`` data exception, ``23`` integrity constraint, ``P0`` raised by a
  PL/pgSQL trigger or function): the batch is retried row by row under savepoints so only the
  offending rows are rejected;
* the **database's state** (anything else: read-only, privileges, disk full, too many
  connections, a cancelled statement, a missing table ...) and lost connections: the batch is kept
  and :class:`~hyperliquid_client.runtime.storage.backend.StorageUnavailableError` is raised, so the
  writer retries it like an outage, on a fresh connection.  A batch whose commit outcome is
  unknown is simply written again — the upserts make that harmless.

A hung server (stopped process, dead host behind a live TCP peer) is caught client-side: an
operation that has not finished ``statement_timeout + connect_timeout`` seconds after it started
has its socket shut down and fails as unavailable; :meth:`PostgresStorage.interrupt` does the same
at once.  TCP keepalives and ``tcp_user_timeout`` cover a vanished network.

Connection options given in the DSN are kept: ``options`` (e.g. ``-csearch_path=hl``) is merged
with the backend's own ``-c statement_timeout=...``, and an ``application_name`` in the DSN wins
over the backend's (which is passed as a plain value, never as server options).

The DSN may hold a password: it is never logged, put in an exception or shown in a repr.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from hyperliquid_client.runtime.errors import StorageError
from hyperliquid_client.runtime.log import get_logger
from hyperliquid_client.runtime.storage.backend import (
    BackendBase,
    Rejection,
    StorageUnavailableError,
    StoredRow,
    TimeBound,
    WriteResult,
    check_read_args,
    to_ms,
)
from hyperliquid_client.runtime.storage.kinds import KINDS, InvalidRowError, Kind, get_kind
from hyperliquid_client.runtime.storage.migrations import (
    LATEST_VERSION,
    apply_migrations,
    check_dsn,
    connect,
    hidden,
    schema_version,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresStorage"]

_log = get_logger("hyperliquid_client.storage")


#: SQLSTATE classes that blame the row, not the database: data exception, integrity constraint
#: violation, raised by PL/pgSQL (a trigger refusing the row).
_ROW_FAULT_CLASSES = frozenset({"22", "23", "P0"})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_row_fault(exc: psycopg.Error) -> bool:
    """Whether the database refused ``exc``'s statement because of a row's content."""
    import psycopg

    state = exc.sqlstate
    if state is None:  # raised by psycopg itself: a value it cannot send is the row's fault
        return isinstance(exc, psycopg.DataError)
    return state[:2] in _ROW_FAULT_CLASSES


def _refusal(exc: psycopg.Error) -> str:
    return f"PostgreSQL refuses writes (SQLSTATE {exc.sqlstate} {type(exc).__name__}): {_first_line(exc)}"


def _shutdown_socket(conn: psycopg.Connection[Any] | None) -> None:
    """Shut ``conn``'s socket down so a call blocked on it (in another thread) fails at once."""
    if conn is None:
        return
    with contextlib.suppress(Exception):  # already closed, or the fd went away meanwhile
        dup = socket.socket(fileno=os.dup(conn.pgconn.socket))
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()


def _conflict_sql(kind: Kind) -> str:
    conflict = f"ON CONFLICT ({', '.join(kind.key)}) DO "
    if kind.on_conflict == "update":
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in kind.column_names if n not in kind.key)
        return conflict + f"UPDATE SET {updates}, stored_at = now()"
    return conflict + "NOTHING"


@attrs.frozen
class _Statements:
    """The SQL used for one kind: a per-session staging table fed by COPY, and a single-row insert."""

    stage: str
    create_stage: str
    copy: str
    merge: str
    insert_one: str

    @classmethod
    def for_kind(cls, kind: Kind) -> _Statements:
        names = kind.column_names
        cols = ", ".join(names)
        stage = f"hl_stage_{kind.name}"
        typed = ", ".join(f"{n} {t}" for n, t in zip(names, kind.column_types, strict=True))
        placeholders = ", ".join("%s::jsonb" if t == "jsonb" else "%s" for t in kind.column_types)
        conflict = _conflict_sql(kind)
        return cls(
            stage=stage,
            create_stage=f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({typed}) ON COMMIT DELETE ROWS",
            copy=f"COPY {stage} ({cols}) FROM STDIN",
            merge=f"INSERT INTO {kind.table} ({cols}) SELECT {cols} FROM {stage} {conflict}",
            insert_one=f"INSERT INTO {kind.table} ({cols}) VALUES ({placeholders}) {conflict}",
        )


class _RefusedError(Exception):
    """Internal: the database refused a statement because of its state, not a row's content."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


class PostgresStorage(BackendBase):
    """Stores every kind in PostgreSQL tables (see ``migrations/0001_initial.sql``).

    ``migrate=True`` applies missing migrations on first connect; otherwise a database whose
    schema is older than this package's is refused with a message naming the migrate command.
    ``connect_timeout`` and ``statement_timeout`` (seconds) bound how long one attempt may hang:
    the server cancels a statement after ``statement_timeout``, and the client gives up on an
    operation ``statement_timeout + connect_timeout`` seconds after it started, whatever the server
    does (``None`` disables both).  ``application_name`` is what ``pg_stat_activity`` shows, unless
    the DSN names one.
    """

    def __init__(
        self,
        dsn: str,
        *,
        migrate: bool = False,
        connect_timeout: float = 5.0,
        statement_timeout: float | None = 30.0,
        application_name: str = "hyperliquid-storage",
    ) -> None:
        self._conn: psycopg.Connection[Any] | None = None  # (first: repr() of one refused below works)
        dsn = hidden(dsn)  # (first: this frame holds it as a Dsn, whose repr hides the password)
        self._dsn = check_dsn(dsn)
        self._migrate = migrate
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._io_timeout = None if not statement_timeout else statement_timeout + connect_timeout
        options = f"-c statement_timeout={int(statement_timeout * 1000)}" if statement_timeout else ""
        dsn_options = self._dsn.param("options")  # (the password is read by no frame here)
        if dsn_options:  # the DSN's own options come last: they win where both set something
            options = f"{options} {dsn_options}".strip()
        self._connect_args: dict[str, Any] = {
            "connect_timeout": max(1, round(connect_timeout)),
            "fallback_application_name": application_name,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "autocommit": True,
        }
        if options:
            self._connect_args["options"] = options
        if self._io_timeout is not None:
            self._connect_args["tcp_user_timeout"] = int(self._io_timeout * 1000)
        self._lock = threading.RLock()
        self._schema_ok = False
        self._closed = False
        self._sql = {name: _Statements.for_kind(kind) for name, kind in KINDS.items()}
        self._staged: set[str] = set()
        # the operation in progress (guarded by _op_lock, never held across I/O)
        self._op_lock = threading.Lock()
        self._op = 0
        self._busy = False
        self._interrupted: str | None = None  # why the operation in progress was cut short

    def __repr__(self) -> str:
        return f"PostgresStorage(connected={self._conn is not None and not self._conn.closed})"

    # --- connection ------------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._closed:
            raise StorageError("storage backend is closed")
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        self._drop_connection()
        if self._migrate and not self._schema_ok:
            try:
                apply_migrations(self._dsn, connect_timeout=self._connect_timeout)
            except StorageError as exc:
                raise StorageUnavailableError(str(exc)) from exc
        conn = connect(self._dsn, StorageUnavailableError, **self._connect_args)
        if self._interrupted is not None:  # interrupt() or the deadline came while connecting
            conn.close()
            raise StorageUnavailableError("PostgreSQL operation interrupted")
        if not self._schema_ok:
            try:
                version = schema_version(conn)
            except psycopg.Error as exc:
                conn.close()
                raise StorageUnavailableError(f"cannot read the schema version: {_first_line(exc)}") from exc
            if version < LATEST_VERSION:
                conn.close()
                raise StorageUnavailableError(
                    f"database schema is at version {version}, this package needs {LATEST_VERSION}: run "
                    "`python -m hyperliquid_client.runtime.storage migrate --dsn ...` (or pass migrate=True)"
                )
            self._schema_ok = True
        self._conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._staged = set()  # temporary tables die with their session
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection must never mask the real error
                _log.debug("error closing a PostgreSQL connection", exc_info=True)

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        """One database operation, with the lock held: armed with the client-side deadline and
        open to :meth:`interrupt`.  A hung operation fails as :class:`StorageUnavailableError`."""
        with self._op_lock:
            self._op += 1
            op = self._op
            self._busy = True
            self._interrupted = None
        timer: threading.Timer | None = None
        if self._io_timeout is not None:
            timer = threading.Timer(self._io_timeout, self._expire, args=(op,))
            timer.daemon = True
            timer.start()
        try:
            yield
        except Exception as exc:
            reason = self._interrupted
            if reason is None:
                raise
            self._drop_connection()
            raise StorageUnavailableError(f"PostgreSQL operation {reason}") from exc
        finally:
            if timer is not None:
                timer.cancel()
            if self._closed:  # close() came meanwhile and left the connection to us
                self._drop_connection()
            with self._op_lock:
                self._busy = False
                self._interrupted = None

    def _expire(self, op: int) -> None:
        """Timer: operation ``op`` outlived the client-side deadline."""
        with self._op_lock:
            if not self._busy or self._op != op:
                return
            self._interrupted = f"got no answer within {self._io_timeout:g} s (client-side deadline)"
        _log.warning("PostgreSQL did not answer within %s s: abandoning the operation", self._io_timeout)
        _shutdown_socket(self._conn)

    def interrupt(self) -> None:
        """Make the operation in progress (if any) fail at once with :class:`StorageUnavailableError`.

        Thread-safe and non-blocking: :meth:`StorageWriter.close` calls it when its timeout expires
        while a write hangs on an unresponsive database.  Later operations are not affected.
        """
        with self._op_lock:
            if not self._busy:
                return
            self._interrupted = "interrupted"
        _shutdown_socket(self._conn)

    def close(self) -> None:
        """Close the connection.  Idempotent, and bounded: an operation in progress is interrupted."""
        self._closed = True
        self.interrupt()
        if self._lock.acquire(blocking=False):  # else the operation in progress closes it on its way out
            try:
                self._drop_connection()
            finally:
                self._lock.release()

    # --- writing ---------------------------------------------------------------------------------

    def write_records(self, kind: Kind, records: Sequence[tuple[Any, ...]]) -> WriteResult:
        """Upsert normalized ``records`` of ``kind`` in one transaction (see the module docstring)."""
        import psycopg

        if not records:
            return WriteResult(0)
        unique = self._dedupe(kind, records)
        stmts = self._sql[kind.name]
        with self._lock, self._operation():
            conn = self._connection()
            try:
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        if stmts.stage not in self._staged:
                            cur.execute(stmts.create_stage.encode())
                        with cur.copy(stmts.copy.encode()) as copy:
                            for record in unique:
                                copy.write_row(record)
                        cur.execute(stmts.merge.encode())
                    self._staged.add(stmts.stage)
                    return WriteResult(len(records))
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    raise
                except psycopg.Error as exc:
                    if not _is_row_fault(exc):
                        raise _RefusedError(exc) from exc
                    _log.info(
                        "storage batch refused, retrying row by row kind=%s rows=%d error=%s",
                        kind.name,
                        len(unique),
                        _first_line(exc),
                    )
                return self._write_one_by_one(conn, kind, stmts.insert_one, records)
            except _RefusedError as refused:
                self._drop_connection()  # a fresh session: e.g. a promoted primary, restored settings
                raise StorageUnavailableError(_refusal(refused.error)) from refused.error
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drop_connection()
                raise StorageUnavailableError(f"PostgreSQL unavailable: {_first_line(exc)}") from exc

    def _write_one_by_one(
        self, conn: psycopg.Connection[Any], kind: Kind, sql: str, records: Sequence[tuple[Any, ...]]
    ) -> WriteResult:
        import psycopg

        written = 0
        rejected: list[Rejection] = []
        with conn.transaction():
            for i, record in enumerate(records):
                try:
                    with conn.transaction():  # a savepoint: a refused row leaves the others intact
                        conn.execute(sql.encode(), record)
                    written += 1
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    raise
                except psycopg.Error as exc:
                    if not _is_row_fault(exc):
                        raise _RefusedError(exc) from exc  # the whole batch is retried later
                    error = InvalidRowError(kind.name, None, f"refused by PostgreSQL: {_first_line(exc)}")
                    rejected.append(Rejection(i, error))
        return WriteResult(written, tuple(rejected))

    @staticmethod
    def _dedupe(kind: Kind, records: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """One record per key (an upsert may not touch the same row twice in one statement)."""
        idx = kind.key_indexes
        seen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        replace = kind.on_conflict == "update"
        for record in records:
            key = tuple(record[i] for i in idx)
            if replace or key not in seen:
                seen[key] = record
        return list(seen.values())

    # --- reading ---------------------------------------------------------------------------------

    def read(
        self,
        kind: str,
        *,
        where: Mapping[str, Any] | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        limit: int | None = None,
    ) -> list[StoredRow]:
        """Rows of ``kind`` matching ``where`` within ``[start, end]`` on its time column, oldest first."""
        import psycopg

        k = get_kind(kind)
        conditions = check_read_args(k, where, limit)
        lo, hi = to_ms(start, "start"), to_ms(end, "end")
        clauses: list[str] = []
        params: list[Any] = []
        for col, value in conditions.items():
            clauses.append(f"{col} = %s")
            params.append(value)
        if lo is not None:
            clauses.append(f"{k.time_column} >= %s")
            params.append(lo)
        if hi is not None:
            clauses.append(f"{k.time_column} <= %s")
            params.append(hi)
        names = k.column_names
        query = f"SELECT {', '.join(names[:-1])}, raw::text FROM {k.table}"
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += f" ORDER BY {k.time_column}, {', '.join(k.key)}"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._lock, self._operation():
            conn = self._connection()
            try:
                with conn.transaction():
                    rows = conn.execute(query.encode(), params).fetchall()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drop_connection()
                raise StorageUnavailableError(f"PostgreSQL unavailable: {_first_line(exc)}") from exc
            except psycopg.Error as exc:
                raise StorageError(f"read of {kind} failed: {_first_line(exc)}") from exc
        return [StoredRow(k.name, dict(zip(names[:-1], r[:-1], strict=True)), json.loads(r[-1])) for r in rows]

    def count(self, kind: str) -> int:
        """Number of stored rows of ``kind``."""
        import psycopg

        k = get_kind(kind)
        with self._lock, self._operation():
            conn = self._connection()
            try:
                with conn.transaction():
                    row = conn.execute(f"SELECT count(*) FROM {k.table}".encode()).fetchone()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drop_connection()
                raise StorageUnavailableError(f"PostgreSQL unavailable: {_first_line(exc)}") from exc
        return int(row[0]) if row else 0
