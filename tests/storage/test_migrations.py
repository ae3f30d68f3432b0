"""Schema migrations on real DuckDB files: from empty, from version 1, refusing newer files; typed errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from storage.db import connect, connect_readonly, latest_version, load_migrations, migrate, schema_version
from storage.errors import IntegrityError, MigrationError, NotFoundError, StorageError

TABLES = {
    "schema_version",
    "devices",
    "sessions",
    "samples",
    "analysis_runs",
    "sets",
    "reps",
    "plans",
    "reports",
}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])
    return {r[0] for r in rows.fetchall()}


def test_migrations_are_numbered_from_one() -> None:
    migs = load_migrations()
    assert [m.version for m in migs] == list(range(1, len(migs) + 1))
    assert latest_version() == migs[-1].version >= 2


def test_migrate_from_empty(db_file: Path) -> None:
    with connect(db_file) as con:
        assert schema_version(con) == latest_version()
        assert _tables(con) >= TABLES
        assert "peak_concentric_speed_dps" in _columns(con, "reps")
        versions = [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()]
        assert versions == list(range(1, latest_version() + 1))
    # Opening again applies nothing.
    with connect(db_file) as con:
        assert migrate(con) == []


def test_migrate_from_version_1_keeps_data(db_file: Path) -> None:
    started = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with connect(db_file, migrate_to=1) as con:
        assert schema_version(con) == 1
        assert "peak_concentric_speed_dps" not in _columns(con, "reps")
        con.execute(
            "INSERT INTO sessions (session_id, started_at, source, content_sha256, status) "
            "VALUES ('s1', ?, 'spool', 'abc', 'analysed')",
            [started],
        )
        con.execute(
            "INSERT INTO sets (set_id, session_id, run_id, set_index, exercise, start_s, end_s, started_at, "
            "n_reps, resistance, load_value, load_unit, load_source) "
            "VALUES ('x1', 's1', 'r1', 1, 'clamshell', 1, 30, ?, 12, 'band:red', 2, 'band_level', 'user')",
            [started],
        )
        con.execute(
            "INSERT INTO reps (rep_id, session_id, set_id, rep_index, start_s, top_start_s, top_end_s, "
            "end_s, concentric_s, top_hold_s, eccentric_s, rom_deg, partial) "
            "VALUES ('p1', 's1', 'x1', 1, 1, 2, 2.5, 3.5, 1, 0.5, 1, 42, FALSE)"
        )
    with connect(db_file) as con:
        assert schema_version(con) == latest_version()
        assert con.execute("SELECT session_id, started_at FROM sessions").fetchall() == [("s1", started)]
        assert con.execute("SELECT resistance, load_value, load_set_at FROM sets").fetchall() == [
            ("band:red", 2.0, None)
        ]
        assert con.execute("SELECT rom_deg, peak_concentric_speed_dps FROM reps").fetchall() == [(42.0, None)]


def test_newer_database_is_refused(db_file: Path) -> None:
    with connect(db_file) as con:
        con.execute("INSERT INTO schema_version (version, name) VALUES (999, 'from_the_future')")
    with pytest.raises(MigrationError) as err, connect(db_file):
        pass
    assert err.value.version == 999


def test_duckdb_errors_leave_as_storage_errors(db_file: Path) -> None:
    with pytest.raises(IntegrityError) as err, connect(db_file) as con:
        for _ in range(2):
            con.execute("INSERT INTO devices (device_id, profile) VALUES (?, ?)", ["d1", "polar-h10"])
    assert isinstance(err.value, ValueError)
    assert isinstance(err.value.__cause__, duckdb.Error)
    with pytest.raises(StorageError), connect(db_file) as con:
        con.execute("SELECT no_such_column FROM sessions")


def test_readonly_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError), connect_readonly(tmp_path / "missing.duckdb"):
        pass


def test_migrations_never_alter_tables_with_now_defaults() -> None:
    """DuckDB 1.5 cannot replay from its WAL an ALTER TABLE on a table whose column defaults to now(): a
    crash before the next checkpoint would leave a database nobody can open. Add tables instead."""
    migs = load_migrations()
    with_now = set()
    for m in migs:
        for table, body in re.findall(r"CREATE TABLE\s+(\w+)\s*\((.*?)\n\);", m.sql, re.S | re.I):
            if re.search(r"DEFAULT\s+(now\(\)|current_timestamp)", body, re.I):
                with_now.add(table.lower())
    assert {"sessions", "devices", "analysis_runs", "reports"} <= with_now  # the parser sees them
    altered = {t.lower() for m in migs for t in re.findall(r"ALTER TABLE\s+(\w+)", m.sql, re.I)}
    assert altered, "no ALTER TABLE found: the check would be vacuous"
    assert not altered & with_now
