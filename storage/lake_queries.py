"""The SQL of the coach's cohort report, over the Parquet lake: plain rows out.

Owned by the cohort work (``flows.cohort.report`` turns these rows into the report); kept here because
only ``storage`` imports DuckDB. :func:`fetch_cohort_rows` opens the lake (:func:`storage.lake.open_lake`),
reads only the partitions of the weeks asked for (Hive partition pruning on ``week``) in the lake's
by-week files, keeps the window's sets and per-session figures (``session_stats``: reps, time under
tension and the reps' medians per session, exercise and side) in memory once, and reads the reps of the
report week only: its tempo and range-of-motion medians per athlete, and the volume load and ROM per
exercise and side (left/right balance).

Times are timezone-aware UTC datetimes (read as plain UTC timestamps and marked UTC: much faster than
DuckDB's conversion of TIMESTAMPTZ values); durations are seconds; ROM is degrees; medians are DuckDB's
``median`` (the mean of the two middle values for an even count, as ``statistics.median``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.db import as_utc
from storage.lake import first_weeks, open_lake
from storage.report_queries import PlanRow, SetRow

log = logging.getLogger(__name__)

__all__ = [
    "AthleteRow",
    "CohortRows",
    "SessionRepsRow",
    "SessionStatusRow",
    "SideWeekRow",
    "TempoRow",
    "fetch_cohort_rows",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AthleteRow:
    """An athlete of the lake, what its ``athlete.json`` said (None/empty when it had none), and the UTC
    ISO week of its first recorded session (``YYYY-Www``; None without sessions)."""

    athlete: str
    sessions_per_week: int | None
    sides: tuple[str, ...]
    sensor: str | None
    first_week: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStatusRow:
    """One stored session of the window (quarantined ones too): start (UTC) and status."""

    athlete: str
    session_id: str
    started_at: datetime
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRepsRow:
    """One session's reps of one exercise and side: count, time under tension (s, concentric + top hold +
    eccentric) and the medians of the phases (s) and ROM (degrees); medians are None without reps."""

    athlete: str
    session_started_at: datetime
    exercise: str
    side: str | None
    n_reps: int
    tut_s: float
    concentric_s: float | None
    top_hold_s: float | None
    eccentric_s: float | None
    rom_deg: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TempoRow:
    """One athlete's reps of the report week: count and medians of each phase (s) and of ROM (degrees)."""

    athlete: str
    n_reps: int
    concentric_s: float | None
    top_hold_s: float | None
    eccentric_s: float | None
    bottom_pause_s: float | None
    rom_deg: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SideWeekRow:
    """One athlete's exercise on one side in the report week: volume load (reps x load value, bodyweight
    counting 1 per rep) and median ROM (degrees)."""

    athlete: str
    exercise: str
    side: str | None
    volume_load: float
    rom_deg: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortRows:
    """Everything the report reads for sessions started in ``[start, end)`` (UTC), plus every plan.

    ``sets`` keeps the athlete next to each single-user :class:`~storage.report_queries.SetRow`.
    """

    start: datetime
    end: datetime
    athletes: tuple[AthleteRow, ...]
    sessions: tuple[SessionStatusRow, ...]
    sets: tuple[tuple[str, SetRow], ...]
    session_reps: tuple[SessionRepsRow, ...]
    tempo: tuple[TempoRow, ...]
    side_week: tuple[SideWeekRow, ...]
    plans: tuple[tuple[str, PlanRow], ...]


_ATHLETES_SQL = """
SELECT athlete, any_value(sessions_per_week), any_value(sides), any_value(sensor)
FROM (SELECT athlete, sessions_per_week, sides, sensor FROM athletes
      UNION ALL SELECT DISTINCT athlete, NULL, NULL, NULL FROM sessions)
GROUP BY athlete ORDER BY athlete
"""

_SESSIONS_SQL = """
SELECT athlete, session_id, started_at::TIMESTAMP AS started_at, status FROM sessions
WHERE week IN (SELECT unnest(?::VARCHAR[])) AND started_at >= ? AND started_at < ?
ORDER BY athlete, started_at
"""

_SETS_WINDOW_SQL = """
CREATE TEMP TABLE w_sets AS
SELECT athlete, set_id, session_id, session_started_at, set_index, exercise, side, n_reps, velocity_loss,
       resistance, load_value, load_unit
FROM sets WHERE week IN (SELECT unnest(?::VARCHAR[])) AND session_started_at >= ? AND session_started_at < ?
"""

_STATS_WINDOW_SQL = """
CREATE TEMP TABLE w_stats AS
SELECT athlete, session_started_at, exercise, side, n_reps, tut_s, concentric_s, top_hold_s, eccentric_s,
       rom_deg
FROM session_stats
WHERE week IN (SELECT unnest(?::VARCHAR[])) AND session_started_at >= ? AND session_started_at < ?
"""

# Only the report week's reps are read: its tempo and left/right ROM medians are over reps.
_REPS_WEEK_SQL = """
CREATE TEMP TABLE w_reps AS
SELECT athlete, exercise, side, concentric_s, top_hold_s, eccentric_s, bottom_pause_s, rom_deg
FROM reps WHERE week IN (SELECT unnest(?::VARCHAR[])) AND session_started_at >= ? AND session_started_at < ?
"""

_SETS_SQL = """
SELECT athlete, set_id, session_id, session_started_at::TIMESTAMP AS session_started_at, set_index,
       exercise, side, n_reps, velocity_loss, resistance, load_value, load_unit
FROM w_sets ORDER BY athlete, session_started_at, set_index
"""

_SESSION_REPS_SQL = """
SELECT athlete, session_started_at::TIMESTAMP AS session_started_at, exercise, side, n_reps, tut_s,
       concentric_s, top_hold_s, eccentric_s, rom_deg
FROM w_stats ORDER BY athlete, session_started_at, exercise, side
"""

_TEMPO_SQL = """
SELECT athlete, count(*), median(concentric_s), median(top_hold_s), median(eccentric_s),
       median(bottom_pause_s), median(rom_deg)
FROM w_reps GROUP BY athlete ORDER BY athlete
"""

_SIDE_WEEK_SQL = """
WITH vol AS (
    SELECT athlete, exercise, side, sum(n_reps * coalesce(load_value, 1.0)) AS volume_load
    FROM w_sets WHERE session_started_at >= ? GROUP BY ALL
), rom AS (
    SELECT athlete, exercise, side, median(rom_deg) AS rom_deg
    FROM w_reps GROUP BY ALL
)
SELECT athlete, exercise, side, volume_load, rom.rom_deg
FROM vol LEFT JOIN rom USING (athlete, exercise, side)
ORDER BY athlete, exercise, side
"""

_PLANS_SQL = """
SELECT athlete, exercise, valid_from::TIMESTAMP AS valid_from, target_sets, target_reps_low, target_reps_high,
       resistance, load_value, load_unit
FROM plans ORDER BY athlete, valid_from, exercise
"""


def _float(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]


def fetch_cohort_rows(
    lake_dir: Path,
    start: datetime,
    end: datetime,
    week_start: datetime,
    partitions: Sequence[str],
    week_partitions: Sequence[str],
) -> CohortRows:
    """The rows of sessions started in ``[start, end)``; the tempo and left/right rows only from
    ``week_start`` (the report week). ``partitions`` are the lake's ``week`` values that may hold such
    sessions, ``week_partitions`` those of the report week (UTC ISO weeks); only their files are read."""
    start_utc, end_utc, week_utc = as_utc(start), as_utc(end), as_utc(week_start)
    window = [list(partitions), start_utc, end_utc]
    started = first_weeks(lake_dir)
    with open_lake(lake_dir) as con:
        con.execute(_SETS_WINDOW_SQL, window)
        con.execute(_STATS_WINDOW_SQL, window)
        con.execute(_REPS_WEEK_SQL, [list(week_partitions), week_utc, end_utc])
        athletes = tuple(
            AthleteRow(
                athlete=r[0],
                sessions_per_week=r[1],
                sides=tuple(r[2] or ()),
                sensor=r[3],
                first_week=started.get(r[0]),
            )
            for r in con.execute(_ATHLETES_SQL).fetchall()
        )
        sessions = tuple(
            SessionStatusRow(athlete=r[0], session_id=r[1], started_at=r[2].replace(tzinfo=UTC), status=r[3])
            for r in con.execute(_SESSIONS_SQL, window).fetchall()
        )
        sets = tuple(
            (
                r[0],
                SetRow(
                    set_id=r[1],
                    session_id=r[2],
                    session_started_at=r[3].replace(tzinfo=UTC),
                    set_index=int(r[4]),
                    exercise=r[5],
                    side=r[6],
                    n_reps=int(r[7]),
                    velocity_loss=r[8],
                    resistance=r[9],
                    load_value=r[10],
                    load_unit=r[11],
                ),
            )
            for r in con.execute(_SETS_SQL).fetchall()
        )
        session_reps = tuple(
            SessionRepsRow(
                athlete=r[0],
                session_started_at=r[1].replace(tzinfo=UTC),
                exercise=r[2],
                side=r[3],
                n_reps=int(r[4]),
                tut_s=float(r[5] or 0.0),
                concentric_s=_float(r[6]),
                top_hold_s=_float(r[7]),
                eccentric_s=_float(r[8]),
                rom_deg=_float(r[9]),
            )
            for r in con.execute(_SESSION_REPS_SQL).fetchall()
        )
        tempo = tuple(
            TempoRow(
                athlete=r[0],
                n_reps=int(r[1]),
                concentric_s=_float(r[2]),
                top_hold_s=_float(r[3]),
                eccentric_s=_float(r[4]),
                bottom_pause_s=_float(r[5]),
                rom_deg=_float(r[6]),
            )
            for r in con.execute(_TEMPO_SQL).fetchall()
        )
        side_week = tuple(
            SideWeekRow(athlete=r[0], exercise=r[1], side=r[2], volume_load=float(r[3]), rom_deg=_float(r[4]))
            for r in con.execute(_SIDE_WEEK_SQL, [week_utc]).fetchall()
        )
        plans = tuple(
            (
                r[0],
                PlanRow(
                    exercise=r[1],
                    valid_from=r[2].replace(tzinfo=UTC),
                    target_sets=r[3],
                    target_reps_low=r[4],
                    target_reps_high=r[5],
                    resistance=r[6],
                    load_value=r[7],
                    load_unit=r[8],
                ),
            )
            for r in con.execute(_PLANS_SQL).fetchall()
        )
    return CohortRows(
        start=start_utc,
        end=end_utc,
        athletes=athletes,
        sessions=sessions,
        sets=sets,
        session_reps=session_reps,
        tempo=tempo,
        side_week=side_week,
        plans=plans,
    )
