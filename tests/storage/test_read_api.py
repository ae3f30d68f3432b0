"""storage.read_api: the views' numbers against hand-computed values, locking, missing databases.

Every expected number below is worked out by hand from HAND_SESSIONS in conftest.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from hipsync.records import Exercise, Side
from storage import read_api
from storage.read_api import (
    DatabaseBusyError,
    DatabaseNotFoundError,
    SchemaMissingError,
    SessionNotFoundError,
    open_readonly,
)


@pytest.fixture
def conn(handmade_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_readonly(handmade_db)
    yield c
    c.close()


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, object]]:
    rel = conn.execute(sql)
    names = [d[0] for d in rel.description]
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


def test_v_sets_matches_hand_computed_values(conn: duckdb.DuckDBPyConnection) -> None:
    rows = {
        (r["session_id"], r["set_index"]): r for r in _rows(conn, "SELECT * FROM v_sets ORDER BY session_id")
    }
    # the superseded run of s1 (5 reps of ROM 99) is hidden
    assert sorted(rows) == [("s1", 1), ("s1", 2), ("s2", 1), ("s3", 1)]
    s1c = rows[("s1", 1)]
    assert s1c["exercise"] == "clamshell" and s1c["side"] == "left"
    assert s1c["session_date"] == date(2026, 11, 2) and s1c["iso_week"] == "2026-W45"
    assert s1c["n_reps"] == 3 and s1c["volume_load"] == pytest.approx(6.0)  # 3 reps x band level 2
    assert s1c["tut_s"] == pytest.approx(9.0)
    assert s1c["duration_s"] == pytest.approx(10.0)  # 3 x 3 s reps + 2 x 0.5 s pauses
    assert s1c["median_concentric_s"] == pytest.approx(1.0)
    assert s1c["median_eccentric_s"] == pytest.approx(1.5)
    assert s1c["median_rom_deg"] == pytest.approx(40.0)
    s1l = rows[("s1", 2)]
    assert s1l["load_unit"] == "kg" and s1l["volume_load"] == pytest.approx(2.0)
    assert s1l["tut_s"] == pytest.approx(8.0) and s1l["median_concentric_s"] == pytest.approx(1.5)
    s2 = rows[("s2", 1)]
    assert (s2["n_reps"], s2["n_full_reps"], s2["n_partial_reps"]) == (4, 3, 1)
    assert s2["tut_s"] == pytest.approx(2.5 + 3.5 + 2.9 + 0.6)  # partial reps are still under tension
    assert s2["median_rom_deg"] == pytest.approx(46.0)  # the partial rep (10 deg) is left out
    assert s2["volume_load"] == pytest.approx(8.0)


def test_v_reps_carries_set_and_session_fields(conn: duckdb.DuckDBPyConnection) -> None:
    rows = _rows(conn, "SELECT * FROM v_reps WHERE session_id = 's2' ORDER BY rep_index")
    assert [r["rep_index"] for r in rows] == [1, 2, 3, 4]
    assert {r["exercise"] for r in rows} == {"clamshell"}
    assert {r["session_date"] for r in rows} == {date(2026, 11, 5)}
    assert [r["tut_s"] for r in rows] == pytest.approx([2.5, 3.5, 2.9, 0.6])
    assert [r["partial"] for r in rows] == [False, False, False, True]
    assert rows[0]["started_at"] == datetime(2026, 11, 5, 8, 0, 10, tzinfo=UTC)
    assert rows[1]["start_s"] == pytest.approx(10.0 + 2.5 + 0.5)
    assert conn.execute("SELECT count(*) FROM v_reps WHERE rom_deg = 99").fetchone() == (0,)


def test_v_sessions_aggregates_sets(conn: duckdb.DuckDBPyConnection) -> None:
    rows = {r["session_id"]: r for r in _rows(conn, "SELECT * FROM v_sessions")}
    assert set(rows) == {"s1", "s2", "s3", "s4"}
    assert (rows["s1"]["n_sets"], rows["s1"]["n_reps"]) == (2, 5)
    assert rows["s1"]["volume_load"] is None  # band levels and kg cannot be added
    assert rows["s2"]["volume_load"] == pytest.approx(8.0)
    assert rows["s1"]["tut_s"] == pytest.approx(17.0)
    assert rows["s1"]["duration_s"] == pytest.approx(600.0)
    assert rows["s1"]["algorithm_version"] == "test-1"
    assert (rows["s4"]["n_sets"], rows["s4"]["n_reps"], rows["s4"]["status"]) == (0, 0, "quarantined")


def test_v_weekly_matches_hand_computed_values(conn: duckdb.DuckDBPyConnection) -> None:
    rows = {(r["iso_week"], r["exercise"], r["side"]): r for r in _rows(conn, "SELECT * FROM v_weekly")}
    assert set(rows) == {
        ("2026-W45", "clamshell", "left"),
        ("2026-W45", "clamshell", "right"),
        ("2026-W45", "side_lying_leg_raise", "left"),
    }
    cl = rows[("2026-W45", "clamshell", "left")]
    assert (cl["n_sessions"], cl["n_sets"], cl["n_reps"]) == (2, 2, 7)
    assert cl["volume_load"] == pytest.approx(14.0) and cl["load_unit"] == "band_level"
    assert cl["tut_s"] == pytest.approx(18.5)
    assert cl["week_start"] == date(2026, 11, 2)
    # medians over the six full reps: concentric 0.8 1.0 1.0 1.0 1.2 1.4, eccentric 1.0 1.0 1.4 1.5 1.6 2.0
    assert cl["median_concentric_s"] == pytest.approx(1.0)
    assert cl["median_eccentric_s"] == pytest.approx(1.45)
    assert cl["median_rom_deg"] == pytest.approx(43.0)
    assert cl["median_bottom_pause_s"] == pytest.approx(0.5)
    cr = rows[("2026-W45", "clamshell", "right")]
    assert cr["volume_load"] == pytest.approx(6.0) and cr["median_rom_deg"] == pytest.approx(51.0)
    assert rows[("2026-W45", "side_lying_leg_raise", "left")]["load_unit"] == "kg"


def test_time_zone_moves_late_sessions_to_the_local_day(handmade_db: Path) -> None:
    # s3 starts Sunday 23:30 UTC, which is Monday 00:30 in Berlin: a different day and ISO week
    with open_readonly(handmade_db, time_zone="Europe/Berlin") as conn:
        row = conn.execute("SELECT session_date, iso_week FROM v_sessions WHERE session_id = 's3'").fetchone()
        weeks = conn.execute("SELECT DISTINCT iso_week FROM v_weekly ORDER BY 1").fetchall()
    assert row == (date(2026, 11, 9), "2026-W46")
    assert weeks == [("2026-W45",), ("2026-W46",)]


def test_unknown_time_zone_is_rejected(handmade_db: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        open_readonly(handmade_db, time_zone="Mars/Olympus'")


def test_connection_is_read_only(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error):
        conn.execute("DELETE FROM sessions")


def test_load_samples_sorts_and_restores_units(conn: duckdb.DuckDBPyConnection) -> None:
    rec = read_api.load_samples(conn, "s1")
    t = np.arange(100) / 50.0
    np.testing.assert_allclose(rec.time_s, t)
    np.testing.assert_allclose(rec.accel_g[:, 0], np.sin(t), atol=0.51e-6)  # stored in micro-g
    assert rec.gyro_dps is not None
    np.testing.assert_allclose(rec.gyro_dps[:, 0], 10 * t, atol=0.51e-3)  # milli-deg/s
    assert rec.side is Side.LEFT and rec.fs_hz == 50.0
    assert rec.started_at == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    no_gyro = read_api.load_samples(conn, "s3")
    assert no_gyro.gyro_dps is None and no_gyro.n_samples == 100 and no_gyro.side is Side.RIGHT


def test_load_analysis_rebuilds_records(conn: duckdb.DuckDBPyConnection) -> None:
    analysis = read_api.load_analysis(conn, "s2")
    assert analysis.algorithm_version == "test-1"
    assert analysis.parameters == {"min_rom_deg": 10}
    (only,) = analysis.sets
    assert only.exercise is Exercise.CLAMSHELL and only.side is Side.LEFT
    assert [r.partial for r in only.reps] == [False, False, False, True]
    tempo = only.tempo()
    assert tempo[1].eccentric_s == pytest.approx(2.0) and tempo[1].bottom_pause_s == pytest.approx(0.5)
    assert read_api.load_analysis(conn, "s4").sets == ()


def test_latest_session_prefers_sessions_with_sets(conn: duckdb.DuckDBPyConnection) -> None:
    assert read_api.latest_session_id(conn) == "s3"
    assert read_api.latest_session_id(conn, with_sets=False) == "s4"


def test_unknown_session_raises(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(SessionNotFoundError, match="nope"):
        read_api.load_samples(conn, "nope")
    with pytest.raises(LookupError):
        read_api.load_analysis(conn, "nope")


def test_missing_database_says_what_to_run(hipsync_home: Path) -> None:
    with pytest.raises(DatabaseNotFoundError) as info:
        open_readonly()  # defaults to $HIPSYNC_HOME/hipsync.duckdb
    msg = str(info.value)
    assert str(hipsync_home / "hipsync.duckdb") in msg
    assert "hipsync demo" in msg and "hipsync sync" in msg
    assert isinstance(info.value, FileNotFoundError)
    assert not (hipsync_home / "hipsync.duckdb").exists()  # looking must not create it


def test_database_without_schema_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(SchemaMissingError, match="not a hipsync database"):
        open_readonly(path)


_HOLD_LOCK = textwrap.dedent(
    """
    import sys, time, pathlib, duckdb
    conn = duckdb.connect(sys.argv[1])          # a writer: takes the file lock
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    pathlib.Path(sys.argv[3]).write_text("released")
    conn.close()
    """
)


def _hold_lock(db: Path, hold_s: float, marker: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(db), str(hold_s), str(marker)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def writable_copy(handmade_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "hipsync.duckdb"
    path.write_bytes(handmade_db.read_bytes())
    return path


def test_open_waits_while_another_process_writes(writable_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "released"
    proc = _hold_lock(writable_copy, 1.0, marker)
    try:
        with open_readonly(writable_copy, timeout_s=30.0) as conn:
            # the open can only succeed after the writer let go, which it announces first
            assert marker.exists()
            assert conn.execute("SELECT count(*) FROM v_sets").fetchone() == (4,)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_open_gives_up_with_a_clear_error(writable_copy: Path, tmp_path: Path) -> None:
    proc = _hold_lock(writable_copy, 60.0, tmp_path / "released")
    try:
        with pytest.raises(DatabaseBusyError) as info:
            open_readonly(writable_copy, timeout_s=0.5)
        assert str(writable_copy) in str(info.value)
        assert "another process" in str(info.value)
        assert isinstance(info.value, TimeoutError)
        assert info.value.waited_s >= 0.5
    finally:
        proc.kill()
        proc.wait(timeout=30)
