"""The cohort's Parquet lake, DuckDB side: what one athlete's database contributes, and reading it back.

Owned by the cohort work (``flows.cohort.lake`` decides what to write; ``flows.cohort.report`` reads it),
kept here because only ``storage`` imports DuckDB. Layout, one Hive-partitioned tree per table::

    LAKE/sessions/athlete=<id>/week=<YYYY-Www>/data.parquet
    LAKE/sets/athlete=<id>/week=<YYYY-Www>/data.parquet
    LAKE/reps/athlete=<id>/week=<YYYY-Www>/data.parquet
    LAKE/session_stats/athlete=<id>/week=<YYYY-Www>/data.parquet  (per session, exercise and side)
    LAKE/plans/athlete=<id>/week=<YYYY-Www>/data.parquet      (week of valid_from)
    LAKE/athletes/athlete=<id>/data.parquet                   (athlete.json: planned sessions, sides...)

    LAKE/_by_week/<table>/week=<YYYY-Www>/data.parquet         (every athlete's rows of the week, with
    LAKE/_by_week/athletes/data.parquet                         an ``athlete`` column)

``week`` is the ISO week of the session's start in UTC. The partition columns (``athlete``, ``week``) are
in the paths only, as Hive readers expect (DuckDB ``read_parquet(..., hive_partitioning = true)``,
``pyarrow.dataset(..., partitioning="hive")``). The by-week copy (:func:`compact`) holds the same rows in
one file per table and week: a query over the whole cohort then opens tens of files instead of thousands
(reading a small Parquet file costs about a millisecond whatever its size). Only sets and reps of each
session's current analysis run are exported; quarantined sessions are kept in ``sessions`` with their
status. Columns and units are those of docs/schema.md; :data:`LAKE_COLUMNS` lists them and docs/cohort.md
documents them.

Writes are atomic per file (temp file + rename), read through a read-only connection to the athlete's
database, so an export can run while that athlete syncs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from storage.db import DEFAULT_LOCK_TIMEOUT_S, connect_readonly, translate_error
from storage.errors import NotFoundError

log = logging.getLogger(__name__)

__all__ = [
    "BY_WEEK",
    "LAKE_COLUMNS",
    "LAKE_TABLES",
    "PARTITION_FILE",
    "by_week_path",
    "compact",
    "first_weeks",
    "open_lake",
    "partition_path",
    "week_digests",
    "write_athlete_row",
    "write_partitions",
]

LAKE_TABLES = ("sessions", "sets", "reps", "session_stats", "plans")
PARTITION_FILE = "data.parquet"
#: The by-week copy: every athlete's rows of one week in one file, for cohort-wide reads.
BY_WEEK = "_by_week"

#: Every lake table's columns (name, DuckDB type), partition columns excluded. ``athletes`` is written from
#: athlete.json, the others from the athlete's database.
LAKE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "sessions": (
        ("session_id", "VARCHAR"),
        ("started_at", "TIMESTAMPTZ"),
        ("ended_at", "TIMESTAMPTZ"),
        ("duration_s", "DOUBLE"),
        ("side", "VARCHAR"),
        ("profile", "VARCHAR"),
        ("sample_rate_hz", "DOUBLE"),
        ("has_gyro", "BOOLEAN"),
        ("status", "VARCHAR"),
        ("rpe", "DOUBLE"),
        ("algorithm_version", "VARCHAR"),
        ("n_sets", "BIGINT"),
        ("n_reps", "BIGINT"),
    ),
    "sets": (
        ("set_id", "VARCHAR"),
        ("session_id", "VARCHAR"),
        ("session_started_at", "TIMESTAMPTZ"),
        ("set_index", "INTEGER"),
        ("exercise", "VARCHAR"),
        ("side", "VARCHAR"),
        ("start_s", "DOUBLE"),
        ("end_s", "DOUBLE"),
        ("n_reps", "INTEGER"),
        ("velocity_loss", "DOUBLE"),
        ("tempo_consistency", "DOUBLE"),
        ("resistance", "VARCHAR"),
        ("load_value", "DOUBLE"),
        ("load_unit", "VARCHAR"),
        ("load_source", "VARCHAR"),
        ("exercise_source", "VARCHAR"),
        ("exercise_confidence", "DOUBLE"),
        ("corrected", "BOOLEAN"),
    ),
    "reps": (
        ("rep_id", "VARCHAR"),
        ("set_id", "VARCHAR"),
        ("session_id", "VARCHAR"),
        ("session_started_at", "TIMESTAMPTZ"),
        ("exercise", "VARCHAR"),
        ("side", "VARCHAR"),
        ("rep_index", "INTEGER"),
        ("concentric_s", "DOUBLE"),
        ("top_hold_s", "DOUBLE"),
        ("eccentric_s", "DOUBLE"),
        ("bottom_pause_s", "DOUBLE"),
        ("rom_deg", "DOUBLE"),
        ("partial", "BOOLEAN"),
        ("peak_concentric_speed_dps", "DOUBLE"),
    ),
    "session_stats": (
        ("session_id", "VARCHAR"),
        ("session_started_at", "TIMESTAMPTZ"),
        ("exercise", "VARCHAR"),
        ("side", "VARCHAR"),
        ("n_reps", "BIGINT"),
        ("tut_s", "DOUBLE"),
        ("concentric_s", "DOUBLE"),
        ("top_hold_s", "DOUBLE"),
        ("eccentric_s", "DOUBLE"),
        ("rom_deg", "DOUBLE"),
    ),
    "plans": (
        ("plan_id", "VARCHAR"),
        ("valid_from", "TIMESTAMPTZ"),
        ("exercise", "VARCHAR"),
        ("target_sets", "INTEGER"),
        ("target_reps_low", "INTEGER"),
        ("target_reps_high", "INTEGER"),
        ("resistance", "VARCHAR"),
        ("load_value", "DOUBLE"),
        ("load_unit", "VARCHAR"),
    ),
    "athletes": (
        ("sessions_per_week", "INTEGER"),
        ("sides", "VARCHAR[]"),
        ("sensor", "VARCHAR"),
        ("note", "VARCHAR"),
    ),
}

_WEEK = "strftime({ts}, '%G-W%V')"
_CURRENT_RUN = "NOT EXISTS (SELECT 1 FROM analysis_runs ar WHERE ar.run_id = st.run_id AND NOT ar.is_current)"

# table -> (SELECT of its lake columns plus ``week`` from an athlete's database, row order)
_SOURCES: dict[str, tuple[str, str]] = {
    "sessions": (
        f"""SELECT s.session_id, s.started_at, s.ended_at, epoch(s.ended_at) - epoch(s.started_at),
               s.side, s.profile, s.sample_rate_hz, s.has_gyro, s.status, s.rpe,
               (SELECT max(r.algorithm_version) FROM analysis_runs r
                WHERE r.session_id = s.session_id AND r.is_current),
               (SELECT count(*) FROM sets st WHERE st.session_id = s.session_id AND {_CURRENT_RUN}),
               (SELECT coalesce(sum(st.n_reps), 0) FROM sets st
                WHERE st.session_id = s.session_id AND {_CURRENT_RUN}),
               {_WEEK.format(ts="s.started_at")}
        FROM sessions s""",
        "started_at, session_id",
    ),
    "sets": (
        f"""SELECT st.set_id, st.session_id, se.started_at, st.set_index, st.exercise, st.side, st.start_s,
               st.end_s, st.n_reps, st.velocity_loss, st.tempo_consistency, st.resistance, st.load_value,
               st.load_unit, st.load_source, {{optional}}, {_WEEK.format(ts="se.started_at")}
        FROM sets st JOIN sessions se USING (session_id)
        WHERE se.status <> 'quarantined' AND {_CURRENT_RUN}""",
        "session_started_at, session_id, set_index",
    ),
    "reps": (
        f"""SELECT r.rep_id, r.set_id, r.session_id, se.started_at, st.exercise, st.side, r.rep_index,
               r.concentric_s, r.top_hold_s, r.eccentric_s, r.bottom_pause_s, r.rom_deg, r.partial,
               r.peak_concentric_speed_dps, {_WEEK.format(ts="se.started_at")}
        FROM reps r JOIN sets st USING (set_id) JOIN sessions se ON se.session_id = st.session_id
        WHERE se.status <> 'quarantined' AND {_CURRENT_RUN}""",
        "session_started_at, session_id, set_id, rep_index",
    ),
    # Per session, exercise and side: reps, time under tension (concentric + top hold + eccentric, s) and
    # the reps' medians, so that cohort-wide queries over many weeks need not read every rep.
    "session_stats": (
        f"""SELECT r.session_id, se.started_at, st.exercise, st.side, count(*),
               sum(r.concentric_s + r.top_hold_s + r.eccentric_s), median(r.concentric_s),
               median(r.top_hold_s), median(r.eccentric_s), median(r.rom_deg),
               {_WEEK.format(ts="se.started_at")}
        FROM reps r JOIN sets st USING (set_id) JOIN sessions se ON se.session_id = st.session_id
        WHERE se.status <> 'quarantined' AND {_CURRENT_RUN}
        GROUP BY r.session_id, se.started_at, st.exercise, st.side""",
        "session_started_at, session_id, exercise, side",
    ),
    "plans": (
        f"""SELECT plan_id, valid_from, exercise, target_sets, target_reps_low, target_reps_high, resistance,
               load_value, load_unit, {_WEEK.format(ts="valid_from")}
        FROM plans""",
        "valid_from, exercise, plan_id",
    ),
}


def _sql_string(text: str) -> str:
    """A SQL string literal (file paths cannot be bound parameters in COPY or read_parquet)."""
    return "'" + text.replace("'", "''") + "'"


def _typed(table: str) -> str:
    """``SELECT`` list renaming and casting a source's columns to the lake's names and types, plus week."""
    cols = [f"CAST(c{i} AS {kind}) AS {name}" for i, (name, kind) in enumerate(LAKE_COLUMNS[table])]
    return ", ".join([*cols, f"c{len(cols)} AS week"])


#: Columns of ``sets`` that schema 4 added (``hipsync edit``): exported where the database has them, else
#: NULL, so the lake reads every schema version without migrating anyone's database.
_OPTIONAL_SET_COLUMNS = ("exercise_source", "exercise_confidence", "corrected")


def _optional(con: duckdb.DuckDBPyConnection) -> str:
    present = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'sets'"
        ).fetchall()
    }
    return ", ".join(f"st.{c}" if c in present else "NULL" for c in _OPTIONAL_SET_COLUMNS)


def _source(table: str, optional: str) -> str:
    sql, _ = _SOURCES[table]
    sql = sql.replace("{optional}", optional)
    names = ", ".join(f"c{i}" for i in range(len(LAKE_COLUMNS[table]) + 1))
    return f"SELECT {_typed(table)} FROM ({sql}) AS src({names})"


def week_digests(db_path: Path, *, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> dict[str, dict[str, str]]:
    """table -> week -> a digest of that week's rows (row count and md5 of the rows in order).

    Two exports of the same rows give the same digests, so the lake rewrites only weeks whose digest moved.
    """
    out: dict[str, dict[str, str]] = {t: {} for t in LAKE_TABLES}
    with _open_source(db_path, timeout_s) as con:
        optional = _optional(con)
        for table in LAKE_TABLES:
            _, order = _SOURCES[table]
            rows = con.execute(
                f"SELECT week, count(*), md5(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY {order})) "
                f"FROM ({_source(table, optional)}) t GROUP BY week"
            ).fetchall()
            out[table] = {str(week): f"{n}:{digest}" for week, n, digest in rows}
    return out


@contextmanager
def _open_source(db_path: Path, timeout_s: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only connection to an athlete's database (temp tables and COPY TO still work)."""
    if not db_path.exists():
        raise NotFoundError(f"no database at {db_path}")
    with connect_readonly(db_path, timeout_s=timeout_s) as con:
        yield con


def partition_path(lake_dir: Path, table: str, athlete: str, week: str | None = None) -> Path:
    """``LAKE/<table>/athlete=<id>[/week=<w>]/data.parquet``."""
    base = lake_dir / table / f"athlete={athlete}"
    return (base / f"week={week}" if week is not None else base) / PARTITION_FILE


def _copy_atomically(
    con: duckdb.DuckDBPyConnection, query: str, target: Path, params: Sequence[object] = ()
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con.execute(f"COPY ({query}) TO {_sql_string(str(tmp))} (FORMAT parquet, COMPRESSION zstd)", list(params))
    tmp.replace(target)


def write_partitions(
    db_path: Path,
    lake_dir: Path,
    athlete: str,
    weeks: Mapping[str, Sequence[str]],
    *,
    timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> list[Path]:
    """Write the partitions ``weeks`` (table -> weeks) of one athlete from its database; returns the files."""
    written: list[Path] = []
    with _open_source(db_path, timeout_s) as con:
        optional = _optional(con)
        for table, todo in weeks.items():
            if not todo:
                continue
            _, order = _SOURCES[table]
            names = ", ".join(name for name, _ in LAKE_COLUMNS[table])
            con.execute(f"CREATE OR REPLACE TEMP TABLE part AS SELECT * FROM ({_source(table, optional)})")
            for week in todo:
                target = partition_path(lake_dir, table, athlete, week)
                _copy_atomically(
                    con, f"SELECT {names} FROM part WHERE week = ? ORDER BY {order}", target, [week]
                )
                written.append(target)
    return written


def write_athlete_row(
    lake_dir: Path,
    athlete: str,
    *,
    sessions_per_week: int | None,
    sides: Sequence[str],
    sensor: str | None,
    note: str | None,
) -> Path:
    """Write ``athletes/athlete=<id>/data.parquet`` (one row: what athlete.json says)."""
    target = partition_path(lake_dir, "athletes", athlete)
    con = duckdb.connect()
    try:
        cols = ", ".join(f"CAST(? AS {kind}) AS {name}" for name, kind in LAKE_COLUMNS["athletes"])
        con.execute(f"CREATE TEMP TABLE a AS SELECT {cols}", [sessions_per_week, list(sides), sensor, note])
        _copy_atomically(con, "SELECT * FROM a", target)
    except duckdb.Error as e:
        raise translate_error(e) from e
    finally:
        con.close()
    return target


def by_week_path(lake_dir: Path, table: str, week: str | None = None) -> Path:
    """``LAKE/_by_week/<table>[/week=<w>]/data.parquet``: the week's rows of every athlete in one file."""
    base = lake_dir / BY_WEEK / table
    return (base / f"week={week}" if week is not None else base) / PARTITION_FILE


def _hive(table: str) -> str:
    return "{'athlete': VARCHAR}" if table == "athletes" else "{'athlete': VARCHAR, 'week': VARCHAR}"


def compact(lake_dir: Path, table: str, week: str | None = None) -> Path | None:
    """Gather every athlete's partition of ``table`` (of one ``week``; ``athletes`` has none) into its
    by-week file, the athlete as a column; returns it, or None (file removed) when no athlete has any."""
    pattern = f"athlete=*/week={week}/{PARTITION_FILE}" if week is not None else f"athlete=*/{PARTITION_FILE}"
    target = by_week_path(lake_dir, table, week)
    if not any((lake_dir / table).glob(pattern)):
        target.unlink(missing_ok=True)
        with suppress(OSError):
            target.parent.rmdir()
        return None
    names = ", ".join(name for name, _ in LAKE_COLUMNS[table])
    source = _sql_string(str(lake_dir / table / pattern))
    query = (
        f"SELECT athlete, {names} FROM read_parquet({source}, hive_partitioning = true, "
        f"hive_types = {_hive(table)}) ORDER BY athlete"
    )
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        _copy_atomically(con, query, target)
    except duckdb.Error as e:
        raise translate_error(e) from e
    finally:
        con.close()
    return target


def _view_sql(lake_dir: Path, table: str, *, by_week: bool) -> str:
    depth = "" if table == "athletes" else "*/"
    athlete_dirs = "" if by_week else "*/"
    root = lake_dir / BY_WEEK / table if by_week else lake_dir / table
    if not any(root.glob(f"{athlete_dirs}{depth}{PARTITION_FILE}")):
        # Nothing exported yet: an empty view with the lake's columns, so queries still bind.
        typed = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in LAKE_COLUMNS[table])
        week = "" if table == "athletes" else ", CAST(NULL AS VARCHAR) AS week"
        return f"SELECT {typed}, CAST(NULL AS VARCHAR) AS athlete{week} WHERE false"
    files = _sql_string(str(root / f"{athlete_dirs}{depth}{PARTITION_FILE}"))
    if by_week:
        hive = "true, hive_types = {'week': VARCHAR}" if depth else "false"
        return f"SELECT * FROM read_parquet({files}, hive_partitioning = {hive})"
    return f"SELECT * FROM read_parquet({files}, hive_partitioning = true, hive_types = {_hive(table)})"


def first_weeks(lake_dir: Path) -> dict[str, str]:
    """athlete -> the earliest ``week`` partition of its sessions, from the folder names alone (no file is
    opened): when each athlete's recorded history starts."""
    out: dict[str, str] = {}
    base = lake_dir / "sessions"
    if not base.is_dir():
        return out
    for adir in base.glob("athlete=*"):
        weeks = [d.name.removeprefix("week=") for d in adir.glob("week=*") if (d / PARTITION_FILE).exists()]
        if weeks:
            out[adir.name.removeprefix("athlete=")] = min(weeks)
    return out


@contextmanager
def open_lake(lake_dir: Path, *, by_week: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with one view per lake table (``sessions``, ``sets``, ``reps``,
    ``plans``, ``athletes``), ``athlete`` and ``week`` columns included; times in UTC.

    ``by_week`` reads the by-week files (one per table and week: what a cohort-wide query wants);
    otherwise the athlete partitions themselves (one file per athlete and week). Both hold the same rows.
    """
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for table in (*LAKE_TABLES, "athletes"):
            con.execute(f"CREATE VIEW {table} AS {_view_sql(lake_dir, table, by_week=by_week)}")
        yield con
    except duckdb.Error as e:
        raise translate_error(e) from e
    finally:
        con.close()
