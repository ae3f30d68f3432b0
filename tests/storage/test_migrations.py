"""Schema migrations on real DuckDB files: from empty, from version 1, refusing newer files; typed errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
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


def _v2_database_with_samples(db_file: Path) -> None:
    """A version-2 file: two sessions whose float samples are interleaved on disk, one NaN, one NULL gyro."""
    started = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with connect(db_file, migrate_to=2) as con:
        for sid, sha, day in (("s1", "a" * 64, 0), ("s2", "b" * 64, 1)):
            con.execute(
                "INSERT INTO sessions (session_id, started_at, source, content_sha256, status, n_samples, "
                "imported_at) VALUES (?, ?, 'spool', ?, 'analysed', 3, ?)",
                [sid, started, sha, started.replace(day=2 + day)],
            )
        rows = [
            ("s1", 0.02, 0.0009765625, -0.5, 1.0, 61.03515625, 0.0, -1999.9),
            ("s2", 5.0, 1.0, 0.0, 0.0, None, None, None),
            ("s1", 0.01, float("nan"), 0.25, 1.0, 0.06103515625, 0.0, 0.0),  # clock stepped back
            ("s2", 5.01, 1.0, 0.0, 0.0, None, None, None),
            ("s1", 0.03, 15.999, -16.0, 1.0, 2000.0, -2000.0, 0.001),
            ("s2", 5.02, 1.0, 0.0, 0.0, None, None, None),
        ]
        con.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _check_v3_samples(db_file: Path) -> None:
    from storage.read_api import open_readonly
    from storage.reprocess import load_recording

    with connect_readonly(db_file) as con:
        assert schema_version(con) == 3 <= latest_version()
        keys = dict(con.execute("SELECT session_id, session_key FROM sessions").fetchall())
        assert keys == {"s1": 1, "s2": 2}  # numbered in import order
        s1 = con.execute(
            "SELECT t_us, ax_ug, ay_ug, gx_mdps, gz_mdps FROM samples WHERE session_key = 1"
        ).fetchall()
        assert s1 == [  # stored order kept, NaN now NULL, float32 values rounded to the unit
            (20_000, 977, -500_000, 61_035, -1_999_900),
            (10_000, None, 250_000, 61, 0),
            (30_000, 15_999_000, -16_000_000, 2_000_000, 1),
        ]
        rec = load_recording(con, "s1")
        np.testing.assert_allclose(rec.time_s, [0.02, 0.01, 0.03])
        assert np.isnan(rec.accel_g[1, 0])
        assert load_recording(con, "s2").gyro_dps is None  # all-NULL gyro columns
    with open_readonly(db_file) as ro:
        got = ro.execute("SELECT t_s, ax_g FROM v_samples WHERE session_id = 's2'").fetchall()
        assert got == [(5.0, 1.0), (5.01, 1.0), (5.02, 1.0)]


def test_migrate_from_version_2_converts_samples_to_fixed_point(db_file: Path) -> None:
    _v2_database_with_samples(db_file)
    with connect(db_file, migrate_to=3) as con:
        assert schema_version(con) == 3
        # the next session takes the next key
        new = con.execute(
            "INSERT INTO sessions (session_id, started_at, source, content_sha256, status) "
            "VALUES ('s3', now(), 'csv', 'c', 'imported') RETURNING session_key"
        ).fetchone()
        assert new == (3,)
        con.execute("DELETE FROM sessions WHERE session_id = 's3'")
    _check_v3_samples(db_file)


_MIGRATE_WITHOUT_CHECKPOINT = """
import os, sys, duckdb
from storage.db import load_migrations
mig = next(m for m in load_migrations() if m.version == 3)
con = duckdb.connect(sys.argv[1])
con.execute("PRAGMA disable_checkpoint_on_shutdown")
con.execute("SET checkpoint_threshold = '10GB'")
con.execute("BEGIN TRANSACTION")
con.execute(mig.sql)
con.execute("INSERT INTO schema_version (version, name) VALUES (3, ?)", [mig.name])
con.execute("COMMIT")
os._exit(0)  # killed before any checkpoint: migration 003 lives only in the WAL
"""


def test_migration_003_replays_from_the_wal(db_file: Path) -> None:
    """Killed after migration 003 committed but before the checkpoint: the next open replays the WAL."""
    import subprocess
    import sys

    _v2_database_with_samples(db_file)
    subprocess.run([sys.executable, "-c", _MIGRATE_WITHOUT_CHECKPOINT, str(db_file)], check=True, timeout=60)
    wal = db_file.with_name(db_file.name + ".wal")
    assert wal.exists() and wal.stat().st_size > 0  # otherwise nothing was replayed
    _check_v3_samples(db_file)
