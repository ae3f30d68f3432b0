"""Typed storage errors. DuckDB's own exceptions never leave ``storage``: they are re-raised as these.

Each error also subclasses the fitting builtin so callers that only know Python's exceptions still work.
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error raised by ``storage``."""


class DatabaseLockedError(StorageError, TimeoutError):
    """Another process held the database file for longer than the retry budget."""

    def __init__(self, db_path: str, waited_s: float, detail: str) -> None:
        super().__init__(
            f"database {db_path} is locked by another process (waited {waited_s:.1f} s): {detail}"
        )
        self.db_path = db_path
        self.waited_s = waited_s


class MigrationError(StorageError, RuntimeError):
    """A schema migration failed or the database is newer than this program."""

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version


class IntegrityError(StorageError, ValueError):
    """A write violated a constraint (e.g. the same content imported twice concurrently)."""


class TransactionConflictError(StorageError, RuntimeError):
    """Two transactions of this process wrote the same rows; the later one was rolled back (retry it)."""


class NotFoundError(StorageError, LookupError):
    """A session, set or plan the caller named does not exist (or a prefix is ambiguous)."""


class NoDataYetError(NotFoundError):
    """The database file does not exist yet, or holds no schema yet: nothing was ever synced into it.

    Attributes:
        db_path: the database file.
    """

    def __init__(self, db_path: str) -> None:
        super().__init__(f"no data yet in {db_path}: run `hipsync sync` (or `hipsync import FILE`) first")
        self.db_path = db_path


class QueryError(StorageError, RuntimeError):
    """Any other DuckDB error, with the original attached as ``__cause__``."""


class PlanError(StorageError, ValueError):
    """The plan file or a resistance text cannot be parsed."""
