"""The SQL of the coach's cohort report, over the Parquet lake: plain rows out.

Owned by the cohort work (``flows.cohort.report`` turns these rows into the report); kept here because
only ``storage`` imports DuckDB. :func:`fetch_cohort_rows` opens the lake (:func:`storage.lake.open_lake`),
reads only the partitions of the weeks asked for (Hive partition pruning on ``week``) in the lake's
by-week files: the window's sets and each session's reps and time under tension (``session_stats``), and
the reps of the report week only, for its tempo and range-of-motion medians per athlete and per exercise
and side (left/right balance).

Times are timezone-aware UTC datetimes (read as plain UTC timestamps and marked UTC: much faster than
DuckDB's conversion of TIMESTAMPTZ values); durations are seconds; ROM is degrees; medians are DuckDB's
``median`` (the mean of the two middle values for an even count, as ``statistics.median``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from storage.db import as_utc
from storage.lake import first_weeks, open_lake
from storage.report_queries import PlanRow, SetRow
from storage.report_queries import _set_row as report_set_row  # the same columns, read the same way

log = logging.getLogger(__name__)

__all__ = [
    "AthleteRow",
    "CohortRows",
    "SessionLoadRow",
    "SessionStatusRow",
    "SideRomRow",
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
class SessionLoadRow:
    """One session's reps and time under tension (s: concentric + top hold + eccentric, over every rep)."""

    athlete: str
    session_started_at: datetime
    n_reps: int
    tut_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TempoRow:
    """One athlete's reps of the report week: count, medians of each phase (s) over every rep and of ROM
    (degrees) over the reps of sets with a plausible ROM."""

    athlete: str
    n_reps: int
    concentric_s: float | None
    top_hold_s: float | None
    eccentric_s: float | None
    bottom_pause_s: float | None
    rom_deg: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SideRomRow:
    """One athlete's exercise on one side in the report week: the median ROM (degrees) over the reps of its
    sets with a plausible ROM (see :func:`fetch_cohort_rows`)."""

    athlete: str
    exercise: str
    side: str | None
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
    session_loads: tuple[SessionLoadRow, ...]
    tempo: tuple[TempoRow, ...]
    side_rom: tuple[SideRomRow, ...]
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
SELECT athlete, set_id, session_id, session_started_at::TIMESTAMP AS session_started_at, set_index, exercise,
       side, n_reps, velocity_loss, resistance, load_value, load_unit, load_source, exercise_confidence,
       exercise_source, coalesce(corrected, false) AS corrected
FROM sets WHERE week IN (SELECT unnest(?::VARCHAR[])) AND session_started_at >= ? AND session_started_at < ?
"""

_SESSION_LOADS_SQL = """
SELECT athlete, session_started_at::TIMESTAMP, sum(n_reps), sum(tut_s)
FROM session_stats
WHERE week IN (SELECT unnest(?::VARCHAR[])) AND session_started_at >= ? AND session_started_at < ?
GROUP BY ALL ORDER BY ALL
"""

# Only the report week's reps are read: its tempo and ROM medians are over reps. A set whose median ROM is
# beyond its exercise's limit (the report's implausible-ROM rule; limits passed in) keeps its reps out of
# the ROM medians, as in the single-user report.
_REPS_WEEK_SQL = """
CREATE TEMP TABLE w_reps AS
WITH week_reps AS (
    SELECT athlete, set_id, exercise, side, concentric_s, top_hold_s, eccentric_s, bottom_pause_s, rom_deg
    FROM reps
    WHERE week IN (SELECT unnest(?::VARCHAR[])) AND session_started_at >= ? AND session_started_at < ?
), limits AS (
    SELECT unnest(?::VARCHAR[]) AS exercise, unnest(?::DOUBLE[]) AS limit_deg
), set_rom AS (
    SELECT set_id, median(rom_deg) AS set_rom_deg FROM week_reps GROUP BY set_id
)
SELECT r.*, l.limit_deg IS NULL OR sr.set_rom_deg <= l.limit_deg AS rom_ok
FROM week_reps r JOIN set_rom sr USING (set_id) LEFT JOIN limits l USING (exercise)
"""

_SETS_SQL = """
SELECT * EXCLUDE (athlete), athlete FROM w_sets ORDER BY athlete, session_started_at, set_index
"""

_TEMPO_SQL = """
SELECT athlete, count(*), median(concentric_s), median(top_hold_s), median(eccentric_s),
       median(bottom_pause_s), median(rom_deg) FILTER (WHERE rom_ok)
FROM w_reps GROUP BY athlete ORDER BY athlete
"""

_SIDE_ROM_SQL = """
SELECT athlete, exercise, side, median(rom_deg) FILTER (WHERE rom_ok)
FROM w_reps GROUP BY ALL ORDER BY ALL
"""

_PLANS_SQL = """
SELECT athlete, exercise, valid_from::TIMESTAMP AS valid_from, target_sets, target_reps_low, target_reps_high,
       resistance, load_value, load_unit
FROM plans ORDER BY athlete, valid_from, exercise
"""


def _float(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC)


def _set_row(r: tuple[Any, ...]) -> tuple[str, SetRow]:
    """(athlete, set) from a row of :data:`_SETS_SQL`: the single-user report's set columns, then athlete."""
    return r[-1], report_set_row(r[:-1])


def _plan_row(r: tuple[Any, ...]) -> tuple[str, PlanRow]:
    return r[0], PlanRow(
        exercise=r[1],
        valid_from=_utc(r[2]),
        target_sets=r[3],
        target_reps_low=r[4],
        target_reps_high=r[5],
        resistance=r[6],
        load_value=r[7],
        load_unit=r[8],
    )


def _tempo_row(r: tuple[Any, ...]) -> TempoRow:
    return TempoRow(
        athlete=r[0],
        n_reps=int(r[1]),
        concentric_s=_float(r[2]),
        top_hold_s=_float(r[3]),
        eccentric_s=_float(r[4]),
        bottom_pause_s=_float(r[5]),
        rom_deg=_float(r[6]),
    )


def _athletes(con: duckdb.DuckDBPyConnection, started: dict[str, str]) -> tuple[AthleteRow, ...]:
    return tuple(
        AthleteRow(
            athlete=r[0],
            sessions_per_week=r[1],
            sides=tuple(r[2] or ()),
            sensor=r[3],
            first_week=started.get(r[0]),
        )
        for r in con.execute(_ATHLETES_SQL).fetchall()
    )


def fetch_cohort_rows(
    lake_dir: Path,
    start: datetime,
    end: datetime,
    week: tuple[datetime, datetime],
    partitions: Sequence[str],
    week_partitions: Sequence[str],
    rom_limits_deg: Mapping[str, float],
) -> CohortRows:
    """The rows of sessions started in ``[start, end)``; the tempo and ROM rows only of ``week``
    (``[start, end)`` of the report week). ``partitions`` are the lake's ``week`` values that may hold such
    sessions, ``week_partitions`` those of the report week (UTC ISO weeks); only their files are read.
    ``rom_limits_deg``: exercise -> the set median ROM (degrees) beyond which a set's reps stay out of the
    ROM medians."""
    start_utc, end_utc = as_utc(start), as_utc(end)
    window = [list(partitions), start_utc, end_utc]
    this_week = [list(week_partitions), as_utc(week[0]), as_utc(week[1])]
    limits = [list(rom_limits_deg), [float(v) for v in rom_limits_deg.values()]]
    started = first_weeks(lake_dir)
    with open_lake(lake_dir) as con:
        con.execute(_SETS_WINDOW_SQL, window)
        con.execute(_REPS_WEEK_SQL, this_week + limits)
        return CohortRows(
            start=start_utc,
            end=end_utc,
            athletes=_athletes(con, started),
            sessions=tuple(
                SessionStatusRow(athlete=r[0], session_id=r[1], started_at=_utc(r[2]), status=r[3])
                for r in con.execute(_SESSIONS_SQL, window).fetchall()
            ),
            sets=tuple(_set_row(r) for r in con.execute(_SETS_SQL).fetchall()),
            session_loads=tuple(
                SessionLoadRow(
                    athlete=r[0], session_started_at=_utc(r[1]), n_reps=int(r[2]), tut_s=float(r[3])
                )
                for r in con.execute(_SESSION_LOADS_SQL, window).fetchall()
            ),
            tempo=tuple(_tempo_row(r) for r in con.execute(_TEMPO_SQL).fetchall()),
            side_rom=tuple(
                SideRomRow(athlete=r[0], exercise=r[1], side=r[2], rom_deg=_float(r[3]))
                for r in con.execute(_SIDE_ROM_SQL).fetchall()
            ),
            plans=tuple(_plan_row(r) for r in con.execute(_PLANS_SQL).fetchall()),
        )
