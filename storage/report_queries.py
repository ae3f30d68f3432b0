"""The SQL the weekly report needs: plain rows out, one stored report in.

Owned by the report work (``flows/report/`` turns these rows into a report); kept here because only
``storage`` imports DuckDB. Every function takes the database path and opens a short connection through
:mod:`storage.db`: reads are read-only (retrying while a writer holds the file, then
:class:`storage.errors.DatabaseLockedError`), and the single write (:func:`store_report`) goes through
:func:`storage.db.connect`, which applies migrations.

Times are timezone-aware UTC datetimes; durations are seconds; ROM is degrees.

Per-set columns that newer schemas add (the recogniser's ``exercise_confidence``, where an exercise label
came from, ``exercise_source``) are read when the ``sets`` table has them (:data:`OPTIONAL_SET_COLUMNS`)
and are ``None`` otherwise, so the report runs on every schema version.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from storage.db import as_utc, connect, connect_readonly, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRow:
    """One non-quarantined session; ``duration_s`` is ``ended_at - started_at`` when known."""

    session_id: str
    started_at: datetime
    duration_s: float | None
    side: str | None
    rpe: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRow:
    """One set of the current analysis run; ``load_value`` in ``load_unit`` (band_level | kg | bodyweight).

    ``set_index`` is the set number within its session, as ``hipsync log SESSION SET`` takes it.
    ``load_source`` is ``plan`` or ``user`` (set with ``hipsync log``); ``exercise_confidence`` (0-1),
    ``exercise_source`` (recognised | plan | user) and ``corrected`` (a user edit changed the set) come
    from the columns of that name where the schema has them, else ``None``/False.
    """

    set_id: str
    session_id: str
    session_started_at: datetime
    set_index: int
    exercise: str
    side: str | None
    n_reps: int
    velocity_loss: float | None
    resistance: str | None
    load_value: float | None
    load_unit: str | None
    load_source: str | None = None
    exercise_confidence: float | None = None
    exercise_source: str | None = None
    corrected: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RepRow:
    """One rep: phase durations in seconds, ``rom_deg`` in degrees."""

    set_id: str
    rep_index: int
    concentric_s: float
    top_hold_s: float
    eccentric_s: float
    bottom_pause_s: float | None
    rom_deg: float
    partial: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRow:
    """One exercise line of a plan version valid from ``valid_from``."""

    exercise: str
    valid_from: datetime
    target_sets: int | None
    target_reps_low: int | None
    target_reps_high: int | None
    resistance: str | None
    load_value: float | None
    load_unit: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRows:
    """Everything stored for sessions started in ``[start, end)`` (UTC), plus every plan version."""

    start: datetime
    end: datetime
    sessions: tuple[SessionRow, ...]
    sets: tuple[SetRow, ...]
    reps: tuple[RepRow, ...]
    plans: tuple[PlanRow, ...]


_SESSIONS_SQL = """
SELECT session_id, started_at, epoch(ended_at) - epoch(started_at), side, rpe
FROM sessions
WHERE status <> 'quarantined' AND started_at >= ? AND started_at < ?
ORDER BY started_at
"""

#: Columns of ``sets`` that only newer schemas have, read when present: name -> SQL type to cast to.
OPTIONAL_SET_COLUMNS: dict[str, str] = {
    "load_source": "VARCHAR",
    "exercise_confidence": "DOUBLE",
    "exercise_source": "VARCHAR",
    "corrected": "BOOLEAN",
}

# Only sets of the current analysis run count (a re-analysis keeps older runs for provenance); a set whose
# run has no analysis_runs row stays visible, as in storage.read_api's views. {optional} becomes the
# optional columns, each the column itself or a typed NULL (names from OPTIONAL_SET_COLUMNS only).
_SETS_SQL = """
SELECT st.set_id, st.session_id, se.started_at, st.set_index, st.exercise, st.side, st.n_reps,
       st.velocity_loss, st.resistance, st.load_value, st.load_unit, {optional}
FROM sets st
JOIN sessions se USING (session_id)
WHERE NOT EXISTS (SELECT 1 FROM analysis_runs ar WHERE ar.run_id = st.run_id AND NOT ar.is_current)
  AND se.status <> 'quarantined' AND se.started_at >= ? AND se.started_at < ?
ORDER BY se.started_at, st.set_index
"""

_REPS_SQL = """
SELECT r.set_id, r.rep_index, r.concentric_s, r.top_hold_s, r.eccentric_s, r.bottom_pause_s, r.rom_deg,
       r.partial
FROM reps r
JOIN sets st USING (set_id)
JOIN sessions se ON se.session_id = st.session_id
WHERE NOT EXISTS (SELECT 1 FROM analysis_runs ar WHERE ar.run_id = st.run_id AND NOT ar.is_current)
  AND se.status <> 'quarantined' AND se.started_at >= ? AND se.started_at < ?
ORDER BY r.set_id, r.rep_index
"""

_PLANS_SQL = """
SELECT exercise, valid_from, target_sets, target_reps_low, target_reps_high, resistance, load_value, load_unit
FROM plans ORDER BY valid_from, exercise
"""


def _optional_columns_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The select list of :data:`OPTIONAL_SET_COLUMNS`: the column where ``sets`` has it, else NULL."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'sets'"
        ).fetchall()
    }
    return ", ".join(
        f"st.{name}" if name in present else f"CAST(NULL AS {sql_type})"
        for name, sql_type in OPTIONAL_SET_COLUMNS.items()
    )


def _set_row(r: tuple[Any, ...]) -> SetRow:
    return SetRow(
        set_id=r[0],
        session_id=r[1],
        session_started_at=as_utc(r[2]),
        set_index=int(r[3]),
        exercise=r[4],
        side=r[5],
        n_reps=int(r[6]),
        velocity_loss=r[7],
        resistance=r[8],
        load_value=r[9],
        load_unit=r[10],
        load_source=r[11],
        exercise_confidence=None if r[12] is None else float(r[12]),
        exercise_source=r[13],
        corrected=bool(r[14]),
    )


def fetch_report_rows(
    db_path: Path, start: datetime, end: datetime, *, timeout_s: float = 10.0
) -> ReportRows:
    """Sessions, sets and reps of sessions started in ``[start, end)`` and all plan versions.

    A missing database file yields empty rows (nothing recorded yet), not an error.
    """
    start_utc, end_utc = as_utc(start), as_utc(end)
    if not Path(db_path).exists():
        return ReportRows(start=start_utc, end=end_utc, sessions=(), sets=(), reps=(), plans=())
    with connect_readonly(db_path, timeout_s=timeout_s) as con:
        sessions = tuple(
            SessionRow(
                session_id=r[0],
                started_at=as_utc(r[1]),
                duration_s=None if r[2] is None else float(r[2]),
                side=r[3],
                rpe=r[4],
            )
            for r in con.execute(_SESSIONS_SQL, [start_utc, end_utc]).fetchall()
        )
        sets_sql = _SETS_SQL.format(optional=_optional_columns_sql(con))
        sets = tuple(_set_row(r) for r in con.execute(sets_sql, [start_utc, end_utc]).fetchall())
        reps = tuple(
            RepRow(
                set_id=r[0],
                rep_index=int(r[1]),
                concentric_s=float(r[2]),
                top_hold_s=float(r[3]),
                eccentric_s=float(r[4]),
                bottom_pause_s=None if r[5] is None else float(r[5]),
                rom_deg=float(r[6]),
                partial=bool(r[7]),
            )
            for r in con.execute(_REPS_SQL, [start_utc, end_utc]).fetchall()
        )
        plans = tuple(
            PlanRow(
                exercise=r[0],
                valid_from=as_utc(r[1]),
                target_sets=r[2],
                target_reps_low=r[3],
                target_reps_high=r[4],
                resistance=r[5],
                load_value=r[6],
                load_unit=r[7],
            )
            for r in con.execute(_PLANS_SQL).fetchall()
        )
    return ReportRows(start=start_utc, end=end_utc, sessions=sessions, sets=sets, reps=reps, plans=plans)


def count_reps(db_path: Path, start: datetime, end: datetime) -> int:
    """Reps stored (``sum(sets.n_reps)``, current run) for sessions started in ``[start, end)``."""
    if not Path(db_path).exists():
        return 0
    with connect_readonly(db_path) as con:
        row = con.execute(
            "SELECT coalesce(sum(st.n_reps), 0) FROM sets st JOIN sessions se USING (session_id) "
            "WHERE NOT EXISTS (SELECT 1 FROM analysis_runs ar "
            "WHERE ar.run_id = st.run_id AND NOT ar.is_current) "
            "AND se.status <> 'quarantined' AND se.started_at >= ? AND se.started_at < ?",
            [as_utc(start), as_utc(end)],
        ).fetchone()
    return int(row[0]) if row else 0


def latest_session_start(db_path: Path) -> datetime | None:
    """``started_at`` of the most recent non-quarantined session, or ``None``."""
    if not Path(db_path).exists():
        return None
    with connect_readonly(db_path) as con:
        row = con.execute("SELECT max(started_at) FROM sessions WHERE status <> 'quarantined'").fetchone()
    return None if row is None or row[0] is None else as_utc(row[0])


def store_report(
    db_path: Path,
    *,
    report_id: str,
    week: str,
    fmt: str,
    path: Path | None,
    content: dict[str, Any] | None,
) -> None:
    """Insert or replace one rendered report (``fmt`` json|html|md; ``content`` the JSON document)."""
    with connect(db_path) as con, transaction(con):
        con.execute("DELETE FROM reports WHERE report_id = ?", [report_id])
        con.execute(
            "INSERT INTO reports (report_id, week, format, path, content) VALUES (?, ?, ?, ?, ?)",
            [
                report_id,
                week,
                fmt,
                None if path is None else str(path),
                None if content is None else json.dumps(content),
            ],
        )


def list_reports(db_path: Path, week: str | None = None) -> list[tuple[str, str, str, str | None]]:
    """``(report_id, week, format, path)`` of stored reports, newest first, optionally for one week."""
    if not Path(db_path).exists():
        return []
    with connect_readonly(db_path) as con:
        sql = "SELECT report_id, week, format, path FROM reports"
        params: list[Any] = []
        if week is not None:
            sql += " WHERE week = ?"
            params.append(week)
        rows = con.execute(sql + " ORDER BY created_at DESC", params).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
