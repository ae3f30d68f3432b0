"""DuckDB connections: the single writer (with migrations) and short read-only connections.

DuckDB lets one process open a database file for writing, and that lock also keeps read-only openers out.
So the writer here holds its connection only for one short transaction and closes it; readers (reports,
notebooks, ``hipsync sessions``) open read-only and retry briefly while a writer is in. Both sides retry on
a lock conflict with a capped exponential backoff and give up with :class:`DatabaseLockedError`.

Migrations are ``storage/migrations/NNN_name.sql``, applied in order, each in its own transaction together
with its row in ``schema_version``. The schema is documented in ``docs/schema.md``.

Only bound parameters (``?``) carry values into SQL; identifiers come from constants in this package.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from storage.errors import (
    DatabaseLockedError,
    IntegrityError,
    MigrationError,
    NotFoundError,
    PlanError,
    QueryError,
    StorageError,
    TransactionConflictError,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "MIGRATIONS_DIR",
    "WRITER_THREADS",
    "DatabaseLockedError",
    "IntegrityError",
    "Migration",
    "MigrationError",
    "NotFoundError",
    "PlanError",
    "QueryError",
    "StorageError",
    "TransactionConflictError",
    "as_utc",
    "connect",
    "connect_readonly",
    "latest_version",
    "load_migrations",
    "migrate",
    "retry_conflicts",
    "schema_version",
    "transaction",
    "translate_error",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_LOCK_TIMEOUT_S = 30.0
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
# The first backoff is short: a writer's transaction for one session takes tens of milliseconds.
#: DuckDB threads of the writer. Its big statement is the samples bulk insert, which DuckDB spreads over
#: its threads one row group per Arrow batch (storage.samples cuts the table to that size), keeping the
#: stored order: on 2 cores, 2 threads load samples ~1.6x faster in wall time for ~10% more CPU
#: (``benchmarks/bench_ingest.py``). Decoding and analysis run before the write, so nothing else waits.
WRITER_THREADS = 2
_BACKOFF_START_S = 0.01
_BACKOFF_MAX_S = 0.25


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One numbered schema change (``NNN_name.sql``)."""

    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration in ``directory``, sorted by version; numbers must run 1, 2, 3, ... without gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        m = _MIGRATION_NAME.match(path.name)
        if m is None:
            raise MigrationError(f"migration file name must be NNN_name.sql: {path.name}")
        found.append(Migration(version=int(m.group(1)), name=m.group(2), sql=path.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    for expected, mig in enumerate(found, start=1):
        if mig.version != expected:
            raise MigrationError(
                f"migration numbers must be contiguous; expected {expected:03d}, got {mig.version:03d}"
            )
    return found


def latest_version() -> int:
    """The schema version this program writes."""
    migs = load_migrations()
    return migs[-1].version if migs else 0


def as_utc(ts: datetime) -> datetime:
    """``ts`` in UTC. The database stores UTC instants; a naive value is taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def translate_error(e: duckdb.Error) -> StorageError:
    """The :class:`StorageError` subclass for a DuckDB error (raise it ``from e``)."""
    if isinstance(e, duckdb.ConstraintException):
        return IntegrityError(str(e))
    if isinstance(e, duckdb.TransactionException):
        return TransactionConflictError(str(e))
    return QueryError(str(e))


def _is_lock_conflict(e: duckdb.Error) -> bool:
    """Another process holds the file, or (same process) a connection with the other read-only mode is open.

    Both clear when the other connection closes, which with short connections is soon: retry.
    """
    text = str(e)
    if isinstance(e, duckdb.IOException):
        return "lock" in text.lower() or "Conflicting" in text
    return isinstance(e, duckdb.ConnectionException) and "different configuration" in text


def _open(db_path: Path, *, read_only: bool, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open the file, retrying while another process holds a conflicting lock."""
    deadline = time.monotonic() + timeout_s
    delay = _BACKOFF_START_S
    t0 = time.monotonic()
    while True:
        try:
            con = duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.Error as e:
            if not _is_lock_conflict(e):
                raise translate_error(e) from e
            if time.monotonic() + delay > deadline:
                raise DatabaseLockedError(str(db_path), time.monotonic() - t0, str(e)) from e
            log.debug("database %s locked, retrying in %.3f s", db_path, delay)
            time.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX_S)
            continue
        try:
            # Timestamps come back in UTC whatever the machine's zone is.
            con.execute("SET TimeZone = 'UTC'")
            if not read_only:
                con.execute(f"SET threads = {WRITER_THREADS}")
        except duckdb.Error as e:
            con.close()
            raise translate_error(e) from e
        return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration, 0 for an empty database."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: the latest); returns the versions applied.

    Each migration runs in one transaction with its ``schema_version`` row, so a failure leaves the
    database at the previous version.
    """
    migs = load_migrations()
    newest = migs[-1].version if migs else 0
    target = newest if target is None else target
    current = schema_version(con)
    if current > newest:
        raise MigrationError(
            f"database schema version {current} is newer than this program's ({newest}); upgrade hipsync",
            version=current,
        )
    applied: list[int] = []
    if current and any(current < m.version <= target for m in migs):
        con.execute("CHECKPOINT")  # start from an empty WAL: a migration's WAL then holds nothing else
    for mig in migs:
        if mig.version <= current or mig.version > target:
            continue
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            con.execute(mig.sql)
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [mig.version, mig.name])
            con.execute("COMMIT")
        except duckdb.Error as e:
            _rollback_quietly(con)
            raise MigrationError(
                f"migration {mig.version:03d}_{mig.name} failed: {e}", version=mig.version
            ) from e
        log.info("applied migration %03d_%s", mig.version, mig.name)
        applied.append(mig.version)
    if applied:
        # Move the new schema from the WAL into the file at once, so that a writer killed later leaves a
        # WAL of plain data rows. (DuckDB 1.5 fails to replay some DDL, e.g. ALTER TABLE on a table with a
        # now() default, which is why migrations never do that: see tests/storage/test_migrations.py.)
        con.execute("CHECKPOINT")
    return applied


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    # No transaction may be open (the failure came from BEGIN itself): then there is nothing to undo.
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


_WRITER_LOCKS: dict[str, threading.RLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    key = str(path.resolve())
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.RLock())


@contextmanager
def connect(
    db_path: Path | str,
    *,
    timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    migrate_to: int | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer connection: opened (retrying on lock conflicts), migrated, closed on exit.

    Keep the ``with`` block short (one transaction) so readers in other processes can get in between.
    DuckDB errors raised inside the block leave as :class:`StorageError` subclasses.
    """
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time per file in this process too (threads, e.g. concurrent Prefect tasks): DuckDB
    # would otherwise let their transactions (and migrations) race and fail with write-write conflicts.
    with _writer_lock(path):
        con = _open(path, read_only=False, timeout_s=timeout_s)
        try:
            migrate(con, migrate_to)
            yield con
        except duckdb.Error as e:
            raise translate_error(e) from e
        finally:
            con.close()


@contextmanager
def connect_readonly(
    db_path: Path | str, *, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only connection that waits (retrying) while a writer holds the file.

    Raises :class:`NotFoundError` if the database file does not exist yet (nothing was ever synced).
    """
    path = Path(db_path)
    if not path.exists():
        raise NotFoundError(f"no database at {path}; run `hipsync sync` or `hipsync import` first")
    con = _open(path, read_only=True, timeout_s=timeout_s)
    try:
        yield con
    except duckdb.Error as e:
        raise translate_error(e) from e
    finally:
        con.close()


def retry_conflicts(fn: Callable[[], T], *, attempts: int = 5) -> T:
    """Run ``fn`` (which opens its own connection and transaction) again if it lost a write conflict.

    Conflicts happen when threads of one process (e.g. concurrent Prefect tasks) write the same rows, such
    as the same device; the loser was rolled back entirely, so running it again is safe.
    """
    delay = _BACKOFF_START_S
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except TransactionConflictError:
            if attempt == attempts:
                raise
            log.debug("write conflict, retrying (attempt %d of %d)", attempt + 1, attempts)
            time.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX_S)
    raise AssertionError("unreachable")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT; any exception inside rolls everything back and propagates."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        _rollback_quietly(con)
        raise
    try:
        con.execute("COMMIT")
    except duckdb.Error as e:
        _rollback_quietly(con)
        raise translate_error(e) from e
