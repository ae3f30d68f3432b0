"""The Parquet lake: what it holds equals the athletes' databases, and a re-export writes only changes."""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from flows.cohort.lake import MANIFEST, LakeBusyError, export_lake
from flows.cohort.layout import find_athletes
from storage.lake import BY_WEEK, LAKE_COLUMNS, LAKE_TABLES, by_week_path, open_lake, partition_path
from storage.sessions import list_sessions, log_session

# Per athlete database: (sessions, sets, reps) of the current analysis, as the lake should hold them.
_DB_COUNTS = """
SELECT (SELECT count(*) FROM sessions),
       (SELECT count(*) FROM sets st JOIN analysis_runs r USING (run_id) WHERE r.is_current),
       (SELECT count(*) FROM reps JOIN sets st USING (set_id) JOIN analysis_runs r USING (run_id)
        WHERE r.is_current)
"""


def _files(lake: Path) -> dict[Path, int]:
    """Every Parquet file of the lake (athlete partitions and by-week copy) and its modification time."""
    return {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}


def _athlete_files(lake: Path) -> set[Path]:
    return {p for p in _files(lake) if BY_WEEK not in p.parts}


def test_the_lake_holds_every_athletes_sessions_sets_and_reps(small_cohort: Path, lake: Path) -> None:
    athletes = find_athletes(small_cohort)
    with open_lake(lake) as con:
        for a in athletes:
            with duckdb.connect(str(a.db_path), read_only=True) as db:
                expected = db.execute(_DB_COUNTS).fetchone()
                weeks = {
                    r[0] for r in db.execute("SELECT strftime(started_at, '%G-W%V') FROM sessions").fetchall()
                }
            got = tuple(
                con.execute(f"SELECT count(*) FROM {t} WHERE athlete = ?", [a.athlete]).fetchone()[0]  # type: ignore[index]
                for t in ("sessions", "sets", "reps")
            )
            assert got == expected and got[2] > 0, a.athlete
            n_reps = con.execute("SELECT sum(n_reps) FROM sessions WHERE athlete = ?", [a.athlete]).fetchone()
            assert n_reps == (sum(s.n_reps for s in list_sessions(a.db_path)),)
            lake_weeks = {
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT week FROM sessions WHERE athlete = ?", [a.athlete]
                ).fetchall()
            }
            assert lake_weeks == weeks
            for w in weeks:
                assert (
                    partition_path(lake, "reps", a.athlete, w)
                    == lake / "reps" / f"athlete={a.athlete}" / f"week={w}" / "data.parquet"
                )
                assert partition_path(lake, "reps", a.athlete, w).exists()
        info = dict(con.execute("SELECT athlete, sessions_per_week FROM athletes").fetchall())
    assert info == {a.athlete: a.info.sessions_per_week for a in athletes}


def test_the_by_week_copy_holds_the_same_rows_as_the_athlete_partitions(lake: Path) -> None:
    for table in (*LAKE_TABLES, "athletes"):
        order = "athlete, week" if table != "athletes" else "athlete"
        cols = ", ".join([name for name, _ in LAKE_COLUMNS[table]] + order.split(", "))
        with open_lake(lake, by_week=False) as con:
            per_athlete = con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
        with open_lake(lake) as con:
            per_week = con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
        assert per_week == per_athlete and per_athlete, table
    assert len(list((lake / BY_WEEK / "reps").glob("week=*/data.parquet"))) == 2  # two weeks, all athletes


def test_any_parquet_reader_reads_the_hive_partitions(lake: Path) -> None:
    reps = ds.dataset(lake / "reps", format="parquet", partitioning="hive").to_table()
    assert {"athlete", "week"} <= set(reps.column_names)
    assert set(reps.column_names) - {"athlete", "week"} == {name for name, _ in LAKE_COLUMNS["reps"]}
    with open_lake(lake) as con:
        assert reps.num_rows == con.execute("SELECT count(*) FROM reps").fetchone()[0]  # type: ignore[index]


def test_exporting_again_writes_nothing(small_cohort: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = export_lake(small_cohort, lake)
    assert first.written == len(_athlete_files(lake)) and first.unchanged == 0 and (lake / MANIFEST).exists()
    assert first.by_week == len(_files(lake)) - first.written > 0
    before = _files(lake)
    again = export_lake(small_cohort, lake)
    assert (again.written, again.removed, again.unchanged, again.by_week) == (0, 0, 4, 0)
    assert _files(lake) == before


def test_a_correction_rewrites_only_its_partition(cohort: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    export_lake(cohort, lake)
    before = _files(lake)
    session = list_sessions(cohort / "athlete-001" / "hipsync.duckdb")[0]
    log_session(cohort / "athlete-001" / "hipsync.duckdb", session.session_id, rpe=9)
    res = export_lake(cohort, lake)
    week = f"{session.started_at.isocalendar().year}-W{session.started_at.isocalendar().week:02d}"
    target = partition_path(lake, "sessions", "athlete-001", week)
    changed = {p for p, t in _files(lake).items() if before.get(p) != t}
    assert changed == {target, by_week_path(lake, "sessions", week)}
    assert (res.written, res.unchanged, res.by_week) == (1, 3, 1)
    with open_lake(lake) as con:
        assert con.execute(
            "SELECT rpe FROM sessions WHERE session_id = ?", [session.session_id]
        ).fetchone() == (9.0,)


def test_a_lost_file_is_written_again_and_a_gone_athlete_is_dropped(cohort: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    export_lake(cohort, lake)
    lost = next((lake / "sets" / "athlete=athlete-002").rglob("data.parquet"))
    lost.unlink()
    shutil.rmtree(cohort / "athlete-004")
    res = export_lake(cohort, lake)
    assert lost.exists() and res.written == 1
    assert res.dropped_athletes == ("athlete-004",)
    assert not list(lake.rglob("athlete=athlete-004"))
    assert not list((lake / BY_WEEK).rglob("*athlete-004*"))
    with open_lake(lake) as con:
        assert con.execute("SELECT DISTINCT athlete FROM reps ORDER BY 1").fetchall() == [
            ("athlete-001",),
            ("athlete-002",),
            ("athlete-003",),
        ]


def test_one_export_at_a_time(small_cohort: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    with (lake / ".lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(LakeBusyError, match="another export"):
            export_lake(small_cohort, lake)
    assert not (lake / MANIFEST).exists()


def test_an_empty_lake_still_has_every_table(tmp_path: Path) -> None:
    with open_lake(tmp_path) as con:
        for table in (*LAKE_TABLES, "athletes"):
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert cols[: len(LAKE_COLUMNS[table])] == [n for n, _ in LAKE_COLUMNS[table]]
            assert "athlete" in cols and con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
