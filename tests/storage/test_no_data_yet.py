"""A database without data (issue 19, item 6): created complete or not at all; readers say "no data yet".

An older hipsync killed during the first migration left a database file with no tables (3 of 20 kills):
``hipsync report`` then printed a ``QueryError`` traceback and ``hipsync sessions`` a raw catalog error
until the next sync. Now a new database is built under a temporary name and linked into place when
complete, and a file without a schema reads as "no data yet".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import storage.db
from hipsync.cli import app
from storage.db import connect, connect_readonly, has_schema, latest_version, schema_version
from storage.errors import MigrationError, NoDataYetError, NotFoundError
from storage.report_queries import fetch_report_rows


def _schemaless(path: Path) -> Path:
    """What the killed first migration left: a DuckDB file with no tables."""
    duckdb.connect(str(path)).close()
    return path


def test_readers_of_a_file_without_schema_say_no_data_yet(hipsync_home: Path) -> None:
    db = _schemaless(hipsync_home / "hipsync.duckdb")
    with pytest.raises(NoDataYetError) as err, connect_readonly(db):
        pass
    assert (
        isinstance(err.value, NotFoundError)
        and "hipsync sync" in str(err.value)
        and str(db) in str(err.value)
    )
    assert not has_schema(db)
    rows = fetch_report_rows(db, datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    assert rows.sessions == () and rows.plans == ()

    r = CliRunner().invoke(app, ["sessions"])
    assert r.exit_code == 0 and "no sessions stored yet" in r.stdout and "hipsync sync" in r.stdout, r.output
    r = CliRunner().invoke(app, ["report", "--format", "json", "--week", "2026-W47"])
    assert r.exit_code == 0 and "no data yet" in r.stderr and "Traceback" not in r.output, r.output
    # The next writer completes it.
    with connect(db) as con:
        assert schema_version(con) == latest_version()


def test_a_mistyped_db_option_is_an_error_naming_it(hipsync_home: Path) -> None:
    typo = hipsync_home / "hipsnyc.duckdb"
    commands = (
        ["sessions"],
        ["sessions", "show", "last"],
        ["reprocess"],
        ["export", str(hipsync_home / "out")],
        ["history", "clamshell"],
        ["records"],
        ["edit", "list"],
        ["edit", "exercise", "last", "1", "clamshell"],
    )
    for command in commands:
        r = CliRunner().invoke(app, [*command, "--db", str(typo)])
        assert r.exit_code == 2 and str(typo) in r.stderr, (command, r.output)
        assert not typo.exists()  # and nothing was created at the typo's path


def test_a_new_database_appears_complete_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "hipsync.duckdb"
    real = storage.db.migrate

    def fails_half_way(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
        real(con, 1)
        raise MigrationError("killed after migration 001", version=2)

    monkeypatch.setattr(storage.db, "migrate", fails_half_way)
    with pytest.raises(MigrationError), connect(db):
        pass
    assert list(tmp_path.iterdir()) == []  # neither the database nor a temporary one
    monkeypatch.undo()
    with connect(db) as con:
        assert schema_version(con) == latest_version()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hipsync.duckdb"]


def test_a_temporary_database_left_by_a_killed_creation_is_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".hipsync.duckdb.999999999.0badcafe.tmp"  # no such process
    stale.write_bytes(b"half a database")
    with connect(tmp_path / "hipsync.duckdb"):
        pass
    assert not stale.exists()
